//! Daemon gaps closed by the operator work: a VIP deleted behind a master's back, an
//! instance whose interface is missing (or has no IPv4 address) at start, interfaces
//! recreated with a new ifindex, `vrrp_startup_delay`, and per-peer `min_ttl`/`max_ttl`.
//!
//! Needs root (skips otherwise, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};

const LONG: Duration = Duration::from_secs(15);

fn ip(b: &Bench, k: u8, args: &[&str]) {
    let out = b.lab.exec(Node::Router(k), "ip", args).expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The transitions `vrrpd events` printed so far (file written by the child).
fn transitions(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|e| {
            format!(
                "{} {}->{} {}",
                e["name"].as_str().unwrap_or(""),
                e["from"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn events_to_file(b: &Bench, k: u8, name: &str) -> (std::process::Child, std::path::PathBuf) {
    let path = b.dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let child = std::process::Command::new(common::VRRPD)
        .args(["events", "--control-socket"])
        .arg(b.socket(k))
        .stdout(file)
        .spawn()
        .expect("vrrpd events");
    (child, path)
}

#[test]
fn vip_deleted_by_someone_else_is_noticed_and_restored() {
    if !root_or_skip("vip_deleted_by_someone_else_is_noticed_and_restored") {
        return;
    }
    let b = Bench::new("op6-", 1, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 66);
    let c = b.write(
        "r1.conf",
        &instance(
            "VI_1",
            "eth0",
            66,
            150,
            &["10.99.0.66/24", "10.99.0.67/24"],
            AuthCfg::None,
            "",
        ),
    );
    let _r1 = b.vrrpd(1, &c);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(b.wait_socket(1));
    let (mut ev, ev_path) = events_to_file(&b, 1, "events.jsonl");
    std::thread::sleep(Duration::from_millis(300));
    ip(&b, 1, &["addr", "del", "10.99.0.66/24", "dev", "eth0"]);
    // Noticed within the one-second check: MASTER -> BACKUP (VipRemoved), then, alone on
    // the LAN, master again with both addresses back.
    let ok = Lab::wait_until(LONG, || transitions(&ev_path).len() >= 2);
    let seen = transitions(&ev_path);
    assert!(ok, "{seen:?}\n{}", b.logs());
    assert_eq!(seen[0], "VI_1 MASTER->BACKUP VipRemoved", "{seen:?}");
    assert!(seen[1].starts_with("VI_1 BACKUP->MASTER"), "{seen:?}");
    assert_eq!(
        b.wait_holders(vip, &[1], LONG),
        [1],
        "VIP restored\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(Ipv4Addr::new(10, 99, 0, 67), &[1], LONG),
        [1]
    );
    let _ = ev.kill();
    let _ = ev.wait();
}

/// Creates `dmy7` (a veth pair inside the router, both ends up, so it has carrier).
fn add_link(b: &Bench) {
    ip(
        b,
        1,
        &[
            "link", "add", "dmy7", "type", "veth", "peer", "name", "dmy7p",
        ],
    );
    ip(b, 1, &["link", "set", "dmy7p", "up"]);
    ip(b, 1, &["link", "set", "dmy7", "up"]);
}

#[test]
fn missing_interface_faults_then_recovers_including_new_ifindex() {
    if !root_or_skip("missing_interface_faults_then_recovers_including_new_ifindex") {
        return;
    }
    let b = Bench::new("op7-", 1, 1);
    let vip = Ipv4Addr::new(10, 77, 0, 100);
    let conf = instance(
        "VI_LAN",
        "eth0",
        71,
        150,
        &["10.99.0.71/24"],
        AuthCfg::None,
        "",
    ) + &instance(
        "VI_X",
        "dmy7",
        72,
        150,
        &["10.77.0.100/24"],
        AuthCfg::None,
        "",
    );
    let c = b.write("r1.conf", &conf);
    let _r1 = b.vrrpd(1, &c);
    assert!(
        b.wait_socket(1),
        "the daemon starts despite dmy7 missing\n{}",
        b.logs()
    );
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_X").as_deref() == Some("FAULT")),
        "{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(Ipv4Addr::new(10, 99, 0, 71), &[1], LONG),
        [1],
        "the other instance runs normally"
    );
    // The interface appears without an address: still FAULT.
    add_link(&b);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(b.state(1, "VI_X").as_deref(), Some("FAULT"), "{}", b.logs());
    // The address appears: the instance leaves FAULT and, alone, becomes master.
    ip(&b, 1, &["addr", "add", "10.77.0.1/24", "dev", "dmy7"]);
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_X").as_deref() == Some("MASTER")),
        "{}",
        b.logs()
    );
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1]);
    let s = b.status(1).unwrap();
    let x = s["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "VI_X")
        .cloned()
        .unwrap();
    assert_eq!(x["source"], "10.77.0.1");
    // Deleted: FAULT. Recreated (new ifindex) with its address: master again, and adverts
    // flow on the new interface (fresh sockets).
    ip(&b, 1, &["link", "del", "dmy7"]);
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_X").as_deref() == Some("FAULT")),
        "{}",
        b.logs()
    );
    add_link(&b);
    ip(&b, 1, &["addr", "add", "10.77.0.1/24", "dev", "dmy7"]);
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_X").as_deref() == Some("MASTER")),
        "{}",
        b.logs()
    );
    // Adverts really leave through the new interface: its veth peer sees them.
    let out = b
        .lab
        .exec(
            Node::Router(1),
            "timeout",
            &[
                "5",
                "tcpdump",
                "-n",
                "-c",
                "2",
                "-i",
                "dmy7p",
                "ip proto 112",
            ],
        )
        .expect("tcpdump");
    assert!(
        out.status.success(),
        "adverts on the recreated dmy7: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        b.logs()
    );
    let log = b.log("r1.log");
    let recreated = log
        .rfind("interface dmy7: ifindex Some")
        .expect("the new ifindex is noticed");
    assert!(
        !log[recreated..].contains("cannot send advert"),
        "sends on the new ifindex succeed\n{}",
        b.logs()
    );
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1]);
}

#[test]
fn startup_delay_holds_instances_back() {
    if !root_or_skip("startup_delay_holds_instances_back") {
        return;
    }
    let b = Bench::new("op8-", 1, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 88);
    let c = b.write(
        "r1.conf",
        &(String::from("global_defs {\n    vrrp_startup_delay 3\n}\n")
            + &instance(
                "VI_1",
                "eth0",
                88,
                255,
                &["10.99.0.88/24"],
                AuthCfg::None,
                "",
            )),
    );
    let started = Instant::now();
    let _r1 = b.vrrpd(1, &c);
    assert!(b.wait_socket(1), "{}", b.logs());
    // An address owner (priority 255) would be master at once; during the delay it is
    // not even started.
    while started.elapsed() < Duration::from_millis(2300) {
        assert_eq!(b.state(1, "VI_1").as_deref(), Some("INIT"), "{}", b.logs());
        assert!(b.lab.holders(vip).unwrap().is_empty());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(b.state(1, "VI_1").as_deref(), Some("MASTER"));
    assert!(b.log("r1.log").contains("vrrp_startup_delay over"));
}

#[test]
fn unicast_peer_ttl_limits_are_enforced() {
    if !root_or_skip("unicast_peer_ttl_limits_are_enforced") {
        return;
    }
    let b = Bench::new("opa-", 2, 1);
    // r2 (higher priority) sends unicast adverts with TTL 64; r1 accepts only TTL ≥ 250
    // from it, so it never hears r2 and stays master as well (counting TTL errors).
    let extra = |src: &str, peer: &str, limits: &str, ttl: &str| {
        format!(
            "    unicast_src_ip {src}\n    unicast_ttl {ttl}\n    unicast_peer {{\n        {peer} {limits}\n    }}\n"
        )
    };
    let c1 = b.write(
        "r1.conf",
        &instance(
            "VI_1",
            "eth0",
            95,
            100,
            &["10.99.0.95/24"],
            AuthCfg::None,
            &extra("10.99.0.11", "10.99.0.12", "min_ttl 250", "255"),
        ),
    );
    let c2 = b.write(
        "r2.conf",
        &instance(
            "VI_1",
            "eth0",
            95,
            150,
            &["10.99.0.95/24"],
            AuthCfg::None,
            &extra("10.99.0.12", "10.99.0.11", "max_ttl 255", "64"),
        ),
    );
    let _r1 = b.vrrpd(1, &c1);
    let _r2 = b.vrrpd(2, &c2);
    assert!(b.wait_socket(1) && b.wait_socket(2));
    let ttl_errors = || {
        b.status(1)
            .and_then(|s| s["instances"][0]["counters"]["ttl_errors"].as_u64())
    };
    assert!(
        Lab::wait_until(LONG, || ttl_errors().is_some_and(|n| n >= 3)),
        "{:?}\n{}",
        b.status(1),
        b.logs()
    );
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_1").as_deref() == Some("MASTER")),
        "r1 never hears r2\n{}",
        b.logs()
    );
    assert_eq!(b.state(2, "VI_1").as_deref(), Some("MASTER"));
    assert!(
        b.log("r1.log")
            .contains("outside the peer's min_ttl/max_ttl")
    );
    let r2_rx = b.status(2).unwrap()["instances"][0]["counters"]["adverts_received"]
        .as_u64()
        .unwrap();
    assert!(
        r2_rx >= 1,
        "r2 (no TTL limit hit) hears r1's TTL-255 adverts"
    );
}
