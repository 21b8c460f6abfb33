//! Key commands: DEL UNLINK EXISTS TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
//! PEXPIRETIME PERSIST TYPE RENAME RENAMENX SCAN KEYS DBSIZE FLUSHDB FLUSHALL RANDOMKEY.

use bytes::Bytes;
use cloudlet_resp::Reply;

use super::strings::relative_deadline;
use super::{Context, Outcome, parse_integer, syntax_error};
use crate::keyspace::Keyspace;
use crate::pattern::matches;

/// Most keys one SCAN call looks at, whatever COUNT asks.
const MAX_SCAN_COUNT: usize = 100_000;

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    match name {
        b"del" | b"unlink" => {
            Ok(Reply::Integer(args[1..].iter().filter(|key| keyspace.delete(key, now)).count() as i64))
        }
        b"exists" | b"touch" => {
            Ok(Reply::Integer(args[1..].iter().filter(|key| keyspace.get(key, now).is_some()).count() as i64))
        }
        b"expire" | b"pexpire" | b"expireat" | b"pexpireat" => expire(name, keyspace, args, now),
        b"ttl" | b"pttl" | b"expiretime" | b"pexpiretime" => Ok(Reply::Integer(match keyspace.get(&args[1], now) {
            None => -2,
            Some(entry) => match (entry.expires_at, name) {
                (None, _) => -1,
                (Some(at), b"ttl") => ((at - now) as i64 + 500) / 1000,
                (Some(at), b"pttl") => (at - now) as i64,
                (Some(at), b"expiretime") => at as i64 / 1000,
                (Some(at), _) => at as i64,
            },
        })),
        b"persist" => {
            let has_deadline = keyspace.get(&args[1], now).is_some_and(|entry| entry.expires_at.is_some());
            if has_deadline {
                keyspace.set_expiry(&args[1], None, now);
            }
            Ok(Reply::Integer(i64::from(has_deadline)))
        }
        b"type" => {
            Ok(Reply::Status(keyspace.get(&args[1], now).map_or("none", |entry| entry.value.type_name()).to_string()))
        }
        b"rename" | b"renamenx" => {
            let Some(entry) = keyspace.get(&args[1], now).cloned() else {
                return Err(Reply::error("ERR no such key"));
            };
            if name == b"renamenx" && keyspace.get(&args[2], now).is_some() {
                return Ok(Reply::Integer(0));
            }
            keyspace.delete(&args[1], now);
            keyspace.insert(args[2].clone(), entry.value, entry.expires_at);
            Ok(if name == b"rename" { Reply::Ok } else { Reply::Integer(1) })
        }
        b"scan" => scan(keyspace, args, now),
        b"keys" => {
            let keys: Vec<Reply> =
                keyspace.keys(now).filter(|key| matches(&args[1], key)).map(|key| Reply::Bulk(key.clone())).collect();
            Ok(Reply::Array(keys))
        }
        b"dbsize" => Ok(Reply::Integer(keyspace.len(now) as i64)),
        b"flushdb" | b"flushall" => {
            keyspace.clear();
            Ok(Reply::Ok)
        }
        b"randomkey" => {
            let count = keyspace.len(now);
            if count == 0 {
                return Ok(Reply::Null);
            }
            let pick = context.below(count);
            Ok(keyspace.keys(now).nth(pick).map_or(Reply::Null, |key| Reply::Bulk(key.clone())))
        }
        _ => Err(super::unknown_command(args)),
    }
}

/// `EXPIRE key seconds [NX|XX|GT|LT]` and its millisecond and absolute forms.
fn expire(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let amount = parse_integer(&args[2])?;
    let condition = match args.get(3).map(|option| option.to_ascii_lowercase()) {
        None => None,
        Some(option) if matches!(option.as_slice(), b"nx" | b"xx" | b"gt" | b"lt") && args.len() == 4 => Some(option),
        Some(_) => return Err(syntax_error()),
    };
    let Some(current) = keyspace.get(&args[1], now).map(|entry| entry.expires_at) else {
        return Ok(Reply::Integer(0));
    };
    let deadline = match name {
        b"expire" | b"pexpire" => {
            let unit = if name == b"expire" { 1000 } else { 1 };
            if amount <= 0 {
                // A deadline in the past deletes the key at once.
                keyspace.delete(&args[1], now);
                return Ok(Reply::Integer(1));
            }
            relative_deadline(amount, unit, now, name)?
        }
        _ => {
            let unit = if name == b"expireat" { 1000 } else { 1 };
            let at = amount.checked_mul(unit).ok_or_else(|| {
                Reply::error(format!("ERR invalid expire time in '{}' command", String::from_utf8_lossy(name)))
            })?;
            if at <= now as i64 {
                keyspace.delete(&args[1], now);
                return Ok(Reply::Integer(1));
            }
            at as u64
        }
    };
    let allowed = match condition.as_deref() {
        None => true,
        Some(b"nx") => current.is_none(),
        Some(b"xx") => current.is_some(),
        Some(b"gt") => current.is_some_and(|at| deadline > at),
        Some(_) => current.is_none_or(|at| deadline < at),
    };
    if !allowed {
        return Ok(Reply::Integer(0));
    }
    keyspace.set_expiry(&args[1], Some(deadline), now);
    Ok(Reply::Integer(1))
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
fn scan(keyspace: &Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| Reply::error("ERR invalid cursor"))?;
    let mut pattern: Option<&Bytes> = None;
    let mut count = 10usize;
    let mut type_name: Option<Vec<u8>> = None;
    let mut index = 2;
    while index < args.len() {
        let value = args.get(index + 1).ok_or_else(syntax_error)?;
        match args[index].to_ascii_lowercase().as_slice() {
            b"match" => pattern = Some(value),
            b"count" => {
                let asked = parse_integer(value)?;
                if asked < 1 {
                    return Err(syntax_error());
                }
                count = (asked as usize).min(MAX_SCAN_COUNT);
            }
            b"type" => type_name = Some(value.to_ascii_lowercase()),
            _ => return Err(syntax_error()),
        }
        index += 2;
    }
    let (keys, next) = keyspace.scan(cursor, count, now, |key, entry| {
        pattern.is_none_or(|pattern| matches(pattern, key))
            && type_name.as_deref().is_none_or(|wanted| wanted == entry.value.type_name().as_bytes())
    });
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ]))
}
