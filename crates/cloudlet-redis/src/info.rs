//! `INFO [section …]`: the sections tools read, in Redis's `name:value` lines.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::backend::Backend;
use crate::connection::Client;
use crate::server::RedisServer;

/// The Redis version Cloudlet answers like (command set and replies of Redis 7.0).
pub(crate) const REDIS_VERSION: &str = "7.0.0";

pub(crate) fn render<B: Backend>(server: &RedisServer<B>, _client: &Client, sections: &[Bytes]) -> String {
    let wanted: Vec<String> =
        sections.iter().map(|section| String::from_utf8_lossy(section).to_ascii_lowercase()).collect();
    let all =
        wanted.is_empty() || wanted.iter().any(|section| matches!(section.as_str(), "all" | "everything" | "default"));
    let show = |name: &str| all || wanted.iter().any(|section| section == name);
    let stats = server.backend.stats();
    let counters = &server.stats;
    let mut text = String::new();
    if show("server") {
        let _ = write!(
            text,
            "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:cluster\r\ncloudlet_version:{}\r\ncloudlet_listener:{}\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{}\r\n\r\n",
            env!("CARGO_PKG_VERSION"),
            server.settings.name,
            std::env::consts::OS,
            std::process::id(),
            server.settings.announce.port(),
            server.started.elapsed().as_secs(),
        );
    }
    if show("clients") {
        let _ = write!(
            text,
            "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\n\r\n",
            counters.connected.load(Ordering::Relaxed),
            server.settings.max_clients
        );
    }
    if show("memory") {
        let _ = write!(
            text,
            "# Memory\r\nused_memory:{}\r\nused_memory_human:{}\r\nmaxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n\r\n",
            stats.used_memory,
            human(stats.used_memory),
            stats.max_memory,
            human(stats.max_memory),
            stats.eviction_policy
        );
    }
    if show("persistence") {
        let _ = write!(
            text,
            "# Persistence\r\nloading:0\r\naof_enabled:{}\r\nrdb_changes_since_last_save:0\r\n\r\n",
            u8::from(stats.durable)
        );
    }
    if show("stats") {
        let _ = write!(
            text,
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\r\n",
            counters.connections_received.load(Ordering::Relaxed),
            counters.commands.load(Ordering::Relaxed),
            counters.rejected_connections.load(Ordering::Relaxed),
            stats.expired_keys,
            stats.evicted_keys,
            counters.hits.load(Ordering::Relaxed),
            counters.misses.load(Ordering::Relaxed),
        );
    }
    if show("replication") {
        text.push_str("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
    }
    if show("cluster") {
        text.push_str("# Cluster\r\ncluster_enabled:1\r\n\r\n");
    }
    if show("keyspace") {
        text.push_str("# Keyspace\r\n");
        if stats.keys > 0 {
            let _ = write!(text, "db0:keys={},expires={},avg_ttl=0\r\n", stats.keys, stats.keys_with_expiry);
        }
        text.push_str("\r\n");
    }
    text
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2}G", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.2}M", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.2}K", b as f64 / 1024.0),
        b => format!("{b}B"),
    }
}
