//! Per-upstream handles: session state, binds, window and the three latency histograms.
//! Latency is per upstream, never per account, so its cardinality is bounded by the
//! configured SMSCs.

use std::sync::Arc;
use std::time::Duration;

use crate::families::Families;
use crate::handle::{Counter, Gauge, Histogram};
use crate::labels::MessageKind;

/// The series of one configured upstream (`upstream` = its name).
#[derive(Debug, Clone)]
pub struct UpstreamMetrics {
    /// 1 when a session is bound.
    pub up: Gauge,
    /// Sessions bound.
    pub sessions_bound: Gauge,
    /// Sessions configured.
    pub sessions_configured: Gauge,
    /// Successful connect-and-binds.
    pub binds_ok: Counter,
    /// Failed connect-and-binds.
    pub binds_failed: Counter,
    /// Bound sessions lost.
    pub disconnects: Counter,
    /// Requests outstanding over all sessions.
    pub window_in_use: Gauge,
    /// sessions x window.
    pub window_size: Gauge,
    /// Responses that matched no request.
    pub responses_unmatched: Counter,
    added_latency: [Histogram; MessageKind::COUNT],
    /// Forwarding → the SMSC's response.
    pub response_time: Histogram,
    /// Arrival → the response relayed to the ESME.
    pub end_to_end: Histogram,
}

impl UpstreamMetrics {
    pub(crate) fn new(name: &str, fams: &Arc<Families>) -> UpstreamMetrics {
        let g = |v: &prometheus::IntGaugeVec| Gauge(v.with_label_values(&[name]));
        let c = |v: &prometheus::IntCounterVec| Counter(v.with_label_values(&[name]));
        let h = |v: &prometheus::HistogramVec| Histogram(v.with_label_values(&[name]));
        UpstreamMetrics {
            up: g(&fams.upstream_up),
            sessions_bound: g(&fams.upstream_bound),
            sessions_configured: g(&fams.upstream_configured),
            binds_ok: Counter(fams.upstream_binds.with_label_values(&[name, "ok"])),
            binds_failed: Counter(fams.upstream_binds.with_label_values(&[name, "failed"])),
            disconnects: c(&fams.upstream_disconnects),
            window_in_use: g(&fams.upstream_window_in_use),
            window_size: g(&fams.upstream_window_size),
            responses_unmatched: c(&fams.upstream_unmatched),
            added_latency: MessageKind::table(|k| {
                Histogram(fams.added_latency.with_label_values(&[name, k.as_str()]))
            }),
            response_time: h(&fams.upstream_response),
            end_to_end: h(&fams.end_to_end),
        }
    }

    /// Records the latency the proxy added to one request before forwarding it.
    #[inline]
    pub fn added_latency(&self, kind: MessageKind, d: Duration) {
        if let Some(h) = self.added_latency.get(kind.index()) {
            h.observe_duration(d);
        }
    }

    /// The added-latency histogram of one message kind.
    pub fn added_latency_histogram(&self, kind: MessageKind) -> &Histogram {
        // ok: one histogram per MessageKind, in index order.
        #[allow(clippy::indexing_slicing)]
        &self.added_latency[kind.index()]
    }
}
