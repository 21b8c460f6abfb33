//! The listener: accepts clients up to a limit and runs each connection until it ends or the node
//! stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cloudlet_resp::Limits;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::backend::Backend;
use crate::connection;

/// How one listener behaves.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    /// `kv` or `cache`, for INFO and logs.
    pub name: &'static str,
    /// When set, clients must `AUTH` (or `HELLO … AUTH`) before anything else.
    pub password: Option<String>,
    pub limits: Limits,
    /// Bytes a client may have buffered without sending a complete command.
    pub max_request_bytes: usize,
    /// Connected clients at most; more get `-ERR max number of clients reached`.
    pub max_clients: usize,
    /// This node's cluster id: 40 hex characters.
    pub node_id: String,
    /// The address clients reach this listener at (what `CLUSTER SLOTS` announces).
    pub announce: SocketAddr,
}

/// Counters for `INFO`.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) connections_received: AtomicU64,
    pub(crate) connected: AtomicU64,
    pub(crate) commands: AtomicU64,
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
}

/// A RESP listener over a backend.
pub struct RedisServer<B> {
    pub(crate) backend: Arc<B>,
    pub(crate) settings: ServerSettings,
    pub(crate) stats: Stats,
    next_client: AtomicU64,
    pub(crate) started: std::time::Instant,
}

impl<B: Backend> RedisServer<B> {
    pub fn new(backend: Arc<B>, settings: ServerSettings) -> Arc<Self> {
        Arc::new(Self {
            backend,
            settings,
            stats: Stats::default(),
            next_client: AtomicU64::new(1),
            started: std::time::Instant::now(),
        })
    }

    pub fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    /// Serves `listener` until `shutdown` fires; open connections end at their next command boundary.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken) {
        let clients = Arc::new(Semaphore::new(self.settings.max_clients));
        loop {
            let (mut stream, peer) = tokio::select! {
                () = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        warn!(%error, listener = self.settings.name, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            self.stats.connections_received.fetch_add(1, Ordering::Relaxed);
            let Ok(permit) = clients.clone().try_acquire_owned() else {
                self.stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                });
                continue;
            };
            let _ = stream.set_nodelay(true);
            let server = self.clone();
            let shutdown = shutdown.clone();
            let id = self.next_client.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                server.stats.connected.fetch_add(1, Ordering::Relaxed);
                if let Err(error) = connection::run(&server, stream, peer, id, shutdown).await {
                    debug!(%peer, %error, "client connection ended with an error");
                }
                server.stats.connected.fetch_sub(1, Ordering::Relaxed);
                drop(permit);
            });
        }
    }
}

/// The address a listener announces: its bound address, with an unspecified IP replaced by loopback.
pub fn announce_address(bound: SocketAddr) -> SocketAddr {
    if bound.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], bound.port())) } else { bound }
}
