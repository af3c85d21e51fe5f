//! The audit log: one JSON line per blocked or quarantined message (time, account,
//! masked addresses, decoded text, rule ids, ruleset version), written by its own task
//! so a slow disk never slows the traffic. Records beyond the queue bound are counted
//! and dropped.
//!
//! The file is rotated by size and by age: the current file is renamed
//! `<stem>-<UTC time>.<ext>` and a new one started; beyond `max_files` rotated files the
//! oldest are deleted. A drain flushes the queue and syncs the file before the process
//! exits. The format is documented in `docs/observability.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use smppguard_metrics::{Counter, FloatGauge};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::config::AuditConfig;
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

/// What the writer task receives.
// ok: nearly every message is a Record; boxing it would allocate once more per record.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Record(AuditRecord, Instant),
    /// Write everything queued before this, sync, and answer.
    Flush(oneshot::Sender<()>),
}

/// Handles the writer updates.
#[derive(Debug, Clone)]
pub(crate) struct AuditMetrics {
    /// Age of the oldest record of the last batch written.
    pub(crate) lag: FloatGauge,
    /// Files rotated.
    pub(crate) rotations: Counter,
}

/// Where records go.
#[derive(Debug)]
pub(crate) struct AuditSink {
    tx: Option<mpsc::Sender<Msg>>,
    keep_last: u8,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Record(..) => "Record",
            Msg::Flush(_) => "Flush",
        })
    }
}

impl AuditSink {
    /// A sink writing to `cfg.path` from a spawned task, or a disabled one.
    pub(crate) fn start(cfg: &AuditConfig, stats: Arc<Stats>, metrics: AuditMetrics) -> AuditSink {
        let tx = cfg.path.clone().map(|path| {
            // One slot beyond the bound is kept for a flush request.
            let (tx, rx) = mpsc::channel(cfg.queue_records.saturating_add(1));
            let writer = Writer {
                path,
                rotation: Rotation {
                    max_bytes: cfg.max_file_bytes,
                    interval: cfg.rotate_interval,
                    max_files: cfg.max_files,
                },
                stats: Arc::clone(&stats),
                metrics,
            };
            tokio::spawn(writer.run(rx));
            tx
        });
        AuditSink {
            tx,
            keep_last: cfg.address_keep_last_digits,
            stats,
        }
    }

    /// Whether records are written.
    pub(crate) fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Records queued for the writer.
    pub(crate) fn queued(&self) -> usize {
        self.tx
            .as_ref()
            .map_or(0, |tx| tx.max_capacity().saturating_sub(tx.capacity()))
    }

    /// Masks an address as configured.
    pub(crate) fn mask(&self, addr: &str) -> String {
        mask_address(addr, self.keep_last)
    }

    /// Queues a record without waiting; counts it as dropped when the queue is full.
    pub(crate) fn record(&self, rec: AuditRecord) {
        if let Some(tx) = &self.tx {
            // The last slot is kept for a flush.
            if tx.capacity() <= 1 || tx.try_send(Msg::Record(rec, Instant::now())).is_err() {
                inc(&self.stats.audit_dropped);
            }
        }
    }

    /// Waits until every record queued so far is written and synced to disk, for at
    /// most `timeout`; returns whether it was.
    pub(crate) async fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else {
            return true;
        };
        let (ack, done) = oneshot::channel();
        let sent = tokio::time::timeout(timeout, tx.send(Msg::Flush(ack))).await;
        if !matches!(sent, Ok(Ok(()))) {
            return false;
        }
        matches!(tokio::time::timeout(timeout, done).await, Ok(Ok(())))
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

/// When the file is rotated and how many rotated files are kept.
#[derive(Debug, Clone, Copy)]
struct Rotation {
    /// 0: never by size.
    max_bytes: u64,
    /// Zero: never by age.
    interval: Duration,
    max_files: usize,
}

struct Writer {
    path: PathBuf,
    rotation: Rotation,
    stats: Arc<Stats>,
    metrics: AuditMetrics,
}

/// The open file and what rotation needs to know about it.
struct Current {
    file: tokio::fs::File,
    size: u64,
    opened: SystemTime,
}

impl Writer {
    async fn open(&self) -> std::io::Result<Current> {
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        let meta = file.metadata().await?;
        // A file kept from before a restart is as old as its first write.
        let opened = if meta.len() == 0 {
            SystemTime::now()
        } else {
            meta.created()
                .or_else(|_| meta.modified())
                .unwrap_or_else(|_| SystemTime::now())
        };
        Ok(Current {
            file,
            size: meta.len(),
            opened,
        })
    }

    async fn run(self, mut rx: mpsc::Receiver<Msg>) {
        let mut current = match self.open().await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot open the audit log");
                None
            }
        };
        let mut buf = Vec::with_capacity(8192);
        while let Some(first) = rx.recv().await {
            let mut n = 0u64;
            let mut oldest: Option<Instant> = None;
            let mut flushes = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Record(rec, at) => {
                        oldest.get_or_insert(at);
                        if serde_json::to_writer(&mut buf, &rec).is_ok() {
                            buf.push(b'\n');
                            n += 1;
                        } else {
                            inc(&self.stats.audit_dropped);
                        }
                    }
                    Msg::Flush(ack) => flushes.push(ack),
                }
                if buf.len() < 1 << 20 && flushes.is_empty() {
                    next = rx.try_recv().ok();
                }
            }
            if current.is_none() {
                current = self.open().await.ok();
            }
            match current.as_mut() {
                Some(c) if !buf.is_empty() => match c.file.write_all(&buf).await {
                    Ok(()) => {
                        c.size += buf.len() as u64;
                        add(&self.stats.audit_written, n);
                    }
                    Err(e) => {
                        add(&self.stats.audit_dropped, n);
                        tracing::error!(error = %e, "audit log write failed");
                    }
                },
                Some(_) => {}
                None => add(&self.stats.audit_dropped, n),
            }
            if let Some(at) = oldest {
                self.metrics
                    .lag
                    .set(Instant::now().saturating_duration_since(at).as_secs_f64());
            }
            buf.clear();
            if let Some(c) = current.as_mut() {
                let _ = c.file.flush().await;
                if !flushes.is_empty() {
                    let _ = c.file.sync_data().await;
                }
                if self.due(c) {
                    current = self.rotate(current.take()).await;
                }
            }
            for ack in flushes {
                let _ = ack.send(());
            }
        }
        if let Some(c) = current.as_mut() {
            let _ = c.file.flush().await;
            let _ = c.file.sync_data().await;
        }
    }

    fn due(&self, c: &Current) -> bool {
        let r = self.rotation;
        (r.max_bytes > 0 && c.size >= r.max_bytes)
            || (!r.interval.is_zero()
                && c.size > 0
                && c.opened.elapsed().unwrap_or_default() >= r.interval)
    }

    /// Renames the current file aside, opens a new one and applies the retention.
    async fn rotate(&self, current: Option<Current>) -> Option<Current> {
        if let Some(c) = current {
            let _ = c.file.sync_data().await;
        }
        let target = rotated_name(&self.path, SystemTime::now());
        match tokio::fs::rename(&self.path, &target).await {
            Ok(()) => {
                self.metrics.rotations.inc();
                tracing::info!(file = %target.display(), "audit log rotated");
            }
            Err(e) => tracing::error!(error = %e, "audit log rotation failed"),
        }
        if let Err(e) = self.prune().await {
            tracing::warn!(error = %e, "cannot remove old audit log files");
        }
        match self.open().await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(path = %self.path.display(), error = %e, "cannot open the audit log");
                None
            }
        }
    }

    /// Deletes the oldest rotated files beyond `max_files`.
    async fn prune(&self) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        let (stem, ext) = stem_and_ext(&self.path);
        let prefix = format!("{stem}-");
        let mut rotated = Vec::new();
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(e) = entries.next_entry().await? {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(&prefix) && name.ends_with(&ext) {
                rotated.push(e.path());
            }
        }
        // The names carry a sortable UTC time.
        rotated.sort();
        let excess = rotated.len().saturating_sub(self.rotation.max_files);
        for old in rotated.into_iter().take(excess) {
            tokio::fs::remove_file(&old).await?;
        }
        Ok(())
    }
}

/// `audit.jsonl` → (`audit`, `.jsonl`).
fn stem_and_ext(path: &Path) -> (String, String) {
    let stem = path
        .file_stem()
        .map_or_else(|| "audit".into(), |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    (stem, ext)
}

/// `dir/audit.jsonl` → `dir/audit-20261127T231500.123Z.jsonl` (unique within the
/// directory: a suffix is added if that name exists).
fn rotated_name(path: &Path, at: SystemTime) -> PathBuf {
    let (stem, ext) = stem_and_ext(path);
    let t = time::OffsetDateTime::from(at);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
    let mut candidate = path.with_file_name(format!("{stem}-{stamp}{ext}"));
    let mut k = 1;
    while candidate.exists() {
        candidate = path.with_file_name(format!("{stem}-{stamp}-{k}{ext}"));
        k += 1;
    }
    candidate
}

#[cfg(test)]
mod tests;
