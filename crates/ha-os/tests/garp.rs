//! Acceptance 3: gratuitous ARP frames captured on the peer are exactly keepalived's 42 bytes.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Capture, Lab, mac_from_ip};
use ha_os::{GarpSender, MacvlanSpec, OsError, Rtnetlink};

/// The frame written out by hand from vrrp.md §3.10 (independent of `garp_frame`).
fn expected_frame(mac: [u8; 6], vip: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&vip);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&vip);
    f
}

/// Captures ARP frames whose sender IP is one of `vips` until `want` were seen or the
/// capture times out.
fn capture_garps(capture: &Capture, vips: &[Ipv4Addr], want: usize) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while frames.len() < want {
        let Some(frame) = capture.next_frame() else {
            break;
        };
        if vips
            .iter()
            .any(|vip| frame.get(28..32) == Some(&vip.octets()[..]))
        {
            frames.push(frame);
        }
    }
    frames
}

fn lab(tag: &str) -> Option<Lab> {
    let lab = Lab::new(tag, 2)?;
    lab.veth(0, "a0", "192.168.200.2/24", 1, "b0", "192.168.200.3/24");
    Some(lab)
}

#[test]
fn garp_burst_arrives_as_keepalived_frames() {
    let Some(lab) = lab("garp") else { return };
    let capture = lab.within(1, || Capture::open("b0", 0x0806, Duration::from_secs(3)));
    let sender = lab.within(0, || GarpSender::open("a0").expect("garp sender"));
    let mac = mac_from_ip(&lab, 0, "a0");
    assert_eq!(sender.mac(), mac);

    let vips = [
        Ipv4Addr::new(192, 168, 200, 16),
        Ipv4Addr::new(192, 168, 200, 17),
    ];
    assert_eq!(sender.send_burst(&vips, 5).unwrap(), 10);

    let frames = capture_garps(&capture, &vips, 10);
    assert_eq!(frames.len(), 10);
    // Interleaved like keepalived: VIP1, VIP2, VIP1, VIP2, ...
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.len(), 42, "veth delivers the unpadded frame");
        assert_eq!(
            *frame,
            expected_frame(mac, vips[i % 2].octets()),
            "frame {i}"
        );
    }
}

#[test]
fn garp_from_the_vmac_interface_carries_the_virtual_mac() {
    let Some(lab) = lab("vgarp") else { return };
    let mut nl = lab.within(0, || Rtnetlink::open().expect("rtnetlink"));
    nl.create_macvlan("a0", &MacvlanSpec::vmac(51)).unwrap();
    let capture = lab.within(1, || Capture::open("b0", 0x0806, Duration::from_secs(3)));
    let sender = lab.within(0, || GarpSender::open("vrrp.51").expect("garp sender"));
    let vmac = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33];
    assert_eq!(sender.mac(), vmac);
    let vip = Ipv4Addr::new(192, 168, 200, 200);
    sender.send(vip).unwrap();
    let frames = capture_garps(&capture, &[vip], 1);
    assert_eq!(frames, vec![expected_frame(vmac, vip.octets())]);

    // Adverts sent on the VMAC interface leave with the virtual MAC as Ethernet source,
    // to the 224.0.0.18 multicast MAC (g-vmac capture facts).
    let ip_capture = lab.within(1, || Capture::open("b0", 0x0800, Duration::from_secs(3)));
    let advert_sender = lab.within(0, || ha_os::Sender::open("vrrp.51").expect("sender"));
    let mut advert = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x00, 0x00, 192, 168, 200, 2,
        224, 0, 0, 18, 0x21, 51, 100, 1, 0, 1, 0, 0, 192, 168, 200, 200, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    common::fix_checksum(&mut advert);
    advert_sender.send(&advert).unwrap();
    let frame = std::iter::from_fn(|| ip_capture.next_frame())
        .find(|f| f.get(23) == Some(&112))
        .expect("advert captured on the peer");
    assert_eq!(&frame[0..6], &[0x01, 0x00, 0x5e, 0x00, 0x00, 0x12]);
    assert_eq!(&frame[6..12], &vmac);
    assert_eq!(&frame[14..], &advert[..]);

    nl.delete_link("vrrp.51").unwrap();

    // Sending on a deleted interface is a typed error naming it.
    let err = sender.send(vip).unwrap_err();
    assert_eq!(err.interface(), "vrrp.51");
}

#[test]
fn garp_on_a_missing_interface_is_a_typed_error() {
    let Some(lab) = lab("garperr") else { return };
    let err = lab.within(0, || GarpSender::open("nosuch0").unwrap_err());
    assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
    assert_eq!(err.interface(), "nosuch0");
    let err = lab.within(0, || GarpSender::open("lo").unwrap_err());
    assert!(
        matches!(err, OsError::InvalidArgument { .. }),
        "loopback has no Ethernet MAC: {err}"
    );
}

#[test]
fn neighbour_advertisements_arrive_byte_for_byte() {
    let Some(lab) = lab("na") else { return };
    let capture = lab.within(1, || Capture::open("b0", 0x86dd, Duration::from_secs(3)));
    let sender = lab.within(0, || GarpSender::open("a0").expect("sender"));
    let mac = mac_from_ip(&lab, 0, "a0");
    let vip: std::net::Ipv6Addr = "2001:db8:99::10".parse().unwrap();
    sender.send_na(vip, false).expect("send NA");
    let mut seen = None;
    while let Some(frame) = capture.next_frame() {
        if frame.get(54) == Some(&136) && frame.get(62..78) == Some(&vip.octets()[..]) {
            seen = Some(frame);
            break;
        }
    }
    let frame = seen.expect("the advertisement arrived");
    // Byte-identical to the built frame, whose checksum a unit test verifies.
    assert_eq!(frame, ha_os::garp::na_frame(mac, vip, false).to_vec());
}

#[test]
fn ipv6_addresses_are_added_without_dad_and_deleted() {
    let Some(lab) = lab("addr6") else { return };
    let mut nl = lab.within(0, || Rtnetlink::open().expect("rtnetlink"));
    let vip: std::net::Ipv6Addr = "2001:db8:99::20".parse().unwrap();
    assert_eq!(
        nl.add_address6("a0", vip, 64).unwrap(),
        ha_os::AddOutcome::Added
    );
    assert_eq!(
        nl.add_address6("a0", vip, 64).unwrap(),
        ha_os::AddOutcome::AlreadyPresent
    );
    let shown = lab.ip(0, &["-6", "-o", "addr", "show", "dev", "a0"]);
    let line = shown
        .lines()
        .find(|l| l.contains("2001:db8:99::20/64"))
        .unwrap_or_else(|| panic!("not shown: {shown}"));
    assert!(
        !line.contains("tentative"),
        "no duplicate address detection: {line}"
    );
    assert_eq!(
        nl.delete_address6("a0", vip, 64).unwrap(),
        ha_os::DeleteOutcome::Deleted
    );
    assert_eq!(
        nl.delete_address6("a0", vip, 64).unwrap(),
        ha_os::DeleteOutcome::NotPresent
    );
    assert!(
        !lab.ip(0, &["-6", "addr", "show", "dev", "a0"])
            .contains("2001:db8:99::20")
    );
}
