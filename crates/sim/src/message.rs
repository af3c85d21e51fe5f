//! Test-message builders: GSM 7-bit, UCS-2, Latin-1 and binary messages as codec PDUs,
//! single or split into concatenated parts with an 8-bit or 16-bit reference UDH or
//! with SAR TLVs, or carried in `message_payload`.
//!
//! Splitting happens on character boundaries of the encoded text: a GSM escape pair
//! (`1B xx`) or a UTF-16 surrogate pair is never cut in two, because a sender that
//! did so would produce parts no handset can show.
//!
//! ```
//! use smppguard_sim::message::{Concat, Sms};
//!
//! let parts = Sms::gsm7("Win a FREE prize")?
//!     .from("447700900001")
//!     .to("447700900002")
//!     .split_at(Concat::Udh8 { reference: 0x2A }, &[8])?;
//! assert_eq!(parts.len(), 2);
//! assert_eq!(parts[0].short_message.as_bytes(), b"\x05\x00\x03\x2a\x02\x01Win a FR");
//! # Ok::<(), smppguard_sim::BuildError>(())
//! ```

use bytes::Bytes;
use smppguard_codec::{
    COctetString, DataSm, DeliverSm, DestAddress, DestAddresses, ShortMessage, SubmitMulti,
    SubmitSm, TlvTag, Tlvs,
};

use crate::BuildError;

/// `esm_class` bit 6: `short_message` starts with a user data header.
pub const ESM_CLASS_UDHI: u8 = 0x40;

/// Largest `short_message`, in octets (`sm_length` is one octet; SMPP 5.0 allows 255).
const MAX_SHORT_MESSAGE: usize = 255;

/// How the text is encoded, which also sets `data_coding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// GSM 03.38 default alphabet, one septet per octet (unpacked), `data_coding` 0.
    Gsm7,
    /// UCS-2 as UTF-16BE (surrogate pairs for characters beyond the BMP),
    /// `data_coding` 8.
    Ucs2,
    /// ISO-8859-1, `data_coding` 3.
    Latin1,
    /// Opaque octets, `data_coding` 4 unless overridden.
    Binary,
}

// === impl Alphabet ===

impl Alphabet {
    /// The `data_coding` value that announces this alphabet.
    pub fn data_coding(self) -> u8 {
        match self {
            Alphabet::Gsm7 => 0x00,
            Alphabet::Ucs2 => 0x08,
            Alphabet::Latin1 => 0x03,
            Alphabet::Binary => 0x04,
        }
    }

    /// Octets of user data that fit one message sent alone (160 GSM septets,
    /// 70 UCS-2 characters, 140 octets).
    pub fn single_capacity(self) -> usize {
        match self {
            Alphabet::Gsm7 => 160,
            _ => 140,
        }
    }

    /// Octets of text that fit one part of a concatenated message (3GPP TS 23.040):
    /// GSM 153/152 septets after an 8/16-bit-reference UDH (the fill bit included),
    /// UCS-2 134/132 octets (67/66 characters), 8-bit 134/133, and the single-message
    /// capacity with SAR TLVs, which take no room in the user data.
    pub fn part_capacity(self, concat: Concat) -> usize {
        match (self, concat) {
            (_, Concat::Sar { .. }) => self.single_capacity(),
            (Alphabet::Gsm7, Concat::Udh8 { .. }) => 153,
            (Alphabet::Gsm7, Concat::Udh16 { .. }) => 152,
            (Alphabet::Ucs2, Concat::Udh8 { .. }) => 134,
            (Alphabet::Ucs2, Concat::Udh16 { .. }) => 132,
            (_, Concat::Udh8 { .. }) => 134,
            (_, Concat::Udh16 { .. }) => 133,
        }
    }
}

/// How the parts of a concatenated message are tied together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Concat {
    /// UDH IE 0x00: `05 00 03 ref total seq`, `esm_class` UDHI.
    Udh8 {
        /// The reference shared by the parts.
        reference: u8,
    },
    /// UDH IE 0x08: `06 08 04 refH refL total seq`, `esm_class` UDHI.
    Udh16 {
        /// The reference shared by the parts.
        reference: u16,
    },
    /// TLVs `sar_msg_ref_num`, `sar_total_segments`, `sar_segment_seqnum`, no UDH.
    Sar {
        /// The reference shared by the parts.
        reference: u16,
    },
}

/// A short message under construction: encoded text, addresses and the few header
/// fields tests vary. Build PDUs from it with [`submit_sm`](Sms::submit_sm),
/// [`split`](Sms::split), [`segments`](Sms::segments) and the other finishers.
///
/// Defaults follow the reference vectors: international source `447700900001`,
/// destination `447700900002`, no service type, `registered_delivery` 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    alphabet: Alphabet,
    /// The encoded text.
    data: Vec<u8>,
    /// Byte offset where each character starts, then the end: `data.len()`.
    bounds: Vec<usize>,
    source: Address,
    destination: Address,
    service_type: String,
    esm_class: u8,
    registered_delivery: u8,
    data_coding: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    ton: u8,
    npi: u8,
    addr: String,
}

impl Address {
    fn international(addr: &str) -> Address {
        Address {
            ton: 1,
            npi: 1,
            addr: addr.to_owned(),
        }
    }
}

// === impl Sms ===

impl Sms {
    fn encoded(alphabet: Alphabet, chars: impl Iterator<Item = Vec<u8>>) -> Sms {
        let mut data = Vec::new();
        let mut bounds = Vec::new();
        for unit in chars {
            bounds.push(data.len());
            data.extend_from_slice(&unit);
        }
        bounds.push(data.len());
        Sms {
            alphabet,
            data,
            bounds,
            source: Address::international("447700900001"),
            destination: Address::international("447700900002"),
            service_type: String::new(),
            esm_class: 0,
            registered_delivery: 0,
            data_coding: None,
        }
    }

    /// GSM 03.38 text, unpacked; characters of the extension table take two octets
    /// (`1B xx`). Fails on a character the alphabet lacks.
    pub fn gsm7(text: &str) -> Result<Sms, BuildError> {
        let units = text
            .chars()
            .enumerate()
            .map(|(position, ch)| gsm7_encode(ch).ok_or(BuildError::NotGsm7 { ch, position }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sms::encoded(Alphabet::Gsm7, units.into_iter()))
    }

    /// UCS-2 text as UTF-16BE; characters beyond the BMP become surrogate pairs.
    pub fn ucs2(text: &str) -> Sms {
        let units = text.chars().map(|ch| {
            let mut buf = [0u16; 2];
            ch.encode_utf16(&mut buf)
                .iter()
                .flat_map(|u| u.to_be_bytes())
                .collect()
        });
        Sms::encoded(Alphabet::Ucs2, units)
    }

    /// ISO-8859-1 text. Fails on a character above U+00FF.
    pub fn latin1(text: &str) -> Result<Sms, BuildError> {
        let units = text
            .chars()
            .enumerate()
            .map(|(position, ch)| {
                u8::try_from(u32::from(ch))
                    .map(|b| vec![b])
                    .map_err(|_| BuildError::NotLatin1 { ch, position })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sms::encoded(Alphabet::Latin1, units.into_iter()))
    }

    /// Opaque octets with `data_coding`; each octet counts as one character when
    /// splitting.
    pub fn binary(data: &[u8], data_coding: u8) -> Sms {
        Sms::encoded(Alphabet::Binary, data.iter().map(|b| vec![*b])).data_coding(data_coding)
    }

    /// International (TON 1, NPI 1) source address.
    pub fn from(mut self, addr: &str) -> Sms {
        self.source = Address::international(addr);
        self
    }

    /// Alphanumeric (TON 5, NPI 0) source address, e.g. a brand name.
    pub fn from_alphanumeric(mut self, name: &str) -> Sms {
        self.source = Address {
            ton: 5,
            npi: 0,
            addr: name.to_owned(),
        };
        self
    }

    /// Source address with explicit TON and NPI.
    pub fn from_address(mut self, ton: u8, npi: u8, addr: &str) -> Sms {
        self.source = Address {
            ton,
            npi,
            addr: addr.to_owned(),
        };
        self
    }

    /// International (TON 1, NPI 1) destination address.
    pub fn to(mut self, addr: &str) -> Sms {
        self.destination = Address::international(addr);
        self
    }

    /// Destination address with explicit TON and NPI.
    pub fn to_address(mut self, ton: u8, npi: u8, addr: &str) -> Sms {
        self.destination = Address {
            ton,
            npi,
            addr: addr.to_owned(),
        };
        self
    }

    /// `service_type` (at most 5 characters).
    pub fn service_type(mut self, service_type: &str) -> Sms {
        self.service_type = service_type.to_owned();
        self
    }

    /// `registered_delivery`; 1 asks for a receipt whatever the outcome.
    pub fn registered_delivery(mut self, value: u8) -> Sms {
        self.registered_delivery = value;
        self
    }

    /// `esm_class` bits to set; UDHI is added by the finishers that write a UDH.
    pub fn esm_class(mut self, value: u8) -> Sms {
        self.esm_class = value;
        self
    }

    /// Overrides `data_coding` (the alphabet still decides how the text was encoded).
    pub fn data_coding(mut self, value: u8) -> Sms {
        self.data_coding = Some(value);
        self
    }

    /// The alphabet the text is encoded in.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// The encoded text (user data without any UDH).
    pub fn user_data(&self) -> &[u8] {
        &self.data
    }

    /// Number of characters (GSM escape pairs and surrogate pairs count as one).
    pub fn char_count(&self) -> usize {
        self.bounds.len().saturating_sub(1)
    }

    /// A single `submit_sm` with the text in `short_message` (at most 255 octets;
    /// air-interface capacity is not enforced, so oversize test messages are possible).
    pub fn submit_sm(&self) -> Result<SubmitSm, BuildError> {
        let mut sm = self.base()?;
        sm.short_message = short_message(self.data.clone())?;
        Ok(sm)
    }

    /// A single `deliver_sm` (mobile-originated message) with the text in
    /// `short_message`; the same fields as [`submit_sm`](Sms::submit_sm).
    pub fn deliver_sm(&self) -> Result<DeliverSm, BuildError> {
        self.submit_sm()
    }

    /// A single `submit_sm` with `sm_length` 0 and the text in `message_payload`.
    pub fn submit_sm_payload(&self) -> Result<SubmitSm, BuildError> {
        let mut sm = self.base()?;
        sm.tlvs = payload_tlvs(&self.data)?;
        Ok(sm)
    }

    /// A `data_sm` with the text in `message_payload`.
    pub fn data_sm(&self) -> Result<DataSm, BuildError> {
        let e = self.ends::<65>()?;
        Ok(DataSm {
            service_type: e.service_type,
            source_addr_ton: self.source.ton,
            source_addr_npi: self.source.npi,
            source_addr: e.source_addr,
            dest_addr_ton: self.destination.ton,
            dest_addr_npi: self.destination.npi,
            destination_addr: e.destination_addr,
            esm_class: self.esm_class,
            registered_delivery: self.registered_delivery,
            data_coding: self.coding(),
            tlvs: payload_tlvs(&self.data)?,
        })
    }

    /// A `submit_multi` to each international address in `destinations` (1 to 255).
    pub fn submit_multi(&self, destinations: &[&str]) -> Result<SubmitMulti, BuildError> {
        let dests = destinations
            .iter()
            .map(|addr| {
                Ok(DestAddress::Sme {
                    dest_addr_ton: 1,
                    dest_addr_npi: 1,
                    destination_addr: cstr(addr, "destination_addr")?,
                })
            })
            .collect::<Result<Vec<_>, BuildError>>()?;
        let sm = self.submit_sm()?;
        Ok(SubmitMulti {
            service_type: sm.service_type,
            source_addr_ton: sm.source_addr_ton,
            source_addr_npi: sm.source_addr_npi,
            source_addr: sm.source_addr,
            dest_addresses: DestAddresses::new(dests)
                .map_err(BuildError::field("number_of_dests"))?,
            esm_class: sm.esm_class,
            protocol_id: sm.protocol_id,
            priority_flag: sm.priority_flag,
            schedule_delivery_time: sm.schedule_delivery_time,
            validity_period: sm.validity_period,
            registered_delivery: sm.registered_delivery,
            replace_if_present_flag: sm.replace_if_present_flag,
            data_coding: sm.data_coding,
            sm_default_msg_id: sm.sm_default_msg_id,
            short_message: sm.short_message,
            tlvs: sm.tlvs,
        })
    }

    /// Splits the text into `parts` parts of (nearly) equal character counts.
    pub fn split(&self, concat: Concat, parts: usize) -> Result<Vec<SubmitSm>, BuildError> {
        let chars = self.char_count();
        if parts == 0 || parts > 255 || parts > chars {
            return Err(BuildError::PartCount(parts));
        }
        let points: Vec<usize> = (1..parts).map(|k| k * chars / parts).collect();
        self.split_at(concat, &points)
    }

    /// Splits the text before each character index in `points` (strictly increasing,
    /// each between 1 and the character count minus 1): `[8]` on `"Win a FREE prize"`
    /// gives `"Win a FR"` and `"EE prize"`.
    pub fn split_at(&self, concat: Concat, points: &[usize]) -> Result<Vec<SubmitSm>, BuildError> {
        let chars = self.char_count();
        let mut ranges = Vec::with_capacity(points.len() + 1);
        let mut start = 0;
        for &p in points {
            if p <= start || p >= chars {
                return Err(BuildError::SplitPoint(p));
            }
            ranges.push((start, p));
            start = p;
        }
        ranges.push((start, chars));
        self.parts(concat, &ranges)
    }

    /// Splits the text the way a handset or gateway would: one plain `submit_sm` when
    /// it fits [`Alphabet::single_capacity`], else as many parts as needed at
    /// [`Alphabet::part_capacity`].
    pub fn segments(&self, concat: Concat) -> Result<Vec<SubmitSm>, BuildError> {
        if self.data.len() <= self.alphabet.single_capacity() {
            return Ok(vec![self.submit_sm()?]);
        }
        let capacity = self.alphabet.part_capacity(concat);
        let mut ranges = Vec::new();
        let mut start = 0;
        for i in 1..=self.char_count() {
            let (Some(&from), Some(&to)) = (self.bounds.get(start), self.bounds.get(i)) else {
                break;
            };
            if to - from > capacity {
                if i - 1 == start {
                    return Err(BuildError::TooLong {
                        len: to - from,
                        max: capacity,
                    });
                }
                ranges.push((start, i - 1));
                start = i - 1;
            }
        }
        ranges.push((start, self.char_count()));
        self.parts(concat, &ranges)
    }

    /// Builds one part per character range.
    fn parts(
        &self,
        concat: Concat,
        ranges: &[(usize, usize)],
    ) -> Result<Vec<SubmitSm>, BuildError> {
        let total = u8::try_from(ranges.len()).map_err(|_| BuildError::PartCount(ranges.len()))?;
        let base = self.base()?;
        ranges
            .iter()
            .zip(1u8..)
            .map(|(&(from, to), seq)| {
                let text = self.char_range(from, to);
                let mut sm = base.clone();
                match concat {
                    Concat::Udh8 { reference } => {
                        let mut ud = vec![0x05, 0x00, 0x03, reference, total, seq];
                        ud.extend_from_slice(text);
                        sm.esm_class |= ESM_CLASS_UDHI;
                        sm.short_message = short_message(ud)?;
                    }
                    Concat::Udh16 { reference } => {
                        let [hi, lo] = reference.to_be_bytes();
                        let mut ud = vec![0x06, 0x08, 0x04, hi, lo, total, seq];
                        ud.extend_from_slice(text);
                        sm.esm_class |= ESM_CLASS_UDHI;
                        sm.short_message = short_message(ud)?;
                    }
                    Concat::Sar { reference } => {
                        sm.short_message = short_message(text.to_vec())?;
                        sm.tlvs = sar_tlvs(reference, total, seq)?;
                    }
                }
                Ok(sm)
            })
            .collect()
    }

    fn char_range(&self, from: usize, to: usize) -> &[u8] {
        let start = self.bounds.get(from).copied().unwrap_or(0);
        let end = self.bounds.get(to).copied().unwrap_or(self.data.len());
        self.data.get(start..end).unwrap_or_default()
    }

    fn coding(&self) -> u8 {
        self.data_coding.unwrap_or(self.alphabet.data_coding())
    }

    /// A `submit_sm` with every field but the user data set.
    fn base(&self) -> Result<SubmitSm, BuildError> {
        let e = self.ends::<21>()?;
        Ok(SubmitSm {
            service_type: e.service_type,
            source_addr_ton: self.source.ton,
            source_addr_npi: self.source.npi,
            source_addr: e.source_addr,
            dest_addr_ton: self.destination.ton,
            dest_addr_npi: self.destination.npi,
            destination_addr: e.destination_addr,
            esm_class: self.esm_class,
            registered_delivery: self.registered_delivery,
            data_coding: self.coding(),
            ..SubmitSm::default()
        })
    }

    /// The C-string fields, checked against the limits of a PDU whose addresses hold
    /// `ADDR` bytes (21 in `submit_sm`, 65 in `data_sm`), NUL included.
    fn ends<const ADDR: usize>(&self) -> Result<Ends<ADDR>, BuildError> {
        Ok(Ends {
            service_type: cstr(&self.service_type, "service_type")?,
            source_addr: cstr(&self.source.addr, "source_addr")?,
            destination_addr: cstr(&self.destination.addr, "destination_addr")?,
        })
    }
}

/// The checked C-string fields of a message.
struct Ends<const ADDR: usize> {
    service_type: COctetString<6>,
    source_addr: COctetString<ADDR>,
    destination_addr: COctetString<ADDR>,
}

fn cstr<const MAX: usize>(
    value: &str,
    field: &'static str,
) -> Result<COctetString<MAX>, BuildError> {
    COctetString::new(Bytes::copy_from_slice(value.as_bytes())).map_err(BuildError::field(field))
}

fn short_message(data: Vec<u8>) -> Result<ShortMessage, BuildError> {
    if data.len() > MAX_SHORT_MESSAGE {
        return Err(BuildError::TooLong {
            len: data.len(),
            max: MAX_SHORT_MESSAGE,
        });
    }
    ShortMessage::new(data).map_err(BuildError::field("short_message"))
}

fn payload_tlvs(data: &[u8]) -> Result<Tlvs, BuildError> {
    Tlvs::new()
        .with(TlvTag::MESSAGE_PAYLOAD, data)
        .map_err(BuildError::field("message_payload"))
}

/// The three SAR TLVs, in the order the reference vectors use.
fn sar_tlvs(reference: u16, total: u8, seq: u8) -> Result<Tlvs, BuildError> {
    Tlvs::new()
        .with(TlvTag::SAR_MSG_REF_NUM, &reference.to_be_bytes())
        .and_then(|t| t.with(TlvTag::SAR_TOTAL_SEGMENTS, &[total]))
        .and_then(|t| t.with(TlvTag::SAR_SEGMENT_SEQNUM, &[seq]))
        .map_err(BuildError::field("sar"))
}

/// GSM 03.38 default alphabet, indexed by septet (0x1B is the escape to the
/// extension table and encodes no character by itself).
const GSM7_BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// GSM 03.38 extension table: the septet after `1B`, and the character.
const GSM7_EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Escape septet that selects the extension table.
const GSM7_ESCAPE: u8 = 0x1B;

/// The unpacked septets of `ch`: one for the default table, `1B xx` for the extension
/// table, `None` when GSM 03.38 has no such character.
pub fn gsm7_encode(ch: char) -> Option<Vec<u8>> {
    if ch != '\u{1B}'
        && let Some(septet) = GSM7_BASIC.iter().position(|&c| c == ch)
    {
        return u8::try_from(septet).ok().map(|s| vec![s]);
    }
    GSM7_EXTENSION
        .iter()
        .find(|(_, c)| *c == ch)
        .map(|&(septet, _)| vec![GSM7_ESCAPE, septet])
}

#[cfg(test)]
mod tests;
