//! `cancel_sm` (SMPP 3.4 §4.9); its response has no body.

use bytes::{Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S,
    parse::{PResult, cstr, dest_addr, source_addr},
    types::{Backing, put_addr},
};

/// `cancel_sm` body: cancel one pending message, or all from `source_addr` to
/// `destination_addr` with `service_type` when `message_id` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct CancelSm<B: AsRef<[u8]> = Bytes> {
    /// Service of the messages to cancel (max 6).
    pub service_type: COctetString<6, B>,
    /// The MC's id for the message, or empty (max 65).
    pub message_id: COctetString<65, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address of the original message (max 21).
    pub source_addr: COctetString<21, B>,
    /// Type of number of `destination_addr`.
    pub dest_addr_ton: u8,
    /// Numbering plan of `destination_addr`.
    pub dest_addr_npi: u8,
    /// Recipient address of the original message (max 21).
    pub destination_addr: COctetString<21, B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for CancelSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, (dest_addr_ton, dest_addr_npi, destination_addr)) = dest_addr(frame, i)?;
        Ok((
            i,
            CancelSm {
                service_type,
                message_id,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.service_type.wire_len()
            + self.message_id.wire_len()
            + 2
            + self.source_addr.wire_len()
            + 2
            + self.destination_addr.wire_len()
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
        put_addr(
            dst,
            self.dest_addr_ton,
            self.dest_addr_npi,
            &self.destination_addr,
        );
    }
}
