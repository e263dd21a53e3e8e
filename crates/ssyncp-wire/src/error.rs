//! Typed errors: one variant per rejection reason.

/// Why a received message (or a single entry's framing) was rejected.
///
/// A decoder that returns one of these has rejected the whole message, as the
/// spec requires for framing faults (the kernel drops "the rest of the message").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the fixed header of the version being parsed.
    #[error("message is {len} bytes, shorter than the {min}-byte header")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes the header needs.
        min: usize,
    },
    /// The Size field disagrees with the number of bytes received.
    #[error("Size field says {declared} bytes but {actual} bytes were received")]
    SizeMismatch {
        /// Value of the Size field.
        declared: u16,
        /// Bytes received.
        actual: usize,
    },
    /// The checksum does not match the message.
    #[error("checksum {found:#06x} does not match computed {computed:#06x}")]
    BadChecksum {
        /// Checksum carried in the message.
        found: u16,
        /// Checksum computed over the received bytes.
        computed: u16,
    },
    /// The version nibble names a version this codec does not know.
    #[error("unsupported SSYNCP version {0}")]
    UnsupportedVersion(u8),

    /// Ver 0: the 16-bit Reserved field is not zero.
    #[error("Ver 0 Reserved field is {0:#06x}, must be 0")]
    V0ReservedNonZero(u16),
    /// Ver 0: Count exceeds the sketch's limit of 50 entries.
    #[error("Ver 0 message carries {0} entries, more than 50")]
    V0TooManyEntries(u8),
    /// Ver 0: the message exceeds the sketch's 1208-byte limit.
    #[error("Ver 0 message is {0} bytes, more than 1208")]
    V0TooLarge(u16),
    /// Ver 0: an entry's reserved first byte is not zero.
    #[error("Ver 0 entry {index} reserved byte is {value:#04x}, must be 0")]
    V0EntryReservedNonZero {
        /// Zero-based entry index.
        index: u8,
        /// Value found.
        value: u8,
    },

    /// Ver 1: Size is not a multiple of 4.
    #[error("message size {0} is not a multiple of 4")]
    Unaligned(u16),
    /// Ver 1: the Type nibble is reserved (6..=15).
    #[error("unknown message type {0}")]
    UnknownMessageType(u8),
    /// Ver 1: a reserved Flags bit (0x08, 0x20..=0x80) is set.
    #[error("reserved flag bits {0:#04x} are set")]
    ReservedFlags(u8),
    /// Ver 1: Count is not zero in a RESYNC_REQ, ALIVE or STATUS message.
    #[error("Count must be 0 for this message type, got {0}")]
    CountNotZero(u8),
    /// Ver 1: a NACK carries no ranges or more than 64.
    #[error("NACK range count {0} is outside 1..=64")]
    BadNackCount(u8),
    /// Ver 1: a control body has the wrong length for its type and Count.
    #[error("control body is {actual} bytes, expected {expected}")]
    BodyLength {
        /// Length the type and Count call for.
        expected: usize,
        /// Length present.
        actual: usize,
    },
    /// Ver 1: the AUTH flag is set but the message cannot hold the 20-byte trailer.
    #[error("AUTH flag set but the message has no room for the trailer")]
    MissingTrailer,
    /// Ver 1: the trailer names an algorithm other than 1 (HMAC-SHA-256-128).
    #[error("unsupported authentication algorithm {0}")]
    UnsupportedAuthAlgorithm(u8),
    /// Ver 1: the trailer's reserved field is not zero.
    #[error("authentication trailer reserved field is {0:#06x}, must be 0")]
    TrailerReservedNonZero(u16),

    /// An entry (or its SEQ block) runs past the end of the entry area.
    #[error("entry {index} runs past the end of the message")]
    EntryOverrun {
        /// Zero-based entry index.
        index: u8,
    },
    /// Bytes remain after the last entry announced by Count.
    #[error("{extra} bytes follow the last entry")]
    TrailingBytes {
        /// Number of unexplained bytes.
        extra: usize,
    },
    /// Ver 1: an entry's version nibble is not 0.
    #[error("entry {index} has version {version}, must be 0")]
    EntryVersion {
        /// Zero-based entry index.
        index: u8,
        /// Version found.
        version: u8,
    },
    /// Ver 1: an entry type byte with reserved bits or an unknown class.
    #[error("entry {index} has unknown type byte {value:#04x}")]
    UnknownEntryType {
        /// Zero-based entry index.
        index: u8,
        /// Type byte found.
        value: u8,
    },
    /// Ver 1: an entry's size is below the fixed part of its type.
    #[error("entry {index} declares size {size}, below its fixed part of {min} bytes")]
    EntryTooSmall {
        /// Zero-based entry index.
        index: u8,
        /// Declared size.
        size: u16,
        /// Fixed part of the entry type.
        min: usize,
    },
    /// Ver 1: the padding after an entry is not zero.
    #[error("entry {index} is followed by non-zero padding")]
    NonZeroPadding {
        /// Zero-based entry index.
        index: u8,
    },
    /// Ver 1: an option has a length of zero.
    #[error("entry {index}: option {kind:#04x} has length 0")]
    OptionZeroLength {
        /// Zero-based entry index.
        index: u8,
        /// Option type.
        kind: u8,
    },
    /// Ver 1: an option (or its type/length header) overruns the entry.
    #[error("entry {index}: option {kind:#04x} overruns the entry")]
    OptionOverrun {
        /// Zero-based entry index.
        index: u8,
        /// Option type.
        kind: u8,
    },
    /// Ver 1: a known option appears twice in one entry.
    #[error("entry {index}: duplicate option {kind:#04x}")]
    DuplicateOption {
        /// Zero-based entry index.
        index: u8,
        /// Option type.
        kind: u8,
    },
    /// Ver 1: a known option has a length its type does not allow.
    #[error("entry {index}: option {kind:#04x} has invalid length {len}")]
    OptionLength {
        /// Zero-based entry index.
        index: u8,
        /// Option type.
        kind: u8,
        /// Length found.
        len: u8,
    },
}

/// Why a structurally valid Ver 1 entry cannot be turned into an
/// [`EntryRepr`](crate::v1::EntryRepr). Only this entry is dropped; the rest
/// of the message stays usable (kernel semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A mandatory option (type bit 0x40 clear) of an unknown type.
    #[error("unknown mandatory option {0:#04x}")]
    UnknownMandatoryOption(u8),
    /// The entry belongs to the experimental class 15, which has no typed form.
    #[error("experimental entry class")]
    ExperimentalClass,
    /// A conntrack entry sets reserved entry-flag bits (only 0x01 and 0x02 are defined).
    #[error("conntrack entry flags {0:#04x} set reserved bits")]
    ReservedCtFlags(u8),
}

/// Why a message or entry could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is shorter than needed.
    #[error("buffer holds {available} bytes, {needed} needed")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The MTU leaves no room for the IPv4 header, the SSYNCP header and the trailer.
    #[error("MTU {0} is too small for an SSYNCP message")]
    MtuTooSmall(usize),
    /// The message is full: the entry does not fit in the size limit, or Count is at its cap.
    #[error("message is full")]
    Full,
    /// Ver 0: the SEQ block is present without a SEQ flag (0x0600), or missing with one.
    #[error("SEQ options present iff flags & 0x0600 is violated")]
    SeqFlagMismatch,
    /// Ver 1: an option's data is empty or longer than its type allows.
    #[error("option {kind:#04x} with {len} bytes is not allowed")]
    OptionLength {
        /// Option type.
        kind: u8,
        /// Offending length.
        len: usize,
    },
    /// Ver 1: the message type does not fit the writer (entries vs. control body).
    #[error("message type does not match the body")]
    TypeMismatch,
    /// Ver 1: reserved flag bits were requested.
    #[error("reserved flag bits {0:#04x} requested")]
    ReservedFlags(u8),
    /// Ver 1: a NACK needs 1..=64 ranges.
    #[error("NACK needs 1..=64 ranges, got {0}")]
    BadNackCount(usize),
}

/// Why the HMAC trailer of a Ver 1 message did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The message carries no trailer (AUTH flag clear) but a key was required.
    #[error("message is not authenticated")]
    NotAuthenticated,
    /// No key is configured for this (Sync ID, Key ID).
    #[error("no key for sync id {sync_id}, key id {key_id}")]
    UnknownKey {
        /// Sync ID of the message.
        sync_id: u8,
        /// Key ID in the trailer.
        key_id: u8,
    },
    /// The MAC does not match.
    #[error("MAC mismatch")]
    BadMac,
}
