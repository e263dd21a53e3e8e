//! `ssyncpd`: the SSYNCP daemon. It syncs netfilter connection tracking state from the
//! VRRP master of a sync group to its backups, so that stateful firewalls and NAT keep
//! established flows across a failover.
//!
//! * [`config`]: the `ssyncp { … }` configuration block (own small parser, `FILE:LINE:COL`
//!   errors).
//! * [`transport`]: IP protocol 114 to 224.0.0.81 with TTL 255, bound to the sync
//!   interface; a receive thread checks TTL 255 and feeds the loop.
//! * [`kernel`]: the conntrack backend over ctnetlink (`ctnl`): dump and events on the
//!   master, batched create/update/delete on a backup.
//! * [`convert`]: kernel entries ↔ SSYNCP class-1 entries.
//! * [`coupling`]: the link to vrrpd (role follows one VRRP instance or sync group; the
//!   commit barrier on promotion).
//! * [`daemon`]: the mio loop around the sans-IO [`ssyncp_engine::Engine`], which does
//!   sequencing, NACK repair, bulk resync, refresh and aging.
//! * [`cli`]: the command line.
//!
//! # Dependencies
//!
//! The workspace crates (`ssyncp-wire`, `ssyncp-engine`, `ctnl`, `ha-os` for the interface
//! address), `mio` for the loop, `socket2` for the raw protocol-114 socket (`ha-os` only
//! opens VRRP/AH sockets; `socket2` gives the same options without `unsafe` here),
//! `signal-hook(-mio)` for SIGTERM/SIGINT/SIGUSR1 as a mio source, `tracing` +
//! `tracing-subscriber` for logs on stderr, `thiserror` for errors.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod convert;
pub mod coupling;
pub mod daemon;
pub mod kernel;
pub mod transport;
