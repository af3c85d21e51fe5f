//! smppguard's filter engine: rule packs compiled to Hyperscan, lists, policy,
//! explainable verdicts, hot swap and shadow mode.
//!
//! Given a message's envelope (account, addresses, service_type, data_coding) and its
//! decoded, reassembled text, the engine normalizes the text, decides in microseconds
//! what to do with the message and says why; [`Engine::evaluate`] is the one call per
//! message, and [`Engine::evaluate_part`] the one call per single-part message straight
//! from its PDU bytes (decoding and normalization in one pass). It returns data only: no I/O, no async runtime, no metrics. The proxy counts,
//! logs and acts on the [`Verdict`].
//!
//! The key types:
//! - [`RulePack`]: a validated rule pack, loaded from a TOML file or a directory of them
//!   (format reference: `docs/rules.md`);
//! - [`Ruleset`]: the compiled, immutable form (one Hyperscan database per field, and in
//!   big packs gated group databases);
//! - [`Engine`]: the live ruleset behind an `ArcSwap`, hot reload, shadow candidate;
//! - [`Scratch`]: per-worker scanning state;
//! - [`Verdict`]: the action, the matched rules with quoted evidence, the ruleset version.
//!
//! ```no_run
//! use smppguard_filter::{Engine, Envelope, Scratch};
//!
//! let engine = Engine::load("rules/default")?;
//! let mut scratch = Scratch::new(); // one per worker thread
//! let env = Envelope { account: "acme", source_addr: "ACME", ..Envelope::default() };
//! // The decoded, reassembled text; the engine normalizes it with the pack's options.
//! let verdict = engine.evaluate(&env, "您的信用卡可提額，請電 0912345678", &mut scratch);
//! if verdict.is_blocking() { /* answer with the action's status, do not forward */ }
//! # Ok::<(), smppguard_filter::Error>(())
//! ```
//!
//! # Layout
//! - `model`: actions, modes, categories and fields (bounded label values);
//! - `pack`: the TOML format, loading and validation; `expr`: the `when` language;
//! - `list`: domain, phone and sender lists;
//! - `compile`: pack → Hyperscan databases and evaluation tables; `compile::gate`: the
//!   guard literals that keep big packs' costly expressions unscanned until they can match;
//!   `compile::reuse`: a reload's databases taken from the live ruleset where their input
//!   did not change ([`Ruleset::compile_with`], [`ReuseStats`]); `compile::split`: gap
//!   expressions of long literal pieces matched as those literals and joined after the scan;
//! - `scan`: per-message scanning and rule evaluation; `verdict`: its result;
//! - `engine`: live/shadow rulesets and reload; `input`: what the caller hands in;
//! - `error`: load, validation and compile errors with file, line, rule and pattern.
//!
//! # Cargo features
//! None. Hyperscan is linked from the system (`libhyperscan-dev`, 5.4).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod compile;
mod digest;
mod engine;
mod error;
mod expr;
mod input;
mod list;
mod model;
mod pack;
mod scan;
mod verdict;

/// The hasher of the engine's hot-path sets and maps: foldhash, several times faster than
/// SipHash on short keys; keys are operator data, so hash flooding does not apply.
pub(crate) type FastHash = foldhash::fast::RandomState;

pub use crate::compile::{
    ExpressionInfo, ReuseStats, RuleInfo, Ruleset, RulesetStats, RulesetVersion,
};
pub use crate::engine::{Engine, ReloadReport};
pub use crate::error::{Diagnostic, Error, Location, Problem};
pub use crate::expr::{ExprError, ExprErrorKind};
pub use crate::input::{Envelope, OffsetMap, Prepared};
pub use crate::list::ListKind;
pub use crate::model::{Action, ActionKind, Category, DEFAULT_REJECT_STATUS, Field, Mode};
pub use crate::pack::{FORMAT_VERSION, RulePack};
pub use crate::scan::Scratch;
pub use crate::verdict::{Evidence, MAX_QUOTE, RuleMatch, ScanError, ShadowVerdict, Span, Verdict};
pub use smppguard_text::{DecodeOptions, DecodedPart, Extracted, NormalizeOptions, PartInput};
