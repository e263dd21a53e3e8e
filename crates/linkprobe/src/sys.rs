//! Every system call of the crate, and therefore all its `unsafe` code.
//!
//! Each function takes validated inputs (an [`IfName`] always fits `ifr_name` with its NUL) and
//! returns `std::io::Result`; errno-to-variant mapping happens in safe code.

use std::ffi::c_void;
use std::fs::File;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::error::Op;
use crate::ifname::IfName;

const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCGIFINDEX: u64 = 0x8933;
const SIOCETHTOOL: u64 = 0x8946;
const SIOCGMIIPHY: u64 = 0x8947;
const SIOCGMIIREG: u64 = 0x8948;
const ETHTOOL_GLINK: u32 = 0x0000_000a;

/// `struct mii_ioctl_data`, which lives inline in the `ifreq` union.
#[repr(C)]
#[derive(Clone, Copy)]
struct MiiIoctlData {
    phy_id: u16,
    reg_num: u16,
    val_in: u16,
    val_out: u16,
}

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// The `ifreq` union members this crate uses (24 bytes on 64-bit, 16 on 32-bit).
#[repr(C)]
#[derive(Clone, Copy)]
union IfReqUnion {
    flags: libc::c_short,
    ifindex: libc::c_int,
    mii: MiiIoctlData,
    data: *mut c_void,
    pad: [u8; 24],
}

/// `struct ifreq`.
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    u: IfReqUnion,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<IfReq>() == 40);
const _: () = assert!(size_of::<MiiIoctlData>() == 8);
const _: () = assert!(size_of::<EthtoolValue>() == 8);

impl IfReq {
    fn new(name: &IfName) -> Self {
        IfReq {
            name: name.to_ifr_name(),
            u: IfReqUnion { pad: [0; 24] },
        }
    }
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn ioctl(fd: BorrowedFd<'_>, request: u64, req: &mut IfReq) -> io::Result<()> {
    // SAFETY: `req` is a valid, exclusively borrowed `struct ifreq` of the size the kernel expects
    // for these socket ioctls; the name is NUL-terminated (IfName holds at most 15 bytes) and any
    // pointer stored in the union points to memory that outlives this call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as libc::Ioctl, req as *mut IfReq) };
    cvt(ret).map(drop)
}

/// Opens a socket, inside the network namespace at `netns` if given.
///
/// Entering the namespace happens on a short-lived thread, so the caller's thread never changes
/// namespace; the socket stays bound to the namespace it was created in.
pub(crate) fn socket_in(
    netns: Option<&Path>,
    domain: libc::c_int,
    ty: libc::c_int,
    protocol: libc::c_int,
) -> Result<OwnedFd, (Op, io::Error)> {
    let Some(path) = netns else {
        return socket(domain, ty, protocol).map_err(|e| (Op::Socket, e));
    };
    let ns = File::open(path).map_err(|e| (Op::Setns, e))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: setns only reads the descriptor, which `ns` keeps open; it changes the
                // namespace of this dedicated thread alone, which ends right after.
                cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })
                    .map_err(|e| (Op::Setns, e))?;
                socket(domain, ty, protocol).map_err(|e| (Op::Socket, e))
            })
            .join()
            .unwrap_or_else(|_| Err((Op::Setns, io::Error::other("namespace thread panicked"))))
    })
}

fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call with integer arguments.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: `fd` was just returned by socket(2), is valid and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `SIOCGIFFLAGS`: the 16-bit interface flags.
pub(crate) fn if_flags(fd: BorrowedFd<'_>, name: &IfName) -> io::Result<u16> {
    let mut req = IfReq::new(name);
    ioctl(fd, SIOCGIFFLAGS, &mut req)?;
    // SAFETY: after SIOCGIFFLAGS the kernel has written `ifr_flags`; any bit pattern is valid.
    Ok(unsafe { req.u.flags } as u16)
}

/// `SIOCGIFINDEX`: the interface index (also an existence check).
pub(crate) fn if_index(fd: BorrowedFd<'_>, name: &IfName) -> io::Result<u32> {
    let mut req = IfReq::new(name);
    ioctl(fd, SIOCGIFINDEX, &mut req)?;
    // SAFETY: after SIOCGIFINDEX the kernel has written `ifr_ifindex`; any bit pattern is valid.
    let index = unsafe { req.u.ifindex };
    u32::try_from(index).map_err(|_| io::Error::from_raw_os_error(libc::ENODEV))
}

/// `SIOCGMIIPHY`: the PHY address.
pub(crate) fn mii_phy(fd: BorrowedFd<'_>, name: &IfName) -> io::Result<u16> {
    let mut req = IfReq::new(name);
    ioctl(fd, SIOCGMIIPHY, &mut req)?;
    // SAFETY: the union was zero-initialised and the kernel fills `mii_ioctl_data`; plain u16s.
    Ok(unsafe { req.u.mii }.phy_id)
}

/// `SIOCGMIIREG`: one MII register of PHY `phy_id`.
pub(crate) fn mii_reg(fd: BorrowedFd<'_>, name: &IfName, phy_id: u16, reg: u16) -> io::Result<u16> {
    let mut req = IfReq::new(name);
    req.u.mii = MiiIoctlData {
        phy_id,
        reg_num: reg,
        val_in: 0,
        val_out: 0,
    };
    ioctl(fd, SIOCGMIIREG, &mut req)?;
    // SAFETY: `mii` was written above and updated by the kernel; plain u16s.
    Ok(unsafe { req.u.mii }.val_out)
}

/// `SIOCETHTOOL` with `ETHTOOL_GLINK`: the `data` field (non-zero = link).
pub(crate) fn ethtool_glink(fd: BorrowedFd<'_>, name: &IfName) -> io::Result<u32> {
    let mut value = EthtoolValue {
        cmd: ETHTOOL_GLINK,
        data: 0,
    };
    let mut req = IfReq::new(name);
    req.u.data = (&raw mut value).cast::<c_void>();
    ioctl(fd, SIOCETHTOOL, &mut req)?;
    Ok(value.data)
}

fn netlink_addr(groups: u32) -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value (pad, pid 0).
    let mut addr: libc::sockaddr_nl = unsafe { zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr.nl_groups = groups;
    addr
}

/// Binds a netlink socket to multicast `groups` (kernel-assigned port id).
pub(crate) fn netlink_bind(fd: BorrowedFd<'_>, groups: u32) -> io::Result<()> {
    let addr = netlink_addr(groups);
    // SAFETY: `addr` is a valid sockaddr_nl and the length passed is its size.
    let ret = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    cvt(ret).map(drop)
}

/// Sets `SO_RCVBUF` (or `SO_RCVBUFFORCE`, which may exceed `rmem_max` with CAP_NET_ADMIN).
pub(crate) fn set_recv_buffer(fd: BorrowedFd<'_>, bytes: usize, force: bool) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let option = if force {
        libc::SO_RCVBUFFORCE
    } else {
        libc::SO_RCVBUF
    };
    // SAFETY: `value` is a live c_int and the length passed is its size.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const value).cast::<c_void>(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    cvt(ret).map(drop)
}

/// Sends one datagram to the kernel (port id 0).
pub(crate) fn netlink_send(fd: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<()> {
    let addr = netlink_addr(0);
    // SAFETY: `bytes` is a valid readable slice of the given length; `addr` is a valid
    // sockaddr_nl of the given length.
    let ret = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            bytes.as_ptr().cast::<c_void>(),
            bytes.len(),
            0,
            (&raw const addr).cast::<libc::sockaddr>(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One datagram read from a netlink socket.
pub(crate) struct Received {
    /// Bytes stored in the buffer.
    pub len: usize,
    /// The datagram was longer than the buffer (`MSG_TRUNC`).
    pub truncated: bool,
    /// Sender's port id (0 = the kernel).
    pub sender_port: u32,
}

/// Receives one datagram without blocking.
pub(crate) fn netlink_recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    let mut addr = netlink_addr(0);
    let mut addr_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: `buf` is a valid writable slice of the given length; `addr`/`addr_len` describe a
    // writable sockaddr_nl. MSG_TRUNC makes the return value the real datagram length.
    let ret = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<c_void>(),
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            (&raw mut addr).cast::<libc::sockaddr>(),
            &raw mut addr_len,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    let real_len = ret as usize;
    Ok(Received {
        len: real_len.min(buf.len()),
        truncated: real_len > buf.len(),
        sender_port: addr.nl_pid,
    })
}
