//! The operator surface during a failover: `vrrpd status --json` follows the documented
//! schema (bins/vrrpd/README.md), `vrrpd status` prints a table, `vrrpd events` delivers
//! every transition in order, and the Prometheus endpoint's counters move.
//!
//! Needs root (skips otherwise, fails under CI) and bash (for /dev/tcp inside the
//! namespace, where the loopback metrics endpoint lives).

mod common;

use std::io::Read;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, Node, root_or_skip};
use serde_json::Value;

const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 81);

/// Checks one `status --json` document against the documented schema.
fn check_schema(s: &Value) {
    assert_eq!(s["schema"], 1, "{s}");
    let d = &s["daemon"];
    assert!(d["pid"].is_u64() && d["uptime_secs"].is_u64(), "{d}");
    assert!(d["version"].is_string() && d["config"].is_string(), "{d}");
    assert!(s["groups"].is_array(), "{s}");
    let instances = s["instances"].as_array().expect("instances array");
    assert!(!instances.is_empty());
    for i in instances {
        for key in ["name", "interface", "state", "source"] {
            assert!(i[key].is_string(), "{key} in {i}");
        }
        for key in ["vrid", "base_priority", "effective_priority"] {
            assert!(i[key].as_u64().is_some_and(|v| v <= 255), "{key} in {i}");
        }
        assert!(
            ["INIT", "BACKUP", "MASTER", "FAULT"].contains(&i["state"].as_str().unwrap()),
            "{i}"
        );
        assert!(i["master"].is_null() || i["master"].is_string(), "{i}");
        assert!(i["group"].is_null() || i["group"].is_string(), "{i}");
        assert!(
            i["vips"].as_array().unwrap().iter().all(|v| v.is_string()),
            "{i}"
        );
        let c = i["counters"].as_object().expect("counters object");
        for key in [
            "adverts_received",
            "adverts_sent",
            "become_master",
            "release_master",
            "priority_zero_received",
            "priority_zero_sent",
            "checksum_errors",
            "version_errors",
            "vrid_errors",
            "ttl_errors",
            "auth_type_mismatch",
            "auth_failures",
            "invalid_auth_type",
            "invalid_type",
            "address_list_errors",
            "packet_length_errors",
            "advert_interval_errors",
        ] {
            assert!(
                c.get(key).is_some_and(Value::is_u64),
                "counter {key} in {i}"
            );
        }
        assert_eq!(c.len(), 17, "no undocumented counters: {i}");
    }
}

/// `GET /metrics` on the router's loopback, through bash's /dev/tcp.
fn scrape(b: &Bench, k: u8) -> String {
    let out = b
        .lab
        .exec(
            Node::Router(k),
            "bash",
            &[
                "-c",
                "exec 3<>/dev/tcp/127.0.0.1/9650; printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3",
            ],
        )
        .expect("scrape");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of one series (`name{labels}`) in a metrics page.
fn metric(page: &str, series: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn status_events_and_metrics_follow_a_failover() {
    if !root_or_skip("status_events_and_metrics_follow_a_failover") {
        return;
    }
    let b = Bench::new("op2-", 2, 1);
    let conf = |k: u8, prio: u8| {
        b.write(
            &format!("r{k}.conf"),
            &instance(
                "VI_1",
                "eth0",
                81,
                prio,
                &["10.99.0.81/24"],
                AuthCfg::Pass("pw"),
                "",
            ),
        )
    };
    let (c1, c2) = (conf(1, 150), conf(2, 100));
    let metrics = ["--metrics", "127.0.0.1:9650"];
    let mut r1 = b.vrrpd_with(1, &c1, &metrics);
    let _r2 = b.vrrpd_with(2, &c2, &metrics);
    assert!(b.wait_socket(1) && b.wait_socket(2), "{}", b.logs());
    let mut events = std::process::Command::new(common::VRRPD)
        .args(["events", "--control-socket"])
        .arg(b.socket(2))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("vrrpd events");
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );
    assert!(Lab::wait_until(Duration::from_secs(5), || {
        b.state(2, "VI_1").as_deref() == Some("BACKUP")
    }));
    std::thread::sleep(Duration::from_millis(1500));

    // Steady state: schema, master address known to the backup, table form.
    let s1 = b.status(1).unwrap();
    let s2 = b.status(2).unwrap();
    check_schema(&s1);
    check_schema(&s2);
    let i1 = &s1["instances"][0];
    let i2 = &s2["instances"][0];
    assert_eq!(i1["state"], "MASTER");
    assert_eq!(i1["master"], "10.99.0.11");
    assert_eq!(i1["vips"][0], "10.99.0.81/24");
    assert_eq!(i2["state"], "BACKUP");
    assert_eq!(i2["master"], "10.99.0.11", "backup knows the master: {i2}");
    assert_eq!(i2["effective_priority"], 100);
    assert!(i1["counters"]["adverts_sent"].as_u64().unwrap() >= 1);
    assert!(i2["counters"]["adverts_received"].as_u64().unwrap() >= 1);
    let table = std::process::Command::new(common::VRRPD)
        .args(["status", "--control-socket"])
        .arg(b.socket(2))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("INSTANCE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("VI_1") && l.contains("BACKUP") && l.contains("10.99.0.11")),
        "{table}"
    );

    // Metrics before the failover.
    let before = scrape(&b, 2);
    assert!(before.starts_with("HTTP/1.0 200 OK"), "{before}");
    let id = "instance=\"VI_1\",vrid=\"81\",interface=\"eth0\"";
    let series = |name: &str| format!("vrrpd_{name}_total{{{id}}}");
    let state = |s: &str| format!("vrrpd_instance_state{{{id},state=\"{s}\"}}");
    assert_eq!(metric(&before, &state("BACKUP")), Some(1), "{before}");
    assert_eq!(metric(&before, &series("become_master")), Some(0));
    assert_eq!(metric(&before, &series("priority_zero_received")), Some(0));
    let rx_before = metric(&before, &series("adverts_received")).unwrap();
    assert!(rx_before >= 1, "{before}");

    // Failover: r1 stops gracefully (priority 0), r2 takes over.
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(10)), Some(Some(0)));
    assert_eq!(
        b.wait_holders(VIP, &[2], Duration::from_secs(15)),
        [2],
        "{}",
        b.logs()
    );
    assert!(
        !b.socket(1).exists(),
        "the control socket is removed at exit"
    );
    std::thread::sleep(Duration::from_millis(1200));
    let after = scrape(&b, 2);
    assert_eq!(metric(&after, &state("MASTER")), Some(1), "{after}");
    assert_eq!(metric(&after, &state("BACKUP")), Some(0));
    assert_eq!(metric(&after, &series("become_master")), Some(1));
    assert_eq!(metric(&after, &series("priority_zero_received")), Some(1));
    assert!(
        metric(&after, &series("adverts_sent")).unwrap() >= 1,
        "{after}"
    );
    assert!(metric(&after, &series("adverts_received")).unwrap() > rx_before);
    let s2 = b.status(2).unwrap();
    check_schema(&s2);
    assert_eq!(s2["instances"][0]["master"], "10.99.0.12");

    // r1 returns and preempts: r2 goes back to BACKUP.
    let _r1 = b.vrrpd_with(1, &c1, &metrics);
    assert_eq!(
        b.wait_holders(VIP, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );
    assert!(Lab::wait_until(Duration::from_secs(5), || {
        b.state(2, "VI_1").as_deref() == Some("BACKUP")
    }));
    let last = scrape(&b, 2);
    assert_eq!(metric(&last, &series("release_master")), Some(1), "{last}");
    let missing = b
        .lab
        .exec(
            Node::Router(2),
            "bash",
            &["-c", "exec 3<>/dev/tcp/127.0.0.1/9650; printf 'GET /nope HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"],
        )
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stdout).starts_with("HTTP/1.0 404"));

    // Every transition of r2, in order, each continuing from the previous one.
    let _ = events.kill();
    let _ = events.wait();
    let mut text = String::new();
    events
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let evs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen: Vec<(&str, &str)> = evs
        .iter()
        .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, [("BACKUP", "MASTER"), ("MASTER", "BACKUP")], "{text}");
    for (a, z) in evs.iter().zip(evs.iter().skip(1)) {
        assert!(z["seq"].as_u64() > a["seq"].as_u64(), "{text}");
        assert!(z["time_ms"].as_u64() >= a["time_ms"].as_u64(), "{text}");
    }
    for e in &evs {
        assert_eq!(e["kind"], "INSTANCE");
        assert_eq!(e["name"], "VI_1");
        assert_eq!(e["vrid"], 81);
        assert_eq!(e["priority"], 100);
        assert!(e["reason"].is_string());
    }
}

#[test]
fn second_daemon_is_refused_and_stale_socket_replaced() {
    if !root_or_skip("second_daemon_is_refused_and_stale_socket_replaced") {
        return;
    }
    let b = Bench::new("op3-", 1, 1);
    let c = b.write(
        "r1.conf",
        &instance(
            "VI_1",
            "eth0",
            82,
            150,
            &["10.99.0.82/24"],
            AuthCfg::None,
            "",
        ),
    );
    let mut r1 = b.vrrpd(1, &c);
    assert!(b.wait_socket(1), "{}", b.logs());
    // Same control socket: refused with a clear message, exit status 1.
    let mut second = b
        .lab
        .spawn(
            Node::Router(1),
            common::VRRPD,
            &[
                "-f",
                &c.display().to_string(),
                "--control-socket",
                &b.socket(1).display().to_string(),
            ],
            Some(&b.dir.join("second.log")),
        )
        .unwrap();
    assert_eq!(second.wait_timeout(Duration::from_secs(10)), Some(Some(1)));
    assert!(
        b.log("second.log").contains("in use by a running vrrpd"),
        "{}",
        b.log("second.log")
    );
    assert!(b.status(1).is_some(), "the first daemon still answers");
    // SIGKILL leaves a stale socket file: the next start removes it and runs.
    r1.signal("KILL").unwrap();
    let _ = r1.wait_timeout(Duration::from_secs(5));
    assert!(b.socket(1).exists());
    let _r1 = b.vrrpd(1, &c);
    assert!(b.wait_socket(1), "stale socket replaced\n{}", b.logs());
}

#[test]
fn systemd_readiness_reload_and_stop_notifications() {
    if !root_or_skip("systemd_readiness_reload_and_stop_notifications") {
        return;
    }
    let b = Bench::new("opb-", 1, 1);
    let c = b.write(
        "r1.conf",
        &instance(
            "VI_1",
            "eth0",
            83,
            150,
            &["10.99.0.83/24"],
            AuthCfg::None,
            "",
        ),
    );
    let notify = b.dir.join("notify.sock");
    let sd = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    sd.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let recv = || {
        let mut buf = [0u8; 512];
        let n = sd.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    // `ip netns exec` keeps the environment: NOTIFY_SOCKET reaches the daemon.
    let log = b.dir.join("r1.log");
    let mut r1 = b
        .lab
        .spawn(
            Node::Router(1),
            "env",
            &[
                &format!("NOTIFY_SOCKET={}", notify.display()),
                &format!("TMPDIR={}", b.dir.display()),
                common::VRRPD,
                "-f",
                &c.display().to_string(),
                "--control-socket",
                &b.socket(1).display().to_string(),
            ],
            Some(&log),
        )
        .unwrap();
    let ready = recv();
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    assert!(
        b.status(1).is_some(),
        "the control socket answers once READY is sent"
    );
    r1.signal("HUP").unwrap();
    let reloading = recv();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading}"
    );
    assert!(
        recv().starts_with("READY=1"),
        "ready again after the reload"
    );
    // SIGUSR1 / SIGUSR2 dumps into $TMPDIR, as keepalived's data and stats files.
    r1.signal("USR2").unwrap();
    r1.signal("USR1").unwrap();
    let stats = b.dir.join("vrrpd.stats");
    let data = b.dir.join("vrrpd.data");
    assert!(Lab::wait_until(Duration::from_secs(5), || stats.exists() && data.exists()));
    let text = std::fs::read_to_string(&stats).unwrap();
    assert!(
        text.starts_with("VRRP Instance: VI_1\n  Advertisements:\n"),
        "{text}"
    );
    assert!(
        std::fs::read_to_string(&data)
            .unwrap()
            .starts_with("INSTANCE")
    );
    r1.signal("TERM").unwrap();
    assert_eq!(recv(), "STOPPING=1");
    assert_eq!(r1.wait_timeout(Duration::from_secs(10)), Some(Some(0)));
}
