use proptest::prelude::*;
use smppguard_codec::{Body, CommandStatus, Pdu};
use smppguard_text::{ConcatSource, DecodeOptions, PartInput, SarInfo, decode_part};

use super::*;

/// The frame of `body` with `seq`, as hex.
fn frame_hex(body: Body, seq: u32) -> String {
    hex::encode(Pdu::new(body, CommandStatus::ESME_ROK, seq).to_bytes())
}

const ADDRS: &str = "000101343437373030393030303031000101343437373030393030303032";

#[test]
fn gsm7_single_part_matches_reference_vector() {
    let sm = Sms::gsm7("Hello")
        .unwrap()
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    assert_eq!(
        frame_hex(Body::SubmitSm(sm), 5),
        format!("0000003e000000040000000000000005{ADDRS}000000000000010000000548656c6c6f")
    );
}

#[test]
fn alphanumeric_sender_matches_reference_vector() {
    let sm = Sms::gsm7("Hello")
        .unwrap()
        .from_alphanumeric("ACME")
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    assert_eq!(
        frame_hex(Body::SubmitSm(sm), 6),
        "00000036000000040000000000000006\
         00050041434d45000101343437373030393030303032000000000000010000000548656c6c6f"
    );
}

#[test]
fn udh8_parts_match_reference_vectors() {
    let parts = Sms::gsm7("Win a FREE prize")
        .unwrap()
        .registered_delivery(1)
        .split_at(Concat::Udh8 { reference: 0x2A }, &[8])
        .unwrap();
    let hexes: Vec<String> = parts
        .into_iter()
        .zip([8, 9])
        .map(|(sm, seq)| frame_hex(Body::SubmitSm(sm), seq))
        .collect();
    assert_eq!(
        hexes,
        [
            format!(
                "00000047000000040000000000000008{ADDRS}004000000000010000000e0500032a020157696e2061204652"
            ),
            format!(
                "00000047000000040000000000000009{ADDRS}004000000000010000000e0500032a02024545207072697a65"
            ),
        ]
    );
}

#[test]
fn udh16_part_matches_reference_vector() {
    let parts = Sms::gsm7("part onepart twopart three")
        .unwrap()
        .registered_delivery(1)
        .split_at(Concat::Udh16 { reference: 0x1234 }, &[8, 16])
        .unwrap();
    assert_eq!(parts.len(), 3);
    assert_eq!(
        frame_hex(Body::SubmitSm(parts[0].clone()), 10),
        format!(
            "0000004800000004000000000000000a{ADDRS}004000000000010000000f0608041234030170617274206f6e65"
        )
    );
}

#[test]
fn sar_part_matches_reference_vector() {
    let parts = Sms::gsm7("Win a FREE prize")
        .unwrap()
        .registered_delivery(1)
        .split_at(Concat::Sar { reference: 0x0101 }, &[8])
        .unwrap();
    assert_eq!(
        frame_hex(Body::SubmitSm(parts[0].clone()), 11),
        format!(
            "0000005100000004000000000000000b{ADDRS}000000000000010000000857696e2061204652\
             020c00020101020e000102020f000101"
        )
    );
    assert_eq!(parts[1].tlvs.sar_segment_seqnum(), Some(2));
}

#[test]
fn payload_matches_reference_vector() {
    let sm = Sms::gsm7("Hello from payload")
        .unwrap()
        .registered_delivery(1)
        .submit_sm_payload()
        .unwrap();
    assert_eq!(
        frame_hex(Body::SubmitSm(sm), 12),
        format!(
            "0000004f00000004000000000000000c{ADDRS}00000000000001000000000424001248656c6c6f2066726f6d207061796c6f6164"
        )
    );
}

#[test]
fn ucs2_matches_reference_vector() {
    let sm = Sms::ucs2("Привет 👋")
        .registered_delivery(1)
        .submit_sm()
        .unwrap();
    assert_eq!(
        frame_hex(Body::SubmitSm(sm), 13),
        format!(
            "0000004b00000004000000000000000d{ADDRS}0000000000000100080012041f044004380432043504420020d83ddc4b"
        )
    );
}

#[test]
fn data_sm_matches_reference_vector() {
    let sm = Sms::gsm7("Hi via data_sm")
        .unwrap()
        .registered_delivery(1)
        .data_sm()
        .unwrap();
    assert_eq!(
        frame_hex(Body::DataSm(sm), 14),
        format!(
            "0000004400000103000000000000000e{ADDRS}000001000424000e486920766961206461746111736d"
        )
    );
}

#[test]
fn gsm7_extension_characters_take_two_septets_and_are_never_split() {
    let sms = Sms::gsm7("a€b{c").unwrap();
    assert_eq!(sms.user_data(), b"a\x1b\x65b\x1b\x28c");
    assert_eq!(sms.char_count(), 5);
    let parts = sms.split_at(Concat::Sar { reference: 1 }, &[2]).unwrap();
    assert_eq!(parts[0].short_message.as_bytes(), b"a\x1b\x65");
    assert_eq!(parts[1].short_message.as_bytes(), b"b\x1b\x28c");
    assert_eq!(
        Sms::gsm7("ok\u{1b}"),
        Err(BuildError::NotGsm7 {
            ch: '\u{1b}',
            position: 2
        })
    );
    assert_eq!(
        Sms::gsm7("信用卡"),
        Err(BuildError::NotGsm7 {
            ch: '信',
            position: 0
        })
    );
}

#[test]
fn surrogate_pairs_stay_whole() {
    let sms = Sms::ucs2("a👋b");
    assert_eq!(sms.char_count(), 3);
    let parts = sms.split(Concat::Udh8 { reference: 1 }, 3).unwrap();
    assert_eq!(
        &parts[1].short_message.as_bytes()[6..],
        &[0xd8, 0x3d, 0xdc, 0x4b]
    );
}

#[test]
fn segments_follow_air_interface_capacity() {
    let text = "x".repeat(161);
    let parts = Sms::gsm7(&text)
        .unwrap()
        .segments(Concat::Udh8 { reference: 7 })
        .unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].short_message.len(), 6 + 153);
    assert_eq!(parts[1].short_message.len(), 6 + 8);
    let single = Sms::gsm7(&"x".repeat(160)).unwrap();
    let parts = single.segments(Concat::Udh8 { reference: 7 }).unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].esm_class & ESM_CLASS_UDHI, 0);
    let ucs = Sms::ucs2(&"я".repeat(71));
    let parts = ucs.segments(Concat::Udh16 { reference: 9 }).unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].short_message.len(), 7 + 132);
}

#[test]
fn invalid_splits_are_refused() {
    let sms = Sms::gsm7("abc").unwrap();
    let c = Concat::Udh8 { reference: 1 };
    assert_eq!(sms.split(c, 0), Err(BuildError::PartCount(0)));
    assert_eq!(sms.split(c, 4), Err(BuildError::PartCount(4)));
    assert_eq!(sms.split_at(c, &[0]), Err(BuildError::SplitPoint(0)));
    assert_eq!(sms.split_at(c, &[3]), Err(BuildError::SplitPoint(3)));
    assert_eq!(sms.split_at(c, &[2, 1]), Err(BuildError::SplitPoint(1)));
    assert!(matches!(
        Sms::gsm7(&"x".repeat(256)).unwrap().submit_sm(),
        Err(BuildError::TooLong { len: 256, max: 255 })
    ));
    assert!(matches!(
        Sms::gsm7("x")
            .unwrap()
            .from("1234567890123456789012")
            .submit_sm(),
        Err(BuildError::Field {
            field: "source_addr",
            ..
        })
    ));
}

#[test]
fn submit_multi_lists_every_destination() {
    let multi = Sms::gsm7("hi")
        .unwrap()
        .submit_multi(&["447700900003", "447700900004"])
        .unwrap();
    assert_eq!(multi.dest_addresses.len(), 2);
    let bytes = Pdu::new(Body::SubmitMulti(multi.clone()), CommandStatus::ESME_ROK, 1).to_bytes();
    let decoded = Pdu::decode(bytes).unwrap();
    assert_eq!(decoded.body, Body::SubmitMulti(multi));
    assert!(Sms::gsm7("hi").unwrap().submit_multi(&[]).is_err());
}

/// Decodes every part with the text crate and joins the texts in seqnum order,
/// checking the concatenation info on the way.
fn decode_parts(parts: &[SubmitSm], source: ConcatSource) -> String {
    let total = parts.len();
    let mut text = String::new();
    for (i, sm) in parts.iter().enumerate() {
        let sar = match (
            sm.tlvs.sar_msg_ref_num(),
            sm.tlvs.sar_total_segments(),
            sm.tlvs.sar_segment_seqnum(),
        ) {
            (Some(reference), Some(total), Some(seqnum)) => Some(SarInfo {
                reference,
                total,
                seqnum,
            }),
            _ => None,
        };
        let input = PartInput {
            esm_class: sm.esm_class,
            data_coding: sm.data_coding,
            short_message: sm.short_message.as_bytes(),
            message_payload: sm.tlvs.message_payload(),
            sar,
        };
        let part = decode_part(&input, &DecodeOptions::default());
        assert!(part.warnings.is_empty(), "{:?}", part.warnings);
        if total > 1 {
            let concat = part.concat.expect("concat info");
            assert_eq!(concat.source, source);
            assert_eq!(usize::from(concat.total), total);
            assert_eq!(usize::from(concat.seqnum), i + 1);
        }
        text.push_str(&part.text);
    }
    text
}

fn gsm7_text() -> impl Strategy<Value = String> {
    let chars: Vec<char> = GSM7_BASIC
        .iter()
        .copied()
        .filter(|c| *c != '\u{1B}')
        .chain(GSM7_EXTENSION.iter().map(|(_, c)| *c))
        .collect();
    proptest::collection::vec(proptest::sample::select(chars), 1..400)
        .prop_map(|v| v.into_iter().collect())
}

fn concat() -> impl Strategy<Value = (Concat, ConcatSource)> {
    prop_oneof![
        any::<u8>().prop_map(|r| (Concat::Udh8 { reference: r }, ConcatSource::Udh8)),
        any::<u16>().prop_map(|r| (Concat::Udh16 { reference: r }, ConcatSource::Udh16)),
        any::<u16>().prop_map(|r| (Concat::Sar { reference: r }, ConcatSource::Sar)),
    ]
}

proptest! {
    #[test]
    fn gsm7_segments_decode_back_to_the_text(text in gsm7_text(), (c, source) in concat()) {
        let sms = Sms::gsm7(&text).unwrap();
        let parts = sms.segments(c).unwrap();
        for p in &parts {
            let udh = if p.esm_class & ESM_CLASS_UDHI != 0 { usize::from(p.short_message.as_bytes()[0]) + 1 } else { 0 };
            prop_assert!(p.short_message.len() - udh <= sms.alphabet().single_capacity());
        }
        prop_assert_eq!(decode_parts(&parts, source), text);
    }

    #[test]
    fn ucs2_splits_decode_back_to_the_text(
        text in "\\PC{1,120}",
        n in 1usize..6,
        (c, source) in concat(),
    ) {
        let sms = Sms::ucs2(&text);
        prop_assume!(n <= sms.char_count());
        prop_assume!(sms.user_data().len() / n + 8 < 200);
        let parts = sms.split(c, n).unwrap();
        prop_assert_eq!(parts.len(), n);
        prop_assert_eq!(decode_parts(&parts, source), text);
    }

    #[test]
    fn payload_and_data_sm_carry_the_whole_text(text in gsm7_text()) {
        let sms = Sms::gsm7(&text).unwrap();
        let sm = sms.submit_sm_payload().unwrap();
        prop_assert!(sm.short_message.is_empty());
        prop_assert_eq!(decode_parts(&[sm], ConcatSource::Udh8), text.clone());
        let data = sms.data_sm().unwrap();
        prop_assert_eq!(data.tlvs.message_payload(), Some(sms.user_data()));
    }
}
