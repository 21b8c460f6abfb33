//! `CLUSTER …`, answered truthfully for one node that owns every slot through its shards.

use bytes::Bytes;
use cloudlet_keyspace::slot::{SLOTS, slot};
use cloudlet_resp::Reply;

use crate::backend::Backend;
use crate::server::RedisServer;

pub(crate) async fn command<B: Backend>(server: &RedisServer<B>, args: &[Bytes]) -> Reply {
    let sub = args[1].to_ascii_lowercase();
    let settings = &server.settings;
    let host = settings.announce.ip().to_string();
    let port = i64::from(settings.announce.port());
    let shards = server.backend.shards();
    match (sub.as_slice(), args.len()) {
        (b"slots", 2) => {
            let node = Reply::Array(vec![
                Reply::Bulk(Bytes::from(host.clone())),
                Reply::Integer(port),
                Reply::Bulk(Bytes::from(settings.node_id.clone())),
                Reply::Map(Vec::new()),
            ]);
            let mut ranges: Vec<(u16, u16)> = shards.iter().flat_map(|shard| shard.slots.iter().copied()).collect();
            ranges.sort_unstable();
            Reply::Array(
                ranges
                    .into_iter()
                    .map(|(start, end)| {
                        Reply::Array(vec![
                            Reply::Integer(i64::from(start)),
                            Reply::Integer(i64::from(end)),
                            node.clone(),
                        ])
                    })
                    .collect(),
            )
        }
        (b"shards", 2) => {
            let mut ranges: Vec<(u16, u16)> = shards.iter().flat_map(|shard| shard.slots.iter().copied()).collect();
            ranges.sort_unstable();
            let slots = ranges
                .iter()
                .flat_map(|(start, end)| [Reply::Integer(i64::from(*start)), Reply::Integer(i64::from(*end))])
                .collect();
            let node = Reply::Map(vec![
                (Reply::bulk("id"), Reply::Bulk(Bytes::from(settings.node_id.clone()))),
                (Reply::bulk("port"), Reply::Integer(port)),
                (Reply::bulk("ip"), Reply::Bulk(Bytes::from(host.clone()))),
                (Reply::bulk("endpoint"), Reply::Bulk(Bytes::from(host.clone()))),
                (Reply::bulk("role"), Reply::bulk("master")),
                (Reply::bulk("replication-offset"), Reply::Integer(0)),
                (Reply::bulk("health"), Reply::bulk("online")),
            ]);
            Reply::Array(vec![Reply::Map(vec![
                (Reply::bulk("slots"), Reply::Array(slots)),
                (Reply::bulk("nodes"), Reply::Array(vec![node])),
            ])])
        }
        (b"nodes", 2) => {
            let mut ranges: Vec<(u16, u16)> = shards.iter().flat_map(|shard| shard.slots.iter().copied()).collect();
            ranges.sort_unstable();
            let slots: Vec<String> = ranges
                .iter()
                .map(|(start, end)| if start == end { start.to_string() } else { format!("{start}-{end}") })
                .collect();
            Reply::Bulk(Bytes::from(format!(
                "{} {host}:{port}@{} myself,master - 0 0 1 connected {}\n",
                settings.node_id,
                port + 10000,
                slots.join(" ")
            )))
        }
        (b"info", 2) => Reply::Bulk(Bytes::from(
            [
                "cluster_state:ok".to_string(),
                format!("cluster_slots_assigned:{SLOTS}"),
                format!("cluster_slots_ok:{SLOTS}"),
                "cluster_slots_pfail:0".to_string(),
                "cluster_slots_fail:0".to_string(),
                "cluster_known_nodes:1".to_string(),
                "cluster_size:1".to_string(),
                "cluster_current_epoch:1".to_string(),
                "cluster_my_epoch:1".to_string(),
                "cluster_stats_messages_sent:0".to_string(),
                "cluster_stats_messages_received:0".to_string(),
                "total_cluster_links_buffer_limit_exceeded:0".to_string(),
                String::new(),
            ]
            .join("\r\n"),
        )),
        (b"keyslot", 3) => Reply::Integer(i64::from(slot(&args[2]))),
        (b"myid", 2) => Reply::Bulk(Bytes::from(settings.node_id.clone())),
        (b"myshardid", 2) => Reply::Bulk(Bytes::from(settings.node_id.clone())),
        (b"countkeysinslot", 3) => match parse_slot(&args[2]) {
            Some(slot) => Reply::Integer(server.backend.keys_in_slot(slot, 0).await.1 as i64),
            None => Reply::error("ERR Invalid slot"),
        },
        (b"getkeysinslot", 4) => {
            let (Some(slot), Some(count)) =
                (parse_slot(&args[2]), std::str::from_utf8(&args[3]).ok().and_then(|c| c.parse::<usize>().ok()))
            else {
                return Reply::error("ERR Invalid slot or number of keys");
            };
            let (keys, _) = server.backend.keys_in_slot(slot, count).await;
            Reply::Array(keys.into_iter().map(Reply::Bulk).collect())
        }
        (b"links", 2) => Reply::Array(Vec::new()),
        _ => Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLUSTER HELP.",
            String::from_utf8_lossy(&args[1])
        )),
    }
}

fn parse_slot(bytes: &[u8]) -> Option<u16> {
    std::str::from_utf8(bytes).ok()?.parse::<u16>().ok().filter(|slot| *slot < SLOTS)
}
