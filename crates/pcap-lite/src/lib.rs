//! Minimal classic-pcap reader and writer used by tests, examples and the simulator.
//!
//! * [`PcapReader`] reads a whole capture held in memory (little- or big-endian,
//!   microsecond or nanosecond magic) and yields [`Record`]s borrowing the frame bytes.
//!   Truncated or inconsistent files produce a typed [`PcapError`], never a panic.
//! * [`PcapWriter`] writes a little-endian capture to any [`std::io::Write`].
//! * [`link`] strips the link layer (Ethernet with 802.1Q/802.1ad tags, Linux cooked
//!   capture, raw IP) down to the IPv4 packet.
//!
//! Only `thiserror` is used: the format is small enough that a dependency such as
//! `pcap-file` would add more than it saves, and a hand-written reader lets us guarantee
//! the no-panic behaviour on hostile input.
#![forbid(unsafe_code)]

pub mod link;
mod reader;
mod writer;

pub use reader::{PcapError, PcapHeader, PcapReader, Record};
pub use writer::PcapWriter;

/// Length of the pcap global header.
pub const GLOBAL_HEADER_LEN: usize = 24;
/// Length of a pcap record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// Byte order of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Little-endian fields.
    Little,
    /// Big-endian fields.
    Big,
}

/// Resolution of the sub-second part of record timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TsResolution {
    /// Microseconds (magic 0xA1B2C3D4).
    Micro,
    /// Nanoseconds (magic 0xA1B23C4D).
    Nano,
}

/// Link-layer type of a capture (the `network` field of the global header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// Ethernet (DLT_EN10MB).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP, version in the first nibble (LINKTYPE_RAW).
    pub const RAW: LinkType = LinkType(101);
    /// Linux cooked capture v1 (SLL).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4 (LINKTYPE_IPV4).
    pub const IPV4: LinkType = LinkType(228);
}

/// A record timestamp: seconds since the Unix epoch plus nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds.
    pub secs: u32,
    /// Nanoseconds within the second (0..1e9 for well-formed files).
    pub nanos: u32,
}

impl Timestamp {
    /// Builds a timestamp from seconds and nanoseconds.
    pub const fn new(secs: u32, nanos: u32) -> Self {
        Self { secs, nanos }
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(&self) -> u64 {
        self.secs as u64 * 1_000_000_000 + self.nanos as u64
    }

    /// Microseconds since the epoch (truncated).
    pub const fn as_micros(&self) -> u64 {
        self.as_nanos() / 1_000
    }
}
