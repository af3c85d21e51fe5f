//! Block and allow lists: domains, phone numbers and sender IDs, loaded from plain files of
//! up to millions of entries and matched by hash lookup.
//!
//! A hash set beats a Hyperscan literal database here: the values tested are few per
//! message (the extracted URLs' hosts, the phone numbers, the sender), each lookup is a
//! hash and a compare, and building a set of a million entries takes a fraction of a
//! second where compiling a literal database of that size takes minutes
//! (`docs/performance.md`, section Filter).
//!
//! File format: one entry per line; blank lines and lines starting with `#` are ignored;
//! anything after ` #` is a comment.

use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::path::Path;

use serde::Deserialize;

use crate::error::{Diagnostic, Location, Problem};
use crate::model::Field;

/// What a list holds, which decides how entries and values are normalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// Host names; an entry also matches every subdomain (`bit.ly` matches `x.bit.ly`).
    Domain,
    /// Phone numbers, compared as their digits only (`+886 912-345-678` = `886912345678`).
    Phone,
    /// Sender IDs (source_addr), compared ASCII case-insensitively.
    Sender,
}

impl ListKind {
    /// The word used in the pack.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Domain => "domain",
            Self::Phone => "phone",
            Self::Sender => "sender",
        }
    }

    /// The field a list pattern of this kind matches when it names none.
    pub(crate) fn default_field(self) -> Field {
        match self {
            Self::Domain => Field::Domain,
            Self::Phone => Field::Phone,
            Self::Sender => Field::SourceAddr,
        }
    }

    /// Whether values of `field` can be looked up in a list of this kind.
    pub(crate) fn accepts(self, field: Field) -> bool {
        match self {
            Self::Domain => field == Field::Domain,
            Self::Phone => matches!(
                field,
                Field::Phone | Field::SourceAddr | Field::DestinationAddr
            ),
            Self::Sender => field == Field::SourceAddr,
        }
    }
}

/// Longest entry accepted (a DNS name is at most 253 bytes).
const MAX_ENTRY: usize = 253;
/// Longest line read from a list file, comments included.
const MAX_LINE: u64 = 4096;
/// Largest list file read (tens of millions of entries).
const MAX_FILE: u64 = 4 << 30;
/// Bad lines reported before a list file is abandoned.
const MAX_DIAGNOSTICS: usize = 20;

/// Normalizes one entry for storage; `Err` says why it is rejected.
pub(crate) fn normalize_entry(kind: ListKind, raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("empty entry");
    }
    if raw.len() > MAX_ENTRY {
        return Err("longer than 253 bytes");
    }
    match kind {
        ListKind::Domain => {
            let d = raw.strip_prefix("*.").unwrap_or(raw);
            let d = d.strip_suffix('.').unwrap_or(d);
            if d.is_empty() || d.starts_with('.') || d.contains("..") {
                return Err("not a host name");
            }
            if d.chars()
                .any(|c| c.is_whitespace() || matches!(c, '/' | ':' | '@' | '?' | '#'))
            {
                return Err("a host name only, without scheme, port or path");
            }
            Ok(d.to_lowercase())
        }
        ListKind::Phone => {
            let mut digits = String::with_capacity(raw.len());
            for c in raw.chars() {
                match c {
                    '0'..='9' => digits.push(c),
                    '+' | ' ' | '-' | '(' | ')' | '.' => {}
                    _ => return Err("only digits, spaces and + - ( ) . are allowed"),
                }
            }
            if !(3..=20).contains(&digits.len()) {
                return Err("a phone number has 3 to 20 digits");
            }
            Ok(digits)
        }
        ListKind::Sender => {
            if raw.len() > 64 {
                return Err("a sender ID is at most 64 bytes");
            }
            Ok(raw.to_ascii_lowercase())
        }
    }
}

/// A loaded list.
#[derive(Debug)]
pub(crate) struct List {
    pub(crate) name: String,
    pub(crate) kind: ListKind,
    set: HashSet<Box<str>, crate::FastHash>,
}

// === impl List ===

impl List {
    pub(crate) fn new(name: String, kind: ListKind) -> Self {
        Self {
            name,
            kind,
            set: HashSet::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn insert(&mut self, entry: String) {
        self.set.insert(entry.into_boxed_str());
    }

    /// Adds inline entries; problems are reported at `at`.
    pub(crate) fn add_entries(
        &mut self,
        entries: &[String],
        at: &Location,
        out: &mut Vec<Diagnostic>,
    ) {
        for e in entries {
            match normalize_entry(self.kind, e) {
                Ok(v) => self.insert(v),
                Err(reason) => out.push(Diagnostic {
                    location: at.clone(),
                    rule: None,
                    pattern: None,
                    problem: Problem::ListEntry {
                        kind: self.kind.as_str(),
                        reason,
                    },
                }),
            }
        }
    }

    /// Reads entries from a file. A wrong file (a binary, a device) must not run away:
    /// after [`MAX_DIAGNOSTICS`] bad lines, a line longer than [`MAX_LINE`] or
    /// [`MAX_FILE`] bytes the file is abandoned with an error.
    pub(crate) fn add_file(&mut self, path: &Path, out: &mut Vec<Diagnostic>) -> Option<u64> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                out.push(Diagnostic {
                    location: Location::file(path),
                    rule: None,
                    pattern: None,
                    problem: Problem::Read(e.to_string()),
                });
                return None;
            }
        };
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file.take(MAX_FILE));
        let mut line = Vec::new();
        let mut line_no = 0usize;
        let mut reported = 0usize;
        let mut total = 0u64;
        let mut digest = crate::digest::Fnv64::new();
        loop {
            line.clear();
            match (&mut reader)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut line)
            {
                Ok(0) => break,
                Ok(n) if n as u64 > MAX_LINE && line.last() != Some(&b'\n') => {
                    out.push(self.entry_problem(path, line_no + 1, "line longer than 4096 bytes"));
                    return None;
                }
                Ok(n) => total += n as u64,
                Err(e) => {
                    out.push(Diagnostic {
                        location: Location {
                            file: path.to_path_buf(),
                            line: line_no + 1,
                            column: 0,
                        },
                        rule: None,
                        pattern: None,
                        problem: Problem::Read(e.to_string()),
                    });
                    return None;
                }
            }
            line_no += 1;
            digest.write(&line);
            let text = match std::str::from_utf8(&line) {
                Ok(t) => t,
                Err(_) => {
                    reported += 1;
                    out.push(self.entry_problem(path, line_no, "not UTF-8"));
                    if reported >= MAX_DIAGNOSTICS {
                        return None;
                    }
                    continue;
                }
            };
            let text = match text.find(" #") {
                Some(i) => text.get(..i).unwrap_or(text),
                None => text,
            };
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            match normalize_entry(self.kind, text) {
                Ok(v) => self.insert(v),
                Err(reason) => {
                    reported += 1;
                    out.push(self.entry_problem(path, line_no, reason));
                }
            }
            if reported >= MAX_DIAGNOSTICS {
                return None;
            }
        }
        if total >= MAX_FILE {
            out.push(self.entry_problem(path, line_no, "file larger than 4 GiB"));
            return None;
        }
        Some(digest.finish())
    }

    fn entry_problem(&self, path: &Path, line: usize, reason: &'static str) -> Diagnostic {
        Diagnostic {
            location: Location {
                file: path.to_path_buf(),
                line,
                column: 0,
            },
            rule: None,
            pattern: None,
            problem: Problem::ListEntry {
                kind: self.kind.as_str(),
                reason,
            },
        }
    }

    /// Whether `value` (a field value, not yet normalized) is in the list. `buf` is a
    /// reusable buffer so the lookup does not allocate.
    pub(crate) fn contains(&self, value: &str, buf: &mut String) -> bool {
        buf.clear();
        match self.kind {
            ListKind::Domain => {
                buf.extend(value.chars().map(|c| c.to_ascii_lowercase()));
                let mut host: &str = buf.strip_suffix('.').unwrap_or(buf);
                loop {
                    if self.set.contains(host) {
                        return true;
                    }
                    match host.split_once('.') {
                        Some((_, parent)) if !parent.is_empty() => host = parent,
                        _ => return false,
                    }
                }
            }
            ListKind::Phone => {
                buf.extend(value.chars().filter(char::is_ascii_digit));
                !buf.is_empty() && self.set.contains(buf.as_str())
            }
            ListKind::Sender => {
                buf.extend(value.trim().chars().map(|c| c.to_ascii_lowercase()));
                self.set.contains(buf.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(kind: ListKind, entries: &[&str]) -> List {
        let mut l = List::new("t".into(), kind);
        let mut out = Vec::new();
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        l.add_entries(&entries, &Location::file(Path::new("t")), &mut out);
        assert!(out.is_empty(), "{out:?}");
        l
    }

    #[test]
    fn domains_match_subdomains_not_lookalikes() {
        let l = list(
            ListKind::Domain,
            &["bit.ly", "*.Evil.Example.", "xn--80ak6aa92e.com"],
        );
        let mut b = String::new();
        assert!(l.contains("bit.ly", &mut b));
        assert!(l.contains("WWW.BIT.LY", &mut b));
        assert!(l.contains("a.b.evil.example", &mut b));
        assert!(l.contains("evil.example.", &mut b));
        assert!(l.contains("xn--80ak6aa92e.com", &mut b));
        assert!(!l.contains("notbit.ly", &mut b));
        assert!(!l.contains("bit.ly.com", &mut b));
        assert!(!l.contains("ly", &mut b));
        assert!(!l.contains("", &mut b));
    }

    #[test]
    fn phones_compare_digits() {
        let l = list(ListKind::Phone, &["+886 912-345-678", "(02) 2345.6789"]);
        let mut b = String::new();
        assert!(l.contains("886912345678", &mut b));
        assert!(l.contains("+886-912 345 678", &mut b));
        assert!(l.contains("0223456789", &mut b));
        assert!(!l.contains("912345678", &mut b));
        assert!(!l.contains("no digits", &mut b));
    }

    #[test]
    fn senders_are_case_insensitive() {
        let l = list(ListKind::Sender, &["MyBank", " 12345 "]);
        let mut b = String::new();
        assert!(l.contains("MYBANK", &mut b));
        assert!(l.contains("12345", &mut b));
        assert!(!l.contains("MyBank2", &mut b));
    }

    #[test]
    fn bad_entries_are_rejected_with_a_reason() {
        assert!(normalize_entry(ListKind::Domain, "http://x.com").is_err());
        assert!(normalize_entry(ListKind::Domain, "a..b").is_err());
        assert!(normalize_entry(ListKind::Domain, "").is_err());
        assert!(normalize_entry(ListKind::Phone, "12").is_err());
        assert!(normalize_entry(ListKind::Phone, "12ab345").is_err());
        assert!(normalize_entry(ListKind::Sender, &"x".repeat(65)).is_err());
        assert!(normalize_entry(ListKind::Domain, &"a".repeat(300)).is_err());
    }

    #[test]
    fn file_loading_reports_lines_and_skips_comments() {
        let dir = std::env::temp_dir().join(format!("smppguard-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.txt");
        std::fs::write(&path, "# comment\n\nbit.ly  # shortener\nbad/entry\nt.co\n").unwrap();
        let mut l = List::new("d".into(), ListKind::Domain);
        let mut out = Vec::new();
        assert!(l.add_file(&path, &mut out).is_some());
        assert_eq!(l.len(), 2);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].location.line, 4);
        // A file without line breaks (think /dev/zero) is abandoned, not read forever.
        let long = dir.join("long.txt");
        std::fs::write(&long, vec![b'a'; 10_000]).unwrap();
        let mut out = Vec::new();
        assert!(l.add_file(&long, &mut out).is_none());
        assert_eq!(out.len(), 1);
        // Too many bad lines: abandoned after MAX_DIAGNOSTICS.
        let bad = dir.join("bad.txt");
        std::fs::write(&bad, "a b\n".repeat(1000)).unwrap();
        let mut out = Vec::new();
        assert!(l.add_file(&bad, &mut out).is_none());
        assert_eq!(out.len(), MAX_DIAGNOSTICS);
        let missing = dir.join("missing.txt");
        let mut out = Vec::new();
        assert!(l.add_file(&missing, &mut out).is_none());
        assert!(matches!(out[0].problem, Problem::Read(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
