//! Link-state probes: MII registers, ethtool, interface flags and netlink link events.
//!
//! VRRP's FAULT state exists because a dead cable must stop a router from claiming mastership,
//! and the kernel does not always tell userspace that a cable is gone: depending on the driver,
//! the truth is in the PHY's MII registers, in ethtool's `ETHTOOL_GLINK`, or only in the
//! interface flags. This crate offers all of them, plus event-driven netlink, behind one answer:
//! [`LinkStatus`] — up or down, which [`Method`] decided it, and the raw [`Evidence`].
//!
//! # Backends
//!
//! * **Netlink** ([`NetlinkMonitor`]): an `RTNLGRP_LINK` subscription, non-blocking, registrable
//!   with mio. Reports appear/vanish and changes of up/down (`IFF_UP` and `IFF_RUNNING`, as
//!   keepalived decides), operstate and carrier as [`NetlinkEvent`]s. On `ENOBUFS` (lost
//!   notifications) it reports [`NetlinkEvent::Overrun`] and re-dumps the link table, reporting
//!   links that changed or vanished meanwhile. Only messages from the kernel are accepted, and
//!   only `AF_UNSPEC` link messages (bridge-port messages are not device state).
//! * **Polled** ([`PollMethod`]): MII (`SIOCGMIIPHY` + `SIOCGMIIREG`, BMSR read twice because
//!   its link bit latches low; see [`mii`]), ethtool (`ETHTOOL_GLINK`) and flags
//!   (`SIOCGIFFLAGS`). As in keepalived, an MII or ethtool "up" must also be confirmed by
//!   `IFF_UP|IFF_RUNNING`. [`choose_method`] applies keepalived's fallback order MII → ethtool
//!   → flags per interface and reports why each earlier method was refused ([`MethodChoice`]).
//!   [`Poller`] probes on a schedule without reading the clock: the caller passes `now` to
//!   [`Poller::poll_due`] and sleeps until [`Poller::next_deadline`].
//!
//! All backends implement [`LinkProbe`]. The daemon feeds `status.is_up()` from
//! [`PollEvent::Changed`] or [`NetlinkEvent::Link`] to the VRRP state machine's
//! `handle_link(now, up)`.
//!
//! # Driving it from a mio loop
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use linkprobe::{IfName, IoctlSocket, NetlinkEvent, NetlinkMonitor, NetlinkOptions, PollEvent, Poller};
//! use mio::{Events, Interest, Poll, Token};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut monitor = NetlinkMonitor::open(&NetlinkOptions::default())?;
//! let mut poll = Poll::new()?;
//! poll.registry().register(&mut monitor, Token(0), Interest::READABLE)?;
//! let mut poller = Poller::new(IoctlSocket::open()?, Duration::from_secs(1));
//! let choice = poller.watch(&IfName::new("eth0")?, None, Instant::now())?;
//! println!("{choice}"); // e.g. "eth0: using ETHTOOL; MII refused: ..."
//! let (mut events, mut nl, mut polled) = (Events::with_capacity(64), Vec::new(), Vec::new());
//! loop {
//!     let timeout = poller.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
//!     poll.poll(&mut events, timeout)?;
//!     let now = Instant::now();
//!     monitor.drain(&mut nl)?;
//!     for event in nl.drain(..) {
//!         if let NetlinkEvent::Link(change) = event {
//!             // fsm.handle_link(now, change.status.is_up()) for the instance on change.ifname
//!             let _ = (now, change);
//!         }
//!     }
//!     poller.poll_due(now, &mut polled);
//!     for event in polled.drain(..) {
//!         if let PollEvent::Changed { ifname, status, .. } = event {
//!             let _ = (ifname, status.is_up());
//!         }
//!     }
//! }
//! # }
//! ```
//!
//! # Layout
//!
//! Pure logic is separate from system calls and tested with fakes: [`mii`] (BMSR latch),
//! [`choose_method`]/[`probe_with`] (generic over the [`IfIoctl`] seam), [`netlink::parse`] and
//! [`LinkTable`] (message parsing, dump/overrun bookkeeping). Every `unsafe` block lives in the
//! private `sys` module. Sockets can be opened inside another network namespace
//! ([`IoctlSocket::open_in_netns`], [`NetlinkOptions::netns`]): a short-lived thread enters the
//! namespace and creates the socket, which stays bound to it, so the caller's threads never move.
//!
//! # Dependencies
//!
//! * `libc` for the ioctls, netlink socket calls and `setns`.
//! * `mio` so [`NetlinkMonitor`] is a `mio::event::Source` for the daemon's loop.
//! * `thiserror` for the typed errors ([`ProbeError`], [`IfNameError`], [`ParseError`]).
//!
//! The rtnetlink parsing is hand-rolled rather than taken from `netlink-packet-route`: link
//! monitoring needs only `nlmsghdr`, `ifinfomsg` and three attributes, which fit in a few hundred
//! bounds-checked lines, keep the build lean, and avoid pinning a crate whose API broke recently.

pub mod error;
pub mod ifname;
pub mod mii;
pub mod netlink;
pub mod poller;
pub mod probe;
pub mod status;
mod sys;

pub use error::{Op, ProbeError};
pub use ifname::{IfName, IfNameError, MAX_IFNAME_LEN};
pub use netlink::parse::ParseError;
pub use netlink::{LinkChange, LinkTable, NetlinkEvent, NetlinkMonitor, NetlinkOptions};
pub use poller::{DEFAULT_INTERVAL, MIN_INTERVAL, PollEvent, Poller};
pub use probe::{
    EthtoolProbe, FlagsProbe, IfIoctl, IoctlSocket, LinkProbe, MethodChoice, MiiProbe, Refusal,
    check_method, choose_method, probe_with,
};
pub use status::{Evidence, LinkState, LinkStatus, Method, OperState, PollMethod};
