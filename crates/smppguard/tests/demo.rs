//! `smppguard demo` end to end, as a short run: scams are blocked, legitimate
//! messages reach the simulator, the flooding account is throttled, the top rules come
//! from the proxy's audit log and the figures agree with the proxy's own counters.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use serde_json::Value;

fn n(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[test]
fn a_short_demo_blocks_the_scams_and_forwards_the_rest() {
    let out = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(["demo", "--duration", "4", "--rate", "60", "--json"])
        .output()
        .expect("run smppguard demo");
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON summary");

    let agg = &v["accounts"]["bulk-agg"];
    assert!(n(agg, "sent") > 0);
    assert_eq!(n(agg, "forwarded"), 0, "a scam got through: {v}");
    assert_eq!(n(agg, "blocked"), n(agg, "sent"), "{v}");
    for legit in ["bank", "shop", "chat"] {
        let a = &v["accounts"][legit];
        assert!(n(a, "sent") > 0, "{legit}");
        assert_eq!(n(a, "forwarded"), n(a, "sent"), "{legit}: {v}");
    }
    let flood = &v["accounts"]["promo-blast"];
    assert!(n(flood, "throttled") > 0, "no throttling: {v}");
    assert!(n(flood, "forwarded") > 0, "{v}");
    assert_eq!(n(flood, "blocked"), 0);

    // The split, full-width and zero-width variants were each sent and blocked.
    for trick in [
        "cc-limit-split",
        "cc-limit-fullwidth",
        "cc-limit-zero-width",
    ] {
        let e = &v["examples"][trick];
        assert!(n(e, "sent") > 0, "{trick} not sent");
        assert_eq!(n(e, "blocked"), n(e, "sent"), "{trick}: {v}");
    }

    // Counts agree with the proxy's counters and its audit log.
    let proxy = &v["proxy"];
    let blocked_msgs: u64 = ["bank", "shop", "chat", "bulk-agg", "promo-blast"]
        .iter()
        .map(|a| n(&v["accounts"][*a], "blocked"))
        .sum();
    assert!(n(proxy, "requests_blocked") >= blocked_msgs);
    assert!(n(proxy, "requests_throttled") >= n(flood, "throttled"));
    assert!(n(proxy, "multipart_completed") > 0);
    assert!(n(&v, "audit_records") > 0);
    let top = v["top_rules"].as_array().unwrap();
    assert!(
        top.iter().any(|r| r["rule"] == "zh-cc-limit-increase"),
        "{top:?}"
    );

    // Explained verdicts come from the rule pack with quoted evidence.
    let explained = v["explained"].as_array().unwrap();
    let split = explained
        .iter()
        .find(|x| x["example"] == "cc-limit-split")
        .unwrap();
    assert_eq!(split["action"], "reject");
    assert!(!split["evidence"].as_array().unwrap().is_empty());
    let bill = explained
        .iter()
        .find(|x| x["example"] == "card-bill-zh-hant")
        .unwrap();
    assert_ne!(bill["action"], "reject");
}

/// One HTTP/1.1 GET on a fresh connection: the status line and the body.
fn http_get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the printed address");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

#[test]
fn the_demo_prints_metrics_and_admin_addresses_that_answer_while_it_runs() {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(["demo", "--duration", "6", "--rate", "20"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run smppguard demo");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut metrics = None;
    let mut accounts = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let url = line.split_whitespace().find(|w| w.starts_with("http://"));
        if line.trim_start().starts_with("metrics") {
            metrics = url.map(str::to_owned);
        } else if line.trim_start().starts_with("admin API") {
            accounts = url.map(str::to_owned);
        }
        if metrics.is_some() && accounts.is_some() {
            break;
        }
    }
    let (metrics, accounts) = (metrics.unwrap(), accounts.unwrap());
    let split = |url: &str| {
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        (addr.to_owned(), path.to_owned())
    };
    // The demo is running: its traffic shows in the proxy's own metrics.
    let (addr, path) = split(&metrics);
    assert_eq!(path, "/metrics");
    let (status, body) = http_get(&addr, &path);
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("smppguard_"), "{body}");
    let (addr, path) = split(&accounts);
    let (status, body) = http_get(&addr, &path);
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("bulk-agg"), "{body}");
    // Drain the rest so the demo never blocks on a full pipe, then it exits cleanly.
    for _ in lines {}
    assert!(child.wait().unwrap().success());
}
