//! Runs the d-sync scenario from the keepalived captures in the simulator and prints a
//! timeline: two routers, each a sync group over two LANs; the master's LAN-1 link fails.
//! With the fast group policy the backup group takes both LANs at skew time (keepalived
//! needed 3.6 s); then the link returns and the master preempts.
//!
//! Run: `cargo run -p examples --example simulate [-- --keepalived] [--trace=FILE]`
//! (`--trace` writes every state-machine input and output as JSON lines).

use std::net::{IpAddr, Ipv4Addr};

use vrrp_fsm::{GroupPolicy, InstanceConfig, State};
use vrrp_sim::{CodecMode, Duration, Instant, LanConfig, LanId, MemberSpec, RouterSpec, Sim};
use vrrp_wire::{Auth, Vrid};

fn main() {
    let fast = !std::env::args().any(|a| a == "--keepalived");
    let trace_path = std::env::args().find_map(|a| a.strip_prefix("--trace=").map(str::to_string));
    let mut sim = Sim::new(1, CodecMode::Wire);
    if trace_path.is_some() {
        sim.enable_trace();
    }
    let lans = [
        sim.add_lan(LanConfig {
            delay: Duration::from_micros(50),
            ..LanConfig::default()
        }),
        sim.add_lan(LanConfig {
            delay: Duration::from_micros(50),
            ..LanConfig::default()
        }),
    ];
    let mut routers = Vec::new();
    for (name, host, prio) in [("r1", 11u8, 150u8), ("r2", 12, 100)] {
        let members = lans
            .iter()
            .enumerate()
            .map(|(i, &lan)| {
                let vrid = Vrid::new(10 + i as u8).expect("non-zero");
                let mut cfg = InstanceConfig::new(vrid, prio, Ipv4Addr::new(10, 99, i as u8, host));
                cfg.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 99, i as u8, 210))];
                MemberSpec {
                    lan,
                    cfg,
                    auth: Auth::None,
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
        routers.push(sim.add_router(spec).expect("valid configuration"));
    }
    for &r in &routers {
        sim.start(r);
    }
    sim.run_until(Instant::from_micros(8_000_000));
    let fail = sim.now();
    sim.set_carrier(routers[0], 1, false);
    sim.run_until(Instant::from_micros(14_000_000));
    sim.set_carrier(routers[0], 1, true);
    sim.run_until(Instant::from_micros(20_000_000));

    println!(
        "policy: {}",
        if fast {
            "fast group takeover"
        } else {
            "keepalived (wait for every member)"
        }
    );
    print!("{}", sim.render_timeline());
    let took = sim.entered(routers[1], 1, State::Master);
    if let Some(first) = took.first() {
        println!(
            "\nr2 held both VIPs {} after r1's LAN-1 link failed",
            first.saturating_since(fail)
        );
    }
    for lan in [LanId(0), LanId(1)] {
        let vrid = 10 + lan.0 as u8;
        println!("masters on LAN {}: {:?}", lan.0, sim.masters(lan, vrid));
    }
    if let Some(path) = trace_path {
        let mut text = sim.trace_lines().join("\n");
        text.push('\n');
        match std::fs::write(&path, text) {
            Ok(()) => println!("trace: {} lines written to {path}", sim.trace_lines().len()),
            Err(e) => eprintln!("cannot write {path}: {e}"),
        }
    }
}
