//! Sending whole IPv4 packets whose header the daemon builds (`IP_HDRINCL`).
//!
//! The socket is `SOCK_RAW`/`IPPROTO_RAW`, so `IP_HDRINCL` is implied, one socket sends
//! both protocol 112 and 51, and it never receives anything. Linux keeps every header
//! field as given except: the total length (set to the buffer length, which we require to
//! match anyway), the header checksum (always recomputed) and an ID of 0 (replaced). The
//! codec therefore never sends ID 0, which keeps AH ICVs valid.
//!
//! Unlike keepalived, no `MSG_DONTROUTE` is used: link-local multicast (224.0.0.0/24) with
//! `IP_MULTICAST_IF` never consults the routing table anyway, and unicast peers behind a
//! router stay reachable.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Operation, OsError, Result};
use crate::iface::validate_interface_name;
use crate::sys;

/// A raw `IP_HDRINCL` send socket bound to one interface.
#[derive(Debug)]
pub struct Sender {
    fd: OwnedFd,
    interface: String,
    index: u32,
}

/// Checks an outgoing packet and returns its destination address.
fn destination(op: Operation, interface: &str, packet: &[u8]) -> Result<Ipv4Addr> {
    let invalid = |reason| OsError::InvalidArgument {
        op,
        interface: interface.to_owned(),
        reason,
    };
    let header = packet
        .get(..20)
        .ok_or_else(|| invalid("packet shorter than an IPv4 header"))?;
    if header[0] >> 4 != 4 {
        return Err(invalid("not an IPv4 packet"));
    }
    let ihl = usize::from(header[0] & 0x0f) * 4;
    if ihl < 20 || ihl > packet.len() {
        return Err(invalid("IHL out of bounds"));
    }
    if usize::from(u16::from_be_bytes([header[2], header[3]])) != packet.len() {
        return Err(invalid("IPv4 total length differs from the buffer length"));
    }
    if header[4] == 0 && header[5] == 0 {
        return Err(invalid("IP ID 0 would be rewritten by the kernel"));
    }
    Ok(Ipv4Addr::new(
        header[16], header[17], header[18], header[19],
    ))
}

impl Sender {
    /// Opens the sender on `interface`: `IPPROTO_RAW` (header included), `SO_BINDTODEVICE`,
    /// `IP_MULTICAST_IF` = the interface, multicast loop off, `IP_MULTICAST_ALL` 0.
    pub fn open(interface: &str) -> Result<Self> {
        let op = Operation::OpenSender;
        validate_interface_name(op, interface)?;
        let fail = |e| OsError::io(op, interface, e);
        let fd =
            sys::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW, true).map_err(fail)?;
        let index = sys::ifindex(fd.as_fd(), interface).map_err(fail)?;
        let one: libc::c_int = 1;
        let zero: libc::c_int = 0;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_HDRINCL, &one).map_err(fail)?;
        sys::setsockopt_bytes(
            fd.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            interface.as_bytes(),
        )
        .map_err(fail)?;
        let mreq = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr { s_addr: 0 },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: libc::c_int::try_from(index)
                .map_err(|_| fail(io::Error::from_raw_os_error(libc::ENODEV)))?,
        };
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_IF, &mreq)
            .map_err(fail)?;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, &zero)
            .map_err(fail)?;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, &zero)
            .map_err(fail)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
            index,
        })
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.index
    }

    /// Sends one complete IPv4 packet (header built by the caller, ID non-zero, total
    /// length = buffer length) to the destination in its header: the multicast group or a
    /// unicast peer. Header checksum may be 0; the kernel fills it in.
    pub fn send(&self, packet: &[u8]) -> Result<()> {
        let dest = destination(Operation::Send, &self.interface, packet)?;
        loop {
            match sys::send_to_inet(self.fd.as_fd(), packet, dest) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OsError::io(Operation::Send, &self.interface, e)),
            }
        }
    }

    /// Sends many packets with `sendmmsg` (64 per system call), for the adverts due in
    /// the same tick. Every packet is checked first; nothing is sent if one is invalid.
    /// Returns how many were sent: fewer than `packets.len()` only when the socket buffer
    /// filled up (`EAGAIN`); any other error is returned as an error.
    pub fn send_batch(&self, packets: &[&[u8]]) -> Result<usize> {
        let op = Operation::SendBatch;
        let dests = packets
            .iter()
            .map(|p| destination(op, &self.interface, p))
            .collect::<Result<Vec<_>>>()?;
        let mut sent = 0;
        while sent < packets.len() {
            match sys::sendmmsg_inet(self.fd.as_fd(), &packets[sent..], &dests[sent..]) {
                Ok(0) => break,
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(OsError::io(op, &self.interface, e)),
            }
        }
        Ok(sent)
    }
}

crate::fd_source!(Sender, fd);

/// Sends `packets[i]` to `dests[i]` on an IPv4 socket of the caller's (one whose kernel
/// builds the IP header, such as SSYNCP's protocol-114 socket) with `sendmmsg`, 64 per
/// system call. Returns how many were sent: fewer than `packets.len()` when a non-blocking
/// socket's buffer filled up (`EAGAIN`) or when the next one was refused (the error is
/// returned only if nothing was sent, as `sendmmsg` itself does; call again from the
/// first unsent packet to see it).
pub fn send_datagrams(
    fd: std::os::fd::BorrowedFd<'_>,
    packets: &[&[u8]],
    dests: &[Ipv4Addr],
) -> io::Result<usize> {
    let count = packets.len().min(dests.len());
    let mut sent = 0;
    while sent < count {
        let (Some(p), Some(d)) = (packets.get(sent..count), dests.get(sent..count)) else {
            break;
        };
        match sys::sendmmsg_inet(fd, p, d) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) if sent > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS_ADVERT: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x51, 0xe7, 0xc0, 0xa8, 0xc8,
        0x02, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x8e, 0xae, 0xc0, 0xa8,
        0xc8, 0x10, 0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn destination_comes_from_the_header() {
        assert_eq!(
            destination(Operation::Send, "eth0", &PASS_ADVERT).unwrap(),
            Ipv4Addr::new(224, 0, 0, 18)
        );
    }

    #[test]
    fn malformed_outgoing_packets_are_refused() {
        let check = |p: &[u8]| destination(Operation::Send, "eth0", p).unwrap_err();
        assert!(matches!(
            check(&PASS_ADVERT[..19]),
            OsError::InvalidArgument { .. }
        ));
        assert!(matches!(
            check(&PASS_ADVERT[..39]),
            OsError::InvalidArgument { .. }
        ));
        let mut zero_id = PASS_ADVERT;
        zero_id[4] = 0;
        zero_id[5] = 0;
        let err = check(&zero_id);
        assert_eq!(err.interface(), "eth0");
        assert_eq!(err.operation(), Operation::Send);
        let mut v6 = PASS_ADVERT;
        v6[0] = 0x65;
        check(&v6);
        let mut long_ihl = PASS_ADVERT;
        long_ihl[0] = 0x4f; // 60 bytes of header in a 40-byte packet
        check(&long_ihl);
    }
}
