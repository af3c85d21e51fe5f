//! SMSC simulator and ESME client over loopback TCP: what a `submit_sm` costs each side,
//! since the end-to-end benchmark drives the proxy with them.
//!
//! Each iteration submits a batch of 20 000 prepared `submit_sm` frames (160 GSM
//! characters, receipt requested) on one connection with `Esme::submit_many` (window 256,
//! sequence numbers rewritten in place, no re-encoding) and waits for every response.
//! Cases run for the default simulator, which decodes every submit (`validate`), and for
//! `validate: false` (`header_only`); recording is off, as in load tests.
//! - `smsc_cpu/*`: CPU time of the simulator alone. It runs on its own one-worker tokio
//!   runtime and the time is that worker thread's, so the figure holds however busy the
//!   machine is; throughput is submits per CPU-second of the simulator.
//! - `total_cpu/*`: CPU time of the whole process, client and simulator together.
//! - `wall/*`: wall-clock throughput of the same pair; depends on what else the machine
//!   runs.
//! - `latency_5ms/window_256`: 5 ms injected latency, wall clock. Responses delayed
//!   concurrently cap it near window / latency = 51 200 submits/s (tokio timers round the
//!   delay up to the next millisecond); delayed one after another it would be 200/s.
//!
//! Run: `cargo bench -p smppguard-benches --bench sim`

// Fixtures come from constants: a failed unwrap is a broken benchmark, caught on its first run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cpu_time::{ProcessTime, ThreadTime};
use criterion::{Criterion, Throughput};
use smppguard_sim::{
    BindType, SimConfig, Smsc, SmscHandle,
    esme::{Esme, Request},
    message::Sms,
};
use tokio::runtime::Runtime;

/// Submits per iteration.
const BATCH: usize = 20_000;

/// Simulator and client on separate one-worker runtimes, so each side's CPU time can be
/// read from its worker thread.
struct Fixture {
    smsc_rt: Runtime,
    client_rt: Runtime,
    _smsc: SmscHandle,
    client: Arc<Esme>,
    requests: Arc<Vec<Request>>,
}

fn one_worker() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn fixture(config: SimConfig, batch: usize) -> Fixture {
    let smsc_rt = one_worker();
    let client_rt = one_worker();
    let config = SimConfig {
        record: None,
        seed: 1,
        ..config
    };
    let smsc = smsc_rt.block_on(async {
        Smsc::start(
            "127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap(),
            config,
        )
        .await
        .unwrap()
    });
    let addr = smsc.local_addr();
    let client = client_rt.block_on(async {
        let esme = Esme::connect(addr).await.unwrap();
        let resp = esme
            .bind(BindType::Transmitter, "bench", "bench")
            .await
            .unwrap();
        assert!(resp.status.is_ok());
        Arc::new(esme)
    });
    let sm = Sms::gsm7(&"Your verification code is 123456. ".repeat(5)[..160])
        .unwrap()
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    Fixture {
        smsc_rt,
        client_rt,
        _smsc: smsc,
        client,
        requests: Arc::new(vec![Request::from(sm); batch]),
    }
}

/// CPU time the worker thread of `rt` has used so far.
fn worker_cpu(rt: &Runtime) -> Duration {
    rt.block_on(async { tokio::spawn(async { ThreadTime::now().as_duration() }).await })
        .unwrap()
}

/// Runs `iters` batches from the client runtime.
fn run(f: &Fixture, iters: u64) {
    let client = Arc::clone(&f.client);
    let requests = Arc::clone(&f.requests);
    f.client_rt.block_on(async move {
        for _ in 0..iters {
            let results = client.submit_many(requests.iter().cloned()).await.unwrap();
            assert!(results.iter().all(|r| r.as_ref().unwrap().status.is_ok()));
        }
    });
}

fn submit(c: &mut Criterion) {
    let cases = [("validate", true), ("header_only", false)];
    let fixtures: Vec<_> = cases
        .iter()
        .map(|&(name, validate)| {
            let config = SimConfig {
                validate,
                ..SimConfig::default()
            };
            (name, fixture(config, BATCH))
        })
        .collect();
    for group_name in ["smsc_cpu", "total_cpu", "wall"] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4))
            .throughput(Throughput::Elements(BATCH as u64));
        for (name, f) in &fixtures {
            group.bench_function(*name, |b| {
                b.iter_custom(|iters| match group_name {
                    "smsc_cpu" => {
                        let start = worker_cpu(&f.smsc_rt);
                        run(f, iters);
                        worker_cpu(&f.smsc_rt).saturating_sub(start)
                    }
                    "total_cpu" => {
                        let start = ProcessTime::now();
                        run(f, iters);
                        start.elapsed()
                    }
                    _ => {
                        let start = Instant::now();
                        run(f, iters);
                        start.elapsed()
                    }
                })
            });
        }
        group.finish();
    }
}

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("latency_5ms");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let batch = 5_000;
    let f = fixture(
        SimConfig {
            latency: Duration::from_millis(5),
            ..SimConfig::default()
        },
        batch,
    );
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function("window_256", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            run(&f, iters);
            start.elapsed()
        })
    });
    group.finish();
}

criterion::criterion_group!(benches, submit, latency);
criterion::criterion_main!(benches);
