//! Decode errors: what was wrong, where, and which SMPP answer it calls for.

use crate::{CommandId, CommandStatus, Header, Pdu};

/// What was wrong with a PDU. Carries only numbers, never peer-supplied text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The frame is shorter than the 16-byte header; nothing in it can be trusted.
    #[error("frame shorter than the 16-byte header")]
    FrameTooShort,
    /// `command_length` disagrees with the frame: the stream framing is broken.
    #[error("command_length {command_length} does not match the {frame_len}-byte frame")]
    LengthMismatch {
        /// The value in the header.
        command_length: u32,
        /// The length of the frame handed to the decoder (saturated at `u32::MAX`).
        frame_len: u32,
    },
    /// The `command_id` is not defined by SMPP 3.4 or 5.0.
    #[error("unknown command_id")]
    UnknownCommandId,
    /// The body ends inside a field: `command_length` is too small for the PDU.
    #[error("body ends inside a field")]
    Truncated,
    /// A C-octet string has no NUL terminator within its maximum size (NUL included).
    #[error("c-octet string not terminated within {max} bytes")]
    MissingNul {
        /// The field's maximum size, terminator included.
        max: u16,
    },
    /// A time field is neither empty nor a 16-character `YYMMDDhhmmsstnnp` string.
    #[error("time field is neither empty nor a valid YYMMDDhhmmsstnnp value")]
    InvalidTime,
    /// `sm_length` announces more bytes than the body holds.
    #[error("sm_length runs past the end of the body")]
    SmLengthOverrun,
    /// Bytes follow the last field of a PDU that has no TLV part.
    #[error("unexpected bytes after the last field")]
    TrailingBytes,
    /// A TLV header or value runs past the end of the PDU.
    #[error("tlv runs past the end of the pdu")]
    TlvOverrun,
    /// A TLV the specification defines has a length it does not allow.
    #[error("tlv {tag:#06x} has invalid length {len}")]
    TlvLength {
        /// The TLV tag.
        tag: u16,
        /// The length found on the wire.
        len: u16,
    },
    /// A TLV that decides what text is scanned (message_payload, sar_*) occurs twice.
    #[error("tlv {tag:#06x} occurs more than once")]
    DuplicateTlv {
        /// The repeated tag.
        tag: u16,
    },
    /// Both a non-empty `short_message` and a `message_payload` TLV are present.
    #[error("short_message and message_payload are both present")]
    PayloadConflict,
    /// UDHI is set but the user data is empty or shorter than the header length
    /// (UDHL) it announces.
    #[error("user data header runs past the user data")]
    UdhOverrun,
    /// A `submit_multi` destination has a `dest_flag` other than 1 or 2.
    #[error("dest_flag {0} is neither 1 (sme address) nor 2 (distribution list)")]
    InvalidDestFlag(u8),
    /// `submit_multi` announces zero destinations.
    #[error("number_of_dests is zero")]
    NoDestinations,
}

/// A PDU that could not be decoded: what was wrong ([`kind`](Self::kind)), where
/// ([`field`](Self::field), [`offset`](Self::offset)), and what to answer
/// ([`status`](Self::status), [`response`](Self::response)).
///
/// `Copy` and allocation-free, so the hot path can return it cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{}: {kind} (field {field}, offset {offset})", pdu_name(.header))]
pub struct DecodeError {
    kind: DecodeErrorKind,
    field: &'static str,
    offset: u32,
    header: Option<Header>,
    status: CommandStatus,
}

fn pdu_name(header: &Option<Header>) -> CommandIdOrPdu {
    CommandIdOrPdu(header.map(|h| h.command_id))
}

/// Display helper: the command name when the header was readable, else "pdu".
struct CommandIdOrPdu(Option<CommandId>);

impl std::fmt::Display for CommandIdOrPdu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(id) => id.fmt(f),
            None => f.write_str("pdu"),
        }
    }
}

// === impl DecodeError ===

impl DecodeError {
    pub(crate) fn new(
        kind: DecodeErrorKind,
        field: &'static str,
        offset: usize,
        header: Option<Header>,
        status: CommandStatus,
    ) -> Self {
        Self {
            kind,
            field,
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
            header,
            status,
        }
    }

    /// What was wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// The spec name of the field where decoding stopped (`"sm_length"`,
    /// `"source_addr"`, `"tlvs"`, `"command_length"`, ...).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Byte offset from the start of the PDU where the offending field starts.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// The header, when the frame held one.
    pub fn header(&self) -> Option<Header> {
        self.header
    }

    /// The `command_status` to answer with: `ESME_RINVCMDLEN`, `ESME_RINVMSGLEN`,
    /// `ESME_RINVSRCADR`, ... (the mapping is in `docs/codec.md`).
    pub fn status(&self) -> CommandStatus {
        self.status
    }

    /// Whether the framing itself is broken. The byte stream cannot be resynchronised,
    /// so the connection must be closed after sending [`response`](Self::response).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self.kind,
            DecodeErrorKind::FrameTooShort | DecodeErrorKind::LengthMismatch { .. }
        )
    }

    /// The header of the answer this error calls for.
    ///
    /// - header unusable (fatal framing error): `generic_nack` `ESME_RINVCMDLEN`
    ///   with the sequence number when it was readable, else 0;
    /// - the PDU is a response (bit 31 of `command_id` set, `generic_nack` included):
    ///   `None`, since answering a response invites loops;
    /// - unknown `command_id`: `generic_nack` `ESME_RINVCMDID` echoing the sequence;
    /// - `outbind`, `alert_notification`: `None`, they have no response;
    /// - otherwise the PDU-specific `_resp`, header only, with [`status`](Self::status)
    ///   and the request's sequence number.
    pub fn response_header(&self) -> Option<Header> {
        let Some(header) = self.header else {
            return Some(Header::new(CommandId::GENERIC_NACK, self.status, 0));
        };
        if self.is_fatal() {
            return Some(Header::new(
                CommandId::GENERIC_NACK,
                self.status,
                header.sequence_number,
            ));
        }
        if header.command_id.is_response() {
            return None;
        }
        if !header.command_id.is_known() {
            return Some(Header::new(
                CommandId::GENERIC_NACK,
                CommandStatus::ESME_RINVCMDID,
                header.sequence_number,
            ));
        }
        Header::response_to(&header, self.status)
    }

    /// The answer this error calls for as a PDU; see [`response_header`](Self::response_header).
    pub fn response(&self) -> Option<Pdu> {
        self.response_header().and_then(Pdu::header_only)
    }
}

/// A value that does not fit the SMPP field it was meant for (building PDUs in code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The value is longer than the field allows.
    #[error("value is {len} bytes, above the field maximum of {max}")]
    TooLong {
        /// Length of the value offered.
        len: usize,
        /// The field's maximum.
        max: usize,
    },
    /// A list that needs at least one entry is empty.
    #[error("list must have at least one entry")]
    Empty,
    /// A C-octet string value contains a NUL byte, which would end it early on the wire.
    #[error("c-octet string value contains a nul byte")]
    ContainsNul,
    /// Not an empty string nor a valid 16-character SMPP time.
    #[error("not a valid YYMMDDhhmmsstnnp time")]
    InvalidTime,
    /// A second instance of a TLV that may occur only once (message_payload, sar_*).
    #[error("tlv {tag:#06x} may occur only once")]
    DuplicateTlv {
        /// The tag.
        tag: u16,
    },
    /// A TLV value whose length the tag does not allow.
    #[error("tlv {tag:#06x} does not allow a {len}-byte value")]
    TlvLength {
        /// The tag.
        tag: u16,
        /// The offered value length.
        len: usize,
    },
}
