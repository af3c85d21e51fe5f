//! `data_sm` (SMPP 3.4 §4.7): message transfer in either direction with the content in
//! TLVs only.

use bytes::{BufMut, Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, Tlvs,
    parse::{PResult, cstr, dest_addr, int8, source_addr, tlvs, user_data},
    types::{Backing, put_addr},
};

/// `data_sm` body. It has no `short_message`: the text is in `message_payload`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct DataSm<B: AsRef<[u8]> = Bytes> {
    /// Service the message belongs to (max 6).
    pub service_type: COctetString<6, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address (max 65 in SMPP 3.4, which `data_sm` alone allows).
    pub source_addr: COctetString<65, B>,
    /// Type of number of `destination_addr`.
    pub dest_addr_ton: u8,
    /// Numbering plan of `destination_addr`.
    pub dest_addr_npi: u8,
    /// Recipient address (max 65).
    pub destination_addr: COctetString<65, B>,
    /// As in `submit_sm`.
    pub esm_class: u8,
    /// As in `submit_sm`.
    pub registered_delivery: u8,
    /// Data coding scheme of `message_payload`.
    pub data_coding: u8,
    /// Optional parameters, `message_payload` among them.
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for DataSm<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, (dest_addr_ton, dest_addr_npi, destination_addr)) = dest_addr(frame, i)?;
        let (i, esm_class) = int8(i, "esm_class")?;
        let (i, registered_delivery) = int8(i, "registered_delivery")?;
        let (i, data_coding) = int8(i, "data_coding")?;
        let tlvs_at = i;
        let (i, tlvs) = tlvs(frame, i)?;
        user_data(tlvs_at, Some(esm_class), None, &tlvs)?;
        Ok((
            i,
            DataSm {
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
                esm_class,
                registered_delivery,
                data_coding,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.service_type.wire_len()
            + 2
            + self.source_addr.wire_len()
            + 2
            + self.destination_addr.wire_len()
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
        put_addr(
            dst,
            self.dest_addr_ton,
            self.dest_addr_npi,
            &self.destination_addr,
        );
        dst.put_slice(&[self.esm_class, self.registered_delivery, self.data_coding]);
        self.tlvs.encode(dst);
    }
}
