//! `command_status`: the outcome a response reports (SMPP 3.4 §5.1.3, SMPP 5.0 §4.7.6).

use std::fmt;

use crate::macros::wire_codes;

/// The `command_status` header field: a plain `u32` so that any value read from the
/// wire is representable, with the specification's values as associated constants.
///
/// It is zero in requests and meaningful only in responses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CommandStatus(pub u32);

wire_codes! {
    CommandStatus(u32) {
        /// No error.
        ESME_ROK = 0x0000_0000 => "ESME_ROK",
        /// Message length is invalid.
        ESME_RINVMSGLEN = 0x0000_0001 => "ESME_RINVMSGLEN",
        /// Command length is invalid.
        ESME_RINVCMDLEN = 0x0000_0002 => "ESME_RINVCMDLEN",
        /// Invalid command id.
        ESME_RINVCMDID = 0x0000_0003 => "ESME_RINVCMDID",
        /// Incorrect bind status for the given command.
        ESME_RINVBNDSTS = 0x0000_0004 => "ESME_RINVBNDSTS",
        /// ESME already in bound state.
        ESME_RALYBND = 0x0000_0005 => "ESME_RALYBND",
        /// Invalid priority flag.
        ESME_RINVPRTFLG = 0x0000_0006 => "ESME_RINVPRTFLG",
        /// Invalid registered delivery flag.
        ESME_RINVREGDLVFLG = 0x0000_0007 => "ESME_RINVREGDLVFLG",
        /// System error (temporary: clients retry).
        ESME_RSYSERR = 0x0000_0008 => "ESME_RSYSERR",
        /// Invalid source address.
        ESME_RINVSRCADR = 0x0000_000A => "ESME_RINVSRCADR",
        /// Invalid destination address.
        ESME_RINVDSTADR = 0x0000_000B => "ESME_RINVDSTADR",
        /// Message id is invalid.
        ESME_RINVMSGID = 0x0000_000C => "ESME_RINVMSGID",
        /// Bind failed.
        ESME_RBINDFAIL = 0x0000_000D => "ESME_RBINDFAIL",
        /// Invalid password.
        ESME_RINVPASWD = 0x0000_000E => "ESME_RINVPASWD",
        /// Invalid system id.
        ESME_RINVSYSID = 0x0000_000F => "ESME_RINVSYSID",
        /// `cancel_sm` failed.
        ESME_RCANCELFAIL = 0x0000_0011 => "ESME_RCANCELFAIL",
        /// `replace_sm` failed.
        ESME_RREPLACEFAIL = 0x0000_0013 => "ESME_RREPLACEFAIL",
        /// Message queue full (temporary).
        ESME_RMSGQFUL = 0x0000_0014 => "ESME_RMSGQFUL",
        /// Invalid service type.
        ESME_RINVSERTYP = 0x0000_0015 => "ESME_RINVSERTYP",
        /// Invalid number of destinations.
        ESME_RINVNUMDESTS = 0x0000_0033 => "ESME_RINVNUMDESTS",
        /// Invalid distribution list name.
        ESME_RINVDLNAME = 0x0000_0034 => "ESME_RINVDLNAME",
        /// Destination flag is invalid (`submit_multi`).
        ESME_RINVDESTFLAG = 0x0000_0040 => "ESME_RINVDESTFLAG",
        /// Invalid "submit with replace" request.
        ESME_RINVSUBREP = 0x0000_0042 => "ESME_RINVSUBREP",
        /// Invalid `esm_class` field data.
        ESME_RINVESMCLASS = 0x0000_0043 => "ESME_RINVESMCLASS",
        /// Cannot submit to a distribution list.
        ESME_RCNTSUBDL = 0x0000_0044 => "ESME_RCNTSUBDL",
        /// Submit failed (permanent; the answer to a content block).
        ESME_RSUBMITFAIL = 0x0000_0045 => "ESME_RSUBMITFAIL",
        /// Invalid source address TON.
        ESME_RINVSRCTON = 0x0000_0048 => "ESME_RINVSRCTON",
        /// Invalid source address NPI.
        ESME_RINVSRCNPI = 0x0000_0049 => "ESME_RINVSRCNPI",
        /// Invalid destination address TON.
        ESME_RINVDSTTON = 0x0000_0050 => "ESME_RINVDSTTON",
        /// Invalid destination address NPI.
        ESME_RINVDSTNPI = 0x0000_0051 => "ESME_RINVDSTNPI",
        /// Invalid `system_type` field.
        ESME_RINVSYSTYP = 0x0000_0053 => "ESME_RINVSYSTYP",
        /// Invalid `replace_if_present` flag.
        ESME_RINVREPFLAG = 0x0000_0054 => "ESME_RINVREPFLAG",
        /// Invalid number of messages.
        ESME_RINVNUMMSGS = 0x0000_0055 => "ESME_RINVNUMMSGS",
        /// Throttling error: the ESME exceeded its allowed message rate (temporary).
        ESME_RTHROTTLED = 0x0000_0058 => "ESME_RTHROTTLED",
        /// Invalid scheduled delivery time.
        ESME_RINVSCHED = 0x0000_0061 => "ESME_RINVSCHED",
        /// Invalid message validity period (expiry time).
        ESME_RINVEXPIRY = 0x0000_0062 => "ESME_RINVEXPIRY",
        /// Predefined message is invalid or not found.
        ESME_RINVDFTMSGID = 0x0000_0063 => "ESME_RINVDFTMSGID",
        /// ESME receiver temporary application error (answer to `deliver_sm`).
        ESME_RX_T_APPN = 0x0000_0064 => "ESME_RX_T_APPN",
        /// ESME receiver permanent application error (answer to `deliver_sm`).
        ESME_RX_P_APPN = 0x0000_0065 => "ESME_RX_P_APPN",
        /// ESME receiver reject message error (answer to `deliver_sm`).
        ESME_RX_R_APPN = 0x0000_0066 => "ESME_RX_R_APPN",
        /// `query_sm` request failed.
        ESME_RQUERYFAIL = 0x0000_0067 => "ESME_RQUERYFAIL",
        /// Error in the optional part of the PDU body (TLV stream).
        ESME_RINVOPTPARSTREAM = 0x0000_00C0 => "ESME_RINVOPTPARSTREAM",
        /// Optional parameter (TLV) not allowed.
        ESME_ROPTPARNOTALLWD = 0x0000_00C1 => "ESME_ROPTPARNOTALLWD",
        /// Invalid parameter (TLV) length.
        ESME_RINVPARLEN = 0x0000_00C2 => "ESME_RINVPARLEN",
        /// Expected optional parameter (TLV) missing.
        ESME_RMISSINGOPTPARAM = 0x0000_00C3 => "ESME_RMISSINGOPTPARAM",
        /// Invalid optional parameter (TLV) value.
        ESME_RINVOPTPARAMVAL = 0x0000_00C4 => "ESME_RINVOPTPARAMVAL",
        /// Delivery failure (used for `data_sm_resp`).
        ESME_RDELIVERYFAILURE = 0x0000_00FE => "ESME_RDELIVERYFAILURE",
        /// Unknown error.
        ESME_RUNKNOWNERR = 0x0000_00FF => "ESME_RUNKNOWNERR",
        /// ESME not authorised to use the specified `service_type` (SMPP 5.0).
        ESME_RSERTYPUNAUTH = 0x0000_0100 => "ESME_RSERTYPUNAUTH",
        /// ESME prohibited from using the specified operation (SMPP 5.0).
        ESME_RPROHIBITED = 0x0000_0101 => "ESME_RPROHIBITED",
        /// Specified `service_type` is unavailable (SMPP 5.0).
        ESME_RSERTYPUNAVAIL = 0x0000_0102 => "ESME_RSERTYPUNAVAIL",
        /// Specified `service_type` is denied (SMPP 5.0).
        ESME_RSERTYPDENIED = 0x0000_0103 => "ESME_RSERTYPDENIED",
        /// Invalid data coding scheme (SMPP 5.0).
        ESME_RINVDCS = 0x0000_0104 => "ESME_RINVDCS",
        /// Source address subunit is invalid (SMPP 5.0).
        ESME_RINVSRCADDRSUBUNIT = 0x0000_0105 => "ESME_RINVSRCADDRSUBUNIT",
        /// Destination address subunit is invalid (SMPP 5.0).
        ESME_RINVDSTADDRSUBUNIT = 0x0000_0106 => "ESME_RINVDSTADDRSUBUNIT",
        /// Broadcast frequency interval is invalid (SMPP 5.0).
        ESME_RINVBCASTFREQINT = 0x0000_0107 => "ESME_RINVBCASTFREQINT",
        /// Broadcast alias name is invalid (SMPP 5.0).
        ESME_RINVBCASTALIAS_NAME = 0x0000_0108 => "ESME_RINVBCASTALIAS_NAME",
        /// Broadcast area format is invalid (SMPP 5.0).
        ESME_RINVBCASTAREAFMT = 0x0000_0109 => "ESME_RINVBCASTAREAFMT",
        /// Number of broadcast areas is invalid (SMPP 5.0).
        ESME_RINVNUMBCAST_AREAS = 0x0000_010A => "ESME_RINVNUMBCAST_AREAS",
        /// Broadcast content type is invalid (SMPP 5.0).
        ESME_RINVBCASTCNTTYPE = 0x0000_010B => "ESME_RINVBCASTCNTTYPE",
        /// Broadcast message class is invalid (SMPP 5.0).
        ESME_RINVBCASTMSGCLASS = 0x0000_010C => "ESME_RINVBCASTMSGCLASS",
        /// `broadcast_sm` operation failed (SMPP 5.0).
        ESME_RBCASTFAIL = 0x0000_010D => "ESME_RBCASTFAIL",
        /// `query_broadcast_sm` operation failed (SMPP 5.0).
        ESME_RBCASTQUERYFAIL = 0x0000_010E => "ESME_RBCASTQUERYFAIL",
        /// `cancel_broadcast_sm` operation failed (SMPP 5.0).
        ESME_RBCASTCANCELFAIL = 0x0000_010F => "ESME_RBCASTCANCELFAIL",
        /// Number of repeated broadcasts is invalid (SMPP 5.0).
        ESME_RINVBCAST_REP = 0x0000_0110 => "ESME_RINVBCAST_REP",
        /// Broadcast service group is invalid (SMPP 5.0).
        ESME_RINVBCASTSRVGRP = 0x0000_0111 => "ESME_RINVBCASTSRVGRP",
        /// Broadcast channel indicator is invalid (SMPP 5.0).
        ESME_RINVBCASTCHANIND = 0x0000_0112 => "ESME_RINVBCASTCHANIND",
    }
}

// === impl CommandStatus ===

impl CommandStatus {
    /// The raw wire value.
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// Whether this is `ESME_ROK`.
    pub const fn is_ok(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#04x})", self.0),
            None => write!(f, "command_status {:#010x}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_reference_table() {
        assert_eq!(CommandStatus::ESME_RINVMSGLEN.0, 0x01);
        assert_eq!(CommandStatus::ESME_RSUBMITFAIL.0, 0x45);
        assert_eq!(CommandStatus::ESME_RTHROTTLED.0, 0x58);
        assert_eq!(CommandStatus::ESME_RX_T_APPN.0, 0x64);
        assert_eq!(CommandStatus::ESME_RX_P_APPN.0, 0x65);
        assert_eq!(CommandStatus::ESME_RX_R_APPN.0, 0x66);
        assert_eq!(CommandStatus::ESME_RINVOPTPARSTREAM.0, 0xC0);
        assert_eq!(CommandStatus::ESME_RINVBCASTCHANIND.0, 0x112);
        // 48 SMPP 3.4 values and 19 SMPP 5.0 additions.
        assert_eq!(CommandStatus::ALL.len(), 48 + 19);
    }

    #[test]
    fn names_are_the_constant_names_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in CommandStatus::ALL {
            assert!(seen.insert(s.0), "duplicate value {s:?}");
            assert!(s.name().is_some_and(|n| n.starts_with("ESME_R")));
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            CommandStatus::ESME_RINVCMDLEN.to_string(),
            "ESME_RINVCMDLEN (0x02)"
        );
        assert_eq!(
            CommandStatus(0x400).to_string(),
            "command_status 0x00000400"
        );
        assert!(CommandStatus::default().is_ok());
    }
}
