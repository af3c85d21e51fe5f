//! Filter compile time and memory per pack size, and list lookups: a measurement binary,
//! not a criterion bench, because compiling 100k expressions takes minutes and must run
//! once. Each measurement runs in a child process so peak memory is its own.
//!
//! Run: `cargo bench -p smppguard-benches --bench filter_compile` (1k and 10k, lists);
//! `SMPPGUARD_BENCH_100K=1` adds the 100k pack and the RegexSet attempt at 100k
//! (`SMPPGUARD_REGEXSET_LIMIT_S`, default 600, bounds that attempt).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "filter/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use corpus::{Rng, generated_pack, regex_syntax};
use regex::RegexSetBuilder;
use smppguard_filter::{Engine, Envelope, Extracted, Prepared, RulePack, Ruleset, Scratch};

/// Resident and peak resident memory of this process, in KiB.
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Child: compile a generated pack with the engine.
fn engine_child(n: usize) {
    let pack = generated_pack(n, 0xfeed + n as u64);
    let (rss0, _) = rss();
    let started = Instant::now();
    let rp = RulePack::from_toml(&pack.toml, "gen.toml").unwrap();
    let load = started.elapsed();
    let rs = Ruleset::compile(rp).unwrap();
    let total = started.elapsed();
    let (rss1, peak) = rss();
    let st = rs.stats();
    println!(
        "| {n} | hyperscan engine | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} | {:.0} |",
        st.rules,
        load.as_secs_f64(),
        st.compile_time.as_secs_f64(),
        total.as_secs_f64(),
        st.database_bytes as f64 / (1024.0 * 1024.0),
        st.scratch_bytes as f64 / (1024.0 * 1024.0),
        mib(rss1.saturating_sub(rss0)),
        mib(peak.saturating_sub(rss0)),
    );
    eprintln!(
        "{n}: {} expressions, {} unguarded, {} gated group databases",
        st.expressions, st.unguarded_expressions, st.gated_groups
    );
}

/// Child: build a RegexSet over the same expressions, then warm its lazy DFA on a few
/// hundred messages so the memory it settles at is counted.
fn regexset_child(n: usize) {
    let pack = generated_pack(n, 0xfeed + n as u64);
    let patterns: Vec<String> = pack.rules.iter().flatten().map(regex_syntax).collect();
    let (rss0, _) = rss();
    let started = Instant::now();
    let set = RegexSetBuilder::new(&patterns)
        .size_limit(1 << 31)
        .dfa_size_limit(1 << 30)
        .build()
        .unwrap();
    let compile = started.elapsed();
    let (rss1, _) = rss();
    let msgs = corpus::messages(300, 0x5eed);
    let mut hits = 0usize;
    for m in &msgs {
        // Scanning the UTF-16 bytes lossily is enough to exercise the DFA cache.
        let text = String::from_utf8_lossy(&m.short_message);
        hits += set.matches(&text).iter().count();
    }
    black_box(hits);
    let (rss2, peak) = rss();
    println!(
        "| {n} | regex::RegexSet | {} | - | {:.1} | {:.1} | - | - | {:.0} (after scans: {:.0}) | {:.0} |",
        pack.rules.len(),
        compile.as_secs_f64(),
        compile.as_secs_f64(),
        mib(rss1.saturating_sub(rss0)),
        mib(rss2.saturating_sub(rss0)),
        mib(peak.saturating_sub(rss0)),
    );
}

/// Child: a domain list of `n` entries in a hash set (through the engine) and, for
/// comparison, the same entries as a Hyperscan database over the `domain` field.
fn list_child(n: usize, hyperscan: bool) {
    let dir = std::env::temp_dir().join(format!("smppguard-bench-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut r = Rng::new(7);
    let mut entries = String::with_capacity(n * 16);
    let mut names = Vec::with_capacity(16);
    for i in 0..n {
        let name = format!("{}{i}.{}", r.alnum(6), ["com", "net", "xyz", "top"][i % 4]);
        if names.len() < 16 {
            names.push(name.clone());
        }
        entries.push_str(&name);
        entries.push('\n');
    }
    std::fs::write(dir.join("domains.txt"), &entries).unwrap();
    let mut toml = String::from("format = 1\n[pack]\nname = \"lists\"\nversion = \"1\"\n");
    if hyperscan {
        let lits: Vec<String> = entries.lines().map(|d| format!("'{d}'")).collect();
        toml.push_str(&format!(
            "[[rule]]\nid = \"l\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\npatterns.d = {{ literal = [{}], field = \"domain\" }}\n",
            lits.join(", ")
        ));
    } else {
        toml.push_str("[lists.d]\nkind = \"domain\"\nfile = \"domains.txt\"\n");
        toml.push_str("[[rule]]\nid = \"l\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\npatterns.d = { list = \"d\" }\n");
    }
    std::fs::write(dir.join("pack.toml"), toml).unwrap();
    drop(entries);
    let (rss0, _) = rss();
    let started = Instant::now();
    let engine = Engine::load(dir.join("pack.toml")).unwrap();
    let build = started.elapsed();
    let (rss1, peak) = rss();

    // A message with three URLs, one of them listed: the lookups of one message.
    let urls: Vec<Extracted> = [
        format!("https://www.{}/x", names[3]),
        "https://example.org/a".to_string(),
        "http://cdn.static.example.net/b".to_string(),
    ]
    .into_iter()
    .map(|value| Extracted {
        value,
        range: 0..0,
        match_range: 0..0,
    })
    .collect();
    let msg = Prepared {
        urls: &urls,
        ..Prepared::plain("see the links")
    };
    let env = Envelope::new("a");
    let mut scratch = Scratch::new();
    let rounds = 200_000u32;
    for _ in 0..1000 {
        black_box(engine.scan(&env, &msg, &mut scratch));
    }
    let t = Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        hits += engine.scan(&env, &msg, &mut scratch).matches.len();
    }
    let per = t.elapsed() / rounds;
    assert_eq!(hits, rounds as usize, "the listed domain matches");
    std::fs::remove_dir_all(&dir).unwrap();
    println!(
        "| {n} | {} | {:.2} | {:.0} | {:.0} | {:.2} |",
        if hyperscan {
            "hyperscan literals (domain field)"
        } else {
            "hash set"
        },
        build.as_secs_f64(),
        mib(rss1.saturating_sub(rss0)),
        mib(peak.saturating_sub(rss0)),
        per.as_secs_f64() * 1e6,
    );
}

/// Runs this binary as a child with `args`, bounded by `limit`; its stdout is the result.
fn child(args: &[&str], limit: Duration) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    let mut c = Command::new(exe)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = c.try_wait().unwrap() {
            let mut out = String::new();
            use std::io::Read;
            c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            return status.success().then_some(out);
        }
        if started.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let kind = args[i + 1].as_str();
        let n: usize = args[i + 2].parse().unwrap();
        match kind {
            "engine" => engine_child(n),
            "regexset" => regexset_child(n),
            "list" => list_child(n, false),
            "list-hs" => list_child(n, true),
            _ => panic!("unknown child {kind}"),
        }
        return;
    }
    let big = std::env::var_os("SMPPGUARD_BENCH_100K").is_some();
    let regex_limit = std::env::var("SMPPGUARD_REGEXSET_LIMIT_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(600), Duration::from_secs);
    let hour = Duration::from_secs(3600);

    println!("## compile time and memory per pack size");
    println!();
    println!(
        "| expressions | engine | rules | load+validate s | compile s | total s | database MiB | scratch MiB | RSS growth MiB | peak RSS growth MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut sizes = vec![1_000usize, 10_000];
    if big {
        sizes.push(100_000);
    }
    for &n in &sizes {
        let ns = n.to_string();
        match child(&["--child", "engine", &ns], hour) {
            Some(out) => print!("{out}"),
            None => println!("| {n} | hyperscan engine | failed or over 1 h |"),
        }
        let limit = if n > 10_000 { regex_limit } else { hour };
        match child(&["--child", "regexset", &ns], limit) {
            Some(out) => print!("{out}"),
            None => println!(
                "| {n} | regex::RegexSet | - | - | > {} (stopped) | - | - | - | - | - |",
                limit.as_secs()
            ),
        }
    }

    println!();
    println!("## domain lists: build, memory, and lookups of a message with three URLs");
    println!();
    println!(
        "| entries | structure | build s | RSS growth MiB | peak RSS growth MiB | µs per message |"
    );
    println!("|---|---|---|---|---|---|");
    for (kind, n) in [
        ("list", 1_000_000usize),
        ("list", 100_000),
        ("list-hs", 100_000),
    ] {
        let ns = n.to_string();
        match child(&["--child", kind, &ns], hour) {
            Some(out) => print!("{out}"),
            None => println!("| {n} | {kind} | failed |"),
        }
    }
}
