//! AH sequence handling across transitions (vrrp.md §2.3, §2.5).

mod common;
use common::*;
use vrrp_fsm::*;

fn ah_cfg(prio: u8) -> InstanceConfig {
    let mut c = cfg(prio);
    c.auth = AuthKind::Ah;
    c
}

fn ah_adv(source: core::net::Ipv4Addr, priority: u8, seq: u32) -> AdvertRx {
    AdvertRx {
        ah_seq: Some(seq),
        ..adv(source, priority)
    }
}

#[test]
fn new_master_continues_at_last_seen_plus_one() {
    // §2.5: A sent 3..7 and was killed; B's first advert as master carried 8.
    let mut b = started(ah_cfg(100), t(0));
    for (k, s) in (3..=7).enumerate() {
        b.handle_advert(t(1_000_000 * k as u64), ah_adv(PEER_HIGH, 150, s));
    }
    let at = b.poll_timeout().unwrap();
    assert_eq!(at, t(4_000_000 + 3_609_375));
    b.handle_timeout(at);
    let out = drain(&mut b);
    assert_eq!(adverts(&out)[0].ah_seq, Some(8));
    // Shutdown: priority 0 carries the next number.
    b.handle_admin(at + us(1), Admin::Shutdown).unwrap();
    let out = drain(&mut b);
    assert_eq!(adverts(&out)[0].priority, 0);
    assert_eq!(adverts(&out)[0].ah_seq, Some(9));
}

#[test]
fn replay_is_dropped_and_does_not_reset_the_timer() {
    let mut b = started(ah_cfg(100), t(0));
    b.handle_advert(t(1_000_000), ah_adv(PEER_HIGH, 150, 10));
    b.handle_advert(t(2_000_000), ah_adv(PEER_HIGH, 150, 10));
    let out = drain(&mut b);
    assert_eq!(
        out,
        vec![Output::Event(Event::AdvertDropped {
            source: PEER_HIGH,
            reason: DropReason::Replay {
                received: 10,
                watermark: 10
            }
        })]
    );
    assert_eq!(b.poll_timeout(), Some(t(4_609_375)));
    assert_eq!(b.stats().replay_dropped, 1);
    // Missing AH on an AH instance: dropped as an auth mismatch.
    b.handle_advert(t(2_000_000), adv(PEER_HIGH, 150));
    assert_eq!(b.stats().auth_mismatch, 1);
}

#[test]
fn watermark_moves_before_the_priority_decision() {
    // A preempting backup discards the lower-priority advert but learns its sequence.
    let mut a = started(ah_cfg(150), t(0));
    a.handle_advert(t(1_000_000), ah_adv(PEER_LOW, 100, 41));
    assert_eq!(a.stats().lower_priority_discarded, 1);
    assert_eq!(a.ah_counter(), 41);
    a.handle_timeout(t(3_414_062));
    assert_eq!(adverts(&drain(&mut a))[0].ah_seq, Some(42));
}

#[test]
fn master_hearing_lower_priority_resyncs_then_readvertises() {
    let (mut m, at) = master(ah_cfg(150));
    assert_eq!(m.ah_counter(), 1);
    m.handle_advert(at + us(1), ah_adv(PEER_LOW, 100, 500));
    let out = drain(&mut m);
    assert_eq!(
        adverts(&out)[0].ah_seq,
        Some(502),
        "received + 1, then the advert increments"
    );
}

#[test]
fn master_yielding_keeps_the_received_counter() {
    let (mut m, at) = master(ah_cfg(100));
    m.handle_advert(at + us(1), ah_adv(PEER_HIGH, 150, 77));
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.ah_counter(), 77);
}

#[test]
fn promotion_after_fault_jumps_the_counter_keepalived_mode_does_not() {
    for slack in [Some(8), None] {
        let mut c = ah_cfg(100);
        c.ah_resync_slack = slack;
        let mut b = started(c, t(0));
        b.handle_advert(t(1_000_000), ah_adv(PEER_HIGH, 150, 20));
        b.handle_link(t(1_500_000), LinkState::Down);
        // Ten seconds in FAULT: the master kept sending ~10 adverts we never saw.
        b.handle_link(t(11_500_000), LinkState::Up);
        let at = b.poll_timeout().unwrap();
        b.handle_timeout(at);
        let out = drain(&mut b);
        let seq = adverts(&out)[0].ah_seq.unwrap();
        match slack {
            None => assert_eq!(seq, 21),
            Some(s) => {
                // 14.109375 s since the last sync → 14 + 1 intervals, ×2, + slack, + 1.
                assert_eq!(seq, 20 + 15 * 2 + s + 1);
            }
        }
    }
}

#[test]
fn ah_owner_listens_one_interval_before_going_master() {
    let mut o = Router::new(ah_cfg(255)).unwrap();
    o.handle_admin(t(0), Admin::Startup).unwrap();
    assert_eq!(o.state(), State::Backup);
    assert_eq!(o.poll_timeout(), Some(t(1_003_906)));
    // It hears the current (lower-priority) master and learns its sequence.
    o.handle_advert(t(500_000), ah_adv(PEER_LOW, 100, 900));
    assert_eq!(o.stats().lower_priority_discarded, 1);
    o.handle_timeout(t(1_003_906));
    let out = drain(&mut o);
    assert_eq!(o.state(), State::Master);
    assert_eq!(adverts(&out)[0].ah_seq, Some(901));
}

#[test]
fn lockstep_masters_break_the_tie_by_address() {
    // Our counter is 1 after becoming master; a peer master sends the same value.
    let (mut m, at) = master(ah_cfg(100));
    assert_eq!(m.ah_counter(), 1);
    m.handle_advert(at + us(1), ah_adv(PEER_HIGH, 100, 1));
    assert_eq!(
        m.ah_counter(),
        1,
        "the higher address does not need to move"
    );
    m.handle_advert(at + us(2), ah_adv(PEER_LOW, 100, 1));
    assert_eq!(m.ah_counter(), 2, "we hold the higher address: step ahead");
    m.handle_advert(at + us(3), ah_adv(PEER_LOW, 100, 1));
    assert_eq!(m.ah_counter(), 2, "an older value never moves it again");
    assert_eq!(m.stats().replay_dropped, 3);
}
