//! Durable app metadata behind a small trait: the node keeps it on Raft
//! ([`RaftStore`](crate::raft_store::RaftStore)); the control plane sees only [`MetadataStore`].
//!
//! [`FileStore`] is the store of data dirs from before Raft: one JSON document per app under
//! `DATA_DIR/meta/apps/`, each written to a temporary file, fsynced, renamed into place and the
//! directory fsynced. The Raft store reads it once to move its records over; tests use it too.

use std::collections::BTreeMap;
use std::fs;
use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;

use serde::{Deserialize, Serialize};

/// What the node remembers about a deployed app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    pub name: String,
    /// Increases with every deploy that changed something.
    pub version: u64,
    /// The manifest text as deployed.
    pub manifest: String,
    /// SHA-256 of the whole bundle (manifest and files), hex.
    pub digest: String,
    /// SHA-256 of the bundle's files other than the manifest, hex; part of every workload's revision.
    pub files_digest: String,
    /// Replica bounds set with `cloudlet scale`, by workload; a redeploy clears them.
    #[serde(default)]
    pub scale: BTreeMap<String, ScaleOverride>,
    /// Milliseconds since the Unix epoch.
    pub deployed_at_ms: u64,
}

/// Replica bounds set at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOverride {
    pub min: u32,
    pub max: u32,
}

/// A failure of the metadata store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("metadata store I/O failed at {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("metadata record {path} is corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("the metadata group did not commit the change: {0}")]
    Raft(String),
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where app records live. Writes are durable when their future resolves.
pub trait MetadataStore: Send + Sync {
    fn load(&self) -> StoreFuture<'_, Vec<AppRecord>>;
    fn put(&self, record: AppRecord) -> StoreFuture<'_, ()>;
    fn delete(&self, name: &str) -> StoreFuture<'_, ()>;
}

/// App records as files in a directory.
pub struct FileStore {
    directory: PathBuf,
}

impl FileStore {
    /// A store in `directory`, created if missing.
    pub fn open(directory: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let directory = directory.into();
        fs::create_dir_all(&directory).map_err(|source| StoreError::Io { path: directory.clone(), source })?;
        Ok(Self { directory })
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.directory.join(format!("{name}.json"))
    }
}

impl MetadataStore for FileStore {
    fn load(&self) -> StoreFuture<'_, Vec<AppRecord>> {
        let directory = self.directory.clone();
        Box::pin(async move { blocking(move || load_all(&directory)).await })
    }

    fn put(&self, record: AppRecord) -> StoreFuture<'_, ()> {
        let path = self.path_of(&record.name);
        Box::pin(async move {
            blocking(move || {
                let bytes = serde_json::to_vec_pretty(&record)
                    .map_err(|error| StoreError::Corrupt { path: path.clone(), message: error.to_string() })?;
                write_atomically(&path, &bytes).map_err(|source| StoreError::Io { path, source })
            })
            .await
        })
    }

    fn delete(&self, name: &str) -> StoreFuture<'_, ()> {
        let path = self.path_of(name);
        Box::pin(async move {
            blocking(move || {
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                    Err(source) => return Err(StoreError::Io { path, source }),
                }
                sync_parent(&path).map_err(|source| StoreError::Io { path, source })
            })
            .await
        })
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|error| {
        Err(StoreError::Io { path: PathBuf::new(), source: io::Error::other(error.to_string()) })
    })
}

fn load_all(directory: &Path) -> Result<Vec<AppRecord>, StoreError> {
    let io_error = |source| StoreError::Io { path: directory.to_path_buf(), source };
    let mut records = Vec::new();
    for entry in fs::read_dir(directory).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        if path.extension().is_none_or(|extension| extension != "json") {
            continue; // leftovers of an interrupted write
        }
        let bytes = fs::read(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
        let record: AppRecord = serde_json::from_slice(&bytes)
            .map_err(|error| StoreError::Corrupt { path: path.clone(), message: error.to_string() })?;
        records.push(record);
    }
    records.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(records)
}

/// Writes `bytes` to `path` so that a crash leaves either the old content or the new, durably.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    sync_parent(path)
}

fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(parent) => fs::File::open(parent)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A record to store, for the tests of every store.
    pub(crate) fn record(name: &str, version: u64) -> AppRecord {
        AppRecord {
            name: name.to_string(),
            version,
            manifest: format!("name = \"{name}\""),
            digest: "d".repeat(64),
            files_digest: "f".repeat(64),
            scale: BTreeMap::from([("web".to_string(), ScaleOverride { min: 2, max: 3 })]),
            deployed_at_ms: 1,
        }
    }

    #[tokio::test]
    async fn records_survive_reopening_and_deletes_stick() {
        let directory = tempfile::tempdir().expect("tempdir");
        let store = FileStore::open(directory.path()).expect("open");
        store.put(record("a", 1)).await.expect("put");
        store.put(record("b", 1)).await.expect("put");
        store.put(record("a", 2)).await.expect("overwrite");
        store.delete("b").await.expect("delete");
        store.delete("never-existed").await.expect("deleting nothing is fine");

        let reopened = FileStore::open(directory.path()).expect("reopen");
        let records = reopened.load().await.expect("load");
        assert_eq!(records, vec![record("a", 2)]);
    }

    #[tokio::test]
    async fn a_corrupt_record_is_an_error_not_a_panic() {
        let directory = tempfile::tempdir().expect("tempdir");
        fs::write(directory.path().join("x.json"), b"{not json").expect("write");
        let store = FileStore::open(directory.path()).expect("open");
        assert!(matches!(store.load().await, Err(StoreError::Corrupt { .. })));
    }
}
