//! Field value types: C-octet strings, SMPP times and `short_message`.
//!
//! Each wraps a [`Bytes`] that shares the decoded frame's buffer, and each constructor
//! enforces the field's wire limits, so every value a PDU can hold encodes validly.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{FieldError, macros::bytes_accessors};

/// A C-octet string field of at most `MAX` bytes on the wire, terminating NUL included
/// (SMPP 3.4 §3.1). Holds the content without the NUL; it never contains a NUL byte.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct COctetString<const MAX: usize>(Bytes);

// === impl COctetString ===

impl<const MAX: usize> COctetString<MAX> {
    /// Largest wire size of the field, terminating NUL included.
    pub const MAX_WIRE_LEN: usize = MAX;

    /// Checks that `value` has no NUL and fits in `MAX - 1` bytes.
    pub fn new(value: impl Into<Bytes>) -> Result<Self, FieldError> {
        let value = value.into();
        if value.contains(&0) {
            return Err(FieldError::ContainsNul);
        }
        if value.len() >= MAX {
            return Err(FieldError::TooLong {
                len: value.len(),
                max: MAX.saturating_sub(1),
            });
        }
        Ok(Self(value))
    }

    /// The empty string (a lone NUL on the wire).
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    /// Wraps bytes the parser has already checked against the field's limits.
    pub(crate) fn from_wire(value: Bytes) -> Self {
        Self(value)
    }

    bytes_accessors!("content, without the terminating NUL");

    /// The content as UTF-8, or `None` when it is not valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    pub(crate) fn wire_len(&self) -> usize {
        self.0.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.0);
        dst.put_u8(0);
    }
}

/// Appends an address with its type of number and numbering plan.
pub(crate) fn put_addr<const MAX: usize>(
    dst: &mut BytesMut,
    ton: u8,
    npi: u8,
    addr: &COctetString<MAX>,
) {
    dst.put_u8(ton);
    dst.put_u8(npi);
    addr.encode(dst);
}

impl<const MAX: usize> fmt::Debug for COctetString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// Escaped as ASCII, so peer-supplied bytes cannot inject control characters in logs.
impl<const MAX: usize> fmt::Display for COctetString<MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.escape_ascii().fmt(f)
    }
}

impl<const MAX: usize> AsRef<[u8]> for COctetString<MAX> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// An SMPP time field (`schedule_delivery_time`, `validity_period`, `final_date`):
/// empty, or the 16 characters `YYMMDDhhmmsstnnp` (SMPP 3.4 §7.1.1) where `p` is
/// `+`/`-` (absolute, offset from UTC in quarter hours) or `R` (relative).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Timestamp(Bytes);

/// Characters in a non-empty SMPP time, NUL excluded.
pub(crate) const TIME_LEN: usize = 16;

// === impl Timestamp ===

impl Timestamp {
    /// Checks that `value` is empty or a valid 16-character SMPP time.
    pub fn new(value: impl Into<Bytes>) -> Result<Self, FieldError> {
        let value = value.into();
        if is_valid_time(&value) {
            Ok(Self(value))
        } else {
            Err(FieldError::InvalidTime)
        }
    }

    /// The empty time: "immediately" for a schedule, "MC default" for a validity.
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    pub(crate) fn from_wire(value: Bytes) -> Self {
        Self(value)
    }

    bytes_accessors!("0 or 16 characters, NUL excluded");

    /// Whether the time is relative to now (`p` = `R`).
    pub fn is_relative(&self) -> bool {
        self.0.last() == Some(&b'R')
    }

    pub(crate) fn wire_len(&self) -> usize {
        self.0.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.0);
        dst.put_u8(0);
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

/// Whether `value` (NUL excluded) is empty or a valid `YYMMDDhhmmsstnnp` time.
///
/// Absolute times also get range checks (month 01-12, day 01-31, hour 00-23,
/// minute and second 00-59, UTC offset 00-48 quarter hours); relative times are
/// counts of years, months, ... and only need to be digits.
pub(crate) fn is_valid_time(value: &[u8]) -> bool {
    if value.is_empty() {
        return true;
    }
    let Some((digits, rest)) = value.split_first_chunk::<15>() else {
        return false;
    };
    let &[sign] = rest else {
        return false;
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let two = |at: usize| -> u8 {
        let pair = digits.get(at..at + 2).unwrap_or(b"00");
        pair.iter().fold(0u8, |acc, d| acc * 10 + (d - b'0'))
    };
    match sign {
        b'R' => true,
        b'+' | b'-' => {
            (1..=12).contains(&two(2))
                && (1..=31).contains(&two(4))
                && two(6) <= 23
                && two(8) <= 59
                && two(10) <= 59
                && two(13) <= 48
        }
        _ => false,
    }
}

/// The `short_message` field: 0 to 255 octets of user data, length-prefixed by
/// `sm_length` (SMPP 3.4 allows 254, SMPP 5.0 255). Not a C-string: GSM 7-bit `@`
/// is 0x00, so NUL is ordinary data here.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ShortMessage(Bytes);

/// Largest `short_message` an `sm_length` octet can announce.
pub const MAX_SHORT_MESSAGE_LEN: usize = 255;

// === impl ShortMessage ===

impl ShortMessage {
    /// Checks that `value` fits in 255 octets.
    pub fn new(value: impl Into<Bytes>) -> Result<Self, FieldError> {
        let value = value.into();
        if value.len() > MAX_SHORT_MESSAGE_LEN {
            return Err(FieldError::TooLong {
                len: value.len(),
                max: MAX_SHORT_MESSAGE_LEN,
            });
        }
        Ok(Self(value))
    }

    /// No user data (`sm_length` 0), as used with a `message_payload` TLV.
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    pub(crate) fn from_wire(value: Bytes) -> Self {
        Self(value)
    }

    bytes_accessors!("user data, UDH included when `esm_class` has UDHI set");

    pub(crate) fn wire_len(&self) -> usize {
        self.0.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        // ok: the constructors bound the length to 255.
        dst.put_u8(u8::try_from(self.0.len()).unwrap_or(u8::MAX));
        dst.put_slice(&self.0);
    }
}

impl fmt::Debug for ShortMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortMessage(\"{}\")", self.0.escape_ascii())
    }
}

impl AsRef<[u8]> for ShortMessage {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_octet_string_limits() {
        assert!(COctetString::<21>::new("447700900001").is_ok());
        assert_eq!(
            COctetString::<6>::new("CMTxyz"),
            Err(FieldError::TooLong { len: 6, max: 5 })
        );
        assert!(COctetString::<6>::new("CMT12").is_ok());
        assert_eq!(
            COctetString::<16>::new(&b"a\0b"[..]),
            Err(FieldError::ContainsNul)
        );
        let s = COctetString::<16>::new("smpp\x01").unwrap();
        assert_eq!(format!("{s:?}"), "\"smpp\\x01\"");
        assert_eq!(s.to_string(), "smpp\\x01");
        assert_eq!(s.wire_len(), 6);
        assert_eq!(COctetString::<16>::MAX_WIRE_LEN, 16);
    }

    #[test]
    fn time_formats() {
        for ok in [
            "",
            "240101120000000+",
            "991231235959948-",
            "000001000000000R",
            "990000000000000R",
        ] {
            assert!(Timestamp::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2401011200000",     // short
            "240101120000000",   // 15 chars
            "240101120000000X",  // bad sign
            "241301120000000+",  // month 13
            "240100120000000+",  // day 0
            "240101240000000+",  // hour 24
            "240101126000000+",  // minute 60
            "240101120060000+",  // second 60
            "240101120000049+",  // offset 49 quarter hours
            "24010112000000a+",  // non-digit
            "240101120000000+0", // 17 chars
        ] {
            assert_eq!(Timestamp::new(bad), Err(FieldError::InvalidTime), "{bad}");
        }
        assert!(Timestamp::new("000001000000000R").unwrap().is_relative());
        assert!(!Timestamp::empty().is_relative());
    }

    #[test]
    fn short_message_limit() {
        assert!(ShortMessage::new(vec![0u8; 255]).is_ok());
        assert_eq!(
            ShortMessage::new(vec![0u8; 256]),
            Err(FieldError::TooLong { len: 256, max: 255 })
        );
        let mut out = BytesMut::new();
        ShortMessage::new(&b"Hi"[..]).unwrap().encode(&mut out);
        assert_eq!(&out[..], b"\x02Hi");
    }
}
