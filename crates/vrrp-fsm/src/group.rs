//! The sync-group coordinator: several instances that move between states together.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::config::{AuthKind, ConfigError, InstanceConfig};
use crate::instance::{Instance, MemberId, Outbox, Resign, Trigger};
use crate::time::Instant;
use crate::types::{
    Admin, AdvertRx, EffectId, EffectOutcome, Event, LinkState, Output, Reason, State, Stats,
    TrackId, TrackStatus,
};

/// Group-level behaviour switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GroupPolicy {
    /// Fast takeover (default on): when a BACKUP member's skew timer, armed by a
    /// priority-0 advert, expires, the whole group becomes MASTER at once instead of
    /// waiting for every other member's Master_Down timer (keepalived waits: 3.6 s in
    /// its d-sync capture).
    ///
    /// It applies only if the priority 0 came from the master that member was following,
    /// and every other member is BACKUP and has accepted no advert since that priority-0
    /// advert arrived (or itself wants MASTER). Safe when the peer that
    /// resigned is itself a sync group over the same LANs — the deployment keepalived's
    /// sync groups require: a group member sends priority 0 only when its whole group
    /// leaves MASTER (FAULT or shutdown) at the same instant, so no other member of
    /// that peer is master anywhere. The simulator tests check this.
    pub fast_takeover: bool,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        GroupPolicy {
            fast_takeover: true,
        }
    }
}

/// Several VRRP instances that are MASTER together or not at all (keepalived
/// `vrrp_sync_group`), driven through one set of `handle_*` / `poll_*` calls.
///
/// Rules: a member FAULT puts every member in FAULT until the last fault clears; a
/// member becomes MASTER only when every member wants MASTER (or under
/// [`GroupPolicy::fast_takeover`]), and then all move; one MASTER member dropping to
/// BACKUP drags all down. All member transitions happen inside the one call that
/// triggered them, at the same `now`.
#[derive(Clone, Debug)]
pub struct SyncGroup {
    members: Vec<Instance>,
    state: State,
    policy: GroupPolicy,
    out: Outbox,
    /// Earliest member deadline, recomputed after every input.
    deadline: Option<Instant>,
}

impl SyncGroup {
    /// Builds a group (members are numbered in the order given). All members start INIT.
    pub fn new(members: Vec<InstanceConfig>, policy: GroupPolicy) -> Result<Self, ConfigError> {
        if members.is_empty() {
            return Err(ConfigError::EmptyGroup);
        }
        // Exact capacity: a daemon holds one group per lone instance, and collecting a
        // `Result` iterator would round a one-member vector up to four.
        let mut built = Vec::with_capacity(members.len());
        for (i, cfg) in members.into_iter().enumerate() {
            built.push(Instance::new(MemberId(i), cfg)?);
        }
        let members = built;
        Ok(SyncGroup {
            members,
            state: State::Init,
            policy,
            out: Outbox::default(),
            deadline: None,
        })
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Always false: a group has at least one member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The group state (INIT, BACKUP, MASTER or FAULT).
    pub fn state(&self) -> State {
        self.state
    }

    /// A member's state.
    pub fn member_state(&self, m: MemberId) -> Option<State> {
        self.members.get(m.0).map(|i| i.state)
    }

    /// A member's effective priority (after tracker weights).
    pub fn member_priority(&self, m: MemberId) -> Option<u8> {
        self.members.get(m.0).map(|i| i.effective_priority())
    }

    /// A member's counters.
    pub fn member_stats(&self, m: MemberId) -> Option<Stats> {
        self.members.get(m.0).map(|i| i.stats)
    }

    /// A member's AH counter (last sent or highest accepted sequence number).
    pub fn member_ah_counter(&self, m: MemberId) -> Option<u32> {
        self.members.get(m.0).map(|i| i.ah_counter())
    }

    /// A member's configuration.
    pub fn member_config(&self, m: MemberId) -> Option<&InstanceConfig> {
        self.members.get(m.0).map(|i| &i.cfg)
    }

    /// The group policy.
    pub fn policy(&self) -> GroupPolicy {
        self.policy
    }

    /// When `handle_timeout` must be called next (`None`: nothing scheduled). Call it
    /// again after every input and after draining [`poll_output`](Self::poll_output).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    fn refresh_deadline(&mut self) {
        self.deadline = self
            .members
            .iter()
            .filter_map(Instance::next_deadline)
            .min();
    }

    /// Next output; drain until `None` after every `handle_*` call. Group-level events
    /// carry `None` as member.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<(Option<MemberId>, Output)> {
        let next = self.out.queue.pop_front();
        if next.is_none() && self.out.queue.capacity() > 0 {
            // Drained: give the buffer back. A host runs 1,000s of groups whose queues
            // are idle between rare bursts (a backup's stay empty for good).
            self.out.queue = VecDeque::new();
        }
        next
    }

    /// Feeds an advert received on member `m`'s interface (already validated by the codec).
    pub fn handle_advert(
        &mut self,
        now: Instant,
        m: MemberId,
        rx: AdvertRx,
    ) -> Result<(), ConfigError> {
        let inst = self
            .members
            .get_mut(m.0)
            .ok_or(ConfigError::NoSuchMember(m.0))?;
        let t = inst.on_advert(now, &rx, &mut self.out);
        self.resolve(now, m, t);
        self.refresh_deadline();
        Ok(())
    }

    /// Reports the link state of member `m`'s own interface.
    pub fn handle_link(
        &mut self,
        now: Instant,
        m: MemberId,
        link: LinkState,
    ) -> Result<(), ConfigError> {
        let inst = self
            .members
            .get_mut(m.0)
            .ok_or(ConfigError::NoSuchMember(m.0))?;
        inst.set_link(link == LinkState::Up);
        self.resolve_faults(now);
        self.refresh_deadline();
        Ok(())
    }

    /// Reports a tracker result; applied to every member that tracks `id` (so group-wide
    /// trackers are simply configured on every member). Unknown ids are ignored.
    pub fn handle_track(&mut self, now: Instant, id: TrackId, status: TrackStatus) {
        for inst in &mut self.members {
            inst.set_track(now, id, status, &mut self.out);
        }
        self.resolve_faults(now);
        self.refresh_deadline();
    }

    /// Administrative input. `Startup` and `Shutdown` apply to the whole group;
    /// `SetPriority`, `Reload`, `VipRemoved` and `HoldPreempt` to member `m`.
    pub fn handle_admin(
        &mut self,
        now: Instant,
        m: MemberId,
        admin: Admin,
    ) -> Result<(), ConfigError> {
        let result = self.admin(now, m, admin);
        self.refresh_deadline();
        result
    }

    fn admin(&mut self, now: Instant, m: MemberId, admin: Admin) -> Result<(), ConfigError> {
        if m.0 >= self.members.len() {
            return Err(ConfigError::NoSuchMember(m.0));
        }
        match admin {
            Admin::Startup => self.startup(now),
            Admin::Shutdown => self.shutdown(now),
            Admin::SetPriority(p) => {
                self.members[m.0].set_base_priority(now, p, &mut self.out)?;
            }
            Admin::Reload(cfg) => {
                self.members[m.0].reload(now, cfg, &mut self.out)?;
                self.resolve_faults(now);
            }
            Admin::HoldPreempt(held) => self.members[m.0].hold_preempt(held),
            Admin::VipRemoved => {
                let inst = &mut self.members[m.0];
                if inst.state == State::Master {
                    inst.leave_master(
                        State::Backup,
                        Reason::VipRemoved,
                        Resign::Silent,
                        now,
                        &mut self.out,
                    );
                    self.resolve(now, m, Trigger::YieldedToBackup);
                }
            }
        }
        Ok(())
    }

    /// Processes every timer due at `now` (and a master's periodic advert due within its
    /// `advert_slack`). Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.members.len() {
            if self.members[i].acts_by(now) {
                let t = self.members[i].on_timeout(now, &mut self.out);
                self.resolve(now, MemberId(i), t);
            }
        }
        self.refresh_deadline();
    }

    /// Acknowledges an effect (needed only for a configured commit barrier).
    pub fn handle_effect_done(&mut self, now: Instant, id: EffectId, outcome: EffectOutcome) {
        for inst in &mut self.members {
            inst.on_effect_done(now, id, outcome, &mut self.out);
        }
        self.refresh_deadline();
    }

    // ----- coordination -----------------------------------------------------------------

    fn set_group_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        if from != to {
            self.state = to;
            self.out
                .group_event(Event::GroupStateChanged { from, to, reason });
        }
    }

    fn startup(&mut self, now: Instant) {
        if self.state != State::Init {
            return;
        }
        for inst in &mut self.members {
            inst.start(now, &mut self.out);
        }
        // Temporarily BACKUP so resolve_faults can move everything to FAULT.
        if self.members.iter().any(|i| i.own_fault().is_some()) {
            self.state = State::Backup;
            self.resolve_faults(now);
            return;
        }
        let n = self.members.len();
        // With AH an owner first listens for one advert interval (+ its skew) to learn
        // the current sequence number; going master at once would make its adverts
        // replays for every peer for about one interval (keepalived's double mastership).
        let any_ah = self.members.iter().any(|i| i.cfg.auth == AuthKind::Ah);
        if !any_ah && self.members.iter().all(Instance::is_owner) {
            for inst in &mut self.members {
                inst.become_master(now, Reason::Owner, false, &mut self.out);
            }
            self.set_group_state(State::Master, Reason::Owner);
        } else {
            for inst in &mut self.members {
                inst.enter_backup(now, Reason::Startup, n, &mut self.out);
            }
            self.set_group_state(State::Backup, Reason::Startup);
        }
    }

    fn shutdown(&mut self, now: Instant) {
        for inst in &mut self.members {
            inst.shutdown(now, &mut self.out);
        }
        self.set_group_state(State::Init, Reason::Shutdown);
    }

    fn resolve(&mut self, now: Instant, m: MemberId, t: Trigger) {
        match t {
            Trigger::Nothing => {}
            Trigger::YieldedToBackup => {
                for inst in &mut self.members {
                    if inst.id != m && inst.state == State::Master {
                        inst.leave_master(
                            State::Backup,
                            Reason::GroupBackup,
                            Resign::Silent,
                            now,
                            &mut self.out,
                        );
                    }
                }
                let reason = if self.members.len() == 1 {
                    Reason::HigherPriority
                } else {
                    Reason::GroupBackup
                };
                self.set_group_state(State::Backup, reason);
            }
            Trigger::HeardLowerPriority => {
                for inst in &mut self.members {
                    if inst.id != m {
                        inst.lower_priority_garps(now, &mut self.out);
                    }
                }
            }
            Trigger::WantMaster {
                after_priority_zero,
                from_our_master,
            } => self.want_master(now, m, after_priority_zero, from_our_master),
        }
    }

    fn want_master(
        &mut self,
        now: Instant,
        m: MemberId,
        after_priority_zero: Option<Instant>,
        from_our_master: bool,
    ) {
        let own_reason = if after_priority_zero.is_some() {
            Reason::PriorityZero
        } else {
            Reason::MasterDown
        };
        let others = || self.members.iter().filter(move |i| i.id != m);
        let unanimous = others().all(|i| i.state == State::Backup && i.want == State::Master)
            || self.state == State::Master;
        let fast = !unanimous
            && self.policy.fast_takeover
            && from_our_master
            && after_priority_zero.is_some_and(|p0| {
                others().all(|i| {
                    i.state == State::Backup
                        && (i.want == State::Master || i.last_accept_at.is_none_or(|a| a <= p0))
                })
            });
        if !unanimous && !fast {
            self.members[m.0].hold(now, &mut self.out);
            return;
        }
        let forced_reason = if fast {
            Reason::GroupFastTakeover
        } else {
            Reason::GroupMaster
        };
        self.members[m.0].become_master(now, own_reason, false, &mut self.out);
        for inst in &mut self.members {
            if inst.id != m && inst.state == State::Backup {
                inst.become_master(now, forced_reason, true, &mut self.out);
            }
        }
        let reason = if self.members.len() == 1 {
            own_reason
        } else {
            forced_reason
        };
        self.set_group_state(State::Master, reason);
    }

    fn resolve_faults(&mut self, now: Instant) {
        if matches!(self.state, State::Init) {
            return;
        }
        let any_fault = self.members.iter().any(|i| i.own_fault().is_some());
        if any_fault && self.state != State::Fault {
            // Members with their own fault first (they send two priority-0 adverts if
            // master, as keepalived does), then those dragged in by the group (one).
            let mut first_reason = None;
            for pass in [true, false] {
                for inst in &mut self.members {
                    let own = inst.own_fault();
                    if own.is_some() != pass {
                        continue;
                    }
                    let (reason, resign) = match own {
                        Some(r) => (r, Resign::PriorityZero(2)),
                        None => (Reason::GroupFault, Resign::PriorityZero(1)),
                    };
                    first_reason.get_or_insert(reason);
                    inst.enter_fault(now, reason, resign, &mut self.out);
                }
            }
            let reason = match (self.members.len(), first_reason) {
                (1, Some(r)) => r,
                _ => Reason::GroupFault,
            };
            self.set_group_state(State::Fault, reason);
        } else if !any_fault && self.state == State::Fault {
            let n = self.members.len();
            let solo = n == 1;
            for inst in &mut self.members {
                let reason = if solo {
                    Reason::FaultCleared
                } else {
                    Reason::GroupFaultCleared
                };
                inst.enter_backup(now, reason, n, &mut self.out);
            }
            let reason = if solo {
                Reason::FaultCleared
            } else {
                Reason::GroupFaultCleared
            };
            self.set_group_state(State::Backup, reason);
        }
    }
}
