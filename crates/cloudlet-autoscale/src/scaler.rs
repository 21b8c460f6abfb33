//! The loop that applies the KPA: it samples each autoscaled service's concurrency from its gateway
//! [`Upstream`] (requests in flight plus requests held at zero) every [`SAMPLE_EVERY`], decides every
//! [`DECIDE_EVERY`] — at once when a request arrives for a service at zero — and tells the
//! [`Runtime`] how many instances to run. The runtime drains an instance before it stops it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use cloudlet_gateway::{Activation, Upstream};
use cloudlet_runtime::Runtime;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::kpa::{Decision, Kpa, KpaSettings, Reason};

/// How often concurrency is sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// How often decisions are made (Knative's tick).
pub const DECIDE_EVERY: Duration = Duration::from_secs(2);

type Key = (String, String);

struct Scaled {
    kpa: Kpa,
    upstream: Arc<Upstream>,
    /// The count last handed to the runtime.
    applied: u32,
    last: Option<Decision>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkloadLabels {
    app: String,
    workload: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScaleLabels {
    app: String,
    workload: String,
    reason: String,
}

/// What `cloudlet status` shows of a service's scaling.
#[derive(Clone, Debug, Serialize)]
pub struct ScalingStatus {
    pub min: u32,
    pub max: u32,
    pub target_concurrency: f64,
    pub desired: u32,
    pub reason: Reason,
    pub panicking: bool,
    /// Average concurrency over the stable and panic windows.
    pub stable_concurrency: f64,
    pub panic_concurrency: f64,
    pub in_flight: usize,
    pub waiting: usize,
}

/// The node's autoscaler.
pub struct Autoscaler {
    runtime: Arc<Runtime>,
    scaled: Mutex<HashMap<Key, Scaled>>,
    /// Services a request is waiting for at zero, to decide at once (only them: the others keep
    /// their 2 s rhythm, so their rate limits hold).
    poked: Mutex<Vec<Key>>,
    wake: Notify,
    epoch: Instant,
    desired: Family<WorkloadLabels, Gauge>,
    events: Family<ScaleLabels, Counter>,
}

impl Autoscaler {
    pub fn new(runtime: Arc<Runtime>, registry: &mut Registry) -> Arc<Self> {
        let desired = Family::<WorkloadLabels, Gauge>::default();
        let events = Family::<ScaleLabels, Counter>::default();
        let registry = registry.sub_registry_with_prefix("cloudlet_autoscaler");
        registry.register("desired_instances", "Instances the autoscaler wants, by service", desired.clone());
        registry.register("scale_events", "Changes of the desired instance count, by reason", events.clone());
        Arc::new(Self {
            runtime,
            scaled: Mutex::new(HashMap::new()),
            poked: Mutex::new(Vec::new()),
            wake: Notify::new(),
            epoch: Instant::now(),
            desired,
            events,
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Scaled>> {
        self.scaled.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The instances a service should start with: what the autoscaler runs now if it already
    /// scales it (within the new bounds), else `max(min, 1)` — a new deploy runs one instance
    /// even with `min = 0`, so the deploy proves it starts.
    pub fn initial_replicas(&self, app: &str, workload: &str, settings: &KpaSettings) -> u32 {
        let key = (app.to_string(), workload.to_string());
        match self.lock().get(&key) {
            Some(scaled) => scaled.applied.clamp(settings.min, settings.max),
            None => settings.min.max(1).min(settings.max),
        }
    }

    /// Scales `app`'s `workload` from now on, with `settings`, starting from `replicas` instances.
    /// With `min = 0` its upstream holds up to `max_pending` requests while it is at zero, each for
    /// at most `activation_timeout`, and pokes the autoscaler to start an instance at once.
    #[allow(clippy::too_many_arguments, reason = "one registration, every part of it needed")]
    pub fn register(
        self: &Arc<Self>,
        app: &str,
        workload: &str,
        settings: KpaSettings,
        upstream: Arc<Upstream>,
        replicas: u32,
        activation_timeout: Duration,
        max_pending: usize,
    ) {
        let key = (app.to_string(), workload.to_string());
        let activation = (settings.min == 0).then(|| {
            let autoscaler = Arc::downgrade(self);
            let key = key.clone();
            Activation {
                on_demand: Arc::new(move || {
                    if let Some(autoscaler) = autoscaler.upgrade() {
                        autoscaler.activate(&key);
                    }
                }),
                max_waiting: max_pending,
                timeout: activation_timeout,
            }
        });
        upstream.set_activation(activation);
        let now = self.now();
        let mut scaled = self.lock();
        match scaled.get_mut(&key) {
            Some(existing) => {
                existing.kpa.set_settings(settings);
                existing.upstream = upstream;
                existing.applied = replicas;
            }
            None => {
                scaled.insert(key, Scaled { kpa: Kpa::new(settings, now), upstream, applied: replicas, last: None });
            }
        }
    }

    /// Stops scaling a workload (its app was deleted, or it no longer autoscales).
    pub fn unregister(&self, app: &str, workload: &str) {
        if let Some(scaled) = self.lock().remove(&(app.to_string(), workload.to_string())) {
            scaled.upstream.set_activation(None);
        }
    }

    /// Stops scaling every workload of `app` not in `keep`.
    pub fn retain(&self, app: &str, keep: &[String]) {
        let gone: Vec<Key> =
            self.lock().keys().filter(|(owner, workload)| owner == app && !keep.contains(workload)).cloned().collect();
        for (app, workload) in gone {
            self.unregister(&app, &workload);
        }
    }

    /// How a service is being scaled, if it is.
    pub fn status(&self, app: &str, workload: &str) -> Option<ScalingStatus> {
        let scaled = self.lock();
        let scaled = scaled.get(&(app.to_string(), workload.to_string()))?;
        let settings = scaled.kpa.settings();
        let (in_flight, waiting) = scaled.upstream.concurrency();
        let last = scaled.last;
        Some(ScalingStatus {
            min: settings.min,
            max: settings.max,
            target_concurrency: settings.target_concurrency,
            desired: scaled.applied,
            reason: last.map_or(Reason::Stable, |decision| decision.reason),
            panicking: last.is_some_and(|decision| decision.panicking),
            stable_concurrency: last.map_or(0.0, |decision| decision.stable_concurrency),
            panic_concurrency: last.map_or(0.0, |decision| decision.panic_concurrency),
            in_flight,
            waiting,
        })
    }

    /// A request arrived for a workload at zero: record it and decide now.
    fn activate(&self, key: &Key) {
        let now = self.now();
        if let Some(scaled) = self.lock().get_mut(key) {
            let (in_flight, waiting) = scaled.upstream.concurrency();
            scaled.kpa.record(now, (in_flight + waiting) as f64);
        }
        self.poked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(key.clone());
        self.wake.notify_one();
    }

    /// Samples and decides until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut sample = tokio::time::interval(SAMPLE_EVERY);
        sample.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_decision = tokio::time::Instant::now() + DECIDE_EVERY;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.wake.notified() => {
                    let poked = std::mem::take(&mut *self.poked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
                    self.decide(Some(&poked));
                }
                _ = sample.tick() => {
                    self.sample_all();
                    if tokio::time::Instant::now() >= next_decision {
                        next_decision = tokio::time::Instant::now() + DECIDE_EVERY;
                        self.decide(None);
                    }
                }
            }
        }
    }

    fn sample_all(&self) {
        let now = self.now();
        for scaled in self.lock().values_mut() {
            let (in_flight, waiting) = scaled.upstream.concurrency();
            scaled.kpa.record(now, (in_flight + waiting) as f64);
        }
    }

    /// Decides for `only` these services, or for all.
    fn decide(&self, only: Option<&[Key]>) {
        let now = self.now();
        let mut changes = Vec::new();
        for (key, scaled) in self.lock().iter_mut() {
            if only.is_some_and(|only| !only.contains(key)) {
                continue;
            }
            let (app, workload) = key;
            let ready = scaled.upstream.endpoints().len() as u32;
            let (_, waiting) = scaled.upstream.concurrency();
            let decision = scaled.kpa.decide(now, ready, waiting as u32);
            scaled.last = Some(decision);
            if decision.desired != scaled.applied {
                changes.push((app.clone(), workload.clone(), scaled.applied, decision));
                scaled.applied = decision.desired;
            }
            let labels = WorkloadLabels { app: app.clone(), workload: workload.clone() };
            self.desired.get_or_create(&labels).set(i64::from(decision.desired));
        }
        for (app, workload, from, decision) in changes {
            info!(
                %app, %workload, from, to = decision.desired, reason = ?decision.reason,
                stable = decision.stable_concurrency, panic = decision.panic_concurrency,
                "autoscaler scales a service"
            );
            let reason = format!("{:?}", decision.reason).to_lowercase();
            self.events.get_or_create(&ScaleLabels { app: app.clone(), workload: workload.clone(), reason }).inc();
            self.runtime.scale(&app, &workload, decision.desired);
        }
    }
}
