//! Workloads: the processes that serve an app's traffic, kept in the state the control plane asks for.
//!
//! - [`runtime`]: the node's [`Runtime`] — apps and their workloads, apply / scale / remove / status;
//! - [`workload`]: one workload's controller, which starts, drains and stops instances and publishes
//!   the ready ones to the gateway's [`Upstream`](cloudlet_gateway::Upstream);
//! - [`rollout`]: the pure plan behind rolling updates and scaling;
//! - `supervisor`: one instance's life — start, health check, restart with [`backoff`], SIGTERM/SIGKILL;
//! - `process` and `health`: spawning and signalling processes, and probing them;
//! - [`logs`]: bounded per-instance output rings and the live feed behind `cloudlet logs -f`;
//! - [`metrics`]: instances by state, restarts.
//!
//! It depends on `cloudlet-config` for workload specs and on `cloudlet-gateway` only for the endpoint
//! types it publishes; it knows nothing of manifests' text, the API or storage.

pub mod backoff;
mod deployment;
mod health;
mod instance;
pub mod logs;
pub mod metrics;
mod process;
pub mod rollout;
pub mod runtime;
mod supervisor;
pub mod workload;

pub use deployment::ServiceDeployment;
pub use instance::{Health, InstanceState, InstanceStatus};
pub use metrics::RuntimeMetrics;
pub use runtime::{Runtime, ServiceRun};
pub use workload::{Phase, WorkloadStatus};
