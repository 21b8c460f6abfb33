//! String commands: GET SET MGET MSET MSETNX SETNX SETEX PSETEX GETDEL GETEX GETSET INCR INCRBY
//! INCRBYFLOAT DECR DECRBY APPEND STRLEN GETRANGE SETRANGE SUBSTR.

use bytes::{Bytes, BytesMut};
use cloudlet_resp::Reply;
use cloudlet_resp::reply::format_double;

use super::{Context, Outcome, parse_float, parse_integer, syntax_error, wrong_arity, wrong_type};
use crate::keyspace::Keyspace;
use crate::value::Value;

/// Largest string SETRANGE and APPEND may make (Redis's proto-max-bulk-len).
const MAX_STRING: usize = 512 << 20;

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    match name {
        b"get" => get(keyspace, &args[1], now).map(|value| value.map_or(Reply::Null, Reply::Bulk)),
        b"set" => set(keyspace, args, now),
        b"setnx" => {
            if keyspace.get(&args[1], now).is_some() {
                return Ok(Reply::Integer(0));
            }
            keyspace.insert(args[1].clone(), Value::Str(args[2].clone()), None);
            Ok(Reply::Integer(1))
        }
        b"setex" | b"psetex" => {
            let amount = parse_integer(&args[2])?;
            let unit = if name == b"setex" { 1000 } else { 1 };
            let deadline = relative_deadline(amount, unit, now, name)?;
            keyspace.insert(args[1].clone(), Value::Str(args[3].clone()), Some(deadline));
            Ok(Reply::Ok)
        }
        b"getset" => {
            let old = get(keyspace, &args[1], now)?;
            keyspace.insert(args[1].clone(), Value::Str(args[2].clone()), None);
            Ok(old.map_or(Reply::Null, Reply::Bulk))
        }
        b"mget" => Ok(Reply::Array(
            args[1..]
                .iter()
                .map(|key| match keyspace.get(key, now).map(|entry| &entry.value) {
                    Some(Value::Str(value)) => Reply::Bulk(value.clone()),
                    _ => Reply::Null,
                })
                .collect(),
        )),
        b"mset" | b"msetnx" => {
            if args.len().is_multiple_of(2) {
                return Err(wrong_arity(name));
            }
            if name == b"msetnx" && args[1..].chunks(2).any(|pair| keyspace.get(&pair[0], now).is_some()) {
                return Ok(Reply::Integer(0));
            }
            for pair in args[1..].chunks(2) {
                keyspace.insert(pair[0].clone(), Value::Str(pair[1].clone()), None);
            }
            Ok(if name == b"mset" { Reply::Ok } else { Reply::Integer(1) })
        }
        b"getdel" => {
            let value = get(keyspace, &args[1], now)?;
            if value.is_some() {
                keyspace.delete(&args[1], now);
            }
            Ok(value.map_or(Reply::Null, Reply::Bulk))
        }
        b"getex" => getex(keyspace, args, now),
        b"incr" => increment(keyspace, &args[1], 1, now),
        b"decr" => increment(keyspace, &args[1], -1, now),
        b"incrby" => increment(keyspace, &args[1], parse_integer(&args[2])?, now),
        b"decrby" => {
            let amount = parse_integer(&args[2])?;
            increment(keyspace, &args[1], amount.checked_neg().ok_or_else(overflow)?, now)
        }
        b"incrbyfloat" => increment_float(keyspace, &args[1], &args[2], now),
        b"append" => {
            let mut value = BytesMut::from(get(keyspace, &args[1], now)?.unwrap_or_default().as_ref());
            if value.len() + args[2].len() > MAX_STRING {
                return Err(Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
            }
            value.extend_from_slice(&args[2]);
            let length = value.len() as i64;
            keep_ttl_insert(keyspace, &args[1], Value::Str(value.freeze()), now);
            Ok(Reply::Integer(length))
        }
        b"strlen" => Ok(Reply::Integer(get(keyspace, &args[1], now)?.map_or(0, |value| value.len() as i64))),
        b"getrange" | b"substr" => {
            let value = get(keyspace, &args[1], now)?.unwrap_or_default();
            let start = parse_integer(&args[2])?;
            let end = parse_integer(&args[3])?;
            Ok(Reply::Bulk(match clamp_range(start, end, value.len()) {
                Some((start, end)) => value.slice(start..=end),
                None => Bytes::new(),
            }))
        }
        b"setrange" => setrange(keyspace, args, now),
        _ => Err(super::unknown_command(args)),
    }
}

fn overflow() -> Reply {
    Reply::error("ERR increment or decrement would overflow")
}

/// The string value of a live key; `WRONGTYPE` for other types.
fn get(keyspace: &Keyspace, key: &[u8], now: u64) -> Result<Option<Bytes>, Reply> {
    match keyspace.get(key, now).map(|entry| &entry.value) {
        None => Ok(None),
        Some(Value::Str(value)) => Ok(Some(value.clone())),
        Some(_) => Err(wrong_type()),
    }
}

/// Replaces a key's value, keeping its deadline.
fn keep_ttl_insert(keyspace: &mut Keyspace, key: &Bytes, value: Value, now: u64) {
    let deadline = keyspace.get(key, now).and_then(|entry| entry.expires_at);
    keyspace.insert(key.clone(), value, deadline);
}

/// `now + amount × unit` milliseconds, rejecting non-positive and overflowing times.
pub(crate) fn relative_deadline(amount: i64, unit: i64, now: u64, command: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::error(format!("ERR invalid expire time in '{}' command", String::from_utf8_lossy(command)));
    if amount <= 0 {
        return Err(invalid());
    }
    let millis = amount.checked_mul(unit).ok_or_else(invalid)?;
    (now as i64).checked_add(millis).map(|at| at as u64).ok_or_else(invalid)
}

fn absolute_deadline(amount: i64, unit: i64, command: &[u8]) -> Result<u64, Reply> {
    let invalid = || Reply::error(format!("ERR invalid expire time in '{}' command", String::from_utf8_lossy(command)));
    if amount <= 0 {
        return Err(invalid());
    }
    amount.checked_mul(unit).map(|at| at as u64).ok_or_else(invalid)
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`
fn set(keyspace: &mut Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let (mut only_if_absent, mut only_if_present, mut return_old, mut keep_ttl) = (false, false, false, false);
    let mut deadline: Option<u64> = None;
    let mut index = 3;
    while index < args.len() {
        let option = args[index].to_ascii_lowercase();
        let expiry_seen = deadline.is_some() || keep_ttl;
        match option.as_slice() {
            b"nx" if !only_if_present => only_if_absent = true,
            b"xx" if !only_if_absent => only_if_present = true,
            b"get" => return_old = true,
            b"keepttl" if !expiry_seen => keep_ttl = true,
            b"ex" | b"px" | b"exat" | b"pxat" if !expiry_seen => {
                let amount = parse_integer(args.get(index + 1).ok_or_else(syntax_error)?)?;
                deadline = Some(match option.as_slice() {
                    b"ex" => relative_deadline(amount, 1000, now, b"set")?,
                    b"px" => relative_deadline(amount, 1, now, b"set")?,
                    b"exat" => absolute_deadline(amount, 1000, b"set")?,
                    _ => absolute_deadline(amount, 1, b"set")?,
                });
                index += 1;
            }
            _ => return Err(syntax_error()),
        }
        index += 1;
    }
    let existing = keyspace.get(&args[1], now);
    let old = match existing.map(|entry| &entry.value) {
        Some(Value::Str(value)) => Some(value.clone()),
        Some(_) if return_old => return Err(wrong_type()),
        _ => None,
    };
    let present = existing.is_some();
    let old_deadline = existing.and_then(|entry| entry.expires_at);
    let old_reply = || old.clone().map_or(Reply::Null, Reply::Bulk);
    if (only_if_absent && present) || (only_if_present && !present) {
        return Ok(if return_old { old_reply() } else { Reply::Null });
    }
    let deadline = if keep_ttl { old_deadline } else { deadline };
    keyspace.insert(args[1].clone(), Value::Str(args[2].clone()), deadline);
    Ok(if return_old { old_reply() } else { Reply::Ok })
}

/// `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`
fn getex(keyspace: &mut Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let change: Option<Option<u64>> = match args.len() {
        2 => None,
        3 if args[2].eq_ignore_ascii_case(b"persist") => Some(None),
        4 => {
            let amount = parse_integer(&args[3])?;
            let option = args[2].to_ascii_lowercase();
            Some(Some(match option.as_slice() {
                b"ex" => relative_deadline(amount, 1000, now, b"getex")?,
                b"px" => relative_deadline(amount, 1, now, b"getex")?,
                b"exat" => absolute_deadline(amount, 1000, b"getex")?,
                b"pxat" => absolute_deadline(amount, 1, b"getex")?,
                _ => return Err(syntax_error()),
            }))
        }
        _ => return Err(syntax_error()),
    };
    let value = get(keyspace, &args[1], now)?;
    if let (Some(_), Some(deadline)) = (&value, change) {
        keyspace.set_expiry(&args[1], deadline, now);
    }
    Ok(value.map_or(Reply::Null, Reply::Bulk))
}

fn increment(keyspace: &mut Keyspace, key: &Bytes, by: i64, now: u64) -> Outcome {
    let current = match get(keyspace, key, now)? {
        Some(value) => parse_integer(&value)?,
        None => 0,
    };
    let next = current.checked_add(by).ok_or_else(overflow)?;
    keep_ttl_insert(keyspace, key, Value::Str(Bytes::from(next.to_string())), now);
    Ok(Reply::Integer(next))
}

fn increment_float(keyspace: &mut Keyspace, key: &Bytes, by: &[u8], now: u64) -> Outcome {
    let by = parse_float(by)?;
    let current = match get(keyspace, key, now)? {
        Some(value) => parse_float(&value)?,
        None => 0.0,
    };
    let next = current + by;
    if !next.is_finite() {
        return Err(Reply::error("ERR increment would produce NaN or Infinity"));
    }
    let text = Bytes::from(format_double(next));
    keep_ttl_insert(keyspace, key, Value::Str(text.clone()), now);
    Ok(Reply::Bulk(text))
}

fn setrange(keyspace: &mut Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let offset = parse_integer(&args[2])?;
    if offset < 0 {
        return Err(Reply::error("ERR offset is out of range"));
    }
    let offset = offset as usize;
    let current = get(keyspace, &args[1], now)?;
    let piece = &args[3];
    if piece.is_empty() {
        return Ok(Reply::Integer(current.map_or(0, |value| value.len() as i64)));
    }
    if offset + piece.len() > MAX_STRING {
        return Err(Reply::error("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
    }
    let mut value = BytesMut::from(current.unwrap_or_default().as_ref());
    if value.len() < offset + piece.len() {
        value.resize(offset + piece.len(), 0);
    }
    value[offset..offset + piece.len()].copy_from_slice(piece);
    let length = value.len() as i64;
    keep_ttl_insert(keyspace, &args[1], Value::Str(value.freeze()), now);
    Ok(Reply::Integer(length))
}

/// Redis's start/end clamping for GETRANGE and LRANGE-like ranges: negative from the end,
/// inclusive; `None` when empty.
pub(crate) fn clamp_range(start: i64, end: i64, length: usize) -> Option<(usize, usize)> {
    let length = length as i64;
    if length == 0 {
        return None;
    }
    let start = if start < 0 { (length + start).max(0) } else { start };
    let end = if end < 0 { length + end } else { end.min(length - 1) };
    if start > end || start >= length || end < 0 {
        return None;
    }
    Some((start as usize, end as usize))
}
