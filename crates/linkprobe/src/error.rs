//! Typed errors shared by every backend.

use std::fmt;

use crate::ifname::{IfName, IfNameError};

/// The kernel operation that failed, named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `SIOCGIFINDEX`: name → index (existence check).
    IfIndex,
    /// `SIOCGIFFLAGS`: interface flags.
    IfFlags,
    /// `SIOCGMIIPHY`: find the PHY address.
    MiiPhy,
    /// `SIOCGMIIREG`: read an MII register.
    MiiReg,
    /// `SIOCETHTOOL` with `ETHTOOL_GLINK`.
    EthtoolGlink,
    /// Opening a socket (ioctl or netlink).
    Socket,
    /// Entering a network namespace with `setns(2)`.
    Setns,
    /// Sending to or receiving from the netlink socket.
    Netlink,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::IfIndex => "SIOCGIFINDEX",
            Op::IfFlags => "SIOCGIFFLAGS",
            Op::MiiPhy => "SIOCGMIIPHY",
            Op::MiiReg => "SIOCGMIIREG",
            Op::EthtoolGlink => "SIOCETHTOOL/ETHTOOL_GLINK",
            Op::Socket => "socket",
            Op::Setns => "setns",
            Op::Netlink => "netlink",
        })
    }
}

/// Why a link probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The interface name is not one the kernel could accept.
    #[error("invalid interface name: {0}")]
    InvalidName(#[from] IfNameError),
    /// The interface does not exist (`ENODEV`/`ENXIO`).
    #[error("no such interface: {0}")]
    NoSuchInterface(IfName),
    /// The driver does not implement the operation (`EOPNOTSUPP`, `ENOTTY`, `EINVAL`).
    #[error("{op} is not supported by the driver of {ifname} (errno {errno})")]
    NotSupported {
        /// Interface probed.
        ifname: IfName,
        /// Operation refused.
        op: Op,
        /// The raw errno.
        errno: i32,
    },
    /// The kernel refused for lack of privilege (`EPERM`/`EACCES`); MII needs CAP_NET_ADMIN.
    #[error("permission denied for {op} on {ifname} (MII needs CAP_NET_ADMIN)")]
    PermissionDenied {
        /// Interface probed.
        ifname: IfName,
        /// Operation refused.
        op: Op,
    },
    /// The MII registers answered but show no transceiver (BMCR 0xFFFF or BMSR 0).
    #[error("no MII transceiver behind {ifname} (BMCR {bmcr:#06x}, BMSR {bmsr:#06x})")]
    NoTransceiver {
        /// Interface probed.
        ifname: IfName,
        /// Basic mode control register as read.
        bmcr: u16,
        /// First basic mode status register read.
        bmsr: u16,
    },
    /// Any other operating-system error, with its errno.
    #[error("{op} failed{}: {source} (errno {errno})", on_ifname(.ifname))]
    Io {
        /// Operation that failed.
        op: Op,
        /// Interface concerned, if any.
        ifname: Option<IfName>,
        /// The raw errno (0 if the error did not come from the OS).
        errno: i32,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn on_ifname(ifname: &Option<IfName>) -> String {
    match ifname {
        Some(name) => format!(" on {name}"),
        None => String::new(),
    }
}

impl ProbeError {
    /// Maps an OS error from `op` on `ifname` to the matching variant.
    pub fn from_io(op: Op, ifname: &IfName, source: std::io::Error) -> Self {
        let errno = source.raw_os_error().unwrap_or(0);
        match errno {
            libc::ENODEV | libc::ENXIO => ProbeError::NoSuchInterface(ifname.clone()),
            libc::EOPNOTSUPP | libc::ENOTTY | libc::EINVAL => ProbeError::NotSupported {
                ifname: ifname.clone(),
                op,
                errno,
            },
            libc::EPERM | libc::EACCES => ProbeError::PermissionDenied {
                ifname: ifname.clone(),
                op,
            },
            _ => ProbeError::Io {
                op,
                ifname: Some(ifname.clone()),
                errno,
                source,
            },
        }
    }

    /// Wraps an OS error not tied to one interface (socket setup, netlink I/O).
    pub fn os(op: Op, source: std::io::Error) -> Self {
        let errno = source.raw_os_error().unwrap_or(0);
        ProbeError::Io {
            op,
            ifname: None,
            errno,
            source,
        }
    }

    /// The errno behind this error, if it came from the OS.
    pub fn errno(&self) -> Option<i32> {
        match self {
            ProbeError::NoSuchInterface(_) => Some(libc::ENODEV),
            ProbeError::NotSupported { errno, .. } | ProbeError::Io { errno, .. } => Some(*errno),
            ProbeError::PermissionDenied { .. } => Some(libc::EPERM),
            ProbeError::InvalidName(_) | ProbeError::NoTransceiver { .. } => None,
        }
    }
}
