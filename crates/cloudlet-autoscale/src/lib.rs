//! Autoscaling: how many instances each service should run, decided from the load the gateway sees.
//!
//! - [`kpa`]: the decision — Knative's KPA (stable and panic windows, target concurrency and
//!   utilization, rate limits, scale to zero) as a pure state machine with injected time;
//! - [`window`]: the averaging windows it uses.
//!
//! It must not do I/O in `kpa` or `window`; the loop that samples and applies decisions is thin.

pub mod kpa;
pub mod window;

pub use kpa::{Decision, Kpa, KpaSettings, Reason};
