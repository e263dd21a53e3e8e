//! Polled backends (MII, ethtool, flags), the fallback choice, and the `LinkProbe` trait.
//!
//! The logic here is generic over [`IfIoctl`], the seam to the kernel: [`IoctlSocket`] is the
//! real one; tests substitute fakes.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use crate::error::{Op, ProbeError};
use crate::ifname::IfName;
use crate::mii::{MII_BMCR, MII_BMSR, interpret_mii, mii_usable};
use crate::status::{Evidence, LinkState, LinkStatus, Method, PollMethod, flags_say_up};
use crate::sys;

/// The four interface ioctls the polled backends need. Implemented by [`IoctlSocket`]; tests
/// implement it with fakes.
pub trait IfIoctl {
    /// `SIOCGIFINDEX`: the interface index (fails with `NoSuchInterface` if absent).
    fn if_index(&self, ifname: &IfName) -> Result<u32, ProbeError>;
    /// `SIOCGIFFLAGS`: the 16-bit interface flags.
    fn if_flags(&self, ifname: &IfName) -> Result<u16, ProbeError>;
    /// `SIOCGMIIPHY`: the PHY address.
    fn mii_phy(&self, ifname: &IfName) -> Result<u16, ProbeError>;
    /// `SIOCGMIIREG`: register `reg` of PHY `phy_id`.
    fn mii_reg(&self, ifname: &IfName, phy_id: u16, reg: u16) -> Result<u16, ProbeError>;
    /// `SIOCETHTOOL`/`ETHTOOL_GLINK`: the `data` field.
    fn ethtool_glink(&self, ifname: &IfName) -> Result<u32, ProbeError>;
}

impl<T: IfIoctl + ?Sized> IfIoctl for &T {
    fn if_index(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        (**self).if_index(ifname)
    }
    fn if_flags(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        (**self).if_flags(ifname)
    }
    fn mii_phy(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        (**self).mii_phy(ifname)
    }
    fn mii_reg(&self, ifname: &IfName, phy_id: u16, reg: u16) -> Result<u16, ProbeError> {
        (**self).mii_reg(ifname, phy_id, reg)
    }
    fn ethtool_glink(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        (**self).ethtool_glink(ifname)
    }
}

/// One `AF_INET`/`SOCK_DGRAM` socket used for all interface ioctls, like keepalived's.
///
/// Ioctls act on the network namespace the socket was created in, not the caller's.
#[derive(Debug)]
pub struct IoctlSocket {
    fd: OwnedFd,
}

impl IoctlSocket {
    /// Opens the socket in the caller's network namespace.
    pub fn open() -> Result<Self, ProbeError> {
        Self::open_in(None)
    }

    /// Opens the socket inside the network namespace at `netns` (e.g. `/run/netns/NAME` or
    /// `/proc/PID/ns/net`; entering it needs CAP_SYS_ADMIN). The calling thread stays where it is.
    pub fn open_in_netns(netns: &Path) -> Result<Self, ProbeError> {
        Self::open_in(Some(netns))
    }

    fn open_in(netns: Option<&Path>) -> Result<Self, ProbeError> {
        let fd = sys::socket_in(netns, libc::AF_INET, libc::SOCK_DGRAM, 0)
            .map_err(|(op, e)| ProbeError::os(op, e))?;
        Ok(Self { fd })
    }
}

impl AsFd for IoctlSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl IfIoctl for IoctlSocket {
    fn if_index(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        sys::if_index(self.fd.as_fd(), ifname)
            .map_err(|e| ProbeError::from_io(Op::IfIndex, ifname, e))
    }
    fn if_flags(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        sys::if_flags(self.fd.as_fd(), ifname)
            .map_err(|e| ProbeError::from_io(Op::IfFlags, ifname, e))
    }
    fn mii_phy(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        sys::mii_phy(self.fd.as_fd(), ifname)
            .map_err(|e| ProbeError::from_io(Op::MiiPhy, ifname, e))
    }
    fn mii_reg(&self, ifname: &IfName, phy_id: u16, reg: u16) -> Result<u16, ProbeError> {
        sys::mii_reg(self.fd.as_fd(), ifname, phy_id, reg)
            .map_err(|e| ProbeError::from_io(Op::MiiReg, ifname, e))
    }
    fn ethtool_glink(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        sys::ethtool_glink(self.fd.as_fd(), ifname)
            .map_err(|e| ProbeError::from_io(Op::EthtoolGlink, ifname, e))
    }
}

/// "Is this interface's link up, and how do you know": the interface every backend implements.
pub trait LinkProbe {
    /// The method this backend uses.
    fn method(&self) -> Method;
    /// Reports the link state of `ifname` with the evidence it is based on.
    fn probe(&mut self, ifname: &IfName) -> Result<LinkStatus, ProbeError>;
}

/// Probes `ifname` once with `method` (MII and ethtool "up" must be confirmed by
/// `IFF_UP|IFF_RUNNING`, as keepalived does, since some drivers only update the flags).
pub fn probe_with<I: IfIoctl + ?Sized>(
    io: &I,
    ifname: &IfName,
    method: PollMethod,
) -> Result<LinkStatus, ProbeError> {
    let (primary_up, evidence) = match method {
        PollMethod::Mii => {
            let phy_id = io.mii_phy(ifname)?;
            let bmcr = io.mii_reg(ifname, phy_id, MII_BMCR)?;
            let bmsr_first = io.mii_reg(ifname, phy_id, MII_BMSR)?;
            let bmsr_current = io.mii_reg(ifname, phy_id, MII_BMSR)?;
            let reading = interpret_mii(bmcr, bmsr_first, bmsr_current).map_err(|_| {
                ProbeError::NoTransceiver {
                    ifname: ifname.clone(),
                    bmcr,
                    bmsr: bmsr_first,
                }
            })?;
            let evidence = Evidence::Mii {
                phy_id,
                bmcr,
                bmsr_first,
                bmsr_current,
                flags: None,
            };
            (reading.link_up, evidence)
        }
        PollMethod::Ethtool => {
            let glink = io.ethtool_glink(ifname)?;
            (glink != 0, Evidence::Ethtool { glink, flags: None })
        }
        PollMethod::Flags => {
            let flags = io.if_flags(ifname)?;
            return Ok(LinkStatus {
                state: LinkState::from_up(flags_say_up(u32::from(flags))),
                method: Method::Flags,
                evidence: Evidence::Flags { flags },
            });
        }
    };
    let mut evidence = evidence;
    let up = if primary_up {
        let read = io.if_flags(ifname)?;
        match &mut evidence {
            Evidence::Mii { flags, .. } | Evidence::Ethtool { flags, .. } => *flags = Some(read),
            _ => {}
        }
        flags_say_up(u32::from(read))
    } else {
        false
    };
    Ok(LinkStatus {
        state: LinkState::from_up(up),
        method: method.into(),
        evidence,
    })
}

/// Checks whether `method` works on `ifname` without judging the link: the test keepalived
/// applies when choosing a method.
pub fn check_method<I: IfIoctl + ?Sized>(
    io: &I,
    ifname: &IfName,
    method: PollMethod,
) -> Result<(), ProbeError> {
    match method {
        PollMethod::Mii => {
            let phy_id = io.mii_phy(ifname)?;
            let bmcr = io.mii_reg(ifname, phy_id, MII_BMCR)?;
            let bmsr = io.mii_reg(ifname, phy_id, MII_BMSR)?;
            if mii_usable(bmcr, bmsr) {
                Ok(())
            } else {
                Err(ProbeError::NoTransceiver {
                    ifname: ifname.clone(),
                    bmcr,
                    bmsr,
                })
            }
        }
        PollMethod::Ethtool => io.ethtool_glink(ifname).map(drop),
        PollMethod::Flags => io.if_flags(ifname).map(drop),
    }
}

/// A method that was tried and refused, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The refused method.
    pub method: PollMethod,
    /// What the kernel answered.
    pub error: ProbeError,
}

/// The outcome of the fallback choice for one interface: the method used and why the ones
/// before it were refused (for the operator's log).
#[derive(Debug)]
pub struct MethodChoice {
    /// The interface.
    pub ifname: IfName,
    /// Its index when chosen.
    pub ifindex: u32,
    /// The method that works.
    pub method: PollMethod,
    /// Methods tried first, in order, with the reason each was refused.
    pub refused: Vec<Refusal>,
}

impl std::fmt::Display for MethodChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: using {}", self.ifname, self.method)?;
        for refusal in &self.refused {
            write!(f, "; {} refused: {}", refusal.method, refusal.error)?;
        }
        Ok(())
    }
}

/// Chooses the polling method for `ifname`: `preferred` first if given, then MII, ethtool and
/// flags (keepalived's order), skipping any method the interface refuses.
///
/// Fails with `NoSuchInterface` if the interface does not exist, and with the flags method's
/// error if even `SIOCGIFFLAGS` fails.
pub fn choose_method<I: IfIoctl + ?Sized>(
    io: &I,
    ifname: &IfName,
    preferred: Option<PollMethod>,
) -> Result<MethodChoice, ProbeError> {
    let ifindex = io.if_index(ifname)?;
    let mut order: Vec<PollMethod> = Vec::with_capacity(4);
    order.extend(preferred);
    order.extend(
        PollMethod::FALLBACK_ORDER
            .iter()
            .filter(|m| Some(**m) != preferred),
    );
    let mut refused = Vec::new();
    let mut last_error = None;
    for method in order {
        match check_method(io, ifname, method) {
            Ok(()) => {
                return Ok(MethodChoice {
                    ifname: ifname.clone(),
                    ifindex,
                    method,
                    refused,
                });
            }
            Err(error @ ProbeError::NoSuchInterface(_)) => return Err(error),
            Err(error) if method == PollMethod::Flags => last_error = Some(error),
            Err(error) => refused.push(Refusal { method, error }),
        }
    }
    // The loop always tries Flags, and only a Flags failure reaches here.
    Err(last_error.unwrap_or_else(|| ProbeError::NoSuchInterface(ifname.clone())))
}

/// MII backend.
#[derive(Debug)]
pub struct MiiProbe<I>(pub I);
/// `ETHTOOL_GLINK` backend.
#[derive(Debug)]
pub struct EthtoolProbe<I>(pub I);
/// `SIOCGIFFLAGS` backend.
#[derive(Debug)]
pub struct FlagsProbe<I>(pub I);

impl<I: IfIoctl> LinkProbe for MiiProbe<I> {
    fn method(&self) -> Method {
        Method::Mii
    }
    fn probe(&mut self, ifname: &IfName) -> Result<LinkStatus, ProbeError> {
        probe_with(&self.0, ifname, PollMethod::Mii)
    }
}

impl<I: IfIoctl> LinkProbe for EthtoolProbe<I> {
    fn method(&self) -> Method {
        Method::Ethtool
    }
    fn probe(&mut self, ifname: &IfName) -> Result<LinkStatus, ProbeError> {
        probe_with(&self.0, ifname, PollMethod::Ethtool)
    }
}

impl<I: IfIoctl> LinkProbe for FlagsProbe<I> {
    fn method(&self) -> Method {
        Method::Flags
    }
    fn probe(&mut self, ifname: &IfName) -> Result<LinkStatus, ProbeError> {
        probe_with(&self.0, ifname, PollMethod::Flags)
    }
}
