//! The bodies the gateway sends: the client's request body on its way up, and responses on their way
//! back, which keep their upstream connection leased until the last byte is out.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Limited;
use hyper::body::Incoming;

use crate::pool::Lease;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body forwarded upstream.
pub(crate) enum RequestBody {
    /// The client's body, cut off with an error past the route's limit.
    Client(Limited<Incoming>),
    /// The client's body, also copied into a bounded replay buffer so the request can be retried.
    Recorded(Limited<Incoming>, Arc<Recording>),
    /// A body replayed from its recording.
    Replayed(Option<Bytes>),
    /// No body (also used to replay a bodiless request on another instance).
    Empty,
}

/// The copy of a request body kept for a retry: at most `limit` bytes, usable once the whole body
/// went through it.
pub(crate) struct Recording {
    limit: usize,
    /// `None` once the body turned out longer than the limit (or had trailers): not replayable.
    buffer: Mutex<Option<BytesMut>>,
    complete: AtomicBool,
}

impl Recording {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, buffer: Mutex::new(Some(BytesMut::new())), complete: AtomicBool::new(false) })
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Option<BytesMut>> {
        self.buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, frame: &Frame<Bytes>) {
        let mut buffer = self.buffer();
        match (frame.data_ref(), buffer.as_mut()) {
            (Some(data), Some(copy)) if copy.len() + data.len() <= self.limit => copy.extend_from_slice(data),
            (_, Some(_)) => *buffer = None,
            (_, None) => {}
        }
    }

    /// The whole body, if it was read to the end within the limit.
    pub(crate) fn replay(&self) -> Option<RequestBody> {
        if !self.complete.load(Ordering::SeqCst) {
            return None;
        }
        self.buffer().as_ref().map(|copy| RequestBody::Replayed(Some(copy.clone().freeze())))
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RequestBody::Client(body) => Pin::new(body).poll_frame(cx),
            RequestBody::Recorded(body, recording) => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Ok(frame))) => recording.record(frame),
                    Poll::Ready(None) => recording.complete.store(true, Ordering::SeqCst),
                    _ => {}
                }
                // A body of known length is not polled past its last frame.
                if body.is_end_stream() {
                    recording.complete.store(true, Ordering::SeqCst);
                }
                polled
            }
            RequestBody::Replayed(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            RequestBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Client(body) | RequestBody::Recorded(body, _) => body.is_end_stream(),
            RequestBody::Replayed(bytes) => bytes.is_none(),
            RequestBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Client(body) | RequestBody::Recorded(body, _) => body.size_hint(),
            RequestBody::Replayed(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            RequestBody::Replayed(None) | RequestBody::Empty => SizeHint::with_exact(0),
        }
    }
}

/// A response body sent to a client.
pub struct ResponseBody {
    kind: Kind,
}

enum Kind {
    /// A body the gateway made itself (errors).
    Full(Option<Bytes>),
    /// A streamed body made in this process (functions).
    Boxed(http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>),
    /// An upstream body; the lease returns the connection to its pool once the body is complete.
    Upstream { body: Incoming, lease: Option<Lease> },
}

impl ResponseBody {
    /// A body of known bytes.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self { kind: Kind::Full(Some(bytes.into())) }
    }

    /// A streamed body; an error ends the response abruptly.
    pub fn streamed<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        use http_body_util::BodyExt;
        Self { kind: Kind::Boxed(body.map_err(Into::into).boxed_unsync()) }
    }

    pub(crate) fn upstream(body: Incoming, lease: Lease) -> Self {
        Self { kind: Kind::Upstream { body, lease: Some(lease) } }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Kind::Boxed(body) => Pin::new(body).poll_frame(cx),
            Kind::Upstream { body, lease } => {
                let polled = Pin::new(body).poll_frame(cx).map_err(Into::into);
                match &polled {
                    Poll::Ready(None) => {
                        if let Some(lease) = lease.take() {
                            lease.release();
                        }
                    }
                    Poll::Ready(Some(Err(_))) => drop(lease.take()),
                    _ => {}
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Boxed(body) => body.is_end_stream(),
            Kind::Upstream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Kind::Full(None) => SizeHint::with_exact(0),
            Kind::Boxed(body) => body.size_hint(),
            Kind::Upstream { body, .. } => body.size_hint(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        // A body that was complete before it was ever polled (empty, HEAD, 204) still frees its connection.
        if let Kind::Upstream { body, lease } = &mut self.kind
            && body.is_end_stream()
            && let Some(lease) = lease.take()
        {
            lease.release();
        }
    }
}
