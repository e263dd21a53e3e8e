//! IPv4 header: a borrowed, length-checked view and an owned representation.

use core::net::Ipv4Addr;

use crate::checksum::internet_checksum;
use crate::error::ParseError;

/// Length of an IPv4 header without options.
pub const IPV4_MIN_HEADER_LEN: usize = 20;

/// Byte offsets of the IPv4 header fields.
mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: core::ops::Range<usize> = 2..4;
    pub const IDENT: core::ops::Range<usize> = 4..6;
    pub const FLAGS_FRAG: core::ops::Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: core::ops::Range<usize> = 10..12;
    pub const SRC: core::ops::Range<usize> = 12..16;
    pub const DST: core::ops::Range<usize> = 16..20;
}

/// Offset of the TOS byte (zeroed in the AH ICV input).
pub(crate) const TOS_OFFSET: usize = field::TOS;
/// Offset of the TTL byte (zeroed in the AH ICV input for unicast).
pub(crate) const TTL_OFFSET: usize = field::TTL;
/// Range of the flags/fragment-offset word (zeroed in the AH ICV input).
pub(crate) const FLAGS_FRAG_RANGE: core::ops::Range<usize> = field::FLAGS_FRAG;
/// Range of the header checksum (zeroed in the AH ICV input).
pub(crate) const CHECKSUM_RANGE: core::ops::Range<usize> = field::CHECKSUM;

/// The "don't fragment" flag in the flags/fragment word.
pub const FLAG_DONT_FRAGMENT: u16 = 0x4000;
/// The "more fragments" flag in the flags/fragment word.
pub const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
/// Mask of the fragment offset in the flags/fragment word.
pub const FRAGMENT_OFFSET_MASK: u16 = 0x1FFF;

/// A borrowed IPv4 header (and payload) over any byte buffer.
///
/// After [`Ipv4Packet::check_len`] (or [`Ipv4Packet::new_checked`]) succeeded, no getter
/// panics: the buffer holds at least the header (IHL·4 ≥ 20 bytes) and the total length.
/// Setters require `T: AsMut<[u8]>` and keep that guarantee as long as they do not
/// change the IHL or total length to values larger than the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it; getters may panic until `check_len` passed.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer and checks that all header fields and the payload are present.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed header, the options and `total_len` bytes,
    /// and that IHL and total length are self-consistent. Does not check the version.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let buf = self.buffer.as_ref();
        if buf.len() < IPV4_MIN_HEADER_LEN {
            return Err(ParseError::Truncated {
                needed: IPV4_MIN_HEADER_LEN,
                available: buf.len(),
            });
        }
        let header = usize::from(buf[field::VER_IHL] & 0x0F) * 4;
        if header < IPV4_MIN_HEADER_LEN {
            return Err(ParseError::BadHeaderLength(header));
        }
        let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if total < header {
            return Err(ParseError::BadTotalLength { total, header });
        }
        if buf.len() < total {
            return Err(ParseError::Truncated {
                needed: total,
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

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        let b = &self.b()[r];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn addr_at(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.b()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The version nibble (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.b()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL·4, including options).
    pub fn header_len(&self) -> usize {
        usize::from(self.b()[field::VER_IHL] & 0x0F) * 4
    }

    /// The TOS / DSCP+ECN byte.
    pub fn tos(&self) -> u8 {
        self.b()[field::TOS]
    }

    /// The total length field (header + payload).
    pub fn total_len(&self) -> usize {
        usize::from(self.u16_at(field::LENGTH))
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        self.u16_at(field::IDENT)
    }

    /// The raw flags + fragment-offset word.
    pub fn flags_frag(&self) -> u16 {
        self.u16_at(field::FLAGS_FRAG)
    }

    /// Whether this is a fragment (more-fragments set or a non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK) != 0
    }

    /// The time-to-live.
    pub fn ttl(&self) -> u8 {
        self.b()[field::TTL]
    }

    /// The protocol number of the payload.
    pub fn protocol(&self) -> u8 {
        self.b()[field::PROTOCOL]
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        self.addr_at(field::SRC)
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        self.addr_at(field::DST)
    }

    /// The whole header including options.
    pub fn header(&self) -> &[u8] {
        &self.b()[..self.header_len()]
    }

    /// The payload: from the end of the header to the total length (padding excluded).
    pub fn payload(&self) -> &[u8] {
        &self.b()[self.header_len()..self.total_len()]
    }

    /// Whether the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        internet_checksum(self.header()) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn bm(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version 4 and the header length (a multiple of 4, 20..=60).
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        // IHL is 4 bits: callers pass 20..=60; the mask keeps other values in range.
        self.bm()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0F);
    }

    /// Sets the TOS byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.bm()[field::TOS] = tos;
    }

    /// Sets the total length field.
    pub fn set_total_len(&mut self, len: u16) {
        self.bm()[field::LENGTH].copy_from_slice(&len.to_be_bytes());
    }

    /// Sets the identification field.
    pub fn set_ident(&mut self, id: u16) {
        self.bm()[field::IDENT].copy_from_slice(&id.to_be_bytes());
    }

    /// Sets the flags + fragment-offset word.
    pub fn set_flags_frag(&mut self, v: u16) {
        self.bm()[field::FLAGS_FRAG].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets the TTL.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.bm()[field::TTL] = ttl;
    }

    /// Sets the protocol number.
    pub fn set_protocol(&mut self, p: u8) {
        self.bm()[field::PROTOCOL] = p;
    }

    /// Sets the checksum field to a given value.
    pub fn set_checksum(&mut self, c: u16) {
        self.bm()[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.bm()[field::SRC].copy_from_slice(&a.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.bm()[field::DST].copy_from_slice(&a.octets());
    }

    /// Computes and stores the header checksum (over IHL·4 bytes).
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = internet_checksum(self.header());
        self.set_checksum(c);
    }

    /// The payload, mutable (header end to total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.header_len(), self.total_len());
        &mut self.bm()[start..end]
    }
}

/// An owned IPv4 header without options, as our adverts carry it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Payload protocol (112 VRRP or 51 AH for adverts).
    pub protocol: u8,
    /// TOS byte (keepalived: 0xC0).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Flags + fragment-offset word (keepalived: 0).
    pub flags_frag: u16,
    /// Time-to-live (255 for VRRP).
    pub ttl: u8,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Parses a checked view: version 4, no options, valid header checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(ParseError::NotIpv4(packet.version()));
        }
        if packet.header_len() != IPV4_MIN_HEADER_LEN {
            return Err(ParseError::BadHeaderLength(packet.header_len()));
        }
        if !packet.verify_checksum() {
            return Err(ParseError::Ipv4Checksum);
        }
        Ok(Self {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            tos: packet.tos(),
            ident: packet.ident(),
            flags_frag: packet.flags_frag(),
            ttl: packet.ttl(),
            payload_len: packet.total_len() - IPV4_MIN_HEADER_LEN,
        })
    }

    /// Bytes the header occupies (always 20).
    pub const fn buffer_len(&self) -> usize {
        IPV4_MIN_HEADER_LEN
    }

    /// Writes the 20-byte header (with its checksum) into the start of `buffer`.
    ///
    /// The payload must be written separately; the buffer must hold at least the header.
    /// Fails with [`ParseError::Truncated`] if the buffer is too short or the total length
    /// does not fit 16 bits.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<(), ParseError> {
        let total = IPV4_MIN_HEADER_LEN + self.payload_len;
        let total16 = u16::try_from(total).map_err(|_| ParseError::Truncated {
            needed: total,
            available: usize::from(u16::MAX),
        })?;
        let available = buffer.len();
        let header = buffer
            .get_mut(..IPV4_MIN_HEADER_LEN)
            .ok_or(ParseError::Truncated {
                needed: IPV4_MIN_HEADER_LEN,
                available,
            })?;
        let mut p = Ipv4Packet::new_unchecked(header);
        p.set_version_and_header_len(IPV4_MIN_HEADER_LEN);
        p.set_tos(self.tos);
        p.set_total_len(total16);
        p.set_ident(self.ident);
        p.set_flags_frag(self.flags_frag);
        p.set_ttl(self.ttl);
        p.set_protocol(self.protocol);
        p.set_src_addr(self.src);
        p.set_dst_addr(self.dst);
        p.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS_IP: [u8; 20] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x51, 0xe7, 0xc0, 0xa8, 0xc8,
        0x02, 0xe0, 0x00, 0x00, 0x12,
    ];

    #[test]
    fn view_reads_fields_and_rejects_short_buffers() {
        let mut pkt = [0u8; 40];
        pkt[..20].copy_from_slice(&PASS_IP);
        let p = Ipv4Packet::new_checked(&pkt[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 40);
        assert_eq!(p.tos(), 0xc0);
        assert_eq!(p.ident(), 1);
        assert_eq!(p.ttl(), 255);
        assert_eq!(p.protocol(), 112);
        assert_eq!(p.checksum(), 0x51e7);
        assert!(p.verify_checksum());
        assert!(!p.is_fragment());
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 168, 200, 2));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(p.payload().len(), 20);
        assert_eq!(
            Ipv4Packet::new_checked(&pkt[..39]).unwrap_err(),
            ParseError::Truncated {
                needed: 40,
                available: 39
            }
        );
        assert!(matches!(
            Ipv4Packet::new_checked(&pkt[..19]),
            Err(ParseError::Truncated { .. })
        ));
        let mut bad_ihl = pkt;
        bad_ihl[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&bad_ihl[..]).unwrap_err(),
            ParseError::BadHeaderLength(16)
        );
        let mut bad_total = pkt;
        bad_total[3] = 10;
        assert_eq!(
            Ipv4Packet::new_checked(&bad_total[..]).unwrap_err(),
            ParseError::BadTotalLength {
                total: 10,
                header: 20
            }
        );
    }

    #[test]
    fn repr_round_trip_matches_kernel_checksum() {
        let mut pkt = [0u8; 40];
        pkt[..20].copy_from_slice(&PASS_IP);
        let repr = Ipv4Repr::parse(&Ipv4Packet::new_checked(&pkt[..]).unwrap()).unwrap();
        assert_eq!(repr.payload_len, 20);
        let mut out = [0u8; 20];
        repr.emit(&mut out).unwrap();
        assert_eq!(out, PASS_IP);
        assert!(repr.emit(&mut [0u8; 19]).is_err());
        let mut corrupt = pkt;
        corrupt[10] ^= 1;
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&corrupt[..]).unwrap()),
            Err(ParseError::Ipv4Checksum)
        );
    }

    #[test]
    fn setters_and_fill_checksum() {
        let mut buf = [0u8; 24];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        p.set_version_and_header_len(24);
        p.set_total_len(24);
        p.set_ttl(1);
        p.set_flags_frag(FLAG_MORE_FRAGMENTS);
        p.fill_checksum();
        assert!(p.check_len().is_ok());
        assert!(p.verify_checksum());
        assert!(p.is_fragment());
        assert_eq!(p.header().len(), 24);
        assert!(p.payload_mut().is_empty());
    }
}
