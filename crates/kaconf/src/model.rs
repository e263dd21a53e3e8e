//! The typed, validated configuration model. Every value is resolved: defaults applied,
//! global settings inherited, keepalived's fix-ups done. Times are microseconds.

use std::net::{IpAddr, Ipv4Addr};

/// One microsecond-based second, for converting the `*_us` fields.
pub const MICROS_PER_SECOND: u64 = 1_000_000;

/// The whole VRRP configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Config {
    /// `global_defs` with defaults applied.
    pub global: GlobalDefs,
    /// Valid `vrrp_instance` blocks, in file order (invalid ones are dropped with an error).
    pub instances: Vec<Instance>,
    /// Valid `vrrp_sync_group` blocks, members resolved.
    pub sync_groups: Vec<SyncGroup>,
    /// `vrrp_script` blocks, in file order.
    pub scripts: Vec<VrrpScript>,
    /// Top-level `track_file` blocks, in file order.
    pub track_files: Vec<TrackFile>,
}

impl Config {
    /// The instance called `name`, if any.
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }
    /// The sync group called `name`, if any.
    pub fn sync_group(&self, name: &str) -> Option<&SyncGroup> {
        self.sync_groups.iter().find(|g| g.name == name)
    }
    /// The `vrrp_script` called `name`, if any.
    pub fn script(&self, name: &str) -> Option<&VrrpScript> {
        self.scripts.iter().find(|s| s.name == name)
    }
    /// The top-level `track_file` called `name`, if any.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|t| t.name == name)
    }
}

/// Gratuitous-ARP timing, global (`vrrp_garp_*`) or resolved per instance (`garp_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GarpSettings {
    /// Delay before the second GARP burst after becoming master (0 = none). Default 5 s.
    pub master_delay_us: u64,
    /// GARPs per address in each burst at takeover. Default 5.
    pub master_repeat: u32,
    /// Period of refresh GARPs while master (0 = never). Default 0.
    pub master_refresh_us: u64,
    /// GARPs per address at each refresh. Default 1.
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after a lower-priority advert. Globally it defaults to the
    /// global master delay; an instance without its own value takes the global one.
    pub lower_prio_delay_us: u64,
    /// GARPs per address after a lower-priority advert (defaults like `lower_prio_delay_us`).
    pub lower_prio_repeat: u32,
    /// Spacing between successive GARPs on one interface (0 = back to back).
    pub interval_us: u64,
}

impl Default for GarpSettings {
    fn default() -> Self {
        Self {
            master_delay_us: 5 * MICROS_PER_SECOND,
            master_repeat: 5,
            master_refresh_us: 0,
            master_refresh_repeat: 1,
            lower_prio_delay_us: 5 * MICROS_PER_SECOND,
            lower_prio_repeat: 5,
            interval_us: 0,
        }
    }
}

/// A user and optional group to run scripts as (`script_user`, `user`, notify `username`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RunAs {
    /// User name (resolved to a uid at run time, not here).
    pub user: String,
    /// Group name; `None` means the user's primary group.
    pub group: Option<String>,
}

/// `lvs_sync_daemon IF [inst] VI [id N] [maxlen L] [port P] [ttl T] [group G]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LvsSyncDaemon {
    /// Interface the IPVS sync daemon multicasts on.
    pub interface: String,
    /// VRRP instance whose MASTER/non-MASTER role drives the daemon (None: both run).
    pub instance: Option<String>,
    /// Sync id; defaults to the driving instance's VRID (0 without an instance).
    pub sync_id: u8,
    /// Maximum sync message length; `None` = kernel default.
    pub max_len: Option<u16>,
    /// UDP port, default 8848.
    pub port: u16,
    /// Multicast TTL, default 1.
    pub ttl: u8,
    /// Multicast group, default 224.0.0.81.
    pub group: IpAddr,
}

/// `global_defs`, VRRP-relevant keys only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GlobalDefs {
    /// `router_id`; `None` means "use the host name" (decided at run time).
    pub router_id: Option<String>,
    /// `vrrp_mcast_group4`, default 224.0.0.18.
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_version`: always 2 (anything else is fatal: only VRRPv2 is implemented).
    pub vrrp_version: u8,
    /// `vrrp_garp_*` settings, defaults for every instance.
    pub garp: GarpSettings,
    /// `vrrp_lower_prio_no_advert`: a master does not answer a lower-priority advert.
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert`: a master yielding to a higher priority sends one more advert.
    pub higher_prio_send_advert: bool,
    /// `vrrp_check_unicast_src`: unicast adverts must come from a configured peer.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`: do not compare advert address lists with our own.
    pub skip_check_adv_addr: bool,
    /// `vrrp_startup_delay`: delay before instances start, in µs.
    pub startup_delay_us: u64,
    /// `vrrp_notify_fifo` (or `notify_fifo`, if only that is given): event FIFO path.
    pub notify_fifo: Option<String>,
    /// `script_user`: default user (and group) for scripts.
    pub script_user: Option<RunAs>,
    /// `enable_script_security`: refuse scripts writable by non-root users.
    pub enable_script_security: bool,
    /// `lvs_sync_daemon`: IPVS connection-sync daemon driven by one instance.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            router_id: None,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_version: 2,
            garp: GarpSettings::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            check_unicast_src: false,
            skip_check_adv_addr: false,
            startup_delay_us: 0,
            notify_fifo: None,
            script_user: None,
            enable_script_security: false,
            lvs_sync_daemon: None,
        }
    }
}

/// Initial state requested by `state` (keepalived's `wantstate` at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum InitialState {
    /// `state MASTER` (immediate only for the address owner, priority 255).
    Master,
    /// `state BACKUP` (also the fallback for invalid values).
    Backup,
}

/// Authentication type from `auth_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AuthKind {
    /// Simple text password carried in the advert (RFC 2338 type 1).
    Pass,
    /// IPsec AH with HMAC-MD5-96, keepalived style (type 2).
    Ah,
}

/// Resolved `authentication` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Auth {
    /// PASS or AH.
    pub kind: AuthKind,
    /// `auth_pass` truncated to 8 bytes and NUL-padded (the wire field / HMAC key).
    pub key: [u8; 8],
}

/// Address scope of a virtual address or route (`scope` keyword).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Scope {
    /// `global` (0), the default.
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other numeric scope.
    Other(u8),
}

impl Scope {
    /// The kernel's numeric value (`RT_SCOPE_*`).
    pub fn as_u8(self) -> u8 {
        match self {
            Scope::Global => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(value) => value,
        }
    }
    /// The scope for a numeric value, using names where they exist.
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => Scope::Global,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            other => Scope::Other(other),
        }
    }
}

/// One entry of `virtual_ipaddress` or `virtual_ipaddress_excluded`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VirtualAddress {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length; default 32 (IPv4) or 128 (IPv6).
    pub prefix_len: u8,
    /// Broadcast address (`brd X`, `brd +` computed, `brd -` = network address); IPv4 only.
    pub broadcast: Option<Ipv4Addr>,
    /// Interface; defaults to the instance's VMAC interface with `use_vmac`, else the
    /// instance's interface.
    pub dev: String,
    /// Scope; default global.
    pub scope: Scope,
    /// Address label (`label eth0:1`), fewer than 16 characters.
    pub label: Option<String>,
    /// `no_track`: deleting it externally does not make the master step down.
    pub no_track: bool,
    /// IPv6 only: the address is added deprecated (preferred_lft 0): a /128 without
    /// `preferred_lft forever`. IPv6 virtual addresses are always added with `nodad`.
    pub deprecated: bool,
}

/// Kind of a virtual route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum RouteKind {
    /// Ordinary unicast route.
    Unicast,
    /// `blackhole`.
    Blackhole,
    /// `unreachable`.
    Unreachable,
    /// `prohibit`.
    Prohibit,
}

/// One entry of `virtual_routes` (installed while master, protocol 18 "keepalived").
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VirtualRoute {
    /// Destination network address (`default` = 0.0.0.0/0).
    pub dst: IpAddr,
    /// Destination prefix length.
    pub prefix_len: u8,
    /// Preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// Gateway (`via` / `gw`).
    pub via: Option<IpAddr>,
    /// Output interface (`dev`).
    pub dev: Option<String>,
    /// Route scope, if given.
    pub scope: Option<Scope>,
    /// Routing table id (`table`); `None` = main.
    pub table: Option<u32>,
    /// Route metric / priority (`metric`).
    pub metric: Option<u32>,
    /// Unicast or a special route type.
    pub kind: RouteKind,
    /// `no_track`: external deletion does not affect the instance.
    pub no_track: bool,
}

/// `track_interface` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackedInterface {
    /// Interface name.
    pub name: String,
    /// −253..253; 0 = interface down puts the instance in FAULT.
    pub weight: i32,
    /// `reverse`: the weight applies while the interface is up.
    pub reverse: bool,
}

/// `track_script` entry (script resolved to a defined `vrrp_script`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackedScript {
    /// Name of the `vrrp_script`.
    pub name: String,
    /// Weight (defaults to the script's weight); 0 = failure puts the instance in FAULT.
    pub weight: i32,
    /// `reverse`: the sense of success and failure is inverted.
    pub reverse: bool,
}

/// `track_file` entry of an instance or group (file resolved to a top-level `track_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackedFile {
    /// Name of the top-level `track_file` block.
    pub name: String,
    /// Multiplier of the file's value (defaults to the block's weight); 0 = non-zero ⇒ FAULT.
    pub weight: i32,
    /// `reverse`: the value is negated.
    pub reverse: bool,
}

/// Trackers of an instance or a sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Trackers {
    /// `track_interface { … }`.
    pub interfaces: Vec<TrackedInterface>,
    /// `track_script { … }`.
    pub scripts: Vec<TrackedScript>,
    /// `track_file { … }`.
    pub files: Vec<TrackedFile>,
}

/// A notify command: argv from the shell-style split of the configured string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NotifyScript {
    /// Program and arguments (never run through a shell).
    pub argv: Vec<String>,
    /// Optional `username [:][group]` after the command; `None` = `script_user`.
    pub run_as: Option<RunAs>,
}

/// Notification commands of an instance or a sync group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<NotifyScript>,
    /// `notify_backup`.
    pub backup: Option<NotifyScript>,
    /// `notify_fault`.
    pub fault: Option<NotifyScript>,
    /// `notify_stop`.
    pub stop: Option<NotifyScript>,
    /// Generic `notify`: run with `INSTANCE|GROUP NAME STATE PRIORITY` appended.
    pub generic: Option<NotifyScript>,
}

/// One configured unicast peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UnicastPeer {
    /// Peer address.
    pub addr: Ipv4Addr,
    /// Lowest TTL accepted from this peer (default 0).
    pub min_ttl: u8,
    /// Highest TTL accepted from this peer (default 255).
    pub max_ttl: u8,
}

/// A resolved `vrrp_instance` (always IPv4 / VRRPv2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Instance {
    /// Instance name (`vrrp_instance NAME`).
    pub name: String,
    /// Requested initial state after fix-ups (AH + non-owner MASTER ⇒ BACKUP, …).
    pub initial_state: InitialState,
    /// Interface the instance runs on.
    pub interface: String,
    /// Virtual router id, 1..255.
    pub vrid: u8,
    /// Base priority 1..255 (255 = address owner); default 255 for `state MASTER`, else 100.
    pub priority: u8,
    /// Advertisement interval in µs (whole seconds for VRRPv2, 1..255 s).
    pub advert_int_us: u64,
    /// Preemption enabled (false with `nopreempt`).
    pub preempt: bool,
    /// `preempt_delay` in µs (0 = none).
    pub preempt_delay_us: u64,
    /// Authentication, if configured.
    pub auth: Option<Auth>,
    /// Virtual addresses carried in adverts (at most 255, same family as the instance).
    pub vips: Vec<VirtualAddress>,
    /// Excluded virtual addresses: added while master but not advertised (any family).
    pub excluded_vips: Vec<VirtualAddress>,
    /// Virtual routes installed while master.
    pub virtual_routes: Vec<VirtualRoute>,
    /// Interface, script and file trackers (weights already cleared for sync members/owners).
    pub track: Trackers,
    /// GARP settings: instance `garp_*` values over the global `vrrp_garp_*` ones.
    pub garp: GarpSettings,
    /// `lower_prio_no_advert` (instance, else global).
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert` (instance, else global).
    pub higher_prio_send_advert: bool,
    /// Configured source address (`unicast_src_ip` or `mcast_src_ip`); `None` = the
    /// interface's primary address.
    pub source_addr: Option<Ipv4Addr>,
    /// Unicast peers; non-empty means adverts are unicast to each peer.
    pub unicast_peers: Vec<UnicastPeer>,
    /// TTL of unicast adverts, default 255.
    pub unicast_ttl: u8,
    /// Check unicast adverts' sources against the peer list (instance or global setting).
    pub check_unicast_src: bool,
    /// Skip the advert address-list check (instance or global setting).
    pub skip_check_adv_addr: bool,
    /// `use_vmac [NAME]`: macvlan interface name (default `vrrp.<VRID>`).
    pub vmac: Option<String>,
    /// `vmac_xmit_base`: send/receive adverts on the parent interface.
    pub vmac_xmit_base: bool,
    /// `dont_track_primary`: the instance's own interface going down is not a fault.
    pub dont_track_primary: bool,
    /// `down_timer_adverts` 1..100, default 3.
    pub down_timer_adverts: u8,
    /// Notification commands.
    pub notify: Notify,
    /// `smtp_alert` (mail on state change), default off.
    pub smtp_alert: bool,
    /// Name of the sync group this instance belongs to, if any.
    pub sync_group: Option<String>,
}

impl Instance {
    /// True if adverts are sent by unicast (at least one peer configured).
    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
    /// True if this router owns the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }
}

/// A resolved `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SyncGroup {
    /// Group name.
    pub name: String,
    /// Member instance names (all exist; each instance is in at most one group).
    pub members: Vec<String>,
    /// Initial group state: MASTER only if every member is an owner with `state MASTER`.
    pub initial_state: InitialState,
    /// Group notification commands.
    pub notify: Notify,
    /// `smtp_alert` for the group.
    pub smtp_alert: bool,
    /// Group-level trackers, applied to every member (weights cleared unless
    /// `sync_group_tracking_weight`).
    pub track: Trackers,
    /// `sync_group_tracking_weight`: keep weights on group trackers.
    pub tracking_weight: bool,
}

/// A `vrrp_script` block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VrrpScript {
    /// Script name used by `track_script`.
    pub name: String,
    /// Command argv (shell-style split of `script`).
    pub argv: Vec<String>,
    /// Run period in µs, default 1 s.
    pub interval_us: u64,
    /// Time limit in µs; defaults to the interval.
    pub timeout_us: u64,
    /// Default tracking weight −253..253, default 0 (failure ⇒ FAULT).
    pub weight: i32,
    /// `weight W reverse`: invert the weight's sense.
    pub reverse: bool,
    /// Successes needed to become OK, default 1.
    pub rise: u32,
    /// Failures needed to become failed, default 1.
    pub fall: u32,
    /// `user NAME [GROUP]`, else `script_user`.
    pub run_as: Option<RunAs>,
    /// `init_fail`: start in the failed state.
    pub init_fail: bool,
}

/// `init_file [VALUE] [overwrite]` of a `track_file` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InitFile {
    /// Value written when the file is created (default 0).
    pub value: i64,
    /// Overwrite an existing file at start-up too.
    pub overwrite: bool,
}

/// A top-level `track_file NAME { … }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TrackFile {
    /// Name used by `track_file { NAME }` in instances and groups.
    pub name: String,
    /// Path of the watched file.
    pub path: String,
    /// Default weight, default 1.
    pub weight: i32,
    /// `weight W reverse`: negate the value.
    pub reverse: bool,
    /// Create (or overwrite) the file at start-up.
    pub init_file: Option<InitFile>,
}
