//! The command table: every command's arity, flags and key positions, as `COMMAND` reports them and
//! as the server needs them to check arguments, find keys and route by slot.

use bytes::Bytes;
use cloudlet_resp::Reply;

/// Who runs a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Reads the keyspace only.
    Read,
    /// Changes the keyspace.
    Write,
    /// About the connection or the server (`HELLO`, `CLIENT`, `CLUSTER` …); the server answers it.
    Server,
}

/// One command's static description.
#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Exact argument count including the name when positive, a minimum when negative.
    pub arity: i32,
    pub flags: &'static [&'static str],
    /// Position of the first key (0: no keys), the last (-1: the last argument), and the step.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub kind: Kind,
}

const R: &[&str] = &["readonly"];
const RF: &[&str] = &["readonly", "fast"];
const W: &[&str] = &["write"];
const WF: &[&str] = &["write", "fast"];
const WD: &[&str] = &["write", "denyoom"];
const WDF: &[&str] = &["write", "denyoom", "fast"];
const F: &[&str] = &["fast"];
const NA: &[&str] = &["noauth", "fast"];

const fn read(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    first: i32,
    last: i32,
    step: i32,
) -> CommandSpec {
    CommandSpec { name, arity, flags, first_key: first, last_key: last, step, kind: Kind::Read }
}

const fn write(
    name: &'static str,
    arity: i32,
    flags: &'static [&'static str],
    first: i32,
    last: i32,
    step: i32,
) -> CommandSpec {
    CommandSpec { name, arity, flags, first_key: first, last_key: last, step, kind: Kind::Write }
}

const fn server(name: &'static str, arity: i32, flags: &'static [&'static str]) -> CommandSpec {
    CommandSpec { name, arity, flags, first_key: 0, last_key: 0, step: 0, kind: Kind::Server }
}

/// Every command, sorted by name.
pub static COMMANDS: &[CommandSpec] = &[
    write("append", 3, WDF, 1, 1, 1),
    server("asking", 1, F),
    server("auth", -2, NA),
    server("client", -2, &["loading", "stale"]),
    server("cluster", -2, &[]),
    server("command", -1, &["loading", "stale"]),
    server("config", -2, &["admin", "loading", "stale"]),
    read("dbsize", 1, RF, 0, 0, 0),
    write("decr", 2, WDF, 1, 1, 1),
    write("decrby", 3, WDF, 1, 1, 1),
    write("del", -2, W, 1, -1, 1),
    server("discard", 1, &["noscript", "loading", "stale", "fast"]),
    server("echo", 2, F),
    server("exec", 1, &["noscript", "loading", "stale", "skip_slowlog"]),
    read("exists", -2, RF, 1, -1, 1),
    write("expire", -3, WF, 1, 1, 1),
    write("expireat", -3, WF, 1, 1, 1),
    read("expiretime", 2, RF, 1, 1, 1),
    write("flushall", -1, W, 0, 0, 0),
    write("flushdb", -1, W, 0, 0, 0),
    read("get", 2, RF, 1, 1, 1),
    write("getdel", 2, WF, 1, 1, 1),
    write("getex", -2, WF, 1, 1, 1),
    read("getrange", 4, R, 1, 1, 1),
    write("getset", 3, WDF, 1, 1, 1),
    write("hdel", -3, WF, 1, 1, 1),
    server("hello", -1, NA),
    read("hexists", 3, RF, 1, 1, 1),
    read("hget", 3, RF, 1, 1, 1),
    read("hgetall", 2, R, 1, 1, 1),
    write("hincrby", 4, WDF, 1, 1, 1),
    write("hincrbyfloat", 4, WDF, 1, 1, 1),
    read("hkeys", 2, R, 1, 1, 1),
    read("hlen", 2, RF, 1, 1, 1),
    read("hmget", -3, RF, 1, 1, 1),
    write("hmset", -4, WDF, 1, 1, 1),
    write("hset", -4, WDF, 1, 1, 1),
    write("hsetnx", 4, WDF, 1, 1, 1),
    read("hstrlen", 3, RF, 1, 1, 1),
    read("hvals", 2, R, 1, 1, 1),
    write("incr", 2, WDF, 1, 1, 1),
    write("incrby", 3, WDF, 1, 1, 1),
    write("incrbyfloat", 3, WDF, 1, 1, 1),
    server("info", -1, &["loading", "stale"]),
    read("keys", 2, R, 0, 0, 0),
    read("lindex", 3, R, 1, 1, 1),
    read("llen", 2, RF, 1, 1, 1),
    write("lpop", -2, WF, 1, 1, 1),
    write("lpush", -3, WDF, 1, 1, 1),
    write("lpushx", -3, WDF, 1, 1, 1),
    read("lrange", 4, R, 1, 1, 1),
    write("lrem", 4, W, 1, 1, 1),
    write("lset", 4, WD, 1, 1, 1),
    write("ltrim", 4, W, 1, 1, 1),
    read("mget", -2, RF, 1, -1, 1),
    write("mset", -3, WD, 1, -1, 2),
    write("msetnx", -3, WD, 1, -1, 2),
    server("multi", 1, &["noscript", "loading", "stale", "fast"]),
    write("persist", 2, WF, 1, 1, 1),
    write("pexpire", -3, WF, 1, 1, 1),
    write("pexpireat", -3, WF, 1, 1, 1),
    read("pexpiretime", 2, RF, 1, 1, 1),
    server("ping", -1, F),
    write("psetex", 4, WD, 1, 1, 1),
    read("pttl", 2, RF, 1, 1, 1),
    server("quit", -1, &["noauth", "loading", "stale", "fast"]),
    read("randomkey", 1, R, 0, 0, 0),
    server("readonly", 1, &["loading", "stale", "fast"]),
    server("readwrite", 1, &["loading", "stale", "fast"]),
    write("rename", 3, W, 1, 2, 1),
    write("renamenx", 3, WF, 1, 2, 1),
    write("rpop", -2, WF, 1, 1, 1),
    write("rpush", -3, WDF, 1, 1, 1),
    write("rpushx", -3, WDF, 1, 1, 1),
    write("sadd", -3, WDF, 1, 1, 1),
    read("scan", -2, R, 0, 0, 0),
    read("scard", 2, RF, 1, 1, 1),
    read("sdiff", -2, R, 1, -1, 1),
    server("select", 2, &["loading", "stale", "fast"]),
    write("set", -3, WD, 1, 1, 1),
    write("setex", 4, WD, 1, 1, 1),
    write("setnx", 3, WDF, 1, 1, 1),
    write("setrange", 4, WD, 1, 1, 1),
    read("sinter", -2, R, 1, -1, 1),
    read("sismember", 3, RF, 1, 1, 1),
    read("smembers", 2, R, 1, 1, 1),
    read("smismember", -3, RF, 1, 1, 1),
    write("spop", -2, WF, 1, 1, 1),
    read("srandmember", -2, R, 1, 1, 1),
    write("srem", -3, WF, 1, 1, 1),
    read("strlen", 2, RF, 1, 1, 1),
    read("substr", 4, R, 1, 1, 1),
    read("sunion", -2, R, 1, -1, 1),
    read("touch", -2, RF, 1, -1, 1),
    read("ttl", 2, RF, 1, 1, 1),
    read("type", 2, RF, 1, 1, 1),
    write("unlink", -2, WF, 1, -1, 1),
    server("wait", 3, &[]),
    write("zadd", -4, WDF, 1, 1, 1),
    read("zcard", 2, RF, 1, 1, 1),
    read("zcount", 4, RF, 1, 1, 1),
    write("zincrby", 4, WDF, 1, 1, 1),
    read("zmscore", -3, RF, 1, 1, 1),
    write("zpopmax", -2, WF, 1, 1, 1),
    write("zpopmin", -2, WF, 1, 1, 1),
    read("zrange", -4, R, 1, 1, 1),
    read("zrangebyscore", -4, R, 1, 1, 1),
    read("zrank", -3, RF, 1, 1, 1),
    write("zrem", -3, WF, 1, 1, 1),
    read("zrevrange", -4, R, 1, 1, 1),
    read("zrevrank", -3, RF, 1, 1, 1),
    read("zscore", 3, RF, 1, 1, 1),
];

/// The spec of a command by name (any case).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    // This runs for every command (more than once): names are packed, lowercased, into one integer
    // and searched with integer comparisons, with no allocation and no memcmp.
    let key = packed_name(name)?;
    let index = &*PACKED_INDEX;
    index.binary_search_by_key(&key, |(packed, _)| *packed).ok().map(|found| index[found].1)
}

/// A command name of at most 16 bytes, lowercased, as one integer.
fn packed_name(name: &[u8]) -> Option<u128> {
    if name.contains(&0) {
        return None; // the padding byte: "get\0" must not pack like "get"
    }
    let mut bytes = [0u8; 16];
    bytes.get_mut(..name.len())?.iter_mut().zip(name).for_each(|(to, from)| *to = from.to_ascii_lowercase());
    Some(u128::from_be_bytes(bytes))
}

/// Every command by its packed name, sorted.
static PACKED_INDEX: std::sync::LazyLock<Vec<(u128, &'static CommandSpec)>> = std::sync::LazyLock::new(|| {
    let mut index: Vec<_> =
        COMMANDS.iter().filter_map(|spec| packed_name(spec.name.as_bytes()).map(|key| (key, spec))).collect();
    index.sort_by_key(|(key, _)| *key);
    index
});

impl CommandSpec {
    /// Whether `count` arguments (name included) fit the arity.
    pub fn arity_ok(&self, count: usize) -> bool {
        let count = count as i32;
        if self.arity >= 0 { count == self.arity } else { count >= -self.arity }
    }

    /// The key arguments of a command.
    pub fn keys<'a>(&self, args: &'a [Bytes]) -> Vec<&'a Bytes> {
        if self.first_key <= 0 || args.len() <= self.first_key as usize {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            args.len() as i32 + self.last_key
        } else {
            self.last_key.min(args.len() as i32 - 1)
        };
        let mut keys = Vec::new();
        let mut index = self.first_key;
        while index <= last {
            keys.push(&args[index as usize]);
            index += self.step.max(1);
        }
        keys
    }

    /// This command as `COMMAND` and `COMMAND INFO` describe it.
    pub fn describe(&self) -> Reply {
        let category = match self.kind {
            Kind::Read => "@read",
            Kind::Write => "@write",
            Kind::Server => "@connection",
        };
        Reply::Array(vec![
            Reply::bulk(self.name),
            Reply::Integer(i64::from(self.arity)),
            Reply::Set(self.flags.iter().map(|flag| Reply::Status((*flag).to_string())).collect()),
            Reply::Integer(i64::from(self.first_key)),
            Reply::Integer(i64::from(self.last_key)),
            Reply::Integer(i64::from(self.step)),
            Reply::Set(vec![Reply::Status(category.to_string())]),
            Reply::Set(Vec::new()),
            Reply::Array(Vec::new()),
            Reply::Array(Vec::new()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookup_finds_everything() {
        for pair in COMMANDS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} before {}", pair[0].name, pair[1].name);
        }
        for spec in COMMANDS {
            assert_eq!(lookup(spec.name.to_uppercase().as_bytes()).map(|found| found.name), Some(spec.name));
        }
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(b"get\0").is_none());
        assert!(lookup(b"").is_none());
        assert!(lookup(b"averyveryverylongcommandname").is_none());
    }

    #[test]
    fn keys_follow_first_last_step() {
        let args: Vec<Bytes> = ["MSET", "a", "1", "b", "2"].iter().map(|s| Bytes::from_static(s.as_bytes())).collect();
        let keys: Vec<&[u8]> = lookup(b"mset").expect("mset").keys(&args).into_iter().map(|key| key.as_ref()).collect();
        assert_eq!(keys, [&b"a"[..], b"b"]);
        let args: Vec<Bytes> = ["RENAME", "x", "y"].iter().map(|s| Bytes::from_static(s.as_bytes())).collect();
        assert_eq!(lookup(b"rename").expect("rename").keys(&args).len(), 2);
        assert!(lookup(b"ping").expect("ping").keys(&args).is_empty());
    }

    #[test]
    fn arity_is_exact_or_minimum() {
        let get = lookup(b"get").expect("get");
        assert!(get.arity_ok(2) && !get.arity_ok(3));
        let del = lookup(b"del").expect("del");
        assert!(!del.arity_ok(1) && del.arity_ok(2) && del.arity_ok(9));
    }
}
