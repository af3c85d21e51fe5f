//! Database reuse across reloads: a ruleset compiled against a live one gives the
//! verdicts of a fresh compile after every kind of edit, reuses what did not change, and
//! never keeps the live ruleset from serving when the new pack fails.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use proptest::prelude::*;
use smppguard_filter::{Engine, Envelope, ReuseStats, RulePack, Ruleset, Scratch, Verdict};

/// A fresh directory for this test process (removed by the test that made it).
fn temp_dir(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("smppguard-reuse-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn default_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default"))
}

fn without_time(mut v: Verdict) -> Verdict {
    v.scan_time = Duration::ZERO;
    v.shadow = None;
    v
}

/// Compiles `pack` fresh and against `live`; both must give the same verdict on every
/// text. Returns the reusing compile.
fn check_same(live: &Ruleset, load: impl Fn() -> RulePack, texts: &[String]) -> ReuseStats {
    let fresh = Engine::new(Ruleset::compile(load()).unwrap());
    let reused = Ruleset::compile_with(load(), Some(live)).unwrap();
    assert_eq!(reused.version(), fresh.version());
    let reused = Engine::new(reused);
    let env = Envelope::new("acct");
    let (mut a, mut b) = (Scratch::new(), Scratch::new());
    let mut blocking = 0;
    for t in texts {
        let f = without_time(fresh.evaluate(&env, t, &mut a));
        let r = without_time(reused.evaluate(&env, t, &mut b));
        assert_eq!(r, f, "{t}");
        blocking += usize::from(f.is_blocking() || !f.matches.is_empty());
    }
    assert!(blocking > 0, "the texts exercise the rules");
    reused.ruleset().stats().reuse
}

/// Texts made of the default pack's words, links and numbers, `|`-separated.
const DEFAULT_PIECES: &str = "信用卡|提額|額度可提至|請加|微信|vx:abc_12345|貸款|無抵押|秒批|驗證碼|\
    把收到的驗證碼發給我|公安局|涉嫌洗錢|安全賬戶|轉賬|your account|has been suspended|verify|\
    click|gift card|call 0912345678|https://bit.ly/abc|www.example.xyz/login|zzreusecanary|\n| |，";

/// A small deterministic generator (xorshift).
fn xorshift(seed: u64) -> impl FnMut() -> usize {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as usize
    }
}

fn texts(pieces: &[&str], n: usize, seed: u64) -> Vec<String> {
    let mut next = xorshift(seed);
    let mut out: Vec<String> = pieces.iter().map(|p| (*p).to_owned()).collect();
    for _ in 0..n {
        let k = 1 + next() % 8;
        out.push((0..k).map(|_| pieces[next() % pieces.len()]).collect());
    }
    out
}

/// The edits an operator makes, as (name, function of the pack directory).
type Edit = (&'static str, fn(&Path));

fn edit_file(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{} lacks {from}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

const CANARY_RULE: &str = "\n[[rule]]\nid = \"aa-canary\"\ndescription = \"canary\"\n\
    category = \"spam\"\naction = \"reject\"\npatterns.w = { literal = \"zzreusecanary\" }\n";

const DEFAULT_EDITS: &[Edit] = &[
    ("only the version changed", |d| {
        let p = d.join("00-pack.toml");
        let s = std::fs::read_to_string(&p).unwrap();
        let s = s.replacen("version = \"", "version = \"reload-", 1);
        std::fs::write(p, s).unwrap();
    }),
    ("one rule edited", |d| {
        edit_file(&d.join("20-zh-loans.toml"), "网贷|放款", "网贷|放贷|放款");
    }),
    ("one rule added at the start", |d| {
        // A file that sorts first: its rule and pattern come before all others.
        std::fs::write(d.join("01-canary.toml"), CANARY_RULE).unwrap();
    }),
    ("one list changed", |d| {
        let p = d.join("lists/shorteners.txt");
        let mut s = std::fs::read_to_string(&p).unwrap();
        s.push_str("\nzzreusecanary.example\n");
        std::fs::write(p, s).unwrap();
    }),
];

#[test]
fn the_default_pack_reloaded_after_each_edit_gives_fresh_verdicts() {
    let tmp = temp_dir("default");
    let dir = tmp.join("pack");
    copy_dir(&default_dir(), &dir);
    let live = Ruleset::compile(RulePack::load(&dir).unwrap()).unwrap();
    let pieces: Vec<&str> = DEFAULT_PIECES.split('|').collect();
    let texts = texts(&pieces, 300, 11);
    for (name, edit) in DEFAULT_EDITS {
        edit(&dir);
        let r = check_same(&live, || RulePack::load(&dir).unwrap(), &texts);
        eprintln!("default pack, {name}: {r:?}");
        match *name {
            "only the version changed" | "one list changed" => {
                assert_eq!(r.compiled, 0, "{name}: {r:?}");
                assert!(r.reused > 0);
            }
            _ => assert!(r.reused > 0, "{name}: {r:?}"),
        }
        // Each edit is measured against the pack before it.
        copy_dir(&default_dir(), &dir);
        let _ = std::fs::remove_file(dir.join("01-canary.toml"));
    }
    let _ = std::fs::remove_dir_all(tmp);
}

const ZH: &[&str] = &[
    "信", "用", "卡", "提", "額", "貸", "款", "微", "驗", "證", "碼", "轉",
];
const EN: &[&str] = &[
    "card", "loan", "verify", "account", "prize", "gift", "code", "bank",
];

/// A generated pack big enough for its costly expressions to be gated: literals, gaps
/// and `\b` words, as (rule id, TOML) per rule.
fn generated_rules(rules: usize, seed: u64) -> Vec<String> {
    let mut next = xorshift(seed);
    (0..rules)
        .map(|ri| {
            let zh = |n: usize, next: &mut dyn FnMut() -> usize| -> String {
                (0..n).map(|_| ZH[next() % ZH.len()]).collect()
            };
            let lit = zh(2 + next() % 2, &mut next);
            let word = EN[next() % EN.len()];
            let gap = format!("{}.{{0,6}}{}", zh(1 + next() % 2, &mut next), zh(2, &mut next));
            format!(
                "\n[[rule]]\nid = \"g{ri}\"\ndescription = \"g\"\ncategory = \"spam\"\naction = \"reject\"\n\
                 when = \"a or (b and c)\"\n\
                 patterns.a = {{ literal = '{lit}{ri}' }}\n\
                 patterns.b = {{ regex = '\\b{word}s?\\b', caseless = true }}\n\
                 patterns.c = {{ regex = '{gap}' }}\n"
            )
        })
        .collect()
}

fn generated_pack(version: &str, rules: &[String]) -> String {
    let mut s = format!("format = 1\n[pack]\nname = \"g\"\nversion = \"{version}\"\n");
    for r in rules {
        s.push_str(r);
    }
    s
}

#[test]
fn a_generated_pack_reloaded_after_each_edit_gives_fresh_verdicts() {
    let rules = generated_rules(300, 5);
    let base = generated_pack("1", &rules);
    let live = Ruleset::compile(RulePack::from_toml(&base, "g.toml").unwrap()).unwrap();
    assert!(live.stats().gated_groups > 10, "{:?}", live.stats());
    let mut pieces: Vec<&str> = ZH.to_vec();
    pieces.extend(EN);
    pieces.extend([" ", "s", "7", "12", "zzreusecanary", "。"]);
    let texts = texts(&pieces, 400, 3);

    let mut edited = rules.clone();
    edited[150] = edited[150].replace(".{0,6}", ".{0,5}");
    let mut added = vec![CANARY_RULE.to_owned()];
    added.extend(rules.iter().cloned());
    let cases = [
        ("only the version changed", generated_pack("2", &rules)),
        ("one rule edited", generated_pack("2", &edited)),
        ("one rule added at the start", generated_pack("2", &added)),
        ("one rule removed", generated_pack("2", &rules[1..])),
    ];
    for (name, toml) in cases {
        let r = check_same(
            &live,
            || RulePack::from_toml(&toml, "g.toml").unwrap(),
            &texts,
        );
        let all = r.reused + r.compiled;
        eprintln!(
            "generated pack, {name}: {r:?} ({} of {all} reused)",
            r.reused
        );
        if name == "only the version changed" {
            assert_eq!(r.compiled, 0, "{r:?}");
        } else {
            // Everything but the edited rule's databases (and, for an insertion, the
            // groups whose boundaries move) is reused.
            assert!(r.reused * 2 > all, "{name}: {r:?}");
        }
    }
}

#[test]
fn a_pack_that_fails_to_compile_leaves_the_live_ruleset_serving() {
    let rules = generated_rules(40, 9);
    let engine = Engine::new(
        Ruleset::compile(RulePack::from_toml(&generated_pack("1", &rules), "g.toml").unwrap())
            .unwrap(),
    );
    let before = engine.version();
    let mut broken = rules.clone();
    // Accepted by Hyperscan's analyser when the pack loads, refused by its compiler.
    broken[3] = broken[3].replacen(
        "patterns.c = { regex = '",
        "patterns.c = { regex = '(a|b|c|d)[^x]{1000}(e|f)[^y]{1000}g|",
        1,
    );
    let pack = RulePack::from_toml(&generated_pack("2", &broken), "g.toml").unwrap();
    let live = engine.ruleset();
    let err = Ruleset::compile_with(pack, Some(&live)).unwrap_err();
    assert!(err.to_string().contains("rule `g3`"), "{err}");
    assert_eq!(engine.version(), before);
    let lit = rules[7]
        .split("literal = '")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    let v = engine.evaluate(&Envelope::new("a"), lit, &mut Scratch::new());
    assert_eq!(v.decisive().map(|m| &*m.id), Some("g7"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Reordered, renumbered and edited rules: the rule a verdict names is the one whose
    /// pattern matched, though the live database reports the ids it was compiled with.
    #[test]
    fn reused_databases_name_the_right_rules(
        order in Just((0..120usize).collect::<Vec<_>>()).prop_shuffle(),
        edited in 0..120usize,
        probe in 0..120usize,
    ) {
        let words: Vec<String> = (0..120).map(|i| format!("zqword{i}x")).collect();
        let pack = |ids: &[usize], edit: Option<usize>| {
            let mut s = String::from("format = 1\n[pack]\nname = \"w\"\nversion = \"1\"\n");
            for &i in ids {
                let w = if Some(i) == edit { format!("{}y", words[i]) } else { words[i].clone() };
                s.push_str(&format!(
                    "[[rule]]\nid = \"r{i}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"reject\"\npatterns.w = {{ literal = \"{w}\" }}\n"
                ));
            }
            RulePack::from_toml(&s, "w.toml").unwrap()
        };
        let straight: Vec<usize> = (0..120).collect();
        let live = Ruleset::compile(pack(&straight, None)).unwrap();
        let next = Engine::new(Ruleset::compile_with(pack(&order, Some(edited)), Some(&live)).unwrap());
        prop_assert_eq!(next.ruleset().stats().reuse.patched, 1);
        let v = next.evaluate(&Envelope::new("a"), &format!("x {} y", words[probe]), &mut Scratch::new());
        let expect = (probe != edited).then(|| format!("r{probe}"));
        prop_assert_eq!(v.decisive().map(|m| m.id.to_string()), expect);
    }
}
