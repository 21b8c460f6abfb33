//! Choosing an endpoint: pure functions over plain data, no I/O and no clock (callers pass time in).
//!
//! [`choose`] applies a route's [`Policy`] to the [`Candidate`]s of its upstream:
//! - `PeakEwma` (the default): power of two choices — two random eligible endpoints, the one with the
//!   lower `peak EWMA response time × (requests in flight + 1) / weight` wins (linkerd's and
//!   Finagle's balancer; [`ewma`]);
//! - `RoundRobin`: each eligible endpoint in turn;
//! - `LeastRequest`: the fewest requests in flight per unit of weight, ties broken at random;
//! - `Weighted`: at random, in proportion to weight;
//! - `Hash`: consistent hashing of a header, a cookie or the client's IP on a [`maglev`] table, so a
//!   key keeps its endpoint while the endpoint set is stable, and only ~1/N of keys move when it changes.
//!
//! An endpoint's weight is its configured weight scaled by [`slow_start`] after it joins or comes back;
//! ejected and draining endpoints are not eligible ([`outlier`]).

pub mod ewma;
pub mod maglev;
pub mod outlier;

use std::time::Duration;

pub use ewma::PeakEwma;
pub use maglev::{Maglev, stable_hash};
pub use outlier::{OutlierPolicy, OutlierState, Verdict};

/// How a route spreads requests over its endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    #[default]
    PeakEwma,
    RoundRobin,
    LeastRequest,
    Weighted,
    Hash(HashOn),
}

/// What a consistent-hash route keys on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashOn {
    /// A request header (lower-case name); requests without it are spread at random.
    Header(String),
    /// A cookie (by name); requests without it are spread at random.
    Cookie(String),
    /// The client's IP address.
    ClientIp,
}

/// What the balancer knows of one endpoint at the moment of choosing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Not ejected, not draining, not the endpoint that just failed.
    pub eligible: bool,
    pub in_flight: u32,
    /// Peak EWMA response time now, in nanoseconds.
    pub rtt_ns: f64,
    /// Effective weight (configured weight × slow-start factor), > 0.
    pub weight: f64,
}

impl Candidate {
    fn ewma_load(&self) -> f64 {
        self.rtt_ns * f64::from(self.in_flight + 1) / self.weight
    }

    fn request_load(&self) -> f64 {
        f64::from(self.in_flight) / self.weight
    }
}

/// Per-choice inputs besides the candidates.
pub struct Choice<'a> {
    /// Increases by one per request (round-robin position).
    pub sequence: u64,
    /// Hash of the request's key, for `Hash` routes; `None` when the request has no key.
    pub key: Option<u64>,
    /// The consistent-hash table over the candidates, for `Hash` routes.
    pub table: Option<&'a Maglev>,
}

/// The index of the endpoint to send a request to, or `None` when no candidate is eligible.
/// `random` returns uniformly distributed 64-bit numbers.
pub fn choose(
    policy: &Policy,
    candidates: &[Candidate],
    choice: &Choice<'_>,
    random: &mut impl FnMut() -> u64,
) -> Option<usize> {
    let eligible = candidates.iter().filter(|candidate| candidate.eligible).count();
    if eligible == 0 {
        return None;
    }
    let nth_eligible = |n: usize| candidates.iter().enumerate().filter(|(_, c)| c.eligible).nth(n).map(|(i, _)| i);
    match policy {
        Policy::RoundRobin => nth_eligible((choice.sequence % eligible as u64) as usize),
        Policy::PeakEwma => two_choices(candidates, eligible, random, Candidate::ewma_load),
        Policy::LeastRequest => {
            let best = candidates
                .iter()
                .filter(|candidate| candidate.eligible)
                .map(Candidate::request_load)
                .fold(f64::INFINITY, f64::min);
            let ties: Vec<usize> = candidates
                .iter()
                .enumerate()
                .filter(|(_, candidate)| candidate.eligible && candidate.request_load() <= best)
                .map(|(index, _)| index)
                .collect();
            ties.get((random() % ties.len().max(1) as u64) as usize).copied()
        }
        Policy::Weighted => weighted(candidates, random),
        Policy::Hash(_) => match (choice.key, choice.table) {
            (Some(key), Some(table)) => {
                table.candidates(key).find(|&index| candidates.get(index).is_some_and(|c| c.eligible))
            }
            _ => weighted(candidates, random),
        },
    }
}

/// Two distinct random eligible candidates; the less loaded one.
fn two_choices(
    candidates: &[Candidate],
    eligible: usize,
    random: &mut impl FnMut() -> u64,
    load: fn(&Candidate) -> f64,
) -> Option<usize> {
    let indices: Vec<usize> =
        candidates.iter().enumerate().filter(|(_, c)| c.eligible).map(|(index, _)| index).collect();
    if eligible == 1 {
        return indices.first().copied();
    }
    let first = (random() % eligible as u64) as usize;
    let mut second = (random() % (eligible as u64 - 1)) as usize;
    if second >= first {
        second += 1;
    }
    let (a, b) = (indices[first], indices[second]);
    Some(if load(&candidates[a]) <= load(&candidates[b]) { a } else { b })
}

fn weighted(candidates: &[Candidate], random: &mut impl FnMut() -> u64) -> Option<usize> {
    let total: f64 = candidates.iter().filter(|c| c.eligible).map(|c| c.weight).sum();
    let mut point = (random() as f64 / u64::MAX as f64) * total;
    let mut last = None;
    for (index, candidate) in candidates.iter().enumerate().filter(|(_, c)| c.eligible) {
        if point < candidate.weight {
            return Some(index);
        }
        point -= candidate.weight;
        last = Some(index);
    }
    last
}

/// The share of its weight an endpoint gets `age` after joining (or coming back), ramping linearly
/// from 10% to 100% over `window`; 1 once the window has passed or when there is none.
pub fn slow_start(age: Duration, window: Duration) -> f64 {
    if window.is_zero() || age >= window {
        return 1.0;
    }
    0.1 + 0.9 * age.as_secs_f64() / window.as_secs_f64()
}

/// A fast pseudo-random generator (xorshift64*), for choices that need no cryptographic quality.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests;
