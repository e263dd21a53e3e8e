//! Semantic pass: raw blocks → the resolved model, applying keepalived's defaults,
//! fix-ups and checks (vrrp.md §7.3) with keepalived-worded diagnostics.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::diag::{Pos, Reporter};
use crate::model::{
    Auth, Config, GarpSettings, GlobalDefs, InitialState, Instance, LvsSyncDaemon,
    MICROS_PER_SECOND, SyncGroup, Trackers, VirtualAddress,
};
use crate::parser::{Brd, RawConfig, RawGarp, RawGlobal, RawInstance, RawTrackers, RawVip};
use crate::values::{ipv4_broadcast, ipv4_network};

/// Most addresses one VRRPv2 advert can list (the count field is one byte).
pub const MAX_ADVERTISED_VIPS: usize = 255;

/// Positions kept beside a resolved instance, for later diagnostics.
struct InstanceMeta {
    name_pos: Pos,
    track: RawTrackers,
}

/// Runs every post-parse check and returns the resolved configuration.
pub(crate) fn resolve(raw: RawConfig, rep: &mut Reporter) -> Config {
    let global = resolve_global(&raw.global);
    // Exact capacity (bounded by the input): no doubling slack, nor the freed smaller
    // buffers, at the start-up peak of a daemon with 1,000s of instances.
    let mut instances = Vec::with_capacity(raw.instances.len());
    let mut metas = Vec::with_capacity(raw.instances.len());
    for raw_instance in raw.instances {
        let name_pos = raw_instance.name_pos;
        let track = raw_instance.track.clone();
        if let Some(instance) = resolve_instance(raw_instance, &raw.global, &global, rep) {
            // Duplicate names and VRIDs: the later instance is dropped.
            if instances.iter().any(|i: &Instance| i.name == instance.name) {
                rep.error(
                    name_pos,
                    format!("vrrp instance {} already defined", instance.name),
                );
                continue;
            }
            if let Some(other) = instances.iter().find(|i: &&Instance| {
                i.vrid == instance.vrid
                    && i.interface == instance.interface
                    && i.is_unicast() == instance.is_unicast()
            }) {
                rep.error(
                    name_pos,
                    format!(
                        "{} and {} both use VRID {} with IPv4 on interface {}",
                        other.name, instance.name, instance.vrid, instance.interface
                    ),
                );
                continue;
            }
            instances.push(instance);
            metas.push(InstanceMeta { name_pos, track });
        }
    }
    let sync_groups = resolve_groups(raw.groups, &mut instances, &metas, rep);
    let mut config = Config {
        global,
        instances,
        sync_groups,
        scripts: raw.scripts,
        track_files: raw.track_files,
    };
    resolve_lvs(&raw.global, &mut config, rep);
    config
}

fn resolve_global(raw: &RawGlobal) -> GlobalDefs {
    let defaults = GlobalDefs::default();
    let garp = inherit_garp(&raw.garp, &defaults.garp, None);
    GlobalDefs {
        router_id: raw.router_id.clone(),
        mcast_group4: raw.mcast_group4.unwrap_or(defaults.mcast_group4),
        vrrp_version: 2,
        garp,
        lower_prio_no_advert: raw.lower_prio_no_advert,
        higher_prio_send_advert: raw.higher_prio_send_advert,
        check_unicast_src: raw.check_unicast_src,
        skip_check_adv_addr: raw.skip_check_adv_addr,
        startup_delay_us: raw.startup_delay_us,
        notify_fifo: raw
            .vrrp_notify_fifo
            .clone()
            .or_else(|| raw.notify_fifo.clone()),
        script_user: raw.script_user.clone(),
        enable_script_security: raw.enable_script_security,
        lvs_sync_daemon: None,
    }
}

/// Fills unset GARP values from `base`. For globals (`lower_base` = None) the lower-priority
/// values default to the resolved master values; for instances they come from `base`.
fn inherit_garp(raw: &RawGarp, base: &GarpSettings, lower_base: Option<()>) -> GarpSettings {
    let master_delay_us = raw.master_delay_us.unwrap_or(base.master_delay_us);
    let master_repeat = raw.master_repeat.unwrap_or(base.master_repeat);
    let (lower_delay_default, lower_repeat_default) = match lower_base {
        None => (master_delay_us, master_repeat),
        Some(()) => (base.lower_prio_delay_us, base.lower_prio_repeat),
    };
    GarpSettings {
        master_delay_us,
        master_repeat,
        master_refresh_us: raw.master_refresh_us.unwrap_or(base.master_refresh_us),
        master_refresh_repeat: raw
            .master_refresh_repeat
            .unwrap_or(base.master_refresh_repeat),
        lower_prio_delay_us: raw.lower_prio_delay_us.unwrap_or(lower_delay_default),
        lower_prio_repeat: raw.lower_prio_repeat.unwrap_or(lower_repeat_default),
        interval_us: raw.interval_us.unwrap_or(base.interval_us),
    }
}

fn seconds_text(us: u64) -> String {
    format!("{}.{:06}", us / MICROS_PER_SECOND, us % MICROS_PER_SECOND)
}

fn resolve_instance(
    raw: RawInstance,
    raw_global: &RawGlobal,
    global: &GlobalDefs,
    rep: &mut Reporter,
) -> Option<Instance> {
    let name = raw.name.clone();
    let Some(vrid) = raw.vrid else {
        rep.error(
            raw.name_pos,
            format!("({name}) the virtual router id must be set"),
        );
        return None;
    };
    let Some((interface, _)) = raw.interface.clone() else {
        rep.error(raw.name_pos, format!("({name}) Unknown interface!"));
        return None;
    };

    // State and priority derive from each other when only one is given.
    let state_pos = raw.state.map_or(raw.name_pos, |(_, pos)| pos);
    let priority = raw.priority.map(|(p, _)| p).unwrap_or(match raw.state {
        Some((InitialState::Master, _)) => 255,
        _ => 100,
    });
    let mut initial_state = raw.state.map(|(s, _)| s).unwrap_or(if priority == 255 {
        InitialState::Master
    } else {
        InitialState::Backup
    });

    let auth = match (raw.auth_type, raw.auth_pass) {
        (Some((kind, _)), Some((key, _))) => Some(Auth { kind, key }),
        (Some((_, pos)), None) => {
            rep.error(
                pos,
                format!("({name}) Authentication specified but no password given. Ignoring"),
            );
            None
        }
        (None, Some((_, pos))) => {
            rep.warning(
                pos,
                format!("({name}) auth_pass without auth_type - no authentication used"),
            );
            None
        }
        (None, None) => None,
    };

    if initial_state == InitialState::Master
        && priority != 255
        && auth.is_some_and(|a| a.kind == crate::model::AuthKind::Ah)
    {
        rep.error(
            state_pos,
            format!(
                "({name}) Initial state master is incompatible with AH authentication - clearing"
            ),
        );
        initial_state = InitialState::Backup;
    }

    let mut nopreempt = raw.nopreempt;
    let mut preempt_delay = raw.preempt_delay;
    if let Some(pos) = nopreempt
        && priority == 255
    {
        rep.error(
            pos,
            format!("({name}) nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        nopreempt = None;
    }
    if initial_state == InitialState::Master {
        if let Some(pos) = nopreempt.take() {
            rep.error(
                pos,
                format!("({name}) Warning - nopreempt will not work with initial state MASTER - clearing"),
            );
        }
        if let Some((delay, pos)) = preempt_delay
            && delay > 0
        {
            rep.error(
                pos,
                format!("({name}) Warning - preempt delay will not work with initial state MASTER - clearing"),
            );
            preempt_delay = None;
        }
    }
    if nopreempt.is_some()
        && let Some((delay, pos)) = preempt_delay
        && delay > 0
    {
        rep.error(
            pos,
            format!("({name}) preempt_delay is incompatible with nopreempt mode - resetting"),
        );
        preempt_delay = None;
    }

    let advert_int_us = resolve_advert_int(&name, raw.advert_int, rep);

    let track = resolve_instance_trackers(&name, &interface, priority, &raw.track, rep);

    let vmac = raw.vmac.as_ref().map(|(vmac_name, pos)| match vmac_name {
        Some(n) if !n.is_empty() && n.len() < 16 => n.clone(),
        Some(n) => {
            rep.error(
                *pos,
                format!("({name}) VMAC interface name '{n}' is invalid - using vrrp.{vrid}"),
            );
            format!("vrrp.{vrid}")
        }
        None => format!("vrrp.{vrid}"),
    });

    // VIPs without `dev` go on the VMAC interface if there is one, else the instance's.
    let vip_dev = vmac.clone().unwrap_or_else(|| interface.clone());
    let (vips, excluded_vips) = resolve_vips(&name, &vip_dev, &raw, rep);

    Some(Instance {
        name,
        initial_state,
        interface,
        vrid,
        priority,
        advert_int_us,
        preempt: nopreempt.is_none(),
        preempt_delay_us: preempt_delay.map_or(0, |(d, _)| d),
        auth,
        vips,
        excluded_vips,
        virtual_routes: raw.routes,
        track,
        garp: inherit_garp(&raw.garp, &global.garp, Some(())),
        lower_prio_no_advert: raw
            .lower_prio_no_advert
            .unwrap_or(raw_global.lower_prio_no_advert),
        higher_prio_send_advert: raw
            .higher_prio_send_advert
            .unwrap_or(raw_global.higher_prio_send_advert),
        source_addr: raw.source_addr,
        unicast_peers: raw.unicast_peers.iter().map(|(p, _)| *p).collect(),
        unicast_ttl: raw.unicast_ttl.unwrap_or(255),
        check_unicast_src: raw.check_unicast_src.unwrap_or(global.check_unicast_src),
        skip_check_adv_addr: raw
            .skip_check_adv_addr
            .unwrap_or(global.skip_check_adv_addr),
        vmac,
        vmac_xmit_base: raw.vmac_xmit_base,
        dont_track_primary: raw.dont_track_primary,
        down_timer_adverts: raw.down_timer_adverts.unwrap_or(3),
        notify: raw.notify,
        smtp_alert: raw.smtp_alert,
        sync_group: None,
    })
}

/// VRRPv2 advert interval: whole seconds (rounded), 1..255, default 1 s.
fn resolve_advert_int(name: &str, raw: Option<(u64, Pos)>, rep: &mut Reporter) -> u64 {
    let Some((us, pos)) = raw else {
        return MICROS_PER_SECOND;
    };

    let mut seconds = us / MICROS_PER_SECOND;
    if us % MICROS_PER_SECOND != 0 {
        rep.error(
            pos,
            format!(
                "({name}) VRRPv2 advertisement interval {}s must be an integer. rounding",
                seconds_text(us)
            ),
        );
        seconds = ((us + MICROS_PER_SECOND / 2) / MICROS_PER_SECOND).max(1);
    }
    // The parser only accepts 0.01..=255 s, so the rounded value stays within 1..=255.
    seconds.clamp(1, 255) * MICROS_PER_SECOND
}

fn resolve_vip(interface: &str, raw: &RawVip) -> VirtualAddress {
    let broadcast = match (raw.addr, raw.brd) {
        (IpAddr::V4(_), Brd::Addr(b)) => Some(b),
        (IpAddr::V4(a), Brd::Plus) => Some(ipv4_broadcast(a, raw.prefix_len)),
        (IpAddr::V4(a), Brd::Minus) => Some(ipv4_network(a, raw.prefix_len)),
        _ => None,
    };

    VirtualAddress {
        addr: raw.addr,
        prefix_len: raw.prefix_len,
        broadcast,
        dev: raw.dev.clone().unwrap_or_else(|| interface.to_owned()),
        scope: raw.scope,
        label: raw.label.clone(),
        no_track: raw.no_track,
        deprecated: raw.addr.is_ipv6() && raw.prefix_len == 128 && !raw.preferred_forever,
    }
}

fn resolve_vips(
    name: &str,
    interface: &str,
    raw: &RawInstance,
    rep: &mut Reporter,
) -> (Vec<VirtualAddress>, Vec<VirtualAddress>) {
    let mut overflow_reported = false;
    let advertisable = raw.vips.iter().filter(|v| v.addr.is_ipv4()).count();
    // Usually one or two addresses: no growth slack.
    let mut vips: Vec<VirtualAddress> = Vec::with_capacity(advertisable.min(MAX_ADVERTISED_VIPS));
    let mut excluded: Vec<VirtualAddress> = Vec::new();
    let is_duplicate = |list: &[VirtualAddress], vip: &VirtualAddress| {
        list.iter().any(|v| v.addr == vip.addr && v.dev == vip.dev)
    };
    for raw_vip in &raw.vips {
        if !raw_vip.addr.is_ipv4() {
            rep.error(
                raw_vip.pos,
                format!(
                    "({name}): address family must match VRRP instance [{}] - ignoring",
                    raw_vip.addr
                ),
            );
            continue;
        }
        let vip = resolve_vip(interface, raw_vip);
        if is_duplicate(&vips, &vip) || is_duplicate(&excluded, &vip) {
            rep.warning(
                raw_vip.pos,
                format!("({name}) duplicate VIP {} - ignoring", vip.addr),
            );
            continue;
        }
        if vips.len() >= MAX_ADVERTISED_VIPS {
            if !overflow_reported {
                rep.error(
                    raw_vip.pos,
                    format!(
                        "({name}) Number of VIPs ({advertisable}) exceeds maximum/space available in packet (max {MAX_ADVERTISED_VIPS} addresses) - excess moved to eVIPs"
                    ),
                );
                overflow_reported = true;
            }
            excluded.push(vip);
            continue;
        }
        vips.push(vip);
    }
    for raw_vip in &raw.excluded_vips {
        let vip = resolve_vip(interface, raw_vip);
        if is_duplicate(&vips, &vip) || is_duplicate(&excluded, &vip) {
            rep.warning(
                raw_vip.pos,
                format!("({name}) duplicate VIP {} - ignoring", vip.addr),
            );
            continue;
        }
        excluded.push(vip);
    }
    if vips.is_empty() && excluded.is_empty() {
        rep.error(
            raw.name_pos,
            format!("({name}) No VIP specified; at least one is sensible"),
        );
    }
    (vips, excluded)
}

fn resolve_instance_trackers(
    name: &str,
    interface: &str,
    priority: u8,
    raw: &RawTrackers,
    rep: &mut Reporter,
) -> Trackers {
    let owner = priority == 255;
    let mut track = Trackers::default();
    for (tracked, pos) in &raw.interfaces {
        if tracked.name == interface {
            rep.error(
                *pos,
                format!(
                    "({name}) Ignoring track_interface {} since own interface",
                    tracked.name
                ),
            );
            continue;
        }
        if track.interfaces.iter().any(|t| t.name == tracked.name) {
            rep.error(
                *pos,
                format!(
                    "({name}) track_interface {} listed twice - ignoring",
                    tracked.name
                ),
            );
            continue;
        }
        if owner && tracked.weight != 0 {
            rep.error(
                *pos,
                format!(
                    "({name}) ignoring {} tracked interface due to address owner",
                    tracked.name
                ),
            );
            continue;
        }
        track.interfaces.push(tracked.clone());
    }
    for (tracked, pos) in &raw.scripts {
        if owner && tracked.weight != 0 {
            rep.error(
                *pos,
                format!(
                    "({name}) ignoring tracked script {} with weights due to address_owner",
                    tracked.name
                ),
            );
            continue;
        }
        track.scripts.push(tracked.clone());
    }
    for (tracked, pos) in &raw.files {
        if owner && tracked.weight != 0 {
            rep.error(
                *pos,
                format!(
                    "({name}) ignoring tracked file {} with weight {} due to address_owner",
                    tracked.name, tracked.weight
                ),
            );
            continue;
        }
        track.files.push(tracked.clone());
    }
    track
}

fn resolve_groups(
    raw_groups: Vec<crate::parser::RawSyncGroup>,
    instances: &mut [Instance],
    metas: &[InstanceMeta],
    rep: &mut Reporter,
) -> Vec<SyncGroup> {
    let index_of: HashMap<String, usize> = instances
        .iter()
        .enumerate()
        .map(|(i, inst)| (inst.name.clone(), i))
        .collect();
    let mut groups: Vec<SyncGroup> = Vec::new();
    for raw in raw_groups {
        let gname = raw.name.clone();
        if groups.iter().any(|g| g.name == gname) {
            rep.error(
                raw.name_pos,
                format!("vrrp_sync_group {gname} already defined"),
            );
            continue;
        }
        let mut members: Vec<usize> = Vec::new();
        for (member, pos) in &raw.members {
            let Some(&index) = index_of.get(member) else {
                rep.error(
                    *pos,
                    format!("Virtual router {member} specified in sync group {gname} doesn't exist - ignoring"),
                );
                continue;
            };
            if let Some(other) = &instances[index].sync_group {
                rep.error(
                    *pos,
                    format!("Virtual router {member} cannot exist in more than one sync group; ignoring {gname} (already in {other})"),
                );
                continue;
            }
            instances[index].sync_group = Some(gname.clone());
            members.push(index);
        }
        if members.is_empty() {
            rep.error(
                raw.name_pos,
                format!("Sync group {gname}, no matching virtual router found in group declaration - removing"),
            );
            continue;
        }
        if members.len() == 1 {
            rep.error(
                raw.name_pos,
                format!("Sync group {gname} has only 1 virtual router(s) - this probably isn't what you want"),
            );
        }
        let owners = members.iter().filter(|&&i| instances[i].is_owner()).count();
        if owners > 0 && owners < members.len() {
            rep.warning(
                raw.name_pos,
                format!("Sync group {gname} has some member virtual routers with priority 255 and some not - this will not work"),
            );
        }
        let all_owner_masters = members.iter().all(|&i| {
            instances[i].is_owner() && instances[i].initial_state == InitialState::Master
        });
        for &index in &members {
            clear_member_weights(&mut instances[index], &metas[index], rep);
        }
        let keep_weights = raw.tracking_weight && owners == 0;
        let track = group_trackers(&gname, &raw.track, keep_weights, rep);
        groups.push(SyncGroup {
            name: gname,
            members: members.iter().map(|&i| instances[i].name.clone()).collect(),
            initial_state: if all_owner_masters {
                InitialState::Master
            } else {
                InitialState::Backup
            },
            notify: raw.notify,
            smtp_alert: raw.smtp_alert,
            track,
            tracking_weight: raw.tracking_weight,
        });
    }
    groups
}

/// Weighted trackers of sync-group members: scripts dropped, interfaces/files set to weight 0.
fn clear_member_weights(instance: &mut Instance, meta: &InstanceMeta, rep: &mut Reporter) {
    let name = instance.name.clone();
    let pos_of = |list: &[(String, Pos)], tracked: &str| {
        list.iter()
            .find(|(n, _)| n == tracked)
            .map_or(meta.name_pos, |(_, p)| *p)
    };
    let if_pos: Vec<(String, Pos)> = meta
        .track
        .interfaces
        .iter()
        .map(|(t, p)| (t.name.clone(), *p))
        .collect();
    let script_pos: Vec<(String, Pos)> = meta
        .track
        .scripts
        .iter()
        .map(|(t, p)| (t.name.clone(), *p))
        .collect();
    let file_pos: Vec<(String, Pos)> = meta
        .track
        .files
        .iter()
        .map(|(t, p)| (t.name.clone(), *p))
        .collect();
    for tracked in &mut instance.track.interfaces {
        if tracked.weight != 0 {
            rep.error(
                pos_of(&if_pos, &tracked.name),
                format!(
                    "({name}) ignoring {} tracked interface weight due to SYNC group",
                    tracked.name
                ),
            );
            tracked.weight = 0;
        }
    }
    instance.track.scripts.retain(|tracked| {
        if tracked.weight == 0 {
            return true;
        }
        rep.error(
            pos_of(&script_pos, &tracked.name),
            format!(
                "({name}) ignoring tracked script {} with weights due to SYNC group",
                tracked.name
            ),
        );
        false
    });
    for tracked in &mut instance.track.files {
        if tracked.weight != 0 {
            rep.error(
                pos_of(&file_pos, &tracked.name),
                format!(
                    "({name}) ignoring tracked file {} with weight {} due to SYNC group",
                    tracked.name, tracked.weight
                ),
            );
            tracked.weight = 0;
        }
    }
}

fn group_trackers(
    group: &str,
    raw: &RawTrackers,
    keep_weights: bool,
    rep: &mut Reporter,
) -> Trackers {
    let mut track = Trackers::default();
    let mut clear = |weight: &mut i32, kind: &str, tracked: &str, pos: Pos| {
        if !keep_weights && *weight != 0 {
            rep.warning(
                pos,
                format!("({group}) ignoring weight of {kind} {tracked} in sync group (needs sync_group_tracking_weight, and no owner members)"),
            );
            *weight = 0;
        }
    };
    // Disjoint field borrows: the weight is cleared while the name is only read.
    track.interfaces = (raw.interfaces.iter())
        .map(|(t, pos)| {
            let mut t = t.clone();
            clear(&mut t.weight, "track_interface", &t.name, *pos);
            t
        })
        .collect();
    track.scripts = (raw.scripts.iter())
        .map(|(t, pos)| {
            let mut t = t.clone();
            clear(&mut t.weight, "track_script", &t.name, *pos);
            t
        })
        .collect();
    track.files = (raw.files.iter())
        .map(|(t, pos)| {
            let mut t = t.clone();
            clear(&mut t.weight, "track_file", &t.name, *pos);
            t
        })
        .collect();
    track
}

fn resolve_lvs(raw_global: &RawGlobal, config: &mut Config, rep: &mut Reporter) {
    let Some(raw) = &raw_global.lvs_sync_daemon else {
        return;
    };
    let mut instance = None;
    if let Some((name, pos)) = &raw.instance {
        match config.instance(name) {
            Some(found) => instance = Some(found),
            None => rep.error(
                *pos,
                format!("lvs_sync_daemon vrrp instance {name} not found - ignoring the instance"),
            ),
        }
    }
    config.global.lvs_sync_daemon = Some(LvsSyncDaemon {
        interface: raw.interface.clone(),
        instance: instance.map(|i| i.name.clone()),
        sync_id: raw.sync_id.unwrap_or(instance.map_or(0, |i| i.vrid)),
        max_len: raw.max_len,
        port: raw.port,
        ttl: raw.ttl,
        group: raw.group,
    });
}
