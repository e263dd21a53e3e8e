//! OS effects for the VRRP and SSYNCP daemons: raw sockets, virtual addresses, gratuitous
//! ARP, VMAC interfaces.
//!
//! This crate moves bytes and performs effects; it knows nothing about the VRRP codec.
//! The daemon's codec builds whole IPv4 packets (header included), this crate sends them
//! and hands received ones back, keyed by interface and VRID.
//!
//! * [`rx`]: the per-interface receive socket pool (raw protocol 112 and 51, joined to
//!   224.0.0.18 with `ip_mreqn`, `SO_BINDTODEVICE`, `IP_MULTICAST_ALL` 0, loop off; unicast
//!   sockets bound to `unicast_src_ip`), [`vrid_of`] and the [`Demux`] table.
//! * [`tx`]: the `IP_HDRINCL` sender (the kernel keeps a non-zero IP ID, so AH ICVs stay
//!   valid), with `sendmmsg` batching.
//! * [`Rtnetlink`]: virtual addresses (add / delete, idempotent, list), interface lookup,
//!   macvlan VMAC creation and deletion.
//! * [`garp`]: the 42-byte gratuitous ARP frame (a pure function) and its `AF_PACKET` sender.
//! * [`Effects`]: the daemon-facing trait, with [`LinuxEffects`] (the real thing) and
//!   [`RecordingEffects`] (a fake for daemon tests).
//! * [`iface`]: interface name validation and `SIOCGIF*` lookups (index, MAC, flags).
//! * [`route`]: IPv4 routes installed while master (keepalived's `virtual_routes`),
//!   protocol 18.
//! * [`watch`]: inotify on the directories of tracked files (keepalived's `track_file`).
//!
//! Every socket is non-blocking and implements [`mio::event::Source`], so the daemon runs
//! one mio loop without threads; receive methods drain until `EAGAIN`. The rtnetlink
//! socket is blocking with a receive timeout: address changes are rare and must complete
//! before the next step (a VIP must be present before its GARP is sent).
//!
//! Each socket answers in the network namespace it was created in, so a test can build
//! its sockets in a namespace and use them from any thread.
//!
//! # Example: one mio loop
//!
//! ```no_run
//! use ha_os::{Demux, IpProtocol, RxPool, Sender, VRRP_GROUP};
//! use mio::{Events, Poll, Token};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut pool = RxPool::new();
//! let rx = pool.multicast("eth0", IpProtocol::Vrrp, VRRP_GROUP)?; // shared by all VRIDs
//! let ifindex = pool.socket(rx).map(|s| s.ifindex()).unwrap_or(0);
//! let mut demux = Demux::new();
//! demux.insert(ifindex, IpProtocol::Vrrp, 51, "VI_1");
//! let sender = Sender::open("eth0")?;
//!
//! let mut poll = Poll::new()?;
//! pool.register(poll.registry(), rx, Token(0))?;
//! let mut events = Events::with_capacity(64);
//! loop {
//!     poll.poll(&mut events, None)?;
//!     for _event in events.iter() {
//!         pool.drain(rx, |packet| {
//!             if let Some(instance) = demux.route(&packet) {
//!                 println!("{instance}: {} bytes from {}", packet.bytes.len(), packet.source);
//!             }
//!         })?;
//!     }
//!     # let advert: &[u8] = &[];
//!     // The codec builds the whole IPv4 packet; the kernel keeps its non-zero ID.
//!     sender.send(advert)?;
//!     # break;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Dependencies
//!
//! * `libc`: the system calls and kernel structures; all `unsafe` lives in the private
//!   `sys` module, each block with a `SAFETY` comment.
//! * `mio`: [`mio::event::Source`] for the sockets (the daemons run a mio loop).
//! * `thiserror`: the typed [`OsError`].
//!
//! rtnetlink is hand-rolled (module `nlwire`, about 300 lines, bounds-checked and
//! unit-tested) instead of `netlink-packet-route` + `netlink-packet-core` +
//! `netlink-sys`: we need five message types (`RTM_NEWADDR`, `RTM_DELADDR`,
//! `RTM_GETADDR`, `RTM_NEWLINK`/`RTM_SETLINK` for macvlan, `RTM_DELLINK`, `RTM_GETLINK`)
//! plus ack/error and extended-ack parsing. Those crates bring several more crates into
//! the build (and had an API break in 2026), which costs build time on small CI machines
//! for a small slice of their surface.

#![deny(unsafe_code)]

/// Implements [`mio::event::Source`] for a type by delegating to the raw descriptor in
/// `$field` (an `OwnedFd` or a `File`), so every socket joins the daemon's one mio loop.
macro_rules! fd_source {
    ($ty:ty, $field:ident) => {
        impl mio::event::Source for $ty {
            fn register(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                use std::os::fd::AsRawFd;
                mio::unix::SourceFd(&self.$field.as_raw_fd()).register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &mio::Registry,
                token: mio::Token,
                interests: mio::Interest,
            ) -> std::io::Result<()> {
                use std::os::fd::AsRawFd;
                mio::unix::SourceFd(&self.$field.as_raw_fd()).reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &mio::Registry) -> std::io::Result<()> {
                use std::os::fd::AsRawFd;
                mio::unix::SourceFd(&self.$field.as_raw_fd()).deregister(registry)
            }
        }
    };
}
pub(crate) use fd_source;

pub mod addr;
pub mod effects;
pub mod error;
pub mod garp;
pub mod iface;
pub mod link;
mod nlwire;
pub mod route;
pub mod rtnl;
pub mod rx;
#[allow(unsafe_code)] // the only module with `unsafe`: thin system-call wrappers
mod sys;
pub mod tx;
pub mod watch;

pub use addr::{AddOutcome, AddressScope, InterfaceAddress, VirtualAddress};
pub use effects::{Effects, LinuxEffects, Recorded, RecordingEffects};
pub use error::{Operation, OsError, Result};
pub use garp::{GarpSender, garp_frame};
pub use iface::InterfaceQuery;
pub use link::{
    CreateOutcome, DeleteOutcome, LinkInfo, MacvlanMode, MacvlanSpec, vmac_address,
    vmac_interface_name,
};
pub use route::{Route, RouteType};
pub use rtnl::Rtnetlink;
pub use rx::{
    Demux, IpProtocol, ReceivedPacket, RxBinding, RxKey, RxPool, RxSocket, VRRP_GROUP, vrid_of,
};
pub use tx::Sender;
