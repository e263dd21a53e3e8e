//! Netfilter connection tracking over ctnetlink: the conntrack backend of the SSYNCP daemon.
//!
//! * [`ConnEntry`] is a neutral, owned entry: family, L4 protocol, original and reply
//!   [`Tuple`]s, `IPS_*` status, timeout, mark, zone, TCP state ([`TcpInfo`]) and sequence
//!   adjustment ([`SeqAdjust`]). It maps one-to-one onto the SSYNCP class-1 conntrack entry
//!   (ports, or ICMP id and `type << 8 | code`, via [`L4Key::to_words`]).
//! * [`Conntrack`] dumps the table (`IPCTNL_MSG_CT_GET` + `NLM_F_DUMP`, read to
//!   `NLMSG_DONE`), creates, updates, deletes and flushes entries, and applies large batches
//!   with few system calls ([`Conntrack::apply`]).
//! * [`EventStream`] subscribes to `NFNLGRP_CONNTRACK_NEW`/`UPDATE`/`DESTROY` as a
//!   non-blocking [`mio`] source yielding [`Event`]s; a receive-queue overrun (`ENOBUFS`)
//!   is reported as [`Event::Overrun`] so the caller knows to dump again.
//!
//! # NAT on a replica
//!
//! A NATed entry shows as a reply tuple that is not the inverse of the original
//! ([`ConnEntry::src_nat`], [`ConnEntry::dst_nat`]) plus the status bits `SRC_NAT`/`DST_NAT`.
//! The kernel refuses to set those bits through `CTA_STATUS`, so a create request rebuilds NAT
//! the way `conntrack -I --src-nat/--dst-nat` (libnetfilter_conntrack) and conntrackd do:
//! it sends the original tuple, the *un-NATed* reply tuple (the inverse of the original) and
//! `CTA_NAT_SRC` (address = reply destination, port = reply destination port when changed)
//! and/or `CTA_NAT_DST` (address = reply source, port = reply source port when changed), each
//! with min = max. The kernel's NAT set-up then rewrites the reply tuple and sets the status
//! bits. NAT cannot be changed on an existing entry (`EOPNOTSUPP`), so updates never carry
//! NAT attributes; an update that finds no entry falls back to a full create.
//!
//! Status bits: requests send `SEEN_REPLY|ASSURED` ([`status::SETTABLE`]) plus `CONFIRMED`,
//! as libnetfilter_conntrack does, because the kernel refuses (`EBUSY`) a status that would
//! clear `CONFIRMED` (set on every entry, new ones included, before `CTA_STATUS` is applied)
//! or clear `SEEN_REPLY`/`ASSURED`; if an update is still refused, it is retried without
//! `CTA_STATUS`. TCP flags are applied through a mask, which dumps report as 0: use
//! [`TcpInfo::with_exact_flags`] when copying an entry from one table to another.
//!
//! # Mapping to SSYNCP conntrack entries (class 1)
//!
//! | SSYNCP field | [`ConnEntry`] |
//! |---|---|
//! | type bit0 (IPv6) | [`ConnEntry::family`] |
//! | protocol | [`ConnEntry::protocol`] |
//! | CT status | [`ConnEntry::status`] (only `SEEN_REPLY`/`ASSURED` are applied; NAT comes from the tuples) |
//! | L4 state | [`TcpInfo::state`] for TCP, else 0 |
//! | MARK valid + mark, ZONE valid + zone | [`ConnEntry::mark`], [`ConnEntry::zone`] (`Option`) |
//! | timeout | [`ConnEntry::timeout`] |
//! | orig/reply addresses and port words | [`ConnEntry::orig`], [`ConnEntry::reply`]; ports via [`L4Key::to_words`] / [`L4Key::from_words`] |
//! | option SEQ | [`ConnEntry::seq_adj`] (per direction: correction position, offsets before/after) |
//! | option TCP_WIN | [`TcpInfo`] wscale and flags; build the flags with [`TcpFlags::exact`] |
//!
//! [`ConnEntry::key`] gives the identity (zone, protocol, original tuple) a DELETE needs.
//!
//! # Socket buffers
//!
//! Both sockets ask for a large receive buffer ([`DEFAULT_EVENT_RCVBUF`] = 16 MiB for
//! events, [`DEFAULT_TABLE_RCVBUF`] = 4 MiB for requests) with `SO_RCVBUFFORCE`, which needs
//! CAP_NET_ADMIN and ignores `net.core.rmem_max`; without the capability it falls back to
//! `SO_RCVBUF`, which the kernel caps at `rmem_max` (often 208 KiB). The granted size is
//! reported by `receive_buffer()`. Events can still overrun; the remedy is to re-dump.
//!
//! # Dependencies
//!
//! `libc` for the socket calls and `setns`, `mio` for readiness of the event socket, and
//! `thiserror` for the typed errors. The netlink and nfnetlink encoding and the
//! bounds-checked parsing are written here (module [`wire`]): ctnetlink needs only about a
//! dozen attributes, and the netlink crates would add a framework and several crates of
//! build time for that, while still leaving NAT, zone and sequence adjustment as raw
//! attributes to build by hand. Parsing never panics: every length is checked and bad
//! input gives a [`ParseError`].
//!
//! All system calls live in one private module with `// SAFETY:` comments; the rest of the
//! crate has no `unsafe`.

#![deny(unsafe_code)]

mod codec;
mod consts;
mod entry;
mod error;
mod events;
#[allow(unsafe_code)]
mod sys;
mod table;
pub mod wire;

pub use codec::{MessageKind, decode_entry, message_kind};
pub use consts::{proto, status, tcp_flags, tcp_state};
pub use entry::{
    ConnEntry, EntryKey, Family, L4Key, NatTarget, SeqAdjDir, SeqAdjust, TcpFlags, TcpInfo, Tuple,
};
pub use error::{EncodeError, Error, ParseError};
pub use events::{DEFAULT_EVENT_RCVBUF, Event, EventStream, Groups};
pub use sys::in_netns;
pub use table::{ApplyReport, Conntrack, DEFAULT_TABLE_RCVBUF, Failure, Op};
