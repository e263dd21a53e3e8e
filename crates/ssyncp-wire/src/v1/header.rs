//! The 20-byte Ver 1 header.

use crate::bytes::{put_u8, put_u16, put_u32, u8_at, u16_at, u32_at};
use crate::error::DecodeError;

/// Length of the Ver 1 header.
pub const HEADER_LEN: usize = 20;
/// The version nibble value of this format.
pub const VERSION: u8 = 1;

/// The message type (low nibble of byte 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Incremental entries.
    Data,
    /// Bulk-resync entries.
    Bulk,
    /// Negative acknowledgement of sequence ranges.
    Nack,
    /// Request for a bulk resync.
    ResyncReq,
    /// Keepalive with the live-entry count.
    Alive,
    /// Optional receiver status report.
    Status,
}

impl MessageType {
    /// Decodes the type nibble.
    pub fn from_nibble(value: u8) -> Result<Self, DecodeError> {
        Ok(match value {
            0 => Self::Data,
            1 => Self::Bulk,
            2 => Self::Nack,
            3 => Self::ResyncReq,
            4 => Self::Alive,
            5 => Self::Status,
            other => return Err(DecodeError::UnknownMessageType(other)),
        })
    }

    /// The type nibble.
    pub fn nibble(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::Bulk => 1,
            Self::Nack => 2,
            Self::ResyncReq => 3,
            Self::Alive => 4,
            Self::Status => 5,
        }
    }

    /// Whether the body is a list of entries (DATA and BULK).
    pub fn carries_entries(self) -> bool {
        matches!(self, Self::Data | Self::Bulk)
    }
}

/// The header flags byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// The HMAC trailer is present.
    pub const AUTH: u8 = 0x01;
    /// First message of a bulk resync.
    pub const BULK_START: u8 = 0x02;
    /// Last message of a bulk resync.
    pub const BULK_END: u8 = 0x04;
    /// A bulk resync is in progress (set in ALIVE).
    pub const BULK_ACTIVE: u8 = 0x10;
    /// Every defined bit; the others are reserved and must be 0.
    pub const DEFINED: u8 = Self::AUTH | Self::BULK_START | Self::BULK_END | Self::BULK_ACTIVE;

    /// Whether every bit of `mask` is set.
    pub fn contains(self, mask: u8) -> bool {
        self.0 & mask == mask
    }

    /// Reserved bits that are set (0 when valid).
    pub fn reserved_bits(self) -> u8 {
        self.0 & !Self::DEFINED
    }
}

/// The header fields a sender chooses. Count, Size, Checksum and the version
/// are derived when the message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Sync group (default: the VRRP VRID).
    pub sync_id: u8,
    /// Message type.
    pub kind: MessageType,
    /// Flags. Writers set or clear [`Flags::AUTH`] themselves.
    pub flags: Flags,
    /// Unique sender identity (default: IPv4 address of the sync interface).
    pub sender_id: u32,
    /// Sender incarnation; increases across restarts.
    pub epoch: u32,
    /// Per (Sender, Sync ID, Epoch) message sequence number.
    pub sequence: u32,
}

impl Header {
    /// Decodes the header fields from the first 20 bytes (no checksum or size
    /// check; [`MessageView::parse`](super::MessageView::parse) does those).
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort {
                len: bytes.len(),
                min: HEADER_LEN,
            });
        }
        let ver_type = u8_at(bytes, 4);
        let version = ver_type >> 4;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let kind = MessageType::from_nibble(ver_type & 0x0f)?;
        let flags = Flags(u8_at(bytes, 5));
        if flags.reserved_bits() != 0 {
            return Err(DecodeError::ReservedFlags(flags.reserved_bits()));
        }
        Ok(Self {
            sync_id: u8_at(bytes, 1),
            kind,
            flags,
            sender_id: u32_at(bytes, 8),
            epoch: u32_at(bytes, 12),
            sequence: u32_at(bytes, 16),
        })
    }

    /// Writes the header with the given Count and Size and a zero Checksum.
    /// `buf` must hold at least [`HEADER_LEN`] bytes (checked by callers).
    pub(crate) fn write(&self, buf: &mut [u8], count: u8, size: u16) {
        put_u8(buf, 0, count);
        put_u8(buf, 1, self.sync_id);
        put_u16(buf, 2, size);
        put_u8(buf, 4, (VERSION << 4) | self.kind.nibble());
        put_u8(buf, 5, self.flags.0);
        put_u16(buf, 6, 0);
        put_u32(buf, 8, self.sender_id);
        put_u32(buf, 12, self.epoch);
        put_u32(buf, 16, self.sequence);
    }
}

/// Reads Count from a header.
pub(crate) fn count_of(bytes: &[u8]) -> u8 {
    u8_at(bytes, 0)
}

/// Reads Size from a header.
pub(crate) fn size_of(bytes: &[u8]) -> u16 {
    u16_at(bytes, 2)
}
