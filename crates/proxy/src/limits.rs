//! Rate limits, quotas and adaptive protection on the request path, through
//! `smppguard-limits`.
//!
//! Every submit_sm, data_sm and submit_multi that the content filter lets through is
//! checked once per message, with all its parts, just before it is forwarded: a
//! multi-part message is checked when the hold releases it whole, so message limits
//! count it once, part limits count every part, and all parts pass or fail together.
//! A refused message is answered with the limit's status on every part and nothing of
//! it reaches an SMSC. Every inspected message (blocked or not) feeds adaptive
//! protection, whose restrictions apply from the next message on.
//!
//! The `[limits]` section is part of the reloadable configuration: a reload keeps the
//! counters of unchanged limits (the limiter carries them over). The backend and the
//! Redis settings are static; a reload that changes them keeps the running ones and
//! reports that a restart is needed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use smppguard_codec::{CommandId, CommandStatus};
use smppguard_limits::config::Backend;
use smppguard_limits::{
    AccountState, CheckRequest, Decision, Health, LimitKind, Limiter, LimitsConfig, Nanos,
    RestrictionKind, UnixTime,
};
use smppguard_metrics::{Counter, LimiterTotals, Metrics, Outcome};

use crate::config::{ConfigError, DynamicConfig};
use crate::server::Shared;
use crate::stats::add;
use crate::upstream::Part;

/// How often idle keys are evicted and expired leases given back.
const EVICT_INTERVAL: Duration = Duration::from_secs(1);

/// The proxy's limiter and the metric handles of its decisions.
pub(crate) struct Limits {
    limiter: Limiter,
    /// Whether the configuration sets any limit or policy; without one the request
    /// path skips the limiter altogether.
    enabled: AtomicBool,
    /// The running `[limits]`, for the static part of reload comparisons.
    backend: Backend,
    redis: Option<smppguard_limits::config::RedisConfig>,
    /// Per limit, in `LimitKind::ALL` order; every series exported from the start, so
    /// dashboards and alerts see zeros rather than nothing.
    denied: [Counter; LimitKind::ALL.len()],
    monitored: [Counter; LimitKind::ALL.len()],
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("backend", &self.backend.as_str())
            .field("enabled", &self.enabled.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// What the limiter said about a message about to be forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Limits do not apply (not a submit type, or no limits configured).
    Skipped,
    /// Every limit passed and took its units.
    Passed,
    /// Refused: answer every part with `status`, counted as `outcome`.
    Refused {
        /// `throttled`, or `suspended` for a suspended account.
        outcome: Outcome,
        /// The limit's configured status.
        status: CommandStatus,
    },
}

/// Checks `[limits]` against the rest of the configuration and stores it in `dynamic`.
pub(crate) fn validate(raw: LimitsConfig, dynamic: &mut DynamicConfig) -> Result<(), ConfigError> {
    raw.validate().map_err(|e| ConfigError::Invalid {
        key: e.path,
        reason: e.problem,
    })?;
    if let Some(id) = raw
        .accounts
        .keys()
        .find(|id| !dynamic.accounts.contains_key(id.as_str()))
    {
        return Err(ConfigError::Invalid {
            key: format!("limits.accounts.{id}"),
            reason: "names no account in [[accounts]]".into(),
        });
    }
    dynamic.limits = Arc::new(raw);
    Ok(())
}

fn limit_index(kind: LimitKind) -> usize {
    LimitKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX)
}

/// Whether `config` sets anything the request path must check.
fn configured(config: &LimitsConfig) -> bool {
    !config.accounts.is_empty()
        || config.default_group.is_some()
        || config.destinations.is_some()
        || !config.prefixes.is_empty()
}

impl Limits {
    /// A limiter for `config`; with the Redis backend it starts degraded until
    /// [`run`]'s driver connects.
    pub(crate) fn new(config: &LimitsConfig, metrics: Arc<Metrics>) -> Result<Self, ConfigError> {
        let limiter = Limiter::new(config).map_err(|e| ConfigError::Invalid {
            key: e.path,
            reason: e.problem,
        })?;
        Ok(Limits {
            limiter,
            enabled: AtomicBool::new(configured(config)),
            backend: config.backend,
            redis: config.redis.clone(),
            denied: LimitKind::ALL.map(|k| metrics.global.limits.denied(k.as_str())),
            monitored: LimitKind::ALL.map(|k| metrics.global.limits.monitored(k.as_str())),
            metrics,
        })
    }

    /// The limiter, for admin actions and tests.
    pub(crate) fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Swaps in a new `[limits]`, keeping the counters of unchanged limits. Returns the
    /// static keys that changed: they keep their running values until a restart.
    pub(crate) fn reload(&self, config: &LimitsConfig) -> Result<Vec<&'static str>, ConfigError> {
        let mut restart = Vec::new();
        let mut effective = config.clone();
        if effective.backend != self.backend {
            restart.push("limits.backend");
            effective.backend = self.backend;
        }
        if effective.redis != self.redis {
            restart.push("limits.redis");
            effective.redis.clone_from(&self.redis);
        }
        self.limiter
            .reload(&effective)
            .map_err(|e| ConfigError::Invalid {
                key: e.path,
                reason: e.problem,
            })?;
        self.enabled.store(configured(config), Ordering::Relaxed);
        Ok(restart)
    }

    /// Backend health, for readiness and metrics.
    pub(crate) fn health(&self) -> Health {
        self.limiter.health()
    }

    /// The limiter's view of every account it tracks.
    pub(crate) fn accounts_state(&self) -> Vec<AccountState> {
        self.limiter.accounts_state(Nanos::now(), UnixTime::now())
    }

    fn denied_counter(&self, kind: LimitKind) -> Option<&Counter> {
        self.denied.get(limit_index(kind))
    }

    fn monitored_counter(&self, kind: LimitKind) -> Option<&Counter> {
        self.monitored.get(limit_index(kind))
    }
}

/// Takes the limiter's bind slot for a new session of `account` (counted fleet-wide with
/// Redis); `None` without configured limits. Refused when `max_binds` in `[limits]` is
/// reached.
pub(crate) fn acquire_bind(
    shared: &Shared,
    account: &str,
) -> Result<Option<smppguard_limits::Permit>, smppguard_limits::Denied> {
    let limits = &shared.limits;
    if !limits.enabled.load(Ordering::Relaxed) {
        return Ok(None);
    }
    match limits.limiter.acquire_bind(account) {
        Ok(permit) => {
            if let Some(c) = permit.monitored().and_then(|l| limits.monitored_counter(l)) {
                c.inc();
            }
            Ok(Some(permit))
        }
        Err(denied) => {
            if let Some(c) = limits.denied_counter(denied.limit) {
                c.inc();
            }
            tracing::info!(account, "bind refused: limits max_binds reached");
            Err(denied)
        }
    }
}

/// Whether limits apply to `parts`: limits are configured and the request is a
/// submit_sm, data_sm or submit_multi.
pub(crate) fn applies(shared: &Shared, parts: &[Part]) -> bool {
    shared.limits.enabled.load(Ordering::Relaxed)
        && parts.first().is_some_and(|p| {
            matches!(
                p.reply.command_id(),
                CommandId::SUBMIT_SM | CommandId::DATA_SM | CommandId::SUBMIT_MULTI
            )
        })
}

fn parts_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks one message (all its `parts`) against every limit that applies to it, at
/// `now` (read once per message by the caller, which feeds [`observe`] the same instant).
pub(crate) fn check(
    shared: &Shared,
    parts: &[Part],
    account: &str,
    source_addr: &str,
    destination_addr: &str,
    now: Nanos,
) -> Check {
    if !applies(shared, parts) {
        return Check::Skipped;
    }
    let limits = &shared.limits;
    let decision = limits.limiter.check(&CheckRequest {
        account,
        source_addr,
        destination_addr,
        parts: parts_u32(parts.len()),
        now,
        wall_clock: UnixTime::now(),
    });
    match decision {
        Decision::Allow => Check::Passed,
        Decision::Monitor { limit } => {
            if let Some(c) = limits.monitored_counter(limit) {
                c.inc();
            }
            Check::Passed
        }
        Decision::Deny { limit, status } => {
            if let Some(c) = limits.denied_counter(limit) {
                c.inc();
            }
            add(&shared.stats.requests_throttled, parts.len() as u64);
            tracing::debug!(
                account,
                limit = limit.as_str(),
                status,
                parts = parts.len(),
                "message refused by a limit"
            );
            Check::Refused {
                outcome: if limit == LimitKind::Suspended {
                    Outcome::Suspended
                } else {
                    Outcome::Throttled
                },
                status: CommandStatus(status),
            }
        }
    }
}

/// Gives back the units a passed message took when it could not be forwarded after
/// all (no upstream session could take it).
pub(crate) fn refund(
    shared: &Shared,
    parts: usize,
    account: &str,
    source_addr: &str,
    destination_addr: &str,
) {
    shared.limits.limiter.refund(&CheckRequest {
        account,
        source_addr,
        destination_addr,
        parts: parts_u32(parts),
        now: Nanos::now(),
        wall_clock: UnixTime::now(),
    });
}

/// Feeds adaptive protection with the filter's verdict on one message at `now`; logs and
/// counts a restriction it puts in force.
pub(crate) fn observe(
    shared: &Shared,
    account: &str,
    blocked: bool,
    destination_addr: &str,
    now: Nanos,
) {
    let Some(r) = shared
        .limits
        .limiter
        .observe_verdict(account, blocked, destination_addr, now)
    else {
        return;
    };
    shared
        .limits
        .metrics
        .global
        .limits
        .restriction(r.kind.as_str(), r.reason.as_str());
    tracing::warn!(
        account,
        kind = r.kind.as_str(),
        reason = r.reason.as_str(),
        detail = ?r.reason,
        throttle_messages_per_second = r.throttle_messages_per_second,
        until_released = r.until.is_none(),
        "account restricted by adaptive protection"
    );
}

/// Background work of the limiter: the Redis driver (with that backend) and the
/// periodic eviction of idle keys. Runs until the proxy stops.
pub(crate) async fn run(shared: Arc<Shared>) {
    let driver = shared.limits.limiter.redis_driver();
    let redis = async move {
        if let Some(d) = driver {
            tracing::info!(node_id = d.node_id(), "limits: redis backend starting");
            d.run(std::future::pending::<()>()).await;
        }
    };
    let evict = async {
        let mut tick = tokio::time::interval(EVICT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_state = None;
        loop {
            tick.tick().await;
            shared.limits.limiter.evict_idle(Nanos::now());
            let h = shared.limits.health();
            if last_state != Some(h.state) {
                match h.reason {
                    Some(reason) => tracing::warn!(
                        state = h.state.as_str(),
                        reason,
                        ready = h.ready,
                        "limits backend state"
                    ),
                    None => tracing::info!(state = h.state.as_str(), "limits backend state"),
                }
                last_state = Some(h.state);
            }
        }
    };
    tokio::join!(redis, evict);
}

/// Sets the limiter's gauges and copies its totals into the counters (scrape time).
pub(crate) fn scrape(shared: &Shared) {
    let limits = &shared.limits;
    let m = &shared.metrics.global.limits;
    m.set_state(limits.health().state.as_str());
    let stats = limits.limiter.stats();
    m.tracked_keys
        .set(i64::try_from(stats.tracked_keys).unwrap_or(i64::MAX));
    m.set_totals(&LimiterTotals {
        redis_syncs_ok: stats.redis_syncs_total,
        redis_syncs_failed: stats.redis_sync_failures_total,
        redis_connects: stats.redis_connects_total,
        redis_units_leased: stats.redis_units_leased_total,
        degraded_allowed: stats.degraded_allowed_total,
    });
    let (mut throttled, mut suspended) = (0, 0);
    for a in limits.accounts_state() {
        match a.restriction.map(|r| r.kind) {
            Some(RestrictionKind::Throttled) => throttled += 1,
            Some(RestrictionKind::Suspended) => suspended += 1,
            None => {}
        }
    }
    m.set_restricted(throttled, suspended);
}
