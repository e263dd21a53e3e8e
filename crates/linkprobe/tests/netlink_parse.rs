//! rtnetlink parsing and the link table's dump/overrun bookkeeping, on crafted bytes.

mod common;

use common::nlmsg::*;
use linkprobe::netlink::parse::{Body, parse_datagram};
use linkprobe::*;
use proptest::prelude::*;

fn name(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

#[test]
fn parses_a_newlink_with_all_fields() {
    let bytes = link(16, 0, 4, "veth0", UP_RUNNING);
    let messages: Vec<_> = parse_datagram(&bytes).collect();
    assert_eq!(messages.len(), 1);
    let message = messages[0].as_ref().unwrap();
    assert_eq!(message.header.kind, 16);
    assert_eq!(message.header.len as usize, bytes.len());
    let Body::NewLink(info) = &message.body else {
        panic!("{message:?}")
    };
    assert_eq!(info.ifindex, 4);
    assert_eq!(info.family, 0);
    assert_eq!(info.flags, UP_RUNNING);
    assert_eq!(info.ifname, Some(name("veth0")));
    assert_eq!(info.operstate, Some(OperState::Up));
    assert_eq!(info.carrier, Some(true));
}

#[test]
fn parses_several_messages_in_one_datagram() {
    let mut bytes = link(16, 5, 1, "lo", 0x49);
    bytes.extend(link(16, 5, 2, "eth0", UP_NO_CARRIER));
    bytes.extend(done(5));
    let bodies: Vec<_> = parse_datagram(&bytes).map(|m| m.unwrap().body).collect();
    assert!(matches!(
        bodies[..],
        [Body::NewLink(_), Body::NewLink(_), Body::Done]
    ));
    let Body::NewLink(eth0) = &bodies[1] else {
        unreachable!()
    };
    assert_eq!(eth0.operstate, Some(OperState::Down));
    assert_eq!(eth0.carrier, Some(false));
}

#[test]
fn error_messages_carry_a_positive_errno() {
    let bytes = error(9, libc::EBUSY);
    let message = parse_datagram(&bytes).next().unwrap().unwrap();
    assert_eq!(message.body, Body::Error { errno: libc::EBUSY });
    assert_eq!(message.header.seq, 9);
}

#[test]
fn malformed_inputs_give_precise_errors() {
    // Header cut short.
    let bytes = link(16, 0, 4, "veth0", UP_RUNNING);
    assert_eq!(
        parse_datagram(&bytes[..10]).collect::<Vec<_>>(),
        [Err(ParseError::TruncatedHeader { have: 10 })]
    );
    // nlmsg_len longer than the datagram.
    assert_eq!(
        parse_datagram(&bytes[..40]).collect::<Vec<_>>(),
        [Err(ParseError::BadLength {
            len: bytes.len() as u32,
            have: 40
        })]
    );
    // nlmsg_len below the header size.
    let mut tiny = bytes.clone();
    tiny[..4].copy_from_slice(&8u32.to_ne_bytes());
    assert!(matches!(
        parse_datagram(&tiny).next(),
        Some(Err(ParseError::BadLength { len: 8, .. }))
    ));
    // ifinfomsg cut short.
    let short = message(16, 0, 0, &[0u8; 10]);
    assert_eq!(
        parse_datagram(&short).next(),
        Some(Err(ParseError::TruncatedBody {
            kind: 16,
            have: 10,
            need: 16
        }))
    );
    // Attribute length runs past the message.
    let mut body = link_body(0, 3, 0, &[Attr(3, b"eth0\0")]);
    let at = 16;
    body[at..at + 2].copy_from_slice(&200u16.to_ne_bytes());
    assert!(matches!(
        parse_datagram(&message(16, 0, 0, &body)).next(),
        Some(Err(ParseError::BadAttribute {
            offset: 0,
            len: 200,
            ..
        }))
    ));
    // Attribute length below the attribute header.
    body[at..at + 2].copy_from_slice(&2u16.to_ne_bytes());
    assert!(matches!(
        parse_datagram(&message(16, 0, 0, &body)).next(),
        Some(Err(ParseError::BadAttribute { len: 2, .. }))
    ));
    // Wrong-size operstate, bad name, bad index.
    let bad_oper = link_body(0, 3, 0, &[Attr(16, &[1, 2])]);
    assert_eq!(
        parse_datagram(&message(16, 0, 0, &bad_oper)).next(),
        Some(Err(ParseError::BadAttributeSize { kind: 16, len: 2 }))
    );
    let bad_name = link_body(0, 3, 0, &[Attr(3, b"a/b\0")]);
    assert_eq!(
        parse_datagram(&message(16, 0, 0, &bad_name)).next(),
        Some(Err(ParseError::BadName(IfNameError::ForbiddenChar('/'))))
    );
    let bad_index = link_body(0, -3, 0, &[]);
    assert_eq!(
        parse_datagram(&message(16, 0, 0, &bad_index)).next(),
        Some(Err(ParseError::BadIndex(-3)))
    );
}

#[test]
fn a_bad_body_does_not_hide_the_next_message() {
    let mut bytes = message(16, 0, 0, &[0u8; 4]);
    bytes.extend(link(16, 0, 2, "eth0", UP_RUNNING));
    let results: Vec<_> = parse_datagram(&bytes).collect();
    assert!(results[0].is_err());
    assert!(matches!(results[1], Ok(ref m) if matches!(m.body, Body::NewLink(_))));
}

fn events(table: &mut LinkTable, datagram: &[u8]) -> Vec<NetlinkEvent> {
    let mut out = Vec::new();
    table.handle_datagram(datagram, &mut out);
    out
}

fn link_events(events: &[NetlinkEvent]) -> Vec<(u32, LinkState, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            NetlinkEvent::Link(change) => Some((
                change.ifindex,
                change.status.state,
                change.status.evidence == Evidence::Absent,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn table_initial_dump_then_notifications() {
    let mut table = LinkTable::default();
    let request = table.take_dump_request().expect("initial dump wanted");
    let seq = request_seq(&request);
    assert!(table.take_dump_request().is_none(), "one dump at a time");
    let mut dump = link(16, seq, 1, "lo", 0x49);
    dump.extend(link(16, seq, 4, "veth0", UP_RUNNING));
    assert_eq!(
        link_events(&events(&mut table, &dump)),
        [(1, LinkState::Up, false), (4, LinkState::Up, false)]
    );
    assert!(!table.is_synchronized());
    assert_eq!(events(&mut table, &done(seq)), [NetlinkEvent::Synchronized]);
    assert!(table.is_synchronized());

    // Peer goes down: IFF_RUNNING cleared, carrier 0, operstate LOWERLAYERDOWN.
    let down = link(16, 0, 4, "veth0", UP_NO_CARRIER);
    let out = events(&mut table, &down);
    match &out[..] {
        [NetlinkEvent::Link(change)] => {
            assert_eq!(change.ifname, Some(name("veth0")));
            assert_eq!(change.previous, Some(LinkState::Up));
            assert_eq!(change.status.state, LinkState::Down);
            assert_eq!(change.status.method, Method::Netlink);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(out[0].as_link(), Some((&name("veth0"), LinkState::Down)));
    // A repeat with nothing relevant changed is not reported.
    assert!(events(&mut table, &down).is_empty());
    let mut probe = LinkStatusLookup(&table);
    assert_eq!(probe.get("veth0"), Some(LinkState::Down));

    // Deletion.
    let out = events(&mut table, &link(17, 0, 4, "veth0", UP_NO_CARRIER));
    assert_eq!(link_events(&out), [(4, LinkState::Down, true)]);
    probe = LinkStatusLookup(&table);
    assert_eq!(probe.get("veth0"), None);
}

struct LinkStatusLookup<'a>(&'a LinkTable);
impl LinkStatusLookup<'_> {
    fn get(&self, ifname: &str) -> Option<LinkState> {
        self.0.status_by_name(&name(ifname)).map(|(_, s)| s.state)
    }
}

#[test]
fn bridge_port_messages_are_not_device_state() {
    let mut table = LinkTable::default();
    let seq = request_seq(&table.take_dump_request().unwrap());
    events(&mut table, &link(16, seq, 4, "veth0", UP_RUNNING));
    events(&mut table, &done(seq));
    let bridge_del = message(17, 0, 0, &link_body(7, 4, 0, &[Attr(3, b"veth0\0")]));
    assert!(events(&mut table, &bridge_del).is_empty());
    assert_eq!(table.status_by_index(4).unwrap().state, LinkState::Up);
}

#[test]
fn overrun_triggers_a_redump_that_reveals_missed_changes() {
    let mut table = LinkTable::default();
    let seq = request_seq(&table.take_dump_request().unwrap());
    let mut dump = link(16, seq, 4, "veth0", UP_RUNNING);
    dump.extend(link(16, seq, 5, "veth1", UP_RUNNING));
    events(&mut table, &dump);
    events(&mut table, &done(seq));

    // Notifications were lost: veth0 went down and veth1 was deleted meanwhile.
    let mut out = Vec::new();
    table.handle_overrun(&mut out);
    assert_eq!(out, [NetlinkEvent::Overrun]);
    assert_eq!(out[0].as_link(), None);
    assert!(!table.is_synchronized());
    assert_eq!(table.overruns(), 1);
    let seq2 = request_seq(&table.take_dump_request().expect("re-dump"));
    assert_ne!(seq2, seq);
    let out = events(&mut table, &link(16, seq2, 4, "veth0", UP_NO_CARRIER));
    assert_eq!(link_events(&out), [(4, LinkState::Down, false)]);
    let out = events(&mut table, &done(seq2));
    assert_eq!(link_events(&out), [(5, LinkState::Down, true)]);
    assert_eq!(out.last(), Some(&NetlinkEvent::Synchronized));
    assert!(table.is_synchronized());
    assert_eq!(table.len(), 1);
}

#[test]
fn overrun_during_a_dump_queues_another_dump() {
    let mut table = LinkTable::default();
    let seq = request_seq(&table.take_dump_request().unwrap());
    let mut out = Vec::new();
    table.handle_overrun(&mut out);
    assert!(table.take_dump_request().is_none(), "still one in flight");
    let out = events(&mut table, &done(seq));
    assert!(!out.contains(&NetlinkEvent::Synchronized));
    let seq2 = request_seq(&table.take_dump_request().expect("queued dump"));
    assert_eq!(
        events(&mut table, &done(seq2)),
        [NetlinkEvent::Synchronized]
    );
}

#[test]
fn links_changed_during_a_dump_are_not_taken_as_vanished() {
    let mut table = LinkTable::default();
    let seq = request_seq(&table.take_dump_request().unwrap());
    events(&mut table, &done(seq));
    let mut out = Vec::new();
    table.handle_overrun(&mut out);
    let seq2 = request_seq(&table.take_dump_request().unwrap());
    // A link created while the dump runs, announced by notification only.
    events(&mut table, &link(16, 0, 8, "new0", UP_RUNNING));
    let out = events(&mut table, &done(seq2));
    assert_eq!(out, [NetlinkEvent::Synchronized]);
    assert!(table.status_by_index(8).is_some());
}

#[test]
fn interrupted_or_busy_dumps_are_retried_and_other_errors_reported() {
    let mut table = LinkTable::default();
    let seq = request_seq(&table.take_dump_request().unwrap());
    assert!(events(&mut table, &error(seq, libc::EBUSY)).is_empty());
    let seq2 = request_seq(&table.take_dump_request().expect("retry after EBUSY"));
    // NLM_F_DUMP_INTR on the DONE: inconsistent, dump again.
    let mut intr = done(seq2);
    intr[6..8].copy_from_slice(&(0x2u16 | 0x10).to_ne_bytes());
    assert!(events(&mut table, &intr).is_empty());
    let seq3 = request_seq(&table.take_dump_request().expect("retry after DUMP_INTR"));
    assert_eq!(
        events(&mut table, &error(seq3, libc::EPERM)),
        [NetlinkEvent::DumpFailed { errno: libc::EPERM }]
    );
    assert!(table.take_dump_request().is_none());
}

#[test]
fn table_size_is_capped() {
    let mut table = LinkTable::new(2);
    for index in 1..=5 {
        events(
            &mut table,
            &link(16, 0, index, &format!("d{index}"), UP_RUNNING),
        );
    }
    assert_eq!(table.len(), 2);
    assert_eq!(table.ignored_links(), 3);
}

#[test]
fn malformed_messages_become_events() {
    let mut table = LinkTable::default();
    let out = events(&mut table, &[1, 2, 3]);
    assert_eq!(
        out,
        [NetlinkEvent::Malformed(ParseError::TruncatedHeader {
            have: 3
        })]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let count = parse_datagram(&bytes).count();
        // Every message is at least 16 bytes, plus at most one trailing error.
        prop_assert!(count <= bytes.len() / 16 + 1);
        let mut table = LinkTable::new(16);
        let mut out = Vec::new();
        table.handle_datagram(&bytes, &mut out);
        prop_assert!(table.len() <= 16);
    }

    #[test]
    fn every_truncation_of_valid_messages_is_handled(
        index in 1i32..1000,
        flags in any::<u32>(),
        cut in 0usize..200,
        noise in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = link(16, 0, index, "eth0", flags);
        bytes.extend(done(1));
        let full: Vec<_> = parse_datagram(&bytes).collect();
        prop_assert!(full.iter().all(Result::is_ok));
        let cut = cut.min(bytes.len());
        let mut damaged = bytes[..cut].to_vec();
        damaged.extend(&noise);
        for message in parse_datagram(&damaged).flatten() {
            prop_assert!((message.header.len as usize) <= damaged.len());
        }
    }

    #[test]
    fn flipped_bytes_in_a_valid_message_never_panic(
        position in 0usize..64,
        value in any::<u8>(),
    ) {
        let mut bytes = link(16, 0, 3, "veth0", UP_RUNNING);
        let at = position % bytes.len();
        bytes[at] = value;
        let _ = parse_datagram(&bytes).count();
        let mut table = LinkTable::default();
        let mut out = Vec::new();
        table.handle_datagram(&bytes, &mut out);
    }
}
