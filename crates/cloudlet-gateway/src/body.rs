//! The bodies the gateway sends: the client's request body on its way up, and responses on their way
//! back, which keep their upstream connection leased until the last byte is out.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::Limited;
use hyper::body::Incoming;

use crate::pool::Lease;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body forwarded upstream.
pub(crate) enum RequestBody {
    /// The client's body, cut off with an error past the route's limit.
    Client(Limited<Incoming>),
    /// No body (also used to replay a bodiless request on another instance).
    Empty,
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RequestBody::Client(body) => Pin::new(body).poll_frame(cx),
            RequestBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Client(body) => body.is_end_stream(),
            RequestBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Client(body) => body.size_hint(),
            RequestBody::Empty => SizeHint::with_exact(0),
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
