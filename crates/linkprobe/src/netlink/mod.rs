//! Event-driven link monitoring over an rtnetlink socket subscribed to `RTNLGRP_LINK`.

pub mod parse;
mod table;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

pub use table::{DEFAULT_MAX_LINKS, LinkChange, LinkTable, NetlinkEvent};

use crate::error::{Op, ProbeError};
use crate::ifname::IfName;
use crate::probe::LinkProbe;
use crate::status::{LinkStatus, Method};
use crate::sys;

/// Multicast group bit for `RTNLGRP_LINK` (`RTMGRP_LINK`).
const RTMGRP_LINK: u32 = 0x1;
/// Receive buffer: large enough for any single netlink datagram the kernel sends.
const RECV_BUFFER_LEN: usize = 64 * 1024;

/// How to open a [`NetlinkMonitor`].
#[derive(Debug, Clone, Default)]
pub struct NetlinkOptions {
    /// Network namespace file to monitor (e.g. `/run/netns/NAME`); `None` = the caller's.
    pub netns: Option<PathBuf>,
    /// Socket receive buffer size (`SO_RCVBUF`); `None` keeps the system default. Larger values
    /// make overruns rarer; tiny values are useful to test overrun recovery.
    pub recv_buffer_bytes: Option<usize>,
    /// Cap on tracked links; `None` = [`DEFAULT_MAX_LINKS`].
    pub max_links: Option<usize>,
}

/// A non-blocking rtnetlink socket subscribed to link notifications, with the link table it
/// maintains. Register it with mio, call [`NetlinkMonitor::drain`] on readiness.
#[derive(Debug)]
pub struct NetlinkMonitor {
    fd: OwnedFd,
    table: LinkTable,
    buf: Box<[u8]>,
    foreign_dropped: u64,
}

impl NetlinkMonitor {
    /// Opens the socket, subscribes to `RTNLGRP_LINK` and requests the initial link dump
    /// (its entries arrive as events on the first drains, then [`NetlinkEvent::Synchronized`]).
    pub fn open(options: &NetlinkOptions) -> Result<Self, ProbeError> {
        let fd = sys::socket_in(
            options.netns.as_deref(),
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            libc::NETLINK_ROUTE,
        )
        .map_err(|(op, e)| ProbeError::os(op, e))?;
        if let Some(bytes) = options.recv_buffer_bytes {
            sys::set_recv_buffer(fd.as_fd(), bytes, false)
                .map_err(|e| ProbeError::os(Op::Socket, e))?;
        }
        sys::netlink_bind(fd.as_fd(), RTMGRP_LINK).map_err(|e| ProbeError::os(Op::Netlink, e))?;
        let mut monitor = Self {
            fd,
            table: LinkTable::new(options.max_links.unwrap_or(DEFAULT_MAX_LINKS)),
            buf: vec![0u8; RECV_BUFFER_LEN].into_boxed_slice(),
            foreign_dropped: 0,
        };
        monitor.send_pending_dump()?;
        Ok(monitor)
    }

    fn send_pending_dump(&mut self) -> Result<(), ProbeError> {
        if let Some(request) = self.table.take_dump_request()
            && let Err(e) = sys::netlink_send(self.fd.as_fd(), &request)
        {
            self.table.dump_request_failed();
            return Err(ProbeError::os(Op::Netlink, e));
        }
        Ok(())
    }

    /// Reads every pending datagram (until `EAGAIN`) and appends the resulting events. On
    /// `ENOBUFS` it reports [`NetlinkEvent::Overrun`] and re-dumps the link table. Call whenever
    /// mio reports the socket readable (mio is edge-triggered: always drain fully).
    pub fn drain(&mut self, out: &mut Vec<NetlinkEvent>) -> Result<(), ProbeError> {
        loop {
            match sys::netlink_recv(self.fd.as_fd(), &mut self.buf) {
                Ok(received) => {
                    if received.sender_port != 0 {
                        // Only the kernel speaks for link state; other processes can unicast
                        // to our port id.
                        self.foreign_dropped = self.foreign_dropped.saturating_add(1);
                        continue;
                    }
                    if received.truncated {
                        self.table.handle_overrun(out);
                        continue;
                    }
                    let datagram = self.buf.get(..received.len).unwrap_or(&[]);
                    self.table.handle_datagram(datagram, out);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.table.handle_overrun(out),
                Err(e) => return Err(ProbeError::os(Op::Netlink, e)),
            }
        }
        self.send_pending_dump()
    }

    /// The link table as currently known.
    pub fn table(&self) -> &LinkTable {
        &self.table
    }

    /// Datagrams dropped because they did not come from the kernel.
    pub fn foreign_dropped(&self) -> u64 {
        self.foreign_dropped
    }
}

impl AsFd for NetlinkMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl mio::event::Source for NetlinkMonitor {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).deregister(registry)
    }
}

/// Answers from the table kept current by [`NetlinkMonitor::drain`] (no system call);
/// `NoSuchInterface` if the link is not in the table.
impl LinkProbe for NetlinkMonitor {
    fn method(&self) -> Method {
        Method::Netlink
    }

    fn probe(&mut self, ifname: &IfName) -> Result<LinkStatus, ProbeError> {
        self.table
            .status_by_name(ifname)
            .map(|(_, status)| status)
            .ok_or_else(|| ProbeError::NoSuchInterface(ifname.clone()))
    }
}
