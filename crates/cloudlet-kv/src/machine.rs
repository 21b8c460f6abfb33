//! What a KV shard's Raft group replicates.
//!
//! A [`KvMachine`] is a keyspace and a clock. Every command carries the time and the random seed it
//! runs with, stamped by the proposer, so a relative expiry (`SET … EX 10`, `EXPIRE k 10`) becomes
//! an absolute deadline before the command is proposed, and every replica — and every replay of
//! the log after a restart — computes the same deadlines, the same `SPOP` choices, the same replies.
//! The clock only moves forward: a command stamped earlier than one already applied runs at the
//! later time.

use std::sync::Arc;

use bytes::Bytes;
use cloudlet_keyspace::{Context, Keyspace, encoding, execute};
use cloudlet_raft::StateMachine;
use cloudlet_raft::codec::{Reader, Writer};
use cloudlet_resp::Reply;

/// A proposal to a shard.
#[derive(Clone, Debug)]
pub enum KvCommand {
    /// Data commands of one slot, run in order as one atomic step: one command, or an `EXEC`.
    Run { now: u64, seed: u64, commands: Arc<Vec<Vec<Bytes>>> },
    /// Removes up to `budget` keys whose deadline is at or before `now`.
    Purge { now: u64, budget: u32 },
    /// Removes every key of the shard (`FLUSHDB`, `FLUSHALL`).
    Flush,
}

/// A shard's state.
#[derive(Clone, Debug, Default)]
pub struct KvMachine {
    keyspace: Keyspace,
    /// Milliseconds since the Unix epoch of the latest command applied.
    clock: u64,
}

impl KvMachine {
    pub fn keyspace(&self) -> &Keyspace {
        &self.keyspace
    }

    /// Runs a read-only command at `now` (a read changes nothing, so replicas stay equal).
    pub fn read(&mut self, args: &[Bytes], now: u64, seed: u64) -> Reply {
        execute(&mut self.keyspace, args, &mut Context::new(now, seed))
    }
}

const RUN: u8 = 1;
const PURGE: u8 = 2;
const FLUSH: u8 = 3;

impl StateMachine for KvMachine {
    type Command = KvCommand;
    /// One reply per command of a `Run`; the number of keys removed for a `Purge`.
    type Output = Vec<Reply>;

    fn apply(&mut self, command: &KvCommand) -> Vec<Reply> {
        match command {
            KvCommand::Run { now, seed, commands } => {
                self.clock = self.clock.max(*now);
                let mut context = Context::new(self.clock, *seed);
                commands.iter().map(|args| execute(&mut self.keyspace, args, &mut context)).collect()
            }
            KvCommand::Purge { now, budget } => {
                self.clock = self.clock.max(*now);
                vec![Reply::Integer(self.keyspace.purge_expired(self.clock, *budget as usize) as i64)]
            }
            KvCommand::Flush => {
                self.keyspace.clear();
                vec![Reply::Ok]
            }
        }
    }

    fn size(command: &KvCommand) -> usize {
        match command {
            KvCommand::Run { commands, .. } => commands.iter().flatten().map(|arg| arg.len() + 4).sum::<usize>() + 24,
            KvCommand::Purge { .. } | KvCommand::Flush => 16,
        }
    }

    fn encode(command: &KvCommand, out: &mut Vec<u8>) {
        let mut writer = Writer(out);
        match command {
            KvCommand::Run { now, seed, commands } => {
                writer.u8(RUN);
                writer.u64(*now);
                writer.u64(*seed);
                writer.u32(commands.len() as u32);
                for args in commands.iter() {
                    writer.u32(args.len() as u32);
                    args.iter().for_each(|arg| writer.bytes(arg));
                }
            }
            KvCommand::Purge { now, budget } => {
                writer.u8(PURGE);
                writer.u64(*now);
                writer.u32(*budget);
            }
            KvCommand::Flush => writer.u8(FLUSH),
        }
    }

    fn decode(bytes: &[u8]) -> Result<KvCommand, String> {
        let mut reader = Reader::new(bytes, "KV command");
        let command = match reader.u8().map_err(|error| error.to_string())? {
            RUN => decode_run(&mut reader).map_err(|error| error.to_string())?,
            PURGE => {
                let now = reader.u64().map_err(|error| error.to_string())?;
                KvCommand::Purge { now, budget: reader.u32().map_err(|error| error.to_string())? }
            }
            FLUSH => KvCommand::Flush,
            other => return Err(format!("unknown KV command tag {other}")),
        };
        if !reader.is_empty() {
            return Err("bytes after the end of a KV command".to_string());
        }
        Ok(command)
    }

    fn save(&self, out: &mut Vec<u8>) {
        Writer(out).u64(self.clock);
        encoding::encode(&self.keyspace, out);
    }

    fn load(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = Reader::new(bytes, "KV snapshot");
        let clock = reader.u64().map_err(|error| error.to_string())?;
        Ok(Self { keyspace: encoding::decode(reader.rest())?, clock })
    }
}

fn decode_run(reader: &mut Reader<'_>) -> Result<KvCommand, cloudlet_raft::codec::CorruptRecord> {
    let now = reader.u64()?;
    let seed = reader.u64()?;
    let count = reader.u32()?;
    let mut commands = Vec::with_capacity(count.min(1024) as usize);
    for _ in 0..count {
        let arguments = reader.u32()?;
        let mut args = Vec::with_capacity(arguments.min(1024) as usize);
        for _ in 0..arguments {
            args.push(Bytes::copy_from_slice(reader.bytes()?));
        }
        commands.push(args);
    }
    Ok(KvCommand::Run { now, seed, commands: Arc::new(commands) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(now: u64, words: &[&str]) -> KvCommand {
        let args = words.iter().map(|word| Bytes::copy_from_slice(word.as_bytes())).collect();
        KvCommand::Run { now, seed: 42, commands: Arc::new(vec![args]) }
    }

    fn round_trip(command: &KvCommand) -> KvCommand {
        let mut bytes = Vec::new();
        KvMachine::encode(command, &mut bytes);
        KvMachine::decode(&bytes).expect("decodes")
    }

    #[test]
    fn commands_round_trip_and_replay_to_the_same_state() {
        let log = vec![
            run(1_000, &["set", "session", "abc", "ex", "10"]),
            run(2_000, &["sadd", "s", "a", "b", "c", "d"]),
            run(3_000, &["spop", "s"]),
            run(500, &["incr", "n"]),
            KvCommand::Purge { now: 20_000, budget: 10 },
            run(21_000, &["rpush", "l", "x"]),
        ];
        let mut original = KvMachine::default();
        let mut replayed = KvMachine::default();
        for command in &log {
            let first = original.apply(command);
            let again = replayed.apply(&round_trip(command));
            assert_eq!(first, again, "{command:?}");
        }
        let mut snapshot = Vec::new();
        original.save(&mut snapshot);
        let mut restored = KvMachine::load(&snapshot).expect("snapshot loads");
        assert_eq!(restored.clock, 21_000);
        for key in ["session", "s", "n", "l"] {
            let get = |machine: &mut KvMachine| machine.keyspace.get(key.as_bytes(), 21_000).cloned();
            assert_eq!(get(&mut restored), get(&mut original), "{key}");
        }
        assert!(original.keyspace.get(b"session", 21_000).is_none(), "expired at 11 000 and purged");
    }

    #[test]
    fn the_clock_never_goes_back() {
        let mut machine = KvMachine::default();
        machine.apply(&run(5_000, &["set", "k", "v", "px", "100"]));
        // Stamped earlier than the SET (a proposer with a slower clock): runs at 5 000, not 10.
        let reply = machine.apply(&run(10, &["pttl", "k"]));
        assert_eq!(reply, vec![Reply::Integer(100)]);
    }

    #[test]
    fn damaged_commands_are_errors() {
        let mut bytes = Vec::new();
        KvMachine::encode(&run(1, &["set", "k", "v"]), &mut bytes);
        for cut in 0..bytes.len() {
            assert!(KvMachine::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(KvMachine::decode(&[9]).is_err());
    }
}
