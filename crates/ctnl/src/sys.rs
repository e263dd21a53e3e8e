//! The only module with `unsafe`: the netlink socket system calls and `setns`.

use std::fs::File;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_CAP_ACK: libc::c_int = 10;

/// A `NETLINK_NETFILTER` socket bound to an automatic port id.
#[derive(Debug)]
pub(crate) struct NlSocket {
    fd: OwnedFd,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value (port 0 = kernel).
    let mut addr: libc::sockaddr_nl = unsafe { zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr
}

impl NlSocket {
    /// Opens and binds the socket (non-blocking when asked).
    pub(crate) fn open(nonblocking: bool) -> io::Result<NlSocket> {
        let mut ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
        if nonblocking {
            ty |= libc::SOCK_NONBLOCK;
        }
        // SAFETY: plain socket(2) call with constant arguments; the result is checked.
        let raw = check(unsafe { libc::socket(libc::AF_NETLINK, ty, libc::NETLINK_NETFILTER) })?;
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let addr = kernel_addr();
        // SAFETY: `addr` is a valid sockaddr_nl and the length passed is its size.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        let sock = NlSocket { fd };
        // Errors are acknowledged with the request header only, not the whole request.
        // Older kernels lack the option; that only makes error replies larger.
        let _ = sock.set_int(SOL_NETLINK, NETLINK_CAP_ACK, 1);
        Ok(sock)
    }

    fn set_int(&self, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
        // SAFETY: the option value points to a live c_int and its size is passed.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const value).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    fn get_int(&self, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len point to live locals of the sizes the kernel expects.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw mut value).cast(),
                &raw mut len,
            )
        })?;
        Ok(value)
    }

    /// Sets the receive buffer: `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN, ignores
    /// `net.core.rmem_max`), else `SO_RCVBUF` (capped by `rmem_max`). Returns the size the
    /// kernel reports afterwards (it doubles the request for its bookkeeping).
    pub(crate) fn set_rcvbuf(&self, bytes: usize) -> io::Result<usize> {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX / 2);
        if self
            .set_int(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, value)
            .is_err()
        {
            self.set_int(libc::SOL_SOCKET, libc::SO_RCVBUF, value)?;
        }
        let got = self.get_int(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
        Ok(usize::try_from(got).unwrap_or(0))
    }

    /// Sets the send buffer, like [`NlSocket::set_rcvbuf`].
    pub(crate) fn set_sndbuf(&self, bytes: usize) -> io::Result<()> {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX / 2);
        if self
            .set_int(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, value)
            .is_err()
        {
            self.set_int(libc::SOL_SOCKET, libc::SO_SNDBUF, value)?;
        }
        Ok(())
    }

    /// Makes blocking receives give up after `timeout` (`SO_RCVTIMEO`), so a request whose
    /// answer never comes cannot hang the caller.
    pub(crate) fn set_recv_timeout(&self, timeout: std::time::Duration) -> io::Result<()> {
        let tv = libc::timeval {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_usec: libc::suseconds_t::from(timeout.subsec_micros().min(999_999) as i32),
        };
        // SAFETY: the option value points to a live timeval and its size is passed.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const tv).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Joins a netlink multicast group.
    pub(crate) fn join_group(&self, group: u32) -> io::Result<()> {
        let group = libc::c_int::try_from(group)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        self.set_int(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    }

    /// Sends one datagram to the kernel.
    pub(crate) fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let addr = kernel_addr();
        loop {
            // SAFETY: buf is a live slice of the given length; addr is a valid sockaddr_nl.
            let n = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    buf.as_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw const addr).cast(),
                    size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if n >= 0 {
                return Ok(n.unsigned_abs());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }

    /// Receives one datagram; returns its full length (which exceeds `buf.len()` when it
    /// was truncated, thanks to `MSG_TRUNC`).
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: buf is a live, writable slice of the given length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                )
            };
            if n >= 0 {
                return Ok(n.unsigned_abs());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl AsRawFd for NlSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Runs `f` on a fresh thread that first joined the network namespace at `netns` (e.g.
/// `/run/netns/NAME`). Sockets opened inside `f` stay in that namespace for their lifetime;
/// the calling thread's namespace is never touched.
pub fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> io::Result<T> {
    let file = File::open(netns)?;
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            // SAFETY: setns on a valid namespace descriptor affects only this thread, which
            // ends when `f` returns.
            check(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) })?;
            Ok(f())
        });
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}
