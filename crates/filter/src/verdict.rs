//! Verdicts: what to do with a message, which rules said so, and the evidence.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use crate::compile::RulesetVersion;
use crate::model::{Action, Category, Field, Mode};

/// The outcome of scanning one message.
///
/// The action comes from the matched enforce-mode rule with the highest priority; ties go
/// to the stricter action, then to the rule that comes first in the pack. With no
/// enforce-mode match the action is [`Action::Monitor`] if a monitor-mode rule matched and
/// [`Action::Allow`] otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// What to do.
    pub action: Action,
    /// Index in `matches` of the rule that decided the action, if one did.
    pub decided_by: Option<usize>,
    /// Every rule that matched and applies to the message, in pack order. Empty (and
    /// unallocated) for the common clean message.
    pub matches: Vec<RuleMatch>,
    /// The version of the ruleset that produced the verdict.
    pub ruleset_version: RulesetVersion,
    /// Time spent scanning and evaluating (the live ruleset only).
    pub scan_time: Duration,
    /// The candidate ruleset's opinion, when one is installed (never enforced).
    pub shadow: Option<ShadowVerdict>,
    /// Set when Hyperscan failed; the action is then [`Action::Allow`] (fail open) and the
    /// proxy decides what to do.
    pub error: Option<ScanError>,
}

impl Verdict {
    /// Whether the message must not be forwarded.
    pub fn is_blocking(&self) -> bool {
        self.action.is_blocking()
    }

    /// The rule that decided the action.
    pub fn decisive(&self) -> Option<&RuleMatch> {
        self.decided_by.and_then(|i| self.matches.get(i))
    }
}

/// A rule that matched a message.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMatch {
    /// The rule id.
    pub id: Arc<str>,
    /// The rule's category (a bounded metric label).
    pub category: Category,
    /// The rule's configured action (enforced only when `mode` is enforce).
    pub action: Action,
    /// Whether the rule is enforced or only reported.
    pub mode: Mode,
    /// The rule's priority.
    pub priority: i32,
    /// The patterns that made the condition true, with where they matched. Empty when the
    /// verdict's action is allow (an allow rule decided): explanations are computed only
    /// for messages that are acted on or reported.
    pub evidence: Vec<Evidence>,
}

impl RuleMatch {
    /// The field of the first piece of evidence.
    pub fn field(&self) -> Option<Field> {
        self.evidence.first().map(|e| e.field)
    }

    /// The span of the first piece of evidence that has one.
    pub fn span(&self) -> Option<&Span> {
        self.evidence.iter().find_map(|e| e.span.as_ref())
    }
}

/// One pattern that matched, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    /// The pattern's name (rule-local or shared).
    pub pattern: Arc<str>,
    /// The field it matched in.
    pub field: Field,
    /// Where; `None` only when the start of a regex match cannot be computed.
    pub span: Option<Span>,
}

/// A matched piece of the message, quoted from the original.
///
/// For `text`, `decoded`, `url`, `domain` and `phone` the range is a byte range of the
/// decoded text (a match in the normalized view is mapped back); for `source_addr`,
/// `destination_addr`, `service_type` and `binary` it is a range of that field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Byte range, see above.
    pub range: Range<usize>,
    /// The quoted bytes (binary as lower-case hex), cut at [`MAX_QUOTE`] bytes.
    pub quote: String,
}

/// Longest quote kept in a [`Span`], in bytes.
pub const MAX_QUOTE: usize = 256;

/// What a shadow (candidate) ruleset would have done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShadowVerdict {
    /// The action the candidate would take.
    pub action: Action,
    /// The rule that would decide it.
    pub decided_by: Option<Arc<str>>,
    /// Every rule of the candidate that matched.
    pub rules: Vec<Arc<str>>,
    /// The candidate's version.
    pub ruleset_version: RulesetVersion,
    /// Whether the candidate's action differs from the live one.
    pub differs: bool,
    /// Set when the candidate's scan failed.
    pub error: Option<ScanError>,
}

/// A scan that Hyperscan could not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Scratch space could not be allocated (out of memory).
    #[error("hyperscan scratch allocation failed")]
    Scratch,
    /// `hs_scan` returned an error.
    #[error("hyperscan scan failed")]
    Scan,
}

impl ScanError {
    /// A bounded label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Scratch => "scratch",
            Self::Scan => "scan",
        }
    }
}
