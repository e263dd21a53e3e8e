//! The command line: `-t` exit statuses and diagnostics, `--version`, bad arguments,
//! and `--pid-file` refusing a second daemon. No root needed.

use std::path::PathBuf;
use std::process::{Command, Output};

const VRRPD: &str = env!("CARGO_BIN_EXE_vrrpd");

fn temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vrrpd-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    Command::new(VRRPD).args(args).output().expect("run vrrpd")
}

fn check(name: &str, text: &str) -> (i32, String) {
    let path = temp(name, text);
    let out = run(&["-t", "-f", &path.display().to_string()]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CLEAN: &str = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.1/24\n    }\n}\n";

#[test]
fn config_test_statuses() {
    assert_eq!(check("clean.conf", CLEAN), (0, String::new()));

    let (code, err) = check(
        "error.conf",
        &CLEAN.replace("priority 100", "priority 100\n    bogus_keyword 1"),
    );
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("error.conf:5:5: error:"),
        "file:line:col in {err:?}"
    );

    let (code, err) = check(
        "fatal.conf",
        &format!("global_defs {{\n    vrrp_version 3\n}}\n{CLEAN}"),
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("fatal.conf:2:"), "{err}");

    let out = run(&["-t", "-f", "/nonexistent/vrrpd.conf"]);
    assert_eq!(out.status.code(), Some(4));

    // Warnings alone exit 0; unsupported features are reported as warnings.
    let (code, err) = check(
        "warn.conf",
        &CLEAN.replace(
            "priority 100",
            "priority 100\n    virtual_routes {\n        2001:db8:1::/64 dev eth0\n    }",
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("IPv6 virtual route"), "{err}");
    // track_file is implemented: no warning.
    let (code, err) = check(
        "track.conf",
        &format!(
            "track_file tf {{\n    file /tmp/x\n}}\n{}",
            CLEAN.replace(
                "priority 100",
                "priority 100\n    track_file {\n        tf\n    }"
            )
        ),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("track_file"), "{err}");
}

#[test]
fn version_help_and_bad_arguments() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vrrpd "));
    assert!(run(&["--help"]).status.success());
    assert_eq!(run(&["--frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["-f"]).status.code(), Some(2));
}

#[test]
fn pid_file_held_by_a_live_process_is_refused() {
    let mut holder = Command::new("sleep").arg("10").spawn().unwrap();
    let pid = temp("held.pid", &format!("{}\n", holder.id()));
    let out = run(&[
        "-f",
        &temp("c.conf", CLEAN).display().to_string(),
        "--pid-file",
        &pid.display().to_string(),
    ]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("held by running process"));
}

#[test]
fn unreadable_config_fails_to_start() {
    let out = run(&["-f", "/nonexistent/vrrpd.conf"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn config_test_checks_scripts_and_users() {
    let plain = temp("not-exec.sh", "#!/bin/sh\n");
    let conf = format!(
        "global_defs {{\n    vrrp_garp_interval 0.01\n}}\n{}",
        CLEAN.replace(
            "priority 100",
            &format!(
                "priority 100\n    notify_master /nonexistent/hook.sh\n    notify_backup {}\n    notify \"/bin/true x\" no_such_user_zz",
                plain.display()
            )
        )
    );
    let (code, err) = check("scripts.conf", &conf);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("notify_master script disabled: /nonexistent/hook.sh"),
        "{err}"
    );
    assert!(err.contains("not-exec.sh is not executable"), "{err}");
    assert!(err.contains("unknown user \"no_such_user_zz\""), "{err}");
    assert!(
        !err.contains("garp_interval"),
        "garp_interval is implemented: {err}"
    );

    // The same with a good script and a known user is clean.
    let good = CLEAN.replace(
        "priority 100",
        "priority 100\n    notify \"/bin/true x\" nobody",
    );
    assert_eq!(check("good.conf", &good), (0, String::new()));
}

#[test]
fn status_without_a_daemon_fails_clearly() {
    let out = run(&["status", "--control-socket", "/nonexistent/vrrpd.sock"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the daemon at /nonexistent/vrrpd.sock"),
        "{err}"
    );
    let out = run(&["events", "--control-socket", "/nonexistent/vrrpd.sock"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn scripts_others_can_change_are_refused_with_script_security_and_warned_about_without() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let open = temp("placeholder", "").with_file_name("open");
    std::fs::create_dir_all(&open).unwrap();
    let hook = open.join("hook.sh");
    std::fs::write(&hook, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Anyone may replace what this directory holds.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let with_hook = CLEAN.replace(
        "priority 100",
        &format!("priority 100\n    notify_master {}", hook.display()),
    );

    let (code, err) = check("insecure-warn.conf", &with_hook);
    assert_eq!(code, 0, "a warning only: {err}");
    assert!(err.contains("SECURITY VIOLATION"), "{err}");
    assert!(err.contains("writable by everyone"), "{err}");

    let secured = format!("global_defs {{\n    enable_script_security\n}}\n{with_hook}");
    let (code, err) = check("insecure-refused.conf", &secured);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("notify_master script disabled: insecure to run as root"),
        "{err}"
    );

    // A link in that directory to a safe program is refused too: the link can be
    // repointed.
    let link = open.join("true-link");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("/bin/true", &link).unwrap();
    let via_link = format!(
        "global_defs {{\n    enable_script_security\n}}\n{}",
        CLEAN.replace(
            "priority 100",
            &format!("priority 100\n    notify_master {}", link.display()),
        )
    );
    let (code, err) = check("insecure-link.conf", &via_link);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("insecure to run as root"), "{err}");

    // A tracked vrrp_script from there is refused too.
    let script = format!(
        "global_defs {{\n    enable_script_security\n}}\nvrrp_script chk {{\n    script \"{}\"\n}}\n{}",
        hook.display(),
        CLEAN.replace(
            "priority 100",
            "priority 100\n    track_script {\n        chk\n    }"
        )
    );
    let (code, err) = check("insecure-script.conf", &script);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("vrrp_script chk: insecure to run as root"),
        "{err}"
    );

    // Closed again, and owned by root: accepted without a word (only checkable as root).
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    if std::fs::metadata(&hook).unwrap().uid() == 0 {
        assert_eq!(check("secure.conf", &secured), (0, String::new()));
    }
}
