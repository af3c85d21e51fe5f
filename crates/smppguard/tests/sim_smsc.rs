//! `smppguard sim smsc` as a process: flags take effect, clients bind and get
//! receipts, and SIGTERM unbinds them and exits 0.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use smppguard_codec::CommandStatus;
use smppguard_sim::{BindType, esme::Esme, message::Sms};

/// Generous: the test binary and the simulator share a loaded machine with other tests.
const SOON: Duration = Duration::from_secs(30);

/// Starts the simulator on a free port; returns the child and the address it logged.
fn start(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args([
            "sim",
            "smsc",
            "--listen",
            "127.0.0.1:0",
            "--stats-interval-s",
            "0",
        ])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn smppguard");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(addr) = line.split("addr=").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(SOON).expect("listening log line");
    (child, addr.parse().expect("address in the log line"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_binds_and_receipts_and_stops_on_sigterm() {
    let (mut child, addr) = start(&["--accounts", "esme01:s3cr3t", "--dlr", "--seed", "1"]);

    let esme = Esme::connect(addr).await.unwrap();
    let refused = esme
        .bind(BindType::Transceiver, "esme01", "nope")
        .await
        .unwrap();
    assert_eq!(refused.status, CommandStatus::ESME_RINVPASWD);
    let bound = esme
        .bind(BindType::Transceiver, "esme01", "s3cr3t")
        .await
        .unwrap();
    assert_eq!(bound.status, CommandStatus::ESME_ROK);
    assert_eq!(bound.system_id, "smppguard-sim");

    let sm = Sms::gsm7("Hello")
        .unwrap()
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    let resp = esme.submit(sm).await.unwrap();
    assert!(resp.status.is_ok());
    let receipt = esme
        .next_delivery_timeout(SOON)
        .await
        .and_then(|d| d.receipt())
        .expect("a receipt");
    assert_eq!(receipt.id, resp.message_id);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    assert_eq!(
        esme.stats().unbinds,
        1,
        "the simulator unbinds before exiting"
    );
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[test]
fn bad_flags_exit_with_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(["sim", "smsc", "--error-rate", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 0 and 1"));
}
