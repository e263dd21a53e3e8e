//! One VRRP instance: RFC 3768 §6 plus keepalived's FAULT state and quirks.
//!
//! The instance never decides alone to become master or to follow its group: it reports
//! a [`Trigger`] and the coordinator ([`crate::SyncGroup`]) calls the transition
//! functions. A standalone [`crate::Router`] is a group of one.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::IpAddr;

use vrrp_wire::AhSequence;

use crate::config::{
    AuthKind, ConfigError, InstanceConfig, OWNER_PRIORITY, TrackerConfig, master_down_interval,
    skew_time,
};
use crate::time::{Duration, Instant};
use crate::types::{
    AdvertRx, AdvertTx, DropReason, Effect, EffectId, EffectOutcome, Event, Output, Reason, State,
    Stats, TrackId, TrackStatus,
};

/// Index of a member inside a [`crate::SyncGroup`] (0 for a standalone router).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MemberId(pub usize);

/// An output tagged with the member it concerns (`None` for group-level events).
pub(crate) type Tagged = (Option<MemberId>, Output);

/// The shared output queue and effect-id counter of a group.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) queue: VecDeque<Tagged>,
    next_effect: u64,
}

impl Outbox {
    fn push(&mut self, member: MemberId, o: Output) {
        self.queue.push_back((Some(member), o));
    }
    fn effect(&mut self, member: MemberId, effect: Effect) -> EffectId {
        let id = EffectId(self.next_effect);
        self.next_effect += 1;
        self.push(member, Output::Effect { id, effect });
        id
    }
    pub(crate) fn group_event(&mut self, e: Event) {
        self.queue.push_back((None, Output::Event(e)));
    }
}

/// What an input asks of the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Nothing for the group to do.
    Nothing,
    /// A MASTER went BACKUP on its own (higher priority advert, VIP removed).
    YieldedToBackup,
    /// The down timer of a BACKUP expired: it wants MASTER.
    WantMaster {
        /// The timer was the skew timer armed by a priority-0 advert (when it arrived).
        after_priority_zero: Option<Instant>,
        /// That priority-0 advert came from the master this member was following.
        from_our_master: bool,
    },
    /// A MASTER heard a lower priority and re-announced itself.
    HeardLowerPriority,
}

#[derive(Clone, Debug)]
struct Tracker {
    cfg: TrackerConfig,
    status: Option<TrackStatus>,
}

/// What one tracker does to its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TrackEffect {
    /// Adds this much to the priority (0: nothing).
    Adjust(i32),
    /// Holds the instance in FAULT.
    Fault,
}

/// Most a tracked value moves the priority; a product at or below the floor means FAULT.
const VALUE_CAP: i32 = 253;
const VALUE_FAULT: i32 = -254;

impl Tracker {
    fn new(cfg: TrackerConfig) -> Self {
        Tracker {
            cfg,
            status: cfg.initial,
        }
    }

    /// The tracker's effect with `reverse` applied. While unknown, a weight-0 tracker
    /// holds FAULT and a weighted one does nothing.
    fn effect(&self) -> TrackEffect {
        let w = i32::from(self.cfg.weight);
        let up = match self.status {
            None if w == 0 => return TrackEffect::Fault,
            None => return TrackEffect::Adjust(0),
            Some(TrackStatus::Value(v)) => {
                if w == 0 {
                    // Non-zero is a failure; `reverse` makes zero the failure.
                    return if (v != 0) != self.cfg.reverse {
                        TrackEffect::Fault
                    } else {
                        TrackEffect::Adjust(0)
                    };
                }
                let signed = if self.cfg.reverse { -w } else { w };
                let product = i64::from(v) * i64::from(signed);
                // Clamp proven in range: the bounds are i32 values.
                let capped = product.clamp(i64::from(VALUE_FAULT), i64::from(VALUE_CAP)) as i32;
                return if capped == VALUE_FAULT {
                    TrackEffect::Fault
                } else {
                    TrackEffect::Adjust(capped)
                };
            }
            Some(TrackStatus::Up) => !self.cfg.reverse,
            Some(TrackStatus::Down) => self.cfg.reverse,
        };
        match (up, w) {
            (false, 0) => TrackEffect::Fault,
            (true, w) if w > 0 => TrackEffect::Adjust(w),
            (false, w) if w < 0 => TrackEffect::Adjust(w),
            _ => TrackEffect::Adjust(0),
        }
    }
}

/// Sending priority-0 adverts when leaving MASTER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resign {
    /// No priority-0 advert (yielding to a better master, group BACKUP).
    Silent,
    /// Number of back-to-back priority-0 adverts.
    PriorityZero(u8),
}

/// The state of one instance.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub(crate) id: MemberId,
    pub(crate) cfg: InstanceConfig,
    pub(crate) state: State,
    pub(crate) want: State,
    link_up: bool,
    trackers: Vec<Tracker>,
    base_priority: u8,
    effective: u8,
    pub(crate) down_at: Option<Instant>,
    advert_at: Option<Instant>,
    garp_second: Option<(Instant, u32)>,
    garp_refresh_at: Option<Instant>,
    commit: Option<(EffectId, Instant)>,
    vips_installed: bool,
    preempt_window_end: Option<Instant>,
    /// Preemption held from outside ([`Admin::HoldPreempt`]).
    preempt_held: bool,
    prio0_at: Option<Instant>,
    prio0_from_master: bool,
    last_master: Option<core::net::Ipv4Addr>,
    pub(crate) last_accept_at: Option<Instant>,
    seq: AhSequence,
    seq_synced_at: Option<Instant>,
    seq_stale: bool,
    started_at: Instant,
    pub(crate) stats: Stats,
}

impl Instance {
    pub(crate) fn new(id: MemberId, cfg: InstanceConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let trackers = cfg.trackers.iter().copied().map(Tracker::new).collect();
        let mut inst = Instance {
            id,
            base_priority: cfg.priority,
            effective: cfg.priority,
            cfg,
            state: State::Init,
            want: State::Backup,
            link_up: true,
            trackers,
            down_at: None,
            advert_at: None,
            garp_second: None,
            garp_refresh_at: None,
            commit: None,
            vips_installed: false,
            preempt_window_end: None,
            preempt_held: false,
            prio0_at: None,
            prio0_from_master: false,
            last_master: None,
            last_accept_at: None,
            seq: AhSequence::new(),
            seq_synced_at: None,
            seq_stale: false,
            started_at: Instant::ZERO,
            stats: Stats::default(),
        };
        inst.effective = inst.compute_priority();
        Ok(inst)
    }

    // ----- derived values -------------------------------------------------------------

    pub(crate) fn effective_priority(&self) -> u8 {
        self.effective
    }

    pub(crate) fn is_owner(&self) -> bool {
        self.effective == OWNER_PRIORITY
    }

    pub(crate) fn skew(&self) -> Duration {
        skew_time(self.effective)
    }

    pub(crate) fn master_down(&self) -> Duration {
        master_down_interval(
            self.cfg.advert_interval,
            self.cfg.down_timer_adverts,
            self.effective,
        )
    }

    pub(crate) fn ah_counter(&self) -> u32 {
        self.seq.counter()
    }

    fn preempting(&self) -> bool {
        (self.cfg.preempt || self.is_owner()) && !self.preempt_held
    }

    /// Holds (`true`) or releases preemption. While held, a BACKUP accepts a live master
    /// of lower priority as it would with `nopreempt`; a silent master or priority 0 still
    /// makes it take over. Releasing lets the next lower-priority advert be ignored again,
    /// so the instance preempts after its Master_Down_Interval.
    pub(crate) fn hold_preempt(&mut self, held: bool) {
        self.preempt_held = held;
        if held {
            self.preempt_window_end = None;
        }
    }

    fn compute_priority(&self) -> u8 {
        if self.base_priority == OWNER_PRIORITY {
            return OWNER_PRIORITY;
        }
        let mut p = i32::from(self.base_priority);
        for t in &self.trackers {
            if let TrackEffect::Adjust(delta) = t.effect() {
                p += delta;
            }
        }
        // Clamp proven in range: 1..=254 fits u8.
        p.clamp(1, 254) as u8
    }

    /// The first active fault reason, if any.
    pub(crate) fn own_fault(&self) -> Option<Reason> {
        if !self.link_up {
            return Some(Reason::LinkDown);
        }
        self.trackers
            .iter()
            .find(|t| t.effect() == TrackEffect::Fault)
            .map(|t| Reason::TrackerDown(t.cfg.id))
    }

    /// Earliest pending deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
            match (a, b) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, None) => x,
                (None, y) => y,
            }
        }
        let mut d = earliest(self.down_at, self.advert_at);
        d = earliest(d, self.garp_second.map(|g| g.0));
        d = earliest(d, self.garp_refresh_at);
        earliest(d, self.commit.map(|c| c.1))
    }

    /// Whether [`Instance::on_timeout`] at `now` has something to do: a timer is due, or
    /// (MASTER) the periodic advert is within the advert slack.
    pub(crate) fn acts_by(&self, now: Instant) -> bool {
        self.next_deadline().is_some_and(|d| d <= now)
            || (self.state == State::Master
                && self
                    .advert_at
                    .is_some_and(|at| at <= now + self.cfg.advert_slack))
    }

    // ----- outputs --------------------------------------------------------------------

    fn send_advert(&mut self, now: Instant, priority: u8, out: &mut Outbox) {
        let ah_seq = if self.cfg.auth == AuthKind::Ah {
            self.seq_synced_at = Some(now);
            Some(self.seq.next_for_send())
        } else {
            None
        };
        self.stats.adverts_sent += 1;
        if priority == 0 {
            self.stats.pri_zero_sent += 1;
        }
        out.push(
            self.id,
            Output::Advert(AdvertTx {
                priority,
                advert_interval: self.cfg.advert_interval,
                ah_seq,
            }),
        );
    }

    fn event(&self, e: Event, out: &mut Outbox) {
        out.push(self.id, Output::Event(e));
    }

    fn set_state(&mut self, to: State, reason: Reason, out: &mut Outbox) {
        let from = self.state;
        self.state = to;
        self.event(Event::StateChanged { from, to, reason }, out);
    }

    fn garp(&self, vips: Vec<IpAddr>, repeat: u32, out: &mut Outbox) {
        if repeat > 0 && !vips.is_empty() {
            out.effect(self.id, Effect::Garp { vips, repeat });
        }
    }

    // ----- transitions (called by the coordinator) ---------------------------------------

    /// INIT → BACKUP at startup, or FAULT → BACKUP when faults clear.
    pub(crate) fn enter_backup(
        &mut self,
        now: Instant,
        reason: Reason,
        group_size: usize,
        out: &mut Outbox,
    ) {
        let wait = if self.is_owner() {
            // An owner becomes master after one advert interval + skew (at startup the
            // coordinator promotes it directly when it can).
            self.cfg.advert_interval + self.skew()
        } else if self.state == State::Init && self.cfg.initial_state_master && group_size > 1 {
            self.cfg.advert_interval + skew_time(OWNER_PRIORITY)
        } else {
            self.master_down()
        };
        if self.state == State::Fault {
            self.seq_stale = true;
        }
        self.want = State::Backup;
        self.down_at = Some(now + wait);
        self.preempt_window_end = None;
        self.prio0_at = None;
        self.set_state(State::Backup, reason, out);
    }

    /// → MASTER. `forced`: promoted by the group without winning its own election.
    pub(crate) fn become_master(
        &mut self,
        now: Instant,
        reason: Reason,
        forced: bool,
        out: &mut Outbox,
    ) {
        if self.cfg.auth == AuthKind::Ah {
            self.seq.on_become_master();
            if forced || self.seq_stale {
                self.resync_sequence(now);
            }
            self.seq_stale = false;
        }
        self.want = State::Master;
        self.down_at = None;
        self.preempt_window_end = None;
        self.prio0_at = None;
        self.stats.become_master += 1;
        self.set_state(State::Master, reason, out);
        self.send_advert(now, self.effective, out);
        self.advert_at = Some(now + self.cfg.advert_interval);
        let id = out.effect(self.id, Effect::SyncCommit);
        match self.cfg.commit_barrier {
            Some(timeout) => self.commit = Some((id, now + timeout)),
            None => self.install_vips(now, out),
        }
    }

    /// Jumps the AH counter past anything another sender could have sent since we were
    /// last in sync: at most one periodic advert per interval plus as many immediate
    /// ones (priority-0 pairs, answers to lower priorities), plus slack.
    fn resync_sequence(&mut self, now: Instant) {
        let Some(slack) = self.cfg.ah_resync_slack else {
            return;
        };
        let since = self.seq_synced_at.unwrap_or(self.started_at);
        let intervals = (now - since).as_micros() / self.cfg.advert_interval.as_micros().max(1) + 1;
        let bound = intervals.saturating_mul(2).saturating_add(u64::from(slack));
        let floor = u64::from(self.seq.counter()).saturating_add(bound);
        // Stay below the cycle threshold so the next send still increments.
        let floor = floor.min(0xFFFF_FFFD) as u32;
        self.seq.advance_at_least_to(floor);
    }

    fn install_vips(&mut self, now: Instant, out: &mut Outbox) {
        self.commit = None;
        self.vips_installed = true;
        if !self.cfg.vips.is_empty() {
            out.effect(self.id, Effect::InstallVips(self.cfg.vips.clone()));
        }
        let g = self.cfg.garp;
        self.garp(self.cfg.vips.clone(), g.master_repeat, out);
        self.garp_second = (!g.master_delay.is_zero() && g.master_repeat > 0)
            .then(|| (now + g.master_delay, g.master_repeat));
        self.garp_refresh_at = g.refresh.filter(|r| !r.is_zero()).map(|r| now + r);
    }

    /// Re-announce as master after hearing a lower priority (also used for group peers).
    pub(crate) fn lower_priority_garps(&mut self, now: Instant, out: &mut Outbox) {
        if self.state != State::Master || !self.vips_installed {
            return;
        }
        let g = self.cfg.garp;
        self.garp(self.cfg.vips.clone(), g.lower_prio_repeat, out);
        if !g.lower_prio_delay.is_zero() && g.lower_prio_repeat > 0 {
            self.garp_second = Some((now + g.lower_prio_delay, g.lower_prio_repeat));
        }
    }

    /// MASTER → BACKUP/FAULT/INIT.
    pub(crate) fn leave_master(
        &mut self,
        to: State,
        reason: Reason,
        resign: Resign,
        now: Instant,
        out: &mut Outbox,
    ) {
        self.set_state(to, reason, out);
        if let Resign::PriorityZero(n) = resign {
            for _ in 0..n {
                self.send_advert(now, 0, out);
            }
        }
        if self.cfg.auth == AuthKind::Ah {
            self.seq.on_leave_master();
        }
        self.advert_at = None;
        self.garp_second = None;
        self.garp_refresh_at = None;
        self.commit = None;
        self.stats.release_master += 1;
        if self.vips_installed && !self.cfg.vips.is_empty() {
            out.effect(self.id, Effect::RemoveVips(self.cfg.vips.clone()));
        }
        self.vips_installed = false;
        out.effect(self.id, Effect::SyncRelease);
        if to == State::Backup {
            self.want = State::Backup;
            self.down_at = Some(now + self.master_down());
        }
    }

    /// → FAULT (from any started state).
    pub(crate) fn enter_fault(
        &mut self,
        now: Instant,
        reason: Reason,
        resign: Resign,
        out: &mut Outbox,
    ) {
        match self.state {
            State::Master => self.leave_master(State::Fault, reason, resign, now, out),
            State::Fault => return,
            _ => self.set_state(State::Fault, reason, out),
        }
        self.want = State::Backup;
        self.down_at = None;
        self.preempt_window_end = None;
        self.prio0_at = None;
        self.seq_stale = true;
    }

    /// Startup bookkeeping (before the coordinator picks the first state).
    pub(crate) fn start(&mut self, now: Instant, out: &mut Outbox) {
        self.started_at = now;
        if self.cfg.use_vmac {
            out.effect(self.id, Effect::VmacUp);
        }
        // keepalived removes the VIPs a previous run may have left.
        if !self.cfg.vips.is_empty() {
            out.effect(self.id, Effect::RemoveVips(self.cfg.vips.clone()));
        }
    }

    /// Admin shutdown: → INIT.
    pub(crate) fn shutdown(&mut self, now: Instant, out: &mut Outbox) {
        match self.state {
            State::Init => return,
            State::Master => self.leave_master(
                State::Init,
                Reason::Shutdown,
                Resign::PriorityZero(1),
                now,
                out,
            ),
            _ => self.set_state(State::Init, Reason::Shutdown, out),
        }
        self.down_at = None;
        self.advert_at = None;
        self.garp_second = None;
        self.garp_refresh_at = None;
        self.commit = None;
        self.want = State::Backup;
        if self.cfg.use_vmac {
            out.effect(self.id, Effect::VmacDown);
        }
    }

    // ----- inputs ---------------------------------------------------------------------

    fn drop_advert(&mut self, rx: &AdvertRx, reason: DropReason, out: &mut Outbox) -> Trigger {
        match reason {
            DropReason::Replay { .. } => self.stats.replay_dropped += 1,
            DropReason::AuthMismatch => self.stats.auth_mismatch += 1,
            DropReason::IntervalMismatch => self.stats.interval_mismatch += 1,
            DropReason::AddressList | DropReason::OwnAddress => {}
        }
        self.event(
            Event::AdvertDropped {
                source: rx.source,
                reason,
            },
            out,
        );
        Trigger::Nothing
    }

    pub(crate) fn on_advert(&mut self, now: Instant, rx: &AdvertRx, out: &mut Outbox) -> Trigger {
        if !matches!(self.state, State::Backup | State::Master) {
            return Trigger::Nothing;
        }
        // AH replay check first: keepalived moves the watermark before looking at the
        // priority or the interval.
        match (self.cfg.auth == AuthKind::Ah, rx.ah_seq) {
            (true, Some(s)) => {
                if let Err(e) = self.seq.check_and_accept(s) {
                    // Two masters whose counters advance in lockstep drop each other's
                    // adverts forever (each sees its own value). Break the symmetry with
                    // the addresses: the higher address steps one ahead so the other
                    // hears it. A replayed packet can match our exact value only once
                    // (we then move past it), so this costs at most one number.
                    if self.state == State::Master
                        && e.received == e.watermark
                        && self.cfg.source.octets() > rx.source.octets()
                    {
                        self.seq
                            .advance_at_least_to(e.watermark.saturating_add(1).min(0xFFFF_FFFD));
                    }
                    let reason = DropReason::Replay {
                        received: e.received,
                        watermark: e.watermark,
                    };
                    return self.drop_advert(rx, reason, out);
                }
                self.seq_synced_at = Some(now);
                self.seq_stale = false;
            }
            (false, None) => {}
            _ => return self.drop_advert(rx, DropReason::AuthMismatch, out),
        }
        if rx.advert_interval != self.cfg.advert_interval {
            return self.drop_advert(rx, DropReason::IntervalMismatch, out);
        }
        self.stats.adverts_received += 1;
        if !rx.addresses_match {
            self.stats.addr_list_err += 1;
            if self.cfg.drop_on_address_mismatch && rx.priority != OWNER_PRIORITY {
                return self.drop_advert(rx, DropReason::AddressList, out);
            }
            self.event(Event::AddressListMismatch { source: rx.source }, out);
        }
        if rx.priority == 0 {
            self.stats.pri_zero_received += 1;
        }
        match self.state {
            State::Backup => {
                self.backup_rx(now, rx);
                Trigger::Nothing
            }
            _ => self.master_rx(now, rx, out),
        }
    }

    fn backup_rx(&mut self, now: Instant, rx: &AdvertRx) {
        if rx.priority == 0 {
            self.down_at = Some(now + self.skew());
            self.prio0_at = Some(now);
            self.prio0_from_master = self.last_master == Some(rx.source);
            return;
        }
        let accept = if !self.preempting() || rx.priority >= self.effective {
            if rx.priority >= self.effective {
                self.preempt_window_end = None;
            }
            true
        } else if !self.cfg.preempt_delay.is_zero() {
            match self.preempt_window_end {
                None => {
                    self.preempt_window_end = Some(now + self.cfg.preempt_delay);
                    true
                }
                Some(end) => now < end,
            }
        } else {
            false
        };
        if accept {
            self.down_at = Some(now + self.master_down());
            self.want = State::Backup;
            self.prio0_at = None;
            self.last_accept_at = Some(now);
            self.last_master = Some(rx.source);
        } else {
            self.stats.lower_priority_discarded += 1;
        }
    }

    fn master_rx(&mut self, now: Instant, rx: &AdvertRx, out: &mut Outbox) -> Trigger {
        if rx.priority == 0 {
            self.send_advert(now, self.effective, out);
            self.advert_at = Some(now + self.cfg.advert_interval);
            return Trigger::Nothing;
        }
        let ours = self.effective;
        if rx.priority > ours
            || (rx.priority == ours && rx.source.octets() > self.cfg.source.octets())
        {
            if self.cfg.higher_prio_send_advert {
                self.send_advert(now, ours, out);
            }
            self.leave_master(
                State::Backup,
                Reason::HigherPriority,
                Resign::Silent,
                now,
                out,
            );
            self.last_accept_at = Some(now);
            self.last_master = Some(rx.source);
            return Trigger::YieldedToBackup;
        }
        if rx.priority == ours && rx.source == self.cfg.source {
            return self.drop_advert(rx, DropReason::OwnAddress, out);
        }
        self.event(
            Event::MasterRxLowerPriority {
                source: rx.source,
                priority: rx.priority,
            },
            out,
        );
        if let (AuthKind::Ah, Some(s)) = (self.cfg.auth, rx.ah_seq) {
            self.seq.master_heard_lower_priority(s);
        }
        if !self.cfg.lower_prio_no_advert {
            self.send_advert(now, ours, out);
            self.advert_at = Some(now + self.cfg.advert_interval);
        }
        self.lower_priority_garps(now, out);
        Trigger::HeardLowerPriority
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, out: &mut Outbox) -> Trigger {
        match self.state {
            State::Master => {
                if let Some((id, deadline)) = self.commit
                    && deadline <= now
                {
                    self.event(Event::CommitTimedOut(id), out);
                    self.install_vips(now, out);
                }
                if let Some(at) = self.advert_at
                    && at <= now + self.cfg.advert_slack
                {
                    self.send_advert(now, self.effective, out);
                    self.advert_at = Some(now + self.cfg.advert_interval);
                }
                if let Some((at, repeat)) = self.garp_second
                    && at <= now
                {
                    self.garp_second = None;
                    self.garp(self.cfg.vips.clone(), repeat, out);
                }
                if let (Some(at), Some(period)) = (self.garp_refresh_at, self.cfg.garp.refresh)
                    && at <= now
                {
                    self.garp_refresh_at = Some(now + period);
                    self.garp(self.cfg.vips.clone(), self.cfg.garp.refresh_repeat, out);
                }
                Trigger::Nothing
            }
            State::Backup => match self.down_at {
                Some(at) if at <= now => {
                    self.down_at = None;
                    self.want = State::Master;
                    Trigger::WantMaster {
                        after_priority_zero: self.prio0_at,
                        from_our_master: self.prio0_from_master,
                    }
                }
                _ => Trigger::Nothing,
            },
            _ => Trigger::Nothing,
        }
    }

    /// Re-arms the down timer of a BACKUP whose promotion was vetoed.
    pub(crate) fn hold(&mut self, now: Instant, out: &mut Outbox) {
        self.down_at = Some(now + self.master_down());
        self.event(Event::HeldByGroup, out);
    }

    pub(crate) fn on_effect_done(
        &mut self,
        now: Instant,
        id: EffectId,
        outcome: EffectOutcome,
        out: &mut Outbox,
    ) {
        if let Some((pending, _)) = self.commit
            && pending == id
        {
            if outcome == EffectOutcome::Failed {
                self.event(Event::CommitFailed(id), out);
            }
            self.install_vips(now, out);
        }
    }

    pub(crate) fn set_link(&mut self, up: bool) {
        self.link_up = up;
    }

    /// Returns whether this instance tracks `id`.
    pub(crate) fn set_track(
        &mut self,
        now: Instant,
        id: TrackId,
        status: TrackStatus,
        out: &mut Outbox,
    ) -> bool {
        let Some(t) = self.trackers.iter_mut().find(|t| t.cfg.id == id) else {
            return false;
        };
        t.status = Some(status);
        self.refresh_priority(now, out);
        true
    }

    pub(crate) fn set_base_priority(
        &mut self,
        now: Instant,
        p: u8,
        out: &mut Outbox,
    ) -> Result<(), ConfigError> {
        if p == 0 {
            return Err(ConfigError::PriorityZero);
        }
        if p == OWNER_PRIORITY && !self.cfg.preempt {
            return Err(ConfigError::OwnerWithoutPreempt);
        }
        self.base_priority = p;
        self.refresh_priority(now, out);
        Ok(())
    }

    /// Recomputes the effective priority; a BACKUP's running down timer is shifted by
    /// the change in skew, as keepalived does.
    fn refresh_priority(&mut self, _now: Instant, out: &mut Outbox) {
        let old = self.effective;
        let new = self.compute_priority();
        if old == new {
            return;
        }
        let old_skew = self.skew();
        self.effective = new;
        if self.state == State::Backup
            && let Some(at) = self.down_at
        {
            self.down_at = Some(at.saturating_sub(old_skew) + self.skew());
        }
        self.event(Event::PriorityChanged { from: old, to: new }, out);
    }

    /// Applies a reload. Identity must not change. No transition happens here.
    pub(crate) fn reload(
        &mut self,
        now: Instant,
        new: InstanceConfig,
        out: &mut Outbox,
    ) -> Result<(), ConfigError> {
        new.validate()?;
        if new.vrid != self.cfg.vrid || new.source != self.cfg.source {
            return Err(ConfigError::IdentityChanged);
        }
        if self.state == State::Master && self.vips_installed {
            let removed: Vec<IpAddr> = self
                .cfg
                .vips
                .iter()
                .filter(|v| !new.vips.contains(v))
                .copied()
                .collect();
            let added: Vec<IpAddr> = new
                .vips
                .iter()
                .filter(|v| !self.cfg.vips.contains(v))
                .copied()
                .collect();
            if !removed.is_empty() {
                out.effect(self.id, Effect::RemoveVips(removed));
            }
            if !added.is_empty() {
                out.effect(self.id, Effect::InstallVips(added.clone()));
                self.garp(added, new.garp.master_repeat, out);
            }
        }
        let trackers = new
            .trackers
            .iter()
            .map(|cfg| {
                let fresh = Tracker::new(*cfg);
                let status = self
                    .trackers
                    .iter()
                    .find(|t| t.cfg.id == cfg.id)
                    .map_or(fresh.status, |t| t.status);
                Tracker { cfg: *cfg, status }
            })
            .collect();
        self.trackers = trackers;
        if new.garp.refresh.is_none() {
            self.garp_refresh_at = None;
        }
        if new.auth != AuthKind::Ah {
            self.seq = AhSequence::new();
        }
        self.base_priority = new.priority;
        self.cfg = new;
        self.refresh_priority(now, out);
        Ok(())
    }
}
