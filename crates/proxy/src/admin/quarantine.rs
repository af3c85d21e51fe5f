//! The quarantine: messages a rule quarantined, kept in memory for review. The ESME
//! was answered with the block status when the message arrived; an operator can then
//! release it (the proxy forwards it as the account) or delete it.
//!
//! Bounded in messages and bytes (`[admin] quarantine_max_messages` and
//! `quarantine_max_bytes`); when full, the oldest message is evicted, logged and counted
//! as an unintentional drop. The audit log keeps a record of every quarantined message
//! either way. Nothing here survives a restart.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32};

use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use smppguard_codec::Header;
use smppguard_metrics::DropReason;

use super::AdminError;
use crate::relay::{InFlight, Reply};
use crate::server::{Phase, Shared};
use crate::upstream::{Job, Part, dispatch};

/// A quarantined message as the proxy keeps it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) time: String,
    pub(crate) account: Arc<str>,
    pub(crate) route: Arc<[usize]>,
    /// The frames as received, one per part.
    pub(crate) frames: Vec<Bytes>,
    pub(crate) source_addr: String,
    pub(crate) destination_addr: String,
    pub(crate) text: String,
    pub(crate) rules: Vec<String>,
    pub(crate) ruleset_version: Option<String>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.frames.iter().map(Bytes::len).sum::<usize>() + self.text.len()
    }
}

/// A quarantined message in the list (addresses masked, no text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineSummary {
    /// Id for release and delete.
    pub id: String,
    /// When it was quarantined (RFC 3339, UTC).
    pub time: String,
    /// The submitting account.
    pub account: String,
    /// source_addr, masked like the audit log.
    pub source_addr: String,
    /// destination_addr, masked like the audit log.
    pub destination_addr: String,
    /// Parts of the message.
    pub parts: usize,
    /// Rules that matched.
    pub rules: Vec<String>,
    /// The ruleset version that decided.
    pub ruleset_version: Option<String>,
}

/// A quarantined message with its decoded text, for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineDetail {
    /// Everything in the list entry.
    #[serde(flatten)]
    pub summary: QuarantineSummary,
    /// The decoded text, every part joined.
    pub text: String,
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseReport {
    /// The released message.
    pub id: String,
    /// The account it was forwarded as.
    pub account: String,
    /// Parts handed to an upstream session.
    pub parts: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    bytes: usize,
    next_id: u64,
}

/// The quarantine store.
#[derive(Debug)]
pub(crate) struct Quarantine {
    inner: Mutex<Inner>,
    max_messages: usize,
    max_bytes: usize,
    keep_last_digits: u8,
}

impl Quarantine {
    pub(crate) fn new(max_messages: usize, max_bytes: usize, keep_last_digits: u8) -> Self {
        Quarantine {
            inner: Mutex::new(Inner {
                next_id: 1,
                ..Inner::default()
            }),
            max_messages,
            max_bytes,
            keep_last_digits,
        }
    }

    /// Keeps a message; evicts the oldest while over a bound. Returns its id and the
    /// number of messages evicted.
    pub(crate) fn put(&self, mut entry: Entry) -> (u64, usize) {
        let mut inner = self.inner.lock();
        entry.id = inner.next_id;
        inner.next_id += 1;
        let id = entry.id;
        inner.bytes += entry.bytes();
        inner.entries.push_back(entry);
        let mut evicted = 0;
        while inner.entries.len() > self.max_messages || inner.bytes > self.max_bytes {
            let Some(old) = inner.entries.pop_front() else {
                break;
            };
            inner.bytes = inner.bytes.saturating_sub(old.bytes());
            evicted += 1;
        }
        (id, evicted)
    }

    /// Takes a message out.
    pub(crate) fn remove(&self, id: u64) -> Option<Entry> {
        let mut inner = self.inner.lock();
        let i = inner.entries.iter().position(|e| e.id == id)?;
        let e = inner.entries.remove(i)?;
        inner.bytes = inner.bytes.saturating_sub(e.bytes());
        Some(e)
    }

    /// Puts back a message whose release failed, keeping its id.
    fn restore(&self, entry: Entry) {
        let mut inner = self.inner.lock();
        inner.bytes += entry.bytes();
        let at = inner
            .entries
            .iter()
            .position(|e| e.id > entry.id)
            .unwrap_or(inner.entries.len());
        inner.entries.insert(at, entry);
    }

    /// Messages and bytes kept.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.entries.len(), inner.bytes)
    }

    pub(crate) fn list(&self) -> Vec<QuarantineSummary> {
        self.inner
            .lock()
            .entries
            .iter()
            .map(|e| self.summary(e))
            .collect()
    }

    pub(crate) fn detail(&self, id: u64) -> Option<QuarantineDetail> {
        let inner = self.inner.lock();
        let e = inner.entries.iter().find(|e| e.id == id)?;
        Some(QuarantineDetail {
            summary: self.summary(e),
            text: e.text.clone(),
        })
    }

    fn summary(&self, e: &Entry) -> QuarantineSummary {
        QuarantineSummary {
            id: e.id.to_string(),
            time: e.time.clone(),
            account: e.account.to_string(),
            source_addr: crate::audit::mask_address(&e.source_addr, self.keep_last_digits),
            destination_addr: crate::audit::mask_address(
                &e.destination_addr,
                self.keep_last_digits,
            ),
            parts: e.frames.len(),
            rules: e.rules.clone(),
            ruleset_version: e.ruleset_version.clone(),
        }
    }
}

/// Keeps a quarantined message, counting evictions.
pub(crate) fn keep(shared: &Shared, entry: Entry) {
    let (_, evicted) = shared.quarantine.put(entry);
    for _ in 0..evicted {
        shared.metrics.global.quarantine_evicted.inc();
        shared
            .metrics
            .global
            .unintentional_drop(DropReason::QuarantineEvicted);
    }
    if evicted > 0 {
        tracing::warn!(
            evicted,
            "quarantine full: oldest messages evicted before review"
        );
    }
}

/// Forwards a quarantined message as its account.
pub(crate) fn release(shared: &Shared, id: u64) -> Result<ReleaseReport, AdminError> {
    if *shared.phase.borrow() != Phase::Running {
        return Err(AdminError::Draining);
    }
    let entry = shared
        .quarantine
        .remove(id)
        .ok_or(AdminError::UnknownMessage)?;
    let metrics = shared.metrics.account(&entry.account);
    // The answers have no ESME to go to; the slots still count as outstanding, so a
    // drain waits for them.
    let window = Arc::new(AtomicU32::new(0));
    let outstanding: &Arc<AtomicI64> = &shared.outstanding;
    let mut parts = crate::upstream::Parts::with_capacity(entry.frames.len());
    for frame in &entry.frames {
        let (Some(header), Some(slot)) = (
            Header::parse(frame),
            InFlight::try_acquire(&window, u32::MAX, outstanding),
        ) else {
            continue;
        };
        parts.push(Part {
            frame: frame.clone(),
            reply: Reply::detached(
                header,
                Arc::clone(&shared.stats),
                Arc::clone(&metrics),
                slot,
            ),
        });
    }
    let n = parts.len();
    let job = Job {
        parts,
        account: Arc::clone(&entry.account),
        route: Arc::clone(&entry.route),
    };
    if dispatch(shared, job).is_err() {
        shared.quarantine.restore(entry);
        return Err(AdminError::NoUpstream);
    }
    shared.metrics.global.quarantine_released.inc();
    tracing::info!(account = %entry.account, id, parts = n, "quarantined message released");
    Ok(ReleaseReport {
        id: id.to_string(),
        account: entry.account.to_string(),
        parts: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Entry {
        Entry {
            id: 0,
            time: "t".into(),
            account: Arc::from("acme"),
            route: Arc::from(vec![0]),
            frames: vec![Bytes::from_static(&[0; 20])],
            source_addr: "447700900001".into(),
            destination_addr: "447700900002".into(),
            text: text.into(),
            rules: vec!["r".into()],
            ruleset_version: None,
        }
    }

    #[test]
    fn bounded_by_messages_and_bytes_oldest_first() {
        let q = Quarantine::new(2, 1000, 4);
        let (a, _) = q.put(entry("one"));
        let (b, _) = q.put(entry("two"));
        let (c, evicted) = q.put(entry("three"));
        assert_eq!(evicted, 1);
        let ids: Vec<String> = q.list().into_iter().map(|s| s.id).collect();
        assert_eq!(ids, [b.to_string(), c.to_string()]);
        assert!(q.detail(a).is_none());
        assert_eq!(q.detail(b).unwrap().text, "two");
        assert_eq!(q.list()[0].source_addr, "********0001");
        // 20 frame bytes + 1 text byte each: the second one passes a 40-byte bound.
        let q = Quarantine::new(100, 40, 4);
        q.put(entry("x"));
        let (_, evicted) = q.put(entry("y"));
        assert_eq!(evicted, 1);
        assert_eq!(q.usage(), (1, 21));
    }

    #[test]
    fn remove_and_restore_keep_order_and_bytes() {
        let q = Quarantine::new(10, 10_000, 4);
        let ids: Vec<u64> = (0..3).map(|i| q.put(entry(&i.to_string())).0).collect();
        let bytes = q.usage().1;
        let e = q.remove(ids[1]).unwrap();
        assert_eq!(q.usage(), (2, bytes - e.bytes()));
        q.restore(e);
        assert_eq!(q.usage(), (3, bytes));
        let order: Vec<String> = q.list().into_iter().map(|s| s.id).collect();
        assert_eq!(order, ids.iter().map(u64::to_string).collect::<Vec<_>>());
        assert!(q.remove(99).is_none());
    }
}
