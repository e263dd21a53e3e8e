//! The session engine: one Sync ID, one role at a time, no I/O.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;

use ssyncp_wire::DecodeError;
use ssyncp_wire::v1::{Alive, EntryRepr};
use ssyncp_wire::v1::{
    AuthKey, ControlBody, Flags, Header, IPV4_HEADER_LEN, MAX_COUNT, MAX_MESSAGE_LEN,
    MAX_NACK_RANGES, MessageType, MessageView, MessageWriter, Nack, NackRanges, ResyncReq,
    SeqRange, emit_control, emit_control_authenticated,
};
use ssyncp_wire::{AuthError, EmitError};

use crate::config::{Config, ConfigError};
use crate::counters::Counters;
use crate::entry::{ChangeError, Entry, EntryKey, PackedKey};
use crate::output::{
    Apply, Change, Destination, Event, Output, Payload, ResyncReason, Role, Transmit,
};
use crate::replay::{ReplayCheck, ReplayWindow};
use crate::table::{Slot, Table};
use crate::time::{Duration, Instant};

/// Steps the refresh walk is divided into per refresh period.
const REFRESH_STEPS: u64 = 100;
/// Slices one aging pass is divided into.
const AGING_SLICES: u64 = 10;
/// A sender first heard at a sequence number up to this is followed from
/// sequence 1 of its epoch (its first messages are NACKed, not resynced).
const EPOCH_START_SEQS: u32 = 256;
/// Most messages resent for one NACK (the rest are resent when the receiver
/// repeats its NACK), bounding what one small datagram can trigger.
const MAX_RESENDS_PER_NACK: usize = 256;
/// Largest control message: header, NACK with 64 ranges, trailer.
const CONTROL_BUF_LEN: usize = 20 + 8 + 8 * MAX_NACK_RANGES + 20;

/// A change waiting to be packed into a DATA message.
#[derive(Debug, Clone)]
struct PendingEntry {
    entry: Entry,
    delete: bool,
    padded: usize,
}

/// A bulk resync in progress.
#[derive(Debug, Clone, Copy)]
struct BulkRun {
    /// Last key sent (the walk continues after it).
    cursor: Option<u32>,
    /// Whether BULK_START has been sent.
    started: bool,
}

/// An outstanding gap in a sender's stream.
#[derive(Debug, Clone, Copy)]
struct Gap {
    next_nack_at: Instant,
    retries: u32,
}

/// The ordered stream of one data sender (DATA, BULK, ALIVE).
#[derive(Debug, Clone, Default)]
struct Stream {
    /// Next extended sequence number to apply.
    next_apply: u64,
    /// Messages received ahead of `next_apply`, by extended sequence number.
    buffer: BTreeMap<u64, Vec<u8>>,
    buffer_bytes: usize,
    gap: Option<Gap>,
    /// Apply generation at the BULK_START being followed (cleared by a skipped gap).
    bulk_mark: Option<u64>,
    /// Upper bound on the entries written before `bulk_mark` and not since:
    /// when it reaches 0 the sweep at BULK_END has nothing to find.
    stale_left: usize,
}

/// What is known about one remote sender.
#[derive(Debug, Clone)]
struct Peer {
    addr: IpAddr,
    epoch: u32,
    window: ReplayWindow,
    last_heard: Instant,
    stream: Option<Stream>,
    /// Whether a stream was already followed in this epoch (a stream
    /// dropped by a role change is not backfilled from sequence 1).
    followed: bool,
}

/// A pending resync request.
#[derive(Debug, Clone, Copy)]
struct Resync {
    next_at: Instant,
}

/// The SSYNCP session engine for one Sync ID. See the crate docs for the run loop.
#[derive(Debug)]
pub struct Engine {
    cfg: Config,
    entry_room: usize,
    role: Role,
    epoch: u32,
    next_seq: u32,
    last_tx: Instant,
    table: Table,
    outputs: VecDeque<Output>,
    counters: Counters,
    generation: u64,
    // Sender side.
    pending: VecDeque<PendingEntry>,
    pending_bytes: usize,
    pending_since: Option<Instant>,
    ring: VecDeque<(u32, Payload)>,
    ring_bytes: usize,
    bulk: Option<BulkRun>,
    bulk_again: bool,
    next_bulk_at: Instant,
    refresh_cursor: Option<u32>,
    next_refresh_at: Instant,
    // Receiver side.
    peers: BTreeMap<u32, Peer>,
    master: Option<u32>,
    previous_master: Option<u32>,
    split_brain_reported: Option<u32>,
    resync: Option<Resync>,
    last_resync_sent: Option<Instant>,
    in_sync: bool,
    aging_cursor: Option<u32>,
    next_aging_at: Instant,
}

impl Engine {
    /// Creates an engine in the BACKUP role, which immediately asks the
    /// group for a resync (spec §5.9: a starting node is a receiver).
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let entry_room = config.entry_room();
        let epoch = config.epoch;
        let hash_seed = config.hash_seed;
        let mut engine = Self {
            cfg: config,
            entry_room,
            role: Role::Backup,
            epoch,
            next_seq: 1,
            last_tx: now,
            table: Table::new(hash_seed),
            outputs: VecDeque::new(),
            counters: Counters::default(),
            generation: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            pending_since: None,
            ring: VecDeque::new(),
            ring_bytes: 0,
            bulk: None,
            bulk_again: false,
            next_bulk_at: now,
            refresh_cursor: None,
            next_refresh_at: now,
            peers: BTreeMap::new(),
            master: None,
            previous_master: None,
            split_brain_reported: None,
            resync: None,
            last_resync_sent: None,
            in_sync: false,
            aging_cursor: None,
            next_aging_at: now,
        };
        engine.request_resync(now, ResyncReason::Startup);
        Ok(engine)
    }

    // ----------------------------------------------------------------- queries

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The epoch of the messages this node sends now.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether this backup holds the master's complete state: a bulk was
    /// applied since the last request and no gap is outstanding.
    pub fn is_in_sync(&self) -> bool {
        self.in_sync
    }

    /// Whether a bulk resync is being sent.
    pub fn bulk_in_progress(&self) -> bool {
        self.bulk.is_some()
    }

    /// Number of entries in the table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The entry stored under `key` (rebuilt from the table's compact form).
    pub fn get(&self, key: &EntryKey) -> Option<Entry> {
        self.table.get(&PackedKey::pack(key)).map(Slot::entry)
    }

    /// Whether an entry is stored under `key`.
    pub fn contains(&self, key: &EntryKey) -> bool {
        self.table.contains_key(&PackedKey::pack(key))
    }

    /// Every key (in table order: no particular one), without rebuilding entries.
    pub fn keys(&self) -> impl Iterator<Item = EntryKey> + '_ {
        self.table.iter().map(|(key, _)| key.unpack())
    }

    /// Every entry with its key (in table order: no particular one).
    pub fn entries(&self) -> impl Iterator<Item = (EntryKey, Entry)> + '_ {
        self.table
            .iter()
            .map(|(key, slot)| (key.unpack(), slot.entry()))
    }

    // ----------------------------------------------------------------- outputs

    /// The next output, in the order the daemon must act on them; call until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called
    /// (`None`: only when input arrives).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| next = Some(next.map_or(at, |n| n.min(at)));
        match self.role {
            Role::Master => {
                if let Some(since) = self.pending_since {
                    consider(since + self.cfg.flush_delay);
                }
                if self.bulk.is_some() {
                    consider(self.next_bulk_at);
                }
                if !self.cfg.refresh_period.is_zero() && !self.table.is_empty() {
                    consider(self.next_refresh_at);
                }
                consider(self.last_tx + self.cfg.alive_interval);
            }
            Role::Backup => {
                for peer in self.peers.values() {
                    if let Some(gap) = peer.stream.as_ref().and_then(|s| s.gap) {
                        consider(gap.next_nack_at);
                    }
                }
                if let Some(resync) = self.resync {
                    consider(resync.next_at);
                }
                if !self.table.is_empty() {
                    consider(self.next_aging_at);
                }
            }
            Role::Fault => {}
        }
        next
    }

    // ------------------------------------------------------------------ inputs

    /// Runs every timer that is due at `now`. Spurious calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.role {
            Role::Master => self.master_timers(now),
            Role::Backup => self.backup_timers(now),
            Role::Fault => {}
        }
        self.update_in_sync();
    }

    /// Takes a local change (the daemon's conntrack or IPVS event). As
    /// MASTER it is stored and queued for sending; in other roles it is
    /// ignored (the table follows the master) and `Ok(false)` is returned.
    pub fn handle_local_change(
        &mut self,
        now: Instant,
        change: Change,
    ) -> Result<bool, ChangeError> {
        if self.role != Role::Master {
            return Ok(false);
        }
        match change {
            Change::Upsert(entry) => {
                let padded = entry.check_encodable(self.entry_room)?;
                let key = PackedKey::pack(&entry.key());
                if self.table.len() >= self.cfg.max_entries && !self.table.contains_key(&key) {
                    return Err(ChangeError::TableFull(self.cfg.max_entries));
                }
                let slot = Slot::new(
                    entry.clone(),
                    self.expiry(now, entry.timeout_secs()),
                    self.generation,
                );
                self.table.insert(key, slot);
                self.queue(now, entry, false, padded);
            }
            Change::Delete(key) => {
                let entry = key.delete_entry()?;
                let padded = entry.check_encodable(self.entry_room)?;
                self.table.remove(&PackedKey::pack(&key));
                self.queue(now, entry, true, padded);
            }
        }
        Ok(true)
    }

    /// Changes the role (driven by the VRRP instance or sync group).
    ///
    /// Becoming MASTER first applies everything received (out-of-order
    /// messages whose gaps can no longer be repaired included), emits
    /// [`Output::Commit`], then starts a new epoch at sequence 1 and a bulk.
    /// Leaving MASTER sends what is still queued and stops sending; becoming
    /// BACKUP asks the new master for a resync.
    pub fn handle_role(&mut self, now: Instant, role: Role) {
        if role == self.role {
            return;
        }
        let old = self.role;
        match role {
            Role::Master => {
                let senders: Vec<u32> = self.peers.keys().copied().collect();
                for sender in senders {
                    if let Some(mut stream) = self.take_stream(sender) {
                        self.drain(now, &mut stream, u64::MAX);
                    }
                }
                self.outputs.push_back(Output::Commit);
                self.role = Role::Master;
                self.resync = None;
                self.set_in_sync(false);
                self.epoch = self.epoch.wrapping_add(1);
                self.next_seq = 1;
                self.ring.clear();
                self.ring_bytes = 0;
                self.pending.clear();
                self.pending_bytes = 0;
                self.pending_since = None;
                self.last_tx = now;
                self.refresh_cursor = None;
                self.next_refresh_at = now + self.refresh_step();
                self.bulk = None;
                self.bulk_again = false;
                self.start_bulk(now);
            }
            Role::Backup | Role::Fault => {
                if old == Role::Master {
                    self.flush_pending(now, true);
                    self.bulk = None;
                    self.bulk_again = false;
                }
                for peer in self.peers.values_mut() {
                    peer.stream = None;
                }
                self.role = role;
                if role == Role::Backup {
                    self.restart_aging(now);
                    self.request_resync(now, ResyncReason::Startup);
                } else {
                    self.resync = None;
                }
                self.set_in_sync(false);
            }
        }
    }

    /// Takes one received SSYNCP message (the IP payload, after the daemon's
    /// TTL check) from `src`. Invalid, forged, foreign or replayed messages
    /// are counted and dropped without touching the table.
    pub fn handle_datagram(&mut self, now: Instant, src: IpAddr, bytes: &[u8]) {
        self.counters.rx_datagrams += 1;
        let view = match MessageView::parse(bytes) {
            Ok(view) => view,
            Err(error) => {
                self.count_decode_error(error);
                return;
            }
        };
        let header = view.header();
        if header.sync_id != self.cfg.sync_id {
            self.counters.rx_wrong_sync_id += 1;
            return;
        }
        if !self.cfg.auth_keys.is_empty()
            && let Err(error) = view.verify(self.cfg.auth_keys.as_slice())
        {
            match error {
                AuthError::NotAuthenticated => self.counters.rx_unauthenticated += 1,
                AuthError::UnknownKey { .. } => self.counters.rx_unknown_key += 1,
                _ => self.counters.rx_bad_mac += 1,
            }
            return;
        }
        if header.sender_id == self.cfg.sender_id {
            self.counters.rx_own_message += 1;
            return;
        }
        if let Some(allowed) = &self.cfg.allowed_senders
            && !allowed.contains(&header.sender_id)
        {
            self.counters.rx_unknown_sender += 1;
            return;
        }
        if self.role == Role::Fault {
            self.counters.rx_ignored_role += 1;
            return;
        }
        let Some(ext) = self.admit(now, src, &header) else {
            return;
        };
        self.counters.rx_accepted += 1;
        match header.kind {
            MessageType::Data | MessageType::Bulk | MessageType::Alive => {
                self.on_stream_message(now, &header, ext, &view);
            }
            MessageType::Nack => {
                if let Some(ControlBody::Nack(nack)) = view.control() {
                    self.on_nack(now, src, &nack);
                }
            }
            MessageType::ResyncReq => {
                if let Some(ControlBody::ResyncReq(req)) = view.control() {
                    self.on_resync_req(now, &req);
                }
            }
            MessageType::Status => {}
        }
        self.update_in_sync();
    }

    // ------------------------------------------------------------- receiving

    fn count_decode_error(&mut self, error: DecodeError) {
        let c = &mut self.counters;
        match error {
            DecodeError::BadChecksum { .. } => c.rx_bad_checksum += 1,
            DecodeError::UnsupportedVersion(_) => c.rx_unsupported_version += 1,
            _ => c.rx_malformed += 1,
        }
    }

    /// Peer bookkeeping, epoch and replay checks; the extended sequence
    /// number when the message is fresh.
    fn admit(&mut self, now: Instant, src: IpAddr, header: &Header) -> Option<u64> {
        let sender = header.sender_id;
        if !self.peers.contains_key(&sender) {
            if self.peers.len() >= self.cfg.max_peers {
                let master = self.master;
                let victim = self
                    .peers
                    .iter()
                    .filter(|(id, _)| Some(**id) != master)
                    .min_by_key(|(_, peer)| peer.last_heard)
                    .map(|(id, _)| *id);
                match victim {
                    Some(victim) => {
                        self.peers.remove(&victim);
                    }
                    None => {
                        self.counters.rx_unknown_sender += 1;
                        return None;
                    }
                }
            }
            let peer = Peer {
                addr: src,
                epoch: header.epoch,
                window: ReplayWindow::new(self.cfg.replay_window),
                last_heard: now,
                stream: None,
                followed: false,
            };
            self.peers.insert(sender, peer);
        }
        let window_size = self.cfg.replay_window;
        let peer = self.peers.get_mut(&sender)?;
        if header.epoch < peer.epoch {
            self.counters.rx_old_epoch += 1;
            return None;
        }
        let mut new_epoch = false;
        if header.epoch > peer.epoch {
            peer.epoch = header.epoch;
            peer.window = ReplayWindow::new(window_size);
            peer.stream = None;
            peer.followed = false;
            new_epoch = true;
        }
        match peer.window.check_and_mark(header.sequence) {
            ReplayCheck::Replay => {
                self.counters.rx_replayed += 1;
                None
            }
            ReplayCheck::Fresh(ext) => {
                peer.addr = src;
                peer.last_heard = now;
                if new_epoch {
                    self.outputs.push_back(Output::Event(Event::NewEpoch {
                        sender,
                        epoch: header.epoch,
                    }));
                }
                Some(ext)
            }
        }
    }

    fn take_stream(&mut self, sender: u32) -> Option<Stream> {
        self.peers.get_mut(&sender)?.stream.take()
    }

    fn put_stream(&mut self, sender: u32, stream: Stream) {
        if let Some(peer) = self.peers.get_mut(&sender) {
            peer.stream = Some(stream);
        }
    }

    fn on_stream_message(
        &mut self,
        now: Instant,
        header: &Header,
        ext: u64,
        view: &MessageView<'_>,
    ) {
        let sender = header.sender_id;
        if self.role != Role::Backup {
            self.counters.rx_ignored_role += 1;
            if self.split_brain_reported != Some(sender) {
                self.split_brain_reported = Some(sender);
                self.outputs
                    .push_back(Output::Event(Event::SplitBrainSuspected { sender }));
            }
            return;
        }
        if self.master != Some(sender) {
            if self.previous_master == Some(sender) {
                self.outputs
                    .push_back(Output::Event(Event::SplitBrainSuspected { sender }));
            }
            self.previous_master = self.master;
            self.master = Some(sender);
        }
        let bulk_start =
            header.kind == MessageType::Bulk && header.flags.contains(Flags::BULK_START);
        let mut resync_reason = None;
        let followed = self.peers.get(&sender).is_some_and(|p| p.followed);
        if let Some(peer) = self.peers.get_mut(&sender) {
            peer.followed = true;
        }
        let mut stream = match self.take_stream(sender) {
            Some(stream) => stream,
            None => {
                let seq = header.sequence;
                let next_apply = if !followed && (1..=EPOCH_START_SEQS).contains(&seq) {
                    ext - u64::from(seq - 1)
                } else {
                    if !bulk_start {
                        resync_reason = Some(ResyncReason::NewSender);
                    }
                    ext
                };
                Stream {
                    next_apply,
                    ..Stream::default()
                }
            }
        };
        if ext < stream.next_apply {
            self.counters.rx_late += 1;
        } else if ext == stream.next_apply {
            self.process(now, &mut stream, view);
            stream.next_apply = ext + 1;
            self.drain(now, &mut stream, 0);
        } else {
            let bytes = view.as_bytes();
            let too_far = ext - stream.next_apply >= u64::from(self.cfg.replay_window);
            let too_big = stream.buffer_bytes + bytes.len() > self.cfg.max_reorder_bytes;
            stream.buffer.insert(ext, bytes.to_vec());
            stream.buffer_bytes += bytes.len();
            if bulk_start {
                // A bulk supersedes whatever the holes before it carried.
                self.drain(now, &mut stream, ext + 1);
            } else if too_far || too_big {
                self.drain(now, &mut stream, u64::MAX);
                resync_reason = Some(ResyncReason::GapGivenUp);
            } else if stream.gap.is_none() {
                stream.gap = Some(Gap {
                    next_nack_at: now + self.cfg.nack_delay,
                    retries: 0,
                });
            }
        }
        self.put_stream(sender, stream);
        if let Some(reason) = resync_reason {
            self.request_resync(now, reason);
        }
    }

    /// Applies buffered messages in order. Holes before `skip_below` are
    /// given up (the bulk being followed is then incomplete); holes at or
    /// after it stop the drain.
    fn drain(&mut self, now: Instant, stream: &mut Stream, skip_below: u64) {
        let mut progressed = false;
        while let Some((&ext, _)) = stream.buffer.first_key_value() {
            if ext > stream.next_apply {
                if ext >= skip_below {
                    break;
                }
                stream.bulk_mark = None;
                self.counters.gaps_given_up += 1;
                stream.next_apply = ext;
            }
            let Some(bytes) = stream.buffer.remove(&ext) else {
                break;
            };
            stream.buffer_bytes = stream.buffer_bytes.saturating_sub(bytes.len());
            if ext == stream.next_apply {
                // Validated when it arrived; parsing again cannot fail.
                if let Ok(view) = MessageView::parse(&bytes) {
                    self.process(now, stream, &view);
                }
                stream.next_apply = ext + 1;
                progressed = true;
            }
        }
        if stream.buffer.is_empty() {
            stream.gap = None;
        } else if progressed || stream.gap.is_none() {
            stream.gap = Some(Gap {
                next_nack_at: now + self.cfg.nack_delay,
                retries: 0,
            });
        }
    }

    /// Applies one in-order stream message.
    fn process(&mut self, now: Instant, stream: &mut Stream, view: &MessageView<'_>) {
        let header = view.header();
        if !header.kind.carries_entries() {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        let bulk = header.kind == MessageType::Bulk;
        if bulk && header.flags.contains(Flags::BULK_START) {
            stream.bulk_mark = Some(generation);
            stream.stale_left = self.table.len();
        }
        for entry in view.entries() {
            match entry.repr() {
                Ok(repr) => {
                    let previous = self.apply_entry(now, &repr, generation);
                    if let (Some(mark), Some(previous)) = (stream.bulk_mark, previous)
                        && previous < mark
                    {
                        stream.stale_left = stream.stale_left.saturating_sub(1);
                    }
                }
                Err(_) => self.counters.rx_entries_dropped += 1,
            }
        }
        if bulk {
            if let Some(resync) = &mut self.resync {
                // A bulk is flowing: do not ask for another one yet.
                resync.next_at = now + self.cfg.resync_retry_interval;
            }
            if header.flags.contains(Flags::BULK_END)
                && let Some(mark) = stream.bulk_mark.take()
            {
                let swept = if stream.stale_left > 0 {
                    self.sweep(mark)
                } else {
                    0
                };
                self.counters.bulks_applied += 1;
                self.resync = None;
                self.outputs
                    .push_back(Output::Event(Event::BulkApplied { swept }));
            }
        }
    }

    /// Applies one entry; returns the generation of the slot it replaced
    /// or removed, if there was one.
    fn apply_entry(&mut self, now: Instant, repr: &EntryRepr<'_>, generation: u64) -> Option<u64> {
        let key = EntryKey::of_repr(repr);
        let packed = PackedKey::pack(&key);
        if repr.delete {
            let removed = self.table.remove(&packed)?;
            self.counters.applied_deletes += 1;
            self.outputs.push_back(Output::Apply(Apply::Delete(key)));
            return Some(removed.generation);
        }
        if self.table.len() >= self.cfg.max_entries && !self.table.contains_key(&packed) {
            self.counters.table_full += 1;
            return None;
        }
        let entry = Entry::from_repr(repr);
        let expires_at = self.expiry(now, entry.timeout_secs());
        let previous = self
            .table
            .insert(packed, Slot::new(entry.clone(), expires_at, generation));
        let apply = match previous {
            Some(_) => Apply::Upsert(entry),
            None => Apply::Create(entry),
        };
        self.outputs.push_back(Output::Apply(apply));
        self.counters.applied_upserts += 1;
        previous
    }

    /// Removes every entry not written since generation `mark`.
    fn sweep(&mut self, mark: u64) -> u32 {
        let stale: Vec<u32> = self
            .table
            .after(None)
            .filter(|(_, slot)| slot.generation < mark)
            .map(|(at, _)| at)
            .collect();
        let mut swept = 0u64;
        for at in stale {
            if let Some((key, _)) = self.table.remove_at(at) {
                swept += 1;
                self.outputs
                    .push_back(Output::Apply(Apply::Delete(key.unpack())));
            }
        }
        self.counters.swept += swept;
        u32::try_from(swept).unwrap_or(u32::MAX)
    }

    fn expiry(&self, now: Instant, timeout_secs: u32) -> Instant {
        let mut life = Duration::from_secs(u64::from(timeout_secs)) + self.cfg.aging_grace;
        if !self.cfg.stale_after.is_zero() {
            life = life.min(self.cfg.stale_after);
        }
        now + life
    }

    fn restart_aging(&mut self, now: Instant) {
        let grace = self.cfg.aging_grace;
        let stale = self.cfg.stale_after;
        for slot in self.table.values_mut() {
            let mut life = Duration::from_secs(u64::from(slot.timeout_secs())) + grace;
            if !stale.is_zero() {
                life = life.min(stale);
            }
            slot.expires_at = now + life;
        }
        self.aging_cursor = None;
        self.next_aging_at = now + self.aging_step();
    }

    fn aging_step(&self) -> Duration {
        Duration::from_micros((self.cfg.aging_scan_period.as_micros() / AGING_SLICES).max(1))
    }

    fn update_in_sync(&mut self) {
        let in_sync = self.role == Role::Backup
            && self.resync.is_none()
            && self.master.is_some_and(|master| {
                self.peers
                    .get(&master)
                    .and_then(|peer| peer.stream.as_ref())
                    .is_some_and(|stream| stream.buffer.is_empty())
            });
        self.set_in_sync(in_sync);
    }

    fn set_in_sync(&mut self, in_sync: bool) {
        if in_sync != self.in_sync {
            self.in_sync = in_sync;
            self.outputs
                .push_back(Output::Event(Event::InSync(in_sync)));
        }
    }

    fn backup_timers(&mut self, now: Instant) {
        let due: Vec<u32> = self
            .peers
            .iter()
            .filter(|(_, peer)| {
                peer.stream
                    .as_ref()
                    .and_then(|s| s.gap)
                    .is_some_and(|gap| gap.next_nack_at <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for sender in due {
            let Some(mut stream) = self.take_stream(sender) else {
                continue;
            };
            let mut give_up = false;
            if let Some(mut gap) = stream.gap {
                if gap.retries >= self.cfg.nack_max_retries {
                    give_up = true;
                } else {
                    self.send_nack(now, sender, &stream);
                    gap.retries += 1;
                    gap.next_nack_at = now + self.cfg.nack_retry_interval;
                    stream.gap = Some(gap);
                }
            }
            if give_up {
                self.drain(now, &mut stream, u64::MAX);
            }
            self.put_stream(sender, stream);
            if give_up {
                self.request_resync(now, ResyncReason::GapGivenUp);
            }
        }
        if let Some(resync) = self.resync
            && resync.next_at <= now
        {
            self.request_resync(now, ResyncReason::Retry);
        }
        if !self.table.is_empty() && self.next_aging_at <= now {
            self.aging_slice(now);
        }
    }

    fn aging_slice(&mut self, now: Instant) {
        let len = self.table.len() as u64;
        let count = len.div_ceil(AGING_SLICES).max(1) as usize;
        let start = self.aging_cursor;
        let mut expired = Vec::new();
        let mut last = None;
        let mut seen = 0;
        for (at, slot) in self.table.after(start).take(count) {
            seen += 1;
            last = Some(at);
            if slot.expires_at <= now {
                expired.push(at);
            }
        }
        self.aging_cursor = if seen < count { None } else { last };
        for at in expired {
            if let Some((key, _)) = self.table.remove_at(at) {
                self.counters.expired += 1;
                self.outputs
                    .push_back(Output::Apply(Apply::Delete(key.unpack())));
            }
        }
        self.next_aging_at = now + self.aging_step();
    }

    fn send_nack(&mut self, now: Instant, sender: u32, stream: &Stream) {
        let Some(peer) = self.peers.get(&sender) else {
            return;
        };
        let (addr, epoch) = (peer.addr, peer.epoch);
        let mut ranges = NackRanges::new();
        let mut expected = stream.next_apply;
        for &ext in stream.buffer.keys() {
            if ext > expected {
                let range = SeqRange {
                    from: expected as u32,
                    to: (ext - 1) as u32,
                };
                if ranges.push(range).is_err() {
                    break;
                }
            }
            expected = ext + 1;
        }
        if ranges.is_empty() {
            return;
        }
        let body = ControlBody::Nack(Nack {
            target_sender: sender,
            target_epoch: epoch,
            ranges,
        });
        self.send_control(now, body, Flags::default(), Destination::Unicast(addr));
        self.counters.nacks_sent += 1;
    }

    fn request_resync(&mut self, now: Instant, reason: ResyncReason) {
        self.set_in_sync(false);
        let pending = self.resync.is_some();
        self.resync = Some(Resync {
            next_at: now + self.cfg.resync_retry_interval,
        });
        // Several triggers at once (a gap given up on each of two senders)
        // make one request.
        if pending
            && self
                .last_resync_sent
                .is_some_and(|at| now.saturating_since(at) < self.cfg.nack_retry_interval)
        {
            return;
        }
        let destination = self
            .master
            .and_then(|m| self.peers.get(&m))
            .map_or(Destination::Group, |peer| Destination::Unicast(peer.addr));
        let body = ControlBody::ResyncReq(ResyncReq {
            target_sender: 0,
            target_epoch: 0,
        });
        self.send_control(now, body, Flags::default(), destination);
        self.last_resync_sent = Some(now);
        self.counters.resync_requests_sent += 1;
        self.outputs
            .push_back(Output::Event(Event::ResyncRequested(reason)));
    }

    fn on_nack(&mut self, now: Instant, src: IpAddr, nack: &Nack) {
        if nack.target_sender != self.cfg.sender_id {
            return;
        }
        self.counters.nacks_received += 1;
        let mut missing = nack.target_epoch != self.epoch;
        let mut budget = self.ring.len().min(MAX_RESENDS_PER_NACK);
        if !missing {
            'ranges: for range in nack.ranges.as_slice() {
                let span = u64::from(range.to.wrapping_sub(range.from)) + 1;
                if span > self.ring.len() as u64 {
                    missing = true;
                    continue;
                }
                for step in 0..span {
                    if budget == 0 {
                        break 'ranges;
                    }
                    budget -= 1;
                    let seq = range.from.wrapping_add(step as u32);
                    match self.ring_lookup(seq) {
                        Some(bytes) => {
                            self.counters.tx_retransmits += 1;
                            self.outputs.push_back(Output::Transmit(Transmit {
                                destination: Destination::Unicast(src),
                                bytes,
                            }));
                        }
                        None => missing = true,
                    }
                }
            }
        }
        if missing {
            self.counters.nack_misses += 1;
            if self.role == Role::Master {
                self.start_bulk(now);
            }
        }
    }

    fn ring_lookup(&self, seq: u32) -> Option<Payload> {
        let (front, _) = self.ring.front()?;
        let index = seq.wrapping_sub(*front) as usize;
        self.ring
            .get(index)
            .filter(|(s, _)| *s == seq)
            .map(|(_, bytes)| bytes.clone())
    }

    fn on_resync_req(&mut self, now: Instant, req: &ResyncReq) {
        if self.role != Role::Master
            || (req.target_sender != 0 && req.target_sender != self.cfg.sender_id)
        {
            return;
        }
        self.counters.resync_requests_received += 1;
        self.start_bulk(now);
    }

    // --------------------------------------------------------------- sending

    fn header(&self, kind: MessageType, flags: u8) -> Header {
        Header {
            sync_id: self.cfg.sync_id,
            kind,
            flags: Flags(flags),
            sender_id: self.cfg.sender_id,
            epoch: self.epoch,
            sequence: self.next_seq,
        }
    }

    /// Hands a finished, sequenced message out and keeps it in the ring.
    fn commit_sent(&mut self, now: Instant, bytes: Vec<u8>, destination: Destination) {
        let bytes = Payload::new(bytes);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.last_tx = now;
        self.ring_bytes += bytes.len();
        self.ring.push_back((seq, bytes.clone()));
        while self.ring.len() > self.cfg.ring_messages || self.ring_bytes > self.cfg.ring_bytes {
            match self.ring.pop_front() {
                Some((_, old)) => self.ring_bytes -= old.len(),
                None => break,
            }
        }
        self.counters.tx_messages += 1;
        self.outputs
            .push_back(Output::Transmit(Transmit { destination, bytes }));
    }

    fn send_control(
        &mut self,
        now: Instant,
        body: ControlBody,
        flags: Flags,
        destination: Destination,
    ) {
        let header = self.header(body.message_type(), flags.0);
        let mut buf = [0u8; CONTROL_BUF_LEN];
        let written = match self.cfg.auth_keys.first() {
            Some(key) => emit_control_authenticated(&mut buf, &header, &body, key),
            None => emit_control(&mut buf, &header, &body),
        };
        // The buffer holds the largest control message and bodies are built
        // valid here, so emitting cannot fail; if it did, nothing is sent.
        if let Ok(bytes) = written {
            let bytes = bytes.to_vec();
            self.commit_sent(now, bytes, destination);
        }
    }

    fn message_buf(&self) -> Vec<u8> {
        vec![
            0u8;
            self.cfg
                .mtu
                .saturating_sub(IPV4_HEADER_LEN)
                .min(MAX_MESSAGE_LEN)
        ]
    }

    fn writer<'b, 'k>(
        buf: &'b mut [u8],
        mtu: usize,
        header: &Header,
        key: Option<&'k AuthKey>,
    ) -> Result<MessageWriter<'b, 'k>, EmitError> {
        match key {
            Some(key) => MessageWriter::new_authenticated(buf, mtu, header, key),
            None => MessageWriter::new(buf, mtu, header),
        }
    }

    fn queue(&mut self, now: Instant, entry: Entry, delete: bool, padded: usize) {
        self.pending.push_back(PendingEntry {
            entry,
            delete,
            padded,
        });
        self.pending_bytes += padded;
        self.pending_since.get_or_insert(now);
        self.flush_pending(now, false);
    }

    /// Sends full DATA messages (all queued changes when `all`).
    fn flush_pending(&mut self, now: Instant, all: bool) {
        while !self.pending.is_empty()
            && (all || self.pending_bytes >= self.entry_room || self.pending.len() >= MAX_COUNT)
        {
            let header = self.header(MessageType::Data, 0);
            let mut buf = self.message_buf();
            let Ok(mut writer) =
                Self::writer(&mut buf, self.cfg.mtu, &header, self.cfg.auth_keys.first())
            else {
                // Validated configuration: cannot happen. Drop rather than spin.
                self.pending.clear();
                self.pending_bytes = 0;
                break;
            };
            while let Some(item) = self.pending.front() {
                match writer.push(&item.entry.as_repr(item.delete)) {
                    Ok(()) => {}
                    Err(EmitError::Full) if !writer.is_empty() => break,
                    // Local changes were checked by `check_encodable`; a refreshed
                    // entry received under a larger MTU may not fit: dropped.
                    Err(_) => self.counters.tx_entries_too_large += 1,
                }
                self.pending_bytes = self.pending_bytes.saturating_sub(item.padded);
                self.pending.pop_front();
            }
            let count = writer.count();
            let len = writer.finish().len();
            buf.truncate(len);
            if count == 0 {
                continue;
            }
            self.counters.tx_data_entries += count as u64;
            self.commit_sent(now, buf, Destination::Group);
        }
        if self.pending.is_empty() {
            self.pending_since = None;
        }
    }

    fn start_bulk(&mut self, now: Instant) {
        if self.bulk.is_some() {
            self.bulk_again = true;
            return;
        }
        self.bulk = Some(BulkRun {
            cursor: None,
            started: false,
        });
        self.counters.bulks_started += 1;
        self.outputs.push_back(Output::Event(Event::BulkStarted));
        self.next_bulk_at = now;
        self.bulk_tick(now);
    }

    /// Sends up to the per-tick budget of BULK messages.
    fn bulk_tick(&mut self, now: Instant) {
        for _ in 0..self.cfg.bulk_messages_per_tick {
            let Some(run) = self.bulk else {
                break;
            };
            let header_seq = self.header(MessageType::Bulk, 0);
            let mut buf = self.message_buf();
            // Pick the entries of this message (walking on from the cursor),
            // then write them with BULK_START / BULK_END set as they turn out.
            let mut selected: Vec<Entry> = Vec::new();
            let mut used = 0;
            let mut more = false;
            let mut cursor = run.cursor;
            let mut too_large = 0u64;
            for (at, slot) in self.table.after(run.cursor) {
                let entry = slot.entry();
                let padded = entry.as_repr(false).padded_len();
                if padded > self.entry_room {
                    // Received under a larger MTU; it cannot be sent at this one.
                    too_large += 1;
                    cursor = Some(at);
                    continue;
                }
                if selected.len() == MAX_COUNT || used + padded > self.entry_room {
                    more = true;
                    break;
                }
                used += padded;
                selected.push(entry);
                cursor = Some(at);
            }
            let mut flags = 0;
            if !run.started {
                flags |= Flags::BULK_START;
            }
            if !more {
                flags |= Flags::BULK_END;
            }
            let header = Header {
                flags: Flags(flags),
                ..header_seq
            };
            let Ok(mut writer) =
                Self::writer(&mut buf, self.cfg.mtu, &header, self.cfg.auth_keys.first())
            else {
                // Validated configuration: cannot happen. Abandon the bulk.
                self.bulk = None;
                break;
            };
            for entry in &selected {
                // Sizes were checked above, so every push fits.
                let _ = writer.push(&entry.as_repr(false));
            }
            let written = writer.count();
            let len = writer.finish().len();
            buf.truncate(len);
            self.counters.tx_entries_too_large += too_large;
            self.counters.tx_bulk_entries += written as u64;
            self.commit_sent(now, buf, Destination::Group);
            if more {
                self.bulk = Some(BulkRun {
                    cursor,
                    started: true,
                });
            } else {
                self.bulk = None;
                self.outputs.push_back(Output::Event(Event::BulkFinished));
                if self.bulk_again {
                    self.bulk_again = false;
                    self.bulk = Some(BulkRun {
                        cursor: None,
                        started: false,
                    });
                    self.counters.bulks_started += 1;
                    self.outputs.push_back(Output::Event(Event::BulkStarted));
                }
            }
        }
        self.next_bulk_at = now + self.cfg.bulk_interval;
    }

    fn refresh_step(&self) -> Duration {
        Duration::from_micros((self.cfg.refresh_period.as_micros() / REFRESH_STEPS).max(1))
    }

    /// Re-advertises the next slice of the table (1/100 of it) as DATA.
    fn refresh_slice(&mut self, now: Instant) {
        let len = self.table.len();
        let count = (len as u64).div_ceil(REFRESH_STEPS).max(1) as usize;
        let start = self.refresh_cursor;
        let mut last = None;
        let batch: Vec<Entry> = self
            .table
            .after(start)
            .take(count)
            .map(|(at, slot)| {
                last = Some(at);
                slot.entry()
            })
            .collect();
        // At the end of the table the next step starts again from the front.
        self.refresh_cursor = if batch.len() < count { None } else { last };
        for entry in batch {
            // Stored entries were checked when they came in.
            let padded = entry.as_repr(false).padded_len();
            self.queue(now, entry, false, padded);
        }
        self.next_refresh_at = now + self.refresh_step();
    }

    fn master_timers(&mut self, now: Instant) {
        if self.bulk.is_some() && self.next_bulk_at <= now {
            self.bulk_tick(now);
        }
        if !self.cfg.refresh_period.is_zero() && self.next_refresh_at <= now {
            if self.table.is_empty() {
                self.next_refresh_at = now + self.refresh_step();
            } else {
                self.refresh_slice(now);
            }
        }
        if let Some(since) = self.pending_since
            && since + self.cfg.flush_delay <= now
        {
            self.flush_pending(now, true);
        }
        if self.last_tx + self.cfg.alive_interval <= now {
            let flags = if self.bulk.is_some() {
                Flags(Flags::BULK_ACTIVE)
            } else {
                Flags::default()
            };
            let live = u32::try_from(self.table.len()).unwrap_or(u32::MAX);
            let body = ControlBody::Alive(Alive { live_entries: live });
            self.send_control(now, body, flags, Destination::Group);
        }
    }
}
