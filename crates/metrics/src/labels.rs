//! The closed label vocabularies. Every label value smppguard exports comes from one of
//! these enums, from the configuration (account system_ids, upstream names, both bounded
//! by the operator) or from the rule pack's fixed category and action names; never from
//! a peer before authentication, an MSISDN, message text or error text.

macro_rules! label_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$vm:meta])* $v:ident => $s:literal, )* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vm])* $v, )* }

        impl $name {
            /// Every value, in label order.
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// How many values there are.
            pub const COUNT: usize = [$($s,)*].len();

            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s,)* }
            }

            /// Position in [`Self::ALL`], for handle tables.
            pub(crate) fn index(self) -> usize {
                self as usize
            }

            /// A table with one entry per value, in index order.
            #[allow(dead_code)]
            pub(crate) fn table<T>(mut f: impl FnMut($name) -> T) -> [T; Self::COUNT] {
                [$(f($name::$v),)*]
            }
        }
    };
}

label_enum! {
    /// How the proxy finally answered one ESME request (`outcome` label). Each request
    /// gets exactly one outcome, so per account they sum to the requests received.
    Outcome {
        /// The SMSC answered with `ESME_ROK`.
        Accepted => "accepted",
        /// The SMSC answered with an error status or a generic_nack.
        SmscError => "smsc_error",
        /// Rejected by a content rule.
        Rejected => "rejected",
        /// Quarantined by a content rule (answered with the block status, kept for review).
        Quarantined => "quarantined",
        /// Dropped by a content rule (answered as accepted, never forwarded).
        Dropped => "dropped",
        /// A multi-part message whose parts did not all arrive in time, rejected.
        Incomplete => "incomplete",
        /// The session's window, a hold bound or a rate limit was exceeded.
        Throttled => "throttled",
        /// The account is suspended.
        Suspended => "suspended",
        /// No upstream session could take the request.
        NoUpstream => "no_upstream",
        /// The SMSC did not answer in time; the proxy answered.
        Timeout => "timeout",
        /// The upstream session was lost with the request outstanding.
        UpstreamLost => "upstream_lost",
        /// The proxy was draining.
        Draining => "draining",
        /// Malformed, not allowed in the bind state, or naming another account's message.
        Invalid => "invalid",
        /// Dropped by the proxy without an answer and answered by the last-resort
        /// fallback: a bug, alerted on.
        Unanswered => "unanswered",
    }
}

label_enum! {
    /// An ESME bind type (`bind_type` label).
    BindType {
        /// bind_transmitter.
        Transmitter => "transmitter",
        /// bind_receiver.
        Receiver => "receiver",
        /// bind_transceiver.
        Transceiver => "transceiver",
    }
}

label_enum! {
    /// What an SMSC delivered to an ESME (`kind` label).
    DeliverKind {
        /// A delivery receipt.
        Receipt => "receipt",
        /// A mobile-originated message.
        Mo => "mo",
    }
}

label_enum! {
    /// Whether a message had one part or several (`message` label of the added latency:
    /// the parts of a multi-part message wait in the hold for each other).
    MessageKind {
        /// One part.
        Single => "single",
        /// Several parts, held until complete.
        Multipart => "multipart",
    }
}

label_enum! {
    /// Why a message was lost without the proxy meaning to (`reason` label of
    /// `smppguard_unintentional_drops_total`). Intentional blocks never count here.
    DropReason {
        /// A request dropped unanswered inside the proxy (answered by the fallback).
        UnansweredRequest => "unanswered_request",
        /// A quarantined message evicted from the full quarantine before review.
        QuarantineEvicted => "quarantine_evicted",
    }
}

label_enum! {
    /// A proxy event counted in a plain atomic on the hot path and exported when
    /// scraped (see [`crate::Metrics::set_event_source`]).
    Event {
        /// TCP connection accepted.
        ConnectionsAccepted => "connections_accepted",
        /// TCP connection refused (limits, draining).
        ConnectionsRefused => "connections_refused",
        /// Successful bind.
        BindsOk => "binds_ok",
        /// Refused bind.
        BindsRefused => "binds_refused",
        /// Bind refused by a lockout.
        BindLockouts => "bind_lockouts",
        /// Session closed for not binding in time.
        BindTimeouts => "bind_timeouts",
        /// Session closed for inactivity.
        InactivityTimeouts => "inactivity_timeouts",
        /// Submit-type request received.
        RequestsReceived => "requests_received",
        /// Request sent to an SMSC.
        RequestsForwarded => "requests_forwarded",
        /// Scan failed inside the filter engine (message forwarded).
        ScanErrors => "scan_errors",
        /// Multi-part part held.
        PartsHeld => "parts_held",
        /// Part refused by a hold bound.
        PartsRefused => "parts_refused",
        /// Multi-part message completed.
        MultipartCompleted => "multipart_completed",
        /// Multi-part message released incomplete.
        MultipartIncomplete => "multipart_incomplete",
        /// Receipt routed to its account.
        ReceiptsRouted => "receipts_routed",
        /// Receipt with an unknown message_id.
        ReceiptsUnknown => "receipts_unknown",
        /// MO message routed to an account.
        MoRouted => "mo_routed",
        /// MO message matching no account.
        MoUnrouted => "mo_unrouted",
        /// MO message blocked by the content rules.
        MoBlocked => "mo_blocked",
        /// Receipt or MO with no receiver session bound.
        DeliversNoSession => "delivers_no_session",
        /// deliver_sm the ESME did not answer in time.
        DeliversTimedOut => "delivers_timed_out",
        /// Audit record written.
        AuditWritten => "audit_written",
        /// Audit record dropped (queue full or write error).
        AuditDropped => "audit_dropped",
        /// Successful reload.
        ReloadsOk => "reloads_ok",
        /// Refused reload.
        ReloadsFailed => "reloads_failed",
    }
}

impl Event {
    /// The family and label values this event is exported as.
    pub(crate) fn series(self) -> (&'static str, &'static [&'static str]) {
        use crate::catalog::names::*;
        match self {
            Event::ConnectionsAccepted => (DOWNSTREAM_CONNECTIONS_TOTAL, &["accepted"]),
            Event::ConnectionsRefused => (DOWNSTREAM_CONNECTIONS_TOTAL, &["refused"]),
            Event::BindsOk => (DOWNSTREAM_BINDS_TOTAL, &["ok"]),
            Event::BindsRefused => (DOWNSTREAM_BINDS_TOTAL, &["refused"]),
            Event::BindLockouts => (DOWNSTREAM_BIND_LOCKOUTS_TOTAL, &[]),
            Event::BindTimeouts => (DOWNSTREAM_SESSIONS_CLOSED_TOTAL, &["bind_timeout"]),
            Event::InactivityTimeouts => (DOWNSTREAM_SESSIONS_CLOSED_TOTAL, &["inactivity"]),
            Event::RequestsReceived => (REQUESTS_RECEIVED_TOTAL, &[]),
            Event::RequestsForwarded => (REQUESTS_FORWARDED_TOTAL, &[]),
            Event::ScanErrors => (FILTER_SCAN_ERRORS_TOTAL, &[]),
            Event::PartsHeld => (HOLD_PARTS_TOTAL, &["held"]),
            Event::PartsRefused => (HOLD_PARTS_TOTAL, &["refused"]),
            Event::MultipartCompleted => (HOLD_MESSAGES_RELEASED_TOTAL, &["complete"]),
            Event::MultipartIncomplete => (HOLD_MESSAGES_RELEASED_TOTAL, &["incomplete"]),
            Event::ReceiptsRouted => (DELIVERS_TOTAL, &["receipt", "routed"]),
            Event::ReceiptsUnknown => (DELIVERS_TOTAL, &["receipt", "unknown"]),
            Event::MoRouted => (DELIVERS_TOTAL, &["mo", "routed"]),
            Event::MoUnrouted => (DELIVERS_TOTAL, &["mo", "unrouted"]),
            Event::MoBlocked => (DELIVERS_TOTAL, &["mo", "blocked"]),
            Event::DeliversNoSession => (DELIVERS_FAILED_TOTAL, &["no_session"]),
            Event::DeliversTimedOut => (DELIVERS_FAILED_TOTAL, &["timeout"]),
            Event::AuditWritten => (AUDIT_RECORDS_TOTAL, &["written"]),
            Event::AuditDropped => (AUDIT_RECORDS_TOTAL, &["dropped"]),
            Event::ReloadsOk => (CONFIG_RELOADS_TOTAL, &["ok"]),
            Event::ReloadsFailed => (CONFIG_RELOADS_TOTAL, &["failed"]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_all() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
        for (i, e) in Event::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
        assert_eq!(Outcome::COUNT, Outcome::ALL.len());
    }

    #[test]
    fn label_values_are_distinct_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for o in Outcome::ALL {
            assert!(seen.insert(o.as_str()));
            assert!(
                o.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
        let mut series = std::collections::HashSet::new();
        for e in Event::ALL {
            assert!(series.insert(e.series()), "{e:?} shares a series");
        }
    }
}
