//! Reload during traffic and graceful drain.

use std::time::Duration;

use smppguard_codec::CommandStatus as S;
use smppguard_proxy::Config;
use smppguard_sim::BindType;
use smppguard_sim::message::Sms;

use super::support::{
    Harness, PASSWORD, Setup, account, config_text, eventually, sim_config, write_rules,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_during_traffic_fails_no_submit() {
    let setup = Setup {
        extra: [account("acme", ""), account("leaving", "")].concat(),
        ..Setup::default()
    };
    let h = Harness::start(Setup {
        extra: setup.extra.clone(),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let leaving = h.bound(BindType::Transceiver, "leaving").await;
    let traffic = tokio::spawn(async move {
        let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let batch = e.submit_many((0..25).map(|_| sm.clone())).await.unwrap();
            statuses.extend(batch.into_iter().map(|r| r.unwrap().status));
        }
        (e, statuses)
    });
    let addrs: Vec<_> = h.smscs.iter().map(|s| s.local_addr()).collect();
    let path = h.dir.path().join("smppguard.toml");
    // A new account, "leaving" removed, and the same upstreams.
    let new_setup = Setup {
        extra: [account("acme", "window = 128"), account("newbie", "")].concat(),
        ..Setup::default()
    };
    for round in 0..3 {
        let text = config_text(&new_setup, &addrs, h.dir.path());
        std::fs::write(&path, &text).unwrap();
        let report = h.proxy.reload_from_file(None).await.unwrap();
        assert_eq!(report.accounts, 2);
        if round == 0 {
            assert_eq!(report.removed_accounts, vec!["leaving".to_string()]);
        }
        assert!(report.restart_needed_for.is_empty(), "{report:?}");
        // A bad file is refused and the running configuration stays.
        std::fs::write(&path, text.replace("window = 128", "window = 0")).unwrap();
        let err = h.proxy.reload_from_file(None).await.unwrap_err();
        assert!(err.to_string().contains("accounts[0].window"), "{err}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (e, statuses) = traffic.await.unwrap();
    assert_eq!(statuses.len(), 500);
    assert!(statuses.iter().all(|s| *s == S::ESME_ROK), "{statuses:?}");
    // The removed account's session was unbound; the new one binds; acme kept its bind.
    tokio::time::timeout(Duration::from_secs(10), leaving.closed())
        .await
        .expect("removed account unbound");
    let newbie = h.connect().await;
    assert_eq!(
        newbie
            .bind(BindType::Transceiver, "newbie", PASSWORD)
            .await
            .unwrap()
            .status,
        S::ESME_ROK
    );
    assert_eq!(e.enquire_link().await.unwrap(), S::ESME_ROK);
    let stats = h.proxy.stats();
    assert_eq!((stats.reloads_ok, stats.reloads_failed), (3, 3));
    // A static change is reported, not applied.
    let mut text = config_text(&new_setup, &addrs, h.dir.path());
    text = text.replace("[server]\n", "[server]\ninactivity_timeout_seconds = 77\n");
    let cfg = Config::from_toml(&text, h.dir.path()).unwrap();
    let report = h.proxy.reload(cfg).await.unwrap();
    assert_eq!(report.restart_needed_for, vec!["server"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_answers_everything_then_unbinds_both_sides() {
    let mut sim = sim_config();
    sim.latency = Duration::from_millis(300);
    let h = Harness::start(Setup {
        smscs: vec![sim],
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let idle = h.bound(BindType::Receiver, "acme").await;
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    let inflight = {
        let sm = sm.clone();
        tokio::spawn(async move {
            let r = e.submit_many((0..20).map(|_| sm.clone())).await.unwrap();
            (e, r)
        })
    };
    eventually("in flight", || h.proxy.outstanding() == 20).await;
    let report = h.proxy.drain(Duration::from_secs(5)).await;
    assert!(report.clean, "{report:?}");
    assert_eq!(report.unanswered, 0);
    let (e, results) = inflight.await.unwrap();
    for r in results {
        assert_eq!(r.unwrap().status, S::ESME_ROK);
    }
    assert!(!h.proxy.readiness());
    // ESMEs were sent unbind and the connections closed; the SMSC saw our unbind.
    tokio::time::timeout(Duration::from_secs(5), idle.closed())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), e.closed())
        .await
        .unwrap();
    assert_eq!(idle.stats().unbinds, 1);
    assert!(h.smsc().stats().unbinds >= 1);
    // Listeners are closed.
    assert!(tokio::net::TcpStream::connect(h.addr()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_past_its_deadline_answers_what_is_left() {
    let mut sim = sim_config();
    sim.answer = smppguard_sim::Answer::NoSubmits;
    let h = Harness::start(Setup {
        smscs: vec![sim],
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    let inflight = tokio::spawn(async move {
        let r = e.submit_many((0..7).map(|_| sm.clone())).await.unwrap();
        (e, r)
    });
    eventually("in flight", || h.proxy.outstanding() == 7).await;
    let report = h.proxy.drain(Duration::from_millis(300)).await;
    assert!(!report.clean);
    assert_eq!(report.answered_at_deadline, 7);
    assert_eq!(report.unanswered, 0);
    let (_e, results) = inflight.await.unwrap();
    for r in results {
        assert_eq!(r.unwrap().status, S::ESME_RSYSERR);
    }
}

/// A pack of `n` literal rules (enough for a reload to patch the text database rather
/// than compile it) plus `extra` rules.
fn literal_rules(n: usize, extra: &str) -> String {
    let mut s = String::from(extra);
    for i in 0..n {
        s.push_str(&format!(
            "[[rule]]\nid = \"w{i}\"\ndescription = \"d\"\ncategory = \"spam\"\n\
             action = \"reject\"\npatterns.p = {{ literal = \"zqword{i}x\" }}\n\n"
        ));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_reloads_during_traffic_answer_every_submit_by_the_pack_in_force() {
    let h = Harness::start(Setup {
        rules: Some(literal_rules(120, "")),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    // "zqword7x" is blocked by every pack below; "zqnew" only once its rule is added.
    let traffic = tokio::spawn(async move {
        let clean = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
        let spam = Sms::gsm7("buy zqword7x").unwrap().submit_sm().unwrap();
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let batch = (0..25).map(|i| {
                if i % 5 == 0 {
                    spam.clone()
                } else {
                    clean.clone()
                }
            });
            let answers = e.submit_many(batch).await.unwrap();
            statuses.extend(answers.into_iter().map(|r| r.unwrap().status));
        }
        (e, statuses)
    });
    let added = "[[rule]]\nid = \"new\"\ndescription = \"d\"\ncategory = \"spam\"\n\
                 action = \"reject\"\npatterns.p = { literal = \"zqnew\" }\n\n";
    for round in 0..3 {
        // A rule added before the others and one edited: the reload reuses the rest.
        let body = literal_rules(120, added).replace(
            &format!("\"zqword{}x\"", 50 + round),
            &format!("\"zqedit{round}\""),
        );
        write_rules(h.dir.path(), &body);
        let report = h.proxy.reload_from_file(None).await.unwrap();
        assert!(report.rules_version.is_some());
        // A pack Hyperscan's compiler refuses is reported; the running rules stay.
        let refused = "regex = '(a|b|c|d)[^x]{1000}(e|f)[^y]{1000}g'";
        write_rules(h.dir.path(), &body.replace("literal = \"zqnew\"", refused));
        assert!(h.proxy.reload_from_file(None).await.is_err());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (e, statuses) = traffic.await.unwrap();
    assert_eq!(statuses.len(), 500);
    for (i, s) in statuses.iter().enumerate() {
        let want = if i % 25 % 5 == 0 {
            S::ESME_RSUBMITFAIL
        } else {
            S::ESME_ROK
        };
        assert_eq!(*s, want, "submit {i}");
    }
    // The pack in force is the last good one: its added rule blocks.
    let r = e
        .submit(Sms::gsm7("zqnew").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    let r = e
        .submit(Sms::gsm7("zqword52x").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(
        r.status,
        S::ESME_ROK,
        "the edited rule no longer matches its old word"
    );
    let stats = h.proxy.stats();
    assert_eq!((stats.reloads_ok, stats.reloads_failed), (3, 3));
}
