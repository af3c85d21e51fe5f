//! Metrics on the hot path: what counting one request costs with the cached handles the
//! proxy uses, against a label lookup per message (what the design avoids) and against
//! the plain atomic the proxy's own event counters use.
//!
//! Run: `cargo bench -p smppguard-benches --bench metrics`

#![allow(clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use prometheus::{IntCounterVec, Opts, Registry};
use smppguard_metrics::{Metrics, MetricsOptions, Outcome};

/// Accounts configured, as in a mid-size deployment.
const ACCOUNTS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let metrics = Metrics::new(MetricsOptions {
        version: "bench",
        rule_categories: vec!["fraud", "spam", "other"],
        rule_actions: vec!["allow", "reject"],
    })
    .expect("metrics register");
    let accounts: Vec<_> = (0..ACCOUNTS)
        .map(|i| metrics.account(&format!("acct{i:05}")))
        .collect();
    let acme = &accounts[ACCOUNTS / 2];
    acme.outcome(Outcome::Accepted);
    let upstream = metrics.upstream("smsc-a");

    // The alternative: a labelled family, looked up by label values per message.
    let registry = Registry::new();
    let vec = IntCounterVec::new(
        Opts::new("bench_requests_total", "requests"),
        &["account", "outcome"],
    )
    .expect("valid family");
    registry.register(Box::new(vec.clone())).expect("registers");
    let names: Vec<String> = (0..ACCOUNTS).map(|i| format!("acct{i:05}")).collect();
    for n in &names {
        vec.with_label_values(&[n.as_str(), "accepted"]).inc();
    }
    let name = &names[ACCOUNTS / 2];

    let plain = AtomicU64::new(0);

    let mut g = c.benchmark_group("metrics");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    g.bench_function("plain_atomic_add", |b| {
        b.iter(|| black_box(&plain).fetch_add(1, Ordering::Relaxed))
    });
    g.bench_function("cached_counter_inc", |b| {
        b.iter(|| black_box(&acme.received).inc())
    });
    g.bench_function("cached_account_outcome", |b| {
        b.iter(|| black_box(acme).outcome(black_box(Outcome::Accepted)))
    });
    g.bench_function("cached_histogram_observe", |b| {
        b.iter(|| black_box(&upstream.end_to_end).observe(black_box(0.0042)))
    });
    g.bench_function("label_lookup_inc", |b| {
        b.iter(|| {
            vec.with_label_values(&[black_box(name.as_str()), black_box("accepted")])
                .inc()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
