//! Global options, scripts, group trackers and `lvs_sync_daemon` variants.

use kaconf::{InitialState, MemLoader, Severity, parse_str};

const S: u64 = 1_000_000;

#[test]
fn global_options() {
    let text = "global_defs {\n    vrrp_mcast_group4 224.0.0.42\n    vrrp_version 2\n    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert true\n    vrrp_skip_check_adv_addr\n    vrrp_startup_delay 2.5\n    notify_fifo /run/a.fifo\n    script_user ka_user ka_group\n    vrrp_garp_lower_prio_repeat 9\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 5\n    lower_prio_no_advert off\n    virtual_ipaddress { 10.0.0.1 }\n}\n";
    let (config, diags) = parse_str("g.conf", text, &MemLoader::new()).unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    let g = &config.global;
    assert_eq!(g.mcast_group4.to_string(), "224.0.0.42");
    assert!(g.lower_prio_no_advert && g.higher_prio_send_advert && g.skip_check_adv_addr);
    assert_eq!(g.startup_delay_us, 2_500_000);
    assert_eq!(g.notify_fifo.as_deref(), Some("/run/a.fifo"));
    let user = g.script_user.as_ref().unwrap();
    assert_eq!(
        (user.user.as_str(), user.group.as_deref()),
        ("ka_user", Some("ka_group"))
    );
    assert_eq!(g.garp.lower_prio_repeat, 9);
    assert_eq!(g.garp.lower_prio_delay_us, 5 * S);
    let vi = &config.instances[0];
    assert!(!vi.lower_prio_no_advert, "instance overrides global");
    assert!(vi.higher_prio_send_advert && vi.skip_check_adv_addr);
    assert_eq!(vi.garp.lower_prio_repeat, 9);
}

#[test]
fn bad_global_values() {
    let text = "global_defs {\n    vrrp_mcast_group4 10.0.0.1\n    vrrp_check_unicast_src maybe\n    vrrp_garp_master_repeat 0\n}\n";
    let (config, diags) = parse_str("g.conf", text, &MemLoader::new()).unwrap();
    let messages: Vec<(&str, u32, u32)> = diags
        .iter()
        .map(|d| (d.message.as_str(), d.line, d.col))
        .collect();
    assert_eq!(
        messages,
        [
            (
                "vrrp_mcast_group4 '10.0.0.1' is not a multicast address - ignoring",
                2,
                23
            ),
            (
                "invalid boolean 'maybe' (expected on|off|true|false|yes|no)",
                3,
                28
            ),
            ("number '0' outside range [1, 65535]", 4, 29),
        ]
    );
    assert_eq!(config.global.mcast_group4.to_string(), "224.0.0.18");
    assert!(!config.global.check_unicast_src);
    assert_eq!(config.global.garp.master_repeat, 5);
}

#[test]
fn vrrp_script_options() {
    let text = "vrrp_script s1 {\n    script \"/bin/check --name 'a b'\"\n    interval 0.25\n    weight 20 reverse\n    user nobody nogroup\n    init_fail\n}\nvrrp_script s2 {\n    interval 3\n}\nvrrp_script s1 {\n    script /bin/other\n}\n";
    let (config, diags) = parse_str("s.conf", text, &MemLoader::new()).unwrap();
    let messages: Vec<(&str, u32, u32)> = diags
        .iter()
        .map(|d| (d.message.as_str(), d.line, d.col))
        .collect();
    assert_eq!(
        messages,
        [
            ("vrrp_script s2 has no script - ignoring", 8, 13),
            ("vrrp_script s1 already defined - ignoring this one", 11, 13),
        ]
    );
    assert_eq!(config.scripts.len(), 1);
    let s1 = &config.scripts[0];
    assert_eq!(s1.argv, ["/bin/check", "--name", "a b"]);
    assert_eq!((s1.interval_us, s1.timeout_us), (250_000, 250_000));
    assert_eq!((s1.weight, s1.reverse, s1.init_fail), (20, true, true));
    let run_as = s1.run_as.as_ref().unwrap();
    assert_eq!(
        (run_as.user.as_str(), run_as.group.as_deref()),
        ("nobody", Some("nogroup"))
    );
}

#[test]
fn track_script_weight_override_and_reverse() {
    let text = "vrrp_script s {\n    script /bin/true\n    weight -10\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    track_script {\n        s weight 7 reverse\n    }\n    track_interface {\n        eth1 weight 300\n        eth2 weight -5 reverse\n    }\n    virtual_ipaddress { 10.0.0.1 }\n}\n";
    let (config, diags) = parse_str("t.conf", text, &MemLoader::new()).unwrap();
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "number '300' outside range [-253, 253]",
            "(VI_1) weight for eth1 must be between [-253..253] inclusive - ignoring",
        ]
    );
    let track = &config.instances[0].track;
    assert_eq!(
        (track.scripts[0].weight, track.scripts[0].reverse),
        (7, true)
    );
    let interfaces: Vec<(&str, i32, bool)> = track
        .interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight, t.reverse))
        .collect();
    assert_eq!(interfaces, [("eth1", 0, false), ("eth2", -5, true)]);
}

#[test]
fn group_trackers_and_tracking_weight() {
    let members = "vrrp_instance VI_A {\n    interface eth0\n    virtual_router_id 1\n    virtual_ipaddress { 10.0.0.1 }\n}\nvrrp_instance VI_B {\n    interface eth1\n    virtual_router_id 2\n    virtual_ipaddress { 10.0.0.2 }\n}\n";
    let group = |extra: &str| {
        format!(
            "{members}vrrp_sync_group G {{\n    group {{ VI_A VI_B }}\n    track_interface {{\n        eth9 weight 4\n    }}\n{extra}}}\n"
        )
    };
    let (config, diags) = parse_str("g.conf", &group(""), &MemLoader::new()).unwrap();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!((diags[0].line, diags[0].col), (14, 9));
    let g = config.sync_group("G").unwrap();
    assert_eq!(g.track.interfaces[0].weight, 0);
    assert!(!g.tracking_weight);

    let (config, diags) = parse_str(
        "g.conf",
        &group("    sync_group_tracking_weight\n"),
        &MemLoader::new(),
    )
    .unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    let g = config.sync_group("G").unwrap();
    assert_eq!(g.track.interfaces[0].weight, 4);
    assert!(g.tracking_weight);
    assert_eq!(g.initial_state, InitialState::Backup);
}

#[test]
fn all_owner_group_starts_master_and_mixed_group_warns() {
    let text = |b_state: &str| {
        format!(
            "vrrp_sync_group G {{\n    group {{ VI_A VI_B }}\n}}\nvrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 1\n    state MASTER\n    virtual_ipaddress {{ 10.0.0.1 }}\n}}\nvrrp_instance VI_B {{\n    interface eth1\n    virtual_router_id 2\n    state {b_state}\n    virtual_ipaddress {{ 10.0.0.2 }}\n}}\n"
        )
    };
    let (config, diags) = parse_str("g.conf", &text("MASTER"), &MemLoader::new()).unwrap();
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.sync_groups[0].initial_state, InitialState::Master);
    let (config, diags) = parse_str("g.conf", &text("BACKUP"), &MemLoader::new()).unwrap();
    assert_eq!(config.sync_groups[0].initial_state, InitialState::Backup);
    assert_eq!(
        diags[0].message,
        "Sync group G has some member virtual routers with priority 255 and some not - this will not work"
    );
    assert_eq!(diags[0].severity, Severity::Warning);
}

#[test]
fn lvs_sync_daemon_variants() {
    let instance = "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 42\n    virtual_ipaddress { 10.0.0.1 }\n}\n";
    let load = |lvs: &str| {
        parse_str(
            "l.conf",
            &format!("global_defs {{\n    {lvs}\n}}\n{instance}"),
            &MemLoader::new(),
        )
        .unwrap()
    };
    let (config, diags) =
        load("lvs_sync_daemon eth1 inst VI_1 maxlen 1400 port 9000 ttl 3 group 239.1.1.1");
    assert!(diags.is_empty(), "{diags:#?}");
    let lvs = config.global.lvs_sync_daemon.unwrap();
    assert_eq!(lvs.instance.as_deref(), Some("VI_1"));
    assert_eq!(lvs.sync_id, 42, "defaults to the instance's VRID");
    assert_eq!((lvs.max_len, lvs.port, lvs.ttl), (Some(1400), 9000, 3));
    assert_eq!(lvs.group.to_string(), "239.1.1.1");

    let (config, diags) = load("lvs_sync_daemon eth1 VI_NOPE");
    assert_eq!(
        diags[0].message,
        "lvs_sync_daemon vrrp instance VI_NOPE not found - ignoring the instance"
    );
    assert_eq!((diags[0].line, diags[0].col), (2, 26));
    let lvs = config.global.lvs_sync_daemon.unwrap();
    assert_eq!(
        (lvs.instance, lvs.sync_id, lvs.port, lvs.ttl),
        (None, 0, 8848, 1)
    );
    assert_eq!(lvs.group.to_string(), "224.0.0.81");
}
