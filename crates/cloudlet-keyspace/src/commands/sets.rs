//! Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SINTER SUNION SDIFF.

use std::collections::HashSet;

use bytes::Bytes;
use cloudlet_resp::Reply;

use super::{Context, Outcome, parse_integer, read, update};
use crate::keyspace::Keyspace;
use crate::value::{Set, Value};

fn as_set(value: &Value) -> Option<&Set> {
    if let Value::Set(set) = value { Some(set) } else { None }
}

fn as_set_mut(value: &mut Value) -> Option<&mut Set> {
    if let Value::Set(set) = value { Some(set) } else { None }
}

fn new_set() -> Value {
    Value::Set(Set::default())
}

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    let key = &args[1];
    match name {
        b"sadd" => update(keyspace, key, now, Some(new_set), as_set_mut, |set| {
            Ok(Reply::Integer(args[2..].iter().filter(|member| set.insert((*member).clone())).count() as i64))
        })
        .unwrap_or(Ok(Reply::Integer(0))),
        b"srem" => {
            if read(keyspace, key, now, as_set)?.is_none() {
                return Ok(Reply::Integer(0));
            }
            update(keyspace, key, now, None, as_set_mut, |set| {
                Ok(Reply::Integer(args[2..].iter().filter(|member| set.remove(member)).count() as i64))
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"smembers" => {
            Ok(set_reply(read(keyspace, key, now, as_set)?.map(|set| set.members().iter().cloned().collect())))
        }
        b"sismember" => {
            Ok(Reply::Integer(i64::from(read(keyspace, key, now, as_set)?.is_some_and(|set| set.contains(&args[2])))))
        }
        b"smismember" => {
            let set = read(keyspace, key, now, as_set)?;
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|member| Reply::Integer(i64::from(set.is_some_and(|set| set.contains(member)))))
                    .collect(),
            ))
        }
        b"scard" => Ok(Reply::Integer(read(keyspace, key, now, as_set)?.map_or(0, |set| set.len() as i64))),
        b"spop" => spop(keyspace, args, context),
        b"srandmember" => srandmember(keyspace, args, context),
        b"sinter" | b"sunion" | b"sdiff" => {
            let mut sets = Vec::with_capacity(args.len() - 1);
            for key in &args[1..] {
                sets.push(read(keyspace, key, now, as_set)?);
            }
            let members: Vec<Bytes> = match name {
                b"sinter" => match sets.iter().copied().collect::<Option<Vec<&Set>>>() {
                    None => Vec::new(), // a missing key is an empty set: the intersection is empty
                    Some(sets) => {
                        let (smallest, rest) = split_smallest(sets);
                        smallest
                            .members()
                            .iter()
                            .filter(|member| rest.iter().all(|set| set.contains(member)))
                            .cloned()
                            .collect()
                    }
                },
                b"sunion" => {
                    let union: HashSet<&Bytes> = sets.iter().flatten().flat_map(|set| set.members().iter()).collect();
                    union.into_iter().cloned().collect()
                }
                _ => match sets.first().copied().flatten() {
                    None => Vec::new(),
                    Some(first) => first
                        .members()
                        .iter()
                        .filter(|member| sets[1..].iter().flatten().all(|set| !set.contains(member)))
                        .cloned()
                        .collect(),
                },
            };
            Ok(set_reply(Some(members)))
        }
        _ => Err(super::unknown_command(args)),
    }
}

fn set_reply(members: Option<Vec<Bytes>>) -> Reply {
    Reply::Set(members.unwrap_or_default().into_iter().map(Reply::Bulk).collect())
}

fn split_smallest(mut sets: Vec<&Set>) -> (&Set, Vec<&Set>) {
    let index = (0..sets.len()).min_by_key(|&i| sets[i].len()).unwrap_or(0);
    let smallest = sets.swap_remove(index);
    (smallest, sets)
}

/// Picks `count` distinct members at random (deterministic for the context's seed), in a stable order
/// of the set's contents so replicas agree.
fn pick(set: &Set, count: usize, context: &mut Context) -> Vec<Bytes> {
    let mut members: Vec<&Bytes> = set.members().iter().collect();
    members.sort();
    let count = count.min(members.len());
    for index in 0..count {
        let other = index + context.below(members.len() - index);
        members.swap(index, other);
    }
    members.into_iter().take(count).cloned().collect()
}

fn spop(keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
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
    if args.len() > 3 {
        return Err(super::syntax_error());
    }
    let Some(set) = read(keyspace, &args[1], now, as_set)? else {
        return Ok(if count.is_some() { Reply::Set(Vec::new()) } else { Reply::Null });
    };
    let chosen = pick(set, count.unwrap_or(1), context);
    let removed = chosen.clone();
    update(keyspace, &args[1], now, None, as_set_mut, move |set| {
        for member in &removed {
            set.remove(member);
        }
        Ok(Reply::Null)
    });
    Ok(match count {
        None => chosen.into_iter().next().map_or(Reply::Null, Reply::Bulk),
        Some(_) => set_reply(Some(chosen)),
    })
}

fn srandmember(keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    let count = args.get(2).map(|count| parse_integer(count)).transpose()?;
    if args.len() > 3 {
        return Err(super::syntax_error());
    }
    let Some(set) = read(keyspace, &args[1], now, as_set)? else {
        return Ok(if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Null });
    };
    match count {
        None => Ok(pick(set, 1, context).into_iter().next().map_or(Reply::Null, Reply::Bulk)),
        Some(count) if count >= 0 => {
            Ok(Reply::Array(pick(set, count as usize, context).into_iter().map(Reply::Bulk).collect()))
        }
        Some(count) => {
            // A negative count may repeat members.
            let mut members: Vec<&Bytes> = set.members().iter().collect();
            members.sort();
            let wanted = count.unsigned_abs().min(1 << 20) as usize;
            Ok(Reply::Array((0..wanted).map(|_| Reply::Bulk(members[context.below(members.len())].clone())).collect()))
        }
    }
}
