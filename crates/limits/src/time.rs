//! Time as plain values: a monotonic [`Nanos`] for rates and a wall-clock [`UnixTime`] for
//! quota periods.
//!
//! The limiter never reads a clock on the check path; the caller passes both times in. That keeps
//! rates, bursts, day boundaries and adaptive protection deterministic under test (quinn-proto
//! style). [`Nanos::now`] and [`UnixTime::now`] are the production sources.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const NANOS_PER_SEC: u64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Julian day number of 1970-01-01.
const UNIX_EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// Monotonic time in nanoseconds since an origin chosen by the caller.
///
/// All `Nanos` passed to one limiter must come from the same origin. With the Redis backend the
/// origin must be [`Nanos::now`]'s, because the background task stamps lease expiry with it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(u64);

impl Nanos {
    /// The origin.
    pub const ZERO: Nanos = Nanos(0);

    /// A time `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Self {
        Nanos(nanos)
    }

    /// A time `millis` milliseconds after the origin (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Nanos(millis.saturating_mul(1_000_000))
    }

    /// A time `secs` seconds after the origin (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Nanos(secs.saturating_mul(NANOS_PER_SEC))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future.
    pub fn saturating_add(self, d: Duration) -> Self {
        Nanos(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Nanos) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The process-wide monotonic clock, counted from its first use (plus one second, so that
    /// zero keeps meaning "never" in stored timestamps).
    pub fn now() -> Self {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        Nanos(
            NANOS_PER_SEC
                .saturating_add(u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

/// Wall-clock time in whole seconds since the Unix epoch (UTC), used only for quota periods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// A wall-clock time `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The system wall clock (zero if it reads before 1970).
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// Local day index of `t` for a zone `offset_secs` east of UTC (0 before 1970).
pub(crate) fn day_index(t: UnixTime, offset_secs: i64) -> u32 {
    let day = t.0.saturating_add(offset_secs).div_euclid(SECS_PER_DAY);
    u32::try_from(day.max(0)).unwrap_or(u32::MAX)
}

/// Month index (`year * 12 + month0`) of a local day index.
pub(crate) fn month_index(day: u32) -> u32 {
    let julian = i64::from(day).saturating_add(UNIX_EPOCH_JULIAN_DAY);
    let julian = i32::try_from(julian).unwrap_or(i32::MAX);
    match time::Date::from_julian_day(julian) {
        Ok(date) => {
            let year = u32::try_from(date.year().max(0)).unwrap_or(0);
            year.saturating_mul(12) + u32::from(u8::from(date.month())) - 1
        }
        Err(_) => u32::MAX,
    }
}

/// Wall-clock second at which the local day `day` ends.
pub(crate) fn day_end(day: u32, offset_secs: i64) -> UnixTime {
    UnixTime(
        (i64::from(day) + 1)
            .saturating_mul(SECS_PER_DAY)
            .saturating_sub(offset_secs),
    )
}

/// Wall-clock second at which the local month `month` ends.
pub(crate) fn month_end(month: u32, offset_secs: i64) -> UnixTime {
    let next = month.saturating_add(1);
    let year = i32::try_from(next / 12).unwrap_or(i32::MAX);
    let month0 = u8::try_from(next % 12).unwrap_or(0);
    let first = time::Month::try_from(month0 + 1)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(year, m, 1).ok());
    match first {
        Some(date) => UnixTime(
            (i64::from(date.to_julian_day()) - UNIX_EPOCH_JULIAN_DAY)
                .saturating_mul(SECS_PER_DAY)
                .saturating_sub(offset_secs),
        ),
        None => UnixTime(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_boundary_follows_offset() {
        // 2024-03-31T15:59:59Z is 23:59:59 in UTC+8; one second later is the next local day.
        let before = UnixTime::from_secs(1_711_900_799);
        let after = UnixTime::from_secs(1_711_900_800);
        let utc8 = 8 * 3600;
        assert_eq!(day_index(after, utc8), day_index(before, utc8) + 1);
        // In UTC both instants fall on the same day.
        assert_eq!(day_index(after, 0), day_index(before, 0));
        // And the local month changes there too (March -> April).
        assert_eq!(
            month_index(day_index(after, utc8)),
            month_index(day_index(before, utc8)) + 1
        );
        assert_eq!(day_end(day_index(before, utc8), utc8), after);
        assert_eq!(month_end(month_index(day_index(before, utc8)), utc8), after);
    }

    #[test]
    fn month_index_of_known_dates() {
        // 1970-01-01 is month 1970 * 12 + 0.
        assert_eq!(month_index(0), 1970 * 12);
        // 2024-02-29 (leap day) is 19_782 days after the epoch.
        assert_eq!(month_index(19_782), 2024 * 12 + 1);
        assert_eq!(month_index(19_783), 2024 * 12 + 2);
    }

    #[test]
    fn nanos_clock_is_monotonic_and_nonzero() {
        let a = Nanos::now();
        let b = Nanos::now();
        assert!(a > Nanos::ZERO);
        assert!(b >= a);
    }
}
