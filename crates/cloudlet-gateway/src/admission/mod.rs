//! Admission control for an app's routes: rate limits (the whole app, and each client IP) and a
//! circuit breaker on the requests being answered at once, plus the retry budget of a route.
//!
//! - [`bucket`]: token buckets for rate limits (refused with `429` and `Retry-After`);
//! - [`budget`]: the retry budget (retries a share of requests plus a floor per second).
//!
//! Refusals are immediate: a limit never makes a request wait.

pub mod bucket;
pub mod budget;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use self::bucket::TokenBucket;

/// Client IPs remembered for per-client limits at most. Past it, clients whose buckets are full
/// again are forgotten (at most once a second); clients that still do not fit share one overflow
/// bucket, so the limit keeps applying.
const MAX_CLIENTS: usize = 100_000;

/// The key of a client for per-client limits: its IPv4 address, or the /64 of its IPv6 address
/// (one subscriber typically holds a whole /64, and could rotate through it).
fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

/// Requests a second and the burst above it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// An app's limits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AdmissionPolicy {
    /// All requests to the app's routes together.
    pub app: Option<RateLimit>,
    /// Each client IP's requests.
    pub per_client: Option<RateLimit>,
    /// Requests being answered at once; more are refused with 503 (the circuit breaker). `None`: no limit.
    pub max_in_flight: Option<usize>,
}

/// When and how often a route retries.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Tries in all, the first included; 1 turns retries off. Default 2.
    pub attempts: u32,
    /// Statuses after which an idempotent request is retried on another instance. Default none.
    pub statuses: Vec<u16>,
    /// Retries may add this share of the route's requests... Default 0.2.
    pub budget_percent: f64,
    /// ... plus this many a second. Default 10.
    pub min_per_second: u32,
    /// A request body up to this size is kept to replay an idempotent request. Default 64 KiB.
    pub replay_buffer: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 2, statuses: Vec::new(), budget_percent: 0.2, min_per_second: 10, replay_buffer: 64 << 10 }
    }
}

/// Why a request was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Over the app's rate (`client` false) or the client's; a token is back after the duration.
    RateLimited { client: bool, retry_after: Duration },
    /// As many requests as allowed are being answered.
    Overloaded { limit: usize },
}

/// The admission state of one app, shared by its routes.
pub struct Admission {
    policy: AdmissionPolicy,
    epoch: Instant,
    app: Mutex<TokenBucket>,
    clients: Mutex<Clients>,
    in_flight: AtomicUsize,
}

/// The per-client buckets.
struct Clients {
    buckets: HashMap<IpAddr, TokenBucket>,
    /// Shared by the clients that did not fit in `buckets`.
    overflow: TokenBucket,
    last_sweep_ns: u64,
}

/// A request admitted: counted as being answered until dropped.
pub(crate) struct Admitted(Arc<Admission>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Admission {
    pub fn new(policy: AdmissionPolicy) -> Arc<Self> {
        let burst = policy.app.map_or(0.0, |limit| limit.burst);
        Arc::new(Self {
            policy,
            epoch: Instant::now(),
            app: Mutex::new(TokenBucket::new(burst, 0)),
            clients: Mutex::new(Clients {
                buckets: HashMap::new(),
                overflow: TokenBucket::new(policy.per_client.map_or(0.0, |limit| limit.burst), 0),
                last_sweep_ns: 0,
            }),
            in_flight: AtomicUsize::new(0),
        })
    }

    /// Requests being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Admits a request from `client`, or says why not.
    pub(crate) fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Admitted, Refusal> {
        let now = self.epoch.elapsed().as_nanos() as u64;
        if let Some(limit) = self.policy.per_client {
            let client = client_key(client);
            let mut guard = lock(&self.clients);
            let clients = &mut *guard;
            if clients.buckets.len() >= MAX_CLIENTS
                && !clients.buckets.contains_key(&client)
                && now.saturating_sub(clients.last_sweep_ns) >= 1_000_000_000
            {
                clients.last_sweep_ns = now;
                clients.buckets.retain(|_, bucket| !bucket.is_full(now, limit.per_second, limit.burst));
            }
            let bucket = if clients.buckets.len() < MAX_CLIENTS || clients.buckets.contains_key(&client) {
                clients.buckets.entry(client).or_insert_with(|| TokenBucket::new(limit.burst, now))
            } else {
                &mut clients.overflow
            };
            bucket
                .take(now, limit.per_second, limit.burst)
                .map_err(|retry_after| Refusal::RateLimited { client: true, retry_after })?;
        }
        if let Some(limit) = self.policy.app {
            lock(&self.app)
                .take(now, limit.per_second, limit.burst)
                .map_err(|retry_after| Refusal::RateLimited { client: false, retry_after })?;
        }
        let admitted = self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = Admitted(self.clone());
        if let Some(limit) = self.policy.max_in_flight
            && admitted >= limit
        {
            return Err(Refusal::Overloaded { limit });
        }
        Ok(guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn per_client_limits_do_not_touch_other_clients_and_the_app_limit_covers_all() {
        let admission = Admission::new(AdmissionPolicy {
            app: Some(RateLimit { per_second: 0.001, burst: 5.0 }),
            per_client: Some(RateLimit { per_second: 0.001, burst: 2.0 }),
            max_in_flight: None,
        });
        let mut admitted = Vec::new();
        for _ in 0..2 {
            admitted.push(admission.admit(ip(1)).expect("within the client's burst"));
        }
        assert!(matches!(admission.admit(ip(1)), Err(Refusal::RateLimited { client: true, .. })));
        for _ in 0..2 {
            admitted.push(admission.admit(ip(2)).expect("another client has its own bucket"));
        }
        admitted.push(admission.admit(ip(3)).expect("the fifth request of the app"));
        assert!(matches!(admission.admit(ip(4)), Err(Refusal::RateLimited { client: false, .. })));
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_slash_64() {
        let admission = Admission::new(AdmissionPolicy {
            per_client: Some(RateLimit { per_second: 0.001, burst: 1.0 }),
            ..AdmissionPolicy::default()
        });
        let first: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let other_64: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        let _kept = admission.admit(first).expect("first");
        assert!(matches!(admission.admit(same_64), Err(Refusal::RateLimited { client: true, .. })));
        assert!(admission.admit(other_64).is_ok());
    }

    #[test]
    fn the_breaker_refuses_past_max_in_flight_and_recovers_as_requests_end() {
        let admission = Admission::new(AdmissionPolicy { max_in_flight: Some(2), ..AdmissionPolicy::default() });
        let first = admission.admit(ip(1)).expect("one");
        let _second = admission.admit(ip(1)).expect("two");
        assert_eq!(admission.admit(ip(1)).err(), Some(Refusal::Overloaded { limit: 2 }));
        assert_eq!(admission.in_flight(), 2, "a refused request is not counted");
        drop(first);
        assert!(admission.admit(ip(1)).is_ok());
    }
}
