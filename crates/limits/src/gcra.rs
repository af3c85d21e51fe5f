//! The generic cell rate algorithm (GCRA): a token bucket stored as one timestamp.
//!
//! State is the theoretical arrival time (TAT) of the next unit. Taking `n` units at `now` moves
//! it to `max(TAT, now) + n·T`; the take is allowed while that stays within `B·T` of `now`, where
//! `T` is the emission interval and `B` the burst. A TAT at or before `now` is the same state as
//! no state at all, which makes idle eviction exact and refunds simple. Over any interval of
//! length `t` at most `B + t/T` units pass.

use std::sync::atomic::{AtomicU64, Ordering};

const NANOS_PER_SEC: f64 = 1e9;

/// Emission interval and burst of one rate limit, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GcraParams {
    /// `T`: nanoseconds per unit at the sustained rate (>= 1).
    interval: u64,
    /// `B`: units that may pass at once from an idle state (>= 1).
    burst: u64,
}

impl GcraParams {
    /// `units_per_second` sustained with `burst` at once; `None` unless both are positive.
    pub(crate) fn per_second(units_per_second: f64, burst: u32) -> Option<Self> {
        if !(units_per_second.is_finite() && units_per_second > 0.0) || burst == 0 {
            return None;
        }
        let interval = (NANOS_PER_SEC / units_per_second).round();
        if !(1.0..=1.8e19).contains(&interval) {
            return None;
        }
        // ok: bounded to 1..=1.8e19 just above, which fits u64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let interval = interval as u64;
        Some(GcraParams {
            interval,
            burst: u64::from(burst),
        })
    }

    /// `units` per `period_secs` seconds with `burst` at once.
    pub(crate) fn per_period(units: u32, period_secs: u32, burst: u32) -> Option<Self> {
        if units == 0 || period_secs == 0 || burst == 0 {
            return None;
        }
        let interval = (u64::from(period_secs) * 1_000_000_000) / u64::from(units);
        Some(GcraParams {
            interval: interval.max(1),
            burst: u64::from(burst),
        })
    }

    /// From raw parts (interval in nanoseconds, burst in units), both at least 1.
    pub(crate) fn from_raw(interval: u64, burst: u64) -> Self {
        GcraParams {
            interval: interval.max(1),
            burst: burst.max(1),
        }
    }

    /// Nanoseconds per unit.
    pub(crate) fn interval(&self) -> u64 {
        self.interval
    }

    /// Units allowed at once.
    pub(crate) fn burst(&self) -> u64 {
        self.burst
    }

    /// Sustained units per second.
    pub(crate) fn rate_per_second(&self) -> f64 {
        // ok: precision loss above 2^53 ns is irrelevant for a displayed rate.
        #[allow(clippy::cast_precision_loss)]
        let interval = self.interval as f64;
        NANOS_PER_SEC / interval
    }

    /// The TAT after taking `n` units at `now`, or `None` when the limit is exceeded.
    ///
    /// A cost larger than the burst passes only from a full bucket (TAT at or before `now`), so
    /// a message with more parts than the part burst is slowed down, not refused forever.
    #[inline]
    pub(crate) fn take(&self, tat: u64, now: u64, n: u64) -> Option<u64> {
        let base = tat.max(now);
        let cost = n.saturating_mul(self.interval);
        let next = base.saturating_add(cost);
        let allowance = self.burst.max(n).saturating_mul(self.interval);
        (next - now <= allowance).then_some(next)
    }

    /// The TAT after giving back `n` units taken earlier.
    #[inline]
    pub(crate) fn refund(&self, tat: u64, now: u64, n: u64) -> u64 {
        tat.saturating_sub(n.saturating_mul(self.interval)).max(now)
    }

    /// Units that could pass at `now` from state `tat`.
    pub(crate) fn available(&self, tat: u64, now: u64) -> u64 {
        let used = tat.saturating_sub(now);
        let allowance = self.burst.saturating_mul(self.interval);
        allowance.saturating_sub(used) / self.interval
    }
}

/// A GCRA state shared between threads: one atomic TAT.
#[derive(Debug, Default)]
pub(crate) struct GcraCell {
    tat: AtomicU64,
}

impl GcraCell {
    /// Takes `n` units, all or none.
    #[inline]
    pub(crate) fn try_take(&self, params: &GcraParams, now: u64, n: u64) -> bool {
        self.tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                params.take(tat, now, n)
            })
            .is_ok()
    }

    /// Gives back `n` units taken earlier.
    pub(crate) fn refund(&self, params: &GcraParams, now: u64, n: u64) {
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                Some(params.refund(tat, now, n))
            });
    }

    /// Units that could pass now.
    pub(crate) fn available(&self, params: &GcraParams, now: u64) -> u64 {
        params.available(self.tat.load(Ordering::Acquire), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_sustained_rate() {
        let p = GcraParams::per_second(10.0, 5).unwrap();
        let cell = GcraCell::default();
        let now = 100 * SEC;
        let passed = (0..20).filter(|_| cell.try_take(&p, now, 1)).count();
        assert_eq!(passed, 5, "burst of 5 from idle");
        // One interval later exactly one more unit fits.
        assert!(cell.try_take(&p, now + SEC / 10, 1));
        assert!(!cell.try_take(&p, now + SEC / 10, 1));
        // After a full idle second the burst is back.
        let later = now + 2 * SEC;
        assert_eq!(cell.available(&p, later), 5);
    }

    #[test]
    fn oversize_cost_passes_only_from_full_bucket() {
        let p = GcraParams::per_second(10.0, 3).unwrap();
        let cell = GcraCell::default();
        assert!(
            cell.try_take(&p, SEC, 7),
            "full bucket admits an oversize message"
        );
        assert!(!cell.try_take(&p, SEC, 1), "and then owes 7 intervals");
        assert!(cell.try_take(&p, SEC + SEC * 5 / 10, 1));
    }

    #[test]
    fn refund_restores_state() {
        let p = GcraParams::per_second(1.0, 2).unwrap();
        let cell = GcraCell::default();
        assert!(cell.try_take(&p, SEC, 2));
        assert!(!cell.try_take(&p, SEC, 1));
        cell.refund(&p, SEC, 1);
        assert!(cell.try_take(&p, SEC, 1));
        cell.refund(&p, SEC, 5);
        assert_eq!(cell.available(&p, SEC), 2);
    }

    #[test]
    fn per_period_interval() {
        let p = GcraParams::per_period(5, 3600, 5).unwrap();
        assert_eq!(p.interval(), 720 * SEC);
        assert!(GcraParams::per_period(0, 1, 1).is_none());
        assert!(GcraParams::per_second(f64::NAN, 1).is_none());
        assert!(GcraParams::per_second(0.0, 1).is_none());
        assert!(GcraParams::per_second(1.0, 0).is_none());
    }

    proptest! {
        /// Over any run of takes at non-decreasing times, at most `B + elapsed/T` units pass.
        #[test]
        fn never_exceeds_burst_plus_rate(
            rate in 1u32..10_000,
            burst in 1u32..100,
            steps in proptest::collection::vec((0u64..5_000_000, 1u64..4), 1..400),
        ) {
            let p = GcraParams::per_second(f64::from(rate), burst).unwrap();
            let mut tat = 0u64;
            let start = SEC;
            let mut now = start;
            let mut passed = 0u64;
            for (dt, n) in steps {
                now += dt;
                if n > p.burst() { continue; }
                if let Some(next) = p.take(tat, now, n) {
                    tat = next;
                    passed += n;
                }
            }
            let bound = p.burst() + (now - start) / p.interval() + 1;
            prop_assert!(passed <= bound, "passed {passed} > bound {bound}");
        }

        /// Take then refund at the same instant is a no-op on availability.
        #[test]
        fn take_refund_roundtrip(rate in 1u32..1000, burst in 1u32..50, n in 1u64..50, t in 0u64..1000) {
            let p = GcraParams::per_second(f64::from(rate), burst).unwrap();
            let now = SEC + t;
            let before = p.available(0, now);
            if let Some(tat) = p.take(0, now, n) {
                prop_assert_eq!(p.available(p.refund(tat, now, n), now), before);
            }
        }
    }
}
