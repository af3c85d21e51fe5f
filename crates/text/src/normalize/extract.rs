//! URLs, host names and phone numbers found in the match text, as separate fields rules can
//! match (a blocklist of domains, a blocklist of numbers).

use std::ops::Range;

use super::chars::is_tld_bytes;
use super::{Extracted, MatchText, NormalizeOptions};

/// Fills `out.urls` and `out.phones` from `out.text`.
pub(super) fn run(o: &NormalizeOptions, out: &mut MatchText) {
    if !o.extract_urls && !o.extract_phones {
        return;
    }
    let mut urls = std::mem::take(&mut out.urls);
    let mut phones = std::mem::take(&mut out.phones);
    let text = out.text.as_bytes();
    if o.extract_urls {
        url_spans(text, |at, end| {
            urls.push(out.original_range(at..end), at..end, |value| {
                if let Some(s) = out.text.get(at..end) {
                    value.push_str(s);
                    value.make_ascii_lowercase();
                }
            });
        });
    }
    if o.extract_phones && has_digits(text, 7) {
        phone_spans(text, urls.as_slice(), |range| {
            let digits = text.get(range.clone()).unwrap_or_default();
            phones.push(out.original_range(range.clone()), range, |value| {
                value.extend(
                    digits
                        .iter()
                        .filter(|b| b.is_ascii_digit())
                        .map(|&b| char::from(b)),
                );
            });
        });
    }
    out.urls = urls;
    out.phones = phones;
}

/// Calls `found(range)` for each phone number in `text` outside `urls`, in order.
///
/// Only a digit, `+` or `(` can start one, so the search jumps from one of those to the
/// next; and where none starts at a digit, none starts at the digits that follow it (a
/// number never starts right after a digit), so the rest of the digit run is skipped.
pub(super) fn phone_spans(text: &[u8], urls: &[Extracted], mut found: impl FnMut(Range<usize>)) {
    let mut i = 0;
    while let Some(at) = next_phone_start(text, i) {
        i = at;
        let inside_url = urls.iter().any(|u| u.match_range.contains(&i));
        if !inside_url && let Some(range) = phone_at(text, i) {
            i = range.end;
            found(range);
            continue;
        }
        i += 1;
        if text.get(i - 1).is_some_and(u8::is_ascii_digit) {
            while text.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
}

/// Calls `found(start, end)` for each URL or host name in `text`, in order: what
/// [`MatchText::urls`] holds, and what separator collapsing leaves alone.
pub(super) fn url_spans(text: &[u8], mut found: impl FnMut(usize, usize)) {
    // Every URL form this finds holds a dot: look around each dot only.
    let mut floor = 0;
    let mut search = 0;
    while let Some(dot) = text
        .get(search..)
        .and_then(|t| memchr::memchr(b'.', t))
        .map(|p| p + search)
    {
        search = dot + 1;
        // A URL through this dot goes on after it: a dot before a space or the end of
        // the text (a sentence's end) is no URL's first dot.
        if !text.get(dot + 1).is_some_and(|&b| is_url_byte(b)) {
            continue;
        }
        let mut start = dot;
        while start > floor && text.get(start - 1).is_some_and(|&b| is_url_byte(b)) {
            start -= 1;
        }
        let Some((at, end)) =
            (start..dot).find_map(|p| url_at(text, p).filter(|&end| end > dot).map(|end| (p, end)))
        else {
            continue;
        };
        found(at, end);
        floor = end;
        search = search.max(end);
    }
}

/// Whether `text` holds at least `n` ASCII digits. Counts in chunks small enough for byte
/// counters, which the compiler turns into vector code, and stops once `n` is reached.
fn has_digits(text: &[u8], n: usize) -> bool {
    let mut count = 0;
    for chunk in text.chunks(128) {
        let in_chunk = chunk.iter().fold(0u8, |k, &b| {
            k.wrapping_add(u8::from(b.wrapping_sub(b'0') < 10))
        });
        count += usize::from(in_chunk);
        if count >= n {
            return true;
        }
    }
    false
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Bytes that may appear in a URL, as a 128-bit set.
const URL_BYTES: u128 = url_bytes();

const fn url_bytes() -> u128 {
    let mut set = 0u128;
    let mut b = 0u8;
    while b < 128 {
        if b.is_ascii_alphanumeric() {
            set |= 1 << b;
        }
        b += 1;
    }
    let extra = b"-._~:/?#[]@!$&'*+,;=%";
    let mut k = 0;
    while k < extra.len() {
        #[allow(clippy::indexing_slicing)] // ok: `k` runs below `extra.len()`
        let b = extra[k];
        set |= 1 << b;
        k += 1;
    }
    set
}

fn is_url_byte(b: u8) -> bool {
    b < 128 && (URL_BYTES >> b) & 1 == 1
}

fn starts_with_ci(text: &[u8], at: usize, prefix: &[u8]) -> bool {
    text.get(at..at + prefix.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
}

/// The end of a URL or host name starting at `i`, if one does.
fn url_at(text: &[u8], i: usize) -> Option<usize> {
    let first = *text.get(i)?;
    if !first.is_ascii_alphanumeric() {
        return None;
    }
    let scheme = starts_with_ci(text, i, b"http://") || starts_with_ci(text, i, b"https://");
    let www = starts_with_ci(text, i, b"www.");
    // A scheme or `www.` starts a URL whatever is glued before it (`inbox:http://`,
    // `请点击http://`); a bare host starts at a word's start only (`file.txt` in `myfile.txt`).
    if !scheme
        && !www
        && let Some(p) = i.checked_sub(1).and_then(|p| text.get(p))
        && (is_host_byte(*p) || matches!(*p, b'.' | b'/' | b'@' | b':'))
    {
        return None;
    }
    let scan = |from: usize| {
        let mut e = from;
        while text.get(e).is_some_and(|&b| is_url_byte(b)) {
            e += 1;
        }
        e
    };
    let end = if scheme {
        let e = scan(i);
        // At least one character after the scheme.
        (e > i + 8 || (e > i + 7 && starts_with_ci(text, i, b"http://"))).then_some(e)?
    } else if www {
        let e = scan(i);
        (e > i + 4).then_some(e)?
    } else {
        bare_host(text, i).map(|host_end| match text.get(host_end) {
            Some(b'/' | b':' | b'?' | b'#') => scan(host_end),
            _ => host_end,
        })?
    };
    Some(trim_end(text, i, end))
}

/// A bare host name `label(.label)+` at `i` whose last label is a known TLD or is followed
/// by a path: the end of the host.
fn bare_host(text: &[u8], i: usize) -> Option<usize> {
    let mut e = i;
    let mut labels = 0;
    let mut last_label = i..i;
    loop {
        let start = e;
        while text.get(e).is_some_and(|&b| is_host_byte(b)) {
            e += 1;
        }
        if e == start {
            return None;
        }
        labels += 1;
        last_label = start..e;
        if text.get(e) == Some(&b'.') && text.get(e + 1).is_some_and(|&b| is_host_byte(b)) {
            e += 1;
            continue;
        }
        break;
    }
    if labels < 2 {
        return None;
    }
    let label = text.get(last_label)?;
    if !label.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let path = text.get(e) == Some(&b'/');
    (is_tld_bytes(label) || (path && (2..=6).contains(&label.len()))).then_some(e)
}

/// Drops trailing punctuation that ends a sentence rather than the URL.
fn trim_end(text: &[u8], start: usize, mut end: usize) -> usize {
    while end > start
        && text
            .get(end - 1)
            .is_some_and(|b| b".,;:!?'\"]*".contains(b))
    {
        end -= 1;
    }
    end
}

/// The first byte at or after `from` that can start a phone number: a digit, `+` or `(`.
/// Tested 32 bytes at a time without branching on each, which the compiler turns into
/// vector code; Chinese text holds long stretches of Han characters with no such byte.
fn next_phone_start(text: &[u8], from: usize) -> Option<usize> {
    let starts = |b: u8| (b.wrapping_sub(b'0') < 10) | (b == b'+') | (b == b'(');
    let rest = text.get(from..)?;
    let mut base = from;
    for chunk in rest.chunks(32) {
        if chunk.iter().fold(false, |any, &b| any | starts(b)) {
            return chunk.iter().position(|&b| starts(b)).map(|p| base + p);
        }
        base += chunk.len();
    }
    None
}

/// A phone number at `i`: 7 to 15 digits, optionally after `+`, with single spaces,
/// dashes, dots or parentheses between groups. Returns its match range (its digits are
/// the ASCII digits in it).
pub(super) fn phone_at(text: &[u8], i: usize) -> Option<Range<usize>> {
    let first = *text.get(i)?;
    let digit_start = if first == b'+' || first == b'(' {
        i + 1
    } else {
        i
    };
    if !text.get(digit_start)?.is_ascii_digit() {
        return None;
    }
    if let Some(p) = i.checked_sub(1).and_then(|p| text.get(p))
        && (p.is_ascii_alphanumeric() || matches!(*p, b'+' | b'.' | b'/' | b'-'))
    {
        return None;
    }
    let mut digits = 0usize;
    let mut e = digit_start;
    let mut last_digit_end = digit_start;
    loop {
        while text.get(e).is_some_and(u8::is_ascii_digit) {
            if digits > 15 {
                return None;
            }
            digits += 1;
            e += 1;
        }
        last_digit_end = last_digit_end.max(e);
        let mut s = e;
        while s < e + 2 && text.get(s).is_some_and(|b| b" -.()".contains(b)) {
            s += 1;
        }
        if s > e && text.get(s).is_some_and(u8::is_ascii_digit) {
            e = s;
            continue;
        }
        break;
    }
    if !(7..=15).contains(&digits) {
        return None;
    }
    if text
        .get(last_digit_end)
        .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    Some(i..last_digit_end)
}
