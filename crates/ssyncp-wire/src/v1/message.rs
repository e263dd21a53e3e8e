//! Whole Ver 1 messages: the validated view, the entry packer and control emitters.

use core::marker::PhantomData;

#[cfg(feature = "hmac")]
use crate::bytes::put_u8;
use crate::bytes::{put_bytes, put_u16, zero};
use crate::checksum::{CHECKSUM_OFFSET, message_checksum};
#[cfg(feature = "hmac")]
use crate::error::AuthError;
use crate::error::{DecodeError, EmitError};
#[cfg(feature = "hmac")]
use crate::v1::auth::{ALG_HMAC_SHA256_128, AuthKey, KeyLookup, macs_equal};
use crate::v1::auth::{AuthTrailer, TRAILER_LEN};
use crate::v1::control::ControlBody;
use crate::v1::entry::{EntryRepr, EntryView};
use crate::v1::header::{Flags, HEADER_LEN, Header, VERSION, count_of, size_of};

/// IPv4 header length assumed when packing to an MTU (no IP options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Largest Count.
pub const MAX_COUNT: usize = 255;
/// Largest message: the 16-bit Size rounded down to a multiple of 4.
pub const MAX_MESSAGE_LEN: usize = 65532;

/// Entries of `padded_entry_len` bytes that fit in one message for `mtu`:
/// `min(255, (mtu - 20 [IPv4] - 20 [header] - 20 [if auth]) / padded_entry_len)`.
/// This is the formula behind the spec's packing table (§5.8);
/// [`MessageWriter`] packs exactly this many uniform entries.
pub fn entries_per_message(mtu: usize, padded_entry_len: usize, auth: bool) -> usize {
    let overhead = IPV4_HEADER_LEN + HEADER_LEN + if auth { TRAILER_LEN } else { 0 };
    let room = mtu
        .min(MAX_MESSAGE_LEN + IPV4_HEADER_LEN)
        .saturating_sub(overhead);
    room.checked_div(padded_entry_len)
        .unwrap_or(0)
        .min(MAX_COUNT)
}

/// A fully validated, borrowed Ver 1 message (all checks except the MAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageView<'a> {
    bytes: &'a [u8],
    header: Header,
}

impl<'a> MessageView<'a> {
    /// Validates, in the spec's receiver order: Size against the bytes
    /// received, checksum, version and type, flags, trailer framing, then
    /// the body (every entry's framing, or the control body). The MAC is
    /// checked separately by [`verify`](Self::verify).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let too_short = DecodeError::TooShort {
            len: bytes.len(),
            min: HEADER_LEN,
        };
        if bytes.len() < 4 {
            return Err(too_short);
        }
        let size = size_of(bytes);
        if usize::from(size) != bytes.len() {
            return Err(DecodeError::SizeMismatch {
                declared: size,
                actual: bytes.len(),
            });
        }
        if bytes.len() < CHECKSUM_OFFSET + 2 {
            return Err(too_short);
        }
        let found = crate::bytes::u16_at(bytes, CHECKSUM_OFFSET);
        let computed = message_checksum(bytes);
        if found != computed {
            return Err(DecodeError::BadChecksum { found, computed });
        }
        let version = crate::bytes::u8_at(bytes, 4) >> 4;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        if bytes.len() < HEADER_LEN {
            return Err(too_short);
        }
        if !size.is_multiple_of(4) {
            return Err(DecodeError::Unaligned(size));
        }
        let header = Header::parse(bytes)?;
        let body_end = if header.flags.contains(Flags::AUTH) {
            let end = bytes
                .len()
                .checked_sub(TRAILER_LEN)
                .filter(|&end| end >= HEADER_LEN)
                .ok_or(DecodeError::MissingTrailer)?;
            AuthTrailer::parse(bytes.get(end..).unwrap_or_default())?;
            end
        } else {
            bytes.len()
        };
        let body = bytes.get(HEADER_LEN..body_end).unwrap_or_default();
        let count = count_of(bytes);
        if header.kind.carries_entries() {
            let mut offset = 0;
            for index in 0..count {
                let rest = body.get(offset..).unwrap_or_default();
                let (_, padded) = EntryView::parse(rest, index)?;
                offset += padded;
            }
            if offset != body.len() {
                return Err(DecodeError::TrailingBytes {
                    extra: body.len() - offset,
                });
            }
        } else {
            ControlBody::parse(header.kind, count, body)?;
        }
        Ok(Self { bytes, header })
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The header fields.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Count (entries or NACK ranges).
    pub fn count(&self) -> u8 {
        count_of(self.bytes)
    }

    /// Size (equal to the message length).
    pub fn size(&self) -> u16 {
        size_of(self.bytes)
    }

    /// Checksum as received (already verified).
    pub fn checksum(&self) -> u16 {
        crate::bytes::u16_at(self.bytes, CHECKSUM_OFFSET)
    }

    /// The trailer, when the AUTH flag is set.
    pub fn trailer(&self) -> Option<AuthTrailer> {
        if !self.header.flags.contains(Flags::AUTH) {
            return None;
        }
        let start = self.bytes.len().checked_sub(TRAILER_LEN)?;
        AuthTrailer::parse(self.bytes.get(start..)?).ok()
    }

    /// The entries (empty for control messages).
    pub fn entries(&self) -> Entries<'a> {
        let (body, remaining) = if self.header.kind.carries_entries() {
            (self.body(), self.count())
        } else {
            (&[][..], 0)
        };
        Entries {
            rest: body,
            remaining,
            index: 0,
        }
    }

    /// The body bytes between the header and the trailer.
    pub fn body(&self) -> &'a [u8] {
        let trailer = if self.header.flags.contains(Flags::AUTH) {
            TRAILER_LEN
        } else {
            0
        };
        let end = self.bytes.len().saturating_sub(trailer);
        self.bytes.get(HEADER_LEN..end).unwrap_or_default()
    }

    /// The control body, for NACK, RESYNC_REQ, ALIVE and STATUS (decoded
    /// again from the validated bytes; `None` for DATA and BULK).
    pub fn control(&self) -> Option<ControlBody> {
        if self.header.kind.carries_entries() {
            return None;
        }
        ControlBody::parse(self.header.kind, self.count(), self.body()).ok()
    }

    /// Checks the trailer's MAC with the key `keys` holds for this message's
    /// (Sync ID, Key ID), in constant time.
    #[cfg(feature = "hmac")]
    pub fn verify<K: KeyLookup + ?Sized>(&self, keys: &K) -> Result<(), AuthError> {
        let trailer = self.trailer().ok_or(AuthError::NotAuthenticated)?;
        let key = keys
            .key(self.header.sync_id, trailer.key_id)
            .ok_or(AuthError::UnknownKey {
                sync_id: self.header.sync_id,
                key_id: trailer.key_id,
            })?;
        if macs_equal(&key.message_mac(self.bytes), &trailer.mac) {
            Ok(())
        } else {
            Err(AuthError::BadMac)
        }
    }
}

/// Iterator over the entries of a validated message.
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    rest: &'a [u8],
    remaining: u8,
    index: u8,
}

impl<'a> Iterator for Entries<'a> {
    type Item = EntryView<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        // Validated at parse time; a failure here would be a codec bug, and
        // then iteration just ends.
        let Ok((view, padded)) = EntryView::parse(self.rest, self.index) else {
            self.remaining = 0;
            return None;
        };
        self.rest = self.rest.get(padded..).unwrap_or_default();
        self.remaining -= 1;
        self.index = self.index.wrapping_add(1);
        Some(view)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// The key (if any) a message is signed with.
#[derive(Debug, Clone, Copy)]
struct Signer<'k> {
    #[cfg(feature = "hmac")]
    key: Option<&'k AuthKey>,
    lifetime: PhantomData<&'k ()>,
}

impl Signer<'_> {
    const NONE: Self = Self {
        #[cfg(feature = "hmac")]
        key: None,
        lifetime: PhantomData,
    };

    fn trailer_len(&self) -> usize {
        #[cfg(feature = "hmac")]
        if self.key.is_some() {
            return TRAILER_LEN;
        }
        0
    }

    /// Writes Count, Size, flags, trailer and checksum into `msg`, which is
    /// the complete message (header written, checksum zero).
    fn seal(&self, msg: &mut [u8], header: &Header, count: u8) {
        let mut header = *header;
        header.flags.0 &= !Flags::AUTH;
        if self.trailer_len() != 0 {
            header.flags.0 |= Flags::AUTH;
        }
        // Callers cap the length at MAX_MESSAGE_LEN, so it fits in 16 bits.
        header.write(msg, count, msg.len() as u16);
        #[cfg(feature = "hmac")]
        if let Some(key) = self.key {
            let start = msg.len() - TRAILER_LEN;
            put_u8(msg, start, key.key_id());
            put_u8(msg, start + 1, ALG_HMAC_SHA256_128);
            put_u16(msg, start + 2, 0);
            let mac = key.message_mac(msg);
            put_bytes(msg, start + 4, &mac);
        }
        let checksum = message_checksum(msg);
        put_u16(msg, CHECKSUM_OFFSET, checksum);
    }
}

/// Packs DATA or BULK entries into a caller's buffer, up to an MTU.
///
/// The message may grow to `mtu - 20` bytes (IPv4 header), trailer included,
/// and to at most 255 entries, so uniform entries pack exactly as
/// [`entries_per_message`] says.
#[derive(Debug)]
pub struct MessageWriter<'b, 'k> {
    buf: &'b mut [u8],
    header: Header,
    signer: Signer<'k>,
    entry_limit: usize,
    len: usize,
    count: u8,
}

impl<'b, 'k> MessageWriter<'b, 'k> {
    /// Starts an unauthenticated DATA or BULK message.
    pub fn new(buf: &'b mut [u8], mtu: usize, header: &Header) -> Result<Self, EmitError> {
        Self::with_signer(buf, mtu, header, Signer::NONE)
    }

    /// Starts a DATA or BULK message that ends with an HMAC trailer made with `key`.
    #[cfg(feature = "hmac")]
    pub fn new_authenticated(
        buf: &'b mut [u8],
        mtu: usize,
        header: &Header,
        key: &'k AuthKey,
    ) -> Result<Self, EmitError> {
        let signer = Signer {
            key: Some(key),
            lifetime: PhantomData,
        };
        Self::with_signer(buf, mtu, header, signer)
    }

    fn with_signer(
        buf: &'b mut [u8],
        mtu: usize,
        header: &Header,
        signer: Signer<'k>,
    ) -> Result<Self, EmitError> {
        if !header.kind.carries_entries() {
            return Err(EmitError::TypeMismatch);
        }
        check_flags(header.flags)?;
        let fixed = HEADER_LEN + signer.trailer_len();
        let mtu_room = mtu.saturating_sub(IPV4_HEADER_LEN).min(MAX_MESSAGE_LEN);
        if mtu_room < fixed {
            return Err(EmitError::MtuTooSmall(mtu));
        }
        if buf.len() < fixed {
            return Err(EmitError::BufferTooSmall {
                needed: fixed,
                available: buf.len(),
            });
        }
        let entry_limit = mtu_room.min(buf.len()) - signer.trailer_len();
        Ok(Self {
            buf,
            header: *header,
            signer,
            entry_limit,
            len: HEADER_LEN,
            count: 0,
        })
    }

    fn reserve(&mut self, padded: usize) -> Result<&mut [u8], EmitError> {
        if usize::from(self.count) >= MAX_COUNT || self.len + padded > self.entry_limit {
            return Err(EmitError::Full);
        }
        Ok(self
            .buf
            .get_mut(self.len..self.len + padded)
            .unwrap_or_default())
    }

    /// Appends an entry, or returns [`EmitError::Full`] (message unchanged)
    /// when it does not fit or Count is at 255.
    pub fn push(&mut self, entry: &EntryRepr<'_>) -> Result<(), EmitError> {
        let padded = entry.padded_len();
        let dst = self.reserve(padded)?;
        let written = entry.emit(dst)?;
        self.len += written;
        self.count += 1;
        Ok(())
    }

    /// Appends a received entry verbatim (for forwarding, including
    /// experimental entries that have no typed form).
    pub fn push_view(&mut self, entry: &EntryView<'_>) -> Result<(), EmitError> {
        let bytes = entry.as_bytes();
        let padded = crate::bytes::align4(bytes.len());
        let dst = self.reserve(padded)?;
        put_bytes(dst, 0, bytes);
        zero(dst, bytes.len(), padded);
        self.len += padded;
        self.count += 1;
        Ok(())
    }

    /// Entries written so far.
    pub fn count(&self) -> usize {
        usize::from(self.count)
    }

    /// Message length so far, trailer included.
    pub fn len(&self) -> usize {
        self.len + self.signer.trailer_len()
    }

    /// Whether no entry has been written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes still free for entries.
    pub fn remaining(&self) -> usize {
        self.entry_limit - self.len
    }

    /// Writes header, trailer and checksum; returns the finished message.
    pub fn finish(self) -> &'b [u8] {
        let total = self.len + self.signer.trailer_len();
        let msg = self.buf.get_mut(..total).unwrap_or_default();
        self.signer.seal(msg, &self.header, self.count);
        msg
    }
}

fn check_flags(flags: Flags) -> Result<(), EmitError> {
    match flags.reserved_bits() {
        0 => Ok(()),
        bits => Err(EmitError::ReservedFlags(bits)),
    }
}

/// Writes an unauthenticated control message (NACK, RESYNC_REQ, ALIVE or
/// STATUS) into `buf`; `header.kind` must match the body.
pub fn emit_control<'b>(
    buf: &'b mut [u8],
    header: &Header,
    body: &ControlBody,
) -> Result<&'b [u8], EmitError> {
    emit_control_with(buf, header, body, Signer::NONE)
}

/// Writes a control message that ends with an HMAC trailer made with `key`.
#[cfg(feature = "hmac")]
pub fn emit_control_authenticated<'b>(
    buf: &'b mut [u8],
    header: &Header,
    body: &ControlBody,
    key: &AuthKey,
) -> Result<&'b [u8], EmitError> {
    let signer = Signer {
        key: Some(key),
        lifetime: PhantomData,
    };
    emit_control_with(buf, header, body, signer)
}

fn emit_control_with<'b>(
    buf: &'b mut [u8],
    header: &Header,
    body: &ControlBody,
    signer: Signer<'_>,
) -> Result<&'b [u8], EmitError> {
    if header.kind != body.message_type() {
        return Err(EmitError::TypeMismatch);
    }
    check_flags(header.flags)?;
    let total = HEADER_LEN + body.buffer_len() + signer.trailer_len();
    let available = buf.len();
    let msg = buf.get_mut(..total).ok_or(EmitError::BufferTooSmall {
        needed: total,
        available,
    })?;
    body.emit(msg.get_mut(HEADER_LEN..).unwrap_or_default())?;
    // Body length <= 8 + 64 * 8, so the count fits in a byte.
    signer.seal(msg, header, body.count() as u8);
    Ok(msg)
}

/// Parses just the Ver 1 header fields plus Count from a message prefix,
/// without validating the rest (for logging and dispatch).
pub fn peek_header(bytes: &[u8]) -> Result<(Header, u8), DecodeError> {
    Ok((Header::parse(bytes)?, count_of(bytes)))
}
