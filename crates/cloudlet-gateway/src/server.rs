//! The gateway's listeners: one worker thread per core, each with its own single-threaded runtime,
//! its own `SO_REUSEPORT` listener on the gateway's port and its own upstream connections, so a
//! request is accepted, forwarded and answered on one thread without cross-thread wake-ups (the
//! kernel spreads connections over the listeners). HTTP/1.1 and h2c on the same port, a cap on open
//! connections, and a graceful drain on shutdown: stop accepting, finish in-flight requests, close.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::metrics::GatewayMetrics;
use crate::pool;
use crate::proxy;
use crate::routes::RouteTable;

/// Limits on client connections.
#[derive(Clone, Copy, Debug)]
pub struct GatewayLimits {
    /// Open client connections at most, over all workers; past it, new ones wait in the backlog.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
}

/// The gateway of one node.
pub struct Gateway {
    routes: Arc<RouteTable>,
    metrics: GatewayMetrics,
    limits: GatewayLimits,
    /// Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN) instead of plain HTTP.
    tls: Option<TlsAcceptor>,
}

/// Binds `workers` listening sockets sharing `address` with `SO_REUSEPORT` (port 0: one free port
/// for all of them).
pub fn bind(address: SocketAddr, workers: usize) -> io::Result<Vec<std::net::TcpListener>> {
    let first = reuse_port_listener(address)?;
    let address = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers.max(1) {
        listeners.push(reuse_port_listener(address)?);
    }
    Ok(listeners)
}

fn reuse_port_listener(address: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

impl Gateway {
    pub fn new(
        routes: Arc<RouteTable>,
        metrics: GatewayMetrics,
        limits: GatewayLimits,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Arc<Self> {
        Arc::new(Self { routes, metrics, limits, tls: tls.map(TlsAcceptor::from) })
    }

    pub fn routes(&self) -> &Arc<RouteTable> {
        &self.routes
    }

    /// Serves each listener on its own worker thread until `shutdown` fires, then waits up to
    /// `drain_timeout` for open requests. Returns when every worker has finished.
    pub async fn serve(
        self: Arc<Self>,
        listeners: Vec<std::net::TcpListener>,
        shutdown: CancellationToken,
        drain_timeout: Duration,
    ) {
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
        let mut finished = Vec::new();
        for (index, listener) in listeners.into_iter().enumerate() {
            let (done, finished_receiver) = oneshot::channel::<()>();
            finished.push(finished_receiver);
            let gateway = self.clone();
            let shutdown = shutdown.clone();
            let permits = permits.clone();
            let spawned = std::thread::Builder::new().name(format!("gateway-{index}")).spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        warn!(%error, "gateway worker could not start its runtime");
                        return;
                    }
                };
                pool::set_worker(index);
                runtime.block_on(gateway.worker(listener, permits, shutdown, drain_timeout));
                let _ = done.send(());
            });
            if let Err(error) = spawned {
                warn!(%error, "gateway worker thread could not start");
            }
        }
        for worker in finished {
            let _ = worker.await;
        }
    }

    async fn worker(
        self: Arc<Self>,
        listener: std::net::TcpListener,
        permits: Arc<Semaphore>,
        shutdown: CancellationToken,
        drain_timeout: Duration,
    ) {
        let listener = match TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => {
                warn!(%error, "gateway worker could not register its listener");
                return;
            }
        };
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(self.limits.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(256)
            // Dead or silent HTTP/2 connections are closed instead of holding a connection slot.
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(20));
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
            let first_bytes = self.limits.header_read_timeout;
            let gateway = self.clone();
            let secure = self.tls.is_some();
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                async move {
                    Ok::<_, Infallible>(proxy::handle(&gateway.routes, &gateway.metrics, request, remote, secure).await)
                }
            });
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let metrics = self.metrics.clone();
            let tls = self.tls.clone();
            metrics.connection_opened();
            tokio::spawn(async move {
                // A client that connects and sends nothing would hold its slot before hyper's own
                // header timeout starts (protocol detection has no timer): give it the same time.
                if let Ok(Ok(())) = tokio::time::timeout(first_bytes, stream.readable()).await {
                    let served = match tls {
                        None => {
                            watcher
                                .watch(
                                    builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned(),
                                )
                                .await
                        }
                        // The handshake is bounded by the same time as the first bytes.
                        Some(tls) => match tokio::time::timeout(first_bytes, tls.accept(stream)).await {
                            Ok(Ok(stream)) => {
                                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                                watcher.watch(connection.into_owned()).await
                            }
                            Ok(Err(error)) => {
                                debug!(%remote, %error, "TLS handshake failed");
                                Ok(())
                            }
                            Err(_) => Ok(()),
                        },
                    };
                    if let Err(error) = served {
                        debug!(%remote, %error, "client connection ended with an error");
                    }
                }
                metrics.connection_closed();
                drop(permit);
            });
        }
        drop(listener);
        let open = graceful.count();
        if open > 0 {
            info!(open, "gateway worker draining connections");
        }
        if tokio::time::timeout(drain_timeout, graceful.shutdown()).await.is_err() {
            warn!("gateway drain timed out; closing remaining connections");
        }
    }
}
