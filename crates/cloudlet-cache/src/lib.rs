//! The cache: Redis commands over keyspaces held in memory only, bounded in size.
//!
//! - [`cache`]: [`Cache`], the [`Backend`](cloudlet_redis::Backend) of the cache listener — shards
//!   by slot range, each a keyspace behind a mutex with its share of the memory bound;
//! - [`eviction`]: the S3-FIFO policy that chooses what leaves when a shard is full.
//!
//! Memory counts keys, values and per-key overhead (estimates; see `cloudlet_keyspace::value`).
//! Writes that cannot fit even after evicting get `-OOM`. Expired keys are never returned and are
//! reclaimed by [`Cache::purge_expired`], which the node runs in the background.

pub mod cache;
pub mod eviction;

pub use cache::Cache;
