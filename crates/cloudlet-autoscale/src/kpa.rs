//! The scaling decision, after Knative's KPA (`pkg/autoscaler/scaling/autoscaler.go`), as a pure
//! state machine over concurrency samples and injected time (nanoseconds on any clock).
//!
//! Concurrency (requests in flight plus requests waiting for an instance) is averaged over a *stable*
//! window (60 s) and a short *panic* window (6 s). The desired count is `ceil(average / target)`,
//! where `target = target_concurrency × utilization`, limited per decision to `ready × max_up` and
//! `ready / max_down`. When the panic window asks for twice the ready instances or more, the
//! autoscaler *panics*: it follows the panic window up, never scales down, and stays so until the
//! panic window has been calm for a whole stable window. Zero is reached only with `min = 0` after
//! `zero_after` without any request; any demand at zero asks for an instance at once.

use std::time::Duration;

use serde::Serialize;

use crate::window::Window;

/// A workload's scaling bounds and tuning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KpaSettings {
    pub min: u32,
    pub max: u32,
    /// Requests one instance should have in flight (`scale.target_concurrency`).
    pub target_concurrency: f64,
    /// Share of the target aimed at, leaving headroom for bursts. Default 0.7.
    pub utilization: f64,
    pub stable_window: Duration,
    pub panic_window: Duration,
    /// Panic when the panic window wants this many times the ready instances. Default 2.
    pub panic_threshold: f64,
    /// One decision may multiply the ready instances by at most this. Default 1000.
    pub max_scale_up_rate: f64,
    /// One decision may divide the ready instances by at most this. Default 2.
    pub max_scale_down_rate: f64,
    /// Time without any request before a `min = 0` workload goes to zero.
    pub zero_after: Duration,
}

impl KpaSettings {
    /// Knative's defaults with the given bounds and target.
    pub fn new(min: u32, max: u32, target_concurrency: u32, zero_after: Duration) -> Self {
        Self {
            min,
            max: max.max(min).max(1),
            target_concurrency: f64::from(target_concurrency.max(1)),
            utilization: 0.7,
            stable_window: Duration::from_secs(60),
            panic_window: Duration::from_secs(6),
            panic_threshold: 2.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            zero_after,
        }
    }

    fn target(&self) -> f64 {
        (self.target_concurrency * self.utilization).max(0.01)
    }
}

/// Why the desired count is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The stable window's demand.
    Stable,
    /// Panicking: following the panic window up, not scaling down.
    Panic,
    /// Held at `scale.min`.
    AtMin,
    /// Held at `scale.max`.
    AtMax,
    /// Requests are waiting for a workload at zero.
    Activation,
    /// No request for `zero_after`: scaled to zero.
    Idle,
}

/// One decision.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub desired: u32,
    pub reason: Reason,
    pub stable_concurrency: f64,
    pub panic_concurrency: f64,
    pub panicking: bool,
}

/// One workload's autoscaler state.
#[derive(Clone, Debug)]
pub struct Kpa {
    settings: KpaSettings,
    stable: Window,
    panic: Window,
    panicking_since: Option<u64>,
    max_panic_pods: u32,
    /// The last time any request was in flight or waiting (starts at creation).
    last_active: u64,
}

fn nanos(duration: Duration) -> u64 {
    duration.as_nanos().min(u128::from(u64::MAX)) as u64
}

impl Kpa {
    pub fn new(settings: KpaSettings, now: u64) -> Self {
        Self {
            stable: Window::new(nanos(settings.stable_window)),
            panic: Window::new(nanos(settings.panic_window)),
            settings,
            panicking_since: None,
            max_panic_pods: 0,
            last_active: now,
        }
    }

    pub fn settings(&self) -> &KpaSettings {
        &self.settings
    }

    /// New bounds or tuning (a redeploy or `cloudlet scale`); the history is kept.
    pub fn set_settings(&mut self, settings: KpaSettings) {
        if settings.stable_window != self.settings.stable_window || settings.panic_window != self.settings.panic_window
        {
            self.stable = Window::new(nanos(settings.stable_window));
            self.panic = Window::new(nanos(settings.panic_window));
        }
        self.settings = settings;
    }

    /// Records the concurrency observed at `now`.
    pub fn record(&mut self, now: u64, concurrency: f64) {
        self.stable.record(now, concurrency);
        self.panic.record(now, concurrency);
        if concurrency > 0.0 {
            self.last_active = now;
        }
    }

    /// The desired instance count at `now`, with `ready` instances serving and `waiting` requests
    /// held for an instance.
    pub fn decide(&mut self, now: u64, ready: u32, waiting: u32) -> Decision {
        let settings = self.settings;
        let stable = self.stable.average(now);
        let panic = self.panic.average(now);
        let ready_for_rates = f64::from(ready.max(1));
        let max_up = (settings.max_scale_up_rate * ready_for_rates).ceil() as u32;
        let max_down = (ready_for_rates / settings.max_scale_down_rate).floor() as u32;
        let stable_pods = (stable / settings.target()).ceil() as u32;
        let panic_pods = (panic / settings.target()).ceil() as u32;
        let stable_desired = stable_pods.clamp(max_down.min(max_up), max_up);
        let panic_desired = panic_pods.clamp(max_down.min(max_up), max_up);

        let over_panic = f64::from(panic_pods) / ready_for_rates >= settings.panic_threshold && ready > 0;
        let panic_length = nanos(settings.stable_window);
        match self.panicking_since {
            None if over_panic => self.panicking_since = Some(now),
            Some(_) if over_panic => self.panicking_since = Some(now),
            Some(since) if now.saturating_sub(since) >= panic_length => {
                self.panicking_since = None;
                self.max_panic_pods = 0;
            }
            _ => {}
        }
        let panicking = self.panicking_since.is_some();
        let (mut desired, mut reason) = (stable_desired, Reason::Stable);
        if panicking {
            desired = stable_desired.max(panic_desired).max(self.max_panic_pods).max(ready);
            self.max_panic_pods = desired;
            reason = Reason::Panic;
        }
        if ready == 0 && (waiting > 0 || panic > 0.0) {
            desired = desired.max(1);
            reason = Reason::Activation;
        }
        if desired == 0 && now.saturating_sub(self.last_active) < nanos(settings.zero_after) {
            // Idle, but not for long enough: keep one.
            desired = 1;
        }
        if desired < settings.min {
            (desired, reason) = (settings.min, Reason::AtMin);
        } else if desired > settings.max {
            (desired, reason) = (settings.max, Reason::AtMax);
        } else if desired == 0 {
            reason = Reason::Idle;
        }
        Decision { desired, reason, stable_concurrency: stable, panic_concurrency: panic, panicking }
    }
}

#[cfg(test)]
mod tests;
