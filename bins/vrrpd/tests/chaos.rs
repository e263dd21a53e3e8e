//! Chaos in namespaces: three vrrpd routers on two LANs endure random VRRP loss (30 %,
//! nftables `numgen`), link flaps, SIGKILL/SIGTERM and restarts, and partitions. After every
//! round the faults are cleared and, once a settle period has passed, the invariants must
//! hold: per VRID exactly one MASTER among the running daemons, the highest-priority
//! running router; its VIP on that router only; no VIP on a stopped router; no daemon died.
//!
//! Budget per scenario: `CHAOS_SECONDS` (default 30). The seed is printed; `CHAOS_SEED=N`
//! replays the same action sequence (timing still varies). Long run:
//! `CHAOS_SECONDS=600 cargo test -p vrrpd --test chaos -- --nocapture`.
//!
//! Needs root (skips otherwise, fails under CI), nftables and iproute2.

mod common;
mod support_chaos;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance};
use nslab::{Direction, Lab, Proc, root_or_skip};
use support_chaos::Rng;

/// Priorities of r1, r2, r3: distinct, so the expected master is well defined.
const PRIOS: [u8; 3] = [150, 100, 50];
/// Longest wait for convergence once faults are cleared. Master_Down_Interval is 3.6 s
/// at most here; a restarted top router needs one interval to learn it is top and one to
/// take over, a sync group one more advert interval.
const SETTLE_DEADLINE: Duration = Duration::from_secs(20);
/// Minimum settle period before the first check (≥ Master_Down_Interval + margin).
const SETTLE_MIN: Duration = Duration::from_millis(4500);
/// How long the invariants must keep holding once reached.
const HOLD: Duration = Duration::from_millis(2500);

/// One VRRP instance of a scenario, identical on the three routers except the priority.
struct Vr {
    name: &'static str,
    iface: &'static str,
    vrid: u8,
    vip: Ipv4Addr,
    auth: AuthCfg<'static>,
}

/// Router lifecycle as the chaos driver sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Life {
    Running,
    /// Stopped with SIGKILL: its VIPs may still be configured until it restarts.
    Killed,
    /// Stopped with SIGTERM: it must have removed its VIPs.
    Terminated,
}

struct Chaos {
    b: Bench,
    vrs: Vec<Vr>,
    sync_group: bool,
    confs: Vec<PathBuf>,
    procs: Vec<Option<Proc>>,
    life: Vec<Life>,
    rng: Rng,
    tag: String,
    journal: Vec<String>,
    started: Instant,
}

impl Chaos {
    fn new(tag: &str, prefix: &str, vrs: Vec<Vr>, sync_group: bool, seed: u64) -> Chaos {
        let b = Bench::new(prefix, 3, 2);
        let mut confs = Vec::new();
        for (i, prio) in PRIOS.iter().enumerate() {
            let mut text = String::new();
            if sync_group {
                text += "vrrp_sync_group G1 {\n    group {\n";
                for vr in &vrs {
                    text += &format!("        {}\n", vr.name);
                }
                text += "    }\n}\n";
            }
            for vr in &vrs {
                text += &instance(
                    vr.name,
                    vr.iface,
                    vr.vrid,
                    *prio,
                    &[&format!("{}/24", vr.vip)],
                    vr.auth,
                    "",
                );
            }
            confs.push(b.write(&format!("r{}.conf", i + 1), &text));
        }
        Chaos {
            b,
            vrs,
            sync_group,
            confs,
            procs: vec![None, None, None],
            life: vec![Life::Terminated; 3],
            rng: Rng::new(seed),
            tag: tag.to_string(),
            journal: Vec::new(),
            started: Instant::now(),
        }
    }

    fn note(&mut self, what: String) {
        let line = format!(
            "[{} +{:7.2}s] {what}",
            self.tag,
            self.started.elapsed().as_secs_f64()
        );
        println!("{line}");
        self.journal.push(line);
    }

    fn start(&mut self, k: u8) {
        let i = usize::from(k - 1);
        let p = self.b.vrrpd(k, &self.confs[i]);
        self.procs[i] = Some(p);
        self.life[i] = Life::Running;
        self.note(format!("start r{k}"));
    }

    fn stop(&mut self, k: u8, signal: &str) {
        let i = usize::from(k - 1);
        if let Some(mut p) = self.procs[i].take() {
            p.signal(signal).expect("signal vrrpd");
            let code = p.wait_timeout(Duration::from_secs(5));
            if signal == "TERM" {
                assert_eq!(
                    code,
                    Some(Some(0)),
                    "r{k} did not exit 0 on SIGTERM (None: still running after 5 s; \
                     Some(None): killed by a signal)\n{}",
                    self.dump()
                );
                self.life[i] = Life::Terminated;
            } else {
                self.life[i] = Life::Killed;
            }
        }
        self.note(format!("SIG{signal} r{k}"));
    }

    fn running(&self) -> Vec<u8> {
        (1..=3u8)
            .filter(|k| self.life[usize::from(k - 1)] == Life::Running)
            .collect()
    }

    fn dump(&self) -> String {
        format!("journal:\n{}\n{}", self.journal.join("\n"), self.b.logs())
    }

    /// Daemons that died on their own are a violation.
    fn check_alive(&mut self) -> Result<(), String> {
        for k in self.running() {
            let i = usize::from(k - 1);
            if let Some(p) = self.procs[i].as_mut()
                && !p.is_running()
            {
                let code = p.wait_timeout(Duration::ZERO);
                return Err(format!(
                    "r{k}'s vrrpd exited by itself (exit code {code:?}; None = killed by a signal)"
                ));
            }
        }
        Ok(())
    }

    /// The invariants, evaluated once. Err describes the first violation seen.
    fn check(&mut self) -> Result<(), String> {
        self.check_alive()?;
        let running = self.running();
        let top = running
            .iter()
            .copied()
            .max_by_key(|k| PRIOS[usize::from(k - 1)]);
        let mut masters_of_group = Vec::new();
        for vr in &self.vrs {
            let holders = self.b.lab.holders(vr.vip).map_err(|e| e.to_string())?;
            let want: Vec<u8> = top.into_iter().collect();
            if holders != want {
                return Err(format!(
                    "{} ({}) held by {holders:?}, want {want:?} (running {running:?})",
                    vr.vip, vr.name
                ));
            }
            let mut masters = Vec::new();
            for &k in &running {
                let state = self.b.state(k, vr.name);
                match state.as_deref() {
                    Some("MASTER") => masters.push(k),
                    Some("BACKUP") => {}
                    other => return Err(format!("r{k} {} state {other:?}", vr.name)),
                }
            }
            if masters != want {
                return Err(format!("{} masters {masters:?}, want {want:?}", vr.name));
            }
            masters_of_group.push(masters);
        }
        if self.sync_group && masters_of_group.windows(2).any(|w| w[0] != w[1]) {
            return Err(format!("sync group split: {masters_of_group:?}"));
        }
        Ok(())
    }

    /// Clears every fault, restarts killed routers, waits for the invariants and checks
    /// that they keep holding. Returns the convergence time.
    fn settle(&mut self) -> Result<Duration, String> {
        for k in 1..=3u8 {
            support_chaos::partition(&self.b.lab, k, false);
            for lan in 0..2u8 {
                self.b
                    .lab
                    .drop_vrrp(k, lan, 0, Direction::Both)
                    .expect("clear loss");
                self.b.lab.link_up(k, lan).expect("link up");
            }
        }
        for k in 1..=3u8 {
            let life = self.life[usize::from(k - 1)];
            // Killed routers always come back (their stale VIPs must be cleaned at start);
            // terminated ones stay down half of the time.
            if life == Life::Killed || (life == Life::Terminated && self.rng.chance(50)) {
                self.start(k);
            }
        }
        if self.running().is_empty() {
            let k = self.rng.range(1, 4) as u8;
            self.start(k);
        }
        self.note(format!(
            "settle: faults cleared, running {:?}",
            self.running()
        ));
        let t = Instant::now();
        std::thread::sleep(SETTLE_MIN);
        let mut last = Err(String::new());
        let ok = Lab::wait_until(SETTLE_DEADLINE - SETTLE_MIN, || {
            last = self.check();
            last.is_ok()
        });
        if !ok {
            return Err(format!(
                "not converged {:.1} s after clearing faults: {}",
                SETTLE_DEADLINE.as_secs_f64(),
                last.err().unwrap_or_default()
            ));
        }
        let converged = t.elapsed();
        let end = Instant::now() + HOLD;
        while Instant::now() < end {
            self.check()
                .map_err(|e| format!("invariant broke while holding: {e}"))?;
            std::thread::sleep(Duration::from_millis(150));
        }
        Ok(converged)
    }

    /// One burst of random faults lasting a few seconds.
    fn perturb(&mut self) {
        let end = Instant::now() + self.rng.millis(3000, 8000);
        while Instant::now() < end {
            let k = self.rng.range(1, 4) as u8;
            let lan = self.rng.range(0, 2) as u8;
            match self.rng.range(0, 7) {
                0 | 1 => {
                    let dir = self
                        .rng
                        .pick(&[Direction::In, Direction::Out, Direction::Both]);
                    self.b.lab.drop_vrrp(k, lan, 30, dir).expect("loss");
                    self.note(format!("30 % VRRP loss on r{k} eth{lan} {dir:?}"));
                }
                2 => {
                    let down = self.rng.millis(200, 2500);
                    self.b.lab.link_down(k, lan).expect("link down");
                    self.note(format!("flap r{k} eth{lan} for {} ms", down.as_millis()));
                    std::thread::sleep(down);
                    self.b.lab.link_up(k, lan).expect("link up");
                }
                3 => {
                    if self.life[usize::from(k - 1)] == Life::Running {
                        self.stop(k, "KILL");
                    } else {
                        self.start(k);
                    }
                }
                4 => {
                    if self.life[usize::from(k - 1)] == Life::Running && self.rng.chance(50) {
                        self.stop(k, "TERM");
                    } else if self.life[usize::from(k - 1)] != Life::Running {
                        self.start(k);
                    }
                }
                5 => {
                    let span = self.rng.millis(1000, 4000);
                    support_chaos::partition(&self.b.lab, k, true);
                    self.note(format!("partition r{k} for {} ms", span.as_millis()));
                    std::thread::sleep(span);
                    if self.rng.chance(50) {
                        support_chaos::partition(&self.b.lab, k, false);
                        self.note(format!("heal r{k}"));
                    }
                }
                _ => {
                    self.b
                        .lab
                        .drop_vrrp(k, lan, 0, Direction::Both)
                        .expect("clear");
                    self.note(format!("clear loss on r{k} eth{lan}"));
                }
            }
            let pause = self.rng.millis(200, 1500);
            std::thread::sleep(pause);
        }
    }
}

/// Runs a scenario for its budget; panics with the seed, the journal and the logs on the
/// first violation.
fn run_scenario(tag: &str, prefix: &str, vrs: Vec<Vr>, sync_group: bool, salt: u64) {
    let seed = support_chaos::seed(salt);
    let budget = support_chaos::budget(30);
    println!(
        "[{tag}] chaos seed {seed} (replay: CHAOS_SEED={seed}), budget {} s",
        budget.as_secs()
    );
    let mut c = Chaos::new(tag, prefix, vrs, sync_group, seed);
    for k in 1..=3u8 {
        c.start(k);
    }
    if let Err(e) = c.settle() {
        panic!("[{tag}] seed {seed}: initial election: {e}\n{}", c.dump());
    }
    let begin = Instant::now();
    let mut rounds = 0u32;
    let mut worst = Duration::ZERO;
    while begin.elapsed() < budget {
        c.perturb();
        match c.settle() {
            Ok(t) => {
                rounds += 1;
                worst = worst.max(t);
                c.note(format!(
                    "round {rounds} ok: converged {:.2} s after clearing",
                    t.as_secs_f64()
                ));
            }
            Err(e) => panic!(
                "[{tag}] seed {seed}: round {} violated: {e}\n{}",
                rounds + 1,
                c.dump()
            ),
        }
    }
    println!(
        "[{tag}] RESULT seed {seed}: {rounds} rounds, 0 violations, slowest convergence {:.2} s, {:.0} s",
        worst.as_secs_f64(),
        begin.elapsed().as_secs_f64()
    );
    assert!(rounds >= 1, "[{tag}] budget too small for one round");
}

/// A sync group spanning both LANs (no authentication): both VIPs always move together.
#[test]
fn chaos_sync_group_two_lans() {
    if !root_or_skip("chaos_sync_group_two_lans") {
        return;
    }
    run_scenario(
        "sync",
        "ch1-",
        vec![
            Vr {
                name: "VI_LAN0",
                iface: "eth0",
                vrid: 10,
                vip: Ipv4Addr::new(10, 99, 0, 210),
                auth: AuthCfg::None,
            },
            Vr {
                name: "VI_LAN1",
                iface: "eth1",
                vrid: 11,
                vip: Ipv4Addr::new(10, 99, 1, 210),
                auth: AuthCfg::None,
            },
        ],
        true,
        1,
    );
}

/// Independent instances with IPsec AH on LAN0 and PASS on LAN1: AH sequence numbers must
/// resynchronise after every restart, partition and flap.
#[test]
fn chaos_ah_and_pass_instances() {
    if !root_or_skip("chaos_ah_and_pass_instances") {
        return;
    }
    run_scenario(
        "auth",
        "ch2-",
        vec![
            Vr {
                name: "VI_AH",
                iface: "eth0",
                vrid: 51,
                vip: Ipv4Addr::new(10, 99, 0, 200),
                auth: AuthCfg::Ah("chaos-ah"),
            },
            Vr {
                name: "VI_PASS",
                iface: "eth1",
                vrid: 52,
                vip: Ipv4Addr::new(10, 99, 1, 200),
                auth: AuthCfg::Pass("chaospw"),
            },
        ],
        false,
        2,
    );
}
