//! Field parsers over the frame bytes, built on nom. Private: callers see only
//! [`DecodeError`](crate::DecodeError).
//!
//! Parsers take the remaining input as `&[u8]` and return typed values whose bytes are
//! taken from the frame through its [`Backing`]: a `Bytes` handle (one reference-count
//! increment, no copy; empty fields cost nothing) or the borrowed slice itself. A failure records what went wrong, the field's spec
//! name, the status to answer with, and how many input bytes remained where the
//! field started, from which the decoder computes the offset in the PDU.

use nom::{
    IResult, Parser,
    bytes::complete::take,
    error::{ErrorKind, ParseError},
    multi::length_data,
    number::complete::{be_u8, be_u16, be_u32},
};

use crate::{
    COctetString, CommandStatus, DecodeErrorKind, ShortMessage, Timestamp, TlvTag, Tlvs,
    types::{Backing, TIME_LEN, is_valid_time},
};

/// Why and where a parser stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) kind: DecodeErrorKind,
    pub(crate) field: &'static str,
    pub(crate) status: CommandStatus,
    /// Input bytes left at the start of the failing field.
    pub(crate) remaining: usize,
}

impl<'a> ParseError<&'a [u8]> for Fail {
    fn from_error_kind(input: &'a [u8], _kind: ErrorKind) -> Self {
        Fail {
            kind: DecodeErrorKind::Truncated,
            field: "",
            status: CommandStatus::ESME_RINVCMDLEN,
            remaining: input.len(),
        }
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, O> = IResult<&'a [u8], O, Fail>;

/// A failure at `input`.
pub(crate) fn fail<'a, O>(
    input: &'a [u8],
    kind: DecodeErrorKind,
    field: &'static str,
    status: CommandStatus,
) -> PResult<'a, O> {
    Err(nom::Err::Error(Fail {
        kind,
        field,
        status,
        remaining: input.len(),
    }))
}

/// Unwraps the nom error envelope. Complete-input parsers never return `Incomplete`;
/// should one, it is reported as truncation.
pub(crate) fn into_fail(err: nom::Err<Fail>) -> Fail {
    match err {
        nom::Err::Error(f) | nom::Err::Failure(f) => f,
        nom::Err::Incomplete(_) => Fail {
            kind: DecodeErrorKind::Truncated,
            field: "",
            status: CommandStatus::ESME_RINVCMDLEN,
            remaining: 0,
        },
    }
}

/// Names the field of a truncation reported by a nom primitive.
fn truncated<'a, O>(input: &'a [u8], field: &'static str, r: PResult<'a, O>) -> PResult<'a, O> {
    r.or_else(|_| {
        fail(
            input,
            DecodeErrorKind::Truncated,
            field,
            CommandStatus::ESME_RINVCMDLEN,
        )
    })
}

/// A one-octet integer field.
pub(crate) fn int8<'a>(input: &'a [u8], field: &'static str) -> PResult<'a, u8> {
    truncated(input, field, be_u8(input))
}

/// A four-octet integer field.
pub(crate) fn int32<'a>(input: &'a [u8], field: &'static str) -> PResult<'a, u32> {
    truncated(input, field, be_u32(input))
}

/// Position of the terminating NUL of a C-octet string of at most `max` wire bytes.
fn nul_within(input: &[u8], max: usize) -> Option<usize> {
    let window = input.get(..max).unwrap_or(input);
    window.iter().position(|&b| b == 0)
}

/// The failure for a C-octet string without terminator: too long for the field when
/// `max` bytes were there to scan (answered with the field's `status`), otherwise the
/// body ended inside the field, which `command_length` is to blame for.
fn unterminated<'a, O>(
    input: &'a [u8],
    max: usize,
    kind: DecodeErrorKind,
    field: &'static str,
    status: CommandStatus,
) -> PResult<'a, O> {
    if input.len() >= max {
        fail(input, kind, field, status)
    } else {
        fail(
            input,
            DecodeErrorKind::Truncated,
            field,
            CommandStatus::ESME_RINVCMDLEN,
        )
    }
}

/// A C-octet string of at most `MAX` bytes, NUL included. No NUL within `MAX` bytes
/// answers with the field's `status` (`ESME_RINVSRCADR`, `ESME_RINVSYSID`, ...).
pub(crate) fn cstr<'a, const MAX: usize, B: Backing<'a>>(
    frame: &B,
    input: &'a [u8],
    field: &'static str,
    status: CommandStatus,
) -> PResult<'a, COctetString<MAX, B>> {
    let Some(len) = nul_within(input, MAX) else {
        let max = u16::try_from(MAX).unwrap_or(u16::MAX);
        let kind = DecodeErrorKind::MissingNul { max };
        return unterminated(input, MAX, kind, field, status);
    };
    let (rest, value) = take(len)(input)?;
    let (rest, _nul) = take(1usize)(rest)?;
    Ok((rest, COctetString::from_wire(B::sub(frame, value))))
}

/// An address with its type of number and numbering plan.
pub(crate) type Addr<const N: usize, B> = (u8, u8, COctetString<N, B>);

/// `source_addr_ton`, `source_addr_npi`, `source_addr`.
pub(crate) fn source_addr<'a, const N: usize, B: Backing<'a>>(
    frame: &B,
    input: &'a [u8],
) -> PResult<'a, Addr<N, B>> {
    let (i, ton) = int8(input, "source_addr_ton")?;
    let (i, npi) = int8(i, "source_addr_npi")?;
    let (i, addr) = cstr(frame, i, "source_addr", CommandStatus::ESME_RINVSRCADR)?;
    Ok((i, (ton, npi, addr)))
}

/// `dest_addr_ton`, `dest_addr_npi`, `destination_addr`.
pub(crate) fn dest_addr<'a, const N: usize, B: Backing<'a>>(
    frame: &B,
    input: &'a [u8],
) -> PResult<'a, Addr<N, B>> {
    let (i, ton) = int8(input, "dest_addr_ton")?;
    let (i, npi) = int8(i, "dest_addr_npi")?;
    let (i, addr) = cstr(frame, i, "destination_addr", CommandStatus::ESME_RINVDSTADR)?;
    Ok((i, (ton, npi, addr)))
}

/// An SMPP time: a lone NUL or 16 valid characters and a NUL. Wrong content answers
/// with `status` (`ESME_RINVSCHED`, `ESME_RINVEXPIRY`).
pub(crate) fn time<'a, B: Backing<'a>>(
    frame: &B,
    input: &'a [u8],
    field: &'static str,
    status: CommandStatus,
) -> PResult<'a, Timestamp<B>> {
    let max = TIME_LEN + 1;
    let value = match nul_within(input, max) {
        Some(len) => input.get(..len).unwrap_or_default(),
        None => return unterminated(input, max, DecodeErrorKind::InvalidTime, field, status),
    };
    if !is_valid_time(value) {
        return fail(input, DecodeErrorKind::InvalidTime, field, status);
    }
    let (rest, value) = take(value.len())(input)?;
    let (rest, _nul) = take(1usize)(rest)?;
    Ok((rest, Timestamp::from_wire(B::sub(frame, value))))
}

/// `sm_length` and `short_message`.
pub(crate) fn short_message<'a, B: Backing<'a>>(
    frame: &B,
    input: &'a [u8],
) -> PResult<'a, ShortMessage<B>> {
    if input.is_empty() {
        return fail(
            input,
            DecodeErrorKind::Truncated,
            "sm_length",
            CommandStatus::ESME_RINVCMDLEN,
        );
    }
    match length_data(be_u8::<&[u8], Fail>).parse(input) {
        Ok((rest, value)) => Ok((rest, ShortMessage::from_wire(B::sub(frame, value)))),
        Err(_) => fail(
            input,
            DecodeErrorKind::SmLengthOverrun,
            "sm_length",
            CommandStatus::ESME_RINVMSGLEN,
        ),
    }
}

/// The TLV part: everything up to the end of the PDU. Checks that each TLV fits,
/// that known tags have allowed lengths and that single-use tags occur once.
pub(crate) fn tlvs<'a, B: Backing<'a>>(frame: &B, input: &'a [u8]) -> PResult<'a, Tlvs<B>> {
    let mut rest = input;
    let mut seen = 0u8;
    while !rest.is_empty() {
        let at = rest;
        let parsed: PResult<'a, (u16, &'a [u8])> = (be_u16, length_data(be_u16)).parse(rest);
        let Ok((next, (tag, value))) = parsed else {
            return fail(
                at,
                DecodeErrorKind::TlvOverrun,
                "tlvs",
                CommandStatus::ESME_RINVOPTPARSTREAM,
            );
        };
        let tag = TlvTag(tag);
        if !tag.len_rule().allows(value.len()) {
            let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
            return fail(
                at,
                DecodeErrorKind::TlvLength { tag: tag.0, len },
                tag.name().unwrap_or("tlvs"),
                CommandStatus::ESME_RINVPARLEN,
            );
        }
        if let Some(bit) = tag.singleton_bit() {
            if seen & (1 << bit) != 0 {
                return fail(
                    at,
                    DecodeErrorKind::DuplicateTlv { tag: tag.0 },
                    tag.name().unwrap_or("tlvs"),
                    CommandStatus::ESME_RINVOPTPARSTREAM,
                );
            }
            seen |= 1 << bit;
        }
        rest = next;
    }
    Ok((rest, Tlvs::from_wire(B::sub(frame, input))))
}

/// `esm_class` bit 6: the user data starts with a user data header (UDHI).
pub(crate) const ESM_CLASS_UDHI: u8 = 0x40;

/// Cross-field checks on the user data of a message PDU.
///
/// - A non-empty `short_message` next to a `message_payload` TLV is rejected: the
///   specification forbids the pair, and a filter that scanned one of them would miss
///   text the MC may deliver from the other. Answered with `ESME_RINVMSGLEN`, since
///   `sm_length` must be 0 when `message_payload` is used (SMPP 3.4 §5.3.2.32).
/// - With UDHI set in `esm_class`, the user data (`short_message`, or
///   `message_payload` when that carries the text) must hold its UDHL octet and the
///   whole header it announces (3GPP TS 23.040 §9.2.3.24); otherwise
///   `ESME_RINVMSGLEN`.
pub(crate) fn user_data<B: AsRef<[u8]>>(
    sm_at: &[u8],
    esm_class: Option<u8>,
    short_message: Option<&ShortMessage<B>>,
    tlvs: &Tlvs<B>,
) -> Result<(), nom::Err<Fail>> {
    let sm = short_message.map_or(&[][..], ShortMessage::as_bytes);
    let payload = tlvs.message_payload();
    let reject =
        |kind, field| fail(sm_at, kind, field, CommandStatus::ESME_RINVMSGLEN).map(|(_, ())| ());
    if !sm.is_empty() && payload.is_some() {
        return reject(DecodeErrorKind::PayloadConflict, "sm_length");
    }
    if esm_class.is_some_and(|c| c & ESM_CLASS_UDHI != 0) {
        let (field, data) = match payload {
            Some(p) if sm.is_empty() => ("message_payload", p),
            _ => ("short_message", sm),
        };
        let fits = data
            .first()
            .is_some_and(|&udhl| usize::from(udhl) < data.len());
        if !fits {
            return reject(DecodeErrorKind::UdhOverrun, field);
        }
    }
    Ok(())
}

/// Requires the end of the body (PDUs without a TLV part).
pub(crate) fn end(input: &[u8], field: &'static str) -> Result<(), nom::Err<Fail>> {
    if input.is_empty() {
        Ok(())
    } else {
        fail(
            input,
            DecodeErrorKind::TrailingBytes,
            field,
            CommandStatus::ESME_RINVCMDLEN,
        )
        .map(|(_, ())| ())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn run<'a, O>(r: PResult<'a, O>) -> Result<(&'a [u8], O), Fail> {
        r.map_err(into_fail)
    }

    #[test]
    fn cstr_ok_and_failures() {
        let frame = Bytes::from_static(b"abc\0rest");
        let (rest, s) = run(cstr::<4, Bytes>(
            &frame,
            &frame,
            "f",
            CommandStatus::ESME_RINVSRCADR,
        ))
        .unwrap();
        assert_eq!(s.as_bytes(), b"abc");
        assert_eq!(rest, b"rest");

        // Too long for the field.
        let e = run(cstr::<3, Bytes>(
            &frame,
            &frame,
            "f",
            CommandStatus::ESME_RINVSRCADR,
        ))
        .unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::MissingNul { max: 3 });
        assert_eq!(e.status, CommandStatus::ESME_RINVSRCADR);
        assert_eq!(e.remaining, 8);

        // Body ends before the terminator: the length is wrong, not the field.
        let frame = Bytes::from_static(b"ab");
        let e = run(cstr::<21, Bytes>(
            &frame,
            &frame,
            "f",
            CommandStatus::ESME_RINVDSTADR,
        ))
        .unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::Truncated);
        assert_eq!(e.status, CommandStatus::ESME_RINVCMDLEN);
    }

    #[test]
    fn time_field() {
        let frame = Bytes::from_static(b"240101120000000+\0x");
        let (rest, t) = run(time(&frame, &frame, "t", CommandStatus::ESME_RINVSCHED)).unwrap();
        assert_eq!(t.as_bytes(), b"240101120000000+");
        assert_eq!(rest, b"x");
        let frame = Bytes::from_static(b"\0");
        let (_, t) = run(time(&frame, &frame, "t", CommandStatus::ESME_RINVSCHED)).unwrap();
        assert!(t.is_empty());
        for bad in [&b"2401\0"[..], b"240101120000000+0\0", b"240101120000000+x"] {
            let frame = Bytes::copy_from_slice(bad);
            let e = run(time(&frame, &frame, "t", CommandStatus::ESME_RINVEXPIRY)).unwrap_err();
            assert_eq!(e.kind, DecodeErrorKind::InvalidTime);
            assert_eq!(e.status, CommandStatus::ESME_RINVEXPIRY);
        }
    }

    #[test]
    fn short_message_overrun() {
        let frame = Bytes::from_static(b"\x05Hello");
        let (rest, sm) = run(short_message(&frame, &frame)).unwrap();
        assert_eq!(sm.as_bytes(), b"Hello");
        assert!(rest.is_empty());
        let frame = Bytes::from_static(b"\xffHello");
        let e = run(short_message(&frame, &frame)).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::SmLengthOverrun);
        assert_eq!(e.status, CommandStatus::ESME_RINVMSGLEN);
        let e = run(short_message(&frame, &[])).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::Truncated);
    }

    #[test]
    fn tlv_walk() {
        let frame = Bytes::from_static(b"\x02\x0e\x00\x01\x02\x14\x00\x00\x02ab");
        let (rest, t) = run(tlvs(&frame, &frame)).unwrap();
        assert!(rest.is_empty());
        assert_eq!(t.count(), 2);

        for (bytes, kind) in [
            (&b"\x04\x24\x00\xffabc"[..], DecodeErrorKind::TlvOverrun),
            (b"\x04\x24\x00", DecodeErrorKind::TlvOverrun),
            (
                b"\x02\x0e\x00\x02\x01\x02",
                DecodeErrorKind::TlvLength {
                    tag: 0x020E,
                    len: 2,
                },
            ),
            (
                b"\x04\x24\x00\x01a\x04\x24\x00\x01b",
                DecodeErrorKind::DuplicateTlv { tag: 0x0424 },
            ),
        ] {
            let frame = Bytes::copy_from_slice(bytes);
            let e = run(tlvs(&frame, &frame)).unwrap_err();
            assert_eq!(e.kind, kind, "{bytes:02x?}");
        }
    }

    #[test]
    fn end_of_body() {
        assert!(end(b"", "f").is_ok());
        let e = into_fail(end(b"xx", "f").unwrap_err());
        assert_eq!(e.kind, DecodeErrorKind::TrailingBytes);
        assert_eq!(e.remaining, 2);
    }
}
