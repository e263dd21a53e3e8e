//! vrrpd as a non-root user holding only CAP_NET_ADMIN and CAP_NET_RAW (ambient set,
//! everything else dropped from the bounding set, via `capsh`): it elects, installs and
//! removes VIPs, fails over on link loss, preempts back and leaves gracefully, exactly as
//! the systemd unit in dist/ runs it.
//!
//! Needs root to build the lab (skips otherwise, fails under CI) and capsh
//! (Debian package libcap2-bin).

mod common;

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 91);
/// CAP_NET_ADMIN (12) and CAP_NET_RAW (13).
const NET_CAPS: u64 = (1 << 12) | (1 << 13);

/// Every capability name except the two network ones, for `capsh --drop`.
fn other_caps() -> String {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let all = if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    };
    let out = Command::new("capsh")
        .arg(format!("--decode={:#x}", all & !NET_CAPS))
        .output()
        .expect("capsh (libcap2-bin) is needed");
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().split_once('=').unwrap().1.to_owned()
}

/// A field of /proc/PID/status.
fn proc_status(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn runs_as_nobody_with_only_net_admin_and_net_raw() {
    if !root_or_skip("runs_as_nobody_with_only_net_admin_and_net_raw") {
        return;
    }
    let b = Bench::new("op4-", 2, 1);
    std::fs::set_permissions(&b.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = |k: u8, prio: u8| {
        b.write(
            &format!("r{k}.conf"),
            &instance(
                "VI_1",
                "eth0",
                91,
                prio,
                &["10.99.0.91/24"],
                AuthCfg::Ah("capsecr8"),
                "",
            ),
        )
    };
    let (c1, c2) = (conf(1, 150), conf(2, 100));
    let _r2 = b.vrrpd(2, &c2);
    let start_r1 = || {
        let cmd = format!(
            "exec {} -f {} -l debug --control-socket {}",
            common::VRRPD,
            c1.display(),
            b.socket(1).display()
        );
        b.lab
            .spawn(
                Node::Router(1),
                "capsh",
                &[
                    &format!("--drop={}", other_caps()),
                    "--keep=1",
                    "--user=nobody",
                    "--inh=cap_net_admin,cap_net_raw",
                    "--addamb=cap_net_admin,cap_net_raw",
                    "--",
                    "-c",
                    &cmd,
                ],
                Some(&b.dir.join("r1.log")),
            )
            .expect("spawn capsh")
    };
    let mut r1 = start_r1();
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );

    // It really is unprivileged: uid nobody, only the two capabilities, bounding set too.
    let pid = r1.pid();
    assert!(
        Lab::wait_until(Duration::from_secs(3), || proc_status(pid, "Name:")
            == "vrrpd"),
        "capsh exec'd vrrpd"
    );
    assert!(
        proc_status(pid, "Uid:").starts_with("65534"),
        "{}",
        proc_status(pid, "Uid:")
    );
    for field in ["CapEff:", "CapPrm:", "CapBnd:", "CapAmb:"] {
        let v = u64::from_str_radix(&proc_status(pid, field), 16).unwrap();
        assert_eq!(v, NET_CAPS, "{field} {v:#x}");
    }
    assert_eq!(b.state(1, "VI_1").as_deref(), Some("MASTER"));

    // Link failure: FAULT, VIP removed by the unprivileged daemon, r2 takes over.
    b.lab.link_down(1, 0).unwrap();
    assert_eq!(
        b.wait_holders(VIP, &[2], Duration::from_secs(15)),
        [2],
        "{}",
        b.logs()
    );
    assert!(Lab::wait_until(Duration::from_secs(5), || {
        b.state(1, "VI_1").as_deref() == Some("FAULT")
    }));
    // Back: preempts (AH adverts both ways), GARPs through AF_PACKET.
    b.lab.link_up(1, 0).unwrap();
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );
    // Graceful stop: priority 0 and VIP removal still work without root.
    r1.signal("TERM").unwrap();
    assert_eq!(
        r1.wait_timeout(Duration::from_secs(10)),
        Some(Some(0)),
        "{}",
        b.logs()
    );
    assert_eq!(
        b.wait_holders(VIP, &[2], Duration::from_secs(5)),
        [2],
        "{}",
        b.logs()
    );
    let log = b.log("r1.log");
    assert!(!log.contains("Operation not permitted"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
    let _r1 = start_r1();
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "restart\n{}",
        b.logs()
    );
}
