//! Inputs, outputs, states and reasons exchanged with the machine.

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use crate::config::InstanceConfig;
use crate::time::Duration;

/// VRRP instance state (RFC 3768 plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    /// Not started, or shut down.
    Init,
    /// RFC Backup: listens, waits for the master-down timer.
    Backup,
    /// RFC Master: owns the VIPs and advertises.
    Master,
    /// keepalived FAULT: a tracked condition is down; silent until it clears.
    Fault,
}

/// Identifier of a tracked object (chosen by the embedder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackId(pub u32);

/// Status reported by a tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum TrackStatus {
    /// The tracked object is healthy (interface up, script succeeded).
    Up,
    /// The tracked object failed.
    Down,
    /// A tracked number (keepalived's `track_file`): it adds value × weight to the
    /// priority (negated with `reverse`), capped to −254..=253, where −254 means FAULT;
    /// with weight 0, any non-zero value means FAULT (with `reverse`, zero does).
    Value(i32),
}

/// Link state of the instance's own interface (from a link probe).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LinkState {
    /// Carrier present and interface up (`IFF_UP` and `IFF_RUNNING`).
    Up,
    /// No carrier or administratively down.
    Down,
}

/// Facts about a received advert that the codec already validated (checksum, TTL,
/// version, auth type, password or AH ICV). The FSM does the instance-state checks:
/// AH replay window, advert interval, address list policy, priority logic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdvertRx {
    /// IPv4 source address of the sender (its primary address).
    pub source: Ipv4Addr,
    /// Advertised priority (0 = master resigning).
    pub priority: u8,
    /// Advertised interval.
    pub advert_interval: Duration,
    /// AH sequence number, present iff the packet carried an AH header.
    pub ah_seq: Option<u32>,
    /// Whether the advertised address list equals our configured VIPs.
    pub addresses_match: bool,
}

/// An advert the embedder must encode (with `vrrp-wire`) and send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AdvertTx {
    /// Priority to advertise (0 when resigning).
    pub priority: u8,
    /// Interval to advertise.
    pub advert_interval: Duration,
    /// AH sequence number to put in the AH header (present iff AH is configured).
    pub ah_seq: Option<u32>,
}

/// Identifier of an effect whose completion the machine may wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EffectId(pub u64);

/// Outcome of an effect, reported through `handle_effect_done`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum EffectOutcome {
    /// The effect completed.
    Done,
    /// The effect failed; the machine proceeds anyway (availability first) and reports it.
    Failed,
}

/// Something the embedder must do to the operating system.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Effect {
    /// Add these addresses to the interface (become master, or VIPs added by a reload).
    InstallVips(Vec<IpAddr>),
    /// Remove these addresses (leave master, startup clean-up, or removed by a reload).
    RemoveVips(Vec<IpAddr>),
    /// Send `repeat` gratuitous ARPs (unsolicited NAs for IPv6) for each address.
    Garp {
        /// Addresses to announce.
        vips: Vec<IpAddr>,
        /// Number of GARPs per address.
        repeat: u32,
    },
    /// Create and raise the virtual-MAC interface.
    VmacUp,
    /// Remove the virtual-MAC interface.
    VmacDown,
    /// Switch connection-state sync to master and commit what was received. When a
    /// commit barrier is configured, VIPs are installed only after this is acknowledged.
    SyncCommit,
    /// Switch connection-state sync back to backup.
    SyncRelease,
}

/// Why a transition happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Reason {
    /// Admin startup.
    Startup,
    /// Address owner (priority 255) at startup.
    Owner,
    /// Master_Down_Timer expired.
    MasterDown,
    /// Skew timer after a priority-0 advert expired.
    PriorityZero,
    /// Heard a higher priority (or equal priority from a higher address) as master.
    HigherPriority,
    /// The instance's own link went down.
    LinkDown,
    /// A weight-0 tracker went down (or has not reported yet).
    TrackerDown(TrackId),
    /// Every fault reason cleared.
    FaultCleared,
    /// Another group member became master, and the group followed.
    GroupMaster,
    /// Fast group policy: a member heard priority 0 and the group took over at skew time.
    GroupFastTakeover,
    /// Another group member left master, and the group followed.
    GroupBackup,
    /// Another group member entered FAULT.
    GroupFault,
    /// The last faulty member recovered.
    GroupFaultCleared,
    /// Admin shutdown.
    Shutdown,
    /// A VIP was removed by someone else while master.
    VipRemoved,
}

/// Why an advert was dropped by the machine (counted in [`Stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum DropReason {
    /// AH sequence number not above the watermark.
    Replay {
        /// Received sequence number.
        received: u32,
        /// Our watermark.
        watermark: u32,
    },
    /// AH configured but no sequence number, or the other way round.
    AuthMismatch,
    /// Advert interval differs from ours.
    IntervalMismatch,
    /// Address list differs and `drop_on_address_mismatch` is set.
    AddressList,
    /// Equal priority from our own address (a looped packet or a cloned config).
    OwnAddress,
}

/// Something worth reporting (notifications, logs, counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Event {
    /// The instance changed state.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// The sync group changed state (only from [`SyncGroup`](crate::SyncGroup)).
    GroupStateChanged {
        /// Previous group state.
        from: State,
        /// New group state.
        to: State,
        /// The reason of the member transition that triggered it.
        reason: Reason,
    },
    /// The effective priority changed (tracker, admin or reload).
    PriorityChanged {
        /// Old effective priority.
        from: u8,
        /// New effective priority.
        to: u8,
    },
    /// As master, heard a lower priority (keepalived `MASTER_RX_LOWER_PRI`): re-advertised
    /// and re-sent GARPs.
    MasterRxLowerPriority {
        /// The other master.
        source: Ipv4Addr,
        /// Its priority.
        priority: u8,
    },
    /// An advert was dropped.
    AdvertDropped {
        /// Its source.
        source: Ipv4Addr,
        /// Why.
        reason: DropReason,
    },
    /// An accepted advert's address list differs from ours (counted, not dropped).
    AddressListMismatch {
        /// Its source.
        source: Ipv4Addr,
    },
    /// The master-down timer expired but the sync group vetoed the promotion (another
    /// member still hears a master); the timer was re-armed.
    HeldByGroup,
    /// The commit barrier timed out; VIPs were installed anyway.
    CommitTimedOut(EffectId),
    /// The commit effect failed; VIPs were installed anyway.
    CommitFailed(EffectId),
}

/// One output of the machine: drain with `poll_output` until `None`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Output {
    /// Encode and send this advert now.
    Advert(AdvertTx),
    /// Apply this effect. If a later step waits for it, acknowledge it with
    /// `handle_effect_done(id, ..)`; acknowledging any effect is harmless.
    Effect {
        /// Identifier for `handle_effect_done`.
        id: EffectId,
        /// What to do.
        effect: Effect,
    },
    /// Report this.
    Event(Event),
}

/// Administrative inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[allow(clippy::large_enum_variant)]
pub enum Admin {
    /// Start the instance (INIT → BACKUP/MASTER/FAULT).
    Startup,
    /// Stop: a master sends priority 0 and removes its VIPs; → INIT.
    Shutdown,
    /// Change the base priority (1..=255).
    SetPriority(u8),
    /// Apply a new configuration for the same instance; unchanged settings cause
    /// nothing, and no state transition happens unless a new fault condition appears.
    Reload(InstanceConfig),
    /// One of our VIPs was deleted by someone else while master (keepalived → BACKUP).
    VipRemoved,
    /// Hold (`true`) or release (`false`) preemption. While held, a BACKUP does not take
    /// over from a live master of lower priority (it still takes over when the master goes
    /// silent or resigns). State sync uses it: a node whose connection table is still
    /// incomplete (a rebooted router waiting for its bulk) must not preempt.
    HoldPreempt(bool),
}

/// Per-instance counters (keepalived's STATS file).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Stats {
    /// Adverts accepted for processing.
    pub adverts_received: u64,
    /// Adverts sent (priority 0 included).
    pub adverts_sent: u64,
    /// Transitions to MASTER.
    pub become_master: u64,
    /// Transitions out of MASTER.
    pub release_master: u64,
    /// Priority-0 adverts received.
    pub pri_zero_received: u64,
    /// Priority-0 adverts sent.
    pub pri_zero_sent: u64,
    /// AH replays dropped.
    pub replay_dropped: u64,
    /// Auth-kind mismatches dropped.
    pub auth_mismatch: u64,
    /// Interval mismatches dropped.
    pub interval_mismatch: u64,
    /// Address-list mismatches (accepted or dropped per policy).
    pub addr_list_err: u64,
    /// Lower-priority adverts discarded by a preempting backup.
    pub lower_priority_discarded: u64,
}
