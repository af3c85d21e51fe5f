//! Limits hot path: the per-message check of `smppguard-limits`, local and fleet-wide.
//!
//! Criterion part, timed in CPU time of the measuring thread(s) (`CLOCK_THREAD_CPUTIME_ID`),
//! so that other processes on a shared machine do not inflate the figures; one core unless
//! named otherwise; simulated time advances 1 µs per check so every check is an allowed one
//! unless the name says `deny`:
//! - `account_allow`: account rate (GCRA) + daily quota, the common per-account check.
//!   Target: ≥ 10 M checks/s per core.
//! - `account_deny`: the same account over its rate (the refusal path).
//! - `all_limits_allow`: account rate, parts rate, daily and monthly quotas, per-sender,
//!   per-(account, destination), per-destination and two prefix limits, over 100k numbers.
//! - `contended_2_threads` / `separate_2_threads`: two threads on one account (every check
//!   updates the same atomics) and on two accounts; throughput is for both threads together.
//!
//! Fleet part (`--bench` runs only, needs `redis-server`, started here on a free port): two
//! limiter instances share one Redis and are each driven at 25k messages/s (50k/s in total)
//! for 5 s; it prints the check latency (p50/p99/p99.9/max, measured around each call) next
//! to the same run on the local backend, Redis calls per second, and refusals. A second run
//! offers 50k/s against a 20k/s fleet limit for several lease windows and prints how closely
//! each second holds the limit: the accuracy / Redis load trade-off.
//!
//! Run: `cargo bench -p smppguard-benches --bench limits`

// Fixtures come from constants: a failed unwrap is a broken benchmark, caught on its first run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use criterion::{Criterion, Throughput};
use smppguard_limits::testing::RedisServer;
use smppguard_limits::{CheckRequest, HealthState, Limiter, LimitsConfig, Nanos, UnixTime};

const SEC: u64 = 1_000_000_000;
/// 2024-03-31T12:00:00Z.
const NOON: i64 = 1_711_886_400;

fn limiter(toml_text: &str) -> Limiter {
    let config: LimitsConfig = toml::from_str(toml_text).unwrap();
    Limiter::new(&config).unwrap()
}

fn req<'a>(account: &'a str, dest: &'a str, now: u64) -> CheckRequest<'a> {
    CheckRequest {
        account,
        source_addr: "ACME",
        destination_addr: dest,
        parts: 1,
        now: Nanos::from_nanos(now),
        wall_clock: UnixTime::from_secs(NOON),
    }
}

const ACCOUNT: &str = r#"
[accounts.acme]
messages_per_second = 1000000.0
burst = 100000
daily_messages = 1000000000000
[accounts.beta]
messages_per_second = 1000000.0
burst = 100000
daily_messages = 1000000000000
"#;

const ALL_LIMITS: &str = r#"
[accounts.acme]
messages_per_second = 1000000.0
burst = 100000
parts_per_second = 1000000.0
parts_burst = 100000
daily_messages = 1000000000000
monthly_parts = 1000000000000
sender = { messages = 1000000, burst = 100000 }
destination = { messages = 100, per_seconds = 1 }
[destinations]
messages = 100
per_seconds = 1
[[prefixes]]
prefix = "44"
messages = 1000000
burst = 100000
[[prefixes]]
prefix = "4479"
messages = 1000000
burst = 100000
"#;

/// Runs `f` `iters` times and returns the CPU time this thread spent doing it.
fn cpu_timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = ThreadTime::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn local(c: &mut Criterion) {
    let mut g = c.benchmark_group("limits/check");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(1));

    let l = limiter(ACCOUNT);
    let mut now = SEC;
    g.bench_function("account_allow", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                now += 1000;
                let d = l.check(black_box(&req("acme", "447900000001", now)));
                assert!(d.is_allowed());
            })
        })
    });
    let mut now = SEC;
    g.bench_function("account_allow_wall_clock", |b| {
        b.iter(|| {
            now += 1000;
            l.check(black_box(&req("acme", "447900000001", now)))
        })
    });

    let tight = limiter("[accounts.acme]\nmessages_per_second = 1.0\nburst = 1\n");
    let _ = tight.check(&req("acme", "447900000001", SEC));
    g.bench_function("account_deny", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                let d = tight.check(black_box(&req("acme", "447900000001", SEC)));
                assert!(!d.is_allowed());
            })
        })
    });

    let all = limiter(ALL_LIMITS);
    let numbers: Vec<String> = (0..100_000).map(|i| format!("+4479{i:08}")).collect();
    let mut now = SEC;
    let mut i = 0usize;
    g.bench_function("all_limits_allow", |b| {
        b.iter_custom(|iters| {
            cpu_timed(iters, || {
                now += 1000;
                i = (i + 1) % numbers.len();
                let d = all.check(black_box(&req("acme", &numbers[i], now)));
                assert!(d.is_allowed());
            })
        })
    });

    g.throughput(Throughput::Elements(2));
    for (name, accounts) in [
        ("contended_2_threads", ["acme", "acme"]),
        ("separate_2_threads", ["acme", "beta"]),
    ] {
        let l = limiter(ACCOUNT);
        g.bench_function(name, |b| {
            // CPU time of both threads together: per-core throughput with the cache-line
            // traffic of two cores updating the same account included.
            b.iter_custom(|iters| {
                std::thread::scope(|s| {
                    let threads: Vec<_> = accounts
                        .into_iter()
                        .enumerate()
                        .map(|(t, account)| {
                            let l = &l;
                            s.spawn(move || {
                                // Two threads at 2 µs steps: 1 M/s together, the account's rate.
                                let mut now = SEC + t as u64 * 1000;
                                cpu_timed(iters, || {
                                    now += 2000;
                                    let _ = black_box(l.check(&req(account, "447900000001", now)));
                                })
                            })
                        })
                        .collect();
                    threads.into_iter().map(|h| h.join().unwrap()).sum()
                })
            })
        });
    }
    g.finish();
}

/// Latency samples of one paced run, and what it let through.
struct Run {
    latencies: Vec<u32>,
    allowed_per_second: Vec<u64>,
    denied: u64,
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Drives each node from its own thread at `per_node` messages/s for `seconds`, in 1 ms
/// batches, timing every check.
fn paced(nodes: &[Limiter], per_node: u64, seconds: u64) -> Run {
    let per_ms = per_node / 1000;
    let results: Vec<(Vec<u32>, Vec<u64>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                s.spawn(move || {
                    let mut lat = Vec::with_capacity((per_node * seconds) as usize);
                    let mut per_sec = vec![0u64; seconds as usize];
                    let mut denied = 0;
                    let start = Instant::now();
                    let mut k = 0u64;
                    for ms in 0..seconds * 1000 {
                        let due = start + Duration::from_millis(ms);
                        let now = Instant::now();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        for _ in 0..per_ms {
                            k += 1;
                            let dest = format!("4479{n}{:07}", k % 1_000_000);
                            let r = CheckRequest {
                                account: "acme",
                                source_addr: "ACME",
                                destination_addr: &dest,
                                parts: 1,
                                now: Nanos::now(),
                                wall_clock: UnixTime::now(),
                            };
                            let t0 = Instant::now();
                            let d = node.check(&r);
                            lat.push(t0.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
                            if d.is_allowed() {
                                let sec =
                                    (start.elapsed().as_secs() as usize).min(per_sec.len() - 1);
                                per_sec[sec] += 1;
                            } else {
                                denied += 1;
                            }
                        }
                    }
                    (lat, per_sec, denied)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut run = Run {
        latencies: Vec::new(),
        allowed_per_second: vec![0; seconds as usize],
        denied: 0,
    };
    for (lat, per_sec, denied) in results {
        run.latencies.extend(lat);
        for (a, b) in run.allowed_per_second.iter_mut().zip(per_sec) {
            *a += b;
        }
        run.denied += denied;
    }
    run.latencies.sort_unstable();
    run
}

/// Two limiters sharing `redis` with their drivers on a 2-thread runtime.
struct Fleet {
    nodes: Vec<Limiter>,
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Runtime,
}

impl Fleet {
    fn start(config: &str) -> Fleet {
        let config: LimitsConfig = toml::from_str(config).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let nodes: Vec<Limiter> = (0..2).map(|_| Limiter::new(&config).unwrap()).collect();
        for node in &nodes {
            let driver = node.redis_driver().unwrap();
            let stop = stop.clone();
            runtime.spawn(driver.run(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while nodes.iter().any(|n| n.health().state != HealthState::Redis) {
            assert!(Instant::now() < deadline, "redis backend did not connect");
            std::thread::sleep(Duration::from_millis(10));
        }
        Fleet {
            nodes,
            stop,
            runtime,
        }
    }

    fn syncs(&self) -> u64 {
        self.nodes.iter().map(|n| n.stats().redis_syncs_total).sum()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(30));
        let _ = &self.runtime;
    }
}

fn redis_config(url: &str, prefix: &str, lease_window_ms: u32, rate: u32) -> String {
    format!(
        r#"
        backend = "redis"
        [redis]
        addresses = ["{url}"]
        key_prefix = "{prefix}"
        lease_window_ms = {lease_window_ms}
        local_share = 0.5
        [accounts.acme]
        messages_per_second = {rate}.0
        burst = {burst}
        daily_messages = 1000000000000
        "#,
        burst = rate / 10
    )
}

fn print_latency(label: &str, run: &Run, extra: &str) {
    let l = &run.latencies;
    println!(
        "{label:<28} p50 {:>6} ns  p99 {:>6} ns  p99.9 {:>7} ns  max {:>8} ns  refused {:>6}  {extra}",
        percentile(l, 0.50),
        percentile(l, 0.99),
        percentile(l, 0.999),
        l.last().copied().unwrap_or(0),
        run.denied,
    );
}

fn fleet() {
    let redis = match RedisServer::start() {
        Ok(r) => r,
        Err(e) => {
            println!("limits/fleet: skipped: {e}");
            return;
        }
    };
    let seconds = 5;
    println!("\nlimits/fleet: 2 instances x 25k msg/s = 50k msg/s for {seconds} s");

    // Baseline: the same load on two independent local limiters.
    let config = redis_config(&redis.url(), "x", 10, 60_000)
        .replace("backend = \"redis\"", "backend = \"local\"");
    let local_nodes: Vec<Limiter> = (0..2).map(|_| limiter(&config)).collect();
    let run = paced(&local_nodes, 25_000, seconds);
    print_latency("local (limit 60k/s each)", &run, "");
    let local_p50 = percentile(&run.latencies, 0.5);

    let fleet = Fleet::start(&redis_config(&redis.url(), "lat", 10, 60_000));
    let syncs = fleet.syncs();
    let run = paced(&fleet.nodes, 25_000, seconds);
    let calls = (fleet.syncs() - syncs) / seconds;
    let added = i64::from(percentile(&run.latencies, 0.5)) - i64::from(local_p50);
    print_latency(
        "redis (limit 60k/s fleet)",
        &run,
        &format!("syncs/s {calls}  added p50 {added} ns"),
    );
    drop(fleet);

    println!(
        "\nlimits/fleet accuracy: 50k msg/s offered against a 20k/s fleet limit, per lease window"
    );
    for window in [1u32, 10, 50] {
        let fleet = Fleet::start(&redis_config(
            &redis.url(),
            &format!("acc{window}"),
            window,
            20_000,
        ));
        let syncs = fleet.syncs();
        let run = paced(&fleet.nodes, 25_000, seconds);
        let calls = (fleet.syncs() - syncs) / seconds;
        let steady = &run.allowed_per_second[1..];
        let worst = steady
            .iter()
            .map(|&n| (n as f64 - 20_000.0).abs() / 200.0)
            .fold(0.0, f64::max);
        print_latency(
            &format!("lease_window_ms = {window}"),
            &run,
            &format!("syncs/s {calls}  per second {steady:?}  worst {worst:.2} %"),
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    local(&mut c);
    c.final_summary();
    // The fleet run is a measurement, not a criterion benchmark: only under `cargo bench`.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let filtered = std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"limits/fleet".contains(a.as_str()));
    if bench_mode && !filtered {
        fleet();
    }
}
