//! Per-character classification and folding tables used by both normalization paths.

use unicode_script::{Script, UnicodeScript};

use super::{digit_table, t2s_table};

/// `Default_Ignorable_Code_Point` (Unicode 16): zero-width, bidi controls, soft hyphen,
/// variation selectors, tags. Sorted, inclusive ranges.
static INVISIBLE: [(u32, u32); 15] = [
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
];

/// Whether `c` is invisible (a default-ignorable code point) and so dropped from the
/// match text.
pub(super) fn is_invisible(c: char) -> bool {
    let cp = u32::from(c);
    if cp < 0xAD {
        return false;
    }
    if (0xE0000..=0xE0FFF).contains(&cp) {
        return true;
    }
    INVISIBLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` is a Han ideograph (CJK Unified Ideographs and their extensions).
pub(super) fn is_han(c: char) -> bool {
    matches!(
        u32::from(c),
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0x20000..=0x2EE5F | 0x30000..=0x323AF
    )
}

/// Whether `c` is a Hangul conjoining jamo, which composes with its neighbours under NFKC
/// and so must never be joined to a neighbour by separator removal.
pub(super) fn is_hangul_jamo(c: char) -> bool {
    matches!(u32::from(c), 0x1100..=0x11FF | 0xA960..=0xA97F | 0xD7B0..=0xD7FF)
}

/// The Simplified form of a Traditional Chinese character, if it has one.
pub(super) fn t2s(c: char) -> Option<char> {
    let cp = u32::from(c);
    if (t2s_table::DENSE_LO..t2s_table::DENSE_HI).contains(&cp) {
        let off = (cp - t2s_table::DENSE_LO) as usize;
        let word = *t2s_table::BITMAP.get(off / 64)?;
        let bit = 1u64 << (off % 64);
        if word & bit == 0 {
            return None;
        }
        let before = (word & (bit - 1)).count_ones() as usize;
        let rank = usize::from(*t2s_table::RANK.get(off / 64)?);
        return t2s_table::TARGETS.get(rank + before).copied();
    }
    if cp < 0xF900 {
        return None;
    }
    t2s_table::EXTRA
        .binary_search_by_key(&c, |&(k, _)| k)
        .ok()
        .and_then(|i| t2s_table::EXTRA.get(i))
        .map(|&(_, v)| v)
}

/// The ASCII digit for a non-ASCII Unicode decimal digit (`Nd`), e.g. Arabic-Indic `٣` → `3`.
pub(super) fn nd_digit(c: char) -> Option<char> {
    let cp = u32::from(c);
    if cp < 0x660 {
        return None;
    }
    let i = match digit_table::DIGIT_ZEROS.binary_search(&cp) {
        Ok(i) => i,
        Err(0) => return None,
        Err(i) => i - 1,
    };
    let zero = *digit_table::DIGIT_ZEROS.get(i)?;
    let value = cp - zero;
    if value < 10 {
        char::from_digit(value, 10)
    } else {
        None
    }
}

/// The digit a Chinese numeral stands for inside a run of digits (`三` → `3`, `〇` → `0`).
pub(super) fn cn_numeral(c: char) -> Option<char> {
    Some(match c {
        '零' | '〇' => '0',
        '一' => '1',
        '二' => '2',
        '三' => '3',
        '四' => '4',
        '五' => '5',
        '六' => '6',
        '七' => '7',
        '八' => '8',
        '九' => '9',
        _ => return None,
    })
}

/// Whether `c` is part of a word for separator collapsing and confusable folding: letters
/// and digits other than Han (Han has its own rule) and Hangul jamo.
pub(super) fn is_token_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    !is_han(c) && !is_hangul_jamo(c) && c.is_alphanumeric()
}

/// Whether `c` belongs to a word for separator collapsing: a token character or Han.
pub(super) fn is_word_char(c: char) -> bool {
    is_token_char(c) || is_han(c)
}

/// Punctuation that normally sits between Han characters in running text (after NFKC,
/// fullwidth `，！？；：（）` are their ASCII forms): gaps holding one are text, not padding.
pub(super) fn is_sentence_punct(c: char) -> bool {
    matches!(
        c,
        ',' | '!'
            | '?'
            | ';'
            | ':'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '"'
            | '\''
            | '\n'
            | '\r'
            | '、'
            | '。'
            | '「'
            | '」'
            | '『'
            | '』'
            | '《'
            | '》'
            | '〈'
            | '〉'
            | '【'
            | '】'
            | '〔'
            | '〕'
            | '〖'
            | '〗'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '…'
            | '‧'
            | '·'
            | '—'
    )
}

/// Whether `c` may sit between letters as an inserted separator: anything that is not a
/// letter, digit, combining mark, Hangul jamo or replacement character.
pub(super) fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !c.is_ascii_alphanumeric();
    }
    !(is_han(c)
        || c.is_alphanumeric()
        || unicode_normalization::char::is_combining_mark(c)
        || is_hangul_jamo(c)
        || c == char::REPLACEMENT_CHARACTER
        || cn_numeral(c).is_some())
}

/// Whether combining marks after a base of this script are decoration (strike-through,
/// overlays, "Zalgo" stacks) rather than part of the writing system.
pub(super) fn marks_are_overlays(base: Option<char>) -> bool {
    match base {
        None => true,
        Some(b) => matches!(
            b.script(),
            Script::Latin | Script::Greek | Script::Cyrillic | Script::Common | Script::Inherited
        ),
    }
}

/// The ASCII look-alike of a non-ASCII letter, from the UTS #39 confusable prototypes, when
/// the prototype is one or two ASCII letters or digits (Cyrillic `С` → `c`).
pub(super) fn ascii_prototype(c: char, out: &mut [char; 2]) -> usize {
    let mut buf = [0u8; 4];
    let mut n = 0;
    for p in unicode_security::skeleton(c.encode_utf8(&mut buf)) {
        if !p.is_ascii_alphanumeric() || n == out.len() {
            return 0;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = p.to_ascii_lowercase();
        }
        n += 1;
    }
    n
}

/// Script classes that matter for confusable folding.
pub(super) fn is_confusable_script(c: char) -> bool {
    matches!(c.script(), Script::Cyrillic | Script::Greek | Script::Latin)
}

/// Top-level domains that turn `name dot com` or `name . com` into a host name.
const TLDS: [&[u8]; 60] = [
    b"com", b"net", b"org", b"info", b"biz", b"xyz", b"top", b"cn", b"hk", b"tw", b"mo", b"io",
    b"co", b"me", b"cc", b"ly", b"tk", b"ml", b"ga", b"cf", b"gq", b"vip", b"club", b"shop",
    b"site", b"online", b"app", b"link", b"live", b"pro", b"icu", b"cyou", b"buzz", b"uk", b"us",
    b"ru", b"in", b"sg", b"my", b"to", b"gl", b"gd", b"ws", b"be", b"la", b"ai", b"sh", b"so",
    b"de", b"fr", b"jp", b"kr", b"au", b"ca", b"edu", b"gov", b"mobi", b"asia", b"work", b"tv",
];

/// The lower-cased bytes of a label of up to seven bytes, packed into one integer (the
/// length in the top byte), so a label is looked up with one binary search.
const fn tld_key(label: &[u8]) -> Option<u64> {
    if label.len() > 7 {
        return None;
    }
    let mut key = (label.len() as u64) << 56;
    let mut k = 0;
    while k < label.len() {
        #[allow(clippy::indexing_slicing)] // ok: `k` runs below `label.len()`
        let b = label[k].to_ascii_lowercase();
        key |= (b as u64) << (8 * k);
        k += 1;
    }
    Some(key)
}

/// [`TLDS`] as sorted keys.
static TLD_KEYS: [u64; TLDS.len()] = tld_keys();

#[allow(clippy::indexing_slicing)] // ok: indices run below `TLDS.len()`
const fn tld_keys() -> [u64; TLDS.len()] {
    let mut keys = [0u64; TLDS.len()];
    let mut i = 0;
    while i < TLDS.len() {
        keys[i] = match tld_key(TLDS[i]) {
            Some(k) => k,
            None => 0,
        };
        // Insertion sort: 60 keys, at compile time.
        let mut j = i;
        while j > 0 && keys[j - 1] > keys[j] {
            let t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    keys
}

/// Whether `label` (ASCII, any case) is a well-known top-level domain.
pub(super) fn is_tld_bytes(label: &[u8]) -> bool {
    label.len() <= 6 && tld_key(label).is_some_and(|k| TLD_KEYS.binary_search(&k).is_ok())
}

/// Top-level domains that are also everyday words. After `. ` such a word usually starts
/// a sentence (`…your part. To see…`), so `name. to` becomes a host name only when a path
/// follows (`bit. to/x`); `name .to`, `name . to` and `name dot to` need no path.
const WORD_TLDS: [&[u8]; 27] = [
    b"ai", b"app", b"asia", b"be", b"buzz", b"club", b"co", b"in", b"info", b"la", b"link",
    b"live", b"me", b"mobi", b"my", b"online", b"pro", b"shop", b"site", b"so", b"to", b"top",
    b"tv", b"us", b"vip", b"work", b"ca",
];

/// Whether `label` (ASCII, any case), after `name. ` (spaces after the dot only), makes
/// `name` a host name: a top-level domain that is not an everyday word, or any top-level
/// domain when `path` (a `/` right after the label).
pub(super) fn joins_after_dot_space(label: &[u8], path: bool) -> bool {
    is_tld_bytes(label) && (path || !WORD_TLDS.iter().any(|w| label.eq_ignore_ascii_case(w)))
}

/// The ASCII bytes of a label of up to six characters held as characters.
fn label_bytes(label: &[char]) -> Option<([u8; 6], usize)> {
    let mut buf = [0u8; 6];
    if label.is_empty() || label.len() > buf.len() {
        return None;
    }
    for (slot, &c) in buf.iter_mut().zip(label) {
        if !c.is_ascii() {
            return None;
        }
        *slot = c as u8;
    }
    Some((buf, label.len()))
}

/// [`is_tld_bytes`] for a label held as characters.
pub(super) fn is_tld(label: &[char]) -> bool {
    label_bytes(label).is_some_and(|(b, n)| is_tld_bytes(b.get(..n).unwrap_or(&[])))
}

/// [`joins_after_dot_space`] for a label held as characters.
pub(super) fn joins_after_dot_space_chars(label: &[char], path: bool) -> bool {
    label_bytes(label).is_some_and(|(b, n)| joins_after_dot_space(b.get(..n).unwrap_or(&[]), path))
}
