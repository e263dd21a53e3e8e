//! The per-interface receive socket pool and VRID demultiplexing.
//!
//! Like keepalived, one raw socket per (interface, IP protocol 112 or 51, group or unicast
//! address) is shared by every VRRP instance on that interface; received packets are handed
//! to instances by VRID ([`vrid_of`], [`Demux`]).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};

use mio::{Interest, Registry, Token};

use crate::error::{Operation, OsError, Result};
use crate::iface::validate_interface_name;
use crate::sys;

/// The VRRP multicast group, 224.0.0.18.
pub const VRRP_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// Receive buffer size of a pool: [`sys::RECVMMSG_CHUNK`] slots of [`RECV_SLOT_LEN`].
const RECV_BUFFER_LEN: usize = 65_536;
/// One datagram's share of the buffer when several are received per system call: more
/// than the largest valid VRRP or AH packet (about 1.1 KB).
const RECV_SLOT_LEN: usize = 2048;
const IPV4_MIN_HEADER: usize = 20;

/// The IP protocol a socket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpProtocol {
    /// VRRP, protocol 112.
    Vrrp,
    /// IPsec AH, protocol 51 (keepalived's `auth_type AH`), carrying VRRP.
    Ah,
}

impl IpProtocol {
    /// The IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Self::Vrrp => 112,
            Self::Ah => 51,
        }
    }

    /// The protocol for an IP protocol number, if it is one of ours.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            112 => Some(Self::Vrrp),
            51 => Some(Self::Ah),
            _ => None,
        }
    }
}

/// Reads the VRID of a received IPv4 packet (IPv4 header included) without trusting it:
/// honours the IHL, steps over an AH header (using its length field; keepalived's is
/// 24 bytes) whose next header must be 112, and returns `None` whenever a byte it needs is
/// missing or the packet is not VRRP / AH-over-VRRP.
pub fn vrid_of(packet: &[u8]) -> Option<u8> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < IPV4_MIN_HEADER {
        return None;
    }
    let vrrp_start = match IpProtocol::from_number(*packet.get(9)?)? {
        IpProtocol::Vrrp => ihl,
        IpProtocol::Ah => {
            let next_header = *packet.get(ihl)?;
            if next_header != 112 {
                return None;
            }
            // AH length field: length in 32-bit words minus 2.
            let ah_len = (usize::from(*packet.get(ihl + 1)?) + 2) * 4;
            ihl.checked_add(ah_len)?
        }
    };
    packet.get(vrrp_start.checked_add(1)?).copied()
}

/// The source address in an IPv4 header (unspecified if the packet is too short to hold
/// one; a raw IPv4 socket always delivers the header).
fn ipv4_source(packet: &[u8]) -> Ipv4Addr {
    match packet.get(12..16) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

/// What a receive socket is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxBinding {
    /// Joined to and bound to a multicast group (224.0.0.18 by default).
    Multicast(Ipv4Addr),
    /// Bound to a local unicast address (keepalived's `unicast_src_ip`).
    Unicast(Ipv4Addr),
}

/// One raw receive socket, non-blocking, registrable with mio.
#[derive(Debug)]
pub struct RxSocket {
    fd: OwnedFd,
    interface: String,
    index: u32,
    protocol: IpProtocol,
    binding: RxBinding,
}

impl RxSocket {
    /// Opens a multicast receive socket: raw `protocol`, `SO_BINDTODEVICE`, joined to
    /// `group` on the interface (`ip_mreqn` with its index), `IP_MULTICAST_ALL` 0,
    /// multicast loop off, bound to the group address (so unicast is not seen here).
    pub fn open_multicast(interface: &str, protocol: IpProtocol, group: Ipv4Addr) -> Result<Self> {
        let op = Operation::OpenMulticastReceiver;
        if !group.is_multicast() {
            return Err(OsError::InvalidArgument {
                op,
                interface: interface.to_owned(),
                reason: "group is not a multicast address",
            });
        }
        let (fd, index) = Self::raw_socket(op, interface, protocol)?;
        let fail = |e| OsError::io(op, interface, e);
        let mreq = libc::ip_mreqn {
            imr_multiaddr: libc::in_addr {
                s_addr: u32::from(group).to_be(),
            },
            imr_address: libc::in_addr { s_addr: 0 },
            imr_ifindex: libc::c_int::try_from(index)
                .map_err(|_| fail(io::Error::from_raw_os_error(libc::ENODEV)))?,
        };
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_ADD_MEMBERSHIP, &mreq)
            .map_err(fail)?;
        sys::bind_inet(fd.as_fd(), group).map_err(fail)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
            index,
            protocol,
            binding: RxBinding::Multicast(group),
        })
    }

    /// Opens a unicast receive socket bound to `local` (with `IP_FREEBIND`, so the address
    /// need not be configured yet) and to the interface.
    pub fn open_unicast(interface: &str, protocol: IpProtocol, local: Ipv4Addr) -> Result<Self> {
        let op = Operation::OpenUnicastReceiver;
        if local.is_multicast() || local.is_unspecified() || local.is_broadcast() {
            return Err(OsError::InvalidArgument {
                op,
                interface: interface.to_owned(),
                reason: "local address is not a unicast address",
            });
        }
        let (fd, index) = Self::raw_socket(op, interface, protocol)?;
        let fail = |e| OsError::io(op, interface, e);
        let one: libc::c_int = 1;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_FREEBIND, &one).map_err(fail)?;
        sys::bind_inet(fd.as_fd(), local).map_err(fail)?;
        Ok(Self {
            fd,
            interface: interface.to_owned(),
            index,
            protocol,
            binding: RxBinding::Unicast(local),
        })
    }

    fn raw_socket(op: Operation, interface: &str, protocol: IpProtocol) -> Result<(OwnedFd, u32)> {
        validate_interface_name(op, interface)?;
        let fail = |e| OsError::io(op, interface, e);
        let fd = sys::socket(
            libc::AF_INET,
            libc::SOCK_RAW,
            libc::c_int::from(protocol.number()),
            true,
        )
        .map_err(fail)?;
        let index = sys::ifindex(fd.as_fd(), interface).map_err(fail)?;
        sys::setsockopt_bytes(
            fd.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            interface.as_bytes(),
        )
        .map_err(fail)?;
        let zero: libc::c_int = 0;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_ALL, &zero)
            .map_err(fail)?;
        sys::setsockopt(fd.as_fd(), libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, &zero)
            .map_err(fail)?;
        Ok((fd, index))
    }

    /// The interface name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface index.
    pub fn ifindex(&self) -> u32 {
        self.index
    }

    /// The IP protocol received.
    pub fn protocol(&self) -> IpProtocol {
        self.protocol
    }

    /// What the socket is bound to.
    pub fn binding(&self) -> RxBinding {
        self.binding
    }

    /// Sets the kernel receive buffer (`SO_RCVBUF`, keepalived's `kernel_rx_buf_size`), for
    /// interfaces carrying many instances.
    pub fn set_receive_buffer(&self, bytes: u32) -> Result<()> {
        let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        sys::setsockopt(self.fd.as_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, &value)
            .map_err(|e| OsError::io(Operation::SetReceiveBuffer, &self.interface, e))
    }

    /// Receives until the socket is empty (`EAGAIN`), as edge-triggered mio requires,
    /// calling `handler` for each packet. Returns the number of packets handled.
    ///
    /// A buffer of at least two 2-KiB slots is split into slots and filled with
    /// `recvmmsg` (up to 32 packets per system call); a packet larger than its slot is
    /// handed over truncated ([`ReceivedPacket::truncated`]). A smaller buffer receives
    /// one packet per call.
    pub fn drain(&self, buf: &mut [u8], handler: impl FnMut(ReceivedPacket<'_>)) -> Result<usize> {
        if buf.len() >= 2 * RECV_SLOT_LEN {
            self.drain_batched(buf, handler)
        } else {
            self.drain_single(buf, handler)
        }
    }

    fn packet<'a>(
        &'a self,
        bytes: &'a [u8],
        source: Ipv4Addr,
        truncated: bool,
    ) -> ReceivedPacket<'a> {
        ReceivedPacket {
            ifindex: self.index,
            interface: &self.interface,
            protocol: self.protocol,
            binding: self.binding,
            source,
            bytes,
            truncated,
        }
    }

    fn drain_batched(
        &self,
        buf: &mut [u8],
        mut handler: impl FnMut(ReceivedPacket<'_>),
    ) -> Result<usize> {
        let mut lengths = [0usize; sys::RECVMMSG_CHUNK];
        let mut count = 0;
        let mut slots: Vec<&mut [u8]> = buf
            .chunks_exact_mut(RECV_SLOT_LEN)
            .take(sys::RECVMMSG_CHUNK)
            .collect();
        let wanted = slots.len();
        loop {
            match sys::recvmmsg_raw_ipv4(self.fd.as_fd(), &mut slots, &mut lengths) {
                Ok(got) => {
                    for (slot, &len) in slots.iter().zip(lengths.iter()).take(got) {
                        let bytes = slot.get(..len.min(slot.len())).unwrap_or(&[]);
                        handler(self.packet(bytes, ipv4_source(bytes), len > slot.len()));
                        count += 1;
                    }
                    // Fewer than asked for: the queue is empty (the next call would
                    // return EAGAIN; edge-triggered readiness is re-armed by new data).
                    if got < wanted {
                        return Ok(count);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OsError::io(Operation::Receive, &self.interface, e)),
            }
        }
    }

    fn drain_single(
        &self,
        buf: &mut [u8],
        mut handler: impl FnMut(ReceivedPacket<'_>),
    ) -> Result<usize> {
        let mut count = 0;
        loop {
            match sys::recv_from_inet(self.fd.as_fd(), buf) {
                Ok((len, source)) => {
                    let bytes = buf.get(..len.min(buf.len())).unwrap_or(&[]);
                    handler(self.packet(bytes, source, len > buf.len()));
                    count += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(OsError::io(Operation::Receive, &self.interface, e)),
            }
        }
    }
}

crate::fd_source!(RxSocket, fd);

/// One received packet, borrowed from the pool's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedPacket<'a> {
    /// Index of the receiving interface.
    pub ifindex: u32,
    /// Name of the receiving interface.
    pub interface: &'a str,
    /// IP protocol (112 or 51).
    pub protocol: IpProtocol,
    /// The socket's binding (multicast group or unicast address).
    pub binding: RxBinding,
    /// IPv4 source address.
    pub source: Ipv4Addr,
    /// The whole packet, IPv4 header included, exactly as received.
    pub bytes: &'a [u8],
    /// The packet was larger than its receive slot (2 KiB in a pool: larger than any
    /// valid VRRP packet), so `bytes` holds only its beginning.
    pub truncated: bool,
}

impl ReceivedPacket<'_> {
    /// The VRID, if the packet is long enough to carry one (see [`vrid_of`]).
    pub fn vrid(&self) -> Option<u8> {
        vrid_of(self.bytes)
    }
}

/// Identifies a socket in an [`RxPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RxKey(pub usize);

/// The shared receive sockets of a daemon, opened on demand and deduplicated, plus one
/// receive buffer.
#[derive(Debug)]
pub struct RxPool {
    sockets: Vec<Option<RxSocket>>,
    buf: Vec<u8>,
}

impl Default for RxPool {
    fn default() -> Self {
        Self::new()
    }
}

impl RxPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self {
            sockets: Vec::new(),
            buf: vec![0; RECV_BUFFER_LEN],
        }
    }

    fn find(&self, interface: &str, protocol: IpProtocol, binding: RxBinding) -> Option<RxKey> {
        self.sockets
            .iter()
            .position(|s| {
                s.as_ref().is_some_and(|s| {
                    s.interface == interface && s.protocol == protocol && s.binding == binding
                })
            })
            .map(RxKey)
    }

    fn insert(&mut self, socket: RxSocket) -> RxKey {
        if let Some(free) = self.sockets.iter().position(Option::is_none) {
            self.sockets[free] = Some(socket);
            return RxKey(free);
        }
        self.sockets.push(Some(socket));
        RxKey(self.sockets.len() - 1)
    }

    /// The multicast socket for (`interface`, `protocol`, `group`), opened if needed; every
    /// instance on the interface shares it.
    pub fn multicast(
        &mut self,
        interface: &str,
        protocol: IpProtocol,
        group: Ipv4Addr,
    ) -> Result<RxKey> {
        if let Some(key) = self.find(interface, protocol, RxBinding::Multicast(group)) {
            return Ok(key);
        }
        let socket = RxSocket::open_multicast(interface, protocol, group)?;
        Ok(self.insert(socket))
    }

    /// The unicast socket for (`interface`, `protocol`, `local`), opened if needed.
    pub fn unicast(
        &mut self,
        interface: &str,
        protocol: IpProtocol,
        local: Ipv4Addr,
    ) -> Result<RxKey> {
        if let Some(key) = self.find(interface, protocol, RxBinding::Unicast(local)) {
            return Ok(key);
        }
        let socket = RxSocket::open_unicast(interface, protocol, local)?;
        Ok(self.insert(socket))
    }

    /// The socket behind `key`.
    pub fn socket(&self, key: RxKey) -> Option<&RxSocket> {
        self.sockets.get(key.0).and_then(Option::as_ref)
    }

    /// The socket behind `key`, mutably (for mio registration).
    pub fn socket_mut(&mut self, key: RxKey) -> Option<&mut RxSocket> {
        self.sockets.get_mut(key.0).and_then(Option::as_mut)
    }

    /// Keys of all open sockets.
    pub fn keys(&self) -> impl Iterator<Item = RxKey> + '_ {
        self.sockets
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| RxKey(i))
    }

    /// Number of open sockets.
    pub fn len(&self) -> usize {
        self.sockets.iter().filter(|s| s.is_some()).count()
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers the socket `key` for readability under `token`.
    pub fn register(&mut self, registry: &Registry, key: RxKey, token: Token) -> io::Result<()> {
        match self.socket_mut(key) {
            Some(socket) => registry.register(socket, token, Interest::READABLE),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    /// Closes the socket `key` (deregister it first if it was registered).
    pub fn close(&mut self, key: RxKey) -> Option<RxSocket> {
        self.sockets.get_mut(key.0).and_then(Option::take)
    }

    /// Drains socket `key` until `EAGAIN`, handing each packet to `handler`.
    pub fn drain(&mut self, key: RxKey, handler: impl FnMut(ReceivedPacket<'_>)) -> Result<usize> {
        let Some(Some(socket)) = self.sockets.get(key.0) else {
            return Ok(0);
        };
        socket.drain(&mut self.buf, handler)
    }
}

/// Routes received packets to VRRP instances by (interface index, protocol, VRID).
///
/// One flat table of 256 slots per (interface, protocol), found by a short linear search
/// (a daemon has a handful of interfaces): a lookup is an index, and a burst of adverts
/// for consecutive VRIDs on one interface reads neighbouring slots instead of scattered
/// hash buckets.
#[derive(Debug, Clone)]
pub struct Demux<T> {
    tables: Vec<VridTable<T>>,
}

/// The routes of one (interface, protocol).
#[derive(Debug, Clone)]
struct VridTable<T> {
    ifindex: u32,
    protocol: IpProtocol,
    /// Indexed by VRID; always 256 slots.
    slots: Box<[Option<T>]>,
    /// Occupied slots (the table is dropped when the last route goes).
    used: usize,
}

impl<T> Default for Demux<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Demux<T> {
    /// An empty table.
    pub fn new() -> Self {
        Self { tables: Vec::new() }
    }

    fn table(&self, ifindex: u32, protocol: IpProtocol) -> Option<&VridTable<T>> {
        self.tables
            .iter()
            .find(|t| t.ifindex == ifindex && t.protocol == protocol)
    }

    /// Routes (`ifindex`, `protocol`, `vrid`) to `instance`; returns the previous one.
    pub fn insert(
        &mut self,
        ifindex: u32,
        protocol: IpProtocol,
        vrid: u8,
        instance: T,
    ) -> Option<T> {
        let i = match self
            .tables
            .iter()
            .position(|t| t.ifindex == ifindex && t.protocol == protocol)
        {
            Some(i) => i,
            None => {
                self.tables.push(VridTable {
                    ifindex,
                    protocol,
                    slots: (0..=u8::MAX).map(|_| None).collect(),
                    used: 0,
                });
                self.tables.len() - 1
            }
        };
        let table = self.tables.get_mut(i)?;
        let previous = table.slots.get_mut(usize::from(vrid))?.replace(instance);
        if previous.is_none() {
            table.used += 1;
        }
        previous
    }

    /// Removes a route.
    pub fn remove(&mut self, ifindex: u32, protocol: IpProtocol, vrid: u8) -> Option<T> {
        let i = self
            .tables
            .iter()
            .position(|t| t.ifindex == ifindex && t.protocol == protocol)?;
        let table = self.tables.get_mut(i)?;
        let removed = table.slots.get_mut(usize::from(vrid))?.take();
        if removed.is_some() {
            table.used -= 1;
            if table.used == 0 {
                self.tables.swap_remove(i);
            }
        }
        removed
    }

    /// The instance a packet belongs to, if any (unknown VRIDs and unreadable packets give
    /// `None`; keepalived counts those as "unknown VRID").
    pub fn route(&self, packet: &ReceivedPacket<'_>) -> Option<&T> {
        let vrid = packet.vrid()?;
        self.table(packet.ifindex, packet.protocol)?
            .slots
            .get(usize::from(vrid))?
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS_ADVERT: [u8; 40] = [
        0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x51, 0xe7, 0xc0, 0xa8, 0xc8,
        0x02, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0x8e, 0xae, 0xc0, 0xa8,
        0xc8, 0x10, 0x31, 0x31, 0x31, 0x31, 0x00, 0x00, 0x00, 0x00,
    ];

    fn ah_packet(vrid: u8) -> Vec<u8> {
        let mut p = vec![
            0x45, 0xc0, 0, 64, 0, 9, 0, 0, 255, 51, 0, 0, 10, 99, 0, 11, 224, 0, 0, 18,
        ];
        p.extend_from_slice(&[112, 4, 0, 0, 10, 99, 0, 11, 0, 0, 0, 1]);
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&[0x21, vrid, 150, 1, 2, 1, 0, 0, 10, 99, 0, 200]);
        p.extend_from_slice(&[0; 8]);
        p
    }

    #[test]
    fn vrid_of_plain_and_ah() {
        assert_eq!(vrid_of(&PASS_ADVERT), Some(51));
        assert_eq!(vrid_of(&ah_packet(51)), Some(51));
        assert_eq!(vrid_of(&ah_packet(7)), Some(7));
    }

    #[test]
    fn vrid_of_honours_ihl() {
        let mut with_options = PASS_ADVERT.to_vec();
        with_options[0] = 0x46;
        with_options.splice(20..20, [1, 1, 1, 0]); // 4 bytes of options (NOP NOP NOP EOL)
        assert_eq!(vrid_of(&with_options), Some(51));
        let mut bad_ihl = PASS_ADVERT;
        bad_ihl[0] = 0x44;
        assert_eq!(vrid_of(&bad_ihl), None);
        let mut v6 = PASS_ADVERT;
        v6[0] = 0x65;
        assert_eq!(vrid_of(&v6), None);
    }

    #[test]
    fn vrid_of_rejects_other_protocols_and_bad_ah() {
        let mut udp = PASS_ADVERT;
        udp[9] = 17;
        assert_eq!(vrid_of(&udp), None);
        let mut ah = ah_packet(5);
        ah[20] = 6; // next header TCP
        assert_eq!(vrid_of(&ah), None);
    }

    #[test]
    fn vrid_of_never_reads_out_of_bounds() {
        for cut in 0..PASS_ADVERT.len() {
            let got = vrid_of(&PASS_ADVERT[..cut]);
            assert_eq!(got, if cut >= 22 { Some(51) } else { None }, "cut {cut}");
        }
        let ah = ah_packet(9);
        for cut in 0..ah.len() {
            let got = vrid_of(&ah[..cut]);
            assert_eq!(got, if cut >= 46 { Some(9) } else { None }, "cut {cut}");
        }
        // A huge AH length field points past the end.
        let mut ah = ah_packet(9);
        ah[21] = 255;
        assert_eq!(vrid_of(&ah), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn vrid_of_never_panics_and_reads_inside_the_packet(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128),
            proto in proptest::sample::select(vec![112u8, 51, 17]),
            ihl in 0u8..16,
        ) {
            let mut packet = bytes;
            if packet.len() > 9 {
                packet[0] = 0x40 | ihl;
                packet[9] = proto;
            }
            if let Some(vrid) = vrid_of(&packet) {
                let ihl = usize::from(packet[0] & 0x0f) * 4;
                let offset = if packet[9] == 112 { ihl } else { ihl + (usize::from(packet[ihl + 1]) + 2) * 4 };
                proptest::prop_assert_eq!(packet[offset + 1], vrid);
            }
        }
    }

    #[test]
    fn demux_routes_by_interface_protocol_and_vrid() {
        let mut demux = Demux::new();
        demux.insert(3, IpProtocol::Vrrp, 51, "VI_1");
        demux.insert(4, IpProtocol::Vrrp, 51, "VI_2");
        let mut packet = ReceivedPacket {
            ifindex: 3,
            interface: "eth0",
            protocol: IpProtocol::Vrrp,
            binding: RxBinding::Multicast(VRRP_GROUP),
            source: Ipv4Addr::new(192, 168, 200, 2),
            bytes: &PASS_ADVERT,
            truncated: false,
        };
        assert_eq!(demux.route(&packet), Some(&"VI_1"));
        packet.ifindex = 4;
        assert_eq!(demux.route(&packet), Some(&"VI_2"));
        packet.protocol = IpProtocol::Ah;
        assert_eq!(demux.route(&packet), None);
        packet.protocol = IpProtocol::Vrrp;
        packet.bytes = &PASS_ADVERT[..21];
        assert_eq!(demux.route(&packet), None);
        assert_eq!(demux.remove(4, IpProtocol::Vrrp, 51), Some("VI_2"));
    }
}
