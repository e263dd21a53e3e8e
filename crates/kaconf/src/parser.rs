//! Syntax pass: logical lines → raw (unresolved) blocks, reporting unknown keywords,
//! brace problems and invalid values with their positions.

use std::net::{IpAddr, Ipv4Addr};

use crate::diag::{Pos, Reporter};
use crate::lexer::{Line, Token};
use crate::model::{
    AuthKind, InitFile, InitialState, MICROS_PER_SECOND, Notify, NotifyScript, RouteKind, RunAs,
    Scope, TrackFile, TrackedFile, TrackedInterface, TrackedScript, VirtualRoute, VrrpScript,
};
use crate::script::{SplitError, split_command};
use crate::values::{
    IntError, TimerError, parse_bool, parse_int, parse_prefix, parse_scope, parse_timer,
};

/// Longest address label the kernel accepts (IFNAMSIZ - 1).
const MAX_LABEL_LEN: usize = 15;

/// Smallest `advert_int` keepalived accepts (10 ms), in µs.
const MIN_ADVERT_INT_US: u64 = 10_000;

/// Largest timer accepted anywhere (seconds); keeps µs arithmetic far from overflow.
const MAX_TIMER_SECS: u64 = u32::MAX as u64;

/// Top-level keywords that are keepalived's but outside this crate's VRRP subset.
const UNSUPPORTED_TOP: &[&str] = &[
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "vrrp_track_process",
    "garp_group",
    "interface_up_down_delays",
    "linkbeat_use_polling",
    "linkbeat_interfaces",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "child_wait_time",
    "bfd_instance",
    "vrrp_static_track_group",
    "track_group",
];

/// `global_defs` keywords that are keepalived's but not implemented here.
const UNSUPPORTED_GLOBAL: &[&str] = &[
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_connect_timeout",
    "smtp_helo_name",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "no_email_faults",
    "vrrp_strict",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_counters",
    "vrrp_mcast_group6",
    "vrrp_gna_interval",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_down_timer_adverts",
    "vrrp_owner_ignore_adverts",
    "vrrp_delay_after_boot",
    "vrrp_notify_fifo_script",
    "notify_fifo_script",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "dynamic_interfaces",
    "log_unknown_vrids",
    "vmac_prefix",
    "vmac_addr_prefix",
    "state_dump_file",
    "stats_dump_file",
    "json_dump_file",
    "json_version",
    "data_use_instance",
    "reload_check_config",
    "reload_file",
    "reload_time_file",
    "reload_repeat",
    "enable_dbus",
    "dbus_service_name",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_checker",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_traps",
    "snmp_socket",
    "lvs_id",
    "lvs_timeouts",
    "lvs_flush",
    "lvs_flush_on_stop",
    "default_interface",
    "max_auto_priority",
    "min_auto_priority_delay",
    "vrrp_priority",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_no_swap",
    "vrrp_rlimit_rttime",
    "checker_priority",
    "checker_rt_priority",
    "checker_no_swap",
    "bfd_priority",
    "bfd_rt_priority",
    "bfd_no_swap",
    "umask",
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "bfd_process_name",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "vrrp_socket_rcv_buf",
    "vrrp_socket_rcv_buf_force",
    "vrrp_startup_delay_after_boot",
    "vrrp_track_process_delay",
    "vrrp_garp_lower_prio_no_advert",
    "random_seed",
    "tmp_config_directory",
    "config_save_dir",
    "disable_local_igmp",
    "vrrp_check_unicast_src_ttl",
    "script_security",
    "notify_fifo_user",
    "vrrp_notify_fifo_user",
];

/// `vrrp_instance` keywords that are keepalived's but not implemented here.
const UNSUPPORTED_INSTANCE: &[&str] = &[
    "native_ipv6",
    "mcast_dst_ip",
    "accept",
    "no_accept",
    "strict_mode",
    "virtual_rules",
    "track_process",
    "track_bfd",
    "track_src_ip",
    "debug",
    "notify_deleted",
    "notify_master_rx_lower_pri",
    "use_vmac_addr",
    "use_ipvlan",
    "unicast_fault_no_peer",
    "kernel_rx_buf_size",
    "garp_extra_if",
    "promote_secondaries",
    "linkbeat_use_polling",
    "notify_priority_changes",
    "timer_expired_backup",
    "lvs_sync_daemon_interface",
    "gna_interval",
    "no_track_src_ip",
    "old_unicast_checksum",
];

/// `vrrp_sync_group` keywords that are keepalived's but not implemented here.
const UNSUPPORTED_GROUP: &[&str] = &[
    "track_process",
    "track_bfd",
    "notify_deleted",
    "global_tracking",
];

/// Broadcast specification of a virtual address before resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Brd {
    None,
    Addr(Ipv4Addr),
    /// `brd +`: computed broadcast.
    Plus,
    /// `brd -`: the network address.
    Minus,
}

/// A virtual address as written, before defaults and checks.
#[derive(Debug, Clone)]
pub(crate) struct RawVip {
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub brd: Brd,
    pub dev: Option<String>,
    pub scope: Scope,
    pub label: Option<String>,
    pub no_track: bool,
    pub preferred_forever: bool,
    pub pos: Pos,
}

/// GARP settings as written (unset = inherit).
#[derive(Debug, Clone, Default)]
pub(crate) struct RawGarp {
    pub master_delay_us: Option<u64>,
    pub master_repeat: Option<u32>,
    pub master_refresh_us: Option<u64>,
    pub master_refresh_repeat: Option<u32>,
    pub lower_prio_delay_us: Option<u64>,
    pub lower_prio_repeat: Option<u32>,
    pub interval_us: Option<u64>,
}

/// Trackers as written, each with its position.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawTrackers {
    pub interfaces: Vec<(TrackedInterface, Pos)>,
    pub scripts: Vec<(TrackedScript, Pos)>,
    pub files: Vec<(TrackedFile, Pos)>,
}

/// A `vrrp_instance` as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawInstance {
    pub name: String,
    pub name_pos: Pos,
    pub state: Option<(InitialState, Pos)>,
    pub interface: Option<(String, Pos)>,
    pub vrid: Option<u8>,
    pub priority: Option<(u8, Pos)>,
    pub advert_int: Option<(u64, Pos)>,
    pub nopreempt: Option<Pos>,
    pub preempt_delay: Option<(u64, Pos)>,
    pub auth_type: Option<(AuthKind, Pos)>,
    pub auth_pass: Option<([u8; 8], Pos)>,
    pub vips: Vec<RawVip>,
    pub excluded_vips: Vec<RawVip>,
    pub routes: Vec<VirtualRoute>,
    pub track: RawTrackers,
    pub garp: RawGarp,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub source_addr: Option<Ipv4Addr>,
    pub unicast_peers: Vec<(crate::model::UnicastPeer, Pos)>,
    pub unicast_ttl: Option<u8>,
    pub check_unicast_src: Option<bool>,
    pub skip_check_adv_addr: Option<bool>,
    pub vmac: Option<(Option<String>, Pos)>,
    pub vmac_xmit_base: bool,
    pub dont_track_primary: bool,
    pub down_timer_adverts: Option<u8>,
    pub notify: Notify,
    pub smtp_alert: bool,
}

/// A `vrrp_sync_group` as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawSyncGroup {
    pub name: String,
    pub name_pos: Pos,
    pub members: Vec<(String, Pos)>,
    pub notify: Notify,
    pub smtp_alert: bool,
    pub track: RawTrackers,
    pub tracking_weight: bool,
}

/// `lvs_sync_daemon` as written.
#[derive(Debug, Clone)]
pub(crate) struct RawLvs {
    pub interface: String,
    pub instance: Option<(String, Pos)>,
    pub sync_id: Option<u8>,
    pub max_len: Option<u16>,
    pub port: u16,
    pub ttl: u8,
    pub group: IpAddr,
}

/// `global_defs` as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawGlobal {
    pub router_id: Option<String>,
    pub mcast_group4: Option<Ipv4Addr>,
    pub garp: RawGarp,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub check_unicast_src: bool,
    pub skip_check_adv_addr: bool,
    pub startup_delay_us: u64,
    pub vrrp_notify_fifo: Option<String>,
    pub notify_fifo: Option<String>,
    pub script_user: Option<RunAs>,
    pub enable_script_security: bool,
    pub lvs_sync_daemon: Option<RawLvs>,
}

/// Everything the syntax pass produced.
#[derive(Debug, Default)]
pub(crate) struct RawConfig {
    pub global: RawGlobal,
    pub instances: Vec<RawInstance>,
    pub groups: Vec<RawSyncGroup>,
    pub scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
}

/// Which kind of tracker block is being read (they differ in name resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrackKind {
    Interface,
    Script,
    File,
}

/// The syntax pass over the lexed lines.
pub(crate) struct Parser<'r> {
    lines: std::vec::IntoIter<Line>,
    peeked: Option<Line>,
    rep: &'r mut Reporter,
    raw: RawConfig,
}

impl<'r> Parser<'r> {
    pub fn new(lines: Vec<Line>, rep: &'r mut Reporter) -> Self {
        Self {
            lines: lines.into_iter(),
            peeked: None,
            rep,
            raw: RawConfig::default(),
        }
    }

    fn next_line(&mut self) -> Option<Line> {
        self.peeked.take().or_else(|| self.lines.next())
    }

    fn peek_is_open(&mut self) -> bool {
        if self.peeked.is_none() {
            self.peeked = self.lines.next();
        }
        self.peeked.as_ref().is_some_and(|l| l.is_brace('{'))
    }

    /// Runs the pass and returns the raw configuration.
    pub fn run(mut self) -> RawConfig {
        while let Some(line) = self.next_line() {
            self.top_level(&line);
        }
        self.raw
    }

    fn top_level(&mut self, line: &Line) {
        let kw = line.keyword();
        match kw.text.as_str() {
            _ if line.is_brace('}') => self.rep.error(kw.pos, "Extra '}' found"),
            _ if line.is_brace('{') => self.unexpected_block(kw.pos),
            "global_defs" => {
                let mut global = std::mem::take(&mut self.raw.global);
                self.block(kw, |p, l| p.global_item(&mut global, l));
                self.raw.global = global;
            }
            "vrrp_instance" => self.instance(line),
            "vrrp_sync_group" => self.sync_group(line),
            "vrrp_script" => self.vrrp_script(line),
            "track_file" => self.track_file_block(line),
            other if UNSUPPORTED_TOP.contains(&other) => self.unsupported(kw),
            _ => self.unknown(kw),
        }
    }

    // ----- generic block handling -------------------------------------------------------

    /// Reads the body of a block whose keyword line was just consumed; `item` gets each line.
    fn block(&mut self, opener: &Token, mut item: impl FnMut(&mut Self, &Line)) {
        if self.peek_is_open() {
            self.next_line();
        } else {
            // keepalived reads the block anyway; it reports where the '{' was expected.
            let pos = self.peeked.as_ref().map_or(opener.pos, |l| l.keyword().pos);
            self.rep
                .error(pos, "Missing '{' at beginning of configuration block");
        }
        loop {
            let Some(line) = self.next_line() else {
                self.rep.error(
                    opener.pos,
                    format!(
                        "Missing '}}' at end of configuration block '{}'",
                        opener.text
                    ),
                );
                return;
            };
            if line.is_brace('}') {
                return;
            }
            if line.is_brace('{') {
                self.unexpected_block(line.keyword().pos);
                continue;
            }
            item(self, &line);
        }
    }

    /// A `{` where none belongs: keepalived's diagnostic, then the whole block is skipped.
    fn unexpected_block(&mut self, pos: Pos) {
        self.rep.error(pos, "Unexpected '{' - ignoring");
        self.skip_block_body();
    }

    /// Skips lines up to the `}` matching an already consumed `{`.
    fn skip_block_body(&mut self) {
        let mut depth = 1usize;
        while let Some(line) = self.next_line() {
            if line.is_brace('{') {
                depth += 1;
            } else if line.is_brace('}') {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
        }
    }

    fn unknown(&mut self, kw: &Token) {
        self.rep
            .error(kw.pos, format!("Unknown keyword '{}'", kw.text));
    }

    /// A keepalived keyword this crate does not implement: warn and skip any block.
    fn unsupported(&mut self, kw: &Token) {
        self.rep.warning(
            kw.pos,
            format!(
                "'{}' is not supported by this implementation - ignoring",
                kw.text
            ),
        );
        if self.peek_is_open() {
            self.next_line();
            self.skip_block_body();
        }
    }

    // ----- value helpers -----------------------------------------------------------------

    fn arg<'l>(&mut self, line: &'l Line, index: usize) -> Option<&'l Token> {
        let token = line.tokens.get(index);
        if token.is_none() {
            let kw = line.keyword();
            self.rep.error(
                kw.pos,
                format!(
                    "Configuration line starting `{0}` is missing a parameter after keyword `{0}` at word position {1}",
                    kw.text,
                    index + 1
                ),
            );
        }
        token
    }

    /// The value of a single-valued keyword. Extra words are accepted, as keepalived does,
    /// with a warning at the first one.
    fn single_arg<'l>(&mut self, line: &'l Line) -> Option<&'l Token> {
        if let Some(extra) = line.tokens.get(2) {
            self.rep.warning(
                extra.pos,
                format!(
                    "extra argument(s) ignored after '{}': '{}'",
                    line.keyword().text,
                    extra.text
                ),
            );
        }
        self.arg(line, 1)
    }

    fn int(&mut self, token: &Token, min: i64, max: i64) -> Option<i64> {
        match parse_int(&token.text, min, max) {
            Ok(value) => Some(value),
            Err(IntError::Invalid) => {
                self.rep
                    .error(token.pos, format!("invalid number '{}'", token.text));
                None
            }
            Err(IntError::OutOfRange) => {
                self.rep.error(
                    token.pos,
                    format!("number '{}' outside range [{min}, {max}]", token.text),
                );
                None
            }
        }
    }

    fn int_arg(&mut self, line: &Line, min: i64, max: i64) -> Option<i64> {
        let token = self.single_arg(line)?;
        self.int(token, min, max)
    }

    fn u32_arg(&mut self, line: &Line, min: u32, max: u32) -> Option<u32> {
        self.int_arg(line, i64::from(min), i64::from(max))
            .and_then(|v| u32::try_from(v).ok())
    }

    fn u8_arg(&mut self, line: &Line, min: u8, max: u8) -> Option<u8> {
        self.int_arg(line, i64::from(min), i64::from(max))
            .and_then(|v| u8::try_from(v).ok())
    }

    fn timer(&mut self, token: &Token, max_secs: u64) -> Option<u64> {
        match parse_timer(&token.text, max_secs) {
            Ok(value) => Some(value),
            Err(TimerError::Invalid) => {
                self.rep.error(
                    token.pos,
                    format!(
                        "invalid timer value '{}' (seconds, up to 6 decimals)",
                        token.text
                    ),
                );
                None
            }
            Err(TimerError::OutOfRange) => {
                self.rep.error(
                    token.pos,
                    format!("timer value '{}' outside range [0, {max_secs}]", token.text),
                );
                None
            }
        }
    }

    fn timer_arg(&mut self, line: &Line) -> Option<u64> {
        let token = self.single_arg(line)?;
        self.timer(token, MAX_TIMER_SECS)
    }

    /// A flag keyword with an optional `<BOOL>` (bare keyword = true).
    fn flag(&mut self, line: &Line) -> Option<bool> {
        let Some(token) = line.tokens.get(1) else {
            return Some(true);
        };
        let value = parse_bool(&token.text);
        if value.is_none() {
            self.rep.error(
                token.pos,
                format!(
                    "invalid boolean '{}' (expected on|off|true|false|yes|no)",
                    token.text
                ),
            );
        }
        value
    }

    fn string_arg(&mut self, line: &Line) -> Option<String> {
        self.arg(line, 1).map(|t| t.text.clone())
    }

    fn ipv4(&mut self, token: &Token) -> Option<Ipv4Addr> {
        let parsed = token.text.parse::<Ipv4Addr>().ok();
        if parsed.is_none() {
            self.rep
                .error(token.pos, format!("invalid IPv4 address '{}'", token.text));
        }
        parsed
    }

    fn ip(&mut self, token: &Token) -> Option<IpAddr> {
        let parsed = token.text.parse::<IpAddr>().ok();
        if parsed.is_none() {
            self.rep
                .error(token.pos, format!("invalid IP address '{}'", token.text));
        }
        parsed
    }

    /// `KEYWORD "command args" [user [:][group]]` → argv and run-as.
    fn notify_script(&mut self, line: &Line) -> Option<NotifyScript> {
        let command = self.arg(line, 1)?;
        let argv = match split_command(&command.text) {
            Ok(argv) => argv,
            Err(SplitError::Empty) => {
                self.rep
                    .error(command.pos, "empty script command - ignoring");
                return None;
            }
            Err(SplitError::UnterminatedQuote(quote)) => {
                self.rep.error(
                    command.pos,
                    format!("unterminated {quote} in script command - ignoring"),
                );
                return None;
            }
        };
        Some(NotifyScript {
            argv,
            run_as: run_as(&line.tokens[2.min(line.tokens.len())..]),
        })
    }

    fn notify_item(&mut self, notify: &mut Notify, line: &Line) -> bool {
        let slot = match line.keyword().text.as_str() {
            "notify_master" => &mut notify.master,
            "notify_backup" => &mut notify.backup,
            "notify_fault" => &mut notify.fault,
            "notify_stop" => &mut notify.stop,
            "notify" => &mut notify.generic,
            _ => return false,
        };
        if let Some(script) = self.notify_script(line) {
            *slot = Some(script);
        }
        true
    }

    // ----- global_defs ---------------------------------------------------------------------

    fn garp_item(&mut self, garp: &mut RawGarp, name: &str, line: &Line) -> bool {
        match name {
            "garp_master_delay" => garp.master_delay_us = self.timer_arg(line),
            "garp_master_repeat" => garp.master_repeat = self.u32_arg(line, 1, 65535),
            "garp_master_refresh" => garp.master_refresh_us = self.timer_arg(line),
            "garp_master_refresh_repeat" => {
                garp.master_refresh_repeat = self.u32_arg(line, 1, 65535)
            }
            "garp_lower_prio_delay" => garp.lower_prio_delay_us = self.timer_arg(line),
            "garp_lower_prio_repeat" => garp.lower_prio_repeat = self.u32_arg(line, 1, 65535),
            "garp_interval" => garp.interval_us = self.timer_arg(line),
            _ => return false,
        }
        true
    }

    fn global_item(&mut self, global: &mut RawGlobal, line: &Line) {
        let kw = line.keyword();
        let name = kw.text.as_str();
        if let Some(garp_name) = name.strip_prefix("vrrp_")
            && garp_name.starts_with("garp_")
            && self.garp_item(&mut global.garp, garp_name, line)
        {
            return;
        }
        match name {
            "router_id" => global.router_id = self.single_arg(line).map(|t| t.text.clone()),
            "vrrp_mcast_group4" => {
                if let Some(token) = self.arg(line, 1)
                    && let Some(addr) = self.ipv4(token)
                {
                    if addr.is_multicast() {
                        global.mcast_group4 = Some(addr);
                    } else {
                        self.rep.error(
                            token.pos,
                            format!(
                                "vrrp_mcast_group4 '{addr}' is not a multicast address - ignoring"
                            ),
                        );
                    }
                }
            }
            "vrrp_version" => self.version(line),
            "vrrp_lower_prio_no_advert" => set(&mut global.lower_prio_no_advert, self.flag(line)),
            "vrrp_higher_prio_send_advert" => {
                set(&mut global.higher_prio_send_advert, self.flag(line))
            }
            "vrrp_check_unicast_src" => set(&mut global.check_unicast_src, self.flag(line)),
            "vrrp_skip_check_adv_addr" => set(&mut global.skip_check_adv_addr, self.flag(line)),
            "vrrp_startup_delay" => {
                if let Some(token) = self.arg(line, 1)
                    && let Some(value) = self.timer(token, 3600)
                {
                    global.startup_delay_us = value;
                }
            }
            "vrrp_notify_fifo" => global.vrrp_notify_fifo = self.string_arg(line),
            "notify_fifo" => global.notify_fifo = self.string_arg(line),
            "script_user" => {
                global.script_user = run_as(&line.tokens[1..]);
                if global.script_user.is_none() {
                    self.arg(line, 1);
                }
            }
            "enable_script_security" => set(&mut global.enable_script_security, self.flag(line)),
            "lvs_sync_daemon" => global.lvs_sync_daemon = self.lvs_sync_daemon(line),
            other if UNSUPPORTED_GLOBAL.contains(&other) => self.unsupported(kw),
            _ => self.unknown(kw),
        }
    }

    /// `vrrp_version` / instance `version`: only VRRPv2 is implemented.
    fn version(&mut self, line: &Line) {
        let Some(token) = self.arg(line, 1) else {
            return;
        };
        if self.int(token, 2, 3) == Some(3) {
            self.rep.fatal(
                token.pos,
                "VRRP version 3 is not supported by this implementation (only version 2)",
            );
        }
    }

    fn lvs_sync_daemon(&mut self, line: &Line) -> Option<RawLvs> {
        let interface = self.arg(line, 1)?.text.clone();
        let mut lvs = RawLvs {
            interface,
            instance: None,
            sync_id: None,
            max_len: None,
            port: 8848,
            ttl: 1,
            group: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81)),
        };
        let mut index = 2;
        while let Some(token) = line.tokens.get(index) {
            let value = line.tokens.get(index + 1);
            let needs_value = matches!(
                token.text.as_str(),
                "inst" | "id" | "maxlen" | "port" | "ttl" | "group"
            );
            if needs_value && value.is_none() {
                self.rep.error(
                    token.pos,
                    format!("lvs_sync_daemon: missing value for '{}'", token.text),
                );
                break;
            }
            match (token.text.as_str(), value) {
                ("inst", Some(v)) => lvs.instance = Some((v.text.clone(), v.pos)),
                ("id", Some(v)) => {
                    lvs.sync_id = self.int(v, 0, 255).and_then(|n| u8::try_from(n).ok())
                }
                ("maxlen", Some(v)) => {
                    lvs.max_len = self
                        .int(v, 1, 65535 - 20 - 8)
                        .and_then(|n| u16::try_from(n).ok())
                }
                ("port", Some(v)) => {
                    if let Some(port) = self.int(v, 1, 65535).and_then(|n| u16::try_from(n).ok()) {
                        lvs.port = port;
                    }
                }
                ("ttl", Some(v)) => {
                    if let Some(ttl) = self.int(v, 1, 255).and_then(|n| u8::try_from(n).ok()) {
                        lvs.ttl = ttl;
                    }
                }
                ("group", Some(v)) => {
                    if let Some(group) = self.ip(v) {
                        lvs.group = group;
                    }
                }
                (name, _) if lvs.instance.is_none() && index == 2 => {
                    lvs.instance = Some((name.to_owned(), token.pos));
                    index += 1;
                    continue;
                }
                _ => {
                    self.rep.error(
                        token.pos,
                        format!("Unknown lvs_sync_daemon option '{}' - ignoring", token.text),
                    );
                    index += 1;
                    continue;
                }
            }
            index += 2;
        }
        Some(lvs)
    }

    // ----- vrrp_instance -------------------------------------------------------------------

    fn block_name(&mut self, line: &Line) -> Option<(String, Pos)> {
        let kw = line.keyword();
        match line.tokens.get(1) {
            Some(name) => Some((name.text.clone(), name.pos)),
            None => {
                self.rep.error(
                    kw.pos,
                    format!("'{}' requires a name - ignoring block", kw.text),
                );
                if self.peek_is_open() {
                    self.next_line();
                    self.skip_block_body();
                }
                None
            }
        }
    }

    fn instance(&mut self, line: &Line) {
        let Some((name, name_pos)) = self.block_name(line) else {
            return;
        };
        let mut inst = RawInstance {
            name,
            name_pos,
            ..RawInstance::default()
        };
        self.block(line.keyword(), |p, l| p.instance_item(&mut inst, l));
        self.raw.instances.push(inst);
    }

    fn instance_item(&mut self, inst: &mut RawInstance, line: &Line) {
        let kw = line.keyword();
        let name = kw.text.as_str();
        if self.garp_item(&mut inst.garp, name, line) || self.notify_item(&mut inst.notify, line) {
            return;
        }
        let iname = inst.name.clone();
        match name {
            "state" => {
                if let Some(token) = self.single_arg(line) {
                    let state = match token.text.as_str() {
                        "MASTER" => InitialState::Master,
                        "BACKUP" => InitialState::Backup,
                        other => {
                            self.rep.error(
                                token.pos,
                                format!("({iname}) unknown state '{other}', defaulting to BACKUP"),
                            );
                            InitialState::Backup
                        }
                    };
                    inst.state = Some((state, token.pos));
                }
            }
            "interface" => {
                if let Some(token) = self.single_arg(line) {
                    if token.text.is_empty() || token.text.len() >= 16 {
                        self.rep.error(
                            token.pos,
                            format!(
                                "({iname}) invalid interface name '{}' - ignoring",
                                token.text
                            ),
                        );
                    } else {
                        inst.interface = Some((token.text.clone(), token.pos));
                    }
                }
            }
            "virtual_router_id" => {
                if let Some(token) = self.single_arg(line) {
                    match self.int(token, 1, 255) {
                        Some(vrid) => inst.vrid = u8::try_from(vrid).ok(),
                        None => self.rep.error(
                            token.pos,
                            format!(
                                "({iname}): VRID '{}' not valid - must be between 1 & 255",
                                token.text
                            ),
                        ),
                    }
                }
            }
            "priority" => {
                if let Some(token) = self.single_arg(line) {
                    match self.int(token, 1, 255) {
                        Some(prio) => {
                            inst.priority = u8::try_from(prio).ok().map(|p| (p, token.pos))
                        }
                        None => self.rep.error(
                            token.pos,
                            format!("({iname}) Priority not valid! must be between 1 & 255. Using default 100"),
                        ),
                    }
                }
            }
            "advert_int" => {
                if let Some(token) = self.single_arg(line) {
                    match parse_timer(&token.text, 255) {
                        Ok(value) if value >= MIN_ADVERT_INT_US => {
                            inst.advert_int = Some((value, token.pos));
                        }
                        _ => {
                            self.rep.error(
                                token.pos,
                                format!(
                                    "number '{}' outside range [0.010000, 255.000000]",
                                    token.text
                                ),
                            );
                            self.rep.error(
                                token.pos,
                                format!("({iname}) Advert interval ({}) not valid! Must be > 0 - ignoring", token.text),
                            );
                        }
                    }
                }
            }
            "version" => self.version(line),
            "nopreempt" => inst.nopreempt = Some(kw.pos),
            "preempt" => inst.nopreempt = None,
            "preempt_delay" => {
                if let Some(token) = self.arg(line, 1)
                    && let Some(value) = self.timer(token, 1000)
                {
                    inst.preempt_delay = Some((value, token.pos));
                }
            }
            "authentication" => {
                self.block(kw, |p, l| p.auth_item(inst, l));
            }
            "virtual_ipaddress" => {
                let mut vips = std::mem::take(&mut inst.vips);
                self.block(kw, |p, l| {
                    if let Some(vip) = p.vip(&iname, l) {
                        vips.push(vip);
                    }
                });
                inst.vips = vips;
            }
            "virtual_ipaddress_excluded" => {
                let mut vips = std::mem::take(&mut inst.excluded_vips);
                self.block(kw, |p, l| {
                    if let Some(vip) = p.vip(&iname, l) {
                        vips.push(vip);
                    }
                });
                inst.excluded_vips = vips;
            }
            "virtual_routes" => {
                let mut routes = std::mem::take(&mut inst.routes);
                self.block(kw, |p, l| {
                    if let Some(route) = p.route(&iname, l) {
                        routes.push(route);
                    }
                });
                inst.routes = routes;
            }
            "track_interface" => {
                self.track_block(&iname, kw, TrackKind::Interface, &mut inst.track)
            }
            "track_script" => self.track_block(&iname, kw, TrackKind::Script, &mut inst.track),
            "track_file" => self.track_block(&iname, kw, TrackKind::File, &mut inst.track),
            "lower_prio_no_advert" => inst.lower_prio_no_advert = self.flag(line),
            "higher_prio_send_advert" => inst.higher_prio_send_advert = self.flag(line),
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(token) = self.arg(line, 1) {
                    match token.text.parse::<IpAddr>() {
                        Ok(IpAddr::V4(addr)) => inst.source_addr = Some(addr),
                        Ok(IpAddr::V6(_)) => self.rep.error(
                            token.pos,
                            format!("({iname}) {name} {} is IPv6 - VRRPv2 instances are IPv4 only - ignoring", token.text),
                        ),
                        Err(_) => {
                            self.rep
                                .error(token.pos, format!("({iname}) invalid {name} '{}' - ignoring", token.text))
                        }
                    }
                }
            }
            "unicast_peer" => {
                let mut peers = std::mem::take(&mut inst.unicast_peers);
                self.block(kw, |p, l| {
                    if let Some(peer) = p.unicast_peer(&iname, l) {
                        peers.push(peer);
                    }
                });
                inst.unicast_peers = peers;
            }
            "unicast_ttl" => inst.unicast_ttl = self.u8_arg(line, 1, 255).or(inst.unicast_ttl),
            "check_unicast_src" => inst.check_unicast_src = self.flag(line),
            "skip_check_adv_addr" => inst.skip_check_adv_addr = self.flag(line),
            "use_vmac" => {
                let vmac_name = line.tokens.get(1).map(|t| t.text.clone());
                inst.vmac = Some((vmac_name, kw.pos));
            }
            "vmac_xmit_base" => set(&mut inst.vmac_xmit_base, self.flag(line)),
            "dont_track_primary" => set(&mut inst.dont_track_primary, self.flag(line)),
            "down_timer_adverts" => {
                inst.down_timer_adverts = self.u8_arg(line, 1, 100).or(inst.down_timer_adverts)
            }
            "smtp_alert" => set(&mut inst.smtp_alert, self.flag(line)),
            other if UNSUPPORTED_INSTANCE.contains(&other) => self.unsupported(kw),
            _ => self.unknown(kw),
        }
    }

    fn auth_item(&mut self, inst: &mut RawInstance, line: &Line) {
        let kw = line.keyword();
        let iname = inst.name.clone();
        match kw.text.as_str() {
            "auth_type" => {
                if let Some(token) = self.arg(line, 1) {
                    match token.text.as_str() {
                        "PASS" => inst.auth_type = Some((AuthKind::Pass, token.pos)),
                        "AH" => inst.auth_type = Some((AuthKind::Ah, token.pos)),
                        other => self.rep.error(
                            token.pos,
                            format!("({iname}) unknown authentication type '{other}'"),
                        ),
                    }
                }
            }
            "auth_pass" => {
                if let Some(token) = self.arg(line, 1) {
                    let bytes = token.text.as_bytes();
                    if bytes.len() > 8 {
                        self.rep
                            .error(token.pos, "Truncating auth_pass to 8 characters");
                    }
                    let mut key = [0u8; 8];
                    for (slot, byte) in key.iter_mut().zip(bytes) {
                        *slot = *byte;
                    }
                    inst.auth_pass = Some((key, token.pos));
                }
            }
            _ => self.unknown(kw),
        }
    }

    /// One line of `virtual_ipaddress`: `ADDR[/LEN] [brd X|+|-] [dev IF] [scope S] [label L] …`.
    fn vip(&mut self, iname: &str, line: &Line) -> Option<RawVip> {
        let first = line.keyword();
        let Some((addr, prefix_len)) = parse_prefix(&first.text) else {
            self.rep.error(
                first.pos,
                format!(
                    "({iname}) invalid virtual ip address '{}' - ignoring",
                    first.text
                ),
            );
            return None;
        };
        let mut vip = RawVip {
            addr,
            prefix_len,
            brd: Brd::None,
            dev: None,
            scope: Scope::Global,
            label: None,
            no_track: false,
            preferred_forever: false,
            pos: first.pos,
        };
        let mut index = 1;
        while let Some(option) = line.tokens.get(index) {
            let takes_value = matches!(
                option.text.as_str(),
                "brd" | "broadcast" | "dev" | "scope" | "label" | "preferred_lft" | "peer"
            );
            let value = line.tokens.get(index + 1);
            if takes_value && value.is_none() {
                self.rep.error(
                    option.pos,
                    format!(
                        "({iname}) missing value for '{}' in ip address - ignoring",
                        option.text
                    ),
                );
                break;
            }
            match (option.text.as_str(), value) {
                ("brd" | "broadcast", Some(v)) => {
                    vip.brd = match v.text.as_str() {
                        "+" => Brd::Plus,
                        "-" => Brd::Minus,
                        text => match text.parse::<Ipv4Addr>() {
                            Ok(b) if addr.is_ipv4() => Brd::Addr(b),
                            _ => {
                                self.rep.error(
                                    v.pos,
                                    format!("VRRP is trying to assign invalid broadcast {text}. skipping VIP..."),
                                );
                                return None;
                            }
                        },
                    };
                }
                ("dev", Some(v)) => vip.dev = Some(v.text.clone()),
                ("scope", Some(v)) => match parse_scope(&v.text) {
                    Some(scope) => vip.scope = scope,
                    None => self.rep.error(
                        v.pos,
                        format!("({iname}) invalid scope '{}' - ignoring", v.text),
                    ),
                },
                ("label", Some(v)) => {
                    if v.text.len() > MAX_LABEL_LEN {
                        self.rep.error(
                            v.pos,
                            format!(
                                "Address label {} is longer than maximum length {MAX_LABEL_LEN} - removing address",
                                v.text
                            ),
                        );
                        return None;
                    }
                    vip.label = Some(v.text.clone());
                }
                ("preferred_lft", Some(v)) => vip.preferred_forever = v.text == "forever",
                ("peer", Some(_)) => self.rep.warning(
                    option.pos,
                    format!("({iname}) 'peer' addresses are not supported - ignoring the peer"),
                ),
                ("no_track", _) => vip.no_track = true,
                (
                    "home" | "-nodad" | "nodad" | "mngtmpaddr" | "noprefixroute" | "autojoin"
                    | "use_vmac",
                    _,
                ) => {}
                (other, _) => {
                    self.rep.error(
                        option.pos,
                        format!("Unknown configuration entry '{other}' for ip address - ignoring"),
                    );
                    index += 1;
                    continue;
                }
            }
            index += if takes_value { 2 } else { 1 };
        }
        Some(vip)
    }

    /// One line of `virtual_routes`.
    fn route(&mut self, iname: &str, line: &Line) -> Option<VirtualRoute> {
        let mut dst: Option<(IpAddr, u8)> = None;
        let mut route = VirtualRoute {
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            prefix_len: 0,
            src: None,
            via: None,
            dev: None,
            scope: None,
            table: None,
            metric: None,
            kind: RouteKind::Unicast,
            no_track: false,
        };
        let mut index = 0;
        while let Some(token) = line.tokens.get(index) {
            let takes_value = matches!(
                token.text.as_str(),
                "src"
                    | "to"
                    | "via"
                    | "gw"
                    | "dev"
                    | "scope"
                    | "table"
                    | "metric"
                    | "priority"
                    | "preference"
                    | "or"
                    | "protocol"
            );
            let value = line.tokens.get(index + 1);
            if takes_value && value.is_none() {
                self.rep.error(
                    token.pos,
                    format!(
                        "({iname}) missing value for '{}' in route - ignoring route",
                        token.text
                    ),
                );
                return None;
            }
            match (token.text.as_str(), value) {
                ("src", Some(v)) => route.src = Some(self.ip(v)?),
                ("via" | "gw", Some(v)) => route.via = Some(self.ip(v)?),
                ("dev", Some(v)) => route.dev = Some(v.text.clone()),
                ("scope", Some(v)) => {
                    route.scope = Some(parse_scope(&v.text).or_else(|| {
                        self.rep
                            .error(v.pos, format!("({iname}) invalid route scope '{}'", v.text));
                        None
                    })?)
                }
                ("table", Some(v)) => {
                    route.table = Some(u32::try_from(self.int(v, 0, i64::from(u32::MAX))?).ok()?)
                }
                ("metric" | "priority" | "preference", Some(v)) => {
                    route.metric = Some(u32::try_from(self.int(v, 0, i64::from(u32::MAX))?).ok()?)
                }
                ("to", Some(v)) => dst = Some(self.route_dst(iname, v)?),
                ("or" | "protocol", Some(_)) => self.rep.warning(
                    token.pos,
                    format!(
                        "({iname}) route option '{}' is not supported - ignoring it",
                        token.text
                    ),
                ),
                ("blackhole", _) => route.kind = RouteKind::Blackhole,
                ("unreachable", _) => route.kind = RouteKind::Unreachable,
                ("prohibit", _) => route.kind = RouteKind::Prohibit,
                ("no_track", _) => route.no_track = true,
                ("onlink", _) => {}
                (_, _) if dst.is_none() => {
                    dst = Some(self.route_dst(iname, token)?);
                }
                (other, _) => {
                    self.rep.error(
                        token.pos,
                        format!("({iname}) unknown route option '{other}' - ignoring route"),
                    );
                    return None;
                }
            }
            index += if takes_value { 2 } else { 1 };
        }
        let Some((addr, len)) = dst else {
            self.rep.error(
                line.keyword().pos,
                format!("({iname}) route has no destination - ignoring"),
            );
            return None;
        };
        route.dst = addr;
        route.prefix_len = len;
        Some(route)
    }

    fn route_dst(&mut self, iname: &str, token: &Token) -> Option<(IpAddr, u8)> {
        if token.text == "default" {
            return Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
        }
        let parsed = parse_prefix(&token.text);
        if parsed.is_none() {
            self.rep.error(
                token.pos,
                format!(
                    "({iname}) invalid route destination '{}' - ignoring route",
                    token.text
                ),
            );
        }
        parsed
    }

    fn unicast_peer(
        &mut self,
        iname: &str,
        line: &Line,
    ) -> Option<(crate::model::UnicastPeer, Pos)> {
        let first = line.keyword();
        let addr = match first.text.parse::<IpAddr>() {
            Ok(IpAddr::V4(addr)) => addr,
            Ok(IpAddr::V6(_)) => {
                self.rep.error(
                    first.pos,
                    format!("({iname}) unicast peer {} is IPv6 - VRRPv2 instances are IPv4 only - ignoring", first.text),
                );
                return None;
            }
            Err(_) => {
                self.rep.error(
                    first.pos,
                    format!(
                        "({iname}) invalid unicast peer address '{}' - ignoring",
                        first.text
                    ),
                );
                return None;
            }
        };
        let mut peer = crate::model::UnicastPeer {
            addr,
            min_ttl: 0,
            max_ttl: 255,
        };
        let mut index = 1;
        while let Some(option) = line.tokens.get(index) {
            match (option.text.as_str(), line.tokens.get(index + 1)) {
                ("min_ttl", Some(v)) => {
                    peer.min_ttl = self
                        .int(v, 0, 255)
                        .and_then(|n| u8::try_from(n).ok())
                        .unwrap_or(peer.min_ttl)
                }
                ("max_ttl", Some(v)) => {
                    peer.max_ttl = self
                        .int(v, 0, 255)
                        .and_then(|n| u8::try_from(n).ok())
                        .unwrap_or(peer.max_ttl)
                }
                (other, _) => {
                    self.rep.error(
                        option.pos,
                        format!("({iname}) unknown unicast_peer option '{other}' - ignoring"),
                    );
                    index += 1;
                    continue;
                }
            }
            index += 2;
        }
        if peer.min_ttl > peer.max_ttl {
            self.rep.error(
                first.pos,
                format!(
                    "({iname}) min_ttl {} > max_ttl {} - all packets will be discarded",
                    peer.min_ttl, peer.max_ttl
                ),
            );
        }
        Some((peer, first.pos))
    }

    /// `track_interface`, `track_script` or `track_file` block of an instance or group.
    fn track_block(&mut self, owner: &str, kw: &Token, kind: TrackKind, track: &mut RawTrackers) {
        let owner = owner.to_owned();
        self.block(kw, |p, l| p.track_item(&owner, kind, track, l));
    }

    fn track_item(&mut self, owner: &str, kind: TrackKind, track: &mut RawTrackers, line: &Line) {
        let first = line.keyword();
        let name = first.text.clone();
        let mut weight: Option<i32> = None;
        let mut reverse: Option<bool> = None;
        let mut index = 1;
        while let Some(option) = line.tokens.get(index) {
            match option.text.as_str() {
                "weight" => {
                    let Some(value) = line.tokens.get(index + 1) else {
                        self.rep.error(
                            option.pos,
                            format!("({owner}) weight for {name} needs a value"),
                        );
                        break;
                    };
                    weight = self
                        .int(value, -253, 253)
                        .and_then(|w| i32::try_from(w).ok());
                    if weight.is_none() {
                        self.rep.error(
                            value.pos,
                            format!("({owner}) weight for {name} must be between [-253..253] inclusive - ignoring"),
                        );
                    }
                    index += 2;
                    continue;
                }
                "reverse" => reverse = Some(true),
                "noreverse" => reverse = Some(false),
                other => self.rep.error(
                    option.pos,
                    format!("({owner}) unknown option '{other}' for tracked {name} - ignoring"),
                ),
            }
            index += 1;
        }
        match kind {
            TrackKind::Interface => {
                if name.len() >= 16 {
                    self.rep.error(
                        first.pos,
                        format!("({owner}) invalid interface name '{name}' in track_interface - ignoring"),
                    );
                    return;
                }
                track.interfaces.push((
                    TrackedInterface {
                        name,
                        weight: weight.unwrap_or(0),
                        reverse: reverse.unwrap_or(false),
                    },
                    first.pos,
                ));
            }
            TrackKind::Script => {
                let Some(script) = self.raw.scripts.iter().find(|s| s.name == name) else {
                    self.rep.error(
                        first.pos,
                        format!("({owner}) track script {name} not found, ignoring..."),
                    );
                    return;
                };
                let tracked = TrackedScript {
                    weight: weight.unwrap_or(script.weight),
                    reverse: reverse.unwrap_or(script.reverse),
                    name,
                };
                track.scripts.push((tracked, first.pos));
            }
            TrackKind::File => {
                let Some(file) = self.raw.track_files.iter().find(|f| f.name == name) else {
                    self.rep.error(
                        first.pos,
                        format!("({owner}) track file {name} not found, ignoring..."),
                    );
                    return;
                };
                let tracked = TrackedFile {
                    weight: weight.unwrap_or(file.weight),
                    reverse: reverse.unwrap_or(file.reverse),
                    name,
                };
                track.files.push((tracked, first.pos));
            }
        }
    }

    // ----- vrrp_sync_group -----------------------------------------------------------------

    fn sync_group(&mut self, line: &Line) {
        let Some((name, name_pos)) = self.block_name(line) else {
            return;
        };
        let mut group = RawSyncGroup {
            name,
            name_pos,
            ..RawSyncGroup::default()
        };
        self.block(line.keyword(), |p, l| p.sync_group_item(&mut group, l));
        self.raw.groups.push(group);
    }

    fn sync_group_item(&mut self, group: &mut RawSyncGroup, line: &Line) {
        let kw = line.keyword();
        if self.notify_item(&mut group.notify, line) {
            return;
        }
        let gname = group.name.clone();
        match kw.text.as_str() {
            "group" => {
                let mut members = std::mem::take(&mut group.members);
                self.block(kw, |_, l| {
                    members.extend(l.tokens.iter().map(|t| (t.text.clone(), t.pos)));
                });
                group.members = members;
            }
            "smtp_alert" => set(&mut group.smtp_alert, self.flag(line)),
            "sync_group_tracking_weight" => set(&mut group.tracking_weight, self.flag(line)),
            "track_interface" => {
                self.track_block(&gname, kw, TrackKind::Interface, &mut group.track)
            }
            "track_script" => self.track_block(&gname, kw, TrackKind::Script, &mut group.track),
            "track_file" => self.track_block(&gname, kw, TrackKind::File, &mut group.track),
            other if UNSUPPORTED_GROUP.contains(&other) => self.unsupported(kw),
            _ => self.unknown(kw),
        }
    }

    // ----- vrrp_script and track_file ------------------------------------------------------

    fn vrrp_script(&mut self, line: &Line) {
        let Some((name, name_pos)) = self.block_name(line) else {
            return;
        };
        let mut argv: Option<Vec<String>> = None;
        let mut interval_us = MICROS_PER_SECOND;
        let mut timeout_us: Option<u64> = None;
        let mut weight = 0i32;
        let mut reverse = false;
        let mut rise = 1u32;
        let mut fall = 1u32;
        let mut run_as_user: Option<RunAs> = None;
        let mut init_fail = false;
        self.block(line.keyword(), |p, l| {
            let kw = l.keyword();
            match kw.text.as_str() {
                "script" => {
                    if let Some(script) = p.notify_script(l) {
                        argv = Some(script.argv);
                    }
                }
                "interval" => {
                    if let Some(token) = p.arg(l, 1)
                        && let Some(value) = p.timer(token, MAX_TIMER_SECS)
                    {
                        if value == 0 {
                            p.rep.error(token.pos, format!("({name}) script interval must be > 0 - ignoring"));
                        } else {
                            interval_us = value;
                        }
                    }
                }
                "timeout" => {
                    if let Some(token) = p.arg(l, 1) {
                        timeout_us = p.timer(token, MAX_TIMER_SECS).or(timeout_us);
                    }
                }
                "weight" => {
                    if let Some(token) = p.arg(l, 1) {
                        match p.int(token, -253, 253) {
                            Some(w) => weight = i32::try_from(w).unwrap_or(0),
                            None => p.rep.error(
                                token.pos,
                                format!("({name}) weight must be between [-253..253] inclusive - ignoring"),
                            ),
                        }
                        if let Some(extra) = l.tokens.get(2) {
                            match extra.text.as_str() {
                                "reverse" => reverse = true,
                                "noreverse" => reverse = false,
                                other => p.rep.error(extra.pos, format!("({name}) unknown weight option '{other}'")),
                            }
                        }
                    }
                }
                "rise" => rise = p.u32_arg(l, 1, 1_000_000).unwrap_or(rise),
                "fall" => fall = p.u32_arg(l, 1, 1_000_000).unwrap_or(fall),
                "user" => {
                    run_as_user = run_as(&l.tokens[1..]);
                    if run_as_user.is_none() {
                        p.arg(l, 1);
                    }
                }
                "init_fail" => init_fail = true,
                _ => p.unknown(kw),
            }
        });
        let Some(argv) = argv else {
            self.rep.error(
                name_pos,
                format!("vrrp_script {name} has no script - ignoring"),
            );
            return;
        };
        if self.raw.scripts.iter().any(|s| s.name == name) {
            self.rep.error(
                name_pos,
                format!("vrrp_script {name} already defined - ignoring this one"),
            );
            return;
        }
        self.raw.scripts.push(VrrpScript {
            name,
            argv,
            interval_us,
            timeout_us: match timeout_us {
                Some(t) if t > 0 => t,
                _ => interval_us,
            },
            weight,
            reverse,
            rise,
            fall,
            run_as: run_as_user,
            init_fail,
        });
    }

    fn track_file_block(&mut self, line: &Line) {
        let Some((name, name_pos)) = self.block_name(line) else {
            return;
        };
        let mut path: Option<String> = None;
        let mut weight = 1i32;
        let mut reverse = false;
        let mut init_file: Option<InitFile> = None;
        self.block(line.keyword(), |p, l| {
            let kw = l.keyword();
            match kw.text.as_str() {
                "file" => path = p.string_arg(l).or(path.take()),
                "weight" => {
                    if let Some(token) = p.arg(l, 1) {
                        match p.int(token, -253, 253) {
                            Some(w) => weight = i32::try_from(w).unwrap_or(1),
                            None => p.rep.error(
                                token.pos,
                                format!("({name}) weight must be between [-253..253] inclusive - ignoring"),
                            ),
                        }
                        if l.tokens.get(2).is_some_and(|t| t.text == "reverse") {
                            reverse = true;
                        }
                    }
                }
                "init_file" => {
                    let mut init = InitFile {
                        value: 0,
                        overwrite: false,
                    };
                    for token in &l.tokens[1..] {
                        if token.text == "overwrite" {
                            init.overwrite = true;
                        } else if let Some(value) = p.int(token, i64::from(i32::MIN), i64::from(i32::MAX)) {
                            init.value = value;
                        }
                    }
                    init_file = Some(init);
                }
                _ => p.unknown(kw),
            }
        });
        let Some(path) = path else {
            self.rep.error(
                name_pos,
                format!("track_file {name} has no file - ignoring"),
            );
            return;
        };
        if self.raw.track_files.iter().any(|t| t.name == name) {
            self.rep.error(
                name_pos,
                format!("track_file {name} already defined - ignoring this one"),
            );
            return;
        }
        self.raw.track_files.push(TrackFile {
            name,
            path,
            weight,
            reverse,
            init_file,
        });
    }
}

/// Stores `value` into `slot` if present (invalid values keep the previous setting).
fn set(slot: &mut bool, value: Option<bool>) {
    if let Some(value) = value {
        *slot = value;
    }
}

/// Reads `user[:group]`, `user group` or `user :group` from the given tokens.
fn run_as(tokens: &[Token]) -> Option<RunAs> {
    let first = tokens.first()?;
    if let Some((user, group)) = first.text.split_once(':') {
        return Some(RunAs {
            user: user.to_owned(),
            group: (!group.is_empty()).then(|| group.to_owned()),
        });
    }
    let group = match tokens.get(1).map(|t| t.text.as_str()) {
        Some(":") => tokens.get(2).map(|t| t.text.clone()),
        Some(group) => Some(group.strip_prefix(':').unwrap_or(group).to_owned()),
        None => None,
    };
    Some(RunAs {
        user: first.text.clone(),
        group: group.filter(|g| !g.is_empty()),
    })
}
