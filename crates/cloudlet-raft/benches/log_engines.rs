//! The Raft log's workload on the two storage engines the architecture allows: appending entries and
//! making them durable (fsync) in batches of 1 (every writer alone), 16 and 128 (writers sharing one
//! fsync: group commit), then reading them all back (recovery). Prints entries/s per engine and case.
//! fjall is used as `cloudlet-raft` uses it: manual journal persistence, one `SyncData` per batch.
//!
//! `cargo bench -p cloudlet-raft --bench log_engines` — the figures and the choice are in
//! docs/decisions/0003-raft-log-on-fjall.md.

use std::time::{Duration, Instant};

use redb::{ReadableDatabase, ReadableTable as _};

const VALUE: &[u8] = &[7u8; 128];

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

fn fjall_run(total: u64, batch: u64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = fjall::Database::builder(dir.path()).manual_journal_persist(true).open().expect("open");
    let log = database.keyspace("log", fjall::KeyspaceCreateOptions::default).expect("keyspace");
    let started = Instant::now();
    for chunk in 0..total / batch {
        let mut write = database.batch();
        for index in chunk * batch..(chunk + 1) * batch {
            write.insert(&log, key(index), VALUE);
        }
        write.commit().expect("commit");
        database.persist(fjall::PersistMode::SyncData).expect("fsync");
    }
    let append = started.elapsed();
    let started = Instant::now();
    let read = log.range::<&[u8], _>(..).count();
    assert_eq!(read as u64, total);
    (append, started.elapsed())
}

const TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");

fn redb_run(total: u64, batch: u64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let database = redb::Database::create(dir.path().join("log.redb")).expect("open");
    let started = Instant::now();
    for chunk in 0..total / batch {
        let transaction = database.begin_write().expect("begin");
        {
            let mut table = transaction.open_table(TABLE).expect("table");
            for index in chunk * batch..(chunk + 1) * batch {
                table.insert(index, VALUE).expect("insert");
            }
        }
        transaction.commit().expect("commit (fsync)");
    }
    let append = started.elapsed();
    let started = Instant::now();
    let transaction = database.begin_read().expect("begin read");
    let table = transaction.open_table(TABLE).expect("table");
    let read = table.range(0u64..).expect("range").count();
    assert_eq!(read as u64, total);
    (append, started.elapsed())
}

fn main() {
    println!("{:<8} {:>6} {:>9} {:>16} {:>16}", "engine", "batch", "entries", "append entries/s", "read entries/s");
    for (batch, total) in [(1u64, 2_000u64), (16, 32_000), (128, 128_000)] {
        for (engine, run) in [("fjall", fjall_run as fn(u64, u64) -> (Duration, Duration)), ("redb", redb_run)] {
            let (append, read) = run(total, batch);
            println!(
                "{engine:<8} {batch:>6} {total:>9} {:>16.0} {:>16.0}",
                total as f64 / append.as_secs_f64(),
                total as f64 / read.as_secs_f64()
            );
        }
    }
}
