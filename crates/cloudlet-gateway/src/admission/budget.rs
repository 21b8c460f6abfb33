//! A retry budget (Finagle's `RetryBudget`, tower's `TpsBudget`): retries may add at most a share of
//! the requests seen in the last `ttl`, plus a floor of `min_per_second` so a quiet route can still
//! retry. It keeps a failing upstream from being hit with a multiple of its load exactly when it
//! is least able to take it. Pure: time is passed in (nanoseconds on any clock).

use std::time::Duration;

/// Slots the window is split into.
const SLOTS: usize = 10;

#[derive(Clone, Debug)]
pub struct RetryBudget {
    /// Retries allowed per request, e.g. 0.2.
    percent: f64,
    /// Retries allowed per second regardless of traffic.
    min_per_second: f64,
    slot_ns: u64,
    /// Per slot: (slot number, requests deposited, retries withdrawn).
    slots: [(u64, f64, f64); SLOTS],
}

impl RetryBudget {
    pub fn new(ttl: Duration, min_per_second: u32, percent: f64) -> Self {
        let ttl = ttl.max(Duration::from_secs(1));
        Self {
            percent: percent.max(0.0),
            min_per_second: f64::from(min_per_second),
            slot_ns: (ttl.as_nanos() as u64 / SLOTS as u64).max(1),
            slots: [(u64::MAX, 0.0, 0.0); SLOTS],
        }
    }

    fn slot(&mut self, now: u64) -> &mut (u64, f64, f64) {
        let number = now / self.slot_ns;
        let slot = &mut self.slots[(number % SLOTS as u64) as usize];
        if slot.0 != number {
            *slot = (number, 0.0, 0.0);
        }
        slot
    }

    fn live(&self, now: u64) -> impl Iterator<Item = &(u64, f64, f64)> {
        let current = now / self.slot_ns;
        self.slots
            .iter()
            .filter(move |(number, _, _)| *number != u64::MAX && current.saturating_sub(*number) < SLOTS as u64)
    }

    /// Counts an original request.
    pub fn deposit(&mut self, now: u64) {
        self.slot(now).1 += 1.0;
    }

    /// Takes one retry if the budget allows it.
    pub fn withdraw(&mut self, now: u64) -> bool {
        let window_seconds = self.slot_ns as f64 * SLOTS as f64 / 1e9;
        let (requests, retries) =
            self.live(now).fold((0.0, 0.0), |(requests, retries), (_, r, w)| (requests + r, retries + w));
        let allowed = self.min_per_second * window_seconds + requests * self.percent;
        if retries + 1.0 > allowed {
            return false;
        }
        self.slot(now).2 += 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn retries_are_a_share_of_requests_plus_a_floor() {
        // 10 s window, 1 retry a second guaranteed, 20% of requests on top.
        let mut budget = RetryBudget::new(Duration::from_secs(10), 1, 0.2);
        let granted = (0..100).filter(|_| budget.withdraw(0)).count();
        assert_eq!(granted, 10, "the floor: 1 per second over the 10 s window");
        for _ in 0..100 {
            budget.deposit(SECOND);
        }
        let more = (0..100).filter(|_| budget.withdraw(SECOND)).count();
        assert_eq!(more, 20, "20% of 100 requests");
    }

    #[test]
    fn the_window_slides() {
        let mut budget = RetryBudget::new(Duration::from_secs(10), 0, 0.5);
        for _ in 0..10 {
            budget.deposit(0);
        }
        assert_eq!((0..10).filter(|_| budget.withdraw(0)).count(), 5);
        assert!(!budget.withdraw(5 * SECOND), "still within the window");
        assert!(!budget.withdraw(11 * SECOND), "the requests left the window with the retries");
        for _ in 0..2 {
            budget.deposit(11 * SECOND);
        }
        assert!(budget.withdraw(11 * SECOND));
    }
}
