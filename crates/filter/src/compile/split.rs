//! Gap expressions matched as literal pieces joined after the scan.
//!
//! An expression such as `\b(billed|charged)\b.{0,30}\b(mistake|error)\b` is, to
//! Hyperscan, a large automaton (each bounded gap is a counting state machine), and a
//! database of a few dozen of them outgrows the CPU's caches. Its matches are decided as
//! well by its *pieces*, finite sets of literals, and the *gaps* between them: a match is
//! a chain of piece occurrences, each gap between two of them a run of characters of the
//! gap's class whose length is within the gap's bounds. The pieces go into the field's
//! database as literal alternations (one expression per byte width, so an occurrence's
//! start is its end minus the width, without start-of-match), every occurrence reported;
//! after the scan, [`Split::earliest_end`] finds the chain that ends first, which is the
//! match Hyperscan would have reported first with `SINGLEMATCH`.
//!
//! The shape is recognised conservatively from `regex_syntax`'s syntax tree, after the
//! same dialect check the guards use ([`super::gate`]): an alternation of branches, each
//! `P (GAP P)*`, where a piece is a concatenation of literals, small classes, groups,
//! alternations and bounded repeats with at most [`MAX_STRINGS`] strings, none empty,
//! optionally between `\b` assertions (they are zero-width and Hyperscan checks them
//! against the whole value, so they stay in the piece's expression), and a gap is a
//! repeat of `.`, `\s`, `\d`, `\w` (their negations) or an ASCII class, with at most
//! [`MAX_GAP`] characters. Branches of another shape stay one Hyperscan expression (the
//! *rest*), reported as the expression itself. Anything else (anchors, lookarounds,
//! unbounded repeats, Unicode classes, UCP classes, caseless non-ASCII or caseless
//! letters in a gap class, caseless pieces outside NFKC text) keeps the expression whole.

use regex_syntax::ast::{
    self, AssertionKind, Ast, ClassPerlKind, ClassSet, ClassSetItem, GroupKind, LiteralKind,
    RepetitionKind, RepetitionRange,
};

use crate::pack::HsExpr;

/// The most strings a piece may stand for.
pub(crate) const MAX_STRINGS: usize = 256;

/// The most characters a gap may span: bounds the work of joining one occurrence.
pub(crate) const MAX_GAP: u32 = 128;

/// The longest string of a piece, in bytes.
const MAX_STRING_BYTES: usize = 96;

/// An expression split into pieces and gaps.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Split {
    /// The pieces, each a list of (Hyperscan expression, byte width) with the same flags.
    pub(crate) pieces: Vec<Vec<(String, u32)>>,
    /// The branches of the shape, over indexes into `pieces`.
    pub(crate) branches: Vec<Branch>,
    /// The other branches, as one expression matched by Hyperscan as it is.
    pub(crate) rest: Option<String>,
    /// Whether the pieces are compiled as plain bytes (caseless ASCII on NFKC text).
    pub(crate) bytes: bool,
    /// The weight ([`super::gate::weight`]) of the most frequent-looking string of any
    /// piece.
    pub(crate) min_weight: f32,
}

/// One branch: a piece, then (gap, piece) links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Branch {
    pub(crate) first: u32,
    pub(crate) links: Vec<(Gap, u32)>,
}

/// A gap: between `min` and `max` characters, each in the class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Gap {
    pub(crate) min: u32,
    pub(crate) max: u32,
    /// Which ASCII characters (bytes below 0x80) are in the class.
    pub(crate) ascii: u128,
    /// Whether every character (byte, outside UTF-8 mode) from U+0080 on is in it.
    pub(crate) non_ascii: bool,
}

impl Gap {
    fn accepts(&self, c: u32) -> bool {
        if c < 128 {
            self.ascii >> c & 1 == 1
        } else {
            self.non_ascii
        }
    }
}

/// Splits `e` if it has the shape (see the module documentation) and at least one branch
/// with a gap. `nfkc_text`: the field's values are NFKC-normalized, so a caseless ASCII
/// piece has the same matches as plain bytes (see [`super::bytewise`]).
pub(crate) fn split(e: &HsExpr, nfkc_text: bool) -> Option<Split> {
    if e.literal.is_some() || !super::gate::same_dialect(&e.expression) {
        return None;
    }
    if e.flags.caseless && !(nfkc_text && e.expression.is_ascii()) {
        return None;
    }
    let parsed = ast::parse::ParserBuilder::new()
        .build()
        .parse(&e.expression)
        .ok()?;
    let branches: Vec<&Ast> = match ungroup(&parsed)? {
        Ast::Alternation(a) => a.asts.iter().collect(),
        other => vec![other],
    };
    let mut out = Split {
        pieces: Vec::new(),
        branches: Vec::new(),
        rest: None,
        bytes: e.flags.caseless,
        min_weight: f32::INFINITY,
    };
    let mut rest: Vec<&str> = Vec::new();
    let mut gapped = false;
    for b in branches {
        match chain(b, e) {
            Some(elements) => {
                gapped |= elements.len() > 1;
                let mut branch: Option<Branch> = None;
                for (gap, piece) in elements {
                    for (_, _, strings) in &piece {
                        for st in strings {
                            out.min_weight =
                                out.min_weight.min(super::gate::weight(st.as_bytes(), true));
                        }
                    }
                    let piece: Vec<(String, u32)> =
                        piece.into_iter().map(|(x, w, _)| (x, w)).collect();
                    let id = match out.pieces.iter().position(|p| *p == piece) {
                        Some(i) => i,
                        None => {
                            out.pieces.push(piece);
                            out.pieces.len() - 1
                        }
                    };
                    let id = u32::try_from(id).ok()?;
                    match (&mut branch, gap) {
                        (None, None) => {
                            branch = Some(Branch {
                                first: id,
                                links: Vec::new(),
                            })
                        }
                        (Some(br), Some(g)) => br.links.push((g, id)),
                        _ => return None,
                    }
                }
                out.branches.push(branch?);
            }
            None => {
                let span = b.span();
                rest.push(e.expression.get(span.start.offset..span.end.offset)?);
            }
        }
    }
    if !gapped {
        return None;
    }
    if !rest.is_empty() {
        out.rest = Some(
            rest.iter()
                .map(|r| format!("(?:{r})"))
                .collect::<Vec<_>>()
                .join("|"),
        );
    }
    Some(out)
}

fn plain_group(kind: &GroupKind) -> bool {
    match kind {
        GroupKind::CaptureIndex(_) => true,
        GroupKind::NonCapturing(flags) => flags.items.is_empty(),
        GroupKind::CaptureName { .. } => false,
    }
}

/// `a` without the plain groups around it; `None` under a group with flags or a name.
fn ungroup(mut a: &Ast) -> Option<&Ast> {
    while let Ast::Group(g) = a {
        if !plain_group(&g.kind) {
            return None;
        }
        a = &g.ast;
    }
    Some(a)
}

/// A piece as (Hyperscan expression, byte width, its strings) per width.
type PieceParts = Vec<(String, u32, Vec<String>)>;

/// A branch as (gap before, piece) elements, the first without a gap.
fn chain(b: &Ast, e: &HsExpr) -> Option<Vec<(Option<Gap>, PieceParts)>> {
    let items: Vec<&Ast> = match ungroup(b)? {
        Ast::Concat(c) => c.asts.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    let mut pending_gap: Option<Gap> = None;
    let mut run: Vec<&Ast> = Vec::new();
    for item in items {
        match gap(item, e) {
            Some(g) => {
                // A gap must follow a piece.
                if run.is_empty() {
                    return None;
                }
                out.push((pending_gap.take(), piece(&run, e)?));
                run.clear();
                pending_gap = Some(g);
            }
            None => run.push(item),
        }
    }
    if run.is_empty() {
        return None;
    }
    out.push((pending_gap, piece(&run, e)?));
    Some(out)
}

/// `item` as a gap: a bounded repeat of one character class.
fn gap(item: &Ast, e: &HsExpr) -> Option<Gap> {
    let Ast::Repetition(r) = item else {
        return None;
    };
    let (min, max) = match &r.op.kind {
        RepetitionKind::ZeroOrOne => (0, 1),
        RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, *n),
        RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, *n),
        _ => return None,
    };
    if max > MAX_GAP || min > max {
        return None;
    }
    let (ascii, non_ascii, listed_letters) = match &*r.ast {
        Ast::Dot(_) => {
            let all = u128::MAX;
            let ascii = if e.flags.dotall {
                all
            } else {
                all & !(1u128 << b'\n')
            };
            (ascii, true, false)
        }
        Ast::ClassPerl(p) => {
            if e.flags.ucp {
                return None;
            }
            let set = perl_set(&p.kind);
            if p.negated {
                (!set, true, has_letter(set))
            } else {
                (set, false, has_letter(set))
            }
        }
        Ast::ClassBracketed(c) => {
            let set = bracket_ascii(&c.kind, e.flags.ucp)?;
            if c.negated {
                (!set, true, has_letter(set))
            } else {
                (set, false, has_letter(set))
            }
        }
        _ => return None,
    };
    // Caseless matching folds ASCII letters with non-ASCII ones (`k` and U+212A).
    if e.flags.caseless && listed_letters {
        return None;
    }
    // A repeat of a small class (`[ab]?`) reads as well as a piece: keep gaps for real
    // gaps, so pieces stay long.
    if max < 2 && matches!(&*r.ast, Ast::ClassBracketed(c) if !c.negated) {
        return None;
    }
    Some(Gap {
        min,
        max,
        ascii,
        non_ascii,
    })
}

fn has_letter(set: u128) -> bool {
    (b'a'..=b'z').chain(b'A'..=b'Z').any(|c| set >> c & 1 == 1)
}

/// The ASCII members of `\d`, `\s`, `\w` without UCP.
fn perl_set(kind: &ClassPerlKind) -> u128 {
    let mut set = 0u128;
    let mut add = |c: u8| set |= 1u128 << c;
    match kind {
        ClassPerlKind::Digit => (b'0'..=b'9').for_each(&mut add),
        ClassPerlKind::Space => [b'\t', b'\n', 0x0b, 0x0c, b'\r', b' ']
            .into_iter()
            .for_each(&mut add),
        ClassPerlKind::Word => (b'0'..=b'9')
            .chain(b'a'..=b'z')
            .chain(b'A'..=b'Z')
            .chain([b'_'])
            .for_each(&mut add),
    }
    set
}

/// The members of a bracketed class made of ASCII literals, ranges and perl classes.
fn bracket_ascii(set: &ClassSet, ucp: bool) -> Option<u128> {
    let ClassSet::Item(item) = set else {
        return None;
    };
    let items: Vec<&ClassSetItem> = match item {
        ClassSetItem::Union(u) => u.items.iter().collect(),
        other => vec![other],
    };
    let mut out = 0u128;
    for it in items {
        match it {
            ClassSetItem::Literal(l) => {
                let c = ascii_literal(l)?;
                out |= 1u128 << c;
            }
            ClassSetItem::Range(r) => {
                let (a, b) = (ascii_literal(&r.start)?, ascii_literal(&r.end)?);
                for c in a..=b {
                    out |= 1u128 << c;
                }
            }
            ClassSetItem::Perl(p) if !ucp => {
                let s = perl_set(&p.kind);
                out |= if p.negated { return None } else { s };
            }
            _ => return None,
        }
    }
    Some(out)
}

fn ascii_literal(l: &ast::Literal) -> Option<u8> {
    u8::try_from(u32::from(l.c)).ok().filter(u8::is_ascii)
}

/// A literal character both dialects read as the same character.
fn literal_char(l: &ast::Literal) -> Option<char> {
    match l.kind {
        LiteralKind::Verbatim | LiteralKind::Meta | LiteralKind::Superfluous => Some(l.c),
        LiteralKind::HexFixed(_) | LiteralKind::HexBrace(_) if l.c.is_ascii() => Some(l.c),
        LiteralKind::Special(_) if l.c.is_ascii() => Some(l.c),
        _ => None,
    }
}

/// A run of non-gap items as a piece: its strings, grouped by byte width, each group one
/// Hyperscan expression (with the run's leading and trailing `\b`).
fn piece(run: &[&Ast], e: &HsExpr) -> Option<PieceParts> {
    let mut items = run;
    let mut lead = false;
    let mut trail = false;
    while let Some((first, rest)) = items.split_first() {
        if is_word_boundary(first) {
            lead = true;
            items = rest;
        } else {
            break;
        }
    }
    while let Some((last, rest)) = items.split_last() {
        if is_word_boundary(last) {
            trail = true;
            items = rest;
        } else {
            break;
        }
    }
    let mut strings = vec![String::new()];
    for item in items {
        let next = language(item, e)?;
        strings = product(&strings, &next)?;
    }
    strings.sort();
    strings.dedup();
    if strings.iter().any(String::is_empty) {
        return None;
    }
    let mut by_width: Vec<(u32, Vec<&str>)> = Vec::new();
    for s in &strings {
        let w = u32::try_from(s.len()).ok()?;
        match by_width.iter_mut().find(|(x, _)| *x == w) {
            Some((_, v)) => v.push(s),
            None => by_width.push((w, vec![s])),
        }
    }
    by_width.sort_by_key(|(w, _)| *w);
    let wb = if lead { "\\b" } else { "" };
    let we = if trail { "\\b" } else { "" };
    by_width
        .into_iter()
        .map(|(w, ss)| {
            let alts = ss
                .iter()
                .map(|s| super::gate::literal_expression(s.as_bytes(), true))
                .collect::<Option<Vec<_>>>()?;
            Some((
                format!("{wb}(?:{}){we}", alts.join("|")),
                w,
                ss.iter().map(|s| (*s).to_owned()).collect(),
            ))
        })
        .collect()
}

fn is_word_boundary(a: &Ast) -> bool {
    matches!(a, Ast::Assertion(x) if x.kind == AssertionKind::WordBoundary)
}

fn product(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len().checked_mul(b.len())? > MAX_STRINGS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let s = format!("{x}{y}");
            if s.len() > MAX_STRING_BYTES {
                return None;
            }
            out.push(s);
        }
    }
    Some(out)
}

/// The finite set of strings `a` matches, if it is one of the recognised forms.
fn language(a: &Ast, e: &HsExpr) -> Option<Vec<String>> {
    match a {
        Ast::Empty(_) => Some(vec![String::new()]),
        Ast::Literal(l) => {
            let c = literal_char(l)?;
            if e.flags.caseless && !c.is_ascii() {
                return None;
            }
            Some(vec![c.to_string()])
        }
        Ast::ClassPerl(p) if p.kind == ClassPerlKind::Digit && !p.negated && !e.flags.ucp => {
            Some((b'0'..=b'9').map(|c| char::from(c).to_string()).collect())
        }
        Ast::ClassBracketed(c) if !c.negated => {
            let chars = bracket_chars(&c.kind)?;
            if e.flags.caseless && chars.iter().any(|c| !c.is_ascii()) {
                return None;
            }
            Some(chars.into_iter().map(String::from).collect())
        }
        Ast::Group(g) if plain_group(&g.kind) => language(&g.ast, e),
        Ast::Concat(c) => {
            let mut out = vec![String::new()];
            for x in &c.asts {
                out = product(&out, &language(x, e)?)?;
            }
            Some(out)
        }
        Ast::Alternation(alt) => {
            let mut out = Vec::new();
            for x in &alt.asts {
                out.extend(language(x, e)?);
                if out.len() > MAX_STRINGS {
                    return None;
                }
            }
            Some(out)
        }
        Ast::Repetition(r) => {
            let (min, max) = match &r.op.kind {
                RepetitionKind::ZeroOrOne => (0, 1),
                RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, *n),
                RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => (*m, *n),
                _ => return None,
            };
            if max > 8 || min > max {
                return None;
            }
            let inner = language(&r.ast, e)?;
            let mut out = Vec::new();
            let mut power = vec![String::new()];
            for k in 0..=max {
                if k >= min {
                    out.extend(power.iter().cloned());
                    if out.len() > MAX_STRINGS {
                        return None;
                    }
                }
                if k < max {
                    power = product(&power, &inner)?;
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// The members of a small bracketed class of literals and ranges.
fn bracket_chars(set: &ClassSet) -> Option<Vec<char>> {
    let ClassSet::Item(item) = set else {
        return None;
    };
    let items: Vec<&ClassSetItem> = match item {
        ClassSetItem::Union(u) => u.items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for it in items {
        match it {
            ClassSetItem::Literal(l) => out.push(literal_char(l)?),
            ClassSetItem::Range(r) => {
                let (a, b) = (literal_char(&r.start)?, literal_char(&r.end)?);
                if u32::from(b).checked_sub(u32::from(a))? >= 16 {
                    return None;
                }
                out.extend(a..=b);
            }
            _ => return None,
        }
        if out.len() > 16 {
            return None;
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// Per-scan buffers of the join, reused across messages.
#[derive(Default)]
pub(crate) struct JoinBufs {
    reach: Vec<u32>,
    next: Vec<u32>,
}

/// The piece occurrences of one scan.
pub(crate) struct Occurrences<'a> {
    /// (piece id, end), sorted.
    pub(crate) hits: &'a [(u32, u32)],
    /// Per piece id: its byte width.
    pub(crate) width: &'a [u32],
}

impl Occurrences<'_> {
    /// Calls `f(start, end)` for every occurrence of the piece ids `ids`.
    fn each(&self, ids: &[u32], mut f: impl FnMut(u32, u32)) {
        for &id in ids {
            let Some(&w) = self.width.get(id as usize) else {
                continue;
            };
            let from = self.hits.partition_point(|&(p, _)| p < id);
            let rest = self.hits.get(from..).unwrap_or_default();
            for &(_, end) in rest.iter().take_while(|&&(p, _)| p == id) {
                if let Some(start) = end.checked_sub(w) {
                    f(start, end);
                }
            }
        }
    }
}

impl Split {
    /// The branches of another shape as an expression of their own, with `e`'s flags:
    /// matched by Hyperscan beside the pieces.
    pub(crate) fn rest_expr(&self, e: &HsExpr) -> Option<HsExpr> {
        self.rest.as_ref().map(|rest| HsExpr {
            expression: rest.clone(),
            flags: e.flags,
            literal: None,
        })
    }

    /// Where the first match of the split branches ends in `value`, given every
    /// occurrence of every piece. `ids[p]`: the piece ids (one per byte width) of piece
    /// `p`. `utf8`: gaps count characters of valid UTF-8, not bytes.
    pub(crate) fn earliest_end(
        &self,
        value: &[u8],
        utf8: bool,
        ids: &[Vec<u32>],
        occ: &Occurrences<'_>,
        bufs: &mut JoinBufs,
    ) -> Option<u32> {
        let mut best: Option<u32> = None;
        let JoinBufs { reach, next } = bufs;
        for b in &self.branches {
            reach.clear();
            let Some(first) = ids.get(b.first as usize) else {
                continue;
            };
            occ.each(first, |_, end| reach.push(end));
            reach.sort_unstable();
            reach.dedup();
            for &(g, p) in &b.links {
                if reach.is_empty() {
                    break;
                }
                next.clear();
                if let Some(piece) = ids.get(p as usize) {
                    occ.each(piece, |start, end| {
                        if gap_from(value, utf8, start, &g, reach) {
                            next.push(end);
                        }
                    });
                }
                next.sort_unstable();
                next.dedup();
                std::mem::swap(reach, next);
            }
            if let Some(&end) = reach.first() {
                best = Some(best.map_or(end, |b| b.min(end)));
            }
        }
        best
    }
}

/// Whether some end in `reach` (sorted) is followed by a run of `g`'s characters, of a
/// length within its bounds, that ends at `start`.
fn gap_from(value: &[u8], utf8: bool, start: u32, g: &Gap, reach: &[u32]) -> bool {
    let mut pos = start as usize;
    let mut count = 0u32;
    loop {
        if count >= g.min && u32::try_from(pos).is_ok_and(|p| reach.binary_search(&p).is_ok()) {
            return true;
        }
        if count >= g.max || pos == 0 {
            return false;
        }
        let Some((c, len)) = char_before(value, pos, utf8) else {
            return false;
        };
        if !g.accepts(c) {
            return false;
        }
        pos -= len;
        count += 1;
    }
}

/// The character (byte outside UTF-8 mode) ending at `pos`, and its length in bytes.
fn char_before(value: &[u8], pos: usize, utf8: bool) -> Option<(u32, usize)> {
    let last = *value.get(pos.checked_sub(1)?)?;
    if !utf8 || last < 0x80 {
        return Some((u32::from(last), 1));
    }
    // Back over continuation bytes to the lead byte (at most three of them).
    let mut len = 1;
    while len < 4 {
        let b = *value.get(pos.checked_sub(len)?)?;
        if b & 0xc0 != 0x80 {
            break;
        }
        len += 1;
    }
    let bytes = value.get(pos.checked_sub(len)?..pos)?;
    let c = std::str::from_utf8(bytes).ok()?.chars().next()?;
    Some((u32::from(c), len))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::pack::ExprFlags;

    fn expr(s: &str) -> HsExpr {
        HsExpr {
            expression: s.into(),
            flags: ExprFlags {
                caseless: false,
                dotall: false,
                utf8: true,
                ucp: false,
            },
            literal: None,
        }
    }

    #[test]
    fn shapes() {
        let s = split(
            &expr(r"\b(billed|charged)\b.{0,30}\b(mistake|error)\b"),
            true,
        )
        .unwrap();
        assert_eq!(s.branches.len(), 1);
        assert_eq!(s.pieces.len(), 2);
        // Grouped by width: `billed` is 6 bytes, `charged` 7.
        assert_eq!(
            s.pieces[0],
            [
                (r"\b(?:billed)\b".to_owned(), 6),
                (r"\b(?:charged)\b".to_owned(), 7)
            ]
        );
        let s = split(&expr("(加|添加).{0,8}(微信|vx)|客服"), true).unwrap();
        assert_eq!(s.branches.len(), 2);
        assert!(s.rest.is_none());
        // A branch of another shape stays whole.
        let s = split(&expr(r"a.{0,3}b|x+y"), true).unwrap();
        assert_eq!(s.rest.as_deref(), Some("(?:x+y)"));
        // The examples of docs/rules.md: long pieces, and a short frequent one.
        let long = split(
            &expr("(冒充|假冒)(公安|警察).{0,6}(安全賬戶|安全账户)"),
            true,
        )
        .unwrap();
        assert!(long.min_weight >= 4.0);
        let short = split(&expr(r"\b(u|your)\b.{0,12}\bwon\b"), true).unwrap();
        assert!(short.min_weight < 4.0);
        for no in [
            "abc",
            r"\bab\b",
            "a.*b",
            "a.{0,300}b",
            "^a.{0,3}b",
            ".{0,3}b",
            "a.{0,3}",
            r"a\w+.{0,3}b",
            "(?i)a.{0,3}b",
            r"a.{0,3}\pLb",
        ] {
            assert_eq!(split(&expr(no), true), None, "{no}");
        }
    }
}
