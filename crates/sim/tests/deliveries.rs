//! Delivery receipts and MO messages: content, routing, acknowledgement and retries.

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
use smppguard_codec::{Body, CommandStatus, MessageState, TlvTag};
use smppguard_sim::{BindType, MessageId, MoConfig, SimConfig, message::Sms};

fn dlr_config() -> SimConfig {
    SimConfig {
        dlr: true,
        ..config()
    }
}

#[tokio::test]
async fn receipt_reaches_a_receiver_of_the_same_account_with_text_and_tlvs() {
    let smsc = smsc(dlr_config()).await;
    let rx_other = bound(&smsc, BindType::Receiver, "esme02").await;
    let rx = bound(&smsc, BindType::Receiver, "esme01").await;
    let tx = bound(&smsc, BindType::Transmitter, "esme01").await;
    let sm = Sms::gsm7("Hello world, this text is longer than twenty")
        .unwrap()
        .from("447700900001")
        .to("447700900002")
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    let resp = tx.submit(sm).await.unwrap();
    assert!(resp.status.is_ok());

    let d = rx.next_delivery_timeout(SOON).await.expect("receipt");
    assert_eq!(d.answered, CommandStatus::ESME_ROK);
    assert!(d.is_receipt());
    let sm = d.deliver_sm().unwrap();
    assert_eq!(sm.esm_class, 0x04);
    // The receipt travels back: source and destination swap.
    assert_eq!(sm.source_addr.as_bytes(), b"447700900002");
    assert_eq!(sm.destination_addr.as_bytes(), b"447700900001");
    assert_eq!(sm.data_coding, 0);
    // receipted_message_id is a C-octet string: the NUL is inside the TLV.
    let mut with_nul = resp.message_id.clone().into_bytes();
    with_nul.push(0);
    assert_eq!(
        sm.tlvs.get(TlvTag::RECEIPTED_MESSAGE_ID),
        Some(&with_nul[..])
    );
    assert_eq!(
        d.receipted_message_id().as_deref(),
        Some(resp.message_id.as_str())
    );
    assert_eq!(d.message_state(), Some(MessageState::DELIVERED));

    let receipt = d.receipt().unwrap();
    assert_eq!(receipt.id, resp.message_id);
    assert_eq!((receipt.sub, receipt.dlvrd), (1, 1));
    assert_eq!(receipt.stat, "DELIVRD");
    assert_eq!(receipt.err, "000");
    assert_eq!(receipt.submit_date.len(), 10);
    assert_eq!(receipt.done_date.len(), 10);
    assert_eq!(receipt.text, b"Hello world, this te");
    let text = String::from_utf8(sm.short_message.as_bytes().to_vec()).unwrap();
    assert!(
        text.starts_with(&format!(
            "id:{} sub:001 dlvrd:001 submit date:",
            resp.message_id
        )),
        "{text}"
    );

    smsc.wait_for(SOON, |s| s.dlrs_acked == 1).await.unwrap();
    assert_eq!(smsc.stats().dlrs_sent, 1);
    // The other account's receiver saw nothing.
    assert!(
        rx_other
            .next_delivery_timeout(Duration::from_millis(100))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn no_receipt_unless_requested() {
    let smsc = smsc(dlr_config()).await;
    let trx = bound(&smsc, BindType::Transceiver, "esme01").await;
    assert!(trx.submit(hello()).await.unwrap().status.is_ok());
    // registered_delivery 2 asks for failure receipts only; every message succeeds.
    let sm = Sms::gsm7("x")
        .unwrap()
        .registered_delivery(2)
        .submit_sm()
        .unwrap();
    assert!(trx.submit(sm).await.unwrap().status.is_ok());
    let resp = trx.submit(hello_with_receipt()).await.unwrap();
    let d = trx.next_delivery_timeout(SOON).await.unwrap();
    assert_eq!(d.receipt().unwrap().id, resp.message_id);
    smsc.wait_for(SOON, |s| s.dlrs_acked == 1).await.unwrap();
    assert_eq!(smsc.stats().dlrs_sent, 1);
}

#[tokio::test]
async fn receipts_round_robin_over_the_accounts_receivers() {
    let smsc = smsc(dlr_config()).await;
    let a = bound(&smsc, BindType::Receiver, "esme01").await;
    let b = bound(&smsc, BindType::Transceiver, "esme01").await;
    let tx = bound(&smsc, BindType::Transmitter, "esme01").await;
    let results = tx
        .submit_many((0..10).map(|_| hello_with_receipt()))
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap().status.is_ok()));
    smsc.wait_for(SOON, |s| s.dlrs_acked == 10).await.unwrap();
    assert_eq!(a.stats().deliveries, 5);
    assert_eq!(b.stats().deliveries, 5);
}

#[tokio::test]
async fn receipts_wait_for_a_receiver_to_bind() {
    let smsc = smsc(dlr_config()).await;
    let tx = bound(&smsc, BindType::Transmitter, "esme01").await;
    let id = tx.submit(hello_with_receipt()).await.unwrap().message_id;
    assert_eq!(smsc.stats().dlrs_sent, 0);
    let rx = bound(&smsc, BindType::Receiver, "esme01").await;
    let d = rx.next_delivery_timeout(SOON).await.unwrap();
    assert_eq!(d.receipt().unwrap().id, id);
}

#[tokio::test]
async fn refused_receipts_are_retried_until_accepted() {
    let smsc = smsc(SimConfig {
        delivery_retry_delay: Duration::from_millis(20),
        delivery_attempts: 5,
        ..dlr_config()
    })
    .await;
    let trx = bound(&smsc, BindType::Transceiver, "esme01").await;
    trx.set_deliver_status(CommandStatus::ESME_RX_T_APPN);
    let id = trx.submit(hello_with_receipt()).await.unwrap().message_id;
    let first = trx.next_delivery_timeout(SOON).await.unwrap();
    assert_eq!(first.answered, CommandStatus::ESME_RX_T_APPN);
    let second = trx.next_delivery_timeout(SOON).await.unwrap();
    assert_eq!(second.answered, CommandStatus::ESME_RX_T_APPN);
    trx.set_deliver_status(CommandStatus::ESME_ROK);
    let accepted = loop {
        let d = trx.next_delivery_timeout(SOON).await.unwrap();
        if d.answered.is_ok() {
            break d;
        }
    };
    assert_eq!(accepted.receipt().unwrap().id, id);
    let stats = smsc.wait_for(SOON, |s| s.dlrs_acked == 1).await.unwrap();
    assert!(stats.dlrs_failed >= 2);
    assert_eq!(stats.dlrs_sent, stats.dlrs_failed + 1);
}

#[tokio::test]
async fn receipts_are_dropped_after_the_last_attempt() {
    let smsc = smsc(SimConfig {
        delivery_retry_delay: Duration::from_millis(5),
        delivery_attempts: 2,
        ..dlr_config()
    })
    .await;
    let trx = bound(&smsc, BindType::Transceiver, "esme01").await;
    trx.set_deliver_status(CommandStatus::ESME_RSYSERR);
    trx.submit(hello_with_receipt()).await.unwrap();
    let stats = smsc
        .wait_for(SOON, |s| s.deliveries_dropped == 1)
        .await
        .unwrap();
    assert_eq!(
        (stats.dlrs_sent, stats.dlrs_failed, stats.dlrs_acked),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn injected_mo_reaches_the_account_and_is_acknowledged() {
    let smsc = smsc(config()).await;
    let rx = bound(&smsc, BindType::Receiver, "esme02").await;
    let mo = Sms::ucs2("Привет")
        .from("447700900009")
        .to("12345")
        .deliver_sm()
        .unwrap();
    smsc.send_mo("esme02", mo.clone()).await.unwrap();
    let d = rx.next_delivery_timeout(SOON).await.unwrap();
    assert!(!d.is_receipt());
    assert!(d.receipt().is_none());
    assert_eq!(d.pdu.body, Body::DeliverSm(mo));
    smsc.wait_for(SOON, |s| s.mo_acked == 1).await.unwrap();
}

#[tokio::test]
async fn periodic_mo_goes_to_every_bound_receiver_account() {
    let smsc = smsc(SimConfig {
        mo: Some(MoConfig {
            interval: Duration::from_millis(10),
            text: "ping".into(),
            ..MoConfig::default()
        }),
        ..config()
    })
    .await;
    let a = bound(&smsc, BindType::Receiver, "esme01").await;
    let b = bound(&smsc, BindType::Transceiver, "esme02").await;
    for esme in [&a, &b] {
        let d = esme.next_delivery_timeout(SOON).await.unwrap();
        let text = d.deliver_sm().unwrap().short_message.as_bytes().to_vec();
        assert!(text.starts_with(b"ping "), "{text:?}");
    }
    smsc.wait_for(SOON, |s| s.mo_acked >= 2).await.unwrap();
}

#[tokio::test]
async fn a_full_client_queue_asks_the_smsc_to_retry() {
    let smsc = smsc(SimConfig {
        delivery_retry_delay: Duration::from_millis(10),
        delivery_attempts: 100,
        ..dlr_config()
    })
    .await;
    let esme = smppguard_sim::esme::Esme::connect_with(
        smsc.local_addr(),
        smppguard_sim::esme::EsmeConfig {
            delivery_queue: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    esme.bind(BindType::Transceiver, "esme01", "s3cr3t")
        .await
        .unwrap();
    let ids: Vec<String> = esme
        .submit_many((0..3).map(|_| hello_with_receipt()))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().message_id)
        .collect();
    // Only one fits the queue at a time; the others come back later.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let d = esme.next_delivery_timeout(SOON).await.unwrap();
        seen.push(d.receipt().unwrap().id);
    }
    seen.sort();
    let mut expected = ids;
    expected.sort();
    assert_eq!(seen, expected);
    assert!(esme.stats().deliveries_refused >= 1);
    let stats = smsc.wait_for(SOON, |s| s.dlrs_acked == 3).await.unwrap();
    assert!(stats.dlrs_failed >= 1);
    assert!(MessageId::parse(seen[0].as_bytes()).is_some());
}
