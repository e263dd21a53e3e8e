//! The five acceptance configurations of keepalived-conf-examples.md, checked field by field
//! against the "Expected parse" lists (what keepalived 2.4.3 itself reported).

use std::net::{IpAddr, Ipv4Addr};

use kaconf::{
    AuthKind, Config, Diagnostic, InitialState, Instance, RouteKind, RunAs, Scope, VirtualAddress,
};

const S: u64 = 1_000_000;

fn load_fixture(name: &str) -> (Config, Vec<Diagnostic>) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    kaconf::load(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load_clean(name: &str) -> Config {
    let (config, diagnostics) = load_fixture(name);
    assert!(
        diagnostics.is_empty(),
        "{name} should load without diagnostics, got: {diagnostics:#?}"
    );
    config
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn v4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn vip(addr: &str, len: u8, dev: &str) -> VirtualAddress {
    VirtualAddress {
        addr: ip(addr),
        prefix_len: len,
        broadcast: None,
        dev: dev.into(),
        scope: Scope::Global,
        label: None,
        no_track: false,
        deprecated: false,
    }
}

fn instance<'c>(config: &'c Config, name: &str) -> &'c Instance {
    config
        .instance(name)
        .unwrap_or_else(|| panic!("instance {name} missing"))
}

#[test]
fn example1_pass_pair() {
    let config = load_clean("example1.conf");
    let g = &config.global;
    assert_eq!(g.router_id.as_deref(), Some("lb1"));
    assert_eq!(g.mcast_group4, v4("224.0.0.18"));
    assert_eq!(g.vrrp_version, 2);
    assert_eq!(g.garp.master_delay_us, 5 * S);
    assert_eq!(g.garp.master_repeat, 5);
    assert_eq!(g.garp.master_refresh_us, 0);
    assert_eq!(g.garp.master_refresh_repeat, 1);
    assert_eq!(g.garp.lower_prio_delay_us, 5 * S);
    assert_eq!(g.garp.lower_prio_repeat, 5);

    assert_eq!(config.instances.len(), 1);
    let vi = instance(&config, "VI_WEB");
    assert_eq!(vi.initial_state, InitialState::Master);
    assert_eq!(vi.interface, "eth0");
    assert_eq!(vi.vrid, 51);
    assert_eq!(vi.priority, 150);
    assert_eq!(vi.advert_int_us, S);
    assert!(vi.preempt);
    assert_eq!(vi.preempt_delay_us, 0);
    let auth = vi.auth.expect("auth");
    assert_eq!(auth.kind, AuthKind::Pass);
    assert_eq!(&auth.key, b"s3cr3tPW");
    assert_eq!(
        vi.source_addr, None,
        "source = eth0's primary address at run time"
    );
    assert_eq!(vi.vips, vec![vip("192.168.10.100", 24, "eth0")]);
    assert!(vi.excluded_vips.is_empty());
    assert!(!vi.is_unicast());
    assert_eq!(vi.garp, g.garp);
}

#[test]
fn example2_ah_brace_on_next_line() {
    let config = load_clean("example2.conf");
    let g = &config.global;
    assert_eq!(g.router_id.as_deref(), Some("fw-a"));
    assert_eq!(g.garp.master_delay_us, 2 * S);
    assert_eq!(g.garp.master_repeat, 3);
    assert_eq!(g.garp.master_refresh_us, 60 * S);
    assert_eq!(g.garp.master_refresh_repeat, 2);
    assert_eq!(g.garp.interval_us, 1_000);
    // Lower-priority GARPs default to the master values.
    assert_eq!(g.garp.lower_prio_delay_us, 2 * S);
    assert_eq!(g.garp.lower_prio_repeat, 3);

    let inside = instance(&config, "VI_INSIDE");
    assert_eq!(inside.initial_state, InitialState::Backup);
    assert_eq!(inside.interface, "eth1");
    assert_eq!(inside.vrid, 10);
    assert_eq!(inside.priority, 200);
    assert_eq!(inside.advert_int_us, 2 * S);
    assert!(!inside.preempt, "nopreempt");
    let auth = inside.auth.expect("auth");
    assert_eq!(auth.kind, AuthKind::Ah);
    assert_eq!(auth.key, [0x6b, 0x33, 0x79, 0x21, 0x23, 0x78, 0, 0]);
    // Instance garp_master_delay overrides the global value; the rest is inherited.
    assert_eq!(inside.garp.master_delay_us, S);
    assert_eq!(inside.garp.master_repeat, 3);
    assert_eq!(inside.garp.master_refresh_us, 60 * S);
    assert_eq!(inside.garp.master_refresh_repeat, 2);
    assert_eq!(inside.garp.interval_us, 1_000);
    let mut expected = vip("10.10.0.1", 24, "eth1");
    expected.broadcast = Some(v4("10.10.0.255"));
    assert_eq!(inside.vips, vec![expected]);

    let outside = instance(&config, "VI_OUTSIDE");
    assert_eq!(outside.initial_state, InitialState::Backup);
    assert_eq!(outside.interface, "eth0");
    assert_eq!(outside.vrid, 20);
    assert_eq!(outside.priority, 100);
    assert_eq!(outside.advert_int_us, S);
    assert!(outside.preempt);
    assert_eq!(outside.preempt_delay_us, 30 * S);
    let auth = outside.auth.expect("auth");
    assert_eq!(auth.kind, AuthKind::Ah);
    assert_eq!(&auth.key, b"outside1");
    assert_eq!(outside.garp.master_delay_us, 2 * S);
    let mut expected = vip("198.51.100.10", 24, "eth0");
    expected.broadcast = Some(v4("198.51.100.255"));
    assert_eq!(outside.vips, vec![expected]);
}

#[test]
fn example3_sync_group_and_notify_scripts() {
    let config = load_clean("example3.conf");
    let g = &config.global;
    assert_eq!(g.router_id.as_deref(), Some("edge-1"));
    assert_eq!(
        g.script_user,
        Some(RunAs {
            user: "keepalived_script".into(),
            group: None
        })
    );
    assert!(g.enable_script_security);
    assert_eq!(g.notify_fifo.as_deref(), Some("/run/keepalived/vrrp.fifo"));
    let lvs = g.lvs_sync_daemon.as_ref().expect("lvs_sync_daemon");
    assert_eq!(lvs.interface, "eth1");
    assert_eq!(lvs.instance.as_deref(), Some("VI_LAN"));
    assert_eq!(lvs.sync_id, 10);
    assert_eq!(lvs.port, 8848);

    assert_eq!(config.sync_groups.len(), 1);
    let group = config.sync_group("G_EDGE").expect("group");
    assert_eq!(group.members, argv(&["VI_WAN", "VI_LAN", "VI_DMZ"]));
    assert_eq!(group.initial_state, InitialState::Backup);
    assert!(group.smtp_alert);
    let script = |s: &Option<kaconf::NotifyScript>| s.as_ref().expect("script").argv.clone();
    assert_eq!(
        script(&group.notify.master),
        argv(&["/etc/keepalived/group-notify.sh", "master", "G_EDGE"])
    );
    assert_eq!(
        script(&group.notify.backup),
        argv(&["/etc/keepalived/group-notify.sh", "backup", "G_EDGE"])
    );
    assert_eq!(
        script(&group.notify.fault),
        argv(&["/etc/keepalived/group-notify.sh", "fault", "G_EDGE"])
    );
    assert_eq!(
        script(&group.notify.generic),
        argv(&["/etc/keepalived/notify-all.sh"])
    );
    assert!(group.notify.stop.is_none());

    let wan = instance(&config, "VI_WAN");
    assert_eq!(
        (
            wan.initial_state,
            wan.interface.as_str(),
            wan.vrid,
            wan.priority,
            wan.advert_int_us
        ),
        (InitialState::Backup, "eth0", 31, 120, S)
    );
    assert_eq!(wan.vips, vec![vip("203.0.113.1", 24, "eth0")]);
    assert_eq!(
        script(&wan.notify.master),
        argv(&["/etc/keepalived/instance-notify.sh", "WAN link", "up"])
    );
    assert_eq!(
        script(&wan.notify.generic),
        argv(&["/etc/keepalived/notify-all.sh"])
    );
    assert!(!wan.smtp_alert);
    assert_eq!(wan.sync_group.as_deref(), Some("G_EDGE"));

    let lan = instance(&config, "VI_LAN");
    assert_eq!(
        (
            lan.initial_state,
            lan.interface.as_str(),
            lan.vrid,
            lan.priority
        ),
        (InitialState::Backup, "eth1", 32, 120)
    );
    assert_eq!(lan.vips, vec![vip("10.0.1.1", 24, "eth1")]);
    assert_eq!(
        script(&lan.notify.generic),
        argv(&["/etc/keepalived/notify-all.sh"])
    );

    let dmz = instance(&config, "VI_DMZ");
    assert_eq!(
        (
            dmz.initial_state,
            dmz.interface.as_str(),
            dmz.vrid,
            dmz.priority
        ),
        (InitialState::Backup, "eth2", 33, 120)
    );
    assert_eq!(dmz.vips, vec![vip("172.16.5.1", 24, "eth2")]);
    let fault = dmz.notify.fault.as_ref().expect("notify_fault");
    assert_eq!(
        fault.argv,
        argv(&["/etc/keepalived/instance-notify.sh", "DMZ", "fault"])
    );
    assert_eq!(
        fault.run_as,
        Some(RunAs {
            user: "root".into(),
            group: None
        })
    );
    assert_eq!(
        script(&dmz.notify.generic),
        argv(&["/etc/keepalived/notify-all.sh"])
    );
    for member in ["VI_WAN", "VI_LAN", "VI_DMZ"] {
        assert_eq!(
            instance(&config, member).sync_group.as_deref(),
            Some("G_EDGE")
        );
    }
}

#[test]
fn example4_tracking() {
    let config = load_clean("example4.conf");
    let g = &config.global;
    assert_eq!(g.router_id.as_deref(), Some("api-1"));
    assert_eq!(
        g.script_user.as_ref().map(|u| u.user.as_str()),
        Some("nobody")
    );
    assert!(g.enable_script_security);

    let haproxy = config.script("chk_haproxy").expect("chk_haproxy");
    assert_eq!(haproxy.argv, argv(&["/usr/bin/pgrep", "-x", "haproxy"]));
    assert_eq!(haproxy.interval_us, 2 * S);
    assert_eq!(haproxy.timeout_us, S);
    assert_eq!(haproxy.weight, -30);
    assert_eq!((haproxy.rise, haproxy.fall), (2, 3));

    let backend = config.script("chk_backend").expect("chk_backend");
    assert_eq!(
        backend.argv,
        argv(&["/etc/keepalived/check_backend.sh", "api pool", "8080"])
    );
    assert_eq!(backend.interval_us, 5 * S);
    assert_eq!(backend.timeout_us, 5 * S, "unset timeout = interval");
    assert_eq!(backend.weight, 0);
    assert_eq!((backend.rise, backend.fall), (1, 2));

    let maintenance = config.track_file("maintenance").expect("track file");
    assert_eq!(maintenance.path, "/etc/keepalived/maintenance");
    assert_eq!(maintenance.weight, -100);
    let init = maintenance.init_file.expect("init_file");
    assert_eq!((init.value, init.overwrite), (0, false));

    let api = instance(&config, "VI_API");
    assert_eq!(
        (
            api.initial_state,
            api.interface.as_str(),
            api.vrid,
            api.priority,
            api.advert_int_us
        ),
        (InitialState::Backup, "eth0", 60, 150, S)
    );
    assert_eq!(api.vips, vec![vip("10.60.0.10", 24, "eth0")]);
    let interfaces: Vec<(&str, i32)> = api
        .track
        .interfaces
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(interfaces, vec![("eth1", -20), ("eth2", 10), ("eth3", 0)]);
    let scripts: Vec<(&str, i32)> = api
        .track
        .scripts
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(scripts, vec![("chk_haproxy", -30), ("chk_backend", 0)]);
    let files: Vec<(&str, i32)> = api
        .track
        .files
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(files, vec![("maintenance", -100)]);
}

#[test]
fn example5_unicast_and_vips() {
    let config = load_clean("example5.conf");
    assert_eq!(config.global.router_id.as_deref(), Some("cloud-a"));
    assert!(config.global.check_unicast_src);

    let vi = instance(&config, "VI_CLOUD");
    assert_eq!(
        (
            vi.initial_state,
            vi.interface.as_str(),
            vi.vrid,
            vi.priority,
            vi.advert_int_us
        ),
        (InitialState::Backup, "eth0", 77, 110, S)
    );
    let auth = vi.auth.expect("auth");
    assert_eq!(auth.kind, AuthKind::Pass);
    assert_eq!(&auth.key, b"cl0udPW\0");
    assert!(vi.is_unicast());
    assert_eq!(vi.source_addr, Some(v4("10.0.0.11")));
    assert_eq!(vi.unicast_ttl, 255);
    assert!(vi.check_unicast_src);
    let peers: Vec<(Ipv4Addr, u8, u8)> = vi
        .unicast_peers
        .iter()
        .map(|p| (p.addr, p.min_ttl, p.max_ttl))
        .collect();
    assert_eq!(
        peers,
        vec![(v4("10.0.0.12"), 0, 255), (v4("10.0.0.13"), 254, 255)]
    );

    let mut web = vip("10.0.0.100", 24, "eth0");
    web.label = Some("eth0:web".into());
    let mut api = vip("10.0.0.101", 24, "eth0");
    api.broadcast = Some(v4("10.0.0.255"));
    api.label = Some("eth0:api".into());
    let lan = vip("192.168.50.1", 24, "eth1");
    let mut link = vip("169.254.77.1", 16, "eth1");
    link.scope = Scope::Link;
    assert_eq!(vi.vips, vec![web, api, lan, link]);

    let ipv6 = vip("2001:db8:77::1", 64, "eth1");
    assert!(!ipv6.deprecated, "a /64 is not deprecated");
    assert_eq!(vi.excluded_vips, vec![vip("10.0.0.150", 32, "eth0"), ipv6]);

    assert_eq!(vi.virtual_routes.len(), 1);
    let route = &vi.virtual_routes[0];
    assert_eq!((route.dst, route.prefix_len), (ip("172.20.0.0"), 16));
    assert_eq!(route.via, Some(ip("192.168.50.254")));
    assert_eq!(route.dev.as_deref(), Some("eth1"));
    assert_eq!(route.kind, RouteKind::Unicast);
    assert_eq!((route.src, route.table, route.metric), (None, None, None));
}

#[test]
fn peer_config_of_example1_differs_only_in_state_and_priority() {
    let path = format!(
        "{}/tests/fixtures/example1.conf",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let peer = text
        .replace("state MASTER", "state BACKUP")
        .replace("priority 150", "priority 100");
    let (config, diagnostics) =
        kaconf::parse_str("lb2.conf", &peer, &kaconf::MemLoader::new()).unwrap();
    assert!(diagnostics.is_empty());
    let vi = instance(&config, "VI_WEB");
    assert_eq!((vi.initial_state, vi.priority), (InitialState::Backup, 100));
}
