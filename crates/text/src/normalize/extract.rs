//! URLs, host names and phone numbers found in the match text, as separate fields rules can
//! match (a blocklist of domains, a blocklist of numbers).
//!
//! Links are found in two passes, both linear and without a regex engine:
//! - [`scheme_spans`]: every `http`/`https` scheme, also the mistyped and spaced forms
//!   senders use to slip past link filters (`http:/host`, `http:host`, `http//:host`,
//!   `http : // host`); the value is written with a proper `http://` or `https://`.
//! - [`link_spans`]: host names around each dot (`www.`, a known top-level domain, or a
//!   path), as [`url_spans`] finds them for separator collapsing, plus a host with a path
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
        let mut push = |link: Link| {
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
        // The two passes merged in text order; a link starting inside an earlier one is
        // part of it (`x.co/r?u=http://y.co`), and a scheme wins a tie with a bare host.
        let mut schemes = scheme_spans(text).peekable();
        let mut last_end = 0;
        link_spans(text, |start, end| {
            while let Some(s) = schemes.next_if(|s| s.start <= start) {
                if s.start >= last_end {
                    last_end = s.end;
                    push(s);
                }
            }
            if start >= last_end {
                last_end = end;
                push(Link::bare(start, end));
            }
        });
        for s in schemes {
            if s.start >= last_end {
                last_end = s.end;
                push(s);
            }
        }
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
pub(super) fn url_spans(text: &[u8], found: impl FnMut(usize, usize)) {
    host_spans(text, false, found);
}

/// Calls `found(start, end)` for each host name or URL that [`url_spans`] finds, and for
/// the glued and long-TLD hosts with a path it leaves to the collapsing rules: the bare
/// links of [`MatchText::urls`].
fn link_spans(text: &[u8], found: impl FnMut(usize, usize)) {
    host_spans(text, true, found);
}

/// The search behind [`url_spans`] and [`link_spans`]; `glued` admits the extra shapes.
fn host_spans(text: &[u8], glued: bool, mut found: impl FnMut(usize, usize)) {
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
        let Some((at, end)) = (start..dot).find_map(|p| {
            url_at(text, p, glued)
                .filter(|&end| end > dot)
                .map(|end| (p, end))
        }) else {
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

/// The end of a URL or host name starting at `i`, if one does; `glued` admits a host with
/// a path right after `:`, `/` or `@` and a path under any top-level domain of 2 to 12
/// letters.
fn url_at(text: &[u8], i: usize, glued: bool) -> Option<usize> {
    let first = *text.get(i)?;
    if !first.is_ascii_alphanumeric() {
        return None;
    }
    let scheme = starts_with_ci(text, i, b"http://") || starts_with_ci(text, i, b"https://");
    let www = starts_with_ci(text, i, b"www.");
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

/// The links of `text` that start with a scheme, in order: `http` or `https` (also
/// defanged `hxxp`), then `://`, or one of the forms senders garble it into so that link
/// filters miss it: white space around the colon and after the slashes (`http : // host`),
/// one slash or none (`http:/host`, `http:host`), or the colon after the slashes
/// (`http//:host`). The host must start with a letter, a digit or `@`. A link is written
/// with a proper scheme (`http://host`), and the search goes on after its end.
fn scheme_spans(text: &[u8]) -> impl Iterator<Item = Link> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(h) = text
            .get(from..)
            .and_then(|t| memchr::memchr2(b'h', b'H', t))
            .map(|p| p + from)
        {
            from = h + 1;
            if let Some(link) = scheme_at(text, h) {
                from = link.end;
                return Some(link);
            }
        }
        None
    })
}

/// A scheme link at `h` (see [`scheme_spans`]).
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
    if !at(host).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'@') {
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
            // no dot in the host: still a link, the scheme says so
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
        link_spans(b"details:tiny.example/r9", |s, e| found.push((s, e)));
        assert_eq!(found, vec![(8, 23)]);
    }

    proptest! {
        #[test]
        fn link_search_is_total_and_ordered(text in "[a-z0-9 :/@.hxtps\\t-]{0,64}") {
            let bytes = text.as_bytes();
            let mut last = 0;
            for link in scheme_spans(bytes) {
                prop_assert!(link.start >= last && link.start < link.rest && link.rest < link.end);
                prop_assert!(link.end <= bytes.len());
                last = link.end;
            }
            let mut last = 0;
            link_spans(bytes, |s, e| {
                assert!(s >= last && s < e && e <= bytes.len());
                last = e;
            });
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
