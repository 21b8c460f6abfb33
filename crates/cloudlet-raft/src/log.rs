//! One group's log: openraft's `RaftLogStorage` over the node's [`Storage`].
//!
//! Entries live in the group's own fjall keyspace, keyed by index (big-endian, so keys sort by
//! index); the vote, the committed log id and the last purged log id live in the shared `raft_meta`
//! keyspace under `GROUP/vote`, `GROUP/committed`, `GROUP/purged`.
//!
//! Entries also stay in memory from the moment they are appended until the state machine has
//! applied them (the *tail*): openraft reads every entry back to apply it, and this way the hot path
//! never decodes what it just encoded. The tail is a suffix of the log and holds only entries in
//! flight.

#![allow(clippy::result_large_err, reason = "openraft's traits return its StorageError; the helpers here feed them")]

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fjall::Keyspace;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote};

use crate::codec::{self, CorruptRecord};
use crate::machine::{NodeId, StateMachine, TypeConfig};
use crate::storage::{Change, Storage};

type Result<T> = std::result::Result<T, StorageError<NodeId>>;

/// What the log knows without reading the disk.
struct Positions<M: StateMachine> {
    last_purged: Option<LogId<NodeId>>,
    last: Option<LogId<NodeId>>,
    /// Entries appended and not yet applied, by index.
    tail: BTreeMap<u64, Entry<TypeConfig<M>>>,
}

/// A group's log store; clones share everything (openraft takes a clone as its log reader).
pub(crate) struct GroupLog<M: StateMachine> {
    name: Arc<str>,
    storage: Storage,
    entries: Keyspace,
    meta: Keyspace,
    positions: Arc<Mutex<Positions<M>>>,
    /// One past the index the state machine has applied, published by it (0 = nothing applied).
    applied: Arc<AtomicU64>,
}

impl<M: StateMachine> Clone for GroupLog<M> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            storage: self.storage.clone(),
            entries: self.entries.clone(),
            meta: self.meta.clone(),
            positions: self.positions.clone(),
            applied: self.applied.clone(),
        }
    }
}

fn key(index: u64) -> Vec<u8> {
    index.to_be_bytes().to_vec()
}

fn read_error(error: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::read_logs(&error).into()
}

fn write_error(error: impl std::error::Error + 'static) -> StorageError<NodeId> {
    StorageIOError::write_logs(&error).into()
}

impl<M: StateMachine> GroupLog<M> {
    /// Opens the log of group `name`, reading where it starts and ends.
    pub(crate) fn open(storage: &Storage, name: &str, applied: Arc<AtomicU64>) -> Result<Self> {
        let entries = storage.keyspace(&format!("log.{name}")).map_err(read_error)?;
        let meta = storage.keyspace("raft_meta").map_err(read_error)?;
        let mut log = Self {
            name: name.into(),
            storage: storage.clone(),
            entries,
            meta,
            positions: Arc::new(Mutex::new(Positions { last_purged: None, last: None, tail: BTreeMap::new() })),
            applied,
        };
        let last_purged = log.read_meta("purged", codec::decode_log_id)?;
        let last = match log.entries.last_key_value() {
            None => last_purged,
            Some(guard) => {
                let (_, value) = guard.into_inner().map_err(read_error)?;
                Some(codec::decode_entry::<M>(&value).map_err(read_error)?.log_id)
            }
        };
        let positions = Arc::get_mut(&mut log.positions).and_then(|mutex| mutex.get_mut().ok());
        if let Some(positions) = positions {
            positions.last_purged = last_purged;
            positions.last = last;
        }
        Ok(log)
    }

    fn positions(&self) -> MutexGuard<'_, Positions<M>> {
        self.positions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn meta_key(&self, field: &str) -> Vec<u8> {
        format!("{}/{field}", self.name).into_bytes()
    }

    fn read_meta<T>(
        &self,
        field: &str,
        decode: impl FnOnce(&[u8]) -> std::result::Result<T, CorruptRecord>,
    ) -> Result<Option<T>> {
        match self.meta.get(self.meta_key(field)).map_err(read_error)? {
            None => Ok(None),
            Some(bytes) => decode(&bytes).map(Some).map_err(read_error),
        }
    }

    /// The log id of the entry at `index`, if the log still has it.
    fn log_id_at(&self, index: u64) -> Result<Option<LogId<NodeId>>> {
        if let Some(entry) = self.positions().tail.get(&index) {
            return Ok(Some(entry.log_id));
        }
        match self.entries.get(key(index)).map_err(read_error)? {
            None => Ok(None),
            Some(bytes) => Ok(Some(codec::decode_entry::<M>(&bytes).map_err(read_error)?.log_id)),
        }
    }
}

/// `range` as a half-open `[start, end)` over indexes.
fn index_range(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&start) => start,
        Bound::Excluded(&start) => start.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&end) => end.saturating_add(1),
        Bound::Excluded(&end) => end,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl<M: StateMachine> RaftLogReader<TypeConfig<M>> for GroupLog<M> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig<M>>>> {
        let (start, end) = index_range(&range);
        if start >= end {
            return Ok(Vec::new());
        }
        // The tail is a suffix: entries below its first index come from the disk.
        let (from_tail, tail_start) = {
            let positions = self.positions();
            let tail_start = positions.tail.keys().next().copied().unwrap_or(u64::MAX);
            let from_tail: Vec<_> = positions.tail.range(start.max(tail_start)..end).map(|(_, e)| e.clone()).collect();
            (from_tail, tail_start)
        };
        let mut entries = Vec::new();
        let disk_end = end.min(tail_start);
        if start < disk_end {
            for item in self.entries.range(key(start)..key(disk_end)) {
                let (_, value) = item.into_inner().map_err(read_error)?;
                entries.push(codec::decode_entry::<M>(&value).map_err(read_error)?);
            }
        }
        entries.extend(from_tail);
        Ok(entries)
    }
}

impl<M: StateMachine> RaftLogStorage<TypeConfig<M>> for GroupLog<M> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig<M>>> {
        let positions = self.positions();
        Ok(LogState { last_purged_log_id: positions.last_purged, last_log_id: positions.last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<()> {
        let change = Change::Put(self.meta.clone(), self.meta_key("vote"), codec::encode_vote(vote));
        self.storage.write(vec![change]).await.map_err(|error| StorageIOError::write_vote(&error).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>> {
        self.read_meta("vote", codec::decode_vote)
    }

    /// Written without waiting: it rides the next fsync, and losing it only means re-applying
    /// entries after a restart once they are committed again.
    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<()> {
        let change = match committed {
            Some(log_id) => Change::Put(self.meta.clone(), self.meta_key("committed"), codec::encode_log_id(&log_id)),
            None => Change::Delete(self.meta.clone(), self.meta_key("committed")),
        };
        self.storage.submit_lazily(vec![change]);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>> {
        self.read_meta("committed", codec::decode_log_id)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig<M>>) -> Result<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig<M>>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let applied = self.applied.load(Ordering::Acquire);
        let mut changes = Vec::new();
        {
            let mut positions = self.positions();
            while positions.tail.first_key_value().is_some_and(|(index, _)| *index < applied) {
                positions.tail.pop_first();
            }
            for entry in entries {
                changes.push(Change::Put(self.entries.clone(), key(entry.log_id.index), codec::encode_entry(&entry)));
                positions.last = Some(entry.log_id);
                positions.tail.insert(entry.log_id.index, entry);
            }
        }
        self.storage.submit(changes, Box::new(move |result| callback.log_io_completed(result)));
        Ok(())
    }

    /// Removes entries from `log_id` on; durable before it returns, so a crash cannot bring back
    /// entries a leader told this node to drop.
    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<()> {
        let last = self.positions().last.map_or(0, |last| last.index);
        let changes = (log_id.index..=last).map(|index| Change::Delete(self.entries.clone(), key(index))).collect();
        let previous = match log_id.index.checked_sub(1) {
            None => None,
            Some(index) => match self.log_id_at(index)? {
                Some(found) => Some(found),
                None => self.positions().last_purged,
            },
        };
        {
            let mut positions = self.positions();
            positions.tail.split_off(&log_id.index);
            positions.last = previous;
        }
        self.storage.write(changes).await.map_err(write_error)
    }

    /// Removes entries up to `log_id`, once a snapshot covers them.
    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<()> {
        let first = self.positions().last_purged.map_or(0, |purged| purged.index + 1);
        let mut changes: Vec<Change> =
            (first..=log_id.index).map(|index| Change::Delete(self.entries.clone(), key(index))).collect();
        changes.push(Change::Put(self.meta.clone(), self.meta_key("purged"), codec::encode_log_id(&log_id)));
        {
            let mut positions = self.positions();
            let kept = positions.tail.split_off(&(log_id.index + 1));
            positions.tail = kept;
            positions.last_purged = Some(log_id);
            if positions.last < Some(log_id) {
                positions.last = Some(log_id);
            }
        }
        self.storage.submit_lazily(changes);
        Ok(())
    }
}
