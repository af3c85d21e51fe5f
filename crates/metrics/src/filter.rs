//! Filter handles: verdicts by action, matches by rule category and action, scan time,
//! shadow differences and the live ruleset's version.
//!
//! The label vocabularies (rule categories, actions) belong to the filter crate; the
//! proxy hands them in as [`crate::MetricsOptions`] and refers to them by index, so
//! this crate does not depend on the filter engine.

use std::sync::Arc;

use parking_lot::Mutex;
use prometheus::IntGaugeVec;

use crate::families::Families;
use crate::handle::{Counter, Histogram};

/// The filter's series.
#[derive(Debug)]
pub struct FilterMetrics {
    actions: Arc<[&'static str]>,
    verdicts: Box<[Counter]>,
    /// `category * actions + action`.
    matches: Box<[Counter]>,
    shadow_differences: Box<[Counter]>,
    /// Time to normalize and scan one message.
    pub scan_duration: Histogram,
    /// Messages also scanned by a shadow ruleset.
    pub shadow_evaluations: Counter,
    ruleset_info: IntGaugeVec,
    ruleset_version: Mutex<Option<String>>,
}

impl FilterMetrics {
    pub(crate) fn new(
        fams: &Families,
        categories: &[&'static str],
        actions: Arc<[&'static str]>,
    ) -> FilterMetrics {
        let verdicts = actions
            .iter()
            .map(|a| Counter(fams.filter_verdicts.with_label_values(&[a])))
            .collect();
        let matches = categories
            .iter()
            .flat_map(|c| {
                actions
                    .iter()
                    .map(move |a| Counter(fams.filter_matches.with_label_values(&[c, a])))
            })
            .collect();
        let shadow_differences = actions
            .iter()
            .map(|a| Counter(fams.filter_shadow_differences.with_label_values(&[a])))
            .collect();
        FilterMetrics {
            verdicts,
            matches,
            shadow_differences,
            scan_duration: Histogram(fams.filter_scan.with_label_values(&[] as &[&str])),
            shadow_evaluations: Counter(
                fams.filter_shadow_evaluations
                    .with_label_values(&[] as &[&str]),
            ),
            ruleset_info: fams.ruleset_info.clone(),
            ruleset_version: Mutex::new(None),
            actions,
        }
    }

    /// Counts one verdict whose action is at index `action`.
    #[inline]
    pub fn verdict(&self, action: usize) {
        if let Some(c) = self.verdicts.get(action) {
            c.inc();
        }
    }

    /// Counts one rule match.
    #[inline]
    pub fn matched(&self, category: usize, action: usize) {
        let n = self.actions.len();
        if action < n
            && let Some(c) = self.matches.get(category * n + action)
        {
            c.inc();
        }
    }

    /// Counts a message on which the shadow ruleset decided `action` and the live one
    /// something else.
    #[inline]
    pub fn shadow_differs(&self, action: usize) {
        if let Some(c) = self.shadow_differences.get(action) {
            c.inc();
        }
    }

    /// Verdicts counted with the action at `action`.
    pub fn verdict_count(&self, action: usize) -> u64 {
        self.verdicts.get(action).map_or(0, Counter::get)
    }

    /// Names the live ruleset (`None`: no rules): its info series replaces the last.
    pub fn set_ruleset_version(&self, version: Option<&str>) {
        let mut current = self.ruleset_version.lock();
        if current.as_deref() == version {
            return;
        }
        if let Some(old) = current.take() {
            let _ = self.ruleset_info.remove_label_values(&[old.as_str()]);
        }
        if let Some(v) = version {
            self.ruleset_info.with_label_values(&[v]).set(1);
            *current = Some(v.to_string());
        }
    }

    /// The version last set.
    pub fn ruleset_version(&self) -> Option<String> {
        self.ruleset_version.lock().clone()
    }
}
