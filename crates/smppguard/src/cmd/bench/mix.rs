//! What the load generator sends: a deck of messages, synthetic or read from a
//! `label<TAB>text` corpus file, each ready to send or built per send when it is a
//! multi-part message (each sender gets its own concatenation reference, so parts of
//! two messages in flight never mix).

use std::path::Path;

use anyhow::{Context, Result, bail};
use smppguard_sim::esme::Request;
use smppguard_sim::message::{Concat, Sms};

/// Kinds of message in the synthetic mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// One GSM 7-bit `submit_sm`.
    Gsm7,
    /// One UCS-2 `submit_sm`.
    Ucs2,
    /// A UCS-2 text in 2 or 3 parts tied by a 16-bit UDH reference.
    Concat,
    /// One `submit_sm` with the text in the `message_payload` TLV.
    Payload,
}

impl Kind {
    fn parse(s: &str) -> Result<Kind> {
        Ok(match s {
            "gsm7" => Kind::Gsm7,
            "ucs2" => Kind::Ucs2,
            "concat" => Kind::Concat,
            "payload" => Kind::Payload,
            _ => bail!("unknown message kind {s:?} (gsm7, ucs2, concat, payload)"),
        })
    }
}

/// Weights of each kind, from `gsm7=50,ucs2=25,concat=15,payload=10`.
pub(crate) fn parse_mix(s: &str) -> Result<Vec<(Kind, u32)>> {
    let mut mix = Vec::new();
    for item in s.split(',').filter(|i| !i.is_empty()) {
        let (kind, weight) = item
            .split_once('=')
            .context("expected kind=weight pairs separated by commas")?;
        let weight: u32 = weight.trim().parse().context("weight is not a number")?;
        mix.push((Kind::parse(kind.trim())?, weight));
    }
    if mix.iter().all(|(_, w)| *w == 0) {
        bail!("the mix has no message kind with a weight above 0");
    }
    Ok(mix)
}

/// Synthetic texts, written for load generation.
const GSM7_TEXTS: &[&str] = &[
    "Your verification code is 482913. It expires in 5 minutes.",
    "Parcel 7731 is out for delivery today between 10:00 and 14:00.",
    "Reminder: your appointment is tomorrow at 09:30. Reply C to cancel.",
    "Thanks for topping up. Your balance is now 25.00 EUR.",
];
const UCS2_TEXTS: &[&str] = &[
    "您的驗證碼為 482913，五分鐘內有效，請勿告訴他人。",
    "您的包裹已送達門市，請於三日內憑取件碼 5521 領取。",
    "本月帳單已出，應繳金額 1,280 元，繳款期限為 15 日。",
    "明天下午三點開會，地點在二樓會議室，請準時出席。",
];
const LONG_TEXTS: &[&str] = &[
    "親愛的用戶您好，您預約的維修服務已排定於本週六上午十點到府，技師到達前會先電話聯繫。若需要更改時間，請於前一天下午五點前回覆本簡訊或撥打客服專線，謝謝您的配合與耐心等候。",
    "Dear customer, your monthly statement is ready. The amount due is 42.10 EUR and will be collected by direct debit on the 12th. No action is needed on your part. To see the details, log in to your account with the app you already use. Thank you for being with us.",
];

/// One entry of the deck.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A single PDU, shared by every sender.
    Ready(Request),
    /// A multi-part text, split per send with the sender's reference.
    Multi {
        /// The message without concatenation.
        sms: Sms,
        /// Parts to split into; `None` splits as a gateway would.
        parts: Option<usize>,
    },
}

impl Entry {
    /// The PDUs to send for this entry, multi-part ones tied by `reference`.
    pub(crate) fn requests(&self, reference: u16) -> Result<Vec<Request>> {
        match self {
            Entry::Ready(r) => Ok(vec![r.clone()]),
            Entry::Multi { sms, parts } => {
                let concat = Concat::Udh16 { reference };
                let pdus = match parts {
                    Some(n) => sms.split(concat, *n)?,
                    None => sms.segments(concat)?,
                };
                Ok(pdus.into_iter().map(Request::from).collect())
            }
        }
    }
}

/// The synthetic deck: 100 entries drawn round-robin from the texts of each kind in
/// proportion to the weights.
pub(crate) fn synthetic(mix: &[(Kind, u32)], registered_delivery: u8) -> Result<Vec<Entry>> {
    let total: u64 = mix.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut deck = Vec::new();
    for (kind, weight) in mix {
        let n = (u64::from(*weight) * 100).div_ceil(total.max(1));
        for i in 0..n {
            let i = usize::try_from(i).unwrap_or(0);
            deck.push(entry(*kind, i, registered_delivery)?);
        }
    }
    // Interleave kinds so that any window of the deck has the mix.
    let len = deck.len();
    let mut out = Vec::with_capacity(len);
    let stride = 7usize;
    let mut seen = vec![false; len];
    let mut at = 0usize;
    for _ in 0..len {
        while seen.get(at).copied().unwrap_or(true) {
            at = (at + 1) % len;
        }
        if let (Some(s), Some(e)) = (seen.get_mut(at), deck.get(at)) {
            *s = true;
            out.push(e.clone());
        }
        at = (at + stride) % len;
    }
    Ok(out)
}

fn pick<'a>(texts: &[&'a str], i: usize) -> &'a str {
    texts
        .get(i % texts.len().max(1))
        .copied()
        .unwrap_or("hello")
}

fn entry(kind: Kind, i: usize, rd: u8) -> Result<Entry> {
    Ok(match kind {
        Kind::Gsm7 => Entry::Ready(
            Sms::gsm7(pick(GSM7_TEXTS, i))?
                .registered_delivery(rd)
                .submit_sm()?
                .into(),
        ),
        Kind::Ucs2 => Entry::Ready(
            Sms::ucs2(pick(UCS2_TEXTS, i))
                .registered_delivery(rd)
                .submit_sm()?
                .into(),
        ),
        Kind::Concat => {
            let text = pick(LONG_TEXTS, i);
            let sms = Sms::ucs2(text).registered_delivery(rd);
            // 2 parts when the text fits two UCS-2 parts of 67 characters, else 3.
            let parts = if sms.char_count() <= 134 { 2 } else { 3 };
            Entry::Multi {
                sms,
                parts: Some(parts),
            }
        }
        Kind::Payload => Entry::Ready(
            Sms::gsm7(pick(LONG_TEXTS, i + 1))
                .or_else(|_| Sms::gsm7(pick(GSM7_TEXTS, i)))?
                .registered_delivery(rd)
                .submit_sm_payload()?
                .into(),
        ),
    })
}

/// The deck of a `label<TAB>text` corpus: each text in GSM 7-bit when it can be, else
/// UCS-2, split as a gateway would when it is too long for one message. Lines without
/// a tab are taken whole as text; empty lines are skipped.
pub(crate) fn corpus(path: &Path, registered_delivery: u8) -> Result<Vec<Entry>> {
    let data = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the corpus {}", path.display()))?;
    let mut deck = Vec::new();
    for line in data.lines() {
        let text = line.split_once('\t').map_or(line, |(_, t)| t).trim();
        if text.is_empty() {
            continue;
        }
        let sms = match Sms::gsm7(text) {
            Ok(s) => s,
            Err(_) => Sms::ucs2(text),
        }
        .registered_delivery(registered_delivery);
        if sms.user_data().len() <= sms.alphabet().single_capacity() {
            deck.push(Entry::Ready(sms.submit_sm()?.into()));
        } else {
            deck.push(Entry::Multi { sms, parts: None });
        }
    }
    if deck.is_empty() {
        bail!("the corpus {} holds no message", path.display());
    }
    Ok(deck)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_is_parsed_and_refused_when_empty() {
        let mix = parse_mix("gsm7=3,concat=1").unwrap();
        assert_eq!(mix, [(Kind::Gsm7, 3), (Kind::Concat, 1)]);
        assert!(parse_mix("gsm7=0").is_err());
        assert!(parse_mix("mms=1").is_err());
        assert!(parse_mix("gsm7").is_err());
    }

    #[test]
    fn the_synthetic_deck_follows_the_weights() {
        let deck = synthetic(&parse_mix("gsm7=3,concat=1").unwrap(), 0).unwrap();
        let multi = deck
            .iter()
            .filter(|e| matches!(e, Entry::Multi { .. }))
            .count();
        assert_eq!(deck.len(), 100);
        assert_eq!(multi, 25);
        for e in &deck {
            let n = e.requests(7).unwrap().len();
            assert!(matches!(e, Entry::Ready(_)) == (n == 1), "{n} parts");
            assert!(n <= 3);
        }
    }

    #[test]
    fn corpus_lines_become_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.tsv");
        let long = "x".repeat(300);
        std::fs::write(&path, format!("ham\thello\n\nspam\t你好\n{long}\n")).unwrap();
        let deck = corpus(&path, 1).unwrap();
        assert_eq!(deck.len(), 3);
        assert_eq!(deck[2].requests(1).unwrap().len(), 2);
        std::fs::write(&path, "\n\n").unwrap();
        assert!(corpus(&path, 0).is_err());
    }
}
