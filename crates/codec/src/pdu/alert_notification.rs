//! `alert_notification` (SMPP 3.4 §4.12): has no response and must not be answered.

use bytes::{Bytes, BytesMut};

use super::BodyCodec;
use crate::{
    COctetString, CommandStatus as S, Tlvs,
    parse::{PResult, cstr, int8, source_addr, tlvs},
    types::{Backing, put_addr},
};

/// `alert_notification` body: the MC reports that a subscriber became reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct AlertNotification<B: AsRef<[u8]> = Bytes> {
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// The subscriber that became available (max 65).
    pub source_addr: COctetString<65, B>,
    /// Type of number of `esme_addr`.
    pub esme_addr_ton: u8,
    /// Numbering plan of `esme_addr`.
    pub esme_addr_npi: u8,
    /// The ESME that asked to be alerted (max 65).
    pub esme_addr: COctetString<65, B>,
    /// Optional parameters (`ms_availability_status`).
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for AlertNotification<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let (i, esme_addr_ton) = int8(i, "esme_addr_ton")?;
        let (i, esme_addr_npi) = int8(i, "esme_addr_npi")?;
        let (i, esme_addr) = cstr(frame, i, "esme_addr", S::ESME_RINVDSTADR)?;
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((
            i,
            AlertNotification {
                source_addr_ton,
                source_addr_npi,
                source_addr,
                esme_addr_ton,
                esme_addr_npi,
                esme_addr,
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        2 + self.source_addr.wire_len() + 2 + self.esme_addr.wire_len() + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        put_addr(
            dst,
            self.source_addr_ton,
            self.source_addr_npi,
            &self.source_addr,
        );
        put_addr(dst, self.esme_addr_ton, self.esme_addr_npi, &self.esme_addr);
        self.tlvs.encode(dst);
    }
}
