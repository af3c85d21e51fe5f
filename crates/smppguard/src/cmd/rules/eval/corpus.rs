//! Labelled corpora: `label<TAB>text` lines, UTF-8, with `\\`, `\t`, `\n` and `\r`
//! escaped inside the text, read one record at a time.

use std::borrow::Cow;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Longest label accepted, in bytes; labels become table rows and JSON keys.
const MAX_LABEL: usize = 32;

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// 1-based line number in the file.
    pub(super) line: u64,
    pub(super) label: String,
    /// The message text, unescaped.
    pub(super) text: String,
}

/// A corpus line that cannot be read; the message text is never quoted.
#[derive(Debug, thiserror::Error)]
pub(super) enum CorpusError {
    /// The file could not be read.
    #[error("{}: read failed", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The line is not UTF-8.
    #[error("{}:{line}: not valid utf-8", path.display())]
    Utf8 { path: PathBuf, line: u64 },
    /// The line has no tab between label and text.
    #[error("{}:{line}: no tab between label and text", path.display())]
    NoTab { path: PathBuf, line: u64 },
    /// The label is empty, too long or has characters other than `[A-Za-z0-9_-]`.
    #[error(
        "{}:{line}: a label is 1 to {MAX_LABEL} ASCII letters, digits, `_` or `-`",
        path.display()
    )]
    BadLabel { path: PathBuf, line: u64 },
}

/// Reads records from a corpus; blank lines are skipped, a CRLF line end is accepted.
pub(super) struct Reader<R> {
    inner: R,
    path: PathBuf,
    line: u64,
    bytes_read: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Reader<R> {
    pub(super) fn new(inner: R, path: &Path) -> Self {
        Self {
            inner,
            path: path.to_path_buf(),
            line: 0,
            bytes_read: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes consumed so far (for a progress bar).
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next record, `None` at the end of the file.
    pub(super) fn next_record(&mut self) -> Result<Option<Record>, CorpusError> {
        loop {
            self.buf.clear();
            let n = self
                .inner
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| CorpusError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes_read += n as u64;
            self.line += 1;
            let line = self.line;
            let mut raw = self.buf.as_slice();
            raw = raw.strip_suffix(b"\n").unwrap_or(raw);
            raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                continue;
            }
            let s = std::str::from_utf8(raw).map_err(|_| CorpusError::Utf8 {
                path: self.path.clone(),
                line,
            })?;
            let (label, text) = s.split_once('\t').ok_or_else(|| CorpusError::NoTab {
                path: self.path.clone(),
                line,
            })?;
            if !is_label(label) {
                return Err(CorpusError::BadLabel {
                    path: self.path.clone(),
                    line,
                });
            }
            return Ok(Some(Record {
                line,
                label: label.to_owned(),
                text: unescape(text).into_owned(),
            }));
        }
    }
}

fn is_label(label: &str) -> bool {
    (1..=MAX_LABEL).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Undoes the corpus escapes; an unknown escape or a trailing backslash is kept as is.
pub(super) fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

/// Escapes text for one TSV field, the inverse of [`unescape`].
pub(super) fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(data: &[u8]) -> Result<Vec<Record>, CorpusError> {
        let mut r = Reader::new(data, Path::new("t.tsv"));
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push(rec);
        }
        assert_eq!(r.bytes_read(), data.len() as u64);
        Ok(out)
    }

    #[test]
    fn reads_labels_text_and_escapes() {
        let data = b"ham\tsee you at 5\\nbring the c:\\\\ drive\r\n\nfraud\ta\\tb\\rc\\qd\\\n";
        let recs = read_all(data).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].label, "ham");
        assert_eq!(recs[0].line, 1);
        assert_eq!(recs[0].text, "see you at 5\nbring the c:\\ drive");
        assert_eq!(recs[1].line, 3);
        assert_eq!(recs[1].text, "a\tb\rc\\qd\\");
        // A tab inside the text after the first one is kept.
        let recs = read_all("spam\tx\ty".as_bytes()).unwrap();
        assert_eq!(recs[0].text, "x\ty");
    }

    #[test]
    fn bad_lines_name_file_and_line_but_not_the_text() {
        let err = read_all(b"ham\tok\nno tab here\n").unwrap_err();
        assert!(matches!(err, CorpusError::NoTab { line: 2, .. }));
        assert_eq!(err.to_string(), "t.tsv:2: no tab between label and text");
        let err = read_all(b"h am\tx\n").unwrap_err();
        assert!(matches!(err, CorpusError::BadLabel { line: 1, .. }));
        let err = read_all(b"\tx\n").unwrap_err();
        assert!(matches!(err, CorpusError::BadLabel { .. }));
        let long = format!("{}\tx", "a".repeat(33));
        assert!(read_all(long.as_bytes()).is_err());
        let err = read_all(b"ham\t\xff\xfe\n").unwrap_err();
        assert!(matches!(err, CorpusError::Utf8 { line: 1, .. }));
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.contains(['\t', '\n', '\r']));
            let back = unescape(&e).into_owned();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn a_written_record_reads_back(label in "[a-z_-]{1,32}", text in any::<String>()) {
            let line = format!("{label}\t{}\n", escape(&text));
            let recs = read_all(line.as_bytes()).unwrap();
            // A text that is empty after escaping still gives its record.
            prop_assert_eq!(recs.len(), 1);
            prop_assert_eq!(&recs[0].label, &label);
            prop_assert_eq!(&recs[0].text, &text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut r = Reader::new(data.as_slice(), Path::new("t.tsv"));
            for _ in 0..300 {
                match r.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
