//! Notify hooks under a burst of transitions: keepalived's argument conventions
//! (per-state scripts get only their configured arguments; the generic `notify` gets
//! `INSTANCE NAME STATE PRIORITY` appended), strict per-instance order with one hook at a
//! time, scripts running as `script_user` with a clean environment, and the notify FIFO
//! carrying the same transitions as `INSTANCE "VI_1" MASTER 150` lines.
//!
//! Needs root (skips otherwise, fails under CI).

mod common;

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::time::Duration;

use common::{AuthCfg, Bench, instance};
use nslab::{Lab, root_or_skip};

/// Reads whatever the FIFO holds now (non-blocking).
fn drain_fifo(f: &mut std::fs::File, into: &mut String) {
    let mut buf = [0u8; 4096];
    while let Ok(n) = f.read(&mut buf) {
        if n == 0 {
            break;
        }
        into.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[test]
fn hooks_follow_keepalived_conventions_in_strict_order() {
    if !root_or_skip("hooks_follow_keepalived_conventions_in_strict_order") {
        return;
    }
    let b = Bench::new("op1-", 2, 1);
    let log = b.dir.join("hooks.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
    // Each run appends a start line (timestamp, uid, PATH, argv), sleeps so that a second
    // concurrent run would interleave, then appends an end line.
    let hook = b.write(
        "hook.sh",
        &format!(
            "#!/bin/sh\necho \"start $(date +%s.%N) $(id -u) $(id -G | tr ' ' ,) $PATH|$*\" >> {log}\nsleep 0.15\necho \"end $*\" >> {log}\n",
            log = log.display()
        ),
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fifo = b.dir.join("notify.fifo");
    let h = hook.display();
    let notify = format!(
        "    notify_master \"{h} to-master\"\n    notify_backup \"{h} to-backup x\"\n    notify_fault \"{h} to-fault\"\n    notify_stop {h}\n    notify \"{h} generic\"\n"
    );
    let global = format!(
        "global_defs {{\n    script_user nobody\n    vrrp_notify_fifo {}\n}}\n",
        fifo.display()
    );
    let c1 = b.write(
        "r1.conf",
        &(global
            + &instance(
                "VI_1",
                "eth0",
                71,
                150,
                &["10.99.0.71/24"],
                AuthCfg::None,
                &notify,
            )),
    );
    let c2 = b.write(
        "r2.conf",
        &instance(
            "VI_1",
            "eth0",
            71,
            100,
            &["10.99.0.71/24"],
            AuthCfg::None,
            "",
        ),
    );
    let vip = std::net::Ipv4Addr::new(10, 99, 0, 71);
    let _r2 = b.vrrpd(2, &c2);
    let mut r1 = b.vrrpd(1, &c1);
    assert!(b.wait_socket(1), "control socket\n{}", b.logs());
    assert!(Lab::wait_until(Duration::from_secs(5), || fifo.exists()));
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .expect("open the notify fifo");
    let mut events_out = std::process::Command::new(common::VRRPD)
        .args(["events", "--control-socket"])
        .arg(b.socket(1))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("vrrpd events");
    assert_eq!(
        b.wait_holders(vip, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );

    // A burst: the cable flaps four times, 300 ms apart.
    for _ in 0..4 {
        b.lab.link_down(1, 0).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        b.lab.link_up(1, 0).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        b.wait_holders(vip, &[1], Duration::from_secs(15)),
        [1],
        "r1 back as master\n{}",
        b.logs()
    );
    // Let the queue drain (the burst queued many 150 ms hooks) before stopping, so the
    // shutdown's bounded wait for notify_stop is not spent on them.
    let hook_lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let drained = Lab::wait_until(Duration::from_secs(20), || {
        let before = hook_lines();
        std::thread::sleep(Duration::from_millis(800));
        before == hook_lines() && before % 2 == 0
    });
    assert!(drained, "hook queue drained\n{}", b.logs());
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(10)), Some(Some(0)));
    let _ = events_out.wait();
    let mut events_text = String::new();
    events_out
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut events_text)
        .unwrap();
    let mut fifo_text = String::new();
    drain_fifo(&mut reader, &mut fifo_text);

    // The transitions, from the FIFO (open since startup, so complete), in keepalived's
    // line format.
    let word = |s: &str| {
        if s == "INIT" {
            "STOP".to_owned()
        } else {
            s.to_owned()
        }
    };
    let transitions: Vec<(String, u64)> = fifo_text
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix("INSTANCE \"VI_1\" ")
                .unwrap_or_else(|| panic!("fifo line {l:?}"));
            let (state, prio) = rest.split_once(' ').unwrap();
            (state.to_owned(), prio.parse().unwrap())
        })
        .collect();
    println!("transitions: {transitions:?}");
    assert!(
        transitions.iter().filter(|(s, _)| s == "FAULT").count() >= 2,
        "the burst produced several FAULTs: {transitions:?}\n{}",
        b.logs()
    );
    assert_eq!(transitions.first().map(|t| t.0.as_str()), Some("BACKUP"));
    assert_eq!(transitions.last().map(|t| t.0.as_str()), Some("STOP"));
    // The events stream (connected after startup) is the same sequence from its start.
    let events: Vec<(String, u64)> = events_text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("event JSON"))
        .map(|e| {
            (
                word(e["to"].as_str().unwrap()),
                e["priority"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        !events.is_empty() && transitions.ends_with(&events),
        "events {events:?} vs fifo {transitions:?}"
    );

    // Expected hook runs: the per-state script with only its own arguments, then the
    // generic one with INSTANCE NAME STATE PRIORITY.
    let mut expected = Vec::new();
    for (state, prio) in &transitions {
        let own = match state.as_str() {
            "MASTER" => "to-master",
            "BACKUP" => "to-backup x",
            "FAULT" => "to-fault",
            _ => "",
        };
        expected.push(own.to_owned());
        expected.push(format!("generic INSTANCE VI_1 {state} {prio}"));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), expected.len() * 2, "hook log:\n{text}");
    let mut last_time = 0.0f64;
    for (pair, want) in lines.chunks(2).zip(&expected) {
        let start = pair[0]
            .strip_prefix("start ")
            .unwrap_or_else(|| panic!("start line expected, got {pair:?}\n{text}"));
        let (meta, args) = start.split_once('|').unwrap();
        let fields: Vec<&str> = meta.split(' ').collect();
        let time: f64 = fields[0].parse().unwrap();
        assert!(time >= last_time, "timestamps in order: {text}");
        last_time = time;
        assert_eq!(fields[1], "65534", "runs as script_user nobody: {text}");
        assert_eq!(
            fields[2], "65534",
            "only nobody's group, root's supplementary groups dropped: {text}"
        );
        assert!(
            fields[3].starts_with("/usr/local/sbin:"),
            "clean PATH: {text}"
        );
        assert_eq!(args, want, "argv of the hook: {text}");
        assert_eq!(
            pair[1].trim_end(),
            format!("end {want}").trim_end(),
            "one hook at a time, never interleaved: {text}"
        );
    }
}

#[test]
fn sync_group_lines_follow_their_members() {
    if !root_or_skip("sync_group_lines_follow_their_members") {
        return;
    }
    let b = Bench::new("opc-", 1, 1);
    let log = b.dir.join("group.log");
    let hook = b.write(
        "ghook.sh",
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    );
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let fifo = b.dir.join("g.fifo");
    let conf = format!(
        "global_defs {{\n    notify_fifo {}\n}}\nvrrp_sync_group SG {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    notify \"{} grp\"\n}}\n",
        fifo.display(),
        hook.display()
    ) + &instance(
        "VI_1",
        "eth0",
        73,
        150,
        &["10.99.0.73/24"],
        AuthCfg::None,
        "",
    ) + &instance(
        "VI_2",
        "eth0",
        74,
        120,
        &["10.99.0.74/24"],
        AuthCfg::None,
        "",
    );
    let c = b.write("r1.conf", &conf);
    let mut r1 = b.vrrpd(1, &c);
    assert!(Lab::wait_until(Duration::from_secs(5), || fifo.exists()));
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let vip = std::net::Ipv4Addr::new(10, 99, 0, 74);
    assert_eq!(
        b.wait_holders(vip, &[1], Duration::from_secs(15)),
        [1],
        "{}",
        b.logs()
    );
    b.lab.link_down(1, 0).unwrap();
    assert!(Lab::wait_until(Duration::from_secs(5), || {
        b.state(1, "VI_2").as_deref() == Some("FAULT")
    }));
    std::thread::sleep(Duration::from_millis(300));
    r1.signal("TERM").unwrap();
    assert_eq!(r1.wait_timeout(Duration::from_secs(10)), Some(Some(0)));
    let mut text = String::new();
    drain_fifo(&mut reader, &mut text);
    let lines: Vec<&str> = text.lines().collect();
    println!("{text}");
    // Every group line comes right after the member lines that caused it.
    let group_lines: Vec<&&str> = lines.iter().filter(|l| l.starts_with("GROUP")).collect();
    assert_eq!(
        group_lines,
        [
            &"GROUP \"SG\" BACKUP 0",
            &"GROUP \"SG\" MASTER 0",
            &"GROUP \"SG\" FAULT 0",
            &"GROUP \"SG\" STOP 0"
        ],
        "{text}"
    );
    let fault = lines
        .iter()
        .position(|l| *l == "GROUP \"SG\" FAULT 0")
        .unwrap();
    let faults_before: Vec<&&str> = lines[..fault]
        .iter()
        .filter(|l| l.ends_with("FAULT 150") || l.ends_with("FAULT 120"))
        .collect();
    assert_eq!(
        faults_before.len(),
        2,
        "both members' FAULT lines first: {text}"
    );
    // The group's generic hook got keepalived's GROUP arguments, in order.
    let hooks = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        hooks,
        "grp GROUP SG BACKUP 0\ngrp GROUP SG MASTER 0\ngrp GROUP SG FAULT 0\ngrp GROUP SG STOP 0\n"
    );
}
