//! Random scenarios and the convergence invariant, shared by the property tests and the
//! `fsm_group` fuzz target.
//!
//! A [`ChaosPlan`] is decoded from arbitrary bytes (so a fuzzer and proptest can drive
//! it): a topology (standalone instances, or mirror sync groups spanning every LAN),
//! priorities, authentication, per-LAN delay, and a timed sequence of crashes, restarts,
//! shutdowns, carrier changes, partitions, loss changes and priority changes. [`run`]
//! plays it, then heals the network, stops the loss and lets it stay quiet; afterwards
//! every LAN must have exactly one MASTER per VRID among the routers taking part, and it
//! must hold the highest effective priority.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_fsm::{Admin, AuthKind, GroupPolicy, InstanceConfig, MemberId, State};
use vrrp_wire::{Auth, Vrid};

use crate::{
    CodecMode, Duration, Instant, LanConfig, LanId, MemberSpec, RouterId, RouterSpec, Sim,
};

/// Reads bounded values from a byte string; past its end every read yields 0.
#[derive(Clone, Debug)]
pub struct ByteReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    /// Reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        ByteReader { data, pos: 0 }
    }

    /// Next byte (0 when exhausted).
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos = self.pos.saturating_add(1);
        b
    }

    /// A value in `lo..=hi` (requires `lo <= hi`).
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        let span = hi.saturating_sub(lo) + 1;
        let raw = u32::from(self.byte()) << 8 | u32::from(self.byte());
        lo + raw % span
    }

    /// Whether unread bytes remain.
    pub fn has_more(&self) -> bool {
        self.pos < self.data.len()
    }
}

/// Authentication used by every instance of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosAuth {
    /// No authentication.
    None,
    /// Simple password.
    Pass,
    /// IPsec AH.
    Ah,
}

/// One scripted disturbance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChaosEvent {
    /// SIGKILL a router.
    Crash(usize),
    /// Start (or restart) a router.
    Start(usize),
    /// Graceful shutdown of a router.
    Shutdown(usize),
    /// Carrier change on a router's member.
    Carrier(usize, usize, bool),
    /// Partition a LAN: routers whose bit is set in the mask form side 1.
    Partition(usize, u32),
    /// Heal a LAN.
    Heal(usize),
    /// Set a LAN's loss (ppm).
    Loss(usize, u32),
    /// Set a router's base priority (all its members).
    Priority(usize, u8),
}

/// A complete random scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChaosPlan {
    /// Number of LANs.
    pub lans: usize,
    /// Mirror sync groups (one member per LAN per router) instead of standalone instances.
    pub grouped: bool,
    /// Per router: LAN (standalone only) and base priority.
    pub routers: Vec<(usize, u8)>,
    /// Authentication.
    pub auth: ChaosAuth,
    /// Per-LAN delay in µs.
    pub delays: Vec<u64>,
    /// Timed events, in time order.
    pub events: Vec<(Instant, ChaosEvent)>,
    /// Fast group takeover policy.
    pub fast_takeover: bool,
}

impl ChaosPlan {
    /// Decodes a plan from arbitrary bytes (total: any input gives a valid plan).
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut r = ByteReader::new(data);
        let lans = r.range(1, 3) as usize;
        let grouped = r.byte() & 1 == 1;
        let n = r.range(2, if grouped { 4 } else { 6 }) as usize;
        let routers = (0..n)
            .map(|_| {
                let lan = r.range(0, lans as u32 - 1) as usize;
                let p = match r.byte() {
                    0..=7 => 255,
                    _ => r.range(1, 254) as u8,
                };
                (lan, p)
            })
            .collect();
        let auth = match r.byte() % 3 {
            0 => ChaosAuth::None,
            1 => ChaosAuth::Pass,
            _ => ChaosAuth::Ah,
        };
        let delays = (0..lans).map(|_| u64::from(r.range(0, 5_000))).collect();
        let fast_takeover = r.byte() & 1 == 0;
        let mut events = Vec::new();
        let mut at = 0u64;
        let count = r.range(0, 14);
        for _ in 0..count {
            at += u64::from(r.range(0, 4_000)) * 1_000;
            let router = r.range(0, n as u32 - 1) as usize;
            let lan = r.range(0, lans as u32 - 1) as usize;
            let ev = match r.byte() % 8 {
                0 => ChaosEvent::Crash(router),
                1 => ChaosEvent::Start(router),
                2 => ChaosEvent::Shutdown(router),
                3 => ChaosEvent::Carrier(router, lan, r.byte() & 1 == 1),
                4 => ChaosEvent::Partition(lan, u32::from(r.byte())),
                5 => ChaosEvent::Heal(lan),
                6 => ChaosEvent::Loss(lan, r.range(0, 300_000)),
                _ => ChaosEvent::Priority(router, r.range(1, 254) as u8),
            };
            events.push((Instant::from_micros(at), ev));
        }
        ChaosPlan {
            lans,
            grouped,
            routers,
            auth,
            delays,
            events,
            fast_takeover,
        }
    }

    /// The same plan restricted to what the fast-takeover safety property assumes:
    /// mirror sync groups, no delay, no loss, no partitions, distinct priorities that
    /// stay fixed. Crashes, restarts, shutdowns and carrier changes remain.
    pub fn lossless_mirror_groups(mut self) -> Self {
        self.grouped = true;
        self.fast_takeover = true;
        self.delays = vec![0; self.lans];
        let mut used = Vec::new();
        for (_, p) in &mut self.routers {
            while used.contains(p) {
                *p = if *p >= 254 { 1 } else { *p + 1 };
            }
            used.push(*p);
        }
        self.events.retain(|(_, e)| {
            matches!(
                e,
                ChaosEvent::Crash(_)
                    | ChaosEvent::Start(_)
                    | ChaosEvent::Shutdown(_)
                    | ChaosEvent::Carrier(..)
            )
        });
        self
    }

    /// Builds the simulation (routers not yet started).
    pub fn build(&self, seed: u64, codec: CodecMode) -> Sim {
        let mut sim = Sim::new(seed, codec);
        for d in &self.delays {
            sim.add_lan(LanConfig {
                delay: Duration::from_micros(*d),
                ..LanConfig::default()
            });
        }
        let auth = match self.auth {
            ChaosAuth::None => Auth::None,
            ChaosAuth::Pass => Auth::Pass(*b"chaos123"),
            ChaosAuth::Ah => Auth::Ah(*b"chaoskey"),
        };
        for (i, &(lan, prio)) in self.routers.iter().enumerate() {
            let lans: Vec<usize> = if self.grouped {
                (0..self.lans).collect()
            } else {
                vec![lan]
            };
            let members = lans
                .into_iter()
                .filter_map(|l| {
                    // VRID per LAN; the same host number on every LAN keeps the address
                    // tie-break consistent across a group's LANs.
                    let vrid = Vrid::new(10 + l as u8)?;
                    let mut cfg = InstanceConfig::new(
                        vrid,
                        prio,
                        Ipv4Addr::new(10, 9, l as u8, 10 + i as u8),
                    );
                    cfg.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 9, l as u8, 200))];
                    cfg.auth = AuthKind::from(&auth);
                    Some(MemberSpec {
                        lan: LanId(l),
                        cfg,
                        auth,
                    })
                })
                .collect();
            let spec = RouterSpec {
                name: format!("r{i}"),
                members,
                policy: GroupPolicy {
                    fast_takeover: self.fast_takeover,
                },
                commit_ack_delay: Duration::ZERO,
            };
            // Plans only produce valid configurations (priority ≥ 1, preempt on).
            if sim.add_router(spec).is_err() {
                continue;
            }
        }
        sim
    }
}

/// A broken invariant, with enough context to reproduce it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Time of the check.
    pub at: Instant,
    /// LAN.
    pub lan: usize,
    /// VRID.
    pub vrid: u8,
    /// What was wrong.
    pub what: String,
}

/// Checks "exactly one MASTER per VRID per LAN among the routers taking part (alive,
/// member in BACKUP or MASTER), holding the highest effective priority".
pub fn check_converged(sim: &Sim) -> Result<(), Violation> {
    if sim.livelocked() {
        return Err(Violation {
            at: sim.now(),
            lan: 0,
            vrid: 0,
            what: "livelock: time stopped advancing".to_string(),
        });
    }
    for (lan, vrid) in sim.lan_vrids() {
        let mut participants = Vec::new();
        for r in 0..sim.router_count() {
            let g = sim.group(RouterId(r));
            for m in 0..g.len() {
                let cfg = g.member_config(MemberId(m));
                let on_lan = sim.routers[r].spec.members[m].lan == lan;
                if !on_lan || cfg.map(|c| c.vrid.get()) != Some(vrid) {
                    continue;
                }
                let st = sim.state(RouterId(r), m);
                if matches!(st, State::Backup | State::Master) {
                    let prio = g.member_priority(MemberId(m)).unwrap_or(0);
                    participants.push((r, st, prio));
                }
            }
        }
        if participants.is_empty() {
            continue;
        }
        let masters: Vec<_> = participants
            .iter()
            .filter(|p| p.1 == State::Master)
            .collect();
        let best = participants.iter().map(|p| p.2).max().unwrap_or(0);
        let fail = |what: String| Violation {
            at: sim.now(),
            lan: lan.0,
            vrid,
            what,
        };
        if masters.len() != 1 {
            return Err(fail(format!(
                "{} masters among {participants:?}",
                masters.len()
            )));
        }
        if masters[0].2 != best {
            return Err(fail(format!(
                "master r{} has priority {} but the best participant has {best}: {participants:?}",
                masters[0].0, masters[0].2
            )));
        }
    }
    Ok(())
}

/// Quiet time after the last event: twice the longest Master_Down_Interval plus margin.
pub const QUIET: Duration = Duration::from_secs(10);

/// Plays `plan` (every router started at 0), then heals everything and checks
/// convergence after [`QUIET`].
pub fn run(plan: &ChaosPlan, seed: u64, codec: CodecMode) -> Result<Sim, Violation> {
    let mut sim = plan.build(seed, codec);
    sim.disable_timeline();
    for r in 0..sim.router_count() {
        sim.start(RouterId(r));
    }
    let members_per_router = if plan.grouped { plan.lans } else { 1 };
    for (at, ev) in &plan.events {
        sim.run_until(*at);
        let n = sim.router_count();
        match *ev {
            ChaosEvent::Crash(r) if r < n => sim.crash(RouterId(r)),
            ChaosEvent::Start(r) if r < n => sim.start(RouterId(r)),
            ChaosEvent::Shutdown(r) if r < n => sim.shutdown(RouterId(r)),
            ChaosEvent::Carrier(r, lan, up) if r < n => {
                let m = if plan.grouped { lan } else { 0 };
                if m < members_per_router {
                    sim.set_carrier(RouterId(r), m, up);
                }
            }
            ChaosEvent::Partition(lan, mask) if lan < plan.lans => {
                let side: Vec<RouterId> = (0..n)
                    .filter(|i| mask >> i & 1 == 1)
                    .map(RouterId)
                    .collect();
                sim.partition(LanId(lan), &[&side]);
            }
            ChaosEvent::Heal(lan) if lan < plan.lans => sim.heal(LanId(lan)),
            ChaosEvent::Loss(lan, ppm) if lan < plan.lans => {
                let delay = Duration::from_micros(plan.delays[lan]);
                sim.set_lan(
                    LanId(lan),
                    LanConfig {
                        delay,
                        jitter: Duration::ZERO,
                        loss_ppm: ppm,
                    },
                );
            }
            ChaosEvent::Priority(r, p) if r < n => {
                // A group keeps one priority for all members (mirror groups).
                for m in 0..members_per_router {
                    // Owners configured with preempt accept any priority 1..=255.
                    sim.admin(RouterId(r), m, Admin::SetPriority(p));
                }
            }
            _ => {}
        }
    }
    for lan in 0..plan.lans {
        sim.heal(LanId(lan));
        let delay = Duration::from_micros(plan.delays[lan]);
        sim.set_lan(
            LanId(lan),
            LanConfig {
                delay,
                jitter: Duration::ZERO,
                loss_ppm: 0,
            },
        );
    }
    sim.run_for(QUIET);
    check_converged(&sim)?;
    Ok(sim)
}

/// The fuzz body: any bytes give a plan; the first 8 bytes also seed the loss RNG. Panics
/// (on purpose) when the invariant breaks, so the fuzzer reports it.
pub fn fuzz_one(data: &[u8]) {
    let mut seed_bytes = [0u8; 8];
    for (d, s) in seed_bytes.iter_mut().zip(data) {
        *d = *s;
    }
    let plan = ChaosPlan::from_bytes(data.get(8..).unwrap_or(&[]));
    if let Err(v) = run(&plan, u64::from_le_bytes(seed_bytes), CodecMode::Wire) {
        panic!("invariant violated: {v:?}\nplan: {plan:?}");
    }
}
