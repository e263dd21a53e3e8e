//! Fallback choice, probing logic and the sans-clock poller, against a fake ioctl seam.

mod common;

use std::time::{Duration, Instant};

use common::fake::*;
use linkprobe::*;

const BMSR_CAPS: u16 = 0x7809;
const BMSR_LINK: u16 = 0x0004;

fn phy(bmcr: u16, bmsr: Vec<u16>, flags: u16) -> FakeIf {
    FakeIf {
        index: 2,
        flags,
        mii: FakeMii::Phy { bmcr },
        bmsr,
        ethtool: Ok(1),
    }
}

#[test]
fn mii_is_chosen_first_when_it_works() {
    let io = FakeIoctl::default();
    io.add("eth0", phy(0x1000, vec![BMSR_CAPS | BMSR_LINK], UP_RUNNING));
    let choice = choose_method(&io, &name("eth0"), None).unwrap();
    assert_eq!(choice.method, PollMethod::Mii);
    assert!(choice.refused.is_empty());
    assert_eq!(choice.ifindex, 2);
}

#[test]
fn veth_like_refuses_mii_and_falls_back_to_ethtool() {
    let io = FakeIoctl::default();
    io.add("veth0", veth_like(7, 1, UP_RUNNING));
    let choice = choose_method(&io, &name("veth0"), None).unwrap();
    assert_eq!(choice.method, PollMethod::Ethtool);
    assert_eq!(choice.refused.len(), 1);
    assert_eq!(choice.refused[0].method, PollMethod::Mii);
    assert!(matches!(
        choice.refused[0].error,
        ProbeError::NotSupported {
            op: Op::MiiPhy,
            errno: libc::EOPNOTSUPP,
            ..
        }
    ));
    let text = choice.to_string();
    assert!(
        text.contains("using ETHTOOL") && text.contains("MII refused"),
        "{text}"
    );
}

#[test]
fn no_mii_no_ethtool_falls_back_to_flags_with_both_reasons() {
    let io = FakeIoctl::default();
    let mut fake = veth_like(3, 0, UP_RUNNING);
    fake.mii = FakeMii::Unsupported(libc::EPERM);
    fake.ethtool = Err(libc::EOPNOTSUPP);
    io.add("tun0", fake);
    let choice = choose_method(&io, &name("tun0"), None).unwrap();
    assert_eq!(choice.method, PollMethod::Flags);
    let refused: Vec<_> = choice.refused.iter().map(|r| r.method).collect();
    assert_eq!(refused, [PollMethod::Mii, PollMethod::Ethtool]);
    assert!(matches!(
        choice.refused[0].error,
        ProbeError::PermissionDenied { .. }
    ));
}

#[test]
fn mii_without_transceiver_is_refused() {
    let io = FakeIoctl::default();
    io.add("eth1", phy(0xFFFF, vec![BMSR_CAPS], UP_RUNNING));
    let choice = choose_method(&io, &name("eth1"), None).unwrap();
    assert_eq!(choice.method, PollMethod::Ethtool);
    assert!(matches!(
        choice.refused[0].error,
        ProbeError::NoTransceiver { bmcr: 0xFFFF, .. }
    ));
    io.add("eth2", phy(0x1000, vec![0], UP_RUNNING));
    let choice = choose_method(&io, &name("eth2"), None).unwrap();
    assert!(matches!(
        choice.refused[0].error,
        ProbeError::NoTransceiver { bmsr: 0, .. }
    ));
}

#[test]
fn preferred_method_goes_first_and_still_falls_back() {
    let io = FakeIoctl::default();
    io.add("eth0", phy(0x1000, vec![BMSR_CAPS | BMSR_LINK], UP_RUNNING));
    let choice = choose_method(&io, &name("eth0"), Some(PollMethod::Flags)).unwrap();
    assert_eq!(choice.method, PollMethod::Flags);
    io.add("veth0", veth_like(4, 1, UP_RUNNING));
    io.with("veth0", |f| f.ethtool = Err(libc::EOPNOTSUPP));
    let choice = choose_method(&io, &name("veth0"), Some(PollMethod::Ethtool)).unwrap();
    assert_eq!(choice.method, PollMethod::Flags);
    let refused: Vec<_> = choice.refused.iter().map(|r| r.method).collect();
    assert_eq!(refused, [PollMethod::Ethtool, PollMethod::Mii]);
}

#[test]
fn nonexistent_interface_is_a_clear_error() {
    let io = FakeIoctl::default();
    let err = choose_method(&io, &name("nope0"), None).unwrap_err();
    assert!(matches!(err, ProbeError::NoSuchInterface(ref n) if n.to_string() == "nope0"));
    assert_eq!(err.to_string(), "no such interface: nope0");
}

#[test]
fn mii_reads_bmsr_twice_and_uses_the_current_bit() {
    let io = FakeIoctl::default();
    // Latched low from an earlier drop, then up now.
    io.add(
        "eth0",
        phy(0x1000, vec![BMSR_CAPS, BMSR_CAPS | BMSR_LINK], UP_RUNNING),
    );
    let status = probe_with(&io, &name("eth0"), PollMethod::Mii).unwrap();
    assert_eq!(status.state, LinkState::Up);
    assert_eq!(status.method, Method::Mii);
    assert_eq!(
        status.evidence,
        Evidence::Mii {
            phy_id: 1,
            bmcr: 0x1000,
            bmsr_first: BMSR_CAPS,
            bmsr_current: BMSR_CAPS | BMSR_LINK,
            flags: Some(UP_RUNNING),
        }
    );
    // Dropped between the reads: down now, flags not consulted.
    io.add(
        "eth1",
        phy(0x1000, vec![BMSR_CAPS | BMSR_LINK, BMSR_CAPS], UP_RUNNING),
    );
    let status = probe_with(&io, &name("eth1"), PollMethod::Mii).unwrap();
    assert_eq!(status.state, LinkState::Down);
    assert!(matches!(status.evidence, Evidence::Mii { flags: None, .. }));
}

#[test]
fn mii_or_ethtool_up_also_needs_up_and_running_flags() {
    let io = FakeIoctl::default();
    io.add(
        "eth0",
        phy(0x1000, vec![BMSR_CAPS | BMSR_LINK], UP_NOT_RUNNING),
    );
    let status = probe_with(&io, &name("eth0"), PollMethod::Mii).unwrap();
    assert_eq!(status.state, LinkState::Down);
    io.add("veth0", veth_like(5, 1, UP_NOT_RUNNING));
    let status = probe_with(&io, &name("veth0"), PollMethod::Ethtool).unwrap();
    assert_eq!(status.state, LinkState::Down);
    assert_eq!(
        status.evidence,
        Evidence::Ethtool {
            glink: 1,
            flags: Some(UP_NOT_RUNNING)
        }
    );
    io.with("veth0", |f| f.flags = UP_RUNNING);
    assert!(
        probe_with(&io, &name("veth0"), PollMethod::Ethtool)
            .unwrap()
            .is_up()
    );
}

#[test]
fn flags_backend_needs_both_bits() {
    let io = FakeIoctl::default();
    io.add("lo", veth_like(1, 1, 0x40));
    let mut probe = FlagsProbe(&io);
    assert_eq!(probe.method(), Method::Flags);
    assert_eq!(probe.probe(&name("lo")).unwrap().state, LinkState::Down);
    io.with("lo", |f| f.flags = 0x41);
    assert_eq!(probe.probe(&name("lo")).unwrap().state, LinkState::Up);
}

#[test]
fn trait_objects_cover_every_polled_backend() {
    let io = FakeIoctl::default();
    io.add("eth0", phy(0x1000, vec![BMSR_CAPS | BMSR_LINK], UP_RUNNING));
    let mut probes: Vec<Box<dyn LinkProbe + '_>> = vec![
        Box::new(MiiProbe(&io)),
        Box::new(EthtoolProbe(&io)),
        Box::new(FlagsProbe(&io)),
    ];
    for probe in &mut probes {
        let status = probe.probe(&name("eth0")).unwrap();
        assert!(status.is_up());
        assert_eq!(status.method, probe.method());
    }
}

fn drain(poller: &mut Poller<&FakeIoctl>, now: Instant) -> Vec<PollEvent> {
    let mut events = Vec::new();
    poller.poll_due(now, &mut events);
    events
}

fn changed_states(events: &[PollEvent]) -> Vec<(String, LinkState)> {
    events
        .iter()
        .filter_map(|e| match e {
            PollEvent::Changed { ifname, status, .. } => Some((ifname.to_string(), status.state)),
            _ => None,
        })
        .collect()
}

#[test]
fn poller_reports_changes_within_one_interval_in_virtual_time() {
    let io = FakeIoctl::default();
    io.add("veth0", veth_like(5, 1, UP_RUNNING));
    let interval = Duration::from_millis(100);
    let t0 = Instant::now();
    let mut poller = Poller::new(&io, interval);
    assert_eq!(poller.next_deadline(), None);
    let choice = poller.watch(&name("veth0"), None, t0).unwrap();
    assert_eq!(choice.method, PollMethod::Ethtool);
    assert_eq!(poller.next_deadline(), Some(t0));

    let first = drain(&mut poller, t0);
    assert_eq!(
        changed_states(&first),
        [("veth0".to_string(), LinkState::Up)]
    );
    assert!(matches!(
        first[0],
        PollEvent::Changed { previous: None, .. }
    ));
    assert_eq!(first[0].as_link(), Some((&name("veth0"), LinkState::Up)));
    assert_eq!(poller.next_deadline(), Some(t0 + interval));
    // Nothing due before the deadline, and an unchanged probe reports nothing.
    assert!(drain(&mut poller, t0 + interval / 2).is_empty());
    assert!(drain(&mut poller, t0 + interval).is_empty());

    // The link drops at an arbitrary virtual instant; stepping the virtual clock to each
    // deadline must report it no later than one interval after the drop.
    let drop_at = t0 + interval + Duration::from_millis(37);
    io.with("veth0", |f| f.ethtool = Ok(0));
    let mut now = drop_at;
    let reported_at = loop {
        now = poller.next_deadline().unwrap().max(now);
        let events = drain(&mut poller, now);
        if !events.is_empty() {
            assert_eq!(
                changed_states(&events),
                [("veth0".to_string(), LinkState::Down)]
            );
            break now;
        }
    };
    assert!(
        reported_at - drop_at <= interval,
        "{:?}",
        reported_at - drop_at
    );
    assert_eq!(
        poller.last_status(&name("veth0")).unwrap().state,
        LinkState::Down
    );
}

#[test]
fn late_caller_probes_once_and_reschedules_from_now() {
    let io = FakeIoctl::default();
    io.add("veth0", veth_like(5, 1, UP_RUNNING));
    let t0 = Instant::now();
    let interval = Duration::from_secs(1);
    let mut poller = Poller::new(&io, interval);
    poller.watch(&name("veth0"), None, t0).unwrap();
    let late = t0 + Duration::from_secs(10);
    assert_eq!(drain(&mut poller, late).len(), 1);
    assert_eq!(poller.next_deadline(), Some(late + interval));
    let ethtool_calls = io
        .calls
        .borrow()
        .iter()
        .filter(|(op, _)| *op == Op::EthtoolGlink)
        .count();
    // One during the choice, one probe.
    assert_eq!(ethtool_calls, 2);
}

#[test]
fn vanished_interface_goes_down_and_is_reselected_when_back() {
    let io = FakeIoctl::default();
    io.add("veth0", veth_like(5, 1, UP_RUNNING));
    let t0 = Instant::now();
    let interval = Duration::from_millis(10);
    let mut poller = Poller::new(&io, interval);
    poller.watch(&name("veth0"), None, t0).unwrap();
    drain(&mut poller, t0);
    io.remove("veth0");
    let events = drain(&mut poller, t0 + interval);
    match &events[..] {
        [
            PollEvent::Changed {
                status,
                previous: Some(LinkState::Up),
                ..
            },
        ] => {
            assert_eq!(status.evidence, Evidence::Absent);
            assert_eq!(status.state, LinkState::Down);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(drain(&mut poller, t0 + interval * 2).is_empty());
    // Comes back as a different kind of device: flags only.
    let mut back = veth_like(9, 0, UP_RUNNING);
    back.ethtool = Err(libc::EOPNOTSUPP);
    io.add("veth0", back);
    let events = drain(&mut poller, t0 + interval * 3);
    assert!(matches!(
        &events[..],
        [
            PollEvent::Reselected {
                method: PollMethod::Flags,
                ..
            },
            PollEvent::Changed { .. }
        ]
    ));
    assert_eq!(poller.choice(&name("veth0")).unwrap().ifindex, 9);
    assert!(poller.unwatch(&name("veth0")));
    assert_eq!(poller.next_deadline(), None);
}

#[test]
fn probe_failures_are_reported_without_changing_state() {
    let io = FakeIoctl::default();
    io.add("veth0", veth_like(5, 1, UP_RUNNING));
    let t0 = Instant::now();
    let mut poller = Poller::new(&io, Duration::from_millis(10));
    poller.watch(&name("veth0"), None, t0).unwrap();
    drain(&mut poller, t0);
    io.with("veth0", |f| f.ethtool = Err(libc::EIO));
    let events = drain(&mut poller, t0 + Duration::from_millis(10));
    assert!(matches!(
        &events[..],
        [PollEvent::Failed {
            method: PollMethod::Ethtool,
            error: ProbeError::Io {
                errno: libc::EIO,
                ..
            },
            ..
        }]
    ));
    assert_eq!(
        poller.last_status(&name("veth0")).unwrap().state,
        LinkState::Up
    );
}

#[test]
fn zero_interval_is_raised_to_the_minimum() {
    let io = FakeIoctl::default();
    let poller = Poller::new(&io, Duration::ZERO);
    assert_eq!(poller.interval(), MIN_INTERVAL);
}

#[test]
fn bad_names_are_errors_not_panics() {
    for (bad, expected) in [
        ("", IfNameError::Empty),
        ("averyveryverylongname", IfNameError::TooLong { len: 21 }),
        ("eth\0", IfNameError::ContainsNul),
        ("../eth0", IfNameError::ForbiddenChar('/')),
    ] {
        assert_eq!(IfName::new(bad).unwrap_err(), expected);
        let as_probe_error: ProbeError = IfName::new(bad).unwrap_err().into();
        assert!(
            as_probe_error
                .to_string()
                .starts_with("invalid interface name")
        );
    }
}
