//! The edge-case table of keepalived-conf-examples.md (one test per row), plus the other
//! keepalived fix-ups and checks the parser reproduces. Messages are keepalived's wording;
//! positions are checked to the line and column.

use kaconf::{
    AuthKind, Config, Diagnostic, InitialState, MemLoader, Severity, config_test_status, parse_str,
};

const S: u64 = 1_000_000;

fn parse(text: &str) -> (Config, Vec<Diagnostic>) {
    parse_str("t.conf", text, &MemLoader::new()).expect("no fatal diagnostics")
}

/// Wraps instance body lines: line 1 is `vrrp_instance NAME {`, body starts on line 2.
/// Unless the body has VIPs, one is added on the closing line (keepalived complains about
/// instances without any) so line numbers are unchanged.
fn instance(name: &str, body: &str) -> String {
    if body.contains("virtual_ipaddress") {
        format!("vrrp_instance {name} {{\n{body}}}\n")
    } else {
        format!("vrrp_instance {name} {{\n{body}    virtual_ipaddress {{ 192.0.2.1 }} }}\n")
    }
}

const BASE: &str = "    interface eth0\n    virtual_router_id 51\n";

/// Asserts that a diagnostic with exactly this message exists at `line:col`; returns it.
#[track_caller]
fn expect<'d>(diags: &'d [Diagnostic], message: &str, line: u32, col: u32) -> &'d Diagnostic {
    let found = diags
        .iter()
        .find(|d| d.message == message)
        .unwrap_or_else(|| panic!("no diagnostic {message:?} in {diags:#?}"));
    assert_eq!(
        (found.line, found.col),
        (line, col),
        "position of {message:?}"
    );
    assert_eq!(found.file, "t.conf");
    found
}

#[test]
fn auth_pass_truncated_to_8() {
    let text = instance(
        "VI_1",
        &format!(
            "{BASE}    authentication {{\n        auth_type PASS\n        auth_pass verylongpassword\n    }}\n"
        ),
    );
    let (config, diags) = parse(&text);
    let d = expect(&diags, "Truncating auth_pass to 8 characters", 6, 19);
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(
        d.to_string(),
        "t.conf:6:19: error: Truncating auth_pass to 8 characters"
    );
    assert_eq!(diags.len(), 1);
    let auth = config.instances[0].auth.unwrap();
    assert_eq!((auth.kind, &auth.key), (AuthKind::Pass, b"verylong"));
    assert_eq!(config_test_status(&diags), 5);
}

#[test]
fn unknown_state_defaults_to_backup() {
    let text = instance(
        "VI_1",
        &format!("{BASE}    state Master\n    priority 100\n"),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_1) unknown state 'Master', defaulting to BACKUP",
        4,
        11,
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(config.instances[0].initial_state, InitialState::Backup);
}

#[test]
fn state_master_without_priority_is_owner() {
    let (config, diags) = parse(&instance("VI_1", &format!("{BASE}    state MASTER\n")));
    assert!(diags.is_empty(), "{diags:#?}");
    let vi = &config.instances[0];
    assert_eq!((vi.priority, vi.initial_state), (255, InitialState::Master));
    assert!(vi.is_owner());
    // And without state, the priority decides the state.
    let (config, _) = parse(&instance("VI_1", &format!("{BASE}    priority 255\n")));
    assert_eq!(config.instances[0].initial_state, InitialState::Master);
    let (config, _) = parse(&instance("VI_1", BASE));
    assert_eq!(
        (
            config.instances[0].priority,
            config.instances[0].initial_state
        ),
        (100, InitialState::Backup)
    );
}

#[test]
fn ah_with_non_owner_master_is_cleared() {
    let text = instance(
        "VI_2",
        &format!(
            "{BASE}    state MASTER\n    priority 100\n    authentication {{\n        auth_type AH\n        auth_pass secret\n    }}\n"
        ),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_2) Initial state master is incompatible with AH authentication - clearing",
        4,
        11,
    );
    assert_eq!(diags.len(), 1);
    assert_eq!(config.instances[0].initial_state, InitialState::Backup);
    // An owner keeps MASTER with AH.
    let owner = text.replace("    priority 100\n", "");
    let (config, diags) = parse(&owner);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.instances[0].initial_state, InitialState::Master);
}

#[test]
fn fractional_advert_int_is_rounded() {
    let text = instance("VI_2", &format!("{BASE}    advert_int 0.5\n"));
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_2) VRRPv2 advertisement interval 0.500000s must be an integer. rounding",
        4,
        16,
    );
    assert_eq!(config.instances[0].advert_int_us, S);
    let (config, diags) = parse(&instance("VI_2", &format!("{BASE}    advert_int 2.4\n")));
    assert_eq!(diags.len(), 1);
    assert_eq!(config.instances[0].advert_int_us, 2 * S);
    // Out of range: keepalived ignores the value (the default 1 s stays).
    for bad in ["300", "0", "0.001"] {
        let (config, diags) = parse(&instance("VI_2", &format!("{BASE}    advert_int {bad}\n")));
        let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                format!("number '{bad}' outside range [0.010000, 255.000000]"),
                format!("(VI_2) Advert interval ({bad}) not valid! Must be > 0 - ignoring"),
            ]
        );
        assert!(diags.iter().all(|d| (d.line, d.col) == (4, 16)));
        assert_eq!(config.instances[0].advert_int_us, S);
    }
}

#[test]
fn ipv6_vip_in_ipv4_instance_is_ignored() {
    let text = instance(
        "VI_2",
        &format!("{BASE}    virtual_ipaddress {{\n        10.0.0.1/24\n        fe80::2\n    }}\n"),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_2): address family must match VRRP instance [fe80::2] - ignoring",
        6,
        9,
    );
    assert_eq!(diags.len(), 1);
    let vips: Vec<String> = config.instances[0]
        .vips
        .iter()
        .map(|v| v.addr.to_string())
        .collect();
    assert_eq!(vips, ["10.0.0.1"]);
}

#[test]
fn track_interface_on_own_interface_is_ignored() {
    let text = instance(
        "VI_2",
        &format!("{BASE}    track_interface {{\n        eth0\n        eth1\n    }}\n"),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_2) Ignoring track_interface eth0 since own interface",
        5,
        9,
    );
    assert_eq!(diags.len(), 1);
    let names: Vec<&str> = config.instances[0]
        .track
        .interfaces
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["eth1"]);
}

#[test]
fn nopreempt_with_owner_is_reset() {
    let text = instance("VI_3", &format!("{BASE}    state MASTER\n    nopreempt\n"));
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_3) nopreempt is incompatible with priority 255. resetting nopreempt",
        5,
        5,
    );
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(config.instances[0].preempt);
}

#[test]
fn vrid_out_of_range_drops_instance() {
    let text = instance("VI_3", "    interface eth0\n    virtual_router_id 256\n");
    let (config, diags) = parse(&text);
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "number '256' outside range [1, 255]",
            "(VI_3): VRID '256' not valid - must be between 1 & 255",
            "(VI_3) the virtual router id must be set",
        ]
    );
    expect(&diags, "number '256' outside range [1, 255]", 3, 23);
    expect(
        &diags,
        "(VI_3): VRID '256' not valid - must be between 1 & 255",
        3,
        23,
    );
    expect(&diags, "(VI_3) the virtual router id must be set", 1, 15);
    assert!(config.instances.is_empty());
    assert_eq!(config_test_status(&diags), 5);
}

#[test]
fn double_slash_is_not_a_comment_but_extra_tokens_are_ignored() {
    let (config, diags) = parse(&instance(
        "VI_1",
        &format!("{BASE}    priority 100 // note\n"),
    ));
    // Accepted as keepalived does, with a warning naming the first ignored word.
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].severity, kaconf::Severity::Warning);
    assert_eq!(
        diags[0].message,
        "extra argument(s) ignored after 'priority': '//'"
    );
    assert_eq!(config_test_status(&diags), 0);
    assert_eq!(config.instances[0].priority, 100);
}

#[test]
fn no_line_continuation() {
    let (config, diags) = parse(&instance(
        "VI_1",
        &format!("{BASE}    priority \\\n    150\n"),
    ));
    expect(&diags, "Unknown keyword 'priority\\'", 4, 5);
    expect(&diags, "Unknown keyword '150'", 5, 5);
    assert_eq!(diags.len(), 2);
    assert_eq!(config.instances[0].priority, 100);
}

#[test]
fn track_script_defined_later_is_not_found() {
    let text = format!(
        "{}vrrp_script chk_late {{\n    script /bin/true\n}}\n",
        instance(
            "VI_1",
            &format!("{BASE}    track_script {{\n        chk_late\n    }}\n")
        )
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_1) track script chk_late not found, ignoring...",
        5,
        9,
    );
    assert_eq!(diags.len(), 1);
    assert!(config.instances[0].track.scripts.is_empty());
    assert!(config.script("chk_late").is_some());
}

#[test]
fn unknown_keyword_with_block_is_skipped_whole() {
    let text = instance(
        "VI_1",
        &format!("{BASE}    priority 90\n    foo_block {{ priority 50 }}\n    advert_int 3\n"),
    );
    let (config, diags) = parse(&text);
    expect(&diags, "Unknown keyword 'foo_block'", 5, 5);
    expect(&diags, "Unexpected '{' - ignoring", 5, 15);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    // Stricter than keepalived: the unknown block's content is not applied, its '}' does
    // not close the instance, and the instance goes on.
    let vi = &config.instances[0];
    assert_eq!(vi.priority, 90);
    assert_eq!(vi.advert_int_us, 3 * S);
}

#[test]
fn quoted_secret_keeps_comment_characters() {
    let text = instance(
        "VI_1",
        &format!(
            "{BASE}    authentication {{\n        auth_type AH\n        auth_pass \"k3y!#x\"   # comment\n    }}\n"
        ),
    );
    let (config, diags) = parse(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(config.instances[0].auth.unwrap().key, *b"k3y!#x\0\0");
}

#[test]
fn one_line_block() {
    let text = instance(
        "VI_1",
        &format!("{BASE}    virtual_ipaddress {{ 10.0.0.1/24 dev eth0 }}\n"),
    );
    let (config, diags) = parse(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let vip = &config.instances[0].vips[0];
    assert_eq!(
        (vip.addr.to_string(), vip.prefix_len, vip.dev.as_str()),
        ("10.0.0.1".into(), 24, "eth0")
    );
    assert_eq!(config_test_status(&diags), 0);
}

// ----- further keepalived checks (vrrp.md §7.3) ------------------------------------------

#[test]
fn state_master_clears_nopreempt_and_preempt_delay() {
    let text = instance(
        "VI_1",
        &format!("{BASE}    state MASTER\n    priority 150\n    nopreempt\n    preempt_delay 10\n"),
    );
    let (config, diags) = parse(&text);
    let d = expect(
        &diags,
        "(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing",
        6,
        5,
    );
    assert_eq!(d.severity, Severity::Error, "keepalived -t exits 5 for it");
    expect(
        &diags,
        "(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing",
        7,
        19,
    );
    let vi = &config.instances[0];
    assert!(vi.preempt);
    assert_eq!(vi.preempt_delay_us, 0);
}

#[test]
fn nopreempt_clears_preempt_delay() {
    let text = instance(
        "VI_1",
        &format!("{BASE}    nopreempt\n    preempt_delay 10\n"),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_1) preempt_delay is incompatible with nopreempt mode - resetting",
        5,
        19,
    );
    assert!(!config.instances[0].preempt);
    assert_eq!(config.instances[0].preempt_delay_us, 0);
    // `preempt` after `nopreempt` re-enables preemption.
    let (config, _) = parse(&instance(
        "VI_1",
        &format!("{BASE}    nopreempt\n    preempt\n"),
    ));
    assert!(config.instances[0].preempt);
}

#[test]
fn priority_out_of_range() {
    let (config, diags) = parse(&instance("VI_1", &format!("{BASE}    priority 0\n")));
    expect(&diags, "number '0' outside range [1, 255]", 4, 14);
    expect(
        &diags,
        "(VI_1) Priority not valid! must be between 1 & 255. Using default 100",
        4,
        14,
    );
    assert_eq!(config.instances[0].priority, 100);
    let (_, diags) = parse(&instance("VI_1", &format!("{BASE}    priority high\n")));
    expect(&diags, "invalid number 'high'", 4, 14);
}

#[test]
fn missing_vrid_and_interface() {
    let (config, diags) = parse(&instance("VI_9", "    interface eth0\n"));
    expect(&diags, "(VI_9) the virtual router id must be set", 1, 15);
    assert!(config.instances.is_empty());
    let (config, diags) = parse(&instance("VI_9", "    virtual_router_id 9\n"));
    expect(&diags, "(VI_9) Unknown interface!", 1, 15);
    assert!(config.instances.is_empty());
}

#[test]
fn duplicate_and_excess_vips() {
    let mut body = String::from(BASE);
    body.push_str("    virtual_ipaddress {\n        10.0.0.1/24\n        10.0.0.1/24\n    }\n");
    let (config, diags) = parse(&instance("VI_1", &body));
    let d = expect(&diags, "(VI_1) duplicate VIP 10.0.0.1 - ignoring", 6, 9);
    assert_eq!(
        d.severity,
        Severity::Warning,
        "keepalived -t accepts it silently"
    );
    assert_eq!(config.instances[0].vips.len(), 1);

    let mut body = String::from(BASE);
    body.push_str("    virtual_ipaddress {\n");
    for i in 0..300u32 {
        body.push_str(&format!("        10.1.{}.{}\n", i / 250, i % 250 + 1));
    }
    body.push_str("    }\n");
    let (config, diags) = parse(&instance("VI_1", &body));
    let d = expect(
        &diags,
        "(VI_1) Number of VIPs (300) exceeds maximum/space available in packet (max 255 addresses) - excess moved to eVIPs",
        5 + 255,
        9,
    );
    assert_eq!(d.severity, Severity::Error);
    let vi = &config.instances[0];
    assert_eq!(vi.vips.len(), 255);
    assert_eq!(vi.excluded_vips.len(), 45);
    assert_eq!(vi.excluded_vips[0].addr.to_string(), "10.1.1.6");
}

#[test]
fn brd_variants() {
    let body = format!(
        "{BASE}    virtual_ipaddress {{\n        10.1.2.3/8 brd +\n        10.4.5.6/16 brd -\n        10.7.8.9/24 brd 10.7.8.127\n        10.9.9.9 brd +\n    }}\n"
    );
    let (config, diags) = parse(&instance("VI_1", &body));
    assert!(diags.is_empty(), "{diags:#?}");
    let brds: Vec<String> = config.instances[0]
        .vips
        .iter()
        .map(|v| v.broadcast.unwrap().to_string())
        .collect();
    assert_eq!(
        brds,
        ["10.255.255.255", "10.4.0.0", "10.7.8.127", "10.9.9.9"]
    );
}

#[test]
fn unknown_vip_option_and_long_label() {
    let body = format!(
        "{BASE}    virtual_ipaddress {{\n        10.0.0.1/24 bogus label averyveryverylonglabel\n    }}\n"
    );
    let (config, diags) = parse(&instance("VI_1", &body));
    expect(
        &diags,
        "Unknown configuration entry 'bogus' for ip address - ignoring",
        5,
        21,
    );
    expect(
        &diags,
        "Address label averyveryverylonglabel is longer than maximum length 15 - removing address",
        5,
        33,
    );
    assert!(config.instances[0].vips.is_empty());
    expect(
        &diags,
        "(VI_1) No VIP specified; at least one is sensible",
        1,
        15,
    );
}

#[test]
fn ipv6_excluded_vips_allowed_and_deprecation() {
    let body = format!(
        "{BASE}    virtual_ipaddress_excluded {{\n        2001:db8::1\n        2001:db8::2 preferred_lft forever\n        2001:db8::3/64\n    }}\n"
    );
    let (config, diags) = parse(&instance("VI_1", &body));
    assert!(diags.is_empty(), "{diags:#?}");
    let deprecated: Vec<bool> = config.instances[0]
        .excluded_vips
        .iter()
        .map(|v| v.deprecated)
        .collect();
    assert_eq!(deprecated, [true, false, false]);
}

fn sync_config(group_body: &str) -> String {
    format!(
        "vrrp_script chk {{\n    script /bin/true\n    weight 10\n}}\n\
         vrrp_sync_group G1 {{\n{group_body}}}\n\
         vrrp_instance VI_A {{\n    interface eth0\n    virtual_router_id 1\n    track_interface {{\n        eth5 weight 10\n    }}\n    track_script {{\n        chk\n    }}\n    virtual_ipaddress {{ 10.9.9.1 }} }}\n\
         vrrp_instance VI_B {{\n    interface eth1\n    virtual_router_id 2\n    virtual_ipaddress {{ 10.9.9.2 }} }}\n"
    )
}

#[test]
fn sync_group_members_must_exist_and_be_unique() {
    let text = format!(
        "{}vrrp_sync_group G2 {{\n    group {{ VI_A }}\n}}\n",
        sync_config("    group {\n        VI_A VI_B\n        VI_NOPE\n    }\n")
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "Virtual router VI_NOPE specified in sync group G1 doesn't exist - ignoring",
        8,
        9,
    );
    expect(
        &diags,
        "Virtual router VI_A cannot exist in more than one sync group; ignoring G2 (already in G1)",
        26,
        13,
    );
    expect(
        &diags,
        "Sync group G2, no matching virtual router found in group declaration - removing",
        25,
        17,
    );
    let g1 = config.sync_group("G1").unwrap();
    assert_eq!(g1.members, ["VI_A", "VI_B"]);
    assert!(config.sync_group("G2").is_none());
    assert_eq!(
        config.instance("VI_A").unwrap().sync_group.as_deref(),
        Some("G1")
    );
}

#[test]
fn weights_on_sync_members_are_ignored() {
    let (config, diags) = parse(&sync_config(
        "    group {\n        VI_A\n        VI_B\n    }\n",
    ));
    let d = expect(
        &diags,
        "(VI_A) ignoring eth5 tracked interface weight due to SYNC group",
        15,
        9,
    );
    assert_eq!(d.severity, Severity::Error);
    expect(
        &diags,
        "(VI_A) ignoring tracked script chk with weights due to SYNC group",
        18,
        9,
    );
    let vi = config.instance("VI_A").unwrap();
    assert_eq!(vi.track.interfaces[0].weight, 0);
    assert!(vi.track.scripts.is_empty());
    assert_eq!(config_test_status(&diags), 5);
}

#[test]
fn one_member_group_warns() {
    let (config, diags) = parse(&sync_config("    group {\n        VI_B\n    }\n"));
    let d = expect(
        &diags,
        "Sync group G1 has only 1 virtual router(s) - this probably isn't what you want",
        5,
        17,
    );
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(config.sync_groups.len(), 1);
}

#[test]
fn duplicate_vrid_on_same_interface() {
    let text = format!("{}{}", instance("VI_A", BASE), instance("VI_B", BASE));
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "VI_A and VI_B both use VRID 51 with IPv4 on interface eth0",
        5,
        15,
    );
    assert_eq!(config.instances.len(), 1);
    // Same VRID on another interface is fine.
    let text = format!(
        "{}{}",
        instance("VI_A", BASE),
        instance("VI_B", &BASE.replace("eth0", "eth1"))
    );
    let (config, diags) = parse(&text);
    assert!(diags.is_empty());
    assert_eq!(config.instances.len(), 2);
}

#[test]
fn owner_drops_weighted_trackers() {
    let text = instance(
        "VI_1",
        &format!(
            "{BASE}    priority 255\n    track_interface {{\n        eth1 weight 5\n        eth2\n    }}\n"
        ),
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_1) ignoring eth1 tracked interface due to address owner",
        6,
        9,
    );
    let names: Vec<&str> = config.instances[0]
        .track
        .interfaces
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["eth2"]);
}

#[test]
fn vrrp_version_3_is_fatal() {
    let err = parse_str(
        "t.conf",
        "global_defs {\n    vrrp_version 3\n}\n",
        &MemLoader::new(),
    )
    .unwrap_err();
    let kaconf::FatalError::Invalid { first, diagnostics } = &err else {
        panic!("{err}");
    };
    assert_eq!(
        (first.line, first.col, first.severity),
        (2, 18, Severity::Fatal)
    );
    assert_eq!(config_test_status(diagnostics), 4);
    let err = parse_str(
        "t.conf",
        &instance("VI_1", &format!("{BASE}    version 3\n")),
        &MemLoader::new(),
    );
    assert!(err.is_err());
    let (_, diags) = parse("global_defs {\n    vrrp_version 2\n}\n");
    assert!(diags.is_empty());
}

#[test]
fn unsupported_keywords_warn_and_skip_blocks() {
    let text = "global_defs {\n    notification_email {\n        a@b.c\n    }\n    vrrp_strict\n    router_id r1\n}\nvirtual_server 10.0.0.1 80 {\n    real_server 10.0.0.2 80 {\n        weight 1\n    }\n}\n";
    let (config, diags) = parse(text);
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:#?}"
    );
    expect(
        &diags,
        "'notification_email' is not supported by this implementation - ignoring",
        2,
        5,
    );
    expect(
        &diags,
        "'vrrp_strict' is not supported by this implementation - ignoring",
        5,
        5,
    );
    expect(
        &diags,
        "'virtual_server' is not supported by this implementation - ignoring",
        8,
        1,
    );
    assert_eq!(diags.len(), 3);
    assert_eq!(config.global.router_id.as_deref(), Some("r1"));
}

#[test]
fn garp_inheritance_of_lower_prio_values() {
    let text = format!(
        "global_defs {{\n    vrrp_garp_master_repeat 2\n    vrrp_garp_lower_prio_delay 7\n}}\n{}",
        instance(
            "VI_1",
            &format!(
                "{BASE}    garp_master_repeat 4\n    garp_lower_prio_repeat 9\n    garp_master_refresh 30.5\n"
            )
        )
    );
    let (config, diags) = parse(&text);
    assert!(diags.is_empty(), "{diags:#?}");
    let g = &config.global.garp;
    assert_eq!(
        (g.master_repeat, g.lower_prio_repeat, g.lower_prio_delay_us),
        (2, 2, 7 * S)
    );
    let garp = &config.instances[0].garp;
    assert_eq!(garp.master_repeat, 4);
    assert_eq!(garp.lower_prio_repeat, 9);
    assert_eq!(garp.lower_prio_delay_us, 7 * S);
    assert_eq!(garp.master_delay_us, 5 * S);
    assert_eq!(garp.master_refresh_us, 30_500_000);
}

#[test]
fn misc_instance_options() {
    let body = format!(
        "{BASE}    use_vmac vrrp51\n    vmac_xmit_base\n    dont_track_primary\n    down_timer_adverts 5\n    unicast_ttl 64\n    mcast_src_ip 10.0.0.5\n    lower_prio_no_advert\n    higher_prio_send_advert off\n    smtp_alert\n    notify_master \"/bin/n.sh a\" user1:grp\n    notify_stop /bin/stop.sh user2 grp2\n    virtual_routes {{\n        src 10.0.0.5 to 10.2.0.0/16 gw 10.0.0.254 dev eth0 table 100 metric 7 scope link\n        blackhole default\n    }}\n"
    );
    let (config, diags) = parse(&instance("VI_1", &body));
    assert!(diags.is_empty(), "{diags:#?}");
    let vi = &config.instances[0];
    assert_eq!(vi.vmac.as_deref(), Some("vrrp51"));
    assert!(vi.vmac_xmit_base && vi.dont_track_primary && vi.lower_prio_no_advert && vi.smtp_alert);
    assert!(!vi.higher_prio_send_advert);
    assert_eq!((vi.down_timer_adverts, vi.unicast_ttl), (5, 64));
    assert_eq!(vi.source_addr.unwrap().to_string(), "10.0.0.5");
    let master = vi.notify.master.as_ref().unwrap();
    assert_eq!(master.argv, ["/bin/n.sh", "a"]);
    let run_as = master.run_as.as_ref().unwrap();
    assert_eq!(
        (run_as.user.as_str(), run_as.group.as_deref()),
        ("user1", Some("grp"))
    );
    let stop = vi.notify.stop.as_ref().unwrap().run_as.as_ref().unwrap();
    assert_eq!(
        (stop.user.as_str(), stop.group.as_deref()),
        ("user2", Some("grp2"))
    );
    let route = &vi.virtual_routes[0];
    assert_eq!(route.src.unwrap().to_string(), "10.0.0.5");
    assert_eq!(
        (route.dst.to_string(), route.prefix_len),
        ("10.2.0.0".into(), 16)
    );
    assert_eq!((route.table, route.metric), (Some(100), Some(7)));
    assert_eq!(route.scope, Some(kaconf::Scope::Link));
    let blackhole = &vi.virtual_routes[1];
    assert_eq!(blackhole.kind, kaconf::RouteKind::Blackhole);
    assert_eq!(
        (blackhole.dst.to_string(), blackhole.prefix_len),
        ("0.0.0.0".into(), 0)
    );
    // Default VMAC name.
    let (config, _) = parse(&instance("VI_1", &format!("{BASE}    use_vmac\n")));
    assert_eq!(config.instances[0].vmac.as_deref(), Some("vrrp.51"));
}

#[test]
fn track_file_in_instance_and_reverse() {
    let text = format!(
        "track_file tf {{\n    file /tmp/x\n    weight 3 reverse\n    init_file 7 overwrite\n}}\n{}",
        instance(
            "VI_1",
            &format!("{BASE}    track_file {{\n        tf\n        missing weight 2\n    }}\n")
        )
    );
    let (config, diags) = parse(&text);
    expect(
        &diags,
        "(VI_1) track file missing not found, ignoring...",
        11,
        9,
    );
    let tf = config.track_file("tf").unwrap();
    assert_eq!((tf.weight, tf.reverse), (3, true));
    assert_eq!(
        tf.init_file.map(|i| (i.value, i.overwrite)),
        Some((7, true))
    );
    let tracked = &config.instances[0].track.files;
    assert_eq!(tracked.len(), 1);
    assert_eq!((tracked[0].weight, tracked[0].reverse), (3, true));
}
