//! Shared helpers for the namespace tests: config files in a temp dir, vrrpd and
//! keepalived processes inside nslab routers, VIP-holder polling.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nslab::{Lab, Node, Proc};

/// Path of the vrrpd binary under test.
pub const VRRPD: &str = env!("CARGO_BIN_EXE_vrrpd");

/// A lab plus a scratch directory for configs and logs (removed on drop unless the
/// test failed, so logs can be read).
pub struct Bench {
    pub lab: Lab,
    pub dir: PathBuf,
}

impl Bench {
    pub fn new(prefix: &str, routers: u8, lans: u8) -> Bench {
        let lab = Lab::new(prefix, routers, lans).expect("build the lab");
        let dir = std::env::temp_dir().join(format!("vrrpd-test-{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Bench { lab, dir }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// Starts vrrpd on router `k` with `conf`, logging to `<dir>/r<k>.log`, its control
    /// socket at [`Bench::socket`].
    pub fn vrrpd(&self, k: u8, conf: &Path) -> Proc {
        self.vrrpd_with(k, conf, &[])
    }

    /// The control socket of router `k`'s vrrpd.
    pub fn socket(&self, k: u8) -> PathBuf {
        self.dir.join(format!("r{k}.sock"))
    }

    /// Like [`Bench::vrrpd`] with extra arguments.
    pub fn vrrpd_with(&self, k: u8, conf: &Path, extra: &[&str]) -> Proc {
        let log = self.dir.join(format!("r{k}.log"));
        let conf = conf.display().to_string();
        let sock = self.socket(k).display().to_string();
        let mut args = vec!["-f", &conf, "-l", "debug", "--control-socket", &sock];
        args.extend_from_slice(extra);
        self.lab
            .spawn(Node::Router(k), VRRPD, &args, Some(&log))
            .expect("spawn vrrpd")
    }

    /// Turns IPv6 on for router `k`'s eth0 (the lab turns it off on its interfaces).
    pub fn enable_ipv6(&self, k: u8) {
        let on = self.lab.exec(
            nslab::Node::Router(k),
            "sysctl",
            &["-qw", "net.ipv6.conf.eth0.disable_ipv6=0"],
        );
        assert!(on.is_ok_and(|o| o.status.success()), "enable IPv6 on r{k}");
    }

    /// `vrrpd status --json` against router `k`'s daemon, parsed.
    pub fn status(&self, k: u8) -> Option<serde_json::Value> {
        let out = std::process::Command::new(VRRPD)
            .args(["status", "--json", "--control-socket"])
            .arg(self.socket(k))
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// State of instance `name` on router `k`, from the status socket.
    pub fn state(&self, k: u8, name: &str) -> Option<String> {
        let s = self.status(k)?;
        s["instances"]
            .as_array()?
            .iter()
            .find(|i| i["name"] == name)?["state"]
            .as_str()
            .map(str::to_owned)
    }

    /// Waits until the status socket of router `k` answers.
    pub fn wait_socket(&self, k: u8) -> bool {
        Lab::wait_until(Duration::from_secs(10), || self.status(k).is_some())
    }

    /// Starts Debian's keepalived (VRRP only, foreground, console log) on router `k`.
    pub fn keepalived(&self, k: u8, conf: &Path) -> Proc {
        let log = self.dir.join(format!("ka-r{k}.log"));
        let p = |s: &str| self.dir.join(format!("ka-r{k}.{s}")).display().to_string();
        let conf = conf.display().to_string();
        self.lab
            .spawn(
                Node::Router(k),
                "keepalived",
                &[
                    "-n",
                    "-l",
                    "-D",
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
            .expect("spawn keepalived")
    }

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// Routers holding `vip`, polled until they equal `want` or `timeout` passes.
    pub fn wait_holders(&self, vip: Ipv4Addr, want: &[u8], timeout: Duration) -> Vec<u8> {
        let mut last = Vec::new();
        Lab::wait_until(timeout, || {
            last = self.lab.holders(vip).unwrap_or_default();
            last == want
        });
        last
    }

    /// Asserts that `vip` stays on exactly `want` for `period`.
    pub fn assert_stable(&self, vip: Ipv4Addr, want: &[u8], period: Duration) {
        let end = Instant::now() + period;
        while Instant::now() < end {
            let h = self.lab.holders(vip).unwrap_or_default();
            assert_eq!(h, want, "{vip} holders changed\n{}", self.logs());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// All logs, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
            {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                out.push_str(&format!("==== {} (last lines)\n", p.display()));
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        out
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

/// Authentication block for a config.
#[derive(Clone, Copy)]
pub enum AuthCfg<'a> {
    None,
    Pass(&'a str),
    Ah(&'a str),
}

/// One vrrp_instance block.
pub fn instance(
    name: &str,
    iface: &str,
    vrid: u8,
    prio: u8,
    vips: &[&str],
    auth: AuthCfg<'_>,
    extra: &str,
) -> String {
    let auth = match auth {
        AuthCfg::None => String::new(),
        AuthCfg::Pass(p) => format!(
            "    authentication {{\n        auth_type PASS\n        auth_pass {p}\n    }}\n"
        ),
        AuthCfg::Ah(p) => {
            format!("    authentication {{\n        auth_type AH\n        auth_pass {p}\n    }}\n")
        }
    };
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n    virtual_router_id {vrid}\n    priority {prio}\n    advert_int 1\n{auth}{extra}    virtual_ipaddress {{\n        {}\n    }}\n}}\n",
        vips.join("\n        ")
    )
}

/// Wall-clock seconds since `t`, for printed figures.
pub fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}
