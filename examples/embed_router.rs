//! Embedding `vrrp-fsm` in a router: the run loop a daemon author would copy.
//!
//! Real time comes from `std::time::Instant`, converted to the FSM's microsecond
//! `Instant` from a fixed origin. The socket is a fake that replays a peer's adverts
//! (priority 150 for about 1.5 s, then silence), so after ~5 s our router (priority 100)
//! takes over: the program prints what it would send and do, and exits.
//!
//! Run: `cargo run -p examples --example embed_router`

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration as StdDuration, Instant as StdInstant};

use vrrp_fsm::{Admin, AdvertTx, AuthKind, Effect, Event, InstanceConfig, Output, Router, State};
use vrrp_wire::{
    AddressList, AddressListMatch, AdvertRepr, Auth, Authenticator, IpIdCounter, RxPolicy,
    TxParams, decode_advert, encode_advert,
};

const ME: Ipv4Addr = Ipv4Addr::new(192, 168, 200, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 200, 3);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 168, 200, 16);

/// Converts wall-clock time to the FSM's time base (µs since `origin`).
struct Clock {
    origin: StdInstant,
}

impl Clock {
    fn now(&self) -> vrrp_fsm::Instant {
        let micros = self.origin.elapsed().as_micros();
        vrrp_fsm::Instant::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
    }
    fn until(&self, deadline: vrrp_fsm::Instant) -> StdDuration {
        let now = self.now();
        StdDuration::from_micros(deadline.saturating_since(now).as_micros())
    }
}

/// Stand-in for a raw IP socket: packets "arrive" at scheduled offsets.
struct FakeSocket {
    origin: StdInstant,
    incoming: VecDeque<(StdDuration, Vec<u8>)>,
}

impl FakeSocket {
    /// Waits up to `timeout` for a packet (a real daemon would use mio/epoll here).
    fn recv_timeout(&mut self, timeout: StdDuration) -> Option<Vec<u8>> {
        let deadline = StdInstant::now() + timeout;
        match self.incoming.front() {
            Some((at, _)) if self.origin + *at <= deadline => {
                std::thread::sleep(
                    (self.origin + *at).saturating_duration_since(StdInstant::now()),
                );
                self.incoming.pop_front().map(|(_, p)| p)
            }
            _ => {
                std::thread::sleep(timeout);
                None
            }
        }
    }

    fn send(&mut self, packet: &[u8]) {
        println!("    -> sent {} bytes to 224.0.0.18", packet.len());
    }
}

/// Encodes an advert the FSM asked for.
fn encode(tx: &AdvertTx, cfg: &InstanceConfig, auth: &Authenticator, ip_id: u16) -> Vec<u8> {
    let repr = AdvertRepr {
        vrid: cfg.vrid,
        priority: tx.priority,
        adver_int: (tx.advert_interval.as_micros() / 1_000_000) as u8,
        addresses: AddressList::from_slice(&[VIP]).expect("one address fits"),
    };
    let mut buf = vec![0u8; vrrp_wire::advert_packet_len(&repr, auth.auth())];
    let len = encode_advert(
        &TxParams::multicast(cfg.source, ip_id),
        &repr,
        auth,
        tx.ah_seq,
        &mut buf,
    )
    .expect("buffer sized by advert_packet_len");
    buf.truncate(len);
    buf
}

fn main() {
    let auth = Authenticator::new(Auth::Ah(Auth::key_from_password(b"secret")));
    let mut cfg = InstanceConfig::new(vrrp_wire::Vrid::new(51).expect("non-zero"), 100, ME);
    cfg.vips = vec![IpAddr::V4(VIP)];
    cfg.auth = AuthKind::from(auth.auth());

    let clock = Clock {
        origin: StdInstant::now(),
    };
    // The peer's adverts (encoded with the same codec, as if captured on the wire).
    let mut peer_cfg = cfg.clone();
    peer_cfg.source = PEER;
    let mut peer_ids = IpIdCounter::new();
    let incoming = (0..2u32)
        .map(|k| {
            let tx = AdvertTx {
                priority: 150,
                advert_interval: cfg.advert_interval,
                ah_seq: Some(40 + k),
            };
            let at = StdDuration::from_millis(200 + 1_000 * u64::from(k));
            (at, encode(&tx, &peer_cfg, &auth, peer_ids.next_id()))
        })
        .collect();
    let mut socket = FakeSocket {
        origin: clock.origin,
        incoming,
    };

    let mut router = Router::new(cfg.clone()).expect("valid configuration");
    let mut ip_ids = IpIdCounter::new();
    router
        .handle_admin(clock.now(), Admin::Startup)
        .expect("startup never fails");

    let mut adverts_as_master = 0;
    loop {
        // 1. Drain every output after every input.
        while let Some(out) = router.poll_output() {
            match out {
                Output::Advert(tx) => {
                    if router.state() == State::Master {
                        adverts_as_master += 1;
                    }
                    let packet = encode(&tx, &cfg, &auth, ip_ids.next_id());
                    socket.send(&packet);
                }
                Output::Effect { effect, .. } => match effect {
                    Effect::InstallVips(v) => println!("    effect: add {v:?}"),
                    Effect::RemoveVips(v) => println!("    effect: remove {v:?}"),
                    Effect::Garp { vips, repeat } => {
                        println!("    effect: {repeat} GARPs for {vips:?}")
                    }
                    other => println!("    effect: {other:?}"),
                },
                Output::Event(Event::StateChanged { from, to, reason }) => {
                    println!(
                        "{:>9}  {from:?} -> {to:?} ({reason:?})",
                        clock.now().to_string()
                    );
                }
                Output::Event(e) => println!("    event: {e:?}"),
            }
        }
        if adverts_as_master >= 2 {
            break;
        }
        // 2. Sleep until the FSM's deadline or a packet.
        let wait = router
            .poll_timeout()
            .map_or(StdDuration::from_secs(1), |d| clock.until(d));
        match socket.recv_timeout(wait) {
            // 3. A packet: decode and authenticate, then hand the facts to the FSM.
            Some(packet) => {
                let policy = RxPolicy {
                    expected_vrid: Some(cfg.vrid),
                    ..RxPolicy::new(&auth)
                };
                match decode_advert(&packet, &policy) {
                    Ok(rx) => {
                        println!(
                            "{:>9}  heard priority {} from {}",
                            clock.now().to_string(),
                            rx.priority,
                            rx.src
                        );
                        router.handle_advert(
                            clock.now(),
                            vrrp_fsm::AdvertRx {
                                source: rx.src,
                                priority: rx.priority,
                                advert_interval: vrrp_fsm::Duration::from_secs(u64::from(
                                    rx.adver_int,
                                )),
                                ah_seq: rx.ah_sequence(),
                                addresses_match: rx.address_list != AddressListMatch::Differs,
                            },
                        );
                    }
                    Err(e) => println!("    dropped packet: {e}"),
                }
            }
            // 4. The deadline passed: let the FSM run its timers.
            None => router.handle_timeout(clock.now()),
        }
    }
    router
        .handle_admin(clock.now(), Admin::Shutdown)
        .expect("shutdown never fails");
    while let Some(out) = router.poll_output() {
        if let Output::Advert(tx) = out {
            println!("    shutdown advert, priority {}", tx.priority);
        }
    }
}
