//! Restart delays: exponential, capped, and forgiven after an instance runs well for a while.

use std::time::Duration;

/// First restart delay.
pub const INITIAL: Duration = Duration::from_millis(250);
/// Longest restart delay.
pub const MAX: Duration = Duration::from_secs(30);
/// An instance that stayed up this long starts its next backoff from [`INITIAL`] again.
pub const RESET_AFTER: Duration = Duration::from_secs(60);

/// The delay before restart number `attempt` (0-based) of a run of consecutive failures.
pub fn delay(attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
    INITIAL.saturating_mul(factor).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_from_the_initial_delay_up_to_the_cap() {
        assert_eq!(delay(0), INITIAL);
        assert_eq!(delay(1), INITIAL * 2);
        assert_eq!(delay(3), INITIAL * 8);
        assert_eq!(delay(20), MAX);
    }

    proptest! {
        #[test]
        fn never_exceeds_the_cap_and_never_shrinks(attempt in 0u32..10_000) {
            prop_assert!(delay(attempt) <= MAX);
            prop_assert!(delay(attempt) <= delay(attempt.saturating_add(1)));
        }
    }
}
