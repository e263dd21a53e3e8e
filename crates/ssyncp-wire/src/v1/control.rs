//! Ver 1 control bodies: NACK, RESYNC_REQ, ALIVE and STATUS.

use crate::bytes::{put_u32, u32_at};
use crate::error::{DecodeError, EmitError};
use crate::v1::header::MessageType;

/// Most ranges one NACK may carry.
pub const MAX_NACK_RANGES: usize = 64;

/// An inclusive range of sequence numbers (serial arithmetic; may wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqRange {
    /// First missing sequence number.
    pub from: u32,
    /// Last missing sequence number.
    pub to: u32,
}

/// Up to 64 NACK ranges, stored inline (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NackRanges {
    ranges: [SeqRange; MAX_NACK_RANGES],
    len: u8,
}

impl Default for NackRanges {
    fn default() -> Self {
        Self::new()
    }
}

impl NackRanges {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            ranges: [SeqRange { from: 0, to: 0 }; MAX_NACK_RANGES],
            len: 0,
        }
    }

    /// Builds a list from a slice; `None` if it holds more than 64 ranges.
    pub fn from_slice(ranges: &[SeqRange]) -> Option<Self> {
        let mut out = Self::new();
        for &range in ranges {
            out.push(range).ok()?;
        }
        Some(out)
    }

    /// Appends a range; gives it back when the list is full.
    pub fn push(&mut self, range: SeqRange) -> Result<(), SeqRange> {
        match self.ranges.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = range;
                self.len += 1;
                Ok(())
            }
            None => Err(range),
        }
    }

    /// The ranges.
    pub fn as_slice(&self) -> &[SeqRange] {
        self.ranges.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Number of ranges.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether there are no ranges.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// NACK (type 2): the receiver asks `target_sender` to resend ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nack {
    /// Sender whose messages are missing.
    pub target_sender: u32,
    /// Epoch of those messages.
    pub target_epoch: u32,
    /// Missing ranges, 1..=64.
    pub ranges: NackRanges,
}

/// RESYNC_REQ (type 3): ask for a bulk resync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResyncReq {
    /// Sender asked; 0 = the current master of this Sync ID.
    pub target_sender: u32,
    /// Epoch asked for; 0 = any.
    pub target_epoch: u32,
}

/// ALIVE (type 4): keepalive from the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alive {
    /// Number of live entries the sender holds.
    pub live_entries: u32,
}

/// STATUS (type 5, optional): a backup's view of one sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status {
    /// Sender reported on.
    pub target_sender: u32,
    /// Its epoch.
    pub target_epoch: u32,
    /// Highest sequence number received without a gap.
    pub highest_contiguous: u32,
    /// Status flags ([`Status::IN_SYNC`]).
    pub flags: u32,
}

impl Status {
    /// Bulk completed and no gap outstanding.
    pub const IN_SYNC: u32 = 0x1;
}

/// A control message body.
// NACK ranges are stored inline so decoding never allocates; the size
// difference between variants is the price.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlBody {
    /// NACK.
    Nack(Nack),
    /// RESYNC_REQ.
    ResyncReq(ResyncReq),
    /// ALIVE.
    Alive(Alive),
    /// STATUS.
    Status(Status),
}

impl ControlBody {
    /// The message type this body belongs to.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Nack(_) => MessageType::Nack,
            Self::ResyncReq(_) => MessageType::ResyncReq,
            Self::Alive(_) => MessageType::Alive,
            Self::Status(_) => MessageType::Status,
        }
    }

    /// The header Count for this body (ranges for NACK, else 0).
    pub fn count(&self) -> usize {
        match self {
            Self::Nack(nack) => nack.ranges.len(),
            _ => 0,
        }
    }

    /// Encoded body length.
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Nack(nack) => 8 + 8 * nack.ranges.len(),
            Self::ResyncReq(_) => 8,
            Self::Alive(_) => 4,
            Self::Status(_) => 16,
        }
    }

    /// Decodes a body of type `kind` with header Count `count`.
    pub fn parse(kind: MessageType, count: u8, body: &[u8]) -> Result<Self, DecodeError> {
        let expected = match kind {
            MessageType::Data | MessageType::Bulk => {
                return Err(DecodeError::UnknownMessageType(kind.nibble()));
            }
            MessageType::Nack => {
                if count == 0 || usize::from(count) > MAX_NACK_RANGES {
                    return Err(DecodeError::BadNackCount(count));
                }
                8 + 8 * usize::from(count)
            }
            other => {
                if count != 0 {
                    return Err(DecodeError::CountNotZero(count));
                }
                match other {
                    MessageType::Alive => 4,
                    MessageType::Status => 16,
                    _ => 8,
                }
            }
        };
        if body.len() != expected {
            return Err(DecodeError::BodyLength {
                expected,
                actual: body.len(),
            });
        }
        let word = |i: usize| u32_at(body, 4 * i);
        Ok(match kind {
            MessageType::Nack => {
                let mut ranges = NackRanges::new();
                for i in 0..usize::from(count) {
                    let range = SeqRange {
                        from: word(2 + 2 * i),
                        to: word(3 + 2 * i),
                    };
                    // count <= 64 was checked, so the list never overflows.
                    let _ = ranges.push(range);
                }
                Self::Nack(Nack {
                    target_sender: word(0),
                    target_epoch: word(1),
                    ranges,
                })
            }
            MessageType::ResyncReq => Self::ResyncReq(ResyncReq {
                target_sender: word(0),
                target_epoch: word(1),
            }),
            MessageType::Alive => Self::Alive(Alive {
                live_entries: word(0),
            }),
            _ => Self::Status(Status {
                target_sender: word(0),
                target_epoch: word(1),
                highest_contiguous: word(2),
                flags: word(3),
            }),
        })
    }

    /// Writes the body to the start of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if let Self::Nack(nack) = self
            && nack.ranges.is_empty()
        {
            return Err(EmitError::BadNackCount(0));
        }
        let len = self.buffer_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(EmitError::BufferTooSmall {
            needed: len,
            available,
        })?;
        let mut words = |values: &[u32]| {
            for (i, &value) in values.iter().enumerate() {
                put_u32(out, 4 * i, value);
            }
        };
        match self {
            Self::Nack(nack) => {
                words(&[nack.target_sender, nack.target_epoch]);
                for (i, range) in nack.ranges.as_slice().iter().enumerate() {
                    put_u32(out, 8 + 8 * i, range.from);
                    put_u32(out, 12 + 8 * i, range.to);
                }
            }
            Self::ResyncReq(req) => words(&[req.target_sender, req.target_epoch]),
            Self::Alive(alive) => words(&[alive.live_entries]),
            Self::Status(status) => words(&[
                status.target_sender,
                status.target_epoch,
                status.highest_contiguous,
                status.flags,
            ]),
        }
        Ok(len)
    }
}
