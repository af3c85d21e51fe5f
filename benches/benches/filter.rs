//! Filter hot path: decode + normalize + scan per message, for the default pack
//! (`rules/default`), a realistic ~60-rule pack written for the benchmark, and generated
//! packs of 1k and 10k expressions (100k with `SMPPGUARD_BENCH_100K=1`), against
//! `regex::RegexSet` on the same expressions and messages.
//!
//! Targets (one core): ≥ 1 M messages/s with the realistic pack; ≥ 250 k/s with 10k
//! expressions and at least 5× RegexSet. Compile time and memory per size come from the
//! `filter_compile` bench binary.
//!
//! Times are the benchmark thread's CPU time (see `ThreadCpu`), so the figures hold on a
//! shared machine; criterion's "time" column is CPU time.
//!
//! Run: `cargo bench -p smppguard-benches --bench filter`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "filter/corpus.rs"]
mod corpus;
#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use std::hint::black_box;
use std::time::{Duration, Instant};

use corpus::{BENCH_PACK, Baseline, Message, generated_pack, messages};
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use smppguard_filter::{Engine, Envelope, Prepared, RulePack, Ruleset, Scratch};
use smppguard_text::{DecodeOptions, DecodedPart, MatchText, PartInput, decode_part_into};
use thread_cpu::ThreadCpu;

/// Messages per benchmark iteration: throughput is reported per message.
const BATCH: usize = 2000;

fn envelope() -> Envelope<'static> {
    Envelope {
        account: "acct1",
        source_addr: "ShopInfo",
        destination_addr: "886912345678",
        ..Envelope::default()
    }
}

fn engine(toml: &str) -> (Engine, Duration) {
    let started = Instant::now();
    let pack = RulePack::from_toml(toml, "bench.toml").unwrap();
    let rs = Ruleset::compile(pack).unwrap();
    (Engine::new(rs), started.elapsed())
}

/// Decoded and normalized messages, for the scan-only comparisons.
struct Prepped {
    decoded: Vec<String>,
    matched: Vec<MatchText>,
}

fn prep(msgs: &[Message], engine: &Engine) -> Prepped {
    let normalizer = smppguard_text::Normalizer::new(engine.ruleset().normalize_options().clone());
    let (decoded, matched) = corpus::decoded_and_matched(msgs, &normalizer);
    Prepped { decoded, matched }
}

/// Checks that the engine and the RegexSet find the same rules on every message.
fn agree(engine: &Engine, base: &Baseline, p: &Prepped) -> (usize, usize) {
    let env = envelope();
    let mut scratch = Scratch::new();
    let (mut differ, mut matched) = (0, 0);
    let mut want = Vec::new();
    for (d, m) in p.decoded.iter().zip(&p.matched) {
        let v = engine.scan(&env, &Prepared::from_match_text(d, m), &mut scratch);
        let got: Vec<usize> = v
            .matches
            .iter()
            .map(|r| r.id[1..].parse().unwrap())
            .collect();
        base.rules(m.as_str(), &mut want);
        matched += usize::from(!got.is_empty());
        differ += usize::from(got != want);
    }
    (differ, matched)
}

fn pipeline(g: &mut BenchmarkGroup<'_, ThreadCpu>, name: &str, engine: &Engine, msgs: &[Message]) {
    let opts = DecodeOptions::default();
    let env = envelope();
    let mut scratch = Scratch::new();
    g.bench_function(format!("{name}/decode+normalize+scan"), |b| {
        b.iter(|| {
            let mut blocked = 0usize;
            for m in msgs {
                let part = PartInput {
                    data_coding: m.data_coding,
                    short_message: &m.short_message,
                    ..PartInput::default()
                };
                let (v, _) = engine.evaluate_part(&env, &part, &opts, &mut scratch);
                blocked += usize::from(v.is_blocking());
            }
            black_box(blocked)
        })
    });
}

fn scan_only(g: &mut BenchmarkGroup<'_, ThreadCpu>, name: &str, engine: &Engine, p: &Prepped) {
    let env = envelope();
    let mut scratch = Scratch::new();
    g.bench_function(format!("{name}/scan"), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for (d, m) in p.decoded.iter().zip(&p.matched) {
                let v = engine.scan(&env, &Prepared::from_match_text(d, m), &mut scratch);
                n += v.matches.len();
            }
            black_box(n)
        })
    });
}

fn regexset(
    g: &mut BenchmarkGroup<'_, ThreadCpu>,
    name: &str,
    base: &Baseline,
    msgs: &[Message],
    p: &Prepped,
    normalizer: &smppguard_text::Normalizer,
) {
    let opts = DecodeOptions::default();
    let mut decoded = DecodedPart::default();
    let mut text = MatchText::default();
    let mut out = Vec::new();
    g.bench_function(format!("{name}/regexset/decode+normalize+scan"), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in msgs {
                let part = PartInput {
                    data_coding: m.data_coding,
                    short_message: &m.short_message,
                    ..PartInput::default()
                };
                decode_part_into(&part, &opts, &mut decoded);
                normalizer.normalize_into(&decoded.text, &mut text);
                base.rules(text.as_str(), &mut out);
                n += out.len();
            }
            black_box(n)
        })
    });
    g.bench_function(format!("{name}/regexset/scan"), |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &p.matched {
                base.rules(m.as_str(), &mut out);
                n += out.len();
            }
            black_box(n)
        })
    });
}

/// The packs to measure: `SMPPGUARD_BENCH_PACKS` (comma-separated: `default`, `bench`,
/// `lengths`, `combo`, `1k`, `10k`, `100k`) or all but `100k`; `SMPPGUARD_BENCH_100K=1` adds `100k`.
fn selected(name: &str) -> bool {
    match std::env::var("SMPPGUARD_BENCH_PACKS") {
        Ok(list) => list.split(',').any(|p| p.trim() == name),
        Err(_) => name != "100k" || std::env::var_os("SMPPGUARD_BENCH_100K").is_some(),
    }
}

/// Reports how many messages a pack blocks, and how many of the scam templates.
fn report_blocking(name: &str, engine: &Engine, msgs: &[Message]) {
    let env = envelope();
    let mut s = Scratch::new();
    let (mut blocked, mut scam_blocked, mut scams) = (0, 0, 0);
    for m in msgs {
        let part = PartInput {
            data_coding: m.data_coding,
            short_message: &m.short_message,
            ..PartInput::default()
        };
        let d = smppguard_text::decode_part(&part, &DecodeOptions::default());
        let v = engine.evaluate(&env, &d.text, &mut s);
        blocked += usize::from(v.is_blocking());
        scams += usize::from(m.scam);
        scam_blocked += usize::from(m.scam && v.is_blocking());
    }
    eprintln!(
        "{name}: {blocked} of {} messages blocked; {scam_blocked} of {scams} scam templates",
        msgs.len()
    );
}

/// The realistic packs: the shipped default pack and the benchmark's own.
fn realistic(c: &mut Criterion<ThreadCpu>, msgs: &[Message]) {
    let default_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/default");
    let mut packs: Vec<(&str, Engine)> = Vec::new();
    if selected("default") && std::path::Path::new(default_dir).is_dir() {
        let started = Instant::now();
        let e = Engine::load(default_dir).unwrap();
        report_compile("default_pack", &e, started.elapsed());
        packs.push(("default_pack", e));
    }
    if selected("bench") {
        let (e, t) = engine(BENCH_PACK);
        report_compile("bench_pack", &e, t);
        packs.push(("bench_pack", e));
    }
    for (name, e) in &packs {
        report_blocking(name, e, msgs);
        let p = prep(msgs, e);
        let mut g = c.benchmark_group("filter");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(3));
        g.sample_size(20);
        pipeline(&mut g, name, e, msgs);
        scan_only(&mut g, name, e, &p);
        // The same scans with a thread-local scratch instead of the caller's.
        let env = envelope();
        g.bench_function(format!("{name}/scan_thread_scratch"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for (d, m) in p.decoded.iter().zip(&p.matched) {
                    let v = e.scan_with_thread_scratch(&env, &Prepared::from_match_text(d, m));
                    n += v.matches.len();
                }
                black_box(n)
            })
        });
        g.finish();
    }
}

fn report_compile(name: &str, e: &Engine, t: Duration) {
    let st = e.ruleset().stats().clone();
    eprintln!(
        "{name}: {} rules, {} expressions, loaded and compiled in {:.2} s, database {} KiB, scratch {} KiB",
        st.rules,
        st.expressions,
        t.as_secs_f64(),
        st.database_bytes / 1024,
        st.scratch_bytes / 1024
    );
}

/// Hyperscan logical combinations against the engine's own evaluator, on a pack both can
/// express: 60 rules of the shape `a and b and (c or not d)` over words that occur in the
/// messages. The combination database does only the matching (no verdict, no evidence),
/// so it is the best case for combinations.
fn combinations(c: &mut Criterion<ThreadCpu>, msgs: &[Message]) {
    use hyperscan::{BlockDatabase, Builder, Matching, Pattern, PatternFlags, Patterns};
    const WORDS: &[&str] = &[
        "信用卡",
        "额度",
        "提额",
        "账户",
        "验证码",
        "包裹",
        "贷款",
        "客服",
        "银行",
        "点数",
        "account",
        "verify",
        "package",
        "fee",
        "gift",
        "card",
        "code",
        "delivery",
        "line",
        "https",
    ];
    let mut r = corpus::Rng::new(99);
    let mut toml = String::from("format = 1\n[pack]\nname = \"combo\"\nversion = \"1\"\n");
    let mut hs = Vec::new();
    for i in 0..60usize {
        let w: Vec<&str> = (0..4).map(|_| *r.pick(WORDS)).collect();
        toml.push_str(&format!(
            "[[rule]]\nid = \"c{i}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\nwhen = \"a and b and (c or not d)\"\npatterns.a = {{ literal = \"{}\" }}\npatterns.b = {{ literal = \"{}\" }}\npatterns.c = {{ literal = \"{}\" }}\npatterns.d = {{ literal = \"{}\" }}\n",
            w[0], w[1], w[2], w[3]
        ));
        let base = i * 5;
        for (k, word) in w.iter().enumerate() {
            let mut p = Pattern::with_flags(
                regex::escape(word),
                PatternFlags::UTF8 | PatternFlags::QUIET,
            )
            .unwrap();
            p.id = Some(base + k);
            hs.push(p);
        }
        let mut comb = Pattern::with_flags(
            format!("{base} & {} & ({} | !{})", base + 1, base + 2, base + 3),
            PatternFlags::COMBINATION,
        )
        .unwrap();
        comb.id = Some(100_000 + i);
        hs.push(comb);
    }
    let (eng, _) = engine(&toml);
    let db: BlockDatabase = Patterns(hs).build().unwrap();
    let scratch = db.alloc_scratch().unwrap();
    let p = prep(msgs, &eng);

    // Both agree on which rules match each message.
    let env = envelope();
    let mut s = Scratch::new();
    let mut matched = 0usize;
    for (d, m) in p.decoded.iter().zip(&p.matched) {
        let v = eng.scan(&env, &Prepared::from_match_text(d, m), &mut s);
        let mut got: Vec<usize> = v
            .matches
            .iter()
            .map(|x| x.id[1..].parse().unwrap())
            .collect();
        let mut want = Vec::new();
        db.scan(m.as_str(), &scratch, |id, _, _, _| {
            want.push(id as usize - 100_000);
            Matching::Continue
        })
        .unwrap();
        got.sort_unstable();
        want.sort_unstable();
        want.dedup();
        assert_eq!(got, want, "{}", m.as_str());
        matched += usize::from(!got.is_empty());
    }
    eprintln!(
        "combinations: 60 rules, {matched} of {} messages match; both agree",
        msgs.len()
    );

    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(20);
    scan_only(&mut g, "combo_pack", &eng, &p);
    g.bench_function("combo_pack/hyperscan_combinations", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &p.matched {
                db.scan(m.as_str(), &scratch, |_, _, _, _| {
                    n += 1;
                    Matching::Continue
                })
                .unwrap();
            }
            black_box(n)
        })
    });
    g.finish();
}

/// Scan cost against message length, with the default pack: the decoded corpus messages
/// joined into texts of about `len` bytes, scanned (already normalized) one after another.
fn lengths(c: &mut Criterion<ThreadCpu>, msgs: &[Message]) {
    let default_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/default");
    if !selected("lengths") || !std::path::Path::new(default_dir).is_dir() {
        return;
    }
    let e = Engine::load(default_dir).unwrap();
    let p = prep(msgs, &e);
    let normalizer = smppguard_text::Normalizer::new(e.ruleset().normalize_options().clone());
    let mut g = c.benchmark_group("filter-length");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(10);
    for len in [64usize, 256, 1024, 4096] {
        // 200 texts of about `len` bytes each, cut from the corpus stream.
        let mut texts = Vec::new();
        let mut cur = String::new();
        for d in p.decoded.iter().cycle() {
            for ch in d.chars().chain([' ']) {
                cur.push(ch);
                if cur.len() >= len {
                    texts.push(std::mem::take(&mut cur));
                }
            }
            if texts.len() >= 200 {
                break;
            }
        }
        let matched: Vec<MatchText> = texts.iter().map(|t| normalizer.normalize(t)).collect();
        let env = envelope();
        let mut scratch = Scratch::new();
        g.throughput(Throughput::Bytes(
            (texts.iter().map(String::len).sum::<usize>()) as u64,
        ));
        g.bench_function(format!("default_pack/scan/{len}B"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for (d, m) in texts.iter().zip(&matched) {
                    let v = e.scan(&env, &Prepared::from_match_text(d, m), &mut scratch);
                    n += v.matches.len();
                }
                black_box(n)
            })
        });
        g.bench_function(format!("default_pack/normalize+scan/{len}B"), |b| {
            b.iter(|| {
                let mut n = 0usize;
                for t in &texts {
                    n += e.evaluate(&env, t, &mut scratch).matches.len();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let msgs = messages(BATCH, 0x5eed);
    realistic(c, &msgs);
    lengths(c, &msgs);
    if selected("combo") {
        combinations(c, &msgs);
    }

    for n in [1_000usize, 10_000, 100_000] {
        if !selected(&format!("{}k", n / 1000)) {
            continue;
        }
        let pack = generated_pack(n, 0xfeed + n as u64);
        let (eng, t) = engine(&pack.toml);
        let name = format!("gen_{}k", n / 1000);
        report_compile(&name, &eng, t);
        let p = prep(&msgs, &eng);
        let mut g = c.benchmark_group("filter");
        g.throughput(Throughput::Elements(BATCH as u64));
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(3));
        g.sample_size(10);
        pipeline(&mut g, &name, &eng, &msgs);
        scan_only(&mut g, &name, &eng, &p);
        if n <= 10_000 {
            let (base, bt) = Baseline::new(&pack);
            let (differ, matched) = agree(&eng, &base, &p);
            eprintln!(
                "{n} expressions: RegexSet compiled in {:.1} s; {matched} of {} messages match; engine and RegexSet differ on {differ}",
                bt.as_secs_f64(),
                msgs.len()
            );
            let normalizer =
                smppguard_text::Normalizer::new(eng.ruleset().normalize_options().clone());
            regexset(&mut g, &name, &base, &msgs, &p, &normalizer);
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench
}
criterion_main!(benches);
