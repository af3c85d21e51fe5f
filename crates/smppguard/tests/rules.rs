//! `smppguard rules check` and `rules scan` end to end, on packs the test writes itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const PACK: &str = r#"format = 1

[pack]
name = "cli-test"
version = "1.0"

[lists.shorteners]
kind = "domain"
file = "lists/shorteners.txt"

[[rule]]
id = "cc-limit"
description = "credit-card limit increase with a way to get in touch"
category = "fraud"
action = "reject"
when = "cc and limit and (phone or short)"
patterns.cc = { literal = "信用卡" }
patterns.limit = { literal = ["提額", "額度提升"] }
patterns.phone = { regex = '09\d{8}' }
patterns.short = { list = "shorteners" }

[[rule]]
id = "free-prize"
description = "prize lure"
category = "spam"
action = "tag"
patterns.p = { literal = "free prize" }
"#;

fn pack_dir(tag: &str, pack: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rules-cli-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    std::fs::write(dir.join("lists/shorteners.txt"), "bit.ly\nt.co\n").unwrap();
    std::fs::write(dir.join("pack.toml"), pack).unwrap();
    dir
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn check_prints_stats() {
    let dir = pack_dir("check", PACK);
    let path = dir.join("pack.toml");
    let out = run(&["rules", "check", path.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ok: cli-test 1.0 (ruleset "), "{text}");
    assert!(text.contains("rules:          2\n"), "{text}");
    assert!(text.contains("lists:          1 (2 entries)"), "{text}");
    assert!(text.contains("compile time:"), "{text}");

    let out = run(&["rules", "check", "--json", dir.to_str().unwrap()], None);
    let v = json(&out);
    assert_eq!(v["rules"], 2);
    assert_eq!(v["patterns"], 5);
    assert!(v["database_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn check_lists_every_problem_with_file_line_and_rule() {
    let broken = PACK
        .replace("'09\\d{8}'", "'09(\\d{8}'")
        .replace("\"free prize\"", "\"x\" }\nwhen = \"p and q\"\n#");
    let dir = pack_dir("broken", &broken);
    let path = dir.join("pack.toml");
    let out = run(&["rules", "check", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("pack.toml:19:")
            && lines[0].contains("rule `cc-limit`: pattern `phone`: hyperscan:"),
        "{err}"
    );
    assert!(
        lines[0].contains("at byte"),
        "the Hyperscan position: {err}"
    );
    assert!(
        lines[1].contains("rule `free-prize`: unknown pattern `q`"),
        "{err}"
    );
}

#[test]
fn scan_text_prints_the_verdict_with_evidence() {
    let dir = pack_dir("scan", PACK);
    let rules = dir.join("pack.toml");
    let text = "您的信用卡可提額，詳情 https://bit.ly/x";
    let v = json(&run(
        &["rules", "scan", "--rules", rules.to_str().unwrap(), text],
        None,
    ));
    assert_eq!(v["action"], "reject");
    assert_eq!(v["command_status"], "0x00000045");
    assert_eq!(v["decided_by"], "cc-limit");
    let ev = &v["matches"][0]["evidence"];
    assert_eq!(ev[0]["pattern"], "cc");
    assert_eq!(ev[0]["quote"], "信用卡");
    assert_eq!(ev[2]["field"], "domain");
    assert_eq!(ev[2]["quote"], "https://bit.ly/x");
    assert!(v["text"]["normalized"].as_str().unwrap().contains("提额"));

    let v = json(&run(
        &["rules", "scan", "--rules", rules.to_str().unwrap(), "hello"],
        None,
    ));
    assert_eq!(v["action"], "allow");
    assert_eq!(v["matches"].as_array().unwrap().len(), 0);
}

#[test]
fn scan_decodes_hex_with_the_data_coding() {
    let dir = pack_dir("hex", PACK);
    let rules = dir.join("pack.toml");
    let rules = rules.to_str().unwrap();
    // UCS-2 (data_coding 8): "信用卡提額0912345678".
    let ucs2: String = "信用卡提額0912345678"
        .encode_utf16()
        .map(|u| format!("{u:04x}"))
        .collect();
    let v = json(&run(
        &[
            "rules",
            "scan",
            "--rules",
            rules,
            "--hex",
            "--data-coding",
            "8",
            &ucs2,
        ],
        None,
    ));
    assert_eq!(v["action"], "reject");
    assert_eq!(v["text"]["decoded"], "信用卡提額0912345678");
    assert_eq!(v["matches"][0]["evidence"][2]["quote"], "0912345678");

    // GSM 7-bit, one septet per octet (data_coding 0), from stdin: "FREE prize".
    let gsm = hex::encode("FREE prize");
    let v = json(&run(
        &["rules", "scan", "--rules", rules, "--hex", "-"],
        Some(&format!("{gsm}\n")),
    ));
    assert_eq!(v["action"], "tag");
    assert_eq!(v["matches"][0]["evidence"][0]["quote"], "FREE prize");

    let out = run(&["rules", "scan", "--rules", rules, "--hex", "zz"], None);
    assert!(!out.status.success());
}
