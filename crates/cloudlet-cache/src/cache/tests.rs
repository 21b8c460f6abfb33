use super::*;

fn args(words: &[&str]) -> Vec<Bytes> {
    words.iter().map(|word| Bytes::copy_from_slice(word.as_bytes())).collect()
}

fn run(cache: &Cache, words: &[&str]) -> Reply {
    let command = args(words);
    let spec = lookup(&command[0]).expect("known command");
    let slot = spec.keys(&command).first().map(|key| cloudlet_keyspace::slot::slot(key));
    futures_executor(async {
        match slot {
            Some(slot) => cache.execute(slot, vec![command], spec.kind).await.remove(0),
            None => cache.execute_everywhere(command).await,
        }
    })
}

/// The cache's futures never wait: a minimal executor is enough here.
fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(future)
}

#[test]
fn stays_under_its_bound_while_ten_times_its_size_is_written() {
    let max = 4 << 20;
    let cache = Cache::new(max);
    let value = "v".repeat(1000);
    let mut written = 0;
    let mut index = 0;
    while written < 10 * max {
        run(&cache, &["SET", &format!("key:{index}"), &value]);
        written += value.len();
        index += 1;
        assert!(cache.stats().used_memory as usize <= max, "over the bound after {index} writes");
    }
    let stats = cache.stats();
    assert!(stats.evicted_keys > 0);
    assert!(stats.keys > 1000, "the cache stays useful: {} keys", stats.keys);
    assert_eq!(
        run(&cache, &["GET", &format!("key:{}", index - 1)]),
        Reply::Bulk(Bytes::from(value.clone())),
        "the newest key is there"
    );
}

#[test]
fn frequently_read_keys_survive_a_scan_of_new_keys() {
    let cache = Cache::new(2 << 20);
    let value = "v".repeat(500);
    for index in 0..100 {
        run(&cache, &["SET", &format!("hot:{index}"), &value]);
    }
    for round in 0..20_000 {
        if round % 10 == 0 {
            for index in 0..100 {
                run(&cache, &["GET", &format!("hot:{index}")]);
            }
        }
        run(&cache, &["SET", &format!("cold:{round}"), &value]);
    }
    let hot = (0..100).filter(|index| run(&cache, &["GET", &format!("hot:{index}")]) != Reply::Null).count();
    assert!(hot >= 90, "only {hot} of 100 hot keys survived");
}

#[test]
fn a_value_larger_than_a_shard_gets_oom() {
    let cache = Cache::new(16 << 10);
    let huge = "x".repeat(64 << 10);
    // The first one fits nowhere either: it is written, then evicted at once to keep the bound.
    run(&cache, &["SET", "a", &huge]);
    assert!(cache.stats().used_memory <= 16 << 10);
    // A shard that cannot get under its bound refuses growing writes.
    let mut shard = cache.lock(0);
    shard.keyspace.insert(
        Bytes::from_static(b"pinned"),
        cloudlet_keyspace::Value::Str(Bytes::from(huge.clone())),
        None,
    );
    drop(shard);
    let slot_zero_key = "fHh"; // CRC16("fHh") mod 16384 = 0
    assert_eq!(cloudlet_keyspace::slot::slot(slot_zero_key.as_bytes()), 0);
    assert_eq!(run(&cache, &["SET", slot_zero_key, "v"]), oom());
}

#[test]
fn scan_walks_every_shard_and_expired_keys_are_purged() {
    let cache = Cache::new(64 << 20);
    for index in 0..500 {
        run(&cache, &["SET", &format!("k{index}"), "v"]);
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    loop {
        let Reply::Array(parts) = run(&cache, &["SCAN", &cursor, "COUNT", "37"]) else { panic!("array") };
        let (Reply::Bulk(next), Reply::Array(keys)) = (&parts[0], &parts[1]) else { panic!("shape") };
        for key in keys {
            if let Reply::Bulk(key) = key {
                seen.insert(key.clone());
            }
        }
        cursor = String::from_utf8_lossy(next).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert_eq!(run(&cache, &["DBSIZE"]), Reply::Integer(500));
    run(&cache, &["SET", "short", "v", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(run(&cache, &["GET", "short"]), Reply::Null);
    assert!(cache.purge_expired() >= 1);
    assert_eq!(cache.stats().expired_keys, 1);
    assert_eq!(run(&cache, &["FLUSHALL"]), Reply::Ok);
    assert_eq!(run(&cache, &["DBSIZE"]), Reply::Integer(0));
}
