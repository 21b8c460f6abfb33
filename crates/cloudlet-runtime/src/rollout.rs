//! What a workload should do next to reach its desired state: which instances to start and stop.
//!
//! [`plan`] is a pure function of the desired replica count and the instances that exist. Called
//! after every change, it converges on `desired` ready instances of the current revision while
//! keeping traffic served:
//! - instances of an old revision that are not ready serve nothing and stop at once;
//! - new instances start; while old ready ones still serve, at most [`surge`] start at a time;
//! - an old ready instance stops only when enough other instances are ready to take its place,
//!   so ready instances never drop below `min(desired, ready before)` during a rolling update;
//! - excess instances of the current revision stop, not-ready ones first, then the newest.

/// What the planner needs to know about one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceView {
    /// Runs the revision the workload should run.
    pub current: bool,
    /// Passing its health check and taking traffic.
    pub ready: bool,
}

/// One step of the plan; indices refer to the slice given to [`plan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop(usize),
}

/// Instances of the new revision started at once while old ones still serve.
pub fn surge(desired: u32) -> usize {
    (desired as usize / 4).max(1)
}

/// The actions that move `instances` towards `desired` ready instances of the current revision.
pub fn plan(desired: u32, instances: &[InstanceView]) -> Vec<Action> {
    let desired = desired as usize;
    let mut actions = Vec::new();
    let old_ready: Vec<usize> = indices(instances, |i| !i.current && i.ready);
    let old_unready: Vec<usize> = indices(instances, |i| !i.current && !i.ready);
    let new_ready: Vec<usize> = indices(instances, |i| i.current && i.ready);
    let new_unready: Vec<usize> = indices(instances, |i| i.current && !i.ready);

    actions.extend(old_unready.iter().map(|&index| Action::Stop(index)));

    let new_total = new_ready.len() + new_unready.len();
    if new_total > desired {
        // Scale down: not-ready first, then the newest ready ones.
        let excess = new_total - desired;
        let victims = new_unready.iter().rev().chain(new_ready.iter().rev()).take(excess);
        actions.extend(victims.map(|&index| Action::Stop(index)));
    } else if new_total < desired {
        let missing = desired - new_total;
        let starts = if old_ready.is_empty() {
            missing
        } else {
            missing.min(surge(desired as u32).saturating_sub(new_unready.len()))
        };
        actions.extend(std::iter::repeat_n(Action::Start, starts));
    }

    // Old ready instances go once the others ready can carry the desired count.
    let ready_new = new_ready.len().min(desired);
    let keep_old = desired.saturating_sub(ready_new);
    actions.extend(old_ready.iter().skip(keep_old).map(|&index| Action::Stop(index)));
    actions
}

fn indices(instances: &[InstanceView], keep: impl Fn(&InstanceView) -> bool) -> Vec<usize> {
    instances.iter().enumerate().filter(|(_, instance)| keep(instance)).map(|(index, _)| index).collect()
}

#[cfg(test)]
mod tests;
