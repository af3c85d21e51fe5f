//! The text layer on the filter benchmark's message mix (`filter/corpus.rs`: 2000
//! generated messages, Chinese UCS-2 and English GSM 7-bit, ham and scam templates, some
//! with disguises): decode + normalize per message through the one call
//! `Normalizer::decode_normalize_into`, as `Engine::evaluate_part` runs it, and through
//! the two steps `decode_part_into` + `normalize_into`.
//!
//! Besides the averages over the batch it prints, per kind of message (the template's
//! shape), the count and the median cost of one call, so the kinds that leave the fast
//! paths stand out.
//!
//! Run: `cargo bench -p smppguard-benches --bench text_mix`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "filter/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::hint::black_box;

use cpu_time::ThreadTime;
use smppguard_text::{
    DecodeOptions, DecodedPart, MatchText, NormalizeOptions, Normalizer, PartInput,
    decode_part_into,
};

const BATCH: usize = 2000;

fn part(m: &corpus::Message) -> PartInput<'_> {
    PartInput {
        data_coding: m.data_coding,
        short_message: &m.short_message,
        ..PartInput::default()
    }
}

/// The shape of a message: its decoded text with runs of ASCII letters and digits, and of
/// Han characters, each written as one symbol, cut to 24 symbols.
fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut last = ' ';
    for c in text.chars() {
        let k = if c.is_ascii_alphanumeric() {
            'a'
        } else if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            '漢'
        } else {
            c
        };
        if (k == 'a' || k == '漢') && k == last {
            continue;
        }
        out.push(k);
        last = k;
        if out.chars().count() >= 24 {
            break;
        }
    }
    out
}

fn main() {
    let msgs = corpus::messages(BATCH, 0x5eed);
    let normalizer = Normalizer::new(NormalizeOptions::default());
    let opts = DecodeOptions::default();
    let mut decoded = DecodedPart::default();
    let mut text = MatchText::default();
    let rounds: usize = std::env::var("SMPPGUARD_TEXT_MIX_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(31);

    // A loop over the batch for a profiler: `SMPPGUARD_TEXT_MIX_PROFILE=<seconds>`.
    if let Some(secs) = std::env::var("SMPPGUARD_TEXT_MIX_PROFILE")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        // `SMPPGUARD_TEXT_MIX_KIND=<text>`: only the kinds whose shape contains it.
        let kind = std::env::var("SMPPGUARD_TEXT_MIX_KIND").unwrap_or_default();
        let msgs: Vec<&corpus::Message> = msgs
            .iter()
            .filter(|m| {
                normalizer.decode_normalize_into(&part(m), &opts, &mut decoded, &mut text);
                shape(&decoded.text).contains(kind.as_str())
            })
            .collect();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while std::time::Instant::now() < until {
            for m in &msgs {
                normalizer.decode_normalize_into(&part(m), &opts, &mut decoded, &mut text);
                black_box(text.len());
            }
        }
        return;
    }

    // Per message: the fastest of `rounds` timings of 16 calls.
    let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for m in &msgs {
        let p = part(m);
        let mut best = f64::MAX;
        for _ in 0..rounds.min(9) {
            let t = ThreadTime::now();
            for _ in 0..16 {
                normalizer.decode_normalize_into(&p, &opts, &mut decoded, &mut text);
                black_box(text.len());
            }
            best = best.min(t.elapsed().as_nanos() as f64 / 16.0);
        }
        by_kind.entry(shape(&decoded.text)).or_default().push(best);
    }
    let mut kinds: Vec<(String, usize, f64, f64)> = by_kind
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(f64::total_cmp);
            let total: f64 = v.iter().sum();
            (k, v.len(), v[v.len() / 2], total)
        })
        .collect();
    kinds.sort_by(|a, b| b.3.total_cmp(&a.3));
    let all: f64 = kinds.iter().map(|k| k.3).sum();
    println!(
        "text mix: {BATCH} messages, one call, fastest of several per message: {:.0} ns/message on average",
        all / BATCH as f64
    );
    println!("  kind (shape of the text)                  count  median ns  share of time");
    for (k, n, med, total) in &kinds {
        println!(
            "  {:<40} {n:>6} {med:>10.0} {:>9.1} %",
            k,
            100.0 * total / all
        );
    }

    // The whole batch, interleaved: one call against two steps.
    let mut one = Vec::new();
    let mut two = Vec::new();
    for r in 0..rounds {
        for k in 0..2 {
            let t = ThreadTime::now();
            if (k + r) % 2 == 0 {
                for m in &msgs {
                    normalizer.decode_normalize_into(&part(m), &opts, &mut decoded, &mut text);
                    black_box(text.len());
                }
                one.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
            } else {
                for m in &msgs {
                    decode_part_into(&part(m), &opts, &mut decoded);
                    normalizer.normalize_into(&decoded.text, &mut text);
                    black_box(text.len());
                }
                two.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
            }
        }
    }
    one.sort_by(f64::total_cmp);
    two.sort_by(f64::total_cmp);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "batch, {rounds} rounds interleaved (load average {}): one call median {:.0} ns/message, two steps {:.0}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" "),
        one[one.len() / 2],
        two[two.len() / 2]
    );
}
