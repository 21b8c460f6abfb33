//! The endpoints behind one workload, and how one is chosen.
//!
//! The runtime publishes the instances that are ready to serve with [`Upstream::set_endpoints`]; the
//! gateway picks among them with the route's [`Balancing`] (see [`crate::balance`]) and reports how
//! each request went, which feeds the peak-EWMA estimates and outlier ejection. Each [`Endpoint`]
//! counts requests in flight (from the pick until the response body is done) so that an instance can
//! be [drained](Endpoint::drain) before it is stopped: no request that reached it is cut off, and none
//! starts after the drain begins.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::balance::{
    self, Candidate, Choice, Maglev, OutlierPolicy, OutlierState, PeakEwma, Policy, Rng, Verdict, ewma, stable_hash,
};
use crate::pool::{Pool, Protocol};

/// How a route balances over its upstream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Balancing {
    pub policy: Policy,
    /// Ramp-up of a new or readmitted endpoint's weight (none when zero).
    pub slow_start: Duration,
    pub outlier: OutlierPolicy,
}

/// How one request to an endpoint went, as far as balancing cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Response headers arrived after this long, with a status below 500.
    Answered(Duration),
    /// A 5xx status, after this long.
    ServerError(Duration),
    /// No connection, or the connection broke before a response.
    Failed,
}

/// Holding requests for a workload scaled to zero (the activator): while it has no endpoint, requests
/// wait — at most `max_waiting` of them, each at most `timeout` — and the first one calls `on_demand`
/// so that an instance is started at once.
#[derive(Clone)]
pub struct Activation {
    pub on_demand: Arc<dyn Fn() + Send + Sync>,
    pub max_waiting: usize,
    pub timeout: Duration,
}

/// Why a held request was given up.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// No instance within the activation timeout.
    TimedOut(Duration),
    /// The waiting room is full.
    QueueFull,
}

/// The endpoints and their consistent-hash table, replaced together.
struct Snapshot {
    endpoints: Arc<[Arc<Endpoint>]>,
    table: OnceLock<Maglev>,
}

/// The live, ready endpoints of one workload.
pub struct Upstream {
    name: String,
    snapshot: RwLock<Arc<Snapshot>>,
    sequence: AtomicU64,
    /// The zero of the nanosecond clock balancing decisions use.
    epoch: Instant,
    activation: RwLock<Option<Activation>>,
    /// Whether `activation` is set: the check every request makes, without a lock.
    holds_requests: AtomicBool,
    /// Requests held for an instance.
    waiting: AtomicUsize,
    /// Woken when the endpoints change.
    changed: Notify,
}

thread_local! {
    static RANDOM: RefCell<Rng> = RefCell::new(Rng::new({
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        u64::from_le_bytes(seed)
    }));
}

fn random() -> u64 {
    RANDOM.with(|rng| rng.borrow_mut().next_u64())
}

impl Upstream {
    /// An upstream with no endpoints; `name` appears in logs and errors (`app/workload`).
    pub fn new(name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            name: name.into(),
            snapshot: RwLock::new(Arc::new(Snapshot { endpoints: Arc::from(Vec::new()), table: OnceLock::new() })),
            sequence: AtomicU64::new(0),
            epoch: Instant::now(),
            activation: RwLock::new(None),
            holds_requests: AtomicBool::new(false),
            waiting: AtomicUsize::new(0),
            changed: Notify::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the endpoints requests may go to.
    pub fn set_endpoints(&self, endpoints: Vec<Arc<Endpoint>>) {
        let now = self.now_ns();
        for endpoint in &endpoints {
            endpoint.joined(now);
        }
        let snapshot = Arc::new(Snapshot { endpoints: Arc::from(endpoints), table: OnceLock::new() });
        match self.snapshot.write() {
            Ok(mut current) => *current = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        self.changed.notify_waiters();
    }

    /// Holds requests while there is no endpoint (scale to zero), or not (`None`).
    pub fn set_activation(&self, activation: Option<Activation>) {
        self.holds_requests.store(activation.is_some(), Ordering::SeqCst);
        match self.activation.write() {
            Ok(mut current) => *current = activation,
            Err(poisoned) => *poisoned.into_inner() = activation,
        }
    }

    fn activation(&self) -> Option<Activation> {
        match self.activation.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Requests in flight on every endpoint, and requests held waiting for one: the load the
    /// autoscaler sees.
    pub fn concurrency(&self) -> (usize, usize) {
        let in_flight = self.current().endpoints.iter().map(|endpoint| endpoint.in_flight()).sum();
        (in_flight, self.waiting.load(Ordering::Relaxed))
    }

    /// When the upstream has no endpoint and holds requests: waits until it has one (asking for one
    /// at once), within the activation's limits. Returns at once otherwise.
    pub(crate) async fn wait_for_endpoint(&self) -> Result<(), Unavailable> {
        if !self.holds_requests.load(Ordering::Relaxed) || !self.current().endpoints.is_empty() {
            return Ok(());
        }
        let Some(activation) = self.activation() else { return Ok(()) };
        let already_waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        if already_waiting >= activation.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Unavailable::QueueFull);
        }
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _waiting = Waiting(&self.waiting);
        // The first request to wait asks for an instance; the others wait for the same one.
        if already_waiting == 0 {
            (activation.on_demand)();
        }
        let ready = async {
            loop {
                let changed = self.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                if !self.current().endpoints.is_empty() {
                    return;
                }
                changed.await;
            }
        };
        tokio::time::timeout(activation.timeout, ready).await.map_err(|_| Unavailable::TimedOut(activation.timeout))
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The endpoints requests may go to now.
    pub fn endpoints(&self) -> Arc<[Arc<Endpoint>]> {
        self.current().endpoints.clone()
    }

    /// Endpoints out of balancing now because of their errors.
    pub fn ejected(&self) -> usize {
        let now = self.now_ns();
        self.current().endpoints.iter().filter(|endpoint| endpoint.state().outlier.is_ejected(now)).count()
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Picks an endpoint for a request with `balancing`, skipping `avoid` (the one that just failed),
    /// ejected and draining endpoints; `key` is the request's hash key for consistent hashing. The
    /// returned guard counts the request as in flight on that endpoint.
    pub(crate) fn pick(&self, balancing: &Balancing, avoid: Option<&Endpoint>, key: Option<&[u8]>) -> Option<InFlight> {
        let snapshot = self.current();
        let endpoints = &snapshot.endpoints;
        let now = self.now_ns();
        let mut candidates: Vec<Candidate> =
            endpoints.iter().map(|endpoint| endpoint.candidate(now, avoid, balancing.slow_start)).collect();
        let table = matches!(balancing.policy, Policy::Hash(_)).then(|| {
            snapshot.table.get_or_init(|| {
                let ids: Vec<(u64, u32)> =
                    endpoints.iter().map(|endpoint| (stable_hash(endpoint.id.as_bytes()), 1)).collect();
                Maglev::build(&ids, balance::maglev::DEFAULT_SIZE)
            })
        });
        let choice =
            Choice { sequence: self.sequence.fetch_add(1, Ordering::Relaxed), key: key.map(stable_hash), table };
        // An endpoint may start draining between reading it and entering it; then choose again without it.
        for _ in 0..endpoints.len() {
            let index = balance::choose(&balancing.policy, &candidates, &choice, &mut random)?;
            if let Some(in_flight) = endpoints[index].try_enter() {
                return Some(in_flight);
            }
            candidates[index].eligible = false;
        }
        None
    }

    /// Records how a request to `endpoint` went; says whether that ejected it.
    pub(crate) fn record(&self, endpoint: &Endpoint, outcome: Outcome, balancing: &Balancing) -> Verdict {
        let now = self.now_ns();
        let (failed, rtt) = match outcome {
            Outcome::Answered(rtt) => (false, Some(rtt)),
            Outcome::ServerError(rtt) => (true, Some(rtt)),
            Outcome::Failed => (true, None),
        };
        let may_eject = failed && {
            let endpoints = self.endpoints();
            let ejected = endpoints.iter().filter(|other| other.state().outlier.is_ejected(now)).count();
            balancing.outlier.may_eject(endpoints.len() - ejected, ejected)
        };
        let mut state = endpoint.state();
        if let Some(rtt) = rtt {
            state.ewma.observe(rtt.as_nanos() as f64, now, ewma::DECAY_NS);
        }
        let verdict = state.outlier.record(failed, now, &balancing.outlier, may_eject);
        if let Verdict::Ejected(until) = verdict {
            // Back with a fresh estimate and a slow start.
            state.since_ns = until;
            state.ewma = PeakEwma::new(ewma::DEFAULT_RTT_NS, until);
            drop(state);
            tracing::warn!(
                upstream = %self.name,
                endpoint = %endpoint.id,
                seconds = (until - now) / 1_000_000_000,
                "endpoint ejected after consecutive failures"
            );
        }
        verdict
    }
}

/// What balancing remembers of an endpoint.
struct EndpointState {
    ewma: PeakEwma,
    outlier: OutlierState,
    /// When it joined or was last readmitted (for slow start); `u64::MAX` until it joins an upstream.
    since_ns: u64,
}

/// One instance's address, its kept-alive connections and its in-flight count.
pub struct Endpoint {
    id: String,
    address: SocketAddr,
    in_flight: AtomicUsize,
    draining: AtomicBool,
    idle: Notify,
    state: Mutex<EndpointState>,
    pub(crate) pool: Pool,
}

impl Endpoint {
    /// An endpoint for the instance `id` listening on `address`, spoken to in HTTP/1.1.
    pub fn new(id: impl Into<String>, address: SocketAddr) -> Arc<Self> {
        Self::with_protocol(id, address, Protocol::Http1)
    }

    /// An endpoint spoken to in `protocol`.
    pub fn with_protocol(id: impl Into<String>, address: SocketAddr, protocol: Protocol) -> Arc<Self> {
        Arc::new(Self {
            id: id.into(),
            address,
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            state: Mutex::new(EndpointState {
                ewma: PeakEwma::new(ewma::DEFAULT_RTT_NS, 0),
                outlier: OutlierState::default(),
                since_ns: u64::MAX,
            }),
            pool: Pool::new(address, protocol),
        })
    }

    fn state(&self) -> MutexGuard<'_, EndpointState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the endpoint's clock the first time it is published.
    fn joined(&self, now: u64) {
        let mut state = self.state();
        if state.since_ns == u64::MAX {
            state.since_ns = now;
            state.ewma = PeakEwma::new(ewma::DEFAULT_RTT_NS, now);
        }
    }

    fn candidate(&self, now: u64, avoid: Option<&Endpoint>, slow_start: Duration) -> Candidate {
        let state = self.state();
        let avoided = avoid.is_some_and(|avoided| std::ptr::eq(avoided, self));
        let age = Duration::from_nanos(now.saturating_sub(state.since_ns));
        Candidate {
            eligible: !avoided && !self.draining.load(Ordering::Relaxed) && !state.outlier.is_ejected(now),
            in_flight: self.in_flight.load(Ordering::Relaxed) as u32,
            rtt_ns: state.ewma.estimate(now, ewma::DECAY_NS),
            weight: balance::slow_start(age, slow_start),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Requests picked for this endpoint whose responses are not finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Stops new requests from being picked for this endpoint and waits until those in flight finish.
    /// Remove the endpoint from its [`Upstream`] first; this closes the race with a pick that read the
    /// old endpoint list just before.
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                break;
            }
            idle.await;
        }
        self.pool.clear();
    }

    /// Counts a new request in flight, unless the endpoint is draining.
    fn try_enter(self: &Arc<Self>) -> Option<InFlight> {
        // SeqCst on both sides: either `drain` sees this increment, or this sees `draining`.
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self.clone());
        if self.draining.load(Ordering::SeqCst) {
            return None; // dropping the guard gives the count back
        }
        Some(guard)
    }
}

/// A request in flight on an endpoint; dropping it ends the request.
pub(crate) struct InFlight(Arc<Endpoint>);

impl InFlight {
    pub(crate) fn endpoint(&self) -> &Arc<Endpoint> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(count: u16) -> Vec<Arc<Endpoint>> {
        (0..count).map(|i| Endpoint::new(format!("e{i}"), SocketAddr::from(([127, 0, 0, 1], 9000 + i)))).collect()
    }

    fn round_robin() -> Balancing {
        Balancing { policy: Policy::RoundRobin, ..Balancing::default() }
    }

    #[test]
    fn round_robin_visits_every_endpoint_in_turn() {
        let upstream = Upstream::new("app/web");
        upstream.set_endpoints(endpoints(3));
        let picked: Vec<String> = (0..6)
            .map(|_| upstream.pick(&round_robin(), None, None).expect("endpoint").endpoint().id().to_string())
            .collect();
        assert_eq!(picked, ["e0", "e1", "e2", "e0", "e1", "e2"]);
    }

    #[test]
    fn pick_skips_the_avoided_endpoint_and_fails_when_none_is_left() {
        let upstream = Upstream::new("app/web");
        let list = endpoints(2);
        upstream.set_endpoints(list.clone());
        for balancing in [round_robin(), Balancing::default()] {
            for _ in 0..4 {
                let picked = upstream.pick(&balancing, Some(&list[0]), None).expect("endpoint");
                assert_eq!(picked.endpoint().id(), "e1");
            }
        }
        upstream.set_endpoints(vec![list[0].clone()]);
        assert!(upstream.pick(&round_robin(), Some(&list[0]), None).is_none());
        upstream.set_endpoints(Vec::new());
        assert!(upstream.pick(&round_robin(), None, None).is_none());
    }

    #[test]
    fn slow_answers_steer_peak_ewma_away_and_failures_eject() {
        let upstream = Upstream::new("app/web");
        let list = endpoints(3);
        upstream.set_endpoints(list.clone());
        let balancing = Balancing::default();
        for _ in 0..5 {
            upstream.record(&list[0], Outcome::Answered(Duration::from_millis(400)), &balancing);
            upstream.record(&list[1], Outcome::Answered(Duration::from_millis(2)), &balancing);
            upstream.record(&list[2], Outcome::Answered(Duration::from_millis(2)), &balancing);
        }
        let slow = (0..300)
            .filter(|_| upstream.pick(&balancing, None, None).expect("endpoint").endpoint().id() == "e0")
            .count();
        assert_eq!(slow, 0, "two choices never take the slowest of three");

        let mut verdict = Verdict::Fine;
        for _ in 0..balancing.outlier.consecutive {
            verdict = upstream.record(&list[1], Outcome::ServerError(Duration::from_millis(1)), &balancing);
        }
        assert!(matches!(verdict, Verdict::Ejected(_)), "{verdict:?}");
        assert_eq!(upstream.ejected(), 1);
        assert!((0..100).all(|_| upstream.pick(&round_robin(), None, None).expect("e").endpoint().id() != "e1"));
        // Another may not go: half of three, rounded down, is one.
        for _ in 0..balancing.outlier.consecutive {
            upstream.record(&list[2], Outcome::Failed, &balancing);
        }
        assert_eq!(upstream.ejected(), 1, "the share of ejected endpoints is capped");
    }

    #[test]
    fn a_hash_key_keeps_its_endpoint() {
        let upstream = Upstream::new("app/web");
        upstream.set_endpoints(endpoints(4));
        let balancing = Balancing { policy: Policy::Hash(crate::balance::HashOn::ClientIp), ..Balancing::default() };
        for key in ["10.0.0.1", "10.0.0.2", "192.168.7.9"] {
            let first = upstream.pick(&balancing, None, Some(key.as_bytes())).expect("e").endpoint().id().to_string();
            for _ in 0..20 {
                let again = upstream.pick(&balancing, None, Some(key.as_bytes())).expect("e");
                assert_eq!(again.endpoint().id(), first);
            }
        }
    }

    #[tokio::test]
    async fn drain_waits_for_requests_in_flight_and_refuses_new_ones() {
        let upstream = Upstream::new("app/web");
        let list = endpoints(1);
        upstream.set_endpoints(list.clone());
        let request = upstream.pick(&round_robin(), None, None).expect("endpoint");
        assert_eq!(list[0].in_flight(), 1);
        let endpoint = list[0].clone();
        let drain = tokio::spawn(async move { endpoint.drain().await });
        tokio::task::yield_now().await;
        assert!(!drain.is_finished(), "drain must wait for the request in flight");
        assert!(upstream.pick(&round_robin(), None, None).is_none(), "a draining endpoint takes no new request");
        drop(request);
        drain.await.expect("drain finishes");
        assert_eq!(list[0].in_flight(), 0);
    }
}
