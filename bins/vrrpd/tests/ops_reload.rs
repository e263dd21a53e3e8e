//! SIGHUP reload: changing one instance's priority changes only that instance. The
//! unchanged instance stays MASTER with no advert gap longer than one interval (measured
//! on a capture of the LAN, decoded with pcap-lite) and never loses its VIP.
//!
//! Needs root (skips otherwise, fails under CI) and tcpdump (nslab's capture).

mod common;

use std::io::Read;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance};
use nslab::root_or_skip;
use pcap_lite::PcapReader;
use pcap_lite::link::{ipv4_payload, trim_ipv4_padding};

const VIP_A: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 61);
const VIP_B: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 62);
const R1: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 11);

/// (capture time in ns, VRID, priority) of every advert `src` sent.
fn adverts_from(pcap: &[u8], src: Ipv4Addr) -> Vec<(u64, u8, u8)> {
    let reader = PcapReader::new(pcap).expect("pcap header");
    let linktype = reader.linktype();
    let mut out = Vec::new();
    for rec in reader {
        let Ok(rec) = rec else { break };
        let Ok(ip) = ipv4_payload(linktype, rec.data) else {
            continue;
        };
        let ip = trim_ipv4_padding(ip);
        if ip.len() < 28 || ip[9] != 112 || ip[12..16] != src.octets() {
            continue;
        }
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let Some(vrrp) = ip.get(ihl..ihl + 4) else {
            continue;
        };
        out.push((rec.ts.as_nanos(), vrrp[1], vrrp[2]));
    }
    out
}

#[test]
fn reload_changes_only_the_edited_instance() {
    if !root_or_skip("reload_changes_only_the_edited_instance") {
        return;
    }
    let b = Bench::new("op5-", 2, 1);
    let conf = |prio_a: u8, prio_b: u8| {
        instance(
            "VI_A",
            "eth0",
            61,
            prio_a,
            &["10.99.0.61/24"],
            AuthCfg::None,
            "",
        ) + &instance(
            "VI_B",
            "eth0",
            62,
            prio_b,
            &["10.99.0.62/24"],
            AuthCfg::None,
            "",
        )
    };
    let c1 = b.write("r1.conf", &conf(150, 150));
    let c2 = b.write("r2.conf", &conf(100, 100));
    let pcap = b.dir.join("lan0.pcap");
    let mut capture = b.lab.capture(0, &pcap).expect("tcpdump");
    let r1 = b.vrrpd(1, &c1);
    let _r2 = b.vrrpd(2, &c2);
    let long = Duration::from_secs(15);
    assert_eq!(b.wait_holders(VIP_A, &[1], long), [1], "{}", b.logs());
    assert_eq!(b.wait_holders(VIP_B, &[1], long), [1], "{}", b.logs());
    assert!(b.wait_socket(1));
    let mut events = std::process::Command::new(common::VRRPD)
        .args(["events", "--control-socket"])
        .arg(b.socket(1))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("vrrpd events");
    std::thread::sleep(Duration::from_millis(2500));

    // Lower VI_B's priority on r1 and reload.
    std::fs::write(&c1, conf(150, 50)).unwrap();
    r1.signal("HUP").unwrap();
    let t = Instant::now();
    // VI_A's VIP never leaves r1 while VI_B moves to r2.
    let mut moved = false;
    while t.elapsed() < Duration::from_secs(6) {
        assert_eq!(
            b.lab.holders(VIP_A).unwrap(),
            [1],
            "VI_A's VIP stays on r1\n{}",
            b.logs()
        );
        moved |= b.lab.holders(VIP_B).unwrap() == [2];
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(moved, "VI_B moved to r2 (priority 100 > 50)\n{}", b.logs());
    assert_eq!(b.wait_holders(VIP_B, &[2], long), [2]);

    let s = b.status(1).unwrap();
    let inst = |name: &str| {
        s["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(inst("VI_A")["state"], "MASTER");
    assert_eq!(inst("VI_A")["base_priority"], 150);
    assert_eq!(
        inst("VI_A")["counters"]["become_master"],
        1,
        "no re-election of VI_A"
    );
    assert_eq!(inst("VI_B")["state"], "BACKUP");
    assert_eq!(inst("VI_B")["base_priority"], 50);

    let _ = events.kill();
    let _ = events.wait();
    let mut text = String::new();
    events
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let names: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|e| {
            format!(
                "{} {}->{}",
                e["name"].as_str().unwrap(),
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names, ["VI_B MASTER->BACKUP"], "only VI_B changed state");

    // The capture: r1's VI_A adverts keep their one-second rhythm across the reload.
    capture.signal("INT").unwrap();
    let _ = capture.wait_timeout(Duration::from_secs(5));
    let data = std::fs::read(&pcap).unwrap();
    let adverts = adverts_from(&data, R1);
    let a: Vec<u64> = adverts.iter().filter(|x| x.1 == 61).map(|x| x.0).collect();
    assert!(a.len() >= 8, "VI_A adverts captured: {}", a.len());
    let max_gap = a.windows(2).map(|w| w[1] - w[0]).max().unwrap();
    println!(
        "VI_A: {} adverts, largest gap {:.3} s",
        a.len(),
        max_gap as f64 / 1e9
    );
    // One interval (1 s) plus scheduling slack; a re-election would need ≥ 3 s.
    assert!(
        max_gap <= 1_150_000_000,
        "largest VI_A advert gap {max_gap} ns"
    );
    assert!(
        adverts.iter().all(|x| x.1 != 61 || x.2 == 150),
        "VI_A always at 150"
    );
    assert!(
        adverts.iter().any(|x| x.1 == 62 && x.2 == 50),
        "VI_B advertised the reloaded priority before yielding"
    );
}
