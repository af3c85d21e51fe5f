//! `smppguard inspect` end to end: the binary reads hex and captures the test writes itself.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::process::Command;

use etherparse::PacketBuilder;
use serde_json::Value;

fn smppguard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smppguard"))
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

// Reference vectors (SMPP facts §A12).
const BIND_TRX: &str = "0000002300000009000000000000000165736d65303100733363723374000034000000";
const SUBMIT_UCS2: &str = "0000004b00000004000000000000000d0001013434373730303930303030310001013434373730303930303030320000000000000100080012041f044004380432043504420020d83ddc4b";
const SUBMIT_RESP: &str = "0000001980000004000000000000000d304131423243334400";
const SMLEN_255: &str = "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f";

fn bytes(h: &str) -> Vec<u8> {
    hex::decode(h).unwrap()
}

/// A classic pcap file (microsecond timestamps, Ethernet link type).
struct Pcap(Vec<u8>);

impl Pcap {
    fn new() -> Self {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&0i32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        Pcap(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn tcp(
        &mut self,
        ts: u32,
        from: ([u8; 4], u16),
        to: ([u8; 4], u16),
        seq: u32,
        syn: bool,
        payload: &[u8],
    ) {
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(from.0, to.0, 64)
            .tcp(from.1, to.1, seq, 65535);
        if syn {
            b = b.syn();
        }
        let mut frame = Vec::new();
        b.write(&mut frame, payload).unwrap();
        self.0.extend_from_slice(&ts.to_le_bytes());
        self.0.extend_from_slice(&0u32.to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0
            .extend_from_slice(&(frame.len() as u32).to_le_bytes());
        self.0.extend_from_slice(&frame);
    }
}

#[test]
fn hex_input_prints_each_pdu_with_spec_names_and_decoded_text() {
    let out = smppguard()
        .args(["inspect", "--hex", &format!("{SUBMIT_UCS2} {SUBMIT_RESP}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out.stdout);
    assert_eq!(l.len(), 2);
    let submit = &l[0]["pdu"];
    assert_eq!(submit["command_id"], "submit_sm");
    assert_eq!(submit["sequence_number"], 13);
    assert_eq!(submit["body"]["source_addr"], "447700900001");
    assert_eq!(submit["body"]["data_coding"], 8);
    assert_eq!(submit["body"]["decoded"]["text"], "Привет 👋");
    assert_eq!(l[1]["pdu"]["command_id"], "submit_sm_resp");
    assert_eq!(l[1]["pdu"]["body"]["message_id"], "0A1B2C3D");
}

#[test]
fn malformed_pdu_is_printed_with_its_error_and_response_not_skipped() {
    let out = smppguard()
        .args(["inspect", "--hex", &format!("{SMLEN_255}{SUBMIT_RESP}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let l = lines(&out.stdout);
    assert_eq!(
        l.len(),
        2,
        "the PDU after the malformed one is still decoded"
    );
    let err = &l[0]["error"];
    assert_eq!(err["status"], "ESME_RINVMSGLEN");
    assert_eq!(err["field"], "sm_length");
    assert_eq!(err["response"], "00000010800000040000000100000005");
    assert_eq!(l[1]["pdu"]["command_id"], "submit_sm_resp");
}

#[test]
fn stdin_hex_and_framing_errors() {
    use std::io::Write;
    let mut child = smppguard()
        .arg("inspect")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // 'HTTP/1.1' read as a header: a framing error, fatal for the stream.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"485454502f312e31 0000")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let l = lines(&out.stdout);
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["error"]["fatal"], true);
    assert_eq!(l[0]["error"]["status"], "ESME_RINVCMDLEN");
}

#[test]
fn pcap_streams_are_reassembled_per_direction_in_order() {
    let esme = ([10, 0, 0, 1], 40000);
    let smsc = ([10, 0, 0, 2], 2775);
    let bind = bytes(BIND_TRX);
    let submit = bytes(SUBMIT_UCS2);
    let resp = bytes(SUBMIT_RESP);

    let mut p = Pcap::new();
    p.tcp(100, esme, smsc, 999, true, b"");
    p.tcp(100, smsc, esme, 4999, true, b"");
    p.tcp(101, esme, smsc, 1000, false, &bind);
    // The submit_sm crosses two segments, and the second arrives first.
    let (a, b) = submit.split_at(30);
    let seq_a = 1000 + bind.len() as u32;
    p.tcp(102, esme, smsc, seq_a + a.len() as u32, false, b);
    p.tcp(103, esme, smsc, seq_a, false, a);
    // A retransmission of the first half changes nothing.
    p.tcp(104, esme, smsc, seq_a, false, a);
    p.tcp(105, smsc, esme, 5000, false, &resp);
    // Unrelated traffic on another port is ignored.
    p.tcp(
        106,
        ([10, 0, 0, 3], 5555),
        ([10, 0, 0, 4], 80),
        1,
        false,
        b"GET / HTTP/1.1\r\n",
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smpp.pcap");
    std::fs::write(&path, &p.0).unwrap();
    let out = smppguard()
        .args(["inspect", "--pcap"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out.stdout);
    let ids: Vec<&str> = l
        .iter()
        .map(|v| v["pdu"]["command_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bind_transceiver", "submit_sm", "submit_sm_resp"]);
    assert_eq!(l[0]["direction"], "esme_to_smsc");
    assert_eq!(l[0]["pdu"]["body"]["system_id"], "esme01");
    assert_eq!(
        l[1]["ts"], 103.0,
        "stamped with the segment that completed it"
    );
    assert_eq!(l[1]["pdu"]["body"]["decoded"]["text"], "Привет 👋");
    assert_eq!(l[2]["direction"], "smsc_to_esme");
    assert_eq!(l[2]["src"], "10.0.0.2:2775");
}
