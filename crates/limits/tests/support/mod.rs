//! Shared by the integration tests: paced traffic from several threads, counted per second.

// Test helpers outside #[test] functions: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use smppguard_limits::{CheckRequest, Decision, Limiter, Nanos, UnixTime};

/// One message from `account` to `dest`, now.
pub(crate) fn check(l: &Limiter, account: &str, dest: &str) -> Decision {
    l.check(&CheckRequest {
        account,
        source_addr: "SRC",
        destination_addr: dest,
        parts: 1,
        now: Nanos::now(),
        wall_clock: UnixTime::now(),
    })
}

/// What paced traffic let through, per second of the run.
pub(crate) struct Traffic {
    /// Messages allowed in each second.
    pub(crate) allowed: Vec<u64>,
    /// Longest pause between two consecutive attempts (from any thread) in each second, in
    /// milliseconds. A pause longer than the burst lasts means the whole test process was
    /// descheduled: the limiter legitimately lost that capacity, so the second says nothing
    /// about its accuracy.
    pub(crate) max_gap_ms: Vec<u64>,
}

impl Traffic {
    /// Seconds (after the first) whose traffic had no pause over `max_gap_ms`.
    pub(crate) fn clean_seconds(&self, max_gap_ms: u64) -> Vec<usize> {
        (1..self.allowed.len())
            .filter(|&s| self.max_gap_ms[s] <= max_gap_ms)
            .collect()
    }
}

/// Drives `threads_per_node` paced threads per node at `rate_per_thread` attempts per second
/// for `seconds` in real time; `during` runs on the calling thread meanwhile.
pub(crate) fn drive(
    nodes: &[Limiter],
    threads_per_node: usize,
    rate_per_thread: u64,
    seconds: u64,
    during: impl FnOnce(),
) -> Traffic {
    let counters =
        |_| -> Arc<Vec<AtomicU64>> { Arc::new((0..seconds).map(|_| AtomicU64::new(0)).collect()) };
    let (buckets, gaps) = (counters(()), counters(()));
    let attempts = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let gap = Duration::from_nanos(1_000_000_000 / rate_per_thread);
    std::thread::scope(|s| {
        for (n, node) in nodes.iter().enumerate() {
            for t in 0..threads_per_node {
                let (buckets, gaps, attempts, last) = (
                    buckets.clone(),
                    gaps.clone(),
                    attempts.clone(),
                    last.clone(),
                );
                s.spawn(move || {
                    // Stagger the threads so their attempts interleave.
                    let offset = gap * u32::try_from(n * threads_per_node + t).unwrap()
                        / u32::try_from(nodes.len() * threads_per_node).unwrap();
                    let mut next = start + offset;
                    let end = start + Duration::from_secs(seconds);
                    let mut k = 0u64;
                    while next < end {
                        let now = Instant::now();
                        if next > now {
                            std::thread::sleep(next - now);
                        }
                        k += 1;
                        let dest = format!("4479{n}{t}{k:08}");
                        let decision = check(node, "acme", &dest);
                        attempts.fetch_add(1, Ordering::Relaxed);
                        let at = u64::try_from(start.elapsed().as_nanos()).unwrap();
                        let sec = usize::try_from(at / 1_000_000_000).unwrap();
                        let prev = last.fetch_max(at, Ordering::Relaxed);
                        if let Some(g) = gaps.get(sec) {
                            g.fetch_max(at.saturating_sub(prev) / 1_000_000, Ordering::Relaxed);
                        }
                        if decision.is_allowed()
                            && let Some(b) = buckets.get(sec)
                        {
                            b.fetch_add(1, Ordering::Relaxed);
                        }
                        next += gap;
                    }
                });
            }
        }
        during();
    });
    let expected = nodes.len() as u64 * threads_per_node as u64 * rate_per_thread * seconds;
    let made = attempts.load(Ordering::Relaxed);
    assert!(
        made * 100 >= expected * 75,
        "the drivers fell far behind: {made} of {expected} attempts"
    );
    let read = |v: &Arc<Vec<AtomicU64>>| v.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    Traffic {
        allowed: read(&buckets),
        max_gap_ms: read(&gaps),
    }
}
