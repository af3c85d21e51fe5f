//! Behaviour of the engine on whole messages: verdicts, priorities, scopes, lists,
//! fields, explanations.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::ops::Range;

use smppguard_filter::{
    Action, Category, Engine, Envelope, Extracted, Field, Mode, OffsetMap, Prepared, RulePack,
    Ruleset, Scratch, Verdict,
};

const HEADER: &str = "format = 1\n[pack]\nname = \"test\"\nversion = \"1\"\n";

fn engine(body: &str) -> Engine {
    let pack = RulePack::from_toml(&format!("{HEADER}{body}"), "test.toml")
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", e.diagnostics()));
    Engine::new(Ruleset::compile(pack).unwrap())
}

/// The proxy's path: normalize with the pack's options, extract, scan.
fn scan(e: &Engine, text: &str) -> Verdict {
    e.evaluate(&Envelope::new("acct"), text, &mut Scratch::new())
}

fn ids(v: &Verdict) -> Vec<&str> {
    v.matches.iter().map(|m| &*m.id).collect()
}

fn decided(v: &Verdict) -> Option<&str> {
    v.decisive().map(|m| &*m.id)
}

const CC: &str = r#"
[patterns]
url_any = { regex = 'https?://\S+', caseless = true }

[[rule]]
id = "cc-limit"
description = "credit-card limit increase with a way to get in touch"
category = "fraud"
action = "reject"
when = "cc and limit and (phone or url_any)"
patterns.cc = { literal = "信用卡" }
patterns.limit = { literal = ["提額", "額度提升"] }
patterns.phone = { regex = '09\d{8}', field = "text" }
"#;

#[test]
fn credit_card_limit_scam_is_rejected_with_quoted_evidence() {
    let e = engine(CC);
    let text = "您的信用卡可提額至50萬，請電0912345678";
    let v = scan(&e, text);
    assert_eq!(v.action, Action::Reject { status: 0x45 });
    assert!(v.is_blocking());
    assert_eq!(decided(&v), Some("cc-limit"));
    assert_eq!(v.ruleset_version, e.version());
    assert!(v.error.is_none());
    let m = &v.matches[0];
    assert_eq!(m.category, Category::Fraud);
    assert_eq!(m.mode, Mode::Enforce);
    let quotes: Vec<(&str, &str, Range<usize>)> = m
        .evidence
        .iter()
        .map(|ev| {
            let s = ev.span.as_ref().unwrap();
            (&*ev.pattern, s.quote.as_str(), s.range.clone())
        })
        .collect();
    let at = |s: &str| {
        let i = text.find(s).unwrap();
        i..i + s.len()
    };
    assert_eq!(
        quotes,
        vec![
            ("cc", "信用卡", at("信用卡")),
            ("limit", "提額", at("提額")),
            ("phone", "0912345678", at("0912345678")),
        ]
    );
    assert_eq!(m.field(), Some(Field::Text));
    assert_eq!(m.span().unwrap().quote, "信用卡");
}

#[test]
fn each_condition_part_is_required() {
    let e = engine(CC);
    for text in [
        "您的信用卡帳單已出，請電0912345678", // no limit words
        "額度提升專案，請電0912345678",       // no credit card
        "您的信用卡可提額至50萬",             // no contact
    ] {
        let v = scan(&e, text);
        assert_eq!(v.action, Action::Allow, "{text}");
        assert!(v.matches.is_empty(), "{text}");
        // A clean message allocates nothing for matches.
        assert_eq!(v.matches.capacity(), 0);
    }
    let v = scan(&e, "信用卡額度提升 詳見 HTTPS://x.example/a");
    assert_eq!(decided(&v), Some("cc-limit"));
    // Spacing the characters out, mixing Simplified and Traditional or using fullwidth
    // digits does not get past the normalized match text; quotes are still the original.
    let text = "信 用 卡 额度提升 請電 ０９１２３４５６７８";
    let v = scan(&e, text);
    assert_eq!(decided(&v), Some("cc-limit"));
    let quotes: Vec<&str> = v.matches[0]
        .evidence
        .iter()
        .map(|e| e.span.as_ref().unwrap().quote.as_str())
        .collect();
    assert_eq!(quotes, vec!["信 用 卡", "额度提升", "０９１２３４５６７８"]);
}

#[test]
fn regex_spans_are_computed_only_after_a_match() {
    let e = engine(
        r#"
[[rule]]
id = "gap"
description = "d"
category = "loan"
action = "quarantine"
patterns.g = { regex = '貸款.{0,6}秒批' }
"#,
    );
    let text = "急用錢？貸款免審核秒批，當天放款";
    let v = scan(&e, text);
    assert_eq!(v.action, Action::Quarantine);
    let span = v.matches[0].span().unwrap();
    assert_eq!(span.quote, "貸款免審核秒批");
    assert_eq!(&text[span.range.clone()], "貸款免審核秒批");
}

#[test]
fn caseless_and_word_boundaries() {
    let e = engine(
        r#"
[[rule]]
id = "loan-word"
description = "d"
category = "loan"
action = "tag"
patterns.w = { regex = '\bloan\b', caseless = true }
"#,
    );
    assert_eq!(scan(&e, "Cheap LOAN today").action, Action::Tag);
    assert_eq!(scan(&e, "loans").action, Action::Allow);
    assert_eq!(scan(&e, "payloan").action, Action::Allow);
    let v = scan(&e, "get a Loan!");
    assert_eq!(v.matches[0].span().unwrap().quote, "Loan");
}

#[test]
fn priorities_allow_overrides_and_ties() {
    let body = r#"
[[rule]]
id = "block-prize"
description = "d"
category = "spam"
action = "reject"
status = 0x0b
priority = 10
patterns.p = { literal = "prize" }

[[rule]]
id = "allow-lottery-office"
description = "d"
category = "allowlist"
action = "allow"
priority = 20
patterns.o = { literal = "official lottery" }

[[rule]]
id = "tag-prize"
description = "d"
category = "spam"
action = "tag"
priority = 10
patterns.p = { literal = "prize" }

[[rule]]
id = "quarantine-prize"
description = "d"
category = "spam"
action = "quarantine"
priority = 10
patterns.p = { literal = "prize" }
"#;
    let e = engine(body);
    // Equal priority: the strictest action wins (reject > quarantine > tag).
    let v = scan(&e, "you won a prize");
    assert_eq!(v.action, Action::Reject { status: 0x0b });
    assert_eq!(decided(&v), Some("block-prize"));
    assert_eq!(
        ids(&v),
        vec!["block-prize", "tag-prize", "quarantine-prize"]
    );
    // A higher-priority allow wins over the blocks, which are still reported.
    let v = scan(&e, "official lottery prize results");
    assert_eq!(v.action, Action::Allow);
    assert_eq!(decided(&v), Some("allow-lottery-office"));
    assert_eq!(v.matches.len(), 4);
    assert!(!v.is_blocking());
    // An allowed message is forwarded as it is: no explanation work is spent on it.
    assert!(v.matches.iter().all(|m| m.evidence.is_empty()));
    let blocked = scan(&e, "you won a prize");
    assert!(blocked.matches.iter().all(|m| !m.evidence.is_empty()));
}

#[test]
fn equal_priority_and_action_goes_to_the_first_rule() {
    let e = engine(
        r#"
[[rule]]
id = "first"
description = "d"
category = "spam"
action = "reject"
status = 0x11
patterns.p = { literal = "x" }

[[rule]]
id = "second"
description = "d"
category = "spam"
action = "reject"
status = 0x22
patterns.p = { literal = "x" }
"#,
    );
    for _ in 0..3 {
        let v = scan(&e, "x");
        assert_eq!(v.action, Action::Reject { status: 0x11 });
        assert_eq!(decided(&v), Some("first"));
    }
}

#[test]
fn monitor_mode_reports_without_enforcing() {
    let e = engine(
        r#"
[[rule]]
id = "new-rule"
description = "d"
category = "phishing"
action = "reject"
mode = "monitor"
patterns.p = { literal = "verify your account" }

[[rule]]
id = "tagger"
description = "d"
category = "spam"
action = "tag"
patterns.p = { literal = "click" }
"#,
    );
    let v = scan(&e, "please verify your account");
    assert_eq!(v.action, Action::Monitor);
    assert_eq!(v.decided_by, None);
    assert_eq!(v.matches[0].mode, Mode::Monitor);
    assert_eq!(v.matches[0].action, Action::Reject { status: 0x45 });
    let v = scan(&e, "click to verify your account");
    assert_eq!(v.action, Action::Tag);
    assert_eq!(decided(&v), Some("tagger"));
    assert_eq!(v.matches.len(), 2);
}

#[test]
fn scopes_restrict_by_account_group_sender_and_destination() {
    let e = engine(
        r#"
[groups]
resellers = ["r1", "r2"]

[[rule]]
id = "resellers-only"
description = "d"
category = "spam"
action = "reject"
scope = { groups = ["resellers", "tier3"], except_accounts = ["r2"] }
patterns.p = { literal = "promo" }

[[rule]]
id = "taiwan-mobiles"
description = "d"
category = "spam"
action = "tag"
scope = { destinations = ["+8869"], senders = ["ShopCo"] }
patterns.p = { literal = "promo" }
"#,
    );
    let mut s = Scratch::new();
    let msg = Prepared::plain("big promo");
    let run = |env: Envelope<'_>, s: &mut Scratch| {
        let v = e.scan(&env, &msg, s);
        v.matches
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(Envelope::new("r1"), &mut s), vec!["resellers-only"]);
    assert!(
        run(Envelope::new("r2"), &mut s).is_empty(),
        "excepted account"
    );
    assert!(run(Envelope::new("other"), &mut s).is_empty());
    let tier3 = vec!["tier3".to_string()];
    let env = Envelope {
        groups: &tier3,
        ..Envelope::new("other")
    };
    assert_eq!(
        run(env, &mut s),
        vec!["resellers-only"],
        "group from the proxy"
    );
    let env = Envelope {
        source_addr: "SHOPCO",
        destination_addr: "886912345678",
        ..Envelope::new("x")
    };
    assert_eq!(run(env, &mut s), vec!["taiwan-mobiles"]);
    let env = Envelope {
        source_addr: "SHOPCO",
        destination_addr: "+886212345678",
        ..Envelope::new("x")
    };
    assert!(run(env, &mut s).is_empty(), "landline prefix");
    let env = Envelope {
        source_addr: "Other",
        destination_addr: "886912345678",
        ..Envelope::new("x")
    };
    assert!(run(env, &mut s).is_empty(), "other sender");
}

#[test]
fn lists_of_domains_phones_and_senders() {
    let e = engine(
        r#"
[lists.shorteners]
kind = "domain"
entries = ["bit.ly", "t.co"]

[lists.bad_numbers]
kind = "phone"
entries = ["+886 912 345 678"]

[lists.acme_senders]
kind = "sender"
entries = ["ACME", "AcmeBank"]

[[rule]]
id = "short-link"
description = "d"
category = "phishing"
action = "tag"
patterns.s = { list = "shorteners" }

[[rule]]
id = "bad-number"
description = "d"
category = "fraud"
action = "reject"
patterns.n = { list = "bad_numbers" }

[[rule]]
id = "acme-sender-ids"
description = "acme may only send with its registered sender IDs"
category = "policy"
action = "reject"
status = 0x0a
when = "not registered"
scope = { accounts = ["acme"] }
patterns.registered = { list = "acme_senders" }
"#,
    );
    let mut s = Scratch::new();
    let text = "see https://X.Bit.ly/abc or call 0912";
    let urls = [Extracted {
        value: "https://X.Bit.ly/abc".into(),
        range: 4..24,
        match_range: 4..24,
    }];
    let msg = Prepared {
        urls: &urls,
        ..Prepared::plain(text)
    };
    let v = e.scan(&Envelope::new("someone"), &msg, &mut s);
    assert_eq!(ids(&v), vec!["short-link"]);
    let ev = &v.matches[0].evidence[0];
    assert_eq!(ev.field, Field::Domain);
    assert_eq!(ev.span.as_ref().unwrap().quote, "https://X.Bit.ly/abc");

    let phones = [Extracted {
        value: "886-912-345-678".into(),
        range: 5..20,
        match_range: 5..20,
    }];
    let msg = Prepared {
        phones: &phones,
        ..Prepared::plain("call 886-912-345-678 now")
    };
    let v = e.scan(&Envelope::new("someone"), &msg, &mut s);
    assert_eq!(ids(&v), vec!["bad-number"]);
    assert_eq!(v.matches[0].span().unwrap().quote, "886-912-345-678");

    // The sender policy applies to acme only, and fires on the absence of a match.
    let plain = Prepared::plain("hello");
    let acme = |sender| Envelope {
        source_addr: sender,
        ..Envelope::new("acme")
    };
    let v = e.scan(&acme("acmebank"), &plain, &mut s);
    assert_eq!(v.action, Action::Allow);
    let v = e.scan(&acme("SPOOFED"), &plain, &mut s);
    assert_eq!(v.action, Action::Reject { status: 0x0a });
    assert!(
        v.matches[0].evidence.is_empty(),
        "a `not` has no positive evidence"
    );
    let other = Envelope {
        source_addr: "SPOOFED",
        ..Envelope::new("other")
    };
    assert_eq!(e.scan(&other, &plain, &mut s).action, Action::Allow);
}

#[test]
fn rule_references_combine_rules() {
    let e = engine(
        r#"
[[rule]]
id = "has-link"
description = "any link"
category = "other"
action = "monitor"
mode = "monitor"
patterns.u = { regex = 'https?://', caseless = true }

[[rule]]
id = "loan-with-link"
description = "loan offer with a link"
category = "loan"
action = "reject"
when = "loan and @has-link"
patterns.loan = { literal = ["貸款", "贷款"] }
"#,
    );
    let v = scan(&e, "小額贷款 http://x.example");
    assert_eq!(decided(&v), Some("loan-with-link"));
    assert_eq!(ids(&v), vec!["has-link", "loan-with-link"]);
    let ev: Vec<&str> = v.matches[1].evidence.iter().map(|e| &*e.pattern).collect();
    assert_eq!(ev, vec!["loan", "u"]);
    assert_eq!(scan(&e, "小額贷款").action, Action::Allow);
    assert_eq!(scan(&e, "http://x.example").action, Action::Monitor);
}

#[test]
fn envelope_and_binary_fields() {
    let e = engine(
        r#"
[[rule]]
id = "bank-sender"
description = "d"
category = "impersonation"
action = "tag"
patterns.s = { regex = '^[A-Z]*BANK', field = "source_addr", caseless = true }

[[rule]]
id = "svc"
description = "d"
category = "policy"
action = "tag"
patterns.s = { literal = "WAP", field = "service_type" }

[[rule]]
id = "dest"
description = "d"
category = "policy"
action = "tag"
patterns.d = { regex = '^\+?8869', field = "destination_addr" }

[[rule]]
id = "wap-push"
description = "d"
category = "malware"
action = "reject"
patterns.b = { regex = '\x0b\x84', field = "binary" }
"#,
    );
    let env = Envelope {
        source_addr: "MyBank",
        service_type: "WAP",
        destination_addr: "+886912000000",
        ..Envelope::new("a")
    };
    let bytes = [0x06u8, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0];
    let msg = Prepared {
        binary: Some(&bytes),
        ..Prepared::plain("")
    };
    let v = e.scan(&env, &msg, &mut Scratch::new());
    assert_eq!(ids(&v), vec!["bank-sender", "svc", "dest", "wap-push"]);
    let span = |i: usize| v.matches[i].span().unwrap().clone();
    assert_eq!(span(0).quote, "MyBank");
    assert_eq!(span(0).range, 0..6);
    assert_eq!(span(1).quote, "WAP");
    assert_eq!(span(3).quote, "0b84");
    assert_eq!(span(3).range, 3..5);
    assert_eq!(v.action, Action::Reject { status: 0x45 });
}

/// Maps a normalized text built char by char from the decoded one.
struct CharMap {
    /// (normalized byte offset, decoded byte offset) at each char start, plus the ends.
    starts: Vec<(usize, usize)>,
}

impl CharMap {
    fn new(decoded: &str, normalized: &str) -> Self {
        let mut starts: Vec<(usize, usize)> = normalized
            .char_indices()
            .map(|(i, _)| i)
            .zip(decoded.char_indices().map(|(i, _)| i))
            .collect();
        starts.push((normalized.len(), decoded.len()));
        Self { starts }
    }

    fn map(&self, n: usize) -> usize {
        self.starts
            .iter()
            .find(|(a, _)| *a >= n)
            .map_or(0, |(_, b)| *b)
    }
}

impl OffsetMap for CharMap {
    fn original_range(&self, r: Range<usize>) -> Range<usize> {
        self.map(r.start)..self.map(r.end)
    }
}

#[test]
fn matches_in_the_normalized_view_are_quoted_from_the_original() {
    let e = engine(
        r#"
[[rule]]
id = "free-loan"
description = "d"
category = "loan"
action = "reject"
patterns.p = { literal = "free loan" }
"#,
    );
    let decoded = "Get ＦＲＥＥ ｌｏａｎ now";
    let normalized = "get free loan now";
    let map = CharMap::new(decoded, normalized);
    let msg = Prepared {
        text: normalized,
        decoded,
        offsets: Some(&map),
        ..Prepared::plain(normalized)
    };
    let v = e.scan(&Envelope::new("a"), &msg, &mut Scratch::new());
    let span = v.matches[0].span().unwrap();
    assert_eq!(span.quote, "ＦＲＥＥ ｌｏａｎ");
    assert_eq!(&decoded[span.range.clone()], "ＦＲＥＥ ｌｏａｎ");
}

#[test]
fn decoded_field_sees_the_text_before_normalization() {
    let e = engine(
        r#"
[[rule]]
id = "fullwidth-trick"
description = "fullwidth letters are themselves a signal"
category = "spam"
action = "tag"
patterns.p = { regex = '[Ａ-Ｚ]{3}', field = "decoded" }
"#,
    );
    let msg = Prepared {
        text: "free",
        decoded: "ＦＲＥＥ",
        ..Prepared::plain("free")
    };
    let v = e.scan(&Envelope::new("a"), &msg, &mut Scratch::new());
    assert_eq!(v.action, Action::Tag);
    assert_eq!(v.matches[0].span().unwrap().quote, "ＦＲＥ");
    assert_eq!(scan(&e, "free").action, Action::Allow);
}

#[test]
fn the_same_expression_in_several_patterns_is_compiled_once() {
    let e = engine(
        r#"
[[rule]]
id = "a"
description = "d"
category = "spam"
action = "tag"
patterns.p = { literal = "same" }

[[rule]]
id = "b"
description = "d"
category = "spam"
action = "tag"
patterns.q = { literal = "same" }
"#,
    );
    assert_eq!(e.ruleset().stats().expressions, 1);
    assert_eq!(e.ruleset().stats().patterns, 2);
    assert_eq!(ids(&scan(&e, "the same")), vec!["a", "b"]);
}

#[test]
fn thread_scratch_gives_the_same_verdicts() {
    let e = engine(CC);
    for text in ["您的信用卡可提额 0912345678", "hello"] {
        let env = Envelope::new("acct");
        let mut a = e.scan(&env, &Prepared::plain(text), &mut Scratch::new());
        assert_eq!(a.is_blocking(), text != "hello");
        let mut b = e.scan_with_thread_scratch(&env, &Prepared::plain(text));
        a.scan_time = Default::default();
        b.scan_time = Default::default();
        assert_eq!(a, b);
    }
}

#[test]
fn one_scratch_serves_many_messages() {
    let e = engine(CC);
    let mut s = Scratch::new();
    let env = Envelope::new("acct");
    for i in 0..1000 {
        let text = if i % 3 == 0 {
            "您的信用卡可提額 0912345678"
        } else {
            "您的信用卡帳單"
        };
        let v = e.evaluate(&env, text, &mut s);
        assert_eq!(v.is_blocking(), i % 3 == 0, "message {i}");
    }
}

#[test]
fn stats_and_rule_listing() {
    let e = engine(CC);
    let rs = e.ruleset();
    let st = rs.stats();
    // Four patterns; `limit` has two literals.
    assert_eq!((st.rules, st.patterns, st.expressions), (1, 4, 5));
    assert!(st.database_bytes > 0 && st.scratch_bytes > 0);
    let r: Vec<_> = rs.rules().collect();
    assert_eq!(r[0].id, "cc-limit");
    assert_eq!(r[0].category.as_str(), "fraud");
    assert_eq!(rs.name(), "test");
    assert_eq!(rs.pack_version(), "1");
    assert_eq!(rs.version().to_string().len(), 16);
}
