//! `RulePack::load_with_normalize`: the same pack matched with other normalization.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use smppguard_filter::{Action, Engine, Envelope, NormalizeOptions, RulePack, Ruleset, Scratch};

const PACK: &str = r#"format = 1
[pack]
name = "override"
version = "1"

[[rule]]
id = "limit"
description = "credit-card limit increase"
category = "fraud"
action = "reject"
patterns.w = { literal = "信用卡提額" }
"#;

fn engine(pack: RulePack) -> Engine {
    Engine::new(Ruleset::compile(pack).unwrap())
}

fn action(e: &Engine, text: &str) -> Action {
    e.evaluate(&Envelope::new("acct"), text, &mut Scratch::new())
        .action
}

#[test]
fn override_replaces_the_pack_normalization() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("normalize_override");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pack.toml");
    std::fs::write(&file, PACK).unwrap();

    let normal = engine(RulePack::load(&file).unwrap());
    let raw = RulePack::load_with_normalize(&file, NormalizeOptions::none()).unwrap();
    assert_eq!(raw.normalize_options(), &NormalizeOptions::none());
    let raw = engine(raw);

    let reject = Action::Reject { status: 0x45 };
    // The literal as written matches both ways.
    assert_eq!(action(&normal, "您的信用卡提額已核准"), reject);
    assert_eq!(action(&raw, "您的信用卡提額已核准"), reject);
    // Simplified and spaced-out forms only meet the normalized view.
    for disguised in ["信用卡提额", "信 用 卡 提 額", "信用\u{200b}卡提額"] {
        assert_eq!(action(&normal, disguised), reject, "{disguised}");
        assert_eq!(action(&raw, disguised), Action::Allow, "{disguised}");
    }
}
