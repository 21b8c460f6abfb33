//! Both data listeners — the durable KV store and the cache — with real Redis clients: the `redis`
//! crate (plain, RESP3 and cluster), raw sockets for protocol limits. They share one command layer,
//! so every behaviour here is checked on both; what only one of them does is at the end.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::TestNode;
use redis::{Commands, Value};

/// Which listener a test talks to.
#[derive(Clone, Copy, Debug)]
enum Listener {
    Kv,
    Cache,
}

impl Listener {
    fn address(self, node: &TestNode) -> SocketAddr {
        match self {
            Listener::Kv => node.kv,
            Listener::Cache => node.cache,
        }
    }

    /// Shards, each one range in `CLUSTER SLOTS`.
    fn shards(self) -> usize {
        match self {
            Listener::Kv => 8,
            Listener::Cache => 16,
        }
    }

    fn password_flag(self) -> &'static str {
        match self {
            Listener::Kv => "--kv-password",
            Listener::Cache => "--cache-password",
        }
    }
}

/// Runs `check` against each listener of one node.
fn on_both(check: impl Fn(&TestNode, Listener)) {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    for listener in [Listener::Kv, Listener::Cache] {
        check(&node, listener);
    }
}

fn client(node: &TestNode, listener: Listener) -> redis::Connection {
    let address = listener.address(node);
    redis::Client::open(format!("redis://{address}")).expect("client").get_connection().expect("connection")
}

#[test]
fn commands_work_through_a_real_client_in_resp2_and_resp3() {
    on_both(commands_work);
}

fn commands_work(node: &TestNode, listener: Listener) {
    let mut connection = client(node, listener);
    let _: () = connection.set("greeting", "hello").expect("set");
    assert_eq!(connection.get::<_, String>("greeting").expect("get"), "hello");
    let _: () = connection.hset_multiple("user:1", &[("name", "ada"), ("lang", "rust")]).expect("hset");
    let user: std::collections::HashMap<String, String> = connection.hgetall("user:1").expect("hgetall");
    assert_eq!(user["name"], "ada");
    let _: () = connection.rpush("list", &[1, 2, 3]).expect("rpush");
    assert_eq!(connection.lrange::<_, Vec<i32>>("list", 0, -1).expect("lrange"), [1, 2, 3]);
    let _: () = connection.zadd_multiple("board", &[(10, "a"), (20, "b")]).expect("zadd");
    let ranked: Vec<(String, f64)> = connection.zrange_withscores("board", 0, -1).expect("zrange");
    assert_eq!(ranked, [("a".to_string(), 10.0), ("b".to_string(), 20.0)]);

    let mut resp3 = redis::Client::open(format!("redis://{}?protocol=resp3", listener.address(node)))
        .expect("client")
        .get_connection()
        .expect("resp3 connection");
    let user: std::collections::HashMap<String, String> = resp3.hgetall("user:1").expect("hgetall over RESP3");
    assert_eq!(user.len(), 2);
    let ranked: Vec<(String, f64)> = resp3.zrange_withscores("board", 0, -1).expect("zrange over RESP3");
    assert_eq!(ranked.len(), 2);
    let score: f64 = resp3.zscore("board", "b").expect("zscore");
    assert_eq!(score, 20.0);
}

#[test]
fn cross_slot_commands_and_transactions_follow_redis_cluster() {
    on_both(cross_slot_rules);
}

fn cross_slot_rules(node: &TestNode, listener: Listener) {
    let mut connection = client(node, listener);
    let error = redis::cmd("MSET").arg("a").arg(1).arg("b").arg(2).query::<()>(&mut connection).expect_err("crossslot");
    assert_eq!(error.code(), Some("CROSSSLOT"));
    let _: () = redis::cmd("MSET").arg("{u}a").arg(1).arg("{u}b").arg(2).query(&mut connection).expect("same slot");
    let (a, b): (i32, i32) =
        redis::pipe().atomic().incr("{u}a", 1).incr("{u}b", 1).query(&mut connection).expect("exec");
    assert_eq!((a, b), (2, 3));
    let error = redis::pipe()
        .atomic()
        .set("x", 1)
        .set("y", 2)
        .query::<()>(&mut connection)
        .expect_err("cross-slot transaction");
    let message = error.to_string();
    assert!(message.contains("Transaction aborted") && message.contains("CrossSlot"), "{message}");
    assert!(connection.get::<_, Option<i32>>("x").expect("get").is_none(), "nothing of the failed transaction ran");
}

#[test]
fn the_cluster_client_works_against_one_node() {
    on_both(cluster_client_works);
}

fn cluster_client_works(node: &TestNode, listener: Listener) {
    let address = listener.address(node);
    let cluster = redis::cluster::ClusterClient::new(vec![format!("redis://{address}")]).expect("cluster client");
    let mut connection = cluster.get_connection().expect("cluster connection");
    for index in 0..200 {
        let _: () = connection.set(format!("key:{index}"), index).expect("set");
    }
    for index in 0..200 {
        assert_eq!(connection.get::<_, i32>(format!("key:{index}")).expect("get"), index);
    }
    let slots: Value = redis::cmd("CLUSTER").arg("SLOTS").query(&mut client(node, listener)).expect("cluster slots");
    let Value::Array(ranges) = slots else { panic!("array") };
    assert_eq!(ranges.len(), listener.shards(), "one range per shard");
    let slot: i64 =
        redis::cmd("CLUSTER").arg("KEYSLOT").arg("foo").query(&mut client(node, listener)).expect("keyslot");
    assert_eq!(slot, 12182);
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut client(node, listener))
        .expect("getkeys");
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn a_pipeline_of_ten_thousand_commands_is_answered_in_order() {
    on_both(long_pipeline);
}

fn long_pipeline(node: &TestNode, listener: Listener) {
    let mut connection = client(node, listener);
    let mut pipeline = redis::pipe();
    for index in 0..10_000 {
        pipeline.incr("counter", 1);
        if index % 1000 == 0 {
            pipeline.set(format!("marker:{index}"), index).ignore();
        }
    }
    let counts: Vec<i64> = pipeline.query(&mut connection).expect("pipeline");
    assert_eq!(counts.len(), 10_000);
    assert!(counts.iter().enumerate().all(|(index, count)| *count == index as i64 + 1));
}

/// Sends raw bytes and reads the reply until the server closes or goes quiet.
fn raw(address: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(bytes).expect("write");
    let mut reply = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn oversized_and_malformed_frames_are_refused_and_the_connection_closed() {
    on_both(|node, listener| refuses_bad_frames(listener.address(node)));
}

fn refuses_bad_frames(address: SocketAddr) {
    let reply = raw(address, b"*1\r\n$9999999999\r\n");
    assert!(reply.starts_with("-ERR Protocol error: invalid bulk length"), "{reply}");
    let reply = raw(address, b"*99999999\r\n");
    assert!(reply.starts_with("-ERR Protocol error: invalid multibulk length"), "{reply}");
    let reply = raw(address, format!("{}\r\n", "A".repeat(70_000)).as_bytes());
    assert!(reply.starts_with("-ERR Protocol error: too big inline request"), "{reply}");
    let reply = raw(address, b"*1\r\n:5\r\n");
    assert!(reply.starts_with("-ERR Protocol error"), "{reply}");
    // Inline commands work, and the server is fine after all of that.
    assert_eq!(raw(address, b"PING\r\nQUIT\r\n"), "+PONG\r\n+OK\r\n");
}

/// The node's resident memory, in bytes.
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse::<u64>().ok()).expect("number") * 1024
}

#[test]
fn announced_but_unsent_big_frames_do_not_grow_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    for listener in [Listener::Kv, Listener::Cache] {
        let before = resident_bytes(node.pid());
        // 32 connections each announce a 500 MB argument (under the 512 MiB limit) and send 64 KiB
        // of it: the server must buffer what arrives, not what is announced.
        let streams: Vec<TcpStream> = (0..32)
            .map(|_| {
                let mut stream = TcpStream::connect(listener.address(&node)).expect("connect");
                stream.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$500000000\r\n").expect("header");
                stream.write_all(&[b'x'; 65536]).expect("part of the value");
                stream
            })
            .collect();
        assert_eq!(raw(listener.address(&node), b"PING\r\nQUIT\r\n"), "+PONG\r\n+OK\r\n");
        // Watch the node for a second while it reads what was sent.
        let grown = (0..10)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(100));
                resident_bytes(node.pid()).saturating_sub(before)
            })
            .max()
            .unwrap_or(0);
        assert!(grown < 64 << 20, "{listener:?}: 32 announced 500 MB frames grew the node by {grown} bytes");
        drop(streams);
    }
}

#[test]
fn small_values_cost_memory_by_their_size_not_by_the_read_buffer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    for listener in [Listener::Kv, Listener::Cache] {
        let mut connection = client(&node, listener);
        let before = resident_bytes(node.pid());
        // 5 000 keys of 15 bytes and values of 10, one command per read: about a megabyte with the
        // keyspace's overhead. A value that kept its connection's read buffer alive would cost
        // 16 KiB each.
        for index in 0..5000 {
            let _: () = connection.set(format!("small:{index:05}"), "0123456789").expect("write");
        }
        let grown = resident_bytes(node.pid()).saturating_sub(before);
        assert!(grown < 30 << 20, "{listener:?}: 5 000 small SETs grew the node by {grown} bytes");
    }
}

#[test]
fn the_cache_stays_under_its_bound_and_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start_with(&dir.path().join("data"), &["--cache-max-memory", "8MiB"]);
    let mut connection = client(&node, Listener::Cache);
    let value = "x".repeat(4096);
    for batch in 0..200 {
        let mut pipeline = redis::pipe();
        for index in 0..100 {
            pipeline.set(format!("k:{batch}:{index}"), &value).ignore();
        }
        let _: () = pipeline.query(&mut connection).expect("write");
    }
    let info: String = redis::cmd("INFO").arg("memory").query(&mut connection).expect("info");
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .expect("field")
            .trim()
            .parse()
            .expect("number")
    };
    assert_eq!(field("maxmemory"), 8 << 20);
    assert!(field("used_memory") <= 8 << 20, "{info}");
    let stats: String = redis::cmd("INFO").arg("stats").query(&mut connection).expect("info");
    let evicted: u64 = stats
        .lines()
        .find_map(|line| line.strip_prefix("evicted_keys:"))
        .expect("evicted")
        .trim()
        .parse()
        .expect("number");
    assert!(evicted > 1000, "80 MB into 8 MB evicts: {stats}");
    assert!(stats.contains("keyspace_hits:"), "{stats}");
}

#[test]
fn keys_expire_and_a_password_is_enforced() {
    for listener in [Listener::Kv, Listener::Cache] {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = TestNode::start_with(&dir.path().join("data"), &[listener.password_flag(), "s3cret"]);
        expiry_and_password(&node, listener);
    }
}

fn expiry_and_password(node: &TestNode, listener: Listener) {
    let mut anonymous = client(node, listener);
    let error = redis::cmd("GET").arg("x").query::<Option<String>>(&mut anonymous).expect_err("noauth");
    assert_eq!(error.code(), Some("NOAUTH"));
    let mut connection = redis::Client::open(format!("redis://:s3cret@{}", listener.address(node)))
        .expect("client")
        .get_connection()
        .expect("authenticated connection");
    let _: () = redis::cmd("SET").arg("short").arg("v").arg("PX").arg(50).query(&mut connection).expect("set");
    assert_eq!(connection.get::<_, Option<String>>("short").expect("get"), Some("v".to_string()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while connection.get::<_, Option<String>>("short").expect("get").is_some() {
        assert!(std::time::Instant::now() < deadline, "the key never expired");
        std::thread::sleep(Duration::from_millis(10));
    }
    let ttl: i64 = connection.ttl("short").expect("ttl");
    assert_eq!(ttl, -2);
}
