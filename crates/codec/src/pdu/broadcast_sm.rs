//! The SMPP 5.0 cell-broadcast operations (§4.4.1.1-§4.6): `broadcast_sm`,
//! `query_broadcast_sm`, `cancel_broadcast_sm`. Their responses carry a `message_id`
//! and TLVs (`broadcast_sm_resp`, `query_broadcast_sm_resp`) or nothing.
//!
//! The broadcast area, content type, repetition and frequency are mandatory TLVs in
//! the specification; they pass through as TLVs and are not enforced here, since the
//! MC, not the proxy, acts on them.

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, Timestamp, Tlvs,
    parse::{PResult, cstr, int8, source_addr, time, tlvs},
    types::{Backing, put_addr},
};

/// `broadcast_sm` body. The text is in the `message_payload` TLV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct BroadcastSm<B: AsRef<[u8]> = Bytes> {
    /// Service the message belongs to (max 6).
    pub service_type: COctetString<6, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address (max 21).
    pub source_addr: COctetString<21, B>,
    /// Id of a broadcast to replace, or empty (max 65).
    pub message_id: COctetString<65, B>,
    /// Priority.
    pub priority_flag: u8,
    /// When to start broadcasting; empty for immediately.
    pub schedule_delivery_time: Timestamp<B>,
    /// When to stop; empty for the MC default.
    pub validity_period: Timestamp<B>,
    /// Whether to replace the broadcast named by `message_id`.
    pub replace_if_present_flag: u8,
    /// Data coding scheme of `message_payload`.
    pub data_coding: u8,
    /// Index of a canned message; 0 when unused.
    pub sm_default_msg_id: u8,
    /// Broadcast parameters and `message_payload`.
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for BroadcastSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, priority_flag) = int8(i, "priority_flag")?;
        let (i, schedule_delivery_time) =
            time(frame, i, "schedule_delivery_time", S::ESME_RINVSCHED)?;
        let (i, validity_period) = time(frame, i, "validity_period", S::ESME_RINVEXPIRY)?;
        let (i, replace_if_present_flag) = int8(i, "replace_if_present_flag")?;
        let (i, data_coding) = int8(i, "data_coding")?;
        let (i, sm_default_msg_id) = int8(i, "sm_default_msg_id")?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((
            i,
            BroadcastSm {
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                message_id,
                priority_flag,
                schedule_delivery_time,
                validity_period,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.service_type.wire_len()
            + 2
            + self.source_addr.wire_len()
            + self.message_id.wire_len()
            + 1
            + self.schedule_delivery_time.wire_len()
            + self.validity_period.wire_len()
            + 3
            + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.service_type.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        self.message_id.encode(dst);
        dst.put_u8(self.priority_flag);
        self.schedule_delivery_time.encode(dst);
        self.validity_period.encode(dst);
        dst.put_slice(&[
            self.replace_if_present_flag,
            self.data_coding,
            self.sm_default_msg_id,
        ]);
        self.tlvs.encode(dst);
    }
}

/// `query_broadcast_sm` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct QueryBroadcastSm<B: AsRef<[u8]> = Bytes> {
    /// The MC's id for the broadcast (max 65).
    pub message_id: COctetString<65, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address of the broadcast (max 21).
    pub source_addr: COctetString<21, B>,
    /// Optional parameters (`user_message_reference`).
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for QueryBroadcastSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((
            i,
            QueryBroadcastSm {
                message_id,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len() + 2 + self.source_addr.wire_len() + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        self.tlvs.encode(dst);
    }
}

/// `cancel_broadcast_sm` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct CancelBroadcastSm<B: AsRef<[u8]> = Bytes> {
    /// Service of the broadcasts to cancel (max 6).
    pub service_type: COctetString<6, B>,
    /// The MC's id for the broadcast, or empty (max 65).
    pub message_id: COctetString<65, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address of the broadcast (max 21).
    pub source_addr: COctetString<21, B>,
    /// Optional parameters (`broadcast_content_type`, `user_message_reference`).
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for CancelBroadcastSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((
            i,
            CancelBroadcastSm {
                service_type,
                message_id,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.service_type.wire_len()
            + self.message_id.wire_len()
            + 2
            + self.source_addr.wire_len()
            + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.service_type.encode(dst);
        self.message_id.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        self.tlvs.encode(dst);
    }
}
