//! The event loop: one mio `Poll` over the signal pipe, the transport's waker, the
//! conntrack event socket (master only) and the vrrpd link, with timers from the engine's
//! `poll_timeout`. Every input goes to the [`Engine`]; its outputs are acted on in order:
//! datagrams are sent, kernel writes are batched, and a commit is answered only after the
//! writes before it reached the kernel.

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant as StdInstant, SystemTime, UNIX_EPOCH};

use ctnl::Groups;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;
use ssyncp_engine::{
    Change, Config as EngineConfig, Destination, Duration, Engine, EntryKey, Event, Instant,
    Output, Payload, Role,
};
use ssyncp_wire::v1::AuthKey;
use tracing::{debug, error, info, warn};

use crate::config::{Config, FixedRole, RoleSource};
use crate::convert::{same_state, to_entry, worth_syncing};
use crate::coupling::{FromVrrpd, Subscription, VrrpState, VrrpdLink};
use crate::kernel::{BACKLOG_LIMIT, BACKUP_GROUPS, Kernel, LocalChange};
use crate::transport::Transport;

const SIGNAL_TOKEN: Token = Token(0);
const WAKER_TOKEN: Token = Token(1);
const EVENTS_TOKEN: Token = Token(2);
const VRRPD_TOKEN: Token = Token(3);
/// Datagrams handled per loop turn before outputs are acted on (bounds latency).
const DATAGRAMS_PER_TURN: usize = 2048;
/// Conntrack events handled per loop turn.
const EVENTS_PER_TURN: usize = 4096;
/// Reconnect interval to vrrpd.
const RECONNECT: StdDuration = StdDuration::from_secs(1);

/// The daemon could not start or failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DaemonError(pub String);

fn fail(what: &str) -> impl FnOnce(&dyn std::fmt::Display) -> DaemonError + '_ {
    move |e| DaemonError(format!("{what}: {e}"))
}

/// The primary IPv4 address of `interface` (the Sender ID and the multicast source).
pub fn interface_ipv4(interface: &str) -> Result<Ipv4Addr, DaemonError> {
    let mut rtnl = ha_os::Rtnetlink::open().map_err(|e| fail("rtnetlink")(&e))?;
    let addrs = rtnl
        .list_addresses(interface)
        .map_err(|e| fail("list addresses")(&e))?;
    addrs
        .iter()
        .find(|a| a.flags & 0x01 == 0)
        .or_else(|| addrs.first())
        .map(|a| a.address)
        .ok_or_else(|| DaemonError(format!("{interface} has no IPv4 address")))
}

/// Builds the engine configuration from the daemon's.
pub fn engine_config(cfg: &Config, sender: Ipv4Addr, epoch: u32) -> EngineConfig {
    let mut ec = EngineConfig::new(cfg.sync_id, u32::from(sender), epoch);
    ec.mtu = cfg.mtu;
    ec.refresh_period = Duration::from_secs(u64::from(cfg.refresh_period_secs));
    ec.bulk_messages_per_tick = cfg.bulk_rate;
    ec.bulk_interval = Duration::from_millis(1);
    ec.stale_after = Duration::from_secs(3 * u64::from(cfg.refresh_period_secs));
    // std's RandomState is seeded from the OS once per process: a secret seed for the
    // table's index, whose keys come from traffic that others choose.
    ec.hash_seed = std::hash::RandomState::new().hash_one(epoch);
    if let Some((key_id, secret)) = &cfg.auth {
        ec.auth_keys
            .push(AuthKey::new(cfg.sync_id, *key_id, secret));
    }
    ec
}

/// The running daemon.
pub struct Daemon {
    poll: Poll,
    started: StdInstant,
    engine: Engine,
    transport: Transport,
    kernel: Kernel,
    link: Option<VrrpdLink>,
    next_connect: StdInstant,
    signals: Signals,
    /// Commit tokens to answer once the kernel holds every received entry.
    commits: Vec<u64>,
    events_pending: bool,
    datagrams_pending: bool,
    dump_due: bool,
    /// MASTER: the next periodic reconcile against a dump of the kernel table.
    next_reconcile: StdInstant,
    /// Time between periodic reconciles (the refresh period).
    reconcile_every: StdDuration,
    /// The last `SYNCED` report sent to vrrpd on this connection.
    reported_synced: Option<bool>,
}

impl Daemon {
    /// Opens every socket and starts in the configured role (BACKUP until vrrpd says
    /// otherwise when following it).
    pub fn start(cfg: &Config) -> Result<Daemon, DaemonError> {
        let local = interface_ipv4(&cfg.interface)?;
        let poll = Poll::new().map_err(|e| fail("mio poll")(&e))?;
        let waker =
            Arc::new(Waker::new(poll.registry(), WAKER_TOKEN).map_err(|e| fail("mio waker")(&e))?);
        let transport = Transport::open(&cfg.interface, local, Arc::clone(&waker))
            .map_err(|e| fail("SSYNCP socket")(&e))?;
        let cap = 3 * cfg.refresh_period_secs.max(1);
        let kernel = Kernel::open(cap, waker).map_err(|e| fail("ctnetlink")(&e))?;
        let mut signals =
            Signals::new([SIGTERM, SIGINT, SIGUSR1]).map_err(|e| fail("signals")(&e))?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)
            .map_err(|e| fail("register signals")(&e))?;
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let started = StdInstant::now();
        let engine = Engine::new(engine_config(cfg, local, epoch), Instant::ZERO)
            .map_err(|e| fail("engine configuration")(&e))?;
        let link = match &cfg.role {
            RoleSource::Instance(n) => Some(Subscription::Instance(n.clone())),
            RoleSource::Group(n) => Some(Subscription::Group(n.clone())),
            RoleSource::Fixed(_) => None,
        }
        .map(|s| VrrpdLink::new(&cfg.vrrpd_socket, s));
        info!(
            "ssyncpd: sync id {} on {} ({local}), epoch {epoch}",
            cfg.sync_id, cfg.interface
        );
        let mut daemon = Daemon {
            poll,
            started,
            engine,
            transport,
            kernel,
            link,
            next_connect: started,
            signals,
            commits: Vec::new(),
            events_pending: false,
            datagrams_pending: false,
            dump_due: false,
            next_reconcile: started,
            reconcile_every: StdDuration::from_secs(u64::from(cfg.refresh_period_secs.max(1))),
            reported_synced: None,
        };
        daemon.subscribe(BACKUP_GROUPS);
        if let RoleSource::Fixed(FixedRole::Master) = cfg.role {
            daemon.set_role(Role::Master);
        }
        daemon.act();
        Ok(daemon)
    }

    fn now(&self) -> Instant {
        Instant::from_micros(u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX))
    }

    fn to_std(&self, at: Instant) -> StdInstant {
        self.started + StdDuration::from_micros(at.as_micros())
    }

    /// Runs until SIGTERM/SIGINT.
    pub fn run(mut self) -> Result<(), DaemonError> {
        let mut events = Events::with_capacity(64);
        loop {
            // While the kernel is behind, datagrams wait (the writer's answer wakes us).
            let kernel_behind = self.kernel.backlog() >= BACKLOG_LIMIT;
            let busy = self.events_pending
                || self.dump_due
                || (!kernel_behind && (self.datagrams_pending || !self.transport.may_sleep()));
            let timeout = if busy {
                Some(StdDuration::ZERO)
            } else {
                let mut wake = self.engine.poll_timeout().map(|t| self.to_std(t));
                if self.engine.role() == Role::Master {
                    wake = Some(wake.map_or(self.next_reconcile, |w| w.min(self.next_reconcile)));
                }
                if self.link.as_ref().is_some_and(|l| !l.is_connected()) {
                    wake = Some(wake.map_or(self.next_connect, |w| w.min(self.next_connect)));
                }
                wake.map(|w| w.saturating_duration_since(StdInstant::now()))
            };
            let polled = self.poll.poll(&mut events, timeout);
            self.transport.awake();
            if let Err(e) = polled {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(DaemonError(format!("poll: {e}")));
            }
            let mut stop = false;
            for event in events.iter() {
                match event.token() {
                    SIGNAL_TOKEN => {
                        for sig in self.signals.pending() {
                            match sig {
                                SIGUSR1 => self.log_counters(),
                                _ => stop = true,
                            }
                        }
                    }
                    EVENTS_TOKEN => self.events_pending = true,
                    VRRPD_TOKEN => self.on_vrrpd(),
                    _ => {}
                }
            }
            if stop {
                info!("stopping");
                self.log_counters();
                return Ok(());
            }
            self.on_datagrams();
            if self.events_pending {
                self.on_ct_events();
            }
            if self.engine.role() == Role::Master && StdInstant::now() >= self.next_reconcile {
                // Safety net for changes the events did not report (entries created with
                // no event extension, lost events): once per refresh period.
                self.dump_due = true;
            }
            if self.dump_due {
                self.dump_due = false;
                self.next_reconcile = StdInstant::now() + self.reconcile_every;
                self.reconcile();
            }
            let now = self.now();
            self.engine.handle_timeout(now);
            self.act();
            self.maybe_connect();
        }
    }

    /// Logs the engine's and the backend's counters.
    pub fn log_counters(&self) {
        let rx = self.transport.counters();
        info!(
            "role {:?}, {} entries, in sync {}; engine {:?}; kernel {:?}; rx packets {} bad ttl {} malformed {}",
            self.engine.role(),
            self.engine.table_len(),
            self.engine.is_in_sync(),
            self.engine.counters(),
            self.kernel.counters(),
            rx.packets.load(std::sync::atomic::Ordering::Relaxed),
            rx.bad_ttl.load(std::sync::atomic::Ordering::Relaxed),
            rx.malformed.load(std::sync::atomic::Ordering::Relaxed),
        );
    }

    fn on_datagrams(&mut self) {
        let now = self.now();
        self.datagrams_pending = false;
        for _ in 0..DATAGRAMS_PER_TURN {
            if self.kernel.backlog() >= BACKLOG_LIMIT {
                // The rest waits in the transport's queue; the writer's answer wakes us.
                self.datagrams_pending = true;
                return;
            }
            let Some(d) = self.transport.try_recv() else {
                return;
            };
            self.engine
                .handle_datagram(now, IpAddr::V4(d.src), &d.payload);
            // Hand the entries to the kernel queue now, so the backlog check sees them.
            self.act();
        }
        self.datagrams_pending = true;
    }

    fn on_ct_events(&mut self) {
        let now = self.now();
        let mut changes = Vec::new();
        self.events_pending = self
            .kernel
            .read_events(EVENTS_PER_TURN, |c| changes.push(c));
        for change in changes {
            match change {
                LocalChange::Upsert(conn) => {
                    if !worth_syncing(&conn) {
                        continue;
                    }
                    if let Some(entry) = to_entry(&conn)
                        && let Err(e) = self.engine.handle_local_change(now, Change::Upsert(entry))
                    {
                        debug!("entry not synced: {e}");
                    }
                }
                LocalChange::Destroy(conn) => {
                    let Some(entry) = to_entry(&conn) else {
                        continue;
                    };
                    let key = entry.key();
                    if self.engine.contains(&key)
                        && let Err(e) = self.engine.handle_local_change(now, Change::Delete(key))
                    {
                        debug!("delete not synced: {e}");
                    }
                }
                LocalChange::Overrun => {
                    warn!("conntrack events overran; dumping the table again");
                    self.dump_due = true;
                }
            }
        }
    }

    /// Master: brings the engine's table in line with a fresh dump of the kernel's.
    fn reconcile(&mut self) {
        if self.engine.role() != Role::Master {
            return;
        }
        let dump = match self.kernel.dump() {
            Ok(d) => d,
            Err(e) => {
                error!("conntrack dump failed: {e}");
                return;
            }
        };
        let now = self.now();
        let changes = reconcile_changes(&self.engine, &dump);
        let (mut upserts, mut deletes) = (0usize, 0usize);
        for change in changes {
            let is_upsert = matches!(change, Change::Upsert(_));
            if self.engine.handle_local_change(now, change).is_ok() {
                if is_upsert {
                    upserts += 1;
                } else {
                    deletes += 1;
                }
            }
        }
        if upserts + deletes > 0 {
            info!(
                "dumped {} kernel entries: {upserts} changed, {deletes} gone",
                dump.len()
            );
        } else {
            debug!("dumped {} kernel entries: no change", dump.len());
        }
    }

    /// Changes the engine's role and the event subscription that goes with it.
    fn set_role(&mut self, role: Role) {
        if self.engine.role() == role {
            return;
        }
        info!("role {:?} -> {role:?}", self.engine.role());
        let now = self.now();
        self.engine.handle_role(now, role);
        if role == Role::Master {
            // Our own writes must reach the kernel before we listen to its events.
            self.act();
            self.subscribe(Groups::ALL);
            self.events_pending = true;
            self.dump_due = true;
        } else {
            self.subscribe(BACKUP_GROUPS);
            self.events_pending = false;
            self.dump_due = false;
        }
    }

    fn subscribe(&mut self, groups: Groups) {
        if let Err(e) = self
            .kernel
            .start_events(self.poll.registry(), EVENTS_TOKEN, groups)
        {
            error!("cannot subscribe to conntrack events: {e}");
        }
    }

    /// Acts on every engine output in order, writes the kernel batch and answers commits.
    fn act(&mut self) {
        let mut kernel_ok = true;
        let mut outgoing: Vec<(Option<IpAddr>, Payload)> = Vec::new();
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit(tx) => {
                    let to = match tx.destination {
                        Destination::Group => None,
                        Destination::Unicast(a) => Some(a),
                    };
                    outgoing.push((to, tx.bytes));
                }
                Output::Apply(apply) => self.kernel.queue(apply),
                Output::Commit => kernel_ok &= self.flush_kernel(),
                Output::Event(event) => log_event(event),
            }
        }
        if !outgoing.is_empty() {
            let batch: Vec<(Option<IpAddr>, &[u8])> =
                outgoing.iter().map(|(to, p)| (*to, &p[..])).collect();
            if let Err(e) = self.transport.send_many(&batch)
                && self.transport.tx_errors.is_power_of_two()
            {
                warn!("send failed ({} so far): {e}", self.transport.tx_errors);
            }
        }
        if self.commits.is_empty() {
            kernel_ok &= self.submit_kernel();
        } else {
            // A commit is answered only once the kernel holds everything before it.
            kernel_ok &= self.flush_kernel();
        }
        self.report_synced();
        for token in std::mem::take(&mut self.commits) {
            let ok = kernel_ok;
            if let Some(link) = self.link.as_mut()
                && let Err(e) = link.committed(token, ok)
            {
                warn!("cannot answer vrrpd's commit {token}: {e}");
            }
            info!(
                "commit {token} answered ({} entries in the table)",
                self.engine.table_len()
            );
        }
    }

    /// Tells vrrpd whether this node's table is complete: only a BACKUP that has not
    /// finished its bulk (or has a gap) is not; vrrpd holds preemption meanwhile.
    fn report_synced(&mut self) {
        let synced = self.engine.role() != Role::Backup || self.engine.is_in_sync();
        if self.reported_synced == Some(synced) {
            return;
        }
        let Some(link) = self.link.as_mut().filter(|l| l.is_connected()) else {
            return;
        };
        match link.synced(synced) {
            Ok(()) => self.reported_synced = Some(synced),
            Err(e) => warn!("cannot report sync state to vrrpd: {e}"),
        }
    }

    fn submit_kernel(&mut self) -> bool {
        match self.kernel.submit_when_idle() {
            Ok(()) => true,
            Err(e) => {
                error!("conntrack write failed: {e}");
                false
            }
        }
    }

    fn flush_kernel(&mut self) -> bool {
        match self.kernel.flush() {
            Ok(()) => true,
            Err(e) => {
                error!("conntrack write failed: {e}");
                false
            }
        }
    }

    fn maybe_connect(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        if link.is_connected() || StdInstant::now() < self.next_connect {
            return;
        }
        self.next_connect = StdInstant::now() + RECONNECT;
        match link.connect(self.poll.registry(), VRRPD_TOKEN) {
            Ok(()) => {
                info!("connected to vrrpd");
                self.reported_synced = None;
                self.report_synced();
            }
            Err(e) => debug!("cannot reach vrrpd: {e}"),
        }
    }

    fn on_vrrpd(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        let mut messages = Vec::new();
        let result = link.read(&mut messages);
        for msg in messages {
            match msg {
                Ok(FromVrrpd::State(state)) => {
                    let role = match state {
                        VrrpState::Master => Role::Master,
                        VrrpState::Backup | VrrpState::Init => Role::Backup,
                        VrrpState::Fault => Role::Fault,
                    };
                    info!("vrrpd: {state:?}");
                    self.set_role(role);
                }
                Ok(FromVrrpd::Commit(token)) => {
                    self.set_role(Role::Master);
                    self.commits.push(token);
                }
                Ok(FromVrrpd::Error(text)) => error!("vrrpd: {text}"),
                Err(e) => warn!("{e}"),
            }
        }
        // Answer commits right away (after the kernel writes).
        self.act();
        if let Err(e) = result {
            warn!("lost vrrpd ({e}); BACKUP until it is back");
            if let Some(link) = self.link.as_mut() {
                link.disconnect(self.poll.registry());
            }
            self.next_connect = StdInstant::now() + RECONNECT;
            self.set_role(Role::Backup);
        }
    }
}

/// The changes that bring a master engine's table in line with a dump of the kernel's:
/// entries that are new or whose state changed (timeouts and kernel bookkeeping bits
/// aside) are upserted; entries the kernel no longer has are deleted.
pub fn reconcile_changes(engine: &Engine, dump: &[ctnl::ConnEntry]) -> Vec<Change> {
    let mut seen: HashSet<EntryKey> = HashSet::with_capacity(dump.len());
    let mut changes = Vec::new();
    for conn in dump.iter().filter(|c| worth_syncing(c)) {
        let Some(entry) = to_entry(conn) else {
            continue;
        };
        let key = entry.key();
        seen.insert(key);
        if engine.get(&key).is_some_and(|old| same_state(&old, &entry)) {
            continue;
        }
        changes.push(Change::Upsert(entry));
    }
    changes.extend(
        engine
            .keys()
            .filter(|k| !seen.contains(k))
            .map(Change::Delete),
    );
    changes
}

fn log_event(event: Event) {
    match event {
        Event::InSync(true) => info!("in sync with the master"),
        Event::InSync(false) => debug!("not in sync"),
        Event::SplitBrainSuspected { sender } => {
            warn!(
                "split brain suspected: data from {}",
                Ipv4Addr::from(sender)
            );
        }
        Event::BulkApplied { swept } => info!("bulk applied ({swept} stale entries removed)"),
        other => debug!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctnl::{ConnEntry, Family, L4Key, Tuple, proto, status};

    fn udp(port: u16, timeout: u32) -> ConnEntry {
        let orig = Tuple {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
            l4: L4Key::Ports { src: port, dst: 53 },
        };
        ConnEntry {
            family: Family::Ipv4,
            protocol: proto::UDP,
            orig,
            reply: orig.inverted(0, 0),
            status: status::SEEN_REPLY | status::ASSURED | status::CONFIRMED,
            timeout,
            mark: None,
            zone: None,
            tcp: None,
            seq_adj: None,
            id: None,
        }
    }

    #[test]
    fn reconcile_sends_only_changes_and_deletes_what_is_gone() {
        let now = Instant::ZERO;
        let mut engine = Engine::new(EngineConfig::new(1, 1, 1), now).expect("engine");
        engine.handle_role(now, Role::Master);
        for port in [1000, 1001, 1002] {
            let entry = to_entry(&udp(port, 120)).expect("entry");
            engine
                .handle_local_change(now, Change::Upsert(entry))
                .expect("change");
        }
        // The kernel: 1000 unchanged (timeout ran down), 1001 lost ASSURED, 1002 gone,
        // 1003 new, plus a multicast VRRP entry that is never synced.
        let mut changed = udp(1001, 100);
        changed.status &= !status::ASSURED;
        let mut vrrp = udp(7, 10);
        vrrp.protocol = 112;
        vrrp.orig.dst = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
        let dump = vec![udp(1000, 90), changed.clone(), udp(1003, 30), vrrp];
        let changes = reconcile_changes(&engine, &dump);
        let upserted: Vec<u16> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Upsert(e) => Some(e.key()),
                Change::Delete(_) => None,
            })
            .map(|k| match k {
                EntryKey::Conntrack { sport, .. } => sport,
                EntryKey::Ipvs { cport, .. } => cport,
            })
            .collect();
        assert_eq!(upserted, [1001, 1003]);
        let deleted: Vec<EntryKey> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Delete(k) => Some(*k),
                Change::Upsert(_) => None,
            })
            .collect();
        assert_eq!(deleted, [to_entry(&udp(1002, 0)).expect("entry").key()]);
    }
}
