//! Protocol upgrades (WebSocket, and any other `Connection: upgrade`) passed through to an instance.
//!
//! The request goes up on a connection of its own (never a pooled one) with its `Upgrade` and
//! `Connection` headers kept. If the instance answers `101 Switching Protocols`, the client gets that
//! answer and both connections become one byte tunnel until either side closes it; the request
//! stays in flight on the instance (so a drain waits for it) for as long as the tunnel is open. Any
//! other answer is passed on as an ordinary response.

use std::net::SocketAddr;
use std::time::Instant;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::debug;

use crate::body::{RequestBody, ResponseBody};
use crate::error::GatewayError;
use crate::upstream::{InFlight, Outcome, Upstream};

/// Whether a request asks to switch protocols (HTTP/1.1 `Connection: upgrade` with `Upgrade`).
pub(crate) fn is_upgrade(request: &Request<Incoming>) -> bool {
    request.version() == Version::HTTP_11
        && request.headers().contains_key(header::UPGRADE)
        && connection_has(request.headers(), "upgrade")
}

fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Sends an upgrade request (its headers already prepared for upstream, `upgrade` the protocol
/// asked for) to the endpoint of `in_flight` and, on `101`, joins the two connections.
pub(crate) async fn forward(
    upstream: &Upstream,
    balancing: &crate::upstream::Balancing,
    in_flight: InFlight,
    mut request: Request<Incoming>,
    upgrade: HeaderValue,
) -> Result<Response<ResponseBody>, GatewayError> {
    let endpoint = in_flight.endpoint().clone();
    let unreachable = || GatewayError::Connect { upstream: upstream.name().to_string() };
    let client_side = hyper::upgrade::on(&mut request);
    let started = Instant::now();
    let stream = TcpStream::connect(endpoint.address()).await.map_err(|_| {
        upstream.record(&endpoint, Outcome::Failed, balancing);
        unreachable()
    })?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) =
        http1::handshake::<_, RequestBody>(TokioIo::new(stream)).await.map_err(|_| unreachable())?;
    tokio::spawn(async move {
        if let Err(error) = connection.with_upgrades().await {
            debug!(%error, "upgraded upstream connection ended");
        }
    });
    let (mut parts, _) = request.into_parts();
    parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(header::UPGRADE, upgrade.clone());
    let mut response = match sender.send_request(Request::from_parts(parts, RequestBody::Empty)).await {
        Ok(response) => response,
        Err(error) => {
            upstream.record(&endpoint, Outcome::Failed, balancing);
            debug!(%error, "upgrade request failed");
            return Err(GatewayError::Upstream { upstream: upstream.name().to_string() });
        }
    };
    let outcome = if response.status().is_server_error() {
        Outcome::ServerError(started.elapsed())
    } else {
        Outcome::Answered(started.elapsed())
    };
    upstream.record(&endpoint, outcome, balancing);
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (parts, body) = response.into_parts();
        return Ok(Response::from_parts(parts, ResponseBody::streamed(body)));
    }
    let upstream_side = hyper::upgrade::on(&mut response);
    let peer = endpoint.address();
    tokio::spawn(tunnel(client_side, upstream_side, in_flight, peer));
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    parts.headers.insert(header::UPGRADE, upgrade);
    Ok(Response::from_parts(parts, ResponseBody::full(bytes::Bytes::new())))
}

/// Copies bytes both ways until either side closes; the request stays in flight until then.
async fn tunnel(
    client: hyper::upgrade::OnUpgrade,
    upstream: hyper::upgrade::OnUpgrade,
    in_flight: InFlight,
    peer: SocketAddr,
) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(error) => {
            debug!(%peer, %error, "upgrade did not complete");
            return;
        }
    };
    let (mut client, mut upstream) = (TokioIo::new(client), TokioIo::new(upstream));
    if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        debug!(%peer, %error, "upgraded connection ended with an error");
    }
    drop(in_flight);
}
