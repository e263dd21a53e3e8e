//! Shared proptest strategies and sample values.
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use ssyncp_wire::v0;
use ssyncp_wire::v1::{
    CtFlow, CtTuple, CtTuples, EntryBody, EntryOptions, EntryRepr, Flags, Header, IpvsAddrs,
    IpvsConn, MessageType, TcpWindow,
};
use ssyncp_wire::{SeqAdjust, SeqOptions};

pub fn seq_options() -> impl Strategy<Value = SeqOptions> {
    let adj =
        (any::<u32>(), any::<i32>(), any::<i32>()).prop_map(|(init_seq, delta, previous_delta)| {
            SeqAdjust {
                init_seq,
                delta,
                previous_delta,
            }
        });
    (adj.clone(), adj).prop_map(|(in_seq, out_seq)| SeqOptions { in_seq, out_seq })
}

pub fn v0_conn() -> impl Strategy<Value = v0::Conn> {
    (
        any::<(u8, u16, u16, u16)>(),
        any::<([u8; 4], [u8; 4], [u8; 4])>(),
        any::<(u16, u16)>(),
        seq_options(),
    )
        .prop_map(
            |((protocol, cport, vport, dport), (c, v, d), (flags, state), seq)| v0::Conn {
                protocol,
                cport,
                vport,
                dport,
                caddr: Ipv4Addr::from(c),
                vaddr: Ipv4Addr::from(v),
                daddr: Ipv4Addr::from(d),
                flags,
                state,
                seq: (flags & v0::SEQ_MASK != 0).then_some(seq),
            },
        )
}

/// An entry whose option data is owned, so strategies can produce it.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedEntry {
    pub protocol: u8,
    pub delete: bool,
    pub body: EntryBody,
    pub seq: Option<SeqOptions>,
    pub pe_data: Option<Vec<u8>>,
    pub pe_name: Option<Vec<u8>>,
    pub tcp_window: Option<TcpWindow>,
    pub helper: Option<Vec<u8>>,
    pub labels: Option<Vec<u8>>,
}

impl OwnedEntry {
    pub fn repr(&self) -> EntryRepr<'_> {
        EntryRepr {
            protocol: self.protocol,
            delete: self.delete,
            body: self.body,
            options: EntryOptions {
                seq: self.seq,
                pe_data: self.pe_data.as_deref(),
                pe_name: self.pe_name.as_deref(),
                tcp_window: self.tcp_window,
                helper: self.helper.as_deref(),
                labels: self.labels.as_deref(),
            },
        }
    }
}

fn v4() -> impl Strategy<Value = Ipv4Addr> + Clone {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn v6() -> impl Strategy<Value = Ipv6Addr> + Clone {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

fn tuple<A: std::fmt::Debug + Clone>(
    addr: impl Strategy<Value = A> + Clone,
) -> impl Strategy<Value = CtTuple<A>> {
    (addr.clone(), addr, any::<u16>(), any::<u16>()).prop_map(|(src, dst, sport, dport)| CtTuple {
        src,
        dst,
        sport,
        dport,
    })
}

pub fn ipvs_conn() -> impl Strategy<Value = IpvsConn> {
    let addrs = prop_oneof![
        (v4(), v4(), v4()).prop_map(|(caddr, vaddr, daddr)| IpvsAddrs::V4 {
            caddr,
            vaddr,
            daddr
        }),
        (v6(), v6(), v6()).prop_map(|(caddr, vaddr, daddr)| IpvsAddrs::V6 {
            caddr,
            vaddr,
            daddr
        }),
    ];
    (any::<(u32, u16, u16, u16, u16, u32, u32)>(), addrs).prop_map(
        |((flags, state, cport, vport, dport, fwmark, timeout), addrs)| IpvsConn {
            flags,
            state,
            cport,
            vport,
            dport,
            fwmark,
            timeout,
            addrs,
        },
    )
}

pub fn ct_flow() -> impl Strategy<Value = CtFlow> {
    let tuples = prop_oneof![
        (tuple(v4()), tuple(v4())).prop_map(|(orig, reply)| CtTuples::V4 { orig, reply }),
        (tuple(v6()), tuple(v6())).prop_map(|(orig, reply)| CtTuples::V6 { orig, reply }),
    ];
    (any::<(u32, u8, Option<u16>, u32, Option<u32>)>(), tuples).prop_map(
        |((status, l4_state, zone, timeout, mark), tuples)| CtFlow {
            status,
            l4_state,
            zone,
            timeout,
            mark,
            tuples,
        },
    )
}

pub fn entry() -> impl Strategy<Value = OwnedEntry> {
    let body = prop_oneof![
        ipvs_conn().prop_map(EntryBody::Ipvs),
        ct_flow().prop_map(EntryBody::Conntrack)
    ];
    let name = proptest::collection::vec(any::<u8>(), 1..=16);
    let labels =
        (1usize..=63).prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 4));
    let window = any::<[u8; 4]>().prop_map(|[a, b, c, d]| TcpWindow {
        wscale_orig: a,
        wscale_reply: b,
        flags_orig: c,
        flags_reply: d,
    });
    (
        any::<(u8, bool)>(),
        body,
        proptest::option::of(seq_options()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..=255)),
        proptest::option::of(name.clone()),
        proptest::option::of(window),
        proptest::option::of(name),
        proptest::option::of(labels),
    )
        .prop_map(
            |((protocol, delete), body, seq, pe_data, pe_name, tcp_window, helper, labels)| {
                OwnedEntry {
                    protocol,
                    delete,
                    body,
                    seq,
                    pe_data,
                    pe_name,
                    tcp_window,
                    helper,
                    labels,
                }
            },
        )
}

pub fn header(kinds: &'static [MessageType]) -> impl Strategy<Value = Header> {
    let flags = prop_oneof![
        Just(0u8),
        Just(Flags::BULK_START),
        Just(Flags::BULK_END),
        Just(Flags::BULK_ACTIVE),
        Just(Flags::BULK_START | Flags::BULK_END)
    ];
    (
        proptest::sample::select(kinds),
        any::<(u8, u32, u32, u32)>(),
        flags,
    )
        .prop_map(
            |(kind, (sync_id, sender_id, epoch, sequence), flags)| Header {
                sync_id,
                kind,
                flags: Flags(flags),
                sender_id,
                epoch,
                sequence,
            },
        )
}

/// A plain IPVS IPv4 entry with distinct fields.
pub fn sample_ipvs_v4(n: u32) -> EntryRepr<'static> {
    EntryRepr {
        protocol: 6,
        delete: false,
        body: EntryBody::Ipvs(IpvsConn {
            flags: 0x0100,
            state: 1,
            cport: 40000 + (n % 20000) as u16,
            vport: 80,
            dport: 8080,
            fwmark: 0,
            timeout: 900,
            addrs: IpvsAddrs::V4 {
                caddr: Ipv4Addr::from(0x0a00_0000 + n),
                vaddr: Ipv4Addr::new(192, 0, 2, 10),
                daddr: Ipv4Addr::new(198, 51, 100, 7),
            },
        }),
        options: EntryOptions::default(),
    }
}

pub fn sample_seq() -> SeqOptions {
    SeqOptions {
        in_seq: SeqAdjust {
            init_seq: 0x1122_3344,
            delta: -12,
            previous_delta: 4,
        },
        out_seq: SeqAdjust {
            init_seq: 0x5566_7788,
            delta: 30,
            previous_delta: -1,
        },
    }
}

pub fn sample_v0_conn(n: u32, with_seq: bool) -> v0::Conn {
    v0::Conn {
        protocol: 6,
        cport: 1024 + (n % 60000) as u16,
        vport: 80,
        dport: 80,
        caddr: Ipv4Addr::from(0xc633_6400 + n),
        vaddr: Ipv4Addr::new(192, 0, 2, 1),
        daddr: Ipv4Addr::new(10, 0, 0, 2),
        flags: if with_seq { 0x0600 } else { 0x0100 },
        state: 1,
        seq: with_seq.then(sample_seq),
    }
}
