//! A Raft group: one openraft instance over its log, its state and its snapshots.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::{Config, Raft, ServerState, SnapshotPolicy};

use crate::log::GroupLog;
use crate::machine::{Node, NodeId, StateMachine, TypeConfig};
use crate::network::NoPeers;
use crate::proposer::Proposer;
use crate::snapshot::SnapshotDir;
use crate::state::{GroupState, Shared};
use crate::storage::Storage;

/// How a group behaves.
#[derive(Clone, Debug)]
pub struct GroupSettings {
    /// This node's id in every group.
    pub node: NodeId,
    /// This node's address, as the membership records it.
    pub address: String,
    /// A snapshot is taken after this many entries since the last one; then the log before it is cut.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot (for followers that lag a little).
    pub keep_after_snapshot: u64,
    /// How long opening waits for the group to have a leader.
    pub leader_timeout: Duration,
}

impl Default for GroupSettings {
    fn default() -> Self {
        Self {
            node: 1,
            address: "127.0.0.1:0".to_string(),
            snapshot_every: 50_000,
            keep_after_snapshot: 1_000,
            leader_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a group did not open or a proposal did not commit.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GroupError {
    #[error("Raft group {group}: {message}")]
    Open { group: String, message: String },
    #[error("Raft group {group} has no leader here; the leader is {leader:?}")]
    NotLeader { group: String, leader: Option<NodeId> },
    #[error("Raft group {group} stopped: {message}")]
    Stopped { group: String, message: String },
}

/// A running group.
pub struct Group<M: StateMachine> {
    name: Arc<str>,
    raft: Raft<TypeConfig<M>>,
    proposer: Proposer<M>,
    shared: Arc<Shared<M>>,
}

impl<M: StateMachine> Group<M> {
    /// Opens group `name` on `storage`: its state from its newest snapshot, then the log after it.
    /// A new group is initialised with this node as its only voter. Returns once it has a leader.
    pub async fn open(storage: &Storage, name: &str, settings: &GroupSettings) -> Result<Self, GroupError> {
        let failed = |message: String| GroupError::Open { group: name.to_string(), message };
        let (root, group) = (storage.snapshot_dir().to_path_buf(), name.to_string());
        let (state, shared) = tokio::task::spawn_blocking(move || {
            let snapshots = SnapshotDir::open(&root, &group)?;
            GroupState::<M>::open(snapshots)
        })
        .await
        .map_err(|error| failed(error.to_string()))?
        .map_err(|error| failed(format!("cannot read its snapshot: {error}")))?;
        let log = GroupLog::<M>::open(storage, name, shared.applied_index.clone())
            .map_err(|error| failed(format!("cannot read its log: {error}")))?;
        let config = Config {
            cluster_name: name.to_string(),
            // No peers to keep in touch with on a node of one; these only matter in a cluster.
            heartbeat_interval: 500,
            election_timeout_min: 1500,
            election_timeout_max: 3000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_every),
            max_in_snapshot_log_to_keep: settings.keep_after_snapshot,
            ..Config::default()
        }
        .validate()
        .map_err(|error| failed(format!("bad configuration: {error}")))?;
        let raft = Raft::new(settings.node, Arc::new(config), NoPeers, log, state)
            .await
            .map_err(|error| failed(error.to_string()))?;
        let initialized = raft.is_initialized().await.map_err(|error| failed(error.to_string()))?;
        if !initialized {
            let members = BTreeMap::from([(settings.node, Node::new(settings.address.clone()))]);
            raft.initialize(members).await.map_err(|error| failed(error.to_string()))?;
        }
        raft.wait(Some(settings.leader_timeout))
            .state(ServerState::Leader, "the group's only voter becomes its leader")
            .await
            .map_err(|error| failed(format!("no leader: {error}")))?;
        // Entries committed before a restart may not have been applied yet (the committed position
        // is saved lazily): a new leader commits everything in its log, so wait until all of it is
        // applied — reads right after opening must see every acknowledged write.
        let last = raft.metrics().borrow().last_log_index;
        raft.wait(Some(settings.leader_timeout))
            .applied_index_at_least(last, "the log found at start is applied")
            .await
            .map_err(|error| failed(format!("could not apply its log: {error}")))?;
        let name: Arc<str> = name.into();
        let proposer = Proposer::start(name.clone(), raft.clone());
        Ok(Self { name, raft, proposer, shared })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Proposes `command`; returns its output once it is durable in the log and applied. Proposals
    /// that arrive together share one entry and one fsync; each is applied as its own step, in the
    /// order the proposals reached the group.
    pub async fn propose(&self, command: M::Command) -> Result<M::Output, GroupError> {
        self.proposer.propose(command).await
    }

    /// Runs `query` against the applied state. It sees every write acknowledged so far (writes are
    /// acknowledged after they are applied, and on a node of one this node is always the leader).
    /// `query` must not change the state — that would make replicas differ; `&mut` is for state
    /// machines whose read paths share code with their writes.
    pub fn query<T>(&self, query: impl FnOnce(&mut M) -> T) -> T {
        query(&mut self.shared.lock().machine)
    }

    /// Positions of the group, for `INFO` and metrics.
    pub fn progress(&self) -> Progress {
        let metrics = self.raft.metrics().borrow().clone();
        Progress {
            last_log_index: metrics.last_log_index.unwrap_or(0),
            last_applied: metrics.last_applied.map_or(0, |log_id| log_id.index),
            snapshot: metrics.snapshot.map_or(0, |log_id| log_id.index),
            purged: metrics.purged.map_or(0, |log_id| log_id.index),
            leader: metrics.current_leader,
        }
    }

    /// Asks for a snapshot now (tests, operations).
    pub async fn snapshot_now(&self) -> Result<(), GroupError> {
        self.raft
            .trigger()
            .snapshot()
            .await
            .map_err(|error| GroupError::Stopped { group: self.name.to_string(), message: error.to_string() })
    }

    /// Stops the group's tasks. Everything acknowledged is already durable.
    pub async fn shutdown(&self) {
        if let Err(error) = self.raft.shutdown().await {
            tracing::warn!(group = %self.name, %error, "Raft group did not stop cleanly");
        }
    }
}

/// Where a group's log stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub last_log_index: u64,
    pub last_applied: u64,
    pub snapshot: u64,
    pub purged: u64,
    pub leader: Option<NodeId>,
}
