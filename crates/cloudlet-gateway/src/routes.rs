//! The route table: which workload a request goes to.
//!
//! A route is a path prefix, optionally limited to one host. A request goes to the route with the
//! longest prefix that matches its path on a segment boundary (`/api` matches `/api` and `/api/x`, not
//! `/apix`); at equal length a route for the request's host beats a route for any host. Matching is a
//! pure function ([`select`]); the table swaps whole snapshots so readers never wait on writers.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;

use crate::admission::budget::RetryBudget;
use crate::admission::{Admission, RetryPolicy};
use crate::body::ResponseBody;
use crate::cache::ResponseCache;

use crate::metrics::{GatewayMetrics, RouteMetrics};
use crate::upstream::{Balancing, Upstream};

/// A route as the control plane describes it.
#[derive(Clone)]
pub struct RouteConfig {
    pub app: String,
    pub workload: String,
    /// Lower-case host, or `None` for any host.
    pub host: Option<String>,
    /// Normalised path prefix (`/` or `/x/y` without a trailing slash).
    pub path: String,
    /// Time allowed until the upstream's response headers arrive.
    pub timeout: Duration,
    /// Largest request body accepted.
    pub max_body: u64,
    /// How requests spread over the target's instances.
    pub balance: Balancing,
    /// Stores and serves cacheable responses (RFC 9111) when set (`response_cache = true`).
    pub response_cache: Option<Arc<ResponseCache>>,
    /// Retries after failures and configured statuses, within a budget.
    pub retry: RetryPolicy,
    /// The app's rate limits and circuit breaker, shared by its routes.
    pub admission: Option<Arc<Admission>>,
    /// Where requests go.
    pub target: Target,
}

/// What serves a route.
#[derive(Clone)]
pub enum Target {
    /// Instances listening on ports, reached over HTTP.
    Proxy(Arc<Upstream>),
    /// Code in this process (WebAssembly functions), called directly. It enforces its own timeout.
    Handler(Arc<dyn RequestHandler>),
}

/// The future a [`RequestHandler`] answers with.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>;

/// Something in this process that answers requests.
pub trait RequestHandler: Send + Sync {
    /// Answers `request` from `client`; errors are answered, not returned.
    fn handle(&self, request: Request<Incoming>, client: SocketAddr) -> HandlerFuture;
}

/// An installed route with its metric handles and retry budget.
pub(crate) struct ActiveRoute {
    pub(crate) config: RouteConfig,
    pub(crate) metrics: RouteMetrics,
    budget: Mutex<RetryBudget>,
    epoch: Instant,
}

impl ActiveRoute {
    fn budget(&self) -> std::sync::MutexGuard<'_, RetryBudget> {
        self.budget.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a request against which retries are budgeted.
    pub(crate) fn count_request(&self) {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.budget().deposit(now);
    }

    /// Whether the budget allows one more retry (and takes it).
    pub(crate) fn may_retry(&self) -> bool {
        let now = self.epoch.elapsed().as_nanos() as u64;
        self.budget().withdraw(now)
    }
}

/// All routes of the node.
pub struct RouteTable {
    metrics: GatewayMetrics,
    routes: RwLock<Arc<Vec<Arc<ActiveRoute>>>>,
}

impl RouteTable {
    pub fn new(metrics: GatewayMetrics) -> Self {
        Self { metrics, routes: RwLock::new(Arc::new(Vec::new())) }
    }

    /// Replaces every route of `app` with `routes`, atomically for readers.
    pub fn set_app_routes(&self, app: &str, routes: Vec<RouteConfig>) {
        let installed: Vec<Arc<ActiveRoute>> = routes
            .into_iter()
            .map(|config| {
                let label = format!("{}{}", config.host.as_deref().unwrap_or(""), config.path);
                let metrics = self.metrics.route(&config.app, &config.workload, &label);
                let budget =
                    RetryBudget::new(Duration::from_secs(10), config.retry.min_per_second, config.retry.budget_percent);
                Arc::new(ActiveRoute { config, metrics, budget: Mutex::new(budget), epoch: Instant::now() })
            })
            .collect();
        self.update(|current| {
            let mut next: Vec<Arc<ActiveRoute>> =
                current.iter().filter(|route| route.config.app != app).cloned().collect();
            next.extend(installed);
            next.sort_by_key(|route| std::cmp::Reverse(precedence(&route.config)));
            next
        });
    }

    /// Removes every route of `app`.
    pub fn remove_app(&self, app: &str) {
        self.update(|current| current.iter().filter(|route| route.config.app != app).cloned().collect());
    }

    /// The routes installed now, highest precedence first.
    pub fn snapshot(&self) -> Vec<RouteConfig> {
        self.current().iter().map(|route| route.config.clone()).collect()
    }

    pub(crate) fn lookup(&self, host: Option<&str>, path: &str) -> Option<Arc<ActiveRoute>> {
        let routes = self.current();
        select(routes.iter().map(|route| (&route.config.host, route.config.path.as_str())), host, path)
            .map(|index| routes[index].clone())
    }

    fn current(&self) -> Arc<Vec<Arc<ActiveRoute>>> {
        match self.routes.read() {
            Ok(routes) => routes.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn update(&self, change: impl FnOnce(&[Arc<ActiveRoute>]) -> Vec<Arc<ActiveRoute>>) {
        let mut routes = match self.routes.write() {
            Ok(routes) => routes,
            Err(poisoned) => poisoned.into_inner(),
        };
        let next = change(&routes);
        *routes = Arc::new(next);
    }
}

/// Sort key: longer prefixes first, then host-specific before any-host.
fn precedence(route: &RouteConfig) -> (usize, bool) {
    (route.path.len(), route.host.is_some())
}

/// The index of the first route (in precedence order) that matches `host` and `path`.
pub(crate) fn select<'a>(
    routes: impl Iterator<Item = (&'a Option<String>, &'a str)>,
    host: Option<&str>,
    path: &str,
) -> Option<usize> {
    routes
        .enumerate()
        .find(|(_, (route_host, prefix))| host_matches(route_host, host) && path_matches(prefix, path))
        .map(|(index, _)| index)
}

fn host_matches(route_host: &Option<String>, host: Option<&str>) -> bool {
    match (route_host, host) {
        (None, _) => true,
        (Some(wanted), Some(host)) => wanted.eq_ignore_ascii_case(host),
        (Some(_), None) => false,
    }
}

/// True when `prefix` matches `path` on a segment boundary.
pub(crate) fn path_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The host a request is for, without port: from the URI (HTTP/2) or the Host header.
pub(crate) fn request_host<B>(request: &http::Request<B>) -> Option<&str> {
    let raw = match request.uri().host() {
        Some(host) => host,
        None => request.headers().get(http::header::HOST)?.to_str().ok()?,
    };
    Some(strip_port(raw))
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(Option<&str>, &str)]) -> Vec<(Option<String>, String)> {
        let mut routes: Vec<(Option<String>, String)> =
            entries.iter().map(|(host, path)| (host.map(str::to_string), path.to_string())).collect();
        routes.sort_by_key(|(host, path)| std::cmp::Reverse((path.len(), host.is_some())));
        routes
    }

    fn pick<'a>(routes: &'a [(Option<String>, String)], host: Option<&str>, path: &str) -> Option<&'a str> {
        select(routes.iter().map(|(h, p)| (h, p.as_str())), host, path).map(|index| routes[index].1.as_str())
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let routes = table(&[(None, "/"), (None, "/api"), (None, "/api/v2")]);
        assert_eq!(pick(&routes, None, "/api/v2/users"), Some("/api/v2"));
        assert_eq!(pick(&routes, None, "/api/v3"), Some("/api"));
        assert_eq!(pick(&routes, None, "/api"), Some("/api"));
        assert_eq!(pick(&routes, None, "/apix"), Some("/"));
        assert_eq!(pick(&routes, None, "/other"), Some("/"));
    }

    #[test]
    fn host_routes_beat_any_host_routes_of_equal_length() {
        let routes = table(&[(None, "/shop"), (Some("a.example"), "/shop"), (Some("b.example"), "/")]);
        let hosts: Vec<Option<&String>> = routes.iter().map(|(h, _)| h.as_ref()).collect();
        assert_eq!(hosts[0].map(String::as_str), Some("a.example"));
        assert_eq!(select(routes.iter().map(|(h, p)| (h, p.as_str())), Some("A.EXAMPLE"), "/shop/cart"), Some(0));
        assert_eq!(select(routes.iter().map(|(h, p)| (h, p.as_str())), Some("c.example"), "/shop"), Some(1));
        assert_eq!(pick(&routes, Some("b.example"), "/x"), Some("/"));
        assert_eq!(pick(&routes, Some("c.example"), "/x"), None);
    }

    #[test]
    fn no_route_means_none() {
        let routes = table(&[(None, "/api")]);
        assert_eq!(pick(&routes, None, "/"), None);
    }

    #[test]
    fn host_comes_from_uri_or_header_without_port() {
        let request = http::Request::get("/x").header("host", "Shop.Example:8080").body(()).expect("request");
        assert_eq!(request_host(&request), Some("Shop.Example"));
        let request = http::Request::get("http://h2.example/x").body(()).expect("request");
        assert_eq!(request_host(&request), Some("h2.example"));
        let request = http::Request::get("/x").header("host", "[::1]:80").body(()).expect("request");
        assert_eq!(request_host(&request), Some("[::1]"));
    }
}
