//! `command_id`: which PDU a frame carries (SMPP 3.4 §5.1.2.1, SMPP 5.0 §4.7.5).

use std::fmt;

use crate::macros::wire_codes;

/// The `command_id` header field: a plain `u32` so that any value read from the wire
/// is representable, with the specification's values as associated constants.
///
/// A response id is its request id with bit 31 set; `generic_nack` is `0x8000_0000`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u32);

/// Bit 31 marks a response `command_id`.
const RESPONSE_BIT: u32 = 0x8000_0000;

wire_codes! {
    CommandId(u32) {
        /// Negative acknowledgement for a PDU that could not be identified or framed.
        GENERIC_NACK = 0x8000_0000 => "generic_nack",
        /// Bind as a receiver (MC to ESME traffic only).
        BIND_RECEIVER = 0x0000_0001 => "bind_receiver",
        /// Answer to `bind_receiver`.
        BIND_RECEIVER_RESP = 0x8000_0001 => "bind_receiver_resp",
        /// Bind as a transmitter (ESME to MC traffic only).
        BIND_TRANSMITTER = 0x0000_0002 => "bind_transmitter",
        /// Answer to `bind_transmitter`.
        BIND_TRANSMITTER_RESP = 0x8000_0002 => "bind_transmitter_resp",
        /// Status of a previously submitted message.
        QUERY_SM = 0x0000_0003 => "query_sm",
        /// Answer to `query_sm`.
        QUERY_SM_RESP = 0x8000_0003 => "query_sm_resp",
        /// Submit one short message.
        SUBMIT_SM = 0x0000_0004 => "submit_sm",
        /// Answer to `submit_sm`, carrying the MC's `message_id`.
        SUBMIT_SM_RESP = 0x8000_0004 => "submit_sm_resp",
        /// MC delivers a mobile-originated message or a delivery receipt.
        DELIVER_SM = 0x0000_0005 => "deliver_sm",
        /// Answer to `deliver_sm`.
        DELIVER_SM_RESP = 0x8000_0005 => "deliver_sm_resp",
        /// End the session.
        UNBIND = 0x0000_0006 => "unbind",
        /// Answer to `unbind`.
        UNBIND_RESP = 0x8000_0006 => "unbind_resp",
        /// Replace a previously submitted message.
        REPLACE_SM = 0x0000_0007 => "replace_sm",
        /// Answer to `replace_sm`.
        REPLACE_SM_RESP = 0x8000_0007 => "replace_sm_resp",
        /// Cancel a previously submitted message.
        CANCEL_SM = 0x0000_0008 => "cancel_sm",
        /// Answer to `cancel_sm`.
        CANCEL_SM_RESP = 0x8000_0008 => "cancel_sm_resp",
        /// Bind as a transceiver (both directions).
        BIND_TRANSCEIVER = 0x0000_0009 => "bind_transceiver",
        /// Answer to `bind_transceiver`.
        BIND_TRANSCEIVER_RESP = 0x8000_0009 => "bind_transceiver_resp",
        /// MC asks the ESME to bind as a receiver; has no response.
        OUTBIND = 0x0000_000B => "outbind",
        /// Link liveness probe.
        ENQUIRE_LINK = 0x0000_0015 => "enquire_link",
        /// Answer to `enquire_link`.
        ENQUIRE_LINK_RESP = 0x8000_0015 => "enquire_link_resp",
        /// Submit one message to several destinations or distribution lists.
        SUBMIT_MULTI = 0x0000_0021 => "submit_multi",
        /// Answer to `submit_multi`, listing destinations that failed.
        SUBMIT_MULTI_RESP = 0x8000_0021 => "submit_multi_resp",
        /// MC reports that a subscriber became available; has no response.
        ALERT_NOTIFICATION = 0x0000_0102 => "alert_notification",
        /// Message transfer in either direction with all content in TLVs.
        DATA_SM = 0x0000_0103 => "data_sm",
        /// Answer to `data_sm`.
        DATA_SM_RESP = 0x8000_0103 => "data_sm_resp",
        /// Cell broadcast submission (SMPP 5.0).
        BROADCAST_SM = 0x0000_0111 => "broadcast_sm",
        /// Answer to `broadcast_sm` (SMPP 5.0).
        BROADCAST_SM_RESP = 0x8000_0111 => "broadcast_sm_resp",
        /// Status of a broadcast message (SMPP 5.0).
        QUERY_BROADCAST_SM = 0x0000_0112 => "query_broadcast_sm",
        /// Answer to `query_broadcast_sm` (SMPP 5.0).
        QUERY_BROADCAST_SM_RESP = 0x8000_0112 => "query_broadcast_sm_resp",
        /// Cancel a broadcast message (SMPP 5.0).
        CANCEL_BROADCAST_SM = 0x0000_0113 => "cancel_broadcast_sm",
        /// Answer to `cancel_broadcast_sm` (SMPP 5.0).
        CANCEL_BROADCAST_SM_RESP = 0x8000_0113 => "cancel_broadcast_sm_resp",
    }
}

// === impl CommandId ===

impl CommandId {
    /// The raw wire value.
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// Whether the specification defines this `command_id`.
    pub const fn is_known(self) -> bool {
        self.name().is_some()
    }

    /// Whether bit 31 is set: responses and `generic_nack`. Such PDUs are never answered.
    pub const fn is_response(self) -> bool {
        self.0 & RESPONSE_BIT != 0
    }

    /// The `command_id` of the response this request calls for.
    ///
    /// `None` for responses, for `outbind` and `alert_notification` (which have no
    /// response and must not be answered) and for ids the specification does not define
    /// (those are answered with `generic_nack`, see [`CommandId::GENERIC_NACK`]).
    pub const fn response_id(self) -> Option<CommandId> {
        match self {
            Self::OUTBIND | Self::ALERT_NOTIFICATION => None,
            _ if self.is_response() || !self.is_known() => None,
            _ => Some(CommandId(self.0 | RESPONSE_BIT)),
        }
    }

    /// The `command_id` of the request a known response answers; `None` for
    /// `generic_nack` (it can answer anything), for requests and for unknown ids.
    pub const fn request_id(self) -> Option<CommandId> {
        let req = CommandId(self.0 & !RESPONSE_BIT);
        match self {
            Self::GENERIC_NACK => None,
            _ if !self.is_response() || !self.is_known() || !req.is_known() => None,
            _ => Some(req),
        }
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "command_id {:#010x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_with_a_response_maps_back() {
        for &id in CommandId::ALL {
            if let Some(resp) = id.response_id() {
                assert!(resp.is_known(), "{id} -> {resp:?}");
                assert_eq!(resp.request_id(), Some(id));
                assert_eq!(resp.name().map(|n| n.trim_end_matches("_resp")), id.name());
            }
        }
    }

    #[test]
    fn unanswered_ids() {
        assert_eq!(CommandId::OUTBIND.response_id(), None);
        assert_eq!(CommandId::ALERT_NOTIFICATION.response_id(), None);
        assert_eq!(CommandId::GENERIC_NACK.response_id(), None);
        assert_eq!(CommandId::SUBMIT_SM_RESP.response_id(), None);
        assert_eq!(CommandId(0x99).response_id(), None);
        assert_eq!(CommandId::GENERIC_NACK.request_id(), None);
        assert_eq!(CommandId(0x8000_0099).request_id(), None);
    }

    #[test]
    fn names_and_display() {
        assert_eq!(CommandId::SUBMIT_SM.to_string(), "submit_sm");
        assert_eq!(CommandId(0x99).to_string(), "command_id 0x00000099");
        assert_eq!(format!("{:?}", CommandId::DATA_SM), "CommandId(data_sm)");
        assert_eq!(CommandId::ALL.len(), 33);
        assert!(CommandId::BROADCAST_SM.is_known());
        assert!(!CommandId(0x0001_0200).is_known());
    }
}
