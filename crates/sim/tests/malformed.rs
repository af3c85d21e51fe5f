//! Malformed input (the reference's malformed vectors and more): the answer the codec
//! prescribes, and the session stays up unless the framing itself is broken.

// Test helpers outside `#[test]` functions: a panic there is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use smppguard_codec::{CommandId, CommandStatus, Header, Pdu};
use smppguard_sim::{BindType, esme::Esme};

fn hex(s: &str) -> Bytes {
    Bytes::from(::hex::decode(s).unwrap())
}

/// The answer the next raw frame brings.
async fn answer(esme: &Esme) -> Header {
    let frame = esme
        .recv_raw_timeout(SOON)
        .await
        .expect("an answer to the raw frame");
    Header::parse(&frame).unwrap()
}

/// Sends `frame` on a bound transmitter and returns the answer's header; then checks
/// the session still serves a normal submit.
async fn answer_and_survive(frame: &str) -> Header {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    esme.send_raw(hex(frame)).await.unwrap();
    let header = answer(&esme).await;
    let resp = esme.submit(hello()).await.unwrap();
    assert!(resp.status.is_ok(), "session did not survive: {resp:?}");
    header
}

#[tokio::test]
async fn sm_length_beyond_the_body_is_invalid_message_length() {
    let h = answer_and_survive(
        "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f",
    )
    .await;
    assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVMSGLEN);
    assert_eq!(h.sequence_number, 5);
    assert_eq!(h.command_length, 16);
}

#[tokio::test]
async fn tlv_length_overrun_is_invalid_optional_parameter_stream() {
    let h = answer_and_survive(
        "0000004000000004000000000000000f0001013434373730303930303030310001013434373730303930303030320000000000000100000000042400ff616263",
    )
    .await;
    assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVOPTPARSTREAM);
    assert_eq!(h.sequence_number, 0x0f);
}

#[tokio::test]
async fn short_message_and_payload_together_get_the_codecs_status() {
    let frame = "0000003f0000000400000000000000100001013434373730303930303030310001013434373730303930303030320000000000000100000001780424000179";
    let expected = Pdu::decode(hex(frame)).unwrap_err().status();
    assert!(
        expected == CommandStatus::ESME_RINVMSGLEN
            || expected == CommandStatus::ESME_RINVOPTPARAMVAL
    );
    let h = answer_and_survive(frame).await;
    assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
    assert_eq!(h.command_status, expected);
}

#[tokio::test]
async fn udh_length_beyond_the_user_data_is_invalid_message_length() {
    let h = answer_and_survive(
        "0000003f00000004000000000000001300010134343737303039303030303100010134343737303039303030303200400000000001000000060a00032a0201",
    )
    .await;
    assert_eq!(h.command_status, CommandStatus::ESME_RINVMSGLEN);
    assert_eq!(h.sequence_number, 0x13);
}

#[tokio::test]
async fn unknown_command_id_gets_generic_nack_and_the_session_stays() {
    let h = answer_and_survive("00000010000000990000000000000007").await;
    assert_eq!(h.command_id, CommandId::GENERIC_NACK);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVCMDID);
    assert_eq!(h.sequence_number, 7);
}

#[tokio::test]
async fn valid_oddities_are_accepted_and_recorded_byte_identical() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    // Unknown vendor TLV 0x1400, and a UDH concat IE with total 0.
    let vendor = "0000004700000004000000000000001100010134343737303039303030303100010134343737303039303030303200000000000001000000024869140000084355535452454631";
    let total0 = "0000004000000004000000000000001200010134343737303039303030303100010134343737303039303030303200400000000001000000070500032a000178";
    for (frame, seq) in [(vendor, 0x11), (total0, 0x12)] {
        esme.send_raw(hex(frame)).await.unwrap();
        let h = answer(&esme).await;
        assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
        assert_eq!(h.command_status, CommandStatus::ESME_ROK);
        assert_eq!(h.sequence_number, seq);
    }
    let received = smsc.received();
    assert_eq!(received.len(), 2);
    assert_eq!(&received[0].frame[..], &hex(vendor)[..]);
    assert_eq!(&received[1].frame[..], &hex(total0)[..]);
}

#[tokio::test]
async fn bind_with_unterminated_system_id_is_refused_without_binding() {
    let smsc = smsc(config()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    esme.send_raw(hex(
        "00000032000000020000000000000001414141414141414141414141414141414141414170617373776f7264000034000000",
    ))
    .await
    .unwrap();
    let h = answer(&esme).await;
    assert_eq!(h.command_id, CommandId::BIND_TRANSMITTER_RESP);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVSYSID);
    assert!(smsc.bound_sessions().is_empty());
    assert_eq!(smsc.stats().bind_failures, 1);
    // Still connected: a proper bind works.
    let resp = esme
        .bind(BindType::Transmitter, "esme01", "s3cr3t")
        .await
        .unwrap();
    assert!(resp.status.is_ok());
}

#[tokio::test]
async fn command_length_below_16_gets_generic_nack_and_close() {
    let smsc = smsc(config()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    esme.send_raw(hex("0000000800000015")).await.unwrap();
    let h = answer(&esme).await;
    assert_eq!(h.command_id, CommandId::GENERIC_NACK);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVCMDLEN);
    assert_eq!(h.sequence_number, 0);
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    smsc.wait_for(SOON, |s| s.framing_errors == 1)
        .await
        .unwrap();
}

#[tokio::test]
async fn http_on_the_smpp_port_is_closed_without_waiting_for_a_gigabyte() {
    let smsc = smsc(config()).await;
    let esme = Esme::connect(smsc.local_addr()).await.unwrap();
    esme.send_raw(Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"))
        .await
        .unwrap();
    let h = answer(&esme).await;
    assert_eq!(h.command_id, CommandId::GENERIC_NACK);
    assert_eq!(h.command_status, CommandStatus::ESME_RINVCMDLEN);
    tokio::time::timeout(SOON, esme.closed()).await.unwrap();
    // Other sessions are unaffected.
    let other = bound(&smsc, BindType::Transmitter, "esme01").await;
    assert!(other.submit(hello()).await.unwrap().status.is_ok());
}

#[tokio::test]
async fn garbage_split_across_reads_is_framed_correctly() {
    let smsc = smsc(config()).await;
    let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
    // A valid submit_sm written one byte at a time, then a malformed one.
    let good = "0000003e000000040000000000000005000101343437373030393030303031000101343437373030393030303032000000000000010000000548656c6c6f";
    for b in hex(good) {
        esme.send_raw(Bytes::copy_from_slice(&[b])).await.unwrap();
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let h = answer(&esme).await;
    assert_eq!(h.command_status, CommandStatus::ESME_ROK);
    assert_eq!(h.sequence_number, 5);
    assert_eq!(&smsc.received()[0].frame[..], &hex(good)[..]);
}

#[tokio::test]
async fn validation_does_not_depend_on_recording_and_can_be_turned_off() {
    let smlen_255 = "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f";
    for (validate, expected) in [
        (true, CommandStatus::ESME_RINVMSGLEN),
        (false, CommandStatus::ESME_ROK),
    ] {
        let smsc = smsc(smppguard_sim::SimConfig {
            record: None,
            validate,
            ..config()
        })
        .await;
        let esme = bound(&smsc, BindType::Transmitter, "esme01").await;
        esme.send_raw(hex(smlen_255)).await.unwrap();
        assert_eq!(answer(&esme).await.command_status, expected);
    }
}
