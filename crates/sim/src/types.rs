//! Small value types shared by the simulator and the client: bind types and the
//! simulator's message ids.

use std::fmt;

use smppguard_codec::CommandId;

/// The three ways to bind a session (SMPP 3.4 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindType {
    /// `bind_transmitter`: the ESME submits, the MC delivers nothing.
    Transmitter,
    /// `bind_receiver`: the MC delivers receipts and MO messages, the ESME submits
    /// nothing.
    Receiver,
    /// `bind_transceiver`: both directions on one session.
    Transceiver,
}

// === impl BindType ===

impl BindType {
    /// The bind request's `command_id`.
    pub fn command_id(self) -> CommandId {
        match self {
            BindType::Transmitter => CommandId::BIND_TRANSMITTER,
            BindType::Receiver => CommandId::BIND_RECEIVER,
            BindType::Transceiver => CommandId::BIND_TRANSCEIVER,
        }
    }

    /// The bind type a bind request's `command_id` asks for; `None` for other ids.
    pub fn from_command_id(id: CommandId) -> Option<BindType> {
        match id {
            CommandId::BIND_TRANSMITTER => Some(BindType::Transmitter),
            CommandId::BIND_RECEIVER => Some(BindType::Receiver),
            CommandId::BIND_TRANSCEIVER => Some(BindType::Transceiver),
            _ => None,
        }
    }

    /// Whether the session may submit (transmitter or transceiver).
    pub fn can_transmit(self) -> bool {
        matches!(self, BindType::Transmitter | BindType::Transceiver)
    }

    /// Whether the MC may deliver on the session (receiver or transceiver).
    pub fn can_receive(self) -> bool {
        matches!(self, BindType::Receiver | BindType::Transceiver)
    }

    /// Short lower-case name (`"tx"`, `"rx"`, `"trx"`), for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BindType::Transmitter => "tx",
            BindType::Receiver => "rx",
            BindType::Transceiver => "trx",
        }
    }
}

impl fmt::Display for BindType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message id issued by the simulator: a `u64` written as 16 upper-case hex digits.
///
/// Fixed width keeps every `submit_sm_resp` the same length; the hex form is what
/// `submit_sm_resp`, the receipt's `id:` field and `receipted_message_id` all carry,
/// so ids match across them without the hex/decimal confusion real MCs cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

// === impl MessageId ===

impl MessageId {
    /// Length of the hex form.
    pub const LEN: usize = 16;

    /// The id as 16 upper-case hex ASCII digits.
    pub fn to_hex(self) -> [u8; Self::LEN] {
        const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; Self::LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 4 * (Self::LEN - 1 - i);
            let nibble = (self.0 >> shift) & 0xF;
            // ok: a nibble is below 16, the table's length.
            *slot = DIGITS.get(nibble as usize).copied().unwrap_or(b'0');
        }
        out
    }

    /// Parses 1 to 16 hex digits, either case; `None` for anything else.
    pub fn parse(text: &[u8]) -> Option<MessageId> {
        if text.is_empty() || text.len() > Self::LEN || !text.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let s = std::str::from_utf8(text).ok()?;
        u64::from_str_radix(s, 16).ok().map(MessageId)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_hex_round_trip() {
        let id = MessageId(0x0A1B_2C3D_0000_00FF);
        assert_eq!(&id.to_hex(), b"0A1B2C3D000000FF");
        assert_eq!(id.to_string(), "0A1B2C3D000000FF");
        assert_eq!(MessageId::parse(b"0A1B2C3D000000FF"), Some(id));
        assert_eq!(MessageId::parse(b"0a1b2c3d000000ff"), Some(id));
        assert_eq!(MessageId::parse(b"ff"), Some(MessageId(255)));
        assert_eq!(MessageId::parse(b""), None);
        assert_eq!(MessageId::parse(b"0A1B2C3D000000FF0"), None);
        assert_eq!(MessageId::parse(b"+1"), None);
        assert_eq!(MessageId::parse(b"xyz"), None);
    }

    #[test]
    fn bind_type_maps_to_command_ids() {
        for t in [
            BindType::Transmitter,
            BindType::Receiver,
            BindType::Transceiver,
        ] {
            assert_eq!(BindType::from_command_id(t.command_id()), Some(t));
        }
        assert_eq!(BindType::from_command_id(CommandId::SUBMIT_SM), None);
        assert!(BindType::Transceiver.can_transmit() && BindType::Transceiver.can_receive());
        assert!(!BindType::Receiver.can_transmit());
        assert!(!BindType::Transmitter.can_receive());
    }
}
