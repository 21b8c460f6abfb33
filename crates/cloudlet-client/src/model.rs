//! The JSON shapes of the control API, as a client reads them. Fields a newer node adds are ignored.

use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct NodeInfo {
    pub version: String,
    pub gateway: String,
    pub api: String,
    pub kv: String,
    pub cache: String,
}

/// One app in `GET /v1/apps`.
#[derive(Clone, Debug, Deserialize)]
pub struct AppSummary {
    pub name: String,
    pub version: u64,
    pub phase: String,
    pub workloads: usize,
    pub instances_ready: u32,
    pub instances_desired: u32,
    pub routes: Vec<String>,
    pub deployed_at_ms: u64,
}

/// `GET /v1/apps/{app}`.
#[derive(Clone, Debug, Deserialize)]
pub struct AppDetail {
    pub name: String,
    pub version: u64,
    pub digest: String,
    /// `running`, `progressing` or `failed`.
    pub phase: String,
    pub deployed_at_ms: u64,
    pub routes: Vec<Route>,
    pub workloads: Vec<Workload>,
    #[serde(default)]
    pub functions: Vec<FunctionStats>,
}

/// A function and what it has done since the node started.
#[derive(Clone, Debug, Deserialize)]
pub struct FunctionStats {
    pub name: String,
    pub executor: String,
    pub source: String,
    pub invocations: u64,
    pub server_errors: u64,
    pub traps: u64,
    pub timeouts: u64,
    pub memory_exceeded: u64,
    pub busy: u64,
    pub instances_in_use: usize,
    pub waiting: usize,
    pub max_instances: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Route {
    pub route: String,
    pub workload: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Workload {
    pub name: String,
    pub kind: String,
    pub revision: String,
    pub desired: u32,
    pub ready: u32,
    pub min: u32,
    pub max: u32,
    pub phase: String,
    pub message: Option<String>,
    pub failing_instance: Option<String>,
    pub instances: Vec<Instance>,
    /// Present when the autoscaler runs the workload.
    #[serde(default)]
    pub scaling: Option<Scaling>,
}

/// What the autoscaler decided for a workload, and why.
#[derive(Clone, Debug, Deserialize)]
pub struct Scaling {
    pub min: u32,
    pub max: u32,
    pub target_concurrency: f64,
    pub desired: u32,
    /// `stable`, `panic`, `at_min`, `at_max`, `activation` or `idle`.
    pub reason: String,
    pub panicking: bool,
    pub stable_concurrency: f64,
    pub panic_concurrency: f64,
    pub in_flight: u64,
    pub waiting: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Instance {
    pub id: String,
    pub revision: String,
    /// `starting`, `ready`, `unhealthy`, `crashed`, `draining`, `stopping` or `stopped`.
    pub state: String,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub restarts: u32,
    pub health: String,
    pub start_failures: u32,
    pub last_error: Option<String>,
    pub started_at_ms: Option<u64>,
}

/// The answer to a deploy.
#[derive(Clone, Debug, Deserialize)]
pub struct DeployOutcome {
    pub changed: bool,
    pub app: AppDetail,
}

/// One line of instance output.
#[derive(Clone, Debug, Deserialize)]
pub struct LogLine {
    pub seq: u64,
    pub time_ms: u64,
    pub instance: String,
    /// `stdout`, `stderr` or `system`.
    pub stream: String,
    pub text: String,
}
