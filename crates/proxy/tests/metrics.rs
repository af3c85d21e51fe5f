//! Metrics end to end: traffic through a real proxy over loopback, then the numbers read
//! back from its `/metrics` exposition.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "integration/support.rs"]
#[allow(dead_code)]
mod support;

use smppguard_codec::CommandStatus as S;
use smppguard_metrics::exposition::{sum, value};
use smppguard_proxy::Config;
use smppguard_sim::BindType;
use smppguard_sim::message::{Concat, Sms};

use support::{Harness, RULES, Setup, account, config_text, eventually, sim_config};

fn scrape(h: &Harness) -> String {
    h.proxy.metrics().encode().unwrap()
}

fn acct(text: &str, name: &str, account: &str) -> f64 {
    value(text, name, &[("account", account)]).unwrap_or(0.0)
}

fn outcome(text: &str, account: &str, outcome: &str) -> f64 {
    value(
        text,
        "smppguard_account_requests_total",
        &[("account", account), ("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_account_outcomes_messages_parts_and_latency() {
    let h = Harness::start(Setup {
        rules: Some(RULES.into()),
        extra: format!("{}{}", account("acme", ""), account("beta", "")),
        ..Setup::default()
    })
    .await;
    let acme = h.bound(BindType::Transceiver, "acme").await;
    let beta = h.bound(BindType::Transmitter, "beta").await;
    for text in ["hello one", "hello two", "hello three"] {
        let sms = Sms::gsm7(text).unwrap().registered_delivery(1);
        let r = acme.submit(sms.submit_sm().unwrap()).await;
        assert_eq!(r.unwrap().status, S::ESME_ROK);
    }
    for text in ["a free prize for you", "您的信用卡可提額"] {
        let sms = if text.is_ascii() {
            Sms::gsm7(text).unwrap()
        } else {
            Sms::ucs2(text)
        };
        let r = acme.submit(sms.submit_sm().unwrap()).await.unwrap();
        assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    }
    let parts = Sms::gsm7("Your parcel arrives today between 9 and 12, reply STOP to opt out")
        .unwrap()
        .split(Concat::Udh8 { reference: 9 }, 3)
        .unwrap();
    for r in acme.submit_many(parts).await.unwrap() {
        assert_eq!(r.unwrap().status, S::ESME_ROK);
    }
    let r = beta
        .submit(Sms::gsm7("hi").unwrap().submit_sm().unwrap())
        .await;
    assert_eq!(r.unwrap().status, S::ESME_ROK);

    let text = scrape(&h);
    assert_eq!(
        acct(&text, "smppguard_account_requests_received_total", "acme"),
        8.0
    );
    assert_eq!(
        acct(&text, "smppguard_account_requests_forwarded_total", "acme"),
        6.0
    );
    assert_eq!(outcome(&text, "acme", "accepted"), 6.0);
    assert_eq!(outcome(&text, "acme", "rejected"), 2.0);
    assert_eq!(outcome(&text, "beta", "accepted"), 1.0);
    // Every request has exactly one outcome.
    for a in ["acme", "beta"] {
        assert_eq!(
            sum(&text, "smppguard_account_requests_total", &[("account", a)]),
            acct(&text, "smppguard_account_requests_received_total", a),
            "{a}"
        );
    }
    assert_eq!(
        value(
            &text,
            "smppguard_requests_total",
            &[("outcome", "accepted")]
        ),
        Some(7.0)
    );
    assert_eq!(
        value(&text, "smppguard_requests_received_total", &[]),
        Some(9.0)
    );
    // 3 single + 2 blocked + 1 three-part message.
    assert_eq!(acct(&text, "smppguard_account_messages_total", "acme"), 6.0);
    assert_eq!(
        acct(&text, "smppguard_account_message_parts_total", "acme"),
        8.0
    );
    assert!(acct(&text, "smppguard_account_received_bytes_total", "acme") > 8.0 * 30.0);
    let cat = |c: &str| {
        value(
            &text,
            "smppguard_account_filter_matches_total",
            &[("account", "acme"), ("category", c)],
        )
    };
    assert_eq!(
        (cat("spam"), cat("fraud"), cat("phishing")),
        (Some(1.0), Some(1.0), None)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_filter_verdicts_total",
            &[("action", "reject")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_filter_verdicts_total",
            &[("action", "allow")]
        ),
        Some(5.0)
    );
    assert_eq!(
        value(&text, "smppguard_filter_scan_duration_seconds_count", &[]),
        Some(7.0)
    );
    assert!(text.contains("smppguard_ruleset_info{version="));
    // Latency per upstream: 7 forwarded, 3 of them as parts of one message.
    let up = [("upstream", "smsc-0")];
    let hist = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = up.to_vec();
        labels.extend_from_slice(extra);
        value(&text, name, &labels).unwrap()
    };
    assert_eq!(
        hist("smppguard_end_to_end_duration_seconds_count", &[]),
        7.0
    );
    assert_eq!(
        hist("smppguard_upstream_response_duration_seconds_count", &[]),
        7.0
    );
    assert_eq!(
        hist(
            "smppguard_proxy_added_latency_seconds_count",
            &[("message", "multipart")]
        ),
        3.0
    );
    assert_eq!(
        hist(
            "smppguard_proxy_added_latency_seconds_count",
            &[("message", "single")]
        ),
        4.0
    );
    // Gauges read at scrape time.
    assert_eq!(value(&text, "smppguard_upstream_up", &up), Some(1.0));
    assert_eq!(
        value(&text, "smppguard_upstream_sessions_bound", &up),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_account_sessions",
            &[("account", "acme"), ("bind_type", "transceiver")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_account_sessions",
            &[("account", "beta"), ("bind_type", "transmitter")]
        ),
        Some(1.0)
    );
    assert_eq!(acct(&text, "smppguard_account_window_limit", "acme"), 64.0);
    assert_eq!(value(&text, "smppguard_ready", &[]), Some(1.0));
    assert_eq!(
        value(
            &text,
            "smppguard_downstream_binds_total",
            &[("result", "ok")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_hold_messages_released_total",
            &[("result", "complete")]
        ),
        Some(1.0)
    );
    assert_eq!(sum(&text, "smppguard_unintentional_drops_total", &[]), 0.0);

    // Receipts of the three single messages come back to acme's transceiver.
    eventually("receipts routed", || h.proxy.stats().receipts_routed >= 3).await;
    let text = scrape(&h);
    assert!(
        value(
            &text,
            "smppguard_account_delivers_total",
            &[("account", "acme"), ("kind", "receipt")]
        )
        .unwrap()
            >= 3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smsc_errors_and_window_throttling_are_outcomes() {
    let mut sim = sim_config();
    sim.error_rate = 1.0;
    sim.error_status = S::ESME_RSYSERR;
    let h = Harness::start(Setup {
        smscs: vec![sim],
        extra: account("acme", "window = 1"),
        ..Setup::default()
    })
    .await;
    let e = h.bound(BindType::Transmitter, "acme").await;
    let r = e.submit(Sms::gsm7("x").unwrap().submit_sm().unwrap()).await;
    assert_eq!(r.unwrap().status, S::ESME_RSYSERR);
    // Three at once over a window of one: at least one is throttled at once.
    let msgs: Vec<_> = (0..3)
        .map(|_| Sms::gsm7("y").unwrap().submit_sm().unwrap())
        .collect();
    let results: Vec<_> = e
        .submit_many(msgs)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().status)
        .collect();
    let throttled = results.iter().filter(|s| **s == S::ESME_RTHROTTLED).count() as f64;
    assert!(throttled >= 1.0, "{results:?}");
    let text = scrape(&h);
    assert_eq!(outcome(&text, "acme", "smsc_error"), 4.0 - throttled);
    assert_eq!(outcome(&text, "acme", "throttled"), throttled);
    assert_eq!(outcome(&text, "acme", "accepted"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_set_the_gauges_and_drop_removed_accounts() {
    let h = Harness::start(Setup {
        rules: Some(RULES.into()),
        extra: format!("{}{}", account("acme", ""), account("beta", "")),
        ..Setup::default()
    })
    .await;
    let text = scrape(&h);
    assert!(text.contains(r#"account="beta""#));
    assert_eq!(
        value(&text, "smppguard_config_last_reload_successful", &[]),
        Some(1.0)
    );
    let started = value(
        &text,
        "smppguard_config_last_reload_success_timestamp_seconds",
        &[],
    )
    .unwrap();
    assert!(started > 1.6e9);

    // Remove beta.
    let addrs: Vec<_> = h.smscs.iter().map(|s| s.local_addr()).collect();
    let setup = Setup {
        rules: Some(RULES.into()),
        extra: account("acme", "window = 5"),
        ..Setup::default()
    };
    let config =
        Config::from_toml(&config_text(&setup, &addrs, h.dir.path()), h.dir.path()).unwrap();
    h.proxy.reload(config).await.unwrap();
    let text = scrape(&h);
    assert!(!text.contains(r#"account="beta""#), "{text}");
    assert_eq!(acct(&text, "smppguard_account_window_limit", "acme"), 5.0);
    assert_eq!(
        value(&text, "smppguard_config_reloads_total", &[("result", "ok")]),
        Some(1.0)
    );

    // A refused reload: the rule pack does not compile.
    std::fs::write(h.dir.path().join("rules.toml"), "not a rule pack").unwrap();
    let config =
        Config::from_toml(&config_text(&setup, &addrs, h.dir.path()), h.dir.path()).unwrap();
    assert!(h.proxy.reload(config).await.is_err());
    let text = scrape(&h);
    assert_eq!(
        value(&text, "smppguard_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert_eq!(
        value(
            &text,
            "smppguard_config_reloads_total",
            &[("result", "failed")]
        ),
        Some(1.0)
    );
}
