//! Instance configuration, validation and the RFC 3768 timer formulas.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use crate::time::Duration;
use crate::types::{TrackId, TrackStatus};
use vrrp_wire::Vrid;

/// Priority of the address owner; it always wins and never waits to become master.
pub const OWNER_PRIORITY: u8 = 255;
/// Default priority of a non-owner (keepalived's default).
pub const DEFAULT_PRIORITY: u8 = 100;

/// Skew_Time for a priority: `(256 − priority)·1 000 000 / 256` µs, integer division as
/// keepalived does it. It is *not* multiplied by the advert interval (VRRPv2).
///
/// Priority 0 is treated as 1 (a resigning master has no skew of its own).
pub const fn skew_time(priority: u8) -> Duration {
    let p = if priority == 0 { 1 } else { priority as u64 };
    Duration::from_micros((256 - p) * 1_000_000 / 256)
}

/// Master_Down_Interval: `down_timer_adverts · advert_interval + Skew_Time(priority)`.
pub const fn master_down_interval(
    advert_interval: Duration,
    down_timer_adverts: u8,
    priority: u8,
) -> Duration {
    Duration::from_micros(
        advert_interval
            .saturating_mul(down_timer_adverts as u64)
            .as_micros()
            .saturating_add(skew_time(priority).as_micros()),
    )
}

/// Which authentication an instance uses; the FSM needs only the kind (keys live in
/// the codec), because AH adds sequence-number state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AuthKind {
    /// No authentication.
    #[default]
    None,
    /// Simple password (checked by the codec only).
    Pass,
    /// IPsec AH: the FSM keeps keepalived's sequence counter / replay watermark.
    Ah,
}

impl From<&vrrp_wire::Auth> for AuthKind {
    fn from(a: &vrrp_wire::Auth) -> Self {
        match a {
            vrrp_wire::Auth::None => AuthKind::None,
            vrrp_wire::Auth::Pass(_) => AuthKind::Pass,
            vrrp_wire::Auth::Ah(_) => AuthKind::Ah,
        }
    }
}

/// Gratuitous-ARP schedule (keepalived's `garp_*` settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GarpConfig {
    /// GARPs per VIP sent at once on becoming master (`garp_master_repeat`, default 5).
    pub master_repeat: u32,
    /// Delay of the second burst after becoming master (`garp_master_delay`, default 5 s;
    /// zero disables the second burst).
    pub master_delay: Duration,
    /// Period of refresh GARPs while master (`garp_master_refresh`, default none).
    pub refresh: Option<Duration>,
    /// GARPs per VIP per refresh (`garp_master_refresh_repeat`, default 1).
    pub refresh_repeat: u32,
    /// GARPs per VIP after a lower-priority advert (`garp_lower_prio_repeat`, default 5).
    pub lower_prio_repeat: u32,
    /// Delay of the second burst after a lower-priority advert (`garp_lower_prio_delay`,
    /// default 5 s; zero disables it).
    pub lower_prio_delay: Duration,
}

impl Default for GarpConfig {
    fn default() -> Self {
        GarpConfig {
            master_repeat: 5,
            master_delay: Duration::from_secs(5),
            refresh: None,
            refresh_repeat: 1,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }
}

/// A tracked object (interface, script, file…) that changes the effective priority or
/// forces FAULT, as keepalived's `track_interface` / `track_script` weights do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackerConfig {
    /// Identifier used in [`handle_track`](crate::Router::handle_track).
    pub id: TrackId,
    /// `0`: FAULT while down. `> 0`: added while up. `< 0`: added (subtracted) while down.
    /// Range −253..=253. Ignored for owners (priority 255).
    pub weight: i16,
    /// Swap the meaning of up and down (keepalived `reverse`).
    pub reverse: bool,
    /// The status assumed before the first report (a tracked value for files); `None`
    /// means "not yet known": a weight-0 tracker holds the instance in FAULT until it
    /// reports (keepalived's script initialisation), a weighted one contributes nothing.
    pub initial: Option<TrackStatus>,
}

impl TrackerConfig {
    /// A weight-0 tracker (FAULT while down) that starts up.
    pub const fn fault_when_down(id: TrackId) -> Self {
        TrackerConfig {
            id,
            weight: 0,
            reverse: false,
            initial: Some(TrackStatus::Up),
        }
    }

    /// A weighted tracker that starts up.
    pub const fn weighted(id: TrackId, weight: i16) -> Self {
        TrackerConfig {
            id,
            weight,
            reverse: false,
            initial: Some(TrackStatus::Up),
        }
    }
}

/// Configuration of one VRRP instance (one VRID on one interface).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InstanceConfig {
    /// Virtual router identifier.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_vrid"))]
    pub vrid: Vrid,
    /// Base priority 1..=255 (255 = address owner).
    pub priority: u8,
    /// Advertisement_Interval (VRRPv2: whole seconds; default 1 s).
    pub advert_interval: Duration,
    /// Adverts missed before the master is declared down (keepalived
    /// `down_timer_adverts`, default 3, 1..=100).
    pub down_timer_adverts: u8,
    /// Preempt_Mode (default true); `false` is keepalived's `nopreempt`.
    pub preempt: bool,
    /// keepalived `preempt_delay`: window during which a lower-priority master is still
    /// accepted after it is first heard (zero = none).
    pub preempt_delay: Duration,
    /// Our primary (source) address, used for the equal-priority tie-break.
    pub source: Ipv4Addr,
    /// Virtual addresses installed while master (also the GARP targets).
    pub vips: Vec<IpAddr>,
    /// Authentication kind.
    pub auth: AuthKind,
    /// Gratuitous-ARP schedule.
    pub garp: GarpConfig,
    /// Do not re-advertise at once when a master hears a lower priority
    /// (keepalived `lower_prio_no_advert`; default false).
    pub lower_prio_no_advert: bool,
    /// Send one more advert before yielding to a higher priority
    /// (keepalived `higher_prio_send_advert`; default false).
    pub higher_prio_send_advert: bool,
    /// Drop adverts whose address list differs from ours unless sent by an owner
    /// (keepalived ≤ 2.3.2). Default false: accept and count (keepalived ≥ 2.3.3, RFC 9568).
    pub drop_on_address_mismatch: bool,
    /// keepalived `state MASTER` for a non-owner: a sync-group member then waits only one
    /// advert interval + 1/256 s for its first timeout.
    pub initial_state_master: bool,
    /// Create a virtual MAC interface (effects `VmacUp` / `VmacDown`).
    pub use_vmac: bool,
    /// Tracked objects.
    pub trackers: Vec<TrackerConfig>,
    /// Wait for the `SyncCommit` effect to be acknowledged (or this timeout) before
    /// installing VIPs on becoming master. `None` (default): no barrier.
    pub commit_barrier: Option<Duration>,
    /// AH only: on a promotion forced by the sync group, or the first promotion after
    /// FAULT, jump the sequence counter ahead by a bound on what any other sender could
    /// have sent since we were last in sync, plus this slack. `None` = keepalived's
    /// behaviour (continue at last-seen + 1).
    pub ah_resync_slack: Option<u32>,
    /// A master may send its periodic advert up to this much early, so that the adverts
    /// of many instances due within this window leave in one wake-up (and reach a backup
    /// in one burst). Zero (default): exactly on time. At most a tenth of the interval;
    /// receivers only ever see adverts a little early, which never shortens their
    /// Master_Down_Interval margin.
    pub advert_slack: Duration,
}

impl InstanceConfig {
    /// A configuration with keepalived's defaults for everything but the identity.
    pub fn new(vrid: Vrid, priority: u8, source: Ipv4Addr) -> Self {
        InstanceConfig {
            vrid,
            priority,
            advert_interval: Duration::from_secs(1),
            down_timer_adverts: 3,
            preempt: true,
            preempt_delay: Duration::ZERO,
            source,
            vips: Vec::new(),
            auth: AuthKind::None,
            garp: GarpConfig::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            drop_on_address_mismatch: false,
            initial_state_master: false,
            use_vmac: false,
            trackers: Vec::new(),
            commit_barrier: None,
            ah_resync_slack: Some(DEFAULT_AH_RESYNC_SLACK),
            advert_slack: Duration::ZERO,
        }
    }

    /// Checks the configuration the way keepalived's config validation would refuse it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.priority == 0 {
            return Err(ConfigError::PriorityZero);
        }
        if self.advert_interval.is_zero() {
            return Err(ConfigError::AdvertIntervalZero);
        }
        if !(1..=100).contains(&self.down_timer_adverts) {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        if self.priority == OWNER_PRIORITY && !self.preempt {
            return Err(ConfigError::OwnerWithoutPreempt);
        }
        if !self.preempt && !self.preempt_delay.is_zero() {
            return Err(ConfigError::NopreemptWithDelay);
        }
        if self.advert_slack.as_micros() * 10 > self.advert_interval.as_micros() {
            return Err(ConfigError::AdvertSlack);
        }
        for (i, t) in self.trackers.iter().enumerate() {
            if !(-253..=253).contains(&t.weight) {
                return Err(ConfigError::TrackerWeight(t.id, t.weight));
            }
            if self.trackers[..i].iter().any(|o| o.id == t.id) {
                return Err(ConfigError::DuplicateTracker(t.id));
            }
        }
        Ok(())
    }
}

/// Default extra margin for the AH resynchronisation jump.
pub const DEFAULT_AH_RESYNC_SLACK: u32 = 8;

/// A configuration the machine refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Priority 0 is reserved for a resigning master.
    #[error("priority must be 1..=255, got 0")]
    PriorityZero,
    /// The advert interval must be positive.
    #[error("advert interval must be positive")]
    AdvertIntervalZero,
    /// `down_timer_adverts` outside 1..=100.
    #[error("down_timer_adverts must be 1..=100, got {0}")]
    DownTimerAdverts(u8),
    /// An owner (255) must preempt.
    #[error("nopreempt is incompatible with priority 255")]
    OwnerWithoutPreempt,
    /// `advert_slack` above a tenth of the advert interval.
    #[error("advert slack must be at most a tenth of the advert interval")]
    AdvertSlack,
    /// `preempt_delay` makes no sense with `nopreempt`.
    #[error("preempt_delay is incompatible with nopreempt")]
    NopreemptWithDelay,
    /// A tracker weight outside −253..=253.
    #[error("tracker {0:?} weight {1} outside -253..=253")]
    TrackerWeight(TrackId, i16),
    /// Two trackers with the same id.
    #[error("tracker {0:?} configured twice")]
    DuplicateTracker(TrackId),
    /// A reload tried to change what identifies the instance.
    #[error("reload changed the instance identity (VRID or source address)")]
    IdentityChanged,
    /// A sync group needs at least one member.
    #[error("a sync group needs at least one member")]
    EmptyGroup,
    /// A member index that does not exist.
    #[error("no member {0} in this group")]
    NoSuchMember(usize),
}
