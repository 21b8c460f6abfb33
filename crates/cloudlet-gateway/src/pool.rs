//! Kept-alive HTTP/1 connections to one endpoint, one set per gateway worker thread.
//!
//! A connection's driver task runs on the worker that opened it, so each worker reuses only its own
//! connections: a request never wakes another thread.
//!
//! A connection is leased for one request and comes back to the pool only when its response body
//! has been read to the end; a connection whose response was abandoned is closed instead, so a
//! half-read response can never leak into the next request.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
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

pub(crate) type Sender = http1::SendRequest<RequestBody>;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// Marks the current thread as gateway worker `index`.
pub(crate) fn set_worker(index: usize) {
    WORKER.with(|worker| worker.set(index % WORKER_SLOTS));
}

/// The idle connections of one endpoint, by worker, oldest first.
pub(crate) struct Pool {
    address: SocketAddr,
    idle: [Mutex<VecDeque<(Sender, Instant)>>; WORKER_SLOTS],
}

impl Pool {
    pub(crate) fn new(address: SocketAddr) -> Self {
        Self { address, idle: std::array::from_fn(|_| Mutex::new(VecDeque::new())) }
    }

    /// An idle connection ready for a request, if there is one.
    pub(crate) async fn take_idle(&self) -> Option<Sender> {
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
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(io::Error::other)?;
        let address = self.address;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%address, %error, "upstream connection ended");
            }
        });
        Ok(sender)
    }

    fn put(&self, sender: Sender) {
        if sender.is_closed() {
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
