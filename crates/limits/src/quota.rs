//! Calendar quotas: a count of units per day or month, reset when the period changes.
//!
//! One atomic word holds the period index (24 bits) and the count (40 bits), so a check never
//! sees a count of one period with the index of another. Counts are exact on one node.

use std::sync::atomic::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const PERIOD_MASK: u64 = (1 << 24) - 1;

/// Largest quota a cell can hold.
pub(crate) const MAX_QUOTA: u64 = COUNT_MASK;

fn pack(period: u32, count: u64) -> u64 {
    ((u64::from(period) & PERIOD_MASK) << COUNT_BITS) | (count & COUNT_MASK)
}

fn unpack(word: u64) -> (u64, u64) {
    (word >> COUNT_BITS, word & COUNT_MASK)
}

/// Units used in the current period.
#[derive(Debug, Default)]
pub(crate) struct QuotaCell {
    word: AtomicU64,
}

impl QuotaCell {
    /// Counts `n` units in `period` if that keeps the count within `limit`.
    #[inline]
    pub(crate) fn try_take(&self, period: u32, n: u64, limit: u64) -> bool {
        let period_bits = u64::from(period) & PERIOD_MASK;
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (p, used) = unpack(word);
                let used = if p == period_bits { used } else { 0 };
                let next = used.checked_add(n)?;
                (next <= limit).then(|| pack(period, next))
            })
            .is_ok()
    }

    /// Gives back `n` units taken in `period`; a no-op once the period has changed.
    pub(crate) fn refund(&self, period: u32, n: u64) {
        let period_bits = u64::from(period) & PERIOD_MASK;
        let _ = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (p, used) = unpack(word);
                (p == period_bits).then(|| pack(period, used.saturating_sub(n)))
            });
    }

    /// Units used in `period`.
    pub(crate) fn used(&self, period: u32) -> u64 {
        let (p, used) = unpack(self.word.load(Ordering::Acquire));
        if p == u64::from(period) & PERIOD_MASK {
            used
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_period_and_resets_on_change() {
        let q = QuotaCell::default();
        assert!(q.try_take(100, 3, 5));
        assert!(q.try_take(100, 2, 5));
        assert!(!q.try_take(100, 1, 5), "quota used up");
        assert_eq!(q.used(100), 5);
        assert_eq!(q.used(101), 0);
        assert!(q.try_take(101, 5, 5), "new period starts from zero");
        assert!(!q.try_take(101, 1, 5));
    }

    #[test]
    fn multi_unit_take_is_all_or_none() {
        let q = QuotaCell::default();
        assert!(q.try_take(7, 4, 5));
        assert!(!q.try_take(7, 2, 5));
        assert_eq!(q.used(7), 4);
    }

    #[test]
    fn refund_only_in_same_period() {
        let q = QuotaCell::default();
        assert!(q.try_take(1, 5, 5));
        q.refund(1, 2);
        assert_eq!(q.used(1), 3);
        q.refund(2, 3);
        assert_eq!(q.used(1), 3, "refund for another period is ignored");
    }
}
