//! The [`Engine`]: the live ruleset behind an `ArcSwap`, an optional shadow candidate, and
//! hot reload.
//!
//! Scans load the current ruleset without locking; a reload parses and compiles on the
//! caller's thread (off the hot path) and then swaps the pointer. Scans already running
//! finish on the ruleset they loaded, which is freed when the last of them drops it.

use std::cell::RefCell;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, ArcSwapOption};
use smppguard_text::{DecodeOptions, DecodedPart, MatchText, PartInput};

use crate::compile::{Ruleset, RulesetStats, RulesetVersion};
use crate::error::{Diagnostic, Error};
use crate::input::{Envelope, Prepared};
use crate::pack::RulePack;
use crate::scan::{self, Scratch};
use crate::verdict::Verdict;

/// The filter engine shared by every worker: `Send + Sync`, scans are lock-free.
pub struct Engine {
    live: ArcSwap<Ruleset>,
    shadow: ArcSwapOption<Ruleset>,
    /// Serializes reloads so two concurrent ones do not both hold a compiler's memory.
    reloading: Mutex<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("live", &self.live.load().version)
            .field("shadow", &self.shadow.load().as_ref().map(|s| s.version))
            .finish()
    }
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadReport {
    /// The version that was live before.
    pub previous: RulesetVersion,
    /// The version live now (equal to `previous` when `unchanged`).
    pub current: RulesetVersion,
    /// The pack's name.
    pub name: String,
    /// The pack's own version string.
    pub pack_version: String,
    /// The new ruleset's sizes and compile time.
    pub stats: RulesetStats,
    /// Warnings from validation.
    pub warnings: Vec<Diagnostic>,
    /// The pack's content did not change, so nothing was compiled or swapped.
    pub unchanged: bool,
}

thread_local! {
    static THREAD_SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

// === impl Engine ===

impl Engine {
    /// An engine serving `ruleset`.
    pub fn new(ruleset: Ruleset) -> Self {
        Self {
            live: ArcSwap::from_pointee(ruleset),
            shadow: ArcSwapOption::empty(),
            reloading: Mutex::new(()),
        }
    }

    /// Loads, validates and compiles the pack at `path` and serves it.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        Ruleset::load(path).map(Self::new)
    }

    /// The live ruleset.
    pub fn ruleset(&self) -> Arc<Ruleset> {
        self.live.load_full()
    }

    /// The live ruleset's version.
    pub fn version(&self) -> RulesetVersion {
        self.live.load().version
    }

    /// Scans one prepared message with the live ruleset (and the shadow one, if set).
    ///
    /// `scratch` belongs to the calling worker; it is resized on first use and after
    /// a reload.
    pub fn scan(&self, env: &Envelope<'_>, msg: &Prepared<'_>, scratch: &mut Scratch) -> Verdict {
        let live = self.live.load();
        let shadow = self.shadow.load();
        scan::run(
            &live,
            shadow.as_deref().map(|s| (s, msg)),
            env,
            msg,
            scratch,
        )
    }

    /// The one call per message: normalizes the decoded (reassembled) text with the
    /// pack's `[normalize]` options, extracts URLs and phone numbers, and scans.
    pub fn evaluate(&self, env: &Envelope<'_>, decoded: &str, scratch: &mut Scratch) -> Verdict {
        self.evaluate_message(env, decoded, None, scratch)
    }

    /// [`Engine::evaluate`] for a message that may be binary: `binary` holds the raw user
    /// data that `binary` patterns match (the text layer marks such parts).
    pub fn evaluate_message(
        &self,
        env: &Envelope<'_>,
        decoded: &str,
        binary: Option<&[u8]>,
        scratch: &mut Scratch,
    ) -> Verdict {
        let live = self.live.load();
        let shadow = self.shadow.load();
        // The match texts leave the scratch for the scan (they are borrowed by it) and
        // go back afterwards, keeping their buffers.
        let mut text = std::mem::take(&mut scratch.text);
        live.normalizer.normalize_into(decoded, &mut text);
        let verdict = scan_normalized(
            &live,
            shadow.as_deref(),
            env,
            decoded,
            binary,
            &text,
            scratch,
        );
        scratch.text = text;
        verdict
    }

    /// The one call per single-part message, from the PDU's bytes: decodes `part` and
    /// normalizes its text in one pass ([`Normalizer::decode_normalize_into`], with the
    /// live pack's `[normalize]` options), then scans. The same verdict as
    /// [`decode_part`](smppguard_text::decode_part) followed by
    /// [`Engine::evaluate_message`] (a binary part's body is matched by `binary`
    /// patterns), without the second pass over the text and without allocating: the
    /// decoded part and the match text live in `scratch`.
    ///
    /// Returns the verdict and the decoded part (its text is what an audit record
    /// quotes), borrowed from `scratch` until its next use. Multi-part messages are
    /// reassembled first and evaluated with [`Engine::evaluate_message`].
    ///
    /// [`Normalizer::decode_normalize_into`]: smppguard_text::Normalizer::decode_normalize_into
    pub fn evaluate_part<'s>(
        &self,
        env: &Envelope<'_>,
        part: &PartInput<'_>,
        opts: &DecodeOptions,
        scratch: &'s mut Scratch,
    ) -> (Verdict, &'s DecodedPart) {
        let live = self.live.load();
        let shadow = self.shadow.load();
        let mut decoded = std::mem::take(&mut scratch.decoded);
        let mut text = std::mem::take(&mut scratch.text);
        live.normalizer
            .decode_normalize_into(part, opts, &mut decoded, &mut text);
        let binary = decoded.binary.then(|| part.body());
        let verdict = scan_normalized(
            &live,
            shadow.as_deref(),
            env,
            &decoded.text,
            binary,
            &text,
            scratch,
        );
        scratch.text = text;
        scratch.decoded = decoded;
        (verdict, &scratch.decoded)
    }

    /// [`Engine::scan`] with a scratch kept in a thread-local, for callers that cannot
    /// carry one. Costs a thread-local access per call (see `docs/performance.md`).
    pub fn scan_with_thread_scratch(&self, env: &Envelope<'_>, msg: &Prepared<'_>) -> Verdict {
        THREAD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.scan(env, msg, &mut scratch),
            // Only reachable if a scan re-entered itself; a fresh scratch is still correct.
            Err(_) => self.scan(env, msg, &mut Scratch::new()),
        })
    }

    /// Loads, validates and compiles the pack at `path`, then makes it live.
    ///
    /// Blocking and slow for big packs: run it on a blocking thread. On any error the
    /// live ruleset stays as it was and the error says why. A pack whose content digest
    /// equals the live one is not recompiled.
    pub fn reload(&self, path: impl AsRef<Path>) -> Result<ReloadReport, Error> {
        let _guard = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let pack = RulePack::load(path)?;
        let previous = self.live.load_full();
        if pack.digest() == previous.version.0 {
            return Ok(ReloadReport {
                previous: previous.version,
                current: previous.version,
                name: previous.name.clone(),
                pack_version: previous.pack_version.clone(),
                stats: previous.stats.clone(),
                warnings: pack.warnings().to_vec(),
                unchanged: true,
            });
        }
        let warnings = pack.warnings().to_vec();
        // Databases whose input did not change are shared with the live ruleset.
        let ruleset = Ruleset::compile_with(pack, Some(&previous))?;
        let mut report = self.install(ruleset);
        report.warnings = warnings;
        Ok(report)
    }

    /// Makes an already compiled ruleset live (for callers that compile elsewhere).
    pub fn install(&self, ruleset: Ruleset) -> ReloadReport {
        let current = ruleset.version;
        let name = ruleset.name.clone();
        let pack_version = ruleset.pack_version.clone();
        let stats = ruleset.stats.clone();
        let previous = self.live.swap(Arc::new(ruleset));
        ReloadReport {
            previous: previous.version,
            current,
            name,
            pack_version,
            stats,
            warnings: Vec::new(),
            unchanged: false,
        }
    }

    /// Installs (or with `None` removes) a candidate ruleset that runs beside the live
    /// one. Its verdicts appear in [`Verdict::shadow`] and are never enforced. Returns
    /// the previous candidate.
    pub fn set_shadow(&self, candidate: Option<Ruleset>) -> Option<Arc<Ruleset>> {
        self.shadow.swap(candidate.map(Arc::new))
    }

    /// The shadow candidate, if one is installed.
    pub fn shadow(&self) -> Option<Arc<Ruleset>> {
        self.shadow.load_full()
    }

    /// Makes the shadow candidate live and removes it as a candidate; `None` when there
    /// is no candidate.
    pub fn promote_shadow(&self) -> Option<ReloadReport> {
        let _guard = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let candidate = self.shadow.swap(None)?;
        let previous = self.live.swap(Arc::clone(&candidate));
        Some(ReloadReport {
            previous: previous.version,
            current: candidate.version,
            name: candidate.name.clone(),
            pack_version: candidate.pack_version.clone(),
            stats: candidate.stats.clone(),
            warnings: Vec::new(),
            unchanged: false,
        })
    }
}

/// Scans a message whose match text for the live ruleset is `text`; a shadow ruleset with
/// other `[normalize]` options gets its own match text of `decoded`.
fn scan_normalized(
    live: &Ruleset,
    shadow: Option<&Ruleset>,
    env: &Envelope<'_>,
    decoded: &str,
    binary: Option<&[u8]>,
    text: &MatchText,
    scratch: &mut Scratch,
) -> Verdict {
    let msg = Prepared {
        binary,
        ..Prepared::from_match_text(decoded, text)
    };
    match shadow {
        Some(sh) if sh.normalize_options() != live.normalize_options() => {
            let mut shadow_text = std::mem::take(&mut scratch.shadow_text);
            sh.normalizer.normalize_into(decoded, &mut shadow_text);
            let shadow_msg = Prepared {
                binary,
                ..Prepared::from_match_text(decoded, &shadow_text)
            };
            let v = scan::run(live, Some((sh, &shadow_msg)), env, &msg, scratch);
            scratch.shadow_text = shadow_text;
            v
        }
        sh => scan::run(live, sh.map(|s| (s, &msg)), env, &msg, scratch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
        assert_send_sync::<Arc<Ruleset>>();
        fn assert_send<T: Send>() {}
        assert_send::<Scratch>();
        assert_send::<Verdict>();
    }
}
