//! Optional parameters (TLVs, SMPP 3.4 §5.3): tags, the ordered TLV list of a PDU and
//! typed accessors for the ones the proxy reads.
//!
//! A PDU's TLV part is kept as the raw bytes it arrived as, checked once at decode
//! time and read lazily afterwards. That keeps the hot path free of allocation and
//! makes re-encoding byte-exact: order, duplicates and unknown tags survive as they were.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{FieldError, macros::wire_codes};

/// A TLV tag. Any `u16` is representable; the specification's tags are constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlvTag(pub u16);

wire_codes! {
    TlvTag(u16) {
        /// Subcomponent of the destination device (1 byte).
        DEST_ADDR_SUBUNIT = 0x0005 => "dest_addr_subunit",
        /// Network type of the destination (1 byte).
        DEST_NETWORK_TYPE = 0x0006 => "dest_network_type",
        /// Bearer requested for the destination (1 byte).
        DEST_BEARER_TYPE = 0x0007 => "dest_bearer_type",
        /// Telematics interworking for the destination (2 bytes).
        DEST_TELEMATICS_ID = 0x0008 => "dest_telematics_id",
        /// Subcomponent of the originating device (1 byte).
        SOURCE_ADDR_SUBUNIT = 0x000D => "source_addr_subunit",
        /// Network type of the originator (1 byte).
        SOURCE_NETWORK_TYPE = 0x000E => "source_network_type",
        /// Bearer the message originated on (1 byte).
        SOURCE_BEARER_TYPE = 0x000F => "source_bearer_type",
        /// Telematics interface of the originator (1 byte in 3.4, 2 in 5.0).
        SOURCE_TELEMATICS_ID = 0x0010 => "source_telematics_id",
        /// Seconds the MC keeps an undelivered message (4 bytes).
        QOS_TIME_TO_LIVE = 0x0017 => "qos_time_to_live",
        /// Higher-layer PDU type of the payload (1 byte).
        PAYLOAD_TYPE = 0x0019 => "payload_type",
        /// Human-readable status text in responses (C-octet string, up to 256 bytes).
        ADDITIONAL_STATUS_INFO_TEXT = 0x001D => "additional_status_info_text",
        /// MC message id a delivery receipt refers to (C-octet string, up to 65 bytes).
        RECEIPTED_MESSAGE_ID = 0x001E => "receipted_message_id",
        /// Message-waiting indication control (1 byte).
        MS_MSG_WAIT_FACILITIES = 0x0030 => "ms_msg_wait_facilities",
        /// Privacy level (1 byte).
        PRIVACY_INDICATOR = 0x0201 => "privacy_indicator",
        /// Originator sub-address (2 to 23 bytes).
        SOURCE_SUBADDRESS = 0x0202 => "source_subaddress",
        /// Destination sub-address (2 to 23 bytes).
        DEST_SUBADDRESS = 0x0203 => "dest_subaddress",
        /// The ESME's own reference for the message (2 bytes).
        USER_MESSAGE_REFERENCE = 0x0204 => "user_message_reference",
        /// Application-specific user response code (1 byte).
        USER_RESPONSE_CODE = 0x0205 => "user_response_code",
        /// Application port at the source (2 bytes; WAP and other port-addressed data).
        SOURCE_PORT = 0x020A => "source_port",
        /// Application port at the destination (2 bytes).
        DESTINATION_PORT = 0x020B => "destination_port",
        /// Concatenation reference shared by all segments (2 bytes).
        SAR_MSG_REF_NUM = 0x020C => "sar_msg_ref_num",
        /// Language of the text (1 byte).
        LANGUAGE_INDICATOR = 0x020D => "language_indicator",
        /// Number of segments of the concatenated message (1 byte).
        SAR_TOTAL_SEGMENTS = 0x020E => "sar_total_segments",
        /// Position of this segment, from 1 (1 byte).
        SAR_SEGMENT_SEQNUM = 0x020F => "sar_segment_seqnum",
        /// SMPP version the MC supports, in `bind_*_resp` (1 byte).
        SC_INTERFACE_VERSION = 0x0210 => "sc_interface_version",
        /// Presentation and screening of the callback number (1 byte).
        CALLBACK_NUM_PRES_IND = 0x0302 => "callback_num_pres_ind",
        /// Alphanumeric tag of the callback number (up to 65 bytes).
        CALLBACK_NUM_ATAG = 0x0303 => "callback_num_atag",
        /// Number of messages waiting (1 byte).
        NUMBER_OF_MESSAGES = 0x0304 => "number_of_messages",
        /// Callback number shown to the recipient (4 to 19 bytes; may repeat).
        CALLBACK_NUM = 0x0381 => "callback_num",
        /// Whether a delivery-pending flag was set (1 byte).
        DPF_RESULT = 0x0420 => "dpf_result",
        /// Request to set the delivery-pending flag (1 byte).
        SET_DPF = 0x0421 => "set_dpf",
        /// Availability of the mobile station (1 byte).
        MS_AVAILABILITY_STATUS = 0x0422 => "ms_availability_status",
        /// Network-specific error: type (1 byte) and code (2 bytes).
        NETWORK_ERROR_CODE = 0x0423 => "network_error_code",
        /// Message content that does not fit `short_message` (up to 64 KiB).
        MESSAGE_PAYLOAD = 0x0424 => "message_payload",
        /// Why a `data_sm` delivery failed (1 byte).
        DELIVERY_FAILURE_REASON = 0x0425 => "delivery_failure_reason",
        /// More messages follow for the same destination (1 byte).
        MORE_MESSAGES_TO_SEND = 0x0426 => "more_messages_to_send",
        /// Message state in receipts and broadcast queries (1 byte).
        MESSAGE_STATE = 0x0427 => "message_state",
        /// Sender's load, 0 to 100 (1 byte, SMPP 5.0).
        CONGESTION_STATE = 0x0428 => "congestion_state",
        /// USSD operation (1 byte).
        USSD_SERVICE_OP = 0x0501 => "ussd_service_op",
        /// Broadcast channel (1 byte, SMPP 5.0).
        BROADCAST_CHANNEL_INDICATOR = 0x0600 => "broadcast_channel_indicator",
        /// Broadcast content type (3 bytes, SMPP 5.0).
        BROADCAST_CONTENT_TYPE = 0x0601 => "broadcast_content_type",
        /// Broadcast content type details (up to 255 bytes, SMPP 5.0).
        BROADCAST_CONTENT_TYPE_INFO = 0x0602 => "broadcast_content_type_info",
        /// Broadcast message class (1 byte, SMPP 5.0).
        BROADCAST_MESSAGE_CLASS = 0x0603 => "broadcast_message_class",
        /// Number of broadcast repetitions (2 bytes, SMPP 5.0).
        BROADCAST_REP_NUM = 0x0604 => "broadcast_rep_num",
        /// Broadcast repetition interval (3 bytes, SMPP 5.0).
        BROADCAST_FREQUENCY_INTERVAL = 0x0605 => "broadcast_frequency_interval",
        /// Target broadcast area (variable, SMPP 5.0; may repeat).
        BROADCAST_AREA_IDENTIFIER = 0x0606 => "broadcast_area_identifier",
        /// Broadcast failure status (4 bytes, SMPP 5.0).
        BROADCAST_ERROR_STATUS = 0x0607 => "broadcast_error_status",
        /// Broadcast success rate (1 byte, SMPP 5.0).
        BROADCAST_AREA_SUCCESS = 0x0608 => "broadcast_area_success",
        /// Broadcast end time (up to 17 bytes, SMPP 5.0).
        BROADCAST_END_TIME = 0x0609 => "broadcast_end_time",
        /// Broadcast service group (up to 255 bytes, SMPP 5.0).
        BROADCAST_SERVICE_GROUP = 0x060A => "broadcast_service_group",
        /// Billing information (up to 1024 bytes, SMPP 5.0).
        BILLING_IDENTIFICATION = 0x060B => "billing_identification",
        /// Originating network id (up to 66 bytes, SMPP 5.0).
        SOURCE_NETWORK_ID = 0x060D => "source_network_id",
        /// Destination network id (up to 66 bytes, SMPP 5.0).
        DEST_NETWORK_ID = 0x060E => "dest_network_id",
        /// Originating node id (6 bytes, SMPP 5.0).
        SOURCE_NODE_ID = 0x060F => "source_node_id",
        /// Destination node id (6 bytes, SMPP 5.0).
        DEST_NODE_ID = 0x0610 => "dest_node_id",
        /// Number-portability query result (1 byte, SMPP 5.0).
        DEST_ADDR_NP_RESOLUTION = 0x0611 => "dest_addr_np_resolution",
        /// Number-portability information (up to 10 bytes, SMPP 5.0).
        DEST_ADDR_NP_INFORMATION = 0x0612 => "dest_addr_np_information",
        /// Number-portability country code (up to 5 bytes, SMPP 5.0).
        DEST_ADDR_NP_COUNTRY = 0x0613 => "dest_addr_np_country",
        /// Display time (1 byte, CDMA).
        DISPLAY_TIME = 0x1201 => "display_time",
        /// Alert signal (2 bytes, CDMA).
        SMS_SIGNAL = 0x1203 => "sms_signal",
        /// Validity on the mobile station (1 to 4 bytes, CDMA).
        MS_VALIDITY = 0x1204 => "ms_validity",
        /// Alert the subscriber on delivery (0 bytes in 3.4, 1 in 5.0; CDMA).
        ALERT_ON_MESSAGE_DELIVERY = 0x130C => "alert_on_message_delivery",
        /// Interactive teleservice reply type (1 byte, CDMA).
        ITS_REPLY_TYPE = 0x1380 => "its_reply_type",
        /// Interactive teleservice session info (2 bytes, CDMA).
        ITS_SESSION_INFO = 0x1383 => "its_session_info",
    }
}

impl fmt::Display for TlvTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "tlv {:#06x}", self.0),
        }
    }
}

/// The value lengths a tag allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LenRule {
    /// Exactly this many bytes.
    Fixed(u16),
    /// Inclusive range.
    Range(u16, u16),
    /// Anything that fits the 16-bit length (unknown and opaque tags).
    Any,
}

impl LenRule {
    pub(crate) fn allows(self, len: usize) -> bool {
        match self {
            LenRule::Fixed(n) => len == usize::from(n),
            LenRule::Range(lo, hi) => (usize::from(lo)..=usize::from(hi)).contains(&len),
            LenRule::Any => len <= usize::from(u16::MAX),
        }
    }
}

// === impl TlvTag ===

impl TlvTag {
    /// Value lengths the specification allows for this tag. Where SMPP 3.4 and 5.0
    /// differ the rule accepts both.
    pub(crate) fn len_rule(self) -> LenRule {
        use LenRule::{Any, Fixed, Range};
        match self.0 {
            0x0005..=0x0007
            | 0x000D..=0x000F
            | 0x0019
            | 0x0030
            | 0x0201
            | 0x0205
            | 0x020D
            | 0x020E
            | 0x020F
            | 0x0210
            | 0x0302
            | 0x0304
            | 0x0420..=0x0422
            | 0x0425..=0x0428
            | 0x0501
            | 0x0600
            | 0x0603
            | 0x0608
            | 0x0611
            | 0x1201
            | 0x1380 => Fixed(1),
            0x0008 | 0x0204 | 0x020A..=0x020C | 0x0604 | 0x1203 | 0x1383 => Fixed(2),
            0x0423 | 0x0601 | 0x0605 => Fixed(3),
            0x0017 | 0x0607 => Fixed(4),
            0x060F | 0x0610 => Fixed(6),
            0x0010 => Range(1, 2),
            0x130C => Range(0, 1),
            0x1204 => Range(1, 4),
            0x001D => Range(0, 256),
            0x001E | 0x0303 => Range(0, 65),
            0x0202 | 0x0203 => Range(2, 23),
            0x0381 => Range(4, 19),
            0x0602 | 0x060A => Range(0, 255),
            0x0609 => Range(0, 17),
            0x060B => Range(0, 1024),
            0x060D | 0x060E => Range(0, 66),
            0x0612 => Range(0, 10),
            0x0613 => Range(0, 5),
            _ => Any,
        }
    }

    /// Tags that may occur once per PDU because they decide which text is scanned and
    /// how segments join: a second copy would let a peer show the filter one value and
    /// the MC another. Bit index for duplicate tracking, or `None`.
    pub(crate) fn singleton_bit(self) -> Option<u8> {
        match self {
            TlvTag::MESSAGE_PAYLOAD => Some(0),
            TlvTag::SAR_MSG_REF_NUM => Some(1),
            TlvTag::SAR_TOTAL_SEGMENTS => Some(2),
            TlvTag::SAR_SEGMENT_SEQNUM => Some(3),
            _ => None,
        }
    }
}

/// One TLV, borrowed from a [`Tlvs`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: TlvTag,
    /// The value, exactly as on the wire.
    pub value: &'a [u8],
}

/// Network error reported in `network_error_code` (SMPP 3.4 §5.3.2.31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkErrorCode {
    /// 1 ANSI-136, 2 IS-95, 3 GSM, 4 reserved (3.4) / ANSI-41, ...
    pub network_type: u8,
    /// The network's own error code.
    pub error_code: u16,
}

/// Values of the `message_state` TLV and of `query_sm_resp.message_state`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct MessageState(pub u8);

wire_codes! {
    MessageState(u8) {
        /// Scheduled for later delivery (SMPP 5.0).
        SCHEDULED = 0 => "SCHEDULED",
        /// In transit.
        ENROUTE = 1 => "ENROUTE",
        /// Delivered to the destination.
        DELIVERED = 2 => "DELIVERED",
        /// Validity period expired.
        EXPIRED = 3 => "EXPIRED",
        /// Deleted.
        DELETED = 4 => "DELETED",
        /// Undeliverable.
        UNDELIVERABLE = 5 => "UNDELIVERABLE",
        /// Accepted (read by a customer service operator).
        ACCEPTED = 6 => "ACCEPTED",
        /// Invalid state.
        UNKNOWN = 7 => "UNKNOWN",
        /// Rejected.
        REJECTED = 8 => "REJECTED",
        /// Skipped by the MC (SMPP 5.0).
        SKIPPED = 9 => "SKIPPED",
    }
}

/// The ordered TLV list of one PDU, stored as its raw wire bytes.
///
/// Every instance holds well-formed TLVs whose known tags have allowed lengths and
/// whose single-use tags (message_payload, sar_*) occur at most once: the decoder
/// checks received bytes, and [`push`](Self::push) checks values built in code.
/// Lookups scan the list; PDUs carry a handful of TLVs, so this beats building an index.
/// Where a tag may repeat (callback_num, broadcast_area_identifier), typed accessors
/// return the first instance and [`iter`](Self::iter) yields all of them.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Tlvs<B = Bytes>(B);

/// Size of a TLV's tag and length fields.
const TLV_HEADER_LEN: usize = 4;

// === impl Tlvs ===

impl Tlvs {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Bytes::new())
    }

    /// Appends a TLV, checking the value length the tag allows and the single-use rule.
    ///
    /// Copies the list; meant for building PDUs, not for the forwarding path.
    pub fn push(&mut self, tag: TlvTag, value: &[u8]) -> Result<(), FieldError> {
        if !tag.len_rule().allows(value.len()) {
            return Err(FieldError::TlvLength {
                tag: tag.0,
                len: value.len(),
            });
        }
        if tag.singleton_bit().is_some() && self.contains(tag) {
            return Err(FieldError::DuplicateTlv { tag: tag.0 });
        }
        let len = u16::try_from(value.len()).map_err(|_| FieldError::TlvLength {
            tag: tag.0,
            len: value.len(),
        })?;
        let mut raw = BytesMut::with_capacity(self.0.len() + TLV_HEADER_LEN + value.len());
        raw.put_slice(&self.0);
        raw.put_u16(tag.0);
        raw.put_u16(len);
        raw.put_slice(value);
        self.0 = raw.freeze();
        Ok(())
    }

    /// [`push`](Self::push) for chaining.
    pub fn with(mut self, tag: TlvTag, value: &[u8]) -> Result<Self, FieldError> {
        self.push(tag, value)?;
        Ok(self)
    }

    /// The value of the first TLV with `tag` as a shared [`Bytes`] handle (no copy).
    pub fn get_bytes(&self, tag: TlvTag) -> Option<Bytes> {
        self.get(tag).map(|v| self.0.slice_ref(v))
    }

    /// The raw wire bytes as a shared [`Bytes`] handle.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }
}

impl<B: AsRef<[u8]>> Tlvs<B> {
    /// Wraps a region the decoder has already validated.
    pub(crate) fn from_wire(raw: B) -> Self {
        Self(raw)
    }

    /// The TLVs in wire order.
    pub fn iter(&self) -> TlvIter<'_> {
        TlvIter {
            rest: self.0.as_ref(),
        }
    }

    /// The value of the first TLV with `tag`.
    pub fn get(&self, tag: TlvTag) -> Option<&[u8]> {
        self.iter().find(|t| t.tag == tag).map(|t| t.value)
    }

    /// Whether a TLV with `tag` is present.
    pub fn contains(&self, tag: TlvTag) -> bool {
        self.get(tag).is_some()
    }

    /// Number of TLVs.
    pub fn count(&self) -> usize {
        self.iter().count()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_empty()
    }

    /// The raw wire bytes of the whole list.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// The backing handle of the raw list.
    pub fn inner(&self) -> &B {
        &self.0
    }

    pub(crate) fn wire_len(&self) -> usize {
        self.as_bytes().len()
    }

    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(self.as_bytes());
    }

    fn get_u8(&self, tag: TlvTag) -> Option<u8> {
        match self.get(tag)? {
            &[b] => Some(b),
            _ => None,
        }
    }

    fn get_u16(&self, tag: TlvTag) -> Option<u16> {
        self.get(tag)
            .and_then(|v| <[u8; 2]>::try_from(v).ok())
            .map(u16::from_be_bytes)
    }

    /// `message_payload`: the message text when `short_message` is empty, and the
    /// only text of `data_sm` and `broadcast_sm`.
    pub fn message_payload(&self) -> Option<&[u8]> {
        self.get(TlvTag::MESSAGE_PAYLOAD)
    }

    /// `sar_msg_ref_num`: reference shared by the segments of one message.
    pub fn sar_msg_ref_num(&self) -> Option<u16> {
        self.get_u16(TlvTag::SAR_MSG_REF_NUM)
    }

    /// `sar_total_segments`.
    pub fn sar_total_segments(&self) -> Option<u8> {
        self.get_u8(TlvTag::SAR_TOTAL_SEGMENTS)
    }

    /// `sar_segment_seqnum`, from 1.
    pub fn sar_segment_seqnum(&self) -> Option<u8> {
        self.get_u8(TlvTag::SAR_SEGMENT_SEQNUM)
    }

    /// `receipted_message_id` without its NUL terminator (some MCs omit the NUL;
    /// both forms are accepted).
    pub fn receipted_message_id(&self) -> Option<&[u8]> {
        self.get(TlvTag::RECEIPTED_MESSAGE_ID).map(strip_nul)
    }

    /// `message_state` of a delivery receipt.
    pub fn message_state(&self) -> Option<MessageState> {
        self.get_u8(TlvTag::MESSAGE_STATE).map(MessageState)
    }

    /// `sc_interface_version` of a `bind_*_resp` (0x34 for 3.4, 0x50 for 5.0).
    pub fn sc_interface_version(&self) -> Option<u8> {
        self.get_u8(TlvTag::SC_INTERFACE_VERSION)
    }

    /// `congestion_state`, 0 (idle) to 100 (congested) (SMPP 5.0).
    pub fn congestion_state(&self) -> Option<u8> {
        self.get_u8(TlvTag::CONGESTION_STATE)
    }

    /// `network_error_code`.
    pub fn network_error_code(&self) -> Option<NetworkErrorCode> {
        match *self.get(TlvTag::NETWORK_ERROR_CODE)? {
            [network_type, hi, lo] => Some(NetworkErrorCode {
                network_type,
                error_code: u16::from_be_bytes([hi, lo]),
            }),
            _ => None,
        }
    }

    /// `user_message_reference`: the ESME's own message reference.
    pub fn user_message_reference(&self) -> Option<u16> {
        self.get_u16(TlvTag::USER_MESSAGE_REFERENCE)
    }

    /// `source_port`.
    pub fn source_port(&self) -> Option<u16> {
        self.get_u16(TlvTag::SOURCE_PORT)
    }

    /// `destination_port`.
    pub fn destination_port(&self) -> Option<u16> {
        self.get_u16(TlvTag::DESTINATION_PORT)
    }

    /// `payload_type`.
    pub fn payload_type(&self) -> Option<u8> {
        self.get_u8(TlvTag::PAYLOAD_TYPE)
    }

    /// `delivery_failure_reason` of a `data_sm_resp`.
    pub fn delivery_failure_reason(&self) -> Option<u8> {
        self.get_u8(TlvTag::DELIVERY_FAILURE_REASON)
    }

    /// `more_messages_to_send`.
    pub fn more_messages_to_send(&self) -> Option<u8> {
        self.get_u8(TlvTag::MORE_MESSAGES_TO_SEND)
    }

    /// `ms_availability_status` of an `alert_notification`.
    pub fn ms_availability_status(&self) -> Option<u8> {
        self.get_u8(TlvTag::MS_AVAILABILITY_STATUS)
    }

    /// `additional_status_info_text` without its NUL terminator.
    pub fn additional_status_info_text(&self) -> Option<&[u8]> {
        self.get(TlvTag::ADDITIONAL_STATUS_INFO_TEXT).map(strip_nul)
    }

    /// The first `callback_num` (the TLV may repeat; use [`iter`](Self::iter) for all).
    pub fn callback_num(&self) -> Option<&[u8]> {
        self.get(TlvTag::CALLBACK_NUM)
    }
}

fn strip_nul(value: &[u8]) -> &[u8] {
    value.strip_suffix(&[0]).unwrap_or(value)
}

impl<B: AsRef<[u8]>> fmt::Debug for Tlvs<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|t| (t.tag, t.value.escape_ascii().to_string())),
            )
            .finish()
    }
}

impl<'a, B: AsRef<[u8]>> IntoIterator for &'a Tlvs<B> {
    type Item = Tlv<'a>;
    type IntoIter = TlvIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the TLVs of a [`Tlvs`] list, in wire order.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let (tag, rest) = self.rest.split_first_chunk::<2>()?;
        let (len, rest) = rest.split_first_chunk::<2>()?;
        let (value, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
        self.rest = rest;
        Some(Tlv {
            tag: TlvTag(u16::from_be_bytes(*tag)),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dlr_tlvs() -> Tlvs {
        Tlvs::new()
            .with(TlvTag::RECEIPTED_MESSAGE_ID, b"0A1B2C3D\0")
            .unwrap()
            .with(TlvTag::MESSAGE_STATE, &[2])
            .unwrap()
    }

    #[test]
    fn build_and_read() {
        let t = dlr_tlvs();
        assert_eq!(
            t.as_bytes(),
            b"\x00\x1e\x00\x090A1B2C3D\x00\x04\x27\x00\x01\x02"
        );
        assert_eq!(t.receipted_message_id(), Some(&b"0A1B2C3D"[..]));
        assert_eq!(t.message_state(), Some(MessageState::DELIVERED));
        assert_eq!(t.count(), 2);
        assert_eq!(t.message_payload(), None);
        assert_eq!(
            t.get_bytes(TlvTag::MESSAGE_STATE).as_deref(),
            Some(&[2u8][..])
        );
    }

    #[test]
    fn typed_integer_accessors() {
        let t = Tlvs::new()
            .with(TlvTag::SAR_MSG_REF_NUM, &[0x01, 0x02])
            .unwrap()
            .with(TlvTag::SAR_TOTAL_SEGMENTS, &[3])
            .unwrap()
            .with(TlvTag::SAR_SEGMENT_SEQNUM, &[2])
            .unwrap()
            .with(TlvTag::NETWORK_ERROR_CODE, &[3, 0x00, 0x0B])
            .unwrap()
            .with(TlvTag::SOURCE_PORT, &[0x0B, 0x84])
            .unwrap()
            .with(TlvTag::DESTINATION_PORT, &[0x23, 0xF0])
            .unwrap()
            .with(TlvTag::USER_MESSAGE_REFERENCE, &[0, 7])
            .unwrap()
            .with(TlvTag::SC_INTERFACE_VERSION, &[0x34])
            .unwrap()
            .with(TlvTag::CONGESTION_STATE, &[80])
            .unwrap();
        assert_eq!(t.sar_msg_ref_num(), Some(0x0102));
        assert_eq!(t.sar_total_segments(), Some(3));
        assert_eq!(t.sar_segment_seqnum(), Some(2));
        assert_eq!(
            t.network_error_code(),
            Some(NetworkErrorCode {
                network_type: 3,
                error_code: 11
            })
        );
        assert_eq!(t.source_port(), Some(0x0B84));
        assert_eq!(t.destination_port(), Some(0x23F0));
        assert_eq!(t.user_message_reference(), Some(7));
        assert_eq!(t.sc_interface_version(), Some(0x34));
        assert_eq!(t.congestion_state(), Some(80));
    }

    #[test]
    fn push_checks_lengths_and_single_use_tags() {
        assert_eq!(
            Tlvs::new().with(TlvTag::SAR_TOTAL_SEGMENTS, &[1, 2]),
            Err(FieldError::TlvLength {
                tag: 0x020E,
                len: 2
            })
        );
        let t = Tlvs::new().with(TlvTag::MESSAGE_PAYLOAD, b"x").unwrap();
        assert_eq!(
            t.with(TlvTag::MESSAGE_PAYLOAD, b"y"),
            Err(FieldError::DuplicateTlv { tag: 0x0424 })
        );
        // Repeatable and unknown tags keep every instance, in order.
        let t = Tlvs::new()
            .with(TlvTag::CALLBACK_NUM, b"\x00\x01\x0112345")
            .unwrap()
            .with(TlvTag(0x1400), b"vendor")
            .unwrap()
            .with(TlvTag::CALLBACK_NUM, b"\x00\x01\x0167890")
            .unwrap();
        let tags: Vec<_> = t.iter().map(|t| t.tag.0).collect();
        assert_eq!(tags, [0x0381, 0x1400, 0x0381]);
        assert_eq!(t.callback_num(), Some(&b"\x00\x01\x0112345"[..]));
        assert_eq!(
            Tlvs::new().with(TlvTag(0x1400), &vec![0u8; 65_536]),
            Err(FieldError::TlvLength {
                tag: 0x1400,
                len: 65_536
            })
        );
    }

    #[test]
    fn tag_names() {
        assert_eq!(TlvTag::MESSAGE_PAYLOAD.to_string(), "message_payload");
        assert_eq!(TlvTag(0x1400).to_string(), "tlv 0x1400");
        assert_eq!(MessageState::DELIVERED.name(), Some("DELIVERED"));
        for tag in TlvTag::ALL {
            // Every named tag has a rule that admits some length.
            assert!((0..=1024).any(|n| tag.len_rule().allows(n)), "{tag:?}");
        }
    }
}
