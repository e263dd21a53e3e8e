//! Every decoder on arbitrary bytes, and on valid messages with random
//! mutations (checksum repaired so the deeper checks run): no panics, and
//! anything accepted stays internally consistent.

mod common;

use common::{entry, sample_ipvs_v4, sample_v0_conn};
use proptest::prelude::*;
use ssyncp_wire::checksum::message_checksum;
use ssyncp_wire::v1::{self, AuthTrailer, ControlBody, EntryRepr, EntryView, Header, MessageType};
use ssyncp_wire::{AnyMessage, fuzz_support, parse_any, v0};

const TYPES: [MessageType; 6] = [
    MessageType::Data,
    MessageType::Bulk,
    MessageType::Nack,
    MessageType::ResyncReq,
    MessageType::Alive,
    MessageType::Status,
];

fn exercise(data: &[u8]) {
    match parse_any(data) {
        Ok(AnyMessage::V0(msg)) => {
            assert_eq!(msg.as_bytes().len(), usize::from(msg.size()));
            assert_eq!(msg.conns().count(), usize::from(msg.count()));
        }
        Ok(AnyMessage::V1(msg)) => {
            let key = v1::AuthKey::new(msg.header().sync_id, 1, b"k");
            let _ = msg.verify(&key);
            let _ = msg.trailer();
            let _ = msg.control();
            let n = msg
                .entries()
                .inspect(|e| {
                    let _ = e.repr();
                    let _ = e.options().count();
                })
                .count();
            if msg.header().kind.carries_entries() {
                assert_eq!(n, usize::from(msg.count()));
            }
        }
        Err(_) => {}
    }
    let _ = v0::MessageView::parse(data);
    let _ = v0::Conn::parse(data);
    let _ = v1::MessageView::parse(data);
    let _ = Header::parse(data);
    let _ = v1::peek_header(data);
    let _ = AuthTrailer::parse(data);
    if let Ok((view, padded)) = EntryView::parse(data, 0) {
        assert!(padded <= data.len() && view.size() <= padded);
        let _ = view.repr();
        let _ = view.options().count();
    }
    let _ = EntryRepr::parse(data);
    for kind in TYPES {
        for count in [0u8, 1, 2, 64, 65, 255] {
            let _ = ControlBody::parse(kind, count, data);
        }
    }
    fuzz_support::ssyncp_v0(data);
    fuzz_support::ssyncp_v1(data);
}

fn fix_checksum(msg: &mut [u8]) {
    if msg.len() >= 8 {
        msg[6] = 0;
        msg[7] = 0;
        let sum = message_checksum(msg);
        msg[6..8].copy_from_slice(&sum.to_be_bytes());
    }
}

fn valid_v1(entries: &[common::OwnedEntry]) -> Vec<u8> {
    let header = Header {
        sync_id: 7,
        kind: MessageType::Data,
        flags: v1::Flags(0),
        sender_id: 1,
        epoch: 2,
        sequence: 3,
    };
    let key = v1::AuthKey::new(7, 1, b"k");
    let mut buf = vec![0u8; 4096];
    let mut w = v1::MessageWriter::new_authenticated(&mut buf, 1500, &header, &key).unwrap();
    w.push(&sample_ipvs_v4(1)).unwrap();
    for e in entries {
        if w.push(&e.repr()).is_err() {
            break;
        }
    }
    w.finish().to_vec()
}

proptest! {
    // 256 cases (the default) unless PROPTEST_CASES says otherwise.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..1600)) {
        exercise(&data);
    }

    #[test]
    fn arbitrary_bytes_with_valid_size_and_checksum(
        mut data in proptest::collection::vec(any::<u8>(), 8..1600),
        version in 0u8..3,
    ) {
        let len = data.len() as u16;
        data[2..4].copy_from_slice(&len.to_be_bytes());
        data[4] = (version << 4) | (data[4] & 0x0f);
        fix_checksum(&mut data);
        exercise(&data);
    }

    #[test]
    fn mutated_v1(
        entries in proptest::collection::vec(entry(), 0..6),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut msg = valid_v1(&entries);
        for (at, value) in edits {
            let i = at.index(msg.len());
            msg[i] = value;
        }
        if truncate {
            let len = cut.index(msg.len());
            msg.truncate(len);
            if msg.len() >= 4 {
                let l = msg.len() as u16;
                msg[2..4].copy_from_slice(&l.to_be_bytes());
            }
        }
        fix_checksum(&mut msg);
        exercise(&msg);
    }

    #[test]
    fn mutated_v0(
        seqs in proptest::collection::vec(any::<bool>(), 0..20),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut buf = [0u8; 1208];
        let mut w = v0::MessageWriter::new(&mut buf, 3).unwrap();
        for (n, seq) in seqs.into_iter().enumerate() {
            w.push(&sample_v0_conn(n as u32, seq)).unwrap();
        }
        let mut msg = w.finish().to_vec();
        for (at, value) in edits {
            let i = at.index(msg.len());
            msg[i] = value;
        }
        fix_checksum(&mut msg);
        exercise(&msg);
    }
}
