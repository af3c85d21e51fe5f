//! The small closed vocabularies of a rule pack: actions, modes, categories and fields.
//!
//! Every enum here maps to a fixed `as_str()` label, because the proxy uses them as
//! Prometheus label values and the label set must stay bounded whatever a pack contains.

use std::fmt;

use serde::Deserialize;

/// `ESME_RSUBMITFAIL`: the default `command_status` of a content reject (SMPP 3.4 §5.1.3).
///
/// `ESME_RTHROTTLED` (0x58) is reserved for rate limits: common clients retry it forever.
pub const DEFAULT_REJECT_STATUS: u32 = 0x45;

/// What the proxy does with a message.
///
/// A verdict's action is decided by the matched enforce-mode rule with the highest
/// priority (see [`crate::Verdict`]); with no match it is [`Action::Allow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Forward the message. An explicit allow rule overrides lower-priority blocks.
    Allow,
    /// Forward the message; count and log the match only.
    Monitor,
    /// Forward the message, counted and logged as tagged.
    Tag,
    /// Answer `submit_sm_resp` with this `command_status`; do not forward.
    Reject {
        /// The SMPP `command_status` to answer with (never 0).
        status: u32,
    },
    /// Answer success with a generated message_id and do not forward.
    ///
    /// Dangerous: the sender believes the message went out. A pack must opt in with
    /// `allow_drop = true` before any rule may use it.
    Drop,
    /// Do not forward; keep the message for review and release through the admin API.
    Quarantine,
}

// === impl Action ===

impl Action {
    /// The bounded label value: `allow`, `monitor`, `tag`, `reject`, `drop` or `quarantine`.
    pub fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Whether the message must not be forwarded (reject, drop or quarantine).
    pub fn is_blocking(&self) -> bool {
        matches!(self, Self::Reject { .. } | Self::Drop | Self::Quarantine)
    }

    /// The action without its parameters.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Allow => ActionKind::Allow,
            Self::Monitor => ActionKind::Monitor,
            Self::Tag => ActionKind::Tag,
            Self::Reject { .. } => ActionKind::Reject,
            Self::Drop => ActionKind::Drop,
            Self::Quarantine => ActionKind::Quarantine,
        }
    }

    /// Tie-break rank between rules of equal priority: the stricter action wins, so an
    /// allow rule must have a strictly higher priority than the block it overrides.
    pub(crate) fn severity(&self) -> u8 {
        match self {
            Self::Allow => 0,
            Self::Monitor => 1,
            Self::Tag => 2,
            Self::Drop => 3,
            Self::Quarantine => 4,
            Self::Reject { .. } => 5,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reject { status } => write!(f, "reject(0x{status:08x})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// An action's name as written in a rule pack (`action = "reject"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// See [`Action::Allow`].
    Allow,
    /// See [`Action::Monitor`].
    Monitor,
    /// See [`Action::Tag`].
    Tag,
    /// See [`Action::Reject`].
    Reject,
    /// See [`Action::Drop`].
    Drop,
    /// See [`Action::Quarantine`].
    Quarantine,
}

impl ActionKind {
    /// Every action, in label order.
    pub const ALL: [ActionKind; 6] = [
        Self::Allow,
        Self::Monitor,
        Self::Tag,
        Self::Reject,
        Self::Drop,
        Self::Quarantine,
    ];

    /// The bounded label value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Monitor => "monitor",
            Self::Tag => "tag",
            Self::Reject => "reject",
            Self::Drop => "drop",
            Self::Quarantine => "quarantine",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a rule's action is enforced or only reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The rule takes part in the verdict.
    #[default]
    Enforce,
    /// The rule is matched and reported but never changes the verdict's action, so a
    /// new rule can be watched on live traffic before it blocks anything.
    Monitor,
}

impl Mode {
    /// The bounded label value: `enforce` or `monitor`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Monitor => "monitor",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of abuse a rule targets; a closed set so it can be a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Financial fraud, e.g. credit-card limit-increase scams.
    Fraud,
    /// Credential or payment-data theft through links.
    Phishing,
    /// Illegal or predatory loan advertising.
    Loan,
    /// Pretending to be a bank, the police, a courier or customer service.
    Impersonation,
    /// Unsolicited bulk advertising.
    Spam,
    /// Gambling promotion.
    Gambling,
    /// Adult content.
    Adult,
    /// Links to malware or app side-loading.
    Malware,
    /// Operator policy: sender-ID, destination and account rules.
    Policy,
    /// Explicit exceptions (allow rules).
    Allowlist,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category, in label order.
    pub const ALL: [Category; 11] = [
        Self::Fraud,
        Self::Phishing,
        Self::Loan,
        Self::Impersonation,
        Self::Spam,
        Self::Gambling,
        Self::Adult,
        Self::Malware,
        Self::Policy,
        Self::Allowlist,
        Self::Other,
    ];

    /// The bounded label value (the same word as in the pack).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Fraud => "fraud",
            Self::Phishing => "phishing",
            Self::Loan => "loan",
            Self::Impersonation => "impersonation",
            Self::Spam => "spam",
            Self::Gambling => "gambling",
            Self::Adult => "adult",
            Self::Malware => "malware",
            Self::Policy => "policy",
            Self::Allowlist => "allowlist",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of a message a pattern is matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The normalized match view of the reassembled text (the default).
    Text,
    /// The decoded text before normalization.
    Decoded,
    /// The envelope's source_addr (sender ID or number).
    SourceAddr,
    /// The envelope's destination_addr.
    DestinationAddr,
    /// The envelope's service_type.
    ServiceType,
    /// Each URL extracted from the text.
    Url,
    /// The host of each extracted URL, lower-cased.
    Domain,
    /// Each phone number extracted from the text.
    Phone,
    /// The raw bytes of a binary (8-bit data) message; matched without UTF-8 mode.
    Binary,
}

impl Field {
    /// Every field, in the order the engine scans them.
    pub const ALL: [Field; 9] = [
        Self::Text,
        Self::Decoded,
        Self::SourceAddr,
        Self::DestinationAddr,
        Self::ServiceType,
        Self::Url,
        Self::Domain,
        Self::Phone,
        Self::Binary,
    ];

    /// The bounded label value (the same word as in the pack).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Decoded => "decoded",
            Self::SourceAddr => "source_addr",
            Self::DestinationAddr => "destination_addr",
            Self::ServiceType => "service_type",
            Self::Url => "url",
            Self::Domain => "domain",
            Self::Phone => "phone",
            Self::Binary => "binary",
        }
    }

    /// Position in [`Field::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether the field holds text (UTF-8) rather than raw bytes.
    pub(crate) fn is_utf8(self) -> bool {
        !matches!(self, Self::Binary)
    }

    /// Whether the field is prose, where Unicode properties (UCP) matter by default.
    pub(crate) fn is_prose(self) -> bool {
        matches!(self, Self::Text | Self::Decoded)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_index_matches_all_order() {
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(f.index(), i, "{f}");
        }
    }

    #[test]
    fn blocking_actions() {
        assert!(Action::Reject { status: 0x45 }.is_blocking());
        assert!(Action::Drop.is_blocking());
        assert!(Action::Quarantine.is_blocking());
        assert!(!Action::Allow.is_blocking());
        assert!(!Action::Monitor.is_blocking());
        assert!(!Action::Tag.is_blocking());
        assert_eq!(
            Action::Reject { status: 0x45 }.to_string(),
            "reject(0x00000045)"
        );
    }

    #[test]
    fn labels_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for c in Category::ALL {
            assert!(seen.insert(c.as_str()));
        }
        let mut seen = std::collections::HashSet::new();
        for a in ActionKind::ALL {
            assert!(seen.insert(a.as_str()));
        }
    }
}
