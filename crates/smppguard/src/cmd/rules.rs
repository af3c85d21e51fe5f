//! `smppguard rules`: validate a rule pack (`check`), show the verdict it gives one
//! message (`scan`) and measure it on labelled corpora (`eval`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use smppguard_admin::verdict_json;
use smppguard_filter::{Engine, Envelope, Error as FilterError, RulePack, Ruleset, Scratch};
use smppguard_text::{DecodeOptions, DefaultAlphabet, Normalizer, PartInput, decode_part};

mod eval;

/// Arguments of `smppguard rules`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Validate and compile a rule pack (a .toml file or a directory) and print its stats.
    Check(CheckArgs),
    /// Scan one message with a rule pack and print the verdict as JSON.
    Scan(ScanArgs),
    /// Measure a rule pack on labelled corpora: actions per label, precision and recall
    /// of blocking, false-positive rate on ham.
    Eval(eval::Args),
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// The rule pack: a .toml file or a directory of them.
    path: PathBuf,
    /// Print the stats as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct ScanArgs {
    /// The rule pack: a .toml file or a directory of them.
    #[arg(long = "rules", value_name = "PATH")]
    rules: PathBuf,
    /// The message as UTF-8 text, or with --hex the short_message bytes in hex; `-` or
    /// nothing reads it from stdin.
    message: Option<String>,
    /// The message is short_message bytes in hex, decoded with --data-coding.
    #[arg(long)]
    hex: bool,
    /// data_coding of the message (0 GSM 7-bit, 3 Latin-1, 8 UCS-2, 4 binary, …).
    #[arg(long, default_value_t = 0, value_parser = parse_u8)]
    data_coding: u8,
    /// esm_class (0x40 = the bytes start with a user data header).
    #[arg(long, default_value_t = 0, value_parser = parse_u8)]
    esm_class: u8,
    /// What data_coding 0 means: gsm7, gsm7_packed, latin1 or ia5.
    #[arg(long, default_value = "gsm7", value_parser = parse_alphabet)]
    default_alphabet: DefaultAlphabet,
    /// The sending account (system_id), for rule scopes.
    #[arg(long, default_value = "")]
    account: String,
    /// An account group the proxy would supply (repeatable).
    #[arg(long = "group")]
    groups: Vec<String>,
    /// source_addr.
    #[arg(long, default_value = "")]
    source_addr: String,
    /// destination_addr.
    #[arg(long, default_value = "")]
    destination_addr: String,
    /// service_type.
    #[arg(long, default_value = "")]
    service_type: String,
}

/// Parses a byte in decimal or `0x` hex.
fn parse_u8(s: &str) -> Result<u8, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a number from 0 to 255 (decimal or 0x hex)"))
}

fn parse_alphabet(s: &str) -> Result<DefaultAlphabet, String> {
    Ok(match s {
        "gsm7" => DefaultAlphabet::Gsm7,
        "gsm7_packed" => DefaultAlphabet::Gsm7Packed,
        "latin1" => DefaultAlphabet::Latin1,
        "ia5" => DefaultAlphabet::Ia5,
        _ => return Err("one of gsm7, gsm7_packed, latin1, ia5".into()),
    })
}

/// Runs `smppguard rules`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match args.command {
        Command::Check(a) => check(a),
        Command::Scan(a) => scan(a),
        Command::Eval(a) => eval::run(a),
    }
}

/// Prints every diagnostic of a failed load and gives the exit code for it.
fn report_invalid(err: &FilterError) -> Result<ExitCode> {
    match err {
        FilterError::Invalid(diags) => {
            for d in diags {
                eprintln!("error: {d}");
            }
            eprintln!("{} problem(s); the rule pack was not loaded", diags.len());
            // EX_DATAERR: the input data was incorrect.
            Ok(ExitCode::from(65))
        }
        other => bail!("{other}"),
    }
}

fn check(args: CheckArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let pack = match RulePack::load(&args.path) {
        Ok(p) => p,
        Err(e) => return report_invalid(&e),
    };
    let load_time = started.elapsed();
    let warnings: Vec<String> = pack.warnings().iter().map(ToString::to_string).collect();
    let ruleset = match Ruleset::compile(pack) {
        Ok(r) => r,
        Err(e) => return report_invalid(&e),
    };
    let st = ruleset.stats();
    if args.json {
        let out = json!({
            "ok": true,
            "name": ruleset.name(),
            "pack_version": ruleset.pack_version(),
            "ruleset_version": ruleset.version().to_string(),
            "rules": st.rules,
            "patterns": st.patterns,
            "expressions": st.expressions,
            "lists": st.lists,
            "list_entries": st.list_entries,
            "load_seconds": load_time.as_secs_f64(),
            "compile_seconds": st.compile_time.as_secs_f64(),
            "database_bytes": st.database_bytes,
            "scratch_bytes": st.scratch_bytes,
            "warnings": warnings,
        });
        emit(&serde_json::to_string_pretty(&out)?)?;
    } else {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        let lines = [
            format!(
                "ok: {} {} (ruleset {})",
                ruleset.name(),
                ruleset.pack_version(),
                ruleset.version()
            ),
            format!("rules:          {}", st.rules),
            format!(
                "patterns:       {} ({} distinct expressions)",
                st.patterns, st.expressions
            ),
            format!("lists:          {} ({} entries)", st.lists, st.list_entries),
            format!("load time:      {:.3} s", load_time.as_secs_f64()),
            format!("compile time:   {:.3} s", st.compile_time.as_secs_f64()),
            format!("database bytes: {}", st.database_bytes),
            format!("scratch bytes:  {} per worker", st.scratch_bytes),
        ];
        emit(&lines.join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let input = match args.message.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading the message from stdin")?;
            // A trailing newline from `echo` is not part of the message.
            if s.ends_with('\n') {
                s.pop();
                if s.ends_with('\r') {
                    s.pop();
                }
            }
            s
        }
        Some(m) => m.to_owned(),
    };
    let engine = match Engine::load(&args.rules) {
        Ok(e) => e,
        Err(e) => return report_invalid(&e),
    };

    let mut text_info = serde_json::Map::new();
    let (decoded, binary) = if args.hex {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = hex::decode(&digits).context("--hex: the message is not valid hex")?;
        let part = PartInput {
            esm_class: args.esm_class,
            data_coding: args.data_coding,
            short_message: &bytes,
            message_payload: None,
            sar: None,
        };
        let opts = DecodeOptions {
            default_alphabet: args.default_alphabet,
        };
        let d = decode_part(&part, &opts);
        text_info.insert("coding".into(), json!(d.coding.map(|c| format!("{c:?}"))));
        text_info.insert("binary".into(), json!(d.binary));
        let warnings: Vec<String> = d.warnings.iter().map(ToString::to_string).collect();
        text_info.insert("warnings".into(), json!(warnings));
        let binary = d
            .binary
            .then(|| bytes.get(d.user_data.clone()).unwrap_or_default().to_vec());
        (d.text, binary)
    } else {
        (input, None)
    };

    let groups = args.groups;
    let env = Envelope {
        account: &args.account,
        groups: &groups,
        source_addr: &args.source_addr,
        destination_addr: &args.destination_addr,
        service_type: &args.service_type,
        data_coding: args.data_coding,
        esm_class: args.esm_class,
    };
    let mut scratch = Scratch::new();
    let verdict = engine.evaluate_message(&env, &decoded, binary.as_deref(), &mut scratch);

    let normalizer = Normalizer::new(engine.ruleset().normalize_options().clone());
    let normalized = normalizer.normalize(&decoded);
    text_info.insert("decoded".into(), json!(decoded));
    text_info.insert("normalized".into(), json!(normalized.as_str()));
    text_info.insert("data_coding".into(), json!(args.data_coding));

    let out = verdict_json(&verdict, Value::Object(text_info));
    emit(&serde_json::to_string_pretty(&out)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` and a newline to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}
