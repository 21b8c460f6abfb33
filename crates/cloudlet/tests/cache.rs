//! The cache listener with real Redis clients: the `redis` crate (plain, RESP3 and cluster), raw
//! sockets for protocol limits.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::TestNode;
use redis::{Commands, Value};

fn client(node: &TestNode) -> redis::Connection {
    redis::Client::open(format!("redis://{}", node.cache)).expect("client").get_connection().expect("connection")
}

#[test]
fn commands_work_through_a_real_client_in_resp2_and_resp3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let mut connection = client(&node);
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

    let mut resp3 = redis::Client::open(format!("redis://{}?protocol=resp3", node.cache))
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
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let mut connection = client(&node);
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
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let cluster = redis::cluster::ClusterClient::new(vec![format!("redis://{}", node.cache)]).expect("cluster client");
    let mut connection = cluster.get_connection().expect("cluster connection");
    for index in 0..200 {
        let _: () = connection.set(format!("key:{index}"), index).expect("set");
    }
    for index in 0..200 {
        assert_eq!(connection.get::<_, i32>(format!("key:{index}")).expect("get"), index);
    }
    let slots: Value = redis::cmd("CLUSTER").arg("SLOTS").query(&mut client(&node)).expect("cluster slots");
    let Value::Array(ranges) = slots else { panic!("array") };
    assert_eq!(ranges.len(), 16, "one range per shard");
    let slot: i64 = redis::cmd("CLUSTER").arg("KEYSLOT").arg("foo").query(&mut client(&node)).expect("keyslot");
    assert_eq!(slot, 12182);
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut client(&node))
        .expect("getkeys");
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn a_pipeline_of_ten_thousand_commands_is_answered_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let mut connection = client(&node);
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
fn raw(node: &TestNode, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(node.cache).expect("connect");
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
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start(&dir.path().join("data"));
    let reply = raw(&node, b"*1\r\n$9999999999\r\n");
    assert!(reply.starts_with("-ERR Protocol error: invalid bulk length"), "{reply}");
    let reply = raw(&node, b"*99999999\r\n");
    assert!(reply.starts_with("-ERR Protocol error: invalid multibulk length"), "{reply}");
    let reply = raw(&node, format!("{}\r\n", "A".repeat(70_000)).as_bytes());
    assert!(reply.starts_with("-ERR Protocol error: too big inline request"), "{reply}");
    let reply = raw(&node, b"*1\r\n:5\r\n");
    assert!(reply.starts_with("-ERR Protocol error"), "{reply}");
    // Inline commands work, and the server is fine after all of that.
    assert_eq!(raw(&node, b"PING\r\nQUIT\r\n"), "+PONG\r\n+OK\r\n");
}

#[test]
fn the_cache_stays_under_its_bound_and_reports_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start_with(&dir.path().join("data"), &["--cache-max-memory", "8MiB"]);
    let mut connection = client(&node);
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
    let dir = tempfile::tempdir().expect("tempdir");
    let node = TestNode::start_with(&dir.path().join("data"), &["--cache-password", "s3cret"]);
    let mut anonymous = client(&node);
    let error = redis::cmd("GET").arg("x").query::<Option<String>>(&mut anonymous).expect_err("noauth");
    assert_eq!(error.code(), Some("NOAUTH"));
    let mut connection = redis::Client::open(format!("redis://:s3cret@{}", node.cache))
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
