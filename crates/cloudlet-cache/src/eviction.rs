//! S3-FIFO eviction (Yang et al., SOSP 2023): a small FIFO that new keys enter, a main FIFO for keys
//! that proved themselves, and a ghost list of recently evicted keys. One-hit wonders leave from the
//! small queue without disturbing the main one (the admission filter); a key seen again after its
//! eviction (a ghost hit) goes straight to main.
//!
//! The queues hold keys lazily: a key deleted by a command stays queued until it reaches the front,
//! where it is skipped. [`S3Fifo::compact`] drops such leftovers when they pile up.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use bytes::Bytes;

/// The highest access count kept per key.
const MAX_FREQUENCY: u8 = 3;
/// Estimated bytes per tracked key (map slot, queue slot, ghost slot).
pub const TRACKING_OVERHEAD: usize = 64;

#[derive(Clone, Copy, Debug)]
struct Tracked {
    frequency: u8,
    in_main: bool,
}

/// The eviction state of one cache shard.
#[derive(Debug, Default)]
pub struct S3Fifo {
    small: VecDeque<Bytes>,
    main: VecDeque<Bytes>,
    tracked: HashMap<Bytes, Tracked, foldhash::fast::RandomState>,
    ghost: VecDeque<u64>,
    ghost_set: HashSet<u64, foldhash::fast::RandomState>,
}

fn fingerprint(key: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

impl S3Fifo {
    /// Keys tracked (live or leftover).
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }

    /// Records an access to `key`, which now exists: a new key enters the small queue (or main, if it
    /// was evicted recently); a known one counts one more use.
    pub fn touch(&mut self, key: &Bytes) {
        if let Some(tracked) = self.tracked.get_mut(key) {
            tracked.frequency = (tracked.frequency + 1).min(MAX_FREQUENCY);
            return;
        }
        let print = fingerprint(key);
        let in_main = self.ghost_set.remove(&print);
        self.tracked.insert(key.clone(), Tracked { frequency: 0, in_main });
        if in_main { self.main.push_back(key.clone()) } else { self.small.push_back(key.clone()) }
    }

    /// Chooses the next key to evict among those `exists` says are still present; `None` when no key
    /// is left to choose.
    pub fn victim(&mut self, mut exists: impl FnMut(&Bytes) -> bool) -> Option<Bytes> {
        let total = self.small.len() + self.main.len();
        // Every key can be rotated at most MAX_FREQUENCY + 1 times before it is chosen.
        for _ in 0..(total * (MAX_FREQUENCY as usize + 2) + 2) {
            let from_small = !self.small.is_empty() && (self.small.len() * 10 >= total || self.main.is_empty());
            let key = if from_small { self.small.pop_front() } else { self.main.pop_front() }?;
            if !exists(&key) {
                self.tracked.remove(&key);
                continue;
            }
            let Some(tracked) = self.tracked.get_mut(&key) else { continue };
            if from_small {
                if tracked.frequency > 0 {
                    tracked.frequency = 0;
                    tracked.in_main = true;
                    self.main.push_back(key);
                    continue;
                }
                self.remember(&key);
            } else if tracked.frequency > 0 {
                tracked.frequency -= 1;
                self.main.push_back(key);
                continue;
            }
            self.tracked.remove(&key);
            return Some(key);
        }
        None
    }

    /// Adds an evicted key to the ghost list, bounded by the keys tracked.
    fn remember(&mut self, key: &[u8]) {
        let print = fingerprint(key);
        if self.ghost_set.insert(print) {
            self.ghost.push_back(print);
        }
        let limit = self.tracked.len().max(1024);
        while self.ghost.len() > limit {
            if let Some(old) = self.ghost.pop_front() {
                self.ghost_set.remove(&old);
            }
        }
    }

    /// Drops queued keys for which `exists` is false.
    pub fn compact(&mut self, mut exists: impl FnMut(&Bytes) -> bool) {
        let tracked = &mut self.tracked;
        for queue in [&mut self.small, &mut self.main] {
            queue.retain(|key| {
                let keep = exists(key);
                if !keep {
                    tracked.remove(key);
                }
                keep
            });
        }
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn one_hit_wonders_leave_before_keys_used_again() {
        let mut policy = S3Fifo::default();
        for name in ["hot", "a", "b", "c"] {
            policy.touch(&key(name));
        }
        policy.touch(&key("hot"));
        let first = policy.victim(|_| true).expect("victim");
        assert_ne!(first, key("hot"), "a key used twice outlives keys used once");
    }

    #[test]
    fn a_ghost_hit_returns_to_main() {
        let mut policy = S3Fifo::default();
        policy.touch(&key("x"));
        assert_eq!(policy.victim(|_| true), Some(key("x")));
        policy.touch(&key("x"));
        assert_eq!(policy.main.len(), 1, "recently evicted keys come back into main");
    }

    #[test]
    fn keys_deleted_elsewhere_are_skipped_and_compacted() {
        let mut policy = S3Fifo::default();
        for name in ["a", "b"] {
            policy.touch(&key(name));
        }
        assert_eq!(policy.victim(|candidate| candidate != &key("a")), Some(key("b")));
        assert_eq!(policy.tracked(), 0);
        policy.touch(&key("c"));
        policy.compact(|_| false);
        assert_eq!(policy.tracked(), 0);
        assert_eq!(policy.victim(|_| true), None);
    }

    #[test]
    fn every_key_can_be_evicted_eventually() {
        let mut policy = S3Fifo::default();
        for index in 0..100 {
            let name = key(&format!("k{index}"));
            policy.touch(&name);
            policy.touch(&name);
            policy.touch(&name);
        }
        let mut evicted = 0;
        while policy.victim(|_| true).is_some() {
            evicted += 1;
        }
        assert_eq!(evicted, 100);
    }
}
