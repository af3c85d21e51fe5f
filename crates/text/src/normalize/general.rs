//! The general path: every step, over a vector of characters that each remember the
//! decoded-text bytes they came from.
//!
//! Per-character steps run once, in this order: invisible characters, NFKC, case folding
//! (then NFKC again where folding produced non-ASCII), Traditional → Simplified, Unicode
//! digits. Overlay marks are dropped with the contextual steps, because removing a
//! separator gives a mark a new base. The contextual steps (URL defanging, separator collapsing,
//! Chinese numerals, confusables, leet) then repeat until none changes anything, because
//! one can expose work for another (`h x x p` collapses to `hxxp`, which defangs to `http`).
//! Every contextual change removes characters or moves a character towards ASCII, so the
//! repetition ends; it is capped all the same.

use std::iter;
use std::ops::Range;

use caseless::Caseless;
use unicode_normalization::char::{canonical_combining_class, compose, decompose_compatible};
use unicode_script::{Script, UnicodeScript};

use super::chars::{
    ascii_prototype, cn_numeral, is_han, is_invisible, is_sentence_punct, is_separator, is_tld,
    is_token_char, is_word_char, joins_after_dot_space_chars, marks_are_overlays, nd_digit, t2s,
};
use super::extract::url_spans;
use super::{MatchText, NormalizeOptions, Unit, offset};

/// Upper bound on rounds of the contextual steps.
const MAX_ROUNDS: usize = 8;

/// Normalizes `input` into `out` running every enabled step.
pub(super) fn run(o: &NormalizeOptions, input: &str, out: &mut MatchText) {
    let mut units = std::mem::take(&mut out.units);
    let mut scratch = std::mem::take(&mut out.scratch);
    units.clear();
    for (i, c) in input.char_indices() {
        if o.strip_invisible && is_invisible(c) {
            continue;
        }
        let start = offset(i);
        units.push(Unit {
            c,
            start,
            end: start.saturating_add(c.len_utf8() as u32),
        });
    }
    if o.nfkc {
        nfkc(&mut units, &mut scratch);
    }
    if o.case_fold && case_fold(&mut units, &mut scratch) && o.nfkc {
        nfkc(&mut units, &mut scratch);
    }
    if o.traditional_to_simplified {
        for u in units.iter_mut() {
            if let Some(s) = t2s(u.c) {
                u.c = s;
            }
        }
    }
    if o.fold_digits {
        for u in units.iter_mut() {
            if let Some(d) = nd_digit(u.c) {
                u.c = d;
            }
        }
    }
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        if o.strip_overlay_marks {
            // Removing separators gives a mark a new base, so this runs every round.
            changed |= strip_overlay_marks(&mut units);
        }
        if o.deobfuscate_urls {
            changed |= deobfuscate(&mut units, &mut scratch);
        }
        if o.collapse_separators {
            changed |= collapse(&mut units, &mut scratch);
        }
        if o.fold_digits {
            changed |= numerals(&mut units);
        }
        if o.confusables {
            changed |= confusables(input, &mut units, &mut scratch);
        }
        if o.leet {
            changed |= leet(&mut units);
        }
        if !changed {
            break;
        }
    }
    for &u in &units {
        out.push_unit(u);
    }
    out.units = units;
    out.scratch = scratch;
}

fn ccc(c: char) -> u8 {
    canonical_combining_class(c)
}

/// NFKC over units: compatibility decomposition, canonical reordering, canonical
/// composition. A composed character covers the bytes of all its parts.
fn nfkc(units: &mut Vec<Unit>, scratch: &mut Vec<Unit>) {
    if units.iter().all(|u| u.c.is_ascii()) {
        return;
    }
    scratch.clear();
    for u in units.iter() {
        decompose_compatible(u.c, |d| scratch.push(Unit { c: d, ..*u }));
    }
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    let mut i = 0;
    while i < scratch.len() {
        if scratch.get(i).is_some_and(|u| ccc(u.c) == 0) {
            i += 1;
            continue;
        }
        let start = i;
        while scratch.get(i).is_some_and(|u| ccc(u.c) != 0) {
            i += 1;
        }
        if let Some(run) = scratch.get_mut(start..i) {
            run.sort_by_key(|u| ccc(u.c));
        }
    }
    units.clear();
    let mut starter: Option<usize> = None;
    let mut last_cc = 0u8;
    for &u in scratch.iter() {
        let cc = ccc(u.c);
        if let Some(si) = starter {
            let adjacent = units.len() == si + 1;
            if (adjacent || (last_cc != 0 && last_cc < cc))
                && let Some(s) = units.get_mut(si)
                && let Some(x) = compose(s.c, u.c)
            {
                s.c = x;
                s.start = s.start.min(u.start);
                s.end = s.end.max(u.end);
                continue;
            }
        }
        if cc == 0 {
            starter = Some(units.len());
        }
        last_cc = cc;
        units.push(u);
    }
}

/// Full case folding; `true` when a non-ASCII character changed (NFKC must run again).
fn case_fold(units: &mut Vec<Unit>, scratch: &mut Vec<Unit>) -> bool {
    if units.iter().all(|u| u.c.is_ascii()) {
        for u in units.iter_mut() {
            u.c = u.c.to_ascii_lowercase();
        }
        return false;
    }
    scratch.clear();
    let mut changed = false;
    for &u in units.iter() {
        if u.c.is_ascii() {
            scratch.push(Unit {
                c: u.c.to_ascii_lowercase(),
                ..u
            });
            continue;
        }
        let before = scratch.len();
        scratch.extend(iter::once(u.c).default_case_fold().map(|c| Unit { c, ..u }));
        changed |= scratch.len() != before + 1 || scratch.last().is_some_and(|f| f.c != u.c);
    }
    std::mem::swap(units, scratch);
    changed
}

/// Drops combining marks stacked on Latin, Greek, Cyrillic, Han or symbol bases.
fn strip_overlay_marks(units: &mut Vec<Unit>) -> bool {
    let before = units.len();
    let mut base: Option<char> = None;
    units.retain(|u| {
        if unicode_normalization::char::is_combining_mark(u.c) {
            let han = base.is_some_and(|b| b.script() == Script::Han);
            return !(han || marks_are_overlays(base));
        }
        base = Some(u.c);
        true
    });
    units.len() != before
}

fn lower(u: Option<&Unit>) -> Option<char> {
    u.map(|u| u.c.to_ascii_lowercase())
}

/// Whether the units at `at` spell `word` (ASCII, any case).
fn spells(units: &[Unit], at: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, w)| lower(units.get(at + k)) == Some(w))
}

/// The lower-cased token (up to 7 characters) starting at `at`, and where it ends.
fn token_at(units: &[Unit], at: usize) -> ([char; 7], usize, usize) {
    let mut buf = ['\0'; 7];
    let mut n = 0;
    let mut end = at;
    while let Some(u) = units.get(end) {
        if !is_token_char(u.c) {
            break;
        }
        if let Some(slot) = buf.get_mut(n) {
            *slot = u.c.to_ascii_lowercase();
            n += 1;
        }
        end += 1;
    }
    (buf, if end - at > 7 { 0 } else { n }, end)
}

/// Whether the token that ends at the end of `out` is `www`.
fn ends_with_www(out: &[Unit]) -> bool {
    let n = out.len();
    n >= 3
        && out
            .get(n - 3..)
            .is_some_and(|t| t.iter().all(|u| u.c.eq_ignore_ascii_case(&'w')))
        && (n == 3 || out.get(n - 4).is_some_and(|u| !is_token_char(u.c)))
}

/// `hxxp` → `http`, `[.]` `(dot)` `{.}` `[:]` → `.`/`:`, `name dot com` and `name . com`
/// → `name.com`.
fn deobfuscate(units: &mut Vec<Unit>, scratch: &mut Vec<Unit>) -> bool {
    scratch.clear();
    let mut changed = false;
    let mut i = 0;
    while let Some(&u) = units.get(i) {
        let at_token_start = scratch.last().is_none_or(|p| !p.c.is_ascii_alphanumeric());
        // hxxp → http
        if at_token_start && spells(units, i, "hxxp") {
            for (k, c) in "http".chars().enumerate() {
                if let Some(&v) = units.get(i + k) {
                    scratch.push(Unit { c, ..v });
                }
            }
            i += 4;
            changed = true;
            continue;
        }
        // Bracketed dot or colon.
        if matches!(u.c, '[' | '(' | '{' | '<')
            && let Some((c, next)) = bracketed(units, i)
        {
            let end = units.get(next - 1).map_or(u.end, |v| v.end);
            scratch.push(Unit {
                c,
                start: u.start,
                end,
            });
            i = next;
            changed = true;
            continue;
        }
        // Spaced dot or the word "dot" between host-name labels.
        if matches!(u.c, ' ' | '.')
            && scratch.last().is_some_and(|p| is_token_char(p.c))
            && let Some(next) = spaced_dot(units, i, ends_with_www(scratch))
        {
            let end = units.get(next - 1).map_or(u.end, |v| v.end);
            scratch.push(Unit {
                c: '.',
                start: u.start,
                end,
            });
            i = next;
            changed = true;
            continue;
        }
        scratch.push(u);
        i += 1;
    }
    if changed {
        std::mem::swap(units, scratch);
    }
    changed
}

fn skip_spaces(units: &[Unit], mut i: usize) -> usize {
    while units.get(i).is_some_and(|u| u.c == ' ') {
        i += 1;
    }
    i
}

/// `[.]`, `[[ . ]]`, `(dot)`, `{.}`, `<.>`, `[:]` starting at `i`: the character it stands
/// for and the index after it.
fn bracketed(units: &[Unit], i: usize) -> Option<(char, usize)> {
    let mut k = i;
    while units
        .get(k)
        .is_some_and(|u| matches!(u.c, '[' | '(' | '{' | '<'))
    {
        k += 1;
    }
    k = skip_spaces(units, k);
    let c = match lower(units.get(k))? {
        '.' => {
            k += 1;
            '.'
        }
        ':' => {
            k += 1;
            ':'
        }
        'd' if spells(units, k, "dot")
            && !units.get(k + 3).is_some_and(|u| u.c.is_ascii_alphabetic()) =>
        {
            k += 3;
            '.'
        }
        _ => return None,
    };
    k = skip_spaces(units, k);
    let close = k;
    while units
        .get(k)
        .is_some_and(|u| matches!(u.c, ']' | ')' | '}' | '>'))
    {
        k += 1;
    }
    (k > close).then_some((c, k))
}

/// ` . `, `. `, ` .` or ` dot ` at `i`, between a token and a TLD (or after `www`): the
/// index after it.
fn spaced_dot(units: &[Unit], i: usize, after_www: bool) -> Option<usize> {
    let a = skip_spaces(units, i);
    let (b, word) = match lower(units.get(a))? {
        '.' => (a + 1, false),
        'd' if spells(units, a, "dot") => (a + 3, true),
        _ => return None,
    };
    let e = skip_spaces(units, b);
    let spaces_before = a > i;
    let spaces_after = e > b;
    let spaced = if word {
        spaces_before && spaces_after
    } else {
        spaces_before || spaces_after
    };
    if !spaced || !units.get(e).is_some_and(|u| is_token_char(u.c)) {
        return None;
    }
    let (label, len, end) = token_at(units, e);
    let label = label.get(..len).unwrap_or(&[]);
    let joins = if word || spaces_before {
        is_tld(label)
    } else {
        // `name. label`: also how a sentence ends and the next begins.
        joins_after_dot_space_chars(label, units.get(end).is_some_and(|u| u.c == '/'))
    };
    (joins || after_www).then_some(e)
}

/// One run of separators and what collapsing does with it.
#[derive(Clone, Copy)]
struct SepRun {
    start: usize,
    end: usize,
    delete: bool,
    /// Between two single-character tokens, short enough to join them.
    link: bool,
}

fn is_single_word(units: &[Unit], at: usize) -> bool {
    units.get(at).is_some_and(|u| is_word_char(u.c))
        && !at
            .checked_sub(1)
            .and_then(|p| units.get(p))
            .is_some_and(|u| is_word_char(u.c))
        && !units.get(at + 1).is_some_and(|u| is_word_char(u.c))
}

/// Removes separators between Han characters (runs of 1–4 without sentence punctuation)
/// and between single letters, digits or Han characters in chains of three or more (runs
/// of 1–2). Separators inside a URL or host name stay: `x.co/q?a=1` is no `F.R.E.E`.
fn collapse(units: &mut Vec<Unit>, scratch: &mut Vec<Unit>) -> bool {
    let urls = url_spans_of(units);
    let mut runs: Vec<SepRun> = Vec::new();
    let mut i = 0;
    while let Some(u) = units.get(i) {
        if !is_separator(u.c) {
            i += 1;
            continue;
        }
        let start = i;
        while units.get(i).is_some_and(|u| is_separator(u.c)) {
            i += 1;
        }
        let len = i - start;
        let left = start.checked_sub(1);
        let han = left.and_then(|l| units.get(l)).is_some_and(|u| is_han(u.c))
            && units.get(i).is_some_and(|u| is_han(u.c))
            && len <= 4
            && !units
                .get(start..i)
                .unwrap_or(&[])
                .iter()
                .any(|u| is_sentence_punct(u.c));
        let link =
            len <= 2 && left.is_some_and(|l| is_single_word(units, l)) && is_single_word(units, i);
        let in_url = urls.iter().any(|u| u.start < start && i < u.end);
        let (han, link) = (han && !in_url, link && !in_url);
        runs.push(SepRun {
            start,
            end: i,
            delete: han,
            link,
        });
    }
    // A chain of two or more consecutive links joins three or more single characters.
    let mut k = 0;
    while k < runs.len() {
        if !runs.get(k).is_some_and(|r| r.link) {
            k += 1;
            continue;
        }
        let first = k;
        while runs
            .get(k + 1)
            .is_some_and(|next| next.link && runs.get(k).is_some_and(|r| next.start == r.end + 1))
        {
            k += 1;
        }
        if k > first {
            for r in runs.get_mut(first..=k).into_iter().flatten() {
                r.delete = true;
            }
        }
        k += 1;
    }
    if !runs.iter().any(|r| r.delete) {
        return false;
    }
    scratch.clear();
    let mut pos = 0;
    for r in runs.iter().filter(|r| r.delete) {
        scratch.extend_from_slice(units.get(pos..r.start).unwrap_or(&[]));
        pos = r.end;
    }
    scratch.extend_from_slice(units.get(pos..).unwrap_or(&[]));
    std::mem::swap(units, scratch);
    true
}

/// The unit ranges of the URLs and host names the extractor finds in `units` (one byte
/// per unit: the character when ASCII, else a byte no URL holds).
fn url_spans_of(units: &[Unit]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    if !units.iter().any(|u| u.c == '.') {
        return spans;
    }
    let bytes: Vec<u8> = units
        .iter()
        .map(|u| if u.c.is_ascii() { u.c as u8 } else { 0xFF })
        .collect();
    url_spans(&bytes, |start, end| spans.push(start..end));
    spans
}

/// Chinese numerals inside a digit run of three or more (with an ASCII digit) or five or
/// more characters become ASCII digits.
fn numerals(units: &mut [Unit]) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < units.len() {
        let start = i;
        let (mut ascii, mut cn) = (false, false);
        while let Some(u) = units.get(i) {
            if u.c.is_ascii_digit() {
                ascii = true;
            } else if cn_numeral(u.c).is_some() {
                cn = true;
            } else {
                break;
            }
            i += 1;
        }
        let len = i - start;
        if cn && len >= 3 && (ascii || len >= 5) {
            for u in units.get_mut(start..i).into_iter().flatten() {
                if let Some(d) = cn_numeral(u.c) {
                    u.c = d;
                    changed = true;
                }
            }
        }
        if len == 0 {
            i += 1;
        }
    }
    changed
}

/// Folds look-alike letters to ASCII inside words: non-ASCII Latin letters always,
/// Cyrillic and Greek letters in words that also hold ASCII letters; then a lone `0`/`1` in
/// a word of at least three letters.
fn confusables(input: &str, units: &mut Vec<Unit>, scratch: &mut Vec<Unit>) -> bool {
    let mut changed = false;
    scratch.clear();
    let mut i = 0;
    while let Some(&u) = units.get(i) {
        if !is_token_char(u.c) {
            scratch.push(u);
            i += 1;
            continue;
        }
        let start = i;
        while units.get(i).is_some_and(|u| is_token_char(u.c)) {
            i += 1;
        }
        let word = units.get(start..i).unwrap_or(&[]);
        let mixed = word.iter().any(|u| u.c.is_ascii_alphabetic())
            && word
                .iter()
                .any(|u| matches!(u.c.script(), Script::Cyrillic | Script::Greek));
        let out_start = scratch.len();
        for &w in word {
            let fold = !w.c.is_ascii()
                && match w.c.script() {
                    Script::Latin => true,
                    Script::Cyrillic | Script::Greek => mixed,
                    _ => false,
                };
            let mut proto = ['\0'; 2];
            let n = match fold {
                true => match ascii_prototype(source_char(input, w), &mut proto) {
                    0 => ascii_prototype(w.c, &mut proto),
                    n => n,
                },
                false => 0,
            };
            if n == 0 {
                scratch.push(w);
                continue;
            }
            changed = true;
            for &c in proto.get(..n).unwrap_or(&[]) {
                scratch.push(Unit { c, ..w });
            }
        }
        // A lone 0 or 1 among at least three ASCII letters.
        if let Some(folded) = scratch.get_mut(out_start..) {
            let letters = folded.iter().filter(|u| u.c.is_ascii_alphabetic()).count();
            let mut digits = folded.iter_mut().filter(|u| u.c.is_ascii_digit());
            if let (Some(d), None) = (digits.next(), digits.next())
                && letters >= 3
                && matches!(d.c, '0' | '1')
            {
                d.c = if d.c == '0' { 'o' } else { 'l' };
                changed = true;
            }
        }
    }
    if changed {
        std::mem::swap(units, scratch);
    }
    changed
}

/// The character a unit was written as, before case folding, when the unit stands for
/// exactly one decoded character: `Υ` looks like `Y` while its folded `υ` looks like `u`.
fn source_char(input: &str, u: Unit) -> char {
    let mut it = input
        .get(u.start as usize..u.end as usize)
        .unwrap_or_default()
        .chars();
    match (it.next(), it.next()) {
        (Some(src), None) if src != u.c && src.to_lowercase().eq(std::iter::once(u.c)) => src,
        _ => u.c,
    }
}

/// Leet digits and `@`/`$` inside words that mix letters and digits.
fn leet(units: &mut [Unit]) -> bool {
    let mut changed = false;
    let n = units.len();
    for k in 0..n {
        let prev = k.checked_sub(1).and_then(|p| units.get(p)).map(|u| u.c);
        let next = units.get(k + 1).map(|u| u.c);
        if let Some(u) = units.get_mut(k)
            && matches!(u.c, '@' | '$')
            && prev.is_some_and(|c| c.is_ascii_alphabetic())
            && next.is_some_and(|c| c.is_ascii_alphabetic())
        {
            u.c = if u.c == '@' { 'a' } else { 's' };
            changed = true;
        }
    }
    let mut i = 0;
    while i < n {
        if !units.get(i).is_some_and(|u| is_token_char(u.c)) {
            i += 1;
            continue;
        }
        let start = i;
        while units.get(i).is_some_and(|u| is_token_char(u.c)) {
            i += 1;
        }
        let Some(word) = units.get_mut(start..i) else {
            continue;
        };
        let letters = word.iter().any(|u| u.c.is_ascii_alphabetic());
        let digits = word.iter().any(|u| u.c.is_ascii_digit());
        if !(letters && digits) {
            continue;
        }
        for u in word.iter_mut() {
            let m = match u.c {
                '0' => 'o',
                '1' => 'l',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                '7' => 't',
                _ => continue,
            };
            u.c = m;
            changed = true;
        }
    }
    changed
}
