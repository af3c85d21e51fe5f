//! The fast path for UCS-2 text, straight from its code units: one pass writes both the
//! decoded text and the match text, with no UTF-8 round trip between decoding and
//! normalizing.
//!
//! It handles what Chinese messages are made of: Han characters of the Basic Multilingual
//! Plane, ASCII, CJK punctuation, fullwidth ASCII and the ideographic space, and drops
//! invisible characters of the Basic Multilingual Plane (zero-width space). At anything
//! else (kana, Latin letters with accents, emoji, surrogates, an odd final octet) it gives
//! up, and the caller decodes the part and normalizes its text the usual way, so the result
//! is always the same as [`crate::decode_part_into`] followed by
//! [`crate::Normalizer::normalize_into`].

use super::{
    ALNUM, HAN_NONE, HAN_NUMERAL, HAN_WIDE, HanEnd, Watch, class, drop_gap, end_same, han_common,
    han_entry, han_fold, invisible_dropped, is_bmp_han, utf8_3,
};
use crate::normalize::chars::{is_invisible, is_sentence_punct};
use crate::normalize::{MatchText, NormalizeOptions, Seg, map_seg, offset};

/// Decodes the UTF-16BE code units `data` into `text` (appended) and writes their match
/// text to `out` (which the caller has cleared); `false` when the text needs more than this
/// path handles, in which case `text` and `out` hold leftovers the caller must clear.
pub(crate) fn run(
    o: &NormalizeOptions,
    data: &[u8],
    text: &mut String,
    out: &mut MatchText,
) -> bool {
    let (units, odd) = data.as_chunks::<2>();
    if !odd.is_empty() {
        return false;
    }
    // Both outputs are written through an index into one buffer sized for the worst case
    // (three bytes per code unit each), the decoded text in the first half and the match
    // text in the second; the match text is then moved down behind the decoded text, so
    // one UTF-8 check covers both.
    let mut buf = std::mem::take(&mut out.bytes);
    let cap = units.len().saturating_mul(3);
    buf.clear();
    buf.resize(cap.saturating_mul(2), 0);
    let (dec, mat) = buf.split_at_mut(cap);
    let mut w = Writer {
        dec,
        mat,
        d: 0,
        m: 0,
    };
    // Most messages give the watch nothing to act on: a pass without it proves that and
    // writes the result; otherwise the watched pass starts over.
    let ok = units_plain(o, units, &mut w, &mut out.segs) || {
        w.d = 0;
        w.m = 0;
        out.segs.clear();
        units_text(o, units, &mut w, &mut out.segs)
    };
    let (d, m) = (w.d, w.m);
    let ok = ok && d <= cap && m <= cap && {
        buf.copy_within(cap..cap + m, d);
        let both = buf.get(..d + m).map(simdutf8::basic::from_utf8);
        match both {
            Some(Ok(both)) => match (both.get(..d), both.get(d..)) {
                (Some(decoded), Some(matched)) => {
                    text.push_str(decoded);
                    out.text.push_str(matched);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    };
    out.bytes = buf;
    ok
}

/// The two outputs and how much of each is written.
struct Writer<'a> {
    dec: &'a mut [u8],
    mat: &'a mut [u8],
    d: usize,
    m: usize,
}

impl Writer<'_> {
    /// Appends one ASCII byte to both texts.
    #[inline]
    fn both1(&mut self, b: u8) {
        if let Some(slot) = self.dec.get_mut(self.d) {
            *slot = b;
        }
        if let Some(slot) = self.mat.get_mut(self.m) {
            *slot = b;
        }
        self.d += 1;
        self.m += 1;
    }

    /// Appends three bytes to the decoded text.
    #[inline]
    fn dec3(&mut self, b: [u8; 3]) {
        if let Some(slot) = self.dec.get_mut(self.d..self.d + 3) {
            slot.copy_from_slice(&b);
        }
        self.d += 3;
    }

    /// Appends three bytes to the match text.
    #[inline]
    fn mat3(&mut self, b: [u8; 3]) {
        if let Some(slot) = self.mat.get_mut(self.m..self.m + 3) {
            slot.copy_from_slice(&b);
        }
        self.m += 3;
    }

    /// Appends a character that NFKC narrows to the ASCII byte `m` (fullwidth ASCII, the
    /// ideographic space): the code unit `u` to the decoded text, `m` to the match text,
    /// with a stretch of the map of its own (closing the open one, `same`). Returns `m`.
    fn narrowed(
        &mut self,
        segs: &mut Vec<Seg>,
        same: &mut Option<(u32, u32)>,
        u: u32,
        m: u8,
    ) -> u8 {
        let src = offset(self.d);
        end_same(segs, same, src);
        map_seg(segs, offset(self.m), src, src.saturating_add(3));
        self.dec3(utf8_3(u));
        self.mat1(m);
        m
    }

    /// Appends one ASCII byte to the decoded text.
    #[inline]
    fn dec1(&mut self, b: u8) {
        if let Some(slot) = self.dec.get_mut(self.d) {
            *slot = b;
        }
        self.d += 1;
    }

    /// Appends a character to the decoded text only.
    #[inline]
    fn dec_char(&mut self, c: char) {
        let len = c.len_utf8();
        if let Some(slot) = self.dec.get_mut(self.d..self.d + len) {
            c.encode_utf8(slot);
        }
        self.d += len;
    }

    /// The last byte of the match text.
    #[inline]
    fn last_mat(&self) -> Option<u8> {
        self.m.checked_sub(1).and_then(|i| self.mat.get(i)).copied()
    }

    /// Appends one ASCII byte to the match text.
    #[inline]
    fn mat1(&mut self, b: u8) {
        if let Some(slot) = self.mat.get_mut(self.m) {
            *slot = b;
        }
        self.m += 1;
    }
}

/// What the plain pass keeps of the text so far: just enough to prove that the watch
/// would neither send the text to the general path nor collapse a gap between Han
/// characters. Every test is a necessary condition of one of the watch's (a pair of
/// bytes every trigger holds, a chain of single-character words whatever its links), so
/// `busy` may be set where the watch would do nothing, never the other way round.
#[derive(Default)]
struct Plain {
    /// The [`pair_class`] of the last character of the match text (`P_OTHER` for a
    /// non-ASCII one).
    prev: u8,
    /// After a Han character: separators since, and whether one is sentence punctuation.
    gap: Option<(u32, bool)>,
    /// Characters of the current word (letters, digits, Han).
    word_len: u32,
    /// Whether the current word follows a single-character word one or two separators
    /// before.
    linked: bool,
    /// Whether the last word had one character.
    last_single: bool,
    /// Separators since the last word.
    seps: u32,
    /// Single-character words in a row, each linked to the one before.
    chain: u32,
    /// Whether the last character was an ASCII digit, or a Chinese numeral.
    last_digit: bool,
    last_numeral: bool,
    /// Something the watch could act on.
    busy: bool,
}

impl Plain {
    /// One byte of the match text that came from an ASCII or fullwidth ASCII character:
    /// the byte pairs every URL-defanging trigger holds (`(d`, `[.`, ` .`, ` d`, `. `,
    /// `hx`), and a `0` or `1` beside a letter (a look-alike digit), looked up by the
    /// bytes' [`pair_class`]es.
    #[inline]
    fn pair(&mut self, cur: u8) {
        let c = pair_class(cur);
        let row = PAIRS.get(usize::from(self.prev)).copied().unwrap_or(0);
        self.busy |= (row >> c) & 1 != 0;
        self.prev = c;
    }

    /// A letter, digit or Han character: the start of a word or more of one.
    #[inline]
    fn word_chars(&mut self, n: u32) {
        if self.word_len == 0 {
            self.linked = self.last_single && (1..=2).contains(&self.seps);
        }
        self.word_len += n;
    }

    #[inline]
    fn end_word(&mut self) {
        if self.word_len == 0 {
            return;
        }
        if self.word_len == 1 {
            self.chain = if self.linked { self.chain + 1 } else { 1 };
            self.busy |= self.chain >= 3;
        } else {
            self.chain = 0;
        }
        self.last_single = self.word_len == 1;
        self.word_len = 0;
        self.seps = 0;
    }

    /// An ASCII letter or digit `b` of the match text (from ASCII or fullwidth ASCII).
    #[inline]
    fn alnum(&mut self, b: u8) {
        self.pair(b);
        self.word_chars(1);
        let digit = b.is_ascii_digit();
        // A digit next to a Chinese numeral: a digit run the general path may fold.
        self.busy |= digit && self.last_numeral;
        self.last_digit = digit;
        self.last_numeral = false;
        self.gap = None;
    }

    /// A separator; `sentence` when it is sentence punctuation.
    #[inline]
    fn separator(&mut self, sentence: bool) {
        self.end_word();
        self.seps += 1;
        self.gap = self
            .gap
            .and_then(|(k, p)| (k < 4).then_some((k + 1, p || sentence)));
        self.last_digit = false;
        self.last_numeral = false;
    }

    /// The first character of a run of Han characters: separators since the last Han
    /// character that the watch would collapse.
    #[inline]
    fn han_start(&mut self) {
        if matches!(self.gap, Some((k, punct)) if (1..=4).contains(&k) && !punct) {
            self.busy = true;
        }
        self.word_chars(0);
        self.prev = P_OTHER;
    }

    /// A Han character other than a numeral.
    #[inline]
    fn han(&mut self) {
        self.last_digit = false;
        self.last_numeral = false;
    }

    /// A Chinese numeral: next to a digit or another numeral it may be part of a number.
    #[inline]
    fn numeral(&mut self) {
        self.busy |= self.last_digit || self.last_numeral;
        self.last_digit = false;
        self.last_numeral = true;
    }

    /// The end of a run of `count` Han characters.
    #[inline]
    fn han_end(&mut self, count: u32) {
        self.word_len += count;
        self.gap = Some((0, false));
    }
}

/// [`pair_class`]: a byte no trigger pair holds.
const P_OTHER: u8 = 0;
/// [`pair_class`]: `[`, `(`, `{` or `<`.
const P_BRACKET: u8 = 1;
/// [`pair_class`]: the space.
const P_SPACE: u8 = 2;
/// [`pair_class`]: `.`.
const P_DOT: u8 = 3;
/// [`pair_class`]: `:`.
const P_COLON: u8 = 4;
/// [`pair_class`]: `d` or `D`.
const P_D: u8 = 5;
/// [`pair_class`]: `h` or `H`.
const P_H: u8 = 6;
/// [`pair_class`]: `x` or `X`.
const P_X: u8 = 7;
/// [`pair_class`]: any other letter.
const P_LETTER: u8 = 8;
/// [`pair_class`]: `0` or `1`.
const P_01: u8 = 9;

/// The class of an ASCII byte for [`Plain::pair`].
#[inline]
fn pair_class(b: u8) -> u8 {
    PAIR_CLASSES.get(usize::from(b)).copied().unwrap_or(P_OTHER)
}

static PAIR_CLASSES: [u8; 128] = pair_classes();

#[allow(clippy::indexing_slicing)] // ok: every index is an ASCII byte, below 128
const fn pair_classes() -> [u8; 128] {
    let mut t = [P_OTHER; 128];
    let mut b = 0u8;
    while b < 128 {
        t[b as usize] = match b {
            b'[' | b'(' | b'{' | b'<' => P_BRACKET,
            b' ' => P_SPACE,
            b'.' => P_DOT,
            b':' => P_COLON,
            b'd' | b'D' => P_D,
            b'h' | b'H' => P_H,
            b'x' | b'X' => P_X,
            b'0' | b'1' => P_01,
            _ if b.is_ascii_alphabetic() => P_LETTER,
            _ => P_OTHER,
        };
        b += 1;
    }
    t
}

/// For each [`pair_class`] of a first byte, the bit set of second-byte classes that
/// make a pair [`Plain::pair`] reports.
static PAIRS: [u16; 10] = pairs();

/// The set of [`pair_class`]es in `classes`, as bits.
const fn class_bits(classes: &[u8]) -> u16 {
    let mut m = 0u16;
    let mut k = 0;
    while k < classes.len() {
        #[allow(clippy::indexing_slicing)] // ok: `k` runs below `classes.len()`
        let c = classes[k];
        m |= 1 << c;
        k += 1;
    }
    m
}

#[allow(clippy::indexing_slicing)] // ok: every index is a class, below 10
const fn pairs() -> [u16; 10] {
    let letters = class_bits(&[P_D, P_H, P_X, P_LETTER]);
    let mut t = [0u16; 10];
    t[P_BRACKET as usize] = class_bits(&[P_DOT, P_SPACE, P_COLON, P_D]);
    t[P_SPACE as usize] = class_bits(&[P_DOT, P_D]);
    t[P_DOT as usize] = class_bits(&[P_SPACE]);
    t[P_H as usize] = class_bits(&[P_X, P_01]);
    t[P_D as usize] = class_bits(&[P_01]);
    t[P_X as usize] = class_bits(&[P_01]);
    t[P_LETTER as usize] = class_bits(&[P_01]);
    t[P_01 as usize] = letters;
    t
}

/// The loop of [`run`] without the watch: writes what [`units_text`] writes when the
/// watch neither gives up nor collapses a gap, and `false` when [`Plain`] cannot prove
/// that (or the text needs more than this path handles).
fn units_plain(
    o: &NormalizeOptions,
    units: &[[u8; 2]],
    w: &mut Writer<'_>,
    segs: &mut Vec<Seg>,
) -> bool {
    if o.leet {
        return false;
    }
    let t2s_on = o.traditional_to_simplified;
    let mut st = Plain::default();
    let mut same: Option<(u32, u32)> = None;
    let mut i = 0;
    while let Some(u) = unit(units, i) {
        if same.is_none() {
            same = Some((offset(w.m), offset(w.d)));
        }
        if u < 0x80 {
            let b = u as u8;
            i += 1;
            if class(b) & ALNUM != 0 {
                let m = if o.case_fold {
                    b.to_ascii_lowercase()
                } else {
                    b
                };
                w.dec1(b);
                w.mat1(m);
                st.alnum(m);
            } else {
                w.both1(b);
                st.pair(b);
                st.separator(is_sentence_punct(char::from(b)));
            }
            continue;
        }
        if is_bmp_han(u) {
            st.han_start();
            if st.busy {
                // Most often separators to collapse (`信 用 卡`): the watched pass takes
                // over before more is written twice.
                return false;
            }
            let start = i;
            loop {
                let next = plain_han(units, i, t2s_on, w);
                if next > i {
                    st.han();
                    i = next;
                }
                // A numeral, a Simplified form of another length, or the end of the run.
                let Some(u) = unit(units, i).filter(|&u| is_bmp_han(u)) else {
                    break;
                };
                let v = han_entry(u);
                if v == HAN_WIDE && t2s_on {
                    return false;
                }
                if v == HAN_NUMERAL {
                    st.numeral();
                } else {
                    st.han();
                }
                w.dec3(utf8_3(u));
                w.mat3(utf8_3(han_fold(u, v, t2s_on)));
                i += 1;
            }
            st.han_end(u32::try_from(i - start).unwrap_or(u32::MAX));
            continue;
        }
        i += 1;
        match u {
            0xFF01..=0xFF5E if o.nfkc => {
                let m = w.narrowed(segs, &mut same, u, fullwidth_ascii(u, o.case_fold));
                if m.is_ascii_alphanumeric() {
                    st.alnum(m);
                } else {
                    st.pair(m);
                    st.separator(is_sentence_punct(char::from(m)));
                }
            }
            0x3000 if o.nfkc => {
                w.narrowed(segs, &mut same, u, b' ');
                st.pair(b' ');
                st.separator(false);
            }
            0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F => {
                // CJK punctuation: separators no step changes.
                let bytes = utf8_3(u);
                w.dec3(bytes);
                w.mat3(bytes);
                st.prev = P_OTHER;
                st.separator(char::from_u32(u).is_some_and(is_sentence_punct));
            }
            // Invisible characters, and anything else: the watched pass decides.
            _ => return false,
        }
        if st.busy {
            return false;
        }
    }
    st.end_word();
    end_same(segs, &mut same, offset(w.d));
    !st.busy
}

/// Whether the UTF-16BE text `data` is normalized by the pass without the watch (tests
/// check that common messages are, and that texts the watch acts on are not).
#[cfg(test)]
pub(in crate::normalize) fn takes_plain_pass(o: &NormalizeOptions, data: &[u8]) -> bool {
    let (units, _) = data.as_chunks::<2>();
    let cap = units.len() * 3;
    let (mut dec, mut mat) = (vec![0u8; cap], vec![0u8; cap]);
    let mut w = Writer {
        dec: &mut dec,
        mat: &mut mat,
        d: 0,
        m: 0,
    };
    units_plain(o, units, &mut w, &mut Vec::new())
}

/// The ASCII character NFKC gives for the fullwidth form `u` (U+FF01 to U+FF5E, 0xFEE0
/// above it), lower-cased when `case_fold`.
#[inline]
fn fullwidth_ascii(u: u32, case_fold: bool) -> u8 {
    let a = u.wrapping_sub(0xFEE0) as u8;
    if case_fold { a.to_ascii_lowercase() } else { a }
}

/// The code unit at `i`.
#[inline]
fn unit(units: &[[u8; 2]], i: usize) -> Option<u32> {
    units.get(i).map(|&p| u32::from(u16::from_be_bytes(p)))
}

/// The loop of [`run`]: the UCS-2 twin of `mixed_text`, feeding `Watch` the same way.
fn units_text(
    o: &NormalizeOptions,
    units: &[[u8; 2]],
    w: &mut Writer<'_>,
    segs: &mut Vec<Seg>,
) -> bool {
    let mut watch = Watch::new(o);
    // Start (match offset, decoded offset) of the current stretch copied length for
    // length; the map gets one entry per stretch, not per character.
    let mut same: Option<(u32, u32)> = None;
    let mut han_end: Option<HanEnd> = None;
    let mut i = 0;
    while let Some(u) = unit(units, i) {
        if same.is_none() {
            same = Some((offset(w.m), offset(w.d)));
        }
        if u < 0x80 {
            let b = u as u8;
            if class(b) & ALNUM != 0 {
                // A run of ASCII letters and digits: copied, lower-cased, watched as one
                // piece.
                let at = w.m;
                w.both1(b);
                i += 1;
                while let Some(b) = unit(units, i)
                    .filter(|&u| u < 0x80)
                    .map(|u| u as u8)
                    .filter(|&b| class(b) & ALNUM != 0)
                {
                    w.both1(b);
                    i += 1;
                }
                let Some(copied) = w.mat.get_mut(at..w.m) else {
                    return false;
                };
                if !watch.copied_ascii_run(o.case_fold, copied) {
                    return false;
                }
            } else {
                w.both1(b);
                i += 1;
                if !watch.separator(b) {
                    return false;
                }
            }
            continue;
        }
        if is_bmp_han(u) {
            if watch.han_run_start(han_entry(u) == HAN_NUMERAL) {
                // Separators between two Han characters: taken back out of the match
                // text (the decoded text keeps them).
                let Some(end) = han_end else {
                    return false;
                };
                w.m = end.out;
                drop_gap(segs, &mut same, &end, offset(w.d));
            }
            match han_run(o, units, i, w, &mut watch) {
                Some(end) => i = end,
                None => return false,
            }
            han_end = Some(HanEnd {
                out: w.m,
                segs: segs.len(),
                same,
                src: offset(w.d),
            });
            continue;
        }
        let src = offset(w.d);
        i += 1;
        let ok = match u {
            0xFF01..=0xFF5E if o.nfkc => {
                let m = w.narrowed(segs, &mut same, u, fullwidth_ascii(u, o.case_fold));
                if m.is_ascii_alphanumeric() {
                    watch.feed(char::from(m))
                } else if matches!(m, b',' | b'!' | b'?' | b';') {
                    // The fullwidth punctuation of Chinese sentences.
                    watch.punct(m, true)
                } else {
                    watch.separator(m)
                }
            }
            0x3000 if o.nfkc => {
                w.narrowed(segs, &mut same, u, b' ');
                watch.separator(b' ')
            }
            0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F => {
                // CJK punctuation: separators no step changes.
                let bytes = utf8_3(u);
                w.dec3(bytes);
                w.mat3(bytes);
                match char::from_u32(u) {
                    Some(c) => watch.punct(0x80, is_sentence_punct(c)),
                    None => false,
                }
            }
            _ => match char::from_u32(u) {
                Some(c) if o.strip_invisible && is_invisible(c) => {
                    end_same(segs, &mut same, src);
                    w.dec_char(c);
                    let next = unit(units, i).and_then(|u| u8::try_from(u).ok());
                    invisible_dropped(w.last_mat(), next)
                }
                _ => false,
            },
        };
        if !ok {
            return false;
        }
    }
    end_same(segs, &mut same, offset(w.d));
    watch.finish()
}

/// Copies the run of Han characters starting at unit `start` to both texts, folding
/// Traditional to Simplified in the match text, and feeds it to `watch` as one piece.
/// Returns the end of the run, or `None` when the general path must run.
fn han_run(
    o: &NormalizeOptions,
    units: &[[u8; 2]],
    start: usize,
    w: &mut Writer<'_>,
    watch: &mut Watch,
) -> Option<usize> {
    let t2s_on = o.traditional_to_simplified;
    let mut pos = start;
    loop {
        if watch.num_len == 0 {
            pos = plain_han(units, pos, t2s_on, w);
        }
        // A numeral, the character after one, a Simplified form of four bytes, or the
        // end of the run.
        let Some(u) = unit(units, pos).filter(|&u| is_bmp_han(u)) else {
            break;
        };
        let v = han_entry(u);
        if !han_common(v, t2s_on, watch) {
            return None;
        }
        w.dec3(utf8_3(u));
        w.mat3(utf8_3(han_fold(u, v, t2s_on)));
        pos += 1;
    }
    watch.han_run_end(u32::try_from(pos - start).unwrap_or(u32::MAX));
    (!watch.hit).then_some(pos)
}

/// Copies Han characters from unit `pos` on while they are neither numerals nor fold to
/// a character of another length: one table load and a select per character, no other
/// branch, and no bounds checks (the outputs advance in step with the input). Returns
/// where it stopped.
#[inline(always)]
fn plain_han(units: &[[u8; 2]], pos: usize, t2s_on: bool, w: &mut Writer<'_>) -> usize {
    let input = units.get(pos..).unwrap_or(&[]);
    let dec = w
        .dec
        .get_mut(w.d..)
        .unwrap_or_default()
        .as_chunks_mut::<3>()
        .0;
    let mat = w
        .mat
        .get_mut(w.m..)
        .unwrap_or_default()
        .as_chunks_mut::<3>()
        .0;
    let mut n = 0;
    for ((&pair, d), m) in input.iter().zip(dec).zip(mat) {
        let u = u32::from(u16::from_be_bytes(pair));
        let v = han_entry(u);
        // Numerals, wide forms and non-Han stop the loop; the same and folded go on.
        if v.wrapping_sub(1) < HAN_NONE {
            break;
        }
        *d = utf8_3(u);
        *m = utf8_3(han_fold(u, v, t2s_on));
        n += 1;
    }
    w.d += 3 * n;
    w.m += 3 * n;
    pos + n
}
