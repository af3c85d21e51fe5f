//! Fleet-wide limits against a real Redis: two independent limiters share one `redis-server`
//! (started here on a free loopback port, killed at the end), as two smppguard instances
//! behind a load balancer would.

// Test helpers outside #[test] functions: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use smppguard_limits::testing::RedisServer;
use smppguard_limits::{Decision, HealthState, LimitKind, Limiter, LimitsConfig, Nanos, UnixTime};
use tokio::sync::oneshot;

mod support;
use support::{check, drive};

/// Two limiters with their drivers running on a private runtime.
struct Fleet {
    nodes: Vec<Limiter>,
    stops: Vec<oneshot::Sender<()>>,
    /// Runs the drivers; dropped (and its tasks with it) after the stop signals.
    _runtime: tokio::runtime::Runtime,
}

impl Fleet {
    fn start(config: &str, nodes: usize) -> Self {
        let config: LimitsConfig = toml::from_str(config).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut limiters = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..nodes {
            let limiter = Limiter::new(&config).unwrap();
            let (tx, rx) = oneshot::channel::<()>();
            let driver = limiter.redis_driver().expect("redis backend");
            runtime.spawn(driver.run(async move {
                let _ = rx.await;
            }));
            limiters.push(limiter);
            stops.push(tx);
        }
        let fleet = Fleet {
            nodes: limiters,
            stops,
            _runtime: runtime,
        };
        fleet.wait_for(HealthState::Redis);
        fleet
    }

    /// Waits (up to 10 s) until every node reports `state`.
    fn wait_for(&self, state: HealthState) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.nodes.iter().all(|n| n.health().state == state) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "nodes did not reach {state:?}: {:?}",
            self.nodes.iter().map(|n| n.health()).collect::<Vec<_>>()
        );
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        // Let the drivers see the shutdown before the runtime goes.
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn redis_config(url: &str, extra: &str) -> String {
    format!(
        r#"
        backend = "redis"
        [redis]
        addresses = ["{url}"]
        key_prefix = "test"
        local_share = 0.5
        sync_interval_ms = 100
        response_timeout_ms = 200
        reconnect_min_ms = 20
        reconnect_max_ms = 200
        {extra}
        "#
    )
}

#[test]
fn two_instances_hold_one_global_rate() {
    let redis = RedisServer::start().unwrap();
    let fleet = Fleet::start(
        &redis_config(
            &redis.url(),
            "[accounts.acme]\nmessages_per_second = 1000.0\nburst = 20\n",
        ),
        2,
    );
    // 2 instances x 2 sessions x 1250/s = 5000 attempts/s against a 1000/s limit, for 10 s.
    let traffic = drive(&fleet.nodes, 2, 1250, 10, || {});
    let per_second = &traffic.allowed;
    eprintln!(
        "allowed per second: {per_second:?}, pauses (ms): {:?}",
        traffic.max_gap_ms
    );
    // Second 0 includes the burst and cold start. Every later second in which the test
    // process kept running (no pause longer than the 20 ms burst lasts) holds 1000 +- 5 %.
    let clean = traffic.clean_seconds(20);
    assert!(
        clean.len() >= 6,
        "machine too busy to judge: {:?}",
        traffic.max_gap_ms
    );
    for sec in clean {
        let n = per_second[sec];
        assert!(
            (950..=1050).contains(&n),
            "second {sec}: {n} allowed, want 1000 +- 5 %: {per_second:?}"
        );
    }
    let total: u64 = per_second.iter().sum();
    assert!(total <= 10_500, "total {total} over 10 s: {per_second:?}");
    let leased: u64 = fleet
        .nodes
        .iter()
        .map(|n| n.stats().redis_units_leased_total)
        .sum();
    assert!(leased > 0, "units were leased from Redis");
}

#[test]
fn bursty_sender_gets_its_rate_across_two_instances() {
    let redis = RedisServer::start().unwrap();
    // The default 10 ms lease window is one unit of a 100/s limit.
    let fleet = Fleet::start(
        &redis_config(
            &redis.url(),
            "[accounts.acme]\nmessages_per_second = 100.0\nburst = 30\n",
        ),
        2,
    );
    // Each instance receives 30 messages at once every 100 ms for 5 s (600/s offered).
    const BURSTS: u32 = 50;
    let start = Instant::now();
    let passed: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = fleet
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                s.spawn(move || {
                    let dests: Vec<String> = (0..30).map(|i| format!("4479{n}{i:02}")).collect();
                    let (mut passed, mut slowest) = (0u64, Duration::ZERO);
                    for b in 0..BURSTS {
                        let at = start + Duration::from_millis(100) * b;
                        std::thread::sleep(at.saturating_duration_since(Instant::now()));
                        // The whole burst is checked before a Redis round trip could
                        // complete, as a proxy does with a window of PDUs read at once.
                        let began = Instant::now();
                        for dest in &dests {
                            passed += u64::from(check(node, "acme", dest).is_allowed());
                        }
                        slowest = slowest.max(began.elapsed());
                    }
                    eprintln!("node {n}: slowest burst took {slowest:?}");
                    passed
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let total: u64 = passed.iter().sum();
    // The burst plus the rate over the time from the first burst to the end of the last
    // (4.9 s when the bursts kept their schedule).
    let expected = 30.0 + 100.0 * elapsed;
    eprintln!(
        "bursty sender: {passed:?} = {total} allowed in {elapsed:.2} s, expected {expected:.0}"
    );
    #[allow(clippy::cast_precision_loss)]
    let ratio = total as f64 / expected;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "{total} allowed, expected {expected:.0} +- 10 %: {passed:?}"
    );
}

#[test]
fn redis_killed_and_restarted_during_traffic() {
    let mut redis = RedisServer::start().unwrap();
    let fleet = Fleet::start(
        &redis_config(
            &redis.url(),
            "[accounts.acme]\nmessages_per_second = 1000.0\nburst = 20\n",
        ),
        1,
    );
    let node = &fleet.nodes[0];
    let saw_degraded = AtomicBool::new(false);
    let saw_recovered = AtomicBool::new(false);
    // One instance, 4 sessions x 1000/s for 9 s; Redis dies at 2 s and is back at 5 s.
    let traffic = drive(std::slice::from_ref(node), 4, 1000, 9, || {
        std::thread::sleep(Duration::from_secs(2));
        redis.kill();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if node.health().state == HealthState::Degraded {
                saw_degraded.store(true, Ordering::Relaxed);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(node.health().reason.is_some());
        std::thread::sleep(Duration::from_secs(3));
        redis.restart().unwrap();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if node.health().state == HealthState::Redis {
                saw_recovered.store(true, Ordering::Relaxed);
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let per_second = &traffic.allowed;
    eprintln!(
        "allowed per second: {per_second:?}, pauses (ms): {:?}",
        traffic.max_gap_ms
    );
    assert!(
        saw_degraded.load(Ordering::Relaxed),
        "degraded state reported"
    );
    assert!(
        saw_recovered.load(Ordering::Relaxed),
        "degraded state cleared"
    );
    let stats = node.stats();
    assert!(stats.degraded_allowed_total > 0, "{stats:?}");
    assert!(stats.redis_connects_total >= 2, "{stats:?}");
    // While degraded (seconds 3 and 4) the node keeps serving at local_share (0.5) of the
    // rate; before and after it serves the full shared rate. Seconds in which the test
    // process was paused longer than the burst lasts are not judged.
    let clean = traffic.clean_seconds(20);
    for sec in [3, 4].into_iter().filter(|s| clean.contains(s)) {
        let n = per_second[sec];
        assert!(
            (450..=560).contains(&n),
            "second {sec}: {n}: {per_second:?}"
        );
    }
    for sec in [1, 7, 8].into_iter().filter(|s| clean.contains(s)) {
        let n = per_second[sec];
        assert!(
            (950..=1050).contains(&n),
            "second {sec}: {n}: {per_second:?}"
        );
    }
    assert!(
        per_second[2..5].iter().all(|&n| n > 0),
        "service continued during the outage: {per_second:?}"
    );
}

#[test]
fn quota_and_destination_limits_are_shared() {
    let redis = RedisServer::start().unwrap();
    let fleet = Fleet::start(
        &redis_config(
            &redis.url(),
            r#"
            [accounts.acme]
            daily_messages = 1000
            [destinations]
            messages = 10
            per_seconds = 3600
            "#,
        ),
        2,
    );
    let (a, b) = (&fleet.nodes[0], &fleet.nodes[1]);
    // The same number flooded through both instances: 10 per hour in total.
    let mut flood = 0;
    for _ in 0..30 {
        for _ in 0..20 {
            flood += usize::from(check(a, "acme", "+447900000001").is_allowed());
            flood += usize::from(check(b, "acme", "447900000001").is_allowed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(flood, 10, "destination limit across instances");

    // The daily quota across instances: 1000 messages (10 already used by the flood).
    let mut passed = flood;
    let mut send = |prefix: &str, n: usize| {
        for i in 0..n {
            let node = if i % 2 == 0 { a } else { b };
            let dest = format!("{prefix}{i:08}");
            passed += usize::from(check(node, "acme", &dest).is_allowed());
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    };
    send("4479", 1500);
    // Leased units a node did not use go back when the lease expires (evict_idle sweeps),
    // so the other node can use them.
    std::thread::sleep(Duration::from_millis(1100));
    a.evict_idle(Nanos::now());
    b.evict_idle(Nanos::now());
    std::thread::sleep(Duration::from_millis(100));
    send("4478", 400);
    eprintln!("quota: {passed} passed");
    assert!(
        (1000..=1005).contains(&passed),
        "daily quota across instances: {passed}"
    );
    let denied = check(a, "acme", "4470000000");
    assert_eq!(denied.limit(), Some(LimitKind::DailyMessages));
    std::thread::sleep(Duration::from_millis(300));
    let state = a.accounts_state(Nanos::now(), UnixTime::now());
    let used = state[0].quotas[0].used;
    assert!(
        (1000..=1005).contains(&used),
        "fleet-wide usage seen by a node: {used}"
    );

    // Every key the fleet wrote carries the deployment prefix and a TTL.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        assert!(key.starts_with("test:"), "{key}");
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
        assert!(ttl > 0, "{key} has no TTL");
    }
}

#[test]
fn binds_are_counted_across_instances() {
    let redis = RedisServer::start().unwrap();
    let fleet = Fleet::start(
        &redis_config(&redis.url(), "[accounts.acme]\nmax_binds = 3\n"),
        2,
    );
    let (a, b) = (&fleet.nodes[0], &fleet.nodes[1]);
    let held_a: Vec<_> = (0..2).map(|_| a.acquire_bind("acme").unwrap()).collect();
    // Wait until b has heard of a's binds (next sync, 100 ms).
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let s = b.accounts_state(Nanos::now(), UnixTime::now());
        if s[0].fleet_binds == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let held_b = b.acquire_bind("acme").unwrap();
    assert_eq!(b.acquire_bind("acme").unwrap_err().limit, LimitKind::Binds);
    drop(held_a);
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut again = None;
    while Instant::now() < deadline && again.is_none() {
        again = b.acquire_bind("acme").ok();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(again.is_some(), "binds freed on a are seen by b");
    drop(held_b);
}

#[test]
fn fail_closed_refuses_while_redis_is_down() {
    let mut redis = RedisServer::start().unwrap();
    let fleet = Fleet::start(
        &redis_config(
            &redis.url(),
            "fail_open = false\n[accounts.acme]\nmessages_per_second = 100.0\n",
        ),
        1,
    );
    let node = &fleet.nodes[0];
    assert!(check(node, "acme", "1").is_allowed());
    redis.kill();
    // The next sync fails; until then leased units may still be used.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && node.health().state != HealthState::Degraded {
        let _ = check(node, "acme", "1");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(node.health().state, HealthState::Degraded);
    assert!(!node.health().ready);
    std::thread::sleep(Duration::from_millis(1100)); // leases expire
    assert_eq!(
        check(node, "acme", "1"),
        Decision::Deny {
            limit: LimitKind::BackendUnavailable,
            status: 0x58
        }
    );
    redis.restart().unwrap();
    fleet.wait_for(HealthState::Redis);
    assert!(node.health().ready);
}
