//! What a check answers: [`Decision`], the [`LimitKind`] that caused it, and the SMPP status to
//! send back.

use serde::{Deserialize, Serialize};

/// `ESME_RTHROTTLED`: the default answer to an exceeded limit; clients retry it.
pub const ESME_RTHROTTLED: u32 = 0x58;
/// `ESME_RMSGQFUL`: a common choice for exhausted quotas (temporary in Kannel's mapping).
pub const ESME_RMSGQFUL: u32 = 0x14;

/// Which limit decided. `as_str()` values are bounded and stable: they are metric labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LimitKind {
    /// The account is suspended (by hand or by adaptive protection).
    Suspended,
    /// The account is throttled by adaptive protection.
    AdaptiveThrottle,
    /// Messages per second of the account.
    AccountRate,
    /// Parts per second of the account.
    AccountPartsRate,
    /// Messages per second from one sender ID (source_addr) of the account.
    SenderRate,
    /// Messages to one destination number from the account.
    AccountDestinationRate,
    /// Messages to one destination number across all accounts (anti-flood).
    DestinationRate,
    /// Messages to a destination prefix (country or operator code) across all accounts.
    PrefixRate,
    /// Messages per local calendar day.
    DailyMessages,
    /// Parts per local calendar day.
    DailyParts,
    /// Messages per local calendar month.
    MonthlyMessages,
    /// Parts per local calendar month.
    MonthlyParts,
    /// Concurrent binds of the account.
    Binds,
    /// Outstanding (unanswered) requests of the account on this node.
    Window,
    /// The shared backend is unavailable and the node is configured to fail closed.
    BackendUnavailable,
}

impl LimitKind {
    /// Every kind, in check order.
    pub const ALL: [LimitKind; 15] = [
        LimitKind::Suspended,
        LimitKind::AdaptiveThrottle,
        LimitKind::AccountRate,
        LimitKind::AccountPartsRate,
        LimitKind::SenderRate,
        LimitKind::AccountDestinationRate,
        LimitKind::DestinationRate,
        LimitKind::PrefixRate,
        LimitKind::DailyMessages,
        LimitKind::DailyParts,
        LimitKind::MonthlyMessages,
        LimitKind::MonthlyParts,
        LimitKind::Binds,
        LimitKind::Window,
        LimitKind::BackendUnavailable,
    ];

    /// Stable snake_case name, for metric labels, logs and config.
    pub const fn as_str(self) -> &'static str {
        match self {
            LimitKind::Suspended => "suspended",
            LimitKind::AdaptiveThrottle => "adaptive_throttle",
            LimitKind::AccountRate => "account_rate",
            LimitKind::AccountPartsRate => "account_parts_rate",
            LimitKind::SenderRate => "sender_rate",
            LimitKind::AccountDestinationRate => "account_destination_rate",
            LimitKind::DestinationRate => "destination_rate",
            LimitKind::PrefixRate => "prefix_rate",
            LimitKind::DailyMessages => "daily_messages",
            LimitKind::DailyParts => "daily_parts",
            LimitKind::MonthlyMessages => "monthly_messages",
            LimitKind::MonthlyParts => "monthly_parts",
            LimitKind::Binds => "binds",
            LimitKind::Window => "window",
            LimitKind::BackendUnavailable => "backend_unavailable",
        }
    }

    /// Whether this is a calendar quota (which takes `quota_status`).
    pub const fn is_quota(self) -> bool {
        matches!(
            self,
            LimitKind::DailyMessages
                | LimitKind::DailyParts
                | LimitKind::MonthlyMessages
                | LimitKind::MonthlyParts
        )
    }
}

/// The answer to one check.
///
/// A limit in `monitor` mode never rejects: its excess is reported as [`Decision::Monitor`] and
/// the message goes on. It is a separate variant, not a flag on `Deny`, so that matching on
/// `Deny` can never reject a message that monitor mode lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Every limit passed; their units are consumed.
    Allow,
    /// Every enforced limit passed and their units are consumed, but `limit`, in monitor mode,
    /// would have rejected the message. Forward it and count the event.
    Monitor {
        /// The first monitor-mode limit that was exceeded.
        limit: LimitKind,
    },
    /// `limit` rejected the message; nothing was consumed. Answer with `status`.
    Deny {
        /// The limit that rejected.
        limit: LimitKind,
        /// SMPP `command_status` for the response (e.g. 0x58 `ESME_RTHROTTLED`).
        status: u32,
    },
}

impl Decision {
    /// Whether the message may be forwarded (`Allow` or `Monitor`).
    pub const fn is_allowed(&self) -> bool {
        !matches!(self, Decision::Deny { .. })
    }

    /// The limit that denied or was monitored, if any.
    pub const fn limit(&self) -> Option<LimitKind> {
        match self {
            Decision::Allow => None,
            Decision::Monitor { limit } | Decision::Deny { limit, .. } => Some(*limit),
        }
    }
}

/// A refusal of a bind or window slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} limit reached", .limit.as_str())]
pub struct Denied {
    /// The limit that refused.
    pub limit: LimitKind,
    /// SMPP `command_status` to answer with.
    pub status: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_match_serde_names() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in LimitKind::ALL {
            assert!(seen.insert(kind.as_str()), "duplicate {}", kind.as_str());
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: LimitKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn monitor_is_allowed_deny_is_not() {
        assert!(Decision::Allow.is_allowed());
        let monitor = Decision::Monitor {
            limit: LimitKind::AccountRate,
        };
        assert!(monitor.is_allowed());
        let deny = Decision::Deny {
            limit: LimitKind::DailyMessages,
            status: ESME_RMSGQFUL,
        };
        assert!(!deny.is_allowed());
        assert_eq!(deny.limit(), Some(LimitKind::DailyMessages));
        assert!(LimitKind::DailyMessages.is_quota());
        assert!(!LimitKind::AccountRate.is_quota());
        assert_eq!(
            Denied {
                limit: LimitKind::Binds,
                status: ESME_RTHROTTLED
            }
            .to_string(),
            "binds limit reached"
        );
    }
}
