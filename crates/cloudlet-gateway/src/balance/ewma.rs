//! Peak EWMA of an endpoint's response time (Finagle's `PeakEwma`, as in tower and linkerd2-proxy).
//!
//! The estimate jumps to any response time above it at once (so a slowing endpoint is seen on its
//! first slow answer) and otherwise moves towards new samples with weight `1 - e^(-elapsed/decay)`.
//! Read at a later time, it decays towards zero as if fast answers had come in: an endpoint that
//! has been avoided for a while is tried again. Times are nanoseconds on a caller-chosen clock.

/// Default decay: how long an observation takes to fade by a factor of e.
pub const DECAY_NS: f64 = 10e9;
/// What an endpoint nothing has been measured on is assumed to take.
pub const DEFAULT_RTT_NS: f64 = 30e6;

/// One endpoint's estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakEwma {
    estimate_ns: f64,
    updated_ns: u64,
}

impl PeakEwma {
    /// A new endpoint, assumed to answer in `default_rtt_ns`.
    pub fn new(default_rtt_ns: f64, now_ns: u64) -> Self {
        Self { estimate_ns: default_rtt_ns, updated_ns: now_ns }
    }

    /// The estimate at `now_ns`, decayed since the last observation.
    pub fn estimate(&self, now_ns: u64, decay_ns: f64) -> f64 {
        let elapsed = now_ns.saturating_sub(self.updated_ns) as f64;
        self.estimate_ns * (-elapsed / decay_ns).exp()
    }

    /// Records a response that took `rtt_ns`, observed at `now_ns`.
    pub fn observe(&mut self, rtt_ns: f64, now_ns: u64, decay_ns: f64) {
        let current = self.estimate(now_ns, decay_ns);
        self.estimate_ns = if rtt_ns > current {
            rtt_ns
        } else {
            let elapsed = now_ns.saturating_sub(self.updated_ns) as f64;
            let weight = 1.0 - (-elapsed / decay_ns).exp();
            current * (1.0 - weight) + rtt_ns * weight
        };
        self.updated_ns = self.updated_ns.max(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_slow_answer_raises_the_estimate_at_once() {
        let mut ewma = PeakEwma::new(10.0 * MS as f64, 0);
        ewma.observe(500.0 * MS as f64, MS, DECAY_NS);
        assert_eq!(ewma.estimate(MS, DECAY_NS), 500.0 * MS as f64);
    }

    #[test]
    fn fast_answers_bring_it_down_gradually_and_idleness_decays_it() {
        let mut ewma = PeakEwma::new(100.0 * MS as f64, 0);
        let mut now = 0;
        let mut last = ewma.estimate(now, DECAY_NS);
        for _ in 0..50 {
            now += 100 * MS;
            ewma.observe(MS as f64, now, DECAY_NS);
            let estimate = ewma.estimate(now, DECAY_NS);
            assert!(estimate < last && estimate >= MS as f64 * 0.99, "{estimate} after {last}");
            last = estimate;
        }
        let idle = ewma.estimate(now + 60_000 * MS, DECAY_NS);
        assert!(idle < last / 100.0, "an idle endpoint's estimate fades: {idle}");
    }

    #[test]
    fn observations_out_of_order_do_not_move_time_backwards() {
        let mut ewma = PeakEwma::new(MS as f64, 10 * MS);
        ewma.observe(2.0 * MS as f64, 5 * MS, DECAY_NS);
        assert_eq!(ewma.updated_ns, 10 * MS);
        assert!(ewma.estimate(10 * MS, DECAY_NS).is_finite());
    }
}
