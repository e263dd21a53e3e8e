//! Convergence under loss, duplication and reordering; restart; role swap.

mod common;

use std::collections::BTreeMap;

use common::{NetConfig, Rng, Sim, random_change, test_config};
use ssyncp_engine::{Change, Duration, Entry, EntryKey, Event, Instant, Role};

const EPOCH: u32 = 1_700_000_000;

/// Feeds `count` random changes to node `master`, one every 0..2 ms.
fn workload(
    sim: &mut Sim,
    rng: &mut Rng,
    master: usize,
    keys: u32,
    count: usize,
    truth: &mut BTreeMap<EntryKey, Entry>,
) {
    for _ in 0..count {
        let gap = Duration::from_micros(rng.below(2_000));
        sim.run_for(gap);
        let change = random_change(rng, keys, truth);
        sim.local_change(master, change);
    }
}

/// Describes how `got` differs from `want` (empty when equal).
fn diff(got: &BTreeMap<EntryKey, Entry>, want: &BTreeMap<EntryKey, Entry>) -> String {
    let missing = want.keys().filter(|k| !got.contains_key(k)).count();
    let extra = got.keys().filter(|k| !want.contains_key(k)).count();
    let changed = want
        .iter()
        .filter(|(k, v)| got.get(k).is_some_and(|g| g != *v))
        .count();
    if missing + extra + changed == 0 {
        String::new()
    } else {
        format!(
            "{missing} missing, {extra} extra, {changed} different of {}",
            want.len()
        )
    }
}

fn assert_converged(sim: &Sim, master: usize, truth: &BTreeMap<EntryKey, Entry>, label: &str) {
    assert_eq!(
        diff(&sim.table(master), truth),
        "",
        "{label}: master table is the truth"
    );
    for i in 0..sim.nodes.len() {
        if i == master {
            continue;
        }
        let c = sim.nodes[i].engine.counters();
        assert_eq!(
            diff(&sim.table(i), truth),
            "",
            "{label}: node {i} engine table; {c:?}"
        );
        assert_eq!(
            diff(&sim.nodes[i].kernel, truth),
            "",
            "{label}: node {i} kernel table"
        );
    }
}

fn assert_in_sync(sim: &Sim, master: usize, label: &str) {
    for i in 0..sim.nodes.len() {
        if i != master {
            assert!(
                sim.nodes[i].engine.is_in_sync(),
                "{label}: node {i} in sync"
            );
        }
    }
}

/// One master, three backups: random inserts, updates and deletes under
/// `loss`, then the network settles (still lossy), then heals.
fn converge_under(loss: f64, seed: u64) -> Sim {
    let configs = (0..4).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(seed, NetConfig::lossy(loss), configs);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut truth = BTreeMap::new();
    sim.run_for(Duration::from_millis(10));
    sim.set_role(0, Role::Master);
    workload(&mut sim, &mut rng, 0, 600, 3_000, &mut truth);
    sim.run_for(Duration::from_secs(15));
    assert_converged(&sim, 0, &truth, "lossy settle");
    sim.net = NetConfig::perfect();
    sim.run_for(Duration::from_secs(3));
    assert_converged(&sim, 0, &truth, "healed");
    assert_in_sync(&sim, 0, "healed");
    let c = sim.nodes[1].engine.counters();
    assert!(
        c.rx_replayed > 0,
        "duplicates were delivered and dropped: {c:?}"
    );
    let m = sim.nodes[0].engine.counters();
    assert!(m.tx_retransmits > 0, "losses were repaired by NACK: {m:?}");
    assert!(m.tx_data_entries > 3_000, "refresh re-sent entries: {m:?}");
    sim
}

#[test]
fn converges_with_10_percent_loss() {
    converge_under(0.10, 1);
}

#[test]
fn converges_with_30_percent_loss() {
    converge_under(0.30, 2);
}

#[test]
fn converges_with_30_percent_loss_other_seeds() {
    for seed in [7, 8, 9] {
        converge_under(0.30, seed);
    }
}

#[test]
fn restarted_backup_converges_via_resync() {
    let configs = (0..3).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(3, NetConfig::lossy(0.1), configs);
    let mut rng = Rng::new(33);
    let mut truth = BTreeMap::new();
    sim.set_role(0, Role::Master);
    workload(&mut sim, &mut rng, 0, 400, 1_000, &mut truth);
    sim.run_for(Duration::from_secs(5));
    assert_converged(&sim, 0, &truth, "before restart");

    // Node 2 goes away for a while, then comes back as a fresh daemon.
    sim.nodes[2].up = false;
    workload(&mut sim, &mut rng, 0, 400, 500, &mut truth);
    sim.nodes[2].up = true;
    sim.restart(2, test_config(2, EPOCH + 100));
    assert_eq!(sim.table(2).len(), 0);
    workload(&mut sim, &mut rng, 0, 400, 500, &mut truth);
    sim.run_for(Duration::from_secs(5));
    sim.net = NetConfig::perfect();
    sim.run_for(Duration::from_secs(2));
    assert_converged(&sim, 0, &truth, "after restart");
    assert_in_sync(&sim, 0, "after restart");
    assert!(sim.nodes[2].engine.counters().bulks_applied >= 1);
}

#[test]
fn role_swap_converges_to_new_master() {
    let configs = (0..3).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(4, NetConfig::lossy(0.1), configs);
    let mut rng = Rng::new(44);
    let mut truth = BTreeMap::new();
    sim.set_role(0, Role::Master);
    workload(&mut sim, &mut rng, 0, 500, 1_500, &mut truth);
    sim.run_for(Duration::from_secs(5));
    assert_converged(&sim, 0, &truth, "before swap");

    // More changes, then swap at once, while messages may still be in flight.
    workload(&mut sim, &mut rng, 0, 500, 200, &mut truth);
    sim.run_for(Duration::from_millis(500));
    sim.set_role(0, Role::Backup);
    let before = sim.nodes[1].commits;
    sim.set_role(1, Role::Master);
    assert_eq!(
        sim.nodes[1].commits,
        before + 1,
        "promotion emits one commit"
    );
    assert_eq!(
        sim.nodes[1].applies_before_commit, sim.nodes[1].applies,
        "commit comes after every apply"
    );
    assert!(sim.nodes[1].engine.epoch() > EPOCH, "new epoch");

    // The new master's truth: what it had received, plus its own changes.
    let mut truth: BTreeMap<EntryKey, Entry> = sim.table(1);
    workload(&mut sim, &mut rng, 1, 500, 1_500, &mut truth);
    sim.run_for(Duration::from_secs(8));
    sim.net = NetConfig::perfect();
    sim.run_for(Duration::from_secs(2));
    assert_converged(&sim, 1, &truth, "after swap");
    assert_in_sync(&sim, 1, "after swap");
    let old_master_events = &sim.nodes[0].events;
    assert!(
        old_master_events
            .iter()
            .any(|e| matches!(e, Event::NewEpoch { sender, .. } if *sender == 0x0a00_0002)),
        "old master saw the new master's epoch"
    );
}

#[test]
fn swap_back_uses_a_higher_epoch_and_converges() {
    let configs = (0..2).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(5, NetConfig::lossy(0.1), configs);
    let mut rng = Rng::new(55);
    let mut truth = BTreeMap::new();
    sim.set_role(0, Role::Master);
    workload(&mut sim, &mut rng, 0, 300, 500, &mut truth);
    sim.run_for(Duration::from_secs(3));
    let first_epoch = sim.nodes[0].engine.epoch();
    for round in 0..3 {
        let (old, new) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        sim.set_role(old, Role::Backup);
        sim.set_role(new, Role::Master);
        let mut truth: BTreeMap<EntryKey, Entry> = sim.table(new);
        workload(&mut sim, &mut rng, new, 300, 300, &mut truth);
        sim.run_for(Duration::from_secs(4));
        sim.net = NetConfig::perfect();
        sim.run_for(Duration::from_secs(2));
        sim.net = NetConfig::lossy(0.1);
        assert_converged(&sim, new, &truth, "swap round");
    }
    assert!(sim.nodes[0].engine.epoch() > first_epoch);
}

#[test]
fn entries_age_out_when_the_master_goes_silent() {
    let mut configs: Vec<_> = (0..2).map(|i| test_config(i, EPOCH)).collect();
    configs[1].stale_after = Duration::from_secs(20);
    configs[1].aging_grace = Duration::from_secs(5);
    let mut sim = Sim::new(6, NetConfig::perfect(), configs);
    sim.set_role(0, Role::Master);
    let short = {
        let mut e = common::ct_entry(2, 0);
        if let ssyncp_wire::v1::EntryBody::Conntrack(flow) = &mut e.body {
            flow.timeout = 3;
        }
        e
    };
    let long = common::ct_entry(4, 0);
    sim.local_change(0, Change::Upsert(short.clone()));
    sim.local_change(0, Change::Upsert(long.clone()));
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.nodes[1].kernel.len(), 2);
    // The master vanishes: no refresh, no DELETE.
    sim.nodes[0].up = false;
    sim.run_for(Duration::from_secs(5));
    assert!(sim.nodes[1].kernel.contains_key(&long.key()));
    assert!(
        sim.nodes[1].kernel.contains_key(&short.key()),
        "3 s + 5 s grace not yet over"
    );
    sim.run_for(Duration::from_secs(5));
    assert!(
        !sim.nodes[1].kernel.contains_key(&short.key()),
        "short entry aged out"
    );
    assert!(sim.nodes[1].kernel.contains_key(&long.key()));
    sim.run_for(Duration::from_secs(12));
    assert!(
        sim.nodes[1].kernel.is_empty(),
        "stale cap expired the long entry"
    );
    assert_eq!(sim.nodes[1].engine.counters().expired, 2);
    assert_eq!(sim.table(1).len(), 0);
}

#[test]
fn lost_deletes_are_swept_by_the_next_bulk() {
    let configs = (0..2).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(7, NetConfig::perfect(), configs);
    let mut truth = BTreeMap::new();
    sim.set_role(0, Role::Master);
    for id in 0..50 {
        let e = common::ct_entry(id, 1);
        truth.insert(e.key(), e.clone());
        sim.local_change(0, Change::Upsert(e));
    }
    sim.run_for(Duration::from_millis(100));
    // Deletes sent while the backup is away, beyond what NACKs could repair
    // (the backup never learns they existed).
    sim.nodes[1].up = false;
    for id in 0..20 {
        let key = common::ct_entry(id, 1).key();
        truth.remove(&key);
        sim.local_change(0, Change::Delete(key));
    }
    sim.run_for(Duration::from_millis(10));
    sim.nodes[1].up = true;
    // The backup asks for a resync (e.g. after a restart of the link).
    sim.set_role(1, Role::Fault);
    sim.set_role(1, Role::Backup);
    sim.run_for(Duration::from_secs(1));
    assert_converged(&sim, 0, &truth, "after sweep");
    assert!(sim.nodes[1].engine.counters().swept >= 20);
}

#[test]
fn bulk_is_paced_per_tick() {
    let mut configs: Vec<_> = (0..2).map(|i| test_config(i, EPOCH)).collect();
    configs[0].bulk_messages_per_tick = 4;
    configs[0].bulk_interval = Duration::from_millis(1);
    configs[0].refresh_period = Duration::ZERO;
    let mut sim = Sim::new(8, NetConfig::perfect(), configs);
    sim.set_role(0, Role::Master);
    let mut truth = BTreeMap::new();
    for id in 0..2_000 {
        let e = common::ct_entry(id * 2, 1); // IPv4 flows: 33 per message
        truth.insert(e.key(), e.clone());
        sim.local_change(0, Change::Upsert(e));
    }
    sim.run_for(Duration::from_millis(50));
    let sent_before = sim.nodes[0].engine.counters().tx_messages;
    // A second node joins and asks for a resync: 2000 / 33 = 61 messages.
    sim.set_role(1, Role::Fault);
    sim.set_role(1, Role::Backup);
    let start = sim.now;
    sim.run_until(start + Duration::from_micros(500));
    let after_first_tick = sim.nodes[0].engine.counters().tx_messages - sent_before;
    assert!(
        after_first_tick <= 4,
        "first tick sends at most 4, sent {after_first_tick}"
    );
    sim.run_until(start + Duration::from_millis(30));
    assert_converged(&sim, 0, &truth, "paced bulk");
    assert!(
        sim.nodes[1].engine.is_in_sync(),
        "{:?} {:?}",
        sim.nodes[1].events,
        sim.nodes[1].engine.counters()
    );
    assert!(sim.now >= Instant::ZERO);
}

#[test]
fn changes_reach_the_backup_within_the_flush_delay() {
    let configs = (0..2).map(|i| test_config(i, EPOCH)).collect();
    let mut sim = Sim::new(9, NetConfig::perfect(), configs);
    sim.set_role(0, Role::Master);
    sim.run_for(Duration::from_millis(50));
    let entry = common::ct_entry(10, 1);
    let start = sim.now;
    sim.local_change(0, Change::Upsert(entry.clone()));
    sim.run_until(start + Duration::from_micros(1_900));
    assert!(
        !sim.nodes[1].kernel.contains_key(&entry.key()),
        "held for batching"
    );
    // 2 ms flush delay + 0.1 ms network: far inside the 20 ms lag target.
    sim.run_until(start + Duration::from_micros(2_200));
    assert_eq!(sim.nodes[1].kernel.get(&entry.key()), Some(&entry));
}
