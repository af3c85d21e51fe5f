use super::*;
use crate::decision::ESME_RMSGQFUL;

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
/// 2024-03-31T12:00:00Z.
const NOON: i64 = 1_711_886_400;

fn limiter(toml_text: &str) -> Limiter {
    let config: LimitsConfig = toml::from_str(toml_text).unwrap();
    Limiter::new(&config).unwrap()
}

fn req<'a>(account: &'a str, dest: &'a str, parts: u32, now: u64) -> CheckRequest<'a> {
    CheckRequest {
        account,
        source_addr: "SENDER",
        destination_addr: dest,
        parts,
        now: Nanos::from_nanos(now),
        wall_clock: UnixTime::from_secs(NOON),
    }
}

fn count_allowed(l: &Limiter, r: &CheckRequest<'_>, n: usize) -> usize {
    (0..n).filter(|_| l.check(r).is_allowed()).count()
}

#[test]
fn account_rate_allows_burst_then_rate() {
    let l = limiter(
        r#"
        [accounts.acme]
        messages_per_second = 100.0
        burst = 10
        "#,
    );
    let t0 = 100 * SEC;
    assert_eq!(count_allowed(&l, &req("acme", "1", 1, t0), 50), 10);
    let d = l.check(&req("acme", "1", 1, t0));
    assert_eq!(
        d,
        Decision::Deny {
            limit: LimitKind::AccountRate,
            status: ESME_RTHROTTLED
        }
    );
    // 100/s: one more every 10 ms.
    assert_eq!(count_allowed(&l, &req("acme", "1", 1, t0 + 10 * MS), 5), 1);
    // Over one simulated second at 1000 attempts/s, 100 pass.
    let mut passed = 0;
    for i in 1..=1000 {
        if l.check(&req("acme", "1", 1, t0 + 10 * MS + i * MS))
            .is_allowed()
        {
            passed += 1;
        }
    }
    assert_eq!(passed, 100);
    // Other accounts are not limited.
    assert_eq!(count_allowed(&l, &req("other", "1", 1, t0), 50), 50);
}

#[test]
fn default_burst_is_a_tenth_of_a_second() {
    let l = limiter("[accounts.a]\nmessages_per_second = 1000.0\n");
    assert_eq!(count_allowed(&l, &req("a", "1", 1, SEC), 500), 100);
}

#[test]
fn multipart_counts_once_for_messages_and_per_part_for_parts() {
    let l = limiter(
        r#"
        [accounts.a]
        messages_per_second = 10.0
        burst = 10
        parts_per_second = 10.0
        parts_burst = 10
        "#,
    );
    let t = 10 * SEC;
    // Three 3-part messages use 3 message units and 9 part units.
    assert_eq!(count_allowed(&l, &req("a", "1", 3, t), 3), 3);
    // A fourth 3-part message needs 3 parts but only 1 is left: refused as a whole, and the
    // message unit it took first is given back.
    assert_eq!(
        l.check(&req("a", "1", 3, t)),
        Decision::Deny {
            limit: LimitKind::AccountPartsRate,
            status: ESME_RTHROTTLED
        }
    );
    // The single part left still fits, proving nothing leaked from the refused message.
    assert!(l.check(&req("a", "1", 1, t)).is_allowed());
    let state = l.accounts_state(Nanos::from_nanos(t), UnixTime::from_secs(NOON));
    let a = state.iter().find(|s| s.account == "a").unwrap();
    assert_eq!(a.rate_available, Some(6), "10 - 3 - 1 messages");
}

#[test]
fn later_limit_refusal_refunds_earlier_ones() {
    let l = limiter(
        r#"
        [accounts.a]
        messages_per_second = 100.0
        burst = 100
        daily_messages = 5
        [destinations]
        messages = 2
        per_seconds = 3600
        "#,
    );
    let t = 10 * SEC;
    assert!(l.check(&req("a", "111", 1, t)).is_allowed());
    assert!(l.check(&req("a", "111", 1, t)).is_allowed());
    // The destination limit refuses; the account rate and daily quota get their unit back.
    for _ in 0..10 {
        assert_eq!(
            l.check(&req("a", "111", 1, t)).limit(),
            Some(LimitKind::DestinationRate)
        );
    }
    let state = l.accounts_state(Nanos::from_nanos(t), UnixTime::from_secs(NOON));
    let a = state.iter().find(|s| s.account == "a").unwrap();
    assert_eq!(a.rate_available, Some(98));
    assert_eq!(a.quotas[0].used, 2);
    assert_eq!(a.denied_total, 10);
}

#[test]
fn quotas_reset_at_local_midnight() {
    let l = limiter(
        r#"
        quota_utc_offset_minutes = 480
        [accounts.a]
        daily_messages = 3
        daily_parts = 5
        quota_status = 0x14
        "#,
    );
    // 2024-03-31T15:59:00Z is 23:59 in UTC+8; 16:00:00Z is midnight there.
    let before = UnixTime::from_secs(1_711_900_740);
    let midnight = UnixTime::from_secs(1_711_900_800);
    let mut r = req("a", "1", 2, SEC);
    r.wall_clock = before;
    assert!(l.check(&r).is_allowed());
    assert!(l.check(&r).is_allowed());
    // 4 parts used: a 2-part message would make 6 > 5.
    assert_eq!(
        l.check(&r),
        Decision::Deny {
            limit: LimitKind::DailyParts,
            status: ESME_RMSGQFUL
        }
    );
    r.parts = 1;
    assert!(l.check(&r).is_allowed(), "3rd message, 5th part");
    assert_eq!(l.check(&r).limit(), Some(LimitKind::DailyMessages));
    // Local midnight: a new day, a fresh quota.
    r.wall_clock = midnight;
    assert_eq!(count_allowed(&l, &r, 10), 3);
    // At 15:59 UTC the same instant would still be "today" in UTC: offset matters.
    let utc = limiter("[accounts.a]\ndaily_messages = 3\n");
    let mut r2 = req("a", "1", 1, SEC);
    r2.wall_clock = before;
    assert_eq!(count_allowed(&utc, &r2, 3), 3);
    r2.wall_clock = midnight;
    assert_eq!(count_allowed(&utc, &r2, 3), 0, "same UTC day");
}

#[test]
fn monthly_quota_spans_days() {
    let l = limiter("[accounts.a]\nmonthly_messages = 4\n");
    let mut r = req("a", "1", 1, SEC);
    for day in 0..4 {
        r.wall_clock = UnixTime::from_secs(1_709_251_200 + day * 86_400); // 2024-03-01..
        assert!(l.check(&r).is_allowed());
    }
    r.wall_clock = UnixTime::from_secs(1_709_251_200 + 20 * 86_400);
    assert_eq!(l.check(&r).limit(), Some(LimitKind::MonthlyMessages));
    r.wall_clock = UnixTime::from_secs(1_711_929_600); // 2024-04-01
    assert!(l.check(&r).is_allowed());
}

#[test]
fn destination_flood_is_limited_across_accounts_and_spellings() {
    let l = limiter(
        r#"
        [destinations]
        messages = 3
        per_seconds = 3600
        "#,
    );
    let t = 50 * SEC;
    assert!(l.check(&req("a", "+886912345678", 1, t)).is_allowed());
    assert!(l.check(&req("b", "00886912345678", 1, t)).is_allowed());
    assert!(l.check(&req("c", "886 912 345 678", 1, t)).is_allowed());
    for account in ["a", "b", "d"] {
        assert_eq!(
            l.check(&req(account, "886912345678", 1, t)).limit(),
            Some(LimitKind::DestinationRate)
        );
    }
    // Other destinations are unaffected; this one recovers one message per 20 minutes.
    assert!(l.check(&req("a", "886912345679", 1, t)).is_allowed());
    assert!(
        l.check(&req("a", "886912345678", 1, t + 1200 * SEC))
            .is_allowed()
    );
}

#[test]
fn pair_limit_is_per_account_and_destination() {
    let l = limiter(
        r#"
        [accounts.a]
        destination = { messages = 1, per_seconds = 60, status = 0x45 }
        "#,
    );
    let t = 70 * SEC;
    assert!(l.check(&req("a", "4470000001", 1, t)).is_allowed());
    assert_eq!(
        l.check(&req("a", "4470000001", 1, t)),
        Decision::Deny {
            limit: LimitKind::AccountDestinationRate,
            status: 0x45
        }
    );
    // Another number from the account, or the same number from another account, passes.
    assert!(l.check(&req("a", "4470000002", 1, t)).is_allowed());
    assert!(l.check(&req("b", "4470000001", 1, t)).is_allowed());
    // One message per minute per pair.
    assert!(
        l.check(&req("a", "4470000001", 1, t + 60 * SEC))
            .is_allowed()
    );
}

#[test]
fn prefix_limits_apply_every_matching_prefix() {
    let l = limiter(
        r#"
        [[prefixes]]
        prefix = "+234"
        messages = 3
        per_seconds = 60
        [[prefixes]]
        prefix = "23480"
        messages = 1
        per_seconds = 60
        "#,
    );
    let t = 70 * SEC;
    assert!(l.check(&req("b", "2348011111111", 1, t)).is_allowed());
    // The operator prefix 23480 is spent; the country prefix 234 still has room.
    assert_eq!(
        l.check(&req("b", "2348022222222", 1, t)).limit(),
        Some(LimitKind::PrefixRate)
    );
    assert!(l.check(&req("b", "2347033333333", 1, t)).is_allowed());
    assert!(l.check(&req("b", "2347044444444", 1, t)).is_allowed());
    // Country prefix spent (3 passed, the refused 23480 message gave its unit back).
    assert_eq!(
        l.check(&req("b", "2347055555555", 1, t)).limit(),
        Some(LimitKind::PrefixRate)
    );
    assert!(l.check(&req("b", "4470000000", 1, t)).is_allowed());
}

#[test]
fn sender_rate_is_per_sender_id() {
    let l = limiter("[accounts.a]\nsender = { messages = 2, per_seconds = 60 }\n");
    let t = 70 * SEC;
    let mut r = req("a", "1", 1, t);
    r.source_addr = "MyBank";
    assert_eq!(count_allowed(&l, &r, 5), 2);
    r.source_addr = "MYBANK";
    assert_eq!(
        l.check(&r).limit(),
        Some(LimitKind::SenderRate),
        "case variants share a key"
    );
    r.source_addr = "OtherSender";
    assert_eq!(count_allowed(&l, &r, 5), 2);
}

#[test]
fn monitor_mode_counts_but_never_refuses() {
    let l = limiter(
        r#"
        [accounts.a]
        messages_per_second = 1.0
        burst = 2
        daily_messages = 100
        monitor = ["account_rate"]
        "#,
    );
    let t = 10 * SEC;
    assert_eq!(l.check(&req("a", "1", 1, t)), Decision::Allow);
    assert_eq!(l.check(&req("a", "1", 1, t)), Decision::Allow);
    for _ in 0..5 {
        assert_eq!(
            l.check(&req("a", "1", 1, t)),
            Decision::Monitor {
                limit: LimitKind::AccountRate
            }
        );
    }
    // Monitored messages still count against enforced limits.
    let state = l.accounts_state(Nanos::from_nanos(t), UnixTime::from_secs(NOON));
    assert_eq!(state[0].quotas[0].used, 7);
}

#[test]
fn bind_and_window_permits_are_raii() {
    let l = limiter(
        r#"
        [accounts.a]
        max_binds = 2
        window = 3
        "#,
    );
    let b1 = l.acquire_bind("a").unwrap();
    let b2 = l.acquire_bind("a").unwrap();
    assert_eq!(
        l.acquire_bind("a").unwrap_err(),
        Denied {
            limit: LimitKind::Binds,
            status: ESME_RTHROTTLED
        }
    );
    drop(b1);
    let b3 = l.acquire_bind("a").unwrap();
    let w: Vec<_> = (0..3).map(|_| l.acquire_window("a").unwrap()).collect();
    assert_eq!(l.acquire_window("a").unwrap_err().limit, LimitKind::Window);
    let state = l.accounts_state(Nanos::from_secs(1), UnixTime::from_secs(NOON));
    assert_eq!((state[0].binds, state[0].window), (2, 3));
    drop(w);
    assert!(l.acquire_window("a").is_ok());
    drop((b2, b3));
    // Unlimited accounts always get permits.
    let many: Vec<_> = (0..100).map(|_| l.acquire_bind("free").unwrap()).collect();
    assert_eq!(many.len(), 100);
}

#[test]
fn monitored_bind_limit_is_held_and_flagged() {
    let l = limiter("[accounts.a]\nmax_binds = 1\nmonitor = [\"binds\"]\n");
    let p1 = l.acquire_bind("a").unwrap();
    assert_eq!(p1.monitored(), None);
    let p2 = l.acquire_bind("a").unwrap();
    assert_eq!(p2.monitored(), Some(LimitKind::Binds));
}

const ADAPTIVE: &str = r#"
    [groups.retail]
    messages_per_second = 1000.0
    burst = 1000
    adaptive = "scam"

    [accounts.a]
    group = "retail"

    [adaptive.scam]
    window_seconds = 300
    max_blocked_share = 0.2
    min_messages = 50
    action = "throttle"
    throttle_messages_per_second = 1.0
    duration_seconds = 600
"#;

#[test]
fn adaptive_throttle_trips_on_blocked_share_and_expires() {
    let l = limiter(ADAPTIVE);
    let t0 = 1000 * SEC;
    let mut tripped = None;
    for i in 0..100u64 {
        let now = Nanos::from_nanos(t0 + i * MS);
        assert!(l.check(&req("a", "1", 1, now.as_nanos())).is_allowed());
        // Every third message is blocked by the filter: 33 % > 20 %.
        if let Some(r) = l.observe_verdict("a", i % 3 == 0, "1", now) {
            tripped = Some((i, r));
            break;
        }
    }
    let (i, r) = tripped.expect("adaptive protection trips");
    assert_eq!(i, 49, "judged once min_messages are in the window");
    assert_eq!(r.kind, RestrictionKind::Throttled);
    assert_eq!(r.reason.as_str(), "blocked_share");
    // Throttled to 1/s with a burst of 1.
    let t1 = t0 + SEC;
    assert!(l.check(&req("a", "1", 1, t1)).is_allowed());
    assert_eq!(
        l.check(&req("a", "1", 1, t1)).limit(),
        Some(LimitKind::AdaptiveThrottle)
    );
    let state = l.accounts_state(Nanos::from_nanos(t1), UnixTime::from_secs(NOON));
    assert_eq!(
        state[0].restriction.map(|r| r.kind),
        Some(RestrictionKind::Throttled)
    );
    // After 600 s the account runs at its configured rate again.
    let t2 = t0 + 601 * SEC;
    assert_eq!(count_allowed(&l, &req("a", "1", 1, t2), 20), 20);
}

#[test]
fn adaptive_suspension_on_distinct_destinations_and_manual_release() {
    let l = limiter(
        r#"
        [accounts.a]
        adaptive = "spray"
        [adaptive.spray]
        max_distinct_destinations_per_minute = 100
        action = "suspend"
        duration_seconds = 0
        status = 0x45
        "#,
    );
    let t0 = 6000 * SEC;
    for i in 0..=100u64 {
        let dest = format!("8869{i:08}");
        let now = Nanos::from_nanos(t0 + i * MS);
        assert!(l.check(&req("a", &dest, 1, now.as_nanos())).is_allowed());
        let r = l.observe_verdict("a", false, &dest, now);
        assert_eq!(r.is_some(), i == 100, "trips on the 101st destination");
    }
    let later = t0 + 3600 * SEC;
    assert_eq!(
        l.check(&req("a", "1", 1, later)),
        Decision::Deny {
            limit: LimitKind::Suspended,
            status: 0x45
        },
        "suspended until released by hand"
    );
    let lifted = l.resume("a").expect("was suspended");
    assert_eq!(lifted.reason.as_str(), "distinct_destinations");
    assert!(l.check(&req("a", "1", 1, later)).is_allowed());
    assert!(l.resume("a").is_none());
}

#[test]
fn manual_suspend_for_a_while() {
    let l = limiter("[accounts.a]\nsuspended_status = 0x0D\n");
    l.suspend("a", Some(Duration::from_secs(60)), Nanos::from_secs(10));
    assert_eq!(
        l.check(&req("a", "1", 1, 20 * SEC)),
        Decision::Deny {
            limit: LimitKind::Suspended,
            status: 0x0D
        }
    );
    assert!(l.check(&req("a", "1", 1, 70 * SEC)).is_allowed());
    // Unknown accounts can be suspended too.
    l.suspend("stranger", None, Nanos::from_secs(10));
    assert_eq!(
        l.check(&req("stranger", "1", 1, 20 * SEC)).limit(),
        Some(LimitKind::Suspended)
    );
    let state = l.accounts_state(Nanos::from_secs(20), UnixTime::from_secs(NOON));
    let s = state.iter().find(|s| s.account == "stranger").unwrap();
    assert_eq!(
        s.restriction.map(|r| r.reason),
        Some(RestrictionReason::Manual)
    );
}

#[test]
fn reload_keeps_counters_of_unchanged_limits() {
    let before = r#"
        [accounts.a]
        messages_per_second = 1.0
        burst = 5
        daily_messages = 100
        [accounts.b]
        messages_per_second = 1.0
        burst = 5
        [destinations]
        messages = 2
        per_seconds = 3600
    "#;
    let l = limiter(before);
    let t = 10 * SEC;
    // Distinct destinations, so only the account limits bite.
    let fresh = |l: &Limiter, account: &str, n: usize, base: usize| {
        (0..n)
            .filter(|i| {
                let dest = format!("{}", 4_400_000 + base + i);
                l.check(&req(account, &dest, 1, t)).is_allowed()
            })
            .count()
    };
    assert_eq!(
        count_allowed(&l, &req("a", "111", 1, t), 5),
        2,
        "destination limit"
    );
    assert_eq!(fresh(&l, "b", 2, 100), 2);
    assert_eq!(fresh(&l, "a", 1, 200), 1);
    // Reload: a unchanged, b's rate changed, destinations unchanged, quota raised.
    let after = r#"
        [accounts.a]
        messages_per_second = 1.0
        burst = 5
        daily_messages = 200
        [accounts.b]
        messages_per_second = 2.0
        burst = 5
        [destinations]
        messages = 2
        per_seconds = 3600
    "#;
    l.reload(&toml::from_str(after).unwrap()).unwrap();
    // a: 3 used of burst 5 -> 2 left. b: new parameters, fresh bucket -> 5.
    assert_eq!(fresh(&l, "a", 5, 300), 2);
    assert_eq!(fresh(&l, "b", 10, 400), 5);
    // Destination 111 already had its 2 messages before the reload.
    assert_eq!(
        l.check(&req("c", "111", 1, t)).limit(),
        Some(LimitKind::DestinationRate)
    );
    // The daily quota kept its usage (5 messages) under the new limit.
    let state = l.accounts_state(Nanos::from_nanos(t), UnixTime::from_secs(NOON));
    let a = state.iter().find(|s| s.account == "a").unwrap();
    assert_eq!(a.quotas[0].used, 5);
    assert_eq!(a.quotas[0].limit, 200);
    // Backend changes are refused.
    let mut redis: LimitsConfig = toml::from_str(after).unwrap();
    redis.backend = Backend::Redis;
    redis.redis = Some(crate::config::RedisConfig::new(vec![
        "redis://127.0.0.1:1".into(),
    ]));
    assert_eq!(l.reload(&redis).unwrap_err().path, "limits.backend");
}

#[test]
fn reload_keeps_binds_and_restrictions() {
    let l = limiter("[accounts.a]\nmax_binds = 1\n");
    let bind = l.acquire_bind("a").unwrap();
    l.suspend("a", None, Nanos::from_secs(1));
    l.reload(&toml::from_str("[accounts.a]\nmax_binds = 1\nwindow = 5\n").unwrap())
        .unwrap();
    assert!(l.acquire_bind("a").is_err(), "the held bind still counts");
    assert_eq!(
        l.check(&req("a", "1", 1, 2 * SEC)).limit(),
        Some(LimitKind::Suspended)
    );
    drop(bind);
    assert!(l.acquire_bind("a").is_ok());
}

#[test]
fn unlisted_accounts_use_default_group() {
    let l = limiter(
        r#"
        default_group = "std"
        max_unlisted_accounts = 2
        [groups.std]
        messages_per_second = 1.0
        burst = 2
        "#,
    );
    let t = 10 * SEC;
    for account in ["x", "y"] {
        assert_eq!(count_allowed(&l, &req(account, "1", 1, t), 5), 2);
    }
    // Beyond max_unlisted_accounts, unknown accounts share one state.
    assert_eq!(count_allowed(&l, &req("z1", "1", 1, t), 1), 1);
    assert_eq!(count_allowed(&l, &req("z2", "1", 1, t), 5), 1);
    let state = l.accounts_state(Nanos::from_nanos(t), UnixTime::from_secs(NOON));
    let names: Vec<_> = state.iter().map(|s| s.account.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
    assert_eq!(state[0].group.as_deref(), Some("std"));
    assert!(!state[0].listed);
}

#[test]
fn idle_keys_are_evicted_and_capacity_is_bounded() {
    let l = limiter(
        r#"
        max_tracked_keys = 640
        [destinations]
        messages = 1
        per_seconds = 10
        "#,
    );
    let t = 100 * SEC;
    for i in 0..2000u64 {
        assert!(
            l.check(&req("a", &format!("4470{i:07}"), 1, t))
                .is_allowed()
        );
    }
    let stats = l.stats();
    assert!(stats.tracked_keys <= 640, "{stats:?}");
    assert!(stats.untracked_total > 0, "overflowing keys are counted");
    // Nothing is idle yet: each key owes 10 s.
    assert_eq!(l.evict_idle(Nanos::from_nanos(t + 5 * SEC)), 0);
    // After 10 s every key is back to a fresh state and goes.
    assert_eq!(
        l.evict_idle(Nanos::from_nanos(t + 10 * SEC)),
        stats.tracked_keys as usize
    );
    assert_eq!(l.stats().tracked_keys, 0);
}

#[test]
fn refund_gives_back_everything() {
    let l = limiter(
        r#"
        [accounts.a]
        messages_per_second = 1.0
        burst = 1
        daily_parts = 2
        [destinations]
        messages = 1
        per_seconds = 60
        "#,
    );
    let t = 10 * SEC;
    let r = req("a", "123", 2, t);
    assert!(l.check(&r).is_allowed());
    assert!(!l.check(&r).is_allowed());
    l.refund(&r);
    assert!(l.check(&r).is_allowed());
}

#[test]
fn health_is_local_without_redis() {
    let l = limiter("");
    let h = l.health();
    assert_eq!(h.state, HealthState::Local);
    assert_eq!(h.state.as_str(), "local");
    assert!(h.ready);
    assert_eq!(l.backend().as_str(), "local");
}

#[test]
fn redis_backend_starts_degraded_until_driven() {
    let l = limiter(
        r#"
        backend = "redis"
        [redis]
        addresses = ["redis://127.0.0.1:1"]
        local_share = 0.5
        [accounts.a]
        messages_per_second = 100.0
        burst = 20
        "#,
    );
    let h = l.health();
    assert_eq!(h.state, HealthState::Degraded);
    assert_eq!(h.reason, Some("connecting"));
    assert!(h.ready, "fail-open serves on local limits");
    // Local share: half the burst.
    assert_eq!(count_allowed(&l, &req("a", "1", 1, SEC), 50), 10);
    assert_eq!(l.stats().degraded_allowed_total, 10);
}

#[test]
fn fail_closed_refuses_while_degraded() {
    let l = limiter(
        r#"
        backend = "redis"
        [redis]
        addresses = ["redis://127.0.0.1:1"]
        fail_open = false
        [accounts.a]
        messages_per_second = 100.0
        "#,
    );
    assert!(!l.health().ready);
    assert_eq!(
        l.check(&req("a", "1", 1, SEC)),
        Decision::Deny {
            limit: LimitKind::BackendUnavailable,
            status: ESME_RTHROTTLED
        }
    );
    // Accounts without fleet-wide limits are unaffected.
    assert!(l.check(&req("b", "1", 1, SEC)).is_allowed());
}

#[test]
fn concurrent_checks_never_exceed_the_limit() {
    let l = limiter("[accounts.a]\nmessages_per_second = 1.0\nburst = 1000\n");
    let t = 10 * SEC;
    let passed: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| count_allowed(&l, &req("a", "1", 3, t), 1000)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(passed, 1000);
}
