//! Compiling a [`RulePack`] into an immutable [`Ruleset`]: one Hyperscan block-mode
//! database per field, the term and rule tables the evaluator walks, and the indexes that
//! pick which rules to evaluate for a message.
//!
//! Hot-path choices, measured in `docs/performance.md`:
//! - no start-of-match (SOM) in the scanning databases; a match's start is computed after
//!   the verdict, and only for rules that matched: literals by length, regexes through an
//!   end-anchored `regex` crate search of the value up to the match's end, compiled with
//!   the ruleset, so no scan ever waits for a compile (Hyperscan's own start-of-match
//!   databases compile ten times slower than the scanning ones and reject some
//!   expressions);
//! - `SINGLEMATCH` on every expression: a term only needs to know it matched once;
//! - identical expressions on the same field are compiled once and fan out to every
//!   pattern that uses them;
//! - expressions whose matches do not depend on UTF-8 decoding (literals, alternations of
//!   literals, ASCII classes) are compiled as plain bytes, without UTF-8 mode and UCP
//!   (see [`bytewise`]): Hyperscan's byte engines are faster than its UTF-8 automata;
//! - `.` ("the field has a value") is answered from the value itself, without a scan, and a
//!   field left with no other expression has no database at all;
//! - gap expressions (`A.{0,12}B`, pieces of literals between bounded gaps) are matched
//!   as their literal pieces, every occurrence reported, and joined after the scan (see
//!   [`split`]): a database of literals stays small enough to stay in the CPU's caches.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyperscan::{BlockDatabase, Builder, Pattern, PatternFlags, Patterns};
use smppguard_text::{NormalizeOptions, Normalizer};

use crate::error::{Diagnostic, Error, Problem};
use crate::list::{List, ListKind};
use crate::model::{Action, Category, Field, Mode};
use crate::pack::{Cond, HsExpr, Node, RuleDef, RulePack, TermDef, TermKind};

mod bytewise;
#[cfg(test)]
mod equivalence;
mod gate;
mod reuse;
mod split;

pub use reuse::ReuseStats;
use reuse::{Db, Reuser};
pub(crate) use split::{JoinBufs, Occurrences};

/// Identifies a compiled ruleset: a digest of the pack's files and lists, so the same pack
/// has the same version on every node and after every restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RulesetVersion(pub u64);

impl std::fmt::Display for RulesetVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A rule of a compiled ruleset, as listed by [`Ruleset::rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleInfo<'a> {
    /// The rule id.
    pub id: &'a str,
    /// What the rule is for.
    pub description: &'a str,
    /// Its category.
    pub category: Category,
    /// Its action.
    pub action: Action,
    /// Enforce or monitor.
    pub mode: Mode,
    /// Its priority.
    pub priority: i32,
}

/// One Hyperscan expression of a compiled ruleset, as [`Ruleset::expressions`] lists it:
/// what a cost profile compiles alone to find which expressions a pack's scan time goes to.
#[derive(Clone, Debug)]
pub struct ExpressionInfo<'a> {
    /// The field whose database holds it.
    pub field: Field,
    /// The expression as handed to Hyperscan (literals escaped, text patterns folded).
    pub expression: &'a str,
    /// The patterns that use it, as `rule-id.name` for a rule's own pattern and `name` for
    /// a shared one.
    pub patterns: Vec<String>,
    /// Whether it is in the field's Hyperscan database; `false` for `.`, which is answered
    /// from the value without a scan.
    pub scanned: bool,
    /// Whether the database holds its literal pieces instead, joined after the scan
    /// (a gap expression); [`ExpressionInfo::hyperscan_pattern`] is still the whole
    /// expression.
    pub split: bool,
    /// Its guard: literals one of which every match contains (a literal is its own);
    /// `None` when it has none, so it is scanned on every value even where its field is
    /// gated (only fields with many costly expressions are).
    pub guard: Option<Vec<String>>,
    flags: PatternFlags,
}

impl ExpressionInfo<'_> {
    /// The Hyperscan pattern exactly as the ruleset compiles it (flags included, no id).
    pub fn hyperscan_pattern(&self) -> Pattern {
        Pattern {
            expression: self.expression.to_owned(),
            flags: self.flags,
            id: None,
            ext: Default::default(),
            som: None,
        }
    }
}

/// Sizes and timings of a compiled ruleset, for `rules check`, reload reports and metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesetStats {
    /// Rules.
    pub rules: usize,
    /// Named patterns (shared and rule-local) in use.
    pub patterns: usize,
    /// Distinct Hyperscan expressions, over all fields.
    pub expressions: usize,
    /// Lists.
    pub lists: usize,
    /// Entries over all lists.
    pub list_entries: usize,
    /// Bytes of all Hyperscan databases.
    pub database_bytes: usize,
    /// Bytes of one scanning scratch (one per worker thread).
    pub scratch_bytes: usize,
    /// Wall time of the Hyperscan compilation, explanation databases included.
    pub compile_time: Duration,
    /// Part of `compile_time`: compiling the regexes that find where a match starts.
    pub explain_compile_time: Duration,
    /// Expressions whose match start cannot be computed (their syntax is Hyperscan's
    /// only): their evidence has no quoted span.
    pub unexplained_expressions: usize,
    /// Expressions scanned on every value because they have no guard (no literal every
    /// match contains, or only a frequent one): each costs scan time on every message.
    pub unguarded_expressions: usize,
    /// Databases of guarded expressions, scanned only when a guard literal matched.
    pub gated_groups: usize,
    /// Databases taken from the live ruleset by [`Ruleset::compile_with`].
    pub reuse: ReuseStats,
    /// Gap expressions matched as their literal pieces, joined after the scan.
    pub split_expressions: usize,
}

/// One field's databases and the tables that map their match ids back to patterns.
///
/// With gating ([`gate`]), `db` holds the literal expressions, the expressions without a
/// guard, and every guard literal; the other expressions are in `groups`, scanned only
/// when one of their guard literals matched. Without gating, `db` holds everything.
pub(crate) struct FieldDb {
    /// Scanned on every value; `None` when every expression of the field is answered
    /// without a scan. A match id below `exprs.len()` is that expression's; the id
    /// `exprs.len() + k` is guard literal `k`.
    pub(crate) db: Option<Db>,
    /// Guard literal → the groups it opens (CSR).
    gate_start: Vec<u32>,
    gate_groups: Vec<u32>,
    /// Databases of guarded expressions (match ids are expression ids).
    pub(crate) groups: Vec<Db>,
    /// Group → the terms its expressions belong to (CSR).
    group_term_start: Vec<u32>,
    group_term_ids: Vec<u32>,
    /// Per group: whether one of its terms is named, directly or through `@`, by a rule
    /// with `not` or a list, so the group is scanned whenever it is opened.
    pub(crate) group_always: Vec<bool>,
    /// Expressions answered without a scan: `.` (see [`AnyValue`]).
    pub(crate) any_value: Vec<(u32, AnyValue)>,
    /// Expression id → range in `term_ids` (CSR layout).
    expr_term_start: Vec<u32>,
    term_ids: Vec<u32>,
    /// The expressions, for explanations.
    pub(crate) exprs: Vec<HsExpr>,
    /// Per expression whose match start is not known from its length, an end-anchored
    /// regex that finds it (see [`explainer`]).
    pub(crate) explain: Vec<Option<regex::bytes::Regex>>,
    /// The first match id of a piece of a split expression; ids from here on are pieces'.
    piece_base: u32,
    /// Per piece id (counted from `piece_base`): its byte width.
    pub(crate) piece_width: Vec<u32>,
    /// Piece id → the split expressions (indexes into `splits`) a branch of which it ends
    /// (CSR).
    piece_split_start: Vec<u32>,
    piece_split_ids: Vec<u32>,
    /// The expressions matched as pieces.
    pub(crate) splits: Vec<SplitExpr>,
}

/// An expression matched as its literal pieces ([`split`]).
pub(crate) struct SplitExpr {
    /// The expression id.
    pub(crate) expr: u32,
    pub(crate) split: split::Split,
    /// Per piece of `split`: its piece ids, one per byte width.
    pub(crate) ids: Vec<Vec<u32>>,
}

/// An expression that matches any value with a character in it: `.` (with dot-all, any
/// character; without, any but a newline).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AnyValue {
    /// `.` with dot-all.
    AnyChar,
    /// `.` without dot-all.
    AnyButNewline,
}

impl AnyValue {
    /// The kind of `e`, if it is one.
    fn of(e: &HsExpr) -> Option<Self> {
        if e.expression != "." {
            return None;
        }
        Some(if e.flags.dotall {
            Self::AnyChar
        } else {
            Self::AnyButNewline
        })
    }

    /// Where the first match of the expression in `value` ends, as Hyperscan would report
    /// it: after the first character it accepts (a whole UTF-8 character in UTF-8 mode).
    pub(crate) fn first_match_end(self, value: &[u8], utf8: bool) -> Option<usize> {
        let start = match self {
            Self::AnyChar => 0,
            Self::AnyButNewline => value.iter().position(|&b| b != b'\n')?,
        };
        let first = *value.get(start)?;
        let len = if utf8 {
            match first {
                0xf0..=0xff => 4,
                0xe0..=0xef => 3,
                0xc0..=0xdf => 2,
                _ => 1,
            }
        } else {
            1
        };
        Some(start.saturating_add(len).min(value.len()))
    }
}

impl FieldDb {
    /// The piece id of a match of `db` with id `id`, when it is a piece's.
    pub(crate) fn piece_of(&self, id: u32) -> Option<u32> {
        id.checked_sub(self.piece_base)
    }

    /// The split expressions (indexes into `splits`) a branch of which piece `p` ends.
    pub(crate) fn splits_of_piece(&self, p: u32) -> &[u32] {
        csr_get(&self.piece_split_start, &self.piece_split_ids, p)
    }

    /// The groups a match of `db` with id `id` opens, when it is a guard literal's.
    pub(crate) fn opened_by(&self, id: u32) -> Option<&[u32]> {
        if id >= self.piece_base {
            return None;
        }
        let k = id.checked_sub(u32::try_from(self.exprs.len()).ok()?)?;
        Some(csr_get(&self.gate_start, &self.gate_groups, k))
    }

    /// The terms of the expressions of group `g`.
    pub(crate) fn group_terms(&self, g: u32) -> &[u32] {
        csr_get(&self.group_term_start, &self.group_term_ids, g)
    }

    /// Every Hyperscan database of the field, for sizing a scratch.
    pub(crate) fn databases(&self) -> impl Iterator<Item = &BlockDatabase> {
        self.db.iter().chain(&self.groups).flat_map(Db::databases)
    }

    /// The patterns (terms) expression `id` belongs to.
    pub(crate) fn terms_of(&self, id: u32) -> &[u32] {
        let i = id as usize;
        match (self.expr_term_start.get(i), self.expr_term_start.get(i + 1)) {
            (Some(&a), Some(&b)) => self
                .term_ids
                .get(a as usize..b as usize)
                .unwrap_or_default(),
            _ => &[],
        }
    }
}

/// Whether a match of `e` needs the explanation database to find its start: regexes, and
/// literals that fold non-ASCII case (a folded match may differ in byte length).
pub(crate) fn needs_som(e: &HsExpr) -> bool {
    match &e.literal {
        None => true,
        Some(lit) => e.flags.caseless && !lit.is_ascii(),
    }
}

/// The regex that finds where a match of `e` starts: `(?:e)\z`, searched in the value up
/// to the match's end, so its leftmost match is the leftmost start of a match ending
/// there (Hyperscan's `SOM_LEFTMOST`). `None` when `e` does not need one or uses syntax
/// the `regex` crate lacks (then the evidence has no span). Word and class escapes are
/// Unicode-aware here even where Hyperscan's are ASCII: the start may then differ at a
/// non-ASCII word edge, never the verdict.
pub(crate) fn explainer(e: &HsExpr) -> Option<regex::bytes::Regex> {
    if !needs_som(e) {
        return None;
    }
    COMPILES.with(|c| c.set(c.get().saturating_add(1)));
    regex::bytes::RegexBuilder::new(&format!("(?:{})\\z", e.expression))
        .case_insensitive(e.flags.caseless)
        .dot_matches_new_line(e.flags.dotall)
        .unicode(e.flags.utf8)
        .build()
        .ok()
}

/// A compiled, immutable ruleset, shared by every worker through an `Arc`.
pub struct Ruleset {
    /// Process-unique, so a scratch knows which ruleset it was sized for.
    pub(crate) serial: u64,
    pub(crate) version: RulesetVersion,
    pub(crate) name: String,
    pub(crate) pack_version: String,
    pub(crate) fields: [Option<FieldDb>; Field::ALL.len()],
    pub(crate) terms: Vec<TermDef>,
    pub(crate) rules: Vec<RuleDef>,
    pub(crate) rule_ids: Vec<Arc<str>>,
    /// Pattern names, shared by every verdict that quotes them.
    pub(crate) term_names: Vec<Arc<str>>,
    pub(crate) lists: Vec<List>,
    /// Per term: its list's index for a list term, [`NO_LIST`] for an expression term
    /// (the evaluator's copy of each term's kind, compact so it stays in cache).
    pub(crate) term_list: Vec<u32>,
    /// Per rule: whether its scope can exclude a message ([`crate::pack::Scope::restricts`]).
    pub(crate) rule_scoped: Vec<bool>,
    /// Every rule's condition, flattened ([`Node`]); rule `r`'s root is `cond_root[r]`.
    pub(crate) cond_nodes: Vec<Node>,
    pub(crate) cond_root: Vec<u32>,
    /// Term → rules whose own condition names it (CSR).
    term_rule_start: Vec<u32>,
    term_rule_ids: Vec<u32>,
    /// Rule → rules whose condition names it with `@` (CSR).
    dep_start: Vec<u32>,
    dep_ids: Vec<u32>,
    /// Per rule: its own condition has no `not` and no list term, so it can only be true
    /// when the terms it names can (`@` references are judged on their own).
    pub(crate) monotone: Vec<bool>,
    /// Rules that can be true without any Hyperscan match (they use `not` or a list), by
    /// the scope key that can make them apply.
    pub(crate) always_global: Vec<u32>,
    pub(crate) always_by_account: HashMap<String, Vec<u32>, crate::FastHash>,
    pub(crate) always_by_group: HashMap<String, Vec<u32>, crate::FastHash>,
    /// A scratch sized for every database, cloned for each new worker (`hs_clone_scratch`).
    prototype: Mutex<hyperscan::Scratch>,
    pub(crate) normalizer: Normalizer,
    pub(crate) stats: RulesetStats,
    tuning: Tuning,
}

impl std::fmt::Debug for Ruleset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ruleset")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A field's expressions and its (expression id, term) pairs, while compiling.
type FieldExprs = (Vec<HsExpr>, Vec<(u32, u32)>);

static SERIAL: AtomicU64 = AtomicU64::new(1);

/// [`Ruleset::term_list`] of an expression term.
pub(crate) const NO_LIST: u32 = u32::MAX;

thread_local! {
    /// Hyperscan databases and explanation regexes compiled on this thread: lets tests
    /// prove that scanning and explaining never compile.
    static COMPILES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Compiles `patterns` into a block database, counting it.
fn build_db(patterns: &Patterns) -> Result<BlockDatabase, hyperscan::Error> {
    COMPILES.with(|c| c.set(c.get().saturating_add(1)));
    patterns.build()
}

/// Hyperscan databases and explanation regexes compiled so far on the calling thread.
#[cfg(test)]
pub(crate) fn compiles_on_this_thread() -> u64 {
    COMPILES.with(std::cell::Cell::get)
}

/// Which of the compile-time optimizations a ruleset uses: all of them, except in tests
/// that check the verdicts do not change without them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// Compile UTF-8-insensitive expressions as plain bytes ([`bytewise`]).
    pub(crate) bytewise: bool,
    /// Answer `.` from the value, without a scan ([`AnyValue`]).
    pub(crate) any_value: bool,
    /// Scan guarded expressions only when a guard literal matched ([`gate`]).
    pub(crate) gate: bool,
    /// The most guarded expressions in one group database.
    pub(crate) group_size: usize,
    /// The fewest costly guarded expressions for which a field is gated; a field with
    /// fewer keeps them all in one database.
    pub(crate) min_gated: usize,
    /// Match gap expressions as their literal pieces ([`split`]).
    pub(crate) split: bool,
    /// Split only expressions whose every piece string weighs at least this much
    /// ([`gate::weight`]).
    pub(crate) split_min_weight: u8,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            bytewise: true,
            any_value: true,
            gate: true,
            group_size: GROUP_SIZE,
            min_gated: MIN_GATED,
            split: true,
            split_min_weight: SPLIT_MIN_WEIGHT,
        }
    }
}

/// The default [`Tuning::min_gated`]. Gating pays when a field has many costly
/// expressions, most of them rarely opened: with the generated packs (200 and 2000 costly
/// expressions) it cuts the scan by a third and by half. The default pack has 68, each
/// compiled alone into a database of 100–400 KiB (Hyperscan builds a single expression as
/// one large automaton where a shared database decomposes it), and its frequent English
/// and Chinese guard words open one or two per message: the cold group scans then cost
/// more than the shared database (measured in `docs/performance.md`).
const MIN_GATED: usize = 128;

/// The default [`Tuning::split_min_weight`]: two Chinese characters or four ASCII
/// letters. A piece is reported at every occurrence, and a short, frequent one (`加`,
/// `u`, `no`) is reported many times per message: splitting every gap expression of the
/// default pack (43) measured 13–15 % slower than not splitting, and splitting those
/// whose pieces weigh 2 or more (41) as slow; at 4 (15 expressions) the scan is as fast
/// as unsplit within this machine's noise and the database 4 % smaller
/// (`docs/performance.md`).
const SPLIT_MIN_WEIGHT: u8 = 4;

/// An expression's guard, as the compiler uses it.
struct GuardInfo {
    /// The literals, as Hyperscan expressions.
    literals: Vec<String>,
    /// Whether the expression goes to a group database ([`gate::Guard::costly`]).
    costly: bool,
    /// Whether every literal is ASCII (English words, in practice).
    ascii: bool,
}

/// The default [`Tuning::group_size`]: with the generated 1k and 10k packs, groups of one
/// and of four expressions scan equally fast (`docs/performance.md`), and four make a
/// quarter as many databases to compile and size the scratch for.
const GROUP_SIZE: usize = 4;

impl Tuning {
    /// No optimization at all.
    pub(crate) const PLAIN: Self = Self {
        bytewise: false,
        any_value: false,
        gate: false,
        group_size: GROUP_SIZE,
        min_gated: MIN_GATED,
        split: false,
        split_min_weight: SPLIT_MIN_WEIGHT,
    };
}

impl Tuning {
    /// Whether `e` is compiled as plain bytes on `field` of a pack with `normalizer`.
    fn bytes(self, e: &HsExpr, field: Field, normalizer: &Normalizer) -> bool {
        let nfkc_text = field == Field::Text && normalizer.options().nfkc;
        self.bytewise && bytewise::is_bytewise(e, nfkc_text)
    }

    /// The guard literals of `e` (compiled as `bytes`), as Hyperscan expressions; a
    /// literal is its own guard.
    ///
    /// The flag says whether the expression goes to a group database (see
    /// [`gate::Guard::costly`]); a literal and a cheap expression stay in the field's.
    fn guard(self, e: &HsExpr, bytes: bool) -> Option<GuardInfo> {
        if !self.gate {
            return None;
        }
        if let Some(lit) = &e.literal {
            return Some(GuardInfo {
                literals: vec![e.expression.clone()],
                costly: false,
                ascii: lit.is_ascii(),
            });
        }
        let utf8 = e.flags.utf8 && !bytes;
        let g = gate::guard(&e.expression, utf8, e.flags.dotall)?;
        let literals = g
            .literals
            .iter()
            .map(|l| gate::literal_expression(l, utf8))
            .collect::<Option<_>>()?;
        Some(GuardInfo {
            literals,
            costly: g.costly,
            ascii: g.literals.iter().all(|l| l.is_ascii()),
        })
    }

    /// Whether `e` is answered without a scan.
    fn any_value(self, e: &HsExpr) -> Option<AnyValue> {
        if self.any_value {
            AnyValue::of(e)
        } else {
            None
        }
    }
}

/// The pieces of a field's split expressions, deduplicated: their patterns (ids set
/// later) and byte widths, by piece id.
#[derive(Default)]
struct Pieces {
    patterns: Vec<Pattern>,
    width: Vec<u32>,
    ids: HashMap<(String, u32), u32>,
}

impl Pieces {
    /// Splits expression `id` if it has the shape ([`split::split`]) and Hyperscan takes
    /// every piece, numbering the new pieces.
    fn split(
        &mut self,
        id: u32,
        e: &HsExpr,
        field: Field,
        normalizer: &Normalizer,
        tuning: Tuning,
    ) -> Option<SplitExpr> {
        let nfkc_text = field == Field::Text && normalizer.options().nfkc;
        let s = split::split(e, nfkc_text)?;
        if s.min_weight < f32::from(tuning.split_min_weight) {
            return None;
        }
        let flags = crate::pack::ExprFlags {
            dotall: false,
            ..e.flags
        };
        // The pieces' patterns, every occurrence reported (no `SINGLEMATCH`).
        let mut built: Vec<Vec<(Pattern, u32)>> = Vec::with_capacity(s.pieces.len());
        for piece in &s.pieces {
            let mut ps = Vec::with_capacity(piece.len());
            for (expression, width) in piece {
                let pe = HsExpr {
                    expression: expression.clone(),
                    flags,
                    literal: None,
                };
                let bytes = s.bytes || tuning.bytes(&pe, field, normalizer);
                let p = pattern(&pe, false, bytes);
                p.info().ok()?;

                ps.push((p, *width));
            }
            built.push(ps);
        }
        // The other branches, matched whole, may be a part Hyperscan refuses alone (a
        // branch that can never match).
        if let Some(rest) = s.rest_expr(e) {
            pattern(&rest, true, false).info().ok()?;
        }
        let ids = built
            .into_iter()
            .map(|ps| {
                ps.into_iter()
                    .map(|(p, width)| {
                        let next = u32::try_from(self.patterns.len()).unwrap_or(u32::MAX);
                        *self
                            .ids
                            .entry((p.expression.clone(), p.flags.bits()))
                            .or_insert_with(|| {
                                self.patterns.push(p);
                                self.width.push(width);
                                next
                            })
                    })
                    .collect()
            })
            .collect();
        Some(SplitExpr {
            expr: id,
            split: s,
            ids,
        })
    }
}

/// Builds the Hyperscan pattern for an expression. `single` adds `SINGLEMATCH`; `bytes`
/// compiles it without UTF-8 mode and UCP (see [`bytewise::is_bytewise`]).
fn pattern(e: &HsExpr, single: bool, bytes: bool) -> Pattern {
    let mut flags = PatternFlags::empty();
    if e.flags.caseless {
        flags |= PatternFlags::CASELESS;
    }
    if e.flags.dotall {
        flags |= PatternFlags::DOTALL;
    }
    if e.flags.utf8 && !bytes {
        flags |= PatternFlags::UTF8;
    }
    if e.flags.ucp && !bytes {
        flags |= PatternFlags::UCP;
    }
    if single {
        flags |= PatternFlags::SINGLEMATCH;
    }
    Pattern {
        expression: e.expression.clone(),
        flags,
        id: None,
        ext: Default::default(),
        som: None,
    }
}

/// Turns a Hyperscan error into a [`Problem`], pulling out the position it names.
fn regex_problem(err: &hyperscan::Error) -> Problem {
    match err {
        hyperscan::Error::Hyperscan(hyperscan::HsError::CompileError(ce)) => {
            let message = ce.message().trim_end_matches('.');
            // "… at index 13": the position goes in its own field.
            let (message, position) = match message.rsplit_once(" at index ") {
                Some((m, n)) => match n.trim().parse() {
                    Ok(p) => (m, Some(p)),
                    Err(_) => (message, None),
                },
                None => (message, None),
            };
            Problem::Regex {
                message: message.to_owned(),
                position,
                expression: None,
            }
        }
        hyperscan::Error::NulByte(_) => Problem::Regex {
            message: "the expression contains a NUL byte; write it as \\x00".into(),
            position: None,
            expression: None,
        },
        other => Problem::Regex {
            message: other
                .to_string()
                .to_lowercase()
                .trim_end_matches('.')
                .to_owned(),
            position: None,
            expression: None,
        },
    }
}

/// The longest literal [`check_expression`] takes as valid without Hyperscan's analyser.
const TRUSTED_LITERAL: usize = 1024;

/// Checks one expression with Hyperscan's analyser, without compiling a database.
///
/// A literal the pack escaped (non-empty, every ASCII symbol as `\xNN`) always parses and
/// matches at least one character: it is not analysed (the analyser was nearly all of a
/// pack of literals' load time, and so of each reload of it). A longer one than
/// [`TRUSTED_LITERAL`] still is, for Hyperscan's size limits.
pub(crate) fn check_expression(e: &HsExpr) -> Result<(), Problem> {
    if e.literal.as_ref().is_some_and(|l| !l.is_empty()) && e.expression.len() <= TRUSTED_LITERAL {
        return Ok(());
    }
    let info = pattern(e, false, false)
        .info()
        .map_err(|err| regex_problem(&err))?;
    if info.min_width() == 0 {
        return Err(Problem::MatchesEmpty);
    }
    Ok(())
}

/// Whether `cond` can be true when no Hyperscan term matched (conservative: `not` and
/// list terms count as "can").
fn fires_without_match(cond: &Cond, terms: &[TermDef], rules: &[RuleDef], depth: usize) -> bool {
    match cond {
        Cond::Term(t) => matches!(
            terms.get(*t as usize).map(|t| &t.kind),
            Some(TermKind::List(_))
        ),
        Cond::Rule(r) => {
            depth > crate::pack::MAX_REF_DEPTH
                || rules
                    .get(*r as usize)
                    .is_some_and(|r| fires_without_match(&r.cond, terms, rules, depth + 1))
        }
        Cond::Not(_) => true,
        Cond::And(cs) => cs
            .iter()
            .all(|c| fires_without_match(c, terms, rules, depth)),
        Cond::Or(cs) => cs
            .iter()
            .any(|c| fires_without_match(c, terms, rules, depth)),
    }
}

/// Builds a CSR table from (key, value) pairs over `n` keys.
fn csr(n: usize, mut pairs: Vec<(u32, u32)>) -> (Vec<u32>, Vec<u32>) {
    pairs.sort_unstable();
    pairs.dedup();
    let mut start = vec![0u32; n + 1];
    for &(k, _) in &pairs {
        if let Some(s) = start.get_mut(k as usize + 1) {
            *s += 1;
        }
    }
    for i in 1..start.len() {
        let prev = start.get(i - 1).copied().unwrap_or(0);
        if let Some(s) = start.get_mut(i) {
            *s += prev;
        }
    }
    (start, pairs.into_iter().map(|(_, v)| v).collect())
}

fn csr_get<'a>(start: &[u32], ids: &'a [u32], key: u32) -> &'a [u32] {
    let k = key as usize;
    match (start.get(k), start.get(k + 1)) {
        (Some(&a), Some(&b)) => ids.get(a as usize..b as usize).unwrap_or_default(),
        _ => &[],
    }
}

fn hs_error(what: &'static str, e: &hyperscan::Error) -> Error {
    Error::Hyperscan {
        what,
        message: e
            .to_string()
            .to_lowercase()
            .trim_end_matches('.')
            .to_owned(),
    }
}

// === impl Ruleset ===

impl Ruleset {
    /// Compiles a validated pack. This is slow for big packs (a 10k-expression pack takes
    /// tens of seconds): call it off the hot path, e.g. in `spawn_blocking`.
    pub fn compile(pack: RulePack) -> Result<Self, Error> {
        Self::compile_tuned(pack, Tuning::default())
    }

    /// [`Ruleset::compile`] for a reload: every Hyperscan database whose input is the same
    /// as one of `live`'s is shared with it rather than compiled, and a big field database
    /// that changed by a few patterns is patched: the live database with the removed patterns
    /// masked out, plus a small one of the added patterns. The verdicts are those
    /// of [`Ruleset::compile`]; [`RulesetStats::reuse`] says what was reused.
    pub fn compile_with(pack: RulePack, live: Option<&Ruleset>) -> Result<Self, Error> {
        Self::compile_reusing(pack, Tuning::default(), live)
    }

    /// Compiles without the scan optimizations (literal gating, expressions compiled as
    /// plain bytes, `.` answered without a scan): the same verdicts, slower. For
    /// measuring what the optimizations buy, side by side with [`Ruleset::compile`].
    pub fn compile_plain(pack: RulePack) -> Result<Self, Error> {
        Self::compile_tuned(pack, Tuning::PLAIN)
    }

    /// Compiles with every scan optimization but literal gating: the same verdicts. For
    /// measuring what gating buys, side by side with [`Ruleset::compile`].
    pub fn compile_ungated(pack: RulePack) -> Result<Self, Error> {
        Self::compile_tuned(
            pack,
            Tuning {
                gate: false,
                ..Tuning::default()
            },
        )
    }

    /// Compiles with every scan optimization but split gap expressions: the same
    /// verdicts. For measuring what splitting buys, side by side with
    /// [`Ruleset::compile`].
    pub fn compile_unsplit(pack: RulePack) -> Result<Self, Error> {
        Self::compile_tuned(
            pack,
            Tuning {
                split: false,
                ..Tuning::default()
            },
        )
    }

    /// [`Ruleset::compile`] with some of its optimizations turned off (tests compare the
    /// verdicts of both).
    pub(crate) fn compile_tuned(pack: RulePack, tuning: Tuning) -> Result<Self, Error> {
        Self::compile_reusing(pack, tuning, None)
    }

    fn compile_reusing(
        pack: RulePack,
        tuning: Tuning,
        live: Option<&Ruleset>,
    ) -> Result<Self, Error> {
        let mut reuser = Reuser::new(live);
        let RulePack {
            name,
            version: pack_version,
            normalizer,
            lists,
            terms,
            rules,
            digest,
            ..
        } = pack;

        // Expressions per field, deduplicated, each mapped to its terms.
        let mut per_field: Vec<FieldExprs> = (0..Field::ALL.len())
            .map(|_| (Vec::new(), Vec::new()))
            .collect();
        let mut seen: HashMap<(Field, &HsExpr), u32> = HashMap::new();
        let mut term_rule_pairs = Vec::new();
        for (ti, term) in terms.iter().enumerate() {
            let Ok(ti) = u32::try_from(ti) else { continue };
            let TermKind::Exprs(exprs) = &term.kind else {
                continue;
            };
            let Some((field_exprs, pairs)) = per_field.get_mut(term.field.index()) else {
                continue;
            };
            for e in exprs {
                let id = *seen.entry((term.field, e)).or_insert_with(|| {
                    field_exprs.push(e.clone());
                    u32::try_from(field_exprs.len() - 1).unwrap_or(u32::MAX)
                });
                pairs.push((id, ti));
            }
        }
        drop(seen);

        let started = Instant::now();
        let mut fields: [Option<FieldDb>; Field::ALL.len()] = Default::default();
        let mut prototype: Option<hyperscan::Scratch> = None;
        let mut database_bytes = 0;
        let mut explain_compile_time = Duration::ZERO;
        let mut unexplained_expressions = 0;
        let mut unguarded_expressions = 0;
        let mut gated_groups = 0;
        let mut split_expressions = 0;
        let mut expressions = 0;
        for (fi, (exprs, pairs)) in per_field.into_iter().enumerate() {
            if exprs.is_empty() {
                continue;
            }
            let field = Field::ALL.get(fi).copied().unwrap_or(Field::Text);
            let mut any_value = Vec::new();
            let mut patterns = Vec::with_capacity(exprs.len());
            // Guarded expressions: (guard literals as Hyperscan expressions, pattern).
            let mut guarded: Vec<(GuardInfo, Pattern)> = Vec::new();
            // Split expressions, and the pieces' patterns (ids set once the gate literals
            // are numbered) with their widths.
            let mut splits: Vec<SplitExpr> = Vec::new();
            let mut pieces = Pieces::default();
            // Each scanned expression's byte-mode and guard, derived once: the guards decide
            // both whether the field is gated and where each expression goes.
            // `Err`: answered from the value without a scan.
            let shapes: Vec<Result<(bool, Option<GuardInfo>), AnyValue>> = exprs
                .iter()
                .map(|e| match tuning.any_value(e) {
                    Some(kind) => Err(kind),
                    None => {
                        let bytes = tuning.bytes(e, field, &normalizer);
                        Ok((bytes, tuning.guard(e, bytes)))
                    }
                })
                .collect();
            // Not in a gated field: there the costly expressions are scanned only when
            // opened, and their pieces in the field's database measured slower (the
            // generated 1k pack: 643 against 395 ns per message).
            let costly = shapes
                .iter()
                .flatten()
                .filter(|(_, g)| g.as_ref().is_some_and(|g| g.costly))
                .count();
            let split_here = tuning.split && !(tuning.gate && costly >= tuning.min_gated);
            for ((i, e), shape) in exprs.iter().enumerate().zip(shapes) {
                let Ok(id) = u32::try_from(i) else { continue };
                let (bytes, guard) = match shape {
                    Ok(shape) => shape,
                    Err(kind) => {
                        any_value.push((id, kind));
                        continue;
                    }
                };
                if split_here && let Some(sx) = pieces.split(id, e, field, &normalizer, tuning) {
                    if let Some(rest) = sx.split.rest_expr(e) {
                        let mut p = pattern(&rest, true, tuning.bytes(&rest, field, &normalizer));
                        p.id = Some(i);
                        patterns.push(p);
                    }
                    splits.push(sx);
                    continue;
                }
                let mut p = pattern(e, true, bytes);
                p.id = Some(i);
                // A literal is its own guard: it is matched in `db` directly.
                match guard {
                    Some(g) if g.costly => guarded.push((g, p)),
                    Some(_) => patterns.push(p),
                    None => {
                        if tuning.gate {
                            unguarded_expressions += 1;
                        }
                        patterns.push(p);
                    }
                }
            }

            if guarded.len() < tuning.min_gated {
                patterns.extend(guarded.drain(..).map(|(_, p)| p));
            }
            // The field without gating, should Hyperscan refuse a gated database: errors
            // then name the pack's own expressions, never a guard literal.
            let mut ungated: Option<Vec<Pattern>> = (!guarded.is_empty()).then(|| {
                patterns
                    .iter()
                    .chain(guarded.iter().map(|(_, p)| p))
                    .cloned()
                    .collect()
            });
            // Groups: expressions likely to match the same messages side by side (English
            // guards apart from the others, then in pack order), cut into databases of at
            // most `group_size` expressions.
            let mut first_term = vec![u32::MAX; exprs.len()];
            for &(e, t) in &pairs {
                if let Some(f) = first_term.get_mut(e as usize) {
                    *f = (*f).min(t);
                }
            }
            guarded.sort_by_key(|(g, p)| (g.ascii, p.id.and_then(|i| first_term.get(i).copied())));
            let mut group_patterns: Vec<Vec<Pattern>> = Vec::new();
            let mut gate_ids: HashMap<(String, u32), u32> = HashMap::new();
            let mut gate_pairs: Vec<(u32, u32)> = Vec::new();
            let mut previous_ascii = None;
            let mut boundary = false;
            for (g, p) in &guarded {
                // Cut where the content says so, too: an expression added or removed
                // moves the groups around it, not every group after it ([`reuse`]).
                let fresh = previous_ascii != Some(g.ascii) || boundary;
                boundary = reuse::ends_group(p, tuning.group_size);
                match group_patterns.last_mut() {
                    Some(group) if !fresh && group.len() < tuning.group_size.max(1) => {
                        group.push(p.clone());
                    }
                    _ => group_patterns.push(vec![p.clone()]),
                }
                previous_ascii = Some(g.ascii);
                let group = u32::try_from(group_patterns.len() - 1).unwrap_or(u32::MAX);
                for l in &g.literals {
                    let next = u32::try_from(gate_ids.len()).unwrap_or(u32::MAX);
                    let k = *gate_ids.entry((l.clone(), p.flags.bits())).or_insert(next);
                    gate_pairs.push((k, group));
                }
            }
            let mut gate_literals: Vec<(&(String, u32), &u32)> = gate_ids.iter().collect();
            gate_literals.sort_by_key(|(_, k)| **k);
            for ((l, flags), &k) in gate_literals {
                patterns.push(Pattern {
                    expression: l.clone(),
                    flags: PatternFlags::from_bits_truncate(*flags),
                    id: Some(exprs.len() + k as usize),
                    ext: Default::default(),
                    som: None,
                });
            }
            let (mut gate_start, mut gate_groups) = csr(gate_ids.len(), gate_pairs);
            // The pieces of split expressions, after the gate literals.
            let piece_base = exprs.len() + gate_ids.len();
            let piece_base32 = u32::try_from(piece_base).unwrap_or(u32::MAX);
            for (j, p) in pieces.patterns.iter_mut().enumerate() {
                p.id = Some(piece_base + j);
            }
            patterns.extend(pieces.patterns.iter().cloned());
            if let Some(all) = &mut ungated {
                all.extend(pieces.patterns.iter().cloned());
            }
            let mut piece_pairs = Vec::new();
            for (si, sx) in splits.iter().enumerate() {
                let Ok(si) = u32::try_from(si) else { continue };
                for b in &sx.split.branches {
                    let last = b.links.last().map_or(b.first, |&(_, p)| p);
                    for &id in sx.ids.get(last as usize).into_iter().flatten() {
                        piece_pairs.push((id, si));
                    }
                }
            }
            let (piece_split_start, piece_split_ids) = csr(pieces.width.len(), piece_pairs);
            split_expressions += splits.len();

            let mut group_pairs = Vec::new();
            let mut group_of = vec![u32::MAX; exprs.len()];
            for (gi, g) in group_patterns.iter().enumerate() {
                for p in g {
                    if let Some(slot) = p.id.and_then(|i| group_of.get_mut(i)) {
                        *slot = u32::try_from(gi).unwrap_or(u32::MAX);
                    }
                }
            }
            for &(e, t) in &pairs {
                if let Some(&g) = group_of.get(e as usize)
                    && g != u32::MAX
                {
                    group_pairs.push((g, t));
                }
            }
            let (mut group_term_start, mut group_term_ids) = csr(group_patterns.len(), group_pairs);
            let mut build = |ps| build_checked(ps, &exprs, &pairs, &terms, &rules);
            let gated = || {
                let db = if patterns.is_empty() {
                    None
                } else {
                    Some(reuser.build(Some(field), patterns, &mut build)?)
                };
                let mut groups = Vec::with_capacity(group_patterns.len());
                for g in group_patterns {
                    groups.push(reuser.build(None, g, &mut build)?);
                }
                Ok::<_, Error>((db, groups))
            };
            let gated = gated();
            let (db, groups) = match (gated, ungated) {
                (Ok(built), _) => built,
                (Err(_), Some(all)) => {
                    (gate_start, gate_groups) = csr(0, Vec::new());
                    (group_term_start, group_term_ids) = csr(0, Vec::new());
                    let db = reuser.build(Some(field), all, &mut build)?;
                    (Some(db), Vec::new())
                }
                (Err(e), None) => return Err(e),
            };
            gated_groups += groups.len();
            for db in db.iter().chain(&groups).flat_map(Db::databases) {
                database_bytes += db.size().map_err(|e| hs_error("database size", &e))?;
                match &mut prototype {
                    Some(s) => {
                        db.realloc_scratch(s)
                            .map_err(|e| hs_error("scratch allocation", &e))?;
                    }
                    None => {
                        prototype = Some(
                            db.alloc_scratch()
                                .map_err(|e| hs_error("scratch allocation", &e))?,
                        );
                    }
                }
            }
            expressions += exprs.len();
            let explain_started = Instant::now();
            let explain: Vec<_> = exprs.iter().map(explainer).collect();
            explain_compile_time += explain_started.elapsed();
            unexplained_expressions += exprs
                .iter()
                .zip(&explain)
                .filter(|(e, r)| needs_som(e) && r.is_none())
                .count();
            let (expr_term_start, term_ids) = csr(exprs.len(), pairs);
            if let Some(slot) = fields.get_mut(fi) {
                *slot = Some(FieldDb {
                    db,
                    gate_start,
                    gate_groups,
                    groups,
                    group_term_start,
                    group_term_ids,
                    group_always: Vec::new(),
                    any_value,
                    expr_term_start,
                    term_ids,
                    exprs,
                    explain,
                    piece_base: piece_base32,
                    piece_width: pieces.width,
                    piece_split_start,
                    piece_split_ids,
                    splits,
                });
            }
        }
        let compile_time = started.elapsed();
        let prototype = match prototype {
            Some(p) => p,
            // No expression at all (a pack of list rules): a scratch for a trivial
            // database keeps the scanning code uniform.
            None => {
                let db: BlockDatabase = Pattern::with_flags("a", PatternFlags::empty())
                    .and_then(|p| p.build())
                    .map_err(|e| hs_error("compile", &e))?;
                db.alloc_scratch()
                    .map_err(|e| hs_error("scratch allocation", &e))?
            }
        };
        let scratch_bytes = prototype.size().map_err(|e| hs_error("scratch size", &e))?;

        // Which rules each term and each rule can make true.
        fn walk(c: &Cond, rule: u32, terms: &mut Vec<(u32, u32)>, deps: &mut Vec<(u32, u32)>) {
            match c {
                Cond::Term(t) => terms.push((*t, rule)),
                Cond::Rule(r) => deps.push((*r, rule)),
                Cond::Not(c) => walk(c, rule, terms, deps),
                Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| walk(c, rule, terms, deps)),
            }
        }
        let mut dep_pairs = Vec::new();
        for (ri, r) in rules.iter().enumerate() {
            let Ok(ri) = u32::try_from(ri) else { continue };
            walk(&r.cond, ri, &mut term_rule_pairs, &mut dep_pairs);
        }
        let (term_rule_start, term_rule_ids) = csr(terms.len(), term_rule_pairs);
        let (dep_start, dep_ids) = csr(rules.len(), dep_pairs);

        // Which rules can be judged from what their terms can be, and which terms must
        // always be known exactly (see `scan::scan_groups`).
        fn exact_only(c: &Cond, terms: &[TermDef]) -> bool {
            match c {
                Cond::Term(t) => matches!(
                    terms.get(*t as usize).map(|t| &t.kind),
                    Some(TermKind::List(_))
                ),
                Cond::Rule(_) => false,
                Cond::Not(_) => true,
                Cond::And(cs) | Cond::Or(cs) => cs.iter().any(|c| exact_only(c, terms)),
            }
        }
        fn mark(c: &Cond, rules: &[RuleDef], needed: &mut [bool], seen: &mut [bool]) {
            match c {
                Cond::Term(t) => {
                    if let Some(n) = needed.get_mut(*t as usize) {
                        *n = true;
                    }
                }
                Cond::Rule(r) => {
                    if let Some(s) = seen.get_mut(*r as usize)
                        && !*s
                    {
                        *s = true;
                        if let Some(rule) = rules.get(*r as usize) {
                            mark(&rule.cond, rules, needed, seen);
                        }
                    }
                }
                Cond::Not(c) => mark(c, rules, needed, seen),
                Cond::And(cs) | Cond::Or(cs) => {
                    cs.iter().for_each(|c| mark(c, rules, needed, seen))
                }
            }
        }
        let monotone: Vec<bool> = rules.iter().map(|r| !exact_only(&r.cond, &terms)).collect();
        // Per term: named, directly or through `@`, by a rule that is not monotone; such a
        // term must be known exactly whatever else matched.
        let mut always_needed = vec![false; terms.len()];
        let mut seen = vec![false; rules.len()];
        for (r, m) in rules.iter().zip(&monotone) {
            if !m {
                mark(&r.cond, &rules, &mut always_needed, &mut seen);
            }
        }
        for fdb in fields.iter_mut().flatten() {
            fdb.group_always = (0..fdb.groups.len())
                .map(|g| {
                    let g = u32::try_from(g).unwrap_or(u32::MAX);
                    fdb.group_terms(g)
                        .iter()
                        .any(|&t| always_needed.get(t as usize).copied().unwrap_or(true))
                })
                .collect();
        }

        let mut always_global = Vec::new();
        let mut always_by_account: HashMap<String, Vec<u32>, crate::FastHash> = HashMap::default();
        let mut always_by_group: HashMap<String, Vec<u32>, crate::FastHash> = HashMap::default();
        for (ri, r) in rules.iter().enumerate() {
            let Ok(ri) = u32::try_from(ri) else { continue };
            if !fires_without_match(&r.cond, &terms, &rules, 0) {
                continue;
            }
            if !r.scope.restricted {
                always_global.push(ri);
                continue;
            }
            for a in &r.scope.accounts {
                always_by_account.entry(a.clone()).or_default().push(ri);
            }
            for g in &r.scope.groups {
                always_by_group.entry(g.clone()).or_default().push(ri);
            }
        }

        let term_list = terms
            .iter()
            .map(|t| match t.kind {
                TermKind::List(l) => l,
                TermKind::Exprs(_) => NO_LIST,
            })
            .collect();
        let rule_scoped = rules.iter().map(|r| r.scope.restricts()).collect();
        let mut cond_nodes = Vec::new();
        let cond_root = rules
            .iter()
            .map(|r| r.cond.flatten(&mut cond_nodes))
            .collect();

        let patterns = terms.len();
        let list_entries = lists.iter().map(List::len).sum();
        let rule_ids = rules.iter().map(|r| Arc::from(r.id.as_str())).collect();
        let term_names = terms.iter().map(|t| Arc::from(t.name.as_str())).collect();
        Ok(Self {
            serial: SERIAL.fetch_add(1, Ordering::Relaxed),
            version: RulesetVersion(digest),
            name,
            pack_version,
            fields,
            stats: RulesetStats {
                rules: rules.len(),
                patterns,
                expressions,
                lists: lists.len(),
                list_entries,
                database_bytes,
                scratch_bytes,
                compile_time,
                explain_compile_time,
                unexplained_expressions,
                unguarded_expressions,
                gated_groups,
                reuse: reuser.stats,
                split_expressions,
            },
            terms,
            rules,
            term_list,
            rule_scoped,
            cond_nodes,
            cond_root,
            rule_ids,
            term_names,
            lists,
            term_rule_start,
            term_rule_ids,
            dep_start,
            dep_ids,
            monotone,
            always_global,
            always_by_account,
            always_by_group,
            prototype: Mutex::new(prototype),
            normalizer,
            tuning,
        })
    }

    /// Loads, validates and compiles the pack at `path` (a file or a directory).
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Self, Error> {
        Self::compile(RulePack::load(path)?)
    }

    /// [`Ruleset::load`] for a reload, reusing `live`'s databases ([`Ruleset::compile_with`]).
    pub fn load_with(
        path: impl AsRef<std::path::Path>,
        live: Option<&Ruleset>,
    ) -> Result<Self, Error> {
        Self::compile_with(RulePack::load(path)?, live)
    }

    /// The content version carried by every verdict of this ruleset.
    pub fn version(&self) -> RulesetVersion {
        self.version
    }

    /// The pack's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pack's own `version` string.
    pub fn pack_version(&self) -> &str {
        &self.pack_version
    }

    /// The text normalization of this ruleset's pack.
    pub fn normalize_options(&self) -> &NormalizeOptions {
        self.normalizer.options()
    }

    /// Sizes and compile time.
    pub fn stats(&self) -> &RulesetStats {
        &self.stats
    }

    /// The rules, in pack order.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = RuleInfo<'_>> {
        self.rules.iter().map(|r| RuleInfo {
            id: &r.id,
            description: &r.description,
            category: r.category,
            action: r.action,
            mode: r.mode,
            priority: r.priority,
        })
    }

    /// The lists: name, kind and number of entries.
    pub fn lists(&self) -> impl ExactSizeIterator<Item = (&str, ListKind, usize)> {
        self.lists
            .iter()
            .map(|l| (l.name.as_str(), l.kind, l.len()))
    }

    /// Every expression of the scanning databases, field by field in scan order.
    pub fn expressions(&self) -> Vec<ExpressionInfo<'_>> {
        let mut out = Vec::new();
        for field in Field::ALL {
            let Some(fdb) = self.field_db(field) else {
                continue;
            };
            for (i, e) in fdb.exprs.iter().enumerate() {
                let patterns = fdb
                    .terms_of(u32::try_from(i).unwrap_or(u32::MAX))
                    .iter()
                    .filter_map(|&t| self.terms.get(t as usize))
                    .map(|t| match t.owner.and_then(|r| self.rules.get(r as usize)) {
                        Some(r) => format!("{}.{}", r.id, t.name),
                        None => t.name.clone(),
                    })
                    .collect();
                let bytes = self.tuning.bytes(e, field, &self.normalizer);
                let scanned = self.tuning.any_value(e).is_none();
                let split = fdb.splits.iter().any(|s| s.expr as usize == i);
                out.push(ExpressionInfo {
                    field,
                    expression: &e.expression,
                    patterns,
                    scanned,
                    split,
                    guard: self
                        .tuning
                        .guard(e, bytes)
                        .filter(|_| scanned)
                        .map(|g| g.literals),
                    flags: pattern(e, true, bytes).flags,
                });
            }
        }
        out
    }

    pub(crate) fn field_db(&self, f: Field) -> Option<&FieldDb> {
        self.fields.get(f.index()).and_then(Option::as_ref)
    }

    pub(crate) fn rules_of_term(&self, term: u32) -> &[u32] {
        csr_get(&self.term_rule_start, &self.term_rule_ids, term)
    }

    pub(crate) fn dependents(&self, rule: u32) -> &[u32] {
        csr_get(&self.dep_start, &self.dep_ids, rule)
    }

    /// A fresh Hyperscan scratch for every database of this ruleset.
    pub(crate) fn clone_scratch(&self) -> Option<hyperscan::Scratch> {
        // A poisoned lock only means another thread panicked while cloning; the
        // scratch itself is still valid.
        let guard = self.prototype.lock().unwrap_or_else(|p| p.into_inner());
        Some(guard.clone())
    }
}

/// Compiles `patterns` (ids are expression ids, or guard literals past them) with pattern
/// `j` reporting match id `j` (the [`Db`] maps it back), mapping a failure back to the
/// pattern(s) at fault.
fn build_checked(
    mut patterns: Vec<Pattern>,
    exprs: &[HsExpr],
    pairs: &[(u32, u32)],
    terms: &[TermDef],
    rules: &[RuleDef],
) -> Result<BlockDatabase, Error> {
    let ids: Vec<Option<usize>> = patterns.iter().map(|p| p.id).collect();
    for (j, p) in patterns.iter_mut().enumerate() {
        p.id = Some(j);
    }
    build_db(&Patterns(patterns))
        .map_err(|err| compile_failure(&err, &ids, exprs, pairs, terms, rules))
}

/// Maps a failed multi-pattern compile back to the pattern(s) at fault.
fn compile_failure(
    err: &hyperscan::Error,
    ids: &[Option<usize>],
    exprs: &[HsExpr],
    pairs: &[(u32, u32)],
    terms: &[TermDef],
    rules: &[RuleDef],
) -> Error {
    let index = match err {
        hyperscan::Error::Hyperscan(hyperscan::HsError::CompileError(ce)) => ce.expression(),
        _ => None,
    };
    // Hyperscan names the failing pattern by its position; the id names the expression.
    let Some(index) = index.and_then(|i| ids.get(i).copied().flatten()) else {
        return hs_error("compile", err);
    };
    let problem = regex_problem(err);
    let Ok(id) = u32::try_from(index) else {
        return hs_error("compile", err);
    };
    let diags: Vec<Diagnostic> = pairs
        .iter()
        .filter(|(e, _)| *e == id)
        .filter_map(|&(_, t)| terms.get(t as usize))
        .map(|t| Diagnostic {
            location: t.location.clone(),
            rule: t
                .owner
                .and_then(|r| rules.get(r as usize))
                .map(|r| r.id.clone()),
            pattern: Some(t.name.clone()),
            problem: problem.clone(),
        })
        .collect();
    if diags.is_empty() || exprs.get(index).is_none() {
        return hs_error("compile", err);
    }
    Error::Invalid(diags)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::{Engine, Envelope, Scratch};

    const PACK: &str = r#"
format = 1
[pack]
name = "explain"
version = "1"

[[rule]]
id = "loan"
description = "loan ad with an approval claim"
category = "loan"
action = "reject"
when = "loan and fast and site"
patterns.loan = { regex = '[貸贷]款.{0,6}(免審核|免审核)' }
patterns.fast = { regex = 'approved\s+in\s+\d+\s+min', caseless = true }
patterns.site = { regex = 'https?://\S+', field = "url" }
"#;

    #[test]
    fn explained_verdicts_never_compile() {
        let pack = RulePack::from_toml(PACK, "explain.toml").unwrap();
        let before = compiles_on_this_thread();
        let engine = Engine::new(Ruleset::compile(pack).unwrap());
        let rs = engine.ruleset();
        // The scanning databases and explanation regexes are built by the compile itself.
        assert!(compiles_on_this_thread() > before);
        let text = rs.field_db(Field::Text).unwrap();
        assert!(text.explain.iter().all(Option::is_some));
        assert_eq!(rs.stats().unexplained_expressions, 0);

        let compiled = compiles_on_this_thread();
        let text = "快速貸款，全程免審核! Approved  in 5 min: https://x.example/a";
        for _ in 0..2 {
            // A fresh scratch each time: a new worker's first verdict.
            let v = engine.evaluate(&Envelope::new("acct"), text, &mut Scratch::new());
            assert!(v.is_blocking());
            let quotes: Vec<&str> = v.matches[0]
                .evidence
                .iter()
                .map(|e| e.span.as_ref().unwrap().quote.as_str())
                .collect();
            assert_eq!(
                quotes,
                [
                    "貸款，全程免審核",
                    "Approved  in 5 min",
                    "https://x.example/a"
                ]
            );
        }
        assert_eq!(compiles_on_this_thread(), compiled);
    }

    #[test]
    fn literals_need_no_explanation_regex() {
        let flags = crate::pack::ExprFlags {
            caseless: false,
            dotall: false,
            utf8: true,
            ucp: false,
        };
        let ascii = HsExpr {
            expression: "abc".into(),
            flags,
            literal: Some("abc".into()),
        };
        assert!(!needs_som(&ascii));
        let folded = HsExpr {
            flags: crate::pack::ExprFlags {
                caseless: true,
                ..flags
            },
            literal: Some("straße".into()),
            ..ascii.clone()
        };
        assert!(needs_som(&folded));
        let regex = HsExpr {
            literal: None,
            ..ascii
        };
        assert!(needs_som(&regex));
    }
}
