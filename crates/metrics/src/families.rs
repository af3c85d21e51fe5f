//! The labelled families, registered once. Handles are resolved from them when an
//! account or upstream is configured, never per message.

use prometheus::core::Collector;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::catalog::{FamilyInfo, Kind, family, names::*};
use crate::handle::{Counter, FloatGauge, Gauge};

/// Bucket bounds of the latency histograms: 50 µs to 60 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Bucket bounds of the scan duration histogram: 1 µs to 100 ms.
pub const SCAN_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.1,
];

/// Every labelled family.
pub(crate) struct Families {
    pub(crate) requests: IntCounterVec,
    pub(crate) unintentional: IntCounterVec,
    pub(crate) account_received: IntCounterVec,
    pub(crate) account_bytes: IntCounterVec,
    pub(crate) account_forwarded: IntCounterVec,
    pub(crate) account_requests: IntCounterVec,
    pub(crate) account_messages: IntCounterVec,
    pub(crate) account_parts: IntCounterVec,
    pub(crate) account_matches: IntCounterVec,
    pub(crate) account_delivers: IntCounterVec,
    pub(crate) account_sessions: IntGaugeVec,
    pub(crate) account_window_in_use: IntGaugeVec,
    pub(crate) account_window_limit: IntGaugeVec,
    pub(crate) account_suspended: IntGaugeVec,
    pub(crate) filter_verdicts: IntCounterVec,
    pub(crate) filter_matches: IntCounterVec,
    pub(crate) filter_scan: HistogramVec,
    pub(crate) filter_shadow_evaluations: IntCounterVec,
    pub(crate) filter_shadow_differences: IntCounterVec,
    pub(crate) ruleset_info: IntGaugeVec,
    pub(crate) upstream_up: IntGaugeVec,
    pub(crate) upstream_bound: IntGaugeVec,
    pub(crate) upstream_configured: IntGaugeVec,
    pub(crate) upstream_binds: IntCounterVec,
    pub(crate) upstream_disconnects: IntCounterVec,
    pub(crate) upstream_window_in_use: IntGaugeVec,
    pub(crate) upstream_window_size: IntGaugeVec,
    pub(crate) upstream_unmatched: IntCounterVec,
    pub(crate) added_latency: HistogramVec,
    pub(crate) upstream_response: HistogramVec,
    pub(crate) end_to_end: HistogramVec,
    pub(crate) build_info: IntGaugeVec,
    pub(crate) admin_requests: IntCounterVec,
    pub(crate) quarantine_actions: IntCounterVec,
}

fn info(name: &str, kind: Kind) -> prometheus::Result<&'static FamilyInfo> {
    match family(name) {
        Some(f) if f.kind == kind => Ok(f),
        _ => Err(prometheus::Error::Msg(format!(
            "{name} is not a {} in the catalog",
            kind.as_str()
        ))),
    }
}

fn register<C: Collector + Clone + 'static>(reg: &Registry, c: C) -> prometheus::Result<C> {
    reg.register(Box::new(c.clone()))?;
    Ok(c)
}

pub(crate) fn counter_vec(reg: &Registry, name: &str) -> prometheus::Result<IntCounterVec> {
    let f = info(name, Kind::Counter)?;
    register(
        reg,
        IntCounterVec::new(Opts::new(f.name, f.help), f.labels)?,
    )
}

pub(crate) fn gauge_vec(reg: &Registry, name: &str) -> prometheus::Result<IntGaugeVec> {
    let f = info(name, Kind::Gauge)?;
    register(reg, IntGaugeVec::new(Opts::new(f.name, f.help), f.labels)?)
}

pub(crate) fn histogram_vec(
    reg: &Registry,
    name: &str,
    buckets: &[f64],
) -> prometheus::Result<HistogramVec> {
    let f = info(name, Kind::Histogram)?;
    let opts = HistogramOpts::new(f.name, f.help).buckets(buckets.to_vec());
    register(reg, HistogramVec::new(opts, f.labels)?)
}

/// An unlabelled counter family.
pub(crate) fn counter(reg: &Registry, name: &str) -> prometheus::Result<Counter> {
    let f = info(name, Kind::Counter)?;
    register(reg, IntCounter::new(f.name, f.help)?).map(Counter)
}

/// An unlabelled integer gauge family.
pub(crate) fn gauge(reg: &Registry, name: &str) -> prometheus::Result<Gauge> {
    let f = info(name, Kind::Gauge)?;
    register(reg, IntGauge::new(f.name, f.help)?).map(Gauge)
}

/// An unlabelled float gauge family.
pub(crate) fn float_gauge(reg: &Registry, name: &str) -> prometheus::Result<FloatGauge> {
    let f = info(name, Kind::Gauge)?;
    register(reg, prometheus::Gauge::new(f.name, f.help)?).map(FloatGauge)
}

impl Families {
    pub(crate) fn register(reg: &Registry) -> prometheus::Result<Families> {
        Ok(Families {
            requests: counter_vec(reg, REQUESTS_TOTAL)?,
            unintentional: counter_vec(reg, UNINTENTIONAL_DROPS_TOTAL)?,
            account_received: counter_vec(reg, ACCOUNT_REQUESTS_RECEIVED_TOTAL)?,
            account_bytes: counter_vec(reg, ACCOUNT_RECEIVED_BYTES_TOTAL)?,
            account_forwarded: counter_vec(reg, ACCOUNT_REQUESTS_FORWARDED_TOTAL)?,
            account_requests: counter_vec(reg, ACCOUNT_REQUESTS_TOTAL)?,
            account_messages: counter_vec(reg, ACCOUNT_MESSAGES_TOTAL)?,
            account_parts: counter_vec(reg, ACCOUNT_MESSAGE_PARTS_TOTAL)?,
            account_matches: counter_vec(reg, ACCOUNT_FILTER_MATCHES_TOTAL)?,
            account_delivers: counter_vec(reg, ACCOUNT_DELIVERS_TOTAL)?,
            account_sessions: gauge_vec(reg, ACCOUNT_SESSIONS)?,
            account_window_in_use: gauge_vec(reg, ACCOUNT_WINDOW_IN_USE)?,
            account_window_limit: gauge_vec(reg, ACCOUNT_WINDOW_LIMIT)?,
            account_suspended: gauge_vec(reg, ACCOUNT_SUSPENDED)?,
            filter_verdicts: counter_vec(reg, FILTER_VERDICTS_TOTAL)?,
            filter_matches: counter_vec(reg, FILTER_MATCHES_TOTAL)?,
            filter_scan: histogram_vec(reg, FILTER_SCAN_DURATION_SECONDS, SCAN_BUCKETS)?,
            filter_shadow_evaluations: counter_vec(reg, FILTER_SHADOW_EVALUATIONS_TOTAL)?,
            filter_shadow_differences: counter_vec(reg, FILTER_SHADOW_DIFFERENCES_TOTAL)?,
            ruleset_info: gauge_vec(reg, RULESET_INFO)?,
            upstream_up: gauge_vec(reg, UPSTREAM_UP)?,
            upstream_bound: gauge_vec(reg, UPSTREAM_SESSIONS_BOUND)?,
            upstream_configured: gauge_vec(reg, UPSTREAM_SESSIONS_CONFIGURED)?,
            upstream_binds: counter_vec(reg, UPSTREAM_BINDS_TOTAL)?,
            upstream_disconnects: counter_vec(reg, UPSTREAM_DISCONNECTS_TOTAL)?,
            upstream_window_in_use: gauge_vec(reg, UPSTREAM_WINDOW_IN_USE)?,
            upstream_window_size: gauge_vec(reg, UPSTREAM_WINDOW_SIZE)?,
            upstream_unmatched: counter_vec(reg, UPSTREAM_RESPONSES_UNMATCHED_TOTAL)?,
            added_latency: histogram_vec(reg, PROXY_ADDED_LATENCY_SECONDS, LATENCY_BUCKETS)?,
            upstream_response: histogram_vec(
                reg,
                UPSTREAM_RESPONSE_DURATION_SECONDS,
                LATENCY_BUCKETS,
            )?,
            end_to_end: histogram_vec(reg, END_TO_END_DURATION_SECONDS, LATENCY_BUCKETS)?,
            build_info: gauge_vec(reg, BUILD_INFO)?,
            admin_requests: counter_vec(reg, ADMIN_REQUESTS_TOTAL)?,
            quarantine_actions: counter_vec(reg, QUARANTINE_ACTIONS_TOTAL)?,
        })
    }
}
