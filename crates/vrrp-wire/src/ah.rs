//! IPsec AH (RFC 2402) exactly as keepalived uses it for VRRPv2: a 24-byte header
//! with SPI = sender address, a 32-bit sequence number and an HMAC-MD5-96 ICV keyed
//! with the 8-byte `auth_pass`.

use core::fmt;
use core::net::Ipv4Addr;

use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;

use crate::error::ParseError;
use crate::ipv4::{CHECKSUM_RANGE, FLAGS_FRAG_RANGE, TOS_OFFSET, TTL_OFFSET};
use crate::types::{AUTH_KEY_LEN, Auth};

/// Length of keepalived's AH header (6 words, 96-bit ICV, no padding).
pub const AH_HEADER_LEN: usize = 24;
/// Length of the truncated HMAC-MD5-96 integrity check value.
pub const AH_ICV_LEN: usize = 12;
/// The AH payload-length value for a 24-byte header: 24/4 − 2.
pub const AH_PAYLOAD_LEN: u8 = 4;

mod field {
    pub const NEXT_HEADER: usize = 0;
    pub const PAYLOAD_LEN: usize = 1;
    pub const RESERVED: core::ops::Range<usize> = 2..4;
    pub const SPI: core::ops::Range<usize> = 4..8;
    pub const SEQUENCE: core::ops::Range<usize> = 8..12;
    pub const ICV: core::ops::Range<usize> = 12..24;
}

/// A borrowed AH header (followed by its payload) over any byte buffer.
///
/// After [`AhPacket::check_len`] succeeded (24 bytes present), no getter panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> AhPacket<T> {
    /// Wraps a buffer without checking it; getters may panic until `check_len` passed.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer and checks that the 24-byte header is present.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the 24-byte header is present.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buffer.as_ref().len();
        if len < AH_HEADER_LEN {
            return Err(ParseError::Truncated {
                needed: AH_HEADER_LEN,
                available: len,
            });
        }
        Ok(())
    }

    /// Unwraps the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn u32_at(&self, r: core::ops::Range<usize>) -> u32 {
        let b = &self.b()[r];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The next-header field (112 for VRRP).
    pub fn next_header(&self) -> u8 {
        self.b()[field::NEXT_HEADER]
    }

    /// The payload-length field (4 for keepalived's header).
    pub fn payload_len(&self) -> u8 {
        self.b()[field::PAYLOAD_LEN]
    }

    /// The reserved field.
    pub fn reserved(&self) -> u16 {
        let b = &self.b()[field::RESERVED];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The SPI as a number.
    pub fn spi(&self) -> u32 {
        self.u32_at(field::SPI)
    }

    /// The SPI read as the IPv4 address keepalived stores there.
    pub fn spi_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.spi())
    }

    /// The sequence number.
    pub fn sequence(&self) -> u32 {
        self.u32_at(field::SEQUENCE)
    }

    /// The 12-byte ICV.
    pub fn icv(&self) -> [u8; AH_ICV_LEN] {
        let mut out = [0u8; AH_ICV_LEN];
        out.copy_from_slice(&self.b()[field::ICV]);
        out
    }

    /// The bytes after the 24-byte header.
    pub fn payload(&self) -> &[u8] {
        &self.b()[AH_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> AhPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the next-header field.
    pub fn set_next_header(&mut self, v: u8) {
        self.bm()[field::NEXT_HEADER] = v;
    }

    /// Sets the payload-length field.
    pub fn set_payload_len(&mut self, v: u8) {
        self.bm()[field::PAYLOAD_LEN] = v;
    }

    /// Sets the reserved field.
    pub fn set_reserved(&mut self, v: u16) {
        self.bm()[field::RESERVED].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the SPI.
    pub fn set_spi(&mut self, v: u32) {
        self.bm()[field::SPI].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the sequence number.
    pub fn set_sequence(&mut self, v: u32) {
        self.bm()[field::SEQUENCE].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the ICV.
    pub fn set_icv(&mut self, icv: &[u8; AH_ICV_LEN]) {
        self.bm()[field::ICV].copy_from_slice(icv);
    }
}

/// The fields of a keepalived AH header (next header 112, payload length 4, reserved 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AhRepr {
    /// Security parameter index; keepalived puts the sender's IPv4 address here.
    pub spi: u32,
    /// Sequence number.
    pub sequence: u32,
    /// Integrity check value (HMAC-MD5-96).
    pub icv: [u8; AH_ICV_LEN],
}

impl AhRepr {
    /// Parses a header, requiring keepalived's fixed shape: next header 112, payload
    /// length 4, reserved 0.
    pub fn parse<T: AsRef<[u8]>>(packet: &AhPacket<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        if packet.next_header() != crate::IPPROTO_VRRP {
            return Err(ParseError::AhNextHeader(packet.next_header()));
        }
        if packet.payload_len() != AH_PAYLOAD_LEN {
            return Err(ParseError::AhPayloadLength(packet.payload_len()));
        }
        if packet.reserved() != 0 {
            return Err(ParseError::AhReserved(packet.reserved()));
        }
        Ok(Self {
            spi: packet.spi(),
            sequence: packet.sequence(),
            icv: packet.icv(),
        })
    }

    /// Bytes the header occupies (24).
    pub const fn buffer_len(&self) -> usize {
        AH_HEADER_LEN
    }

    /// Writes the 24-byte header into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), ParseError> {
        let available = buffer.len();
        let buf = buffer
            .get_mut(..AH_HEADER_LEN)
            .ok_or(ParseError::Truncated {
                needed: AH_HEADER_LEN,
                available,
            })?;
        let mut p = AhPacket::new_unchecked(buf);
        p.set_next_header(crate::IPPROTO_VRRP);
        p.set_payload_len(AH_PAYLOAD_LEN);
        p.set_reserved(0);
        p.set_spi(self.spi);
        p.set_sequence(self.sequence);
        p.set_icv(&self.icv);
        Ok(())
    }
}

/// An HMAC-MD5 key prepared once (inner and outer pad states precomputed), so that each
/// ICV costs only the hashing of the packet itself.
#[derive(Clone)]
pub struct AhKey {
    mac: Hmac<Md5>,
    key: [u8; AUTH_KEY_LEN],
}

impl AhKey {
    /// Prepares keepalived's 8-byte key.
    pub fn new(key: &[u8; AUTH_KEY_LEN]) -> Self {
        // HMAC accepts keys of any length, so keying cannot fail.
        let mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
        Self { mac, key: *key }
    }

    /// The 8 key bytes.
    pub fn key(&self) -> &[u8; AUTH_KEY_LEN] {
        &self.key
    }

    fn keyed_over(
        &self,
        ip_header: &[u8],
        ah_header: &[u8],
        vrrp: &[u8],
        unicast: bool,
    ) -> Hmac<Md5> {
        let mut mac = self.mac.clone();
        // IPv4 header with the mutable fields zeroed (at most 60 bytes).
        let mut hdr = [0u8; 60];
        let n = ip_header.len().min(hdr.len());
        hdr[..n].copy_from_slice(&ip_header[..n]);
        if n >= crate::ipv4::IPV4_MIN_HEADER_LEN {
            hdr[TOS_OFFSET] = 0;
            hdr[FLAGS_FRAG_RANGE].fill(0);
            hdr[CHECKSUM_RANGE].fill(0);
            if unicast {
                hdr[TTL_OFFSET] = 0;
            }
        }
        mac.update(&hdr[..n]);
        // AH header with the ICV zeroed.
        let mut ah = [0u8; AH_HEADER_LEN];
        let m = ah_header.len().min(field::ICV.start);
        ah[..m].copy_from_slice(&ah_header[..m]);
        mac.update(&ah);
        mac.update(vrrp);
        mac
    }

    /// Computes keepalived's ICV.
    ///
    /// * `ip_header`: the IPv4 header as sent/received (20..=60 bytes); TOS, flags/fragment
    ///   offset and checksum are zeroed here, and TTL too when `unicast`; the ID is kept.
    /// * `ah_header`: the 24-byte AH header (its ICV field is ignored, read as zero).
    /// * `vrrp`: the VRRP message.
    pub fn icv(
        &self,
        ip_header: &[u8],
        ah_header: &[u8],
        vrrp: &[u8],
        unicast: bool,
    ) -> [u8; AH_ICV_LEN] {
        let digest = self
            .keyed_over(ip_header, ah_header, vrrp, unicast)
            .finalize()
            .into_bytes();
        let mut icv = [0u8; AH_ICV_LEN];
        icv.copy_from_slice(&digest[..AH_ICV_LEN]);
        icv
    }

    /// Checks `icv` against the ICV of the given parts in constant time.
    pub fn verify(
        &self,
        ip_header: &[u8],
        ah_header: &[u8],
        vrrp: &[u8],
        unicast: bool,
        icv: &[u8; AH_ICV_LEN],
    ) -> bool {
        self.keyed_over(ip_header, ah_header, vrrp, unicast)
            .verify_truncated_left(icv)
            .is_ok()
    }
}

impl fmt::Debug for AhKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str("AhKey(..)")
    }
}

impl PartialEq for AhKey {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for AhKey {}

/// An [`Auth`] configuration made ready for use on the hot path: for AH the HMAC key
/// schedule is computed once here instead of once per packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    auth: Auth,
    ah: Option<AhKey>,
}

impl Authenticator {
    /// Prepares `auth`.
    pub fn new(auth: Auth) -> Self {
        let ah = match &auth {
            Auth::Ah(key) => Some(AhKey::new(key)),
            _ => None,
        };
        Self { auth, ah }
    }

    /// The configuration this was built from.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The prepared AH key, for AH configurations.
    pub fn ah_key(&self) -> Option<&AhKey> {
        self.ah.as_ref()
    }
}

impl From<Auth> for Authenticator {
    fn from(auth: Auth) -> Self {
        Self::new(auth)
    }
}

impl Default for Authenticator {
    fn default() -> Self {
        Self::new(Auth::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; 64] {
        let digits: std::vec::Vec<u8> = s
            .bytes()
            .filter(|c| !c.is_ascii_whitespace())
            .map(|c| (c as char).to_digit(16).unwrap() as u8)
            .collect();
        let mut out = [0u8; 64];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (digits[2 * i] << 4) | digits[2 * i + 1];
        }
        out
    }

    #[test]
    fn icv_matches_vrrp_md_2_6() {
        let wire = hex(concat!(
            "45c0004000010000ff33520cc0a8c802e0000012",
            "70040000c0a8c8020000000184849c1d35394533930fa989",
            "213364010201f010c0a8c8100000000000000000"
        ));
        let key = AhKey::new(&Auth::key_from_password(b"secret"));
        let icv = key.icv(&wire[..20], &wire[20..44], &wire[44..], false);
        assert_eq!(
            icv,
            [
                0x84, 0x84, 0x9c, 0x1d, 0x35, 0x39, 0x45, 0x33, 0x93, 0x0f, 0xa9, 0x89
            ]
        );
        assert!(key.verify(&wire[..20], &wire[20..44], &wire[44..], false, &icv));
        // Unicast zeroes the TTL, which changes the ICV.
        assert!(!key.verify(&wire[..20], &wire[20..44], &wire[44..], true, &icv));
        let other = AhKey::new(&Auth::key_from_password(b"secreT"));
        assert!(!other.verify(&wire[..20], &wire[20..44], &wire[44..], false, &icv));
    }

    #[test]
    fn ah_header_round_trip_and_shape_checks() {
        let bytes = [
            0x70, 0x04, 0x00, 0x00, 0x0a, 0x63, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x0a, 1, 2, 3, 4, 5,
            6, 7, 8, 9, 10, 11, 12,
        ];
        let p = AhPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.spi_addr(), Ipv4Addr::new(10, 99, 0, 11));
        let repr = AhRepr::parse(&p).unwrap();
        assert_eq!(repr.sequence, 10);
        let mut out = [0u8; 24];
        repr.emit(&mut out).unwrap();
        assert_eq!(out, bytes);
        let mut b = bytes;
        b[0] = 6;
        assert_eq!(
            AhRepr::parse(&AhPacket::new_unchecked(&b[..])),
            Err(ParseError::AhNextHeader(6))
        );
        let mut b = bytes;
        b[1] = 5;
        assert_eq!(
            AhRepr::parse(&AhPacket::new_unchecked(&b[..])),
            Err(ParseError::AhPayloadLength(5))
        );
        let mut b = bytes;
        b[3] = 1;
        assert_eq!(
            AhRepr::parse(&AhPacket::new_unchecked(&b[..])),
            Err(ParseError::AhReserved(1))
        );
        assert!(AhPacket::new_checked(&bytes[..23]).is_err());
        assert!(repr.emit(&mut [0u8; 23]).is_err());
    }

    #[test]
    fn authenticator_prepares_only_ah() {
        assert!(Authenticator::new(Auth::None).ah_key().is_none());
        assert!(
            Authenticator::new(Auth::Pass(*b"abcdefgh"))
                .ah_key()
                .is_none()
        );
        let a = Authenticator::from(Auth::Ah(*b"abcdefgh"));
        assert_eq!(a.ah_key().unwrap().key(), b"abcdefgh");
        assert_eq!(std::format!("{:?}", a.ah_key().unwrap()), "AhKey(..)");
    }
}
