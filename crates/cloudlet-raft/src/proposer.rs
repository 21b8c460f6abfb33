//! A group's proposer: many proposals, one log entry (group commit at the level of Raft entries).
//!
//! openraft 0.9 appends a group's entries one at a time and waits for each to be durable before it
//! takes the next client write, so one entry per proposal would cap a group at one proposal per
//! fsync. Instead every proposal goes through the group's proposer, which takes everything that
//! arrived while the previous entry was being written and proposes it as one [`Batch`]: under load
//! a group makes hundreds of proposals durable per fsync; alone, a proposal waits only for its own.
//! The queue is bounded: when it is full, proposers wait (backpressure); nothing is dropped.

use std::sync::Arc;

use openraft::Raft;
use openraft::error::{ClientWriteError, RaftError};
use tokio::sync::{mpsc, oneshot};

use crate::group::GroupError;
use crate::machine::{Batch, StateMachine, TypeConfig};

/// Proposals waiting for a group at most.
const QUEUE: usize = 4096;
/// Commands in one entry at most, and bytes (as [`StateMachine::size`] counts them).
const BATCH_COMMANDS: usize = 1024;
const BATCH_BYTES: usize = 8 << 20;

struct Pending<M: StateMachine> {
    command: M::Command,
    reply: oneshot::Sender<Result<M::Output, GroupError>>,
}

/// The way into one group's log.
pub(crate) struct Proposer<M: StateMachine> {
    name: Arc<str>,
    queue: mpsc::Sender<Pending<M>>,
}

impl<M: StateMachine> Proposer<M> {
    /// Starts the proposing task of group `name`; it ends when the proposer is dropped.
    pub(crate) fn start(name: Arc<str>, raft: Raft<TypeConfig<M>>) -> Self {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(propose_forever(name.clone(), raft, receiver));
        Self { name, queue }
    }

    /// Proposes `command`; its output once its entry is durable and applied.
    pub(crate) async fn propose(&self, command: M::Command) -> Result<M::Output, GroupError> {
        let stopped =
            || GroupError::Stopped { group: self.name.to_string(), message: "its proposer has stopped".into() };
        let (reply, answer) = oneshot::channel();
        self.queue.send(Pending { command, reply }).await.map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

async fn propose_forever<M: StateMachine>(
    name: Arc<str>,
    raft: Raft<TypeConfig<M>>,
    mut receiver: mpsc::Receiver<Pending<M>>,
) {
    while let Some(first) = receiver.recv().await {
        let mut bytes = M::size(&first.command);
        let mut batch = vec![first];
        while batch.len() < BATCH_COMMANDS && bytes < BATCH_BYTES {
            let Ok(next) = receiver.try_recv() else { break };
            bytes += M::size(&next.command);
            batch.push(next);
        }
        let (commands, replies): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|pending| (pending.command, pending.reply)).unzip();
        let count = commands.len();
        match raft.client_write(Batch(commands)).await {
            Ok(response) if response.data.len() == count => {
                for (reply, output) in replies.into_iter().zip(response.data) {
                    let _ = reply.send(Ok(output));
                }
            }
            outcome => {
                let error = match outcome {
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                        GroupError::NotLeader { group: name.to_string(), leader: forward.leader_id }
                    }
                    Err(error) => GroupError::Stopped { group: name.to_string(), message: error.to_string() },
                    Ok(response) => GroupError::Stopped {
                        group: name.to_string(),
                        message: format!("{count} commands were applied with {} outputs", response.data.len()),
                    },
                };
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}
