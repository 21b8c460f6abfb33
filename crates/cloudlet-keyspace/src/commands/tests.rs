//! Command semantics against what Redis answers (checked against redis-server 7.0 by hand where the
//! edge is subtle).

use bytes::Bytes;
use cloudlet_resp::Reply;

use super::*;
use crate::keyspace::Keyspace;

/// Runs a command written as words (quotes not needed in these tests) at time `now`.
fn at(keyspace: &mut Keyspace, now: u64, command: &str) -> Reply {
    let args: Vec<Bytes> = command.split_whitespace().map(|word| Bytes::copy_from_slice(word.as_bytes())).collect();
    let spec = lookup(&args[0]).unwrap_or_else(|| panic!("unknown {command}"));
    if !spec.arity_ok(args.len()) {
        return wrong_arity(&args[0].to_ascii_lowercase());
    }
    execute(keyspace, &args, &mut Context::new(now, 7))
}

fn run(keyspace: &mut Keyspace, command: &str) -> Reply {
    at(keyspace, 1_000_000, command)
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn int(value: i64) -> Reply {
    Reply::Integer(value)
}

fn bulks(items: &[&str]) -> Reply {
    Reply::Array(items.iter().map(|item| bulk(item)).collect())
}

fn is_error(reply: &Reply, prefix: &str) -> bool {
    matches!(reply, Reply::Error(message) if message.starts_with(prefix))
}

#[test]
fn set_and_get_with_options() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "SET k v"), Reply::Ok);
    assert_eq!(run(ks, "GET k"), bulk("v"));
    assert_eq!(run(ks, "SET k w NX"), Reply::Null);
    assert_eq!(run(ks, "SET k w XX GET"), bulk("v"));
    assert_eq!(run(ks, "SET other x XX"), Reply::Null);
    assert_eq!(run(ks, "SET k v2 EX 10"), Reply::Ok);
    assert_eq!(run(ks, "TTL k"), int(10));
    assert_eq!(run(ks, "SET k v3 KEEPTTL"), Reply::Ok);
    assert_eq!(run(ks, "PTTL k"), int(10_000));
    assert_eq!(run(ks, "SET k v4"), Reply::Ok);
    assert_eq!(run(ks, "TTL k"), int(-1), "a plain SET clears the TTL");
    assert_eq!(run(ks, "SET k v PXAT 1000500"), Reply::Ok);
    assert_eq!(at(ks, 1_000_499, "GET k"), bulk("v"));
    assert_eq!(at(ks, 1_000_500, "GET k"), Reply::Null, "gone at its deadline");
    assert!(is_error(&run(ks, "SET k v EX 0"), "ERR invalid expire time in 'set' command"));
    assert!(is_error(&run(ks, "SET k v EX 10 PX 5"), "ERR syntax error"));
    assert!(is_error(&run(ks, "SET k v NX XX"), "ERR syntax error"));
    assert!(is_error(&run(ks, "SET k v EX ten"), "ERR value is not an integer"));
    assert!(is_error(&run(ks, "GET k extra"), "ERR wrong number of arguments for 'get' command"));
}

#[test]
fn wrong_types_get_wrongtype() {
    let ks = &mut Keyspace::new();
    run(ks, "LPUSH list a");
    for command in
        ["GET list", "INCR list", "HGET list f", "SADD list x", "ZADD list 1 m", "APPEND list x", "SET list v GET"]
    {
        assert!(is_error(&run(ks, command), "WRONGTYPE"), "{command}");
    }
    assert_eq!(run(ks, "SET list v"), Reply::Ok, "SET overwrites any type");
    assert_eq!(run(ks, "TYPE list"), Reply::Status("string".into()));
}

#[test]
fn counters() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "INCR c"), int(1));
    assert_eq!(run(ks, "INCRBY c 41"), int(42));
    assert_eq!(run(ks, "DECR c"), int(41));
    assert_eq!(run(ks, "DECRBY c 1"), int(40));
    assert_eq!(run(ks, "INCRBYFLOAT c 0.5"), bulk("40.5"));
    assert!(is_error(&run(ks, "INCR c"), "ERR value is not an integer or out of range"));
    run(ks, "SET big 9223372036854775807");
    assert!(is_error(&run(ks, "INCR big"), "ERR increment or decrement would overflow"));
    assert!(is_error(&run(ks, "INCRBYFLOAT c inf"), "ERR increment would produce NaN or Infinity"));
    run(ks, "SET t 10 EX 100");
    run(ks, "INCR t");
    assert_eq!(run(ks, "TTL t"), int(100), "INCR keeps the TTL");
}

#[test]
fn string_ranges_and_multi_keys() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "APPEND s Hello"), int(5));
    assert_eq!(run(ks, "APPEND s World"), int(10));
    assert_eq!(run(ks, "STRLEN s"), int(10));
    assert_eq!(run(ks, "GETRANGE s 0 4"), bulk("Hello"));
    assert_eq!(run(ks, "GETRANGE s -5 -1"), bulk("World"));
    assert_eq!(run(ks, "GETRANGE s 5 2"), bulk(""));
    assert_eq!(run(ks, "SETRANGE s 5 ,"), int(10));
    assert_eq!(run(ks, "GET s"), bulk("Hello,orld"));
    assert_eq!(run(ks, "SETRANGE pad 3 x"), int(4));
    assert_eq!(run(ks, "GET pad"), Reply::Bulk(Bytes::from_static(b"\0\0\0x")));
    assert_eq!(run(ks, "MSET a 1 b 2"), Reply::Ok);
    assert_eq!(run(ks, "MGET a b nope"), Reply::Array(vec![bulk("1"), bulk("2"), Reply::Null]));
    assert!(is_error(&run(ks, "MSET a 1 b"), "ERR wrong number of arguments"));
    assert_eq!(run(ks, "MSETNX a 9 z 9"), int(0));
    assert_eq!(run(ks, "GETDEL a"), bulk("1"));
    assert_eq!(run(ks, "EXISTS a b"), int(1));
    assert_eq!(run(ks, "SETNX b 3"), int(0));
    assert_eq!(run(ks, "GETEX b EX 50"), bulk("2"));
    assert_eq!(run(ks, "TTL b"), int(50));
    assert_eq!(run(ks, "GETEX b PERSIST"), bulk("2"));
    assert_eq!(run(ks, "TTL b"), int(-1));
}

#[test]
fn keys_expiry_and_rename() {
    let ks = &mut Keyspace::new();
    run(ks, "SET a 1");
    assert_eq!(run(ks, "EXPIRE a 100"), int(1));
    assert_eq!(run(ks, "EXPIRE a 50 GT"), int(0));
    assert_eq!(run(ks, "EXPIRE a 200 GT"), int(1));
    assert_eq!(run(ks, "EXPIRE a 10 NX"), int(0));
    assert_eq!(run(ks, "PERSIST a"), int(1));
    assert_eq!(run(ks, "PERSIST a"), int(0));
    assert_eq!(run(ks, "EXPIRE missing 10"), int(0));
    assert_eq!(run(ks, "TTL missing"), int(-2));
    assert_eq!(run(ks, "PEXPIREAT a 2000000"), int(1));
    assert_eq!(run(ks, "PEXPIRETIME a"), int(2_000_000));
    assert_eq!(run(ks, "EXPIRE a -1"), int(1), "a past deadline deletes");
    assert_eq!(run(ks, "EXISTS a"), int(0));
    run(ks, "SET x 1 EX 100");
    assert_eq!(run(ks, "RENAME x y"), Reply::Ok);
    assert_eq!(run(ks, "TTL y"), int(100), "RENAME keeps the TTL");
    assert!(is_error(&run(ks, "RENAME x z"), "ERR no such key"));
    run(ks, "SET z 1");
    assert_eq!(run(ks, "RENAMENX y z"), int(0));
    assert_eq!(run(ks, "DEL y z nope"), int(2));
    assert_eq!(run(ks, "DBSIZE"), int(0));
}

#[test]
fn scan_and_keys_with_patterns() {
    let ks = &mut Keyspace::new();
    for index in 0..30 {
        run(ks, &format!("SET user:{index} x"));
    }
    run(ks, "LPUSH other a");
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let Reply::Array(parts) = run(ks, &format!("SCAN {cursor} MATCH user:* COUNT 7")) else { panic!("array") };
        let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else { panic!("shape") };
        seen.extend(keys.iter().cloned());
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 30);
    let Reply::Array(keys) = run(ks, "KEYS user:1*") else { panic!("array") };
    assert_eq!(keys.len(), 11);
    let Reply::Array(parts) = run(ks, "SCAN 0 TYPE list COUNT 1000") else { panic!("array") };
    assert_eq!(parts[1], bulks(&["other"]));
    assert!(is_error(&run(ks, "SCAN nope"), "ERR invalid cursor"));
}

#[test]
fn hashes() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "HSET h a 1 b 2"), int(2));
    assert_eq!(run(ks, "HSET h a 3"), int(0));
    assert_eq!(run(ks, "HGET h a"), bulk("3"));
    assert_eq!(run(ks, "HMGET h a x"), Reply::Array(vec![bulk("3"), Reply::Null]));
    assert_eq!(run(ks, "HLEN h"), int(2));
    assert_eq!(run(ks, "HEXISTS h b"), int(1));
    assert_eq!(run(ks, "HSETNX h b 9"), int(0));
    assert_eq!(run(ks, "HINCRBY h n 5"), int(5));
    assert!(is_error(&run(ks, "HINCRBY h a x"), "ERR value is not an integer"));
    run(ks, "HSET h s text");
    assert!(is_error(&run(ks, "HINCRBY h s 1"), "ERR hash value is not an integer"));
    assert_eq!(run(ks, "HDEL h a b n s nope"), int(4));
    assert_eq!(run(ks, "EXISTS h"), int(0), "an emptied hash is deleted");
    assert!(is_error(&run(ks, "HSET h a"), "ERR wrong number of arguments"));
    assert_eq!(run(ks, "HGETALL nope"), Reply::Map(Vec::new()));
}

#[test]
fn lists() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "RPUSH l a b c"), int(3));
    assert_eq!(run(ks, "LPUSH l z"), int(4));
    assert_eq!(run(ks, "LRANGE l 0 -1"), bulks(&["z", "a", "b", "c"]));
    assert_eq!(run(ks, "LRANGE l -2 100"), bulks(&["b", "c"]));
    assert_eq!(run(ks, "LINDEX l -1"), bulk("c"));
    assert_eq!(run(ks, "LINDEX l 10"), Reply::Null);
    assert_eq!(run(ks, "LSET l 0 y"), Reply::Ok);
    assert!(is_error(&run(ks, "LSET l 9 y"), "ERR index out of range"));
    assert!(is_error(&run(ks, "LSET nope 0 y"), "ERR no such key"));
    run(ks, "RPUSH l a a");
    assert_eq!(run(ks, "LREM l -2 a"), int(2));
    assert_eq!(run(ks, "LRANGE l 0 -1"), bulks(&["y", "a", "b", "c"]));
    assert_eq!(run(ks, "LTRIM l 1 2"), Reply::Ok);
    assert_eq!(run(ks, "LRANGE l 0 -1"), bulks(&["a", "b"]));
    assert_eq!(run(ks, "LPOP l"), bulk("a"));
    assert_eq!(run(ks, "RPOP l 5"), bulks(&["b"]));
    assert_eq!(run(ks, "EXISTS l"), int(0));
    assert_eq!(run(ks, "LPOP l"), Reply::Null);
    assert_eq!(run(ks, "LPOP l 2"), Reply::NullArray);
    assert_eq!(run(ks, "LPUSHX l a"), int(0));
    assert_eq!(run(ks, "LLEN l"), int(0));
}

#[test]
fn sets() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "SADD s a b c"), int(3));
    assert_eq!(run(ks, "SADD s a"), int(0));
    assert_eq!(run(ks, "SCARD s"), int(3));
    assert_eq!(run(ks, "SISMEMBER s b"), int(1));
    assert_eq!(run(ks, "SMISMEMBER s a x"), Reply::Array(vec![int(1), int(0)]));
    run(ks, "SADD t b c d");
    let members = |reply: Reply| -> Vec<Reply> {
        let Reply::Set(mut items) = reply else { panic!("set") };
        items.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        items
    };
    assert_eq!(members(run(ks, "SINTER s t")), vec![bulk("b"), bulk("c")]);
    assert_eq!(members(run(ks, "SUNION s t")).len(), 4);
    assert_eq!(members(run(ks, "SDIFF s t")), vec![bulk("a")]);
    assert_eq!(members(run(ks, "SINTER s nope")), Vec::new());
    let Reply::Bulk(popped) = run(ks, "SPOP s") else { panic!("bulk") };
    assert_eq!(run(ks, &format!("SISMEMBER s {}", String::from_utf8_lossy(&popped))), int(0));
    assert_eq!(run(ks, "SCARD s"), int(2));
    let Reply::Array(sample) = run(ks, "SRANDMEMBER t -5") else { panic!("array") };
    assert_eq!(sample.len(), 5, "a negative count may repeat");
    assert_eq!(run(ks, "SREM t b c d"), int(3));
    assert_eq!(run(ks, "EXISTS t"), int(0));
}

#[test]
fn spop_is_deterministic_for_a_seed() {
    let pops = |seed| {
        let ks = &mut Keyspace::new();
        run(ks, "SADD s a b c d e f g");
        let args: Vec<Bytes> = ["SPOP", "s", "3"].iter().map(|w| Bytes::from_static(w.as_bytes())).collect();
        execute(ks, &args, &mut Context::new(0, seed))
    };
    assert_eq!(pops(1), pops(1));
}

#[test]
fn sorted_sets() {
    let ks = &mut Keyspace::new();
    assert_eq!(run(ks, "ZADD z 1 a 2 b 3 c"), int(3));
    assert_eq!(run(ks, "ZADD z 5 a"), int(0));
    assert_eq!(run(ks, "ZADD z CH 1 a 9 d"), int(2));
    assert_eq!(run(ks, "ZSCORE z a"), Reply::Double(1.0));
    assert_eq!(run(ks, "ZINCRBY z 1.5 a"), Reply::Double(2.5));
    assert_eq!(run(ks, "ZADD z INCR 1 a"), Reply::Double(3.5));
    assert_eq!(run(ks, "ZADD z XX 1 new"), int(0));
    assert_eq!(run(ks, "ZADD z GT 1 c"), int(0));
    assert_eq!(run(ks, "ZSCORE z c"), Reply::Double(3.0));
    assert_eq!(run(ks, "ZRANGE z 0 -1"), bulks(&["b", "c", "a", "d"]));
    assert_eq!(run(ks, "ZREVRANGE z 0 0"), bulks(&["d"]));
    assert_eq!(
        run(ks, "ZRANGE z 0 1 WITHSCORES"),
        Reply::Pairs(vec![(bulk("b"), Reply::Double(2.0)), (bulk("c"), Reply::Double(3.0))])
    );
    assert_eq!(run(ks, "ZRANGEBYSCORE z (2 3.5"), bulks(&["c", "a"]));
    assert_eq!(run(ks, "ZRANGEBYSCORE z -inf +inf LIMIT 1 2"), bulks(&["c", "a"]));
    assert_eq!(run(ks, "ZRANGE z 9 0 BYSCORE REV"), bulks(&["d", "a", "c", "b"]));
    assert_eq!(run(ks, "ZCOUNT z 3 +inf"), int(3));
    assert_eq!(run(ks, "ZRANK z a"), int(2));
    assert_eq!(run(ks, "ZREVRANK z a"), int(1));
    assert_eq!(run(ks, "ZCARD z"), int(4));
    assert_eq!(run(ks, "ZPOPMIN z"), Reply::Array(vec![bulk("b"), Reply::Double(2.0)]));
    assert_eq!(run(ks, "ZPOPMAX z 1"), Reply::Pairs(vec![(bulk("d"), Reply::Double(9.0))]));
    assert_eq!(run(ks, "ZREM z a c x"), int(2));
    assert_eq!(run(ks, "EXISTS z"), int(0));
    assert!(is_error(&run(ks, "ZADD z nan a"), "ERR value is not a valid float"));
    assert!(is_error(&run(ks, "ZADD z NX XX 1 a"), "ERR XX and NX options"));
    assert!(is_error(&run(ks, "ZADD z INCR 1 a 2 b"), "ERR INCR option supports a single"));
    assert!(is_error(&run(ks, "ZADD z 1"), "ERR wrong number of arguments"));
    assert!(is_error(&run(ks, "ZRANGEBYSCORE z x 1"), "ERR min or max is not a float"));
}

#[test]
fn unknown_commands_name_themselves() {
    let ks = &mut Keyspace::new();
    let args: Vec<Bytes> = ["FROB", "a"].iter().map(|w| Bytes::from_static(w.as_bytes())).collect();
    let reply = execute(ks, &args, &mut Context::new(0, 0));
    assert_eq!(reply, Reply::error("ERR unknown command 'FROB', with args beginning with: 'a' "));
}
