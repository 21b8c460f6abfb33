use proptest::prelude::*;

use super::*;

const SECOND: u64 = 1_000_000_000;

fn settings(min: u32, max: u32) -> KpaSettings {
    KpaSettings::new(min, max, 10, Duration::from_secs(30))
}

/// Runs `seconds` of constant `concurrency`, a sample a second and a decision every two, applying
/// each decision at once; returns the last decision and the time.
fn run(kpa: &mut Kpa, start: u64, seconds: u64, concurrency: f64, ready: &mut u32) -> (Decision, u64) {
    let mut last = None;
    for second in 0..seconds {
        let now = start + second * SECOND;
        kpa.record(now, concurrency);
        if second % 2 == 1 {
            let decision = kpa.decide(now, *ready, 0);
            *ready = decision.desired;
            last = Some(decision);
        }
    }
    (last.expect("a decision"), start + seconds * SECOND)
}

#[test]
fn steady_load_converges_to_load_over_target() {
    // target 10 × utilization 0.7 = 7 per instance; 50 in flight needs ceil(50 / 7) = 8.
    let mut kpa = Kpa::new(settings(1, 20), 0);
    let mut ready = 1;
    let (decision, _) = run(&mut kpa, 0, 120, 50.0, &mut ready);
    assert_eq!(decision.desired, 8, "{decision:?}");
    assert_eq!(decision.reason, Reason::Stable);
    assert!(!decision.panicking);
}

#[test]
fn a_spike_panics_up_fast_and_holds_until_calm_for_a_stable_window() {
    let mut kpa = Kpa::new(settings(1, 50), 0);
    let mut ready = 1;
    let (_, now) = run(&mut kpa, 0, 70, 3.0, &mut ready);
    assert_eq!(ready, 1);
    // 100 in flight: the panic window sees it within seconds; the stable one would take a minute.
    let (decision, now) = run(&mut kpa, now, 6, 100.0, &mut ready);
    assert!(decision.panicking && decision.desired >= 10, "{decision:?}");
    // Load drops: no scale-down while panicking …
    let peak = ready;
    let (decision, now) = run(&mut kpa, now, 30, 3.0, &mut ready);
    assert!(decision.panicking && ready >= peak, "{decision:?}");
    // … and a stable window of calm later it scales down, at most halving per decision.
    let (decision, _) = run(&mut kpa, now, 90, 3.0, &mut ready);
    assert!(!decision.panicking, "{decision:?}");
    assert_eq!(decision.desired, 1);
}

#[test]
fn min_zero_scales_to_zero_only_after_zero_after_without_requests() {
    let mut kpa = Kpa::new(settings(0, 5), 0);
    let mut ready = 1;
    let (decision, now) = run(&mut kpa, 0, 20, 0.0, &mut ready);
    assert_eq!(decision.desired, 1, "idle for 20 s of the 30 s: {decision:?}");
    let (decision, now) = run(&mut kpa, now, 12, 0.0, &mut ready);
    assert_eq!((decision.desired, decision.reason), (0, Reason::Idle));
    // A request waiting at zero asks for an instance at once.
    let decision = kpa.decide(now, 0, 1);
    assert_eq!((decision.desired, decision.reason), (1, Reason::Activation));
    // With min = 1 it never goes to zero.
    let mut kept = Kpa::new(settings(1, 5), 0);
    let mut ready = 1;
    let (decision, _) = run(&mut kept, 0, 200, 0.0, &mut ready);
    assert_eq!((decision.desired, decision.reason), (1, Reason::AtMin));
}

#[test]
fn bounds_are_reported_as_reasons() {
    let mut kpa = Kpa::new(settings(2, 4), 0);
    let mut ready = 2;
    let (decision, _) = run(&mut kpa, 0, 120, 500.0, &mut ready);
    assert_eq!((decision.desired, decision.reason), (4, Reason::AtMax));
}

proptest! {
    #[test]
    fn decisions_stay_within_bounds_and_never_scale_down_in_panic(
        min in 0u32..4,
        extra in 0u32..20,
        target in 1u32..50,
        loads in prop::collection::vec(0.0f64..500.0, 1..120),
        waiting in prop::collection::vec(0u32..5, 1..120),
    ) {
        let max = (min + extra).max(1);
        let mut kpa = Kpa::new(KpaSettings::new(min, max, target, Duration::from_secs(30)), 0);
        let mut ready = min.max(1);
        for (step, load) in loads.iter().enumerate() {
            let now = step as u64 * SECOND;
            kpa.record(now, *load);
            let decision = kpa.decide(now, ready, waiting[step % waiting.len()]);
            prop_assert!(decision.desired >= min && decision.desired <= max, "{:?} outside {}..={}", decision, min, max);
            if decision.panicking {
                prop_assert!(decision.desired >= ready.min(max), "scaled down from {} while panicking: {:?}", ready, decision);
            }
            ready = decision.desired;
        }
    }

    #[test]
    fn steady_load_always_converges_to_ceil_of_load_over_target(load in 0.5f64..300.0, target in 1u32..40) {
        let mut kpa = Kpa::new(KpaSettings::new(1, 1000, target, Duration::from_secs(30)), 0);
        let mut ready = 1;
        let (decision, _) = run(&mut kpa, 0, 200, load, &mut ready);
        let expected = ((load / (f64::from(target) * 0.7)).ceil() as u32).max(1);
        prop_assert_eq!(decision.desired, expected, "{:?}", decision);
    }
}
