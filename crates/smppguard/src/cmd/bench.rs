//! `smppguard bench`: an ESME load generator for any SMPP server (smppguard, the
//! simulator, another SMSC). N sessions, a window of W requests in flight per session,
//! as fast as possible or at a target rate, for a duration or a message count; it
//! reports throughput, response statuses and latency percentiles (HdrHistogram).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use smppguard_codec::CommandStatus;
use smppguard_sim::BindType;
use smppguard_sim::EsmeError;
use smppguard_sim::esme::{Esme, EsmeConfig, SubmitResponse};
use tokio::sync::Semaphore;

pub(crate) mod mix;

use mix::Entry;

/// Arguments of `smppguard bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The SMPP server to load.
    #[arg(long, value_name = "HOST:PORT")]
    target: String,
    /// system_id to bind with.
    #[arg(long, value_name = "ID", default_value = "bench")]
    system_id: String,
    /// Password to bind with.
    #[arg(long, value_name = "PW", default_value = "bench")]
    password: String,
    /// Sessions (connections), each bound with the same account.
    #[arg(long, value_name = "N", default_value_t = 4)]
    sessions: usize,
    /// Requests in flight per session.
    #[arg(long, value_name = "W", default_value_t = 64)]
    window: usize,
    /// Seconds to send for.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,
    /// Stop after this many messages instead (a multi-part message counts once).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Target rate in messages per second over all sessions; as fast as possible
    /// when absent.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// Bind as transmitter or transceiver.
    #[arg(long, value_enum, default_value_t = Bind::Transmitter)]
    bind: Bind,
    /// Synthetic message mix, as kind=weight pairs (gsm7, ucs2, concat, payload).
    #[arg(
        long,
        value_name = "MIX",
        default_value = "gsm7=50,ucs2=25,concat=15,payload=10"
    )]
    mix: String,
    /// Replay the texts of a `label<TAB>text` file instead of the synthetic mix.
    #[arg(long, value_name = "FILE")]
    corpus: Option<PathBuf>,
    /// Ask for delivery receipts and count them (binds as transceiver).
    #[arg(long)]
    receipts: bool,
    /// Seconds a request may wait for its response before it counts as timed out.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Bind types the load generator uses.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Bind {
    Transmitter,
    Transceiver,
}

/// Runs `smppguard bench`.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(load(&args))?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.submits > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Percentiles {
    /// Median.
    pub(crate) p50: u64,
    /// 90th percentile.
    pub(crate) p90: u64,
    /// 99th percentile.
    pub(crate) p99: u64,
    /// 99.9th percentile.
    pub(crate) p999: u64,
    /// Largest.
    pub(crate) max: u64,
    /// Mean.
    pub(crate) mean: f64,
}

impl Percentiles {
    /// Reads the percentiles of `h` (microseconds).
    pub(crate) fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }

    fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "p50": self.p50, "p90": self.p90, "p99": self.p99,
            "p99_9": self.p999, "max": self.max, "mean": (self.mean * 10.0).round() / 10.0,
        })
    }
}

/// A latency histogram in microseconds, 1 µs to 60 s, 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    // ok: constant, valid bounds (low >= 1, high >= 2 * low, sigfig <= 5)
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Records one latency, saturating at the histogram's bounds.
pub(crate) fn record(h: &mut Histogram<u64>, latency: Duration) {
    let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(us.max(1));
}

/// The name of a status (`ESME_ROK`) or its hex value.
pub(crate) fn status_name(status: CommandStatus) -> String {
    status
        .name()
        .map_or_else(|| format!("0x{:08X}", status.0), str::to_owned)
}

/// Width of one slot of the latency timeline.
const PEAK_SLOT: Duration = Duration::from_millis(100);
/// Slots kept (one hour); later responses are in the histogram only.
const PEAK_SLOTS: usize = 36_000;

/// Counters of one session, merged at the end.
struct Tally {
    latency: Histogram<u64>,
    statuses: BTreeMap<u32, u64>,
    errors: BTreeMap<&'static str, u64>,
    /// Largest latency (µs) of the responses read in each [`PEAK_SLOT`] since `start`:
    /// shows when in a run the tail happened (a reload, a pause).
    peaks: Vec<u64>,
    start: Instant,
}

impl Tally {
    fn new(start: Instant) -> Tally {
        Tally {
            latency: histogram(),
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            peaks: Vec::new(),
            start,
        }
    }

    fn add(&mut self, result: &Result<SubmitResponse, EsmeError>) {
        match result {
            Ok(r) => {
                record(&mut self.latency, r.latency);
                let slot = (self.start.elapsed().as_millis() / PEAK_SLOT.as_millis()) as usize;
                if slot < PEAK_SLOTS {
                    if self.peaks.len() <= slot {
                        self.peaks.resize(slot + 1, 0);
                    }
                    let us = u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX);
                    if let Some(p) = self.peaks.get_mut(slot) {
                        *p = (*p).max(us);
                    }
                }
                *self.statuses.entry(r.status.0).or_default() += 1;
            }
            Err(e) => *self.errors.entry(error_kind(e)).or_default() += 1,
        }
    }
}

fn error_kind(e: &EsmeError) -> &'static str {
    match e {
        EsmeError::Timeout(_) => "timeout",
        EsmeError::Closed => "closed",
        _ => "other",
    }
}

/// Shared state of a run.
struct Run {
    deck: Vec<Entry>,
    tickets: AtomicU64,
    answered: AtomicU64,
    stop: AtomicBool,
    count: Option<u64>,
    /// Send permits released at the target rate; `None` sends as fast as the windows
    /// allow.
    pacer: Option<Arc<Semaphore>>,
    start: tokio::time::Instant,
}

/// Shortest pause of the pacing thread: below this the sleep's own overshoot (tens
/// of microseconds on Linux) dominates and the thread would only burn a core.
const PACE_TICK_MIN: Duration = Duration::from_micros(50);
/// Longest pause of the pacing thread (low rates).
const PACE_TICK_MAX: Duration = Duration::from_millis(1);

/// Releases one send permit per message at `rate` messages per second, evenly spaced,
/// until `run.stop` is set; then closes the semaphore so waiting senders end.
///
/// A thread of its own rather than a tokio timer: tokio's timer wheel has a resolution
/// of one millisecond, so timer-paced senders all fire on the millisecond tick and
/// arrive as bursts of rate/1000 messages, which queue at every hop and show up as
/// latency that is the generator's, not the server's. A thread sleeping a fraction of
/// the interval releases a few messages at a time.
fn pace(run: &Run, permits: &Semaphore, rate: f64) {
    let tick = Duration::from_secs_f64(1.0 / rate).clamp(PACE_TICK_MIN, PACE_TICK_MAX);
    let start = run.start.into_std();
    let mut released: u64 = 0;
    while !run.stop.load(Ordering::Relaxed) {
        // Messages due by now, counting from the first at time zero.
        let due = ((start.elapsed().as_secs_f64() * rate) as u64).saturating_add(1);
        if let Some(n) = due.checked_sub(released).filter(|n| *n > 0) {
            permits.add_permits(usize::try_from(n).unwrap_or(Semaphore::MAX_PERMITS));
            released = due;
        }
        std::thread::sleep(tick);
    }
    permits.close();
}

/// What a run measured.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// Sessions bound.
    pub(crate) sessions: usize,
    /// Window per session.
    pub(crate) window: usize,
    /// From the first request to the last response.
    pub(crate) elapsed: Duration,
    /// PDUs answered (any status).
    pub(crate) submits: u64,
    /// Messages sent (a multi-part message counts once).
    pub(crate) messages: u64,
    /// Responses by status name.
    pub(crate) statuses: BTreeMap<String, u64>,
    /// Requests without a response, by reason.
    pub(crate) errors: BTreeMap<String, u64>,
    /// Response latency.
    pub(crate) latency: Percentiles,
    /// Delivery receipts received.
    pub(crate) receipts: u64,
    /// Largest latency in µs per 100 ms of the run, from its start.
    pub(crate) peaks: Vec<u64>,
}

impl Report {
    /// Answered PDUs per second.
    pub(crate) fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.submits as f64 / secs
        } else {
            0.0
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "throughput": self.throughput().round(),
            "elapsed_s": self.elapsed.as_secs_f64(),
            "sessions": self.sessions,
            "window": self.window,
            "submits": self.submits,
            "messages": self.messages,
            "statuses": self.statuses,
            "errors": self.errors,
            "latency_us": self.latency.to_json(),
            "receipts": self.receipts,
            "max_latency_us_per_100ms": self.peaks,
        })
    }

    fn to_text(&self) -> String {
        let mut s = format!(
            "{} submits ({} messages) in {:.2} s over {} sessions x window {}: {:.0} submits/s\n",
            self.submits,
            self.messages,
            self.elapsed.as_secs_f64(),
            self.sessions,
            self.window,
            self.throughput()
        );
        for (name, n) in &self.statuses {
            s.push_str(&format!("  {name:<20} {n}\n"));
        }
        for (name, n) in &self.errors {
            s.push_str(&format!("  error {name:<14} {n}\n"));
        }
        let l = self.latency;
        s.push_str(&format!(
            "latency us: p50 {} p90 {} p99 {} p99.9 {} max {} mean {:.1}\n",
            l.p50, l.p90, l.p99, l.p999, l.max, l.mean
        ));
        if self.receipts > 0 {
            s.push_str(&format!("receipts: {}\n", self.receipts));
        }
        s
    }
}

/// Binds the sessions, runs the load and gathers the report.
async fn load(args: &Args) -> Result<Report> {
    if args.sessions == 0 || args.window == 0 {
        bail!("--sessions and --window must be at least 1");
    }
    if !(args.duration > 0.0 && args.duration.is_finite()) {
        bail!("--duration must be a positive number of seconds");
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        bail!("--rate must be a positive number");
    }
    let rd = u8::from(args.receipts);
    let deck = match &args.corpus {
        Some(path) => mix::corpus(path, rd)?,
        None => mix::synthetic(&mix::parse_mix(&args.mix)?, rd)?,
    };
    let bind = if args.receipts || args.bind == Bind::Transceiver {
        BindType::Transceiver
    } else {
        BindType::Transmitter
    };
    let config = EsmeConfig {
        window: args.window,
        response_timeout: Some(Duration::from_secs(args.timeout.max(1))),
        ..EsmeConfig::default()
    };
    let mut esmes = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let esme = Esme::connect_with(args.target.as_str(), config.clone())
            .await
            .with_context(|| format!("cannot connect session {i} to {}", args.target))?;
        let resp = esme
            .bind(bind, &args.system_id, &args.password)
            .await
            .with_context(|| format!("session {i}: bind failed"))?;
        if resp.status != CommandStatus::ESME_ROK {
            bail!(
                "session {i}: bind refused with {}",
                status_name(resp.status)
            );
        }
        esmes.push(Arc::new(esme));
    }

    let run = Arc::new(Run {
        deck,
        tickets: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        count: args.count,
        pacer: args.rate.map(|_| Arc::new(Semaphore::new(0))),
        start: tokio::time::Instant::now(),
    });
    let pacer = match (args.rate, &run.pacer) {
        (Some(rate), Some(permits)) => {
            let (run, permits) = (Arc::clone(&run), Arc::clone(permits));
            Some(
                std::thread::Builder::new()
                    .name("bench-pacer".into())
                    .spawn(move || pace(&run, &permits, rate))
                    .context("cannot start the pacing thread")?,
            )
        }
        _ => None,
    };
    let started = Instant::now();
    let receipts = Arc::new(AtomicU64::new(0));
    let mut tallies = Vec::new();
    let mut workers = tokio::task::JoinSet::new();
    let mut readers = tokio::task::JoinSet::new();
    for (s, esme) in esmes.iter().enumerate() {
        let tally = Arc::new(Mutex::new(Tally::new(run.start.into_std())));
        tallies.push(Arc::clone(&tally));
        for w in 0..args.window {
            let reference = u16::try_from((s * args.window + w) % 65_536).unwrap_or(0);
            workers.spawn(worker(
                Arc::clone(esme),
                Arc::clone(&run),
                Arc::clone(&tally),
                reference,
            ));
        }
        if args.receipts {
            let esme = Arc::clone(esme);
            let receipts = Arc::clone(&receipts);
            readers.spawn(async move {
                while let Some(d) = esme.next_delivery().await {
                    if d.is_receipt() {
                        receipts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    }

    let progress = tokio::spawn(progress(Arc::clone(&run)));
    let deadline = Duration::from_secs_f64(args.duration);
    tokio::select! {
        () = tokio::time::sleep(deadline) => {}
        () = async { while workers.join_next().await.is_some() {} } => {}
        r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C")?,
    }
    run.stop.store(true, Ordering::Relaxed);
    if let Some(p) = &run.pacer {
        p.close();
    }
    while workers.join_next().await.is_some() {}
    if let Some(p) = pacer {
        let _ = tokio::task::spawn_blocking(move || p.join()).await;
    }
    let elapsed = started.elapsed();
    progress.abort();
    if std::io::stderr().is_terminal() {
        eprintln!();
    }

    let mut latency = histogram();
    let mut peaks: Vec<u64> = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for t in &tallies {
        let t = t.lock().map_err(|_| anyhow::anyhow!("a sender panicked"))?;
        latency
            .add(&t.latency)
            .context("merging latency histograms")?;
        if peaks.len() < t.peaks.len() {
            peaks.resize(t.peaks.len(), 0);
        }
        for (p, q) in peaks.iter_mut().zip(&t.peaks) {
            *p = (*p).max(*q);
        }
        for (status, n) in &t.statuses {
            *statuses
                .entry(status_name(CommandStatus(*status)))
                .or_insert(0) += n;
        }
        for (kind, n) in &t.errors {
            *errors.entry((*kind).to_owned()).or_insert(0) += n;
        }
    }
    let ok = statuses.get("ESME_ROK").copied().unwrap_or(0);
    if args.receipts {
        // Receipts trail their responses; give them a moment.
        let until = Instant::now() + Duration::from_secs(3);
        while receipts.load(Ordering::Relaxed) < ok && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for esme in &esmes {
        let _ = tokio::time::timeout(Duration::from_secs(2), esme.unbind()).await;
    }
    readers.abort_all();
    let submits = statuses.values().sum();
    Ok(Report {
        sessions: args.sessions,
        window: args.window,
        elapsed,
        submits,
        messages: run
            .tickets
            .load(Ordering::Relaxed)
            .min(run.count.unwrap_or(u64::MAX)),
        statuses,
        errors,
        latency: Percentiles::of(&latency),
        peaks,
        receipts: receipts.load(Ordering::Relaxed),
    })
}

/// One in-flight slot: sends a message, waits for its answers, repeats.
async fn worker(esme: Arc<Esme>, run: Arc<Run>, tally: Arc<Mutex<Tally>>, reference: u16) {
    let len = run.deck.len().max(1) as u64;
    while !run.stop.load(Ordering::Relaxed) {
        if let Some(permits) = &run.pacer {
            match permits.acquire().await {
                Ok(p) => p.forget(),
                Err(_) => break,
            }
            if run.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        let n = run.tickets.fetch_add(1, Ordering::Relaxed);
        if run.count.is_some_and(|c| n >= c) {
            break;
        }
        let Some(entry) = usize::try_from(n % len).ok().and_then(|i| run.deck.get(i)) else {
            break;
        };
        let Ok(requests) = entry.requests(reference) else {
            break;
        };
        let answered = if let [one] = requests.as_slice() {
            let r = esme.submit(one.clone()).await;
            let closed = matches!(r, Err(EsmeError::Closed));
            if let Ok(mut t) = tally.lock() {
                t.add(&r);
            }
            if closed {
                break;
            }
            1
        } else {
            let Ok(results) = esme.submit_many(requests).await else {
                break;
            };
            if let Ok(mut t) = tally.lock() {
                results.iter().for_each(|r| t.add(r));
            }
            results.len() as u64
        };
        run.answered.fetch_add(answered, Ordering::Relaxed);
    }
}

/// Prints a progress line every second on a terminal.
async fn progress(run: Arc<Run>) {
    let mut err = std::io::stderr();
    if !err.is_terminal() {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = 0;
    loop {
        tick.tick().await;
        let answered = run.answered.load(Ordering::Relaxed);
        let _ = write!(
            err,
            "\r{:>6.1} s  {answered:>10} answered  {:>9} /s   ",
            run.start.elapsed().as_secs_f64(),
            answered - last
        );
        let _ = err.flush();
        last = answered;
    }
}
