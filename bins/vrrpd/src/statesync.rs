//! The vrrpd side of the coupling with `ssyncpd` (connection-state sync).
//!
//! With `--sync-socket PATH`, vrrpd listens on a Unix stream socket. An `ssyncpd` connects
//! and subscribes to one VRRP instance or sync group; vrrpd then pushes that target's
//! state, and turns the state machine's `SyncCommit` effect (emitted on promotion) into a
//! commit request. The instance installs its VIPs only when every subscriber answered
//! that all received connection state is in the kernel, or when the commit barrier
//! (`--sync-commit-timeout`, the FSM's `commit_barrier`) expires: availability first.
//!
//! The protocol is one text line per message:
//!
//! ```text
//! ssyncpd → vrrpd   SUBSCRIBE INSTANCE <name> | SUBSCRIBE GROUP <name>
//! vrrpd → ssyncpd   STATE MASTER|BACKUP|FAULT|INIT    (at once, then on every change)
//! vrrpd → ssyncpd   COMMIT <token>
//! ssyncpd → vrrpd   COMMITTED <token> OK|FAILED
//! ssyncpd → vrrpd   SYNCED YES|NO
//! vrrpd → ssyncpd   ERROR <text>
//! ```
//!
//! `SYNCED NO` (a restarted node whose table is still being filled by a bulk) holds
//! preemption for the followed instance or group ([`vrrp_fsm::Admin::HoldPreempt`]): it does
//! not take over from a live master of lower priority, so it cannot preempt with an empty
//! table; it still takes over when the master goes silent. `SYNCED YES` or the subscriber
//! leaving releases the hold.
//!
//! Without the option, or while no subscriber follows the promoted instance, `SyncCommit`
//! and `SyncRelease` are acknowledged at once, exactly as before the coupling existed.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use mio::net::{UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use tracing::{debug, info, warn};
use vrrp_fsm::{Duration, Effect, EffectId, EffectOutcome, Event, State};

/// Token of the listening socket.
pub const SYNC_TOKEN: Token = Token(4);
/// Subscribers use tokens from here (other servers use lower bases).
pub const SYNC_CLIENT_BASE: usize = 1 << 26;
/// Most subscribers at once.
const MAX_CLIENTS: usize = 64;
/// Longest line accepted from a subscriber.
const MAX_LINE: usize = 512;

/// What a subscriber follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// One VRRP instance, by name.
    Instance(String),
    /// One sync group, by name.
    Group(String),
}

#[derive(Debug)]
struct Client {
    stream: UnixStream,
    inbox: Vec<u8>,
    target: Option<Target>,
    /// The last `SYNCED` report (`None` before the first).
    synced: Option<bool>,
}

/// A commit request waiting for its subscribers.
#[derive(Debug)]
struct Pending {
    unit: String,
    member: Option<String>,
    /// When the FSM's barrier gives up waiting (it then installs the VIPs itself).
    deadline: std::time::Instant,
    id: EffectId,
    waiting: Vec<Token>,
    ok: bool,
}

/// A finished commit for the daemon to acknowledge: the unit's label, the effect and
/// its outcome.
pub type Ack = (String, EffectId, EffectOutcome);

/// The coupling endpoint (inactive when no socket is configured).
#[derive(Debug, Default)]
pub struct StateSync {
    listener: Option<(UnixListener, PathBuf)>,
    barrier: Option<Duration>,
    clients: HashMap<Token, Client>,
    next_client: usize,
    instances: HashMap<String, State>,
    groups: HashMap<String, State>,
    pending: HashMap<u64, Pending>,
    next_token: u64,
    acks: Vec<Ack>,
    /// Targets whose preemption is held (a subscriber reported `SYNCED NO`).
    held: std::collections::HashSet<Target>,
    /// Changes of `held` not yet applied by the daemon.
    hold_changes: Vec<(Target, bool)>,
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Init => "INIT",
    }
}

impl StateSync {
    /// No coupling: every sync effect is acknowledged at once.
    pub fn disabled() -> Self {
        StateSync::default()
    }

    /// Listens on `path` (a stale socket file is replaced) and registers with `registry`;
    /// promotions wait up to `barrier` for subscribers.
    pub fn bind(path: &Path, barrier: Duration, registry: &Registry) -> io::Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut listener = UnixListener::bind(path)?;
        registry.register(&mut listener, SYNC_TOKEN, Interest::READABLE)?;
        info!("state sync socket {}", path.display());
        let mut sync = StateSync::default();
        sync.listener = Some((listener, path.to_path_buf()));
        sync.barrier = Some(barrier);
        Ok(sync)
    }

    /// The commit barrier for every instance's FSM configuration: `Some` when the coupling
    /// is configured (even before a subscriber connects; without one the commit is then
    /// acknowledged at once).
    pub fn commit_barrier(&self) -> Option<Duration> {
        self.barrier
    }

    /// Whether `token` belongs to this endpoint.
    pub fn owns(&self, token: Token) -> bool {
        token == SYNC_TOKEN || self.clients.contains_key(&token)
    }

    /// Handles readiness of the listener or a subscriber.
    pub fn event(&mut self, registry: &Registry, token: Token) {
        if token == SYNC_TOKEN {
            self.accept(registry);
        } else {
            self.read(registry, token);
        }
    }

    /// Whether instance `member` was promoted and still waits for a subscriber's commit
    /// (its VIPs are deliberately absent meanwhile).
    pub fn commit_pending(&self, member: &str) -> bool {
        let now = std::time::Instant::now();
        self.pending
            .values()
            .any(|p| p.member.as_deref() == Some(member) && p.deadline > now)
    }

    /// Finished commits to acknowledge with `handle_effect_done`.
    pub fn take_acks(&mut self) -> Vec<Ack> {
        std::mem::take(&mut self.acks)
    }

    /// Preemption holds to apply (`true`) or release (`false`), per followed target.
    pub fn take_hold_changes(&mut self) -> Vec<(Target, bool)> {
        std::mem::take(&mut self.hold_changes)
    }

    /// Queues every current hold again (after a reload started fresh instances).
    pub fn requeue_holds(&mut self) {
        let held: Vec<Target> = self.held.iter().cloned().collect();
        self.hold_changes
            .extend(held.into_iter().map(|t| (t, true)));
    }

    /// Recomputes the held targets from the subscribers' reports and queues the changes.
    fn update_holds(&mut self) {
        let now: std::collections::HashSet<Target> = self
            .clients
            .values()
            .filter(|c| c.synced == Some(false))
            .filter_map(|c| c.target.clone())
            .collect();
        for t in now.difference(&self.held) {
            info!("state sync: {t:?} not in sync; preemption held");
            self.hold_changes.push((t.clone(), true));
        }
        for t in self.held.difference(&now) {
            info!("state sync: {t:?} in sync; preemption released");
            self.hold_changes.push((t.clone(), false));
        }
        self.held = now;
    }

    fn accept(&mut self, registry: &Registry) {
        let Some((listener, _)) = self.listener.as_ref() else {
            return;
        };
        loop {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    if self.clients.len() >= MAX_CLIENTS {
                        warn!("state sync: too many subscribers; refusing one");
                        continue;
                    }
                    let token = Token(SYNC_CLIENT_BASE + self.next_client);
                    self.next_client = (self.next_client + 1) % (1 << 24);
                    if let Err(e) = registry.register(&mut stream, token, Interest::READABLE) {
                        warn!("state sync: cannot register a subscriber: {e}");
                        continue;
                    }
                    self.clients.insert(
                        token,
                        Client {
                            stream,
                            inbox: Vec::new(),
                            target: None,
                            synced: None,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    warn!("state sync: accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn read(&mut self, registry: &Registry, token: Token) {
        let Some(client) = self.clients.get_mut(&token) else {
            return;
        };
        let mut closed = false;
        let mut buf = [0u8; 1024];
        loop {
            match client.stream.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => client
                    .inbox
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
            if client.inbox.len() > 8 * MAX_LINE {
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(pos) = client.inbox.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = client.inbox.drain(..=pos).collect();
            lines.push(String::from_utf8_lossy(line.get(..pos).unwrap_or_default()).into_owned());
        }
        if client.inbox.len() > MAX_LINE {
            closed = true;
        }
        for line in lines {
            self.on_line(token, line.trim_end_matches('\r'));
        }
        if closed {
            self.drop_client(registry, token);
        }
    }

    fn on_line(&mut self, token: Token, line: &str) {
        let mut words = line.split_ascii_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("SUBSCRIBE"), Some(kind), Some(name), None) => {
                let target = match kind {
                    "INSTANCE" => Target::Instance(name.to_owned()),
                    "GROUP" => Target::Group(name.to_owned()),
                    _ => {
                        self.send(token, "ERROR expected SUBSCRIBE INSTANCE|GROUP <name>");
                        return;
                    }
                };
                let state = match &target {
                    Target::Instance(n) => self.instances.get(n),
                    Target::Group(n) => self.groups.get(n),
                }
                .copied();
                if state.is_none() {
                    warn!("state sync: subscriber follows {target:?}, which is not running");
                }
                info!("state sync: subscriber follows {target:?}");
                if let Some(c) = self.clients.get_mut(&token) {
                    c.target = Some(target);
                }
                self.update_holds();
                let word = state_word(state.unwrap_or(State::Init));
                self.send(token, &format!("STATE {word}"));
            }
            (Some("COMMITTED"), Some(t), Some(result), None) => {
                let Ok(t) = t.parse::<u64>() else {
                    self.send(token, "ERROR bad commit token");
                    return;
                };
                self.answer(token, t, result == "OK");
            }
            (Some("SYNCED"), Some(word @ ("YES" | "NO")), None, None) => {
                if let Some(c) = self.clients.get_mut(&token) {
                    c.synced = Some(word == "YES");
                }
                self.update_holds();
            }
            _ => {
                let shown: String = line.chars().take(60).collect();
                self.send(token, &format!("ERROR unknown request {shown:?}"));
            }
        }
    }

    /// Records one subscriber's answer to commit `t`.
    fn answer(&mut self, token: Token, t: u64, ok: bool) {
        let Some(p) = self.pending.get_mut(&t) else {
            debug!("state sync: late or unknown commit answer {t}");
            return;
        };
        p.waiting.retain(|w| *w != token);
        p.ok &= ok;
        if p.waiting.is_empty()
            && let Some(p) = self.pending.remove(&t)
        {
            let outcome = if p.ok {
                EffectOutcome::Done
            } else {
                EffectOutcome::Failed
            };
            debug!("state sync: commit {t} of {} {outcome:?}", p.unit);
            self.acks.push((p.unit, p.id, outcome));
        }
    }

    fn drop_client(&mut self, registry: &Registry, token: Token) {
        if let Some(mut c) = self.clients.remove(&token) {
            let _ = registry.deregister(&mut c.stream);
            if c.target.is_some() {
                info!("state sync: subscriber for {:?} left", c.target);
            }
        }
        self.update_holds();
        // Commits it still owed finish without it (as failed ones).
        let owed: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.waiting.contains(&token))
            .map(|(t, _)| *t)
            .collect();
        for t in owed {
            self.answer(token, t, false);
        }
    }

    fn send(&mut self, token: Token, line: &str) {
        let Some(c) = self.clients.get_mut(&token) else {
            return;
        };
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        // Lines are tiny; a subscriber whose socket buffer is full is stuck and dropped.
        match c.stream.write(&bytes) {
            Ok(n) if n == bytes.len() => {}
            _ => {
                warn!("state sync: subscriber not reading; closing it");
                let _ = c.stream.shutdown(std::net::Shutdown::Both);
                // The read side sees EOF next and removes it.
            }
        }
    }

    fn subscribers(
        &self,
        group: Option<&str>,
        member: Option<&str>,
        group_level: bool,
    ) -> Vec<Token> {
        self.clients
            .iter()
            .filter(|(_, c)| match &c.target {
                Some(Target::Instance(n)) => !group_level && member == Some(n.as_str()),
                Some(Target::Group(n)) => group == Some(n.as_str()),
                None => false,
            })
            .map(|(t, _)| *t)
            .collect()
    }

    /// Follows the state machine's events (to answer subscriptions and push changes).
    /// `group` is the unit's sync-group name, `member` the instance the event is about.
    pub fn observe(&mut self, group: Option<&str>, member: Option<&str>, event: &Event) {
        let (to, group_level) = match *event {
            Event::StateChanged { to, .. } => (to, false),
            Event::GroupStateChanged { to, .. } => (to, true),
            _ => return,
        };
        if group_level {
            let Some(g) = group else { return };
            self.groups.insert(g.to_owned(), to);
        } else {
            let Some(m) = member else { return };
            self.instances.insert(m.to_owned(), to);
        }
        let tokens: Vec<Token> = self
            .subscribers(group, member, group_level)
            .into_iter()
            .filter(|t| {
                // Group subscribers follow the group state only.
                let is_group = matches!(
                    self.clients.get(t).and_then(|c| c.target.as_ref()),
                    Some(Target::Group(_))
                );
                is_group == group_level
            })
            .collect();
        for t in tokens {
            self.send(t, &format!("STATE {}", state_word(to)));
        }
    }

    /// Handles a `SyncCommit`/`SyncRelease` effect of `member` in unit `unit` (its label)
    /// and sync group `group`. Returns the outcome now, or `None` when subscribers were
    /// asked and [`StateSync::take_acks`] will report it.
    pub fn request(
        &mut self,
        unit: &str,
        group: Option<&str>,
        member: Option<&str>,
        id: EffectId,
        effect: &Effect,
    ) -> Option<EffectOutcome> {
        if !matches!(effect, Effect::SyncCommit) {
            return Some(EffectOutcome::Done);
        }
        // Group subscribers get one commit per member: each member waits for its own.
        let waiting = self.subscribers(group, member, false);
        if waiting.is_empty() {
            return Some(EffectOutcome::Done);
        }
        self.next_token += 1;
        let t = self.next_token;
        for w in &waiting {
            self.send(*w, &format!("COMMIT {t}"));
        }
        self.pending.insert(
            t,
            Pending {
                unit: unit.to_owned(),
                member: member.map(str::to_owned),
                deadline: std::time::Instant::now()
                    + std::time::Duration::from_micros(self.barrier.map_or(0, |b| b.as_micros())),
                id,
                waiting,
                ok: true,
            },
        );
        // Answers to commits the FSM already gave up on (its barrier timed out) are
        // harmless; keep the map from growing without bound anyway.
        if self.pending.len() > 1024
            && let Some(oldest) = self.pending.keys().min().copied()
        {
            self.pending.remove(&oldest);
        }
        None
    }
}

impl Drop for StateSync {
    fn drop(&mut self) {
        if let Some((_, path)) = self.listener.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}
