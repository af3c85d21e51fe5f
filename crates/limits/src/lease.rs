//! The node-side half of fleet-wide limits: leases, allowances and the sync queue. Sans-IO;
//! the Redis driver in `crate::redis` moves requests and replies.
//!
//! Every fleet-wide limit key (an account rate, a quota, one sender, one destination, one
//! prefix) has a [`LeaseState`] on each node. A check never waits for Redis:
//!
//! * **Leased units** (prepaid): the driver takes up to `want` units from the global GCRA in
//!   Redis ahead of use; checks consume them locally until they run low, which queues a
//!   top-up. Unused units expire after `lease_ttl`. `want` is the limit's rate over
//!   `lease_window` (a key slower than one unit per window leases nothing and is post-paid).
//! * **Allowance** (post-paid): a key may also pass units that Redis has not yet confirmed, up
//!   to an allowance set from the last reply (`local_share` of what Redis said was still
//!   available, at most `local_share` of the burst, or `quota_allowance` for quotas). Those
//!   units are recorded as debt and charged to Redis on the next sync, so the global count
//!   sees every message that passed on any node.
//! * **Exhausted**: when Redis says nothing is left, the key refuses until the reply's retry
//!   time (rates) or the end of the period (quotas).
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
    pub(crate) fn new(key: String, kind: CellKind, tuning: &Tuning) -> Arc<Self> {
        let state = match kind {
            CellKind::Rate(p) => LeaseState::new(tuning.cap_rate(&p)),
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
    /// The limit is exceeded.
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
    /// Units to lease ahead for a rate: its rate over the lease window, capped by the burst.
    pub(crate) fn want_rate(&self, p: &GcraParams) -> u64 {
        (self.lease_window_ns / p.interval())
            .min(p.burst())
            .min(self.max_lease_units)
    }

    /// Post-paid units allowed before the first sync: `local_share` of the burst.
    pub(crate) fn cap_rate(&self, p: &GcraParams) -> u64 {
        self.share_of(p.burst()).max(1)
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
        GcraParams::from_raw(interval, self.cap_rate(p))
    }
}

/// Per-key state on one node.
#[derive(Debug, Default)]
pub(crate) struct LeaseState {
    /// Prepaid units usable until `lease_expires`.
    tokens: u64,
    lease_expires: u64,
    /// Post-paid units not yet reported to Redis.
    debt: u64,
    /// Units being reported by the sync in flight.
    in_flight: u64,
    /// Post-paid units still allowed before the next sync.
    allowance: u64,
    /// Refuse until then (rates); `u64::MAX` for an exhausted quota period.
    exhausted_until: u64,
    /// Local fallback state while degraded (GCRA TAT, or quota count).
    fallback: u64,
    /// Quota period the state belongs to, and the quota limit last seen.
    pub(crate) period: u32,
    pub(crate) limit: u64,
    /// What Redis last said was still available, if it has answered.
    last_available: Option<u64>,
    /// A sync is queued or in flight.
    queued: bool,
}

/// A request built for the driver: what to report and what to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyncRequest {
    pub(crate) debt: u64,
    pub(crate) want: u64,
}

/// Redis' answer for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SyncReply {
    pub(crate) granted: u64,
    pub(crate) available: u64,
    pub(crate) retry_after_ns: u64,
}

impl LeaseState {
    pub(crate) fn new(initial_allowance: u64) -> Self {
        LeaseState {
            allowance: initial_allowance,
            ..LeaseState::default()
        }
    }

    /// Marks the state queued; true if the caller must push it on the queue.
    fn mark_queued(&mut self) -> bool {
        !std::mem::replace(&mut self.queued, true)
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
        let want = t.want_rate(p);
        if self.tokens > 0 && now >= self.lease_expires {
            self.tokens = 0;
        }
        if self.tokens >= n {
            self.tokens -= n;
            let low = want > 0 && self.tokens <= want / 2;
            return (Take::Allowed, healthy && low && self.mark_queued());
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
        if now < self.exhausted_until {
            return (Take::Denied, false);
        }
        if self.allowance >= n {
            self.allowance -= n;
            self.debt = self.debt.saturating_add(n);
            return (Take::Allowed, self.mark_queued());
        }
        (Take::Denied, self.mark_queued())
    }

    /// Takes `n` units of a quota of `limit` in `period`.
    pub(crate) fn take_quota(
        &mut self,
        period: u32,
        limit: u64,
        t: &Tuning,
        healthy: bool,
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
                allowance: t.share_of(limit).min(t.quota_allowance),
                ..LeaseState::default()
            };
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
            self.debt = self.debt.saturating_add(n);
            return (Take::Allowed, self.mark_queued());
        }
        if self.exhausted_until == u64::MAX {
            return (Take::Denied, false);
        }
        if self.allowance >= n {
            self.allowance -= n;
            self.debt = self.debt.saturating_add(n);
            return (Take::Allowed, self.mark_queued());
        }
        (Take::Denied, self.mark_queued())
    }

    /// Gives back `n` units taken earlier (to the lease if it is still valid, else from the
    /// unreported debt).
    pub(crate) fn refund(&mut self, now: u64, n: u64) {
        if self.tokens > 0 && now < self.lease_expires {
            self.tokens = self.tokens.saturating_add(n);
        } else if self.debt > 0 {
            let back = self.debt.min(n);
            self.debt -= back;
            self.allowance = self.allowance.saturating_add(back);
        }
    }

    /// Starts a sync: moves the debt in flight and says how many units to lease.
    pub(crate) fn begin_sync(&mut self, want_size: u64, now: u64) -> SyncRequest {
        let debt = std::mem::take(&mut self.debt);
        self.in_flight = self.in_flight.saturating_add(debt);
        let held = if now < self.lease_expires {
            self.tokens
        } else {
            0
        };
        SyncRequest {
            debt,
            want: want_size.saturating_sub(held),
        }
    }

    /// Applies a reply. Returns true when more debt accrued meanwhile (queue again).
    pub(crate) fn finish_sync(
        &mut self,
        reply: SyncReply,
        t: &Tuning,
        cap: u64,
        now: u64,
        quota: bool,
    ) -> bool {
        self.in_flight = 0;
        self.last_available = Some(reply.available);
        if reply.granted > 0 {
            if now >= self.lease_expires {
                self.tokens = 0;
            }
            self.tokens = self.tokens.saturating_add(reply.granted);
            self.lease_expires = now.saturating_add(t.lease_ttl_ns);
        }
        if reply.available == 0 && reply.granted == 0 {
            if quota {
                self.exhausted_until = u64::MAX;
                self.allowance = 0;
            } else {
                self.exhausted_until = now.saturating_add(reply.retry_after_ns);
                // One unit is due at the retry time; take it without waiting for a reply.
                self.allowance = 1;
            }
        } else {
            if !quota {
                self.exhausted_until = 0;
            }
            self.allowance = t.share_of(reply.available).min(cap);
        }
        if self.debt > 0 {
            true
        } else {
            self.queued = false;
            false
        }
    }

    /// A sync failed: keep the debt for the next attempt (the caller keeps it queued).
    pub(crate) fn fail_sync(&mut self) {
        self.debt = self
            .debt
            .saturating_add(std::mem::take(&mut self.in_flight));
    }

    /// Whether forgetting this state loses nothing but the cold-start allowance.
    pub(crate) fn is_idle(&self, now: u64) -> bool {
        !self.queued
            && self.debt == 0
            && self.in_flight == 0
            && (self.tokens == 0 || now >= self.lease_expires)
            && self.fallback <= now
            && self.exhausted_until <= now
    }

    /// Quota units used in the current period: the fleet-wide count at the last sync plus what
    /// this node counted since.
    pub(crate) fn used(&self) -> u64 {
        let confirmed = self
            .last_available
            .map_or(0, |a| self.limit.saturating_sub(a));
        confirmed
            .saturating_add(self.debt)
            .saturating_add(self.in_flight)
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

    #[test]
    fn cold_key_uses_allowance_then_lease() {
        let t = tuning();
        let p = GcraParams::per_second(1000.0, 100).unwrap();
        assert_eq!(t.want_rate(&p), 10);
        assert_eq!(t.cap_rate(&p), 50);
        let mut s = LeaseState::new(t.cap_rate(&p));
        let now = 1000 * MS;
        // Cold: post-paid allowance, the first take queues a sync.
        assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Allowed, true));
        assert_eq!(s.take_rate(&p, &t, true, now, 1), (Take::Allowed, false));
        let req = s.begin_sync(t.want_rate(&p), now);
        assert_eq!(req, SyncRequest { debt: 2, want: 10 });
        let reply = SyncReply {
            granted: 10,
            available: 88,
            retry_after_ns: 0,
        };
        assert!(!s.finish_sync(reply, &t, t.cap_rate(&p), now, false));
        // Ten prepaid units; the take that leaves half of them queues a top-up.
        for i in 0..10 {
            let (take, queue) = s.take_rate(&p, &t, true, now, 1);
            assert_eq!(take, Take::Allowed);
            assert_eq!(queue, i == 4, "take {i}");
        }
        assert_eq!(s.tokens(now), 0);
    }

    #[test]
    fn leased_units_expire() {
        let t = tuning();
        let p = GcraParams::per_second(1000.0, 100).unwrap();
        let mut s = LeaseState::new(0);
        let _ = s.begin_sync(10, 0);
        let reply = SyncReply {
            granted: 10,
            available: 0,
            retry_after_ns: 0,
        };
        s.finish_sync(reply, &t, 50, 0, false);
        assert_eq!(s.tokens(999 * MS), 10);
        assert_eq!(s.tokens(1000 * MS), 0);
        assert!(s.is_idle(1000 * MS));
        // With no allowance left and the lease gone, the key waits for Redis.
        assert_eq!(s.take_rate(&p, &t, true, 1000 * MS, 1).0, Take::Denied);
    }

    #[test]
    fn exhausted_key_refuses_until_retry() {
        let t = tuning();
        let p = GcraParams::per_second(10.0, 1).unwrap();
        let mut s = LeaseState::new(1);
        let now = 5000 * MS;
        assert_eq!(s.take_rate(&p, &t, true, now, 1).0, Take::Allowed);
        let _ = s.begin_sync(t.want_rate(&p), now);
        let reply = SyncReply {
            granted: 0,
            available: 0,
            retry_after_ns: 100 * MS,
        };
        s.finish_sync(reply, &t, 1, now, false);
        assert_eq!(s.take_rate(&p, &t, true, now + 50 * MS, 1).0, Take::Denied);
        // At the retry time one unit passes without waiting for another reply.
        assert_eq!(
            s.take_rate(&p, &t, true, now + 100 * MS, 1).0,
            Take::Allowed
        );
        assert_eq!(s.take_rate(&p, &t, true, now + 100 * MS, 1).0, Take::Denied);
    }

    #[test]
    fn degraded_rate_uses_local_share_and_fail_closed_refuses() {
        let mut t = tuning();
        let p = GcraParams::per_second(100.0, 10).unwrap();
        let mut s = LeaseState::new(5);
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
    fn quota_is_post_paid_and_resets_per_period() {
        let t = tuning();
        let mut s = LeaseState::new(0);
        // 10 per day, share 0.5: 5 before the first sync.
        let passed = (0..10)
            .filter(|_| s.take_quota(7, 10, &t, true, 1).0 == Take::Allowed)
            .count();
        assert_eq!(passed, 5);
        let req = s.begin_sync(0, 0);
        assert_eq!(req.debt, 5);
        let reply = SyncReply {
            granted: 0,
            available: 0,
            retry_after_ns: 0,
        };
        s.finish_sync(reply, &t, 1000, 0, true);
        assert_eq!(s.used(), 10);
        assert_eq!(s.take_quota(7, 10, &t, true, 1).0, Take::Denied);
        // Next day: allowance again.
        assert_eq!(s.take_quota(8, 10, &t, true, 1).0, Take::Allowed);
    }

    #[test]
    fn failed_sync_keeps_debt() {
        let t = tuning();
        let mut s = LeaseState::new(0);
        for _ in 0..3 {
            let _ = s.take_quota(1, 100, &t, true, 1);
        }
        let req = s.begin_sync(0, 0);
        assert_eq!(req.debt, 3);
        s.fail_sync();
        assert_eq!(s.begin_sync(0, 0).debt, 3);
        assert!(!s.is_idle(0));
    }
}
