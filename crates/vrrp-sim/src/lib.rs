//! Deterministic multi-router simulator driving the real VRRP state machine and codec.
//!
//! N routers (each a [`vrrp_fsm::SyncGroup`], so a plain instance is a group of one)
//! sit on one or more simulated LANs with per-LAN delay, loss and partitions. Routers
//! can crash (SIGKILL: silent), shut down gracefully, restart, and lose carrier on a
//! link. Time is virtual ([`vrrp_fsm::Instant`] starting at zero) and all randomness
//! comes from a seeded [`SplitMix64`], so every run is reproducible.
//!
//! Adverts go through the real codec by default ([`CodecMode::Wire`]): encoded by the
//! sender with `vrrp-wire` (AH ICV and sequence included) and decoded and authenticated
//! by every receiver. [`CodecMode::Facts`] skips the bytes (for measuring the state
//! machine alone). A trace of every input and output can be recorded as JSON lines.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use vrrp_fsm::{InstanceConfig, State};
//! use vrrp_sim::{CodecMode, Instant, LanConfig, RouterSpec, Sim};
//! use vrrp_wire::{Auth, Vrid};
//!
//! let mut sim = Sim::new(7, CodecMode::Wire);
//! let lan = sim.add_lan(LanConfig::default());
//! let mut ids = Vec::new();
//! for (host, prio) in [(1, 150), (2, 100)] {
//!     let mut cfg = InstanceConfig::new(Vrid::new(51).unwrap(), prio, Ipv4Addr::new(10, 0, 0, host));
//!     cfg.vips = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, 200))];
//!     ids.push(sim.add_router(RouterSpec::single("r", lan, cfg, Auth::None)).unwrap());
//! }
//! for &r in &ids {
//!     sim.start(r);
//! }
//! sim.run_until(Instant::from_micros(5_000_000));
//! // Priority 150 times out first: 3 s + (256 − 150)/256 s.
//! assert_eq!(sim.entered(ids[0], 0, State::Master), vec![Instant::from_micros(3_414_062)]);
//! sim.crash(ids[0]); // SIGKILL: no priority 0
//! sim.run_until(Instant::from_micros(10_000_000));
//! // Last advert at 4.414062 s, then Master_Down_Interval of priority 100.
//! assert_eq!(sim.entered(ids[1], 0, State::Master), vec![Instant::from_micros(4_414_062 + 3_609_375)]);
//! ```
//!
//! Dependencies: `vrrp-fsm` and `vrrp-wire` (what is simulated), `thiserror` (setup
//! errors), `serde`/`serde_json` (traces). The PRNG is written here to keep runs
//! independent of external crates.
#![forbid(unsafe_code)]

pub mod chaos;
mod codec;
mod rng;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::rc::Rc;

use serde::Serialize;
use vrrp_fsm::{
    Admin, AdvertRx, Effect, EffectId, EffectOutcome, Event, GroupPolicy, InstanceConfig,
    LinkState, MemberId, Output, State, SyncGroup, TrackId, TrackStatus,
};
pub use vrrp_fsm::{Duration, Instant};
use vrrp_wire::{Auth, IpIdCounter};

pub use codec::{EncodeFailure, WireCtx};
pub use rng::SplitMix64;

/// Index of a simulated LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LanId(pub usize);

/// Index of a simulated router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RouterId(pub usize);

/// How adverts travel between routers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CodecMode {
    /// Encode to bytes and decode/authenticate with `vrrp-wire` (default).
    #[default]
    Wire,
    /// Hand the advert facts over directly (state-machine throughput measurements).
    Facts,
}

/// Properties of one LAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanConfig {
    /// One-way delivery delay.
    pub delay: Duration,
    /// Extra uniformly random delay in `0..=jitter`.
    pub jitter: Duration,
    /// Loss probability per delivery, parts per million.
    pub loss_ppm: u32,
}

impl Default for LanConfig {
    fn default() -> Self {
        LanConfig {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss_ppm: 0,
        }
    }
}

/// One VRRP instance of a simulated router, attached to a LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSpec {
    /// The LAN its interface is on.
    pub lan: LanId,
    /// Its state-machine configuration.
    pub cfg: InstanceConfig,
    /// Its authentication (key material for the codec).
    pub auth: Auth,
}

/// A simulated router: one sync group (possibly of one member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterSpec {
    /// Name used in timelines.
    pub name: String,
    /// Members, numbered in this order.
    pub members: Vec<MemberSpec>,
    /// Group policy.
    pub policy: GroupPolicy,
    /// Delay after which the simulated OS acknowledges a `SyncCommit` effect.
    pub commit_ack_delay: Duration,
}

impl RouterSpec {
    /// A router with one instance on `lan`.
    pub fn single(name: &str, lan: LanId, cfg: InstanceConfig, auth: Auth) -> Self {
        RouterSpec {
            name: name.to_string(),
            members: vec![MemberSpec { lan, cfg, auth }],
            policy: GroupPolicy::default(),
            commit_ack_delay: Duration::ZERO,
        }
    }
}

/// What happened, for timelines and assertions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Virtual time.
    pub at: Instant,
    /// Router.
    pub router: RouterId,
    /// Member (`None` for group-level events and router-level actions).
    pub member: Option<MemberId>,
    /// What.
    pub what: RecordKind,
}

/// Kinds of timeline records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum RecordKind {
    /// An output of the state machine.
    Output(Output),
    /// A received packet the codec rejected (`Display` of the error).
    WireDrop(String),
    /// A router action of the scenario (crash, restart, link down…).
    Action(String),
}

/// One JSON-lines trace entry: an input fed to, or an output taken from, a state machine.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TraceEntry {
    /// An input.
    Input {
        /// Time.
        at: Instant,
        /// Router.
        router: RouterId,
        /// Member, for member inputs.
        member: Option<MemberId>,
        /// The input.
        input: TraceInput,
    },
    /// An output.
    Output {
        /// Time.
        at: Instant,
        /// Router.
        router: RouterId,
        /// Member (`None` for group events).
        member: Option<MemberId>,
        /// The output.
        output: Output,
    },
}

/// Inputs as recorded in traces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TraceInput {
    /// `handle_advert`.
    Advert(AdvertRx),
    /// `handle_link`.
    Link(LinkState),
    /// `handle_track`.
    Track(TrackId, TrackStatus),
    /// `handle_admin`.
    Admin(Admin),
    /// `handle_timeout`.
    Timeout,
    /// `handle_effect_done`.
    EffectDone(EffectId, EffectOutcome),
}

#[derive(Clone, Debug)]
enum Payload {
    Bytes(Rc<[u8]>),
    Facts(AdvertRx),
}

#[derive(Clone, Debug)]
enum Job {
    Timer {
        router: usize,
        generation: u64,
    },
    Deliver {
        router: usize,
        member: usize,
        epoch: u64,
        payload: Payload,
    },
    EffectAck {
        router: usize,
        epoch: u64,
        id: EffectId,
    },
}

/// A heap entry: ordering key plus the slot of its job (kept small for fast sifting).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Scheduled {
    at: Instant,
    seq: u64,
    slot: usize,
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest (then first scheduled) job.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// Jobs indexed by heap entries, with a free list.
#[derive(Default)]
struct Slab {
    jobs: Vec<Option<Job>>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, job: Job) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.jobs[i] = Some(job);
                i
            }
            None => {
                self.jobs.push(Some(job));
                self.jobs.len() - 1
            }
        }
    }

    fn take(&mut self, slot: usize) -> Option<Job> {
        let job = self.jobs.get_mut(slot)?.take();
        self.free.push(slot);
        job
    }
}

struct SimRouter {
    spec: RouterSpec,
    group: SyncGroup,
    wire: Vec<WireCtx>,
    ip_ids: Vec<IpIdCounter>,
    carrier: Vec<bool>,
    side: Vec<u32>,
    last_sent: Vec<Option<Rc<[u8]>>>,
    alive: bool,
    /// Bumped on crash/restart so in-flight deliveries and acks to the old process vanish.
    epoch: u64,
    timer_at: Option<Instant>,
    timer_generation: u64,
}

struct Lan {
    cfg: LanConfig,
    /// (router, member) attached to this LAN.
    ports: Vec<(usize, usize)>,
}

/// The simulator.
pub struct Sim {
    now: Instant,
    rng: SplitMix64,
    codec: CodecMode,
    lans: Vec<Lan>,
    routers: Vec<SimRouter>,
    queue: BinaryHeap<Scheduled>,
    jobs: Slab,
    seq: u64,
    timeline: Option<Vec<Record>>,
    trace: Option<Vec<String>>,
    processed: u64,
    wire_drops: u64,
    same_instant_jobs: u64,
    livelocked: bool,
}

/// Jobs allowed at one virtual instant before the run is declared a livelock (an
/// endless exchange of immediate replies that never lets time advance).
pub const LIVELOCK_LIMIT: u64 = 100_000;

/// Errors of the simulator's setup calls.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// A member refers to a LAN that does not exist.
    #[error("no LAN {}", .0.0)]
    NoSuchLan(LanId),
    /// The state machine refused the configuration.
    #[error("configuration refused: {0}")]
    Config(#[from] vrrp_fsm::ConfigError),
}

impl Sim {
    /// An empty simulation at time zero.
    pub fn new(seed: u64, codec: CodecMode) -> Self {
        Sim {
            now: Instant::ZERO,
            rng: SplitMix64::new(seed),
            codec,
            lans: Vec::new(),
            routers: Vec::new(),
            queue: BinaryHeap::new(),
            jobs: Slab::default(),
            seq: 0,
            timeline: Some(Vec::new()),
            trace: None,
            processed: 0,
            wire_drops: 0,
            same_instant_jobs: 0,
            livelocked: false,
        }
    }

    /// Stops recording the timeline (for throughput runs).
    pub fn disable_timeline(&mut self) {
        self.timeline = None;
    }

    /// Starts recording a JSON-lines trace of all inputs and outputs.
    pub fn enable_trace(&mut self) {
        self.trace = Some(Vec::new());
    }

    /// The recorded trace lines (empty if tracing is off).
    pub fn trace_lines(&self) -> &[String] {
        self.trace.as_deref().unwrap_or(&[])
    }

    /// The recorded timeline.
    pub fn timeline(&self) -> &[Record] {
        self.timeline.as_deref().unwrap_or(&[])
    }

    /// Current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Jobs (deliveries, timer firings, acks) processed so far.
    pub fn processed(&self) -> u64 {
        self.processed
    }

    /// Whether more than [`LIVELOCK_LIMIT`] jobs ran at one instant (the run stopped).
    pub fn livelocked(&self) -> bool {
        self.livelocked
    }

    /// Packets the codec rejected on reception.
    pub fn wire_drops(&self) -> u64 {
        self.wire_drops
    }

    /// Adds a LAN.
    pub fn add_lan(&mut self, cfg: LanConfig) -> LanId {
        self.lans.push(Lan {
            cfg,
            ports: Vec::new(),
        });
        LanId(self.lans.len() - 1)
    }

    /// Changes a LAN's delay/loss.
    pub fn set_lan(&mut self, lan: LanId, cfg: LanConfig) {
        if let Some(l) = self.lans.get_mut(lan.0) {
            l.cfg = cfg;
        }
    }

    /// Adds a router (not started).
    pub fn add_router(&mut self, spec: RouterSpec) -> Result<RouterId, SimError> {
        for m in &spec.members {
            if m.lan.0 >= self.lans.len() {
                return Err(SimError::NoSuchLan(m.lan));
            }
        }
        let group = Self::build_group(&spec)?;
        let id = self.routers.len();
        for (i, m) in spec.members.iter().enumerate() {
            self.lans[m.lan.0].ports.push((id, i));
        }
        let n = spec.members.len();
        self.routers.push(SimRouter {
            wire: spec
                .members
                .iter()
                .map(|m| WireCtx::new(&m.cfg, m.auth))
                .collect(),
            ip_ids: vec![IpIdCounter::new(); n],
            carrier: vec![true; n],
            side: vec![0; n],
            last_sent: vec![None; n],
            group,
            spec,
            alive: false,
            epoch: 0,
            timer_at: None,
            timer_generation: 0,
        });
        Ok(RouterId(id))
    }

    fn build_group(spec: &RouterSpec) -> Result<SyncGroup, SimError> {
        SyncGroup::new(
            spec.members.iter().map(|m| m.cfg.clone()).collect(),
            spec.policy,
        )
        .map_err(SimError::Config)
    }

    /// Number of routers.
    pub fn router_count(&self) -> usize {
        self.routers.len()
    }

    /// The router's state machine (read-only).
    pub fn group(&self, r: RouterId) -> &SyncGroup {
        &self.routers[r.0].group
    }

    /// The router's name.
    pub fn name(&self, r: RouterId) -> &str {
        &self.routers[r.0].spec.name
    }

    /// State of member `m` of router `r` (INIT if crashed).
    pub fn state(&self, r: RouterId, m: usize) -> State {
        let rt = &self.routers[r.0];
        if !rt.alive {
            return State::Init;
        }
        rt.group.member_state(MemberId(m)).unwrap_or(State::Init)
    }

    /// (router, member) pairs currently MASTER on `lan` for `vrid`.
    pub fn masters(&self, lan: LanId, vrid: u8) -> Vec<(RouterId, usize)> {
        self.lans[lan.0]
            .ports
            .iter()
            .filter(|&&(r, m)| {
                let rt = &self.routers[r];
                rt.alive
                    && rt.spec.members[m].cfg.vrid.get() == vrid
                    && rt.group.member_state(MemberId(m)) == Some(State::Master)
            })
            .map(|&(r, m)| (RouterId(r), m))
            .collect()
    }

    /// The LANs and VRIDs in use.
    pub fn lan_vrids(&self) -> Vec<(LanId, u8)> {
        let mut v: Vec<(LanId, u8)> = self
            .lans
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.ports.iter().map(move |&(r, m)| (LanId(i), (r, m))))
            .map(|(l, (r, m))| (l, self.routers[r].spec.members[m].cfg.vrid.get()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    // ----- scenario actions ----------------------------------------------------------

    fn action(&mut self, r: usize, member: Option<usize>, what: &str) {
        let at = self.now;
        if let Some(t) = self.timeline.as_mut() {
            t.push(Record {
                at,
                router: RouterId(r),
                member: member.map(MemberId),
                what: RecordKind::Action(what.to_string()),
            });
        }
    }

    /// Starts (or restarts after a crash / shutdown) router `r` now.
    pub fn start(&mut self, r: RouterId) {
        let rt = &mut self.routers[r.0];
        if !rt.alive || rt.group.state() != State::Init {
            // A crashed process loses everything, including the AH counter.
            if !rt.alive {
                if let Ok(g) = Self::build_group(&rt.spec) {
                    rt.group = g;
                }
                rt.ip_ids = vec![IpIdCounter::new(); rt.spec.members.len()];
            }
        }
        rt.alive = true;
        rt.epoch += 1;
        self.action(r.0, None, "start");
        let carrier = self.routers[r.0].carrier.clone();
        for (m, up) in carrier.into_iter().enumerate() {
            if !up {
                self.input(r.0, Some(m), TraceInput::Link(LinkState::Down));
            }
        }
        self.input(r.0, None, TraceInput::Admin(Admin::Startup));
    }

    /// SIGKILL: the router stops at once, sends nothing more, forgets its state.
    pub fn crash(&mut self, r: RouterId) {
        self.action(r.0, None, "crash");
        let rt = &mut self.routers[r.0];
        rt.alive = false;
        rt.epoch += 1;
        rt.timer_at = None;
        rt.timer_generation += 1;
    }

    /// Graceful shutdown (SIGTERM): masters send priority 0 and release.
    pub fn shutdown(&mut self, r: RouterId) {
        self.action(r.0, None, "shutdown");
        self.input(r.0, None, TraceInput::Admin(Admin::Shutdown));
    }

    /// Carrier change on member `m`'s link: no traffic while down, and the router's link
    /// probe reports it to the state machine.
    pub fn set_carrier(&mut self, r: RouterId, m: usize, up: bool) {
        self.action(r.0, Some(m), if up { "link up" } else { "link down" });
        if let Some(c) = self.routers[r.0].carrier.get_mut(m) {
            *c = up;
        }
        let link = if up { LinkState::Up } else { LinkState::Down };
        self.input(r.0, Some(m), TraceInput::Link(link));
    }

    /// Splits `lan`: ports of routers in different `sides` cannot hear each other. Routers
    /// not listed are on side 0. Links stay up (nobody notices).
    pub fn partition(&mut self, lan: LanId, sides: &[&[RouterId]]) {
        self.heal(lan);
        let ports = self.lans[lan.0].ports.clone();
        for (i, side) in sides.iter().enumerate() {
            for r in *side {
                for &(pr, pm) in &ports {
                    if pr == r.0 {
                        self.routers[pr].side[pm] = i as u32 + 1;
                    }
                }
            }
        }
    }

    /// Removes any partition on `lan`.
    pub fn heal(&mut self, lan: LanId) {
        let ports = self.lans[lan.0].ports.clone();
        for (r, m) in ports {
            self.routers[r].side[m] = 0;
        }
    }

    /// Feeds a tracker result to router `r`.
    pub fn track(&mut self, r: RouterId, id: TrackId, status: TrackStatus) {
        self.input(r.0, None, TraceInput::Track(id, status));
    }

    /// Feeds an admin input for member `m` of router `r`.
    pub fn admin(&mut self, r: RouterId, m: usize, admin: Admin) {
        self.input(r.0, Some(m), TraceInput::Admin(admin));
    }

    /// The last packet member `m` of router `r` put on the wire (codec mode `Wire`).
    pub fn last_packet(&self, r: RouterId, m: usize) -> Option<Vec<u8>> {
        self.routers[r.0]
            .last_sent
            .get(m)?
            .as_ref()
            .map(|b| b.to_vec())
    }

    /// Delivers raw bytes to member `m` of router `r` now, as if received on its link
    /// (replays, forged packets).
    pub fn inject(&mut self, r: RouterId, m: usize, bytes: &[u8]) {
        if self.routers[r.0].alive {
            self.deliver(r.0, m, Payload::Bytes(bytes.into()));
        }
    }

    // ----- engine ---------------------------------------------------------------------

    fn schedule(&mut self, at: Instant, job: Job) {
        self.seq += 1;
        let slot = self.jobs.insert(job);
        self.queue.push(Scheduled {
            at,
            seq: self.seq,
            slot,
        });
    }

    fn trace(&mut self, entry: TraceEntry) {
        if let Some(t) = self.trace.as_mut() {
            // Serialising these plain data types cannot fail; skip the line if it did.
            if let Ok(line) = serde_json::to_string(&entry) {
                t.push(line);
            }
        }
    }

    fn input(&mut self, r: usize, member: Option<usize>, input: TraceInput) {
        if !self.routers[r].alive {
            return;
        }
        let now = self.now;
        if self.trace.is_some() {
            self.trace(TraceEntry::Input {
                at: now,
                router: RouterId(r),
                member: member.map(MemberId),
                input: input.clone(),
            });
        }
        let g = &mut self.routers[r].group;
        let m = MemberId(member.unwrap_or(0));
        let result = match input {
            TraceInput::Advert(rx) => g.handle_advert(now, m, rx),
            TraceInput::Link(l) => g.handle_link(now, m, l),
            TraceInput::Track(id, s) => {
                g.handle_track(now, id, s);
                Ok(())
            }
            TraceInput::Admin(a) => g.handle_admin(now, m, a),
            TraceInput::Timeout => {
                g.handle_timeout(now);
                Ok(())
            }
            TraceInput::EffectDone(id, o) => {
                g.handle_effect_done(now, id, o);
                Ok(())
            }
        };
        if let Err(e) = result {
            // Member indices come from our own specs; what remains are refused admin
            // inputs (priority 0, reload changing identity): record them.
            self.action(r, member, &format!("input refused: {e}"));
        }
        self.after_input(r);
    }

    fn after_input(&mut self, r: usize) {
        let now = self.now;
        while let Some((member, out)) = self.routers[r].group.poll_output() {
            if self.trace.is_some() {
                self.trace(TraceEntry::Output {
                    at: now,
                    router: RouterId(r),
                    member,
                    output: out.clone(),
                });
            }
            match &out {
                Output::Advert(tx) => {
                    if let Some(m) = member {
                        self.transmit(r, m.0, tx);
                    }
                }
                Output::Effect {
                    id,
                    effect: Effect::SyncCommit,
                } => {
                    let rt = &self.routers[r];
                    let at = now + rt.spec.commit_ack_delay;
                    let job = Job::EffectAck {
                        router: r,
                        epoch: rt.epoch,
                        id: *id,
                    };
                    self.schedule(at, job);
                }
                _ => {}
            }
            if let Some(t) = self.timeline.as_mut() {
                t.push(Record {
                    at: now,
                    router: RouterId(r),
                    member,
                    what: RecordKind::Output(out),
                });
            }
        }
        self.arm_timer(r);
    }

    /// Keeps one live timer job per router, at or before the machine's deadline. A later
    /// deadline does not reschedule: the early job finds nothing due and re-arms itself
    /// (far fewer heap operations, as a backup's deadline moves on every advert).
    fn arm_timer(&mut self, r: usize) {
        let now = self.now;
        let rt = &mut self.routers[r];
        let Some(next) = rt.group.poll_timeout() else {
            return;
        };
        if rt.timer_at.is_some_and(|t| t <= next) {
            return;
        }
        rt.timer_at = Some(next);
        rt.timer_generation += 1;
        let generation = rt.timer_generation;
        self.schedule(
            next.max(now),
            Job::Timer {
                router: r,
                generation,
            },
        );
    }

    fn transmit(&mut self, r: usize, m: usize, tx: &vrrp_fsm::AdvertTx) {
        let rt = &mut self.routers[r];
        if !rt.carrier[m] {
            return;
        }
        let payload = match self.codec {
            CodecMode::Wire => {
                let id = rt.ip_ids[m].next_id();
                match rt.wire[m].encode(tx, id) {
                    Ok(bytes) => {
                        let bytes: Rc<[u8]> = bytes.into();
                        rt.last_sent[m] = Some(bytes.clone());
                        Payload::Bytes(bytes)
                    }
                    Err(e) => {
                        let s = format!("encode failed: {e:?}");
                        self.action(r, Some(m), &s);
                        return;
                    }
                }
            }
            CodecMode::Facts => Payload::Facts(AdvertRx {
                source: rt.spec.members[m].cfg.source,
                priority: tx.priority,
                advert_interval: tx.advert_interval,
                ah_seq: tx.ah_seq,
                addresses_match: true,
            }),
        };
        let side = rt.side[m];
        let lan = rt.spec.members[m].lan.0;
        let LanConfig {
            delay,
            jitter,
            loss_ppm,
        } = self.lans[lan].cfg;
        for i in 0..self.lans[lan].ports.len() {
            let (pr, pm) = self.lans[lan].ports[i];
            if pr == r {
                continue;
            }
            let peer = &self.routers[pr];
            if !peer.alive || !peer.carrier[pm] || peer.side[pm] != side {
                continue;
            }
            if self.rng.chance_ppm(loss_ppm) {
                continue;
            }
            let extra = if jitter.is_zero() {
                0
            } else {
                self.rng.below(jitter.as_micros() + 1)
            };
            let at = self.now + delay + Duration::from_micros(extra);
            let job = Job::Deliver {
                router: pr,
                member: pm,
                epoch: peer.epoch,
                payload: payload.clone(),
            };
            self.schedule(at, job);
        }
    }

    fn deliver(&mut self, r: usize, m: usize, payload: Payload) {
        let rt = &self.routers[r];
        if !rt.carrier[m] {
            return;
        }
        let rx = match payload {
            Payload::Facts(rx) => rx,
            Payload::Bytes(bytes) => match rt.wire[m].decode(&bytes) {
                Ok(rx) => rx,
                Err(e) if e.is_silent_drop() => return,
                Err(e) => {
                    self.wire_drops += 1;
                    let now = self.now;
                    if let Some(t) = self.timeline.as_mut() {
                        t.push(Record {
                            at: now,
                            router: RouterId(r),
                            member: Some(MemberId(m)),
                            what: RecordKind::WireDrop(e.to_string()),
                        });
                    }
                    return;
                }
            },
        };
        self.input(r, Some(m), TraceInput::Advert(rx));
    }

    /// Processes the next job if it is due at or before `until`; returns false when none is.
    pub fn step(&mut self, until: Instant) -> bool {
        if self.livelocked {
            return false;
        }
        match self.queue.peek() {
            Some(s) if s.at <= until => {}
            _ => return false,
        }
        let Some(s) = self.queue.pop() else {
            return false;
        };
        let Some(job) = self.jobs.take(s.slot) else {
            return true;
        };
        if s.at > self.now {
            self.same_instant_jobs = 0;
        }
        self.same_instant_jobs += 1;
        if self.same_instant_jobs > LIVELOCK_LIMIT {
            self.livelocked = true;
            return false;
        }
        self.now = self.now.max(s.at);
        match job {
            Job::Timer { router, generation } => {
                let rt = &mut self.routers[router];
                if rt.alive && rt.timer_generation == generation {
                    rt.timer_at = None;
                    if rt.group.poll_timeout().is_some_and(|d| d <= self.now) {
                        self.processed += 1;
                        self.input(router, None, TraceInput::Timeout);
                    } else {
                        self.arm_timer(router);
                    }
                }
            }
            Job::Deliver {
                router,
                member,
                epoch,
                payload,
            } => {
                let rt = &self.routers[router];
                if rt.alive && rt.epoch == epoch {
                    self.processed += 1;
                    self.deliver(router, member, payload);
                }
            }
            Job::EffectAck { router, epoch, id } => {
                let rt = &self.routers[router];
                if rt.alive && rt.epoch == epoch {
                    self.processed += 1;
                    let input = TraceInput::EffectDone(id, EffectOutcome::Done);
                    self.input(router, None, input);
                }
            }
        }
        true
    }

    /// Time of the next pending job, if any.
    pub fn next_job_at(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.at)
    }

    /// Runs every job due up to and including `until`, then sets the clock to `until`.
    pub fn run_until(&mut self, until: Instant) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    // ----- timeline queries ----------------------------------------------------------

    /// Times at which member `m` of router `r` entered `state`.
    pub fn entered(&self, r: RouterId, m: usize, state: State) -> Vec<Instant> {
        self.timeline()
            .iter()
            .filter(|rec| rec.router == r && rec.member == Some(MemberId(m)))
            .filter_map(|rec| match &rec.what {
                RecordKind::Output(Output::Event(Event::StateChanged { to, .. }))
                    if *to == state =>
                {
                    Some(rec.at)
                }
                _ => None,
            })
            .collect()
    }

    /// Adverts sent by member `m` of router `r`: (time, priority, AH seq).
    pub fn adverts_sent(&self, r: RouterId, m: usize) -> Vec<(Instant, u8, Option<u32>)> {
        self.timeline()
            .iter()
            .filter(|rec| rec.router == r && rec.member == Some(MemberId(m)))
            .filter_map(|rec| match &rec.what {
                RecordKind::Output(Output::Advert(a)) => Some((rec.at, a.priority, a.ah_seq)),
                _ => None,
            })
            .collect()
    }

    /// GARP effects of member `m` of router `r`: (time, repeat).
    pub fn garps(&self, r: RouterId, m: usize) -> Vec<(Instant, u32)> {
        self.timeline()
            .iter()
            .filter(|rec| rec.router == r && rec.member == Some(MemberId(m)))
            .filter_map(|rec| match &rec.what {
                RecordKind::Output(Output::Effect {
                    effect: Effect::Garp { repeat, .. },
                    ..
                }) => Some((rec.at, *repeat)),
                _ => None,
            })
            .collect()
    }

    /// A human-readable timeline, one line per record.
    pub fn render_timeline(&self) -> String {
        let mut s = String::new();
        for rec in self.timeline() {
            let who = match rec.member {
                Some(m) => format!("{}/{}", self.name(rec.router), m.0),
                None => self.name(rec.router).to_string(),
            };
            let what = match &rec.what {
                RecordKind::Output(Output::Advert(a)) => match a.ah_seq {
                    Some(q) => format!("advert prio {} seq {q}", a.priority),
                    None => format!("advert prio {}", a.priority),
                },
                RecordKind::Output(Output::Effect { effect, .. }) => format!("effect {effect:?}"),
                RecordKind::Output(Output::Event(e)) => format!("event {e:?}"),
                RecordKind::WireDrop(e) => format!("wire drop: {e}"),
                RecordKind::Action(a) => format!("** {a}"),
            };
            s.push_str(&format!("{:>12}  {who:<10} {what}\n", rec.at.to_string()));
        }
        s
    }
}
