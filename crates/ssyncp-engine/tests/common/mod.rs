//! A deterministic simulator for engine tests: nodes over a virtual network
//! with seeded loss, duplication and reordering, driven by a virtual clock.

#![allow(dead_code)]

use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr};

use ssyncp_engine::{
    Apply, Change, Config, Destination, Duration, Engine, Entry, EntryKey, Event, Instant, Output,
    Payload, Role,
};
use ssyncp_wire::v1::{CtFlow, CtTuple, CtTuples, EntryBody, IpvsAddrs, IpvsConn};

/// SplitMix64: small, seeded, good enough for test randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// Impairments of the virtual network (applied per delivery).
#[derive(Debug, Clone, Copy)]
pub struct NetConfig {
    pub loss: f64,
    pub duplicate: f64,
    /// Probability that a delivery is held back by up to `reorder_delay`.
    pub reorder: f64,
    pub reorder_delay: Duration,
    pub base_delay: Duration,
}

impl NetConfig {
    pub fn perfect() -> Self {
        Self {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            base_delay: Duration::from_micros(100),
        }
    }

    pub fn lossy(loss: f64) -> Self {
        Self {
            loss,
            duplicate: 0.05,
            reorder: 0.2,
            reorder_delay: Duration::from_millis(8),
            base_delay: Duration::from_micros(100),
        }
    }
}

pub struct Node {
    pub engine: Engine,
    pub addr: IpAddr,
    /// The node's "kernel" table, built only from its Apply outputs.
    pub kernel: BTreeMap<EntryKey, Entry>,
    pub commits: usize,
    pub events: Vec<Event>,
    /// Number of Apply outputs seen before the most recent Commit.
    pub applies_before_commit: usize,
    pub applies: usize,
    pub up: bool,
}

#[derive(PartialEq, Eq)]
struct InFlight {
    at: Instant,
    order: u64,
    to: usize,
    src: IpAddr,
    bytes: Payload,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Min-heap on (at, order).
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

pub struct Sim {
    pub now: Instant,
    pub nodes: Vec<Node>,
    pub net: NetConfig,
    pub rng: Rng,
    in_flight: BinaryHeap<InFlight>,
    order: u64,
    pub delivered: u64,
    pub dropped: u64,
}

pub const SYNC_ID: u8 = 51;

pub fn node_addr(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + index as u8))
}

/// Test defaults: faster refresh so it is exercised within a short run.
pub fn test_config(index: usize, epoch: u32) -> Config {
    let mut cfg = Config::new(SYNC_ID, 0x0a00_0001 + index as u32, epoch);
    cfg.refresh_period = Duration::from_secs(5);
    cfg
}

impl Sim {
    pub fn new(seed: u64, net: NetConfig, configs: Vec<Config>) -> Self {
        let now = Instant::ZERO;
        let nodes = configs
            .into_iter()
            .enumerate()
            .map(|(i, cfg)| Node {
                engine: Engine::new(cfg, now).expect("valid config"),
                addr: node_addr(i),
                kernel: BTreeMap::new(),
                commits: 0,
                events: Vec::new(),
                applies_before_commit: 0,
                applies: 0,
                up: true,
            })
            .collect();
        let mut sim = Self {
            now,
            nodes,
            net,
            rng: Rng::new(seed),
            in_flight: BinaryHeap::new(),
            order: 0,
            delivered: 0,
            dropped: 0,
        };
        sim.drain_all();
        sim
    }

    /// Replaces node `index` with a fresh engine (a daemon restart: empty
    /// engine and kernel table).
    pub fn restart(&mut self, index: usize, cfg: Config) {
        let now = self.now;
        let node = &mut self.nodes[index];
        node.engine = Engine::new(cfg, now).expect("valid config");
        node.kernel.clear();
        node.events.clear();
        self.drain(index);
    }

    pub fn set_role(&mut self, index: usize, role: Role) {
        let now = self.now;
        self.nodes[index].engine.handle_role(now, role);
        self.drain(index);
    }

    pub fn local_change(&mut self, index: usize, change: Change) {
        let now = self.now;
        let node = &mut self.nodes[index];
        // The master's kernel is where local changes come from.
        match &change {
            Change::Upsert(entry) => {
                node.kernel.insert(entry.key(), entry.clone());
            }
            Change::Delete(key) => {
                node.kernel.remove(key);
            }
        }
        node.engine
            .handle_local_change(now, change)
            .expect("encodable change");
        self.drain(index);
    }

    fn drain_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
    }

    /// Acts on every output of node `index`.
    pub fn drain(&mut self, index: usize) {
        while let Some(out) = self.nodes[index].engine.poll_output() {
            match out {
                Output::Transmit(tx) => self.send(index, tx.destination, tx.bytes),
                Output::Apply(apply) => {
                    let node = &mut self.nodes[index];
                    node.applies += 1;
                    match apply {
                        Apply::Create(entry) | Apply::Upsert(entry) => {
                            node.kernel.insert(entry.key(), entry);
                        }
                        Apply::Delete(key) => {
                            node.kernel.remove(&key);
                        }
                    }
                }
                Output::Commit => {
                    let node = &mut self.nodes[index];
                    node.commits += 1;
                    node.applies_before_commit = node.applies;
                }
                Output::Event(event) => self.nodes[index].events.push(event),
            }
        }
    }

    fn send(&mut self, from: usize, destination: Destination, bytes: Payload) {
        let src = self.nodes[from].addr;
        let targets: Vec<usize> = match destination {
            Destination::Group => (0..self.nodes.len()).filter(|&i| i != from).collect(),
            Destination::Unicast(addr) => (0..self.nodes.len())
                .filter(|&i| self.nodes[i].addr == addr)
                .collect(),
        };
        for to in targets {
            if self.rng.chance(self.net.loss) {
                self.dropped += 1;
                continue;
            }
            let copies = if self.rng.chance(self.net.duplicate) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let mut delay = self.net.base_delay;
                if self.rng.chance(self.net.reorder) {
                    let extra = self.rng.below(self.net.reorder_delay.as_micros().max(1));
                    delay = delay + Duration::from_micros(extra);
                }
                self.order += 1;
                self.in_flight.push(InFlight {
                    at: self.now + delay,
                    order: self.order,
                    to,
                    src,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let mut next = self.in_flight.peek().map(|p| p.at);
        for node in &self.nodes {
            if !node.up {
                continue;
            }
            if let Some(at) = node.engine.poll_timeout() {
                next = Some(next.map_or(at, |n: Instant| n.min(at)));
            }
        }
        next
    }

    /// Runs every delivery and timer up to `until`, then sets the clock to it.
    pub fn run_until(&mut self, until: Instant) {
        let mut same_instant = 0u32;
        while let Some(at) = self.next_event() {
            if at > until {
                break;
            }
            if at <= self.now {
                same_instant += 1;
                assert!(
                    same_instant < 100_000,
                    "timers do not advance at {:?}",
                    self.now
                );
            } else {
                same_instant = 0;
                self.now = at;
            }
            let now = self.now;
            while self.in_flight.peek().is_some_and(|p| p.at <= now) {
                let packet = self.in_flight.pop().expect("peeked");
                if !self.nodes[packet.to].up {
                    continue;
                }
                self.delivered += 1;
                self.nodes[packet.to]
                    .engine
                    .handle_datagram(now, packet.src, &packet.bytes);
                self.drain(packet.to);
            }
            for i in 0..self.nodes.len() {
                if self.nodes[i].up
                    && self.nodes[i]
                        .engine
                        .poll_timeout()
                        .is_some_and(|t| t <= now)
                {
                    self.nodes[i].engine.handle_timeout(now);
                    self.drain(i);
                }
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn table(&self, index: usize) -> BTreeMap<EntryKey, Entry> {
        self.nodes[index].engine.entries().collect()
    }
}

/// A conntrack flow (IPv4 or IPv6 by `id` parity) with per-version contents.
pub fn ct_entry(id: u32, version: u32) -> Entry {
    let port = 1024 + (id % 60_000) as u16;
    let tuples = if id.is_multiple_of(2) {
        let client = Ipv4Addr::from(0xc633_6400 | (id >> 16));
        let server = Ipv4Addr::new(192, 0, 2, 80);
        CtTuples::V4 {
            orig: CtTuple {
                src: client,
                dst: server,
                sport: port,
                dport: 443,
            },
            reply: CtTuple {
                src: Ipv4Addr::new(10, 1, 0, 5),
                dst: client,
                sport: 8443,
                dport: port,
            },
        }
    } else {
        let client = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, (id >> 16) as u16, 7);
        let server = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 80);
        CtTuples::V6 {
            orig: CtTuple {
                src: client,
                dst: server,
                sport: port,
                dport: 443,
            },
            reply: CtTuple {
                src: server,
                dst: client,
                sport: 443,
                dport: port,
            },
        }
    };
    Entry {
        protocol: 6,
        body: EntryBody::Conntrack(CtFlow {
            status: 0x6,
            l4_state: (version % 8) as u8 + 1,
            zone: id.is_multiple_of(7).then_some(3),
            timeout: 3600 + version,
            mark: version.is_multiple_of(3).then_some(version),
            tuples,
        }),
        options: Default::default(),
    }
}

/// An IPVS v4 connection.
pub fn ipvs_entry(id: u32, version: u32) -> Entry {
    Entry {
        protocol: 6,
        body: EntryBody::Ipvs(IpvsConn {
            flags: 0x0100 * (version % 2),
            state: 1,
            cport: 2000 + (id % 50_000) as u16,
            vport: 80,
            dport: 8080,
            fwmark: 0,
            timeout: 900 + version,
            addrs: IpvsAddrs::V4 {
                caddr: Ipv4Addr::from(0xcb00_7100 | (id >> 16)),
                vaddr: Ipv4Addr::new(192, 0, 2, 10),
                daddr: Ipv4Addr::new(10, 2, 0, (version % 200) as u8 + 1),
            },
        }),
        options: Default::default(),
    }
}

/// Random local changes on a key space of `keys` ids: returns the change
/// and keeps `truth` (the master's intended state) up to date.
pub fn random_change(rng: &mut Rng, keys: u32, truth: &mut BTreeMap<EntryKey, Entry>) -> Change {
    let id = rng.below(u64::from(keys)) as u32;
    let version = rng.below(1_000_000) as u32;
    let entry = if id.is_multiple_of(5) {
        ipvs_entry(id, version)
    } else {
        ct_entry(id, version)
    };
    let key = entry.key();
    if truth.contains_key(&key) && rng.chance(0.3) {
        truth.remove(&key);
        Change::Delete(key)
    } else {
        truth.insert(key, entry.clone());
        Change::Upsert(entry)
    }
}
