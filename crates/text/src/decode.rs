//! Decoding one SMPP part: the user data header, the `data_coding` alphabet, and the
//! concatenation information from UDH or SAR TLVs.
//!
//! Decoding never fails. Hostile input (odd-length UCS-2, lone surrogates, a trailing
//! escape, high bytes in GSM 7-bit text, a UDH longer than the body) decodes as far as it
//! can, marks the rest with U+FFFD and reports a [`DecodeWarning`].

use std::ops::Range;

use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(crate) mod gsm7;
mod gsm_tables;
pub(crate) mod udh;

use udh::{Concat, ConcatSource, Udh};

/// `esm_class` bit: the short message starts with a user data header.
pub const ESM_CLASS_UDHI: u8 = 0x40;

/// What `data_coding` 0 (the SMSC default alphabet) means on a link. SMSCs differ, so it
/// is configured per upstream or account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultAlphabet {
    /// GSM 03.38, one septet per octet (the SMPP norm).
    #[default]
    Gsm7,
    /// GSM 03.38, septets packed eight to seven octets.
    Gsm7Packed,
    /// ISO-8859-1.
    Latin1,
    /// IA5 / ASCII.
    Ia5,
}

/// Decoding settings of one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecodeOptions {
    /// What `data_coding` 0 means.
    pub default_alphabet: DefaultAlphabet,
}

/// The alphabet a part was decoded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    /// GSM 03.38 7-bit, packed or one septet per octet.
    Gsm7 {
        /// Septets packed eight to seven octets.
        packed: bool,
    },
    /// IA5 / ASCII.
    Ascii,
    /// ISO-8859-1.
    Latin1,
    /// UCS-2, decoded as UTF-16BE so surrogate pairs (emoji) work.
    Ucs2,
    /// ISO-8859-5 (data_coding 6).
    Cyrillic,
    /// ISO-8859-8 (data_coding 7).
    Hebrew,
    /// JIS X 0208, as Shift_JIS (data_coding 5).
    ShiftJis,
    /// ISO-2022-JP (data_coding 0x0A).
    Iso2022Jp,
    /// JIS X 0212, as EUC-JP (data_coding 0x0D).
    EucJp,
    /// KS C 5601, as EUC-KR (data_coding 0x0E).
    EucKr,
    /// 8-bit data: no text (WAP push, ringtones, SIM data).
    Binary,
    /// A data_coding this crate does not know: handled as binary.
    Unknown(u8),
}

impl Coding {
    /// The alphabet `data_coding` selects on a link with `opts`.
    pub fn from_data_coding(data_coding: u8, opts: &DecodeOptions) -> Coding {
        let gsm7 = Coding::Gsm7 {
            packed: opts.default_alphabet == DefaultAlphabet::Gsm7Packed,
        };
        match data_coding {
            0x00 => match opts.default_alphabet {
                DefaultAlphabet::Gsm7 | DefaultAlphabet::Gsm7Packed => gsm7,
                DefaultAlphabet::Latin1 => Coding::Latin1,
                DefaultAlphabet::Ia5 => Coding::Ascii,
            },
            0x01 => Coding::Ascii,
            0x02 | 0x04 | 0x09 => Coding::Binary,
            0x03 => Coding::Latin1,
            0x05 => Coding::ShiftJis,
            0x06 => Coding::Cyrillic,
            0x07 => Coding::Hebrew,
            0x08 => Coding::Ucs2,
            0x0A => Coding::Iso2022Jp,
            0x0D => Coding::EucJp,
            0x0E => Coding::EucKr,
            // TS 23.038 general data coding (uncompressed), including automatic deletion.
            0x10..=0x1F | 0x40..=0x5F => match (data_coding >> 2) & 0x03 {
                0 => gsm7,
                1 => Coding::Binary,
                2 => Coding::Ucs2,
                _ => Coding::Unknown(data_coding),
            },
            // Message waiting indication groups: discard / store (GSM 7-bit), store (UCS-2).
            0xC0..=0xDF => gsm7,
            0xE0..=0xEF => Coding::Ucs2,
            // Data coding / message class: bit 2 selects 8-bit data.
            0xF0..=0xFF => {
                if data_coding & 0x04 == 0 {
                    gsm7
                } else {
                    Coding::Binary
                }
            }
            _ => Coding::Unknown(data_coding),
        }
    }

    /// Whether parts in this coding carry no text.
    pub fn is_binary(self) -> bool {
        matches!(self, Coding::Binary | Coding::Unknown(_))
    }

    fn legacy_encoding(self) -> Option<&'static Encoding> {
        Some(match self {
            Coding::Cyrillic => encoding_rs::ISO_8859_5,
            Coding::Hebrew => encoding_rs::ISO_8859_8,
            Coding::ShiftJis => encoding_rs::SHIFT_JIS,
            Coding::Iso2022Jp => encoding_rs::ISO_2022_JP,
            Coding::EucJp => encoding_rs::EUC_JP,
            Coding::EucKr => encoding_rs::EUC_KR,
            _ => return None,
        })
    }
}

/// SAR TLV values of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SarInfo {
    /// sar_msg_ref_num.
    pub reference: u16,
    /// sar_total_segments.
    pub total: u8,
    /// sar_segment_seqnum.
    pub seqnum: u8,
}

/// The fields of a submit_sm / deliver_sm / data_sm this crate needs, as plain values (the
/// proxy takes them from the codec's view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartInput<'a> {
    /// esm_class; bit 0x40 (UDHI) says the body starts with a UDH.
    pub esm_class: u8,
    /// data_coding.
    pub data_coding: u8,
    /// short_message.
    pub short_message: &'a [u8],
    /// The message_payload TLV, when present; it is the body when set.
    pub message_payload: Option<&'a [u8]>,
    /// SAR TLVs, when all three are present.
    pub sar: Option<SarInfo>,
}

impl<'a> PartInput<'a> {
    /// The bytes holding the message: message_payload when present, else short_message.
    pub fn body(&self) -> &'a [u8] {
        self.message_payload.unwrap_or(self.short_message)
    }
}

/// Something odd about a part that decoding worked around. Each is also a reason a
/// strict policy may reject the part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum DecodeWarning {
    /// UCS-2 body of odd length: the last octet became U+FFFD.
    #[error("ucs-2 body has an odd number of octets")]
    OddUcs2Length,
    /// A UTF-16 surrogate without its pair became U+FFFD.
    #[error("ucs-2 body has an unpaired surrogate")]
    LoneSurrogate,
    /// The last septet was the 0x1B escape.
    #[error("gsm 7-bit text ends with an escape septet")]
    TrailingEscape,
    /// Octets above 0x7F in unpacked GSM 7-bit text became U+FFFD.
    #[error("gsm 7-bit text has octets above 0x7f")]
    Gsm7HighBit,
    /// Octets above 0x7F in IA5 text became U+FFFD.
    #[error("ia5 text has octets above 0x7f")]
    Ia5HighBit,
    /// A legacy multi-byte coding had invalid sequences (replaced by U+FFFD).
    #[error("malformed {0:?} text")]
    MalformedText(Coding),
    /// The UDH length octet runs past the body.
    #[error("udh length {udhl} exceeds the {available} octets after it")]
    UdhOverrun {
        /// Declared UDH length.
        udhl: u8,
        /// Octets actually present after the length octet.
        available: usize,
    },
    /// An information element is truncated or has the wrong length for its identifier.
    #[error("malformed udh information element 0x{iei:02x}")]
    UdhMalformed {
        /// The information element identifier.
        iei: u8,
    },
    /// Concatenation values that describe no multi-part message (total 0, seqnum 0 or
    /// beyond total): the part is handled as a single message.
    #[error("invalid concatenation values: seqnum {seqnum} of {total}")]
    InvalidConcat {
        /// Declared total.
        total: u8,
        /// Declared seqnum.
        seqnum: u8,
    },
    /// Both UDH concatenation and SAR TLVs are present; the UDH wins.
    #[error("both udh concatenation and sar tlvs are present")]
    ConcatConflict,
    /// Both short_message and message_payload carry data; message_payload is decoded.
    #[error("both short_message and message_payload carry data")]
    BothBodies,
    /// A data_coding this crate does not know; the body is handled as binary.
    #[error("unknown data_coding 0x{0:02x}")]
    UnknownDataCoding(u8),
    /// A national language identifier without a table; the default table is used.
    #[error("unknown national language identifier {0}")]
    UnknownLanguage(u8),
}

/// One decoded part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodedPart {
    /// The text as a person reads it (empty for binary parts).
    pub text: String,
    /// The alphabet used.
    pub coding: Option<Coding>,
    /// The user data header, when esm_class had UDHI.
    pub udh: Option<Udh>,
    /// Concatenation information, from the UDH or else from SAR TLVs.
    pub concat: Option<Concat>,
    /// Binary data (8-bit or unknown data_coding): no text; rules for binary content
    /// apply to [`PartInput::body`] (the UDH ports say what the data is for).
    pub binary: bool,
    /// Byte range of the user data (after the UDH) in [`PartInput::body`].
    pub user_data: Range<usize>,
    /// What decoding worked around.
    pub warnings: Vec<DecodeWarning>,
}

/// Decodes one part.
pub fn decode_part(input: &PartInput<'_>, opts: &DecodeOptions) -> DecodedPart {
    let mut out = DecodedPart::default();
    decode_part_into(input, opts, &mut out);
    out
}

/// Decodes one part into `out`, reusing its buffers.
pub fn decode_part_into(input: &PartInput<'_>, opts: &DecodeOptions, out: &mut DecodedPart) {
    if let Some(job) = decode_head(input, opts, out) {
        decode_body(input, &job, out);
    }
}

/// What is left to decode of a part once its header is read: its text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TextJob {
    coding: Coding,
    udh_len: usize,
    tables: gsm7::Tables,
    /// The UDH ran past the body: the text ends with U+FFFD.
    overrun: bool,
}

impl TextJob {
    /// The user data when it is UCS-2 decoded as it stands (no UDH overrun to mark).
    pub(crate) fn plain_ucs2<'a>(
        &self,
        input: &PartInput<'a>,
        out: &DecodedPart,
    ) -> Option<&'a [u8]> {
        if self.coding != Coding::Ucs2 || self.overrun {
            return None;
        }
        input.body().get(out.user_data.clone())
    }
}

/// Everything of [`decode_part_into`] but the text: resets `out`, reads the UDH, the
/// concatenation information and the alphabet. `None` for binary parts, which have no
/// text.
pub(crate) fn decode_head(
    input: &PartInput<'_>,
    opts: &DecodeOptions,
    out: &mut DecodedPart,
) -> Option<TextJob> {
    out.text.clear();
    out.udh = None;
    out.concat = None;
    out.binary = false;
    out.warnings.clear();
    let body = input.body();
    if input.message_payload.is_some() && !input.short_message.is_empty() {
        out.warnings.push(DecodeWarning::BothBodies);
    }
    let coding = Coding::from_data_coding(input.data_coding, opts);
    out.coding = Some(coding);
    if let Coding::Unknown(dc) = coding {
        out.warnings.push(DecodeWarning::UnknownDataCoding(dc));
    }
    let mut udh_len = 0;
    if input.esm_class & ESM_CLASS_UDHI != 0 {
        let udh = udh::parse(body, &mut out.warnings);
        udh_len = udh.len;
        out.concat = udh.concat;
        out.udh = Some(udh);
    }
    if let Some(sar) = input.sar {
        if out.concat.is_some() {
            out.warnings.push(DecodeWarning::ConcatConflict);
        } else {
            out.concat = udh::concat(
                sar.reference,
                sar.total,
                sar.seqnum,
                ConcatSource::Sar,
                &mut out.warnings,
            );
        }
    }
    out.user_data = udh_len.min(body.len())..body.len();
    let overrun = out
        .warnings
        .iter()
        .any(|w| matches!(w, DecodeWarning::UdhOverrun { .. }));
    out.binary = coding.is_binary();
    if out.binary {
        return None;
    }
    let tables = match &out.udh {
        Some(u) => gsm7::Tables::select(u.locking_shift, u.single_shift, &mut out.warnings),
        None => gsm7::Tables::DEFAULT,
    };
    Some(TextJob {
        coding,
        udh_len,
        tables,
        overrun,
    })
}

/// The text of a part whose header [`decode_head`] read into `out`.
pub(crate) fn decode_body(input: &PartInput<'_>, job: &TextJob, out: &mut DecodedPart) {
    let body = input.body();
    let user_data = body.get(out.user_data.clone()).unwrap_or(&[]);
    decode_text(
        job.coding,
        body,
        job.udh_len,
        user_data,
        job.tables,
        &mut out.text,
        &mut out.warnings,
    );
    if job.overrun {
        out.text.push(char::REPLACEMENT_CHARACTER);
    }
}

/// Decodes the user data of one part (or of several joined parts) in `coding`.
fn decode_text(
    coding: Coding,
    body: &[u8],
    udh_len: usize,
    user_data: &[u8],
    tables: gsm7::Tables,
    out: &mut String,
    warnings: &mut Vec<DecodeWarning>,
) {
    match coding {
        Coding::Gsm7 { packed: false } => {
            if tables == gsm7::Tables::DEFAULT && gsm7::decode_ascii_septets(user_data, out) {
                return;
            }
            out.reserve(user_data.len());
            gsm7::decode_septets(user_data, tables, out, warnings, &[], &mut Vec::new());
        }
        Coding::Gsm7 { packed: true } => {
            let mut septets = Vec::new();
            gsm7::unpack(body, gsm7::start_bits(udh_len), &mut septets);
            gsm7::decode_septets(&septets, tables, out, warnings, &[], &mut Vec::new());
        }
        Coding::Ascii => {
            out.reserve(user_data.len());
            let mut high = false;
            out.extend(user_data.iter().map(|&b| {
                if b.is_ascii() {
                    char::from(b)
                } else {
                    high = true;
                    char::REPLACEMENT_CHARACTER
                }
            }));
            if high {
                warnings.push(DecodeWarning::Ia5HighBit);
            }
        }
        Coding::Latin1 => out.extend(user_data.iter().map(|&b| char::from(b))),
        Coding::Ucs2 => decode_ucs2(user_data, out, warnings),
        Coding::Binary | Coding::Unknown(_) => {}
        other => {
            if let Some(enc) = other.legacy_encoding() {
                let (text, malformed) = enc.decode_without_bom_handling(user_data);
                out.push_str(&text);
                if malformed {
                    warnings.push(DecodeWarning::MalformedText(other));
                }
            }
        }
    }
}

/// UTF-16BE with surrogate pairs, as [`decode_utf16be`] without part boundaries.
///
/// Text without surrogates (everything but emoji and rare Han characters) is encoded to
/// UTF-8 a block at a time in a stack buffer, checked with `simdutf8` (vector code, a
/// fraction of the cost of the encoding itself) and appended in one copy: about three times
/// fewer instructions than pushing each `char`. Text with surrogates goes through
/// [`decode_utf16be`], which pairs them and reports unpaired ones.
pub(crate) fn decode_ucs2(data: &[u8], out: &mut String, warnings: &mut Vec<DecodeWarning>) {
    /// Code units encoded per block.
    const BLOCK: usize = 64;
    let start = out.len();
    let (pairs, odd) = data.as_chunks::<2>();
    out.reserve(pairs.len() * 3 + odd.len() * 3);
    let mut buf = [0u8; BLOCK * 3];
    for block in pairs.chunks(BLOCK) {
        // Blocks of three-byte characters only (Chinese text with CJK punctuation): one
        // store of three bytes per code unit, no branch per unit.
        let wide = block.iter().fold(true, |all, &pair| {
            let u = u16::from_be_bytes(pair);
            all & (u >= 0x800) & (u & 0xF800 != 0xD800)
        });
        let n = if wide {
            let mut n = 0;
            for (dst, &pair) in buf.as_chunks_mut::<3>().0.iter_mut().zip(block) {
                *dst = utf8_3(u16::from_be_bytes(pair));
                n += 3;
            }
            Some(n)
        } else {
            encode_block(block, &mut buf)
        };
        match n.and_then(|n| buf.get(..n)).map(simdutf8::basic::from_utf8) {
            Some(Ok(text)) => out.push_str(text),
            // A surrogate (or, unreachably, bytes that are not UTF-8): the reference decoder.
            _ => {
                out.truncate(start);
                decode_utf16be(data, out, warnings, &[], &mut Vec::new());
                return;
            }
        }
    }
    if !odd.is_empty() {
        out.push(char::REPLACEMENT_CHARACTER);
        warnings.push(DecodeWarning::OddUcs2Length);
    }
}

/// Encodes the code units of `block` (big-endian pairs) as UTF-8 into `buf`: the number
/// of bytes written, or `None` at a surrogate.
fn encode_block(block: &[[u8; 2]], buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    for &pair in block {
        let u = u16::from_be_bytes(pair);
        n += match u {
            0..=0x7F => buf.get_mut(n).map(|b| *b = u as u8).map(|()| 1)?,
            0x80..=0x7FF => buf.get_mut(n..n + 2).map(|b| {
                b.copy_from_slice(&[0xC0 | (u >> 6) as u8, 0x80 | (u & 0x3F) as u8]);
                2
            })?,
            0xD800..=0xDFFF => return None,
            _ => buf.get_mut(n..n + 3).map(|b| {
                b.copy_from_slice(&utf8_3(u));
                3
            })?,
        };
    }
    Some(n)
}

/// The UTF-8 bytes of a code unit from U+0800 up (not a surrogate).
fn utf8_3(u: u16) -> [u8; 3] {
    [
        0xE0 | (u >> 12) as u8,
        0x80 | ((u >> 6) & 0x3F) as u8,
        0x80 | (u & 0x3F) as u8,
    ]
}

/// UTF-16BE with surrogate pairs; an odd final octet and unpaired surrogates become
/// U+FFFD. Used where part boundaries must be marked; [`decode_ucs2`] otherwise.
///
/// `boundaries` lists byte offsets where a new part starts; for each, the offset in `out`
/// where that part's text starts is pushed to `marks`.
pub(crate) fn decode_utf16be(
    data: &[u8],
    out: &mut String,
    warnings: &mut Vec<DecodeWarning>,
    boundaries: &[usize],
    marks: &mut Vec<usize>,
) {
    out.reserve(data.len() / 2 * 3);
    let mut next_boundary = boundaries.iter().peekable();
    let mut lone = false;
    let mut rest = data;
    loop {
        let pos = data.len() - rest.len();
        while next_boundary.next_if(|&&b| b <= pos).is_some() {
            marks.push(out.len());
        }
        let &[hi, lo, ref tail @ ..] = rest else {
            break;
        };
        rest = tail;
        let u = u16::from_be_bytes([hi, lo]);
        let c = match (u, rest) {
            (0xD800..=0xDBFF, &[h2, l2, ref tail2 @ ..]) if (0xDC..=0xDF).contains(&h2) => {
                rest = tail2;
                let low = u16::from_be_bytes([h2, l2]);
                char::from_u32(
                    0x10000 + ((u32::from(u) - 0xD800) << 10) + (u32::from(low) - 0xDC00),
                )
            }
            _ => char::from_u32(u32::from(u)),
        };
        out.push(c.unwrap_or_else(|| {
            lone = true;
            char::REPLACEMENT_CHARACTER
        }));
    }
    if lone {
        warnings.push(DecodeWarning::LoneSurrogate);
    }
    if data.len() % 2 == 1 {
        out.push(char::REPLACEMENT_CHARACTER);
        warnings.push(DecodeWarning::OddUcs2Length);
    }
}

#[cfg(test)]
mod tests;
