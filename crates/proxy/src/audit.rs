//! The audit log: one JSON line per blocked or quarantined message (time, account,
//! masked addresses, decoded text, rule ids, ruleset version), written by its own task
//! so a slow disk never slows the traffic. Records beyond the queue bound are counted
//! and dropped.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use crate::stats::{Stats, add, inc};

/// One audit record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct AuditRecord {
    /// RFC 3339 UTC time.
    pub(crate) time: String,
    /// The submitting account.
    pub(crate) account: String,
    /// source_addr, masked.
    pub(crate) source_addr: String,
    /// destination_addr, masked.
    pub(crate) destination_addr: String,
    /// The decoded text (all parts joined).
    pub(crate) text: String,
    /// Parts of the message.
    pub(crate) parts: usize,
    /// What was done: `reject`, `quarantine`, `drop`, `incomplete`.
    pub(crate) action: &'static str,
    /// The command_status answered, if any.
    pub(crate) status: Option<u32>,
    /// Ids of the rules that matched.
    pub(crate) rules: Vec<String>,
    /// Version of the ruleset that decided.
    pub(crate) ruleset_version: Option<String>,
}

/// Where records go.
#[derive(Debug)]
pub(crate) struct AuditSink {
    tx: Option<mpsc::Sender<AuditRecord>>,
    keep_last: u8,
    stats: Arc<Stats>,
}

impl AuditSink {
    /// A sink writing to `path` from a spawned task, or a disabled one.
    pub(crate) fn start(
        path: Option<PathBuf>,
        keep_last: u8,
        queue: usize,
        stats: Arc<Stats>,
    ) -> AuditSink {
        let tx = path.map(|path| {
            let (tx, rx) = mpsc::channel(queue);
            tokio::spawn(run_writer(path, rx, Arc::clone(&stats)));
            tx
        });
        AuditSink {
            tx,
            keep_last,
            stats,
        }
    }

    /// Records queued for the writer.
    pub(crate) fn queued(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity().saturating_sub(tx.capacity()))
    }

    /// Whether records are written.
    pub(crate) fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Masks an address as configured.
    pub(crate) fn mask(&self, addr: &str) -> String {
        mask_address(addr, self.keep_last)
    }

    /// Queues a record without waiting.
    pub(crate) fn record(&self, rec: AuditRecord) {
        if let Some(tx) = &self.tx
            && tx.try_send(rec).is_err()
        {
            inc(&self.stats.audit_dropped);
        }
    }
}

/// The current time as RFC 3339.
pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Replaces all but the last `keep_last` characters with `*`.
pub(crate) fn mask_address(addr: &str, keep_last: u8) -> String {
    let n = addr.chars().count();
    let keep = usize::from(keep_last).min(n);
    addr.chars()
        .enumerate()
        .map(|(i, c)| if i + keep < n { '*' } else { c })
        .collect()
}

async fn run_writer(path: PathBuf, mut rx: mpsc::Receiver<AuditRecord>, stats: Arc<Stats>) {
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await;
    let mut file = match file {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "cannot open the audit log");
            while rx.recv().await.is_some() {
                inc(&stats.audit_dropped);
            }
            return;
        }
    };
    let mut buf = Vec::with_capacity(8192);
    while let Some(first) = rx.recv().await {
        let mut n = 0u64;
        let mut next = Some(first);
        while let Some(rec) = next.take() {
            if serde_json::to_writer(&mut buf, &rec).is_ok() {
                buf.push(b'\n');
                n += 1;
            } else {
                inc(&stats.audit_dropped);
            }
            if buf.len() < 1 << 20 {
                next = rx.try_recv().ok();
            }
        }
        match file.write_all(&buf).await {
            Ok(()) => add(&stats.audit_written, n),
            Err(e) => {
                add(&stats.audit_dropped, n);
                tracing::error!(error = %e, "audit log write failed");
            }
        }
        let _ = file.flush().await;
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask_address("447700900001", 4), "********0001");
        assert_eq!(mask_address("ACME", 4), "ACME");
        assert_eq!(mask_address("447700900001", 0), "************");
        assert_eq!(mask_address("", 4), "");
    }

    #[tokio::test]
    async fn records_are_json_lines() {
        let dir = std::env::temp_dir().join(format!("sg-audit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let stats = Arc::new(Stats::default());
        let sink = AuditSink::start(Some(path.clone()), 4, 8, Arc::clone(&stats));
        assert!(sink.enabled());
        sink.record(AuditRecord {
            time: now_rfc3339(),
            account: "acme".into(),
            source_addr: sink.mask("447700900001"),
            destination_addr: sink.mask("447700900002"),
            text: "blocked text".into(),
            parts: 1,
            action: "reject",
            status: Some(0x45),
            rules: vec!["r1".into()],
            ruleset_version: Some("v1".into()),
        });
        for _ in 0..100 {
            if stats.snapshot().audit_written == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(v["account"], "acme");
        assert_eq!(v["source_addr"], "********0001");
        assert_eq!(v["rules"][0], "r1");
        assert_eq!(v["status"], 0x45);
    }
}
