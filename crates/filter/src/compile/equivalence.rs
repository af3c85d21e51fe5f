//! The compile-time optimizations change no verdict: the same packs compiled with and
//! without them ([`Tuning`]) give the same verdicts, evidence spans included, and a
//! bytewise expression has the same matches as its UTF-8 form.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::sync::OnceLock;
use std::time::Duration;

use hyperscan::{BlockDatabase, Builder, Matching};
use proptest::prelude::*;

use super::*;
use crate::pack::ExprFlags;
use crate::{Engine, Envelope, Scratch, Verdict};

/// Every match end of `e` in `text`, compiled with `bytes` or in UTF-8 mode.
fn match_ends(e: &HsExpr, text: &str, bytes: bool) -> Vec<u64> {
    let db: BlockDatabase = pattern(e, false, bytes).build().unwrap();
    let scratch = db.alloc_scratch().unwrap();
    let mut ends = Vec::new();
    db.scan(text, &scratch, |_, _, to, _| {
        ends.push(to);
        Matching::Continue
    })
    .unwrap();
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// Pieces of bytewise expressions: literals (Chinese, ASCII), ASCII classes, anchors and
/// word boundaries, groups with quantifiers.
fn bytewise_expr() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("信用卡".to_owned()),
        Just("额度".to_owned()),
        Just("提".to_owned()),
        Just("卡".to_owned()),
        Just("ab".to_owned()),
        Just("k".to_owned()),
        Just("s".to_owned()),
        Just("[0-9]".to_owned()),
        Just("[a-z]{2,3}".to_owned()),
        Just(r"\b".to_owned()),
        Just("^".to_owned()),
        Just("$".to_owned()),
        Just(r"\s".to_owned()),
        Just("(额|度)?".to_owned()),
        Just("(?:卡|ab)+".to_owned()),
    ];
    prop::collection::vec(prop::collection::vec(atom, 1..4), 1..4)
        .prop_map(|alts| {
            alts.into_iter()
                .map(|a| a.concat())
                .collect::<Vec<_>>()
                .join("|")
        })
        .prop_filter("matches something", |s| {
            let e = HsExpr {
                expression: s.clone(),
                flags: ExprFlags {
                    caseless: false,
                    dotall: false,
                    utf8: true,
                    ucp: false,
                },
                literal: None,
            };
            check_expression(&e).is_ok()
        })
}

/// Text made of characters close to the expressions' pieces, multi-byte ones included.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            '信', '用', '卡', '额', '度', '提', 'a', 'b', 'k', 'K', 's', 'S', '0', '7', ' ', '\n',
            'é', '\u{212a}', '\u{17f}', '\u{3000}', '😀', '，',
        ]),
        0..24,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #[test]
    fn bytewise_expressions_match_the_same_as_utf8(
        expr in bytewise_expr(),
        caseless in any::<bool>(),
        text in text(),
    ) {
        let e = HsExpr {
            expression: expr,
            flags: ExprFlags { caseless, dotall: false, utf8: true, ucp: false },
            literal: None,
        };
        // Caseless ASCII needs NFKC text (no U+212A or U+017F): only test that on it.
        let nfkc = !text.contains(['\u{212a}', '\u{17f}']);
        prop_assume!(bytewise::is_bytewise(&e, nfkc));
        prop_assert_eq!(match_ends(&e, &text, true), match_ends(&e, &text, false));
    }
}

/// The default pack compiled with every optimization and with none.
fn default_pack() -> &'static (Engine, Engine) {
    static ENGINES: OnceLock<(Engine, Engine)> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default");
        let tuned = Ruleset::compile(RulePack::load(dir).unwrap()).unwrap();
        let plain = Ruleset::compile_tuned(
            RulePack::load(dir).unwrap(),
            Tuning {
                bytewise: false,
                any_value: false,
            },
        )
        .unwrap();
        (Engine::new(tuned), Engine::new(plain))
    })
}

fn without_time(mut v: Verdict) -> Verdict {
    v.scan_time = Duration::ZERO;
    v
}

fn same_verdicts(engines: &(Engine, Engine), text: &str) -> Result<(), TestCaseError> {
    let env = Envelope::new("acct");
    let tuned = without_time(engines.0.evaluate(&env, text, &mut Scratch::new()));
    let plain = without_time(engines.1.evaluate(&env, text, &mut Scratch::new()));
    prop_assert_eq!(tuned, plain, "{}", text);
    Ok(())
}

/// Words, links and numbers the default pack looks for, and characters that test its
/// edges (look-alikes, full-width forms, newlines).
const PIECES: &[&str] = &[
    "信用卡",
    "信用額度",
    "提額",
    "額度可提至",
    "請加",
    "微信",
    "vx:abc_12345",
    "貸款",
    "無抵押",
    "秒批",
    "手續費",
    "驗證碼",
    "告訴我",
    "把收到的驗證碼發給我",
    "我是",
    "客服",
    "公安局",
    "涉嫌洗錢",
    "安全賬戶",
    "轉賬",
    "請勿泄露",
    "退訂回T",
    "優惠",
    "爸，我是",
    "your account",
    "has been suspended",
    "verify",
    "click",
    "gift card",
    "you won a prize",
    "call 0912345678",
    "0912-345-678",
    "+886 912 345 678",
    "https://bit.ly/abc",
    "http://192.168.1.1/x",
    "www.example.xyz/login",
    "pay.example.top",
    "txt WIN to 80085",
    "ＫＹＣ",
    "\u{212a}yc",
    "pa\u{17f}\u{17f}word",
    "\n",
    " ",
    "，",
    "😀",
    "$50 per day",
    "whatsapp",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_default_pack_gives_the_same_verdicts_without_optimizations(
        parts in prop::collection::vec(prop::sample::select(PIECES), 1..10),
    ) {
        same_verdicts(default_pack(), &parts.concat())?;
    }
}

#[test]
fn the_default_pack_uses_both_optimizations() {
    let (tuned, plain) = default_pack();
    let tuned = tuned.ruleset();
    let plain = plain.ruleset();
    let bytes = |rs: &Ruleset| {
        rs.expressions()
            .iter()
            .filter(|e| e.scanned && !e.hyperscan_pattern().flags.contains(PatternFlags::UTF8))
            .count()
    };
    assert!(bytes(&tuned) > 20, "{}", bytes(&tuned));
    assert_eq!(bytes(&plain), 0);
    let scam = "您的信用卡可提額至10萬，請加微信 vx:abc_12345 或致電 0912345678";
    let env = Envelope::new("acct");
    let v = without_time(default_pack().0.evaluate(&env, scam, &mut Scratch::new()));
    assert!(v.is_blocking());
    assert_eq!(
        v,
        without_time(default_pack().1.evaluate(&env, scam, &mut Scratch::new()))
    );
    // `.` on the URL field: no database for it at all.
    assert!(tuned.field_db(Field::Url).unwrap().db.is_none());
    assert!(plain.field_db(Field::Url).unwrap().db.is_some());
}

#[test]
fn any_value_matches_like_hyperscan() {
    for (value, dotall, utf8, want) in [
        ("", false, true, None),
        ("\n", false, true, None),
        ("\n", true, true, Some(1)),
        ("\n信", false, true, Some(4)),
        ("a", false, true, Some(1)),
        ("信", false, false, Some(1)),
    ] {
        let kind = if dotall {
            AnyValue::AnyChar
        } else {
            AnyValue::AnyButNewline
        };
        assert_eq!(
            kind.first_match_end(value.as_bytes(), utf8),
            want,
            "{value:?}"
        );
        // Hyperscan agrees: the first match of `.` with SINGLEMATCH.
        let e = HsExpr {
            expression: ".".into(),
            flags: ExprFlags {
                caseless: false,
                dotall,
                utf8,
                ucp: false,
            },
            literal: None,
        };
        let db: BlockDatabase = pattern(&e, true, false).build().unwrap();
        let scratch = db.alloc_scratch().unwrap();
        let mut got = None;
        db.scan(value, &scratch, |_, _, to, _| {
            got = Some(to as usize);
            Matching::Continue
        })
        .unwrap();
        assert_eq!(got, want, "{value:?}");
    }
}
