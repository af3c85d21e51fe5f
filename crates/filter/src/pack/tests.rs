use super::*;

const HEADER: &str = "format = 1\n[pack]\nname = \"t\"\nversion = \"1\"\n";

fn load(body: &str) -> Result<RulePack, Error> {
    RulePack::from_toml(&format!("{HEADER}{body}"), "t.toml")
}

/// The single diagnostic of a failed load.
fn one(body: &str) -> Diagnostic {
    let err = load(body).expect_err("pack should be rejected");
    let d = err.diagnostics();
    assert_eq!(d.len(), 1, "{d:#?}");
    d[0].clone()
}

const RULE: &str = r#"
[[rule]]
id = "r1"
description = "d"
category = "fraud"
action = "reject"
"#;

#[test]
fn minimal_pack_loads_with_defaults() {
    let p = load(&format!("{RULE}patterns.a = {{ literal = \"x\" }}\n")).unwrap();
    assert_eq!(p.name(), "t");
    assert_eq!(p.rule_count(), 1);
    assert_eq!(p.expression_count(), 1);
    let r = &p.rules[0];
    assert_eq!(r.action, Action::Reject { status: 0x45 });
    assert_eq!(r.mode, Mode::Enforce);
    assert_eq!(r.priority, 0);
    assert_eq!(r.cond, Cond::Term(0));
}

#[test]
fn pack_defaults_apply_and_rules_override_them() {
    let src = r#"format = 1
[pack]
name = "t"
version = "1"
reject_status = 0x0b
mode = "monitor"

[[rule]]
id = "a"
description = "d"
category = "spam"
action = "reject"
patterns.x = { literal = "x" }

[[rule]]
id = "b"
description = "d"
category = "spam"
action = "reject"
status = 0x58
mode = "enforce"
patterns.x = { literal = "y" }
"#;
    let p = RulePack::from_toml(src, "t.toml").unwrap();
    assert_eq!(p.rules[0].action, Action::Reject { status: 0x0b });
    assert_eq!(p.rules[0].mode, Mode::Monitor);
    assert_eq!(p.rules[1].action, Action::Reject { status: 0x58 });
    assert_eq!(p.rules[1].mode, Mode::Enforce);
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let d = one(&format!("{RULE}patterns.a = {{ literal = \"x\" \n"));
    assert!(matches!(d.problem, Problem::Syntax(_)), "{d}");
    assert_eq!(d.location.line, 11, "{d}");
}

#[test]
fn unknown_keys_are_rejected_with_their_line() {
    let d = one(&format!(
        "{RULE}patterns.a = {{ literal = \"x\" }}\nacton = \"x\"\n"
    ));
    assert!(
        matches!(d.problem, Problem::Syntax(ref m) if m.contains("acton")),
        "{d}"
    );
    assert_eq!(d.location.line, 12, "{d}");
}

#[test]
fn header_and_format_are_required() {
    let e = RulePack::from_toml("format = 1\n", "t.toml").unwrap_err();
    assert_eq!(e.diagnostics()[0].problem, Problem::MissingHeader);
    let e = RulePack::from_toml("[pack]\nname=\"t\"\nversion=\"1\"\n", "t.toml").unwrap_err();
    assert_eq!(e.diagnostics()[0].problem, Problem::MissingFormat);
    let e = RulePack::from_toml("format = 2\n[pack]\nname=\"t\"\nversion=\"1\"\n", "t.toml")
        .unwrap_err();
    assert_eq!(e.diagnostics()[0].problem, Problem::UnsupportedFormat(2));
    assert_eq!(e.diagnostics()[0].location.line, 1);
}

#[test]
fn duplicate_rule_ids_point_at_both() {
    let d = one(&format!(
        "{RULE}patterns.a = {{ literal = \"x\" }}\n{RULE}patterns.a = {{ literal = \"y\" }}\n"
    ));
    let Problem::DuplicateRule { first } = &d.problem else {
        panic!("{d}")
    };
    // Header: lines 1-4; blank line 5; `[[rule]]` 6; `id = "r1"` 7.
    assert_eq!(first.line, 7);
    assert_eq!(d.location.line, 14);
    assert_eq!(d.rule.as_deref(), Some("r1"));
    assert_eq!(
        d.to_string(),
        "t.toml:14:6: rule `r1`: duplicate rule id (first defined at t.toml:7:6)"
    );
}

#[test]
fn condition_errors_point_into_the_string() {
    let d = one(&format!(
        "{RULE}when = \"a and (b\"\npatterns.a = {{ literal = \"x\" }}\npatterns.b = {{ literal = \"y\" }}\n"
    ));
    assert!(matches!(d.problem, Problem::Condition(_)), "{d}");
    // `when = "a and (b"`: the `(` is at byte 6 of the condition, column 8 + 6.
    assert_eq!((d.location.line, d.location.column), (11, 15), "{d}");
}

#[test]
fn unknown_names_in_conditions() {
    let d = one(&format!(
        "{RULE}when = \"a and nope\"\npatterns.a = {{ literal = \"x\" }}\n"
    ));
    assert_eq!(d.problem, Problem::UnknownPattern("nope".into()));
    let d = one(&format!(
        "{RULE}when = \"a and @ghost\"\npatterns.a = {{ literal = \"x\" }}\n"
    ));
    assert_eq!(d.problem, Problem::UnknownRule("ghost".into()));
}

#[test]
fn hyperscan_syntax_errors_carry_the_position() {
    let d = one(&format!("{RULE}patterns.bad = {{ regex = 'ab(cd' }}\n"));
    assert_eq!(d.rule.as_deref(), Some("r1"));
    assert_eq!(d.pattern.as_deref(), Some("bad"));
    let Problem::Regex {
        message,
        position,
        expression,
    } = &d.problem
    else {
        panic!("{d}")
    };
    assert!(
        message.contains("paren") && !message.contains("at index"),
        "{message}"
    );
    assert_eq!(*position, Some(2), "{d}");
    assert_eq!(*expression, None, "the pattern was compiled as written");
    assert!(d.to_string().ends_with(" at byte 2"), "{d}");
    assert_eq!(d.location.line, 11);
    // Back-references are not supported by Hyperscan.
    let d = one(&format!("{RULE}patterns.bad = {{ regex = '(a)\\1' }}\n"));
    assert!(matches!(d.problem, Problem::Regex { .. }), "{d}");
}

#[test]
fn errors_in_rewritten_patterns_show_the_compiled_form() {
    // `\d` is compiled as `[0-9]`, so Hyperscan's position counts in the rewritten text.
    let d = one(&format!("{RULE}patterns.p = {{ regex = '\\d{{2}}(x' }}\n"));
    let Problem::Regex {
        position,
        expression,
        ..
    } = &d.problem
    else {
        panic!("{d}")
    };
    assert_eq!(expression.as_deref(), Some("[0-9]{2}(x"));
    assert_eq!(*position, Some(8));
    assert!(d.to_string().contains("at byte 8 of `[0-9]{2}(x`"), "{d}");
}

#[test]
fn a_broken_shared_pattern_is_reported_once() {
    let d = one(&format!(
        "[patterns]\nphone = {{ regex = '09(x' }}\n{RULE}when = \"a and phone\"\npatterns.a = {{ literal = 'x' }}\n"
    ));
    assert_eq!(d.pattern.as_deref(), Some("phone"));
    assert!(matches!(d.problem, Problem::Regex { .. }), "{d}");
}

#[test]
fn word_boundaries_turn_ucp_off_unless_forced() {
    let p = load(&format!(
        "{RULE}patterns.w = {{ regex = '\\bloan\\b', caseless = true }}\n"
    ))
    .unwrap();
    let TermKind::Exprs(e) = &p.terms[0].kind else {
        panic!()
    };
    assert!(!e[0].flags.ucp && e[0].flags.utf8 && e[0].flags.caseless);
    let d = one(&format!(
        "{RULE}patterns.w = {{ regex = '\\bloan\\b', ucp = true }}\n"
    ));
    let Problem::Regex { message, .. } = &d.problem else {
        panic!("{d}")
    };
    assert!(message.contains("UCP"), "{message}");
    // Without \b, prose patterns default to UCP.
    let p = load(&format!("{RULE}patterns.w = {{ regex = '\\w+貸款' }}\n")).unwrap();
    let TermKind::Exprs(e) = &p.terms[0].kind else {
        panic!()
    };
    assert!(e[0].flags.ucp);
}

#[test]
fn patterns_that_match_empty_are_rejected() {
    let d = one(&format!("{RULE}patterns.e = {{ regex = 'a*' }}\n"));
    assert_eq!(d.problem, Problem::MatchesEmpty);
    let d = one(&format!("{RULE}patterns.e = {{ literal = '' }}\n"));
    assert_eq!(d.problem, Problem::EmptyPattern);
    let d = one(&format!("{RULE}patterns.e = {{ literal = [] }}\n"));
    assert_eq!(d.problem, Problem::EmptyPattern);
}

#[test]
fn pattern_needs_exactly_one_kind() {
    let d = one(&format!(
        "{RULE}patterns.e = {{ literal = 'a', regex = 'b' }}\n"
    ));
    assert_eq!(d.problem, Problem::PatternKind);
    let d = one(&format!("{RULE}patterns.e = {{ caseless = true }}\n"));
    assert_eq!(d.problem, Problem::PatternKind);
}

#[test]
fn action_checks() {
    let src = RULE.replace("\"reject\"", "\"drop\"");
    let d = one(&format!("{src}patterns.a = {{ literal = 'x' }}\n"));
    assert_eq!(d.problem, Problem::DropNotAllowed);
    let ok = format!(
        "format = 1\n[pack]\nname = \"t\"\nversion = \"1\"\nallow_drop = true\n{src}patterns.a = {{ literal = 'x' }}\n"
    );
    assert_eq!(
        RulePack::from_toml(&ok, "t.toml").unwrap().rules[0].action,
        Action::Drop
    );

    let src = RULE.replace("\"reject\"", "\"tag\"");
    let d = one(&format!(
        "{src}status = 0x45\npatterns.a = {{ literal = 'x' }}\n"
    ));
    assert_eq!(d.problem, Problem::StatusWithoutReject(ActionKind::Tag));
    let d = one(&format!(
        "{RULE}status = 0\npatterns.a = {{ literal = 'x' }}\n"
    ));
    assert_eq!(d.problem, Problem::ZeroStatus);
    let d = one(RULE);
    assert_eq!(d.problem, Problem::NoCondition);
}

#[test]
fn rule_reference_cycles_and_depth() {
    let mut src = String::new();
    for (id, next) in [("a", "b"), ("b", "c"), ("c", "a")] {
        src.push_str(&format!(
            "[[rule]]\nid = \"{id}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\nwhen = \"x or @{next}\"\npatterns.x = {{ literal = '{id}' }}\n"
        ));
    }
    let d = one(&src);
    assert_eq!(d.problem, Problem::Cycle("a -> b -> c -> a".into()));

    let mut src = String::new();
    for i in 0..20 {
        src.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\nwhen = \"x or @r{}\"\npatterns.x = {{ literal = 'v{i}' }}\n",
            i + 1
        ));
    }
    src.push_str("[[rule]]\nid = \"r20\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\npatterns.x = { literal = 'end' }\n");
    let d = one(&src);
    assert_eq!(d.problem, Problem::TooDeep(MAX_REF_DEPTH));
}

#[test]
fn shared_patterns_lists_and_groups() {
    let src = r#"
[groups]
banks = ["bank1", "bank2"]

[lists.short]
kind = "domain"
entries = ["bit.ly", "t.co"]

[patterns]
cc = { literal = "信用卡" }
unused = { literal = "zzz" }
short_link = { list = "short" }

[[rule]]
id = "r1"
description = "d"
category = "fraud"
action = "reject"
when = "cc and (limit or short_link)"
patterns.limit = { literal = ["提額", "額度提升"] }
scope = { groups = ["banks", "from_proxy"], destinations = ["+886"] }
"#;
    let p = load(src).unwrap();
    assert_eq!(p.list_stats(), (1, 2));
    assert_eq!(p.expression_count(), 4);
    let r = &p.rules[0];
    assert!(r.scope.restricted);
    assert!(r.scope.accounts.contains("bank1") && r.scope.accounts.contains("bank2"));
    assert_eq!(r.scope.groups, vec!["banks", "from_proxy"]);
    assert_eq!(r.scope.destinations, vec!["886"]);
    let warnings: Vec<String> = p.warnings().iter().map(|w| w.problem.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("from_proxy")));
    assert!(warnings.iter().any(|w| w.contains("not used")));
}

#[test]
fn list_problems() {
    let d = one(&format!("{RULE}patterns.l = {{ list = \"nope\" }}\n"));
    assert_eq!(d.problem, Problem::UnknownList("nope".into()));
    let d = one(&format!(
        "[lists.s]\nkind = \"sender\"\nentries = [\"X\"]\n{RULE}patterns.l = {{ list = \"s\", field = \"text\" }}\n"
    ));
    assert!(matches!(
        d.problem,
        Problem::ListField {
            kind: "sender",
            field: Field::Text
        }
    ));
    let d = one(&format!(
        "[lists.s]\nkind = \"domain\"\n{RULE}patterns.l = {{ list = \"s\" }}\n"
    ));
    assert_eq!(d.problem, Problem::ListSource);
    let d = one(&format!(
        "[lists.s]\nkind = \"domain\"\nentries = [\"http://x\"]\n{RULE}patterns.l = {{ list = \"s\" }}\n"
    ));
    assert!(
        matches!(d.problem, Problem::ListEntry { kind: "domain", .. }),
        "{d}"
    );
    let d = one(&format!(
        "[lists.s]\nkind = \"domain\"\nfile = \"does-not-exist.txt\"\n{RULE}patterns.l = {{ list = \"s\" }}\n"
    ));
    assert!(matches!(d.problem, Problem::Read(_)), "{d}");
    assert!(d.location.file.ends_with("does-not-exist.txt"));
}

#[test]
fn names_are_checked() {
    let d = one(&format!("{RULE}patterns.and = {{ literal = 'x' }}\n"));
    assert!(matches!(d.problem, Problem::InvalidName(_, _)), "{d}");
    let src = RULE.replace("\"r1\"", "\"bad id!\"");
    let d = one(&format!("{src}patterns.a = {{ literal = 'x' }}\n"));
    assert!(matches!(d.problem, Problem::InvalidName(_, _)), "{d}");
    let d = one(&format!(
        "[patterns]\na = {{ literal = 'x' }}\n{RULE}patterns.a = {{ literal = 'y' }}\n"
    ));
    assert_eq!(d.problem, Problem::ShadowsShared);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let src = format!(
        "{RULE}patterns.a = {{ regex = '(' }}\n[[rule]]\nid = \"r2\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"tag\"\nwhen = \"zz\"\npatterns.b = {{ literal = 'y' }}\n"
    );
    let e = load(&src).unwrap_err();
    assert_eq!(e.diagnostics().len(), 2, "{:#?}", e.diagnostics());
}

#[test]
fn literals_are_escaped_for_hyperscan() {
    assert_eq!(escape_literal("a.b*"), "a\\x2eb\\x2a");
    assert_eq!(escape_literal("信用卡 1"), "信用卡\\x201");
    assert_eq!(escape_literal("\0"), "\\x00");
}

#[test]
fn word_boundary_detection() {
    assert!(has_word_boundary(r"\bloan"));
    assert!(has_word_boundary(r"x\B"));
    assert!(!has_word_boundary(r"\\b"));
    assert!(!has_word_boundary(r"[\b]x"));
    assert!(!has_word_boundary(r"[]\b]x"));
    assert!(has_word_boundary(r"[a]\b"));
}

#[test]
fn directory_packs_merge_files_and_resolve_lists_relative_to_their_file() {
    let dir = std::env::temp_dir().join(format!("smppguard-pack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    std::fs::write(dir.join("lists/short.txt"), "bit.ly\nt.co\n").unwrap();
    std::fs::write(
        dir.join("00-pack.toml"),
        format!("{HEADER}[lists.short]\nkind = \"domain\"\nfile = \"lists/short.txt\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("10-rules.toml"),
        format!("{RULE}patterns.s = {{ list = \"short\" }}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("README.md"), "not a rule file").unwrap();
    let p = RulePack::load(&dir).unwrap();
    assert_eq!(p.files().len(), 2);
    assert_eq!(p.list_stats(), (1, 2));
    let digest = p.digest();

    // A changed list file changes the digest.
    std::fs::write(dir.join("lists/short.txt"), "bit.ly\n").unwrap();
    assert_ne!(RulePack::load(&dir).unwrap().digest(), digest);

    // A second header is an error naming both files.
    std::fs::write(dir.join("20-more.toml"), HEADER).unwrap();
    let e = RulePack::load(&dir).unwrap_err();
    let d = &e.diagnostics()[0];
    assert!(d.location.file.ends_with("20-more.toml"), "{d}");
    assert!(
        matches!(&d.problem, Problem::DuplicateHeader { first } if first.file.ends_with("00-pack.toml"))
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let e = RulePack::load(dir.join("missing")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
}

#[test]
fn text_patterns_are_written_in_match_text_form() {
    let p = load(&format!(
        "{RULE}when = \"a or b or c\"\npatterns.a = {{ literal = \"提額 ＦＲＥＥ\" }}\npatterns.b = {{ regex = '貸款.{{0,6}}[額额]度' }}\npatterns.c = {{ literal = \"提額\", field = \"decoded\" }}\n"
    ))
    .unwrap();
    let exprs = |name: &str| match &p.terms.iter().find(|t| t.name == name).unwrap().kind {
        TermKind::Exprs(e) => e.clone(),
        TermKind::List(_) => panic!(),
    };
    let a = &exprs("a")[0];
    // Traditional → Simplified, fullwidth → ASCII, lower case: folded like the match text,
    // so no caseless automaton is needed.
    assert_eq!(a.literal.as_deref(), Some("提额 free"));
    assert!(!a.flags.caseless);
    assert_eq!(exprs("b")[0].expression, "贷款.{0,6}[额额]度");
    // `decoded` sees the text as sent: no rewriting, case-sensitive by default.
    let c = &exprs("c")[0];
    assert_eq!(c.literal.as_deref(), Some("提額"));
    assert!(!c.flags.caseless);
}

#[test]
fn normalize_table_is_checked() {
    let src = format!(
        "format = 1\n[pack]\nname = \"t\"\nversion = \"1\"\n[normalize]\ncase_fold = false\ntraditional_to_simplified = false\n{RULE}patterns.a = {{ literal = \"提額 FREE\" }}\n"
    );
    let p = RulePack::from_toml(&src, "t.toml").unwrap();
    assert!(!p.normalize_options().case_fold);
    let TermKind::Exprs(e) = &p.terms[0].kind else {
        panic!()
    };
    assert_eq!(e[0].literal.as_deref(), Some("提額 FREE"));
    assert!(!e[0].flags.caseless);

    let src = format!(
        "format = 1\n[pack]\nname = \"t\"\nversion = \"1\"\n[normalize]\ncasefold = false\n{RULE}patterns.a = {{ literal = \"x\" }}\n"
    );
    let e = RulePack::from_toml(&src, "t.toml").unwrap_err();
    let d = &e.diagnostics()[0];
    assert!(
        matches!(&d.problem, Problem::Normalize(m) if m.contains("casefold")),
        "{d}"
    );
    assert_eq!(d.location.line, 5, "the `[normalize]` table: {d}");
}

#[test]
fn regex_normalization_keeps_escapes_and_classes() {
    let n = Normalizer::new(NormalizeOptions::default());
    assert_eq!(normalize_regex(r"\x{8cb8}款", &n), r"\x{8cb8}款");
    assert_eq!(normalize_regex(r"[^額]+", &n), r"[^额]+");
    assert_eq!(normalize_regex(r"\S+提額", &n), r"\S+提额");
    // Digits are folded to ASCII in the match text: `\d` needs no Unicode tables.
    assert_eq!(
        normalize_regex(r"09\d{8}\D[\d-]", &n),
        r"09[0-9]{8}[^0-9][0-9-]"
    );
    let keep = Normalizer::new(NormalizeOptions {
        fold_digits: false,
        ..NormalizeOptions::default()
    });
    assert_eq!(normalize_regex(r"\d\D", &keep), r"\d\D");
    // A fullwidth parenthesis becomes an escaped ASCII one, never regex syntax.
    assert_eq!(normalize_regex("（x）", &n), r"\x28x\x29");
    // Case folding: letters are lower-cased, escapes and their braced arguments are not.
    assert_eq!(
        normalize_regex(r"LINE\s*ID\S\W\B\p{Han}\x{4E00}[A-Z]", &n),
        r"line\s*id\S\W\B\p{Han}\x{4E00}[a-z]"
    );
}

/// The condition a flattened node stands for.
fn unflatten(nodes: &[Node], n: u32) -> Cond {
    match nodes[n as usize] {
        Node::Term(t) => Cond::Term(t),
        Node::Rule(r) => Cond::Rule(r),
        Node::Not(c) => Cond::Not(Box::new(unflatten(nodes, c))),
        Node::And { start, len } => {
            Cond::And((start..start + len).map(|i| unflatten(nodes, i)).collect())
        }
        Node::Or { start, len } => {
            Cond::Or((start..start + len).map(|i| unflatten(nodes, i)).collect())
        }
    }
}

fn cond_tree() -> impl proptest::strategy::Strategy<Value = Cond> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        (0u32..50).prop_map(Cond::Term),
        (0u32..10).prop_map(Cond::Rule)
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
            proptest::collection::vec(inner.clone(), 1..5).prop_map(|v| Cond::And(v.into())),
            proptest::collection::vec(inner, 1..5).prop_map(|v| Cond::Or(v.into())),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn flattened_conditions_keep_their_tree(conds in proptest::collection::vec(cond_tree(), 1..4)) {
        // Several rules share one array, as in a ruleset.
        let mut nodes = Vec::new();
        let roots: Vec<u32> = conds.iter().map(|c| c.flatten(&mut nodes)).collect();
        for (c, r) in conds.iter().zip(roots) {
            proptest::prop_assert_eq!(&unflatten(&nodes, r), c);
        }
    }
}
