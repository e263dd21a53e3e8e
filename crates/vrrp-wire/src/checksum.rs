//! The Internet checksum (RFC 1071), used by both the VRRPv2 message and the IPv4 header.

/// Folds `data` into a 16-bit one's-complement sum (not yet complemented).
///
/// An odd trailing byte is padded with a zero byte, as RFC 1071 specifies.
pub fn ones_complement_sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        acc += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    let rest = words.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    acc += u64::from(u32::from_be_bytes(tail));
    // Fold 64 -> 16 bits; each step cannot lose carries because the sum shrinks.
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc as u16
}

/// The RFC 1071 checksum of `data`: the one's complement of the one's-complement sum.
///
/// Computed over a buffer whose checksum field is zero it yields the value to store;
/// computed over a buffer holding a correct checksum it yields 0.
pub fn internet_checksum(data: &[u8]) -> u16 {
    !ones_complement_sum(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 example: sum of 0001 f203 f4f5 f6f7 is ddf2.
        assert_eq!(
            ones_complement_sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            !0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(ones_complement_sum(&[0x12]), 0x1200);
        assert_eq!(ones_complement_sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
        assert_eq!(ones_complement_sum(&[]), 0);
    }

    #[test]
    fn vrrp_vector_checksum() {
        // vrrp.md §1.6: VRRP checksum 0x8eae.
        let mut msg = [
            0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x00, 0x00, 0xc0, 0xa8, 0xc8, 0x10, 0x31, 0x31,
            0x31, 0x31, 0, 0, 0, 0,
        ];
        assert_eq!(internet_checksum(&msg), 0x8eae);
        msg[6..8].copy_from_slice(&0x8eaeu16.to_be_bytes());
        assert_eq!(internet_checksum(&msg), 0);
    }

    #[test]
    fn large_input_folds_carries() {
        let data = [0xffu8; 4096];
        assert_eq!(ones_complement_sum(&data), 0xffff);
    }
}
