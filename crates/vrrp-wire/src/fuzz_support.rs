//! Bodies of the cargo-fuzz targets in `fuzz/`, kept in the library so that a normal test
//! can replay the seed corpus on stable Rust. Each body panics (via `assert!`) only when
//! a real invariant of the codec is violated; any input bytes are otherwise fine.

use crate::{
    AUTH_KEY_LEN, AhPacket, AhRepr, AhSequence, Auth, Authenticator, IPV4_MIN_HEADER_LEN,
    Ipv4Packet, Ipv4Repr, RxError, RxPolicy, VrrpPacket, VrrpRepr, decode_advert, encode_advert,
    peek_vrid,
};

/// Key used by the fuzz targets and the lab captures (`auth_pass secret12`).
pub const FUZZ_KEY: [u8; AUTH_KEY_LEN] = *b"secret12";

/// Largest packet `encode_advert` can produce (AH, 255 addresses).
const MAX_PACKET: usize = 20 + 24 + 16 + 4 * 255;

/// Asserts `emitted == input`, except that a checksum field at `csum` may read 0xFFFF in
/// the input where we emit 0x0000: both are one's-complement zero and verify alike, but
/// RFC 1071 computation only ever produces 0x0000.
fn assert_same_modulo_checksum_zero(emitted: &[u8], input: &[u8], csums: &[usize]) {
    assert_eq!(emitted.len(), input.len());
    for (i, (e, d)) in emitted.iter().zip(input).enumerate() {
        if e != d {
            let in_csum = csums.iter().any(|&c| i == c || i == c + 1);
            assert!(
                in_csum && *e == 0 && *d == 0xFF,
                "re-emit differs at byte {i}: {e:#04x} vs {d:#04x}"
            );
        }
    }
}

/// Decodes with `policy` and checks the invariants of a successful decode:
/// re-encoding reproduces the input exactly when the input is in keepalived's canonical
/// form, and otherwise decodes back to the same facts.
fn check_decode(data: &[u8], policy: &RxPolicy<'_>) {
    let Ok(rx) = decode_advert(data, policy) else {
        return;
    };
    assert!(rx.packet_len <= data.len());
    assert_eq!(peek_vrid(data), Some(rx.vrid));
    assert_eq!(rx.auth_type, policy.auth.auth().auth_type());
    if !policy.unicast {
        assert_eq!(rx.ttl, 255);
        assert!(rx.dst.is_multicast());
    }
    let mut out = [0u8; MAX_PACKET];
    let tx = rx.tx_params(policy.unicast);
    let encoded = encode_advert(&tx, &rx.advert(), policy.auth, rx.ah_sequence(), &mut out);
    if rx.ip_id == 0 {
        assert!(encoded.is_err(), "IP ID 0 must be refused on send");
        return;
    }
    let n = encoded.expect("a decoded advert re-encodes");
    let expected_auth_data = match policy.auth.auth() {
        Auth::Pass(pw) => *pw,
        _ => [0; AUTH_KEY_LEN],
    };
    let canonical = rx.ip_header_len == IPV4_MIN_HEADER_LEN
        && rx.ip_flags_frag == 0
        && rx.auth_data == expected_auth_data;
    if canonical {
        // VRRP message = 16 + 4·N bytes at the end; its checksum is at offset 6.
        let vrrp_csum = rx.packet_len - (16 + 4 * rx.addresses.len()) + 6;
        assert_same_modulo_checksum_zero(&out[..n], &data[..rx.packet_len], &[10, vrrp_csum]);
    }
    let again = decode_advert(&out[..n], policy).expect("re-encoded advert decodes");
    assert_eq!(again.advert(), rx.advert());
    assert_eq!(
        (again.src, again.dst, again.ttl, again.tos, again.ip_id),
        (rx.src, rx.dst, rx.ttl, rx.tos, rx.ip_id)
    );
    assert_eq!(again.ah_sequence(), rx.ah_sequence());
    assert_eq!(again.address_list, rx.address_list);
}

/// Low-level layers: whatever parses re-emits to the same bytes.
fn check_layers(data: &[u8]) {
    let Ok(ip) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let _ = (
        ip.version(),
        ip.tos(),
        ip.ident(),
        ip.ttl(),
        ip.checksum(),
        ip.header(),
    );
    if let Ok(repr) = Ipv4Repr::parse(&ip) {
        let mut hdr = [0u8; IPV4_MIN_HEADER_LEN];
        repr.emit(&mut hdr).expect("20-byte buffer");
        assert_same_modulo_checksum_zero(&hdr, &data[..IPV4_MIN_HEADER_LEN], &[10]);
    }
    let mut payload = ip.payload();
    if let Ok(ah) = AhPacket::new_checked(payload) {
        if let Ok(repr) = AhRepr::parse(&ah) {
            let mut hdr = [0u8; 24];
            repr.emit(&mut hdr).expect("24-byte buffer");
            assert_eq!(&hdr[..], &payload[..24]);
        }
        if ip.protocol() == crate::IPPROTO_AH {
            payload = &payload[crate::AH_HEADER_LEN..];
        }
    }
    if let Ok(vrrp) = VrrpPacket::new_checked(payload) {
        let _ = (
            vrrp.addresses().len(),
            vrrp.auth_data(),
            vrrp.expected_checksum(),
        );
        if let Ok(repr) = VrrpRepr::parse(&vrrp) {
            let mut msg = [0u8; MAX_PACKET];
            let len = repr.buffer_len();
            repr.emit(&mut msg).expect("buffer holds any message");
            assert_same_modulo_checksum_zero(&msg[..len], vrrp.message(), &[6]);
        }
    }
}

/// Fuzz body for `vrrp_decode`: every decoder on arbitrary bytes, under several
/// policies (no auth, PASS, AH; multicast and unicast).
pub fn vrrp_decode(data: &[u8]) {
    let auths = [
        Authenticator::new(Auth::None),
        Authenticator::new(Auth::Pass(FUZZ_KEY)),
        Authenticator::new(Auth::Ah(FUZZ_KEY)),
    ];
    for auth in &auths {
        for unicast in [false, true] {
            let mut policy = RxPolicy::new(auth);
            policy.unicast = unicast;
            check_decode(data, &policy);
        }
    }
    let _ = peek_vrid(data);
    check_layers(data);
}

/// Fuzz body for `ah_verify`: the first byte selects unicast (bit 0); the rest is an IPv4
/// packet checked against [`FUZZ_KEY`]. A packet that verifies must stop verifying when
/// any byte covered by the ICV changes.
pub fn ah_verify(data: &[u8]) {
    let Some((&flags, packet)) = data.split_first() else {
        return;
    };
    let unicast = flags & 1 == 1;
    let auth = Authenticator::new(Auth::Ah(FUZZ_KEY));
    let mut policy = RxPolicy::new(&auth);
    policy.unicast = unicast;
    check_decode(packet, &policy);
    let rx = match decode_advert(packet, &policy) {
        Ok(rx) => rx,
        Err(e) => {
            assert!(e.counter().is_some() || e.is_silent_drop());
            return;
        }
    };
    let ah = rx.ah.expect("AH policy yields AH fields");
    let mut seq = AhSequence::new();
    assert_eq!(rx.check_replay(&mut seq).is_ok(), ah.sequence > 0);
    let ihl = rx.ip_header_len;
    let mut copy = [0u8; MAX_PACKET];
    let Some(buf) = copy.get_mut(..rx.packet_len) else {
        return;
    };
    buf.copy_from_slice(&packet[..rx.packet_len]);
    for i in 0..rx.packet_len {
        // Fields the ICV does not cover.
        let mutable = i == 1
            || i == 6
            || i == 7
            || i == 10
            || i == 11
            || (unicast && i == 8)
            || (ihl + 12..ihl + 24).contains(&i);
        if mutable {
            continue;
        }
        buf[i] ^= 0x01;
        let result = decode_advert(buf, &policy);
        assert!(result.is_err(), "flipping byte {i} went unnoticed");
        // With the IP checksum still valid for header bytes the ICV is what catches it,
        // unless an earlier structural check fires first.
        if let Err(RxError::IpChecksum) = result {
            let mut lax = policy;
            lax.verify_ip_checksum = false;
            assert!(
                decode_advert(buf, &lax).is_err(),
                "byte {i} not covered by the ICV"
            );
        }
        buf[i] ^= 0x01;
    }
}
