//! `vrrp-compare`: runs `vrrpd` and Debian's keepalived side by side on identical
//! network-namespace topologies (built with `nslab`) and the same keepalived.conf, and
//! reports the figures and the vrrpd/keepalived ratios.
//!
//! Measured (see `docs/performance.md`):
//!
//! 1. takeover delay after the master's priority-0 advert (SIGTERM), after SIGKILL and after
//!    carrier loss, from packet timestamps of a capture on the hub bridge, against the RFC
//!    floor (skew time; 3·Advertisement_Interval + skew from the old master's last advert);
//! 2. an 8-member sync group on 8 LANs: spread between the first and the last LAN's first
//!    advert of the new master (SIGTERM), and the time until the backup is master on all
//!    LANs after carrier loss on one of the master's links (8 captures, one clock);
//! 3. CPU time (`/proc/PID/task/*/schedstat`, user/system split from `/proc/PID/stat`) and
//!    peak RSS (`VmHWM`) summed over the daemon's processes, for N instances as a lone
//!    master and as a backup receiving N adverts/s, per advert sent/received (counted by
//!    the interfaces' packet counters).
//!
//! Needs root, `ip`, `tcpdump` and `keepalived`. Every namespace it creates starts with
//! `pf` and is removed on exit (also on error; a rerun removes leftovers of a killed run).
//!
//! Dependencies: `nslab` (the namespace LANs), `pcap-lite` (capture timestamps) and
//! `vrrp-wire` (advert decoding); nothing else: the report and the SVG are plain text.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nslab::{Lab, Node, Proc};
use pcap_lite::PcapReader;
use vrrp_wire::{Auth, Authenticator, RxPolicy, decode_advert};

/// Skew time of priority 100 with advert_int 1, in ns ((256 − 100)/256 s).
const SKEW_100_NS: u64 = 609_375_000;
/// Master_Down_Interval of priority 100 with advert_int 1, in ns.
const DOWN_100_NS: u64 = 3_000_000_000 + SKEW_100_NS;
/// Priorities used everywhere: r1 is the master, r2 the backup.
const PRIO_MASTER: u8 = 150;
const PRIO_BACKUP: u8 = 100;

type Res<T> = Result<T, String>;

fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vrrp-compare: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if !nslab::is_root() {
        eprintln!("vrrp-compare: needs root (network namespaces); try sudo");
        std::process::exit(2);
    }
    match run(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("vrrp-compare: {e}");
            std::process::exit(1);
        }
    }
}

const USAGE: &str = "\
usage: vrrp-compare --vrrpd PATH [--quick] [--out DIR] [--reps N] [--cpu-secs S]
                    [--instances N] [--only takeover,sync,cpu]
  --vrrpd PATH      the vrrpd binary (a release build)
  --quick           1 repetition, 10-s CPU windows, 100 instances (about 2.5 minutes)
  --out DIR         where results.md, raw.tsv and ratios.svg go (default ./vrrp-compare-out)
  --reps N          repetitions per takeover/sync scenario (default 5)
  --cpu-secs S      length of each CPU window (default 60)
  --instances N     instances in the CPU runs, a multiple of 4 up to 1000 (default 1000)
  --only LIST       run only some experiments";

#[derive(Debug, Clone)]
struct Args {
    vrrpd: PathBuf,
    out: PathBuf,
    quick: bool,
    reps: usize,
    cpu_secs: u64,
    instances: u16,
    only: Vec<String>,
}

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Res<Args> {
        let mut a = Args {
            vrrpd: PathBuf::new(),
            out: PathBuf::from("vrrp-compare-out"),
            quick: false,
            reps: 5,
            cpu_secs: 60,
            instances: 1000,
            only: Vec::new(),
        };
        let (mut reps, mut secs, mut inst) = (None, None, None);
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--vrrpd" => a.vrrpd = PathBuf::from(value()?),
                "--out" => a.out = PathBuf::from(value()?),
                "--quick" => a.quick = true,
                "--reps" => reps = Some(parse_num(&value()?, 1, 100)? as usize),
                "--cpu-secs" => secs = Some(parse_num(&value()?, 1, 3600)?),
                "--instances" => inst = Some(parse_num(&value()?, 4, 1000)? as u16),
                "--only" => a.only = value()?.split(',').map(str::to_owned).collect(),
                "-h" | "--help" => return Err("help".into()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if a.quick {
            a.reps = 1;
            a.cpu_secs = 10;
            a.instances = 100;
        }
        a.reps = reps.unwrap_or(a.reps);
        a.cpu_secs = secs.unwrap_or(a.cpu_secs);
        a.instances = inst.unwrap_or(a.instances);
        if !a.instances.is_multiple_of(4) {
            return Err("--instances must be a multiple of 4 (4 LANs)".into());
        }
        if a.vrrpd.as_os_str().is_empty() {
            return Err("--vrrpd PATH is required".into());
        }
        if !a.vrrpd.exists() {
            return Err(format!("no vrrpd binary at {}", a.vrrpd.display()));
        }
        Ok(a)
    }

    fn wants(&self, what: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == what)
    }
}

fn parse_num(text: &str, min: u64, max: u64) -> Res<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or(format!("expected a number in {min}..={max}, got {text:?}"))
}

/// The two daemons compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Vrrpd,
    Keepalived,
}

impl Kind {
    const BOTH: [Kind; 2] = [Kind::Vrrpd, Kind::Keepalived];

    fn name(self) -> &'static str {
        match self {
            Kind::Vrrpd => "vrrpd",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// Scratch directory plus the daemon binary; starts daemons in lab routers.
struct Ctx<'a> {
    args: &'a Args,
    scratch: PathBuf,
    raw: Vec<String>,
    seq: u32,
}

impl Ctx<'_> {
    fn path(&mut self, name: &str) -> PathBuf {
        self.seq += 1;
        self.scratch.join(format!("{:04}-{name}", self.seq))
    }

    /// Starts `kind` on router `k` with `conf` (both daemons read the same file).
    fn start(&mut self, lab: &Lab, kind: Kind, k: u8, conf: &Path) -> Res<Proc> {
        let log = self.path(&format!("{}-r{k}.log", kind.name()));
        let conf = conf.display().to_string();
        match kind {
            Kind::Vrrpd => {
                let bin = self.args.vrrpd.display().to_string();
                lab.spawn(
                    Node::Router(k),
                    &bin,
                    &["-f", &conf, "-l", "info", "--control-socket", "none"],
                    Some(&log),
                )
            }
            Kind::Keepalived => {
                let p = |s: &str| log.with_extension(s).display().to_string();
                // -n: no fork of the parent (stays our child), -l -G: console log, no
                // syslog, -P: VRRP only; private pid files so runs never collide.
                lab.spawn(
                    Node::Router(k),
                    "keepalived",
                    &[
                        "-n",
                        "-l",
                        "-G",
                        "-P",
                        "-f",
                        &conf,
                        "-p",
                        &p("pid"),
                        "-r",
                        &p("vrrp.pid"),
                        "-c",
                        &p("chk.pid"),
                    ],
                    Some(&log),
                )
            }
        }
        .map_err(|e| e.to_string())
    }

    fn raw(&mut self, line: String) {
        self.raw.push(line);
    }
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

// ---------------------------------------------------------------------------------------
// Captures

/// One VRRP advert seen on a LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Advert {
    /// Capture timestamp, ns since the epoch.
    t_ns: u64,
    src: Ipv4Addr,
    vrid: u8,
    prio: u8,
}

/// Decodes every VRRP advert (no authentication) of a pcap file.
fn read_adverts(path: &Path) -> Res<Vec<Advert>> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_adverts(&data).map_err(|e| format!("{}: {e}", path.display()))
}

fn parse_adverts(data: &[u8]) -> Res<Vec<Advert>> {
    let reader = PcapReader::new(data).map_err(|e| e.to_string())?;
    let linktype = reader.linktype();
    let auth = Authenticator::new(Auth::None);
    let policy = RxPolicy::new(&auth);
    let mut out = Vec::new();
    for record in reader {
        // A capture cut by SIGINT may end in a partial record: keep what came before.
        let Ok(record) = record else { break };
        let Ok(ip) = pcap_lite::link::ipv4_payload(linktype, record.data) else {
            continue;
        };
        let ip = pcap_lite::link::trim_ipv4_padding(ip);
        if let Ok(adv) = decode_advert(ip, &policy) {
            out.push(Advert {
                t_ns: record.ts.as_nanos(),
                src: adv.src,
                vrid: adv.vrid.get(),
                prio: adv.priority,
            });
        }
    }
    Ok(out)
}

/// A takeover seen on one LAN: from the old master's reference advert to the new master's
/// first advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Takeover {
    from_ns: u64,
    to_ns: u64,
}

impl Takeover {
    fn delay_ns(&self) -> u64 {
        self.to_ns.saturating_sub(self.from_ns)
    }
}

/// First advert with a non-zero priority from `new` for `vrid` at or after `after_ns`.
fn first_from(adverts: &[Advert], new: Ipv4Addr, vrid: u8, after_ns: u64) -> Option<u64> {
    adverts
        .iter()
        .find(|a| a.src == new && a.vrid == vrid && a.prio > 0 && a.t_ns >= after_ns)
        .map(|a| a.t_ns)
}

/// Takeover after a priority-0 advert: from the old master's first priority-0 advert
/// after `after_ns` to the new master's first advert after it.
fn takeover_after_prio0(
    adverts: &[Advert],
    old: Ipv4Addr,
    new: Ipv4Addr,
    vrid: u8,
    after_ns: u64,
) -> Option<Takeover> {
    let from_ns = adverts
        .iter()
        .find(|a| a.src == old && a.vrid == vrid && a.prio == 0 && a.t_ns >= after_ns)?
        .t_ns;
    let to_ns = first_from(adverts, new, vrid, from_ns)?;
    Some(Takeover { from_ns, to_ns })
}

/// Takeover after silence (crash, carrier loss): from the old master's last advert with a
/// non-zero priority before the new master's first advert (after `after_ns`) to that one.
fn takeover_after_silence(
    adverts: &[Advert],
    old: Ipv4Addr,
    new: Ipv4Addr,
    vrid: u8,
    after_ns: u64,
) -> Option<Takeover> {
    let to_ns = first_from(adverts, new, vrid, after_ns)?;
    let from_ns = adverts
        .iter()
        .filter(|a| a.src == old && a.vrid == vrid && a.prio > 0 && a.t_ns < to_ns)
        .map(|a| a.t_ns)
        .max()?;
    Some(Takeover { from_ns, to_ns })
}

/// A running tcpdump on one LAN bridge.
struct Capture {
    proc: Proc,
    path: PathBuf,
}

impl Capture {
    fn start(lab: &Lab, lan: u8, path: PathBuf) -> Res<Capture> {
        let _ = std::fs::remove_file(&path);
        let proc = lab.capture(lan, &path).map_err(|e| e.to_string())?;
        if !path.exists() {
            return Err(format!("tcpdump did not start on br{lan}"));
        }
        Ok(Capture { proc, path })
    }

    /// Stops tcpdump (SIGINT, so the file is complete) and decodes the adverts.
    fn finish(mut self) -> Res<Vec<Advert>> {
        let _ = self.proc.signal("INT");
        let _ = self.proc.wait_timeout(Duration::from_secs(3));
        read_adverts(&self.path)
    }
}

// ---------------------------------------------------------------------------------------
// Statistics

/// Median, minimum and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Summary {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

// ---------------------------------------------------------------------------------------
// Configurations (keepalived.conf syntax; both daemons read the very same file)

fn instance_block(name: &str, iface: &str, vrid: u8, prio: u8, vip: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n    \
         virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n    \
         virtual_ipaddress {{\n        {vip}\n    }}\n}}\n"
    )
}

const TAKEOVER_VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const TAKEOVER_VRID: u8 = 51;

fn takeover_conf(prio: u8) -> String {
    instance_block("VI_1", "eth0", TAKEOVER_VRID, prio, "10.99.0.200/24")
}

const SYNC_LANS: u8 = 8;

fn sync_vip(lan: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, lan, 210)
}

fn sync_conf(prio: u8) -> String {
    let mut text = String::from("vrrp_sync_group G8 {\n    group {\n");
    for lan in 0..SYNC_LANS {
        let _ = writeln!(text, "        VI_{lan}");
    }
    text.push_str("    }\n}\n");
    for lan in 0..SYNC_LANS {
        text.push_str(&instance_block(
            &format!("VI_{lan}"),
            &format!("eth{lan}"),
            10 + lan,
            prio,
            &format!("{}/24", sync_vip(lan)),
        ));
    }
    text
}

const CPU_LANS: u8 = 4;

/// `per_lan` instances on each of 4 LANs, VRIDs 1..=per_lan, one /32 VIP each.
fn cpu_conf(prio: u8, per_lan: u16) -> String {
    let mut text = String::new();
    for lan in 0..CPU_LANS {
        for vrid in 1..=per_lan {
            text.push_str(&instance_block(
                &format!("VI_{lan}_{vrid}"),
                &format!("eth{lan}"),
                u8::try_from(vrid).unwrap_or(255),
                prio,
                &format!("172.16.{lan}.{vrid}/32"),
            ));
        }
    }
    text
}

// ---------------------------------------------------------------------------------------
// Lab helpers

/// Kills (by pid) every process left in router `k`'s namespace and waits until none is left.
fn kill_router_procs(lab: &Lab, k: u8) {
    let ns = lab.ns(Node::Router(k));
    for _ in 0..50 {
        let Ok(out) = Command::new("ip").args(["netns", "pids", &ns]).output() else {
            return;
        };
        let pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Removes addresses a killed daemon may have left behind.
fn delete_addrs(lab: &Lab, k: u8, addrs: &[(Ipv4Addr, u8, u8)]) {
    for (addr, len, lan) in addrs {
        let _ = lab.exec(
            Node::Router(k),
            "ip",
            &[
                "addr",
                "del",
                &format!("{addr}/{len}"),
                "dev",
                &format!("eth{lan}"),
            ],
        );
    }
}

fn holders(lab: &Lab, vip: Ipv4Addr) -> Vec<u8> {
    lab.holders(vip).unwrap_or_default()
}

/// The pids of the process tree rooted at `root` (keepalived forks a VRRP child).
fn process_tree(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(st) = read_stat(pid) {
                parent_of.push((pid, st.ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

struct Stat {
    ppid: u32,
    utime: u64,
    stime: u64,
}

/// Fields of `/proc/PID/stat` (after the parenthesised command name).
fn read_stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): ppid is field 4, utime 14, stime 15.
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        utime: f.get(11)?.parse().ok()?,
        stime: f.get(12)?.parse().ok()?,
    })
}

/// CPU and memory of a set of processes at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    /// Time on CPU, ns (schedstat, summed over all threads).
    cpu_ns: u64,
    /// User and system time in clock ticks.
    user_ticks: u64,
    sys_ticks: u64,
    /// Peak resident set, KiB (VmHWM), summed.
    hwm_kib: u64,
}

fn usage(pids: &[u32]) -> Res<Usage> {
    let mut u = Usage::default();
    for &pid in pids {
        let st = read_stat(pid).ok_or(format!("process {pid} is gone"))?;
        u.user_ticks += st.utime;
        u.sys_ticks += st.stime;
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| e.to_string())?;
        for t in tasks.flatten() {
            let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
            u.cpu_ns += s
                .split_whitespace()
                .next()
                .and_then(|x| x.parse::<u64>().ok())
                .unwrap_or(0);
        }
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
        u.hwm_kib += status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(u)
}

/// Sum of an interface statistics counter over router `k`'s eth0..eth(lans-1).
fn if_counter(lab: &Lab, k: u8, lans: u8, counter: &str) -> Res<u64> {
    let files: Vec<String> = (0..lans)
        .map(|l| format!("/sys/class/net/eth{l}/statistics/{counter}"))
        .collect();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let out = lab
        .exec(Node::Router(k), "cat", &refs)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok())
        .sum())
}

/// Number of addresses in 172.16.0.0/16 on router `k` (the CPU runs' VIPs).
fn cpu_vip_count(lab: &Lab, k: u8) -> usize {
    lab.exec(Node::Router(k), "ip", &["-4", "-o", "addr", "show"])
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.contains(" inet 172.16."))
                .count()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Experiment 1: takeover

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Term,
    Kill,
    Carrier,
}

impl Fault {
    const ALL: [Fault; 3] = [Fault::Term, Fault::Kill, Fault::Carrier];

    fn label(self) -> &'static str {
        match self {
            Fault::Term => "takeover after priority 0 (SIGTERM)",
            Fault::Kill => "takeover after SIGKILL",
            Fault::Carrier => "takeover after carrier loss",
        }
    }

    fn floor_ns(self) -> u64 {
        match self {
            Fault::Term => SKEW_100_NS,
            Fault::Kill | Fault::Carrier => DOWN_100_NS,
        }
    }
}

/// Stops a master the way `fault` says; returns the time of the action (ns since epoch).
fn inject(lab: &Lab, kind: Kind, master: &Proc, fault: Fault, lans: &[u8]) -> Res<u64> {
    let t = now_ns();
    match fault {
        Fault::Term => master.signal("TERM").map_err(|e| e.to_string())?,
        Fault::Kill => {
            // keepalived's VRRP child first, then the parent, in one kill(1): the child
            // must not get the parent's death signal (it would send priority 0).
            let mut tree = process_tree(master.pid());
            if kind == Kind::Keepalived {
                tree.reverse();
            }
            let mut cmd = Command::new("kill");
            cmd.arg("-KILL");
            for p in &tree {
                cmd.arg(p.to_string());
            }
            cmd.status().map_err(|e| e.to_string())?;
        }
        Fault::Carrier => {
            for &lan in lans {
                lab.link_down(1, lan).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(t)
}

/// Starts master (r1) and backup (r2) and waits until r1 holds `vip` alone.
fn start_pair(ctx: &mut Ctx<'_>, lab: &Lab, kind: Kind, c1: &Path, c2: &Path) -> Res<(Proc, Proc)> {
    let p2 = ctx.start(lab, kind, 2, c2)?;
    let p1 = ctx.start(lab, kind, 1, c1)?;
    Ok((p1, p2))
}

fn reset_pair(lab: &Lab, addrs: &[(Ipv4Addr, u8, u8)], lans: u8) {
    for k in [1, 2] {
        kill_router_procs(lab, k);
        delete_addrs(lab, k, addrs);
    }
    for lan in 0..lans {
        let _ = lab.link_up(1, lan);
    }
}

fn takeover_experiment(ctx: &mut Ctx<'_>, results: &mut Results) -> Res<()> {
    let lab = Lab::new("pft-", 2, 1).map_err(|e| e.to_string())?;
    let c1 = ctx.path("takeover-r1.conf");
    let c2 = ctx.path("takeover-r2.conf");
    std::fs::write(&c1, takeover_conf(PRIO_MASTER)).map_err(|e| e.to_string())?;
    std::fs::write(&c2, takeover_conf(PRIO_BACKUP)).map_err(|e| e.to_string())?;
    let addrs = [(TAKEOVER_VIP, 24, 0)];
    let (r1, r2) = (Lab::router_addr(1, 0), Lab::router_addr(2, 0));
    for rep in 0..ctx.args.reps {
        for fault in Fault::ALL {
            for kind in Kind::BOTH {
                reset_pair(&lab, &addrs, 1);
                let pcap = ctx.path(&format!("takeover-{}-{fault:?}-{rep}.pcap", kind.name()));
                let cap = Capture::start(&lab, 0, pcap)?;
                let (p1, _p2) = start_pair(ctx, &lab, kind, &c1, &c2)?;
                let elected = Lab::wait_until(Duration::from_secs(15), || {
                    holders(&lab, TAKEOVER_VIP) == [1]
                });
                if !elected {
                    ctx.raw(format!(
                        "takeover\t{}\t{fault:?}\t{rep}\tFAILED: r1 never sole master",
                        kind.name()
                    ));
                    continue;
                }
                // Let the backup hear a few adverts and the GARP burst pass.
                std::thread::sleep(Duration::from_millis(1200));
                let t = inject(&lab, kind, &p1, fault, &[0])?;
                let moved = Lab::wait_until(Duration::from_secs(10), || {
                    holders(&lab, TAKEOVER_VIP).contains(&2)
                });
                std::thread::sleep(Duration::from_millis(300));
                let adverts = cap.finish()?;
                let seen = match fault {
                    Fault::Term => takeover_after_prio0(&adverts, r1, r2, TAKEOVER_VRID, t),
                    _ => takeover_after_silence(&adverts, r1, r2, TAKEOVER_VRID, t),
                };
                match (moved, seen) {
                    (true, Some(tk)) => {
                        let ms = tk.delay_ns() as f64 / 1e6;
                        let from_action = tk.to_ns.saturating_sub(t) as f64 / 1e6;
                        ctx.raw(format!(
                            "takeover\t{}\t{fault:?}\t{rep}\t{ms:.3} ms (floor {:.3} ms; {from_action:.3} ms after the action)",
                            kind.name(),
                            fault.floor_ns() as f64 / 1e6
                        ));
                        results.takeover.entry((fault, kind)).or_default().push(ms);
                    }
                    _ => ctx.raw(format!(
                        "takeover\t{}\t{fault:?}\t{rep}\tFAILED: no takeover in the capture (VIP moved: {moved})",
                        kind.name()
                    )),
                }
                eprintln!(
                    "  takeover {:<10} {fault:?} rep {rep}: {}",
                    kind.name(),
                    ctx.raw.last().map(String::as_str).unwrap_or("")
                );
            }
        }
    }
    reset_pair(&lab, &addrs, 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Experiment 2: sync group of 8 on 8 LANs

#[derive(Debug, Clone, Copy, Default)]
struct SyncRun {
    /// First → last LAN's first advert of the new master, ms.
    spread_ms: f64,
    /// From the trigger (first priority-0 advert, or the link-down command) to the new
    /// master on all LANs, ms.
    all_master_ms: f64,
    /// Carrier loss only: from the old master's last advert on the failed LAN, ms.
    from_last_advert_ms: f64,
}

/// Analyses the 8 captures of one sync-group run.
fn analyse_sync(per_lan: &[Vec<Advert>], fault: Fault, t_action: u64) -> Option<SyncRun> {
    let mut firsts = Vec::new();
    let mut prio0 = Vec::new();
    for (lan, adverts) in per_lan.iter().enumerate() {
        let lan = u8::try_from(lan).ok()?;
        let (old, new) = (Lab::router_addr(1, lan), Lab::router_addr(2, lan));
        firsts.push(first_from(adverts, new, 10 + lan, t_action)?);
        if let Some(p) = adverts
            .iter()
            .find(|a| a.src == old && a.prio == 0 && a.t_ns >= t_action)
        {
            prio0.push(p.t_ns);
        }
    }
    let first = *firsts.iter().min()?;
    let last = *firsts.iter().max()?;
    let spread_ms = (last - first) as f64 / 1e6;
    match fault {
        Fault::Term => {
            let start = *prio0.iter().min()?;
            Some(SyncRun {
                spread_ms,
                all_master_ms: last.saturating_sub(start) as f64 / 1e6,
                from_last_advert_ms: 0.0,
            })
        }
        _ => {
            let lan0 = per_lan.first()?;
            let last_old = lan0
                .iter()
                .filter(|a| a.src == Lab::router_addr(1, 0) && a.prio > 0 && a.t_ns < t_action)
                .map(|a| a.t_ns)
                .max()?;
            Some(SyncRun {
                spread_ms,
                all_master_ms: last.saturating_sub(t_action) as f64 / 1e6,
                from_last_advert_ms: last.saturating_sub(last_old) as f64 / 1e6,
            })
        }
    }
}

fn sync_experiment(ctx: &mut Ctx<'_>, results: &mut Results) -> Res<()> {
    let lab = Lab::new("pfs-", 2, SYNC_LANS).map_err(|e| e.to_string())?;
    let c1 = ctx.path("sync-r1.conf");
    let c2 = ctx.path("sync-r2.conf");
    std::fs::write(&c1, sync_conf(PRIO_MASTER)).map_err(|e| e.to_string())?;
    std::fs::write(&c2, sync_conf(PRIO_BACKUP)).map_err(|e| e.to_string())?;
    let addrs: Vec<(Ipv4Addr, u8, u8)> = (0..SYNC_LANS).map(|l| (sync_vip(l), 24, l)).collect();
    let vips: Vec<Ipv4Addr> = (0..SYNC_LANS).map(sync_vip).collect();
    for rep in 0..ctx.args.reps {
        for fault in [Fault::Term, Fault::Carrier] {
            for kind in Kind::BOTH {
                reset_pair(&lab, &addrs, SYNC_LANS);
                let mut caps = Vec::new();
                for lan in 0..SYNC_LANS {
                    let p = ctx.path(&format!(
                        "sync-{}-{fault:?}-{rep}-lan{lan}.pcap",
                        kind.name()
                    ));
                    caps.push(Capture::start(&lab, lan, p)?);
                }
                let (p1, _p2) = start_pair(ctx, &lab, kind, &c1, &c2)?;
                let all_on = |k: u8| {
                    let h: Vec<Vec<u8>> = vips.iter().map(|v| holders(&lab, *v)).collect();
                    h.iter().all(|x| x.as_slice() == [k])
                };
                if !Lab::wait_until(Duration::from_secs(15), || all_on(1)) {
                    ctx.raw(format!(
                        "sync8\t{}\t{fault:?}\t{rep}\tFAILED: r1 never master on all LANs",
                        kind.name()
                    ));
                    continue;
                }
                std::thread::sleep(Duration::from_millis(1200));
                let t = inject(&lab, kind, &p1, fault, &[0])?;
                let moved = Lab::wait_until(Duration::from_secs(10), || {
                    vips.iter().all(|v| holders(&lab, *v).contains(&2))
                });
                std::thread::sleep(Duration::from_millis(300));
                let mut per_lan = Vec::new();
                for cap in caps {
                    per_lan.push(cap.finish()?);
                }
                match analyse_sync(&per_lan, fault, t) {
                    Some(run) if moved => {
                        let tail = if fault == Fault::Term {
                            "the first priority-0 advert".to_owned()
                        } else {
                            format!(
                                "the link-down command, {:.3} ms after the old master's last advert on LAN0",
                                run.from_last_advert_ms
                            )
                        };
                        ctx.raw(format!(
                            "sync8\t{}\t{fault:?}\t{rep}\tspread {:.3} ms; all LANs master {:.3} ms after {tail}",
                            kind.name(),
                            run.spread_ms,
                            run.all_master_ms,
                        ));
                        results.sync.entry((fault, kind)).or_default().push(run);
                    }
                    _ => ctx.raw(format!(
                        "sync8\t{}\t{fault:?}\t{rep}\tFAILED: the backup did not become master on all 8 LANs (VIPs moved: {moved})",
                        kind.name()
                    )),
                }
                eprintln!(
                    "  sync8 {:<10} {fault:?} rep {rep}: {}",
                    kind.name(),
                    ctx.raw.last().map(String::as_str).unwrap_or("")
                );
            }
        }
    }
    reset_pair(&lab, &addrs, SYNC_LANS);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Experiment 3: CPU and memory with many instances

#[derive(Debug, Clone, Copy, Default)]
struct CpuRun {
    /// Seconds from start until every instance was master (VIP count), polled every 100 ms.
    start_to_all_master_s: f64,
    /// Master alone.
    master_us_per_advert: f64,
    master_core_pct: f64,
    master_sys_share: f64,
    master_hwm_kib: u64,
    master_adverts: u64,
    /// Backup receiving the master's adverts.
    backup_us_per_advert: f64,
    backup_core_pct: f64,
    backup_sys_share: f64,
    backup_hwm_kib: u64,
    backup_adverts: u64,
    /// The master while a backup listens.
    paired_master_us_per_advert: f64,
    /// Cross-checks from `/proc/PID/stat` (user + system ticks), µs per advert.
    master_stat_us_per_advert: f64,
    backup_stat_us_per_advert: f64,
}

/// One measurement window: CPU of `pids` against a packet counter of router `k`.
fn window(
    lab: &Lab,
    pids: &[u32],
    k: u8,
    counter: &str,
    secs: u64,
    other: Option<&[u32]>,
) -> Res<(Usage, Usage, u64, Option<u64>)> {
    let c0 = if_counter(lab, k, CPU_LANS, counter)?;
    let u0 = usage(pids)?;
    let o0 = other.map(usage).transpose()?;
    std::thread::sleep(Duration::from_secs(secs));
    let u1 = usage(pids)?;
    let o1 = other.map(usage).transpose()?;
    let c1 = if_counter(lab, k, CPU_LANS, counter)?;
    let d = Usage {
        cpu_ns: u1.cpu_ns - u0.cpu_ns,
        user_ticks: u1.user_ticks - u0.user_ticks,
        sys_ticks: u1.sys_ticks - u0.sys_ticks,
        hwm_kib: u1.hwm_kib,
    };
    let other_ns = match (o0, o1) {
        (Some(a), Some(b)) => Some(b.cpu_ns - a.cpu_ns),
        _ => None,
    };
    Ok((d, u1, c1 - c0, other_ns))
}

/// Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`, normally 100).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// µs of user + system time per packet, from the tick counters.
fn stat_us_per(u: &Usage, packets: u64) -> f64 {
    (u.user_ticks + u.sys_ticks) as f64 * 1e6 / clock_ticks() / packets.max(1) as f64
}

fn sys_share(u: &Usage) -> f64 {
    let total = u.user_ticks + u.sys_ticks;
    if total == 0 {
        0.0
    } else {
        u.sys_ticks as f64 / total as f64
    }
}

fn cpu_experiment(ctx: &mut Ctx<'_>, results: &mut Results) -> Res<()> {
    let per_lan = ctx.args.instances / u16::from(CPU_LANS);
    let n = usize::from(ctx.args.instances);
    let secs = ctx.args.cpu_secs;
    let c1 = ctx.path("cpu-r1.conf");
    let c2 = ctx.path("cpu-r2.conf");
    std::fs::write(&c1, cpu_conf(PRIO_MASTER, per_lan)).map_err(|e| e.to_string())?;
    std::fs::write(&c2, cpu_conf(PRIO_BACKUP, per_lan)).map_err(|e| e.to_string())?;
    for kind in Kind::BOTH {
        let lab = Lab::new("pfc-", 2, CPU_LANS).map_err(|e| e.to_string())?;
        let mut run = CpuRun::default();
        let t = Instant::now();
        let master = ctx.start(&lab, kind, 1, &c1)?;
        if !Lab::wait_until(Duration::from_secs(60), || cpu_vip_count(&lab, 1) >= n) {
            return Err(format!(
                "{}: only {} of {n} instances became master within 60 s",
                kind.name(),
                cpu_vip_count(&lab, 1)
            ));
        }
        run.start_to_all_master_s = t.elapsed().as_secs_f64();
        // Past the GARP bursts (keepalived repeats them 5 s after the transition).
        std::thread::sleep(Duration::from_millis(5500));
        let mpids = process_tree(master.pid());
        let (d, end, sent, _) = window(&lab, &mpids, 1, "tx_packets", secs, None)?;
        run.master_adverts = sent;
        run.master_us_per_advert = d.cpu_ns as f64 / 1e3 / sent.max(1) as f64;
        run.master_core_pct = d.cpu_ns as f64 / 1e9 / secs as f64 * 100.0;
        run.master_sys_share = sys_share(&d);
        run.master_stat_us_per_advert = stat_us_per(&d, sent);
        run.master_hwm_kib = end.hwm_kib;
        eprintln!(
            "  cpu {:<10} master alone: {sent} adverts, {:.2} µs/advert, {:.2} % core, {} KiB, all master after {:.2} s",
            kind.name(),
            run.master_us_per_advert,
            run.master_core_pct,
            run.master_hwm_kib,
            run.start_to_all_master_s
        );

        let backup = ctx.start(&lab, kind, 2, &c2)?;
        // The backup's Master_Down_Interval is 3.6 s: stay past it.
        std::thread::sleep(Duration::from_millis(4500));
        if cpu_vip_count(&lab, 2) != 0 {
            return Err(format!("{}: the backup took VIPs", kind.name()));
        }
        let bpids = process_tree(backup.pid());
        let (d, end, received, master_ns) =
            window(&lab, &bpids, 2, "rx_packets", secs, Some(&mpids))?;
        run.backup_adverts = received;
        run.backup_us_per_advert = d.cpu_ns as f64 / 1e3 / received.max(1) as f64;
        run.backup_core_pct = d.cpu_ns as f64 / 1e9 / secs as f64 * 100.0;
        run.backup_sys_share = sys_share(&d);
        run.backup_stat_us_per_advert = stat_us_per(&d, received);
        run.backup_hwm_kib = end.hwm_kib;
        run.paired_master_us_per_advert =
            master_ns.unwrap_or(0) as f64 / 1e3 / received.max(1) as f64;
        eprintln!(
            "  cpu {:<10} backup: {received} adverts, {:.2} µs/advert, {:.2} % core, {} KiB (master meanwhile {:.2} µs/advert)",
            kind.name(),
            run.backup_us_per_advert,
            run.backup_core_pct,
            run.backup_hwm_kib,
            run.paired_master_us_per_advert
        );
        ctx.raw(format!(
            "cpu\t{}\t{n} instances\t{secs} s\tmaster alone: {} adverts sent, cpu {:.3} s ({:.0} % system), {:.3} µs/advert (stat: {:.1}), VmHWM {} KiB; \
             backup: {} adverts received, {:.3} µs/advert (stat: {:.1}, {:.0} % system), VmHWM {} KiB; master while paired {:.3} µs/advert; start to all master {:.2} s",
            kind.name(),
            run.master_adverts,
            run.master_us_per_advert * run.master_adverts as f64 / 1e6,
            run.master_sys_share * 100.0,
            run.master_us_per_advert,
            run.master_stat_us_per_advert,
            run.master_hwm_kib,
            run.backup_adverts,
            run.backup_us_per_advert,
            run.backup_stat_us_per_advert,
            run.backup_sys_share * 100.0,
            run.backup_hwm_kib,
            run.paired_master_us_per_advert,
            run.start_to_all_master_s
        ));
        drop(backup);
        drop(master);
        kill_router_procs(&lab, 1);
        kill_router_procs(&lab, 2);
        results.cpu.insert(kind, run);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Results {
    takeover: BTreeMap<(Fault, Kind), Vec<f64>>,
    sync: BTreeMap<(Fault, Kind), Vec<SyncRun>>,
    cpu: BTreeMap<Kind, CpuRun>,
}

/// One row of the ratio table.
struct Row {
    measure: String,
    /// Label in the chart.
    short: String,
    vrrpd: String,
    keepalived: String,
    /// vrrpd / keepalived (None when a side is missing).
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
}

fn fmt_summary(s: Option<Summary>, unit: &str, digits: usize) -> String {
    match s {
        Some(s) if s.n > 1 => format!(
            "{:.d$} {unit} ({:.d$}–{:.d$}, n={})",
            s.median,
            s.min,
            s.max,
            s.n,
            d = digits
        ),
        Some(s) => format!("{:.d$} {unit}", s.median, d = digits),
        None => "not measured".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn rows(results: &Results, args: &Args) -> Vec<Row> {
    let mut rows = Vec::new();
    for fault in Fault::ALL {
        let get = |k: Kind| summarize(results.takeover.get(&(fault, k)).map_or(&[][..], |v| v));
        let (v, k) = (get(Kind::Vrrpd), get(Kind::Keepalived));
        if v.is_none() && k.is_none() {
            continue;
        }
        let floor_ms = fault.floor_ns() as f64 / 1e6;
        let allowed = if fault == Fault::Term { 5.0 } else { 10.0 };
        rows.push(Row {
            measure: format!("{} (floor {floor_ms:.1} ms)", fault.label()),
            short: fault.label().to_owned(),
            vrrpd: fmt_summary(v, "ms", 1),
            keepalived: fmt_summary(k, "ms", 1),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: format!("floor + ≤ {allowed:.0} ms"),
            met: v.map(|s| s.median - floor_ms <= allowed),
        });
    }
    let sync = |fault: Fault, k: Kind, f: fn(&SyncRun) -> f64| {
        let v: Vec<f64> = results
            .sync
            .get(&(fault, k))
            .map(|runs| runs.iter().map(f).collect())
            .unwrap_or_default();
        summarize(&v)
    };
    let spread = |r: &SyncRun| r.spread_ms;
    let all = |r: &SyncRun| r.all_master_ms;
    let last = |r: &SyncRun| r.from_last_advert_ms;
    if results.sync.keys().any(|(f, _)| *f == Fault::Term) {
        let (v, k) = (
            sync(Fault::Term, Kind::Vrrpd, spread),
            sync(Fault::Term, Kind::Keepalived, spread),
        );
        rows.push(Row {
            measure: "sync group of 8 on 8 LANs, SIGTERM: spread first → last LAN".into(),
            short: "sync group of 8, SIGTERM: spread".into(),
            vrrpd: fmt_summary(v, "ms", 3),
            keepalived: fmt_summary(k, "ms", 3),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: spread_target(v.map(|s| s.median)),
            met: v.map(|s| s.median <= 1.0),
        });
        let (v, k) = (
            sync(Fault::Term, Kind::Vrrpd, all),
            sync(Fault::Term, Kind::Keepalived, all),
        );
        rows.push(Row {
            measure: "sync group of 8, SIGTERM: first priority 0 → backup master on all LANs (floor 609.4 ms)".into(),
            short: "sync group of 8, SIGTERM: priority 0 → all master".into(),
            vrrpd: fmt_summary(v, "ms", 1),
            keepalived: fmt_summary(k, "ms", 1),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: "floor + ≤ 5 ms".into(),
            met: v.map(|s| s.median <= 609.375 + 5.0),
        });
    }
    if results.sync.keys().any(|(f, _)| *f == Fault::Carrier) {
        let (v, k) = (
            sync(Fault::Carrier, Kind::Vrrpd, all),
            sync(Fault::Carrier, Kind::Keepalived, all),
        );
        rows.push(Row {
            measure: "sync group of 8, carrier loss on one master link: link down → backup master on all LANs".into(),
            short: "sync group of 8, carrier loss: link down → all master".into(),
            vrrpd: fmt_summary(v, "ms", 1),
            keepalived: fmt_summary(k, "ms", 1),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: "≤ 650 ms".into(),
            met: v.map(|s| s.median <= 650.0),
        });
        let (v, k) = (
            sync(Fault::Carrier, Kind::Vrrpd, last),
            sync(Fault::Carrier, Kind::Keepalived, last),
        );
        rows.push(Row {
            measure: "same, from the old master's last advert on the failed LAN".into(),
            short: "sync group of 8, carrier loss: last advert → all master".into(),
            vrrpd: fmt_summary(v, "ms", 1),
            keepalived: fmt_summary(k, "ms", 1),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: "—".into(),
            met: None,
        });
        let (v, k) = (
            sync(Fault::Carrier, Kind::Vrrpd, spread),
            sync(Fault::Carrier, Kind::Keepalived, spread),
        );
        rows.push(Row {
            measure: "same, spread first → last LAN".into(),
            short: "sync group of 8, carrier loss: spread".into(),
            vrrpd: fmt_summary(v, "ms", 3),
            keepalived: fmt_summary(k, "ms", 3),
            ratio: ratio(v.map(|s| s.median), k.map(|s| s.median)),
            target: spread_target(v.map(|s| s.median)),
            met: v.map(|s| s.median <= 1.0),
        });
    }
    if let (Some(v), Some(k)) = (
        results.cpu.get(&Kind::Vrrpd),
        results.cpu.get(&Kind::Keepalived),
    ) {
        let n = args.instances;
        let cpu_row = |measure: String,
                       short: &str,
                       a: f64,
                       b: f64,
                       unit: &str,
                       digits: usize,
                       target: f64| Row {
            short: format!("{n} instances, {short}"),
            measure,
            vrrpd: format!("{a:.d$} {unit}", d = digits),
            keepalived: format!("{b:.d$} {unit}", d = digits),
            ratio: ratio(Some(a), Some(b)),
            target: format!(
                "≤ {target}× (stretch ≤ {STRETCH_RATIO}×: {})",
                yes_no(ratio(Some(a), Some(b)).map(|r| r <= STRETCH_RATIO))
            ),
            met: ratio(Some(a), Some(b)).map(|r| r <= target),
        };
        rows.push(cpu_row(
            format!("{n} instances, master alone: CPU per advert sent"),
            "master: CPU per advert sent",
            v.master_us_per_advert,
            k.master_us_per_advert,
            "µs",
            2,
            TARGET_RATIO,
        ));
        rows.push(cpu_row(
            format!("{n} instances, backup receiving {n} adverts/s: CPU per advert received"),
            "backup: CPU per advert received",
            v.backup_us_per_advert,
            k.backup_us_per_advert,
            "µs",
            2,
            TARGET_RATIO,
        ));
        rows.push(cpu_row(
            format!("{n} instances, master alone: peak RSS (VmHWM, all processes)"),
            "master: peak RSS",
            v.master_hwm_kib as f64 / 1024.0,
            k.master_hwm_kib as f64 / 1024.0,
            "MiB",
            1,
            TARGET_RATIO,
        ));
        rows.push(cpu_row(
            format!("{n} instances, backup: peak RSS (VmHWM, all processes)"),
            "backup: peak RSS",
            v.backup_hwm_kib as f64 / 1024.0,
            k.backup_hwm_kib as f64 / 1024.0,
            "MiB",
            1,
            TARGET_RATIO,
        ));
        rows.push(Row {
            measure: format!("{n} instances: start → all master (VIP count polled every 0.1 s)"),
            short: format!("{n} instances: start → all master"),
            vrrpd: format!("{:.2} s", v.start_to_all_master_s),
            keepalived: format!("{:.2} s", k.start_to_all_master_s),
            ratio: ratio(Some(v.start_to_all_master_s), Some(k.start_to_all_master_s)),
            target: "the RFC floor (3.41 s + start-up)".into(),
            met: None,
        });
    }
    rows
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let ka = Command::new("keepalived")
        .arg("--version")
        .output()
        .map(|o| {
            let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.push_str(&String::from_utf8_lossy(&o.stderr));
            t.lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_default();
    format!("nproc {nproc}, CPU {model}, kernel {kernel}, load average at the end {load}, {ka}")
}

fn render_markdown(rows: &[Row], args: &Args, raw: &[String], elapsed: Duration) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## vrrp-compare results\n");
    let _ = writeln!(md, "Machine: {}\n", machine());
    let _ = writeln!(
        md,
        "Run: {} repetitions per takeover/sync scenario, CPU windows of {} s, {} instances; took {:.0} s.\n",
        args.reps,
        args.cpu_secs,
        args.instances,
        elapsed.as_secs_f64()
    );
    md.push_str("| measure | vrrpd | keepalived | ratio vrrpd/keepalived | target | met |\n");
    md.push_str("|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r.measure,
            r.vrrpd,
            r.keepalived,
            r.ratio.map_or("—".into(), |x| format!("{x:.3}")),
            r.target,
            match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            }
        );
    }
    md.push_str(
        "\nMedians with (min–max, n) over the repetitions. Takeover times come from packet\n",
    );
    md.push_str(
        "timestamps on the hub bridge; CPU is schedstat run time of all the daemon's processes\n",
    );
    md.push_str("and threads divided by the packets counted on the router's interfaces.\n\n");
    md.push_str("### Raw figures\n\n```\n");
    for l in raw {
        md.push_str(l);
        md.push('\n');
    }
    md.push_str("```\n");
    md
}

/// CPU and RSS target of the issue: at most half of keepalived's.
const TARGET_RATIO: f64 = 0.5;
/// The project's stretch target for CPU and RSS.
const STRETCH_RATIO: f64 = 0.35;

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "—",
    }
}

/// The sync-group spread target (≤ 1 ms) with the stretch target (≤ 0.2 ms) and
/// whether the median meets it.
fn spread_target(median: Option<f64>) -> String {
    format!(
        "≤ 1 ms (stretch ≤ 0.2 ms: {})",
        yes_no(median.map(|m| m <= 0.2))
    )
}

/// A horizontal bar chart of the ratios on a log axis (0.01 … 10), with lines at parity,
/// at the 0.5× target (red) and at the 0.35× stretch target.
fn render_svg(rows: &[Row]) -> String {
    let bars: Vec<(&str, f64, Option<bool>)> = rows
        .iter()
        .filter_map(|r| r.ratio.map(|x| (r.short.as_str(), x, r.met)))
        .collect();
    let (left, width, row_h, top) = (430.0, 420.0, 26.0, 40.0);
    let height = top + row_h * bars.len() as f64 + 50.0;
    let x_of = |v: f64| {
        let l = v.clamp(0.01, 10.0).log10(); // -2 ..= 1
        left + (l + 2.0) / 3.0 * width
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">",
        left + width + 60.0
    );
    let _ = writeln!(
        s,
        "<rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">vrrpd / keepalived (log scale; left of 1 = vrrpd smaller/faster)</text>"
    );
    for (tick, label) in [
        (0.01, "0.01"),
        (0.1, "0.1"),
        (0.35, "0.35"),
        (0.5, "0.5"),
        (1.0, "1"),
        (10.0, "10"),
    ] {
        let x = x_of(tick);
        let colour = if tick == TARGET_RATIO { "#c00" } else { "#999" };
        // 0.35 and 0.5 sit close together: their labels lean apart.
        let anchor = if tick == STRETCH_RATIO {
            "end"
        } else if tick == TARGET_RATIO {
            "start"
        } else {
            "middle"
        };
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-dasharray=\"3,3\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{label}</text>",
            height - 35.0,
            height - 20.0
        );
    }
    for (i, (name, value, met)) in bars.iter().enumerate() {
        let y = top + row_h * i as f64 + 4.0;
        let colour = match met {
            Some(true) => "#2a7",
            Some(false) => "#e80",
            None => "#68a",
        };
        let label: String = name.chars().take(68).collect();
        let label = label
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text><rect x=\"{left}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{value:.3}</text>",
            left - 6.0,
            y + row_h * 0.55,
            (x_of(*value) - left).max(1.0),
            row_h - 8.0,
            x_of(*value) + 4.0,
            y + row_h * 0.55
        );
    }
    let legend_y = height - 5.0;
    for (i, (colour, text)) in [
        ("#2a7", "target met"),
        ("#e80", "target missed"),
        ("#68a", "no target"),
    ]
    .iter()
    .enumerate()
    {
        let x = 10.0 + 130.0 * i as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{legend_y:.1}\">{text}</text>",
            legend_y - 10.0,
            x + 16.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn run(args: &Args) -> Res<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let scratch = std::env::temp_dir().join(format!("vrrp-compare-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let mut ctx = Ctx {
        args,
        scratch: scratch.clone(),
        raw: Vec::new(),
        seq: 0,
    };
    let mut results = Results::default();
    let mut failure = None;
    if args.wants("takeover") {
        eprintln!("takeover: {} repetitions × 3 faults × 2 daemons", args.reps);
        if let Err(e) = takeover_experiment(&mut ctx, &mut results) {
            failure.get_or_insert(format!("takeover: {e}"));
        }
    }
    if args.wants("sync") {
        eprintln!(
            "sync group of 8: {} repetitions × 2 faults × 2 daemons",
            args.reps
        );
        if let Err(e) = sync_experiment(&mut ctx, &mut results) {
            failure.get_or_insert(format!("sync: {e}"));
        }
    }
    if args.wants("cpu") {
        eprintln!(
            "cpu: {} instances, {} s windows × 2 daemons",
            args.instances, args.cpu_secs
        );
        if let Err(e) = cpu_experiment(&mut ctx, &mut results) {
            failure.get_or_insert(format!("cpu: {e}"));
        }
    }
    if let Some(f) = &failure {
        ctx.raw.push(format!("ERROR {f}"));
    }
    let table = rows(&results, args);
    let md = render_markdown(&table, args, &ctx.raw, started.elapsed());
    let svg = render_svg(&table);
    let write = |name: &str, text: &str| {
        let p = args.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))
    };
    write("results.md", &md)?;
    write("ratios.svg", &svg)?;
    write("raw.tsv", &(ctx.raw.join("\n") + "\n"))?;
    print!("{md}");
    eprintln!(
        "wrote {}/results.md, ratios.svg, raw.tsv; captures and logs in {}",
        args.out.display(),
        scratch.display()
    );
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adv(t_ms: u64, k: u8, prio: u8) -> Advert {
        Advert {
            t_ns: t_ms * 1_000_000,
            src: Lab::router_addr(k, 0),
            vrid: 51,
            prio,
        }
    }

    #[test]
    fn takeover_after_priority_zero_starts_at_the_first_zero() {
        let a = [
            adv(1000, 1, 150),
            adv(2000, 1, 150),
            adv(2500, 1, 0),
            adv(2501, 1, 0),
            adv(3110, 2, 100),
            adv(4110, 2, 100),
        ];
        let t = takeover_after_prio0(&a, Lab::router_addr(1, 0), Lab::router_addr(2, 0), 51, 0)
            .unwrap();
        assert_eq!(t.delay_ns(), 610_000_000);
        // No priority 0 after the action: nothing to measure.
        assert!(
            takeover_after_prio0(
                &a,
                Lab::router_addr(1, 0),
                Lab::router_addr(2, 0),
                51,
                2_600_000_000
            )
            .is_none()
        );
    }

    #[test]
    fn takeover_after_silence_starts_at_the_last_advert() {
        let a = [
            adv(1000, 1, 150),
            adv(2000, 1, 150),
            adv(5610, 2, 100),
            adv(6610, 2, 100),
        ];
        let t = takeover_after_silence(
            &a,
            Lab::router_addr(1, 0),
            Lab::router_addr(2, 0),
            51,
            2_100_000_000,
        )
        .unwrap();
        assert_eq!((t.from_ns, t.to_ns), (2_000_000_000, 5_610_000_000));
        // A different VRID is not this takeover.
        assert!(
            takeover_after_silence(&a, Lab::router_addr(1, 0), Lab::router_addr(2, 0), 52, 0)
                .is_none()
        );
    }

    #[test]
    fn sync_spread_and_all_master() {
        let lan = |l: u8, old: &[(u64, u8)], new_ms: u64| -> Vec<Advert> {
            let mut v: Vec<Advert> = old
                .iter()
                .map(|(t, p)| Advert {
                    t_ns: t * 1_000_000,
                    src: Lab::router_addr(1, l),
                    vrid: 10 + l,
                    prio: *p,
                })
                .collect();
            v.push(Advert {
                t_ns: new_ms * 1_000_000,
                src: Lab::router_addr(2, l),
                vrid: 10 + l,
                prio: 100,
            });
            v
        };
        let per_lan = vec![
            lan(0, &[(900, 150), (1000, 0)], 1610),
            lan(1, &[(900, 150), (1001, 0)], 1612),
        ];
        let r = analyse_sync(&per_lan, Fault::Term, 950_000_000).unwrap();
        assert!((r.spread_ms - 2.0).abs() < 1e-9);
        assert!((r.all_master_ms - 612.0).abs() < 1e-9);
        let per_lan = vec![
            lan(0, &[(900, 150)], 1600),
            lan(1, &[(900, 150), (1010, 0)], 1620),
        ];
        let r = analyse_sync(&per_lan, Fault::Carrier, 1_000_000_000).unwrap();
        assert!((r.all_master_ms - 620.0).abs() < 1e-9);
        assert!((r.from_last_advert_ms - 720.0).abs() < 1e-9);
        // A LAN where the backup never advertised: no result.
        let per_lan = vec![lan(0, &[(900, 150)], 1600), vec![]];
        assert!(analyse_sync(&per_lan, Fault::Carrier, 1_000_000_000).is_none());
    }

    #[test]
    fn summary_of_odd_and_even_samples() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        assert_eq!(summarize(&[1.0, 4.0]).unwrap().median, 2.5);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn decodes_keepalived_capture() {
        // A real keepalived capture shipped with the repository: priority-0 advert, then the
        // backup's first advert 0.609 s later.
        let path = benches::vectors_dir().join("a-noauth/2-failover.pcap");
        let adverts = read_adverts(&path).unwrap();
        assert!(!adverts.is_empty());
        let t = takeover_after_prio0(
            &adverts,
            Ipv4Addr::new(10, 99, 0, 11),
            Ipv4Addr::new(10, 99, 0, 12),
            51,
            0,
        )
        .unwrap();
        let ms = t.delay_ns() as f64 / 1e6;
        assert!((600.0..620.0).contains(&ms), "{ms}");
    }

    #[test]
    fn configs_are_keepalived_syntax_both_daemons_read() {
        let c = cpu_conf(150, 3);
        assert_eq!(c.matches("vrrp_instance").count(), 12);
        assert!(c.contains("virtual_router_id 3\n") && c.contains("172.16.3.3/32"));
        let s = sync_conf(100);
        assert!(s.contains("vrrp_sync_group G8") && s.contains("interface eth7"));
        assert!(takeover_conf(150).contains("priority 150"));
    }

    #[test]
    fn ratio_rows_and_svg() {
        let mut r = Results::default();
        r.takeover
            .insert((Fault::Term, Kind::Vrrpd), vec![610.0, 611.0, 612.0]);
        r.takeover
            .insert((Fault::Term, Kind::Keepalived), vec![611.0]);
        let args = Args {
            vrrpd: PathBuf::new(),
            out: PathBuf::new(),
            quick: true,
            reps: 3,
            cpu_secs: 10,
            instances: 100,
            only: vec![],
        };
        let rows = rows(&r, &args);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].met, Some(true));
        assert!((rows[0].ratio.unwrap() - 1.0).abs() < 1e-9);
        let svg = render_svg(&rows);
        assert!(svg.starts_with("<svg") && svg.contains("1.000"));
    }
}
