//! The durable KV store: Redis commands over shards of hash slots, each shard a Raft group.
//!
//! - [`machine`]: [`KvMachine`], the state machine every shard's group replicates — a keyspace and
//!   its clock — and the bytes of its commands;
//! - [`store`]: [`Kv`], the [`Backend`](cloudlet_redis::Backend) of the KV listener — writes are
//!   proposed to the shard's group and answered once durable and applied, reads are answered from
//!   the applied state; expired keys are reclaimed through the log so replicas agree.
//!
//! Command semantics come from `cloudlet-keyspace`, the RESP server from `cloudlet-redis`, Raft from
//! `cloudlet-raft`: this crate only joins them. The cache runs the same commands without Raft.

pub mod machine;
pub mod store;

pub use machine::{KvCommand, KvMachine};
pub use store::{Kv, KvError, KvSettings};
