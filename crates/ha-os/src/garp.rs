//! Gratuitous ARP exactly as keepalived sends it (vrrp.md §3.10), on an `AF_PACKET` socket,
//! and its IPv6 counterpart, the unsolicited neighbour advertisement (RFC 4861 §7.2.6), for
//! IPv6 addresses a master installs.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};

use crate::error::{Operation, OsError, Result};
use crate::iface::validate_interface_name;
use crate::sys;

/// Length of a gratuitous ARP frame before Ethernet padding.
pub const GARP_FRAME_LEN: usize = 42;
/// Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
const ETHERTYPE_ARP: u16 = 0x0806;

/// Builds the 42-byte gratuitous ARP frame for `vip` owned by `mac`: an ARP *request*
/// (opcode 1) to ff:ff:ff:ff:ff:ff whose sender and target IP are both the VIP and whose
/// target MAC is ff:ff:ff:ff:ff:ff, as keepalived sends it.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut frame = [0u8; GARP_FRAME_LEN];
    let ip = vip.octets();
    frame[0..6].copy_from_slice(&BROADCAST_MAC);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
    // hrd Ethernet (1), pro IPv4 (0x0800), hln 6, pln 4, op request (1).
    frame[14..22].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01]);
    frame[22..28].copy_from_slice(&mac);
    frame[28..32].copy_from_slice(&ip);
    frame[32..38].copy_from_slice(&BROADCAST_MAC);
    frame[38..42].copy_from_slice(&ip);
    frame
}

/// Length of an unsolicited neighbour advertisement frame: Ethernet 14, IPv6 40, ICMPv6 32.
pub const NA_FRAME_LEN: usize = 86;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// All-nodes multicast (ff02::1) and its Ethernet address.
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];

/// Builds the unsolicited neighbour advertisement for `vip` owned by `mac`: from `vip` to
/// ff02::1, hop limit 255, Override set, Router set when `router` (the sender forwards
/// IPv6, so neighbours keep it as a router), Solicited clear, with the target link-layer
/// address option, ICMPv6 checksum filled in.
pub fn na_frame(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut frame = [0u8; NA_FRAME_LEN];
    frame[0..6].copy_from_slice(&ALL_NODES_MAC);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    // IPv6: version 6, payload 32 bytes, next header ICMPv6 (58), hop limit 255.
    frame[14..22].copy_from_slice(&[0x60, 0, 0, 0, 0, 32, 58, 255]);
    frame[22..38].copy_from_slice(&vip.octets());
    frame[38..54].copy_from_slice(&ALL_NODES.octets());
    // ICMPv6 neighbour advertisement (136), code 0, checksum below, flags O (0x20).
    frame[54..58].copy_from_slice(&[136, 0, 0, 0]);
    frame[58] = if router { 0xa0 } else { 0x20 };
    frame[62..78].copy_from_slice(&vip.octets());
    // Option: target link-layer address (2), length 1 (8 bytes).
    frame[78..80].copy_from_slice(&[2, 1]);
    frame[80..86].copy_from_slice(&mac);
    let sum = icmpv6_checksum(&vip, &ALL_NODES, &frame[54..86]);
    frame[56..58].copy_from_slice(&sum.to_be_bytes());
    frame
}

/// The ICMPv6 checksum of `message` (checksum field zero) between `src` and `dst`.
fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair.first().copied().unwrap_or(0));
            let lo = u32::from(pair.get(1).copied().unwrap_or(0));
            sum += (hi << 8) | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    // Upper-layer length (32 bits) and next header (58), as in the pseudo-header.
    let len = u32::try_from(message.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // Folded into 16 bits just above.
    !(sum as u16)
}

/// A send-only `AF_PACKET` socket on one interface for gratuitous ARP.
///
/// Bound with protocol 0, so it never receives frames.
#[derive(Debug)]
pub struct GarpSender {
    fd: OwnedFd,
    interface: String,
    index: u32,
    mac: [u8; 6],
}

impl GarpSender {
    /// Opens the sender on `interface`, using the interface's own MAC as sender address.
    pub fn open(interface: &str) -> Result<Self> {
        Self::open_inner(interface, None)
    }

    /// Opens the sender on `interface` with an explicit sender MAC (e.g. the VMAC when
    /// sending on the parent interface).
    pub fn open_with_mac(interface: &str, mac: [u8; 6]) -> Result<Self> {
        Self::open_inner(interface, Some(mac))
    }

    fn open_inner(interface: &str, mac: Option<[u8; 6]>) -> Result<Self> {
        let op = Operation::OpenGarp;
        validate_interface_name(op, interface)?;
        let fail = |e| OsError::io(op, interface, e);
        let fd = sys::socket(libc::AF_PACKET, libc::SOCK_RAW, 0, true).map_err(fail)?;
        let index = sys::ifindex(fd.as_fd(), interface).map_err(fail)?;
        let mac = match mac {
            Some(mac) => mac,
            None => {
                let (family, mac) = sys::hwaddr(fd.as_fd(), interface).map_err(fail)?;
                if family != libc::ARPHRD_ETHER {
                    return Err(OsError::InvalidArgument {
                        op,
                        interface: interface.to_owned(),
                        reason: "not an Ethernet interface",
                    });
                }
                mac
            }
        };
        sys::bind_packet(fd.as_fd(), index, 0).map_err(fail)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
            index,
            mac,
        })
    }

    /// The sender MAC placed in the frames.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The interface index the socket sends on.
    pub fn ifindex(&self) -> u32 {
        self.index
    }

    /// Sends one gratuitous ARP for `vip`.
    pub fn send(&self, vip: Ipv4Addr) -> Result<()> {
        self.send_whole(&garp_frame(self.mac, vip), ETHERTYPE_ARP, BROADCAST_MAC)
    }

    /// Sends one unsolicited neighbour advertisement for `vip` (see [`na_frame`]).
    pub fn send_na(&self, vip: Ipv6Addr, router: bool) -> Result<()> {
        self.send_whole(
            &na_frame(self.mac, vip, router),
            ETHERTYPE_IPV6,
            ALL_NODES_MAC,
        )
    }

    /// Sends `frame` to `dst`; a short send is an error.
    fn send_whole(&self, frame: &[u8], ethertype: u16, dst: [u8; 6]) -> Result<()> {
        let sent = sys::send_frame(self.fd.as_fd(), frame, self.index, ethertype, dst)
            .map_err(|e| OsError::io(Operation::SendGarp, &self.interface, e))?;
        if sent != frame.len() {
            return Err(OsError::InvalidArgument {
                op: Operation::SendGarp,
                interface: self.interface.clone(),
                reason: "short send",
            });
        }
        Ok(())
    }

    /// Sends `repeat` rounds over `vips`, interleaved like keepalived (VIP1, VIP2, ...,
    /// VIP1, VIP2, ...). Returns the number of frames sent.
    pub fn send_burst(&self, vips: &[Ipv4Addr], repeat: usize) -> Result<usize> {
        let mut sent = 0;
        for _ in 0..repeat {
            for vip in vips {
                self.send(*vip)?;
                sent += 1;
            }
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_matches_the_spec_example() {
        // vrrp.md §3.10: ff ff ff ff ff ff <mac> 08 06 | 00 01 08 00 06 04 00 01 <mac>
        // c0 a8 c8 10 ff ff ff ff ff ff c0 a8 c8 10
        let mac = [0x02, 0x10, 0x00, 0x00, 0x00, 0x0b];
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0xff; 6]);
        expected.extend_from_slice(&mac);
        expected.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01]);
        expected.extend_from_slice(&mac);
        expected.extend_from_slice(&[0xc0, 0xa8, 0xc8, 0x10]);
        expected.extend_from_slice(&[0xff; 6]);
        expected.extend_from_slice(&[0xc0, 0xa8, 0xc8, 0x10]);
        let frame = garp_frame(mac, Ipv4Addr::new(192, 168, 200, 16));
        assert_eq!(frame.len(), 42);
        assert_eq!(&frame[..], &expected[..]);
    }

    #[test]
    fn vmac_frame_uses_the_virtual_mac_twice() {
        let vmac = crate::link::vmac_address(51);
        let frame = garp_frame(vmac, Ipv4Addr::new(10, 99, 0, 200));
        assert_eq!(&frame[6..12], &[0, 0, 0x5e, 0, 1, 0x33]);
        assert_eq!(&frame[22..28], &[0, 0, 0x5e, 0, 1, 0x33]);
        assert_eq!(&frame[28..32], &[10, 99, 0, 200]);
        assert_eq!(&frame[38..42], &[10, 99, 0, 200]);
    }

    #[test]
    fn neighbour_advertisement_is_well_formed_and_its_checksum_verifies() {
        let mac = [0x02, 0x10, 0, 0, 0, 0x0b];
        let vip: Ipv6Addr = "2001:db8::10".parse().unwrap();
        let f = na_frame(mac, vip, false);
        assert_eq!(na_frame(mac, vip, true)[58], 0xa0, "router and override");
        assert_eq!(&f[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[20], 58, "next header ICMPv6");
        assert_eq!(f[21], 255, "hop limit");
        assert_eq!(&f[22..38], &vip.octets());
        assert_eq!(f[54], 136);
        assert_eq!(f[58], 0x20, "override only");
        assert_eq!(&f[62..78], &vip.octets());
        assert_eq!(&f[78..86], &[2, 1, 0x02, 0x10, 0, 0, 0, 0x0b]);
        // Summing the message with its checksum in place gives 0xffff (one's complement).
        let mut copy = f;
        let stored = u16::from_be_bytes([f[56], f[57]]);
        copy[56] = 0;
        copy[57] = 0;
        assert_eq!(icmpv6_checksum(&vip, &ALL_NODES, &copy[54..86]), stored);
        assert_ne!(stored, 0);
    }
}
