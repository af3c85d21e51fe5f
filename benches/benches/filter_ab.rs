//! Interleaved side-by-side scans, for a machine shared with other work: criterion measures
//! one benchmark after another, so load that comes and goes lands on some and not others.
//! Here every round scans the same 2000 messages (already decoded and normalized) once with
//! each contender, in a rotating order, and the medians over the rounds are compared;
//! contenders see the same load.
//!
//! Contenders per pack:
//! - the shipped default pack, compiled with `Ruleset::compile` ("engine"),
//!   `Ruleset::compile_ungated` (every optimization but literal gating: "ungated"),
//!   `Ruleset::compile_unsplit` (every optimization but split gap expressions: "unsplit") and
//!   `Ruleset::compile_plain` (no gating, no bytewise expressions, `.` scanned: "plain"), and, with
//!   `SMPPGUARD_AB_BEFORE=path`, an earlier version of the pack compiled plain ("before");
//! - the generated packs (`1k`, `10k`): engine, ungated, unsplit, plain and `regex::RegexSet` over the same
//!   expressions and the same match text, after checking that the engine and the RegexSet
//!   find the same rules in every message;
//! - and "pipeline": the engine's decode + normalize + scan from the raw `short_message`
//!   bytes, per message as the proxy calls it (`Engine::evaluate_part`); with the default
//!   pack also "two-step": the same through `decode_part_into` then `Engine::evaluate`.
//!
//! Run: `cargo bench -p smppguard-benches --bench filter_ab`; `SMPPGUARD_BENCH_PACKS`
//! (default `default,1k,10k`) and `SMPPGUARD_AB_ROUNDS` (default 21) choose the work.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "filter/corpus.rs"]
mod corpus;

use std::hint::black_box;

use corpus::{Baseline, generated_pack, messages};
use cpu_time::ThreadTime;
use smppguard_filter::{Engine, Envelope, Prepared, RulePack, Ruleset, Scratch};
use smppguard_text::{
    DecodeOptions, DecodedPart, MatchText, Normalizer, PartInput, decode_part_into,
};

const BATCH: usize = 2000;

/// Something that scans the whole batch once.
type Scan<'a> = Box<dyn FnMut() -> usize + 'a>;

/// The decoded and normalized batch for a ruleset's normalization.
fn prepare(rs: &Ruleset, msgs: &[corpus::Message]) -> (Vec<String>, Vec<MatchText>) {
    corpus::decoded_and_matched(msgs, &Normalizer::new(rs.normalize_options().clone()))
}

fn engine_scan<'a>(e: &'a Engine, decoded: &'a [String], matched: &'a [MatchText]) -> Scan<'a> {
    let env = Envelope {
        account: "acct1",
        source_addr: "ShopInfo",
        destination_addr: "886912345678",
        ..Envelope::default()
    };
    let mut scratch = Scratch::new();
    Box::new(move || {
        let mut n = 0;
        for (d, m) in decoded.iter().zip(matched) {
            n += e
                .scan(&env, &Prepared::from_match_text(d, m), &mut scratch)
                .matches
                .len();
        }
        n
    })
}

/// A benchmark message as the proxy hands it to the text layer.
fn part(m: &corpus::Message) -> PartInput<'_> {
    PartInput {
        data_coding: m.data_coding,
        short_message: &m.short_message,
        ..PartInput::default()
    }
}

/// Decode + normalize + scan from the raw `short_message` bytes, as the proxy calls it:
/// `Engine::evaluate_part`, one pass from the bytes to the match text.
fn engine_pipeline<'a>(e: &'a Engine, msgs: &'a [corpus::Message]) -> Scan<'a> {
    let env = Envelope::new("acct1");
    let mut scratch = Scratch::new();
    let opts = DecodeOptions::default();
    Box::new(move || {
        let mut n = 0;
        for m in msgs {
            let (v, _) = e.evaluate_part(&env, &part(m), &opts, &mut scratch);
            n += usize::from(v.is_blocking());
        }
        n
    })
}

/// The same work in two steps, as callers did before `Engine::evaluate_part`: decode the
/// part, then `Engine::evaluate` normalizes the decoded text and scans ("two-step").
fn engine_two_step<'a>(e: &'a Engine, msgs: &'a [corpus::Message]) -> Scan<'a> {
    let env = Envelope::new("acct1");
    let mut scratch = Scratch::new();
    let mut decoded = DecodedPart::default();
    let opts = DecodeOptions::default();
    Box::new(move || {
        let mut n = 0;
        for m in msgs {
            decode_part_into(&part(m), &opts, &mut decoded);
            n += usize::from(e.evaluate(&env, &decoded.text, &mut scratch).is_blocking());
        }
        n
    })
}

/// Runs every contender once per round, in a rotating order; prints the median and the
/// fastest round per message, and each median against the first contender's.
fn race(title: &str, mut contenders: Vec<(&str, Scan<'_>)>) {
    let rounds: usize = std::env::var("SMPPGUARD_AB_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(21);
    // One warm-up scan each.
    for (_, f) in contenders.iter_mut() {
        black_box(f());
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for r in 0..rounds {
        for k in 0..contenders.len() {
            let i = (k + r) % contenders.len();
            let t = ThreadTime::now();
            black_box((contenders[i].1)());
            times[i].push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{title}: {rounds} rounds, load average {}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    for (i, (name, _)) in contenders.iter().enumerate() {
        println!(
            "  {name:<10} median {:>7.0} ns/message ({:>5.2} M/s), fastest {:>7.0}; {:.2}x the median of {}",
            medians[i],
            1000.0 / medians[i],
            times[i][0],
            medians[i] / medians[0],
            contenders[0].0
        );
    }
}

fn main() {
    let packs = std::env::var("SMPPGUARD_BENCH_PACKS").unwrap_or_else(|_| "default,1k,10k".into());
    let selected = |p: &str| packs.split(',').any(|x| x.trim() == p);
    let msgs = messages(BATCH, 0x5eed);

    if selected("default") {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/default");
        let engine = Engine::new(Ruleset::compile(RulePack::load(dir).unwrap()).unwrap());
        let ungated = Engine::new(Ruleset::compile_ungated(RulePack::load(dir).unwrap()).unwrap());
        let unsplit = Engine::new(Ruleset::compile_unsplit(RulePack::load(dir).unwrap()).unwrap());
        let plain = Engine::new(Ruleset::compile_plain(RulePack::load(dir).unwrap()).unwrap());
        let before = std::env::var("SMPPGUARD_AB_BEFORE")
            .ok()
            .map(|p| Engine::new(Ruleset::compile_plain(RulePack::load(p).unwrap()).unwrap()));
        let (decoded, matched) = prepare(&engine.ruleset(), &msgs);
        let mut contenders = vec![
            ("engine", engine_scan(&engine, &decoded, &matched)),
            ("ungated", engine_scan(&ungated, &decoded, &matched)),
            ("unsplit", engine_scan(&unsplit, &decoded, &matched)),
            ("plain", engine_scan(&plain, &decoded, &matched)),
        ];
        if let Some(b) = &before {
            contenders.push(("before", engine_scan(b, &decoded, &matched)));
        }
        contenders.push(("pipeline", engine_pipeline(&engine, &msgs)));
        contenders.push(("two-step", engine_two_step(&engine, &msgs)));
        race("default pack, scan only", contenders);
    }

    for n in [1_000usize, 10_000] {
        if !selected(&format!("{}k", n / 1000)) {
            continue;
        }
        let pack = generated_pack(n, 0xfeed + n as u64);
        let engine = Engine::new(
            Ruleset::compile(RulePack::from_toml(&pack.toml, "g.toml").unwrap()).unwrap(),
        );
        let ungated = Engine::new(
            Ruleset::compile_ungated(RulePack::from_toml(&pack.toml, "g.toml").unwrap()).unwrap(),
        );
        let unsplit = Engine::new(
            Ruleset::compile_unsplit(RulePack::from_toml(&pack.toml, "g.toml").unwrap()).unwrap(),
        );
        let plain = Engine::new(
            Ruleset::compile_plain(RulePack::from_toml(&pack.toml, "g.toml").unwrap()).unwrap(),
        );
        let (base, _) = Baseline::new(&pack);
        let (decoded, matched) = prepare(&engine.ruleset(), &msgs);

        // The engine and the RegexSet agree on every message before anything is timed.
        let env = Envelope::default();
        let mut scratch = Scratch::new();
        let mut want = Vec::new();
        for (d, m) in decoded.iter().zip(&matched) {
            let v = engine.scan(&env, &Prepared::from_match_text(d, m), &mut scratch);
            let got: Vec<usize> = v
                .matches
                .iter()
                .map(|r| r.id[1..].parse().unwrap())
                .collect();
            base.rules(m.as_str(), &mut want);
            assert_eq!(got, want, "{}", m.as_str());
        }

        let mut out = Vec::new();
        let set_scan: Scan<'_> = Box::new(|| {
            let mut k = 0;
            for m in &matched {
                base.rules(m.as_str(), &mut out);
                k += out.len();
            }
            k
        });
        race(
            &format!(
                "generated {}k, scan only (engine and RegexSet agree on every message)",
                n / 1000
            ),
            vec![
                ("engine", engine_scan(&engine, &decoded, &matched)),
                ("ungated", engine_scan(&ungated, &decoded, &matched)),
                ("unsplit", engine_scan(&unsplit, &decoded, &matched)),
                ("plain", engine_scan(&plain, &decoded, &matched)),
                ("RegexSet", set_scan),
                ("pipeline", engine_pipeline(&engine, &msgs)),
            ],
        );
    }
}
