//! Ver 0: the 2002 SSYNCP sketch frame (seed 004), both directions.
//!
//! ```text
//!  0               1               2               3
//! +---------------+---------------+-------------------------------+
//! | Count         | Sync ID       | Size                          |
//! +---------------+---------------+-------------------------------+
//! | Reserved (0)                  | Checksum                      |
//! +-------------------------------+-------------------------------+
//! | Count x (24-byte IPVS v0 entry [+ 24-byte SEQ block])         |
//! +---------------------------------------------------------------+
//! ```
//!
//! An entry carries the SEQ block when `flags & 0x0600` is set. Limits are the
//! sketch's: at most 50 entries and 1208 bytes, so at most 25 entries when all
//! carry SEQ. The SEQ block is big-endian here; the kernel's v0 sent it in
//! host byte order, which this codec does not reproduce.

use core::net::Ipv4Addr;

use crate::bytes::{array_at, put_bytes, put_u8, put_u16, u8_at, u16_at};
use crate::checksum::{CHECKSUM_OFFSET, message_checksum};
use crate::error::{DecodeError, EmitError};
use crate::seq::{SEQ_LEN, SeqOptions};

/// Length of the Ver 0 header.
pub const HEADER_LEN: usize = 8;
/// Length of a Ver 0 connection entry without the SEQ block.
pub const ENTRY_LEN: usize = 24;
/// Connection flags that make an entry carry the SEQ block (`IP_VS_CONN_F_SEQ_MASK`).
pub const SEQ_MASK: u16 = 0x0600;
/// The sketch's maximum number of entries per message.
pub const MAX_ENTRIES: usize = 50;
/// The sketch's maximum message size: 50 x 24 + 8.
pub const MAX_MESSAGE_LEN: usize = MAX_ENTRIES * ENTRY_LEN + HEADER_LEN;

/// A validated, borrowed Ver 0 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageView<'a> {
    bytes: &'a [u8],
}

impl<'a> MessageView<'a> {
    /// Checks every length, the checksum, the limits and each entry's framing.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort {
                len: bytes.len(),
                min: HEADER_LEN,
            });
        }
        let size = u16_at(bytes, 2);
        if usize::from(size) != bytes.len() {
            return Err(DecodeError::SizeMismatch {
                declared: size,
                actual: bytes.len(),
            });
        }
        let found = u16_at(bytes, CHECKSUM_OFFSET);
        let computed = message_checksum(bytes);
        if found != computed {
            return Err(DecodeError::BadChecksum { found, computed });
        }
        let reserved = u16_at(bytes, 4);
        if reserved != 0 {
            // A non-zero version nibble is a different protocol version.
            let version = (reserved >> 12) as u8;
            if version != 0 {
                return Err(DecodeError::UnsupportedVersion(version));
            }
            return Err(DecodeError::V0ReservedNonZero(reserved));
        }
        let count = u8_at(bytes, 0);
        if usize::from(count) > MAX_ENTRIES {
            return Err(DecodeError::V0TooManyEntries(count));
        }
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::V0TooLarge(size));
        }
        let mut offset = HEADER_LEN;
        for index in 0..count {
            offset += entry_len_at(bytes, offset, index)?;
        }
        if offset != bytes.len() {
            return Err(DecodeError::TrailingBytes {
                extra: bytes.len() - offset,
            });
        }
        Ok(Self { bytes })
    }

    /// Number of entries.
    pub fn count(&self) -> u8 {
        u8_at(self.bytes, 0)
    }

    /// Sync ID (the IPVS syncid filter).
    pub fn sync_id(&self) -> u8 {
        u8_at(self.bytes, 1)
    }

    /// Size field (equal to the message length).
    pub fn size(&self) -> u16 {
        u16_at(self.bytes, 2)
    }

    /// Checksum field as received (already verified).
    pub fn checksum(&self) -> u16 {
        u16_at(self.bytes, CHECKSUM_OFFSET)
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates over the entries.
    pub fn conns(&self) -> Conns<'a> {
        Conns {
            rest: self.bytes.get(HEADER_LEN..).unwrap_or(&[]),
            remaining: self.count(),
        }
    }
}

/// Length of the entry starting at `offset` (24 or 48), checking it fits.
fn entry_len_at(bytes: &[u8], offset: usize, index: u8) -> Result<usize, DecodeError> {
    let entry = bytes
        .get(offset..)
        .filter(|rest| rest.len() >= ENTRY_LEN)
        .ok_or(DecodeError::EntryOverrun { index })?;
    let reserved = u8_at(entry, 0);
    if reserved != 0 {
        return Err(DecodeError::V0EntryReservedNonZero {
            index,
            value: reserved,
        });
    }
    let len = if u16_at(entry, 20) & SEQ_MASK != 0 {
        ENTRY_LEN + SEQ_LEN
    } else {
        ENTRY_LEN
    };
    if entry.len() < len {
        return Err(DecodeError::EntryOverrun { index });
    }
    Ok(len)
}

/// Iterator over the entries of a validated [`MessageView`].
#[derive(Debug, Clone)]
pub struct Conns<'a> {
    rest: &'a [u8],
    remaining: u8,
}

impl<'a> Iterator for Conns<'a> {
    type Item = ConnView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        // The message was validated, so this only fails on a codec bug; then
        // iteration ends instead of panicking.
        let len = match entry_len_at(self.rest, 0, 0) {
            Ok(len) => len,
            Err(_) => {
                self.remaining = 0;
                return None;
            }
        };
        let (entry, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        self.remaining -= 1;
        Some(ConnView { bytes: entry })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// A borrowed Ver 0 entry (24 or 48 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnView<'a> {
    bytes: &'a [u8],
}

impl<'a> ConnView<'a> {
    /// The entry's bytes, SEQ block included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether the SEQ block follows.
    pub fn has_seq(&self) -> bool {
        self.flags() & SEQ_MASK != 0
    }

    /// Connection flags (low 16 bits of `IP_VS_CONN_F_*`).
    pub fn flags(&self) -> u16 {
        u16_at(self.bytes, 20)
    }

    /// Decodes the entry into its owned form.
    pub fn repr(&self) -> Conn {
        Conn::read(self.bytes)
    }
}

/// An owned Ver 0 IPVS connection entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conn {
    /// L4 protocol (6 TCP, 17 UDP, 132 SCTP).
    pub protocol: u8,
    /// Client port.
    pub cport: u16,
    /// Virtual-service port.
    pub vport: u16,
    /// Real-server port.
    pub dport: u16,
    /// Client address.
    pub caddr: Ipv4Addr,
    /// Virtual-service address.
    pub vaddr: Ipv4Addr,
    /// Real-server address.
    pub daddr: Ipv4Addr,
    /// Low 16 bits of `IP_VS_CONN_F_*` (HASHED cleared by senders).
    pub flags: u16,
    /// IPVS protocol state number.
    pub state: u16,
    /// Sequence adjustments; present exactly when `flags & SEQ_MASK != 0`.
    pub seq: Option<SeqOptions>,
}

impl Conn {
    /// Parses one entry from the start of `bytes`, returning it and its length.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize), DecodeError> {
        let len = entry_len_at(bytes, 0, 0)?;
        Ok((Self::read(bytes), len))
    }

    /// Decodes an entry whose length was already checked.
    fn read(bytes: &[u8]) -> Self {
        let flags = u16_at(bytes, 20);
        let seq = if flags & SEQ_MASK != 0 {
            bytes.get(ENTRY_LEN..).and_then(SeqOptions::parse)
        } else {
            None
        };
        Self {
            protocol: u8_at(bytes, 1),
            cport: u16_at(bytes, 2),
            vport: u16_at(bytes, 4),
            dport: u16_at(bytes, 6),
            caddr: Ipv4Addr::from(array_at::<4>(bytes, 8)),
            vaddr: Ipv4Addr::from(array_at::<4>(bytes, 12)),
            daddr: Ipv4Addr::from(array_at::<4>(bytes, 16)),
            flags,
            state: u16_at(bytes, 22),
            seq,
        }
    }

    /// Encoded length: 24, or 48 with the SEQ block.
    pub fn buffer_len(&self) -> usize {
        if self.flags & SEQ_MASK != 0 {
            ENTRY_LEN + SEQ_LEN
        } else {
            ENTRY_LEN
        }
    }

    /// Writes the entry to the start of `buf`, returning its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let wants_seq = self.flags & SEQ_MASK != 0;
        if wants_seq != self.seq.is_some() {
            return Err(EmitError::SeqFlagMismatch);
        }
        let len = self.buffer_len();
        let available = buf.len();
        let out = buf.get_mut(..len).ok_or(EmitError::BufferTooSmall {
            needed: len,
            available,
        })?;
        put_u8(out, 0, 0);
        put_u8(out, 1, self.protocol);
        put_u16(out, 2, self.cport);
        put_u16(out, 4, self.vport);
        put_u16(out, 6, self.dport);
        put_bytes(out, 8, &self.caddr.octets());
        put_bytes(out, 12, &self.vaddr.octets());
        put_bytes(out, 16, &self.daddr.octets());
        put_u16(out, 20, self.flags);
        put_u16(out, 22, self.state);
        if let (Some(seq), Some(seq_buf)) = (self.seq, out.get_mut(ENTRY_LEN..)) {
            seq.emit(seq_buf);
        }
        Ok(len)
    }
}

/// Fills a Ver 0 message in a caller's buffer, up to the sketch's limits.
#[derive(Debug)]
pub struct MessageWriter<'b> {
    buf: &'b mut [u8],
    limit: usize,
    len: usize,
    count: u8,
}

impl<'b> MessageWriter<'b> {
    /// Starts a message for `sync_id`. The message grows up to
    /// [`MAX_MESSAGE_LEN`] or `buf.len()`, whichever is smaller.
    pub fn new(buf: &'b mut [u8], sync_id: u8) -> Result<Self, EmitError> {
        if buf.len() < HEADER_LEN {
            return Err(EmitError::BufferTooSmall {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let limit = buf.len().min(MAX_MESSAGE_LEN);
        put_bytes(buf, 0, &[0, sync_id, 0, 0, 0, 0, 0, 0]);
        Ok(Self {
            buf,
            limit,
            len: HEADER_LEN,
            count: 0,
        })
    }

    /// Appends an entry, or returns [`EmitError::Full`] (message unchanged)
    /// when the entry limit or the size limit would be exceeded.
    pub fn push(&mut self, conn: &Conn) -> Result<(), EmitError> {
        if usize::from(self.count) >= MAX_ENTRIES || self.len + conn.buffer_len() > self.limit {
            return Err(EmitError::Full);
        }
        let dst = self.buf.get_mut(self.len..self.limit).unwrap_or_default();
        self.len += conn.emit(dst)?;
        self.count += 1;
        Ok(())
    }

    /// Entries written so far.
    pub fn count(&self) -> usize {
        usize::from(self.count)
    }

    /// Message length so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry has been written yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes Count, Size and Checksum and returns the finished message.
    pub fn finish(self) -> &'b [u8] {
        let len = self.len;
        let msg = self.buf.get_mut(..len).unwrap_or_default();
        put_u8(msg, 0, self.count);
        // `len` <= MAX_MESSAGE_LEN (1208), so it fits in 16 bits.
        put_u16(msg, 2, len as u16);
        put_u16(msg, CHECKSUM_OFFSET, 0);
        let checksum = message_checksum(msg);
        put_u16(msg, CHECKSUM_OFFSET, checksum);
        msg
    }
}
