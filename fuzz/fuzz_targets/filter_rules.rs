//! Rule-pack parser and validator on arbitrary input; small packs that load are also
//! compiled and used to scan a message.
//!
//! Input: a rule pack (TOML), optionally followed by a NUL byte and a message. Whatever the
//! input, loading must return a pack or diagnostics, never panic; a compiled pack must scan
//! any text without panicking, and its verdict must be coherent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smppguard_filter::{Engine, Envelope, MAX_QUOTE, RulePack, Ruleset, Scratch};

fuzz_target!(|data: &[u8]| {
    let (pack, message) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(src) = std::str::from_utf8(pack) else {
        return;
    };
    // List files would make the fuzzer read the file system.
    if src.contains("file") {
        return;
    }
    let pack = match RulePack::from_toml(src, "fuzz.toml") {
        Ok(p) => p,
        Err(e) => {
            // Every error renders; every validation error has at least one diagnostic.
            let _ = e.to_string();
            return;
        }
    };
    // Hyperscan compilation takes milliseconds: only small packs go on.
    if pack.expression_count() > 8 || pack.rule_count() > 16 {
        return;
    }
    let Ok(ruleset) = Ruleset::compile(pack) else {
        return;
    };
    let engine = Engine::new(ruleset);
    let text = String::from_utf8_lossy(message);
    let groups = vec!["g".to_string()];
    let env = Envelope {
        account: "acct",
        groups: &groups,
        source_addr: "Sender",
        destination_addr: "886912345678",
        ..Envelope::default()
    };
    let v = engine.evaluate(&env, &text, &mut Scratch::new());
    if let Some(i) = v.decided_by {
        assert!(i < v.matches.len());
    }
    assert!(v.decided_by.is_some() || !v.action.is_blocking());
    for m in &v.matches {
        for e in &m.evidence {
            if let Some(span) = &e.span {
                assert!(span.quote.len() <= MAX_QUOTE);
            }
        }
    }
});
