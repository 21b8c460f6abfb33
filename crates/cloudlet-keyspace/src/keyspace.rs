//! A keyspace: keys to values, with expiry, memory accounting and a stable scan order.
//!
//! Reads never change anything (an expired key is simply absent), so the same keyspace can back a
//! Raft state machine whose replicas must stay identical; expired keys are removed by writes (lazily,
//! on the key they touch) and by [`Keyspace::purge_expired`]. Time is always passed in — milliseconds
//! since the Unix epoch — never read from a clock here.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash as _, Hasher};

use bytes::Bytes;

use crate::slot::slot;
use crate::value::{KEY_OVERHEAD, Value};

/// A key's value and when it expires.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Milliseconds since the Unix epoch; `None` = never.
    pub expires_at: Option<u64>,
}

impl Entry {
    pub fn new(value: Value) -> Self {
        Self { value, expires_at: None }
    }

    fn alive(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// One keyspace (one database).
#[derive(Clone, Debug, Default)]
pub struct Keyspace {
    /// foldhash: fast, and seeded per process so clients cannot aim keys at one bucket.
    entries: HashMap<Bytes, Entry, foldhash::fast::RandomState>,
    /// Keys in scan order: (slot << 48 | 48 bits of hash), key.
    index: BTreeSet<(u64, Bytes)>,
    /// Keys with a deadline, earliest first.
    deadlines: BTreeSet<(u64, Bytes)>,
    used_memory: usize,
}

/// The position of a key in scan order: grouped by slot, then by a hash, never 0 (0 = "start").
pub fn scan_position(key: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    let position = (u64::from(slot(key)) << 48) | (hasher.finish() >> 16);
    position.max(1)
}

impl Keyspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Estimated bytes held by keys and values.
    pub fn used_memory(&self) -> usize {
        self.used_memory
    }

    /// Keys stored, including expired ones not yet removed.
    pub fn stored_keys(&self) -> usize {
        self.entries.len()
    }

    /// Keys with a deadline.
    pub fn keys_with_expiry(&self) -> usize {
        self.deadlines.len()
    }

    /// Whether some key's deadline is at or before `now` (it is due to be purged).
    pub fn has_expired(&self, now: u64) -> bool {
        self.deadlines.first().is_some_and(|(at, _)| *at <= now)
    }

    /// Live keys at `now`.
    pub fn len(&self, now: u64) -> usize {
        let expired = self.deadlines.range(..(now + 1, Bytes::new())).count();
        self.entries.len() - expired
    }

    pub fn is_empty(&self, now: u64) -> bool {
        self.len(now) == 0
    }

    /// The live entry of `key` at `now`.
    pub fn get(&self, key: &[u8], now: u64) -> Option<&Entry> {
        self.entries.get(key).filter(|entry| entry.alive(now))
    }

    /// The live entry of `key`, for changing its value in place; an expired one is removed first.
    /// Call [`Keyspace::settle`] after changing the value so memory and emptiness are accounted.
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        self.remove_if_expired(key, now);
        self.entries.get_mut(key)
    }

    /// Re-accounts a key after its value changed in place (`before` = its memory before), and
    /// deletes it if it became an empty collection.
    pub fn settle(&mut self, key: &[u8], before: usize) {
        let Some(entry) = self.entries.get(key) else { return };
        let after = entry.value.memory();
        let empty = entry.value.is_empty_collection();
        self.used_memory = self.used_memory + after - before;
        if empty {
            self.remove(key);
        }
    }

    /// Stores `value` under `key`, keeping or replacing the deadline as asked.
    pub fn insert(&mut self, key: Bytes, value: Value, expires_at: Option<u64>) {
        let value_memory = value.memory();
        if let Some(entry) = self.entries.get_mut(&key) {
            // An overwrite: the key keeps its place in the scan index (the common case of a SET to
            // an existing key costs one hash lookup, no tree update).
            let replaced = std::mem::replace(entry, Entry { value, expires_at });
            self.used_memory = self.used_memory + value_memory - replaced.value.memory();
            if replaced.expires_at != expires_at {
                if let Some(at) = replaced.expires_at {
                    self.deadlines.remove(&(at, key.clone()));
                }
                if let Some(at) = expires_at {
                    self.deadlines.insert((at, key));
                }
            }
            return;
        }
        self.index.insert((scan_position(&key), key.clone()));
        if let Some(at) = expires_at {
            self.deadlines.insert((at, key.clone()));
        }
        self.used_memory += key.len() + KEY_OVERHEAD + value_memory;
        self.entries.insert(key, Entry { value, expires_at });
    }

    /// Removes a key (live or expired); returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (key, entry) = self.entries.remove_entry(key)?;
        self.index.remove(&(scan_position(&key), key.clone()));
        if let Some(at) = entry.expires_at {
            self.deadlines.remove(&(at, key.clone()));
        }
        self.used_memory -= key.len() + KEY_OVERHEAD + entry.value.memory();
        Some(entry)
    }

    /// Removes a key if it exists and is live; returns whether it did.
    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        self.remove_if_expired(key, now);
        self.remove(key).is_some()
    }

    /// Sets or clears the deadline of a live key; false when there is no such key.
    pub fn set_expiry(&mut self, key: &[u8], expires_at: Option<u64>, now: u64) -> bool {
        self.remove_if_expired(key, now);
        let Some((stored_key, entry)) = self.entries.get_key_value(key) else { return false };
        let stored_key = stored_key.clone();
        let old = entry.expires_at;
        if let Some(at) = old {
            self.deadlines.remove(&(at, stored_key.clone()));
        }
        if let Some(at) = expires_at {
            self.deadlines.insert((at, stored_key.clone()));
        }
        if let Some(entry) = self.entries.get_mut(&stored_key) {
            entry.expires_at = expires_at;
        }
        true
    }

    fn remove_if_expired(&mut self, key: &[u8], now: u64) {
        if self.entries.get(key).is_some_and(|entry| !entry.alive(now)) {
            self.remove(key);
        }
    }

    /// Removes up to `budget` expired keys, earliest deadline first; returns how many.
    pub fn purge_expired(&mut self, now: u64, budget: usize) -> usize {
        let due: Vec<Bytes> =
            self.deadlines.range(..(now + 1, Bytes::new())).take(budget).map(|(_, key)| key.clone()).collect();
        for key in &due {
            self.remove(key);
        }
        due.len()
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Live keys from scan position `cursor` on, at least `count` of them unless the end comes
    /// first, never splitting a group of equal positions; returns them and the next cursor (0 = done).
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut keep: impl FnMut(&Bytes, &Entry) -> bool,
    ) -> (Vec<Bytes>, u64) {
        let mut keys = Vec::new();
        let mut last_position = None;
        for (visited, (position, key)) in self.index.range((cursor, Bytes::new())..).enumerate() {
            if visited >= count && last_position != Some(*position) {
                return (keys, *position);
            }
            last_position = Some(*position);
            if let Some(entry) = self.entries.get(key).filter(|entry| entry.alive(now))
                && keep(key, entry)
            {
                keys.push(key.clone());
            }
        }
        (keys, 0)
    }

    /// Every stored entry, expired ones included, in no particular order (snapshots).
    pub fn stored(&self) -> impl Iterator<Item = (&Bytes, &Entry)> {
        self.entries.iter()
    }

    /// Every live key, in scan order.
    pub fn keys(&self, now: u64) -> impl Iterator<Item = &Bytes> {
        self.index.iter().map(|(_, key)| key).filter(move |key| self.get(key, now).is_some())
    }

    /// Live keys of one slot.
    pub fn keys_in_slot(&self, slot: u16, now: u64) -> impl Iterator<Item = &Bytes> {
        let start = u64::from(slot) << 48;
        let end = (u64::from(slot) + 1) << 48;
        self.index
            .range((start, Bytes::new())..(end, Bytes::new()))
            .map(|(_, key)| key)
            .filter(move |key| self.get(key, now).is_some())
    }
}

#[cfg(test)]
mod tests;
