use proptest::prelude::*;

use super::udh::{Ports, RawIe};
use super::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn dec(esm_class: u8, data_coding: u8, sm: &[u8]) -> DecodedPart {
    decode_part(
        &PartInput {
            esm_class,
            data_coding,
            short_message: sm,
            ..PartInput::default()
        },
        &DecodeOptions::default(),
    )
}

/// The default alphabet as printed in TS 23.038 6.2.1, row by row (0x1B shown as space).
const DEFAULT_ALPHABET: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

#[test]
fn gsm7_default_table_matches_the_specification() {
    let expected: Vec<char> = DEFAULT_ALPHABET.chars().collect();
    assert_eq!(expected.len(), 128);
    for septet in 0u8..128 {
        if septet == 0x1B {
            continue;
        }
        let d = dec(0, 0, &[septet]);
        assert_eq!(
            d.text,
            expected[usize::from(septet)].to_string(),
            "septet {septet:#04x}"
        );
    }
}

#[test]
fn gsm7_septets_equal_to_ascii_match_the_table() {
    // The copy-as-is shortcut must agree with the table for every septet it accepts.
    let mut same = 0;
    for septet in 0u8..128 {
        let text = dec(0, 0, &[septet]).text;
        if text == char::from(septet).to_string() {
            same += 1;
        }
    }
    // LF, CR, space to `#`, `%` to `?`, `A`-`Z`, `a`-`z`.
    assert_eq!(same, 2 + 4 + 27 + 26 + 26);
    assert_eq!(dec(0, 0, b"Hello, World 123?").text, "Hello, World 123?");
}

#[test]
fn ascii_septets_are_those_the_table_maps_to_themselves() {
    for s in 0..=255u8 {
        let mut text = String::new();
        let tables = gsm7::Tables::DEFAULT;
        gsm7::decode_septets(
            &[s],
            tables,
            &mut text,
            &mut Vec::new(),
            &[],
            &mut Vec::new(),
        );
        let same = s != 0x1B && text.as_bytes() == [s];
        assert_eq!(gsm7::is_ascii_septet(s), same, "septet {s:#04x}");
    }
}

#[test]
fn gsm7_extension_table() {
    let d = dec(
        0,
        0,
        &h("1b65 1b3c 1b3e 1b28 1b29 1b2f 1b3d 1b40 1b14 1b0a"),
    );
    assert_eq!(d.text, "€[]{}\\~|^\u{c}");
    assert!(d.warnings.is_empty());
    // An escape before a septet the extension table leaves undefined shows the basic
    // table's character.
    assert_eq!(dec(0, 0, &h("1b41")).text, "A");
}

#[test]
fn smpp_vectors_decode() {
    // submit_sm seq=5 'Hello' (dcs 0, unpacked).
    assert_eq!(dec(0, 0, &h("48656c6c6f")).text, "Hello");
    // data_sm seq=14: '_' is GSM 0x11, not ASCII 0x5F.
    let d = decode_part(
        &PartInput {
            data_coding: 0,
            message_payload: Some(&h("486920766961206461746111736d")),
            ..PartInput::default()
        },
        &DecodeOptions::default(),
    );
    assert_eq!(d.text, "Hi via data_sm");
    // submit_sm seq=13 UCS-2 with an emoji surrogate pair.
    let d = dec(0, 8, &h("041f044004380432043504420020d83ddc4b"));
    assert_eq!(d.text, "Привет 👋");
    assert_eq!(d.coding, Some(Coding::Ucs2));
}

#[test]
fn udh_concat_8bit_and_16bit() {
    let d = dec(0x40, 0, &h("0500032a020157696e2061204652"));
    assert_eq!(d.text, "Win a FR");
    assert_eq!(
        d.concat,
        Some(Concat {
            reference: 0x2A,
            total: 2,
            seqnum: 1,
            source: ConcatSource::Udh8
        })
    );
    assert_eq!(d.user_data, 6..14);
    let d = dec(0x40, 0, &h("0608041234030170617274206f6e65"));
    assert_eq!(d.text, "part one");
    assert_eq!(
        d.concat,
        Some(Concat {
            reference: 0x1234,
            total: 3,
            seqnum: 1,
            source: ConcatSource::Udh16
        })
    );
}

#[test]
fn sar_tlvs_give_concat() {
    let d = decode_part(
        &PartInput {
            short_message: &h("57696e2061204652"),
            sar: Some(SarInfo {
                reference: 0x0101,
                total: 2,
                seqnum: 1,
            }),
            ..PartInput::default()
        },
        &DecodeOptions::default(),
    );
    assert_eq!(d.text, "Win a FR");
    assert_eq!(
        d.concat.map(|c| (c.reference, c.source)),
        Some((0x0101, ConcatSource::Sar))
    );
}

#[test]
fn udh_and_sar_together_prefer_udh_with_a_warning() {
    let d = decode_part(
        &PartInput {
            esm_class: 0x40,
            short_message: &h("0500032a020157"),
            sar: Some(SarInfo {
                reference: 9,
                total: 2,
                seqnum: 1,
            }),
            ..PartInput::default()
        },
        &DecodeOptions::default(),
    );
    assert_eq!(d.concat.map(|c| c.reference), Some(0x2A));
    assert!(d.warnings.contains(&DecodeWarning::ConcatConflict));
}

#[test]
fn invalid_concat_values_mean_a_single_message() {
    // Vector: UDH concat total=0 -> single SM, still scanned.
    let d = dec(0x40, 0, &h("0500032a000178"));
    assert_eq!(d.concat, None);
    assert_eq!(d.text, "x");
    assert!(d.warnings.contains(&DecodeWarning::InvalidConcat {
        total: 0,
        seqnum: 1
    }));
    let d = dec(0x40, 0, &h("0500032a020378"));
    assert_eq!(d.concat, None);
    let d = dec(0x40, 0, &h("0500032a020078"));
    assert_eq!(d.concat, None);
}

#[test]
fn udh_longer_than_the_body_is_flagged() {
    // Vector: UDHL=10 with 5 octets after it.
    let d = dec(0x40, 0, &h("0a00032a0201"));
    assert!(d.warnings.contains(&DecodeWarning::UdhOverrun {
        udhl: 10,
        available: 5
    }));
    assert_eq!(d.text, "\u{FFFD}");
    assert_eq!(d.user_data, 6..6);
    // UDHI with an empty body.
    let d = dec(0x40, 0, &[]);
    assert!(matches!(
        d.warnings[0],
        DecodeWarning::UdhOverrun { udhl: 0, .. }
    ));
}

#[test]
fn udh_ports_language_and_raw_ies() {
    let d = dec(0x40, 4, &h("0c 0504 0b84 23f0 7001 aa 2401 01 0102"));
    let udh = d.udh.unwrap();
    assert_eq!(
        udh.ports,
        Some(Ports {
            destination: 0x0B84,
            source: 0x23F0
        })
    );
    assert_eq!(
        udh.other,
        [RawIe {
            iei: 0x70,
            data: vec![0xAA]
        }]
    );
    assert_eq!(udh.single_shift, Some(1));
    assert_eq!(udh.len, 13);
    assert!(d.binary);
    assert!(d.text.is_empty());
}

#[test]
fn national_language_tables() {
    // Turkish locking shift: 0x07 is dotless ı, 0x40 is İ.
    let d = dec(0x40, 0, &h("03 2501 01 0740"));
    assert_eq!(d.text, "ıİ");
    // Turkish single shift: 1B 73 is ş.
    let d = dec(0x40, 0, &h("03 2401 01 1b73"));
    assert_eq!(d.text, "ş");
    // Spanish single shift: 1B 09 is ç, 1B 61 is á.
    let d = dec(0x40, 0, &h("03 2401 02 1b09 1b61"));
    assert_eq!(d.text, "çá");
    // Portuguese locking shift differs from the default table.
    assert_ne!(dec(0x40, 0, &h("03 2501 03 04")).text, "è");
    // Hindi locking shift: 0x05 is इ.
    assert_eq!(dec(0x40, 0, &h("03 2501 06 05")).text, "इ");
    // Unknown language: default table and a warning.
    let d = dec(0x40, 0, &h("03 2501 63 41"));
    assert_eq!(d.text, "A");
    assert!(d.warnings.contains(&DecodeWarning::UnknownLanguage(0x63)));
}

#[test]
fn gsm7_packed_vectors() {
    let packed = DecodeOptions {
        default_alphabet: DefaultAlphabet::Gsm7Packed,
    };
    let p = |esm_class, sm: &[u8]| {
        decode_part(
            &PartInput {
                esm_class,
                short_message: sm,
                ..PartInput::default()
            },
            &packed,
        )
    };
    assert_eq!(p(0, &h("e8329bfd4697d9ec37")).text, "hellohello");
    assert_eq!(p(0, &h("c8329bfd06")).text, "Hello");
    // UDH then one fill bit, then packed "Hi".
    let d = p(0x40, &h("0500032a02019069"));
    assert_eq!(d.text, "Hi");
    assert_eq!(d.concat.map(|c| c.seqnum), Some(1));
    // Seven septets leave seven zero bits of padding in the last octet, which must not
    // decode as a trailing '@'.
    assert_eq!(p(0, &h("41e19058341e01")).text, "ABCDEFG");
}

#[test]
fn gsm7_hostile_input() {
    let d = dec(0, 0, &h("41 1b"));
    assert_eq!(d.text, "A\u{FFFD}");
    assert_eq!(d.warnings, [DecodeWarning::TrailingEscape]);
    let d = dec(0, 0, &h("41 ff 42"));
    assert_eq!(d.text, "A\u{FFFD}B");
    assert_eq!(d.warnings, [DecodeWarning::Gsm7HighBit]);
    let d = dec(0, 0, &h("1b ff"));
    assert_eq!(d.text, "\u{FFFD}\u{FFFD}");
}

#[test]
fn ucs2_hostile_input() {
    let d = dec(0, 8, &h("0041 00"));
    assert_eq!(d.text, "A\u{FFFD}");
    assert_eq!(d.warnings, [DecodeWarning::OddUcs2Length]);
    let d = dec(0, 8, &h("d83d 0041 dc4b"));
    assert_eq!(d.text, "\u{FFFD}A\u{FFFD}");
    assert_eq!(d.warnings, [DecodeWarning::LoneSurrogate]);
}

#[test]
fn single_byte_and_legacy_codings() {
    assert_eq!(dec(0, 1, b"Hi").text, "Hi");
    let d = dec(0, 1, &[0x48, 0xE9]);
    assert_eq!(d.text, "H\u{FFFD}");
    assert_eq!(d.warnings, [DecodeWarning::Ia5HighBit]);
    assert_eq!(dec(0, 3, &[0x63, 0x61, 0x66, 0xE9]).text, "café");
    assert_eq!(dec(0, 6, &[0xBF, 0xE0]).text, "Пр");
    assert_eq!(dec(0, 7, &[0xE0, 0xE1]).text, "אב");
    assert_eq!(dec(0, 0x0E, &h("b0a1")).text, "가");
    assert_eq!(dec(0, 5, &h("82a0")).text, "あ");
    assert_eq!(dec(0, 0x0D, &h("a4a2")).text, "あ");
    assert_eq!(dec(0, 0x0A, &h("1b2442 2422 1b2842")).text, "あ");
    let d = dec(0, 0x0E, &h("ff"));
    assert_eq!(d.warnings, [DecodeWarning::MalformedText(Coding::EucKr)]);
}

#[test]
fn default_alphabet_is_configurable() {
    let latin1 = DecodeOptions {
        default_alphabet: DefaultAlphabet::Latin1,
    };
    let input = PartInput {
        short_message: &[0x40, 0xE9],
        ..PartInput::default()
    };
    assert_eq!(decode_part(&input, &latin1).text, "@é");
    let ia5 = DecodeOptions {
        default_alphabet: DefaultAlphabet::Ia5,
    };
    assert_eq!(decode_part(&input, &ia5).coding, Some(Coding::Ascii));
    assert_eq!(
        decode_part(&input, &DecodeOptions::default()).text,
        "¡\u{FFFD}"
    );
}

#[test]
fn data_coding_table() {
    let o = DecodeOptions::default();
    let gsm = Coding::Gsm7 { packed: false };
    for (dc, coding) in [
        (0x00, gsm),
        (0x02, Coding::Binary),
        (0x04, Coding::Binary),
        (0x08, Coding::Ucs2),
        (0x09, Coding::Binary),
        (0x11, gsm),
        (0x15, Coding::Binary),
        (0x18, Coding::Ucs2),
        (0x30, Coding::Unknown(0x30)),
        (0xC0, gsm),
        (0xE1, Coding::Ucs2),
        (0xF0, gsm),
        (0xF1, gsm),
        (0xF4, Coding::Binary),
        (0x0B, Coding::Unknown(0x0B)),
        (0x80, Coding::Unknown(0x80)),
    ] {
        assert_eq!(Coding::from_data_coding(dc, &o), coding, "{dc:#04x}");
    }
}

#[test]
fn unknown_data_coding_is_binary_and_reported() {
    let d = dec(0, 0x0B, b"abc");
    assert!(d.binary);
    assert!(d.text.is_empty());
    assert_eq!(d.warnings, [DecodeWarning::UnknownDataCoding(0x0B)]);
}

#[test]
fn message_payload_is_the_body_and_both_bodies_are_flagged() {
    let d = decode_part(
        &PartInput {
            short_message: b"x",
            message_payload: Some(b"Hello from payload"),
            ..PartInput::default()
        },
        &DecodeOptions::default(),
    );
    assert_eq!(d.text, "Hello from payload");
    assert_eq!(d.warnings, [DecodeWarning::BothBodies]);
}

#[test]
fn decode_into_reuses_and_resets() {
    let mut out = DecodedPart::default();
    let o = DecodeOptions::default();
    decode_part_into(
        &PartInput {
            esm_class: 0x40,
            short_message: &h("0500032a020141"),
            ..PartInput::default()
        },
        &o,
        &mut out,
    );
    assert!(out.concat.is_some());
    decode_part_into(
        &PartInput {
            short_message: b"B",
            ..PartInput::default()
        },
        &o,
        &mut out,
    );
    assert_eq!(out.text, "B");
    assert_eq!(out.concat, None);
    assert_eq!(out.udh, None);
    assert_eq!(out.user_data, 0..1);
}

proptest! {
    #[test]
    fn decoding_never_panics_and_stays_in_bounds(
        esm_class in any::<u8>(),
        data_coding in any::<u8>(),
        sm in prop::collection::vec(any::<u8>(), 0..300),
        payload in prop::option::of(prop::collection::vec(any::<u8>(), 0..300)),
        packed in any::<bool>(),
    ) {
        let opts = DecodeOptions {
            default_alphabet: if packed { DefaultAlphabet::Gsm7Packed } else { DefaultAlphabet::Gsm7 },
        };
        let input = PartInput {
            esm_class,
            data_coding,
            short_message: &sm,
            message_payload: payload.as_deref(),
            sar: None,
        };
        let d = decode_part(&input, &opts);
        prop_assert!(d.user_data.start <= d.user_data.end && d.user_data.end <= input.body().len());
        // No text from nothing: at most one char per septet/octet plus markers.
        prop_assert!(d.text.chars().count() <= input.body().len() * 8 / 7 + 2);
    }

    #[test]
    fn ucs2_round_trips(s in any::<String>()) {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
        prop_assert_eq!(dec(0, 8, &bytes).text, s);
    }

    #[test]
    fn ucs2_wide_blocks_agree_with_the_reference(
        units in prop::collection::vec(prop_oneof![0x800u16..0xD800, 0xE000u16..=0xFFFF], 0..200),
        tail in prop::collection::vec(any::<u16>(), 0..3),
    ) {
        let bytes: Vec<u8> = units.iter().chain(&tail).flat_map(|u| u.to_be_bytes()).collect();
        let (mut fast, mut fast_warnings) = (String::new(), Vec::new());
        decode_ucs2(&bytes, &mut fast, &mut fast_warnings);
        let (mut reference, mut reference_warnings) = (String::new(), Vec::new());
        decode_utf16be(&bytes, &mut reference, &mut reference_warnings, &[], &mut Vec::new());
        prop_assert_eq!(fast, reference);
        prop_assert_eq!(fast_warnings, reference_warnings);
    }

    #[test]
    fn ucs2_fast_decoder_agrees_with_the_reference(
        units in prop::collection::vec(
            prop_oneof![any::<u16>(), 0xD800u16..0xE000, 0u16..0x80, 0x4E00u16..0xA000],
            0..80,
        ),
        odd in prop::option::of(any::<u8>()),
    ) {
        let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
        bytes.extend(odd);
        let (mut fast, mut fast_warnings) = (String::from("x"), Vec::new());
        decode_ucs2(&bytes, &mut fast, &mut fast_warnings);
        let (mut reference, mut reference_warnings) = (String::from("x"), Vec::new());
        decode_utf16be(&bytes, &mut reference, &mut reference_warnings, &[], &mut Vec::new());
        prop_assert_eq!(fast, reference);
        prop_assert_eq!(fast_warnings, reference_warnings);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The ASCII shortcut for unpacked GSM 7-bit text gives what the septet decoder gives,
    /// or declines and leaves the text as it was.
    #[test]
    fn gsm7_ascii_shortcut_agrees_with_the_septet_decoder(
        septets in prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(b"abcXYZ 019.,:/?\n".to_vec()),
                1 => prop::sample::select(vec![0x00u8, 0x02, 0x11, 0x24, 0x1B, 0x60, 0x7F, 0x5F]),
                1 => any::<u8>(),
            ],
            0..80,
        ),
        prefix in "[a-z]{0,3}",
    ) {
        let mut shortcut = prefix.clone();
        let ok = gsm7::decode_ascii_septets(&septets, &mut shortcut);
        let mut reference = prefix.clone();
        gsm7::decode_septets(
            &septets,
            gsm7::Tables::DEFAULT,
            &mut reference,
            &mut Vec::new(),
            &[],
            &mut Vec::new(),
        );
        if ok {
            prop_assert_eq!(&shortcut, &reference);
        } else {
            prop_assert_eq!(&shortcut, &prefix);
            // It declines only for septets that are no ASCII character.
            prop_assert!(!reference.is_ascii() || septets.iter().any(|&s| s >= 0x80 || s == 0x1B));
        }
    }
}
