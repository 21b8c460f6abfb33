//! Instance output: a bounded ring of recent lines per instance, and a live feed per app.
//!
//! Every line an instance writes to stdout or stderr, and every lifecycle event Cloudlet records
//! about it (started, crashed, restarted), lands in that instance's [`LogRing`]. A ring keeps at most
//! [`RING_LINES`] lines and [`RING_BYTES`] bytes; older lines fall off. [`AppLogs`] keeps the rings of
//! an app's current and recently stopped instances and a broadcast channel for `cloudlet logs -f`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::broadcast;

/// Most lines one instance's ring keeps.
pub const RING_LINES: usize = 2000;
/// Most bytes of text one instance's ring keeps.
pub const RING_BYTES: usize = 512 * 1024;
/// Longest line kept; longer output is split into several lines.
pub const MAX_LINE: usize = 16 * 1024;
/// Rings of stopped instances an app keeps for `cloudlet logs`.
const STOPPED_RINGS_KEPT: usize = 16;
/// Lines a slow `logs -f` follower may fall behind before it skips.
const FOLLOW_BUFFER: usize = 4096;

/// Where a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
    /// Written by Cloudlet about the instance (start, exit, health).
    System,
}

/// One line of output.
#[derive(Clone, Debug, Serialize)]
pub struct LogLine {
    /// Order across all instances of the node.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub instance: Arc<str>,
    pub stream: Stream,
    pub text: String,
}

/// Recent lines of one instance.
pub struct LogRing {
    instance: Arc<str>,
    lines: Mutex<VecDeque<LogLine>>,
    bytes: AtomicU64,
    feed: broadcast::Sender<LogLine>,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl LogRing {
    fn new(instance: &str, feed: broadcast::Sender<LogLine>) -> Self {
        Self { instance: Arc::from(instance), lines: Mutex::new(VecDeque::new()), bytes: AtomicU64::new(0), feed }
    }

    /// Appends a line (split when longer than [`MAX_LINE`]), dropping the oldest past the ring's bounds.
    pub fn push(&self, stream: Stream, text: &str) {
        let mut rest = text;
        loop {
            let cut = floor_char_boundary(rest, MAX_LINE);
            self.push_one(stream, &rest[..cut]);
            rest = &rest[cut..];
            if rest.is_empty() {
                break;
            }
        }
    }

    fn push_one(&self, stream: Stream, text: &str) {
        let line = LogLine {
            seq: SEQUENCE.fetch_add(1, Ordering::Relaxed),
            time_ms: now_ms(),
            instance: self.instance.clone(),
            stream,
            text: text.to_string(),
        };
        let _ = self.feed.send(line.clone()); // no follower is fine
        let mut lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut bytes = self.bytes.load(Ordering::Relaxed) as usize + line.text.len();
        lines.push_back(line);
        while lines.len() > RING_LINES || bytes > RING_BYTES {
            match lines.pop_front() {
                Some(dropped) => bytes -= dropped.text.len(),
                None => break,
            }
        }
        self.bytes.store(bytes as u64, Ordering::Relaxed);
    }

    /// The last `count` lines.
    pub fn tail(&self, count: usize) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lines.iter().skip(lines.len().saturating_sub(count)).cloned().collect()
    }
}

/// The logs of one app.
pub struct AppLogs {
    rings: Mutex<Vec<RingEntry>>,
    feed: broadcast::Sender<LogLine>,
}

struct RingEntry {
    ring: Arc<LogRing>,
    stopped: bool,
}

impl Default for AppLogs {
    fn default() -> Self {
        Self { rings: Mutex::new(Vec::new()), feed: broadcast::channel(FOLLOW_BUFFER).0 }
    }
}

impl AppLogs {
    /// A new ring for an instance of this app.
    pub fn ring(&self, instance: &str) -> Arc<LogRing> {
        let ring = Arc::new(LogRing::new(instance, self.feed.clone()));
        self.lock().push(RingEntry { ring: ring.clone(), stopped: false });
        ring
    }

    /// The ring named `name` that is not stopped, or a new one: for writers that outlive redeploys
    /// (functions), so each keeps one ring.
    pub fn named_ring(&self, name: &str) -> Arc<LogRing> {
        if let Some(entry) = self.lock().iter().find(|entry| !entry.stopped && &*entry.ring.instance == name) {
            return entry.ring.clone();
        }
        self.ring(name)
    }

    /// Marks an instance's ring as stopped; only the most recent stopped rings are kept.
    pub fn stopped(&self, instance: &str) {
        let mut rings = self.lock();
        for entry in rings.iter_mut().filter(|entry| &*entry.ring.instance == instance) {
            entry.stopped = true;
        }
        let stopped = rings.iter().filter(|entry| entry.stopped).count();
        let mut excess = stopped.saturating_sub(STOPPED_RINGS_KEPT);
        rings.retain(|entry| {
            if entry.stopped && excess > 0 {
                excess -= 1;
                return false;
            }
            true
        });
    }

    /// The last `count` lines over every instance, oldest first.
    pub fn tail(&self, count: usize) -> Vec<LogLine> {
        let rings: Vec<Arc<LogRing>> = self.lock().iter().map(|entry| entry.ring.clone()).collect();
        let mut lines: Vec<LogLine> = rings.iter().flat_map(|ring| ring.tail(count)).collect();
        lines.sort_by_key(|line| line.seq);
        let skip = lines.len().saturating_sub(count);
        lines.drain(..skip);
        lines
    }

    /// The last `count` lines of one instance.
    pub fn instance_tail(&self, instance: &str, count: usize) -> Vec<LogLine> {
        let ring = self.lock().iter().rev().find(|entry| &*entry.ring.instance == instance).map(|e| e.ring.clone());
        ring.map(|ring| ring.tail(count)).unwrap_or_default()
    }

    /// Lines written from now on.
    pub fn follow(&self) -> broadcast::Receiver<LogLine> {
        self.feed.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RingEntry>> {
        self.rings.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    (0..=max).rev().find(|&index| text.is_char_boundary(index)).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_lines_within_its_bounds() {
        let logs = AppLogs::default();
        let ring = logs.ring("web-1");
        for i in 0..(RING_LINES + 10) {
            ring.push(Stream::Stdout, &format!("line {i}"));
        }
        let tail = ring.tail(usize::MAX);
        assert_eq!(tail.len(), RING_LINES);
        assert_eq!(tail.last().map(|l| l.text.as_str()), Some(format!("line {}", RING_LINES + 9).as_str()));

        let big = "x".repeat(MAX_LINE);
        for _ in 0..100 {
            ring.push(Stream::Stderr, &big);
        }
        let bytes: usize = ring.tail(usize::MAX).iter().map(|l| l.text.len()).sum();
        assert!(bytes <= RING_BYTES);
    }

    #[test]
    fn long_lines_are_split_not_dropped() {
        let logs = AppLogs::default();
        let ring = logs.ring("web-1");
        ring.push(Stream::Stdout, &"é".repeat(MAX_LINE));
        let lines = ring.tail(10);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|line| line.text.len() <= MAX_LINE));
    }

    #[test]
    fn app_tail_merges_instances_in_order_and_follow_sees_new_lines() {
        let logs = AppLogs::default();
        let mut follower = logs.follow();
        let a = logs.ring("web-1");
        let b = logs.ring("web-2");
        a.push(Stream::Stdout, "a1");
        b.push(Stream::Stdout, "b1");
        a.push(Stream::System, "a2");
        let texts: Vec<String> = logs.tail(10).into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["a1", "b1", "a2"]);
        assert_eq!(logs.tail(2).len(), 2);
        assert_eq!(follower.try_recv().map(|l| l.text).ok().as_deref(), Some("a1"));
        assert_eq!(logs.instance_tail("web-2", 5).len(), 1);
    }

    #[test]
    fn only_recent_stopped_rings_are_kept() {
        let logs = AppLogs::default();
        for i in 0..(STOPPED_RINGS_KEPT + 5) {
            let id = format!("web-{i}");
            logs.ring(&id).push(Stream::Stdout, "x");
            logs.stopped(&id);
        }
        assert_eq!(logs.tail(usize::MAX).len(), STOPPED_RINGS_KEPT);
    }
}
