//! SSYNCP (Stateful Synchronization Protocol) wire codec, versions 0 and 1.
//!
//! SSYNCP carries connection state (IPVS connections, netfilter conntrack
//! flows) from the VRRP master of a sync group to its backups, as IP
//! protocol 114 to 224.0.0.81 with TTL 255. This crate only encodes and
//! decodes messages: it does no I/O, reads no clock and allocates nothing.
//!
//! # Versions
//!
//! * **Ver 0** ([`v0`]) is the frame of A. Cassen's 2002 sketch: an 8-byte
//!   header (Count, Sync ID, Size, Reserved = 0, Checksum) followed by
//!   24-byte IPVS v0 connection entries, each followed by a 24-byte SEQ block
//!   when its flags carry `0x0600`. At most 50 entries and 1208 bytes per
//!   message (so 25 entries when all carry SEQ). No IPv6, no sequence
//!   numbers, no authentication. SEQ blocks are big-endian here; the kernel's
//!   own v0 sent them in host byte order.
//! * **Ver 1** ([`v1`]) is this project's extension: the same first 8 bytes
//!   with the version in the old Reserved bits, then Sender ID, Epoch and
//!   Sequence (20-byte header); IPVS entries byte-identical to the kernel's
//!   v1 sync entries, conntrack flow entries, DELETEs, TLV options; NACK,
//!   RESYNC_REQ, ALIVE and STATUS control bodies; an optional
//!   HMAC-SHA256-128 trailer; and a packer that fills messages to an MTU.
//!
//! A receiver tells them apart by the version nibble (high nibble of byte
//! 4): see [`parse_any`]. Both versions use the RFC 1071 Internet checksum
//! over the whole message with the checksum field zero ([`checksum`]).
//!
//! # Layers
//!
//! Borrowed views (`MessageView`, `EntryView`, `ConnView`) check every length
//! once and then read fields without copying; iterators over them cannot
//! panic. Owned representations (`Conn`, `EntryRepr`, `ControlBody`,
//! `Header`) have `parse`/`emit`/`buffer_len`. Writers fill a caller's
//! `&mut [u8]`. Every rejection reason is its own [`DecodeError`] variant.
//!
//! # Example
//!
//! ```
//! use core::net::Ipv4Addr;
//! use ssyncp_wire::v1::{
//!     EntryBody, EntryOptions, EntryRepr, Flags, Header, IpvsAddrs, IpvsConn, MessageType,
//!     MessageWriter,
//! };
//! use ssyncp_wire::{AnyMessage, parse_any};
//!
//! let header = Header {
//!     sync_id: 51,
//!     kind: MessageType::Data,
//!     flags: Flags::default(),
//!     sender_id: u32::from(Ipv4Addr::new(192, 0, 2, 1)),
//!     epoch: 1_700_000_000,
//!     sequence: 1,
//! };
//! let conn = EntryRepr {
//!     protocol: 6,
//!     delete: false,
//!     body: EntryBody::Ipvs(IpvsConn {
//!         flags: 0,
//!         state: 1,
//!         cport: 40000,
//!         vport: 80,
//!         dport: 80,
//!         fwmark: 0,
//!         timeout: 900,
//!         addrs: IpvsAddrs::V4 {
//!             caddr: Ipv4Addr::new(198, 51, 100, 9),
//!             vaddr: Ipv4Addr::new(192, 0, 2, 80),
//!             daddr: Ipv4Addr::new(10, 0, 0, 2),
//!         },
//!     }),
//!     options: EntryOptions::default(),
//! };
//!
//! let mut buf = [0u8; 1500];
//! let mut writer = MessageWriter::new(&mut buf, 1500, &header)?;
//! while writer.push(&conn).is_ok() {}
//! let message = writer.finish();
//! assert_eq!(message.len(), 20 + 40 * 36); // 40 IPVS v4 entries at MTU 1500
//!
//! let AnyMessage::V1(view) = parse_any(message)? else { unreachable!() };
//! assert_eq!(view.entries().count(), 40);
//! assert_eq!(view.entries().next().unwrap().repr(), Ok(conn));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Dependencies
//!
//! * `thiserror` (no default features) derives the error types, in `no_std`.
//! * `ring` (feature `hmac`, on by default) computes HMAC-SHA256 for the
//!   Ver 1 trailer. It is the HMAC implementation named in the project's
//!   design card, is widely audited, and works without `std` or `alloc`
//!   here; the truncated MAC is compared in constant time. Without the
//!   feature, trailers are still parsed, but cannot be made or verified.

#![no_std]
#![forbid(unsafe_code)]

mod bytes;
pub mod checksum;
mod error;
mod seq;
pub mod v0;
pub mod v1;

#[doc(hidden)]
pub mod fuzz_support;

pub use error::{AuthError, DecodeError, EmitError, EntryError};
pub use seq::{SEQ_LEN, SeqAdjust, SeqOptions};

/// IP protocol number SSYNCP is carried in ("any 0-hop protocol").
pub const IPPROTO_SSYNCP: u8 = 114;
/// IPv4 multicast group SSYNCP is sent to.
pub const MULTICAST_GROUP: core::net::Ipv4Addr = core::net::Ipv4Addr::new(224, 0, 0, 81);
/// TTL senders use; receivers drop anything else.
pub const TTL: u8 = 255;

/// A validated message of either version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnyMessage<'a> {
    /// A Ver 0 (2002 sketch) message.
    V0(v0::MessageView<'a>),
    /// A Ver 1 message.
    V1(v1::MessageView<'a>),
}

/// Parses a message of either version, dispatching on the version nibble
/// (high nibble of byte 4) after checking Size and the checksum.
pub fn parse_any(bytes: &[u8]) -> Result<AnyMessage<'_>, DecodeError> {
    match bytes.get(4).map(|b| b >> 4) {
        Some(v1::VERSION) => v1::MessageView::parse(bytes).map(AnyMessage::V1),
        _ => v0::MessageView::parse(bytes).map(AnyMessage::V0),
    }
}
