//! Hash commands: HSET HMSET HGET HMGET HDEL HGETALL HLEN HEXISTS HKEYS HVALS HINCRBY HINCRBYFLOAT
//! HSETNX HSTRLEN.

use bytes::Bytes;
use cloudlet_resp::Reply;
use cloudlet_resp::reply::format_double;

use super::{Context, Outcome, parse_float, parse_integer, read, update, wrong_arity};
use crate::keyspace::Keyspace;
use crate::value::{Hash, Value};

fn as_hash(value: &Value) -> Option<&Hash> {
    if let Value::Hash(hash) = value { Some(hash) } else { None }
}

fn as_hash_mut(value: &mut Value) -> Option<&mut Hash> {
    if let Value::Hash(hash) = value { Some(hash) } else { None }
}

fn new_hash() -> Value {
    Value::Hash(Hash::default())
}

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    let key = &args[1];
    match name {
        b"hset" | b"hmset" => {
            if !args.len().is_multiple_of(2) {
                return Err(wrong_arity(name));
            }
            let hmset = name == b"hmset";
            update(keyspace, key, now, Some(new_hash), as_hash_mut, |hash| {
                let added = args[2..].chunks(2).filter(|pair| hash.insert(pair[0].clone(), pair[1].clone())).count();
                Ok(if hmset { Reply::Ok } else { Reply::Integer(added as i64) })
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"hsetnx" => update(keyspace, key, now, Some(new_hash), as_hash_mut, |hash| {
            if hash.get(&args[2]).is_some() {
                return Ok(Reply::Integer(0));
            }
            hash.insert(args[2].clone(), args[3].clone());
            Ok(Reply::Integer(1))
        })
        .unwrap_or(Ok(Reply::Integer(0))),
        b"hget" => Ok(read(keyspace, key, now, as_hash)?
            .and_then(|hash| hash.get(&args[2]).cloned())
            .map_or(Reply::Null, Reply::Bulk)),
        b"hmget" => {
            let hash = read(keyspace, key, now, as_hash)?;
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|field| hash.and_then(|hash| hash.get(field).cloned()).map_or(Reply::Null, Reply::Bulk))
                    .collect(),
            ))
        }
        b"hdel" => {
            if read(keyspace, key, now, as_hash)?.is_none() {
                return Ok(Reply::Integer(0));
            }
            update(keyspace, key, now, None, as_hash_mut, |hash| {
                Ok(Reply::Integer(args[2..].iter().filter(|field| hash.remove(field)).count() as i64))
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"hgetall" => Ok(Reply::Map(
            read(keyspace, key, now, as_hash)?
                .map(|hash| {
                    hash.fields()
                        .iter()
                        .map(|(field, value)| (Reply::Bulk(field.clone()), Reply::Bulk(value.clone())))
                        .collect()
                })
                .unwrap_or_default(),
        )),
        b"hlen" => Ok(Reply::Integer(read(keyspace, key, now, as_hash)?.map_or(0, |hash| hash.len() as i64))),
        b"hexists" => Ok(Reply::Integer(i64::from(
            read(keyspace, key, now, as_hash)?.is_some_and(|hash| hash.get(&args[2]).is_some()),
        ))),
        b"hstrlen" => Ok(Reply::Integer(
            read(keyspace, key, now, as_hash)?
                .and_then(|hash| hash.get(&args[2]))
                .map_or(0, |value| value.len() as i64),
        )),
        b"hkeys" | b"hvals" => {
            let keys = name == b"hkeys";
            Ok(Reply::Array(
                read(keyspace, key, now, as_hash)?
                    .map(|hash| {
                        hash.fields()
                            .iter()
                            .map(|(field, value)| Reply::Bulk(if keys { field.clone() } else { value.clone() }))
                            .collect()
                    })
                    .unwrap_or_default(),
            ))
        }
        b"hincrby" => {
            let by = parse_integer(&args[3])?;
            update(keyspace, key, now, Some(new_hash), as_hash_mut, |hash| {
                let current = match hash.get(&args[2]) {
                    Some(value) => {
                        parse_integer(value).map_err(|_| Reply::error("ERR hash value is not an integer"))?
                    }
                    None => 0,
                };
                let next =
                    current.checked_add(by).ok_or_else(|| Reply::error("ERR increment or decrement would overflow"))?;
                hash.insert(args[2].clone(), Bytes::from(next.to_string()));
                Ok(Reply::Integer(next))
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"hincrbyfloat" => {
            let by = parse_float(&args[3])?;
            update(keyspace, key, now, Some(new_hash), as_hash_mut, |hash| {
                let current = match hash.get(&args[2]) {
                    Some(value) => parse_float(value).map_err(|_| Reply::error("ERR hash value is not a float"))?,
                    None => 0.0,
                };
                let next = current + by;
                if !next.is_finite() {
                    return Err(Reply::error("ERR increment would produce NaN or Infinity"));
                }
                let text = Bytes::from(format_double(next));
                hash.insert(args[2].clone(), text.clone());
                Ok(Reply::Bulk(text))
            })
            .unwrap_or(Ok(Reply::Null))
        }
        _ => Err(super::unknown_command(args)),
    }
}
