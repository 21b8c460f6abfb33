//! The RESP server of the KV store and of the cache: one implementation, two backends.
//!
//! - [`backend`]: the [`Backend`] trait a keyspace implements (the Raft-backed KV, the in-memory cache);
//! - [`server`]: the listener — connection limit, graceful stop;
//! - `connection`: one client — pipelined parsing, protocol version, authentication, `MULTI`/`EXEC`;
//! - `dispatch`: which command goes where — server commands here, data commands to the backend with
//!   their slot (`-CROSSSLOT` when keys disagree), keyless ones across every shard;
//! - `cluster`: `CLUSTER SLOTS / SHARDS / NODES / INFO / KEYSLOT …` answered truthfully for this node;
//! - `info`: `INFO`;
//! - [`shards`]: shards as even slot ranges, and `SCAN` across them (for backends).
//!
//! It depends on the codec (`cloudlet-resp`) and the command table (`cloudlet-keyspace`) only.

pub mod backend;
mod cluster;
mod connection;
mod dispatch;
mod info;
pub mod server;
pub mod shards;

pub use backend::{Backend, BackendStats, ShardView};
pub use server::{RedisServer, ServerSettings};
pub use shards::{SlotRanges, scan_across};
