//! `query_sm` and `query_sm_resp` (SMPP 3.4 §4.8).

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, MessageState, Timestamp,
    parse::{PResult, cstr, int8, source_addr, time},
    types::{Backing, put_addr},
};

/// `query_sm` body: the state of a message submitted earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct QuerySm<B: AsRef<[u8]> = Bytes> {
    /// The MC's id for the message (max 65).
    pub message_id: COctetString<65, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address of the original message (max 21).
    pub source_addr: COctetString<21, B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for QuerySm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        Ok((
            i,
            QuerySm {
                message_id,
                source_addr_ton,
                source_addr_npi,
                source_addr,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len() + 2 + self.source_addr.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
    }
}

/// `query_sm_resp` body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct QuerySmResp<B: AsRef<[u8]> = Bytes> {
    /// The id that was queried (max 65).
    pub message_id: COctetString<65, B>,
    /// When the message reached a final state; empty while it has not.
    pub final_date: Timestamp<B>,
    /// Current state.
    pub message_state: MessageState,
    /// Network error code of a failed delivery, 0 otherwise.
    pub error_code: u8,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for QuerySmResp<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, final_date) = time(frame, i, "final_date", S::ESME_RINVCMDLEN)?;
        let (i, message_state) = int8(i, "message_state")?;
        let (i, error_code) = int8(i, "error_code")?;
        Ok((
            i,
            QuerySmResp {
                message_id,
                final_date,
                message_state: MessageState(message_state),
                error_code,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len() + self.final_date.wire_len() + 2
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        self.final_date.encode(dst);
        dst.put_u8(self.message_state.0);
        dst.put_u8(self.error_code);
    }
}
