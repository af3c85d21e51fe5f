//! Scanning one message: Hyperscan over each field, then the rules whose patterns
//! matched (and the few that can fire without a match), then the verdict.
//!
//! Per-message state lives in the caller's [`Scratch`] and is reset by bumping a
//! generation counter rather than clearing arrays, so the cost of a clean message does
//! not grow with the size of the pack. Nothing here may panic: the Hyperscan callback
//! runs behind an `extern "C"` frame, where a panic aborts the process.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use hyperscan::Matching;
use smppguard_text::{DecodedPart, MatchText};

use crate::compile::{FieldDb, JoinBufs, NO_LIST, Occurrences, Ruleset};
use crate::input::{Envelope, Prepared, host_of};
use crate::model::{Action, Field, Mode};
use crate::pack::{Cond, Node, Scope, TermKind};
use crate::verdict::{Evidence, MAX_QUOTE, RuleMatch, ScanError, ShadowVerdict, Span, Verdict};

/// Per-thread scanning state: Hyperscan scratch space plus the evaluator's arrays.
///
/// Keep one per worker thread (or per task) and pass it to every scan; it resizes
/// itself, once, when the engine's ruleset changes. Not `Sync`: Hyperscan scratch space
/// must never be used by two scans at once.
#[derive(Default)]
pub struct Scratch {
    hs: Option<hyperscan::Scratch>,
    /// Serials of the (live, shadow) rulesets `hs` is sized for.
    sized_for: (u64, u64),
    live: State,
    shadow: State,
    bufs: Bufs,
    /// Match texts for [`crate::Engine::evaluate`], reused across messages.
    pub(crate) text: MatchText,
    /// The part [`crate::Engine::evaluate_part`] decoded last.
    pub(crate) decoded: DecodedPart,
    pub(crate) shadow_text: MatchText,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch")
            .field("sized_for", &self.sized_for)
            .finish_non_exhaustive()
    }
}

impl Scratch {
    /// Empty scratch; Hyperscan space is allocated on the first scan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `hs` valid for `live` and `shadow`.
    fn prepare(&mut self, live: &Ruleset, shadow: Option<&Ruleset>) -> Result<(), ScanError> {
        let want = (live.serial, shadow.map_or(0, |s| s.serial));
        if self.hs.is_some() && self.sized_for == want {
            return Ok(());
        }
        self.hs = None;
        let mut hs = live.clone_scratch().ok_or(ScanError::Scratch)?;
        if let Some(sh) = shadow {
            for fdb in Field::ALL.into_iter().filter_map(|f| sh.field_db(f)) {
                for db in fdb.databases() {
                    db.realloc_scratch(&mut hs)
                        .map_err(|_| ScanError::Scratch)?;
                }
            }
        }
        self.hs = Some(hs);
        self.sized_for = want;
        Ok(())
    }
}

/// Reusable buffers for derived field values.
#[derive(Default)]
struct Bufs {
    domains: Domains,
    shadow_domains: Domains,
    /// Normalization buffer for list lookups.
    lookup: String,
}

/// The lower-cased hosts of a message's URLs, back to back.
#[derive(Default)]
struct Domains {
    hosts: String,
    ranges: Vec<Range<usize>>,
}

impl Domains {
    /// Fills the hosts of `msg`'s URLs and returns the scan view of the message.
    fn message<'a>(&'a mut self, env: &'a Envelope<'a>, msg: &'a Prepared<'a>) -> Msg<'a> {
        self.hosts.clear();
        self.ranges.clear();
        for u in msg.urls {
            let start = self.hosts.len();
            self.hosts
                .extend(host_of(&u.value).chars().map(|c| c.to_ascii_lowercase()));
            self.ranges.push(start..self.hosts.len());
        }
        Msg {
            env,
            msg,
            domains: &self.hosts,
            domain_ranges: &self.ranges,
        }
    }
}

/// The first match of a term in this message.
#[derive(Clone, Copy, Debug)]
struct Hit {
    term: u32,
    field: Field,
    value: u32,
    expr: u32,
    end: u64,
}

/// Evaluator state for one ruleset.
#[derive(Default)]
struct State {
    serial: u64,
    generation: u32,
    /// `== generation` when the term is true for this message.
    term_true: Vec<u32>,
    /// `== generation` when a list term has been looked up for this message.
    list_done: Vec<u32>,
    /// For a true list term, the index of the value found in the list.
    list_value: Vec<u32>,
    hits: Vec<Hit>,
    /// For a true expression term, its index in `hits`.
    hit_of: Vec<u32>,
    /// Groups of guarded expressions opened by the gate for the value being scanned.
    opened: Vec<u32>,
    /// Opened groups of every value: (field index, value index, group).
    pending: Vec<(u32, u32, u32)>,
    /// `== generation` when a term can be true: it is, or an opened group can make it.
    possible: Vec<u32>,
    /// `== generation` when a term must be known exactly: a rule naming it can be true.
    needed: Vec<u32>,
    /// `== generation` when a rule's "can it be true" is known, and the answer.
    open_done: Vec<u32>,
    open_value: Vec<bool>,
    is_candidate: Vec<u32>,
    candidates: Vec<u32>,
    rule_done: Vec<u32>,
    rule_value: Vec<bool>,
    matched: Vec<u32>,
    /// Piece occurrences of the value being scanned: (piece id, end).
    pieces: Vec<(u32, u32)>,
    /// Split expressions to join for the value being scanned.
    joins: Vec<u32>,
    join_bufs: JoinBufs,
}

impl State {
    fn begin(&mut self, rs: &Ruleset) {
        if self.serial != rs.serial {
            let terms = rs.terms.len();
            let rules = rs.rules.len();
            *self = Self {
                serial: rs.serial,
                term_true: vec![0; terms],
                list_done: vec![0; terms],
                list_value: vec![0; terms],
                hit_of: vec![0; terms],
                possible: vec![0; terms],
                needed: vec![0; terms],
                open_done: vec![0; rules],
                open_value: vec![false; rules],
                is_candidate: vec![0; rules],
                rule_done: vec![0; rules],
                rule_value: vec![false; rules],
                ..Self::default()
            };
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            for v in [
                &mut self.term_true,
                &mut self.list_done,
                &mut self.is_candidate,
                &mut self.rule_done,
                &mut self.possible,
                &mut self.needed,
                &mut self.open_done,
            ] {
                v.fill(0);
            }
            self.generation = 1;
        }
        self.hits.clear();
        self.pending.clear();
        self.candidates.clear();
        self.matched.clear();
    }

    fn add_candidate(&mut self, r: u32) {
        if let Some(s) = self.is_candidate.get_mut(r as usize)
            && *s != self.generation
        {
            *s = self.generation;
            self.candidates.push(r);
        }
    }
}

/// The borrowed inputs of one scan.
struct Msg<'a> {
    env: &'a Envelope<'a>,
    msg: &'a Prepared<'a>,
    domains: &'a str,
    domain_ranges: &'a [Range<usize>],
}

impl Msg<'_> {
    fn value_count(&self, f: Field) -> usize {
        match f {
            Field::Url => self.msg.urls.len(),
            Field::Domain => self.domain_ranges.len(),
            Field::Phone => self.msg.phones.len(),
            Field::Binary => usize::from(self.msg.binary.is_some()),
            _ => 1,
        }
    }

    fn value(&self, f: Field, i: usize) -> Option<&[u8]> {
        Some(match f {
            Field::Text => self.msg.text.as_bytes(),
            Field::Decoded => self.msg.decoded.as_bytes(),
            Field::SourceAddr => self.env.source_addr.as_bytes(),
            Field::DestinationAddr => self.env.destination_addr.as_bytes(),
            Field::ServiceType => self.env.service_type.as_bytes(),
            Field::Url => self.msg.urls.get(i)?.value.as_bytes(),
            Field::Domain => self
                .domains
                .get(self.domain_ranges.get(i)?.clone())?
                .as_bytes(),
            Field::Phone => self.msg.phones.get(i)?.value.as_bytes(),
            Field::Binary => self.msg.binary?,
        })
    }

    fn str_value(&self, f: Field, i: usize) -> Option<&str> {
        std::str::from_utf8(self.value(f, i)?).ok()
    }
}

/// Scans `msg` with the live ruleset (and the shadow one, if any) and builds the verdict.
///
/// The shadow ruleset comes with the message as its own `[normalize]` options prepare
/// it (usually the same one).
pub(crate) fn run(
    live: &Ruleset,
    shadow: Option<(&Ruleset, &Prepared<'_>)>,
    env: &Envelope<'_>,
    msg: &Prepared<'_>,
    scratch: &mut Scratch,
) -> Verdict {
    let started = Instant::now();
    if let Err(e) = scratch.prepare(live, shadow.map(|(s, _)| s)) {
        return failed(live, e, started);
    }
    let Scratch {
        hs,
        live: live_state,
        shadow: shadow_state,
        bufs,
        ..
    } = scratch;
    let Bufs {
        domains,
        shadow_domains,
        lookup,
    } = bufs;
    let m = domains.message(env, msg);

    let Some(hs) = hs.as_ref() else {
        return failed(live, ScanError::Scratch, started);
    };
    let outcome = evaluate(live, live_state, hs, &m, lookup);
    let mut verdict = match outcome {
        Ok(()) => verdict(live, live_state, &m),
        Err(e) => return failed(live, e, started),
    };
    verdict.scan_time = started.elapsed();

    if let Some((sh, shadow_msg)) = shadow {
        let m = shadow_domains.message(env, shadow_msg);
        let shadow_verdict = match evaluate(sh, shadow_state, hs, &m, lookup) {
            Ok(()) => {
                let (action, decided) = decide(sh, shadow_state);
                ShadowVerdict {
                    action,
                    decided_by: decided.and_then(|r| sh.rule_ids.get(r as usize).cloned()),
                    rules: shadow_state
                        .matched
                        .iter()
                        .filter_map(|&r| sh.rule_ids.get(r as usize).cloned())
                        .collect(),
                    ruleset_version: sh.version,
                    differs: action != verdict.action,
                    error: None,
                }
            }
            Err(e) => ShadowVerdict {
                action: Action::Allow,
                decided_by: None,
                rules: Vec::new(),
                ruleset_version: sh.version,
                differs: false,
                error: Some(e),
            },
        };
        verdict.shadow = Some(shadow_verdict);
    }
    verdict
}

fn failed(rs: &Ruleset, e: ScanError, started: Instant) -> Verdict {
    Verdict {
        action: Action::Allow,
        decided_by: None,
        matches: Vec::new(),
        ruleset_version: rs.version,
        scan_time: started.elapsed(),
        shadow: None,
        error: Some(e),
    }
}

/// Scans every field with a database, then evaluates the candidate rules; the matched
/// rules are left in `st.matched`, in pack order.
fn evaluate(
    rs: &Ruleset,
    st: &mut State,
    hs: &hyperscan::ScratchRef,
    m: &Msg<'_>,
    lookup: &mut String,
) -> Result<(), ScanError> {
    st.begin(rs);
    for field in Field::ALL {
        let Some(fdb) = rs.field_db(field) else {
            continue;
        };
        for vi in 0..m.value_count(field) {
            let Some(value) = m.value(field, vi) else {
                continue;
            };
            scan_value(fdb, field, vi, value, hs, st)?;
        }
    }
    if !st.pending.is_empty() {
        scan_groups(rs, hs, m, st)?;
    }

    // Candidates: rules naming a matched term, rules that can fire without a match,
    // and (transitively) rules that reference a candidate with `@`.
    for i in 0..st.hits.len() {
        let Some(term) = st.hits.get(i).map(|h| h.term) else {
            break;
        };
        for &r in rs.rules_of_term(term) {
            st.add_candidate(r);
        }
    }
    for &r in &rs.always_global {
        st.add_candidate(r);
    }
    if !rs.always_by_account.is_empty()
        && let Some(rules) = rs.always_by_account.get(m.env.account)
    {
        for &r in rules {
            st.add_candidate(r);
        }
    }
    if !rs.always_by_group.is_empty() {
        for g in m.env.groups {
            if let Some(rules) = rs.always_by_group.get(g) {
                for &r in rules {
                    st.add_candidate(r);
                }
            }
        }
    }
    let mut i = 0;
    while let Some(&r) = st.candidates.get(i) {
        for &d in rs.dependents(r) {
            st.add_candidate(d);
        }
        i += 1;
    }
    st.candidates.sort_unstable();

    for i in 0..st.candidates.len() {
        let Some(&r) = st.candidates.get(i) else {
            break;
        };
        let applies = match rs.rule_scoped.get(r as usize) {
            Some(false) => true,
            Some(true) => rs
                .rules
                .get(r as usize)
                .is_some_and(|rule| in_scope(&rule.scope, m.env)),
            None => false,
        };
        if applies && rule_true(rs, r, st, m, lookup) {
            st.matched.push(r);
        }
    }
    Ok(())
}

/// Records the matches of one value's scan: the first hit of each term, or rather the
/// one ending first (then the lowest expression id), so the evidence does not depend on
/// which database reported a match first.
struct Recorder<'a> {
    fdb: &'a FieldDb,
    field: Field,
    value: u32,
    generation: u32,
    term_true: &'a mut [u32],
    hit_of: &'a mut [u32],
    hits: &'a mut Vec<Hit>,
}

impl Recorder<'_> {
    fn hit(&mut self, id: u32, to: u64) {
        for &t in self.fdb.terms_of(id) {
            let ti = t as usize;
            let Some(s) = self.term_true.get_mut(ti) else {
                continue;
            };
            if *s != self.generation {
                *s = self.generation;
                if let Some(h) = self.hit_of.get_mut(ti) {
                    *h = u32::try_from(self.hits.len()).unwrap_or(u32::MAX);
                }
                self.hits.push(Hit {
                    term: t,
                    field: self.field,
                    value: self.value,
                    expr: id,
                    end: to,
                });
            } else if let Some(h) = self
                .hit_of
                .get(ti)
                .and_then(|&k| self.hits.get_mut(k as usize))
                && h.field == self.field
                && h.value == self.value
                && (to, id) < (h.end, h.expr)
            {
                h.end = to;
                h.expr = id;
            }
        }
    }
}

/// Scans one value: `.` expressions from the value, then the field's database (literal
/// expressions, unguarded ones and the guard literals), then the groups of guarded
/// expressions whose guard matched, if any.
fn scan_value(
    fdb: &FieldDb,
    field: Field,
    vi: usize,
    value: &[u8],
    hs: &hyperscan::ScratchRef,
    st: &mut State,
) -> Result<(), ScanError> {
    let State {
        term_true,
        hits,
        hit_of,
        opened,
        pending,
        generation,
        pieces,
        joins,
        join_bufs,
        ..
    } = st;
    let mut rec = Recorder {
        fdb,
        field,
        value: u32::try_from(vi).unwrap_or(u32::MAX),
        generation: *generation,
        term_true,
        hit_of,
        hits,
    };
    for &(id, any) in &fdb.any_value {
        if let Some(end) = any.first_match_end(value, field.is_utf8()) {
            rec.hit(id, end as u64);
        }
    }
    let Some(db) = &fdb.db else {
        return Ok(());
    };
    opened.clear();
    pieces.clear();
    db.scan(value, hs, |id, _from, to, _flags| {
        if let Some(p) = fdb.piece_of(id) {
            if let Ok(end) = u32::try_from(to) {
                pieces.push((p, end));
            }
        } else {
            match fdb.opened_by(id) {
                Some(groups) => opened.extend_from_slice(groups),
                None => rec.hit(id, to),
            }
        }
        Matching::Continue
    })
    .map_err(|_| ScanError::Scan)?;
    if !pieces.is_empty() {
        join(fdb, field, value, pieces, joins, join_bufs, &mut rec);
    }
    if opened.is_empty() {
        return Ok(());
    }
    opened.sort_unstable();
    opened.dedup();
    let f = u32::try_from(field.index()).unwrap_or(u32::MAX);
    pending.extend(opened.iter().map(|&g| (f, rec.value, g)));
    Ok(())
}

/// Decides the split expressions from the piece occurrences of one value's scan: each
/// whose pieces chain up within its gaps matches, ending where its first chain ends.
fn join(
    fdb: &FieldDb,
    field: Field,
    value: &[u8],
    pieces: &mut Vec<(u32, u32)>,
    joins: &mut Vec<u32>,
    bufs: &mut JoinBufs,
    rec: &mut Recorder<'_>,
) {
    pieces.sort_unstable();
    pieces.dedup();
    joins.clear();
    let mut last = None;
    for &(p, _) in pieces.iter() {
        if last != Some(p) {
            joins.extend_from_slice(fdb.splits_of_piece(p));
            last = Some(p);
        }
    }
    joins.sort_unstable();
    joins.dedup();
    let occ = Occurrences {
        hits: pieces,
        width: &fdb.piece_width,
    };
    for &si in joins.iter() {
        let Some(sx) = fdb.splits.get(si as usize) else {
            continue;
        };
        if let Some(end) = sx
            .split
            .earliest_end(value, field.is_utf8(), &sx.ids, &occ, bufs)
        {
            rec.hit(sx.expr, u64::from(end));
        }
    }
}

/// Scans the opened groups that can change the verdict: those with a term a rule that
/// can still be true names (judged from what every term can be: true already, or named
/// by an expression of an opened group), or a term a rule that is not monotone names.
/// The others can only make true terms of rules that are false whatever they match.
fn scan_groups(
    rs: &Ruleset,
    hs: &hyperscan::ScratchRef,
    m: &Msg<'_>,
    st: &mut State,
) -> Result<(), ScanError> {
    let g = st.generation;
    for h in &st.hits {
        if let Some(p) = st.possible.get_mut(h.term as usize) {
            *p = g;
        }
    }
    for &(f, _, grp) in &st.pending {
        let Some(fdb) = Field::ALL.get(f as usize).and_then(|&f| rs.field_db(f)) else {
            continue;
        };
        for &t in fdb.group_terms(grp) {
            if let Some(p) = st.possible.get_mut(t as usize) {
                *p = g;
            }
        }
    }
    for i in 0..st.pending.len() {
        let Some(&(f, _, grp)) = st.pending.get(i) else {
            break;
        };
        let Some(fdb) = Field::ALL.get(f as usize).and_then(|&f| rs.field_db(f)) else {
            continue;
        };
        for &t in fdb.group_terms(grp) {
            if st.needed.get(t as usize) == Some(&g) {
                continue;
            }
            for &r in rs.rules_of_term(t) {
                if rs.monotone.get(r as usize) == Some(&true)
                    && can_be_true(rs, r, st, 0)
                    && let Some(rule) = rs.rules.get(r as usize)
                {
                    mark_needed(&rule.cond, st);
                }
            }
        }
    }
    let mut pending = std::mem::take(&mut st.pending);
    let mut result = Ok(());
    for &(f, vi, grp) in &pending {
        let Some(field) = Field::ALL.get(f as usize).copied() else {
            continue;
        };
        let Some(fdb) = rs.field_db(field) else {
            continue;
        };
        let wanted = fdb.group_always.get(grp as usize) == Some(&true)
            || fdb
                .group_terms(grp)
                .iter()
                .any(|&t| st.needed.get(t as usize) == Some(&g));
        if !wanted {
            continue;
        }
        let (Some(db), Some(value)) = (fdb.groups.get(grp as usize), m.value(field, vi as usize))
        else {
            continue;
        };
        let State {
            term_true,
            hits,
            hit_of,
            ..
        } = st;
        let mut rec = Recorder {
            fdb,
            field,
            value: vi,
            generation: g,
            term_true,
            hit_of,
            hits,
        };
        if db
            .scan(value, hs, |id, _from, to, _flags| {
                rec.hit(id, to);
                Matching::Continue
            })
            .is_err()
        {
            result = Err(ScanError::Scan);
            break;
        }
    }
    pending.clear();
    st.pending = pending;
    result
}

/// Whether monotone rule `r` can be true given what every term can be (`@` references to
/// rules that are not monotone count as "can").
fn can_be_true(rs: &Ruleset, r: u32, st: &mut State, depth: usize) -> bool {
    let i = r as usize;
    if st.open_done.get(i) == Some(&st.generation) {
        return st.open_value.get(i).copied().unwrap_or(true);
    }
    let value = match rs.rules.get(i) {
        Some(rule) if depth <= crate::pack::MAX_REF_DEPTH => can(rs, &rule.cond, st, depth),
        _ => true,
    };
    if let (Some(d), Some(v)) = (st.open_done.get_mut(i), st.open_value.get_mut(i)) {
        *d = st.generation;
        *v = value;
    }
    value
}

fn can(rs: &Ruleset, c: &Cond, st: &mut State, depth: usize) -> bool {
    match c {
        Cond::Term(t) => st.possible.get(*t as usize) == Some(&st.generation),
        Cond::Rule(r) => {
            rs.monotone.get(*r as usize) != Some(&true) || can_be_true(rs, *r, st, depth + 1)
        }
        Cond::Not(_) => true,
        Cond::And(cs) => cs.iter().all(|c| can(rs, c, st, depth)),
        Cond::Or(cs) => cs.iter().any(|c| can(rs, c, st, depth)),
    }
}

/// Marks the terms a condition names directly as needed.
fn mark_needed(c: &Cond, st: &mut State) {
    match c {
        Cond::Term(t) => {
            if let Some(n) = st.needed.get_mut(*t as usize) {
                *n = st.generation;
            }
        }
        Cond::Rule(_) => {}
        Cond::Not(c) => mark_needed(c, st),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| mark_needed(c, st)),
    }
}

fn in_scope(scope: &Scope, env: &Envelope<'_>) -> bool {
    if scope.restricted
        && !scope.accounts.contains(env.account)
        && !scope.groups.iter().any(|g| env.groups.contains(g))
    {
        return false;
    }
    if !scope.except_accounts.is_empty() && scope.except_accounts.contains(env.account) {
        return false;
    }
    if scope.except_groups.iter().any(|g| env.groups.contains(g)) {
        return false;
    }
    if !scope.senders.is_empty() {
        let sender = env.source_addr.trim();
        if !scope.senders.iter().any(|s| s.eq_ignore_ascii_case(sender)) {
            return false;
        }
    }
    if !scope.destinations.is_empty() {
        let d = env.destination_addr.trim();
        let d = d.strip_prefix('+').unwrap_or(d);
        if !scope.destinations.iter().any(|p| d.starts_with(p.as_str())) {
            return false;
        }
    }
    true
}

fn rule_true(rs: &Ruleset, r: u32, st: &mut State, m: &Msg<'_>, lookup: &mut String) -> bool {
    let i = r as usize;
    if st.rule_done.get(i) == Some(&st.generation) {
        return st.rule_value.get(i).copied().unwrap_or(false);
    }
    let value = match rs.cond_root.get(i) {
        Some(&root) => eval(rs, root, st, m, lookup),
        None => false,
    };
    if let (Some(d), Some(v)) = (st.rule_done.get_mut(i), st.rule_value.get_mut(i)) {
        *d = st.generation;
        *v = value;
    }
    value
}

/// The value of node `n` of the flattened conditions ([`Node`]).
fn eval(rs: &Ruleset, n: u32, st: &mut State, m: &Msg<'_>, lookup: &mut String) -> bool {
    let operands = |start: u32, len: u32| start..start.saturating_add(len);
    match rs.cond_nodes.get(n as usize) {
        Some(&Node::Term(t)) => term_true(rs, t, st, m, lookup),
        Some(&Node::Rule(r)) => rule_true(rs, r, st, m, lookup),
        Some(&Node::Not(c)) => !eval(rs, c, st, m, lookup),
        Some(&Node::And { start, len }) => operands(start, len).all(|c| eval(rs, c, st, m, lookup)),
        Some(&Node::Or { start, len }) => operands(start, len).any(|c| eval(rs, c, st, m, lookup)),
        None => false,
    }
}

fn term_true(rs: &Ruleset, t: u32, st: &mut State, m: &Msg<'_>, lookup: &mut String) -> bool {
    let i = t as usize;
    let g = st.generation;
    match rs.term_list.get(i) {
        Some(&NO_LIST) => return st.term_true.get(i) == Some(&g),
        Some(_) => {}
        None => return false,
    }
    let Some(term) = rs.terms.get(i) else {
        return false;
    };
    let TermKind::List(l) = term.kind else {
        return st.term_true.get(i) == Some(&g);
    };
    if st.list_done.get(i) == Some(&g) {
        return st.term_true.get(i) == Some(&g);
    }
    let mut found = None;
    if let Some(list) = rs.lists.get(l as usize) {
        for vi in 0..m.value_count(term.field) {
            if let Some(v) = m.str_value(term.field, vi)
                && list.contains(v, lookup)
            {
                found = Some(vi);
                break;
            }
        }
    }
    if let Some(d) = st.list_done.get_mut(i) {
        *d = g;
    }
    if let Some(vi) = found {
        if let Some(s) = st.term_true.get_mut(i) {
            *s = g;
        }
        if let Some(v) = st.list_value.get_mut(i) {
            *v = u32::try_from(vi).unwrap_or(u32::MAX);
        }
    }
    found.is_some()
}

/// The decisive rule and the action, from `st.matched`.
fn decide(rs: &Ruleset, st: &State) -> (Action, Option<u32>) {
    let mut best: Option<(i32, u8, u32)> = None;
    let mut monitored = false;
    for &r in &st.matched {
        let Some(rule) = rs.rules.get(r as usize) else {
            continue;
        };
        if rule.mode == Mode::Monitor {
            monitored = true;
            continue;
        }
        let key = (rule.priority, rule.action.severity());
        // Earlier rules win ties: `matched` is in pack order, so only replace on `>`.
        if best.is_none_or(|(p, s, _)| key > (p, s)) {
            best = Some((key.0, key.1, r));
        }
    }
    match best.and_then(|(_, _, r)| rs.rules.get(r as usize).map(|rule| (rule.action, r))) {
        Some((action, r)) => (action, Some(r)),
        None if monitored => (Action::Monitor, None),
        None => (Action::Allow, None),
    }
}

fn verdict(rs: &Ruleset, st: &State, m: &Msg<'_>) -> Verdict {
    let (action, decided) = decide(rs, st);
    let mut matches = Vec::with_capacity(st.matched.len());
    let mut decided_by = None;
    // Rules of a family share patterns: each pattern's evidence is computed once.
    let mut known: Vec<(u32, Option<Evidence>)> = Vec::new();
    let mut terms = Vec::new();
    for &r in &st.matched {
        let Some(rule) = rs.rules.get(r as usize) else {
            continue;
        };
        if decided == Some(r) {
            decided_by = Some(matches.len());
        }
        terms.clear();
        // An allowed message is forwarded untouched: its matches (an allow rule) are
        // listed, but no explanation work is spent on them.
        if action != Action::Allow {
            positive_terms(rs, &rule.cond, st, false, 0, &mut terms);
        }
        let mut evidence_list = Vec::with_capacity(terms.len());
        for &t in &terms {
            let ev = match known.iter().find(|(k, _)| *k == t) {
                Some((_, ev)) => ev.clone(),
                None => {
                    let ev = evidence(rs, t, st, m);
                    known.push((t, ev.clone()));
                    ev
                }
            };
            evidence_list.extend(ev);
        }
        let evidence = evidence_list;
        matches.push(RuleMatch {
            id: rs
                .rule_ids
                .get(r as usize)
                .cloned()
                .unwrap_or_else(|| Arc::from("")),
            category: rule.category,
            action: rule.action,
            mode: rule.mode,
            priority: rule.priority,
            evidence,
        });
    }
    Verdict {
        action,
        decided_by,
        matches,
        ruleset_version: rs.version,
        scan_time: Default::default(),
        shadow: None,
        error: None,
    }
}

/// The true terms a condition relies on positively (not under an odd number of `not`),
/// following `@rule` references, without duplicates.
fn positive_terms(
    rs: &Ruleset,
    c: &Cond,
    st: &State,
    negated: bool,
    depth: usize,
    out: &mut Vec<u32>,
) {
    if depth > crate::pack::MAX_REF_DEPTH {
        return;
    }
    match c {
        Cond::Term(t) => {
            if !negated && st.term_true.get(*t as usize) == Some(&st.generation) && !out.contains(t)
            {
                out.push(*t);
            }
        }
        Cond::Rule(r) => {
            let i = *r as usize;
            let evaluated = st.rule_done.get(i) == Some(&st.generation);
            let value = st.rule_value.get(i).copied().unwrap_or(false);
            if evaluated
                && value != negated
                && let Some(rule) = rs.rules.get(i)
            {
                positive_terms(rs, &rule.cond, st, negated, depth + 1, out);
            }
        }
        Cond::Not(c) => positive_terms(rs, c, st, !negated, depth, out),
        Cond::And(cs) | Cond::Or(cs) => {
            for c in cs.iter() {
                positive_terms(rs, c, st, negated, depth, out);
            }
        }
    }
}

fn evidence(rs: &Ruleset, t: u32, st: &State, m: &Msg<'_>) -> Option<Evidence> {
    let term = rs.terms.get(t as usize)?;
    let span = match term.kind {
        TermKind::List(_) => {
            let vi = st.list_value.get(t as usize).copied()? as usize;
            whole_value_span(term.field, vi, m)
        }
        TermKind::Exprs(_) => {
            let hit = st.hits.iter().find(|h| h.term == t)?;
            hit_span(rs, hit, m)
        }
    };
    Some(Evidence {
        pattern: rs.term_names.get(t as usize).cloned()?,
        field: term.field,
        span,
    })
}

/// The span of a whole field value (list matches, URL and phone matches).
fn whole_value_span(field: Field, vi: usize, m: &Msg<'_>) -> Option<Span> {
    match field {
        Field::Url | Field::Domain => m.msg.urls.get(vi).map(|u| decoded_span(m, u.range.clone())),
        Field::Phone => m
            .msg
            .phones
            .get(vi)
            .map(|p| decoded_span(m, p.range.clone())),
        _ => {
            let v = m.value(field, vi)?;
            Some(value_span(field, v, 0..v.len()))
        }
    }
}

/// A range of the normalized text, mapped to and quoted from the decoded text.
fn original_span(m: &Msg<'_>, normalized: Range<usize>) -> Span {
    decoded_span(m, m.msg.map_to_decoded(normalized))
}

/// A range of the decoded text, quoted.
fn decoded_span(m: &Msg<'_>, range: Range<usize>) -> Span {
    let quote = quote_str(m.msg.decoded, range.clone());
    Span { range, quote }
}

fn value_span(field: Field, value: &[u8], range: Range<usize>) -> Span {
    let bytes = value.get(range.clone()).unwrap_or_default();
    let quote = if field == Field::Binary {
        let mut q = String::with_capacity(bytes.len().min(MAX_QUOTE / 2) * 2);
        for b in bytes.iter().take(MAX_QUOTE / 2) {
            q.push_str(&format!("{b:02x}"));
        }
        q
    } else {
        let s = String::from_utf8_lossy(bytes);
        cut(&s).to_owned()
    };
    Span { range, quote }
}

fn quote_str(s: &str, r: Range<usize>) -> String {
    match s.get(r) {
        Some(q) => cut(q).to_owned(),
        None => String::new(),
    }
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_QUOTE {
        return s;
    }
    let mut end = MAX_QUOTE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Where a Hyperscan hit starts: by length for a literal, else through its explanation
/// regex.
fn hit_span(rs: &Ruleset, hit: &Hit, m: &Msg<'_>) -> Option<Span> {
    let vi = hit.value as usize;
    match hit.field {
        Field::Url | Field::Domain | Field::Phone => return whole_value_span(hit.field, vi, m),
        _ => {}
    }
    let value = m.value(hit.field, vi)?;
    let end = usize::try_from(hit.end).ok()?.min(value.len());
    let fdb = rs.field_db(hit.field)?;
    let expr = fdb.exprs.get(hit.expr as usize)?;
    let by_length = expr.literal.as_ref().and_then(|lit| {
        let start = end.checked_sub(lit.len())?;
        let got = value.get(start..end)?;
        got.eq_ignore_ascii_case(lit.as_bytes()).then_some(start)
    });
    let start = match by_length {
        Some(s) => s,
        None => som_start(fdb, hit.expr, value, end)?,
    };
    let range = start..end;
    Some(match hit.field {
        Field::Text => original_span(m, range),
        Field::Decoded => decoded_span(m, range),
        f => value_span(f, value, range),
    })
}

/// The leftmost start of a match of expression `expr` ending at `end`, through the
/// expression's end-anchored explanation regex, compiled with the ruleset (see
/// `compile::explainer`): never compiles.
fn som_start(fdb: &FieldDb, expr: u32, value: &[u8], end: usize) -> Option<usize> {
    let re = fdb.explain.get(expr as usize)?.as_ref()?;
    re.find(value.get(..end)?).map(|m| m.start())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::compile::Tuning;
    use crate::{Engine, RulePack};

    const PACK: &str = r#"
format = 1
[pack]
name = "gating"
version = "1"

[[rule]]
id = "cc-raise"
description = "a card word and a raise within a few characters"
category = "fraud"
action = "reject"
when = "card and raise"
patterns.card = { literal = "信用卡" }
patterns.raise = { regex = '額度.{0,6}提升' }

[[rule]]
id = "loan-not-bank"
description = "a loan claim, unless it names the bank"
category = "loan"
action = "tag"
when = "loan and not bank"
patterns.loan = { regex = '貸款.{0,6}秒批' }
patterns.bank = { literal = "本行" }
"#;

    /// Which patterns (by name) have a hit after evaluating `text`.
    fn hit_names(engine: &Engine, text: &str) -> Vec<String> {
        let mut scratch = Scratch::new();
        let v = engine.evaluate(&Envelope::new("acct"), text, &mut scratch);
        assert!(v.error.is_none());
        let rs = engine.ruleset();
        let mut names: Vec<String> = scratch
            .live
            .hits
            .iter()
            .map(|h| rs.term_names[h.term as usize].to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn opened_groups_are_scanned_only_when_their_rule_can_be_true() {
        // Not split: the gap expressions go to the groups.
        let tuning = Tuning {
            min_gated: 0,
            group_size: 1,
            split: false,
            ..Tuning::default()
        };
        let rs =
            crate::Ruleset::compile_tuned(RulePack::from_toml(PACK, "g.toml").unwrap(), tuning)
                .unwrap();
        assert_eq!(rs.stats().gated_groups, 2);
        let engine = Engine::new(rs);
        // `額度` opens the raise group, but without `信用卡` the rule cannot be true: the
        // group is not scanned, though its expression would match.
        assert_eq!(hit_names(&engine, "額度可提升"), Vec::<String>::new());
        // With the card word the group is scanned and the rule matches.
        assert_eq!(hit_names(&engine, "信用卡額度可提升"), ["card", "raise"]);
        // A rule with `not` has its terms scanned whenever their guard matched.
        assert_eq!(hit_names(&engine, "貸款秒批"), ["loan"]);
        // No guard literal at all: nothing but the field's own database.
        assert_eq!(hit_names(&engine, "提升"), Vec::<String>::new());
    }
}
