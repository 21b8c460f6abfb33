use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::value::List;

fn string(text: &str) -> Value {
    Value::Str(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn expired_keys_are_absent_to_reads_and_removed_by_writes_and_purges() {
    let mut keyspace = Keyspace::new();
    keyspace.insert(Bytes::from_static(b"a"), string("1"), Some(100));
    keyspace.insert(Bytes::from_static(b"b"), string("2"), None);
    assert!(keyspace.get(b"a", 99).is_some());
    assert!(keyspace.get(b"a", 100).is_none(), "expired at its deadline");
    assert_eq!(keyspace.len(100), 1);
    assert_eq!(keyspace.stored_keys(), 2, "reads do not remove");
    assert_eq!(keyspace.purge_expired(100, 10), 1);
    assert_eq!(keyspace.stored_keys(), 1);
    assert_eq!(keyspace.keys_with_expiry(), 0);
}

#[test]
fn memory_follows_every_change_back_to_zero() {
    let mut keyspace = Keyspace::new();
    keyspace.insert(Bytes::from_static(b"s"), string("hello"), None);
    let mut list = List::default();
    list.push_back(Bytes::from_static(b"x"));
    keyspace.insert(Bytes::from_static(b"l"), Value::List(list), Some(5));
    let entry = keyspace.get_mut(b"l", 0).expect("list");
    let before = entry.value.memory();
    if let Value::List(list) = &mut entry.value {
        list.push_back(Bytes::from_static(b"yyyy"));
    }
    keyspace.settle(b"l", before);
    assert!(keyspace.used_memory() > 0);
    keyspace.insert(Bytes::from_static(b"s"), string("a much longer value"), None);
    keyspace.remove(b"s");
    keyspace.remove(b"l");
    assert_eq!(keyspace.used_memory(), 0);
}

#[test]
fn emptied_collections_disappear() {
    let mut keyspace = Keyspace::new();
    let mut list = List::default();
    list.push_back(Bytes::from_static(b"only"));
    keyspace.insert(Bytes::from_static(b"l"), Value::List(list), None);
    let entry = keyspace.get_mut(b"l", 0).expect("list");
    let before = entry.value.memory();
    if let Value::List(list) = &mut entry.value {
        list.pop_front();
    }
    keyspace.settle(b"l", before);
    assert!(keyspace.get(b"l", 0).is_none());
    assert_eq!(keyspace.used_memory(), 0);
}

proptest! {
    #[test]
    fn a_full_scan_returns_every_key_present_throughout(
        keys in prop::collection::hash_set("[a-z]{1,6}", 0..200),
        count in 1usize..20,
    ) {
        let mut keyspace = Keyspace::new();
        for key in &keys {
            keyspace.insert(Bytes::copy_from_slice(key.as_bytes()), string("v"), None);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut rounds = 0;
        loop {
            let (batch, next) = keyspace.scan(cursor, count, 0, |_, _| true);
            seen.extend(batch.into_iter().map(|key| String::from_utf8_lossy(&key).into_owned()));
            rounds += 1;
            if next == 0 { break; }
            prop_assert!(next > cursor, "cursors only move forward");
            cursor = next;
            prop_assert!(rounds <= keys.len() + 1);
        }
        prop_assert_eq!(seen, keys);
    }
}
