//! Simulator scenarios with exact virtual times (real FSM + real codec).

use std::net::{IpAddr, Ipv4Addr};

use vrrp_fsm::{AuthKind, Event, GroupPolicy, InstanceConfig, Output, Reason, State};
use vrrp_sim::*;
use vrrp_wire::{Auth, Vrid};

fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn inst(lan: u8, host: u8, prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        Vrid::new(51 + lan).unwrap(),
        prio,
        Ipv4Addr::new(10, 99, lan, host),
    );
    c.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 99, lan, 200))];
    c
}

/// One LAN, one router per (host, priority), all started at 0.
fn lan_sim(routers: &[(u8, u8)], auth: Auth) -> (Sim, Vec<RouterId>) {
    let mut sim = Sim::new(1, CodecMode::Wire);
    let lan = sim.add_lan(LanConfig::default());
    let ids = routers
        .iter()
        .map(|&(host, prio)| {
            let mut c = inst(0, host, prio);
            c.auth = AuthKind::from(&auth);
            sim.add_router(RouterSpec::single(&format!("h{host}"), lan, c, auth))
                .unwrap()
        })
        .collect::<Vec<_>>();
    for &r in &ids {
        sim.start(r);
    }
    (sim, ids)
}

fn only_master(sim: &Sim, lan: usize, vrid: u8) -> RouterId {
    let m = sim.masters(LanId(lan), vrid);
    assert_eq!(m.len(), 1, "masters: {m:?}\n{}", sim.render_timeline());
    m[0].0
}

#[test]
fn election_of_the_highest_priority() {
    let (mut sim, r) = lan_sim(&[(11, 100), (12, 150), (13, 120)], Auth::None);
    sim.run_until(t(10_000_000));
    assert_eq!(only_master(&sim, 0, 51), r[1]);
    // First to time out (skew of 150), nobody else ever became master.
    assert_eq!(sim.entered(r[1], 0, State::Master), vec![t(3_414_062)]);
    assert!(sim.entered(r[0], 0, State::Master).is_empty());
    assert!(sim.entered(r[2], 0, State::Master).is_empty());
    assert_eq!(sim.wire_drops(), 0);
}

#[test]
fn equal_priority_won_by_the_higher_address() {
    let (mut sim, r) = lan_sim(&[(11, 100), (12, 100)], Auth::None);
    sim.run_until(t(10_000_000));
    // Both time out at the same instant and become master; the lower address yields
    // on the first advert of the higher one.
    assert_eq!(sim.entered(r[0], 0, State::Master), vec![t(3_609_375)]);
    assert_eq!(sim.entered(r[0], 0, State::Backup)[1], t(3_609_375));
    assert_eq!(only_master(&sim, 0, 51), r[1]);
}

#[test]
fn crash_then_takeover_exactly_at_master_down_interval() {
    let (mut sim, r) = lan_sim(&[(11, 150), (12, 100)], Auth::None);
    sim.run_until(t(10_500_000));
    let last = sim.adverts_sent(r[0], 0).last().unwrap().0;
    assert_eq!(last, t(10_414_062));
    sim.crash(r[0]);
    sim.run_until(t(20_000_000));
    assert_eq!(
        sim.entered(r[1], 0, State::Master),
        vec![last + Duration::from_micros(3_609_375)]
    );
    // Five GARPs at takeover, five more 5 s later.
    let takeover = last + Duration::from_micros(3_609_375);
    assert_eq!(
        sim.garps(r[1], 0),
        vec![(takeover, 5), (takeover + Duration::from_secs(5), 5)]
    );
}

#[test]
fn graceful_shutdown_then_takeover_at_skew_time() {
    let (mut sim, r) = lan_sim(&[(11, 150), (12, 100)], Auth::None);
    sim.run_until(t(10_500_000));
    sim.shutdown(r[0]);
    let prio0 = sim.adverts_sent(r[0], 0).last().copied().unwrap();
    assert_eq!((prio0.0, prio0.1), (t(10_500_000), 0));
    sim.run_until(t(15_000_000));
    assert_eq!(
        sim.entered(r[1], 0, State::Master),
        vec![t(10_500_000 + 609_375)]
    );
}

#[test]
fn preemption_by_a_restarted_higher_priority_router() {
    let (mut sim, r) = lan_sim(&[(11, 150), (12, 100)], Auth::None);
    sim.crash(r[0]);
    sim.run_until(t(10_000_000));
    assert_eq!(only_master(&sim, 0, 51), r[1]);
    sim.start(r[0]);
    sim.run_until(t(20_000_000));
    // Lower-priority adverts are discarded: the restarted router takes over after its
    // Master_Down_Interval, and the old master yields on its first advert.
    assert_eq!(sim.entered(r[0], 0, State::Master), vec![t(13_414_062)]);
    assert_eq!(
        *sim.entered(r[1], 0, State::Backup).last().unwrap(),
        t(13_414_062)
    );
    assert_eq!(only_master(&sim, 0, 51), r[0]);
}

#[test]
fn nopreempt_waits_for_priority_zero() {
    let mut sim = Sim::new(1, CodecMode::Wire);
    let lan = sim.add_lan(LanConfig::default());
    let mut a = inst(0, 11, 150);
    a.preempt = false;
    let a = sim
        .add_router(RouterSpec::single("a", lan, a, Auth::None))
        .unwrap();
    let b = sim
        .add_router(RouterSpec::single("b", lan, inst(0, 12, 100), Auth::None))
        .unwrap();
    sim.start(b);
    sim.run_until(t(5_000_000));
    sim.start(a);
    sim.run_until(t(20_000_000));
    assert_eq!(only_master(&sim, 0, 51), b);
    sim.shutdown(b);
    sim.run_until(t(21_000_000));
    assert_eq!(
        sim.entered(a, 0, State::Master),
        vec![t(20_000_000 + 414_062)]
    );
}

#[test]
fn preempt_delay_then_takeover() {
    let mut sim = Sim::new(1, CodecMode::Wire);
    let lan = sim.add_lan(LanConfig::default());
    let mut a = inst(0, 11, 150);
    a.preempt_delay = Duration::from_secs(5);
    let a = sim
        .add_router(RouterSpec::single("a", lan, a, Auth::None))
        .unwrap();
    let b = sim
        .add_router(RouterSpec::single("b", lan, inst(0, 12, 100), Auth::None))
        .unwrap();
    sim.start(b);
    sim.run_until(t(5_000_000)); // b master at 3.609375, adverts at x.609375
    sim.start(a);
    sim.run_until(t(20_000_000));
    // Window opens with b's advert at 5.609375 s and lasts 5 s: last accepted 9.609375,
    // then a takes over 3.414062 s later.
    assert_eq!(
        sim.entered(a, 0, State::Master),
        vec![t(9_609_375 + 3_414_062)]
    );
    assert_eq!(only_master(&sim, 0, 51), a);
}

#[test]
fn owner_takes_over_immediately() {
    let (mut sim, r) = lan_sim(&[(12, 100)], Auth::None);
    sim.run_until(t(5_000_000));
    let mut owner = inst(0, 11, 255);
    owner.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 99, 0, 200))];
    let o = sim
        .add_router(RouterSpec::single("owner", LanId(0), owner, Auth::None))
        .unwrap();
    sim.start(o);
    assert_eq!(sim.entered(o, 0, State::Master), vec![t(5_000_000)]);
    sim.run_until(t(6_000_000));
    assert_eq!(
        *sim.entered(r[0], 0, State::Backup).last().unwrap(),
        t(5_000_000)
    );
    assert_eq!(only_master(&sim, 0, 51), o);
}

#[test]
fn partition_then_heal_converges_within_one_interval_with_garps() {
    let (mut sim, r) = lan_sim(&[(11, 150), (12, 100)], Auth::None);
    sim.run_until(t(10_000_000));
    sim.partition(LanId(0), &[&[r[0]], &[r[1]]]);
    sim.run_until(t(20_000_000));
    assert_eq!(
        sim.masters(LanId(0), 51).len(),
        2,
        "split brain while partitioned"
    );
    let heal = t(20_000_000);
    sim.heal(LanId(0));
    sim.run_until(heal + Duration::from_secs(1));
    assert_eq!(only_master(&sim, 0, 51), r[0]);
    // The surviving master heard the lower priority and re-announced itself.
    assert!(
        sim.garps(r[0], 0)
            .iter()
            .any(|&(at, n)| at > heal && at <= heal + Duration::from_secs(1) && n == 5)
    );
    let rx_lower = sim.timeline().iter().any(|rec| {
        rec.router == r[0]
            && rec.at > heal
            && matches!(
                rec.what,
                RecordKind::Output(Output::Event(Event::MasterRxLowerPriority { .. }))
            )
    });
    assert!(rx_lower);
}

/// Two routers, each a sync group with one member on each of `n` LANs.
fn group_sim(n: u8, fast: bool, auth: Auth) -> (Sim, RouterId, RouterId) {
    let mut sim = Sim::new(3, CodecMode::Wire);
    for _ in 0..n {
        sim.add_lan(LanConfig::default());
    }
    let mut ids = Vec::new();
    for (name, host, prio) in [("A", 11, 150), ("B", 12, 100)] {
        let members = (0..n)
            .map(|l| {
                let mut cfg = inst(l, host, prio);
                cfg.auth = AuthKind::from(&auth);
                MemberSpec {
                    lan: LanId(l as usize),
                    cfg,
                    auth,
                }
            })
            .collect();
        let spec = RouterSpec {
            name: name.to_string(),
            members,
            policy: GroupPolicy {
                fast_takeover: fast,
            },
            commit_ack_delay: Duration::ZERO,
        };
        ids.push(sim.add_router(spec).unwrap());
    }
    for &r in &ids {
        sim.start(r);
    }
    (sim, ids[0], ids[1])
}

/// Steps the simulation to `until`, asserting after every job that no LAN has two masters.
fn run_checking_single_master(sim: &mut Sim, until: Instant) {
    let lans = sim.lan_vrids();
    while sim.step(until) {
        for &(lan, vrid) in &lans {
            assert!(
                sim.masters(lan, vrid).len() <= 1,
                "two masters on {lan:?} at {}",
                sim.now()
            );
        }
    }
}

#[test]
fn eight_member_group_moves_together_and_peer_takes_over_at_skew_time() {
    for fast in [true, false] {
        let (mut sim, a, b) = group_sim(8, fast, Auth::None);
        run_checking_single_master(&mut sim, t(20_000_000));
        for m in 0..8 {
            assert_eq!(sim.state(a, m), State::Master);
        }
        let fail = t(20_300_000);
        sim.run_until(fail);
        sim.set_carrier(a, 3, false);
        // All eight members of A enter FAULT in the same call: 0 ns spread.
        let faults: Vec<Instant> = (0..8)
            .map(|m| *sim.entered(a, m, State::Fault).last().unwrap())
            .collect();
        assert!(faults.iter().all(|&f| f == fail), "{faults:?}");
        run_checking_single_master(&mut sim, t(30_000_000));
        let took: Vec<Instant> = (0..8)
            .map(|m| sim.entered(b, m, State::Master)[0])
            .collect();
        assert!(
            took.iter().all(|&x| x == took[0]),
            "B members moved together: {took:?}"
        );
        if fast {
            // Priority 0 arrives at once on the 7 live LANs; B takes over at skew(100).
            assert_eq!(took[0], fail + Duration::from_micros(609_375));
        } else {
            // keepalived's behaviour: wait for the dead LAN's Master_Down timer
            // (A's last advert there was at 19.414062 s).
            assert_eq!(took[0], t(19_414_062 + 3_609_375));
        }
        for l in 0..8u8 {
            assert_eq!(only_master(&sim, l as usize, 51 + l), b);
        }
    }
}

#[test]
fn ah_new_master_is_accepted_replay_and_wrong_key_dropped() {
    let key = Auth::Ah(*b"secret12");
    let (mut sim, r) = lan_sim(&[(11, 150), (12, 100), (13, 50)], key);
    sim.run_until(t(10_500_000));
    let a_last = sim.adverts_sent(r[0], 0).last().unwrap().2.unwrap();
    sim.crash(r[0]);
    sim.run_until(t(20_000_000));
    let b_adverts = sim.adverts_sent(r[1], 0);
    // Sequence continues at last seen + 1 and every backup accepts it.
    assert_eq!(b_adverts[0].2, Some(a_last + 1));
    let c = sim.group(r[2]).member_stats(vrrp_fsm::MemberId(0)).unwrap();
    assert_eq!(c.replay_dropped, 0);
    assert_eq!(
        sim.group(r[2]).member_ah_counter(vrrp_fsm::MemberId(0)),
        b_adverts.last().unwrap().2
    );
    // A replayed packet is dropped by the FSM's replay window.
    let old = sim.last_packet(r[1], 0).unwrap();
    sim.inject(r[2], 0, &old);
    let c2 = sim.group(r[2]).member_stats(vrrp_fsm::MemberId(0)).unwrap();
    assert_eq!(c2.replay_dropped, 1);
    // A router with the wrong key: every packet fails the ICV in the codec.
    let mut bad = inst(0, 14, 200);
    bad.auth = AuthKind::Ah;
    let d = sim
        .add_router(RouterSpec::single(
            "bad",
            LanId(0),
            bad,
            Auth::Ah(*b"wrongpw1"),
        ))
        .unwrap();
    sim.start(d);
    let drops_before = sim.wire_drops();
    sim.run_until(t(30_000_000));
    assert!(sim.wire_drops() > drops_before);
    // Like keepalived's 4-wrongpass capture: both sides are master.
    assert_eq!(sim.state(d, 0), State::Master);
    assert_eq!(sim.state(r[1], 0), State::Master);
}

/// Three routers, each a group on two LANs, AH everywhere. C (lowest) is the observer.
/// B's LAN-1 member is in FAULT for a long time (its watermark freezes) while A keeps
/// advertising; B recovers, and just after, A's LAN-1 link dies: A's priority 0 reaches
/// LAN 0 only, B's group takes over and its LAN-1 member is promoted by the group with a
/// stale counter. Returns the replay drops C counted on LAN 1.
fn ah_group_failover(slack: Option<u32>) -> (u64, Sim, RouterId) {
    let key = Auth::Ah(*b"groupkey");
    let mut sim = Sim::new(5, CodecMode::Wire);
    sim.add_lan(LanConfig::default());
    sim.add_lan(LanConfig::default());
    let mut ids = Vec::new();
    for (name, host, prio) in [("A", 11, 150), ("B", 12, 100), ("C", 13, 50)] {
        let members = (0..2u8)
            .map(|l| {
                let mut cfg = inst(l, host, prio);
                cfg.auth = AuthKind::Ah;
                cfg.ah_resync_slack = slack;
                MemberSpec {
                    lan: LanId(l as usize),
                    cfg,
                    auth: key,
                }
            })
            .collect();
        let spec = RouterSpec {
            name: name.to_string(),
            members,
            policy: GroupPolicy::default(),
            commit_ack_delay: Duration::ZERO,
        };
        ids.push(sim.add_router(spec).unwrap());
    }
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    for &r in &ids {
        sim.start(r);
    }
    sim.run_until(t(10_000_000));
    assert_eq!(sim.state(a, 1), State::Master);
    sim.set_carrier(b, 1, false);
    sim.run_until(t(40_000_000));
    sim.set_carrier(b, 1, true);
    sim.run_until(t(40_100_000));
    sim.set_carrier(a, 1, false);
    sim.run_until(t(50_000_000));
    assert_eq!(sim.state(b, 0), State::Master);
    assert_eq!(sim.state(b, 1), State::Master);
    let drops = sim
        .group(c)
        .member_stats(vrrp_fsm::MemberId(1))
        .unwrap()
        .replay_dropped;
    (drops, sim, b)
}

#[test]
fn ah_member_forced_to_master_is_accepted_at_once() {
    let (drops, sim, b) = ah_group_failover(Some(vrrp_fsm::DEFAULT_AH_RESYNC_SLACK));
    assert_eq!(drops, 0, "{}", sim.render_timeline());
    let reasons: Vec<Reason> = sim
        .timeline()
        .iter()
        .filter(|rec| rec.router == b && rec.member == Some(vrrp_fsm::MemberId(1)))
        .filter_map(|rec| match rec.what {
            RecordKind::Output(Output::Event(Event::StateChanged {
                to: State::Master,
                reason,
                ..
            })) => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, vec![Reason::GroupFastTakeover]);
    // keepalived's behaviour (no jump): the observer drops the forced master's adverts
    // as replays for many intervals.
    let (ka_drops, _, _) = ah_group_failover(None);
    assert!(ka_drops >= 5, "keepalived mode drops {ka_drops}");
}

#[test]
fn commit_barrier_installs_vips_after_the_ack() {
    let mut sim = Sim::new(1, CodecMode::Wire);
    let lan = sim.add_lan(LanConfig::default());
    let mut c = inst(0, 11, 100);
    c.commit_barrier = Some(Duration::from_secs(1));
    let mut spec = RouterSpec::single("a", lan, c, Auth::None);
    spec.commit_ack_delay = Duration::from_millis(50);
    let a = sim.add_router(spec).unwrap();
    sim.start(a);
    sim.run_until(t(5_000_000));
    let install = sim
        .timeline()
        .iter()
        .find(|rec| {
            matches!(
                &rec.what,
                RecordKind::Output(Output::Effect {
                    effect: vrrp_fsm::Effect::InstallVips(_),
                    ..
                })
            )
        })
        .unwrap()
        .at;
    assert_eq!(install, t(3_609_375 + 50_000));
}

#[test]
fn trace_is_json_lines_of_inputs_and_outputs() {
    let mut sim = Sim::new(1, CodecMode::Wire);
    sim.enable_trace();
    let lan = sim.add_lan(LanConfig::default());
    let a = sim
        .add_router(RouterSpec::single("a", lan, inst(0, 11, 100), Auth::None))
        .unwrap();
    sim.start(a);
    sim.run_until(t(5_000_000));
    let lines = sim.trace_lines();
    assert!(lines.len() > 5);
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v.get("Input").is_some() || v.get("Output").is_some(), "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("\"Startup\"")));
    assert!(lines.iter().any(|l| l.contains("\"Advert\"")));
}

#[test]
fn ah_equal_masters_in_lockstep_converge() {
    // Same priority, same start, zero delay: both time out together, both send seq 1,
    // each drops the other's advert as a replay. Found by the property test.
    let key = Auth::Ah(*b"secret12");
    let (mut sim, r) = lan_sim(&[(11, 247), (12, 247), (13, 1)], key);
    sim.run_until(t(3_100_000));
    assert_eq!(sim.masters(LanId(0), 51).len(), 2);
    sim.run_until(t(5_100_000));
    assert_eq!(only_master(&sim, 0, 51), r[1], "the higher address wins");
}

#[test]
fn fsm_inputs_and_outputs_round_trip_through_serde() {
    let cfg = inst(0, 11, 100);
    let admin = vrrp_fsm::Admin::Reload(cfg.clone());
    let json = serde_json::to_string(&admin).unwrap();
    assert_eq!(
        serde_json::from_str::<vrrp_fsm::Admin>(&json).unwrap(),
        admin
    );
    let outputs = vec![
        Output::Advert(vrrp_fsm::AdvertTx {
            priority: 0,
            advert_interval: Duration::from_secs(1),
            ah_seq: Some(7),
        }),
        Output::Effect {
            id: vrrp_fsm::EffectId(3),
            effect: vrrp_fsm::Effect::Garp {
                vips: cfg.vips.clone(),
                repeat: 5,
            },
        },
        Output::Event(Event::StateChanged {
            from: State::Backup,
            to: State::Master,
            reason: Reason::GroupFastTakeover,
        }),
    ];
    let json = serde_json::to_string(&outputs).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Output>>(&json).unwrap(), outputs);
    // VRID 0 is refused on the way in.
    let bad = json_with_vrid_zero(&serde_json::to_string(&cfg).unwrap());
    assert!(serde_json::from_str::<InstanceConfig>(&bad).is_err());
}

fn json_with_vrid_zero(json: &str) -> String {
    json.replacen("\"vrid\":51", "\"vrid\":0", 1)
}

#[test]
fn refused_admin_input_is_recorded() {
    let (mut sim, r) = lan_sim(&[(11, 100)], Auth::None);
    sim.admin(r[0], 0, vrrp_fsm::Admin::SetPriority(0));
    assert!(sim.timeline().iter().any(|rec| matches!(
        &rec.what,
        RecordKind::Action(a) if a.starts_with("input refused")
    )));
    assert_eq!(
        sim.add_router(RouterSpec::single(
            "x",
            LanId(9),
            inst(0, 1, 100),
            Auth::None
        )),
        Err(SimError::NoSuchLan(LanId(9)))
    );
}
