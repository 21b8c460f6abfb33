//! The node configuration: where a node keeps its data, what it listens on, and its limits.
//!
//! Defaults live in [`NodeConfig::default`]; a config file (`cloudlet serve --config FILE`) overrides them
//! and command-line flags override the file (the binary applies those). Every field is documented in
//! `docs/operations.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::problem::Problem;
use crate::reader::{Document, TableReader};

/// Everything one node needs to start.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// Where apps, their files, the admin token and all durable state live. Default `./cloudlet-data`.
    pub data_dir: PathBuf,
    /// The admin token for the control API; generated into `DATA_DIR/admin.token` when `None`.
    pub token: Option<String>,
    pub listen: Listeners,
    pub gateway: GatewayConfig,
    /// Serve the gateway over TLS with this certificate chain and key (PEM files). Default: plain HTTP.
    pub tls: Option<TlsFiles>,
    pub kv: KvConfig,
    pub cache: CacheConfig,
    /// How long SIGTERM waits for in-flight requests and instances before exiting anyway. Default 30s.
    pub shutdown_timeout: Duration,
}

/// Listening addresses; port 0 binds any free port.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Listeners {
    /// HTTP gateway. Default `127.0.0.1:8080`.
    pub gateway: SocketAddr,
    /// Control API. Default `127.0.0.1:7070`.
    pub api: SocketAddr,
    /// RESP key-value store. Default `127.0.0.1:6380`.
    pub kv: SocketAddr,
    /// RESP cache. Default `127.0.0.1:6381`.
    pub cache: SocketAddr,
}

/// Limits of the HTTP gateway that apply to every route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatewayConfig {
    /// Open client connections at most; beyond it new connections wait in the kernel backlog. Default 10000.
    pub max_connections: u32,
    /// Time a client has to send its request headers. Default 30s.
    pub header_read_timeout: Duration,
    /// Gateway worker threads, each with its own listener and connections. Default: one per CPU.
    pub workers: u32,
}

/// A TLS certificate chain and its private key, PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The key-value store listener.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvConfig {
    /// When set, clients must AUTH with it; unauthenticated commands get `-NOAUTH`.
    pub password: Option<String>,
}

/// The cache listener.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheConfig {
    /// Bytes the cache may hold (keys, values and overhead). Default: an eighth of the machine's memory.
    pub max_memory: Option<u64>,
    /// When set, clients must AUTH with it.
    pub password: Option<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./cloudlet-data"),
            token: None,
            listen: Listeners {
                gateway: SocketAddr::from(([127, 0, 0, 1], 8080)),
                api: SocketAddr::from(([127, 0, 0, 1], 7070)),
                kv: SocketAddr::from(([127, 0, 0, 1], 6380)),
                cache: SocketAddr::from(([127, 0, 0, 1], 6381)),
            },
            gateway: GatewayConfig {
                max_connections: 10_000,
                header_read_timeout: Duration::from_secs(30),
                workers: std::thread::available_parallelism().map_or(1, |cpus| cpus.get() as u32),
            },
            tls: None,
            kv: KvConfig::default(),
            cache: CacheConfig::default(),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl NodeConfig {
    /// Reads a config file's text over the defaults, returning every problem when it is not valid.
    pub fn from_toml(text: &str) -> Result<Self, Vec<Problem>> {
        let document = Document::parse(text)?;
        let config = {
            let mut root = document.root();
            let config = read_config(&mut root);
            root.finish();
            config
        };
        let problems = document.into_problems();
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }
}

fn read_config(root: &mut TableReader<'_, '_>) -> NodeConfig {
    let mut config = NodeConfig::default();
    if let Some(dir) = root.string("data_dir") {
        config.data_dir = PathBuf::from(dir);
    }
    config.token = root.string("token");
    if let Some(timeout) = root.duration("shutdown_timeout") {
        config.shutdown_timeout = timeout;
    }
    if let Some(mut listen) = root.table("listen") {
        for (key, slot) in [
            ("gateway", &mut config.listen.gateway),
            ("api", &mut config.listen.api),
            ("kv", &mut config.listen.kv),
            ("cache", &mut config.listen.cache),
        ] {
            if let Some(text) = listen.string(key) {
                match parse_listen_address(&text) {
                    Ok(address) => *slot = address,
                    Err(message) => {
                        listen.report(key, message, Some("e.g. \"127.0.0.1:8080\" or \"0.0.0.0:0\"".into()))
                    }
                }
            }
        }
        listen.finish();
    }
    if let Some(mut gateway) = root.table("gateway") {
        if let Some(max) = gateway.count("max_connections", 1_000_000) {
            config.gateway.max_connections = max.max(1);
        }
        if let Some(timeout) = gateway.duration("header_read_timeout") {
            config.gateway.header_read_timeout = timeout;
        }
        if let Some(workers) = gateway.count("workers", 256) {
            if workers == 0 {
                gateway.report("workers", "\"workers\" must be at least 1", None);
            }
            config.gateway.workers = workers;
        }
        match (gateway.string("tls_cert"), gateway.string("tls_key")) {
            (Some(cert), Some(key)) => config.tls = Some(TlsFiles { cert: cert.into(), key: key.into() }),
            (None, None) => {}
            _ => gateway.report("tls_cert", "\"tls_cert\" and \"tls_key\" go together", None),
        }
        gateway.finish();
    }
    if let Some(mut kv) = root.table("kv") {
        config.kv.password = kv.string("password");
        kv.finish();
    }
    if let Some(mut cache) = root.table("cache") {
        config.cache.max_memory = cache.size("max_memory");
        config.cache.password = cache.string("password");
        if config.cache.max_memory == Some(0) {
            cache.report("max_memory", "\"max_memory\" must be more than 0", None);
        }
        cache.finish();
    }
    config
}

/// Parses `IP:PORT`, also accepting `localhost:PORT` for 127.0.0.1.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Some(port) = text.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("\"{text}\" has a bad port"))?;
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| format!("\"{text}\" is not an address like 127.0.0.1:8080"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_override_defaults() {
        let config = NodeConfig::from_toml(
            "data_dir = \"/srv/cloudlet\"\n[listen]\ngateway = \"0.0.0.0:80\"\napi = \"localhost:0\"\n[gateway]\nmax_connections = 5\n",
        )
        .expect("valid");
        assert_eq!(config.data_dir, PathBuf::from("/srv/cloudlet"));
        assert_eq!(config.listen.gateway, SocketAddr::from(([0, 0, 0, 0], 80)));
        assert_eq!(config.listen.api, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(config.listen.kv, NodeConfig::default().listen.kv);
        assert_eq!(config.gateway.max_connections, 5);
    }

    #[test]
    fn bad_values_and_unknown_fields_are_all_reported() {
        let problems =
            NodeConfig::from_toml("data_dri = \"x\"\n[listen]\ngateway = \"nowhere\"\n").expect_err("invalid");
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert_eq!(problems[0].message, "unknown field \"data_dri\", expected \"data_dir\"");
        assert!(problems[1].message.contains("nowhere"));
    }
}
