//! `Engine::evaluate_part` (decode, normalize and scan from a part's bytes in one call)
//! gives the verdict of `decode_part` followed by `Engine::evaluate_message`, over the
//! default pack and over a pack with a shadow candidate normalizing differently. Every
//! message is made up for the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use smppguard_filter::{
    Action, DecodeOptions, Engine, Envelope, NormalizeOptions, PartInput, RulePack, Ruleset,
    Scratch, Verdict,
};
use smppguard_text::{DefaultAlphabet, decode_part};

fn default_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default"))
            .unwrap_or_else(|e| panic!("the default pack loads: {e}"))
    })
}

fn env() -> Envelope<'static> {
    Envelope {
        account: "acct",
        source_addr: "InfoSMS",
        destination_addr: "886912345678",
        ..Envelope::default()
    }
}

fn without_time(mut v: Verdict) -> Verdict {
    v.scan_time = Duration::ZERO;
    v
}

/// Evaluates `part` both ways with fresh and reused scratch, checks the verdicts and the
/// decoded parts agree, and returns the verdict.
fn same_both_ways(
    engine: &Engine,
    part: &PartInput<'_>,
    opts: &DecodeOptions,
    reused: &mut Scratch,
) -> Verdict {
    let decoded = decode_part(part, opts);
    let binary = decoded.binary.then(|| part.body());
    let two_steps =
        without_time(engine.evaluate_message(&env(), &decoded.text, binary, &mut Scratch::new()));
    let (one_call, got) = engine.evaluate_part(&env(), part, opts, reused);
    assert_eq!(got, &decoded, "decoded part of {part:?}");
    let one_call = without_time(one_call);
    assert_eq!(one_call, two_steps, "verdict of {:?}", decoded.text);
    one_call
}

fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// GSM 7-bit, one septet per octet, for text whose characters share their ASCII code.
fn gsm7(s: &str) -> Vec<u8> {
    s.bytes()
        .map(|b| match b {
            b'@' => 0x00,
            b'$' => 0x02,
            b'_' => 0x11,
            other => other,
        })
        .collect()
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

const ZH: &[&str] = &[
    "【星河銀行】您的信用卡本期帳單金額NT$3,210，繳款截止日為5/20，如已繳款請忽略。",
    "您的驗證碼為482913，請於5分鐘內輸入，請勿告知他人。",
    "恭喜您的信用卡已獲提額資格，額度提升至50萬，請加LINE ID:abc1234 由專員為您辦理",
    "信 用 卡 提 額 專案，免審核當日核准，詳洽 0912345678",
    "急用錢？小額貸款免審核當天放款，無抵押低利率，洽詢0987654321，秒批",
    "【地檢署】您的帳戶涉及洗錢案件，須將存款轉入安全帳戶配合調查，請勿告知他人",
    "信用\u{200b}卡提\u{200b}額，加賴ＩＤ：ｌｏａｎ８８ 立即辦理 bit.ly/x9k2",
    "客服通知：您的訂單重複扣款，請依指示操作ATM解除分期，電話 ０２－２３４５６７８９",
    "預約提醒：您的門診時間為3/14 上午十點，如需取消請來電。",
    "一三八一二三四五六七八 信用卡额度提升 hxxp://loan[.]example(dot)com",
    "😀 限時優惠 🎁 會員點數加倍，詳情 https://shop.example.com.tw/sale",
    "",
];

const EN: &[&str] = &[
    "Your verification code is 123456. It expires in 10 minutes. Do not share it.",
    "ALERT: your account has been suspended. Verify your details at http://10.2.3.4/login",
    "USPS: your package is on hold due to an unpaid customs fee. Pay at https://bit.ly/a1b2c3",
    "Congratulations! You have been selected to receive a $1000 gift card. Claim: https://gift-ab12.xyz/c",
    "Reminder: your appointment at Cedar Clinic is on 3/14 at 9:30. Reply C to cancel.",
    "F R E E  prize waiting, visit win-now . top / claim today",
    "Your Paypa1 account is locked, log in at paypal-secure dot com to restore access",
    "Hi, the statement for this month is ready in the app. Questions? Call 0800123456.",
];

const LATIN1: &[&str] = &[
    "Votre colis est bloqué, payez les frais de douane: https://bit.ly/dhl-fr",
    "Código de verificación: 554433. No lo comparta con nadie.",
    "Ihr Konto wurde gesperrt. Bestätigen Sie Ihre Daten unter http://bank-secure.xyz/login",
];

#[test]
fn default_pack_same_verdicts_on_every_coding() {
    let engine = default_engine();
    let mut scratch = Scratch::new();
    let opts = DecodeOptions::default();
    let mut blocking = 0;
    let mut total = 0;
    let mut check = |part: PartInput<'_>, opts: &DecodeOptions| {
        let v = same_both_ways(engine, &part, opts, &mut scratch);
        total += 1;
        blocking += usize::from(v.is_blocking());
    };
    for text in ZH.iter().chain(EN).chain(LATIN1) {
        let body = ucs2(text);
        check(
            PartInput {
                data_coding: 8,
                short_message: &body,
                ..PartInput::default()
            },
            &opts,
        );
        // The same text in message_payload, and behind a user data header (a port IE).
        check(
            PartInput {
                data_coding: 8,
                message_payload: Some(&body),
                ..PartInput::default()
            },
            &opts,
        );
        let mut with_udh = vec![0x06, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0];
        with_udh.extend_from_slice(&body);
        check(
            PartInput {
                esm_class: 0x40,
                data_coding: 8,
                short_message: &with_udh,
                ..PartInput::default()
            },
            &opts,
        );
    }
    for text in EN {
        let body = gsm7(text);
        check(
            PartInput {
                data_coding: 0,
                short_message: &body,
                ..PartInput::default()
            },
            &opts,
        );
    }
    let latin1_link = DecodeOptions {
        default_alphabet: DefaultAlphabet::Latin1,
    };
    for text in LATIN1.iter().chain(EN) {
        let body = latin1(text);
        for (dc, opts) in [(3, &opts), (0, &latin1_link)] {
            check(
                PartInput {
                    data_coding: dc,
                    short_message: &body,
                    ..PartInput::default()
                },
                opts,
            );
        }
    }
    // Odd-length UCS-2 and a lone surrogate decode with U+FFFD, the same both ways.
    let mut odd = ucs2(ZH[2]);
    odd.push(0x41);
    let mut lone = ucs2(ZH[4]);
    lone.extend_from_slice(&[0xd8, 0x3d]);
    for body in [&odd, &lone] {
        check(
            PartInput {
                data_coding: 8,
                short_message: body,
                ..PartInput::default()
            },
            &opts,
        );
    }
    // Binary parts: no text, the body goes to `binary` patterns.
    let wap = [0x06, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0, 0x01, 0x06, 0x03];
    for dc in [4, 0xF6, 0x07 | 0x30] {
        check(
            PartInput {
                esm_class: 0x40,
                data_coding: dc,
                short_message: &wap,
                ..PartInput::default()
            },
            &opts,
        );
    }
    // The made-up scams are caught, so the comparison covers verdicts with evidence.
    assert!(blocking >= 20, "{blocking} of {total} blocked");
}

const PACK: &str = r#"format = 1
[pack]
name = "part"
version = "1"

[[rule]]
id = "limit"
description = "credit-card limit increase"
category = "fraud"
action = "reject"
patterns.w = { literal = "信用卡提額" }

[[rule]]
id = "wap-push"
description = "WAP push"
category = "spam"
action = "quarantine"
patterns.b = { regex = '\x0b\x84', field = "binary" }
"#;

/// A live pack with the default normalization and a shadow candidate with none: the shadow
/// scans its own match text of the decoded part.
#[test]
fn shadow_with_other_normalization_sees_its_own_text() {
    let live = Ruleset::compile(RulePack::from_toml(PACK, "part.toml").unwrap()).unwrap();
    let none = toml::to_string(&NormalizeOptions::none()).unwrap();
    let raw_pack = format!("{PACK}\n[normalize]\n{none}");
    let raw = Ruleset::compile(RulePack::from_toml(&raw_pack, "raw.toml").unwrap()).unwrap();
    assert_eq!(raw.normalize_options(), &NormalizeOptions::none());
    let engine = Engine::new(live);
    engine.set_shadow(Some(raw));
    let opts = DecodeOptions::default();
    let mut scratch = Scratch::new();
    let reject = Action::Reject { status: 0x45 };

    let spaced = ucs2("您的信 用 卡 提 額已核准");
    let v = same_both_ways(
        &engine,
        &PartInput {
            data_coding: 8,
            short_message: &spaced,
            ..PartInput::default()
        },
        &opts,
        &mut scratch,
    );
    assert_eq!(v.action, reject);
    let shadow = v.shadow.unwrap();
    assert_eq!(shadow.action, Action::Allow);
    assert!(shadow.differs);

    let wap = [0x06, 0x05, 0x04, 0x0b, 0x84, 0x23, 0xf0, 0x01, 0x06];
    let v = same_both_ways(
        &engine,
        &PartInput {
            esm_class: 0x40,
            data_coding: 4,
            short_message: &wap,
            ..PartInput::default()
        },
        &opts,
        &mut scratch,
    );
    assert_eq!(v.action, Action::Quarantine);
    assert_eq!(v.shadow.unwrap().action, Action::Quarantine);
    // The same data in message_payload is matched there.
    let v = same_both_ways(
        &engine,
        &PartInput {
            esm_class: 0x40,
            data_coding: 4,
            message_payload: Some(&wap),
            ..PartInput::default()
        },
        &opts,
        &mut scratch,
    );
    assert_eq!(v.action, Action::Quarantine);
}

/// Characters of the shapes the normalizer handles: Han (Traditional and Simplified,
/// numerals), ASCII letters, digits and punctuation, fullwidth forms, CJK punctuation,
/// invisible characters, look-alikes, emoji.
fn text_strategy() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "信", "用", "卡", "提", "額", "额", "度", "貸", "款", "驗", "證", "碼", "一", "三", "八",
        "零", "您", "的", "a", "B", "x", "0", "1", "7", " ", ".", "/", ":", "-", "，", "。", "【",
        "】", "Ａ", "ｂ", "１", "：", "\u{3000}", "\u{200b}", "\u{00ad}", "о", "é", "😀",
        "http://", "bit.ly", " dot ", "[.]", "hxxp", "www", "com", "LINE", "09", "\u{ff0e}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_ucs2_and_gsm7_parts_same_verdicts(text in text_strategy()) {
        let engine = default_engine();
        let mut scratch = Scratch::new();
        let opts = DecodeOptions::default();
        let body = ucs2(&text);
        same_both_ways(
            engine,
            &PartInput { data_coding: 8, short_message: &body, ..PartInput::default() },
            &opts,
            &mut scratch,
        );
        let ascii: String = text.chars().filter(char::is_ascii).collect();
        let body = gsm7(&ascii);
        same_both_ways(
            engine,
            &PartInput { data_coding: 0, short_message: &body, ..PartInput::default() },
            &opts,
            &mut scratch,
        );
    }
}
