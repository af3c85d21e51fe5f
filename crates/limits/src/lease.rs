//! The node-side half of fleet-wide limits: leases, cold-start allowance and the sync queue.
//! Sans-IO; the Redis driver in `crate::redis` moves requests and replies.
//!
//! Every fleet-wide limit key (an account rate, a quota, one sender, one destination, one
//! prefix) has a [`LeaseState`] on each node. A check never waits for Redis:
//!
//! * **Leased units** (prepaid): Redis takes units from the global count atomically and
//!   grants them to the node, which consumes them locally and asks for more when half are
//!   used. A rate lease holds the limit's rate over `lease_window` (at least one unit), or
//!   the units asked for since the last top-up if more (refused ones included, at most the
//!   burst), so a sender that submits in bursts finds its next burst leased; Redis grants
//!   at most what the global bucket holds. A refusal for lack of lease while a top-up is in
//!   flight asks again as soon as it lands if Redis had room left. A quota lease holds up
//!   to `quota_allowance` units. Units still unused when the lease expires (`lease_ttl`, or
//!   one emission interval for slow limits) are given back.
//! * **Cold start** (post-paid): a key this node has not used recently has no lease yet. Its
//!   first units pass on a small allowance (`local_share` of the burst, at most two lease
//!   windows' worth; for quotas `local_share` of what Redis last reported left, at most
//!   `quota_allowance`) and are charged to Redis on the next sync. This is the only way a
//!   unit passes without Redis having counted it first, and it bounds the overshoot.
//! * **Exhausted**: when Redis grants nothing, the key refuses until the reply's retry time
//!   (rates) or for one lease life (quotas, whose units may come back from other nodes).
//!   Quota leases are also fair: Redis grants at most `local_share` of what is left.
//! * **Degraded** (Redis unreachable or slow): fail-open keeps serving on a local limit at
//!   `local_share` of the configured one; fail-closed refuses with `BackendUnavailable`.
//!   Quota units counted while degraded are charged to Redis once it is back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::gcra::GcraParams;
use crate::table::TableKey;
use crate::time::Nanos;

const PPM: u64 = 1_000_000;

/// A queued sync: which key needs talking to Redis.
#[derive(Clone)]
pub(crate) enum Pending {
    /// An account-level or prefix cell.
    Cell(Arc<RemoteCell>),
    /// An entry of the keyed table.
    Keyed(TableKey),
}

/// What a remote cell limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellKind {
    /// A rate (GCRA) with these parameters.
    Rate(GcraParams),
    /// A calendar quota (daily or monthly); the limit and period live in the state.
    Quota {
        /// Daily (else monthly).
        daily: bool,
    },
}

/// A fleet-wide limit cell for one account-level or prefix limit.
pub(crate) struct RemoteCell {
    /// Redis key without the deployment prefix (and, for quotas, without the period).
    pub(crate) key: String,
    pub(crate) kind: CellKind,
    pub(crate) state: Mutex<LeaseState>,
}

impl RemoteCell {
    /// Periodic sweep of the cell's lease; true if a sync is due.
    pub(crate) fn sweep(&self, t: &Tuning, now: u64) -> bool {
        let mut s = self.state.lock();
        let cold = match self.kind {
            CellKind::Rate(p) => t.cold_rate(&p),
            CellKind::Quota { .. } => t.cold_quota(s.limit, s.last_available),
        };
        s.sweep(now, cold)
    }

    pub(crate) fn new(key: String, kind: CellKind, tuning: &Tuning) -> Arc<Self> {
        let state = match kind {
            CellKind::Rate(p) => LeaseState::new(tuning.cold_rate(&p)),
            CellKind::Quota { .. } => LeaseState::new(0),
        };
        Arc::new(RemoteCell {
            key,
            kind,
            state: Mutex::new(state),
        })
    }
}

/// Result of a take against a remote state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Take {
    /// Passed.
    Allowed,
    /// The limit is exceeded (or no unit is leased yet).
    Denied,
    /// Redis is unavailable and the node fails closed.
    Unavailable,
}

/// Fleet settings the hot path needs, in integer form.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tuning {
    pub(crate) share_ppm: u64,
    pub(crate) fail_open: bool,
    pub(crate) lease_window_ns: u64,
    pub(crate) lease_ttl_ns: u64,
    pub(crate) max_lease_units: u64,
    pub(crate) quota_allowance: u64,
}

impl Tuning {
    /// Units of a rate that pass in one lease window (0 for slow limits).
    fn window_units(&self, p: &GcraParams) -> u64 {
        self.lease_window_ns / p.interval()
    }

    /// Units to hold leased for a rate: one lease window's worth, at least 1, at most the
    /// burst and `max_lease_units`.
    pub(crate) fn lease_units_rate(&self, p: &GcraParams) -> u64 {
        self.window_units(p).min(self.max_lease_rate(p)).max(1)
    }

    /// The largest rate lease recent demand may ask for: the burst, at most
    /// `max_lease_units`, at least 1. It bounds what one node holds ahead.
    pub(crate) fn max_lease_rate(&self, p: &GcraParams) -> u64 {
        p.burst().min(self.max_lease_units).max(1)
    }

    /// Cold-start allowance of a rate: `local_share` of the burst, at most two lease
    /// windows' worth, at least 1.
    pub(crate) fn cold_rate(&self, p: &GcraParams) -> u64 {
        self.share_of(p.burst())
            .min(self.window_units(p).saturating_mul(2))
            .max(1)
    }

    /// How long leased units of a rate stay usable: `lease_ttl`, or one emission interval for
    /// limits slower than that, so a slow key keeps one unit ready between messages.
    pub(crate) fn lease_ttl_rate(&self, p: &GcraParams) -> u64 {
        self.lease_ttl_ns.max(p.interval())
    }

    /// Cold-start allowance of a quota.
    fn cold_quota(&self, limit: u64, last_available: Option<u64>) -> u64 {
        let known = last_available.unwrap_or(limit);
        self.share_of(limit.min(known)).min(self.quota_allowance)
    }

    /// `local_share` of `n`, at least 1 unless `n` is 0.
    pub(crate) fn share_of(&self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            (n.saturating_mul(self.share_ppm) / PPM).max(1)
        }
    }

    /// The local limit used while degraded: `local_share` of rate and burst.
    fn degraded_params(&self, p: &GcraParams) -> GcraParams {
        let interval = p.interval().saturating_mul(PPM) / self.share_ppm.max(1);
        GcraParams::from_raw(interval, self.share_of(p.burst()).max(1))
    }
}

/// Per-key state on one node.
#[derive(Debug, Default)]
pub(crate) struct LeaseState {
    /// Prepaid units usable until `lease_expires`.
    tokens: u64,
    lease_expires: u64,
    /// Post-paid units not yet reported to Redis, and those being reported.
    debt: u64,
    debt_in_flight: u64,
    /// Expired prepaid units to give back, and those being given back.
    returning: u64,
    returning_in_flight: u64,
    /// Cold-start units still allowed without a lease.
    allowance: u64,
    /// The key works on leases (it has synced since it last went cold).
    warm: bool,
    /// The sync in flight asks for units.
    asking: bool,
    /// A take of a warm key was refused for lack of lease since the last sync began.
    starved: bool,
    /// Units asked for (passed or refused) since the last sync began: sizes a rate top-up.
    demand: u64,
    /// Units a refused take needed beyond the lease size (oversize messages).
    need: u64,
    /// Refuse until then: the retry time of a rate, or one lease life for a quota.
    exhausted_until: u64,
    /// Local fallback state while degraded (GCRA TAT, or quota count).
    fallback: u64,
    /// Quota period the state belongs to, and the quota limit last seen.
    pub(crate) period: u32,
    pub(crate) limit: u64,
    /// What Redis last reported still available, if it has answered.
    last_available: Option<u64>,
    /// A sync is queued or in flight.
    queued: bool,
}

/// A request built for the driver: what to report, give back and ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyncRequest {
    pub(crate) debt: u64,
    pub(crate) want: u64,
    pub(crate) returned: u64,
}

/// Redis' answer for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyncReply {
    pub(crate) granted: u64,
    pub(crate) available: u64,
    pub(crate) retry_after_ns: u64,
}

impl LeaseState {
    pub(crate) fn new(cold_allowance: u64) -> Self {
        LeaseState {
            allowance: cold_allowance,
            ..LeaseState::default()
        }
    }

    /// Marks the state queued; true if the caller must push it on the queue.
    fn mark_queued(&mut self) -> bool {
        !std::mem::replace(&mut self.queued, true)
    }

    /// At lease expiry: unused units go back and the key turns cold. True if a sync is due.
    fn expire(&mut self, now: u64, cold: u64) -> bool {
        if self.lease_expires == 0 || now < self.lease_expires {
            return false;
        }
        self.lease_expires = 0;
        let back = std::mem::take(&mut self.tokens);
        self.returning = self.returning.saturating_add(back);
        if self.warm && now >= self.exhausted_until {
            self.warm = false;
            self.allowance = cold;
        }
        back > 0
    }

    /// Shared tail of a take once leased units did not suffice.
    fn take_unleased(&mut self, n: u64, due: bool, exhausted: bool) -> (Take, bool) {
        if exhausted {
            return (Take::Denied, due && self.mark_queued());
        }
        if !self.warm && self.allowance >= n {
            self.allowance -= n;
            self.debt = self.debt.saturating_add(n);
            return (Take::Allowed, self.mark_queued());
        }
        self.need = self.need.max(n);
        self.starved = self.warm;
        (Take::Denied, self.mark_queued())
    }

    /// Takes `n` units of a rate limit. The flag asks the caller to queue a sync.
    pub(crate) fn take_rate(
        &mut self,
        p: &GcraParams,
        t: &Tuning,
        healthy: bool,
        now: u64,
        n: u64,
    ) -> (Take, bool) {
        let due = self.expire(now, t.cold_rate(p)) && healthy;
        self.demand = self.demand.saturating_add(n);
        if self.tokens >= n {
            self.tokens -= n;
            let low = self.tokens <= t.lease_units_rate(p) / 2;
            return (Take::Allowed, (due || low) && healthy && self.mark_queued());
        }
        if !healthy {
            if !t.fail_open {
                return (Take::Unavailable, false);
            }
            return match t.degraded_params(p).take(self.fallback, now, n) {
                Some(tat) => {
                    self.fallback = tat;
                    (Take::Allowed, false)
                }
                None => (Take::Denied, false),
            };
        }
        self.take_unleased(n, due, now < self.exhausted_until)
    }

    /// Takes `n` units of a quota of `limit` in `period`.
    pub(crate) fn take_quota(
        &mut self,
        period: u32,
        limit: u64,
        t: &Tuning,
        healthy: bool,
        now: u64,
        n: u64,
    ) -> (Take, bool) {
        self.limit = limit;
        if self.period != period {
            // A new period: what was leased or owed for the old one no longer matters.
            let queued = self.queued;
            *self = LeaseState {
                period,
                limit,
                queued,
                allowance: t.cold_quota(limit, None),
                ..LeaseState::default()
            };
        }
        let due = self.expire(now, t.cold_quota(limit, self.last_available)) && healthy;
        if self.tokens >= n {
            self.tokens -= n;
            let low = self.tokens <= t.quota_allowance / 2;
            return (Take::Allowed, (due || low) && healthy && self.mark_queued());
        }
        if !healthy {
            if !t.fail_open {
                return (Take::Unavailable, false);
            }
            let used = self.fallback.saturating_add(n);
            if used > t.share_of(limit) {
                return (Take::Denied, false);
            }
            self.fallback = used;
            // Counted in Redis once it is back: the quota is a fact of the day, not a rate.
            self.debt = self.debt.saturating_add(n);
            return (Take::Allowed, self.mark_queued());
        }
        self.take_unleased(n, due, now < self.exhausted_until)
    }

    /// Gives back `n` units taken earlier (to the lease if it is still valid, else from the
    /// unreported debt).
    pub(crate) fn refund(&mut self, now: u64, n: u64) {
        if self.lease_expires != 0 && now < self.lease_expires {
            self.tokens = self.tokens.saturating_add(n);
        } else if self.debt > 0 {
            let back = self.debt.min(n);
            self.debt -= back;
            self.allowance = self.allowance.saturating_add(back);
        }
    }

    /// Periodic sweep: expires a stale lease. True if a sync is due (units to give back).
    pub(crate) fn sweep(&mut self, now: u64, cold: u64) -> bool {
        self.expire(now, cold) && self.mark_queued()
    }

    /// Starts a sync: moves debt and returns in flight and says how many units to lease:
    /// `lease_units`, or the demand seen since the last sync up to `max_units` if more, or
    /// what an oversize take needs.
    pub(crate) fn begin_sync(&mut self, lease_units: u64, max_units: u64, now: u64) -> SyncRequest {
        let debt = std::mem::take(&mut self.debt);
        self.debt_in_flight = self.debt_in_flight.saturating_add(debt);
        let returned = std::mem::take(&mut self.returning);
        self.returning_in_flight = self.returning_in_flight.saturating_add(returned);
        let held = if now < self.lease_expires {
            self.tokens
        } else {
            0
        };
        // Demand sizes the lease of a warm key only: a cold key's first sync reports its
        // post-paid units before it leases more, so cold nodes all get counted first.
        let demand = std::mem::take(&mut self.demand);
        let demand = if self.warm { demand.min(max_units) } else { 0 };
        self.starved = false;
        // A cold key that was not used only gives back; anything else leases ahead.
        let want = if self.warm || debt > 0 || self.need > 0 {
            lease_units.max(demand).max(self.need).saturating_sub(held)
        } else {
            0
        };
        self.asking = want > 0;
        SyncRequest {
            debt,
            want,
            returned,
        }
    }

    /// Applies a reply. Returns true when more is due meanwhile (queue again).
    pub(crate) fn finish_sync(
        &mut self,
        reply: SyncReply,
        ttl: u64,
        now: u64,
        quota: bool,
    ) -> bool {
        self.debt_in_flight = 0;
        self.returning_in_flight = 0;
        self.need = 0;
        self.last_available = Some(reply.available);
        if reply.granted > 0 {
            self.tokens = self.tokens.saturating_add(reply.granted);
            self.lease_expires = now.saturating_add(ttl).max(1);
        }
        if self.asking {
            self.warm = true;
            if reply.granted == 0 && reply.available == 0 {
                // A quota may come back when other nodes give back unused leases: ask again
                // after a lease's life.
                let retry = if quota { ttl } else { reply.retry_after_ns };
                self.exhausted_until = now.saturating_add(retry);
                // Stay warm (asking Redis, never passing unconfirmed) until the key is due
                // again and then idle for a lease's life.
                self.lease_expires = self
                    .exhausted_until
                    .max(now.saturating_add(ttl))
                    .max(self.lease_expires);
            } else {
                self.exhausted_until = 0;
            }
        }
        self.asking = false;
        // Takes refused for lack of lease while this sync was in flight ask again at once if
        // a rate bucket still had room: the next top-up is sized by their demand.
        let starved = !quota && self.starved && reply.available > 0;
        if self.debt > 0 || self.returning > 0 || starved {
            true
        } else {
            self.queued = false;
            false
        }
    }

    /// A sync failed: keep what was to be reported for the next attempt (the caller keeps it
    /// queued).
    pub(crate) fn fail_sync(&mut self) {
        self.debt = self
            .debt
            .saturating_add(std::mem::take(&mut self.debt_in_flight));
        self.returning = self
            .returning
            .saturating_add(std::mem::take(&mut self.returning_in_flight));
        self.asking = false;
    }

    /// Whether forgetting this state loses nothing but what a cold start re-learns.
    pub(crate) fn is_idle(&self, now: u64) -> bool {
        !self.queued
            && self.debt == 0
            && self.debt_in_flight == 0
            && self.returning == 0
            && self.returning_in_flight == 0
            && self.tokens == 0
            && self.fallback <= now
            && self.exhausted_until <= now
    }

    /// Quota units used in the current period as Redis counts them at the last sync (less
    /// this node's unused lease), plus what this node counted since.
    pub(crate) fn used(&self) -> u64 {
        let confirmed = self.last_available.map_or(0, |a| {
            self.limit
                .saturating_sub(a)
                .saturating_sub(self.tokens)
                .saturating_sub(self.returning)
        });
        confirmed
            .saturating_add(self.debt)
            .saturating_add(self.debt_in_flight)
    }

    /// Units leased and unused.
    pub(crate) fn tokens(&self, now: u64) -> u64 {
        if now < self.lease_expires {
            self.tokens
        } else {
            0
        }
    }
}

/// Counters of the fleet machinery, for metrics.
#[derive(Debug, Default)]
pub(crate) struct RemoteCounters {
    pub(crate) syncs: AtomicU64,
    pub(crate) sync_failures: AtomicU64,
    pub(crate) units_leased: AtomicU64,
    pub(crate) units_reported: AtomicU64,
    pub(crate) degraded_allowed: AtomicU64,
    pub(crate) connects: AtomicU64,
}

/// State shared between the limiter and the Redis driver.
pub(crate) struct RemoteShared {
    pub(crate) tuning: Tuning,
    healthy: AtomicBool,
    /// When the current health state began, and why it is degraded.
    pub(crate) status: Mutex<(Nanos, &'static str)>,
    pending: Mutex<Vec<Pending>>,
    wake: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    /// A bind was taken or freed since the last shared bind count sync.
    binds_dirty: AtomicBool,
    pub(crate) counters: RemoteCounters,
}

impl RemoteShared {
    pub(crate) fn new(tuning: Tuning) -> Self {
        RemoteShared {
            tuning,
            healthy: AtomicBool::new(false),
            status: Mutex::new((Nanos::ZERO, "connecting")),
            pending: Mutex::new(Vec::new()),
            wake: Mutex::new(None),
            binds_dirty: AtomicBool::new(false),
            counters: RemoteCounters::default(),
        }
    }

    /// Whether Redis answered the last request in time.
    #[inline]
    pub(crate) fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Queues a sync and wakes the driver.
    pub(crate) fn push(&self, p: Pending) {
        self.pending.lock().push(p);
        self.wake();
    }

    fn wake(&self) {
        let wake = self.wake.lock().clone();
        if let Some(wake) = wake {
            wake();
        }
    }

    /// Notes that a bind count changed and wakes the driver to share it.
    pub(crate) fn binds_changed(&self) {
        self.binds_dirty.store(true, Ordering::Release);
        self.wake();
    }

    /// Whether bind counts changed since the last call.
    pub(crate) fn take_binds_dirty(&self) -> bool {
        self.binds_dirty.swap(false, Ordering::AcqRel)
    }

    /// Takes every queued sync.
    pub(crate) fn drain(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// Puts syncs back in front of newer ones (after a failure).
    pub(crate) fn requeue(&self, mut items: Vec<Pending>) {
        let mut pending = self.pending.lock();
        items.append(&mut pending);
        *pending = items;
    }

    /// Installs the driver's wake-up hook.
    pub(crate) fn set_wake(&self, wake: Arc<dyn Fn() + Send + Sync>) {
        *self.wake.lock() = Some(wake);
    }

    /// Records the health state; returns true if it changed.
    pub(crate) fn set_health(&self, healthy: bool, now: Nanos, reason: &'static str) -> bool {
        let mut status = self.status.lock();
        let was = self.healthy.swap(healthy, Ordering::AcqRel);
        if was != healthy || status.0 == Nanos::ZERO {
            *status = (now, reason);
        }
        was != healthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn tuning() -> Tuning {
        Tuning {
            share_ppm: 500_000,
            fail_open: true,
            lease_window_ns: 10 * MS,
            lease_ttl_ns: 1000 * MS,
            max_lease_units: 10_000,
            quota_allowance: 1000,
        }
    }

    fn reply(granted: u64, available: u64, retry_ms: u64) -> SyncReply {
        SyncReply {
            granted,
            available,
            retry_after_ns: retry_ms * MS,
        }
    }

    #[test]
    fn cold_key_uses_allowance_then_lease() {
        let t = tuning();
        let p = GcraParams::per_second(1000.0, 100).unwrap();
        assert_eq!(t.lease_units_rate(&p), 10);
        assert_eq!(
            t.cold_rate(&p),
            20,
            "two lease windows, under half the burst"
        );
        let mut s = LeaseState::new(t.cold_rate(&p));
        let now = 1000 * MS;
        // Cold: post-paid allowance; the first take queues a sync.
        assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Allowed, true));
        assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Allowed, false));
        let req = s.begin_sync(t.lease_units_rate(&p), t.max_lease_rate(&p), now);
        assert_eq!(
            req,
            SyncRequest {
                debt: 2,
                want: 10,
                returned: 0
            }
        );
        assert!(!s.finish_sync(reply(10, 88, 0), t.lease_ttl_rate(&p), now, false));
        // Warm now: ten prepaid units; the take that leaves half of them queues a top-up.
        for i in 0..10 {
            let (take, queue) = s.take_rate(&p, &t, true, now, 1);
            assert_eq!(take, Take::Allowed);
            assert_eq!(queue, i == 4, "take {i}");
        }
        // No allowance once warm: the eleventh waits for the top-up.
        assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Denied);
    }

    #[test]
    fn expired_lease_is_given_back_and_key_turns_cold() {
        let t = tuning();
        let p = GcraParams::per_second(1000.0, 100).unwrap();
        let mut s = LeaseState::new(t.cold_rate(&p));
        assert_eq!(s.take_rate(&p, &t, true, 0, 1).0, Take::Allowed);
        let _ = s.begin_sync(10, 100, 0);
        s.finish_sync(reply(10, 80, 0), t.lease_ttl_rate(&p), 0, false);
        assert_eq!(s.tokens(999 * MS), 10);
        assert!(!s.is_idle(999 * MS));
        // Expiry found by the sweep: units go back, nothing is leased ahead for an idle key.
        assert!(s.sweep(1000 * MS, t.cold_rate(&p)));
        let req = s.begin_sync(10, 100, 1000 * MS);
        assert_eq!(
            req,
            SyncRequest {
                debt: 0,
                want: 0,
                returned: 10
            }
        );
        s.finish_sync(reply(0, 100, 0), t.lease_ttl_rate(&p), 1000 * MS, false);
        assert!(s.is_idle(1000 * MS));
        // Cold again: the next message passes on the allowance.
        assert_eq!(
            s.take_rate(&p, &t, true, 2000 * MS, 1),
            (Take::Allowed, true)
        );
    }

    #[test]
    fn exhausted_key_refuses_until_retry() {
        let t = tuning();
        let p = GcraParams::per_second(10.0, 1).unwrap();
        let mut s = LeaseState::new(t.cold_rate(&p));
        let now = 5000 * MS;
        assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Allowed);
        let req = s.begin_sync(t.lease_units_rate(&p), t.max_lease_rate(&p), now);
        assert_eq!(req.want, 1);
        s.finish_sync(reply(0, 0, 100), t.lease_ttl_rate(&p), now, false);
        assert_eq!(
            s.take_rate(&p, &t, true, now + 50 * MS, 1),
            (Take::Denied, false)
        );
        // After the retry time the key asks Redis again instead of passing unconfirmed.
        assert_eq!(
            s.take_rate(&p, &t, true, now + 100 * MS, 1),
            (Take::Denied, true)
        );
        let _ = s.begin_sync(1, 1, now + 100 * MS);
        s.finish_sync(
            reply(1, 0, 100),
            t.lease_ttl_rate(&p),
            now + 100 * MS,
            false,
        );
        assert_eq!(
            s.take_rate(&p, &t, true, now + 101 * MS, 1).0,
            Take::Allowed
        );
    }

    #[test]
    fn oversize_take_asks_for_what_it_needs() {
        let t = tuning();
        let p = GcraParams::per_second(100.0, 10).unwrap();
        let mut s = LeaseState::new(t.cold_rate(&p));
        let _ = s.take_rate(&p, &t, true, 0, 1);
        let _ = s.begin_sync(t.lease_units_rate(&p), t.max_lease_rate(&p), 0);
        s.finish_sync(reply(1, 8, 0), t.lease_ttl_rate(&p), 0, false);
        assert_eq!(s.take_rate(&p, &t, true, 0, 6).0, Take::Denied);
        assert_eq!(
            s.begin_sync(t.lease_units_rate(&p), t.max_lease_rate(&p), 0)
                .want,
            5
        );
    }

    /// Lease size, largest lease and lease life of a rate.
    fn rate_sizes(t: &Tuning, p: &GcraParams) -> (u64, u64, u64) {
        (
            t.lease_units_rate(p),
            t.max_lease_rate(p),
            t.lease_ttl_rate(p),
        )
    }

    #[test]
    fn bursty_demand_sizes_the_next_lease() {
        let t = tuning();
        // 100/s: one lease window (10 ms) is one unit; the burst (30) bounds the demand.
        let p = GcraParams::per_second(100.0, 30).unwrap();
        let (lease, max, ttl) = rate_sizes(&t, &p);
        assert_eq!((lease, max), (1, 30));
        let mut s = LeaseState::new(t.cold_rate(&p));
        let now = 1000 * MS;
        let passed = (0..40)
            .filter(|_| s.take_rate(&p, &t, true, now, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 2, "cold allowance only");
        // A cold key reports what passed and leases one window's worth.
        let req = s.begin_sync(lease, max, now);
        assert_eq!((req.debt, req.want), (2, 1));
        assert!(!s.finish_sync(reply(1, 27, 0), ttl, now, false));
        // Warm: the next burst's demand (40 asked, capped at the burst) sizes the top-up.
        let now = now + 100 * MS;
        let passed = (0..40)
            .filter(|_| s.take_rate(&p, &t, true, now, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 1);
        let req = s.begin_sync(lease, max, now);
        assert_eq!((req.debt, req.want), (0, 30));
        // Redis holds fewer: it grants what it has, and the next burst finds them leased.
        assert!(!s.finish_sync(reply(28, 0, 0), ttl, now, false));
        let now = now + 100 * MS;
        let passed = (0..30)
            .filter(|_| s.take_rate(&p, &t, true, now, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 28);
        // A sync with no demand since it began asks one window's worth again.
        let _ = s.begin_sync(lease, max, now);
        s.finish_sync(reply(1, 9, 0), ttl, now, false);
        assert_eq!(s.begin_sync(lease, max, now).want, 0, "one unit held");
    }

    #[test]
    fn refusals_during_a_sync_ask_again_while_redis_has_room() {
        let t = tuning();
        let p = GcraParams::per_second(100.0, 30).unwrap();
        let (lease, max, ttl) = rate_sizes(&t, &p);
        let mut s = LeaseState::new(t.cold_rate(&p));
        let now = 1000 * MS;
        assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Allowed);
        let _ = s.begin_sync(lease, max, now);
        assert!(!s.finish_sync(reply(1, 28, 0), ttl, now, false));
        // A burst: the driver starts the top-up after three takes...
        let passed = (0..3)
            .filter(|_| s.take_rate(&p, &t, true, now, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 1);
        assert_eq!(s.begin_sync(lease, max, now).want, 3);
        // ...and the rest of the burst is refused while it is in flight.
        for _ in 0..27 {
            assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Denied, false));
        }
        // Redis still had room: ask again at once, sized by the refused demand.
        assert!(s.finish_sync(reply(3, 24, 0), ttl, now, false));
        let req = s.begin_sync(lease, max, now);
        assert_eq!(req.want, 24, "27 asked, 3 held");
        assert!(!s.finish_sync(reply(24, 0, 0), ttl, now, false));
        assert_eq!(s.tokens(now), 27);
        // Refusals during a sync that emptied the bucket wait for the next take instead.
        for _ in 0..27 {
            assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Allowed);
        }
        assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Denied);
        let _ = s.begin_sync(lease, max, now);
        assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Denied, false));
        assert!(!s.finish_sync(reply(0, 0, 10), ttl, now, false));
    }

    #[test]
    fn degraded_rate_uses_local_share_and_fail_closed_refuses() {
        let mut t = tuning();
        let p = GcraParams::per_second(100.0, 10).unwrap();
        let mut s = LeaseState::new(t.cold_rate(&p));
        let now = 10_000 * MS;
        let passed = (0..100)
            .filter(|_| s.take_rate(&p, &t, false, now, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 5, "half the burst while degraded");
        // Half the rate: one unit per 20 ms.
        assert_eq!(
            s.take_rate(&p, &t, false, now + 20 * MS, 1).0,
            Take::Allowed
        );
        assert_eq!(s.take_rate(&p, &t, false, now + 20 * MS, 1).0, Take::Denied);
        t.fail_open = false;
        assert_eq!(s.take_rate(&p, &t, false, now, 1).0, Take::Unavailable);
    }

    #[test]
    fn quota_leases_and_resets_per_period() {
        let t = tuning();
        let mut s = LeaseState::new(0);
        // 10 per day, share 0.5: 5 pass cold, before the first sync.
        let passed = (0..10)
            .filter(|_| s.take_quota(7, 10, &t, true, 0, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 5);
        let req = s.begin_sync(t.quota_allowance, t.quota_allowance, 0);
        assert_eq!((req.debt, req.want), (5, 1000));
        // Redis had 5 left and grants them all to this node.
        s.finish_sync(reply(5, 0, 0), t.lease_ttl_ns, 0, true);
        assert_eq!(s.used(), 5);
        assert_eq!(
            (0..10)
                .filter(|_| s.take_quota(7, 10, &t, true, 0, 1).0 == Take::Allowed)
                .count(),
            5
        );
        let _ = s.begin_sync(t.quota_allowance, t.quota_allowance, 0);
        s.finish_sync(reply(0, 0, 0), t.lease_ttl_ns, 0, true);
        assert_eq!(s.take_quota(7, 10, &t, true, 0, 1), (Take::Denied, false));
        assert_eq!(s.used(), 10);
        // Next day: a fresh allowance.
        assert_eq!(s.take_quota(8, 10, &t, true, 0, 1).0, Take::Allowed);
    }

    #[test]
    fn failed_sync_keeps_debt_and_returns() {
        let t = tuning();
        let mut s = LeaseState::new(0);
        for _ in 0..3 {
            let _ = s.take_quota(1, 100, &t, true, 0, 1);
        }
        let req = s.begin_sync(0, 0, 0);
        assert_eq!(req.debt, 3);
        s.fail_sync();
        assert_eq!(s.begin_sync(0, 0, 0).debt, 3);
        assert!(!s.is_idle(0));
    }
}
