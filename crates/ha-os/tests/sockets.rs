//! Acceptance 1: the send socket and the receive pool across a veth pair, in namespaces.
//!
//! Topology: namespace 0 (a0 192.168.200.2, a1 192.168.201.2) and namespace 1
//! (b0 192.168.200.3, b1 192.168.201.3), a0<->b0 and a1<->b1 veth pairs.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::{Lab, fix_checksum, ipv4_checksum};
use ha_os::{Demux, IpProtocol, OsError, RxKey, RxPool, Sender, VRRP_GROUP};
use mio::{Events, Poll, Token};

/// vrrp.md §1.6: the PASS advert keepalived sent (VRID 51, prio 100, 192.168.200.16).
const PASS_ADVERT: [u8; 40] = [
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x51, 0xe7, 0xc0, 0xa8, 0xc8, 0x02,
    0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x8e, 0xae, 0xc0, 0xa8, 0xc8, 0x10,
    0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
];

/// An AH-wrapped VRRP advert shaped like keepalived's (64 bytes, SPI = source address).
fn ah_advert(dst: Ipv4Addr, id: u16) -> Vec<u8> {
    let mut p = vec![0x45, 0xc0, 0x00, 0x40];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&[0x00, 0x00, 0xff, 51, 0, 0, 192, 168, 200, 2]);
    p.extend_from_slice(&dst.octets());
    // AH: next header 112, length 4, reserved, SPI, sequence 1, 12-byte ICV.
    p.extend_from_slice(&[112, 4, 0, 0, 192, 168, 200, 2, 0, 0, 0, 1]);
    p.extend_from_slice(&[0x5a; 12]);
    // VRRP: VRID 51, prio 150, 1 address, auth type 2, adver 1, checksum, VIP, zero auth.
    p.extend_from_slice(&[0x21, 51, 150, 1, 2, 1, 0x12, 0x34, 192, 168, 200, 16]);
    p.extend_from_slice(&[0; 8]);
    fix_checksum(&mut p);
    p
}

fn unicast_copy(packet: &[u8], dst: Ipv4Addr) -> Vec<u8> {
    let mut p = packet.to_vec();
    p[16..20].copy_from_slice(&dst.octets());
    fix_checksum(&mut p);
    p
}

/// `Poll::poll`, retried when a signal interrupts it (other tests spawn `ip`).
fn poll_retrying(poll: &mut Poll, events: &mut Events, timeout: Duration) {
    loop {
        match poll.poll(events, Some(timeout)) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("poll: {e}"),
        }
    }
}

struct Setup {
    lab: Lab,
    pool_a: RxPool,
    pool_b: RxPool,
    sender: Sender,
}

fn setup(tag: &str) -> Option<Setup> {
    let lab = Lab::new(tag, 2)?;
    lab.veth(0, "a0", "192.168.200.2/24", 1, "b0", "192.168.200.3/24");
    lab.veth(0, "a1", "192.168.201.2/24", 1, "b1", "192.168.201.3/24");
    let (pool_a, sender) = lab.within(0, || (RxPool::new(), Sender::open("a0").expect("sender")));
    Some(Setup {
        pool_b: RxPool::new(),
        pool_a,
        sender,
        lab,
    })
}

/// Polls the given sockets and collects (key, packet bytes, source) until `want` packets
/// were seen, then keeps listening a little to catch anything unexpected.
fn collect(
    pools: &mut [(&mut RxPool, &[RxKey])],
    want: usize,
) -> Vec<(usize, RxKey, Vec<u8>, Ipv4Addr)> {
    let mut poll = Poll::new().unwrap();
    for (p, (pool, keys)) in pools.iter_mut().enumerate() {
        for key in keys.iter() {
            pool.register(poll.registry(), *key, Token(p * 1000 + key.0))
                .unwrap();
        }
    }
    let mut events = Events::with_capacity(64);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut grace_done = false;
    loop {
        let waiting = got.len() < want && Instant::now() < deadline;
        if !waiting {
            if grace_done {
                break;
            }
            // A short grace period catches deliveries that must not happen.
            grace_done = true;
        }
        let timeout = if waiting { 50 } else { 300 };
        poll_retrying(&mut poll, &mut events, Duration::from_millis(timeout));
        for event in events.iter() {
            let p = event.token().0 / 1000;
            let key = RxKey(event.token().0 % 1000);
            let (pool, _) = &mut pools[p];
            pool.drain(key, |packet| {
                assert!(!packet.truncated);
                got.push((p, key, packet.bytes.to_vec(), packet.source));
            })
            .unwrap();
        }
    }
    got
}

fn open_multicast(
    lab: &Lab,
    ns: usize,
    pool: &mut RxPool,
    ifname: &str,
    proto: IpProtocol,
) -> RxKey {
    lab.within(ns, || {
        pool.multicast(ifname, proto, VRRP_GROUP)
            .expect("multicast socket")
    })
}

#[test]
fn checksum_helper_reproduces_the_vector() {
    assert_eq!(ipv4_checksum(&PASS_ADVERT[..20]), 0x51e7);
}

fn multicast_case(tag: &str, proto: IpProtocol, packet: &[u8]) {
    let Some(mut s) = setup(tag) else { return };
    let b0 = open_multicast(&s.lab, 1, &mut s.pool_b, "b0", proto);
    let b1 = open_multicast(&s.lab, 1, &mut s.pool_b, "b1", proto);
    // Opening the same (interface, protocol, group) again shares the socket.
    assert_eq!(open_multicast(&s.lab, 1, &mut s.pool_b, "b0", proto), b0);
    let a0 = open_multicast(&s.lab, 0, &mut s.pool_a, "a0", proto);
    assert_eq!(s.pool_b.len(), 2);

    s.sender.send(packet).expect("send");
    let got = collect(
        &mut [(&mut s.pool_b, &[b0, b1][..]), (&mut s.pool_a, &[a0][..])],
        1,
    );
    assert_eq!(
        got.len(),
        1,
        "exactly one delivery (not on b1, not looped back to a0): {got:?}"
    );
    let (pool, key, bytes, source) = &got[0];
    assert_eq!((*pool, *key), (0, b0), "received on b0's socket");
    assert_eq!(
        bytes.as_slice(),
        packet,
        "byte-identical (ID, TOS, TTL, checksum)"
    );
    assert_eq!(*source, Ipv4Addr::new(192, 168, 200, 2));
    assert_eq!(ha_os::vrid_of(bytes), Some(51));
}

#[test]
fn vrrp_multicast_is_received_byte_identical_only_on_the_bound_interface() {
    multicast_case("mc112", IpProtocol::Vrrp, &PASS_ADVERT);
}

#[test]
fn ah_multicast_is_received_byte_identical_only_on_the_bound_interface() {
    multicast_case("mc51", IpProtocol::Ah, &ah_advert(VRRP_GROUP, 9));
}

fn unicast_case(tag: &str, proto: IpProtocol, packet: &[u8]) {
    let Some(mut s) = setup(tag) else { return };
    let local = Ipv4Addr::new(192, 168, 200, 3);
    let uni = s.lab.within(1, || {
        s.pool_b
            .unicast("b0", proto, local)
            .expect("unicast socket")
    });
    let mc = open_multicast(&s.lab, 1, &mut s.pool_b, "b0", proto);
    let other = s.lab.within(1, || {
        s.pool_b
            .unicast("b1", proto, Ipv4Addr::new(192, 168, 201, 3))
            .expect("unicast socket b1")
    });
    s.sender.send(packet).expect("send unicast");
    let got = collect(&mut [(&mut s.pool_b, &[uni, mc, other][..])], 1);
    assert_eq!(
        got.len(),
        1,
        "only the unicast socket bound to b0's address: {got:?}"
    );
    assert_eq!(got[0].1, uni);
    assert_eq!(got[0].2.as_slice(), packet);
}

#[test]
fn vrrp_unicast_reaches_only_the_unicast_socket() {
    let packet = unicast_copy(&PASS_ADVERT, Ipv4Addr::new(192, 168, 200, 3));
    unicast_case("uc112", IpProtocol::Vrrp, &packet);
}

#[test]
fn ah_unicast_reaches_only_the_unicast_socket() {
    let packet = ah_advert(Ipv4Addr::new(192, 168, 200, 3), 77);
    unicast_case("uc51", IpProtocol::Ah, &packet);
}

#[test]
fn kernel_fills_a_zero_checksum_but_keeps_the_id() {
    let Some(mut s) = setup("csum") else { return };
    let b0 = open_multicast(&s.lab, 1, &mut s.pool_b, "b0", IpProtocol::Vrrp);
    let mut packet = PASS_ADVERT;
    packet[10] = 0;
    packet[11] = 0;
    s.sender.send(&packet).unwrap();
    let got = collect(&mut [(&mut s.pool_b, &[b0][..])], 1);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].2.as_slice(),
        &PASS_ADVERT[..],
        "kernel checksum 0x51e7, ID 1 kept"
    );
}

#[test]
fn sendmmsg_batch_arrives_complete_and_in_order() {
    let Some(mut s) = setup("batch") else { return };
    let b0 = open_multicast(&s.lab, 1, &mut s.pool_b, "b0", IpProtocol::Vrrp);
    let packets: Vec<Vec<u8>> = (1..=150u16)
        .map(|id| {
            let mut p = PASS_ADVERT;
            p[4..6].copy_from_slice(&id.to_be_bytes());
            p[21] = (id % 255 + 1) as u8; // VRID varies
            fix_checksum(&mut p);
            p.to_vec()
        })
        .collect();
    let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
    assert_eq!(s.sender.send_batch(&refs).unwrap(), 150);
    let got = collect(&mut [(&mut s.pool_b, &[b0][..])], 150);
    assert_eq!(got.len(), 150);
    for (received, sent) in got.iter().zip(&packets) {
        assert_eq!(&received.2, sent);
    }
    // One invalid packet in a batch: nothing is sent, the error names the interface.
    let mut bad = refs.clone();
    bad.push(&PASS_ADVERT[..30]);
    let err = s.sender.send_batch(&bad).unwrap_err();
    assert!(matches!(err, OsError::InvalidArgument { .. }));
    assert_eq!(err.interface(), "a0");
}

#[test]
fn demux_hands_packets_to_instances_by_vrid() {
    let Some(mut s) = setup("demux") else { return };
    let b0 = open_multicast(&s.lab, 1, &mut s.pool_b, "b0", IpProtocol::Vrrp);
    let ifindex = s.pool_b.socket(b0).unwrap().ifindex();
    let mut demux = Demux::new();
    demux.insert(ifindex, IpProtocol::Vrrp, 51, "VI_51");
    demux.insert(ifindex, IpProtocol::Vrrp, 52, "VI_52");
    let mut second = PASS_ADVERT;
    second[21] = 52;
    second[5] = 2;
    fix_checksum(&mut second);
    let mut unknown = PASS_ADVERT;
    unknown[21] = 99;
    unknown[5] = 3;
    fix_checksum(&mut unknown);
    for p in [&PASS_ADVERT, &second, &unknown] {
        s.sender.send(p).unwrap();
    }
    let mut poll = Poll::new().unwrap();
    s.pool_b.register(poll.registry(), b0, Token(7)).unwrap();
    let mut events = Events::with_capacity(8);
    let mut routed = Vec::new();
    while routed.len() < 3 {
        poll_retrying(&mut poll, &mut events, Duration::from_secs(5));
        assert!(!events.is_empty(), "timed out with {routed:?}");
        s.pool_b
            .drain(b0, |packet| routed.push(demux.route(&packet).copied()))
            .unwrap();
    }
    assert_eq!(routed, vec![Some("VI_51"), Some("VI_52"), None]);
}

#[test]
fn unknown_interfaces_are_typed_errors() {
    let Some(lab) = Lab::new("noif", 1) else {
        return;
    };
    lab.within(0, || {
        let err = Sender::open("nosuch0").unwrap_err();
        assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
        assert_eq!(err.interface(), "nosuch0");
        let err =
            ha_os::RxSocket::open_multicast("nosuch0", IpProtocol::Vrrp, VRRP_GROUP).unwrap_err();
        assert!(matches!(err, OsError::NoSuchInterface { .. }), "{err}");
        let err =
            ha_os::RxSocket::open_unicast("bad/name", IpProtocol::Ah, Ipv4Addr::new(10, 0, 0, 1))
                .unwrap_err();
        assert!(matches!(err, OsError::InvalidInterfaceName { .. }), "{err}");
        let err =
            ha_os::RxSocket::open_multicast("lo", IpProtocol::Vrrp, Ipv4Addr::new(10, 0, 0, 1))
                .unwrap_err();
        assert!(matches!(err, OsError::InvalidArgument { .. }), "{err}");
        assert!(err.to_string().contains("\"lo\""), "{err}");
    });
}
