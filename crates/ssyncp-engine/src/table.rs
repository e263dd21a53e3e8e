//! The connection table: a hash index over a slab of slots.
//!
//! Entries sit in a slab (`Vec`) whose freed slots are reused; a
//! `hashbrown` table of 4-byte slot numbers finds them by key. Walks (bulk,
//! refresh, aging) go through the slab in slot order with a slot-number
//! cursor.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr};

use hashbrown::{HashTable, hash_table};

use ssyncp_wire::v1::{CtFlow, CtTuple, CtTuples, EntryBody, TcpWindow};

use crate::entry::{Entry, EntryKey, OwnedOptions, PackedKey};
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

    /// The entry's key in packed form (without rebuilding the entry).
    pub(crate) fn packed_key(&self) -> PackedKey {
        match &self.entry {
            Stored::CtV4(flow) => PackedKey::pack(&EntryKey::Conntrack {
                protocol: flow.protocol,
                zone: flow.zone.unwrap_or(0),
                src: IpAddr::V4(flow.orig.src),
                dst: IpAddr::V4(flow.orig.dst),
                sport: flow.orig.sport,
                dport: flow.orig.dport,
            }),
            Stored::Other(entry) => PackedKey::pack(&entry.key()),
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

/// Entries in a slab of slots, found through a hash index of slot numbers.
///
/// The index stores only 4-byte slot numbers: a key is recomputed from its
/// slot when the index compares or rehashes, so the table keeps each key
/// once (inside the entry) instead of a second copy in the index.
#[derive(Debug)]
pub(crate) struct Table {
    index: HashTable<u32>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    seed: u64,
}

/// The key of the slot at `at`, or `None` for a free slot.
fn key_at(slots: &[Option<Slot>], at: u32) -> Option<PackedKey> {
    slots
        .get(at as usize)
        .and_then(Option::as_ref)
        .map(Slot::packed_key)
}

impl Table {
    /// An empty table whose index hashes with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Table {
            index: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seed,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn slot(&self, at: u32) -> Option<&Slot> {
        self.slots.get(at as usize).and_then(Option::as_ref)
    }

    /// Slot number of `key`, if present.
    fn position(&self, key: &PackedKey) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(key.hash(self.seed), |&at| key_at(slots, at) == Some(*key))
            .copied()
    }

    pub(crate) fn get(&self, key: &PackedKey) -> Option<&Slot> {
        self.slot(self.position(key)?)
    }

    pub(crate) fn contains_key(&self, key: &PackedKey) -> bool {
        self.position(key).is_some()
    }

    /// Inserts or replaces the slot under `key` (one index probe); returns
    /// the generation of the slot replaced.
    pub(crate) fn insert(&mut self, key: PackedKey, slot: Slot) -> Option<u64> {
        // The index finds entries by the key their slot yields: the two must agree.
        debug_assert!(slot.packed_key() == key, "slot and key disagree");
        let seed = self.seed;
        let slots = &self.slots;
        let found = self.index.entry(
            key.hash(seed),
            |&at| key_at(slots, at) == Some(key),
            |&at| key_at(slots, at).map_or(0, |k| k.hash(seed)),
        );
        match found {
            hash_table::Entry::Occupied(occupied) => {
                let place = self.slots.get_mut(*occupied.get() as usize)?;
                place.replace(slot).map(|old| old.generation)
            }
            hash_table::Entry::Vacant(vacant) => {
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
        let slots = &self.slots;
        let at = self
            .index
            .find_entry(key.hash(self.seed), |&at| key_at(slots, at) == Some(*key))
            .ok()?
            .remove()
            .0;
        self.release(at)
    }

    /// Removes the entry in slot `at`; returns its key and slot.
    pub(crate) fn remove_at(&mut self, at: u32) -> Option<(PackedKey, Slot)> {
        let key = key_at(&self.slots, at)?;
        self.index
            .find_entry(key.hash(self.seed), |&i| i == at)
            .ok()?
            .remove();
        Some((key, self.release(at)?))
    }

    fn release(&mut self, at: u32) -> Option<Slot> {
        let slot = self.slots.get_mut(at as usize)?.take();
        self.free.push(at);
        // A table that emptied gives its slab back.
        if self.index.is_empty() {
            self.slots.clear();
            self.free.clear();
        }
        slot
    }

    /// Every slot, in no particular order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Slot> + '_ {
        self.slots.iter_mut().filter_map(Option::as_mut)
    }

    /// Every entry with its key, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (PackedKey, &Slot)> + '_ {
        self.slots
            .iter()
            .filter_map(|slot| slot.as_ref().map(|slot| (slot.packed_key(), slot)))
    }

    /// Entries in slot order with their slot numbers, after slot `cursor`
    /// (from the first when `None`). Walks resume from a slot number: an
    /// entry never moves, so a walk sees every entry that stays in the table
    /// throughout it; one added behind the cursor meanwhile waits for the
    /// next walk (and was sent or applied when it was added).
    pub(crate) fn after(&self, cursor: Option<u32>) -> impl Iterator<Item = (u32, &Slot)> + '_ {
        let start = cursor.map_or(0, |at| at as usize + 1);
        self.slots
            .get(start..)
            .unwrap_or_default()
            .iter()
            .zip(start..)
            .filter_map(|(slot, at)| Some((u32::try_from(at).ok()?, slot.as_ref()?)))
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

    fn flow_with_port(sport: u16) -> Entry {
        let mut entry = flow_v4(None);
        if let EntryBody::Conntrack(flow) = &mut entry.body
            && let CtTuples::V4 { orig, .. } = &mut flow.tuples
        {
            orig.sport = sport;
        }
        entry
    }

    #[test]
    fn a_slot_knows_its_key_in_both_forms() {
        let mut boxed = flow_v4(None);
        boxed.options.seq = Some(SeqOptions::default());
        for entry in [flow_v4(None), boxed, flow_with_port(1)] {
            let slot = Slot::new(entry.clone(), Instant::ZERO, 0);
            assert!(slot.packed_key() == PackedKey::pack(&entry.key()));
        }
    }

    #[test]
    fn index_finds_replaces_and_removes_across_growth_and_reuse() {
        let mut table = Table::new(0x5eed);
        let key = |port: u16| PackedKey::pack(&flow_with_port(port).key());
        for port in 0..5000u16 {
            let slot = Slot::new(flow_with_port(port), Instant::ZERO, u64::from(port));
            assert_eq!(table.insert(key(port), slot), None);
        }
        assert_eq!(table.len(), 5000);
        // Replacing keeps one entry and hands back the old generation.
        let again = Slot::new(flow_with_port(7), Instant::ZERO, 99_999);
        assert_eq!(table.insert(key(7), again), Some(7));
        assert_eq!(table.len(), 5000);
        assert_eq!(table.get(&key(7)).map(|s| s.generation), Some(99_999));
        // Remove every even port, by key or by slot number.
        let positions: Vec<(u32, u64)> = table
            .after(None)
            .map(|(at, slot)| (at, slot.generation))
            .collect();
        for (at, generation) in positions {
            if generation % 2 == 0 && generation < 2500 {
                let (removed, _) = table.remove_at(at).expect("present");
                assert!(!table.contains_key(&removed));
            }
        }
        for port in (2500..5000u16).step_by(2) {
            assert!(table.remove(&key(port)).is_some());
            assert!(table.remove(&key(port)).is_none());
        }
        assert_eq!(table.len(), 2500);
        for port in 0..5000u16 {
            assert_eq!(table.contains_key(&key(port)), port % 2 == 1, "port {port}");
        }
        // Freed slots are reused, and the index still finds everything.
        let slab = table.slots.len();
        for port in (0..5000u16).step_by(2) {
            table.insert(key(port), Slot::new(flow_with_port(port), Instant::ZERO, 0));
        }
        assert_eq!(table.slots.len(), slab);
        assert!((0..5000u16).all(|port| table.get(&key(port)).is_some()));
        // Emptied, the table lets its slab go.
        for port in 0..5000u16 {
            table.remove(&key(port));
        }
        assert!(table.is_empty() && table.slots.is_empty());
    }

    #[test]
    fn a_cursor_walk_sees_every_entry_that_stays() {
        let mut table = Table::new(1);
        let key = |port: u16| PackedKey::pack(&flow_with_port(port).key());
        for port in 0..100u16 {
            table.insert(key(port), Slot::new(flow_with_port(port), Instant::ZERO, 0));
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let step: Vec<u32> = table.after(cursor).take(7).map(|(at, _)| at).collect();
            let Some(&last) = step.last() else { break };
            seen.extend(step.iter().map(|&at| table.slot(at).map(Slot::packed_key)));
            cursor = Some(last);
            // Churn ahead of the cursor: one entry leaves per step.
            let ahead = table.after(cursor).nth(3).map(|(at, _)| at);
            if let Some(at) = ahead {
                table.remove_at(at);
            }
        }
        let removed = 100 - table.len();
        assert!(removed > 0);
        let survivors: Vec<PackedKey> = table.iter().map(|(k, _)| k).collect();
        for k in &survivors {
            assert!(seen.contains(&Some(*k)), "a surviving entry was skipped");
        }
    }
}
