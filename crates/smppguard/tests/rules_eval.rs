//! The default rule pack (`rules/default`) on disguised and legitimate messages, and
//! `smppguard rules eval` on corpora the tests write themselves.
//!
//! Every message here is made up for the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use smppguard_filter::{ActionKind, Engine, Envelope, Scratch, Verdict};
use smppguard_sim::message::{Concat, Sms};
use smppguard_text::{
    DecodeOptions, PartInput, PartKey, PushOutcome, Reassembler, ReassemblyLimits, decode_part,
};

fn pack_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default")
}

/// The default pack, compiled once for every test of this file.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(pack_dir()).unwrap_or_else(|e| panic!("the default pack loads: {e}"))
    })
}

fn verdict(e: &Engine, text: &str) -> Verdict {
    e.evaluate(&Envelope::new("test"), text, &mut Scratch::new())
}

/// Asserts that `text` is blocked, by `rule` when given.
fn assert_blocked(e: &Engine, text: &str, rule: Option<&str>) {
    let v = verdict(e, text);
    assert!(v.is_blocking(), "not blocked: {text}\n{v:#?}");
    if let Some(rule) = rule {
        assert_eq!(v.decisive().map(|m| &*m.id), Some(rule), "{text}");
    }
}

/// Asserts that `text` is forwarded (allow, monitor or tag).
fn assert_passes(e: &Engine, text: &str) {
    let v = verdict(e, text);
    assert!(!v.is_blocking(), "blocked: {text}\n{v:#?}");
}

// === the default pack ===

#[test]
fn default_pack_loads_without_warnings() {
    let pack = smppguard_filter::RulePack::load(pack_dir()).unwrap();
    assert!(pack.warnings().is_empty(), "{:#?}", pack.warnings());
    assert!(pack.rule_count() >= 20);
}

#[test]
fn credit_card_limit_scam_in_traditional_and_simplified() {
    let e = engine();
    for text in [
        "您的信用卡已獲提額資格，額度最高可提升至十萬，請致電 0912345678 辦理",
        "您的信用卡已获提额资格，额度最高可提升至十万，请致电 0912345678 办理",
        "信用卡提額專線：加微信 card8899 立即辦理",
    ] {
        assert_blocked(e, text, Some("zh-cc-limit-increase"));
    }
}

#[test]
fn loan_fraud_in_traditional_and_simplified() {
    let e = engine();
    for text in [
        "無抵押貸款，免審核，當天放款，放款前需繳納手續費500元",
        "无抵押贷款，免审核，当天放款，放款前需缴纳手续费500元",
    ] {
        assert_blocked(e, text, Some("zh-loan-advance-fee"));
    }
    assert_blocked(
        e,
        "急用錢？小額貸款秒批，不看征信，加微信 money666 下載借款APP",
        Some("zh-loan-handoff"),
    );
}

#[test]
fn fullwidth_and_zero_width_disguises_are_caught() {
    let e = engine();
    // Fullwidth digits and letters fold to ASCII.
    assert_blocked(
        e,
        "您的信用卡可提额至８万，请致电 ０９１２３４５６７８",
        Some("zh-cc-limit-increase"),
    );
    assert_blocked(
        e,
        "Your ＡＣＣＯＵＮＴ has been ＳＵＳＰＥＮＤＥＤ. Verify now at http://secure-check.example.net/login",
        Some("en-account-locked"),
    );
    // Zero-width characters inside the keywords are stripped from the match text.
    assert_blocked(
        e,
        "信\u{200b}用\u{200b}卡提\u{200d}额，请致电 0912345678",
        Some("zh-cc-limit-increase"),
    );
    assert_blocked(
        e,
        "無\u{2060}抵押貸\u{200b}款，放款前先交保\u{feff}证金",
        Some("zh-loan-advance-fee"),
    );
    // Spaces between Han characters are removed too.
    assert_blocked(e, "请 将 资 金 转 入 安 全 账 户", Some("zh-safe-account"));
}

#[test]
fn keyword_split_across_two_ucs2_parts_is_caught_after_reassembly() {
    let e = engine();
    let text = "您的信用卡可提额至10万元，请致电0912345678办理";
    // Split between 提 and 额: neither part holds the keyword.
    let split = text.chars().position(|c| c == '额').unwrap();
    let parts = Sms::ucs2(text)
        .split_at(Concat::Udh8 { reference: 0x42 }, &[split])
        .unwrap();
    assert_eq!(parts.len(), 2);

    let opts = DecodeOptions::default();
    let key = PartKey {
        account: "test".into(),
        source_addr: "447700900001".into(),
        destination_addr: "447700900002".into(),
    };
    let mut reassembler = Reassembler::new(ReassemblyLimits::default());
    let mut complete = None;
    for (i, p) in parts.iter().enumerate() {
        let input = PartInput {
            esm_class: p.esm_class,
            data_coding: p.data_coding,
            short_message: p.short_message.as_ref(),
            message_payload: None,
            sar: None,
        };
        let decoded = decode_part(&input, &opts);
        // Each part alone passes: the split defeats a per-part scanner.
        assert_passes(e, &decoded.text);
        match reassembler.push(&key, &input, &decoded, i, 0) {
            PushOutcome::Held => {}
            PushOutcome::Complete(m) => complete = Some(m),
            other => panic!("{other:?}"),
        }
    }
    let message = complete.expect("both parts complete the message");
    assert_eq!(message.text, text);
    assert_blocked(e, &message.text, Some("zh-cc-limit-increase"));
}

#[test]
fn impersonation_and_verification_code_requests() {
    let e = engine();
    assert_blocked(
        e,
        "您好，我是市公安局民警，您的银行卡涉嫌洗钱，请立即把资金转入安全账户配合调查",
        None,
    );
    assert_blocked(
        e,
        "您在购物平台买的商品丢失，可办理理赔退款，请下载会议软件开启屏幕共享，由客服指导操作",
        Some("zh-service-coercion"),
    );
    assert_blocked(
        e,
        "刚才发到你手机上的验证码，麻烦念给我，我这边帮你确认",
        Some("zh-otp-request"),
    );
    assert_blocked(
        e,
        "小王，我是你表哥，换了新号码，急需用钱，你先转5000到这个账户，明天还你",
        Some("zh-acquaintance-money"),
    );
}

#[test]
fn english_lures() {
    let e = engine();
    assert_blocked(
        e,
        "Courier notice: your parcel is on hold due to an unpaid customs fee of $1.99. Pay at https://parcel-release.example.org/pay",
        Some("en-delivery-fee"),
    );
    assert_blocked(
        e,
        "Congratulations! You have won a $500 gift card. Claim it now: http://prize-desk.example.com/c",
        Some("en-prize-claim"),
    );
    assert_blocked(
        e,
        "Please call 09012345678 today to hear an urgent message about your account",
        Some("en-premium-callback"),
    );
    assert_blocked(
        e,
        "A charge of $412.00 was made on your card. If this was not you, cancel at https://card-help.example.net/x",
        Some("en-not-you-alert"),
    );
    assert_blocked(
        e,
        "Final notice: your unpaid toll balance of $6.80 is due today, pay at https://toll-pay.example.org",
        Some("en-toll-invoice"),
    );
    // A brand named next to somebody else's link is held for review; the brand's own
    // link is not.
    let v = verdict(
        e,
        "Amazon: your account needs verification, visit https://amaz0n-help.example.com/v",
    );
    assert!(v.is_blocking(), "{v:#?}");
    assert_passes(
        e,
        "Amazon: your order has shipped, see https://www.amazon.com/orders for the tracking number",
    );
}

#[test]
fn legitimate_messages_pass() {
    let e = engine();
    for text in [
        // A bank's statement notice, Traditional and Simplified.
        "【示例銀行】您的信用卡本期帳單金額為3,256.70元，最低還款額325.67元，到期還款日為03月25日。詳詢客服95555",
        "【示例银行】您的信用卡本期账单金额为3,256.70元，最低还款额325.67元，到期还款日为03月25日。详询客服95555",
        // One-time passwords that warn not to share them.
        "【示例平台】您的验证码为482913，5分钟内有效，请勿泄露给他人。",
        "【示例银行】验证码：771204，您正在进行转账操作，切勿告知他人，工作人员不会索取验证码。",
        "Your verification code is 482913. Do not share it with anyone.",
        // Delivery notices without a fee or an address lure.
        "【示例速运】您的快件已到达小区驿站，取件码8-2-3051，请及时领取。",
        "Your parcel will be delivered today between 2pm and 4pm. Track it at https://www.example-courier.com/t/ABC123",
        // A bank's anti-fraud notice names the tricks but asks for nothing.
        "【示例银行】提醒您：公安机关不会通过电话要求转账到安全账户，谨防诈骗。",
        // Everyday texts.
        "晚上七点老地方吃饭，记得带上合同",
        "Running late, see you at the station in 10 minutes",
    ] {
        assert_passes(e, text);
    }
}

#[test]
fn weak_signals_are_tagged_not_blocked() {
    let e = engine();
    let v = verdict(e, "See the photos from Saturday: https://bit.ly/3xAmPle");
    assert_eq!(v.action.kind(), ActionKind::Tag);
    assert_eq!(v.decisive().map(|m| &*m.id), Some("url-shortener"));
    let v = verdict(e, "Menu for tonight is at http://192.0.2.10/menu.html");
    assert_eq!(v.action.kind(), ActionKind::Tag);
    // The same link with a login request is held for review.
    let v = verdict(
        e,
        "Your mailbox is full, log in to keep receiving mail: http://192.0.2.10/owa",
    );
    assert_eq!(v.action.kind(), ActionKind::Quarantine);
}

// === smppguard rules eval ===

fn smppguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smppguard"))
        .args(args)
        .output()
        .unwrap()
}

/// A small pack: `贷款` with `秒批` is rejected, `优惠` is monitored.
const PACK: &str = r#"format = 1
[pack]
name = "eval-test"
version = "1"

[[rule]]
id = "loan"
description = "loan with instant approval"
category = "loan"
action = "reject"
when = "loan and fast"
patterns.loan = { literal = "贷款" }
patterns.fast = { literal = "秒批" }

[[rule]]
id = "promo"
description = "promotion"
category = "spam"
action = "monitor"
patterns.p = { literal = "优惠" }
"#;

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A corpus of made-up messages: 4 fraud (2 caught, one of them in Traditional
/// characters), 2 spam (one monitored), 5 ham (one wrongly caught), a blank line, a
/// CRLF line end and escapes.
const CORPUS: &str = "fraud\t贷款秒批，当天到账\n\
fraud\t貸款秒批，加微信\n\
fraud\t贷\\u款 秒批\n\
fraud\t无抵押借钱\n\
spam\t周末优惠大促\n\
spam\t新店开业\n\
ham\t明天开会\n\
ham\t房贷款秒批的新闻你看了吗\n\
ham\t第一行\\n第二行\n\
\n\
ham\t好的\r\n\
ham\t收到\n";

/// Runs `rules eval --rules PACK [EXTRA...] --json FILES...` and parses its output.
fn eval_json(pack: &Path, extra: &[&str], files: &[&Path]) -> Value {
    let mut args = vec!["rules", "eval", "--rules", pack.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let out = smppguard(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eval_counts_actions_and_measures_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(dir.path(), "pack.toml", PACK);
    let corpus = write(dir.path(), "corpus.tsv", CORPUS);
    let misses = dir.path().join("misses.tsv");
    let v = eval_json(&pack, &["--misses", misses.to_str().unwrap()], &[&corpus]);
    let labels = &v["labels"];
    assert_eq!(
        labels["fraud"],
        serde_json::json!({"total": 4, "blocked": 2, "allow": 2, "monitor": 0, "tag": 0,
                           "reject": 2, "drop": 0, "quarantine": 0})
    );
    assert_eq!(labels["spam"]["total"], 2);
    assert_eq!(labels["spam"]["monitor"], 1);
    assert_eq!(labels["spam"]["blocked"], 0);
    assert_eq!(labels["ham"]["total"], 5);
    assert_eq!(labels["ham"]["reject"], 1);
    let m = &v["metrics"];
    // 2 fraud blocked, 1 ham blocked.
    assert_eq!(m["fraud"]["precision"].as_f64(), Some(2.0 / 3.0));
    assert_eq!(m["fraud"]["recall"].as_f64(), Some(0.5));
    assert_eq!(m["spam"]["recall"].as_f64(), Some(0.0));
    assert_eq!(m["spam"]["flagged"].as_f64(), Some(0.5));
    assert_eq!(m["ham"]["false_positive_rate"].as_f64(), Some(0.2));
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    assert_eq!(v["files"][0]["messages"], 11);
    assert_eq!(v["pack"]["name"], "eval-test");
    // Which rule decided, per label: the block, the false positive, the monitor.
    assert_eq!(
        v["rules"],
        serde_json::json!({"loan": {"fraud": 2, "ham": 1}, "promo": {"spam": 1}})
    );
    assert_eq!(v["files"][0]["rules"], v["rules"]);
    assert!(v.get("baseline").is_none());

    // The misses: the two fraud messages not blocked, both spam, the blocked ham.
    let text = std::fs::read_to_string(&misses).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("# {}", corpus.display()));
    assert_eq!(
        &lines[1..],
        &[
            "fraud\tallow\t-\t贷\\\\u款 秒批",
            "fraud\tallow\t-\t无抵押借钱",
            "spam\tmonitor\tpromo\t周末优惠大促",
            "spam\tallow\t-\t新店开业",
            "ham\treject\tloan\t房贷款秒批的新闻你看了吗",
        ]
    );
}

#[test]
fn eval_baseline_misses_what_only_decoding_and_folding_catch() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(dir.path(), "pack.toml", PACK);
    let corpus = write(
        dir.path(),
        "c.tsv",
        "fraud\t貸款秒批\nfraud\t贷款秒批\nham\t你好\n",
    );
    let v = eval_json(&pack, &["--baseline"], &[&corpus]);
    assert_eq!(v["labels"]["fraud"]["blocked"], 2);
    // The raw-byte view sees UCS-2 octets, which no UTF-8 pattern matches.
    assert_eq!(v["baseline"]["labels"]["fraud"]["blocked"], 0);
    assert_eq!(
        v["baseline"]["metrics"]["fraud"]["recall"].as_f64(),
        Some(0.0)
    );
    assert_eq!(v["files"][0]["baseline"]["labels"]["fraud"]["total"], 2);
}

#[test]
fn eval_baseline_matches_gsm_text_part_by_part() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(
        dir.path(),
        "pack.toml",
        "format = 1\n[pack]\nname = \"en\"\nversion = \"1\"\n\
         [[rule]]\nid = \"free\"\ndescription = \"d\"\ncategory = \"spam\"\naction = \"reject\"\n\
         patterns.w = { literal = \"free prize\" }\n",
    );
    // 170 GSM characters go out in two parts of at most 153: the first ends with
    // "free", the second starts with " prize".
    let long = format!("{} free prize {}", "a".repeat(148), "b".repeat(10));
    let corpus = write(
        dir.path(),
        "c.tsv",
        &format!("spam\tyou won a FREE PRIZE\nspam\t{long}\nspam\tF\u{200b}REE prize\n"),
    );
    let v = eval_json(&pack, &["--baseline"], &[&corpus]);
    assert_eq!(v["labels"]["spam"]["blocked"], 3);
    // Case folding only: the split keyword and the zero-width space defeat it.
    assert_eq!(v["baseline"]["labels"]["spam"]["blocked"], 1);
}

#[test]
fn eval_prints_a_table_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(dir.path(), "pack.toml", PACK);
    let a = write(dir.path(), "a.tsv", CORPUS);
    let b = write(dir.path(), "b.tsv", "fraud\t贷款秒批\n");
    let out = smppguard(&[
        "rules",
        "eval",
        "--rules",
        pack.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("a.tsv: 11 messages"), "{stdout}");
    assert!(stdout.contains("b.tsv: 1 messages"), "{stdout}");
    assert!(stdout.contains("all 2 files: 12 messages"), "{stdout}");
    assert!(
        stdout.contains("ham false-positive rate 20.000% (1 of 5)"),
        "{stdout}"
    );
    // No terminal: no progress bar.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_rejects_a_malformed_corpus_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let pack = write(dir.path(), "pack.toml", PACK);
    let corpus = write(dir.path(), "bad.tsv", "ham\tok\nno label here\n");
    let out = smppguard(&[
        "rules",
        "eval",
        "--rules",
        pack.to_str().unwrap(),
        corpus.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.tsv:2: no tab between label and text"),
        "{stderr}"
    );
    // An invalid pack exits 65 with its diagnostics.
    let bad = write(dir.path(), "bad.toml", "format = 1\n");
    let out = smppguard(&[
        "rules",
        "eval",
        "--rules",
        bad.to_str().unwrap(),
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(65));
}
