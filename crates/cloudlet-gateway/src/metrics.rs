//! Gateway metrics in Prometheus form, with per-route handles so the hot path never builds label sets.

use std::sync::RwLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::cache::Lookup;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub app: String,
    pub workload: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub app: String,
    pub workload: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RetryLabels {
    pub app: String,
    pub workload: String,
    pub reason: &'static str,
}

/// Every metric the gateway exports.
#[derive(Clone)]
pub struct GatewayMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    retries: Family<RetryLabels, Counter>,
    ejections: Family<WorkloadLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
    in_flight: Family<WorkloadLabels, Gauge>,
    open_connections: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub app: String,
    pub workload: String,
    /// `hit`, `stale`, `miss` or `bypass`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkloadLabels {
    pub app: String,
    pub workload: String,
}

impl GatewayMetrics {
    /// Creates the metrics and registers them under `cloudlet_gateway_*`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_25, 2.0, 17))),
            retries: Family::default(),
            ejections: Family::default(),
            cache: Family::default(),
            in_flight: Family::default(),
            open_connections: Gauge::default(),
        };
        let registry = registry.sub_registry_with_prefix("cloudlet_gateway");
        registry.register(
            "requests",
            "HTTP requests answered, by app, workload, route and status",
            metrics.requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from request received to response headers sent",
            metrics.duration.clone(),
        );
        registry.register("retries", "Requests retried on another instance, by reason", metrics.retries.clone());
        registry.register(
            "ejections",
            "Instances taken out of balancing after consecutive failures",
            metrics.ejections.clone(),
        );
        registry.register(
            "response_cache",
            "Requests to routes with a response cache, by result (hit, stale, miss, bypass)",
            metrics.cache.clone(),
        );
        registry.register(
            "in_flight",
            "Requests being answered now, by app and workload (the load on its instances)",
            metrics.in_flight.clone(),
        );
        registry.register("open_connections", "Client connections currently open", metrics.open_connections.clone());
        metrics
    }

    pub(crate) fn route(&self, app: &str, workload: &str, route: &str) -> RouteMetrics {
        let labels = RouteLabels { app: app.to_string(), workload: workload.to_string(), route: route.to_string() };
        RouteMetrics {
            duration: self.duration.get_or_create_owned(&labels),
            statuses: RwLock::new(Vec::new()),
            retries: [
                self.retries.get_or_create_owned(&RetryLabels {
                    app: app.to_string(),
                    workload: workload.to_string(),
                    reason: "connect",
                }),
                self.retries.get_or_create_owned(&RetryLabels {
                    app: app.to_string(),
                    workload: workload.to_string(),
                    reason: "reset",
                }),
                self.retries.get_or_create_owned(&RetryLabels {
                    app: app.to_string(),
                    workload: workload.to_string(),
                    reason: "status",
                }),
            ],
            cache: ["hit", "stale", "miss", "bypass"].map(|result| {
                self.cache.get_or_create_owned(&CacheLabels {
                    app: app.to_string(),
                    workload: workload.to_string(),
                    result,
                })
            }),
            in_flight: self
                .in_flight
                .get_or_create_owned(&WorkloadLabels { app: app.to_string(), workload: workload.to_string() }),
            ejections: self
                .ejections
                .get_or_create_owned(&WorkloadLabels { app: app.to_string(), workload: workload.to_string() }),
            labels,
            family: self.requests.clone(),
        }
    }

    pub(crate) fn unrouted(&self, status: u16) {
        let labels = RequestLabels { app: String::new(), workload: String::new(), route: String::new(), status };
        self.requests.get_or_create(&labels).inc();
    }

    pub(crate) fn connection_opened(&self) {
        self.open_connections.inc();
    }

    pub(crate) fn connection_closed(&self) {
        self.open_connections.dec();
    }
}

/// Why a request was sent a second time.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RetryReason {
    /// The first instance refused the connection: nothing was sent.
    Connect = 0,
    /// The connection broke before a response to an idempotent request.
    Reset = 1,
    /// An idempotent request got a status the route retries on.
    Status = 2,
}

/// Metric handles of one route, resolved once when the route is installed.
pub(crate) struct RouteMetrics {
    labels: RouteLabels,
    family: Family<RequestLabels, Counter>,
    duration: Histogram,
    /// Counters per status code seen so far; a route sees a handful, so a scan beats hashing.
    statuses: RwLock<Vec<(u16, Counter)>>,
    retries: [Counter; 3],
    ejections: Counter,
    /// By [`Lookup`] result: hit, stale, miss, bypass.
    cache: [Counter; 4],
    pub(crate) in_flight: Gauge,
}

impl RouteMetrics {
    pub(crate) fn record(&self, status: u16, elapsed: Duration) {
        self.duration.observe(elapsed.as_secs_f64());
        if let Ok(statuses) = self.statuses.read()
            && let Some((_, counter)) = statuses.iter().find(|(code, _)| *code == status)
        {
            counter.inc();
            return;
        }
        self.first_of_status(status).inc();
    }

    pub(crate) fn retried(&self, reason: RetryReason) {
        self.retries[reason as usize].inc();
    }

    pub(crate) fn ejected(&self) {
        self.ejections.inc();
    }

    pub(crate) fn cache(&self, lookup: Lookup) {
        let index = match lookup {
            Lookup::Hit => 0,
            Lookup::Stale => 1,
            Lookup::Miss => 2,
            Lookup::Bypass => 3,
        };
        self.cache[index].inc();
    }

    fn first_of_status(&self, status: u16) -> Counter {
        let labels = RequestLabels {
            app: self.labels.app.clone(),
            workload: self.labels.workload.clone(),
            route: self.labels.route.clone(),
            status,
        };
        let counter = self.family.get_or_create_owned(&labels);
        if let Ok(mut statuses) = self.statuses.write()
            && !statuses.iter().any(|(code, _)| *code == status)
        {
            statuses.push((status, counter.clone()));
        }
        counter
    }
}
