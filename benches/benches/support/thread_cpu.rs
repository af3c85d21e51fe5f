//! A criterion measurement in the benchmark thread's CPU time, shared by the benchmarks
//! that run on a shared machine: other tenants' time slices do not inflate it the way they
//! inflate wall time. Values are nanoseconds, formatted as wall time.

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// CPU time of the benchmark thread, in nanoseconds.
pub(crate) struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = Option<ThreadTime>;
    type Value = u64;

    fn start(&self) -> Self::Intermediate {
        ThreadTime::try_now().ok()
    }

    fn end(&self, start: Self::Intermediate) -> u64 {
        start
            .and_then(|t| t.try_elapsed().ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a.saturating_add(*b)
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WallTime.formatter()
    }
}
