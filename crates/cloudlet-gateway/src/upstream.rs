//! The endpoints behind one workload, and how one is chosen.
//!
//! The runtime publishes the instances that are ready to serve with [`Upstream::set_endpoints`]; the
//! gateway picks among them round-robin. Each [`Endpoint`] counts requests in flight (from the pick
//! until the response body is done) so that an instance can be [drained](Endpoint::drain) before it
//! is stopped: no request that reached it is cut off, and none starts after the drain begins.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

use crate::pool::Pool;

/// The live, ready endpoints of one workload.
pub struct Upstream {
    name: String,
    endpoints: RwLock<Arc<[Arc<Endpoint>]>>,
    cursor: AtomicUsize,
}

impl Upstream {
    /// An upstream with no endpoints; `name` appears in logs and errors (`app/workload`).
    pub fn new(name: impl Into<String>) -> Arc<Self> {
        Arc::new(Self { name: name.into(), endpoints: RwLock::new(Arc::from(Vec::new())), cursor: AtomicUsize::new(0) })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Replaces the endpoints requests may go to.
    pub fn set_endpoints(&self, endpoints: Vec<Arc<Endpoint>>) {
        let endpoints: Arc<[Arc<Endpoint>]> = Arc::from(endpoints);
        match self.endpoints.write() {
            Ok(mut current) => *current = endpoints,
            Err(poisoned) => *poisoned.into_inner() = endpoints,
        }
    }

    /// The endpoints requests may go to now.
    pub fn endpoints(&self) -> Arc<[Arc<Endpoint>]> {
        match self.endpoints.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Picks the next endpoint round-robin, skipping `avoid` (the one that just failed) and endpoints
    /// being drained. The returned guard counts the request as in flight on that endpoint.
    pub(crate) fn pick(&self, avoid: Option<&Endpoint>) -> Option<InFlight> {
        let endpoints = self.endpoints();
        let count = endpoints.len();
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        (0..count).find_map(|offset| {
            let endpoint = &endpoints[(start + offset) % count];
            if avoid.is_some_and(|avoided| std::ptr::eq(avoided, endpoint.as_ref())) {
                return None;
            }
            endpoint.try_enter()
        })
    }
}

/// One instance's address, its kept-alive connections and its in-flight count.
pub struct Endpoint {
    id: String,
    address: SocketAddr,
    in_flight: AtomicUsize,
    draining: AtomicBool,
    idle: Notify,
    pub(crate) pool: Pool,
}

impl Endpoint {
    /// An endpoint for the instance `id` listening on `address`.
    pub fn new(id: impl Into<String>, address: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            id: id.into(),
            address,
            in_flight: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            idle: Notify::new(),
            pool: Pool::new(address),
        })
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

    #[test]
    fn round_robin_visits_every_endpoint_in_turn() {
        let upstream = Upstream::new("app/web");
        upstream.set_endpoints(endpoints(3));
        let picked: Vec<String> =
            (0..6).map(|_| upstream.pick(None).expect("endpoint").endpoint().id().to_string()).collect();
        assert_eq!(picked, ["e0", "e1", "e2", "e0", "e1", "e2"]);
    }

    #[test]
    fn pick_skips_the_avoided_endpoint_and_fails_when_none_is_left() {
        let upstream = Upstream::new("app/web");
        let list = endpoints(2);
        upstream.set_endpoints(list.clone());
        for _ in 0..4 {
            let picked = upstream.pick(Some(&list[0])).expect("endpoint");
            assert_eq!(picked.endpoint().id(), "e1");
        }
        upstream.set_endpoints(vec![list[0].clone()]);
        assert!(upstream.pick(Some(&list[0])).is_none());
        upstream.set_endpoints(Vec::new());
        assert!(upstream.pick(None).is_none());
    }

    #[tokio::test]
    async fn drain_waits_for_requests_in_flight_and_refuses_new_ones() {
        let upstream = Upstream::new("app/web");
        let list = endpoints(1);
        upstream.set_endpoints(list.clone());
        let request = upstream.pick(None).expect("endpoint");
        assert_eq!(list[0].in_flight(), 1);
        let endpoint = list[0].clone();
        let drain = tokio::spawn(async move { endpoint.drain().await });
        tokio::task::yield_now().await;
        assert!(!drain.is_finished(), "drain must wait for the request in flight");
        assert!(upstream.pick(None).is_none(), "a draining endpoint takes no new request");
        drop(request);
        drain.await.expect("drain finishes");
        assert_eq!(list[0].in_flight(), 0);
    }
}
