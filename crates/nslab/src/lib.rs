//! Throw-away network-namespace LANs for integration tests and demos.
//!
//! A [`Lab`] builds, inside network namespaces it creates, the topology our daemons are tested
//! on: a hub namespace holding one Linux bridge per LAN, routers `r1..rN` each with one
//! interface per LAN (`eth0`, `eth1`, …) and one client per LAN (`c0`, `c1`, …). Every veth
//! pair has its outer end in the hub, so pulling that end down makes the router's interface
//! lose carrier exactly as a pulled cable does. Dropping the [`Lab`] kills every process left
//! in its namespaces and deletes them, also when a test panics.
//!
//! Addressing: LAN `L` is `10.99.L.0/24`; router `K` is `10.99.L.(10+K)` with MAC
//! `02:10:00:00:0L:KK`; the client of LAN `L` is `10.99.L.100`. Addresses never leave the
//! namespaces, so labs with different prefixes can run side by side.
//!
//! The crate drives iproute2 (`ip`) and nftables (`nft`) as commands: it is test support,
//! not part of any daemon, and the commands are what an operator would type to reproduce a
//! failure by hand.

#![forbid(unsafe_code)]

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// What went wrong while building or driving a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command could not be started at all (usually: the tool is not installed).
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line.
        command: String,
        /// Exit status as text.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The caller named a node or LAN the lab does not have.
    #[error("no such node or LAN in this lab: {0}")]
    NoSuchNode(String),
}

/// Returns true when the process may build namespaces (it runs as root).
///
/// Otherwise prints why the calling test is skipped and returns false, except under CI
/// (`CI` set), where skipping a namespace test would hide it: then it panics.
pub fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: needs root for network namespaces, and CI must not skip it");
    }
    eprintln!("SKIP {test}: needs root to create network namespaces");
    false
}

/// True when running with effective uid 0.
pub fn is_root() -> bool {
    // `id -u` avoids unsafe code for geteuid; tests call this once.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// A node of the lab: the hub, a router or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// The namespace holding the bridges.
    Hub,
    /// Router `K` (1-based).
    Router(u8),
    /// The client on LAN `L`.
    Client(u8),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Hub => f.write_str("hub"),
            Node::Router(k) => write!(f, "r{k}"),
            Node::Client(l) => write!(f, "c{l}"),
        }
    }
}

/// Direction of packets an nftables loss rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Packets arriving on the interface.
    In,
    /// Packets leaving the interface.
    Out,
    /// Both.
    Both,
}

/// A process started inside a lab namespace; killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Proc {
    child: Option<Child>,
    /// Where the process logs (stdout and stderr), if a log file was given.
    pub log: Option<std::path::PathBuf>,
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends a signal by name (`TERM`, `KILL`, `HUP`, …) with kill(1).
    pub fn signal(&self, name: &str) -> Result<(), LabError> {
        run(Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string()))
        .map(drop)
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Option<i32>> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status.code()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => return None,
            }
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running lab; dropping it removes every namespace it made.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    routers: u8,
    lans: u8,
}

impl Lab {
    /// Builds `routers` routers on `lans` LANs (1..=8), with one client per LAN.
    ///
    /// `prefix` keeps concurrent labs apart (e.g. `"t1-"`); a stale lab with the same prefix
    /// is removed first.
    pub fn new(prefix: &str, routers: u8, lans: u8) -> Result<Lab, LabError> {
        if !(1..=8).contains(&lans) || !(1..=50).contains(&routers) {
            return Err(LabError::NoSuchNode(format!(
                "{routers} routers on {lans} LANs is outside 1..=50 routers, 1..=8 LANs"
            )));
        }
        let lab = Lab {
            prefix: prefix.to_string(),
            routers,
            lans,
        };
        lab.teardown();
        lab.build()?;
        Ok(lab)
    }

    fn build(&self) -> Result<(), LabError> {
        let hub = self.ns(Node::Hub);
        self.add_ns(&hub)?;
        for lan in 0..self.lans {
            let br = format!("br{lan}");
            ip(
                &hub,
                &["link", "add", &br, "type", "bridge", "stp_state", "0"],
            )?;
            ip(
                &hub,
                &[
                    "link",
                    "set",
                    &br,
                    "type",
                    "bridge",
                    "forward_delay",
                    "0",
                    "mcast_snooping",
                    "0",
                ],
            )?;
            ip(&hub, &["link", "set", &br, "up"])?;
        }
        for k in 1..=self.routers {
            let node = Node::Router(k);
            self.add_ns(&self.ns(node))?;
            for lan in 0..self.lans {
                self.attach(node, lan, &format!("eth{lan}"), Self::router_mac(k, lan))?;
                let cidr = format!("{}/24", Self::router_addr(k, lan));
                ip(
                    &self.ns(node),
                    &["addr", "add", &cidr, "dev", &format!("eth{lan}")],
                )?;
            }
        }
        for lan in 0..self.lans {
            let node = Node::Client(lan);
            self.add_ns(&self.ns(node))?;
            self.attach(node, lan, "eth0", format!("02:10:00:00:0{lan}:64"))?;
            let cidr = format!("{}/24", Self::client_addr(lan));
            ip(&self.ns(node), &["addr", "add", &cidr, "dev", "eth0"])?;
        }
        Ok(())
    }

    fn add_ns(&self, ns: &str) -> Result<(), LabError> {
        run(Command::new("ip").args(["netns", "add", ns]))?;
        ip(ns, &["link", "set", "lo", "up"])?;
        // IPv6 off keeps captures to IPv4/ARP (no ND/MLD noise).
        run(Command::new("ip").args([
            "netns",
            "exec",
            ns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]))?;
        Ok(())
    }

    /// Connects `node`'s interface `ifname` to LAN `lan` with a veth whose outer end is in the hub.
    fn attach(&self, node: Node, lan: u8, ifname: &str, mac: String) -> Result<(), LabError> {
        let hub = self.ns(Node::Hub);
        let outer = self.outer_name(node, lan);
        ip(
            &hub,
            &[
                "link",
                "add",
                &outer,
                "type",
                "veth",
                "peer",
                "name",
                ifname,
                "netns",
                &self.ns(node),
            ],
        )?;
        ip(&self.ns(node), &["link", "set", ifname, "address", &mac])?;
        ip(&self.ns(node), &["link", "set", ifname, "up"])?;
        ip(
            &hub,
            &["link", "set", &outer, "master", &format!("br{lan}")],
        )?;
        ip(&hub, &["link", "set", &outer, "up"])?;
        Ok(())
    }

    fn outer_name(&self, node: Node, lan: u8) -> String {
        format!("{node}e{lan}")
    }

    /// Namespace name of a node.
    pub fn ns(&self, node: Node) -> String {
        format!("{}{}", self.prefix, node)
    }

    /// Number of routers.
    pub fn routers(&self) -> u8 {
        self.routers
    }

    /// Number of LANs.
    pub fn lans(&self) -> u8 {
        self.lans
    }

    /// Address of router `k` on LAN `lan`.
    pub fn router_addr(k: u8, lan: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, lan, 10 + k)
    }

    /// MAC address of router `k` on LAN `lan`.
    pub fn router_mac(k: u8, lan: u8) -> String {
        format!("02:10:00:00:0{lan}:{k:02x}")
    }

    /// Address of the client on LAN `lan`.
    pub fn client_addr(lan: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, lan, 100)
    }

    fn check_node(&self, node: Node) -> Result<(), LabError> {
        let ok = match node {
            Node::Hub => true,
            Node::Router(k) => (1..=self.routers).contains(&k),
            Node::Client(l) => l < self.lans,
        };
        if ok {
            Ok(())
        } else {
            Err(LabError::NoSuchNode(node.to_string()))
        }
    }

    /// Runs a command to completion inside `node`; fails if it exits non-zero.
    pub fn exec(&self, node: Node, program: &str, args: &[&str]) -> Result<Output, LabError> {
        self.check_node(node)?;
        run(Command::new("ip")
            .args(["netns", "exec", &self.ns(node), program])
            .args(args))
    }

    /// Starts a long-running process inside `node`, its output appended to `log`.
    pub fn spawn(
        &self,
        node: Node,
        program: &str,
        args: &[&str],
        log: Option<&Path>,
    ) -> Result<Proc, LabError> {
        self.check_node(node)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns(node), program])
            .args(args)
            .stdin(Stdio::null());
        if let Some(path) = log {
            let open = || {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
            };
            let file = open().map_err(|source| LabError::Spawn {
                command: format!("open {}", path.display()),
                source,
            })?;
            let file2 = file.try_clone().map_err(|source| LabError::Spawn {
                command: format!("dup {}", path.display()),
                source,
            })?;
            cmd.stdout(file).stderr(file2);
        } else {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = cmd.spawn().map_err(|source| LabError::Spawn {
            command: describe(&cmd),
            source,
        })?;
        Ok(Proc {
            child: Some(child),
            log: log.map(Path::to_path_buf),
        })
    }

    /// Pulls the hub end of router `k`'s LAN `lan` veth down: the router's `ethL` loses carrier
    /// (NO-CARRIER, IFF_RUNNING cleared) while staying administratively up.
    pub fn link_down(&self, k: u8, lan: u8) -> Result<(), LabError> {
        self.set_outer(Node::Router(k), lan, "down")
    }

    /// Undoes [`Lab::link_down`].
    pub fn link_up(&self, k: u8, lan: u8) -> Result<(), LabError> {
        self.set_outer(Node::Router(k), lan, "up")
    }

    fn set_outer(&self, node: Node, lan: u8, state: &str) -> Result<(), LabError> {
        self.check_node(node)?;
        ip(
            &self.ns(Node::Hub),
            &["link", "set", &self.outer_name(node, lan), state],
        )
        .map(drop)
    }

    /// Drops `percent` % of VRRP (protocol 112) and AH (51) packets on router `k`'s `ethL`,
    /// chosen at random per packet (nftables `numgen random`); 0 removes the rule.
    pub fn drop_vrrp(&self, k: u8, lan: u8, percent: u8, dir: Direction) -> Result<(), LabError> {
        let node = Node::Router(k);
        self.check_node(node)?;
        let ns = self.ns(node);
        let table = format!("nslab_loss_eth{lan}");
        // Delete a previous rule set for this interface; absence is fine.
        let _ = run(Command::new("ip").args([
            "netns", "exec", &ns, "nft", "delete", "table", "inet", &table,
        ]));
        if percent == 0 {
            return Ok(());
        }
        let pct = percent.min(100);
        let mut script = format!("table inet {table} {{\n");
        let hooks: &[(&str, &str)] = match dir {
            Direction::In => &[("input", "iifname")],
            Direction::Out => &[("output", "oifname")],
            Direction::Both => &[("input", "iifname"), ("output", "oifname")],
        };
        for (hook, ifkey) in hooks {
            // nftables refuses `numgen random mod 100 < 100`: a full blackhole is a plain drop.
            let sample = if pct >= 100 {
                String::new()
            } else {
                format!("numgen random mod 100 < {pct} ")
            };
            script.push_str(&format!(
                "  chain {hook} {{ type filter hook {hook} priority -300; \
                 {ifkey} \"eth{lan}\" ip protocol {{ 112, 51 }} {sample}drop; }}\n"
            ));
        }
        script.push_str("}\n");
        let path = std::env::temp_dir().join(format!("{ns}-{table}.nft"));
        std::fs::write(&path, script).map_err(|source| LabError::Spawn {
            command: format!("write {}", path.display()),
            source,
        })?;
        let path_text = path.display().to_string();
        let result = run(Command::new("ip").args(["netns", "exec", &ns, "nft", "-f", &path_text]));
        let _ = std::fs::remove_file(&path);
        result.map(drop)
    }

    /// IPv4 addresses (with prefix length) on `ifname` of `node`, from `ip -4 -o addr`.
    pub fn addrs(&self, node: Node, ifname: &str) -> Result<Vec<(Ipv4Addr, u8)>, LabError> {
        let out = self.exec(node, "ip", &["-4", "-o", "addr", "show", "dev", ifname])?;
        Ok(parse_ip_o_addr(&String::from_utf8_lossy(&out.stdout)))
    }

    /// The routers (1-based numbers) on which `addr` is configured on any interface.
    pub fn holders(&self, addr: Ipv4Addr) -> Result<Vec<u8>, LabError> {
        let mut found = Vec::new();
        for k in 1..=self.routers {
            let out = self.exec(Node::Router(k), "ip", &["-4", "-o", "addr", "show"])?;
            let text = String::from_utf8_lossy(&out.stdout);
            if parse_ip_o_addr(&text).iter().any(|(a, _)| *a == addr) {
                found.push(k);
            }
        }
        Ok(found)
    }

    /// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
    pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if cond() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts tcpdump on LAN `lan`'s bridge in the hub (it sees every frame of the LAN),
    /// writing a pcap to `path`. Stop it by dropping the returned process or signalling INT.
    pub fn capture(&self, lan: u8, path: &Path) -> Result<Proc, LabError> {
        let path_text = path.display().to_string();
        let br = format!("br{lan}");
        let proc = self.spawn(
            Node::Hub,
            "tcpdump",
            &[
                "-i",
                &br,
                "-U",
                "--immediate-mode",
                "-w",
                &path_text,
                "-s",
                "256",
            ],
            None,
        )?;
        // tcpdump needs a moment to open the interface; wait for the file to appear.
        Self::wait_until(Duration::from_secs(3), || path.exists());
        Ok(proc)
    }

    fn all_namespaces(&self) -> Vec<String> {
        let mut names = vec![self.ns(Node::Hub)];
        names.extend((1..=self.routers).map(|k| self.ns(Node::Router(k))));
        names.extend((0..self.lans).map(|l| self.ns(Node::Client(l))));
        names
    }

    fn teardown(&self) {
        for ns in self.all_namespaces() {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", &ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Parses `ip -o -4 addr` lines into (address, prefix length) pairs.
pub fn parse_ip_o_addr(text: &str) -> Vec<(Ipv4Addr, u8)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        while let Some(w) = words.next() {
            if w == "inet" {
                if let Some((a, len)) = words.next().and_then(|c| c.split_once('/'))
                    && let (Ok(a), Ok(len)) = (a.parse(), len.parse())
                {
                    out.push((a, len));
                }
                break;
            }
        }
    }
    out
}

fn ip(ns: &str, args: &[&str]) -> Result<Output, LabError> {
    run(Command::new("ip").arg("-n").arg(ns).args(args))
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn run(cmd: &mut Command) -> Result<Output, LabError> {
    let out = cmd.output().map_err(|source| LabError::Spawn {
        command: describe(cmd),
        source,
    })?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(LabError::Failed {
            command: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_addr_output() {
        let text = "2: eth0    inet 10.99.0.11/24 scope global eth0\\       valid_lft forever\n\
                    2: eth0    inet 10.99.0.200/32 scope global eth0\\ valid_lft forever\n";
        assert_eq!(
            parse_ip_o_addr(text),
            vec![
                (Ipv4Addr::new(10, 99, 0, 11), 24),
                (Ipv4Addr::new(10, 99, 0, 200), 32)
            ]
        );
    }

    #[test]
    fn builds_and_removes_a_lab() {
        if !root_or_skip("builds_and_removes_a_lab") {
            return;
        }
        let lab = Lab::new("nsl-", 2, 2).expect("lab");
        // Router 1 reaches router 2 and the client over LAN1 through the hub bridge.
        lab.exec(Node::Router(1), "ping", &["-c1", "-W2", "10.99.1.12"])
            .expect("r1 -> r2 on LAN1");
        lab.exec(Node::Client(0), "ping", &["-c1", "-W2", "10.99.0.11"])
            .expect("c0 -> r1 on LAN0");
        assert_eq!(
            lab.addrs(Node::Router(2), "eth0").expect("addrs"),
            vec![(Ipv4Addr::new(10, 99, 0, 12), 24)]
        );
        assert_eq!(
            lab.holders(Ipv4Addr::new(10, 99, 1, 11)).expect("holders"),
            vec![1]
        );
        // Carrier loss: the hub end goes down, the router's interface loses IFF_RUNNING.
        lab.link_down(1, 0).expect("link down");
        let flags = lab
            .exec(Node::Router(1), "cat", &["/sys/class/net/eth0/carrier"])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        assert!(
            matches!(flags.as_deref(), Ok("0") | Err(_)),
            "carrier still up: {flags:?}"
        );
        lab.link_up(1, 0).expect("link up");
        // Loss rules: a partial and a full blackhole install, and 0 removes them.
        lab.drop_vrrp(1, 0, 30, Direction::Both).expect("30 % loss");
        lab.drop_vrrp(1, 1, 100, Direction::In)
            .expect("full blackhole");
        let rules = lab
            .exec(Node::Router(1), "nft", &["list", "ruleset"])
            .expect("nft list");
        let rules = String::from_utf8_lossy(&rules.stdout).to_string();
        assert!(rules.contains("numgen random mod 100 < 30"), "{rules}");
        assert!(rules.contains("nslab_loss_eth1"), "{rules}");
        lab.drop_vrrp(1, 0, 0, Direction::Both).expect("remove");
        lab.drop_vrrp(1, 1, 0, Direction::In).expect("remove");
        let rules = lab
            .exec(Node::Router(1), "nft", &["list", "ruleset"])
            .expect("nft list");
        assert!(!String::from_utf8_lossy(&rules.stdout).contains("nslab_loss"));
        let hub = lab.ns(Node::Hub);
        drop(lab);
        let list = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list");
        assert!(
            !String::from_utf8_lossy(&list.stdout)
                .lines()
                .any(|l| l.starts_with(&hub)),
            "namespace {hub} left behind"
        );
    }

    #[test]
    fn rejects_unknown_nodes() {
        let lab = Lab {
            prefix: "x-".into(),
            routers: 2,
            lans: 1,
        };
        assert!(matches!(
            lab.check_node(Node::Router(3)),
            Err(LabError::NoSuchNode(_))
        ));
        assert!(matches!(
            lab.check_node(Node::Client(1)),
            Err(LabError::NoSuchNode(_))
        ));
        assert!(lab.check_node(Node::Router(2)).is_ok());
        std::mem::forget(lab); // nothing was built: skip the teardown commands
    }
}
