//! The fast path: one pass for text made of ASCII, Han and characters no step changes.
//!
//! It applies the per-character mappings every step agrees on and watches for anything a
//! contextual step could change (separators between Han characters or single letters,
//! numeral runs, defanged URLs, look-alike digits). When it sees one it gives up and the
//! general path runs instead, so both paths always give the same match text.

use unicode_normalization::{IsNormalized, is_nfkc_quick};

use super::chars::{
    cn_numeral, is_confusable_script, is_han, is_hangul_jamo, is_invisible, is_separator, is_tld,
    is_token_char, t2s,
};
use super::{MatchText, NormalizeOptions, offset};

/// Normalizes `input` into `out`; `false` when the general path must run instead.
pub(super) fn run(o: &NormalizeOptions, input: &str, out: &mut MatchText) -> bool {
    let mut watch = Watch::new(o);
    for (i, c) in input.char_indices() {
        let src = offset(i);
        let m = if c.is_ascii() {
            let m = if o.case_fold {
                c.to_ascii_lowercase()
            } else {
                c
            };
            out.push_same_len(m, src);
            m
        } else if is_han(c) {
            let m = if o.traditional_to_simplified {
                t2s(c).unwrap_or(c)
            } else {
                c
            };
            if m.len_utf8() == c.len_utf8() {
                out.push_same_len(m, src);
            } else {
                out.push_mapped(m, src, src.saturating_add(c.len_utf8() as u32));
            }
            m
        } else if o.nfkc && ('\u{FF01}'..='\u{FF5E}').contains(&c) {
            // Fullwidth ASCII: NFKC gives the ASCII character 0xFEE0 below.
            let Some(a) = char::from_u32(u32::from(c) - 0xFEE0) else {
                return false;
            };
            let m = if o.case_fold {
                a.to_ascii_lowercase()
            } else {
                a
            };
            out.push_mapped(m, src, src.saturating_add(3));
            m
        } else if o.nfkc && c == '\u{3000}' {
            out.push_mapped(' ', src, src.saturating_add(3));
            ' '
        } else if is_inert(c) {
            out.push_same_len(c, src);
            c
        } else {
            return false;
        };
        if !watch.feed(m) {
            return false;
        }
    }
    watch.finish()
}

/// Whether no step changes `c` whatever its neighbours: not invisible, NFKC-stable, not
/// cased, not a digit or number, not a combining mark, not a letter of a confusable
/// script. Emoji, kana, Hangul syllables and CJK punctuation are typical inert characters.
fn is_inert(c: char) -> bool {
    !is_invisible(c)
        && !c.is_numeric()
        && !c.is_lowercase()
        && !c.is_uppercase()
        && !is_hangul_jamo(c)
        && !unicode_normalization::char::is_combining_mark(c)
        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
        && !is_confusable_script(c)
}

/// Where the fast path stands in a URL-defanging pattern `name. com` / `www. name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DotState {
    Idle,
    /// Just after a `.`.
    Dot,
    /// After `.` and at least one space.
    DotSpace,
}

/// Watches the output characters for anything a contextual step could change.
#[derive(Debug)]
struct Watch {
    collapse: bool,
    deobfuscate: bool,
    digits: bool,
    confusables: bool,
    leet: bool,
    /// Separators seen since the last Han character, while that is all there was.
    han_gap: Option<u8>,
    tok_len: u32,
    tok_letters: u32,
    tok_digits: u32,
    tok_01: bool,
    tok_all_w: bool,
    last_single: bool,
    last_www: bool,
    seps_after_tok: u32,
    chain: u32,
    pending_chain: u32,
    num_len: u32,
    num_cn: bool,
    num_ascii: bool,
    window: [char; 4],
    dot: DotState,
    dot_after_www: bool,
    label: [char; 7],
    label_len: usize,
    in_label: bool,
    hit: bool,
}

impl Watch {
    fn new(o: &NormalizeOptions) -> Self {
        Self {
            collapse: o.collapse_separators,
            deobfuscate: o.deobfuscate_urls,
            digits: o.fold_digits,
            confusables: o.confusables,
            leet: o.leet,
            han_gap: None,
            tok_len: 0,
            tok_letters: 0,
            tok_digits: 0,
            tok_01: false,
            tok_all_w: true,
            last_single: false,
            last_www: false,
            seps_after_tok: 0,
            chain: 0,
            pending_chain: 0,
            num_len: 0,
            num_cn: false,
            num_ascii: false,
            window: ['\0'; 4],
            dot: DotState::Idle,
            dot_after_www: false,
            label: ['\0'; 7],
            label_len: 0,
            in_label: false,
            hit: false,
        }
    }

    /// Feeds one output character; `false` once the general path is needed.
    fn feed(&mut self, c: char) -> bool {
        self.numerals(c);
        if self.deobfuscate {
            self.defang(c);
        }
        if is_token_char(c) {
            if self.tok_len == 0 {
                self.pending_chain = if self.last_single && (1..=2).contains(&self.seps_after_tok) {
                    self.chain
                } else {
                    0
                };
            }
            self.tok_len += 1;
            if c.is_ascii_digit() {
                self.tok_digits += 1;
                self.tok_01 |= c == '0' || c == '1';
            } else if c.is_ascii_alphabetic() {
                self.tok_letters += 1;
            }
            self.tok_all_w &= c == 'w' || c == 'W';
            self.han_gap = None;
        } else if is_han(c) {
            self.end_token();
            self.last_single = false;
            self.chain = 0;
            if let Some(k) = self.han_gap
                && self.collapse
                && (1..=4).contains(&k)
            {
                self.hit = true;
            }
            self.han_gap = Some(0);
        } else if is_separator(c) {
            self.end_token();
            self.seps_after_tok += 1;
            self.han_gap = self.han_gap.and_then(|k| (k < 4).then_some(k + 1));
            if self.leet && (c == '@' || c == '$') {
                self.hit = true;
            }
        } else {
            self.end_token();
            self.last_single = false;
            self.chain = 0;
            self.han_gap = None;
        }
        !self.hit
    }

    fn end_token(&mut self) {
        if self.tok_len == 0 {
            return;
        }
        if self.tok_len == 1 {
            self.chain = self.pending_chain + 1;
            if self.collapse && self.chain >= 3 {
                self.hit = true;
            }
        } else {
            self.chain = 0;
        }
        if self.confusables && self.tok_letters >= 3 && self.tok_digits == 1 && self.tok_01 {
            self.hit = true;
        }
        if self.leet && self.tok_letters >= 1 && self.tok_digits >= 1 {
            self.hit = true;
        }
        self.last_single = self.tok_len == 1;
        self.last_www = self.tok_len == 3 && self.tok_all_w;
        self.tok_len = 0;
        self.tok_letters = 0;
        self.tok_digits = 0;
        self.tok_01 = false;
        self.tok_all_w = true;
        self.seps_after_tok = 0;
    }

    /// Chinese numerals inside a digit run.
    fn numerals(&mut self, c: char) {
        let ascii = c.is_ascii_digit();
        let cn = cn_numeral(c).is_some();
        if ascii || cn {
            self.num_len += 1;
            self.num_ascii |= ascii;
            self.num_cn |= cn;
        } else {
            self.end_numerals();
        }
    }

    fn end_numerals(&mut self) {
        if self.digits && self.num_cn && self.num_len >= 3 && (self.num_ascii || self.num_len >= 5)
        {
            self.hit = true;
        }
        self.num_len = 0;
        self.num_ascii = false;
        self.num_cn = false;
    }

    /// `hxxp`, bracketed dots, ` dot `, and spaces around the dots of a host name.
    fn defang(&mut self, c: char) {
        let l = c.to_ascii_lowercase();
        let [_, w1, w2, w3] = self.window;
        if matches!(w3, '[' | '(' | '{' | '<') && matches!(l, '.' | ' ' | ':' | 'd') {
            self.hit = true;
        }
        if w3 == ' ' && l == '.' {
            self.hit = true;
        }
        self.window = [w1, w2, w3, l];
        if self.window == ['h', 'x', 'x', 'p'] || self.window == [' ', 'd', 'o', 't'] {
            self.hit = true;
        }
        if self.in_label {
            if is_token_char(c) {
                if let Some(slot) = self.label.get_mut(self.label_len) {
                    *slot = l;
                    self.label_len += 1;
                } else {
                    self.in_label = false;
                }
                return;
            }
            self.end_label();
        }
        self.dot = match (self.dot, l) {
            (_, '.') => {
                // The token before the dot has just ended (the dot is a separator).
                self.dot_after_www = self.tok_len == 3 && self.tok_all_w;
                DotState::Dot
            }
            (DotState::Dot | DotState::DotSpace, ' ') => DotState::DotSpace,
            (DotState::DotSpace, _) if is_token_char(c) => {
                if self.dot_after_www {
                    self.hit = true;
                }
                self.in_label = true;
                self.label_len = 0;
                if let Some(slot) = self.label.get_mut(0) {
                    *slot = l;
                    self.label_len = 1;
                }
                DotState::Idle
            }
            _ => DotState::Idle,
        };
    }

    fn end_label(&mut self) {
        if self.in_label && is_tld(self.label.get(..self.label_len).unwrap_or(&[])) {
            self.hit = true;
        }
        self.in_label = false;
    }

    fn finish(mut self) -> bool {
        self.end_token();
        self.end_numerals();
        self.end_label();
        !self.hit
    }
}
