//! Request/response access to the conntrack table: dump, create, update, delete, flush and
//! batched apply.

use crate::codec::{self, Request, decode_entry, message_kind};
use crate::consts::{
    NLM_F_ACK, NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN,
};
use crate::entry::ConnEntry;
use crate::error::Error;
use crate::sys::NlSocket;
use crate::wire::{Mark, Messages, Writer, error_code};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

/// Receive buffer requested for a [`Conntrack`] handle (4 MiB): enough for the error
/// replies of a full batch datagram and for dump chunks, with margin.
pub const DEFAULT_TABLE_RCVBUF: usize = 4 << 20;

/// Largest datagram a batch sends. Netlink refuses datagrams larger than the send buffer;
/// 64 KiB holds roughly 300 TCP entries and fits the default send buffer of every kernel.
const MAX_DATAGRAM: usize = 64 << 10;
/// Upper bound of one encoded entry request (two IPv6 tuples, protoinfo, seqadj, NAT).
const MAX_ENTRY_MSG: usize = 512;
/// Receive buffer for one datagram: dumps come in chunks of at most 32 KiB.
const RECV_BUF: usize = 64 << 10;
/// A request whose answer takes longer than this is reported as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// What to do with one entry in [`Conntrack::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Create the entry (`CT_NEW` with `NLM_F_CREATE|NLM_F_EXCL`); fails with `EEXIST`
    /// when it exists. NAT is re-created from the tuples.
    Create,
    /// Change the existing entry (`CT_NEW` without EXCL: timeout, status, mark, TCP state,
    /// sequence adjustment); when it does not exist (`ENOENT`) it is created instead.
    Update,
    /// Delete the entry by original tuple (and zone); fails with `ENOENT` when absent.
    Delete,
}

/// One request of a batch that the kernel refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Position of the entry in the batch given to [`Conntrack::apply`].
    pub index: usize,
    /// The operation asked for.
    pub op: Op,
    /// The kernel's errno (e.g. `libc::EEXIST`).
    pub errno: i32,
}

/// Outcome of [`Conntrack::apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Requests sent, fallbacks included.
    pub requests: usize,
    /// Datagrams (`sendmsg` calls) used.
    pub datagrams: usize,
    /// Updates that fell back to a create (`ENOENT`) or were retried without the status
    /// attribute (`EBUSY`: the kernel holds status bits the update would have cleared).
    pub fallbacks: usize,
    /// Requests that finally failed, in batch order.
    pub failures: Vec<Failure>,
    /// Refused updates not given their fallback because a later request of the same batch
    /// concerns the same entry.
    pub superseded: usize,
}

/// A handle on the conntrack table of one network namespace.
///
/// Blocking: every call waits for the kernel's answer (at most 10 s).
#[derive(Debug)]
pub struct Conntrack {
    sock: NlSocket,
    seq: u32,
    writer: Writer,
    recv: Vec<u8>,
    rcvbuf: usize,
}

impl Conntrack {
    /// Opens a handle on the current network namespace's table. Every ctnetlink request,
    /// dumps included, needs CAP_NET_ADMIN in that namespace.
    pub fn open() -> Result<Conntrack, Error> {
        let sock = NlSocket::open(false).map_err(|e| Error::io("socket", e))?;
        let rcvbuf = sock
            .set_rcvbuf(DEFAULT_TABLE_RCVBUF)
            .map_err(|e| Error::io("setsockopt(SO_RCVBUF)", e))?;
        sock.set_sndbuf(MAX_DATAGRAM * 4)
            .map_err(|e| Error::io("setsockopt(SO_SNDBUF)", e))?;
        sock.set_recv_timeout(REPLY_TIMEOUT)
            .map_err(|e| Error::io("setsockopt(SO_RCVTIMEO)", e))?;
        Ok(Conntrack {
            sock,
            seq: initial_seq(),
            writer: Writer::with_capacity(MAX_DATAGRAM),
            recv: vec![0; RECV_BUF],
            rcvbuf,
        })
    }

    /// Opens a handle on the table of the network namespace at `netns`
    /// (e.g. `/run/netns/NAME`); see [`crate::in_netns`].
    pub fn open_in_netns(netns: &Path) -> Result<Conntrack, Error> {
        crate::sys::in_netns(netns, Conntrack::open).map_err(|e| Error::io("setns", e))?
    }

    /// The receive buffer size the kernel granted (it reports twice the request).
    pub fn receive_buffer(&self) -> usize {
        self.rcvbuf
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Dumps the whole table (all families) into a vector.
    pub fn dump(&mut self) -> Result<Vec<ConnEntry>, Error> {
        let mut out = Vec::new();
        self.dump_each(|e| out.push(e))?;
        Ok(out)
    }

    /// Dumps the whole table, handing each entry to `f`; returns how many were seen.
    ///
    /// The dump is read to its end even when a record is malformed; the first such error is
    /// returned afterwards, so the handle stays usable.
    pub fn dump_each(&mut self, mut f: impl FnMut(ConnEntry)) -> Result<usize, Error> {
        let seq = self.next_seq();
        self.writer.clear();
        codec::encode_dump(&mut self.writer, seq)?;
        self.send_writer()?;
        let mut count = 0;
        let mut first_error: Option<Error> = None;
        let mut interrupted = false;
        loop {
            let len = self.recv_datagram("dump")?;
            let mut done = false;
            for msg in Messages::new(self.recv.get(..len).unwrap_or_default()) {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => {
                        first_error.get_or_insert(Error::Parse(e));
                        break;
                    }
                };
                if msg.seq != seq {
                    continue;
                }
                interrupted |= msg.flags & NLM_F_DUMP_INTR != 0;
                match msg.kind {
                    NLMSG_DONE => {
                        // The payload, when present, is the dump's final status.
                        let errno = error_code(msg.payload).unwrap_or(0);
                        if errno != 0 {
                            return Err(Error::Kernel { op: "dump", errno });
                        }
                        done = true;
                        break;
                    }
                    NLMSG_ERROR => {
                        let errno = error_code(msg.payload)?;
                        if errno != 0 {
                            return Err(Error::Kernel { op: "dump", errno });
                        }
                    }
                    NLMSG_NOOP | NLMSG_OVERRUN => {}
                    _ if message_kind(&msg).is_some() => match decode_entry(msg.payload) {
                        Ok(entry) => {
                            count += 1;
                            f(entry);
                        }
                        Err(e) => {
                            first_error.get_or_insert(Error::Parse(e));
                        }
                    },
                    _ => {}
                }
            }
            if done {
                break;
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        if interrupted {
            return Err(Error::DumpInterrupted);
        }
        Ok(count)
    }

    /// Creates `entry` (fails with `EEXIST` when it exists).
    pub fn create(&mut self, entry: &ConnEntry) -> Result<(), Error> {
        self.single(Op::Create, entry, "create")
    }

    /// Updates `entry` in place, creating it when absent.
    pub fn update(&mut self, entry: &ConnEntry) -> Result<(), Error> {
        self.single(Op::Update, entry, "update")
    }

    /// Deletes the entry with `entry`'s original tuple and zone.
    pub fn delete(&mut self, entry: &ConnEntry) -> Result<(), Error> {
        self.single(Op::Delete, entry, "delete")
    }

    fn single(&mut self, op: Op, entry: &ConnEntry, name: &'static str) -> Result<(), Error> {
        let report = self.apply([(op, entry)])?;
        match report.failures.first() {
            Some(f) => Err(Error::Kernel {
                op: name,
                errno: f.errno,
            }),
            None => Ok(()),
        }
    }

    /// Deletes every entry of every family in this namespace.
    pub fn flush(&mut self) -> Result<(), Error> {
        let seq = self.next_seq();
        self.writer.clear();
        codec::encode_flush(&mut self.writer, seq)?;
        self.send_writer()?;
        let mut failures = Vec::new();
        self.wait_ack(seq, "flush", |s, errno| failures.push((s, errno)))?;
        match failures.first() {
            Some(&(_, errno)) => Err(Error::Kernel { op: "flush", errno }),
            None => Ok(()),
        }
    }

    /// Applies many operations with few system calls.
    ///
    /// Requests are packed into datagrams of up to 64 KiB (several netlink messages each);
    /// only the last message of a datagram asks for an acknowledgement, so the kernel answers
    /// a datagram with one ACK plus one error message per refused request, matched back by
    /// sequence number. Updates that find no entry are retried as creates, and updates the
    /// kernel refuses with `EBUSY` are retried without `CTA_STATUS`, in a second round.
    ///
    /// Returns `Err` only when the socket itself fails or the kernel's answers are lost;
    /// refused requests are listed in [`ApplyReport::failures`].
    pub fn apply<'e>(
        &mut self,
        ops: impl IntoIterator<Item = (Op, &'e ConnEntry)>,
    ) -> Result<ApplyReport, Error> {
        let mut report = ApplyReport::default();
        let first: Vec<Job<'e>> = ops
            .into_iter()
            .enumerate()
            .map(|(index, (op, entry))| Job {
                index,
                op,
                entry,
                request: match op {
                    Op::Create => Request::Create,
                    Op::Update => Request::Update { with_status: true },
                    Op::Delete => Request::Delete,
                },
            })
            .collect();
        let refused = self.run_jobs(&first, &mut report)?;
        // A fallback runs after the whole batch, so it must not undo a later request for
        // the same entry (an update that becomes a create after a later delete would bring
        // the entry back): only the last request of each entry may fall back.
        let last: HashMap<_, usize> = if refused.is_empty() {
            HashMap::new()
        } else {
            // Later requests overwrite earlier ones: each entry maps to its last request.
            first.iter().map(|j| (j.entry.key(), j.index)).collect()
        };
        let superseded = |job: &Job<'e>| last.get(&job.entry.key()).is_some_and(|&i| i > job.index);
        let mut retry = Vec::new();
        for (job, errno) in refused {
            let retryable = matches!(
                (job.request, errno),
                (Request::Update { .. }, libc::ENOENT)
                    | (Request::Update { with_status: true }, libc::EBUSY)
            );
            if retryable && superseded(&job) {
                // What the later request did is what the table should show.
                report.superseded += 1;
                continue;
            }
            match (job.request, errno) {
                (Request::Update { .. }, libc::ENOENT) => retry.push(Job {
                    request: Request::Create,
                    ..job
                }),
                (Request::Update { with_status: true }, libc::EBUSY) => retry.push(Job {
                    request: Request::Update { with_status: false },
                    ..job
                }),
                _ => report.failures.push(Failure {
                    index: job.index,
                    op: job.op,
                    errno,
                }),
            }
        }
        report.fallbacks = retry.len();
        for (job, errno) in self.run_jobs(&retry, &mut report)? {
            report.failures.push(Failure {
                index: job.index,
                op: job.op,
                errno,
            });
        }
        report.failures.sort_by_key(|f| f.index);
        Ok(report)
    }

    /// Sends `jobs` in packed datagrams; returns the refused ones with their errno.
    fn run_jobs<'e>(
        &mut self,
        jobs: &[Job<'e>],
        report: &mut ApplyReport,
    ) -> Result<Vec<(Job<'e>, i32)>, Error> {
        let mut refused = Vec::new();
        let mut batch_start = 0;
        let mut first_seq = 0;
        let mut last: Option<(Mark, u32)> = None;
        self.writer.clear();
        for (i, job) in jobs.iter().enumerate() {
            if self.writer.len() + MAX_ENTRY_MSG > MAX_DATAGRAM && last.is_some() {
                self.flush_batch(
                    jobs.get(batch_start..i).unwrap_or_default(),
                    first_seq,
                    last,
                    &mut refused,
                    report,
                )?;
                last = None;
            }
            let seq = self.next_seq();
            if last.is_none() {
                batch_start = i;
                first_seq = seq;
            }
            let mark = codec::encode_request(&mut self.writer, job.entry, job.request, seq)?;
            last = Some((mark, seq));
            report.requests += 1;
        }
        self.flush_batch(
            jobs.get(batch_start..).unwrap_or_default(),
            first_seq,
            last,
            &mut refused,
            report,
        )?;
        Ok(refused)
    }

    fn flush_batch<'e>(
        &mut self,
        jobs: &[Job<'e>],
        first_seq: u32,
        last: Option<(Mark, u32)>,
        refused: &mut Vec<(Job<'e>, i32)>,
        report: &mut ApplyReport,
    ) -> Result<(), Error> {
        let Some((mark, last_seq)) = last else {
            return Ok(());
        };
        self.writer.add_flags(mark, NLM_F_ACK);
        self.send_writer()?;
        report.datagrams += 1;
        self.wait_ack(last_seq, "apply", |seq, errno| {
            let k = seq.wrapping_sub(first_seq) as usize;
            if let Some(job) = jobs.get(k) {
                refused.push((*job, errno));
            }
        })?;
        self.writer.clear();
        Ok(())
    }

    fn send_writer(&mut self) -> Result<(), Error> {
        let bytes = self.writer.bytes();
        let sent = self.sock.send(bytes).map_err(|e| Error::io("sendmsg", e))?;
        if sent != bytes.len() {
            return Err(Error::io(
                "sendmsg",
                std::io::Error::new(std::io::ErrorKind::WriteZero, "short netlink send"),
            ));
        }
        Ok(())
    }

    fn recv_datagram(&mut self, op: &'static str) -> Result<usize, Error> {
        match self.sock.recv(&mut self.recv) {
            Ok(len) if len > self.recv.len() => Err(Error::Truncated {
                len,
                cap: self.recv.len(),
            }),
            Ok(len) => Ok(len),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Err(Error::Overrun(op)),
            Err(e) => Err(Error::io("recvmsg", e)),
        }
    }

    /// Reads answers until the acknowledgement of `last_seq`; every error answer (including
    /// one for `last_seq` itself) is passed to `on_error(seq, errno)`.
    fn wait_ack(
        &mut self,
        last_seq: u32,
        op: &'static str,
        mut on_error: impl FnMut(u32, i32),
    ) -> Result<(), Error> {
        loop {
            let len = self.recv_datagram(op)?;
            let mut finished = false;
            for msg in Messages::new(self.recv.get(..len).unwrap_or_default()) {
                let msg = msg?;
                if msg.kind != NLMSG_ERROR {
                    continue;
                }
                let errno = error_code(msg.payload)?;
                if errno != 0 {
                    on_error(msg.seq, errno);
                }
                finished |= msg.seq == last_seq;
            }
            if finished {
                return Ok(());
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Job<'e> {
    index: usize,
    op: Op,
    entry: &'e ConnEntry,
    request: Request,
}

/// A starting sequence number that differs between handles, so stale answers meant for an
/// earlier handle on a reused port are not mistaken for ours.
fn initial_seq() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}
