//! Property tests: encode/decode round trips for arbitrary valid adverts and every auth
//! kind, and no panic on arbitrary bytes for every decoder.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use vrrp_wire::{
    AddressList, AdvertRepr, AhPacket, AhRepr, Auth, Authenticator, Ipv4Packet, Ipv4Repr, RxPolicy,
    TxParams, Vrid, VrrpPacket, VrrpRepr, advert_packet_len, decode_advert, encode_advert,
    fuzz_support, peek_vrid,
};

fn arb_auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::Pass),
        any::<[u8; 8]>().prop_map(Auth::Ah),
    ]
}

fn arb_advert() -> impl Strategy<Value = AdvertRepr> {
    (
        1u8..=255,
        any::<u8>(),
        any::<u8>(),
        proptest::collection::vec(any::<u32>().prop_map(Ipv4Addr::from), 1..=255),
    )
        .prop_map(|(vrid, priority, adver_int, addrs)| AdvertRepr {
            vrid: Vrid::new(vrid).unwrap(),
            priority,
            adver_int,
            addresses: AddressList::from_slice(&addrs).unwrap(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_is_identity(
        advert in arb_advert(),
        auth in arb_auth(),
        src in any::<u32>().prop_map(Ipv4Addr::from),
        peer in any::<u32>().prop_map(Ipv4Addr::from),
        ip_id in 1u16..,
        ttl in any::<u8>(),
        seq in any::<u32>(),
        unicast in any::<bool>(),
    ) {
        prop_assume!(!unicast || !peer.is_multicast());
        let tx = if unicast {
            TxParams { ttl, ..TxParams::unicast(src, peer, ip_id) }
        } else {
            TxParams::multicast(src, ip_id)
        };
        let prepared = Authenticator::new(auth);
        let seq = matches!(auth, Auth::Ah(_)).then_some(seq);
        let mut buf = [0u8; 1100];
        let n = encode_advert(&tx, &advert, &prepared, seq, &mut buf).unwrap();
        prop_assert_eq!(n, advert_packet_len(&advert, &auth));
        let mut policy = RxPolicy::new(&prepared);
        policy.unicast = unicast;
        policy.expected_vrid = Some(advert.vrid);
        policy.adver_int = Some(advert.adver_int);
        policy.vips = Some(advert.addresses.as_slice());
        let rx = decode_advert(&buf[..n], &policy).unwrap();
        prop_assert_eq!(rx.advert(), advert.clone());
        prop_assert_eq!(rx.tx_params(unicast), tx);
        prop_assert_eq!(rx.ah_sequence(), seq);
        prop_assert_eq!(rx.address_list, vrrp_wire::AddressListMatch::Matches);
        // Low-level layers agree.
        let ip = Ipv4Packet::new_checked(&buf[..n]).unwrap();
        let ip_repr = Ipv4Repr::parse(&ip).unwrap();
        prop_assert_eq!(ip_repr.payload_len, n - 20);
        let mut vrrp_bytes = ip.payload();
        if let Auth::Ah(_) = auth {
            let ah = AhRepr::parse(&AhPacket::new_checked(vrrp_bytes).unwrap()).unwrap();
            prop_assert_eq!(ah.spi, u32::from(src));
            vrrp_bytes = &vrrp_bytes[24..];
        }
        let vrrp = VrrpRepr::parse(&VrrpPacket::new_checked(vrrp_bytes).unwrap()).unwrap();
        prop_assert_eq!(vrrp.advert, advert);
        prop_assert_eq!(vrrp.auth_type, auth.auth_type());
        // The fuzz invariants hold on every valid packet too.
        fuzz_support::vrrp_decode(&buf[..n]);
    }

    #[test]
    fn vrrp_repr_round_trip(advert in arb_advert(), auth_type in 0u8..3, auth_data in any::<[u8; 8]>()) {
        let repr = VrrpRepr {
            advert,
            auth_type: vrrp_wire::AuthType::from_wire(auth_type).unwrap(),
            auth_data,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        let back = VrrpRepr::parse(&VrrpPacket::new_checked(&buf[..]).unwrap()).unwrap();
        prop_assert_eq!(back, repr);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        fuzz_support::vrrp_decode(&bytes);
        fuzz_support::ah_verify(&bytes);
        let _ = peek_vrid(&bytes);
        if let Ok(p) = VrrpPacket::new_checked(&bytes[..]) {
            let _ = (p.addresses().iter().count(), p.auth_data(), VrrpRepr::parse(&p));
        }
        if let Ok(p) = AhPacket::new_checked(&bytes[..]) {
            let _ = (p.icv(), p.payload().len(), AhRepr::parse(&p));
        }
    }

    #[test]
    fn mutated_valid_packets_never_panic(
        advert in arb_advert(),
        auth in arb_auth(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let prepared = Authenticator::new(auth);
        let seq = matches!(auth, Auth::Ah(_)).then_some(5);
        let mut buf = [0u8; 1100];
        let n = encode_advert(&TxParams::multicast(Ipv4Addr::new(10, 0, 0, 1), 3), &advert, &prepared, seq, &mut buf).unwrap();
        let mut pkt = buf[..n].to_vec();
        for (pos, val) in flips {
            let i = pos % n;
            pkt[i] = val;
        }
        pkt.truncate(cut % (n + 1));
        fuzz_support::vrrp_decode(&pkt);
        let mut with_flag = vec![0u8];
        with_flag.extend_from_slice(&pkt);
        fuzz_support::ah_verify(&with_flag);
        let _ = decode_advert(&pkt, &RxPolicy::new(&prepared));
    }
}
