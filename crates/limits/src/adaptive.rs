//! Adaptive protection: watch each account's verdicts and restrict it automatically.
//!
//! Two signals, both driven by the caller's clock:
//! * the share of blocked messages over a sliding window of ten-second buckets (judged once
//!   `min_messages` are in the window), and
//! * the number of distinct destinations within one clock minute (kept exactly, as a set of
//!   address keys capped at the bound plus one, so memory is bounded by the bound).
//!
//! A tripped policy throttles the account to a lower rate or suspends it, for a set time or
//! until released by hand. Restrictions are logged with their reason and shown in snapshots.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use crate::config::AdaptivePlan;
use crate::gcra::{GcraCell, GcraParams};
use crate::key::AddressKey;
use crate::time::Nanos;

const BUCKET_NS: u64 = 10_000_000_000;
const MINUTE_NS: u64 = 60_000_000_000;

/// How an account is restricted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionKind {
    /// Held to a lower rate.
    Throttled,
    /// Every message refused.
    Suspended,
}

impl RestrictionKind {
    /// Stable name for labels: `throttled` or `suspended`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RestrictionKind::Throttled => "throttled",
            RestrictionKind::Suspended => "suspended",
        }
    }
}

/// Why an account is restricted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum RestrictionReason {
    /// An operator suspended it.
    Manual,
    /// Too many of its messages were blocked in the window.
    BlockedShare {
        /// Blocked messages in the window.
        blocked: u64,
        /// All observed messages in the window.
        total: u64,
        /// The configured share it passed.
        max_share: f64,
    },
    /// It sent to too many distinct destinations in one minute.
    DistinctDestinations {
        /// Distinct destinations seen (capped at the bound plus one).
        count: u32,
        /// The configured bound.
        max: u32,
    },
}

impl RestrictionReason {
    /// Stable name for labels: `manual`, `blocked_share` or `distinct_destinations`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RestrictionReason::Manual => "manual",
            RestrictionReason::BlockedShare { .. } => "blocked_share",
            RestrictionReason::DistinctDestinations { .. } => "distinct_destinations",
        }
    }
}

/// A restriction in force.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Restriction {
    /// Throttled or suspended.
    pub kind: RestrictionKind,
    /// Why.
    pub reason: RestrictionReason,
    /// When it began (caller's monotonic clock).
    #[serde(skip)]
    pub since: Nanos,
    /// When it ends by itself; `None` means until released by hand.
    #[serde(skip)]
    pub until: Option<Nanos>,
    /// Rate while throttled, messages per second.
    pub throttle_messages_per_second: Option<f64>,
    /// Status answered while restricted.
    pub status: u32,
}

const MODE_NONE: u8 = 0;
const MODE_THROTTLED: u8 = 1;
const MODE_SUSPENDED: u8 = 2;

/// Restriction flags read on every check, plus the details and the observation window.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    mode: AtomicU8,
    /// End of the restriction in nanoseconds (0 = until released).
    until: AtomicU64,
    status: AtomicU32,
    throttle: GcraCell,
    throttle_interval: AtomicU64,
    throttle_burst: AtomicU64,
    detail: Mutex<Watch>,
}

/// The hot-path view of a restriction.
pub(crate) enum Active {
    None,
    Throttled { params: GcraParams, status: u32 },
    Suspended { status: u32 },
}

#[derive(Debug, Default)]
struct Watch {
    restriction: Option<Restriction>,
    /// Ring of (bucket index, total, blocked).
    buckets: Vec<(u64, u64, u64)>,
    sum_total: u64,
    sum_blocked: u64,
    last_bucket: u64,
    minute: u64,
    distinct: HashSet<u64, foldhash::fast::RandomState>,
}

impl Guard {
    /// The restriction in force at `now`, expiring it lazily.
    #[inline]
    pub(crate) fn active(&self, account: &str, now: Nanos) -> Active {
        let mode = self.mode.load(Ordering::Acquire);
        if mode == MODE_NONE {
            return Active::None;
        }
        let until = self.until.load(Ordering::Acquire);
        if until != 0 && now.as_nanos() >= until {
            self.expire(account, now);
            return Active::None;
        }
        let status = self.status.load(Ordering::Acquire);
        if mode == MODE_SUSPENDED {
            return Active::Suspended { status };
        }
        let params = GcraParams::from_raw(
            self.throttle_interval.load(Ordering::Acquire),
            self.throttle_burst.load(Ordering::Acquire),
        );
        Active::Throttled { params, status }
    }

    /// The GCRA state used while throttled.
    pub(crate) fn throttle_cell(&self) -> &GcraCell {
        &self.throttle
    }

    #[cold]
    fn expire(&self, account: &str, now: Nanos) {
        let mut w = self.detail.lock();
        let until = self.until.load(Ordering::Acquire);
        if self.mode.load(Ordering::Acquire) != MODE_NONE && until != 0 && now.as_nanos() >= until {
            self.mode.store(MODE_NONE, Ordering::Release);
            if let Some(r) = w.restriction.take() {
                tracing::info!(
                    account,
                    kind = r.kind.as_str(),
                    reason = r.reason.as_str(),
                    "Account restriction expired"
                );
            }
        }
    }

    /// Puts a restriction in force (replacing any other). A throttle needs `throttle`.
    pub(crate) fn restrict(&self, account: &str, r: Restriction, throttle: Option<GcraParams>) {
        let mut w = self.detail.lock();
        self.apply(account, &mut w, r, throttle);
    }

    fn apply(
        &self,
        account: &str,
        w: &mut Watch,
        mut r: Restriction,
        throttle: Option<GcraParams>,
    ) {
        let mode = match (r.kind, throttle) {
            (RestrictionKind::Throttled, Some(p)) => {
                self.throttle_interval
                    .store(p.interval(), Ordering::Release);
                self.throttle_burst.store(p.burst(), Ordering::Release);
                MODE_THROTTLED
            }
            _ => {
                r.kind = RestrictionKind::Suspended;
                r.throttle_messages_per_second = None;
                MODE_SUSPENDED
            }
        };
        self.until.store(
            r.until.map_or(0, |u| u.as_nanos().max(1)),
            Ordering::Release,
        );
        self.status.store(r.status, Ordering::Release);
        self.mode.store(mode, Ordering::Release);
        tracing::warn!(
            account,
            kind = r.kind.as_str(),
            reason = r.reason.as_str(),
            detail = ?r.reason,
            until_ns = r.until.map(Nanos::as_nanos),
            "Account restricted"
        );
        w.restriction = Some(r);
    }

    /// Lifts any restriction and clears the observation window. Returns what was lifted.
    pub(crate) fn release(&self, account: &str) -> Option<Restriction> {
        let mut w = self.detail.lock();
        self.mode.store(MODE_NONE, Ordering::Release);
        self.until.store(0, Ordering::Release);
        let lifted = w.restriction.take();
        w.buckets.clear();
        w.sum_total = 0;
        w.sum_blocked = 0;
        w.distinct.clear();
        if let Some(r) = &lifted {
            tracing::info!(
                account,
                kind = r.kind.as_str(),
                reason = r.reason.as_str(),
                "Account restriction released"
            );
        }
        lifted
    }

    /// The restriction in force at `now`, if any.
    pub(crate) fn restriction(&self, now: Nanos) -> Option<Restriction> {
        let w = self.detail.lock();
        if self.mode.load(Ordering::Acquire) == MODE_NONE {
            return None;
        }
        w.restriction.filter(|r| r.until.is_none_or(|u| now < u))
    }

    /// Blocked and total messages in the current window.
    pub(crate) fn window_counts(&self) -> (u64, u64) {
        let w = self.detail.lock();
        (w.sum_blocked, w.sum_total)
    }

    /// Records one verdict and restricts the account if `plan` trips.
    pub(crate) fn observe(
        &self,
        account: &str,
        plan: &AdaptivePlan,
        blocked: bool,
        destination: Option<AddressKey>,
        now: Nanos,
    ) -> Option<Restriction> {
        let mut w = self.detail.lock();
        let n = usize::try_from(plan.window_buckets).unwrap_or(1).max(1);
        let n64 = n as u64;
        if w.buckets.len() != n {
            w.buckets = vec![(u64::MAX, 0, 0); n];
            w.sum_total = 0;
            w.sum_blocked = 0;
            w.last_bucket = 0;
        }
        // Late observations (an older `now` from another thread) count in the newest bucket.
        let bucket = (now.as_nanos() / BUCKET_NS).max(w.last_bucket);
        // Retire the buckets that fell out of the window (at most n of them).
        let stale = bucket.saturating_sub(w.last_bucket).min(n64);
        for i in 0..stale {
            let b = bucket - i;
            let idx = usize::try_from(b % n64).unwrap_or(0);
            if let Some(slot) = w.buckets.get(idx).copied() {
                if slot.0 != u64::MAX {
                    w.sum_total = w.sum_total.saturating_sub(slot.1);
                    w.sum_blocked = w.sum_blocked.saturating_sub(slot.2);
                }
                if let Some(s) = w.buckets.get_mut(idx) {
                    *s = (b, 0, 0);
                }
            }
        }
        w.last_bucket = bucket;
        let idx = usize::try_from(bucket % n64).unwrap_or(0);
        if let Some(slot) = w.buckets.get_mut(idx) {
            slot.1 += 1;
            slot.2 += u64::from(blocked);
        }
        w.sum_total += 1;
        w.sum_blocked += u64::from(blocked);

        let mut reason = None;
        if let Some(max_share) = plan.max_blocked_share
            && w.sum_total >= plan.min_messages.max(1)
        {
            // ok: counts stay far below 2^53 in any real window.
            #[allow(clippy::cast_precision_loss)]
            let share = w.sum_blocked as f64 / w.sum_total as f64;
            if share > max_share {
                reason = Some(RestrictionReason::BlockedShare {
                    blocked: w.sum_blocked,
                    total: w.sum_total,
                    max_share,
                });
            }
        }
        if let (Some(max), Some(dest)) = (plan.max_distinct_per_minute, destination) {
            let minute = now.as_nanos() / MINUTE_NS;
            if minute != w.minute {
                w.minute = minute;
                w.distinct.clear();
            }
            let cap = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
            if w.distinct.len() < cap {
                w.distinct.insert(dest.as_u64());
            }
            let count = u32::try_from(w.distinct.len()).unwrap_or(u32::MAX);
            if count > max && reason.is_none() {
                reason = Some(RestrictionReason::DistinctDestinations { count, max });
            }
        }

        let reason = reason?;
        if self.mode.load(Ordering::Acquire) != MODE_NONE {
            let until = self.until.load(Ordering::Acquire);
            if until == 0 || now.as_nanos() < until {
                return None;
            }
        }
        let r = Restriction {
            kind: if plan.throttle.is_some() {
                RestrictionKind::Throttled
            } else {
                RestrictionKind::Suspended
            },
            reason,
            since: now,
            until: (!plan.duration.is_zero()).then(|| now.saturating_add(plan.duration)),
            throttle_messages_per_second: plan.throttle.map(|p| p.rate_per_second()),
            status: plan.status,
        };
        self.apply(account, &mut w, r, plan.throttle);
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SEC: u64 = 1_000_000_000;

    fn plan(share: Option<f64>, distinct: Option<u32>, throttle: Option<f64>) -> AdaptivePlan {
        AdaptivePlan {
            window_buckets: 30,
            max_blocked_share: share,
            min_messages: 20,
            max_distinct_per_minute: distinct,
            throttle: throttle.and_then(|r| GcraParams::per_second(r, 2)),
            duration: Duration::from_secs(600),
            status: 0x58,
        }
    }

    #[test]
    fn blocked_share_trips_after_min_messages() {
        let g = Guard::default();
        let p = plan(Some(0.5), None, Some(1.0));
        let t0 = 1000 * SEC;
        // 19 blocked messages: below min_messages, nothing happens.
        for i in 0..19 {
            assert!(
                g.observe("a", &p, true, None, Nanos::from_nanos(t0 + i))
                    .is_none()
            );
        }
        let r = g
            .observe("a", &p, true, None, Nanos::from_nanos(t0 + 20))
            .expect("trips at 20 messages, all blocked");
        assert_eq!(r.kind, RestrictionKind::Throttled);
        assert!(matches!(
            r.reason,
            RestrictionReason::BlockedShare {
                blocked: 20,
                total: 20,
                ..
            }
        ));
        match g.active("a", Nanos::from_nanos(t0 + 21)) {
            Active::Throttled { params, status } => {
                assert_eq!(status, 0x58);
                assert_eq!(params.burst(), 2);
                assert_eq!(params.interval(), SEC);
            }
            _ => panic!("expected throttled"),
        }
        // It lasts 600 s, then expires by itself.
        assert!(matches!(
            g.active("a", Nanos::from_nanos(t0 + 601 * SEC)),
            Active::None
        ));
        assert!(g.restriction(Nanos::from_nanos(t0 + 601 * SEC)).is_none());
    }

    #[test]
    fn old_blocks_slide_out_of_the_window() {
        let g = Guard::default();
        let p = plan(Some(0.5), None, None);
        let t0 = 1000 * SEC;
        // 15 blocked long ago, then they slide out of the 300 s window.
        for i in 0..15 {
            let _ = g.observe("a", &p, true, None, Nanos::from_nanos(t0 + i));
        }
        assert_eq!(g.window_counts(), (15, 15));
        let later = t0 + 400 * SEC;
        for i in 0..100 {
            let blocked = i % 4 == 0; // 25 % blocked
            assert!(
                g.observe("a", &p, blocked, None, Nanos::from_nanos(later + i))
                    .is_none()
            );
        }
        assert_eq!(g.window_counts(), (25, 100));
        // Spread over several buckets, the sums still follow the window exactly.
        for i in 0..40u64 {
            let _ = g.observe(
                "a",
                &p,
                false,
                None,
                Nanos::from_nanos(later + i * 10 * SEC),
            );
        }
        // The window now spans buckets of the last 300 s: 30 observations, none blocked.
        assert_eq!(g.window_counts(), (0, 30));
    }

    #[test]
    fn distinct_destinations_trip_suspension() {
        let g = Guard::default();
        let p = plan(None, Some(50), None);
        let t0 = 6000 * SEC;
        let mut tripped = None;
        for i in 0..60u64 {
            let dest = AddressKey::new(&format!("88691{i:07}"));
            if let Some(r) = g.observe("a", &p, false, Some(dest), Nanos::from_nanos(t0 + i)) {
                tripped = Some((i, r));
                break;
            }
        }
        let (i, r) = tripped.expect("trips on the 51st distinct destination");
        assert_eq!(i, 50);
        assert_eq!(r.kind, RestrictionKind::Suspended);
        assert!(matches!(
            g.active("a", Nanos::from_nanos(t0 + 100)),
            Active::Suspended { .. }
        ));
        // Repeats of one destination never trip.
        let g2 = Guard::default();
        for i in 0..1000u64 {
            let dest = Some(AddressKey::new("886912000000"));
            assert!(
                g2.observe("b", &p, false, dest, Nanos::from_nanos(t0 + i))
                    .is_none()
            );
        }
    }

    #[test]
    fn release_clears_restriction_and_window() {
        let g = Guard::default();
        let p = plan(Some(0.1), None, None);
        for i in 0..20 {
            let _ = g.observe("a", &p, true, None, Nanos::from_nanos(SEC + i));
        }
        assert!(g.restriction(Nanos::from_nanos(SEC + 21)).is_some());
        let lifted = g.release("a").expect("was restricted");
        assert_eq!(lifted.kind, RestrictionKind::Suspended);
        assert!(matches!(
            g.active("a", Nanos::from_nanos(SEC + 22)),
            Active::None
        ));
        assert_eq!(g.window_counts(), (0, 0));
    }
}
