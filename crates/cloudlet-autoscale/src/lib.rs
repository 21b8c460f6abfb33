//! Autoscaling: how many instances each service should run, decided from the load the gateway sees.
//!
//! - [`kpa`]: the decision — Knative's KPA (stable and panic windows, target concurrency and
//!   utilization, rate limits, scale to zero) as a pure state machine with injected time;
//! - [`window`]: the averaging windows it uses;
//! - [`scaler`]: the [`Autoscaler`] loop — samples each service's concurrency at the gateway, decides,
//!   tells the runtime, and wakes up at once when a request arrives for a service at zero.
//!
//! `kpa` and `window` do no I/O and read no clock; the loop is thin. Depends on the gateway (where
//! load is measured and requests are held) and the runtime (which starts and drains instances).

pub mod kpa;
pub mod scaler;
pub mod window;

pub use kpa::{Decision, Kpa, KpaSettings, Reason};
pub use scaler::{Autoscaler, ScalingStatus};
