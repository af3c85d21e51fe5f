//! Delivery receipts and mobile-originated messages go to the account that owns them.

use std::time::Duration;

use smppguard_codec::CommandStatus as S;
use smppguard_sim::BindType;
use smppguard_sim::message::Sms;

use super::support::{Harness, Setup, account, eventually, sim_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_reach_the_submitting_account_among_several() {
    let h = Harness::start(Setup {
        extra: [
            account("acme", ""),
            account("beta", ""),
            account("gamma", ""),
        ]
        .concat(),
        sessions: 2,
        ..Setup::default()
    })
    .await;
    let acme = h.bound(BindType::Transceiver, "acme").await;
    let beta = h.bound(BindType::Transceiver, "beta").await;
    // gamma has two receivers: its receipts alternate between them.
    let gamma_tx = h.bound(BindType::Transmitter, "gamma").await;
    let gamma_rx1 = h.bound(BindType::Receiver, "gamma").await;
    let gamma_rx2 = h.bound(BindType::Receiver, "gamma").await;
    let sms = Sms::gsm7("Hello").unwrap().registered_delivery(1);
    let a = acme.submit(sms.submit_sm().unwrap()).await.unwrap();
    let b = beta.submit(sms.submit_sm().unwrap()).await.unwrap();
    let mut g = Vec::new();
    for _ in 0..4 {
        g.push(
            gamma_tx
                .submit(sms.submit_sm().unwrap())
                .await
                .unwrap()
                .message_id,
        );
    }
    let wait = Duration::from_secs(5);
    let ra = acme.next_delivery_timeout(wait).await.unwrap();
    assert!(ra.is_receipt());
    assert_eq!(ra.receipted_message_id().unwrap(), a.message_id);
    let rb = beta.next_delivery_timeout(wait).await.unwrap();
    assert_eq!(rb.receipted_message_id().unwrap(), b.message_id);
    let mut seen = Vec::new();
    for rx in [&gamma_rx1, &gamma_rx2] {
        for _ in 0..2 {
            let d = rx.next_delivery_timeout(wait).await.unwrap();
            seen.push(d.receipted_message_id().unwrap());
        }
    }
    seen.sort();
    g.sort();
    assert_eq!(seen, g);
    // Nobody got anything else.
    let short = Duration::from_millis(200);
    assert!(acme.next_delivery_timeout(short).await.is_none());
    assert!(beta.next_delivery_timeout(short).await.is_none());
    assert!(gamma_tx.next_delivery_timeout(short).await.is_none());
    assert_eq!(h.proxy.stats().receipts_routed, 6);
    eventually("acks", || h.smsc().stats().dlrs_acked == 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_for_an_account_without_receiver_is_retried_not_lost() {
    let mut sim = sim_config();
    sim.delivery_retry_delay = Duration::from_millis(300);
    sim.delivery_attempts = 20;
    let h = Harness::start(Setup {
        smscs: vec![sim],
        ..Setup::default()
    })
    .await;
    let tx = h.bound(BindType::Transmitter, "acme").await;
    let r = tx
        .submit(
            Sms::gsm7("Hello")
                .unwrap()
                .registered_delivery(1)
                .submit_sm()
                .unwrap(),
        )
        .await
        .unwrap();
    // No receiver: the SMSC is told to retry later (ESME_RX_T_APPN), never ROK.
    eventually("refused", || h.smsc().stats().dlrs_failed >= 1).await;
    assert_eq!(h.smsc().stats().dlrs_acked, 0);
    assert!(h.proxy.stats().delivers_no_session >= 1);
    let rx = h.bound(BindType::Receiver, "acme").await;
    let d = rx
        .next_delivery_timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(d.receipted_message_id().unwrap(), r.message_id);
    eventually("acked", || h.smsc().stats().dlrs_acked == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mobile_originated_messages_go_by_destination_prefix() {
    let h = Harness::start(Setup {
        extra: [
            account("acme", "mo_addresses = [\"4477009001\"]"),
            account("beta", "mo_addresses = [\"44770090012\"]"),
        ]
        .concat(),
        ..Setup::default()
    })
    .await;
    let acme = h.bound(BindType::Receiver, "acme").await;
    let beta = h.bound(BindType::Receiver, "beta").await;
    let mo = |to: &str| {
        Sms::gsm7("STOP")
            .unwrap()
            .from("447700900555")
            .to(to)
            .deliver_sm()
            .unwrap()
    };
    h.smsc().send_mo("proxy", mo("447700900123")).await.unwrap();
    h.smsc().send_mo("proxy", mo("447700900177")).await.unwrap();
    let wait = Duration::from_secs(5);
    let d = beta.next_delivery_timeout(wait).await.unwrap();
    assert_eq!(
        d.deliver_sm().unwrap().destination_addr.as_ref(),
        b"447700900123"
    );
    let d = acme.next_delivery_timeout(wait).await.unwrap();
    assert_eq!(
        d.deliver_sm().unwrap().destination_addr.as_ref(),
        b"447700900177"
    );
    assert_eq!(d.answered, S::ESME_ROK);
    eventually("acked", || h.smsc().stats().mo_acked == 2).await;
    assert_eq!(h.proxy.stats().mo_routed, 2);
}
