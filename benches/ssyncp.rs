//! SSYNCP engine throughput: 100,000 conntrack entries from a master engine to
//! a backup engine in memory, on one core (encode, checksum, decode, verify,
//! apply to the backup's table, hand out the kernel changes).
//!
//! * `incremental`: 100,000 local changes → DATA messages (filled to MTU 1500)
//!   → the backup applies them.
//! * `bulk`: a backup asks for a resync and the master sends its 100,000-entry
//!   table as one unpaced bulk, which the backup applies (the spec's target for
//!   this is ≤ 0.04 s, i.e. ≤ 0.4 µs per entry).
//! * `*_hmac`: the same with the HMAC-SHA256-128 trailer on every message.
//!
//! The counter is entries, so divan reports entries per second.

use std::net::{IpAddr, Ipv4Addr};

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use ssyncp_engine::{Change, Config, Duration, Engine, Entry, Instant, Output, Role};
use ssyncp_wire::v1::{AuthKey, CtFlow, CtTuple, CtTuples, EntryBody};

fn main() {
    divan::main();
}

const ENTRIES: u32 = 100_000;
const SYNC_ID: u8 = 51;

fn flow(id: u32) -> Entry {
    let client = Ipv4Addr::from(0xc633_0000 | (id >> 14));
    let server = Ipv4Addr::new(192, 0, 2, 80);
    let port = 1024 + (id & 0x3fff) as u16;
    Entry {
        protocol: 6,
        body: EntryBody::Conntrack(CtFlow {
            status: 0x6,
            l4_state: 3,
            zone: None,
            timeout: 432_000,
            mark: None,
            tuples: CtTuples::V4 {
                orig: CtTuple {
                    src: client,
                    dst: server,
                    sport: port,
                    dport: 443,
                },
                reply: CtTuple {
                    src: server,
                    dst: client,
                    sport: 443,
                    dport: port,
                },
            },
        }),
        options: Default::default(),
    }
}

fn config(sender: u32, hmac: bool) -> Config {
    let mut cfg = Config::new(SYNC_ID, sender, 1_700_000_000);
    cfg.bulk_messages_per_tick = 1 << 20;
    if hmac {
        cfg.auth_keys = vec![AuthKey::new(SYNC_ID, 1, b"benchmark secret")];
    }
    cfg
}

/// Delivers every datagram of `from` to `to`; returns the number of kernel
/// changes `to` handed out (its own datagrams stay queued for the caller).
fn pump(from: &mut Engine, to: &mut Engine, now: Instant, src: IpAddr) -> usize {
    let mut applied = 0;
    let mut replies = Vec::new();
    while let Some(out) = from.poll_output() {
        if let Output::Transmit(tx) = out {
            to.handle_datagram(now, src, &tx.bytes);
            while let Some(out) = to.poll_output() {
                match out {
                    Output::Apply(apply) => {
                        black_box(apply);
                        applied += 1;
                    }
                    Output::Transmit(tx) => replies.push(tx),
                    Output::Commit | Output::Event(_) => {}
                }
            }
        }
    }
    // Nothing reads `to`'s replies here; keep them only so a later pump
    // in the other direction could deliver them.
    black_box(replies);
    applied
}

fn pair(hmac: bool) -> (Engine, Engine, Vec<Entry>) {
    let now = Instant::ZERO;
    let mut master = Engine::new(config(1, hmac), now).expect("config");
    master.handle_role(now, Role::Master);
    let mut backup = Engine::new(config(2, hmac), now).expect("config");
    let master_addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    pump(&mut master, &mut backup, now, master_addr);
    while backup.poll_output().is_some() {}
    let entries = (0..ENTRIES).map(flow).collect();
    (master, backup, entries)
}

fn incremental(bencher: Bencher, hmac: bool) {
    bencher
        .with_inputs(|| pair(hmac))
        .input_counter(|_| ItemsCount::new(ENTRIES))
        .bench_local_values(|(mut master, mut backup, entries)| {
            let now = Instant::from_micros(1_000);
            let src = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
            let mut applied = 0;
            for entry in entries {
                master
                    .handle_local_change(now, Change::Upsert(entry))
                    .expect("encodable");
                applied += pump(&mut master, &mut backup, now, src);
            }
            let later = now + Duration::from_millis(3);
            master.handle_timeout(later);
            applied += pump(&mut master, &mut backup, later, src);
            assert_eq!(applied, ENTRIES as usize);
            (master, backup)
        });
}

#[divan::bench]
fn incremental_plain(bencher: Bencher) {
    incremental(bencher, false);
}

#[divan::bench]
fn incremental_hmac(bencher: Bencher) {
    incremental(bencher, true);
}

/// A master holding 100,000 entries and a fresh backup.
fn bulk_inputs(hmac: bool) -> (Engine, Engine) {
    let (mut master, _, entries) = pair(hmac);
    let now = Instant::from_micros(1_000);
    for entry in entries {
        master
            .handle_local_change(now, Change::Upsert(entry))
            .expect("encodable");
    }
    master.handle_timeout(now + Duration::from_millis(3));
    while master.poll_output().is_some() {}
    let mut backup = Engine::new(config(3, hmac), now).expect("config");
    // Drop the startup RESYNC_REQ; the measured run sends its own.
    while backup.poll_output().is_some() {}
    (master, backup)
}

fn bulk(bencher: Bencher, hmac: bool) {
    bencher
        .with_inputs(|| bulk_inputs(hmac))
        .input_counter(|_| ItemsCount::new(ENTRIES))
        .bench_local_values(|(mut master, mut backup)| {
            let now = Instant::from_micros(10_000);
            let master_addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
            let backup_addr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
            backup.handle_role(now, Role::Fault);
            backup.handle_role(now, Role::Backup);
            // The RESYNC_REQ reaches the master, which queues the bulk.
            while let Some(out) = backup.poll_output() {
                if let Output::Transmit(tx) = out {
                    master.handle_datagram(now, backup_addr, &tx.bytes);
                }
            }
            let applied = pump(&mut master, &mut backup, now, master_addr);
            assert_eq!(applied, ENTRIES as usize);
            assert!(backup.is_in_sync());
            (master, backup)
        });
}

#[divan::bench]
fn bulk_plain(bencher: Bencher) {
    bulk(bencher, false);
}

#[divan::bench]
fn bulk_hmac(bencher: Bencher) {
    bulk(bencher, true);
}
