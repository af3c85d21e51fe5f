//! URLs, host names and phone numbers found in the match text, as separate fields rules can
//! match (a blocklist of domains, a blocklist of numbers).
//!
//! Links are found around each dot, in one linear pass without a regex engine:
//! - [`url_spans`], which separator collapsing follows: links around each dot (a scheme,
//!   `www.`, a known top-level domain, or a path).
//! - [`link_spans`], what [`MatchText::urls`] holds: the same, plus the mistyped and spaced
//!   `http`/`https` schemes senders use to slip past link filters (`http:/host`,
//!   `http:host`, `http//:host`, `http : // host`), written with a proper scheme, and a host with a path
//!   glued to a colon, slash or `@` (`details:tiny.example/x`, `//@short.example/x`) and a
//!   host with a path under any top-level domain of 2 to 12 letters.

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
        let push = |link: Link| {
            urls.push(
                out.original_range(link.start..link.end),
                link.start..link.end,
                |value| {
                    if let Some(scheme) = link.scheme {
                        value.push_str(scheme);
                    }
                    if let Some(s) = out.text.get(link.rest..link.end) {
                        value.push_str(s);
                        value.make_ascii_lowercase();
                    }
                },
            );
        };
        link_spans(text, push);
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

/// A link found in the match text: `start..end`, written as `scheme` (when the text's own
/// scheme was mistyped, spaced or defanged) followed by the text from `rest` to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Link {
    start: usize,
    rest: usize,
    end: usize,
    scheme: Option<&'static str>,
}

impl Link {
    /// A link written exactly as the text has it.
    fn bare(start: usize, end: usize) -> Self {
        Link {
            start,
            rest: start,
            end,
            scheme: None,
        }
    }
}

/// Calls `found(start, end)` for each URL or host name in `text`, in order: what
/// separator collapsing leaves alone.
pub(super) fn url_spans(text: &[u8], mut found: impl FnMut(usize, usize)) {
    host_spans(text, false, |link| found(link.start, link.end));
}

/// Calls `found` for each link of [`MatchText::urls`], in order: what [`url_spans`] finds,
/// the glued and long-TLD hosts with a path it leaves to the collapsing rules, and the
/// garbled schemes of [`scheme_at`] that hold a dot or a slash. A link that starts inside an
/// earlier one is part of it (`x.co/r?u=http://y.co`); a garbled scheme wins over a host
/// that starts at or after it.
fn link_spans(text: &[u8], found: impl FnMut(Link)) {
    host_spans(text, true, found);
}

/// The search behind [`url_spans`] and [`link_spans`]; `glued` admits the extra shapes.
fn host_spans(text: &[u8], glued: bool, mut found: impl FnMut(Link)) {
    // Every URL form this finds holds a dot: look around each dot only; with `glued`, also
    // around each slash, which a garbled scheme's host may hold instead (`http:host/x`).
    let mut floor = 0;
    let mut search = 0;
    while let Some(dot) = text
        .get(search..)
        .and_then(|t| {
            if glued {
                memchr::memchr2(b'.', b'/', t)
            } else {
                memchr::memchr(b'.', t)
            }
        })
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
        let bare = (start..dot).find_map(|p| {
            url_at(text, p, glued)
                .filter(|&end| end > dot)
                .map(|end| Link::bare(p, end))
        });
        // A garbled scheme starts at most 11 bytes before the host (`https : // host`),
        // which starts at or after `start`, and must not start after the bare host.
        let garbled = || {
            let until = bare.map_or(dot, |b| b.start + 1);
            (start.saturating_sub(11).max(floor)..until)
                .filter(|&h| text.get(h).is_some_and(|&b| b | 0x20 == b'h'))
                .find_map(|h| scheme_at(text, h).filter(|l| l.end > dot))
        };
        let Some(link) = glued.then(garbled).flatten().or(bare) else {
            continue;
        };
        found(link);
        floor = link.end;
        search = search.max(link.end);
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

/// Bytes that may appear in a URL, as a table indexed by the byte: one load per byte
/// where URLs are scanned.
static URL_BYTES: [bool; 256] = url_bytes();

const fn url_bytes() -> [bool; 256] {
    let mut set = [false; 256];
    let mut b = 0u8;
    while b < 128 {
        #[allow(clippy::indexing_slicing)] // ok: a `u8` is below 256
        if b.is_ascii_alphanumeric() {
            set[b as usize] = true;
        }
        b += 1;
    }
    let extra = b"-._~:/?#[]@!$&'*+,;=%";
    let mut k = 0;
    while k < extra.len() {
        #[allow(clippy::indexing_slicing)] // ok: `k` runs below `extra.len()`, a `u8` below 256
        {
            set[extra[k] as usize] = true;
        }
        k += 1;
    }
    set
}

fn is_url_byte(b: u8) -> bool {
    URL_BYTES.get(usize::from(b)).copied().unwrap_or(false)
}

fn starts_with_ci(text: &[u8], at: usize, prefix: &[u8]) -> bool {
    text.get(at..at + prefix.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
}

/// The end of a URL or host name starting at `i`, if one does; `glued` admits a host with
/// a path right after `:`, `/` or `@` and a path under any top-level domain of 2 to 12
/// letters.
fn url_at(text: &[u8], i: usize, glued: bool) -> Option<usize> {
    let first = *text.get(i)?;
    if !first.is_ascii_alphanumeric() {
        return None;
    }
    let lower = first | 0x20;
    let scheme = lower == b'h'
        && (starts_with_ci(text, i, b"http://") || starts_with_ci(text, i, b"https://"));
    let www = lower == b'w' && starts_with_ci(text, i, b"www.");
    // A scheme or `www.` starts a URL whatever is glued before it (`inbox:http://`,
    // `请点击http://`); a bare host starts at a word's start only (`file.txt` in `myfile.txt`),
    // or, with `glued`, right after a colon, slash or `@` when a path follows.
    let mut glued_path_only = false;
    if !scheme
        && !www
        && let Some(&p) = i.checked_sub(1).and_then(|p| text.get(p))
    {
        if glued && matches!(p, b'/' | b'@' | b':') {
            glued_path_only = true;
        } else if is_host_byte(p) || matches!(p, b'.' | b'/' | b'@' | b':') {
            return None;
        }
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
        let host_end = match bare_host(text, i) {
            Some(host_end) if !glued_path_only || has_path(text, host_end) => host_end,
            // A host with a path under a top-level domain of 7 to 12 letters, or glued.
            _ if glued => long_tld_host(text, i).filter(|&e| has_path(text, e))?,
            _ => return None,
        };
        match text.get(host_end) {
            Some(b'/' | b':' | b'?' | b'#') => scan(host_end),
            _ => host_end,
        }
    };
    Some(trim_end(text, i, end))
}

/// Whether a path starts at `at`: a slash and a letter, digit or one of `?=_#~-`.
fn has_path(text: &[u8], at: usize) -> bool {
    text.get(at) == Some(&b'/')
        && text
            .get(at + 1)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b"?=_#~-".contains(&b))
}

/// A host name `label(.label)+` at `i` whose last label is 2 to 12 ASCII letters: the end
/// of the host. Only for hosts a path follows (checked by the caller).
fn long_tld_host(text: &[u8], i: usize) -> Option<usize> {
    let (end, last_label, labels) = host_labels(text, i)?;
    let label = text.get(last_label)?;
    (labels >= 2 && (2..=12).contains(&label.len()) && label.iter().all(u8::is_ascii_alphabetic))
        .then_some(end)
}

/// The labels of a host name at `i`: its end, its last label's range, and the number of
/// labels.
fn host_labels(text: &[u8], i: usize) -> Option<(usize, Range<usize>, usize)> {
    let mut e = i;
    let mut labels = 0;
    loop {
        let start = e;
        while text.get(e).is_some_and(|&b| is_host_byte(b)) {
            e += 1;
        }
        if e == start {
            return None;
        }
        labels += 1;
        if text.get(e) == Some(&b'.') && text.get(e + 1).is_some_and(|&b| is_host_byte(b)) {
            e += 1;
            continue;
        }
        return Some((e, start..e, labels));
    }
}

/// A bare host name `label(.label)+` at `i` whose last label is a known TLD or is followed
/// by a path: the end of the host.
fn bare_host(text: &[u8], i: usize) -> Option<usize> {
    let (e, last_label, labels) = host_labels(text, i)?;
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

/// A link at `h` whose scheme, `http` or `https` (also defanged `hxxp`), is garbled so
/// that link filters miss it: white space around the colon and after the slashes
/// (`http : // host`), one slash or none (`http:/host`, `http:host`), or the colon after
/// the slashes (`http//:host`). The host must start with a letter, a digit or `@`. The
/// link is written with a proper scheme (`http://host`). A proper `http://host` is not
/// garbled: the host search finds it.
fn scheme_at(text: &[u8], h: usize) -> Option<Link> {
    let word = text.get(h..h + 4)?;
    if !(word.eq_ignore_ascii_case(b"http") || word.eq_ignore_ascii_case(b"hxxp")) {
        return None;
    }
    let mut e = h + 4;
    let secure = text.get(e).is_some_and(|b| b.eq_ignore_ascii_case(&b's'));
    if secure {
        e += 1;
    }
    let at = |k: usize| text.get(k).copied();
    let white = |k: usize| at(k).is_some_and(|b| b == b' ' || (b'\t'..=b'\r').contains(&b));
    let slashes = |mut k: usize, max: usize| {
        let from = k;
        while k < from + max && at(k) == Some(b'/') {
            k += 1;
        }
        k
    };
    // Where the forms without a colon first, or without a slash, start: a word's start.
    let word_start = h
        .checked_sub(1)
        .and_then(&at)
        .is_none_or(|b| !(b.is_ascii_alphanumeric() || b == b'_'));
    let host = if at(e) == Some(b'/') && word_start {
        // `http//:host`, `http/:/host`
        let k = slashes(e, 2);
        (at(k) == Some(b':')).then(|| slashes(k + 1, 2))?
    } else {
        // `http://host`, with white space around the colon and after the slashes, or one
        // slash; `http:host` with no white space and no slash.
        let mut k = e + usize::from(white(e));
        if at(k) != Some(b':') {
            return None;
        }
        k += 1;
        let spaced = white(k) || k > e + 1;
        k += usize::from(white(k));
        let after = slashes(k, 2);
        if after == k && (spaced || !word_start) {
            return None;
        }
        after + usize::from(white(after) && after > k)
    };
    // A proper `http://host` is the host search's (its host holds a dot).
    if !at(host).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'@')
        || (host == e + 3 && text.get(e..host) == Some(b"://"))
    {
        return None;
    }
    let mut end = host;
    while at(end).is_some_and(is_url_byte) {
        end += 1;
    }
    let end = trim_end(text, host, end);
    (end > host).then_some(Link {
        start: h,
        rest: host,
        end,
        scheme: Some(if secure { "https://" } else { "http://" }),
    })
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
/// Tested in blocks of 32 bytes without branching on each, which the compiler turns into
/// vector code (a block of fixed length: no per-byte loop bounds); Chinese text holds
/// long stretches of Han characters with no such byte.
fn next_phone_start(text: &[u8], from: usize) -> Option<usize> {
    let rest = text.get(from..)?;
    let (blocks, tail) = rest.as_chunks::<32>();
    let mut base = from;
    for block in blocks {
        if block
            .iter()
            .fold(0u8, |any, &b| any | u8::from(starts_phone(b)))
            != 0
        {
            return block
                .iter()
                .position(|&b| starts_phone(b))
                .map(|p| base + p);
        }
        base += block.len();
    }
    tail.iter().position(|&b| starts_phone(b)).map(|p| base + p)
}

/// Whether a phone number can start with `b`: a digit, `+` or `(`.
fn starts_phone(b: u8) -> bool {
    (b.wrapping_sub(b'0') < 10) | (b == b'+') | (b == b'(')
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{NormalizeOptions, Normalizer};
    use super::*;

    /// The URL values extracted from `text`, each with the text its match range covers.
    fn links(text: &str) -> Vec<(String, String)> {
        let m = Normalizer::new(NormalizeOptions::default()).normalize(text);
        m.urls()
            .iter()
            .map(|u| {
                let quoted = m.as_str().get(u.match_range.clone()).unwrap_or_default();
                (u.value.clone(), quoted.to_owned())
            })
            .collect()
    }

    fn values(text: &str) -> Vec<String> {
        links(text).into_iter().map(|(v, _)| v).collect()
    }

    #[test]
    fn garbled_schemes_are_links_written_with_a_proper_scheme() {
        for (text, value, quoted) in [
            ("go http:/bit.ly/x now", "http://bit.ly/x", "http:/bit.ly/x"),
            ("go http:bit.ly now", "http://bit.ly", "http:bit.ly"),
            (
                "fix it at http//:card-help.example",
                "http://card-help.example",
                "http//:card-help.example",
            ),
            (
                "visit http : // pay-now.example/a",
                "http://pay-now.example/a",
                "http : // pay-now.example/a",
            ),
            (
                "visit https:// pay-now.example/a.",
                "https://pay-now.example/a",
                "https:// pay-now.example/a",
            ),
            (
                "x https ://evil.example/a",
                "https://evil.example/a",
                "https ://evil.example/a",
            ),
            (
                "open:http://@risu.example/b",
                "http://@risu.example/b",
                "http://@risu.example/b",
            ),
            (
                "hxxp:/risu.example/b",
                "http://risu.example/b",
                "http:/risu.example/b",
            ),
            // a slash instead of a dot
            (
                "log in via http:owly/npy3",
                "http://owly/npy3",
                "http:owly/npy3",
            ),
            (
                "http://localhost/x",
                "http://localhost/x",
                "http://localhost/x",
            ),
        ] {
            assert_eq!(
                links(text),
                [(value.to_owned(), quoted.to_owned())],
                "{text}"
            );
        }
    }

    #[test]
    fn words_that_only_look_like_a_scheme_are_not_links() {
        for text in [
            "the http protocol",
            "http: the protocol",
            "http : / / x",
            "thehttp:bit",
            "https: //",
            "http:/",
            "shttp//:x",
            // neither a dot nor a slash
            "http:owly now",
        ] {
            assert!(
                links(text).iter().all(|(v, _)| !v.starts_with("http")),
                "{text}: {:?}",
                links(text)
            );
        }
    }

    #[test]
    fn hosts_with_a_path_glued_to_punctuation_are_links() {
        for (text, value) in [
            ("details:tiny.example/r9", "tiny.example/r9"),
            ("click here> //sl.ut.ac.id/abcd", "sl.ut.ac.id/abcd"),
            ("renew now //@short.io/b10sz o", "short.io/b10sz"),
            ("renew now // @shrt.de/nl1 o", "shrt.de/nl1"),
            ("news:holdadorn.com/ok2", "holdadorn.com/ok2"),
            // a top-level domain of 7 to 12 letters with a path
            ("see pay-desk.lottery/x1", "pay-desk.lottery/x1"),
        ] {
            assert_eq!(values(text), [value.to_owned()], "{text}");
        }
        // Without a path a glued host is still no link, and a long unknown top-level
        // domain needs one too.
        for text in [
            "ref:abc.xyz-1/2",
            "ratio:sales.team",
            "user@mail.example",
            "see pay-desk.lottery now",
            "a//b.cd/",
        ] {
            assert!(values(text).is_empty(), "{text}: {:?}", values(text));
        }
    }

    #[test]
    fn a_link_inside_another_is_part_of_it() {
        assert_eq!(
            values("x:https://a.co/r?u=http://b.co/s"),
            ["https://a.co/r?u=http://b.co/s"]
        );
        assert_eq!(
            values("go http:/a.co/x and b.co/y"),
            ["http://a.co/x", "b.co/y"]
        );
        assert_eq!(values("see a.co/r?u=http:b.co"), ["a.co/r?u=http:b.co"]);
    }

    #[test]
    fn separator_collapsing_keeps_its_narrower_view() {
        // `url_spans`, which separator collapsing follows, does not take the glued shapes.
        let mut found = Vec::new();
        url_spans(b"details:tiny.example/r9", |s, e| found.push((s, e)));
        assert!(found.is_empty());
        assert_eq!(link_list(b"details:tiny.example/r9"), [Link::bare(8, 23)]);
    }

    /// Garbled scheme links found by trying [`scheme_at`] at every byte that hold a dot or a
    /// slash followed by a URL byte (every link's shape).
    fn schemes_at_every_byte(text: &[u8]) -> Vec<Link> {
        let mut found = Vec::new();
        let mut h = 0;
        while h < text.len() {
            let dotted = |l: &Link| {
                (l.start..l.end).any(|d| {
                    matches!(text.get(d), Some(b'.' | b'/'))
                        && text.get(d + 1).is_some_and(|&b| is_url_byte(b))
                })
            };
            match scheme_at(text, h).filter(dotted) {
                Some(link) => {
                    h = link.end;
                    found.push(link);
                }
                None => h += 1,
            }
        }
        found
    }

    /// The phone start search as a plain scan, the reference for the blocked one.
    fn next_phone_start_reference(text: &[u8], from: usize) -> Option<usize> {
        let at = text.get(from..)?.iter().position(|&b| starts_phone(b))?;
        Some(from + at)
    }

    /// Every byte value against the set of URL bytes written out: the table lookup that
    /// replaced a 128-bit set must say the same for all 256.
    #[test]
    fn the_url_byte_table_is_the_url_byte_set() {
        let set: Vec<u8> = (0..=255u8).filter(|&b| is_url_byte(b)).collect();
        let mut expected: Vec<u8> = b"-._~:/?#[]@!$&'*+,;=%".to_vec();
        expected.extend((b'0'..=b'9').chain(b'a'..=b'z').chain(b'A'..=b'Z'));
        expected.sort_unstable();
        assert_eq!(set, expected);
    }

    fn link_list(text: &[u8]) -> Vec<Link> {
        let mut links = Vec::new();
        link_spans(text, |l| links.push(l));
        links
    }

    proptest! {
        #[test]
        fn every_garbled_scheme_is_found_or_inside_a_link(
            text in "(http|https|hxxp|[ :/@.a-z0-9\\t]){0,24}"
        ) {
            let bytes = text.as_bytes();
            let links = link_list(bytes);
            for g in schemes_at_every_byte(bytes) {
                prop_assert!(
                    links.iter().any(|l| (l.start..l.end).contains(&g.start)),
                    "{:?} not found in {:?}", g, links
                );
            }
            for l in &links {
                if l.scheme.is_some() {
                    prop_assert_eq!(Some(*l), scheme_at(bytes, l.start));
                }
            }
        }

        #[test]
        fn phone_start_search_matches_the_reference(
            text in "([a-z +(.-]|[0-9]|网){0,100}",
            from in 0usize..120,
        ) {
            let bytes = text.as_bytes();
            prop_assert_eq!(
                next_phone_start(bytes, from),
                next_phone_start_reference(bytes, from)
            );
        }

        #[test]
        fn link_search_is_total_and_ordered(text in "[a-z0-9 :/@.hxtps\\t-]{0,64}") {
            let bytes = text.as_bytes();
            let mut last = 0;
            for link in link_list(bytes) {
                prop_assert!(link.start >= last && link.start <= link.rest && link.rest < link.end);
                prop_assert!(link.end <= bytes.len());
                last = link.end;
            }
            let m = Normalizer::new(NormalizeOptions::default()).normalize(&text);
            let mut last = 0;
            for u in m.urls() {
                prop_assert!(u.match_range.start >= last);
                prop_assert!(m.as_str().get(u.match_range.clone()).is_some());
                last = u.match_range.end;
            }
        }
    }
}
