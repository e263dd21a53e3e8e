//! Loads every keepalived configuration used to record the golden captures in
//! `tests/vectors/keepalived/*/` and checks the values the captures depend on.

use std::path::PathBuf;

use kaconf::{AuthKind, Config, Diagnostic, InitialState, Instance};

const S: u64 = 1_000_000;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/keepalived")
}

fn load(relative: &str) -> (Config, Vec<Diagnostic>) {
    let path = vectors_dir().join(relative);
    kaconf::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn only_instance(config: &Config) -> &Instance {
    assert_eq!(config.instances.len(), 1);
    &config.instances[0]
}

fn vip_texts(instance: &Instance) -> Vec<String> {
    instance
        .vips
        .iter()
        .map(|v| format!("{}/{}", v.addr, v.prefix_len))
        .collect()
}

#[test]
fn every_vector_config_loads() {
    let mut count = 0;
    for scenario in std::fs::read_dir(vectors_dir()).unwrap() {
        let scenario = scenario.unwrap().path();
        if !scenario.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&scenario).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "conf") {
                let (config, diagnostics) =
                    kaconf::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                assert!(!config.instances.is_empty(), "{}", file.display());
                // Only the AH + `state MASTER` configs draw (keepalived's own) complaints.
                let is_ah_master = file.to_string_lossy().contains("c-ah/r1");
                assert_eq!(
                    diagnostics.is_empty(),
                    !is_ah_master,
                    "{}: {diagnostics:#?}",
                    file.display()
                );
                count += 1;
            }
        }
    }
    assert_eq!(count, 19, "number of vector configs");
}

#[test]
fn a_noauth() {
    for (file, router, state, priority) in [
        ("a-noauth/r1.conf", "r1", InitialState::Master, 150),
        ("a-noauth/r2.conf", "r2", InitialState::Backup, 100),
    ] {
        let (config, _) = load(file);
        assert_eq!(config.global.router_id.as_deref(), Some(router));
        let vi = only_instance(&config);
        assert_eq!(vi.name, "VI_1");
        assert_eq!(
            (vi.vrid, vi.priority, vi.initial_state),
            (51, priority, state)
        );
        assert_eq!((vi.interface.as_str(), vi.advert_int_us), ("eth0", S));
        assert_eq!(vi.auth, None);
        assert_eq!(vip_texts(vi), ["10.99.0.200/32"]);
        assert_eq!(vi.vips[0].dev, "eth0");
        assert!(vi.preempt);
    }
}

#[test]
fn b_pass() {
    for (file, key) in [
        ("b-pass/r1.conf", *b"secret12"),
        ("b-pass/r2.conf", *b"secret12"),
        ("b-pass/r1-shortpass.conf", *b"abc\0\0\0\0\0"),
    ] {
        let (config, _) = load(file);
        let vi = only_instance(&config);
        let auth = vi.auth.unwrap();
        assert_eq!((auth.kind, auth.key), (AuthKind::Pass, key), "{file}");
        assert_eq!(vi.vrid, 51);
    }
}

#[test]
fn c_ah() {
    let (config, diags) = load("c-ah/r1.conf");
    let vi = only_instance(&config);
    let auth = vi.auth.unwrap();
    assert_eq!((auth.kind, &auth.key), (AuthKind::Ah, b"secret12"));
    // keepalived logged exactly this for the recorded run; the instance started as BACKUP.
    assert_eq!(diags.len(), 1);
    assert_eq!(
        diags[0].message,
        "(VI_1) Initial state master is incompatible with AH authentication - clearing"
    );
    assert_eq!((diags[0].line, diags[0].col), (7, 11));
    assert_eq!((vi.initial_state, vi.priority), (InitialState::Backup, 150));

    let (config, diags) = load("c-ah/r1-longpass.conf");
    assert_eq!(&only_instance(&config).auth.unwrap().key, b"secret12");
    assert!(diags.iter().any(
        |d| d.message == "Truncating auth_pass to 8 characters" && (d.line, d.col) == (14, 19)
    ));

    let (config, _) = load("c-ah/r2-wrongpass.conf");
    assert_eq!(&only_instance(&config).auth.unwrap().key, b"wrongpw1");
    let (config, _) = load("c-ah/r2.conf");
    let vi = only_instance(&config);
    assert_eq!((vi.initial_state, vi.priority), (InitialState::Backup, 100));
}

#[test]
fn d_sync() {
    for (file, priority) in [("d-sync/r1.conf", 150), ("d-sync/r2.conf", 100)] {
        let (config, _) = load(file);
        assert_eq!(config.sync_groups.len(), 1);
        let group = config.sync_group("G1").unwrap();
        assert_eq!(group.members, ["VI_LAN0", "VI_LAN1"]);
        assert_eq!(group.initial_state, InitialState::Backup);
        for (name, interface, vrid, vip) in [
            ("VI_LAN0", "eth0", 10, "10.99.0.210/32"),
            ("VI_LAN1", "eth1", 11, "10.99.1.210/32"),
        ] {
            let vi = config.instance(name).unwrap();
            assert_eq!(
                (vi.interface.as_str(), vi.vrid, vi.priority),
                (interface, vrid, priority)
            );
            assert_eq!(vip_texts(vi), [vip]);
            assert_eq!(vi.vips[0].dev, interface);
            assert_eq!(vi.sync_group.as_deref(), Some("G1"));
        }
    }
}

#[test]
fn e_multivip() {
    for (file, priority) in [("e-multivip/r1.conf", 200), ("e-multivip/r2.conf", 90)] {
        let (config, _) = load(file);
        let vi = only_instance(&config);
        assert_eq!(
            (vi.name.as_str(), vi.vrid, vi.priority),
            ("VI_77", 77, priority)
        );
        assert_eq!(vi.advert_int_us, 2 * S);
        assert_eq!(
            vip_texts(vi),
            ["10.99.0.201/32", "10.99.0.202/24", "10.99.0.203/32"]
        );
        let labels: Vec<Option<&str>> = vi.vips.iter().map(|v| v.label.as_deref()).collect();
        assert_eq!(labels, [None, Some("eth0:vip2"), None]);
        assert_eq!(vi.excluded_vips.len(), 1);
        assert_eq!(vi.excluded_vips[0].addr.to_string(), "10.99.0.250");
        assert_eq!(vi.excluded_vips[0].prefix_len, 32);
    }
}

#[test]
fn f_nopreempt_and_preempt_delay() {
    let (config, _) = load("f-nopreempt/r1.conf");
    let vi = only_instance(&config);
    assert_eq!(
        (vi.priority, vi.preempt, vi.initial_state),
        (150, false, InitialState::Backup)
    );
    let (config, _) = load("f-nopreempt/r2.conf");
    assert!(only_instance(&config).preempt);

    let (config, _) = load("f-preempt-delay/r1.conf");
    let vi = only_instance(&config);
    assert!(vi.preempt);
    assert_eq!(vi.preempt_delay_us, 5 * S);
    let (config, _) = load("f-preempt-delay/r2.conf");
    assert_eq!(only_instance(&config).preempt_delay_us, 0);
}

#[test]
fn g_vmac() {
    for file in ["g-vmac/r1.conf", "g-vmac/r2.conf"] {
        let (config, _) = load(file);
        let vi = only_instance(&config);
        assert_eq!(vi.vmac.as_deref(), Some("vrrp.51"));
        assert!(!vi.vmac_xmit_base);
        assert_eq!(vi.interface, "eth0");
        // keepalived puts the VIPs on the VMAC interface.
        assert_eq!(vi.vips[0].dev, "vrrp.51");
    }
}
