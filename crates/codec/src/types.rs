//! Field value types: C-octet strings, SMPP times and `short_message`, and the byte
//! backing decoded fields live in.
//!
//! Each type wraps a backing `B`: [`Bytes`] in an owned [`Pdu`](crate::Pdu), sharing
//! the decoded frame's buffer, or `&[u8]` in a [`PduView`](crate::PduView) borrowed
//! from it. The constructors (owned form only) enforce the field's wire limits, so
//! every value a PDU can hold encodes validly; decoded values passed the same checks.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{
    FieldError,
    macros::{bytes_accessors, bytes_handles},
};

/// Where decoded field bytes live: how to turn a sub-slice of the frame being decoded
/// into a field value.
pub(crate) trait Backing<'a>: AsRef<[u8]> + Sized {
    /// The field bytes `part`, which lies within `frame`.
    fn sub(frame: &Self, part: &'a [u8]) -> Self;
}

/// Owned: a handle sharing the frame's buffer (one reference-count increment; empty
/// fields cost nothing).
impl<'a> Backing<'a> for Bytes {
    fn sub(frame: &Self, part: &'a [u8]) -> Self {
        frame.slice_ref(part)
    }
}

/// Borrowed: the slice itself.
impl<'a> Backing<'a> for &'a [u8] {
    fn sub(_frame: &Self, part: &'a [u8]) -> Self {
        part
    }
}

/// A C-octet string field of at most `MAX` bytes on the wire, terminating NUL included
/// (SMPP 3.4 §3.1). Holds the content without the NUL; it never contains a NUL byte.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct COctetString<const MAX: usize, B = Bytes>(B);

// === impl COctetString ===

impl<const MAX: usize> COctetString<MAX> {
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

    bytes_handles!("content");
}

impl<const MAX: usize, B: AsRef<[u8]>> COctetString<MAX, B> {
    /// Largest wire size of the field, terminating NUL included.
    pub const MAX_WIRE_LEN: usize = MAX;

    /// Wraps bytes the parser has already checked against the field's limits.
    pub(crate) fn from_wire(value: B) -> Self {
        Self(value)
    }

    bytes_accessors!("content, without the terminating NUL");

    /// The content as UTF-8, or `None` when it is not valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.0.as_ref()).ok()
    }

    pub(crate) fn wire_len(&self) -> usize {
        self.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(self.0.as_ref());
        dst.put_u8(0);
    }
}

/// Appends an address with its type of number and numbering plan.
pub(crate) fn put_addr<const MAX: usize, B: AsRef<[u8]>>(
    dst: &mut BytesMut,
    ton: u8,
    npi: u8,
    addr: &COctetString<MAX, B>,
) {
    dst.put_u8(ton);
    dst.put_u8(npi);
    addr.encode(dst);
}

impl<const MAX: usize, B: AsRef<[u8]>> fmt::Debug for COctetString<MAX, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
    }
}

/// Escaped as ASCII, so peer-supplied bytes cannot inject control characters in logs.
impl<const MAX: usize, B: AsRef<[u8]>> fmt::Display for COctetString<MAX, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_bytes().escape_ascii().fmt(f)
    }
}

impl<const MAX: usize, B: AsRef<[u8]>> AsRef<[u8]> for COctetString<MAX, B> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// An SMPP time field (`schedule_delivery_time`, `validity_period`, `final_date`):
/// empty, or the 16 characters `YYMMDDhhmmsstnnp` (SMPP 3.4 §7.1.1) where `p` is
/// `+`/`-` (absolute, offset from UTC in quarter hours) or `R` (relative).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Timestamp<B = Bytes>(B);

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

    bytes_handles!("characters");
}

impl<B: AsRef<[u8]>> Timestamp<B> {
    pub(crate) fn from_wire(value: B) -> Self {
        Self(value)
    }

    bytes_accessors!("0 or 16 characters, NUL excluded");

    /// Whether the time is relative to now (`p` = `R`).
    pub fn is_relative(&self) -> bool {
        self.as_bytes().last() == Some(&b'R')
    }

    pub(crate) fn wire_len(&self) -> usize {
        self.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(self.0.as_ref());
        dst.put_u8(0);
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for Timestamp<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.as_bytes().escape_ascii())
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
    let Some((chars, &[sign])) = value.split_first_chunk::<15>() else {
        return false;
    };
    // One pass: every character a digit, kept as its value.
    let mut d = [0u8; 15];
    for (digit, &c) in d.iter_mut().zip(chars) {
        *digit = c.wrapping_sub(b'0');
        if *digit > 9 {
            return false;
        }
    }
    let [_, _, m1, m2, d1, d2, h1, h2, mi1, mi2, s1, s2, _, n1, n2] = d;
    let two = |hi: u8, lo: u8| hi * 10 + lo;
    match sign {
        b'R' => true,
        b'+' | b'-' => {
            (1..=12).contains(&two(m1, m2))
                && (1..=31).contains(&two(d1, d2))
                && two(h1, h2) <= 23
                && two(mi1, mi2) <= 59
                && two(s1, s2) <= 59
                && two(n1, n2) <= 48
        }
        _ => false,
    }
}

/// The `short_message` field: 0 to 255 octets of user data, length-prefixed by
/// `sm_length` (SMPP 3.4 allows 254, SMPP 5.0 255). Not a C-string: GSM 7-bit `@`
/// is 0x00, so NUL is ordinary data here.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ShortMessage<B = Bytes>(B);

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

    bytes_handles!("user data");
}

impl<B: AsRef<[u8]>> ShortMessage<B> {
    pub(crate) fn from_wire(value: B) -> Self {
        Self(value)
    }

    bytes_accessors!("user data, UDH included when `esm_class` has UDHI set");

    pub(crate) fn wire_len(&self) -> usize {
        self.len() + 1
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        // ok: the constructors and the decoder bound the length to 255.
        dst.put_u8(u8::try_from(self.len()).unwrap_or(u8::MAX));
        dst.put_slice(self.0.as_ref());
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for ShortMessage<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShortMessage(\"{}\")", self.as_bytes().escape_ascii())
    }
}

impl<B: AsRef<[u8]>> AsRef<[u8]> for ShortMessage<B> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
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
