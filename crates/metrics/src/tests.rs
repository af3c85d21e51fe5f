use super::*;

fn metrics() -> Arc<Metrics> {
    Metrics::new(MetricsOptions {
        version: "1.2.3",
        rule_categories: vec!["fraud", "phishing", "other"],
        rule_actions: vec!["allow", "reject", "quarantine"],
    })
    .unwrap()
}

/// The value of the sample `series` (name with labels in any order) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
    let pairs: Vec<(&str, &str)> = labels
        .trim_end_matches('}')
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k, v.trim_matches('"'))
        })
        .collect();
    let found = exposition::parse(text)
        .into_iter()
        .find(|s| s.name == name && s.labels.len() == pairs.len() && s.has_labels(&pairs));
    found.map(|s| s.value)
}

#[test]
fn every_catalog_family_is_exported_with_its_type_and_help() {
    let m = metrics();
    let a = m.account("acme");
    a.outcome(Outcome::Accepted);
    a.filter_match(0);
    m.upstream("smsc-a");
    m.filter.set_ruleset_version(Some("v1"));
    m.admin_request("metrics", 200);
    m.global.limits.denied("account_rate").inc();
    m.global.limits.monitored("daily_parts").inc();
    m.global.limits.restriction("suspended", "blocked_share");
    let text = m.encode().unwrap();
    for f in CATALOG {
        let ty = format!("# TYPE {} {}\n", f.name, f.kind.as_str());
        assert!(text.contains(&ty), "{} missing:\n{text}", f.name);
        assert!(text.contains(&format!("# HELP {} {}\n", f.name, f.help)));
    }
    assert!(text.contains("process_start_time_seconds"));
    assert_eq!(
        sample(&text, r#"smppguard_build_info{version="1.2.3"}"#),
        Some(1.0)
    );
}

#[test]
fn outcomes_count_per_account_and_globally_and_appear_on_first_use() {
    let m = metrics();
    let a = m.account("acme");
    let b = m.account("beta");
    a.outcome(Outcome::Accepted);
    a.outcome_n(Outcome::Rejected, 3);
    b.outcome(Outcome::Rejected);
    let text = m.encode().unwrap();
    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s(r#"smppguard_account_requests_total{account="acme",outcome="accepted"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_account_requests_total{account="acme",outcome="rejected"}"#),
        Some(3.0)
    );
    assert_eq!(
        s(r#"smppguard_requests_total{outcome="rejected"}"#),
        Some(4.0)
    );
    // Global outcomes exist from the start; per-account ones only once used.
    assert_eq!(
        s(r#"smppguard_requests_total{outcome="timeout"}"#),
        Some(0.0)
    );
    assert_eq!(
        s(r#"smppguard_account_requests_total{account="beta",outcome="accepted"}"#),
        None
    );
    assert_eq!(a.outcome_count(Outcome::Rejected), 3);
    assert_eq!(m.outcome_total(Outcome::Rejected), 4);
    // The same account resolves to the same handles.
    assert!(Arc::ptr_eq(&a, &m.account("acme")));
}

#[test]
fn unanswered_requests_are_unintentional_drops() {
    let m = metrics();
    m.account("acme").outcome(Outcome::Unanswered);
    assert_eq!(
        m.global.unintentional_drops(DropReason::UnansweredRequest),
        1
    );
    m.global.unintentional_drop(DropReason::QuarantineEvicted);
    let text = m.encode().unwrap();
    assert_eq!(
        sample(
            &text,
            r#"smppguard_unintentional_drops_total{reason="unanswered_request"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"smppguard_unintentional_drops_total{reason="quarantine_evicted"}"#
        ),
        Some(1.0)
    );
}

#[test]
fn removed_accounts_stop_being_exported() {
    let m = metrics();
    let a = m.account("gone");
    a.received.inc();
    a.outcome(Outcome::Throttled);
    a.filter_match(1);
    a.sessions(BindType::Receiver).set(2);
    m.account("kept").received.inc();
    m.retain_accounts(|id| id == "kept");
    let text = m.encode().unwrap();
    assert!(!text.contains(r#"account="gone""#), "{text}");
    assert!(text.contains(r#"account="kept""#));
    assert_eq!(m.accounts().len(), 1);
    // The global total keeps what the removed account counted.
    assert_eq!(m.outcome_total(Outcome::Throttled), 1);
}

#[test]
fn event_source_and_scrape_hooks_run_on_every_scrape() {
    let m = metrics();
    let n = Arc::new(std::sync::atomic::AtomicU64::new(5));
    let src = Arc::clone(&n);
    m.set_event_source(move |v| {
        v.set(
            Event::BindsOk,
            src.load(std::sync::atomic::Ordering::Relaxed),
        );
        v.set(Event::DeliversNoSession, 7);
    });
    let weak = Arc::downgrade(&m);
    m.on_scrape(move || {
        if let Some(m) = weak.upgrade() {
            m.global.hold_bytes.set(4096);
        }
    });
    let text = m.encode().unwrap();
    assert_eq!(
        sample(&text, r#"smppguard_downstream_binds_total{result="ok"}"#),
        Some(5.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"smppguard_downstream_binds_total{result="refused"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"smppguard_delivers_failed_total{reason="no_session"}"#
        ),
        Some(7.0)
    );
    assert_eq!(sample(&text, "smppguard_hold_bytes"), Some(4096.0));
    n.store(6, std::sync::atomic::Ordering::Relaxed);
    let text = m.encode().unwrap();
    assert_eq!(
        sample(&text, r#"smppguard_downstream_binds_total{result="ok"}"#),
        Some(6.0)
    );
}

#[test]
fn filter_handles_are_indexed_and_the_ruleset_version_replaces_the_last() {
    let m = metrics();
    m.filter.verdict(1);
    m.filter.matched(0, 1);
    m.filter.matched(2, 2);
    // Out-of-range indexes are ignored, not a panic.
    m.filter.matched(9, 0);
    m.filter.matched(0, 9);
    m.filter.verdict(9);
    m.filter.shadow_differs(2);
    m.filter.scan_duration.observe(0.000_01);
    m.filter.set_ruleset_version(Some("v1"));
    m.filter.set_ruleset_version(Some("v2"));
    let text = m.encode().unwrap();
    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s(r#"smppguard_filter_verdicts_total{action="reject"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_filter_matches_total{category="fraud",action="reject"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_filter_matches_total{category="other",action="quarantine"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_filter_shadow_differences_total{shadow_action="quarantine"}"#),
        Some(1.0)
    );
    assert_eq!(s("smppguard_filter_scan_duration_seconds_count"), Some(1.0));
    assert_eq!(s(r#"smppguard_ruleset_info{version="v2"}"#), Some(1.0));
    assert_eq!(s(r#"smppguard_ruleset_info{version="v1"}"#), None);
    m.filter.set_ruleset_version(None);
    assert!(!m.encode().unwrap().contains("smppguard_ruleset_info{"));
}

#[test]
fn upstream_latency_histograms_are_per_upstream() {
    let m = metrics();
    let u = m.upstream("smsc-a");
    u.added_latency(MessageKind::Single, std::time::Duration::from_micros(80));
    u.response_time.observe(0.003);
    u.end_to_end.observe(0.004);
    assert!(Arc::ptr_eq(&u, &m.upstream("smsc-a")));
    let text = m.encode().unwrap();
    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s(
            r#"smppguard_proxy_added_latency_seconds_bucket{upstream="smsc-a",message="single",le="0.0001"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        s(
            r#"smppguard_proxy_added_latency_seconds_bucket{upstream="smsc-a",message="single",le="0.00005"}"#
        ),
        Some(0.0)
    );
    assert_eq!(
        s(r#"smppguard_upstream_response_duration_seconds_count{upstream="smsc-a"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_end_to_end_duration_seconds_sum{upstream="smsc-a"}"#),
        Some(0.004)
    );
}

#[test]
fn the_exposition_is_well_formed() {
    let m = metrics();
    let a = m.account("acme");
    a.outcome(Outcome::Accepted);
    let text = m.encode().unwrap();
    for line in text.lines() {
        if line.starts_with('#') {
            assert!(
                line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "{line}"
        );
    }
}

/// The series count `docs/observability.md` states for 10,000 accounts: the eager
/// per-account series (the rest appear only when used).
#[test]
fn series_per_account_as_documented() {
    let m = metrics();
    let before = exposition::parse(&m.encode().unwrap()).len();
    let accounts: Vec<_> = (0..100).map(|i| m.account(&format!("acct{i}"))).collect();
    let after = exposition::parse(&m.encode().unwrap()).len();
    assert_eq!((after - before) % 100, 0);
    assert_eq!((after - before) / 100, 13, "update docs/observability.md");
    // Worst case: every outcome and every category seen.
    for a in &accounts {
        for o in Outcome::ALL {
            a.outcome(*o);
        }
        for c in 0..3 {
            a.filter_match(c);
        }
    }
    let worst = exposition::parse(&m.encode().unwrap()).len();
    assert_eq!((worst - before) / 100, 13 + Outcome::COUNT + 3);
    let u = m.upstream("smsc-a");
    let _ = u;
    let with_upstream = exposition::parse(&m.encode().unwrap()).len();
    assert_eq!(with_upstream - worst, 97, "update docs/observability.md");
}

#[test]
fn limiter_totals_raise_the_counters_and_never_lower_them() {
    let m = metrics();
    let l = &m.global.limits;
    let totals = crate::LimiterTotals {
        redis_syncs_ok: 10,
        redis_syncs_failed: 2,
        redis_connects: 1,
        redis_units_leased: 500,
        degraded_allowed: 7,
    };
    l.set_totals(&totals);
    l.set_totals(&crate::LimiterTotals {
        redis_syncs_ok: 4,
        ..totals
    });
    l.set_restricted(1, 2);
    let text = m.encode().unwrap();
    let s = |series: &str| sample(&text, series);
    assert_eq!(
        s(r#"smppguard_limits_redis_syncs_total{result="ok"}"#),
        Some(10.0)
    );
    assert_eq!(
        s(r#"smppguard_limits_redis_syncs_total{result="failed"}"#),
        Some(2.0)
    );
    assert_eq!(s("smppguard_limits_redis_connects_total"), Some(1.0));
    assert_eq!(s("smppguard_limits_redis_units_leased_total"), Some(500.0));
    assert_eq!(s("smppguard_limits_degraded_allowed_total"), Some(7.0));
    assert_eq!(
        s(r#"smppguard_limits_restricted_accounts{kind="throttled"}"#),
        Some(1.0)
    );
    assert_eq!(
        s(r#"smppguard_limits_restricted_accounts{kind="suspended"}"#),
        Some(2.0)
    );
}
