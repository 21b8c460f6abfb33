//! What every data command does: `execute(keyspace, args, context) -> Reply`.
//!
//! Arguments are the raw command words (name first). Errors are the replies Redis gives, word for
//! word where clients or tests match on them. The [`table`] knows each command's arity, flags and
//! key positions (for `COMMAND`, slot checks and `CROSSSLOT`). Connection and server commands
//! (`HELLO`, `AUTH`, `CLIENT`, `CLUSTER`, `INFO` …) belong to the server, not here.

pub mod table;

mod hashes;
mod keys;
mod lists;
mod sets;
mod strings;
mod zsets;

use bytes::Bytes;
use cloudlet_resp::Reply;

use crate::keyspace::Keyspace;
use crate::value::Value;

pub use table::{CommandSpec, Kind, lookup};

/// The time and randomness a command runs with; both come from outside so replicas agree.
#[derive(Clone, Debug)]
pub struct Context {
    /// Milliseconds since the Unix epoch.
    pub now: u64,
    random: u64,
}

impl Context {
    pub fn new(now: u64, seed: u64) -> Self {
        Self { now, random: seed }
    }

    /// SplitMix64: deterministic for a seed, good enough to pick members.
    pub fn next_random(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random index below `bound` (> 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_random() % bound as u64) as usize
    }
}

/// Runs a data command. The caller has checked arity with [`lookup`].
pub fn execute(keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Reply {
    let Some(spec) = table::lookup(&args[0]) else { return unknown_command(args) };
    let name = spec.name.as_bytes();
    let outcome = match name {
        b"get" | b"set" | b"mget" | b"mset" | b"msetnx" | b"setnx" | b"setex" | b"psetex" | b"getdel" | b"getex"
        | b"getset" | b"incr" | b"incrby" | b"incrbyfloat" | b"decr" | b"decrby" | b"append" | b"strlen"
        | b"getrange" | b"setrange" | b"substr" => strings::execute(name, keyspace, args, context),
        b"del" | b"unlink" | b"exists" | b"expire" | b"pexpire" | b"expireat" | b"pexpireat" | b"ttl" | b"pttl"
        | b"expiretime" | b"pexpiretime" | b"persist" | b"type" | b"rename" | b"renamenx" | b"scan" | b"keys"
        | b"dbsize" | b"flushdb" | b"flushall" | b"touch" | b"randomkey" => {
            keys::execute(name, keyspace, args, context)
        }
        b"hset" | b"hmset" | b"hget" | b"hmget" | b"hdel" | b"hgetall" | b"hlen" | b"hexists" | b"hkeys" | b"hvals"
        | b"hincrby" | b"hincrbyfloat" | b"hsetnx" | b"hstrlen" => hashes::execute(name, keyspace, args, context),
        b"lpush" | b"rpush" | b"lpushx" | b"rpushx" | b"lpop" | b"rpop" | b"lrange" | b"llen" | b"lindex" | b"lset"
        | b"lrem" | b"ltrim" => lists::execute(name, keyspace, args, context),
        b"sadd" | b"srem" | b"smembers" | b"sismember" | b"smismember" | b"scard" | b"spop" | b"srandmember"
        | b"sinter" | b"sunion" | b"sdiff" => sets::execute(name, keyspace, args, context),
        b"zadd" | b"zrem" | b"zscore" | b"zincrby" | b"zcard" | b"zrange" | b"zrangebyscore" | b"zrevrange"
        | b"zrank" | b"zrevrank" | b"zpopmin" | b"zpopmax" | b"zcount" | b"zmscore" => {
            zsets::execute(name, keyspace, args, context)
        }
        _ => Err(unknown_command(args)),
    };
    outcome.unwrap_or_else(|error| error)
}

/// Commands return their error reply as `Err`, so `?` reads naturally.
type Outcome = Result<Reply, Reply>;

pub fn unknown_command(args: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&args[0]);
    let beginning: String =
        args[1..].iter().take(8).map(|arg| format!("'{}' ", String::from_utf8_lossy(arg))).collect();
    Reply::error(format!("ERR unknown command '{name}', with args beginning with: {beginning}"))
}

pub fn wrong_arity(name: &[u8]) -> Reply {
    Reply::error(format!("ERR wrong number of arguments for '{}' command", String::from_utf8_lossy(name)))
}

pub(crate) fn wrong_type() -> Reply {
    Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

pub(crate) fn syntax_error() -> Reply {
    Reply::error("ERR syntax error")
}

pub(crate) fn not_integer() -> Reply {
    Reply::error("ERR value is not an integer or out of range")
}

pub(crate) fn not_float() -> Reply {
    Reply::error("ERR value is not a valid float")
}

/// Parses a signed 64-bit integer the way Redis does (no spaces, no `+`, no leading zeros padding rules beyond Rust's).
pub(crate) fn parse_integer(bytes: &[u8]) -> Result<i64, Reply> {
    if bytes.is_empty() || bytes.len() > 20 || bytes[0] == b'+' {
        return Err(not_integer());
    }
    std::str::from_utf8(bytes).ok().and_then(|text| text.parse::<i64>().ok()).ok_or_else(not_integer)
}

/// Parses a float as Redis does: decimal, exponent, `inf`/`-inf`; never NaN.
pub(crate) fn parse_float(bytes: &[u8]) -> Result<f64, Reply> {
    let text = std::str::from_utf8(bytes).map_err(|_| not_float())?;
    if text.is_empty() || text.contains(char::is_whitespace) {
        return Err(not_float());
    }
    let value = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => text.parse::<f64>().map_err(|_| not_float())?,
    };
    if value.is_nan() { Err(not_float()) } else { Ok(value) }
}

/// The value of a live key if it has the wanted type: `Ok(None)` when absent, `WRONGTYPE` otherwise.
pub(crate) fn read<'k, T>(
    keyspace: &'k Keyspace,
    key: &[u8],
    now: u64,
    project: impl FnOnce(&'k Value) -> Option<&'k T>,
) -> Result<Option<&'k T>, Reply> {
    match keyspace.get(key, now) {
        None => Ok(None),
        Some(entry) => project(&entry.value).map(Some).ok_or_else(wrong_type),
    }
}

/// Changes the value of `key` in place, creating it with `create` when absent, and keeps memory
/// and emptiness accounted; `None` when the key is absent and not created. `change` gives the reply.
pub(crate) fn update<T>(
    keyspace: &mut Keyspace,
    key: &Bytes,
    now: u64,
    create: Option<fn() -> Value>,
    project: impl FnOnce(&mut Value) -> Option<&mut T>,
    change: impl FnOnce(&mut T) -> Outcome,
) -> Option<Outcome> {
    if keyspace.get_mut(key, now).is_none() {
        keyspace.insert(key.clone(), create?(), None);
    }
    let entry = keyspace.get_mut(key, now)?;
    let before = entry.value.memory();
    let outcome = match project(&mut entry.value) {
        Some(value) => change(value),
        None => Err(wrong_type()),
    };
    keyspace.settle(key, before);
    Some(outcome)
}

#[cfg(test)]
mod tests;
