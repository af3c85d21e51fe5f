//! GSM 7-bit default alphabet (TS 23.038 6.2.1): septet unpacking, the 0x1B extension
//! table, and the national language locking and single shift tables.

use super::DecodeWarning;
use super::gsm_tables::{LOCKING, SINGLE};

/// The escape septet: the next septet is read from the single shift table.
const ESC: u8 = 0x1B;

/// The pair of tables one part is decoded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tables {
    locking: u8,
    single: u8,
}

impl Tables {
    /// The default alphabet and extension table.
    pub(crate) const DEFAULT: Tables = Tables {
        locking: 0,
        single: 0,
    };

    /// Tables selected by UDH IEs 0x25 (locking) and 0x24 (single shift). Unknown
    /// language identifiers fall back to the default table with a warning.
    pub(crate) fn select(
        locking: Option<u8>,
        single: Option<u8>,
        warnings: &mut Vec<DecodeWarning>,
    ) -> Tables {
        let mut pick = |lang: Option<u8>| match lang {
            None => 0,
            Some(l) if usize::from(l) < LOCKING.len() => l,
            Some(l) => {
                warnings.push(DecodeWarning::UnknownLanguage(l));
                0
            }
        };
        Tables {
            locking: pick(locking),
            single: pick(single),
        }
    }

    fn lock(self, septet: u8) -> char {
        LOCKING
            .get(usize::from(self.locking))
            .and_then(|t| t.get(usize::from(septet)))
            .and_then(|&cp| char::from_u32(u32::from(cp)))
            .unwrap_or(char::REPLACEMENT_CHARACTER)
    }

    fn shift(self, septet: u8) -> char {
        match SINGLE
            .get(usize::from(self.single))
            .and_then(|t| t.get(usize::from(septet)))
        {
            // Not in the extension table: show the basic table's character (6.2.1.1).
            Some(0) | None => self.lock(septet),
            Some(&cp) => char::from_u32(u32::from(cp)).unwrap_or(char::REPLACEMENT_CHARACTER),
        }
    }
}

/// For each septet of the default table that stands for an ASCII character (other than
/// the escape), that character; 0 for the others and for octets above 0x7F (256 entries,
/// so any octet indexes it).
static DEFAULT_ASCII: [u8; 256] = default_ascii();

#[allow(clippy::indexing_slicing)] // ok: `i` runs below 128, within both tables
const fn default_ascii() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 128 {
        let cp = LOCKING[0][i];
        if cp < 0x80 && i != ESC as usize {
            t[i] = cp as u8;
        }
        i += 1;
    }
    t
}

/// Whether septet `s` of the default table stands for the ASCII character of the same
/// code: line feed, carriage return, space to `?` except `$` (0x24 is `¤`), and the
/// letters. The same as `DEFAULT_ASCII[s] == s`, written as comparisons so a loop over it
/// runs as vector code.
#[inline]
pub(crate) fn is_ascii_septet(s: u8) -> bool {
    // `|` and `&`, not `||` and `&&`: no branch, so a loop over it is vector code.
    (s == b'\n')
        | (s == b'\r')
        | ((s.wrapping_sub(b' ') < 0x20) & (s != b'$'))
        | (s.wrapping_sub(b'A') < 26)
        | (s.wrapping_sub(b'a') < 26)
}

/// Decodes unpacked septets of the default table that all stand for ASCII characters in
/// one pass; `false` (with `out` unchanged) when any does not.
pub(crate) fn decode_ascii_septets(septets: &[u8], out: &mut String) -> bool {
    // Most text uses only septets that equal their ASCII character: copy those as they are.
    if !septets
        .iter()
        .fold(false, |odd, &s| odd | !is_ascii_septet(s))
        && let Ok(text) = simdutf8::basic::from_utf8(septets)
    {
        out.push_str(text);
        return true;
    }
    // A few septets map to another ASCII character (`$`, `@`, `_`): the septets are
    // copied as they are, then only the blocks of 32 holding such a septet are mapped in
    // place through the table (the test of a block is vector code, the mapping a load per
    // byte).
    let mut ascii = true;
    let mut bytes = std::mem::take(out).into_bytes();
    let start = bytes.len();
    bytes.extend_from_slice(septets);
    let mut map = |block: &mut [u8]| {
        for b in block {
            let a = DEFAULT_ASCII.get(usize::from(*b)).copied().unwrap_or(0);
            ascii &= a != 0;
            *b = a;
        }
    };
    let (blocks, rest) = bytes
        .get_mut(start..)
        .unwrap_or_default()
        .as_chunks_mut::<32>();
    for block in blocks {
        if block
            .iter()
            .fold(false, |odd, &s| odd | !is_ascii_septet(s))
        {
            map(block);
        }
    }
    map(rest);
    if !ascii {
        bytes.truncate(start);
    }
    match String::from_utf8(bytes) {
        Ok(s) => {
            *out = s;
            ascii
        }
        Err(e) => {
            // Unreachable: only ASCII bytes were added to valid UTF-8.
            let mut bytes = e.into_bytes();
            bytes.truncate(start);
            *out = String::from_utf8(bytes).unwrap_or_default();
            false
        }
    }
}

/// Decodes septets (one per octet) into `out`.
///
/// `boundaries` lists septet indices where a new part starts; for each, the offset in
/// `out` where that part's text starts is pushed to `marks` (after a character whose
/// escape straddles the boundary).
pub(crate) fn decode_septets(
    septets: &[u8],
    tables: Tables,
    out: &mut String,
    warnings: &mut Vec<DecodeWarning>,
    boundaries: &[usize],
    marks: &mut Vec<usize>,
) {
    let mut next_boundary = boundaries.iter().peekable();
    let mut high_bit = false;
    let mut i = 0;
    while i < septets.len() || next_boundary.peek().is_some() {
        while next_boundary.next_if(|&&b| b <= i).is_some() {
            marks.push(out.len());
        }
        let Some(&s) = septets.get(i) else {
            break;
        };
        i += 1;
        if s > 0x7F {
            high_bit = true;
            out.push(char::REPLACEMENT_CHARACTER);
        } else if s == ESC {
            match septets.get(i) {
                Some(&n) if n <= 0x7F => {
                    out.push(tables.shift(n));
                    i += 1;
                }
                Some(_) => {
                    // The escaped septet is invalid: it is reported on the next round.
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                None => {
                    warnings.push(DecodeWarning::TrailingEscape);
                    out.push(char::REPLACEMENT_CHARACTER);
                }
            }
        } else {
            out.push(tables.lock(s));
        }
    }
    if high_bit {
        warnings.push(DecodeWarning::Gsm7HighBit);
    }
}

/// Octets needed to hold `bits` bits.
fn octets_for(bits: usize) -> usize {
    bits.div_ceil(8)
}

/// Unpacks packed septets from `body`, starting `start_bits` bits in (after a UDH and
/// its fill bits), appending them to `out`.
///
/// A final zero septet made only of the padding of the last octet is dropped: the encoder
/// wrote the same octets for one septet less (TS 23.038 6.1.2.1.1).
pub(crate) fn unpack(body: &[u8], start_bits: usize, out: &mut Vec<u8>) {
    let avail = (body.len() * 8).saturating_sub(start_bits);
    let mut n = avail / 7;
    let septet = |k: usize| -> u8 {
        let bit = start_bits + k * 7;
        let byte = bit / 8;
        let shift = bit % 8;
        let lo = u16::from(body.get(byte).copied().unwrap_or(0));
        let hi = u16::from(body.get(byte + 1).copied().unwrap_or(0));
        (((lo | (hi << 8)) >> shift) & 0x7F) as u8
    };
    if n > 0 && septet(n - 1) == 0 && octets_for(start_bits + (n - 1) * 7) == body.len() {
        n -= 1;
    }
    out.reserve(n);
    out.extend((0..n).map(septet));
}

/// Fill bits after a UDH of `udh_octets` octets so the text starts on a septet boundary.
pub(crate) fn start_bits(udh_octets: usize) -> usize {
    let bits = udh_octets * 8;
    bits.div_ceil(7) * 7
}
