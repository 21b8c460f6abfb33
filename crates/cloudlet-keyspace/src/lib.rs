//! The Redis data model and what every command does to it.
//!
//! - [`slot`]: hash slots (CRC16-XMODEM, hash tags);
//! - [`value`]: strings, lists, hashes, sets, sorted sets, with running memory counts;
//! - [`keyspace`]: a keyspace with expiry, memory accounting and a stable scan order;
//! - [`commands`]: every data command's semantics and the command [table](commands::table);
//! - [`pattern`]: glob patterns (KEYS, SCAN MATCH);
//! - [`encoding`]: a keyspace as bytes, for the KV store's snapshots.
//!
//! Everything here is a deterministic function of the keyspace, the command and the time passed
//! in: the KV store runs it as a Raft state machine and the cache runs it directly. No I/O, no clock.

pub mod commands;
pub mod encoding;
pub mod keyspace;
pub mod pattern;
pub mod slot;
pub mod value;

pub use commands::{CommandSpec, Context, Kind, execute, lookup, unknown_command, wrong_arity};
pub use keyspace::{Entry, Keyspace};
pub use value::Value;
