//! From a parsed keepalived.conf to what the daemon runs: per instance the FSM
//! configuration, the codec's authentication and the I/O details; instances grouped into
//! units (a `vrrp_sync_group`, or a lone instance as a group of one).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use kaconf::{Config, Notify, NotifyScript, RunAs, UnicastPeer};
use vrrp_fsm::{
    AuthKind, Duration, GarpConfig, InstanceConfig, TrackId, TrackStatus, TrackerConfig,
};
use vrrp_wire::{Auth, Vrid};

use crate::children::Job;
use crate::users::{Ids, UserDb};

/// How early a master may send a periodic advert so that adverts due close together
/// share one wake-up and one `sendmmsg` (and reach backups as one burst): 50 ms, 5 % of
/// the shortest VRRPv2 interval.
pub const ADVERT_SLACK: Duration = Duration::from_millis(50);

/// Notify commands resolved to jobs (argv plus the identity they run as).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyPlan {
    /// `notify_master`.
    pub master: Option<Job>,
    /// `notify_backup`.
    pub backup: Option<Job>,
    /// `notify_fault`.
    pub fault: Option<Job>,
    /// `notify_stop`.
    pub stop: Option<Job>,
    /// Generic `notify` (gets `INSTANCE|GROUP NAME STATE PRIORITY` appended).
    pub generic: Option<Job>,
}

/// The plan of an instance without notify commands.
static NO_NOTIFY: NotifyPlan = NotifyPlan {
    master: None,
    backup: None,
    fault: None,
    stop: None,
    generic: None,
};

impl NotifyPlan {
    /// No command at all.
    pub fn is_empty(&self) -> bool {
        self.master.is_none()
            && self.backup.is_none()
            && self.fault.is_none()
            && self.stop.is_none()
            && self.generic.is_none()
    }
}

/// Whether `program` names an executable regular file (searched in [`SCRIPT_PATH`] when
/// it has no slash, as execvp would).
///
/// [`SCRIPT_PATH`]: crate::children::SCRIPT_PATH
pub fn find_executable(program: &str) -> Result<std::path::PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &std::path::Path| -> Result<(), String> {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if !meta.is_file() {
            return Err(format!("{} is not a regular file", p.display()));
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(format!("{} is not executable", p.display()));
        }
        Ok(())
    };
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        check(&p)?;
        return Ok(p);
    }
    for dir in crate::children::SCRIPT_PATH.split(':') {
        let p = std::path::Path::new(dir).join(program);
        if check(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(format!(
        "{program} not found in {}",
        crate::children::SCRIPT_PATH
    ))
}

/// Why running `path` as root would be unsafe: the file or a directory above it can be
/// changed by someone other than root (owned by another user, group-writable with a
/// non-root group, or world-writable; a root-owned sticky directory such as `/tmp` is
/// fine, as others cannot replace what it holds). `None` when it is safe.
///
/// Both the path as given (whose directories hold any symbolic link on the way) and the
/// path it resolves to are checked.
pub fn insecurity(path: &std::path::Path) -> Option<String> {
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let given = crate::trackfile::absolute(path);
    ancestors_insecurity(&given).or_else(|| ancestors_insecurity(&real))
}

fn ancestors_insecurity(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    for p in path.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        let meta = match std::fs::metadata(p) {
            Ok(meta) => meta,
            Err(e) => return Some(format!("{}: {e}", p.display())),
        };
        let mode = meta.mode();
        let sticky_root_dir = meta.is_dir() && mode & 0o1000 != 0 && meta.uid() == 0;
        let problem = if meta.uid() != 0 {
            Some(format!("owned by uid {}", meta.uid()))
        } else if mode & 0o020 != 0 && meta.gid() != 0 && !sticky_root_dir {
            Some(format!("writable by group {}", meta.gid()))
        } else if mode & 0o002 != 0 && !sticky_root_dir {
            Some("writable by everyone".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Some(format!("{} is {problem}", p.display()));
        }
    }
    None
}

/// Runs as root: uid 0, or no user of its own while vrrpd itself is root.
fn runs_as_root(ids: Option<Ids>) -> bool {
    match ids {
        Some(i) => i.uid == 0,
        None => own_uid() == 0,
    }
}

/// vrrpd's effective user id (the owner of `/proc/self`; root when it cannot be read).
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or(0, |m| m.uid())
}

/// Resolves one script: executable program and known user, or a message. With
/// `security` (`enable_script_security`), a script that would run as root from a path
/// others can change is refused.
fn resolve_job(
    argv: &[String],
    own: Option<&RunAs>,
    users: &UserDb,
    script_user: Option<&RunAs>,
    security: bool,
) -> Result<Job, String> {
    let program = argv.first().ok_or("empty command")?;
    let path = find_executable(program)?;
    let ids: Option<Ids> = users
        .script_ids(own, script_user)
        .map_err(|e| e.to_string())?;
    if security
        && runs_as_root(ids)
        && let Some(why) = insecurity(&path)
    {
        return Err(format!("insecure to run as root: {why}"));
    }
    Ok(Job {
        argv: with_program(argv, &path),
        ids,
    })
}

/// `argv` with the program replaced by the file it resolves to, so that what runs is what
/// was checked (no second PATH search at spawn time); unchanged when it does not resolve.
fn resolved_argv(argv: &[String]) -> Vec<String> {
    match argv.first().map(|p| find_executable(p)) {
        Some(Ok(path)) => with_program(argv, &path),
        _ => argv.to_vec(),
    }
}

/// `argv` with its program replaced by `path`.
fn with_program(argv: &[String], path: &std::path::Path) -> Vec<String> {
    let mut argv = argv.to_vec();
    if let Some(first) = argv.first_mut() {
        *first = path.to_string_lossy().into_owned();
    }
    argv
}

/// Resolves every notify command of `owner`; problems are appended to `errors` and the
/// script is left out (keepalived disables such scripts too).
pub fn notify_plan(
    owner: &str,
    notify: &Notify,
    users: &UserDb,
    global: &kaconf::GlobalDefs,
    errors: &mut Vec<String>,
) -> NotifyPlan {
    let script_user = global.script_user.as_ref();
    let security = global.enable_script_security;
    let mut one = |what: &str, s: &Option<NotifyScript>| -> Option<Job> {
        let s = s.as_ref()?;
        match resolve_job(&s.argv, s.run_as.as_ref(), users, script_user, security) {
            Ok(job) => Some(job),
            Err(e) => {
                errors.push(format!("({owner}) {what} script disabled: {e}"));
                None
            }
        }
    };
    NotifyPlan {
        master: one("notify_master", &notify.master),
        backup: one("notify_backup", &notify.backup),
        fault: one("notify_fault", &notify.fault),
        stop: one("notify_stop", &notify.stop),
        generic: one("notify", &notify.generic),
    }
}

/// Every script problem of a configuration (missing or non-executable programs, unknown
/// users): errors for `vrrpd -t`.
pub fn script_errors(config: &Config, users: &UserDb) -> Vec<String> {
    let mut errors = Vec::new();
    let global = &config.global;
    for inst in &config.instances {
        notify_plan(&inst.name, &inst.notify, users, global, &mut errors);
    }
    for g in &config.sync_groups {
        notify_plan(&g.name, &g.notify, users, global, &mut errors);
    }
    for s in &config.scripts {
        let security = global.enable_script_security;
        let resolved = resolve_job(
            &s.argv,
            s.run_as.as_ref(),
            users,
            global.script_user.as_ref(),
            security,
        );
        if let Err(e) = resolved {
            errors.push(format!("vrrp_script {}: {e}", s.name));
        }
    }
    errors
}

/// Without `enable_script_security`: a warning for each script that runs as root from a
/// path others can change (keepalived's "SECURITY VIOLATION" warning).
pub fn script_security_warnings(config: &Config, users: &UserDb) -> Vec<String> {
    if config.global.enable_script_security {
        return Vec::new();
    }
    let script_user = config.global.script_user.as_ref();
    let notifies = config
        .instances
        .iter()
        .map(|i| &i.notify)
        .chain(config.sync_groups.iter().map(|g| &g.notify))
        .flat_map(|n| [&n.master, &n.backup, &n.fault, &n.stop, &n.generic])
        .flatten()
        .map(|s| (&s.argv, s.run_as.as_ref()));
    let scripts = config.scripts.iter().map(|s| (&s.argv, s.run_as.as_ref()));
    let mut warnings = Vec::new();
    for (argv, own) in notifies.chain(scripts) {
        let Some(path) = argv.first().and_then(|p| find_executable(p).ok()) else {
            continue;
        };
        let ids = users.script_ids(own, script_user).ok().flatten();
        if runs_as_root(ids)
            && let Some(why) = insecurity(&path)
        {
            let warning = format!(
                "SECURITY VIOLATION: {} runs as root but {why} (set enable_script_security to refuse it)",
                path.display()
            );
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
    }
    warnings
}

/// What the plan builder needs to know about the host.
pub trait Host {
    /// The primary IPv4 address of `interface`, ignoring `exclude` (our own VIPs, which a
    /// previous run may have left behind).
    fn primary_ipv4(&mut self, interface: &str, exclude: &[Ipv4Addr]) -> Option<Ipv4Addr>;
    /// Whether `interface` is up and running (`None`: it does not exist).
    fn link_up(&mut self, interface: &str) -> Option<bool>;
    /// The number a tracked file holds now (0 when missing or unreadable).
    fn track_file_value(&mut self, path: &std::path::Path) -> i32;
}

/// What a [`TrackId`] stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrackKey {
    /// A `track_interface` entry.
    Interface(String),
    /// A `vrrp_script` used by `track_script`.
    Script(String),
    /// A top-level `track_file` used by an instance or group.
    File(String),
}

/// Stable tracker identifiers across reloads: one id per tracked interface or script.
#[derive(Debug, Default, Clone)]
pub struct TrackRegistry {
    keys: Vec<TrackKey>,
}

impl TrackRegistry {
    /// The id of `key`, allocated on first use.
    pub fn id(&mut self, key: TrackKey) -> TrackId {
        if let Some(i) = self.keys.iter().position(|k| *k == key) {
            return TrackId(i as u32);
        }
        self.keys.push(key);
        TrackId((self.keys.len() - 1) as u32)
    }

    /// What `id` stands for.
    pub fn key(&self, id: TrackId) -> Option<&TrackKey> {
        self.keys.get(id.0 as usize)
    }
}

/// One virtual address with everything needed to install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipPlan {
    /// Interface it goes on (the VMAC interface with `use_vmac`).
    pub dev: String,
    /// Address, prefix, broadcast, label, scope.
    pub addr: ha_os::VirtualAddress,
}

/// One IPv6 address installed while master (`virtual_ipaddress_excluded`: VRRPv2 adverts
/// carry IPv4 only), announced with unsolicited neighbour advertisements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip6Plan {
    /// Interface it goes on.
    pub dev: String,
    /// The address.
    pub address: std::net::Ipv6Addr,
    /// Its prefix length.
    pub prefix_len: u8,
}

/// One VRRP instance, ready to run.
#[derive(Debug, Clone)]
pub struct InstancePlan {
    /// `vrrp_instance` name.
    pub name: String,
    /// Interface the instance runs on.
    pub interface: String,
    /// The state machine's configuration.
    pub fsm: InstanceConfig,
    /// Codec authentication (keys).
    pub auth: Auth,
    /// Addresses carried in adverts, in configuration order.
    pub advertised: Vec<Ipv4Addr>,
    /// Every address installed while master (advertised ones, then excluded ones).
    pub vips: Vec<VipPlan>,
    /// Excluded IPv6 addresses, installed while master too.
    pub vips6: Vec<Vip6Plan>,
    /// Unicast peers (empty: multicast).
    pub peers: Vec<UnicastPeer>,
    /// Multicast group for adverts.
    pub group_addr: Ipv4Addr,
    /// TTL of unicast adverts.
    pub unicast_ttl: u8,
    /// Unicast adverts must come from a configured peer.
    pub check_unicast_src: bool,
    /// Skip the address-list comparison.
    pub skip_check_adv_addr: bool,
    /// VMAC interface name with `use_vmac`.
    pub vmac: Option<String>,
    /// Send adverts on the parent even with a VMAC.
    pub vmac_xmit_base: bool,
    /// Do not feed the own interface's link state to the FSM.
    pub dont_track_primary: bool,
    /// Tracked interfaces and their ids.
    pub tracked_interfaces: Vec<(String, TrackId)>,
    /// Notify commands; `None` when there is none (most instances: a daemon holds 1,000s
    /// of plans, and an empty `NotifyPlan` is 200 bytes). Read it with
    /// [`InstancePlan::notify`].
    pub notify: Option<Box<NotifyPlan>>,
    /// The interface is missing or has no IPv4 address: the instance runs in FAULT
    /// (source 0.0.0.0) until the address appears.
    pub source_missing: bool,
    /// `virtual_routes` (IPv4), installed while master.
    pub routes: Vec<ha_os::Route>,
    /// `garp_interval`: spacing of gratuitous ARPs on an interface (zero: bursts).
    pub garp_interval: std::time::Duration,
}

impl InstancePlan {
    /// VRID.
    pub fn vrid(&self) -> Vrid {
        self.fsm.vrid
    }

    /// Whether adverts are unicast.
    pub fn is_unicast(&self) -> bool {
        !self.peers.is_empty()
    }

    /// The advert interval in whole seconds (1..=255) as carried on the wire.
    pub fn adver_int_secs(&self) -> u8 {
        secs_u8(self.fsm.advert_interval)
    }

    /// The notify commands (empty if none is configured).
    pub fn notify(&self) -> &NotifyPlan {
        self.notify.as_deref().unwrap_or(&NO_NOTIFY)
    }

    /// The details of an installed address.
    pub fn vip(&self, addr: IpAddr) -> Option<&VipPlan> {
        self.vips
            .iter()
            .find(|v| IpAddr::V4(v.addr.address) == addr)
    }

    /// Every address installed while master, as `address/prefix` (IPv4, then IPv6), for
    /// the status report.
    pub fn address_list(&self) -> Vec<String> {
        let v4 = self
            .vips
            .iter()
            .map(|v| format!("{}/{}", v.addr.address, v.addr.prefix_len));
        let v6 = self
            .vips6
            .iter()
            .map(|v| format!("{}/{}", v.address, v.prefix_len));
        v4.chain(v6).collect()
    }

    /// Details of an excluded IPv6 address of this plan.
    pub fn vip6(&self, addr: IpAddr) -> Option<&Vip6Plan> {
        self.vips6.iter().find(|v| IpAddr::V6(v.address) == addr)
    }
}

/// Whole seconds of `d`, clamped to 1..=255 (VRRPv2's Adver Int field).
pub fn secs_u8(d: Duration) -> u8 {
    (d.as_micros() / 1_000_000).clamp(1, 255) as u8
}

/// A sync group (named) or a lone instance (unnamed group of one).
#[derive(Debug, Clone)]
pub struct UnitPlan {
    /// The `vrrp_sync_group` name and notify commands, if any.
    pub group: Option<(String, NotifyPlan)>,
    /// Members in order.
    pub members: Vec<InstancePlan>,
}

impl UnitPlan {
    /// A label for logs.
    pub fn label(&self) -> String {
        match &self.group {
            Some((name, _)) => format!("group {name}"),
            None => self
                .members
                .first()
                .map(|m| m.name.clone())
                .unwrap_or_default(),
        }
    }
}

/// A `vrrp_script` to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPlan {
    /// Name.
    pub name: String,
    /// Its tracker id.
    pub id: TrackId,
    /// Command.
    pub argv: Vec<String>,
    /// Period.
    pub interval: std::time::Duration,
    /// Time limit.
    pub timeout: std::time::Duration,
    /// Successes needed to go up.
    pub rise: u32,
    /// Failures needed to go down.
    pub fall: u32,
    /// Start failed.
    pub init_fail: bool,
    /// Identity it runs as (`None`: vrrpd's own).
    pub ids: Option<Ids>,
}

/// A `track_file` to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePlan {
    /// Name of the `track_file` block.
    pub name: String,
    /// Its tracker id.
    pub id: TrackId,
    /// The watched file.
    pub path: std::path::PathBuf,
    /// `init_file`: create (or overwrite) the file at start-up.
    pub init_file: Option<kaconf::InitFile>,
}

/// Everything the daemon runs, plus load-time warnings about what it ignores.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Units in configuration order.
    pub units: Vec<UnitPlan>,
    /// Scripts used by at least one instance.
    pub scripts: Vec<ScriptPlan>,
    /// Tracked files used by at least one instance or group.
    pub files: Vec<FilePlan>,
    /// `vrrp_script`s refused by `enable_script_security` (not run, not tracked, as
    /// keepalived removes them).
    pub disabled_scripts: Vec<String>,
    /// Problems found while planning (logged by the daemon, printed by `-t`).
    pub warnings: Vec<String>,
    /// Instances that could not be planned (logged as errors).
    pub errors: Vec<String>,
}

fn vip_plan(v: &kaconf::VirtualAddress) -> Option<VipPlan> {
    let IpAddr::V4(address) = v.addr else {
        return None;
    };
    Some(VipPlan {
        dev: v.dev.clone(),
        addr: ha_os::VirtualAddress {
            address,
            prefix_len: v.prefix_len,
            broadcast: v.broadcast,
            label: v.label.clone(),
            scope: ha_os::AddressScope::from_raw(v.scope.as_u8()),
            peer: None,
        },
    })
}

/// An IPv4 `virtual_routes` entry; `None` for IPv6 (warned about at load). A unicast route
/// with neither gateway nor device goes out of the instance's interface.
fn route_plan(r: &kaconf::VirtualRoute, interface: &str) -> Option<ha_os::Route> {
    let v4 = |a: Option<IpAddr>| match a {
        None => Some(None),
        Some(IpAddr::V4(a)) => Some(Some(a)),
        Some(IpAddr::V6(_)) => None,
    };
    let IpAddr::V4(dst) = r.dst else {
        return None;
    };
    // The kernel wants the network address (host bits are warned about at load).
    let dst = network(dst, r.prefix_len);
    let kind = match r.kind {
        kaconf::RouteKind::Unicast => ha_os::RouteType::Unicast,
        kaconf::RouteKind::Blackhole => ha_os::RouteType::Blackhole,
        kaconf::RouteKind::Unreachable => ha_os::RouteType::Unreachable,
        kaconf::RouteKind::Prohibit => ha_os::RouteType::Prohibit,
    };
    let via = v4(r.via)?;
    let dev = match (&r.dev, kind, via) {
        (None, ha_os::RouteType::Unicast, None) => Some(interface.to_owned()),
        (dev, _, _) => dev.clone(),
    };
    Some(ha_os::Route {
        dst,
        prefix_len: r.prefix_len,
        src: v4(r.src)?,
        via,
        dev,
        scope: r.scope.map(kaconf::Scope::as_u8),
        table: r.table,
        metric: r.metric,
        kind,
    })
}

/// `addr` with the bits past `prefix_len` cleared.
fn network(addr: Ipv4Addr, prefix_len: u8) -> Ipv4Addr {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix_len.min(32)))
        .unwrap_or(0);
    Ipv4Addr::from(u32::from(addr) & mask)
}

fn garp(g: &kaconf::GarpSettings) -> GarpConfig {
    GarpConfig {
        master_repeat: g.master_repeat,
        master_delay: Duration::from_micros(g.master_delay_us),
        refresh: (g.master_refresh_us > 0).then(|| Duration::from_micros(g.master_refresh_us)),
        refresh_repeat: g.master_refresh_repeat,
        lower_prio_repeat: g.lower_prio_repeat,
        lower_prio_delay: Duration::from_micros(g.lower_prio_delay_us),
    }
}

/// Adds a tracker unless the instance already has one with this id (an instance and its
/// group may list the same object); returns whether it was added.
fn add_tracker(
    fsm: &mut InstanceConfig,
    id: TrackId,
    w: i32,
    reverse: bool,
    initial: Option<TrackStatus>,
) -> bool {
    if fsm.trackers.iter().any(|x| x.id == id) {
        return false;
    }
    fsm.trackers.push(TrackerConfig {
        id,
        weight: weight(w),
        reverse,
        initial,
    });
    true
}

fn weight(w: i32) -> i16 {
    w.clamp(-253, 253) as i16
}

/// Warnings about configured features vrrpd ignores (also printed by `-t`).
pub fn unsupported_warnings(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    if config.global.lvs_sync_daemon.is_some() {
        warnings.push("lvs_sync_daemon is not implemented by vrrpd and is ignored".to_owned());
    }
    for inst in &config.instances {
        for r in &inst.virtual_routes {
            match route_plan(r, &inst.interface) {
                None => warnings.push(format!(
                    "({}) IPv6 virtual route to {}/{} is ignored (vrrpd installs IPv4 routes)",
                    inst.name, r.dst, r.prefix_len
                )),
                Some(p) if IpAddr::V4(p.dst) != r.dst => warnings.push(format!(
                    "({}) virtual route {}/{} has host bits set; installing {}/{}",
                    inst.name, r.dst, r.prefix_len, p.dst, p.prefix_len
                )),
                Some(_) => {}
            }
        }
    }
    warnings
}

/// Builds the plan. `script_status` gives the last known result of a script (kept across
/// reloads), `host` the interface facts.
pub fn build(
    config: &Config,
    registry: &mut TrackRegistry,
    script_status: &HashMap<String, bool>,
    host: &mut dyn Host,
    users: &UserDb,
) -> Plan {
    let mut plan = Plan {
        warnings: unsupported_warnings(config),
        ..Plan::default()
    };
    plan.warnings
        .extend(script_security_warnings(config, users));
    if config.global.enable_script_security {
        for s in &config.scripts {
            let resolved = resolve_job(
                &s.argv,
                s.run_as.as_ref(),
                users,
                config.global.script_user.as_ref(),
                true,
            );
            // Under script security any problem disables the script (a missing program
            // could appear later, an unknown user would fall back to root).
            if let Err(e) = resolved {
                plan.errors
                    .push(format!("vrrp_script {} disabled: {e}", s.name));
                plan.disabled_scripts.push(s.name.clone());
            }
        }
    }
    let mut used_scripts: Vec<String> = Vec::new();
    // Planned instances by their index in `config.instances` (exact capacity: with 1,000s
    // of instances a map holding the plans by value, with its growth slack, was the
    // daemon's start-up peak), plus a name index for the sync groups.
    let mut planned: Vec<Option<InstancePlan>> = Vec::with_capacity(config.instances.len());
    let index: HashMap<&str, usize> = config
        .instances
        .iter()
        .enumerate()
        .map(|(i, inst)| (inst.name.as_str(), i))
        .collect();
    for inst in &config.instances {
        let group_track = inst
            .sync_group
            .as_deref()
            .and_then(|g| config.sync_group(g))
            .map(|g| g.track.clone())
            .unwrap_or_default();
        match plan_instance(
            inst,
            config,
            &group_track,
            registry,
            script_status,
            host,
            &mut plan,
            users,
        ) {
            Ok(p) => {
                for s in inst.track.scripts.iter().chain(&group_track.scripts) {
                    if !used_scripts.contains(&s.name) {
                        used_scripts.push(s.name.clone());
                    }
                }
                for f in inst.track.files.iter().chain(&group_track.files) {
                    if plan.files.iter().all(|p| p.name != f.name)
                        && let Some(file) = config.track_file(&f.name)
                    {
                        plan.files.push(FilePlan {
                            name: file.name.clone(),
                            id: registry.id(TrackKey::File(file.name.clone())),
                            path: crate::trackfile::absolute(std::path::Path::new(&file.path)),
                            init_file: file.init_file,
                        });
                    }
                }
                planned.push(Some(p));
            }
            Err(e) => {
                planned.push(None);
                plan.errors
                    .push(format!("({}) {e}; instance not started", inst.name))
            }
        }
    }
    plan.units
        .reserve_exact(planned.iter().filter(|p| p.is_some()).count());
    for group in &config.sync_groups {
        let members: Vec<InstancePlan> = group
            .members
            .iter()
            .filter_map(|m| {
                let i = *index.get(m.as_str())?;
                planned.get_mut(i)?.take()
            })
            .collect();
        if members.is_empty() {
            continue;
        }
        let notify = notify_plan(
            &group.name,
            &group.notify,
            users,
            &config.global,
            &mut plan.errors,
        );
        plan.units.push(UnitPlan {
            group: Some((group.name.clone(), notify)),
            members,
        });
    }
    for p in planned.into_iter().flatten() {
        plan.units.push(UnitPlan {
            group: None,
            members: vec![p],
        });
    }
    for name in used_scripts {
        let Some(s) = config.script(&name) else {
            continue;
        };
        if plan.disabled_scripts.contains(&name) {
            continue;
        }
        let ids = match users.script_ids(s.run_as.as_ref(), config.global.script_user.as_ref()) {
            Ok(ids) => ids,
            Err(e) => {
                plan.errors
                    .push(format!("vrrp_script {name}: {e}; it runs as vrrpd's user"));
                None
            }
        };
        plan.scripts.push(ScriptPlan {
            ids,
            id: registry.id(TrackKey::Script(name.clone())),
            name,
            argv: resolved_argv(&s.argv),
            interval: std::time::Duration::from_micros(s.interval_us.max(1)),
            timeout: std::time::Duration::from_micros(s.timeout_us.max(1)),
            rise: s.rise.max(1),
            fall: s.fall.max(1),
            init_fail: s.init_fail,
        });
    }
    plan
}

#[allow(clippy::too_many_arguments)]
fn plan_instance(
    inst: &kaconf::Instance,
    config: &Config,
    group_track: &kaconf::Trackers,
    registry: &mut TrackRegistry,
    script_status: &HashMap<String, bool>,
    host: &mut dyn Host,
    plan: &mut Plan,
    users: &UserDb,
) -> Result<InstancePlan, String> {
    let vrid = Vrid::new(inst.vrid).ok_or("VRID 0 is invalid")?;
    let mut vips = Vec::new();
    let mut advertised = Vec::new();
    for v in &inst.vips {
        match vip_plan(v) {
            Some(p) => {
                advertised.push(p.addr.address);
                vips.push(p);
            }
            None => plan.warnings.push(format!(
                "({}) IPv6 virtual address {} ignored: vrrpd runs VRRPv2 over IPv4",
                inst.name, v.addr
            )),
        }
    }
    let mut vips6 = Vec::new();
    for v in &inst.excluded_vips {
        match (vip_plan(v), v.addr) {
            (Some(p), _) => vips.push(p),
            (None, IpAddr::V6(address)) => vips6.push(Vip6Plan {
                dev: v.dev.clone(),
                address,
                prefix_len: v.prefix_len,
            }),
            (None, IpAddr::V4(_)) => {}
        }
    }
    let all_v4: Vec<Ipv4Addr> = vips.iter().map(|v| v.addr.address).collect();
    let found = match inst.source_addr {
        Some(s) => Some(s),
        None => host.primary_ipv4(&inst.interface, &all_v4),
    };
    let source_missing = found.is_none();
    if source_missing {
        plan.warnings.push(format!(
            "({}) interface {} is missing or has no IPv4 address to send from; FAULT until it has one",
            inst.name, inst.interface
        ));
    }
    let source = found.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut fsm = InstanceConfig::new(vrid, inst.priority, source);
    fsm.advert_interval =
        Duration::from_secs((inst.advert_int_us / kaconf::MICROS_PER_SECOND).clamp(1, 255));
    fsm.down_timer_adverts = inst.down_timer_adverts;
    fsm.preempt = inst.preempt;
    fsm.preempt_delay = Duration::from_micros(inst.preempt_delay_us);
    fsm.vips = vips
        .iter()
        .map(|v| IpAddr::V4(v.addr.address))
        .chain(vips6.iter().map(|v| IpAddr::V6(v.address)))
        .collect();
    let auth = match inst.auth {
        None => Auth::None,
        Some(a) => match a.kind {
            kaconf::AuthKind::Pass => Auth::Pass(a.key),
            kaconf::AuthKind::Ah => Auth::Ah(a.key),
        },
    };
    fsm.auth = AuthKind::from(&auth);
    fsm.garp = garp(&inst.garp);
    fsm.lower_prio_no_advert = inst.lower_prio_no_advert;
    fsm.higher_prio_send_advert = inst.higher_prio_send_advert;
    fsm.initial_state_master =
        inst.initial_state == kaconf::InitialState::Master && inst.priority != 255;
    fsm.use_vmac = inst.vmac.is_some();
    // Adverts due within this window leave together (the VRRPv2 interval is >= 1 s).
    fsm.advert_slack = ADVERT_SLACK;

    let mut tracked_interfaces = Vec::new();
    for t in inst.track.interfaces.iter().chain(&group_track.interfaces) {
        let id = registry.id(TrackKey::Interface(t.name.clone()));
        let up = host.link_up(&t.name).unwrap_or(false);
        let status = if up {
            TrackStatus::Up
        } else {
            TrackStatus::Down
        };
        if add_tracker(&mut fsm, id, t.weight, t.reverse, Some(status)) {
            tracked_interfaces.push((t.name.clone(), id));
        }
    }
    for t in inst.track.scripts.iter().chain(&group_track.scripts) {
        let Some(script) = config.script(&t.name) else {
            continue;
        };
        if plan.disabled_scripts.contains(&t.name) {
            continue;
        }
        let initial = match script_status.get(&t.name) {
            Some(true) => Some(TrackStatus::Up),
            Some(false) => Some(TrackStatus::Down),
            None if script.init_fail => Some(TrackStatus::Down),
            None => None,
        };
        let id = registry.id(TrackKey::Script(t.name.clone()));
        add_tracker(&mut fsm, id, t.weight, t.reverse, initial);
    }
    for t in inst.track.files.iter().chain(&group_track.files) {
        if let Some(file) = config.track_file(&t.name) {
            // Known from the start (and for a tracker a reload adds): no transient FAULT.
            let path = crate::trackfile::absolute(std::path::Path::new(&file.path));
            let value = host.track_file_value(&path);
            let id = registry.id(TrackKey::File(t.name.clone()));
            add_tracker(
                &mut fsm,
                id,
                t.weight,
                t.reverse,
                Some(TrackStatus::Value(value)),
            );
        }
    }
    fsm.validate().map_err(|e| e.to_string())?;
    Ok(InstancePlan {
        name: inst.name.clone(),
        interface: inst.interface.clone(),
        fsm,
        auth,
        advertised,
        vips,
        vips6,
        peers: inst.unicast_peers.clone(),
        group_addr: config.global.mcast_group4,
        unicast_ttl: inst.unicast_ttl,
        check_unicast_src: inst.check_unicast_src,
        skip_check_adv_addr: inst.skip_check_adv_addr,
        vmac: inst.vmac.clone(),
        vmac_xmit_base: inst.vmac_xmit_base,
        dont_track_primary: inst.dont_track_primary,
        tracked_interfaces,
        notify: Some(notify_plan(
            &inst.name,
            &inst.notify,
            users,
            &config.global,
            &mut plan.errors,
        ))
        .filter(|n| !n.is_empty())
        .map(Box::new),
        source_missing,
        garp_interval: std::time::Duration::from_micros(inst.garp.interval_us),
        routes: inst
            .virtual_routes
            .iter()
            .filter_map(|r| route_plan(r, &inst.interface))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost;
    impl Host for FakeHost {
        fn primary_ipv4(&mut self, interface: &str, exclude: &[Ipv4Addr]) -> Option<Ipv4Addr> {
            let a = Ipv4Addr::new(10, 0, 0, 1);
            (interface == "eth0" && !exclude.contains(&a)).then_some(a)
        }
        fn link_up(&mut self, interface: &str) -> Option<bool> {
            Some(interface != "down0")
        }
        fn track_file_value(&mut self, _path: &std::path::Path) -> i32 {
            0
        }
    }

    fn build_text(text: &str) -> Plan {
        let (cfg, _) = kaconf::parse_str("t.conf", text, &kaconf::MemLoader::new()).unwrap();
        build(
            &cfg,
            &mut TrackRegistry::default(),
            &HashMap::new(),
            &mut FakeHost,
            &UserDb::default(),
        )
    }

    #[test]
    fn instances_groups_and_trackers() {
        let plan = build_text(
            "vrrp_script chk { script \"/bin/true\"\n interval 2\n fall 3 }\n\
             vrrp_sync_group G { group { A B } }\n\
             vrrp_instance A { interface eth0\n virtual_router_id 10\n priority 150\n\
               authentication { auth_type AH\n auth_pass secret12long }\n\
               virtual_ipaddress { 10.0.0.100/24 label eth0:1 }\n\
               virtual_ipaddress_excluded { 10.0.0.250 }\n\
               track_interface { down0 weight -20 }\n track_script { chk } }\n\
             vrrp_instance B { interface eth0\n virtual_router_id 11\n virtual_ipaddress { 10.0.0.101 } }\n\
             vrrp_instance C { interface eth0\n virtual_router_id 12\n unicast_src_ip 10.0.0.9\n\
               unicast_peer { 10.0.0.2 }\n virtual_ipaddress { 10.0.0.102 } }\n",
        );
        assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        assert_eq!(plan.units.len(), 2);
        let g = &plan.units[0];
        assert_eq!(g.group.as_ref().unwrap().0, "G");
        let a = &g.members[0];
        assert_eq!(a.auth, Auth::Ah(*b"secret12"));
        assert_eq!(a.advertised, vec![Ipv4Addr::new(10, 0, 0, 100)]);
        assert_eq!(a.vips.len(), 2);
        assert_eq!(a.vips[0].addr.prefix_len, 24);
        assert_eq!(a.vips[0].addr.label.as_deref(), Some("eth0:1"));
        assert_eq!(a.fsm.source, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(a.fsm.auth, AuthKind::Ah);
        // Sync-group members lose their weights (kaconf), so both trackers are weight 0.
        assert_eq!(
            a.fsm.trackers.len(),
            2,
            "{:?} {:?}",
            a.fsm.trackers,
            plan.warnings
        );
        assert_eq!(a.fsm.trackers[0].initial, Some(TrackStatus::Down));
        assert_eq!(a.fsm.trackers[1].initial, None);
        let c = &plan.units[1].members[0];
        assert!(c.is_unicast());
        assert_eq!(c.fsm.source, Ipv4Addr::new(10, 0, 0, 9));
        assert_eq!(plan.scripts.len(), 1);
        assert_eq!(plan.scripts[0].fall, 3);
        assert_eq!(plan.scripts[0].interval, std::time::Duration::from_secs(2));
    }

    #[test]
    fn instance_without_source_runs_in_fault() {
        let plan = build_text(
            "vrrp_instance X { interface eth9\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 } }\n",
        );
        assert!(plan.errors.is_empty(), "{:?}", plan.errors);
        let x = &plan.units[0].members[0];
        assert!(x.source_missing);
        assert_eq!(x.fsm.source, Ipv4Addr::UNSPECIFIED);
        assert!(
            plan.warnings.iter().any(|w| w.contains("eth9")),
            "{:?}",
            plan.warnings
        );
    }

    #[test]
    fn notify_scripts_are_checked() {
        let plan = build_text(
            "vrrp_instance X { interface eth0\n virtual_router_id 1\n virtual_ipaddress { 10.0.0.1 }\n\
               notify_master \"/nonexistent/hook\"\n notify \"/bin/true a\" }\n",
        );
        let x = &plan.units[0].members[0];
        assert_eq!(x.notify().master, None);
        assert_eq!(
            x.notify().generic.as_ref().map(|j| j.argv.clone()),
            Some(vec!["/bin/true".to_string(), "a".to_string()])
        );
        assert!(
            plan.errors.iter().any(|e| e.contains("notify_master")),
            "{:?}",
            plan.errors
        );
        assert!(find_executable("sh").is_ok());
        assert!(find_executable("/etc/passwd").is_err());
    }

    #[test]
    fn registry_ids_are_stable() {
        let mut r = TrackRegistry::default();
        let a = r.id(TrackKey::Interface("eth1".into()));
        let b = r.id(TrackKey::Script("s".into()));
        assert_ne!(a, b);
        assert_eq!(r.id(TrackKey::Interface("eth1".into())), a);
        assert_eq!(r.key(b), Some(&TrackKey::Script("s".into())));
    }

    #[test]
    fn route_destinations_lose_their_host_bits() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(network(a("10.1.2.3"), 24), a("10.1.2.0"));
        assert_eq!(network(a("10.1.2.3"), 0), a("0.0.0.0"));
        assert_eq!(network(a("10.1.2.3"), 32), a("10.1.2.3"));
        assert_eq!(network(a("10.1.2.255"), 31), a("10.1.2.254"));
    }
}
