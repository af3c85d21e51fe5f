//! The fast path: one pass for text made of ASCII, Han and characters no step changes
//! (invisible characters are dropped, as the general path drops them first).
//!
//! It applies the per-character mappings every step agrees on, collapses the separators
//! spaced between Han characters (`信 用 卡`: the most common disguise of Chinese fraud
//! text) by taking them back out of the match text when the next Han character comes, and
//! watches for anything else a contextual step could change (separators between single
//! letters, numeral runs, defanged URLs, look-alike digits). When it sees one it gives up
//! and the general path runs instead, so both paths always give the same match text.

use unicode_normalization::{IsNormalized, is_nfkc_quick};

use super::chars::{
    cn_numeral, is_confusable_script, is_han, is_hangul_jamo, is_invisible, is_sentence_punct,
    is_separator, is_token_char, joins_after_dot_space, joins_after_dot_space_chars, t2s,
};
use super::extract::url_spans;
use super::{MatchText, NormalizeOptions, Seg, map_seg, offset, t2s_table};

pub(super) mod ucs2;

/// Normalizes `input` into `out`; `false` when the general path must run instead.
pub(super) fn run(o: &NormalizeOptions, input: &str, out: &mut MatchText) -> bool {
    if is_ascii(input.as_bytes()) {
        return ascii_text(o, input, out);
    }
    // Built as bytes, so a Han run is copied with one call per character and no `char`
    // encoding, then checked as UTF-8 once (vector code) and appended.
    let mut buf = std::mem::take(&mut out.bytes);
    buf.clear();
    buf.reserve(input.len());
    let ok = mixed_text(o, input, &mut buf, &mut out.segs)
        && match simdutf8::basic::from_utf8(&buf) {
            Ok(text) => {
                out.text.push_str(text);
                true
            }
            Err(_) => false,
        };
    out.bytes = buf;
    ok
}

/// Whether `bytes` are all ASCII: `str::is_ascii` without its byte-at-a-time tail, which
/// dominates for texts as short as messages (an OR over each block is vector code).
fn is_ascii(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .all(|block| block.iter().fold(0u8, |acc, &b| acc | b) < 0x80)
}

/// The fast path for text with non-ASCII characters, writing the match text's bytes to
/// `buf` and its map to `segs`.
fn mixed_text(o: &NormalizeOptions, input: &str, buf: &mut Vec<u8>, segs: &mut Vec<Seg>) -> bool {
    let bytes = input.as_bytes();
    let mut watch = Watch::new(o);
    // Start (match offset, decoded offset) of the current stretch copied length for
    // length; the map gets one entry per stretch, not per character.
    let mut same: Option<(u32, u32)> = None;
    let mut han_end: Option<HanEnd> = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if same.is_none() {
            same = Some((offset(buf.len()), offset(i)));
        }
        if b < 0x80 {
            if class(b) & ALNUM != 0 {
                // A run of ASCII letters and digits: copied, lower-cased in place, and
                // watched as one piece.
                let start = i;
                i += 1;
                while bytes.get(i).is_some_and(|&b| class(b) & ALNUM != 0) {
                    i += 1;
                }
                let at = buf.len();
                buf.extend_from_slice(bytes.get(start..i).unwrap_or(&[]));
                let Some(copied) = buf.get_mut(at..) else {
                    return false;
                };
                if !watch.copied_ascii_run(o.case_fold, copied) {
                    return false;
                }
            } else {
                buf.push(b);
                i += 1;
                if !watch.separator(b) {
                    return false;
                }
            }
            continue;
        }
        let bmp_han = bmp_han_at(bytes, i);
        let han = match bmp_han {
            Some(cp) => Some(han_entry(cp) == HAN_NUMERAL),
            None => input
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .filter(|&c| is_han(c))
                .map(|_| false),
        };
        if let Some(numeral) = han {
            if watch.han_run_start(numeral) {
                // Separators between two Han characters: taken back out.
                let Some(end) = han_end else {
                    return false;
                };
                buf.truncate(end.out);
                drop_gap(segs, &mut same, &end, offset(i));
            }
            match han_run(o, input, i, buf, &mut watch) {
                Some(end) => i = end,
                None => return false,
            }
            han_end = Some(HanEnd {
                out: buf.len(),
                segs: segs.len(),
                same,
                src: offset(i),
            });
            continue;
        }
        let Some(c) = input.get(i..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        let src = offset(i);
        let len = c.len_utf8();
        i += len;
        let ok = if o.nfkc && ('\u{FF01}'..='\u{FF5E}').contains(&c) {
            // Fullwidth ASCII: NFKC gives the ASCII character 0xFEE0 below.
            let Some(a) = char::from_u32(u32::from(c) - 0xFEE0) else {
                return false;
            };
            let m = if o.case_fold {
                a.to_ascii_lowercase()
            } else {
                a
            };
            end_same(segs, &mut same, src);
            map_seg(segs, offset(buf.len()), src, src.saturating_add(3));
            push_char(buf, m);
            if m.is_ascii_alphanumeric() {
                watch.feed(m)
            } else if matches!(m, ',' | '!' | '?' | ';') {
                // The fullwidth punctuation of Chinese sentences.
                watch.punct(m as u8, true)
            } else {
                watch.separator(m as u8)
            }
        } else if o.nfkc && c == '\u{3000}' {
            end_same(segs, &mut same, src);
            map_seg(segs, offset(buf.len()), src, src.saturating_add(3));
            buf.push(b' ');
            watch.separator(b' ')
        } else if matches!(c, '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}' | '\u{3014}'..='\u{301F}')
        {
            // CJK punctuation: separators no step changes.
            push_char(buf, c);
            watch.punct(0x80, is_sentence_punct(c))
        } else if is_inert(c) {
            push_char(buf, c);
            watch.feed(c)
        } else if o.strip_invisible && is_invisible(c) {
            end_same(segs, &mut same, src);
            invisible_dropped(buf.last().copied(), bytes.get(i).copied())
        } else {
            return false;
        };
        if !ok {
            return false;
        }
    }
    end_same(segs, &mut same, offset(input.len()));
    watch.finish()
}

/// After an invisible character is dropped (zero-width space and joiners, soft hyphen,
/// BOM, variation selectors, bidi controls): whether the fast path can go on, given the
/// last byte of the match text and the next byte of the input.
///
/// The general path drops invisible characters before any other step, so the characters
/// on either side meet as if it had never been there; the fast path gets the same by
/// feeding nothing to [`Watch`] and starting a new stretch of the map. The one exception
/// is a run of ASCII letters and digits split in two (`hx\u{200B}xp`): runs are watched as
/// whole pieces, so that text goes to the general path.
#[inline]
fn invisible_dropped(last_out: Option<u8>, next_in: Option<u8>) -> bool {
    let alnum = |b: Option<u8>| b.is_some_and(|b| class(b) & ALNUM != 0);
    !(alnum(last_out) && alnum(next_in))
}

/// Where the output stood when a run of Han characters ended: the match text's length,
/// the map's length, its open stretch, and the decoded offset. Separators written after
/// it are taken back out when the next Han run starts and [`Watch::han_run_start`] says
/// they collapse (`信 用 卡` → `信用卡`).
#[derive(Clone, Copy, Debug)]
struct HanEnd {
    out: usize,
    segs: usize,
    same: Option<(u32, u32)>,
    src: u32,
}

/// Cuts the map back to where the Han run `end` ended (the caller cuts the match text
/// back to `end.out`), closes its open stretch there, and opens a new one for the Han run
/// starting at decoded offset `src`: the map the general path builds when it deletes the
/// separators.
fn drop_gap(segs: &mut Vec<Seg>, same: &mut Option<(u32, u32)>, end: &HanEnd, src: u32) {
    segs.truncate(end.segs);
    *same = end.same;
    end_same(segs, same, end.src);
    *same = Some((offset(end.out), src));
}

/// The UTF-8 bytes of a code point from U+0800 to U+FFFF.
#[inline]
fn utf8_3(cp: u32) -> [u8; 3] {
    [
        0xE0 | ((cp >> 12) & 0x0F) as u8,
        0x80 | ((cp >> 6) & 0x3F) as u8,
        0x80 | (cp & 0x3F) as u8,
    ]
}

/// Appends the UTF-8 bytes of `c`.
fn push_char(buf: &mut Vec<u8>, c: char) {
    buf.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
}

/// Copies the run of Han characters starting at `start`, folding Traditional to
/// Simplified, and feeds it to `watch` as one piece (the caller has started it with
/// [`Watch::han_run_start`]). Returns the end of the run, or `None`
/// when the general path must run.
///
/// Characters of the main CJK blocks are read straight from their three UTF-8 bytes and
/// looked up in [`HAN`] without a branch on the result (a third of the characters of
/// Traditional text fold, too many for a branch to predict); only numerals, and the
/// numbers they end, take a branch.
fn han_run(
    o: &NormalizeOptions,
    input: &str,
    start: usize,
    buf: &mut Vec<u8>,
    watch: &mut Watch,
) -> Option<usize> {
    let bytes = input.as_bytes();
    let t2s_on = o.traditional_to_simplified;
    let mut pos = start;
    let mut count = 0u32;
    loop {
        if watch.num_len == 0 {
            let n = plain_han(bytes, pos, t2s_on, buf);
            pos += 3 * n;
            count += n as u32;
        }
        // A numeral, the character after one, a Simplified form of four bytes, Han
        // outside the Basic Multilingual Plane, or the end of the run.
        if let Some(cp) = bmp_han_at(bytes, pos) {
            let v = han_entry(cp);
            if !han_common(v, t2s_on, watch) {
                return None;
            }
            buf.extend_from_slice(&utf8_3(han_fold(cp, v, t2s_on)));
            pos += 3;
            count += 1;
            continue;
        }
        // Han outside the Basic Multilingual Plane: none is a numeral, and the few that
        // fold are in a short sorted list.
        let Some(c) = input
            .get(pos..)
            .and_then(|rest| rest.chars().next())
            .filter(|&c| is_han(c))
        else {
            break;
        };
        if watch.num_len > 0 {
            watch.numeral(false);
        }
        let m = match t2s_on {
            true => t2s(c).unwrap_or(c),
            false => c,
        };
        if m.len_utf8() != c.len_utf8() {
            return None;
        }
        push_char(buf, m);
        pos += c.len_utf8();
        count += 1;
    }
    watch.han_run_end(count);
    (!watch.hit).then_some(pos)
}

/// Copies Han characters of the main CJK blocks from byte `pos` on while they are neither
/// numerals nor fold to a character of another length: one table load and a select per
/// character, no other branch, and no bounds checks (input and output advance three bytes
/// at a time). At most 64 characters per call, so the output grows in small steps.
/// Returns how many it copied.
fn plain_han(bytes: &[u8], pos: usize, t2s_on: bool, buf: &mut Vec<u8>) -> usize {
    const MAX: usize = 64;
    let input = bytes.get(pos..).unwrap_or(&[]).as_chunks::<3>().0;
    let input = input.get(..MAX).unwrap_or(input);
    let at = buf.len();
    buf.resize(at + 3 * input.len(), 0);
    let out = buf.get_mut(at..).unwrap_or_default().as_chunks_mut::<3>().0;
    let mut n = 0;
    for (&[b0, b1, b2], o) in input.iter().zip(out) {
        // `bytes` is UTF-8: a lead byte of three (checked here) has two continuation bytes.
        if b0 & 0xF0 != 0xE0 {
            break;
        }
        let cp = (u32::from(b0 & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
        let v = han_entry(cp);
        // Numerals, wide forms and non-Han stop the loop; the same and folded go on.
        if v.wrapping_sub(1) < HAN_NONE {
            break;
        }
        *o = utf8_3(han_fold(cp, v, t2s_on));
        n += 1;
    }
    buf.truncate(at + 3 * n);
    n
}

/// The code point at `i` when it is a Han character of the CJK Unified Ideographs block or
/// extension A (three UTF-8 bytes each), decoded without going through `char`.
#[inline]
fn bmp_han_at(bytes: &[u8], i: usize) -> Option<u32> {
    let &[b0, b1, b2] = bytes.get(i..i + 3)? else {
        return None;
    };
    if b0 & 0xF0 != 0xE0 {
        return None;
    }
    let cp = (u32::from(b0 & 0x0F) << 12) | (u32::from(b1 & 0x3F) << 6) | u32::from(b2 & 0x3F);
    is_bmp_han(cp).then_some(cp)
}

/// Whether `cp` is in the CJK Unified Ideographs block or extension A. Two subtractions
/// rather than the range pattern, which compiles to vector code here.
#[inline]
fn is_bmp_han(cp: u32) -> bool {
    cp.wrapping_sub(0x4E00) < 0x5200 || cp.wrapping_sub(0x3400) < 0x19C0
}

/// The Chinese numerals of the Han blocks (`〇` is not Han).
const CN_NUMERALS: [u32; 10] = [
    0x4E00, 0x4E03, 0x4E09, 0x4E5D, 0x4E8C, 0x4E94, 0x516B, 0x516D, 0x56DB, 0x96F6,
];

/// [`HAN`] entry: the character stays as it is.
const HAN_SAME: u16 = 0;
/// [`HAN`] entry: a Chinese numeral (which stays as it is).
const HAN_NUMERAL: u16 = 1;
/// [`HAN`] entry: the Simplified form is not a three-byte character (the general path
/// handles it).
const HAN_WIDE: u16 = 2;
/// [`HAN`] entry: not a Han character (the Yijing hexagrams between extension A and the
/// main block).
const HAN_NONE: u16 = 3;

/// For each code point of the dense range: [`HAN_SAME`], [`HAN_NUMERAL`], [`HAN_WIDE`],
/// [`HAN_NONE`], or the Simplified form (always above [`HAN_NONE`]). 54 KiB, built at compile time from the Traditional →
/// Simplified bitmap, so the Han loop folds a character with one load and a select.
static HAN: [u16; (t2s_table::DENSE_HI - t2s_table::DENSE_LO) as usize] = han_table();

#[allow(clippy::indexing_slicing)] // ok: every index is checked against the tables' ranges
const fn han_table() -> [u16; (t2s_table::DENSE_HI - t2s_table::DENSE_LO) as usize] {
    let mut t = [HAN_SAME; (t2s_table::DENSE_HI - t2s_table::DENSE_LO) as usize];
    let mut off = 0;
    while off < t.len() {
        let word = t2s_table::BITMAP[off / 64];
        let bit = 1u64 << (off % 64);
        if word & bit != 0 {
            let rank =
                t2s_table::RANK[off / 64] as usize + (word & (bit - 1)).count_ones() as usize;
            let target = t2s_table::TARGETS[rank] as u32;
            t[off] = if target >= 0x800 && target <= 0xFFFF && (target < 0xD800 || target > 0xDFFF)
            {
                target as u16
            } else {
                HAN_WIDE
            };
        }
        off += 1;
    }
    let mut k = 0;
    while k < CN_NUMERALS.len() {
        t[(CN_NUMERALS[k] - t2s_table::DENSE_LO) as usize] = HAN_NUMERAL;
        k += 1;
    }
    let mut cp = 0x4DC0;
    while cp < 0x4E00 {
        t[(cp - t2s_table::DENSE_LO) as usize] = HAN_NONE;
        cp += 1;
    }
    t
}

/// The [`HAN`] entry of a character of the dense range.
#[inline]
fn han_entry(cp: u32) -> u16 {
    cp.checked_sub(t2s_table::DENSE_LO)
        .and_then(|off| HAN.get(off as usize))
        .copied()
        .unwrap_or(HAN_WIDE)
}

/// What a Han character with entry `v` does besides its folding: a numeral extends a
/// digit run, anything else ends one. `false` when the general path must run.
#[inline]
fn han_common(v: u16, t2s_on: bool, watch: &mut Watch) -> bool {
    if v == HAN_NUMERAL || watch.num_len > 0 {
        watch.numeral(v == HAN_NUMERAL);
    }
    !(v == HAN_WIDE && t2s_on)
}

/// The match-text form of the Han character `cp` with entry `v`: a select, not a branch.
#[inline]
fn han_fold(cp: u32, v: u16, t2s_on: bool) -> u32 {
    if t2s_on && v > HAN_NONE {
        u32::from(v)
    } else {
        cp
    }
}

/// The fast path for ASCII text (most GSM 7-bit messages): copy, lower-case in place, then
/// one pass over the bytes watching for what a contextual step could change. The same
/// checks as [`Watch`], specialised to bytes.
fn ascii_text(o: &NormalizeOptions, input: &str, out: &mut MatchText) -> bool {
    if o.case_fold {
        push_ascii_lowercase(&mut out.text, input);
    } else {
        out.text.push_str(input);
    }
    if !input.is_empty() {
        out.segs.push(super::Seg {
            out: 0,
            src: 0,
            src_end: offset(input.len()),
            identity: true,
        });
    }
    let t = out.text.as_bytes();
    if !o.leet && !ascii_may_trigger(o, t) {
        return true;
    }
    ascii_scan(o, t)
}

/// A necessary condition for [`ascii_scan`] to find something, checked without branching
/// on the text so the compiler turns it into vector code: `false` proves the text needs
/// no contextual step. Most messages hold none of the byte patterns every trigger needs
/// (a bracket, ` dot`, `hxxp`, ` .`, a chain of three single-character words one or two
/// separators apart, a lone `0`/`1` beside a letter); a sentence-ending `. ` is checked
/// exactly, dot by dot.
fn ascii_may_trigger(o: &NormalizeOptions, t: &[u8]) -> bool {
    // A message-sized text is judged as one block of about its size (the work is the
    // block's, not the text's); longer text in blocks of 64.
    let n = t.len();
    let blocks = match n {
        0..=48 => in_blocks::<48, { 48 + 2 * CTX }>(o, t),
        49..=80 => in_blocks::<80, { 80 + 2 * CTX }>(o, t),
        81..=112 => in_blocks::<112, { 112 + 2 * CTX }>(o, t),
        113..=144 => in_blocks::<144, { 144 + 2 * CTX }>(o, t),
        145..=176 => in_blocks::<176, { 176 + 2 * CTX }>(o, t),
        _ => in_blocks::<64, { 64 + 2 * CTX }>(o, t),
    };
    blocks || (o.deobfuscate_urls && dot_space_label(t))
}

/// [`block_triggers`] over the blocks of `B` bytes of `t`, each in a window of `W` bytes
/// (`B` and `CTX` bytes of the text, or NULs, on either side), so every position of the
/// block has the neighbours the patterns look at.
fn in_blocks<const B: usize, const W: usize>(o: &NormalizeOptions, t: &[u8]) -> bool {
    debug_assert_eq!(W, B + 2 * CTX);
    let n = t.len();
    let mut window = [0u8; W];
    let mut start = 0;
    while start < n {
        let len = (n - start).min(B);
        window.fill(0);
        let from = start.saturating_sub(CTX);
        let to = (start + len + CTX).min(n);
        let src = t.get(from..to).unwrap_or(&[]);
        let at = CTX - (start - from);
        if let Some(dst) = window.get_mut(at..at + src.len()) {
            dst.copy_from_slice(src);
        }
        if block_triggers::<B, W>(&window, o) {
            return true;
        }
        start += len;
    }
    false
}

/// Bytes of context on either side of a block: a chain of three single-character words
/// reaches seven bytes ahead.
const CTX: usize = 8;

/// Whether some position of the block of `B` bytes in `w` (after `CTX` bytes of context;
/// NULs past the text) starts a trigger pattern. Positions past the block's end are judged too,
/// which can only say `true` more often. Byte-wide arithmetic over fixed-size arrays,
/// with no table lookups or short-circuit operators, so the loops run on vector
/// registers.
#[allow(clippy::indexing_slicing)] // ok: every index and range is a constant inside `W`
fn block_triggers<const B: usize, const W: usize>(w: &[u8; W], o: &NormalizeOptions) -> bool {
    let is = |b: u8, l: u8| u8::from(b == l);
    let lower = |b: u8, l: u8| u8::from(b | 0x20 == l);
    let mut digit = [0u8; W];
    let mut letter = [0u8; W];
    let mut alnum = [0u8; W];
    for (((&b, d), l), a) in w.iter().zip(&mut digit).zip(&mut letter).zip(&mut alnum) {
        *d = u8::from(b.wrapping_sub(b'0') < 10);
        *l = u8::from((b | 0x20).wrapping_sub(b'a') < 26);
        *a = *d | *l;
    }
    // Single-character words: a letter or digit between two bytes that are neither.
    let mut single = [0u8; W];
    for (((s, &p), &c), &n) in single[1..]
        .iter_mut()
        .zip(&alnum[..])
        .zip(&alnum[1..])
        .zip(&alnum[2..])
    {
        *s = c & (p ^ 1) & (n ^ 1);
    }
    let (deob, conf, collapse) = (
        u8::from(o.deobfuscate_urls),
        u8::from(o.confusables),
        u8::from(o.collapse_separators),
    );
    let mut flags = 0u8;
    for j in CTX..CTX + B {
        let (c, n1, n2, n3) = (w[j], w[j + 1], w[j + 2], w[j + 3]);
        let bracket = is(c, b'[') | is(c, b'(') | is(c, b'{') | is(c, b'<');
        let dot_word = is(c, b' ') & lower(n1, b'd') & lower(n2, b'o') & lower(n3, b't');
        let hxxp = lower(c, b'h') & lower(n1, b'x') & lower(n2, b'x') & lower(n3, b'p');
        let space_dot = is(c, b' ') & is(n1, b'.');
        let lone01 = u8::from(c.wrapping_sub(b'0') < 2)
            & (digit[j - 1] ^ 1)
            & (digit[j + 1] ^ 1)
            & (letter[j - 1] | letter[j + 1]);
        // Three single-character words, each one or two separators after the last.
        let chain = single[j]
            & ((single[j + 2] & (single[j + 4] | single[j + 5]))
                | (single[j + 3] & (single[j + 5] | single[j + 6])));
        flags |=
            (deob & (bracket | dot_word | hxxp | space_dot)) | (conf & lone01) | (collapse & chain);
    }
    flags != 0
}

/// Whether some `. ` is followed, after spaces, by a top-level domain or follows `www`:
/// what the exact scan's dot state looks for.
fn dot_space_label(t: &[u8]) -> bool {
    let mut from = 0;
    while let Some(d) = t.get(from..).and_then(|r| memchr::memchr(b'.', r)) {
        let d = from + d;
        from = d + 1;
        if t.get(d + 1) != Some(&b' ') {
            continue;
        }
        let mut e = d + 1;
        while t.get(e) == Some(&b' ') {
            e += 1;
        }
        let mut end = e;
        while t.get(end).is_some_and(|&b| class(b) & ALNUM != 0) {
            end += 1;
        }
        if end == e {
            continue;
        }
        let www = d >= 3
            && t.get(d - 3..d)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"www"))
            && (d == 3 || t.get(d - 4).is_some_and(|&b| class(b) & ALNUM == 0));
        if www
            || t.get(e..end)
                .is_some_and(|l| joins_after_dot_space(l, t.get(end) == Some(&b'/')))
        {
            return true;
        }
    }
    false
}

/// The exact scan of ASCII text: `false` when a contextual step could change it.
fn ascii_scan(o: &NormalizeOptions, t: &[u8]) -> bool {
    let deob = o.deobfuscate_urls;
    // Separators inside URLs link no single characters (`x.co/q?a=1`).
    let mut urls: Vec<std::ops::Range<usize>> = Vec::new();
    if o.collapse_separators && memchr::memchr(b'.', t).is_some() {
        url_spans(t, |start, end| urls.push(start..end));
    }
    let (mut last_single, mut seps_after, mut chain) = (false, 0u32, 0u32);
    let mut dot = DotState::Idle;
    let mut dot_after_www = false;
    // The last token, as (start, end).
    let mut last_tok = (0usize, 0usize);
    let mut prev = 0u8;
    let mut i = 0;
    while let Some(&b) = t.get(i) {
        if class(b) & ALNUM != 0 {
            // One token: count its digits in a tight loop, then judge it as a whole.
            let start = i;
            let (mut digits, mut seen) = (0u32, 0u8);
            while let Some(&c) = t.get(i) {
                let k = class(c);
                if k & ALNUM == 0 {
                    break;
                }
                digits += u32::from(k & DIGIT);
                seen |= k;
                i += 1;
            }
            let Some(token) = t.get(start..i) else {
                return false;
            };
            let len = i - start;
            let letters = len as u32 - digits;
            let has01 = seen & DIGIT01 != 0;
            let mut label = false;
            if deob {
                // `(dot`, ` dot`, `hxxp` (wholly inside one token), a label after `. `.
                let lower_first = b | 0x20;
                if (matches!(prev, b'[' | b'(' | b'{' | b'<') && lower_first == b'd')
                    || (prev == b' '
                        && lower_first == b'd'
                        && token
                            .get(..3)
                            .is_some_and(|d| d.eq_ignore_ascii_case(b"dot")))
                    || (seen & LETTER_X != 0 && len >= 4 && token.windows(4).any(is_hxxp))
                {
                    return false;
                }
                if dot == DotState::DotSpace {
                    if dot_after_www {
                        return false;
                    }
                    label = true;
                }
                dot = DotState::Idle;
            }
            let in_url = || urls.iter().any(|u| u.start < last_tok.1 && start < u.end);
            let pending = if last_single && (1..=2).contains(&seps_after) && !in_url() {
                chain
            } else {
                0
            };
            if len == 1 {
                chain = pending + 1;
                if o.collapse_separators && chain >= 3 {
                    return false;
                }
            } else {
                chain = 0;
            }
            last_single = len == 1;
            seps_after = 0;
            if (o.confusables && letters >= 3 && digits == 1 && has01)
                || (o.leet && letters >= 1 && digits >= 1)
                || (label && joins_after_dot_space(token, t.get(i) == Some(&b'/')))
            {
                return false;
            }
            last_tok = (start, i);
            prev = token.last().map_or(0, u8::to_ascii_lowercase);
            continue;
        }
        seps_after += 1;
        let l = b.to_ascii_lowercase();
        if deob {
            if matches!(prev, b'[' | b'(' | b'{' | b'<') && matches!(l, b'.' | b' ' | b':') {
                return false;
            }
            if prev == b' ' && l == b'.' {
                return false;
            }
            dot = match (dot, l) {
                (_, b'.') => {
                    dot_after_www = last_tok.1 == i
                        && t.get(last_tok.0..last_tok.1)
                            .is_some_and(|w| w.eq_ignore_ascii_case(b"www"));
                    DotState::Dot
                }
                (DotState::Dot | DotState::DotSpace, b' ') => DotState::DotSpace,
                _ => DotState::Idle,
            };
        }
        if o.leet && (b == b'@' || b == b'$') {
            return false;
        }
        prev = l;
        i += 1;
    }
    true
}

/// [`class`] bit: an ASCII digit (the value 1, so classes of a token add up to its digit
/// count).
const DIGIT: u8 = 1;
/// [`class`] bit: an ASCII letter or digit.
const ALNUM: u8 = 2;
/// [`class`] bit: `0` or `1`, the digits that stand for letters in `paypa1`.
const DIGIT01: u8 = 4;
/// [`class`] bit: `x` or `X`, without which no token spells `hxxp`.
const LETTER_X: u8 = 8;

/// Byte classes of the ASCII scans: one table lookup per byte instead of chained range
/// comparisons.
static CLASSES: [u8; 256] = classes();

#[allow(clippy::indexing_slicing)] // ok: `b` runs below 256, the length of the table
const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_digit() {
            t[b] = DIGIT | ALNUM;
            if c <= b'1' {
                t[b] |= DIGIT01;
            }
        } else if c.is_ascii_alphabetic() {
            t[b] = ALNUM;
            if c | 0x20 == b'x' {
                t[b] |= LETTER_X;
            }
        }
        b += 1;
    }
    t
}

/// The class bits of byte `b`.
#[inline]
fn class(b: u8) -> u8 {
    CLASSES.get(usize::from(b)).copied().unwrap_or(0)
}

/// Appends the ASCII text `input` to `text`, lower-cased: a copy, then the standard
/// library's in-place lower-casing (branch-free per byte, so vector code), with no UTF-8
/// check of the result.
fn push_ascii_lowercase(text: &mut String, input: &str) {
    let at = text.len();
    text.push_str(input);
    if let Some(added) = text.get_mut(at..) {
        added.make_ascii_lowercase();
    }
}

/// Whether four ASCII letters or digits spell `hxxp` in any case (`| 0x20` lower-cases
/// letters and leaves digits alone).
fn is_hxxp(w: &[u8]) -> bool {
    matches!(w, &[h, x1, x2, p] if h | 0x20 == b'h' && x1 | 0x20 == b'x' && x2 | 0x20 == b'x' && p | 0x20 == b'p')
}

/// Closes the current length-for-length stretch at decoded offset `src_end`.
fn end_same(segs: &mut Vec<Seg>, same: &mut Option<(u32, u32)>, src_end: u32) {
    if let Some((out_start, src)) = same.take()
        && src_end > src
    {
        segs.push(Seg {
            out: out_start,
            src,
            src_end,
            identity: true,
        });
    }
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
    /// Separators seen since the last Han character, while that is all there was, and
    /// whether one of them was sentence punctuation.
    han_gap: Option<(u8, bool)>,
    /// Length of the current word (token or Han characters), for chains of single ones.
    word_len: u32,
    last_single: bool,
    seps_after_word: u32,
    chain: u32,
    pending_chain: u32,
    /// Whether the chain of single-character words (or the one the current word would
    /// extend) has a link other than separators between two Han characters, which
    /// collapse anyway: only such a chain makes the general path delete more.
    chain_mixed: bool,
    pending_mixed: bool,
    /// Statistics of the current token (letters and digits), for confusables and leet.
    tok_len: u32,
    tok_letters: u32,
    tok_digits: u32,
    tok_01: bool,
    tok_all_w: bool,
    num_len: u32,
    num_cn: bool,
    num_ascii: bool,
    /// The last four characters, lower-cased ASCII bytes (0x80 for anything else).
    window: u32,
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
            word_len: 0,
            last_single: false,
            seps_after_word: 0,
            chain: 0,
            pending_chain: 0,
            chain_mixed: false,
            pending_mixed: false,
            tok_len: 0,
            tok_letters: 0,
            tok_digits: 0,
            tok_01: false,
            tok_all_w: true,
            num_len: 0,
            num_cn: false,
            num_ascii: false,
            window: 0,
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
        let han = is_han(c);
        let token = !han && is_token_char(c);
        let separator = !token && !han && is_separator(c);
        // Chains of single-character words.
        if token || han {
            if self.word_len == 0 {
                self.word_start(false);
            }
            self.word_len += 1;
        } else {
            self.end_word();
            if separator {
                self.seps_after_word += 1;
            } else {
                self.last_single = false;
                self.chain = 0;
            }
        }
        // Token statistics.
        if token {
            self.tok_len += 1;
            if c.is_ascii_digit() {
                self.tok_digits += 1;
                self.tok_01 |= c == '0' || c == '1';
            } else if c.is_ascii_alphabetic() {
                self.tok_letters += 1;
            }
            self.tok_all_w &= c == 'w' || c == 'W';
        } else {
            self.end_token();
        }
        // Padding between Han characters.
        if han {
            if let Some((k, punct)) = self.han_gap
                && self.collapse
                && (1..=4).contains(&k)
                && !punct
            {
                self.hit = true;
            }
            self.han_gap = Some((0, false));
        } else if separator {
            self.han_gap = self
                .han_gap
                .and_then(|(k, p)| (k < 4).then_some((k + 1, p || is_sentence_punct(c))));
        } else {
            self.han_gap = None;
        }
        if self.leet && (c == '@' || c == '$') {
            self.hit = true;
        }
        !self.hit
    }

    fn end_word(&mut self) {
        if self.word_len == 0 {
            return;
        }
        if self.word_len == 1 {
            self.chain = self.pending_chain + 1;
            self.chain_mixed = self.pending_mixed;
            // Three single-character words with two links: the general path deletes the
            // links, which only matters when one is not a Han gap collapsed here anyway.
            if self.collapse && self.chain >= 3 && self.chain_mixed {
                self.hit = true;
            }
        } else {
            self.chain = 0;
            self.chain_mixed = false;
        }
        self.last_single = self.word_len == 1;
        self.word_len = 0;
        self.seps_after_word = 0;
    }

    fn end_token(&mut self) {
        if self.tok_len == 0 {
            return;
        }
        if self.confusables && self.tok_letters >= 3 && self.tok_digits == 1 && self.tok_01 {
            self.hit = true;
        }
        if self.leet && self.tok_letters >= 1 && self.tok_digits >= 1 {
            self.hit = true;
        }
        self.tok_len = 0;
        self.tok_letters = 0;
        self.tok_digits = 0;
        self.tok_01 = false;
        self.tok_all_w = true;
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

    /// Shifts `l` into the window; `true` when the window then spells a trigger.
    fn roll(&mut self, l: u8) -> bool {
        self.window = (self.window << 8) | u32::from(l);
        self.window == u32::from_be_bytes(*b"hxxp") || self.window == u32::from_be_bytes(*b" dot")
    }

    /// `hxxp`, bracketed dots, ` dot `, and spaces around the dots of a host name.
    fn defang(&mut self, c: char) {
        let l = if c.is_ascii() {
            (c as u8).to_ascii_lowercase()
        } else {
            0x80
        };
        let w3 = (self.window & 0xFF) as u8;
        if matches!(w3, b'[' | b'(' | b'{' | b'<') && matches!(l, b'.' | b' ' | b':' | b'd') {
            self.hit = true;
        }
        if w3 == b' ' && l == b'.' {
            self.hit = true;
        }
        if self.roll(l) {
            self.hit = true;
        }
        if self.in_label {
            if is_token_char(c) {
                self.label_push(c.to_ascii_lowercase());
                return;
            }
            self.end_label(c == '/');
        }
        self.dot = match (self.dot, l) {
            (_, b'.') => {
                // The token before the dot has just ended (the dot is a separator).
                self.dot_after_www = self.tok_len == 3 && self.tok_all_w;
                DotState::Dot
            }
            (DotState::Dot | DotState::DotSpace, b' ') => DotState::DotSpace,
            (DotState::DotSpace, _) if is_token_char(c) => {
                self.start_label();
                self.label_push(c.to_ascii_lowercase());
                DotState::Idle
            }
            _ => DotState::Idle,
        };
    }

    fn start_label(&mut self) {
        if self.dot_after_www {
            self.hit = true;
        }
        self.in_label = true;
        self.label_len = 0;
    }

    fn label_push(&mut self, c: char) {
        if let Some(slot) = self.label.get_mut(self.label_len) {
            *slot = c;
            self.label_len += 1;
        } else {
            self.in_label = false;
        }
    }

    /// Lower-cases a run of ASCII letters and digits just copied into the match text
    /// when `case_fold` is on, then feeds it as [`Watch::ascii_run`] does.
    fn copied_ascii_run(&mut self, case_fold: bool, run: &mut [u8]) -> bool {
        if case_fold {
            run.make_ascii_lowercase();
        }
        self.ascii_run(run)
    }

    /// Feeds a run of ASCII letters and digits (lower-cased when case folding is on):
    /// the same as feeding each character, in one pass that classifies the bytes, then
    /// checks that look at the run again only when its classes allow them to fire.
    fn ascii_run(&mut self, run: &[u8]) -> bool {
        let Some(&first) = run.first() else {
            return !self.hit;
        };
        let len = run.len() as u32;
        let (mut digits, mut seen) = (0u32, 0u8);
        for &b in run {
            let k = class(b);
            digits += u32::from(k & DIGIT);
            seen |= k;
        }
        if self.deobfuscate {
            let prev = (self.window & 0xFF) as u8;
            // Letters and digits: `| 0x20` lower-cases letters and keeps digits.
            let lower = first | 0x20;
            // `(dot)` and friends; ` dot`; `hxxp` wholly inside the run.
            if matches!(prev, b'[' | b'(' | b'{' | b'<') && lower == b'd' {
                self.hit = true;
            }
            if prev == b' '
                && lower == b'd'
                && run.get(..3).is_some_and(|r| r.eq_ignore_ascii_case(b"dot"))
            {
                self.hit = true;
            }
            if seen & LETTER_X != 0 && run.len() >= 4 && run.windows(4).any(is_hxxp) {
                self.hit = true;
            }
            // `hxxp` and ` dot` across the start of the run, after characters fed one by
            // one (a fullwidth `Ｈ` before `xxp`): the run then starts inside the word,
            // with `x`, `p`, `d`, `o` or `t`. The last three bytes of the window and the
            // first three of the run.
            if matches!(lower, b'x' | b'p' | b'd' | b'o' | b't') {
                let mut span = [0u8; 6];
                for (k, slot) in span.iter_mut().take(3).enumerate() {
                    *slot = (self.window >> (16 - 8 * k)) as u8;
                }
                for (slot, &b) in span.iter_mut().skip(3).zip(run) {
                    *slot = b.to_ascii_lowercase();
                }
                let joined = 3 + run.len().min(3);
                if span
                    .get(..joined)
                    .is_some_and(|t| t.windows(4).any(|w| w == b"hxxp" || w == b" dot"))
                {
                    self.hit = true;
                }
            }
            // Host-name labels after `. `.
            if !self.in_label && self.dot == DotState::DotSpace {
                self.start_label();
            }
            if self.in_label {
                for &b in run {
                    if !self.in_label {
                        break;
                    }
                    self.label_push(char::from(b.to_ascii_lowercase()));
                }
            }
            self.dot = DotState::Idle;
        }
        let tail = run.get(run.len().saturating_sub(4)..).unwrap_or(run);
        for &b in tail {
            self.window = (self.window << 8) | u32::from(b.to_ascii_lowercase());
        }
        // Chains of single-character words.
        if self.word_len == 0 {
            self.word_start(false);
        }
        self.word_len += len;
        // Token statistics and digit runs.
        self.tok_01 |= seen & DIGIT01 != 0;
        if self.tok_all_w && self.tok_len + len <= 3 {
            self.tok_all_w = run.iter().all(|b| b.eq_ignore_ascii_case(&b'w'));
        } else {
            self.tok_all_w = false;
        }
        self.tok_digits += digits;
        self.tok_letters += len - digits;
        self.tok_len += len;
        if digits == len {
            self.num_len += len;
            self.num_ascii = true;
        } else if digits == 0 {
            // The first letter ends the digit run.
            self.end_numerals();
        } else {
            // Leading digits extend the current digit run, the first letter ends it; only
            // a trailing group of digits can meet Chinese numerals after the run.
            let leading = run.iter().take_while(|b| b.is_ascii_digit()).count() as u32;
            self.num_len += leading;
            self.num_ascii |= leading > 0;
            self.end_numerals();
            let trailing = run.iter().rev().take_while(|b| b.is_ascii_digit()).count() as u32;
            self.num_len = trailing;
            self.num_ascii = trailing > 0;
        }
        self.han_gap = None;
        !self.hit
    }

    /// Starts a run of Han characters whose first character is a Chinese numeral or not:
    /// what feeding that character changes before the character-specific numeral check.
    ///
    /// Returns whether the separators since the last Han character collapse (one to four,
    /// no sentence punctuation: `信 用 卡`): the caller takes them back out of the match
    /// text, and the text goes on as if they had never been there. The general path
    /// deletes them too; it deletes more only where they meet a chain of single-character
    /// words with another kind of link (`a 信 用`), which [`Watch::end_word`] sends to it,
    /// and where a numeral follows them: it would extend the digit run before them
    /// (`一 三 八`), so that text is sent to it here. A digit run ending before them was
    /// already judged when they ended it, and ends at the same place in the joined text.
    fn han_run_start(&mut self, numeral: bool) -> bool {
        if self.deobfuscate {
            if self.in_label {
                self.end_label(false);
            }
            self.dot = DotState::Idle;
        }
        let gap = matches!(self.han_gap, Some((k, punct)) if self.collapse && (1..=4).contains(&k) && !punct);
        if self.word_len == 0 {
            self.word_start(gap);
        }
        self.end_token();
        if gap && numeral {
            self.hit = true;
        }
        gap
    }

    /// A word starts after `seps_after_word` separators: whether it extends a chain of
    /// single-character words, and whether the link to it is anything but collapsing
    /// separators between two Han characters (`han_gap`).
    fn word_start(&mut self, han_gap: bool) {
        self.pending_chain = if self.last_single && (1..=2).contains(&self.seps_after_word) {
            self.chain
        } else {
            0
        };
        self.pending_mixed = self.pending_chain > 0 && (self.chain_mixed || !han_gap);
    }

    /// One character of a digit run, or the end of one.
    fn numeral(&mut self, cn: bool) {
        if cn {
            self.num_len += 1;
            self.num_cn = true;
        } else if self.num_len > 0 {
            self.end_numerals();
        }
    }

    /// Ends a run of `count` Han characters.
    fn han_run_end(&mut self, count: u32) {
        if self.deobfuscate {
            for _ in 0..count.min(4) {
                self.window = (self.window << 8) | 0x80;
            }
        }
        self.word_len += count;
        self.han_gap = Some((0, false));
    }

    /// [`Watch::separator`] for punctuation no URL pattern looks at: CJK punctuation
    /// (`lower` 0x80) and ASCII punctuation other than `.`, `:`, `/`, `@`, `$`, brackets and
    /// the space (`lower` is the byte). For those, defanging only shifts the window and
    /// ends a label, so the checks that cannot fire are skipped.
    fn punct(&mut self, lower: u8, sentence: bool) -> bool {
        debug_assert!(!b".:/@$[({< d".contains(&lower) && !lower.is_ascii_alphanumeric());
        if self.num_len > 0 {
            self.end_numerals();
        }
        if self.deobfuscate {
            self.window = (self.window << 8) | u32::from(lower);
            if self.in_label {
                self.end_label(false);
            }
            self.dot = DotState::Idle;
        }
        self.end_word();
        self.seps_after_word += 1;
        self.end_token();
        self.han_gap = self
            .han_gap
            .and_then(|(k, p)| (k < 4).then_some((k + 1, p || sentence)));
        !self.hit
    }

    /// Feeds an ASCII byte that is neither a letter nor a digit: the same as
    /// [`Watch::feed`] for it, without classifying it again, and with only the URL checks
    /// such a byte can fire (it ends neither `hxxp` nor ` dot`, and continues no label).
    fn separator(&mut self, b: u8) -> bool {
        debug_assert!(b.is_ascii() && !b.is_ascii_alphanumeric());
        if self.num_len > 0 {
            self.end_numerals();
        }
        if self.deobfuscate {
            let prev = (self.window & 0xFF) as u8;
            if (matches!(prev, b'[' | b'(' | b'{' | b'<') && matches!(b, b'.' | b' ' | b':'))
                || (prev == b' ' && b == b'.')
            {
                self.hit = true;
            }
            self.window = (self.window << 8) | u32::from(b);
            if self.in_label {
                self.end_label(b == b'/');
            }
            self.dot = match (self.dot, b) {
                (_, b'.') => {
                    // The token before the dot has not ended yet.
                    self.dot_after_www = self.tok_len == 3 && self.tok_all_w;
                    DotState::Dot
                }
                (DotState::Dot | DotState::DotSpace, b' ') => DotState::DotSpace,
                _ => DotState::Idle,
            };
        }
        self.end_word();
        self.seps_after_word += 1;
        self.end_token();
        self.han_gap = self
            .han_gap
            .and_then(|(k, p)| (k < 4).then_some((k + 1, p || is_sentence_punct(char::from(b)))));
        if self.leet && (b == b'@' || b == b'$') {
            self.hit = true;
        }
        !self.hit
    }

    /// Ends a host-name label after `. `; `path` when a `/` follows it.
    fn end_label(&mut self, path: bool) {
        if self.in_label
            && joins_after_dot_space_chars(self.label.get(..self.label_len).unwrap_or(&[]), path)
        {
            self.hit = true;
        }
        self.in_label = false;
    }

    fn finish(mut self) -> bool {
        self.end_word();
        self.end_token();
        self.end_numerals();
        self.end_label(false);
        !self.hit
    }
}
