//! The transport between the members of a group.
//!
//! On a node of one every group's only voter is the node itself, and openraft sends nothing: a
//! single voter commits an entry as soon as its own log has it durably. [`NoPeers`] is the transport
//! for that membership: should openraft ever address another node, the call fails as *unreachable*
//! (openraft backs off and retries), which is the truth on a node with no cluster transport.
//! Clustering brings a transport that carries these calls between nodes; nothing else changes.

use std::io;

use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::{RaftNetwork, RaftNetworkFactory};

use crate::machine::{Node, NodeId, StateMachine, TypeConfig};

/// The transport of a node without peers.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPeers;

fn unreachable<E: std::error::Error>(target: NodeId) -> RPCError<NodeId, Node, E> {
    let reason = io::Error::new(
        io::ErrorKind::NotConnected,
        format!("node {target} is not reachable: this node has no cluster transport"),
    );
    RPCError::Unreachable(Unreachable::new(&reason))
}

/// A connection to one (unreachable) peer.
pub struct NoPeer {
    target: NodeId,
}

impl<M: StateMachine> RaftNetworkFactory<TypeConfig<M>> for NoPeers {
    type Network = NoPeer;

    async fn new_client(&mut self, target: NodeId, _node: &Node) -> Self::Network {
        NoPeer { target }
    }
}

impl<M: StateMachine> RaftNetwork<TypeConfig<M>> for NoPeer {
    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig<M>>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        Err(unreachable(self.target))
    }

    async fn install_snapshot(
        &mut self,
        _rpc: InstallSnapshotRequest<TypeConfig<M>>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>> {
        Err(unreachable(self.target))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        Err(unreachable(self.target))
    }
}
