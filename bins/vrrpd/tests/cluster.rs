//! vrrpd clusters on namespaced LANs (nslab): election, crash and graceful failover,
//! preemption, link failure → FAULT, and a sync group spanning two LANs.
//!
//! Needs root (skips otherwise, fails under CI). Each test has its own lab prefix so they
//! run in parallel.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance, secs};
use nslab::root_or_skip;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const LONG: Duration = Duration::from_secs(15);

#[test]
fn election_crash_graceful_preempt_and_link_fault() {
    if !root_or_skip("election_crash_graceful_preempt_and_link_fault") {
        return;
    }
    let b = Bench::new("vd1-", 3, 1);
    let conf = |k: u8, prio: u8| {
        b.write(
            &format!("r{k}.conf"),
            &instance(
                "VI_1",
                "eth0",
                51,
                prio,
                &["10.99.0.200/24"],
                AuthCfg::None,
                "",
            ),
        )
    };
    let (c1, c2, c3) = (conf(1, 150), conf(2, 100), conf(3, 50));
    let r1 = b.vrrpd(1, &c1);
    let _r2 = b.vrrpd(2, &c2);
    let _r3 = b.vrrpd(3, &c3);

    // Election: the highest priority holds the VIP, and only it.
    let t = Instant::now();
    let h = b.wait_holders(VIP, &[1], LONG);
    assert_eq!(h, [1], "initial election\n{}", b.logs());
    println!("election: r1 master after {:.2} s", secs(t));
    b.assert_stable(VIP, &[1], Duration::from_secs(2));
    assert!(
        b.log("r1.log")
            .contains("(VI_1) VRID 51 on eth0: BACKUP -> MASTER"),
        "{}",
        b.logs()
    );

    // Crash: SIGKILL leaves r1's VIP behind (nobody removes it), r2 takes over.
    r1.signal("KILL").unwrap();
    let t = Instant::now();
    let ok = nslab::Lab::wait_until(LONG, || b.lab.holders(VIP).unwrap_or_default().contains(&2));
    assert!(ok, "takeover after SIGKILL\n{}", b.logs());
    println!(
        "SIGKILL takeover: r2 holds the VIP {:.2} s after the kill",
        secs(t)
    );
    assert!(!b.lab.holders(VIP).unwrap().contains(&3));

    // Restart r1: it removes the stale VIP at startup, then preempts (priority 150 > 100).
    let mut r1 = b.vrrpd(1, &c1);
    let t = Instant::now();
    let h = b.wait_holders(VIP, &[2], Duration::from_secs(2));
    assert_eq!(
        h,
        [2],
        "the restarted r1 removes the VIP left by the crash\n{}",
        b.logs()
    );
    let h = b.wait_holders(VIP, &[1], LONG);
    assert_eq!(h, [1], "preemption by the restarted r1\n{}", b.logs());
    println!("preemption: r1 master again {:.2} s after restart", secs(t));

    // Graceful stop: priority 0, VIP removed from r1, r2 takes over at skew time.
    r1.signal("TERM").unwrap();
    let t = Instant::now();
    let h = b.wait_holders(VIP, &[2], LONG);
    assert_eq!(h, [2], "takeover after SIGTERM\n{}", b.logs());
    println!(
        "SIGTERM takeover: r2 sole holder {:.2} s after the signal",
        secs(t)
    );
    assert_eq!(
        r1.wait_timeout(Duration::from_secs(5)),
        Some(Some(0)),
        "vrrpd exits 0 on SIGTERM"
    );

    // Back to r1, then pull its cable: FAULT, VIP removed, r2 takes over.
    let _r1 = b.vrrpd(1, &c1);
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "preempt again\n{}",
        b.logs()
    );
    b.lab.link_down(1, 0).unwrap();
    let t = Instant::now();
    let h = b.wait_holders(VIP, &[2], LONG);
    assert_eq!(
        h,
        [2],
        "takeover after link down on the master\n{}",
        b.logs()
    );
    println!(
        "link-down takeover: r2 sole holder {:.2} s after link down",
        secs(t)
    );
    let ok = nslab::Lab::wait_until(Duration::from_secs(3), || {
        b.log("r1.log").contains("MASTER -> FAULT")
    });
    assert!(ok, "r1 logs FAULT\n{}", b.logs());
    b.lab.link_up(1, 0).unwrap();
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "r1 preempts after link up\n{}",
        b.logs()
    );
}

#[test]
fn sync_group_moves_both_lans_together() {
    if !root_or_skip("sync_group_moves_both_lans_together") {
        return;
    }
    let b = Bench::new("vd2-", 2, 2);
    let vip0 = Ipv4Addr::new(10, 99, 0, 210);
    let vip1 = Ipv4Addr::new(10, 99, 1, 210);
    let conf = |k: u8, prio: u8| {
        let mut text = String::from(
            "vrrp_sync_group G1 {\n    group {\n        VI_LAN0\n        VI_LAN1\n    }\n}\n",
        );
        text += &instance(
            "VI_LAN0",
            "eth0",
            10,
            prio,
            &["10.99.0.210/24"],
            AuthCfg::None,
            "",
        );
        text += &instance(
            "VI_LAN1",
            "eth1",
            11,
            prio,
            &["10.99.1.210/24"],
            AuthCfg::None,
            "",
        );
        b.write(&format!("r{k}.conf"), &text)
    };
    let (c1, c2) = (conf(1, 150), conf(2, 100));
    let _r1 = b.vrrpd(1, &c1);
    let _r2 = b.vrrpd(2, &c2);
    assert_eq!(
        b.wait_holders(vip0, &[1], LONG),
        [1],
        "LAN0 election\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(vip1, &[1], LONG),
        [1],
        "LAN1 election\n{}",
        b.logs()
    );

    // r1 loses LAN1: the whole group goes FAULT on r1 and r2 takes both LANs.
    b.lab.link_down(1, 1).unwrap();
    let t = Instant::now();
    assert_eq!(
        b.wait_holders(vip1, &[2], LONG),
        [2],
        "LAN1 moves\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(vip0, &[2], LONG),
        [2],
        "LAN0 moves with it\n{}",
        b.logs()
    );
    println!(
        "sync group: both VIPs on r2 {:.2} s after r1's LAN1 link went down",
        secs(t)
    );
    let log = b.log("r1.log");
    assert!(
        log.contains("(VI_LAN1) VRID 11 on eth1: MASTER -> FAULT"),
        "{}",
        b.logs()
    );
    assert!(
        log.contains("(VI_LAN0) VRID 10 on eth0: MASTER -> FAULT"),
        "{}",
        b.logs()
    );

    // Link back: r1 preempts on both LANs.
    b.lab.link_up(1, 1).unwrap();
    assert_eq!(
        b.wait_holders(vip0, &[1], LONG),
        [1],
        "LAN0 back\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(vip1, &[1], LONG),
        [1],
        "LAN1 back\n{}",
        b.logs()
    );
}

/// SIGHUP: a raised priority is applied without a restart (the backup preempts), a
/// broken configuration is refused while the daemon keeps running, and an instance
/// added to the file is started.
#[test]
fn reload_applies_changes_and_survives_bad_configs() {
    if !root_or_skip("reload_applies_changes_and_survives_bad_configs") {
        return;
    }
    let b = Bench::new("vd10-", 2, 1);
    let vi = |prio: u8| {
        instance(
            "VI_1",
            "eth0",
            51,
            prio,
            &["10.99.0.200/24"],
            AuthCfg::None,
            "",
        )
    };
    let c1 = b.write("r1.conf", &vi(150));
    let c2 = b.write("r2.conf", &vi(100));
    let _r1 = b.vrrpd(1, &c1);
    let mut r2 = b.vrrpd(2, &c2);
    assert_eq!(b.wait_holders(VIP, &[1], LONG), [1], "{}", b.logs());

    // A fatal config: r2 keeps running the old one.
    b.write("r2.conf", "global_defs {\n    vrrp_version 3\n}\n");
    r2.signal("HUP").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(r2.is_running(), "{}", b.logs());
    assert!(
        b.log("r2.log")
            .contains("keeping the running configuration"),
        "{}",
        b.logs()
    );

    // Priority 200 and a new instance: r2 preempts VI_1 without restarting, VI_2 starts.
    let vi2 = instance(
        "VI_2",
        "eth0",
        52,
        100,
        &["10.99.0.201/24"],
        AuthCfg::None,
        "",
    );
    b.write("r2.conf", &(vi(200) + &vi2));
    r2.signal("HUP").unwrap();
    assert_eq!(
        b.wait_holders(VIP, &[2], LONG),
        [2],
        "reloaded priority preempts\n{}",
        b.logs()
    );
    let vip2 = Ipv4Addr::new(10, 99, 0, 201);
    assert_eq!(
        b.wait_holders(vip2, &[2], LONG),
        [2],
        "new instance started\n{}",
        b.logs()
    );
    let log = b.log("r2.log");
    assert_eq!(
        log.matches("(VI_1) VRID 51 on eth0: INIT -> BACKUP")
            .count(),
        1,
        "VI_1 kept its state\n{log}"
    );

    // Removing VI_2 stops it and removes its VIP.
    b.write("r2.conf", &vi(200));
    r2.signal("HUP").unwrap();
    assert_eq!(
        b.wait_holders(vip2, &[], LONG),
        Vec::<u8>::new(),
        "removed instance\n{}",
        b.logs()
    );
    assert_eq!(b.lab.holders(VIP).unwrap(), [2]);

    // VIP list changes on a master: an added VIP is installed, a dropped one removed.
    let extra_vip = Ipv4Addr::new(10, 99, 0, 202);
    let with_extra = instance(
        "VI_1",
        "eth0",
        51,
        200,
        &["10.99.0.200/24", "10.99.0.202/24"],
        AuthCfg::None,
        "",
    );
    b.write("r2.conf", &with_extra);
    r2.signal("HUP").unwrap();
    assert_eq!(
        b.wait_holders(extra_vip, &[2], LONG),
        [2],
        "added VIP\n{}",
        b.logs()
    );
    b.write("r2.conf", &vi(200));
    r2.signal("HUP").unwrap();
    assert_eq!(
        b.wait_holders(extra_vip, &[], LONG),
        Vec::<u8>::new(),
        "dropped VIP\n{}",
        b.logs()
    );
    assert_eq!(b.lab.holders(VIP).unwrap(), [2]);
}

/// vrrp_script (weight 0) failing puts the master in FAULT; notify scripts run in order
/// with keepalived's arguments.
#[test]
fn track_script_fault_and_notify_scripts() {
    if !root_or_skip("track_script_fault_and_notify_scripts") {
        return;
    }
    let b = Bench::new("vd11-", 2, 1);
    let flag = b.dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let events = b.dir.join("events");
    let notify = b.write(
        "notify.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}\n", events.display()),
    );
    let extra = format!(
        "    track_script {{\n        chk\n    }}\n    notify \"/bin/sh {}\"\n",
        notify.display()
    );
    let script = format!(
        "vrrp_script chk {{\n    script \"/usr/bin/test -e {}\"\n    interval 1\n    fall 2\n    rise 1\n}}\n",
        flag.display()
    );
    let c1 = b.write(
        "r1.conf",
        &(script
            + &instance(
                "VI_1",
                "eth0",
                51,
                150,
                &["10.99.0.200/24"],
                AuthCfg::None,
                &extra,
            )),
    );
    let c2 = b.write(
        "r2.conf",
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
    let _r1 = b.vrrpd(1, &c1);
    let _r2 = b.vrrpd(2, &c2);
    assert_eq!(b.wait_holders(VIP, &[1], LONG), [1], "{}", b.logs());

    std::fs::remove_file(&flag).unwrap();
    let t = Instant::now();
    assert_eq!(
        b.wait_holders(VIP, &[2], LONG),
        [2],
        "script failure moves the VIP\n{}",
        b.logs()
    );
    println!(
        "track_script: VIP on r2 {:.2} s after the health flag was removed (fall 2, interval 1)",
        secs(t)
    );
    assert!(b.log("r1.log").contains("MASTER -> FAULT"), "{}", b.logs());

    std::fs::write(&flag, "").unwrap();
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "recovery and preemption\n{}",
        b.logs()
    );
    let ok = nslab::Lab::wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .count()
            >= 5
    });
    let text = std::fs::read_to_string(&events).unwrap_or_default();
    assert!(ok, "notify lines: {text}\n{}", b.logs());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..5],
        [
            "INSTANCE VI_1 FAULT 150",
            "INSTANCE VI_1 BACKUP 150",
            "INSTANCE VI_1 MASTER 150",
            "INSTANCE VI_1 FAULT 150",
            "INSTANCE VI_1 BACKUP 150",
        ],
        "{text}"
    );
}

/// Unicast adverts (unicast_src_ip + unicast_peer): election and graceful failover.
#[test]
fn unicast_pair_elects_and_fails_over() {
    if !root_or_skip("unicast_pair_elects_and_fails_over") {
        return;
    }
    let b = Bench::new("vd12-", 2, 1);
    let conf = |k: u8, prio: u8| {
        let (me, peer) = if k == 1 { (11, 12) } else { (12, 11) };
        let extra = format!(
            "    unicast_src_ip 10.99.0.{me}\n    unicast_peer {{\n        10.99.0.{peer}\n    }}\n"
        );
        b.write(
            &format!("r{k}.conf"),
            &instance(
                "VI_U",
                "eth0",
                60,
                prio,
                &["10.99.0.200/24"],
                AuthCfg::Ah("secret12"),
                &extra,
            ),
        )
    };
    let r1 = b.vrrpd(1, &conf(1, 150));
    let _r2 = b.vrrpd(2, &conf(2, 100));
    assert_eq!(b.wait_holders(VIP, &[1], LONG), [1], "{}", b.logs());
    b.assert_stable(VIP, &[1], Duration::from_secs(2));
    assert!(
        b.log("r2.log").contains("advert from 10.99.0.11 prio 150"),
        "r2 hears unicast adverts\n{}",
        b.logs()
    );
    r1.signal("TERM").unwrap();
    assert_eq!(b.wait_holders(VIP, &[2], LONG), [2], "{}", b.logs());
}

/// use_vmac: the macvlan vrrp.<VRID> exists with the virtual MAC, carries the VIP on the
/// master, adverts leave from the virtual MAC, and the interface is removed at shutdown.
#[test]
fn vmac_interface_carries_the_vip() {
    if !root_or_skip("vmac_interface_carries_the_vip") {
        return;
    }
    let b = Bench::new("vd13-", 2, 1);
    let conf = |k: u8, prio: u8| {
        b.write(
            &format!("r{k}.conf"),
            &instance(
                "VI_1",
                "eth0",
                51,
                prio,
                &["10.99.0.200/24"],
                AuthCfg::None,
                "    use_vmac\n",
            ),
        )
    };
    let pcap = b.dir.join("lan0.pcap");
    let mut capture = b.lab.capture(0, &pcap).expect("tcpdump");
    let r1 = b.vrrpd(1, &conf(1, 150));
    let _r2 = b.vrrpd(2, &conf(2, 100));
    assert_eq!(b.wait_holders(VIP, &[1], LONG), [1], "{}", b.logs());
    let on_vmac = b.lab.addrs(nslab::Node::Router(1), "vrrp.51").unwrap();
    assert!(
        on_vmac.iter().any(|(a, _)| *a == VIP),
        "VIP on vrrp.51: {on_vmac:?}\n{}",
        b.logs()
    );
    for k in [1, 2] {
        let link = b
            .lab
            .exec(
                nslab::Node::Router(k),
                "ip",
                &["-o", "link", "show", "vrrp.51"],
            )
            .unwrap();
        let text = String::from_utf8_lossy(&link.stdout).to_string();
        assert!(
            text.contains("vrrp.51@eth0") && text.contains("00:00:5e:00:01:33"),
            "{text}"
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    r1.signal("TERM").unwrap();
    assert_eq!(b.wait_holders(VIP, &[2], LONG), [2], "{}", b.logs());
    let gone = nslab::Lab::wait_until(Duration::from_secs(5), || {
        b.lab
            .exec(nslab::Node::Router(1), "ip", &["link", "show", "vrrp.51"])
            .is_err()
    });
    assert!(gone, "vrrp.51 removed at shutdown\n{}", b.logs());
    std::thread::sleep(Duration::from_millis(1500));
    capture.signal("INT").unwrap();
    let _ = capture.wait_timeout(Duration::from_secs(5));
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok()
    {
        let out = std::process::Command::new("tshark")
            .args([
                "-n",
                "-r",
                &pcap.display().to_string(),
                "-Y",
                "vrrp",
                "-T",
                "fields",
                "-e",
                "eth.src",
                "-e",
                "ip.src",
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(text.lines().count() >= 2, "adverts captured: {text}");
        for line in text.lines() {
            assert!(
                line.starts_with("00:00:5e:00:01:33"),
                "advert from the virtual MAC: {line}"
            );
        }
    }
}
