//! The neutral, owned connection entry and its parts.

use crate::consts::{proto, status};
use std::net::IpAddr;

/// Address family of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The `AF_*` number used in the netfilter generic header.
    pub fn af(self) -> u8 {
        match self {
            Family::Ipv4 => crate::consts::AF_INET,
            Family::Ipv6 => crate::consts::AF_INET6,
        }
    }

    /// True when `addr` belongs to this family.
    pub fn matches(self, addr: IpAddr) -> bool {
        matches!(
            (self, addr),
            (Family::Ipv4, IpAddr::V4(_)) | (Family::Ipv6, IpAddr::V6(_))
        )
    }
}

/// The layer-4 part of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Key {
    /// Source and destination ports (TCP, UDP, SCTP, DCCP, UDP-Lite; GRE keys).
    Ports {
        /// Source port.
        src: u16,
        /// Destination port.
        dst: u16,
    },
    /// ICMP or ICMPv6 echo identifier, type and code.
    Icmp {
        /// Identifier.
        id: u16,
        /// ICMP type.
        kind: u8,
        /// ICMP code.
        code: u8,
    },
    /// No layer-4 key (protocols conntrack tracks by address only).
    None,
}

impl L4Key {
    /// The two 16-bit words SSYNCP carries for this key: ports as they are; ICMP as
    /// `(id, type << 8 | code)`; nothing as `(0, 0)`.
    pub fn to_words(self) -> (u16, u16) {
        match self {
            L4Key::Ports { src, dst } => (src, dst),
            L4Key::Icmp { id, kind, code } => (id, u16::from_be_bytes([kind, code])),
            L4Key::None => (0, 0),
        }
    }

    /// The key for L4 protocol `protocol` from the two words of [`L4Key::to_words`].
    pub fn from_words(protocol: u8, a: u16, b: u16) -> L4Key {
        match protocol {
            proto::ICMP | proto::ICMPV6 => {
                let [kind, code] = b.to_be_bytes();
                L4Key::Icmp { id: a, kind, code }
            }
            proto::TCP | proto::UDP | proto::SCTP | proto::DCCP | proto::UDPLITE | proto::GRE => {
                L4Key::Ports { src: a, dst: b }
            }
            _ => L4Key::None,
        }
    }
}

/// One direction of a connection: addresses and layer-4 key as the packets carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Ports or ICMP identifiers.
    pub l4: L4Key,
}

impl Tuple {
    /// The tuple a reply to this one carries when no NAT applies: addresses and ports
    /// swapped. For ICMP the identifier is kept and `reply_kind`/`reply_code` are used.
    pub fn inverted(&self, reply_kind: u8, reply_code: u8) -> Tuple {
        let l4 = match self.l4 {
            L4Key::Ports { src, dst } => L4Key::Ports { src: dst, dst: src },
            L4Key::Icmp { id, .. } => L4Key::Icmp {
                id,
                kind: reply_kind,
                code: reply_code,
            },
            L4Key::None => L4Key::None,
        };
        Tuple {
            src: self.dst,
            dst: self.src,
            l4,
        }
    }
}

/// TCP window-tracking flags of one direction, with the mask of bits a request applies.
///
/// The kernel reports `mask` as 0 in dumps and events; a request changes only the bits set in
/// `mask`. Use [`TcpFlags::exact`] to copy flags from one table to another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// `IP_CT_TCP_FLAG_*` bits (see [`crate::tcp_flags`]).
    pub flags: u8,
    /// Which bits of `flags` a create/update request applies.
    pub mask: u8,
}

impl TcpFlags {
    /// Flags that replace all bits on the receiving side (mask = 0xff).
    pub fn exact(flags: u8) -> TcpFlags {
        TcpFlags { flags, mask: 0xff }
    }
}

/// TCP protocol state (`CTA_PROTOINFO_TCP`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpInfo {
    /// `TCP_CONNTRACK_*` state (see [`crate::tcp_state`]).
    pub state: u8,
    /// Window scale of the original direction.
    pub wscale_orig: u8,
    /// Window scale of the reply direction.
    pub wscale_reply: u8,
    /// Flags of the original direction.
    pub flags_orig: TcpFlags,
    /// Flags of the reply direction.
    pub flags_reply: TcpFlags,
}

impl TcpInfo {
    /// The same state with both flag masks set to apply every bit (see [`TcpFlags::exact`]):
    /// what a replica must send so the receiving kernel ends up with the same flags.
    pub fn with_exact_flags(self) -> TcpInfo {
        TcpInfo {
            flags_orig: TcpFlags::exact(self.flags_orig.flags),
            flags_reply: TcpFlags::exact(self.flags_reply.flags),
            ..self
        }
    }
}

/// TCP sequence-number adjustment of one direction (`CTA_SEQ_ADJ_ORIG`/`_REPLY`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqAdjDir {
    /// Sequence number from which `offset_after` applies.
    pub correction_pos: u32,
    /// Offset applied before `correction_pos`.
    pub offset_before: i32,
    /// Offset applied from `correction_pos` on.
    pub offset_after: i32,
}

/// Sequence adjustment of both directions (present when a helper resized payloads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqAdjust {
    /// Original direction.
    pub orig: SeqAdjDir,
    /// Reply direction.
    pub reply: SeqAdjDir,
}

/// A NAT binding derived from the two tuples: the translated address and, when it
/// changed too, the translated port (or ICMP identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatTarget {
    /// Translated address.
    pub addr: IpAddr,
    /// Translated port or ICMP id, when it differs from the original.
    pub port: Option<u16>,
}

/// One conntrack entry, owned and independent of netlink.
///
/// NAT is not a separate field: it shows as the reply tuple differing from the inverse of
/// the original tuple, and in the status bits `SRC_NAT`/`DST_NAT`. See [`ConnEntry::src_nat`]
/// and the crate documentation for how such an entry is re-created on another node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnEntry {
    /// Address family of both tuples.
    pub family: Family,
    /// Layer-4 protocol number (same in both directions; see [`crate::proto`]).
    pub protocol: u8,
    /// Tuple of the original direction (the key of the entry).
    pub orig: Tuple,
    /// Tuple of the reply direction.
    pub reply: Tuple,
    /// `IPS_*` status bits (see [`crate::status`]).
    pub status: u32,
    /// Remaining lifetime in seconds (0 when the message carried none, as in destroy events).
    pub timeout: u32,
    /// Connection mark, when the kernel reported one.
    pub mark: Option<u32>,
    /// Conntrack zone; `None` is the default zone 0.
    pub zone: Option<u16>,
    /// TCP state, for TCP entries.
    pub tcp: Option<TcpInfo>,
    /// Sequence adjustment, when present.
    pub seq_adj: Option<SeqAdjust>,
    /// Kernel id of the entry: for logging only; it differs on every node.
    pub id: Option<u32>,
}

/// What identifies an entry in a table: zone, protocol and original tuple (the kernel looks
/// entries up by exactly these). Use it as a map key in caches of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey {
    /// Conntrack zone (`None` = default zone).
    pub zone: Option<u16>,
    /// Layer-4 protocol.
    pub protocol: u8,
    /// Original tuple.
    pub orig: Tuple,
}

impl ConnEntry {
    /// The entry's identity in its table.
    pub fn key(&self) -> EntryKey {
        EntryKey {
            zone: self.zone,
            protocol: self.protocol,
            orig: self.orig,
        }
    }

    /// Source NAT implied by the tuples: set when the reply is addressed to something other
    /// than the original source (address or port/id).
    pub fn src_nat(&self) -> Option<NatTarget> {
        let orig_port = self.orig.l4.to_words().0;
        let reply_port = match self.reply.l4 {
            L4Key::Ports { dst, .. } => dst,
            L4Key::Icmp { id, .. } => id,
            L4Key::None => orig_port,
        };
        nat_target(self.orig.src, self.reply.dst, orig_port, reply_port)
    }

    /// Destination NAT implied by the tuples: set when the reply comes from something other
    /// than the original destination (address or port).
    pub fn dst_nat(&self) -> Option<NatTarget> {
        let (orig_port, reply_port) = match (self.orig.l4, self.reply.l4) {
            (L4Key::Ports { dst, .. }, L4Key::Ports { src, .. }) => (dst, src),
            _ => (0, 0),
        };
        nat_target(self.orig.dst, self.reply.src, orig_port, reply_port)
    }

    /// True when either NAT direction applies.
    pub fn has_nat(&self) -> bool {
        self.src_nat().is_some() || self.dst_nat().is_some()
    }

    /// The reply tuple a create request sends when NAT is re-created through
    /// `CTA_NAT_SRC`/`CTA_NAT_DST`: the plain inverse of the original, which the kernel's NAT
    /// set-up then rewrites into [`ConnEntry::reply`].
    pub fn unnatted_reply(&self) -> Tuple {
        let (kind, code) = match self.reply.l4 {
            L4Key::Icmp { kind, code, .. } => (kind, code),
            _ => (0, 0),
        };
        self.orig.inverted(kind, code)
    }

    /// True when the entry is TCP in state ESTABLISHED.
    pub fn is_established_tcp(&self) -> bool {
        self.tcp
            .is_some_and(|t| t.state == crate::consts::tcp_state::ESTABLISHED)
    }

    /// The status bits a create request may set (see [`status::SETTABLE`]).
    pub fn settable_status(&self) -> u32 {
        self.status & status::SETTABLE
    }
}

fn nat_target(
    before: IpAddr,
    after: IpAddr,
    port_before: u16,
    port_after: u16,
) -> Option<NatTarget> {
    let port = (port_before != port_after).then_some(port_after);
    (before != after || port.is_some()).then_some(NatTarget { addr: after, port })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(a: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, a))
    }

    fn entry(orig: Tuple, reply: Tuple) -> ConnEntry {
        ConnEntry {
            family: Family::Ipv4,
            protocol: proto::TCP,
            orig,
            reply,
            status: status::CONFIRMED | status::ASSURED | status::SEEN_REPLY,
            timeout: 100,
            mark: None,
            zone: None,
            tcp: None,
            seq_adj: None,
            id: None,
        }
    }

    #[test]
    fn nat_is_derived_from_tuples() {
        let orig = Tuple {
            src: v4(1),
            dst: v4(2),
            l4: L4Key::Ports { src: 1000, dst: 80 },
        };
        let plain = entry(orig, orig.inverted(0, 0));
        assert!(!plain.has_nat());

        // SNAT to .9 with port 2000, DNAT to .3:8080.
        let natted = entry(
            orig,
            Tuple {
                src: v4(3),
                dst: v4(9),
                l4: L4Key::Ports {
                    src: 8080,
                    dst: 2000,
                },
            },
        );
        assert_eq!(
            natted.src_nat(),
            Some(NatTarget {
                addr: v4(9),
                port: Some(2000)
            })
        );
        assert_eq!(
            natted.dst_nat(),
            Some(NatTarget {
                addr: v4(3),
                port: Some(8080)
            })
        );
        assert_eq!(natted.unnatted_reply(), orig.inverted(0, 0));
    }

    #[test]
    fn icmp_words_roundtrip() {
        let key = L4Key::Icmp {
            id: 77,
            kind: 8,
            code: 0,
        };
        let (a, b) = key.to_words();
        assert_eq!((a, b), (77, 0x0800));
        assert_eq!(L4Key::from_words(proto::ICMP, a, b), key);
        assert_eq!(
            L4Key::from_words(proto::UDP, 5, 6),
            L4Key::Ports { src: 5, dst: 6 }
        );
        assert_eq!(L4Key::from_words(99, 5, 6), L4Key::None);
    }
}
