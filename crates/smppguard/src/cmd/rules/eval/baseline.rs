//! The naive baseline: the same pack as a gateway that matches regexes on raw bytes.
//!
//! Each message is encoded the way an ESME sends it (GSM 7-bit when every character is
//! in the GSM alphabet, else UCS-2; split into concatenated parts of 153 or 67
//! characters when it does not fit one), and the pack's patterns are matched against
//! each part's `short_message` bytes read as UTF-8 (lossy), one part at a time. The pack
//! is loaded with every normalization step off except case folding (the `/i` such
//! regexes carry) and URL and phone extraction (regexes over the same raw text). The
//! message gets the strictest action of its parts.

use std::path::Path;

use smppguard_filter::{
    ActionKind, Engine, Envelope, NormalizeOptions, RulePack, Ruleset, Scratch,
};
use smppguard_sim::message::{Concat, Sms};

use super::tally::rank;

/// What a raw-byte matcher is allowed of the text layer.
pub(super) fn raw_options() -> NormalizeOptions {
    NormalizeOptions {
        case_fold: true,
        extract_urls: true,
        extract_phones: true,
        ..NormalizeOptions::none()
    }
}

/// The encoded message: GSM 7-bit if it fits the alphabet, else UCS-2.
pub(super) fn encode(text: &str) -> Sms {
    Sms::gsm7(text).unwrap_or_else(|_| Sms::ucs2(text))
}

/// The `short_message` of each part an ESME would submit for `text`.
pub(super) fn parts(text: &str) -> Vec<Vec<u8>> {
    let sms = encode(text);
    match sms.segments(Concat::Udh8 { reference: 0x5a }) {
        Ok(parts) => parts
            .into_iter()
            .map(|p| p.short_message.as_ref().to_vec())
            .collect(),
        // Longer than 255 parts: a sender would use message_payload, one body.
        Err(_) => vec![sms.user_data().to_vec()],
    }
}

/// The pack as a raw-byte matcher runs it.
pub(super) struct Baseline {
    engine: Engine,
    scratch: Scratch,
}

impl Baseline {
    pub(super) fn load(path: &Path) -> Result<Self, smppguard_filter::Error> {
        let pack = RulePack::load_with_normalize(path, raw_options())?;
        Ok(Self {
            engine: Engine::new(Ruleset::compile(pack)?),
            scratch: Scratch::new(),
        })
    }

    /// The strictest action over the parts of `text`, and the rule that decided it.
    pub(super) fn judge(&mut self, env: &Envelope<'_>, text: &str) -> (ActionKind, Option<String>) {
        let mut best = (ActionKind::Allow, None);
        for part in parts(text) {
            let seen = String::from_utf8_lossy(&part);
            let v = self.engine.evaluate(env, &seen, &mut self.scratch);
            let kind = v.action.kind();
            if rank(kind) > rank(best.0) {
                best = (kind, v.decisive().map(|m| m.id.to_string()));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_an_esme_would() {
        // GSM 7-bit, one part, unpacked septets: ASCII letters keep their bytes.
        assert_eq!(parts("Call now"), vec![b"Call now".to_vec()]);
        // `@` is septet 0x00 in GSM 7-bit.
        assert_eq!(parts("a@b"), vec![b"a\x00b".to_vec()]);
        // Chinese goes out as UCS-2 (UTF-16BE), which no UTF-8 regex can match.
        assert_eq!(parts("贷款"), vec![vec![0x8d, 0x37, 0x6b, 0x3e]]);
        // 161 GSM characters: two parts of at most 153 after a 6-octet UDH.
        let long = "x".repeat(161);
        let p = parts(&long);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].len(), 6 + 153);
        assert_eq!(&p[0][..6], &[0x05, 0x00, 0x03, 0x5a, 0x02, 0x01]);
        assert_eq!(p[1].len(), 6 + 8);
        // 71 UCS-2 characters: parts of 67 characters (134 octets).
        let p = parts(&"字".repeat(71));
        assert_eq!(
            p.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![6 + 134, 6 + 8]
        );
    }
}
