use super::*;

fn parse(text: &str) -> LimitsConfig {
    toml::from_str(text).unwrap()
}

fn error(text: &str) -> String {
    parse(text).validate().unwrap_err().to_string()
}

#[test]
fn empty_config_is_valid_and_local() {
    let c = parse("");
    c.validate().unwrap();
    assert_eq!(c.backend, Backend::Local);
    let plan = c.plan().unwrap();
    assert!(plan.accounts.is_empty());
    assert!(plan.unlisted.is_none());
}

#[test]
fn errors_name_the_key() {
    assert_eq!(
        error("[accounts.acme]\nmessages_per_second = 10.0\nburst = 0\n"),
        "limits.accounts.acme.burst: must be >= 1"
    );
    assert_eq!(
        error("[accounts.acme]\nburst = 5\n"),
        "limits.accounts.acme.burst: set without messages_per_second"
    );
    assert_eq!(
        error("[accounts.acme]\nmessages_per_second = -1.0\n"),
        "limits.accounts.acme.messages_per_second: must be > 0 and <= 1000000"
    );
    assert_eq!(
        error("[accounts.acme]\ngroup = \"nope\"\n"),
        "limits.accounts.acme.group: no group named \"nope\""
    );
    assert_eq!(
        error("[groups.g]\ndaily_parts = 0\n"),
        "limits.groups.g.daily_parts: must be >= 1"
    );
    assert_eq!(
        error("[accounts.a]\nquota_status = 0\n"),
        "limits.accounts.a.quota_status: must not be 0 (ESME_ROK)"
    );
    assert_eq!(
        error("[accounts.a]\nmonitor = [\"prefix_rate\"]\n"),
        "limits.accounts.a.monitor: prefix_rate is not an account limit"
    );
    assert_eq!(
        error("[accounts.a]\nsender = { messages = 0 }\n"),
        "limits.accounts.a.sender.messages: must be >= 1"
    );
    assert_eq!(
        error("[[prefixes]]\nprefix = \"23x\"\nmessages = 1\n"),
        "limits.prefixes[0].prefix: must be 1 to 15 digits"
    );
    assert_eq!(
        error(
            "[[prefixes]]\nprefix = \"234\"\nmessages = 1\n[[prefixes]]\nprefix = \"+234\"\nmessages = 2\n"
        ),
        "limits.prefixes[1].prefix: duplicate prefix \"234\""
    );
    assert_eq!(
        error("quota_utc_offset_minutes = 900\n"),
        "limits.quota_utc_offset_minutes: must be between -840 and 840"
    );
    assert_eq!(
        error("default_group = \"missing\"\n"),
        "limits.default_group: no group named \"missing\""
    );
    assert_eq!(
        error("[groups.g]\ngroup = \"h\"\n"),
        "limits.groups.g.group: groups cannot inherit from groups"
    );
}

#[test]
fn adaptive_policy_errors() {
    assert_eq!(
        error("[adaptive.p]\nmax_blocked_share = 1.5\naction = \"suspend\"\n"),
        "limits.adaptive.p.max_blocked_share: must be > 0 and <= 1"
    );
    assert_eq!(
        error("[adaptive.p]\naction = \"suspend\"\n"),
        "limits.adaptive.p: needs max_blocked_share or max_distinct_destinations_per_minute"
    );
    assert_eq!(
        error("[adaptive.p]\nmax_blocked_share = 0.5\n"),
        "limits.adaptive.p.throttle_messages_per_second: required when action = \"throttle\""
    );
    assert_eq!(
        error("[adaptive.p]\nmax_blocked_share = 0.5\nwindow_seconds = 15\naction = \"suspend\"\n"),
        "limits.adaptive.p.window_seconds: must be a multiple of 10 between 10 and 3600"
    );
    assert_eq!(
        error("[accounts.a]\nadaptive = \"x\"\n"),
        "limits.accounts.a.adaptive: no adaptive policy named \"x\""
    );
}

#[test]
fn redis_settings_are_checked() {
    assert_eq!(
        error("backend = \"redis\"\n"),
        "limits.redis: required when backend = \"redis\""
    );
    assert_eq!(
        error("backend = \"redis\"\n[redis]\naddresses = []\n"),
        "limits.redis.addresses: needs at least one address"
    );
    assert_eq!(
        error("backend = \"redis\"\n[redis]\naddresses = [\"tcp://x\"]\n"),
        "limits.redis.addresses[0]: must be a redis:// url"
    );
    assert_eq!(
        error("backend = \"redis\"\n[redis]\naddresses = [\"redis://h\"]\nlocal_share = 0.0\n"),
        "limits.redis.local_share: must be > 0 and <= 1"
    );
    assert_eq!(
        error("backend = \"redis\"\n[redis]\naddresses = [\"redis://h\"]\nkey_prefix = \"a b\"\n"),
        "limits.redis.key_prefix: must be 1 to 64 printable characters without spaces or braces"
    );
    let ok = parse("backend = \"redis\"\n[redis]\naddresses = [\"redis://h:6379\"]\n");
    ok.validate().unwrap();
    let r = ok.redis.unwrap();
    assert_eq!(r, RedisConfig::new(vec!["redis://h:6379".into()]));
    assert!(r.fail_open);
    assert_eq!(r.key_prefix, "smppguard");
}

#[test]
fn unknown_keys_are_rejected() {
    let err = toml::from_str::<LimitsConfig>("[accounts.a]\nmessages_per_sec = 1.0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `messages_per_sec`"), "{err}");
    assert!(toml::from_str::<LimitsConfig>("bogus = 1\n").is_err());
    assert!(toml::from_str::<LimitsConfig>("[accounts.a]\nmonitor = [\"nope\"]\n").is_err());
}

#[test]
fn accounts_inherit_field_by_field() {
    let c = parse(
        r#"
        default_group = "std"
        [groups.std]
        messages_per_second = 10.0
        daily_messages = 100
        quota_status = 0x14
        [groups.bulk]
        messages_per_second = 500.0
        [accounts.a]
        burst = 3
        [accounts.b]
        group = "bulk"
        daily_messages = 5
        "#,
    );
    let plan = c.plan().unwrap();
    let a = &plan.accounts["a"];
    assert_eq!(a.group.as_deref(), Some("std"));
    let rate = a.rate.unwrap();
    assert_eq!(rate.params.burst(), 3, "own burst, group rate");
    assert_eq!(rate.params.interval(), 100_000_000);
    assert_eq!(a.quotas[0].unwrap().limit, 100);
    assert_eq!(a.quotas[0].unwrap().action.status, 0x14);
    let b = &plan.accounts["b"];
    assert_eq!(b.group.as_deref(), Some("bulk"));
    assert_eq!(b.quotas[0].unwrap().limit, 5);
    assert_eq!(
        b.quotas[0].unwrap().action.status,
        0x58,
        "bulk sets no quota_status"
    );
    assert_eq!(
        b.rate.unwrap().params.burst(),
        50,
        "default burst: a tenth of the rate"
    );
    let unlisted = plan.unlisted.as_ref().unwrap();
    assert_eq!(unlisted.quotas[0].unwrap().limit, 100);
}

#[test]
fn serialises_back_to_the_same_config() {
    let text = r#"
        quota_utc_offset_minutes = 480
        default_group = "std"
        [groups.std]
        messages_per_second = 10.0
        monitor = ["monthly_parts"]
        adaptive = "p"
        [accounts.acme]
        window = 50
        sender = { messages = 5, per_seconds = 60 }
        [destinations]
        messages = 20
        per_seconds = 3600
        [[prefixes]]
        prefix = "234"
        messages = 100
        [adaptive.p]
        max_blocked_share = 0.25
        action = "suspend"
    "#;
    let c = parse(text);
    let again: LimitsConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    assert_eq!(again, c);
    again.validate().unwrap();
}

/// The example in docs/limits.md is valid, so the documentation cannot drift from the code.
#[test]
fn documented_example_is_valid() {
    let doc = include_str!("../../../../docs/limits.md");
    let start = doc
        .find("```toml\n[limits]")
        .expect("docs/limits.md has a [limits] example");
    let body = &doc[start + "```toml\n".len()..];
    let end = body.find("```").unwrap();
    #[derive(serde::Deserialize)]
    struct File {
        limits: LimitsConfig,
    }
    let file: File = toml::from_str(&body[..end]).unwrap();
    file.limits.validate().unwrap();
    assert_eq!(file.limits.backend, Backend::Redis);
    assert!(!file.limits.accounts.is_empty());
}
