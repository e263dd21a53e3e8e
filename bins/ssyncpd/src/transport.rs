//! SSYNCP transport: one raw IPv4 socket for protocol 114 on the sync interface.
//!
//! * Sending: the kernel builds the IPv4 header (TTL 255 for multicast and unicast alike,
//!   multicast loop off, `IP_MULTICAST_IF` = the sync interface's address); messages go to
//!   224.0.0.81, or unicast to one peer for NACKs, RESYNC_REQs and their answers.
//! * Receiving: a dedicated thread blocks in `recv`, checks the IPv4 header (version, IHL,
//!   total length, protocol 114, **TTL 255**), and hands the payload to the event loop through
//!   a bounded channel. It wakes the loop (a [`mio::Waker`], one `eventfd` write) only when
//!   the loop said it is about to sleep ([`Transport::may_sleep`]), not once per datagram,
//!   so a burst costs one wake-up, not thousands. The thread keeps the kernel's receive queue
//!   empty while the loop is busy writing a large batch into the conntrack table, so a bulk
//!   transfer does not overflow the socket buffer (conntrackd's backup lost 1,150–3,329
//!   messages that way in the reference runs).
//!
//! `ha-os` has raw sockets for VRRP (112) and AH (51) only, so this module uses `socket2`
//! (safe wrappers, no `unsafe` here).

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use ssyncp_wire::{IPPROTO_SSYNCP, MULTICAST_GROUP, TTL};

/// Datagrams waiting between the receive thread and the loop (about 24 MiB at MTU 1500).
const CHANNEL_BOUND: usize = 16_384;
/// Socket buffers asked for (the kernel caps them at `net.core.{r,w}mem_max`).
const SOCKET_BUFFER: usize = 8 << 20;
/// The receive thread checks for shutdown this often.
const RECV_POLL: Duration = Duration::from_millis(200);

/// Why the transport could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A socket call failed.
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: io::Error,
    },
}

fn io_err(op: &'static str) -> impl FnOnce(io::Error) -> TransportError {
    move |source| TransportError::Io { op, source }
}

/// One received SSYNCP message (the IP payload) and its IPv4 source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Source address from the IPv4 header.
    pub src: Ipv4Addr,
    /// The SSYNCP message.
    pub payload: Vec<u8>,
}

/// Counters kept by the receive thread.
#[derive(Debug, Default)]
pub struct RxCounters {
    /// Packets received.
    pub packets: AtomicU64,
    /// Dropped: TTL other than 255.
    pub bad_ttl: AtomicU64,
    /// Dropped: not a well-formed IPv4 packet of protocol 114.
    pub malformed: AtomicU64,
    /// Dropped: sent by this node.
    pub own: AtomicU64,
}

/// Reasons [`check_packet`] refuses a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    /// Not IPv4, a bad IHL, or a total length that differs from what was received.
    Malformed,
    /// TTL other than 255 (sent from off-link, or not by an SSYNCP node).
    BadTtl(u8),
}

/// Checks a received IPv4 packet (header included) and returns its source and payload.
pub fn check_packet(packet: &[u8]) -> Result<(Ipv4Addr, &[u8]), PacketError> {
    let first = *packet.first().ok_or(PacketError::Malformed)?;
    if first >> 4 != 4 {
        return Err(PacketError::Malformed);
    }
    let ihl = usize::from(first & 0x0f) * 4;
    let header = packet.get(..20).ok_or(PacketError::Malformed)?;
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if ihl < 20 || total != packet.len() || ihl > total || header[9] != IPPROTO_SSYNCP {
        return Err(PacketError::Malformed);
    }
    if header[8] != TTL {
        return Err(PacketError::BadTtl(header[8]));
    }
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let payload = packet.get(ihl..total).ok_or(PacketError::Malformed)?;
    Ok((src, payload))
}

/// The open transport.
#[derive(Debug)]
pub struct Transport {
    socket: Arc<Socket>,
    local: Ipv4Addr,
    rx: Receiver<Datagram>,
    /// A datagram taken off the channel by [`Transport::may_sleep`], returned next.
    stashed: Option<Datagram>,
    /// Set by the loop before it sleeps; the receive thread wakes it only then.
    loop_idle: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<RxCounters>,
    /// Datagrams that could not be sent (the error is logged by the caller).
    pub tx_errors: u64,
}

impl Transport {
    /// Opens the socket on `interface` whose IPv4 address is `local`, joins 224.0.0.81 and
    /// starts the receive thread, which calls `waker.wake()` after queueing datagrams.
    pub fn open(
        interface: &str,
        local: Ipv4Addr,
        waker: Arc<mio::Waker>,
    ) -> Result<Self, TransportError> {
        let socket = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_SSYNCP))),
        )
        .map_err(io_err("socket(AF_INET, SOCK_RAW, 114)"))?;
        socket
            .bind_device(Some(interface.as_bytes()))
            .map_err(io_err("SO_BINDTODEVICE"))?;
        socket
            .set_multicast_all_v4(false)
            .map_err(io_err("IP_MULTICAST_ALL"))?;
        socket
            .set_multicast_loop_v4(false)
            .map_err(io_err("IP_MULTICAST_LOOP"))?;
        socket
            .set_multicast_ttl_v4(u32::from(TTL))
            .map_err(io_err("IP_MULTICAST_TTL"))?;
        socket
            .set_ttl_v4(u32::from(TTL))
            .map_err(io_err("IP_TTL"))?;
        socket
            .set_multicast_if_v4(&local)
            .map_err(io_err("IP_MULTICAST_IF"))?;
        socket
            .join_multicast_v4_n(&MULTICAST_GROUP, &InterfaceIndexOrAddress::Address(local))
            .map_err(io_err("IP_ADD_MEMBERSHIP"))?;
        // Best effort: the kernel caps these at rmem_max / wmem_max.
        let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
        let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
        socket
            .set_read_timeout(Some(RECV_POLL))
            .map_err(io_err("SO_RCVTIMEO"))?;
        let socket = Arc::new(socket);
        let (tx, rx) = sync_channel(CHANNEL_BOUND);
        let stop = Arc::new(AtomicBool::new(false));
        let loop_idle = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(RxCounters::default());
        let thread = {
            let socket = Arc::clone(&socket);
            let wake = Wake {
                waker,
                loop_idle: Arc::clone(&loop_idle),
            };
            let stop = Arc::clone(&stop);
            let counters = Arc::clone(&counters);
            std::thread::Builder::new()
                .name("ssyncp-rx".into())
                .spawn(move || receive_loop(&socket, local, &tx, &wake, &stop, &counters))
                .map_err(io_err("spawn receive thread"))?
        };
        Ok(Transport {
            socket,
            local,
            rx,
            stashed: None,
            loop_idle,
            stop,
            thread: Some(thread),
            counters,
            tx_errors: 0,
        })
    }

    /// This node's address on the sync interface.
    pub fn local(&self) -> Ipv4Addr {
        self.local
    }

    /// The receive thread's counters.
    pub fn counters(&self) -> &RxCounters {
        &self.counters
    }

    /// The next received datagram, if one is waiting.
    pub fn try_recv(&mut self) -> Option<Datagram> {
        self.stashed.take().or_else(|| self.rx.try_recv().ok())
    }

    /// Called by the loop right before it blocks: from now on the receive thread wakes it
    /// for the next datagram. Returns `false` (do not block) when one is already waiting.
    pub fn may_sleep(&mut self) -> bool {
        if self.stashed.is_some() {
            return false;
        }
        // SeqCst pairs with the receive thread's swap: either it sees `true` and wakes
        // the loop, or this `try_recv` sees its datagram.
        self.loop_idle.store(true, Ordering::SeqCst);
        match self.rx.try_recv() {
            Ok(d) => {
                self.loop_idle.store(false, Ordering::SeqCst);
                self.stashed = Some(d);
                false
            }
            Err(_) => true,
        }
    }

    /// Called by the loop when it wakes up (the receive thread need not wake it again).
    pub fn awake(&self) {
        self.loop_idle.store(false, Ordering::SeqCst);
    }

    /// Sends SSYNCP messages, each to the group (`None`) or to one peer, in order, with
    /// `sendmmsg` (a bulk's messages leave 64 per system call). A message the kernel
    /// refuses is counted and skipped; the last such error is returned.
    pub fn send_many(&mut self, batch: &[(Option<IpAddr>, &[u8])]) -> Result<(), TransportError> {
        let dests: Vec<Ipv4Addr> = batch
            .iter()
            .map(|(to, _)| match to {
                None | Some(IpAddr::V6(_)) => MULTICAST_GROUP,
                Some(IpAddr::V4(a)) => *a,
            })
            .collect();
        let packets: Vec<&[u8]> = batch.iter().map(|(_, p)| *p).collect();
        let mut result = Ok(());
        let mut done = 0;
        while done < packets.len() {
            let (Some(p), Some(d)) = (packets.get(done..), dests.get(done..)) else {
                break;
            };
            match ha_os::tx::send_datagrams(self.socket.as_fd(), p, d) {
                Ok(0) => {
                    // The socket is blocking, so only a full buffer of a socket made
                    // non-blocking elsewhere gets here: what is left is lost (and NACKed).
                    let lost = packets.len() - done;
                    self.tx_errors += lost as u64;
                    return Err(TransportError::Io {
                        op: "sendmmsg",
                        source: io::Error::from(io::ErrorKind::WouldBlock),
                    });
                }
                Ok(n) => done += n,
                Err(e) => {
                    // The first message of this call was refused: skip it, go on.
                    self.tx_errors += 1;
                    done += 1;
                    result = Err(TransportError::Io {
                        op: "sendmmsg",
                        source: e,
                    });
                }
            }
        }
        result
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How the receive thread wakes the loop.
struct Wake {
    waker: Arc<mio::Waker>,
    loop_idle: Arc<AtomicBool>,
}

impl Wake {
    /// Wakes the loop if it is (about to be) asleep.
    fn if_idle(&self) {
        if self.loop_idle.swap(false, Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }
}

fn receive_loop(
    socket: &Socket,
    local: Ipv4Addr,
    tx: &SyncSender<Datagram>,
    wake: &Wake,
    stop: &AtomicBool,
    counters: &RxCounters,
) {
    let mut buf = vec![0u8; 65_536];
    let mut reader: &Socket = socket;
    while !stop.load(Ordering::Relaxed) {
        let len = match reader.read(&mut buf) {
            Ok(len) => len,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => {
                std::thread::sleep(RECV_POLL);
                continue;
            }
        };
        counters.packets.fetch_add(1, Ordering::Relaxed);
        let Some(packet) = buf.get(..len) else {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let (src, payload) = match check_packet(packet) {
            Ok(ok) => ok,
            Err(PacketError::BadTtl(_)) => {
                counters.bad_ttl.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(PacketError::Malformed) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        if src == local {
            counters.own.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut item = Datagram {
            src,
            payload: payload.to_vec(),
        };
        // Wake the loop before blocking on a full channel, so it drains it.
        loop {
            match tx.try_send(item) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    // The loop is behind; make sure it is not asleep.
                    let _ = wake.waker.wake();
                    item = back;
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
        wake.if_idle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(ttl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, ttl, proto, 0, 0, 10, 0, 0, 1, 224, 0, 0, 81,
        ];
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn accepts_only_ttl_255_protocol_114_with_exact_length() {
        let good = packet(255, 114, &[1, 2, 3, 4]);
        assert_eq!(
            check_packet(&good),
            Ok((Ipv4Addr::new(10, 0, 0, 1), &[1u8, 2, 3, 4][..]))
        );
        assert_eq!(
            check_packet(&packet(254, 114, &[0; 4])),
            Err(PacketError::BadTtl(254))
        );
        assert_eq!(
            check_packet(&packet(255, 112, &[0; 4])),
            Err(PacketError::Malformed)
        );
        let mut short = good.clone();
        short.pop();
        assert_eq!(check_packet(&short), Err(PacketError::Malformed));
        let mut bad_ihl = good.clone();
        bad_ihl[0] = 0x44;
        assert_eq!(check_packet(&bad_ihl), Err(PacketError::Malformed));
        let mut v6 = good;
        v6[0] = 0x65;
        assert_eq!(check_packet(&v6), Err(PacketError::Malformed));
        for cut in 0..24 {
            let p = packet(255, 114, &[9; 4]);
            let _ = check_packet(&p[..cut]);
        }
    }
}
