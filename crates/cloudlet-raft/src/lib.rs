//! Raft for Cloudlet's durable state: every KV shard and the app metadata are Raft groups.
//!
//! A node runs many groups over one [`Storage`]: a single fjall database holds every group's log,
//! and a single writer thread commits what all of them append with one fsync per round (group
//! commit). Each [`Group`] is an openraft instance over a [`StateMachine`] held in memory, made
//! durable by the log and by snapshot files, after which the log is cut.
//!
//! - [`machine`]: the [`StateMachine`] trait and the openraft type configuration built from it;
//! - [`storage`]: the node's log database and its writer thread;
//! - `log`: one group's log (openraft's `RaftLogStorage`), with its unapplied tail in memory;
//! - `state`: one group's state (openraft's `RaftStateMachine`) and snapshot building;
//! - `snapshot`: snapshot files, written atomically;
//! - [`codec`]: the bytes of entries, votes and memberships;
//! - [`network`]: the transport between members (none on a node of one);
//! - [`group`]: [`Group`] — open, propose, query, snapshot, stop;
//! - `proposer`: batches the proposals that arrive together into one entry (one fsync for many).
//!
//! Promise: a proposal's future resolves only after its entry is fsynced and applied, so an
//! acknowledged write survives `kill -9` and power loss. This crate knows nothing of Redis or apps.

pub mod codec;
pub mod group;
mod log;
pub mod machine;
pub mod network;
mod proposer;
mod snapshot;
mod state;
pub mod storage;

pub use group::{Group, GroupError, GroupSettings, Progress};
pub use machine::{Batch, NodeId, StateMachine};
pub use storage::{Storage, StorageError};
