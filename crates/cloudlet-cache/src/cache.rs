//! The cache backend.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cloudlet_keyspace::{Context, Keyspace, Kind, execute, lookup};
use cloudlet_redis::{Backend, BackendStats, ShardView, SlotRanges, scan_across};
use cloudlet_resp::Reply;

use crate::eviction::{S3Fifo, TRACKING_OVERHEAD};

/// Shards of the cache; a power of two so slot ranges are even.
const SHARDS: usize = 16;
/// Expired keys removed per shard per purge round.
const PURGE_BUDGET: usize = 1000;

/// One shard: its keys and its eviction state.
struct Shard {
    keyspace: Keyspace,
    policy: S3Fifo,
}

impl Shard {
    fn used(&self) -> usize {
        self.keyspace.used_memory() + self.policy.tracked() * TRACKING_OVERHEAD
    }
}

/// The cache.
pub struct Cache {
    shards: Vec<Mutex<Shard>>,
    /// Bytes allowed per shard.
    budget: usize,
    max_memory: usize,
    evicted: AtomicU64,
    expired: AtomicU64,
    seed: AtomicU64,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn shard_of(slot: u16) -> usize {
    SlotRanges::new(SHARDS).shard_of(slot)
}

impl Cache {
    /// A cache holding at most `max_memory` bytes.
    pub fn new(max_memory: usize) -> Self {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Shard { keyspace: Keyspace::new(), policy: S3Fifo::default() }))
                .collect(),
            budget: max_memory / SHARDS,
            max_memory,
            evicted: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            seed: AtomicU64::new(u64::from_le_bytes(seed)),
        }
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn context(&self) -> Context {
        Context::new(now_ms(), self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
    }

    /// Evicts from a shard until it fits its budget; false when it cannot (nothing left to evict).
    fn fit(&self, shard: &mut Shard) -> bool {
        while shard.used() > self.budget {
            let keyspace = &shard.keyspace;
            let now = now_ms();
            let Some(victim) = shard.policy.victim(|key| keyspace.get(key, now).is_some()) else { return false };
            shard.keyspace.remove(&victim);
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Removes expired keys, a bounded number per shard; returns how many went.
    pub fn purge_expired(&self) -> usize {
        let now = now_ms();
        let mut purged = 0;
        for index in 0..SHARDS {
            let mut shard = self.lock(index);
            purged += shard.keyspace.purge_expired(now, PURGE_BUDGET);
            if shard.policy.tracked() > 2 * shard.keyspace.stored_keys() + 1024 {
                let Shard { keyspace, policy } = &mut *shard;
                policy.compact(|key| keyspace.get(key, now).is_some());
            }
        }
        self.expired.fetch_add(purged as u64, Ordering::Relaxed);
        purged
    }

    /// Runs [`Cache::purge_expired`] every 100 ms until `shutdown`.
    pub async fn purge_forever(self: std::sync::Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.purge_expired();
        }
    }
}

fn oom() -> Reply {
    Reply::error("OOM command not allowed when used memory > 'maxmemory'.")
}

impl Backend for Cache {
    async fn execute(&self, slot: u16, commands: Vec<Vec<Bytes>>, kind: Kind) -> Vec<Reply> {
        let mut context = self.context();
        let mut shard = self.lock(shard_of(slot));
        let mut replies = Vec::with_capacity(commands.len());
        let grows = commands.iter().any(|args| lookup(&args[0]).is_some_and(|spec| spec.flags.contains(&"denyoom")));
        if kind == Kind::Write && grows && !self.fit(&mut shard) {
            return commands.iter().map(|_| oom()).collect();
        }
        for args in &commands {
            let Shard { keyspace, policy } = &mut *shard;
            let reply = execute(keyspace, args, &mut context);
            if let Some(spec) = lookup(&args[0]) {
                for key in spec.keys(args) {
                    if keyspace.get(key, context.now).is_some() {
                        policy.touch(key);
                    }
                }
            }
            replies.push(reply);
        }
        if kind == Kind::Write {
            self.fit(&mut shard);
        }
        replies
    }

    async fn execute_everywhere(&self, args: Vec<Bytes>) -> Reply {
        let name = args[0].to_ascii_lowercase();
        let mut context = self.context();
        match name.as_slice() {
            b"dbsize" => {
                Reply::Integer((0..SHARDS).map(|index| self.lock(index).keyspace.len(context.now) as i64).sum())
            }
            b"flushdb" | b"flushall" => {
                for index in 0..SHARDS {
                    let mut shard = self.lock(index);
                    shard.keyspace.clear();
                    shard.policy.clear();
                }
                Reply::Ok
            }
            b"keys" => {
                let mut keys = Vec::new();
                for index in 0..SHARDS {
                    if let Reply::Array(found) = execute(&mut self.lock(index).keyspace, &args, &mut context) {
                        keys.extend(found);
                    }
                }
                Reply::Array(keys)
            }
            b"scan" => scan_across(SlotRanges::new(SHARDS), args, |shard, args| {
                execute(&mut self.lock(shard).keyspace, args, &mut context)
            }),
            b"randomkey" => {
                let start = context.below(SHARDS);
                for offset in 0..SHARDS {
                    let reply = execute(&mut self.lock((start + offset) % SHARDS).keyspace, &args, &mut context);
                    if reply != Reply::Null {
                        return reply;
                    }
                }
                Reply::Null
            }
            _ => cloudlet_keyspace::unknown_command(&args),
        }
    }

    async fn keys_in_slot(&self, slot: u16, count: usize) -> (Vec<Bytes>, usize) {
        let now = now_ms();
        let shard = self.lock(shard_of(slot));
        let keys: Vec<&Bytes> = shard.keyspace.keys_in_slot(slot, now).collect();
        let total = keys.len();
        (keys.into_iter().take(count).cloned().collect(), total)
    }

    fn shards(&self) -> Vec<ShardView> {
        SlotRanges::new(SHARDS).views()
    }

    fn stats(&self) -> BackendStats {
        let now = now_ms();
        let (mut keys, mut expires, mut used) = (0, 0, 0);
        for index in 0..SHARDS {
            let shard = self.lock(index);
            keys += shard.keyspace.len(now) as u64;
            expires += shard.keyspace.keys_with_expiry() as u64;
            used += shard.used() as u64;
        }
        BackendStats {
            keys,
            keys_with_expiry: expires,
            used_memory: used,
            max_memory: self.max_memory as u64,
            eviction_policy: "allkeys-s3fifo",
            evicted_keys: self.evicted.load(Ordering::Relaxed),
            expired_keys: self.expired.load(Ordering::Relaxed),
            durable: false,
        }
    }
}

#[cfg(test)]
mod tests;
