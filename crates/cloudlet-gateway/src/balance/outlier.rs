//! Passive outlier detection (Envoy's consecutive-errors ejection): an endpoint whose answers fail
//! `consecutive` times in a row — 5xx statuses, connect failures, broken connections — is taken out
//! of balancing for a while. The ejection grows with repeats (`base × times ejected`, capped at
//! `max`), and each `base` period an endpoint stays healthy after coming back forgives one repeat.
//! The caller decides whether ejecting is allowed now (the share of ejected endpoints is capped).
//! Times are nanoseconds on a caller-chosen clock.

use std::time::Duration;

/// When to eject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutlierPolicy {
    /// Failures in a row that eject an endpoint. 0 turns detection off.
    pub consecutive: u32,
    /// First ejection; the n-th in a row lasts `n × base`.
    pub base_ejection: Duration,
    /// Longest ejection.
    pub max_ejection: Duration,
    /// Most endpoints of an upstream ejected at once, in percent (at least one when two or more are
    /// eligible; never the last eligible endpoint).
    pub max_ejected_percent: u32,
}

impl Default for OutlierPolicy {
    fn default() -> Self {
        Self {
            consecutive: 5,
            base_ejection: Duration::from_secs(30),
            max_ejection: Duration::from_secs(300),
            max_ejected_percent: 50,
        }
    }
}

impl OutlierPolicy {
    /// How many of `eligible` endpoints (ejected ones not counted) may be ejected in all, given
    /// `ejected` already are.
    pub fn may_eject(&self, eligible: usize, ejected: usize) -> bool {
        let total = eligible + ejected;
        let cap = ((total * self.max_ejected_percent as usize) / 100).max(1);
        eligible >= 2 && ejected < cap
    }
}

/// One endpoint's record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutlierState {
    failures: u32,
    /// Ejections in a row, the multiplier of the next one.
    ejections: u32,
    ejected_until: u64,
    /// When the endpoint last came back, or last had a repeat forgiven.
    back_since: u64,
}

/// What a recorded answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Fine,
    /// Ejected until the given time.
    Ejected(u64),
}

impl OutlierState {
    pub fn is_ejected(&self, now: u64) -> bool {
        now < self.ejected_until
    }

    /// Times in a row the endpoint has been ejected.
    pub fn ejections(&self) -> u32 {
        self.ejections
    }

    /// Records one answer. `may_eject` says whether the upstream can spare this endpoint now.
    pub fn record(&mut self, failed: bool, now: u64, policy: &OutlierPolicy, may_eject: bool) -> Verdict {
        let base = policy.base_ejection.as_nanos() as u64;
        if !failed {
            self.failures = 0;
            if self.ejections > 0 && now >= self.ejected_until && now.saturating_sub(self.back_since) >= base {
                self.ejections -= 1;
                self.back_since = now;
            }
            return Verdict::Fine;
        }
        self.failures += 1;
        if policy.consecutive == 0 || self.failures < policy.consecutive || self.is_ejected(now) || !may_eject {
            return Verdict::Fine;
        }
        self.ejections = self.ejections.saturating_add(1);
        let length = base.saturating_mul(u64::from(self.ejections)).min(policy.max_ejection.as_nanos() as u64);
        self.ejected_until = now.saturating_add(length);
        self.back_since = self.ejected_until;
        self.failures = 0;
        Verdict::Ejected(self.ejected_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn policy() -> OutlierPolicy {
        OutlierPolicy {
            consecutive: 3,
            base_ejection: Duration::from_secs(10),
            max_ejection: Duration::from_secs(25),
            max_ejected_percent: 50,
        }
    }

    #[test]
    fn consecutive_failures_eject_for_longer_each_time_up_to_the_cap() {
        let mut state = OutlierState::default();
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..4 {
            let mut verdict = Verdict::Fine;
            for _ in 0..3 {
                verdict = state.record(true, now, &policy(), true);
            }
            let Verdict::Ejected(until) = verdict else { panic!("three failures eject") };
            assert!(state.is_ejected(now) && !state.is_ejected(until));
            lengths.push((until - now) / SECOND);
            now = until;
        }
        assert_eq!(lengths, [10, 20, 25, 25]);
    }

    #[test]
    fn a_success_resets_the_count_and_time_healthy_forgives_repeats() {
        let mut state = OutlierState::default();
        state.record(true, 0, &policy(), true);
        state.record(true, 0, &policy(), true);
        state.record(false, 0, &policy(), true);
        assert_eq!(state.record(true, 0, &policy(), true), Verdict::Fine, "the count started over");
        for _ in 0..2 {
            state.record(true, 0, &policy(), true);
        }
        assert_eq!(state.ejections(), 1);
        // Back at 10 s; healthy through 20 s forgives the repeat.
        state.record(false, 21 * SECOND, &policy(), true);
        assert_eq!(state.ejections(), 0);
    }

    #[test]
    fn no_ejection_when_the_upstream_cannot_spare_the_endpoint() {
        let mut state = OutlierState::default();
        for _ in 0..10 {
            assert_eq!(state.record(true, 0, &policy(), false), Verdict::Fine);
        }
        assert!(!policy().may_eject(1, 0), "never the last eligible endpoint");
        assert!(policy().may_eject(2, 0), "one of two may go");
        assert!(!policy().may_eject(2, 2), "half of four are out already");
        assert!(policy().may_eject(9, 0) && !policy().may_eject(5, 5));
    }
}
