//! The event loop: one mio `Poll` over the raw VRRP sockets, the link monitor and the
//! signal pipe, with timers taken from the state machines' `poll_timeout`.
//!
//! Every input goes to a unit's [`SyncGroup`] (a lone instance is a group of one, which is
//! exactly what `vrrp_fsm::Router` wraps), and after every input the unit's outputs are
//! drained: adverts are encoded with `vrrp-wire` and sent with `ha-os`, effects are
//! applied through rtnetlink / AF_PACKET, events are logged and turned into notify
//! scripts. Nothing here decides protocol behaviour.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use ha_os::{
    Demux, GarpSender, InterfaceQuery, IpProtocol, MacvlanMode, MacvlanSpec, ReceivedPacket,
    Rtnetlink, RxBinding, RxKey, RxPool, Sender, vmac_address,
};
use linkprobe::{NetlinkEvent, NetlinkMonitor, NetlinkOptions};
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook_mio::v1_0::Signals;
use tracing::{debug, error, info, warn};
use vrrp_fsm::{
    Admin, AdvertRx, AdvertTx, Duration, Effect, EffectId, EffectOutcome, Event, GroupPolicy,
    Instant, LinkState, MemberId, Output, State, SyncGroup, TrackId, TrackStatus,
};
use vrrp_wire::{
    AddressList, AddressListMatch, AddressListPolicy, AdvertRepr, Authenticator, IpIdCounter,
    KEEPALIVED_TOS, Rfc2787Counter, RxError, RxPolicy, TxParams, VRRP_TTL, decode_advert,
    encode_advert,
};

use crate::children::{Job, Notifier, Scripts};
use crate::cli::Options;
use crate::clock::Clock;
use crate::control::{ControlServer, MetricsServer};
use crate::fifo::NotifyFifo;
use crate::garpq::GarpPacer;
use crate::plan::{
    self, ADVERT_SLACK, Host, InstancePlan, NotifyPlan, Plan, TrackRegistry, UnitPlan, secs_u8,
};
use crate::sdnotify::SdNotify;
use crate::statesync::{StateSync, Target};
use crate::status::{
    Counters, DaemonStatus, GroupStatus, InstanceStatus, InterfaceStatus, SCHEMA_VERSION,
    StateEvent, Status,
};
use crate::trackfile::TrackFiles;
use crate::users::UserDb;

const SIGNAL_TOKEN: Token = Token(0);
const NETLINK_TOKEN: Token = Token(1);
const CONTROL_TOKEN: Token = Token(2);
const METRICS_TOKEN: Token = Token(3);
// Token(4) is the state-sync listener (`statesync::SYNC_TOKEN`).
const FILES_TOKEN: Token = Token(5);
/// Control-socket clients use tokens from here (receive sockets use small numbers).
const CONTROL_CLIENT_BASE: usize = 1 << 24;
/// Metrics clients use tokens from here.
const METRICS_CLIENT_BASE: usize = 1 << 25;
/// Period of the housekeeping checks (VIPs of masters, missing interfaces/addresses).
const HOUSEKEEPING: StdDuration = StdDuration::from_secs(1);
const RX_TOKEN_BASE: usize = 16;
/// Repeated log messages of one kind are shown at most this often per instance.
const LOG_INTERVAL: StdDuration = StdDuration::from_secs(10);
/// How long shutdown waits for notify scripts (`notify_stop`) to finish.
const SHUTDOWN_NOTIFY_WAIT: StdDuration = StdDuration::from_secs(3);
/// Largest advert: 20 + 24 + 16 + 4·255 bytes.
const MAX_ADVERT_LEN: usize = 1080;

/// The daemon could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// `vrrpd -t`: prints every diagnostic (`FILE:LINE:COL: severity: message`) and the
/// warnings about ignored features to stderr; returns the exit status (0 clean or
/// warnings only, 5 errors, 4 fatal or unreadable). A closed stderr (`2>&1 | head`) only
/// cuts the report short; the status is unchanged.
pub fn check_config(path: &Path) -> u8 {
    let mut err = std::io::stderr().lock();
    check_config_to(path, &mut err)
}

/// [`check_config`] writing its report to `out`; write errors (EPIPE) are ignored.
pub fn check_config_to(path: &Path, out: &mut dyn std::io::Write) -> u8 {
    match kaconf::load(path) {
        Ok((config, diagnostics)) => {
            for d in &diagnostics {
                let _ = writeln!(out, "{d}");
            }
            if config.instances.is_empty() {
                let _ = writeln!(
                    out,
                    "{}: warning: no VRRP instance configured - vrrpd would have nothing to run",
                    path.display()
                );
            }
            let users = UserDb::system();
            let warnings = plan::unsupported_warnings(&config)
                .into_iter()
                .chain(plan::script_security_warnings(&config, &users));
            for w in warnings {
                let _ = writeln!(out, "{}: warning: {w}", path.display());
            }
            let script_errors = plan::script_errors(&config, &users);
            for e in &script_errors {
                let _ = writeln!(out, "{}: error: {e}", path.display());
            }
            let status = kaconf::config_test_status(&diagnostics);
            if script_errors.is_empty() {
                status
            } else {
                status.max(5)
            }
        }
        Err(e) => {
            for d in e.diagnostics() {
                let _ = writeln!(out, "{d}");
            }
            if e.diagnostics().is_empty() {
                let _ = writeln!(out, "{e}");
            }
            4
        }
    }
}

fn log_diagnostics(diagnostics: &[kaconf::Diagnostic]) {
    for d in diagnostics {
        match d.severity {
            kaconf::Severity::Warning => warn!("config: {d}"),
            _ => error!("config: {d}"),
        }
    }
}

/// Loads and logs a configuration; fatal problems become an error.
fn load_config(path: &Path) -> Result<kaconf::Config, StartError> {
    match kaconf::load(path) {
        Ok((config, diagnostics)) => {
            log_diagnostics(&diagnostics);
            Ok(config)
        }
        Err(e) => {
            log_diagnostics(e.diagnostics());
            Err(StartError(e.to_string()))
        }
    }
}

/// Interface facts from rtnetlink and `SIOCGIFFLAGS`.
struct OsHost<'a> {
    rtnl: &'a mut Rtnetlink,
    query: Option<&'a InterfaceQuery>,
}

impl Host for OsHost<'_> {
    fn track_file_value(&mut self, path: &Path) -> i32 {
        crate::trackfile::read_value(path).unwrap_or(0)
    }

    fn primary_ipv4(&mut self, interface: &str, exclude: &[Ipv4Addr]) -> Option<Ipv4Addr> {
        const IFA_F_SECONDARY: u32 = 0x01;
        let addrs = self.rtnl.list_addresses(interface).ok()?;
        let usable = |a: &&ha_os::InterfaceAddress| !exclude.contains(&a.address);
        addrs
            .iter()
            .filter(usable)
            .find(|a| a.flags & IFA_F_SECONDARY == 0)
            .or_else(|| addrs.iter().find(usable))
            .map(|a| a.address)
    }

    fn link_up(&mut self, interface: &str) -> Option<bool> {
        let flags = self.query?.flags(interface).ok()?;
        let want = ha_os::iface::flags::UP | ha_os::iface::flags::RUNNING;
        Some(flags & want == want)
    }
}

/// Returns true (and records `now`) when a message of kind `key` may be logged again.
fn may_log<K: Hash + Eq>(seen: &mut HashMap<K, StdInstant>, key: K) -> bool {
    let now = StdInstant::now();
    match seen.get(&key) {
        Some(last) if now.duration_since(*last) < LOG_INTERVAL => false,
        _ => {
            seen.insert(key, now);
            true
        }
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "STOP",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

fn state_name(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        other => state_word(other),
    }
}

/// A member's receive-error counters and log rate limits.
#[derive(Debug, Default)]
struct Trouble {
    /// RFC 2787 receive-error counters.
    rx_errors: HashMap<Rfc2787Counter, u64>,
    rx_logged: HashMap<std::mem::Discriminant<RxError>, StdInstant>,
    other_logged: HashMap<&'static str, StdInstant>,
}

impl Trouble {
    /// A member's counters and rate limits (its `trouble` field), created on first use.
    fn of(slot: &mut Option<Box<Trouble>>) -> &mut Trouble {
        slot.get_or_insert_with(Box::default)
    }
}

/// One running instance: its plan plus the per-instance I/O state.
#[derive(Debug)]
struct Member {
    plan: InstancePlan,
    /// `plan.name`, shared with queued adverts without copying.
    name: Arc<str>,
    authenticator: Authenticator,
    ip_id: IpIdCounter,
    /// Receive-error counters and log rate limits, allocated on the first error: most
    /// members never have one, and a daemon holds 1,000s of members.
    trouble: Option<Box<Trouble>>,
    vmac_up: bool,
    /// Addresses dropped by the last reload, still needed to remove them.
    retired_vips: Vec<plan::VipPlan>,
    /// IPv6 addresses dropped by the last reload.
    retired_vips6: Vec<plan::Vip6Plan>,
    /// Source of the last accepted advert with a non-zero priority (the master, when we
    /// are backup).
    last_advertiser: Option<Ipv4Addr>,
    /// Addresses this daemon installed and has not removed since (device, address): the
    /// ones the once-a-second check expects to find.
    /// The prefix is kept so an address is removed as it was added, even after a reload
    /// changed it.
    installed: Vec<(String, Ipv4Addr, u8)>,
    /// `plan.advertised` inline when it is short (the usual one or two addresses), for
    /// checking received adverts without reading a separate allocation per packet.
    advertised_inline: Option<AdvertisedInline>,
    /// `virtual_routes` this daemon installed and has not removed since.
    routes: Vec<ha_os::Route>,
    /// IPv6 addresses this daemon installed (device, address, prefix): removed as they
    /// were added even if a reload changed their prefix.
    installed6: Vec<(String, Ipv6Addr, u8)>,
}

/// A copy of up to [`AdvertisedInline::CAPACITY`] advertised addresses.
#[derive(Debug, Clone, Copy)]
struct AdvertisedInline {
    addrs: [Ipv4Addr; AdvertisedInline::CAPACITY],
    len: u8,
}

impl AdvertisedInline {
    const CAPACITY: usize = 2;

    fn new(list: &[Ipv4Addr]) -> Option<Self> {
        let mut addrs = [Ipv4Addr::UNSPECIFIED; Self::CAPACITY];
        addrs.get_mut(..list.len())?.copy_from_slice(list);
        Some(Self {
            addrs,
            len: u8::try_from(list.len()).ok()?,
        })
    }

    fn as_slice(&self) -> &[Ipv4Addr] {
        self.addrs.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl Member {
    fn new(mut plan: InstancePlan) -> Self {
        // Kept for the daemon's lifetime: no spare capacity from planning (1,000s of these).
        plan.advertised.shrink_to_fit();
        plan.vips.shrink_to_fit();
        plan.peers.shrink_to_fit();
        plan.tracked_interfaces.shrink_to_fit();
        Member {
            authenticator: Authenticator::new(plan.auth),
            name: Arc::from(plan.name.as_str()),
            advertised_inline: AdvertisedInline::new(&plan.advertised),
            plan,
            ip_id: IpIdCounter::new(),
            trouble: None,
            vmac_up: false,
            retired_vips: Vec::new(),
            retired_vips6: Vec::new(),
            last_advertiser: None,
            installed: Vec::new(),
            routes: Vec::new(),
            installed6: Vec::new(),
        }
    }

    fn rx_error(&self, c: Rfc2787Counter) -> u64 {
        self.trouble
            .as_ref()
            .and_then(|t| t.rx_errors.get(&c).copied())
            .unwrap_or(0)
    }

    /// The RFC 2787 counters: the state machine's statistics plus the codec's drops.
    fn counters(&self, stats: vrrp_fsm::Stats) -> Counters {
        use Rfc2787Counter as C;
        Counters {
            adverts_received: stats.adverts_received,
            adverts_sent: stats.adverts_sent,
            become_master: stats.become_master,
            release_master: stats.release_master,
            priority_zero_received: stats.pri_zero_received,
            priority_zero_sent: stats.pri_zero_sent,
            checksum_errors: self.rx_error(C::ChecksumErrors),
            version_errors: self.rx_error(C::VersionErrors),
            vrid_errors: self.rx_error(C::VrIdErrors),
            ttl_errors: self.rx_error(C::IpTtlErrors),
            auth_type_mismatch: self.rx_error(C::AuthTypeMismatch) + stats.auth_mismatch,
            auth_failures: self.rx_error(C::AuthFailures) + stats.replay_dropped,
            invalid_auth_type: self.rx_error(C::InvalidAuthType),
            invalid_type: self.rx_error(C::InvalidTypePktsRcvd),
            address_list_errors: self.rx_error(C::AddressListErrors) + stats.addr_list_err,
            packet_length_errors: self.rx_error(C::PacketLengthErrors),
            advert_interval_errors: self.rx_error(C::AdvertisementIntervalErrors)
                + stats.interval_mismatch,
        }
    }

    /// Details of an address of the current plan, or of one a reload just dropped.
    fn vip(&self, addr: IpAddr) -> Option<&plan::VipPlan> {
        self.plan.vip(addr).or_else(|| {
            self.retired_vips
                .iter()
                .find(|v| IpAddr::V4(v.addr.address) == addr)
        })
    }

    /// Details of an IPv6 address of the current plan, or of one a reload just dropped.
    fn vip6(&self, addr: IpAddr) -> Option<&plan::Vip6Plan> {
        self.plan.vip6(addr).or_else(|| {
            self.retired_vips6
                .iter()
                .find(|v| IpAddr::V6(v.address) == addr)
        })
    }

    fn vrid(&self) -> u8 {
        self.plan.vrid().get()
    }

    /// Interface adverts leave from: the VMAC once it exists (unless `vmac_xmit_base`).
    fn tx_interface(&self) -> &str {
        match &self.plan.vmac {
            Some(vmac) if self.vmac_up && !self.plan.vmac_xmit_base => vmac,
            _ => &self.plan.interface,
        }
    }

    /// Takes a reloaded plan, keeping the IP ID counter and statistics.
    fn update(&mut self, plan: InstancePlan) {
        self.authenticator = Authenticator::new(plan.auth);
        self.retired_vips = self
            .plan
            .vips
            .iter()
            .filter(|v| plan.vip(IpAddr::V4(v.addr.address)).is_none())
            .cloned()
            .collect();
        self.retired_vips6 = self
            .plan
            .vips6
            .iter()
            .filter(|v| plan.vip6(IpAddr::V6(v.address)).is_none())
            .cloned()
            .collect();
        self.name = Arc::from(plan.name.as_str());
        self.advertised_inline = AdvertisedInline::new(&plan.advertised);
        self.plan = plan;
    }

    /// The advertised addresses (`plan.advertised`), from the inline copy when there is one.
    fn advertised(&self) -> &[Ipv4Addr] {
        match &self.advertised_inline {
            Some(inline) => inline.as_slice(),
            None => &self.plan.advertised,
        }
    }
}

/// A sync group (or a lone instance) and its state machine.
#[derive(Debug)]
struct Unit {
    /// Boxed: `None` for a lone instance, and units are 1,000s.
    group: Option<Box<(String, NotifyPlan)>>,
    fsm: SyncGroup,
    members: Vec<Member>,
}

impl Unit {
    /// Identity used to match units across a reload.
    fn key(&self) -> Vec<(String, u8, String)> {
        self.members
            .iter()
            .map(|m| (m.plan.name.clone(), m.vrid(), m.plan.interface.clone()))
            .collect()
    }

    fn label(&self) -> String {
        match self.group.as_deref() {
            Some((name, _)) => format!("group {name}"),
            None => self
                .members
                .first()
                .map(|m| m.plan.name.clone())
                .unwrap_or_default(),
        }
    }
}

fn plan_key(p: &UnitPlan) -> Vec<(String, u8, String)> {
    p.members
        .iter()
        .map(|m| (m.name.clone(), m.vrid().get(), m.interface.clone()))
        .collect()
}

/// Everything that performs effects, kept apart from the units so both can be borrowed.
struct Io {
    rtnl: Rtnetlink,
    senders: HashMap<String, Sender>,
    garps: HashMap<String, GarpSender>,
    notifier: Notifier,
    state_sync: StateSync,
    /// The operator surface fed by state changes.
    report: Report,
    /// Adverts encoded and waiting to go out, one `sendmmsg` per interface.
    tx: TxQueue,
    /// Entries in all members' `installed` lists (never below the true number): when
    /// zero, the once-a-second VIP check has nothing to look at and skips the members.
    installed_count: usize,
    /// Gratuitous ARPs of interfaces with a `garp_interval`, waiting their turn.
    garp_pacer: GarpPacer,
}

/// Adverts produced by one pass over the state machines, sent together by
/// [`flush_adverts`] so that 1,000 adverts due in the same tick cost a few system calls.
#[derive(Debug, Default)]
struct TxQueue {
    /// The encoded packets, back to back.
    bytes: Vec<u8>,
    items: Vec<QueuedAdvert>,
    /// Set while a caller batches several units: [`drain`] then leaves the queue for it.
    batching: bool,
    /// Last warning per instance about a failed send (rate limit).
    logged: HashMap<Arc<str>, StdInstant>,
    /// Interfaces the queued adverts leave from (a handful, kept between flushes).
    interfaces: Vec<String>,
}

impl TxQueue {
    /// Index of `interface` in [`TxQueue::interfaces`], added if new.
    fn interface_slot(&mut self, interface: &str) -> usize {
        if let Some(i) = self.interfaces.iter().position(|i| i == interface) {
            return i;
        }
        // Bounded: forget interfaces of earlier configurations once nothing is queued.
        if self.items.is_empty() && self.interfaces.len() >= 64 {
            self.interfaces.clear();
        }
        self.interfaces.push(interface.to_owned());
        self.interfaces.len() - 1
    }
}

/// One queued advert: where it goes and what to log about it.
#[derive(Debug)]
struct QueuedAdvert {
    /// Index in [`TxQueue::interfaces`].
    iface: usize,
    name: Arc<str>,
    vrid: u8,
    priority: u8,
    dst: Ipv4Addr,
    /// Its bytes in [`TxQueue::bytes`].
    range: std::ops::Range<usize>,
}

/// State changes on their way to the notify FIFO and the `events` subscribers.
#[derive(Debug, Default)]
struct Report {
    fifo: Option<NotifyFifo>,
    /// Events not yet sent to the control socket's subscribers.
    pending: Vec<StateEvent>,
    /// No control socket: nobody can subscribe, so no events are kept.
    no_subscribers: bool,
    seq: u64,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    fn state_change(
        &mut self,
        kind: &str,
        name: &str,
        vrid: Option<u8>,
        from: State,
        to: State,
        priority: u8,
        reason: String,
    ) {
        if let Some(f) = self.fifo.as_mut() {
            f.push(&crate::fifo::line(kind, name, state_word(to), priority));
        }
        self.seq += 1;
        let time_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // Bounded: the loop hands these to subscribers after every batch of inputs.
        if !self.no_subscribers && self.pending.len() < 4096 {
            self.pending.push(StateEvent {
                seq: self.seq,
                time_ms,
                kind: kind.to_owned(),
                name: name.to_owned(),
                vrid,
                from: state_name(from).to_owned(),
                to: state_name(to).to_owned(),
                priority,
                reason,
            });
        }
    }
}

impl Io {
    fn sender(&mut self, interface: &str) -> Result<&Sender, ha_os::OsError> {
        if !self.senders.contains_key(interface) {
            let s = Sender::open(interface)?;
            self.senders.insert(interface.to_owned(), s);
        }
        // Present: inserted just above if it was missing.
        Ok(&self.senders[interface])
    }

    fn garp(&mut self, interface: &str) -> Result<&GarpSender, ha_os::OsError> {
        if !self.garps.contains_key(interface) {
            let g = GarpSender::open(interface)?;
            self.garps.insert(interface.to_owned(), g);
        }
        // Present: inserted just above if it was missing.
        Ok(&self.garps[interface])
    }
}

/// Encodes a member's advert (one per unicast peer) and queues it for [`flush_adverts`].
fn send_advert(member: &mut Member, io: &mut Io, tx: AdvertTx) {
    let vrid = member.vrid();
    let addresses = match AddressList::from_slice(&member.plan.advertised) {
        Ok(a) => a,
        Err(_) => {
            error!(
                "({}) VRID {vrid}: more than 255 advertised addresses",
                member.plan.name
            );
            return;
        }
    };
    let repr = AdvertRepr {
        vrid: member.plan.vrid(),
        priority: tx.priority,
        adver_int: secs_u8(tx.advert_interval),
        addresses,
    };
    let ip_id = member.ip_id.next_id();
    let unicast = member.plan.is_unicast();
    let group = [member.plan.group_addr];
    let peers: Vec<Ipv4Addr>;
    let dests: &[Ipv4Addr] = if unicast {
        peers = member.plan.peers.iter().map(|p| p.addr).collect();
        &peers
    } else {
        &group
    };
    let iface = io.tx.interface_slot(member.tx_interface());
    for &dst in dests {
        let params = TxParams {
            src: member.plan.fsm.source,
            dst,
            ip_id,
            ttl: if unicast {
                member.plan.unicast_ttl
            } else {
                VRRP_TTL
            },
            tos: KEEPALIVED_TOS,
            unicast,
        };
        // Encoded in place at the end of the queue's buffer.
        let start = io.tx.bytes.len();
        io.tx.bytes.resize(start + MAX_ADVERT_LEN, 0);
        let encoded = io
            .tx
            .bytes
            .get_mut(start..)
            .map(|buf| encode_advert(&params, &repr, &member.authenticator, tx.ah_seq, buf));
        match encoded {
            Some(Ok(len)) => {
                io.tx.bytes.truncate(start + len);
                io.tx.items.push(QueuedAdvert {
                    iface,
                    name: Arc::clone(&member.name),
                    vrid,
                    priority: tx.priority,
                    dst,
                    range: start..start + len,
                });
            }
            Some(Err(e)) => {
                io.tx.bytes.truncate(start);
                error!(
                    "({}) VRID {vrid}: cannot encode advert: {e}",
                    member.plan.name
                );
                return;
            }
            None => io.tx.bytes.truncate(start),
        }
    }
}

/// Sends every queued advert: one `sendmmsg` (per 64 packets) per interface, in the
/// order they were queued within each interface.
fn flush_adverts(io: &mut Io) {
    if io.tx.items.is_empty() {
        return;
    }
    let mut items = std::mem::take(&mut io.tx.items);
    let mut bytes = std::mem::take(&mut io.tx.bytes);
    let interfaces = std::mem::take(&mut io.tx.interfaces);
    // Stable: per-interface order is kept.
    items.sort_by_key(|q| q.iface);
    let mut packets: Vec<&[u8]> = Vec::with_capacity(items.len());
    for group in items.chunk_by(|a, b| a.iface == b.iface) {
        let Some(iface) = group.first().and_then(|q| interfaces.get(q.iface)) else {
            continue;
        };
        let iface = iface.as_str();
        packets.clear();
        packets.extend(group.iter().filter_map(|q| bytes.get(q.range.clone())));
        let result = io.sender(iface).and_then(|s| s.send_batch(&packets));
        let (sent, error) = match result {
            Ok(n) if n >= group.len() => (n, None),
            Ok(n) => (n, Some("socket buffer full".to_owned())),
            Err(e) => {
                // Reopen next time (the interface may have been recreated).
                io.senders.remove(iface);
                (0, Some(e.to_string()))
            }
        };
        for q in group.iter().take(sent) {
            debug!(
                "({}) VRID {}: sent advert prio {} to {} on {iface}",
                q.name, q.vrid, q.priority, q.dst
            );
        }
        if let Some(e) = error {
            for q in group.iter().skip(sent) {
                if may_log(&mut io.tx.logged, Arc::clone(&q.name)) {
                    warn!(
                        "({}) VRID {} on {iface}: cannot send advert: {e}",
                        q.name, q.vrid
                    );
                }
            }
        }
    }
    drop(packets);
    io.tx.interfaces = interfaces;
    items.clear();
    bytes.clear();
    io.tx.items = items;
    io.tx.bytes = bytes;
}

fn apply_effect(member: &mut Member, io: &mut Io, effect: &Effect) {
    let name = member.plan.name.clone();
    let vrid = member.vrid();
    match effect {
        Effect::InstallVips(list) | Effect::RemoveVips(list) => {
            let add = matches!(effect, Effect::InstallVips(_));
            // Leaving MASTER (every address goes): routes first, as keepalived does, while
            // their source addresses still exist.
            if !add
                && !member.routes.is_empty()
                && member
                    .installed
                    .iter()
                    .all(|(_, a, _)| list.contains(&IpAddr::V4(*a)))
            {
                let routes = std::mem::take(&mut member.routes);
                remove_routes(&name, &routes, io);
            }
            for addr in list {
                if let Some(vip) = member.vip6(*addr) {
                    let (mut dev, address, mut len) =
                        (vip.dev.clone(), vip.address, vip.prefix_len);
                    let result = if add {
                        let added = io.rtnl.add_address6(&dev, address, len);
                        if added.is_ok() && !member.installed6.iter().any(|(_, a, _)| *a == address)
                        {
                            member.installed6.push((dev.clone(), address, len));
                        }
                        added.map(|o| format!("{o:?}"))
                    } else {
                        // As installed, whatever the plan says now.
                        if let Some(i) =
                            member.installed6.iter().position(|(_, a, _)| *a == address)
                        {
                            (dev, len) = {
                                let (d, _, l) = member.installed6.swap_remove(i);
                                (d, l)
                            };
                        }
                        io.garp_pacer.forget(&dev, &[*addr]);
                        io.rtnl
                            .delete_address6(&dev, address, len)
                            .map(|o| format!("{o:?}"))
                    };
                    let verb = if add { "add" } else { "remove" };
                    match result {
                        Ok(o) => debug!("({name}) VRID {vrid}: {verb} {addr} on {dev}: {o}"),
                        Err(e) => {
                            error!("({name}) VRID {vrid}: cannot {verb} {addr} on {dev}: {e}")
                        }
                    }
                    continue;
                }
                let Some(vip) = member.vip(*addr) else {
                    continue;
                };
                let (mut dev, mut spec) = (vip.dev.clone(), vip.addr.clone());
                if !add
                    && let Some((d, _, len)) =
                        member.installed.iter().find(|(_, a, _)| *a == spec.address)
                {
                    // As installed, whatever the plan says now.
                    dev.clone_from(d);
                    spec.prefix_len = *len;
                }
                let result = if add {
                    io.rtnl.add_address(&dev, &spec).map(|o| format!("{o:?}"))
                } else {
                    io.rtnl
                        .delete_address(&dev, &spec)
                        .map(|o| format!("{o:?}"))
                };
                let verb = if add { "add" } else { "remove" };
                let address = spec.address;
                match &result {
                    Ok(outcome) => {
                        debug!("({name}) VRID {vrid}: {verb} {addr} on {dev}: {outcome}")
                    }
                    Err(e) => error!("({name}) VRID {vrid}: cannot {verb} {addr} on {dev}: {e}"),
                }
                if !add {
                    io.garp_pacer.forget(&dev, &[IpAddr::V4(address)]);
                    let before = member.installed.len();
                    member.installed.retain(|(_, a, _)| *a != address);
                    let removed = before - member.installed.len();
                    io.installed_count = io.installed_count.saturating_sub(removed);
                } else if result.is_ok() && !member.installed.iter().any(|(_, a, _)| *a == address)
                {
                    // Usually one or two addresses: no spare capacity.
                    member.installed.reserve_exact(1);
                    member.installed.push((dev, address, spec.prefix_len));
                    io.installed_count += 1;
                }
            }
        }
        Effect::Garp { vips, repeat } => {
            // IPv4 addresses get gratuitous ARPs, IPv6 ones neighbour advertisements.
            let mut by_dev: Vec<(String, Vec<IpAddr>)> = Vec::new();
            for addr in vips {
                let dev = match (member.vip(*addr), member.vip6(*addr)) {
                    (Some(v), _) => &v.dev,
                    (None, Some(v)) => &v.dev,
                    (None, None) => continue,
                };
                match by_dev.iter_mut().find(|(d, _)| d == dev) {
                    Some((_, list)) => list.push(*addr),
                    None => by_dev.push((dev.clone(), vec![*addr])),
                }
            }
            let interval = member.plan.garp_interval;
            if !interval.is_zero() {
                let now = StdInstant::now();
                for (dev, list) in by_dev {
                    let dropped = io
                        .garp_pacer
                        .push(&dev, interval, &list, *repeat as usize, now);
                    if dropped > 0 {
                        warn!(
                            "({name}) VRID {vrid} on {dev}: {dropped} queued gratuitous ARPs dropped (garp_interval backlog)"
                        );
                    }
                }
                send_due_garps(io);
                return;
            }
            for (dev, list) in by_dev {
                let v4: Vec<Ipv4Addr> = list
                    .iter()
                    .filter_map(|a| match a {
                        IpAddr::V4(a) => Some(*a),
                        IpAddr::V6(_) => None,
                    })
                    .collect();
                let v6: Vec<Ipv6Addr> = list
                    .iter()
                    .filter_map(|a| match a {
                        IpAddr::V6(a) => Some(*a),
                        IpAddr::V4(_) => None,
                    })
                    .collect();
                let router = !v6.is_empty() && ha_os::iface::ipv6_forwarding(&dev);
                let result = io.garp(&dev).and_then(|g| {
                    // Each family on its own: a failed ARP does not hold back the NAs.
                    let arps = g.send_burst(&v4, *repeat as usize);
                    let mut nas = Ok(0usize);
                    for _ in 0..*repeat {
                        for a in &v6 {
                            nas = nas.and_then(|n| g.send_na(*a, router).map(|()| n + 1));
                        }
                    }
                    Ok(arps? + nas?)
                });
                match result {
                    Ok(n) => {
                        debug!("({name}) VRID {vrid}: sent {n} address announcements on {dev}")
                    }
                    Err(e) => {
                        io.garps.remove(&dev);
                        if may_log(&mut Trouble::of(&mut member.trouble).other_logged, "garp") {
                            warn!("({name}) VRID {vrid} on {dev}: cannot send gratuitous ARP: {e}");
                        }
                    }
                }
            }
        }
        Effect::VmacUp => {
            let Some(vmac) = member.plan.vmac.clone() else {
                return;
            };
            let spec = MacvlanSpec {
                name: vmac.clone(),
                mac: vmac_address(vrid),
                mode: MacvlanMode::Private,
                up: true,
            };
            match io.rtnl.create_macvlan(&member.plan.interface, &spec) {
                Ok(outcome) => {
                    if let Err(e) = io.rtnl.set_link_up(&vmac, true) {
                        error!("({name}) VRID {vrid}: cannot bring {vmac} up: {e}");
                    }
                    info!(
                        "({name}) VRID {vrid}: VMAC {vmac} on {} ({outcome:?})",
                        member.plan.interface
                    );
                    member.vmac_up = true;
                }
                Err(e) => error!(
                    "({name}) VRID {vrid}: cannot create VMAC {vmac} on {}: {e}",
                    member.plan.interface
                ),
            }
        }
        Effect::VmacDown => {
            let Some(vmac) = member.plan.vmac.clone() else {
                return;
            };
            io.senders.remove(&vmac);
            io.garps.remove(&vmac);
            member.vmac_up = false;
            if let Err(e) = io.rtnl.delete_link(&vmac) {
                error!("({name}) VRID {vrid}: cannot delete VMAC {vmac}: {e}");
            }
        }
        Effect::SyncCommit | Effect::SyncRelease => {}
    }
}

/// Sends the paced gratuitous ARPs (and neighbour advertisements) whose turn has come.
fn send_due_garps(io: &mut Io) {
    for (dev, vip) in io.garp_pacer.due(StdInstant::now()) {
        let result = io.garp(&dev).and_then(|g| match vip {
            IpAddr::V4(a) => g.send(a),
            IpAddr::V6(a) => g.send_na(a, ha_os::iface::ipv6_forwarding(&dev)),
        });
        match result {
            Ok(()) => debug!("sent a gratuitous ARP for {vip} on {dev}"),
            Err(e) => {
                io.garps.remove(&dev);
                warn!("cannot send gratuitous ARP for {vip} on {dev}: {e}");
            }
        }
    }
}

fn queue_notifies(
    io: &mut Io,
    owner: &str,
    kind: &str,
    name: &str,
    notify: &NotifyPlan,
    to: State,
    priority: u8,
) {
    let specific = match to {
        State::Master => &notify.master,
        State::Backup => &notify.backup,
        State::Fault => &notify.fault,
        State::Init => &notify.stop,
    };
    let now = StdInstant::now();
    if let Some(job) = specific {
        io.notifier.enqueue(owner, job.clone(), now);
    }
    if let Some(g) = &notify.generic {
        let mut argv = g.argv.clone();
        argv.extend([
            kind.to_owned(),
            name.to_owned(),
            state_word(to).to_owned(),
            priority.to_string(),
        ]);
        io.notifier.enqueue(owner, Job { argv, ids: g.ids }, now);
    }
}

fn on_event(unit: &mut Unit, io: &mut Io, member: Option<MemberId>, event: Event) {
    match (event, member) {
        (Event::StateChanged { from, to, reason }, Some(m)) => {
            let prio = unit.fsm.member_priority(m).unwrap_or(0);
            let Some(member) = unit.members.get(m.0) else {
                return;
            };
            let p = &member.plan;
            info!(
                instance = %p.name,
                vrid = p.vrid().get(),
                "({}) VRID {} on {}: {} -> {} ({reason:?})",
                p.name,
                p.vrid(),
                p.interface,
                state_name(from),
                state_name(to)
            );
            let owner = format!("instance {}", p.name);
            queue_notifies(io, &owner, "INSTANCE", &p.name, p.notify(), to, prio);
            io.report.state_change(
                "INSTANCE",
                &p.name,
                Some(p.vrid().get()),
                from,
                to,
                prio,
                format!("{reason:?}"),
            );
        }
        (Event::GroupStateChanged { from, to, reason }, None) => {
            if let Some((name, notify)) = unit.group.as_deref() {
                info!(
                    group = %name,
                    "group {name}: {} -> {} ({reason:?})",
                    state_name(from),
                    state_name(to)
                );
                let owner = format!("group {name}");
                queue_notifies(io, &owner, "GROUP", name, notify, to, 0);
                io.report
                    .state_change("GROUP", name, None, from, to, 0, format!("{reason:?}"));
            }
        }
        (Event::PriorityChanged { from, to }, Some(m)) => {
            if let Some(member) = unit.members.get(m.0) {
                info!(
                    "({}) VRID {}: effective priority {from} -> {to}",
                    member.plan.name,
                    member.vrid()
                );
            }
        }
        (Event::AdvertDropped { source, reason }, Some(m)) => {
            if let Some(member) = unit.members.get_mut(m.0)
                && may_log(
                    &mut Trouble::of(&mut member.trouble).other_logged,
                    "fsm-drop",
                )
            {
                warn!(
                    "({}) VRID {} on {}: dropped advert from {source}: {reason:?}",
                    member.plan.name,
                    member.vrid(),
                    member.plan.interface
                );
            }
        }
        (other, m) => {
            let name = m
                .and_then(|m| unit.members.get(m.0))
                .map(|x| x.plan.name.as_str())
                .unwrap_or("-");
            debug!("({name}) {other:?}");
        }
    }
}

/// The unit label, sync-group name and member name the state-sync coupling keys on.
fn sync_identity(unit: &Unit, m: Option<MemberId>) -> (String, Option<String>, Option<String>) {
    let group = unit.group.as_ref().map(|g| g.0.clone());
    let member = m
        .and_then(|m| unit.members.get(m.0))
        .map(|x| x.plan.name.clone());
    (unit.label(), group, member)
}

/// Drains a unit's outputs after an input, acknowledging sync effects.
///
/// Adverts go out first (one `sendmmsg` per interface), then the effects and events in
/// the order the state machine produced them: when a sync group changes state, every
/// member's advert leaves before the first VIP is installed. Unless the caller batches
/// ([`TxQueue::batching`]), the queue is flushed before returning.
fn drain(unit: &mut Unit, io: &mut Io, now: Instant) {
    let mut acks: Vec<(EffectId, EffectOutcome)> = Vec::new();
    let mut deferred: Vec<(Option<MemberId>, Output)> = Vec::new();
    loop {
        while let Some((m, out)) = unit.fsm.poll_output() {
            match out {
                Output::Advert(tx) => {
                    if let Some(member) = m.and_then(|m| unit.members.get_mut(m.0)) {
                        send_advert(member, io, tx);
                    }
                }
                other => deferred.push((m, other)),
            }
        }
        if !deferred.is_empty() {
            flush_adverts(io);
        }
        for (m, out) in deferred.drain(..) {
            match out {
                // Queued above.
                Output::Advert(_) => {}
                Output::Effect { id, effect } => {
                    if let Some(member) = m.and_then(|m| unit.members.get_mut(m.0)) {
                        apply_effect(member, io, &effect);
                    }
                    if matches!(effect, Effect::SyncCommit | Effect::SyncRelease)
                        && let Some(outcome) = {
                            let (label, group, member) = sync_identity(unit, m);
                            io.state_sync.request(
                                &label,
                                group.as_deref(),
                                member.as_deref(),
                                id,
                                &effect,
                            )
                        }
                    {
                        acks.push((id, outcome));
                    }
                }
                Output::Event(ev) => {
                    let (_, group, member) = sync_identity(unit, m);
                    io.state_sync
                        .observe(group.as_deref(), member.as_deref(), &ev);
                    on_event(unit, io, m, ev)
                }
            }
        }
        if acks.is_empty() {
            break;
        }
        for (id, outcome) in acks.drain(..) {
            unit.fsm.handle_effect_done(now, id, outcome);
        }
    }
    if !io.tx.batching {
        flush_adverts(io);
    }
    reconcile_routes(unit, io);
}

/// `virtual_routes` follow the VIPs: present while a member is MASTER and its addresses are
/// in place (after ssyncpd's commit, with a commit barrier), absent otherwise. Routes a
/// reload dropped go, new ones come. Cheap when nothing is to change (it runs after every
/// `drain`).
fn reconcile_routes(unit: &mut Unit, io: &mut Io) {
    for (i, member) in unit.members.iter_mut().enumerate() {
        if member.plan.routes.is_empty() && member.routes.is_empty() {
            continue;
        }
        let master = unit.fsm.member_state(MemberId(i)) == Some(State::Master);
        if !master && member.routes.is_empty() {
            continue;
        }
        if master && member.routes == member.plan.routes {
            continue;
        }
        let active = master
            && (!member.installed.is_empty() || member.plan.vips.is_empty())
            && !io.state_sync.commit_pending(&member.plan.name);
        let wanted: &[ha_os::Route] = if active { &member.plan.routes } else { &[] };
        let (kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut member.routes)
            .into_iter()
            .partition(|r| wanted.contains(r));
        remove_routes(&member.plan.name, &gone, io);
        let mut installed = kept;
        for route in wanted {
            if installed.contains(route) {
                continue;
            }
            let name = &member.plan.name;
            // Recorded even when refused, so a failing route is tried once per mastership
            // rather than on every packet.
            match io.rtnl.add_route(route) {
                Ok(o) => info!(
                    "({name}) route {}/{} added: {o:?}",
                    route.dst, route.prefix_len
                ),
                Err(e) => error!(
                    "({name}) cannot add route {}/{}: {e}",
                    route.dst, route.prefix_len
                ),
            }
            installed.push(route.clone());
        }
        member.routes = installed;
    }
}

/// Deletes `routes` (installed by instance `name`), logging the outcome.
fn remove_routes(name: &str, routes: &[ha_os::Route], io: &mut Io) {
    for route in routes {
        match io.rtnl.delete_route(route) {
            Ok(o) => debug!(
                "({name}) removed route {}/{}: {o:?}",
                route.dst, route.prefix_len
            ),
            Err(e) => warn!(
                "({name}) cannot remove route {}/{}: {e}",
                route.dst, route.prefix_len
            ),
        }
    }
}

/// Runs `f` with the advert queue in batching mode, then flushes it (unless an outer
/// caller batches too).
fn batched<R>(io: &mut Io, f: impl FnOnce(&mut Io) -> R) -> R {
    let outer = std::mem::replace(&mut io.tx.batching, true);
    let result = f(io);
    io.tx.batching = outer;
    if !outer {
        flush_adverts(io);
    }
    result
}

/// Packets handled between two looks at the clock and the timers while one socket is read.
const RX_BATCH: usize = 64;

/// Each unit's next state-machine deadline, index-aligned with the units.
///
/// A dense copy (16 bytes per unit): finding the next wake-up and the due units reads
/// this array instead of walking every `Unit` (each on its own cache lines) twice per
/// wake-up, which with 1,000 instances was a tenth of a backup's CPU time. The hot paths
/// (received adverts, timeouts) update their unit's entry; every other input marks the
/// whole copy stale, and it is recomputed before it is next read.
#[derive(Debug, Default)]
struct Deadlines {
    due: Vec<Option<Instant>>,
    /// Some unit may have changed without its entry being updated.
    stale: bool,
}

impl Deadlines {
    /// Marks every entry as possibly out of date.
    fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Recomputes every entry if some may be out of date (or units were added/removed).
    fn refresh(&mut self, units: &[Unit]) {
        if self.stale || self.due.len() != units.len() {
            self.due.clear();
            self.due.extend(units.iter().map(|u| u.fsm.poll_timeout()));
            self.stale = false;
        }
    }

    /// Records unit `u`'s deadline after an input to it.
    fn update(&mut self, units: &[Unit], u: usize) {
        if let (Some(slot), Some(unit)) = (self.due.get_mut(u), units.get(u)) {
            *slot = unit.fsm.poll_timeout();
        }
    }

    /// The earliest deadline of all units (call [`Deadlines::refresh`] first).
    fn earliest(&self) -> Option<Instant> {
        self.due.iter().flatten().min().copied()
    }
}

/// Runs the state machines' timeouts due at `now` and carries out their effects.
fn run_due_timeouts(units: &mut [Unit], deadlines: &mut Deadlines, io: &mut Io, now: Instant) {
    deadlines.refresh(units);
    // Units with a timer due within the advert slack get a call too: a master's advert
    // then leaves with the others of this wake-up (other timers still fire exactly).
    let window = now + ADVERT_SLACK;
    batched(io, |io| {
        for (unit, due) in units.iter_mut().zip(deadlines.due.iter_mut()) {
            if due.is_none_or(|t| t > window) {
                continue;
            }
            // A timeout may schedule another one due at once; a few rounds settle it.
            for _ in 0..8 {
                let before = unit.fsm.poll_timeout();
                if before.is_none_or(|t| t > window) {
                    break;
                }
                unit.fsm.handle_timeout(now);
                drain(unit, io, now);
                if unit.fsm.poll_timeout() == before {
                    // Nothing was due yet (a backup's timer inside the window).
                    break;
                }
            }
            *due = unit.fsm.poll_timeout();
        }
    })
}

/// keepalived's AH header length (payload length field 4): where the VRRP header starts.
const AH_FIXED_LEN: usize = 24;

/// Where received packets go: the VRID demultiplexer, plus what is needed to place the
/// malformed AH packets it cannot route.
#[derive(Debug, Default)]
struct Routes {
    /// (interface, protocol, VRID) → (unit, member).
    demux: Demux<(usize, usize)>,
    /// (ifindex, VRID) → (unit, member) for the AH instances, to read a VRID at the fixed
    /// AH offset when the AH length field is wrong.
    ah_fixed: HashMap<(u32, u8), (usize, usize)>,
    /// Malformed AH packets no instance can be blamed for, per interface name.
    unattributed: HashMap<String, u64>,
}

/// What to do with a packet the demultiplexer could not route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unrouted {
    /// A malformed AH packet whose VRID is still readable at the fixed AH offset: the
    /// instance's decoder counts it (auth failure or packet length error).
    Instance((usize, usize)),
    /// A malformed AH packet no instance can be blamed for.
    Unattributed,
    /// Not ours (unknown VRID, or AH not carrying VRRP: keepalived drops it silently).
    Ignored,
}

/// Places a packet [`Demux::route`] gave up on (see [`Unrouted`]).
fn place_unrouted(
    ah_fixed: &HashMap<(u32, u8), (usize, usize)>,
    pkt: &ReceivedPacket<'_>,
) -> Unrouted {
    if pkt.protocol != IpProtocol::Ah {
        return Unrouted::Ignored;
    }
    let Some(&first) = pkt.bytes.first() else {
        return Unrouted::Unattributed;
    };
    let ihl = usize::from(first & 0x0f) * 4;
    let next_header = pkt.bytes.get(ihl).copied();
    let payload_len = pkt.bytes.get(ihl + 1).copied();
    if next_header.is_some_and(|n| n != 112) {
        return Unrouted::Ignored;
    }
    match pkt.bytes.get(ihl + AH_FIXED_LEN + 1) {
        Some(vrid) => match ah_fixed.get(&(pkt.ifindex, *vrid)) {
            Some(&target) => Unrouted::Instance(target),
            // A well-formed AH header with a VRID of nobody here: another router's.
            None if payload_len == Some(4) => Unrouted::Ignored,
            None => Unrouted::Unattributed,
        },
        None => Unrouted::Unattributed,
    }
}

/// Validates a received packet for its instance and feeds it to the state machine.
/// Returns the index of the unit it was routed to (whose deadline may have changed).
fn on_packet(
    units: &mut [Unit],
    io: &mut Io,
    routes: &mut Routes,
    pkt: &ReceivedPacket<'_>,
    now: Instant,
) -> Option<usize> {
    let routed = match routes.demux.route(pkt) {
        Some(&target) => Some(target),
        None => match place_unrouted(&routes.ah_fixed, pkt) {
            Unrouted::Instance(target) => Some(target),
            Unrouted::Unattributed => {
                *routes
                    .unattributed
                    .entry(pkt.interface.to_owned())
                    .or_default() += 1;
                debug!(
                    "malformed AH packet from {} on {} ({} bytes): no instance to count it",
                    pkt.source,
                    pkt.interface,
                    pkt.bytes.len()
                );
                None
            }
            Unrouted::Ignored => {
                debug!(
                    "packet from {} on {} for an unknown VRID ignored",
                    pkt.source, pkt.interface
                );
                None
            }
        },
    };
    let (u, m) = routed?;
    let unit = units.get_mut(u)?;
    let member = unit.members.get_mut(m)?;
    let plan = &member.plan;
    let policy = RxPolicy {
        auth: &member.authenticator,
        unicast: plan.is_unicast(),
        expected_vrid: Some(plan.vrid()),
        adver_int: Some(plan.adver_int_secs()),
        vips: (!plan.skip_check_adv_addr).then_some(member.advertised()),
        address_list_policy: AddressListPolicy::AcceptAndFlag,
        verify_ip_checksum: true,
    };
    // Per-peer TTL limits (`unicast_peer { IP min_ttl N max_ttl M }`).
    let ttl = pkt.bytes.get(8).copied().unwrap_or(0);
    let ttl_ok = !plan.is_unicast()
        || plan
            .peers
            .iter()
            .find(|p| p.addr == pkt.source)
            .is_none_or(|p| (p.min_ttl..=p.max_ttl).contains(&ttl));
    if !ttl_ok {
        *Trouble::of(&mut member.trouble)
            .rx_errors
            .entry(Rfc2787Counter::IpTtlErrors)
            .or_default() += 1;
        let (name, vrid) = (plan.name.clone(), plan.vrid());
        if may_log(
            &mut Trouble::of(&mut member.trouble).other_logged,
            "peer-ttl",
        ) {
            warn!(
                "({name}) VRID {vrid} on {}: dropped advert from {}: TTL {ttl} outside the peer's min_ttl/max_ttl",
                pkt.interface, pkt.source
            );
        }
        return Some(u);
    }
    let result = decode_advert(pkt.bytes, &policy).map(|rx| {
        let from_peer = plan.peers.iter().any(|p| p.addr == rx.src);
        let advert = AdvertRx {
            source: rx.src,
            priority: rx.priority,
            advert_interval: Duration::from_secs(u64::from(rx.adver_int)),
            ah_seq: rx.ah_sequence(),
            addresses_match: rx.address_list != AddressListMatch::Differs,
        };
        (advert, from_peer)
    });
    match result {
        Ok((_, false)) if plan.is_unicast() && plan.check_unicast_src => {
            *Trouble::of(&mut member.trouble)
                .rx_errors
                .entry(Rfc2787Counter::AddressListErrors)
                .or_default() += 1;
            let (name, vrid) = (plan.name.clone(), plan.vrid());
            if may_log(&mut Trouble::of(&mut member.trouble).other_logged, "peer") {
                warn!(
                    "({name}) VRID {vrid} on {}: dropped advert from {}: not a configured unicast peer",
                    pkt.interface, pkt.source
                );
            }
        }
        Ok((rx, _)) => {
            debug!(
                "({}) VRID {}: advert from {} prio {}",
                plan.name,
                plan.vrid(),
                rx.source,
                rx.priority
            );
            if rx.priority > 0 {
                member.last_advertiser = Some(rx.source);
            }
            let _ = unit.fsm.handle_advert(now, MemberId(m), rx);
            drain(unit, io, now);
        }
        Err(e) => {
            if let Some(counter) = e.counter() {
                *Trouble::of(&mut member.trouble)
                    .rx_errors
                    .entry(counter)
                    .or_default() += 1;
            }
            let (name, vrid) = (member.plan.name.clone(), member.vrid());
            let noteworthy = matches!(e, RxError::AdvertIntervalMismatch { .. });
            if e.is_silent_drop() && !noteworthy {
                debug!(
                    "({name}) VRID {vrid} on {}: ignored packet from {}: {e}",
                    pkt.interface, pkt.source
                );
            } else if may_log(
                &mut Trouble::of(&mut member.trouble).rx_logged,
                std::mem::discriminant(&e),
            ) {
                warn!(
                    "({name}) VRID {vrid} on {}: dropped packet from {}: {e}",
                    pkt.interface, pkt.source
                );
            }
        }
    }
    Some(u)
}

/// What a SIGUSR1/SIGUSR2 dump writes.
#[derive(Debug, Clone, Copy)]
enum Dump {
    /// The status table (SIGUSR1, keepalived's `keepalived.data`).
    Data,
    /// The statistics (SIGUSR2, keepalived's `keepalived.stats`).
    Stats,
}

/// The running daemon.
pub struct Daemon {
    poll: Poll,
    clock: Clock,
    config_path: PathBuf,
    units: Vec<Unit>,
    io: Io,
    query: Option<InterfaceQuery>,
    rx: RxPool,
    registered: Vec<RxKey>,
    routes: Routes,
    links: Option<NetlinkMonitor>,
    link_state: HashMap<String, bool>,
    signals: Signals,
    scripts: Scripts,
    files: TrackFiles,
    registry: TrackRegistry,
    /// The running configuration, kept only while an instance waits for a missing
    /// interface address (`source_missing`): the one case re-planned without a reload. A
    /// reload re-reads the file, so otherwise the parsed copy (about 1 KB per instance) is
    /// dropped once planned.
    config: Option<kaconf::Config>,
    users: UserDb,
    control: Option<ControlServer>,
    metrics: Option<MetricsServer>,
    sd: SdNotify,
    started: StdInstant,
    next_housekeeping: StdInstant,
    /// `vrrp_startup_delay`: units waiting to start, and when.
    delayed: Option<(StdInstant, Vec<UnitPlan>)>,
    /// ifindex of every instance interface at the last housekeeping (`None`: missing).
    ifindex: HashMap<String, Option<u32>>,
    /// The units' next deadlines (see [`Deadlines`]).
    deadlines: Deadlines,
    /// The distinct interfaces of the running instances, in first-use order.
    interface_names: Vec<String>,
}

impl Daemon {
    /// Loads the configuration, opens the sockets and starts every instance.
    pub fn start(options: &Options) -> Result<Daemon, StartError> {
        let config_path = options.config.as_path();
        let config = load_config(config_path)?;
        let fail = |what: &str, e: &dyn std::fmt::Display| StartError(format!("{what}: {e}"));
        let rtnl = Rtnetlink::open().map_err(|e| fail("rtnetlink", &e))?;
        let poll = Poll::new().map_err(|e| fail("mio poll", &e))?;
        // The control socket first: a second daemon must refuse before touching anything.
        let control = match &options.control_socket {
            Some(path) => Some(
                ControlServer::bind(path, poll.registry(), CONTROL_TOKEN, CONTROL_CLIENT_BASE)
                    .map_err(|e| StartError(e.to_string()))?,
            ),
            None => None,
        };
        let metrics = match options.metrics {
            Some(addr) => Some(
                MetricsServer::bind(addr, poll.registry(), METRICS_TOKEN, METRICS_CLIENT_BASE)
                    .map_err(|e| StartError(e.to_string()))?,
            ),
            None => None,
        };
        let state_sync = match &options.sync_socket {
            Some(path) => {
                let barrier = Duration::from_millis(options.sync_commit_timeout_ms);
                StateSync::bind(path, barrier, poll.registry())
                    .map_err(|e| fail(&format!("sync socket {}", path.display()), &e))?
            }
            None => StateSync::disabled(),
        };
        let fifo = config.global.notify_fifo.as_ref().and_then(|p| {
            NotifyFifo::open(Path::new(p))
                .map_err(|e| error!("notify fifo {p}: {e}"))
                .ok()
        });
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2])
            .map_err(|e| fail("signal handlers", &e))?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)
            .map_err(|e| fail("signal registration", &e))?;
        let links = match NetlinkMonitor::open(&NetlinkOptions::default()) {
            Ok(mut monitor) => {
                match poll
                    .registry()
                    .register(&mut monitor, NETLINK_TOKEN, Interest::READABLE)
                {
                    Ok(()) => Some(monitor),
                    Err(e) => {
                        error!("cannot watch links: {e}; link changes will not be seen");
                        None
                    }
                }
            }
            Err(e) => {
                error!("cannot open the link monitor: {e}; link changes will not be seen");
                None
            }
        };
        let query = InterfaceQuery::new()
            .map_err(|e| error!("interface queries unavailable: {e}"))
            .ok();
        let mut daemon = Daemon {
            poll,
            clock: Clock::new(),
            config_path: config_path.to_path_buf(),
            units: Vec::new(),
            io: Io {
                rtnl,
                senders: HashMap::new(),
                garps: HashMap::new(),
                notifier: Notifier::default(),
                report: Report {
                    fifo,
                    no_subscribers: control.is_none(),
                    ..Report::default()
                },
                state_sync,
                tx: TxQueue::default(),
                installed_count: 0,
                garp_pacer: GarpPacer::default(),
            },
            query,
            rx: RxPool::new(),
            registered: Vec::new(),
            routes: Routes::default(),
            links,
            link_state: HashMap::new(),
            signals,
            scripts: Scripts::default(),
            files: TrackFiles::default(),
            registry: TrackRegistry::default(),
            // Set below, once planned, if still needed.
            config: None,
            users: UserDb::system(),
            control,
            metrics,
            sd: SdNotify::from_env(),
            started: StdInstant::now(),
            next_housekeeping: StdInstant::now() + HOUSEKEEPING,
            delayed: None,
            ifindex: HashMap::new(),
            deadlines: Deadlines::default(),
            interface_names: Vec::new(),
        };
        crate::trackfile::init_files(&config, false);
        let plan = daemon.plan(&config, &HashMap::new());
        let delay = StdDuration::from_micros(config.global.startup_delay_us);
        // Dropped before the units are built, so it does not add to the start-up peak.
        daemon.config = needs_config(&plan).then_some(config);
        if plan.units.is_empty() {
            warn!("no VRRP instance to run");
        }
        daemon.scripts = Scripts::new(&plan.scripts, &HashMap::new(), StdInstant::now());
        daemon.files = TrackFiles::start(plan.files, daemon.poll.registry(), FILES_TOKEN);
        if delay.is_zero() {
            daemon.units.reserve_exact(plan.units.len());
            for unit_plan in plan.units {
                daemon.start_unit(unit_plan);
            }
        } else {
            info!(
                "vrrp_startup_delay: instances start in {:.1} s",
                delay.as_secs_f64()
            );
            daemon.delayed = Some((StdInstant::now() + delay, plan.units));
        }
        daemon.rebuild_sockets();
        daemon.refresh_interface_names();
        daemon.ifindex = daemon.interface_indexes();
        Ok(daemon)
    }

    /// Recomputes the distinct instance interfaces (after units were added or replaced),
    /// so the once-a-second housekeeping does not walk every member for them.
    fn refresh_interface_names(&mut self) {
        // A handful of names: cheaper than hashing every member's interface.
        let mut names: Vec<String> = Vec::new();
        for unit in &self.units {
            for m in &unit.members {
                let name = m.plan.interface.as_str();
                if names.last().map(String::as_str) != Some(name)
                    && !names.iter().any(|n| n == name)
                {
                    names.push(name.to_owned());
                }
            }
        }
        self.interface_names = names;
    }

    /// ifindex of every instance interface (`None`: the interface does not exist).
    fn interface_indexes(&self) -> HashMap<String, Option<u32>> {
        self.interface_names
            .iter()
            .map(|name| {
                let index = self.query.as_ref().and_then(|q| q.index(name).ok());
                (name.clone(), index)
            })
            .collect()
    }

    /// The status snapshot served by `vrrpd status` and the metrics endpoint.
    pub fn status(&self) -> Status {
        let mut instances = Vec::new();
        let mut groups = Vec::new();
        for unit in &self.units {
            let group_name = unit.group.as_ref().map(|g| g.0.clone());
            for (i, m) in unit.members.iter().enumerate() {
                let id = MemberId(i);
                let state = unit.fsm.member_state(id).unwrap_or(State::Init);
                let stats = unit.fsm.member_stats(id).unwrap_or_default();
                let p = &m.plan;
                let master = match state {
                    State::Master => Some(p.fsm.source),
                    State::Backup => m.last_advertiser,
                    _ => None,
                };
                instances.push(InstanceStatus {
                    name: p.name.clone(),
                    vrid: m.vrid(),
                    interface: p.interface.clone(),
                    state: state_name(state).to_owned(),
                    base_priority: p.fsm.priority,
                    effective_priority: unit.fsm.member_priority(id).unwrap_or(0),
                    source: p.fsm.source.to_string(),
                    master: master.map(|a| a.to_string()),
                    vips: p.address_list(),
                    group: group_name.clone(),
                    counters: m.counters(stats),
                });
            }
            if let Some(name) = group_name {
                groups.push(GroupStatus {
                    name,
                    state: state_name(unit.fsm.state()).to_owned(),
                    members: unit.members.iter().map(|m| m.plan.name.clone()).collect(),
                });
            }
        }
        if let Some((_, pending)) = &self.delayed {
            for u in pending {
                for p in &u.members {
                    instances.push(InstanceStatus {
                        name: p.name.clone(),
                        vrid: p.vrid().get(),
                        interface: p.interface.clone(),
                        state: state_name(State::Init).to_owned(),
                        base_priority: p.fsm.priority,
                        effective_priority: p.fsm.priority,
                        source: p.fsm.source.to_string(),
                        master: None,
                        vips: p.address_list(),
                        group: u.group.as_ref().map(|(n, _)| n.clone()),
                        counters: Counters::default(),
                    });
                }
            }
        }
        Status {
            schema: SCHEMA_VERSION,
            daemon: DaemonStatus {
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                uptime_secs: self.started.elapsed().as_secs(),
                config: self.config_path.display().to_string(),
            },
            instances,
            groups,
            interfaces: self.interface_status(),
        }
    }

    /// Every interface with a receive socket or an unattributed packet, by name.
    fn interface_status(&self) -> Vec<InterfaceStatus> {
        let mut names: Vec<String> = self
            .rx
            .keys()
            .filter_map(|k| self.rx.socket(k).map(|s| s.interface().to_owned()))
            .chain(self.routes.unattributed.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| InterfaceStatus {
                unattributed: self.routes.unattributed.get(&name).copied().unwrap_or(0),
                name,
            })
            .collect()
    }

    fn plan(&mut self, config: &kaconf::Config, verdicts: &HashMap<String, bool>) -> Plan {
        let mut host = OsHost {
            rtnl: &mut self.io.rtnl,
            query: self.query.as_ref(),
        };
        let mut plan = plan::build(config, &mut self.registry, verdicts, &mut host, &self.users);
        if let Some(barrier) = self.io.state_sync.commit_barrier() {
            for member in plan.units.iter_mut().flat_map(|u| u.members.iter_mut()) {
                member.fsm.commit_barrier = Some(barrier);
            }
        }
        for w in &plan.warnings {
            warn!("{w}");
        }
        for e in &plan.errors {
            error!("{e}");
        }
        plan
    }

    fn link_up(&self, interface: &str) -> bool {
        if let Some(up) = self.link_state.get(interface) {
            return *up;
        }
        let want = ha_os::iface::flags::UP | ha_os::iface::flags::RUNNING;
        self.query
            .as_ref()
            .and_then(|q| q.flags(interface).ok())
            .is_some_and(|f| f & want == want)
    }

    /// Builds a unit's state machine and starts it.
    fn start_unit(&mut self, plan: UnitPlan) {
        let label = plan.label();
        let cfgs = plan.members.iter().map(|m| m.fsm.clone()).collect();
        let fsm = match SyncGroup::new(cfgs, GroupPolicy::default()) {
            Ok(fsm) => fsm,
            Err(e) => {
                error!("{label}: invalid configuration: {e}; not started");
                return;
            }
        };
        let mut unit = Unit {
            group: plan.group.map(Box::new),
            fsm,
            members: plan.members.into_iter().map(Member::new).collect(),
        };
        // Open the advert and GARP sockets now rather than on first use, so a takeover
        // does not pay for `socket` + `setsockopt` between two members' adverts. Failures
        // (interface missing) are retried, and reported, on first use.
        for m in &unit.members {
            let _ = self.io.sender(m.tx_interface());
            // Not on a VMAC: it may be recreated before first use.
            for vip in m.plan.vips.iter().filter(|v| v.dev == m.plan.interface) {
                let _ = self.io.garp(&vip.dev);
            }
        }
        let now = self.clock.now();
        for (i, m) in unit.members.iter().enumerate() {
            if m.plan.source_missing {
                // keepalived: an instance without a usable interface starts in FAULT.
                let _ = unit.fsm.handle_link(now, MemberId(i), LinkState::Down);
            } else if !m.plan.dont_track_primary && !self.link_up(&m.plan.interface) {
                warn!(
                    "({}) VRID {}: interface {} is down",
                    m.plan.name,
                    m.vrid(),
                    m.plan.interface
                );
                let _ = unit.fsm.handle_link(now, MemberId(i), LinkState::Down);
            }
        }
        // Tracked files are known before the start, so no transient FAULT or priority.
        for (id, status) in self.files.statuses() {
            unit.fsm.handle_track(now, id, status);
        }
        if let Err(e) = unit.fsm.handle_admin(now, MemberId(0), Admin::Startup) {
            error!("{label}: cannot start: {e}");
            return;
        }
        drain(&mut unit, &mut self.io, now);
        self.units.push(unit);
        self.deadlines.invalidate();
    }

    /// Opens the receive sockets the instances need and rebuilds the demultiplexer.
    fn rebuild_sockets(&mut self) {
        for unit in &self.units {
            for m in &unit.members {
                let p = &m.plan;
                let mut protocols = vec![IpProtocol::Vrrp];
                if matches!(p.auth, vrrp_wire::Auth::Ah(_)) {
                    protocols.push(IpProtocol::Ah);
                }
                for proto in protocols {
                    let opened = if p.is_unicast() {
                        self.rx.unicast(&p.interface, proto, p.fsm.source)
                    } else {
                        self.rx.multicast(&p.interface, proto, p.group_addr)
                    };
                    if let Err(e) = opened {
                        error!(
                            "({}) VRID {}: cannot open receive socket on {}: {e}",
                            p.name,
                            p.vrid(),
                            p.interface
                        );
                    }
                    // The other addressing mode too, only to count adverts that use it
                    // (keepalived's addr_list_err): a raw socket bound to the group never
                    // sees unicast-addressed VRRP, and one bound to the source address
                    // never sees the group. Failing to open it costs only that counter.
                    let watcher = if p.is_unicast() {
                        self.rx.multicast(&p.interface, proto, p.group_addr)
                    } else if p.fsm.source.is_unspecified() {
                        continue;
                    } else {
                        self.rx.unicast(&p.interface, proto, p.fsm.source)
                    };
                    if let Err(e) = watcher {
                        debug!(
                            "({}) VRID {}: no socket for wrongly addressed adverts on {}: {e}",
                            p.name,
                            p.vrid(),
                            p.interface
                        );
                    }
                }
            }
        }
        let keys: Vec<RxKey> = self.rx.keys().collect();
        let mut demux = Demux::new();
        let mut ah_fixed = HashMap::new();
        for key in keys {
            if !self.registered.contains(&key) {
                match self
                    .rx
                    .register(self.poll.registry(), key, Token(RX_TOKEN_BASE + key.0))
                {
                    Ok(()) => self.registered.push(key),
                    Err(e) => error!("cannot register receive socket: {e}"),
                }
            }
            let Some(sock) = self.rx.socket(key) else {
                continue;
            };
            for (u, unit) in self.units.iter().enumerate() {
                for (m, member) in unit.members.iter().enumerate() {
                    let p = &member.plan;
                    if sock.interface() != p.interface {
                        continue;
                    }
                    let (own, other) = match sock.binding() {
                        RxBinding::Multicast(g) => (!p.is_unicast(), g == p.group_addr),
                        RxBinding::Unicast(a) => (p.is_unicast(), a == p.fsm.source),
                    };
                    let (ifindex, proto, vrid) = (sock.ifindex(), sock.protocol(), member.vrid());
                    if own && other {
                        demux.insert(ifindex, proto, vrid, (u, m));
                        if proto == IpProtocol::Ah {
                            ah_fixed.insert((ifindex, vrid), (u, m));
                        }
                    } else if other {
                        // A socket of the other addressing mode: its packets go to the
                        // instance only to be counted (the decoder reports the
                        // destination mismatch); a route of the socket's own mode wins.
                        if let Some(previous) = demux.insert(ifindex, proto, vrid, (u, m)) {
                            demux.insert(ifindex, proto, vrid, previous);
                        }
                    }
                }
            }
        }
        self.routes.demux = demux;
        self.routes.ah_fixed = ah_fixed;
    }

    /// Runs until SIGTERM/SIGINT, then shuts every instance down.
    pub fn run(mut self) -> Result<(), StartError> {
        let mut events = Events::with_capacity(64);
        let count: usize = self.units.iter().map(|u| u.members.len()).sum();
        self.sd.ready(&format!("{count} VRRP instances"));
        loop {
            let timeout = self
                .next_wakeup()
                .map(|t| t.saturating_duration_since(StdInstant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(StartError(format!("poll: {e}")));
            }
            let mut stop = false;
            let mut reload = false;
            let mut want_status = false;
            let mut want_metrics = false;
            let mut dump = None;
            for event in events.iter() {
                let token = event.token();
                if let Some(c) = self.control.as_mut()
                    && c.owns(token)
                {
                    want_status |= c.event(self.poll.registry(), token);
                    continue;
                }
                if let Some(m) = self.metrics.as_mut()
                    && m.owns(token)
                {
                    want_metrics |= m.event(self.poll.registry(), token);
                    continue;
                }
                if self.io.state_sync.owns(token) {
                    self.io.state_sync.event(self.poll.registry(), token);
                    self.apply_sync_acks();
                    self.apply_sync_holds();
                    continue;
                }
                match token {
                    SIGNAL_TOKEN => {
                        for sig in self.signals.pending() {
                            match sig {
                                SIGTERM | SIGINT => stop = true,
                                SIGHUP => reload = true,
                                SIGUSR1 => dump = Some(Dump::Data),
                                SIGUSR2 => dump = Some(Dump::Stats),
                                _ => {}
                            }
                        }
                    }
                    NETLINK_TOKEN => self.on_links(),
                    FILES_TOKEN => self.on_track_files(),
                    Token(t) if t >= RX_TOKEN_BASE => self.on_readable(RxKey(t - RX_TOKEN_BASE)),
                    _ => {}
                }
            }
            self.on_timers();
            if stop {
                self.sd.stopping();
                self.shutdown();
                self.publish_events();
                return Ok(());
            }
            if reload {
                self.sd.reloading();
                self.reload();
                self.sd.ready("reloaded");
            }
            self.publish_events();
            if let Some(kind) = dump {
                self.dump(kind);
            }
            if want_status || want_metrics {
                self.answer_clients(want_status, want_metrics);
            }
        }
    }

    /// Acknowledges the commits ssyncpd answered, releasing the promoted instances' VIPs.
    fn apply_sync_acks(&mut self) {
        self.deadlines.invalidate();
        let now = self.clock.now();
        for (label, id, outcome) in self.io.state_sync.take_acks() {
            if let Some(unit) = self.units.iter_mut().find(|u| u.label() == label) {
                unit.fsm.handle_effect_done(now, id, outcome);
                drain(unit, &mut self.io, now);
            }
        }
    }

    /// Holds or releases preemption of the instances and groups whose subscriber reported
    /// `SYNCED NO` / `SYNCED YES` (or left).
    fn apply_sync_holds(&mut self) {
        let changes = self.io.state_sync.take_hold_changes();
        if changes.is_empty() {
            return;
        }
        self.deadlines.invalidate();
        let now = self.clock.now();
        for (target, held) in changes {
            for unit in &mut self.units {
                let members: Vec<usize> = match &target {
                    Target::Group(g) => match unit.group.as_deref() {
                        Some((name, _)) if name == g => (0..unit.members.len()).collect(),
                        _ => Vec::new(),
                    },
                    Target::Instance(n) => unit
                        .members
                        .iter()
                        .position(|m| &m.plan.name == n)
                        .into_iter()
                        .collect(),
                };
                for i in members {
                    let _ = unit
                        .fsm
                        .handle_admin(now, MemberId(i), Admin::HoldPreempt(held));
                }
                drain(unit, &mut self.io, now);
            }
        }
    }

    /// Applies every current preemption hold again: freshly started instances (after a
    /// reload or the startup delay) begin without them.
    fn reapply_sync_holds(&mut self) {
        self.io.state_sync.requeue_holds();
        self.apply_sync_holds();
    }

    /// SIGUSR1 / SIGUSR2: writes the status table (`vrrpd.data`) or keepalived-style
    /// statistics (`vrrpd.stats`) to `$TMPDIR` (default /tmp), replacing the file atomically.
    fn dump(&self, kind: Dump) {
        let status = self.status();
        let (name, text) = match kind {
            Dump::Data => ("vrrpd.data", crate::status::render_table(&status)),
            Dump::Stats => ("vrrpd.stats", crate::status::render_stats(&status)),
        };
        let dir = std::env::var_os("TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        let path = dir.join(name);
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        let result = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, &path));
        match result {
            Ok(()) => info!("wrote {}", path.display()),
            Err(e) => error!("cannot write {}: {e}", path.display()),
        }
    }

    /// Hands queued state changes to `events` subscribers and flushes the notify FIFO.
    fn publish_events(&mut self) {
        let pending = std::mem::take(&mut self.io.report.pending);
        if let Some(fifo) = self.io.report.fifo.as_mut() {
            fifo.flush();
        }
        let Some(control) = self.control.as_mut() else {
            return;
        };
        for ev in pending {
            let Ok(line) = serde_json::to_string(&ev) else {
                continue;
            };
            let dropped = control.broadcast(self.poll.registry(), &line);
            if dropped > 0 {
                warn!("dropped {dropped} events client(s) that stopped reading");
            }
        }
    }

    fn answer_clients(&mut self, status: bool, metrics: bool) {
        let snapshot = self.status();
        let registry = self.poll.registry();
        if status && let Some(c) = self.control.as_mut() {
            let json = || serde_json::to_string_pretty(&snapshot).unwrap_or_default();
            c.answer(registry, &json);
        }
        if metrics && let Some(m) = self.metrics.as_mut() {
            let text = || crate::status::render_metrics(&snapshot);
            m.answer(registry, &text);
        }
    }

    /// Once a second: masters check that their VIPs are still there (someone may have
    /// deleted one), and instances waiting for a missing interface or address look again.
    fn housekeeping(&mut self) {
        self.deadlines.invalidate();
        let now = self.clock.now();
        // One address dump per interface per pass (not one per VIP): `None` when the dump
        // failed, which counts as "still present" like before.
        // A handful of interfaces: a list is cheaper than hashing every VIP's device name.
        let mut present: Vec<(String, Option<Vec<Ipv4Addr>>)> = Vec::new();
        // Nothing installed (a backup): no member to look at.
        let units = if self.io.installed_count == 0 {
            &mut [][..]
        } else {
            &mut self.units[..]
        };
        for unit in units {
            let mut removed = Vec::new();
            for (i, m) in unit.members.iter().enumerate() {
                if m.installed.is_empty()
                    || unit.fsm.member_state(MemberId(i)) != Some(State::Master)
                    || self.io.state_sync.commit_pending(&m.plan.name)
                {
                    continue;
                }
                // Only addresses we installed: with a commit barrier a new master has none
                // until ssyncpd answers.
                let rtnl = &mut self.io.rtnl;
                let gone = m.installed.iter().find(|(dev, addr, _)| {
                    let slot = match present.iter().position(|(d, _)| d == dev) {
                        Some(i) => i,
                        None => {
                            let dump = rtnl.list_addresses(dev).ok().map(|list| {
                                let mut v: Vec<Ipv4Addr> = list.iter().map(|a| a.address).collect();
                                v.sort_unstable();
                                v
                            });
                            present.push((dev.clone(), dump));
                            present.len() - 1
                        }
                    };
                    present
                        .get(slot)
                        .and_then(|(_, list)| list.as_ref())
                        .is_some_and(|list| list.binary_search(addr).is_err())
                });
                if let Some((dev, addr, _)) = gone {
                    warn!(
                        instance = %m.plan.name,
                        vrid = m.vrid(),
                        "({}) VRID {}: virtual address {addr} was removed from {dev} by someone else",
                        m.plan.name,
                        m.vrid(),
                    );
                    removed.push(i);
                }
            }
            for i in removed {
                let _ = unit.fsm.handle_admin(now, MemberId(i), Admin::VipRemoved);
                drain(unit, &mut self.io, now);
            }
        }
        // Interfaces that appeared, vanished or were recreated (new ifindex).
        let indexes = self.interface_indexes();
        let mut changed = false;
        for (name, index) in &indexes {
            if self.ifindex.get(name) != Some(index) {
                info!(
                    "interface {name}: ifindex {:?} -> {index:?}",
                    self.ifindex.get(name).copied().flatten()
                );
                self.io.senders.remove(name);
                self.io.garps.remove(name);
                changed = true;
            }
        }
        if changed {
            let stale: Vec<RxKey> = self
                .rx
                .keys()
                .filter(|k| {
                    self.rx.socket(*k).is_some_and(|s| {
                        indexes.get(s.interface()).copied().flatten() != Some(s.ifindex())
                    })
                })
                .collect();
            for key in stale {
                if let Some(mut sock) = self.rx.close(key) {
                    let _ = self.poll.registry().deregister(&mut sock);
                }
                self.registered.retain(|k| *k != key);
            }
        }
        self.ifindex = indexes;
        // The configuration is kept exactly while some instance has `source_missing`.
        let recovered = self.config.is_some()
            && self.units.iter().flat_map(|u| &u.members).any(|m| {
                m.plan.source_missing && {
                    let mut host = OsHost {
                        rtnl: &mut self.io.rtnl,
                        query: self.query.as_ref(),
                    };
                    let vips: Vec<Ipv4Addr> = m.plan.vips.iter().map(|v| v.addr.address).collect();
                    host.primary_ipv4(&m.plan.interface, &vips).is_some()
                }
            });
        // Always kept while an instance has `source_missing` (see `Daemon::config`).
        let kept = if recovered { self.config.take() } else { None };
        if let Some(config) = kept {
            info!("an interface address appeared; re-planning the affected instances");
            self.apply_config(config);
        } else if changed {
            self.rebuild_sockets();
        }
    }

    fn next_wakeup(&mut self) -> Option<StdInstant> {
        self.deadlines.refresh(&self.units);
        let fsm = self.deadlines.earliest().map(|t| self.clock.to_std(t));
        [
            fsm,
            self.scripts.next_deadline(),
            self.io.notifier.next_deadline(),
            self.io.garp_pacer.next_deadline(),
            Some(self.next_housekeeping),
            self.delayed.as_ref().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timers(&mut self) {
        if self
            .delayed
            .as_ref()
            .is_some_and(|(t, _)| *t <= StdInstant::now())
            && let Some((_, plans)) = self.delayed.take()
        {
            info!("vrrp_startup_delay over; starting instances");
            for p in plans {
                self.start_unit(p);
            }
            self.reapply_sync_holds();
            self.rebuild_sockets();
            self.refresh_interface_names();
            self.ifindex = self.interface_indexes();
        }
        send_due_garps(&mut self.io);
        if StdInstant::now() >= self.next_housekeeping {
            self.next_housekeeping = StdInstant::now() + HOUSEKEEPING;
            self.housekeeping();
        }
        let now = self.clock.now();
        run_due_timeouts(&mut self.units, &mut self.deadlines, &mut self.io, now);
        let mut verdicts = Vec::new();
        self.scripts.poll(StdInstant::now(), &mut verdicts);
        if !verdicts.is_empty() {
            self.deadlines.invalidate();
        }
        for (id, status, name) in verdicts {
            info!(
                "vrrp_script {name}: {}",
                if status == TrackStatus::Up {
                    "success"
                } else {
                    "failure"
                }
            );
            for unit in &mut self.units {
                unit.fsm.handle_track(now, id, status);
                drain(unit, &mut self.io, now);
            }
        }
        self.io.notifier.poll(StdInstant::now());
    }

    /// Reads the socket until it is empty (edge-triggered). ha-os's drain has no per-call
    /// cap, so under a flood that outpaces it this call lasts as long as the flood; every
    /// [`RX_BATCH`] packets the clock is read again and the state machines' due timeouts
    /// run, so adverts keep going out and received ones are judged at the right time.
    fn on_readable(&mut self, key: RxKey) {
        let Daemon {
            rx,
            units,
            io,
            routes,
            clock,
            deadlines,
            ..
        } = self;
        deadlines.refresh(units);
        let mut now = clock.now();
        let mut in_batch = 0usize;
        let result = batched(io, |io| {
            rx.drain(key, |pkt| {
                if let Some(u) = on_packet(units, io, routes, &pkt, now) {
                    deadlines.update(units, u);
                }
                in_batch += 1;
                if in_batch >= RX_BATCH {
                    in_batch = 0;
                    now = clock.now();
                    run_due_timeouts(units, deadlines, io, now);
                    flush_adverts(io);
                }
            })
        });
        match result {
            Ok(n) if n > RX_BATCH => debug!("receive burst: {n} packets in one read"),
            Ok(_) => {}
            Err(e) => debug!("receive error: {e}"),
        }
    }

    fn on_links(&mut self) {
        self.deadlines.invalidate();
        let Some(monitor) = self.links.as_mut() else {
            return;
        };
        let mut events = Vec::new();
        if let Err(e) = monitor.drain(&mut events) {
            warn!("link monitor: {e}");
        }
        let now = self.clock.now();
        for event in events {
            match event {
                NetlinkEvent::Link(change) => {
                    let Some(name) = change.ifname.as_ref().map(|n| n.to_string_lossy()) else {
                        continue;
                    };
                    let up = change.status.is_up();
                    let previous = self.link_state.insert(name.clone(), up);
                    if previous == Some(up) {
                        continue;
                    }
                    // The first dump only confirms what startup already knew: stay quiet.
                    self.apply_link(&name, up, now, previous.is_some());
                }
                NetlinkEvent::Overrun => warn!("link monitor overrun; re-reading the link table"),
                NetlinkEvent::DumpFailed { errno } => warn!("link dump failed (errno {errno})"),
                other => debug!("link monitor: {other:?}"),
            }
        }
    }

    /// A tracked file changed: hands the new values to every unit.
    fn on_track_files(&mut self) {
        let changed = self.files.on_readable();
        self.hand_track_statuses(&changed);
    }

    /// Hands every tracked file's current value to every unit.
    fn report_track_files(&mut self) {
        let statuses: Vec<_> = self.files.statuses().collect();
        self.hand_track_statuses(&statuses);
    }

    fn hand_track_statuses(&mut self, statuses: &[(TrackId, TrackStatus)]) {
        if statuses.is_empty() {
            return;
        }
        self.deadlines.invalidate();
        let now = self.clock.now();
        for unit in &mut self.units {
            for &(id, status) in statuses {
                unit.fsm.handle_track(now, id, status);
            }
            drain(unit, &mut self.io, now);
        }
    }

    fn apply_link(&mut self, name: &str, up: bool, now: Instant, is_change: bool) {
        self.deadlines.invalidate();
        let link = if up { LinkState::Up } else { LinkState::Down };
        let status = if up {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        };
        for unit in &mut self.units {
            let mut touched = false;
            for (i, m) in unit.members.iter().enumerate() {
                if m.plan.interface == name && !m.plan.dont_track_primary {
                    let link = if m.plan.source_missing {
                        LinkState::Down
                    } else {
                        link
                    };
                    if is_change {
                        info!(
                            "({}) VRID {}: interface {name} {}",
                            m.plan.name,
                            m.vrid(),
                            if up { "up" } else { "down" }
                        );
                    } else {
                        debug!(
                            "({}) VRID {}: interface {name} {}",
                            m.plan.name,
                            m.vrid(),
                            if up { "up" } else { "down" }
                        );
                    }
                    let _ = unit.fsm.handle_link(now, MemberId(i), link);
                    touched = true;
                }
            }
            let ids: Vec<_> = unit
                .members
                .iter()
                .flat_map(|m| m.plan.tracked_interfaces.iter())
                .filter(|(n, _)| n == name)
                .map(|(_, id)| *id)
                .collect();
            for id in ids {
                unit.fsm.handle_track(now, id, status);
                touched = true;
            }
            if touched {
                drain(unit, &mut self.io, now);
            }
        }
    }

    /// SIGHUP: re-read the configuration; matched units keep their state.
    fn reload(&mut self) {
        info!("reloading {}", self.config_path.display());
        let config = match load_config(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                error!("reload failed: {e}; keeping the running configuration");
                return;
            }
        };
        self.apply_config(config);
    }

    /// Applies a configuration to the running units: matched units keep their state.
    fn apply_config(&mut self, config: kaconf::Config) {
        self.deadlines.invalidate();
        if let Some(fifo) = &config.global.notify_fifo
            && self
                .io
                .report
                .fifo
                .as_ref()
                .is_none_or(|f| f.path() != Path::new(fifo))
        {
            self.io.report.fifo = NotifyFifo::open(Path::new(fifo))
                .map_err(|e| error!("notify fifo {fifo}: {e}"))
                .ok();
        }
        if config.global.notify_fifo.is_none() {
            self.io.report.fifo = None;
        }
        self.users = UserDb::system();
        let verdicts = self.scripts.verdicts();
        crate::trackfile::init_files(&config, true);
        let plan = self.plan(&config, &verdicts);
        self.files.stop(self.poll.registry());
        self.files = TrackFiles::start(plan.files.clone(), self.poll.registry(), FILES_TOKEN);
        self.config = needs_config(&plan).then_some(config);
        let mut plan_units = plan.units;
        if let Some((deadline, _)) = self.delayed.take() {
            // Still in the startup delay: keep waiting, with the new plan.
            self.delayed = Some((deadline, std::mem::take(&mut plan_units)));
        }
        let now = self.clock.now();
        let mut old: Vec<Option<Unit>> = std::mem::take(&mut self.units)
            .into_iter()
            .map(Some)
            .collect();
        let mut fresh = Vec::new();
        for unit_plan in plan_units {
            let key = plan_key(&unit_plan);
            let Some(slot) = old
                .iter_mut()
                .find(|o| o.as_ref().is_some_and(|u| u.key() == key))
            else {
                fresh.push(unit_plan);
                continue;
            };
            let Some(mut unit) = slot.take() else {
                continue;
            };
            let mut refused = false;
            for (i, member_plan) in unit_plan.members.iter().enumerate() {
                match unit.fsm.handle_admin(
                    now,
                    MemberId(i),
                    Admin::Reload(member_plan.fsm.clone()),
                ) {
                    Ok(()) => {
                        if let Some(m) = unit.members.get_mut(i) {
                            m.update(member_plan.clone());
                        }
                    }
                    Err(e) => {
                        warn!(
                            "({}) reload refused ({e}); restarting the instance",
                            member_plan.name
                        );
                        refused = true;
                    }
                }
            }
            unit.group = unit_plan.group.clone().map(Box::new);
            drain(&mut unit, &mut self.io, now);
            if refused {
                Self::stop_unit(&mut unit, &mut self.io, now);
                fresh.push(unit_plan);
            } else {
                self.units.push(unit);
            }
        }
        for mut unit in old.into_iter().flatten() {
            info!("{}: removed from the configuration", unit.label());
            Self::stop_unit(&mut unit, &mut self.io, now);
        }
        for unit_plan in fresh {
            self.start_unit(unit_plan);
        }
        self.reapply_sync_holds();
        // Kept units learn the values of files they started tracking with this reload.
        self.report_track_files();
        self.scripts = Scripts::new(&plan.scripts, &verdicts, StdInstant::now());
        self.rebuild_sockets();
        self.refresh_interface_names();
        self.ifindex = self.interface_indexes();
        // Exact again (units dropped above may have held entries).
        self.io.installed_count = self
            .units
            .iter()
            .flat_map(|u| &u.members)
            .map(|m| m.installed.len())
            .sum();
    }

    fn stop_unit(unit: &mut Unit, io: &mut Io, now: Instant) {
        let _ = unit.fsm.handle_admin(now, MemberId(0), Admin::Shutdown);
        drain(unit, io, now);
    }

    /// SIGTERM/SIGINT: masters send priority 0 and drop their VIPs; VMACs are removed.
    fn shutdown(&mut self) {
        info!("shutting down");
        let now = self.clock.now();
        let units = &mut self.units;
        batched(&mut self.io, |io| {
            for unit in units {
                Self::stop_unit(unit, io, now);
            }
        });
        let deadline = StdInstant::now() + SHUTDOWN_NOTIFY_WAIT;
        while !self.io.notifier.is_idle() && StdInstant::now() < deadline {
            self.io.notifier.poll(StdInstant::now());
            std::thread::sleep(StdDuration::from_millis(10));
        }
        for unit in &self.units {
            for m in &unit.members {
                if let Some(t) = m.trouble.as_ref().filter(|t| !t.rx_errors.is_empty()) {
                    info!(
                        "({}) VRID {}: receive errors {:?}",
                        m.plan.name,
                        m.vrid(),
                        t.rx_errors
                    );
                }
            }
        }
    }
}

/// Whether the daemon must keep the parsed configuration for `plan`: only an instance
/// waiting for its interface address is re-planned without a reload.
fn needs_config(plan: &Plan) -> bool {
    plan.units
        .iter()
        .flat_map(|u| &u.members)
        .any(|m| m.source_missing)
}

/// Convenience used by `main`: start and run until a termination signal.
pub fn run(options: &Options) -> Result<(), StartError> {
    Daemon::start(options)?.run()
}
