//! Codec hot path: decoding and encoding the PDUs a proxy handles most, side by side
//! with rusmpp 0.4 decoding the same bytes.
//!
//! The target is 5 million `submit_sm` decodes per second per core (about 200 ns each)
//! and faster than rusmpp. Four decoders run on identical frames:
//! - `smppguard_view`: `Pdu::decode_view`, every field a slice of the frame (the
//!   proxy's inspect-then-forward path);
//! - `smppguard`: `Pdu::decode` of a frame shared the way the framer hands it out (an
//!   `Arc`-backed `Bytes` split off a read buffer), every field a `Bytes` handle; the
//!   frame clone and one reference-count increment per non-empty field are the cost;
//! - `rusmpp`: rusmpp's owned `Command::decode`, which consumes a `BytesMut` holding the
//!   frame after its length word, as its tokio codec does (the copy into that buffer is
//!   setup, not measured);
//! - `rusmpp_borrowed`: rusmpp-core's borrowed `Command` over a slice (TLVs in a
//!   fixed-capacity vector of 16), its zero-copy decoder.
//!
//! Time is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time:
//! the reference machine is a shared 2-vCPU host where wall time also counts other
//! processes' time slices. Criterion's analysis is unchanged; it reports "time" and
//! throughput from CPU nanoseconds.
//!
//! Run: `cargo bench -p smppguard-benches --bench codec`

// Fixtures are built from constants: a failed unwrap or slice is a broken benchmark,
// caught on its first run, not input handling.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

#[path = "support/thread_cpu.rs"]
mod thread_cpu;

use std::{hint::black_box, time::Duration};

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rusmpp::{
    decode::DecodeWithLength as _,
    encode::{Length as _, owned::Encode as _},
};
use rusmpp_core::{command::borrowed::Command as BorrowedCommand, decode::borrowed};
use smppguard_codec::{
    Body, COctetString, CommandStatus, Pdu, ShortMessage, SubmitSm, Timestamp, TlvTag, Tlvs,
};
use thread_cpu::ThreadCpu;

/// TLV capacity of rusmpp's borrowed decoder.
const RUSMPP_TLVS: usize = 16;

/// 160 characters of neutral service text in the GSM 7-bit default alphabet (unpacked,
/// one septet per octet, as SMPP carries it).
const GSM7_TEXT: &[u8; 160] =
    b"Your parcel 4471 is out for delivery today between 10:00 and 14:00. \
Track it or pick another day in the app. Reply HELP for support, or STOP to opt out. Thanks!";

/// 70 characters of neutral service text for UCS-2.
const UCS2_TEXT: &str = "您的包裹今天送達，預計上午十點到下午兩點之間，可在應用程式中追蹤或改期，如需協助請回覆幫助，謝謝您的耐心等候與支持。祝您有美好的一天，再會。";

fn address(digits: &'static str) -> COctetString<21> {
    COctetString::new(digits).unwrap()
}

fn submit_sm(esm_class: u8, data_coding: u8, short_message: Vec<u8>, tlvs: Tlvs) -> Pdu {
    let body = SubmitSm {
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: address("447700900001"),
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: address("447700900002"),
        esm_class,
        registered_delivery: 1,
        data_coding,
        validity_period: Timestamp::new("000001000000000R").unwrap(),
        short_message: ShortMessage::new(short_message).unwrap(),
        tlvs,
        ..SubmitSm::default()
    };
    Pdu::new(Body::SubmitSm(body), CommandStatus::ESME_ROK, 5)
}

/// The frames under test, by name.
fn frames() -> Vec<(&'static str, Bytes)> {
    let gsm7 = submit_sm(0, 0, GSM7_TEXT.to_vec(), Tlvs::new());

    let ucs2: Vec<u8> = UCS2_TEXT
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    assert_eq!(ucs2.len(), 140, "70 UCS-2 characters");
    let mut user_data = vec![0x05, 0x00, 0x03, 0x2A, 0x02, 0x01];
    user_data.extend_from_slice(&ucs2);
    let tlvs = Tlvs::new()
        .with(TlvTag::USER_MESSAGE_REFERENCE, &[0x00, 0x2A])
        .unwrap()
        .with(TlvTag::SOURCE_PORT, &[0x23, 0xF0])
        .unwrap()
        .with(TlvTag(0x1400), b"CUSTREF1")
        .unwrap();
    let ucs2 = submit_sm(0x40, 0x08, user_data, tlvs);

    // A delivery receipt as the reference's deliver_sm vector: DLR text plus
    // receipted_message_id and message_state.
    let receipt = hex::decode(
        "000000b4000000050000000000000001000101343437373030393030303032000101343437373030393030\
         303031000400000000000000006969643a3041314232433344207375623a30303120646c7672643a3030\
         31207375626d697420646174653a3234303130313132303020646f6e6520646174653a32343031303131\
         32303120737461743a44454c49565244206572723a30303020746578743a48656c6c6f001e0009304131\
         4232433344000427000102",
    )
    .unwrap();
    let enquire_link = hex::decode("00000010000000150000000000000002").unwrap();

    [
        ("submit_sm_gsm7_160", gsm7.to_bytes().to_vec()),
        ("submit_sm_ucs2_70_udh_tlvs", ucs2.to_bytes().to_vec()),
        ("deliver_sm_receipt", receipt),
        ("enquire_link", enquire_link),
    ]
    .into_iter()
    .map(|(name, bytes)| (name, shared_frame(&bytes)))
    .collect()
}

/// The frame as the framer hands it out: split off a larger read buffer, so it shares
/// an `Arc`-backed allocation.
fn shared_frame(bytes: &[u8]) -> Bytes {
    let mut read_buf = BytesMut::with_capacity(4096);
    read_buf.extend_from_slice(bytes);
    read_buf.extend_from_slice(&[0; 64]);
    read_buf.split_to(bytes.len()).freeze()
}

type Bench = Criterion<ThreadCpu>;

fn decode(c: &mut Bench) {
    for (name, frame) in frames() {
        // Every decoder must accept the frame, and ours must give the bytes back.
        let ours = Pdu::decode(frame.clone()).unwrap();
        assert_eq!(ours.to_bytes(), frame);
        assert_eq!(Pdu::decode_view(&frame).unwrap().to_bytes(), frame);
        let len = frame.len() - 4;
        let mut owned_src = BytesMut::from(&frame[4..]);
        rusmpp::Command::decode(&mut owned_src, len).unwrap();
        <BorrowedCommand<'_, RUSMPP_TLVS> as borrowed::DecodeWithLength>::decode(&frame[4..], len)
            .unwrap();

        let mut group = c.benchmark_group(format!("decode/{name}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("smppguard_view", |b| {
            b.iter(|| Pdu::decode_view(black_box(&frame[..])).is_ok())
        });
        group.bench_function("smppguard", |b| {
            b.iter(|| Pdu::decode(black_box(&frame).clone()))
        });
        group.bench_function("rusmpp", |b| {
            b.iter_batched(
                || BytesMut::from(&frame[4..]),
                |mut src| rusmpp::Command::decode(black_box(&mut src), len),
                BatchSize::SmallInput,
            )
        });
        group.bench_function("rusmpp_borrowed", |b| {
            b.iter(|| {
                <BorrowedCommand<'_, RUSMPP_TLVS> as borrowed::DecodeWithLength>::decode(
                    black_box(&frame[4..]),
                    len,
                )
            })
        });
        group.finish();
    }
}

fn encode(c: &mut Bench) {
    for (name, frame) in frames() {
        let ours = Pdu::decode(frame.clone()).unwrap();
        let (theirs, _) =
            rusmpp::Command::decode(&mut BytesMut::from(&frame[4..]), frame.len() - 4).unwrap();
        let mut check = BytesMut::new();
        check.extend_from_slice(&(4 + theirs.length() as u32).to_be_bytes());
        theirs.encode(&mut check);
        assert_eq!(check, frame, "rusmpp re-encodes {name} byte-exact");

        let mut group = c.benchmark_group(format!("encode/{name}"));
        group.throughput(Throughput::Elements(1));
        let mut buf = BytesMut::with_capacity(1024);
        group.bench_function("smppguard", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&ours).encode(&mut buf);
                black_box(buf.len())
            })
        });
        group.bench_function("rusmpp", |b| {
            b.iter(|| {
                buf.clear();
                let cmd = black_box(&theirs);
                buf.extend_from_slice(&(4 + cmd.length() as u32).to_be_bytes());
                cmd.encode(&mut buf);
                black_box(buf.len())
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .with_measurement(ThreadCpu)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = decode, encode
}
criterion_main!(benches);
