//! Where each command goes: connection and server commands are answered here; data commands go to
//! the backend with their slot, keyless ones across every shard.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use cloudlet_keyspace::commands::table::COMMANDS;
use cloudlet_keyspace::slot::slot;
use cloudlet_keyspace::{Kind, lookup, unknown_command, wrong_arity};
use cloudlet_resp::{Protocol, Reply};

use crate::backend::Backend;
use crate::connection::{Client, Transaction};
use crate::server::RedisServer;
use crate::{cluster, info};

fn crossslot() -> Reply {
    Reply::error("CROSSSLOT Keys in request don't hash to the same slot")
}

/// The one slot all `keys` share, `Ok(None)` without keys, `CROSSSLOT` otherwise.
fn common_slot(keys: &[&Bytes]) -> Result<Option<u16>, Reply> {
    let mut found = None;
    for key in keys {
        let this = slot(key);
        match found {
            None => found = Some(this),
            Some(other) if other != this => return Err(crossslot()),
            Some(_) => {}
        }
    }
    Ok(found)
}

pub(crate) async fn handle<B: Backend>(server: &RedisServer<B>, client: &mut Client, args: Vec<Bytes>) -> Reply {
    server.stats.commands.fetch_add(1, Ordering::Relaxed);
    let Some(spec) = lookup(&args[0]) else {
        if let Some(transaction) = &mut client.transaction {
            transaction.failed = true;
        }
        return unknown_command(&args);
    };
    let name = spec.name.as_bytes();
    if !spec.arity_ok(args.len()) {
        if let Some(transaction) = &mut client.transaction {
            transaction.failed = true;
        }
        return wrong_arity(name);
    }
    if !client.authenticated && !matches!(name, b"auth" | b"hello" | b"quit") {
        return Reply::error("NOAUTH Authentication required.");
    }
    if client.transaction.is_some() && !matches!(name, b"exec" | b"discard" | b"multi" | b"quit") {
        return queue(client, spec, args);
    }
    match spec.kind {
        Kind::Server => server_command(server, client, name, args).await,
        Kind::Read | Kind::Write => {
            let keys = spec.keys(&args);
            match common_slot(&keys) {
                Err(reply) => reply,
                Ok(None) => server.backend.execute_everywhere(args).await,
                Ok(Some(slot)) => {
                    let single_key = keys.len() == 1 && spec.kind == Kind::Read;
                    let reply = server.backend.execute(slot, vec![args], spec.kind).await.pop().unwrap_or(Reply::Null);
                    if single_key {
                        let counter = if matches!(reply, Reply::Null | Reply::NullArray) {
                            &server.stats.misses
                        } else {
                            &server.stats.hits
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    reply
                }
            }
        }
    }
}

/// Inside `MULTI`: checks and queues a command.
fn queue(client: &mut Client, spec: &cloudlet_keyspace::CommandSpec, args: Vec<Bytes>) -> Reply {
    let Some(transaction) = client.transaction.as_mut() else { return Reply::error("ERR not in a transaction") };
    if spec.kind == Kind::Server && !matches!(spec.name, "ping" | "echo") {
        transaction.failed = true;
        return Reply::error(format!("ERR command '{}' is not allowed in a transaction", spec.name));
    }
    let keys = spec.keys(&args);
    match common_slot(&keys) {
        Err(reply) => {
            transaction.failed = true;
            return reply;
        }
        Ok(None) if spec.kind != Kind::Server => {
            transaction.failed = true;
            return Reply::error(format!(
                "ERR command '{}' spans every shard and cannot run in a transaction",
                spec.name
            ));
        }
        Ok(None) => {}
        Ok(Some(slot)) => match transaction.slot {
            Some(existing) if existing != slot => {
                transaction.failed = true;
                return crossslot();
            }
            _ => transaction.slot = Some(slot),
        },
    }
    transaction.writes |= spec.kind == Kind::Write;
    transaction.commands.push(args);
    Reply::Status("QUEUED".to_string())
}

async fn exec<B: Backend>(server: &RedisServer<B>, client: &mut Client) -> Reply {
    let Some(transaction) = client.transaction.take() else { return Reply::error("ERR EXEC without MULTI") };
    if transaction.failed {
        return Reply::error("EXECABORT Transaction discarded because of previous errors.");
    }
    let Some(slot) = transaction.slot else {
        // Only PING / ECHO queued.
        return Reply::Array(transaction.commands.iter().map(|args| simple(args)).collect());
    };
    let kind = if transaction.writes { Kind::Write } else { Kind::Read };
    Reply::Array(server.backend.execute(slot, transaction.commands, kind).await)
}

fn simple(args: &[Bytes]) -> Reply {
    if args[0].eq_ignore_ascii_case(b"echo") {
        return Reply::Bulk(args[1].clone());
    }
    match args.get(1) {
        Some(message) => Reply::Bulk(message.clone()),
        None => Reply::Status("PONG".to_string()),
    }
}

async fn server_command<B: Backend>(
    server: &RedisServer<B>,
    client: &mut Client,
    name: &[u8],
    args: Vec<Bytes>,
) -> Reply {
    let settings = &server.settings;
    match name {
        b"ping" => {
            if args.len() > 2 {
                return wrong_arity(name);
            }
            simple(&args)
        }
        b"echo" => simple(&args),
        b"quit" => {
            client.closing = true;
            Reply::Ok
        }
        b"select" => match args[1].as_ref() {
            b"0" => Reply::Ok,
            _ => Reply::error("ERR DB index is out of range"),
        },
        b"auth" => {
            let (user, password) = match args.len() {
                2 => (None, &args[1]),
                3 => (Some(&args[1]), &args[2]),
                _ => return Reply::error("ERR syntax error"),
            };
            authenticate(server, client, user, password)
        }
        b"hello" => hello(server, client, &args),
        b"client" => client_command(client, &args),
        b"multi" => {
            if client.transaction.is_some() {
                return Reply::error("ERR MULTI calls can not be nested");
            }
            client.transaction = Some(Transaction::default());
            Reply::Ok
        }
        b"exec" => exec(server, client).await,
        b"discard" => match client.transaction.take() {
            Some(_) => Reply::Ok,
            None => Reply::error("ERR DISCARD without MULTI"),
        },
        b"asking" | b"readonly" | b"readwrite" => Reply::Ok,
        b"wait" => Reply::Integer(0),
        b"command" => command(&args),
        b"config" => config(server, &args),
        b"info" => Reply::Bulk(Bytes::from(info::render(server, client, &args[1..]))),
        b"cluster" => cluster::command(server, &args).await,
        _ => {
            let _ = settings;
            unknown_command(&args)
        }
    }
}

fn authenticate<B: Backend>(
    server: &RedisServer<B>,
    client: &mut Client,
    user: Option<&Bytes>,
    password: &Bytes,
) -> Reply {
    let Some(expected) = &server.settings.password else {
        return Reply::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    };
    let user_ok = user.is_none_or(|user| user.as_ref() == b"default");
    if user_ok && constant_time_eq(password, expected.as_bytes()) {
        client.authenticated = true;
        Reply::Ok
    } else {
        Reply::error("WRONGPASS invalid username-password pair or user is disabled.")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello<B: Backend>(server: &RedisServer<B>, client: &mut Client, args: &[Bytes]) -> Reply {
    let mut protocol = client.protocol;
    if let Some(version) = args.get(1) {
        protocol = match version.as_ref() {
            b"2" => Protocol::Resp2,
            b"3" => Protocol::Resp3,
            _ => return Reply::error("NOPROTO unsupported protocol version"),
        };
    }
    let mut index = 2;
    while index < args.len() {
        match args[index].to_ascii_lowercase().as_slice() {
            b"auth" if index + 2 < args.len() => {
                if let Reply::Error(message) = authenticate(server, client, Some(&args[index + 1]), &args[index + 2]) {
                    return Reply::Error(message);
                }
                index += 3;
            }
            b"setname" if index + 1 < args.len() => {
                client.name = Some(args[index + 1].clone());
                index += 2;
            }
            _ => return Reply::error("ERR syntax error in HELLO option"),
        }
    }
    if !client.authenticated {
        return Reply::error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        );
    }
    client.protocol = protocol;
    Reply::Map(vec![
        (Reply::bulk("server"), Reply::bulk("redis")),
        (Reply::bulk("version"), Reply::bulk(info::REDIS_VERSION)),
        (Reply::bulk("proto"), Reply::Integer(if protocol == Protocol::Resp3 { 3 } else { 2 })),
        (Reply::bulk("id"), Reply::Integer(client.id as i64)),
        (Reply::bulk("mode"), Reply::bulk("cluster")),
        (Reply::bulk("role"), Reply::bulk("master")),
        (Reply::bulk("modules"), Reply::Array(Vec::new())),
    ])
}

fn client_command(client: &mut Client, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match (sub.as_slice(), args.len()) {
        (b"setname", 3) => {
            if args[2].iter().any(|byte| *byte == b' ' || !byte.is_ascii_graphic()) {
                return Reply::error("ERR Client names cannot contain spaces, newlines or special characters.");
            }
            client.name = (!args[2].is_empty()).then(|| args[2].clone());
            Reply::Ok
        }
        (b"getname", 2) => client.name.clone().map_or(Reply::Null, Reply::Bulk),
        (b"id", 2) => Reply::Integer(client.id as i64),
        (b"setinfo", 4) => {
            let attribute = args[2].to_ascii_lowercase();
            let (name, version) = client.library.get_or_insert_with(Default::default);
            match attribute.as_slice() {
                b"lib-name" => *name = args[3].clone(),
                b"lib-ver" => *version = args[3].clone(),
                _ => return Reply::error(format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(&args[2]))),
            }
            Reply::Ok
        }
        (b"info", 2) => Reply::Bulk(Bytes::from(format!("{}\n", client_line(client)))),
        (b"list", _) => Reply::Bulk(Bytes::from(format!("{}\n", client_line(client)))),
        (b"no-evict" | b"no-touch", 3) => Reply::Ok,
        _ => Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

fn client_line(client: &Client) -> String {
    let name = client.name.as_ref().map(|name| String::from_utf8_lossy(name).into_owned()).unwrap_or_default();
    let (lib_name, lib_version) = client
        .library
        .as_ref()
        .map(|(name, version)| {
            (String::from_utf8_lossy(name).into_owned(), String::from_utf8_lossy(version).into_owned())
        })
        .unwrap_or_default();
    let resp = if client.protocol == Protocol::Resp3 { 3 } else { 2 };
    format!(
        "id={} addr={} name={name} age={} db=0 resp={resp} lib-name={lib_name} lib-ver={lib_version}",
        client.id,
        client.peer,
        client.since.elapsed().as_secs()
    )
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO name …`, `COMMAND GETKEYS cmd …`, `COMMAND LIST`, `COMMAND DOCS`.
fn command(args: &[Bytes]) -> Reply {
    let Some(sub) = args.get(1).map(|sub| sub.to_ascii_lowercase()) else {
        return Reply::Array(COMMANDS.iter().map(|spec| spec.describe()).collect());
    };
    match sub.as_slice() {
        b"count" => Reply::Integer(COMMANDS.len() as i64),
        b"list" => Reply::Array(COMMANDS.iter().map(|spec| Reply::bulk(spec.name)).collect()),
        b"info" => Reply::Array(
            args[2..].iter().map(|name| lookup(name).map_or(Reply::NullArray, |spec| spec.describe())).collect(),
        ),
        b"docs" => Reply::Map(Vec::new()),
        b"getkeys" => {
            let Some(spec) = args.get(2).and_then(|name| lookup(name)) else {
                return Reply::error("ERR Invalid command specified");
            };
            let command = &args[2..];
            if !spec.arity_ok(command.len()) {
                return Reply::error("ERR Invalid number of arguments specified for command");
            }
            let keys = spec.keys(command);
            if keys.is_empty() {
                return Reply::error("ERR The command has no key arguments");
            }
            Reply::Array(keys.into_iter().map(|key| Reply::Bulk(key.clone())).collect())
        }
        _ => Reply::error(format!("ERR unknown subcommand '{}'. Try COMMAND HELP.", String::from_utf8_lossy(&args[1]))),
    }
}

/// `CONFIG GET pattern …`; `CONFIG SET` changes nothing; `CONFIG RESETSTAT` is accepted.
fn config<B: Backend>(server: &RedisServer<B>, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"get" if args.len() >= 3 => {
            let stats = server.backend.stats();
            let parameters: Vec<(&str, String)> = vec![
                ("appendonly", if stats.durable { "yes" } else { "no" }.to_string()),
                ("appendfsync", if stats.durable { "always" } else { "no" }.to_string()),
                ("save", String::new()),
                ("databases", "1".to_string()),
                ("cluster-enabled", "yes".to_string()),
                ("maxmemory", stats.max_memory.to_string()),
                ("maxmemory-policy", stats.eviction_policy.to_string()),
                ("maxclients", server.settings.max_clients.to_string()),
                ("proto-max-bulk-len", server.settings.limits.max_bulk.to_string()),
                ("timeout", "0".to_string()),
            ];
            let mut pairs = Vec::new();
            for (name, value) in &parameters {
                if args[2..]
                    .iter()
                    .any(|pattern| cloudlet_keyspace::pattern::matches(&pattern.to_ascii_lowercase(), name.as_bytes()))
                {
                    pairs.push((Reply::bulk(*name), Reply::Bulk(Bytes::from(value.clone()))));
                }
            }
            Reply::Map(pairs)
        }
        b"set" => Reply::error("ERR CONFIG SET is not supported: Cloudlet is configured through its node config"),
        b"resetstat" => Reply::Ok,
        _ => Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CONFIG HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}
