//! `garp_interval`: the gratuitous ARPs a new master sends on an interface leave one
//! interval apart, in the order a burst would send them.
//!
//! Needs root and tcpdump (skips without root, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::root_or_skip;

const LONG: Duration = Duration::from_secs(15);

/// ARP frames in a capture: (time in s, sender IP), from `tcpdump -r`.
fn garps(pcap: &std::path::Path) -> Vec<(f64, String)> {
    let out = std::process::Command::new("tcpdump")
        .args(["-r"])
        .arg(pcap)
        .args(["-n", "-tt", "arp"])
        .output()
        .expect("tcpdump -r");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "<time> ARP, Request who-has 10.99.0.91 tell 10.99.0.91, length 28"
            let mut it = l.split_whitespace();
            let t = it.next()?.parse().ok()?;
            let tell = l.split(" tell ").nth(1)?.split(',').next()?.to_owned();
            Some((t, tell))
        })
        .collect()
}

#[test]
fn garp_interval_spaces_the_gratuitous_arps_of_an_interface() {
    if !root_or_skip("garp_interval_spaces_the_gratuitous_arps_of_an_interface") {
        return;
    }
    let b = Bench::new("ga1-", 1, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 91);
    let conf = instance(
        "VI_1",
        "eth0",
        91,
        150,
        &["10.99.0.91/24", "10.99.0.92/24"],
        AuthCfg::None,
        "    garp_interval 0.1\n    garp_master_repeat 3\n    garp_master_delay 0\n",
    );
    let pcap = b.dir.join("lan0.pcap");
    let mut capture = b.lab.capture(0, &pcap).expect("start tcpdump");
    std::thread::sleep(Duration::from_millis(300));
    let _r1 = b.vrrpd(1, &b.write("r1.conf", &conf));
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    std::thread::sleep(Duration::from_millis(1200));
    capture.signal("INT").expect("stop tcpdump");
    let _ = capture.wait_timeout(Duration::from_secs(5));
    let frames = garps(&pcap);
    let ours: Vec<&(f64, String)> = frames
        .iter()
        .filter(|(_, ip)| ip == "10.99.0.91" || ip == "10.99.0.92")
        .collect();
    assert_eq!(ours.len(), 6, "3 rounds of 2 addresses: {frames:?}");
    let order: Vec<&str> = ours.iter().map(|(_, ip)| ip.as_str()).collect();
    assert_eq!(
        order,
        [
            "10.99.0.91",
            "10.99.0.92",
            "10.99.0.91",
            "10.99.0.92",
            "10.99.0.91",
            "10.99.0.92"
        ]
    );
    for pair in ours.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= 0.095, "frames {gap:.3} s apart: {ours:?}");
    }
}
