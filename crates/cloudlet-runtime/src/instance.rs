//! What the runtime knows about one instance, shared between its supervisor (which writes it) and
//! the workload controller and API (which read it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use cloudlet_gateway::Endpoint;
use serde::Serialize;

/// Where an instance is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Process started, health check not passed yet.
    Starting,
    /// Healthy and taking traffic.
    Ready,
    /// Was ready, now failing its health check: out of rotation.
    Unhealthy,
    /// Exited unexpectedly; waiting out its backoff before a restart.
    Crashed,
    /// Out of rotation, finishing its in-flight requests before it stops.
    Draining,
    /// SIGTERM sent, waiting for it to exit.
    Stopping,
    /// Gone.
    Stopped,
}

impl InstanceState {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Starting => "starting",
            InstanceState::Ready => "ready",
            InstanceState::Unhealthy => "unhealthy",
            InstanceState::Crashed => "crashed",
            InstanceState::Draining => "draining",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }
}

/// Result of the latest health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Unknown,
    Passing,
    Failing,
}

/// A point-in-time view of one instance.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceStatus {
    pub id: String,
    /// The workload revision this instance runs.
    pub revision: String,
    pub state: InstanceState,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    /// Times the process was started again after exiting or failing its checks.
    pub restarts: u32,
    pub health: Health,
    /// Starts in a row that ended before the instance became healthy.
    pub start_failures: u32,
    /// Why the last start or check failed.
    pub last_error: Option<String>,
    /// When the current process started, in milliseconds since the Unix epoch.
    pub started_at_ms: Option<u64>,
}

/// The shared record of one instance.
pub(crate) struct InstanceCell {
    status: Mutex<InstanceStatus>,
    /// Present while the instance is ready to take traffic.
    endpoint: Mutex<Option<Arc<Endpoint>>>,
    /// Set once the controller decided to stop the instance: it never takes traffic again.
    retired: AtomicBool,
}

impl InstanceCell {
    pub(crate) fn new(id: &str, revision: &str) -> Arc<Self> {
        Arc::new(Self {
            status: Mutex::new(InstanceStatus {
                id: id.to_string(),
                revision: revision.to_string(),
                state: InstanceState::Starting,
                pid: None,
                port: None,
                restarts: 0,
                health: Health::Unknown,
                start_failures: 0,
                last_error: None,
                started_at_ms: None,
            }),
            endpoint: Mutex::new(None),
            retired: AtomicBool::new(false),
        })
    }

    pub(crate) fn status(&self) -> InstanceStatus {
        self.lock_status().clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut InstanceStatus)) {
        change(&mut self.lock_status());
    }

    /// Moves to `state` unless the instance was retired, when only `Stopping` and `Stopped` still apply.
    pub(crate) fn set_state(&self, state: InstanceState) {
        let retired = self.retired.load(Ordering::SeqCst);
        if !retired || matches!(state, InstanceState::Stopping | InstanceState::Stopped) {
            self.lock_status().state = state;
        }
    }

    /// Present when the instance is ready and not draining.
    pub(crate) fn endpoint(&self) -> Option<Arc<Endpoint>> {
        self.lock_endpoint().clone()
    }

    /// Puts the instance in rotation (ignored once retired) or takes it out.
    pub(crate) fn set_endpoint(&self, endpoint: Option<Arc<Endpoint>>) {
        let mut slot = self.lock_endpoint();
        if endpoint.is_some() && self.retired.load(Ordering::SeqCst) {
            return;
        }
        *slot = endpoint;
    }

    /// Takes the instance out of rotation for good; returns its endpoint to drain.
    pub(crate) fn retire(&self) -> Option<Arc<Endpoint>> {
        let mut slot = self.lock_endpoint();
        self.retired.store(true, Ordering::SeqCst);
        self.lock_status().state = InstanceState::Draining;
        slot.take()
    }

    fn lock_status(&self) -> MutexGuard<'_, InstanceStatus> {
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_endpoint(&self) -> MutexGuard<'_, Option<Arc<Endpoint>>> {
        self.endpoint.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
