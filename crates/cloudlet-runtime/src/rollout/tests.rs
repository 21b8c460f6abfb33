use super::*;
use proptest::prelude::*;

const NEW_READY: InstanceView = InstanceView { current: true, ready: true };
const NEW_STARTING: InstanceView = InstanceView { current: true, ready: false };
const OLD_READY: InstanceView = InstanceView { current: false, ready: true };
const OLD_BROKEN: InstanceView = InstanceView { current: false, ready: false };

fn starts(actions: &[Action]) -> usize {
    actions.iter().filter(|a| **a == Action::Start).count()
}

fn stops(actions: &[Action]) -> Vec<usize> {
    actions.iter().filter_map(|a| if let Action::Stop(i) = a { Some(*i) } else { None }).collect()
}

#[test]
fn first_deploy_starts_every_replica_at_once() {
    assert_eq!(plan(3, &[]), vec![Action::Start; 3]);
}

#[test]
fn steady_state_does_nothing() {
    assert!(plan(2, &[NEW_READY, NEW_READY]).is_empty());
    assert!(plan(2, &[NEW_READY, NEW_STARTING]).is_empty());
}

#[test]
fn rolling_update_surges_one_and_keeps_old_until_new_is_ready() {
    let old = [OLD_READY, OLD_READY, OLD_READY];
    assert_eq!(plan(3, &old), vec![Action::Start]);
    let one_starting = [OLD_READY, OLD_READY, OLD_READY, NEW_STARTING];
    assert!(plan(3, &one_starting).is_empty(), "wait for the new instance to be ready");
    let one_ready = [OLD_READY, OLD_READY, OLD_READY, NEW_READY];
    let actions = plan(3, &one_ready);
    assert_eq!(starts(&actions), 1);
    assert_eq!(stops(&actions), vec![2]);
}

#[test]
fn broken_old_instances_stop_immediately() {
    let actions = plan(1, &[OLD_BROKEN, NEW_STARTING]);
    assert_eq!(stops(&actions), vec![0]);
}

#[test]
fn scale_down_prefers_instances_that_are_not_ready() {
    let actions = plan(1, &[NEW_READY, NEW_STARTING, NEW_READY]);
    assert_eq!(stops(&actions), vec![1, 2]);
}

#[test]
fn scale_to_zero_stops_everything() {
    let actions = plan(0, &[NEW_READY, OLD_READY]);
    let mut stopped = stops(&actions);
    stopped.sort();
    assert_eq!(stopped, vec![0, 1]);
}

fn view() -> impl Strategy<Value = InstanceView> {
    (any::<bool>(), any::<bool>()).prop_map(|(current, ready)| InstanceView { current, ready })
}

/// Applies a plan, then lets every started or not-ready new instance become ready.
fn step(desired: u32, instances: &[InstanceView]) -> Vec<InstanceView> {
    let actions = plan(desired, instances);
    let stopped = stops(&actions);
    let mut next: Vec<InstanceView> =
        instances.iter().enumerate().filter(|(i, _)| !stopped.contains(i)).map(|(_, v)| *v).collect();
    next.extend(std::iter::repeat_n(NEW_STARTING, starts(&actions)));
    next.iter_mut().filter(|v| v.current).for_each(|v| v.ready = true);
    next
}

proptest! {
    #[test]
    fn converges_to_desired_ready_instances_of_the_current_revision(
        desired in 0u32..12,
        instances in prop::collection::vec(view(), 0..12),
    ) {
        let mut state = instances;
        for _ in 0..40 {
            state = step(desired, &state);
        }
        prop_assert_eq!(state.len(), desired as usize);
        prop_assert!(state.iter().all(|v| v.current && v.ready));
    }

    #[test]
    fn a_rolling_update_never_lowers_the_ready_count_below_what_is_needed(
        desired in 1u32..12,
        old in 1usize..12,
    ) {
        let mut state = vec![OLD_READY; old];
        let floor = old.min(desired as usize);
        for _ in 0..40 {
            let actions = plan(desired, &state);
            let stopped = stops(&actions);
            let ready_after_stops = state.iter().enumerate().filter(|(i, v)| v.ready && !stopped.contains(i)).count();
            prop_assert!(ready_after_stops >= floor, "ready {} < floor {}", ready_after_stops, floor);
            state = step(desired, &state);
        }
    }

    #[test]
    fn never_plans_to_stop_the_same_instance_twice(
        desired in 0u32..12,
        instances in prop::collection::vec(view(), 0..12),
    ) {
        let mut stopped = stops(&plan(desired, &instances));
        let count = stopped.len();
        stopped.sort();
        stopped.dedup();
        prop_assert_eq!(stopped.len(), count);
        prop_assert!(stopped.iter().all(|&i| i < instances.len()));
    }
}
