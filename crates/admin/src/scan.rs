//! `POST /rules/test`: a message in, the live rules' verdict out, in the JSON shape of
//! `smppguard rules scan`.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use smppguard_filter::{Action, Verdict};
use smppguard_proxy::{ProxyHandle, ScanRequest};
use smppguard_text::{DecodeOptions, DefaultAlphabet, PartInput, decode_part};

/// Bytes of `short_message` accepted in `hex` (the longest message_payload).
const MAX_BYTES: usize = 65_535;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScanBody {
    /// The message as UTF-8 text (exclusive with `hex`).
    text: Option<String>,
    /// The user data bytes in hex, decoded with `data_coding` (exclusive with `text`).
    hex: Option<String>,
    #[serde(default)]
    data_coding: u8,
    #[serde(default)]
    esm_class: u8,
    /// `gsm7`, `gsm7_packed`, `latin1` or `ia5`: what data_coding 0 means.
    #[serde(default)]
    default_alphabet: Option<String>,
    #[serde(default)]
    account: String,
    #[serde(default)]
    source_addr: String,
    #[serde(default)]
    destination_addr: String,
    #[serde(default)]
    service_type: String,
}

/// Why a scan request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Neither or both of `text` and `hex`.
    #[error("give exactly one of `text` and `hex`")]
    TextOrHex,
    /// `hex` is not hex.
    #[error("`hex` is not an even number of hex digits")]
    BadHex,
    /// `hex` is too long.
    #[error("`hex` is longer than 65535 bytes")]
    TooLong,
    /// Unknown alphabet.
    #[error("`default_alphabet` must be gsm7, gsm7_packed, latin1 or ia5")]
    BadAlphabet,
    /// No rule pack is configured.
    #[error("no rule pack is configured")]
    NoRules,
}

fn alphabet(s: Option<&str>) -> Result<DefaultAlphabet, ScanError> {
    Ok(match s {
        None | Some("gsm7") => DefaultAlphabet::Gsm7,
        Some("gsm7_packed") => DefaultAlphabet::Gsm7Packed,
        Some("latin1") => DefaultAlphabet::Latin1,
        Some("ia5") => DefaultAlphabet::Ia5,
        Some(_) => return Err(ScanError::BadAlphabet),
    })
}

/// Decodes the message, scans it with the live rules and renders the verdict.
pub(crate) fn scan(proxy: &ProxyHandle, body: &ScanBody) -> Result<Value, ScanError> {
    let mut text_info = Map::new();
    let default_alphabet = alphabet(body.default_alphabet.as_deref())?;
    let (decoded, binary) = match (&body.text, &body.hex) {
        (Some(t), None) => (t.clone(), None),
        (None, Some(h)) => {
            let digits: String = h.chars().filter(|c| !c.is_whitespace()).collect();
            if digits.len() > MAX_BYTES * 2 {
                return Err(ScanError::TooLong);
            }
            let bytes = hex::decode(&digits).map_err(|_| ScanError::BadHex)?;
            let part = PartInput {
                esm_class: body.esm_class,
                data_coding: body.data_coding,
                short_message: &bytes,
                message_payload: None,
                sar: None,
            };
            let opts = DecodeOptions { default_alphabet };
            let d = decode_part(&part, &opts);
            text_info.insert("coding".into(), json!(d.coding.map(|c| format!("{c:?}"))));
            text_info.insert("binary".into(), json!(d.binary));
            let warnings: Vec<String> = d.warnings.iter().map(ToString::to_string).collect();
            text_info.insert("warnings".into(), json!(warnings));
            let binary = d
                .binary
                .then(|| bytes.get(d.user_data.clone()).unwrap_or_default().to_vec());
            (d.text, binary)
        }
        _ => return Err(ScanError::TextOrHex),
    };
    let outcome = proxy
        .scan(&ScanRequest {
            account: &body.account,
            source_addr: &body.source_addr,
            destination_addr: &body.destination_addr,
            service_type: &body.service_type,
            data_coding: body.data_coding,
            esm_class: body.esm_class,
            text: &decoded,
            binary: binary.as_deref(),
        })
        .ok_or(ScanError::NoRules)?;
    text_info.insert("decoded".into(), json!(decoded));
    text_info.insert("normalized".into(), json!(outcome.normalized));
    text_info.insert("data_coding".into(), json!(body.data_coding));
    Ok(verdict_json(&outcome.verdict, Value::Object(text_info)))
}

/// A verdict as JSON, `action` first: the shape `smppguard rules scan` prints.
pub fn verdict_json(v: &Verdict, text: Value) -> Value {
    let status = match v.action {
        Action::Reject { status } => json!(format!("0x{status:08x}")),
        _ => Value::Null,
    };
    let matches: Vec<Value> = v
        .matches
        .iter()
        .map(|m| {
            let evidence: Vec<Value> = m
                .evidence
                .iter()
                .map(|e| {
                    json!({
                        "pattern": &*e.pattern,
                        "field": e.field.as_str(),
                        "range": e.span.as_ref().map(|s| [s.range.start, s.range.end]),
                        "quote": e.span.as_ref().map(|s| s.quote.as_str()),
                    })
                })
                .collect();
            json!({
                "id": &*m.id,
                "category": m.category.as_str(),
                "action": m.action.as_str(),
                "mode": m.mode.as_str(),
                "priority": m.priority,
                "evidence": evidence,
            })
        })
        .collect();
    json!({
        "action": v.action.as_str(),
        "command_status": status,
        "blocking": v.is_blocking(),
        "decided_by": v.decisive().map(|m| &*m.id),
        "matches": matches,
        "ruleset_version": v.ruleset_version.to_string(),
        "scan_time_us": v.scan_time.as_secs_f64() * 1e6,
        "error": v.error.map(|e| e.to_string()),
        "text": text,
    })
}
