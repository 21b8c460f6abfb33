//! A time window of samples and their average: what the KPA's stable and panic windows hold.

use std::collections::VecDeque;

/// Samples `(time in ns, value)` from the last `length_ns`.
#[derive(Clone, Debug)]
pub struct Window {
    length_ns: u64,
    samples: VecDeque<(u64, f64)>,
}

impl Window {
    pub fn new(length_ns: u64) -> Self {
        Self { length_ns, samples: VecDeque::new() }
    }

    /// Adds a sample taken at `now`, dropping those that fell out of the window.
    pub fn record(&mut self, now: u64, value: f64) {
        self.samples.push_back((now, value));
        self.expire(now);
    }

    fn expire(&mut self, now: u64) {
        let start = now.saturating_sub(self.length_ns);
        while self.samples.front().is_some_and(|(at, _)| *at < start) {
            self.samples.pop_front();
        }
    }

    /// The mean of the samples in the window at `now`; 0 without any.
    pub fn average(&mut self, now: u64) -> f64 {
        self.expire(now);
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples.iter().map(|(_, value)| value).sum::<f64>() / self.samples.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_covers_only_the_window() {
        let mut window = Window::new(10);
        window.record(0, 100.0);
        window.record(5, 2.0);
        window.record(9, 4.0);
        assert_eq!(window.average(9), (100.0 + 2.0 + 4.0) / 3.0);
        assert_eq!(window.average(12), 3.0, "the sample at 0 left the window");
        assert_eq!(window.average(100), 0.0);
    }
}
