use proptest::prelude::*;

use super::*;

fn norm(s: &str) -> String {
    Normalizer::default().normalize(s).as_str().to_owned()
}

/// The decoded text a match-text range came from.
fn quote<'a>(decoded: &'a str, m: &MatchText, needle: &str) -> &'a str {
    let at = m.as_str().find(needle).expect("needle in match text");
    let r = m.original_range(at..at + needle.len());
    &decoded[r]
}

#[test]
fn ascii_is_lower_cased_with_an_identity_map() {
    let m = Normalizer::default().normalize("Win a FREE Prize");
    assert_eq!(m.as_str(), "win a free prize");
    assert_eq!(m.original_range(6..10), 6..10);
    assert_eq!(m.segs.len(), 1);
}

#[test]
fn nfkc_folds_fullwidth_circled_and_compatibility_forms() {
    assert_eq!(norm("ＡＢＣ１２３"), "abc123");
    assert_eq!(norm("①②③"), "123");
    assert_eq!(norm("𝐅𝐑𝐄𝐄 ⓛⓞⓐⓝ"), "free loan");
    assert_eq!(norm("ｶﾈ"), "カネ");
    assert_eq!(norm("ﬁnance"), "finance");
}

#[test]
fn full_case_folding() {
    assert_eq!(norm("STRAẞE"), "strasse");
    assert_eq!(norm("ΣΩ"), "σω");
}

#[test]
fn invisible_and_format_characters_are_dropped() {
    assert_eq!(norm("FR\u{200B}EE lo\u{200D}an"), "free loan");
    assert_eq!(norm("FR\u{00AD}EE"), "free");
    assert_eq!(norm("\u{FEFF}pay\u{2060}pal\u{202E}"), "paypal");
    assert_eq!(norm("提\u{FE0F}額"), "提额");
}

#[test]
fn overlay_marks_are_dropped_but_script_marks_kept() {
    assert_eq!(norm("F\u{336}R\u{336}E\u{336}E\u{336}"), "free");
    // A combining acute composes under NFKC and stays.
    assert_eq!(norm("cafe\u{301}"), "café");
    // Devanagari vowel signs are part of the writing.
    assert_eq!(norm("हिन्दी"), "हिन्दी");
}

#[test]
fn traditional_folds_to_simplified() {
    assert_eq!(norm("提額"), "提额");
    assert_eq!(norm("貸款"), "贷款");
    assert_eq!(norm("額度"), "额度");
    assert_eq!(norm("信用卡提額"), norm("信用卡提额"));
}

#[test]
fn separators_between_han_are_collapsed() {
    for s in [
        "信 用 卡",
        "信.用.卡",
        "信-用-卡",
        "信💳用💳卡",
        "信\u{3000}用\u{3000}卡",
        "信，用，卡",
    ] {
        assert_eq!(norm(s), "信用卡", "{s}");
    }
    // Longer gaps are text, not padding.
    assert_eq!(norm("信用 ... ... 卡"), "信用 ... ... 卡");
}

#[test]
fn sentence_punctuation_between_han_is_kept() {
    assert_eq!(
        norm("您好，您的帳戶已開通。請查收"),
        "您好,您的帐户已开通。请查收"
    );
    assert_eq!(norm("提額（快速）辦理"), "提额(快速)办理");
    // Padding inside a word is removed, punctuation between words is not.
    assert_eq!(norm("信用 卡，請提-額"), "信用卡,请提额");
}

#[test]
fn common_messages_take_the_fast_path() {
    let o = NormalizeOptions::default();
    for s in [
        "您好，您的包裹已送達社區服務中心，請於三日內憑取件碼領取。如有疑問請來電洽詢，謝謝！",
        "Your parcel is waiting at the service desk. Bring your pickup code within three days. Questions? Call us, thanks!",
        "驗證碼 482913，五分鐘內有效，請勿告知他人。",
        "Meeting moved to 3pm tomorrow, room 4B. See you there :)",
    ] {
        let mut m = MatchText::default();
        assert!(fast::run(&o, s, &mut m), "{s}");
    }
}

#[test]
fn separators_between_single_letters_are_collapsed() {
    assert_eq!(norm("F.R.E.E loan"), "free loan");
    assert_eq!(norm("F R E E"), "free");
    assert_eq!(norm("l-o-a-n now"), "loan now");
    assert_eq!(norm("1 3 8 1 2 3 4 5 6 7 8"), "13812345678");
    // Two single letters are not a chain; words keep their spaces.
    assert_eq!(norm("a b testing"), "a b testing");
    assert_eq!(norm("see you at 5 pm"), "see you at 5 pm");
}

#[test]
fn confusables_fold_mixed_script_words() {
    assert_eq!(norm("Сongratulations"), "congratulations");
    assert_eq!(norm("FRЕЕ lоan"), "free loan");
    assert_eq!(norm("ΡΑΥΡΑL"), "paypal");
    assert_eq!(norm("paypa1"), "paypal");
    // Whole Cyrillic words are left alone: they are Russian, not disguised English.
    assert_eq!(norm("Привет"), "привет");
    // Digits in codes are not letters.
    assert_eq!(norm("covid19 route66"), "covid19 route66");
}

#[test]
fn leet_is_off_by_default_and_folds_when_enabled() {
    // Default: a lone 0/1 among letters is a confusable, other digits stay.
    assert_eq!(norm("FR33 L0AN"), "fr33 loan");
    let leet = Normalizer::new(NormalizeOptions {
        leet: true,
        ..NormalizeOptions::default()
    });
    assert_eq!(
        leet.normalize("FR33 L0AN fr@ud").as_str(),
        "free loan fraud"
    );
    // Phone numbers are digits only and stay digits.
    assert_eq!(
        leet.normalize("call 0791234567").as_str(),
        "call 0791234567"
    );
}

#[test]
fn digits_fold_from_other_systems_and_chinese_numerals_in_runs() {
    assert_eq!(norm("call ٠٧٩١٢٣٤٥٦٧٨"), "call 07912345678");
    assert_eq!(norm("१२३"), "123");
    assert_eq!(norm("1三8-1二3四-5六7八"), "138-1234-5678");
    assert_eq!(norm("一三八一二三四五六七八"), "13812345678");
    assert_eq!(norm("加微信〇九八七六"), "加微信09876");
    // Numerals that are words stay words.
    assert_eq!(norm("一起来"), "一起来");
    assert_eq!(norm("第三季"), "第三季");
}

#[test]
fn urls_are_deobfuscated_and_extracted() {
    let m = Normalizer::default().normalize("Visit hxxps://evil[.]example(dot)com/x now");
    assert_eq!(m.as_str(), "visit https://evil.example.com/x now");
    assert_eq!(m.urls().len(), 1);
    assert_eq!(m.urls()[0].value, "https://evil.example.com/x");
    assert_eq!(
        quote("Visit hxxps://evil[.]example(dot)com/x now", &m, "https"),
        "hxxps"
    );

    assert_eq!(norm("go to bit . ly/abc"), "go to bit.ly/abc");
    assert_eq!(norm("example dot com"), "example.com");
    assert_eq!(norm("www. example. com"), "www.example.com");
    // Prose is not a host name.
    assert_eq!(norm("Thanks. Come again"), "thanks. come again");
    assert_eq!(norm("polka dot dress"), "polka dot dress");

    let m = Normalizer::default().normalize("提額請上 Bit.ly/AbC 或 www.x-y.com.");
    let values: Vec<_> = m.urls().iter().map(|u| u.value.as_str()).collect();
    assert_eq!(values, ["bit.ly/abc", "www.x-y.com"]);
}

#[test]
fn phones_are_extracted_as_digits() {
    let text = "致電 +852 9123-4567 或 (021) 5555 1234，勿回 bit.ly/12345678";
    let m = Normalizer::default().normalize(text);
    let values: Vec<_> = m.phones().iter().map(|p| p.value.as_str()).collect();
    assert_eq!(values, ["85291234567", "02155551234"]);
    assert_eq!(&text[m.phones()[0].range.clone()], "+852 9123-4567");
    let m = Normalizer::default().normalize("ＴＥＬ：１３８ ００１３ ８０００");
    assert_eq!(m.phones()[0].value, "13800138000");
}

#[test]
fn original_range_quotes_what_the_sender_wrote() {
    let decoded = "免費 信 用 卡 提額 ＦＲ\u{200B}ＥＥ";
    let m = Normalizer::default().normalize(decoded);
    assert_eq!(m.as_str(), "免费信用卡提额 free");
    assert_eq!(quote(decoded, &m, "信用卡"), "信 用 卡");
    assert_eq!(quote(decoded, &m, "提额"), "提額");
    assert_eq!(quote(decoded, &m, "free"), "ＦＲ\u{200B}ＥＥ");
    assert_eq!(quote(decoded, &m, "免费"), "免費");
    // Out-of-range and empty ranges are clamped.
    assert_eq!(m.original_range(1000..2000), decoded.len()..decoded.len());
    assert_eq!(m.original_range(3..3), 3..3);
}

#[test]
fn steps_can_be_switched_off() {
    let none = Normalizer::new(NormalizeOptions::none());
    let s = "ＦＲ\u{200B}ＥＥ 提額 hxxp://x[.]com 信 用 卡";
    let m = none.normalize(s);
    assert_eq!(m.as_str(), s);
    assert!(m.urls().is_empty() && m.phones().is_empty());
    let no_t2s = Normalizer::new(NormalizeOptions {
        traditional_to_simplified: false,
        ..NormalizeOptions::default()
    });
    assert_eq!(no_t2s.normalize("提額").as_str(), "提額");
}

#[test]
fn options_deserialize_with_defaults_and_reject_unknown_keys() {
    let o: NormalizeOptions = serde_json::from_str(r#"{"leet": true}"#).unwrap();
    assert!(o.leet && o.nfkc && o.case_fold);
    assert!(serde_json::from_str::<NormalizeOptions>(r#"{"leetspeak": true}"#).is_err());
}

#[test]
fn literals_normalize_like_messages() {
    let n = Normalizer::default();
    assert_eq!(n.normalize_literal("提額"), "提额");
    assert_eq!(n.normalize_literal("ＦＲＥＥ"), "free");
}

#[test]
fn generated_tables_hold_known_entries() {
    use super::chars::{nd_digit, t2s};
    assert_eq!(t2s('額'), Some('额'));
    assert_eq!(t2s('貸'), Some('贷'));
    assert_eq!(t2s('髮'), Some('发'));
    assert_eq!(t2s('提'), None);
    assert_eq!(t2s('a'), None);
    // Chains are resolved: 薴 → 苧 → 苎.
    assert_eq!(t2s('薴'), Some('苎'));
    assert_eq!(nd_digit('٣'), Some('3'));
    assert_eq!(nd_digit('۹'), Some('9'));
    assert_eq!(nd_digit('५'), Some('5'));
    assert_eq!(nd_digit('a'), None);
}

#[test]
fn ascii_triggers_are_each_seen_alone() {
    // Plain sentences around one trigger each, so the quick check must see it by itself.
    for (s, want) in [
        ("visit example. com today", "visit example.com today"),
        ("visit example .com today", "visit example.com today"),
        ("visit example dot com today", "visit example.com today"),
        ("visit example(dot)com today", "visit example.com today"),
        ("open www. example today", "open www.example today"),
        ("open hxxp://example today", "open http://example today"),
        ("get F R E E stuff", "get free stuff"),
        ("it is a b c now", "it is abc now"),
        ("log in to paypa1 today", "log in to paypal today"),
        ("log in to 1paypal today", "log in to lpaypal today"),
    ] {
        let n = Normalizer::default();
        assert_eq!(n.normalize(s).as_str(), want, "{s}");
        assert_eq!(n.normalize_general(s).as_str(), want, "{s}");
    }
}

#[test]
fn ascii_triggers_are_seen_at_every_offset() {
    // Each trigger moved byte by byte across the quick check's block boundaries.
    let n = Normalizer::default();
    for (trigger, want) in [
        ("a b c", "abc"),
        ("x 7 y", "x7y"),
        ("F.R.E.E", "free"),
        ("example dot com", "example.com"),
        ("hxxp://example", "http://example"),
        ("paypa1", "paypal"),
        ("site .com", "site.com"),
    ] {
        for pad in 0..140 {
            let filler: String = "ab cd ".chars().cycle().take(pad).collect();
            let s = format!("{filler} {trigger} ok");
            let got = n.normalize(&s);
            assert_eq!(got.as_str(), n.normalize_general(&s).as_str(), "{s:?}");
            assert!(got.as_str().contains(want), "{s:?} gave {:?}", got.as_str());
        }
    }
}

#[test]
fn buffers_are_reused() {
    let n = Normalizer::default();
    let mut m = MatchText::default();
    n.normalize_into("第一條訊息 ＡＢＣ", &mut m);
    assert_eq!(m.as_str(), "第一条讯息 abc");
    n.normalize_into("hi", &mut m);
    assert_eq!(m.as_str(), "hi");
    assert_eq!(m.decoded_len(), 2);
    assert_eq!(m.original_range(0..2), 0..2);
}

/// Text built from pieces that exercise every step, so generated cases hit the
/// interesting paths more often than uniform random strings do.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a".to_owned()),
        Just("F".to_owned()),
        Just(" ".to_owned()),
        Just(".".to_owned()),
        Just("-".to_owned()),
        Just("[.]".to_owned()),
        Just("(dot)".to_owned()),
        Just(" dot ".to_owned()),
        Just("com".to_owned()),
        Just("dot".to_owned()),
        Just("(".to_owned()),
        Just(". ".to_owned()),
        Just("Www".to_owned()),
        Just("To".to_owned()),
        Just("ly".to_owned()),
        Just("/".to_owned()),
        Just("x.co/".to_owned()),
        Just("?".to_owned()),
        Just("=".to_owned()),
        Just("，".to_owned()),
        Just("\n".to_owned()),
        Just("www".to_owned()),
        Just("hxxp".to_owned()),
        Just("x".to_owned()),
        Just("h".to_owned()),
        Just("1".to_owned()),
        Just("0".to_owned()),
        Just("7".to_owned()),
        Just("三".to_owned()),
        Just("〇".to_owned()),
        Just("信".to_owned()),
        Just("額".to_owned()),
        Just("💳".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\u{336}".to_owned()),
        Just("\u{301}".to_owned()),
        Just("Ａ".to_owned()),
        Just("С".to_owned()),
        Just("о".to_owned()),
        Just("ß".to_owned()),
        Just("İ".to_owned()),
        Just("ΐ".to_owned()),
        Just("ｶ".to_owned()),
        Just("ﾞ".to_owned()),
        Just("ᄀ".to_owned()),
        Just("ᅡ".to_owned()),
        Just("٣".to_owned()),
        Just("ɑ".to_owned()),
        Just("@".to_owned()),
        Just("\u{FFFD}".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// ASCII-only text built from pieces that exercise the byte-level fast path.
fn ascii_tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a".to_owned()),
        Just("F".to_owned()),
        Just(" ".to_owned()),
        Just(".".to_owned()),
        Just(". ".to_owned()),
        Just("-".to_owned()),
        Just("[".to_owned()),
        Just("(".to_owned()),
        Just("dot".to_owned()),
        Just("com".to_owned()),
        Just("www".to_owned()),
        Just("hxxp".to_owned()),
        Just("1".to_owned()),
        Just("0".to_owned()),
        Just("7".to_owned()),
        Just("pay".to_owned()),
        Just("to".to_owned()),
        Just("In".to_owned()),
        Just("ly".to_owned()),
        Just("/".to_owned()),
        Just("x.co/".to_owned()),
        Just("?".to_owned()),
        Just("=".to_owned()),
        Just("&".to_owned()),
        Just("@".to_owned()),
        Just(":".to_owned()),
        Just("http://".to_owned()),
        Just("HTTPS://".to_owned()),
        Just(">".to_owned()),
        (0u8..128).prop_map(|b| char::from(b).to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

/// Chinese text as handsets send it, with the characters the fast path treats specially:
/// Traditional characters with a Simplified form, numerals, a Han character outside the
/// Basic Multilingual Plane, CJK and fullwidth punctuation, the ideographic space, digits
/// and ASCII words.
fn cjk_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("您好".to_owned()),
        Just("帳戶".to_owned()),
        Just("國".to_owned()),
        Just("国".to_owned()),
        Just("額度".to_owned()),
        Just("一".to_owned()),
        Just("三".to_owned()),
        Just("零".to_owned()),
        Just("九".to_owned()),
        Just("〇".to_owned()),
        Just("𠀀".to_owned()),
        Just("㐀".to_owned()),
        Just("。".to_owned()),
        Just("、".to_owned()),
        Just("「".to_owned()),
        Just("」".to_owned()),
        Just("，".to_owned()),
        Just("！".to_owned()),
        Just("．".to_owned()),
        Just("Ｘ".to_owned()),
        Just("１".to_owned()),
        Just("\u{3000}".to_owned()),
        Just(" ".to_owned()),
        Just(".".to_owned()),
        Just("-".to_owned()),
        Just("138".to_owned()),
        Just("0912345678".to_owned()),
        Just("www".to_owned()),
        Just("com".to_owned()),
        Just("dot".to_owned()),
        Just("hxxp".to_owned()),
        Just("http://".to_owned()),
        Just("a".to_owned()),
        Just("😀".to_owned()),
        Just("カ".to_owned()),
        (0x4E00u32..0xA000).prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default()),
        (0x3400u32..0x4DC0).prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Both match texts are equal: text, URLs, phone numbers, and the decoded range of every
/// range of the match text.
fn same_match_text(a: &MatchText, b: &MatchText) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.as_str(), b.as_str());
    prop_assert_eq!(a.urls(), b.urls());
    prop_assert_eq!(a.phones(), b.phones());
    prop_assert_eq!(a.decoded_len(), b.decoded_len());
    let bounds = char_bounds(a.as_str());
    for (k, &x) in bounds.iter().enumerate() {
        for &y in &bounds[k..] {
            prop_assert_eq!(
                a.original_range(x..y),
                b.original_range(x..y),
                "{}..{}",
                x,
                y
            );
        }
    }
    Ok(())
}

fn all_steps() -> NormalizeOptions {
    NormalizeOptions {
        leet: true,
        ..NormalizeOptions::default()
    }
}

/// The character boundaries of `text`, both ends included.
fn char_bounds(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

fn check_map(decoded: &str, m: &MatchText) -> Result<(), TestCaseError> {
    let bounds = char_bounds(m.as_str());
    for (k, &a) in bounds.iter().enumerate() {
        for &b in &bounds[k..] {
            let r = m.original_range(a..b);
            prop_assert!(r.start <= r.end && r.end <= decoded.len());
            prop_assert!(decoded.is_char_boundary(r.start) && decoded.is_char_boundary(r.end));
        }
    }
    for e in m.urls().iter().chain(m.phones()) {
        prop_assert!(e.range.end <= decoded.len() && e.range.start <= e.range.end);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalization_is_idempotent(s in tricky_text(), leet in any::<bool>()) {
        let n = Normalizer::new(NormalizeOptions { leet, ..NormalizeOptions::default() });
        let once = n.normalize(&s);
        let twice = n.normalize(once.as_str());
        prop_assert_eq!(once.as_str(), twice.as_str());
    }

    #[test]
    fn normalization_is_idempotent_on_any_text(s in any::<String>()) {
        let n = Normalizer::default();
        let once = n.normalize(&s);
        let twice = n.normalize(once.as_str());
        prop_assert_eq!(once.as_str(), twice.as_str());
    }

    #[test]
    fn fast_path_agrees_with_general_path(s in tricky_text(), leet in any::<bool>()) {
        let n = Normalizer::new(NormalizeOptions { leet, ..NormalizeOptions::default() });
        let fast = n.normalize(&s);
        let general = n.normalize_general(&s);
        same_match_text(&fast, &general)?;
    }

    #[test]
    fn cjk_fast_path_agrees_with_general_path(
        s in cjk_text(),
        t2s in any::<bool>(),
        nfkc in any::<bool>(),
        fold_digits in any::<bool>(),
    ) {
        let n = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: t2s,
            nfkc,
            fold_digits,
            ..NormalizeOptions::default()
        });
        let mut fast = MatchText::default();
        // Reused buffers must not change the result.
        n.normalize_into("舊的內容 old", &mut fast);
        n.normalize_into(&s, &mut fast);
        let general = n.normalize_general(&s);
        same_match_text(&fast, &general)?;
    }

    #[test]
    fn ascii_fast_path_agrees_with_general_path(s in ascii_tricky_text(), leet in any::<bool>(), case_fold in any::<bool>()) {
        let n = Normalizer::new(NormalizeOptions { leet, case_fold, ..NormalizeOptions::default() });
        let fast = n.normalize(&s);
        let general = n.normalize_general(&s);
        same_match_text(&fast, &general)?;
    }

    #[test]
    fn ascii_fast_path_agrees_across_block_boundaries(
        pad in 0usize..200,
        s in ascii_tricky_text(),
        tail in ascii_tricky_text(),
    ) {
        // The quick check judges the text in blocks of 64 bytes: a trigger placed at any
        // offset, straddling a boundary or not, must still be seen.
        let filler: String = "ab cde fg hij ".chars().cycle().take(pad).collect();
        let text = format!("{filler}{s}{filler}{tail}");
        let n = Normalizer::default();
        let fast = n.normalize(&text);
        let general = n.normalize_general(&text);
        same_match_text(&fast, &general)?;
    }

    #[test]
    fn offset_map_points_inside_the_decoded_text(s in tricky_text()) {
        let n = Normalizer::new(all_steps());
        let m = n.normalize(&s);
        check_map(&s, &m)?;
        let g = n.normalize_general(&s);
        check_map(&s, &g)?;
    }

    #[test]
    fn every_match_character_has_a_source(s in tricky_text()) {
        let m = Normalizer::default().normalize(&s);
        for (i, c) in m.as_str().char_indices() {
            let r = m.original_range(i..i + c.len_utf8());
            prop_assert!(!r.is_empty(), "{:?} at {} has no source", c, i);
        }
    }
}

/// The URLs of `decoded`, each with the decoded text its range covers.
fn urls_of(decoded: &str) -> Vec<(String, String)> {
    let m = Normalizer::default().normalize(decoded);
    m.urls()
        .iter()
        .map(|u| (u.value.clone(), decoded[u.range.clone()].to_owned()))
        .collect()
}

#[test]
fn a_scheme_or_www_starts_a_url_whatever_comes_before_it() {
    let cases: [(&str, &str, &str); 7] = [
        (
            "inbox:http://example-bank.top/x",
            "http://example-bank.top/x",
            "http://example-bank.top/x",
        ),
        (
            "here>>https://ab.cd/c now",
            "https://ab.cd/c",
            "https://ab.cd/c",
        ),
        ("me...http://x.co/y", "http://x.co/y", "http://x.co/y"),
        ("请点击http://x.cn/a", "http://x.cn/a", "http://x.cn/a"),
        ("see (www.x.com) today", "www.x.com", "www.x.com"),
        (
            "loginHTTPS://Pay.example.net/qr?id=12.",
            "https://pay.example.net/qr?id=12",
            "HTTPS://Pay.example.net/qr?id=12",
        ),
        (
            "go:www.shop-x.com/p",
            "www.shop-x.com/p",
            "www.shop-x.com/p",
        ),
    ];
    for (decoded, value, quoted) in cases {
        assert_eq!(
            urls_of(decoded),
            [(value.to_owned(), quoted.to_owned())],
            "{decoded}"
        );
        // The fast path and the reference path agree.
        let n = Normalizer::default();
        assert_eq!(
            n.normalize(decoded).urls(),
            n.normalize_general(decoded).urls()
        );
    }
    // Spans in the decoded text and in the match text.
    let decoded = "请点击http://x.cn/a。";
    let m = Normalizer::default().normalize(decoded);
    let u = &m.urls()[0];
    assert_eq!(u.range, 9..22);
    assert_eq!(&m.as_str()[u.match_range.clone()], "http://x.cn/a");
    let m = Normalizer::default().normalize("inbox:http://example-bank.top/x");
    assert_eq!(m.urls()[0].match_range, 6..31);
    assert_eq!(m.urls()[0].range, 6..31);
    // A URL glued to another keeps the first whole; the second is inside it.
    assert_eq!(
        urls_of("x:https://a.co/r?u=http://b.co/s"),
        [(
            "https://a.co/r?u=http://b.co/s".to_owned(),
            "https://a.co/r?u=http://b.co/s".to_owned()
        )]
    );
}

#[test]
fn common_chinese_messages_skip_the_watch() {
    let o = NormalizeOptions::default();
    // Made-up notices of the usual shapes: all normalized without the watch.
    for s in [
        "【星河銀行】您的驗證碼為483920，請於5分鐘內輸入，勿告知他人。",
        "您的包裹已到達信義門市，取件編號20481736，請於3/6前取件。",
        "提醒您：門診時間為12/14 17:50，如需取消請來電。",
        "週年慶全館8折，詳見 https://www.example.com.tw/sale 拒收請回覆N",
        "請加ＬＩＮＥ：ａｂｃｄｅ　謝謝",
        "一起來看看，十一月優惠",
    ] {
        assert!(fast::ucs2::takes_plain_pass(&o, &ucs2_bytes(s)), "{s}");
    }
    // What the watch acts on, or may: each goes through it, and the result is still the
    // reference's.
    for s in [
        "信 用 卡 提 額",
        "貸款 秒 批",
        "電話1三8一二三四五六七八",
        "登入paypa1帳號",
        "網址 example. com 查看",
        "hxxp://example.com 查看",
        "是，否，或",
        "貸\u{200B}款",
    ] {
        assert!(!fast::ucs2::takes_plain_pass(&o, &ucs2_bytes(s)), "{s}");
        let n = Normalizer::default();
        let mut decoded = DecodedPart::default();
        let mut m = MatchText::default();
        let data = ucs2_bytes(s);
        let part = PartInput {
            data_coding: 8,
            short_message: &data,
            ..PartInput::default()
        };
        n.decode_normalize_into(&part, &DecodeOptions::default(), &mut decoded, &mut m);
        let mut reference = MatchText::default();
        n.normalize_reference_into(s, &mut reference);
        assert_eq!(m.as_str(), reference.as_str(), "{s}");
    }
}

#[test]
fn a_bare_host_does_not_start_mid_word() {
    assert!(urls_of("open myfile.txt now").is_empty());
    assert_eq!(
        urls_of("open myshop.com now"),
        [("myshop.com".to_owned(), "myshop.com".to_owned())]
    );
    // A bare host after a colon or slash still does not start there.
    assert!(
        urls_of("ref:abc.xyz-1/2")
            .iter()
            .all(|(v, _)| v != "abc.xyz-1/2")
    );
}

fn ucs2_bytes(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

#[test]
fn chinese_ucs2_parts_take_the_code_unit_path() {
    let o = NormalizeOptions::default();
    for s in [
        "您好，您的包裹已送達社區服務中心，請於三日內憑取件碼領取。如有疑問請來電洽詢，謝謝！",
        "驗證碼 482913，五分鐘內有效，請勿告知他人。",
        "【銀行】您的額度已調整，詳情請洽 0800-123-456。",
        "Your code is 4821. Reply STOP to stop.",
        "",
    ] {
        let (mut text, mut m) = (String::new(), MatchText::default());
        assert!(
            fast::ucs2::run(&o, &ucs2_bytes(s), &mut text, &mut m),
            "{s}"
        );
        assert_eq!(text, s);
    }
    // Kana, accented letters, emoji, a lone surrogate and an odd octet are left to the
    // two-step path.
    for data in [
        ucs2_bytes("カード"),
        ucs2_bytes("café"),
        ucs2_bytes("您好😀"),
        vec![0x4F, 0x60, 0xD8, 0x00],
        vec![0x4F, 0x60, 0x59],
    ] {
        let (mut text, mut m) = (String::new(), MatchText::default());
        assert!(!fast::ucs2::run(&o, &data, &mut text, &mut m), "{data:x?}");
    }
}

#[test]
fn decode_normalize_gives_what_the_two_steps_give() {
    let n = Normalizer::default();
    let opts = DecodeOptions::default();
    let zh = ucs2_bytes("親愛的客戶，您的帳戶額度已提高，請登入 www.example.com 查看。");
    // 8-bit reference concatenation UDH, part 1 of 2.
    let mut with_udh = vec![0x05, 0x00, 0x03, 0x2A, 0x02, 0x01];
    with_udh.extend_from_slice(&zh);
    let gsm = b"Hello there".to_vec();
    let cases = [
        (0x00, 8, zh.as_slice()),
        (0x40, 8, with_udh.as_slice()),
        (0x40, 8, &[0x0A, 0x00, 0x03][..]),
        (0x00, 0, gsm.as_slice()),
        (0x00, 4, gsm.as_slice()),
    ];
    let (mut d1, mut m1) = (DecodedPart::default(), MatchText::default());
    let (mut d2, mut m2) = (DecodedPart::default(), MatchText::default());
    for (esm_class, data_coding, sm) in cases {
        let input = PartInput {
            esm_class,
            data_coding,
            short_message: sm,
            ..PartInput::default()
        };
        n.decode_normalize_into(&input, &opts, &mut d1, &mut m1);
        crate::decode_part_into(&input, &opts, &mut d2);
        n.normalize_into(&d2.text, &mut m2);
        assert_eq!(d1, d2);
        assert_eq!(m1.as_str(), m2.as_str());
        assert_eq!(m1.urls(), m2.urls());
        assert_eq!(m1.phones(), m2.phones());
    }
    let input = PartInput {
        data_coding: 8,
        short_message: &zh,
        ..PartInput::default()
    };
    n.decode_normalize_into(&input, &opts, &mut d1, &mut m1);
    assert_eq!(
        m1.as_str(),
        "亲爱的客户,您的帐户额度已提高,请登入 www.example.com 查看。"
    );
    assert_eq!(m1.urls()[0].value, "www.example.com");
    let at = m1.as_str().find("额度").expect("in the match text");
    assert_eq!(&d1.text[m1.original_range(at..at + 6)], "額度");
}

/// UCS-2 code units as handsets send them: Han (with Traditional characters and
/// numerals), ASCII, CJK and fullwidth punctuation, the ideographic space. Half the
/// cases also mix in units that must leave the code-unit path: zero-width characters,
/// kana, Latin-1 letters, surrogates (paired or not) and any unit at all.
fn ucs2_units() -> impl Strategy<Value = Vec<u16>> {
    let common = || {
        prop_oneof![
            4 => 0x4E00u16..0xA000,
            1 => 0x3400u16..0x4DC0,
            2 => prop::sample::select(vec![
                0x570B, 0x984D, 0x5E33, 0x8CB8, 0x4E00, 0x4E09, 0x96F6, 0x516B,
            ]),
            2 => 0x20u16..0x7F,
            2 => prop::sample::select(vec![
                0x2E, 0x20, 0x2D, 0x5B, 0x28, 0x31, 0x30, 0x77, 0x64, 0x6F, 0x74, 0x3A, 0x2F,
            ]),
            1 => 0x3000u16..0x3020,
            1 => 0xFF01u16..0xFF5F,
        ]
    };
    let exotic = prop_oneof![
        prop::sample::select(vec![
            0x200B, 0x200D, 0xFEFF, 0x00AD, 0x30AB, 0x00E9, 0x0421, 0xFFFD
        ]),
        0xD800u16..0xE000,
        any::<u16>(),
    ];
    let mixed = prop_oneof![8 => common(), 1 => exotic];
    prop_oneof![
        prop::collection::vec(common(), 0..60),
        prop::collection::vec(mixed, 0..60),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn ucs2_code_unit_path_agrees_with_the_reference(
        units in ucs2_units(),
        odd in any::<Option<u8>>(),
        t2s in any::<bool>(),
        nfkc in any::<bool>(),
        case_fold in any::<bool>(),
        fold_digits in any::<bool>(),
        leet in any::<bool>(),
    ) {
        let n = Normalizer::new(NormalizeOptions {
            traditional_to_simplified: t2s,
            nfkc,
            case_fold,
            fold_digits,
            leet,
            ..NormalizeOptions::default()
        });
        let mut sm: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        sm.extend(odd);
        let input = PartInput { data_coding: 8, short_message: &sm, ..PartInput::default() };
        let opts = DecodeOptions::default();
        // Reused buffers must not change the result.
        let mut fused_decoded = DecodedPart::default();
        let mut fused = MatchText::default();
        n.decode_normalize_into(
            &PartInput { data_coding: 8, short_message: &ucs2_bytes("舊的內容 old"), ..PartInput::default() },
            &opts,
            &mut fused_decoded,
            &mut fused,
        );
        n.decode_normalize_into(&input, &opts, &mut fused_decoded, &mut fused);
        let decoded = crate::decode_part(&input, &opts);
        prop_assert_eq!(&fused_decoded, &decoded);
        let mut reference = MatchText::default();
        n.normalize_reference_into(&decoded.text, &mut reference);
        same_match_text(&fused, &reference)?;
    }
}

#[test]
fn a_sentence_starting_with_a_word_tld_is_not_a_host_name() {
    let text = "Your bill is ready. To pay, open the app. In case of doubt call us. Me too.";
    let n = Normalizer::default();
    let m = n.normalize(text);
    assert_eq!(m.as_str(), text.to_ascii_lowercase());
    assert!(m.urls().is_empty());
    // It stays on the fast path.
    let mut fast_out = MatchText::default();
    assert!(fast::run(n.options(), text, &mut fast_out));
    // A path after the label, a TLD that is no everyday word, or a space before the dot
    // still make a host name.
    for (text, host) in [
        ("go to bit. to/x now", "bit.to/x"),
        ("see bit. ly today", "bit.ly"),
        ("visit shop .top now", "shop.top"),
        ("visit shop . in now", "shop.in"),
        ("open example dot me now", "example.me"),
    ] {
        let m = n.normalize(text);
        assert_eq!(
            m.urls()
                .iter()
                .map(|u| u.value.as_str())
                .collect::<Vec<_>>(),
            [host],
            "{text}"
        );
    }
}

#[test]
fn single_character_parts_of_urls_are_not_joined() {
    let n = Normalizer::default();
    for (text, url) in [
        ("Pay at example.com/q?a=1 today", "example.com/q?a=1"),
        (
            "see https://x.co/a/b/c?d=1&e=2 now",
            "https://x.co/a/b/c?d=1&e=2",
        ),
        ("go www.shop.cn/p?i=9&j=0", "www.shop.cn/p?i=9&j=0"),
        ("請點擊 example.com/q?a=1 領取", "example.com/q?a=1"),
    ] {
        for m in [n.normalize(text), n.normalize_general(text)] {
            assert!(m.as_str().contains(url), "{text}: {}", m.as_str());
            assert_eq!(
                m.urls()
                    .iter()
                    .map(|u| u.value.as_str())
                    .collect::<Vec<_>>(),
                [url],
                "{text}"
            );
        }
    }
    // Outside URLs single letters still join.
    assert_eq!(
        norm("F.R.E.E gift at x.co/a?b=1"),
        "free gift at x.co/a?b=1"
    );
    // An ASCII message with such a URL stays on the fast path.
    let mut m = MatchText::default();
    assert!(fast::run(
        n.options(),
        "Pay at example.com/q?a=1&b=2 today",
        &mut m
    ));
}

/// Phone numbers found by trying `phone_at` at every byte outside a URL, as extraction
/// did before it skipped to candidate bytes: the reference for `phone_spans`.
fn phones_at_every_byte(text: &[u8], urls: &[Extracted]) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let inside_url = urls.iter().any(|u| u.match_range.contains(&i));
        match (!inside_url).then(|| extract::phone_at(text, i)).flatten() {
            Some(r) => {
                i = r.end;
                found.push(r);
            }
            None => i += 1,
        }
    }
    found
}

/// Text dense in digits, number punctuation and URLs.
fn phone_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "0",
        "1",
        "2",
        "5",
        "9",
        "09",
        "886",
        "12345",
        " ",
        "  ",
        "-",
        ".",
        "(",
        ")",
        "+",
        "/",
        "a",
        "x",
        "電",
        "，",
        "http://x.co/",
        "a1.com/",
        "www.b",
        "0912345678",
        "+886 2 ",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn phone_search_skips_nothing_it_would_find(s in phone_text()) {
        let n = Normalizer::default();
        let m = n.normalize(&s);
        let text = m.as_str().as_bytes();
        let mut got = Vec::new();
        extract::phone_spans(text, m.urls(), |r| got.push(r));
        prop_assert_eq!(&got, &phones_at_every_byte(text, m.urls()));
        let ranges: Vec<_> = m.phones().iter().map(|p| p.match_range.clone()).collect();
        if text.iter().filter(|b| b.is_ascii_digit()).count() >= 7 {
            prop_assert_eq!(&ranges, &got);
        }
        for p in m.phones() {
            let digits: String = m.as_str()[p.match_range.clone()]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            prop_assert_eq!(&p.value, &digits);
        }
    }

    #[test]
    fn extracted_values_do_not_depend_on_the_previous_message(
        first in phone_text(),
        s in phone_text(),
    ) {
        let n = Normalizer::default();
        let mut reused = MatchText::default();
        n.normalize_into(&first, &mut reused);
        n.normalize_into(&s, &mut reused);
        let fresh = n.normalize(&s);
        prop_assert_eq!(reused.urls(), fresh.urls());
        prop_assert_eq!(reused.phones(), fresh.phones());
        // Fewer values than the message before: only this message's are listed.
        n.normalize_into("no links, no numbers", &mut reused);
        prop_assert!(reused.urls().is_empty() && reused.phones().is_empty());
    }
}

/// Text with invisible characters between and inside the pieces the fast paths handle.
fn invisible_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "\u{200B}",
        "\u{200C}",
        "\u{200D}",
        "\u{2060}",
        "\u{FEFF}",
        "\u{00AD}",
        "\u{FE0F}",
        "\u{202E}",
        "\u{E0041}",
        "信",
        "用",
        "卡",
        "提",
        "額",
        "三",
        "八",
        "a",
        "x",
        "h",
        "p",
        "dot",
        "0",
        "1",
        "9",
        " ",
        ".",
        "/",
        ":",
        "[",
        "，",
        "。",
        "Ａ",
        "ｘ",
        "\u{3000}",
        "❤",
        "😀",
        "é",
        "\u{301}",
        "bit.ly/",
        "hxxp",
        "hx",
        "xp",
        "do",
        "t",
        "w",
        "ww",
        "hx\u{200B}xp",
        " d\u{200B}ot ",
        "w\u{00AD}ww.",
        "pay\u{200B}pa1",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn fast_paths_drop_invisible_characters_as_the_reference_does(
        s in invisible_text(),
        strip_invisible in any::<bool>(),
        collapse_separators in any::<bool>(),
    ) {
        let n = Normalizer::new(NormalizeOptions {
            strip_invisible,
            collapse_separators,
            ..NormalizeOptions::default()
        });
        let mut reference = MatchText::default();
        n.normalize_reference_into(&s, &mut reference);
        same_match_text(&n.normalize(&s), &reference)?;
        // The same text in UCS-2, through the code-unit path.
        let sm = ucs2_bytes(&s);
        let input = PartInput { data_coding: 8, short_message: &sm, ..PartInput::default() };
        let mut decoded = DecodedPart::default();
        let mut fused = MatchText::default();
        n.decode_normalize_into(&input, &DecodeOptions::default(), &mut decoded, &mut fused);
        prop_assert_eq!(&decoded.text, &s);
        same_match_text(&fused, &reference)?;
    }
}

#[test]
fn invisible_characters_stay_on_the_fast_path() {
    let n = Normalizer::default();
    for (text, matched) in [
        ("信用\u{200B}卡提\u{200D}額，請洽", "信用卡提额,请洽"),
        ("點此\u{FEFF} bit.ly/ab 領取", "点此 bit.ly/ab 领取"),
        ("❤\u{FE0F} 信用卡", "❤ 信用卡"),
        ("ｆｒｅｅ\u{200B} 貸款", "free 贷款"),
    ] {
        let mut m = MatchText::default();
        assert!(fast::run(n.options(), text, &mut m), "{text:?}");
        assert_eq!(m.as_str(), matched);
    }
    // A quote of the words around one holds it, as the sender wrote them.
    let text = "信用\u{200B}卡提\u{200D}額，請洽";
    assert_eq!(
        quote(text, &n.normalize(text), "信用卡提额"),
        "信用\u{200B}卡提\u{200D}額"
    );
    // A run of letters split by one goes to the general path, which joins it.
    let mut m = MatchText::default();
    assert!(!fast::run(n.options(), "hx\u{200B}xp://a", &mut m));
    assert_eq!(norm("hx\u{200B}xp://a"), "http://a");
}

/// Han characters spaced out and mixed with single letters and digits, numerals, words and
/// separators of every kind the fast paths pass through.
fn spaced_han_text() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "信",
        "用",
        "卡",
        "提",
        "額",
        "额",
        "貸",
        "款",
        "一",
        "三",
        "八",
        "零",
        "〇",
        "㐀",
        "𠀀",
        "a",
        "b",
        "x",
        "1",
        "0",
        "7",
        "ab",
        "12",
        "dot",
        "com",
        " ",
        " ",
        " ",
        "  ",
        "   ",
        "    ",
        "     ",
        ".",
        "-",
        "*",
        "/",
        "_",
        "~",
        "，",
        "、",
        "。",
        "：",
        "\u{3000}",
        "＊",
        "－",
        "【",
        "】",
        "😀",
        "❤",
        "\u{200B}",
        "!",
        "?",
        ":",
        "(",
        ")",
        "[",
        "http://a.co/",
        "bit.ly",
        "www",
        "Ａ",
        "ｂ",
        "\n",
    ]);
    prop::collection::vec(piece, 0..48).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn fast_paths_collapse_spaced_han_as_the_reference_does(
        s in spaced_han_text(),
        collapse_separators in any::<bool>(),
        fold_digits in any::<bool>(),
        t2s in any::<bool>(),
    ) {
        let n = Normalizer::new(NormalizeOptions {
            collapse_separators,
            fold_digits,
            traditional_to_simplified: t2s,
            ..NormalizeOptions::default()
        });
        let mut reference = MatchText::default();
        n.normalize_reference_into(&s, &mut reference);
        let mut fast = MatchText::default();
        n.normalize_into("舊的 內 容 old", &mut fast);
        n.normalize_into(&s, &mut fast);
        same_match_text(&fast, &reference)?;
        let sm = ucs2_bytes(&s);
        let input = PartInput { data_coding: 8, short_message: &sm, ..PartInput::default() };
        let mut decoded = DecodedPart::default();
        let mut fused = MatchText::default();
        n.decode_normalize_into(&input, &DecodeOptions::default(), &mut decoded, &mut fused);
        prop_assert_eq!(&decoded.text, &s);
        same_match_text(&fused, &reference)?;
    }
}

#[test]
fn spaced_han_stays_on_the_fast_path() {
    let n = Normalizer::default();
    for (text, matched) in [
        ("信 用 卡 提 額 專案，詳洽", "信用卡提额专案,详洽"),
        ("信.用.卡 額-度", "信用卡额度"),
        ("貸\u{3000}款 😀 秒 批", "贷款秒批"),
        ("信 用 卡 ok", "信用卡 ok"),
    ] {
        let mut m = MatchText::default();
        assert!(fast::run(n.options(), text, &mut m), "{text:?}");
        assert_eq!(m.as_str(), matched, "{text:?}");
        assert_eq!(norm(text), matched);
    }
    // Quoted as written, separators included.
    let text = "您的信 用 卡可提 額";
    assert_eq!(quote(text, &n.normalize(text), "信用卡"), "信 用 卡");
    // A chain with a single letter, and numerals, go to the general path.
    for text in ["a 信 用", "信 用 a", "一 三 八 一 二 三 四 五", "1 三 八"] {
        let mut m = MatchText::default();
        assert!(!fast::run(n.options(), text, &mut m), "{text:?}");
        assert_eq!(norm(text), n.normalize_general(text).as_str());
    }
}

#[test]
fn defanging_across_a_fullwidth_letter_and_an_ascii_run() {
    for leet in [false, true] {
        let n = Normalizer::new(NormalizeOptions {
            leet,
            ..NormalizeOptions::default()
        });
        for s in [
            "\u{80}Ｈxxp:/\u{808}",
            "Ｈxxp://a.b",
            "ｈＸxp://a.b",
            "go ｄot com",
            "\u{3000}ｄot com",
            "Ｈx\u{200B}xp://a",
        ] {
            let mut reference = MatchText::default();
            n.normalize_reference_into(s, &mut reference);
            assert_eq!(n.normalize(s).as_str(), reference.as_str(), "{s:?}");
        }
    }
}
