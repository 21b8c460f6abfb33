//! The HTTP gateway every node runs: it accepts client traffic and forwards it to app instances.
//!
//! - [`admission`]: rate limits per app and per client IP, the circuit breaker on requests in
//!   flight, and retry budgets;
//! - [`balance`]: choosing an endpoint — peak-EWMA two choices, round-robin, least-request, weighted,
//!   consistent hashing (Maglev), slow start and outlier ejection, as pure functions;
//! - [`cache`]: the RFC 9111 response cache of routes that ask for it, kept in the cache service;
//! - [`routes`]: the route table — host and longest path prefix select a route (pure matching);
//! - [`upstream`]: the live set of endpoints behind a workload, the choice among them with the route's
//!   balancer, what each answer teaches it (response times, ejections), in-flight tracking and draining;
//! - [`pool`]: connections per endpoint — kept-alive HTTP/1.1, or shared HTTP/2 (h2c);
//! - `proxy`: forwarding one request — headers, body limit, timeout, one retry on another instance;
//! - `upgrade`: WebSocket and other protocol upgrades, tunnelled to an instance;
//! - [`tls`]: HTTPS with ALPN (`h2`, `http/1.1`) from PEM files;
//! - [`server`]: the accept loop (HTTP/1.1 and h2c), connection limit and graceful drain;
//! - [`metrics`]: request counters and latency histograms by app, workload, route and status;
//! - `error`: the JSON error responses (404, 413, 502, 503, 504).
//!
//! The gateway knows nothing of processes or manifests: the runtime publishes endpoints into
//! [`Upstream`]s and the control plane installs [`RouteConfig`]s. It must not depend on other
//! Cloudlet crates.

pub mod admission;
pub mod balance;
mod body;
pub mod cache;
mod error;
pub mod metrics;
pub mod pool;
mod proxy;
mod request_id;
pub mod routes;
pub mod server;
pub mod tls;
mod upgrade;
pub mod upstream;

pub use body::{BoxError, ResponseBody};
pub use cache::{ResponseCache, ResponseStore};
pub use error::error_response;
pub use metrics::GatewayMetrics;
pub use pool::Protocol;
pub use routes::{HandlerFuture, RequestHandler, RouteConfig, RouteTable, Target};
pub use server::{Gateway, GatewayLimits};
pub use upstream::{Activation, Balancing, Endpoint, Upstream};
