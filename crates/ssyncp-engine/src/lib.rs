//! Sans-IO SSYNCP session engine: the reliability layer of connection-state
//! sync between the VRRP master of a sync group and its backups.
//!
//! [`Engine`] serves one Sync ID. Its role follows VRRP ([`Role`]):
//!
//! * **MASTER** takes local changes ([`Change`], e.g. conntrack events),
//!   stores them in its table and packs them into DATA messages filled to
//!   the MTU (a partly filled one leaves after [`Config::flush_delay`]).
//!   Every message carries a sequence number within this node's epoch and
//!   stays in a bounded retransmit ring. NACKed messages are resent
//!   verbatim; NACKs for messages no longer in the ring, RESYNC_REQs and the
//!   promotion itself start a paced bulk (BULK_START … BULK_END). Every
//!   entry is re-advertised once per [`Config::refresh_period`], and ALIVE
//!   goes out when nothing else was sent for [`Config::alive_interval`]
//!   (so a lost tail shows up as a sequence gap).
//! * **BACKUP** verifies every datagram (checksum, Sync ID, HMAC when keys
//!   are configured, sender filter, epoch, replay window) and applies each
//!   sender's messages strictly in sequence order. Out-of-order messages
//!   wait while the gap is NACKed; a gap that cannot be repaired is given up
//!   and a resync requested. A complete bulk removes every entry it did not
//!   carry (so lost DELETEs cannot leave stale state), and entries that are
//!   not refreshed age out. Changes for the kernel come out as [`Apply`].
//! * **FAULT** neither sends nor applies.
//!
//! On promotion the engine applies everything it has received, emits
//! [`Output::Commit`] (the VRRP side installs the VIPs only after the daemon
//! has written all preceding [`Apply`] outputs), then starts a new epoch and
//! announces a bulk.
//!
//! # Run loop
//!
//! The engine does no I/O, reads no clock and keeps no threads: the caller
//! passes `now` into every `handle_*` call, drains [`Engine::poll_output`]
//! until it returns `None`, and calls [`Engine::handle_timeout`] at
//! [`Engine::poll_timeout`]:
//!
//! ```text
//! loop {
//!     wait for a datagram, a local change, a role change, or poll_timeout()
//!     engine.handle_datagram(now, src, bytes) / handle_local_change / handle_role
//!     engine.handle_timeout(now)        // harmless when nothing is due
//!     while let Some(out) = engine.poll_output() { act on it, in order }
//! }
//! ```
//!
//! A master and a backup connected by a perfect in-memory "network":
//!
//! ```
//! use core::net::{IpAddr, Ipv4Addr};
//! use ssyncp_engine::{Apply, Change, Config, Duration, Engine, Entry, Instant, Output, Role};
//! use ssyncp_wire::v1::{CtFlow, CtTuple, CtTuples, EntryBody};
//!
//! fn flow(port: u16) -> Entry {
//!     let (client, server) = (Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(192, 0, 2, 80));
//!     Entry {
//!         protocol: 6,
//!         body: EntryBody::Conntrack(CtFlow {
//!             status: 0x6, // SEEN_REPLY | ASSURED
//!             l4_state: 3, // ESTABLISHED
//!             zone: None,
//!             timeout: 3600,
//!             mark: None,
//!             tuples: CtTuples::V4 {
//!                 orig: CtTuple { src: client, dst: server, sport: port, dport: 443 },
//!                 reply: CtTuple { src: server, dst: client, sport: 443, dport: port },
//!             },
//!         }),
//!         options: Default::default(),
//!     }
//! }
//!
//! let addr = |host| IpAddr::V4(Ipv4Addr::new(10, 0, 0, host));
//! let mut now = Instant::ZERO;
//! let mut master = Engine::new(Config::new(51, 1, 1_700_000_000), now)?;
//! let mut backup = Engine::new(Config::new(51, 2, 1_700_000_000), now)?;
//! master.handle_role(now, Role::Master);
//! for port in 40_000..40_100 {
//!     master.handle_local_change(now, Change::Upsert(flow(port)))?;
//! }
//!
//! let mut kernel = std::collections::BTreeMap::new(); // what the backup's daemon writes
//! for _ in 0..10 {
//!     now += Duration::from_millis(5);
//!     master.handle_timeout(now);
//!     backup.handle_timeout(now);
//!     // Every datagram reaches the other node (multicast and unicast alike).
//!     while let Some(out) = master.poll_output() {
//!         if let Output::Transmit(tx) = out {
//!             backup.handle_datagram(now, addr(1), &tx.bytes);
//!         }
//!     }
//!     while let Some(out) = backup.poll_output() {
//!         match out {
//!             Output::Transmit(tx) => master.handle_datagram(now, addr(2), &tx.bytes),
//!             Output::Apply(Apply::Create(entry) | Apply::Upsert(entry)) => {
//!                 kernel.insert(entry.key(), entry);
//!             }
//!             Output::Apply(Apply::Delete(key)) => { kernel.remove(&key); }
//!             Output::Commit | Output::Event(_) => {}
//!         }
//!     }
//! }
//! assert_eq!(kernel.len(), 100);
//! assert!(backup.is_in_sync());
//! let table = |e: &Engine| e.entries().collect::<std::collections::BTreeMap<_, _>>();
//! assert_eq!(table(&master), table(&backup));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design notes
//!
//! * The table is a slab of entries with a hash index of slot numbers (keys
//!   are recomputed from the entries, so each is stored once; the hash is
//!   seeded by [`Config::hash_seed`]). The bulk, the refresh walk and the
//!   aging scan each keep a cursor (the last slot visited) instead of a
//!   snapshot, so they are paced without copying the table; entries never
//!   move, and entries added behind a cursor are carried by DATA.
//! * A bulk is applied as mark-and-sweep: entries not written since the
//!   BULK_START (by the bulk or by DATA interleaved with it) are removed at
//!   BULK_END, but only when every message in between was applied.
//! * Epochs: each promotion uses the next epoch after the last one this
//!   engine used (starting from [`Config::epoch`]). Receivers reject lower
//!   epochs, so the base passed in at start must exceed every epoch used by
//!   earlier runs (Unix seconds at start does, unless the node was promoted
//!   more often than once per second on average).
//! * STATUS (optional in the spec) is neither sent nor used; received
//!   STATUS messages are authenticated and replay-checked, then ignored.
//! * "The sender says the gap cannot be repaired" takes the form the spec
//!   gives it: a NACK for messages no longer in the ring is answered with a
//!   bulk, and a receiver that sees BULK_START beyond a hole gives the hole
//!   up at once (the bulk supersedes it).
//! * A receiver that first hears a sender at sequence ≤ 256 of its epoch
//!   follows it from sequence 1 (NACKing the start) instead of asking for a
//!   resync; a sender heard mid-epoch triggers a RESYNC_REQ.
//!
//! # Dependencies
//!
//! * `ssyncp-wire` (with its `hmac` feature, i.e. `ring`): the message
//!   codec (parsing, packing, HMAC-SHA256-128 trailer). The engine speaks
//!   Ver 1 only; Ver 0 datagrams are counted as unsupported.
//! * `thiserror` (no default features): the error types, in `no_std`.
//!
//! The crate is `no_std` with `alloc`. The table, the retransmit ring, the
//! reorder buffers, the replay windows and the set of tracked senders each
//! have a configured bound; the output queue is emptied by the caller after
//! every call.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod config;
mod counters;
mod engine;
mod entry;
mod output;
mod replay;
mod table;
use sansio_time as time;

pub use config::{Config, ConfigError};
pub use counters::Counters;
pub use engine::Engine;
pub use entry::{ByteOptions, ChangeError, Entry, EntryKey, OwnedOptions};
pub use output::{
    Apply, Change, Destination, Event, Output, Payload, ResyncReason, Role, Transmit,
};
pub use time::{Duration, Instant};
