//! One ESME session against a running proxy. The input is a program of operations
//! (binds with right and wrong credentials, submits in GSM 7 / UCS-2 / binary, parts of
//! concatenated messages, data_sm, enquire_link, unbind, responses, frames with any
//! command_id and body, raw bytes) turned into one byte stream; the stream is written to
//! the proxy over an in-memory pipe, then closed, and everything the proxy answers is
//! read back.
//!
//! Behind the proxy runs the simulator SMSC (a real component, on loopback), and the
//! proxy has a rule pack, so submits are decoded, held, scanned, blocked or forwarded
//! as in production. Time is paused during a session (timers fire as soon as the
//! runtime is idle), so hold and response deadlines cost no wall-clock time.
//!
//! Checks: no panic and no hang; every request the proxy read (every frame up to the
//! first framing error or unbind) gets exactly one response with its sequence number,
//! of its response type or `generic_nack`, and nothing answers a request that was not
//! sent; once the session ends, nothing stays outstanding or held in the proxy.
#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smppguard_codec::{CommandId, CommandStatus, Framer, Header};
use smppguard_proxy::{Config, Proxy, ProxyHandle};
use smppguard_sim::{SimConfig, Smsc, SmscHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

const MAX_PDU: u32 = 1024;
const PASSWORD: &[u8] = b"pw";

/// A rule pack: one keyword rule, so the block path is reachable.
const RULES: &str = r#"format = 1

[pack]
name = "fuzz"
version = "1"

[[rule]]
id = "prize"
description = "prize lure"
category = "spam"
action = "reject"
patterns.p = { literal = "free prize" }
"#;

struct Env {
    rt: Runtime,
    proxy: ProxyHandle,
    _smsc: SmscHandle,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("smppguard-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rules.toml"), RULES).unwrap();
        // A cheap hash: a bind's verification runs on every input that binds.
        let hash = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(
            PASSWORD,
            &SaltString::encode_b64(b"smppguard-fuzz").unwrap(),
        )
        .unwrap()
        .to_string();
        let (proxy, smsc) = rt.block_on(async {
            let smsc = Smsc::start(
                "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
                SimConfig {
                    seed: 1,
                    record: None,
                    ..SimConfig::default()
                },
            )
            .await
            .unwrap();
            let text = format!(
                r#"
[server]
max_pdu_bytes = {MAX_PDU}
bind_timeout_seconds = 3600
inactivity_timeout_seconds = 86400

[[listeners]]
address = "127.0.0.1:0"

[[upstreams]]
name = "smsc"
address = "{smsc}"
system_id = "proxy"
password = "pw"
window = 16
enquire_link_interval_seconds = 3600

[[routes]]
name = "default"
upstreams = ["smsc"]

[relay]
response_timeout_seconds = 5

[hold]
timeout_ms = 200
max_messages_per_account = 8
max_bytes_per_account = 16384

[auth]
slowdown_after_failures = 1000000
lockout_after_failures = 1000000

[filter]
rules = "rules.toml"

[[accounts]]
system_id = "esme"
password_hash = "{hash}"
route = "default"
window = 4

[[accounts]]
system_id = "rx"
password_hash = "{hash}"
route = "default"
bind_types = ["receiver"]
"#,
                smsc = smsc.local_addr()
            );
            let config = Config::from_toml(&text, &dir).unwrap();
            let proxy = Proxy::start(config).await.unwrap();
            for _ in 0..500 {
                if proxy.upstreams().iter().all(|u| u.bound == u.sessions) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (proxy, smsc)
        });
        Env {
            rt,
            proxy,
            _smsc: smsc,
        }
    })
}

/// Reads the fuzzer's bytes as a program; past the end everything reads as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, max: usize) -> &[u8] {
        let n = (usize::from(self.byte()) % (max + 1)).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
}

fn frame(out: &mut Vec<u8>, command_id: u32, status: u32, seq: u32, body: &[u8]) {
    let len = u32::try_from(16 + body.len()).unwrap();
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&command_id.to_be_bytes());
    out.extend_from_slice(&status.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(body);
}

fn cstr(body: &mut Vec<u8>, s: &[u8]) {
    body.extend(s.iter().copied().filter(|&b| b != 0));
    body.push(0);
}

/// service_type, source and destination of a submit_sm or data_sm.
fn addresses() -> Vec<u8> {
    let mut b = Vec::new();
    cstr(&mut b, b"");
    b.extend_from_slice(&[1, 1]);
    cstr(&mut b, b"447700900001");
    b.extend_from_slice(&[1, 1]);
    cstr(&mut b, b"447700900002");
    b
}

/// A submit_sm body: addresses, data_coding, esm_class and the short message.
fn submit_body(esm_class: u8, data_coding: u8, registered: u8, sm: &[u8]) -> Vec<u8> {
    let mut b = addresses();
    b.extend_from_slice(&[esm_class, 0, 0]);
    cstr(&mut b, b"");
    cstr(&mut b, b"");
    b.extend_from_slice(&[registered, 0, data_coding, 0]);
    let sm = &sm[..sm.len().min(254)];
    b.push(u8::try_from(sm.len()).unwrap());
    b.extend_from_slice(sm);
    b
}

/// Text in the data_coding the input picks: GSM 7 default (0), UCS-2 (8), 8-bit (4).
fn encode(input: &mut Input<'_>, prize: bool) -> (u8, Vec<u8>) {
    let mut text = input.bytes(120).to_vec();
    if prize {
        text.extend_from_slice(b" free prize ");
    }
    match input.byte() % 3 {
        0 => (0, text.iter().map(|b| b & 0x7f).collect()),
        1 => (8, text.iter().flat_map(|&b| [0, b]).collect()),
        _ => (4, text),
    }
}

const KNOWN: [u32; 14] = [
    0x0000_0001, // bind_receiver
    0x0000_0002, // bind_transmitter
    0x0000_0003, // query_sm
    0x0000_0004, // submit_sm
    0x0000_0005, // deliver_sm
    0x0000_0006, // unbind
    0x0000_0007, // replace_sm
    0x0000_0008, // cancel_sm
    0x0000_0009, // bind_transceiver
    0x0000_000b, // outbind
    0x0000_0015, // enquire_link
    0x0000_0021, // submit_multi
    0x0000_0102, // alert_notification
    0x0000_0103, // data_sm
];

/// The client's byte stream.
fn program(data: &[u8]) -> Vec<u8> {
    let mut input = Input(data);
    let mut out = Vec::new();
    while !input.0.is_empty() && out.len() < 64 * 1024 {
        let op = input.byte();
        let seq = u32::from(input.byte());
        match op % 12 {
            0 => {
                let command = [0x09, 0x02, 0x01][usize::from(input.byte() % 3)];
                let who = input.byte();
                let system_id: &[u8] = [&b"esme"[..], b"rx", b"nobody"][usize::from(who % 3)];
                let password: &[u8] = if who & 0x80 == 0 { PASSWORD } else { b"wrong" };
                let mut b = Vec::new();
                cstr(&mut b, system_id);
                cstr(&mut b, password);
                cstr(&mut b, b"");
                b.extend_from_slice(&[[0x34, 0x50, 0x33][usize::from(who % 3)], 0, 0]);
                cstr(&mut b, b"");
                frame(&mut out, command, 0, seq, &b);
            }
            1 | 2 => {
                let registered = input.byte() & 1;
                let (dc, sm) = encode(&mut input, op % 12 == 2);
                frame(&mut out, 0x04, 0, seq, &submit_body(0, dc, registered, &sm));
            }
            3 => {
                // One part of a concatenated message (8-bit reference UDH).
                let (reference, total, part) =
                    (input.byte() % 4, input.byte() % 4, input.byte() % 5);
                let (dc, text) = encode(&mut input, false);
                let mut sm = vec![5, 0, 3, reference, total, part];
                sm.extend_from_slice(&text);
                frame(&mut out, 0x04, 0, seq, &submit_body(0x40, dc, 0, &sm));
            }
            4 => {
                // data_sm with message_payload.
                let prize = input.byte() & 1 == 1;
                let (dc, text) = encode(&mut input, prize);
                let mut b = addresses();
                b.extend_from_slice(&[0, 0, dc]);
                b.extend_from_slice(&0x0424u16.to_be_bytes());
                b.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
                b.extend_from_slice(&text);
                frame(&mut out, 0x0103, 0, seq, &b);
            }
            5 => frame(&mut out, 0x15, 0, seq, &[]),
            6 => frame(&mut out, 0x06, 0, seq, &[]),
            7 => {
                let id = KNOWN[usize::from(input.byte()) % KNOWN.len()];
                let body = input.bytes(200).to_vec();
                frame(&mut out, id, 0, seq, &body);
            }
            8 => {
                let id = input.u32();
                let status = input.u32();
                let body = input.bytes(64).to_vec();
                frame(&mut out, id, status, seq, &body);
            }
            9 => {
                // Responses the ESME might send: deliver_sm_resp, generic_nack, ...
                let id = [0x8000_0005, 0x8000_0000, 0x8000_0103, 0x8000_0015]
                    [usize::from(input.byte() % 4)];
                frame(&mut out, id, 0, seq, &[0]);
            }
            10 => out.extend_from_slice(input.bytes(40)),
            _ => {
                // A frame split around a pause: only its first bytes, the rest later.
                let body = input.bytes(32).to_vec();
                let mut f = Vec::new();
                frame(&mut f, 0x15, 0, seq, &body);
                out.extend_from_slice(&f);
            }
        }
    }
    out
}

/// What the proxy owes for a client stream.
#[derive(Debug, Default)]
struct Owed {
    /// Per sequence number, the command_ids that may answer each request read.
    answers: HashMap<u32, Vec<CommandId>>,
    /// The framing error's generic_nack, if the stream has one: it echoes the header's
    /// sequence number if the whole header had arrived when the length was checked,
    /// else 0, so either is accepted.
    frame_error: Option<u32>,
}

/// Every frame the proxy reads up to the first framing error or unbind is owed one
/// answer (requests), or none (responses, outbind, alert_notification).
fn owed(stream: &[u8]) -> Owed {
    let mut framer = Framer::new(MAX_PDU);
    let mut buf = BytesMut::from(stream);
    let mut owed = Owed::default();
    loop {
        match framer.next_frame(&mut buf) {
            Ok(Some(f)) => {
                let h = Header::parse(&f).unwrap();
                let id = h.command_id;
                if id.is_response() {
                    continue;
                }
                let answer = match id.response_id() {
                    Some(resp) => Some(resp),
                    None if !id.is_known() => Some(CommandId::GENERIC_NACK),
                    // outbind, alert_notification: never answered.
                    None => None,
                };
                if let Some(a) = answer {
                    owed.answers.entry(h.sequence_number).or_default().push(a);
                }
                if id == CommandId::UNBIND {
                    return owed;
                }
            }
            Ok(None) => return owed,
            Err(e) => {
                owed.frame_error = Some(e.sequence_number());
                return owed;
            }
        }
    }
}

impl Owed {
    /// Crosses `h` off; panics if nothing owed matches it.
    fn settle(&mut self, h: &Header) {
        // The framing error's generic_nack carries ESME_RINVCMDLEN: try it there first.
        let framing = h.command_status == CommandStatus::ESME_RINVCMDLEN;
        if framing && self.take_frame_error(h) {
            return;
        }
        if let Some(ids) = self.answers.get_mut(&h.sequence_number) {
            let pos = ids.iter().position(|id| *id == h.command_id).or_else(|| {
                // generic_nack may answer any request (e.g. an undecodable one).
                (h.command_id == CommandId::GENERIC_NACK && !ids.is_empty()).then_some(0)
            });
            if let Some(pos) = pos {
                ids.remove(pos);
                return;
            }
        }
        if !framing && self.take_frame_error(h) {
            return;
        }
        panic!("answer {h:?} matches no request the proxy read");
    }

    fn take_frame_error(&mut self, h: &Header) -> bool {
        let matches = h.command_id == CommandId::GENERIC_NACK
            && self
                .frame_error
                .is_some_and(|seq| h.sequence_number == seq || h.sequence_number == 0);
        if matches {
            self.frame_error = None;
        }
        matches
    }

    fn assert_settled(&self) {
        let missing: Vec<_> = self.answers.iter().filter(|(_, v)| !v.is_empty()).collect();
        assert!(
            missing.is_empty(),
            "requests without an answer: {missing:?}"
        );
        assert_eq!(self.frame_error, None, "framing error not answered");
    }
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let stream = program(data);
    let mut owed = owed(&stream);
    static PEER: AtomicU32 = AtomicU32::new(0);
    let n = PEER.fetch_add(1, Ordering::Relaxed);
    let peer = SocketAddr::new(
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (n & 0xff_ffff))),
        40000,
    );
    let received = env.rt.block_on(async {
        tokio::time::pause();
        let (mut client, server) = tokio::io::duplex(16 * 1024);
        let proxy = &env.proxy;
        let session = proxy.serve_stream(server, peer);
        let exchange = async {
            let (mut rd, mut wr) = tokio::io::split(&mut client);
            let write = async {
                // Written in pieces so frames straddle reads.
                for chunk in stream.chunks(700) {
                    if wr.write_all(chunk).await.is_err() {
                        break;
                    }
                }
                let _ = wr.shutdown().await;
            };
            let read = async {
                let mut got = Vec::new();
                let _ = rd.read_to_end(&mut got).await;
                got
            };
            tokio::join!(write, read).1
        };
        let (_, received) = tokio::join!(session, exchange);
        // Virtual time: generous for every deadline the proxy has, free in wall-clock.
        for _ in 0..1000 {
            if proxy.outstanding() == 0 && proxy.held() == (0, 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(proxy.outstanding(), 0, "requests left unanswered");
        assert_eq!(proxy.held(), (0, 0), "parts left held");
        tokio::time::resume();
        received
    });
    // Every answer matches an owed request, and every owed request got one.
    let mut framer = Framer::new(u32::MAX);
    let mut buf = BytesMut::from(&received[..]);
    let mut answers = Vec::new();
    while let Some(f) = framer.next_frame(&mut buf).unwrap() {
        answers.push(Header::parse(&f).unwrap());
    }
    if std::env::var_os("PROXY_SESSION_TRACE").is_some() {
        eprintln!("owed: {owed:?}");
        for h in &answers {
            eprintln!("answer: {h:?}");
        }
    }
    // The proxy's own requests (unbind, deliver_sm) are not answers.
    for h in answers.iter().filter(|h| h.command_id.is_response()) {
        owed.settle(h);
    }
    assert!(buf.is_empty(), "a partial frame at the end of the answers");
    owed.assert_settled();
});
