//! [`Kv`]: the KV listener's backend — shards of slots, each a Raft group.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cloudlet_keyspace::Kind;
use cloudlet_raft::{Group, GroupError, GroupSettings, Storage};
use cloudlet_redis::{Backend, BackendStats, ShardView, SlotRanges, scan_across};
use cloudlet_resp::Reply;
use tokio_util::sync::CancellationToken;

use crate::machine::{KvCommand, KvMachine};

/// How the store is laid out.
#[derive(Clone, Debug)]
pub struct KvSettings {
    /// Shards (Raft groups) over the 16384 slots; a power of two. Several per node so writes to
    /// different shards are applied in parallel.
    pub shards: usize,
    pub group: GroupSettings,
    /// How often expired keys are looked for.
    pub purge_interval: Duration,
}

impl Default for KvSettings {
    fn default() -> Self {
        Self { shards: 8, group: GroupSettings::default(), purge_interval: Duration::from_millis(100) }
    }
}

/// Why the store did not open.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("the KV store cannot open shard {shard}: {source}")]
    Shard { shard: usize, source: GroupError },
}

/// Expired keys removed per shard per purge proposal.
const PURGE_BUDGET: u32 = 1000;

/// The durable KV store.
pub struct Kv {
    groups: Vec<Group<KvMachine>>,
    ranges: SlotRanges,
    seed: AtomicU64,
    expired: AtomicU64,
    purge_interval: Duration,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The reply for a write that did not commit. Nothing was acknowledged, so the client may retry.
fn failed(error: GroupError) -> Reply {
    match error {
        GroupError::NotLeader { .. } => Reply::error(format!("TRYAGAIN {error}")),
        other => Reply::error(format!("ERR the write was not made durable: {other}")),
    }
}

impl Kv {
    /// Opens every shard's group on `storage` (restoring each from its snapshot and log).
    pub async fn open(storage: &Storage, settings: &KvSettings) -> Result<Self, KvError> {
        let ranges = SlotRanges::new(settings.shards);
        let opening = (0..settings.shards).map(|shard| {
            let (storage, group) = (storage.clone(), settings.group.clone());
            async move {
                Group::open(&storage, &format!("kv-{shard}"), &group)
                    .await
                    .map_err(|source| KvError::Shard { shard, source })
            }
        });
        let groups = futures_util::future::join_all(opening).await.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Ok(Self {
            groups,
            ranges,
            seed: AtomicU64::new(u64::from_le_bytes(seed)),
            expired: AtomicU64::new(0),
            purge_interval: settings.purge_interval,
        })
    }

    fn next_seed(&self) -> u64 {
        self.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
    }

    /// Proposes `command` to `shard`; its replies once durable and applied.
    async fn propose(&self, shard: usize, command: KvCommand) -> Result<Vec<Reply>, Reply> {
        self.groups[shard].propose(command).await.map_err(failed)
    }

    /// Proposes a purge to every shard that has expired keys; returns how many went.
    pub async fn purge_expired(&self) -> u64 {
        let now = now_ms();
        let mut purged = 0;
        for (shard, group) in self.groups.iter().enumerate() {
            if !group.query(|machine| machine.keyspace().has_expired(now)) {
                continue;
            }
            if let Ok(replies) = self.propose(shard, KvCommand::Purge { now, budget: PURGE_BUDGET }).await
                && let Some(Reply::Integer(count)) = replies.first()
            {
                purged += *count as u64;
            }
        }
        self.expired.fetch_add(purged, Ordering::Relaxed);
        purged
    }

    /// Runs [`Kv::purge_expired`] every purge interval until `shutdown`.
    pub async fn purge_forever(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.purge_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            self.purge_expired().await;
        }
    }

    /// Asks every shard for a snapshot (operations, tests).
    pub async fn snapshot_now(&self) -> Result<(), GroupError> {
        for group in &self.groups {
            group.snapshot_now().await?;
        }
        Ok(())
    }

    /// Where each shard's log stands.
    pub fn progress(&self) -> Vec<cloudlet_raft::Progress> {
        self.groups.iter().map(Group::progress).collect()
    }

    /// Stops every group. Everything acknowledged is already durable.
    pub async fn shutdown(&self) {
        futures_util::future::join_all(self.groups.iter().map(Group::shutdown)).await;
    }
}

impl Backend for Kv {
    async fn execute(&self, slot: u16, commands: Vec<Vec<Bytes>>, kind: Kind) -> Vec<Reply> {
        let shard = self.ranges.shard_of(slot);
        if kind == Kind::Read {
            let (now, seed) = (now_ms(), self.next_seed());
            return self.groups[shard]
                .query(|machine| commands.iter().map(|args| machine.read(args, now, seed)).collect());
        }
        let count = commands.len();
        let command = KvCommand::Run { now: now_ms(), seed: self.next_seed(), commands: Arc::new(commands) };
        self.propose(shard, command).await.unwrap_or_else(|error| vec![error; count])
    }

    async fn execute_everywhere(&self, args: Vec<Bytes>) -> Reply {
        let name = args[0].to_ascii_lowercase();
        let now = now_ms();
        match name.as_slice() {
            b"flushdb" | b"flushall" => {
                let flushes = (0..self.groups.len()).map(|shard| self.propose(shard, KvCommand::Flush));
                for result in futures_util::future::join_all(flushes).await {
                    if let Err(reply) = result {
                        return reply;
                    }
                }
                Reply::Ok
            }
            b"dbsize" => Reply::Integer(
                self.groups.iter().map(|group| group.query(|machine| machine.keyspace().len(now) as i64)).sum(),
            ),
            b"keys" => {
                let mut keys = Vec::new();
                for group in &self.groups {
                    if let Reply::Array(found) = group.query(|machine| machine.read(&args, now, 0)) {
                        keys.extend(found);
                    }
                }
                Reply::Array(keys)
            }
            b"scan" => scan_across(self.ranges, args, |shard, args| {
                self.groups[shard].query(|machine| machine.read(args, now, 0))
            }),
            b"randomkey" => {
                let start = (self.next_seed() % self.groups.len() as u64) as usize;
                for offset in 0..self.groups.len() {
                    let group = &self.groups[(start + offset) % self.groups.len()];
                    let reply = group.query(|machine| machine.read(&args, now, self.next_seed()));
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
        self.groups[self.ranges.shard_of(slot)].query(|machine| {
            let keys: Vec<&Bytes> = machine.keyspace().keys_in_slot(slot, now).collect();
            let total = keys.len();
            (keys.into_iter().take(count).cloned().collect(), total)
        })
    }

    fn shards(&self) -> Vec<ShardView> {
        self.ranges.views()
    }

    fn stats(&self) -> BackendStats {
        let now = now_ms();
        let (mut keys, mut expires, mut used) = (0, 0, 0);
        for group in &self.groups {
            group.query(|machine| {
                let keyspace = machine.keyspace();
                keys += keyspace.len(now) as u64;
                expires += keyspace.keys_with_expiry() as u64;
                used += keyspace.used_memory() as u64;
            });
        }
        BackendStats {
            keys,
            keys_with_expiry: expires,
            used_memory: used,
            max_memory: 0,
            eviction_policy: "noeviction",
            evicted_keys: 0,
            expired_keys: self.expired.load(Ordering::Relaxed),
            durable: true,
        }
    }
}
