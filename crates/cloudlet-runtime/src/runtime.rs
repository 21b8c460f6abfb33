//! The runtime of one node: every app's workloads, started, updated, scaled and stopped on the
//! control plane's word.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use cloudlet_gateway::Upstream;
use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};

use crate::deployment::ServiceDeployment;
use crate::logs::AppLogs;
use crate::metrics::{InstanceLabels, RuntimeMetrics};
use crate::workload::{Command, Phase, WorkloadController, WorkloadStatus};

/// All workloads running on this node.
pub struct Runtime {
    apps: Mutex<HashMap<String, AppEntry>>,
    metrics: RuntimeMetrics,
}

struct AppEntry {
    logs: Arc<AppLogs>,
    workloads: HashMap<String, WorkloadHandle>,
}

struct WorkloadHandle {
    upstream: Arc<Upstream>,
    // Unbounded is fine: commands come only from the control plane, which serialises its operations.
    commands: mpsc::UnboundedSender<Command>,
    status: Arc<Mutex<WorkloadStatus>>,
    /// The revision and replicas last asked for; the controller's status catches up asynchronously.
    target: Mutex<Target>,
    /// Directories the workload's instances (running or stopping) run from.
    workdirs: crate::workload::Workdirs,
}

#[derive(Clone)]
struct Target {
    revision: String,
    replicas: u32,
}

/// One service to run and how many replicas.
pub struct ServiceRun {
    pub deployment: ServiceDeployment,
    pub replicas: u32,
}

impl Runtime {
    pub fn new(metrics: RuntimeMetrics) -> Arc<Self> {
        Arc::new(Self { apps: Mutex::new(HashMap::new()), metrics })
    }

    /// Makes `app` run exactly `services`: new workloads start, changed ones roll, missing ones stop.
    /// Returns each workload's upstream, for the gateway's routes.
    pub fn apply(&self, app: &str, services: Vec<ServiceRun>) -> HashMap<String, Arc<Upstream>> {
        let mut apps = self.lock();
        let entry = apps
            .entry(app.to_string())
            .or_insert_with(|| AppEntry { logs: Arc::new(AppLogs::default()), workloads: HashMap::new() });
        let wanted: Vec<String> = services.iter().map(|run| run.deployment.spec.name.clone()).collect();
        let removed: Vec<String> = entry.workloads.keys().filter(|name| !wanted.contains(name)).cloned().collect();
        for name in removed {
            if let Some(handle) = entry.workloads.remove(&name) {
                let (done, _) = oneshot::channel();
                let _ = handle.commands.send(Command::Stop(done));
            }
        }
        let mut upstreams = HashMap::new();
        for run in services {
            let name = run.deployment.spec.name.clone();
            let target = Target { revision: run.deployment.revision.clone(), replicas: run.replicas };
            let deployment = Arc::new(run.deployment);
            let handle = match entry.workloads.get(&name) {
                Some(handle) => {
                    *lock(&handle.target) = target;
                    let _ = handle.commands.send(Command::Update(deployment));
                    let _ = handle.commands.send(Command::Scale(run.replicas));
                    handle
                }
                None => {
                    let upstream = Upstream::new(format!("{app}/{name}"));
                    let (controller, status, workdirs) = WorkloadController::new(
                        deployment,
                        run.replicas,
                        upstream.clone(),
                        entry.logs.clone(),
                        self.metrics.clone(),
                    );
                    let (commands, receiver) = mpsc::unbounded_channel();
                    tokio::spawn(controller.run(receiver));
                    entry.workloads.entry(name.clone()).or_insert(WorkloadHandle {
                        upstream,
                        commands,
                        status,
                        target: Mutex::new(target),
                        workdirs,
                    })
                }
            };
            upstreams.insert(name, handle.upstream.clone());
        }
        upstreams
    }

    /// Sets a workload's replica count; false when there is no such workload.
    pub fn scale(&self, app: &str, workload: &str, replicas: u32) -> bool {
        let apps = self.lock();
        let Some(handle) = apps.get(app).and_then(|entry| entry.workloads.get(workload)) else { return false };
        lock(&handle.target).replicas = replicas;
        handle.commands.send(Command::Scale(replicas)).is_ok()
    }

    /// Drains and stops every instance of `app`, and forgets it.
    pub async fn remove(&self, app: &str) {
        let entry = self.lock().remove(app);
        if let Some(entry) = entry {
            stop_workloads(entry).await;
        }
    }

    /// Drains and stops every instance on the node.
    pub async fn shutdown(&self) {
        let entries: Vec<AppEntry> = self.lock().drain().map(|(_, entry)| entry).collect();
        join_all(entries.into_iter().map(stop_workloads)).await;
    }

    /// The workloads of `app`, or `None` when it does not run here.
    pub fn status(&self, app: &str) -> Option<Vec<WorkloadStatus>> {
        let apps = self.lock();
        let entry = apps.get(app)?;
        let mut workloads: Vec<WorkloadStatus> = entry.workloads.values().map(WorkloadHandle::status).collect();
        workloads.sort_by(|a, b| a.name.cmp(&b.name));
        Some(workloads)
    }

    /// Directories some instance of `app` runs from (or will, once started): files not to delete.
    pub fn workdirs_in_use(&self, app: &str) -> Vec<std::path::PathBuf> {
        let apps = self.lock();
        let Some(entry) = apps.get(app) else { return Vec::new() };
        entry.workloads.values().flat_map(|handle| lock(&handle.workdirs).clone()).collect()
    }

    /// The logs of `app`.
    pub fn logs(&self, app: &str) -> Option<Arc<AppLogs>> {
        self.lock().get(app).map(|entry| entry.logs.clone())
    }

    /// The logs of `app`, created if the app has none yet (its functions write there too).
    pub fn app_logs(&self, app: &str) -> Arc<AppLogs> {
        let mut apps = self.lock();
        let entry = apps
            .entry(app.to_string())
            .or_insert_with(|| AppEntry { logs: Arc::new(AppLogs::default()), workloads: HashMap::new() });
        entry.logs.clone()
    }

    /// Refreshes the instances-by-state gauges (called before metrics are scraped).
    pub fn refresh_metrics(&self) {
        let mut counts: HashMap<InstanceLabels, i64> = HashMap::new();
        let apps = self.lock();
        for (app, entry) in apps.iter() {
            for (workload, handle) in &entry.workloads {
                let status = lock(&handle.status);
                for instance in &status.instances {
                    let labels =
                        InstanceLabels { app: app.clone(), workload: workload.clone(), state: instance.state.as_str() };
                    *counts.entry(labels).or_default() += 1;
                }
            }
        }
        drop(apps);
        self.metrics.set_instances(counts);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, AppEntry>> {
        self.apps.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl WorkloadHandle {
    /// The controller's last summary, shown as progressing while it has not caught up with the target.
    fn status(&self) -> WorkloadStatus {
        let mut status = lock(&self.status).clone();
        let target = lock(&self.target).clone();
        let message = Some("applying the change".to_string());
        if status.revision != target.revision {
            status.revision = target.revision;
            status.phase = Phase::Progressing;
            status.message = message;
            status.failing_instance = None;
        } else if status.desired != target.replicas && status.phase == Phase::Running {
            status.phase = Phase::Progressing;
            status.message = message;
        }
        status.desired = target.replicas;
        status
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn stop_workloads(entry: AppEntry) {
    let stops = entry.workloads.into_values().map(|handle| async move {
        let (done, finished) = oneshot::channel();
        if handle.commands.send(Command::Stop(done)).is_ok() {
            let _ = finished.await;
        }
    });
    join_all(stops).await;
}
