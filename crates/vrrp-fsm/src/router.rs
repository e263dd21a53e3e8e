//! A standalone VRRP instance: a sync group of one, with member-free signatures.

use alloc::vec;

use crate::config::{ConfigError, InstanceConfig};
use crate::group::{GroupPolicy, SyncGroup};
use crate::instance::MemberId;
use crate::time::Instant;
use crate::types::{
    Admin, AdvertRx, EffectId, EffectOutcome, LinkState, Output, State, Stats, TrackId, TrackStatus,
};

const ME: MemberId = MemberId(0);

/// One VRRP instance (one VRID on one interface), sans-IO.
///
/// Feed inputs with the `handle_*` methods, then drain [`poll_output`](Self::poll_output)
/// until `None` and arm a timer for [`poll_timeout`](Self::poll_timeout). See the crate
/// documentation for the run loop.
#[derive(Clone, Debug)]
pub struct Router {
    group: SyncGroup,
}

impl Router {
    /// Creates an instance in INIT; nothing happens until `Admin::Startup`.
    pub fn new(cfg: InstanceConfig) -> Result<Self, ConfigError> {
        Ok(Router {
            group: SyncGroup::new(vec![cfg], GroupPolicy::default())?,
        })
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.group.member_state(ME).unwrap_or(State::Init)
    }

    /// Effective priority (base priority adjusted by tracker weights, 1..=254, or 255).
    pub fn effective_priority(&self) -> u8 {
        self.group.member_priority(ME).unwrap_or(0)
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.group.member_stats(ME).unwrap_or_default()
    }

    /// AH counter: last sent or highest accepted sequence number.
    pub fn ah_counter(&self) -> u32 {
        self.group.member_ah_counter(ME).unwrap_or(0)
    }

    /// The configuration in force.
    pub fn config(&self) -> &InstanceConfig {
        // A Router always has exactly one member (built in `new`).
        self.group
            .member_config(ME)
            .expect("a Router always has member 0")
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.group.poll_timeout()
    }

    /// Next output; drain until `None` after every `handle_*` call.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        loop {
            match self.group.poll_output()? {
                (Some(_), o) => return Some(o),
                // Group-level events duplicate the instance's own for a group of one.
                (None, _) => continue,
            }
        }
    }

    /// A validated advert for this instance arrived.
    pub fn handle_advert(&mut self, now: Instant, rx: AdvertRx) {
        // Member 0 exists by construction.
        let _ = self.group.handle_advert(now, ME, rx);
    }

    /// The instance's own interface changed link state.
    pub fn handle_link(&mut self, now: Instant, link: LinkState) {
        let _ = self.group.handle_link(now, ME, link);
    }

    /// A tracker reported; unknown ids are ignored.
    pub fn handle_track(&mut self, now: Instant, id: TrackId, status: TrackStatus) {
        self.group.handle_track(now, id, status);
    }

    /// Administrative input (startup, shutdown, priority, reload, VIP removed).
    pub fn handle_admin(&mut self, now: Instant, admin: Admin) -> Result<(), ConfigError> {
        self.group.handle_admin(now, ME, admin)
    }

    /// Processes timers due at `now`; spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.group.handle_timeout(now);
    }

    /// Acknowledges an effect (only needed with a commit barrier).
    pub fn handle_effect_done(&mut self, now: Instant, id: EffectId, outcome: EffectOutcome) {
        self.group.handle_effect_done(now, id, outcome);
    }
}
