//! The match text: a normalized view of decoded message text that rules are matched
//! against, with a map back to the decoded text so a verdict can quote what the sender
//! actually wrote.
//!
//! The decoded text is never changed and never forwarded from here: only the original PDU
//! bytes are forwarded. The match text exists to defeat tricks that make the same words look
//! different to a byte matcher (fullwidth letters, zero-width characters, Traditional vs
//! Simplified characters, look-alike letters, separators between letters, obfuscated URLs).
//!
//! Two paths produce the same result. The fast path handles text made of ASCII, Han and
//! other characters no step changes, with only per-character mappings that every step
//! agrees on (ASCII lower-casing, Traditional → Simplified, fullwidth ASCII). As soon as it
//! sees anything else it hands the whole text to the general path, which runs every step.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::decode::{self, DecodeOptions, DecodedPart, PartInput};
#[cfg(doc)]
use crate::decode_part_into;

mod chars;
mod digit_table;
mod extract;
mod fast;
mod general;
mod t2s_table;
#[cfg(test)]
mod tests;

/// Which normalization steps run. Rule packs carry it as a `[normalize]` table; a missing
/// key keeps its default, an unknown key is an error.
///
/// The default runs every step except leet folding, which would turn phone numbers and
/// product codes into letters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeOptions {
    /// Unicode NFKC: fullwidth `ＡＢＣ１２３` → `ABC123`, circled `①` → `1`, ligatures.
    pub nfkc: bool,
    /// Full Unicode case folding (`ß` → `ss`, `Ω` → `ω`, ASCII lower-case).
    pub case_fold: bool,
    /// Drop invisible and format characters: zero-width space/joiners, soft hyphen, word
    /// joiner, BOM, bidi controls, variation selectors, tag characters.
    pub strip_invisible: bool,
    /// Drop combining marks stacked on Latin, Greek, Cyrillic, Han or symbol characters
    /// (strike-through `F̶R̶E̶E̶`, "Zalgo" text). Marks of scripts that need them are kept.
    pub strip_overlay_marks: bool,
    /// Remove separators inserted between Han characters (`信 用 卡`, `信.用.卡`, emoji
    /// between characters) and between single letters or digits (`F.R.E.E`).
    pub collapse_separators: bool,
    /// Fold Traditional Chinese characters to Simplified (`提額` → `提额`).
    pub traditional_to_simplified: bool,
    /// Fold Cyrillic, Greek and non-ASCII Latin look-alikes inside Latin words to ASCII
    /// (UTS #39 prototypes: `Сongratulations` with a Cyrillic `С` → `congratulations`), and a
    /// lone `0`/`1` inside a word of at least three letters (`paypa1` → `paypal`).
    pub confusables: bool,
    /// Leet folding inside words that mix letters and digits: `0→o 1→l 3→e 4→a 5→s 7→t
    /// @→a $→s` (`fr33` → `free`). Off by default.
    pub leet: bool,
    /// Fold every Unicode decimal digit to ASCII (`٠٧٩` → `079`), and Chinese numerals
    /// inside digit runs (`1三8` → `138`, `一三八一二三四五六七八` → `13812345678`).
    pub fold_digits: bool,
    /// Undo URL defanging: `hxxp` → `http`, `[.]`, `(dot)`, ` dot com`, spaces around the
    /// dots of a host name (`bit . ly`).
    pub deobfuscate_urls: bool,
    /// Collect URLs and domain names into [`MatchText::urls`].
    pub extract_urls: bool,
    /// Collect phone numbers into [`MatchText::phones`].
    pub extract_phones: bool,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        Self {
            nfkc: true,
            case_fold: true,
            strip_invisible: true,
            strip_overlay_marks: true,
            collapse_separators: true,
            traditional_to_simplified: true,
            confusables: true,
            leet: false,
            fold_digits: true,
            deobfuscate_urls: true,
            extract_urls: true,
            extract_phones: true,
        }
    }
}

impl NormalizeOptions {
    /// Options with every step off: the match text is the decoded text unchanged.
    pub fn none() -> Self {
        Self {
            nfkc: false,
            case_fold: false,
            strip_invisible: false,
            strip_overlay_marks: false,
            collapse_separators: false,
            traditional_to_simplified: false,
            confusables: false,
            leet: false,
            fold_digits: false,
            deobfuscate_urls: false,
            extract_urls: false,
            extract_phones: false,
        }
    }
}

/// Builds match texts. Built once per rule pack and shared between threads; all tables it
/// uses are static, so building one is free.
#[derive(Clone, Debug, Default)]
pub struct Normalizer {
    opts: NormalizeOptions,
}

/// A URL, domain name or phone number found in the match text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// Normalized value: a lower-case URL or host, or the digits of a phone number.
    pub value: String,
    /// Byte range in the decoded text the value was read from.
    pub range: Range<usize>,
    /// Byte range in the match text.
    pub match_range: Range<usize>,
}

/// The URLs or the phone numbers of a match text. Entries past `len` are kept from
/// earlier messages so their strings keep their capacity: extracting allocates only when a
/// message holds more values, or longer ones, than those before it.
#[derive(Clone, Default)]
struct Found {
    items: Vec<Extracted>,
    len: usize,
}

impl Found {
    fn as_slice(&self) -> &[Extracted] {
        self.items.get(..self.len).unwrap_or_default()
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends a value, written by `write` into an empty string.
    fn push(
        &mut self,
        range: Range<usize>,
        match_range: Range<usize>,
        write: impl FnOnce(&mut String),
    ) {
        match self.items.get_mut(self.len) {
            Some(e) => {
                e.value.clear();
                write(&mut e.value);
                e.range = range;
                e.match_range = match_range;
            }
            None => {
                let mut value = String::new();
                write(&mut value);
                self.items.push(Extracted {
                    value,
                    range,
                    match_range,
                });
            }
        }
        self.len += 1;
    }
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// One stretch of the offset map. Output bytes `[out, next.out)` come from decoded bytes
/// `[src, src_end)`; when `identity`, byte `out + k` corresponds to byte `src + k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seg {
    out: u32,
    src: u32,
    src_end: u32,
    identity: bool,
}

/// One character of the text being normalized, with the decoded-text bytes it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Unit {
    c: char,
    start: u32,
    end: u32,
}

/// The normalized text of one message, the map back to the decoded text, and the URLs and
/// phone numbers found in it.
///
/// Reuse one value per worker with [`Normalizer::normalize_into`]: its buffers keep their
/// capacity, so the hot path does not allocate.
///
/// Memory: the text, 16 bytes per map stretch (one stretch for text the fast path leaves
/// length-for-length, one per changed character or run otherwise), a copy of the text's
/// bytes when it holds non-ASCII characters, and scratch space of 12 bytes per character
/// when the general path runs.
#[derive(Clone, Debug, Default)]
pub struct MatchText {
    text: String,
    segs: Vec<Seg>,
    decoded_len: usize,
    urls: Found,
    phones: Found,
    units: Vec<Unit>,
    scratch: Vec<Unit>,
    /// The fast paths' output (the UCS-2 path's decoded text too) before its one UTF-8
    /// check.
    bytes: Vec<u8>,
}

// === impl Normalizer ===

impl Normalizer {
    /// A normalizer running the steps `opts` switches on.
    pub fn new(opts: NormalizeOptions) -> Self {
        Self { opts }
    }

    /// The steps this normalizer runs.
    pub fn options(&self) -> &NormalizeOptions {
        &self.opts
    }

    /// The match text of `decoded`.
    pub fn normalize(&self, decoded: &str) -> MatchText {
        let mut out = MatchText::default();
        self.normalize_into(decoded, &mut out);
        out
    }

    /// The match text of `decoded`, written into `out` (whose buffers are reused).
    pub fn normalize_into(&self, decoded: &str, out: &mut MatchText) {
        out.clear();
        out.decoded_len = decoded.len();
        if !fast::run(&self.opts, decoded, out) {
            out.text.clear();
            out.segs.clear();
            general::run(&self.opts, decoded, out);
        }
        extract::run(&self.opts, out);
    }

    /// Decodes one part into `decoded` and writes the match text of its text into `out`:
    /// the same result as [`decode_part_into`] followed by [`Normalizer::normalize_into`]
    /// of `decoded.text`, in one call.
    ///
    /// The point is speed: UCS-2 text made of Han characters, ASCII and CJK or fullwidth
    /// punctuation (most Chinese messages) is normalized straight from its code units,
    /// in the same pass that decodes it; anything else takes the two steps.
    pub fn decode_normalize_into(
        &self,
        input: &PartInput<'_>,
        opts: &DecodeOptions,
        decoded: &mut DecodedPart,
        out: &mut MatchText,
    ) {
        if let Some(job) = decode::decode_head(input, opts, decoded) {
            if let Some(data) = job.plain_ucs2(input, decoded) {
                out.clear();
                if fast::ucs2::run(&self.opts, data, &mut decoded.text, out) {
                    out.decoded_len = decoded.text.len();
                    extract::run(&self.opts, out);
                    return;
                }
                decoded.text.clear();
            }
            decode::decode_body(input, &job, decoded);
        }
        self.normalize_into(&decoded.text, out);
    }

    /// The match-text form of a rule literal, so a literal written as a person would write
    /// it (`提額`, `ＦＲＥＥ`) meets the message text in the middle.
    pub fn normalize_literal(&self, literal: &str) -> String {
        let mut out = MatchText {
            decoded_len: literal.len(),
            ..MatchText::default()
        };
        if !fast::run(&self.opts, literal, &mut out) {
            out.text.clear();
            out.segs.clear();
            general::run(&self.opts, literal, &mut out);
        }
        out.text
    }

    /// The match text of `decoded` built by running every step over every character, with
    /// no fast path: the same result as [`Normalizer::normalize_into`], several times
    /// slower. It is the reference the fast path is tested against and the baseline of the
    /// text benchmark.
    pub fn normalize_reference_into(&self, decoded: &str, out: &mut MatchText) {
        out.clear();
        out.decoded_len = decoded.len();
        general::run(&self.opts, decoded, out);
        extract::run(&self.opts, out);
    }

    /// Runs only the general path (tests compare it with the fast path).
    #[cfg(test)]
    fn normalize_general(&self, decoded: &str) -> MatchText {
        let mut out = MatchText::default();
        self.normalize_reference_into(decoded, &mut out);
        out
    }
}

// === impl MatchText ===

impl MatchText {
    /// The text rules are matched against.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length of the match text in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the match text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Length in bytes of the decoded text this match text was built from.
    pub fn decoded_len(&self) -> usize {
        self.decoded_len
    }

    /// URLs and host names found in the message, in order of appearance.
    pub fn urls(&self) -> &[Extracted] {
        self.urls.as_slice()
    }

    /// Phone numbers found in the message, in order of appearance.
    pub fn phones(&self) -> &[Extracted] {
        self.phones.as_slice()
    }

    /// The byte range of the decoded text that produced `match_range` of the match text,
    /// e.g. to quote the words a rule matched as the sender wrote them.
    ///
    /// The result always lies within the decoded text; it falls on character boundaries
    /// of the decoded text when `match_range` falls on character boundaries of the match
    /// text. Out-of-range input is clamped.
    pub fn original_range(&self, match_range: Range<usize>) -> Range<usize> {
        let limit = self.decoded_len;
        let start_out = match_range.start.min(self.text.len());
        let end_out = match_range.end.min(self.text.len()).max(start_out);
        let start = self.map_start(start_out).min(limit);
        if end_out == start_out {
            return start..start;
        }
        let end = self.map_end(end_out).clamp(start, limit);
        start..end
    }

    /// Decoded offset where the match-text byte `off` starts.
    fn map_start(&self, off: usize) -> usize {
        let idx = self.segs.partition_point(|s| s.out as usize <= off);
        let Some(seg) = idx.checked_sub(1).and_then(|i| self.segs.get(i)) else {
            return if off >= self.text.len() {
                self.decoded_len
            } else {
                0
            };
        };
        if off >= self.text.len() {
            return seg.src_end as usize;
        }
        if seg.identity {
            (seg.src as usize + (off - seg.out as usize)).min(seg.src_end as usize)
        } else {
            seg.src as usize
        }
    }

    /// Decoded offset where the match-text bytes before `off` (exclusive) end.
    fn map_end(&self, off: usize) -> usize {
        let last = off.saturating_sub(1);
        let idx = self.segs.partition_point(|s| s.out as usize <= last);
        let Some(seg) = idx.checked_sub(1).and_then(|i| self.segs.get(i)) else {
            return 0;
        };
        if seg.identity {
            (seg.src as usize + (off - seg.out as usize)).min(seg.src_end as usize)
        } else {
            seg.src_end as usize
        }
    }

    fn clear(&mut self) {
        self.text.clear();
        self.segs.clear();
        self.urls.clear();
        self.phones.clear();
        self.decoded_len = 0;
    }

    /// Appends `c`, which came from decoded bytes `src`; `c` occupies as many bytes as its
    /// source, so offsets inside the stretch map one to one.
    fn push_same_len(&mut self, c: char, src: u32) {
        let out = offset(self.text.len());
        let src_end = src.saturating_add(c.len_utf8() as u32);
        self.text.push(c);
        if let Some(last) = self.segs.last_mut()
            && last.identity
            && last.src_end == src
        {
            last.src_end = src_end;
            return;
        }
        self.segs.push(Seg {
            out,
            src,
            src_end,
            identity: true,
        });
    }

    /// Appends `c`, which came from decoded bytes `start..end` of another length.
    fn push_mapped(&mut self, c: char, start: u32, end: u32) {
        map_seg(&mut self.segs, offset(self.text.len()), start, end);
        self.text.push(c);
    }

    /// Appends one unit of the general path.
    fn push_unit(&mut self, u: Unit) {
        if u.end.checked_sub(u.start) == Some(u.c.len_utf8() as u32) {
            self.push_same_len(u.c, u.start);
        } else {
            self.push_mapped(u.c, u.start, u.end);
        }
    }
}

/// Records that match-text bytes from `out` on come from decoded bytes `start..end` of
/// another length, extending the last stretch when it covers the same source.
fn map_seg(segs: &mut Vec<Seg>, out: u32, start: u32, end: u32) {
    if let Some(last) = segs.last()
        && !last.identity
        && last.src == start
        && last.src_end == end
    {
        return;
    }
    segs.push(Seg {
        out,
        src: start,
        src_end: end,
        identity: false,
    });
}

/// A text offset as stored in the map. Decoded SMS text is at most a few hundred KiB;
/// larger input saturates rather than wraps.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
