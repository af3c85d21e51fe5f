//! `submit_sm` / `deliver_sm` (SMPP 3.4 §4.4, §4.6) and the responses that carry only
//! a `message_id` and TLVs.

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, ShortMessage, Timestamp, Tlvs,
    parse::{PResult, cstr, dest_addr, int8, short_message, source_addr, time, tlvs, user_data},
    types::{Backing, put_addr},
};

/// `submit_sm` body (and `deliver_sm`, which has the same layout).
///
/// Field names and sizes follow SMPP 3.4 §4.4.1; C-octet string sizes include the NUL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct SubmitSm<B: AsRef<[u8]> = Bytes> {
    /// Service the message belongs to; empty for the MC default (max 6).
    pub service_type: COctetString<6, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address (max 21).
    pub source_addr: COctetString<21, B>,
    /// Type of number of `destination_addr`.
    pub dest_addr_ton: u8,
    /// Numbering plan of `destination_addr`.
    pub dest_addr_npi: u8,
    /// Recipient address (max 21).
    pub destination_addr: COctetString<21, B>,
    /// Messaging mode, message type and GSM features (bit 6 = UDHI: `short_message`
    /// starts with a user data header).
    pub esm_class: u8,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// Priority, 0 (lowest) to 3 (or 4 in SMPP 5.0).
    pub priority_flag: u8,
    /// When to deliver; empty for immediately.
    pub schedule_delivery_time: Timestamp<B>,
    /// When to give up; empty for the MC default.
    pub validity_period: Timestamp<B>,
    /// Which receipts and acknowledgements are requested.
    pub registered_delivery: u8,
    /// Whether to replace a pending message with the same source, destination and
    /// service type.
    pub replace_if_present_flag: u8,
    /// Data coding scheme of `short_message` / `message_payload`.
    pub data_coding: u8,
    /// Index of a canned message; 0 when unused.
    pub sm_default_msg_id: u8,
    /// User data (`sm_length` + `short_message`).
    pub short_message: ShortMessage<B>,
    /// Optional parameters, in wire order.
    pub tlvs: Tlvs<B>,
}

/// `deliver_sm` body: the same fields as `submit_sm` (SMPP 3.4 §4.6.1), sent by the MC
/// for mobile-originated messages and delivery receipts (`esm_class` 0x04).
pub type DeliverSm<B = Bytes> = SubmitSm<B>;

/// The fields from `esm_class` to the TLVs, which `submit_sm` and `submit_multi` share.
pub(super) struct Tail<B> {
    pub(super) esm_class: u8,
    pub(super) protocol_id: u8,
    pub(super) priority_flag: u8,
    pub(super) schedule_delivery_time: Timestamp<B>,
    pub(super) validity_period: Timestamp<B>,
    pub(super) registered_delivery: u8,
    pub(super) replace_if_present_flag: u8,
    pub(super) data_coding: u8,
    pub(super) sm_default_msg_id: u8,
    pub(super) short_message: ShortMessage<B>,
    pub(super) tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> Tail<B> {
    /// Decodes the tail through the end of the PDU, with the user-data checks.
    pub(super) fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, esm_class) = int8(i, "esm_class")?;
        let (i, protocol_id) = int8(i, "protocol_id")?;
        let (i, priority_flag) = int8(i, "priority_flag")?;
        let (i, schedule_delivery_time) =
            time(frame, i, "schedule_delivery_time", S::ESME_RINVSCHED)?;
        let (i, validity_period) = time(frame, i, "validity_period", S::ESME_RINVEXPIRY)?;
        let (i, registered_delivery) = int8(i, "registered_delivery")?;
        let (i, replace_if_present_flag) = int8(i, "replace_if_present_flag")?;
        let (i, data_coding) = int8(i, "data_coding")?;
        let (i, sm_default_msg_id) = int8(i, "sm_default_msg_id")?;
        let sm_at = i;
        let (i, short_message) = short_message(frame, i)?;
        let (i, tlvs) = tlvs(frame, i)?;
        user_data(sm_at, Some(esm_class), Some(&short_message), &tlvs)?;
        Ok((
            i,
            Tail {
                esm_class,
                protocol_id,
                priority_flag,
                schedule_delivery_time,
                validity_period,
                registered_delivery,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                short_message,
                tlvs,
            },
        ))
    }
}

/// Builds a `submit_sm`-like struct from its leading fields and a decoded [`Tail`].
macro_rules! with_tail {
    ($ty:ident { $($field:ident),* $(,)? }, $tail:expr) => {{
        let t: Tail<_> = $tail;
        $ty {
            $($field,)*
            esm_class: t.esm_class,
            protocol_id: t.protocol_id,
            priority_flag: t.priority_flag,
            schedule_delivery_time: t.schedule_delivery_time,
            validity_period: t.validity_period,
            registered_delivery: t.registered_delivery,
            replace_if_present_flag: t.replace_if_present_flag,
            data_coding: t.data_coding,
            sm_default_msg_id: t.sm_default_msg_id,
            short_message: t.short_message,
            tlvs: t.tlvs,
        }
    }};
}

/// Encoded length of the tail fields of a `submit_sm`-like struct.
macro_rules! tail_wire_len {
    ($m:expr) => {
        3 + $m.schedule_delivery_time.wire_len()
            + $m.validity_period.wire_len()
            + 4
            + $m.short_message.wire_len()
            + $m.tlvs.wire_len()
    };
}

/// Appends the tail fields of a `submit_sm`-like struct.
macro_rules! encode_tail {
    ($m:expr, $dst:expr) => {{
        $dst.put_slice(&[$m.esm_class, $m.protocol_id, $m.priority_flag]);
        $m.schedule_delivery_time.encode($dst);
        $m.validity_period.encode($dst);
        $dst.put_slice(&[
            $m.registered_delivery,
            $m.replace_if_present_flag,
            $m.data_coding,
            $m.sm_default_msg_id,
        ]);
        $m.short_message.encode($dst);
        $m.tlvs.encode($dst);
    }};
}

pub(super) use {encode_tail, tail_wire_len, with_tail};

impl<B: AsRef<[u8]>> BodyCodec<B> for SubmitSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, (dest_addr_ton, dest_addr_npi, destination_addr)) = dest_addr(frame, i)?;
        let (i, tail) = Tail::decode(frame, i)?;
        let sm = with_tail!(
            SubmitSm {
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            },
            tail
        );
        Ok((i, sm))
    }

    fn wire_len(&self) -> usize {
        self.service_type.wire_len()
            + 2
            + self.source_addr.wire_len()
            + 2
            + self.destination_addr.wire_len()
            + tail_wire_len!(self)
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.service_type.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        put_addr(
            dst,
            self.dest_addr_ton,
            self.dest_addr_npi,
            &self.destination_addr,
        );
        encode_tail!(self, dst);
    }
}

/// A response body holding a `message_id` and TLVs: `submit_sm_resp`,
/// `deliver_sm_resp`, `data_sm_resp`, `broadcast_sm_resp`, `query_broadcast_sm_resp`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct MessageIdResp<B: AsRef<[u8]> = Bytes> {
    /// The MC's id for the message (max 65). Always empty in `deliver_sm_resp`.
    pub message_id: COctetString<65, B>,
    /// Optional parameters (SMPP 5.0 allows them on every one of these responses).
    pub tlvs: Tlvs<B>,
}

/// `submit_sm_resp` body.
pub type SubmitSmResp<B = Bytes> = MessageIdResp<B>;
/// `deliver_sm_resp` body; `message_id` is unused and empty.
pub type DeliverSmResp<B = Bytes> = MessageIdResp<B>;
/// `data_sm_resp` body.
pub type DataSmResp<B = Bytes> = MessageIdResp<B>;
/// `broadcast_sm_resp` body (SMPP 5.0).
pub type BroadcastSmResp<B = Bytes> = MessageIdResp<B>;
/// `query_broadcast_sm_resp` body (SMPP 5.0); the state is in TLVs.
pub type QueryBroadcastSmResp<B = Bytes> = MessageIdResp<B>;

impl MessageIdResp {
    /// A response carrying `message_id` and no TLVs.
    pub fn new(message_id: COctetString<65>) -> Self {
        Self {
            message_id,
            tlvs: Tlvs::new(),
        }
    }
}

impl<B: AsRef<[u8]>> BodyCodec<B> for MessageIdResp<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((i, MessageIdResp { message_id, tlvs }))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len() + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        self.tlvs.encode(dst);
    }
}
