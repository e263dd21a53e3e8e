//! Two routers in network namespaces, ssyncpd with fixed roles: 2,000 conntrack entries
//! injected on the master reach the backup's kernel table with the same tuples, status,
//! mark and source NAT (reply tuple); deleting them on the master deletes them on the backup. Run once without and once
//! with the HMAC trailer. A mismatched secret on the backup must leave its table empty.

use std::path::PathBuf;
use std::time::Duration;

use nslab::{Lab, Node, Proc};

const SSYNCPD: &str = env!("CARGO_BIN_EXE_ssyncpd");
const CTGEN: &str = env!("CARGO_BIN_EXE_ssyncp-ctgen");

struct Setup {
    lab: Lab,
    dir: PathBuf,
}

impl Setup {
    fn new(prefix: &str) -> Setup {
        let lab = Lab::new(prefix, 2, 1).expect("lab");
        let dir = std::env::temp_dir().join(format!("ssyncpd-{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        Setup { lab, dir }
    }

    fn daemon(&self, k: u8, role: &str, auth: &str) -> Proc {
        let conf = self.dir.join(format!("r{k}.conf"));
        std::fs::write(
            &conf,
            format!("ssyncp {{\n interface eth0\n sync_id 10\n role {role}\n {auth}\n}}\n"),
        )
        .expect("config");
        let log = self.dir.join(format!("r{k}.log"));
        let conf = conf.display().to_string();
        self.lab
            .spawn(
                Node::Router(k),
                SSYNCPD,
                &["-f", &conf, "-l", "debug"],
                Some(&log),
            )
            .expect("spawn ssyncpd")
    }

    fn ctgen(&self, k: u8, args: &[&str]) -> Result<String, String> {
        self.lab
            .exec(Node::Router(k), CTGEN, args)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .map_err(|e| e.to_string())
    }

    fn count(&self, k: u8) -> usize {
        self.ctgen(k, &["count"])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(usize::MAX)
    }

    fn logs(&self) -> String {
        (1..=2)
            .map(|k| {
                std::fs::read_to_string(self.dir.join(format!("r{k}.log"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn sync_and_delete(prefix: &str, auth: &str) {
    let s = Setup::new(prefix);
    // Load conntrack and NAT in both namespaces before the daemons start (a NAT table
    // makes the kernel load nf_nat, which re-creating NATed entries needs).
    for k in 1..=2 {
        s.lab
            .exec(Node::Router(k), "nft", &["add", "table", "ip", "nat"])
            .expect("nft nat table");
        s.lab
            .exec(
                Node::Router(k),
                "nft",
                &["add chain ip nat post { type nat hook postrouting priority 100 ; }"],
            )
            .expect("nft nat chain");
        s.ctgen(k, &["count"]).expect("ctgen count");
    }
    let _backup = s.daemon(2, "backup", auth);
    let _master = s.daemon(1, "master", auth);
    std::thread::sleep(Duration::from_millis(300));
    let out = s.ctgen(1, &["inject", "2000", "--nat"]).expect("inject");
    assert!(out.contains("(0 refused)"), "{out}");
    let waited = s.ctgen(2, &["wait", "2000", "15000"]);
    assert!(
        waited.is_ok(),
        "backup incomplete: {waited:?}\n{}",
        s.logs()
    );
    assert_eq!(s.count(2), 2000);
    let master = s.ctgen(1, &["digest"]).expect("digest");
    let backup = s.ctgen(2, &["digest"]).expect("digest");
    assert_eq!(master.lines().count(), 2000);
    // Every tenth entry is source-NATed: the replica must carry the NAT binding too.
    assert_eq!(master.matches("10.202.0.1").count(), 200, "{master}");
    assert_eq!(master, backup, "tables differ\n{}", s.logs());
    // Deleting on the master deletes on the backup.
    s.lab
        .exec(
            Node::Router(1),
            "conntrack",
            &["-D", "-p", "udp", "--dport", "53"],
        )
        .expect("conntrack -D");
    let emptied = Lab::wait_until(Duration::from_secs(10), || s.count(2) == 0);
    assert!(
        emptied,
        "backup still holds {} entries\n{}",
        s.count(2),
        s.logs()
    );
}

#[test]
fn entries_reach_the_backup_kernel_and_deletes_follow() {
    if !nslab::root_or_skip("entries_reach_the_backup_kernel_and_deletes_follow") {
        return;
    }
    sync_and_delete("sy1-", "");
}

#[test]
fn authenticated_sync_and_wrong_key_rejected() {
    if !nslab::root_or_skip("authenticated_sync_and_wrong_key_rejected") {
        return;
    }
    sync_and_delete(
        "sy2-",
        "auth_key_id 1\n auth_secret \"correct horse battery\"",
    );

    let s = Setup::new("sy3-");
    for k in 1..=2 {
        s.ctgen(k, &["count"]).expect("ctgen count");
    }
    let _backup = s.daemon(
        2,
        "backup",
        "auth_key_id 1\n auth_secret \"another secret!\"",
    );
    let _master = s.daemon(
        1,
        "master",
        "auth_key_id 1\n auth_secret \"correct horse battery\"",
    );
    std::thread::sleep(Duration::from_millis(300));
    s.ctgen(1, &["inject", "200"]).expect("inject");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(s.count(1), 200);
    assert_eq!(s.count(2), 0, "forged messages were applied\n{}", s.logs());
}

/// Entries that raise no events (created while nothing listened, so without the kernel's
/// event extension; here forced with `nf_conntrack_events = 0` on the master) still reach
/// the backup: the master reconciles against a dump of its table once per refresh period.
#[test]
fn periodic_reconcile_syncs_entries_that_raise_no_events() {
    if !nslab::root_or_skip("periodic_reconcile_syncs_entries_that_raise_no_events") {
        return;
    }
    let s = Setup::new("sy4-");
    for k in 1..=2 {
        s.ctgen(k, &["count"]).expect("ctgen count");
    }
    s.lab
        .exec(
            Node::Router(1),
            "sysctl",
            &["-qw", "net.netfilter.nf_conntrack_events=0"],
        )
        .expect("sysctl");
    let _backup = s.daemon(2, "backup", "refresh_period 2");
    let _master = s.daemon(1, "master", "refresh_period 2");
    std::thread::sleep(Duration::from_millis(300));
    let out = s.ctgen(1, &["inject", "300"]).expect("inject");
    assert!(out.contains("(0 refused)"), "{out}");
    let waited = s.ctgen(2, &["wait", "300", "10000"]);
    assert!(
        waited.is_ok(),
        "entries without events never reached the backup: {waited:?}\n{}",
        s.logs()
    );
    assert_eq!(
        s.ctgen(1, &["digest"]).expect("digest"),
        s.ctgen(2, &["digest"]).expect("digest"),
        "tables differ\n{}",
        s.logs()
    );
}
