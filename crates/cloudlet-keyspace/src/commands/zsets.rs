//! Sorted set commands: ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZRANGE ZREVRANGE ZRANGEBYSCORE
//! ZRANK ZREVRANK ZPOPMIN ZPOPMAX.

use bytes::Bytes;
use cloudlet_resp::Reply;

use super::strings::clamp_range;
use super::{Context, Outcome, not_float, parse_float, parse_integer, read, syntax_error, update};
use crate::keyspace::Keyspace;
use crate::value::{Value, ZSet};

fn as_zset(value: &Value) -> Option<&ZSet> {
    if let Value::ZSet(zset) = value { Some(zset) } else { None }
}

fn as_zset_mut(value: &mut Value) -> Option<&mut ZSet> {
    if let Value::ZSet(zset) = value { Some(zset) } else { None }
}

fn new_zset() -> Value {
    Value::ZSet(ZSet::default())
}

pub(super) fn execute(name: &[u8], keyspace: &mut Keyspace, args: &[Bytes], context: &mut Context) -> Outcome {
    let now = context.now;
    let key = &args[1];
    match name {
        b"zadd" => zadd(keyspace, args, now),
        b"zincrby" => {
            let by = parse_float(&args[2])?;
            update(keyspace, key, now, Some(new_zset), as_zset_mut, |zset| {
                let next = zset.score(&args[3]).unwrap_or(0.0) + by;
                if next.is_nan() {
                    return Err(Reply::error("ERR resulting score is not a number (NaN)"));
                }
                zset.insert(args[3].clone(), next);
                Ok(Reply::Double(next))
            })
            .unwrap_or(Ok(Reply::Null))
        }
        b"zrem" => {
            if read(keyspace, key, now, as_zset)?.is_none() {
                return Ok(Reply::Integer(0));
            }
            update(keyspace, key, now, None, as_zset_mut, |zset| {
                Ok(Reply::Integer(args[2..].iter().filter(|member| zset.remove(member)).count() as i64))
            })
            .unwrap_or(Ok(Reply::Integer(0)))
        }
        b"zscore" => Ok(read(keyspace, key, now, as_zset)?
            .and_then(|zset| zset.score(&args[2]))
            .map_or(Reply::Null, Reply::Double)),
        b"zmscore" => {
            let zset = read(keyspace, key, now, as_zset)?;
            Ok(Reply::Array(
                args[2..]
                    .iter()
                    .map(|member| zset.and_then(|zset| zset.score(member)).map_or(Reply::Null, Reply::Double))
                    .collect(),
            ))
        }
        b"zcard" => Ok(Reply::Integer(read(keyspace, key, now, as_zset)?.map_or(0, |zset| zset.len() as i64))),
        b"zcount" => {
            let (min, max) = (ScoreBound::parse(&args[2])?, ScoreBound::parse(&args[3])?);
            Ok(Reply::Integer(read(keyspace, key, now, as_zset)?.map_or(0, |zset| {
                zset.ordered().filter(|(_, score)| min.below(*score) && max.above(*score)).count() as i64
            })))
        }
        b"zrank" | b"zrevrank" => {
            let with_score = match args.get(3) {
                None => false,
                Some(option) if option.eq_ignore_ascii_case(b"withscore") && args.len() == 4 => true,
                Some(_) => return Err(syntax_error()),
            };
            let Some(zset) = read(keyspace, key, now, as_zset)? else {
                return Ok(if with_score { Reply::NullArray } else { Reply::Null });
            };
            let Some(rank) = zset.rank(&args[2]) else {
                return Ok(if with_score { Reply::NullArray } else { Reply::Null });
            };
            let rank = if name == b"zrank" { rank } else { zset.len() - 1 - rank };
            Ok(if with_score {
                Reply::Array(vec![Reply::Integer(rank as i64), Reply::Double(zset.score(&args[2]).unwrap_or(0.0))])
            } else {
                Reply::Integer(rank as i64)
            })
        }
        b"zrange" | b"zrevrange" | b"zrangebyscore" => zrange(name, keyspace, args, now),
        b"zpopmin" | b"zpopmax" => {
            let count = match args.get(2) {
                Some(count) => {
                    let count = parse_integer(count)?;
                    if count < 0 {
                        return Err(Reply::error("ERR value is out of range, must be positive"));
                    }
                    count as usize
                }
                None => 1,
            };
            if read(keyspace, key, now, as_zset)?.is_none() {
                return Ok(Reply::Array(Vec::new()));
            }
            let min = name == b"zpopmin";
            update(keyspace, key, now, None, as_zset_mut, |zset| {
                let mut popped = Vec::new();
                for _ in 0..count {
                    let Some((member, score)) = (if min { zset.pop_first() } else { zset.pop_last() }) else { break };
                    popped.push((Reply::Bulk(member), Reply::Double(score)));
                }
                // Without a count RESP3 gets one flat pair, as Redis sends it.
                Ok(if args.len() == 2 {
                    Reply::Array(popped.into_iter().flat_map(|(member, score)| [member, score]).collect())
                } else {
                    Reply::Pairs(popped)
                })
            })
            .unwrap_or(Ok(Reply::Array(Vec::new())))
        }
        _ => Err(super::unknown_command(args)),
    }
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member …]`
fn zadd(keyspace: &mut Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) = (false, false, false, false, false, false);
    let mut index = 2;
    while index < args.len() {
        match args[index].to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            b"ch" => ch = true,
            b"incr" => incr = true,
            _ => break,
        }
        index += 1;
    }
    let pairs = &args[index..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(syntax_error());
    }
    if nx && xx {
        return Err(Reply::error("ERR XX and NX options at the same time are not compatible"));
    }
    if (gt && lt) || (nx && (gt || lt)) {
        return Err(Reply::error("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && pairs.len() != 2 {
        return Err(Reply::error("ERR INCR option supports a single increment-element pair"));
    }
    let scores: Vec<f64> =
        pairs.chunks(2).map(|pair| parse_float(&pair[0])).collect::<Result<_, _>>().map_err(|_| not_float())?;
    if xx && read(keyspace, &args[1], now, as_zset)?.is_none() {
        return Ok(if incr { Reply::Null } else { Reply::Integer(0) });
    }
    update(keyspace, &args[1], now, Some(new_zset), as_zset_mut, |zset| {
        let mut changed = 0;
        let mut added = 0;
        let mut incremented = None;
        for (pair, score) in pairs.chunks(2).zip(scores) {
            let member = &pair[1];
            let current = zset.score(member);
            if (nx && current.is_some()) || (xx && current.is_none()) {
                continue;
            }
            let next = if incr { current.unwrap_or(0.0) + score } else { score };
            if next.is_nan() {
                return Err(Reply::error("ERR resulting score is not a number (NaN)"));
            }
            if let Some(current) = current {
                if (gt && next <= current) || (lt && next >= current) {
                    continue;
                }
                if next != current {
                    changed += 1;
                }
            } else {
                added += 1;
            }
            zset.insert(member.clone(), next);
            incremented = Some(next);
        }
        Ok(if incr {
            incremented.map_or(Reply::Null, Reply::Double)
        } else {
            Reply::Integer(if ch { added + changed } else { added })
        })
    })
    .unwrap_or(Ok(Reply::Integer(0)))
}

/// A score bound of ZRANGEBYSCORE / ZCOUNT: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
#[derive(Clone, Copy)]
struct ScoreBound {
    value: f64,
    exclusive: bool,
}

impl ScoreBound {
    fn parse(bytes: &[u8]) -> Result<Self, Reply> {
        let (exclusive, number) = match bytes.strip_prefix(b"(") {
            Some(rest) => (true, rest),
            None => (false, bytes),
        };
        let value = parse_float(number).map_err(|_| Reply::error("ERR min or max is not a float"))?;
        Ok(Self { value, exclusive })
    }

    /// As a lower bound: does `score` pass it?
    fn below(&self, score: f64) -> bool {
        if self.exclusive { score > self.value } else { score >= self.value }
    }

    /// As an upper bound: does `score` pass it?
    fn above(&self, score: f64) -> bool {
        if self.exclusive { score < self.value } else { score <= self.value }
    }
}

/// `ZRANGE key start stop [BYSCORE] [REV] [LIMIT offset count] [WITHSCORES]`, `ZREVRANGE key start
/// stop [WITHSCORES]`, `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`.
fn zrange(name: &[u8], keyspace: &Keyspace, args: &[Bytes], now: u64) -> Outcome {
    let (mut by_score, mut reverse, mut with_scores) = (name == b"zrangebyscore", name == b"zrevrange", false);
    let mut limit: Option<(i64, i64)> = None;
    let mut index = 4;
    while index < args.len() {
        match args[index].to_ascii_lowercase().as_slice() {
            b"withscores" => with_scores = true,
            b"byscore" if name == b"zrange" => by_score = true,
            b"rev" if name == b"zrange" => reverse = true,
            b"limit" if name != b"zrevrange" => {
                let offset = parse_integer(args.get(index + 1).ok_or_else(syntax_error)?)?;
                let count = parse_integer(args.get(index + 2).ok_or_else(syntax_error)?)?;
                limit = Some((offset, count));
                index += 2;
            }
            _ => return Err(syntax_error()),
        }
        index += 1;
    }
    if limit.is_some() && !by_score {
        return Err(Reply::error(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    // Bounds are checked before the key is looked at, as in Redis. With REV they come max first.
    let bounds = if by_score {
        let (low, high) = if reverse { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
        Some((ScoreBound::parse(low)?, ScoreBound::parse(high)?))
    } else {
        parse_integer(&args[2])?;
        parse_integer(&args[3])?;
        None
    };
    let Some(zset) = read(keyspace, &args[1], now, as_zset)? else { return Ok(Reply::Array(Vec::new())) };
    let selected: Vec<(&Bytes, f64)> = if let Some((min, max)) = bounds {
        let in_range = |(_, score): &(&Bytes, f64)| min.below(*score) && max.above(*score);
        let ordered: Vec<(&Bytes, f64)> = if reverse {
            zset.ordered().rev().filter(in_range).collect()
        } else {
            zset.ordered().filter(in_range).collect()
        };
        match limit {
            Some((offset, _)) if offset < 0 => Vec::new(),
            Some((offset, count)) => {
                let taken = if count < 0 { usize::MAX } else { count as usize };
                ordered.into_iter().skip(offset as usize).take(taken).collect()
            }
            None => ordered,
        }
    } else {
        let start = parse_integer(&args[2])?;
        let stop = parse_integer(&args[3])?;
        match clamp_range(start, stop, zset.len()) {
            None => Vec::new(),
            Some((start, stop)) => {
                if reverse {
                    zset.ordered().rev().skip(start).take(stop - start + 1).collect()
                } else {
                    zset.ordered().skip(start).take(stop - start + 1).collect()
                }
            }
        }
    };
    Ok(if with_scores {
        Reply::Pairs(
            selected.into_iter().map(|(member, score)| (Reply::Bulk(member.clone()), Reply::Double(score))).collect(),
        )
    } else {
        Reply::Array(selected.into_iter().map(|(member, _)| Reply::Bulk(member.clone())).collect())
    })
}
