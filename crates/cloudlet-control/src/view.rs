//! What the control API shows of apps: plain serialisable views.

use cloudlet_autoscale::ScalingStatus;
use cloudlet_functions::FunctionStats;
use cloudlet_runtime::{Phase, WorkloadStatus};
use serde::Serialize;

/// One line of `cloudlet apps`.
#[derive(Clone, Debug, Serialize)]
pub struct AppSummary {
    pub name: String,
    pub version: u64,
    pub phase: Phase,
    pub workloads: usize,
    pub instances_ready: u32,
    pub instances_desired: u32,
    pub routes: Vec<String>,
    pub deployed_at_ms: u64,
}

/// Everything `cloudlet status APP` shows.
#[derive(Clone, Debug, Serialize)]
pub struct AppDetail {
    pub name: String,
    pub version: u64,
    pub digest: String,
    pub phase: Phase,
    pub deployed_at_ms: u64,
    pub routes: Vec<RouteView>,
    pub workloads: Vec<WorkloadView>,
    pub functions: Vec<FunctionStats>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteView {
    pub route: String,
    pub workload: String,
}

/// A workload with its scale bounds and, when the autoscaler runs it, how and why.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadView {
    pub min: u32,
    pub max: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalingStatus>,
    #[serde(flatten)]
    pub status: WorkloadStatus,
}

/// The answer to a deploy.
#[derive(Clone, Debug, Serialize)]
pub struct DeployOutcome {
    /// False when the same bundle was already deployed: nothing was restarted.
    pub changed: bool,
    pub app: AppDetail,
}

/// The overall phase of an app: failed if any workload failed, running if all run.
pub fn overall_phase<'a>(phases: impl Iterator<Item = &'a Phase>) -> Phase {
    let mut overall = Phase::Running;
    for phase in phases {
        match phase {
            Phase::Failed => return Phase::Failed,
            Phase::Progressing => overall = Phase::Progressing,
            Phase::Running => {}
        }
    }
    overall
}
