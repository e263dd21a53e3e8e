//! The common answer every backend gives: up or down, by which method, on what evidence.

use std::fmt;

/// `IFF_UP`: administratively up.
pub const IFF_UP: u32 = 0x1;
/// `IFF_RUNNING`: operationally up (the kernel's "RFC 2863 up", i.e. carrier and not dormant).
pub const IFF_RUNNING: u32 = 0x40;
/// `IFF_LOWER_UP`: carrier present (netlink only; does not fit the 16-bit `ifr_flags`).
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// Whether interface flags say the link is usable: both `IFF_UP` and `IFF_RUNNING`, as keepalived
/// requires.
pub fn flags_say_up(flags: u32) -> bool {
    flags & (IFF_UP | IFF_RUNNING) == (IFF_UP | IFF_RUNNING)
}

/// Link up or down, the one bit the VRRP state machine needs (`handle_link(now, up)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// Usable: carrier present and interface up and running.
    Up,
    /// Not usable: no carrier, administratively down, or the interface is gone.
    Down,
}

impl LinkState {
    /// `true` for [`LinkState::Up`].
    pub fn is_up(self) -> bool {
        self == LinkState::Up
    }

    /// Maps a boolean (`true` = up).
    pub fn from_up(up: bool) -> Self {
        if up { LinkState::Up } else { LinkState::Down }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkState::Up => "up",
            LinkState::Down => "down",
        })
    }
}

/// A polling method, in keepalived's fallback order (MII, then ethtool, then flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PollMethod {
    /// MII registers via `SIOCGMIIPHY`/`SIOCGMIIREG` (needs CAP_NET_ADMIN).
    Mii,
    /// `SIOCETHTOOL` with `ETHTOOL_GLINK`.
    Ethtool,
    /// `SIOCGIFFLAGS`: `IFF_UP` and `IFF_RUNNING`.
    Flags,
}

impl PollMethod {
    /// The fallback order used when nothing is preferred.
    pub const FALLBACK_ORDER: [PollMethod; 3] =
        [PollMethod::Mii, PollMethod::Ethtool, PollMethod::Flags];
}

impl fmt::Display for PollMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Method::from(*self).fmt(f)
    }
}

/// Every way this crate can know a link's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Polled MII registers.
    Mii,
    /// Polled `ETHTOOL_GLINK`.
    Ethtool,
    /// Polled `SIOCGIFFLAGS`.
    Flags,
    /// Kernel-pushed `RTM_NEWLINK`/`RTM_DELLINK` messages.
    Netlink,
}

impl From<PollMethod> for Method {
    fn from(method: PollMethod) -> Self {
        match method {
            PollMethod::Mii => Method::Mii,
            PollMethod::Ethtool => Method::Ethtool,
            PollMethod::Flags => Method::Flags,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Mii => "MII",
            Method::Ethtool => "ETHTOOL",
            Method::Flags => "IOCTL",
            Method::Netlink => "NETLINK",
        })
    }
}

/// RFC 2863 operational state as netlink reports it (`IFLA_OPERSTATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperState {
    /// `IF_OPER_UNKNOWN` (0): the driver does not track it (e.g. loopback, tun).
    Unknown,
    /// `IF_OPER_NOTPRESENT` (1).
    NotPresent,
    /// `IF_OPER_DOWN` (2).
    Down,
    /// `IF_OPER_LOWERLAYERDOWN` (3): e.g. a veth whose peer is down, a VLAN on a down port.
    LowerLayerDown,
    /// `IF_OPER_TESTING` (4).
    Testing,
    /// `IF_OPER_DORMANT` (5).
    Dormant,
    /// `IF_OPER_UP` (6).
    Up,
    /// A value this crate does not know.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(raw: u8) -> Self {
        match raw {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            other => OperState::Other(other),
        }
    }
}

/// The raw facts behind a [`LinkStatus`], so an operator can see *how* it was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// MII registers as read.
    Mii {
        /// PHY address from `SIOCGMIIPHY`.
        phy_id: u16,
        /// Basic mode control register.
        bmcr: u16,
        /// First BMSR read (clears the latched-low link bit).
        bmsr_first: u16,
        /// Second BMSR read: the current link bit.
        bmsr_current: u16,
        /// `SIOCGIFFLAGS`, read only when the registers said up.
        flags: Option<u16>,
    },
    /// `ETHTOOL_GLINK` as read.
    Ethtool {
        /// The `data` field (non-zero = link).
        glink: u32,
        /// `SIOCGIFFLAGS`, read only when ethtool said up.
        flags: Option<u16>,
    },
    /// `SIOCGIFFLAGS` as read.
    Flags {
        /// The 16-bit `ifr_flags`.
        flags: u16,
    },
    /// The last netlink link message.
    Netlink {
        /// `ifi_flags` (32 bits, includes `IFF_LOWER_UP`).
        flags: u32,
        /// `IFLA_OPERSTATE`, if present.
        operstate: Option<OperState>,
        /// `IFLA_CARRIER`, if present.
        carrier: Option<bool>,
    },
    /// The interface does not exist (probe got `ENODEV`, or netlink sent `RTM_DELLINK`).
    Absent,
}

/// Whether a link is up, which method decided it, and the evidence: the common answer of every
/// backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkStatus {
    /// Up or down.
    pub state: LinkState,
    /// Which method produced it.
    pub method: Method,
    /// The raw readings.
    pub evidence: Evidence,
}

impl LinkStatus {
    /// `true` if the link is up.
    pub fn is_up(&self) -> bool {
        self.state.is_up()
    }
}
