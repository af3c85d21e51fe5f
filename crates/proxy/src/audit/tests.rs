use super::*;

fn metrics() -> (Arc<smppguard_metrics::Metrics>, AuditMetrics) {
    let m = smppguard_metrics::Metrics::new(Default::default()).unwrap();
    let am = AuditMetrics {
        lag: m.global.audit_write_lag_seconds.clone(),
        rotations: m.global.audit_rotations.clone(),
    };
    (m, am)
}

fn config(path: &Path) -> AuditConfig {
    AuditConfig {
        path: Some(path.to_path_buf()),
        address_keep_last_digits: 4,
        queue_records: 64,
        max_file_bytes: 0,
        rotate_interval: Duration::ZERO,
        max_files: 3,
    }
}

fn record(sink: &AuditSink, text: &str) -> AuditRecord {
    AuditRecord {
        time: now_rfc3339(),
        account: "acme".into(),
        source_addr: sink.mask("447700900001"),
        destination_addr: sink.mask("447700900002"),
        text: text.into(),
        parts: 1,
        action: "reject",
        status: Some(0x45),
        rules: vec!["r1".into()],
        ruleset_version: Some("v1".into()),
    }
}

#[test]
fn masking() {
    assert_eq!(mask_address("447700900001", 4), "********0001");
    assert_eq!(mask_address("ACME", 4), "ACME");
    assert_eq!(mask_address("447700900001", 0), "************");
    assert_eq!(mask_address("", 4), "");
}

#[tokio::test]
async fn records_are_json_lines_written_before_a_flush_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let stats = Arc::new(Stats::default());
    let (m, am) = metrics();
    let sink = AuditSink::start(&config(&path), Arc::clone(&stats), am);
    assert!(sink.enabled());
    for i in 0..10 {
        sink.record(record(&sink, &format!("blocked text {i}")));
    }
    assert!(sink.flush(Duration::from_secs(5)).await);
    assert_eq!(stats.snapshot().audit_written, 10);
    assert_eq!(sink.queued(), 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    let v = &lines[9];
    assert_eq!(v["account"], "acme");
    assert_eq!(v["source_addr"], "********0001");
    assert_eq!(v["text"], "blocked text 9");
    assert_eq!(v["rules"][0], "r1");
    assert_eq!(v["status"], 0x45);
    assert_eq!(v["action"], "reject");
    assert!(m.global.audit_write_lag_seconds.get() >= 0.0);
}

#[tokio::test]
async fn size_rotation_keeps_max_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let stats = Arc::new(Stats::default());
    let (m, am) = metrics();
    let cfg = AuditConfig {
        max_file_bytes: 4096,
        ..config(&path)
    };
    let sink = AuditSink::start(&cfg, Arc::clone(&stats), am);
    let long = "x".repeat(1000);
    for _ in 0..6 {
        for _ in 0..5 {
            sink.record(record(&sink, &long));
        }
        // One batch per flush: each batch passes the size bound and rotates the file.
        assert!(sink.flush(Duration::from_secs(5)).await);
    }
    assert_eq!(stats.snapshot().audit_written, 30);
    let mut rotated: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        .collect();
    rotated.sort();
    assert_eq!(rotated.len(), 3, "{rotated:?}");
    assert_eq!(m.global.audit_rotations.get(), 6);
    // Every kept file holds whole JSON lines.
    for name in rotated {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(text.lines().count(), 5);
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }
}

#[tokio::test]
async fn time_rotation_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let stats = Arc::new(Stats::default());
    let (m, am) = metrics();
    let cfg = AuditConfig {
        rotate_interval: Duration::from_millis(200),
        ..config(&path)
    };
    let sink = AuditSink::start(&cfg, Arc::clone(&stats), am);
    sink.record(record(&sink, "first"));
    assert!(sink.flush(Duration::from_secs(5)).await);
    assert_eq!(m.global.audit_rotations.get(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    sink.record(record(&sink, "second"));
    assert!(sink.flush(Duration::from_secs(5)).await);
    assert_eq!(m.global.audit_rotations.get(), 1);
    // Both records were in the file that was rotated; the new file is empty.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_without_waiting() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: every open fails.
    let path = dir.path().join("is-a-dir");
    std::fs::create_dir(&path).unwrap();
    let stats = Arc::new(Stats::default());
    let (_m, am) = metrics();
    let cfg = AuditConfig {
        queue_records: 4,
        ..config(&path)
    };
    let sink = AuditSink::start(&cfg, Arc::clone(&stats), am);
    for i in 0..100 {
        sink.record(record(&sink, &i.to_string()));
    }
    assert!(sink.flush(Duration::from_secs(5)).await);
    let s = stats.snapshot();
    assert_eq!(s.audit_written, 0);
    assert_eq!(s.audit_dropped, 100);
}

#[test]
fn rotated_names_sort_by_time_and_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
    let a = rotated_name(&path, t);
    assert_eq!(
        a.file_name().unwrap().to_string_lossy(),
        "audit-20260921T141320.123Z.jsonl"
    );
    std::fs::write(&a, "").unwrap();
    let b = rotated_name(&path, t);
    assert_ne!(a, b);
    let later = rotated_name(&path, t + Duration::from_secs(1));
    assert!(a < later);
}
