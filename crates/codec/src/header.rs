//! The 16-byte PDU header (SMPP 3.4 §3.2) and byte-level helpers that work on
//! frames without decoding them.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{CommandId, CommandStatus};

/// Length of the PDU header, which is also the smallest valid `command_length`.
pub const HEADER_LEN: usize = 16;

/// The PDU header: four big-endian `u32` fields.
///
/// Parsing does not validate the values: [`check`](crate::check) and
/// [`Pdu::decode`](crate::Pdu::decode) decide whether a header is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Total PDU length in bytes, these 16 header bytes included.
    pub command_length: u32,
    /// Which PDU the body holds.
    pub command_id: CommandId,
    /// Outcome of the request this PDU answers; zero in requests.
    pub command_status: CommandStatus,
    /// Correlates a response with its request; echoed unchanged in the response.
    pub sequence_number: u32,
}

// === impl Header ===

impl Header {
    /// A header for a PDU without a body (`command_length` 16).
    pub const fn new(
        command_id: CommandId,
        command_status: CommandStatus,
        sequence_number: u32,
    ) -> Self {
        Self {
            command_length: HEADER_LEN as u32,
            command_id,
            command_status,
            sequence_number,
        }
    }

    /// Reads the first 16 bytes of `buf`; `None` when fewer are available.
    ///
    /// Nothing is validated: a `command_length` below 16 or an unknown `command_id`
    /// are returned as they are.
    pub fn parse(buf: &[u8]) -> Option<Header> {
        let (len, rest) = buf.split_first_chunk::<4>()?;
        let (id, rest) = rest.split_first_chunk::<4>()?;
        let (status, rest) = rest.split_first_chunk::<4>()?;
        let (seq, _) = rest.split_first_chunk::<4>()?;
        Some(Header {
            command_length: u32::from_be_bytes(*len),
            command_id: CommandId(u32::from_be_bytes(*id)),
            command_status: CommandStatus(u32::from_be_bytes(*status)),
            sequence_number: u32::from_be_bytes(*seq),
        })
    }

    /// The header as its 16 wire bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let words = [
            self.command_length,
            self.command_id.0,
            self.command_status.0,
            self.sequence_number,
        ];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Appends the 16 wire bytes to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// The header-only response to the request `req` with `status`, echoing its
    /// sequence number.
    ///
    /// `None` when `req` must not be answered with a PDU-specific response: it is a
    /// response itself, an `outbind` or `alert_notification`, or its `command_id` is
    /// unknown (answer those with [`Pdu::generic_nack`](crate::Pdu::generic_nack)).
    pub fn response_to(req: &Header, status: CommandStatus) -> Option<Header> {
        let id = req.command_id.response_id()?;
        Some(Header::new(id, status, req.sequence_number))
    }
}

/// Reads the header at the start of `buf` without validating it; `None` when fewer
/// than 16 bytes are available. Same as [`Header::parse`].
pub fn peek_header(buf: &[u8]) -> Option<Header> {
    Header::parse(buf)
}

/// Overwrites the `sequence_number` (bytes 12..16) of the frame at the start of
/// `frame`, leaving every other byte as it is.
///
/// This is how a proxy forwards a PDU byte-exact under its own sequence space. Returns
/// `false`, changing nothing, when `frame` is shorter than a header.
#[must_use]
pub fn set_sequence_number(frame: &mut [u8], sequence_number: u32) -> bool {
    match frame.get_mut(12..HEADER_LEN) {
        Some(field) => {
            field.copy_from_slice(&sequence_number.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Returns `frame` with its `sequence_number` replaced.
///
/// The bytes are rewritten in place when `frame` is the only handle to its buffer and
/// copied once otherwise (a frame split off a read buffer shares it until that buffer
/// moves on). A frame shorter than a header is returned unchanged.
pub fn rewrite_sequence_number(frame: Bytes, sequence_number: u32) -> Bytes {
    if frame.len() < HEADER_LEN {
        return frame;
    }
    let mut owned = frame
        .try_into_mut()
        .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
    // The length was checked above, so the rewrite always applies.
    let _ = set_sequence_number(&mut owned, sequence_number);
    owned.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn parse_and_encode_round_trip() {
        let h = Header::parse(&ENQUIRE_LINK).unwrap();
        assert_eq!(
            h,
            Header {
                command_length: 16,
                command_id: CommandId::ENQUIRE_LINK,
                command_status: CommandStatus::ESME_ROK,
                sequence_number: 2,
            }
        );
        assert_eq!(h.to_bytes(), ENQUIRE_LINK);
        let mut buf = BytesMut::new();
        h.encode(&mut buf);
        assert_eq!(&buf[..], &ENQUIRE_LINK);
        assert_eq!(Header::parse(&ENQUIRE_LINK[..15]), None);
        assert_eq!(peek_header(&ENQUIRE_LINK), Some(h));
    }

    #[test]
    fn response_headers() {
        let req = Header::parse(&ENQUIRE_LINK).unwrap();
        let resp = Header::response_to(&req, CommandStatus::ESME_ROK).unwrap();
        assert_eq!(resp.command_id, CommandId::ENQUIRE_LINK_RESP);
        assert_eq!(resp.sequence_number, 2);
        assert_eq!(resp.command_length, 16);
        assert_eq!(Header::response_to(&resp, CommandStatus::ESME_ROK), None);
    }

    #[test]
    fn sequence_rewrite_touches_only_bytes_12_to_16() {
        let mut frame = ENQUIRE_LINK.to_vec();
        frame.extend_from_slice(b"tail");
        assert!(set_sequence_number(&mut frame, 0x0102_0304));
        assert_eq!(&frame[..12], &ENQUIRE_LINK[..12]);
        assert_eq!(&frame[12..16], &[1, 2, 3, 4]);
        assert_eq!(&frame[16..], b"tail");
        assert!(!set_sequence_number(&mut frame[..15], 9));
    }

    #[test]
    fn rewrite_shared_and_unique_frames() {
        let unique = Bytes::from(ENQUIRE_LINK.to_vec());
        let out = rewrite_sequence_number(unique, 7);
        assert_eq!(Header::parse(&out).unwrap().sequence_number, 7);

        let shared = Bytes::from(ENQUIRE_LINK.to_vec());
        let keep = shared.clone();
        let out = rewrite_sequence_number(shared, 8);
        assert_eq!(Header::parse(&out).unwrap().sequence_number, 8);
        assert_eq!(Header::parse(&keep).unwrap().sequence_number, 2);

        let short = Bytes::from_static(b"short");
        assert_eq!(rewrite_sequence_number(short.clone(), 1), short);
    }
}
