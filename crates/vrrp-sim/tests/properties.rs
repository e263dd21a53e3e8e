//! Property tests over random topologies, priorities, loss and event sequences.

use proptest::collection::vec;
use proptest::prelude::*;
use vrrp_sim::chaos::{ChaosPlan, check_converged, run};
use vrrp_sim::{CodecMode, Duration, RouterId};

proptest! {
    #![proptest_config(ProptestConfig {
        // 256 by default; PROPTEST_CASES raises it for longer hunts.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// After the network is quiet, exactly one MASTER per VRID per LAN among the routers
    /// taking part, holding the highest effective priority; never a panic.
    #[test]
    fn converges_to_one_master_with_the_highest_priority(
        data in vec(any::<u8>(), 0..160),
        seed in any::<u64>(),
    ) {
        let plan = ChaosPlan::from_bytes(&data);
        if let Err(v) = run(&plan, seed, CodecMode::Wire) {
            prop_assert!(false, "{v:?}\n{plan:?}");
        }
    }

    /// Fast group takeover never yields two masters on a LAN: with mirror sync groups on
    /// a lossless zero-delay network and distinct priorities, no virtual instant ends with
    /// two masters on any LAN (whatever crashes, restarts, shutdowns and link failures).
    #[test]
    fn fast_takeover_never_yields_two_masters(
        data in vec(any::<u8>(), 0..160),
        seed in any::<u64>(),
    ) {
        let plan = ChaosPlan::from_bytes(&data).lossless_mirror_groups();
        let mut sim = plan.build(seed, CodecMode::Wire);
        sim.disable_timeline();
        for r in 0..sim.router_count() {
            sim.start(RouterId(r));
        }
        let lans = sim.lan_vrids();
        let mut events = plan.events.clone();
        events.reverse();
        let end = plan.events.last().map_or(vrrp_sim::Instant::ZERO, |e| e.0) + Duration::from_secs(15);
        loop {
            let next_event = events.last().map(|e| e.0);
            let next_job = sim.next_job_at();
            let until = match (next_event, next_job) {
                (Some(e), Some(j)) => e.min(j),
                (Some(e), None) => e,
                (None, Some(j)) => j,
                (None, None) => break,
            };
            if until > end {
                break;
            }
            sim.run_until(until);
            prop_assert!(!sim.livelocked(), "livelock at {}\n{plan:?}", sim.now());
            if next_event == Some(until) {
                let (_, ev) = events.pop().unwrap();
                match ev {
                    vrrp_sim::chaos::ChaosEvent::Crash(r) => sim.crash(RouterId(r)),
                    vrrp_sim::chaos::ChaosEvent::Start(r) => sim.start(RouterId(r)),
                    vrrp_sim::chaos::ChaosEvent::Shutdown(r) => sim.shutdown(RouterId(r)),
                    vrrp_sim::chaos::ChaosEvent::Carrier(r, m, up) => sim.set_carrier(RouterId(r), m, up),
                    _ => unreachable!("filtered by lossless_mirror_groups"),
                }
                continue;
            }
            // All jobs of this instant are done only when the next one is later.
            if sim.next_job_at().is_none_or(|j| j > until) {
                for &(lan, vrid) in &lans {
                    let masters = sim.masters(lan, vrid);
                    prop_assert!(masters.len() <= 1, "two masters on {lan:?} at {}: {masters:?}\n{plan:?}", sim.now());
                }
            }
        }
        sim.run_for(Duration::from_secs(10));
        if let Err(v) = check_converged(&sim) {
            prop_assert!(false, "{v:?}\n{plan:?}");
        }
    }
}

#[test]
fn fuzz_body_runs_over_fixed_seeds() {
    let mut rng = vrrp_sim::SplitMix64::new(0xF5);
    for _ in 0..32 {
        let data: Vec<u8> = (0..120).map(|_| rng.next_u64() as u8).collect();
        vrrp_sim::chaos::fuzz_one(&data);
    }
}
