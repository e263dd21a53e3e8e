//! Real-kernel tests on a veth pair inside a network namespace created by each test.
//!
//! Sockets are opened *inside* the namespace with `IoctlSocket::open_in_netns` and
//! `NetlinkOptions::netns` (the crate enters the namespace on a short-lived thread to create
//! the socket; the socket stays bound to it), so the test threads never change namespace and
//! the tests can run in parallel. Each test uses its own namespace `lp-<test>-<pid>`, deleted
//! by a Drop guard even on failure.

mod common;

use std::time::Duration;

use common::netns::{PEER, PROBED, VethNetns, root_or_skip, wait_for};
use linkprobe::*;
use mio::{Events, Interest, Poll, Token};

const LIMIT: Duration = Duration::from_secs(5);

fn name(s: &str) -> IfName {
    IfName::new(s).unwrap()
}

fn wait_state(io: &IoctlSocket, method: PollMethod, want: LinkState) -> LinkStatus {
    let ifname = name(PROBED);
    wait_for(LIMIT, || {
        let status = probe_with(io, &ifname, method).expect("probe");
        (status.state == want).then_some(status)
    })
    .unwrap_or_else(|| panic!("{method} never reported {want}"))
}

#[test]
fn polled_backends_follow_the_peer_and_mii_is_refused_on_veth() {
    if !root_or_skip("polled_backends_follow_the_peer_and_mii_is_refused_on_veth") {
        return;
    }
    let ns = VethNetns::new("poll");
    let io = IoctlSocket::open_in_netns(&ns.path()).expect("socket in netns");
    let ifname = name(PROBED);

    let choice = choose_method(&io, &ifname, None).expect("choice");
    eprintln!("veth fallback: {choice}");
    assert_eq!(
        choice.method,
        PollMethod::Ethtool,
        "veth implements ETHTOOL_GLINK"
    );
    assert_eq!(choice.refused.len(), 1);
    assert_eq!(choice.refused[0].method, PollMethod::Mii);
    assert!(
        matches!(
            choice.refused[0].error,
            ProbeError::NotSupported {
                op: Op::MiiPhy,
                errno: libc::EOPNOTSUPP,
                ..
            }
        ),
        "{:?}",
        choice.refused[0].error
    );
    assert!(matches!(
        probe_with(&io, &ifname, PollMethod::Mii),
        Err(ProbeError::NotSupported { .. })
    ));

    for method in [PollMethod::Ethtool, PollMethod::Flags] {
        wait_state(&io, method, LinkState::Up);
    }
    ns.set_peer(false);
    for method in [PollMethod::Ethtool, PollMethod::Flags] {
        let status = wait_state(&io, method, LinkState::Down);
        match status.evidence {
            Evidence::Ethtool { glink, .. } => assert_eq!(glink, 0),
            // Still administratively up, but not running.
            Evidence::Flags { flags } => assert_eq!(flags & 0x41, 0x1),
            other => panic!("unexpected evidence {other:?}"),
        }
    }
    ns.set_peer(true);
    for method in [PollMethod::Ethtool, PollMethod::Flags] {
        wait_state(&io, method, LinkState::Up);
    }
    // Administratively down on our side: both say down.
    ns.ip(&["link", "set", "dev", PROBED, "down"]);
    for method in [PollMethod::Ethtool, PollMethod::Flags] {
        wait_state(&io, method, LinkState::Down);
    }
}

#[test]
fn poller_reports_flaps_on_a_real_interface() {
    if !root_or_skip("poller_reports_flaps_on_a_real_interface") {
        return;
    }
    let ns = VethNetns::new("poller");
    let io = IoctlSocket::open_in_netns(&ns.path()).expect("socket in netns");
    let interval = Duration::from_millis(5);
    let mut poller = Poller::new(io, interval);
    let start = std::time::Instant::now();
    poller.watch(&name(PROBED), None, start).expect("watch");
    let expect = |want: LinkState, poller: &mut Poller<IoctlSocket>| {
        let mut events = Vec::new();
        let found = wait_for(LIMIT, || {
            let now = std::time::Instant::now();
            poller.poll_due(now, &mut events);
            events.iter().find_map(|e| match e {
                PollEvent::Changed { status, .. } if status.state == want => Some(status.clone()),
                _ => None,
            })
        });
        assert!(
            found.is_some(),
            "poller never reported {want}; events {events:?}"
        );
    };
    expect(LinkState::Up, &mut poller);
    ns.set_peer(false);
    expect(LinkState::Down, &mut poller);
    ns.set_peer(true);
    expect(LinkState::Up, &mut poller);
    // Deleting the pair: the probed end vanishes and is reported down.
    ns.ip(&["link", "del", "dev", PEER]);
    let mut events = Vec::new();
    let gone = wait_for(LIMIT, || {
        poller.poll_due(std::time::Instant::now(), &mut events);
        events.iter().find_map(|e| match e {
            PollEvent::Changed { status, .. } if status.evidence == Evidence::Absent => Some(()),
            _ => None,
        })
    });
    assert!(gone.is_some(), "{events:?}");
}

/// Drains the monitor through mio until `pick` finds what it wants.
fn wait_event<T>(
    poll: &mut Poll,
    monitor: &mut NetlinkMonitor,
    seen: &mut Vec<NetlinkEvent>,
    mut pick: impl FnMut(&NetlinkEvent) -> Option<T>,
) -> T {
    let mut events = Events::with_capacity(8);
    let deadline = std::time::Instant::now() + LIMIT;
    let mut checked = 0;
    loop {
        while checked < seen.len() {
            if let Some(found) = pick(&seen[checked]) {
                checked += 1;
                seen.drain(..checked);
                return found;
            }
            checked += 1;
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "timed out; events so far: {seen:?}");
        poll.poll(&mut events, Some(left)).expect("mio poll");
        monitor.drain(seen).expect("drain");
    }
}

fn probed_change(event: &NetlinkEvent) -> Option<&LinkChange> {
    match event {
        NetlinkEvent::Link(change) if change.ifname.as_ref() == Some(&name(PROBED)) => Some(change),
        _ => None,
    }
}

#[test]
fn netlink_delivers_link_changes_as_mio_events() {
    if !root_or_skip("netlink_delivers_link_changes_as_mio_events") {
        return;
    }
    let ns = VethNetns::new("nl");
    let options = NetlinkOptions {
        netns: Some(ns.path()),
        ..NetlinkOptions::default()
    };
    let mut monitor = NetlinkMonitor::open(&options).expect("netlink in netns");
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut monitor, Token(0), Interest::READABLE)
        .unwrap();
    let mut seen = Vec::new();
    wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        (*e == NetlinkEvent::Synchronized).then_some(())
    });
    assert!(monitor.table().is_synchronized());
    // The dump saw lo and both veth ends; wait until ours is up (carrier may still be settling).
    let ifname = name(PROBED);
    if !monitor.probe(&ifname).expect("in table").is_up() {
        wait_event(&mut poll, &mut monitor, &mut seen, |e| {
            probed_change(e).filter(|c| c.status.is_up()).map(drop)
        });
    }
    assert_eq!(monitor.probe(&ifname).unwrap().method, Method::Netlink);

    ns.set_peer(false);
    let down = wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        probed_change(e).filter(|c| !c.status.is_up()).cloned()
    });
    assert_eq!(down.previous, Some(LinkState::Up));
    match down.status.evidence {
        Evidence::Netlink {
            flags,
            operstate,
            carrier,
        } => {
            assert_eq!(flags & 0x1, 0x1, "still admin up");
            assert_eq!(flags & 0x40, 0, "not running");
            assert_eq!(carrier, Some(false));
            assert_eq!(operstate, Some(OperState::LowerLayerDown));
        }
        other => panic!("{other:?}"),
    }
    assert!(!monitor.probe(&ifname).unwrap().is_up());

    ns.set_peer(true);
    let up = wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        probed_change(e).filter(|c| c.status.is_up()).cloned()
    });
    assert!(matches!(
        up.status.evidence,
        Evidence::Netlink {
            carrier: Some(true),
            operstate: Some(OperState::Up),
            ..
        }
    ));

    ns.ip(&["link", "del", "dev", PROBED]);
    let gone = wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        probed_change(e)
            .filter(|c| c.status.evidence == Evidence::Absent)
            .cloned()
    });
    assert_eq!(gone.status.state, LinkState::Down);
    assert!(matches!(
        monitor.probe(&ifname),
        Err(ProbeError::NoSuchInterface(_))
    ));
    assert_eq!(monitor.table().overruns(), 0);
}

#[test]
fn netlink_overrun_is_reported_and_recovered_by_redump() {
    if !root_or_skip("netlink_overrun_is_reported_and_recovered_by_redump") {
        return;
    }
    let ns = VethNetns::new("ovr");
    let options = NetlinkOptions {
        netns: Some(ns.path()),
        // The kernel raises this to its minimum (a few KiB): a handful of messages fill it.
        recv_buffer_bytes: Some(1),
        ..NetlinkOptions::default()
    };
    let mut monitor = NetlinkMonitor::open(&options).expect("netlink in netns");
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut monitor, Token(0), Interest::READABLE)
        .unwrap();
    let mut seen = Vec::new();
    wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        (*e == NetlinkEvent::Synchronized).then_some(())
    });
    // Flap without reading: the notifications overflow the tiny buffer.
    for _ in 0..20 {
        ns.set_peer(false);
        ns.set_peer(true);
    }
    // Finish with the probed end down, so the recovered state is a real change.
    ns.set_peer(false);
    wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        (*e == NetlinkEvent::Overrun).then_some(())
    });
    assert!(monitor.table().overruns() >= 1);
    // After the re-dump the table matches the kernel: our end is down.
    wait_event(&mut poll, &mut monitor, &mut seen, |e| {
        (*e == NetlinkEvent::Synchronized).then_some(())
    });
    let ifname = name(PROBED);
    let settled = wait_for(LIMIT, || {
        monitor.drain(&mut seen).expect("drain");
        (!monitor.probe(&ifname).expect("in table").is_up()).then_some(())
    });
    assert!(
        settled.is_some(),
        "table never showed {PROBED} down; events {seen:?}"
    );
}

#[test]
fn errors_for_missing_interfaces_and_bad_namespaces() {
    // Runs without root: probing a missing interface in our own namespace is unprivileged.
    let io = IoctlSocket::open().expect("ioctl socket");
    let missing = name("lpnone0");
    assert!(matches!(
        choose_method(&io, &missing, None),
        Err(ProbeError::NoSuchInterface(ref n)) if *n == missing
    ));
    for method in [PollMethod::Ethtool, PollMethod::Flags] {
        let err = probe_with(&io, &missing, method).unwrap_err();
        assert!(
            matches!(err, ProbeError::NoSuchInterface(_)),
            "{method}: {err:?}"
        );
    }
    // MII on loopback: the kernel checks CAP_NET_ADMIN before asking the driver.
    let mii = probe_with(&io, &name("lo"), PollMethod::Mii).unwrap_err();
    if common::netns::effective_uid() == Some(0) {
        assert!(
            matches!(mii, ProbeError::NotSupported { op: Op::MiiPhy, .. }),
            "{mii:?}"
        );
    } else {
        assert!(
            matches!(mii, ProbeError::PermissionDenied { op: Op::MiiPhy, .. }),
            "{mii:?}"
        );
    }
    let err = IoctlSocket::open_in_netns(std::path::Path::new("/run/netns/lp-does-not-exist"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Io {
                op: Op::Setns,
                errno: libc::ENOENT,
                ..
            }
        ),
        "{err:?}"
    );
    let mut monitor = NetlinkMonitor::open(&NetlinkOptions::default()).expect("netlink");
    assert!(matches!(
        monitor.probe(&missing),
        Err(ProbeError::NoSuchInterface(_))
    ));
}
