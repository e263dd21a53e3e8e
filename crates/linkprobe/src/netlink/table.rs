//! The link table kept from netlink messages, and the resynchronisation logic (no I/O).

use std::collections::{HashMap, HashSet};

use super::parse::{
    Body, LinkInfo, NLM_F_DUMP_INTR, ParseError, encode_dump_request, parse_datagram,
};
use crate::ifname::IfName;
use crate::status::{Evidence, LinkState, LinkStatus, Method, OperState, flags_say_up};

/// Default cap on the number of links tracked, so memory stays bounded.
pub const DEFAULT_MAX_LINKS: usize = 65_536;

/// A change the monitor reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetlinkEvent {
    /// A link appeared, vanished, or changed its up/down state, operstate, carrier or name.
    Link(LinkChange),
    /// The kernel dropped notifications (`ENOBUFS`: receive buffer overrun, or a truncated
    /// datagram). The link table may be stale until the re-dump that was requested completes
    /// ([`NetlinkEvent::Synchronized`]); changes it reveals arrive as `Link` events.
    Overrun,
    /// A link dump completed: the table now reflects every link (the first one after opening,
    /// or a resynchronisation after [`NetlinkEvent::Overrun`]).
    Synchronized,
    /// The kernel refused the dump request with this errno; no retry is made for it.
    DumpFailed {
        /// The positive errno.
        errno: i32,
    },
    /// A message could not be decoded and was skipped.
    Malformed(ParseError),
}

impl NetlinkEvent {
    /// The interface and its new state if this event changes a named link's state: what to feed
    /// to the state machine's `handle_link(now, state.is_up())`.
    pub fn as_link(&self) -> Option<(&IfName, LinkState)> {
        match self {
            NetlinkEvent::Link(change) => change.ifname.as_ref().map(|n| (n, change.status.state)),
            _ => None,
        }
    }
}

/// One link's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    /// Kernel interface index.
    pub ifindex: u32,
    /// Interface name (the last one known for a vanished link).
    pub ifname: Option<IfName>,
    /// Previous up/down state (`None` if the link is new to the table).
    pub previous: Option<LinkState>,
    /// The new state and its evidence; [`Evidence::Absent`] if the link vanished.
    pub status: LinkStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    ifname: Option<IfName>,
    flags: u32,
    operstate: Option<OperState>,
    carrier: Option<bool>,
}

impl Entry {
    fn status(&self) -> LinkStatus {
        LinkStatus {
            state: LinkState::from_up(flags_say_up(self.flags)),
            method: Method::Netlink,
            evidence: Evidence::Netlink {
                flags: self.flags,
                operstate: self.operstate,
                carrier: self.carrier,
            },
        }
    }
}

/// Link table fed with raw netlink datagrams; tracks dumps and decides when to re-dump.
///
/// Sans-IO: the owner sends what [`LinkTable::take_dump_request`] returns and feeds every
/// received datagram to [`LinkTable::handle_datagram`] and every `ENOBUFS` to
/// [`LinkTable::handle_overrun`].
#[derive(Debug)]
pub struct LinkTable {
    links: HashMap<u32, Entry>,
    max_links: usize,
    ignored_links: u64,
    next_seq: u32,
    dump_in_flight: Option<u32>,
    dump_wanted: bool,
    dump_inconsistent: bool,
    seen_during_dump: HashSet<u32>,
    synchronized: bool,
    overruns: u64,
}

impl Default for LinkTable {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINKS)
    }
}

impl LinkTable {
    /// An empty table that wants an initial dump and tracks at most `max_links` links.
    pub fn new(max_links: usize) -> Self {
        Self {
            links: HashMap::new(),
            max_links,
            ignored_links: 0,
            next_seq: 1,
            dump_in_flight: None,
            dump_wanted: true,
            dump_inconsistent: false,
            seen_during_dump: HashSet::new(),
            synchronized: false,
            overruns: 0,
        }
    }

    /// If a dump is wanted and none is running, marks one as running and returns the request to
    /// send. Call after every batch of input.
    pub fn take_dump_request(&mut self) -> Option<[u8; 32]> {
        if !self.dump_wanted || self.dump_in_flight.is_some() {
            return None;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        self.dump_wanted = false;
        self.dump_inconsistent = false;
        self.dump_in_flight = Some(seq);
        self.seen_during_dump.clear();
        Some(encode_dump_request(seq))
    }

    /// Records that sending the dump request failed, so it is retried by the next
    /// [`LinkTable::take_dump_request`].
    pub fn dump_request_failed(&mut self) {
        self.dump_in_flight = None;
        self.dump_wanted = true;
    }

    /// Records lost notifications (`ENOBUFS` or a truncated datagram): reports
    /// [`NetlinkEvent::Overrun`] and schedules a re-dump.
    pub fn handle_overrun(&mut self, out: &mut Vec<NetlinkEvent>) {
        self.overruns = self.overruns.saturating_add(1);
        self.synchronized = false;
        self.dump_wanted = true;
        out.push(NetlinkEvent::Overrun);
    }

    /// Applies every message of one datagram received from the kernel.
    pub fn handle_datagram(&mut self, datagram: &[u8], out: &mut Vec<NetlinkEvent>) {
        for message in parse_datagram(datagram) {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    out.push(NetlinkEvent::Malformed(error));
                    continue;
                }
            };
            let in_dump = self.dump_in_flight == Some(message.header.seq);
            if in_dump && message.header.flags & NLM_F_DUMP_INTR != 0 {
                self.dump_inconsistent = true;
            }
            match message.body {
                Body::NewLink(info) => self.apply_new(info, out),
                Body::DelLink(info) => self.apply_del(info, out),
                Body::Done if in_dump => self.finish_dump(out),
                // errno 0 is an ACK, which a dump request does not ask for; ignore it.
                Body::Error { errno } if in_dump && errno != 0 => {
                    self.dump_in_flight = None;
                    if matches!(errno, libc::EBUSY | libc::EINTR | libc::EAGAIN) {
                        self.dump_wanted = true;
                    } else {
                        out.push(NetlinkEvent::DumpFailed { errno });
                    }
                }
                Body::Done | Body::Error { .. } | Body::Noop | Body::Other => {}
            }
        }
    }

    fn apply_new(&mut self, info: LinkInfo, out: &mut Vec<NetlinkEvent>) {
        if info.family != 0 {
            // AF_BRIDGE and similar per-family messages describe ports, not the device.
            return;
        }
        if self.dump_in_flight.is_some() {
            self.seen_during_dump.insert(info.ifindex);
        }
        let previous = self.links.get(&info.ifindex).cloned();
        if previous.is_none() && self.links.len() >= self.max_links {
            self.ignored_links = self.ignored_links.saturating_add(1);
            return;
        }
        let entry = Entry {
            ifname: info
                .ifname
                .or_else(|| previous.as_ref().and_then(|p| p.ifname.clone())),
            flags: info.flags,
            // Attributes absent from this message keep their last known value.
            operstate: info
                .operstate
                .or(previous.as_ref().and_then(|p| p.operstate)),
            carrier: info.carrier.or(previous.as_ref().and_then(|p| p.carrier)),
        };
        let reportable = match &previous {
            None => true,
            Some(old) => {
                old.ifname != entry.ifname
                    || old.operstate != entry.operstate
                    || old.carrier != entry.carrier
                    || flags_say_up(old.flags) != flags_say_up(entry.flags)
            }
        };
        let status = entry.status();
        let ifname = entry.ifname.clone();
        self.links.insert(info.ifindex, entry);
        if reportable {
            out.push(NetlinkEvent::Link(LinkChange {
                ifindex: info.ifindex,
                ifname,
                previous: previous.map(|p| p.status().state),
                status,
            }));
        }
    }

    fn apply_del(&mut self, info: LinkInfo, out: &mut Vec<NetlinkEvent>) {
        if info.family != 0 {
            // An AF_BRIDGE RTM_DELLINK means "left the bridge", not "device removed".
            return;
        }
        if self.dump_in_flight.is_some() {
            self.seen_during_dump.insert(info.ifindex);
        }
        if let Some(old) = self.links.remove(&info.ifindex) {
            out.push(vanished(info.ifindex, old));
        }
    }

    fn finish_dump(&mut self, out: &mut Vec<NetlinkEvent>) {
        self.dump_in_flight = None;
        if self.dump_inconsistent {
            // An interrupted dump may have skipped links: keep the table and dump again.
            self.seen_during_dump.clear();
            self.dump_wanted = true;
            return;
        }
        let mut gone: Vec<u32> = self
            .links
            .keys()
            .filter(|index| !self.seen_during_dump.contains(index))
            .copied()
            .collect();
        gone.sort_unstable();
        for index in gone {
            if let Some(old) = self.links.remove(&index) {
                out.push(vanished(index, old));
            }
        }
        self.seen_during_dump.clear();
        if !self.dump_wanted {
            self.synchronized = true;
            out.push(NetlinkEvent::Synchronized);
        }
    }

    /// `true` once a dump has completed with no overrun since: the table is complete.
    pub fn is_synchronized(&self) -> bool {
        self.synchronized
    }

    /// Number of overruns seen.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// Links not tracked because the table was full.
    pub fn ignored_links(&self) -> u64 {
        self.ignored_links
    }

    /// Number of links in the table.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// `true` if no link is known.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Current status of the link with this index.
    pub fn status_by_index(&self, ifindex: u32) -> Option<LinkStatus> {
        self.links.get(&ifindex).map(Entry::status)
    }

    /// Current status and index of the link with this name.
    pub fn status_by_name(&self, ifname: &IfName) -> Option<(u32, LinkStatus)> {
        self.links
            .iter()
            .find(|(_, entry)| entry.ifname.as_ref() == Some(ifname))
            .map(|(index, entry)| (*index, entry.status()))
    }
}

fn vanished(ifindex: u32, old: Entry) -> NetlinkEvent {
    NetlinkEvent::Link(LinkChange {
        ifindex,
        previous: Some(old.status().state),
        ifname: old.ifname,
        status: LinkStatus {
            state: LinkState::Down,
            method: Method::Netlink,
            evidence: Evidence::Absent,
        },
    })
}
