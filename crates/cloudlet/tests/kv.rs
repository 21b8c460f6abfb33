//! What only the durable KV store promises: acknowledged writes survive `kill -9`, data and
//! deadlines survive restarts, expired keys are reclaimed in the background.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::TestNode;
use redis::Commands;

fn connect(node: &TestNode) -> redis::Connection {
    redis::Client::open(format!("redis://{}", node.kv)).expect("client").get_connection().expect("connection")
}

fn info_field(connection: &mut redis::Connection, section: &str, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(connection).expect("info");
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .parse()
        .expect("number")
}

/// What one writer had acknowledged when the node died.
#[derive(Debug, Default)]
struct Acknowledged {
    sets: usize,
    pushes: usize,
    increments: usize,
}

#[test]
fn writes_acknowledged_by_concurrent_clients_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut node = TestNode::start(&data);
    let address = node.kv;
    let writers = 8;
    let total = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..writers)
        .map(|writer| {
            let total = total.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Acknowledged::default();
                let Ok(mut connection) =
                    redis::Client::open(format!("redis://{address}")).and_then(|client| client.get_connection())
                else {
                    return acknowledged;
                };
                for index in 0.. {
                    // Three kinds of write on keys of different slots; stop at the first failure.
                    if connection.set::<_, _, ()>(format!("w{writer}:{index}"), index).is_err() {
                        break;
                    }
                    acknowledged.sets += 1;
                    if connection.rpush::<_, _, ()>(format!("log{writer}"), index).is_err() {
                        break;
                    }
                    acknowledged.pushes += 1;
                    if connection.incr::<_, _, ()>(format!("count{writer}"), 1).is_err() {
                        break;
                    }
                    acknowledged.increments += 1;
                    total.fetch_add(1, Ordering::Relaxed);
                }
                acknowledged
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while total.load(Ordering::Relaxed) < 1500 {
        assert!(Instant::now() < deadline, "writers made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    node.kill(); // SIGKILL while every writer still has a write in flight
    let acknowledged: Vec<Acknowledged> = handles.into_iter().map(|handle| handle.join().expect("writer")).collect();
    let written: usize = acknowledged.iter().map(|writer| writer.sets + writer.pushes + writer.increments).sum();
    assert!(written >= 4500, "{acknowledged:?}");

    let node = TestNode::start(&data);
    let mut connection = connect(&node);
    for (writer, acknowledged) in acknowledged.iter().enumerate() {
        let keys: Vec<String> = (0..acknowledged.sets).map(|index| format!("w{writer}:{index}")).collect();
        for (index, key) in keys.iter().enumerate() {
            let value: Option<usize> = connection.get(key).expect("get");
            assert_eq!(value, Some(index), "acknowledged SET {key} lost");
        }
        let log: Vec<usize> = connection.lrange(format!("log{writer}"), 0, -1).expect("lrange");
        assert!(log.len() >= acknowledged.pushes, "writer {writer}: {} of {} pushes", log.len(), acknowledged.pushes);
        assert!(log.iter().enumerate().all(|(position, value)| position == *value), "pushes in order, none twice");
        let count: usize = connection.get(format!("count{writer}")).expect("get");
        // An unacknowledged write may or may not have happened; an acknowledged one has.
        assert!(count == acknowledged.increments || count == acknowledged.increments + 1, "writer {writer}: {count}");
    }
}

#[test]
fn data_and_deadlines_survive_a_restart_and_expired_keys_are_reclaimed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut node = TestNode::start(&data);
    let mut connection = connect(&node);
    let _: () = redis::cmd("SET").arg("lasting").arg("v").arg("EX").arg(1000).query(&mut connection).expect("set");
    let _: () = redis::cmd("SET").arg("brief").arg("v").arg("PX").arg(1500).query(&mut connection).expect("set");
    let _: () = connection.hset_multiple("h", &[("a", "1"), ("b", "2")]).expect("hset");
    let _: () = connection.zadd_multiple("z", &[(1.5, "x"), (-2.0, "y")]).expect("zadd");
    for index in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("short:{index}"))
            .arg(index)
            .arg("PX")
            .arg(100)
            .query(&mut connection)
            .expect("set");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut connection, "stats", "expired_keys") < 200 {
        assert!(Instant::now() < deadline, "expired keys were not reclaimed in the background");
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: i64 = redis::cmd("DBSIZE").query(&mut connection).expect("dbsize");
    assert!((3..=4).contains(&left), "only the short-lived keys are gone: {left}");
    assert!(node.terminate().success());

    let node = TestNode::start(&data);
    let mut connection = connect(&node);
    let ttl: i64 = connection.ttl("lasting").expect("ttl");
    assert!((900..=1000).contains(&ttl), "the deadline survived the restart: {ttl}");
    let hash: std::collections::HashMap<String, String> = connection.hgetall("h").expect("hgetall");
    assert_eq!(hash.len(), 2);
    let ranked: Vec<(String, f64)> = connection.zrange_withscores("z", 0, -1).expect("zrange");
    assert_eq!(ranked, [("y".to_string(), -2.0), ("x".to_string(), 1.5)]);
    // `brief` had 1.5 s to live when it was written: it is gone by its deadline, restart or not.
    let deadline = Instant::now() + Duration::from_secs(30);
    while connection.exists::<_, bool>("brief").expect("exists") {
        assert!(Instant::now() < deadline, "brief never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    let short: i64 = connection.exists(format!("short:{}", 7)).expect("exists");
    assert_eq!(short, 0);
}
