//! Event counters: one relaxed atomic per event the operator cares about, read as a
//! [`StatsSnapshot`]. They are the single place metrics exporters read from, so the hot
//! path never touches a registry or a label map.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$m:meta])* $name:ident, )*) => {
        /// Live counters, shared by every task of one proxy.
        #[derive(Debug, Default)]
        pub(crate) struct Stats {
            $( $(#[$m])* pub $name: AtomicU64, )*
            /// Open downstream connections (a gauge).
            pub connections_open: AtomicI64,
            /// Upstream sessions currently bound (a gauge).
            pub upstream_sessions_bound: AtomicI64,
        }

        /// A copy of every counter at one moment.
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct StatsSnapshot {
            $( $(#[$m])* pub $name: u64, )*
            /// Open downstream connections.
            pub connections_open: i64,
            /// Upstream sessions currently bound.
            pub upstream_sessions_bound: i64,
        }

        impl Stats {
            /// Reads every counter.
            pub(crate) fn snapshot(&self) -> StatsSnapshot {
                StatsSnapshot {
                    $( $name: self.$name.load(Ordering::Relaxed), )*
                    connections_open: self.connections_open.load(Ordering::Relaxed),
                    upstream_sessions_bound: self.upstream_sessions_bound.load(Ordering::Relaxed),
                }
            }
        }
    };
}

counters! {
    /// TCP connections accepted on the listeners.
    connections_accepted,
    /// Connections closed at once: listener or per-IP limit, or draining.
    connections_refused,
    /// Successful binds.
    binds_ok,
    /// Refused binds (any reason).
    bind_failures,
    /// Binds refused without checking the password because the IP or system_id is
    /// locked out.
    bind_lockouts,
    /// Sessions closed for not binding in time.
    bind_timeouts,
    /// Sessions closed for inactivity.
    inactivity_timeouts,
    /// Submit-type requests (submit_sm, data_sm, submit_multi, replace_sm, query_sm,
    /// cancel_sm) received from ESMEs.
    requests_received,
    /// Requests sent to an SMSC.
    requests_forwarded,
    /// Requests answered with a block status (content rules).
    requests_blocked,
    /// Scans that failed inside the filter engine (the message was forwarded).
    scan_errors,
    /// Mobile-originated messages refused by the content rules.
    mo_blocked,
    /// Requests answered with the throttled status (ESME window full).
    requests_throttled,
    /// Requests answered because no upstream session could take them.
    requests_no_upstream,
    /// Requests answered because the proxy is draining.
    requests_draining,
    /// Requests that could not be decoded (answered with the decode error's status).
    requests_malformed,
    /// Responses from an SMSC relayed to an ESME.
    responses_relayed,
    /// Requests answered with the timeout status.
    responses_timed_out,
    /// Requests answered because their upstream session was lost.
    responses_upstream_lost,
    /// Responses from an SMSC that matched no outstanding request (dropped).
    responses_unmatched,
    /// Responses the proxy made up as a last resort, when a request would otherwise
    /// have gone unanswered (should stay 0).
    responses_fallback,
    /// Multi-part parts held.
    parts_held,
    /// Multi-part messages completed and released.
    multipart_completed,
    /// Multi-part messages released incomplete (timeout or drain).
    multipart_incomplete,
    /// Parts refused because a hold bound was reached.
    parts_refused,
    /// Delivery receipts delivered to their account.
    receipts_routed,
    /// Receipts with an unknown message_id (answered with the unknown status).
    receipts_unknown,
    /// Receipts and MO messages whose account had no receiver bound.
    delivers_no_session,
    /// Mobile-originated messages delivered to an account.
    mo_routed,
    /// Mobile-originated messages that matched no account.
    mo_unrouted,
    /// deliver_sm the ESME did not answer in time.
    delivers_timed_out,
    /// Binds to SMSCs.
    upstream_binds,
    /// Failed connects or binds to SMSCs.
    upstream_bind_failures,
    /// Bound upstream sessions lost.
    upstream_disconnects,
    /// Audit records written.
    audit_written,
    /// Audit records dropped (queue full or write error).
    audit_dropped,
    /// Successful reloads.
    reloads_ok,
    /// Refused reloads.
    reloads_failed,
}

/// Adds one to a counter.
#[inline]
pub(crate) fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n` to a counter.
#[inline]
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}
