//! What a Raft group replicates: a deterministic state machine, and the openraft type configuration
//! built from it.

use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::io::Cursor;
use std::marker::PhantomData;

/// A deterministic state machine: the same commands applied in the same order to the same state
/// give the same state and outputs on every replica and on every replay after a restart. Time and
/// randomness, if a command needs them, travel inside the command.
///
/// The state lives in memory; it is made durable by the log (every command is in it before it is
/// applied) and by snapshots, which let the log be cut.
pub trait StateMachine: Clone + Default + Send + Sync + 'static {
    /// A proposed change; stored in the log.
    type Command: Clone + Debug + Send + Sync + 'static;
    /// What applying a command returns to the proposer.
    type Output: Debug + Send + Sync + 'static;

    /// Applies one committed command.
    fn apply(&mut self, command: &Self::Command) -> Self::Output;

    /// Appends a command's bytes to `out`, as the log stores them.
    fn encode(command: &Self::Command, out: &mut Vec<u8>);

    /// The command [`StateMachine::encode`] wrote.
    fn decode(bytes: &[u8]) -> Result<Self::Command, String>;

    /// Appends the whole state to `out`, for a snapshot. Runs on a blocking thread over a clone.
    fn save(&self, out: &mut Vec<u8>);

    /// The state [`StateMachine::save`] wrote.
    fn load(bytes: &[u8]) -> Result<Self, String>;

    /// About how many bytes `command` takes, so that a batch of proposals sharing one entry stays
    /// bounded (see [`Group`](crate::Group)). Zero when commands are small.
    fn size(_command: &Self::Command) -> usize {
        0
    }
}

/// The commands of one log entry: every proposal that arrived while the group's previous entry was
/// being written. openraft 0.9 writes a group's entries one at a time and waits for each to be
/// durable, so batching here is what lets a group make many proposals durable with one fsync.
#[derive(Clone, Debug)]
pub struct Batch<C>(pub Vec<C>);

/// Node ids are numbers; a node's address travels with it for the cluster transport.
pub type NodeId = u64;
pub type Node = openraft::BasicNode;

/// The openraft type configuration of a group running `M`.
pub struct TypeConfig<M>(PhantomData<fn() -> M>);

impl<M: StateMachine> openraft::RaftTypeConfig for TypeConfig<M> {
    type D = Batch<M::Command>;
    /// One output per command of the entry's batch; none for the entries openraft writes itself
    /// (blank, membership).
    type R = Vec<M::Output>;
    type NodeId = NodeId;
    type Node = Node;
    type Entry = openraft::Entry<Self>;
    type SnapshotData = Cursor<Vec<u8>>;
    type AsyncRuntime = openraft::TokioRuntime;
    type Responder = openraft::impls::OneshotResponder<Self>;
}

// openraft wants the configuration type itself to be a plain value type; these hold for any `M`
// because the type carries no data.
impl<M> Clone for TypeConfig<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for TypeConfig<M> {}

impl<M> Default for TypeConfig<M> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<M> Debug for TypeConfig<M> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("TypeConfig")
    }
}

impl<M> PartialEq for TypeConfig<M> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<M> Eq for TypeConfig<M> {}

impl<M> PartialOrd for TypeConfig<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<M> Ord for TypeConfig<M> {
    fn cmp(&self, _: &Self) -> Ordering {
        Ordering::Equal
    }
}
