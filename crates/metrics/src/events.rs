//! Counters the proxy keeps in its own plain atomics (one `fetch_add` on the hot path,
//! as before metrics existed), exported as counter families when scraped.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter as ProtoCounter, LabelPair, Metric, MetricFamily, MetricType};

use crate::catalog::family;
use crate::labels::Event;

/// The value of every [`Event`] at one moment, filled by the event source.
#[derive(Debug, Clone)]
pub struct EventValues([u64; Event::COUNT]);

impl EventValues {
    /// Sets the value of one event counter.
    pub fn set(&mut self, event: Event, value: u64) {
        if let Some(v) = self.0.get_mut(event.index()) {
            *v = value;
        }
    }

    fn get(&self, event: Event) -> u64 {
        self.0.get(event.index()).copied().unwrap_or(0)
    }
}

/// Fills the current values; called on every scrape.
pub(crate) type EventSource = Box<dyn Fn(&mut EventValues) + Send + Sync>;

/// The collector of the event families.
pub(crate) struct EventCollector {
    descs: Vec<Desc>,
    /// Families in catalog order with their events in declaration order.
    families: Vec<(&'static str, Vec<Event>)>,
    pub(crate) source: Arc<RwLock<Option<EventSource>>>,
}

impl EventCollector {
    pub(crate) fn new() -> prometheus::Result<EventCollector> {
        let mut families: Vec<(&'static str, Vec<Event>)> = Vec::new();
        for &e in Event::ALL {
            let (name, _) = e.series();
            match families.iter_mut().find(|(n, _)| *n == name) {
                Some((_, events)) => events.push(e),
                None => families.push((name, vec![e])),
            }
        }
        let mut descs = Vec::with_capacity(families.len());
        for (name, _) in &families {
            let info = family(name)
                .ok_or_else(|| prometheus::Error::Msg(format!("{name} is not in the catalog")))?;
            descs.push(Desc::new(
                info.name.to_string(),
                info.help.to_string(),
                info.labels.iter().map(|l| l.to_string()).collect(),
                HashMap::new(),
            )?);
        }
        Ok(EventCollector {
            descs,
            families,
            source: Arc::new(RwLock::new(None)),
        })
    }
}

impl Collector for EventCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut values = EventValues([0; Event::COUNT]);
        if let Some(source) = self.source.read().as_ref() {
            source(&mut values);
        }
        self.families
            .iter()
            .zip(&self.descs)
            .map(|((_, events), desc)| {
                let metrics = events
                    .iter()
                    .map(|&e| {
                        let (_, label_values) = e.series();
                        let labels = desc
                            .variable_labels
                            .iter()
                            .zip(label_values.iter())
                            .map(|(name, value)| {
                                let mut l = LabelPair::default();
                                l.set_name(name.clone());
                                l.set_value((*value).to_string());
                                l
                            })
                            .collect();
                        let mut c = ProtoCounter::default();
                        // Counters are exported as floats; exact below 2^53.
                        #[allow(clippy::cast_precision_loss)]
                        c.set_value(values.get(e) as f64);
                        let mut m = Metric::from_label(labels);
                        m.set_counter(c);
                        m
                    })
                    .collect();
                let mut mf = MetricFamily::default();
                mf.set_name(desc.fq_name.clone());
                mf.set_help(desc.help.clone());
                mf.set_field_type(MetricType::COUNTER);
                mf.set_metric(metrics);
                mf
            })
            .collect()
    }
}
