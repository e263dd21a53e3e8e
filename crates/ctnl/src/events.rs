//! Conntrack events as a non-blocking, mio-registrable source.

use crate::codec::{MessageKind, decode_entry, message_kind};
use crate::consts::{NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_UPDATE};
use crate::entry::ConnEntry;
use crate::error::{Error, ParseError};
use crate::sys::NlSocket;
use crate::wire::Messages;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Receive buffer requested for an [`EventStream`] (16 MiB). Event bursts (a SYN flood, a
/// table flush) outrun a default 208 KiB buffer within milliseconds; conntrackd users run
/// 2–8 MiB. The kernel grants it through `SO_RCVBUFFORCE` when the process has
/// CAP_NET_ADMIN, else `SO_RCVBUF` caps it at `net.core.rmem_max`.
pub const DEFAULT_EVENT_RCVBUF: usize = 16 << 20;

/// Largest event datagram: one conntrack message is well below 1 KiB.
const RECV_BUF: usize = 16 << 10;

/// One conntrack event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was confirmed (entered the table).
    New(ConnEntry),
    /// A connection changed (state, status, mark, protoinfo, sequence adjustment…).
    ///
    /// There is no event when only the timer is refreshed by traffic.
    Update(ConnEntry),
    /// A connection left the table (timed out, deleted or flushed).
    Destroy(ConnEntry),
    /// The kernel dropped events because the receive buffer was full (`ENOBUFS`): the
    /// caller's view is stale and it should dump the table again.
    Overrun,
}

/// Which event groups to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups {
    /// `NFNLGRP_CONNTRACK_NEW`.
    pub new: bool,
    /// `NFNLGRP_CONNTRACK_UPDATE`.
    pub update: bool,
    /// `NFNLGRP_CONNTRACK_DESTROY`.
    pub destroy: bool,
}

impl Groups {
    /// All three groups.
    pub const ALL: Groups = Groups {
        new: true,
        update: true,
        destroy: true,
    };
}

/// A subscription to conntrack events in one network namespace.
///
/// The socket is non-blocking: register it with a [`mio::Poll`] for readable interest and
/// call [`EventStream::try_next`] until it returns `Ok(None)`.
#[derive(Debug)]
pub struct EventStream {
    sock: NlSocket,
    recv: Vec<u8>,
    queue: VecDeque<Result<Event, ParseError>>,
    rcvbuf: usize,
}

impl EventStream {
    /// Subscribes to `groups` in the current network namespace, with a receive buffer of
    /// [`DEFAULT_EVENT_RCVBUF`]. Joining the groups needs CAP_NET_ADMIN.
    ///
    /// Events are generated only while a listener exists (`net.netfilter.nf_conntrack_events`
    /// = 2, the default) or always (= 1); with 0 nothing arrives. Entries this process
    /// creates through ctnetlink are reported like any other.
    pub fn open(groups: Groups) -> Result<EventStream, Error> {
        let sock = NlSocket::open(true).map_err(|e| Error::io("socket", e))?;
        let rcvbuf = sock
            .set_rcvbuf(DEFAULT_EVENT_RCVBUF)
            .map_err(|e| Error::io("setsockopt(SO_RCVBUF)", e))?;
        let wanted = [
            (groups.new, NFNLGRP_CONNTRACK_NEW),
            (groups.update, NFNLGRP_CONNTRACK_UPDATE),
            (groups.destroy, NFNLGRP_CONNTRACK_DESTROY),
        ];
        for (on, group) in wanted {
            if on {
                sock.join_group(group)
                    .map_err(|e| Error::io("setsockopt(NETLINK_ADD_MEMBERSHIP)", e))?;
            }
        }
        Ok(EventStream {
            sock,
            recv: vec![0; RECV_BUF],
            queue: VecDeque::new(),
            rcvbuf,
        })
    }

    /// Subscribes in the network namespace at `netns` (e.g. `/run/netns/NAME`).
    pub fn open_in_netns(netns: &Path, groups: Groups) -> Result<EventStream, Error> {
        crate::sys::in_netns(netns, || EventStream::open(groups))
            .map_err(|e| Error::io("setns", e))?
    }

    /// Changes the receive buffer; returns the size the kernel granted (twice the request
    /// when it was honoured in full).
    pub fn set_receive_buffer(&mut self, bytes: usize) -> Result<usize, Error> {
        self.rcvbuf = self
            .sock
            .set_rcvbuf(bytes)
            .map_err(|e| Error::io("setsockopt(SO_RCVBUF)", e))?;
        Ok(self.rcvbuf)
    }

    /// The receive buffer size the kernel granted.
    pub fn receive_buffer(&self) -> usize {
        self.rcvbuf
    }

    /// The next event, or `Ok(None)` when none is pending.
    ///
    /// A malformed message yields `Err(Error::Parse)` for that message only; the stream
    /// stays usable.
    pub fn try_next(&mut self) -> Result<Option<Event>, Error> {
        loop {
            if let Some(item) = self.queue.pop_front() {
                return item.map(Some).map_err(Error::Parse);
            }
            let len = match self.sock.recv(&mut self.recv) {
                Ok(len) => len,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(Some(Event::Overrun));
                }
                Err(e) => return Err(Error::io("recvmsg", e)),
            };
            if len > self.recv.len() {
                return Err(Error::Truncated {
                    len,
                    cap: self.recv.len(),
                });
            }
            let datagram = self.recv.get(..len).unwrap_or_default();
            for msg in Messages::new(datagram) {
                let msg = match msg {
                    Ok(m) => m,
                    Err(e) => {
                        self.queue.push_back(Err(e));
                        break;
                    }
                };
                let Some(kind) = message_kind(&msg) else {
                    continue;
                };
                let event = decode_entry(msg.payload).map(|entry| match kind {
                    MessageKind::New => Event::New(entry),
                    MessageKind::Update => Event::Update(entry),
                    MessageKind::Destroy => Event::Destroy(entry),
                });
                self.queue.push_back(event);
            }
        }
    }
}

impl mio::event::Source for EventStream {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.sock.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.sock.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.sock.as_raw_fd()).deregister(registry)
    }
}
