//! `replace_sm` (SMPP 3.4 §4.10); its response has no body.
//!
//! A content path: it swaps the text of a scheduled message, so it is scanned like
//! `submit_sm`.

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, ShortMessage, Timestamp, Tlvs,
    parse::{PResult, cstr, int8, short_message, source_addr, time, tlvs, user_data},
    types::{Backing, put_addr},
};

/// `replace_sm` body. SMPP 5.0 adds an optional TLV part (`message_payload`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct ReplaceSm<B: AsRef<[u8]> = Bytes> {
    /// The MC's id for the message to replace (max 65).
    pub message_id: COctetString<65, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address of the original message (max 21).
    pub source_addr: COctetString<21, B>,
    /// New delivery time; empty keeps the original.
    pub schedule_delivery_time: Timestamp<B>,
    /// New validity; empty keeps the original.
    pub validity_period: Timestamp<B>,
    /// New receipt request.
    pub registered_delivery: u8,
    /// New canned message index.
    pub sm_default_msg_id: u8,
    /// New user data, in the original message's data coding.
    pub short_message: ShortMessage<B>,
    /// Optional parameters (SMPP 5.0).
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for ReplaceSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, schedule_delivery_time) =
            time(frame, i, "schedule_delivery_time", S::ESME_RINVSCHED)?;
        let (i, validity_period) = time(frame, i, "validity_period", S::ESME_RINVEXPIRY)?;
        let (i, registered_delivery) = int8(i, "registered_delivery")?;
        let (i, sm_default_msg_id) = int8(i, "sm_default_msg_id")?;
        let sm_at = i;
        let (i, short_message) = short_message(frame, i)?;
        let (i, tlvs) = tlvs(frame, i)?;
        user_data(sm_at, None, Some(&short_message), &tlvs)?;
        Ok((
            i,
            ReplaceSm {
                message_id,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                schedule_delivery_time,
                validity_period,
                registered_delivery,
                sm_default_msg_id,
                short_message,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len()
            + 2
            + self.source_addr.wire_len()
            + self.schedule_delivery_time.wire_len()
            + self.validity_period.wire_len()
            + 2
            + self.short_message.wire_len()
            + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        self.schedule_delivery_time.encode(dst);
        self.validity_period.encode(dst);
        dst.put_u8(self.registered_delivery);
        dst.put_u8(self.sm_default_msg_id);
        self.short_message.encode(dst);
        self.tlvs.encode(dst);
    }
}
