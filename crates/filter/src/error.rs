//! Errors of loading, validating and compiling a rule pack.
//!
//! Validation collects every problem it finds rather than stopping at the first, so
//! `smppguard rules check` can list them all. Each [`Diagnostic`] names the file, line and
//! column, the rule and pattern where relevant, and a typed [`Problem`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::expr::ExprError;
use crate::model::{ActionKind, Field};

/// A place in a rule-pack source file or list file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file, as given or found while loading.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub column: usize,
}

// === impl Location ===

impl Location {
    /// A location naming a whole file.
    pub(crate) fn file(path: &Path) -> Self {
        Self {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
        }
    }

    /// The location of byte `offset` in `source` (clamped to the source).
    pub(crate) fn at(path: &Path, source: &str, offset: usize) -> Self {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = source.get(..offset).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self {
            file: path.to_path_buf(),
            line,
            column,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        Ok(())
    }
}

/// What is wrong, without where (see [`Diagnostic`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The TOML does not parse or does not fit the format.
    #[error("{0}")]
    Syntax(String),
    /// `format` names a version this build does not read.
    #[error("unsupported format version {0} (this build reads format 1)")]
    UnsupportedFormat(i64),
    /// The file with the `[pack]` header has no `format` key.
    #[error("missing `format = 1`")]
    MissingFormat,
    /// No file of the pack has a `[pack]` header.
    #[error("no `[pack]` header in any file")]
    MissingHeader,
    /// A directory holds no `*.toml` file.
    #[error("no rule files (*.toml) found")]
    NoFiles,
    /// A second `[pack]` header.
    #[error("second `[pack]` header (the first is at {first})")]
    DuplicateHeader {
        /// Where the first header is.
        first: Location,
    },
    /// A rule id, pattern, list or group name breaks the naming rules.
    #[error("invalid name {0:?}: {1}")]
    InvalidName(String, &'static str),
    /// Two rules share an id.
    #[error("duplicate rule id (first defined at {first})")]
    DuplicateRule {
        /// Where the first rule with this id is.
        first: Location,
    },
    /// Two shared patterns, lists or groups share a name.
    #[error("duplicate {what} name (first defined at {first})")]
    DuplicateName {
        /// `pattern`, `list` or `group`.
        what: &'static str,
        /// Where the first definition is.
        first: Location,
    },
    /// A rule-local pattern has the name of a shared pattern.
    #[error("local pattern shadows the shared pattern of the same name")]
    ShadowsShared,
    /// A pattern must have exactly one of `literal`, `regex` or `list`.
    #[error("a pattern needs exactly one of `literal`, `regex` or `list`")]
    PatternKind,
    /// A literal or regex is empty, or a literal/regex array has no element.
    #[error("empty pattern")]
    EmptyPattern,
    /// Flags given to a list pattern, which has none.
    #[error("a list pattern takes no `caseless`, `dotall` or `ucp` flag")]
    ListFlags,
    /// The list kind cannot be matched against this field.
    #[error("a {kind} list cannot be matched against field `{field}`")]
    ListField {
        /// The list's kind.
        kind: &'static str,
        /// The pattern's field.
        field: Field,
    },
    /// A name in a condition refers to nothing.
    #[error("unknown pattern `{0}` in condition")]
    UnknownPattern(String),
    /// `@id` refers to no rule.
    #[error("unknown rule `@{0}` in condition")]
    UnknownRule(String),
    /// A pattern names a list that is not defined.
    #[error("unknown list `{0}`")]
    UnknownList(String),
    /// A scope names a group that is not defined in the pack (groups from the proxy's
    /// account configuration are matched too, so this is only reported as a warning).
    #[error("group `{0}` is not defined in the pack; it can only match groups the proxy supplies")]
    UnknownGroup(String),
    /// The condition does not parse.
    #[error("condition: {0}")]
    Condition(ExprError),
    /// Rules refer to each other in a cycle.
    #[error("rule references form a cycle: {0}")]
    Cycle(String),
    /// A chain of `@rule` references is too deep.
    #[error("rule references nest deeper than {0}")]
    TooDeep(usize),
    /// A rule with neither patterns nor a condition.
    #[error("rule has no patterns and no `when` condition")]
    NoCondition,
    /// `action = "drop"` in a pack without `allow_drop = true`.
    #[error(
        "action `drop` answers success and discards the message; set `allow_drop = true` in [pack] to permit it"
    )]
    DropNotAllowed,
    /// `status` given with another action than reject.
    #[error("`status` only applies to action `reject`, not `{0}`")]
    StatusWithoutReject(ActionKind),
    /// `status = 0` would tell the sender the message was accepted.
    #[error("reject status 0 is ESME_ROK; use a non-zero command_status")]
    ZeroStatus,
    /// Hyperscan rejected the expression.
    #[error("hyperscan: {message}{}", regex_where(*position, expression.as_deref()))]
    Regex {
        /// Hyperscan's message.
        message: String,
        /// Byte offset in the expression Hyperscan points at, when it names one.
        position: Option<usize>,
        /// The expression as compiled, when loading rewrote the pattern (a `text`
        /// pattern in match-text form); `position` counts in it.
        expression: Option<String>,
    },
    /// The expression matches the empty string, which would match every message.
    #[error("the expression can match the empty string")]
    MatchesEmpty,
    /// A list needs `file` or `entries`.
    #[error("a list needs `file` or `entries` (or both)")]
    ListSource,
    /// A list entry is malformed.
    #[error("invalid {kind} entry: {reason}")]
    ListEntry {
        /// The list's kind.
        kind: &'static str,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// A list or rule file could not be read.
    #[error("cannot read: {0}")]
    Read(String),
    /// A shared pattern no rule uses (a warning).
    #[error("shared pattern is not used by any rule")]
    UnusedPattern,
    /// The `[normalize]` table is not valid.
    #[error("[normalize]: {0}")]
    Normalize(String),
}

fn regex_where(position: Option<usize>, expression: Option<&str>) -> String {
    match (position, expression) {
        (Some(p), Some(e)) => format!(" at byte {p} of `{e}` (the pattern as compiled)"),
        (Some(p), None) => format!(" at byte {p}"),
        (None, Some(e)) => format!(" in `{e}` (the pattern as compiled)"),
        (None, None) => String::new(),
    }
}

/// One problem, where it is, and which rule and pattern it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is.
    pub location: Location,
    /// The rule concerned, if any.
    pub rule: Option<String>,
    /// The pattern (rule-local or shared name) concerned, if any.
    pub pattern: Option<String>,
    /// What is wrong.
    pub problem: Problem,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule `{rule}`: ")?;
        }
        if let Some(pattern) = &self.pattern {
            write!(f, "pattern `{pattern}`: ")?;
        }
        write!(f, "{}", self.problem)
    }
}

/// Why a rule pack could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pack path itself cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The pack has problems; at least one diagnostic.
    #[error("{}", DisplayInvalid(.0))]
    Invalid(Vec<Diagnostic>),
    /// Hyperscan failed for a reason not tied to one pattern (e.g. out of memory).
    #[error("hyperscan {what} failed: {message}")]
    Hyperscan {
        /// `compile`, `scratch allocation`, …
        what: &'static str,
        /// Hyperscan's message.
        message: String,
    },
}

impl Error {
    /// Every diagnostic, when the error is a validation error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Invalid(d) => d,
            _ => &[],
        }
    }
}

struct DisplayInvalid<'a>(&'a [Diagnostic]);

impl fmt::Display for DisplayInvalid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => f.write_str("invalid rule pack"),
            [one] => write!(f, "{one}"),
            [first, rest @ ..] => write!(f, "{first} (and {} more problems)", rest.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_chars() {
        let src = "a = 1\n信用 = 2\n";
        let l = Location::at(Path::new("p.toml"), src, src.find('=').unwrap());
        assert_eq!((l.line, l.column), (1, 3));
        let off = src.rfind('=').unwrap();
        let l = Location::at(Path::new("p.toml"), src, off);
        assert_eq!((l.line, l.column), (2, 4));
        assert_eq!(l.to_string(), "p.toml:2:4");
        // Out-of-range and mid-character offsets are clamped, never a panic.
        let l = Location::at(Path::new("p.toml"), src, 9999);
        assert_eq!(l.line, 3);
        let l = Location::at(Path::new("p.toml"), src, 7);
        assert_eq!(l.line, 2);
    }

    #[test]
    fn invalid_display_names_the_first_and_counts_the_rest() {
        let d = Diagnostic {
            location: Location::file(Path::new("x.toml")),
            rule: Some("r1".into()),
            pattern: Some("p".into()),
            problem: Problem::EmptyPattern,
        };
        let e = Error::Invalid(vec![d.clone(), d]);
        assert_eq!(
            e.to_string(),
            "x.toml: rule `r1`: pattern `p`: empty pattern (and 1 more problems)"
        );
        assert_eq!(e.diagnostics().len(), 2);
    }
}
