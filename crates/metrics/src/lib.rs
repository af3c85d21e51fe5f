//! smppguard's Prometheus metrics: every family, its labels and help text, and the
//! cached handles the proxy counts with.
//!
//! Families are registered once, in [`Metrics::new`]. Per-account and per-upstream
//! handles are resolved when an account or upstream is configured
//! ([`Metrics::account`], [`Metrics::upstream`]) and kept by whoever counts, so the hot
//! path is an atomic add on a cached handle, never a label lookup. The handle types
//! ([`Counter`], [`Gauge`], [`Histogram`]) expose updates only: code that holds them can
//! neither register families nor resolve labels, which keeps label cardinality where
//! the configuration bounds it (configured accounts and upstreams, closed enums).
//!
//! The key types:
//! - [`Metrics`]: the registry, every family, the text exposition ([`Metrics::encode`]);
//! - [`AccountMetrics`], [`UpstreamMetrics`], [`FilterMetrics`], [`GlobalMetrics`]: handles;
//! - [`Outcome`] and the other label enums in `labels`;
//! - [`CATALOG`]: every family's name, type, labels and help, for docs and checks.
//!
//! Counters the proxy already keeps in plain atomics are exported through
//! [`Metrics::set_event_source`]; gauges that are cheap to read at scrape time (queue
//! lengths, held bytes, bound sessions) are set by hooks from [`Metrics::on_scrape`].
//!
//! # Layout
//! - `catalog`: the family table and name constants.
//! - `labels`: closed label vocabularies ([`Outcome`], [`BindType`], [`Event`], ...).
//! - `handle`: the handle newtypes.
//! - `families`: registration of the labelled families and histogram buckets.
//! - `account`, `upstream`, `filter`: handle sets.
//! - `events`: the collector for counters kept outside this crate.
//! - [`exposition`]: reading a text exposition back (tests and checks).
//!
//! # Cargo features
//! None. Process metrics (`process_*`) are collected on Linux.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod account;
mod catalog;
mod events;
pub mod exposition;
mod families;
mod filter;
mod handle;
mod labels;
mod upstream;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::{Encoder, Registry, TextEncoder};

pub use account::AccountMetrics;
pub use catalog::{CATALOG, FamilyInfo, Kind, Scope, family, markdown_table, names};
pub use events::EventValues;
pub use families::{LATENCY_BUCKETS, SCAN_BUCKETS};
pub use filter::FilterMetrics;
pub use handle::{Counter, FloatGauge, Gauge, Histogram};
pub use labels::{BindType, DeliverKind, DropReason, Event, MessageKind, Outcome};
pub use upstream::UpstreamMetrics;

use catalog::names::*;
use events::EventCollector;
use families::{Families, counter, float_gauge, gauge};

/// Why the metrics could not be set up (a family failed to register: a catalog error).
#[derive(Debug, thiserror::Error)]
#[error("metrics: {0}")]
pub struct MetricsError(String);

impl From<prometheus::Error> for MetricsError {
    fn from(e: prometheus::Error) -> Self {
        MetricsError(e.to_string())
    }
}

/// What the metrics need to know from the rest of smppguard.
#[derive(Debug, Clone, Default)]
pub struct MetricsOptions {
    /// The build's version, for `smppguard_build_info`.
    pub version: &'static str,
    /// Rule category label values, in the order the caller indexes them.
    pub rule_categories: Vec<&'static str>,
    /// Rule action label values, in the order the caller indexes them.
    pub rule_actions: Vec<&'static str>,
}

/// Handles of the unlabelled families.
#[derive(Debug)]
pub struct GlobalMetrics {
    /// 1 while ready to take traffic.
    pub ready: Gauge,
    /// 1 while draining.
    pub draining: Gauge,
    /// Open ESME connections.
    pub downstream_connections: Gauge,
    /// Requests admitted and not yet answered.
    pub requests_outstanding: Gauge,
    /// Multi-part messages held.
    pub hold_messages: Gauge,
    /// Bytes held.
    pub hold_bytes: Gauge,
    /// `hold.max_messages`.
    pub hold_max_messages: Gauge,
    /// `hold.max_bytes`.
    pub hold_max_bytes: Gauge,
    /// message_ids remembered for receipts.
    pub receipts_tracked: Gauge,
    /// Audit records queued.
    pub audit_queue_records: Gauge,
    /// Age of the oldest record of the last audit batch written.
    pub audit_write_lag_seconds: FloatGauge,
    /// Audit files rotated.
    pub audit_rotations: Counter,
    /// Quarantined messages kept.
    pub quarantine_messages: Gauge,
    /// Bytes of the quarantined messages kept.
    pub quarantine_bytes: Gauge,
    /// Quarantined messages released.
    pub quarantine_released: Counter,
    /// Quarantined messages deleted.
    pub quarantine_deleted: Counter,
    /// Quarantined messages evicted from a full quarantine.
    pub quarantine_evicted: Counter,
    /// 1 if the last reload succeeded.
    pub config_last_reload_successful: Gauge,
    /// Unix time of the last successful (re)load.
    pub config_last_reload_success_timestamp_seconds: FloatGauge,
    /// The rate limiter's state.
    pub limits: LimitsMetrics,
    /// Failed TLS handshakes.
    pub tls_handshake_failures: TlsHandshakeFailures,
    unintentional: [Counter; DropReason::COUNT],
}

/// Handles of `smppguard_tls_handshake_failures_total`, one per side and reason.
#[derive(Debug)]
pub struct TlsHandshakeFailures {
    /// An ESME's handshake failed (not TLS, bad or missing certificate, protocol error).
    pub downstream_error: Counter,
    /// An ESME did not finish its handshake in time.
    pub downstream_timeout: Counter,
    /// The handshake with an SMSC failed (its certificate, or a protocol error).
    pub upstream_error: Counter,
    /// An SMSC did not finish the handshake in time.
    pub upstream_timeout: Counter,
}

/// The rate limiter's series. Until a limiter reports, the backend state is `local`.
#[derive(Debug)]
pub struct LimitsMetrics {
    state: prometheus::IntGaugeVec,
    denied: prometheus::IntCounterVec,
    monitored: prometheus::IntCounterVec,
    restricted: prometheus::IntGaugeVec,
    restrictions: prometheus::IntCounterVec,
    syncs: prometheus::IntCounterVec,
    /// Keys tracked.
    pub tracked_keys: Gauge,
    /// Connections (re)established to Redis.
    pub redis_connects: Counter,
    /// Units leased ahead from Redis.
    pub redis_units_leased: Counter,
    /// Messages allowed on local limits while Redis was unavailable.
    pub degraded_allowed: Counter,
}

/// Totals kept by the rate limiter itself, copied into the counters at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimiterTotals {
    /// Syncs with Redis that succeeded.
    pub redis_syncs_ok: u64,
    /// Syncs with Redis that failed.
    pub redis_syncs_failed: u64,
    /// Connections (re)established to Redis.
    pub redis_connects: u64,
    /// Units leased ahead from Redis.
    pub redis_units_leased: u64,
    /// Messages allowed on local limits while degraded.
    pub degraded_allowed: u64,
}

impl LimitsMetrics {
    /// The backend states, as the `state` label writes them.
    pub const STATES: [&'static str; 3] = ["local", "redis", "degraded"];

    /// Sets the backend state (`local`, `redis` or `degraded`); the other two go to 0.
    pub fn set_state(&self, state: &str) {
        for s in Self::STATES {
            self.state
                .with_label_values(&[s])
                .set(i64::from(s == state));
        }
    }

    /// The counter of messages denied by `limit`: resolve once per limit and keep it.
    pub fn denied(&self, limit: &str) -> Counter {
        Counter(self.denied.with_label_values(&[limit]))
    }

    /// The counter of messages a monitor-mode `limit` let through: resolve once and keep it.
    pub fn monitored(&self, limit: &str) -> Counter {
        Counter(self.monitored.with_label_values(&[limit]))
    }

    /// Sets the number of accounts restricted now, by kind (`throttled`, `suspended`).
    pub fn set_restricted(&self, throttled: usize, suspended: usize) {
        for (kind, n) in [("throttled", throttled), ("suspended", suspended)] {
            self.restricted
                .with_label_values(&[kind])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Counts one adaptive restriction put in force (not on the message path).
    pub fn restriction(&self, kind: &str, reason: &str) {
        self.restrictions.with_label_values(&[kind, reason]).inc();
    }

    /// Raises the Redis counters to the limiter's own totals (they only grow).
    pub fn set_totals(&self, t: &LimiterTotals) {
        let raise = |c: &Counter, total: u64| c.inc_by(total.saturating_sub(c.get()));
        raise(
            &Counter(self.syncs.with_label_values(&["ok"])),
            t.redis_syncs_ok,
        );
        raise(
            &Counter(self.syncs.with_label_values(&["failed"])),
            t.redis_syncs_failed,
        );
        raise(&self.redis_connects, t.redis_connects);
        raise(&self.redis_units_leased, t.redis_units_leased);
        raise(&self.degraded_allowed, t.degraded_allowed);
    }
}

impl GlobalMetrics {
    /// Counts one message lost without intent.
    pub fn unintentional_drop(&self, reason: DropReason) {
        if let Some(c) = self.unintentional.get(reason.index()) {
            c.inc();
        }
    }

    /// Messages lost for `reason` so far.
    pub fn unintentional_drops(&self, reason: DropReason) -> u64 {
        self.unintentional
            .get(reason.index())
            .map_or(0, Counter::get)
    }
}

type Hook = Box<dyn Fn() + Send + Sync>;

/// The registry and every family of one smppguard process (or one proxy in a test).
pub struct Metrics {
    registry: Registry,
    fams: Arc<Families>,
    /// The unlabelled handles.
    pub global: GlobalMetrics,
    /// The filter's handles.
    pub filter: FilterMetrics,
    global_outcomes: Arc<[Counter; Outcome::COUNT]>,
    categories: Arc<[&'static str]>,
    events: Arc<parking_lot::RwLock<Option<events::EventSource>>>,
    hooks: Mutex<Vec<Hook>>,
    accounts: Mutex<HashMap<Arc<str>, Arc<AccountMetrics>>>,
    upstreams: Mutex<HashMap<String, Arc<UpstreamMetrics>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every family in a new registry, plus the process collector.
    pub fn new(opts: MetricsOptions) -> Result<Arc<Metrics>, MetricsError> {
        let registry = Registry::new();
        let fams = Arc::new(Families::register(&registry)?);
        let events = EventCollector::new()?;
        let source = Arc::clone(&events.source);
        registry.register(Box::new(events))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let reg = &registry;
        let global = GlobalMetrics {
            ready: gauge(reg, READY)?,
            draining: gauge(reg, DRAINING)?,
            downstream_connections: gauge(reg, DOWNSTREAM_CONNECTIONS)?,
            requests_outstanding: gauge(reg, REQUESTS_OUTSTANDING)?,
            hold_messages: gauge(reg, HOLD_MESSAGES)?,
            hold_bytes: gauge(reg, HOLD_BYTES)?,
            hold_max_messages: gauge(reg, HOLD_MAX_MESSAGES)?,
            hold_max_bytes: gauge(reg, HOLD_MAX_BYTES)?,
            receipts_tracked: gauge(reg, RECEIPTS_TRACKED)?,
            audit_queue_records: gauge(reg, AUDIT_QUEUE_RECORDS)?,
            audit_write_lag_seconds: float_gauge(reg, AUDIT_WRITE_LAG_SECONDS)?,
            audit_rotations: counter(reg, AUDIT_ROTATIONS_TOTAL)?,
            quarantine_messages: gauge(reg, QUARANTINE_MESSAGES)?,
            quarantine_bytes: gauge(reg, QUARANTINE_BYTES)?,
            quarantine_released: Counter(fams.quarantine_actions.with_label_values(&["released"])),
            quarantine_deleted: Counter(fams.quarantine_actions.with_label_values(&["deleted"])),
            quarantine_evicted: Counter(fams.quarantine_actions.with_label_values(&["evicted"])),
            config_last_reload_successful: gauge(reg, CONFIG_LAST_RELOAD_SUCCESSFUL)?,
            config_last_reload_success_timestamp_seconds: float_gauge(
                reg,
                CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
            )?,
            limits: LimitsMetrics {
                state: families::gauge_vec(reg, LIMITS_BACKEND_STATE)?,
                denied: families::counter_vec(reg, LIMITS_DENIED_TOTAL)?,
                monitored: families::counter_vec(reg, LIMITS_MONITORED_TOTAL)?,
                restricted: families::gauge_vec(reg, LIMITS_RESTRICTED_ACCOUNTS)?,
                restrictions: families::counter_vec(reg, LIMITS_RESTRICTIONS_TOTAL)?,
                syncs: families::counter_vec(reg, LIMITS_REDIS_SYNCS_TOTAL)?,
                tracked_keys: gauge(reg, LIMITS_TRACKED_KEYS)?,
                redis_connects: counter(reg, LIMITS_REDIS_CONNECTS_TOTAL)?,
                redis_units_leased: counter(reg, LIMITS_REDIS_UNITS_LEASED_TOTAL)?,
                degraded_allowed: counter(reg, LIMITS_DEGRADED_ALLOWED_TOTAL)?,
            },
            tls_handshake_failures: {
                let v = families::counter_vec(reg, TLS_HANDSHAKE_FAILURES_TOTAL)?;
                let c = |side: &str, reason: &str| Counter(v.with_label_values(&[side, reason]));
                TlsHandshakeFailures {
                    downstream_error: c("downstream", "error"),
                    downstream_timeout: c("downstream", "timeout"),
                    upstream_error: c("upstream", "error"),
                    upstream_timeout: c("upstream", "timeout"),
                }
            },
            unintentional: DropReason::table(|r| {
                Counter(fams.unintentional.with_label_values(&[r.as_str()]))
            }),
        };
        global.config_last_reload_successful.set(1);
        global.limits.set_state("local");
        global.limits.set_restricted(0, 0);
        global.limits.set_totals(&LimiterTotals::default());
        fams.build_info.with_label_values(&[opts.version]).set(1);
        let global_outcomes = Arc::new(Outcome::table(|o| {
            Counter(fams.requests.with_label_values(&[o.as_str()]))
        }));
        let categories: Arc<[&'static str]> = opts.rule_categories.into();
        let filter = FilterMetrics::new(&fams, &categories, opts.rule_actions.into());
        Ok(Arc::new(Metrics {
            registry,
            fams,
            global,
            filter,
            global_outcomes,
            categories,
            events: source,
            hooks: Mutex::new(Vec::new()),
            accounts: Mutex::new(HashMap::new()),
            upstreams: Mutex::new(HashMap::new()),
        }))
    }

    /// The handles of account `system_id`, created on first call and shared after.
    pub fn account(&self, system_id: &str) -> Arc<AccountMetrics> {
        let mut map = self.accounts.lock();
        if let Some(a) = map.get(system_id) {
            return Arc::clone(a);
        }
        let id: Arc<str> = Arc::from(system_id);
        let a = Arc::new(AccountMetrics::new(
            Arc::clone(&id),
            Arc::clone(&self.fams),
            Arc::clone(&self.global_outcomes),
            self.global
                .unintentional
                .get(DropReason::UnansweredRequest.index())
                .cloned()
                .unwrap_or_default(),
            Arc::clone(&self.categories),
        ));
        map.insert(id, Arc::clone(&a));
        a
    }

    /// Forgets the accounts `keep` rejects and removes their series, so an account
    /// removed from the configuration stops being exported.
    pub fn retain_accounts(&self, keep: impl Fn(&str) -> bool) {
        let mut map = self.accounts.lock();
        map.retain(|id, a| {
            let kept = keep(id);
            if !kept {
                a.remove_series();
            }
            kept
        });
    }

    /// Every configured account's handles.
    pub fn accounts(&self) -> Vec<Arc<AccountMetrics>> {
        self.accounts.lock().values().cloned().collect()
    }

    /// The handles of upstream `name`, created on first call and shared after.
    pub fn upstream(&self, name: &str) -> Arc<UpstreamMetrics> {
        let mut map = self.upstreams.lock();
        if let Some(u) = map.get(name) {
            return Arc::clone(u);
        }
        let u = Arc::new(UpstreamMetrics::new(name, &self.fams));
        map.insert(name.to_string(), Arc::clone(&u));
        u
    }

    /// The total of one outcome over every account.
    pub fn outcome_total(&self, outcome: Outcome) -> u64 {
        self.global_outcomes
            .get(outcome as usize)
            .map_or(0, Counter::get)
    }

    /// Counts one admin API request (not on the message path: resolves its labels).
    pub fn admin_request(&self, endpoint: &'static str, code: u16) {
        self.fams
            .admin_requests
            .with_label_values(&[endpoint, &code.to_string()])
            .inc();
    }

    /// Sets the source of the [`Event`] counters, read on every scrape.
    pub fn set_event_source(&self, source: impl Fn(&mut EventValues) + Send + Sync + 'static) {
        *self.events.write() = Some(Box::new(source));
    }

    /// Adds a hook run before every scrape, to set gauges that are cheap to read then.
    pub fn on_scrape(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.hooks.lock().push(Box::new(hook));
    }

    /// Runs the scrape hooks and renders every family in the Prometheus text format
    /// (version 0.0.4).
    pub fn encode(&self) -> Result<String, MetricsError> {
        for hook in self.hooks.lock().iter() {
            hook();
        }
        let families = self.registry.gather();
        let mut buf = Vec::with_capacity(64 * 1024);
        TextEncoder::new().encode(&families, &mut buf)?;
        String::from_utf8(buf).map_err(|e| MetricsError(e.to_string()))
    }

    /// The content type of [`Metrics::encode`]'s output.
    pub const CONTENT_TYPE: &'static str = "text/plain; version=0.0.4; charset=utf-8";
}

#[cfg(test)]
mod tests;
