//! Cached handles to one series each. Updating one is an atomic add or store: the label
//! lookup happened once, when the handle was resolved.
//!
//! These wrap the `prometheus` types so that code holding them can update a series but
//! can neither register new families nor resolve labels at message time.

use std::time::Duration;

use prometheus::{IntCounter, IntGauge};

/// One counter series.
#[derive(Clone, Debug)]
pub struct Counter(pub(crate) IntCounter);

impl Counter {
    /// A counter in no registry: counts, but is never exported (tests, disabled parts).
    pub fn detached() -> Counter {
        Counter(detached_counter())
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.inc();
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        self.0.inc_by(n);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

impl Default for Counter {
    fn default() -> Self {
        Counter::detached()
    }
}

/// One integer gauge series.
#[derive(Clone, Debug)]
pub struct Gauge(pub(crate) IntGauge);

impl Gauge {
    /// A gauge in no registry.
    pub fn detached() -> Gauge {
        Gauge(detached_gauge())
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        self.0.set(v);
    }

    /// Sets the value from an unsigned quantity (saturating at `i64::MAX`).
    #[inline]
    pub fn set_count(&self, v: usize) {
        self.0.set(i64::try_from(v).unwrap_or(i64::MAX));
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.inc();
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.0.dec();
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.get()
    }
}

impl Default for Gauge {
    fn default() -> Self {
        Gauge::detached()
    }
}

/// One floating-point gauge series (timestamps, durations, ratios).
#[derive(Clone, Debug)]
pub struct FloatGauge(pub(crate) prometheus::Gauge);

impl FloatGauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        self.0.set(v);
    }

    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.get()
    }
}

/// One histogram series.
#[derive(Clone, Debug)]
pub struct Histogram(pub(crate) prometheus::Histogram);

impl Histogram {
    /// Records one observation, in the family's base unit.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.0.observe(v);
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn observe_duration(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.0.get_sample_count()
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        self.0.get_sample_sum()
    }
}

// ok: the name and help are constant and valid; prometheus refuses only invalid names or
// an empty help text, so these cannot fail.
#[allow(clippy::expect_used)]
fn detached_counter() -> IntCounter {
    IntCounter::new("smppguard_detached", "not exported").expect("valid constant name")
}

// ok: as above.
#[allow(clippy::expect_used)]
fn detached_gauge() -> IntGauge {
    IntGauge::new("smppguard_detached", "not exported").expect("valid constant name")
}
