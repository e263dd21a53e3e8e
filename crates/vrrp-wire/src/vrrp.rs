//! The VRRPv2 advertisement (RFC 3768 §5): a borrowed view and owned representations.

use crate::addr::{AddrSlice, AddressList};
use crate::checksum::internet_checksum;
use crate::error::ParseError;
use crate::types::{AUTH_KEY_LEN, AuthType, Vrid};

/// Length of the fixed VRRP header before the address list.
pub const VRRP_HEADER_LEN: usize = 8;
/// VRRP version carried in adverts.
pub const VRRP_VERSION: u8 = 2;
/// VRRP packet type ADVERTISEMENT.
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;

/// Byte length of a VRRPv2 message with `count` addresses: 8 + 4·count + 8.
pub const fn vrrp_message_len(count: usize) -> usize {
    VRRP_HEADER_LEN + 4 * count + AUTH_KEY_LEN
}

mod field {
    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    pub const AUTH_TYPE: usize = 4;
    pub const ADVER_INT: usize = 5;
    pub const CHECKSUM: core::ops::Range<usize> = 6..8;
    pub const ADDRS: usize = 8;
}

/// A borrowed VRRPv2 message over any byte buffer.
///
/// After [`VrrpPacket::check_len`] succeeded, no getter panics: the buffer holds the
/// fixed header, `count` addresses and the 8-byte authentication data. Bytes beyond the
/// message (e.g. Ethernet padding) are allowed and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VrrpPacket<T> {
    /// Wraps a buffer without checking it; getters may panic until `check_len` passed.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer and checks its length (see [`VrrpPacket::check_len`]).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the fixed header, the address list and the auth data are present.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let buf = self.buffer.as_ref();
        if buf.len() < VRRP_HEADER_LEN {
            return Err(ParseError::Truncated {
                needed: VRRP_HEADER_LEN,
                available: buf.len(),
            });
        }
        let needed = vrrp_message_len(usize::from(buf[field::COUNT]));
        if buf.len() < needed {
            return Err(ParseError::Truncated {
                needed,
                available: buf.len(),
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

    /// The version nibble (2 for VRRPv2).
    pub fn version(&self) -> u8 {
        self.b()[field::VER_TYPE] >> 4
    }

    /// The type nibble (1 = ADVERTISEMENT).
    pub fn msg_type(&self) -> u8 {
        self.b()[field::VER_TYPE] & 0x0F
    }

    /// The raw VRID byte (0 is invalid).
    pub fn vrid(&self) -> u8 {
        self.b()[field::VRID]
    }

    /// The priority.
    pub fn priority(&self) -> u8 {
        self.b()[field::PRIORITY]
    }

    /// The "Count IP Addrs" byte.
    pub fn addr_count(&self) -> u8 {
        self.b()[field::COUNT]
    }

    /// The raw auth type byte.
    pub fn auth_type(&self) -> u8 {
        self.b()[field::AUTH_TYPE]
    }

    /// The advertisement interval in seconds.
    pub fn adver_int(&self) -> u8 {
        self.b()[field::ADVER_INT]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.b()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Length of the message as implied by the address count.
    pub fn message_len(&self) -> usize {
        vrrp_message_len(usize::from(self.addr_count()))
    }

    /// The message bytes (without anything after the auth data).
    pub fn message(&self) -> &[u8] {
        &self.b()[..self.message_len()]
    }

    /// The address list.
    pub fn addresses(&self) -> AddrSlice<'_> {
        let end = field::ADDRS + 4 * usize::from(self.addr_count());
        AddrSlice::new(&self.b()[field::ADDRS..end])
    }

    /// The 8-byte authentication data after the address list.
    pub fn auth_data(&self) -> [u8; AUTH_KEY_LEN] {
        let start = field::ADDRS + 4 * usize::from(self.addr_count());
        let mut out = [0u8; AUTH_KEY_LEN];
        out.copy_from_slice(&self.b()[start..start + AUTH_KEY_LEN]);
        out
    }

    /// Whether the checksum verifies over the message.
    pub fn verify_checksum(&self) -> bool {
        internet_checksum(self.message()) == 0
    }

    /// The checksum the message should carry (computed with the checksum field read as zero).
    pub fn expected_checksum(&self) -> u16 {
        let msg = self.message();
        // Both parts start at even offsets, so their sums add up in one's complement.
        let a = u32::from(crate::checksum::ones_complement_sum(&msg[..6]));
        let b = u32::from(crate::checksum::ones_complement_sum(&msg[8..]));
        let mut s = a + b;
        s = (s & 0xFFFF) + (s >> 16);
        !(s as u16)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VrrpPacket<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the version and type nibbles.
    pub fn set_version_type(&mut self, version: u8, msg_type: u8) {
        self.bm()[field::VER_TYPE] = (version << 4) | (msg_type & 0x0F);
    }

    /// Sets the VRID.
    pub fn set_vrid(&mut self, vrid: u8) {
        self.bm()[field::VRID] = vrid;
    }

    /// Sets the priority.
    pub fn set_priority(&mut self, p: u8) {
        self.bm()[field::PRIORITY] = p;
    }

    /// Sets the address count (the buffer must hold the resulting message length).
    pub fn set_addr_count(&mut self, n: u8) {
        self.bm()[field::COUNT] = n;
    }

    /// Sets the auth type byte.
    pub fn set_auth_type(&mut self, t: u8) {
        self.bm()[field::AUTH_TYPE] = t;
    }

    /// Sets the advertisement interval.
    pub fn set_adver_int(&mut self, s: u8) {
        self.bm()[field::ADVER_INT] = s;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, c: u16) {
        self.bm()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }

    /// The address bytes, mutable (4·count bytes).
    pub fn addresses_mut(&mut self) -> &mut [u8] {
        let end = field::ADDRS + 4 * usize::from(self.addr_count());
        &mut self.bm()[field::ADDRS..end]
    }

    /// Sets the 8-byte authentication data.
    pub fn set_auth_data(&mut self, data: &[u8; AUTH_KEY_LEN]) {
        let start = field::ADDRS + 4 * usize::from(self.addr_count());
        self.bm()[start..start + AUTH_KEY_LEN].copy_from_slice(data);
    }

    /// Computes and stores the checksum over the message.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = internet_checksum(self.message());
        self.set_checksum(c);
    }
}

/// The content of an advertisement that the state machine cares about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvertRepr {
    /// Virtual router identifier.
    pub vrid: Vrid,
    /// Priority (0 = master resigning, 255 = address owner).
    pub priority: u8,
    /// Advertisement interval in whole seconds.
    pub adver_int: u8,
    /// The virtual addresses, in configuration order.
    pub addresses: AddressList,
}

impl AdvertRepr {
    /// Length of the VRRP message this advert encodes to.
    pub fn vrrp_len(&self) -> usize {
        vrrp_message_len(self.addresses.len())
    }
}

/// A complete, valid VRRPv2 message: the advert plus its authentication fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VrrpRepr {
    /// The advert fields.
    pub advert: AdvertRepr,
    /// The auth type byte (0, 1 or 2).
    pub auth_type: AuthType,
    /// The 8-byte authentication data as carried (password for PASS, zero otherwise).
    pub auth_data: [u8; AUTH_KEY_LEN],
}

impl VrrpRepr {
    /// Parses a message: version 2, type 1, non-zero VRID, known auth type, valid checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &VrrpPacket<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        if packet.version() != VRRP_VERSION {
            return Err(ParseError::VrrpVersion(packet.version()));
        }
        if packet.msg_type() != VRRP_TYPE_ADVERTISEMENT {
            return Err(ParseError::VrrpType(packet.msg_type()));
        }
        let vrid = Vrid::new(packet.vrid()).ok_or(ParseError::VridZero)?;
        let auth_type = AuthType::from_wire(packet.auth_type())
            .ok_or(ParseError::AuthType(packet.auth_type()))?;
        if !packet.verify_checksum() {
            return Err(ParseError::VrrpChecksum {
                found: packet.checksum(),
                expected: packet.expected_checksum(),
            });
        }
        Ok(Self {
            advert: AdvertRepr {
                vrid,
                priority: packet.priority(),
                adver_int: packet.adver_int(),
                addresses: packet.addresses().to_list(),
            },
            auth_type,
            auth_data: packet.auth_data(),
        })
    }

    /// Bytes the message occupies.
    pub fn buffer_len(&self) -> usize {
        self.advert.vrrp_len()
    }

    /// Writes the message, with its checksum, into the start of `buffer`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), ParseError> {
        let len = self.buffer_len();
        let available = buffer.len();
        let buf = buffer.get_mut(..len).ok_or(ParseError::Truncated {
            needed: len,
            available,
        })?;
        let mut p = VrrpPacket::new_unchecked(buf);
        p.set_version_type(VRRP_VERSION, VRRP_TYPE_ADVERTISEMENT);
        p.set_vrid(self.advert.vrid.get());
        p.set_priority(self.advert.priority);
        p.set_addr_count(self.advert.addresses.count_byte());
        p.set_auth_type(self.auth_type.to_wire());
        p.set_adver_int(self.advert.adver_int);
        for (slot, a) in p
            .addresses_mut()
            .chunks_exact_mut(4)
            .zip(self.advert.addresses.iter())
        {
            slot.copy_from_slice(&a.octets());
        }
        p.set_auth_data(&self.auth_data);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    // vrrp.md §1.6
    const PASS_VRRP: [u8; 20] = [
        0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x8e, 0xae, 0xc0, 0xa8, 0xc8, 0x10, 0x31, 0x31, 0x31,
        0x31, 0, 0, 0, 0,
    ];

    #[test]
    fn parses_and_emits_the_pass_vector() {
        let p = VrrpPacket::new_checked(&PASS_VRRP[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert_eq!(p.msg_type(), 1);
        assert_eq!(p.vrid(), 51);
        assert_eq!(p.priority(), 100);
        assert_eq!(p.addr_count(), 1);
        assert_eq!(p.auth_type(), 1);
        assert_eq!(p.adver_int(), 1);
        assert_eq!(p.checksum(), 0x8eae);
        assert_eq!(p.expected_checksum(), 0x8eae);
        assert_eq!(p.auth_data(), *b"1111\0\0\0\0");
        let repr = VrrpRepr::parse(&p).unwrap();
        assert_eq!(
            repr.advert.addresses.as_slice(),
            &[Ipv4Addr::new(192, 168, 200, 16)]
        );
        let mut out = [0u8; 20];
        repr.emit(&mut out).unwrap();
        assert_eq!(out, PASS_VRRP);
        assert!(repr.emit(&mut [0u8; 19]).is_err());
    }

    #[test]
    fn parse_rejects_each_field() {
        let check = |patch: fn(&mut [u8; 20]), want: ParseError| {
            let mut m = PASS_VRRP;
            patch(&mut m);
            let p = VrrpPacket::new_unchecked(&m[..]);
            assert_eq!(VrrpRepr::parse(&p).unwrap_err(), want);
        };
        check(|m| m[0] = 0x31, ParseError::VrrpVersion(3));
        check(|m| m[0] = 0x22, ParseError::VrrpType(2));
        check(|m| m[1] = 0, ParseError::VridZero);
        check(|m| m[4] = 3, ParseError::AuthType(3));
        check(
            |m| m[2] = 0x65,
            ParseError::VrrpChecksum {
                found: 0x8eae,
                expected: 0x8dae,
            },
        );
        check(
            |m| m[3] = 2,
            ParseError::Truncated {
                needed: 24,
                available: 20,
            },
        );
        assert!(VrrpPacket::new_checked(&PASS_VRRP[..7]).is_err());
    }

    #[test]
    fn expected_checksum_handles_edge_values() {
        for c in [0u16, 1, 0xfffe, 0xffff, 0x1234] {
            let mut m = PASS_VRRP;
            m[6..8].copy_from_slice(&c.to_be_bytes());
            let p = VrrpPacket::new_unchecked(&m[..]);
            let mut fixed = m;
            fixed[6..8].copy_from_slice(&p.expected_checksum().to_be_bytes());
            assert!(
                VrrpPacket::new_unchecked(&fixed[..]).verify_checksum(),
                "from {c:#x}"
            );
        }
    }
}
