//! The node's Raft storage: one fjall database for the logs of every group, written by one thread
//! that commits group-wide.
//!
//! Every change to a log (append, vote, truncate, purge) is a [`Job`] sent to the writer thread. The
//! writer takes every job waiting, writes them all in one fjall batch, makes the journal durable with
//! one fsync, then completes them all: jobs that arrive while an fsync runs share the next one, so
//! concurrent writes from any number of clients and groups cost one fsync per round, not one each.
//! Because only this thread writes, the order of jobs is the order on disk, and no caller ever
//! waits on a lock held across an fsync.
//!
//! Snapshots are files in `snapshots/`, written by the groups themselves (`snapshot.rs`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

/// Called once a job is durable, or failed to become so.
pub(crate) type Completion = Box<dyn FnOnce(io::Result<()>) + Send>;

/// Jobs written together at most, so one round's batch stays bounded.
const MAX_JOBS_PER_ROUND: usize = 4096;

/// Errors opening the storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot open the Raft log store at {path}: {source}")]
    Open { path: PathBuf, source: fjall::Error },
    #[error("cannot create {path}: {source}")]
    Directory { path: PathBuf, source: io::Error },
}

/// One change to the database.
pub(crate) enum Change {
    Put(Keyspace, Vec<u8>, Vec<u8>),
    Delete(Keyspace, Vec<u8>),
}

/// Changes written together, and who to tell once they are durable (`None`: nobody waits, and
/// the changes ride the next round that does fsync).
pub(crate) struct Job {
    pub(crate) changes: Vec<Change>,
    pub(crate) done: Option<Completion>,
}

/// The Raft storage of a node: the log database, the snapshot directory, the writer.
#[derive(Clone)]
pub struct Storage {
    database: Database,
    snapshots: PathBuf,
    writer: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

/// What the writer has done, for metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Rounds that made writes durable, each one fsync.
    pub rounds: AtomicU64,
    /// Writes made durable; `jobs / rounds` is how many shared each fsync.
    pub jobs: AtomicU64,
}

impl Storage {
    /// Opens (or creates) the storage under `directory`: the logs in `log/`, snapshots in `snapshots/`.
    pub fn open(directory: &Path) -> Result<Self, StorageError> {
        let snapshots = directory.join("snapshots");
        std::fs::create_dir_all(&snapshots)
            .map_err(|source| StorageError::Directory { path: snapshots.clone(), source })?;
        let path = directory.join("log");
        let database = Database::builder(&path)
            // Durability is the writer's job: fjall must not flush or fsync on its own schedule.
            .manual_journal_persist(true)
            .open()
            .map_err(|source| StorageError::Open { path: path.clone(), source })?;
        let (writer, jobs) = mpsc::channel();
        let written = database.clone();
        let counters = Arc::new(Counters::default());
        let counted = counters.clone();
        thread::Builder::new()
            .name("raft-writer".into())
            .spawn(move || write_forever(&written, &jobs, &counted))
            .map_err(|source| StorageError::Directory { path, source })?;
        Ok(Self { database, snapshots, writer, counters })
    }

    /// Rounds and jobs written so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub(crate) fn keyspace(&self, name: &str) -> Result<Keyspace, fjall::Error> {
        self.database.keyspace(name, KeyspaceCreateOptions::default)
    }

    pub(crate) fn snapshot_dir(&self) -> &Path {
        &self.snapshots
    }

    /// Queues `changes`; `done` runs once they are durable.
    pub(crate) fn submit(&self, changes: Vec<Change>, done: Completion) {
        if let Err(mpsc::SendError(job)) = self.writer.send(Job { changes, done: Some(done) })
            && let Some(done) = job.done
        {
            done(Err(io::Error::other("the Raft log writer has stopped")));
        }
    }

    /// Queues `changes` that need not be durable before anyone goes on: they are written in order
    /// with the rest and become durable with the next fsync.
    pub(crate) fn submit_lazily(&self, changes: Vec<Change>) {
        let _ = self.writer.send(Job { changes, done: None });
    }

    /// Queues `changes` and waits until they are durable.
    pub(crate) async fn write(&self, changes: Vec<Change>) -> io::Result<()> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.submit(
            changes,
            Box::new(move |result| {
                let _ = sender.send(result);
            }),
        );
        receiver.await.unwrap_or_else(|_| Err(io::Error::other("the Raft log writer has stopped")))
    }
}

/// The writer: one batch and one fsync per round for every job that arrived before it.
fn write_forever(database: &Database, jobs: &mpsc::Receiver<Job>, counters: &Counters) {
    while let Ok(first) = jobs.recv() {
        let mut round = vec![first];
        round.extend(jobs.try_iter().take(MAX_JOBS_PER_ROUND - 1));
        let mut batch = database.batch();
        let mut completions = Vec::with_capacity(round.len());
        for job in round {
            for change in job.changes {
                match change {
                    Change::Put(keyspace, key, value) => batch.insert(&keyspace, key, value),
                    Change::Delete(keyspace, key) => batch.remove(&keyspace, key),
                }
            }
            completions.extend(job.done);
        }
        let mut result = batch.commit();
        if !completions.is_empty() {
            result = result.and_then(|()| database.persist(PersistMode::SyncData));
            counters.rounds.fetch_add(1, Ordering::Relaxed);
            counters.jobs.fetch_add(completions.len() as u64, Ordering::Relaxed);
        }
        match result {
            Ok(()) => completions.into_iter().for_each(|done| done(Ok(()))),
            Err(error) => {
                // fjall poisons itself after a failed fsync; every later write fails the same way,
                // so nothing is acknowledged that is not on disk.
                tracing::error!(%error, "writing the Raft log failed");
                let message = error.to_string();
                completions.into_iter().for_each(|done| done(Err(io::Error::other(message.clone()))));
            }
        }
    }
}
