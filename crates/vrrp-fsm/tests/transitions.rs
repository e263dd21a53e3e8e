//! One test per row of keepalived's transition table (vrrp.md §3.11) and per timer
//! formula, with exact virtual times.

mod common;
use common::*;
use vrrp_fsm::*;

#[test]
fn timer_formulas_match_keepalived_integer_microseconds() {
    assert_eq!(skew_time(100), us(609_375));
    assert_eq!(skew_time(150), us(414_062));
    assert_eq!(skew_time(254), us(7_812));
    assert_eq!(skew_time(1), us(996_093));
    assert_eq!(skew_time(255), us(3_906));
    let one = Duration::from_secs(1);
    assert_eq!(master_down_interval(one, 3, 100), us(3_609_375));
    assert_eq!(master_down_interval(one, 3, 150), us(3_414_062));
    // Skew is not multiplied by the interval: advert_int 2, priority 200 → 6.21875 s
    // (keepalived log in the e-multivip capture: 6.219 s).
    assert_eq!(
        master_down_interval(Duration::from_secs(2), 3, 200),
        us(6_218_750)
    );
    assert_eq!(master_down_interval(one, 1, 100), us(1_609_375));
}

#[test]
fn init_start_owner_goes_master_at_once() {
    let mut r = Router::new(cfg(255)).unwrap();
    r.handle_admin(t(7), Admin::Startup).unwrap();
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Init, State::Master, Reason::Owner)]
    );
    let a = adverts(&out);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].priority, 255);
    assert_eq!(
        effects(&out),
        vec![
            Effect::RemoveVips(vec![VIP]), // startup clean-up
            Effect::SyncCommit,
            Effect::InstallVips(vec![VIP]),
            Effect::Garp {
                vips: vec![VIP],
                repeat: 5
            },
        ]
    );
    // The advert precedes the VIPs (the old master can release first).
    let advert_pos = out
        .iter()
        .position(|o| matches!(o, Output::Advert(_)))
        .unwrap();
    let vip_pos = out
        .iter()
        .position(|o| {
            matches!(
                o,
                Output::Effect {
                    effect: Effect::InstallVips(_),
                    ..
                }
            )
        })
        .unwrap();
    assert!(advert_pos < vip_pos);
    assert_eq!(r.poll_timeout(), Some(t(1_000_007)));
}

#[test]
fn init_start_non_owner_goes_backup_with_master_down_timer() {
    let mut r = Router::new(cfg(100)).unwrap();
    r.handle_admin(t(0), Admin::Startup).unwrap();
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Init, State::Backup, Reason::Startup)]
    );
    assert!(adverts(&out).is_empty());
    assert_eq!(r.poll_timeout(), Some(t(3_609_375)));
}

#[test]
fn init_start_with_fault_condition_goes_fault() {
    let mut r = Router::new(cfg(100)).unwrap();
    r.handle_link(t(0), LinkState::Down);
    assert!(drain(&mut r).is_empty(), "no transition before startup");
    r.handle_admin(t(0), Admin::Startup).unwrap();
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Init, State::Fault, Reason::LinkDown)]
    );
    assert_eq!(r.poll_timeout(), None);

    // A weight-0 tracker that has not reported yet holds the instance in FAULT.
    let mut c = cfg(100);
    c.trackers = vec![TrackerConfig {
        initial: None,
        ..TrackerConfig::fault_when_down(TrackId(4))
    }];
    let mut r = Router::new(c).unwrap();
    r.handle_admin(t(0), Admin::Startup).unwrap();
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Init, State::Fault, Reason::TrackerDown(TrackId(4)))]
    );
    r.handle_track(t(10), TrackId(4), TrackStatus::Up);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(r.poll_timeout(), Some(t(10 + 3_609_375)));
}

#[test]
fn backup_down_timer_fires_exactly_at_master_down_interval() {
    let mut r = started(cfg(100), t(0));
    r.handle_timeout(t(3_609_374));
    assert!(drain(&mut r).is_empty(), "early call is harmless");
    assert_eq!(r.state(), State::Backup);
    r.handle_timeout(t(3_609_375));
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Backup, State::Master, Reason::MasterDown)]
    );
    assert_eq!(adverts(&out)[0].priority, 100);
    assert!(effects(&out).contains(&Effect::InstallVips(vec![VIP])));
    assert!(effects(&out).contains(&Effect::Garp {
        vips: vec![VIP],
        repeat: 5
    }));
    // Next advert one interval later.
    assert_eq!(r.poll_timeout(), Some(t(4_609_375)));
}

#[test]
fn backup_priority_zero_sets_skew_timer() {
    let mut r = started(cfg(100), t(0));
    r.handle_advert(t(1_000_000), adv(PEER_HIGH, 150));
    r.handle_advert(t(1_500_000), adv(PEER_HIGH, 0));
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), Some(t(1_500_000 + 609_375)));
    r.handle_timeout(t(2_109_375));
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Backup, State::Master, Reason::PriorityZero)]
    );
    assert_eq!(r.stats().pri_zero_received, 1);
}

#[test]
fn backup_higher_or_equal_priority_resets_master_down() {
    let mut r = started(cfg(100), t(0));
    r.handle_advert(t(2_000_000), adv(PEER_HIGH, 150));
    assert_eq!(r.poll_timeout(), Some(t(5_609_375)));
    // Equal priority counts as ">=": no address tie-break in BACKUP, even from a lower address.
    r.handle_advert(t(3_000_000), adv(PEER_LOW, 100));
    assert_eq!(r.poll_timeout(), Some(t(6_609_375)));
    assert!(drain(&mut r).is_empty());
}

#[test]
fn backup_lower_priority_is_discarded_and_timer_keeps_running() {
    let mut r = started(cfg(100), t(0));
    r.handle_advert(t(1_000_000), adv(PEER_LOW, 50));
    r.handle_advert(t(2_000_000), adv(PEER_LOW, 50));
    assert_eq!(r.poll_timeout(), Some(t(3_609_375)));
    assert_eq!(r.stats().lower_priority_discarded, 2);
    r.handle_timeout(t(3_609_375));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn backup_nopreempt_accepts_lower_priority() {
    let mut c = cfg(150);
    c.preempt = false;
    let mut r = started(c, t(0));
    r.handle_advert(t(1_000_000), adv(PEER_LOW, 100));
    assert_eq!(r.poll_timeout(), Some(t(1_000_000 + 3_414_062)));
    // Priority 0 still triggers the skew takeover (f-nopreempt: 0.414 s).
    r.handle_advert(t(2_000_000), adv(PEER_LOW, 0));
    assert_eq!(r.poll_timeout(), Some(t(2_414_062)));
}

#[test]
fn backup_preempt_hold_accepts_lower_priority_until_released() {
    // A rebooted router (150, preempt) whose state sync is incomplete: held, it follows
    // the live master of priority 100 like `nopreempt` would.
    let mut r = started(cfg(150), t(0));
    r.handle_admin(t(500_000), Admin::HoldPreempt(true))
        .unwrap();
    for k in 1..=10 {
        r.handle_advert(t(k * 1_000_000), adv(PEER_LOW, 100));
        r.handle_timeout(t(k * 1_000_000 + 1));
        assert_eq!(r.state(), State::Backup, "preempted while held ({k} s)");
    }
    assert_eq!(r.poll_timeout(), Some(t(10_000_000 + 3_414_062)));
    assert_eq!(r.stats().lower_priority_discarded, 0);
    // Released: the next lower-priority adverts are ignored, Master_Down runs out.
    r.handle_admin(t(10_500_000), Admin::HoldPreempt(false))
        .unwrap();
    r.handle_advert(t(11_000_000), adv(PEER_LOW, 100));
    r.handle_advert(t(12_000_000), adv(PEER_LOW, 100));
    assert_eq!(r.stats().lower_priority_discarded, 2);
    r.handle_timeout(t(13_414_062));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn backup_preempt_hold_still_takes_over_from_a_silent_master() {
    let mut r = started(cfg(150), t(0));
    r.handle_admin(t(0), Admin::HoldPreempt(true)).unwrap();
    r.handle_advert(t(1_000_000), adv(PEER_LOW, 100));
    // The master dies: held or not, Master_Down makes this router master.
    r.handle_timeout(t(1_000_000 + 3_414_062));
    assert_eq!(r.state(), State::Master);
    // Priority 0 from the master is a resignation: skew time, as always.
    let mut r = started(cfg(150), t(0));
    r.handle_admin(t(0), Admin::HoldPreempt(true)).unwrap();
    r.handle_advert(t(1_000_000), adv(PEER_LOW, 100));
    r.handle_advert(t(2_000_000), adv(PEER_LOW, 0));
    assert_eq!(r.poll_timeout(), Some(t(2_414_062)));
}

#[test]
fn backup_preempt_delay_window_then_takeover() {
    // f-preempt-delay: window starts with the first lower advert, adverts accepted for
    // 5 s, then discarded; MASTER 3.414 s after the last accepted one.
    let mut c = cfg(150);
    c.preempt_delay = Duration::from_secs(5);
    let mut r = started(c, t(0));
    let mut last_accepted = None;
    for k in 0..8u64 {
        let at = t(280_000 + k * 1_000_000);
        r.handle_timeout(at);
        r.handle_advert(at, adv(PEER_LOW, 100));
        assert_eq!(r.state(), State::Backup);
        if at < t(5_280_000) {
            assert_eq!(
                r.poll_timeout(),
                Some(at + us(3_414_062)),
                "accepted at {at}"
            );
            last_accepted = Some(at);
        }
    }
    let last = last_accepted.unwrap();
    assert_eq!(last, t(4_280_000));
    assert_eq!(r.poll_timeout(), Some(last + us(3_414_062)));
    assert!(r.stats().lower_priority_discarded >= 3);
    r.handle_timeout(last + us(3_414_062));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn backup_preempt_delay_window_cancelled_by_higher_priority() {
    let mut c = cfg(150);
    c.preempt_delay = Duration::from_secs(2);
    let mut r = started(c, t(0));
    r.handle_advert(t(100_000), adv(PEER_LOW, 100)); // window until 2.1 s
    r.handle_advert(t(1_000_000), adv(PEER_HIGH, 200)); // cancels it
    r.handle_advert(t(3_000_000), adv(PEER_LOW, 100)); // new window until 5 s: accepted
    assert_eq!(r.poll_timeout(), Some(t(3_000_000 + 3_414_062)));
    assert_eq!(r.stats().lower_priority_discarded, 0);
}

#[test]
fn master_advert_timer_sends_every_interval() {
    let (mut r, at) = master(cfg(100));
    let out = run_until(&mut r, at + Duration::from_secs(3));
    let times: Vec<Instant> = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::Advert(_)))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        times,
        vec![
            at + Duration::from_secs(1),
            at + Duration::from_secs(2),
            at + Duration::from_secs(3)
        ]
    );
}

#[test]
fn master_advert_slack_lets_an_advert_leave_early_only_within_the_slack() {
    let mut c = cfg(100);
    c.advert_slack = Duration::from_millis(50);
    let (mut r, at) = master(c);
    let due = at + Duration::from_secs(1);
    // The exact deadline is still reported (a daemon sleeps until the earliest one).
    assert_eq!(r.poll_timeout(), Some(due));
    // 60 ms early: outside the slack, nothing happens.
    r.handle_timeout(due.saturating_sub(Duration::from_millis(60)));
    assert!(adverts(&drain(&mut r)).is_empty());
    // 40 ms early: inside the slack, the advert leaves now and the next one is an
    // interval after it.
    let early = due.saturating_sub(Duration::from_millis(40));
    r.handle_timeout(early);
    assert_eq!(adverts(&drain(&mut r)).len(), 1);
    assert_eq!(r.poll_timeout(), Some(early + Duration::from_secs(1)));
    // A backup's Master_Down never fires early.
    let mut c = cfg(100);
    c.advert_slack = Duration::from_millis(50);
    let mut b = started(c, t(0));
    b.handle_timeout(t(3_599_375));
    assert_eq!(b.state(), State::Backup);
    // More than a tenth of the interval is refused.
    let mut c = cfg(100);
    c.advert_slack = Duration::from_millis(101);
    assert_eq!(Router::new(c).err(), Some(ConfigError::AdvertSlack));
}

#[test]
fn master_garp_second_burst_and_refresh() {
    let mut c = cfg(100);
    c.garp.refresh = Some(Duration::from_secs(4));
    c.garp.refresh_repeat = 2;
    let (mut r, at) = master(c);
    let out = run_until(&mut r, at + Duration::from_secs(9));
    let garps: Vec<(Instant, u32)> = out
        .iter()
        .filter_map(|(t, o)| match o {
            Output::Effect {
                effect: Effect::Garp { repeat, .. },
                ..
            } => Some((*t, *repeat)),
            _ => None,
        })
        .collect();
    assert_eq!(
        garps,
        vec![
            (at + Duration::from_secs(4), 2),
            (at + Duration::from_secs(5), 5),
            (at + Duration::from_secs(8), 2),
        ]
    );
}

#[test]
fn master_priority_zero_readvertises_now() {
    let (mut r, at) = master(cfg(100));
    let now = at + us(300_000);
    r.handle_advert(now, adv(PEER_LOW, 0));
    let out = drain(&mut r);
    assert_eq!(adverts(&out).len(), 1);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.poll_timeout(), Some(now + Duration::from_secs(1)));
}

#[test]
fn master_higher_priority_goes_backup_without_priority_zero() {
    let (mut r, at) = master(cfg(100));
    let now = at + us(100);
    r.handle_advert(now, adv(PEER_LOW, 150));
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Master, State::Backup, Reason::HigherPriority)]
    );
    assert!(adverts(&out).is_empty());
    assert_eq!(
        effects(&out),
        vec![Effect::RemoveVips(vec![VIP]), Effect::SyncRelease]
    );
    assert_eq!(r.poll_timeout(), Some(now + us(3_609_375)));

    // With higher_prio_send_advert one more advert goes out first.
    let mut c = cfg(100);
    c.higher_prio_send_advert = true;
    let (mut r, at) = master(c);
    r.handle_advert(at + us(1), adv(PEER_LOW, 150));
    let out = drain(&mut r);
    assert_eq!(adverts(&out).len(), 1);
    assert_eq!(adverts(&out)[0].priority, 100);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn master_equal_priority_compares_addresses() {
    let (mut r, at) = master(cfg(100));
    r.handle_advert(at + us(1), adv(PEER_LOW, 100)); // lower address: we stay
    let out = drain(&mut r);
    assert_eq!(r.state(), State::Master);
    assert_eq!(adverts(&out).len(), 1, "re-advertise at once");
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::MasterRxLowerPriority { .. })))
    );

    r.handle_advert(at + us(2), adv(ME, 100)); // our own address: warning only
    let out = drain(&mut r);
    assert_eq!(r.state(), State::Master);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Event(Event::AdvertDropped {
            reason: DropReason::OwnAddress,
            ..
        })
    )));

    r.handle_advert(at + us(3), adv(PEER_HIGH, 100)); // higher address: we yield
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Master, State::Backup, Reason::HigherPriority)]
    );
}

#[test]
fn master_lower_priority_readvertises_and_garps() {
    let (mut r, at) = master(cfg(100));
    let now = at + us(400_000);
    r.handle_advert(now, adv(PEER_LOW, 50));
    let out = drain(&mut r);
    assert_eq!(adverts(&out).len(), 1);
    assert_eq!(
        effects(&out),
        vec![Effect::Garp {
            vips: vec![VIP],
            repeat: 5
        }]
    );
    assert_eq!(r.poll_timeout(), Some(now + Duration::from_secs(1)));
    // Second burst after garp_lower_prio_delay.
    let later = run_until(&mut r, now + Duration::from_secs(5));
    assert!(later.iter().any(|(t, o)| *t == now + Duration::from_secs(5)
        && matches!(
            o,
            Output::Effect {
                effect: Effect::Garp { repeat: 5, .. },
                ..
            }
        )));

    let mut c = cfg(100);
    c.lower_prio_no_advert = true;
    c.garp.lower_prio_repeat = 2;
    let (mut r, at) = master(c);
    r.handle_advert(at + us(1), adv(PEER_LOW, 50));
    let out = drain(&mut r);
    assert!(adverts(&out).is_empty());
    assert_eq!(
        effects(&out),
        vec![Effect::Garp {
            vips: vec![VIP],
            repeat: 2
        }]
    );
}

#[test]
fn master_vip_removed_externally_goes_backup() {
    let (mut r, at) = master(cfg(100));
    r.handle_admin(at + us(5), Admin::VipRemoved).unwrap();
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Master, State::Backup, Reason::VipRemoved)]
    );
    assert_eq!(r.poll_timeout(), Some(at + us(5 + 3_609_375)));
}

#[test]
fn fault_from_master_sends_two_priority_zero_and_removes_vips() {
    let (mut r, at) = master(cfg(100));
    r.handle_link(at + us(10), LinkState::Down);
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Master, State::Fault, Reason::LinkDown)]
    );
    let a = adverts(&out);
    assert_eq!(a.iter().map(|a| a.priority).collect::<Vec<_>>(), vec![0, 0]);
    assert_eq!(
        effects(&out),
        vec![Effect::RemoveVips(vec![VIP]), Effect::SyncRelease]
    );
    assert_eq!(r.poll_timeout(), None, "no timers in FAULT");
    // Adverts are ignored in FAULT.
    r.handle_advert(at + us(20), adv(PEER_LOW, 0));
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.stats().adverts_received, 0);
}

#[test]
fn fault_from_backup_is_silent() {
    let mut r = started(cfg(100), t(0));
    r.handle_link(t(5), LinkState::Down);
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Backup, State::Fault, Reason::LinkDown)]
    );
    assert!(adverts(&out).is_empty());
}

#[test]
fn fault_cleared_only_when_every_reason_cleared() {
    let mut c = cfg(100);
    c.trackers = vec![
        TrackerConfig::fault_when_down(TrackId(1)),
        TrackerConfig::fault_when_down(TrackId(2)),
    ];
    let mut r = started(c, t(0));
    r.handle_track(t(1), TrackId(1), TrackStatus::Down);
    r.handle_link(t(2), LinkState::Down);
    r.handle_track(t(3), TrackId(2), TrackStatus::Down);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Backup, State::Fault, Reason::TrackerDown(TrackId(1)))]
    );
    r.handle_track(t(4), TrackId(1), TrackStatus::Up);
    r.handle_link(t(5), LinkState::Up);
    assert!(transitions(&drain(&mut r)).is_empty());
    assert_eq!(r.state(), State::Fault);
    r.handle_track(t(6), TrackId(2), TrackStatus::Up);
    assert_eq!(
        transitions(&drain(&mut r)),
        vec![(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(r.poll_timeout(), Some(t(6 + 3_609_375)));
}

#[test]
fn fault_cleared_owner_becomes_master_after_one_interval_plus_skew() {
    let mut r = started(cfg(255), t(0));
    assert_eq!(r.state(), State::Master);
    r.handle_link(t(100), LinkState::Down);
    r.handle_link(t(200), LinkState::Up);
    let out = drain(&mut r);
    assert_eq!(transitions(&out).last().unwrap().1, State::Backup);
    assert_eq!(r.poll_timeout(), Some(t(200 + 1_000_000 + 3_906)));
    r.handle_timeout(t(200 + 1_003_906));
    assert_eq!(r.state(), State::Master);
}

#[test]
fn shutdown_master_sends_priority_zero_backup_sends_nothing() {
    let mut c = cfg(100);
    c.use_vmac = true;
    let (mut r, at) = master(c);
    r.handle_admin(at + us(1), Admin::Shutdown).unwrap();
    let out = drain(&mut r);
    assert_eq!(
        transitions(&out),
        vec![(State::Master, State::Init, Reason::Shutdown)]
    );
    assert_eq!(
        adverts(&out).iter().map(|a| a.priority).collect::<Vec<_>>(),
        vec![0]
    );
    assert_eq!(
        effects(&out),
        vec![
            Effect::RemoveVips(vec![VIP]),
            Effect::SyncRelease,
            Effect::VmacDown
        ]
    );
    assert_eq!(r.poll_timeout(), None);

    let mut r = started(cfg(100), t(0));
    r.handle_admin(t(1), Admin::Shutdown).unwrap();
    let out = drain(&mut r);
    assert!(adverts(&out).is_empty());
    assert_eq!(
        transitions(&out),
        vec![(State::Backup, State::Init, Reason::Shutdown)]
    );
}

#[test]
fn weights_change_effective_priority_and_shift_backup_timer() {
    let mut c = cfg(100);
    c.trackers = vec![
        TrackerConfig::weighted(TrackId(1), 20),
        TrackerConfig::weighted(TrackId(2), -60),
    ];
    let mut r = Router::new(c).unwrap();
    assert_eq!(r.effective_priority(), 120);
    r.handle_admin(t(0), Admin::Startup).unwrap();
    drain(&mut r);
    // 120 → skew 531_250 µs.
    assert_eq!(r.poll_timeout(), Some(t(3_531_250)));
    r.handle_track(t(10), TrackId(2), TrackStatus::Down);
    let out = drain(&mut r);
    assert!(out.contains(&Output::Event(Event::PriorityChanged { from: 120, to: 60 })));
    assert_eq!(r.effective_priority(), 60);
    // Timer shifted by the skew difference: 3 s + skew(60) = 3 s + 765_625 µs.
    assert_eq!(r.poll_timeout(), Some(t(3_765_625)));
    assert_eq!(r.state(), State::Backup, "weights never force FAULT");

    // Clamp at 1 and 254; owners ignore weights.
    let mut c = cfg(10);
    c.trackers = vec![TrackerConfig::weighted(TrackId(1), -200)];
    let mut r = Router::new(c).unwrap();
    r.handle_track(t(0), TrackId(1), TrackStatus::Down);
    assert_eq!(r.effective_priority(), 1);
    let mut c = cfg(250);
    c.trackers = vec![TrackerConfig::weighted(TrackId(1), 100)];
    assert_eq!(Router::new(c).unwrap().effective_priority(), 254);
    let mut c = cfg(255);
    c.trackers = vec![TrackerConfig::weighted(TrackId(1), -100)];
    let mut r = Router::new(c).unwrap();
    r.handle_track(t(0), TrackId(1), TrackStatus::Down);
    assert_eq!(r.effective_priority(), 255);
    // reverse swaps up and down.
    let mut c = cfg(100);
    c.trackers = vec![TrackerConfig {
        reverse: true,
        ..TrackerConfig::weighted(TrackId(1), 10)
    }];
    let mut r = Router::new(c).unwrap();
    assert_eq!(r.effective_priority(), 100);
    r.handle_track(t(0), TrackId(1), TrackStatus::Down);
    assert_eq!(r.effective_priority(), 110);
}

#[test]
fn tracked_values_scale_by_weight_and_fault_at_the_floor_or_with_weight_zero() {
    // Weighted: value × weight, negated with reverse, capped to -254..=253.
    let mut c = cfg(100);
    c.trackers = vec![
        TrackerConfig::weighted(TrackId(1), -10),
        TrackerConfig {
            reverse: true,
            ..TrackerConfig::weighted(TrackId(2), 5)
        },
    ];
    let mut r = started(c, t(0));
    r.handle_track(t(1), TrackId(1), TrackStatus::Value(3));
    assert_eq!(r.effective_priority(), 70);
    r.handle_track(t(2), TrackId(2), TrackStatus::Value(-4));
    assert_eq!(
        r.effective_priority(),
        90,
        "reverse: -4 × 5 negated adds 20"
    );
    r.handle_track(t(3), TrackId(1), TrackStatus::Value(0));
    r.handle_track(t(3), TrackId(2), TrackStatus::Value(0));
    assert_eq!(r.effective_priority(), 100);
    r.handle_track(t(4), TrackId(1), TrackStatus::Value(i32::MIN));
    assert_eq!(r.effective_priority(), 254, "capped at +253, then clamped");
    assert_eq!(r.state(), State::Backup);
    // A product of -254 or less means FAULT.
    r.handle_track(t(5), TrackId(1), TrackStatus::Value(25));
    assert_eq!(r.state(), State::Backup, "-250 is a weight, not a fault");
    assert_eq!(r.effective_priority(), 1);
    r.handle_track(t(6), TrackId(1), TrackStatus::Value(26));
    assert_eq!(r.state(), State::Fault);
    r.handle_track(t(7), TrackId(1), TrackStatus::Value(1));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.effective_priority(), 90);

    // Weight 0: any non-zero value is a fault, whatever its sign or `reverse`.
    let mut c = cfg(100);
    c.trackers = vec![TrackerConfig {
        initial: None,
        ..TrackerConfig::fault_when_down(TrackId(3))
    }];
    let mut r = started(c, t(0));
    assert_eq!(r.state(), State::Fault, "unknown until the first report");
    r.handle_track(t(1), TrackId(3), TrackStatus::Value(0));
    assert_eq!(r.state(), State::Backup);
    for v in [1, -1, 7] {
        r.handle_track(t(2), TrackId(3), TrackStatus::Value(v));
        assert_eq!(r.state(), State::Fault, "value {v}");
        r.handle_track(t(3), TrackId(3), TrackStatus::Value(0));
        assert_eq!(r.state(), State::Backup);
    }
    assert_eq!(r.effective_priority(), 100);

    // Weight 0 with reverse: zero is the failure. A known initial value applies at once.
    let mut c = cfg(100);
    c.trackers = vec![TrackerConfig {
        reverse: true,
        initial: Some(TrackStatus::Value(1)),
        ..TrackerConfig::fault_when_down(TrackId(4))
    }];
    let mut r = started(c, t(0));
    assert_eq!(r.state(), State::Backup);
    r.handle_track(t(1), TrackId(4), TrackStatus::Value(0));
    assert_eq!(r.state(), State::Fault);
    r.handle_track(t(2), TrackId(4), TrackStatus::Value(-3));
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn set_priority_changes_the_election() {
    let (mut r, at) = master(cfg(100));
    r.handle_admin(at, Admin::SetPriority(50)).unwrap();
    drain(&mut r);
    r.handle_advert(at + us(1), adv(PEER_LOW, 80));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        r.handle_admin(at, Admin::SetPriority(0)),
        Err(ConfigError::PriorityZero)
    );
}

#[test]
fn interval_mismatch_dropped_address_mismatch_accepted_by_default() {
    let mut r = started(cfg(100), t(0));
    let mut a = adv(PEER_HIGH, 150);
    a.advert_interval = Duration::from_secs(2);
    r.handle_advert(t(1_000_000), a);
    assert_eq!(r.poll_timeout(), Some(t(3_609_375)), "timer not reset");
    assert_eq!(r.stats().interval_mismatch, 1);
    let mut a = adv(PEER_HIGH, 150);
    a.addresses_match = false;
    r.handle_advert(t(1_000_000), a);
    assert_eq!(r.poll_timeout(), Some(t(4_609_375)));
    assert_eq!(r.stats().addr_list_err, 1);

    let mut c = cfg(100);
    c.drop_on_address_mismatch = true;
    let mut r = started(c, t(0));
    r.handle_advert(t(1_000_000), a);
    assert_eq!(r.poll_timeout(), Some(t(3_609_375)), "dropped");
    let mut owner = a;
    owner.priority = 255;
    r.handle_advert(t(1_000_000), owner);
    assert_eq!(
        r.poll_timeout(),
        Some(t(4_609_375)),
        "owner adverts bypass the list check"
    );
}

#[test]
fn commit_barrier_orders_vips_after_acknowledged_commit() {
    let mut c = cfg(100);
    c.commit_barrier = Some(Duration::from_millis(500));
    let mut r = started(c.clone(), t(0));
    r.handle_timeout(t(3_609_375));
    let out = drain(&mut r);
    let commit = out
        .iter()
        .find_map(|o| match o {
            Output::Effect {
                id,
                effect: Effect::SyncCommit,
            } => Some(*id),
            _ => None,
        })
        .unwrap();
    assert!(
        !effects(&out)
            .iter()
            .any(|e| matches!(e, Effect::InstallVips(_)))
    );
    assert_eq!(
        adverts(&out).len(),
        1,
        "the advert claims mastership at once"
    );
    r.handle_effect_done(t(3_700_000), EffectId(999), EffectOutcome::Done); // unrelated: ignored
    assert!(drain(&mut r).is_empty());
    r.handle_effect_done(t(3_700_000), commit, EffectOutcome::Done);
    assert_eq!(
        effects(&drain(&mut r)),
        vec![
            Effect::InstallVips(vec![VIP]),
            Effect::Garp {
                vips: vec![VIP],
                repeat: 5
            }
        ]
    );

    // Without an acknowledgement the barrier times out.
    let mut r = started(c, t(0));
    r.handle_timeout(t(3_609_375));
    drain(&mut r);
    assert_eq!(r.poll_timeout(), Some(t(4_109_375)));
    r.handle_timeout(t(4_109_375));
    let out = drain(&mut r);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::CommitTimedOut(_))))
    );
    assert!(effects(&out).contains(&Effect::InstallVips(vec![VIP])));
}

#[test]
fn reload_unchanged_is_silent_and_changes_apply_without_transition() {
    let (mut r, at) = master(cfg(100));
    r.handle_admin(at + us(1), Admin::Reload(cfg(100))).unwrap();
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.state(), State::Master);

    let mut c = cfg(120);
    let extra = core::net::IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 201));
    c.vips.push(extra);
    r.handle_admin(at + us(2), Admin::Reload(c)).unwrap();
    let out = drain(&mut r);
    assert!(transitions(&out).is_empty());
    assert_eq!(
        effects(&out),
        vec![
            Effect::InstallVips(vec![extra]),
            Effect::Garp {
                vips: vec![extra],
                repeat: 5
            }
        ]
    );
    assert!(out.contains(&Output::Event(Event::PriorityChanged {
        from: 100,
        to: 120
    })));

    let mut other = cfg(100);
    other.source = PEER_LOW;
    assert_eq!(
        r.handle_admin(at, Admin::Reload(other)),
        Err(ConfigError::IdentityChanged)
    );
}

#[test]
fn config_validation() {
    assert_eq!(Router::new(cfg(0)).err(), Some(ConfigError::PriorityZero));
    let mut c = cfg(255);
    c.preempt = false;
    assert_eq!(Router::new(c).err(), Some(ConfigError::OwnerWithoutPreempt));
    let mut c = cfg(100);
    c.advert_interval = Duration::ZERO;
    assert_eq!(Router::new(c).err(), Some(ConfigError::AdvertIntervalZero));
    let mut c = cfg(100);
    c.trackers = vec![TrackerConfig::weighted(TrackId(1), 300)];
    assert_eq!(
        Router::new(c).err(),
        Some(ConfigError::TrackerWeight(TrackId(1), 300))
    );
}
