//! Ver 1: entry, message and control round trips, the spec's packing table
//! (§5.8), kernel-identical IPVS layout, and each rejection reason.

mod common;

use std::net::Ipv4Addr;

use common::{OwnedEntry, entry, header, sample_ipvs_v4, sample_seq};
use proptest::prelude::*;
use ssyncp_wire::checksum::message_checksum;
use ssyncp_wire::v1::{
    self, Alive, ControlBody, CtFlow, CtTuple, CtTuples, EntryBody, EntryClass, EntryOptions,
    EntryRepr, EntryView, Flags, Header, IpvsAddrs, IpvsConn, MessageType, MessageView,
    MessageWriter, Nack, NackRanges, ResyncReq, SeqRange, Status, emit_control,
    entries_per_message,
};
use ssyncp_wire::{AnyMessage, DecodeError, EmitError, EntryError, parse_any};

const ENTRY_KINDS: &[MessageType] = &[MessageType::Data, MessageType::Bulk];

fn data_header() -> Header {
    Header {
        sync_id: 3,
        kind: MessageType::Data,
        flags: Flags(0),
        sender_id: 0xc000_0201,
        epoch: 1_700_000_000,
        sequence: 42,
    }
}

fn fix_checksum(msg: &mut [u8]) {
    msg[6] = 0;
    msg[7] = 0;
    let sum = message_checksum(msg);
    msg[6..8].copy_from_slice(&sum.to_be_bytes());
}

fn ct_v4(seq: bool) -> EntryRepr<'static> {
    EntryRepr {
        protocol: 6,
        delete: false,
        body: EntryBody::Conntrack(CtFlow {
            status: 0x6,
            l4_state: 3,
            zone: None,
            timeout: 432_000,
            mark: Some(7),
            tuples: CtTuples::V4 {
                orig: CtTuple {
                    src: Ipv4Addr::new(10, 0, 0, 1),
                    dst: Ipv4Addr::new(192, 0, 2, 1),
                    sport: 40000,
                    dport: 443,
                },
                reply: CtTuple {
                    src: Ipv4Addr::new(192, 0, 2, 1),
                    dst: Ipv4Addr::new(198, 51, 100, 1),
                    sport: 443,
                    dport: 40000,
                },
            },
        }),
        options: EntryOptions {
            seq: seq.then(sample_seq),
            ..EntryOptions::default()
        },
    }
}

fn to_v6(entry: EntryRepr<'static>) -> EntryRepr<'static> {
    let v6 = |a: Ipv4Addr| a.to_ipv6_mapped();
    let body = match entry.body {
        EntryBody::Ipvs(mut conn) => {
            if let IpvsAddrs::V4 {
                caddr,
                vaddr,
                daddr,
            } = conn.addrs
            {
                conn.addrs = IpvsAddrs::V6 {
                    caddr: v6(caddr),
                    vaddr: v6(vaddr),
                    daddr: v6(daddr),
                };
            }
            EntryBody::Ipvs(conn)
        }
        EntryBody::Conntrack(mut flow) => {
            if let CtTuples::V4 { orig, reply } = flow.tuples {
                let t = |t: CtTuple<Ipv4Addr>| CtTuple {
                    src: v6(t.src),
                    dst: v6(t.dst),
                    sport: t.sport,
                    dport: t.dport,
                };
                flow.tuples = CtTuples::V6 {
                    orig: t(orig),
                    reply: t(reply),
                };
            }
            EntryBody::Conntrack(flow)
        }
    };
    EntryRepr { body, ..entry }
}

fn with_seq(mut entry: EntryRepr<'static>) -> EntryRepr<'static> {
    entry.options.seq = Some(sample_seq());
    entry
}

/// Packs copies of `entry` until the writer reports Full; returns the count
/// and the message length.
fn pack_uniform(entry: &EntryRepr<'_>, mtu: usize, auth: bool) -> (usize, usize) {
    let mut buf = vec![0u8; 70_000];
    let key = v1::AuthKey::new(3, 1, b"k");
    let mut writer = if auth {
        MessageWriter::new_authenticated(&mut buf, mtu, &data_header(), &key).unwrap()
    } else {
        MessageWriter::new(&mut buf, mtu, &data_header()).unwrap()
    };
    loop {
        match writer.push(entry) {
            Ok(()) => {}
            Err(EmitError::Full) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    let count = writer.count();
    let msg = writer.finish();
    let view = MessageView::parse(msg).unwrap();
    assert_eq!(usize::from(view.count()), count);
    assert_eq!(view.entries().count(), count);
    (count, msg.len())
}

#[test]
fn packing_table_matches_spec() {
    // Spec §5.8: aligned entry size, then entries per message for
    // MTU 1500, 1500 + AUTH, 9000, 9000 + AUTH.
    let table: [(&str, EntryRepr<'static>, usize, [usize; 4]); 8] = [
        ("IPVS v4", sample_ipvs_v4(1), 36, [40, 40, 248, 248]),
        (
            "IPVS v4 + SEQ",
            with_seq(sample_ipvs_v4(1)),
            64,
            [22, 22, 140, 139],
        ),
        ("IPVS v6", to_v6(sample_ipvs_v4(1)), 72, [20, 20, 124, 124]),
        (
            "IPVS v6 + SEQ",
            with_seq(to_v6(sample_ipvs_v4(1))),
            100,
            [14, 14, 89, 89],
        ),
        ("CT v4", ct_v4(false), 44, [33, 32, 203, 203]),
        ("CT v4 + SEQ", ct_v4(true), 72, [20, 20, 124, 124]),
        ("CT v6", to_v6(ct_v4(false)), 92, [15, 15, 97, 97]),
        ("CT v6 + SEQ", to_v6(ct_v4(true)), 120, [12, 12, 74, 74]),
    ];
    let columns = [(1500, false), (1500, true), (9000, false), (9000, true)];
    for (name, entry, aligned, expected) in table {
        assert_eq!(entry.padded_len(), aligned, "{name}: aligned size");
        for ((mtu, auth), want) in columns.into_iter().zip(expected) {
            assert_eq!(
                entries_per_message(mtu, aligned, auth),
                want,
                "{name} formula at {mtu} auth={auth}"
            );
            let (count, len) = pack_uniform(&entry, mtu, auth);
            assert_eq!(count, want, "{name} packed at {mtu} auth={auth}");
            assert!(len + 20 <= mtu, "{name}: message fits the MTU");
            assert!(
                count == 255 || len + aligned + 20 > mtu,
                "{name}: one more would not fit"
            );
        }
    }
}

#[test]
fn count_caps_at_255() {
    assert_eq!(entries_per_message(65_000, 36, false), 255);
    let (count, _) = pack_uniform(&sample_ipvs_v4(1), 65_000, false);
    assert_eq!(count, 255);
}

#[test]
fn ipvs_v4_entry_is_the_kernel_v1_layout() {
    let entry = EntryRepr {
        protocol: 6,
        delete: false,
        body: EntryBody::Ipvs(IpvsConn {
            flags: 0x0000_0100,
            state: 1,
            cport: 0x9c40,
            vport: 80,
            dport: 8080,
            fwmark: 0x11,
            timeout: 900,
            addrs: IpvsAddrs::V4 {
                caddr: Ipv4Addr::new(10, 0, 0, 5),
                vaddr: Ipv4Addr::new(192, 0, 2, 10),
                daddr: Ipv4Addr::new(198, 51, 100, 7),
            },
        }),
        options: EntryOptions {
            seq: Some(sample_seq()),
            ..EntryOptions::default()
        },
    };
    let mut buf = [0xffu8; 64];
    assert_eq!(entry.emit(&mut buf), Ok(64));
    let mut expected = vec![
        0x00, 0x06, 0x00, 62, // type v4, TCP, ver 0 | size 62
        0x00, 0x00, 0x01, 0x00, // flags
        0x00, 0x01, 0x9c, 0x40, 0x00, 0x50, 0x1f, 0x90, // state, cport, vport, dport
        0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x03, 0x84, // fwmark, timeout
        10, 0, 0, 5, 192, 0, 2, 10, 198, 51, 100, 7, // addresses
        1, 24, // SEQ option header
    ];
    for word in [
        0x1122_3344u32,
        (-12i32) as u32,
        4,
        0x5566_7788,
        30,
        (-1i32) as u32,
    ] {
        expected.extend_from_slice(&word.to_be_bytes());
    }
    expected.extend_from_slice(&[0, 0]); // padding to 64
    assert_eq!(&buf[..], &expected[..]);
}

#[test]
fn options_unknown_optional_skipped_unknown_mandatory_dropped() {
    let base = sample_ipvs_v4(1);
    let mut buf = [0u8; 64];
    base.emit(&mut buf).unwrap();
    // Append an unknown optional option 0x7f, len 2, then fix the size.
    let mut entry = buf[..36].to_vec();
    entry.extend_from_slice(&[0x7f, 2, 0xaa, 0xbb]);
    entry[3] = 40;
    let (view, padded) = EntryView::parse(&entry, 0).unwrap();
    assert_eq!(padded, 40);
    assert_eq!(view.options().count(), 1);
    assert_eq!(view.repr().unwrap(), base);

    entry[36] = 0x3f; // same, but mandatory
    let (view, _) = EntryView::parse(&entry, 0).unwrap();
    assert_eq!(view.repr(), Err(EntryError::UnknownMandatoryOption(0x3f)));
}

#[test]
fn experimental_entries_are_carried_opaquely() {
    let raw = [0xf0, 0x00, 0x00, 0x06, 0xde, 0xad, 0x00, 0x00];
    let (view, padded) = EntryView::parse(&raw, 0).unwrap();
    assert_eq!(
        (view.class(), view.size(), padded),
        (EntryClass::Experimental, 6, 8)
    );
    assert_eq!(view.repr(), Err(EntryError::ExperimentalClass));
    let mut buf = [0u8; 200];
    let mut writer = MessageWriter::new(&mut buf, 1500, &data_header()).unwrap();
    writer.push_view(&view).unwrap();
    writer.push(&sample_ipvs_v4(2)).unwrap();
    let msg = writer.finish();
    let parsed = MessageView::parse(msg).unwrap();
    let entries: Vec<_> = parsed.entries().collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].as_bytes(), &raw[..6]);
    assert_eq!(entries[1].repr().unwrap(), sample_ipvs_v4(2));
}

#[test]
fn emit_rejects_bad_options_and_types() {
    let long = [0u8; 17];
    let mut entry = sample_ipvs_v4(1);
    entry.options.pe_name = Some(&long);
    assert_eq!(
        entry.emit(&mut [0u8; 128]),
        Err(EmitError::OptionLength { kind: 3, len: 17 })
    );
    entry.options.pe_name = None;
    entry.options.labels = Some(&long[..6]);
    assert_eq!(
        entry.emit(&mut [0u8; 128]),
        Err(EmitError::OptionLength { kind: 0x46, len: 6 })
    );
    let mut buf = [0u8; 100];
    let mut h = data_header();
    h.kind = MessageType::Alive;
    assert_eq!(
        MessageWriter::new(&mut buf, 1500, &h).err(),
        Some(EmitError::TypeMismatch)
    );
    assert_eq!(
        emit_control(
            &mut buf,
            &data_header(),
            &ControlBody::Alive(Alive { live_entries: 1 })
        )
        .err(),
        Some(EmitError::TypeMismatch)
    );
    h = data_header();
    h.flags = Flags(0x08);
    assert_eq!(
        MessageWriter::new(&mut buf, 1500, &h).err(),
        Some(EmitError::ReservedFlags(0x08))
    );
    assert_eq!(
        MessageWriter::new(&mut buf, 39, &data_header()).err(),
        Some(EmitError::MtuTooSmall(39))
    );
    let empty = ControlBody::Nack(Nack {
        target_sender: 1,
        target_epoch: 1,
        ranges: NackRanges::new(),
    });
    h.kind = MessageType::Nack;
    h.flags = Flags(0);
    assert_eq!(
        emit_control(&mut buf, &h, &empty).err(),
        Some(EmitError::BadNackCount(0))
    );
    let mut full = NackRanges::new();
    for i in 0..64 {
        full.push(SeqRange { from: i, to: i }).unwrap();
    }
    assert!(full.push(SeqRange::default()).is_err());
}

/// A valid DATA message with two entries (the second with a SEQ option).
fn good_data() -> Vec<u8> {
    let mut buf = [0u8; 400];
    let mut writer = MessageWriter::new(&mut buf, 1500, &data_header()).unwrap();
    writer.push(&sample_ipvs_v4(1)).unwrap();
    writer.push(&ct_v4(true)).unwrap();
    writer.finish().to_vec()
}

#[test]
fn rejections() {
    let good = good_data();
    assert!(matches!(parse_any(&good), Ok(AnyMessage::V1(_))));
    let first = 20; // first entry
    let second = 20 + 36; // second entry (CT v4 + SEQ, 70 bytes + 2 pad)
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = good.clone();
        f(&mut m);
        fix_checksum(&mut m);
        MessageView::parse(&m).map(|_| ())
    };

    assert_eq!(
        MessageView::parse(&good[..3]),
        Err(DecodeError::TooShort { len: 3, min: 20 })
    );
    assert!(matches!(
        MessageView::parse(&good[..40]),
        Err(DecodeError::SizeMismatch { .. })
    ));
    let mut bad = good.clone();
    bad[10] ^= 1;
    assert!(matches!(
        MessageView::parse(&bad),
        Err(DecodeError::BadChecksum { .. })
    ));
    assert_eq!(
        edit(&|m| m[4] = 0x20),
        Err(DecodeError::UnsupportedVersion(2))
    );
    assert_eq!(
        edit(&|m| m[4] = 0x16),
        Err(DecodeError::UnknownMessageType(6))
    );
    assert_eq!(
        edit(&|m| m[5] = 0x28),
        Err(DecodeError::ReservedFlags(0x28))
    );
    // With AUTH set, the last 20 bytes (entry data here) are read as a trailer.
    assert!(matches!(
        edit(&|m| m[5] = 0x01),
        Err(DecodeError::UnsupportedAuthAlgorithm(_))
    ));
    assert_eq!(
        edit(&|m| m[0] = 3),
        Err(DecodeError::EntryOverrun { index: 2 })
    );
    assert_eq!(
        edit(&|m| m[0] = 1),
        Err(DecodeError::TrailingBytes { extra: 72 })
    );
    assert_eq!(
        edit(&|m| m[first] = 0x20),
        Err(DecodeError::UnknownEntryType {
            index: 0,
            value: 0x20
        })
    );
    assert_eq!(
        edit(&|m| m[first] = 0x04),
        Err(DecodeError::UnknownEntryType {
            index: 0,
            value: 0x04
        })
    );
    assert_eq!(
        edit(&|m| m[first + 2] = 0x10),
        Err(DecodeError::EntryVersion {
            index: 0,
            version: 1
        })
    );
    assert_eq!(
        edit(&|m| m[first + 3] = 32),
        Err(DecodeError::EntryTooSmall {
            index: 0,
            size: 32,
            min: 36
        })
    );
    assert_eq!(
        edit(&|m| m[second + 71] = 1),
        Err(DecodeError::NonZeroPadding { index: 1 })
    );
    // SEQ option header of entry 1 sits at second + 44.
    assert_eq!(
        edit(&|m| m[second + 45] = 0),
        Err(DecodeError::OptionZeroLength { index: 1, kind: 1 })
    );
    assert_eq!(
        edit(&|m| m[second + 45] = 25),
        Err(DecodeError::OptionOverrun { index: 1, kind: 1 })
    );
    assert_eq!(
        edit(&|m| {
            // Shrink SEQ to 10 bytes and fill the rest with a second option.
            m[second + 45] = 10;
            m[second + 56] = 0x44;
            m[second + 57] = 12;
        }),
        Err(DecodeError::OptionLength {
            index: 1,
            kind: 1,
            len: 10
        })
    );
    // A second SEQ option appended to an IPVS entry that already has one.
    let mut dup = [0u8; 64];
    with_seq(sample_ipvs_v4(1)).emit(&mut dup).unwrap();
    let mut dup = dup[..62].to_vec();
    dup.extend_from_within(36..62);
    dup[3] = 88;
    assert_eq!(
        EntryView::parse(&dup, 0).err(),
        Some(DecodeError::DuplicateOption { index: 0, kind: 1 })
    );
    assert_eq!(
        edit(&|m| {
            m[second + 44] = 0x7f;
            m[second + 45] = 10;
            m[second + 56] = 0x7e;
            m[second + 57] = 13;
        }),
        Err(DecodeError::OptionOverrun {
            index: 1,
            kind: 0x7e
        })
    );
    // Unaligned size: drop the last 2 bytes and fix Size.
    let mut m = good[..good.len() - 2].to_vec();
    let len = m.len() as u16;
    m[2..4].copy_from_slice(&len.to_be_bytes());
    fix_checksum(&mut m);
    assert_eq!(MessageView::parse(&m), Err(DecodeError::Unaligned(len)));

    // Control bodies.
    let mut buf = [0u8; 64];
    let mut h = data_header();
    h.kind = MessageType::Alive;
    let alive = emit_control(&mut buf, &h, &ControlBody::Alive(Alive { live_entries: 9 }))
        .unwrap()
        .to_vec();
    let edit_alive = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = alive.clone();
        f(&mut m);
        fix_checksum(&mut m);
        MessageView::parse(&m).map(|_| ())
    };
    assert_eq!(edit_alive(&|m| m[0] = 1), Err(DecodeError::CountNotZero(1)));
    assert_eq!(
        edit_alive(&|m| m[4] = 0x12),
        Err(DecodeError::BadNackCount(0))
    );
    assert_eq!(
        edit_alive(&|m| m[4] = 0x15),
        Err(DecodeError::BodyLength {
            expected: 16,
            actual: 4
        })
    );
    assert_eq!(
        edit_alive(&|m| {
            m[4] = 0x12;
            m[0] = 65;
        }),
        Err(DecodeError::BadNackCount(65))
    );
}

#[test]
fn trailer_rejections() {
    let key = v1::AuthKey::new(3, 1, b"secret");
    let mut buf = [0u8; 200];
    let mut writer =
        MessageWriter::new_authenticated(&mut buf, 1500, &data_header(), &key).unwrap();
    writer.push(&sample_ipvs_v4(1)).unwrap();
    let good = writer.finish().to_vec();
    assert_eq!(good.len(), 20 + 36 + 20);
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = good.clone();
        f(&mut m);
        fix_checksum(&mut m);
        MessageView::parse(&m).map(|_| ())
    };
    let t = good.len() - 20;
    assert_eq!(
        edit(&|m| m[t + 1] = 2),
        Err(DecodeError::UnsupportedAuthAlgorithm(2))
    );
    assert_eq!(
        edit(&|m| m[t + 3] = 1),
        Err(DecodeError::TrailerReservedNonZero(1))
    );
    // AUTH flag on a message too short for a trailer.
    let mut h = data_header();
    h.kind = MessageType::Alive;
    let mut small = emit_control(&mut buf, &h, &ControlBody::Alive(Alive { live_entries: 0 }))
        .unwrap()
        .to_vec();
    small[5] = Flags::AUTH;
    fix_checksum(&mut small);
    assert_eq!(MessageView::parse(&small), Err(DecodeError::MissingTrailer));
}

fn control_body() -> impl Strategy<Value = ControlBody> {
    let range = any::<(u32, u32)>().prop_map(|(from, to)| SeqRange { from, to });
    prop_oneof![
        (
            any::<(u32, u32)>(),
            proptest::collection::vec(range, 1..=64)
        )
            .prop_map(|((s, e), ranges)| {
                ControlBody::Nack(Nack {
                    target_sender: s,
                    target_epoch: e,
                    ranges: NackRanges::from_slice(&ranges).unwrap(),
                })
            }),
        any::<(u32, u32)>().prop_map(|(target_sender, target_epoch)| ControlBody::ResyncReq(
            ResyncReq {
                target_sender,
                target_epoch
            }
        )),
        any::<u32>().prop_map(|live_entries| ControlBody::Alive(Alive { live_entries })),
        any::<(u32, u32, u32, u32)>().prop_map(|(a, b, c, d)| ControlBody::Status(Status {
            target_sender: a,
            target_epoch: b,
            highest_contiguous: c,
            flags: d
        })),
    ]
}

proptest! {
    // 256 cases (the default) unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn entry_round_trip(owned in entry()) {
        let repr = owned.repr();
        let mut buf = vec![0xeeu8; 1024];
        let padded = repr.emit(&mut buf).unwrap();
        prop_assert_eq!(padded, repr.padded_len());
        prop_assert_eq!(padded % 4, 0);
        let size = u16::from_be_bytes([buf[2], buf[3]]);
        prop_assert_eq!(usize::from(size), repr.buffer_len());
        prop_assert!(buf[repr.buffer_len()..padded].iter().all(|&b| b == 0));
        let (back, back_padded) = EntryRepr::parse(&buf[..padded]).unwrap();
        prop_assert_eq!(back, repr);
        prop_assert_eq!(back_padded, padded);
        let (view, _) = EntryView::parse(&buf, 0).unwrap();
        prop_assert_eq!(view.is_ipv6(), repr.is_ipv6());
        prop_assert_eq!(view.is_delete(), owned.delete);
        prop_assert_eq!(view.type_byte(), repr.type_byte());
    }

    #[test]
    fn data_message_round_trip(
        h in header(ENTRY_KINDS),
        entries in proptest::collection::vec(entry(), 0..24),
        mtu in 100usize..3000,
        auth in any::<bool>(),
    ) {
        let key = v1::AuthKey::new(h.sync_id, 4, b"round-trip key");
        let mut buf = vec![0u8; 4096];
        let mut writer = if auth {
            MessageWriter::new_authenticated(&mut buf, mtu, &h, &key).unwrap()
        } else {
            MessageWriter::new(&mut buf, mtu, &h).unwrap()
        };
        let mut packed = 0;
        for e in &entries {
            match writer.push(&e.repr()) {
                Ok(()) => packed += 1,
                Err(EmitError::Full) => break,
                Err(other) => panic!("{other:?}"),
            }
        }
        let msg = writer.finish();
        prop_assert!(msg.len() + 20 <= mtu);
        let view = MessageView::parse(msg).unwrap();
        let mut expect = h;
        if auth {
            expect.flags.0 |= Flags::AUTH;
            prop_assert_eq!(view.verify(&key), Ok(()));
            prop_assert_eq!(view.trailer().map(|t| t.key_id), Some(4));
        } else {
            prop_assert!(view.trailer().is_none());
        }
        prop_assert_eq!(view.header(), expect);
        prop_assert!(view.control().is_none());
        let back: Vec<EntryRepr<'_>> = view.entries().map(|e| e.repr().unwrap()).collect();
        let want: Vec<EntryRepr<'_>> = entries[..packed].iter().map(OwnedEntry::repr).collect();
        prop_assert_eq!(back, want);
    }

    #[test]
    fn control_round_trip(mut h in header(&[MessageType::Nack]), body in control_body(), auth in any::<bool>()) {
        h.kind = body.message_type();
        let key = v1::AuthKey::new(h.sync_id, 9, b"control key");
        let mut buf = [0u8; 700];
        let msg = if auth {
            v1::emit_control_authenticated(&mut buf, &h, &body, &key).unwrap()
        } else {
            emit_control(&mut buf, &h, &body).unwrap()
        };
        prop_assert_eq!(msg.len(), 20 + body.buffer_len() + if auth { 20 } else { 0 });
        let view = MessageView::parse(msg).unwrap();
        prop_assert_eq!(view.control(), Some(body));
        prop_assert_eq!(view.entries().count(), 0);
        prop_assert_eq!(usize::from(view.count()), body.count());
        prop_assert_eq!(view.header().flags.contains(Flags::AUTH), auth);
        if auth {
            prop_assert_eq!(view.verify(&key), Ok(()));
        }
        let (peeked, count) = v1::peek_header(msg).unwrap();
        prop_assert_eq!(peeked, view.header());
        prop_assert_eq!(count, view.count());
    }
}
