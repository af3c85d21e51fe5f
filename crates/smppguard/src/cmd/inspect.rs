//! `smppguard inspect`: decode PDUs from hex or from a pcap/pcapng capture and print one JSON
//! object per PDU, malformed ones included (with the error and the response they call for).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use bytes::BytesMut;
use serde_json::{Value, json};
use smppguard_codec::{DEFAULT_MAX_COMMAND_LENGTH, DecodeError, FrameError, Framer, Pdu};
use smppguard_text::{DecodeOptions, DefaultAlphabet};

mod capture;
mod render;

/// Arguments of `smppguard inspect`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// PDU bytes in hex (several PDUs may follow each other; whitespace is ignored).
    /// Without --hex or --pcap, hex is read from stdin.
    #[arg(long, conflicts_with = "pcap")]
    hex: Option<String>,
    /// A pcap or pcapng capture; the TCP streams to and from --port are reassembled.
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// The SMPP server port in the capture: traffic to it is ESME→SMSC.
    #[arg(long, default_value_t = 2775)]
    port: u16,
    /// Largest command_length accepted.
    #[arg(long, default_value_t = DEFAULT_MAX_COMMAND_LENGTH)]
    max_pdu_bytes: u32,
    /// What data_coding 0 means on this link.
    #[arg(long, value_enum, default_value_t = Alphabet::Gsm7)]
    default_alphabet: Alphabet,
}

/// `data_coding` 0 interpretations an operator can choose.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Alphabet {
    /// GSM 03.38, one septet per octet (the SMPP norm).
    Gsm7,
    /// GSM 03.38, septets packed.
    Gsm7Packed,
    /// ISO-8859-1.
    Latin1,
    /// IA5 / ASCII.
    Ia5,
}

impl From<Alphabet> for DefaultAlphabet {
    fn from(a: Alphabet) -> Self {
        match a {
            Alphabet::Gsm7 => DefaultAlphabet::Gsm7,
            Alphabet::Gsm7Packed => DefaultAlphabet::Gsm7Packed,
            Alphabet::Latin1 => DefaultAlphabet::Latin1,
            Alphabet::Ia5 => DefaultAlphabet::Ia5,
        }
    }
}

/// What a stream of bytes turned into.
enum Item {
    Pdu(Box<Pdu>),
    Bad(DecodeError),
    Framing(FrameError),
    /// Bytes left at the end of a stream that do not make a whole PDU.
    Truncated(usize),
}

/// Frames and decodes every PDU in `buf`; a framing error ends the stream (no resync).
fn split(framer: &mut Framer, buf: &mut BytesMut, out: &mut Vec<Item>) -> bool {
    loop {
        match framer.next_frame(buf) {
            Ok(Some(frame)) => out.push(match Pdu::decode(frame) {
                Ok(pdu) => Item::Pdu(Box::new(pdu)),
                Err(err) => Item::Bad(err),
            }),
            Ok(None) => return true,
            Err(err) => {
                out.push(Item::Framing(err));
                buf.clear();
                return false;
            }
        }
    }
}

fn item_json(item: &Item, opts: &DecodeOptions) -> Value {
    match item {
        Item::Pdu(pdu) => json!({ "pdu": render::pdu(pdu, opts) }),
        Item::Bad(err) => json!({
            "error": {
                "message": err.to_string(),
                "kind": format!("{:?}", err.kind()),
                "field": err.field(),
                "offset": err.offset(),
                "command_id": err.header().map(|h| h.command_id.name().map_or_else(|| format!("{:#010x}", h.command_id.0), str::to_owned)),
                "sequence_number": err.header().map(|h| h.sequence_number),
                "status": err.status().name(),
                "response": err.response().map(|r| hex::encode(r.to_bytes())),
                "fatal": err.is_fatal(),
            }
        }),
        Item::Framing(err) => json!({
            "error": {
                "message": err.to_string(),
                "kind": format!("{:?}", err.kind()),
                "status": err.status().name(),
                "response": hex::encode(err.response().to_bytes()),
                "fatal": true,
            }
        }),
        Item::Truncated(n) => json!({
            "error": { "message": format!("stream ends inside a pdu ({n} bytes left)"), "fatal": true }
        }),
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let clean = clean.strip_prefix("0x").unwrap_or(&clean);
    hex::decode(clean).context("--hex: not a hex string")
}

/// Runs the command; exits 2 when any PDU was malformed, so scripts can tell.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let opts = DecodeOptions {
        default_alphabet: args.default_alphabet.into(),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut malformed = false;
    let mut emit = |fields: Value, item: &Item| -> Result<()> {
        malformed |= !matches!(item, Item::Pdu(_));
        let mut line = fields;
        if let (Value::Object(map), Value::Object(rest)) = (&mut line, item_json(item, &opts)) {
            map.extend(rest);
        }
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
        Ok(())
    };

    if let Some(path) = &args.pcap {
        let file = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let chunks = capture::streams(&file, args.port)?;
        // One framer and buffer per direction of each connection.
        let mut streams: HashMap<capture::Flow, (Framer, BytesMut, bool)> = HashMap::new();
        for chunk in chunks {
            let (framer, buf, alive) = streams
                .entry(chunk.flow)
                .or_insert_with(|| (Framer::new(args.max_pdu_bytes), BytesMut::new(), true));
            if chunk.gap_before {
                // Lost bytes: framing cannot be trusted until the next connection.
                *alive = false;
            }
            if !*alive {
                continue;
            }
            buf.extend_from_slice(&chunk.data);
            let mut items = Vec::new();
            *alive = split(framer, buf, &mut items);
            let direction = if chunk.flow.dst.port() == args.port {
                "esme_to_smsc"
            } else {
                "smsc_to_esme"
            };
            for item in &items {
                emit(
                    json!({
                        "ts": chunk.ts,
                        "direction": direction,
                        "src": chunk.flow.src.to_string(),
                        "dst": chunk.flow.dst.to_string(),
                    }),
                    item,
                )?;
            }
        }
        for (flow, (_, buf, alive)) in &streams {
            if *alive && !buf.is_empty() {
                emit(
                    json!({ "src": flow.src.to_string(), "dst": flow.dst.to_string() }),
                    &Item::Truncated(buf.len()),
                )?;
            }
        }
    } else {
        let text = match &args.hex {
            Some(h) => h.clone(),
            None => {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading stdin")?;
                s
            }
        };
        let bytes = parse_hex(&text)?;
        if bytes.is_empty() {
            bail!("no input: give --hex, --pcap or hex on stdin");
        }
        let mut framer = Framer::new(args.max_pdu_bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        let mut items = Vec::new();
        if split(&mut framer, &mut buf, &mut items) && !buf.is_empty() {
            items.push(Item::Truncated(buf.len()));
        }
        for item in &items {
            emit(json!({}), item)?;
        }
    }
    Ok(if malformed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
