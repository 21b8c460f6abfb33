use std::collections::{BTreeMap, BTreeSet};

use openraft::{BasicNode, CommittedLeaderId, Entry, EntryPayload, LogId, Membership, StoredMembership, Vote};

use super::*;
use crate::machine::{Batch, StateMachine, TypeConfig};

/// A state machine whose commands are strings, enough to exercise the entry layout.
#[derive(Clone, Default)]
struct Words(Vec<String>);

impl StateMachine for Words {
    type Command = String;
    type Output = usize;

    fn apply(&mut self, command: &String) -> usize {
        self.0.push(command.clone());
        self.0.len()
    }

    fn encode(command: &String, out: &mut Vec<u8>) {
        out.extend_from_slice(command.as_bytes());
    }

    fn decode(bytes: &[u8]) -> Result<String, String> {
        String::from_utf8(bytes.to_vec()).map_err(|error| error.to_string())
    }

    fn save(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.0.join("\n").as_bytes());
    }

    fn load(bytes: &[u8]) -> Result<Self, String> {
        Ok(Self(String::from_utf8_lossy(bytes).split('\n').map(str::to_string).collect()))
    }
}

fn log_id(term: u64, node: u64, index: u64) -> LogId<u64> {
    LogId::new(CommittedLeaderId::new(term, node), index)
}

fn membership() -> Membership<u64, BasicNode> {
    let voters = vec![BTreeSet::from([1, 2]), BTreeSet::from([2, 3])];
    let nodes = BTreeMap::from([
        (1, BasicNode::new("10.0.0.1:7070")),
        (2, BasicNode::new("10.0.0.2:7070")),
        (3, BasicNode::new("10.0.0.3:7070")),
        (4, BasicNode::new("10.0.0.4:7070")),
    ]);
    Membership::new(voters, nodes)
}

#[test]
fn entries_round_trip_with_every_payload() {
    let payloads: Vec<EntryPayload<TypeConfig<Words>>> = vec![
        EntryPayload::Blank,
        EntryPayload::Normal(Batch(vec!["SET k v".to_string()])),
        EntryPayload::Normal(Batch(vec![String::new(), "INCR n".to_string(), String::new()])),
        EntryPayload::Normal(Batch(Vec::new())),
        EntryPayload::Membership(membership()),
    ];
    for (index, payload) in payloads.into_iter().enumerate() {
        let entry = Entry { log_id: log_id(7, 3, index as u64 + 100), payload };
        let decoded = decode_entry::<Words>(&encode_entry(&entry)).expect("decodes");
        assert_eq!(decoded.log_id, entry.log_id);
        assert_eq!(format!("{:?}", decoded.payload), format!("{:?}", entry.payload));
    }
}

#[test]
fn votes_log_ids_and_memberships_round_trip() {
    for vote in [Vote::new(3, 9), Vote::new_committed(u64::MAX, 1)] {
        assert_eq!(decode_vote(&encode_vote(&vote)).expect("vote"), vote);
    }
    let id = log_id(2, 5, 77);
    assert_eq!(decode_log_id(&encode_log_id(&id)).expect("log id"), id);

    let stored = StoredMembership::new(Some(id), membership());
    let mut bytes = Vec::new();
    write_stored_membership(&mut Writer(&mut bytes), &stored);
    let decoded = read_stored_membership(&mut Reader::new(&bytes, "membership")).expect("membership");
    assert_eq!(decoded, stored);
}

#[test]
fn truncated_or_unknown_bytes_are_reported_not_panicked_on() {
    let payloads: Vec<EntryPayload<TypeConfig<Words>>> = vec![
        EntryPayload::Membership(membership()),
        EntryPayload::Normal(Batch(vec!["SET a 1".to_string(), "SET b 2".to_string()])),
    ];
    for payload in payloads {
        let bytes = encode_entry(&Entry { log_id: log_id(1, 1, 1), payload });
        for cut in 0..bytes.len() {
            assert!(decode_entry::<Words>(&bytes[..cut]).is_err(), "a cut at {cut} must not decode");
        }
    }
    let mut unknown = encode_entry::<Words>(&Entry { log_id: log_id(1, 1, 1), payload: EntryPayload::Blank });
    *unknown.last_mut().expect("tag") = 9;
    let error = decode_entry::<Words>(&unknown).expect_err("unknown tag");
    assert!(error.to_string().contains("payload tag 9"), "{error}");
    assert!(decode_vote(&[1, 2, 3]).is_err());
}
