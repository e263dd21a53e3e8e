//! State-machine throughput: simulated events per second for 1,000 routers.
//!
//! 500 LANs with two routers each (priorities 150/100, advert interval 1 s), warmed
//! up past the first election, then 20 s of virtual time: every advert delivery and
//! every timer firing is one event. `facts` measures the state machine alone (the
//! simulator hands advert facts over directly); `wire` adds the real codec (encode +
//! decode of every advert).

use std::net::{IpAddr, Ipv4Addr};

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use vrrp_fsm::InstanceConfig;
use vrrp_sim::{CodecMode, Duration, Instant, LanConfig, RouterId, RouterSpec, Sim};
use vrrp_wire::{Auth, Vrid};

fn main() {
    divan::main();
}

const ROUTERS: usize = 1_000;
const WARM_UP: Duration = Duration::from_secs(5);
const MEASURED: Duration = Duration::from_secs(20);

fn build(codec: CodecMode) -> Sim {
    let mut sim = Sim::new(42, codec);
    sim.disable_timeline();
    for lan_index in 0..ROUTERS / 2 {
        let lan = sim.add_lan(LanConfig::default());
        let third = (lan_index / 250) as u8;
        let fourth = (lan_index % 250) as u8;
        for (host, prio) in [(1u8, 150u8), (2, 100)] {
            let vrid = Vrid::new(1 + (lan_index % 255) as u8).expect("1..=255");
            let src = Ipv4Addr::new(10, third, fourth, host);
            let mut cfg = InstanceConfig::new(vrid, prio, src);
            cfg.vips = vec![IpAddr::V4(Ipv4Addr::new(10, third, fourth, 200))];
            let spec = RouterSpec::single("r", lan, cfg, Auth::None);
            let id = sim.add_router(spec).expect("valid config");
            sim.start(id);
        }
    }
    sim.run_until(Instant::ZERO + WARM_UP);
    sim
}

/// Events the measured window processes (the simulation is deterministic).
fn events_in_window(codec: CodecMode) -> u64 {
    let mut sim = build(codec);
    let before = sim.processed();
    sim.run_for(MEASURED);
    sim.processed() - before
}

fn bench(bencher: Bencher, codec: CodecMode) {
    let events = events_in_window(codec);
    bencher
        .with_inputs(|| build(codec))
        .input_counter(move |_| ItemsCount::new(events))
        .bench_local_values(|mut sim| {
            sim.run_for(MEASURED);
            black_box(sim.router_count());
            assert_eq!(sim.state(RouterId(0), 0), vrrp_fsm::State::Master);
            sim
        });
}

/// State machine alone, 1,000 routers.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn sim_1000_routers_facts(bencher: Bencher) {
    bench(bencher, CodecMode::Facts);
}

/// State machine plus real encode/decode, 1,000 routers.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn sim_1000_routers_wire(bencher: Bencher) {
    bench(bencher, CodecMode::Wire);
}
