//! Engine configuration and its validation.

use alloc::vec::Vec;

use ssyncp_wire::v1::{
    AuthKey, CT_V6_LEN, HEADER_LEN, IPV4_HEADER_LEN, MAX_MESSAGE_LEN, TRAILER_LEN,
};

use crate::time::Duration;

/// Everything an [`Engine`](crate::Engine) needs to know up front.
///
/// [`Config::new`] fills in the defaults the spec proposes (§5.6); adjust
/// fields afterwards.
#[derive(Debug)]
pub struct Config {
    /// Sync group this engine serves; messages of other groups are rejected.
    pub sync_id: u8,
    /// This node's Sender ID (default in the spec: the sync interface's IPv4 address).
    pub sender_id: u32,
    /// Base epoch: the incarnation of this node. Must exceed every epoch this
    /// node used before (e.g. Unix seconds at daemon start). Each promotion
    /// to MASTER uses the next epoch (base + 1, + 2, …).
    pub epoch: u32,
    /// Link MTU the messages are packed to (IPv4 header included).
    pub mtu: usize,
    /// Keys for the HMAC trailer. Empty: no authentication. Otherwise every
    /// message sent is signed with the first key and every message received
    /// must verify with one of them (two keys allow a rollover).
    pub auth_keys: Vec<AuthKey>,
    /// Senders whose messages are accepted (`None`: any sender).
    pub allowed_senders: Option<Vec<u32>>,
    /// Most senders tracked at once (bounds memory against forged Sender IDs).
    pub max_peers: usize,
    /// Most entries the table holds; further new entries are refused
    /// (counted in `table_full` on a backup, an error for local changes).
    pub max_entries: usize,
    /// A partly filled DATA message is sent at the latest this long after
    /// its first change (a full one is sent at once).
    pub flush_delay: Duration,
    /// Retransmit ring: most messages kept.
    pub ring_messages: usize,
    /// Retransmit ring: most bytes kept.
    pub ring_bytes: usize,
    /// Bulk pacing: messages sent per bulk tick.
    pub bulk_messages_per_tick: usize,
    /// Bulk pacing: time between bulk ticks.
    pub bulk_interval: Duration,
    /// Every entry is re-advertised at least this often (zero: never). The
    /// table is walked in 100 steps spread over the period.
    pub refresh_period: Duration,
    /// ALIVE is sent when nothing else was sent for this long.
    pub alive_interval: Duration,
    /// A gap is NACKed once it has lasted this long (reordering allowance).
    pub nack_delay: Duration,
    /// A NACK is repeated this often while the gap persists.
    pub nack_retry_interval: Duration,
    /// NACKs sent for a gap before it is given up and a resync requested.
    pub nack_max_retries: u32,
    /// RESYNC_REQ is repeated this often until a complete bulk arrives.
    pub resync_retry_interval: Duration,
    /// Replay window, in sequence numbers (a multiple of 64).
    pub replay_window: u32,
    /// Out-of-order messages held per sender while a gap is repaired, in bytes.
    pub max_reorder_bytes: usize,
    /// Backup aging: added to an entry's own timeout before it expires.
    pub aging_grace: Duration,
    /// Backup aging: an entry not refreshed for this long expires whatever
    /// its timeout (spec: 3 × refresh period). Zero: no cap.
    pub stale_after: Duration,
    /// Backup aging: one pass over the whole table takes this long (done in
    /// 10 slices), which is the expiry precision.
    pub aging_scan_period: Duration,
    /// Seed of the table's hash index. Entries' keys come from traffic that
    /// others choose, so set it from a random source in production (ssyncpd
    /// does); the default, 0, keeps simulations reproducible.
    pub hash_seed: u64,
}

impl Config {
    /// A configuration with the spec's defaults: MTU 1500, flush after 2 ms,
    /// a 4096-message / 8 MiB ring, bulk at 64 messages per millisecond,
    /// refresh every 60 s, ALIVE after 1 s idle, NACK after 5 ms and every
    /// 100 ms up to 5 times, RESYNC_REQ every 1 s, a 4096-message replay
    /// window, at most 16 senders and 4 Mi entries, and aging with a 60 s
    /// grace and a 180 s (3R) staleness cap.
    pub fn new(sync_id: u8, sender_id: u32, epoch: u32) -> Self {
        Self {
            sync_id,
            sender_id,
            epoch,
            mtu: 1500,
            auth_keys: Vec::new(),
            allowed_senders: None,
            max_peers: 16,
            max_entries: 4 << 20,
            flush_delay: Duration::from_millis(2),
            ring_messages: 4096,
            ring_bytes: 8 << 20,
            bulk_messages_per_tick: 64,
            bulk_interval: Duration::from_millis(1),
            refresh_period: Duration::from_secs(60),
            alive_interval: Duration::from_secs(1),
            nack_delay: Duration::from_millis(5),
            nack_retry_interval: Duration::from_millis(100),
            nack_max_retries: 5,
            resync_retry_interval: Duration::from_secs(1),
            replay_window: 4096,
            max_reorder_bytes: 4 << 20,
            aging_grace: Duration::from_secs(60),
            stale_after: Duration::from_secs(180),
            aging_scan_period: Duration::from_secs(1),
            hash_seed: 0,
        }
    }

    /// Room for entries in one message: the MTU minus the IPv4 header, the
    /// SSYNCP header and (when signing) the trailer.
    pub fn entry_room(&self) -> usize {
        let trailer = if self.auth_keys.is_empty() {
            0
        } else {
            TRAILER_LEN
        };
        self.mtu
            .saturating_sub(IPV4_HEADER_LEN)
            .min(MAX_MESSAGE_LEN)
            .saturating_sub(HEADER_LEN + trailer)
    }

    /// Checks the values that would make the engine misbehave.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // Room for at least one IPv6 conntrack entry with a SEQ option.
        let min_room = CT_V6_LEN + 28;
        if self.entry_room() < min_room {
            return Err(ConfigError::MtuTooSmall(self.mtu));
        }
        if self.replay_window == 0
            || !self.replay_window.is_multiple_of(64)
            || self.replay_window > 1 << 20
        {
            return Err(ConfigError::ReplayWindow(self.replay_window));
        }
        let nonzero = [
            ("ring_messages", self.ring_messages),
            ("ring_bytes", self.ring_bytes),
            ("bulk_messages_per_tick", self.bulk_messages_per_tick),
            ("max_peers", self.max_peers),
            ("max_entries", self.max_entries),
            ("max_reorder_bytes", self.max_reorder_bytes),
        ];
        for (name, value) in nonzero {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        let intervals = [
            ("bulk_interval", self.bulk_interval),
            ("alive_interval", self.alive_interval),
            ("nack_retry_interval", self.nack_retry_interval),
            ("resync_retry_interval", self.resync_retry_interval),
            ("aging_scan_period", self.aging_scan_period),
        ];
        for (name, value) in intervals {
            if value.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.sender_id == 0 {
            return Err(ConfigError::Zero("sender_id"));
        }
        if let Some(key) = self.auth_keys.iter().find(|k| k.sync_id() != self.sync_id) {
            return Err(ConfigError::KeySyncId {
                key: key.sync_id(),
                engine: self.sync_id,
            });
        }
        Ok(())
    }
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The MTU leaves no room for the largest fixed-size entry.
    #[error("MTU {0} is too small for SSYNCP entries")]
    MtuTooSmall(usize),
    /// The replay window is not a positive multiple of 64 up to 2^20.
    #[error("replay window {0} must be a multiple of 64 in 64..=1048576")]
    ReplayWindow(u32),
    /// A count, size or interval that must be positive is zero.
    #[error("{0} must not be zero")]
    Zero(&'static str),
    /// An authentication key belongs to another Sync ID.
    #[error("auth key is for sync id {key}, engine serves {engine}")]
    KeySyncId {
        /// The key's Sync ID.
        key: u8,
        /// The engine's Sync ID.
        engine: u8,
    },
}
