//! A token bucket: `rate` tokens a second, at most `burst` saved up. Pure: time is passed in.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    updated_ns: u64,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(burst: f64, now: u64) -> Self {
        Self { tokens: burst, updated_ns: now }
    }

    fn refill(&mut self, now: u64, rate: f64, burst: f64) {
        let elapsed = now.saturating_sub(self.updated_ns) as f64 / 1e9;
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.updated_ns = self.updated_ns.max(now);
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&mut self, now: u64, rate: f64, burst: f64) -> Result<(), Duration> {
        self.refill(now, rate, burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(if rate > 0.0 { missing / rate } else { 3600.0 }))
    }

    /// Whether the bucket is full at `now` (nothing to remember about this client).
    pub fn is_full(&self, now: u64, rate: f64, burst: f64) -> bool {
        let mut copy = *self;
        copy.refill(now, rate, burst);
        copy.tokens >= burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(5.0, 0);
        assert_eq!((0..10).filter(|_| bucket.take(0, 10.0, 5.0).is_ok()).count(), 5);
        let wait = bucket.take(0, 10.0, 5.0).expect_err("empty");
        assert_eq!(wait, Duration::from_millis(100));
        assert!(bucket.take(100 * MS, 10.0, 5.0).is_ok(), "one token back after 100 ms");
        assert!(bucket.take(100 * MS, 10.0, 5.0).is_err());
        assert!(bucket.is_full(10_000 * MS, 10.0, 5.0));
        assert_eq!((0..10).filter(|_| bucket.take(10_000 * MS, 10.0, 5.0).is_ok()).count(), 5, "never above burst");
    }
}
