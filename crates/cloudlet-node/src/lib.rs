//! One Cloudlet node: everything `cloudlet serve` starts, in order, and stops, in reverse.
//!
//! [`run`] locks the data dir, loads or creates the admin token, binds every listener (gateway, API,
//! KV, cache), builds the runtime, gateway and control plane, brings back the apps the data dir
//! remembers, reports [`Ready`], and on shutdown: stops accepting, drains in-flight gateway
//! requests, stops every instance (SIGTERM, then SIGKILL after its grace period), closes the API.
//!
//! - [`data_dir`]: the data dir's layout, its lock and the admin token;
//! - `keyvalue`: the functions' `wasi:keyvalue` buckets over the KV store and the cache;
//! - `response_store`: the gateway's response cache kept in the cache service.

pub mod data_dir;
mod keyvalue;
mod response_store;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use cloudlet_api::{ApiState, NodeInfo};
use cloudlet_autoscale::Autoscaler;
use cloudlet_cache::Cache;
use cloudlet_config::NodeConfig;
use cloudlet_control::bundle::BundleLimits;
use cloudlet_control::{Control, ControlParts, RaftStore};
use cloudlet_functions::{EngineSettings, FunctionEngine, FunctionMetrics};
use cloudlet_gateway::{Gateway, GatewayLimits, GatewayMetrics, ResponseCache, RouteTable};
use cloudlet_kv::{Kv, KvSettings};
use cloudlet_raft::{GroupSettings, Storage};
use cloudlet_redis::server::announce_address;
use cloudlet_redis::{RedisServer, ServerSettings};
use cloudlet_resp::Limits;
use cloudlet_runtime::{Runtime, RuntimeMetrics};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::data_dir::DataDir;
use crate::keyvalue::NodeBuckets;
use crate::response_store::CacheResponseStore;

/// Largest response body the gateway's response cache stores.
const RESPONSE_CACHE_MAX_BODY: usize = 8 << 20;

/// The node is up: where it listens and how to talk to its API.
#[derive(Clone, Debug)]
pub struct Ready {
    pub gateway: SocketAddr,
    pub api: SocketAddr,
    pub kv: SocketAddr,
    pub cache: SocketAddr,
    pub token: String,
    pub data_dir: PathBuf,
}

impl Ready {
    /// The line tests and scripts wait for.
    pub fn line(&self) -> String {
        format!("cloudlet ready gateway={} api={} kv={} cache={}", self.gateway, self.api, self.kv, self.cache)
    }
}

/// Why a node could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot listen on {address} for the {service}: {source} (choose another with --{service} ADDR)")]
    Bind { service: &'static str, address: SocketAddr, source: io::Error },
    #[error(transparent)]
    DataDir(#[from] data_dir::DataDirError),
    #[error("cannot restore apps: {0}")]
    Restore(#[from] cloudlet_control::ControlError),
    #[error("metadata store: {0}")]
    Store(#[from] cloudlet_control::store::StoreError),
    #[error("function runtime: {0}")]
    Functions(String),
    #[error(transparent)]
    Raft(#[from] cloudlet_raft::StorageError),
    #[error(transparent)]
    Kv(#[from] cloudlet_kv::KvError),
    #[error(transparent)]
    Tls(#[from] cloudlet_gateway::tls::TlsError),
}

/// Runs a node until `shutdown` fires, then drains and stops it. `ready` receives the addresses once
/// every listener is up and the stored apps are started.
pub async fn run(
    config: NodeConfig,
    shutdown: CancellationToken,
    ready: oneshot::Sender<Ready>,
) -> Result<(), NodeError> {
    let data_dir = DataDir::open(&config.data_dir)?;
    let token = data_dir.admin_token(config.token.as_deref())?;

    let workers = config.gateway.workers.max(1) as usize;
    let gateway_listeners = cloudlet_gateway::server::bind(config.listen.gateway, workers)
        .map_err(|source| NodeError::Bind { service: "gateway", address: config.listen.gateway, source })?;
    let api_listener = bind("api", config.listen.api).await?;
    let kv_listener = bind("kv", config.listen.kv).await?;
    let cache_listener = bind("cache", config.listen.cache).await?;
    let local = |listener: &TcpListener, fallback| listener.local_addr().unwrap_or(fallback);
    let addresses = Ready {
        gateway: gateway_listeners[0].local_addr().unwrap_or(config.listen.gateway),
        api: local(&api_listener, config.listen.api),
        kv: local(&kv_listener, config.listen.kv),
        cache: local(&cache_listener, config.listen.cache),
        token: token.clone(),
        data_dir: data_dir.path().to_path_buf(),
    };

    let mut registry = Registry::default();
    let gateway_metrics = GatewayMetrics::new(&mut registry);
    let runtime = Runtime::new(RuntimeMetrics::new(&mut registry));
    let routes = Arc::new(RouteTable::new(gateway_metrics.clone()));
    let limits = GatewayLimits {
        max_connections: config.gateway.max_connections as usize,
        header_read_timeout: config.gateway.header_read_timeout,
    };
    let tls = match &config.tls {
        Some(files) => Some(cloudlet_gateway::tls::server_config(&files.cert, &files.key)?),
        None => None,
    };
    let gateway = Gateway::new(routes.clone(), gateway_metrics, limits, tls);
    let node_id = data_dir.node_id()?;
    let raft = Storage::open(&data_dir.raft_dir())?;
    let group = GroupSettings { address: addresses.api.to_string(), ..GroupSettings::default() };
    let kv = Arc::new(Kv::open(&raft, &KvSettings { group: group.clone(), ..KvSettings::default() }).await?);
    let kv_server = RedisServer::new(
        kv.clone(),
        ServerSettings {
            name: "kv",
            password: config.kv.password.clone(),
            limits: Limits::default(),
            max_request_bytes: 1 << 30,
            max_clients: 10_000,
            node_id: node_id.clone(),
            announce: announce_address(addresses.kv),
        },
    );
    let cache = Arc::new(Cache::new(cache_memory(&config) as usize));
    let cache_server = RedisServer::new(
        cache.clone(),
        ServerSettings {
            name: "cache",
            password: config.cache.password.clone(),
            limits: Limits::default(),
            max_request_bytes: 1 << 30,
            max_clients: 10_000,
            node_id,
            announce: announce_address(addresses.cache),
        },
    );
    let store = Arc::new(RaftStore::open(&raft, &group, &data_dir.legacy_meta_dir()).await?);
    let wasm =
        FunctionEngine::new(EngineSettings::default(), data_dir.wasm_cache_dir()).map_err(NodeError::Functions)?;
    let autoscaler = Autoscaler::new(runtime.clone(), &mut registry);
    let control = Arc::new(Control::new(ControlParts {
        apps_dir: data_dir.apps_dir(),
        store: store.clone(),
        runtime: runtime.clone(),
        routes,
        wasm,
        function_metrics: FunctionMetrics::new(&mut registry),
        buckets: Arc::new(NodeBuckets { kv: kv.clone(), cache: cache.clone() }),
        autoscaler: autoscaler.clone(),
        response_cache: ResponseCache::new(Arc::new(CacheResponseStore(cache.clone())), RESPONSE_CACHE_MAX_BODY),
        limits: BundleLimits::default(),
    }));

    let api_shutdown = CancellationToken::new();
    let state = Arc::new(ApiState {
        node: NodeInfo {
            version: env!("CARGO_PKG_VERSION"),
            gateway: addresses.gateway,
            api: addresses.api,
            kv: addresses.kv,
            cache: addresses.cache,
        },
        control: control.clone(),
        runtime: runtime.clone(),
        registry: Arc::new(registry),
        token,
        ready: Default::default(),
        shutdown: api_shutdown.clone(),
    });
    let gateway_task = tokio::spawn(gateway.serve(gateway_listeners, shutdown.clone(), config.shutdown_timeout));
    let api_task = {
        let router = cloudlet_api::router(state.clone());
        let stop = api_shutdown.clone();
        tokio::spawn(async move {
            let serve = axum::serve(api_listener, router).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(error) = serve.await {
                warn!(%error, "control API stopped with an error");
            }
        })
    };
    let data_tasks = [
        tokio::spawn(kv_server.serve(kv_listener, shutdown.clone())),
        tokio::spawn(kv.clone().purge_forever(shutdown.clone())),
        tokio::spawn(cache_server.serve(cache_listener, shutdown.clone())),
        tokio::spawn(cache.purge_forever(shutdown.clone())),
        tokio::spawn(autoscaler.run(shutdown.clone())),
    ];

    let restored = control.restore().await?;
    state.ready.store(true, Ordering::SeqCst);
    info!(apps = restored, gateway = %addresses.gateway, api = %addresses.api, "node ready");
    let _ = ready.send(addresses);

    shutdown.cancelled().await;
    info!("shutting down: draining the gateway");
    let _ = gateway_task.await;
    info!("stopping instances");
    runtime.shutdown().await;
    api_shutdown.cancel();
    let _ = api_task.await;
    for task in data_tasks {
        let _ = task.await;
    }
    kv.shutdown().await;
    store.shutdown().await;
    info!("node stopped");
    Ok(())
}

/// The cache's memory bound: configured, or an eighth of the machine's memory (256 MiB if unknown).
fn cache_memory(config: &NodeConfig) -> u64 {
    config.cache.max_memory.unwrap_or_else(|| {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
            let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
        });
        total.map_or(256 << 20, |total| total / 8)
    })
}

async fn bind(service: &'static str, address: SocketAddr) -> Result<TcpListener, NodeError> {
    TcpListener::bind(address).await.map_err(|source| NodeError::Bind { service, address, source })
}
