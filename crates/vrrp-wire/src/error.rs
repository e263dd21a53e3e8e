//! Errors of the low-level views and representations.

/// Why a buffer is not a well-formed header of the expected kind.
///
/// Returned by the `check_len`/`new_checked` constructors of the packet views and by the
/// `parse` functions of the owned representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The buffer ends before the structure does.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the structure needs.
        needed: usize,
        /// Bytes the buffer holds.
        available: usize,
    },
    /// The IP version nibble is not 4.
    #[error("IP version {0} is not 4")]
    NotIpv4(u8),
    /// The IPv4 header length (IHL·4) is below 20 bytes.
    #[error("IPv4 header length {0} is below 20 bytes")]
    BadHeaderLength(usize),
    /// The IPv4 total length is smaller than the header.
    #[error("IPv4 total length {total} is smaller than its header ({header} bytes)")]
    BadTotalLength {
        /// The total length field.
        total: usize,
        /// The header length.
        header: usize,
    },
    /// The IPv4 header checksum does not verify.
    #[error("IPv4 header checksum does not verify")]
    Ipv4Checksum,
    /// The packet is an IPv4 fragment (more-fragments flag or non-zero offset).
    #[error("IPv4 fragment")]
    Fragment,
    /// The VRRP version nibble is not 2.
    #[error("VRRP version {0}, expected 2")]
    VrrpVersion(u8),
    /// The VRRP type nibble is not 1 (ADVERTISEMENT).
    #[error("VRRP type {0}, expected 1 (advertisement)")]
    VrrpType(u8),
    /// The VRID byte is 0.
    #[error("VRID 0 is not valid")]
    VridZero,
    /// The auth type byte is not 0, 1 or 2.
    #[error("unknown VRRP auth type {0}")]
    AuthType(u8),
    /// The VRRP checksum does not verify.
    #[error("VRRP checksum 0x{found:04x} does not verify (expected 0x{expected:04x})")]
    VrrpChecksum {
        /// The checksum in the packet.
        found: u16,
        /// The checksum the message should carry.
        expected: u16,
    },
    /// The AH next-header field is not 112 (VRRP).
    #[error("AH next header {0}, expected 112")]
    AhNextHeader(u8),
    /// The AH payload-length field is not 4 (a 24-byte header with a 96-bit ICV).
    #[error("AH payload length {0}, expected 4")]
    AhPayloadLength(u8),
    /// The AH reserved field is not zero.
    #[error("AH reserved field 0x{0:04x} is not zero")]
    AhReserved(u16),
}
