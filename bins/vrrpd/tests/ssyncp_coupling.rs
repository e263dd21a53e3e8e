//! The ssyncpd coupling (`--sync-socket`): a subscriber follows an instance, sees its
//! state, and on promotion the VIP waits for the subscriber's commit answer. A subscriber
//! that leaves without answering releases the VIP (availability first).
//!
//! The subscriber is this test itself, speaking the line protocol of `statesync.rs`.

use std::io::{BufRead, BufReader, Write};
use std::net::Ipv4Addr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use nslab::{Lab, Node};

const VRRPD: &str = env!("CARGO_BIN_EXE_vrrpd");
const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 77);

struct Sub {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Sub {
    fn connect(path: &Path, request: &str) -> Sub {
        let mut stream = None;
        Lab::wait_until(Duration::from_secs(10), || {
            stream = UnixStream::connect(path).ok();
            stream.is_some()
        });
        let writer = stream.expect("vrrpd sync socket");
        writer
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        let mut sub = Sub {
            reader: BufReader::new(writer.try_clone().expect("clone")),
            writer,
        };
        sub.send(request);
        sub
    }

    fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .expect("write");
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader
            .read_line(&mut l)
            .expect("read a line from vrrpd");
        l.trim_end().to_owned()
    }
}

/// Removes the scratch directory unless the test failed (its log helps then).
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh scratch directory for one test (removed unless the test failed).
fn scratch(prefix: &str) -> (std::path::PathBuf, Scratch) {
    let dir = std::env::temp_dir().join(format!("vrrpd-{prefix}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    (dir.clone(), Scratch(dir))
}

/// Writes router `k`'s config (instance VI_1 with the VIP) and returns its path.
fn write_conf(dir: &Path, k: u8, vrid: u8, priority: u8) -> String {
    let path = dir.join(format!("r{k}.conf"));
    std::fs::write(
        &path,
        format!(
            "vrrp_instance VI_1 {{\n state BACKUP\n interface eth0\n virtual_router_id {vrid}\n priority {priority}\n advert_int 1\n virtual_ipaddress {{\n  {VIP}/24\n }}\n}}\n"
        ),
    )
    .expect("conf");
    path.display().to_string()
}

fn start(prefix: &str) -> (Lab, std::path::PathBuf, nslab::Proc, Scratch) {
    let lab = Lab::new(prefix, 1, 1).expect("lab");
    let (dir, scratch) = scratch(prefix);
    let conf_s = write_conf(&dir, 1, 60, 100);
    let sock = dir.join("sync.sock");
    let sock_s = sock.display().to_string();
    let proc = lab
        .spawn(
            Node::Router(1),
            VRRPD,
            &[
                "-f",
                &conf_s,
                "--control-socket",
                "none",
                "--sync-socket",
                &sock_s,
                "--sync-commit-timeout",
                "60000",
            ],
            Some(&dir.join("r1.log")),
        )
        .expect("vrrpd");
    (lab, sock, proc, scratch)
}

#[test]
fn promotion_waits_for_the_subscribers_commit() {
    if !nslab::root_or_skip("promotion_waits_for_the_subscribers_commit") {
        return;
    }
    let (lab, sock, _vrrpd, _scratch) = start("syc1-");
    let mut sub = Sub::connect(&sock, "SUBSCRIBE INSTANCE VI_1");
    let first = sub.line();
    assert!(
        first == "STATE BACKUP" || first == "STATE INIT",
        "first line {first:?}"
    );
    // Alone on the LAN, the instance becomes master after its down interval.
    let mut line = sub.line();
    while line == "STATE BACKUP" {
        line = sub.line();
    }
    assert_eq!(line, "STATE MASTER");
    let commit = sub.line();
    let token = commit.strip_prefix("COMMIT ").expect("a commit request");
    // While the commit is unanswered, the VIP stays off.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        lab.holders(VIP).expect("holders").is_empty(),
        "VIP installed before the commit"
    );
    sub.send(&format!("COMMITTED {token} OK"));
    assert!(
        Lab::wait_until(Duration::from_secs(5), || lab
            .holders(VIP)
            .unwrap_or_default()
            == [1]),
        "VIP not installed after the commit"
    );
}

#[test]
fn a_subscriber_that_leaves_mid_commit_releases_the_vip() {
    if !nslab::root_or_skip("a_subscriber_that_leaves_mid_commit_releases_the_vip") {
        return;
    }
    let (lab, sock, _vrrpd, _scratch) = start("syc2-");
    let mut sub = Sub::connect(&sock, "SUBSCRIBE INSTANCE VI_1");
    let mut line = sub.line();
    while !line.starts_with("COMMIT ") {
        line = sub.line();
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(lab.holders(VIP).expect("holders").is_empty());
    drop(sub);
    assert!(
        Lab::wait_until(Duration::from_secs(5), || lab
            .holders(VIP)
            .unwrap_or_default()
            == [1]),
        "VIP not installed after the subscriber left"
    );
    // Nonsense is answered with an error, not a crash.
    let mut other = Sub::connect(&sock, "HELLO");
    assert!(other.line().starts_with("ERROR"));
    other.send("SUBSCRIBE GROUP NOPE");
    assert_eq!(other.line(), "STATE INIT");
}

/// A restarted router with the higher priority whose state sync reports `SYNCED NO` must
/// not preempt the live master (it would take over with an empty connection table); once
/// the subscriber reports `SYNCED YES`, it preempts as usual.
#[test]
fn not_in_sync_holds_preemption_until_synced() {
    if !nslab::root_or_skip("not_in_sync_holds_preemption_until_synced") {
        return;
    }
    let lab = Lab::new("syc3-", 2, 1).expect("lab");
    let (dir, _scratch) = scratch("syc3-");
    let (c1, c2) = (write_conf(&dir, 1, 61, 150), write_conf(&dir, 2, 61, 100));
    let _r2 = lab
        .spawn(
            Node::Router(2),
            VRRPD,
            &["-f", &c2, "--control-socket", "none"],
            Some(&dir.join("r2.log")),
        )
        .expect("vrrpd r2");
    assert!(
        Lab::wait_until(Duration::from_secs(8), || lab
            .holders(VIP)
            .unwrap_or_default()
            == [2]),
        "r2 never became master"
    );
    let sock = dir.join("sync.sock");
    let sock_s = sock.display().to_string();
    let _r1 = lab
        .spawn(
            Node::Router(1),
            VRRPD,
            &[
                "-f",
                &c1,
                "--control-socket",
                "none",
                "--sync-socket",
                &sock_s,
            ],
            Some(&dir.join("r1.log")),
        )
        .expect("vrrpd r1");
    let mut sub = Sub::connect(&sock, "SUBSCRIBE INSTANCE VI_1");
    sub.send("SYNCED NO");
    // Well past r1's Master_Down_Interval (3.41 s): held, it follows r2.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        lab.holders(VIP).expect("holders"),
        [2],
        "r1 preempted while its state sync was incomplete"
    );
    sub.send("SYNCED YES");
    let mut line = sub.line();
    while !line.starts_with("COMMIT ") {
        assert!(
            line.starts_with("STATE"),
            "unexpected line from vrrpd: {line:?}"
        );
        line = sub.line();
    }
    let token = line.trim_start_matches("COMMIT ").to_owned();
    sub.send(&format!("COMMITTED {token} OK"));
    assert!(
        Lab::wait_until(Duration::from_secs(5), || lab
            .holders(VIP)
            .unwrap_or_default()
            == [1]),
        "r1 did not preempt once in sync"
    );
}
