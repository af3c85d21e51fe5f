//! Property test: for random packs of literal rules with random `and`/`or`/`not`
//! conditions, priorities, actions and modes, the engine agrees with a naive evaluator
//! built on `str::contains`.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use smppguard_filter::{Action, Engine, Envelope, Prepared, RulePack, Ruleset, Scratch};

const WORDS: [&str; 7] = ["ab", "Ab", "信用", "卡", "x.y", "提額", "q"];
const NORMALIZE_STEPS: [&str; 12] = [
    "nfkc",
    "case_fold",
    "strip_invisible",
    "strip_overlay_marks",
    "collapse_separators",
    "traditional_to_simplified",
    "confusables",
    "leet",
    "fold_digits",
    "deobfuscate_urls",
    "extract_urls",
    "extract_phones",
];
const FILLER: [&str; 4] = [" ", "z", "信", "."];

#[derive(Clone, Debug)]
enum Cond {
    Term(usize),
    Not(Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

impl Cond {
    fn render(&self) -> String {
        match self {
            Cond::Term(t) => format!("t{t}"),
            Cond::Not(c) => format!("not ({})", c.render()),
            Cond::And(a, b) => format!("({}) and ({})", a.render(), b.render()),
            Cond::Or(a, b) => format!("({}) or ({})", a.render(), b.render()),
        }
    }

    fn eval(&self, truth: &[bool]) -> bool {
        match self {
            Cond::Term(t) => truth[*t],
            Cond::Not(c) => !c.eval(truth),
            Cond::And(a, b) => a.eval(truth) && b.eval(truth),
            Cond::Or(a, b) => a.eval(truth) || b.eval(truth),
        }
    }
}

fn cond() -> impl Strategy<Value = Cond> {
    let leaf = (0usize..3).prop_map(Cond::Term);
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
        ]
    })
}

#[derive(Clone, Debug)]
struct Rule {
    words: [usize; 3],
    cond: Cond,
    priority: i32,
    action: usize,
    monitor: bool,
}

const ACTIONS: [(&str, u8); 4] = [("allow", 0), ("tag", 2), ("quarantine", 4), ("reject", 5)];

fn rule() -> impl Strategy<Value = Rule> {
    (
        [
            0usize..WORDS.len(),
            0usize..WORDS.len(),
            0usize..WORDS.len(),
        ],
        cond(),
        0i32..3,
        0usize..ACTIONS.len(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(words, cond, priority, action, monitor)| Rule {
            words,
            cond,
            priority,
            action,
            monitor,
        })
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            (0..WORDS.len()).prop_map(|i| WORDS[i]),
            (0..FILLER.len()).prop_map(|i| FILLER[i]),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn render(rules: &[Rule]) -> String {
    let mut s = String::from("format = 1\n[pack]\nname = \"oracle\"\nversion = \"1\"\n");
    // No normalization: the oracle compares raw bytes, `Ab` and `ab` differ.
    s.push_str("[normalize]\n");
    for step in NORMALIZE_STEPS {
        s.push_str(&format!("{step} = false\n"));
    }
    for (i, r) in rules.iter().enumerate() {
        s.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"{}\"\npriority = {}\nmode = \"{}\"\nwhen = \"{}\"\n",
            ACTIONS[r.action].0,
            r.priority,
            if r.monitor { "monitor" } else { "enforce" },
            r.cond.render(),
        ));
        for (t, w) in r.words.iter().enumerate() {
            s.push_str(&format!(
                "patterns.t{t} = {{ literal = \"{}\" }}\n",
                WORDS[*w]
            ));
        }
    }
    s
}

/// The expected (matched rule indexes, action) for `text`.
fn naive(rules: &[Rule], text: &str) -> (Vec<usize>, Action) {
    let matched: Vec<usize> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            let truth: Vec<bool> = r.words.iter().map(|&w| text.contains(WORDS[w])).collect();
            r.cond.eval(&truth)
        })
        .map(|(i, _)| i)
        .collect();
    let mut best: Option<(i32, u8, usize)> = None;
    for &i in &matched {
        let r = &rules[i];
        if r.monitor {
            continue;
        }
        let key = (r.priority, ACTIONS[r.action].1);
        if best.is_none_or(|(p, s, _)| key > (p, s)) {
            best = Some((key.0, key.1, i));
        }
    }
    let action = match best {
        Some((_, _, i)) => match ACTIONS[rules[i].action].0 {
            "allow" => Action::Allow,
            "tag" => Action::Tag,
            "quarantine" => Action::Quarantine,
            _ => Action::Reject { status: 0x45 },
        },
        None if matched.iter().any(|&i| rules[i].monitor) => Action::Monitor,
        None => Action::Allow,
    };
    (matched, action)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn engine_agrees_with_a_naive_evaluator(
        rules in proptest::collection::vec(rule(), 1..6),
        texts in proptest::collection::vec(text(), 1..16),
    ) {
        let src = render(&rules);
        let pack = RulePack::from_toml(&src, "oracle.toml").unwrap();
        let engine = Engine::new(Ruleset::compile(pack).unwrap());
        let mut scratch = Scratch::new();
        for text in &texts {
            let v = engine.scan(&Envelope::new("a"), &Prepared::plain(text), &mut scratch);
            let got: Vec<usize> = v
                .matches
                .iter()
                .map(|m| m.id.trim_start_matches('r').parse().unwrap())
                .collect();
            let (want, action) = naive(&rules, text);
            prop_assert_eq!(&got, &want, "text {:?}\n{}", text, src);
            prop_assert_eq!(v.action, action, "text {:?}\n{}", text, src);
        }
    }
}
