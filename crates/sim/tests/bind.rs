//! Bind outcomes, bind-state checks, enquire_link and unbind in both directions.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use smppguard_codec::{Bind, Body, COctetString, CommandId, CommandStatus, Header};
use smppguard_sim::{BindType, SimConfig, esme::Esme};

#[tokio::test]
async fn every_bind_type_binds_and_gets_the_smsc_name_and_version() {
    let smsc = smsc(config()).await;
    let mut clients = Vec::new();
    for bind_type in [
        BindType::Transmitter,
        BindType::Receiver,
        BindType::Transceiver,
    ] {
        let esme = Esme::connect(smsc.local_addr()).await.unwrap();
        let resp = esme.bind(bind_type, "esme01", "s3cr3t").await.unwrap();
        assert_eq!(resp.status, CommandStatus::ESME_ROK);
        assert_eq!(resp.system_id, "smppguard-sim");
        assert_eq!(resp.sc_interface_version, Some(0x34));
        assert_eq!(
            resp.pdu.command_id(),
            bind_type.command_id().response_id().unwrap()
        );
        clients.push(esme);
    }
    let bound = smsc.bound_sessions();
    assert_eq!(bound.len(), 3);
    assert!(bound.iter().all(|b| b.system_id == "esme01"));
    assert_eq!(smsc.stats().binds, 3);
}

#[tokio::test]
async fn wrong_password_and_unknown_system_id_are_refused_and_the_session_may_retry() {
    let smsc = smsc(config()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();

    let resp = esme
        .bind(BindType::Transmitter, "esme01", "wrong")
        .await
        .unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RINVPASWD);
    // Error responses are header-only (SMPP 3.4: no body on error).
    assert_eq!(resp.pdu.header.command_length, 16);

    let resp = esme
        .bind(BindType::Transmitter, "nobody", "s3cr3t")
        .await
        .unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RINVSYSID);

    let resp = esme
        .bind(BindType::Transmitter, "esme01", "s3cr3t")
        .await
        .unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    let stats = smsc.stats();
    assert_eq!((stats.binds, stats.bind_failures), (1, 2));
    assert!(
        smsc.bound_sessions()
            .iter()
            .all(|b| b.system_id == "esme01")
    );
}

#[tokio::test]
async fn empty_account_list_accepts_anyone() {
    let smsc = smsc(SimConfig::default()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    let resp = esme
        .bind(BindType::Transceiver, "whoever", "x")
        .await
        .unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
}

#[tokio::test]
async fn second_bind_on_a_bound_session_is_already_bound() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let resp = esme
        .bind(BindType::Receiver, "esme01", "s3cr3t")
        .await
        .unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RALYBND);
    assert_eq!(resp.pdu.command_id(), CommandId::BIND_RECEIVER_RESP);
    // The first bind still stands.
    assert_eq!(smsc.bound_sessions()[0].bind_type, BindType::Transmitter);
    assert!(esme.submit(hello()).await.unwrap().status.is_ok());
}

#[tokio::test]
async fn operations_outside_the_bind_state_are_refused() {
    let smsc = smsc(config()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    // Before any bind: enquire_link is fine, a submit is not.
    assert_eq!(esme.enquire_link().await.unwrap(), CommandStatus::ESME_ROK);
    let resp = esme.submit(hello()).await.unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RINVBNDSTS);
    assert_eq!(resp.command_id, CommandId::SUBMIT_SM_RESP);
    let resp = esme.request(Body::Unbind).await.unwrap();
    assert_eq!(resp.status(), CommandStatus::ESME_RINVBNDSTS);

    // A receiver may not submit.
    let rx = bound(&smsc, BindType::Receiver, "esme01").await;
    let resp = rx.submit(hello()).await.unwrap();
    assert_eq!(resp.status, CommandStatus::ESME_RINVBNDSTS);
    assert_eq!(smsc.stats().submits, 0);
}

#[tokio::test]
async fn smpp_50_binds_get_version_50_and_33_binds_get_no_tlv() {
    let smsc = smsc(config()).await;
    for (version, expected) in [(0x50, Some(0x50)), (0x33, None)] {
        let esme = Esme::connect(smsc.local_addr()).await.unwrap();
        let body = Bind {
            system_id: COctetString::new("esme01").unwrap(),
            password: COctetString::new("s3cr3t").unwrap(),
            interface_version: version,
            ..Bind::default()
        };
        let resp = esme.bind_with(BindType::Transceiver, body).await.unwrap();
        assert!(resp.status.is_ok());
        assert_eq!(resp.sc_interface_version, expected);
    }
}

#[tokio::test]
async fn esme_unbind_is_answered_and_the_connection_closes() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transceiver, "esme01").await;
    assert_eq!(esme.unbind().await.unwrap(), CommandStatus::ESME_ROK);
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    smsc.wait_for(SOON, |s| s.unbinds == 1).await.unwrap();
    assert!(smsc.bound_sessions().is_empty());
}

#[tokio::test]
async fn smsc_unbind_is_answered_by_the_client_and_both_close() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transceiver, "esme01").await;
    let open = smsc.unbind_all(SOON).await;
    assert_eq!(open, 0);
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    assert_eq!(esme.stats().unbinds, 1);
    assert!(esme.submit(hello()).await.is_err());
}

#[tokio::test]
async fn enquire_link_from_the_smsc_is_answered_by_the_client() {
    // The client answers enquire_link itself; drive one from a raw peer.
    let listener = tokio::net::TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let esme = tokio::spawn(async move { Esme::connect(addr).await.unwrap() });
    let (mut sock, _) = listener.accept().await.unwrap();
    let esme = esme.await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let req = Header::new(CommandId::ENQUIRE_LINK, CommandStatus::ESME_ROK, 77);
    sock.write_all(&req.to_bytes()).await.unwrap();
    let mut resp = [0u8; 16];
    sock.read_exact(&mut resp).await.unwrap();
    let resp = Header::parse(&resp).unwrap();
    assert_eq!(resp.command_id, CommandId::ENQUIRE_LINK_RESP);
    assert_eq!(resp.sequence_number, 77);
    assert_eq!(esme.stats().enquire_links, 1);
}
