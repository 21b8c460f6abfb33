use proptest::prelude::*;

use super::Rng;
use super::*;

fn candidate(in_flight: u32, rtt_ms: f64) -> Candidate {
    Candidate { eligible: true, in_flight, rtt_ns: rtt_ms * 1e6, weight: 1.0 }
}

fn pick(policy: &Policy, candidates: &[Candidate], sequence: u64, rng: &mut Rng) -> Option<usize> {
    choose(policy, candidates, &Choice { sequence, key: None, table: None }, &mut || rng.next_u64())
}

fn shares(policy: &Policy, candidates: &[Candidate], draws: usize) -> Vec<usize> {
    let mut rng = Rng::new(42);
    let mut counts = vec![0; candidates.len()];
    for sequence in 0..draws {
        counts[pick(policy, candidates, sequence as u64, &mut rng).expect("a choice")] += 1;
    }
    counts
}

#[test]
fn round_robin_takes_eligible_endpoints_in_turn() {
    let mut candidates = vec![candidate(0, 1.0); 4];
    candidates[1].eligible = false;
    let mut rng = Rng::new(1);
    let picked: Vec<usize> =
        (0..6).map(|s| pick(&Policy::RoundRobin, &candidates, s, &mut rng).expect("pick")).collect();
    assert_eq!(picked, [0, 2, 3, 0, 2, 3]);
}

#[test]
fn peak_ewma_starves_a_slow_endpoint_and_shares_among_equals() {
    let candidates = [candidate(0, 5.0), candidate(0, 5.0), candidate(0, 500.0)];
    let counts = shares(&Policy::PeakEwma, &candidates, 3000);
    assert_eq!(counts[2], 0, "two choices never take the worst: {counts:?}");
    assert!(counts[0] > 1300 && counts[1] > 1300, "{counts:?}");
    // Load counts too: a busy fast endpoint loses to an idle one of the same speed.
    let busy = [candidate(9, 5.0), candidate(0, 5.0)];
    assert_eq!(shares(&Policy::PeakEwma, &busy, 100), [0, 100]);
}

#[test]
fn least_request_takes_the_least_busy_and_breaks_ties_at_random() {
    let candidates = [candidate(3, 1.0), candidate(1, 1.0), candidate(1, 1.0), candidate(2, 1.0)];
    let counts = shares(&Policy::LeastRequest, &candidates, 1000);
    assert_eq!((counts[0], counts[3]), (0, 0));
    assert!(counts[1] > 400 && counts[2] > 400, "{counts:?}");
}

#[test]
fn weighted_follows_the_weights() {
    let mut candidates = [candidate(0, 1.0), candidate(0, 1.0), candidate(0, 1.0)];
    candidates[0].weight = 1.0;
    candidates[1].weight = 3.0;
    candidates[2].eligible = false;
    let counts = shares(&Policy::Weighted, &candidates, 8000);
    assert_eq!(counts[2], 0);
    assert!((1800..2200).contains(&counts[0]) && (5800..6200).contains(&counts[1]), "{counts:?}");
}

#[test]
fn a_hash_key_sticks_to_its_endpoint_and_moves_only_while_that_one_is_out() {
    let ids: Vec<(u64, u32)> = (0..4).map(|i| (stable_hash(format!("web-{i}").as_bytes()), 1)).collect();
    let table = Maglev::build(&ids, 1009);
    let mut candidates = vec![candidate(0, 1.0); 4];
    let policy = Policy::Hash(HashOn::Header("x-user".into()));
    let mut rng = Rng::new(3);
    let mut for_key = |candidates: &[Candidate], key: &str| {
        let choice = Choice { sequence: 0, key: Some(stable_hash(key.as_bytes())), table: Some(&table) };
        choose(&policy, candidates, &choice, &mut || rng.next_u64()).expect("pick")
    };
    let owners: Vec<usize> = (0..50).map(|k| for_key(&candidates, &format!("user-{k}"))).collect();
    for _ in 0..3 {
        let again: Vec<usize> = (0..50).map(|k| for_key(&candidates, &format!("user-{k}"))).collect();
        assert_eq!(again, owners, "the same keys, the same endpoints");
    }
    assert!(owners.iter().collect::<std::collections::BTreeSet<_>>().len() == 4, "keys spread over all four");
    candidates[owners[0]].eligible = false;
    let moved = for_key(&candidates, "user-0");
    assert_ne!(moved, owners[0]);
    let untouched: Vec<usize> = (0..50).filter(|&k| owners[k] != owners[0]).collect();
    assert!(untouched.iter().all(|&k| for_key(&candidates, &format!("user-{k}")) == owners[k]), "others stay");
    candidates[owners[0]].eligible = true;
    assert_eq!(for_key(&candidates, "user-0"), owners[0], "back when its endpoint is");
}

#[test]
fn slow_start_ramps_from_a_tenth_to_all() {
    let window = Duration::from_secs(10);
    assert!((slow_start(Duration::ZERO, window) - 0.1).abs() < 1e-9);
    assert!((slow_start(Duration::from_secs(5), window) - 0.55).abs() < 1e-9);
    assert_eq!(slow_start(Duration::from_secs(11), window), 1.0);
    assert_eq!(slow_start(Duration::ZERO, Duration::ZERO), 1.0);
}

fn policies() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::PeakEwma),
        Just(Policy::RoundRobin),
        Just(Policy::LeastRequest),
        Just(Policy::Weighted),
        Just(Policy::Hash(HashOn::ClientIp)),
    ]
}

fn candidates() -> impl Strategy<Value = Vec<Candidate>> {
    prop::collection::vec(
        (any::<bool>(), 0u32..50, 0.0f64..1e9, 0.1f64..10.0)
            .prop_map(|(eligible, in_flight, rtt_ns, weight)| Candidate { eligible, in_flight, rtt_ns, weight }),
        0..12,
    )
}

proptest! {
    #[test]
    fn only_eligible_endpoints_are_chosen_and_one_is_whenever_possible(
        policy in policies(), candidates in candidates(), seed in any::<u64>(), sequence in any::<u64>(), key in any::<u64>(),
    ) {
        let ids: Vec<(u64, u32)> = (0..candidates.len() as u64).map(|i| (i, 1)).collect();
        let table = Maglev::build(&ids, 101);
        let mut rng = Rng::new(seed);
        let choice = Choice { sequence, key: Some(key), table: Some(&table) };
        let chosen = choose(&policy, &candidates, &choice, &mut || rng.next_u64());
        match chosen {
            Some(index) => prop_assert!(candidates[index].eligible),
            None => prop_assert!(candidates.iter().all(|candidate| !candidate.eligible)),
        }
    }

    #[test]
    fn two_choices_never_take_the_single_worst_endpoint(
        loads in prop::collection::vec(1u32..1000, 2..10), seed in any::<u64>(),
    ) {
        let candidates: Vec<Candidate> = loads.iter().map(|&rtt| candidate(0, f64::from(rtt))).collect();
        let worst = loads.iter().max().copied().unwrap_or(0);
        prop_assume!(loads.iter().filter(|&&load| load == worst).count() == 1);
        let mut rng = Rng::new(seed);
        let chosen = pick(&Policy::PeakEwma, &candidates, 0, &mut rng).expect("pick");
        prop_assert_ne!(loads[chosen], worst);
    }
}
