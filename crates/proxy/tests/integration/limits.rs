//! Rate limits, quotas and adaptive protection through the proxy (`[limits]`): what the
//! ESME is answered and what reaches the SMSC.

use std::time::Duration;

use smppguard_codec::CommandStatus as S;
use smppguard_sim::BindType;
use smppguard_sim::esme::Esme;
use smppguard_sim::message::{Concat, Sms};

use super::support::{Harness, RULES, Setup, account, config_text, eventually};

fn setup(limits: &str) -> Setup {
    Setup {
        rules: Some(RULES.into()),
        extra: format!("{}\n{limits}", account("acme", "")),
        ..Setup::default()
    }
}

fn clean(to: &str) -> smppguard_codec::SubmitSm {
    Sms::gsm7("Your parcel arrives today")
        .unwrap()
        .to(to)
        .submit_sm()
        .unwrap()
}

async fn statuses(e: &Esme, n: usize, to: &str) -> Vec<S> {
    submit_all(e, (0..n).map(|_| clean(to)).collect()).await
}

/// A clean three-part message (8-bit UDH reference `reference`) to `to`.
fn three_parts(reference: u8, to: &str) -> Vec<smppguard_codec::SubmitSm> {
    Sms::gsm7("Your parcel arrives today between 9 and 12, reply STOP to opt out")
        .unwrap()
        .to(to)
        .split(Concat::Udh8 { reference }, 3)
        .unwrap()
}

/// Submits every request and returns the statuses in order.
async fn submit_all(e: &Esme, requests: Vec<smppguard_codec::SubmitSm>) -> Vec<S> {
    e.submit_many(requests)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().status)
        .collect()
}

fn count(statuses: &[S], status: S) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// One token every 100 s: within a test only the burst passes.
const SLOW: &str = "messages_per_second = 0.01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_rate_answers_throttled_beyond_the_burst_and_forwards_nothing_more() {
    let h = Harness::start(setup(&format!(
        "[limits.accounts.acme]\n{SLOW}\nburst = 5\n"
    )))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let got = statuses(&e, 20, "886912000001").await;
    assert_eq!(count(&got, S::ESME_ROK), 5, "{got:?}");
    assert_eq!(count(&got, S::ESME_RTHROTTLED), 15, "{got:?}");
    eventually("5 at the SMSC", || h.smsc().received().len() == 5).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.smsc().received().len(), 5);
    let m = h.proxy.metrics();
    assert_eq!(
        m.account("acme")
            .outcome_count(smppguard_metrics::Outcome::Throttled),
        15
    );
    let text = m.encode().unwrap();
    assert!(
        text.contains("smppguard_limits_denied_total{limit=\"account_rate\"} 15"),
        "{text}"
    );
    let status = h.proxy.account("acme").unwrap();
    let view = status.rate_limits.unwrap();
    assert_eq!(view.denied_total, 15);
    assert_eq!(view.messages_per_second, Some(0.01));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_quota_answers_its_configured_status() {
    let h = Harness::start(setup(
        "[limits.accounts.acme]\ndaily_messages = 3\nquota_status = 0x14\n",
    ))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let got = statuses(&e, 5, "886912000002").await;
    assert_eq!(
        got,
        vec![
            S::ESME_ROK,
            S::ESME_ROK,
            S::ESME_ROK,
            S::ESME_RMSGQFUL,
            S::ESME_RMSGQFUL
        ]
    );
    let view = h.proxy.account("acme").unwrap().rate_limits.unwrap();
    let quota = view
        .quotas
        .iter()
        .find(|q| q.kind == smppguard_limits::LimitKind::DailyMessages)
        .unwrap();
    assert_eq!((quota.used, quota.limit), (3, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_messages_count_once_for_messages_and_per_part_for_parts_all_or_nothing() {
    // Two whole messages pass the message limit; parts: 7 at once.
    let h = Harness::start(setup(&format!(
        "[limits.accounts.acme]\n{SLOW}\nburst = 2\nparts_per_second = 0.01\nparts_burst = 7\n"
    )))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let message = |reference: u8| three_parts(reference, "886912000003");
    // 3 parts: pass (1 message, 3 parts).
    let first: Vec<S> = submit_all(&e, message(1)).await;
    assert_eq!(first, vec![S::ESME_ROK; 3]);
    // 3 more parts: 6 <= 7 parts, 2 <= 2 messages: pass.
    let second: Vec<S> = submit_all(&e, message(2)).await;
    assert_eq!(second, vec![S::ESME_ROK; 3]);
    // A third message: over both limits; every part refused, none forwarded.
    let third: Vec<S> = submit_all(&e, message(3)).await;
    assert_eq!(third, vec![S::ESME_RTHROTTLED; 3]);
    eventually("6 parts at the SMSC", || h.smsc().received().len() == 6).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.smsc().received().len(), 6);
    assert_eq!(h.proxy.held(), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parts_limit_refuses_every_part_of_a_message_that_does_not_fit() {
    let h = Harness::start(setup(
        "[limits.accounts.acme]\nparts_per_second = 0.01\nparts_burst = 4\n",
    ))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let message = |reference: u8| three_parts(reference, "886912000004");
    let first: Vec<S> = submit_all(&e, message(1)).await;
    assert_eq!(first, vec![S::ESME_ROK; 3]);
    // One part left: the 3-part message is refused whole, not cut to its first part.
    let second: Vec<S> = submit_all(&e, message(2)).await;
    assert_eq!(second, vec![S::ESME_RTHROTTLED; 3]);
    // The single part left still passes a single-part message.
    assert_eq!(
        statuses(&e, 2, "886912000004").await,
        [S::ESME_ROK, S::ESME_RTHROTTLED]
    );
    eventually("4 parts at the SMSC", || h.smsc().received().len() == 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_forwards_everything_and_counts_what_it_would_refuse() {
    let h = Harness::start(setup(&format!(
        "[limits.accounts.acme]\n{SLOW}\nburst = 2\nmonitor = [\"account_rate\"]\n"
    )))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let got = statuses(&e, 6, "886912000005").await;
    assert_eq!(got, vec![S::ESME_ROK; 6]);
    eventually("6 at the SMSC", || h.smsc().received().len() == 6).await;
    let text = h.proxy.metrics().encode().unwrap();
    assert!(
        text.contains("smppguard_limits_monitored_total{limit=\"account_rate\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("smppguard_limits_denied_total{limit=\"account_rate\"} 0"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_flood_limit_holds_across_accounts() {
    let h = Harness::start(Setup {
        rules: Some(RULES.into()),
        extra: format!(
            "{}{}\n[limits.destinations]\nmessages = 3\nper_seconds = 3600\n",
            account("acme", ""),
            account("beta", "")
        ),
        ..Setup::default()
    })
    .await;
    let a = h.bound(BindType::Transceiver, "acme").await;
    let b = h.bound(BindType::Transceiver, "beta").await;
    assert_eq!(statuses(&a, 2, "+886 912-000-006").await, [S::ESME_ROK; 2]);
    // The same number spelt differently, from another account: one more passes.
    let got = statuses(&b, 2, "00886912000006").await;
    assert_eq!(got, [S::ESME_ROK, S::ESME_RTHROTTLED]);
    // Another number is not affected.
    assert_eq!(statuses(&b, 1, "886912000007").await, [S::ESME_ROK]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_suspension_after_blocked_messages_then_release_through_admin() {
    let h = Harness::start(setup(
        "[limits]\ndefault_group = \"retail\"\n\n[limits.groups.retail]\nadaptive = \"scam\"\n\n\
         [limits.adaptive.scam]\nwindow_seconds = 300\nmax_blocked_share = 0.5\nmin_messages = 4\n\
         action = \"suspend\"\nduration_seconds = 0\nstatus = 0x58\n",
    ))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    assert_eq!(statuses(&e, 1, "886912000008").await, [S::ESME_ROK]);
    let scam = Sms::gsm7("Win a FREE prize today")
        .unwrap()
        .to("886912000008")
        .submit_sm()
        .unwrap();
    for _ in 0..4 {
        let r = e.submit(scam.clone()).await.unwrap();
        assert_eq!(r.status, S::ESME_RSUBMITFAIL);
    }
    // 4 blocked of 5: suspended from the next message on.
    let got = statuses(&e, 3, "886912000009").await;
    assert_eq!(got, [S::ESME_RTHROTTLED; 3]);
    let status = h.proxy.account("acme").unwrap();
    assert_eq!(status.state, "suspended");
    let restriction = status.rate_limits.unwrap().restriction.unwrap();
    assert_eq!(restriction.reason.as_str(), "blocked_share");
    assert_eq!(
        h.proxy
            .metrics()
            .account("acme")
            .outcome_count(smppguard_metrics::Outcome::Suspended),
        3
    );
    let text = h.proxy.metrics().encode().unwrap();
    assert!(
        text.contains("smppguard_limits_restricted_accounts{kind=\"suspended\"} 1"),
        "{text}"
    );
    assert!(text.contains(
        "smppguard_limits_restrictions_total{kind=\"suspended\",reason=\"blocked_share\"} 1"
    ));
    // Listed, then released by hand.
    assert!(
        h.proxy
            .accounts()
            .iter()
            .any(|a| a.system_id == "acme" && a.state == "suspended")
    );
    let resumed = h.proxy.resume("acme").unwrap();
    assert_eq!(resumed.state, "active");
    assert_eq!(statuses(&e, 1, "886912000010").await, [S::ESME_ROK]);
    eventually("2 at the SMSC", || h.smsc().received().len() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_keeps_the_counters_of_unchanged_limits() {
    let limits = format!("[limits.accounts.acme]\n{SLOW}\nburst = 3\n");
    let h = Harness::start(setup(&limits)).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    assert_eq!(statuses(&e, 3, "886912000011").await, [S::ESME_ROK; 3]);
    let addrs: Vec<_> = h.smscs.iter().map(|s| s.local_addr()).collect();
    let path = h.dir.path().join("smppguard.toml");
    // Same account limit, a new destination limit: the account's bucket stays empty.
    let more = format!("{limits}\n[limits.destinations]\nmessages = 100\nper_seconds = 60\n");
    std::fs::write(&path, config_text(&setup(&more), &addrs, h.dir.path())).unwrap();
    let report = h.proxy.reload_from_file(None).await.unwrap();
    assert!(report.restart_needed_for.is_empty(), "{report:?}");
    assert_eq!(statuses(&e, 1, "886912000011").await, [S::ESME_RTHROTTLED]);
    // A changed rate starts from a full bucket.
    let changed = "[limits.accounts.acme]\nmessages_per_second = 0.02\nburst = 2\n";
    std::fs::write(&path, config_text(&setup(changed), &addrs, h.dir.path())).unwrap();
    h.proxy.reload_from_file(None).await.unwrap();
    let got = statuses(&e, 3, "886912000011").await;
    assert_eq!(got, [S::ESME_ROK, S::ESME_ROK, S::ESME_RTHROTTLED]);
    // An invalid limit is refused with its key, and the running limits stay.
    let bad = "[limits.accounts.acme]\nmessages_per_second = 0.02\nburst = 0\n";
    std::fs::write(&path, config_text(&setup(bad), &addrs, h.dir.path())).unwrap();
    let err = h.proxy.reload_from_file(None).await.unwrap_err();
    assert!(
        err.to_string().contains("limits.accounts.acme.burst"),
        "{err}"
    );
    assert_eq!(statuses(&e, 1, "886912000011").await, [S::ESME_RTHROTTLED]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_naming_an_unknown_account_or_key_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let unknown = config_text(
        &setup("[limits.accounts.nobody]\nmessages_per_second = 1.0\n"),
        &[addr],
        dir.path(),
    );
    let err = smppguard_proxy::Config::from_toml(&unknown, dir.path()).unwrap_err();
    assert!(err.to_string().contains("limits.accounts.nobody"), "{err}");
    let typo = config_text(
        &setup("[limits.accounts.acme]\nmesages_per_second = 1.0\n"),
        &[addr],
        dir.path(),
    );
    let err = smppguard_proxy::Config::from_toml(&typo, dir.path()).unwrap_err();
    assert!(err.to_string().contains("mesages_per_second"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_bind_limit_refuses_a_second_bind_until_the_first_ends() {
    let h = Harness::start(setup("[limits.accounts.acme]\nmax_binds = 1\n")).await;
    let first = h.bound(BindType::Transceiver, "acme").await;
    let second = h.connect().await;
    let r = second
        .bind(BindType::Transmitter, "acme", super::support::PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_RBINDFAIL);
    let text = h.proxy.metrics().encode().unwrap();
    assert!(
        text.contains("smppguard_limits_denied_total{limit=\"binds\"} 1"),
        "{text}"
    );
    assert_eq!(first.unbind().await.unwrap(), S::ESME_ROK);
    eventually("the first session gone", || {
        h.proxy.bound_sessions_of("acme") == 0
    })
    .await;
    let third = h.connect().await;
    let r = third
        .bind(BindType::Transmitter, "acme", super::support::PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sm_and_submit_multi_are_limited_like_submit_sm() {
    use smppguard_codec::Body;
    use smppguard_sim::esme::Request;
    let h = Harness::start(setup(&format!(
        "[limits.accounts.acme]\n{SLOW}\nburst = 2\n"
    )))
    .await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let data_sm = || Request::new(Body::DataSm(Sms::gsm7("Hi").unwrap().data_sm().unwrap()));
    let multi = || {
        Request::new(Body::SubmitMulti(
            Sms::gsm7("to two")
                .unwrap()
                .submit_multi(&["886912000020", "886912000021"])
                .unwrap(),
        ))
    };
    assert_eq!(e.submit(data_sm()).await.unwrap().status, S::ESME_ROK);
    assert_eq!(e.submit(multi()).await.unwrap().status, S::ESME_ROK);
    assert_eq!(e.submit(multi()).await.unwrap().status, S::ESME_RTHROTTLED);
    assert_eq!(
        e.submit(data_sm()).await.unwrap().status,
        S::ESME_RTHROTTLED
    );
    assert_eq!(statuses(&e, 1, "886912000022").await, [S::ESME_RTHROTTLED]);
    eventually("2 at the SMSC", || h.smsc().received().len() == 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changing_the_backend_keeps_the_running_one_and_asks_for_a_restart() {
    let limits = format!("[limits.accounts.acme]\n{SLOW}\nburst = 2\n");
    let h = Harness::start(setup(&limits)).await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    assert_eq!(statuses(&e, 2, "886912000030").await, [S::ESME_ROK; 2]);
    let addrs: Vec<_> = h.smscs.iter().map(|s| s.local_addr()).collect();
    let redis = format!(
        "[limits]\nbackend = \"redis\"\n\n[limits.redis]\naddresses = [\"redis://127.0.0.1:9\"]\n\n{limits}"
    );
    std::fs::write(
        h.dir.path().join("smppguard.toml"),
        config_text(&setup(&redis), &addrs, h.dir.path()),
    )
    .unwrap();
    let report = h.proxy.reload_from_file(None).await.unwrap();
    assert_eq!(
        report.restart_needed_for,
        vec!["limits.backend", "limits.redis"]
    );
    // Still the local backend, with the account's bucket as it was.
    assert_eq!(h.proxy.ready_status().limits.state, "local");
    assert_eq!(statuses(&e, 1, "886912000030").await, [S::ESME_RTHROTTLED]);
}
