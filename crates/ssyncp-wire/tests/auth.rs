//! HMAC-SHA256-128 trailer: RFC 4231 vectors through the crate's primitive,
//! the spec's MAC definition, and rejection of tampering, wrong keys and
//! truncation.

mod common;

use common::sample_ipvs_v4;
use ssyncp_wire::checksum::message_checksum;
use ssyncp_wire::v1::{
    Alive, AuthKey, ControlBody, Flags, Header, MessageType, MessageView, MessageWriter,
    emit_control, emit_control_authenticated,
};
use ssyncp_wire::{AuthError, DecodeError};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn rfc4231_vectors() {
    // Test case 1.
    let key = AuthKey::new(0, 0, &[0x0b; 20]);
    assert_eq!(
        key.hmac_sha256(b"Hi There").to_vec(),
        hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    );
    // Test case 2.
    let key = AuthKey::new(0, 0, b"Jefe");
    assert_eq!(
        key.hmac_sha256(b"what do ya want for nothing?").to_vec(),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    // Test case 5: truncation to 128 bits, exactly the trailer's MAC.
    let key = AuthKey::new(0, 0, &[0x0c; 20]);
    assert_eq!(
        key.mac128(b"Test With Truncation").to_vec(),
        hex("a3b6167473100ee06e0c796c2955552b")
    );
}

fn header(kind: MessageType) -> Header {
    Header {
        sync_id: 51,
        kind,
        flags: Flags(0),
        sender_id: 0x0a00_0001,
        epoch: 77,
        sequence: 1000,
    }
}

fn signed_data(key: &AuthKey) -> Vec<u8> {
    let mut buf = [0u8; 300];
    let mut writer =
        MessageWriter::new_authenticated(&mut buf, 1500, &header(MessageType::Data), key).unwrap();
    writer.push(&sample_ipvs_v4(1)).unwrap();
    writer.push(&sample_ipvs_v4(2)).unwrap();
    writer.finish().to_vec()
}

fn fix_checksum(msg: &mut [u8]) {
    msg[6] = 0;
    msg[7] = 0;
    let sum = message_checksum(msg);
    msg[6..8].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn trailer_layout_and_mac_definition() {
    let key = AuthKey::new(51, 2, b"sync group 51 secret");
    let msg = signed_data(&key);
    assert_eq!(msg.len(), 20 + 2 * 36 + 20);
    assert_eq!(msg[5] & Flags::AUTH, Flags::AUTH);
    let t = msg.len() - 20;
    assert_eq!(&msg[t..t + 4], &[2, 1, 0, 0]); // key id, algorithm 1, reserved
    // MAC = first 16 bytes of HMAC-SHA256 over [0, Size - 16) with Checksum = 0.
    let mut covered = msg[..msg.len() - 16].to_vec();
    covered[6] = 0;
    covered[7] = 0;
    assert_eq!(&msg[t + 4..], &key.mac128(&covered));
    let view = MessageView::parse(&msg).unwrap();
    assert_eq!(view.verify(&key), Ok(()));
    assert_eq!(view.trailer().unwrap().mac.as_slice(), &msg[t + 4..]);
}

#[test]
fn tampering_is_rejected() {
    let key = AuthKey::new(51, 2, b"sync group 51 secret");
    let msg = signed_data(&key);
    // Every single-bit flip outside the checksum field, with the checksum
    // repaired, either breaks framing or fails the MAC.
    for byte in (0..msg.len()).filter(|&i| i != 6 && i != 7) {
        for bit in 0..8 {
            let mut bad = msg.clone();
            bad[byte] ^= 1 << bit;
            fix_checksum(&mut bad);
            if let Ok(view) = MessageView::parse(&bad) {
                assert!(
                    view.verify(&key).is_err(),
                    "flip at byte {byte} bit {bit} accepted"
                );
            }
        }
    }
    // A flip in an address: framing intact, MAC mismatch.
    let mut bad = msg.clone();
    bad[20 + 24] ^= 0x01;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad).unwrap().verify(&key),
        Err(AuthError::BadMac)
    );
    // A flip in the MAC itself.
    let mut bad = msg.clone();
    *bad.last_mut().unwrap() ^= 0x80;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad).unwrap().verify(&key),
        Err(AuthError::BadMac)
    );
}

#[test]
fn wrong_key_id_sync_id_or_secret() {
    let key = AuthKey::new(51, 2, b"sync group 51 secret");
    let msg = signed_data(&key);
    let view = MessageView::parse(&msg).unwrap();
    let other_id = AuthKey::new(51, 3, b"sync group 51 secret");
    assert_eq!(
        view.verify(&other_id),
        Err(AuthError::UnknownKey {
            sync_id: 51,
            key_id: 2
        })
    );
    let other_group = AuthKey::new(52, 2, b"sync group 51 secret");
    assert_eq!(
        view.verify(&other_group),
        Err(AuthError::UnknownKey {
            sync_id: 51,
            key_id: 2
        })
    );
    let wrong_secret = AuthKey::new(51, 2, b"another secret");
    assert_eq!(view.verify(&wrong_secret), Err(AuthError::BadMac));

    // Rewriting the key id in the trailer selects the other (rollover) key,
    // whose secret differs: rejected.
    let keys = [key, AuthKey::new(51, 3, b"next secret")];
    assert_eq!(view.verify(&keys), Ok(()));
    let mut bad = msg.clone();
    let t = bad.len() - 20;
    bad[t] = 3;
    fix_checksum(&mut bad);
    assert_eq!(
        MessageView::parse(&bad).unwrap().verify(&keys),
        Err(AuthError::BadMac)
    );
    // And a message signed with the rollover key verifies against the ring.
    let next = signed_data(&keys[1]);
    assert_eq!(MessageView::parse(&next).unwrap().verify(&keys), Ok(()));
}

#[test]
fn truncated_trailer_is_rejected() {
    let key = AuthKey::new(51, 2, b"sync group 51 secret");
    let body = ControlBody::Alive(Alive { live_entries: 5 });
    let mut buf = [0u8; 100];
    let msg = emit_control_authenticated(&mut buf, &header(MessageType::Alive), &body, &key)
        .unwrap()
        .to_vec();
    assert_eq!(msg.len(), 44);
    assert_eq!(MessageView::parse(&msg).unwrap().verify(&key), Ok(()));
    // Cut the trailer short: Size no longer matches.
    assert!(matches!(
        MessageView::parse(&msg[..40]),
        Err(DecodeError::SizeMismatch {
            declared: 44,
            actual: 40
        })
    ));
    // Cut it short and repair Size and checksum: the body is now the wrong length.
    let mut cut = msg[..40].to_vec();
    cut[2..4].copy_from_slice(&40u16.to_be_bytes());
    fix_checksum(&mut cut);
    assert!(MessageView::parse(&cut).is_err());
    // Drop the whole trailer but keep the AUTH flag.
    let mut cut = msg[..24].to_vec();
    cut[2..4].copy_from_slice(&24u16.to_be_bytes());
    fix_checksum(&mut cut);
    assert_eq!(
        MessageView::parse(&cut).err(),
        Some(DecodeError::MissingTrailer)
    );
    // Clear the flag too: parses, but is not authenticated.
    cut[5] = 0;
    fix_checksum(&mut cut);
    assert_eq!(
        MessageView::parse(&cut).unwrap().verify(&key),
        Err(AuthError::NotAuthenticated)
    );
}

#[test]
fn unauthenticated_messages_do_not_verify() {
    let key = AuthKey::new(51, 2, b"k");
    let mut buf = [0u8; 100];
    let msg = emit_control(
        &mut buf,
        &header(MessageType::Alive),
        &ControlBody::Alive(Alive { live_entries: 1 }),
    )
    .unwrap();
    assert_eq!(
        MessageView::parse(msg).unwrap().verify(&key),
        Err(AuthError::NotAuthenticated)
    );
    // Debug output never shows the secret.
    let shown = format!("{key:?}");
    assert!(shown.contains("key_id: 2") && !shown.contains("[107]"));
}
