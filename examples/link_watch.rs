//! Measures how fast link loss is noticed: netlink events versus the polled backends.
//!
//! Creates a network namespace `lp-watch-<pid>` with a veth pair `lpw0` (watched) / `lpw1`
//! (peer), then flaps the peer with a long-lived `ip -batch` process (so fork/exec of `ip` is
//! not counted) and records, for every flap, the delay from writing the command to
//!
//! * the netlink event for `lpw0` (`NetlinkMonitor` registered with mio), and
//! * the report of a `Poller` using ETHTOOL_GLINK and one using SIOCGIFFLAGS,
//!
//! all driven by one mio loop whose timeout is the pollers' `next_deadline()`. Random pauses
//! between flaps spread them over the polling phase, so polled delays sample `[0, interval]`.
//! The namespace is deleted on exit.
//!
//! Run as root: `cargo run -p examples --example link_watch -- [--flaps 20] [--interval-ms 100]`

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use linkprobe::{
    IfName, IoctlSocket, LinkState, NetlinkEvent, NetlinkMonitor, NetlinkOptions, PollEvent,
    PollMethod, Poller, choose_method,
};
use mio::{Events, Interest, Poll, Token};

const WATCHED: &str = "lpw0";
const PEER: &str = "lpw1";
/// Give up on one flap after this long (a safety net, never hit in practice).
const FLAP_LIMIT: Duration = Duration::from_secs(5);

type Error = Box<dyn std::error::Error>;

fn main() {
    if let Err(e) = run() {
        eprintln!("link_watch: {e}");
        std::process::exit(1);
    }
}

struct Args {
    flaps: usize,
    interval: Duration,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        flaps: 20,
        interval: Duration::from_millis(100),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--flaps" => args.flaps = value.parse()?,
            "--interval-ms" => args.interval = Duration::from_millis(value.parse()?),
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    if args.flaps == 0 {
        return Err("--flaps must be at least 1".into());
    }
    Ok(args)
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn ip(args: &[&str]) -> Result<(), Error> {
    let out = Command::new("ip").args(args).output()?;
    if !out.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(())
}

/// The namespace, deleted on drop; and the `ip -batch` process flapping the peer.
struct Lab {
    name: String,
    batch: Option<(Child, ChildStdin)>,
}

impl Lab {
    fn new() -> Result<Self, Error> {
        let name = format!("lp-watch-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let mut lab = Lab { name, batch: None };
        let ns = lab.name.clone();
        ip(&[
            "-n", &ns, "link", "add", "name", WATCHED, "type", "veth", "peer", "name", PEER,
        ])?;
        ip(&["-n", &ns, "link", "set", "dev", WATCHED, "up"])?;
        ip(&["-n", &ns, "link", "set", "dev", PEER, "up"])?;
        let mut child = Command::new("ip")
            .args(["-n", &ns, "-batch", "-"])
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin for ip -batch")?;
        lab.batch = Some((child, stdin));
        Ok(lab)
    }

    fn path(&self) -> std::path::PathBuf {
        format!("/run/netns/{}", self.name).into()
    }

    /// Writes the command to the running `ip -batch`; returns the instant it was handed over.
    fn set_peer(&mut self, up: bool) -> Result<Instant, Error> {
        let (_, stdin) = self.batch.as_mut().ok_or("ip -batch not running")?;
        let line = format!("link set dev {PEER} {}\n", if up { "up" } else { "down" });
        let t0 = Instant::now();
        stdin.write_all(line.as_bytes())?;
        stdin.flush()?;
        Ok(t0)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some((mut child, stdin)) = self.batch.take() {
            drop(stdin); // EOF ends `ip -batch`.
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Tiny deterministic PRNG for the pauses between flaps.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, bound: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(self.0 % nanos)
    }
}

const BACKENDS: [&str; 3] = ["netlink", "ethtool poll", "flags poll"];

struct Watcher<'a> {
    poll: Poll,
    events: Events,
    monitor: NetlinkMonitor,
    pollers: [Poller<&'a IoctlSocket>; 2],
    watched: IfName,
}

impl Watcher<'_> {
    /// Runs the loop until `until`, or until every backend reported `want` (when given),
    /// returning the instant each backend first reported it.
    fn run(
        &mut self,
        until: Instant,
        want: Option<LinkState>,
    ) -> Result<[Option<Instant>; 3], Error> {
        let mut seen = [None; 3];
        let mut nl_events = Vec::new();
        let mut poll_events = Vec::new();
        loop {
            let now = Instant::now();
            if now >= until || (want.is_some() && seen.iter().all(Option::is_some)) {
                return Ok(seen);
            }
            let next = self
                .pollers
                .iter()
                .filter_map(Poller::next_deadline)
                .fold(until, Instant::min);
            self.poll
                .poll(&mut self.events, Some(next.saturating_duration_since(now)))?;
            let now = Instant::now();
            if !self.events.is_empty() {
                self.monitor.drain(&mut nl_events)?;
            }
            for event in nl_events.drain(..) {
                match event {
                    NetlinkEvent::Link(change)
                        if change.ifname.as_ref() == Some(&self.watched)
                            && Some(change.status.state) == want =>
                    {
                        seen[0].get_or_insert(now);
                    }
                    NetlinkEvent::Overrun => eprintln!("netlink overrun (re-dumping)"),
                    _ => {}
                }
            }
            for (slot, poller) in seen[1..].iter_mut().zip(&mut self.pollers) {
                poller.poll_due(now, &mut poll_events);
                for event in poll_events.drain(..) {
                    match event {
                        PollEvent::Changed { status, .. } if Some(status.state) == want => {
                            slot.get_or_insert(now);
                        }
                        PollEvent::Failed { error, .. } => eprintln!("probe failed: {error}"),
                        _ => {}
                    }
                }
            }
        }
    }
}

fn summary(label: &str, mut delays: Vec<Duration>) -> String {
    if delays.is_empty() {
        return format!("{label:<14} no samples");
    }
    delays.sort();
    let median = delays[delays.len() / 2];
    let p90 = delays[(delays.len() * 9 / 10).min(delays.len() - 1)];
    let max = delays[delays.len() - 1];
    let min = delays[0];
    format!(
        "{label:<14} n={:<3} min {:>9.3} ms  median {:>9.3} ms  p90 {:>9.3} ms  max {:>9.3} ms",
        delays.len(),
        min.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    )
}

fn run() -> Result<(), Error> {
    let args = parse_args()?;
    if effective_uid() != Some(0) {
        return Err("needs root (creates a network namespace with a veth pair)".into());
    }
    let mut lab = Lab::new()?;
    let netns = lab.path();
    let socket = IoctlSocket::open_in_netns(&netns)?;
    let watched = IfName::new(WATCHED)?;
    println!(
        "automatic choice  : {}",
        choose_method(&socket, &watched, None)?
    );

    let options = NetlinkOptions {
        netns: Some(netns),
        ..NetlinkOptions::default()
    };
    let mut monitor = NetlinkMonitor::open(&options)?;
    let poll = Poll::new()?;
    poll.registry()
        .register(&mut monitor, Token(0), Interest::READABLE)?;
    let start = Instant::now();
    let mut pollers = [
        Poller::new(&socket, args.interval),
        Poller::new(&socket, args.interval),
    ];
    // The flags poller runs half an interval out of phase, so the two give independent samples.
    let phases = [start, start + args.interval / 2];
    for ((poller, method), first) in pollers
        .iter_mut()
        .zip([PollMethod::Ethtool, PollMethod::Flags])
        .zip(phases)
    {
        let choice = poller.watch(&watched, Some(method), first)?;
        if choice.method != method {
            return Err(format!("{method} unavailable on {WATCHED}: {choice}").into());
        }
    }
    let mut watcher = Watcher {
        poll,
        events: Events::with_capacity(16),
        monitor,
        pollers,
        watched,
    };
    // Initial state: everyone sees the link up.
    let initial = watcher.run(start + FLAP_LIMIT, Some(LinkState::Up))?;
    if initial.iter().any(Option::is_none) {
        return Err("link never came up at start".into());
    }

    println!(
        "flaps             : {} (each down then up), polling interval {} ms",
        args.flaps,
        args.interval.as_millis()
    );
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut delays: [[Vec<Duration>; 3]; 2] = Default::default();
    for _ in 0..args.flaps {
        for (direction, up) in [(0usize, false), (1usize, true)] {
            // Settle, then a random pause so flaps land at random polling phases.
            let pause = Duration::from_millis(10) + rng.below(args.interval);
            watcher.run(Instant::now() + pause, None)?;
            let t0 = lab.set_peer(up)?;
            let want = LinkState::from_up(up);
            let seen = watcher.run(t0 + FLAP_LIMIT, Some(want))?;
            for (backend, at) in seen.iter().enumerate() {
                match at {
                    Some(at) => delays[direction][backend].push(at.saturating_duration_since(t0)),
                    None => eprintln!(
                        "{}: no {want} report within {FLAP_LIMIT:?}",
                        BACKENDS[backend]
                    ),
                }
            }
        }
    }
    for (direction, label) in [
        (0, "peer down -> reported down"),
        (1, "peer up -> reported up"),
    ] {
        println!("\n{label} (delay from writing the `ip link set` command):");
        for (backend, samples) in delays[direction].iter().enumerate() {
            println!("  {}", summary(BACKENDS[backend], samples.clone()));
        }
    }
    let worst_polled = delays
        .iter()
        .flat_map(|d| d[1..].iter().flatten())
        .max()
        .copied()
        .unwrap_or_default();
    let worst_netlink = delays
        .iter()
        .flat_map(|d| d[0].iter())
        .max()
        .copied()
        .unwrap_or_default();
    // A poll can only see the change once the kernel has applied it, which takes about as long
    // as the netlink notification: the bound for polling is one interval plus that propagation.
    let polled_bound = args.interval + worst_netlink;
    println!(
        "\nnetlink max {:.3} ms (target <= 5 ms: {})",
        worst_netlink.as_secs_f64() * 1e3,
        if worst_netlink <= Duration::from_millis(5) {
            "met"
        } else {
            "MISSED"
        },
    );
    println!(
        "polled max {:.3} ms (target <= interval {} ms + kernel propagation {:.3} ms: {})",
        worst_polled.as_secs_f64() * 1e3,
        args.interval.as_millis(),
        worst_netlink.as_secs_f64() * 1e3,
        if worst_polled <= polled_bound {
            "met"
        } else {
            "MISSED"
        },
    );
    println!("overruns: {}", watcher.monitor.table().overruns());
    Ok(())
}
