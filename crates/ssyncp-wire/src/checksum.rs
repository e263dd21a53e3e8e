//! The Internet checksum (RFC 1071), as used by both SSYNCP versions.
//!
//! The checksum covers the whole message with the 16-bit Checksum field
//! (offset 6 in both versions) taken as zero, and no pseudo-header.

use crate::bytes::u16_at;

/// Offset of the 16-bit Checksum field in both the Ver 0 and the Ver 1 header.
pub const CHECKSUM_OFFSET: usize = 6;

/// Computes the RFC 1071 Internet checksum of `data`.
///
/// An odd trailing byte is padded with a zero byte, as RFC 1071 specifies.
pub fn internet_checksum(data: &[u8]) -> u16 {
    finish(sum_words(data))
}

/// Computes the checksum of an SSYNCP message as if its Checksum field
/// (bytes 6..8) were zero, which is what a sender writes and a receiver checks.
pub fn message_checksum(message: &[u8]) -> u16 {
    let stored = if message.len() >= CHECKSUM_OFFSET + 2 {
        u64::from(u16_at(message, CHECKSUM_OFFSET))
    } else {
        0
    };
    // The stored word (at an even offset) is one term of the unfolded sum, so
    // removing it exactly is plain integer subtraction that cannot underflow.
    finish(sum_words(message).saturating_sub(stored))
}

/// Sums big-endian 16-bit words into a wide accumulator (no folding yet).
fn sum_words(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(2);
    let mut sum: u64 = 0;
    for pair in &mut chunks {
        if let [high, low] = *pair {
            sum += u64::from(u16::from_be_bytes([high, low]));
        }
    }
    if let [last] = *chunks.remainder() {
        sum += u64::from(u16::from_be_bytes([last, 0]));
    }
    sum
}

/// Folds carries back in and complements.
fn finish(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves `sum` at most 0xffff, so the cast is lossless.
    !(sum as u16)
}
