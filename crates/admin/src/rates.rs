//! Live per-account rates for `GET /accounts`: the account counters sampled every
//! [`SAMPLE_EVERY`] for the last minute, compared with their values now.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::Serialize;
use smppguard_metrics::{AccountMetrics, Metrics, Outcome};
use tokio::time::Instant;

/// Sampling period.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(2);
/// The longest window a rate is computed over.
const WINDOW: Duration = Duration::from_secs(60);

/// Outcomes that count as blocked by the content rules.
const BLOCKED: [Outcome; 4] = [
    Outcome::Rejected,
    Outcome::Quarantined,
    Outcome::Dropped,
    Outcome::Incomplete,
];

/// Counts of one account at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    received: u64,
    blocked: u64,
}

fn counts(a: &AccountMetrics) -> Counts {
    Counts {
        received: a.received.get(),
        blocked: BLOCKED.iter().map(|o| a.outcome_count(*o)).sum(),
    }
}

/// Rates of one account, per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct AccountRates {
    /// Requests received per second over the last 10 s.
    pub received_per_second_10s: f64,
    /// Requests received per second over the last 60 s.
    pub received_per_second_60s: f64,
    /// Requests blocked by content rules per second over the last 60 s.
    pub blocked_per_second_60s: f64,
    /// Seconds the rates actually cover (less than 60 just after start).
    pub window_seconds: f64,
}

/// Every account's counts at one moment.
type Sample = (Instant, HashMap<Arc<str>, Counts>);

/// The samples.
#[derive(Debug, Default)]
pub(crate) struct Rates {
    samples: Mutex<VecDeque<Sample>>,
}

impl Rates {
    /// Takes a sample of every account's counters and forgets samples older than the
    /// window.
    pub(crate) fn sample(&self, metrics: &Metrics, now: Instant) {
        let snapshot = metrics
            .accounts()
            .iter()
            .map(|a| (Arc::from(a.account()), counts(a)))
            .collect();
        let mut samples = self.samples.lock();
        samples.push_back((now, snapshot));
        while samples
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > WINDOW + SAMPLE_EVERY)
        {
            samples.pop_front();
        }
    }

    /// The rates of `account`, from its counters now and the samples.
    pub(crate) fn rates(&self, account: &AccountMetrics, now: Instant) -> AccountRates {
        let current = counts(account);
        let samples = self.samples.lock();
        let id = account.account();
        // The oldest sample at most `back` ago that has this account.
        let since = |back: Duration| {
            samples
                .iter()
                .find(|(t, _)| now.saturating_duration_since(*t) <= back)
                .and_then(|(t, m)| m.get(id).map(|c| (*t, *c)))
        };
        let per_second = |back: Duration, pick: fn(Counts) -> u64| {
            let Some((t, then)) = since(back) else {
                return (0.0, 0.0);
            };
            let dt = now.saturating_duration_since(t).as_secs_f64();
            if dt <= 0.0 {
                return (0.0, 0.0);
            }
            let delta = pick(current).saturating_sub(pick(then));
            // ok: counts stay far below 2^53 between two samples.
            #[allow(clippy::cast_precision_loss)]
            let rate = delta as f64 / dt;
            (rate, dt)
        };
        let (r10, _) = per_second(Duration::from_secs(10), |c| c.received);
        let (r60, window) = per_second(WINDOW, |c| c.received);
        let (b60, _) = per_second(WINDOW, |c| c.blocked);
        AccountRates {
            received_per_second_10s: r10,
            received_per_second_60s: r60,
            blocked_per_second_60s: b60,
            window_seconds: window,
        }
    }
}

/// Samples every [`SAMPLE_EVERY`] until the metrics are gone.
pub(crate) async fn run(rates: Arc<Rates>, metrics: std::sync::Weak<Metrics>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(m) = metrics.upgrade() else {
            return;
        };
        rates.sample(&m, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_ten_and_sixty_seconds() {
        let m = Metrics::new(Default::default()).unwrap();
        let a = m.account("acme");
        let rates = Rates::default();
        let t0 = Instant::now();
        rates.sample(&m, t0);
        for s in 1..=30u64 {
            a.received.inc_by(10);
            if s % 2 == 0 {
                a.outcome(Outcome::Rejected);
            }
            rates.sample(&m, t0 + Duration::from_secs(2 * s));
        }
        let now = t0 + Duration::from_secs(60);
        let r = rates.rates(&a, now);
        // 10 per 2 s throughout: 5/s; 15 rejections in 60 s.
        assert!((r.received_per_second_10s - 5.0).abs() < 1e-9, "{r:?}");
        assert!((r.received_per_second_60s - 5.0).abs() < 1e-9, "{r:?}");
        assert!((r.blocked_per_second_60s - 0.25).abs() < 1e-9, "{r:?}");
        assert_eq!(r.window_seconds, 60.0);
        // An account with no sample yet has no rate.
        let b = m.account("beta");
        assert_eq!(rates.rates(&b, now), AccountRates::default());
    }
}
