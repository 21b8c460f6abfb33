//! App metadata on Raft: the node's [`MetadataStore`], a Raft group of its own (`meta`) over the
//! same log storage as the KV shards.
//!
//! The group's state is every [`AppRecord`] by name; a put or a delete is answered once its entry is
//! fsynced and applied, so a deploy the CLI saw succeed survives `kill -9`. On a node of one the
//! group has one voter; in a cluster it gains voters and every node sees the same apps.
//!
//! Upgrade: data dirs from before this store kept one JSON file per app in `meta/apps/`
//! ([`FileStore`]). [`RaftStore::open`] proposes every such record, then renames the directory to
//! `meta/apps.migrated` (kept as a backup). A crash in between repeats the puts, which are
//! idempotent, on the next start.

use std::collections::BTreeMap;
use std::path::Path;

use cloudlet_raft::{Group, GroupError, GroupSettings, StateMachine, Storage};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::store::{AppRecord, FileStore, MetadataStore, StoreError, StoreFuture};

/// The apps, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Apps(BTreeMap<String, AppRecord>);

/// A change to the apps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum AppsCommand {
    Put(AppRecord),
    Delete(String),
}

impl StateMachine for Apps {
    type Command = AppsCommand;
    type Output = ();

    fn apply(&mut self, command: &AppsCommand) {
        match command {
            AppsCommand::Put(record) => {
                self.0.insert(record.name.clone(), record.clone());
            }
            AppsCommand::Delete(name) => {
                self.0.remove(name);
            }
        }
    }

    fn encode(command: &AppsCommand, out: &mut Vec<u8>) {
        // Serializing plain strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(out, command);
    }

    fn decode(bytes: &[u8]) -> Result<AppsCommand, String> {
        serde_json::from_slice(bytes).map_err(|error| error.to_string())
    }

    fn save(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(out, &self.0.values().collect::<Vec<_>>());
    }

    fn load(bytes: &[u8]) -> Result<Self, String> {
        let records: Vec<AppRecord> = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        Ok(Self(records.into_iter().map(|record| (record.name.clone(), record)).collect()))
    }

    fn size(command: &AppsCommand) -> usize {
        match command {
            AppsCommand::Put(record) => record.manifest.len() + 256,
            AppsCommand::Delete(name) => name.len() + 16,
        }
    }
}

/// The name of the metadata group.
const GROUP: &str = "meta";

/// App records in the `meta` Raft group.
pub struct RaftStore {
    group: Group<Apps>,
}

fn raft_error(error: GroupError) -> StoreError {
    StoreError::Raft(error.to_string())
}

impl RaftStore {
    /// Opens the metadata group on `storage`, first moving in the records of a file store at
    /// `legacy` (an older data dir's `meta/apps`) if there is one.
    pub async fn open(storage: &Storage, settings: &GroupSettings, legacy: &Path) -> Result<Self, StoreError> {
        let group = Group::open(storage, GROUP, settings).await.map_err(raft_error)?;
        let store = Self { group };
        if legacy.is_dir() {
            let records = FileStore::open(legacy)?.load().await?;
            let count = records.len();
            for record in records {
                store.put(record).await?;
            }
            let backup = legacy.with_extension("migrated");
            std::fs::rename(legacy, &backup).map_err(|source| StoreError::Io { path: legacy.to_path_buf(), source })?;
            info!(apps = count, backup = %backup.display(), "moved app metadata from files onto Raft");
        }
        Ok(store)
    }

    /// Stops the group. Everything acknowledged is already durable.
    pub async fn shutdown(&self) {
        self.group.shutdown().await;
    }
}

impl MetadataStore for RaftStore {
    fn load(&self) -> StoreFuture<'_, Vec<AppRecord>> {
        Box::pin(async move { Ok(self.group.query(|apps| apps.0.values().cloned().collect())) })
    }

    fn put(&self, record: AppRecord) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.group.propose(AppsCommand::Put(record)).await.map_err(raft_error) })
    }

    fn delete(&self, name: &str) -> StoreFuture<'_, ()> {
        let command = AppsCommand::Delete(name.to_string());
        Box::pin(async move { self.group.propose(command).await.map_err(raft_error) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::record;

    async fn open(dir: &Path) -> (Storage, RaftStore) {
        let storage = Storage::open(&dir.join("raft")).expect("storage");
        let store = RaftStore::open(&storage, &GroupSettings::default(), &dir.join("meta/apps")).await.expect("open");
        (storage, store)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_survive_reopening_and_deletes_stick() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let (_storage, store) = open(dir.path()).await;
            store.put(record("a", 1)).await.expect("put");
            store.put(record("b", 1)).await.expect("put");
            store.put(record("a", 2)).await.expect("overwrite");
            store.delete("b").await.expect("delete");
            store.delete("never-existed").await.expect("deleting nothing is fine");
            store.shutdown().await;
        }
        let (_storage, store) = reopen(dir.path()).await;
        assert_eq!(store.load().await.expect("load"), vec![record("a", 2)]);
        store.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_store_is_moved_onto_raft_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = FileStore::open(dir.path().join("meta/apps")).expect("file store");
        files.put(record("old", 7)).await.expect("put");
        files.put(record("older", 3)).await.expect("put");
        {
            let (_storage, store) = open(dir.path()).await;
            assert_eq!(store.load().await.expect("load"), vec![record("old", 7), record("older", 3)]);
            store.delete("older").await.expect("delete");
            store.shutdown().await;
        }
        assert!(!dir.path().join("meta/apps").exists(), "the file store is moved aside");
        assert!(dir.path().join("meta/apps.migrated/old.json").is_file(), "and kept as a backup");
        let (_storage, store) = reopen(dir.path()).await;
        assert_eq!(store.load().await.expect("load"), vec![record("old", 7)], "a delete after the move sticks");
        store.shutdown().await;
    }

    /// Opens again, waiting while the previous storage's lock is being released.
    async fn reopen(dir: &Path) -> (Storage, RaftStore) {
        for _ in 0..200 {
            if let Ok(storage) = Storage::open(&dir.join("raft")) {
                let store =
                    RaftStore::open(&storage, &GroupSettings::default(), &dir.join("meta/apps")).await.expect("open");
                return (storage, store);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the Raft storage stayed locked");
    }
}
