//! SMSC failures: every outstanding request answered, rebind, another SMSC taking over,
//! deadlines.

use std::time::Duration;

use smppguard_codec::CommandStatus as S;
use smppguard_sim::message::Sms;
use smppguard_sim::{Answer, BindType};

use super::support::{Harness, Setup, account, eventually, sim_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smsc_dying_mid_flight_gets_every_request_answered_then_rebinds() {
    let h = Harness::start(Setup::default()).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    h.smsc().set_answer(Answer::NoSubmits);
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    let batch = {
        let sm = sm.clone();
        let e2 = h.bound(BindType::Transmitter, "acme").await;
        tokio::spawn(async move {
            let r = e2.submit_many((0..5).map(|_| sm.clone())).await.unwrap();
            (e2, r)
        })
    };
    h.smsc()
        .wait_for(Duration::from_secs(5), |s| s.unanswered == 5)
        .await
        .unwrap();
    h.smsc().kill().await;
    let (_e2, results) = tokio::time::timeout(Duration::from_secs(5), batch)
        .await
        .unwrap()
        .unwrap();
    for r in results {
        assert_eq!(r.unwrap().status, S::ESME_RSYSERR);
    }
    assert_eq!(h.proxy.stats().responses_upstream_lost, 5);
    // While it is down: no upstream, answered at once.
    eventually("unbound", || h.proxy.upstreams()[0].bound == 0).await;
    assert!(!h.proxy.readiness());
    let r = e.submit(sm.clone()).await.unwrap();
    assert_eq!(r.status, S::ESME_RTHROTTLED);
    // Back: the proxy rebinds by itself.
    h.smsc().set_answer(Answer::All);
    h.smsc().restart().await.unwrap();
    h.wait_bound().await;
    assert!(h.proxy.readiness());
    assert_eq!(e.submit(sm).await.unwrap().status, S::ESME_ROK);
    assert!(h.proxy.stats().upstream_binds >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_smsc_takes_over() {
    let h = Harness::start(Setup {
        smscs: vec![sim_config(), sim_config()],
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    assert_eq!(e.submit(sm.clone()).await.unwrap().status, S::ESME_ROK);
    assert_eq!(h.smscs[0].received().len(), 1, "first in route order");
    h.smscs[0].kill().await;
    eventually("first unbound", || h.proxy.upstreams()[0].bound == 0).await;
    for _ in 0..3 {
        assert_eq!(e.submit(sm.clone()).await.unwrap().status, S::ESME_ROK);
    }
    assert_eq!(h.smscs[1].received().len(), 3);
    assert!(h.proxy.readiness());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smsc_that_never_answers_hits_the_deadline() {
    let mut sim = sim_config();
    sim.answer = Answer::NoSubmits;
    let h = Harness::start(Setup {
        smscs: vec![sim],
        extra: format!(
            "{}\n[relay]\nresponse_timeout_seconds = 1\ntimeout_status = 0x14\n",
            account("acme", "")
        ),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let started = std::time::Instant::now();
    let r = e
        .submit(Sms::gsm7("Hello").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RMSGQFUL);
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(h.proxy.stats().responses_timed_out, 1);
    assert_eq!(h.proxy.outstanding(), 0);
}
