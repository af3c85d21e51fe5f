//! `smppguard rules eval`: measure a rule pack on labelled corpora.
//!
//! Every message of each `label<TAB>text` file is judged as the proxy sees it: a fixed
//! test account and addresses, the data_coding an ESME would use, and the decoded text,
//! which the engine normalizes with the pack's options. The output gives, per file and
//! over all files, the actions per label, precision and recall of blocking for each
//! positive label, and the false-positive rate on ham (see `tally` for the
//! definitions). `--baseline` adds the same pack run as a raw-byte gateway would run it
//! (see `baseline`), side by side.

use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use smppguard_filter::{ActionKind, Engine, Envelope, Scratch};

mod baseline;
mod corpus;
mod tally;

use baseline::Baseline;
use corpus::Reader;
use tally::{ByRule, Tally};

/// Files at least this large get a progress bar (on a terminal).
const PROGRESS_MIN_BYTES: u64 = 256 * 1024;

/// Arguments of `smppguard rules eval`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The rule pack: a .toml file or a directory of them.
    #[arg(long = "rules", value_name = "PATH")]
    rules: PathBuf,
    /// Labelled corpora: `label<TAB>text` per line, UTF-8, with `\\`, `\t`, `\n` and
    /// `\r` escaped in the text. Labels: ham, spam, smish, fraud (others are counted).
    #[arg(value_name = "FILE.tsv", required = true)]
    files: Vec<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write every miss (a positive not blocked, a ham blocked) to FILE as
    /// `label<TAB>action<TAB>rule<TAB>text`, under a `# <corpus>` line per corpus.
    #[arg(long, value_name = "FILE")]
    misses: Option<PathBuf>,
    /// Also run the pack as a raw-byte gateway would: no decoding, no normalization,
    /// each part of a multi-part message alone.
    #[arg(long)]
    baseline: bool,
    /// The account (system_id) the messages are judged as coming from.
    #[arg(long, default_value = "eval")]
    account: String,
}

/// Results of one corpus.
struct FileResult {
    path: PathBuf,
    pack: Tally,
    baseline: Option<Tally>,
    by_rule: ByRule,
    elapsed: Duration,
}

/// Runs `smppguard rules eval`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let engine = match Engine::load(&args.rules) {
        Ok(e) => e,
        Err(e) => return super::report_invalid(&e),
    };
    let mut baseline = match args.baseline.then(|| Baseline::load(&args.rules)) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => return super::report_invalid(&e),
    };
    let mut misses = match &args.misses {
        Some(p) => Some(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let mut scratch = Scratch::new();
    let mut results = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let mut judge = Judge {
            engine: &engine,
            scratch: &mut scratch,
            baseline: baseline.as_mut(),
            account: &args.account,
        };
        let r = eval_file(path, &mut judge, misses.as_mut())?;
        results.push(r);
    }
    if let (Some(w), Some(p)) = (misses.as_mut(), &args.misses) {
        w.flush()
            .with_context(|| format!("writing {}", p.display()))?;
    }

    let ruleset = engine.ruleset();
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = to_json(
            &args,
            ruleset.name(),
            ruleset.pack_version(),
            &ruleset.version().to_string(),
            &results,
        );
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "rule pack {} ({} {}, ruleset {})",
            args.rules.display(),
            ruleset.name(),
            ruleset.pack_version(),
            ruleset.version()
        )?;
        for r in &results {
            writeln!(out)?;
            render_file(&mut out, r)?;
        }
        if results.len() > 1 {
            writeln!(out)?;
            render_file(&mut out, &aggregate(&results))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Judges messages as the proxy would, and optionally as the baseline would.
struct Judge<'a> {
    engine: &'a Engine,
    scratch: &'a mut Scratch,
    baseline: Option<&'a mut Baseline>,
    account: &'a str,
}

impl Judge<'_> {
    /// The pack's action and deciding rule, and the baseline's action.
    fn judge(&mut self, text: &str) -> (ActionKind, Option<String>, Option<ActionKind>) {
        let sms = baseline::encode(text);
        let alphabet = sms.alphabet();
        let multipart = sms.user_data().len() > alphabet.single_capacity();
        let env = Envelope {
            account: self.account,
            source_addr: "447700900001",
            destination_addr: "447700900002",
            data_coding: alphabet.data_coding(),
            esm_class: if multipart { 0x40 } else { 0 },
            ..Envelope::default()
        };
        let v = self.engine.evaluate(&env, text, self.scratch);
        let base = self.baseline.as_mut().map(|b| b.judge(&env, text).0);
        (
            v.action.kind(),
            v.decisive().map(|m| m.id.to_string()),
            base,
        )
    }
}

fn eval_file(
    path: &Path,
    judge: &mut Judge<'_>,
    mut misses: Option<&mut BufWriter<File>>,
) -> Result<FileResult> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress(path, len);
    let mut reader = Reader::new(BufReader::new(file), path);
    let mut pack = Tally::default();
    let mut by_rule = ByRule::default();
    let mut base = judge.baseline.is_some().then(Tally::default);
    if let Some(w) = misses.as_mut() {
        writeln!(w, "# {}", path.display())?;
    }
    let started = Instant::now();
    while let Some(rec) = reader.next_record()? {
        let (action, rule, base_action) = judge.judge(&rec.text);
        pack.add(&rec.label, action);
        if let Some(rule) = &rule {
            by_rule.add(rule, &rec.label);
        }
        if let (Some(t), Some(a)) = (base.as_mut(), base_action) {
            t.add(&rec.label, a);
        }
        if let Some(w) = misses.as_mut()
            && tally::is_miss(&rec.label, action)
        {
            writeln!(
                w,
                "{}\t{}\t{}\t{}",
                rec.label,
                action.as_str(),
                rule.as_deref().unwrap_or("-"),
                corpus::escape(&rec.text)
            )?;
        }
        if rec.line % 256 == 0 {
            bar.set_position(reader.bytes_read());
        }
    }
    bar.finish_and_clear();
    Ok(FileResult {
        path: path.to_path_buf(),
        pack,
        baseline: base,
        by_rule,
        elapsed: started.elapsed(),
    })
}

/// A byte-position bar on stderr for a large file, hidden unless both stdout and stderr
/// are terminals (so pipes and CI logs stay clean).
fn progress(path: &Path, len: u64) -> ProgressBar {
    let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    if !tty || len < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(path.display().to_string());
    bar
}

fn aggregate(results: &[FileResult]) -> FileResult {
    let mut all = FileResult {
        path: PathBuf::from(format!("all {} files", results.len())),
        pack: Tally::default(),
        baseline: None,
        by_rule: ByRule::default(),
        elapsed: Duration::ZERO,
    };
    for r in results {
        all.pack.merge(&r.pack);
        all.by_rule.merge(&r.by_rule);
        all.elapsed += r.elapsed;
        if let Some(b) = &r.baseline {
            all.baseline.get_or_insert_with(Tally::default).merge(b);
        }
    }
    all
}

fn tally_json(t: &Tally) -> Value {
    json!({ "labels": t.labels_json(), "metrics": t.metrics_json() })
}

/// The measures of one corpus (or of all): labels, metrics, decisions per rule and the
/// baseline's labels and metrics.
fn result_json(r: &FileResult) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("messages".into(), json!(r.pack.total()));
    m.insert("labels".into(), r.pack.labels_json());
    m.insert("metrics".into(), r.pack.metrics_json());
    m.insert("rules".into(), r.by_rule.to_json());
    if let Some(b) = &r.baseline {
        m.insert("baseline".into(), tally_json(b));
    }
    m.insert("seconds".into(), json!(r.elapsed.as_secs_f64()));
    m
}

fn to_json(
    args: &Args,
    name: &str,
    pack_version: &str,
    ruleset_version: &str,
    results: &[FileResult],
) -> Value {
    let mut top = result_json(&aggregate(results));
    top.insert(
        "pack".into(),
        json!({
            "path": args.rules.display().to_string(),
            "name": name,
            "version": pack_version,
            "ruleset_version": ruleset_version,
        }),
    );
    let files: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut m = result_json(r);
            m.insert("path".into(), json!(r.path.display().to_string()));
            Value::Object(m)
        })
        .collect();
    top.insert("files".into(), Value::Array(files));
    Value::Object(top)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.3}"))
}

fn render_file(out: &mut impl Write, r: &FileResult) -> std::io::Result<()> {
    let secs = r.elapsed.as_secs_f64();
    let n = r.pack.total();
    writeln!(
        out,
        "{}: {} messages in {:.2} s ({:.0} msg/s)",
        r.path.display(),
        n,
        secs,
        if secs > 0.0 { n as f64 / secs } else { 0.0 }
    )?;
    write!(out, "  {:<8} {:>7}", "label", "total")?;
    for a in ActionKind::ALL {
        write!(out, " {:>10}", a.as_str())?;
    }
    writeln!(out, " {:>8}", "blocked")?;
    for (label, c) in r.pack.labels() {
        write!(out, "  {label:<8} {:>7}", c.total)?;
        for a in ActionKind::ALL {
            write!(out, " {:>10}", c.get(a))?;
        }
        writeln!(out, " {:>8}", c.blocked())?;
    }
    let base = r.baseline.as_ref();
    let base_pos = base.map(Tally::positives).unwrap_or_default();
    write!(
        out,
        "  {:<8} {:>9} {:>7} {:>8}",
        "blocking", "precision", "recall", "flagged"
    )?;
    if base.is_some() {
        write!(out, "   | baseline {:>9} {:>7}", "precision", "recall")?;
    }
    writeln!(out)?;
    for (label, p) in r.pack.positives() {
        write!(
            out,
            "  {label:<8} {:>9} {:>7.3} {:>8.3}",
            fmt_opt(p.precision),
            p.recall,
            p.flagged
        )?;
        if let Some((_, b)) = base_pos.iter().find(|(l, _)| *l == label) {
            write!(
                out,
                "   |          {:>9} {:>7.3}",
                fmt_opt(b.precision),
                b.recall
            )?;
        }
        writeln!(out)?;
    }
    if let Some(h) = r.pack.ham() {
        write!(
            out,
            "  ham false-positive rate {:.3}% ({} of {}), flagged {:.3}%",
            h.false_positive_rate * 100.0,
            h.blocked,
            h.total,
            h.flagged * 100.0
        )?;
        if let Some(b) = base.and_then(Tally::ham) {
            write!(
                out,
                "   | baseline {:.3}% ({})",
                b.false_positive_rate * 100.0,
                b.blocked
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
