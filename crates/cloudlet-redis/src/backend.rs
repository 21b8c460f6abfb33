//! What a keyspace offers the RESP server.

use std::future::Future;

use bytes::Bytes;
use cloudlet_keyspace::Kind;
use cloudlet_resp::Reply;

/// A shard as the cluster commands show it.
#[derive(Clone, Debug)]
pub struct ShardView {
    /// 40 hex characters, stable for the shard.
    pub id: String,
    /// Inclusive slot ranges it owns.
    pub slots: Vec<(u16, u16)>,
}

/// Figures for `INFO`.
#[derive(Clone, Debug, Default)]
pub struct BackendStats {
    pub keys: u64,
    pub keys_with_expiry: u64,
    pub used_memory: u64,
    /// 0 = no limit.
    pub max_memory: u64,
    pub eviction_policy: &'static str,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// `yes` when writes are made durable before they are acknowledged.
    pub durable: bool,
}

/// A keyspace the server can run data commands against.
pub trait Backend: Send + Sync + 'static {
    /// Runs `commands` atomically, in order, against the shard that owns `slot` (`None` for keyless
    /// commands that touch one shard's data only, such as none today). One command normally; several
    /// for `EXEC`. `kind` is `Read` when every command only reads.
    fn execute(&self, slot: u16, commands: Vec<Vec<Bytes>>, kind: Kind) -> impl Future<Output = Vec<Reply>> + Send;

    /// Runs a keyless command that spans every shard: `DBSIZE`, `FLUSHDB`/`FLUSHALL`, `KEYS`, `SCAN`,
    /// `RANDOMKEY`.
    fn execute_everywhere(&self, args: Vec<Bytes>) -> impl Future<Output = Reply> + Send;

    /// Keys of one slot (`CLUSTER GETKEYSINSLOT`) and how many there are (`COUNTKEYSINSLOT`).
    fn keys_in_slot(&self, slot: u16, count: usize) -> impl Future<Output = (Vec<Bytes>, usize)> + Send;

    /// The shards and the slots they own.
    fn shards(&self) -> Vec<ShardView>;

    fn stats(&self) -> BackendStats;
}
