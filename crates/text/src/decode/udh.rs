//! User data header (TS 23.040 9.2.3.24): concatenation, application ports, national
//! language shifts; anything else is kept as a raw information element.

use super::DecodeWarning;

/// Where a message's concatenation information came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConcatSource {
    /// UDH IE 0x00, 8-bit reference.
    Udh8,
    /// UDH IE 0x08, 16-bit reference.
    Udh16,
    /// SAR TLVs (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum).
    Sar,
}

/// Concatenation information of one part, unified from UDH or SAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Concat {
    /// The message reference shared by all parts (8-bit references are widened).
    pub reference: u16,
    /// Number of parts in the message, 1 to 255.
    pub total: u8,
    /// This part's position, 1 to `total`.
    pub seqnum: u8,
    /// Which mechanism carried it.
    pub source: ConcatSource,
}

/// Application port addressing (IE 0x04 or 0x05): WAP push and other port-addressed data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// Destination port.
    pub destination: u16,
    /// Originator port.
    pub source: u16,
}

/// An information element this crate does not interpret, kept as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawIe {
    /// Information element identifier.
    pub iei: u8,
    /// Its data.
    pub data: Vec<u8>,
}

/// A parsed user data header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Udh {
    /// Concatenation (IE 0x00 or 0x08), when valid.
    pub concat: Option<Concat>,
    /// Application ports (IE 0x04 or 0x05).
    pub ports: Option<Ports>,
    /// National language single shift table (IE 0x24).
    pub single_shift: Option<u8>,
    /// National language locking shift table (IE 0x25).
    pub locking_shift: Option<u8>,
    /// Other information elements, in order.
    pub other: Vec<RawIe>,
    /// Length of the header in octets, including the UDHL octet itself.
    pub len: usize,
}

/// Parses the UDH at the start of `body`. Never fails: problems become warnings, and the
/// returned length never exceeds `body.len()`.
pub(super) fn parse(body: &[u8], warnings: &mut Vec<DecodeWarning>) -> Udh {
    let mut udh = Udh::default();
    let Some((&udhl, rest)) = body.split_first() else {
        warnings.push(DecodeWarning::UdhOverrun {
            udhl: 0,
            available: 0,
        });
        return udh;
    };
    let declared = usize::from(udhl);
    let ies = match rest.get(..declared) {
        Some(ies) => ies,
        None => {
            warnings.push(DecodeWarning::UdhOverrun {
                udhl,
                available: rest.len(),
            });
            rest
        }
    };
    udh.len = 1 + ies.len();
    let mut at = 0;
    while let Some(&iei) = ies.get(at) {
        let Some(&iedl) = ies.get(at + 1) else {
            warnings.push(DecodeWarning::UdhMalformed { iei });
            break;
        };
        let start = at + 2;
        let end = start + usize::from(iedl);
        let Some(data) = ies.get(start..end) else {
            warnings.push(DecodeWarning::UdhMalformed { iei });
            break;
        };
        at = end;
        match (iei, data) {
            (0x00, &[reference, total, seqnum]) => {
                udh.concat = concat(
                    u16::from(reference),
                    total,
                    seqnum,
                    ConcatSource::Udh8,
                    warnings,
                );
            }
            (0x08, &[hi, lo, total, seqnum]) => {
                let reference = u16::from_be_bytes([hi, lo]);
                udh.concat = concat(reference, total, seqnum, ConcatSource::Udh16, warnings);
            }
            (0x04, &[destination, source]) => {
                udh.ports = Some(Ports {
                    destination: u16::from(destination),
                    source: u16::from(source),
                });
            }
            (0x05, &[dh, dl, sh, sl]) => {
                udh.ports = Some(Ports {
                    destination: u16::from_be_bytes([dh, dl]),
                    source: u16::from_be_bytes([sh, sl]),
                });
            }
            (0x24, &[lang]) => udh.single_shift = Some(lang),
            (0x25, &[lang]) => udh.locking_shift = Some(lang),
            (0x00 | 0x08 | 0x04 | 0x05 | 0x24 | 0x25, _) => {
                warnings.push(DecodeWarning::UdhMalformed { iei });
            }
            _ => udh.other.push(RawIe {
                iei,
                data: data.to_vec(),
            }),
        }
    }
    udh
}

/// Concatenation values, or `None` with a warning when they describe no multi-part
/// message (total 0, seqnum 0 or beyond total: TS 23.040 says treat it as a single
/// message).
pub(super) fn concat(
    reference: u16,
    total: u8,
    seqnum: u8,
    source: ConcatSource,
    warnings: &mut Vec<DecodeWarning>,
) -> Option<Concat> {
    if total == 0 || seqnum == 0 || seqnum > total {
        warnings.push(DecodeWarning::InvalidConcat { total, seqnum });
        return None;
    }
    Some(Concat {
        reference,
        total,
        seqnum,
        source,
    })
}
