//! A keyspace as bytes, for snapshots of the KV store.
//!
//! Layout (little-endian): the number of entries, then for each: key, deadline flag and time,
//! a type tag and the value — strings as bytes, lists as their items in order, hashes as field and
//! value pairs, sets as members, sorted sets as member and score (IEEE-754 bits). Byte strings are
//! u32-length-prefixed. Decoding checks every length against what is left, so damaged bytes give
//! an error, never a panic.

use bytes::{Buf, BufMut, Bytes};

use crate::keyspace::Keyspace;
use crate::value::{Hash, List, Set, Value, ZSet};

const STRING: u8 = 0;
const LIST: u8 = 1;
const HASH: u8 = 2;
const SET: u8 = 3;
const ZSET: u8 = 4;

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.put_u32_le(bytes.len() as u32);
    out.put_slice(bytes);
}

/// Appends every stored entry of `keyspace` (expired ones too: replicas must agree) to `out`.
pub fn encode(keyspace: &Keyspace, out: &mut Vec<u8>) {
    out.put_u64_le(keyspace.stored_keys() as u64);
    for (key, entry) in keyspace.stored() {
        put_bytes(out, key);
        match entry.expires_at {
            None => out.put_u8(0),
            Some(at) => {
                out.put_u8(1);
                out.put_u64_le(at);
            }
        }
        match &entry.value {
            Value::Str(bytes) => {
                out.put_u8(STRING);
                put_bytes(out, bytes);
            }
            Value::List(list) => {
                out.put_u8(LIST);
                out.put_u32_le(list.len() as u32);
                list.items().iter().for_each(|item| put_bytes(out, item));
            }
            Value::Hash(hash) => {
                out.put_u8(HASH);
                out.put_u32_le(hash.len() as u32);
                for (field, value) in hash.fields() {
                    put_bytes(out, field);
                    put_bytes(out, value);
                }
            }
            Value::Set(set) => {
                out.put_u8(SET);
                out.put_u32_le(set.len() as u32);
                set.members().iter().for_each(|member| put_bytes(out, member));
            }
            Value::ZSet(zset) => {
                out.put_u8(ZSET);
                out.put_u32_le(zset.len() as u32);
                for (member, score) in zset.ordered() {
                    put_bytes(out, member);
                    out.put_u64_le(score.to_bits());
                }
            }
        }
    }
}

/// Reads what [`encode`] wrote.
struct Input<'a> {
    bytes: &'a [u8],
}

impl Input<'_> {
    fn need(&self, count: usize) -> Result<(), String> {
        if self.bytes.remaining() < count {
            return Err(format!(
                "keyspace snapshot is cut short: {count} bytes wanted, {} left",
                self.bytes.remaining()
            ));
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, String> {
        self.need(1)?;
        Ok(self.bytes.get_u8())
    }

    fn u32(&mut self) -> Result<u32, String> {
        self.need(4)?;
        Ok(self.bytes.get_u32_le())
    }

    fn u64(&mut self) -> Result<u64, String> {
        self.need(8)?;
        Ok(self.bytes.get_u64_le())
    }

    /// A byte string in its own allocation, so a key deleted later frees its memory rather than
    /// pinning the whole snapshot's buffer.
    fn bytes(&mut self) -> Result<Bytes, String> {
        let length = self.u32()? as usize;
        self.need(length)?;
        let copy = Bytes::copy_from_slice(&self.bytes[..length]);
        self.bytes.advance(length);
        Ok(copy)
    }
}

/// The keyspace [`encode`] wrote.
pub fn decode(bytes: &[u8]) -> Result<Keyspace, String> {
    let mut input = Input { bytes };
    let mut keyspace = Keyspace::new();
    for _ in 0..input.u64()? {
        let key = input.bytes()?;
        let expires_at = match input.u8()? {
            0 => None,
            1 => Some(input.u64()?),
            other => return Err(format!("bad deadline flag {other}")),
        };
        let value = match input.u8()? {
            STRING => Value::Str(input.bytes()?),
            LIST => {
                let mut list = List::default();
                for _ in 0..input.u32()? {
                    list.push_back(input.bytes()?);
                }
                Value::List(list)
            }
            HASH => {
                let mut hash = Hash::default();
                for _ in 0..input.u32()? {
                    let field = input.bytes()?;
                    hash.insert(field, input.bytes()?);
                }
                Value::Hash(hash)
            }
            SET => {
                let mut set = Set::default();
                for _ in 0..input.u32()? {
                    set.insert(input.bytes()?);
                }
                Value::Set(set)
            }
            ZSET => {
                let mut zset = ZSet::default();
                for _ in 0..input.u32()? {
                    let member = input.bytes()?;
                    let score = f64::from_bits(input.u64()?);
                    if score.is_nan() {
                        return Err("a sorted-set score is NaN".to_string());
                    }
                    zset.insert(member, score);
                }
                Value::ZSet(zset)
            }
            other => return Err(format!("bad value type {other}")),
        };
        keyspace.insert(key, value, expires_at);
    }
    if input.bytes.has_remaining() {
        return Err(format!("{} bytes after the last entry", input.bytes.remaining()));
    }
    Ok(keyspace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Context, execute};

    fn run(keyspace: &mut Keyspace, words: &[&str]) {
        let args: Vec<Bytes> = words.iter().map(|word| Bytes::copy_from_slice(word.as_bytes())).collect();
        execute(keyspace, &args, &mut Context::new(1_000, 7));
    }

    #[test]
    fn every_type_and_deadline_round_trips() {
        let mut keyspace = Keyspace::new();
        run(&mut keyspace, &["set", "s", "hello", "pxat", "99999"]);
        run(&mut keyspace, &["rpush", "l", "a", "b", "", "c"]);
        run(&mut keyspace, &["hset", "h", "f1", "v1", "f2", ""]);
        run(&mut keyspace, &["sadd", "set", "x", "y", "z"]);
        run(&mut keyspace, &["zadd", "z", "1.5", "m1", "-inf", "m2", "3", "m3"]);
        let mut bytes = Vec::new();
        encode(&keyspace, &mut bytes);
        let decoded = decode(&bytes).expect("decodes");
        assert_eq!(decoded.stored_keys(), 5);
        assert_eq!(decoded.used_memory(), keyspace.used_memory());
        for key in ["s", "l", "h", "set", "z"] {
            assert_eq!(decoded.get(key.as_bytes(), 1_000), keyspace.get(key.as_bytes(), 1_000), "{key}");
        }
        assert_eq!(decoded.keys_with_expiry(), 1);
    }

    #[test]
    fn damaged_snapshots_are_errors() {
        let mut keyspace = Keyspace::new();
        run(&mut keyspace, &["rpush", "l", "a", "b"]);
        let mut bytes = Vec::new();
        encode(&keyspace, &mut bytes);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        bytes.push(0);
        assert!(decode(&bytes).is_err(), "trailing bytes");
    }
}
