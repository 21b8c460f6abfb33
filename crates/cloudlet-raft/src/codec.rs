//! The bytes of what a group stores: log entries, votes, log ids and memberships.
//!
//! A small, fixed binary layout (little-endian integers, length-prefixed byte strings) rather than a
//! general serializer: entries are written and read on every proposal, and their layout must not
//! change under us when a dependency moves. The command inside an entry is encoded by the state
//! machine ([`StateMachine::encode`](crate::StateMachine::encode)).

use std::collections::{BTreeMap, BTreeSet};

use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Membership, StoredMembership, Vote};

use crate::machine::{Batch, NodeId, StateMachine, TypeConfig};

/// Bytes that do not decode: a damaged store or a bug, never user input.
#[derive(Debug, thiserror::Error)]
#[error("corrupt {what} in the Raft store: {reason}")]
pub struct CorruptRecord {
    pub what: &'static str,
    pub reason: String,
}

impl CorruptRecord {
    pub(crate) fn new(what: &'static str, reason: impl Into<String>) -> Self {
        Self { what, reason: reason.into() }
    }
}

const BLANK: u8 = 0;
const NORMAL: u8 = 1;
const MEMBERSHIP: u8 = 2;

/// Appends little-endian integers and length-prefixed bytes.
pub struct Writer<'a>(pub &'a mut Vec<u8>);

impl Writer<'_> {
    pub fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub fn bytes(&mut self, value: &[u8]) {
        self.u32(value.len() as u32);
        self.0.extend_from_slice(value);
    }
}

/// Reads what a [`Writer`] wrote; every read checks the length left.
pub struct Reader<'a> {
    rest: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { rest: bytes, what }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], CorruptRecord> {
        if self.rest.len() < count {
            return Err(CorruptRecord::new(self.what, format!("{} bytes missing", count - self.rest.len())));
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Ok(taken)
    }

    pub fn u8(&mut self) -> Result<u8, CorruptRecord> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, CorruptRecord> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, CorruptRecord> {
        let mut array = [0u8; 8];
        array.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(array))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], CorruptRecord> {
        let length = self.u32()? as usize;
        self.take(length)
    }

    /// What is left, all of it.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.rest)
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn corrupt(&self, reason: impl Into<String>) -> CorruptRecord {
        CorruptRecord::new(self.what, reason)
    }
}

fn write_log_id(out: &mut Writer<'_>, log_id: &LogId<NodeId>) {
    out.u64(log_id.leader_id.term);
    out.u64(log_id.leader_id.node_id);
    out.u64(log_id.index);
}

fn read_log_id(input: &mut Reader<'_>) -> Result<LogId<NodeId>, CorruptRecord> {
    let term = input.u64()?;
    let node = input.u64()?;
    let index = input.u64()?;
    Ok(LogId::new(CommittedLeaderId::new(term, node), index))
}

pub fn encode_log_id(log_id: &LogId<NodeId>) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    write_log_id(&mut Writer(&mut out), log_id);
    out
}

pub fn decode_log_id(bytes: &[u8]) -> Result<LogId<NodeId>, CorruptRecord> {
    read_log_id(&mut Reader::new(bytes, "log id"))
}

pub fn write_optional_log_id(out: &mut Writer<'_>, log_id: Option<&LogId<NodeId>>) {
    match log_id {
        None => out.u8(0),
        Some(log_id) => {
            out.u8(1);
            write_log_id(out, log_id);
        }
    }
}

pub fn read_optional_log_id(input: &mut Reader<'_>) -> Result<Option<LogId<NodeId>>, CorruptRecord> {
    match input.u8()? {
        0 => Ok(None),
        1 => read_log_id(input).map(Some),
        other => Err(input.corrupt(format!("optional log id tag {other}"))),
    }
}

pub fn encode_vote(vote: &Vote<NodeId>) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    let mut writer = Writer(&mut out);
    writer.u64(vote.leader_id.term);
    writer.u64(vote.leader_id.node_id);
    writer.u8(u8::from(vote.committed));
    out
}

pub fn decode_vote(bytes: &[u8]) -> Result<Vote<NodeId>, CorruptRecord> {
    let mut input = Reader::new(bytes, "vote");
    let term = input.u64()?;
    let node = input.u64()?;
    let committed = input.u8()? == 1;
    Ok(if committed { Vote::new_committed(term, node) } else { Vote::new(term, node) })
}

fn write_membership(out: &mut Writer<'_>, membership: &Membership<NodeId, BasicNode>) {
    let configs = membership.get_joint_config();
    out.u32(configs.len() as u32);
    for config in configs {
        out.u32(config.len() as u32);
        config.iter().for_each(|id| out.u64(*id));
    }
    let nodes: Vec<_> = membership.nodes().collect();
    out.u32(nodes.len() as u32);
    for (id, node) in nodes {
        out.u64(*id);
        out.bytes(node.addr.as_bytes());
    }
}

fn read_membership(input: &mut Reader<'_>) -> Result<Membership<NodeId, BasicNode>, CorruptRecord> {
    let mut configs = Vec::new();
    for _ in 0..input.u32()? {
        let mut config = BTreeSet::new();
        for _ in 0..input.u32()? {
            config.insert(input.u64()?);
        }
        configs.push(config);
    }
    let mut nodes = BTreeMap::new();
    for _ in 0..input.u32()? {
        let id = input.u64()?;
        let address = std::str::from_utf8(input.bytes()?).map_err(|_| input.corrupt("node address is not UTF-8"))?;
        nodes.insert(id, BasicNode::new(address));
    }
    Ok(Membership::new(configs, nodes))
}

pub fn write_stored_membership(out: &mut Writer<'_>, stored: &StoredMembership<NodeId, BasicNode>) {
    write_optional_log_id(out, stored.log_id().as_ref());
    write_membership(out, stored.membership());
}

pub fn read_stored_membership(input: &mut Reader<'_>) -> Result<StoredMembership<NodeId, BasicNode>, CorruptRecord> {
    let log_id = read_optional_log_id(input)?;
    Ok(StoredMembership::new(log_id, read_membership(input)?))
}

/// An entry: its log id, a payload tag, then the payload; a normal payload is its commands' count,
/// then each command length-prefixed.
pub fn encode_entry<M: StateMachine>(entry: &Entry<TypeConfig<M>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut writer = Writer(&mut out);
    write_log_id(&mut writer, &entry.log_id);
    match &entry.payload {
        EntryPayload::Blank => writer.u8(BLANK),
        EntryPayload::Normal(Batch(commands)) => {
            writer.u8(NORMAL);
            writer.u32(commands.len() as u32);
            for command in commands {
                // The command's length goes before it, filled in once the machine has encoded it.
                let at = out.len();
                out.extend_from_slice(&[0; 4]);
                M::encode(command, &mut out);
                let length = (out.len() - at - 4) as u32;
                out[at..at + 4].copy_from_slice(&length.to_le_bytes());
            }
        }
        EntryPayload::Membership(membership) => {
            writer.u8(MEMBERSHIP);
            write_membership(&mut writer, membership);
        }
    }
    out
}

pub fn decode_entry<M: StateMachine>(bytes: &[u8]) -> Result<Entry<TypeConfig<M>>, CorruptRecord> {
    let mut input = Reader::new(bytes, "log entry");
    let log_id = read_log_id(&mut input)?;
    let payload = match input.u8()? {
        BLANK => EntryPayload::Blank,
        NORMAL => {
            let count = input.u32()?;
            let mut commands = Vec::with_capacity(count.min(1024) as usize);
            for _ in 0..count {
                let bytes = input.bytes()?;
                commands.push(M::decode(bytes).map_err(|reason| CorruptRecord::new("command", reason))?);
            }
            if !input.is_empty() {
                return Err(input.corrupt("bytes after the last command"));
            }
            EntryPayload::Normal(Batch(commands))
        }
        MEMBERSHIP => EntryPayload::Membership(read_membership(&mut input)?),
        other => return Err(input.corrupt(format!("payload tag {other}"))),
    };
    Ok(Entry { log_id, payload })
}

#[cfg(test)]
mod tests;
