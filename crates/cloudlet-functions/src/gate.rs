//! How many instances of a function run at once on the node, and how many requests may wait.
//!
//! Past `instances` running, a request waits in a bounded queue (until its deadline); past `queue`
//! waiting, it is refused at once. Both refusals become `503` with `Retry-After`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A running instance's slot; dropping it frees the slot.
pub type Slot = OwnedSemaphorePermit;

/// Why a request got no slot.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The wait queue is full.
    QueueFull,
    /// The request waited until its deadline.
    WaitedTooLong,
}

pub struct Gate {
    slots: Arc<Semaphore>,
    capacity: usize,
    waiting: AtomicUsize,
    queue: usize,
}

impl Gate {
    pub fn new(instances: u32, queue: u32) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(instances as usize)),
            capacity: instances as usize,
            waiting: AtomicUsize::new(0),
            queue: queue as usize,
        }
    }

    /// A slot now, or after waiting in the queue until `deadline`.
    pub async fn enter(&self, deadline: Instant) -> Result<Slot, Refusal> {
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        let _waiting = Waiting::enter(&self.waiting, self.queue).ok_or(Refusal::QueueFull)?;
        // The guard leaves the queue even when this future is dropped (the client went away).
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await;
        match slot {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(Refusal::WaitedTooLong),
        }
    }

    /// Instances running now.
    pub fn in_use(&self) -> usize {
        self.capacity - self.slots.available_permits()
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }
}

/// A place in the wait queue, given back on drop.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(counter: &'a AtomicUsize, queue: usize) -> Option<Self> {
        if counter.fetch_add(1, Ordering::SeqCst) >= queue {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Self(counter))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_wait_in_a_bounded_queue_then_are_refused() {
        let gate = Arc::new(Gate::new(1, 1));
        let far = Instant::now() + Duration::from_secs(60);
        let first = gate.enter(far).await.expect("a free slot");
        assert_eq!(gate.in_use(), 1);

        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter(far).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert_eq!(gate.waiting(), 1);
        assert_eq!(gate.enter(far).await.err(), Some(Refusal::QueueFull), "the queue holds one");

        drop(first);
        assert_eq!(waiter.await.expect("task"), Ok(()), "the waiter gets the freed slot");
        assert_eq!(gate.waiting(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_that_goes_away_leaves_the_queue() {
        let gate = Arc::new(Gate::new(1, 1));
        let far = Instant::now() + Duration::from_secs(60);
        let _busy = gate.enter(far).await.expect("slot");
        let waiter = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.enter(far).await.map(drop) })
        };
        tokio::task::yield_now().await;
        assert_eq!(gate.waiting(), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(gate.waiting(), 0, "a cancelled wait gives its place back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gives_up_at_its_deadline() {
        let gate = Gate::new(1, 10);
        let _busy = gate.enter(Instant::now() + Duration::from_secs(60)).await.expect("slot");
        let soon = Instant::now() + Duration::from_millis(100);
        assert_eq!(gate.enter(soon).await.err(), Some(Refusal::WaitedTooLong));
        assert_eq!(gate.waiting(), 0);
    }
}
