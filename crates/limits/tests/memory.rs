//! Memory bound: one million tracked destination numbers fit in 256 MiB.
//!
//! Measured as the growth of this process's resident set (Linux `/proc/self/status`) while a
//! per-destination limit tracks 1,000,000 distinct numbers; this file holds a single test so
//! nothing else allocates meanwhile. The limiter's own estimate of its table memory is checked
//! against the same bound, and idle eviction must give the keys back.

// A helper outside the #[test] function: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use smppguard_limits::{CheckRequest, Limiter, LimitsConfig, Nanos, UnixTime};

const KEYS: u64 = 1_000_000;
const BOUND: u64 = 256 * 1024 * 1024;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

#[test]
fn one_million_destinations_fit_in_256_mib() {
    let config: LimitsConfig = toml::from_str(
        "[destinations]\nmessages = 5\nper_seconds = 3600\n[accounts.acme]\ndestination = { messages = 2, per_seconds = 60 }\n",
    )
    .unwrap();
    let limiter = Limiter::new(&config).unwrap();
    let before = rss_bytes();
    let now = Nanos::from_secs(100);
    let mut dest = String::with_capacity(16);
    for i in 0..KEYS {
        dest.clear();
        dest.push_str(&format!("+8869{i:08}"));
        let d = limiter.check(&CheckRequest {
            account: "acme",
            source_addr: "ACME",
            destination_addr: &dest,
            parts: 1,
            now,
            wall_clock: UnixTime::from_secs(1_711_886_400),
        });
        assert!(d.is_allowed());
    }
    let grown = rss_bytes().saturating_sub(before);
    let stats = limiter.stats();
    // Two keyed limits apply: per destination and per (account, destination).
    assert_eq!(stats.tracked_keys, 2 * KEYS);
    let per_key = grown as f64 / stats.tracked_keys as f64;
    eprintln!(
        "rss growth {:.1} MiB for {} keys ({per_key:.1} bytes/key); table estimate {:.1} MiB",
        grown as f64 / 1048576.0,
        stats.tracked_keys,
        stats.tracked_key_bytes as f64 / 1048576.0
    );
    assert!(grown <= BOUND, "RSS grew {grown} bytes for 2M keys");
    assert!(stats.tracked_key_bytes <= BOUND);
    // Once their limits have recovered, every key is evicted.
    assert_eq!(
        limiter.evict_idle(Nanos::from_secs(100 + 3600)),
        usize::try_from(2 * KEYS).unwrap()
    );
    assert_eq!(limiter.stats().tracked_keys, 0);
}
