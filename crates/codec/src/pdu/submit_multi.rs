//! `submit_multi` and `submit_multi_resp` (SMPP 3.4 §4.5).

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    BodyCodec,
    submit_sm::{Tail, encode_tail, tail_wire_len, with_tail},
};
use crate::{
    COctetString, CommandStatus as S, DecodeErrorKind, FieldError, ShortMessage, Timestamp, Tlvs,
    parse::{PResult, cstr, dest_addr, fail, int8, int32, source_addr, tlvs},
    types::{Backing, put_addr},
};

/// Largest number of entries a one-octet count can announce.
const MAX_ENTRIES: usize = 255;

/// `dest_flag` of an SME address entry.
const DEST_FLAG_SME: u8 = 1;
/// `dest_flag` of a distribution list entry.
const DEST_FLAG_DL: u8 = 2;

/// One destination of a `submit_multi`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub enum DestAddress<B: AsRef<[u8]> = Bytes> {
    /// `dest_flag` 1: an SME address.
    Sme {
        /// Type of number.
        dest_addr_ton: u8,
        /// Numbering plan.
        dest_addr_npi: u8,
        /// The address (max 21).
        destination_addr: COctetString<21, B>,
    },
    /// `dest_flag` 2: a distribution list held by the MC.
    DistributionList {
        /// The list's name (max 21).
        dl_name: COctetString<21, B>,
    },
}

/// The 1 to 255 destinations of a `submit_multi` (`number_of_dests` + `dest_address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestAddresses<B: AsRef<[u8]> = Bytes>(Vec<DestAddress<B>>);

impl DestAddresses {
    /// Checks that there are between 1 and 255 destinations.
    pub fn new(dests: Vec<DestAddress>) -> Result<Self, FieldError> {
        match dests.len() {
            0 => Err(FieldError::Empty),
            n if n > MAX_ENTRIES => Err(FieldError::TooLong {
                len: n,
                max: MAX_ENTRIES,
            }),
            _ => Ok(Self(dests)),
        }
    }
}

impl<B: AsRef<[u8]>> DestAddresses<B> {
    /// The destinations in wire order.
    pub fn as_slice(&self) -> &[DestAddress<B>] {
        &self.0
    }

    /// `number_of_dests`.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `submit_multi` has at least one destination.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn from_entries(dests: Vec<DestAddress<B>>) -> Self {
        Self(dests)
    }
}

/// `submit_multi` body: one message to several SMEs or distribution lists.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct SubmitMulti<B: AsRef<[u8]> = Bytes> {
    /// Service the message belongs to (max 6).
    pub service_type: COctetString<6, B>,
    /// Type of number of `source_addr`.
    pub source_addr_ton: u8,
    /// Numbering plan of `source_addr`.
    pub source_addr_npi: u8,
    /// Sender address (max 21).
    pub source_addr: COctetString<21, B>,
    /// `number_of_dests` and the `dest_address` entries.
    pub dest_addresses: DestAddresses<B>,
    /// As in `submit_sm`.
    pub esm_class: u8,
    /// As in `submit_sm`.
    pub protocol_id: u8,
    /// As in `submit_sm`.
    pub priority_flag: u8,
    /// As in `submit_sm`.
    pub schedule_delivery_time: Timestamp<B>,
    /// As in `submit_sm`.
    pub validity_period: Timestamp<B>,
    /// As in `submit_sm`.
    pub registered_delivery: u8,
    /// As in `submit_sm`.
    pub replace_if_present_flag: u8,
    /// As in `submit_sm`.
    pub data_coding: u8,
    /// As in `submit_sm`.
    pub sm_default_msg_id: u8,
    /// User data.
    pub short_message: ShortMessage<B>,
    /// Optional parameters.
    pub tlvs: Tlvs<B>,
}

fn dest_address<'a, B: Backing<'a>>(frame: &B, i: &'a [u8]) -> PResult<'a, DestAddress<B>> {
    let at = i;
    let (i, flag) = int8(i, "dest_flag")?;
    match flag {
        DEST_FLAG_SME => {
            let (i, (dest_addr_ton, dest_addr_npi, destination_addr)) = dest_addr(frame, i)?;
            Ok((
                i,
                DestAddress::Sme {
                    dest_addr_ton,
                    dest_addr_npi,
                    destination_addr,
                },
            ))
        }
        DEST_FLAG_DL => {
            let (i, dl_name) = cstr(frame, i, "dl_name", S::ESME_RINVDLNAME)?;
            Ok((i, DestAddress::DistributionList { dl_name }))
        }
        other => fail(
            at,
            DecodeErrorKind::InvalidDestFlag(other),
            "dest_flag",
            S::ESME_RINVDESTFLAG,
        ),
    }
}

impl<B: AsRef<[u8]>> DestAddress<B> {
    fn wire_len(&self) -> usize {
        match self {
            DestAddress::Sme {
                destination_addr, ..
            } => 3 + destination_addr.wire_len(),
            DestAddress::DistributionList { dl_name } => 1 + dl_name.wire_len(),
        }
    }

    fn encode(&self, dst: &mut BytesMut) {
        match self {
            DestAddress::Sme {
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
            } => {
                dst.put_u8(DEST_FLAG_SME);
                put_addr(dst, *dest_addr_ton, *dest_addr_npi, destination_addr);
            }
            DestAddress::DistributionList { dl_name } => {
                dst.put_u8(DEST_FLAG_DL);
                dl_name.encode(dst);
            }
        }
    }
}

impl<B: AsRef<[u8]>> BodyCodec<B> for SubmitMulti<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, service_type) = cstr(frame, i, "service_type", S::ESME_RINVSERTYP)?;
        let (i, (source_addr_ton, source_addr_npi, source_addr)) = source_addr(frame, i)?;
        let count_at = i;
        let (mut i, count) = int8(i, "number_of_dests")?;
        if count == 0 {
            return fail(
                count_at,
                DecodeErrorKind::NoDestinations,
                "number_of_dests",
                S::ESME_RINVNUMDESTS,
            );
        }
        let mut dests = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (rest, dest) = dest_address(frame, i)?;
            dests.push(dest);
            i = rest;
        }
        let dest_addresses = DestAddresses::from_entries(dests);
        let (i, tail) = Tail::decode(frame, i)?;
        let multi = with_tail!(
            SubmitMulti {
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addresses,
            },
            tail
        );
        Ok((i, multi))
    }

    fn wire_len(&self) -> usize {
        let dests: usize = self
            .dest_addresses
            .0
            .iter()
            .map(DestAddress::wire_len)
            .sum();
        self.service_type.wire_len()
            + 2
            + self.source_addr.wire_len()
            + 1
            + dests
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
        dst.put_u8(count_u8(self.dest_addresses.0.len()));
        for dest in &self.dest_addresses.0 {
            dest.encode(dst);
        }
        encode_tail!(self, dst);
    }
}

/// A list count as its one-octet wire field; the list types bound it to 255.
fn count_u8(len: usize) -> u8 {
    u8::try_from(len).unwrap_or(u8::MAX)
}

/// A destination the MC did not accept, in `submit_multi_resp`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct UnsuccessSme<B: AsRef<[u8]> = Bytes> {
    /// Type of number.
    pub dest_addr_ton: u8,
    /// Numbering plan.
    pub dest_addr_npi: u8,
    /// The address (max 21).
    pub destination_addr: COctetString<21, B>,
    /// Why it failed, as a `command_status` value.
    pub error_status_code: u32,
}

/// The 0 to 255 failed destinations of a `submit_multi_resp` (`no_unsuccess` +
/// `unsuccess_sme`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsuccessSmes<B: AsRef<[u8]> = Bytes>(Vec<UnsuccessSme<B>>);

impl UnsuccessSmes {
    /// Checks that there are at most 255 entries.
    pub fn new(entries: Vec<UnsuccessSme>) -> Result<Self, FieldError> {
        if entries.len() > MAX_ENTRIES {
            return Err(FieldError::TooLong {
                len: entries.len(),
                max: MAX_ENTRIES,
            });
        }
        Ok(Self(entries))
    }
}

impl<B: AsRef<[u8]>> UnsuccessSmes<B> {
    /// The entries in wire order.
    pub fn as_slice(&self) -> &[UnsuccessSme<B>] {
        &self.0
    }

    /// `no_unsuccess`.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every destination succeeded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn from_entries(entries: Vec<UnsuccessSme<B>>) -> Self {
        Self(entries)
    }
}

/// `submit_multi_resp` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "arbitrary",
    derive(arbitrary::Arbitrary),
    arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
)]
pub struct SubmitMultiResp<B: AsRef<[u8]> = Bytes> {
    /// The MC's id for the message (max 65).
    pub message_id: COctetString<65, B>,
    /// Destinations that failed.
    pub unsuccess_smes: UnsuccessSmes<B>,
    /// Optional parameters (SMPP 5.0).
    pub tlvs: Tlvs<B>,
}

impl<B: AsRef<[u8]>> BodyCodec<B> for SubmitMultiResp<B> {
    fn decode<'a>(frame: &B, i: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>,
    {
        let (i, message_id) = cstr(frame, i, "message_id", S::ESME_RINVMSGID)?;
        let (mut i, count) = int8(i, "no_unsuccess")?;
        let mut entries = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let (rest, (dest_addr_ton, dest_addr_npi, destination_addr)) = dest_addr(frame, i)?;
            let (rest, error_status_code) = int32(rest, "error_status_code")?;
            entries.push(UnsuccessSme {
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
                error_status_code,
            });
            i = rest;
        }
        let (i, tlvs) = tlvs(frame, i)?;
        Ok((
            i,
            SubmitMultiResp {
                message_id,
                unsuccess_smes: UnsuccessSmes::from_entries(entries),
                tlvs,
            },
        ))
    }

    fn wire_len(&self) -> usize {
        self.message_id.wire_len()
            + 1
            + self
                .unsuccess_smes
                .0
                .iter()
                .map(|e| 6 + e.destination_addr.wire_len())
                .sum::<usize>()
            + self.tlvs.wire_len()
    }

    fn encode(&self, dst: &mut BytesMut) {
        self.message_id.encode(dst);
        dst.put_u8(count_u8(self.unsuccess_smes.0.len()));
        for e in &self.unsuccess_smes.0 {
            put_addr(dst, e.dest_addr_ton, e.dest_addr_npi, &e.destination_addr);
            dst.put_u32(e.error_status_code);
        }
        self.tlvs.encode(dst);
    }
}
