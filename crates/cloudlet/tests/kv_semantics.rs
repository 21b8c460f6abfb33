//! The KV store against the real thing: the same command scripts sent to Cloudlet's KV listener and
//! to a `redis-server` (Debian's, started here on a unix socket), reply for reply. Normal cases and
//! error cases; replies whose order Redis leaves unspecified (set members, hash fields) are sorted
//! before they are compared. Needs `redis-server` on PATH (`.ci/run` installs it).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestNode;
use redis::Value;

/// A `redis-server` with no persistence, listening only on a unix socket in `dir`.
struct RedisServer {
    child: Child,
    socket: String,
}

impl RedisServer {
    fn start(dir: &Path) -> Self {
        let socket = dir.join("redis.sock").display().to_string();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket", &socket, "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start redis-server ({error}): install it (Debian: redis-server)"));
        // Owned at once, so a failed start still kills it (Drop).
        let server = Self { child, socket };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = redis::Client::open(format!("redis+unix://{}", server.socket))
                .and_then(|client| client.get_connection())
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
            if ready.is_ok() {
                return server;
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(format!("redis+unix://{}", self.socket)).expect("client").get_connection().expect("connect")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Commands whose replies are sets in disguise: compared as sorted arrays.
const UNORDERED: &[&str] = &["smembers", "sinter", "sunion", "sdiff", "hkeys", "hvals", "keys"];
/// Commands that answer field/value pairs in no set order: compared as sorted pairs.
const UNORDERED_PAIRS: &[&str] = &["hgetall"];

/// A reply as the comparison sees it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Value(Value),
    Error(String),
}

fn sort_values(values: &mut [Value]) {
    values.sort_by_key(|value| format!("{value:?}"));
}

fn run(connection: &mut redis::Connection, words: &[&str]) -> Outcome {
    let mut command = redis::cmd(words[0]);
    for word in &words[1..] {
        command.arg(*word);
    }
    match command.query::<Value>(connection) {
        Err(error) => Outcome::Error(format!("{} {}", error.code().unwrap_or("?"), error.detail().unwrap_or(""))),
        Ok(Value::Array(mut items)) if UNORDERED.contains(&words[0]) => {
            sort_values(&mut items);
            Outcome::Value(Value::Array(items))
        }
        Ok(Value::Array(items)) if UNORDERED_PAIRS.contains(&words[0]) => {
            let mut pairs: Vec<Value> = items.chunks(2).map(|pair| Value::Array(pair.to_vec())).collect();
            sort_values(&mut pairs);
            Outcome::Value(Value::Array(pairs))
        }
        Ok(value) => Outcome::Value(value),
    }
}

/// Every script runs on a fresh keyspace (FLUSHALL first). Keys of one script share a hash tag
/// where a command takes several, as a cluster client would send them.
const SCRIPTS: &[&[&str]] = &[
    // strings
    &[
        "set k v",
        "get k",
        "set k w nx",
        "set k w xx get",
        "get k",
        "set missing v xx",
        "set k v nx xx",
        "set k v ex 0",
        "set k v ex -5",
        "set k v px notanumber",
        "set k v ex 100 keepttl",
        "getdel k",
        "getdel k",
        "setnx n 10",
        "setnx n 11",
        "incr n",
        "incrby n -20",
        "decr n",
        "decrby n 5",
        "incrby n 9223372036854775807",
        "set big 9223372036854775807",
        "incr big",
        "set s abc",
        "incr s",
        "incrbyfloat f 10.5",
        "incrbyfloat f 0.25",
        "incrbyfloat s 1",
        "append s def",
        "append new xyz",
        "strlen s",
        "strlen nothing",
        "getrange s 0 2",
        "getrange s -3 -1",
        "getrange s 10 20",
        "getrange s 4 1",
        "setrange s 8 !!",
        "get s",
        "setrange fresh 3 x",
        "get fresh",
        "setrange s -1 x",
        "mset {t}a 1 {t}b 2",
        "mget {t}a {t}b {t}c",
        "mset {t}a",
        "getex {t}a persist",
        "getex {t}a ex 0",
        "getex nothing px 10",
    ],
    // keys
    &[
        "set {k}a 1",
        "set {k}b 2",
        "exists {k}a {k}b {k}c {k}a",
        "del {k}a {k}c",
        "type {k}b",
        "type {k}a",
        "ttl {k}b",
        "pttl {k}a",
        "expire {k}b 100 nx",
        "expire {k}b 200 nx",
        "persist {k}b",
        "persist {k}b",
        "ttl {k}b",
        "expire {k}b notanumber",
        "rename {k}a {k}z",
        "rename {k}b {k}z",
        "get {k}z",
        "exists {k}b",
        "rpush {k}l x",
        "type {k}l",
        "unlink {k}l {k}z",
        "dbsize",
        "expire {k}gone 10",
        "pexpire {k}gone 10",
    ],
    // hashes
    &[
        "hset h f1 v1 f2 v2",
        "hset h f1 v9 f3 v3",
        "hget h f1",
        "hget h nope",
        "hmget h f1 nope f3",
        "hlen h",
        "hexists h f2",
        "hexists h nope",
        "hdel h f2 nope",
        "hgetall h",
        "hkeys h",
        "hvals h",
        "hsetnx h f1 x",
        "hsetnx h f4 x",
        "hincrby h counter 5",
        "hincrby h counter -7",
        "hincrby h f1 1",
        "hset h odd",
        "set str x",
        "hget str f",
        "hgetall missing",
    ],
    // lists
    &[
        "rpush l a b c",
        "lpush l z y",
        "lrange l 0 -1",
        "lrange l -2 100",
        "lrange l 5 1",
        "llen l",
        "lindex l 0",
        "lindex l -1",
        "lindex l 99",
        "lset l 1 Z",
        "lset l 99 x",
        "lset missing 0 x",
        "rpush l a a",
        "lrem l 2 a",
        "lrem l -1 a",
        "lrange l 0 -1",
        "ltrim l 1 2",
        "lrange l 0 -1",
        "lpop l",
        "rpop l 5",
        "lpop l",
        "llen l",
        "rpop missing",
        "lpop missing 2",
        "set str x",
        "lpush str a",
        "llen str",
    ],
    // sets
    &[
        "sadd {s}a x y z",
        "sadd {s}a x w",
        "scard {s}a",
        "sismember {s}a x",
        "sismember {s}a q",
        "srem {s}a x q",
        "smembers {s}a",
        "sadd {s}b y w v",
        "sinter {s}a {s}b",
        "sunion {s}a {s}b",
        "sinter {s}a {s}missing",
        "spop {s}missing",
        "srandmember {s}missing",
        "scard {s}missing",
        "set {s}str x",
        "sadd {s}str a",
        "sinter {s}a {s}str",
    ],
    // sorted sets
    &[
        "zadd z 1 a 2 b 3 c",
        "zadd z nx 10 a 4 d",
        "zadd z xx ch 20 a 5 e",
        "zadd z gt ch 1 b 30 c",
        "zadd z lt 0 c",
        "zadd z nx xx 1 a",
        "zadd z incr 2 b",
        "zadd z 1",
        "zadd z x a",
        "zscore z a",
        "zscore z nope",
        "zincrby z 1.5 a",
        "zcard z",
        "zrange z 0 -1",
        "zrange z 0 -1 withscores",
        "zrange z 0 1 rev",
        "zrange z -inf +inf byscore limit 1 2",
        "zrange z (1 5 byscore",
        "zrangebyscore z -inf 4",
        "zrangebyscore z (0 +inf withscores limit 0 2",
        "zrangebyscore z x 4",
        "zrank z b",
        "zrank z nope",
        "zrem z a nope",
        "zpopmin z",
        "zpopmax z 2",
        "zcard z",
        "zpopmin missing",
        "set str x",
        "zadd str 1 a",
    ],
    // arity, unknown commands, transactions of one slot
    &["get", "set k", "hset h f", "nosuchcommand a b", "multi", "set {m}a 1", "incr {m}a", "exec", "get {m}a"],
];

#[test]
fn kv_replies_match_redis_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let redis = RedisServer::start(dir.path());
    let node = TestNode::start(&dir.path().join("data"));
    let mut expected_side = redis.connection();
    let mut cloudlet_side =
        redis::Client::open(format!("redis://{}", node.kv)).expect("client").get_connection().expect("connect");
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for script in SCRIPTS {
        for connection in [&mut expected_side, &mut cloudlet_side] {
            let _: () = redis::cmd("FLUSHALL").query(connection).expect("flushall");
        }
        for line in *script {
            let words: Vec<&str> = line.split(' ').collect();
            let expected = run(&mut expected_side, &words);
            let actual = run(&mut cloudlet_side, &words);
            compared += 1;
            if expected != actual {
                mismatches.push(format!("{line}\n    redis-server: {expected:?}\n    cloudlet:     {actual:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{} of {compared} replies differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
