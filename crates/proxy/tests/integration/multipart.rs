//! Multi-part messages: held until whole, scanned once, forwarded or answered together.

use std::time::Duration;

use smppguard_codec::CommandStatus as S;
use smppguard_sim::BindType;
use smppguard_sim::message::{Concat, Sms};

use super::support::{Harness, RULES, Setup, account, eventually, without_seq};

fn setup() -> Setup {
    Setup {
        rules: Some(RULES.into()),
        sessions: 2,
        ..Setup::default()
    }
}

const CONCATS: [Concat; 3] = [
    Concat::Udh8 { reference: 0x2A },
    Concat::Udh16 { reference: 0x1234 },
    Concat::Sar { reference: 0x0101 },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyword_split_across_parts_is_blocked_with_no_part_at_the_smsc() {
    let h = Harness::start(setup()).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    for concat in CONCATS {
        // "free prize" straddles parts 1 and 2: "Win a FR" | "EE prize" | " today".
        let parts = Sms::gsm7("Win a FREE prize today")
            .unwrap()
            .split_at(concat, &[8, 16])
            .unwrap();
        assert_eq!(parts.len(), 3);
        let results = e.submit_many(parts).await.unwrap();
        for r in results {
            assert_eq!(r.unwrap().status, S::ESME_RSUBMITFAIL, "{concat:?}");
        }
        // UCS-2, split inside the keyword's characters.
        let parts = Sms::ucs2("您的信用卡可提額至五十萬元")
            .split_at(concat, &[4, 8])
            .unwrap();
        for r in e.submit_many(parts).await.unwrap() {
            assert_eq!(r.unwrap().status, S::ESME_RSUBMITFAIL, "{concat:?}");
        }
    }
    assert!(h.smsc().received().is_empty());
    let stats = h.proxy.stats();
    assert_eq!(stats.multipart_completed, 6);
    assert_eq!(stats.requests_blocked, 18);
    assert_eq!(h.proxy.held(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_parts_are_all_forwarded_on_one_session_in_order_even_out_of_order() {
    let h = Harness::start(setup()).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    for concat in CONCATS {
        let mut parts =
            Sms::gsm7("Your parcel arrives today between 9 and 12, reply STOP to opt out")
                .unwrap()
                .split(concat, 3)
                .unwrap();
        let expected: Vec<Vec<u8>> = parts
            .iter()
            .map(|p| {
                let pdu = smppguard_codec::Pdu::new(
                    smppguard_codec::Body::SubmitSm(p.clone()),
                    S::ESME_ROK,
                    0,
                );
                without_seq(&pdu.to_bytes())
            })
            .collect();
        // Last part first.
        parts.rotate_right(1);
        let results = e.submit_many(parts).await.unwrap();
        for r in results {
            assert_eq!(r.unwrap().status, S::ESME_ROK);
        }
        let got = h.smsc().take_received();
        assert_eq!(got.len(), 3);
        // Released in part order, byte-exact, all on one upstream session.
        for (g, want) in got.iter().zip(&expected) {
            assert_eq!(&without_seq(&g.frame), want);
        }
        assert!(got.iter().all(|g| g.session == got[0].session));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_never_arrives_is_answered_when_the_hold_timer_fires() {
    let h = Harness::start(Setup {
        extra: format!("{}\n[hold]\ntimeout_ms = 300\n", account("acme", "")),
        ..setup()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let parts = Sms::gsm7("Hello there, part three never comes")
        .unwrap()
        .split(Concat::Udh8 { reference: 9 }, 3)
        .unwrap();
    let started = std::time::Instant::now();
    let results = e.submit_many(parts.into_iter().take(2)).await.unwrap();
    for r in results {
        assert_eq!(r.unwrap().status, S::ESME_RSUBMITFAIL);
    }
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(h.smsc().received().is_empty());
    assert_eq!(h.proxy.stats().multipart_incomplete, 1);
    eventually("hold empty", || h.proxy.held() == (0, 0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_messages_can_be_forwarded_after_a_scan() {
    let h = Harness::start(Setup {
        extra: format!(
            "{}\n[hold]\ntimeout_ms = 200\nincomplete_action = \"forward\"\n",
            account("acme", "")
        ),
        ..setup()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let clean = Sms::gsm7("Hello there, part three never comes")
        .unwrap()
        .split(Concat::Sar { reference: 1 }, 3)
        .unwrap();
    for r in e.submit_many(clean.into_iter().take(2)).await.unwrap() {
        assert_eq!(r.unwrap().status, S::ESME_ROK);
    }
    let scam = Sms::gsm7("Win a FREE prize now, call")
        .unwrap()
        .split_at(Concat::Sar { reference: 2 }, &[8, 20])
        .unwrap();
    for r in e.submit_many(scam.into_iter().take(2)).await.unwrap() {
        assert_eq!(r.unwrap().status, S::ESME_RSUBMITFAIL);
    }
    assert_eq!(h.smsc().received().len(), 2);
}
