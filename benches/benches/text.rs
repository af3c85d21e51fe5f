//! Text layer hot path: decode + normalize of a full single-part message.
//!
//! The target is 2 million messages per second per core for the common case: a 70-character
//! UCS-2 Chinese message and a 160-character GSM 7-bit message, neither of which triggers
//! an exotic normalization step. `general_path` shows the cost when one does.
//!
//! `…/decode_normalize` is the same work through `Normalizer::decode_normalize_into`, which
//! normalizes UCS-2 text straight from its code units in the pass that decodes it.
//!
//! `…/decode+reference` runs the reference normalizer (every step over every character,
//! no fast path) after the same decoding, so the fast path's gain is measured in one run.
//!
//! Each case runs twice: `text/…` measures wall time, `text-cpu/…` the benchmark thread's
//! CPU time, which stays meaningful when other processes share the cores.
//!
//! `reassembly/push_3part_ucs2` pushes the three parts of a UCS-2 message (8-bit
//! concatenation UDH) into a `Reassembler`, the third completing it: the steady-state cost
//! of one multi-part message in the reassembler, decoding done beforehand.
//!
//! Run: `cargo bench -p smppguard-benches --bench text`

#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::Measurement;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smppguard_text::{
    DecodeOptions, DecodedPart, MatchText, NormalizeOptions, Normalizer, PartInput, PartKey,
    PushOutcome, Reassembler, ReassemblyLimits, decode_part, decode_part_into,
};
use thread_cpu::ThreadCpu;

/// 70 characters of Traditional Chinese account-notice text.
const ZH: &str = "親愛的客戶您好，您的帳戶本月帳單已經產生，請於繳款截止日前完成繳款，以免產生延滯費用。如有任何的疑問請洽客服專線，非常謝謝您長久支持與愛護。";
/// 160 characters of English account-notice text.
const EN: &str = "Dear customer, your statement for this month is ready. Log in to the app to review recent activity and keep your contact details up to date. Reply STOP to stop.";
/// A 272-character English notice, sent in `message_payload`: long messages cost in
/// proportion, and a sentence that starts with a word that is also a top-level domain
/// (`To`) is text, not a host name.
const EN_LONG: &str = "Dear customer, your March statement is now available. The balance of 1,284.50 is due on the 28th and will be paid by direct debit from your account. To review the details or change the payment date, sign in to online banking. In case of questions call us on 0800 123 4567.";
/// An 87-character Traditional Chinese notice with numerals, sent in `message_payload`.
const ZH_LONG: &str = "親愛的會員您好，本行將於下週六凌晨二時至六時進行系統維護，期間網路銀行及行動銀行將暫停服務，造成不便敬請見諒。如需協助請撥打客服專線，或前往鄰近分行洽詢，感謝您的支持與配合。";
/// Text that takes the general path: fullwidth letters, a zero-width space, a Cyrillic
/// look-alike, a defanged URL and spaced-out Han characters.
const EXOTIC: &str =
    "ＦＲＥＥ gift\u{200B} for yоu: hxxp://gift[.]example(dot)com 信 用 卡 提 額 ٠٧٩١٢٣٤٥٦٧";

/// Common evasion shapes of fraud messages (made up for the benchmark), measured through
/// the one call and the two steps only: zero-width spaces inside Chinese keywords with a
/// fullwidth contact id; Han characters spaced out (the separator collapsing of the
/// general path); a Chinese notice with a link; a GSM 7-bit English lure with a link, an
/// amount and a phone number.
const ZH_ZERO_WIDTH: &str = "恭喜您的信用\u{200B}卡已獲提\u{200B}額資格，額度提升至五十萬，請加賴\u{200B}ＩＤ：ｌｏａｎ８８ 由專員為您辦理";
const ZH_SPACED: &str = "信 用 卡 提 額 專案，免審核最快當日核准，詳洽 0912345678";
const ZH_LINK: &str = "拾光百貨週年慶全館8折起，會員再享滿千送百，活動至12/31止，詳情請見官網 https://www.example.com.tw/sale 拒收請回覆N";
const EN_LINK: &str = "USPS: your package is on hold due to an unpaid customs fee of $1.99. Pay now at https://bit.ly/3xYz9Q or call 0800 123 456.";

fn ucs2(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// GSM 7-bit unpacked: every character of `EN` is in the default table at its ASCII code,
/// except these.
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

fn bench_wall(c: &mut Criterion) {
    bench(c, "text");
    bench_reassembly(c);
}

/// Three UCS-2 parts of one message behind an 8-bit concatenation UDH, pushed in order.
fn bench_reassembly(c: &mut Criterion) {
    let chars: Vec<char> = ZH.chars().chain(ZH_LONG.chars()).collect();
    let bodies: Vec<Vec<u8>> = chars
        .chunks(chars.len().div_ceil(3))
        .zip(1u8..)
        .map(|(chunk, seqnum)| {
            let mut sm = vec![0x05, 0x00, 0x03, 0x2a, 0x03, seqnum];
            sm.extend(ucs2(&chunk.iter().collect::<String>()));
            sm
        })
        .collect();
    let inputs: Vec<PartInput<'_>> = bodies
        .iter()
        .map(|sm| PartInput {
            esm_class: 0x40,
            data_coding: 8,
            short_message: sm,
            message_payload: None,
            sar: None,
        })
        .collect();
    let decoded: Vec<DecodedPart> = inputs
        .iter()
        .map(|i| decode_part(i, &DecodeOptions::default()))
        .collect();
    let key = PartKey {
        account: "esme01".to_owned(),
        source_addr: "447700900001".to_owned(),
        destination_addr: "447700900002".to_owned(),
    };
    let mut r: Reassembler<u64> = Reassembler::new(ReassemblyLimits::default());
    let mut g = c.benchmark_group("reassembly");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(3));
    g.bench_function("push_3part_ucs2", |b| {
        let mut now = 0u64;
        b.iter(|| {
            now += 1;
            let mut done = 0;
            for (token, (input, part)) in (0u64..).zip(inputs.iter().zip(&decoded)) {
                if let PushOutcome::Complete(m) = r.push(&key, input, part, token, now) {
                    done += m.text.len();
                }
            }
            black_box(done)
        })
    });
    g.finish();
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    bench(c, "text-cpu");
}

fn bench<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let opts = DecodeOptions::default();
    let normalizer = Normalizer::new(NormalizeOptions::default());
    let zh = ucs2(ZH);
    let en = gsm7(EN);
    let exotic = ucs2(EXOTIC);
    let en_long = gsm7(EN_LONG);
    let zh_long = ucs2(ZH_LONG);
    let zh_zero_width = ucs2(ZH_ZERO_WIDTH);
    let zh_spaced = ucs2(ZH_SPACED);
    let zh_link = ucs2(ZH_LINK);
    let en_link = gsm7(EN_LINK);
    // (name, data_coding, body, in message_payload, every variant or the two main ones)
    let cases: [(&str, u8, &[u8], bool, bool); 9] = [
        ("ucs2_zh_70", 8, &zh, false, true),
        ("gsm7_en_160", 0, &en, false, true),
        ("general_path", 8, &exotic, false, true),
        ("payload_gsm7_en_272", 0, &en_long, true, true),
        ("payload_ucs2_zh_87", 8, &zh_long, true, true),
        ("ucs2_zh_zero_width", 8, &zh_zero_width, false, false),
        ("ucs2_zh_spaced", 8, &zh_spaced, false, false),
        ("ucs2_zh_link", 8, &zh_link, false, false),
        ("gsm7_en_link", 0, &en_link, false, false),
    ];

    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(2));
    g.sample_size(30);
    for (name, data_coding, body, payload, every) in cases {
        let input = PartInput {
            data_coding,
            short_message: if payload { &[] } else { body },
            message_payload: payload.then_some(body),
            ..PartInput::default()
        };
        let mut decoded = DecodedPart::default();
        let mut matched = MatchText::default();
        g.bench_function(format!("{name}/decode+normalize"), |b| {
            b.iter(|| {
                decode_part_into(black_box(&input), &opts, &mut decoded);
                normalizer.normalize_into(&decoded.text, &mut matched);
                black_box(matched.len())
            })
        });
        g.bench_function(format!("{name}/decode_normalize"), |b| {
            b.iter(|| {
                normalizer.decode_normalize_into(
                    black_box(&input),
                    &opts,
                    &mut decoded,
                    &mut matched,
                );
                black_box(matched.len())
            })
        });
        if !every {
            continue;
        }
        g.bench_function(format!("{name}/decode"), |b| {
            b.iter(|| {
                decode_part_into(black_box(&input), &opts, &mut decoded);
                black_box(decoded.text.len())
            })
        });
        g.bench_function(format!("{name}/decode+reference"), |b| {
            b.iter(|| {
                decode_part_into(black_box(&input), &opts, &mut decoded);
                normalizer.normalize_reference_into(&decoded.text, &mut matched);
                black_box(matched.len())
            })
        });
        decode_part_into(&input, &opts, &mut decoded);
        let text = decoded.text.clone();
        g.bench_function(format!("{name}/normalize"), |b| {
            b.iter(|| {
                normalizer.normalize_into(black_box(&text), &mut matched);
                black_box(matched.len())
            })
        });
    }
    g.finish();
}

criterion_group!(wall, bench_wall);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_main!(wall, cpu);
