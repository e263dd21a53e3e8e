//! Interop with FRRouting's vrrpd (Debian package `frr`, VRRPv2, no authentication) on
//! one namespaced LAN: election and failover in both directions.
//!
//! r1 runs FRR (zebra + vrrpd, private config/pid/socket directory, no TCP vty), r2 runs
//! our vrrpd. FRR does not add the VIP itself: as its documentation describes, the VIP lives
//! on a macvlan `vrrp4-2-51` (MAC 00:00:5e:00:01:33) that FRR keeps in `protodown` while
//! BACKUP, so "FRR holds the VIP" means that macvlan is not protodown.
//!
//! Skips with a printed reason when FRR is not installed and `CI` is unset; under CI a
//! missing FRR is a failure. Needs root.

mod common;
mod support_chaos;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance, secs};
use nslab::{Lab, Node, Proc, root_or_skip};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const FRR_DIR: &str = "/usr/lib/frr";
const MACVLAN: &str = "vrrp4-2-51";
const LONG: Duration = Duration::from_secs(15);

/// FRR's zebra + vrrpd inside router 1, with a private directory for everything.
struct Frr {
    dir: PathBuf,
    zebra: Option<Proc>,
    vrrpd: Option<Proc>,
}

impl Frr {
    fn new(b: &Bench) -> Frr {
        let dir = b.dir.join("frr");
        std::fs::create_dir_all(&dir).expect("frr dir");
        // FRR drops privileges to user frr: it must own its directory.
        let status = std::process::Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(status.success(), "chown frr:frr {}", dir.display());
        // Parent directories must be traversable by the frr user.
        for p in [b.dir.as_path(), dir.as_path()] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        Frr {
            dir,
            zebra: None,
            vrrpd: None,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn daemon(&self, b: &Bench, name: &str, conf: &str) -> Proc {
        let conf_path = self.dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).expect("frr conf");
        let log = self.dir.join(format!("{name}.log"));
        let program = format!("{FRR_DIR}/{name}");
        let (pid, sock, vty, conf_text) = (
            self.path(&format!("{name}.pid")),
            self.path("zserv.api"),
            self.dir.display().to_string(),
            conf_path.display().to_string(),
        );
        b.lab
            .spawn(
                Node::Router(1),
                &program,
                &[
                    "-i",
                    &pid,
                    "-z",
                    &sock,
                    "--vty_socket",
                    &vty,
                    "-P",
                    "0",
                    "-f",
                    &conf_text,
                    "--log",
                    "stdout",
                    "--log-level",
                    "debug",
                ],
                Some(&log),
            )
            .expect("spawn an FRR daemon")
    }

    fn start_zebra(&mut self, b: &Bench) {
        self.zebra = Some(self.daemon(b, "zebra", "hostname r1-zebra\n"));
        let sock = self.dir.join("zserv.api");
        assert!(
            Lab::wait_until(Duration::from_secs(10), || sock.exists()),
            "zebra did not create its socket\n{}",
            self.logs()
        );
    }

    fn start_vrrpd(&mut self, b: &Bench, priority: u8) {
        let conf = format!(
            "hostname r1-vrrpd\ninterface eth0\n vrrp 51 version 2\n vrrp 51 priority {priority}\n \
             vrrp 51 advertisement-interval 1000\n vrrp 51 ip {VIP}\n"
        );
        self.vrrpd = Some(self.daemon(b, "vrrpd", &conf));
    }

    /// Stops FRR's vrrpd with SIGTERM and waits for it.
    fn stop_vrrpd(&mut self) {
        if let Some(mut p) = self.vrrpd.take() {
            p.signal("TERM").expect("TERM frr vrrpd");
            p.wait_timeout(Duration::from_secs(5));
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["zebra.log", "vrrpd.log"] {
            let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let tail: Vec<&str> = text
                .lines()
                .filter(|l| !l.contains("Refusing to start"))
                .rev()
                .take(40)
                .collect();
            out.push_str(&format!("==== FRR {name}\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

/// True when FRR's macvlan on r1 is out of protodown, i.e. FRR is MASTER.
fn frr_active(b: &Bench) -> bool {
    b.lab
        .exec(Node::Router(1), "ip", &["-d", "link", "show", MACVLAN])
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            text.contains("UP") && !text.contains("protodown on")
        })
        .unwrap_or(false)
}

/// Who serves the VIP: (FRR on r1 active, our vrrpd on r2 holds it).
fn serving(b: &Bench) -> (bool, bool) {
    let ours = b.lab.holders(VIP).unwrap_or_default().contains(&2);
    (frr_active(b), ours)
}

fn wait_serving(b: &Bench, want: (bool, bool)) -> (bool, bool) {
    let mut last = (false, false);
    Lab::wait_until(LONG, || {
        last = serving(b);
        last == want
    });
    last
}

fn frr_installed() -> bool {
    Path::new(FRR_DIR).join("vrrpd").exists() && Path::new(FRR_DIR).join("zebra").exists()
}

#[test]
fn frr_vrrpd_election_and_failover_both_ways() {
    if !root_or_skip("frr_vrrpd_election_and_failover_both_ways") {
        return;
    }
    if !frr_installed() {
        assert!(
            !support_chaos::under_ci(),
            "FRR is not installed ({FRR_DIR}/vrrpd, {FRR_DIR}/zebra) and CI must not skip \
             this test: apt-get install -y frr"
        );
        eprintln!(
            "SKIP frr_vrrpd_election_and_failover_both_ways: FRR is not installed (apt-get install -y frr)"
        );
        return;
    }
    let b = Bench::new("ch4-", 2, 1);
    // The macvlan FRR expects, carrying the VIP; FRR toggles its protodown flag.
    for args in [
        vec![
            "link", "add", MACVLAN, "link", "eth0", "type", "macvlan", "mode", "bridge",
        ],
        vec!["link", "set", MACVLAN, "address", "00:00:5e:00:01:33"],
        vec!["addr", "add", "10.99.0.200/32", "dev", MACVLAN],
        vec!["link", "set", MACVLAN, "up"],
    ] {
        b.lab
            .exec(Node::Router(1), "ip", &args)
            .expect("macvlan for FRR");
    }
    let mut frr = Frr::new(&b);
    frr.start_zebra(&b);
    let dump = |frr: &Frr| format!("{}{}", frr.logs(), b.logs());

    // 1. Election: FRR priority 150 beats vrrpd priority 100.
    frr.start_vrrpd(&b, 150);
    let conf100 = b.write(
        "r2-100.conf",
        &instance(
            "VI_1",
            "eth0",
            51,
            100,
            &["10.99.0.200/24"],
            AuthCfg::None,
            "",
        ),
    );
    let mut ours = b.vrrpd(2, &conf100);
    let t = Instant::now();
    assert_eq!(
        wait_serving(&b, (true, false)),
        (true, false),
        "FRR elected\n{}",
        dump(&frr)
    );
    assert!(b.wait_socket(2));
    assert!(
        Lab::wait_until(LONG, || b.state(2, "VI_1").as_deref() == Some("BACKUP")),
        "vrrpd BACKUP under FRR\n{}",
        dump(&frr)
    );
    // Stable: vrrpd keeps accepting FRR's adverts (it would take over after 3.6 s otherwise).
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        serving(&b),
        (true, false),
        "stable under FRR\n{}",
        dump(&frr)
    );
    let master = b
        .status(2)
        .and_then(|s| s["instances"][0]["master"].as_str().map(str::to_owned));
    assert_eq!(
        master.as_deref(),
        Some("10.99.0.11"),
        "vrrpd sees FRR as master"
    );
    println!("FRR master, vrrpd backup ({:.1} s)", secs(t));

    // 2. FRR stops: vrrpd takes over.
    frr.stop_vrrpd();
    let t = Instant::now();
    assert_eq!(
        wait_serving(&b, (false, true)),
        (false, true),
        "vrrpd takes over\n{}",
        dump(&frr)
    );
    println!("FRR stopped: vrrpd holds the VIP after {:.2} s", secs(t));

    // 3. FRR returns with the higher priority: it preempts and vrrpd yields.
    frr.start_vrrpd(&b, 150);
    let t = Instant::now();
    assert_eq!(
        wait_serving(&b, (true, false)),
        (true, false),
        "FRR preempts\n{}",
        dump(&frr)
    );
    println!("FRR preempted vrrpd after {:.2} s", secs(t));

    // 4. vrrpd restarts with priority 200: it preempts FRR, and FRR yields.
    ours.signal("TERM").unwrap();
    assert_eq!(ours.wait_timeout(Duration::from_secs(5)), Some(Some(0)));
    let conf200 = b.write(
        "r2-200.conf",
        &instance(
            "VI_1",
            "eth0",
            51,
            200,
            &["10.99.0.200/24"],
            AuthCfg::None,
            "",
        ),
    );
    let mut ours = b.vrrpd(2, &conf200);
    let t = Instant::now();
    assert_eq!(
        wait_serving(&b, (false, true)),
        (false, true),
        "vrrpd preempts FRR\n{}",
        dump(&frr)
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        serving(&b),
        (false, true),
        "stable under vrrpd\n{}",
        dump(&frr)
    );
    println!("vrrpd preempted FRR after {:.2} s", secs(t));

    // 5. vrrpd stops gracefully (priority 0): FRR takes over quickly.
    ours.signal("TERM").unwrap();
    let t = Instant::now();
    assert_eq!(
        wait_serving(&b, (true, false)),
        (true, false),
        "FRR takes over\n{}",
        dump(&frr)
    );
    println!("vrrpd SIGTERM: FRR master after {:.2} s", secs(t));
    assert_eq!(ours.wait_timeout(Duration::from_secs(5)), Some(Some(0)));

    // Neither side complained about the other's packets.
    let ours_log = b.log("r2.log");
    assert!(
        !ours_log.contains("dropped packet from 10.99.0.11"),
        "vrrpd dropped FRR's adverts\n{}",
        dump(&frr)
    );
    frr.stop_vrrpd();
}
