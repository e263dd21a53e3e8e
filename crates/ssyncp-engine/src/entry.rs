//! Owned connection entries and the key that identifies them in the table.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ssyncp_wire::SeqOptions;
use ssyncp_wire::v1::{
    CtFlow, CtTuple, CtTuples, EntryBody, EntryOptions, EntryRepr, IpvsAddrs, IpvsConn, TcpWindow,
};

/// The identity of a synced connection: the table is keyed by it.
///
/// IPVS connections are identified as the kernel looks them up on a backup
/// (`protocol, caddr, cport, vaddr, vport`). Conntrack flows are identified by
/// their original tuple plus their zone (the kernel keeps one flow per
/// original tuple per zone; zone 0 when the entry carries none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EntryKey {
    /// An IPVS connection.
    Ipvs {
        /// L4 protocol.
        protocol: u8,
        /// Client address.
        caddr: IpAddr,
        /// Client port.
        cport: u16,
        /// Virtual-service address.
        vaddr: IpAddr,
        /// Virtual-service port.
        vport: u16,
    },
    /// A conntrack flow.
    Conntrack {
        /// L4 protocol.
        protocol: u8,
        /// Conntrack zone (0 when none).
        zone: u16,
        /// Original-direction source address.
        src: IpAddr,
        /// Original-direction destination address.
        dst: IpAddr,
        /// Original-direction source port (ICMP: id).
        sport: u16,
        /// Original-direction destination port (ICMP: type << 8 | code).
        dport: u16,
    },
}

/// Why a local change cannot be synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// A key mixes IPv4 and IPv6 addresses, which no entry can carry.
    #[error("key mixes IPv4 and IPv6 addresses")]
    MixedFamilies,
    /// An option's data is empty or longer than the wire format allows.
    #[error("option {kind:#04x} with {len} bytes cannot be encoded")]
    OptionLength {
        /// Option type.
        kind: u8,
        /// Offending length.
        len: usize,
    },
    /// The table already holds the configured maximum of entries.
    #[error("table is full ({0} entries)")]
    TableFull(usize),
    /// The entry does not fit in one message at the configured MTU.
    #[error("entry of {len} bytes does not fit in a message (room {room})")]
    TooLarge {
        /// Padded entry length.
        len: usize,
        /// Room for entries in one message.
        room: usize,
    },
}

impl EntryKey {
    /// The key of a wire entry (update or delete alike).
    pub fn of_repr(repr: &EntryRepr<'_>) -> Self {
        key_of_body(repr.protocol, &repr.body)
    }

    /// Whether the addresses are IPv6 (both addresses of a valid key agree).
    pub fn is_ipv6(&self) -> bool {
        match self {
            Self::Ipvs { caddr, .. } => caddr.is_ipv6(),
            Self::Conntrack { src, .. } => src.is_ipv6(),
        }
    }

    /// The DELETE entry that carries this key: the key fields filled in,
    /// every other field zero (receivers only look at the key).
    pub fn delete_entry(&self) -> Result<Entry, ChangeError> {
        let body = match *self {
            Self::Ipvs {
                caddr,
                cport,
                vaddr,
                vport,
                ..
            } => {
                let addrs = match (caddr, vaddr) {
                    (IpAddr::V4(caddr), IpAddr::V4(vaddr)) => IpvsAddrs::V4 {
                        caddr,
                        vaddr,
                        daddr: Ipv4Addr::UNSPECIFIED,
                    },
                    (IpAddr::V6(caddr), IpAddr::V6(vaddr)) => IpvsAddrs::V6 {
                        caddr,
                        vaddr,
                        daddr: Ipv6Addr::UNSPECIFIED,
                    },
                    _ => return Err(ChangeError::MixedFamilies),
                };
                EntryBody::Ipvs(IpvsConn {
                    flags: 0,
                    state: 0,
                    cport,
                    vport,
                    dport: 0,
                    fwmark: 0,
                    timeout: 0,
                    addrs,
                })
            }
            Self::Conntrack {
                zone,
                src,
                dst,
                sport,
                dport,
                ..
            } => {
                let tuples = match (src, dst) {
                    (IpAddr::V4(src), IpAddr::V4(dst)) => CtTuples::V4 {
                        orig: CtTuple {
                            src,
                            dst,
                            sport,
                            dport,
                        },
                        reply: CtTuple {
                            src: dst,
                            dst: src,
                            sport: dport,
                            dport: sport,
                        },
                    },
                    (IpAddr::V6(src), IpAddr::V6(dst)) => CtTuples::V6 {
                        orig: CtTuple {
                            src,
                            dst,
                            sport,
                            dport,
                        },
                        reply: CtTuple {
                            src: dst,
                            dst: src,
                            sport: dport,
                            dport: sport,
                        },
                    },
                    _ => return Err(ChangeError::MixedFamilies),
                };
                EntryBody::Conntrack(CtFlow {
                    status: 0,
                    l4_state: 0,
                    zone: (zone != 0).then_some(zone),
                    timeout: 0,
                    mark: None,
                    tuples,
                })
            }
        };
        let protocol = match *self {
            Self::Ipvs { protocol, .. } | Self::Conntrack { protocol, .. } => protocol,
        };
        Ok(Entry {
            protocol,
            body,
            options: OwnedOptions::default(),
        })
    }
}

fn key_of_body(protocol: u8, body: &EntryBody) -> EntryKey {
    match *body {
        EntryBody::Ipvs(conn) => {
            let (caddr, vaddr) = match conn.addrs {
                IpvsAddrs::V4 { caddr, vaddr, .. } => (IpAddr::V4(caddr), IpAddr::V4(vaddr)),
                IpvsAddrs::V6 { caddr, vaddr, .. } => (IpAddr::V6(caddr), IpAddr::V6(vaddr)),
            };
            EntryKey::Ipvs {
                protocol,
                caddr,
                cport: conn.cport,
                vaddr,
                vport: conn.vport,
            }
        }
        EntryBody::Conntrack(flow) => {
            let (src, dst, sport, dport) = match flow.tuples {
                CtTuples::V4 { orig, .. } => (
                    IpAddr::V4(orig.src),
                    IpAddr::V4(orig.dst),
                    orig.sport,
                    orig.dport,
                ),
                CtTuples::V6 { orig, .. } => (
                    IpAddr::V6(orig.src),
                    IpAddr::V6(orig.dst),
                    orig.sport,
                    orig.dport,
                ),
            };
            EntryKey::Conntrack {
                protocol,
                zone: flow.zone.unwrap_or(0),
                src,
                dst,
                sport,
                dport,
            }
        }
    }
}

/// Variable-length options, kept out of line because most entries have none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ByteOptions {
    /// IPVS persistence-engine data (1..=255 bytes).
    pub pe_data: Option<Vec<u8>>,
    /// IPVS persistence-engine name (1..=16 bytes).
    pub pe_name: Option<Vec<u8>>,
    /// Conntrack helper name (1..=16 bytes).
    pub helper: Option<Vec<u8>>,
    /// Conntrack labels bitmap (4..=252 bytes, a multiple of 4).
    pub labels: Option<Vec<u8>>,
}

/// The options of an owned entry (the owned form of the codec's `EntryOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct OwnedOptions {
    /// Sequence adjustments.
    pub seq: Option<SeqOptions>,
    /// Conntrack TCP window tracking.
    pub tcp_window: Option<TcpWindow>,
    /// Byte-string options, boxed (`None` when all are absent).
    pub bytes: Option<Box<ByteOptions>>,
}

/// One synced connection with everything the wire carries about it: the
/// owned counterpart of the codec's [`EntryRepr`] (without the delete flag,
/// which is an operation, not state).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    /// L4 protocol (6, 17, 132, 1, 58).
    pub protocol: u8,
    /// The IPVS connection or conntrack flow.
    pub body: EntryBody,
    /// Options.
    pub options: OwnedOptions,
}

impl Entry {
    /// Copies a decoded wire entry (the delete flag is dropped).
    pub fn from_repr(repr: &EntryRepr<'_>) -> Self {
        let o = &repr.options;
        let bytes = if o.pe_data.is_some()
            || o.pe_name.is_some()
            || o.helper.is_some()
            || o.labels.is_some()
        {
            Some(Box::new(ByteOptions {
                pe_data: o.pe_data.map(<[u8]>::to_vec),
                pe_name: o.pe_name.map(<[u8]>::to_vec),
                helper: o.helper.map(<[u8]>::to_vec),
                labels: o.labels.map(<[u8]>::to_vec),
            }))
        } else {
            None
        };
        Self {
            protocol: repr.protocol,
            body: repr.body,
            options: OwnedOptions {
                seq: o.seq,
                tcp_window: o.tcp_window,
                bytes,
            },
        }
    }

    /// The wire form of this entry, as an update or (with `delete`) a DELETE.
    pub fn as_repr(&self, delete: bool) -> EntryRepr<'_> {
        let bytes = self.options.bytes.as_deref();
        EntryRepr {
            protocol: self.protocol,
            delete,
            body: self.body,
            options: EntryOptions {
                seq: self.options.seq,
                pe_data: bytes.and_then(|b| b.pe_data.as_deref()),
                pe_name: bytes.and_then(|b| b.pe_name.as_deref()),
                tcp_window: self.options.tcp_window,
                helper: bytes.and_then(|b| b.helper.as_deref()),
                labels: bytes.and_then(|b| b.labels.as_deref()),
            },
        }
    }

    /// The table key of this entry.
    pub fn key(&self) -> EntryKey {
        key_of_body(self.protocol, &self.body)
    }

    /// The timeout the entry carries, in seconds.
    pub fn timeout_secs(&self) -> u32 {
        match &self.body {
            EntryBody::Ipvs(conn) => conn.timeout,
            EntryBody::Conntrack(flow) => flow.timeout,
        }
    }

    /// Checks that the entry can be encoded and that its padded size fits in
    /// `room` bytes; returns the padded size.
    pub(crate) fn check_encodable(&self, room: usize) -> Result<usize, ChangeError> {
        if let Some(bytes) = self.options.bytes.as_deref() {
            let limits = [
                (ssyncp_wire::v1::OPT_PE_DATA, &bytes.pe_data, 1, 255),
                (ssyncp_wire::v1::OPT_PE_NAME, &bytes.pe_name, 1, 16),
                (ssyncp_wire::v1::OPT_HELPER, &bytes.helper, 1, 16),
                (ssyncp_wire::v1::OPT_LABELS, &bytes.labels, 4, 252),
            ];
            for (kind, data, min, max) in limits {
                if let Some(data) = data {
                    let len = data.len();
                    let aligned = kind != ssyncp_wire::v1::OPT_LABELS || len.is_multiple_of(4);
                    if len < min || len > max || !aligned {
                        return Err(ChangeError::OptionLength { kind, len });
                    }
                }
            }
        }
        let len = self.as_repr(false).padded_len();
        if len > room {
            return Err(ChangeError::TooLarge { len, room });
        }
        Ok(len)
    }
}

/// The table's internal form of an [`EntryKey`]: five integers, so that
/// hashing and comparing (the hot path of every table operation) are a few
/// integer steps instead of a walk over enums of addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedKey {
    /// class·family (8) | protocol (8) | zone (16) | first port (16) | second
    /// port (16). First, so flows that differ only in ports (the common case
    /// among many flows between few hosts) compare in one step.
    rest: u64,
    /// Client / original source address (IPv4 as IPv4-mapped IPv6), high
    /// and low halves (8-byte fields keep the key at 40 bytes).
    first_hi: u64,
    first_lo: u64,
    /// Virtual / original destination address, high and low halves.
    second_hi: u64,
    second_lo: u64,
}

/// 64 × 64 → 128-bit product, folded back to 64 bits (high xor low half).
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

fn join(hi: u64, lo: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

fn addr_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

fn bits_addr(bits: u128, v6: bool) -> IpAddr {
    let v6addr = Ipv6Addr::from_bits(bits);
    match (v6, v6addr.to_ipv4_mapped()) {
        (false, Some(v4)) => IpAddr::V4(v4),
        _ => IpAddr::V6(v6addr),
    }
}

impl PackedKey {
    /// Packs a key. Mixed-family keys (which no entry produces) are packed
    /// with the family of their first address.
    pub(crate) fn pack(key: &EntryKey) -> Self {
        let (class, protocol, zone, a, b, pa, pb) = match *key {
            EntryKey::Ipvs {
                protocol,
                caddr,
                cport,
                vaddr,
                vport,
            } => (0u8, protocol, 0u16, caddr, vaddr, cport, vport),
            EntryKey::Conntrack {
                protocol,
                zone,
                src,
                dst,
                sport,
                dport,
            } => (2u8, protocol, zone, src, dst, sport, dport),
        };
        let class_family = class | u8::from(a.is_ipv6());
        Self {
            first_hi: (addr_bits(a) >> 64) as u64,
            first_lo: addr_bits(a) as u64,
            second_hi: (addr_bits(b) >> 64) as u64,
            second_lo: addr_bits(b) as u64,
            rest: u64::from(class_family) << 56
                | u64::from(protocol) << 48
                | u64::from(zone) << 32
                | u64::from(pa) << 16
                | u64::from(pb),
        }
    }

    /// Hash for the table's index, keyed by `seed`. Not cryptographic: a
    /// secret seed keeps peers from aiming many keys at one probe sequence.
    pub(crate) fn hash(&self, seed: u64) -> u64 {
        let multiplier = 0x9e37_79b9_7f4a_7c15 ^ seed.rotate_left(29);
        let mut h = seed ^ 0x243f_6a88_85a3_08d3;
        for word in [
            self.rest,
            self.first_hi,
            self.first_lo,
            self.second_hi,
            self.second_lo,
        ] {
            h = folded_multiply(h ^ word, multiplier);
        }
        h
    }

    /// The key this was packed from.
    pub(crate) fn unpack(&self) -> EntryKey {
        let class_family = (self.rest >> 56) as u8;
        let v6 = class_family & 1 != 0;
        let protocol = (self.rest >> 48) as u8;
        let zone = (self.rest >> 32) as u16;
        let pa = (self.rest >> 16) as u16;
        let pb = self.rest as u16;
        let a = bits_addr(join(self.first_hi, self.first_lo), v6);
        let b = bits_addr(join(self.second_hi, self.second_lo), v6);
        if class_family & 2 == 0 {
            EntryKey::Ipvs {
                protocol,
                caddr: a,
                cport: pa,
                vaddr: b,
                vport: pb,
            }
        } else {
            EntryKey::Conntrack {
                protocol,
                zone,
                src: a,
                dst: b,
                sport: pa,
                dport: pb,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_keys_round_trip() {
        let v4 = |d| IpAddr::V4(Ipv4Addr::new(192, 0, 2, d));
        let v6 = |d| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, d));
        let keys = [
            EntryKey::Ipvs {
                protocol: 6,
                caddr: v4(1),
                cport: 1,
                vaddr: v4(2),
                vport: 80,
            },
            EntryKey::Ipvs {
                protocol: 17,
                caddr: v6(1),
                cport: 1,
                vaddr: v6(2),
                vport: 80,
            },
            EntryKey::Conntrack {
                protocol: 6,
                zone: 0,
                src: v4(1),
                dst: v4(2),
                sport: 1,
                dport: 2,
            },
            EntryKey::Conntrack {
                protocol: 58,
                zone: 9,
                src: v6(1),
                dst: v6(2),
                sport: 1,
                dport: 2,
            },
            // An IPv4-mapped IPv6 address stays IPv6.
            EntryKey::Conntrack {
                protocol: 6,
                zone: 0,
                src: IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()),
                dst: v6(2),
                sport: 1,
                dport: 2,
            },
        ];
        for key in keys {
            assert_eq!(PackedKey::pack(&key).unpack(), key);
        }
        let packed: Vec<PackedKey> = keys.iter().map(PackedKey::pack).collect();
        for (i, a) in packed.iter().enumerate() {
            for b in &packed[i + 1..] {
                assert_ne!(a, b, "distinct keys stay distinct");
                assert_ne!(a.hash(7), b.hash(7));
            }
            assert_ne!(a.hash(1), a.hash(2), "the seed changes the hash");
        }
    }
}
