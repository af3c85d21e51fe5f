//! Guards: for an expression, a small set of literals such that every match of the
//! expression contains at least one of them. A field's guard literals go into one
//! Hyperscan literal database scanned first (the *gate*); an expression is scanned only
//! when one of its guard literals was found, so a message holding none of the words that
//! make any expression possible costs one literal scan.
//!
//! A guard is derived from the expression's syntax tree (`regex_syntax`): the prefix and
//! suffix literal sets of the whole expression (`hir::literal::Extractor`), and
//! recursively the best guard of any one element of a concatenation (each match contains
//! a match of every element), the union of the guards of every branch of an alternation,
//! and the guard of a repeated group that must occur at least once. The best set is the
//! one whose weakest literal is the most distinctive (see [`weight`]), then the smallest.
//!
//! Parsing is conservative: the guard is a necessary condition only if `regex_syntax`
//! reads the expression as Hyperscan does, or as a superset of it. Expressions are parsed
//! case-sensitively (the guard literals are compiled with the expression's own flags, so
//! caseless matching folds them exactly as it folds the expression), with Unicode classes
//! in UTF-8 mode (a superset of the ASCII ones without UCP); syntax the two dialects read
//! differently (inline flags, `\v`, `\<`, nested or set-operation classes, `{,n}`, …) and
//! anything `regex_syntax` rejects leave the expression unguarded.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

/// The most literals a guard may have.
pub(crate) const MAX_LITERALS: usize = 64;

/// The weakest guard worth having: two ASCII letters or one non-ASCII character (see
/// [`weight`]). A weaker guard (a single letter or digit, punctuation) would open the
/// expression on nearly every message: the expression is then scanned unconditionally.
pub(crate) const MIN_WEIGHT: f32 = 2.0;

/// A guard: literals (bytes, valid UTF-8 in UTF-8 mode) every match contains one of.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Guard {
    /// Sorted, without duplicates and without a literal containing another one.
    pub(crate) literals: Vec<Vec<u8>>,
    /// Whether the expression is worth a database of its own (see [`costly`]); when not,
    /// it is as cheap in the field's database as its guard literals would be.
    pub(crate) costly: bool,
}

impl Guard {
    /// How distinctive the guard is: its weakest literal's weight.
    pub(crate) fn weight(&self, utf8: bool) -> f32 {
        self.literals
            .iter()
            .map(|l| weight(l, utf8))
            .fold(f32::INFINITY, f32::min)
    }

    /// Whether `self` is a better guard than `other`: a more distinctive weakest literal,
    /// then fewer literals.
    fn better_than(&self, other: &Guard, utf8: bool) -> bool {
        let (a, b) = (self.weight(utf8), other.weight(utf8));
        if a != b {
            return a > b;
        }
        self.literals.len() < other.literals.len()
    }
}

/// A rough measure of how rarely a literal occurs in message text: one per ASCII letter
/// or digit, a quarter per ASCII space or punctuation (`http://` weighs 4.75, less than a
/// five-letter word), two per non-ASCII character (a Chinese character is about as
/// distinctive as two letters). In byte mode a non-ASCII byte counts two thirds.
pub(crate) fn weight(lit: &[u8], utf8: bool) -> f32 {
    let ascii = |b: u8| if b.is_ascii_alphanumeric() { 1.0 } else { 0.25 };
    match std::str::from_utf8(lit) {
        Ok(s) if utf8 => s
            .chars()
            .map(|c| if c.is_ascii() { ascii(c as u8) } else { 2.0 })
            .sum(),
        _ => lit
            .iter()
            .map(|&b| if b.is_ascii() { ascii(b) } else { 2.0 / 3.0 })
            .sum(),
    }
}

/// The guard of `expression`, parsed with Unicode classes when `unicode` (UTF-8 mode,
/// compiled with UTF-8) and as bytes otherwise; `None` when it has no useful one.
pub(crate) fn guard(expression: &str, unicode: bool, dotall: bool) -> Option<Guard> {
    if !same_dialect(expression) {
        return None;
    }
    let hir = ParserBuilder::new()
        .unicode(unicode)
        .utf8(false)
        .dot_matches_new_line(dotall)
        .build()
        .parse(expression)
        .ok()?;
    let mut g = best(&hir, unicode)?;
    g.costly = costly(&hir);
    (g.weight(unicode) >= MIN_WEIGHT).then_some(g)
}

/// Whether matching `hir` costs more than matching literals: it repeats something more
/// than a few times (gaps such as `.{0,12}`, `\s*`, `[a-z]+`). Alternations of literals,
/// small classes, optional parts and word boundaries are matched by Hyperscan's literal
/// engines at the price of their literals.
fn costly(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Repetition(r) => r.max.is_none_or(|m| m > 4) || costly(&r.sub),
        HirKind::Capture(c) => costly(&c.sub),
        HirKind::Concat(hs) | HirKind::Alternation(hs) => hs.iter().any(costly),
        _ => false,
    }
}

/// The best guard of `hir`, of any weight.
fn best(hir: &Hir, utf8: bool) -> Option<Guard> {
    let mut found: Option<Guard> = None;
    let mut consider = |g: Option<Guard>| {
        if let Some(g) = g
            && found.as_ref().is_none_or(|f| g.better_than(f, utf8))
        {
            found = Some(g);
        }
    };
    consider(extract(hir, ExtractKind::Prefix, utf8));
    consider(extract(hir, ExtractKind::Suffix, utf8));
    match hir.kind() {
        HirKind::Concat(items) => {
            for h in items {
                consider(best(h, utf8));
            }
        }
        HirKind::Alternation(branches) => {
            let mut literals = Vec::new();
            let mut all = true;
            for h in branches {
                match best(h, utf8) {
                    Some(g) => literals.extend(g.literals),
                    None => {
                        all = false;
                        break;
                    }
                }
            }
            if all {
                consider(tidy(literals, utf8));
            }
        }
        HirKind::Capture(c) => consider(best(&c.sub, utf8)),
        HirKind::Repetition(r) if r.min >= 1 => consider(best(&r.sub, utf8)),
        _ => {}
    }
    found
}

/// The prefix or suffix literals of `hir`, when finite and free of the empty string.
fn extract(hir: &Hir, kind: ExtractKind, utf8: bool) -> Option<Guard> {
    let mut ex = Extractor::new();
    ex.kind(kind)
        .limit_class(16)
        .limit_repeat(8)
        .limit_literal_len(24)
        .limit_total(MAX_LITERALS);
    let seq: Seq = ex.extract(hir);
    let lits = seq.literals()?;
    tidy(lits.iter().map(|l| l.as_bytes().to_vec()).collect(), utf8)
}

/// Makes a guard of `literals`: each cut to whole UTF-8 characters in UTF-8 mode (a cut
/// piece of a literal a match contains is contained too), duplicates and literals that
/// contain another one dropped (the shorter one is found wherever the longer one is).
/// `None` when a literal is empty or there are too many.
fn tidy(literals: Vec<Vec<u8>>, utf8: bool) -> Option<Guard> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(literals.len());
    for l in literals {
        let l = if utf8 { whole_chars(&l)?.to_vec() } else { l };
        if l.is_empty() {
            return None;
        }
        out.push(l);
    }
    if out.is_empty() {
        return None;
    }
    out.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    out.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(out.len());
    for l in out {
        if !kept.iter().any(|k| contains(&l, k)) {
            kept.push(l);
        }
    }
    if kept.len() > MAX_LITERALS {
        return None;
    }
    kept.sort();
    Some(Guard {
        literals: kept,
        costly: true,
    })
}

/// The longest run of whole UTF-8 characters of `l`: leading continuation bytes and a
/// trailing partial character removed. `None` if anything else is invalid.
fn whole_chars(l: &[u8]) -> Option<&[u8]> {
    let start = l.iter().position(|&b| b & 0xc0 != 0x80).unwrap_or(l.len());
    let l = l.get(start..)?;
    match std::str::from_utf8(l) {
        Ok(_) => Some(l),
        Err(e) if e.error_len().is_none() => l.get(..e.valid_up_to()),
        Err(_) => None,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// Whether `regex_syntax` reads `s` as Hyperscan (PCRE syntax) does, or as a superset:
/// a conservative scan that refuses whatever the two dialects may read differently.
pub(crate) fn same_dialect(s: &str) -> bool {
    if s.contains("{,") {
        // PCRE: the literal text "{,"; regex_syntax: a repetition.
        return false;
    }
    let mut chars = s.chars().peekable();
    let mut in_class = false;
    // Characters read since the class opened (to tell a leading `]` or `^`).
    let mut class_len = 0usize;
    while let Some(c) = chars.next() {
        if in_class {
            class_len += 1;
            match c {
                '\\' if !class_escape_ok(chars.next()) => return false,
                '\\' => {}
                ']' if class_len > 1 => in_class = false,
                '^' if class_len == 1 => class_len = 0,
                '[' => {
                    // Only POSIX classes (`[:alpha:]`): regex_syntax nests classes.
                    if chars.next() != Some(':') {
                        return false;
                    }
                    let mut prev = ' ';
                    loop {
                        match chars.next() {
                            Some(']') if prev == ':' => break,
                            Some(c) => prev = c,
                            None => return false,
                        }
                    }
                }
                // Set operations in regex_syntax, plain characters in PCRE.
                '&' | '-' | '~' if chars.peek() == Some(&c) => return false,
                _ => {}
            }
            continue;
        }
        match c {
            '\\' => {
                let next = chars.next();
                if matches!(next, Some('b' | 'B')) && chars.peek() == Some(&'{') {
                    return false;
                }
                if !escape_ok(next) {
                    return false;
                }
            }
            '[' => {
                in_class = true;
                class_len = 0;
            }
            '(' if chars.peek() == Some(&'?') => {
                chars.next();
                // Only non-capturing groups: no inline flags, assertions or names.
                if chars.next() != Some(':') {
                    return false;
                }
            }
            _ => {}
        }
    }
    !in_class
}

/// An escape outside a class (the character after `\`) both dialects read alike.
fn escape_ok(c: Option<char>) -> bool {
    match c {
        Some('b' | 'B' | 'A' | 'z' | 'p' | 'P') => true,
        other => class_escape_ok(other),
    }
}

/// An escape inside a class both dialects read alike.
fn class_escape_ok(c: Option<char>) -> bool {
    match c {
        Some('w' | 'W' | 'd' | 'D' | 's' | 'S' | 't' | 'n' | 'r' | 'f' | 'x') => true,
        // `\<` and `\>` are word-edge assertions in regex_syntax.
        Some('<' | '>') => false,
        Some(c) => c.is_ascii_punctuation(),
        None => false,
    }
}

/// A guard literal as a Hyperscan expression: every byte as `\xHH` in byte mode; in
/// UTF-8 mode ASCII letters and digits and non-ASCII characters as themselves, other
/// ASCII as `\xHH`.
pub(crate) fn literal_expression(lit: &[u8], utf8: bool) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::with_capacity(lit.len() * 2);
    if utf8 {
        for c in std::str::from_utf8(lit).ok()?.chars() {
            if c.is_ascii() && !c.is_ascii_alphanumeric() {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                out.push(c);
            }
        }
    } else {
        for b in lit {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn lits(expression: &str, unicode: bool) -> Option<Vec<String>> {
        guard(expression, unicode, false).map(|g| {
            g.literals
                .into_iter()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect()
        })
    }

    #[test]
    fn literals_and_alternations() {
        assert_eq!(lits("信用卡", true).unwrap(), ["信用卡"]);
        assert_eq!(lits("信用卡|貸款", true).unwrap(), ["信用卡", "貸款"]);
        assert_eq!(
            lits(r"\b(txt|text|send|reply)\b.{0,30}\b[0-9]{5}\b", true).unwrap(),
            ["reply", "send", "text", "txt"]
        );
        // `text` contains `txt`? No; but `textx` contains `text`: the longer one goes.
        assert_eq!(lits("text|textx", true).unwrap(), ["text"]);
    }

    #[test]
    fn the_most_distinctive_element_of_a_concatenation() {
        // A gap after short, frequent words: the word after it guards.
        assert_eq!(
            lits(r"\b(u|ur|your)\b.{0,20}\bwinner\b", true).unwrap(),
            ["winner"]
        );
        // A URL regex naming a word: the word, not `http://`.
        assert_eq!(
            lits(r"https?://[a-z0-9.-]*paypal[a-z0-9.-]*\.(?:com|net)", false).unwrap(),
            ["paypal"]
        );
        assert_eq!(lits("验证码.{0,12}(告诉|发给)", true).unwrap(), ["验证码"]);
        // A repeated group that must occur once.
        assert_eq!(lits("(?:abc)+x?", true).unwrap(), ["abc"]);
    }

    #[test]
    fn no_guard_without_a_distinctive_literal() {
        for s in [
            r"[$£€][0-9]",
            r"\b[0-9]{5}\b",
            r"\S+@\S+",
            "a|bc",
            "x?yz?",
            "(abc)?",
            ".",
        ] {
            assert_eq!(lits(s, true), None, "{s}");
        }
    }

    #[test]
    fn syntax_read_differently_is_unguarded() {
        for s in [
            "(?i)abcd",
            "(?=abc)abcd",
            r"abc\vdef",
            r"abc\<def",
            "[a[b]c]def",
            "[a&&b]defg",
            "[+--]defg",
            "ab{,3}cdef",
            r"\Qabc\E",
            r"\bhello\b{start}",
            "abcd[",
        ] {
            assert_eq!(lits(s, true), None, "{s}");
        }
        // POSIX classes and a leading `]` are the same in both.
        assert_eq!(lits("[[:digit:]]?hello", true).unwrap(), ["hello"]);
        assert_eq!(lits("[]x]?hello", true).unwrap(), ["hello"]);
    }

    #[test]
    fn byte_mode_and_truncated_characters() {
        // Bytes: `\d` is ASCII and `\xff` a byte.
        assert_eq!(
            guard(r"\xffabc", false, false).unwrap().literals,
            vec![b"\xffabc".to_vec()]
        );
        assert_eq!(whole_chars("信用".as_bytes()).unwrap(), "信用".as_bytes());
        assert_eq!(
            whole_chars(&"信用".as_bytes()[1..6]).unwrap(),
            "用".as_bytes()
        );
        assert_eq!(
            whole_chars(&"信用".as_bytes()[..4]).unwrap(),
            "信".as_bytes()
        );
        assert_eq!(whole_chars(&"信用".as_bytes()[1..5]).unwrap(), b"");
        assert_eq!(literal_expression(b"a.b", true).unwrap(), r"a\x2eb");
        assert_eq!(literal_expression("信a".as_bytes(), true).unwrap(), "信a");
        assert_eq!(literal_expression(b"a\xff", false).unwrap(), r"\x61\xff");
    }

    #[test]
    fn weights() {
        assert!(weight(b"http://", true) < weight(b"hello", true));
        assert_eq!(weight("信用".as_bytes(), true), 4.0);
        assert_eq!(weight(b"u", true), 1.0);
    }
}
