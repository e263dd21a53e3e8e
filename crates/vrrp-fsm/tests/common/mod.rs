//! Helpers shared by the integration tests.
#![allow(dead_code)]

use core::net::{IpAddr, Ipv4Addr};
use vrrp_fsm::*;
use vrrp_wire::Vrid;

pub const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const PEER_HIGH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
pub const PEER_LOW: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200));

pub fn t(us: u64) -> Instant {
    Instant::from_micros(us)
}

pub fn us(us: u64) -> Duration {
    Duration::from_micros(us)
}

pub fn cfg(prio: u8) -> InstanceConfig {
    let mut c = InstanceConfig::new(Vrid::new(51).unwrap(), prio, ME);
    c.vips = vec![VIP];
    c
}

pub fn adv(source: Ipv4Addr, priority: u8) -> AdvertRx {
    AdvertRx {
        source,
        priority,
        advert_interval: Duration::from_secs(1),
        ah_seq: None,
        addresses_match: true,
    }
}

pub fn drain(r: &mut Router) -> Vec<Output> {
    core::iter::from_fn(|| r.poll_output()).collect()
}

pub fn adverts(out: &[Output]) -> Vec<AdvertTx> {
    out.iter()
        .filter_map(|o| match o {
            Output::Advert(a) => Some(*a),
            _ => None,
        })
        .collect()
}

pub fn effects(out: &[Output]) -> Vec<Effect> {
    out.iter()
        .filter_map(|o| match o {
            Output::Effect { effect, .. } => Some(effect.clone()),
            _ => None,
        })
        .collect()
}

pub fn transitions(out: &[Output]) -> Vec<(State, State, Reason)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::StateChanged { from, to, reason }) => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

/// A started router (outputs of the startup discarded).
pub fn started(c: InstanceConfig, now: Instant) -> Router {
    let mut r = Router::new(c).unwrap();
    r.handle_admin(now, Admin::Startup).unwrap();
    drain(&mut r);
    r
}

/// Runs timers until `until` (inclusive), returning all outputs.
pub fn run_until(r: &mut Router, until: Instant) -> Vec<(Instant, Output)> {
    let mut all = Vec::new();
    while let Some(d) = r.poll_timeout() {
        if d > until {
            break;
        }
        r.handle_timeout(d);
        all.extend(drain(r).into_iter().map(|o| (d, o)));
    }
    all
}

/// A started router that became master by timeout at 3.609375 s (prio 100).
pub fn master(c: InstanceConfig) -> (Router, Instant) {
    let mut r = started(c, t(0));
    let at = r.poll_timeout().unwrap();
    r.handle_timeout(at);
    drain(&mut r);
    assert_eq!(r.state(), State::Master);
    (r, at)
}
