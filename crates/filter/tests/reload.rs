//! Hot reload under concurrent scans, failed reloads, and shadow mode.
// Tests may unwrap and index: a panic here is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use smppguard_filter::{Action, Engine, Envelope, Error, Prepared, RulePack, Ruleset, Scratch};

fn pack(action: &str, word: &str) -> String {
    format!(
        r#"format = 1
[pack]
name = "p"
version = "{action}-{word}"

[[rule]]
id = "r"
description = "d"
category = "spam"
action = "{action}"
patterns.w = {{ literal = "{word}" }}
"#
    )
}

fn ruleset(src: &str) -> Ruleset {
    Ruleset::compile(RulePack::from_toml(src, "t.toml").unwrap()).unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("smppguard-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn reload_under_concurrent_scans_is_atomic_per_message() {
    let dir = TempDir::new("reload");
    let file = dir.0.join("pack.toml");
    let reject = pack("reject", "alpha");
    let tag = pack("tag", "alpha");
    std::fs::write(&file, &reject).unwrap();
    let engine = Arc::new(Engine::load(&file).unwrap());
    let v_reject = engine.version();
    let v_tag = ruleset(&tag).version();
    assert_ne!(v_reject, v_tag);

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut scratch = Scratch::new();
                let env = Envelope::new("a");
                let msg = Prepared::plain("alpha beta");
                let mut seen = HashSet::new();
                let mut scans = 0u64;
                while !stop.load(Ordering::Relaxed) || scans < 100 {
                    let v = engine.scan(&env, &msg, &mut scratch);
                    assert!(v.error.is_none());
                    // Every verdict is wholly from one ruleset: the action matches the
                    // version it carries.
                    let expected = if v.ruleset_version == v_reject {
                        Action::Reject { status: 0x45 }
                    } else {
                        assert_eq!(v.ruleset_version, v_tag);
                        Action::Tag
                    };
                    assert_eq!(v.action, expected);
                    seen.insert(v.ruleset_version);
                    scans += 1;
                }
                (seen, scans)
            })
        })
        .collect();

    for i in 0..12 {
        let (src, version) = if i % 2 == 0 {
            (&tag, v_tag)
        } else {
            (&reject, v_reject)
        };
        std::fs::write(&file, src).unwrap();
        let report = engine.reload(&file).unwrap();
        assert_eq!(report.current, version);
        assert!(!report.unchanged);
        assert_eq!(engine.version(), version);
        if i == 5 {
            // A broken file during reload keeps the live ruleset and says why.
            std::fs::write(
                &file,
                pack("reject", "alpha").replace("literal", "regex = '(' }\n#"),
            )
            .unwrap();
            let err = engine.reload(&file).unwrap_err();
            assert!(!err.diagnostics().is_empty(), "{err}");
            assert_eq!(engine.version(), version);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = HashSet::new();
    for w in workers {
        let (seen, scans) = w.join().unwrap();
        assert!(scans >= 100);
        all.extend(seen);
    }
    assert_eq!(
        all,
        HashSet::from([v_reject, v_tag]),
        "workers saw both rulesets"
    );
}

#[test]
fn failed_reloads_keep_the_old_ruleset() {
    let dir = TempDir::new("failed");
    let file = dir.0.join("pack.toml");
    std::fs::write(&file, pack("reject", "alpha")).unwrap();
    let engine = Engine::load(&file).unwrap();
    let before = engine.version();
    let scan = |e: &Engine| {
        e.scan(
            &Envelope::new("a"),
            &Prepared::plain("alpha"),
            &mut Scratch::new(),
        )
        .action
    };

    // TOML syntax error.
    std::fs::write(&file, "format = 1\n[pack\n").unwrap();
    let err = engine.reload(&file).unwrap_err();
    assert_eq!(err.diagnostics()[0].location.line, 2, "{err}");
    // A pattern Hyperscan cannot compile (a lookbehind).
    std::fs::write(
        &file,
        pack("reject", "alpha").replace("literal = \"alpha\"", "regex = '(?<=a)b'"),
    )
    .unwrap();
    let err = engine.reload(&file).unwrap_err();
    assert!(
        err.to_string().contains("rule `r`: pattern `w`: hyperscan"),
        "{err}"
    );
    // A missing file.
    let err = engine.reload(dir.0.join("nope.toml")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));

    assert_eq!(engine.version(), before);
    assert_eq!(scan(&engine), Action::Reject { status: 0x45 });

    // The same content again: nothing to compile.
    std::fs::write(&file, pack("reject", "alpha")).unwrap();
    let report = engine.reload(&file).unwrap();
    assert!(report.unchanged);
    assert_eq!(report.current, before);
}

#[test]
fn shadow_verdicts_are_reported_not_enforced() {
    let engine = Engine::new(ruleset(&pack("tag", "alpha")));
    let candidate = ruleset(&pack("reject", "alpha"));
    let cv = candidate.version();
    assert!(engine.set_shadow(Some(candidate)).is_none());
    let mut s = Scratch::new();
    let env = Envelope::new("a");

    let v = engine.scan(&env, &Prepared::plain("alpha"), &mut s);
    assert_eq!(v.action, Action::Tag, "the live ruleset decides");
    let sh = v.shadow.as_ref().unwrap();
    assert_eq!(sh.action, Action::Reject { status: 0x45 });
    assert_eq!(sh.decided_by.as_deref(), Some("r"));
    assert_eq!(sh.ruleset_version, cv);
    assert!(sh.differs);

    let v = engine.scan(&env, &Prepared::plain("gamma"), &mut s);
    let sh = v.shadow.as_ref().unwrap();
    assert_eq!(sh.action, Action::Allow);
    assert!(!sh.differs);

    // Promoting makes the candidate live and clears the shadow slot.
    let report = engine.promote_shadow().unwrap();
    assert_eq!(report.current, cv);
    assert!(engine.shadow().is_none());
    let v = engine.scan(&env, &Prepared::plain("alpha"), &mut s);
    assert_eq!(v.action, Action::Reject { status: 0x45 });
    assert!(v.shadow.is_none());
    assert!(engine.promote_shadow().is_none());
}

#[test]
fn a_scratch_follows_ruleset_changes_of_different_sizes() {
    // Swapping to a much bigger ruleset needs more scratch space; the worker's scratch
    // must grow without the caller doing anything.
    let engine = Engine::new(ruleset(&pack("tag", "alpha")));
    let mut s = Scratch::new();
    let env = Envelope::new("a");
    assert_eq!(
        engine.scan(&env, &Prepared::plain("alpha"), &mut s).action,
        Action::Tag
    );
    let mut big = String::from("format = 1\n[pack]\nname = \"big\"\nversion = \"1\"\n");
    for i in 0..200 {
        big.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"reject\"\npatterns.p = {{ regex = 'w{i}-[a-z]{{2,8}}[0-9]+', caseless = true }}\n"
        ));
    }
    engine.install(ruleset(&big));
    let v = engine.scan(&env, &Prepared::plain("xx W150-abc123"), &mut s);
    assert_eq!(v.error, None);
    assert_eq!(v.decisive().map(|m| &*m.id), Some("r150"));
    engine.set_shadow(Some(ruleset(&pack("tag", "alpha"))));
    let v = engine.scan(&env, &Prepared::plain("alpha"), &mut s);
    assert_eq!(v.error, None);
    assert_eq!(v.shadow.unwrap().action, Action::Tag);
}
