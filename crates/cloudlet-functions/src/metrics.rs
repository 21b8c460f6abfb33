//! Function metrics in Prometheus form: invocations by status, durations, instantiation time,
//! instances in use, traps and timeouts.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FunctionLabels {
    pub app: String,
    pub function: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub app: String,
    pub function: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub app: String,
    pub function: String,
    /// `trap`, `timeout`, `memory` or `busy`.
    pub kind: &'static str,
}

/// The families every function's handles come from.
#[derive(Clone)]
pub struct FunctionMetrics {
    invocations: Family<StatusLabels, Counter>,
    duration: Family<FunctionLabels, Histogram>,
    instantiation: Family<FunctionLabels, Histogram>,
    in_use: Family<FunctionLabels, Gauge>,
    failures: Family<FailureLabels, Counter>,
}

impl FunctionMetrics {
    /// Creates the metrics and registers them under `cloudlet_function_*`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self {
            invocations: Family::default(),
            duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_1, 2.0, 20))),
            instantiation: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.000_005, 2.0, 16))),
            in_use: Family::default(),
            failures: Family::default(),
        };
        let registry = registry.sub_registry_with_prefix("cloudlet_function");
        registry.register("invocations", "Function requests answered, by status", metrics.invocations.clone());
        registry.register(
            "duration_seconds",
            "Time from request to the end of the guest's work",
            metrics.duration.clone(),
        );
        registry.register(
            "instantiation_seconds",
            "Time to instantiate a fresh instance",
            metrics.instantiation.clone(),
        );
        registry.register("instances_in_use", "Instances running now", metrics.in_use.clone());
        registry.register(
            "failures",
            "Requests ended by a trap, the timeout, the memory limit or a full queue",
            metrics.failures.clone(),
        );
        metrics
    }

    pub(crate) fn handles(&self, app: &str, function: &str) -> FunctionHandles {
        let labels = FunctionLabels { app: app.to_string(), function: function.to_string() };
        let failure = |kind| {
            self.failures.get_or_create_owned(&FailureLabels {
                app: app.to_string(),
                function: function.to_string(),
                kind,
            })
        };
        FunctionHandles {
            duration: self.duration.get_or_create_owned(&labels),
            instantiation: self.instantiation.get_or_create_owned(&labels),
            in_use: self.in_use.get_or_create_owned(&labels),
            traps: failure("trap"),
            timeouts: failure("timeout"),
            memory: failure("memory"),
            busy: failure("busy"),
            invocations: self.invocations.clone(),
            statuses: std::sync::RwLock::new(Vec::new()),
            labels,
        }
    }
}

/// One function's metric handles.
pub(crate) struct FunctionHandles {
    pub(crate) duration: Histogram,
    pub(crate) instantiation: Histogram,
    pub(crate) in_use: Gauge,
    pub(crate) traps: Counter,
    pub(crate) timeouts: Counter,
    pub(crate) memory: Counter,
    pub(crate) busy: Counter,
    invocations: Family<StatusLabels, Counter>,
    /// Counters per status seen so far: a handful, so a scan beats building label sets per request.
    statuses: std::sync::RwLock<Vec<(u16, Counter)>>,
    labels: FunctionLabels,
}

impl FunctionHandles {
    pub(crate) fn answered(&self, status: u16) {
        if let Ok(statuses) = self.statuses.read()
            && let Some((_, counter)) = statuses.iter().find(|(code, _)| *code == status)
        {
            counter.inc();
            return;
        }
        let labels = StatusLabels { app: self.labels.app.clone(), function: self.labels.function.clone(), status };
        let counter = self.invocations.get_or_create_owned(&labels);
        counter.inc();
        if let Ok(mut statuses) = self.statuses.write()
            && !statuses.iter().any(|(code, _)| *code == status)
        {
            statuses.push((status, counter));
        }
    }
}
