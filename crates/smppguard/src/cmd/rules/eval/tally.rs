//! Counting actions per label, and the quality measures derived from the counts.
//!
//! Blocking means reject, drop or quarantine. For a positive label L (fraud, smish,
//! spam): recall = blocked L / all L; precision = blocked L / (blocked L + blocked ham),
//! so only legitimate messages count against it (undefined when the corpus has no ham
//! or nothing was blocked); flagged = share of L given any action but allow (monitor
//! and tag included). For ham: the false-positive rate is blocked ham / all ham.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use smppguard_filter::ActionKind;

/// Labels whose messages should be blocked.
pub(super) const POSITIVE: [&str; 3] = ["fraud", "smish", "spam"];
/// The label of legitimate messages.
pub(super) const HAM: &str = "ham";

/// Whether a message of `label` given `action` is a miss: a positive not blocked, or a
/// ham blocked.
pub(super) fn is_miss(label: &str, action: ActionKind) -> bool {
    let blocked = is_blocking(action);
    (label == HAM && blocked) || (POSITIVE.contains(&label) && !blocked)
}

/// Reject, drop and quarantine keep a message from its recipient.
pub(super) fn is_blocking(action: ActionKind) -> bool {
    matches!(
        action,
        ActionKind::Reject | ActionKind::Drop | ActionKind::Quarantine
    )
}

/// Strictness order used to combine the verdicts of a message's parts, as the engine
/// breaks ties: reject, quarantine, drop, tag, monitor, allow.
pub(super) fn rank(action: ActionKind) -> u8 {
    match action {
        ActionKind::Allow => 0,
        ActionKind::Monitor => 1,
        ActionKind::Tag => 2,
        ActionKind::Drop => 3,
        ActionKind::Quarantine => 4,
        ActionKind::Reject => 5,
    }
}

fn index(action: ActionKind) -> usize {
    ActionKind::ALL
        .iter()
        .position(|a| *a == action)
        .unwrap_or_default()
}

/// Messages of one label, by action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct LabelCounts {
    pub(super) total: u64,
    by_action: [u64; ActionKind::ALL.len()],
}

impl LabelCounts {
    pub(super) fn get(&self, action: ActionKind) -> u64 {
        self.by_action.get(index(action)).copied().unwrap_or(0)
    }

    pub(super) fn blocked(&self) -> u64 {
        ActionKind::ALL
            .iter()
            .filter(|a| is_blocking(**a))
            .map(|a| self.get(*a))
            .sum()
    }

    /// Messages given any action but allow.
    pub(super) fn flagged(&self) -> u64 {
        self.total - self.get(ActionKind::Allow)
    }
}

/// Quality of blocking one positive label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Positive {
    pub(super) precision: Option<f64>,
    pub(super) recall: f64,
    pub(super) flagged: f64,
}

/// Quality on legitimate messages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Ham {
    pub(super) blocked: u64,
    pub(super) total: u64,
    pub(super) false_positive_rate: f64,
    pub(super) flagged: f64,
}

/// Action counts per label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Tally {
    labels: BTreeMap<String, LabelCounts>,
}

fn ratio(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

impl Tally {
    pub(super) fn add(&mut self, label: &str, action: ActionKind) {
        let c = match self.labels.get_mut(label) {
            Some(c) => c,
            None => self.labels.entry(label.to_owned()).or_default(),
        };
        c.total += 1;
        if let Some(n) = c.by_action.get_mut(index(action)) {
            *n += 1;
        }
    }

    pub(super) fn merge(&mut self, other: &Tally) {
        for (label, o) in &other.labels {
            let c = self.labels.entry(label.clone()).or_default();
            c.total += o.total;
            for (a, b) in c.by_action.iter_mut().zip(o.by_action) {
                *a += b;
            }
        }
    }

    pub(super) fn total(&self) -> u64 {
        self.labels.values().map(|c| c.total).sum()
    }

    pub(super) fn labels(&self) -> impl Iterator<Item = (&str, &LabelCounts)> {
        self.labels.iter().map(|(l, c)| (l.as_str(), c))
    }

    /// The measures for each positive label present.
    pub(super) fn positives(&self) -> Vec<(&'static str, Positive)> {
        let ham_blocked = self.labels.get(HAM).map_or(0, LabelCounts::blocked);
        let has_ham = self.labels.get(HAM).is_some_and(|h| h.total > 0);
        POSITIVE
            .iter()
            .filter_map(|&label| {
                let c = self.labels.get(label)?;
                let blocked = c.blocked();
                let precision = (has_ham && blocked + ham_blocked > 0)
                    .then(|| ratio(blocked, blocked + ham_blocked));
                Some((
                    label,
                    Positive {
                        precision,
                        recall: ratio(blocked, c.total),
                        flagged: ratio(c.flagged(), c.total),
                    },
                ))
            })
            .collect()
    }

    /// The measures on ham, if the corpus has any.
    pub(super) fn ham(&self) -> Option<Ham> {
        let c = self.labels.get(HAM).filter(|c| c.total > 0)?;
        Some(Ham {
            blocked: c.blocked(),
            total: c.total,
            false_positive_rate: ratio(c.blocked(), c.total),
            flagged: ratio(c.flagged(), c.total),
        })
    }

    /// `{"<label>": {"total": N, "blocked": N, "<action>": N, …}, …}`.
    pub(super) fn labels_json(&self) -> Value {
        let mut out = Map::new();
        for (label, c) in &self.labels {
            let mut m = Map::new();
            m.insert("total".into(), json!(c.total));
            m.insert("blocked".into(), json!(c.blocked()));
            for a in ActionKind::ALL {
                m.insert(a.as_str().into(), json!(c.get(a)));
            }
            out.insert(label.clone(), Value::Object(m));
        }
        Value::Object(out)
    }

    /// `{"<positive>": {"precision", "recall", "flagged"}, "ham": {"false_positive_rate", …}}`.
    pub(super) fn metrics_json(&self) -> Value {
        let mut out = Map::new();
        for (label, p) in self.positives() {
            out.insert(
                label.into(),
                json!({ "precision": p.precision, "recall": p.recall, "flagged": p.flagged }),
            );
        }
        if let Some(h) = self.ham() {
            out.insert(
                HAM.into(),
                json!({
                    "false_positive_rate": h.false_positive_rate,
                    "blocked": h.blocked,
                    "flagged": h.flagged,
                }),
            );
        }
        Value::Object(out)
    }
}

/// How often each rule decided a message's action, per label: which rules do the work
/// and which cause the false positives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ByRule {
    rules: BTreeMap<String, BTreeMap<String, u64>>,
}

impl ByRule {
    pub(super) fn add(&mut self, rule: &str, label: &str) {
        let labels = match self.rules.get_mut(rule) {
            Some(l) => l,
            None => self.rules.entry(rule.to_owned()).or_default(),
        };
        match labels.get_mut(label) {
            Some(n) => *n += 1,
            None => {
                labels.insert(label.to_owned(), 1);
            }
        }
    }

    pub(super) fn merge(&mut self, other: &ByRule) {
        for (rule, labels) in &other.rules {
            let mine = self.rules.entry(rule.clone()).or_default();
            for (label, n) in labels {
                *mine.entry(label.clone()).or_default() += n;
            }
        }
    }

    /// `{"<rule id>": {"<label>": N, …}, …}`.
    pub(super) fn to_json(&self) -> Value {
        Value::Object(
            self.rules
                .iter()
                .map(|(rule, labels)| {
                    let m: Map<String, Value> =
                        labels.iter().map(|(l, n)| (l.clone(), json!(n))).collect();
                    (rule.clone(), Value::Object(m))
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(rows: &[(&str, ActionKind, usize)]) -> Tally {
        let mut t = Tally::default();
        for &(label, action, n) in rows {
            for _ in 0..n {
                t.add(label, action);
            }
        }
        t
    }

    #[test]
    fn precision_recall_and_false_positive_rate() {
        let t = tally(&[
            ("fraud", ActionKind::Reject, 8),
            ("fraud", ActionKind::Quarantine, 1),
            ("fraud", ActionKind::Allow, 1),
            ("spam", ActionKind::Monitor, 4),
            ("ham", ActionKind::Allow, 998),
            ("ham", ActionKind::Reject, 1),
            ("ham", ActionKind::Tag, 1),
        ]);
        assert_eq!(t.total(), 1014);
        let p = t.positives();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].0, "fraud");
        assert_eq!(p[0].1.precision, Some(0.9));
        assert_eq!(p[0].1.recall, 0.9);
        assert_eq!(p[0].1.flagged, 0.9);
        // Monitored spam is flagged but not blocked: no precision, recall 0.
        assert_eq!(p[1].0, "spam");
        assert_eq!(p[1].1.precision, Some(0.0));
        assert_eq!(p[1].1.recall, 0.0);
        assert_eq!(p[1].1.flagged, 1.0);
        let h = t.ham().unwrap();
        assert_eq!((h.blocked, h.total), (1, 1000));
        assert_eq!(h.false_positive_rate, 0.001);
        assert_eq!(h.flagged, 0.002);
    }

    #[test]
    fn precision_is_undefined_without_ham_or_blocks() {
        let t = tally(&[
            ("smish", ActionKind::Reject, 3),
            ("smish", ActionKind::Allow, 1),
        ]);
        assert_eq!(t.positives()[0].1.precision, None);
        assert_eq!(t.positives()[0].1.recall, 0.75);
        assert!(t.ham().is_none());
        let t = tally(&[
            ("fraud", ActionKind::Allow, 3),
            ("ham", ActionKind::Allow, 3),
        ]);
        assert_eq!(t.positives()[0].1.precision, None);
    }

    #[test]
    fn json_shape_and_merge() {
        let mut a = tally(&[
            ("fraud", ActionKind::Reject, 2),
            ("ham", ActionKind::Allow, 1),
        ]);
        let b = tally(&[
            ("fraud", ActionKind::Drop, 1),
            ("other", ActionKind::Tag, 1),
        ]);
        a.merge(&b);
        let j = a.labels_json();
        assert_eq!(
            j["fraud"],
            json!({"total": 3, "blocked": 3, "allow": 0, "monitor": 0, "tag": 0,
                   "reject": 2, "drop": 1, "quarantine": 0})
        );
        assert_eq!(j["other"]["tag"], 1);
        assert_eq!(j["ham"]["blocked"], 0);
        let m = a.metrics_json();
        assert_eq!(m["fraud"]["precision"], 1.0);
        assert_eq!(m["ham"]["false_positive_rate"], 0.0);
        assert!(m.get("other").is_none());
    }

    #[test]
    fn decisions_per_rule() {
        let mut a = ByRule::default();
        a.add("loan", "fraud");
        a.add("loan", "fraud");
        a.add("loan", "ham");
        let mut b = ByRule::default();
        b.add("otp", "fraud");
        b.add("loan", "ham");
        a.merge(&b);
        assert_eq!(
            a.to_json(),
            json!({"loan": {"fraud": 2, "ham": 2}, "otp": {"fraud": 1}})
        );
    }

    #[test]
    fn misses() {
        assert!(is_miss("fraud", ActionKind::Monitor));
        assert!(!is_miss("fraud", ActionKind::Quarantine));
        assert!(is_miss("ham", ActionKind::Drop));
        assert!(!is_miss("ham", ActionKind::Tag));
        assert!(!is_miss("other", ActionKind::Allow));
        assert!(rank(ActionKind::Reject) > rank(ActionKind::Quarantine));
        assert!(rank(ActionKind::Tag) > rank(ActionKind::Monitor));
    }
}
