//! The conntrack backend: reads the local table (dump and events) on the master, writes
//! received entries into it on a backup.
//!
//! * Writes are queued and sent in batches with [`ctnl::Conntrack::apply`] (up to about 300
//!   requests per netlink datagram). An entry new to the engine's table
//!   ([`Apply::Create`]) is created (`NLM_F_EXCL`); if the kernel already holds it
//!   (`EEXIST`, e.g. the flow reached this node by itself) it is updated instead. Later
//!   copies of the same entry are updates, which never carry NAT attributes (the kernel
//!   refuses to change NAT); an update that finds no entry (the kernel expired it, or its
//!   create was refused) becomes a create.
//! * Events: a MASTER subscribes to new, update and destroy events. A backup subscribes to
//!   destroy events only: it never sees (nor pays for) the NEW events of its own writes,
//!   yet the kernel gives the entries it writes the event extension, which it does only
//!   while some socket listens (`nf_conntrack_events` = 2, the default). Without it, the
//!   entries synced to a backup would never report their later changes and their end once
//!   it is promoted. On promotion the daemon first writes everything it received, then
//!   subscribes to all groups, then dumps the table to catch up.

use std::sync::Arc;

use ctnl::{ConnEntry, Conntrack, Event, EventStream, Groups, Op};
use mio::{Interest, Registry, Token};
use ssyncp_engine::{Apply, EntryKey};
use tracing::{debug, warn};

use crate::convert::{key_to_conn, to_conn};

/// Counters of the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Create/update requests the kernel accepted.
    pub written: u64,
    /// Delete requests sent.
    pub deleted: u64,
    /// Requests the kernel refused (after fallbacks).
    pub refused: u64,
    /// Batches written.
    pub batches: u64,
    /// Events read.
    pub events: u64,
    /// Event overruns (each followed by a re-dump).
    pub overruns: u64,
    /// Table dumps.
    pub dumps: u64,
}

enum Queued {
    /// A create or an update, as the engine's table tells.
    Write(Op, EntryKey, ConnEntry),
    Delete(EntryKey, ConnEntry),
}

/// A local change seen on the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalChange {
    /// An entry appeared or changed.
    Upsert(ConnEntry),
    /// An entry left the table.
    Destroy(ConnEntry),
    /// Events were lost: dump again.
    Overrun,
}

/// The local conntrack table.
#[derive(Debug)]
pub struct Kernel {
    table: Conntrack,
    writers: Vec<Writer>,
    events: Option<(EventStream, Groups)>,
    queue: Vec<QueuedDebug>,
    /// Writes handed to the writers and not answered yet.
    in_flight_entries: usize,
    timeout_cap: u32,
    counters: KernelCounters,
}

/// Wrapper so [`Kernel`] can derive `Debug` without printing whole batches.
struct QueuedDebug(Queued);

impl std::fmt::Debug for QueuedDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Queued::Write(op, k, _) => write!(f, "{op:?} {k:?}"),
            Queued::Delete(k, _) => write!(f, "delete {k:?}"),
        }
    }
}

impl Kernel {
    /// Opens the table of the current network namespace. Received entries are written with
    /// their timeout capped at `timeout_cap` seconds.
    /// Each writer thread calls `waker.wake()` after finishing a batch, so the loop can
    /// hand it the changes that queued up meanwhile.
    pub fn open(timeout_cap: u32, waker: Arc<mio::Waker>) -> Result<Self, ctnl::Error> {
        let writers = (0..WRITERS)
            .map(|i| Writer::spawn(i, Arc::clone(&waker)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Kernel {
            table: Conntrack::open()?,
            writers,
            events: None,
            queue: Vec::new(),
            in_flight_entries: 0,
            timeout_cap,
            counters: KernelCounters::default(),
        })
    }

    /// The counters.
    pub fn counters(&self) -> KernelCounters {
        self.counters
    }

    /// Queues one engine output for the next [`Kernel::flush`].
    pub fn queue(&mut self, apply: Apply) {
        match apply {
            Apply::Create(entry) => self.queue_write(Op::Create, &entry),
            Apply::Upsert(entry) => self.queue_write(Op::Update, &entry),
            Apply::Delete(key) => {
                if let Some(conn) = key_to_conn(&key) {
                    self.queue.push(QueuedDebug(Queued::Delete(key, conn)));
                }
            }
        }
    }

    fn queue_write(&mut self, op: Op, entry: &ssyncp_engine::Entry) {
        if let Some(conn) = to_conn(entry, self.timeout_cap) {
            self.queue
                .push(QueuedDebug(Queued::Write(op, entry.key(), conn)));
        }
    }

    /// Number of queued writes.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Writes not yet answered by the kernel: queued plus handed to a writer. The loop
    /// stops taking datagrams above [`BACKLOG_LIMIT`], so a burst waits in its compact
    /// wire form (about 48 bytes per entry) instead of as decoded requests (about 200).
    pub fn backlog(&self) -> usize {
        self.queue.len() + self.in_flight_entries
    }

    /// Hands every queued change to the writer threads without waiting for the kernel
    /// (at most [`MAX_IN_FLIGHT`] batches per writer are outstanding; beyond that this
    /// waits for the oldest). The loop keeps decoding while the kernel inserts.
    ///
    /// A batch is split by entry key over the writers, so changes to one key stay in
    /// order on one writer. (Measured: a second writer made a 100,000-entry resync slower,
    /// since ctnetlink serialises creates under its subsystem mutex; one is the default.)
    pub fn submit(&mut self) -> Result<(), ctnl::Error> {
        let mut result = Ok(());
        if !self.queue.is_empty() {
            let queue = std::mem::take(&mut self.queue);
            let count = self.writers.len().max(1);
            let mut parts: Vec<Vec<Job>> = (0..count).map(|_| Vec::new()).collect();
            for q in queue {
                let job = match q.0 {
                    Queued::Write(op, key, conn) => Job { op, key, conn },
                    Queued::Delete(key, conn) => Job {
                        op: Op::Delete,
                        key,
                        conn,
                    },
                };
                let slot = if count == 1 {
                    0
                } else {
                    (hash_key(&job.key) % count as u64) as usize
                };
                if let Some(part) = parts.get_mut(slot) {
                    part.push(job);
                }
            }
            for (i, part) in parts.into_iter().enumerate() {
                if part.is_empty() {
                    continue;
                }
                let Some(writer) = self.writers.get_mut(i) else {
                    continue;
                };
                let len = part.len();
                if writer.jobs.send(part).is_ok() {
                    writer.in_flight += 1;
                    self.in_flight_entries += len;
                }
            }
        }
        for i in 0..self.writers.len() {
            while self
                .writers
                .get(i)
                .is_some_and(|w| w.in_flight > MAX_IN_FLIGHT)
            {
                if let Err(e) = self.collect_one(i) {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// Submits what is queued and waits until the kernel has answered every batch: after
    /// this, everything handed to [`Kernel::queue`] is in the table (or was refused).
    pub fn flush(&mut self) -> Result<(), ctnl::Error> {
        let mut result = self.submit();
        for i in 0..self.writers.len() {
            while self.writers.get(i).is_some_and(|w| w.in_flight > 0) {
                if let Err(e) = self.collect_one(i) {
                    result = Err(e);
                }
            }
        }
        result
    }

    /// Hands the queue to the writers when one is idle or the queue is large: while the
    /// kernel works on one batch, the next one grows (fewer, fuller netlink datagrams under
    /// load; no added delay when idle). Also collects finished batches without waiting.
    pub fn submit_when_idle(&mut self) -> Result<(), ctnl::Error> {
        let mut result = Ok(());
        for i in 0..self.writers.len() {
            while let Some(writer) = self.writers.get_mut(i)
                && writer.in_flight > 0
                && let Ok(done) = writer.results.try_recv()
            {
                writer.in_flight -= 1;
                if let Err(e) = self.account(done) {
                    result = Err(e);
                }
            }
        }
        let idle = self.writers.iter().any(|w| w.in_flight == 0);
        if idle || self.queue.len() >= SUBMIT_AT {
            self.submit()?;
        }
        result
    }

    fn account(&mut self, (jobs, done): Answer) -> Result<(), ctnl::Error> {
        self.in_flight_entries = self.in_flight_entries.saturating_sub(jobs);
        let outcome = done?;
        self.counters.batches += 1;
        self.counters.written += outcome.written;
        self.counters.deleted += outcome.deleted;
        self.counters.refused += outcome.refused.len() as u64;
        Ok(())
    }

    /// Waits for the oldest outstanding batch of writer `i`.
    fn collect_one(&mut self, i: usize) -> Result<(), ctnl::Error> {
        let Some(writer) = self.writers.get_mut(i) else {
            return Ok(());
        };
        writer.in_flight = writer.in_flight.saturating_sub(1);
        match writer.results.recv() {
            Ok(done) => self.account(done),
            Err(_) => {
                writer.in_flight = 0;
                self.in_flight_entries = 0;
                Err(ctnl::Error::Io {
                    op: "conntrack writer thread",
                    source: std::io::ErrorKind::BrokenPipe.into(),
                })
            }
        }
    }

    /// Dumps the whole table.
    pub fn dump(&mut self) -> Result<Vec<ConnEntry>, ctnl::Error> {
        self.counters.dumps += 1;
        let mut out = Vec::new();
        // A dump interrupted by concurrent changes is retried a few times.
        for _ in 0..4 {
            out.clear();
            match self.table.dump_each(|e| out.push(e)) {
                Ok(_) => return Ok(out),
                Err(ctnl::Error::DumpInterrupted) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Subscribes to the event `groups` (all of them as MASTER, destroy only as BACKUP) and
    /// registers the socket with `registry`; a subscription to other groups is replaced.
    pub fn start_events(
        &mut self,
        registry: &Registry,
        token: Token,
        groups: Groups,
    ) -> Result<(), ctnl::Error> {
        if self.events.as_ref().is_some_and(|(_, g)| *g == groups) {
            return Ok(());
        }
        self.stop_events(registry);
        let mut stream = EventStream::open(groups)?;
        registry
            .register(&mut stream, token, Interest::READABLE)
            .map_err(|e| ctnl::Error::Io {
                op: "register event socket",
                source: e,
            })?;
        self.events = Some((stream, groups));
        Ok(())
    }

    /// Drops the event subscription.
    pub fn stop_events(&mut self, registry: &Registry) {
        if let Some((mut stream, _)) = self.events.take() {
            let _ = registry.deregister(&mut stream);
        }
    }

    /// Reads up to `limit` pending events; returns whether more may be pending.
    pub fn read_events(&mut self, limit: usize, mut f: impl FnMut(LocalChange)) -> bool {
        let Some((stream, _)) = self.events.as_mut() else {
            return false;
        };
        for _ in 0..limit {
            match stream.try_next() {
                Ok(None) => return false,
                Ok(Some(event)) => {
                    self.counters.events += 1;
                    match event {
                        Event::New(e) | Event::Update(e) => f(LocalChange::Upsert(e)),
                        Event::Destroy(e) => f(LocalChange::Destroy(e)),
                        Event::Overrun => {
                            self.counters.overruns += 1;
                            f(LocalChange::Overrun);
                        }
                    }
                }
                Err(ctnl::Error::Parse(e)) => debug!("malformed conntrack event: {e}"),
                Err(e) => {
                    warn!("conntrack events: {e}");
                    return false;
                }
            }
        }
        true
    }
}

const EEXIST: i32 = 17;
const ENOENT: i32 = 2;
/// The groups a BACKUP subscribes to (see the module docs).
pub const BACKUP_GROUPS: Groups = Groups {
    new: false,
    update: false,
    destroy: true,
};
/// Writer threads (each with its own ctnetlink socket).
const WRITERS: usize = 1;
/// Batches a writer may have outstanding before [`Kernel::submit`] waits.
pub const MAX_IN_FLIGHT: usize = 4;
/// Queue length at which [`Kernel::submit_when_idle`] submits even to a busy writer.
const SUBMIT_AT: usize = 4096;
/// Backlog (see [`Kernel::backlog`]) above which the loop stops taking datagrams until the
/// kernel catches up.
pub const BACKLOG_LIMIT: usize = 8192;

/// A writer's answer: how many jobs the batch had, and what became of them.
type Answer = (usize, Result<Outcome, ctnl::Error>);

fn hash_key(key: &EntryKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// One queued kernel write.
struct Job {
    op: Op,
    key: EntryKey,
    conn: ConnEntry,
}

/// What a writer did with one part of a batch.
struct Outcome {
    written: u64,
    deleted: u64,
    /// Creates/updates the kernel refused (their keys are not in the table).
    refused: Vec<EntryKey>,
}

/// A thread that writes batches with its own ctnetlink handle.
#[derive(Debug)]
struct Writer {
    in_flight: usize,
    jobs: std::sync::mpsc::Sender<Vec<Job>>,
    results: std::sync::mpsc::Receiver<Answer>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} {:?}", self.op, self.key)
    }
}

impl Writer {
    /// Opens the handle in the caller's network namespace (the thread inherits it).
    fn spawn(index: usize, waker: Arc<mio::Waker>) -> Result<Writer, ctnl::Error> {
        let mut table = Conntrack::open()?;
        let (jobs, job_rx) = std::sync::mpsc::channel::<Vec<Job>>();
        let (result_tx, results) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(format!("ct-writer-{index}"))
            .spawn(move || {
                for part in job_rx {
                    if result_tx
                        .send((part.len(), write_part(&mut table, &part)))
                        .is_err()
                    {
                        return;
                    }
                    let _ = waker.wake();
                }
            })
            .map_err(|e| ctnl::Error::Io {
                op: "spawn conntrack writer",
                source: e,
            })?;
        Ok(Writer {
            in_flight: 0,
            jobs,
            results,
        })
    }
}

/// Applies one part of a batch; creates refused with `EEXIST` are retried as updates.
fn write_part(table: &mut Conntrack, part: &[Job]) -> Result<Outcome, ctnl::Error> {
    let report = table.apply(part.iter().map(|j| (j.op, &j.conn)))?;
    let mut outcome = Outcome {
        written: 0,
        deleted: 0,
        refused: Vec::new(),
    };
    let mut failed = vec![false; part.len()];
    let mut exists = Vec::new();
    for failure in &report.failures {
        let Some(job) = part.get(failure.index) else {
            continue;
        };
        match (failure.op, failure.errno) {
            (Op::Create, EEXIST) => exists.push((failure.index, job)),
            // Already gone: the goal of a delete.
            (Op::Delete, ENOENT) => {}
            (op, errno) => {
                debug!("conntrack {op:?} refused: errno {errno}");
                if let Some(f) = failed.get_mut(failure.index) {
                    *f = true;
                }
            }
        }
    }
    // As in ctnl: a retry runs after the whole part, so it must not undo a later change of
    // the same entry (a create refused as existing, then a delete, must stay deleted).
    if !exists.is_empty() {
        let last: std::collections::HashMap<&EntryKey, usize> =
            part.iter().enumerate().map(|(i, j)| (&j.key, i)).collect();
        exists.retain(|(i, job)| last.get(&job.key) == Some(i));
    }
    let mut retry_refused = 0;
    if !exists.is_empty() {
        let retry = table.apply(exists.iter().map(|(_, j)| (Op::Update, &j.conn)))?;
        for f in &retry.failures {
            if let Some((_, job)) = exists.get(f.index) {
                debug!("conntrack update refused: errno {}", f.errno);
                outcome.refused.push(job.key);
                retry_refused += 1;
            }
        }
    }
    for (job, failed) in part.iter().zip(failed) {
        match (job.op, failed) {
            (Op::Delete, _) => outcome.deleted += 1,
            (_, true) => outcome.refused.push(job.key),
            (_, false) => outcome.written += 1,
        }
    }
    outcome.written = outcome.written.saturating_sub(retry_refused);
    Ok(outcome)
}
