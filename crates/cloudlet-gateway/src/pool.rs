//! Connections to one endpoint, one set per gateway worker thread: kept-alive HTTP/1.1 connections,
//! or one multiplexed HTTP/2 (h2c) connection for instances that speak it (`protocol = "h2c"`).
//!
//! A connection's driver task runs on the worker that opened it, so each worker reuses only its own
//! connections: a request never wakes another thread.
//!
//! An HTTP/1.1 connection is leased for one request and comes back to the pool only when its
//! response body has been read to the end; a connection whose response was abandoned is closed
//! instead, so a half-read response can never leak into the next request. An HTTP/2 connection is
//! shared by every request of its worker.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tracing::debug;

use crate::body::RequestBody;
use crate::upstream::InFlight;

/// Most idle connections kept per endpoint; more are closed when they come back.
const MAX_IDLE: usize = 256;
/// Time to open a TCP connection to an instance on this node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a just-returned connection may take to be ready for its next request.
const READY_TIMEOUT: Duration = Duration::from_millis(500);
/// Idle connections older than this are closed rather than reused: many servers close idle
/// keep-alive connections after a few seconds, and a request written just as they do fails.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Worker slots per endpoint; workers beyond it share slots (correct, just less local).
const WORKER_SLOTS: usize = 16;

/// How the gateway talks to an instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with keep-alive (the default).
    #[default]
    Http1,
    /// HTTP/2 without TLS, by prior knowledge (gRPC servers, h2c apps).
    H2c,
}

/// A connection to send one request on.
pub(crate) enum Sender {
    Http1(http1::SendRequest<RequestBody>),
    Http2(http2::SendRequest<RequestBody>),
}

/// A request that was not sent, handed back, or the error.
pub(crate) type TrySendError = hyper::client::conn::TrySendError<http::Request<RequestBody>>;

impl Sender {
    fn is_ready(&self) -> bool {
        match self {
            Sender::Http1(sender) => sender.is_ready(),
            Sender::Http2(sender) => sender.is_ready(),
        }
    }

    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(sender) => sender.is_closed(),
            Sender::Http2(sender) => sender.is_closed(),
        }
    }

    async fn ready(&mut self) -> hyper::Result<()> {
        match self {
            Sender::Http1(sender) => sender.ready().await,
            Sender::Http2(sender) => sender.ready().await,
        }
    }

    pub(crate) async fn try_send_request(
        &mut self,
        request: http::Request<RequestBody>,
    ) -> Result<http::Response<hyper::body::Incoming>, TrySendError> {
        match self {
            Sender::Http1(sender) => sender.try_send_request(request).await,
            Sender::Http2(sender) => sender.try_send_request(request).await,
        }
    }
}

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// Marks the current thread as gateway worker `index`.
pub(crate) fn set_worker(index: usize) {
    WORKER.with(|worker| worker.set(index % WORKER_SLOTS));
}

/// The idle connections of one endpoint, by worker, oldest first (HTTP/1.1); or each worker's one
/// shared connection (HTTP/2).
pub(crate) struct Pool {
    address: SocketAddr,
    protocol: Protocol,
    idle: [Mutex<VecDeque<(Sender, Instant)>>; WORKER_SLOTS],
    shared: [Mutex<Option<http2::SendRequest<RequestBody>>>; WORKER_SLOTS],
}

impl Pool {
    pub(crate) fn new(address: SocketAddr, protocol: Protocol) -> Self {
        Self {
            address,
            protocol,
            idle: std::array::from_fn(|_| Mutex::new(VecDeque::new())),
            shared: std::array::from_fn(|_| Mutex::new(None)),
        }
    }

    pub(crate) fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Option<http2::SendRequest<RequestBody>>> {
        let slot = &self.shared[WORKER.with(Cell::get)];
        slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection ready for a request, if there is one.
    pub(crate) async fn take_idle(&self) -> Option<Sender> {
        if self.protocol == Protocol::H2c {
            let mut sender = self.shared().clone().filter(|sender| !sender.is_closed())?;
            return match sender.ready().await {
                Ok(()) => Some(Sender::Http2(sender)),
                Err(_) => None,
            };
        }
        loop {
            let (mut sender, since) = self.lock().pop_back()?;
            if since.elapsed() >= IDLE_TIMEOUT {
                continue;
            }
            if sender.is_ready() {
                return Some(sender);
            }
            if sender.is_closed() {
                continue;
            }
            if let Ok(Ok(())) = tokio::time::timeout(READY_TIMEOUT, sender.ready()).await {
                return Some(sender);
            }
        }
    }

    /// Opens a new connection.
    pub(crate) async fn connect(&self) -> io::Result<Sender> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(self.address))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let address = self.address;
        if self.protocol == Protocol::H2c {
            let (sender, connection) =
                http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.map_err(io::Error::other)?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    debug!(%address, %error, "upstream HTTP/2 connection ended");
                }
            });
            *self.shared() = Some(sender.clone());
            return Ok(Sender::Http2(sender));
        }
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(io::Error::other)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%address, %error, "upstream connection ended");
            }
        });
        Ok(Sender::Http1(sender))
    }

    fn put(&self, sender: Sender) {
        // An HTTP/2 connection stays shared; only HTTP/1.1 ones come back.
        if sender.is_closed() || matches!(sender, Sender::Http2(_)) {
            return;
        }
        let mut idle = self.lock();
        while idle.front().is_some_and(|(_, since)| since.elapsed() >= IDLE_TIMEOUT) {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back((sender, Instant::now()));
        }
    }

    /// Closes every idle connection.
    pub(crate) fn clear(&self) {
        for slot in &self.idle {
            slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        }
        for slot in &self.shared {
            slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        }
    }

    /// This worker's idle connections.
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Sender, Instant)>> {
        let slot = &self.idle[WORKER.with(Cell::get)];
        slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection in use by one request, and that request's in-flight count.
pub(crate) struct Lease {
    sender: Sender,
    in_flight: InFlight,
}

impl Lease {
    pub(crate) fn new(sender: Sender, in_flight: InFlight) -> Self {
        Self { sender, in_flight }
    }

    /// The response is complete: the connection goes back to its pool.
    pub(crate) fn release(self) {
        self.in_flight.endpoint().pool.put(self.sender);
    }
}
