//! Interoperability with Debian's keepalived on one namespaced LAN: elections both ways,
//! failover both ways, with no authentication, PASS and AH; AH sequence continuity across
//! a vrrpd takeover; wrong passwords rejected on both sides.
//!
//! Needs root and the `keepalived` package (skips when not root, fails under CI).

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{AuthCfg, Bench, instance, secs};
use nslab::root_or_skip;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const LONG: Duration = Duration::from_secs(15);

fn conf(auth: AuthCfg<'_>, prio: u8) -> String {
    instance("VI_1", "eth0", 51, prio, &["10.99.0.200/24"], auth, "")
}

/// r1 runs vrrpd, r2 keepalived. vrrpd wins with the higher priority, hands over on
/// SIGTERM, stays backup with a lower priority, takes over when keepalived stops, and
/// yields when keepalived comes back with a higher priority.
fn elections_both_ways(prefix: &str, auth: AuthCfg<'_>) {
    let b = Bench::new(prefix, 2, 1);
    let ka = b.write("ka.conf", &conf(auth, 100));
    let high = b.write("vrrpd-high.conf", &conf(auth, 150));
    let low = b.write("vrrpd-low.conf", &conf(auth, 50));

    let mut k2 = b.keepalived(2, &ka);
    let mut v1 = b.vrrpd(1, &high);
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "vrrpd (150) wins over keepalived (100)\n{}",
        b.logs()
    );
    b.assert_stable(VIP, &[1], Duration::from_secs(2));

    v1.signal("TERM").unwrap();
    let t = Instant::now();
    assert_eq!(
        b.wait_holders(VIP, &[2], LONG),
        [2],
        "keepalived takes over from vrrpd\n{}",
        b.logs()
    );
    println!(
        "{prefix} vrrpd -> keepalived after SIGTERM: {:.2} s",
        secs(t)
    );
    assert_eq!(v1.wait_timeout(Duration::from_secs(5)), Some(Some(0)));

    // vrrpd with a lower priority must accept keepalived's adverts and stay backup for
    // longer than its Master_Down_Interval.
    let before = b.log("r1.log").len();
    let _v1 = b.vrrpd(1, &low);
    b.assert_stable(VIP, &[2], Duration::from_millis(5500));
    let second_run = b.log("r1.log").split_off(before);
    assert!(second_run.contains("INIT -> BACKUP"), "{}", b.logs());
    assert!(
        !second_run.contains("-> MASTER"),
        "vrrpd must not become master\n{}",
        b.logs()
    );

    k2.signal("TERM").unwrap();
    let t = Instant::now();
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "vrrpd takes over from keepalived\n{}",
        b.logs()
    );
    println!(
        "{prefix} keepalived -> vrrpd after SIGTERM: {:.2} s",
        secs(t)
    );
    let _ = k2.wait_timeout(Duration::from_secs(5));

    // keepalived comes back with the higher priority: vrrpd (master, 50) accepts its
    // adverts (with AH: keepalived continues the sequence it heard from vrrpd) and yields.
    let _k2 = b.keepalived(2, &ka);
    assert_eq!(
        b.wait_holders(VIP, &[2], LONG),
        [2],
        "keepalived preempts vrrpd\n{}",
        b.logs()
    );
    assert!(b.log("r1.log").contains("MASTER -> BACKUP"), "{}", b.logs());
}

#[test]
fn interop_no_auth() {
    if root_or_skip("interop_no_auth") {
        elections_both_ways("vd3-", AuthCfg::None);
    }
}

#[test]
fn interop_pass() {
    if root_or_skip("interop_pass") {
        elections_both_ways("vd4-", AuthCfg::Pass("secret12"));
    }
}

#[test]
fn interop_ah() {
    if root_or_skip("interop_ah") {
        elections_both_ways("vd5-", AuthCfg::Ah("secret12"));
    }
}

/// keepalived master (200), vrrpd backup (150), keepalived backup (100), all AH. When the
/// master stops, vrrpd must take over with sequence numbers the other keepalived accepts:
/// if it dropped them as replays it would become master itself after 3.6 s.
#[test]
fn interop_ah_sequence_continuity() {
    if !root_or_skip("interop_ah_sequence_continuity") {
        return;
    }
    let b = Bench::new("vd6-", 3, 1);
    let auth = AuthCfg::Ah("secret12");
    let k1 = b.keepalived(1, &b.write("ka1.conf", &conf(auth, 200)));
    let _v2 = b.vrrpd(2, &b.write("vrrpd.conf", &conf(auth, 150)));
    let _k3 = b.keepalived(3, &b.write("ka3.conf", &conf(auth, 100)));
    assert_eq!(
        b.wait_holders(VIP, &[1], LONG),
        [1],
        "keepalived 200 wins\n{}",
        b.logs()
    );
    // Let a few sequence numbers go by.
    b.assert_stable(VIP, &[1], Duration::from_secs(3));

    k1.signal("TERM").unwrap();
    let t = Instant::now();
    assert_eq!(
        b.wait_holders(VIP, &[2], LONG),
        [2],
        "vrrpd takes over\n{}",
        b.logs()
    );
    println!(
        "AH continuity: vrrpd master {:.2} s after the keepalived master stopped",
        secs(t)
    );
    // The keepalived backup accepts vrrpd's adverts: it stays backup well past its
    // Master_Down_Interval (3 s + 0.61 s).
    b.assert_stable(VIP, &[2], Duration::from_secs(6));
    let ka3 = b.log("ka-r3.log");
    assert!(
        !ka3.contains("Entering MASTER STATE"),
        "keepalived backup went master\n{}",
        b.logs()
    );
}

/// Different passwords: each side rejects the other's adverts and both become master,
/// for PASS (VRID 52) and AH (VRID 53) at once.
#[test]
fn interop_wrong_password_rejected_both_ways() {
    if !root_or_skip("interop_wrong_password_rejected_both_ways") {
        return;
    }
    let b = Bench::new("vd7-", 2, 1);
    let two = |pass: &str| {
        instance(
            "VI_PASS",
            "eth0",
            52,
            100,
            &["10.99.0.201/24"],
            AuthCfg::Pass(pass),
            "",
        ) + &instance(
            "VI_AH",
            "eth0",
            53,
            100,
            &["10.99.0.202/24"],
            AuthCfg::Ah(pass),
            "",
        )
    };
    let _v1 = b.vrrpd(1, &b.write("vrrpd.conf", &two("secret12")));
    let _k2 = b.keepalived(2, &b.write("ka.conf", &two("wrongpw1")));
    let pass_vip = Ipv4Addr::new(10, 99, 0, 201);
    let ah_vip = Ipv4Addr::new(10, 99, 0, 202);
    assert_eq!(
        b.wait_holders(pass_vip, &[1, 2], LONG),
        [1, 2],
        "PASS: both master\n{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(ah_vip, &[1, 2], LONG),
        [1, 2],
        "AH: both master\n{}",
        b.logs()
    );
    b.assert_stable(pass_vip, &[1, 2], Duration::from_secs(2));
    b.assert_stable(ah_vip, &[1, 2], Duration::from_secs(1));
    let log = b.log("r1.log");
    assert!(
        log.contains("(VI_PASS) VRID 52 on eth0: dropped packet from 10.99.0.12"),
        "vrrpd logs the PASS rejection\n{}",
        b.logs()
    );
    assert!(
        log.contains("(VI_AH) VRID 53 on eth0: dropped packet from 10.99.0.12"),
        "vrrpd logs the AH rejection\n{}",
        b.logs()
    );
}
