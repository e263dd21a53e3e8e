//! The 24-byte sequence-adjustment block shared by both versions.

use crate::bytes::{put_u32, u32_at};

/// Length of the SEQ block in bytes (two triples of 32-bit words).
pub const SEQ_LEN: usize = 24;

/// One direction's TCP sequence adjustment, as kept by IPVS (`ip_vs_seq`).
///
/// For conntrack flows the same three words carry
/// `correction_pos`, `offset_after` and `offset_before`, in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqAdjust {
    /// The adjustment applies from this sequence number on.
    pub init_seq: u32,
    /// Current delta (two's complement: NAT helpers may shrink payloads).
    pub delta: i32,
    /// Delta before the last resized packet.
    pub previous_delta: i32,
}

/// Sequence adjustments for both directions (`in_seq`, then `out_seq`).
///
/// Always big-endian on the wire here. The kernel's Ver 0 copied this block
/// raw from memory (host order); this codec deliberately does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqOptions {
    /// Client-to-server direction (conntrack: original direction).
    pub in_seq: SeqAdjust,
    /// Server-to-client direction (conntrack: reply direction).
    pub out_seq: SeqAdjust,
}

impl SeqOptions {
    /// Reads the block from the start of `bytes`; `None` if shorter than [`SEQ_LEN`].
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < SEQ_LEN {
            return None;
        }
        let word = |i: usize| u32_at(bytes, i * 4);
        Some(Self {
            in_seq: SeqAdjust {
                init_seq: word(0),
                delta: word(1) as i32,
                previous_delta: word(2) as i32,
            },
            out_seq: SeqAdjust {
                init_seq: word(3),
                delta: word(4) as i32,
                previous_delta: word(5) as i32,
            },
        })
    }

    /// Writes the block to the start of `buf`; `None` if shorter than [`SEQ_LEN`].
    pub fn emit(&self, buf: &mut [u8]) -> Option<()> {
        if buf.len() < SEQ_LEN {
            return None;
        }
        let words = [
            self.in_seq.init_seq,
            self.in_seq.delta as u32,
            self.in_seq.previous_delta as u32,
            self.out_seq.init_seq,
            self.out_seq.delta as u32,
            self.out_seq.previous_delta as u32,
        ];
        for (i, word) in words.into_iter().enumerate() {
            put_u32(buf, i * 4, word);
        }
        Some(())
    }
}
