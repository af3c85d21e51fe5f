//! `smppguard bench` against an in-process SMSC simulator: every message sent is
//! answered and counted, statuses come from the server, receipts are counted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::process::Command;

use serde_json::Value;
use smppguard_sim::{SimConfig, Smsc};

fn bench(addr: SocketAddr, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(["bench", "--target", &addr.to_string(), "--json"])
        .args(["--system-id", "load", "--password", "pw"])
        .args(extra)
        .output()
        .expect("run smppguard bench");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counted_run_is_fully_answered_and_matches_the_simulator() {
    let smsc = Smsc::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        SimConfig {
            dlr: true,
            record: None,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let addr = smsc.local_addr();
    let v = tokio::task::spawn_blocking(move || {
        bench(
            addr,
            &[
                "--sessions",
                "3",
                "--window",
                "8",
                "--count",
                "400",
                "--duration",
                "60",
                "--receipts",
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(v["messages"], 400);
    let submits = v["submits"].as_u64().unwrap();
    // 15% of the synthetic mix is sent in 2 or 3 parts.
    assert!(submits > 400 && submits < 600, "{v}");
    assert_eq!(v["statuses"]["ESME_ROK"].as_u64(), Some(submits));
    assert_eq!(v["errors"].as_object().unwrap().len(), 0);
    assert_eq!(smsc.stats().submits, submits);
    assert_eq!(v["receipts"].as_u64(), Some(submits));
    assert!(v["throughput"].as_f64().unwrap() > 0.0);
    let l = &v["latency_us"];
    let (p50, p99, max) = (
        l["p50"].as_u64().unwrap(),
        l["p99"].as_u64().unwrap(),
        l["max"].as_u64().unwrap(),
    );
    assert!(p50 > 0 && p50 <= p99 && p99 <= max, "{l}");
    // The timeline's peak is the run's largest latency (the histogram rounds to 3
    // significant digits).
    let peaks: Vec<u64> = v["max_latency_us_per_100ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let peak = *peaks.iter().max().unwrap();
    assert!(
        peak.abs_diff(max) <= max / 100 + 1,
        "{peaks:?} vs max {max}"
    );
}

/// A paced run sends exactly the messages asked for, all through the pacer's permits,
/// and stops when they are answered (the duration is far longer than the run needs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paced_counted_run_sends_every_message_and_ends() {
    let smsc = Smsc::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        SimConfig::default(),
    )
    .await
    .unwrap();
    let addr = smsc.local_addr();
    let args = "--sessions 2 --window 4 --count 120 --rate 2000 --mix gsm7=1 --duration 60";
    let v = tokio::task::spawn_blocking(move || bench(addr, &args.split(' ').collect::<Vec<_>>()))
        .await
        .unwrap();
    assert_eq!(v["messages"], 120, "{v}");
    assert_eq!(v["submits"], 120, "{v}");
    assert_eq!(v["statuses"]["ESME_ROK"].as_u64(), Some(120));
    assert_eq!(smsc.stats().submits, 120);
    assert!(
        v["elapsed_s"].as_f64().unwrap() < 60.0,
        "the run waited for its duration: {v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_are_counted_and_corpus_files_replayed() {
    let smsc = Smsc::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        SimConfig {
            error_rate: 1.0,
            record: None,
            ..SimConfig::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.tsv");
    std::fs::write(&corpus, "ham\tsee you at noon\nham\t中午見\n").unwrap();
    let addr = smsc.local_addr();
    let c = corpus.display().to_string();
    let v = tokio::task::spawn_blocking(move || {
        bench(
            addr,
            &[
                "--sessions",
                "1",
                "--window",
                "4",
                "--count",
                "50",
                "--corpus",
                &c,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(v["submits"], 50);
    assert_eq!(v["statuses"]["ESME_RSYSERR"], 50);
    assert!(v["statuses"].get("ESME_ROK").is_none());
}

#[test]
fn a_refused_bind_fails_the_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let smsc = rt
        .block_on(Smsc::start(
            "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
            SimConfig {
                accounts: vec![("someone".into(), "else".into())],
                ..SimConfig::default()
            },
        ))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(["bench", "--target", &smsc.local_addr().to_string()])
        .args(["--count", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bind refused"));
}
