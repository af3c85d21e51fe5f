//! The SMSC dying mid-flight, restarting on the same port, and shutting down.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use smppguard_codec::CommandStatus;
use smppguard_sim::{Answer, BindType, EsmeError, MessageId, SimConfig, esme::Esme};

#[tokio::test]
async fn kill_drops_every_connection_and_fails_outstanding_requests() {
    let smsc = smsc(SimConfig {
        answer: Answer::NoSubmits,
        ..config()
    })
    .await;
    let esme = std::sync::Arc::new(bound(&smsc, BindType::Transmitter, "esme01").await);
    let rx = bound(&smsc, BindType::Receiver, "esme01").await;
    let inflight = {
        let esme = esme.clone();
        tokio::spawn(async move { esme.submit_many((0..50).map(|_| hello())).await })
    };
    smsc.wait_for(SOON, |s| s.submits == 50).await.unwrap();

    smsc.kill().await;
    assert!(!smsc.is_listening());
    assert_eq!(smsc.connections(), 0);
    let results = inflight.await.unwrap().unwrap();
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|r| matches!(r, Err(EsmeError::Closed))));
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    tokio::time::timeout(SOON, rx.closed()).await.unwrap();
    assert!(Esme::connect(smsc.local_addr()).await.is_err());
}

#[tokio::test]
async fn restart_listens_on_the_same_port_and_keeps_ids_unique() {
    let smsc = smsc(config()).await;
    let addr = smsc.local_addr();
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let before = esme.submit(hello()).await.unwrap().message_id;

    smsc.kill().await;
    assert!(esme.submit(hello()).await.is_err());
    smsc.restart().await.unwrap();
    assert!(smsc.is_listening());
    assert_eq!(smsc.local_addr(), addr);
    assert!(matches!(
        smsc.restart().await,
        Err(smppguard_sim::SimError::AlreadyRunning)
    ));

    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let after = esme.submit(hello()).await.unwrap().message_id;
    assert_ne!(before, after);
    let (b, a) = (
        MessageId::parse(before.as_bytes()).unwrap(),
        MessageId::parse(after.as_bytes()).unwrap(),
    );
    assert!(a > b);
    // Counters carry on across the restart.
    assert_eq!(smsc.stats().binds, 2);
}

#[tokio::test]
async fn receipts_queued_while_dead_are_delivered_after_restart() {
    let smsc = smsc(SimConfig {
        dlr: true,
        dlr_delay: Duration::from_millis(300),
        ..config()
    })
    .await;
    let tx = bound(&smsc, BindType::Transmitter, "esme01").await;
    let id = tx.submit(hello_with_receipt()).await.unwrap().message_id;
    smsc.kill().await;
    smsc.restart().await.unwrap();
    let rx = bound(&smsc, BindType::Receiver, "esme01").await;
    let d = rx.next_delivery_timeout(SOON).await.unwrap();
    assert_eq!(d.receipt().unwrap().id, id);
}

#[tokio::test]
async fn shutdown_unbinds_clients_first() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transceiver, "esme01").await;
    assert_eq!(esme.enquire_link().await.unwrap(), CommandStatus::ESME_ROK);
    smsc.clone().shutdown().await;
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    assert_eq!(esme.stats().unbinds, 1);
    assert!(!smsc.is_listening());
}

#[tokio::test]
async fn dropping_the_last_handle_stops_the_simulator() {
    let smsc = smsc(config()).await;
    let addr = smsc.local_addr();
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    drop(smsc);
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    // The listener goes with it (allow the aborted task a moment to be dropped).
    let mut refused = false;
    for _ in 0..100 {
        if Esme::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
}
