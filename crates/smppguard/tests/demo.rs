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
