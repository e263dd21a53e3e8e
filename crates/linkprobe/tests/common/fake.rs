//! A scriptable fake of the ioctl seam.

use std::cell::RefCell;
use std::collections::HashMap;

use linkprobe::{IfIoctl, IfName, Op, ProbeError};

/// How a fake interface answers MII.
#[derive(Clone, Copy, Debug)]
pub enum FakeMii {
    /// `SIOCGMIIPHY` fails with this errno.
    Unsupported(i32),
    /// A PHY with these BMCR value and BMSR reads (popped in order; the last one repeats).
    Phy { bmcr: u16 },
}

/// One fake interface.
#[derive(Clone, Debug)]
pub struct FakeIf {
    pub index: u32,
    pub flags: u16,
    pub mii: FakeMii,
    /// Queue of BMSR values returned by successive reads (last repeats).
    pub bmsr: Vec<u16>,
    /// `Ok(glink)` or `Err(errno)`.
    pub ethtool: Result<u32, i32>,
}

#[derive(Default)]
pub struct FakeIoctl {
    pub ifs: RefCell<HashMap<IfName, FakeIf>>,
    pub calls: RefCell<Vec<(Op, String)>>,
}

pub fn name(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

fn errno_error(op: Op, ifname: &IfName, errno: i32) -> ProbeError {
    ProbeError::from_io(op, ifname, std::io::Error::from_raw_os_error(errno))
}

impl FakeIoctl {
    pub fn add(&self, ifname: &str, fake: FakeIf) {
        self.ifs.borrow_mut().insert(name(ifname), fake);
    }

    pub fn with<R>(&self, ifname: &str, f: impl FnOnce(&mut FakeIf) -> R) -> R {
        f(self.ifs.borrow_mut().get_mut(&name(ifname)).unwrap())
    }

    pub fn remove(&self, ifname: &str) {
        self.ifs.borrow_mut().remove(&name(ifname));
    }

    fn lookup<R>(
        &self,
        op: Op,
        ifname: &IfName,
        f: impl FnOnce(&mut FakeIf) -> Result<R, i32>,
    ) -> Result<R, ProbeError> {
        self.calls.borrow_mut().push((op, ifname.to_string()));
        let mut ifs = self.ifs.borrow_mut();
        let fake = ifs
            .get_mut(ifname)
            .ok_or_else(|| errno_error(op, ifname, libc::ENODEV))?;
        f(fake).map_err(|errno| errno_error(op, ifname, errno))
    }
}

impl IfIoctl for FakeIoctl {
    fn if_index(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        self.lookup(Op::IfIndex, ifname, |f| Ok(f.index))
    }
    fn if_flags(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        self.lookup(Op::IfFlags, ifname, |f| Ok(f.flags))
    }
    fn mii_phy(&self, ifname: &IfName) -> Result<u16, ProbeError> {
        self.lookup(Op::MiiPhy, ifname, |f| match f.mii {
            FakeMii::Unsupported(errno) => Err(errno),
            FakeMii::Phy { .. } => Ok(1),
        })
    }
    fn mii_reg(&self, ifname: &IfName, phy_id: u16, reg: u16) -> Result<u16, ProbeError> {
        self.lookup(Op::MiiReg, ifname, |f| match f.mii {
            FakeMii::Unsupported(errno) => Err(errno),
            FakeMii::Phy { .. } if phy_id != 1 => Err(libc::EIO),
            FakeMii::Phy { bmcr } if reg == 0 => Ok(bmcr),
            FakeMii::Phy { .. } if reg == 1 => {
                if f.bmsr.len() > 1 {
                    Ok(f.bmsr.remove(0))
                } else {
                    f.bmsr.first().copied().ok_or(libc::EIO)
                }
            }
            FakeMii::Phy { .. } => Err(libc::EIO),
        })
    }
    fn ethtool_glink(&self, ifname: &IfName) -> Result<u32, ProbeError> {
        self.lookup(Op::EthtoolGlink, ifname, |f| f.ethtool)
    }
}

pub const UP_RUNNING: u16 = 0x1 | 0x40 | 0x1000;
pub const UP_NOT_RUNNING: u16 = 0x1 | 0x1000;

/// A veth-like interface: no MII, ethtool works.
pub fn veth_like(index: u32, glink: u32, flags: u16) -> FakeIf {
    FakeIf {
        index,
        flags,
        mii: FakeMii::Unsupported(libc::EOPNOTSUPP),
        bmsr: vec![],
        ethtool: Ok(glink),
    }
}
