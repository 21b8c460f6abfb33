//! The Redis data model and what every command does to it.
//!
//! - [`slot`]: hash slots (CRC16-XMODEM, hash tags);
//! - [`value`]: strings, lists, hashes, sets, sorted sets, with running memory counts;
//! - [`keyspace`]: a keyspace with expiry, memory accounting and a stable scan order;
//!
//! Everything here is a deterministic function of the keyspace, the command and the time passed
//! in: the KV store runs it as a Raft state machine and the cache runs it directly. No I/O, no clock.

pub mod keyspace;
pub mod slot;
pub mod value;

pub use keyspace::{Entry, Keyspace};
pub use value::Value;
