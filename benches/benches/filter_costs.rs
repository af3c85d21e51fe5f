//! Per-expression scan cost of a rule pack: every expression of the compiled ruleset
//! (`Ruleset::expressions`, exactly the pattern and flags the engine compiles) is compiled
//! alone into a one-expression Hyperscan database and scanned over the benchmark corpus's
//! values of its field; the tool prints nanoseconds per message, costliest first, next to
//! the cost of each field's whole database and of an empty scan (the fixed cost of one
//! Hyperscan call).
//!
//! An expression's cost alone is not its share of the whole database (Hyperscan shares
//! literal matchers between expressions and runs some engines only when a literal
//! factor matched), but an expression that is costly alone is costly in the pack: the
//! list says which ones to rewrite first.
//!
//! Run: `cargo bench -p smppguard-benches --bench filter_costs`. Environment:
//! `SMPPGUARD_COST_PACK` = `default` (the shipped `rules/default`, the default), `bench`,
//! `1k` or `10k` (generated packs), or a path to a pack; `SMPPGUARD_COST_TOP` = how many
//! expressions to list (default 40).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "filter/corpus.rs"]
mod corpus;

use std::hint::black_box;

use corpus::{BENCH_PACK, Message, generated_pack, messages};
use cpu_time::ThreadTime;
use hyperscan::{BlockDatabase, Builder, Matching, Pattern, PatternFlags, Patterns};
use smppguard_filter::{Field, RulePack, Ruleset};
use smppguard_text::Normalizer;

/// Messages scanned per measurement.
const BATCH: usize = 2000;
/// Measurements per expression; the fastest counts (least disturbed by other tenants).
const REPS: usize = 5;

/// The values of every scanned field, per message, as the engine scans them.
struct Values {
    text: Vec<String>,
    decoded: Vec<String>,
    urls: Vec<Vec<String>>,
    domains: Vec<Vec<String>>,
    phones: Vec<Vec<String>>,
}

impl Values {
    fn new(msgs: &[Message], normalizer: &Normalizer) -> Self {
        let mut v = Values {
            text: Vec::new(),
            decoded: Vec::new(),
            urls: Vec::new(),
            domains: Vec::new(),
            phones: Vec::new(),
        };
        let (decoded, matched) = corpus::decoded_and_matched(msgs, normalizer);
        for (d, mt) in decoded.into_iter().zip(matched) {
            v.text.push(mt.as_str().to_owned());
            v.urls
                .push(mt.urls().iter().map(|u| u.value.clone()).collect());
            v.domains.push(
                mt.urls()
                    .iter()
                    .map(|u| host_of(&u.value).to_ascii_lowercase())
                    .collect(),
            );
            v.phones
                .push(mt.phones().iter().map(|p| p.value.clone()).collect());
            v.decoded.push(d);
        }
        v
    }

    /// Every value of `field` over the corpus, message by message.
    fn of(&self, field: Field) -> Vec<&str> {
        match field {
            Field::Text => self.text.iter().map(String::as_str).collect(),
            Field::Decoded => self.decoded.iter().map(String::as_str).collect(),
            Field::Url => self.urls.iter().flatten().map(String::as_str).collect(),
            Field::Domain => self.domains.iter().flatten().map(String::as_str).collect(),
            Field::Phone => self.phones.iter().flatten().map(String::as_str).collect(),
            Field::SourceAddr => vec!["ShopInfo"; BATCH],
            Field::DestinationAddr => vec!["886912345678"; BATCH],
            _ => Vec::new(),
        }
    }
}

/// The host of a URL, as the engine's domain field takes it.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    match host_port.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    }
}

/// CPU nanoseconds per message to scan `values` with `db`, fastest of [`REPS`].
fn cost(db: &BlockDatabase, values: &[&str]) -> f64 {
    let scratch = db.alloc_scratch().unwrap();
    let mut best = u128::MAX;
    for _ in 0..REPS {
        let t = ThreadTime::now();
        let mut n = 0usize;
        for v in values {
            db.scan(*v, &scratch, |_, _, _, _| {
                n += 1;
                Matching::Continue
            })
            .unwrap();
        }
        black_box(n);
        best = best.min(t.elapsed().as_nanos());
    }
    best as f64 / BATCH as f64
}

fn load(which: &str) -> Ruleset {
    let toml = match which {
        "default" => {
            return Ruleset::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/default"))
                .unwrap();
        }
        "bench" => BENCH_PACK.to_owned(),
        "1k" => generated_pack(1_000, 0xfeed + 1_000).toml,
        "10k" => generated_pack(10_000, 0xfeed + 10_000).toml,
        path => return Ruleset::load(path).unwrap(),
    };
    Ruleset::compile(RulePack::from_toml(&toml, "bench.toml").unwrap()).unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no arguments of its own.
    let which = std::env::var("SMPPGUARD_COST_PACK").unwrap_or_else(|_| "default".into());
    let top: usize = std::env::var("SMPPGUARD_COST_TOP")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let rs = load(&which);
    let normalizer = Normalizer::new(rs.normalize_options().clone());
    let msgs = messages(BATCH, 0x5eed);
    let values = Values::new(&msgs, &normalizer);
    let exprs = rs.expressions();

    // `SMPPGUARD_COST_TRY`: candidate rewrites, one per line, each compiled alone with
    // `SINGLEMATCH | UTF8` (a line starting with `ucp:`, `bytes:` or `ucp,caseless:`
    // changes the flags) and scanned over the text field.
    if let Ok(tries) = std::env::var("SMPPGUARD_COST_TRY") {
        let text = values.of(Field::Text);
        for line in tries.lines().filter(|l| !l.trim().is_empty()) {
            let (spec, expr) = match line.split_once(": ") {
                Some((s, e)) if !s.contains(['\\', '(', '|']) => (s, e),
                _ => ("", line),
            };
            let mut flags = PatternFlags::SINGLEMATCH | PatternFlags::UTF8;
            for f in spec.split(',') {
                match f.trim() {
                    "ucp" => flags |= PatternFlags::UCP,
                    "caseless" => flags |= PatternFlags::CASELESS,
                    "bytes" => flags -= PatternFlags::UTF8,
                    "dotall" => flags |= PatternFlags::DOTALL,
                    _ => {}
                }
            }
            let db: BlockDatabase = Pattern::with_flags(expr, flags).unwrap().build().unwrap();
            println!("{:>8.0}  {spec:<12} {expr}", cost(&db, &text));
        }
        return;
    }

    // The fixed cost of a Hyperscan call: a literal that never occurs.
    let never: BlockDatabase = Pattern::with_flags("\\x00\\x01never\\x02", PatternFlags::empty())
        .unwrap()
        .build()
        .unwrap();
    let text = values.of(Field::Text);
    println!(
        "pack {which}: {} expressions; empty scan of the text field: {:.0} ns/message",
        exprs.len(),
        cost(&never, &text)
    );

    // Each field's whole database.
    let exprs: Vec<_> = exprs.into_iter().filter(|e| e.scanned).collect();
    let mut fields: Vec<Field> = exprs.iter().map(|e| e.field).collect();
    fields.dedup();
    for &f in &fields {
        let patterns: Patterns = exprs
            .iter()
            .filter(|e| e.field == f)
            .enumerate()
            .map(|(i, e)| {
                let mut p = e.hyperscan_pattern();
                p.id = Some(i);
                p
            })
            .collect();
        let started = std::time::Instant::now();
        let db: BlockDatabase = patterns.build().unwrap();
        eprintln!(
            "field {} compiled in {:.1} s",
            f.as_str(),
            started.elapsed().as_secs_f64()
        );
        let vals = values.of(f);
        println!(
            "field {:<12} {:>4} expressions, {:>5} values: whole database {:>7.0} ns/message",
            f.as_str(),
            patterns.len(),
            vals.len(),
            cost(&db, &vals)
        );
    }

    // The text database by the language of its patterns (the prefix of their names),
    // and with its flags changed, to see what UTF-8 mode and UCP cost.
    let text_exprs: Vec<_> = exprs.iter().filter(|e| e.field == Field::Text).collect();
    let avg = text.iter().map(|t| t.len()).sum::<usize>() as f64 / text.len().max(1) as f64;
    println!("text field: {avg:.0} bytes per message on average");
    let group_of = |e: &smppguard_filter::ExpressionInfo<'_>| -> &'static str {
        let p = e.patterns.first().map(String::as_str).unwrap_or("");
        if p.starts_with("en") {
            "en"
        } else if p.starts_with("zh") {
            "zh"
        } else {
            "other"
        }
    };
    let (zh_texts, other_texts): (Vec<&str>, Vec<&str>) = text
        .iter()
        .partition(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    type Tweak = fn(PatternFlags) -> PatternFlags;
    let variants: [(&str, Tweak); 3] = [
        ("as compiled", |f| f),
        ("without UCP", |f| f - PatternFlags::UCP),
        ("without UTF8 and UCP", |f| {
            f - PatternFlags::UCP - PatternFlags::UTF8
        }),
    ];
    for group in ["en", "zh", "other", "all"] {
        for (label, tweak) in variants {
            let patterns: Patterns = text_exprs
                .iter()
                .filter(|e| group == "all" || group_of(e) == group)
                .enumerate()
                .map(|(i, e)| {
                    let mut p = e.hyperscan_pattern();
                    p.flags = tweak(p.flags);
                    p.id = Some(i);
                    p
                })
                .collect();
            if patterns.is_empty() {
                continue;
            }
            let db: BlockDatabase = patterns.build().unwrap();
            println!(
                "text {group:<5} {:>4} expressions, {label:<22}: {:>6.0} ns/message ({:.0} on the {} Chinese, {:.0} on the {} others)",
                patterns.len(),
                cost(&db, &text),
                cost(&db, &zh_texts) * BATCH as f64 / zh_texts.len().max(1) as f64,
                zh_texts.len(),
                cost(&db, &other_texts) * BATCH as f64 / other_texts.len().max(1) as f64,
                other_texts.len(),
            );
        }
    }

    // `SMPPGUARD_COST_CLASSES=1`: the text database's bytes and scan time with and
    // without each class of expression (a rough classification by syntax).
    if std::env::var("SMPPGUARD_COST_CLASSES").is_ok() {
        let class_of = |e: &smppguard_filter::ExpressionInfo<'_>| -> &'static str {
            let x = e.expression;
            if e.guard.is_none() {
                "no literal"
            } else if x.contains(".{") || x.contains(".*") || x.contains(".+") {
                "dot gap .{m,n}"
            } else if x.contains("\\s*")
                || x.contains("\\s+")
                || x.contains("\\s{")
                || x.contains("\\W{")
                || x.contains("]{")
                || x.contains("]*")
                || x.contains("]+")
            {
                "class gap \\s* [..]{m,n}"
            } else if x.contains("\\b") {
                "\\b words"
            } else if !x.contains(['(', '[', '|', '\\', '.', '?', '*', '+', '{']) {
                "literal"
            } else {
                "other"
            }
        };
        let build = |keep: &dyn Fn(&str) -> bool| -> Option<(BlockDatabase, usize)> {
            let patterns: Patterns = text_exprs
                .iter()
                .filter(|e| keep(class_of(e)))
                .enumerate()
                .map(|(i, e)| {
                    let mut p = e.hyperscan_pattern();
                    p.id = Some(i);
                    p
                })
                .collect();
            if patterns.is_empty() {
                return None;
            }
            let n = patterns.len();
            Some((patterns.build().unwrap(), n))
        };
        let row = |label: &str, keep: &dyn Fn(&str) -> bool| {
            if let Some((db, n)) = build(keep) {
                println!(
                    "{label:<40} {n:>4} expr. {:>9} bytes {:>6.0} ns/message",
                    db.size().unwrap(),
                    cost(&db, &text)
                );
            }
        };
        let classes = [
            "dot gap .{m,n}",
            "class gap \\s* [..]{m,n}",
            "no literal",
            "\\b words",
            "literal",
            "other",
        ];
        row("all", &|_| true);
        for c in classes {
            row(&format!("without {c}"), &|k| k != c);
        }
        for c in classes {
            row(&format!("only {c}"), &|k| k == c);
        }
        return;
    }

    // `SMPPGUARD_COST_LOO=en|zh|other|all`: each expression's share of its group's
    // database (the group's cost minus the cost without it), costliest first.
    if let Ok(group) = std::env::var("SMPPGUARD_COST_LOO") {
        let members: Vec<_> = text_exprs
            .iter()
            .filter(|e| group == "all" || group_of(e) == group)
            .collect();
        let build = |skip: Option<usize>| -> BlockDatabase {
            let patterns: Patterns = members
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != skip)
                .map(|(i, e)| {
                    let mut p = e.hyperscan_pattern();
                    p.id = Some(i);
                    p
                })
                .collect();
            patterns.build().unwrap()
        };
        let whole = cost(&build(None), &text);
        let mut rows: Vec<(f64, usize)> = (0..members.len())
            .map(|i| (whole - cost(&build(Some(i)), &text), i))
            .collect();
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!(
            "group {group}: {} expressions, {whole:.0} ns/message; share of each, costliest first:",
            members.len()
        );
        for (ns, i) in rows.iter().take(top) {
            let e = members[*i];
            let mut expr: String = e.expression.chars().take(90).collect();
            if expr.len() < e.expression.len() {
                expr.push('…');
            }
            println!("{ns:>8.0}  {:<40} {expr}", e.patterns.join(","));
        }
        return;
    }

    // Each expression alone (`SMPPGUARD_COST_TOP=0` skips this).
    if top == 0 {
        return;
    }
    let mut rows: Vec<(f64, &smppguard_filter::ExpressionInfo<'_>)> = exprs
        .iter()
        .map(|e| {
            let db: BlockDatabase = e.hyperscan_pattern().build().unwrap();
            (cost(&db, &values.of(e.field)), e)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let sum: f64 = rows.iter().map(|r| r.0).sum();
    println!("sum of the expressions alone: {sum:.0} ns/message; costliest first:");
    println!(
        "{:>8}  {:<7} {:<40} expression",
        "ns/msg", "field", "patterns"
    );
    for (ns, e) in rows.iter().take(top) {
        let mut expr: String = e.expression.chars().take(90).collect();
        if expr.len() < e.expression.len() {
            expr.push('…');
        }
        println!(
            "{ns:>8.0}  {:<7} {:<40} {expr}",
            e.field.as_str(),
            e.patterns.join(",")
        );
    }
}
