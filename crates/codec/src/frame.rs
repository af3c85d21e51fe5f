//! Splitting a byte stream into PDU frames by reading only the header.
//!
//! SMPP has no frame delimiter: `command_length` is the only way to find the next PDU.
//! When it is out of range the stream cannot be resynchronised, so a framing error is
//! fatal for the connection (SMPP 3.4 §3.2; Kannel and node-smpp close likewise).

use bytes::{Bytes, BytesMut};

use crate::{CommandId, CommandStatus, HEADER_LEN, Header, Pdu};

/// A conservative default for the largest PDU accepted, in bytes.
///
/// The common stacks cap PDUs between 7424 (Kannel) and 16384 (node-smpp) bytes; 8192
/// is Rusmpp's default and leaves room for a `submit_sm` with a few KiB of
/// `message_payload`. Deployments that expect longer payloads raise it.
pub const DEFAULT_MAX_COMMAND_LENGTH: u32 = 8192;

/// Bytes needed to read `command_length`.
const LENGTH_LEN: usize = 4;

/// Why a stream cannot be framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// `command_length` below the 16-byte header.
    #[error("command_length {0} below the 16-byte header")]
    TooShort(u32),
    /// `command_length` above the configured maximum (e.g. "HTTP" read as a length).
    #[error("command_length {length} above the maximum of {max}")]
    TooLong {
        /// The value read.
        length: u32,
        /// The configured maximum.
        max: u32,
    },
}

/// A fatal framing error: the connection must be closed.
///
/// It carries the `generic_nack` (`ESME_RINVCMDLEN`) that may be sent before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("cannot frame smpp stream: {kind}")]
pub struct FrameError {
    kind: FrameErrorKind,
    sequence_number: u32,
}

// === impl FrameError ===

impl FrameError {
    /// What was wrong with `command_length`.
    pub fn kind(&self) -> FrameErrorKind {
        self.kind
    }

    /// The status to answer with: always `ESME_RINVCMDLEN`.
    pub fn status(&self) -> CommandStatus {
        CommandStatus::ESME_RINVCMDLEN
    }

    /// The sequence number the `generic_nack` echoes: the header's when the whole
    /// header had arrived and `command_length` did not rule it out (too long), else 0.
    pub fn sequence_number(&self) -> u32 {
        self.sequence_number
    }

    /// The header of the `generic_nack` to send before closing.
    pub fn response_header(&self) -> Header {
        Header::new(CommandId::GENERIC_NACK, self.status(), self.sequence_number)
    }

    /// The `generic_nack` to send before closing.
    pub fn response(&self) -> Pdu {
        Pdu::generic_nack(self.status(), self.sequence_number)
    }
}

/// Header-only framing check over the start of `buf`; nothing is allocated or copied.
///
/// - `Ok(None)`: more bytes are needed (not an error);
/// - `Ok(Some(len))`: a whole frame of `len` bytes starts `buf`;
/// - `Err(_)`: `command_length` is below 16 or above `max_len`. Reported as soon as the
///   four length bytes are in, without waiting for the announced body.
pub fn check(buf: &[u8], max_len: u32) -> Result<Option<usize>, FrameError> {
    let Some((length, _)) = buf.split_first_chunk::<LENGTH_LEN>() else {
        return Ok(None);
    };
    let length = u32::from_be_bytes(*length);
    if usize::try_from(length).map_or(true, |l| l < HEADER_LEN) {
        // A length that rules out a header leaves no field to trust (SMPP 3.4 §3.2).
        return Err(FrameError {
            kind: FrameErrorKind::TooShort(length),
            sequence_number: 0,
        });
    }
    if length > max_len {
        let sequence_number = Header::parse(buf).map_or(0, |h| h.sequence_number);
        return Err(FrameError {
            kind: FrameErrorKind::TooLong {
                length,
                max: max_len,
            },
            sequence_number,
        });
    }
    // ok: `length` is at most `max_len`, a u32, which fits usize on supported targets.
    let length = usize::try_from(length).unwrap_or(usize::MAX);
    Ok((buf.len() >= length).then_some(length))
}

/// Sans-IO stream framer: feed it the connection's read buffer, take frames out.
///
/// After a framing error it keeps returning that error, so a caller that forgets to
/// close cannot spin on a broken stream.
#[derive(Debug, Clone)]
pub struct Framer {
    max_len: u32,
    failed: Option<FrameError>,
}

// === impl Framer ===

impl Framer {
    /// A framer accepting PDUs of up to `max_len` bytes (at least 16 are always
    /// accepted; see [`DEFAULT_MAX_COMMAND_LENGTH`]).
    pub fn new(max_len: u32) -> Self {
        Self {
            max_len: max_len.max(HEADER_LEN as u32),
            failed: None,
        }
    }

    /// The largest PDU accepted.
    pub fn max_len(&self) -> u32 {
        self.max_len
    }

    /// Splits the next whole frame off the front of `buf` (`split_to` + `freeze`: the
    /// frame shares the buffer, nothing is copied).
    ///
    /// `Ok(None)` leaves `buf` untouched until more bytes arrive.
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if let Some(err) = self.failed {
            return Err(err);
        }
        match check(buf, self.max_len) {
            Ok(Some(len)) => Ok(Some(buf.split_to(len).freeze())),
            Ok(None) => {
                if let Some((len, _)) = buf.split_first_chunk::<LENGTH_LEN>() {
                    // `check` bounded the length by `max_len`: make room for the whole
                    // frame at once instead of growing read by read.
                    let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(0);
                    buf.reserve(len.saturating_sub(buf.len()));
                }
                Ok(None)
            }
            Err(err) => {
                self.failed = Some(err);
                Err(err)
            }
        }
    }
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(DEFAULT_MAX_COMMAND_LENGTH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn check_outcomes() {
        assert_eq!(check(&[], 64), Ok(None));
        assert_eq!(check(&[0, 0, 0], 64), Ok(None));
        assert_eq!(check(&ENQUIRE_LINK[..15], 64), Ok(None));
        assert_eq!(check(&ENQUIRE_LINK, 64), Ok(Some(16)));
        let mut two = ENQUIRE_LINK.to_vec();
        two.extend_from_slice(&ENQUIRE_LINK);
        assert_eq!(check(&two, 64), Ok(Some(16)));
    }

    #[test]
    fn check_rejects_lengths_before_the_body_arrives() {
        let e = check(&[0, 0, 0, 15], 64).unwrap_err();
        assert_eq!(e.kind(), FrameErrorKind::TooShort(15));
        assert_eq!(e.sequence_number(), 0);
        let e = check(&[0, 0, 0, 0], 64).unwrap_err();
        assert_eq!(e.kind(), FrameErrorKind::TooShort(0));
        let e = check(&[0xFF; 4], 64).unwrap_err();
        assert_eq!(
            e.kind(),
            FrameErrorKind::TooLong {
                length: u32::MAX,
                max: 64
            }
        );
        assert_eq!(check(&[0, 0, 0, 65], 64).unwrap_err().sequence_number(), 0);
        // A too-long header that arrived whole gives its sequence number to the nack.
        let mut long = ENQUIRE_LINK;
        long[3] = 65;
        let e = check(&long, 64).unwrap_err();
        assert_eq!(e.sequence_number(), 2);
        assert_eq!(
            e.response_header().to_bytes(),
            [0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]
        );
    }

    #[test]
    fn framer_splits_and_stays_failed() {
        let mut buf = BytesMut::new();
        let mut framer = Framer::new(64);
        assert_eq!(framer.next_frame(&mut buf), Ok(None));
        buf.extend_from_slice(&ENQUIRE_LINK[..10]);
        assert_eq!(framer.next_frame(&mut buf), Ok(None));
        assert_eq!(buf.len(), 10);
        buf.extend_from_slice(&ENQUIRE_LINK[10..]);
        buf.extend_from_slice(&[0, 0, 0, 3]);
        let frame = framer.next_frame(&mut buf).unwrap().unwrap();
        assert_eq!(&frame[..], &ENQUIRE_LINK);
        let err = framer.next_frame(&mut buf).unwrap_err();
        assert_eq!(err.kind(), FrameErrorKind::TooShort(3));
        buf.clear();
        buf.extend_from_slice(&ENQUIRE_LINK);
        assert_eq!(framer.next_frame(&mut buf), Err(err));
    }

    #[test]
    fn framer_minimum_and_default() {
        assert_eq!(Framer::new(0).max_len(), 16);
        assert_eq!(Framer::default().max_len(), DEFAULT_MAX_COMMAND_LENGTH);
    }
}
