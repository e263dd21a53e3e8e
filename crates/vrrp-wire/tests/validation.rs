//! One negative test per receive-validation rule (RFC 3768 §7.1 in keepalived's order),
//! with the RFC 2787 counter each error feeds and keepalived's KO/DROP distinction.

use std::net::Ipv4Addr;

use vrrp_wire::checksum::internet_checksum;
use vrrp_wire::{
    AddressList, AddressListMatch, AddressListPolicy, AdvertRepr, AhKey, AhSequence, Auth,
    AuthType, Authenticator, EmitError, ParseError, ReplayError, Rfc2787Counter, RxError, RxPolicy,
    TxParams, Vrid, decode_advert, encode_advert, peek_vrid,
};

const SRC: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 11);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 200);
const KEY: [u8; 8] = *b"secret12";

fn advert(priority: u8, vips: &[Ipv4Addr]) -> AdvertRepr {
    AdvertRepr {
        vrid: Vrid::new(51).unwrap(),
        priority,
        adver_int: 1,
        addresses: AddressList::from_slice(vips).unwrap(),
    }
}

fn build_with(tx: TxParams, adv: &AdvertRepr, auth: &Authenticator) -> Vec<u8> {
    let seq = matches!(auth.auth(), Auth::Ah(_)).then_some(7);
    let mut buf = vec![0u8; 1500];
    let n = encode_advert(&tx, adv, auth, seq, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn build(auth: &Authenticator) -> Vec<u8> {
    build_with(TxParams::multicast(SRC, 1), &advert(100, &[VIP]), auth)
}

fn fix_ip_checksum(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    p[10] = 0;
    p[11] = 0;
    let c = internet_checksum(&p[..ihl]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
}

fn vrrp_start(p: &[u8]) -> usize {
    usize::from(p[0] & 0x0f) * 4 + if p[9] == 51 { 24 } else { 0 }
}

fn fix_vrrp_checksum(p: &mut [u8]) {
    let s = vrrp_start(p);
    let len = 16 + 4 * usize::from(p[s + 3]);
    p[s + 6] = 0;
    p[s + 7] = 0;
    let c = internet_checksum(&p[s..s + len]);
    p[s + 6..s + 8].copy_from_slice(&c.to_be_bytes());
}

/// Recomputes the AH ICV (multicast) after a mutation, so later rules can be reached.
fn resign(p: &mut [u8]) {
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]])).min(p.len());
    let icv = AhKey::new(&KEY).icv(&p[..ihl], &p[ihl..ihl + 24], &p[ihl + 24..total], false);
    p[ihl + 12..ihl + 24].copy_from_slice(&icv);
}

fn none() -> Authenticator {
    Authenticator::new(Auth::None)
}
fn pass() -> Authenticator {
    Authenticator::new(Auth::Pass(KEY))
}
fn ah() -> Authenticator {
    Authenticator::new(Auth::Ah(KEY))
}

/// Decodes and checks the error, its counter and whether it is a silent drop.
fn expect(
    pkt: &[u8],
    policy: &RxPolicy<'_>,
    want: RxError,
    counter: Option<Rfc2787Counter>,
    silent: bool,
) {
    let err = decode_advert(pkt, policy).unwrap_err();
    assert_eq!(err, want);
    assert_eq!(err.counter(), counter, "{err}");
    assert_eq!(err.is_silent_drop(), silent, "{err}");
}

#[test]
fn valid_adverts_of_every_kind_decode() {
    for auth in [none(), pass(), ah()] {
        let pkt = build(&auth);
        let rx = decode_advert(&pkt, &RxPolicy::new(&auth)).unwrap();
        assert_eq!(rx.vrid.get(), 51);
        assert_eq!(rx.auth_type, auth.auth().auth_type());
        assert_eq!(rx.address_list, AddressListMatch::NotChecked);
        assert_eq!(peek_vrid(&pkt), Vrid::new(51));
    }
}

#[test]
fn rule0_truncated_and_malformed_ip() {
    let auth = none();
    let policy = RxPolicy::new(&auth);
    let pkt = build(&auth);
    let len_err = Some(Rfc2787Counter::PacketLengthErrors);
    expect(
        &pkt[..19],
        &policy,
        RxError::Truncated {
            needed: 20,
            available: 19,
        },
        len_err,
        false,
    );
    expect(
        &pkt[..27],
        &policy,
        RxError::Truncated {
            needed: 28,
            available: 27,
        },
        len_err,
        false,
    );
    let ah_auth = ah();
    let ah_pkt = build(&ah_auth);
    expect(
        &ah_pkt[..51],
        &RxPolicy::new(&ah_auth),
        RxError::Truncated {
            needed: 52,
            available: 51,
        },
        len_err,
        false,
    );
    let mut v6 = pkt.clone();
    v6[0] = 0x65;
    expect(&v6, &policy, RxError::NotIpv4(6), None, true);
    let mut ihl = pkt.clone();
    ihl[0] = 0x44;
    expect(
        &ihl,
        &policy,
        RxError::IpHeader(ParseError::BadHeaderLength(16)),
        len_err,
        false,
    );
    let mut long_ihl = pkt.clone();
    long_ihl[0] = 0x4f;
    expect(
        &long_ihl[..40],
        &policy,
        RxError::Truncated {
            needed: 60,
            available: 40,
        },
        len_err,
        false,
    );
}

#[test]
fn rule0_not_vrrp_fragment_and_ip_checksum_are_silent() {
    let auth = none();
    let policy = RxPolicy::new(&auth);
    let pkt = build(&auth);
    let mut udp = pkt.clone();
    udp[9] = 17;
    fix_ip_checksum(&mut udp);
    expect(&udp, &policy, RxError::NotVrrp(17), None, true);
    let mut frag = pkt.clone();
    frag[6] = 0x20; // more fragments
    fix_ip_checksum(&mut frag);
    expect(&frag, &policy, RxError::Fragment, None, true);
    let mut csum = pkt.clone();
    csum[10] ^= 0xff;
    expect(&csum, &policy, RxError::IpChecksum, None, true);
    let mut lax = policy;
    lax.verify_ip_checksum = false;
    assert!(decode_advert(&csum, &lax).is_ok());
    // DF set is fine (not a fragment).
    let mut df = pkt.clone();
    df[6] = 0x40;
    fix_ip_checksum(&mut df);
    assert_eq!(decode_advert(&df, &policy).unwrap().ip_flags_frag, 0x4000);
}

#[test]
fn rule1_vrid() {
    let auth = none();
    let pkt = build(&auth);
    let mut policy = RxPolicy::new(&auth);
    policy.expected_vrid = Vrid::new(52);
    expect(
        &pkt,
        &policy,
        RxError::UnknownVrid(51),
        Some(Rfc2787Counter::VrIdErrors),
        true,
    );
    let mut zero = pkt.clone();
    zero[21] = 0;
    fix_vrrp_checksum(&mut zero);
    expect(
        &zero,
        &RxPolicy::new(&auth),
        RxError::InvalidVrid,
        Some(Rfc2787Counter::VrIdErrors),
        false,
    );
    assert_eq!(peek_vrid(&zero), None);
    policy.expected_vrid = Vrid::new(51);
    assert!(decode_advert(&pkt, &policy).is_ok());
}

#[test]
fn rule3_protocol_must_match_ah_configuration() {
    let ah_auth = ah();
    let pass_auth = pass();
    expect(
        &build(&ah_auth),
        &RxPolicy::new(&pass_auth),
        RxError::ProtocolMismatch {
            configured: AuthType::SimplePassword,
            protocol: 51,
        },
        Some(Rfc2787Counter::AuthTypeMismatch),
        false,
    );
    expect(
        &build(&pass_auth),
        &RxPolicy::new(&ah_auth),
        RxError::ProtocolMismatch {
            configured: AuthType::IpAh,
            protocol: 112,
        },
        Some(Rfc2787Counter::AuthTypeMismatch),
        false,
    );
}

#[test]
fn rule4_length_and_ethernet_padding() {
    let auth = none();
    let policy = RxPolicy::new(&auth);
    let pkt = build(&auth); // 40 bytes
    let len_err = Some(Rfc2787Counter::PacketLengthErrors);
    let mut more = pkt.clone();
    more[23] = 2; // claims two addresses
    expect(
        &more,
        &policy,
        RxError::PacketLength {
            expected: 44,
            received: 40,
        },
        len_err,
        false,
    );
    for (pad, ok) in [(6, true), (2, true), (4, false), (10, false), (1, false)] {
        let mut padded = pkt.clone();
        padded.extend(std::iter::repeat_n(0u8, pad));
        let got = decode_advert(&padded, &policy);
        if ok {
            let rx = got.unwrap();
            assert_eq!(rx.packet_len, 40);
        } else {
            assert_eq!(
                got.unwrap_err(),
                RxError::PacketLength {
                    expected: 40,
                    received: 40 + pad
                }
            );
        }
    }
    // 48-byte packets (3 VIPs) are above the Ethernet minimum: no padding allowed.
    let three = build_with(
        TxParams::multicast(SRC, 1),
        &advert(
            100,
            &[
                VIP,
                Ipv4Addr::new(10, 99, 0, 201),
                Ipv4Addr::new(10, 99, 0, 202),
            ],
        ),
        &auth,
    );
    let mut padded = three.clone();
    padded.extend([0u8; 4]);
    expect(
        &padded,
        &policy,
        RxError::PacketLength {
            expected: 48,
            received: 52,
        },
        len_err,
        false,
    );
}

#[test]
fn rule5_ttl_checked_only_for_multicast() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt[8] = 254;
    fix_ip_checksum(&mut pkt);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::IpTtl(254),
        Some(Rfc2787Counter::IpTtlErrors),
        false,
    );
    let mut uni = build_with(
        TxParams::unicast(SRC, Ipv4Addr::new(10, 99, 0, 12), 1),
        &advert(100, &[VIP]),
        &auth,
    );
    uni[8] = 64;
    fix_ip_checksum(&mut uni);
    let mut policy = RxPolicy::new(&auth);
    policy.unicast = true;
    assert_eq!(decode_advert(&uni, &policy).unwrap().ttl, 64);
}

#[test]
fn rule6_version() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt[20] = 0x31;
    fix_vrrp_checksum(&mut pkt);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::Version(3),
        Some(Rfc2787Counter::VersionErrors),
        false,
    );
}

#[test]
fn rule8_invalid_auth_type() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt[24] = 3;
    fix_vrrp_checksum(&mut pkt);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::InvalidAuthType(3),
        Some(Rfc2787Counter::InvalidAuthType),
        false,
    );
}

#[test]
fn rule9_auth_type_mismatch() {
    let none_auth = none();
    let pass_auth = pass();
    expect(
        &build(&pass_auth),
        &RxPolicy::new(&none_auth),
        RxError::AuthTypeMismatch {
            configured: AuthType::None,
            received: AuthType::SimplePassword,
        },
        Some(Rfc2787Counter::AuthTypeMismatch),
        false,
    );
    expect(
        &build(&none_auth),
        &RxPolicy::new(&pass_auth),
        RxError::AuthTypeMismatch {
            configured: AuthType::SimplePassword,
            received: AuthType::None,
        },
        Some(Rfc2787Counter::AuthTypeMismatch),
        false,
    );
}

#[test]
fn rule10_password() {
    let sender = Authenticator::new(Auth::Pass(Auth::key_from_password(b"abc")));
    let pkt = build(&sender);
    assert_eq!(&pkt[32..40], b"abc\0\0\0\0\0");
    let receiver = pass();
    expect(
        &pkt,
        &RxPolicy::new(&receiver),
        RxError::PasswordMismatch,
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    // Same first 8 characters: keepalived truncates, so this matches.
    let long = Authenticator::new(Auth::Pass(Auth::key_from_password(b"secret12long")));
    assert!(decode_advert(&build(&long), &RxPolicy::new(&receiver)).is_ok());
}

#[test]
fn rule10_ah_next_header_shape_icv_spi() {
    let auth = ah();
    let policy = RxPolicy::new(&auth);
    let pkt = build(&auth);
    let mut nh = pkt.clone();
    nh[20] = 6;
    expect(&nh, &policy, RxError::AhNextHeader(6), None, true);
    let mut plen = pkt.clone();
    plen[21] = 5;
    expect(
        &plen,
        &policy,
        RxError::AhMalformed(ParseError::AhPayloadLength(5)),
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    let mut reserved = pkt.clone();
    reserved[23] = 1;
    expect(
        &reserved,
        &policy,
        RxError::AhMalformed(ParseError::AhReserved(1)),
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    let mut icv = pkt.clone();
    icv[40] ^= 1;
    expect(
        &icv,
        &policy,
        RxError::AhIcvMismatch,
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    // The IP ID is covered; TOS is not.
    let mut id = pkt.clone();
    id[5] ^= 1;
    fix_ip_checksum(&mut id);
    expect(
        &id,
        &policy,
        RxError::AhIcvMismatch,
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    let mut tos = pkt.clone();
    tos[1] = 0;
    fix_ip_checksum(&mut tos);
    assert!(decode_advert(&tos, &policy).is_ok());
    let wrong_key = Authenticator::new(Auth::Ah(*b"wrongpw1"));
    expect(
        &pkt,
        &RxPolicy::new(&wrong_key),
        RxError::AhIcvMismatch,
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    let mut spi = pkt.clone();
    spi[27] = 12;
    resign(&mut spi);
    expect(
        &spi,
        &policy,
        RxError::AhSpiMismatch {
            spi: u32::from(Ipv4Addr::new(10, 99, 0, 12)),
            src: SRC,
        },
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
}

#[test]
fn rule10_ah_unicast_zeroes_ttl_in_icv() {
    let auth = ah();
    let dst = Ipv4Addr::new(10, 99, 0, 12);
    let mut pkt = build_with(TxParams::unicast(SRC, dst, 1), &advert(100, &[VIP]), &auth);
    let mut policy = RxPolicy::new(&auth);
    policy.unicast = true;
    pkt[8] = 60; // routers decrement the TTL; it is not covered for unicast
    fix_ip_checksum(&mut pkt);
    assert!(decode_advert(&pkt, &policy).is_ok());
    policy.unicast = false;
    // A multicast receiver checks TTL first.
    expect(
        &pkt,
        &policy,
        RxError::IpTtl(60),
        Some(Rfc2787Counter::IpTtlErrors),
        false,
    );
}

#[test]
fn rule10_ah_replay() {
    let auth = ah();
    let pkt = build(&auth); // sequence 7
    let rx = decode_advert(&pkt, &RxPolicy::new(&auth)).unwrap();
    let mut seq = AhSequence::from_parts(7, false);
    let err = rx.check_replay(&mut seq).unwrap_err();
    assert_eq!(
        err,
        RxError::Replay(ReplayError {
            received: 7,
            watermark: 7
        })
    );
    assert_eq!(err.counter(), Some(Rfc2787Counter::AuthFailures));
    assert!(!err.is_silent_drop());
    let mut seq = AhSequence::from_parts(6, false);
    rx.check_replay(&mut seq).unwrap();
    assert_eq!(seq.counter(), 7);
    // Non-AH adverts leave the watermark alone.
    let plain = none();
    let plain_pkt = build(&plain);
    let rx = decode_advert(&plain_pkt, &RxPolicy::new(&plain)).unwrap();
    rx.check_replay(&mut seq).unwrap();
    assert_eq!(seq.counter(), 7);
}

#[test]
fn rule11_advert_interval_is_a_silent_drop() {
    let auth = none();
    let mut policy = RxPolicy::new(&auth);
    policy.adver_int = Some(2);
    expect(
        &build(&auth),
        &policy,
        RxError::AdvertIntervalMismatch {
            configured: 2,
            received: 1,
        },
        Some(Rfc2787Counter::AdvertisementIntervalErrors),
        true,
    );
}

#[test]
fn rule12_type() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt[20] = 0x22;
    fix_vrrp_checksum(&mut pkt);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::InvalidType(2),
        Some(Rfc2787Counter::InvalidTypePktsRcvd),
        false,
    );
    // Under AH the type is checked after the ICV (keepalived's order).
    let ah_auth = ah();
    let mut ah_pkt = build(&ah_auth);
    ah_pkt[44] = 0x22;
    fix_vrrp_checksum(&mut ah_pkt);
    expect(
        &ah_pkt,
        &RxPolicy::new(&ah_auth),
        RxError::AhIcvMismatch,
        Some(Rfc2787Counter::AuthFailures),
        false,
    );
    resign(&mut ah_pkt);
    expect(
        &ah_pkt,
        &RxPolicy::new(&ah_auth),
        RxError::InvalidType(2),
        Some(Rfc2787Counter::InvalidTypePktsRcvd),
        false,
    );
}

#[test]
fn rule13_ip_total_length() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt.extend([0u8; 6]);
    pkt[3] = 46; // total length covers the padding
    fix_ip_checksum(&mut pkt);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::IpTotalLength {
            total: 46,
            expected: 40,
        },
        Some(Rfc2787Counter::PacketLengthErrors),
        false,
    );
}

#[test]
fn rule14_vrrp_checksum() {
    let auth = none();
    let mut pkt = build(&auth);
    let good = u16::from_be_bytes([pkt[26], pkt[27]]);
    pkt[26] ^= 0x10;
    let found = u16::from_be_bytes([pkt[26], pkt[27]]);
    expect(
        &pkt,
        &RxPolicy::new(&auth),
        RxError::Checksum {
            found,
            expected: good,
        },
        Some(Rfc2787Counter::ChecksumErrors),
        false,
    );
}

#[test]
fn rule14_order_ttl_before_checksum() {
    let auth = none();
    let mut pkt = build(&auth);
    pkt[26] ^= 0x10;
    pkt[8] = 1;
    fix_ip_checksum(&mut pkt);
    assert_eq!(
        decode_advert(&pkt, &RxPolicy::new(&auth)).unwrap_err(),
        RxError::IpTtl(1)
    );
}

#[test]
fn rule15_destination_mode() {
    let auth = none();
    let peer = Ipv4Addr::new(10, 99, 0, 12);
    let uni = build_with(TxParams::unicast(SRC, peer, 1), &advert(100, &[VIP]), &auth);
    expect(
        &uni,
        &RxPolicy::new(&auth),
        RxError::DestinationMismatch(peer),
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    let mut policy = RxPolicy::new(&auth);
    policy.unicast = true;
    expect(
        &build(&auth),
        &policy,
        RxError::DestinationMismatch(Ipv4Addr::new(224, 0, 0, 18)),
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    assert!(decode_advert(&uni, &policy).is_ok());
}

#[test]
fn rule18_address_list_policies() {
    let auth = none();
    let other = Ipv4Addr::new(10, 99, 0, 77);
    let pkt = build(&auth);
    let owner = build_with(TxParams::multicast(SRC, 1), &advert(255, &[VIP]), &auth);
    let configured = [other];
    let mut policy = RxPolicy::new(&auth);
    policy.vips = Some(&configured);
    assert_eq!(
        decode_advert(&pkt, &policy).unwrap().address_list,
        AddressListMatch::Differs
    );
    policy.address_list_policy = AddressListPolicy::Drop;
    expect(
        &pkt,
        &policy,
        RxError::AddressListMismatch,
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    expect(
        &owner,
        &policy,
        RxError::AddressListMismatch,
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    policy.address_list_policy = AddressListPolicy::DropUnlessOwner;
    expect(
        &pkt,
        &policy,
        RxError::AddressListMismatch,
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    assert_eq!(
        decode_advert(&owner, &policy).unwrap().address_list,
        AddressListMatch::Differs
    );
    // Count mismatch is a mismatch too, even if every configured VIP is present.
    let two = build_with(
        TxParams::multicast(SRC, 1),
        &advert(100, &[VIP, other]),
        &auth,
    );
    let just_vip = [VIP];
    policy.vips = Some(&just_vip);
    expect(
        &two,
        &policy,
        RxError::AddressListMismatch,
        Some(Rfc2787Counter::AddressListErrors),
        false,
    );
    // Order does not matter.
    let both = [other, VIP];
    policy.vips = Some(&both);
    assert_eq!(
        decode_advert(&two, &policy).unwrap().address_list,
        AddressListMatch::Matches
    );
}

#[test]
fn emit_errors() {
    let adv = advert(100, &[VIP]);
    let mut buf = [0u8; 128];
    let ah_auth = ah();
    let none_auth = none();
    assert_eq!(
        encode_advert(
            &TxParams::multicast(SRC, 0),
            &adv,
            &none_auth,
            None,
            &mut buf
        ),
        Err(EmitError::ZeroIpId)
    );
    assert_eq!(
        encode_advert(&TxParams::multicast(SRC, 1), &adv, &ah_auth, None, &mut buf),
        Err(EmitError::MissingAhSequence)
    );
    assert_eq!(
        encode_advert(
            &TxParams::multicast(SRC, 1),
            &adv,
            &none_auth,
            Some(1),
            &mut buf
        ),
        Err(EmitError::UnexpectedAhSequence)
    );
    assert_eq!(
        encode_advert(
            &TxParams::multicast(SRC, 1),
            &adv,
            &ah_auth,
            Some(1),
            &mut buf[..63]
        ),
        Err(EmitError::BufferTooSmall {
            needed: 64,
            available: 63
        })
    );
    assert_eq!(
        encode_advert(
            &TxParams::multicast(SRC, 1),
            &adv,
            &ah_auth,
            Some(1),
            &mut buf
        ),
        Ok(64)
    );
}

#[test]
fn checksum_ffff_is_accepted_as_zero() {
    // Found by the fuzzer: when the rest of the message sums to 0xFFFF, RFC 1071 gives a
    // checksum of 0x0000, but 0xFFFF (the other one's-complement zero) verifies too.
    let auth = none();
    let policy = RxPolicy::new(&auth);
    // Pick the low 16 bits of the VIP so that the computed checksum is 0x0000.
    let mut pkt = (0..=u16::MAX)
        .map(|low| {
            let [a, b] = low.to_be_bytes();
            build_with(
                TxParams::multicast(SRC, 1),
                &advert(100, &[Ipv4Addr::new(10, 99, a, b)]),
                &auth,
            )
        })
        .find(|p| p[26..28] == [0, 0])
        .expect("some address gives checksum 0");
    let zero = decode_advert(&pkt, &policy).unwrap().advert();
    pkt[26] = 0xff;
    pkt[27] = 0xff;
    let ffff = decode_advert(&pkt, &policy).unwrap();
    assert_eq!(zero, ffff.advert());
    assert_eq!(ffff.vrrp_checksum, 0xffff);
}
