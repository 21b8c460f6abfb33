//! The controller of one service workload: it owns the workload's instances, starts and stops them
//! as [`rollout::plan`] says, publishes the ready ones to the gateway, and summarises their state.
//!
//! It runs as one task that wakes whenever a supervisor reports a change or the control plane sends a
//! command, and re-plans from the current state each time (level-triggered, so a missed wake-up costs
//! nothing but latency).

use std::sync::{Arc, Mutex};

use cloudlet_gateway::Upstream;
use serde::Serialize;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::deployment::ServiceDeployment;
use crate::instance::{InstanceCell, InstanceState, InstanceStatus};
use crate::logs::AppLogs;
use crate::metrics::RuntimeMetrics;
use crate::rollout::{self, Action, InstanceView};
use crate::supervisor::{FAILED_STARTS, Supervisor};

/// How far a workload is from what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `desired` instances of the current revision are ready and nothing else runs.
    Running,
    /// Instances are starting, being replaced or stopping.
    Progressing,
    /// An instance of the current revision keeps failing to start; see `message`.
    Failed,
}

/// A point-in-time view of one workload.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadStatus {
    pub name: String,
    pub kind: &'static str,
    pub revision: String,
    pub desired: u32,
    /// Ready instances of the current revision.
    pub ready: u32,
    pub phase: Phase,
    pub message: Option<String>,
    /// The instance whose failures made the phase `failed`.
    pub failing_instance: Option<String>,
    pub instances: Vec<InstanceStatus>,
}

/// The directories a workload's instances run from, shared with the runtime.
pub(crate) type Workdirs = Arc<Mutex<Vec<std::path::PathBuf>>>;

pub(crate) enum Command {
    Update(Arc<ServiceDeployment>),
    Scale(u32),
    Stop(oneshot::Sender<()>),
}

struct Managed {
    cell: Arc<InstanceCell>,
    revision: String,
    /// The files the instance runs from; they must outlive it.
    workdir: std::path::PathBuf,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

pub(crate) struct WorkloadController {
    deployment: Arc<ServiceDeployment>,
    replicas: u32,
    upstream: Arc<Upstream>,
    logs: Arc<AppLogs>,
    metrics: RuntimeMetrics,
    instances: Vec<Managed>,
    stopping: Vec<Managed>,
    changed: Arc<Notify>,
    status: Arc<Mutex<WorkloadStatus>>,
    workdirs: Workdirs,
    next_number: u32,
}

impl WorkloadController {
    pub(crate) fn new(
        deployment: Arc<ServiceDeployment>,
        replicas: u32,
        upstream: Arc<Upstream>,
        logs: Arc<AppLogs>,
        metrics: RuntimeMetrics,
    ) -> (Self, Arc<Mutex<WorkloadStatus>>, Workdirs) {
        let status = Arc::new(Mutex::new(summarise(&deployment, replicas, Vec::new())));
        let workdirs = Arc::new(Mutex::new(vec![deployment.workdir.clone()]));
        let controller = Self {
            deployment,
            replicas,
            upstream,
            logs,
            metrics,
            instances: Vec::new(),
            stopping: Vec::new(),
            changed: Arc::new(Notify::new()),
            status: status.clone(),
            workdirs: workdirs.clone(),
            next_number: 1,
        };
        (controller, status, workdirs)
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            self.reap();
            self.reconcile();
            self.publish();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Update(deployment)) => self.deployment = deployment,
                    Some(Command::Scale(replicas)) => self.replicas = replicas,
                    Some(Command::Stop(done)) => {
                        self.stop_all().await;
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop_all().await;
                        return;
                    }
                },
                () = self.changed.notified() => {}
            }
        }
    }

    fn reconcile(&mut self) {
        let views: Vec<InstanceView> = self
            .instances
            .iter()
            .map(|instance| InstanceView {
                current: instance.revision == self.deployment.revision,
                ready: instance.cell.endpoint().is_some(),
            })
            .collect();
        let actions = rollout::plan(self.replicas, &views);
        let mut stops: Vec<usize> = actions
            .iter()
            .filter_map(|action| match action {
                Action::Stop(index) => Some(*index),
                Action::Start => None,
            })
            .collect();
        stops.sort_unstable_by(|a, b| b.cmp(a));
        for index in stops {
            self.retire(index);
        }
        for _ in actions.iter().filter(|action| **action == Action::Start) {
            self.start();
        }
    }

    fn start(&mut self) {
        let id = format!("{}-{}", self.deployment.spec.name, self.next_number);
        self.next_number += 1;
        let cell = InstanceCell::new(&id, &self.deployment.revision);
        let stop = CancellationToken::new();
        let supervisor = Supervisor {
            ring: self.logs.ring(&id),
            id,
            deployment: self.deployment.clone(),
            cell: cell.clone(),
            changed: self.changed.clone(),
            stop: stop.clone(),
            metrics: self.metrics.clone(),
        };
        let task = tokio::spawn(supervisor.run());
        let workdir = self.deployment.workdir.clone();
        self.instances.push(Managed { cell, revision: self.deployment.revision.clone(), workdir, stop, task });
    }

    /// Takes an instance out of rotation, lets its requests finish, then stops it.
    fn retire(&mut self, index: usize) {
        let instance = self.instances.remove(index);
        let endpoint = instance.cell.retire();
        self.publish_endpoints();
        let stop = instance.stop.clone();
        let drain_limit = self.deployment.spec.limits.timeout;
        tokio::spawn(async move {
            if let Some(endpoint) = endpoint {
                let _ = tokio::time::timeout(drain_limit, endpoint.drain()).await;
            }
            stop.cancel();
        });
        self.stopping.push(instance);
    }

    async fn stop_all(&mut self) {
        while !self.instances.is_empty() {
            self.retire(self.instances.len() - 1);
        }
        self.publish();
        for instance in self.stopping.drain(..) {
            let _ = instance.task.await;
            self.logs.stopped(&instance.cell.status().id);
        }
        self.publish();
    }

    /// Forgets instances that finished stopping.
    fn reap(&mut self) {
        let logs = &self.logs;
        self.stopping.retain(|instance| {
            let done = instance.task.is_finished();
            if done {
                logs.stopped(&instance.cell.status().id);
            }
            !done
        });
    }

    fn publish(&self) {
        self.publish_endpoints();
        let statuses: Vec<InstanceStatus> =
            self.instances.iter().chain(&self.stopping).map(|instance| instance.cell.status()).collect();
        let summary = summarise(&self.deployment, self.replicas, statuses);
        *self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = summary;
        let mut workdirs: Vec<std::path::PathBuf> = std::iter::once(self.deployment.workdir.clone())
            .chain(self.instances.iter().chain(&self.stopping).map(|instance| instance.workdir.clone()))
            .collect();
        workdirs.sort();
        workdirs.dedup();
        *self.workdirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = workdirs;
    }

    fn publish_endpoints(&self) {
        self.upstream.set_endpoints(self.instances.iter().filter_map(|instance| instance.cell.endpoint()).collect());
    }
}

/// The workload's phase and counts from its instances.
fn summarise(deployment: &ServiceDeployment, desired: u32, instances: Vec<InstanceStatus>) -> WorkloadStatus {
    let current = |status: &&InstanceStatus| status.revision == deployment.revision;
    let ready = instances.iter().filter(current).filter(|status| status.state == InstanceState::Ready).count() as u32;
    let failing = instances.iter().filter(current).find(|status| status.start_failures >= FAILED_STARTS);
    let settled = ready == desired
        && instances
            .iter()
            .all(|status| status.revision == deployment.revision && status.state == InstanceState::Ready);
    let (phase, message, failing_instance) = match failing {
        Some(status) => (
            Phase::Failed,
            Some(format!(
                "instance {} failed to start {} times: {}",
                status.id,
                status.start_failures,
                status.last_error.as_deref().unwrap_or("unknown error")
            )),
            Some(status.id.clone()),
        ),
        None if settled => (Phase::Running, None, None),
        None => (Phase::Progressing, Some(format!("{ready} of {desired} instances ready")), None),
    };
    WorkloadStatus {
        name: deployment.spec.name.clone(),
        kind: "service",
        revision: deployment.revision.clone(),
        desired,
        ready,
        phase,
        message,
        failing_instance,
        instances,
    }
}
