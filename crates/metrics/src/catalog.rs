//! Every metric family smppguard exports: name, type, labels and help, in one table.
//!
//! Registration reads names, labels and help from here, `docs/observability.md` is
//! checked against it by a test, and the dashboards and alert rules are checked against
//! a real scrape. Names follow Prometheus conventions: `smppguard_` prefix, base units
//! (`_seconds`, `_bytes`), `_total` on counters.

/// The family names, as constants for code that refers to one.
pub mod names {
    #![allow(missing_docs)]
    pub const BUILD_INFO: &str = "smppguard_build_info";
    pub const DOWNSTREAM_CONNECTIONS_TOTAL: &str = "smppguard_downstream_connections_total";
    pub const DOWNSTREAM_CONNECTIONS: &str = "smppguard_downstream_connections";
    pub const DOWNSTREAM_BINDS_TOTAL: &str = "smppguard_downstream_binds_total";
    pub const DOWNSTREAM_BIND_LOCKOUTS_TOTAL: &str = "smppguard_downstream_bind_lockouts_total";
    pub const DOWNSTREAM_SESSIONS_CLOSED_TOTAL: &str = "smppguard_downstream_sessions_closed_total";
    pub const TLS_HANDSHAKE_FAILURES_TOTAL: &str = "smppguard_tls_handshake_failures_total";
    pub const REQUESTS_RECEIVED_TOTAL: &str = "smppguard_requests_received_total";
    pub const REQUESTS_FORWARDED_TOTAL: &str = "smppguard_requests_forwarded_total";
    pub const REQUESTS_TOTAL: &str = "smppguard_requests_total";
    pub const REQUESTS_OUTSTANDING: &str = "smppguard_requests_outstanding";
    pub const UNINTENTIONAL_DROPS_TOTAL: &str = "smppguard_unintentional_drops_total";
    pub const ACCOUNT_REQUESTS_RECEIVED_TOTAL: &str = "smppguard_account_requests_received_total";
    pub const ACCOUNT_RECEIVED_BYTES_TOTAL: &str = "smppguard_account_received_bytes_total";
    pub const ACCOUNT_REQUESTS_FORWARDED_TOTAL: &str = "smppguard_account_requests_forwarded_total";
    pub const ACCOUNT_REQUESTS_TOTAL: &str = "smppguard_account_requests_total";
    pub const ACCOUNT_MESSAGES_TOTAL: &str = "smppguard_account_messages_total";
    pub const ACCOUNT_MESSAGE_PARTS_TOTAL: &str = "smppguard_account_message_parts_total";
    pub const ACCOUNT_FILTER_MATCHES_TOTAL: &str = "smppguard_account_filter_matches_total";
    pub const ACCOUNT_DELIVERS_TOTAL: &str = "smppguard_account_delivers_total";
    pub const ACCOUNT_SESSIONS: &str = "smppguard_account_sessions";
    pub const ACCOUNT_WINDOW_IN_USE: &str = "smppguard_account_window_in_use";
    pub const ACCOUNT_WINDOW_LIMIT: &str = "smppguard_account_window_limit";
    pub const ACCOUNT_SUSPENDED: &str = "smppguard_account_suspended";
    pub const FILTER_VERDICTS_TOTAL: &str = "smppguard_filter_verdicts_total";
    pub const FILTER_MATCHES_TOTAL: &str = "smppguard_filter_matches_total";
    pub const FILTER_SCAN_DURATION_SECONDS: &str = "smppguard_filter_scan_duration_seconds";
    pub const FILTER_SCAN_ERRORS_TOTAL: &str = "smppguard_filter_scan_errors_total";
    pub const FILTER_SHADOW_EVALUATIONS_TOTAL: &str = "smppguard_filter_shadow_evaluations_total";
    pub const FILTER_SHADOW_DIFFERENCES_TOTAL: &str = "smppguard_filter_shadow_differences_total";
    pub const RULESET_INFO: &str = "smppguard_ruleset_info";
    pub const CONFIG_RELOADS_TOTAL: &str = "smppguard_config_reloads_total";
    pub const CONFIG_LAST_RELOAD_SUCCESSFUL: &str = "smppguard_config_last_reload_successful";
    pub const CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS: &str =
        "smppguard_config_last_reload_success_timestamp_seconds";
    pub const UPSTREAM_UP: &str = "smppguard_upstream_up";
    pub const UPSTREAM_SESSIONS_BOUND: &str = "smppguard_upstream_sessions_bound";
    pub const UPSTREAM_SESSIONS_CONFIGURED: &str = "smppguard_upstream_sessions_configured";
    pub const UPSTREAM_BINDS_TOTAL: &str = "smppguard_upstream_binds_total";
    pub const UPSTREAM_DISCONNECTS_TOTAL: &str = "smppguard_upstream_disconnects_total";
    pub const UPSTREAM_WINDOW_IN_USE: &str = "smppguard_upstream_window_in_use";
    pub const UPSTREAM_WINDOW_SIZE: &str = "smppguard_upstream_window_size";
    pub const UPSTREAM_RESPONSES_UNMATCHED_TOTAL: &str =
        "smppguard_upstream_responses_unmatched_total";
    pub const PROXY_ADDED_LATENCY_SECONDS: &str = "smppguard_proxy_added_latency_seconds";
    pub const UPSTREAM_RESPONSE_DURATION_SECONDS: &str =
        "smppguard_upstream_response_duration_seconds";
    pub const END_TO_END_DURATION_SECONDS: &str = "smppguard_end_to_end_duration_seconds";
    pub const HOLD_MESSAGES: &str = "smppguard_hold_messages";
    pub const HOLD_BYTES: &str = "smppguard_hold_bytes";
    pub const HOLD_MAX_MESSAGES: &str = "smppguard_hold_max_messages";
    pub const HOLD_MAX_BYTES: &str = "smppguard_hold_max_bytes";
    pub const HOLD_PARTS_TOTAL: &str = "smppguard_hold_parts_total";
    pub const HOLD_MESSAGES_RELEASED_TOTAL: &str = "smppguard_hold_messages_released_total";
    pub const DELIVERS_TOTAL: &str = "smppguard_delivers_total";
    pub const DELIVERS_FAILED_TOTAL: &str = "smppguard_delivers_failed_total";
    pub const RECEIPTS_TRACKED: &str = "smppguard_receipts_tracked";
    pub const AUDIT_RECORDS_TOTAL: &str = "smppguard_audit_records_total";
    pub const AUDIT_QUEUE_RECORDS: &str = "smppguard_audit_queue_records";
    pub const AUDIT_WRITE_LAG_SECONDS: &str = "smppguard_audit_write_lag_seconds";
    pub const AUDIT_ROTATIONS_TOTAL: &str = "smppguard_audit_rotations_total";
    pub const QUARANTINE_MESSAGES: &str = "smppguard_quarantine_messages";
    pub const QUARANTINE_BYTES: &str = "smppguard_quarantine_bytes";
    pub const QUARANTINE_ACTIONS_TOTAL: &str = "smppguard_quarantine_actions_total";
    pub const LIMITS_BACKEND_STATE: &str = "smppguard_limits_backend_state";
    pub const LIMITS_DENIED_TOTAL: &str = "smppguard_limits_denied_total";
    pub const LIMITS_TRACKED_KEYS: &str = "smppguard_limits_tracked_keys";
    pub const LIMITS_MONITORED_TOTAL: &str = "smppguard_limits_monitored_total";
    pub const LIMITS_RESTRICTED_ACCOUNTS: &str = "smppguard_limits_restricted_accounts";
    pub const LIMITS_RESTRICTIONS_TOTAL: &str = "smppguard_limits_restrictions_total";
    pub const LIMITS_REDIS_SYNCS_TOTAL: &str = "smppguard_limits_redis_syncs_total";
    pub const LIMITS_REDIS_CONNECTS_TOTAL: &str = "smppguard_limits_redis_connects_total";
    pub const LIMITS_REDIS_UNITS_LEASED_TOTAL: &str = "smppguard_limits_redis_units_leased_total";
    pub const LIMITS_DEGRADED_ALLOWED_TOTAL: &str = "smppguard_limits_degraded_allowed_total";
    pub const ADMIN_REQUESTS_TOTAL: &str = "smppguard_admin_requests_total";
    pub const DRAINING: &str = "smppguard_draining";
    pub const READY: &str = "smppguard_ready";
}

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (reset on restart); query with `rate()` / `increase()`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, `_sum` and `_count`; query with `histogram_quantile()`.
    Histogram,
}

impl Kind {
    /// The type name as the exposition format writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One family's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyInfo {
    /// Full name.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
    /// Label names, in order.
    pub labels: &'static [&'static str],
    /// What it measures (the `# HELP` text).
    pub help: &'static str,
    /// Scope, for the documentation: `global`, `account`, `upstream`.
    pub scope: Scope,
}

/// How many series a family has, for the cardinality budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A fixed number of series.
    Global,
    /// Series per configured account.
    Account,
    /// Series per configured upstream.
    Upstream,
}

impl Scope {
    /// The scope's name in the documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::Account => "account",
            Scope::Upstream => "upstream",
        }
    }
}

use self::names::*;
use Kind::{Counter, Gauge, Histogram};
use Scope::{Account, Global, Upstream};

const fn f(
    name: &'static str,
    kind: Kind,
    scope: Scope,
    labels: &'static [&'static str],
    help: &'static str,
) -> FamilyInfo {
    FamilyInfo {
        name,
        kind,
        labels,
        help,
        scope,
    }
}

/// Every family, grouped as in `docs/observability.md`. Process metrics (`process_*`)
/// come from the `prometheus` crate's process collector and are not listed here.
pub const CATALOG: &[FamilyInfo] = &[
    // === process ===
    f(
        BUILD_INFO,
        Gauge,
        Global,
        &["version"],
        "Always 1; the version label names the running build.",
    ),
    f(
        READY,
        Gauge,
        Global,
        &[],
        "1 when the proxy takes traffic (rules loaded, an upstream bound, not draining); what /readyz answers.",
    ),
    f(
        DRAINING,
        Gauge,
        Global,
        &[],
        "1 while the proxy drains before stopping.",
    ),
    // === downstream (ESMEs) ===
    f(
        DOWNSTREAM_CONNECTIONS_TOTAL,
        Counter,
        Global,
        &["result"],
        "TCP connections from ESMEs, by result: accepted, or refused by a connection limit or a drain.",
    ),
    f(
        DOWNSTREAM_CONNECTIONS,
        Gauge,
        Global,
        &[],
        "Open ESME connections, bound or not.",
    ),
    f(
        DOWNSTREAM_BINDS_TOTAL,
        Counter,
        Global,
        &["result"],
        "ESME bind attempts, by result (ok, refused).",
    ),
    f(
        DOWNSTREAM_BIND_LOCKOUTS_TOTAL,
        Counter,
        Global,
        &[],
        "Binds refused without checking the password because the IP or system_id is locked out after repeated failures (also counted as refused).",
    ),
    f(
        DOWNSTREAM_SESSIONS_CLOSED_TOTAL,
        Counter,
        Global,
        &["reason"],
        "ESME connections closed by the proxy's timers: bind_timeout (no bind in time) or inactivity.",
    ),
    f(
        TLS_HANDSHAKE_FAILURES_TOTAL,
        Counter,
        Global,
        &["side", "reason"],
        "TLS handshakes that failed, by side (downstream: an ESME on a TLS listener; upstream: the proxy to an SMSC) and reason (error: not TLS, bad certificate, protocol error; timeout).",
    ),
    // === requests ===
    f(
        REQUESTS_RECEIVED_TOTAL,
        Counter,
        Global,
        &[],
        "Submit-type requests (submit_sm, data_sm, submit_multi, replace_sm, query_sm, cancel_sm, broadcast_sm) received from ESMEs.",
    ),
    f(
        REQUESTS_FORWARDED_TOTAL,
        Counter,
        Global,
        &[],
        "Requests sent to an SMSC (each part of a multi-part message counts once).",
    ),
    f(
        REQUESTS_TOTAL,
        Counter,
        Global,
        &["outcome"],
        "Requests by how they were finally answered; every request gets exactly one outcome.",
    ),
    f(
        REQUESTS_OUTSTANDING,
        Gauge,
        Global,
        &[],
        "Requests admitted and not yet answered (held, queued or at an SMSC).",
    ),
    f(
        UNINTENTIONAL_DROPS_TOTAL,
        Counter,
        Global,
        &["reason"],
        "Messages lost without the proxy meaning to: must stay 0 (intentional blocks never count here).",
    ),
    // === accounts ===
    f(
        ACCOUNT_REQUESTS_RECEIVED_TOTAL,
        Counter,
        Account,
        &["account"],
        "Submit-type requests received, per configured account.",
    ),
    f(
        ACCOUNT_RECEIVED_BYTES_TOTAL,
        Counter,
        Account,
        &["account"],
        "Bytes of the submit-type PDUs received, per account.",
    ),
    f(
        ACCOUNT_REQUESTS_FORWARDED_TOTAL,
        Counter,
        Account,
        &["account"],
        "Requests sent to an SMSC, per account.",
    ),
    f(
        ACCOUNT_REQUESTS_TOTAL,
        Counter,
        Account,
        &["account", "outcome"],
        "Requests by final outcome, per account; a series appears with its first request.",
    ),
    f(
        ACCOUNT_MESSAGES_TOTAL,
        Counter,
        Account,
        &["account"],
        "Whole messages inspected (a multi-part message counts once), per account.",
    ),
    f(
        ACCOUNT_MESSAGE_PARTS_TOTAL,
        Counter,
        Account,
        &["account"],
        "Parts of the messages inspected, per account.",
    ),
    f(
        ACCOUNT_FILTER_MATCHES_TOTAL,
        Counter,
        Account,
        &["account", "category"],
        "Content rule matches by rule category, per account; a series appears with its first match.",
    ),
    f(
        ACCOUNT_DELIVERS_TOTAL,
        Counter,
        Account,
        &["account", "kind"],
        "Delivery receipts and MO messages relayed to the account's sessions.",
    ),
    f(
        ACCOUNT_SESSIONS,
        Gauge,
        Account,
        &["account", "bind_type"],
        "Bound ESME sessions, per account and bind type.",
    ),
    f(
        ACCOUNT_WINDOW_IN_USE,
        Gauge,
        Account,
        &["account"],
        "Requests outstanding over all the account's sessions.",
    ),
    f(
        ACCOUNT_WINDOW_LIMIT,
        Gauge,
        Account,
        &["account"],
        "Configured window (outstanding requests) per session of the account.",
    ),
    f(
        ACCOUNT_SUSPENDED,
        Gauge,
        Account,
        &["account"],
        "1 while the account is suspended through the admin API.",
    ),
    // === filter ===
    f(
        FILTER_VERDICTS_TOTAL,
        Counter,
        Global,
        &["action"],
        "Messages scanned, by the verdict's action.",
    ),
    f(
        FILTER_MATCHES_TOTAL,
        Counter,
        Global,
        &["category", "action"],
        "Rule matches by rule category and the rule's action (every matched rule counts, also the ones that did not decide).",
    ),
    f(
        FILTER_SCAN_DURATION_SECONDS,
        Histogram,
        Global,
        &[],
        "Time to normalize and scan one whole message.",
    ),
    f(
        FILTER_SCAN_ERRORS_TOTAL,
        Counter,
        Global,
        &[],
        "Scans that failed inside the engine; the message was forwarded (fail open).",
    ),
    f(
        FILTER_SHADOW_EVALUATIONS_TOTAL,
        Counter,
        Global,
        &[],
        "Messages also scanned by a shadow ruleset.",
    ),
    f(
        FILTER_SHADOW_DIFFERENCES_TOTAL,
        Counter,
        Global,
        &["shadow_action"],
        "Messages on which the shadow ruleset's action differs from the live one, by the shadow's action.",
    ),
    f(
        RULESET_INFO,
        Gauge,
        Global,
        &["version"],
        "Always 1; the version label names the live ruleset (absent without rules).",
    ),
    f(
        CONFIG_RELOADS_TOTAL,
        Counter,
        Global,
        &["result"],
        "Configuration reloads (SIGHUP, POST /reload), by result.",
    ),
    f(
        CONFIG_LAST_RELOAD_SUCCESSFUL,
        Gauge,
        Global,
        &[],
        "1 if the last reload succeeded (or none was tried), 0 if it was refused.",
    ),
    f(
        CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
        Gauge,
        Global,
        &[],
        "Unix time of the last successful load or reload.",
    ),
    // === upstreams (SMSCs) ===
    f(
        UPSTREAM_UP,
        Gauge,
        Upstream,
        &["upstream"],
        "1 when at least one session to the SMSC is bound.",
    ),
    f(
        UPSTREAM_SESSIONS_BOUND,
        Gauge,
        Upstream,
        &["upstream"],
        "Sessions bound to the SMSC.",
    ),
    f(
        UPSTREAM_SESSIONS_CONFIGURED,
        Gauge,
        Upstream,
        &["upstream"],
        "Sessions configured for the SMSC.",
    ),
    f(
        UPSTREAM_BINDS_TOTAL,
        Counter,
        Upstream,
        &["upstream", "result"],
        "Connect-and-bind attempts to the SMSC, by result (ok, failed).",
    ),
    f(
        UPSTREAM_DISCONNECTS_TOTAL,
        Counter,
        Upstream,
        &["upstream"],
        "Bound sessions to the SMSC lost (each is followed by a reconnect).",
    ),
    f(
        UPSTREAM_WINDOW_IN_USE,
        Gauge,
        Upstream,
        &["upstream"],
        "Requests outstanding at the SMSC over all its sessions.",
    ),
    f(
        UPSTREAM_WINDOW_SIZE,
        Gauge,
        Upstream,
        &["upstream"],
        "Configured window over all sessions of the SMSC (sessions x window).",
    ),
    f(
        UPSTREAM_RESPONSES_UNMATCHED_TOTAL,
        Counter,
        Upstream,
        &["upstream"],
        "Responses from the SMSC that matched no outstanding request (late after a timeout, or wrong); dropped.",
    ),
    f(
        PROXY_ADDED_LATENCY_SECONDS,
        Histogram,
        Upstream,
        &["upstream", "message"],
        "Time from a request's arrival to its forwarding to the SMSC: the latency the proxy adds (multipart includes the wait for the other parts).",
    ),
    f(
        UPSTREAM_RESPONSE_DURATION_SECONDS,
        Histogram,
        Upstream,
        &["upstream"],
        "Time from forwarding a request to the SMSC's response.",
    ),
    f(
        END_TO_END_DURATION_SECONDS,
        Histogram,
        Upstream,
        &["upstream"],
        "Time from a request's arrival to the SMSC's response being relayed to the ESME.",
    ),
    // === multi-part hold ===
    f(
        HOLD_MESSAGES,
        Gauge,
        Global,
        &[],
        "Multi-part messages held waiting for their other parts.",
    ),
    f(
        HOLD_BYTES,
        Gauge,
        Global,
        &[],
        "Bytes held (as the hold bounds count them).",
    ),
    f(
        HOLD_MAX_MESSAGES,
        Gauge,
        Global,
        &[],
        "Configured bound on held messages (hold.max_messages).",
    ),
    f(
        HOLD_MAX_BYTES,
        Gauge,
        Global,
        &[],
        "Configured bound on held bytes (hold.max_bytes).",
    ),
    f(
        HOLD_PARTS_TOTAL,
        Counter,
        Global,
        &["result"],
        "Parts offered to the hold: held, or refused by a bound (answered throttled).",
    ),
    f(
        HOLD_MESSAGES_RELEASED_TOTAL,
        Counter,
        Global,
        &["result"],
        "Held messages released: complete, or incomplete (timer or drain).",
    ),
    // === receipts and MO ===
    f(
        DELIVERS_TOTAL,
        Counter,
        Global,
        &["kind", "result"],
        "deliver_sm/data_sm from SMSCs by kind (receipt, mo) and result (routed, unknown, unrouted, blocked).",
    ),
    f(
        DELIVERS_FAILED_TOTAL,
        Counter,
        Global,
        &["reason"],
        "Receipts and MO answered 'retry later' to the SMSC: no_session (no receiver bound) or timeout (ESME did not answer).",
    ),
    f(
        RECEIPTS_TRACKED,
        Gauge,
        Global,
        &[],
        "message_ids remembered for receipt routing.",
    ),
    // === audit ===
    f(
        AUDIT_RECORDS_TOTAL,
        Counter,
        Global,
        &["result"],
        "Audit records written, or dropped (queue full or write error).",
    ),
    f(
        AUDIT_QUEUE_RECORDS,
        Gauge,
        Global,
        &[],
        "Audit records queued for the writer.",
    ),
    f(
        AUDIT_WRITE_LAG_SECONDS,
        Gauge,
        Global,
        &[],
        "Age of the oldest record in the last batch written to the audit log.",
    ),
    f(
        AUDIT_ROTATIONS_TOTAL,
        Counter,
        Global,
        &[],
        "Audit log files rotated (size or time).",
    ),
    // === quarantine ===
    f(
        QUARANTINE_MESSAGES,
        Gauge,
        Global,
        &[],
        "Quarantined messages kept for review.",
    ),
    f(
        QUARANTINE_BYTES,
        Gauge,
        Global,
        &[],
        "Bytes of the quarantined messages kept.",
    ),
    f(
        QUARANTINE_ACTIONS_TOTAL,
        Counter,
        Global,
        &["action"],
        "Quarantined messages released (forwarded), deleted or evicted (quarantine full).",
    ),
    // === rate limits ===
    f(
        LIMITS_BACKEND_STATE,
        Gauge,
        Global,
        &["state"],
        "1 for the rate-limit backend's state: local (in-process limits, also when none are configured), redis (fleet-wide, healthy) or degraded (Redis configured but unreachable or slow).",
    ),
    f(
        LIMITS_DENIED_TOTAL,
        Counter,
        Global,
        &["limit"],
        "Messages denied by a rate limit or quota, by limit (every limit the proxy knows is exported from the start).",
    ),
    f(
        LIMITS_TRACKED_KEYS,
        Gauge,
        Global,
        &[],
        "Keys (accounts, senders, destinations, prefixes) the rate limiter tracks.",
    ),
    f(
        LIMITS_MONITORED_TOTAL,
        Counter,
        Global,
        &["limit"],
        "Messages forwarded although a limit in monitor mode would have refused them, by limit (exported from the start).",
    ),
    f(
        LIMITS_RESTRICTED_ACCOUNTS,
        Gauge,
        Global,
        &["kind"],
        "Accounts restricted by the limiter now: throttled (adaptive throttle) or suspended (adaptive suspension).",
    ),
    f(
        LIMITS_RESTRICTIONS_TOTAL,
        Counter,
        Global,
        &["kind", "reason"],
        "Adaptive restrictions put in force, by kind (throttled, suspended) and reason (blocked_share, distinct_destinations).",
    ),
    f(
        LIMITS_REDIS_SYNCS_TOTAL,
        Counter,
        Global,
        &["result"],
        "Lease refills and usage reports sent to Redis, by result: ok or failed (connection loss, error reply, timeout).",
    ),
    f(
        LIMITS_REDIS_CONNECTS_TOTAL,
        Counter,
        Global,
        &[],
        "Connections (re)established to Redis.",
    ),
    f(
        LIMITS_REDIS_UNITS_LEASED_TOTAL,
        Counter,
        Global,
        &[],
        "Limit units leased ahead from Redis (messages, parts or quota units).",
    ),
    f(
        LIMITS_DEGRADED_ALLOWED_TOTAL,
        Counter,
        Global,
        &[],
        "Messages allowed on local limits at limits.redis.local_share while Redis was unavailable.",
    ),
    // === admin ===
    f(
        ADMIN_REQUESTS_TOTAL,
        Counter,
        Global,
        &["endpoint", "code"],
        "Admin API requests by endpoint and HTTP status code.",
    ),
];

/// The metric reference of `docs/observability.md`: one Markdown table row per family,
/// in catalog order (the documentation is checked to contain exactly this).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| Metric | Type | Labels | Per | Meaning |\n|---|---|---|---|---|\n");
    for f in CATALOG {
        let labels = if f.labels.is_empty() {
            "-".to_string()
        } else {
            f.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            f.name,
            f.kind.as_str(),
            labels,
            f.scope.as_str(),
            f.help
        ));
    }
    out
}

/// The description of `name`, if it is a smppguard family.
pub fn family(name: &str) -> Option<&'static FamilyInfo> {
    CATALOG.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let mut seen = std::collections::HashSet::new();
        for f in CATALOG {
            assert!(seen.insert(f.name), "{} listed twice", f.name);
            assert!(f.name.starts_with("smppguard_"), "{}", f.name);
            assert!(
                f.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                f.name
            );
            match f.kind {
                Kind::Counter => assert!(f.name.ends_with("_total"), "{}", f.name),
                _ => assert!(!f.name.ends_with("_total"), "{}", f.name),
            }
            if f.kind == Kind::Histogram {
                assert!(f.name.ends_with("_seconds") || f.name.ends_with("_bytes"));
            }
            assert!(!f.help.is_empty() && f.help.ends_with('.'), "{}", f.name);
            if f.scope == Scope::Account {
                assert_eq!(f.labels.first(), Some(&"account"), "{}", f.name);
            }
            if f.scope == Scope::Upstream {
                assert_eq!(f.labels.first(), Some(&"upstream"), "{}", f.name);
            }
        }
    }
}
