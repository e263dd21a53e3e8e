//! The connection table: an ordered index over a slab of slots.
//!
//! Keys live in a `BTreeMap` whose values are 4-byte slot numbers, so tree
//! nodes stay small and inserts shift little memory; the entries themselves
//! sit in a slab (`Vec`) whose freed slots are reused.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, btree_map};
use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::ops::Bound;

use ssyncp_wire::v1::{CtFlow, CtTuple, CtTuples, EntryBody, TcpWindow};

use crate::entry::{Entry, OwnedOptions, PackedKey};
use crate::time::Instant;

/// A table slot: the entry plus receiver bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    entry: Stored,
    /// Backup aging: when the entry expires unless refreshed.
    pub(crate) expires_at: Instant,
    /// Value of the apply generation counter when last written.
    pub(crate) generation: u64,
}

impl Slot {
    pub(crate) fn new(entry: Entry, expires_at: Instant, generation: u64) -> Self {
        Slot {
            entry: Stored::from(entry),
            expires_at,
            generation,
        }
    }

    /// The stored entry, rebuilt in its owned form.
    pub(crate) fn entry(&self) -> Entry {
        match &self.entry {
            Stored::CtV4(flow) => flow.to_entry(),
            Stored::Other(entry) => Entry::clone(entry),
        }
    }

    /// The timeout the entry carries, in seconds.
    pub(crate) fn timeout_secs(&self) -> u32 {
        match &self.entry {
            Stored::CtV4(flow) => flow.timeout,
            Stored::Other(entry) => entry.timeout_secs(),
        }
    }
}

/// How an entry sits in the table. IPv4 conntrack flows without sequence adjustment or
/// byte-string options (nearly all of them) are kept inline in about 50 bytes; anything
/// else is boxed. An [`Entry`] is 152 bytes, so this more than halves a table of
/// 100,000 flows.
#[derive(Debug, Clone)]
enum Stored {
    CtV4(CompactCtV4),
    Other(Box<Entry>),
}

/// An IPv4 conntrack flow with only the inline options.
#[derive(Debug, Clone, Copy)]
struct CompactCtV4 {
    orig: CtTuple<Ipv4Addr>,
    reply: CtTuple<Ipv4Addr>,
    status: u32,
    timeout: u32,
    mark: Option<u32>,
    zone: Option<u16>,
    protocol: u8,
    l4_state: u8,
    tcp_window: Option<TcpWindow>,
}

impl CompactCtV4 {
    fn to_entry(self) -> Entry {
        Entry {
            protocol: self.protocol,
            body: EntryBody::Conntrack(CtFlow {
                status: self.status,
                l4_state: self.l4_state,
                zone: self.zone,
                timeout: self.timeout,
                mark: self.mark,
                tuples: CtTuples::V4 {
                    orig: self.orig,
                    reply: self.reply,
                },
            }),
            options: OwnedOptions {
                seq: None,
                tcp_window: self.tcp_window,
                bytes: None,
            },
        }
    }
}

impl From<Entry> for Stored {
    fn from(entry: Entry) -> Self {
        match (&entry.body, &entry.options) {
            (
                EntryBody::Conntrack(CtFlow {
                    status,
                    l4_state,
                    zone,
                    timeout,
                    mark,
                    tuples: CtTuples::V4 { orig, reply },
                }),
                OwnedOptions {
                    seq: None,
                    tcp_window,
                    bytes: None,
                },
            ) => Stored::CtV4(CompactCtV4 {
                orig: *orig,
                reply: *reply,
                status: *status,
                timeout: *timeout,
                mark: *mark,
                zone: *zone,
                protocol: entry.protocol,
                l4_state: *l4_state,
                tcp_window: *tcp_window,
            }),
            _ => Stored::Other(Box::new(entry)),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Table {
    index: BTreeMap<PackedKey, u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
}

impl Table {
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn slot(&self, at: u32) -> Option<&Slot> {
        self.slots.get(at as usize).and_then(Option::as_ref)
    }

    pub(crate) fn get(&self, key: &PackedKey) -> Option<&Slot> {
        self.index.get(key).and_then(|&at| self.slot(at))
    }

    pub(crate) fn contains_key(&self, key: &PackedKey) -> bool {
        self.index.contains_key(key)
    }

    /// Inserts or replaces the slot under `key` (one tree search); returns
    /// the generation of the slot replaced.
    pub(crate) fn insert(&mut self, key: PackedKey, slot: Slot) -> Option<u64> {
        match self.index.entry(key) {
            btree_map::Entry::Occupied(occupied) => {
                let place = self.slots.get_mut(*occupied.get() as usize)?;
                place.replace(slot).map(|old| old.generation)
            }
            btree_map::Entry::Vacant(vacant) => {
                let at = match self.free.pop() {
                    Some(at) => {
                        if let Some(place) = self.slots.get_mut(at as usize) {
                            *place = Some(slot);
                        }
                        at
                    }
                    None => {
                        // The engine caps the table far below 2^32 entries.
                        let at = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                        self.slots.push(Some(slot));
                        at
                    }
                };
                vacant.insert(at);
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &PackedKey) -> Option<Slot> {
        let at = self.index.remove(key)?;
        let slot = self.slots.get_mut(at as usize)?.take();
        self.free.push(at);
        slot
    }

    /// Every slot, in no particular order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Slot> + '_ {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }

    /// Every entry in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&PackedKey, &Slot)> + '_ {
        self.index
            .iter()
            .filter_map(|(key, &at)| Some((key, self.slot(at)?)))
    }

    /// Entries after `cursor` (from the start when `None`), in key order.
    pub(crate) fn after(
        &self,
        cursor: Option<PackedKey>,
    ) -> impl Iterator<Item = (&PackedKey, &Slot)> + '_ {
        let start = cursor.map_or(Bound::Unbounded, Bound::Excluded);
        self.index
            .range((start, Bound::Unbounded))
            .filter_map(|(key, &at)| Some((key, self.slot(at)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssyncp_wire::SeqOptions;

    fn flow_v4(tcp_window: Option<TcpWindow>) -> Entry {
        let t = |a: [u8; 4], b: [u8; 4], sp, dp| CtTuple {
            src: Ipv4Addr::from(a),
            dst: Ipv4Addr::from(b),
            sport: sp,
            dport: dp,
        };
        Entry {
            protocol: 6,
            body: EntryBody::Conntrack(CtFlow {
                status: 0x1ce,
                l4_state: 3,
                zone: Some(7),
                timeout: 431_999,
                mark: Some(42),
                tuples: CtTuples::V4 {
                    orig: t([10, 0, 0, 1], [10, 0, 1, 1], 40000, 443),
                    reply: t([10, 0, 1, 1], [192, 0, 2, 1], 443, 61000),
                },
            }),
            options: OwnedOptions {
                seq: None,
                tcp_window,
                bytes: None,
            },
        }
    }

    #[test]
    fn compact_slots_give_back_exactly_what_was_stored() {
        let window = TcpWindow {
            wscale_orig: 7,
            wscale_reply: 9,
            flags_orig: 0x0c,
            flags_reply: 0x04,
        };
        for entry in [flow_v4(None), flow_v4(Some(window))] {
            let slot = Slot::new(entry.clone(), Instant::ZERO, 1);
            assert!(matches!(slot.entry, Stored::CtV4(_)));
            assert_eq!(slot.entry(), entry);
            assert_eq!(slot.timeout_secs(), 431_999);
        }
        // Sequence adjustment does not fit inline: boxed, and still exact.
        let mut entry = flow_v4(None);
        entry.options.seq = Some(SeqOptions::default());
        let slot = Slot::new(entry.clone(), Instant::ZERO, 1);
        assert!(matches!(slot.entry, Stored::Other(_)));
        assert_eq!(slot.entry(), entry);
        assert!(
            core::mem::size_of::<Slot>() <= 96,
            "{}",
            core::mem::size_of::<Slot>()
        );
    }
}
