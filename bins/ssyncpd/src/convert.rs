//! Mapping between kernel conntrack entries (`ctnl`) and SSYNCP class-1 entries
//! (`ssyncp-engine`), plus the filter of what is worth syncing.

use std::net::IpAddr;

use ctnl::{ConnEntry, Family, L4Key, SeqAdjDir, SeqAdjust, TcpFlags, TcpInfo, Tuple, proto};
use ssyncp_engine::{Entry, EntryKey, OwnedOptions};
use ssyncp_wire::v1::{CtFlow, CtTuple, CtTuples, EntryBody, TcpWindow};
use ssyncp_wire::{SeqAdjust as WireSeq, SeqOptions};

/// Status bits that describe a flow's state (the rest are kernel bookkeeping such as
/// CONFIRMED or NAT_DONE, which differ between a master's entry and its replica).
pub const STATE_STATUS_MASK: u32 = ctnl::status::SEEN_REPLY
    | ctnl::status::ASSURED
    | ctnl::status::SRC_NAT
    | ctnl::status::DST_NAT
    | ctnl::status::SEQ_ADJUST;

/// Whether a kernel entry is synced: transport protocols a firewall tracks per flow, and
/// never link-local control traffic (VRRP, SSYNCP itself, IGMP…) or multicast/broadcast.
pub fn worth_syncing(conn: &ConnEntry) -> bool {
    let transport = matches!(
        conn.protocol,
        proto::TCP
            | proto::UDP
            | proto::UDPLITE
            | proto::SCTP
            | proto::DCCP
            | proto::ICMP
            | proto::ICMPV6
            | proto::GRE
    );
    let group = match conn.orig.dst {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
        IpAddr::V6(a) => a.is_multicast(),
    };
    transport && !group
}

fn wire_tuple<A: Copy>(src: A, dst: A, l4: L4Key) -> CtTuple<A> {
    let (sport, dport) = l4.to_words();
    CtTuple {
        src,
        dst,
        sport,
        dport,
    }
}

/// The SSYNCP entry for a kernel entry; `None` when its two tuples mix families.
pub fn to_entry(conn: &ConnEntry) -> Option<Entry> {
    let tuples = match (conn.orig.src, conn.orig.dst, conn.reply.src, conn.reply.dst) {
        (IpAddr::V4(os), IpAddr::V4(od), IpAddr::V4(rs), IpAddr::V4(rd)) => CtTuples::V4 {
            orig: wire_tuple(os, od, conn.orig.l4),
            reply: wire_tuple(rs, rd, conn.reply.l4),
        },
        (IpAddr::V6(os), IpAddr::V6(od), IpAddr::V6(rs), IpAddr::V6(rd)) => CtTuples::V6 {
            orig: wire_tuple(os, od, conn.orig.l4),
            reply: wire_tuple(rs, rd, conn.reply.l4),
        },
        _ => return None,
    };
    let tcp = conn.tcp.filter(|_| conn.protocol == proto::TCP);
    let seq = conn.seq_adj.map(|s| SeqOptions {
        in_seq: wire_seq(s.orig),
        out_seq: wire_seq(s.reply),
    });
    Some(Entry {
        protocol: conn.protocol,
        body: EntryBody::Conntrack(CtFlow {
            status: conn.status,
            l4_state: tcp.map_or(0, |t| t.state),
            zone: conn.zone,
            timeout: conn.timeout,
            mark: conn.mark,
            tuples,
        }),
        options: OwnedOptions {
            seq,
            tcp_window: tcp.map(|t| TcpWindow {
                wscale_orig: t.wscale_orig,
                wscale_reply: t.wscale_reply,
                flags_orig: t.flags_orig.flags,
                flags_reply: t.flags_reply.flags,
            }),
            bytes: None,
        },
    })
}

/// Conntrack's seqadj triple on the wire: `correction_pos, offset_after, offset_before`.
fn wire_seq(d: SeqAdjDir) -> WireSeq {
    WireSeq {
        init_seq: d.correction_pos,
        delta: d.offset_after,
        previous_delta: d.offset_before,
    }
}

fn kernel_seq(s: WireSeq) -> SeqAdjDir {
    SeqAdjDir {
        correction_pos: s.init_seq,
        offset_before: s.previous_delta,
        offset_after: s.delta,
    }
}

fn kernel_tuple<A: Into<IpAddr> + Copy>(protocol: u8, t: &CtTuple<A>) -> Tuple {
    Tuple {
        src: t.src.into(),
        dst: t.dst.into(),
        l4: L4Key::from_words(protocol, t.sport, t.dport),
    }
}

/// The kernel entry to write for a received entry, with its timeout capped at
/// `timeout_cap` seconds (so replicas age out if this daemon dies; refreshes renew them).
/// `None` for IPVS entries, which the conntrack backend does not handle.
pub fn to_conn(entry: &Entry, timeout_cap: u32) -> Option<ConnEntry> {
    let EntryBody::Conntrack(flow) = &entry.body else {
        return None;
    };
    let (family, orig, reply) = match &flow.tuples {
        CtTuples::V4 { orig, reply } => (
            Family::Ipv4,
            kernel_tuple(entry.protocol, orig),
            kernel_tuple(entry.protocol, reply),
        ),
        CtTuples::V6 { orig, reply } => (
            Family::Ipv6,
            kernel_tuple(entry.protocol, orig),
            kernel_tuple(entry.protocol, reply),
        ),
    };
    let tcp = (entry.protocol == proto::TCP).then(|| {
        let window = entry.options.tcp_window;
        TcpInfo {
            state: flow.l4_state,
            wscale_orig: window.map_or(0, |w| w.wscale_orig),
            wscale_reply: window.map_or(0, |w| w.wscale_reply),
            // Without the option, leave the receiving kernel's flags alone (mask 0).
            flags_orig: window.map_or(TcpFlags::default(), |w| TcpFlags::exact(w.flags_orig)),
            flags_reply: window.map_or(TcpFlags::default(), |w| TcpFlags::exact(w.flags_reply)),
        }
    });
    Some(ConnEntry {
        family,
        protocol: entry.protocol,
        orig,
        reply,
        status: flow.status,
        timeout: flow.timeout.min(timeout_cap).max(1),
        mark: flow.mark,
        zone: flow.zone,
        tcp,
        seq_adj: entry.options.seq.map(|s| SeqAdjust {
            orig: kernel_seq(s.in_seq),
            reply: kernel_seq(s.out_seq),
        }),
        id: None,
    })
}

/// The kernel entry a delete request needs for `key` (original tuple and zone; the reply
/// tuple is the plain inverse, which the kernel ignores for a delete).
pub fn key_to_conn(key: &EntryKey) -> Option<ConnEntry> {
    let EntryKey::Conntrack {
        protocol,
        zone,
        src,
        dst,
        sport,
        dport,
    } = *key
    else {
        return None;
    };
    let family = match src {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    let orig = Tuple {
        src,
        dst,
        l4: L4Key::from_words(protocol, sport, dport),
    };
    Some(ConnEntry {
        family,
        protocol,
        orig,
        reply: orig.inverted(0, 0),
        status: 0,
        timeout: 0,
        mark: None,
        zone: (zone != 0).then_some(zone),
        tcp: None,
        seq_adj: None,
        id: None,
    })
}

/// True when two entries describe the same flow state: everything but the timeout (which
/// counts down), the kernel's bookkeeping status bits and the TCP window-tracking flags.
pub fn same_state(a: &Entry, b: &Entry) -> bool {
    let (EntryBody::Conntrack(fa), EntryBody::Conntrack(fb)) = (&a.body, &b.body) else {
        return a == b;
    };
    a.protocol == b.protocol
        && fa.tuples == fb.tuples
        && fa.l4_state == fb.l4_state
        && fa.mark == fb.mark
        && fa.zone.unwrap_or(0) == fb.zone.unwrap_or(0)
        && fa.status & STATE_STATUS_MASK == fb.status & STATE_STATUS_MASK
        && a.options.seq == b.options.seq
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn tcp_conn() -> ConnEntry {
        let orig = Tuple {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
            l4: L4Key::Ports {
                src: 40000,
                dst: 80,
            },
        };
        ConnEntry {
            family: Family::Ipv4,
            protocol: proto::TCP,
            orig,
            // SNAT to 192.0.2.1:50000.
            reply: Tuple {
                src: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
                dst: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                l4: L4Key::Ports {
                    src: 80,
                    dst: 50000,
                },
            },
            status: 0x1be,
            timeout: 431_999,
            mark: Some(7),
            zone: Some(3),
            tcp: Some(TcpInfo {
                state: ctnl::tcp_state::ESTABLISHED,
                wscale_orig: 7,
                wscale_reply: 9,
                flags_orig: TcpFlags {
                    flags: 0x23,
                    mask: 0,
                },
                flags_reply: TcpFlags {
                    flags: 0x03,
                    mask: 0,
                },
            }),
            seq_adj: Some(SeqAdjust {
                orig: SeqAdjDir {
                    correction_pos: 1000,
                    offset_before: -2,
                    offset_after: 5,
                },
                reply: SeqAdjDir::default(),
            }),
            id: Some(99),
        }
    }

    #[test]
    fn roundtrip_keeps_every_synced_field() {
        let conn = tcp_conn();
        let entry = to_entry(&conn).unwrap();
        let back = to_conn(&entry, u32::MAX).unwrap();
        let expected = ConnEntry {
            id: None,
            tcp: conn.tcp.map(TcpInfo::with_exact_flags),
            ..conn.clone()
        };
        assert_eq!(back, expected);
        // The cap applies, and a zero timeout becomes 1 s (the kernel needs one).
        assert_eq!(to_conn(&entry, 180).unwrap().timeout, 180);
        let mut zero = entry.clone();
        if let EntryBody::Conntrack(f) = &mut zero.body {
            f.timeout = 0;
        }
        assert_eq!(to_conn(&zero, 180).unwrap().timeout, 1);
    }

    #[test]
    fn key_to_conn_matches_the_key() {
        let entry = to_entry(&tcp_conn()).unwrap();
        let conn = key_to_conn(&entry.key()).unwrap();
        assert_eq!(conn.orig, tcp_conn().orig);
        assert_eq!(conn.zone, Some(3));
        assert_eq!(to_entry(&conn).unwrap().key(), entry.key());
    }

    #[test]
    fn icmp_and_v6_and_filter() {
        let orig = Tuple {
            src: IpAddr::V6(Ipv6Addr::LOCALHOST),
            dst: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
            l4: L4Key::Icmp {
                id: 5,
                kind: 128,
                code: 0,
            },
        };
        let conn = ConnEntry {
            family: Family::Ipv6,
            protocol: proto::ICMPV6,
            orig,
            reply: orig.inverted(129, 0),
            status: 0,
            timeout: 30,
            mark: None,
            zone: None,
            tcp: None,
            seq_adj: None,
            id: None,
        };
        let entry = to_entry(&conn).unwrap();
        assert_eq!(to_conn(&entry, 60).unwrap(), conn);
        assert!(worth_syncing(&conn));
        let mut vrrp = conn.clone();
        vrrp.protocol = 112;
        assert!(!worth_syncing(&vrrp));
        let mut mcast = tcp_conn();
        mcast.orig.dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81));
        assert!(!worth_syncing(&mcast));
        let mut mixed = tcp_conn();
        mixed.reply.src = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert!(to_entry(&mixed).is_none());
    }

    #[test]
    fn same_state_ignores_timeout_and_bookkeeping() {
        let a = to_entry(&tcp_conn()).unwrap();
        let mut conn = tcp_conn();
        conn.timeout = 10;
        conn.status |= ctnl::status::CONFIRMED | ctnl::status::SRC_NAT_DONE;
        conn.status &= !ctnl::status::CONFIRMED;
        let b = to_entry(&conn).unwrap();
        assert!(same_state(&a, &b));
        conn.tcp = conn.tcp.map(|mut t| {
            t.state = ctnl::tcp_state::FIN_WAIT;
            t
        });
        assert!(!same_state(&a, &to_entry(&conn).unwrap()));
    }
}
