//! The connection table: an ordered index over a slab of slots.
//!
//! Keys live in a `BTreeMap` whose values are 4-byte slot numbers, so tree
//! nodes stay small and inserts shift little memory; the entries themselves
//! sit in a slab (`Vec`) whose freed slots are reused.

use alloc::collections::{BTreeMap, btree_map};
use alloc::vec::Vec;
use core::ops::Bound;

use crate::entry::{Entry, PackedKey};
use crate::time::Instant;

/// A table slot: the entry plus receiver bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) entry: Entry,
    /// Backup aging: when the entry expires unless refreshed.
    pub(crate) expires_at: Instant,
    /// Value of the apply generation counter when last written.
    pub(crate) generation: u64,
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
