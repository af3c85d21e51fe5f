//! Byte vectors: the reference SMPP test vectors (generated and cross-decoded by an
//! independent parser), hand-assembled vectors for the PDUs they do not cover, and
//! every malformed input with the answer it must get.

// Test helpers outside `#[test]` functions: a panic here is a failed test.
#![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bytes::{Bytes, BytesMut};
use smppguard_codec::{
    Body, COctetString, CommandId, CommandStatus, DecodeErrorKind, DestAddress, FrameErrorKind,
    Framer, HEADER_LEN, Header, MessageIdResp, MessageState, Pdu, TlvTag, check,
};

/// Hex with spaces and `|` separators allowed, so vectors can show their fields.
fn hex(s: &str) -> Bytes {
    let clean: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    Bytes::from(hex::decode(clean).expect("valid hex"))
}

/// Decodes `bytes`, asserts the re-encoding is byte-identical (from the owned PDU and
/// from the borrowed view) and returns the PDU.
fn decode_exact(bytes: &Bytes) -> Pdu {
    let pdu = Pdu::decode(bytes.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pdu.to_bytes(), *bytes, "re-encoding of {}", pdu.body.name());
    let view = Pdu::decode_view(bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        view.to_bytes(),
        *bytes,
        "view re-encoding of {}",
        pdu.body.name()
    );
    assert_eq!(format!("{view:?}"), format!("{pdu:?}"), "same fields");
    assert_eq!(pdu.encoded_len(), bytes.len());
    assert_eq!(pdu.header.command_length as usize, bytes.len());
    pdu
}

/// A frame with `command_length` computed from `body` (hex, separators allowed).
fn pdu(command_id: u32, status: u32, seq: u32, body: &str) -> Bytes {
    let body = hex(body);
    let mut out = Vec::with_capacity(16 + body.len());
    for word in [16 + body.len() as u32, command_id, status, seq] {
        out.extend_from_slice(&word.to_be_bytes());
    }
    out.extend_from_slice(&body);
    Bytes::from(out)
}

/// An A12 source/destination address with its TON/NPI.
const SRC: &str = "01 01 343437373030393030303031 00";
const DST: &str = "01 01 343437373030393030303032 00";

// === SMPP reference vectors (A12) ===

#[test]
fn bind_transmitter() {
    let b = hex(
        "0000002a 00000002 00000000 00000001 736d7070636c69656e74310070617373776f7264000034000000",
    );
    let pdu = decode_exact(&b);
    assert_eq!(pdu.header.sequence_number, 1);
    let Body::BindTransmitter(bind) = &pdu.body else {
        panic!("{:?}", pdu.body)
    };
    assert_eq!(bind.system_id.as_bytes(), b"smppclient1");
    assert_eq!(bind.password.as_bytes(), b"password");
    assert!(bind.system_type.is_empty());
    assert_eq!(bind.interface_version, 0x34);
    assert_eq!((bind.addr_ton, bind.addr_npi), (0, 0));
    assert!(bind.address_range.is_empty());
    assert_eq!(pdu.body.name(), "bind_transmitter");
}

#[test]
fn bind_transmitter_resp_ok_with_interface_version() {
    let b = hex("0000001a 80000002 00000000 00000001 534d5343000210000134");
    let pdu = decode_exact(&b);
    let Body::BindTransmitterResp(Some(resp)) = &pdu.body else {
        panic!("{:?}", pdu.body)
    };
    assert_eq!(resp.system_id.as_bytes(), b"SMSC");
    assert_eq!(resp.tlvs.sc_interface_version(), Some(0x34));
    // The builder produces the same bytes.
    let built = Pdu::new(
        Body::BindTransmitterResp(Some(smppguard_codec::BindResp::new(
            COctetString::new("SMSC").unwrap(),
            Some(0x34),
        ))),
        CommandStatus::ESME_ROK,
        1,
    );
    assert_eq!(built.to_bytes(), b);
}

#[test]
fn bind_resp_error_with_and_without_body() {
    // 3.4 form: no body with an error status.
    let b = hex("00000010 80000002 0000000e 00000001");
    let pdu = decode_exact(&b);
    assert_eq!(pdu.body, Body::BindTransmitterResp(None));
    assert_eq!(pdu.command_status(), CommandStatus::ESME_RINVPASWD);
    // Seen in the wild: an empty system_id body. Accepted, and kept on re-encoding.
    let b = hex("00000011 80000009 0000000e 00000001 00");
    let pdu = decode_exact(&b);
    let Body::BindTransceiverResp(Some(resp)) = &pdu.body else {
        panic!("{:?}", pdu.body)
    };
    assert!(resp.system_id.is_empty());
    assert!(resp.tlvs.is_empty());
}

#[test]
fn bind_transceiver() {
    let b = hex("00000023 00000009 00000000 00000001 65736d65303100733363723374000034000000");
    let pdu = decode_exact(&b);
    let Body::BindTransceiver(bind) = &pdu.body else {
        panic!("{:?}", pdu.body)
    };
    assert_eq!(bind.system_id.as_str(), Some("esme01"));
    assert_eq!(bind.password.as_str(), Some("s3cr3t"));
}

#[test]
fn header_only_pdus() {
    for (hex_str, body, seq) in [
        ("00000010 00000015 00000000 00000002", Body::EnquireLink, 2),
        (
            "00000010 80000015 00000000 00000002",
            Body::EnquireLinkResp,
            2,
        ),
        ("00000010 00000006 00000000 00000003", Body::Unbind, 3),
        ("00000010 80000006 00000000 00000003", Body::UnbindResp, 3),
        ("00000010 80000000 00000003 00000007", Body::GenericNack, 7),
        ("00000010 80000000 00000002 00000000", Body::GenericNack, 0),
    ] {
        let b = hex(hex_str);
        let pdu = decode_exact(&b);
        assert_eq!(pdu.body, body);
        assert_eq!(pdu.sequence_number(), seq);
    }
    assert_eq!(
        Pdu::generic_nack(CommandStatus::ESME_RINVCMDID, 7).to_bytes(),
        hex("00000010 80000000 00000003 00000007")
    );
}

#[test]
fn submit_sm_gsm7_hello() {
    let b = hex(&format!(
        "0000003e 00000004 00000000 00000005 00 {SRC} {DST} 00 00 00 00 00 01 00 00 00 05 48656c6c6f"
    ));
    let pdu = decode_exact(&b);
    let Body::SubmitSm(sm) = &pdu.body else {
        panic!("{:?}", pdu.body)
    };
    assert!(sm.service_type.is_empty());
    assert_eq!((sm.source_addr_ton, sm.source_addr_npi), (1, 1));
    assert_eq!(sm.source_addr.as_bytes(), b"447700900001");
    assert_eq!((sm.dest_addr_ton, sm.dest_addr_npi), (1, 1));
    assert_eq!(sm.destination_addr.as_bytes(), b"447700900002");
    assert_eq!((sm.esm_class, sm.protocol_id, sm.priority_flag), (0, 0, 0));
    assert!(sm.schedule_delivery_time.is_empty() && sm.validity_period.is_empty());
    assert_eq!(sm.registered_delivery, 1);
    assert_eq!((sm.replace_if_present_flag, sm.data_coding), (0, 0));
    assert_eq!(sm.sm_default_msg_id, 0);
    assert_eq!(sm.short_message.as_bytes(), b"Hello");
    assert!(sm.tlvs.is_empty());
    let content = pdu.body.content().unwrap();
    assert_eq!(content.esm_class, Some(0));
    assert_eq!(
        content.short_message.map(|s| s.as_bytes()),
        Some(&b"Hello"[..])
    );
}

#[test]
fn submit_sm_alphanumeric_sender() {
    let b = hex(&format!(
        "00000036 00000004 00000000 00000006 00 05 00 41434d4500 {DST} 00 00 00 00 00 01 00 00 00 05 48656c6c6f"
    ));
    let Body::SubmitSm(sm) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(
        (sm.source_addr_ton, sm.source_addr.as_str()),
        (5, Some("ACME"))
    );
}

#[test]
fn submit_sm_resp_forms() {
    let b = hex("00000019 80000004 00000000 00000005 304131423243334400");
    let pdu = decode_exact(&b);
    let Body::SubmitSmResp(Some(resp)) = &pdu.body else {
        panic!()
    };
    assert_eq!(resp.message_id.as_bytes(), b"0A1B2C3D");
    let built = Pdu::new(
        Body::SubmitSmResp(Some(MessageIdResp::new(
            COctetString::new("0A1B2C3D").unwrap(),
        ))),
        CommandStatus::ESME_ROK,
        5,
    );
    assert_eq!(built.to_bytes(), b);

    let req = Header::new(CommandId::SUBMIT_SM, CommandStatus::ESME_ROK, 5);
    for (status, hex_str) in [
        (
            CommandStatus::ESME_RSUBMITFAIL,
            "00000010 80000004 00000045 00000005",
        ),
        (
            CommandStatus::ESME_RTHROTTLED,
            "00000010 80000004 00000058 00000005",
        ),
        (
            CommandStatus::ESME_RX_R_APPN,
            "00000010 80000004 00000066 00000005",
        ),
    ] {
        let b = hex(hex_str);
        assert_eq!(decode_exact(&b).body, Body::SubmitSmResp(None));
        assert_eq!(Pdu::response_to(&req, status).unwrap().to_bytes(), b);
    }
}

#[test]
fn submit_sm_udh_concatenation_parts() {
    for (seq, text, part) in [(8, "57696e2061204652", 1), (9, "4545207072697a65", 2)] {
        let b = hex(&format!(
            "00000047 00000004 00000000 {seq:08x} 00 {SRC} {DST} 40 00 00 00 00 01 00 00 00 0e 0500032a02{part:02x} {text}"
        ));
        let Body::SubmitSm(sm) = decode_exact(&b).body else {
            panic!()
        };
        assert_eq!(sm.esm_class, 0x40);
        assert_eq!(&sm.short_message.as_bytes()[..6], &[5, 0, 3, 0x2a, 2, part]);
    }
    // 16-bit reference.
    let b = hex(&format!(
        "00000048 00000004 00000000 0000000a 00 {SRC} {DST} 40 00 00 00 00 01 00 00 00 0f 0608041234030170617274206f6e65"
    ));
    let Body::SubmitSm(sm) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(
        &sm.short_message.as_bytes()[..7],
        &[6, 8, 4, 0x12, 0x34, 3, 1]
    );
}

#[test]
fn submit_sm_sar_tlvs() {
    let b = hex(&format!(
        "00000051 00000004 00000000 0000000b 00 {SRC} {DST} 00 00 00 00 00 01 00 00 00 08 57696e2061204652 \
         020c 0002 0101 | 020e 0001 02 | 020f 0001 01"
    ));
    let pdu = decode_exact(&b);
    let tlvs = pdu.body.content().unwrap().tlvs;
    assert_eq!(tlvs.sar_msg_ref_num(), Some(0x0101));
    assert_eq!(tlvs.sar_total_segments(), Some(2));
    assert_eq!(tlvs.sar_segment_seqnum(), Some(1));
}

#[test]
fn submit_sm_message_payload() {
    let b = hex(&format!(
        "0000004f 00000004 00000000 0000000c 00 {SRC} {DST} 00 00 00 00 00 01 00 00 00 00 \
         0424 0012 48656c6c6f2066726f6d207061796c6f6164"
    ));
    let pdu = decode_exact(&b);
    let content = pdu.body.content().unwrap();
    assert!(content.short_message.unwrap().is_empty());
    assert_eq!(
        content.tlvs.message_payload(),
        Some(&b"Hello from payload"[..])
    );
}

#[test]
fn submit_sm_ucs2() {
    let b = hex(&format!(
        "0000004b 00000004 00000000 0000000d 00 {SRC} {DST} 00 00 00 00 00 01 00 08 00 12 \
         041f044004380432043504420020d83ddc4b"
    ));
    let Body::SubmitSm(sm) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(sm.data_coding, 8);
    assert_eq!(sm.short_message.len(), 18);
    assert_eq!(
        &sm.short_message.as_bytes()[14..],
        &[0xd8, 0x3d, 0xdc, 0x4b]
    );
}

#[test]
fn data_sm_payload_only() {
    let b = hex(&format!(
        "00000044 00000103 00000000 0000000e 00 {SRC} {DST} 00 01 00 0424 000e 486920766961206461746111736d"
    ));
    let pdu = decode_exact(&b);
    let Body::DataSm(d) = &pdu.body else { panic!() };
    assert_eq!(d.source_addr.as_bytes(), b"447700900001");
    assert_eq!(
        (d.esm_class, d.registered_delivery, d.data_coding),
        (0, 1, 0)
    );
    let content = pdu.body.content().unwrap();
    assert_eq!(content.short_message, None);
    assert_eq!(
        content.tlvs.message_payload(),
        Some(&b"Hi via data\x11sm"[..])
    );
}

#[test]
fn deliver_sm_receipt_and_resp() {
    let b = hex("000000b4 00000005 00000000 00000001 \
         000101343437373030393030303032000101343437373030393030303031000400000000000000006969643a\
         3041314232433344207375623a30303120646c7672643a303031207375626d697420646174653a32343031\
         30313132303020646f6e6520646174653a3234303130313132303120737461743a44454c49565244206572\
         723a30303020746578743a48656c6c6f001e00093041314232433344000427000102");
    let pdu = decode_exact(&b);
    let Body::DeliverSm(d) = &pdu.body else {
        panic!()
    };
    assert_eq!(d.esm_class & 0x3C, 0x04);
    assert!(
        d.short_message
            .as_bytes()
            .starts_with(b"id:0A1B2C3D sub:001")
    );
    assert_eq!(d.tlvs.receipted_message_id(), Some(&b"0A1B2C3D"[..]));
    assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED));

    // deliver_sm_resp always carries a NULL message_id: 17 bytes, never the 16-byte form.
    let b = hex("00000011 80000005 00000000 00000001 00");
    assert_eq!(
        decode_exact(&b).body,
        Body::DeliverSmResp(Some(MessageIdResp::default()))
    );
    let built = Pdu::new(
        Body::DeliverSmResp(Some(MessageIdResp::default())),
        CommandStatus::ESME_ROK,
        1,
    );
    assert_eq!(built.to_bytes(), b);
}

// === Hand-assembled vectors for the remaining PDUs (fields separated by `|`) ===

#[test]
fn bind_receiver_and_resp() {
    let b = hex("0000001b 00000001 00000000 00000002 | 727800 | 707700 | 00 | 34 | 01 | 01 | 00");
    let Body::BindReceiver(bind) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(bind.system_id.as_bytes(), b"rx");
    assert_eq!((bind.addr_ton, bind.addr_npi), (1, 1));
    let b = hex("00000015 80000001 00000000 00000002 | 534d534300");
    let Body::BindReceiverResp(Some(resp)) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(resp.system_id.as_bytes(), b"SMSC");
}

#[test]
fn outbind() {
    let b = hex("00000018 0000000b 00000000 00000001 | 534d534300 | 707700");
    let Body::Outbind(o) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(
        (o.system_id.as_bytes(), o.password.as_bytes()),
        (&b"SMSC"[..], &b"pw"[..])
    );
}

#[test]
fn submit_multi_and_resp() {
    let b = hex(&format!(
        "00000044 00000021 00000000 00000014 | 00 | {SRC} | 02 \
         | 01 {DST} | 02 737461666600 | 00 00 00 | 00 | 00 | 01 00 00 00 | 02 4869"
    ));
    let pdu = decode_exact(&b);
    let Body::SubmitMulti(m) = &pdu.body else {
        panic!()
    };
    assert_eq!(m.dest_addresses.len(), 2);
    assert!(matches!(
        &m.dest_addresses.as_slice()[0],
        DestAddress::Sme { dest_addr_ton: 1, destination_addr, .. } if destination_addr.as_bytes() == b"447700900002"
    ));
    assert!(matches!(
        &m.dest_addresses.as_slice()[1],
        DestAddress::DistributionList { dl_name } if dl_name.as_bytes() == b"staff"
    ));
    assert_eq!(
        pdu.body
            .content()
            .unwrap()
            .short_message
            .unwrap()
            .as_bytes(),
        b"Hi"
    );

    let b = hex(&format!(
        "00000027 80000021 00000000 00000014 | 4d3100 | 01 | {DST} 0000000b"
    ));
    let Body::SubmitMultiResp(Some(r)) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(r.message_id.as_bytes(), b"M1");
    let failed = &r.unsuccess_smes.as_slice()[0];
    assert_eq!(failed.error_status_code, CommandStatus::ESME_RINVDSTADR.0);
}

#[test]
fn data_sm_resp() {
    let b = hex("00000013 80000103 00000000 0000000e | 443100");
    let Body::DataSmResp(Some(r)) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(r.message_id.as_bytes(), b"D1");
}

#[test]
fn query_sm_and_resp() {
    let b = hex(&format!(
        "00000028 00000003 00000000 00000015 | 304131423243334400 | {SRC}"
    ));
    let Body::QuerySm(q) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(q.message_id.as_bytes(), b"0A1B2C3D");
    let b = hex("0000002c 80000003 00000000 00000015 | 304131423243334400 \
         | 3234303130313132303130303030302b00 | 02 | 00");
    let Body::QuerySmResp(Some(r)) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(r.final_date.as_bytes(), b"240101120100000+");
    assert_eq!(r.message_state, MessageState::DELIVERED);
}

#[test]
fn cancel_sm_and_resp() {
    let b = hex(&format!(
        "00000038 00000008 00000000 00000016 | 00 | 304131423243334400 | {SRC} | {DST}"
    ));
    let Body::CancelSm(c) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(c.destination_addr.as_bytes(), b"447700900002");
    let b = hex("00000010 80000008 00000000 00000016");
    assert_eq!(decode_exact(&b).body, Body::CancelSmResp);
}

#[test]
fn replace_sm_and_resp() {
    let b = hex(&format!(
        "00000040 00000007 00000000 00000017 | 304131423243334400 | {SRC} | 00 \
         | 30303030303130303030303030303052 00 | 01 | 00 | 03 4e6577"
    ));
    let pdu = decode_exact(&b);
    let Body::ReplaceSm(r) = &pdu.body else {
        panic!()
    };
    assert!(r.validity_period.is_relative());
    let content = pdu.body.content().unwrap();
    assert_eq!((content.esm_class, content.data_coding), (None, None));
    assert_eq!(content.short_message.unwrap().as_bytes(), b"New");
    let b = hex("00000010 80000007 00000000 00000017");
    assert_eq!(decode_exact(&b).body, Body::ReplaceSmResp);
}

#[test]
fn alert_notification() {
    let b = hex(&format!(
        "0000002b 00000102 00000000 00000018 | {DST} | 00 00 3430303000 | 0422 0001 00"
    ));
    let Body::AlertNotification(a) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(a.esme_addr.as_bytes(), b"4000");
    assert_eq!(a.tlvs.ms_availability_status(), Some(0));
}

#[test]
fn broadcast_operations() {
    let b = hex(&format!(
        "0000004b 00000111 00000000 00000019 | 00 | {SRC} | 00 | 00 | 00 | 00 | 00 00 00 \
         | 0606 0003 000102 | 0601 0003 000001 | 0604 0002 0001 | 0605 0003 090005 \
         | 0424 0005 416c657274"
    ));
    let pdu = decode_exact(&b);
    let Body::BroadcastSm(bc) = &pdu.body else {
        panic!()
    };
    assert_eq!(bc.tlvs.get(TlvTag::BROADCAST_REP_NUM), Some(&[0u8, 1][..]));
    assert_eq!(
        pdu.body.content().unwrap().tlvs.message_payload(),
        Some(&b"Alert"[..])
    );

    let b = hex("00000013 80000111 00000000 00000019 | 423100");
    assert!(matches!(
        decode_exact(&b).body,
        Body::BroadcastSmResp(Some(_))
    ));

    let b = hex(&format!(
        "00000028 00000112 00000000 0000001a | 423100 | {SRC} | 0204 0002 0007"
    ));
    let Body::QueryBroadcastSm(q) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(q.tlvs.user_message_reference(), Some(7));

    let b = hex(
        "00000024 80000112 00000000 0000001a | 423100 | 0427 0001 01 | 0606 0003 000102 \
         | 0608 0001 64",
    );
    let Body::QueryBroadcastSmResp(Some(r)) = decode_exact(&b).body else {
        panic!()
    };
    assert_eq!(r.tlvs.message_state(), Some(MessageState::ENROUTE));

    let b = hex(&format!(
        "00000023 00000113 00000000 0000001b | 00 | 423100 | {SRC}"
    ));
    assert!(matches!(decode_exact(&b).body, Body::CancelBroadcastSm(_)));
    let b = hex("00000010 80000113 00000000 0000001b");
    assert_eq!(decode_exact(&b).body, Body::CancelBroadcastSmResp);
}

#[test]
fn every_known_command_id_has_a_vector_above() {
    // The tests above decode one vector per command_id; this pins the count so a new
    // Body variant cannot be added without a vector.
    assert_eq!(CommandId::ALL.len(), 33);
}

// === Malformed inputs (A12) and the answers they get ===

/// Decodes `b`, expecting an error that answers `status` with a header-only
/// response `resp` (hex), or no answer when `resp` is `None`.
fn expect_error(
    b: &Bytes,
    status: CommandStatus,
    resp: Option<&str>,
) -> smppguard_codec::DecodeError {
    let err = Pdu::decode(b.clone()).expect_err("malformed input must not decode");
    assert_eq!(Pdu::decode_view(b).err(), Some(err), "view decoder agrees");
    assert_eq!(err.status(), status, "{err}");
    assert_eq!(err.response().map(|p| p.to_bytes()), resp.map(hex), "{err}");
    assert_eq!(
        err.response_header().map(|h| h.to_bytes().to_vec()),
        resp.map(|r| hex(r).to_vec())
    );
    err
}

#[test]
fn cmdlen_too_small_closes_with_nack_seq_0() {
    let b = hex("0000000800000015");
    let err = check(&b, 8192).unwrap_err();
    assert_eq!(err.kind(), FrameErrorKind::TooShort(8));
    assert_eq!(
        err.response().to_bytes(),
        hex("00000010 80000000 00000002 00000000")
    );
    let mut framer = Framer::new(8192);
    let mut buf = BytesMut::from(&b[..]);
    assert_eq!(framer.next_frame(&mut buf), Err(err));

    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVCMDLEN,
        Some("00000010 80000000 00000002 00000000"),
    );
    assert!(e.is_fatal());
    assert_eq!(e.kind(), DecodeErrorKind::FrameTooShort);
    // Lengths 0, 15 and 0xFFFFFFFF are refused from the length bytes alone.
    for len in [0u32, 15] {
        assert_eq!(
            check(&len.to_be_bytes(), 8192).unwrap_err().kind(),
            FrameErrorKind::TooShort(len)
        );
    }
    assert!(check(&u32::MAX.to_be_bytes(), 8192).is_err());
}

#[test]
fn cmdlen_huge_closes_without_allocating() {
    let b = hex("485454502f312e31"); // "HTTP/1.1"
    let mut buf = BytesMut::with_capacity(64);
    buf.extend_from_slice(&b);
    let mut framer = Framer::new(8192);
    let err = framer.next_frame(&mut buf).unwrap_err();
    assert_eq!(
        err.kind(),
        FrameErrorKind::TooLong {
            length: 1_213_486_160,
            max: 8192
        }
    );
    assert_eq!(err.sequence_number(), 0);
    assert_eq!(
        buf.capacity(),
        64,
        "no buffer growth for the announced length"
    );
    assert_eq!(buf.len(), 8);
}

#[test]
fn header_only_pdu_with_a_body_is_invalid_command_length() {
    let b = hex("00000014 00000015 00000000 00000002 deadbeef");
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVCMDLEN,
        Some("00000010 80000015 00000002 00000002"),
    );
    assert_eq!((e.kind(), e.offset()), (DecodeErrorKind::TrailingBytes, 16));
    // Same for trailing garbage after a PDU without TLVs.
    let b = hex(&format!(
        "00000029 00000003 00000000 00000015 | 304131423243334400 | {SRC} | ff"
    ));
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVCMDLEN,
        Some("00000010 80000003 00000002 00000015"),
    );
    assert_eq!(e.offset(), 40);
}

#[test]
fn frame_and_command_length_disagree() {
    let mut b = hex("00000010 00000015 00000000 00000002").to_vec();
    b.push(0);
    let e = expect_error(
        &Bytes::from(b),
        CommandStatus::ESME_RINVCMDLEN,
        Some("00000010 80000000 00000002 00000002"),
    );
    assert!(e.is_fatal());
}

#[test]
fn bind_tx_no_nul_answers_invalid_system_id() {
    let b = hex(
        "00000032000000020000000000000001414141414141414141414141414141414141414170617373776f7264000034000000",
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVSYSID,
        Some("00000010 80000002 0000000f 00000001"),
    );
    assert_eq!(e.kind(), DecodeErrorKind::MissingNul { max: 16 });
    assert_eq!((e.field(), e.offset()), ("system_id", 16));
    assert!(!e.is_fatal());
}

#[test]
fn smlen_255_answers_invalid_message_length() {
    let b = hex(
        "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f",
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVMSGLEN,
        Some("00000010 80000004 00000001 00000005"),
    );
    assert_eq!(e.kind(), DecodeErrorKind::SmLengthOverrun);
    assert_eq!((e.field(), e.offset()), ("sm_length", 56));
    assert!(!e.is_fatal(), "framing intact: the session stays bound");
}

#[test]
fn tlv_len_overrun_answers_invalid_tlv_stream() {
    let b = hex(
        "0000004000000004000000000000000f0001013434373730303930303030310001013434373730303930303030320000000000000100000000042400ff616263",
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVOPTPARSTREAM,
        Some("00000010 80000004 000000c0 0000000f"),
    );
    assert_eq!(e.kind(), DecodeErrorKind::TlvOverrun);
    assert_eq!(e.offset(), 57);
}

#[test]
fn short_message_and_message_payload_both_present() {
    let b = hex(
        "0000003f0000000400000000000000100001013434373730303930303030310001013434373730303930303030320000000000000100000001780424000179",
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVMSGLEN,
        Some("00000010 80000004 00000001 00000010"),
    );
    assert_eq!(e.kind(), DecodeErrorKind::PayloadConflict);
}

#[test]
fn unknown_vendor_tlv_is_forwarded_byte_identical() {
    let b = hex(
        "0000004700000004000000000000001100010134343737303039303030303100010134343737303039303030303200000000000001000000024869140000084355535452454631",
    );
    let pdu = decode_exact(&b);
    let tlvs = pdu.body.content().unwrap().tlvs;
    assert_eq!(tlvs.get(TlvTag(0x1400)), Some(&b"CUSTREF1"[..]));
}

#[test]
fn udh_concat_total_zero_is_accepted() {
    let b = hex(
        "0000004000000004000000000000001200010134343737303039303030303100010134343737303039303030303200400000000001000000070500032a000178",
    );
    let pdu = decode_exact(&b);
    assert_eq!(pdu.body.content().unwrap().esm_class, Some(0x40));
}

#[test]
fn udhl_overrun_answers_invalid_message_length() {
    let b = hex(
        "0000003f00000004000000000000001300010134343737303039303030303100010134343737303039303030303200400000000001000000060a00032a0201",
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVMSGLEN,
        Some("00000010 80000004 00000001 00000013"),
    );
    assert_eq!(
        (e.kind(), e.field()),
        (DecodeErrorKind::UdhOverrun, "short_message")
    );
    // UDHI with no user data at all.
    let b = pdu(
        4,
        0,
        0x13,
        &format!("00 {SRC} {DST} 40 00 00 00 00 01 00 00 00 00"),
    );
    expect_error(
        &b,
        CommandStatus::ESME_RINVMSGLEN,
        Some("00000010 80000004 00000001 00000013"),
    );
    // UDHI with the header in message_payload: checked there.
    let b = pdu(
        0x103,
        0,
        0x13,
        &format!("00 {SRC} {DST} 40 01 00 0424 0002 0500"),
    );
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVMSGLEN,
        Some("00000010 80000103 00000001 00000013"),
    );
    assert_eq!(e.field(), "message_payload");
    let b = pdu(
        0x103,
        0,
        0x13,
        &format!("00 {SRC} {DST} 40 01 00 0424 0007 0500032a020141"),
    );
    decode_exact(&b);
}

/// A request that fails in one field: the status, kind, field and offset it must
/// report. Each is answered with its own header-only `_resp`.
struct FieldCase {
    what: &'static str,
    frame: Bytes,
    status: CommandStatus,
    kind: DecodeErrorKind,
    field: &'static str,
    offset: u32,
}

fn field_cases() -> Vec<FieldCase> {
    use CommandStatus as S;
    use DecodeErrorKind as K;
    let long = "31".repeat(21); // 21 digits: no NUL within a 21-byte field
    let month_13 = "3234313330313132303030303030302b";
    let tail = "00 00 00 00 00 01 00 00 00 00"; // esm_class .. sm_length 0
    let case = |what, frame, status, kind, field, offset| FieldCase {
        what,
        frame,
        status,
        kind,
        field,
        offset,
    };
    vec![
        case(
            "submit_sm with command_length 16",
            hex("00000010 00000004 00000000 00000005"),
            S::ESME_RINVCMDLEN,
            K::Truncated,
            "service_type",
            16,
        ),
        case(
            "body ends inside system_type",
            pdu(9, 0, 1, "6100 | 00"),
            S::ESME_RINVCMDLEN,
            K::Truncated,
            "system_type",
            19,
        ),
        case(
            "body ends before interface_version",
            pdu(9, 0, 1, "6100 | 00 | 00"),
            S::ESME_RINVCMDLEN,
            K::Truncated,
            "interface_version",
            20,
        ),
        case(
            "body ends inside destination_addr",
            pdu(4, 0, 1, &format!("00 {SRC} 01 01 3434")),
            S::ESME_RINVCMDLEN,
            K::Truncated,
            "destination_addr",
            34,
        ),
        case(
            "source_addr too long",
            pdu(4, 0, 1, &format!("00 01 01 {long} 00 {DST} {tail}")),
            S::ESME_RINVSRCADR,
            K::MissingNul { max: 21 },
            "source_addr",
            19,
        ),
        case(
            "destination_addr too long",
            pdu(4, 0, 1, &format!("00 {SRC} 01 01 {long} 00 {tail}")),
            S::ESME_RINVDSTADR,
            K::MissingNul { max: 21 },
            "destination_addr",
            34,
        ),
        case(
            "service_type too long",
            pdu(4, 0, 1, &format!("3132333435363700 {SRC} {DST} {tail}")),
            S::ESME_RINVSERTYP,
            K::MissingNul { max: 6 },
            "service_type",
            16,
        ),
        case(
            "schedule_delivery_time month 13",
            pdu(
                4,
                0,
                1,
                &format!("00 {SRC} {DST} 00 00 00 {month_13} 00 00 01 00 00 00 00"),
            ),
            S::ESME_RINVSCHED,
            K::InvalidTime,
            "schedule_delivery_time",
            50,
        ),
        case(
            "validity_period month 13",
            pdu(
                4,
                0,
                1,
                &format!("00 {SRC} {DST} 00 00 00 00 {month_13} 00 01 00 00 00 00"),
            ),
            S::ESME_RINVEXPIRY,
            K::InvalidTime,
            "validity_period",
            51,
        ),
        case(
            "validity_period of 17 characters",
            pdu(
                4,
                0,
                1,
                &format!("00 {SRC} {DST} 00 00 00 00 {month_13}30 00 01 00 00 00 00"),
            ),
            S::ESME_RINVEXPIRY,
            K::InvalidTime,
            "validity_period",
            51,
        ),
        case(
            "password too long",
            pdu(2, 0, 1, "6100 | 31323334353637383930 | 00 34 00 00 00"),
            S::ESME_RINVPASWD,
            K::MissingNul { max: 9 },
            "password",
            18,
        ),
        case(
            "query_sm message_id too long",
            pdu(3, 0, 1, &format!("{} 00 {SRC}", "41".repeat(65))),
            S::ESME_RINVMSGID,
            K::MissingNul { max: 65 },
            "message_id",
            16,
        ),
        case(
            "known TLV with a wrong length",
            pdu(4, 0, 1, &format!("00 {SRC} {DST} {tail} 020e 0002 0102")),
            S::ESME_RINVPARLEN,
            K::TlvLength {
                tag: 0x020E,
                len: 2,
            },
            "sar_total_segments",
            57,
        ),
        case(
            "message_payload twice",
            pdu(
                4,
                0,
                1,
                &format!("00 {SRC} {DST} {tail} 0424 0001 61 | 0424 0001 62"),
            ),
            S::ESME_RINVOPTPARSTREAM,
            K::DuplicateTlv { tag: 0x0424 },
            "message_payload",
            62,
        ),
        case(
            "submit_multi without destinations",
            pdu(0x21, 0, 1, &format!("00 {SRC} 00 {tail} 00")),
            S::ESME_RINVNUMDESTS,
            K::NoDestinations,
            "number_of_dests",
            32,
        ),
        case(
            "submit_multi dest_flag 3",
            pdu(0x21, 0, 1, &format!("00 {SRC} 01 03 {tail}")),
            S::ESME_RINVDESTFLAG,
            K::InvalidDestFlag(3),
            "dest_flag",
            33,
        ),
        case(
            "submit_multi dl_name too long",
            pdu(0x21, 0, 1, &format!("00 {SRC} 01 02 {long} {tail}")),
            S::ESME_RINVDLNAME,
            K::MissingNul { max: 21 },
            "dl_name",
            34,
        ),
    ]
}

#[test]
fn field_errors_answer_with_their_own_resp_and_status() {
    for c in field_cases() {
        let err = Pdu::decode(c.frame.clone()).expect_err(c.what);
        assert_eq!(
            (err.status(), err.kind(), err.field(), err.offset()),
            (c.status, c.kind, c.field, c.offset),
            "{}: {err}",
            c.what
        );
        assert!(!err.is_fatal(), "{}", c.what);
        let req = Header::parse(&c.frame).unwrap();
        let expected = Header::new(
            req.command_id.response_id().unwrap(),
            c.status,
            req.sequence_number,
        );
        assert_eq!(err.response_header(), Some(expected), "{}", c.what);
        assert_eq!(
            err.response().unwrap().to_bytes()[..],
            expected.to_bytes(),
            "{}",
            c.what
        );
    }
}

#[test]
fn unknown_command_id_gets_generic_nack_with_its_sequence() {
    let b = hex("00000010 00000099 00000000 00000007");
    let e = expect_error(
        &b,
        CommandStatus::ESME_RINVCMDID,
        Some("00000010 80000000 00000003 00000007"),
    );
    assert_eq!(
        (e.kind(), e.field(), e.offset()),
        (DecodeErrorKind::UnknownCommandId, "command_id", 4)
    );
}

#[test]
fn broken_responses_and_unanswered_pdus_get_no_answer() {
    // A response is never answered, not even with generic_nack.
    let b = pdu(0x8000_0004, 0, 5, &"41".repeat(65));
    let e = expect_error(&b, CommandStatus::ESME_RINVMSGID, None);
    assert_eq!(e.kind(), DecodeErrorKind::MissingNul { max: 65 });
    let b = pdu(0x8000_0004, 0, 5, "41");
    expect_error(&b, CommandStatus::ESME_RINVCMDLEN, None);
    let b = hex("00000010 80000099 00000000 00000005");
    expect_error(&b, CommandStatus::ESME_RINVCMDID, None);
    let b = hex("00000011 80000000 00000003 00000005 00");
    expect_error(&b, CommandStatus::ESME_RINVCMDLEN, None);
    // alert_notification and outbind have no response.
    let long = "31".repeat(65);
    let b = pdu(0x102, 0, 5, &format!("01 01 {long}"));
    expect_error(&b, CommandStatus::ESME_RINVSRCADR, None);
    let b = pdu(0x0B, 0, 5, "616263");
    expect_error(&b, CommandStatus::ESME_RINVCMDLEN, None);
}

#[test]
fn error_display_names_pdu_field_and_offset() {
    let b = hex(
        "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f",
    );
    let e = Pdu::decode(b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "submit_sm: sm_length runs past the end of the body (field sm_length, offset 56)"
    );
    let e = Pdu::decode(Bytes::from_static(b"short")).unwrap_err();
    assert_eq!(e.header(), None);
    assert!(e.to_string().starts_with("pdu: frame shorter"));
    assert_eq!(HEADER_LEN, 16);
}
