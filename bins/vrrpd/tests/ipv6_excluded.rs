//! IPv6 addresses in `virtual_ipaddress_excluded` (VRRPv2 adverts carry IPv4 only): the
//! master installs them without duplicate address detection and announces them with
//! unsolicited neighbour advertisements; they move with mastership and leave at shutdown.
//!
//! Needs root and tcpdump (skips without root, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};

const LONG: Duration = Duration::from_secs(15);
const V6: &str = "2001:db8:77::1";

/// Whether router `k` has the test's IPv6 address on eth0.
fn holds_v6(b: &Bench, k: u8) -> bool {
    b.lab
        .exec(
            Node::Router(k),
            "ip",
            &["-6", "-o", "addr", "show", "dev", "eth0"],
        )
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(&format!("{V6}/64")))
        .unwrap_or(false)
}

/// Neighbour advertisements for the test's address in a capture, from `tcpdump -r`.
fn advertisements(pcap: &std::path::Path) -> usize {
    let out = std::process::Command::new("tcpdump")
        .arg("-r")
        .arg(pcap)
        .args(["-n", "icmp6 and ip6[40] == 136"])
        .output()
        .expect("tcpdump -r");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!("tgt is {V6}")))
        .count()
}

#[test]
fn excluded_ipv6_addresses_follow_mastership_and_are_announced() {
    if !root_or_skip("excluded_ipv6_addresses_follow_mastership_and_are_announced") {
        return;
    }
    let b = Bench::new("v6x-", 2, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 95);
    let extra = format!(
        "    garp_master_repeat 2\n    garp_master_delay 0\n    virtual_ipaddress_excluded {{\n        {V6}/64\n    }}\n"
    );
    let conf = |prio| {
        instance(
            "VI_1",
            "eth0",
            95,
            prio,
            &["10.99.0.95/24"],
            AuthCfg::None,
            &extra,
        )
    };
    b.enable_ipv6(1);
    b.enable_ipv6(2);
    let pcap = b.dir.join("lan0.pcap");
    let mut capture = b.lab.capture(0, &pcap).expect("start tcpdump");
    std::thread::sleep(Duration::from_millis(300));
    let p1 = b.vrrpd(1, &b.write("r1.conf", &conf(150)));
    let _p2 = b.vrrpd(2, &b.write("r2.conf", &conf(100)));
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(Lab::wait_until(LONG, || holds_v6(&b, 1)), "{}", b.logs());
    assert!(!holds_v6(&b, 2), "the backup does not hold it");

    p1.signal("TERM").expect("SIGTERM");
    assert_eq!(b.wait_holders(vip, &[2], LONG), [2], "{}", b.logs());
    assert!(Lab::wait_until(LONG, || holds_v6(&b, 2)), "{}", b.logs());
    assert!(
        Lab::wait_until(LONG, || !holds_v6(&b, 1)),
        "released at shutdown"
    );
    std::thread::sleep(Duration::from_millis(500));
    capture.signal("INT").expect("stop tcpdump");
    let _ = capture.wait_timeout(Duration::from_secs(5));
    // Two per mastership (garp_master_repeat 2): router 1's, then router 2's.
    assert_eq!(advertisements(&pcap), 4, "{}", b.logs());
}
