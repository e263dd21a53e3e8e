//! The rtnetlink socket: one blocking request/reply transaction at a time.
//!
//! Address and link changes are rare and must complete before the daemon goes on (a VIP
//! is on the interface before the GARP is sent), so requests are synchronous, bounded by a
//! receive timeout so that a silent kernel cannot hang the daemon.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use crate::error::{Operation, OsError, Result};
use crate::nlwire::{self, Message, RequestBuilder};
use crate::sys;

/// Receive buffer for replies; the kernel's dump datagrams are at most 32 KiB.
const RECV_BUFFER_LEN: usize = 64 * 1024;
/// Default time to wait for each reply datagram.
pub const DEFAULT_NETLINK_TIMEOUT: Duration = Duration::from_secs(5);

const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
const NETLINK_GET_STRICT_CHK: libc::c_int = 12;

/// A `NETLINK_ROUTE` socket for address and link changes in the caller's network namespace.
#[derive(Debug)]
pub struct Rtnetlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

/// How a transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// A single request acknowledged by `NLMSG_ERROR` (errno 0 = success).
    Ack,
    /// A dump terminated by `NLMSG_DONE`.
    Dump,
}

impl Rtnetlink {
    /// Opens the socket with [`DEFAULT_NETLINK_TIMEOUT`].
    pub fn open() -> Result<Self> {
        Self::with_timeout(DEFAULT_NETLINK_TIMEOUT)
    }

    /// Opens the socket; each reply must arrive within `timeout`.
    pub fn with_timeout(timeout: Duration) -> Result<Self> {
        let fail = |e| OsError::io(Operation::Netlink, "", e);
        let fd = sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE, false)
            .map_err(fail)?;
        let one: libc::c_int = 1;
        // Extended acks give the kernel's own explanation; capped acks keep them short;
        // strict checking lets the kernel filter address dumps by interface.
        for option in [NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK] {
            // Older kernels lack some of these; they only improve diagnostics.
            let _ = sys::setsockopt(fd.as_fd(), libc::SOL_NETLINK, option, &one);
        }
        let tv = libc::timeval {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(timeout.subsec_micros().max(1)),
        };
        sys::setsockopt(fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv).map_err(fail)?;
        sys::bind_netlink(fd.as_fd()).map_err(fail)?;
        Ok(Self {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUFFER_LEN],
        })
    }

    /// Sends `request` and feeds every reply message of this transaction (other than the
    /// final ack/done) to `on_message`.
    pub(crate) fn transact(
        &mut self,
        op: Operation,
        interface: &str,
        request: RequestBuilder,
        expect: Expect,
        mut on_message: impl FnMut(&Message<'_>) -> Result<()>,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let malformed = |detail| OsError::MalformedReply {
            op,
            interface: interface.to_owned(),
            detail,
        };
        let bytes = request
            .finish(seq)
            .map_err(|reason| OsError::InvalidArgument {
                op,
                interface: interface.to_owned(),
                reason,
            })?;
        sys::send(self.fd.as_fd(), &bytes).map_err(|e| OsError::io(op, interface, e))?;
        loop {
            let len = match sys::recv(self.fd.as_fd(), &mut self.buf) {
                Ok(len) => len,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(OsError::NetlinkTimeout {
                        op,
                        interface: interface.to_owned(),
                    });
                }
                Err(e) => return Err(OsError::io(op, interface, e)),
            };
            let datagram = self
                .buf
                .get(..len)
                .ok_or_else(|| malformed("reply larger than buffer"))?;
            for msg in nlwire::messages(datagram) {
                let msg = msg.map_err(malformed)?;
                if msg.seq != seq {
                    continue; // a late reply to an earlier, timed-out request
                }
                match msg.kind {
                    nlwire::NLMSG_ERROR => {
                        let (errno, ext_ack) = nlwire::parse_error(&msg).map_err(malformed)?;
                        if errno == 0 {
                            if expect == Expect::Ack {
                                return Ok(());
                            }
                            continue;
                        }
                        return Err(netlink_error(op, interface, errno, ext_ack));
                    }
                    nlwire::NLMSG_DONE if expect == Expect::Dump => {
                        // A dump may end with an errno in the DONE payload.
                        let errno = nlwire::read_u32(msg.payload, 0).map_or(0, |raw| raw as i32);
                        if errno < 0 {
                            return Err(netlink_error(op, interface, -errno, None));
                        }
                        return Ok(());
                    }
                    _ => on_message(&msg)?,
                }
            }
        }
    }
}

fn netlink_error(op: Operation, interface: &str, errno: i32, ext_ack: Option<String>) -> OsError {
    if errno == libc::ENODEV {
        return OsError::NoSuchInterface {
            op,
            interface: interface.to_owned(),
        };
    }
    OsError::Netlink {
        op,
        interface: interface.to_owned(),
        source: std::io::Error::from_raw_os_error(errno),
        ext_ack,
    }
}
