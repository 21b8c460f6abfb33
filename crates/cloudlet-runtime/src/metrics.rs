//! Runtime metrics: instances by state and restarts, per app and workload.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    pub app: String,
    pub workload: String,
    pub state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkloadLabels {
    pub app: String,
    pub workload: String,
}

#[derive(Clone, Default)]
pub struct RuntimeMetrics {
    instances: Family<InstanceLabels, Gauge>,
    restarts: Family<WorkloadLabels, Counter>,
}

impl RuntimeMetrics {
    /// Creates the metrics and registers them under `cloudlet_runtime_*`.
    pub fn new(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let registry = registry.sub_registry_with_prefix("cloudlet_runtime");
        registry.register("instances", "Instances by app, workload and state", metrics.instances.clone());
        registry.register("restarts", "Instance restarts after a crash or failed checks", metrics.restarts.clone());
        metrics
    }

    pub(crate) fn restarted(&self, app: &str, workload: &str) {
        self.restarts.get_or_create(&WorkloadLabels { app: app.to_string(), workload: workload.to_string() }).inc();
    }

    /// Replaces the instance gauges with `counts`.
    pub(crate) fn set_instances(&self, counts: impl IntoIterator<Item = (InstanceLabels, i64)>) {
        self.instances.clear();
        for (labels, count) in counts {
            self.instances.get_or_create(&labels).set(count);
        }
    }
}
