//! Ver 0 (2002 sketch): round trips, the sketch's packing limits, and each
//! rejection reason.

mod common;

use common::{sample_v0_conn, v0_conn};
use proptest::prelude::*;
use ssyncp_wire::checksum::message_checksum;
use ssyncp_wire::v0::{self, Conn, MessageView, MessageWriter};
use ssyncp_wire::{AnyMessage, DecodeError, EmitError, parse_any};

fn pack_all(conns: &[Conn], sync_id: u8) -> (Vec<u8>, usize) {
    let mut buf = [0u8; 2048];
    let mut writer = MessageWriter::new(&mut buf, sync_id).unwrap();
    let mut packed = 0;
    for conn in conns {
        match writer.push(conn) {
            Ok(()) => packed += 1,
            Err(EmitError::Full) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    (writer.finish().to_vec(), packed)
}

/// Rewrites the checksum after a deliberate edit, so the intended check fires.
fn fix_checksum(msg: &mut [u8]) {
    msg[6] = 0;
    msg[7] = 0;
    let sum = message_checksum(msg);
    msg[6..8].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn sketch_limits_from_the_seed() {
    // Seed 004: "50 * 24 + 8 = 1208 Bytes"; "maximum ... per adverts is 25" with SEQ.
    assert_eq!(v0::MAX_ENTRIES, 50);
    assert_eq!(v0::MAX_MESSAGE_LEN, 50 * 24 + 8);
    assert_eq!(v0::MAX_MESSAGE_LEN, 1208);

    let plain: Vec<Conn> = (0..80).map(|n| sample_v0_conn(n, false)).collect();
    let (msg, packed) = pack_all(&plain, 9);
    assert_eq!(packed, 50);
    assert_eq!(msg.len(), 1208);

    let seq: Vec<Conn> = (0..80).map(|n| sample_v0_conn(n, true)).collect();
    let (msg, packed) = pack_all(&seq, 9);
    assert_eq!(packed, 25);
    assert_eq!(msg.len(), 8 + 25 * 48);

    // Mixed: 10 SEQ entries use 480 bytes, leaving 720 = 30 plain entries.
    let mixed: Vec<Conn> = (0..10)
        .map(|n| sample_v0_conn(n, true))
        .chain((0..80).map(|n| sample_v0_conn(n, false)))
        .collect();
    let (msg, packed) = pack_all(&mixed, 9);
    assert_eq!(packed, 40);
    assert_eq!(msg.len(), 1208);

    let view = MessageView::parse(&msg).unwrap();
    assert_eq!(view.count(), 40);
    assert_eq!(view.conns().count(), 40);
}

#[test]
fn writer_respects_a_small_buffer() {
    let mut buf = [0u8; 8 + 24 * 3 + 10];
    let mut writer = MessageWriter::new(&mut buf, 1).unwrap();
    for n in 0..3 {
        writer.push(&sample_v0_conn(n, false)).unwrap();
    }
    assert_eq!(writer.push(&sample_v0_conn(9, false)), Err(EmitError::Full));
    assert_eq!(writer.finish().len(), 80);
}

#[test]
fn seq_block_is_network_order() {
    let conn = sample_v0_conn(1, true);
    let mut buf = [0u8; 48];
    assert_eq!(conn.emit(&mut buf), Ok(48));
    // in_seq.init_seq = 0x11223344, delta = -12.
    assert_eq!(&buf[24..28], &[0x11, 0x22, 0x33, 0x44]);
    assert_eq!(&buf[28..32], &(-12i32).to_be_bytes());
    assert_eq!(&buf[20..22], &[0x06, 0x00]);
}

#[test]
fn entry_layout_matches_the_kernel_v0_struct() {
    let conn = sample_v0_conn(0x01, false);
    let mut buf = [0u8; 24];
    conn.emit(&mut buf).unwrap();
    let expected = [
        0x00, 0x06, 0x04, 0x01, 0x00, 0x50, 0x00,
        0x50, // reserved, proto, cport 1025, vport, dport
        0xc6, 0x33, 0x64, 0x01, // caddr 198.51.100.1
        0xc0, 0x00, 0x02, 0x01, // vaddr 192.0.2.1
        0x0a, 0x00, 0x00, 0x02, // daddr 10.0.0.2
        0x01, 0x00, 0x00, 0x01, // flags INACTIVE, state ESTABLISHED
    ];
    assert_eq!(buf, expected);
}

#[test]
fn seq_flag_and_block_must_agree() {
    let mut conn = sample_v0_conn(1, false);
    conn.flags |= 0x0200;
    assert_eq!(conn.emit(&mut [0u8; 64]), Err(EmitError::SeqFlagMismatch));
    let mut conn = sample_v0_conn(1, true);
    conn.flags = 0;
    assert_eq!(conn.emit(&mut [0u8; 64]), Err(EmitError::SeqFlagMismatch));
}

#[test]
fn rejections() {
    let conns: Vec<Conn> = (0..3).map(|n| sample_v0_conn(n, n == 1)).collect();
    let (good, _) = pack_all(&conns, 4);
    assert!(matches!(parse_any(&good), Ok(AnyMessage::V0(_))));

    assert_eq!(
        MessageView::parse(&good[..7]),
        Err(DecodeError::TooShort { len: 7, min: 8 })
    );
    assert_eq!(
        MessageView::parse(&good[..good.len() - 4]),
        Err(DecodeError::SizeMismatch {
            declared: good.len() as u16,
            actual: good.len() - 4
        })
    );

    let mut bad = good.clone();
    bad[5] = 1;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad),
        Err(DecodeError::V0ReservedNonZero(1))
    );

    let mut bad = good.clone();
    bad[4] = 0x20;
    fix_checksum(&mut bad);
    assert_eq!(parse_any(&bad), Err(DecodeError::UnsupportedVersion(2)));

    let mut bad = good.clone();
    bad[0] = 51;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad),
        Err(DecodeError::V0TooManyEntries(51))
    );

    let mut bad = good.clone();
    bad[0] = 4;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad),
        Err(DecodeError::EntryOverrun { index: 3 })
    );

    let mut bad = good.clone();
    bad[0] = 2;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad),
        Err(DecodeError::TrailingBytes { extra: 24 })
    );

    let mut bad = good.clone();
    bad[8 + 24] = 0x80; // reserved byte of entry 1
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad),
        Err(DecodeError::V0EntryReservedNonZero {
            index: 1,
            value: 0x80
        })
    );

    // Entry 0 claims SEQ: the rest no longer lines up.
    let mut bad = good.clone();
    bad[8 + 20] = 0x04;
    fix_checksum(&mut bad);
    assert!(MessageView::parse(&bad).is_err());

    // Over 1208 bytes.
    let mut big = vec![0u8; 1212];
    big[0] = 50;
    big[2..4].copy_from_slice(&1212u16.to_be_bytes());
    fix_checksum(&mut big);
    assert_eq!(MessageView::parse(&big), Err(DecodeError::V0TooLarge(1212)));
}

proptest! {
    // 256 cases (the default) unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn conn_round_trip(conn in v0_conn()) {
        let mut buf = [0u8; 48];
        let len = conn.emit(&mut buf).unwrap();
        prop_assert_eq!(len, conn.buffer_len());
        let (back, back_len) = Conn::parse(&buf[..len]).unwrap();
        prop_assert_eq!(back, conn);
        prop_assert_eq!(back_len, len);
    }

    #[test]
    fn message_round_trip(sync_id in any::<u8>(), conns in proptest::collection::vec(v0_conn(), 0..60)) {
        let (msg, packed) = pack_all(&conns, sync_id);
        prop_assert!(packed <= 50 && msg.len() <= 1208);
        let view = MessageView::parse(&msg).unwrap();
        prop_assert_eq!(view.sync_id(), sync_id);
        prop_assert_eq!(usize::from(view.count()), packed);
        prop_assert_eq!(usize::from(view.size()), msg.len());
        let back: Vec<Conn> = view.conns().map(|c| c.repr()).collect();
        prop_assert_eq!(&back[..], &conns[..packed]);
        // The packer stops only when the next entry would break a limit.
        if let Some(next) = conns.get(packed) {
            prop_assert!(packed == 50 || msg.len() + next.buffer_len() > 1208);
        }
    }
}
