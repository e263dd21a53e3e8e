//! The checked-in seed corpora under `fuzz/corpus/ssyncp_v{0,1}/`: generated
//! here, compared with the files, and replayed through the fuzz bodies.
//!
//! Regenerate with `SSYNCP_WRITE_CORPUS=1 cargo test -p ssyncp-wire --test fuzz_corpus`.

mod common;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use common::{sample_ipvs_v4, sample_seq, sample_v0_conn};
use ssyncp_wire::fuzz_support::{self, FUZZ_KEY_SECRET};
use ssyncp_wire::v1::{
    self, Alive, ControlBody, CtFlow, CtTuple, CtTuples, EntryBody, EntryOptions, EntryRepr, Flags,
    Header, MessageType, Nack, NackRanges, ResyncReq, SeqRange, Status, TcpWindow,
};
use ssyncp_wire::{parse_any, v0};

fn corpus_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name)
}

fn v0_message(sync_id: u8, conns: impl IntoIterator<Item = v0::Conn>) -> Vec<u8> {
    let mut buf = [0u8; v0::MAX_MESSAGE_LEN];
    let mut w = v0::MessageWriter::new(&mut buf, sync_id).unwrap();
    for c in conns {
        if w.push(&c).is_err() {
            break;
        }
    }
    w.finish().to_vec()
}

fn v0_seeds() -> Vec<(&'static str, Vec<u8>, bool)> {
    let one = v0_message(1, [sample_v0_conn(1, false)]);
    let mut bad_checksum = one.clone();
    bad_checksum[7] ^= 0xff;
    let mut reserved = one.clone();
    reserved[5] = 1;
    vec![
        ("empty", v0_message(0, []), true),
        ("one_plain", one.clone(), true),
        ("one_seq", v0_message(2, [sample_v0_conn(2, true)]), true),
        (
            "full_plain_50",
            v0_message(3, (0..50).map(|n| sample_v0_conn(n, false))),
            true,
        ),
        (
            "full_seq_25",
            v0_message(4, (0..25).map(|n| sample_v0_conn(n, true))),
            true,
        ),
        (
            "mixed",
            v0_message(5, (0..30).map(|n| sample_v0_conn(n, n % 3 == 0))),
            true,
        ),
        ("bad_checksum", bad_checksum, false),
        ("reserved_set", reserved, false),
        ("truncated", one[..20].to_vec(), false),
    ]
}

fn header(kind: MessageType, flags: u8) -> Header {
    Header {
        sync_id: 7,
        kind,
        flags: Flags(flags),
        sender_id: 0x0a00_0001,
        epoch: 1_700_000_000,
        sequence: 5,
    }
}

fn ct(v6: bool, delete: bool) -> EntryRepr<'static> {
    let t = |a: [u8; 4], b: [u8; 4], sp, dp| CtTuple {
        src: Ipv4Addr::from(a),
        dst: Ipv4Addr::from(b),
        sport: sp,
        dport: dp,
    };
    let orig = t([10, 0, 0, 1], [192, 0, 2, 1], 40000, 443);
    let reply = t([192, 0, 2, 1], [198, 51, 100, 1], 443, 40000);
    let tuples = if v6 {
        let m = |x: CtTuple<Ipv4Addr>| CtTuple {
            src: x.src.to_ipv6_mapped(),
            dst: x.dst.to_ipv6_mapped(),
            sport: x.sport,
            dport: x.dport,
        };
        CtTuples::V6 {
            orig: m(orig),
            reply: m(reply),
        }
    } else {
        CtTuples::V4 { orig, reply }
    };
    EntryRepr {
        protocol: 6,
        delete,
        body: EntryBody::Conntrack(CtFlow {
            status: 0x6,
            l4_state: 3,
            zone: Some(2),
            timeout: 3600,
            mark: Some(0x10),
            tuples,
        }),
        options: EntryOptions {
            seq: Some(sample_seq()),
            tcp_window: Some(TcpWindow {
                wscale_orig: 7,
                wscale_reply: 7,
                flags_orig: 0x23,
                flags_reply: 0x23,
            }),
            helper: Some(b"ftp"),
            labels: Some(&[0, 0, 0, 1]),
            ..EntryOptions::default()
        },
    }
}

fn data(h: Header, entries: &[EntryRepr<'_>], auth: bool) -> Vec<u8> {
    let key = v1::AuthKey::new(7, 1, FUZZ_KEY_SECRET);
    let mut buf = [0u8; 2000];
    let mut w = if auth {
        v1::MessageWriter::new_authenticated(&mut buf, 1500, &h, &key).unwrap()
    } else {
        v1::MessageWriter::new(&mut buf, 1500, &h).unwrap()
    };
    for e in entries {
        w.push(e).unwrap();
    }
    w.finish().to_vec()
}

fn control(body: ControlBody, auth: bool) -> Vec<u8> {
    let key = v1::AuthKey::new(7, 1, FUZZ_KEY_SECRET);
    let h = header(body.message_type(), 0);
    let mut buf = [0u8; 700];
    if auth {
        v1::emit_control_authenticated(&mut buf, &h, &body, &key)
            .unwrap()
            .to_vec()
    } else {
        v1::emit_control(&mut buf, &h, &body).unwrap().to_vec()
    }
}

fn v1_seeds() -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut ipvs_v6 = sample_ipvs_v4(3);
    if let EntryBody::Ipvs(conn) = &mut ipvs_v6.body {
        conn.addrs = v1::IpvsAddrs::V6 {
            caddr: "2001:db8::1".parse().unwrap(),
            vaddr: "2001:db8::10".parse().unwrap(),
            daddr: "2001:db8:1::7".parse().unwrap(),
        };
    }
    let mut ipvs_pe = sample_ipvs_v4(4);
    ipvs_pe.options = EntryOptions {
        seq: Some(sample_seq()),
        pe_data: Some(b"call-id-1234"),
        pe_name: Some(b"sip"),
        ..EntryOptions::default()
    };
    let mut ipvs_del = sample_ipvs_v4(5);
    ipvs_del.delete = true;
    let ranges =
        NackRanges::from_slice(&[SeqRange { from: 10, to: 12 }, SeqRange { from: 20, to: 20 }])
            .unwrap();
    let mixed = data(
        header(MessageType::Data, 0),
        &[
            sample_ipvs_v4(1),
            ipvs_v6,
            ipvs_pe,
            ipvs_del,
            ct(false, false),
            ct(true, false),
            ct(false, true),
        ],
        false,
    );
    let mut bad_padding = data(header(MessageType::Data, 0), &[ct(false, false)], false);
    let len = bad_padding.len();
    bad_padding[len - 1] = 0xaa;
    let mut alive_trunc = control(ControlBody::Alive(Alive { live_entries: 3 }), true);
    alive_trunc.truncate(40);
    let pe_raw = {
        // An experimental-class entry next to a typed one.
        let mut m = data(header(MessageType::Data, 0), &[sample_ipvs_v4(9)], false);
        m.extend_from_slice(&[0xf0, 0, 0, 6, 0xde, 0xad, 0, 0]);
        m[0] = 2;
        let l = m.len() as u16;
        m[2..4].copy_from_slice(&l.to_be_bytes());
        m[6] = 0;
        m[7] = 0;
        let c = ssyncp_wire::checksum::message_checksum(&m);
        m[6..8].copy_from_slice(&c.to_be_bytes());
        m
    };
    vec![
        (
            "data_empty",
            data(header(MessageType::Data, 0), &[], false),
            true,
        ),
        ("data_mixed", mixed, true),
        (
            "data_auth",
            data(
                header(MessageType::Data, 0),
                &[sample_ipvs_v4(1), ct(false, false)],
                true,
            ),
            true,
        ),
        (
            "bulk_start_end",
            data(
                header(MessageType::Bulk, Flags::BULK_START | Flags::BULK_END),
                &[ct(true, false)],
                true,
            ),
            true,
        ),
        ("data_experimental", pe_raw, true),
        (
            "nack",
            control(
                ControlBody::Nack(Nack {
                    target_sender: 0x0a00_0002,
                    target_epoch: 9,
                    ranges,
                }),
                false,
            ),
            true,
        ),
        (
            "resync_req_auth",
            control(
                ControlBody::ResyncReq(ResyncReq {
                    target_sender: 0,
                    target_epoch: 0,
                }),
                true,
            ),
            true,
        ),
        (
            "alive",
            control(
                ControlBody::Alive(Alive {
                    live_entries: 12345,
                }),
                false,
            ),
            true,
        ),
        (
            "status_auth",
            control(
                ControlBody::Status(Status {
                    target_sender: 1,
                    target_epoch: 2,
                    highest_contiguous: 3,
                    flags: Status::IN_SYNC,
                }),
                true,
            ),
            true,
        ),
        ("bad_padding", bad_padding, false),
        ("alive_truncated_trailer", alive_trunc, false),
    ]
}

fn check_dir(name: &str, seeds: &[(&'static str, Vec<u8>, bool)], body: fn(&[u8])) {
    assert!(seeds.len() < 100);
    let dir = corpus_dir(name);
    if std::env::var_os("SSYNCP_WRITE_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes, _) in seeds {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
    }
    for (file, bytes, valid) in seeds {
        assert_eq!(parse_any(bytes).is_ok(), *valid, "{name}/{file} validity");
        let on_disk = std::fs::read(dir.join(file)).unwrap_or_else(|e| {
            panic!("{name}/{file}: {e}; regenerate with SSYNCP_WRITE_CORPUS=1")
        });
        assert_eq!(
            &on_disk, bytes,
            "{name}/{file} is stale; regenerate with SSYNCP_WRITE_CORPUS=1"
        );
    }
    // Replay everything in the directory (including inputs a fuzzer added).
    let mut replayed = 0;
    for item in std::fs::read_dir(&dir).unwrap() {
        let path = item.unwrap().path();
        if path.is_file() {
            body(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
    }
    assert!(replayed >= seeds.len());
}

#[test]
fn v0_corpus() {
    check_dir("ssyncp_v0", &v0_seeds(), fuzz_support::ssyncp_v0);
}

#[test]
fn v1_corpus() {
    let seeds = v1_seeds();
    // The authenticated seeds verify with the fuzz key, so the fuzzer reaches the MAC path.
    let key = v1::AuthKey::new(7, 1, FUZZ_KEY_SECRET);
    for (name, bytes, valid) in &seeds {
        if *valid && name.contains("auth") {
            assert_eq!(
                v1::MessageView::parse(bytes).unwrap().verify(&key),
                Ok(()),
                "{name}"
            );
        }
    }
    check_dir("ssyncp_v1", &seeds, fuzz_support::ssyncp_v1);
}
