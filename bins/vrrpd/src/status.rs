//! The status model shared by `vrrpd status` (JSON or table), `vrrpd events` (JSON lines)
//! and the Prometheus metrics. The JSON schema is documented in `bins/vrrpd/README.md`;
//! [`SCHEMA_VERSION`] changes whenever a field is renamed or removed.

use serde::{Deserialize, Serialize};

/// Version of the status JSON schema.
pub const SCHEMA_VERSION: u32 = 1;

/// RFC 2787 (VRRP-MIB) statistics plus keepalived's counters, per instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// `vrrpStatsAdvertiseRcvd`: adverts accepted for processing.
    pub adverts_received: u64,
    /// Adverts sent (keepalived `advert_sent`), priority 0 included.
    pub adverts_sent: u64,
    /// `vrrpStatsBecomeMaster`.
    pub become_master: u64,
    /// Transitions out of MASTER (keepalived `release_master`).
    pub release_master: u64,
    /// `vrrpStatsPriorityZeroPktsRcvd`.
    pub priority_zero_received: u64,
    /// `vrrpStatsPriorityZeroPktsSent`.
    pub priority_zero_sent: u64,
    /// `vrrpRouterChecksumErrors`.
    pub checksum_errors: u64,
    /// `vrrpRouterVersionErrors`.
    pub version_errors: u64,
    /// `vrrpRouterVrIdErrors`.
    pub vrid_errors: u64,
    /// `vrrpStatsIpTtlErrors`.
    pub ttl_errors: u64,
    /// `vrrpStatsAuthTypeMismatch`.
    pub auth_type_mismatch: u64,
    /// `vrrpStatsAuthFailures`.
    pub auth_failures: u64,
    /// `vrrpStatsInvalidAuthType`.
    pub invalid_auth_type: u64,
    /// `vrrpStatsInvalidTypePktsRcvd`.
    pub invalid_type: u64,
    /// `vrrpStatsAddressListErrors`.
    pub address_list_errors: u64,
    /// `vrrpStatsPacketLengthErrors`.
    pub packet_length_errors: u64,
    /// `vrrpStatsAdvertisementIntervalErrors`.
    pub advert_interval_errors: u64,
}

impl Counters {
    /// Every counter as (field name, help text, value), for the metrics page.
    pub fn fields(&self) -> [(&'static str, &'static str, u64); 17] {
        [
            (
                "adverts_received",
                "Adverts accepted for processing (vrrpStatsAdvertiseRcvd).",
                self.adverts_received,
            ),
            (
                "adverts_sent",
                "Adverts sent, priority 0 included.",
                self.adverts_sent,
            ),
            (
                "become_master",
                "Transitions to MASTER (vrrpStatsBecomeMaster).",
                self.become_master,
            ),
            (
                "release_master",
                "Transitions out of MASTER.",
                self.release_master,
            ),
            (
                "priority_zero_received",
                "Priority-0 adverts received (vrrpStatsPriorityZeroPktsRcvd).",
                self.priority_zero_received,
            ),
            (
                "priority_zero_sent",
                "Priority-0 adverts sent (vrrpStatsPriorityZeroPktsSent).",
                self.priority_zero_sent,
            ),
            (
                "checksum_errors",
                "Adverts with a bad VRRP checksum (vrrpRouterChecksumErrors).",
                self.checksum_errors,
            ),
            (
                "version_errors",
                "Adverts with an unknown version (vrrpRouterVersionErrors).",
                self.version_errors,
            ),
            (
                "vrid_errors",
                "Adverts for another VRID (vrrpRouterVrIdErrors).",
                self.vrid_errors,
            ),
            (
                "ttl_errors",
                "Adverts with a wrong IP TTL (vrrpStatsIpTtlErrors).",
                self.ttl_errors,
            ),
            (
                "auth_type_mismatch",
                "Adverts with another authentication type (vrrpStatsAuthTypeMismatch).",
                self.auth_type_mismatch,
            ),
            (
                "auth_failures",
                "Adverts failing authentication (vrrpStatsAuthFailures).",
                self.auth_failures,
            ),
            (
                "invalid_auth_type",
                "Adverts with an unknown authentication type (vrrpStatsInvalidAuthType).",
                self.invalid_auth_type,
            ),
            (
                "invalid_type",
                "Packets with an invalid VRRP type (vrrpStatsInvalidTypePktsRcvd).",
                self.invalid_type,
            ),
            (
                "address_list_errors",
                "Adverts whose address list differs (vrrpStatsAddressListErrors).",
                self.address_list_errors,
            ),
            (
                "packet_length_errors",
                "Packets of a wrong length (vrrpStatsPacketLengthErrors).",
                self.packet_length_errors,
            ),
            (
                "advert_interval_errors",
                "Adverts with another interval (vrrpStatsAdvertisementIntervalErrors).",
                self.advert_interval_errors,
            ),
        ]
    }
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// `vrrp_instance` name.
    pub name: String,
    /// Virtual router id.
    pub vrid: u8,
    /// Interface it runs on.
    pub interface: String,
    /// `INIT`, `BACKUP`, `MASTER` or `FAULT`.
    pub state: String,
    /// Configured priority.
    pub base_priority: u8,
    /// Priority after trackers.
    pub effective_priority: u8,
    /// Address adverts are sent from (`0.0.0.0` while the interface has none).
    pub source: String,
    /// Current master if known: our source when MASTER, the last advertiser when BACKUP.
    pub master: Option<String>,
    /// Virtual addresses (`a.b.c.d/len`), advertised ones first.
    pub vips: Vec<String>,
    /// Sync group, if any.
    pub group: Option<String>,
    /// Statistics.
    pub counters: Counters,
}

/// One `vrrp_sync_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupStatus {
    /// Group name.
    pub name: String,
    /// Group state.
    pub state: String,
    /// Member instance names.
    pub members: Vec<String>,
}

/// The daemon itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    /// Process id.
    pub pid: u32,
    /// `vrrpd` version.
    pub version: String,
    /// Whole seconds since start.
    pub uptime_secs: u64,
    /// Configuration file.
    pub config: String,
}

/// Everything `vrrpd status --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Daemon facts.
    pub daemon: DaemonStatus,
    /// Instances in configuration order.
    pub instances: Vec<InstanceStatus>,
    /// Sync groups.
    pub groups: Vec<GroupStatus>,
    /// Receive-side facts per interface (absent from older daemons: empty).
    #[serde(default)]
    pub interfaces: Vec<InterfaceStatus>,
}

/// Per-interface receive counters: packets no instance can be blamed for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    /// Interface name.
    pub name: String,
    /// Malformed VRRP-over-AH packets whose VRID cannot be read (too short for the fixed
    /// 24-byte AH header plus the VRID, or the VRID found belongs to no instance).
    pub unattributed: u64,
}

/// One state change, as `vrrpd events` prints it (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEvent {
    /// Sequence number, from 1, per daemon run.
    pub seq: u64,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// `INSTANCE` or `GROUP`.
    pub kind: String,
    /// Instance or group name.
    pub name: String,
    /// VRID (instances only).
    pub vrid: Option<u8>,
    /// Previous state.
    pub from: String,
    /// New state.
    pub to: String,
    /// Effective priority (0 for groups, as keepalived reports them).
    pub priority: u8,
    /// Why (the state machine's reason).
    pub reason: String,
}

fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    for _ in text.chars().count()..width {
        out.push(' ');
    }
    out.push(' ');
}

/// The human-readable table of `vrrpd status`.
pub fn render_table(status: &Status) -> String {
    let mut out = String::new();
    let headers = [
        "INSTANCE", "VRID", "IFACE", "STATE", "PRIO", "MASTER", "ADV_RX", "ADV_TX", "ERRORS",
        "VIPS",
    ];
    let rows: Vec<[String; 10]> = status
        .instances
        .iter()
        .map(|i| {
            let c = &i.counters;
            let errors = c.checksum_errors
                + c.version_errors
                + c.vrid_errors
                + c.ttl_errors
                + c.auth_type_mismatch
                + c.auth_failures
                + c.invalid_auth_type
                + c.invalid_type
                + c.address_list_errors
                + c.packet_length_errors
                + c.advert_interval_errors;
            [
                i.name.clone(),
                i.vrid.to_string(),
                i.interface.clone(),
                i.state.clone(),
                if i.base_priority == i.effective_priority {
                    i.effective_priority.to_string()
                } else {
                    format!("{}/{}", i.effective_priority, i.base_priority)
                },
                i.master.clone().unwrap_or_else(|| "-".into()),
                c.adverts_received.to_string(),
                c.adverts_sent.to_string(),
                errors.to_string(),
                i.vips.join(","),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (h, w) in headers.iter().zip(widths) {
        pad(&mut out, h, w);
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    for r in &rows {
        for (cell, w) in r.iter().zip(widths) {
            pad(&mut out, cell, w);
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    }
    if !status.groups.is_empty() {
        out.push('\n');
        for g in &status.groups {
            out.push_str(&format!(
                "group {} {} ({})\n",
                g.name,
                g.state,
                g.members.join(", ")
            ));
        }
    }
    out
}

/// keepalived's SIGUSR2 statistics layout (`keepalived.stats`), one block per instance.
pub fn render_stats(status: &Status) -> String {
    let mut out = String::new();
    for i in &status.instances {
        let c = &i.counters;
        out.push_str(&format!(
            "VRRP Instance: {}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            i.name,
            c.adverts_received,
            c.adverts_sent,
            c.become_master,
            c.release_master,
            c.packet_length_errors,
            c.ttl_errors,
            c.invalid_type,
            c.advert_interval_errors,
            c.address_list_errors,
            c.invalid_auth_type,
            c.auth_type_mismatch,
            c.auth_failures,
            c.priority_zero_received,
            c.priority_zero_sent,
        ));
    }
    out
}

fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// State names exported as `vrrpd_instance_state{state=...}` series.
pub const STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];

/// Prometheus text exposition format (version 0.0.4) of a status.
pub fn render_metrics(status: &Status) -> String {
    let mut out = String::new();
    out.push_str("# HELP vrrpd_up Whether vrrpd is running.\n# TYPE vrrpd_up gauge\nvrrpd_up 1\n");
    out.push_str(&format!(
        "# HELP vrrpd_uptime_seconds Seconds since vrrpd started.\n# TYPE vrrpd_uptime_seconds gauge\nvrrpd_uptime_seconds {}\n",
        status.daemon.uptime_secs
    ));
    let ids: Vec<String> = status
        .instances
        .iter()
        .map(|i| {
            format!(
                "instance=\"{}\",vrid=\"{}\",interface=\"{}\"",
                label(&i.name),
                i.vrid,
                label(&i.interface)
            )
        })
        .collect();
    out.push_str("# HELP vrrpd_instance_state Current state of an instance (1 for the current state).\n# TYPE vrrpd_instance_state gauge\n");
    for (i, id) in status.instances.iter().zip(&ids) {
        for s in STATES {
            out.push_str(&format!(
                "vrrpd_instance_state{{{id},state=\"{s}\"}} {}\n",
                u8::from(i.state == s)
            ));
        }
    }
    out.push_str("# HELP vrrpd_instance_priority Priority of an instance.\n# TYPE vrrpd_instance_priority gauge\n");
    for (i, id) in status.instances.iter().zip(&ids) {
        out.push_str(&format!(
            "vrrpd_instance_priority{{{id},kind=\"base\"}} {}\n",
            i.base_priority
        ));
        out.push_str(&format!(
            "vrrpd_instance_priority{{{id},kind=\"effective\"}} {}\n",
            i.effective_priority
        ));
    }
    let names: Vec<(&str, &str)> = Counters::default()
        .fields()
        .iter()
        .map(|(n, h, _)| (*n, *h))
        .collect();
    for (k, (name, help)) in names.iter().enumerate() {
        out.push_str(&format!(
            "# HELP vrrpd_{name}_total {help}\n# TYPE vrrpd_{name}_total counter\n"
        ));
        for (i, id) in status.instances.iter().zip(&ids) {
            let value = i.counters.fields().get(k).map_or(0, |f| f.2);
            out.push_str(&format!("vrrpd_{name}_total{{{id}}} {value}\n"));
        }
    }
    out.push_str("# HELP vrrpd_group_state Current state of a sync group (1 for the current state).\n# TYPE vrrpd_group_state gauge\n");
    for g in &status.groups {
        for s in STATES {
            out.push_str(&format!(
                "vrrpd_group_state{{group=\"{}\",state=\"{s}\"}} {}\n",
                label(&g.name),
                u8::from(g.state == s)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Status {
        Status {
            schema: SCHEMA_VERSION,
            daemon: DaemonStatus {
                pid: 1,
                version: "0".into(),
                uptime_secs: 5,
                config: "/k.conf".into(),
            },
            instances: vec![InstanceStatus {
                name: "VI_\"1\"".into(),
                vrid: 51,
                interface: "eth0".into(),
                state: "MASTER".into(),
                base_priority: 150,
                effective_priority: 140,
                source: "10.0.0.1".into(),
                master: Some("10.0.0.1".into()),
                vips: vec!["10.0.0.100/24".into()],
                group: None,
                counters: Counters {
                    adverts_sent: 7,
                    ..Counters::default()
                },
            }],
            groups: vec![GroupStatus {
                name: "SG".into(),
                state: "FAULT".into(),
                members: vec!["VI_1".into()],
            }],
            interfaces: vec![InterfaceStatus {
                name: "eth0".into(),
                unattributed: 3,
            }],
        }
    }

    #[test]
    fn metrics_and_table() {
        let m = render_metrics(&sample());
        let id = "instance=\"VI_\\\"1\\\"\",vrid=\"51\",interface=\"eth0\"";
        assert!(
            m.contains(&format!(
                "vrrpd_instance_state{{{id},state=\"MASTER\"}} 1\n"
            )),
            "{m}"
        );
        assert!(m.contains(&format!(
            "vrrpd_instance_state{{{id},state=\"BACKUP\"}} 0\n"
        )));
        assert!(m.contains(&format!("vrrpd_adverts_sent_total{{{id}}} 7\n")));
        assert!(m.contains(&format!(
            "vrrpd_instance_priority{{{id},kind=\"effective\"}} 140\n"
        )));
        assert!(m.contains("vrrpd_group_state{group=\"SG\",state=\"FAULT\"} 1\n"));
        assert!(m.contains("# TYPE vrrpd_ttl_errors_total counter\n"));
        let t = render_table(&sample());
        assert!(t.starts_with("INSTANCE"), "{t}");
        assert!(t.contains("140/150"), "{t}");
        assert!(t.contains("group SG FAULT (VI_1)"), "{t}");
        let stats = render_stats(&sample());
        assert!(
            stats.starts_with(
                "VRRP Instance: VI_\"1\"\n  Advertisements:\n    Received: 0\n    Sent: 7\n"
            ),
            "{stats}"
        );
        let json = serde_json::to_string(&sample()).unwrap();
        let back: Status = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sample());
        assert!(
            json.contains(r#""interfaces":[{"name":"eth0","unattributed":3}]"#),
            "{json}"
        );
        // A document without `interfaces` (an older daemon) still reads.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("interfaces");
        let back: Status = serde_json::from_value(old).unwrap();
        assert!(back.interfaces.is_empty());
    }
}
