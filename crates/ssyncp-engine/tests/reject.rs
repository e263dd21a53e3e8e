//! Forged, replayed, corrupted, foreign and random datagrams are rejected,
//! counted, and never touch the table.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use common::{SYNC_ID, ct_entry};
use proptest::prelude::*;
use ssyncp_engine::{
    Change, Config, Counters, Duration, Engine, Entry, EntryKey, Instant, Output, Payload, Role,
};
use ssyncp_wire::checksum::{CHECKSUM_OFFSET, message_checksum};
use ssyncp_wire::v1::AuthKey;

const EPOCH: u32 = 1_700_000_000;
const MASTER_ID: u32 = 0x0a00_0001;
const BACKUP_ID: u32 = 0x0a00_0002;
const SECRET: &[u8] = b"correct horse battery staple";

fn master_addr() -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))
}

fn config(sender: u32, epoch: u32, keys: Vec<AuthKey>) -> Config {
    let mut cfg = Config::new(SYNC_ID, sender, epoch);
    cfg.auth_keys = keys;
    cfg
}

fn key(secret: &[u8], key_id: u8) -> Vec<AuthKey> {
    vec![AuthKey::new(SYNC_ID, key_id, secret)]
}

/// Every datagram an engine wants to send (other outputs dropped).
fn transmits(engine: &mut Engine) -> Vec<Payload> {
    let mut out = Vec::new();
    while let Some(o) = engine.poll_output() {
        if let Output::Transmit(tx) = o {
            out.push(tx.bytes);
        }
    }
    out
}

/// A promoted master and its first messages (the promotion bulk), which a
/// backup needs to follow the stream from sequence 1.
struct Master {
    engine: Engine,
    initial: Vec<Payload>,
}

fn master_with(cfg: Config) -> Master {
    let mut engine = Engine::new(cfg, Instant::ZERO).expect("config");
    engine.handle_role(Instant::ZERO, Role::Master);
    let initial = transmits(&mut engine);
    Master { engine, initial }
}

fn data_message(master: &mut Master, ids: std::ops::Range<u32>, now: Instant) -> Payload {
    let master = &mut master.engine;
    for id in ids {
        master
            .handle_local_change(now, Change::Upsert(ct_entry(id * 2, 1)))
            .expect("encodable");
    }
    master.handle_timeout(now + Duration::from_millis(3));
    let mut msgs = transmits(master);
    assert_eq!(msgs.len(), 1, "one DATA message");
    msgs.pop().expect("one")
}

fn table(engine: &Engine) -> BTreeMap<EntryKey, Entry> {
    engine.entries().collect()
}

/// Delivers `bytes` and checks that nothing was applied and the table is unchanged.
fn deliver_rejected(backup: &mut Engine, bytes: &[u8]) -> Counters {
    let before = table(backup);
    let accepted = backup.counters().rx_accepted;
    backup.handle_datagram(Instant::from_micros(10_000), master_addr(), bytes);
    while let Some(out) = backup.poll_output() {
        assert!(
            !matches!(out, Output::Apply(_) | Output::Commit),
            "rejected message applied: {out:?}"
        );
    }
    assert_eq!(table(backup), before, "table untouched");
    assert_eq!(backup.counters().rx_accepted, accepted, "not accepted");
    *backup.counters()
}

/// A backup (with `keys`) holding the entries of one valid message.
fn primed_backup(keys: Vec<AuthKey>, master: &mut Master) -> (Engine, Payload) {
    let mut backup = Engine::new(config(BACKUP_ID, EPOCH, keys), Instant::ZERO).expect("config");
    transmits(&mut backup);
    for msg in &master.initial {
        backup.handle_datagram(Instant::from_micros(500), master_addr(), msg);
    }
    let msg = data_message(master, 0..10, Instant::from_micros(1_000));
    backup.handle_datagram(Instant::from_micros(5_000), master_addr(), &msg);
    assert_eq!(backup.table_len(), 10, "valid message applied");
    transmits(&mut backup);
    (backup, msg)
}

#[test]
fn replayed_messages_are_rejected() {
    let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
    let (mut backup, first) = primed_backup(key(SECRET, 1), &mut master);
    let second = data_message(&mut master, 10..20, Instant::from_micros(2_000));
    backup.handle_datagram(Instant::from_micros(6_000), master_addr(), &second);
    assert_eq!(backup.table_len(), 20);
    transmits(&mut backup);

    let c = deliver_rejected(&mut backup, &second);
    assert_eq!(c.rx_replayed, 1, "exact duplicate");
    let c = deliver_rejected(&mut backup, &first);
    assert_eq!(c.rx_replayed, 2, "older sequence, same epoch");
}

#[test]
fn sequences_below_the_replay_window_are_rejected() {
    let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
    let mut cfg = config(BACKUP_ID, EPOCH, key(SECRET, 1));
    cfg.replay_window = 64;
    let mut backup = Engine::new(cfg, Instant::ZERO).expect("config");
    transmits(&mut backup);
    for msg in &master.initial {
        backup.handle_datagram(Instant::ZERO, master_addr(), msg);
    }
    let mut sent = Vec::new();
    for round in 0..100u32 {
        let now = Instant::from_micros(u64::from(round) * 10_000);
        let msg = data_message(&mut master, round..round + 1, now);
        backup.handle_datagram(now, master_addr(), &msg);
        transmits(&mut backup);
        sent.push(msg);
    }
    let c = deliver_rejected(&mut backup, &sent[0]);
    assert_eq!(c.rx_replayed, 1);
}

#[test]
fn forged_messages_are_rejected() {
    let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
    let (mut backup, _) = primed_backup(key(SECRET, 1), &mut master);

    // Same sender and key id, wrong secret; later epoch so only the MAC can stop it.
    let mut forger = master_with(config(MASTER_ID, EPOCH + 10, key(b"guessed", 1)));
    let forged = data_message(&mut forger, 100..110, Instant::from_micros(3_000));
    let c = deliver_rejected(&mut backup, &forged);
    assert_eq!(c.rx_bad_mac, 1);

    // A key id the backup does not have.
    let mut forger = master_with(config(MASTER_ID, EPOCH + 10, key(SECRET, 9)));
    let forged = data_message(&mut forger, 100..110, Instant::from_micros(3_000));
    let c = deliver_rejected(&mut backup, &forged);
    assert_eq!(c.rx_unknown_key, 1);

    // No trailer at all.
    let mut plain = master_with(config(MASTER_ID, EPOCH + 10, Vec::new()));
    let unsigned = data_message(&mut plain, 100..110, Instant::from_micros(3_000));
    let c = deliver_rejected(&mut backup, &unsigned);
    assert_eq!(c.rx_unauthenticated, 1);

    // A valid message with one entry byte changed and the checksum fixed up.
    let mut genuine = master_with(config(MASTER_ID, EPOCH + 10, key(SECRET, 1)));
    let mut tampered = data_message(&mut genuine, 100..110, Instant::from_micros(3_000)).to_vec();
    tampered[30] ^= 0x01;
    fix_checksum(&mut tampered);
    let c = deliver_rejected(&mut backup, &tampered);
    assert_eq!(c.rx_bad_mac, 2);
    assert_eq!(backup.epoch(), EPOCH, "no state changed");
}

fn fix_checksum(msg: &mut [u8]) {
    msg[CHECKSUM_OFFSET] = 0;
    msg[CHECKSUM_OFFSET + 1] = 0;
    let sum = message_checksum(msg);
    msg[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let mut master = master_with(config(MASTER_ID, EPOCH, Vec::new()));
    let (mut backup, _) = primed_backup(Vec::new(), &mut master);
    let msg = data_message(&mut master, 10..20, Instant::from_micros(2_000));
    let mut flips = 0u64;
    for byte in 0..msg.len() {
        for bit in 0..8 {
            let mut bad = msg.to_vec();
            bad[byte] ^= 1 << bit;
            deliver_rejected(&mut backup, &bad);
            flips += 1;
        }
    }
    let c = backup.counters();
    assert_eq!(c.rx_bad_checksum + c.rx_malformed, flips, "{c:?}");
    assert!(
        c.rx_bad_checksum > flips - 32,
        "only Size-field flips are caught earlier"
    );
    // The untouched message is still accepted afterwards.
    backup.handle_datagram(Instant::from_micros(20_000), master_addr(), &msg);
    assert_eq!(backup.table_len(), 20);
}

#[test]
fn foreign_messages_are_rejected() {
    // Another sync group.
    let mut other_cfg = Config::new(SYNC_ID + 1, MASTER_ID, EPOCH);
    other_cfg.auth_keys = vec![AuthKey::new(SYNC_ID + 1, 1, SECRET)];
    let mut other = master_with(other_cfg);
    let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
    let (mut backup, _) = primed_backup(key(SECRET, 1), &mut master);
    let foreign = data_message(&mut other, 0..5, Instant::from_micros(3_000));
    assert_eq!(deliver_rejected(&mut backup, &foreign).rx_wrong_sync_id, 1);

    // Our own messages looped back.
    let mut twin = master_with(config(BACKUP_ID, EPOCH + 1, key(SECRET, 1)));
    let own = data_message(&mut twin, 0..5, Instant::from_micros(3_000));
    assert_eq!(deliver_rejected(&mut backup, &own).rx_own_message, 1);

    // An older epoch of a known sender.
    let mut stale = master_with(config(MASTER_ID, EPOCH - 5, key(SECRET, 1)));
    let old = data_message(&mut stale, 0..5, Instant::from_micros(3_000));
    assert_eq!(deliver_rejected(&mut backup, &old).rx_old_epoch, 1);

    // A sender outside the allowed list.
    let mut cfg = config(BACKUP_ID, EPOCH, key(SECRET, 1));
    cfg.allowed_senders = Some(vec![0x0a00_0063]);
    let mut picky = Engine::new(cfg, Instant::ZERO).expect("config");
    transmits(&mut picky);
    let msg = data_message(&mut master, 50..55, Instant::from_micros(4_000));
    assert_eq!(deliver_rejected(&mut picky, &msg).rx_unknown_sender, 1);
    assert_eq!(picky.table_len(), 0);
}

#[test]
fn fault_role_applies_nothing() {
    let mut master = master_with(config(MASTER_ID, EPOCH, Vec::new()));
    let (mut backup, _) = primed_backup(Vec::new(), &mut master);
    backup.handle_role(Instant::from_micros(6_000), Role::Fault);
    transmits(&mut backup);
    let msg = data_message(&mut master, 20..30, Instant::from_micros(7_000));
    assert_eq!(deliver_rejected(&mut backup, &msg).rx_ignored_role, 1);
    assert_eq!(backup.poll_timeout(), None, "FAULT runs no timers");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_or_touch_the_table(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        let mut master = master_with(config(MASTER_ID, EPOCH, Vec::new()));
        let (mut backup, _) = primed_backup(Vec::new(), &mut master);
        deliver_rejected(&mut backup, &bytes);
    }

    #[test]
    fn random_headers_with_valid_checksum_never_panic(
        mut bytes in proptest::collection::vec(any::<u8>(), 20..400),
        kind in 0u8..6,
    ) {
        // Make Size, version and checksum right so deeper checks run.
        let len = bytes.len() & !3;
        bytes.truncate(len);
        bytes[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        bytes[4] = 0x10 | kind;
        bytes[1] = SYNC_ID;
        fix_checksum(&mut bytes);
        let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
        let (mut backup, _) = primed_backup(key(SECRET, 1), &mut master);
        deliver_rejected(&mut backup, &bytes);
    }

    #[test]
    fn tampered_signed_messages_are_rejected(
        index in 0usize..400,
        value in any::<u8>(),
    ) {
        let mut master = master_with(config(MASTER_ID, EPOCH, key(SECRET, 1)));
        let (mut backup, _) = primed_backup(key(SECRET, 1), &mut master);
        let msg = data_message(&mut master, 10..20, Instant::from_micros(2_000));
        let mut bad = msg.to_vec();
        let index = index % bad.len();
        prop_assume!(bad[index] != value && !(CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2).contains(&index));
        bad[index] = value;
        fix_checksum(&mut bad);
        deliver_rejected(&mut backup, &bad);
    }
}
