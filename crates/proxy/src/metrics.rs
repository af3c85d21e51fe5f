//! Wiring to `smppguard-metrics`: the event counters of [`Stats`] exported at scrape
//! time, gauges read at scrape time, per-account handles kept in step with the
//! configuration, and the filter's verdict counts.
//!
//! Nothing here runs per message except [`count_verdict`], which only adds to cached
//! handles; everything else runs on a scrape, a start or a reload.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use smppguard_filter::{ActionKind, Category, Verdict};
use smppguard_metrics::{
    AccountMetrics, BindType as BindLabel, Event, EventValues, Metrics, MetricsError,
    MetricsOptions,
};

use crate::config::DynamicConfig;
use crate::server::{Phase, Shared};
use crate::stats::{Stats, StatsSnapshot};

/// The registry and families of one proxy.
pub(crate) fn new_metrics() -> Result<Arc<Metrics>, MetricsError> {
    Metrics::new(MetricsOptions {
        version: env!("CARGO_PKG_VERSION"),
        rule_categories: Category::ALL.iter().map(|c| c.as_str()).collect(),
        rule_actions: ActionKind::ALL.iter().map(|a| a.as_str()).collect(),
    })
}

/// Index of a category in the labels given to [`Metrics::new`].
fn category_index(c: Category) -> usize {
    Category::ALL
        .iter()
        .position(|x| *x == c)
        .unwrap_or(usize::MAX)
}

/// Index of an action in the labels given to [`Metrics::new`].
fn action_index(a: ActionKind) -> usize {
    ActionKind::ALL
        .iter()
        .position(|x| *x == a)
        .unwrap_or(usize::MAX)
}

/// Counts one verdict: its action, every matched rule by category and action, the
/// scan time, a shadow difference, and the categories in the sending account's
/// series.
pub(crate) fn count_verdict(metrics: &Metrics, account: Option<&AccountMetrics>, v: &Verdict) {
    let f = &metrics.filter;
    f.verdict(action_index(v.action.kind()));
    f.scan_duration.observe_duration(v.scan_time);
    for m in &v.matches {
        let category = category_index(m.category);
        f.matched(category, action_index(m.action.kind()));
        if let Some(a) = account {
            a.filter_match(category);
        }
    }
    if let Some(shadow) = &v.shadow {
        f.shadow_evaluations.inc();
        if shadow.differs {
            f.shadow_differs(action_index(shadow.action.kind()));
        }
    }
}

/// The exported value of every event counter.
fn events(s: &StatsSnapshot, out: &mut EventValues) {
    let pairs = [
        (Event::ConnectionsAccepted, s.connections_accepted),
        (Event::ConnectionsRefused, s.connections_refused),
        (Event::BindsOk, s.binds_ok),
        (Event::BindsRefused, s.bind_failures),
        (Event::BindLockouts, s.bind_lockouts),
        (Event::BindTimeouts, s.bind_timeouts),
        (Event::InactivityTimeouts, s.inactivity_timeouts),
        (Event::RequestsReceived, s.requests_received),
        (Event::RequestsForwarded, s.requests_forwarded),
        (Event::ScanErrors, s.scan_errors),
        (Event::PartsHeld, s.parts_held),
        (Event::PartsRefused, s.parts_refused),
        (Event::MultipartCompleted, s.multipart_completed),
        (Event::MultipartIncomplete, s.multipart_incomplete),
        (Event::ReceiptsRouted, s.receipts_routed),
        (Event::ReceiptsUnknown, s.receipts_unknown),
        (Event::MoRouted, s.mo_routed),
        (Event::MoUnrouted, s.mo_unrouted),
        (Event::MoBlocked, s.mo_blocked),
        (Event::DeliversNoSession, s.delivers_no_session),
        (Event::DeliversTimedOut, s.delivers_timed_out),
        (Event::AuditWritten, s.audit_written),
        (Event::AuditDropped, s.audit_dropped),
        (Event::ReloadsOk, s.reloads_ok),
        (Event::ReloadsFailed, s.reloads_failed),
    ];
    for (e, v) in pairs {
        out.set(e, v);
    }
}

/// Connects a started proxy to its metrics: the event counters, the scrape-time
/// gauges, the upstreams' configured sizes and the accounts of the configuration.
pub(crate) fn install(shared: &Arc<Shared>) {
    let m = &shared.metrics;
    let stats: Arc<Stats> = Arc::clone(&shared.stats);
    m.set_event_source(move |out| events(&stats.snapshot(), out));
    let limits = &shared.fixed.hold.limits;
    m.global.hold_max_messages.set_count(limits.max_sets);
    m.global.hold_max_bytes.set_count(limits.max_bytes);
    for (pool, cfg) in shared.pools.iter().zip(&shared.fixed.upstreams) {
        let sessions = usize::try_from(cfg.sessions).unwrap_or(0);
        let window = usize::try_from(cfg.window).unwrap_or(0);
        pool.metrics.sessions_configured.set_count(sessions);
        pool.metrics
            .window_size
            .set_count(sessions.saturating_mul(window));
    }
    configure_accounts(shared, &shared.live.load().config);
    let weak: Weak<Shared> = Arc::downgrade(shared);
    m.on_scrape(move || {
        if let Some(shared) = weak.upgrade() {
            scrape(&shared);
        }
    });
}

/// Resolves the handles of every configured account, records their windows and
/// suspensions, and removes the series of accounts no longer configured.
pub(crate) fn configure_accounts(shared: &Shared, config: &DynamicConfig) {
    let m = &shared.metrics;
    for (id, a) in &config.accounts {
        let am = m.account(id);
        am.window_limit.set(i64::from(a.window));
        am.suspended
            .set(i64::from(shared.controls.get(id).is_suspended()));
    }
    m.retain_accounts(|id| config.accounts.contains_key(id));
}

/// Sets the gauges that are read, not counted.
fn scrape(shared: &Shared) {
    let g = &shared.metrics.global;
    let phase = *shared.phase.borrow();
    let ready = phase == Phase::Running
        && shared.pools.iter().any(|p| p.bound_sessions() > 0)
        && shared.limits.health().ready;
    g.ready.set(i64::from(ready));
    g.draining.set(i64::from(phase != Phase::Running));
    g.downstream_connections
        .set(shared.stats.connections_open.load(Ordering::Relaxed));
    g.requests_outstanding
        .set(shared.outstanding.load(Ordering::Relaxed));
    g.hold_messages.set_count(shared.hold.open());
    g.hold_bytes.set_count(shared.hold.held_bytes());
    g.receipts_tracked.set_count(shared.receipts.len());
    g.audit_queue_records.set_count(shared.audit.queued());
    let (quarantined, quarantined_bytes) = shared.quarantine.usage();
    g.quarantine_messages.set_count(quarantined);
    g.quarantine_bytes.set_count(quarantined_bytes);
    crate::limits::scrape(shared);
    for pool in &shared.pools {
        let bound = pool.bound_sessions();
        let pending: usize = pool
            .sessions
            .iter()
            .map(|s| s.pending.load(Ordering::Relaxed))
            .sum();
        pool.metrics.sessions_bound.set_count(bound);
        pool.metrics.up.set(i64::from(bound > 0));
        pool.metrics.window_in_use.set_count(pending);
    }
    let usage: HashMap<Arc<str>, ([usize; 3], u64)> = shared
        .registry
        .usage()
        .into_iter()
        .map(|(id, t, w)| (id, (t, w)))
        .collect();
    for a in shared.metrics.accounts() {
        let (by_type, window) = usage.get(a.account()).copied().unwrap_or_default();
        for (b, n) in [
            BindLabel::Transmitter,
            BindLabel::Receiver,
            BindLabel::Transceiver,
        ]
        .into_iter()
        .zip(by_type)
        {
            a.sessions(b).set_count(n);
        }
        a.window_in_use
            .set(i64::try_from(window).unwrap_or(i64::MAX));
    }
}
