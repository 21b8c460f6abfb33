//! The gateway's listener: HTTP/1.1 and h2c on one port, a cap on open connections, and a graceful
//! drain on shutdown (stop accepting, let in-flight requests finish, close idle connections).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::metrics::GatewayMetrics;
use crate::proxy;
use crate::routes::RouteTable;

/// Limits on client connections.
#[derive(Clone, Copy, Debug)]
pub struct GatewayLimits {
    /// Open client connections at most; past it, new ones wait in the listen backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
}

/// The gateway of one node.
pub struct Gateway {
    routes: Arc<RouteTable>,
    metrics: GatewayMetrics,
    limits: GatewayLimits,
}

impl Gateway {
    pub fn new(routes: Arc<RouteTable>, metrics: GatewayMetrics, limits: GatewayLimits) -> Arc<Self> {
        Arc::new(Self { routes, metrics, limits })
    }

    pub fn routes(&self) -> &Arc<RouteTable> {
        &self.routes
    }

    /// Serves `listener` until `shutdown` fires, then waits up to `drain_timeout` for open requests.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: CancellationToken, drain_timeout: Duration) {
        let graceful = GracefulShutdown::new();
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout);
        builder.http2().timer(TokioTimer::new()).max_concurrent_streams(256);
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let (stream, remote) = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        warn!(%error, "gateway accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let gateway = self.clone();
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(proxy::handle(&gateway.routes, &gateway.metrics, request, remote).await) }
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
            let connection = graceful.watch(connection);
            let metrics = self.metrics.clone();
            metrics.connection_opened();
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    debug!(%remote, %error, "client connection ended with an error");
                }
                metrics.connection_closed();
                drop(permit);
            });
        }
        drop(listener);
        let open = graceful.count();
        if open > 0 {
            info!(open, "gateway draining connections");
        }
        if tokio::time::timeout(drain_timeout, graceful.shutdown()).await.is_err() {
            warn!("gateway drain timed out; closing remaining connections");
        }
    }
}

/// Binds the gateway's listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}
