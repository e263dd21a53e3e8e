//! Thin wrappers around the system calls this crate needs. All `unsafe` of the crate lives
//! here; every wrapper takes safe Rust types and returns `io::Result`.

use std::ffi::c_int;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn cvt(ret: c_int) -> io::Result<c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

fn socklen<T>() -> libc::socklen_t {
    // The structures passed here are at most a few hundred bytes.
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// Opens a socket with `SOCK_CLOEXEC` (and `SOCK_NONBLOCK` when `nonblocking`).
pub(crate) fn socket(
    domain: c_int,
    kind: c_int,
    protocol: c_int,
    nonblocking: bool,
) -> io::Result<OwnedFd> {
    let flags = libc::SOCK_CLOEXEC | if nonblocking { libc::SOCK_NONBLOCK } else { 0 };
    // SAFETY: socket(2) takes plain integers and returns a new descriptor or -1.
    let fd = cvt(unsafe { libc::socket(domain, kind | flags, protocol) })?;
    // SAFETY: `fd` was just returned by socket(2), is valid and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Plain-data option values that may be handed to setsockopt(2) by pointer and size.
pub(crate) trait SockOpt: Copy {}
impl SockOpt for c_int {}
impl SockOpt for libc::ip_mreqn {}
impl SockOpt for libc::timeval {}

/// setsockopt(2) with a plain-data value.
pub(crate) fn setsockopt<T: SockOpt>(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live, initialised `T` of exactly `size_of::<T>()` bytes;
    // the kernel only reads it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            socklen::<T>(),
        )
    })?;
    Ok(())
}

/// setsockopt(2) with a byte string value (used for `SO_BINDTODEVICE`).
pub(crate) fn setsockopt_bytes(
    fd: BorrowedFd<'_>,
    level: c_int,
    name: c_int,
    value: &[u8],
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: the pointer and length describe the live slice `value`; the kernel only reads it.
    cvt(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) })?;
    Ok(())
}

fn sockaddr_in(addr: Ipv4Addr) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_addr.s_addr = u32::from(addr).to_be();
    sa
}

/// bind(2) to an IPv4 address (port 0: raw sockets have none).
pub(crate) fn bind_inet(fd: BorrowedFd<'_>, addr: Ipv4Addr) -> io::Result<()> {
    let sa = sockaddr_in(addr);
    // SAFETY: `sa` is a valid sockaddr_in and the length matches it.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            socklen::<libc::sockaddr_in>(),
        )
    })?;
    Ok(())
}

/// Builds an `ifreq` carrying `name` (the caller has validated it: < IFNAMSIZ, no NUL).
fn ifreq_for(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain old data (a name array and a union of plain data); zero is valid.
    let mut req: libc::ifreq = unsafe { zeroed() };
    for (dst, src) in req
        .ifr_name
        .iter_mut()
        .zip(name.bytes().take(libc::IFNAMSIZ - 1))
    {
        *dst = src as libc::c_char;
    }
    req
}

fn ioctl_ifreq(fd: BorrowedFd<'_>, request: libc::c_ulong, name: &str) -> io::Result<libc::ifreq> {
    let mut req = ifreq_for(name);
    // SAFETY: the SIOCGIF* requests used here read `ifr_name` and write into the union of
    // the `ifreq` we own, which lives for the whole call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), request as _, &mut req as *mut libc::ifreq) })?;
    Ok(req)
}

/// Interface index by name (`SIOCGIFINDEX`), resolved in the socket's network namespace.
pub(crate) fn ifindex(fd: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let req = ioctl_ifreq(fd, libc::SIOCGIFINDEX, name)?;
    // SAFETY: SIOCGIFINDEX succeeded, so the kernel wrote `ifru_ifindex`.
    let index = unsafe { req.ifr_ifru.ifru_ifindex };
    u32::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))
}

/// Hardware address by name (`SIOCGIFHWADDR`): the family and the first 6 address bytes.
pub(crate) fn hwaddr(fd: BorrowedFd<'_>, name: &str) -> io::Result<(u16, [u8; 6])> {
    let req = ioctl_ifreq(fd, libc::SIOCGIFHWADDR, name)?;
    // SAFETY: SIOCGIFHWADDR succeeded, so the kernel wrote `ifru_hwaddr`.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *dst = *src as u8;
    }
    Ok((sa.sa_family, mac))
}

/// Interface flags by name (`SIOCGIFFLAGS`).
pub(crate) fn ifflags(fd: BorrowedFd<'_>, name: &str) -> io::Result<u32> {
    let req = ioctl_ifreq(fd, libc::SIOCGIFFLAGS, name)?;
    // SAFETY: SIOCGIFFLAGS succeeded, so the kernel wrote `ifru_flags`.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    Ok(u32::from(flags as u16))
}

/// recvfrom(2) on an IPv4 socket with `MSG_TRUNC`: returns the full datagram length (which
/// may exceed `buf.len()`) and the source address.
pub(crate) fn recv_from_inet(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Ipv4Addr)> {
    // SAFETY: plain old data; zero is valid.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    let mut len = socklen::<libc::sockaddr_in>();
    // SAFETY: `buf` is a live writable slice of the given length; `sa`/`len` are live and
    // describe a sockaddr_in-sized buffer the kernel may write.
    let n = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
            (&mut sa as *mut libc::sockaddr_in).cast(),
            &mut len,
        )
    };
    let n = cvt_size(n)?;
    Ok((n, Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr))))
}

/// Largest number of datagrams taken by one recvmmsg(2) call.
pub(crate) const RECVMMSG_CHUNK: usize = 32;

/// recvmmsg(2) with `MSG_TRUNC` on a non-blocking raw IPv4 socket: receives up to
/// [`RECVMMSG_CHUNK`] datagrams, the `i`-th into `slots[i]`, and writes its full length
/// (which may exceed the slot) into `lengths[i]`. Returns how many were received (like
/// the system call: an error only if none was).
///
/// No source address is asked for: a raw IPv4 socket delivers the IP header, whose
/// source field is exactly what the kernel would copy out (saves a copy per datagram).
pub(crate) fn recvmmsg_raw_ipv4(
    fd: BorrowedFd<'_>,
    slots: &mut [&mut [u8]],
    lengths: &mut [usize],
) -> io::Result<usize> {
    let count = slots.len().min(lengths.len()).min(RECVMMSG_CHUNK);
    // SAFETY: plain old data; zero (null base, zero length) is valid.
    let mut iovs: [libc::iovec; RECVMMSG_CHUNK] = unsafe { zeroed() };
    // SAFETY: plain old data; zero is a valid starting value.
    let mut msgs: [libc::mmsghdr; RECVMMSG_CHUNK] = unsafe { zeroed() };
    for ((slot, iov), msg) in slots
        .iter_mut()
        .zip(iovs.iter_mut())
        .zip(msgs.iter_mut())
        .take(count)
    {
        iov.iov_base = slot.as_mut_ptr().cast();
        iov.iov_len = slot.len();
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
    }
    let vlen = libc::c_uint::try_from(count).unwrap_or(0);
    // SAFETY: the first `count` mmsghdrs point at an iovec in `iovs` (and at no address:
    // null name, zero length), which stays in place until the call returns; each iovec
    // describes a live, exclusively borrowed slot the kernel may write up to its length.
    // A null timeout is allowed (the socket is non-blocking).
    let got = cvt(unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            msgs.as_mut_ptr(),
            vlen,
            libc::MSG_TRUNC,
            std::ptr::null_mut(),
        )
    })?;
    let got = usize::try_from(got).unwrap_or(0).min(count);
    for (msg, out) in msgs.iter().zip(lengths.iter_mut()).take(got) {
        *out = usize::try_from(msg.msg_len).unwrap_or(usize::MAX);
    }
    Ok(got)
}

/// sendto(2) of one datagram to an IPv4 destination.
pub(crate) fn send_to_inet(fd: BorrowedFd<'_>, buf: &[u8], dest: Ipv4Addr) -> io::Result<usize> {
    let sa = sockaddr_in(dest);
    // SAFETY: `buf` and `sa` are live for the call and the lengths describe them.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            0,
            (&sa as *const libc::sockaddr_in).cast(),
            socklen::<libc::sockaddr_in>(),
        )
    };
    cvt_size(n)
}

/// Largest number of datagrams handed to one sendmmsg(2) call.
pub(crate) const SENDMMSG_CHUNK: usize = 64;

/// sendmmsg(2): sends up to [`SENDMMSG_CHUNK`] datagrams, `dests[i]` for `packets[i]`.
/// Returns how many were sent (like the system call: an error only if none was).
pub(crate) fn sendmmsg_inet(
    fd: BorrowedFd<'_>,
    packets: &[&[u8]],
    dests: &[Ipv4Addr],
) -> io::Result<usize> {
    let count = packets.len().min(dests.len()).min(SENDMMSG_CHUNK);
    let mut addrs: Vec<libc::sockaddr_in> =
        dests[..count].iter().map(|d| sockaddr_in(*d)).collect();
    let mut iovs: Vec<libc::iovec> = packets[..count]
        .iter()
        .map(|p| libc::iovec {
            iov_base: p.as_ptr().cast_mut().cast(),
            iov_len: p.len(),
        })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = Vec::with_capacity(count);
    for (addr, iov) in addrs.iter_mut().zip(iovs.iter_mut()) {
        // SAFETY: mmsghdr is plain old data; zero is a valid starting value.
        let mut msg: libc::mmsghdr = unsafe { zeroed() };
        msg.msg_hdr.msg_name = (addr as *mut libc::sockaddr_in).cast();
        msg.msg_hdr.msg_namelen = socklen::<libc::sockaddr_in>();
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
        msgs.push(msg);
    }
    let vlen = libc::c_uint::try_from(msgs.len()).unwrap_or(0);
    // SAFETY: every mmsghdr points at an address and an iovec in `addrs`/`iovs`, which are
    // not moved or dropped before the call returns; each iovec describes a live packet slice
    // that the kernel only reads.
    let sent = cvt(unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), vlen, 0) })?;
    Ok(usize::try_from(sent).unwrap_or(0))
}

fn sockaddr_ll(ifindex: u32, protocol: u16, dst: [u8; 6]) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: plain old data; zero is valid.
    let mut sa: libc::sockaddr_ll = unsafe { zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = protocol.to_be();
    sa.sll_ifindex =
        c_int::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))?;
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(&dst);
    Ok(sa)
}

/// bind(2) of an `AF_PACKET` socket to an interface and protocol (0 = receive nothing).
pub(crate) fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32, protocol: u16) -> io::Result<()> {
    let sa = sockaddr_ll(ifindex, protocol, [0; 6])?;
    // SAFETY: `sa` is a valid sockaddr_ll and the length matches it.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_ll).cast(),
            socklen::<libc::sockaddr_ll>(),
        )
    })?;
    Ok(())
}

/// sendto(2) of a whole Ethernet frame on an `AF_PACKET`/`SOCK_RAW` socket.
pub(crate) fn send_frame(
    fd: BorrowedFd<'_>,
    frame: &[u8],
    ifindex: u32,
    protocol: u16,
    dst: [u8; 6],
) -> io::Result<usize> {
    let sa = sockaddr_ll(ifindex, protocol, dst)?;
    // SAFETY: `frame` and `sa` are live for the call and the lengths describe them.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&sa as *const libc::sockaddr_ll).cast(),
            socklen::<libc::sockaddr_ll>(),
        )
    };
    cvt_size(n)
}

/// Binds a netlink socket (kernel-assigned port) and returns the port id.
pub(crate) fn bind_netlink(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: plain old data; zero is valid.
    let mut sa: libc::sockaddr_nl = unsafe { zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: `sa` is a valid sockaddr_nl and the length matches it.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            socklen::<libc::sockaddr_nl>(),
        )
    })?;
    let mut len = socklen::<libc::sockaddr_nl>();
    // SAFETY: `sa`/`len` describe a writable sockaddr_nl-sized buffer.
    cvt(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut sa as *mut libc::sockaddr_nl).cast(),
            &mut len,
        )
    })?;
    Ok(sa.nl_pid)
}

/// send(2) of one buffer on a connected-style socket (netlink to the kernel).
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is live for the call and the length describes it.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
    cvt_size(n)
}

/// recv(2) with `MSG_TRUNC`: returns the full datagram length, which may exceed `buf.len()`.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a live writable slice of the given length.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_TRUNC,
        )
    };
    cvt_size(n)
}

/// inotify_init1(2), non-blocking and close-on-exec.
pub(crate) fn inotify_init() -> io::Result<OwnedFd> {
    // SAFETY: inotify_init1(2) takes flags and returns a new descriptor or -1.
    let fd = cvt(unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) })?;
    // SAFETY: `fd` was just returned by inotify_init1(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// inotify_add_watch(2) on `path`; returns the watch descriptor.
pub(crate) fn inotify_add_watch(
    fd: BorrowedFd<'_>,
    path: &std::ffi::CStr,
    mask: u32,
) -> io::Result<c_int> {
    // SAFETY: `path` is a NUL-terminated string live for the call; the kernel only reads it.
    cvt(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) })
}
