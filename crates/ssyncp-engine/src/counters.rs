//! Counters for every rejection and every action.

/// Monotonic counters. Every rejected datagram increments exactly one `rx_*`
/// rejection counter and never touches the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Counters {
    /// Datagrams handed to the engine.
    pub rx_datagrams: u64,
    /// Datagrams accepted (passed every check).
    pub rx_accepted: u64,
    /// Rejected: checksum mismatch.
    pub rx_bad_checksum: u64,
    /// Rejected: framing, size, type, flags or body invalid.
    pub rx_malformed: u64,
    /// Rejected: a version other than 1 (Ver 0 is not carried by this engine).
    pub rx_unsupported_version: u64,
    /// Rejected: another Sync ID.
    pub rx_wrong_sync_id: u64,
    /// Rejected: authentication required but the message has no trailer.
    pub rx_unauthenticated: u64,
    /// Rejected: no key for the trailer's Key ID.
    pub rx_unknown_key: u64,
    /// Rejected: MAC mismatch.
    pub rx_bad_mac: u64,
    /// Rejected: sender not allowed, or too many senders tracked.
    pub rx_unknown_sender: u64,
    /// Rejected: our own Sender ID (looped back).
    pub rx_own_message: u64,
    /// Rejected: an epoch older than the sender's current one.
    pub rx_old_epoch: u64,
    /// Rejected: sequence number already seen or below the replay window.
    pub rx_replayed: u64,
    /// Accepted but not used: arrived after its gap was given up.
    pub rx_late: u64,
    /// Accepted but not used: received in FAULT, or data received while MASTER.
    pub rx_ignored_role: u64,
    /// Single entries dropped (unknown mandatory option, experimental class).
    pub rx_entries_dropped: u64,
    /// New entries refused because the table is at `max_entries`.
    pub table_full: u64,
    /// Entries applied as upserts.
    pub applied_upserts: u64,
    /// Entries removed by DELETE.
    pub applied_deletes: u64,
    /// Entries removed by a bulk sweep.
    pub swept: u64,
    /// Entries removed by aging.
    pub expired: u64,
    /// Gaps given up (their messages never arrived).
    pub gaps_given_up: u64,
    /// NACK messages sent.
    pub nacks_sent: u64,
    /// NACK messages received for us.
    pub nacks_received: u64,
    /// RESYNC_REQ messages sent.
    pub resync_requests_sent: u64,
    /// RESYNC_REQ messages received for us while MASTER.
    pub resync_requests_received: u64,
    /// Messages sent (first transmissions).
    pub tx_messages: u64,
    /// Entries sent in DATA messages.
    pub tx_data_entries: u64,
    /// Entries sent in BULK messages.
    pub tx_bulk_entries: u64,
    /// Entries skipped because they do not fit a message at this MTU (they
    /// arrived from a sender with a larger MTU).
    pub tx_entries_too_large: u64,
    /// Messages retransmitted from the ring.
    pub tx_retransmits: u64,
    /// NACKed messages no longer in the ring (answered with a bulk).
    pub nack_misses: u64,
    /// Bulk resyncs started.
    pub bulks_started: u64,
    /// Complete bulks applied (backup side).
    pub bulks_applied: u64,
}
