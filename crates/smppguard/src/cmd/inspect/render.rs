//! PDU → JSON with the specification's field names.
//!
//! C-octet strings print as JSON strings when they are UTF-8 and as `{"hex": ...}` otherwise;
//! octet strings print as hex. Content-carrying PDUs also get a `decoded` object from the text
//! layer (the text a handset shows, the concatenation header, decoding warnings), so an operator
//! reading a capture sees UCS-2 and GSM 7-bit messages as text.

use serde_json::{Map, Value, json};
use smppguard_codec::{
    Bind, BindResp, Body, COctetString, Content, DestAddress, MessageIdResp, Pdu, Timestamp, Tlv,
    TlvTag, Tlvs,
};
use smppguard_text::{DecodeOptions, PartInput, SarInfo, decode_part};

fn hex(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// A C-octet string: text when it is UTF-8, else its bytes in hex.
fn cstr<const N: usize>(s: &COctetString<N>) -> Value {
    match s.as_str() {
        Some(text) => Value::String(text.to_owned()),
        None => json!({ "hex": hex::encode(s.as_bytes()) }),
    }
}

fn time(t: &Timestamp) -> Value {
    match std::str::from_utf8(t.as_bytes()) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => json!({ "hex": hex::encode(t.as_bytes()) }),
    }
}

/// A typed rendering of the TLVs whose layout the specification fixes; raw hex otherwise.
fn tlv_value(tlv: &Tlv<'_>) -> Value {
    let v = tlv.value;
    let uint = || match *v {
        [a] => Some(json!(a)),
        [a, b] => Some(json!(u16::from_be_bytes([a, b]))),
        [a, b, c, d] => Some(json!(u32::from_be_bytes([a, b, c, d]))),
        _ => None,
    };
    let text = || {
        let body = v.strip_suffix(&[0]).unwrap_or(v);
        std::str::from_utf8(body).ok().map(|s| json!(s))
    };
    let typed = match tlv.tag {
        TlvTag::RECEIPTED_MESSAGE_ID | TlvTag::ADDITIONAL_STATUS_INFO_TEXT => text(),
        TlvTag::MESSAGE_PAYLOAD => None,
        TlvTag::NETWORK_ERROR_CODE => match *v {
            [kind, a, b] => Some(json!({ "type": kind, "code": u16::from_be_bytes([a, b]) })),
            _ => None,
        },
        TlvTag::MESSAGE_STATE => match *v {
            [state] => Some(json!({
                "value": state,
                "name": smppguard_codec::MessageState(state).name(),
            })),
            _ => None,
        },
        tag if tag.name().is_some() => uint(),
        _ => None,
    };
    typed.unwrap_or_else(|| hex(v))
}

fn tlvs(t: &Tlvs) -> Value {
    let list: Vec<Value> = t
        .iter()
        .map(|tlv| {
            json!({
                "tag": format!("{:#06x}", tlv.tag.0),
                "name": tlv.tag.name(),
                "length": tlv.value.len(),
                "value": tlv_value(&tlv),
            })
        })
        .collect();
    Value::Array(list)
}

/// The text layer's view of a content-carrying PDU.
fn decoded(content: &Content<'_>, opts: &DecodeOptions) -> Value {
    let sar = match (
        content.tlvs.sar_msg_ref_num(),
        content.tlvs.sar_total_segments(),
        content.tlvs.sar_segment_seqnum(),
    ) {
        (Some(reference), Some(total), Some(seqnum)) => Some(SarInfo {
            reference,
            total,
            seqnum,
        }),
        _ => None,
    };
    let input = PartInput {
        esm_class: content.esm_class.unwrap_or(0),
        data_coding: content.data_coding.unwrap_or(0),
        short_message: content.short_message.map_or(&[][..], |s| s.as_bytes()),
        message_payload: content.tlvs.message_payload(),
        sar,
    };
    let part = decode_part(&input, opts);
    let mut out = Map::new();
    out.insert(
        "coding".into(),
        json!(part.coding.map(|c| format!("{c:?}"))),
    );
    if part.binary {
        out.insert("binary".into(), json!(true));
    } else {
        out.insert("text".into(), json!(part.text));
    }
    if let Some(c) = part.concat {
        out.insert(
            "concat".into(),
            json!({
                "reference": c.reference,
                "total": c.total,
                "seqnum": c.seqnum,
                "source": format!("{:?}", c.source),
            }),
        );
    }
    if let Some(p) = part.udh.as_ref().and_then(|u| u.ports) {
        out.insert(
            "ports".into(),
            json!({ "destination": p.destination, "source": p.source }),
        );
    }
    if !part.warnings.is_empty() {
        let warnings: Vec<String> = part.warnings.iter().map(ToString::to_string).collect();
        out.insert("warnings".into(), json!(warnings));
    }
    Value::Object(out)
}

fn bind(b: &Bind) -> Value {
    json!({
        "system_id": cstr(&b.system_id),
        "password": cstr(&b.password),
        "system_type": cstr(&b.system_type),
        "interface_version": b.interface_version,
        "addr_ton": b.addr_ton,
        "addr_npi": b.addr_npi,
        "address_range": cstr(&b.address_range),
    })
}

fn bind_resp(b: &BindResp) -> Value {
    json!({ "system_id": cstr(&b.system_id), "tlvs": tlvs(&b.tlvs) })
}

fn message_id_resp(b: &MessageIdResp) -> Value {
    json!({ "message_id": cstr(&b.message_id), "tlvs": tlvs(&b.tlvs) })
}

/// The body's fields, `null` for a body-less response.
fn body(body: &Body, opts: &DecodeOptions) -> Value {
    let mut value = match body {
        Body::GenericNack
        | Body::Unbind
        | Body::UnbindResp
        | Body::EnquireLink
        | Body::EnquireLinkResp
        | Body::CancelSmResp
        | Body::ReplaceSmResp
        | Body::CancelBroadcastSmResp => return Value::Null,
        Body::BindReceiver(b) | Body::BindTransmitter(b) | Body::BindTransceiver(b) => bind(b),
        Body::Outbind(b) => json!({
            "system_id": cstr(&b.system_id),
            "password": cstr(&b.password),
        }),
        Body::SubmitSm(b) | Body::DeliverSm(b) => json!({
            "service_type": cstr(&b.service_type),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "dest_addr_ton": b.dest_addr_ton,
            "dest_addr_npi": b.dest_addr_npi,
            "destination_addr": cstr(&b.destination_addr),
            "esm_class": b.esm_class,
            "protocol_id": b.protocol_id,
            "priority_flag": b.priority_flag,
            "schedule_delivery_time": time(&b.schedule_delivery_time),
            "validity_period": time(&b.validity_period),
            "registered_delivery": b.registered_delivery,
            "replace_if_present_flag": b.replace_if_present_flag,
            "data_coding": b.data_coding,
            "sm_default_msg_id": b.sm_default_msg_id,
            "sm_length": b.short_message.len(),
            "short_message": hex(b.short_message.as_bytes()),
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::SubmitMulti(b) => {
            let dests: Vec<Value> = b
                .dest_addresses
                .as_slice()
                .iter()
                .map(|d| match d {
                    DestAddress::Sme {
                        dest_addr_ton,
                        dest_addr_npi,
                        destination_addr,
                    } => json!({
                        "dest_flag": 1,
                        "dest_addr_ton": dest_addr_ton,
                        "dest_addr_npi": dest_addr_npi,
                        "destination_addr": cstr(destination_addr),
                    }),
                    DestAddress::DistributionList { dl_name } => {
                        json!({ "dest_flag": 2, "dl_name": cstr(dl_name) })
                    }
                })
                .collect();
            json!({
                "service_type": cstr(&b.service_type),
                "source_addr_ton": b.source_addr_ton,
                "source_addr_npi": b.source_addr_npi,
                "source_addr": cstr(&b.source_addr),
                "number_of_dests": b.dest_addresses.len(),
                "dest_address": dests,
                "esm_class": b.esm_class,
                "protocol_id": b.protocol_id,
                "priority_flag": b.priority_flag,
                "schedule_delivery_time": time(&b.schedule_delivery_time),
                "validity_period": time(&b.validity_period),
                "registered_delivery": b.registered_delivery,
                "replace_if_present_flag": b.replace_if_present_flag,
                "data_coding": b.data_coding,
                "sm_default_msg_id": b.sm_default_msg_id,
                "sm_length": b.short_message.len(),
                "short_message": hex(b.short_message.as_bytes()),
                "tlvs": tlvs(&b.tlvs),
            })
        }
        Body::DataSm(b) => json!({
            "service_type": cstr(&b.service_type),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "dest_addr_ton": b.dest_addr_ton,
            "dest_addr_npi": b.dest_addr_npi,
            "destination_addr": cstr(&b.destination_addr),
            "esm_class": b.esm_class,
            "registered_delivery": b.registered_delivery,
            "data_coding": b.data_coding,
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::QuerySm(b) => json!({
            "message_id": cstr(&b.message_id),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
        }),
        Body::CancelSm(b) => json!({
            "service_type": cstr(&b.service_type),
            "message_id": cstr(&b.message_id),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "dest_addr_ton": b.dest_addr_ton,
            "dest_addr_npi": b.dest_addr_npi,
            "destination_addr": cstr(&b.destination_addr),
        }),
        Body::ReplaceSm(b) => json!({
            "message_id": cstr(&b.message_id),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "schedule_delivery_time": time(&b.schedule_delivery_time),
            "validity_period": time(&b.validity_period),
            "registered_delivery": b.registered_delivery,
            "sm_default_msg_id": b.sm_default_msg_id,
            "sm_length": b.short_message.len(),
            "short_message": hex(b.short_message.as_bytes()),
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::AlertNotification(b) => json!({
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "esme_addr_ton": b.esme_addr_ton,
            "esme_addr_npi": b.esme_addr_npi,
            "esme_addr": cstr(&b.esme_addr),
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::BroadcastSm(b) => json!({
            "service_type": cstr(&b.service_type),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "message_id": cstr(&b.message_id),
            "priority_flag": b.priority_flag,
            "schedule_delivery_time": time(&b.schedule_delivery_time),
            "validity_period": time(&b.validity_period),
            "replace_if_present_flag": b.replace_if_present_flag,
            "data_coding": b.data_coding,
            "sm_default_msg_id": b.sm_default_msg_id,
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::QueryBroadcastSm(b) => json!({
            "message_id": cstr(&b.message_id),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::CancelBroadcastSm(b) => json!({
            "service_type": cstr(&b.service_type),
            "message_id": cstr(&b.message_id),
            "source_addr_ton": b.source_addr_ton,
            "source_addr_npi": b.source_addr_npi,
            "source_addr": cstr(&b.source_addr),
            "tlvs": tlvs(&b.tlvs),
        }),
        Body::BindReceiverResp(b) | Body::BindTransmitterResp(b) | Body::BindTransceiverResp(b) => {
            b.as_ref().map_or(Value::Null, bind_resp)
        }
        Body::SubmitSmResp(b)
        | Body::DeliverSmResp(b)
        | Body::DataSmResp(b)
        | Body::BroadcastSmResp(b)
        | Body::QueryBroadcastSmResp(b) => b.as_ref().map_or(Value::Null, message_id_resp),
        Body::SubmitMultiResp(b) => b.as_ref().map_or(Value::Null, |b| {
            let unsuccess: Vec<Value> = b
                .unsuccess_smes
                .as_slice()
                .iter()
                .map(|u| {
                    json!({
                        "dest_addr_ton": u.dest_addr_ton,
                        "dest_addr_npi": u.dest_addr_npi,
                        "destination_addr": cstr(&u.destination_addr),
                        "error_status_code": u.error_status_code,
                    })
                })
                .collect();
            json!({
                "message_id": cstr(&b.message_id),
                "no_unsuccess": unsuccess.len(),
                "unsuccess_sme": unsuccess,
                "tlvs": tlvs(&b.tlvs),
            })
        }),
        Body::QuerySmResp(b) => b.as_ref().map_or(Value::Null, |b| {
            json!({
                "message_id": cstr(&b.message_id),
                "final_date": time(&b.final_date),
                "message_state": b.message_state.0,
                "message_state_name": b.message_state.name(),
                "error_code": b.error_code,
            })
        }),
    };
    if let (Some(content), Value::Object(map)) = (body.content(), &mut value) {
        map.insert("decoded".into(), decoded(&content, opts));
    }
    value
}

/// The whole PDU: header fields, then the body.
pub(crate) fn pdu(pdu: &Pdu, opts: &DecodeOptions) -> Value {
    let h = &pdu.header;
    json!({
        "command_length": h.command_length,
        "command_id": h.command_id.name().map_or_else(|| format!("{:#010x}", h.command_id.0), str::to_owned),
        "command_status": h.command_status.name().map_or_else(|| format!("{:#010x}", h.command_status.0), str::to_owned),
        "sequence_number": h.sequence_number,
        "body": body(&pdu.body, opts),
    })
}
