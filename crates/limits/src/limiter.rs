//! The [`Limiter`]: per-message checks, concurrency permits, adaptive protection, snapshots
//! and reload.
//!
//! State is split by lifetime. A [`Generation`] holds what one configuration builds (resolved
//! plans, rate cells, prefix tables) and is swapped atomically on reload; cells whose
//! parameters did not change move to the new generation, so their counters survive. Account
//! cores (bind and window counts, quota usage, restrictions, the adaptive window) live as long
//! as the process and are shared by every generation. Keyed state (per sender, destination,
//! pair) sits in one sharded table keyed by a limit id that only changes with the parameters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use arrayvec::ArrayVec;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::adaptive::{Active, Guard, Restriction, RestrictionKind, RestrictionReason};
use crate::config::{
    AccountPlan, Backend, ConfigError, CountPlan, LimitsConfig, Plan, QUOTA_KINDS, QuotaPlan,
    RatePlan,
};
use crate::decision::{Decision, Denied, ESME_RTHROTTLED, LimitKind};
use crate::gcra::{GcraCell, GcraParams};
use crate::key::AddressKey;
use crate::lease::{CellKind, LeaseState, Pending, RemoteCell, RemoteShared, Take, Tuning};
use crate::quota::QuotaCell;
use crate::table::{Access, ShardedTable, TableKey};
use crate::time::{Nanos, UnixTime, day_index, month_index};

#[cfg(test)]
mod tests;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Name used for unlisted accounts beyond `max_unlisted_accounts`.
const OVERFLOW_ACCOUNT: &str = "*";
const QUOTA_SUFFIX: [&str; 4] = ["dm", "dp", "mm", "mp"];
const PPM: f64 = 1_000_000.0;

/// One message to check: who sends, from which sender ID, to whom, how many parts, and when.
#[derive(Clone, Copy, Debug)]
pub struct CheckRequest<'a> {
    /// The bound account (`system_id`).
    pub account: &'a str,
    /// `source_addr` (sender ID) as received.
    pub source_addr: &'a str,
    /// `destination_addr` as received (normalised here, see [`AddressKey`]).
    pub destination_addr: &'a str,
    /// Parts (segments) of the message; 0 counts as 1. A concatenated message is checked once
    /// with all its parts, so they pass or fail together.
    pub parts: u32,
    /// Monotonic time of the check.
    pub now: Nanos,
    /// Wall-clock time, for daily and monthly quotas.
    pub wall_clock: UnixTime,
}

/// The limiter. Cheap to clone; clones share all state.
#[derive(Clone)]
pub struct Limiter {
    pub(crate) shared: Arc<Shared>,
}

/// State shared by all clones and by the Redis driver.
pub(crate) struct Shared {
    generation: ArcSwap<Generation>,
    reload: Mutex<()>,
    cores: Mutex<FastMap<Arc<str>, Arc<AccountCore>>>,
    pub(crate) keyed: Keyed,
    pub(crate) registry: Mutex<Registry>,
    month_cache: AtomicU64,
    backend: Backend,
    pub(crate) remote: Option<Arc<RemoteShared>>,
    pub(crate) redis: Option<crate::config::RedisConfig>,
    untracked: AtomicU64,
}

/// Keyed limit state, by backend.
pub(crate) enum Keyed {
    Local(ShardedTable<u64>),
    Remote(ShardedTable<LeaseState>),
}

/// Stable ids for keyed limits: same scope and parameters, same id (and same table entries).
#[derive(Default)]
pub(crate) struct Registry {
    ids: HashMap<(String, GcraParams), u32>,
    info: Vec<(String, GcraParams)>,
}

impl Registry {
    fn id(&mut self, scope: String, params: GcraParams) -> u32 {
        if let Some(id) = self.ids.get(&(scope.clone(), params)) {
            return *id;
        }
        let id = u32::try_from(self.info.len()).unwrap_or(u32::MAX);
        self.info.push((scope.clone(), params));
        self.ids.insert((scope, params), id);
        id
    }

    /// Parameters of every keyed limit, by id.
    pub(crate) fn params(&self) -> Vec<GcraParams> {
        self.info.iter().map(|(_, p)| *p).collect()
    }

    /// Redis scope and parameters of a keyed limit.
    pub(crate) fn get(&self, id: u32) -> Option<&(String, GcraParams)> {
        self.info.get(usize::try_from(id).ok()?)
    }
}

/// A rate limit's state.
pub(crate) enum RateCell {
    Local(GcraCell),
    Remote(Arc<RemoteCell>),
}

/// A quota's state.
pub(crate) enum QuotaSlot {
    Local(QuotaCell),
    Remote(Arc<RemoteCell>),
}

/// Per-account state that outlives configurations.
pub(crate) struct AccountCore {
    pub(crate) name: Arc<str>,
    pub(crate) binds: AtomicU32,
    /// Binds of this account on other nodes (Redis backend).
    pub(crate) fleet_binds: AtomicU32,
    window: AtomicU32,
    pub(crate) quotas: [QuotaSlot; 4],
    pub(crate) guard: Guard,
    meter: Meter,
    denied: AtomicU64,
}

/// Messages allowed in the current and the previous whole second.
#[derive(Default)]
struct Meter {
    /// second (24 bits) | count (40 bits)
    current: AtomicU64,
    previous: AtomicU64,
}

impl Meter {
    #[inline]
    fn record(&self, now: u64) {
        let second = (now / 1_000_000_000) & 0xff_ffff;
        let word = self.current.load(Ordering::Relaxed);
        if word >> 40 == second {
            self.current.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if self
            .current
            .compare_exchange(
                word,
                (second << 40) | 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            let prev = if (word >> 40) + 1 == second {
                word & ((1 << 40) - 1)
            } else {
                0
            };
            self.previous.store(prev, Ordering::Relaxed);
        } else {
            self.current.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn last_second(&self, now: u64) -> u64 {
        let second = (now / 1_000_000_000) & 0xff_ffff;
        let word = self.current.load(Ordering::Relaxed);
        let at = word >> 40;
        if at == second {
            self.previous.load(Ordering::Relaxed)
        } else if at + 1 == second {
            word & ((1 << 40) - 1)
        } else {
            0
        }
    }
}

/// What one configuration built for one account.
struct AccountRuntime {
    plan: Arc<AccountPlan>,
    core: Arc<AccountCore>,
    listed: bool,
    rate: Option<(RatePlan, Arc<RateCell>)>,
    parts_rate: Option<(RatePlan, Arc<RateCell>)>,
    sender: Option<(RatePlan, u32)>,
    pair: Option<(RatePlan, u32)>,
}

/// Accounts that are not listed: created on first use with the default plan.
struct Unlisted {
    plan: Arc<AccountPlan>,
    map: RwLock<FastMap<Arc<str>, Arc<AccountRuntime>>>,
    max: usize,
    overflow: Arc<AccountRuntime>,
}

struct PrefixRuntime {
    plan: RatePlan,
    cell: Arc<RateCell>,
    prefix: String,
}

/// Everything one configuration built.
struct Generation {
    plan: Plan,
    accounts: FastMap<Arc<str>, Arc<AccountRuntime>>,
    unlisted: Unlisted,
    destinations: Option<(RatePlan, u32)>,
    prefixes: Vec<PrefixRuntime>,
    /// Sentinel-coded prefix (as [`AddressKey`]) -> index in `prefixes`.
    prefix_index: FastMap<u64, usize>,
    /// Distinct prefix lengths, longest first.
    prefix_lens: Vec<u32>,
}

/// An account runtime borrowed from the generation or held for an unlisted account.
enum RuntimeRef<'g> {
    Listed(&'g AccountRuntime),
    Unlisted(Arc<AccountRuntime>),
}

impl std::ops::Deref for RuntimeRef<'_> {
    type Target = AccountRuntime;
    fn deref(&self) -> &AccountRuntime {
        match self {
            RuntimeRef::Listed(r) => r,
            RuntimeRef::Unlisted(r) => r,
        }
    }
}

/// Units taken by one check, to give back if a later limit refuses.
enum Receipt<'a> {
    Rate(&'a RateCell, GcraParams, u64),
    Throttle(&'a GcraCell, GcraParams, u64),
    Keyed(TableKey, GcraParams, u64),
    Quota(&'a QuotaSlot, u32, u64),
}

/// Outcome of one limit's take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Taken,
    /// Passed without taking anything (untracked key).
    Passed,
    Exceeded,
    Unavailable,
}

/// Where limits are kept and whether they are currently shared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// In-process limits only.
    Local,
    /// Fleet-wide limits through Redis, working.
    Redis,
    /// Redis backend configured but unreachable or slow: local limits at `local_share`
    /// (fail-open) or refusing (fail-closed).
    Degraded,
}

impl HealthState {
    /// Stable name for labels: `local`, `redis` or `degraded`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HealthState::Local => "local",
            HealthState::Redis => "redis",
            HealthState::Degraded => "degraded",
        }
    }
}

/// Backend health, for readiness and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Current state.
    pub state: HealthState,
    /// Why it is degraded (bounded: `connecting`, `connect_failed`, `request_failed`,
    /// `timeout`, `script_error`).
    pub reason: Option<&'static str>,
    /// When the state began (monotonic, [`Nanos::now`] origin).
    #[serde(skip)]
    pub since: Option<Nanos>,
    /// Whether the node can serve: false only when degraded and failing closed.
    pub ready: bool,
}

/// Usage of one quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaUsage {
    /// Which quota.
    pub kind: LimitKind,
    /// Units counted in the current period (fleet-wide view as of the last sync with Redis).
    pub used: u64,
    /// The configured limit.
    pub limit: u64,
}

/// One account in [`Limiter::accounts_state`], for the admin API.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountState {
    /// `system_id`.
    pub account: String,
    /// Configured group, if any.
    pub group: Option<String>,
    /// Listed in `limits.accounts` (false: default group or no limits).
    pub listed: bool,
    /// Messages allowed in the last whole second (live rate).
    pub messages_last_second: u64,
    /// Messages refused since start.
    pub denied_total: u64,
    /// Configured messages per second.
    pub messages_per_second: Option<f64>,
    /// Messages that could pass right now under the account rate (this node's view).
    pub rate_available: Option<u64>,
    /// Quotas and their usage.
    pub quotas: Vec<QuotaUsage>,
    /// Binds on this node.
    pub binds: u32,
    /// Binds on other nodes (Redis backend).
    pub fleet_binds: u32,
    /// Configured bind limit.
    pub max_binds: Option<u32>,
    /// Outstanding requests on this node.
    pub window: u32,
    /// Configured window.
    pub max_window: Option<u32>,
    /// Blocked and total messages in the adaptive window.
    pub adaptive_window: (u64, u64),
    /// Restriction in force.
    pub restriction: Option<Restriction>,
}

/// Table and backend counters, for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LimiterStats {
    /// Keys tracked by per-sender, per-destination and per-pair limits.
    pub tracked_keys: u64,
    /// Estimated heap bytes of that tracking.
    pub tracked_key_bytes: u64,
    /// Messages that passed a keyed limit untracked because the table was full.
    pub untracked_total: u64,
    /// Syncs with Redis that succeeded.
    pub redis_syncs_total: u64,
    /// Syncs with Redis that failed.
    pub redis_sync_failures_total: u64,
    /// Units leased ahead from Redis.
    pub redis_units_leased_total: u64,
    /// Units reported to Redis after passing on allowance.
    pub redis_units_reported_total: u64,
    /// Messages passed on local limits while degraded.
    pub degraded_allowed_total: u64,
    /// Connections (re)established to Redis.
    pub redis_connects_total: u64,
}

/// The kind of concurrency slot a [`Permit`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PermitKind {
    Bind,
    Window,
}

/// A held bind or window slot; dropping it frees the slot.
#[must_use = "dropping the permit frees the slot at once"]
pub struct Permit {
    core: Arc<AccountCore>,
    kind: PermitKind,
    monitored: Option<LimitKind>,
    /// Told when a bind is freed, so the fleet count follows.
    remote: Option<Arc<RemoteShared>>,
}

impl Permit {
    /// The monitor-mode limit this permit exceeded, if any (the slot is held regardless).
    pub fn monitored(&self) -> Option<LimitKind> {
        self.monitored
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("account", &self.core.name)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let counter = match self.kind {
            PermitKind::Bind => &self.core.binds,
            PermitKind::Window => &self.core.window,
        };
        let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
            Some(c.saturating_sub(1))
        });
        if let Some(remote) = &self.remote {
            remote.binds_changed();
        }
    }
}

// === impl Limiter ===

impl Limiter {
    /// Builds a limiter from a validated configuration.
    ///
    /// With `backend = "redis"` the limiter starts degraded (`connecting`); spawn
    /// [`Limiter::redis_driver`]'s future on a tokio runtime to connect it.
    pub fn new(config: &LimitsConfig) -> Result<Self, ConfigError> {
        let plan = config.plan()?;
        let (remote, redis) = match (&plan.backend, &plan.redis) {
            (Backend::Redis, Some(c)) => {
                if !cfg!(feature = "redis") {
                    return Err(ConfigError {
                        path: "limits.backend".to_owned(),
                        problem: "built without the redis feature".to_owned(),
                    });
                }
                // ok: validated to (0, 1].
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let share_ppm = (c.local_share * PPM).round() as u64;
                let tuning = Tuning {
                    share_ppm: share_ppm.max(1),
                    fail_open: c.fail_open,
                    lease_window_ns: u64::from(c.lease_window_ms) * 1_000_000,
                    lease_ttl_ns: u64::from(c.lease_ttl_ms) * 1_000_000,
                    max_lease_units: u64::from(c.max_lease_units),
                    quota_allowance: u64::from(c.quota_allowance),
                };
                (Some(Arc::new(RemoteShared::new(tuning))), Some(c.clone()))
            }
            _ => (None, None),
        };
        let keyed = match remote {
            Some(_) => Keyed::Remote(ShardedTable::new(plan.max_tracked_keys)),
            None => Keyed::Local(ShardedTable::new(plan.max_tracked_keys)),
        };
        let shared = Arc::new(Shared {
            generation: ArcSwap::from_pointee(Generation::empty()),
            reload: Mutex::new(()),
            cores: Mutex::new(FastMap::default()),
            keyed,
            registry: Mutex::new(Registry::default()),
            month_cache: AtomicU64::new(u64::MAX),
            backend: plan.backend,
            remote,
            redis,
            untracked: AtomicU64::new(0),
        });
        let generation = shared.build(plan, None);
        shared.generation.store(Arc::new(generation));
        Ok(Limiter { shared })
    }

    /// Replaces the configuration. Counters of limits whose parameters did not change carry
    /// over (rate state, keyed state); quota usage, binds, windows and restrictions always do.
    /// The backend and Redis settings are static: changing them is an error.
    pub fn reload(&self, config: &LimitsConfig) -> Result<(), ConfigError> {
        let plan = config.plan()?;
        if plan.backend != self.shared.backend {
            return Err(ConfigError {
                path: "limits.backend".to_owned(),
                problem: "cannot change on reload; restart instead".to_owned(),
            });
        }
        if plan.redis != self.shared.redis {
            return Err(ConfigError {
                path: "limits.redis".to_owned(),
                problem: "cannot change on reload; restart instead".to_owned(),
            });
        }
        let _serial = self.shared.reload.lock();
        let prev = self.shared.generation.load_full();
        let next = self.shared.build(plan, Some(&prev));
        self.shared.generation.store(Arc::new(next));
        Ok(())
    }

    /// Checks one message against every limit that applies, all or nothing: either every
    /// enforced limit takes its units, or none keeps any.
    pub fn check(&self, req: &CheckRequest<'_>) -> Decision {
        let generation = self.shared.generation.load();
        let g: &Generation = &generation;
        let parts = u64::from(req.parts.max(1));
        let now = req.now.as_nanos();
        let acct = self.shared.runtime(g, req.account);
        let mut receipts: ArrayVec<Receipt<'_>, 32> = ArrayVec::new();
        let mut monitored: Option<LimitKind> = None;

        // Applies one take's outcome: keep the receipt, note a monitor hit, or refuse.
        macro_rules! step {
            ($outcome:expr, $receipt:expr, $kind:expr, $action:expr) => {{
                let action: crate::config::Action = $action;
                match $outcome {
                    Outcome::Taken => {
                        if receipts.try_push($receipt).is_err() {
                            // ok: cannot happen (at most 12 receipts); refuse safely if it did.
                            return self.refuse(&acct, &mut receipts, now, $kind, action.status);
                        }
                    }
                    Outcome::Passed => {}
                    Outcome::Exceeded | Outcome::Unavailable if action.monitor => {
                        monitored.get_or_insert($kind);
                    }
                    Outcome::Exceeded => {
                        return self.refuse(&acct, &mut receipts, now, $kind, action.status);
                    }
                    Outcome::Unavailable => {
                        return self.refuse(
                            &acct,
                            &mut receipts,
                            now,
                            LimitKind::BackendUnavailable,
                            ESME_RTHROTTLED,
                        );
                    }
                }
            }};
        }

        match acct.core.guard.active(req.account, req.now) {
            Active::None => {}
            Active::Suspended { status } => {
                return self.refuse(&acct, &mut receipts, now, LimitKind::Suspended, status);
            }
            Active::Throttled { params, status } => {
                let cell = acct.core.guard.throttle_cell();
                let outcome = if cell.try_take(&params, now, 1) {
                    Outcome::Taken
                } else {
                    Outcome::Exceeded
                };
                step!(
                    outcome,
                    Receipt::Throttle(cell, params, 1),
                    LimitKind::AdaptiveThrottle,
                    crate::config::Action {
                        status,
                        monitor: false
                    }
                );
            }
        }
        if let Some((plan, cell)) = &acct.rate {
            let outcome = self.take_rate(cell, &plan.params, now, 1);
            step!(
                outcome,
                Receipt::Rate(cell, plan.params, 1),
                LimitKind::AccountRate,
                plan.action
            );
        }
        if let Some((plan, cell)) = &acct.parts_rate {
            let outcome = self.take_rate(cell, &plan.params, now, parts);
            step!(
                outcome,
                Receipt::Rate(cell, plan.params, parts),
                LimitKind::AccountPartsRate,
                plan.action
            );
        }
        let dest = needs_destination(&acct, g).then(|| AddressKey::new(req.destination_addr));
        for (plan, id, kind, addr) in keyed_steps(&acct, g, req.source_addr, dest)
            .into_iter()
            .flatten()
        {
            let key = TableKey {
                limit: id,
                key: addr.as_u64(),
            };
            let outcome = self.take_keyed(key, &plan.params, now, 1);
            step!(
                outcome,
                Receipt::Keyed(key, plan.params, 1),
                kind,
                plan.action
            );
        }
        for p in dest.iter().flat_map(|d| g.prefixes_of(*d)) {
            let outcome = self.take_rate(&p.cell, &p.plan.params, now, 1);
            step!(
                outcome,
                Receipt::Rate(&p.cell, p.plan.params, 1),
                LimitKind::PrefixRate,
                p.plan.action
            );
        }
        if acct.plan.quotas.iter().any(Option::is_some) {
            let day = day_index(req.wall_clock, g.plan.quota_offset_secs);
            let month = self.shared.month_of(day);
            for q in quota_steps(&acct, day, month, parts) {
                let outcome = self.take_quota(q.slot, q.period, q.plan.limit, now, q.units);
                step!(
                    outcome,
                    Receipt::Quota(q.slot, q.period, q.units),
                    q.kind,
                    q.plan.action
                );
            }
        }

        acct.core.meter.record(now);
        match monitored {
            None => Decision::Allow,
            Some(limit) => Decision::Monitor { limit },
        }
    }

    /// Gives back what an allowed message took, e.g. when the message is refused further on.
    /// Best effort: a reload or a new quota period in between makes it partial.
    pub fn refund(&self, req: &CheckRequest<'_>) {
        let generation = self.shared.generation.load();
        let g: &Generation = &generation;
        let parts = u64::from(req.parts.max(1));
        let now = req.now.as_nanos();
        let acct = self.shared.runtime(g, req.account);
        let dest = AddressKey::new(req.destination_addr);
        if let Active::Throttled { params, .. } = acct.core.guard.active(req.account, req.now) {
            acct.core.guard.throttle_cell().refund(&params, now, 1);
        }
        if let Some((plan, cell)) = &acct.rate {
            self.give_back(Receipt::Rate(cell, plan.params, 1), now);
        }
        if let Some((plan, cell)) = &acct.parts_rate {
            self.give_back(Receipt::Rate(cell, plan.params, parts), now);
        }
        for (plan, id, _, addr) in keyed_steps(&acct, g, req.source_addr, Some(dest))
            .into_iter()
            .flatten()
        {
            let key = TableKey {
                limit: id,
                key: addr.as_u64(),
            };
            self.give_back(Receipt::Keyed(key, plan.params, 1), now);
        }
        for p in g.prefixes_of(dest) {
            self.give_back(Receipt::Rate(&p.cell, p.plan.params, 1), now);
        }
        let day = day_index(req.wall_clock, g.plan.quota_offset_secs);
        let month = self.shared.month_of(day);
        for q in quota_steps(&acct, day, month, parts) {
            self.give_back(Receipt::Quota(q.slot, q.period, q.units), now);
        }
    }

    /// Takes a bind slot for `account`, held until the permit is dropped.
    pub fn acquire_bind(&self, account: &str) -> Result<Permit, Denied> {
        let generation = self.shared.generation.load();
        let acct = self.shared.runtime(&generation, account);
        let fleet = acct.core.fleet_binds.load(Ordering::Acquire);
        self.acquire(&acct, PermitKind::Bind, acct.plan.binds, fleet)
    }

    /// Takes a window slot (one outstanding request) for `account`, held until the permit is
    /// dropped, normally when the response arrives.
    pub fn acquire_window(&self, account: &str) -> Result<Permit, Denied> {
        let generation = self.shared.generation.load();
        let acct = self.shared.runtime(&generation, account);
        self.acquire(&acct, PermitKind::Window, acct.plan.window, 0)
    }

    fn acquire(
        &self,
        acct: &AccountRuntime,
        kind: PermitKind,
        limit: Option<CountPlan>,
        others: u32,
    ) -> Result<Permit, Denied> {
        let (counter, limit_kind) = match kind {
            PermitKind::Bind => (&acct.core.binds, LimitKind::Binds),
            PermitKind::Window => (&acct.core.window, LimitKind::Window),
        };
        let mut monitored = None;
        match limit {
            None => {
                counter.fetch_add(1, Ordering::AcqRel);
            }
            Some(plan) => {
                let taken = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                    (c.saturating_add(others) < plan.max).then_some(c + 1)
                });
                if taken.is_err() {
                    if !plan.action.monitor {
                        acct.core.denied.fetch_add(1, Ordering::Relaxed);
                        return Err(Denied {
                            limit: limit_kind,
                            status: plan.action.status,
                        });
                    }
                    monitored = Some(limit_kind);
                    counter.fetch_add(1, Ordering::AcqRel);
                }
            }
        }
        let remote = match kind {
            PermitKind::Bind => self.shared.remote.clone(),
            PermitKind::Window => None,
        };
        if let Some(remote) = &remote {
            remote.binds_changed();
        }
        Ok(Permit {
            core: acct.core.clone(),
            kind,
            monitored,
            remote,
        })
    }

    /// Feeds adaptive protection with the filter's verdict on one message of `account`.
    /// Returns the restriction if this verdict put one in force.
    pub fn observe_verdict(
        &self,
        account: &str,
        blocked: bool,
        destination_addr: &str,
        now: Nanos,
    ) -> Option<Restriction> {
        let generation = self.shared.generation.load();
        let acct = self.shared.runtime(&generation, account);
        let policy = acct.plan.adaptive.as_ref()?;
        let dest = policy
            .max_distinct_per_minute
            .map(|_| AddressKey::new(destination_addr));
        acct.core.guard.observe(account, policy, blocked, dest, now)
    }

    /// Suspends `account` by hand, for `duration` or (with `None`) until [`Limiter::resume`].
    pub fn suspend(&self, account: &str, duration: Option<Duration>, now: Nanos) {
        let generation = self.shared.generation.load();
        let acct = self.shared.runtime_forced(&generation, account);
        acct.core.guard.restrict(
            account,
            Restriction {
                kind: RestrictionKind::Suspended,
                reason: RestrictionReason::Manual,
                since: now,
                until: duration.map(|d| now.saturating_add(d)),
                throttle_messages_per_second: None,
                status: acct.plan.suspended_status,
            },
            None,
        );
    }

    /// Lifts any restriction on `account` (manual or adaptive) and clears its adaptive window.
    /// Returns the restriction that was lifted.
    pub fn resume(&self, account: &str) -> Option<Restriction> {
        let generation = self.shared.generation.load();
        let acct = self.shared.runtime(&generation, account);
        acct.core.guard.release(account)
    }

    /// A snapshot of every listed account and every unlisted one seen so far.
    pub fn accounts_state(&self, now: Nanos, wall_clock: UnixTime) -> Vec<AccountState> {
        let generation = self.shared.generation.load();
        let g: &Generation = &generation;
        let day = day_index(wall_clock, g.plan.quota_offset_secs);
        let month = self.shared.month_of(day);
        let mut out: Vec<AccountState> = g
            .accounts
            .values()
            .map(|a| self.snapshot(a, now, day, month))
            .collect();
        out.extend(
            g.unlisted
                .map
                .read()
                .values()
                .map(|a| self.snapshot(a, now, day, month)),
        );
        out.sort_by(|a, b| a.account.cmp(&b.account));
        out
    }

    fn snapshot(&self, a: &AccountRuntime, now: Nanos, day: u32, month: u32) -> AccountState {
        let t = now.as_nanos();
        let quotas = quota_steps(a, day, month, 1)
            .map(|q| QuotaUsage {
                kind: q.kind,
                used: match q.slot {
                    QuotaSlot::Local(c) => c.used(q.period),
                    QuotaSlot::Remote(rc) => {
                        let s = rc.state.lock();
                        if s.period == q.period { s.used() } else { 0 }
                    }
                },
                limit: q.plan.limit,
            })
            .collect();
        let rate_available = a.rate.as_ref().map(|(plan, cell)| match &**cell {
            RateCell::Local(c) => c.available(&plan.params, t),
            RateCell::Remote(rc) => rc.state.lock().tokens(t),
        });
        AccountState {
            account: a.core.name.to_string(),
            group: a.plan.group.clone(),
            listed: a.listed,
            messages_last_second: a.core.meter.last_second(t),
            denied_total: a.core.denied.load(Ordering::Relaxed),
            messages_per_second: a.rate.as_ref().map(|(p, _)| p.params.rate_per_second()),
            rate_available,
            quotas,
            binds: a.core.binds.load(Ordering::Acquire),
            fleet_binds: a.core.fleet_binds.load(Ordering::Acquire),
            max_binds: a.plan.binds.map(|b| b.max),
            window: a.core.window.load(Ordering::Acquire),
            max_window: a.plan.window.map(|w| w.max),
            adaptive_window: a.core.guard.window_counts(),
            restriction: a.core.guard.restriction(now),
        }
    }

    /// Backend health, for readiness and metrics.
    pub fn health(&self) -> Health {
        match &self.shared.remote {
            None => Health {
                state: HealthState::Local,
                reason: None,
                since: None,
                ready: true,
            },
            Some(r) => {
                let healthy = r.is_healthy();
                let (since, reason) = *r.status.lock();
                Health {
                    state: if healthy {
                        HealthState::Redis
                    } else {
                        HealthState::Degraded
                    },
                    reason: (!healthy).then_some(reason),
                    since: (since != Nanos::ZERO).then_some(since),
                    ready: healthy || r.tuning.fail_open,
                }
            }
        }
    }

    /// Drops keyed state that is idle at `now` (its limit would start fresh anyway) and, with
    /// Redis, gives back leased units that expired unused. Call it periodically, e.g. every
    /// second; returns how many keys were dropped.
    pub fn evict_idle(&self, now: Nanos) -> usize {
        let t = now.as_nanos();
        match (&self.shared.keyed, &self.shared.remote) {
            (Keyed::Remote(table), Some(remote)) => {
                let params = self.shared.registry.lock().params();
                let mut due = Vec::new();
                let dropped = table.evict(|key, s| {
                    let cold = usize::try_from(key.limit)
                        .ok()
                        .and_then(|i| params.get(i))
                        .map_or(1, |p| remote.tuning.cold_rate(p));
                    if s.sweep(t, cold) {
                        due.push(Pending::Keyed(*key));
                    }
                    s.is_idle(t)
                });
                for cell in self.shared.remote_cells() {
                    if cell.sweep(&remote.tuning, t) {
                        due.push(Pending::Cell(cell));
                    }
                }
                for p in due {
                    remote.push(p);
                }
                dropped
            }
            (Keyed::Local(table), _) => table.evict(|_, tat| *tat <= t),
            (Keyed::Remote(_), None) => 0,
        }
    }

    /// Table and backend counters.
    pub fn stats(&self) -> LimiterStats {
        let (tracked_keys, tracked_key_bytes) = match &self.shared.keyed {
            Keyed::Local(t) => (t.len(), t.heap_bytes()),
            Keyed::Remote(t) => (t.len(), t.heap_bytes()),
        };
        let c = self.shared.remote.as_ref().map(|r| &r.counters);
        let get = |f: fn(&crate::lease::RemoteCounters) -> &AtomicU64| {
            c.map_or(0, |c| f(c).load(Ordering::Relaxed))
        };
        LimiterStats {
            tracked_keys: tracked_keys as u64,
            tracked_key_bytes: tracked_key_bytes as u64,
            untracked_total: self.shared.untracked.load(Ordering::Relaxed),
            redis_syncs_total: get(|c| &c.syncs),
            redis_sync_failures_total: get(|c| &c.sync_failures),
            redis_units_leased_total: get(|c| &c.units_leased),
            redis_units_reported_total: get(|c| &c.units_reported),
            degraded_allowed_total: get(|c| &c.degraded_allowed),
            redis_connects_total: get(|c| &c.connects),
        }
    }

    /// Where counters live.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    // --- takes ---

    #[inline]
    fn take_rate(&self, cell: &RateCell, params: &GcraParams, now: u64, n: u64) -> Outcome {
        match cell {
            RateCell::Local(c) => {
                if c.try_take(params, now, n) {
                    Outcome::Taken
                } else {
                    Outcome::Exceeded
                }
            }
            RateCell::Remote(rc) => {
                let Some(remote) = &self.shared.remote else {
                    return Outcome::Passed;
                };
                let healthy = remote.is_healthy();
                let (take, queue) =
                    rc.state
                        .lock()
                        .take_rate(params, &remote.tuning, healthy, now, n);
                if queue {
                    remote.push(Pending::Cell(rc.clone()));
                }
                self.remote_outcome(remote, take, healthy)
            }
        }
    }

    #[inline]
    fn take_keyed(&self, key: TableKey, params: &GcraParams, now: u64, n: u64) -> Outcome {
        let access = match &self.shared.keyed {
            Keyed::Local(table) => table.with_entry(
                key,
                || 0,
                |tat| *tat <= now,
                |tat| match params.take(*tat, now, n) {
                    Some(next) => {
                        *tat = next;
                        Outcome::Taken
                    }
                    None => Outcome::Exceeded,
                },
            ),
            Keyed::Remote(table) => {
                let Some(remote) = &self.shared.remote else {
                    return Outcome::Passed;
                };
                let healthy = remote.is_healthy();
                let t = &remote.tuning;
                let access = table.with_entry(
                    key,
                    || LeaseState::new(t.cold_rate(params)),
                    |s| s.is_idle(now),
                    |s| s.take_rate(params, t, healthy, now, n),
                );
                match access {
                    Access::Done((take, queue)) => {
                        if queue {
                            remote.push(Pending::Keyed(key));
                        }
                        Access::Done(self.remote_outcome(remote, take, healthy))
                    }
                    Access::Full => Access::Full,
                }
            }
        };
        match access {
            Access::Done(outcome) => outcome,
            Access::Full => {
                self.shared.untracked.fetch_add(1, Ordering::Relaxed);
                Outcome::Passed
            }
        }
    }

    #[inline]
    fn take_quota(&self, slot: &QuotaSlot, period: u32, limit: u64, now: u64, n: u64) -> Outcome {
        match slot {
            QuotaSlot::Local(c) => {
                if c.try_take(period, n, limit) {
                    Outcome::Taken
                } else {
                    Outcome::Exceeded
                }
            }
            QuotaSlot::Remote(rc) => {
                let Some(remote) = &self.shared.remote else {
                    return Outcome::Passed;
                };
                let healthy = remote.is_healthy();
                let (take, queue) =
                    rc.state
                        .lock()
                        .take_quota(period, limit, &remote.tuning, healthy, now, n);
                if queue {
                    remote.push(Pending::Cell(rc.clone()));
                }
                self.remote_outcome(remote, take, healthy)
            }
        }
    }

    fn remote_outcome(&self, remote: &RemoteShared, take: Take, healthy: bool) -> Outcome {
        match take {
            Take::Allowed => {
                if !healthy {
                    remote
                        .counters
                        .degraded_allowed
                        .fetch_add(1, Ordering::Relaxed);
                }
                Outcome::Taken
            }
            Take::Denied => Outcome::Exceeded,
            Take::Unavailable => Outcome::Unavailable,
        }
    }

    fn give_back(&self, receipt: Receipt<'_>, now: u64) {
        match receipt {
            Receipt::Rate(RateCell::Local(c), p, n) => c.refund(&p, now, n),
            Receipt::Rate(RateCell::Remote(rc), _, n) => rc.state.lock().refund(now, n),
            Receipt::Throttle(c, p, n) => c.refund(&p, now, n),
            Receipt::Keyed(key, p, n) => match &self.shared.keyed {
                Keyed::Local(t) => {
                    let _ = t.with_existing(key, |tat| *tat = p.refund(*tat, now, n));
                }
                Keyed::Remote(t) => {
                    let _ = t.with_existing(key, |s| s.refund(now, n));
                }
            },
            Receipt::Quota(QuotaSlot::Local(c), period, n) => c.refund(period, n),
            Receipt::Quota(QuotaSlot::Remote(rc), _, n) => rc.state.lock().refund(now, n),
        }
    }

    #[cold]
    fn refuse(
        &self,
        acct: &AccountRuntime,
        receipts: &mut ArrayVec<Receipt<'_>, 32>,
        now: u64,
        limit: LimitKind,
        status: u32,
    ) -> Decision {
        for r in receipts.drain(..).rev() {
            self.give_back(r, now);
        }
        acct.core.denied.fetch_add(1, Ordering::Relaxed);
        Decision::Deny { limit, status }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("backend", &self.shared.backend)
            .finish_non_exhaustive()
    }
}

/// One quota that applies to a message: which, its state, its period and the units it costs.
struct QuotaStep<'a> {
    kind: LimitKind,
    plan: &'a QuotaPlan,
    slot: &'a QuotaSlot,
    period: u32,
    units: u64,
}

/// The configured quotas of an account, in check order.
fn quota_steps<'a>(
    acct: &'a AccountRuntime,
    day: u32,
    month: u32,
    parts: u64,
) -> impl Iterator<Item = QuotaStep<'a>> + 'a {
    acct.plan
        .quotas
        .iter()
        .zip(acct.core.quotas.iter())
        .zip(QUOTA_KINDS)
        .filter_map(move |((plan, slot), kind)| {
            let plan = plan.as_ref()?;
            let daily = matches!(kind, LimitKind::DailyMessages | LimitKind::DailyParts);
            let per_part = matches!(kind, LimitKind::DailyParts | LimitKind::MonthlyParts);
            Some(QuotaStep {
                kind,
                plan,
                slot,
                period: if daily { day } else { month },
                units: if per_part { parts } else { 1 },
            })
        })
}

/// Whether any limit of this check needs the destination key.
fn needs_destination(acct: &AccountRuntime, g: &Generation) -> bool {
    acct.pair.is_some() || g.destinations.is_some() || !g.prefixes.is_empty()
}

/// The keyed limits of a check: per sender, per (account, destination), per destination.
fn keyed_steps<'a>(
    acct: &'a AccountRuntime,
    g: &'a Generation,
    source_addr: &str,
    dest: Option<AddressKey>,
) -> [Option<(&'a RatePlan, u32, LimitKind, AddressKey)>; 3] {
    [
        acct.sender
            .as_ref()
            .map(|(p, id)| (p, *id, LimitKind::SenderRate, AddressKey::new(source_addr))),
        acct.pair
            .as_ref()
            .zip(dest)
            .map(|((p, id), d)| (p, *id, LimitKind::AccountDestinationRate, d)),
        g.destinations
            .as_ref()
            .zip(dest)
            .map(|((p, id), d)| (p, *id, LimitKind::DestinationRate, d)),
    ]
}

// === impl Shared ===

impl Shared {
    /// The runtime of `name`: listed, known unlisted, or a new unlisted one.
    fn runtime<'g>(&self, g: &'g Generation, name: &str) -> RuntimeRef<'g> {
        if let Some(r) = g.accounts.get(name) {
            return RuntimeRef::Listed(r);
        }
        if let Some(r) = g.unlisted.map.read().get(name) {
            return RuntimeRef::Unlisted(r.clone());
        }
        self.new_unlisted(g, name, false)
    }

    /// Like `runtime`, but never falls back to the shared overflow state (admin actions).
    fn runtime_forced<'g>(&self, g: &'g Generation, name: &str) -> RuntimeRef<'g> {
        if let Some(r) = g.accounts.get(name) {
            return RuntimeRef::Listed(r);
        }
        if let Some(r) = g.unlisted.map.read().get(name) {
            return RuntimeRef::Unlisted(r.clone());
        }
        self.new_unlisted(g, name, true)
    }

    #[cold]
    fn new_unlisted<'g>(&self, g: &'g Generation, name: &str, force: bool) -> RuntimeRef<'g> {
        let mut map = g.unlisted.map.write();
        if let Some(r) = map.get(name) {
            return RuntimeRef::Unlisted(r.clone());
        }
        if map.len() >= g.unlisted.max && !force {
            return RuntimeRef::Unlisted(g.unlisted.overflow.clone());
        }
        let name: Arc<str> = Arc::from(name);
        let core = self.core(&name);
        let runtime = Arc::new(self.runtime_for(&name, g.unlisted.plan.clone(), core, None, false));
        map.insert(name, runtime.clone());
        RuntimeRef::Unlisted(runtime)
    }

    /// The persistent core of an account, created on first use.
    fn core(&self, name: &Arc<str>) -> Arc<AccountCore> {
        let mut cores = self.cores.lock();
        if let Some(c) = cores.get(name) {
            return c.clone();
        }
        let quotas = std::array::from_fn(|i| match &self.remote {
            Some(remote) => QuotaSlot::Remote(RemoteCell::new(
                format!("q:{name}:{}", QUOTA_SUFFIX.get(i).copied().unwrap_or("x")),
                CellKind::Quota { daily: i < 2 },
                &remote.tuning,
            )),
            None => QuotaSlot::Local(QuotaCell::default()),
        });
        let core = Arc::new(AccountCore {
            name: name.clone(),
            binds: AtomicU32::new(0),
            fleet_binds: AtomicU32::new(0),
            window: AtomicU32::new(0),
            quotas,
            guard: Guard::default(),
            meter: Meter::default(),
            denied: AtomicU64::new(0),
        });
        cores.insert(name.clone(), core.clone());
        core
    }

    /// Cores of accounts with a bind limit, for the fleet-wide bind count.
    pub(crate) fn bind_limited_cores(&self) -> Vec<Arc<AccountCore>> {
        let g = self.generation.load();
        let mut out: Vec<Arc<AccountCore>> = g
            .accounts
            .values()
            .filter(|a| a.plan.binds.is_some())
            .map(|a| a.core.clone())
            .collect();
        out.extend(
            g.unlisted
                .map
                .read()
                .values()
                .filter(|a| a.plan.binds.is_some())
                .map(|a| a.core.clone()),
        );
        out
    }

    /// Every fleet-wide cell of the current configuration and of all account cores.
    fn remote_cells(&self) -> Vec<Arc<RemoteCell>> {
        let g = self.generation.load();
        let mut out = Vec::new();
        let mut rate_cells = |a: &AccountRuntime| {
            for cell in [&a.rate, &a.parts_rate].into_iter().flatten() {
                if let RateCell::Remote(rc) = &*cell.1 {
                    out.push(rc.clone());
                }
            }
        };
        g.accounts.values().for_each(|a| rate_cells(a));
        g.unlisted.map.read().values().for_each(|a| rate_cells(a));
        for p in &g.prefixes {
            if let RateCell::Remote(rc) = &*p.cell {
                out.push(rc.clone());
            }
        }
        for core in self.cores.lock().values() {
            for slot in &core.quotas {
                if let QuotaSlot::Remote(rc) = slot {
                    out.push(rc.clone());
                }
            }
        }
        out
    }

    /// Offset of the quota time zone, in seconds.
    pub(crate) fn quota_offset_secs(&self) -> i64 {
        self.generation.load().plan.quota_offset_secs
    }

    fn new_rate_cell(&self, key: String, params: GcraParams) -> Arc<RateCell> {
        Arc::new(match &self.remote {
            Some(remote) => {
                RateCell::Remote(RemoteCell::new(key, CellKind::Rate(params), &remote.tuning))
            }
            None => RateCell::Local(GcraCell::default()),
        })
    }

    /// Reuses `prev`'s cell when the parameters are unchanged.
    fn rate_cell(
        &self,
        key: String,
        plan: Option<RatePlan>,
        prev: Option<&(RatePlan, Arc<RateCell>)>,
    ) -> Option<(RatePlan, Arc<RateCell>)> {
        let plan = plan?;
        let cell = match prev {
            Some((p, cell)) if p.params == plan.params => cell.clone(),
            _ => self.new_rate_cell(key, plan.params),
        };
        Some((plan, cell))
    }

    fn runtime_for(
        &self,
        name: &str,
        plan: Arc<AccountPlan>,
        core: Arc<AccountCore>,
        prev: Option<&AccountRuntime>,
        listed: bool,
    ) -> AccountRuntime {
        let mut registry = self.registry.lock();
        let sender = plan
            .sender
            .map(|p| (p, registry.id(format!("s:{name}"), p.params)));
        let pair = plan
            .destination
            .map(|p| (p, registry.id(format!("p:{name}"), p.params)));
        drop(registry);
        if let Some(prev_plan) = prev.and_then(|p| p.plan.adaptive.as_ref())
            && plan.adaptive.as_ref() != Some(prev_plan)
        {
            tracing::debug!(account = name, "Adaptive policy changed");
        }
        AccountRuntime {
            rate: self.rate_cell(
                format!("a:{name}:m"),
                plan.rate,
                prev.and_then(|p| p.rate.as_ref()),
            ),
            parts_rate: self.rate_cell(
                format!("a:{name}:p"),
                plan.parts_rate,
                prev.and_then(|p| p.parts_rate.as_ref()),
            ),
            sender,
            pair,
            plan,
            core,
            listed,
        }
    }

    /// Builds a generation from `plan`, carrying over state from `prev`.
    fn build(&self, plan: Plan, prev: Option<&Generation>) -> Generation {
        let prev_runtime = |name: &str| -> Option<Arc<AccountRuntime>> {
            let p = prev?;
            p.accounts
                .get(name)
                .cloned()
                .or_else(|| p.unlisted.map.read().get(name).cloned())
        };
        let mut accounts = FastMap::default();
        for (name, aplan) in &plan.accounts {
            let name: Arc<str> = Arc::from(name.as_str());
            let core = self.core(&name);
            let old = prev_runtime(&name);
            let runtime = self.runtime_for(&name, aplan.clone(), core, old.as_deref(), true);
            accounts.insert(name, Arc::new(runtime));
        }

        let unlisted_plan = plan
            .unlisted
            .clone()
            .unwrap_or_else(|| Arc::new(AccountPlan::unlimited()));
        let overflow_name: Arc<str> = Arc::from(OVERFLOW_ACCOUNT);
        let overflow_prev = prev.map(|p| p.unlisted.overflow.clone());
        let overflow = Arc::new(self.runtime_for(
            OVERFLOW_ACCOUNT,
            unlisted_plan.clone(),
            self.core(&overflow_name),
            overflow_prev.as_deref(),
            false,
        ));
        let mut unlisted_map = FastMap::default();
        if let Some(p) = prev {
            for (name, old) in p.unlisted.map.read().iter() {
                if plan.accounts.contains_key(&**name) {
                    continue;
                }
                let runtime = self.runtime_for(
                    name,
                    unlisted_plan.clone(),
                    old.core.clone(),
                    Some(old),
                    false,
                );
                unlisted_map.insert(name.clone(), Arc::new(runtime));
            }
            // Accounts no longer listed keep their core and become unlisted.
            for (name, old) in &p.accounts {
                if plan.accounts.contains_key(&**name) {
                    continue;
                }
                let runtime = self.runtime_for(
                    name,
                    unlisted_plan.clone(),
                    old.core.clone(),
                    Some(old),
                    false,
                );
                unlisted_map.insert(name.clone(), Arc::new(runtime));
            }
        }
        let unlisted = Unlisted {
            plan: unlisted_plan,
            map: RwLock::new(unlisted_map),
            max: plan.max_unlisted_accounts,
            overflow,
        };

        let destinations = plan.destinations.map(|p| {
            let id = self.registry.lock().id("d".to_owned(), p.params);
            (p, id)
        });

        let mut prefixes = Vec::with_capacity(plan.prefixes.len());
        let mut prefix_index = FastMap::default();
        let mut prefix_lens: Vec<u32> = Vec::new();
        for pp in &plan.prefixes {
            let old = prev.and_then(|g| {
                g.prefixes
                    .iter()
                    .find(|o| o.prefix == pp.prefix && o.plan.params == pp.rate.params)
            });
            let cell = match old {
                Some(o) => o.cell.clone(),
                None => self.new_rate_cell(format!("x:{}", pp.prefix), pp.rate.params),
            };
            let coded = AddressKey::new(&pp.prefix);
            let len = u32::try_from(pp.prefix.len()).unwrap_or(u32::MAX);
            prefix_index.insert(coded.as_u64(), prefixes.len());
            if !prefix_lens.contains(&len) {
                prefix_lens.push(len);
            }
            prefixes.push(PrefixRuntime {
                plan: pp.rate,
                cell,
                prefix: pp.prefix.clone(),
            });
        }
        prefix_lens.sort_unstable_by(|a, b| b.cmp(a));

        Generation {
            plan,
            accounts,
            unlisted,
            destinations,
            prefixes,
            prefix_index,
            prefix_lens,
        }
    }

    /// Month index of a local day, cached for the current day.
    #[inline]
    fn month_of(&self, day: u32) -> u32 {
        let cached = self.month_cache.load(Ordering::Relaxed);
        if cached >> 32 == u64::from(day) {
            return u32::try_from(cached & 0xffff_ffff).unwrap_or(u32::MAX);
        }
        let month = month_index(day);
        self.month_cache
            .store((u64::from(day) << 32) | u64::from(month), Ordering::Relaxed);
        month
    }
}

// === impl Generation ===

impl Generation {
    /// Every configured prefix that `dest` starts with, longest first.
    fn prefixes_of(&self, dest: AddressKey) -> impl Iterator<Item = &PrefixRuntime> + '_ {
        let digits = if dest.is_exact() {
            dest.as_u64().ilog10()
        } else {
            0
        };
        self.prefix_lens
            .iter()
            .filter(move |&&len| dest.is_exact() && len <= digits)
            .filter_map(move |&len| {
                let coded = dest.as_u64() / 10u64.pow(digits - len);
                self.prefix_index
                    .get(&coded)
                    .and_then(|&i| self.prefixes.get(i))
            })
    }

    fn empty() -> Self {
        let plan = Plan {
            backend: Backend::Local,
            redis: None,
            quota_offset_secs: 0,
            accounts: Default::default(),
            unlisted: None,
            destinations: None,
            prefixes: Vec::new(),
            max_tracked_keys: 1,
            max_unlisted_accounts: 0,
        };
        let unlimited = Arc::new(AccountPlan::unlimited());
        let name: Arc<str> = Arc::from(OVERFLOW_ACCOUNT);
        let core = Arc::new(AccountCore {
            name,
            binds: AtomicU32::new(0),
            fleet_binds: AtomicU32::new(0),
            window: AtomicU32::new(0),
            quotas: std::array::from_fn(|_| QuotaSlot::Local(QuotaCell::default())),
            guard: Guard::default(),
            meter: Meter::default(),
            denied: AtomicU64::new(0),
        });
        Generation {
            plan,
            accounts: FastMap::default(),
            unlisted: Unlisted {
                plan: unlimited.clone(),
                map: RwLock::new(FastMap::default()),
                max: 0,
                overflow: Arc::new(AccountRuntime {
                    plan: unlimited,
                    core,
                    listed: false,
                    rate: None,
                    parts_rate: None,
                    sender: None,
                    pair: None,
                }),
            },
            destinations: None,
            prefixes: Vec::new(),
            prefix_index: FastMap::default(),
            prefix_lens: Vec::new(),
        }
    }
}

impl AccountPlan {
    /// No limits at all (unlisted accounts without a default group).
    pub(crate) fn unlimited() -> Self {
        AccountPlan {
            group: None,
            rate: None,
            parts_rate: None,
            binds: None,
            window: None,
            quotas: [None; 4],
            sender: None,
            destination: None,
            adaptive: None,
            suspended_status: ESME_RTHROTTLED,
        }
    }
}
