//! One group's state: openraft's `RaftStateMachine` over a [`StateMachine`], with snapshots.
//!
//! The state is in memory, shared with readers through [`Shared`]; applying a batch of entries
//! holds its lock only for that batch. A snapshot clones the state under the lock and encodes and
//! writes the clone on a blocking thread, so writes wait for a copy, not for the disk.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::RaftStateMachine;
use openraft::{
    Entry, EntryPayload, LogId, OptionalSend, RaftSnapshotBuilder, Snapshot, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership,
};

use crate::machine::{Batch, Node, NodeId, StateMachine, TypeConfig};
use crate::snapshot::SnapshotDir;

type Result<T> = std::result::Result<T, StorageError<NodeId>>;

/// The applied state of a group.
pub(crate) struct Applied<M> {
    pub(crate) machine: M,
    pub(crate) last_applied: Option<LogId<NodeId>>,
    pub(crate) membership: StoredMembership<NodeId, Node>,
}

/// The state shared by the state machine task and readers.
pub(crate) struct Shared<M> {
    applied: Mutex<Applied<M>>,
    /// `last_applied`'s index + 1 (0 = nothing applied), for the log's tail.
    pub(crate) applied_index: Arc<AtomicU64>,
}

impl<M> Shared<M> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Applied<M>> {
        self.applied.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// openraft's handle on a group's state.
pub(crate) struct GroupState<M> {
    shared: Arc<Shared<M>>,
    snapshots: SnapshotDir,
    /// Snapshots built by this process, to make snapshot ids unique.
    built: u64,
}

fn snapshot_error(error: &std::io::Error) -> StorageError<NodeId> {
    StorageIOError::write_snapshot(None, error).into()
}

impl<M: StateMachine> GroupState<M> {
    /// The state of a group as its newest snapshot left it (empty without one). Blocking.
    pub(crate) fn open(snapshots: SnapshotDir) -> std::io::Result<(Self, Arc<Shared<M>>)> {
        let applied = match snapshots.latest()? {
            None => Applied { machine: M::default(), last_applied: None, membership: StoredMembership::default() },
            Some(stored) => Applied {
                machine: M::load(&stored.data)
                    .map_err(|reason| std::io::Error::new(std::io::ErrorKind::InvalidData, reason))?,
                last_applied: stored.meta.last_log_id,
                membership: stored.meta.last_membership,
            },
        };
        let index = applied.last_applied.map_or(0, |log_id| log_id.index + 1);
        let shared = Arc::new(Shared { applied: Mutex::new(applied), applied_index: Arc::new(AtomicU64::new(index)) });
        Ok((Self { shared: shared.clone(), snapshots, built: 0 }, shared))
    }
}

/// A copy of the state at a log position, turned into a snapshot on a blocking thread.
pub(crate) struct Builder<M> {
    /// Taken by the one build.
    machine: Option<M>,
    meta: SnapshotMeta<NodeId, Node>,
    snapshots: SnapshotDir,
}

impl<M: StateMachine> RaftSnapshotBuilder<TypeConfig<M>> for Builder<M> {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig<M>>> {
        let Some(machine) = self.machine.take() else {
            return Err(snapshot_error(&std::io::Error::other("a snapshot builder was used twice")));
        };
        let meta = self.meta.clone();
        let snapshots = self.snapshots.clone();
        let written = tokio::task::spawn_blocking(move || {
            let mut data = Vec::new();
            machine.save(&mut data);
            snapshots.write(&meta, &data).map(|()| data)
        })
        .await
        .map_err(|error| snapshot_error(&std::io::Error::other(error.to_string())))?;
        let data = written.map_err(|error| snapshot_error(&error))?;
        Ok(Snapshot { meta: self.meta.clone(), snapshot: Box::new(Cursor::new(data)) })
    }
}

impl<M: StateMachine> RaftStateMachine<TypeConfig<M>> for GroupState<M> {
    type SnapshotBuilder = Builder<M>;

    async fn applied_state(&mut self) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, Node>)> {
        let applied = self.shared.lock();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<M::Output>>>
    where
        I: IntoIterator<Item = Entry<TypeConfig<M>>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut outputs = Vec::new();
        let mut applied = self.shared.lock();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            outputs.push(match entry.payload {
                EntryPayload::Blank => Vec::new(),
                EntryPayload::Normal(Batch(commands)) => {
                    commands.iter().map(|command| applied.machine.apply(command)).collect()
                }
                EntryPayload::Membership(membership) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Vec::new()
                }
            });
        }
        let index = applied.last_applied.map_or(0, |log_id| log_id.index + 1);
        drop(applied);
        self.shared.applied_index.store(index, Ordering::Release);
        Ok(outputs)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.built += 1;
        let applied = self.shared.lock();
        let snapshot_id = match applied.last_applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id.term, log_id.index, self.built),
            None => format!("0-0-{}", self.built),
        };
        Builder {
            machine: Some(applied.machine.clone()),
            meta: SnapshotMeta {
                last_log_id: applied.last_applied,
                last_membership: applied.membership.clone(),
                snapshot_id,
            },
            snapshots: self.snapshots.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, Node>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<()> {
        let data = snapshot.into_inner();
        let machine = M::load(&data).map_err(|reason| {
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &std::io::Error::other(reason)))
        })?;
        let (snapshots, written_meta) = (self.snapshots.clone(), meta.clone());
        tokio::task::spawn_blocking(move || snapshots.write(&written_meta, &data))
            .await
            .map_err(|error| snapshot_error(&std::io::Error::other(error.to_string())))?
            .map_err(|error| snapshot_error(&error))?;
        let mut applied = self.shared.lock();
        applied.machine = machine;
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        self.shared.applied_index.store(meta.last_log_id.map_or(0, |log_id| log_id.index + 1), Ordering::Release);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig<M>>>> {
        let snapshots = self.snapshots.clone();
        let stored = tokio::task::spawn_blocking(move || snapshots.latest())
            .await
            .map_err(|error| snapshot_error(&std::io::Error::other(error.to_string())))?
            .map_err(|error| StorageError::from(StorageIOError::read_snapshot(None, &error)))?;
        Ok(stored.map(|stored| Snapshot { meta: stored.meta, snapshot: Box::new(Cursor::new(stored.data)) }))
    }
}
