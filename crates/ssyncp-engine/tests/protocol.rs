//! Targeted protocol behaviour: packing and flush delay, NACK service,
//! gap handling, the commit barrier, ALIVE, and input validation.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{SYNC_ID, ct_entry};
use ssyncp_engine::{
    Apply, ByteOptions, Change, ChangeError, Config, Destination, Duration, Engine, Event, Instant,
    Output, OwnedOptions, ResyncReason, Role, Transmit,
};
use ssyncp_wire::v1::{
    ControlBody, Flags, Header, MessageType, MessageView, Nack, NackRanges, SeqRange, emit_control,
};

const EPOCH: u32 = 1_700_000_000;
const MASTER_ID: u32 = 0x0a00_0001;
const BACKUP_ID: u32 = 0x0a00_0002;

fn addr(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, host))
}

fn at(millis: u64) -> Instant {
    Instant::from_micros(millis * 1_000)
}

fn outputs(engine: &mut Engine) -> Vec<Output> {
    std::iter::from_fn(|| engine.poll_output()).collect()
}

fn transmits(engine: &mut Engine) -> Vec<Transmit> {
    outputs(engine)
        .into_iter()
        .filter_map(|o| match o {
            Output::Transmit(tx) => Some(tx),
            _ => None,
        })
        .collect()
}

fn master(cfg: Config) -> (Engine, Vec<Transmit>) {
    let mut m = Engine::new(cfg, Instant::ZERO).expect("config");
    m.handle_role(Instant::ZERO, Role::Master);
    let initial = transmits(&mut m);
    (m, initial)
}

fn view(tx: &Transmit) -> MessageView<'_> {
    MessageView::parse(&tx.bytes).expect("engine output parses")
}

fn upsert(m: &mut Engine, now: Instant, id: u32) {
    // Even ids are IPv4 conntrack flows: 44 bytes, 33 per 1500-byte message.
    let ok = m
        .handle_local_change(now, Change::Upsert(ct_entry(id * 2, 1)))
        .expect("encodable");
    assert!(ok);
}

#[test]
fn full_messages_leave_at_once_and_partial_ones_after_the_flush_delay() {
    let (mut m, initial) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    // The startup RESYNC_REQ (sent as BACKUP), then the empty promotion bulk.
    assert_eq!(initial.len(), 2);
    assert_eq!(view(&initial[0]).header().kind, MessageType::ResyncReq);
    assert!(
        view(&initial[1])
            .header()
            .flags
            .contains(Flags::BULK_START | Flags::BULK_END)
    );
    for id in 0..33 {
        upsert(&mut m, at(1), id);
    }
    assert!(transmits(&mut m).is_empty(), "33 entries still fit");
    upsert(&mut m, at(1), 33);
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(view(&sent[0]).count(), 33, "filled to MTU 1500");
    assert_eq!(sent[0].bytes.len(), 20 + 33 * 44);
    assert_eq!(sent[0].destination, Destination::Group);
    assert_eq!(view(&sent[0]).header().sequence, 2);
    assert_eq!(m.poll_timeout(), Some(at(3)), "flush delay 2 ms");
    m.handle_timeout(at(2));
    assert!(transmits(&mut m).is_empty(), "not yet");
    m.handle_timeout(at(3));
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(view(&sent[0]).count(), 1);
    assert_eq!(view(&sent[0]).header().sequence, 3);
}

fn nack_from_backup(target_epoch: u32, from: u32, to: u32) -> Vec<u8> {
    let header = Header {
        sync_id: SYNC_ID,
        kind: MessageType::Nack,
        flags: Flags::default(),
        sender_id: BACKUP_ID,
        epoch: EPOCH,
        sequence: from, // any fresh number
    };
    let body = ControlBody::Nack(Nack {
        target_sender: MASTER_ID,
        target_epoch,
        ranges: NackRanges::from_slice(&[SeqRange { from, to }]).expect("one range"),
    });
    let mut buf = [0u8; 128];
    emit_control(&mut buf, &header, &body)
        .expect("fits")
        .to_vec()
}

#[test]
fn nacks_are_served_from_the_ring_or_answered_with_a_bulk() {
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.ring_messages = 4;
    let (mut m, _) = master(cfg);
    let mut sent = Vec::new();
    for round in 0..8u32 {
        for id in 0..34 {
            upsert(&mut m, at(1), round * 34 + id);
        }
        sent.extend(transmits(&mut m));
    }
    let epoch = m.epoch();
    let last = view(sent.last().expect("sent")).header().sequence;
    m.handle_datagram(at(2), addr(2), &nack_from_backup(epoch, last - 1, last));
    let resent = transmits(&mut m);
    assert_eq!(resent.len(), 2);
    assert_eq!(
        resent[0].bytes,
        sent[sent.len() - 2].bytes,
        "verbatim resend"
    );
    assert_eq!(resent[1].bytes, sent[sent.len() - 1].bytes);
    assert_eq!(resent[0].destination, Destination::Unicast(addr(2)));
    assert_eq!(m.counters().tx_retransmits, 2);
    assert!(!m.bulk_in_progress());

    // Sequence 2 left the 4-message ring long ago.
    m.handle_datagram(at(3), addr(2), &nack_from_backup(epoch, 2, 2));
    let out = transmits(&mut m);
    assert_eq!(m.counters().nack_misses, 1);
    assert_eq!(m.counters().bulks_started, 2, "promotion bulk + this one");
    let first = view(&out[0]);
    assert_eq!(first.header().kind, MessageType::Bulk);
    assert!(first.header().flags.contains(Flags::BULK_START));
    let bulk_entries: usize = out.iter().map(|tx| view(tx).entries().count()).sum();
    assert_eq!(
        bulk_entries,
        m.table_len(),
        "whole table in one unpaced tick"
    );
    assert!(
        view(out.last().expect("bulk"))
            .header()
            .flags
            .contains(Flags::BULK_END)
    );
}

#[test]
fn a_gap_is_nacked_and_given_up_after_the_retries() {
    let (mut m, initial) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    outputs(&mut b);
    for tx in &initial {
        b.handle_datagram(at(0), addr(1), &tx.bytes);
    }
    let mut data = Vec::new();
    for round in 0..3u32 {
        for id in 0..34 {
            upsert(&mut m, at(1), round * 34 + id);
        }
        data.extend(transmits(&mut m));
    }
    assert_eq!(data.len(), 3);
    outputs(&mut b);
    // The first DATA message is lost.
    let lost_seq = view(&data[0]).header().sequence;
    b.handle_datagram(at(1), addr(1), &data[1].bytes);
    b.handle_datagram(at(1), addr(1), &data[2].bytes);
    assert!(
        !outputs(&mut b)
            .iter()
            .any(|o| matches!(o, Output::Apply(_))),
        "nothing applied past the gap"
    );
    assert!(!b.is_in_sync());
    assert_eq!(
        b.poll_timeout(),
        Some(Instant::from_micros(6_000)),
        "NACK after 5 ms"
    );
    b.handle_timeout(Instant::from_micros(6_000));
    let nack = transmits(&mut b);
    assert_eq!(nack.len(), 1);
    assert_eq!(nack[0].destination, Destination::Unicast(addr(1)));
    let Some(ControlBody::Nack(body)) = view(&nack[0]).control() else {
        panic!("a NACK")
    };
    assert_eq!(body.target_sender, MASTER_ID);
    assert_eq!(
        body.ranges.as_slice(),
        &[SeqRange {
            from: lost_seq,
            to: lost_seq
        }]
    );
    // Nobody answers: four more NACKs 100 ms apart, then the gap is given up.
    let mut now = Instant::from_micros(6_000);
    for _ in 0..4 {
        now += Duration::from_millis(100);
        b.handle_timeout(now);
        assert_eq!(transmits(&mut b).len(), 1, "NACK repeated");
    }
    now += Duration::from_millis(100);
    b.handle_timeout(now);
    let out = outputs(&mut b);
    let applied = out
        .iter()
        .filter(|o| matches!(o, Output::Apply(Apply::Create(_) | Apply::Upsert(_))))
        .count();
    // 34 changes per round make full messages of 33: the two after the gap.
    assert_eq!(applied, 66, "messages after the gap applied in order");
    assert!(out.contains(&Output::Event(Event::ResyncRequested(
        ResyncReason::GapGivenUp
    ))));
    assert_eq!(b.counters().nacks_sent, 5);
    assert_eq!(b.counters().gaps_given_up, 1);
    // The late original is dropped as late, not applied out of order.
    b.handle_datagram(now, addr(1), &data[0].bytes);
    assert_eq!(b.counters().rx_late, 1);
    assert!(
        !outputs(&mut b)
            .iter()
            .any(|o| matches!(o, Output::Apply(_)))
    );
}

#[test]
fn promotion_applies_everything_received_before_the_commit() {
    let (mut m, initial) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    for tx in &initial {
        b.handle_datagram(at(0), addr(1), &tx.bytes);
    }
    let mut data = Vec::new();
    for round in 0..3u32 {
        for id in 0..34 {
            upsert(&mut m, at(1), round * 34 + id);
        }
        data.extend(transmits(&mut m));
    }
    b.handle_datagram(at(1), addr(1), &data[0].bytes);
    b.handle_datagram(at(1), addr(1), &data[2].bytes); // data[1] is missing
    outputs(&mut b);
    assert_eq!(b.table_len(), 33);

    b.handle_role(at(2), Role::Master);
    let out = outputs(&mut b);
    let commit = out
        .iter()
        .position(|o| *o == Output::Commit)
        .expect("commit");
    let applies = out.iter().filter(|o| matches!(o, Output::Apply(_))).count();
    assert_eq!(applies, 33, "the buffered message was applied");
    assert!(
        out[..commit]
            .iter()
            .filter(|o| matches!(o, Output::Apply(_)))
            .count()
            == applies
    );
    assert_eq!(b.table_len(), 66);
    assert_eq!(b.epoch(), EPOCH + 1);
    let Output::Transmit(first) = &out[commit + 2] else {
        panic!("bulk after commit and BulkStarted: {:?}", &out[commit..])
    };
    let header = view(first).header();
    assert_eq!(
        (header.kind, header.epoch, header.sequence),
        (MessageType::Bulk, EPOCH + 1, 1)
    );
}

#[test]
fn a_key_new_to_the_table_is_a_create_and_later_copies_are_upserts() {
    let (mut m, initial) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    for tx in &initial {
        b.handle_datagram(at(0), addr(1), &tx.bytes);
    }
    outputs(&mut b);
    let entry = ct_entry(2, 1);
    let mut deliver = |m: &mut Engine, change: Change, now: u64| {
        m.handle_local_change(at(now), change).expect("encodable");
        m.handle_timeout(at(now + 10)); // past the flush delay
        for tx in transmits(m) {
            b.handle_datagram(at(now + 10), addr(1), &tx.bytes);
        }
        outputs(&mut b)
            .into_iter()
            .filter_map(|o| match o {
                Output::Apply(apply) => Some(apply),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        deliver(&mut m, Change::Upsert(entry.clone()), 1),
        [Apply::Create(entry.clone())]
    );
    let changed = ct_entry(2, 2);
    assert_eq!(
        deliver(&mut m, Change::Upsert(changed.clone()), 100),
        [Apply::Upsert(changed)]
    );
    assert_eq!(
        deliver(&mut m, Change::Delete(entry.key()), 200),
        [Apply::Delete(entry.key())]
    );
    assert_eq!(
        deliver(&mut m, Change::Upsert(entry.clone()), 300),
        [Apply::Create(entry)],
        "a key deleted from the table is created again"
    );
}

#[test]
fn alive_goes_out_when_idle_with_the_live_count() {
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.refresh_period = Duration::ZERO;
    let (mut m, _) = master(cfg);
    upsert(&mut m, at(1), 1);
    m.handle_timeout(at(3));
    assert_eq!(transmits(&mut m).len(), 1);
    assert_eq!(m.poll_timeout(), Some(at(3) + Duration::from_secs(1)));
    m.handle_timeout(at(3) + Duration::from_secs(1));
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 1);
    assert_eq!(view(&sent[0]).header().kind, MessageType::Alive);
    let Some(ControlBody::Alive(alive)) = view(&sent[0]).control() else {
        panic!("ALIVE")
    };
    assert_eq!(alive.live_entries, 1);
}

#[test]
fn invalid_local_changes_are_refused_and_backups_ignore_them() {
    let (mut m, _) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    let mut entry = ct_entry(2, 1);
    entry.options = OwnedOptions {
        bytes: Some(Box::new(ByteOptions {
            helper: Some(vec![b'x'; 17]),
            ..ByteOptions::default()
        })),
        ..OwnedOptions::default()
    };
    let err = m
        .handle_local_change(at(1), Change::Upsert(entry))
        .expect_err("too long");
    assert!(matches!(err, ChangeError::OptionLength { len: 17, .. }));
    assert_eq!(m.table_len(), 0);

    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    assert_eq!(
        b.handle_local_change(at(1), Change::Upsert(ct_entry(2, 1))),
        Ok(false)
    );
    assert_eq!(b.table_len(), 0);
}

#[test]
fn configs_are_validated() {
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.mtu = 100;
    assert!(Engine::new(cfg, Instant::ZERO).is_err());
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.replay_window = 100;
    assert!(Engine::new(cfg, Instant::ZERO).is_err());
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.auth_keys = vec![ssyncp_wire::v1::AuthKey::new(SYNC_ID + 1, 1, b"k")];
    assert!(Engine::new(cfg, Instant::ZERO).is_err());
}

#[test]
fn the_table_is_bounded() {
    let mut cfg = Config::new(SYNC_ID, MASTER_ID, EPOCH);
    cfg.max_entries = 40;
    let (mut m, initial) = master(cfg);
    for id in 0..40 {
        upsert(&mut m, at(1), id);
    }
    let err = m
        .handle_local_change(at(1), Change::Upsert(ct_entry(1000, 1)))
        .expect_err("full");
    assert_eq!(err, ChangeError::TableFull(40));
    // Updating an existing entry is still fine.
    upsert(&mut m, at(1), 5);
    m.handle_timeout(at(5));
    let data = transmits(&mut m);

    let mut cfg = Config::new(SYNC_ID, BACKUP_ID, EPOCH);
    cfg.max_entries = 30;
    let mut b = Engine::new(cfg, Instant::ZERO).expect("cfg");
    for tx in initial.iter().chain(&data) {
        b.handle_datagram(at(6), addr(1), &tx.bytes);
    }
    assert_eq!(b.table_len(), 30);
    assert_eq!(b.counters().table_full, 10);
}

#[test]
fn one_nack_resends_at_most_256_messages() {
    let (mut m, _) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    for id in 0..300 * 33 + 1 {
        upsert(&mut m, at(1), id);
    }
    let sent = transmits(&mut m);
    assert_eq!(sent.len(), 300);
    let first = view(&sent[0]).header().sequence;
    let last = view(&sent[299]).header().sequence;
    m.handle_datagram(at(2), addr(2), &nack_from_backup(m.epoch(), first, last));
    assert_eq!(transmits(&mut m).len(), 256);
    assert_eq!(m.counters().nack_misses, 0, "capped, not missing: no bulk");
    assert!(!m.bulk_in_progress());
}

#[test]
fn a_sender_heard_mid_epoch_triggers_a_resync() {
    let (mut m, _) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    for id in 0..300 * 33 + 1 {
        upsert(&mut m, at(1), id);
    }
    let sent = transmits(&mut m);
    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    outputs(&mut b);
    // Later than the startup request's 100 ms hold-off, so a new one goes out.
    b.handle_datagram(at(200), addr(1), &sent[299].bytes);
    let out = outputs(&mut b);
    assert!(out.contains(&Output::Event(Event::ResyncRequested(
        ResyncReason::NewSender
    ))));
    let resync = out
        .iter()
        .find_map(|o| match o {
            Output::Transmit(tx) => Some(tx),
            _ => None,
        })
        .expect("RESYNC_REQ sent");
    assert_eq!(resync.destination, Destination::Unicast(addr(1)));
    assert_eq!(view(resync).header().kind, MessageType::ResyncReq);
    assert_eq!(b.table_len(), 33, "the message itself is applied");
    assert!(!b.is_in_sync());
}

#[test]
fn data_from_two_senders_is_reported_as_split_brain() {
    let (mut a, a_initial) = master(Config::new(SYNC_ID, MASTER_ID, EPOCH));
    let (mut c, c_initial) = master(Config::new(SYNC_ID, 0x0a00_0003, EPOCH));
    let mut b = Engine::new(Config::new(SYNC_ID, BACKUP_ID, EPOCH), Instant::ZERO).expect("cfg");
    for tx in &a_initial {
        b.handle_datagram(at(1), addr(1), &tx.bytes);
    }
    for tx in &c_initial {
        b.handle_datagram(at(1), addr(3), &tx.bytes);
    }
    upsert(&mut a, at(2), 1);
    a.handle_timeout(at(5));
    for tx in transmits(&mut a) {
        b.handle_datagram(at(5), addr(1), &tx.bytes);
    }
    let out = outputs(&mut b);
    assert!(out.contains(&Output::Event(Event::SplitBrainSuspected {
        sender: MASTER_ID
    })));
    // A master that receives another master's data reports it once.
    upsert(&mut c, at(2), 2);
    c.handle_timeout(at(5));
    for tx in transmits(&mut c) {
        a.handle_datagram(at(6), addr(3), &tx.bytes);
        a.handle_datagram(at(6), addr(3), &tx.bytes);
    }
    let events: Vec<_> = outputs(&mut a)
        .into_iter()
        .filter(|o| matches!(o, Output::Event(Event::SplitBrainSuspected { .. })))
        .collect();
    assert_eq!(events.len(), 1);
    assert_eq!(a.counters().rx_ignored_role, 1);
    assert_eq!(a.counters().rx_replayed, 1);
    assert_eq!(a.table_len(), 1, "nothing applied while MASTER");
}
