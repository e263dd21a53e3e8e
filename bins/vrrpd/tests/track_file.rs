//! keepalived's `track_file` end to end: a weighted file moves mastership between two
//! routers as its value changes (written in place or replaced with `mv`); a weight-0 file
//! holds an instance in FAULT while it is not 0. `init_file` creates the file.
//!
//! Needs root (skips otherwise, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, root_or_skip};

const LONG: Duration = Duration::from_secs(15);

fn track_file_block(name: &str, path: &std::path::Path, weight: i32) -> String {
    format!(
        "track_file {name} {{\n    file \"{}\"\n    weight {weight}\n    init_file 0 overwrite\n}}\n",
        path.display()
    )
}

#[test]
fn a_weighted_file_moves_mastership_both_ways() {
    if !root_or_skip("a_weighted_file_moves_mastership_both_ways") {
        return;
    }
    let b = Bench::new("tf1-", 2, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 71);
    let maint = b.dir.join("maintenance");
    // Router 1: 150, minus 60 per unit in the file. Router 2: 100.
    let r1 = format!(
        "{}{}",
        track_file_block("maint", &maint, 1),
        instance(
            "VI_1",
            "eth0",
            71,
            150,
            &["10.99.0.71/24"],
            AuthCfg::None,
            "    track_file {\n        maint weight -60\n    }\n",
        )
    );
    let r2 = instance(
        "VI_1",
        "eth0",
        71,
        100,
        &["10.99.0.71/24"],
        AuthCfg::None,
        "",
    );
    let (c1, c2) = (b.write("r1.conf", &r1), b.write("r2.conf", &r2));
    let _p1 = b.vrrpd(1, &c1);
    let _p2 = b.vrrpd(2, &c2);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert_eq!(
        std::fs::read_to_string(&maint).ok().as_deref(),
        Some("0\n"),
        "init_file wrote the file"
    );

    // 2 × -60: 150 -> 30, below router 2, which preempts.
    std::fs::write(&maint, "2\n").expect("write");
    assert_eq!(b.wait_holders(vip, &[2], LONG), [2], "{}", b.logs());

    // Replaced by rename (a new inode), back to 0: router 1 preempts again.
    let tmp = b.dir.join("maintenance.new");
    std::fs::write(&tmp, "0\n").expect("write");
    std::fs::rename(&tmp, &maint).expect("rename");
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());

    // 1 × -60: 150 -> 90, still below 100.
    std::fs::write(&maint, "1").expect("write");
    assert_eq!(b.wait_holders(vip, &[2], LONG), [2], "{}", b.logs());
    let prio = b
        .status(1)
        .and_then(|s| s["instances"][0]["effective_priority"].as_u64());
    assert_eq!(prio, Some(90), "{:?}", b.status(1));
}

#[test]
fn a_weight_zero_file_holds_fault_while_not_zero() {
    if !root_or_skip("a_weight_zero_file_holds_fault_while_not_zero") {
        return;
    }
    let b = Bench::new("tf2-", 1, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 72);
    let down = b.dir.join("down");
    let conf = format!(
        "{}{}",
        track_file_block("down", &down, 0),
        instance(
            "VI_1",
            "eth0",
            72,
            100,
            &["10.99.0.72/24"],
            AuthCfg::None,
            "    track_file {\n        down\n    }\n",
        )
    );
    let c = b.write("r1.conf", &conf);
    let _p = b.vrrpd(1, &c);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert!(b.wait_socket(1));

    std::fs::write(&down, "1\n").expect("write");
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_1").as_deref() == Some("FAULT")),
        "{:?}\n{}",
        b.state(1, "VI_1"),
        b.logs()
    );
    assert_eq!(b.wait_holders(vip, &[], LONG), Vec::<u8>::new());

    // Removing the file counts as 0.
    std::fs::remove_file(&down).expect("remove");
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    assert_eq!(b.state(1, "VI_1").as_deref(), Some("MASTER"));
}

#[test]
fn a_reload_that_adds_a_file_tracker_does_not_flap_the_master() {
    if !root_or_skip("a_reload_that_adds_a_file_tracker_does_not_flap_the_master") {
        return;
    }
    let b = Bench::new("tf3-", 1, 1);
    let vip = Ipv4Addr::new(10, 99, 0, 73);
    let down = b.dir.join("down");
    std::fs::write(&down, "0\n").expect("write");
    let plain = instance(
        "VI_1",
        "eth0",
        73,
        100,
        &["10.99.0.73/24"],
        AuthCfg::None,
        "",
    );
    let c = b.write("r1.conf", &plain);
    let p = b.vrrpd(1, &c);
    assert_eq!(b.wait_holders(vip, &[1], LONG), [1], "{}", b.logs());
    // Weight 0 and `init_file 1 overwrite`: a reload must neither overwrite the
    // operator's 0 nor pass through FAULT before the value is known.
    let tracked = format!(
        "track_file down {{\n    file \"{}\"\n    weight 0\n    init_file 1 overwrite\n}}\n{}",
        down.display(),
        plain.replace(
            "    virtual_ipaddress",
            "    track_file {\n        down\n    }\n    virtual_ipaddress"
        )
    );
    b.write("r1.conf", &tracked);
    p.signal("HUP").expect("SIGHUP");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(std::fs::read_to_string(&down).ok().as_deref(), Some("0\n"));
    assert_eq!(b.state(1, "VI_1").as_deref(), Some("MASTER"));
    let log = b.log("r1.log");
    assert!(log.contains("reload"), "{log}");
    assert!(!log.contains("-> FAULT"), "{log}");
    // The tracker is live: a 1 now faults the instance.
    std::fs::write(&down, "1\n").expect("write");
    assert!(
        Lab::wait_until(LONG, || b.state(1, "VI_1").as_deref() == Some("FAULT")),
        "{}",
        b.logs()
    );
}
