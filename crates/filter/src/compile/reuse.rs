//! Database reuse across reloads: a ruleset compiled while another is live takes every
//! Hyperscan database whose input is unchanged from the live one instead of compiling it.
//!
//! Operators reload to add or edit a handful of rules in a pack of thousands; compiling
//! every database again costs seconds of a core for each of them. Databases are
//! immutable, so the new ruleset shares the live one's ([`Arc`]) and the old ruleset frees
//! only those it alone holds.
//!
//! What makes a database reusable is its input as compiled: the patterns in order, each
//! one's expression and flags, the mode (block: [`BlockDatabase`]) and the platform
//! Hyperscan compiled it for. Match ids inside a database are positions (pattern `j`
//! reports id `j`), and each [`Db`] maps them to the ruleset's own ids (expression ids
//! and guard literals): a rule inserted before others renumbers the ruleset's ids but
//! leaves every database's input as it was.
//!
//! A field's main database (literals, unguarded expressions and guard literals: in a big
//! pack of literals, all of it in one database) changes with almost any edit. When it
//! differs from the live one by a few patterns, the live database is kept with the
//! patterns no longer in the pack masked out, and only the added ones are compiled, into
//! a small delta database scanned after it ([`Db::scan`]). Past [`MAX_DELTA_DIVISOR`] or
//! [`MAX_DEAD_DIVISOR`] of the live database, the field's database is compiled afresh.
//! Verdicts do not depend on which database reports a match first (the scan keeps the
//! match that ends first, then the lowest id), so they are those of a fresh compile.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use hyperscan::{BlockDatabase, Builder, Matching, Pattern, PatternFlags, ScratchRef};

use super::Ruleset;
use crate::digest::Fnv64;
use crate::error::Error;
use crate::model::Field;

/// The id of a pattern of a reused database that is no longer in the ruleset: its
/// matches are ignored.
const DEAD: u32 = u32::MAX;

/// The fewest patterns a field's database needs before a reload patches it with a delta
/// rather than compiling it again (small databases compile in milliseconds).
const MIN_PATCHED: usize = 64;

/// A patched database's delta holds at most this fraction (1/n) of the live database's
/// patterns; more and the field's database is compiled afresh.
pub(crate) const MAX_DELTA_DIVISOR: usize = 8;

/// A patched database masks out at most this fraction (1/n) of the live database's
/// patterns.
pub(crate) const MAX_DEAD_DIVISOR: usize = 4;

/// How a compile used the live ruleset's databases (all zero for a compile without one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReuseStats {
    /// Hyperscan databases taken unchanged from the live ruleset.
    pub reused: usize,
    /// Hyperscan databases compiled (deltas included).
    pub compiled: usize,
    /// Of the field databases, those built as a live database with the removed patterns
    /// masked out plus a delta of the added ones.
    pub patched: usize,
    /// What the reused databases took to compile when they were built: the compile time
    /// this compile did not spend.
    pub time_saved: Duration,
}

/// One pattern's input as compiled: its expression and flags.
type Input = (Box<str>, u32);

/// A database's input: per position (= match id), the pattern's [`Input`].
type Key = Box<[Input]>;

/// One compiled Hyperscan database and the input it was compiled from.
pub(crate) struct Piece {
    db: BlockDatabase,
    key: Key,
    compile_time: Duration,
}

/// A database of a ruleset: a compiled [`Piece`], possibly shared with other rulesets,
/// maybe a delta scanned after it, and the table from match ids to the ruleset's ids.
pub(crate) struct Db {
    primary: Arc<Piece>,
    delta: Option<Arc<Piece>>,
    /// The ruleset's id per match id: the primary's positions, then the delta's. [`DEAD`]
    /// for a pattern of a reused database that the ruleset no longer has.
    ids: Box<[u32]>,
}

impl Db {
    /// Scans `data` like [`BlockDatabase::scan`], reporting the ruleset's ids.
    pub(crate) fn scan<F>(&self, data: &[u8], hs: &ScratchRef, mut f: F) -> hyperscan::Result<()>
    where
        F: FnMut(u32, u64, u64, u32) -> Matching,
    {
        let ids = &self.ids;
        self.primary
            .db
            .scan(data, hs, |id, from, to, flags| match ids.get(id as usize) {
                Some(&g) if g != DEAD => f(g, from, to, flags),
                _ => Matching::Continue,
            })?;
        if let Some(delta) = &self.delta {
            let base = self.primary.key.len();
            delta.db.scan(data, hs, |id, from, to, flags| {
                match ids.get(base.saturating_add(id as usize)) {
                    Some(&g) if g != DEAD => f(g, from, to, flags),
                    _ => Matching::Continue,
                }
            })?;
        }
        Ok(())
    }

    /// The Hyperscan databases scanned, for sizing a scratch.
    pub(crate) fn databases(&self) -> impl Iterator<Item = &BlockDatabase> {
        std::iter::once(&self.primary.db).chain(self.delta.as_ref().map(|d| &d.db))
    }

    /// The compiled pieces, for tests that check sharing.
    #[cfg(test)]
    pub(crate) fn pieces(&self) -> impl Iterator<Item = &Arc<Piece>> {
        std::iter::once(&self.primary).chain(&self.delta)
    }
}

/// Whether a group of guarded expressions ends after `p`, for one in `2 × group_size`
/// expressions, by its content: group boundaries then move only around an expression
/// added or removed, and the other groups' databases are reused. A group also ends when
/// full, so groups hold three expressions on average with `group_size` four.
pub(crate) fn ends_group(p: &Pattern, group_size: usize) -> bool {
    let mut h = Fnv64::new();
    h.write_chunk(p.expression.as_bytes());
    h.write(&p.flags.bits().to_le_bytes());
    let every = u64::try_from(group_size.max(1).saturating_mul(2)).unwrap_or(u64::MAX);
    // The high bits: FNV's low bits mix poorly.
    (h.finish() >> 32).is_multiple_of(every)
}

/// The `info` string of a database compiled on this host: Hyperscan's version, the CPU
/// features it compiled for, and the mode.
fn host_info() -> Option<&'static str> {
    static INFO: OnceLock<Option<String>> = OnceLock::new();
    INFO.get_or_init(|| {
        let db: BlockDatabase = Pattern::with_flags("a", PatternFlags::empty())
            .and_then(|p| p.build())
            .ok()?;
        db.info().ok()
    })
    .as_deref()
}

/// The input of a database as compiled; `None` when a pattern uses a Hyperscan feature
/// the key does not cover (extended parameters, start of match), never the case today.
fn key_of(patterns: &[Pattern]) -> Option<Key> {
    patterns
        .iter()
        .map(|p| {
            (p.ext == Default::default() && p.som.is_none())
                .then(|| (Box::from(p.expression.as_str()), p.flags.bits()))
        })
        .collect()
}

/// The ruleset's id of each pattern.
fn ids_of(patterns: &[Pattern]) -> Vec<u32> {
    patterns
        .iter()
        .map(|p| p.id.and_then(|i| u32::try_from(i).ok()).unwrap_or(DEAD))
        .collect()
}

/// Builds the databases of one compile, from the live ruleset's where it can.
pub(crate) struct Reuser<'a> {
    /// Every piece of the live ruleset, by its input.
    pieces: HashMap<&'a [Input], &'a Arc<Piece>>,
    /// The live ruleset's main database per field, the base of a patch.
    mains: HashMap<Field, &'a Db>,
    pub(crate) stats: ReuseStats,
}

impl<'a> Reuser<'a> {
    /// A builder reusing `live`'s databases; with `None`, it compiles everything.
    pub(crate) fn new(live: Option<&'a Ruleset>) -> Self {
        let mut pieces = HashMap::new();
        let mut mains = HashMap::new();
        // Only databases built for this host's platform and Hyperscan.
        let host = host_info();
        let here = |p: &Piece| host.is_some() && p.db.info().ok().as_deref() == host;
        for field in Field::ALL {
            let Some(fdb) = live.and_then(|l| l.field_db(field)) else {
                continue;
            };
            if let Some(db) = &fdb.db
                && here(&db.primary)
            {
                mains.insert(field, db);
            }
            for db in fdb.db.iter().chain(&fdb.groups) {
                for piece in std::iter::once(&db.primary).chain(&db.delta) {
                    // An empty key is a database whose input is not known: never reused.
                    if here(piece) && !piece.key.is_empty() {
                        pieces.insert(&*piece.key, piece);
                    }
                }
            }
        }
        Self {
            pieces,
            mains,
            stats: ReuseStats::default(),
        }
    }

    /// The database of `patterns` (ids are the ruleset's): the live one with the same
    /// input, else for `main` (a field's main database) the live one patched, else
    /// compiled by `compile`, which receives the patterns with the ruleset's ids (to name
    /// one at fault) and must compile pattern `j` with id `j`.
    pub(crate) fn build(
        &mut self,
        main: Option<Field>,
        patterns: Vec<Pattern>,
        compile: &mut impl FnMut(Vec<Pattern>) -> Result<BlockDatabase, Error>,
    ) -> Result<Db, Error> {
        let ids = ids_of(&patterns);
        let whole = |primary| Db {
            primary,
            delta: None,
            ids: ids.as_slice().into(),
        };
        let Some(key) = key_of(&patterns) else {
            // Never reused: the empty key matches no database's input.
            return Ok(whole(self.compile(Key::default(), patterns, compile)?));
        };
        if let Some(primary) = self.reuse(&key) {
            return Ok(whole(primary));
        }
        if let Some(base) = main.and_then(|f| self.mains.get(&f)).map(|d| &d.primary)
            && let Some(db) = self.patch(base, &key, &patterns, &ids, compile)?
        {
            return Ok(db);
        }
        Ok(whole(self.compile(key, patterns, compile)?))
    }

    /// The live piece compiled from `key`, counted.
    fn reuse(&mut self, key: &[Input]) -> Option<Arc<Piece>> {
        let piece = Arc::clone(self.pieces.get(key)?);
        self.stats.reused += 1;
        self.stats.time_saved = self.stats.time_saved.saturating_add(piece.compile_time);
        Some(piece)
    }

    /// Compiles `patterns`, counted; `key` is their input (empty when not known).
    fn compile(
        &mut self,
        key: Key,
        patterns: Vec<Pattern>,
        compile: &mut impl FnMut(Vec<Pattern>) -> Result<BlockDatabase, Error>,
    ) -> Result<Arc<Piece>, Error> {
        let started = Instant::now();
        let db = compile(patterns)?;
        self.stats.compiled += 1;
        Ok(Arc::new(Piece {
            db,
            key,
            compile_time: started.elapsed(),
        }))
    }

    /// `base` with the patterns `key` no longer has masked out and a delta of those it
    /// adds; `None` when the difference is too large to be worth it.
    fn patch(
        &mut self,
        base: &Arc<Piece>,
        key: &[Input],
        patterns: &[Pattern],
        ids: &[u32],
        compile: &mut impl FnMut(Vec<Pattern>) -> Result<BlockDatabase, Error>,
    ) -> Result<Option<Db>, Error> {
        let n = base.key.len();
        if n < MIN_PATCHED {
            return Ok(None);
        }
        // The new patterns by input; the same input may occur twice (a literal and the
        // same guard literal), each occurrence is matched once.
        let mut wanted: HashMap<&Input, Vec<usize>> = HashMap::new();
        for (i, k) in key.iter().enumerate().rev() {
            wanted.entry(k).or_default().push(i);
        }
        let mut taken = vec![false; key.len()];
        let mut table = Vec::with_capacity(n);
        let mut dead = 0usize;
        for k in base.key.iter() {
            match wanted.get_mut(k).and_then(Vec::pop) {
                Some(i) => {
                    if let Some(t) = taken.get_mut(i) {
                        *t = true;
                    }
                    table.push(ids.get(i).copied().unwrap_or(DEAD));
                }
                None => {
                    table.push(DEAD);
                    dead += 1;
                }
            }
        }
        let added: Vec<Pattern> = patterns
            .iter()
            .zip(&taken)
            .filter(|(_, t)| !**t)
            .map(|(p, _)| p.clone())
            .collect();
        if added.len() > n / MAX_DELTA_DIVISOR || dead > n / MAX_DEAD_DIVISOR {
            return Ok(None);
        }
        table.extend(ids_of(&added));
        let delta = if added.is_empty() {
            None
        } else {
            let delta_key = key_of(&added);
            match delta_key.as_deref().and_then(|k| self.reuse(k)) {
                Some(piece) => Some(piece),
                None => Some(self.compile(delta_key.unwrap_or_default(), added, compile)?),
            }
        };
        // The base itself is reused.
        self.stats.reused += 1;
        self.stats.time_saved = self.stats.time_saved.saturating_add(base.compile_time);
        self.stats.patched += 1;
        Ok(Some(Db {
            primary: Arc::clone(base),
            delta,
            ids: table.into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::pack::RulePack;

    fn pack(version: &str, rules: &[(&str, &str)]) -> RulePack {
        let mut s = format!("format = 1\n[pack]\nname = \"p\"\nversion = \"{version}\"\n");
        for (id, pattern) in rules {
            s.push_str(&format!(
                "[[rule]]\nid = \"{id}\"\ndescription = \"d\"\ncategory = \"spam\"\n\
                 action = \"reject\"\npatterns.p = {pattern}\n"
            ));
        }
        RulePack::from_toml(&s, "p.toml").unwrap()
    }

    fn pieces(rs: &Ruleset) -> Vec<Arc<Piece>> {
        Field::ALL
            .into_iter()
            .filter_map(|f| rs.field_db(f))
            .flat_map(|f| f.db.iter().chain(&f.groups))
            .flat_map(Db::pieces)
            .cloned()
            .collect()
    }

    const RULES: &[(&str, &str)] = &[
        ("a", "{ regex = 'loan.{0,4}now', caseless = true }"),
        ("b", "{ literal = 'zq-alpha' }"),
        ("c", "{ regex = 'https?://[a-z]+\\.top', field = \"url\" }"),
        ("d", "{ regex = '[0-9]{4}-code' }"),
    ];

    #[test]
    fn reused_databases_are_the_live_ones() {
        let live = Ruleset::compile(pack("1", RULES)).unwrap();
        let next = Ruleset::compile_with(pack("2", RULES), Some(&live)).unwrap();
        assert_ne!(live.version(), next.version());
        let (a, b) = (pieces(&live), pieces(&next));
        assert_eq!(a.len(), 2, "text and url");
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(a, b)| Arc::ptr_eq(a, b)));
        let r = next.stats().reuse;
        assert_eq!((r.reused, r.compiled, r.patched), (2, 0, 0));
        assert!(r.time_saved > Duration::ZERO);
        // Without a live ruleset everything is compiled.
        let fresh = Ruleset::compile(pack("2", RULES)).unwrap();
        assert!(
            pieces(&fresh)
                .iter()
                .all(|f| !a.iter().any(|l| Arc::ptr_eq(f, l)))
        );
        assert_eq!(fresh.stats().reuse.reused, 0);
    }

    #[test]
    fn a_changed_expression_flag_or_id_is_never_reused() {
        let live = Ruleset::compile(pack("1", RULES)).unwrap();
        let text = |rs: &Ruleset| {
            Arc::clone(
                &rs.field_db(Field::Text)
                    .unwrap()
                    .db
                    .as_ref()
                    .unwrap()
                    .primary,
            )
        };
        let url = |rs: &Ruleset| {
            Arc::clone(
                &rs.field_db(Field::Url)
                    .unwrap()
                    .db
                    .as_ref()
                    .unwrap()
                    .primary,
            )
        };
        let mut flags = RULES.to_vec();
        flags[0].1 = "{ regex = 'loan.{0,4}now' }";
        let mut expression = RULES.to_vec();
        expression[3].1 = "{ regex = '[0-9]{5}-code' }";
        // Swapped: the same expressions, compiled with each other's ids.
        let mut swapped = RULES.to_vec();
        swapped.swap(0, 1);
        for (name, rules) in [
            ("flags", flags),
            ("expression", expression),
            ("ids", swapped),
        ] {
            let next = Ruleset::compile_with(pack("2", &rules), Some(&live)).unwrap();
            assert!(!Arc::ptr_eq(&text(&live), &text(&next)), "{name}");
            assert_ne!(text(&live).key, text(&next).key, "{name}");
            // The unchanged url database is still shared.
            assert!(Arc::ptr_eq(&url(&live), &url(&next)), "{name}");
            let r = next.stats().reuse;
            assert_eq!((r.reused, r.compiled, r.patched), (1, 1, 0), "{name}");
        }
    }

    proptest::proptest! {
        /// What lets a reload's pack load skip Hyperscan's analyser for literals: every
        /// escaped literal parses and matches at least one character, with any flags.
        #[test]
        fn escaped_literals_always_pass_the_analyser(
            lit in "(?s).{1,40}",
            caseless: bool,
            utf8: bool,
        ) {
            let e = crate::pack::HsExpr {
                expression: crate::pack::escape_literal(&lit),
                flags: crate::pack::ExprFlags { caseless, dotall: false, utf8, ucp: utf8 && caseless },
                literal: None,
            };
            proptest::prop_assert!(super::super::check_expression(&e).is_ok(), "{:?}", e.expression);
        }
    }

    #[test]
    fn group_boundaries_follow_content() {
        let p = |e: &str| Pattern::with_flags(e, PatternFlags::empty()).unwrap();
        let ends: Vec<bool> = (0..400)
            .map(|i| ends_group(&p(&format!("w{i}.{{0,3}}x")), 4))
            .collect();
        let n = ends.iter().filter(|e| **e).count();
        // One in eight, give or take.
        assert!((25..=75).contains(&n), "{n}");
        assert_eq!(ends_group(&p("abc"), 4), ends_group(&p("abc"), 4));
    }
}
