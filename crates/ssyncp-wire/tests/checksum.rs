//! RFC 1071 checksum: independent reference, hand-worked vectors, and the
//! "whole message with the field zero" rule in both versions.

mod common;

use proptest::prelude::*;
use ssyncp_wire::checksum::{internet_checksum, message_checksum};
use ssyncp_wire::v1::{Alive, ControlBody, Flags, Header, MessageType, emit_control};
use ssyncp_wire::{DecodeError, parse_any, v0};

/// Straightforward reference: 16-bit one's-complement addition with the
/// carry wrapped in after every word.
fn reference_checksum(data: &[u8]) -> u16 {
    let mut sum: u16 = 0;
    let mut i = 0;
    while i < data.len() {
        let high = data[i];
        let low = if i + 1 < data.len() { data[i + 1] } else { 0 };
        let word = u16::from(high) << 8 | u16::from(low);
        let (s, carry) = sum.overflowing_add(word);
        sum = s + u16::from(carry);
        i += 2;
    }
    !sum
}

#[test]
fn rfc1071_worked_example() {
    // RFC 1071 section 3: 0001 + f203 + f4f5 + f6f7 folds to ddf2.
    let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
    assert_eq!(internet_checksum(&data), !0xddf2);
    assert_eq!(internet_checksum(&data), 0x220d);
}

#[test]
fn odd_length_pads_with_zero() {
    assert_eq!(internet_checksum(&[0x12]), !0x1200);
    assert_eq!(
        internet_checksum(&[0x12, 0x34, 0x56]),
        !(0x1234u16 + 0x5600)
    );
}

#[test]
fn hand_worked_v0_empty_message() {
    // 0x0005 + 0x0008 = 0x000d, complemented: 0xfff2.
    let mut buf = [0u8; 64];
    let msg = v0::MessageWriter::new(&mut buf, 5).unwrap().finish();
    assert_eq!(msg, [0x00, 0x05, 0x00, 0x08, 0x00, 0x00, 0xff, 0xf2]);
    assert!(v0::MessageView::parse(msg).is_ok());
}

#[test]
fn hand_worked_v1_alive() {
    // Words 0001 0018 1400 0a00 0001 0000 0002 0000 0003 0000 0004 sum to
    // 0x1e23; the checksum is its complement 0xe1dc.
    let header = Header {
        sync_id: 1,
        kind: MessageType::Alive,
        flags: Flags(0),
        sender_id: 0x0a00_0001,
        epoch: 2,
        sequence: 3,
    };
    let mut buf = [0u8; 64];
    let msg = emit_control(
        &mut buf,
        &header,
        &ControlBody::Alive(Alive { live_entries: 4 }),
    )
    .unwrap();
    let expected = [
        0x00, 0x01, 0x00, 0x18, 0x14, 0x00, 0xe1, 0xdc, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04,
    ];
    assert_eq!(msg, expected);
}

#[test]
fn corrupted_checksum_is_rejected_with_both_values() {
    let mut buf = [0u8; 64];
    let msg = v0::MessageWriter::new(&mut buf, 5)
        .unwrap()
        .finish()
        .to_vec();
    let mut bad = msg.clone();
    bad[7] ^= 0x01;
    assert_eq!(
        parse_any(&bad),
        Err(DecodeError::BadChecksum {
            found: 0xfff3,
            computed: 0xfff2
        })
    );
}

proptest! {
    // 256 cases (the default) unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn matches_reference(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert_eq!(internet_checksum(&data), reference_checksum(&data));
    }

    #[test]
    fn message_checksum_ignores_the_field(mut data in proptest::collection::vec(any::<u8>(), 8..600), field in any::<u16>()) {
        data[6..8].copy_from_slice(&field.to_be_bytes());
        let mut zeroed = data.clone();
        zeroed[6] = 0;
        zeroed[7] = 0;
        prop_assert_eq!(message_checksum(&data), reference_checksum(&zeroed));
        // Writing the checksum makes the whole message sum to 0xffff.
        let sum = message_checksum(&data);
        data[6..8].copy_from_slice(&sum.to_be_bytes());
        prop_assert_eq!(reference_checksum(&data), 0);
    }
}
