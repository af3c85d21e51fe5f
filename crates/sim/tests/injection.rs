//! Error and latency injection, and the unresponsive modes.

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
use smppguard_codec::{CommandStatus, SubmitSm};
use smppguard_sim::{
    Answer, BindType, EsmeError, SimConfig,
    esme::{Esme, EsmeConfig},
};

async fn statuses(seed: u64, rate: f64, n: usize) -> Vec<CommandStatus> {
    let smsc = smsc(SimConfig {
        seed,
        error_rate: rate,
        ..config()
    })
    .await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let results = esme.submit_many((0..n).map(|_| hello())).await.unwrap();
    let statuses: Vec<_> = results.into_iter().map(|r| r.unwrap().status).collect();
    let stats = smsc.stats();
    let errors = statuses.iter().filter(|s| !s.is_ok()).count() as u64;
    assert_eq!(stats.errors_injected, errors);
    assert_eq!(stats.submits_ok + stats.errors_injected, n as u64);
    statuses
}

#[tokio::test]
async fn error_rate_is_within_tolerance_and_repeatable_for_a_seed() {
    let n = 10_000;
    let first = statuses(7, 0.2, n).await;
    let errors = first.iter().filter(|s| !s.is_ok()).count();
    // Binomial(10 000, 0.2): standard deviation 40; allow about five.
    assert!((1800..=2200).contains(&errors), "{errors} errors");
    assert!(
        first
            .iter()
            .all(|s| s.is_ok() || *s == CommandStatus::ESME_RSYSERR)
    );
    // The same seed on a fresh simulator gives the same answers in the same order.
    assert_eq!(statuses(7, 0.2, n).await, first);
    assert_ne!(statuses(8, 0.2, n).await, first);
}

#[tokio::test]
async fn injected_errors_use_the_configured_status_and_no_message_id() {
    let smsc = smsc(SimConfig {
        error_rate: 1.0,
        error_status: CommandStatus::ESME_RTHROTTLED,
        dlr: true,
        ..config()
    })
    .await;
    let esme = bound(&smsc, BindType::Transceiver, "esme01").await;
    let resp = esme.submit(hello_with_receipt()).await.unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RTHROTTLED);
    assert!(resp.message_id.is_empty());
    assert_eq!(
        smsc.received()[0].status,
        Some(CommandStatus::ESME_RTHROTTLED)
    );
    // A refused message gets no receipt.
    assert!(
        esme.next_delivery_timeout(Duration::from_millis(100))
            .await
            .is_none()
    );
    smsc.set_error_rate(0.0);
    assert!(esme.submit(hello()).await.unwrap().status.is_ok());
}

#[tokio::test]
async fn latency_delays_responses_without_serializing_the_session() {
    // Long enough that every submit is read before the first response is due.
    let smsc = smsc(SimConfig {
        latency: Duration::from_secs(2),
        ..config()
    })
    .await;
    let esme = std::sync::Arc::new(bound(&smsc, BindType::Transmitter, "esme01").await);
    // Below the client window of 256, so the enquire_link below is not held back.
    let n = 200;
    let answered = esme.stats().responses;
    let pending = {
        let esme = esme.clone();
        tokio::spawn(async move { esme.submit_many((0..n).map(|_| hello())).await })
    };
    // All of them are read and counted while none has been answered yet.
    smsc.wait_for(SOON, |s| s.submits == n as u64)
        .await
        .unwrap();
    assert_eq!(esme.stats().responses, answered);
    // enquire_link is not a message operation: it is answered at once, overtaking
    // the delayed submit responses.
    assert_eq!(esme.enquire_link().await.unwrap(), CommandStatus::ESME_ROK);
    assert_eq!(esme.stats().responses, answered + 1);
    let results = pending.await.unwrap().unwrap();
    assert_eq!(results.len(), n);
    assert!(results.iter().all(|r| r.as_ref().unwrap().status.is_ok()));
}

/// A bound transmitter that gives up on a response after 200 ms.
async fn impatient_transmitter(smsc: &smppguard_sim::SmscHandle) -> Esme {
    let esme = Esme::connect_with(
        smsc.local_addr(),
        EsmeConfig {
            response_timeout: Some(Duration::from_millis(200)),
            ..EsmeConfig::default()
        },
    )
    .await
    .unwrap();
    let resp = esme
        .bind(BindType::Transmitter, "esme01", "s3cr3t")
        .await
        .unwrap();
    assert!(resp.status.is_ok());
    esme
}

#[tokio::test]
async fn no_submits_mode_reads_but_never_answers() {
    let smsc = smsc(SimConfig {
        answer: Answer::NoSubmits,
        ..config()
    })
    .await;
    let esme = impatient_transmitter(&smsc).await;
    let err = esme.submit(hello()).await.unwrap_err();
    assert!(matches!(err, EsmeError::Timeout(_)), "{err:?}");
    // The session itself is alive.
    assert_eq!(esme.enquire_link().await.unwrap(), CommandStatus::ESME_ROK);
    let stats = smsc.stats();
    assert_eq!(
        (stats.submits, stats.unanswered, stats.submits_ok),
        (1, 1, 0)
    );
    assert_eq!(smsc.received()[0].status, None);
    assert_eq!(esme.stats().timeouts, 1);

    smsc.set_answer(Answer::All);
    assert!(esme.submit(hello()).await.unwrap().status.is_ok());
}

#[tokio::test]
async fn nothing_mode_ignores_even_enquire_link() {
    let smsc = smsc(config()).await;
    let esme = impatient_transmitter(&smsc).await;
    smsc.set_answer(Answer::Nothing);
    assert!(matches!(
        esme.enquire_link().await,
        Err(EsmeError::Timeout(_))
    ));
    let sm: SubmitSm = hello();
    assert!(matches!(esme.submit(sm).await, Err(EsmeError::Timeout(_))));
    assert_eq!(smsc.stats().ignored, 2);
}

#[tokio::test]
async fn the_client_window_bounds_outstanding_requests() {
    // Responses take 2 s, so whatever the simulator has read by then the client sent
    // without an answer.
    let smsc = smsc(SimConfig {
        latency: Duration::from_secs(2),
        ..config()
    })
    .await;
    let esme = Esme::connect_with(
        smsc.local_addr(),
        EsmeConfig {
            window: 10,
            ..EsmeConfig::default()
        },
    )
    .await
    .unwrap();
    assert!(
        esme.bind(BindType::Transmitter, "esme01", "s3cr3t")
            .await
            .unwrap()
            .status
            .is_ok()
    );
    let esme = std::sync::Arc::new(esme);
    let all = {
        let esme = esme.clone();
        tokio::spawn(async move { esme.submit_many((0..20).map(|_| hello())).await })
    };
    smsc.wait_for(SOON, |s| s.submits >= 10).await.unwrap();
    assert_eq!(smsc.stats().submits, 10);
    assert_eq!(esme.stats().requests, 1 + 10);
    let results = all.await.unwrap().unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap().status.is_ok()));
    assert_eq!(smsc.stats().submits, 20);
}
