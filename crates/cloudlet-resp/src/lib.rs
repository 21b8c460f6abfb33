//! The Redis serialization protocol, as a server speaks it.
//!
//! - [`request`]: commands from clients — RESP arrays of bulk strings and inline commands
//!   (`PING\r\n`, what redis-benchmark's PING_INLINE sends), parsed incrementally from a buffer,
//!   pipelines included, under [`Limits`] that reject oversized frames before allocating for them;
//! - [`reply`]: replies to clients, one [`Reply`] type encoded as RESP2 or RESP3 (after `HELLO 3`:
//!   maps, sets, doubles, booleans and nulls get their own types; in RESP2 they fold into arrays,
//!   bulk strings, integers and null bulks the way Redis folds them).
//!
//! No I/O and no other Cloudlet crate: bytes in, bytes out. A fuzz target lives in `fuzz/`.

pub mod reply;
pub mod request;

pub use reply::{Protocol, Reply};
pub use request::{Limits, ProtocolError, parse_command};
