//! `smppguard demo`: the simulator SMSC, smppguard with the default rule pack and
//! demo accounts, and a traffic generator replaying example messages, all in one
//! process, with a live view of what the proxy answered and a summary that explains
//! a few verdicts. Every figure shown is counted from real SMPP responses and from
//! the proxy's own audit log.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hdrhistogram::Histogram;
use smppguard_codec::CommandStatus;
use smppguard_filter::{Engine, Envelope, Scratch};
use smppguard_proxy::{Config, Proxy, ProxyHandle, hash_password};
use smppguard_sim::EsmeError;
use smppguard_sim::esme::{Esme, EsmeConfig, Request, SubmitResponse};
use smppguard_sim::message::{Concat, Sms};
use smppguard_sim::{BindType, SimConfig, Smsc};

use super::bench::{Percentiles, histogram, record, status_name};

mod messages;

use messages::{ACCOUNTS, Account, Coding, EXAMPLES, EXPLAINED, Example, Kind};

/// Arguments of `smppguard demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Seconds to run; Ctrl-C stops earlier.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    duration: f64,
    /// Messages per second over the well-behaved accounts (the flooding account sends
    /// eight times as many, in bursts).
    #[arg(long, value_name = "R", default_value_t = 40.0)]
    rate: f64,
    /// Where smppguard's SMPP listener binds (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where the admin API and `/metrics` listen while the demo runs (port 0: any
    /// free port); the address is printed at start.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    admin: SocketAddr,
    /// The rule pack; default: `rules/default` of the source tree.
    #[arg(long, value_name = "PATH")]
    rules: Option<PathBuf>,
    /// Print only the summary, as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `smppguard demo`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number");
    }
    let rules = rules_path(args.rules.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(&args, &rules))?;
    Ok(ExitCode::SUCCESS)
}

/// The rule pack: the flag, else `rules/default` here, else in the source tree.
fn rules_path(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    let here = PathBuf::from("rules/default");
    if here.is_dir() {
        return Ok(here);
    }
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    if tree.is_dir() {
        return Ok(tree);
    }
    bail!("cannot find the default rule pack (rules/default); pass --rules PATH")
}

/// Outcome counters of one account or one example.
#[derive(Debug, Clone, Default)]
struct Counts {
    sent: u64,
    forwarded: u64,
    blocked: u64,
    throttled: u64,
    other: u64,
    failed: u64,
}

/// How one message ended, from the statuses of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Forwarded,
    Blocked,
    Throttled,
    Other,
    Failed,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.sent += 1;
        match outcome {
            Outcome::Forwarded => self.forwarded += 1,
            Outcome::Blocked => self.blocked += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Other => self.other += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent, "forwarded": self.forwarded, "blocked": self.blocked,
            "throttled": self.throttled, "other": self.other, "failed": self.failed,
        })
    }
}

/// Classifies a message by its parts' answers: throttled or blocked if any part was,
/// forwarded if every part was accepted.
fn outcome(results: &[Result<SubmitResponse, EsmeError>]) -> Outcome {
    let mut out = Outcome::Forwarded;
    for r in results {
        let this = match r {
            Err(_) => Outcome::Failed,
            Ok(r) if r.status == CommandStatus::ESME_ROK => Outcome::Forwarded,
            Ok(r) if r.status == CommandStatus::ESME_RTHROTTLED => Outcome::Throttled,
            Ok(r) if r.status == CommandStatus::ESME_RSUBMITFAIL => Outcome::Blocked,
            Ok(_) => Outcome::Other,
        };
        if this != Outcome::Forwarded {
            out = this;
        }
    }
    out
}

/// What the demo has seen so far.
struct Board {
    accounts: BTreeMap<&'static str, Counts>,
    examples: BTreeMap<&'static str, Counts>,
    statuses: BTreeMap<u32, u64>,
    latency: Histogram<u64>,
    rules: BTreeMap<String, u64>,
    audit_records: u64,
}

impl Board {
    fn new() -> Board {
        Board {
            accounts: ACCOUNTS
                .iter()
                .map(|a| (a.system_id, Counts::default()))
                .collect(),
            examples: EXAMPLES
                .iter()
                .map(|e| (e.name, Counts::default()))
                .collect(),
            statuses: BTreeMap::new(),
            latency: histogram(),
            rules: BTreeMap::new(),
            audit_records: 0,
        }
    }

    fn add(&mut self, example: &Example, results: &[Result<SubmitResponse, EsmeError>]) {
        for r in results.iter().flatten() {
            record(&mut self.latency, r.latency);
            *self.statuses.entry(r.status.0).or_default() += 1;
        }
        let o = outcome(results);
        if let Some(c) = self.accounts.get_mut(example.account) {
            c.add(o);
        }
        if let Some(c) = self.examples.get_mut(example.name) {
            c.add(o);
        }
    }

    fn top_rules(&self, n: usize) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.rules.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v.truncate(n);
        v
    }
}

type Shared = Arc<Mutex<Board>>;

fn lock(board: &Shared) -> Result<std::sync::MutexGuard<'_, Board>> {
    board.lock().map_err(|_| anyhow!("a traffic task panicked"))
}

/// The PDUs of one send of `example`, parts tied by `reference`.
fn requests(example: &Example, reference: u16) -> Result<Vec<Request>> {
    let text = example.plain();
    let sms = match example.coding {
        Coding::Gsm7 => Sms::gsm7(&text)?,
        Coding::Ucs2 => Sms::ucs2(&text),
    }
    .from_alphanumeric(example.account)
    .to("886912000001");
    let concat = Concat::Udh16 { reference };
    let points = example.split_points();
    let pdus = if points.is_empty() {
        sms.segments(concat)?
    } else {
        sms.split_at(concat, &points)?
    };
    Ok(pdus.into_iter().map(Request::from).collect())
}

/// The demo configuration: one listener, the simulator upstream, the accounts, the
/// audit log and the rule pack.
fn config_text(
    listen: SocketAddr,
    admin: SocketAddr,
    smsc: SocketAddr,
    rules: &Path,
    dir: &Path,
) -> Result<String> {
    let mut text = format!(
        "[server]\nsystem_id = \"smppguard\"\n\n[[listeners]]\naddress = \"{listen}\"\n\n\
         [[upstreams]]\nname = \"smsc-sim\"\naddress = \"{smsc}\"\nsystem_id = \"smppguard\"\n\
         password = \"demo\"\nsessions = 2\nwindow = 256\n\n\
         [[routes]]\nname = \"default\"\nupstreams = [\"smsc-sim\"]\n\n\
         [audit]\npath = {audit}\n\n[filter]\nrules = {rules}\n\n\
         [admin]\naddress = \"{admin}\"\n\n",
        audit = toml_string(&dir.join("audit.jsonl")),
        rules = toml_string(rules),
    );
    for a in ACCOUNTS {
        let hash = hash_password(a.password)
            .map_err(|e| anyhow!("cannot hash the password of {}: {e}", a.system_id))?;
        text.push_str(&format!(
            "[[accounts]]\nsystem_id = \"{}\"\npassword_hash = \"{hash}\"\nroute = \"default\"\nwindow = {}\n\n",
            a.system_id, a.window
        ));
    }
    Ok(text)
}

/// A TOML basic string holding a path.
fn toml_string(p: &Path) -> String {
    serde_json::Value::String(p.display().to_string()).to_string()
}

async fn demo(args: &Args, rules: &Path) -> Result<()> {
    let rules = std::fs::canonicalize(rules)
        .with_context(|| format!("cannot find the rule pack {}", rules.display()))?;
    let engine = Engine::load(&rules)
        .map_err(|e| anyhow!("cannot load the rule pack {}: {e}", rules.display()))?;
    let smsc = Smsc::start(
        "127.0.0.1:0".parse::<SocketAddr>()?,
        SimConfig {
            // A little SMSC latency, so the flooding account fills its window.
            latency: Duration::from_millis(10),
            record: None,
            ..SimConfig::default()
        },
    )
    .await
    .context("cannot start the SMSC simulator")?;
    let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
    let path = dir.path().join("smppguard.toml");
    std::fs::write(
        &path,
        config_text(
            args.listen,
            args.admin,
            smsc.local_addr(),
            &rules,
            dir.path(),
        )?,
    )
    .context("cannot write the demo configuration")?;
    let config = Config::from_file(&path).map_err(|e| anyhow!("demo configuration: {e}"))?;
    let proxy = Arc::new(
        Proxy::start_with_path(config, Some(path.clone()))
            .await
            .map_err(|e| anyhow!("cannot start the proxy: {e}"))?,
    );
    let admin = smppguard_admin::Admin::start(Arc::clone(&proxy))
        .await
        .context("cannot start the admin API")?;
    let admin_addr = admin.local_addr();
    let listen = *proxy
        .local_addrs()
        .first()
        .context("the proxy has no listener")?;
    wait_upstreams(&proxy).await?;

    if !args.json {
        println!("smppguard demo");
        println!("  SMPP listener (smppguard) {listen}");
        println!("  SMSC simulator            {}", smsc.local_addr());
        println!("  metrics (Prometheus)      http://{admin_addr}/metrics");
        println!("  admin API                 http://{admin_addr}/accounts (docs/admin-api.md)");
        println!(
            "  rule pack                 {} (version {})",
            rules.display(),
            engine.version()
        );
        println!("  configuration             {}", path.display());
        println!("  accounts (system_id / password):");
        for a in ACCOUNTS {
            println!("    {:<12} {:<9} {}", a.system_id, a.password, a.about);
        }
        println!(
            "  running {:.0} s at {:.0} messages/s; Ctrl-C stops\n",
            args.duration, args.rate
        );
    }

    let board: Shared = Arc::new(Mutex::new(Board::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    let calm = ACCOUNTS.iter().filter(|a| !a.floods).count().max(1) as f64;
    for (i, account) in ACCOUNTS.iter().enumerate() {
        let esme = Esme::connect_with(
            listen,
            EsmeConfig {
                window: 64,
                response_timeout: Some(Duration::from_secs(15)),
                ..EsmeConfig::default()
            },
        )
        .await
        .with_context(|| format!("{}: cannot connect to the proxy", account.system_id))?;
        let resp = esme
            .bind(BindType::Transmitter, account.system_id, account.password)
            .await
            .with_context(|| format!("{}: bind failed", account.system_id))?;
        if resp.status != CommandStatus::ESME_ROK {
            bail!(
                "{}: bind refused with {}",
                account.system_id,
                status_name(resp.status)
            );
        }
        let base = u16::try_from(i).unwrap_or(0).wrapping_mul(10_000);
        tasks.spawn(traffic(
            esme,
            *account,
            args.rate / calm,
            base,
            Arc::clone(&board),
            Arc::clone(&stop),
        ));
    }
    let audit = dir.path().join("audit.jsonl");
    let view = tokio::spawn(live_view(
        Arc::clone(&board),
        audit.clone(),
        Instant::now(),
        !args.json,
    ));

    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs_f64(args.duration)) => {}
        r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C")?,
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(r) = tasks.join_next().await {
        r.context("a traffic task failed")??;
    }
    view.abort();
    let stats = proxy.stats();
    let drain = proxy.drain(Duration::from_secs(5)).await;
    admin.shutdown().await;
    smsc.clone().shutdown().await;
    // The audit writer flushes on its own schedule; read all it wrote.
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        {
            let mut b = lock(&board)?;
            b.rules.clear();
            b.audit_records = 0;
            read_audit(&audit, &mut 0, &mut b);
            if b.audit_records >= stats.requests_blocked.min(1) || Instant::now() > until {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let b = lock(&board)?;
    let explained = explain(&engine);
    if args.json {
        let json = serde_json::json!({
            "listener": listen.to_string(),
            "admin": admin_addr.to_string(),
            "accounts": b.accounts.iter().map(|(k, v)| ((*k).to_owned(), v.to_json())).collect::<serde_json::Map<_, _>>(),
            "examples": b.examples.iter().map(|(k, v)| ((*k).to_owned(), v.to_json())).collect::<serde_json::Map<_, _>>(),
            "statuses": b.statuses.iter().map(|(k, v)| (status_name(CommandStatus(*k)), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "top_rules": b.top_rules(10).iter().map(|(k, v)| serde_json::json!({"rule": k, "count": v})).collect::<Vec<_>>(),
            "audit_records": b.audit_records,
            "latency_us": percentiles_json(Percentiles::of(&b.latency)),
            "proxy": {
                "requests_received": stats.requests_received,
                "requests_forwarded": stats.requests_forwarded,
                "requests_blocked": stats.requests_blocked,
                "requests_throttled": stats.requests_throttled,
                "multipart_completed": stats.multipart_completed,
                "drained_clean": drain.clean,
            },
            "explained": explained.iter().map(|x| serde_json::json!({
                "example": x.name, "action": x.action, "rule": x.rule, "evidence": x.evidence,
            })).collect::<Vec<_>>(),
        });
        println!("{json}");
    } else {
        let mut out = std::io::stdout();
        if out.is_terminal() {
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        println!("{}", render(&b, None));
        println!("Per example (messages):");
        println!(
            "  {:<22} {:<9} {:>5} {:>9} {:>7} {:>9}  note",
            "example", "account", "sent", "forwarded", "blocked", "throttled"
        );
        for e in EXAMPLES {
            let c = b.examples.get(e.name).cloned().unwrap_or_default();
            println!(
                "  {:<22} {:<9} {:>5} {:>9} {:>7} {:>9}  {}{}",
                e.name,
                short(e.account),
                c.sent,
                c.forwarded,
                c.blocked,
                c.throttled,
                if e.kind == Kind::Scam { "[scam] " } else { "" },
                e.note
            );
        }
        println!("\nWhy (the rule pack's verdict on the whole, reassembled text):");
        for x in &explained {
            println!("  {} -> {} {}", x.name, x.action, x.rule);
            for ev in &x.evidence {
                println!("      {ev}");
            }
        }
        println!(
            "\nproxy: {} requests, {} forwarded, {} blocked, {} throttled, {} multi-part messages reassembled; drained {}",
            stats.requests_received,
            stats.requests_forwarded,
            stats.requests_blocked,
            stats.requests_throttled,
            stats.multipart_completed,
            if drain.clean {
                "cleanly"
            } else {
                "with requests left"
            }
        );
    }
    Ok(())
}

fn short(s: &str) -> &str {
    s.get(..9).unwrap_or(s)
}

fn percentiles_json(p: Percentiles) -> serde_json::Value {
    serde_json::json!({"p50": p.p50, "p90": p.p90, "p99": p.p99, "p99_9": p.p999, "max": p.max})
}

async fn wait_upstreams(proxy: &ProxyHandle) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(10);
    while !proxy.upstreams().iter().all(|u| u.bound == u.sessions) {
        if Instant::now() > until {
            bail!("the proxy could not bind to the SMSC simulator");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Sends one account's examples in turn: paced at `rate` per second, or, for the
/// flooding account, in bursts of 24 pipelined messages eight times as fast.
async fn traffic(
    esme: Esme,
    account: Account,
    rate: f64,
    base: u16,
    board: Shared,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let mine: Vec<&Example> = EXAMPLES
        .iter()
        .filter(|e| e.account == account.system_id)
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    let burst = if account.floods { 24 } else { 1 };
    let rate = if account.floods { rate * 8.0 } else { rate };
    let every = Duration::from_secs_f64(f64::from(burst) / rate);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n: u16 = 0;
    let mut inflight = tokio::task::JoinSet::new();
    let esme = Arc::new(esme);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Some(example) = mine.get(usize::from(n) % mine.len()).copied() else {
            break;
        };
        n = n.wrapping_add(1);
        let mut batch = Vec::new();
        for k in 0..burst {
            batch.extend(requests(example, base.wrapping_add(n).wrapping_add(k))?);
        }
        let esme = Arc::clone(&esme);
        let board = Arc::clone(&board);
        let parts = batch.len() / usize::from(burst).max(1);
        // Each send runs on its own, so a slow answer never delays the next tick.
        inflight.spawn(async move {
            let results = esme.submit_many(batch).await?;
            let mut b = lock(&board)?;
            for chunk in results.chunks(parts.max(1)) {
                b.add(example, chunk);
            }
            Ok::<(), anyhow::Error>(())
        });
        while let Some(done) = inflight.try_join_next() {
            done.context("a send failed")??;
        }
    }
    while let Some(done) = inflight.join_next().await {
        done.context("a send failed")??;
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), esme.unbind()).await;
    Ok(())
}

/// Reads the audit records appended since `offset` and counts their rules.
fn read_audit(path: &Path, offset: &mut u64, board: &mut Board) {
    let Ok(mut f) = std::fs::File::open(path) else {
        return;
    };
    if f.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut buf = String::new();
    if f.read_to_string(&mut buf).is_err() {
        return;
    }
    // Only whole lines; a partly written one is read next time.
    let whole = buf.rfind('\n').map_or(0, |i| i + 1);
    for line in buf.get(..whole).unwrap_or("").lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        board.audit_records += 1;
        if let Some(rules) = v.get("rules").and_then(|r| r.as_array()) {
            for id in rules.iter().filter_map(|r| r.as_str()) {
                *board.rules.entry(id.to_owned()).or_default() += 1;
            }
        }
    }
    *offset += whole as u64;
}

/// Redraws the live view every second (on a terminal; elsewhere prints it every
/// five seconds) and keeps the rule counts current from the audit log.
async fn live_view(board: Shared, audit: PathBuf, started: Instant, show: bool) {
    let tty = std::io::stdout().is_terminal();
    let mut offset = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut n: u64 = 0;
    loop {
        tick.tick().await;
        n += 1;
        let Ok(mut b) = board.lock() else { return };
        read_audit(&audit, &mut offset, &mut b);
        if !show {
            continue;
        }
        let text = render(&b, Some(started.elapsed()));
        drop(b);
        let mut out = std::io::stdout();
        if tty && n.is_multiple_of(2) {
            let _ = write!(out, "\x1b[2J\x1b[H{text}");
        } else if !tty && n.is_multiple_of(10) {
            let _ = writeln!(out, "{text}");
        }
        let _ = out.flush();
    }
}

/// The per-account table, the top rules and the latency.
fn render(b: &Board, elapsed: Option<Duration>) -> String {
    let mut s = String::new();
    match elapsed {
        Some(e) => s.push_str(&format!(
            "smppguard demo, {:.0} s (Ctrl-C stops)\n\n",
            e.as_secs_f64()
        )),
        None => s.push_str("smppguard demo: summary\n\n"),
    }
    s.push_str(&format!(
        "  {:<12} {:>6} {:>9} {:>7} {:>9} {:>6}\n",
        "account", "sent", "forwarded", "blocked", "throttled", "other"
    ));
    for a in ACCOUNTS {
        let c = b.accounts.get(a.system_id).cloned().unwrap_or_default();
        s.push_str(&format!(
            "  {:<12} {:>6} {:>9} {:>7} {:>9} {:>6}\n",
            a.system_id,
            c.sent,
            c.forwarded,
            c.blocked,
            c.throttled,
            c.other + c.failed
        ));
    }
    s.push_str("\n  top rules (from the audit log):\n");
    let top = b.top_rules(5);
    if top.is_empty() {
        s.push_str("    none yet\n");
    }
    for (rule, n) in top {
        s.push_str(&format!("    {n:>6}  {rule}\n"));
    }
    let p = Percentiles::of(&b.latency);
    s.push_str(&format!(
        "\n  response latency (us, every PDU): p50 {} p90 {} p99 {} max {}\n",
        p.p50, p.p90, p.p99, p.max
    ));
    s
}

/// One explained verdict.
struct Explained {
    name: &'static str,
    action: String,
    rule: String,
    evidence: Vec<String>,
}

/// The rule pack's verdict on a few examples, with the evidence it quotes.
fn explain(engine: &Engine) -> Vec<Explained> {
    let mut scratch = Scratch::new();
    let mut out = Vec::new();
    for name in EXPLAINED {
        let Some(e) = EXAMPLES.iter().find(|e| e.name == *name) else {
            continue;
        };
        let env = Envelope {
            account: e.account,
            source_addr: e.account,
            ..Envelope::default()
        };
        let verdict = engine.evaluate(&env, &e.plain(), &mut scratch);
        let (rule, evidence) = match verdict.decisive() {
            Some(m) => (
                format!("by rule {} ({})", m.id, m.category),
                m.evidence
                    .iter()
                    .filter_map(|ev| {
                        ev.span
                            .as_ref()
                            .map(|s| format!("{} matched {:?}", ev.field, s.quote))
                    })
                    .collect(),
            ),
            None => ("(no rule matched)".to_owned(), Vec::new()),
        };
        out.push(Explained {
            name: e.name,
            action: verdict.action.kind().to_string(),
            rule,
            evidence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_builds() {
        for (i, e) in EXAMPLES.iter().enumerate() {
            let parts = requests(e, i as u16).unwrap();
            let want = e.split_points().len() + 1;
            assert!(parts.len() >= want, "{}: {} parts", e.name, parts.len());
        }
    }

    #[test]
    fn the_worst_part_decides_the_outcome() {
        let ok = |status| {
            Ok(SubmitResponse {
                command_id: smppguard_codec::CommandId::SUBMIT_SM_RESP,
                status,
                message_id: String::new(),
                latency: Duration::ZERO,
            })
        };
        assert_eq!(
            outcome(&[ok(CommandStatus::ESME_ROK), ok(CommandStatus::ESME_ROK)]),
            Outcome::Forwarded
        );
        assert_eq!(
            outcome(&[
                ok(CommandStatus::ESME_ROK),
                ok(CommandStatus::ESME_RSUBMITFAIL)
            ]),
            Outcome::Blocked
        );
        assert_eq!(
            outcome(&[ok(CommandStatus::ESME_RTHROTTLED)]),
            Outcome::Throttled
        );
        assert_eq!(outcome(&[Err(EsmeError::Closed)]), Outcome::Failed);
    }
}
