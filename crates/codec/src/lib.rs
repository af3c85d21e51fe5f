//! Sans-IO SMPP 3.4 / 5.0 PDU codec: framing, zero-copy decoding and byte-exact
//! encoding of every PDU, with errors that say which SMPP answer they call for.
//!
//! The codec does no I/O and keeps no connection state. A proxy feeds the bytes it
//! reads to a [`Framer`], inspects each frame with [`Pdu::decode_view`] (or decodes it
//! with [`Pdu::decode`] when the PDU must outlive the read buffer), forwards frames it
//! does not change byte for byte (rewriting only the sequence number with
//! [`set_sequence_number`]), and answers what it cannot decode with
//! [`DecodeError::response`].
//!
//! Decoding has three outcomes, never two: a PDU, "need more bytes" (`Ok(None)` from
//! [`check`] and [`Framer::next_frame`], not an error), or a typed error. Message bodies
//! are never copied: the fields of a [`Pdu`] are [`bytes::Bytes`] handles into the
//! frame's buffer, those of a [`PduView`] plain slices of it. Any valid frame re-encodes
//! to the same bytes: TLV order, unknown TLVs and duplicates, and the presence or absence
//! of an error response's body are all kept. No input makes the codec panic, allocate
//! beyond the frame it was given, or loop.
//!
//! Key types:
//! - [`Framer`] / [`check`]: split a byte stream into frames by reading the header
//!   only, rejecting out-of-range `command_length` before any allocation.
//! - [`Pdu`] = [`Header`] + [`Body`]: one `Body` variant per operation, typed structs
//!   with the specification's field names ([`SubmitSm`], [`DeliverSm`], [`DataSm`], ...),
//!   generic over where their bytes live; [`PduView`] is the borrowed form.
//! - [`Tlvs`]: the ordered optional parameters with typed accessors
//!   ([`Tlvs::message_payload`], [`Tlvs::sar_msg_ref_num`], ...).
//! - [`DecodeError`] / [`FrameError`]: what, where (field, offset), and the
//!   `_resp` or `generic_nack` to answer with.
//! - [`CommandId`], [`CommandStatus`], [`TlvTag`]: `u32`/`u16` newtypes with the
//!   specification's values as constants (`CommandStatus::ESME_RINVMSGLEN`, ...).
//!
//! # Layout
//! - `command_id.rs`, `command_status.rs`: wire code tables.
//! - `header.rs`: [`Header`], [`peek_header`], sequence-number rewriting.
//! - `frame.rs`: [`check`], [`Framer`], [`FrameError`].
//! - `types.rs`: field value types [`COctetString`], [`Timestamp`], [`ShortMessage`].
//! - `tlv.rs`: [`TlvTag`], [`Tlvs`] and typed TLV accessors.
//! - `pdu.rs` and `pdu/*.rs`: [`Pdu`], [`Body`] and one file per PDU family.
//! - `parse.rs`: the private nom parsers the bodies are decoded with.
//! - `error.rs`: [`DecodeError`], [`DecodeErrorKind`], [`FieldError`].
//!
//! # Features
//! - `arbitrary`: implements `arbitrary::Arbitrary` for [`Pdu`] and every body type,
//!   generating only PDUs that encode validly (for structure-aware fuzzing).
//!
//! The decode error statuses, the choices where the specification leaves room, and the
//! limits are listed in `docs/codec.md` ("Codec contract").
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod macros;

#[cfg(feature = "arbitrary")]
mod arbitrary;
mod command_id;
mod command_status;
mod error;
mod frame;
mod header;
mod parse;
mod pdu;
mod tlv;
mod types;

pub use command_id::CommandId;
pub use command_status::CommandStatus;
pub use error::{DecodeError, DecodeErrorKind, FieldError};
pub use frame::{DEFAULT_MAX_COMMAND_LENGTH, FrameError, FrameErrorKind, Framer, check};
pub use header::{HEADER_LEN, Header, peek_header, rewrite_sequence_number, set_sequence_number};
pub use pdu::{
    AlertNotification, Bind, BindResp, Body, BodyView, BroadcastSm, BroadcastSmResp,
    CancelBroadcastSm, CancelSm, Content, DataSm, DataSmResp, DeliverSm, DeliverSmResp,
    DestAddress, DestAddresses, MessageIdResp, Outbind, Pdu, PduView, QueryBroadcastSm,
    QueryBroadcastSmResp, QuerySm, QuerySmResp, ReplaceSm, SubmitMulti, SubmitMultiResp, SubmitSm,
    SubmitSmResp, UnsuccessSme, UnsuccessSmes,
};
pub use tlv::{MessageState, NetworkErrorCode, Tlv, TlvIter, TlvTag, Tlvs};
pub use types::{COctetString, MAX_SHORT_MESSAGE_LEN, ShortMessage, Timestamp};
