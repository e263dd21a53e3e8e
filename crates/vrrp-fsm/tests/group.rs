//! Sync-group rules (vrrp.md §4.1) and the fast-takeover policy.

mod common;
use common::*;
use core::net::Ipv4Addr;
use vrrp_fsm::*;
use vrrp_wire::Vrid;

fn member(vrid: u8, prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(
        Vrid::new(vrid).unwrap(),
        prio,
        Ipv4Addr::new(10, 0, vrid, 2),
    );
    c.vips = vec![core::net::IpAddr::V4(Ipv4Addr::new(10, 0, vrid, 200))];
    c
}

fn group(n: u8, prio: u8, policy: GroupPolicy) -> SyncGroup {
    SyncGroup::new((1..=n).map(|v| member(v, prio)).collect(), policy).unwrap()
}

fn gdrain(g: &mut SyncGroup) -> Vec<(Option<MemberId>, Output)> {
    core::iter::from_fn(|| g.poll_output()).collect()
}

fn gtransitions(out: &[(Option<MemberId>, Output)]) -> Vec<(Option<MemberId>, State, Reason)> {
    out.iter()
        .filter_map(|(m, o)| match o {
            Output::Event(Event::StateChanged { to, reason, .. }) => Some((*m, *to, *reason)),
            Output::Event(Event::GroupStateChanged { to, reason, .. }) => {
                Some((None, *to, *reason))
            }
            _ => None,
        })
        .collect()
}

fn peer(vrid: u8, prio: u8) -> AdvertRx {
    AdvertRx {
        source: Ipv4Addr::new(10, 0, vrid, 1),
        priority: prio,
        advert_interval: Duration::from_secs(1),
        ah_seq: None,
        addresses_match: true,
    }
}

fn states(g: &SyncGroup) -> Vec<State> {
    (0..g.len())
        .map(|i| g.member_state(MemberId(i)).unwrap())
        .collect()
}

#[test]
fn master_requires_every_member_to_want_it() {
    let mut g = group(3, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    gdrain(&mut g);
    // Member 2 keeps hearing a master; 0 and 1 time out but are held.
    for k in 0..3u64 {
        g.handle_advert(t(k * 1_000_000), MemberId(2), peer(3, 150))
            .unwrap();
    }
    g.handle_timeout(t(3_609_375));
    let out = gdrain(&mut g);
    assert_eq!(states(&g), vec![State::Backup; 3]);
    assert_eq!(
        out.iter()
            .filter(|(_, o)| matches!(o, Output::Event(Event::HeldByGroup)))
            .count(),
        2
    );
    // The master on member 2's LAN goes silent: its timer fires last and all move at once.
    let at = g.poll_timeout().unwrap();
    assert_eq!(at, t(2_000_000 + 3_609_375));
    g.handle_timeout(at);
    let out = gdrain(&mut g);
    assert_eq!(states(&g), vec![State::Master; 3]);
    let tr = gtransitions(&out);
    assert_eq!(
        tr[0],
        (Some(MemberId(2)), State::Master, Reason::MasterDown)
    );
    assert!(tr.contains(&(Some(MemberId(0)), State::Master, Reason::GroupMaster)));
    assert!(tr.contains(&(None, State::Master, Reason::GroupMaster)));
}

#[test]
fn fault_is_contagious_and_cleared_by_the_last_member() {
    let mut g = group(3, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    g.handle_timeout(t(3_609_375));
    gdrain(&mut g);
    assert_eq!(g.state(), State::Master);
    g.handle_link(t(4_000_000), MemberId(1), LinkState::Down)
        .unwrap();
    let out = gdrain(&mut g);
    assert_eq!(states(&g), vec![State::Fault; 3]);
    // Member 1 (own fault) sends two priority-0 adverts, the others one each.
    let zeros: Vec<MemberId> = out
        .iter()
        .filter(|(_, o)| matches!(o, Output::Advert(a) if a.priority == 0))
        .map(|(m, _)| m.unwrap())
        .collect();
    assert_eq!(
        zeros,
        vec![MemberId(1), MemberId(1), MemberId(0), MemberId(2)]
    );
    g.handle_link(t(5_000_000), MemberId(0), LinkState::Down)
        .unwrap();
    g.handle_link(t(6_000_000), MemberId(1), LinkState::Up)
        .unwrap();
    assert_eq!(states(&g), vec![State::Fault; 3], "member 0 still faulty");
    g.handle_link(t(7_000_000), MemberId(0), LinkState::Up)
        .unwrap();
    assert_eq!(states(&g), vec![State::Backup; 3]);
    assert_eq!(g.poll_timeout(), Some(t(7_000_000 + 3_609_375)));
}

#[test]
fn one_member_yielding_drags_all_down_without_priority_zero() {
    let mut g = group(3, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    g.handle_timeout(t(3_609_375));
    gdrain(&mut g);
    g.handle_advert(t(4_000_000), MemberId(1), peer(2, 150))
        .unwrap();
    let out = gdrain(&mut g);
    assert_eq!(states(&g), vec![State::Backup; 3]);
    assert!(!out.iter().any(|(_, o)| matches!(o, Output::Advert(_))));
    assert_eq!(g.state(), State::Backup);
}

#[test]
fn fast_takeover_on_priority_zero_moves_the_whole_group_at_skew_time() {
    for fast in [true, false] {
        let mut g = group(
            2,
            100,
            GroupPolicy {
                fast_takeover: fast,
            },
        );
        g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
        for k in 0..3u64 {
            g.handle_advert(t(k * 1_000_000), MemberId(0), peer(1, 150))
                .unwrap();
            g.handle_advert(t(k * 1_000_000), MemberId(1), peer(2, 150))
                .unwrap();
        }
        // The peer's LAN-1 link dies (its prio 0 there is lost); on LAN 0 we hear prio 0.
        g.handle_advert(t(2_500_000), MemberId(0), peer(1, 0))
            .unwrap();
        g.handle_timeout(t(2_500_000 + 609_375));
        let out = gdrain(&mut g);
        if fast {
            assert_eq!(states(&g), vec![State::Master; 2]);
            let tr = gtransitions(&out);
            assert!(tr.contains(&(Some(MemberId(0)), State::Master, Reason::PriorityZero)));
            assert!(tr.contains(&(Some(MemberId(1)), State::Master, Reason::GroupFastTakeover)));
        } else {
            assert_eq!(states(&g), vec![State::Backup; 2]);
            // keepalived: waits for member 1's own Master_Down timer.
            let at = g.poll_timeout().unwrap();
            assert_eq!(at, t(2_000_000 + 3_609_375));
            g.handle_timeout(at);
            assert_eq!(states(&g), vec![State::Master; 2]);
        }
    }
}

#[test]
fn fast_takeover_refused_when_another_member_still_hears_a_master() {
    let mut g = group(2, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    g.handle_advert(t(1_000_000), MemberId(0), peer(1, 150))
        .unwrap();
    g.handle_advert(t(2_000_000), MemberId(0), peer(1, 0))
        .unwrap();
    // Member 1 accepted an advert after the priority 0: its master is alive.
    g.handle_advert(t(2_100_000), MemberId(1), peer(2, 150))
        .unwrap();
    g.handle_timeout(t(2_609_375));
    assert_eq!(states(&g), vec![State::Backup; 2]);
}

#[test]
fn all_owner_group_starts_master_mixed_group_starts_backup() {
    let mut g =
        SyncGroup::new(vec![member(1, 255), member(2, 255)], GroupPolicy::default()).unwrap();
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    assert_eq!(states(&g), vec![State::Master; 2]);
    let mut g =
        SyncGroup::new(vec![member(1, 255), member(2, 100)], GroupPolicy::default()).unwrap();
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    assert_eq!(states(&g), vec![State::Backup; 2]);
    assert_eq!(g.state(), State::Backup);
}

#[test]
fn state_master_member_waits_one_interval_in_a_group() {
    let mut a = member(1, 100);
    a.initial_state_master = true;
    let mut g = SyncGroup::new(vec![a, member(2, 100)], GroupPolicy::default()).unwrap();
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    assert_eq!(g.poll_timeout(), Some(t(1_003_906)));
}

#[test]
fn lower_priority_heard_by_one_member_garps_every_member() {
    let mut g = group(2, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    g.handle_timeout(t(3_609_375));
    gdrain(&mut g);
    g.handle_advert(t(4_000_000), MemberId(0), peer(1, 50))
        .unwrap();
    let out = gdrain(&mut g);
    let garps: Vec<MemberId> = out
        .iter()
        .filter(|(_, o)| {
            matches!(
                o,
                Output::Effect {
                    effect: Effect::Garp { .. },
                    ..
                }
            )
        })
        .map(|(m, _)| m.unwrap())
        .collect();
    assert_eq!(garps, vec![MemberId(0), MemberId(1)]);
}

#[test]
fn group_rejects_bad_members() {
    assert_eq!(
        SyncGroup::new(vec![], GroupPolicy::default()).err(),
        Some(ConfigError::EmptyGroup)
    );
    let mut g = group(1, 100, GroupPolicy::default());
    assert_eq!(
        g.handle_advert(t(0), MemberId(3), peer(1, 1)),
        Err(ConfigError::NoSuchMember(3))
    );
}

#[test]
fn fast_takeover_needs_priority_zero_from_our_own_master() {
    let mut g = group(2, 100, GroupPolicy::default());
    g.handle_admin(t(0), MemberId(0), Admin::Startup).unwrap();
    g.handle_advert(t(1_000_000), MemberId(0), peer(1, 150))
        .unwrap();
    g.handle_advert(t(1_000_000), MemberId(1), peer(2, 150))
        .unwrap();
    // A priority 0 from some other router on LAN 0 (not the master we follow).
    let mut stranger = peer(1, 0);
    stranger.source = Ipv4Addr::new(10, 0, 1, 9);
    g.handle_advert(t(2_000_000), MemberId(0), stranger)
        .unwrap();
    g.handle_timeout(t(2_609_375));
    assert_eq!(
        states(&g),
        vec![State::Backup; 2],
        "skew timer fired but the group held"
    );
}
