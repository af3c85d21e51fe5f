//! Submits and their responses, message ids, the record, and the message operations.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashSet;

use common::*;
use smppguard_codec::{
    Body, COctetString, CancelSm, CommandId, CommandStatus, Pdu, QuerySm, ReplaceSm, ShortMessage,
    set_sequence_number,
};
use smppguard_sim::{BindType, MessageId, SimConfig, esme::Request, message::Sms};

#[tokio::test]
async fn submit_sm_is_answered_with_a_hex_message_id_and_recorded_byte_exact() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let sms = Sms::ucs2("Привет 👋");
    let sm = sms.submit_sm().unwrap();
    let sent = Pdu::new(Body::SubmitSm(sm), CommandStatus::ESME_ROK, 0).to_bytes();
    let resp = esme
        .submit(Request::from_frame(sent.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.command_id, CommandId::SUBMIT_SM_RESP);
    assert_eq!(resp.status, CommandStatus::ESME_ROK);
    assert_eq!(resp.message_id.len(), 16);
    let id = MessageId::parse(resp.message_id.as_bytes()).unwrap();

    let received = smsc.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(&*r.system_id, "esme01");
    assert_eq!(r.message_id, Some(id));
    assert_eq!(r.status, Some(CommandStatus::ESME_ROK));
    // Byte-exact apart from the sequence number the client assigned.
    let mut expected = sent.to_vec();
    let seq = r.pdu.sequence_number();
    assert!(set_sequence_number(&mut expected, seq));
    assert_eq!(&r.frame[..], &expected[..]);
    assert_eq!(r.user_data(), Some(sms.user_data()));
}

#[tokio::test]
async fn message_ids_are_unique_across_sessions() {
    let smsc = smsc(config()).await;
    let a = bound(&smsc, BindType::Transmitter, "esme01").await;
    let b = bound(&smsc, BindType::Transceiver, "esme02").await;
    let batch = || (0..600).map(|_| hello());
    let (ra, rb) = tokio::join!(a.submit_many(batch()), b.submit_many(batch()));
    let mut ids = HashSet::new();
    for r in ra.unwrap().into_iter().chain(rb.unwrap()) {
        let r = r.unwrap();
        assert!(r.status.is_ok());
        assert!(MessageId::parse(r.message_id.as_bytes()).is_some());
        assert!(ids.insert(r.message_id), "duplicate id");
    }
    assert_eq!(ids.len(), 1200);
    let stats = smsc.stats();
    assert_eq!((stats.submits, stats.submits_ok), (1200, 1200));
}

#[tokio::test]
async fn simulators_with_different_seeds_issue_different_ids() {
    let one = smsc(SimConfig {
        seed: 1,
        ..config()
    })
    .await;
    let two = smsc(SimConfig {
        seed: 2,
        ..config()
    })
    .await;
    let a = bound(&one, BindType::Transmitter, "esme01").await;
    let b = bound(&two, BindType::Transmitter, "esme01").await;
    let ia = a.submit(hello()).await.unwrap().message_id;
    let ib = b.submit(hello()).await.unwrap().message_id;
    assert_ne!(ia, ib);
}

#[tokio::test]
async fn data_sm_and_submit_multi_get_their_own_responses() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transceiver, "esme01").await;
    let sms = Sms::gsm7("Hi via data_sm").unwrap();
    let resp = esme.submit(sms.data_sm().unwrap()).await.unwrap();
    assert_eq!(resp.command_id, CommandId::DATA_SM_RESP);
    assert!(resp.status.is_ok() && !resp.message_id.is_empty());

    let multi = sms.submit_multi(&["447700900003", "447700900004"]).unwrap();
    let resp = esme.submit(multi).await.unwrap();
    assert_eq!(resp.command_id, CommandId::SUBMIT_MULTI_RESP);
    assert!(resp.status.is_ok() && !resp.message_id.is_empty());

    let received = smsc.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].command_id(), CommandId::DATA_SM);
    assert_eq!(received[0].user_data(), Some(sms.user_data()));
    assert_eq!(received[1].command_id(), CommandId::SUBMIT_MULTI);
}

#[tokio::test]
async fn query_cancel_replace_know_the_ids_they_issued() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let id = esme.submit(hello()).await.unwrap().message_id;
    let mid = |s: &str| COctetString::<65>::new(s.to_owned()).unwrap();
    let unknown = "FFFFFFFFFFFFFFFF";

    let resp = esme
        .request(Body::QuerySm(QuerySm {
            message_id: mid(&id),
            ..QuerySm::default()
        }))
        .await
        .unwrap();
    assert!(resp.status().is_ok());
    let Body::QuerySmResp(Some(q)) = &resp.pdu.body else {
        panic!("{resp:?}")
    };
    assert_eq!(q.message_id.as_bytes(), id.as_bytes());
    assert_eq!(q.message_state, smppguard_codec::MessageState::DELIVERED);
    assert_eq!(q.final_date.len(), 16);

    for op in [
        Body::QuerySm(QuerySm {
            message_id: mid(unknown),
            ..QuerySm::default()
        }),
        Body::CancelSm(CancelSm {
            message_id: mid(unknown),
            ..CancelSm::default()
        }),
        Body::ReplaceSm(ReplaceSm {
            message_id: mid(unknown),
            ..ReplaceSm::default()
        }),
    ] {
        let resp = esme.request(op).await.unwrap();
        assert_eq!(resp.status(), CommandStatus::ESME_RINVMSGID);
    }

    let replace = Body::ReplaceSm(ReplaceSm {
        message_id: mid(&id),
        short_message: ShortMessage::new(&b"new text"[..]).unwrap(),
        ..ReplaceSm::default()
    });
    let resp = esme.request(replace).await.unwrap();
    assert_eq!(resp.pdu.command_id(), CommandId::REPLACE_SM_RESP);
    assert!(resp.status().is_ok());
    let cancel = Body::CancelSm(CancelSm {
        message_id: mid(&id),
        ..CancelSm::default()
    });
    assert!(esme.request(cancel).await.unwrap().status().is_ok());

    // replace_sm carries content, so it is recorded with its answer and the id it
    // replaces: the one for an unknown id too.
    let received = smsc.received();
    assert_eq!(received.len(), 3);
    assert_eq!(received[1].command_id(), CommandId::REPLACE_SM);
    assert_eq!(received[1].status, Some(CommandStatus::ESME_RINVMSGID));
    assert_eq!(received[1].message_id, None);
    assert_eq!(received[2].user_data(), Some(&b"new text"[..]));
    assert_eq!(received[2].status, Some(CommandStatus::ESME_ROK));
    assert_eq!(received[2].message_id, MessageId::parse(id.as_bytes()));
}

#[tokio::test]
async fn broadcast_operations_are_prohibited() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    let resp = esme
        .request(Body::QueryBroadcastSm(Default::default()))
        .await
        .unwrap();
    assert_eq!(resp.status(), CommandStatus::ESME_RPROHIBITED);
    assert_eq!(resp.pdu.command_id(), CommandId::QUERY_BROADCAST_SM_RESP);
}

#[tokio::test]
async fn recording_can_be_capped_or_off() {
    let capped = smsc(SimConfig {
        record: Some(3),
        ..config()
    })
    .await;
    let esme = bound(&capped, BindType::Transmitter, "esme01").await;
    let sms: Vec<_> = (0..5)
        .map(|i| Sms::gsm7(&format!("m{i}")).unwrap().submit_sm().unwrap())
        .collect();
    for r in esme.submit_many(sms).await.unwrap() {
        assert!(r.unwrap().status.is_ok());
    }
    let kept: Vec<_> = capped
        .received()
        .iter()
        .map(|r| r.user_data().unwrap().to_vec())
        .collect();
    assert_eq!(kept, [b"m2".to_vec(), b"m3".to_vec(), b"m4".to_vec()]);
    assert_eq!(capped.received_dropped(), 2);
    assert_eq!(capped.take_received().len(), 3);
    assert!(capped.received().is_empty());

    let off = smsc(SimConfig {
        record: None,
        validate: false,
        ..config()
    })
    .await;
    let esme = bound(&off, BindType::Transmitter, "esme01").await;
    assert!(esme.submit(hello()).await.unwrap().status.is_ok());
    assert!(off.received().is_empty());
    assert_eq!(off.stats().submits_ok, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_submits_on_many_sessions_are_all_answered_once() {
    let smsc = smsc(SimConfig {
        record: None,
        ..config()
    })
    .await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
        tasks.push(tokio::spawn(async move {
            let results = esme.submit_many((0..5000).map(|_| hello())).await.unwrap();
            results
                .into_iter()
                .filter(|r| matches!(r, Ok(r) if r.status.is_ok()))
                .count()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    assert_eq!(ok, 20_000);
    let stats = smsc.stats();
    assert_eq!(stats.submits_ok, 20_000);
    assert_eq!(stats.responses, 20_000 + 4);
}
