//! Relaying: byte-exact forwarding, message_id pass-through, windows, the other
//! message operations, content blocks.

use std::time::Duration;

use smppguard_codec::{Body, COctetString, CancelSm, CommandStatus as S, Pdu, QuerySm};
use smppguard_sim::BindType;
use smppguard_sim::esme::Request;
use smppguard_sim::message::Sms;

use super::support::{Harness, RULES, Setup, account, eventually, header, sim_config, without_seq};

fn request(body: Body) -> Request {
    Request::from(Pdu::new(body, S::ESME_ROK, 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gsm7_and_ucs2_are_forwarded_byte_exact() {
    let h = Harness::start(Setup::default()).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let messages = [
        request(Body::SubmitSm(
            Sms::gsm7("Hello @ £1 {x}").unwrap().submit_sm().unwrap(),
        )),
        request(Body::SubmitSm(
            Sms::ucs2("Привет 👋 信用卡").submit_sm().unwrap(),
        )),
        request(Body::SubmitSm(
            Sms::gsm7("payload").unwrap().submit_sm_payload().unwrap(),
        )),
        request(Body::DataSm(
            Sms::gsm7("Hi via data_sm").unwrap().data_sm().unwrap(),
        )),
        request(Body::SubmitMulti(
            Sms::gsm7("to two")
                .unwrap()
                .submit_multi(&["447700900003", "447700900004"])
                .unwrap(),
        )),
    ];
    let mut ids = Vec::new();
    for m in &messages {
        let r = e.submit(m.clone()).await.unwrap();
        assert_eq!(r.status, S::ESME_ROK);
        assert!(!r.message_id.is_empty());
        ids.push(r.message_id);
    }
    let got = h.smsc().received();
    assert_eq!(got.len(), messages.len());
    for (sent, (seen, id)) in messages.iter().zip(got.iter().zip(&ids)) {
        // Only the sequence number differs; the SMSC's message_id comes back unchanged.
        assert_eq!(without_seq(sent.frame()), without_seq(&seen.frame));
        assert_eq!(
            seen.message_id
                .map(|m| String::from_utf8(m.to_hex().to_vec()).unwrap())
                .as_ref(),
            Some(id)
        );
    }
    // The proxy numbers its own leg: sequence numbers seen upstream are distinct.
    let mut seqs: Vec<u32> = got
        .iter()
        .map(|r| header(&r.frame).sequence_number)
        .collect();
    seqs.dedup();
    assert_eq!(seqs.len(), messages.len());
    assert_eq!(h.proxy.receipt_entries(), messages.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_window_submits_are_throttled_at_once() {
    let mut sim = sim_config();
    sim.latency = Duration::from_millis(400);
    let h = Harness::start(Setup {
        smscs: vec![sim],
        extra: account("acme", "window = 2"),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    let results = e.submit_many((0..6).map(|_| sm.clone())).await.unwrap();
    let statuses: Vec<S> = results.into_iter().map(|r| r.unwrap().status).collect();
    let ok = statuses.iter().filter(|s| **s == S::ESME_ROK).count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == S::ESME_RTHROTTLED)
        .count();
    assert_eq!((ok, throttled), (2, 4), "{statuses:?}");
    // Throttled answers do not wait for the slow SMSC.
    let stats = e.stats();
    assert_eq!(stats.responses, 6 + 1);
    assert_eq!(h.proxy.stats().requests_throttled, 4);
    // The session stays usable, and enquire_link is answered while the window is full.
    let slow = e.submit(sm.clone());
    let link = e.enquire_link();
    let (slow, link) = tokio::join!(slow, link);
    assert_eq!(slow.unwrap().status, S::ESME_ROK);
    assert_eq!(link.unwrap(), S::ESME_ROK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_and_cancel_only_touch_the_accounts_own_messages() {
    let h = Harness::start(Setup {
        extra: [account("acme", ""), account("other", "")].concat(),
        ..Setup::default()
    })
    .await;
    let acme = h.bound(BindType::Transceiver, "acme").await;
    let other = h.bound(BindType::Transceiver, "other").await;
    let r = acme
        .submit(Sms::gsm7("Hello").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    let id = COctetString::new(r.message_id.clone().into_bytes()).unwrap();
    let query = request(Body::QuerySm(QuerySm {
        message_id: id.clone(),
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: COctetString::new(&b"447700900001"[..]).unwrap(),
    }));
    assert_eq!(
        acme.request(query.clone()).await.unwrap().status(),
        S::ESME_ROK
    );
    assert_eq!(
        other.request(query).await.unwrap().status(),
        S::ESME_RINVMSGID
    );
    let cancel = request(Body::CancelSm(CancelSm {
        message_id: id,
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: COctetString::new(&b"447700900001"[..]).unwrap(),
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: COctetString::new(&b"447700900002"[..]).unwrap(),
        ..CancelSm::default()
    }));
    assert_eq!(
        other.request(cancel.clone()).await.unwrap().status(),
        S::ESME_RINVMSGID
    );
    assert_eq!(acme.request(cancel).await.unwrap().status(), S::ESME_ROK);
    // Only acme's query and cancel reached the SMSC.
    assert_eq!(h.smsc().stats().message_ops, 2);
    assert_eq!(h.smsc().stats().submits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_ucs2_message_never_reaches_the_smsc_and_is_audited() {
    let h = Harness::start(Setup {
        rules: Some(RULES.into()),
        extra: format!(
            "{}\n[audit]\npath = \"audit.jsonl\"\naddress_keep_last_digits = 3\n",
            account("acme", "")
        ),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let r = e
        .submit(Sms::ucs2("您的信用卡可提額至50萬").submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    assert!(r.message_id.is_empty());
    // Clean text in the same alphabet still goes through.
    let r = e
        .submit(Sms::ucs2("您的包裹已送達").submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert_eq!(h.smsc().received().len(), 1);
    assert_eq!(h.proxy.stats().requests_blocked, 1);
    let path = h.dir.path().join("audit.jsonl");
    eventually("audit record", || {
        std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 1)
    })
    .await;
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
    assert_eq!(line["account"], "acme");
    assert_eq!(line["text"], "您的信用卡可提額至50萬");
    assert_eq!(line["rules"][0], "cc-limit");
    assert_eq!(line["action"], "reject");
    assert_eq!(line["status"], 0x45);
    assert_eq!(line["destination_addr"], "*********002");
    assert!(
        line["ruleset_version"]
            .as_str()
            .is_some_and(|v| v.len() == 16)
    );
}
