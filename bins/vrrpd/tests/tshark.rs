//! tshark decodes vrrpd's adverts (PASS and AH, priority 0 included) without malformed
//! packets, bad checksums or expert warnings.
//!
//! Needs root, tcpdump (nslab's capture) and tshark.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::root_or_skip;

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tshark_decodes_pass_and_ah_adverts_cleanly() {
    if !root_or_skip("tshark_decodes_pass_and_ah_adverts_cleanly") {
        return;
    }
    let b = Bench::new("vd9-", 1, 1);
    let conf = instance(
        "VI_PASS",
        "eth0",
        52,
        150,
        &["10.99.0.201/24", "10.99.0.211"],
        AuthCfg::Pass("secret12"),
        "",
    ) + &instance(
        "VI_AH",
        "eth0",
        53,
        150,
        &["10.99.0.202/24"],
        AuthCfg::Ah("secret12"),
        "",
    );
    let pcap = b.dir.join("lan0.pcap");
    let mut capture = b.lab.capture(0, &pcap).expect("start tcpdump");
    let mut r1 = b.vrrpd(1, &b.write("r1.conf", &conf));
    let long = Duration::from_secs(15);
    assert_eq!(
        b.wait_holders(Ipv4Addr::new(10, 99, 0, 202), &[1], long),
        [1],
        "{}",
        b.logs()
    );
    std::thread::sleep(Duration::from_millis(2200));
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(5)), Some(Some(0)));
    std::thread::sleep(Duration::from_millis(300));
    capture.signal("INT").unwrap();
    let _ = capture.wait_timeout(Duration::from_secs(5));
    let file = pcap.display().to_string();

    // Per-advert fields: VRID, priority, auth type, VRRP checksum status, IP checksum
    // status, AH SPI.
    let fields = tshark(&[
        "-n",
        "-r",
        &file,
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "vrrp",
        "-T",
        "fields",
        "-E",
        "separator=,",
        "-e",
        "vrrp.virt_rtr_id",
        "-e",
        "vrrp.prio",
        "-e",
        "vrrp.auth_type",
        "-e",
        "vrrp.checksum.status",
        "-e",
        "ip.checksum.status",
        "-e",
        "ah.spi",
        "-e",
        "ip.ttl",
        "-e",
        "ip.dsfield",
    ]);
    println!("{fields}");
    let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split(',').collect()).collect();
    let pass: Vec<_> = rows.iter().filter(|r| r[0] == "52").collect();
    let ah: Vec<_> = rows.iter().filter(|r| r[0] == "53").collect();
    assert!(
        pass.len() >= 3 && ah.len() >= 3,
        "adverts captured: {fields}"
    );
    for r in &rows {
        assert_eq!(r[3], "1", "VRRP checksum status good: {r:?}");
        assert_eq!(r[4], "1", "IP checksum status good: {r:?}");
        assert_eq!(r[6], "255", "TTL: {r:?}");
        assert_eq!(r[7], "0xc0", "TOS: {r:?}");
    }
    assert!(pass.iter().all(|r| r[2] == "1"), "PASS auth type");
    assert!(
        ah.iter().all(|r| r[2] == "2" && r[5] == "0x0a63000b"),
        "AH: type 2, SPI = 10.99.0.11"
    );
    assert!(
        pass.iter().any(|r| r[1] == "0") && ah.iter().any(|r| r[1] == "0"),
        "priority-0 adverts at shutdown"
    );

    // Full decode: no malformed packet, no incorrect checksum, no expert warning/error.
    let verbose = tshark(&[
        "-n",
        "-r",
        &file,
        "-o",
        "ip.check_checksum:TRUE",
        "-V",
        "-Y",
        "vrrp or arp",
    ]);
    assert!(verbose.contains("Virtual Router Redundancy Protocol"));
    assert!(verbose.contains("Authentication Header"));
    assert!(
        verbose.contains("Authentication String: secret12"),
        "PASS string decoded"
    );
    for bad in [
        "Malformed",
        "incorrect",
        "Bad",
        "Expert Info (Warning",
        "Expert Info (Error",
    ] {
        assert!(!verbose.contains(bad), "tshark reports {bad:?}:\n{verbose}");
    }
    let experts = tshark(&["-n", "-r", &file, "-q", "-z", "expert,warn"]);
    assert!(
        !experts.contains("Malformed") && !experts.contains("Warning"),
        "{experts}"
    );
}
