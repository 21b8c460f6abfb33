//! List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LRANGE LLEN LINDEX LSET LREM LTRIM.

use bytes::Bytes;
use cloudlet_resp::Reply;

use super::strings::clamp_range;
use super::{Context, Outcome, parse_integer, read, update};
use crate::keyspace::Keyspace;
use crate::value::{List, Value};

fn as_list(value: &Value) -> Option<&List> {
    if let Value::List(list) = value { Some(list) } else { None }
}

fn as_list_mut(value: &mut Value) -> Option<&mut List> {
    if let Value::List(list) = value { Some(list) } else { None }
}

fn new_list() -> Value {
    Value::List(List::default())
}

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    let key = &args[1];
    match name {
        b"lpush" | b"rpush" | b"lpushx" | b"rpushx" => {
            let create: Option<fn() -> Value> = if name.ends_with(b"x") { None } else { Some(new_list) };
            let front = name.starts_with(b"l");
            update(keyspace, key, now, create, as_list_mut, |list| {
                for item in &args[2..] {
                    if front { list.push_front(item.clone()) } else { list.push_back(item.clone()) }
                }
                Ok(Reply::Integer(list.len() as i64))
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"lpop" | b"rpop" => {
            let count = match args.get(2) {
                Some(count) => {
                    let count = parse_integer(count)?;
                    if count < 0 {
                        return Err(Reply::error("ERR value is out of range, must be positive"));
                    }
                    Some(count as usize)
                }
                None => None,
            };
            if read(keyspace, key, now, as_list)?.is_none() {
                return Ok(if count.is_some() { Reply::NullArray } else { Reply::Null });
            }
            let front = name == b"lpop";
            update(keyspace, key, now, None, as_list_mut, |list| {
                let mut pop = || if front { list.pop_front() } else { list.pop_back() };
                Ok(match count {
                    None => pop().map_or(Reply::Null, Reply::Bulk),
                    Some(count) => Reply::Array((0..count).map_while(|_| pop()).map(Reply::Bulk).collect()),
                })
            })
            .unwrap_or(Ok(Reply::Null))
        }
        b"lrange" => {
            let start = parse_integer(&args[2])?;
            let end = parse_integer(&args[3])?;
            let Some(list) = read(keyspace, key, now, as_list)? else { return Ok(Reply::Array(Vec::new())) };
            Ok(Reply::Array(match clamp_range(start, end, list.len()) {
                Some((start, end)) => list.items().range(start..=end).cloned().map(Reply::Bulk).collect(),
                None => Vec::new(),
            }))
        }
        b"llen" => Ok(Reply::Integer(read(keyspace, key, now, as_list)?.map_or(0, |list| list.len() as i64))),
        b"lindex" => {
            let index = parse_integer(&args[2])?;
            let Some(list) = read(keyspace, key, now, as_list)? else { return Ok(Reply::Null) };
            Ok(position(index, list.len()).map_or(Reply::Null, |index| Reply::Bulk(list.items()[index].clone())))
        }
        b"lset" => {
            let index = parse_integer(&args[2])?;
            if read(keyspace, key, now, as_list)?.is_none() {
                return Err(Reply::error("ERR no such key"));
            }
            update(keyspace, key, now, None, as_list_mut, |list| {
                let index = position(index, list.len()).ok_or_else(|| Reply::error("ERR index out of range"))?;
                list.set(index, args[3].clone());
                Ok(Reply::Ok)
            })
            .unwrap_or(Err(Reply::error("ERR no such key")))
        }
        b"lrem" => {
            let count = parse_integer(&args[2])?;
            if read(keyspace, key, now, as_list)?.is_none() {
                return Ok(Reply::Integer(0));
            }
            update(keyspace, key, now, None, as_list_mut, |list| Ok(Reply::Integer(remove(list, count, &args[3]))))
                .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"ltrim" => {
            let start = parse_integer(&args[2])?;
            let end = parse_integer(&args[3])?;
            if read(keyspace, key, now, as_list)?.is_none() {
                return Ok(Reply::Ok);
            }
            update(keyspace, key, now, None, as_list_mut, |list| {
                let range = clamp_range(start, end, list.len());
                list.keep_range(range);
                Ok(Reply::Ok)
            })
            .unwrap_or(Ok(Reply::Ok))
        }
        _ => Err(super::unknown_command(args)),
    }
}

/// A Redis list index (negative from the end) as a position, if in range.
fn position(index: i64, length: usize) -> Option<usize> {
    let index = if index < 0 { length as i64 + index } else { index };
    (0..length as i64).contains(&index).then_some(index as usize)
}

/// LREM: `count > 0` from the head, `< 0` from the tail, `0` all; returns how many went.
fn remove(list: &mut List, count: i64, item: &Bytes) -> i64 {
    let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
    let matching: Vec<usize> = list.items().iter().enumerate().filter(|(_, x)| *x == item).map(|(i, _)| i).collect();
    let chosen: std::collections::HashSet<usize> = if count < 0 {
        matching.iter().rev().take(limit).copied().collect()
    } else {
        matching.iter().take(limit).copied().collect()
    };
    let mut index = 0;
    list.retain(|_| {
        let keep = !chosen.contains(&index);
        index += 1;
        keep
    });
    chosen.len() as i64
}
