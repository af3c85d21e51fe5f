//! PDUs: the [`Pdu`] type, the [`Body`] enum with one variant per SMPP operation, and
//! decoding/encoding of whole frames.

use bytes::{Bytes, BytesMut};

use crate::{
    CommandId, CommandStatus, DecodeError, DecodeErrorKind, HEADER_LEN, Header, ShortMessage, Tlvs,
    parse::{Fail, PResult, end, into_fail},
    types::Backing,
};

mod alert_notification;
mod bind;
mod broadcast_sm;
mod cancel_sm;
mod data_sm;
mod query_sm;
mod replace_sm;
mod submit_multi;
mod submit_sm;

pub use alert_notification::AlertNotification;
pub use bind::{Bind, BindResp, Outbind};
pub use broadcast_sm::{BroadcastSm, CancelBroadcastSm, QueryBroadcastSm};
pub use cancel_sm::CancelSm;
pub use data_sm::DataSm;
pub use query_sm::{QuerySm, QuerySmResp};
pub use replace_sm::ReplaceSm;
pub use submit_multi::{
    DestAddress, DestAddresses, SubmitMulti, SubmitMultiResp, UnsuccessSme, UnsuccessSmes,
};
pub use submit_sm::{
    BroadcastSmResp, DataSmResp, DeliverSm, DeliverSmResp, MessageIdResp, QueryBroadcastSmResp,
    SubmitSm, SubmitSmResp,
};

/// Decoding and encoding of one body type. Decoders take every field from `frame`.
pub(crate) trait BodyCodec<B>: Sized {
    /// Parses the body; PDUs with a TLV part consume all input, others leave what
    /// follows their last field for the caller to reject.
    fn decode<'a>(frame: &B, input: &'a [u8]) -> PResult<'a, Self>
    where
        B: Backing<'a>;
    /// Encoded body length in bytes.
    fn wire_len(&self) -> usize;
    /// Appends the body.
    fn encode(&self, dst: &mut BytesMut);
}

/// Decodes a body that must fill the rest of the PDU.
fn decode_whole<'a, B: Backing<'a>, T: BodyCodec<B>>(
    frame: &B,
    input: &'a [u8],
) -> Result<T, Fail> {
    let (rest, body) = T::decode(frame, input).map_err(into_fail)?;
    end(rest, "command_length").map_err(into_fail)?;
    Ok(body)
}

/// Decodes a response body that the peer may omit. SMPP 3.4 says no body is returned
/// with an error status, yet MCs send one anyway, and some send none with `ESME_ROK`:
/// both forms are accepted and `None` records "no body", so re-encoding is byte-exact.
fn decode_optional<'a, B: Backing<'a>, T: BodyCodec<B>>(
    frame: &B,
    input: &'a [u8],
) -> Result<Option<T>, Fail> {
    if input.is_empty() {
        Ok(None)
    } else {
        decode_whole(frame, input).map(Some)
    }
}

/// Declares [`Body`] and everything that follows from the variant table: the
/// `command_id` of each variant, decode dispatch, lengths, encoding, header-only forms.
macro_rules! bodies {
    (
        unit { $( $(#[$um:meta])* $unit:ident = $unit_id:ident, )* }
        request { $( $(#[$rm:meta])* $req:ident($req_ty:ty) = $req_id:ident, )* }
        response { $( $(#[$pm:meta])* $resp:ident($resp_ty:ty) = $resp_id:ident, )* }
    ) => {
        /// The body of a PDU: one variant per SMPP 3.4 / 5.0 operation.
        ///
        /// Responses whose body the peer may omit hold an `Option`: `None` is the
        /// header-only form.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(
            feature = "arbitrary",
            derive(arbitrary::Arbitrary),
            arbitrary(bound = "B: From<Bytes> + AsRef<[u8]>")
        )]
        pub enum Body<B: AsRef<[u8]> = Bytes> {
            $( $(#[$um])* $unit, )*
            $( $(#[$rm])* $req($req_ty), )*
            $( $(#[$pm])* $resp(Option<$resp_ty>), )*
        }

        impl<B: AsRef<[u8]>> Body<B> {
            /// The `command_id` of this body.
            pub fn command_id(&self) -> CommandId {
                match self {
                    $( Body::$unit => CommandId::$unit_id, )*
                    $( Body::$req(_) => CommandId::$req_id, )*
                    $( Body::$resp(_) => CommandId::$resp_id, )*
                }
            }

            /// Decodes the body for `command_id`; `None` when the id is unknown.
            fn decode<'a>(
                command_id: CommandId,
                frame: &B,
                input: &'a [u8],
            ) -> Option<Result<Self, Fail>>
            where
                B: Backing<'a>,
            {
                Some(match command_id {
                    $( CommandId::$unit_id => {
                        end(input, "command_length").map_err(into_fail).map(|()| Body::$unit)
                    } )*
                    $( CommandId::$req_id => decode_whole(frame, input).map(Body::$req), )*
                    $( CommandId::$resp_id => decode_optional(frame, input).map(Body::$resp), )*
                    _ => return None,
                })
            }

            /// Encoded length of the body, header excluded.
            pub fn wire_len(&self) -> usize {
                match self {
                    $( Body::$unit => 0, )*
                    $( Body::$req(b) => b.wire_len(), )*
                    $( Body::$resp(b) => b.as_ref().map_or(0, BodyCodec::wire_len), )*
                }
            }

            fn encode(&self, dst: &mut BytesMut) {
                match self {
                    $( Body::$unit => {} )*
                    $( Body::$req(b) => b.encode(dst), )*
                    $( Body::$resp(b) => if let Some(b) = b { b.encode(dst) }, )*
                }
            }

        }

        impl Body {
            /// The body-less form of `command_id`: unit bodies and responses without
            /// body. `None` for requests, which always have a body, and unknown ids.
            pub fn header_only(command_id: CommandId) -> Option<Body> {
                match command_id {
                    $( CommandId::$unit_id => Some(Body::$unit), )*
                    $( CommandId::$resp_id => Some(Body::$resp(None)), )*
                    _ => None,
                }
            }
        }
    };
}

bodies! {
    unit {
        /// `generic_nack`: answers a PDU that could not be identified or framed.
        GenericNack = GENERIC_NACK,
        /// `unbind`.
        Unbind = UNBIND,
        /// `unbind_resp`.
        UnbindResp = UNBIND_RESP,
        /// `enquire_link`.
        EnquireLink = ENQUIRE_LINK,
        /// `enquire_link_resp`.
        EnquireLinkResp = ENQUIRE_LINK_RESP,
        /// `cancel_sm_resp`.
        CancelSmResp = CANCEL_SM_RESP,
        /// `replace_sm_resp`.
        ReplaceSmResp = REPLACE_SM_RESP,
        /// `cancel_broadcast_sm_resp` (SMPP 5.0).
        CancelBroadcastSmResp = CANCEL_BROADCAST_SM_RESP,
    }
    request {
        /// `bind_receiver`.
        BindReceiver(Bind<B>) = BIND_RECEIVER,
        /// `bind_transmitter`.
        BindTransmitter(Bind<B>) = BIND_TRANSMITTER,
        /// `bind_transceiver`.
        BindTransceiver(Bind<B>) = BIND_TRANSCEIVER,
        /// `outbind`.
        Outbind(Outbind<B>) = OUTBIND,
        /// `submit_sm`.
        SubmitSm(SubmitSm<B>) = SUBMIT_SM,
        /// `submit_multi`.
        SubmitMulti(SubmitMulti<B>) = SUBMIT_MULTI,
        /// `deliver_sm`.
        DeliverSm(DeliverSm<B>) = DELIVER_SM,
        /// `data_sm`.
        DataSm(DataSm<B>) = DATA_SM,
        /// `query_sm`.
        QuerySm(QuerySm<B>) = QUERY_SM,
        /// `cancel_sm`.
        CancelSm(CancelSm<B>) = CANCEL_SM,
        /// `replace_sm`.
        ReplaceSm(ReplaceSm<B>) = REPLACE_SM,
        /// `alert_notification`.
        AlertNotification(AlertNotification<B>) = ALERT_NOTIFICATION,
        /// `broadcast_sm` (SMPP 5.0).
        BroadcastSm(BroadcastSm<B>) = BROADCAST_SM,
        /// `query_broadcast_sm` (SMPP 5.0).
        QueryBroadcastSm(QueryBroadcastSm<B>) = QUERY_BROADCAST_SM,
        /// `cancel_broadcast_sm` (SMPP 5.0).
        CancelBroadcastSm(CancelBroadcastSm<B>) = CANCEL_BROADCAST_SM,
    }
    response {
        /// `bind_receiver_resp`.
        BindReceiverResp(BindResp<B>) = BIND_RECEIVER_RESP,
        /// `bind_transmitter_resp`.
        BindTransmitterResp(BindResp<B>) = BIND_TRANSMITTER_RESP,
        /// `bind_transceiver_resp`.
        BindTransceiverResp(BindResp<B>) = BIND_TRANSCEIVER_RESP,
        /// `submit_sm_resp`.
        SubmitSmResp(SubmitSmResp<B>) = SUBMIT_SM_RESP,
        /// `submit_multi_resp`.
        SubmitMultiResp(SubmitMultiResp<B>) = SUBMIT_MULTI_RESP,
        /// `deliver_sm_resp`.
        DeliverSmResp(DeliverSmResp<B>) = DELIVER_SM_RESP,
        /// `data_sm_resp`.
        DataSmResp(DataSmResp<B>) = DATA_SM_RESP,
        /// `query_sm_resp`.
        QuerySmResp(QuerySmResp<B>) = QUERY_SM_RESP,
        /// `broadcast_sm_resp` (SMPP 5.0).
        BroadcastSmResp(BroadcastSmResp<B>) = BROADCAST_SM_RESP,
        /// `query_broadcast_sm_resp` (SMPP 5.0).
        QueryBroadcastSmResp(QueryBroadcastSmResp<B>) = QUERY_BROADCAST_SM_RESP,
    }
}

/// The message content of a PDU, for the text layer: the fields that decide what the
/// recipient reads. Fields a PDU type does not have are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content<'a, B: AsRef<[u8]> = Bytes> {
    /// `esm_class` (UDHI is bit 6); absent in `replace_sm` and `broadcast_sm`.
    pub esm_class: Option<u8>,
    /// `data_coding`; absent in `replace_sm`, which keeps the original message's.
    pub data_coding: Option<u8>,
    /// `short_message`; absent in `data_sm` and `broadcast_sm`, whose text is only
    /// in the `message_payload` TLV.
    pub short_message: Option<&'a ShortMessage<B>>,
    /// The TLVs: `message_payload`, `sar_*`, ports.
    pub tlvs: &'a Tlvs<B>,
}

// === impl Body ===

impl<B: AsRef<[u8]>> Body<B> {
    /// The spec name of the operation (`"submit_sm"`, `"deliver_sm_resp"`, ...).
    pub fn name(&self) -> &'static str {
        self.command_id().name().unwrap_or("unknown")
    }

    /// The message content of PDUs that carry text to a handset: `submit_sm`,
    /// `deliver_sm`, `submit_multi`, `data_sm`, `replace_sm` and `broadcast_sm`.
    /// `None` for every other PDU.
    pub fn content(&self) -> Option<Content<'_, B>> {
        let content = match self {
            Body::SubmitSm(b) | Body::DeliverSm(b) => Content {
                esm_class: Some(b.esm_class),
                data_coding: Some(b.data_coding),
                short_message: Some(&b.short_message),
                tlvs: &b.tlvs,
            },
            Body::SubmitMulti(b) => Content {
                esm_class: Some(b.esm_class),
                data_coding: Some(b.data_coding),
                short_message: Some(&b.short_message),
                tlvs: &b.tlvs,
            },
            Body::DataSm(b) => Content {
                esm_class: Some(b.esm_class),
                data_coding: Some(b.data_coding),
                short_message: None,
                tlvs: &b.tlvs,
            },
            Body::ReplaceSm(b) => Content {
                esm_class: None,
                data_coding: None,
                short_message: Some(&b.short_message),
                tlvs: &b.tlvs,
            },
            Body::BroadcastSm(b) => Content {
                esm_class: None,
                data_coding: Some(b.data_coding),
                short_message: None,
                tlvs: &b.tlvs,
            },
            _ => return None,
        };
        Some(content)
    }
}

/// A decoded PDU: header and typed body.
///
/// `B` is where the byte fields live: [`Bytes`] handles sharing the frame's buffer
/// (the default, from [`Pdu::decode`]), or `&[u8]` slices of it in a [`PduView`] (from
/// [`Pdu::decode_view`]). Re-encoding a decoded PDU gives back the frame's bytes exactly
/// (`encode(decode(b)) == b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<B: AsRef<[u8]> = Bytes> {
    /// The header as decoded, or as computed by [`Pdu::new`].
    ///
    /// [`encode`](Pdu::encode) writes `command_length` and `command_id` from the body,
    /// and `command_status` and `sequence_number` from here.
    pub header: Header,
    /// The typed body.
    pub body: Body<B>,
}

/// A PDU decoded in place: every field borrows from the frame. The cheapest decode,
/// for inspecting a frame that is then forwarded as it is.
pub type PduView<'a> = Pdu<&'a [u8]>;

/// The body of a [`PduView`].
pub type BodyView<'a> = Body<&'a [u8]>;

/// Decodes the frame `bytes`, whose byte fields are taken from `frame` (the same bytes,
/// as the backing the caller wants).
fn decode_frame<'a, B: Backing<'a>>(frame: &B, bytes: &'a [u8]) -> Result<Pdu<B>, DecodeError> {
    let Some(header) = Header::parse(bytes) else {
        return Err(DecodeError::new(
            DecodeErrorKind::FrameTooShort,
            "command_length",
            0,
            None,
            CommandStatus::ESME_RINVCMDLEN,
        ));
    };
    if usize::try_from(header.command_length).ok() != Some(bytes.len()) {
        let kind = DecodeErrorKind::LengthMismatch {
            command_length: header.command_length,
            frame_len: wire_u32(bytes.len()),
        };
        return Err(DecodeError::new(
            kind,
            "command_length",
            0,
            Some(header),
            CommandStatus::ESME_RINVCMDLEN,
        ));
    }
    let input = bytes.get(HEADER_LEN..).unwrap_or_default();
    match Body::decode(header.command_id, frame, input) {
        Some(Ok(body)) => Ok(Pdu { header, body }),
        Some(Err(fail)) => Err(DecodeError::new(
            fail.kind,
            fail.field,
            bytes.len().saturating_sub(fail.remaining),
            Some(header),
            fail.status,
        )),
        None => Err(DecodeError::new(
            DecodeErrorKind::UnknownCommandId,
            "command_id",
            4,
            Some(header),
            CommandStatus::ESME_RINVCMDID,
        )),
    }
}

// === impl Pdu ===

impl Pdu {
    /// A PDU for `body`, with `command_length` and `command_id` computed from it.
    pub fn new(body: Body, command_status: CommandStatus, sequence_number: u32) -> Pdu {
        let header = Header {
            command_length: wire_u32(HEADER_LEN + body.wire_len()),
            command_id: body.command_id(),
            command_status,
            sequence_number,
        };
        Pdu { header, body }
    }

    /// `generic_nack` with `status`, echoing `sequence_number`.
    pub fn generic_nack(status: CommandStatus, sequence_number: u32) -> Pdu {
        Pdu::new(Body::GenericNack, status, sequence_number)
    }

    /// The header-only PDU for `header`'s `command_id` (responses and unit bodies);
    /// `None` when that id needs a body or is unknown.
    pub fn header_only(header: Header) -> Option<Pdu> {
        let body = Body::header_only(header.command_id)?;
        Some(Pdu::new(
            body,
            header.command_status,
            header.sequence_number,
        ))
    }

    /// The header-only response to `req` with `status` (e.g. a `submit_sm_resp`
    /// with `ESME_RSUBMITFAIL` for a blocked message). `None` for requests that are
    /// not answered this way; see [`Header::response_to`].
    pub fn response_to(req: &Header, status: CommandStatus) -> Option<Pdu> {
        Header::response_to(req, status).and_then(Pdu::header_only)
    }

    /// Decodes one whole frame, as returned by [`Framer::next_frame`](crate::Framer::next_frame).
    ///
    /// Every byte field is a [`Bytes`] handle into `frame`: nothing is copied, and the
    /// PDU can outlive the read buffer. Each non-empty field costs one reference-count
    /// increment; [`Pdu::decode_view`] avoids even that.
    pub fn decode(frame: Bytes) -> Result<Pdu, DecodeError> {
        decode_frame(&frame, &frame)
    }
}

impl<'a> Pdu<&'a [u8]> {
    /// Decodes one whole frame in place: every field is a slice of `frame`.
    ///
    /// Same checks, errors and field values as [`Pdu::decode`], without touching any
    /// reference count: the hot-path decoder for a proxy that inspects a frame and then
    /// forwards the frame itself.
    pub fn decode_view(frame: &'a [u8]) -> Result<PduView<'a>, DecodeError> {
        decode_frame(&frame, frame)
    }
}

impl<B: AsRef<[u8]>> Pdu<B> {
    /// Encoded length in bytes, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body.wire_len()
    }

    /// Appends the PDU to `dst`, computing `command_length`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let len = self.encoded_len();
        dst.reserve(len);
        Header {
            command_length: wire_u32(len),
            command_id: self.body.command_id(),
            command_status: self.header.command_status,
            sequence_number: self.header.sequence_number,
        }
        .encode(dst);
        self.body.encode(dst);
    }

    /// The PDU encoded into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut dst = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut dst);
        dst.freeze()
    }

    /// Shorthand for `self.header.command_id`.
    pub fn command_id(&self) -> CommandId {
        self.header.command_id
    }

    /// Shorthand for `self.header.command_status`.
    pub fn command_status(&self) -> CommandStatus {
        self.header.command_status
    }

    /// Shorthand for `self.header.sequence_number`.
    pub fn sequence_number(&self) -> u32 {
        self.header.sequence_number
    }
}

/// A length as a `command_length`. Bodies are bounded well below 4 GiB by their field
/// types, so saturation never happens in practice.
fn wire_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
