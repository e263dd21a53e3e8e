//! Conversion between [`ConnEntry`] and ctnetlink messages.

use crate::consts::*;
use crate::entry::{ConnEntry, Family, L4Key, SeqAdjDir, SeqAdjust, TcpFlags, TcpInfo, Tuple};
use crate::error::{EncodeError, ParseError};
use crate::wire::{Attr, Attrs, Message, Writer};
use std::net::IpAddr;

/// What a ctnetlink message says about an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// `CT_NEW` with `NLM_F_CREATE|NLM_F_EXCL`: a new connection (event).
    New,
    /// `CT_NEW` without those flags: a changed connection (event), or a dump record.
    Update,
    /// `CT_DELETE`: a destroyed connection.
    Destroy,
}

/// Classifies a ctnetlink conntrack message; `None` for other message types.
pub fn message_kind(msg: &Message<'_>) -> Option<MessageKind> {
    if msg.kind == ct_msg_type(IPCTNL_MSG_CT_NEW) {
        let new = msg.flags & (NLM_F_CREATE | NLM_F_EXCL) != 0;
        Some(if new {
            MessageKind::New
        } else {
            MessageKind::Update
        })
    } else if msg.kind == ct_msg_type(IPCTNL_MSG_CT_DELETE) {
        Some(MessageKind::Destroy)
    } else {
        None
    }
}

/// Decodes the payload of a conntrack message (netfilter generic header + attributes).
///
/// Unknown attributes are skipped; both tuples are mandatory.
pub fn decode_entry(payload: &[u8]) -> Result<ConnEntry, ParseError> {
    let (&af, attrs) = payload
        .split_first()
        .filter(|_| payload.len() >= NFGENMSG_LEN)
        .ok_or(ParseError::Truncated {
            what: "nfgenmsg",
            need: NFGENMSG_LEN,
            have: payload.len(),
        })?;
    let family = match af {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        other => return Err(ParseError::Family(other)),
    };
    let attrs = attrs.get(NFGENMSG_LEN - 1..).unwrap_or_default();
    let mut orig = None;
    let mut reply = None;
    let mut entry = ConnEntry {
        family,
        protocol: 0,
        orig: placeholder_tuple(),
        reply: placeholder_tuple(),
        status: 0,
        timeout: 0,
        mark: None,
        zone: None,
        tcp: None,
        seq_adj: None,
        id: None,
    };
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        match attr.kind {
            CTA_TUPLE_ORIG => orig = Some(decode_tuple(&attr, family)?),
            CTA_TUPLE_REPLY => reply = Some(decode_tuple(&attr, family)?),
            CTA_STATUS => entry.status = attr.be32("CTA_STATUS")?,
            CTA_TIMEOUT => entry.timeout = attr.be32("CTA_TIMEOUT")?,
            CTA_MARK => entry.mark = Some(attr.be32("CTA_MARK")?),
            CTA_ZONE => entry.zone = Some(attr.be16("CTA_ZONE")?),
            CTA_ID => entry.id = Some(attr.be32("CTA_ID")?),
            CTA_PROTOINFO => entry.tcp = decode_protoinfo(&attr)?.or(entry.tcp),
            CTA_SEQ_ADJ_ORIG => {
                entry.seq_adj.get_or_insert_with(SeqAdjust::default).orig = decode_seq_adj(&attr)?
            }
            CTA_SEQ_ADJ_REPLY => {
                entry.seq_adj.get_or_insert_with(SeqAdjust::default).reply = decode_seq_adj(&attr)?
            }
            _ => {}
        }
    }
    let (orig_proto, orig) = orig.ok_or(ParseError::Missing("CTA_TUPLE_ORIG"))?;
    let (_, reply) = reply.ok_or(ParseError::Missing("CTA_TUPLE_REPLY"))?;
    entry.protocol = orig_proto;
    entry.orig = orig;
    entry.reply = reply;
    Ok(entry)
}

fn placeholder_tuple() -> Tuple {
    Tuple {
        src: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        dst: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        l4: L4Key::None,
    }
}

fn decode_tuple(attr: &Attr<'_>, family: Family) -> Result<(u8, Tuple), ParseError> {
    let mut src = None;
    let mut dst = None;
    let mut protocol = None;
    let (mut sport, mut dport) = (None, None);
    let (mut icmp_id, mut icmp_type, mut icmp_code) = (None, None, None);
    for part in attr.nested() {
        let part = part?;
        match part.kind {
            CTA_TUPLE_IP => {
                for ip in part.nested() {
                    let ip = ip?;
                    match ip.kind {
                        CTA_IP_V4_SRC => src = Some(IpAddr::V4(ip.ipv4("CTA_IP_V4_SRC")?)),
                        CTA_IP_V4_DST => dst = Some(IpAddr::V4(ip.ipv4("CTA_IP_V4_DST")?)),
                        CTA_IP_V6_SRC => src = Some(IpAddr::V6(ip.ipv6("CTA_IP_V6_SRC")?)),
                        CTA_IP_V6_DST => dst = Some(IpAddr::V6(ip.ipv6("CTA_IP_V6_DST")?)),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for p in part.nested() {
                    let p = p?;
                    match p.kind {
                        CTA_PROTO_NUM => protocol = Some(p.u8("CTA_PROTO_NUM")?),
                        CTA_PROTO_SRC_PORT => sport = Some(p.be16("CTA_PROTO_SRC_PORT")?),
                        CTA_PROTO_DST_PORT => dport = Some(p.be16("CTA_PROTO_DST_PORT")?),
                        CTA_PROTO_ICMP_ID | CTA_PROTO_ICMPV6_ID => {
                            icmp_id = Some(p.be16("CTA_PROTO_ICMP_ID")?)
                        }
                        CTA_PROTO_ICMP_TYPE | CTA_PROTO_ICMPV6_TYPE => {
                            icmp_type = Some(p.u8("CTA_PROTO_ICMP_TYPE")?)
                        }
                        CTA_PROTO_ICMP_CODE | CTA_PROTO_ICMPV6_CODE => {
                            icmp_code = Some(p.u8("CTA_PROTO_ICMP_CODE")?)
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let src = src.ok_or(ParseError::Missing("tuple source address"))?;
    let dst = dst.ok_or(ParseError::Missing("tuple destination address"))?;
    if !family.matches(src) || !family.matches(dst) {
        return Err(ParseError::FamilyMismatch);
    }
    let protocol = protocol.ok_or(ParseError::Missing("CTA_PROTO_NUM"))?;
    let l4 = match (sport, dport, icmp_id, icmp_type, icmp_code) {
        (Some(src), Some(dst), ..) => L4Key::Ports { src, dst },
        (_, _, Some(id), Some(kind), Some(code)) => L4Key::Icmp { id, kind, code },
        _ => L4Key::None,
    };
    Ok((protocol, Tuple { src, dst, l4 }))
}

fn decode_protoinfo(attr: &Attr<'_>) -> Result<Option<TcpInfo>, ParseError> {
    let mut out = None;
    for part in attr.nested() {
        let part = part?;
        if part.kind != CTA_PROTOINFO_TCP {
            continue;
        }
        let mut tcp = TcpInfo::default();
        for field in part.nested() {
            let field = field?;
            match field.kind {
                CTA_PROTOINFO_TCP_STATE => tcp.state = field.u8("CTA_PROTOINFO_TCP_STATE")?,
                CTA_PROTOINFO_TCP_WSCALE_ORIGINAL => {
                    tcp.wscale_orig = field.u8("CTA_PROTOINFO_TCP_WSCALE_ORIGINAL")?
                }
                CTA_PROTOINFO_TCP_WSCALE_REPLY => {
                    tcp.wscale_reply = field.u8("CTA_PROTOINFO_TCP_WSCALE_REPLY")?
                }
                CTA_PROTOINFO_TCP_FLAGS_ORIGINAL => {
                    tcp.flags_orig = decode_tcp_flags(&field, "CTA_PROTOINFO_TCP_FLAGS_ORIGINAL")?
                }
                CTA_PROTOINFO_TCP_FLAGS_REPLY => {
                    tcp.flags_reply = decode_tcp_flags(&field, "CTA_PROTOINFO_TCP_FLAGS_REPLY")?
                }
                _ => {}
            }
        }
        out = Some(tcp);
    }
    Ok(out)
}

fn decode_tcp_flags(attr: &Attr<'_>, what: &'static str) -> Result<TcpFlags, ParseError> {
    match attr.payload {
        [flags, mask] => Ok(TcpFlags {
            flags: *flags,
            mask: *mask,
        }),
        other => Err(ParseError::AttrSize {
            what,
            len: other.len(),
            expected: 2,
        }),
    }
}

fn decode_seq_adj(attr: &Attr<'_>) -> Result<SeqAdjDir, ParseError> {
    let mut dir = SeqAdjDir::default();
    for field in attr.nested() {
        let field = field?;
        match field.kind {
            CTA_SEQADJ_CORRECTION_POS => {
                dir.correction_pos = field.be32("CTA_SEQADJ_CORRECTION_POS")?
            }
            // Offsets are the kernel's s32, sent as be32: reinterpret the bits.
            CTA_SEQADJ_OFFSET_BEFORE => {
                dir.offset_before = field.be32("CTA_SEQADJ_OFFSET_BEFORE")? as i32
            }
            CTA_SEQADJ_OFFSET_AFTER => {
                dir.offset_after = field.be32("CTA_SEQADJ_OFFSET_AFTER")? as i32
            }
            _ => {}
        }
    }
    Ok(dir)
}

/// How an entry is put into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    /// `CT_NEW|CREATE|EXCL` with everything, NAT re-created through `CTA_NAT_*`.
    Create,
    /// `CT_NEW` without CREATE/EXCL: changes an existing entry; `with_status` sends
    /// `CTA_STATUS`.
    Update { with_status: bool },
    /// `CT_DELETE` by original tuple (and zone).
    Delete,
}

/// Appends one request for `entry` to `w` (without `NLM_F_ACK`; the caller adds it where a
/// reply is needed).
pub(crate) fn encode_request(
    w: &mut Writer,
    entry: &ConnEntry,
    request: Request,
    seq: u32,
) -> Result<crate::wire::Mark, EncodeError> {
    check_family(entry)?;
    let (cmd, flags) = match request {
        Request::Create => (IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL),
        Request::Update { .. } => (IPCTNL_MSG_CT_NEW, 0),
        Request::Delete => (IPCTNL_MSG_CT_DELETE, 0),
    };
    let msg = w.begin(
        ct_msg_type(cmd),
        NLM_F_REQUEST | flags,
        seq,
        entry.family.af(),
    );
    let result = encode_body(w, entry, request);
    if let Err(e) = result {
        w.truncate(msg);
        return Err(e);
    }
    w.end(msg)?;
    Ok(msg)
}

fn check_family(entry: &ConnEntry) -> Result<(), EncodeError> {
    let f = entry.family;
    let all = [
        entry.orig.src,
        entry.orig.dst,
        entry.reply.src,
        entry.reply.dst,
    ];
    if all.iter().all(|a| f.matches(*a)) {
        Ok(())
    } else {
        Err(EncodeError::FamilyMismatch)
    }
}

fn encode_body(w: &mut Writer, entry: &ConnEntry, request: Request) -> Result<(), EncodeError> {
    encode_tuple(w, CTA_TUPLE_ORIG, entry.protocol, &entry.orig)?;
    if let Some(zone) = entry.zone {
        w.be16(CTA_ZONE, zone);
    }
    if request == Request::Delete {
        return Ok(());
    }
    let nat = request == Request::Create && entry.has_nat();
    let reply = if nat {
        entry.unnatted_reply()
    } else {
        entry.reply
    };
    encode_tuple(w, CTA_TUPLE_REPLY, entry.protocol, &reply)?;
    // CONFIRMED is always sent, as libnetfilter_conntrack does: the kernel marks a new
    // entry confirmed before applying CTA_STATUS and refuses (EBUSY) a status that would
    // clear the bit.
    if matches!(
        request,
        Request::Create | Request::Update { with_status: true }
    ) {
        w.be32(CTA_STATUS, entry.settable_status() | status::CONFIRMED);
    }
    w.be32(CTA_TIMEOUT, entry.timeout);
    if let Some(mark) = entry.mark {
        w.be32(CTA_MARK, mark);
    }
    if let Some(tcp) = entry.tcp {
        let info = w.nest(CTA_PROTOINFO);
        let t = w.nest(CTA_PROTOINFO_TCP);
        w.u8(CTA_PROTOINFO_TCP_STATE, tcp.state);
        w.u8(CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, tcp.wscale_orig);
        w.u8(CTA_PROTOINFO_TCP_WSCALE_REPLY, tcp.wscale_reply);
        w.attr(
            CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
            &[tcp.flags_orig.flags, tcp.flags_orig.mask],
        );
        w.attr(
            CTA_PROTOINFO_TCP_FLAGS_REPLY,
            &[tcp.flags_reply.flags, tcp.flags_reply.mask],
        );
        w.end_nest(t)?;
        w.end_nest(info)?;
    }
    if let Some(adj) = entry.seq_adj {
        encode_seq_adj(w, CTA_SEQ_ADJ_ORIG, &adj.orig)?;
        encode_seq_adj(w, CTA_SEQ_ADJ_REPLY, &adj.reply)?;
    }
    if nat {
        if let Some(target) = entry.src_nat() {
            encode_nat(w, CTA_NAT_SRC, target)?;
        }
        if let Some(target) = entry.dst_nat() {
            encode_nat(w, CTA_NAT_DST, target)?;
        }
    }
    Ok(())
}

use crate::consts::status;

fn encode_tuple(w: &mut Writer, kind: u16, protocol: u8, t: &Tuple) -> Result<(), EncodeError> {
    let tuple = w.nest(kind);
    let ip = w.nest(CTA_TUPLE_IP);
    put_addr(w, CTA_IP_V4_SRC, CTA_IP_V6_SRC, t.src);
    put_addr(w, CTA_IP_V4_DST, CTA_IP_V6_DST, t.dst);
    w.end_nest(ip)?;
    let p = w.nest(CTA_TUPLE_PROTO);
    w.u8(CTA_PROTO_NUM, protocol);
    match t.l4 {
        L4Key::Ports { src, dst } => {
            w.be16(CTA_PROTO_SRC_PORT, src);
            w.be16(CTA_PROTO_DST_PORT, dst);
        }
        L4Key::Icmp { id, kind, code } => {
            let (a_id, a_type, a_code) = match protocol {
                proto::ICMP => (CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE),
                proto::ICMPV6 => (
                    CTA_PROTO_ICMPV6_ID,
                    CTA_PROTO_ICMPV6_TYPE,
                    CTA_PROTO_ICMPV6_CODE,
                ),
                other => return Err(EncodeError::IcmpKeyOnProtocol(other)),
            };
            w.be16(a_id, id);
            w.u8(a_type, kind);
            w.u8(a_code, code);
        }
        L4Key::None => {}
    }
    w.end_nest(p)?;
    w.end_nest(tuple)
}

fn put_addr(w: &mut Writer, v4: u16, v6: u16, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => w.attr(v4, &a.octets()),
        IpAddr::V6(a) => w.attr(v6, &a.octets()),
    }
}

fn encode_nat(
    w: &mut Writer,
    kind: u16,
    target: crate::entry::NatTarget,
) -> Result<(), EncodeError> {
    let nat = w.nest(kind);
    match target.addr {
        IpAddr::V4(a) => {
            w.attr(CTA_NAT_V4_MINIP, &a.octets());
            w.attr(CTA_NAT_V4_MAXIP, &a.octets());
        }
        IpAddr::V6(a) => {
            w.attr(CTA_NAT_V6_MINIP, &a.octets());
            w.attr(CTA_NAT_V6_MAXIP, &a.octets());
        }
    }
    if let Some(port) = target.port {
        let p = w.nest(CTA_NAT_PROTO);
        w.be16(CTA_PROTONAT_PORT_MIN, port);
        w.be16(CTA_PROTONAT_PORT_MAX, port);
        w.end_nest(p)?;
    }
    w.end_nest(nat)
}

fn encode_seq_adj(w: &mut Writer, kind: u16, dir: &SeqAdjDir) -> Result<(), EncodeError> {
    let n = w.nest(kind);
    w.be32(CTA_SEQADJ_CORRECTION_POS, dir.correction_pos);
    w.be32(CTA_SEQADJ_OFFSET_BEFORE, dir.offset_before as u32);
    w.be32(CTA_SEQADJ_OFFSET_AFTER, dir.offset_after as u32);
    w.end_nest(n)
}

/// Appends a whole-table dump request (all families).
pub(crate) fn encode_dump(w: &mut Writer, seq: u32) -> Result<(), EncodeError> {
    let m = w.begin(
        ct_msg_type(IPCTNL_MSG_CT_GET),
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        AF_UNSPEC,
    );
    w.end(m)
}

/// Appends a flush request (`CT_DELETE` without tuple) for all families, with ACK.
pub(crate) fn encode_flush(w: &mut Writer, seq: u32) -> Result<(), EncodeError> {
    let m = w.begin(
        ct_msg_type(IPCTNL_MSG_CT_DELETE),
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        AF_UNSPEC,
    );
    w.end(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Messages;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn sample_tcp() -> ConnEntry {
        let orig = Tuple {
            src: IpAddr::V4(Ipv4Addr::new(10, 99, 0, 100)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 99, 1, 100)),
            l4: L4Key::Ports {
                src: 40000,
                dst: 443,
            },
        };
        ConnEntry {
            family: Family::Ipv4,
            protocol: proto::TCP,
            orig,
            reply: orig.inverted(0, 0),
            status: status::SEEN_REPLY | status::ASSURED | status::CONFIRMED,
            timeout: 431999,
            mark: Some(7),
            zone: Some(3),
            tcp: Some(TcpInfo {
                state: crate::consts::tcp_state::ESTABLISHED,
                wscale_orig: 7,
                wscale_reply: 9,
                flags_orig: TcpFlags::exact(0x23),
                flags_reply: TcpFlags::exact(0x03),
            }),
            seq_adj: Some(SeqAdjust {
                orig: SeqAdjDir {
                    correction_pos: 1000,
                    offset_before: -4,
                    offset_after: 12,
                },
                reply: SeqAdjDir::default(),
            }),
            id: None,
        }
    }

    fn roundtrip(entry: &ConnEntry, request: Request) -> ConnEntry {
        let mut w = Writer::default();
        encode_request(&mut w, entry, request, 1).unwrap();
        let msg = Messages::new(w.bytes()).next().unwrap().unwrap();
        decode_entry(msg.payload).unwrap()
    }

    #[test]
    fn update_request_decodes_to_the_same_entry() {
        let e = sample_tcp();
        let back = roundtrip(&e, Request::Update { with_status: true });
        assert_eq!(back.orig, e.orig);
        assert_eq!(back.reply, e.reply);
        assert_eq!(back.tcp, e.tcp);
        assert_eq!(back.seq_adj, e.seq_adj);
        assert_eq!(
            (back.mark, back.zone, back.timeout),
            (e.mark, e.zone, e.timeout)
        );
        assert_eq!(back.status, e.settable_status() | status::CONFIRMED);
    }

    #[test]
    fn create_sends_unnatted_reply_and_nat_attributes() {
        let mut e = sample_tcp();
        e.reply.dst = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)); // SNAT
        let mut w = Writer::default();
        encode_request(&mut w, &e, Request::Create, 5).unwrap();
        let msg = Messages::new(w.bytes()).next().unwrap().unwrap();
        assert_eq!(msg.flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
        let back = decode_entry(msg.payload).unwrap();
        assert_eq!(back.reply, e.orig.inverted(0, 0));
        let kinds: Vec<u16> = Attrs::new(&msg.payload[4..])
            .map(|a| a.unwrap().kind)
            .collect();
        assert!(kinds.contains(&CTA_NAT_SRC));
        assert!(!kinds.contains(&CTA_NAT_DST));
    }

    #[test]
    fn icmpv6_and_family_checks() {
        let orig = Tuple {
            src: IpAddr::V6(Ipv6Addr::LOCALHOST),
            dst: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            l4: L4Key::Icmp {
                id: 9,
                kind: 128,
                code: 0,
            },
        };
        let e = ConnEntry {
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
        let back = roundtrip(&e, Request::Create);
        assert_eq!(back.orig, e.orig);
        assert_eq!(back.reply, e.reply);
        let mut bad = e.clone();
        bad.family = Family::Ipv4;
        let mut w = Writer::default();
        assert_eq!(
            encode_request(&mut w, &bad, Request::Create, 1),
            Err(EncodeError::FamilyMismatch)
        );
        assert!(w.is_empty());
        let mut bad = e;
        bad.protocol = proto::UDP;
        assert_eq!(
            encode_request(&mut w, &bad, Request::Create, 1).map(|_| ()),
            Err(EncodeError::IcmpKeyOnProtocol(proto::UDP))
        );
        assert!(w.is_empty(), "failed message is rolled back");
    }

    #[test]
    fn delete_carries_only_the_key() {
        let e = sample_tcp();
        let mut w = Writer::default();
        encode_request(&mut w, &e, Request::Delete, 1).unwrap();
        let msg = Messages::new(w.bytes()).next().unwrap().unwrap();
        assert_eq!(msg.kind, ct_msg_type(IPCTNL_MSG_CT_DELETE));
        let kinds: Vec<u16> = Attrs::new(&msg.payload[4..])
            .map(|a| a.unwrap().kind)
            .collect();
        assert_eq!(kinds, vec![CTA_TUPLE_ORIG, CTA_ZONE]);
    }

    fn arb_addr(v6: bool) -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
        ]
        .prop_filter("family", move |a| a.is_ipv6() == v6)
    }

    fn arb_entry() -> impl Strategy<Value = ConnEntry> {
        any::<bool>().prop_flat_map(|v6| {
            let icmp = if v6 { proto::ICMPV6 } else { proto::ICMP };
            (
                prop_oneof![
                    Just(proto::TCP),
                    Just(proto::UDP),
                    Just(icmp),
                    Just(47u8),
                    Just(250u8)
                ],
                proptest::collection::vec(arb_addr(v6), 4),
                any::<[u16; 4]>(),
                any::<(u32, u32, Option<u32>, Option<u16>)>(),
                any::<Option<(u8, u8, u8, [u8; 4])>>(),
                any::<Option<[u32; 6]>>(),
            )
                .prop_map(
                    move |(protocol, addrs, ports, (status, timeout, mark, zone), tcp, adj)| {
                        let key = |a: u16, b: u16| match protocol {
                            proto::ICMP | proto::ICMPV6 => L4Key::from_words(protocol, a, b),
                            250 => L4Key::None,
                            _ => L4Key::Ports { src: a, dst: b },
                        };
                        let dir = |w: &[u32]| SeqAdjDir {
                            correction_pos: w[0],
                            offset_before: w[1] as i32,
                            offset_after: w[2] as i32,
                        };
                        ConnEntry {
                            family: if v6 { Family::Ipv6 } else { Family::Ipv4 },
                            protocol,
                            orig: Tuple {
                                src: addrs[0],
                                dst: addrs[1],
                                l4: key(ports[0], ports[1]),
                            },
                            reply: Tuple {
                                src: addrs[2],
                                dst: addrs[3],
                                l4: key(ports[2], ports[3]),
                            },
                            status,
                            timeout,
                            mark,
                            zone,
                            tcp: tcp.map(|(state, wo, wr, f)| TcpInfo {
                                state,
                                wscale_orig: wo,
                                wscale_reply: wr,
                                flags_orig: TcpFlags {
                                    flags: f[0],
                                    mask: f[1],
                                },
                                flags_reply: TcpFlags {
                                    flags: f[2],
                                    mask: f[3],
                                },
                            }),
                            seq_adj: adj.map(|w| SeqAdjust {
                                orig: dir(&w[..3]),
                                reply: dir(&w[3..]),
                            }),
                            id: None,
                        }
                    },
                )
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn update_requests_roundtrip(entry in arb_entry()) {
            let back = roundtrip(&entry, Request::Update { with_status: true });
            let expected = ConnEntry {
                status: entry.settable_status() | status::CONFIRMED,
                ..entry.clone()
            };
            proptest::prop_assert_eq!(back, expected);
        }
    }

    #[test]
    fn missing_tuples_are_typed_errors() {
        assert!(matches!(
            decode_entry(&[2, 0, 0, 0]),
            Err(ParseError::Missing("CTA_TUPLE_ORIG"))
        ));
        assert!(matches!(
            decode_entry(&[7, 0, 0, 0]),
            Err(ParseError::Family(7))
        ));
        assert!(matches!(
            decode_entry(&[2, 0]),
            Err(ParseError::Truncated { .. })
        ));
    }
}
