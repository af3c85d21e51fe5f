//! The content decision for one whole message (all parts joined): the filter engine's
//! verdict, turned into what the proxy does and what the audit log records.
//!
//! The engine lives behind an `ArcSwapOption`, so a reload that adds, changes or
//! removes the rule pack swaps it without a lock on the hot path. Rule packs compile
//! on a blocking thread before the swap; the scan uses a Hyperscan scratch kept per
//! worker thread.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use smppguard_codec::CommandStatus;
use smppguard_filter::{Action, Engine, Envelope, Ruleset, Scratch, Verdict};
use smppguard_metrics::AccountMetrics;
use smppguard_text::{DecodeOptions, DecodedPart, PartInput};

use crate::config::AccountConfig;
use crate::server::Shared;
use crate::stats::inc;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// The rule pack in force.
#[derive(Debug)]
pub(crate) struct Rules {
    pub(crate) path: PathBuf,
    pub(crate) engine: Engine,
}

/// The live rules, if any.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    current: ArcSwapOption<Rules>,
}

/// A compiled rule pack waiting to be installed by a reload.
#[derive(Debug)]
pub(crate) enum Prepared {
    /// No rules configured.
    None,
    /// The pack at this path, compiled.
    Pack(PathBuf, Box<Ruleset>),
}

impl Filter {
    /// A filter serving the pack at `path`, compiled now (call off the reactor).
    pub(crate) fn load(path: Option<&Path>) -> Result<Filter, smppguard_filter::Error> {
        let f = Filter::default();
        if let Some(path) = path {
            let engine = Engine::load(path)?;
            f.current.store(Some(Arc::new(Rules {
                path: path.to_path_buf(),
                engine,
            })));
        }
        Ok(f)
    }

    /// The version of the live ruleset.
    pub(crate) fn version(&self) -> Option<String> {
        self.current
            .load()
            .as_ref()
            .map(|r| r.engine.version().to_string())
    }

    /// Compiles the pack for a reload (blocking; the live rules are untouched), taking
    /// every Hyperscan database whose input did not change from `live`
    /// ([`Ruleset::compile_with`]), and logs what it reused.
    pub(crate) fn prepare(
        path: Option<&Path>,
        live: Option<&Ruleset>,
    ) -> Result<Prepared, smppguard_filter::Error> {
        let Some(p) = path else {
            return Ok(Prepared::None);
        };
        let started = std::time::Instant::now();
        let ruleset = Ruleset::load_with(p, live)?;
        let stats = ruleset.stats();
        tracing::info!(
            version = %ruleset.version(),
            databases_reused = stats.reuse.reused,
            databases_compiled = stats.reuse.compiled,
            databases_patched = stats.reuse.patched,
            compile_seconds = started.elapsed().as_secs_f64(),
            compile_seconds_saved = stats.reuse.time_saved.as_secs_f64(),
            "rules compiled"
        );
        Ok(Prepared::Pack(p.to_path_buf(), Box::new(ruleset)))
    }

    /// The live ruleset, the base a reload's compile reuses databases from.
    fn live_ruleset(&self) -> Option<Arc<Ruleset>> {
        self.current.load().as_ref().map(|r| r.engine.ruleset())
    }

    /// [`Filter::prepare`] for a reload, on a thread of its own at the lowest CPU
    /// priority (`SCHED_IDLE` on Linux, else nice 19), so compiling a large pack takes CPU the sessions leave
    /// idle rather than CPU they need: under load, latency holds and the compile
    /// takes longer. Where the priority cannot be lowered it compiles at normal
    /// priority. `Err` when the thread could not be started or died.
    pub(crate) async fn prepare_in_background(
        &self,
        path: Option<PathBuf>,
    ) -> std::io::Result<Result<Prepared, smppguard_filter::Error>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let live = self.live_ruleset();
        std::thread::Builder::new()
            .name("smppguard-rules".into())
            .spawn(move || {
                lowest_priority();
                let _ = tx.send(Filter::prepare(path.as_deref(), live.as_deref()));
            })?;
        rx.await
            .map_err(|_| std::io::Error::other("the rule compiler thread ended early"))
    }

    /// Makes a prepared pack live.
    pub(crate) fn install(&self, prepared: Prepared) {
        match prepared {
            Prepared::None => self.current.store(None),
            Prepared::Pack(path, ruleset) => {
                let same_path = self.current.load().as_ref().is_some_and(|r| r.path == path);
                if same_path && let Some(r) = self.current.load().as_ref() {
                    // Same engine: scans in flight finish on the old ruleset.
                    let old = r.engine.ruleset();
                    r.engine.install(*ruleset);
                    retire(old);
                    return;
                }
                let old = self.current.swap(Some(Arc::new(Rules {
                    path,
                    engine: Engine::new(*ruleset),
                })));
                retire(old);
            }
        }
    }

    /// Scans a message for the admin API: the verdict and the normalized text, counted
    /// nowhere.
    pub(crate) fn scan_detached(
        &self,
        env: &Envelope<'_>,
        text: &str,
        binary: Option<&[u8]>,
    ) -> Option<crate::admin::ScanOutcome> {
        let rules = self.current.load();
        let rules = rules.as_ref()?;
        let verdict = rules
            .engine
            .evaluate_message(env, text, binary, &mut Scratch::new());
        let normalizer =
            smppguard_text::Normalizer::new(rules.engine.ruleset().normalize_options().clone());
        let normalized = normalizer.normalize(text).as_str().to_string();
        Some(crate::admin::ScanOutcome {
            verdict,
            normalized,
        })
    }

    /// Decodes, normalizes and scans one single-part message in one call, then hands
    /// the verdict and the decoded part to `then`, with the worker thread's buffers.
    fn evaluate_part<R>(
        &self,
        env: &Envelope<'_>,
        part: &PartInput<'_>,
        opts: &DecodeOptions,
        then: impl FnOnce(&Verdict, &DecodedPart) -> R,
    ) -> Option<R> {
        let rules = self.current.load();
        let rules = rules.as_ref()?;
        Some(with_scratch(|scratch| {
            let (verdict, decoded) = rules.engine.evaluate_part(env, part, opts, scratch);
            then(&verdict, decoded)
        }))
    }

    fn evaluate(&self, env: &Envelope<'_>, text: &str, binary: Option<&[u8]>) -> Option<Verdict> {
        let rules = self.current.load();
        let rules = rules.as_ref()?;
        Some(with_scratch(|scratch| {
            rules.engine.evaluate_message(env, text, binary, scratch)
        }))
    }
}

/// Runs `f` with the worker thread's scratch (a fresh one should a scan ever re-enter
/// itself on this thread).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::new()),
    })
}

/// Lowers the calling thread to the lowest CPU priority: `SCHED_IDLE` on Linux, else
/// nice 19, where supported.
fn lowest_priority() {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        // SCHED_IDLE: runs only on CPU time no other thread wants, and any thread that
        // wakes up takes the CPU back at once, which nice 19 alone does not promise.
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        match set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle) {
            Ok(()) => return,
            Err(e) => tracing::debug!(error = ?e, "cannot give a background thread SCHED_IDLE"),
        }
    }
    if let Err(e) = set_current_thread_priority(ThreadPriority::Min) {
        tracing::debug!(error = ?e, "cannot lower a background thread's priority");
    }
}

/// Drops a replaced ruleset on a low-priority thread of its own: freeing a large
/// pack's databases and tables takes milliseconds a session task should not wait.
/// When no thread can be started, the closure (and the ruleset) is dropped here; if a
/// scan still holds the ruleset, that scan frees it when it ends.
fn retire<T: Send + 'static>(old: T) {
    let _ = std::thread::Builder::new()
        .name("smppguard-retire".into())
        .spawn(move || {
            lowest_priority();
            drop(old);
        });
}

/// One message as the filter sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) account: &'a AccountConfig,
    pub(crate) source_addr: &'a str,
    pub(crate) destination_addr: &'a str,
    pub(crate) service_type: &'a str,
    pub(crate) data_coding: u8,
    pub(crate) esm_class: u8,
    /// The decoded text, every part joined.
    pub(crate) text: &'a str,
    /// The raw user data of a binary message.
    pub(crate) binary: Option<&'a [u8]>,
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Forward every part.
    Forward,
    /// Answer every part with this status; forward nothing.
    Block {
        status: CommandStatus,
        /// Kept for review rather than rejected outright (audited as such).
        quarantine: bool,
    },
    /// Answer success with a proxy-made message_id; forward nothing.
    Drop,
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inspection {
    pub(crate) decision: Decision,
    /// Ids of the rules that matched.
    pub(crate) rules: Vec<String>,
    /// The ruleset version that decided.
    pub(crate) ruleset_version: Option<String>,
}

impl Inspection {
    pub(crate) fn forward() -> Inspection {
        Inspection {
            decision: Decision::Forward,
            rules: Vec::new(),
            ruleset_version: None,
        }
    }

    /// The audit action label.
    pub(crate) fn action(&self) -> &'static str {
        match self.decision {
            Decision::Forward => "forward",
            Decision::Block {
                quarantine: true, ..
            } => "quarantine",
            Decision::Block { .. } => "reject",
            Decision::Drop => "drop",
        }
    }
}

/// Decides what to do with `msg`, counting the verdict in the filter's metrics and
/// the rule categories in the sending `account`'s. With no rule pack configured every message is
/// forwarded; a scan that fails is forwarded too (fail open) and counted.
pub(crate) fn inspect(
    shared: &Shared,
    account: Option<&AccountMetrics>,
    msg: &Message<'_>,
) -> Inspection {
    let env = envelope(msg);
    match shared.filter.evaluate(&env, msg.text, msg.binary) {
        Some(verdict) => decide(shared, account, &verdict),
        None => Inspection::forward(),
    }
}

/// [`inspect`] for a single-part message still in its PDU's bytes (`msg.text` and
/// `msg.binary` are not used): decoded, normalized and scanned in one call. Returns the
/// decision and, when the message is not forwarded, its decoded text for the audit
/// record (empty otherwise, so a forwarded message allocates nothing).
pub(crate) fn inspect_part(
    shared: &Shared,
    account: Option<&AccountMetrics>,
    msg: &Message<'_>,
    part: &PartInput<'_>,
    opts: &DecodeOptions,
) -> (Inspection, String) {
    let env = envelope(msg);
    shared
        .filter
        .evaluate_part(&env, part, opts, |verdict, decoded| {
            let inspection = decide(shared, account, verdict);
            let text = match inspection.decision {
                Decision::Forward => String::new(),
                _ => decoded.text.clone(),
            };
            (inspection, text)
        })
        .unwrap_or_else(|| (Inspection::forward(), String::new()))
}

fn envelope<'a>(msg: &Message<'a>) -> Envelope<'a> {
    Envelope {
        account: &msg.account.system_id,
        groups: &msg.account.groups,
        source_addr: msg.source_addr,
        destination_addr: msg.destination_addr,
        service_type: msg.service_type,
        data_coding: msg.data_coding,
        esm_class: msg.esm_class,
    }
}

/// The decision for a verdict, counted in the metrics.
fn decide(shared: &Shared, account: Option<&AccountMetrics>, verdict: &Verdict) -> Inspection {
    crate::metrics::count_verdict(&shared.metrics, account, verdict);
    if let Some(e) = &verdict.error {
        inc(&shared.stats.scan_errors);
        tracing::error!(error = e.as_str(), "scan failed; message forwarded");
    }
    let decision = match verdict.action {
        Action::Allow | Action::Monitor | Action::Tag => Decision::Forward,
        Action::Reject { status } => Decision::Block {
            status: if status == 0 {
                shared.fixed.relay.block_status
            } else {
                CommandStatus(status)
            },
            quarantine: false,
        },
        Action::Quarantine => Decision::Block {
            status: shared.fixed.relay.block_status,
            quarantine: true,
        },
        Action::Drop => Decision::Drop,
    };
    if decision == Decision::Forward && verdict.matches.is_empty() {
        return Inspection::forward();
    }
    Inspection {
        decision,
        rules: verdict.matches.iter().map(|m| m.id.to_string()).collect(),
        ruleset_version: Some(verdict.ruleset_version.to_string()),
    }
}
