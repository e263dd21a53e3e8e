//! Sans-IO VRRP state machine (RFC 3768 + keepalived's FAULT) with sync groups.
//!
//! This crate is the protocol brain that daemons, simulators and other routers link.
//! It does no I/O, reads no clock, spawns nothing and logs nothing: time comes in as an
//! argument ([`Instant`], microseconds from an origin you choose), packets come in as
//! already-validated facts ([`AdvertRx`]), and everything the machine wants done comes
//! out of [`Router::poll_output`] / [`SyncGroup::poll_output`]: adverts to encode and
//! send, effects on the OS (VIPs, GARPs, VMAC, state-sync commit), and events.
//!
//! It follows keepalived's observable behaviour (timers in integer µs, the transition
//! table, AH sequence handling, sync-group rules) and improves on it in two places,
//! both switchable: a sync group takes over all its LANs at skew time when a peer
//! resigns ([`GroupPolicy::fast_takeover`]), and a member forced to MASTER jumps its AH
//! counter ahead so receivers accept its first advert
//! ([`InstanceConfig::ah_resync_slack`]).
//!
//! # Run loop
//!
//! The single-mutation rule: after **every** `handle_*` call, drain `poll_output` until
//! it returns `None`, then ask `poll_timeout` when to wake up.
//!
//! 1. Build a [`Router`] (or a [`SyncGroup`]) and call `handle_admin(now, Admin::Startup)`.
//! 2. Drain `poll_output`: encode and send each [`Output::Advert`] (with `vrrp-wire`),
//!    apply each [`Output::Effect`] in order, report each [`Output::Event`].
//!    If you configured a commit barrier, call `handle_effect_done` when the
//!    [`Effect::SyncCommit`] finished.
//!    Within one drain, a transition's [`Event::StateChanged`] comes first, then the
//!    adverts and effects in the order they must be applied (advert before VIPs, VIPs
//!    before GARPs). Counters are read with [`Router::stats`].
//! 3. Sleep until the earliest of `poll_timeout()` and socket / link / tracker readiness.
//! 4. On a packet: decode and authenticate it with `vrrp-wire`, then `handle_advert`.
//!    On a link change: `handle_link`. On a tracker result: `handle_track`.
//!    When the deadline passed: `handle_timeout(now)` (spurious calls are harmless).
//! 5. Go to 2.
//!
//! ```
//! use core::net::Ipv4Addr;
//! use vrrp_fsm::{Admin, AdvertRx, Duration, Instant, InstanceConfig, Output, Router, State};
//! use vrrp_wire::Vrid;
//!
//! let cfg = InstanceConfig::new(Vrid::new(51).unwrap(), 100, Ipv4Addr::new(10, 0, 0, 2));
//! let mut r = Router::new(cfg).unwrap();
//! let mut now = Instant::ZERO;
//! r.handle_admin(now, Admin::Startup).unwrap();
//! while let Some(_out) = r.poll_output() {} // effects and events of the startup
//! assert_eq!(r.state(), State::Backup);
//!
//! // A master with priority 150 is heard: the down timer restarts.
//! now += Duration::from_millis(500);
//! let rx = AdvertRx {
//!     source: Ipv4Addr::new(10, 0, 0, 1),
//!     priority: 150,
//!     advert_interval: Duration::from_secs(1),
//!     ah_seq: None,
//!     addresses_match: true,
//! };
//! r.handle_advert(now, rx);
//! while let Some(_out) = r.poll_output() {}
//! // Master_Down_Interval for priority 100 is 3 s + 609 375 µs.
//! assert_eq!(r.poll_timeout(), Some(now + Duration::from_micros(3_609_375)));
//!
//! // The master goes silent: at the deadline we take over and advertise.
//! now = r.poll_timeout().unwrap();
//! r.handle_timeout(now);
//! let first = r.poll_output();
//! assert!(matches!(first, Some(Output::Event(_))));
//! assert!(matches!(r.poll_output(), Some(Output::Advert(a)) if a.priority == 100));
//! assert_eq!(r.state(), State::Master);
//! ```
//!
//! # Where this differs from keepalived (all deliberate)
//!
//! * **Fast group takeover** ([`GroupPolicy::fast_takeover`], on by default): a BACKUP
//!   group whose member hears priority 0 takes over every LAN at that member's skew
//!   time, if no other member has heard a live master since. keepalived waits for the
//!   slowest member's Master_Down timer (3.6 s without any VIP in its d-sync capture).
//! * **AH resynchronisation** ([`InstanceConfig::ah_resync_slack`]): a member forced to
//!   MASTER by its group, or promoted for the first time after FAULT, jumps its sequence
//!   counter past anything another sender could have sent meanwhile (two per elapsed
//!   advert interval, plus slack), so peers accept its first advert instead of dropping
//!   adverts as replays for several intervals (seed 003). keepalived receivers accept any
//!   greater number, so this interoperates. A normal takeover still continues at
//!   last-seen + 1, exactly as keepalived.
//! * **AH lockstep tie-break:** two masters whose counters advance in step would drop
//!   each other's adverts forever; the master with the higher address steps its counter
//!   one ahead when it drops an advert carrying exactly its own value.
//! * **AH owner startup:** with AH, an owner listens for one advert interval + its skew
//!   before becoming master (to learn the sequence) instead of going master at once and
//!   being ignored as a replay for about one interval.
//! * Tracker weights apply to sync-group members (keepalived silently ignores them);
//!   keep them equal across members. Not implemented: keepalived's lowering of a
//!   duplicate owner to 254, `timer_expired_backup`, adding or removing group members
//!   on reload (rebuild the group instead).
//!
//! # Dependencies
//!
//! `vrrp-wire` for the VRID type and keepalived's AH sequence counter (kept here across
//! transitions), `thiserror` (no_std) for [`ConfigError`], and `serde` only behind the
//! `serde` feature so traces of inputs and outputs can be recorded. `no_std` + `alloc`.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod config;
mod group;
mod instance;
mod router;
use sansio_time as time;
mod types;

pub use config::{
    AuthKind, ConfigError, DEFAULT_AH_RESYNC_SLACK, DEFAULT_PRIORITY, GarpConfig, InstanceConfig,
    OWNER_PRIORITY, TrackerConfig, master_down_interval, skew_time,
};
pub use group::{GroupPolicy, SyncGroup};
pub use instance::MemberId;
pub use router::Router;
pub use time::{Duration, Instant};
pub use types::{
    Admin, AdvertRx, AdvertTx, DropReason, Effect, EffectId, EffectOutcome, Event, LinkState,
    Output, Reason, State, Stats, TrackId, TrackStatus,
};

#[cfg(feature = "serde")]
mod serde_vrid {
    use vrrp_wire::Vrid;

    pub(crate) fn serialize<S: serde::Serializer>(v: &Vrid, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(v.get())
    }

    pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vrid, D::Error> {
        let raw = <u8 as serde::Deserialize>::deserialize(d)?;
        Vrid::new(raw).ok_or_else(|| serde::de::Error::custom("VRID 0 is invalid"))
    }
}
