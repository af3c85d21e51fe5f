//! Every complete rule pack in `docs/rules.md` (a ```toml block starting with `format = 1`)
//! loads and compiles, so the reference cannot drift from the code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use smppguard_filter::{Engine, Envelope, RulePack, Ruleset, Scratch};

fn packs() -> Vec<(usize, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in doc.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```toml" => current = Some((i + 2, String::new())),
            Some((_, body)) if line.trim_end() == "```" => {
                if body.starts_with("format = 1") {
                    out.push(current.take().unwrap());
                } else {
                    current = None;
                }
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_example_pack_in_the_docs_compiles() {
    let packs = packs();
    assert!(packs.len() >= 6, "found {} example packs", packs.len());
    for (line, src) in packs {
        let pack = RulePack::from_toml(&src, format!("docs/rules.md:{line}"))
            .unwrap_or_else(|e| panic!("docs/rules.md example at line {line}: {e}"));
        Ruleset::compile(pack).unwrap_or_else(|e| panic!("example at line {line}: {e}"));
    }
}

#[test]
fn the_guide_examples_do_what_the_guide_says() {
    let packs = packs();
    let find = |name: &str| {
        let (_, src) = packs
            .iter()
            .find(|(_, s)| s.contains(&format!("name = \"{name}\"")))
            .unwrap();
        Engine::new(Ruleset::compile(RulePack::from_toml(src, "doc.toml").unwrap()).unwrap())
    };
    let mut s = Scratch::new();
    let env = Envelope::new("a");

    let cc = find("guide-cc");
    let v = cc.evaluate(
        &env,
        "【通知】您的信用卡已獲提額資格，請加LINE ID: abc1234",
        &mut s,
    );
    assert_eq!(v.decisive().map(|m| &*m.id), Some("cc-limit-increase"));
    let v = cc.evaluate(&env, "您的信用卡帳單已出，請於期限內繳款", &mut s);
    assert!(!v.is_blocking());

    let allow = find("guide-allow");
    let otp = "您的驗證碼為123456，請勿告知他人";
    let bank = Envelope {
        source_addr: "StarBank",
        ..Envelope::new("a")
    };
    assert_eq!(allow.evaluate(&bank, otp, &mut s).action.as_str(), "allow");
    let other = Envelope {
        source_addr: "Unknown",
        ..Envelope::new("a")
    };
    assert_eq!(
        allow.evaluate(&other, otp, &mut s).action.as_str(),
        "reject"
    );

    let en = find("guide-en");
    let v = en.evaluate(
        &env,
        "Your account is LOCKED. Verify now: https://x.example/v",
        &mut s,
    );
    assert!(v.is_blocking());
    let v = en.evaluate(
        &env,
        "Your card was blocked yesterday; verify at the branch",
        &mut s,
    );
    assert!(!v.is_blocking());
}
