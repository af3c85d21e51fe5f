//! Delivery receipt text (SMPP 3.4 Appendix B) and SMPP time strings.
//!
//! The receipt a simulator sends carries the outcome twice: in the `short_message`
//! text `id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…` and in the
//! `receipted_message_id` / `message_state` TLVs. Clients differ in which they read,
//! so both are produced, and [`Receipt::parse`] reads the text form back.

use std::time::{SystemTime, UNIX_EPOCH};

use smppguard_codec::MessageState;

/// Bytes of the original message quoted in the `text:` field.
pub const RECEIPT_TEXT_LEN: usize = 20;

/// The fields of a delivery receipt's text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Receipt {
    /// `id:` the MC message id of the message the receipt is about.
    pub id: String,
    /// `sub:` number of messages originally submitted (the format pads it to 3 digits).
    pub sub: u32,
    /// `dlvrd:` number of messages delivered.
    pub dlvrd: u32,
    /// `submit date:` `YYMMDDhhmm`.
    pub submit_date: String,
    /// `done date:` `YYMMDDhhmm`.
    pub done_date: String,
    /// `stat:` final state, e.g. `DELIVRD`, `UNDELIV`, `EXPIRED`, `REJECTD`.
    pub stat: String,
    /// `err:` network error code, three characters by convention.
    pub err: String,
    /// `text:` the first bytes of the original message.
    pub text: Vec<u8>,
}

/// The keys of the receipt format, in the order they are written.
const KEYS: [&[u8]; 7] = [
    b"id:",
    b"sub:",
    b"dlvrd:",
    b"submit date:",
    b"done date:",
    b"stat:",
    b"err:",
];
const TEXT_KEY: &[u8] = b"text:";

// === impl Receipt ===

impl Receipt {
    /// The receipt text: `id:<id> sub:001 dlvrd:001 submit date:<d> done date:<d>
    /// stat:<stat> err:<err> text:<text>`.
    pub fn to_text(&self) -> Vec<u8> {
        let mut out = format!(
            "id:{} sub:{:03} dlvrd:{:03} submit date:{} done date:{} stat:{} err:{} text:",
            self.id, self.sub, self.dlvrd, self.submit_date, self.done_date, self.stat, self.err
        )
        .into_bytes();
        out.extend_from_slice(&self.text);
        out
    }

    /// Reads a receipt text; keys are matched case-insensitively, unknown tokens are
    /// skipped, and everything after `text:` is the quoted text. `None` unless both
    /// `id:` and `stat:` are present.
    pub fn parse(text: &[u8]) -> Option<Receipt> {
        let mut receipt = Receipt::default();
        let (mut seen_id, mut seen_stat) = (false, false);
        let mut rest = text;
        loop {
            rest = trim_start(rest);
            if rest.is_empty() {
                break;
            }
            if let Some(value) = strip_key(rest, TEXT_KEY) {
                receipt.text = value.to_vec();
                break;
            }
            let found = KEYS
                .iter()
                .enumerate()
                .find_map(|(i, key)| strip_key(rest, key).map(|v| (i, v)));
            let Some((key, after)) = found else {
                rest = skip_token(rest);
                continue;
            };
            let (value, next) = split_token(after);
            let value_str = String::from_utf8_lossy(value).into_owned();
            match key {
                0 => {
                    receipt.id = value_str;
                    seen_id = true;
                }
                1 => receipt.sub = value_str.parse().unwrap_or(0),
                2 => receipt.dlvrd = value_str.parse().unwrap_or(0),
                3 => receipt.submit_date = value_str,
                4 => receipt.done_date = value_str,
                5 => {
                    receipt.stat = value_str;
                    seen_stat = true;
                }
                _ => receipt.err = value_str,
            }
            rest = next;
        }
        (seen_id && seen_stat).then_some(receipt)
    }

    /// The `message_state` the `stat:` value stands for; `None` for an unknown stat.
    pub fn message_state(&self) -> Option<MessageState> {
        state_for_stat(&self.stat)
    }
}

/// The `stat:` word for a final state (`DELIVRD`, `EXPIRED`, `DELETED`, `UNDELIV`,
/// `ACCEPTD`, `UNKNOWN`, `REJECTD`, and `ENROUTE` for the intermediate state).
pub fn stat_for_state(state: MessageState) -> &'static str {
    match state {
        MessageState::ENROUTE => "ENROUTE",
        MessageState::DELIVERED => "DELIVRD",
        MessageState::EXPIRED => "EXPIRED",
        MessageState::DELETED => "DELETED",
        MessageState::UNDELIVERABLE => "UNDELIV",
        MessageState::ACCEPTED => "ACCEPTD",
        MessageState::REJECTED => "REJECTD",
        MessageState::SCHEDULED => "SCHEDLD",
        MessageState::SKIPPED => "SKIPPED",
        _ => "UNKNOWN",
    }
}

/// The state a `stat:` word stands for, ignoring case.
pub fn state_for_stat(stat: &str) -> Option<MessageState> {
    let state = match stat.to_ascii_uppercase().as_str() {
        "ENROUTE" => MessageState::ENROUTE,
        "DELIVRD" => MessageState::DELIVERED,
        "EXPIRED" => MessageState::EXPIRED,
        "DELETED" => MessageState::DELETED,
        "UNDELIV" => MessageState::UNDELIVERABLE,
        "ACCEPTD" => MessageState::ACCEPTED,
        "UNKNOWN" => MessageState::UNKNOWN,
        "REJECTD" => MessageState::REJECTED,
        "SCHEDLD" => MessageState::SCHEDULED,
        "SKIPPED" => MessageState::SKIPPED,
        _ => return None,
    };
    Some(state)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    s.get(n..).unwrap_or_default()
}

fn strip_key<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let head = s.get(..key.len())?;
    head.eq_ignore_ascii_case(key).then(|| s.get(key.len()..))?
}

/// Splits off the value up to the next whitespace.
fn split_token(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|b| !b.is_ascii_whitespace()).count();
    s.split_at_checked(n).unwrap_or((s, &[]))
}

fn skip_token(s: &[u8]) -> &[u8] {
    split_token(s).1
}

/// Civil UTC date and time of `at`, clamped to the range `time` can represent.
fn civil(at: SystemTime) -> time::OffsetDateTime {
    let secs = match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `YYMMDDhhmm` in UTC, the date format of receipt texts.
pub fn receipt_date(at: SystemTime) -> String {
    let t = civil(at);
    format!(
        "{:02}{:02}{:02}{:02}{:02}",
        t.year().rem_euclid(100),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// An absolute SMPP time `YYMMDDhhmmss000+` in UTC (SMPP 3.4 §7.1.1), as used for
/// `final_date`.
pub fn smpp_time(at: SystemTime) -> String {
    let t = civil(at);
    format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}000+",
        t.year().rem_euclid(100),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The first [`RECEIPT_TEXT_LEN`] bytes of a message as quoted in `text:`: printable
/// ASCII kept, every other byte shown as `.` so binary or UCS-2 bodies cannot break
/// the text format.
pub fn quote_text(short_message: &[u8]) -> Vec<u8> {
    short_message
        .iter()
        .take(RECEIPT_TEXT_LEN)
        .map(|&b| if (0x20..0x7F).contains(&b) { b } else { b'.' })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn sample() -> Receipt {
        Receipt {
            id: "0A1B2C3D".into(),
            sub: 1,
            dlvrd: 1,
            submit_date: "2401011200".into(),
            done_date: "2401011201".into(),
            stat: "DELIVRD".into(),
            err: "000".into(),
            text: b"Hello".to_vec(),
        }
    }

    #[test]
    fn text_matches_the_reference_receipt() {
        // The short_message of the reference deliver_sm receipt vector.
        let expected = hex::decode(
            "69643a3041314232433344207375623a30303120646c7672643a303031207375626d69742064\
             6174653a3234303130313132303020646f6e6520646174653a3234303130313132303120737461\
             743a44454c49565244206572723a30303020746578743a48656c6c6f",
        )
        .unwrap();
        assert_eq!(sample().to_text(), expected);
        assert_eq!(Receipt::parse(&expected), Some(sample()));
        assert_eq!(sample().message_state(), Some(MessageState::DELIVERED));
    }

    #[test]
    fn parse_is_lenient_about_case_order_and_extra_tokens() {
        let r = Receipt::parse(b"ID:77 Sub:1 DLVRD:0 stat:undeliv vendor:x err:0B1 Text:a b c")
            .unwrap();
        assert_eq!(r.id, "77");
        assert_eq!(r.dlvrd, 0);
        assert_eq!(r.stat, "undeliv");
        assert_eq!(r.message_state(), Some(MessageState::UNDELIVERABLE));
        assert_eq!(r.err, "0B1");
        assert_eq!(r.text, b"a b c");
        assert_eq!(Receipt::parse(b"hello world"), None);
        assert_eq!(Receipt::parse(b"id:1 err:0"), None);
        assert_eq!(Receipt::parse(b""), None);
    }

    #[test]
    fn dates_are_utc_civil_time() {
        // 2024-01-01T12:01:05Z
        let at = UNIX_EPOCH + Duration::from_secs(1_704_110_465);
        assert_eq!(receipt_date(at), "2401011201");
        assert_eq!(smpp_time(at), "240101120105000+");
        assert!(smppguard_codec::Timestamp::new(smpp_time(at)).is_ok());
    }

    #[test]
    fn stats_and_states_agree() {
        for state in MessageState::ALL {
            let stat = stat_for_state(*state);
            assert_eq!(state_for_stat(stat), Some(*state), "{stat}");
        }
        assert_eq!(state_for_stat("nope"), None);
    }

    #[test]
    fn quoted_text_is_printable_and_bounded() {
        assert_eq!(quote_text(b"Hi\x00\x1b\xff"), b"Hi...");
        assert_eq!(quote_text(&[b'a'; 50]).len(), RECEIPT_TEXT_LEN);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Receipt::parse(&bytes);
        }

        #[test]
        fn format_then_parse_round_trips(
            id in "[0-9A-F]{1,16}",
            sub in 0u32..1000,
            dlvrd in 0u32..1000,
            stat in "[A-Z]{7}",
            err in "[0-9]{3}",
            text in proptest::collection::vec(0x20u8..0x7F, 0..20),
        ) {
            let r = Receipt {
                id, sub, dlvrd,
                submit_date: "2401011200".into(),
                done_date: "2401011201".into(),
                stat, err, text,
            };
            prop_assert_eq!(Receipt::parse(&r.to_text()), Some(r));
        }
    }
}
