//! Values and their memory footprint.
//!
//! Every collection keeps a running count of the bytes it holds, so the size of a value — and of
//! the whole keyspace — is known in O(1) after any change. The per-item overheads are estimates of
//! what the item costs in this process (headers, pointers, map slots), not exact figures.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use bytes::Bytes;

/// Estimated cost of a key beyond its bytes: map slot, entry header, scan index.
pub const KEY_OVERHEAD: usize = 96;
const ITEM_OVERHEAD: usize = 40;
const FIELD_OVERHEAD: usize = 72;
const MEMBER_OVERHEAD: usize = 48;
const SCORED_OVERHEAD: usize = 112;

/// A value of one of Redis's types.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Bytes),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
}

impl Value {
    /// The name `TYPE` returns.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// Estimated bytes held by the value.
    pub fn memory(&self) -> usize {
        match self {
            Value::Str(bytes) => bytes.len(),
            Value::List(list) => list.bytes,
            Value::Hash(hash) => hash.bytes,
            Value::Set(set) => set.bytes,
            Value::ZSet(zset) => zset.bytes,
        }
    }

    /// A collection with no elements is deleted, as in Redis.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(list) => list.items.is_empty(),
            Value::Hash(hash) => hash.fields.is_empty(),
            Value::Set(set) => set.members.is_empty(),
            Value::ZSet(zset) => zset.scores.is_empty(),
        }
    }
}

/// A list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    items: VecDeque<Bytes>,
    bytes: usize,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn items(&self) -> &VecDeque<Bytes> {
        &self.items
    }

    pub fn push_front(&mut self, item: Bytes) {
        self.bytes += item.len() + ITEM_OVERHEAD;
        self.items.push_front(item);
    }

    pub fn push_back(&mut self, item: Bytes) {
        self.bytes += item.len() + ITEM_OVERHEAD;
        self.items.push_back(item);
    }

    pub fn pop_front(&mut self) -> Option<Bytes> {
        let item = self.items.pop_front()?;
        self.bytes -= item.len() + ITEM_OVERHEAD;
        Some(item)
    }

    pub fn pop_back(&mut self) -> Option<Bytes> {
        let item = self.items.pop_back()?;
        self.bytes -= item.len() + ITEM_OVERHEAD;
        Some(item)
    }

    pub fn set(&mut self, index: usize, item: Bytes) {
        self.bytes = self.bytes - self.items[index].len() + item.len();
        self.items[index] = item;
    }

    /// Keeps only the items for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Bytes) -> bool) {
        let mut bytes = self.bytes;
        self.items.retain(|item| {
            let kept = keep(item);
            if !kept {
                bytes -= item.len() + ITEM_OVERHEAD;
            }
            kept
        });
        self.bytes = bytes;
    }

    /// Keeps only `start..=end` (already clamped, `start <= end < len`), or nothing.
    pub fn keep_range(&mut self, range: Option<(usize, usize)>) {
        let Some((start, end)) = range else {
            self.items.clear();
            self.bytes = 0;
            return;
        };
        self.items.truncate(end + 1);
        self.items.drain(..start);
        self.bytes = self.items.iter().map(|item| item.len() + ITEM_OVERHEAD).sum();
    }
}

/// A hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {
    fields: HashMap<Bytes, Bytes>,
    bytes: usize,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.fields.get(field)
    }

    pub fn fields(&self) -> &HashMap<Bytes, Bytes> {
        &self.fields
    }

    /// Sets a field; true when it is new.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> bool {
        let added = field.len() + value.len();
        match self.fields.insert(field.clone(), value) {
            Some(old) => {
                self.bytes = self.bytes + added - field.len() - old.len();
                false
            }
            None => {
                self.bytes += added + FIELD_OVERHEAD;
                true
            }
        }
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.fields.remove_entry(field) {
            Some((field, value)) => {
                self.bytes -= field.len() + value.len() + FIELD_OVERHEAD;
                true
            }
            None => false,
        }
    }
}

/// A set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    members: HashSet<Bytes>,
    bytes: usize,
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.members.contains(member)
    }

    pub fn members(&self) -> &HashSet<Bytes> {
        &self.members
    }

    pub fn insert(&mut self, member: Bytes) -> bool {
        let size = member.len() + MEMBER_OVERHEAD;
        let added = self.members.insert(member);
        if added {
            self.bytes += size;
        }
        added
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        let removed = self.members.remove(member);
        if removed {
            self.bytes -= member.len() + MEMBER_OVERHEAD;
        }
        removed
    }
}

/// A score with a total order (NaN never gets in: commands reject it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set: members by score, ties broken by member bytes, as in Redis.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSet {
    scores: HashMap<Bytes, f64>,
    order: BTreeSet<(Score, Bytes)>,
    bytes: usize,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Members in score order.
    pub fn ordered(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> + ExactSizeIterator {
        self.order.iter().map(|(score, member)| (member, score.0))
    }

    /// Sets a member's score; true when the member is new.
    pub fn insert(&mut self, member: Bytes, score: f64) -> bool {
        match self.scores.insert(member.clone(), score) {
            Some(old) => {
                self.order.remove(&(Score(old), member.clone()));
                self.order.insert((Score(score), member));
                false
            }
            None => {
                self.bytes += member.len() + SCORED_OVERHEAD;
                self.order.insert((Score(score), member));
                true
            }
        }
    }

    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.scores.remove_entry(member) {
            Some((member, score)) => {
                self.bytes -= member.len() + SCORED_OVERHEAD;
                self.order.remove(&(Score(score), member));
                true
            }
            None => false,
        }
    }

    /// The 0-based rank of a member in score order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let member = Bytes::copy_from_slice(member);
        Some(self.order.range(..(Score(score), member)).count())
    }

    pub fn pop_first(&mut self) -> Option<(Bytes, f64)> {
        let (score, member) = self.order.pop_first()?;
        self.scores.remove(&member);
        self.bytes -= member.len() + SCORED_OVERHEAD;
        Some((member, score.0))
    }

    pub fn pop_last(&mut self) -> Option<(Bytes, f64)> {
        let (score, member) = self.order.pop_last()?;
        self.scores.remove(&member);
        self.bytes -= member.len() + SCORED_OVERHEAD;
        Some((member, score.0))
    }
}
