//! Property tests: round trips both ways, chunking independence of the framer, and
//! robustness on arbitrary and mutated input.

// Test helpers outside `#[test]` functions: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bytes::{Bytes, BytesMut};
use proptest::{collection::vec, prelude::*, strategy::Union};
use smppguard_codec::{
    AlertNotification, Bind, BindResp, Body, BroadcastSm, COctetString, CancelBroadcastSm,
    CancelSm, CommandStatus, DataSm, DestAddress, DestAddresses, FrameError, Framer, MessageIdResp,
    MessageState, Outbind, Pdu, QueryBroadcastSm, QuerySm, QuerySmResp, ReplaceSm, ShortMessage,
    SubmitMulti, SubmitMultiResp, SubmitSm, Timestamp, TlvTag, Tlvs, UnsuccessSme, UnsuccessSmes,
};

// === Field strategies ===

fn cstr<const N: usize>() -> impl Strategy<Value = COctetString<N>> {
    vec(1u8..=255, 0..N).prop_map(|v| COctetString::new(v).unwrap())
}

fn two_digits(range: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = String> {
    range.prop_map(|n| format!("{n:02}"))
}

fn time() -> impl Strategy<Value = Timestamp> {
    let absolute = (
        two_digits(0..=99),
        two_digits(1..=12),
        two_digits(1..=31),
        two_digits(0..=23),
        two_digits(0..=59),
        two_digits(0..=59),
        0u8..=9,
        two_digits(0..=48),
        prop::bool::ANY,
    )
        .prop_map(|(y, mo, d, h, mi, s, t, nn, plus)| {
            let sign = if plus { '+' } else { '-' };
            format!("{y}{mo}{d}{h}{mi}{s}{t}{nn}{sign}")
        });
    let relative = vec(0u8..=9, 15).prop_map(|d| {
        let mut s: String = d.iter().map(|d| char::from(b'0' + d)).collect();
        s.push('R');
        s
    });
    prop_oneof![Just(String::new()), absolute, relative].prop_map(|s| Timestamp::new(s).unwrap())
}

fn short_message() -> impl Strategy<Value = ShortMessage> {
    vec(any::<u8>(), 0..=255).prop_map(|v| ShortMessage::new(v).unwrap())
}

/// Tags with the value lengths SMPP 3.4/5.0 allow, written out here independently of
/// the codec's own table, plus vendor tags of any length.
fn tlv() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let fixed = |tag: u16, len: usize| vec(any::<u8>(), len).prop_map(move |v| (tag, v));
    let ranged =
        |tag: u16, lo: usize, hi: usize| vec(any::<u8>(), lo..=hi).prop_map(move |v| (tag, v));
    Union::new(vec![
        ranged(0x0424, 0, 300).boxed(), // message_payload
        fixed(0x020C, 2).boxed(),       // sar_msg_ref_num
        fixed(0x020E, 1).boxed(),       // sar_total_segments
        fixed(0x020F, 1).boxed(),       // sar_segment_seqnum
        ranged(0x001E, 1, 65).boxed(),  // receipted_message_id
        fixed(0x0427, 1).boxed(),       // message_state
        fixed(0x0423, 3).boxed(),       // network_error_code
        fixed(0x0210, 1).boxed(),       // sc_interface_version
        fixed(0x0428, 1).boxed(),       // congestion_state
        fixed(0x0204, 2).boxed(),       // user_message_reference
        fixed(0x020A, 2).boxed(),       // source_port
        fixed(0x020B, 2).boxed(),       // destination_port
        ranged(0x0381, 4, 19).boxed(),  // callback_num (may repeat)
        ranged(0x001D, 0, 256).boxed(), // additional_status_info_text
        (0x1400u16..=0x3FFF, vec(any::<u8>(), 0..64)).boxed(), // vendor
    ])
}

fn tlvs() -> impl Strategy<Value = Tlvs> {
    vec(tlv(), 0..6).prop_map(|list| {
        let mut tlvs = Tlvs::new();
        for (tag, value) in list {
            // A second message_payload or sar_* is refused by design; skip it.
            let _ = tlvs.push(TlvTag(tag), &value);
        }
        tlvs
    })
}

/// Makes the user data obey the decoder's cross-field rules.
fn fix_user_data(esm_class: &mut u8, sm: &mut ShortMessage, tlvs: &Tlvs) {
    if tlvs.message_payload().is_some() {
        *sm = ShortMessage::empty();
    }
    let data = if sm.is_empty() {
        tlvs.message_payload().unwrap_or_default()
    } else {
        sm.as_bytes()
    };
    let udh_fits = data
        .first()
        .is_some_and(|&udhl| usize::from(udhl) < data.len());
    if !udh_fits {
        *esm_class &= !0x40;
    }
}

// === Body strategies ===

fn submit_sm() -> impl Strategy<Value = SubmitSm> {
    (
        (
            cstr::<6>(),
            any::<(u8, u8)>(),
            cstr::<21>(),
            any::<(u8, u8)>(),
            cstr::<21>(),
        ),
        (
            any::<(u8, u8, u8)>(),
            time(),
            time(),
            any::<(u8, u8, u8, u8)>(),
        ),
        (short_message(), tlvs()),
    )
        .prop_map(|(addr, flags, content)| {
            let (service_type, (s_ton, s_npi), source_addr, (d_ton, d_npi), destination_addr) =
                addr;
            let ((esm_class, protocol_id, priority_flag), sched, validity, rest) = flags;
            let (registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id) =
                rest;
            let (short_message, tlvs) = content;
            let mut sm = SubmitSm {
                service_type,
                source_addr_ton: s_ton,
                source_addr_npi: s_npi,
                source_addr,
                dest_addr_ton: d_ton,
                dest_addr_npi: d_npi,
                destination_addr,
                esm_class,
                protocol_id,
                priority_flag,
                schedule_delivery_time: sched,
                validity_period: validity,
                registered_delivery,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                short_message,
                tlvs,
            };
            fix_user_data(&mut sm.esm_class, &mut sm.short_message, &sm.tlvs);
            sm
        })
}

fn submit_multi() -> impl Strategy<Value = SubmitMulti> {
    let dest = prop_oneof![
        (any::<(u8, u8)>(), cstr::<21>()).prop_map(|((ton, npi), addr)| DestAddress::Sme {
            dest_addr_ton: ton,
            dest_addr_npi: npi,
            destination_addr: addr,
        }),
        cstr::<21>().prop_map(|dl_name| DestAddress::DistributionList { dl_name }),
    ];
    (submit_sm(), vec(dest, 1..5)).prop_map(|(sm, dests)| SubmitMulti {
        service_type: sm.service_type,
        source_addr_ton: sm.source_addr_ton,
        source_addr_npi: sm.source_addr_npi,
        source_addr: sm.source_addr,
        dest_addresses: DestAddresses::new(dests).unwrap(),
        esm_class: sm.esm_class,
        protocol_id: sm.protocol_id,
        priority_flag: sm.priority_flag,
        schedule_delivery_time: sm.schedule_delivery_time,
        validity_period: sm.validity_period,
        registered_delivery: sm.registered_delivery,
        replace_if_present_flag: sm.replace_if_present_flag,
        data_coding: sm.data_coding,
        sm_default_msg_id: sm.sm_default_msg_id,
        short_message: sm.short_message,
        tlvs: sm.tlvs,
    })
}

fn data_sm() -> impl Strategy<Value = DataSm> {
    (
        (
            cstr::<6>(),
            any::<(u8, u8)>(),
            cstr::<65>(),
            any::<(u8, u8)>(),
            cstr::<65>(),
        ),
        any::<(u8, u8, u8)>(),
        tlvs(),
    )
        .prop_map(
            |((st, (s_ton, s_npi), src, (d_ton, d_npi), dst), (esm, rd, dcs), tlvs)| {
                let mut d = DataSm {
                    service_type: st,
                    source_addr_ton: s_ton,
                    source_addr_npi: s_npi,
                    source_addr: src,
                    dest_addr_ton: d_ton,
                    dest_addr_npi: d_npi,
                    destination_addr: dst,
                    esm_class: esm,
                    registered_delivery: rd,
                    data_coding: dcs,
                    tlvs,
                };
                fix_user_data(&mut d.esm_class, &mut ShortMessage::empty(), &d.tlvs);
                d
            },
        )
}

fn bind() -> impl Strategy<Value = Bind> {
    (cstr(), cstr(), cstr(), any::<(u8, u8, u8)>(), cstr()).prop_map(
        |(system_id, password, system_type, (iv, ton, npi), address_range)| Bind {
            system_id,
            password,
            system_type,
            interface_version: iv,
            addr_ton: ton,
            addr_npi: npi,
            address_range,
        },
    )
}

fn message_id_resp() -> impl Strategy<Value = Option<MessageIdResp>> {
    proptest::option::of(
        (cstr(), tlvs()).prop_map(|(message_id, tlvs)| MessageIdResp { message_id, tlvs }),
    )
}

fn other_requests() -> impl Strategy<Value = Body> {
    let src = || (any::<(u8, u8)>(), cstr::<21>());
    Union::new(vec![
        (cstr(), src())
            .prop_map(|(id, ((ton, npi), a))| {
                Body::QuerySm(QuerySm {
                    message_id: id,
                    source_addr_ton: ton,
                    source_addr_npi: npi,
                    source_addr: a,
                })
            })
            .boxed(),
        (cstr(), cstr(), src(), any::<(u8, u8)>(), cstr())
            .prop_map(|(st, id, ((ton, npi), a), (dton, dnpi), d)| {
                Body::CancelSm(CancelSm {
                    service_type: st,
                    message_id: id,
                    source_addr_ton: ton,
                    source_addr_npi: npi,
                    source_addr: a,
                    dest_addr_ton: dton,
                    dest_addr_npi: dnpi,
                    destination_addr: d,
                })
            })
            .boxed(),
        (
            cstr(),
            src(),
            time(),
            time(),
            any::<(u8, u8)>(),
            short_message(),
            tlvs(),
        )
            .prop_map(
                |(id, ((ton, npi), a), sched, val, (rd, def), mut sm, tlvs)| {
                    fix_user_data(&mut 0, &mut sm, &tlvs);
                    Body::ReplaceSm(ReplaceSm {
                        message_id: id,
                        source_addr_ton: ton,
                        source_addr_npi: npi,
                        source_addr: a,
                        schedule_delivery_time: sched,
                        validity_period: val,
                        registered_delivery: rd,
                        sm_default_msg_id: def,
                        short_message: sm,
                        tlvs,
                    })
                },
            )
            .boxed(),
        (any::<(u8, u8, u8, u8)>(), cstr(), cstr(), tlvs())
            .prop_map(|((a, b, c, d), src, esme, tlvs)| {
                Body::AlertNotification(AlertNotification {
                    source_addr_ton: a,
                    source_addr_npi: b,
                    source_addr: src,
                    esme_addr_ton: c,
                    esme_addr_npi: d,
                    esme_addr: esme,
                    tlvs,
                })
            })
            .boxed(),
        (
            cstr(),
            src(),
            cstr(),
            any::<(u8, u8, u8, u8)>(),
            time(),
            time(),
            tlvs(),
        )
            .prop_map(
                |(st, ((ton, npi), a), id, (p, r, dcs, def), sched, val, tlvs)| {
                    Body::BroadcastSm(BroadcastSm {
                        service_type: st,
                        source_addr_ton: ton,
                        source_addr_npi: npi,
                        source_addr: a,
                        message_id: id,
                        priority_flag: p,
                        schedule_delivery_time: sched,
                        validity_period: val,
                        replace_if_present_flag: r,
                        data_coding: dcs,
                        sm_default_msg_id: def,
                        tlvs,
                    })
                },
            )
            .boxed(),
        (cstr(), src(), tlvs())
            .prop_map(|(id, ((ton, npi), a), tlvs)| {
                Body::QueryBroadcastSm(QueryBroadcastSm {
                    message_id: id,
                    source_addr_ton: ton,
                    source_addr_npi: npi,
                    source_addr: a,
                    tlvs,
                })
            })
            .boxed(),
        (cstr(), cstr(), src(), tlvs())
            .prop_map(|(st, id, ((ton, npi), a), tlvs)| {
                Body::CancelBroadcastSm(CancelBroadcastSm {
                    service_type: st,
                    message_id: id,
                    source_addr_ton: ton,
                    source_addr_npi: npi,
                    source_addr: a,
                    tlvs,
                })
            })
            .boxed(),
        (cstr(), cstr())
            .prop_map(|(system_id, password)| {
                Body::Outbind(Outbind {
                    system_id,
                    password,
                })
            })
            .boxed(),
    ])
}

fn responses() -> impl Strategy<Value = Body> {
    let bind_resp = || {
        proptest::option::of(
            (cstr(), tlvs()).prop_map(|(system_id, tlvs)| BindResp { system_id, tlvs }),
        )
    };
    let unsuccess =
        (any::<(u8, u8)>(), cstr(), any::<u32>()).prop_map(|((t, n), a, e)| UnsuccessSme {
            dest_addr_ton: t,
            dest_addr_npi: n,
            destination_addr: a,
            error_status_code: e,
        });
    let multi_resp = proptest::option::of((cstr(), vec(unsuccess, 0..4), tlvs()).prop_map(
        |(message_id, failed, tlvs)| SubmitMultiResp {
            message_id,
            unsuccess_smes: UnsuccessSmes::new(failed).unwrap(),
            tlvs,
        },
    ));
    let query_resp = proptest::option::of((cstr(), time(), any::<(u8, u8)>()).prop_map(
        |(message_id, final_date, (state, error_code))| QuerySmResp {
            message_id,
            final_date,
            message_state: MessageState(state),
            error_code,
        },
    ));
    Union::new(vec![
        bind_resp().prop_map(Body::BindReceiverResp).boxed(),
        bind_resp().prop_map(Body::BindTransmitterResp).boxed(),
        bind_resp().prop_map(Body::BindTransceiverResp).boxed(),
        message_id_resp().prop_map(Body::SubmitSmResp).boxed(),
        message_id_resp().prop_map(Body::DeliverSmResp).boxed(),
        message_id_resp().prop_map(Body::DataSmResp).boxed(),
        message_id_resp().prop_map(Body::BroadcastSmResp).boxed(),
        message_id_resp()
            .prop_map(Body::QueryBroadcastSmResp)
            .boxed(),
        multi_resp.prop_map(Body::SubmitMultiResp).boxed(),
        query_resp.prop_map(Body::QuerySmResp).boxed(),
    ])
}

fn unit_bodies() -> impl Strategy<Value = Body> {
    prop::sample::select(vec![
        Body::GenericNack,
        Body::Unbind,
        Body::UnbindResp,
        Body::EnquireLink,
        Body::EnquireLinkResp,
        Body::CancelSmResp,
        Body::ReplaceSmResp,
        Body::CancelBroadcastSmResp,
    ])
}

fn body() -> impl Strategy<Value = Body> {
    Union::new(vec![
        submit_sm().prop_map(Body::SubmitSm).boxed(),
        submit_sm().prop_map(Body::DeliverSm).boxed(),
        submit_multi().prop_map(Body::SubmitMulti).boxed(),
        data_sm().prop_map(Body::DataSm).boxed(),
        bind().prop_map(Body::BindTransmitter).boxed(),
        bind().prop_map(Body::BindReceiver).boxed(),
        bind().prop_map(Body::BindTransceiver).boxed(),
        other_requests().boxed(),
        responses().boxed(),
        unit_bodies().boxed(),
    ])
}

fn pdu() -> impl Strategy<Value = Pdu> {
    (body(), any::<u32>(), any::<u32>())
        .prop_map(|(body, status, seq)| Pdu::new(body, CommandStatus(status), seq))
}

// === Raw byte builders, independent of the codec's encoder ===

fn raw_cstr(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 0..max).prop_map(|mut v| {
        v.push(0);
        v
    })
}

fn raw_tlvs() -> impl Strategy<Value = Vec<u8>> {
    vec(tlv(), 0..5).prop_map(|list| {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for (tag, value) in list {
            if matches!(tag, 0x0424 | 0x020C | 0x020E | 0x020F) && seen.contains(&tag) {
                continue;
            }
            seen.push(tag);
            out.extend_from_slice(&tag.to_be_bytes());
            out.extend_from_slice(&(value.len() as u16).to_be_bytes());
            out.extend_from_slice(&value);
        }
        out
    })
}

fn frame(command_id: u32, status: u32, seq: u32, body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(&command_id.to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// Valid `submit_sm`/`deliver_sm` frames assembled byte by byte from their fields.
fn raw_submit_sm() -> impl Strategy<Value = Bytes> {
    (
        prop::sample::select(vec![0x04u32, 0x05]),
        (
            raw_cstr(6),
            any::<[u8; 2]>(),
            raw_cstr(21),
            any::<[u8; 2]>(),
            raw_cstr(21),
        ),
        (any::<[u8; 3]>(), time(), time(), any::<[u8; 4]>()),
        (vec(any::<u8>(), 0..=255), raw_tlvs(), any::<u32>()),
    )
        .prop_map(
            |(id, (st, s, src, d, dst), (flags, sched, val, more), (sm, tlvs, seq))| {
                let has_payload = tlvs_have_payload(&tlvs);
                let sm = if has_payload { Vec::new() } else { sm };
                let mut flags = flags;
                flags[0] &= !0x40; // no UDHI: the user data is opaque here
                let mut body = Vec::new();
                for part in [&st[..], &s, &src, &d, &dst, &flags] {
                    body.extend_from_slice(part);
                }
                body.extend_from_slice(sched.as_bytes());
                body.push(0);
                body.extend_from_slice(val.as_bytes());
                body.push(0);
                body.extend_from_slice(&more);
                body.push(sm.len() as u8);
                body.extend_from_slice(&sm);
                body.extend_from_slice(&tlvs);
                frame(id, 0, seq, &body)
            },
        )
}

fn tlvs_have_payload(mut raw: &[u8]) -> bool {
    while raw.len() >= 4 {
        let tag = u16::from_be_bytes([raw[0], raw[1]]);
        let len = usize::from(u16::from_be_bytes([raw[2], raw[3]]));
        if tag == 0x0424 {
            return true;
        }
        raw = &raw[4 + len..];
    }
    false
}

/// Response frames with and without body, any status.
fn raw_response() -> impl Strategy<Value = Bytes> {
    (
        prop::sample::select(vec![
            0x8000_0001u32,
            0x8000_0002,
            0x8000_0009,
            0x8000_0004,
            0x8000_0005,
            0x8000_0103,
        ]),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of((raw_cstr(16), raw_tlvs())),
    )
        .prop_map(|(id, status, seq, body)| {
            let body = body
                .map(|(id, tlvs)| [id, tlvs].concat())
                .unwrap_or_default();
            frame(id, status, seq, &body)
        })
}

fn raw_valid_frame() -> impl Strategy<Value = Bytes> {
    prop_oneof![raw_submit_sm(), raw_response()]
}

/// Splits `bytes` at the given (sorted, deduplicated) cut points.
fn chunks(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.retain(|&c| c > 0 && c < bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts {
        out.push(&bytes[start..c]);
        start = c;
    }
    out.push(&bytes[start..]);
    out
}

/// Feeds `pieces` to a framer one at a time, collecting frames until the first error.
fn frame_stream(pieces: &[&[u8]], max: u32) -> (Vec<Bytes>, Option<FrameError>) {
    let mut framer = Framer::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match framer.next_frame(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(pdu in pdu()) {
        let bytes = pdu.to_bytes();
        prop_assert_eq!(bytes.len(), pdu.encoded_len());
        let decoded = Pdu::decode(bytes.clone());
        prop_assert_eq!(decoded.as_ref(), Ok(&pdu));
        prop_assert_eq!(decoded.unwrap().to_bytes(), bytes.clone());
        let view = Pdu::decode_view(&bytes).unwrap();
        prop_assert_eq!(view.to_bytes(), &bytes);
        prop_assert_eq!(view.body.name(), pdu.body.name());
    }

    #[test]
    fn encode_of_decode_is_identity(bytes in raw_valid_frame()) {
        let pdu = Pdu::decode(bytes.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(pdu.to_bytes(), bytes);
    }

    #[test]
    fn framing_does_not_depend_on_chunking(
        pdus in vec(pdu(), 1..6),
        cuts in vec(0usize..4096, 0..12),
    ) {
        let stream: Vec<u8> = pdus.iter().flat_map(|p| p.to_bytes().to_vec()).collect();
        let (frames, err) = frame_stream(&chunks(&stream, cuts), u32::MAX);
        prop_assert_eq!(err, None);
        prop_assert_eq!(frames.len(), pdus.len());
        for (frame, pdu) in frames.into_iter().zip(&pdus) {
            prop_assert_eq!(&Pdu::decode(frame).unwrap(), pdu);
        }
    }

    #[test]
    fn framing_errors_do_not_depend_on_chunking(
        pdus in vec(pdu(), 0..4),
        bad_len in prop_oneof![0u32..16, 4097u32..],
        cuts in vec(0usize..4096, 0..12),
    ) {
        let mut stream: Vec<u8> = pdus.iter().flat_map(|p| p.to_bytes().to_vec()).collect();
        stream.extend_from_slice(&bad_len.to_be_bytes());
        stream.extend_from_slice(&[0u8; 12]);
        let whole = frame_stream(&[&stream], 4096);
        let chunked = frame_stream(&chunks(&stream, cuts), 4096);
        prop_assert_eq!(&whole.0, &chunked.0);
        prop_assert_eq!(whole.1.map(|e| e.kind()), chunked.1.map(|e| e.kind()));
        prop_assert!(whole.1.is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_input_is_byte_exact(
        bytes in vec(any::<u8>(), 0..512),
    ) {
        check_any(Bytes::from(bytes))?;
    }

    #[test]
    fn mutated_pdus_never_panic_and_accepted_input_is_byte_exact(
        pdu in pdu(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = pdu.to_bytes().to_vec();
        // Keep the header's length and id so the body parsers are what gets exercised.
        let body_len = bytes.len() - 16;
        if body_len > 0 {
            for (at, value) in edits {
                let at = 16 + at.index(body_len);
                bytes[at] = value;
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(16 + cut.index(body_len + 1));
            let len = bytes.len() as u32;
            bytes[..4].copy_from_slice(&len.to_be_bytes());
        }
        check_any(Bytes::from(bytes))?;
    }
}

/// Properties every input must satisfy: no panic (implicit), the owned and the
/// borrowed decoders agree, an accepted frame re-encodes to itself, an error points
/// inside the frame and answers consistently.
fn check_any(bytes: Bytes) -> Result<(), TestCaseError> {
    let view = Pdu::decode_view(&bytes);
    let owned = Pdu::decode(bytes.clone());
    prop_assert_eq!(
        view.as_ref().map(Pdu::to_bytes).map_err(|e| *e),
        owned.as_ref().map(Pdu::to_bytes).map_err(|e| *e)
    );
    match owned {
        Ok(pdu) => prop_assert_eq!(pdu.to_bytes(), bytes),
        Err(err) => {
            prop_assert!((err.offset() as usize) <= bytes.len());
            if let Some(resp) = err.response_header() {
                prop_assert_eq!(resp.command_length, 16);
                prop_assert!(resp.command_id.is_response());
                if let Some(req) = err.header() {
                    // Only a fatal framing error answers a response (generic_nack
                    // before closing); a field error in a response is never answered.
                    prop_assert!(err.is_fatal() || !req.command_id.is_response());
                    prop_assert_eq!(resp.sequence_number, req.sequence_number);
                }
                prop_assert_eq!(err.response().map(|p| p.header), Some(resp));
            }
        }
    }
    Ok(())
}
