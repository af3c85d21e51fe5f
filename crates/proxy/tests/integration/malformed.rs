//! Malformed input on one session (the reference vectors) leaves other sessions, and
//! the session itself where the framing is intact, unaffected; floods stay bounded.

use std::time::Duration;

use bytes::Bytes;
use smppguard_codec::{CommandStatus as S, Pdu};
use smppguard_sim::BindType;
use smppguard_sim::message::Sms;
use tokio::io::AsyncWriteExt;

use super::support::{Harness, Setup, account, header, sim_config, without_seq};

fn vector(hex_str: &str) -> Bytes {
    Bytes::from(hex::decode(hex_str).unwrap())
}

/// The status the codec assigns to a malformed frame.
fn codec_status(frame: &Bytes) -> S {
    Pdu::decode(frame.clone()).unwrap_err().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reference_vector_is_answered_and_the_session_survives() {
    let h = Harness::start(Setup::default()).await;
    let bystander = h.bound(BindType::Transceiver, "acme").await;
    let e = h.bound(BindType::Transceiver, "acme").await;
    let sm = Sms::gsm7("Hello").unwrap().submit_sm().unwrap();
    // Well-framed but invalid: answered with the PDU's own _resp, session stays bound.
    let bad = [
        // smlen_255
        "0000003e00000004000000000000000500010134343737303039303030303100010134343737303039303030303200000000000001000000ff48656c6c6f",
        // tlv_len_overrun
        "0000004000000004000000000000000f0001013434373730303930303030310001013434373730303930303030320000000000000100000000042400ff616263",
        // short_message and message_payload both present
        "0000003f0000000400000000000000100001013434373730303930303030310001013434373730303930303030320000000000000100000001780424000179",
        // UDHL 10 > 5 bytes of user data
        "0000003f00000004000000000000001300010134343737303039303030303100010134343737303039303030303200400000000001000000060a00032a0201",
    ];
    for v in bad {
        let frame = vector(v);
        let want = codec_status(&frame);
        assert_ne!(want, S::ESME_ROK);
        e.send_raw(frame.clone()).await.unwrap();
        let resp = e.recv_raw_timeout(Duration::from_secs(5)).await.unwrap();
        let h2 = header(&resp);
        assert_eq!(h2.command_id.0, 0x8000_0004, "{v}");
        assert_eq!(h2.command_status, want, "{v}");
        assert_eq!(h2.sequence_number, header(&frame).sequence_number);
        assert_eq!(e.submit(sm.clone()).await.unwrap().status, S::ESME_ROK);
    }
    // Valid oddities are forwarded byte-identical (only the sequence number changes).
    let good = [
        // unknown vendor TLV 0x1400
        "0000004700000004000000000000001100010134343737303039303030303100010134343737303039303030303200000000000001000000024869140000084355535452454631",
        // UDH concat total=0: a single message
        "0000004000000004000000000000001200010134343737303039303030303100010134343737303039303030303200400000000001000000070500032a000178",
    ];
    let before = h.smsc().received().len();
    for v in good {
        let frame = vector(v);
        e.send_raw(frame.clone()).await.unwrap();
        let resp = e.recv_raw_timeout(Duration::from_secs(5)).await.unwrap();
        assert_eq!(header(&resp).command_status, S::ESME_ROK, "{v}");
        let got = h.smsc().received();
        assert_eq!(without_seq(&got.last().unwrap().frame), without_seq(&frame));
    }
    assert_eq!(h.smsc().received().len(), before + 2);
    // Unframeable input closes only that connection, after a generic_nack.
    for v in ["0000000800000015", "485454502f312e31"] {
        let c = h.bound(BindType::Transceiver, "acme").await;
        c.send_raw(vector(v)).await.unwrap();
        let nack = c.recv_raw_timeout(Duration::from_secs(5)).await.unwrap();
        let nh = header(&nack);
        assert_eq!(nh.command_id.0, 0x8000_0000);
        assert_eq!(nh.command_status, S::ESME_RINVCMDLEN);
        tokio::time::timeout(Duration::from_secs(5), c.closed())
            .await
            .expect("closed");
    }
    // A bind with an unterminated system_id, before binding: refused, not bound.
    let c = h.connect().await;
    let frame = vector(
        "00000032000000020000000000000001414141414141414141414141414141414141414170617373776f7264000034000000",
    );
    c.send_raw(frame.clone()).await.unwrap();
    let resp = c.recv_raw_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(header(&resp).command_id.0, 0x8000_0002);
    assert_eq!(header(&resp).command_status, codec_status(&frame));
    assert_eq!(
        c.submit(sm.clone()).await.unwrap().status,
        S::ESME_RINVBNDSTS
    );
    // The bystander never noticed.
    assert_eq!(bystander.enquire_link().await.unwrap(), S::ESME_ROK);
    assert_eq!(bystander.submit(sm).await.unwrap().status, S::ESME_ROK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_a_client_that_never_reads_stays_bounded() {
    let mut sim = sim_config();
    sim.latency = Duration::from_millis(200);
    let h = Harness::start(Setup {
        smscs: vec![sim],
        extra: account("acme", "window = 16"),
        ..Setup::default()
    })
    .await;
    let bystander = h.bound(BindType::Transceiver, "acme").await;
    // A raw client: binds, then writes 20 000 submits and never reads an answer.
    let mut raw = tokio::net::TcpStream::connect(h.addr()).await.unwrap();
    let bind = Pdu::new(
        smppguard_codec::Body::BindTransceiver(smppguard_codec::Bind {
            system_id: smppguard_codec::COctetString::new(&b"acme"[..]).unwrap(),
            password: smppguard_codec::COctetString::new(
                super::support::PASSWORD.as_bytes().to_vec(),
            )
            .unwrap(),
            interface_version: 0x34,
            ..smppguard_codec::Bind::default()
        }),
        S::ESME_ROK,
        1,
    )
    .to_bytes();
    raw.write_all(&bind).await.unwrap();
    let sm = Pdu::new(
        smppguard_codec::Body::SubmitSm(Sms::gsm7("Hello").unwrap().submit_sm().unwrap()),
        S::ESME_ROK,
        1,
    )
    .to_bytes();
    let mut burst = Vec::new();
    for seq in 2..20_002u32 {
        let mut f = sm.to_vec();
        f[12..16].copy_from_slice(&seq.to_be_bytes());
        burst.extend_from_slice(&f);
    }
    let writer = tokio::spawn(async move {
        // The proxy stops reading once its answers cannot be written: this write may
        // never finish, which is the point.
        let _ = tokio::time::timeout(Duration::from_secs(3), raw.write_all(&burst)).await;
        raw
    });
    let mut max_outstanding = 0;
    for _ in 0..100 {
        max_outstanding = max_outstanding.max(h.proxy.outstanding());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Never more than the window in flight, whatever the client sends.
    assert!(max_outstanding <= 16, "{max_outstanding}");
    assert!(h.proxy.stats().requests_throttled > 0);
    // Other sessions are served normally meanwhile.
    let started = std::time::Instant::now();
    assert_eq!(bystander.enquire_link().await.unwrap(), S::ESME_ROK);
    let r = bystander
        .submit(Sms::gsm7("Hi").unwrap().submit_sm().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, S::ESME_ROK);
    assert!(started.elapsed() < Duration::from_secs(2));
    let _raw = writer.await.unwrap();
}
