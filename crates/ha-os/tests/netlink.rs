//! Acceptance 2, 4 and 5: virtual addresses, VMAC macvlan and typed netlink errors, checked
//! against `ip` output, in namespaces.

mod common;

use std::net::Ipv4Addr;

use common::{Lab, mac_from_ip};
use ha_os::{
    AddOutcome, AddressScope, CreateOutcome, DeleteOutcome, MacvlanMode, MacvlanSpec, Operation,
    OsError, Rtnetlink, VirtualAddress,
};

/// One `ip -4 -o addr show` line, parsed.
#[derive(Debug, PartialEq, Eq)]
struct IpAddrLine {
    cidr: String,
    brd: Option<String>,
    scope: String,
    secondary: bool,
    label: String,
}

fn ip_addrs(lab: &Lab, ns: usize, dev: &str) -> Vec<IpAddrLine> {
    let out = lab.ip(ns, &["-4", "-o", "addr", "show", "dev", dev]);
    out.lines()
        .map(|line| {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let after = |key: &str| {
                tokens
                    .iter()
                    .position(|t| *t == key)
                    .map(|i| tokens[i + 1].to_owned())
            };
            // The label is the token the "\\" (start of the lifetime part) is glued to.
            let label = tokens
                .iter()
                .find_map(|t| t.strip_suffix('\\'))
                .expect("label before the lifetimes");
            IpAddrLine {
                cidr: after("inet").expect("inet"),
                brd: after("brd"),
                scope: after("scope").expect("scope"),
                secondary: tokens.contains(&"secondary"),
                label: label.to_owned(),
            }
        })
        .collect()
}

fn one_ns_with_veth(tag: &str) -> Option<(Lab, Rtnetlink)> {
    let lab = Lab::new(tag, 2)?;
    lab.veth(0, "v0", "192.168.200.2/24", 1, "p0", "192.168.200.3/24");
    let nl = lab.within(0, || Rtnetlink::open().expect("rtnetlink"));
    Some((lab, nl))
}

#[test]
fn vip_add_shows_in_ip_addr_and_delete_removes_it() {
    let Some((lab, mut nl)) = one_ns_with_veth("vip") else {
        return;
    };
    // A primary in its own subnet with brd, scope link and a label.
    let mut vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 210, 16), 24);
    vip.broadcast = Some(vip.computed_broadcast());
    vip.label = Some("v0:vip".into());
    vip.scope = AddressScope::Link;
    assert_eq!(nl.add_address("v0", &vip).unwrap(), AddOutcome::Added);
    // A secondary in v0's subnet (same scope as its primary, as the kernel requires).
    let mut secondary = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 20), 24);
    secondary.broadcast = Some(secondary.computed_broadcast());
    secondary.label = Some("v0:sec".into());
    assert_eq!(nl.add_address("v0", &secondary).unwrap(), AddOutcome::Added);
    let host = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 17), 32);
    assert_eq!(nl.add_address("v0", &host).unwrap(), AddOutcome::Added);

    let mut lines = ip_addrs(&lab, 0, "v0");
    lines.sort_by(|a, b| a.cidr.cmp(&b.cidr));
    assert_eq!(
        lines,
        vec![
            IpAddrLine {
                cidr: "192.168.200.17/32".into(),
                brd: None,
                scope: "global".into(),
                secondary: false,
                label: "v0".into(),
            },
            IpAddrLine {
                cidr: "192.168.200.2/24".into(),
                brd: None,
                scope: "global".into(),
                secondary: false,
                label: "v0".into(),
            },
            IpAddrLine {
                cidr: "192.168.200.20/24".into(),
                brd: Some("192.168.200.255".into()),
                scope: "global".into(),
                secondary: true,
                label: "v0:sec".into(),
            },
            IpAddrLine {
                cidr: "192.168.210.16/24".into(),
                brd: Some("192.168.210.255".into()),
                scope: "link".into(),
                secondary: false,
                label: "v0:vip".into(),
            },
        ]
    );

    // Our own listing agrees.
    let listed = nl.list_addresses("v0").unwrap();
    let ours = listed
        .iter()
        .find(|a| a.address == vip.address)
        .expect("listed");
    assert_eq!(ours.prefix_len, 24);
    assert_eq!(ours.broadcast, Some(Ipv4Addr::new(192, 168, 210, 255)));
    assert_eq!(ours.label.as_deref(), Some("v0:vip"));
    assert_eq!(ours.scope, AddressScope::Link);
    assert_eq!(ours.flags & 0x01, 0, "primary");
    let sec = listed
        .iter()
        .find(|a| a.address == secondary.address)
        .expect("listed");
    assert_eq!(sec.flags & 0x01, 0x01, "secondary");
    assert_eq!(sec.label.as_deref(), Some("v0:sec"));
    assert_eq!(
        listed.len(),
        4,
        "other interfaces' addresses are not listed"
    );
    assert!(nl.has_address("v0", host.address).unwrap());

    // Duplicate add and missing delete are reported, not errors.
    assert_eq!(
        nl.add_address("v0", &vip).unwrap(),
        AddOutcome::AlreadyPresent
    );
    assert_eq!(
        nl.delete_address("v0", &vip).unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        nl.delete_address("v0", &vip).unwrap(),
        DeleteOutcome::NotPresent
    );
    assert_eq!(
        nl.delete_address("v0", &host).unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        nl.delete_address("v0", &secondary).unwrap(),
        DeleteOutcome::Deleted
    );
    let lines = ip_addrs(&lab, 0, "v0");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].cidr, "192.168.200.2/24");
    assert!(!nl.has_address("v0", vip.address).unwrap());
}

#[test]
fn vip_removed_by_someone_else_is_noticed() {
    let Some((lab, mut nl)) = one_ns_with_veth("gone") else {
        return;
    };
    let vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 30), 32);
    nl.add_address("v0", &vip).unwrap();
    assert!(nl.has_address("v0", vip.address).unwrap());
    lab.ip(0, &["addr", "del", "192.168.200.30/32", "dev", "v0"]);
    assert!(!nl.has_address("v0", vip.address).unwrap());
    assert_eq!(
        nl.delete_address("v0", &vip).unwrap(),
        DeleteOutcome::NotPresent
    );
}

#[test]
fn vmac_macvlan_is_created_with_vip_and_deleted() {
    let Some((lab, mut nl)) = one_ns_with_veth("vmac") else {
        return;
    };
    let spec = MacvlanSpec::vmac(51);
    assert_eq!(
        nl.create_macvlan("v0", &spec).unwrap(),
        CreateOutcome::Created
    );
    assert_eq!(
        nl.create_macvlan("v0", &spec).unwrap(),
        CreateOutcome::AlreadyExists
    );

    let details = lab.ip(0, &["-d", "-o", "link", "show", "dev", "vrrp.51"]);
    assert!(details.contains("vrrp.51@v0"), "{details}");
    assert!(details.contains("macvlan mode private"), "{details}");
    assert!(
        details.contains(",UP,") || details.contains("<UP,") || details.contains(",UP>"),
        "{details}"
    );
    assert_eq!(
        mac_from_ip(&lab, 0, "vrrp.51"),
        [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]
    );

    let link = nl.link_by_name("vrrp.51").unwrap();
    let parent = nl.link_by_name("v0").unwrap();
    assert_eq!(link.kind.as_deref(), Some("macvlan"));
    assert_eq!(link.macvlan_mode, Some(MacvlanMode::Private));
    assert_eq!(link.mac, Some(ha_os::vmac_address(51)));
    assert_eq!(link.parent_index, Some(parent.index));
    assert_eq!(
        link.flags & ha_os::iface::flags::UP,
        ha_os::iface::flags::UP
    );
    assert_eq!(nl.link_by_index(link.index).unwrap().name, "vrrp.51");
    assert_eq!(parent.kind.as_deref(), Some("veth"));
    assert_eq!(parent.macvlan_mode, None);

    let vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 200), 32);
    assert_eq!(nl.add_address("vrrp.51", &vip).unwrap(), AddOutcome::Added);
    let lines = ip_addrs(&lab, 0, "vrrp.51");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].cidr, "192.168.200.200/32");
    assert_eq!(lines[0].label, "vrrp.51");

    nl.set_link_up("vrrp.51", false).unwrap();
    assert_eq!(
        nl.link_by_name("vrrp.51").unwrap().flags & ha_os::iface::flags::UP,
        0
    );
    nl.set_link_up("vrrp.51", true).unwrap();

    assert_eq!(nl.delete_link("vrrp.51").unwrap(), DeleteOutcome::Deleted);
    assert_eq!(
        nl.delete_link("vrrp.51").unwrap(),
        DeleteOutcome::NotPresent
    );
    let all = lab.ip(0, &["-o", "link", "show"]);
    assert!(!all.contains("vrrp.51"), "{all}");
    assert!(matches!(
        nl.link_by_name("vrrp.51"),
        Err(OsError::NoSuchInterface { .. })
    ));
}

#[test]
fn bad_names_and_kernel_errors_are_typed_with_the_interface() {
    let Some((_lab, mut nl)) = one_ns_with_veth("errs") else {
        return;
    };
    let vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 40), 32);

    let err = nl.add_address("nosuch0", &vip).unwrap_err();
    assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    assert_eq!(err.interface(), "nosuch0");
    assert_eq!(err.operation(), Operation::AddAddress);
    assert!(err.to_string().contains("nosuch0"), "{err}");

    let err = nl.delete_address("eth0:bad", &vip).unwrap_err();
    assert!(matches!(err, OsError::InvalidInterfaceName { .. }), "{err}");
    assert_eq!(err.interface(), "eth0:bad");

    let err = nl.list_addresses("a-name-that-is-too-long").unwrap_err();
    assert!(matches!(err, OsError::InvalidInterfaceName { .. }), "{err}");

    let err = nl.set_link_up("nosuch0", true).unwrap_err();
    assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    assert_eq!(err.operation(), Operation::SetLinkState);

    let err = nl
        .create_macvlan("nosuch0", &MacvlanSpec::vmac(9))
        .unwrap_err();
    assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    assert_eq!(err.interface(), "nosuch0");

    // The kernel refuses a macvlan on loopback: a netlink error naming the new interface.
    let err = nl.create_macvlan("lo", &MacvlanSpec::vmac(9)).unwrap_err();
    match &err {
        OsError::Netlink {
            op,
            interface,
            source,
            ..
        } => {
            assert_eq!(*op, Operation::CreateMacvlan);
            assert_eq!(interface, "vrrp.9");
            assert!(source.raw_os_error().is_some());
        }
        other => panic!("expected a netlink error, got {other}"),
    }

    // A secondary whose scope differs from its primary's: the kernel's extended ack is kept.
    let mut wrong_scope = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 41), 24);
    wrong_scope.scope = AddressScope::Host;
    let err = nl.add_address("v0", &wrong_scope).unwrap_err();
    match &err {
        OsError::Netlink {
            op,
            interface,
            source,
            ext_ack,
        } => {
            assert_eq!(*op, Operation::AddAddress);
            assert_eq!(interface, "v0");
            assert_eq!(source.raw_os_error(), Some(libc::EINVAL));
            assert!(
                ext_ack.as_deref().is_some_and(|t| t.contains("scope")),
                "{err}"
            );
        }
        other => panic!("expected a netlink error, got {other}"),
    }

    // A label longer than IFNAMSIZ is refused before the kernel sees it.
    let mut long_label = vip.clone();
    long_label.label = Some("v0:0123456789abc".into());
    let err = nl.add_address("v0", &long_label).unwrap_err();
    assert!(matches!(err, OsError::InvalidArgument { .. }), "{err}");
    assert_eq!(err.interface(), "v0");

    // The socket still works after all those errors.
    assert_eq!(nl.add_address("v0", &vip).unwrap(), AddOutcome::Added);
    assert_eq!(
        nl.delete_address("v0", &vip).unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(matches!(
        nl.link_by_index(4_000_000),
        Err(OsError::NoSuchInterface { .. })
    ));
}

#[test]
fn linux_effects_compose_the_pieces() {
    use ha_os::Effects;
    let Some(lab) = Lab::new("fx", 2) else { return };
    lab.veth(0, "v0", "192.168.200.2/24", 1, "p0", "192.168.200.3/24");
    let mut fx = lab.within(0, || ha_os::LinuxEffects::new().expect("effects"));
    // The lazily opened sockets must belong to the namespace too: open them there.
    lab.within(0, || {
        assert_eq!(
            fx.create_vmac("v0", &MacvlanSpec::vmac(7)).unwrap(),
            CreateOutcome::Created
        );
        let vip = VirtualAddress::new(Ipv4Addr::new(192, 168, 200, 77), 32);
        assert_eq!(fx.add_vip("vrrp.7", &vip).unwrap(), AddOutcome::Added);
        fx.send_garp("vrrp.7", vip.address).unwrap();
        let mut advert = [
            0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 192, 168, 200,
            77, 224, 0, 0, 18, 0x21, 7, 100, 1, 0, 1, 0, 0, 192, 168, 200, 77, 0, 0, 0, 0, 0, 0, 0,
            0,
        ];
        common::fix_checksum(&mut advert);
        fx.send_packet("vrrp.7", &advert).unwrap();
        assert!(fx.netlink().has_address("vrrp.7", vip.address).unwrap());
        assert_eq!(fx.delete_link("vrrp.7").unwrap(), DeleteOutcome::Deleted);
        let err = fx.send_packet("vrrp.7", &advert).unwrap_err();
        assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    });
}

#[test]
fn ioctl_lookups_agree_with_netlink_and_ip() {
    let Some((lab, mut nl)) = one_ns_with_veth("query") else {
        return;
    };
    let query = lab.within(0, || ha_os::InterfaceQuery::new().expect("query socket"));
    let link = nl.link_by_name("v0").unwrap();
    assert_eq!(query.index("v0").unwrap(), link.index);
    assert_eq!(query.mac("v0").unwrap(), mac_from_ip(&lab, 0, "v0"));
    assert_eq!(Some(query.mac("v0").unwrap()), link.mac);
    let flags = query.flags("v0").unwrap();
    assert_eq!(flags & ha_os::iface::flags::UP, ha_os::iface::flags::UP);
    assert_eq!(
        flags & ha_os::iface::flags::MULTICAST,
        ha_os::iface::flags::MULTICAST
    );
    assert_eq!(
        query.flags("lo").unwrap() & ha_os::iface::flags::LOOPBACK,
        ha_os::iface::flags::LOOPBACK
    );

    let err = query.index("nosuch0").unwrap_err();
    assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    assert_eq!(err.interface(), "nosuch0");
    assert_eq!(err.operation(), Operation::LinkLookup);
    let err = query.mac("lo").unwrap_err();
    assert!(matches!(err, OsError::InvalidArgument { .. }), "{err}");
    let err = query.flags("").unwrap_err();
    assert!(matches!(err, OsError::InvalidInterfaceName { .. }), "{err}");
}

#[test]
fn routes_are_added_with_protocol_keepalived_and_deleted() {
    let Some((lab, mut nl)) = one_ns_with_veth("route") else {
        return;
    };
    let shown = |lab: &Lab| {
        let mut lines: Vec<String> = lab
            .ip(0, &["-4", "route", "show", "table", "all", "proto", "18"])
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        lines.sort();
        lines
    };
    let via = ha_os::Route {
        dst: Ipv4Addr::new(10, 123, 0, 0),
        prefix_len: 24,
        src: Some(Ipv4Addr::new(192, 168, 200, 2)),
        via: Some(Ipv4Addr::new(192, 168, 200, 3)),
        dev: Some("v0".into()),
        scope: None,
        table: None,
        metric: Some(50),
        kind: ha_os::RouteType::Unicast,
    };
    let blackhole = ha_os::Route {
        dst: Ipv4Addr::new(10, 124, 0, 0),
        prefix_len: 16,
        src: None,
        via: None,
        dev: None,
        scope: None,
        table: Some(1000),
        metric: None,
        kind: ha_os::RouteType::Blackhole,
    };
    let on_link = ha_os::Route {
        dst: Ipv4Addr::new(10, 125, 0, 0),
        prefix_len: 24,
        src: None,
        via: None,
        dev: Some("v0".into()),
        scope: None,
        table: None,
        metric: None,
        kind: ha_os::RouteType::Unicast,
    };
    for r in [&via, &blackhole, &on_link] {
        assert_eq!(nl.add_route(r).unwrap(), AddOutcome::Added, "{r:?}");
        assert_eq!(nl.add_route(r).unwrap(), AddOutcome::AlreadyPresent);
    }
    // `ip` omits the protocol it filtered on: these are exactly the protocol-18 routes.
    assert_eq!(
        shown(&lab),
        vec![
            "10.123.0.0/24 via 192.168.200.3 dev v0 src 192.168.200.2 metric 50",
            "10.125.0.0/24 dev v0 scope link",
            "blackhole 10.124.0.0/16 table 1000",
        ]
    );
    for r in [&via, &blackhole, &on_link] {
        assert_eq!(nl.delete_route(r).unwrap(), DeleteOutcome::Deleted);
        assert_eq!(nl.delete_route(r).unwrap(), DeleteOutcome::NotPresent);
    }
    assert!(shown(&lab).is_empty());
    // A unicast route needs somewhere to go; an unknown device is a typed error.
    let nowhere = ha_os::Route {
        dev: None,
        via: None,
        ..on_link.clone()
    };
    assert!(matches!(
        nl.add_route(&nowhere),
        Err(OsError::InvalidArgument { .. })
    ));
    let missing = ha_os::Route {
        dev: Some("nosuch0".into()),
        ..on_link
    };
    assert!(matches!(
        nl.add_route(&missing),
        Err(OsError::NoSuchInterface {
            op: Operation::AddRoute,
            ..
        })
    ));
}
