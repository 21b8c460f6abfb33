//! The HTTP response cache of routes with `response_cache = true`, following RFC 9111's rules for
//! shared caches ([`policy`]), kept in the node's cache service behind [`ResponseStore`].
//!
//! - A fresh stored response is served without reaching an instance (`X-Cache: HIT`, with `Age`).
//! - A stale one within its `stale-while-revalidate` allowance is served (`X-Cache: STALE`) while one
//!   background fetch refreshes it.
//! - Misses for the same key are coalesced: one request fetches (`X-Cache: MISS`), the others wait
//!   for it (up to [`LOCK_TIMEOUT`]) and are answered from what it stored; if it could not be stored
//!   they fetch on their own.
//! - Responses are stored only with a `Content-Length` up to the cache's body limit; larger or
//!   unknown-length bodies stream through uncached.
//! - A successful unsafe request (POST, PUT, DELETE, PATCH) to a URL removes its stored response.
//! - HEAD is answered from a stored GET response; a HEAD miss is forwarded and not stored.

mod entry;
pub mod policy;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response};
use http_body_util::BodyExt;
use tokio::sync::watch;

use self::entry::Entry;
use self::policy::Servable;
use crate::body::ResponseBody;
use crate::error::GatewayError;

/// How long a request waits for another one fetching the same key before it fetches itself.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

static X_CACHE: HeaderName = HeaderName::from_static("x-cache");

/// A future a store returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where responses are kept (the node's cache service). Errors are misses: the cache is an
/// optimisation, never a reason to fail a request.
pub trait ResponseStore: Send + Sync + 'static {
    fn get(&self, key: String) -> StoreFuture<'_, Option<Bytes>>;
    fn put(&self, key: String, value: Bytes, ttl: Duration) -> StoreFuture<'_, ()>;
    fn remove(&self, key: String) -> StoreFuture<'_, ()>;
}

/// What happened to one request at the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit,
    Stale,
    Miss,
    /// Not cacheable (method, headers, or the response).
    Bypass,
}

/// The node's response cache.
pub struct ResponseCache {
    store: Arc<dyn ResponseStore>,
    max_body: usize,
    /// Keys being fetched now; the fetcher holds the sender and drops it when done, which wakes
    /// every receiver, including one cloned after the fact.
    filling: Mutex<HashMap<String, watch::Receiver<()>>>,
}

/// Fetches a request from the route's origin.
pub(crate) type Fetch = Arc<
    dyn Fn(Parts) -> Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, GatewayError>> + Send>> + Send + Sync,
>;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn with_cache_header(mut response: Response<ResponseBody>, lookup: Lookup) -> Response<ResponseBody> {
    let value = match lookup {
        Lookup::Hit => "HIT",
        Lookup::Stale => "STALE",
        Lookup::Miss => "MISS",
        Lookup::Bypass => "BYPASS",
    };
    response.headers_mut().insert(X_CACHE.clone(), HeaderValue::from_static(value));
    response
}

impl ResponseCache {
    /// A cache over `store` keeping bodies of at most `max_body` bytes.
    pub fn new(store: Arc<dyn ResponseStore>, max_body: usize) -> Arc<Self> {
        Arc::new(Self { store, max_body, filling: Mutex::new(HashMap::new()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, watch::Receiver<()>>> {
        self.filling.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn stored(&self, key: &str, request: &Parts) -> Option<Entry> {
        let entry = Entry::decode(self.store.get(key.to_string()).await?)?;
        entry.matches(&request.headers).then_some(entry)
    }

    /// Forgets the stored response under `key` (after an unsafe request to its URL succeeded).
    pub(crate) async fn invalidate(&self, key: String) {
        self.store.remove(key).await;
    }

    /// Answers a bodiless GET or HEAD `request` (its head, ready for upstream) for the route whose
    /// stored responses live under `key`, fetching with `fetch` when the cache cannot answer.
    pub(crate) async fn serve(
        self: &Arc<Self>,
        key: String,
        request: Parts,
        fetch: Fetch,
    ) -> (Response<ResponseBody>, Lookup) {
        let (response, lookup) = self.lookup_or_fetch(key, request, fetch).await;
        (with_cache_header(response, lookup), lookup)
    }

    async fn lookup_or_fetch(
        self: &Arc<Self>,
        key: String,
        request: Parts,
        fetch: Fetch,
    ) -> (Response<ResponseBody>, Lookup) {
        if !policy::request_is_cacheable(&request.method, &request.headers) {
            return (fetch(request).await.unwrap_or_else(GatewayError::into_response), Lookup::Bypass);
        }
        let head = request.method == Method::HEAD;
        if !policy::request_wants_fresh(&request.headers)
            && let Some(entry) = self.stored(&key, &request).await
        {
            let age = Duration::from_millis(now_ms().saturating_sub(entry.stored_at_ms));
            match policy::servable(entry.freshness, age) {
                Servable::Fresh => return (respond(entry, age, head), Lookup::Hit),
                Servable::StaleRevalidate => {
                    self.refresh_in_background(key, request, fetch);
                    return (respond(entry, age, head), Lookup::Stale);
                }
                Servable::Expired => {}
            }
        }
        if head {
            return (fetch(request).await.unwrap_or_else(GatewayError::into_response), Lookup::Bypass);
        }
        // A miss: fetch, unless another request already is; then wait for it.
        let waiting = match self.start_filling(&key) {
            Ok(filling) => Err(filling),
            Err(receiver) => Ok(receiver),
        };
        if let Ok(mut receiver) = waiting {
            let _ = tokio::time::timeout(LOCK_TIMEOUT, receiver.changed()).await;
            if let Some(entry) = self.stored(&key, &request).await {
                let age = Duration::from_millis(now_ms().saturating_sub(entry.stored_at_ms));
                if policy::servable(entry.freshness, age) != Servable::Expired {
                    return (respond(entry, age, false), Lookup::Hit);
                }
            }
            return (fetch(request).await.unwrap_or_else(GatewayError::into_response), Lookup::Miss);
        }
        let response = self.fill(&key, request, &fetch).await;
        drop(waiting);
        (response, Lookup::Miss)
    }

    /// Marks `key` as being fetched by the caller, or returns the receiver of whoever already is.
    fn start_filling(self: &Arc<Self>, key: &str) -> Result<Filling, watch::Receiver<()>> {
        let mut filling = self.lock();
        if let Some(receiver) = filling.get(key) {
            return Err(receiver.clone());
        }
        let (sender, receiver) = watch::channel(());
        filling.insert(key.to_string(), receiver);
        Ok(Filling { cache: self.clone(), key: key.to_string(), sender: Some(sender) })
    }

    /// Fetches, stores the answer if it may be stored, and returns it.
    /// Only a GET's answer is stored: a HEAD's has no body (callers refresh with GET).
    async fn fill(&self, key: &str, request: Parts, fetch: &Fetch) -> Response<ResponseBody> {
        let vary_request = request.headers.clone();
        let storing = request.method == Method::GET;
        let response = match fetch(request).await {
            Ok(response) => response,
            Err(error) => return error.into_response(),
        };
        let freshness = policy::storable(&vary_request, response.status(), response.headers(), SystemTime::now());
        let Some(freshness) = freshness.filter(|_| storing) else {
            return response;
        };
        let length = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if length.is_none_or(|length| length > self.max_body) {
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return GatewayError::Upstream { upstream: key.to_string() }.into_response(),
        };
        let vary = parts
            .headers
            .get_all(header::VARY)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
            .map(|name| {
                let value = vary_request.get(&name).cloned();
                (name, value)
            })
            .collect();
        let entry = Entry {
            status: parts.status,
            headers: parts
                .headers
                .iter()
                // The body is stored whole; hyper sets its length when it is served.
                .filter(|(name, _)| {
                    *name != header::AGE
                        && *name != X_CACHE
                        && *name != header::CONTENT_LENGTH
                        && *name != header::TRANSFER_ENCODING
                })
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body: body.clone(),
            stored_at_ms: now_ms(),
            freshness,
            vary,
        };
        let ttl = freshness.lifetime.saturating_add(freshness.stale_while_revalidate);
        self.store.put(key.to_string(), entry.encode(), ttl).await;
        Response::from_parts(parts, ResponseBody::full(body))
    }

    /// Refreshes a stale entry once, in the background (further stale hits meanwhile do not start
    /// another fetch).
    fn refresh_in_background(self: &Arc<Self>, key: String, mut request: Parts, fetch: Fetch) {
        // A stale HEAD hit refreshes the GET answer it was served from.
        request.method = Method::GET;
        let Ok(filling) = self.start_filling(&key) else { return };
        let cache = self.clone();
        tokio::spawn(async move {
            let response = cache.fill(&key, request, &fetch).await;
            // Drain what was not stored so its connection can be reused.
            let _ = response.into_body().collect().await;
            drop(filling);
        });
    }
}

/// A fetch in progress for a key: when it ends (or its request is abandoned), the key is free again
/// and everyone waiting for it wakes.
struct Filling {
    cache: Arc<ResponseCache>,
    key: String,
    sender: Option<watch::Sender<()>>,
}

impl Drop for Filling {
    fn drop(&mut self) {
        let mut filling = self.cache.lock();
        if let Some(sender) = &self.sender
            && filling.get(&self.key).is_some_and(|receiver| receiver.same_channel(&sender.subscribe()))
        {
            filling.remove(&self.key);
        }
        drop(filling);
        self.sender.take();
    }
}

/// A response made from a stored entry, `age` old.
fn respond(entry: Entry, age: Duration, head: bool) -> Response<ResponseBody> {
    let body = if head { Bytes::new() } else { entry.body };
    let mut response = Response::new(ResponseBody::full(body));
    *response.status_mut() = entry.status;
    let headers = response.headers_mut();
    for (name, value) in entry.headers {
        headers.append(name, value);
    }
    headers.insert(header::AGE, HeaderValue::from(age.as_secs()));
    response
}
