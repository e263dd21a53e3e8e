//! End to end: a client (c0, LAN0) holds a long-lived TCP connection to a server (c1, LAN1)
//! through two routers running vrrpd (one sync group with a VIP on each LAN, used as the
//! hosts' gateways) and a stateful nftables firewall (forward policy drop; only
//! established/related flows, and new connections from the client side that start with a
//! SYN). The master's vrrpd and ssyncpd are killed with SIGKILL and its LAN links pulled:
//!
//! * with ssyncpd on both routers (syncing over LAN2), the connection's conntrack entry is
//!   already in the backup's kernel, so the connection keeps working;
//! * without ssyncpd, the new master drops the connection's packets and it stalls.
//!
//! `nf_conntrack_tcp_be_liberal=1` on the routers: ctnetlink cannot carry the TCP window
//! state, so a copied entry would otherwise see in-flight segments as out of window.
//! `nf_conntrack_tcp_loose=0`: a router must not pick up a mid-stream flow by itself
//! (otherwise the connection would survive without any sync and the test could not fail).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use nslab::{Lab, Node, Proc};

const SSYNCPD: &str = env!("CARGO_BIN_EXE_ssyncpd");
const ECHO: &str = env!("CARGO_BIN_EXE_ssyncp-echo");

const VIP0: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
const VIP1: Ipv4Addr = Ipv4Addr::new(10, 99, 1, 1);

const FIREWALL: &str = "table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname \"eth0\" tcp flags & (syn | ack) == syn ct state new accept
  }
}
";

/// vrrpd, built next to ssyncpd (`cargo test --workspace` builds every binary first;
/// with `cargo test -p ssyncpd`, run `cargo build -p vrrpd` before).
fn vrrpd() -> String {
    let path = std::path::Path::new(SSYNCPD).with_file_name("vrrpd");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p vrrpd` first",
        path.display()
    );
    path.display().to_string()
}

struct Setup {
    lab: Lab,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Setup {
    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["r1.vrrpd", "r2.vrrpd", "r1.ssyncpd", "r2.ssyncpd", "client"] {
            let text =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out += &format!("---- {name}\n");
            for l in tail.into_iter().rev() {
                out += l;
                out.push('\n');
            }
        }
        out
    }
}

fn vrrpd_conf(prio: u8) -> String {
    let instance = |name: &str, iface: &str, vrid: u8, vip: Ipv4Addr| {
        format!(
            "vrrp_instance {name} {{\n state BACKUP\n interface {iface}\n virtual_router_id {vrid}\n priority {prio}\n advert_int 1\n virtual_ipaddress {{\n  {vip}/24\n }}\n}}\n"
        )
    };
    format!(
        "vrrp_sync_group G1 {{\n group {{\n  VI_0\n  VI_1\n }}\n}}\n{}{}",
        instance("VI_0", "eth0", 50, VIP0),
        instance("VI_1", "eth1", 51, VIP1)
    )
}

/// Runs the scenario; returns the client's exit code and its summary line.
fn scenario(prefix: &str, with_sync: bool) -> (Option<i32>, String, Setup) {
    let lab = Lab::new(prefix, 2, 3).expect("lab");
    let dir = std::env::temp_dir().join(format!("ssyncpd-{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let s = Setup { lab, dir };
    let fw = s.dir.join("fw.nft");
    std::fs::write(&fw, FIREWALL).expect("nft file");
    for k in 1..=2u8 {
        let r = Node::Router(k);
        s.lab
            .exec(r, "nft", &["-f", &fw.display().to_string()])
            .expect("nft");
        s.lab
            .exec(
                r,
                "sysctl",
                &[
                    "-qw",
                    "net.ipv4.ip_forward=1",
                    "net.netfilter.nf_conntrack_tcp_be_liberal=1",
                    "net.netfilter.nf_conntrack_tcp_loose=0",
                ],
            )
            .expect("sysctl");
    }
    s.lab
        .exec(
            Node::Client(0),
            "ip",
            &["route", "add", "default", "via", &VIP0.to_string()],
        )
        .expect("route c0");
    s.lab
        .exec(
            Node::Client(1),
            "ip",
            &["route", "add", "default", "via", &VIP1.to_string()],
        )
        .expect("route c1");

    let mut procs: Vec<(u8, Proc)> = Vec::new();
    for (k, prio) in [(1u8, 150u8), (2, 100)] {
        let conf = s.dir.join(format!("r{k}.conf"));
        std::fs::write(&conf, vrrpd_conf(prio)).expect("conf");
        let sync = s.dir.join(format!("r{k}.sync"));
        let args = [
            "-f",
            &conf.display().to_string(),
            "-l",
            "debug",
            "--control-socket",
            "none",
            "--sync-socket",
            &sync.display().to_string(),
        ]
        .map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = s.dir.join(format!("r{k}.vrrpd.log"));
        procs.push((
            k,
            s.lab
                .spawn(Node::Router(k), &vrrpd(), &args, Some(&log))
                .expect("vrrpd"),
        ));
        if with_sync {
            let sconf = s.dir.join(format!("r{k}.ssyncpd.conf"));
            std::fs::write(
                &sconf,
                format!(
                    "ssyncp {{\n interface eth2\n sync_id 10\n follow_group G1\n vrrpd_socket {}\n auth_key_id 1\n auth_secret \"failover test secret\"\n}}\n",
                    sync.display()
                ),
            )
            .expect("ssyncpd conf");
            let log = s.dir.join(format!("r{k}.ssyncpd.log"));
            let sconf = sconf.display().to_string();
            procs.push((
                k,
                s.lab
                    .spawn(
                        Node::Router(k),
                        SSYNCPD,
                        &["-f", &sconf, "-l", "debug"],
                        Some(&log),
                    )
                    .expect("ssyncpd"),
            ));
        }
    }
    let elected = Lab::wait_until(Duration::from_secs(15), || {
        s.lab.holders(VIP0).unwrap_or_default() == [1]
            && s.lab.holders(VIP1).unwrap_or_default() == [1]
    });
    assert!(elected, "r1 did not become master\n{}", s.logs());

    let _server = s
        .lab
        .spawn(Node::Client(1), ECHO, &["server", "10.99.1.100:7000"], None)
        .expect("server");
    std::thread::sleep(Duration::from_millis(200));
    let client_log = s.dir.join("client.log");
    let mut client = s
        .lab
        .spawn(
            Node::Client(0),
            ECHO,
            &["client", "10.99.1.100:7000", "14000", "3000"],
            Some(&client_log),
        )
        .expect("client");
    let ready = Lab::wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&client_log).is_ok_and(|t| t.contains("READY"))
    });
    assert!(ready, "the connection never worked\n{}", s.logs());
    std::thread::sleep(Duration::from_secs(1));
    if with_sync {
        let listed = s
            .lab
            .exec(
                Node::Router(2),
                "conntrack",
                &["-L", "-p", "tcp", "--dport", "7000"],
            )
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert!(
            listed.contains("ESTABLISHED"),
            "the backup has no copy of the flow: {listed:?}\n{}",
            s.logs()
        );
    }

    // The master dies: both daemons SIGKILLed (VIPs stay behind, as after a crash).
    for (k, p) in &procs {
        if *k == 1 {
            p.signal("KILL").expect("kill");
        }
    }
    let took_over = Lab::wait_until(Duration::from_secs(10), || {
        s.lab.holders(VIP0).unwrap_or_default().contains(&2)
            && s.lab.holders(VIP1).unwrap_or_default().contains(&2)
    });
    assert!(took_over, "r2 did not take over\n{}", s.logs());
    // Then the dead box drops off the LANs: traffic can only go through r2 now.
    std::thread::sleep(Duration::from_millis(300));
    for lan in 0..3 {
        s.lab.link_down(1, lan).expect("link down");
    }
    let code = client.wait_timeout(Duration::from_secs(20)).flatten();
    let text = std::fs::read_to_string(&client_log).unwrap_or_default();
    let summary = text
        .lines()
        .find(|l| l.starts_with("sent "))
        .unwrap_or("")
        .to_owned();
    (code, summary, s)
}

#[test]
fn tcp_connection_survives_master_death_with_ssyncpd() {
    if !nslab::root_or_skip("tcp_connection_survives_master_death_with_ssyncpd") {
        return;
    }
    let (code, summary, s) = scenario("sy4-", true);
    assert_eq!(code, Some(0), "connection broke: {summary}\n{}", s.logs());
    eprintln!("with ssyncpd: {summary}");
}

#[test]
fn tcp_connection_breaks_without_ssyncpd() {
    if !nslab::root_or_skip("tcp_connection_breaks_without_ssyncpd") {
        return;
    }
    let (code, summary, s) = scenario("sy5-", false);
    assert_eq!(
        code,
        Some(1),
        "the connection should have stalled without state sync: {summary}\n{}",
        s.logs()
    );
    eprintln!("without ssyncpd: {summary}");
}
