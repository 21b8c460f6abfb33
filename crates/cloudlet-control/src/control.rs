//! The control plane's operations. One lock serialises them, so a deploy, a scale and a delete of
//! the same app never interleave; reads of status go to the runtime and never wait on a deploy's I/O
//! for long.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cloudlet_autoscale::{Autoscaler, KpaSettings};
use cloudlet_config::manifest::MAX_REPLICAS;
use cloudlet_config::{Balance, FunctionSpec, HashKey, Manifest, Problem, ServiceSpec, problem};
use cloudlet_functions::{
    Buckets, Function, FunctionEngine, FunctionEnv, FunctionMetrics, KeyValueAccess, LogSink, OutputStream, Prepared,
};
use cloudlet_gateway::admission::{Admission, AdmissionPolicy, RateLimit, RetryPolicy};
use cloudlet_gateway::balance::{HashOn, OutlierPolicy, Policy};
use cloudlet_gateway::{Balancing, ResponseCache, RouteConfig, RouteTable, Target};
use cloudlet_runtime::logs::{AppLogs, Stream};
use cloudlet_runtime::{Runtime, ServiceDeployment, ServiceRun, WorkloadStatus};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::bundle::{self, BundleLimits, Unpacked};
use crate::error::ControlError;
use crate::store::{AppRecord, MetadataStore, ScaleOverride};
use crate::view::{AppDetail, AppSummary, DeployOutcome, RouteView, WorkloadView, overall_phase};

/// The control plane of one node.
pub struct Control {
    apps_dir: PathBuf,
    store: Arc<dyn MetadataStore>,
    runtime: Arc<Runtime>,
    routes: Arc<RouteTable>,
    wasm: Arc<FunctionEngine>,
    function_metrics: FunctionMetrics,
    buckets: Arc<dyn Buckets>,
    autoscaler: Arc<Autoscaler>,
    response_cache: Arc<ResponseCache>,
    limits: BundleLimits,
    apps: Mutex<BTreeMap<String, Deployed>>,
}

/// What the control plane needs from the rest of the node.
pub struct ControlParts {
    pub apps_dir: PathBuf,
    pub store: Arc<dyn MetadataStore>,
    pub runtime: Arc<Runtime>,
    pub routes: Arc<RouteTable>,
    pub wasm: Arc<FunctionEngine>,
    pub function_metrics: FunctionMetrics,
    /// The node's stores, for functions with `keyvalue`.
    pub buckets: Arc<dyn Buckets>,
    /// Scales services whose bounds allow it (`scale.max > scale.min`, or `scale.min = 0`).
    pub autoscaler: Arc<Autoscaler>,
    /// Where routes with `response_cache = true` keep responses.
    pub response_cache: Arc<ResponseCache>,
    pub limits: BundleLimits,
}

/// An app as it runs: its record, its parsed manifest and its functions.
struct Deployed {
    record: AppRecord,
    manifest: Manifest,
    functions: BTreeMap<String, Arc<Function>>,
}

impl Control {
    pub fn new(parts: ControlParts) -> Self {
        Self {
            apps_dir: parts.apps_dir,
            store: parts.store,
            runtime: parts.runtime,
            routes: parts.routes,
            wasm: parts.wasm,
            function_metrics: parts.function_metrics,
            buckets: parts.buckets,
            autoscaler: parts.autoscaler,
            response_cache: parts.response_cache,
            limits: parts.limits,
            apps: Mutex::new(BTreeMap::new()),
        }
    }

    /// Largest bundle accepted, in bytes.
    pub fn max_bundle_bytes(&self) -> u64 {
        self.limits.max_bytes
    }

    /// Starts every app the store remembers; returns how many came back.
    pub async fn restore(&self) -> Result<usize, ControlError> {
        let records = self.store.load().await?;
        let mut apps = self.apps.lock().await;
        for record in records {
            let manifest = match Manifest::parse(&record.manifest) {
                Ok(manifest) => manifest,
                Err(problems) => {
                    warn!(app = %record.name, problems = problems.len(), "stored manifest no longer valid; app not started");
                    continue;
                }
            };
            let files = self.files_dir(&record);
            let legacy = self.apps_dir.join(&record.name).join(&record.digest[..16.min(record.digest.len())]);
            if !files.is_dir() && legacy.is_dir() {
                // Data dirs from before files were kept by their own digest.
                let _ = std::fs::rename(&legacy, &files);
            }
            if !files.is_dir() {
                warn!(app = %record.name, "files of the app are missing from the data dir; app not started");
                continue;
            }
            let prepared = match self.prepare_functions(&manifest, &files).await {
                Ok(prepared) => prepared,
                Err(problems) => {
                    let first = problems.first().map(|problem| problem.message.clone()).unwrap_or_default();
                    warn!(app = %record.name, problem = %first, "functions of the app no longer load; app not started");
                    continue;
                }
            };
            let functions = self.functions(&record.name, &manifest, prepared, &files);
            self.activate(&record, &manifest, &functions);
            info!(app = %record.name, version = record.version, "app restored");
            apps.insert(record.name.clone(), Deployed { record, manifest, functions });
        }
        Ok(apps.len())
    }

    /// Deploys a bundle (a manifest, or a tar/tar.gz with `cloudlet.toml` at its root).
    pub async fn deploy(&self, bytes: Vec<u8>) -> Result<DeployOutcome, ControlError> {
        let staging = self.apps_dir.join(format!(".staging-{}", random_suffix()));
        let limits = self.limits;
        let target = staging.clone();
        let unpacked = tokio::task::spawn_blocking(move || bundle::unpack(&bytes, &target, limits))
            .await
            .map_err(|error| bundle::BundleError::Io(std::io::Error::other(error.to_string())))?;
        let outcome = match unpacked {
            Ok(unpacked) => self.deploy_unpacked(&staging, unpacked).await,
            Err(error) => Err(error.into()),
        };
        if staging.exists() {
            let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(staging)).await;
        }
        outcome
    }

    async fn deploy_unpacked(&self, staging: &Path, unpacked: Unpacked) -> Result<DeployOutcome, ControlError> {
        let manifest = Manifest::parse(&unpacked.manifest).map_err(ControlError::InvalidManifest)?;
        let mut problems = missing_programs(&manifest, staging);
        problems.extend(missing_files(&manifest, staging));
        // Compile before taking the lock (status reads must not wait on it) and before anything is
        // stored or started: a function that does not fit fails the deploy.
        let mut prepared = BTreeMap::new();
        if problems.is_empty() {
            match self.prepare_functions(&manifest, staging).await {
                Ok(functions) => prepared = functions,
                Err(found) => problems.extend(found),
            }
        }
        let mut apps = self.apps.lock().await;
        problems.extend(route_conflicts(&manifest, &apps));
        if !problems.is_empty() {
            problem::sort(&mut problems);
            return Err(ControlError::InvalidManifest(problems));
        }
        let name = manifest.name.clone();
        let previous = apps.get(&name).map(|deployed| deployed.record.clone());
        if let Some(previous) = previous.as_ref().filter(|previous| previous.digest == unpacked.digest) {
            let deployed = &apps[&name];
            let detail = self.detail(previous, &deployed.manifest, &deployed.functions);
            return Ok(DeployOutcome { changed: false, app: detail });
        }
        let record = AppRecord {
            name: name.clone(),
            version: previous.as_ref().map_or(1, |previous| previous.version + 1),
            manifest: unpacked.manifest,
            digest: unpacked.digest,
            files_digest: unpacked.files_digest,
            scale: BTreeMap::new(),
            deployed_at_ms: now_ms(),
        };
        // Files are kept by their own digest: a change of the manifest alone reuses them, and the
        // instances it leaves running keep their working directory.
        let files_dir = self.files_dir(&record);
        if !files_dir.exists() {
            if let Some(parent) = files_dir.parent() {
                std::fs::create_dir_all(parent).map_err(bundle::BundleError::Io)?;
            }
            std::fs::rename(staging, &files_dir).map_err(bundle::BundleError::Io)?;
        }
        self.store.put(record.clone()).await?;
        let functions = self.functions(&name, &manifest, prepared, &files_dir);
        self.activate(&record, &manifest, &functions);
        info!(app = %name, version = record.version, "app deployed");
        let detail = self.detail(&record, &manifest, &functions);
        apps.insert(name.clone(), Deployed { record, manifest, functions });
        let mut keep = self.runtime.workdirs_in_use(&name);
        keep.push(files_dir);
        remove_other_versions(&self.apps_dir.join(&name), &keep);
        Ok(DeployOutcome { changed: true, app: detail })
    }

    /// Every app, by name.
    pub async fn list(&self) -> Vec<AppSummary> {
        let apps = self.apps.lock().await;
        apps.values()
            .map(|deployed| {
                let detail = self.detail(&deployed.record, &deployed.manifest, &deployed.functions);
                AppSummary {
                    name: detail.name,
                    version: detail.version,
                    phase: detail.phase,
                    workloads: detail.workloads.len() + detail.functions.len(),
                    instances_ready: detail.workloads.iter().map(|w| w.status.ready).sum(),
                    instances_desired: detail.workloads.iter().map(|w| w.status.desired).sum(),
                    routes: detail.routes.into_iter().map(|route| route.route).collect(),
                    deployed_at_ms: detail.deployed_at_ms,
                }
            })
            .collect()
    }

    /// One app with its workloads and instances.
    pub async fn get(&self, name: &str) -> Result<AppDetail, ControlError> {
        let apps = self.apps.lock().await;
        let deployed = apps.get(name).ok_or_else(|| ControlError::AppNotFound(name.to_string()))?;
        Ok(self.detail(&deployed.record, &deployed.manifest, &deployed.functions))
    }

    /// Stops an app's instances, forgets it and removes its files.
    pub async fn delete(&self, name: &str) -> Result<(), ControlError> {
        let mut apps = self.apps.lock().await;
        if !apps.contains_key(name) {
            return Err(ControlError::AppNotFound(name.to_string()));
        }
        self.routes.remove_app(name);
        self.store.delete(name).await?;
        apps.remove(name);
        self.autoscaler.retain(name, &[]);
        self.runtime.remove(name).await;
        let directory = self.apps_dir.join(name);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(directory)).await;
        info!(app = %name, "app deleted");
        Ok(())
    }

    /// Sets a workload's replica bounds until the next deploy.
    pub async fn scale(&self, name: &str, workload: &str, min: u32, max: u32) -> Result<AppDetail, ControlError> {
        if max == 0 || min > max || max > MAX_REPLICAS {
            return Err(ControlError::InvalidScale(format!(
                "need 0 <= min <= max, 1 <= max <= {MAX_REPLICAS}; got min {min}, max {max}"
            )));
        }
        let mut apps = self.apps.lock().await;
        let deployed = apps.get_mut(name).ok_or_else(|| ControlError::AppNotFound(name.to_string()))?;
        if deployed.manifest.service(workload).is_none() {
            if deployed.manifest.function(workload).is_some() {
                return Err(ControlError::InvalidScale(format!(
                    "\"{workload}\" is a function: its instances are made per request; set limits.instances instead"
                )));
            }
            return Err(ControlError::WorkloadNotFound { app: name.to_string(), workload: workload.to_string() });
        }
        let bounds = ScaleOverride { min, max };
        let mut record = deployed.record.clone();
        record.scale.insert(workload.to_string(), bounds);
        self.store.put(record.clone()).await?;
        deployed.record = record;
        // The new bounds reach the autoscaler and the runtime the way a deploy's do.
        self.activate(&deployed.record, &deployed.manifest, &deployed.functions);
        Ok(self.detail(&deployed.record, &deployed.manifest, &deployed.functions))
    }

    /// The logs of an app.
    pub async fn logs(&self, name: &str) -> Result<Arc<AppLogs>, ControlError> {
        let apps = self.apps.lock().await;
        if !apps.contains_key(name) {
            return Err(ControlError::AppNotFound(name.to_string()));
        }
        self.runtime.logs(name).ok_or_else(|| ControlError::AppNotFound(name.to_string()))
    }

    /// Checks and compiles every function of `manifest` from `files`; problems carry the function's line.
    async fn prepare_functions(
        &self,
        manifest: &Manifest,
        files: &Path,
    ) -> Result<BTreeMap<String, Prepared>, Vec<Problem>> {
        let mut prepared = BTreeMap::new();
        let mut problems = Vec::new();
        for (index, spec) in manifest.functions.iter().enumerate() {
            let problem = |message: String| Problem::new(spec.location, format!("function[{index}].source"), message);
            let path = files.join(&spec.source);
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    let message = format!(
                        "function \"{}\" has source \"{}\", which is not in the bundle",
                        spec.name, spec.source
                    );
                    problems.push(problem(message).with_hint("deploy from the directory that holds it"));
                    continue;
                }
            };
            let outcome = match cloudlet_functions::prepare(
                self.wasm.clone(),
                spec.executor,
                spec.keyvalue.is_some(),
                spec.source.clone(),
                bytes,
            )
            .await
            {
                Ok((code, report)) => {
                    // One trial instance: a component that traps while initialising is refused now.
                    let env = self.function_env(&manifest.name, spec, Arc::new(|_, _| {}));
                    let trial = Function::new(
                        &manifest.name,
                        spec.clone(),
                        self.wasm.clone(),
                        code.clone(),
                        &self.function_metrics,
                        env,
                        files,
                    );
                    trial.instantiate().await.map(|instantiation| (code, report, instantiation))
                }
                Err(message) => Err(message),
            };
            match outcome {
                Ok((code, report, instantiation)) => {
                    info!(
                        app = %manifest.name,
                        function = %spec.name,
                        cache = ?report.cache,
                        prepare_ms = report.elapsed.as_millis() as u64,
                        instantiate_us = instantiation.as_micros() as u64,
                        "function prepared"
                    );
                    prepared.insert(spec.name.clone(), code);
                }
                Err(message) => problems.push(problem(format!("function \"{}\": {message}", spec.name))),
            }
        }
        if problems.is_empty() { Ok(prepared) } else { Err(problems) }
    }

    /// Builds the app's functions, writing their output to the app's logs.
    fn functions(
        &self,
        app: &str,
        manifest: &Manifest,
        mut prepared: BTreeMap<String, Prepared>,
        files: &Path,
    ) -> BTreeMap<String, Arc<Function>> {
        let logs = self.runtime.app_logs(app);
        manifest
            .functions
            .iter()
            .filter_map(|spec: &FunctionSpec| {
                let code = prepared.remove(&spec.name)?;
                let ring = logs.named_ring(&spec.name);
                let sink: LogSink = Arc::new(move |stream, line| {
                    let stream = match stream {
                        OutputStream::Stdout => Stream::Stdout,
                        OutputStream::Stderr => Stream::Stderr,
                        OutputStream::System => Stream::System,
                    };
                    ring.push(stream, line);
                });
                let env = self.function_env(app, spec, sink);
                let function =
                    Function::new(app, spec.clone(), self.wasm.clone(), code, &self.function_metrics, env, files);
                Some((spec.name.clone(), Arc::new(function)))
            })
            .collect()
    }

    /// What a function of `app` reaches: `sink` for its output, its app's buckets if it has `keyvalue`.
    fn function_env(&self, app: &str, spec: &FunctionSpec, sink: LogSink) -> FunctionEnv {
        let keyvalue =
            spec.keyvalue.map(|store| KeyValueAccess::for_app(self.buckets.as_ref(), app, store)).unwrap_or_default();
        FunctionEnv { sink, keyvalue }
    }

    /// Hands an app to the runtime and installs its routes.
    fn activate(&self, record: &AppRecord, manifest: &Manifest, functions: &BTreeMap<String, Arc<Function>>) {
        let workdir = self.files_dir(record);
        let runs = manifest
            .services
            .iter()
            .map(|spec| {
                let settings = scaling(spec, record.scale.get(&spec.name));
                let replicas = if autoscaled(&settings) {
                    self.autoscaler.initial_replicas(&record.name, &spec.name, &settings)
                } else {
                    settings.min.max(1).min(settings.max)
                };
                ServiceRun {
                    deployment: ServiceDeployment {
                        app: record.name.clone(),
                        spec: spec.clone(),
                        revision: revision(&record.files_digest, spec),
                        workdir: workdir.clone(),
                    },
                    replicas,
                }
            })
            .collect::<Vec<_>>();
        let replicas: BTreeMap<String, u32> =
            runs.iter().map(|run| (run.deployment.spec.name.clone(), run.replicas)).collect();
        let upstreams = self.runtime.apply(&record.name, runs);
        let mut scaled = Vec::new();
        for spec in &manifest.services {
            let settings = scaling(spec, record.scale.get(&spec.name));
            match upstreams.get(&spec.name) {
                Some(upstream) if autoscaled(&settings) => {
                    let start = replicas.get(&spec.name).copied().unwrap_or(1);
                    self.autoscaler.register(
                        &record.name,
                        &spec.name,
                        settings,
                        upstream.clone(),
                        start,
                        spec.startup_timeout,
                        manifest.admission.max_pending as usize,
                    );
                    scaled.push(spec.name.clone());
                }
                _ => {}
            }
        }
        self.autoscaler.retain(&record.name, &scaled);
        let admission = admission(manifest);
        let mut routes: Vec<RouteConfig> = manifest
            .services
            .iter()
            .filter_map(|spec| {
                let route = spec.route.as_ref()?;
                Some(RouteConfig {
                    app: record.name.clone(),
                    workload: spec.name.clone(),
                    host: route.host.clone(),
                    path: route.path.clone(),
                    timeout: spec.limits.timeout,
                    max_body: spec.limits.body,
                    balance: balancing(spec),
                    response_cache: spec.response_cache.then(|| self.response_cache.clone()),
                    retry: RetryPolicy {
                        attempts: spec.retries.attempts,
                        statuses: spec.retries.statuses.clone(),
                        budget_percent: spec.retries.budget,
                        min_per_second: spec.retries.min_per_second,
                        replay_buffer: usize::try_from(spec.retries.buffer).unwrap_or(usize::MAX),
                    },
                    admission: Some(admission.clone()),
                    target: Target::Proxy(upstreams.get(&spec.name)?.clone()),
                })
            })
            .collect();
        routes.extend(manifest.functions.iter().filter_map(|spec| {
            let route = spec.route.as_ref()?;
            let function = functions.get(&spec.name)?.clone();
            Some(RouteConfig {
                app: record.name.clone(),
                workload: spec.name.clone(),
                host: route.host.clone(),
                path: route.path.clone(),
                timeout: spec.limits.timeout,
                max_body: spec.limits.body,
                balance: Balancing::default(),
                response_cache: None,
                retry: RetryPolicy::default(),
                admission: Some(admission.clone()),
                target: Target::Handler(function),
            })
        }));
        self.routes.set_app_routes(&record.name, routes);
    }

    fn detail(
        &self,
        record: &AppRecord,
        manifest: &Manifest,
        functions: &BTreeMap<String, Arc<Function>>,
    ) -> AppDetail {
        let statuses: Vec<WorkloadStatus> = self.runtime.status(&record.name).unwrap_or_default();
        let workloads: Vec<WorkloadView> = statuses
            .into_iter()
            .map(|status| {
                let (min, max) = match (record.scale.get(&status.name), manifest.service(&status.name)) {
                    (Some(bounds), _) => (bounds.min, bounds.max),
                    (None, Some(spec)) => (spec.scale.min, spec.scale.max),
                    (None, None) => (0, 0),
                };
                let scaling = self.autoscaler.status(&record.name, &status.name);
                WorkloadView { min, max, scaling, status }
            })
            .collect();
        let routes = manifest
            .routes()
            .map(|(workload, route)| RouteView { route: route.display(), workload: workload.to_string() })
            .collect();
        AppDetail {
            name: record.name.clone(),
            version: record.version,
            digest: record.digest.clone(),
            phase: overall_phase(workloads.iter().map(|workload| &workload.status.phase)),
            deployed_at_ms: record.deployed_at_ms,
            routes,
            workloads,
            functions: functions.values().map(|function| function.stats()).collect(),
        }
    }

    fn files_dir(&self, record: &AppRecord) -> PathBuf {
        let digest = &record.files_digest;
        self.apps_dir.join(&record.name).join(&digest[..16.min(digest.len())])
    }
}

/// A service's scaling: its manifest's `scale`, with the bounds of `cloudlet scale` if set.
fn scaling(spec: &ServiceSpec, bounds: Option<&ScaleOverride>) -> KpaSettings {
    let (min, max) = bounds.map_or((spec.scale.min, spec.scale.max), |bounds| (bounds.min, bounds.max));
    let mut settings = KpaSettings::new(min, max, spec.scale.target_concurrency, spec.scale.zero_after);
    settings.stable_window = spec.scale.window;
    settings.panic_window = (spec.scale.window / 10).max(std::time::Duration::from_secs(1));
    settings
}

/// Whether the autoscaler is in charge: the bounds leave it room, or allow zero.
fn autoscaled(settings: &KpaSettings) -> bool {
    settings.min == 0 || settings.max > settings.min
}

/// What makes running instances obsolete: the app's files and how the process is started and checked.
fn revision(files_digest: &str, spec: &ServiceSpec) -> String {
    let mut hasher = Sha256::new();
    hasher.update(files_digest.as_bytes());
    let launch = format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        spec.command, spec.env, spec.health, spec.startup_timeout, spec.stop_timeout, spec.health_check, spec.protocol
    );
    hasher.update(launch.as_bytes());
    bundle::hex(&hasher.finalize()[..6])
}

/// Programs given by path (`./server`, `bin/run`) must be in the bundle.
fn missing_programs(manifest: &Manifest, files: &Path) -> Vec<Problem> {
    manifest
        .services
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            let program = spec.command.first()?;
            if !program.contains('/') || program.starts_with('/') || files.join(program).is_file() {
                return None;
            }
            Some(
                Problem::new(
                    spec.location,
                    format!("service[{index}].command"),
                    format!("service \"{}\" runs \"{program}\", which is not in the bundle", spec.name),
                )
                .with_hint("deploy from the directory that holds it, or name a program on PATH"),
            )
        })
        .collect()
}

/// Directories granted to functions (`files`) must be in the bundle.
fn missing_files(manifest: &Manifest, files: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, spec) in manifest.functions.iter().enumerate() {
        for (guest, host) in &spec.files {
            if !files.join(host).is_dir() {
                problems.push(Problem::new(
                    spec.location,
                    format!("function[{index}].files"),
                    format!(
                        "function \"{}\" maps {guest} to \"{host}\", which is not a directory of the bundle",
                        spec.name
                    ),
                ));
            }
        }
    }
    problems
}

/// Routes another app already serves.
fn route_conflicts(manifest: &Manifest, apps: &BTreeMap<String, Deployed>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (index, (_, route)) in manifest.routes().enumerate() {
        let taken_by = apps.values().find(|deployed| {
            deployed.manifest.name != manifest.name
                && deployed.manifest.routes().any(|(_, other)| other.key() == route.key())
        });
        if let Some(other) = taken_by {
            problems.push(
                Problem::new(
                    route.location,
                    format!("route[{index}]"),
                    format!("route \"{}\" is already served by app \"{}\"", route.display(), other.manifest.name),
                )
                .with_hint("choose another path or host, or delete the other app first"),
            );
        }
    }
    problems
}

fn remove_other_versions(app_dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(app_dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if !keep.contains(&path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The gateway's admission control for an app's routes, from its manifest.
fn admission(manifest: &Manifest) -> Arc<Admission> {
    let rate = |rate: cloudlet_config::Rate| RateLimit { per_second: rate.per_second, burst: f64::from(rate.burst) };
    Admission::new(AdmissionPolicy {
        app: manifest.admission.rate.map(rate),
        per_client: manifest.admission.per_client.map(rate),
        max_in_flight: Some(manifest.admission.max_in_flight as usize),
    })
}

/// The gateway's balancing for a service, from its manifest.
fn balancing(spec: &ServiceSpec) -> Balancing {
    let policy = match &spec.balance {
        Balance::PeakEwma => Policy::PeakEwma,
        Balance::RoundRobin => Policy::RoundRobin,
        Balance::LeastRequest => Policy::LeastRequest,
        Balance::Weighted => Policy::Weighted,
        Balance::Hash(HashKey::Header(name)) => Policy::Hash(HashOn::Header(name.clone())),
        Balance::Hash(HashKey::Cookie(name)) => Policy::Hash(HashOn::Cookie(name.clone())),
        Balance::Hash(HashKey::ClientIp) => Policy::Hash(HashOn::ClientIp),
    };
    let outlier = OutlierPolicy {
        consecutive: spec.outlier.consecutive,
        base_ejection: spec.outlier.base_ejection,
        max_ejection: spec.outlier.max_ejection,
        max_ejected_percent: spec.outlier.max_ejected_percent,
    };
    Balancing { policy, slow_start: spec.slow_start, outlier }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bundle::hex(&bytes)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}
