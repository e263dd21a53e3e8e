//! keepalived's `virtual_routes` end to end: the master holds the routes (protocol 18,
//! "keepalived"), the backup none; they move with mastership and leave at shutdown, and a
//! reload adds and removes routes on a running master.
//!
//! Needs root (skips otherwise, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};

const LONG: Duration = Duration::from_secs(15);

/// `ip route show table all proto 18` on router `k`, one normalised line per route.
fn routes(b: &Bench, k: u8) -> Vec<String> {
    let out = b
        .lab
        .exec(
            Node::Router(k),
            "ip",
            &["-4", "route", "show", "table", "all", "proto", "18"],
        )
        .expect("ip route");
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn conf(prio: u8, routes: &str) -> String {
    instance(
        "VI_1",
        "eth0",
        81,
        prio,
        &["10.99.0.81/24"],
        AuthCfg::None,
        &format!("    virtual_routes {{\n{routes}    }}\n"),
    )
}

#[test]
fn routes_follow_mastership_reloads_and_shutdown() {
    if !root_or_skip("routes_follow_mastership_reloads_and_shutdown") {
        return;
    }
    let b = Bench::new("vr1-", 2, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 81);
    let two = "        10.123.0.0/24 via 10.99.0.254 metric 7\n        blackhole 10.124.0.0/16\n";
    let expected = [
        "10.123.0.0/24 via 10.99.0.254 dev eth0 metric 7",
        "blackhole 10.124.0.0/16",
    ];
    let c1 = b.write("r1.conf", &conf(150, two));
    let c2 = b.write("r2.conf", &conf(100, two));
    let p1 = b.vrrpd(1, &c1);
    let _p2 = b.vrrpd(2, &c2);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(
        Lab::wait_until(LONG, || routes(&b, 1) == expected),
        "{:?}\n{}",
        routes(&b, 1),
        b.logs()
    );
    assert!(routes(&b, 2).is_empty(), "the backup holds none");

    // Reload on the master: one route replaced, the other kept.
    b.write(
        "r1.conf",
        &conf(
            150,
            "        blackhole 10.124.0.0/16\n        unreachable 10.125.0.0/24\n",
        ),
    );
    p1.signal("HUP").expect("SIGHUP");
    let reloaded = ["blackhole 10.124.0.0/16", "unreachable 10.125.0.0/24"];
    assert!(
        Lab::wait_until(LONG, || routes(&b, 1) == reloaded),
        "{:?}\n{}",
        routes(&b, 1),
        b.logs()
    );

    // Shutdown of the master: its routes go, the new master's come.
    p1.signal("TERM").expect("SIGTERM");
    assert_eq!(b.wait_holders(vip, &[2], LONG), [2], "{}", b.logs());
    assert!(
        Lab::wait_until(LONG, || routes(&b, 2) == expected),
        "{:?}\n{}",
        routes(&b, 2),
        b.logs()
    );
    assert!(
        Lab::wait_until(LONG, || routes(&b, 1).is_empty()),
        "{:?}",
        routes(&b, 1)
    );
}
