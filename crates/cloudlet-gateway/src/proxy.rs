//! Forwarding one request: route, pick an instance, rewrite headers, send, and retry once elsewhere
//! when that is safe.
//!
//! Retries: a request is sent a second time, to a different instance, when
//! - the first instance could not be connected to (nothing was sent), or
//! - an idle kept-alive connection turned out closed before the request was written (hyper hands the
//!   request back), which is retried on another connection without counting as the one retry, or
//! - the connection broke before any response to an idempotent request without a body; when the
//!   broken connection was a kept-alive one and no other instance is ready, the same instance is
//!   tried again on a fresh connection.
//!
//! Everything else is answered with the error, never retried: a request with a body may have been
//! partly consumed, and a non-idempotent one may have had effects.

use std::error::Error as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, Uri, Version};
use http_body::Body;
use http_body_util::{LengthLimitError, Limited};
use hyper::body::Incoming;

use crate::admission::Refusal;
use crate::balance::{HashOn, Policy, Verdict};
use crate::body::{Recording, RequestBody, ResponseBody};
use crate::cache::{Fetch, ResponseCache};
use crate::error::GatewayError;
use crate::metrics::{GatewayMetrics, RetryReason};
use crate::pool::{Lease, Protocol};
use crate::request_id;
use crate::routes::{ActiveRoute, RouteTable, Target, request_host};
use crate::upgrade;
use crate::upstream::{InFlight, Outcome, Unavailable, Upstream};

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
static X_REQUEST_ID: HeaderName = HeaderName::from_static(request_id::HEADER);

/// Answers one client request.
pub(crate) async fn handle(
    routes: &RouteTable,
    metrics: &GatewayMetrics,
    request: Request<Incoming>,
    client: SocketAddr,
    secure: bool,
) -> Response<ResponseBody> {
    let started = Instant::now();
    let mut request = request;
    if secure {
        request.extensions_mut().insert(ArrivedOverTls);
    }
    let request_id = request_id::for_request(request.headers());
    let Some(route) = routes.lookup(request_host(&request), request.uri().path()) else {
        metrics.unrouted(404);
        return with_request_id(GatewayError::NoRoute.into_response(), request_id);
    };
    let _admitted = match route.config.admission.as_ref().map(|admission| admission.admit(client.ip())) {
        Some(Err(refusal)) => {
            let error = match refusal {
                Refusal::RateLimited { client, retry_after } => GatewayError::RateLimited { client, retry_after },
                Refusal::Overloaded { limit } => GatewayError::Overloaded { limit },
            };
            let response = error.into_response();
            route.metrics.record(response.status().as_u16(), started.elapsed());
            return with_request_id(response, request_id);
        }
        Some(Ok(admitted)) => Some(admitted),
        None => None,
    };
    let in_flight = InFlightGauge::enter(&route.metrics.in_flight);
    let response = match &route.config.target {
        Target::Proxy(upstream) => match upstream.wait_for_endpoint().await {
            Err(unavailable) => {
                let upstream = upstream.name().to_string();
                match unavailable {
                    Unavailable::TimedOut(limit) => GatewayError::ActivationTimeout { upstream, limit },
                    Unavailable::QueueFull => GatewayError::ActivationQueueFull { upstream },
                }
                .into_response()
            }
            Ok(()) => match &route.config.response_cache {
                Some(cache) => cached(&route, cache, request, client, &request_id).await,
                None => proxied(&route, upstream, request, client, &request_id).await,
            },
        },
        Target::Handler(handler) => {
            let max_body = route.config.max_body;
            if declared_length(request.headers()).is_some_and(|length| length > max_body) {
                GatewayError::BodyTooLarge { limit: max_body }.into_response()
            } else {
                let mut request = request;
                request.headers_mut().insert(X_REQUEST_ID.clone(), request_id.clone());
                handler.handle(request, client).await
            }
        }
    };
    drop(in_flight);
    route.metrics.record(response.status().as_u16(), started.elapsed());
    with_request_id(response, request_id)
}

/// Forwards within the route's timeout.
async fn proxied(
    route: &ActiveRoute,
    upstream: &Upstream,
    request: Request<Incoming>,
    client: SocketAddr,
    request_id: &HeaderValue,
) -> Response<ResponseBody> {
    let limit = route.config.timeout;
    match tokio::time::timeout(limit, forward(route, upstream, request, client, request_id)).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => error.into_response(),
        Err(_) => GatewayError::Timeout { limit }.into_response(),
    }
}

/// A request to a route with a response cache: bodiless GET and HEAD requests go through the cache;
/// others are forwarded, and a successful unsafe one removes the URL's stored response.
async fn cached(
    route: &Arc<ActiveRoute>,
    cache: &Arc<ResponseCache>,
    request: Request<Incoming>,
    client: SocketAddr,
    request_id: &HeaderValue,
) -> Response<ResponseBody> {
    let Target::Proxy(upstream) = &route.config.target else { return GatewayError::NoRoute.into_response() };
    // No key for a request whose host is not a plain host name: it could alias another URL's key.
    let Some(key) = cache_key(route, &request) else {
        return proxied(route, upstream, request, client, request_id).await;
    };
    let cacheable = matches!(*request.method(), Method::GET | Method::HEAD)
        && request.body().is_end_stream()
        && !upgrade::is_upgrade(&request);
    if !cacheable {
        let safe = request.method().is_safe();
        let response = proxied(route, upstream, request, client, request_id).await;
        if !safe && (response.status().is_success() || response.status().is_redirection()) {
            cache.invalidate(key).await;
        }
        return response;
    }
    let (mut parts, _) = request.into_parts();
    prepare_upstream_request(&mut parts, client, request_id);
    let fetch_route = route.clone();
    let fetch: Fetch = Arc::new(move |parts: Parts| {
        let route = fetch_route.clone();
        Box::pin(async move {
            let Target::Proxy(upstream) = &route.config.target else { return Err(GatewayError::NoRoute) };
            let limit = route.config.timeout;
            tokio::time::timeout(limit, send_prepared(&route, upstream, parts, RequestBody::Empty, client))
                .await
                .unwrap_or(Err(GatewayError::Timeout { limit }))
        })
    });
    let (response, lookup) = cache.serve(key, parts, fetch).await;
    route.metrics.cache(lookup);
    response
}

/// Where a route's responses are stored: its app, the scheme, the host (lower-case) and the target —
/// or none when the host is not a plain host name (letters, digits, `.`, `-`, or an IP literal), so
/// that no crafted `Host` can make one URL's key equal another's.
fn cache_key(route: &ActiveRoute, request: &Request<Incoming>) -> Option<String> {
    let host = request_host(request).unwrap_or("").to_ascii_lowercase();
    if !host.bytes().all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte)) {
        return None;
    }
    let scheme = if request.extensions().get::<ArrivedOverTls>().is_some() { "https" } else { "http" };
    let target = request.uri().path_and_query().map_or("/", |target| target.as_str());
    Some(format!("http:{}:{scheme}://{host}{target}", route.config.app))
}

/// Counts a request in the route's in-flight gauge until dropped (also when the client goes away).
struct InFlightGauge<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> InFlightGauge<'a> {
    fn enter(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlightGauge<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn with_request_id(mut response: Response<ResponseBody>, request_id: HeaderValue) -> Response<ResponseBody> {
    response.headers_mut().insert(X_REQUEST_ID.clone(), request_id);
    response
}

async fn forward(
    route: &ActiveRoute,
    upstream: &Upstream,
    request: Request<Incoming>,
    client: SocketAddr,
    request_id: &HeaderValue,
) -> Result<Response<ResponseBody>, GatewayError> {
    let max_body = route.config.max_body;
    if declared_length(request.headers()).is_some_and(|length| length > max_body) {
        return Err(GatewayError::BodyTooLarge { limit: max_body });
    }
    let balancing = &route.config.balance;
    let key = hash_key(&balancing.policy, request.headers(), client);
    let key = key.as_deref();
    let no_instance = || GatewayError::NoHealthyInstance { upstream: upstream.name().to_string() };
    let upgrade = upgrade::is_upgrade(&request).then(|| request.headers().get(header::UPGRADE).cloned()).flatten();
    let (mut parts, body) = request.into_parts();
    prepare_upstream_request(&mut parts, client, request_id);
    if let Some(upgrade) = upgrade {
        let in_flight = upstream.pick(balancing, None, key).ok_or_else(no_instance)?;
        return upgrade::forward(upstream, balancing, in_flight, Request::from_parts(parts, body), upgrade).await;
    }
    let body = if body.is_end_stream() {
        RequestBody::Empty
    } else {
        RequestBody::Client(Limited::new(body, clamp(max_body)))
    };
    send_prepared(route, upstream, parts, body, client).await
}

/// Sends a request whose head is ready for upstream, retrying on another instance when that is safe
/// and the route's retry policy and budget allow: after a failed connect (nothing was sent), and for
/// idempotent requests whose body can be replayed, after a broken connection or a configured status.
async fn send_prepared(
    route: &ActiveRoute,
    upstream: &Upstream,
    parts: Parts,
    body: RequestBody,
    client: SocketAddr,
) -> Result<Response<ResponseBody>, GatewayError> {
    let max_body = route.config.max_body;
    let policy = &route.config.retry;
    let balancing = &route.config.balance;
    let key = hash_key(&balancing.policy, &parts.headers, client);
    let key = key.as_deref();
    route.count_request();
    let idempotent = is_idempotent(&parts.method);
    // An idempotent request's body is copied (up to the replay buffer) so it can be sent again.
    let recording = match &body {
        RequestBody::Client(_) if idempotent && policy.attempts > 1 && policy.replay_buffer > 0 => {
            Some(Recording::new(policy.replay_buffer))
        }
        _ => None,
    };
    let body = match (body, &recording) {
        (RequestBody::Client(body), Some(recording)) => RequestBody::Recorded(body, recording.clone()),
        (body, _) => body,
    };
    let bodiless = body.is_end_stream();
    let template = clone_parts(&parts);
    let replay = || {
        if !idempotent {
            return None;
        }
        let body = if bodiless { Some(RequestBody::Empty) } else { recording.as_ref()?.replay() };
        body.map(|body| Request::from_parts(clone_parts(&template), body))
    };

    let mut request = Request::from_parts(parts, body);
    let Some(mut in_flight) = upstream.pick(balancing, None, key) else {
        return Err(GatewayError::NoHealthyInstance { upstream: upstream.name().to_string() });
    };
    let mut attempt = 1;
    loop {
        let endpoint = in_flight.endpoint().clone();
        let connection = if attempt == 1 { Connection::Any } else { Connection::Fresh };
        // What to send next if this try is to be retried, why, and what to answer if it is not.
        let (next, reason, reused, answer) = match send(route, upstream, in_flight, request, connection).await {
            Ok(response) if idempotent && policy.statuses.contains(&response.status().as_u16()) => match replay() {
                Some(next) => (next, RetryReason::Status, false, Ok(response)),
                None => return Ok(response),
            },
            Ok(response) => return Ok(response),
            Err(SendError::NotSent(unsent)) => {
                let error = GatewayError::Connect { upstream: upstream.name().to_string() };
                (*unsent, RetryReason::Connect, false, Err(error))
            }
            Err(SendError::Failed { error, reused }) => match replay() {
                Some(next) if !is_body_limit(&error) => {
                    (next, RetryReason::Reset, reused, Err(failure(upstream.name(), &error, max_body)))
                }
                _ => return Err(failure(upstream.name(), &error, max_body)),
            },
        };
        if attempt >= policy.attempts {
            return answer;
        }
        // Another instance if there is one; else, when a kept-alive connection broke under the
        // request (the instance closed it as we wrote), the same instance on a fresh connection.
        // Nowhere to go, or no budget: the answer stands as it came.
        let next_pick = upstream
            .pick(balancing, Some(&endpoint), key)
            .or_else(|| if reused { upstream.pick(balancing, None, key) } else { None });
        let Some(next_in_flight) = next_pick else { return answer };
        if !route.may_retry() {
            return answer;
        }
        // The answer that is not sent is dropped here: its connection closes rather than returning to a pool.
        drop(answer);
        route.metrics.retried(reason);
        request = next;
        in_flight = next_in_flight;
        attempt += 1;
    }
}

enum SendError {
    /// Nothing reached the instance; the request comes back intact.
    NotSent(Box<Request<RequestBody>>),
    /// The request was (at least partly) sent and then failed, on a reused or a new connection.
    Failed { error: hyper::Error, reused: bool },
}

/// Which connection a request may use.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// An idle kept-alive one if there is one, else a new one.
    Any,
    /// A new one (after a kept-alive connection failed).
    Fresh,
}

/// Sends the request to the endpoint `in_flight` was taken on, and tells `upstream` how it went.
async fn send(
    route: &ActiveRoute,
    upstream: &Upstream,
    in_flight: InFlight,
    request: Request<RequestBody>,
    connection: Connection,
) -> Result<Response<ResponseBody>, SendError> {
    let started = Instant::now();
    let endpoint = in_flight.endpoint().clone();
    let result = send_to(in_flight, request, connection).await;
    let outcome = match &result {
        Ok(response) if response.status().is_server_error() => Some(Outcome::ServerError(started.elapsed())),
        Ok(_) => Some(Outcome::Answered(started.elapsed())),
        // The client's own doing (a body over the limit, an upload cut off): says nothing of the instance.
        Err(SendError::Failed { error, .. }) if error.is_user() || is_body_limit(error) => None,
        Err(_) => Some(Outcome::Failed),
    };
    if let Some(outcome) = outcome
        && let Verdict::Ejected(_) = upstream.record(&endpoint, outcome, &route.config.balance)
    {
        route.metrics.ejected();
    }
    result
}

async fn send_to(
    in_flight: InFlight,
    mut request: Request<RequestBody>,
    connection: Connection,
) -> Result<Response<ResponseBody>, SendError> {
    let pool = &in_flight.endpoint().pool;
    if pool.protocol() == Protocol::H2c {
        to_http2(&mut request);
    }
    let reuse = connection == Connection::Any;
    while let Some(mut sender) = if reuse { pool.take_idle().await } else { None } {
        match sender.try_send_request(request).await {
            Ok(response) => return Ok(finish(response, Lease::new(sender, in_flight))),
            Err(mut error) => match error.take_message() {
                Some(unsent) => request = unsent, // closed before we wrote: try the next connection
                None => return Err(SendError::Failed { error: error.into_error(), reused: true }),
            },
        }
    }
    let Ok(mut sender) = pool.connect().await else {
        return Err(SendError::NotSent(Box::new(request)));
    };
    match sender.try_send_request(request).await {
        Ok(response) => Ok(finish(response, Lease::new(sender, in_flight))),
        Err(mut error) => match error.take_message() {
            Some(unsent) => Err(SendError::NotSent(Box::new(unsent))),
            None => Err(SendError::Failed { error: error.into_error(), reused: false }),
        },
    }
}

/// The bytes a consistent-hash route keys this request on, if it has them.
fn hash_key(policy: &Policy, headers: &HeaderMap, client: SocketAddr) -> Option<Vec<u8>> {
    let Policy::Hash(on) = policy else { return None };
    match on {
        HashOn::ClientIp => Some(client.ip().to_string().into_bytes()),
        HashOn::Header(name) => headers.get(name.as_str()).map(|value| value.as_bytes().to_vec()),
        HashOn::Cookie(name) => headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(cookie, _)| cookie == name)
            .map(|(_, value)| value.as_bytes().to_vec()),
    }
}

fn finish(response: Response<Incoming>, lease: Lease) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers);
    Response::from_parts(parts, ResponseBody::upstream(body, lease))
}

fn failure(upstream: &str, error: &hyper::Error, max_body: u64) -> GatewayError {
    if is_body_limit(error) {
        return GatewayError::BodyTooLarge { limit: max_body };
    }
    tracing::debug!(upstream, %error, "upstream request failed");
    GatewayError::Upstream { upstream: upstream.to_string() }
}

fn is_body_limit(error: &hyper::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// Turns a request prepared for HTTP/1.1 into one for an HTTP/2 instance: the host becomes the
/// `:authority` of an absolute URI, and `TE: trailers` (which gRPC needs) comes back if the client
/// sent it.
fn to_http2(request: &mut Request<RequestBody>) {
    if request.version() == Version::HTTP_2 {
        return; // a retry of a request already turned
    }
    *request.version_mut() = Version::HTTP_2;
    let host = request.headers_mut().remove(header::HOST);
    let authority = host.as_ref().and_then(|host| host.to_str().ok()).unwrap_or("localhost");
    let target = request.uri().path_and_query().map_or("/", |target| target.as_str());
    if let Ok(uri) = Uri::try_from(format!("http://{authority}{target}")) {
        *request.uri_mut() = uri;
    }
    if request.extensions().get::<WantsTrailers>().is_some() {
        request.headers_mut().insert(header::TE, HeaderValue::from_static("trailers"));
    }
}

/// Marks a request whose client sent `TE: trailers`.
#[derive(Clone, Copy, Debug)]
struct WantsTrailers;

/// Marks a request that came over TLS (`X-Forwarded-Proto: https`).
#[derive(Clone, Copy, Debug)]
struct ArrivedOverTls;

/// Rewrites a client request into the one sent upstream: HTTP/1.1 in origin form, hop-by-hop headers
/// removed, `Host` kept, and `X-Forwarded-*` and `X-Request-Id` set.
fn prepare_upstream_request(parts: &mut Parts, client: SocketAddr, request_id: &HeaderValue) {
    let proto = if parts.extensions.get::<ArrivedOverTls>().is_some() { "https" } else { "http" };
    let wants_trailers = parts
        .headers
        .get_all(header::TE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.split(',').any(|item| item.trim().eq_ignore_ascii_case("trailers")));
    if wants_trailers {
        parts.extensions.insert(WantsTrailers);
    }
    let host = parts.uri.authority().and_then(|authority| HeaderValue::from_str(authority.as_str()).ok());
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        parts.uri = Uri::try_from(path).unwrap_or_else(|_| Uri::from_static("/"));
    }
    parts.version = Version::HTTP_11;
    let headers = &mut parts.headers;
    remove_hop_by_hop(headers);
    if let Some(host) = host {
        // The authority routed the request, so it is the host the app must see (RFC 9112 §3.2.2).
        headers.insert(header::HOST, host);
    }
    if let Some(original_host) = headers.get(header::HOST).cloned() {
        headers.insert(X_FORWARDED_HOST.clone(), original_host);
    }
    let client_ip = client.ip().to_string();
    let forwarded_for = match headers.get(&X_FORWARDED_FOR).and_then(|value| value.to_str().ok()) {
        Some(previous) => format!("{previous}, {client_ip}"),
        None => client_ip,
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static(proto));
    headers.insert(X_REQUEST_ID.clone(), request_id.clone());
}

/// Removes the headers that describe one connection (RFC 9110 §7.6.1), including any `Connection` names.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE)
}

fn clone_parts(parts: &Parts) -> Parts {
    let (mut clone, ()) = Request::new(()).into_parts();
    clone.method = parts.method.clone();
    clone.uri = parts.uri.clone();
    clone.version = parts.version;
    clone.headers = parts.headers.clone();
    if parts.extensions.get::<WantsTrailers>().is_some() {
        clone.extensions.insert(WantsTrailers);
    }
    if parts.extensions.get::<ArrivedOverTls>().is_some() {
        clone.extensions.insert(ArrivedOverTls);
    }
    clone
}

fn clamp(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("x-kept"));
    }

    #[test]
    fn upstream_request_gets_forwarding_headers_and_origin_form() {
        let request = Request::get("http://shop.example/cart?x=1")
            .version(Version::HTTP_2)
            .header("x-forwarded-for", "10.0.0.1")
            .body(())
            .expect("request");
        let (mut parts, ()) = request.into_parts();
        let client = SocketAddr::from(([192, 168, 1, 2], 5555));
        prepare_upstream_request(&mut parts, client, &HeaderValue::from_static("rid"));
        assert_eq!(parts.uri, "/cart?x=1");
        assert_eq!(parts.version, Version::HTTP_11);
        assert_eq!(parts.headers["host"], "shop.example");
        assert_eq!(parts.headers["x-forwarded-host"], "shop.example");
        assert_eq!(parts.headers["x-forwarded-for"], "10.0.0.1, 192.168.1.2");
        assert_eq!(parts.headers["x-forwarded-proto"], "http");
        assert_eq!(parts.headers["x-request-id"], "rid");
    }

    #[test]
    fn hash_keys_come_from_the_header_the_cookie_or_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert("x-user", HeaderValue::from_static("ada"));
        headers.append(header::COOKIE, HeaderValue::from_static("theme=dark; sid=abc123"));
        let client = SocketAddr::from(([10, 1, 2, 3], 4000));
        let key = |on: HashOn| hash_key(&Policy::Hash(on), &headers, client);
        assert_eq!(key(HashOn::Header("x-user".into())), Some(b"ada".to_vec()));
        assert_eq!(key(HashOn::Cookie("sid".into())), Some(b"abc123".to_vec()));
        assert_eq!(key(HashOn::Cookie("none".into())), None);
        assert_eq!(key(HashOn::ClientIp), Some(b"10.1.2.3".to_vec()));
        assert_eq!(hash_key(&Policy::PeakEwma, &headers, client), None);
    }

    #[test]
    fn only_safe_methods_are_replayable() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::PUT));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
