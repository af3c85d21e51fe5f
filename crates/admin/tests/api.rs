//! The admin API over real HTTP against a real proxy and SMSC simulator: every endpoint,
//! with good and bad tokens and bodies.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::sync::Arc;
use std::time::Duration;

use harness::{Harness, Setup, TOKEN, eventually};
use smppguard_admin::{Admin, AdminStartError, ROUTES};
use smppguard_codec::CommandStatus as S;
use smppguard_proxy::{Config, Proxy};
use smppguard_sim::BindType;
use smppguard_sim::message::Sms;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_are_open_and_everything_else_needs_the_token() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    let none = "";
    for (path, expect) in [("/healthz", 200), ("/readyz", 200)] {
        let r = http.run("GET", path, None, Some(none)).await;
        assert_eq!(r.status, expect, "{path}: {}", r.body);
    }
    assert_eq!(http.get("/healthz").await.json()["status"], "ok");
    let ready = http.get("/readyz").await.json();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["phase"], "running");
    assert_eq!(ready["upstreams_bound"], 1);
    let version = ready["rules_version"].as_str().unwrap();
    assert_eq!(version.len(), 16);
    assert!(version.bytes().all(|b| b.is_ascii_hexdigit()));

    // Every other route refuses a missing, wrong or malformed token.
    for (method, path) in ROUTES {
        if path.ends_with("healthz") || path.ends_with("readyz") {
            continue;
        }
        let path = path.replace("{id}", "acme");
        for auth in [
            "",
            "Bearer wrong",
            "Bearer t0ken-for-testsX",
            "Basic dDBrZW4=",
            TOKEN,
        ] {
            let r = http.run(method, &path, Some("{}"), Some(auth)).await;
            assert_eq!(r.status, 401, "{method} {path} with {auth:?}: {}", r.body);
            assert!(r.json()["error"].as_str().unwrap().contains("token"));
        }
    }
    // The right token opens them.
    let r = http.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain; version=0.0.4"));
    assert!(r.body.contains("smppguard_build_info{version="));
    // Refusals are counted.
    assert!(
        r.body
            .contains(r#"smppguard_admin_requests_total{code="401",endpoint="metrics"}"#)
    );
    assert_eq!(http.get("/nope").await.status, 404);
    assert_eq!(http.run("PUT", "/reload", Some(""), None).await.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_file_a_loopback_listener_needs_none() {
    let h = Harness::start(Setup {
        token: false,
        ..Setup::default()
    })
    .await;
    let r = h.http().get("/accounts").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_file_stops_the_admin_start() {
    let h = Harness::start(Setup::default()).await;
    std::fs::remove_file(h.dir.path().join("admin.token")).unwrap();
    let config = Config::from_file(&h.config_path).unwrap();
    let proxy = Arc::new(Proxy::start(config).await.unwrap());
    let err = Admin::start(proxy).await.unwrap_err();
    assert!(matches!(err, AdminStartError::Token(_)), "{err}");
    assert!(err.to_string().starts_with("admin.token_file"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_show_state_limits_and_counters_and_can_be_suspended() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    let e = h.bound(BindType::Transceiver, "acme").await;
    let ok = e
        .submit(Sms::gsm7("hello").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status, S::ESME_ROK);

    let list = http.get("/accounts").await.json();
    let accounts = list["accounts"].as_array().unwrap();
    let ids: Vec<&str> = accounts
        .iter()
        .map(|a| a["system_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "beta"]);
    let acme = &accounts[0];
    assert_eq!(acme["state"], "active");
    assert_eq!(acme["sessions"]["transceiver"], 1);
    assert_eq!(acme["limits"]["window"], 64);
    assert_eq!(acme["counters"]["received"], 1);
    assert_eq!(acme["counters"]["outcomes"]["accepted"], 1);
    assert!(acme["rates"]["received_per_second_60s"].is_number());
    assert_eq!(http.get("/accounts/nobody").await.status, 404);

    // Suspend: bad bodies first.
    for bad in ["{", r#"{"reason": 5}"#, r#"{"why": "x"}"#] {
        let r = http.post("/accounts/acme/suspend", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .starts_with("bad JSON body")
        );
    }
    let long = format!(r#"{{"reason": "{}"}}"#, "x".repeat(201));
    assert_eq!(http.post("/accounts/acme/suspend", &long).await.status, 400);
    assert_eq!(http.post("/accounts/nobody/suspend", "").await.status, 404);
    let r = http
        .post("/accounts/acme/suspend", r#"{"reason": "scam wave"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let a = r.json();
    assert_eq!(a["state"], "suspended");
    assert_eq!(a["suspension"]["reason"], "scam wave");
    let refused = e
        .submit(Sms::gsm7("hello again").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(refused.status, S::ESME_RSUBMITFAIL);
    assert_eq!(h.smsc.received().len(), 1);
    let m = http.get("/metrics").await.body;
    assert!(m.contains(r#"smppguard_account_suspended{account="acme"} 1"#));
    assert!(
        m.contains(r#"smppguard_account_requests_total{account="acme",outcome="suspended"} 1"#)
    );
    // Resume.
    let r = http.post("/accounts/acme/resume", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "active");
    assert_eq!(http.post("/accounts/nobody/resume", "").await.status, 404);
    let ok = e
        .submit(Sms::gsm7("and again").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(ok.status, S::ESME_ROK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adaptive_throttle_is_listed_with_its_reason_and_released_by_resume() {
    let h = Harness::start(Setup {
        extra: "[limits]\ndefault_group = \"retail\"\n\n[limits.groups.retail]\n\
                daily_messages = 1000\nadaptive = \"scam\"\n\n[limits.adaptive.scam]\n\
                max_blocked_share = 0.5\nmin_messages = 3\naction = \"throttle\"\n\
                throttle_messages_per_second = 0.01\nduration_seconds = 0\n"
            .into(),
        ..Setup::default()
    })
    .await;
    let http = h.http();
    let e = h.bound(BindType::Transceiver, "acme").await;
    let ready = http.get("/readyz").await.json();
    assert_eq!(ready["limits"]["state"], "local");
    assert_eq!(ready["limits"]["serving"], true);
    for _ in 0..3 {
        let r = e
            .submit(Sms::gsm7("Win a FREE prize").unwrap().submit_sm().unwrap())
            .await
            .unwrap();
        assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    }
    // Throttled to one message per 100 s with a burst of 1: one passes, the next not.
    let sm = || Sms::gsm7("hello").unwrap().submit_sm().unwrap();
    assert_eq!(e.submit(sm()).await.unwrap().status, S::ESME_ROK);
    assert_eq!(e.submit(sm()).await.unwrap().status, S::ESME_RTHROTTLED);
    let a = http.get("/accounts/acme").await.json();
    assert_eq!(a["state"], "throttled", "{a}");
    let r = &a["rate_limits"];
    assert_eq!(r["restriction"]["kind"], "throttled", "{a}");
    assert_eq!(r["restriction"]["reason"]["reason"], "blocked_share", "{a}");
    assert_eq!(r["restriction"]["reason"]["blocked"], 3, "{a}");
    assert_eq!(r["quotas"][0]["kind"], "daily_messages", "{a}");
    assert_eq!(r["quotas"][0]["used"], 1, "{a}");
    let list = http.get("/accounts").await.json();
    assert_eq!(list["accounts"][0]["state"], "throttled");
    assert_eq!(list["accounts"][1]["state"], "active");
    let m = http.get("/metrics").await.body;
    assert!(m.contains(r#"smppguard_limits_restricted_accounts{kind="throttled"} 1"#));
    assert!(m.contains(r#"smppguard_limits_denied_total{limit="adaptive_throttle"} 1"#));
    let r = http.post("/accounts/acme/resume", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["state"], "active");
    assert!(r.json()["rate_limits"]["restriction"].is_null());
    assert_eq!(e.submit(sm()).await.unwrap().status, S::ESME_ROK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_test_gives_the_live_verdict_for_text_and_hex() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    let r = http
        .post(
            "/rules/test",
            r#"{"text": "claim your FREE prize now", "account": "acme"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["action"], "reject");
    assert_eq!(v["blocking"], true);
    assert_eq!(v["decided_by"], "free-prize");
    assert_eq!(v["command_status"], "0x00000045");
    assert_eq!(v["matches"][0]["category"], "spam");
    assert_eq!(
        v["ruleset_version"].as_str(),
        h.proxy.ready_status().rules_version.as_deref()
    );
    assert_eq!(v["text"]["decoded"], "claim your FREE prize now");

    // UCS-2 bytes: the same text a scammer sends to dodge byte matching.
    let hex: String = "您的信用卡可提額"
        .encode_utf16()
        .map(|u| format!("{u:04x}"))
        .collect();
    let r = http
        .post(
            "/rules/test",
            &format!(r#"{{"hex": "{hex}", "data_coding": 8}}"#),
        )
        .await;
    let v = r.json();
    assert_eq!(v["decided_by"], "cc-limit", "{v}");
    assert_eq!(v["text"]["decoded"], "您的信用卡可提額");
    assert_eq!(v["text"]["binary"], false);

    let clean = http
        .post("/rules/test", r#"{"text": "see you at 5"}"#)
        .await
        .json();
    assert_eq!(clean["action"], "allow");
    assert_eq!(clean["matches"].as_array().unwrap().len(), 0);

    for (bad, why) in [
        (r#"{"text": "a", "hex": "00"}"#, "exactly one"),
        ("{}", "exactly one"),
        (r#"{"hex": "zz"}"#, "hex"),
        (r#"{"hex": "abc"}"#, "hex"),
        (
            r#"{"text": "a", "default_alphabet": "ebcdic"}"#,
            "default_alphabet",
        ),
        (r#"{"text": "a", "colour": "red"}"#, "bad JSON"),
        (r#"{"text": 5}"#, "bad JSON"),
        ("not json", "bad JSON"),
        (r#"{"text": "a", "data_coding": 300}"#, "bad JSON"),
    ] {
        let r = http.post("/rules/test", bad).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(why), "{bad}: {msg}");
    }
    // Oversized bodies are refused before parsing.
    let huge = format!(r#"{{"text": "{}"}}"#, "x".repeat(300 * 1024));
    assert_eq!(http.post("/rules/test", &huge).await.status, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_the_file_and_reports_refusals() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    h.rewrite(&["acme", "beta", "gamma"]);
    let r = http.post("/reload", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["accounts"], 3);
    assert_eq!(v["removed_accounts"].as_array().unwrap().len(), 0);
    assert_eq!(http.get("/accounts/gamma").await.status, 200);

    h.rewrite(&["acme"]);
    let v = http.post("/reload", "").await.json();
    assert_eq!(v["removed_accounts"][0], "beta");

    std::fs::write(&h.config_path, "[[listeners]]\naddress = 5\n").unwrap();
    let r = http.post("/reload", "").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("line 2"));
    let m = http.get("/metrics").await.body;
    assert!(m.contains("smppguard_config_last_reload_successful 0"));
    // The running configuration stays.
    assert_eq!(
        http.get("/accounts").await.json()["accounts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_list_read_release_and_delete() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    let e = h.bound(BindType::Transceiver, "acme").await;
    for n in 0..2 {
        let sms = Sms::gsm7(&format!("please verify your account at x.example/{n}"))
            .unwrap()
            .from("447700900123")
            .to("447700900456");
        let r = e.submit(sms.submit_sm().unwrap()).await.unwrap();
        assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    }
    assert!(h.smsc.received().is_empty());
    let list = http.get("/quarantine").await.json();
    let msgs = list["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0]["account"], "acme");
    assert_eq!(msgs[0]["source_addr"], "********0123");
    assert_eq!(msgs[0]["destination_addr"], "********0456");
    assert_eq!(msgs[0]["rules"][0], "verify-link");
    assert!(msgs[0].get("text").is_none());
    let first = msgs[0]["id"].as_str().unwrap().to_string();
    let second = msgs[1]["id"].as_str().unwrap().to_string();
    let detail = http.get(&format!("/quarantine/{first}")).await.json();
    assert_eq!(detail["text"], "please verify your account at x.example/0");

    // Release the first: it reaches the SMSC, byte for byte but the sequence number.
    let r = http.post(&format!("/quarantine/{first}/release"), "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["parts"], 1);
    eventually("released message at the smsc", || {
        h.smsc.received().len() == 1
    })
    .await;
    assert_eq!(
        http.post(&format!("/quarantine/{first}/release"), "")
            .await
            .status,
        404
    );
    // Delete the second.
    assert_eq!(
        http.delete(&format!("/quarantine/{second}")).await.status,
        204
    );
    assert_eq!(
        http.delete(&format!("/quarantine/{second}")).await.status,
        404
    );
    assert_eq!(http.get(&format!("/quarantine/{second}")).await.status, 404);
    assert_eq!(http.get("/quarantine/not-a-number").await.status, 404);
    assert_eq!(
        http.get("/quarantine").await.json()["messages"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let m = http.get("/metrics").await.body;
    assert!(m.contains(r#"smppguard_quarantine_actions_total{action="released"} 1"#));
    assert!(m.contains(r#"smppguard_quarantine_actions_total{action="deleted"} 1"#));
    assert!(
        m.contains(r#"smppguard_account_requests_total{account="acme",outcome="quarantined"} 2"#)
    );
    // The release did not count as a new request of the account.
    assert!(m.contains(r#"smppguard_account_requests_received_total{account="acme"} 2"#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_goes_false_while_draining() {
    let h = Harness::start(Setup::default()).await;
    let http = h.http();
    assert_eq!(http.get("/readyz").await.status, 200);
    let proxy = Arc::clone(&h.proxy);
    let drain = tokio::spawn(async move { proxy.drain(Duration::from_secs(1)).await });
    eventually("draining", || h.proxy.ready_status().phase != "running").await;
    let r = http.get("/readyz").await;
    assert_eq!(r.status, 503);
    assert_ne!(r.json()["phase"], "running");
    assert_eq!(http.get("/healthz").await.status, 200);
    assert_eq!(http.post("/reload", "").await.status, 409);
    drain.await.unwrap();
}
