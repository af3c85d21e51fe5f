//! Decode + UDH parse + reassembly + normalization over arbitrary parts.
//!
//! The input is read as a header byte (options) followed by parts: each part is a control
//! byte (sender, SAR, time step), esm_class, data_coding, a length and that many bytes.
//! Nothing may panic; every token pushed must come back exactly once; the reassembler
//! must stay within its bounds; the offset map must stay inside the decoded text and
//! normalizing twice must give what normalizing once gave; the fast paths must give what
//! the reference normalizer gives; decoding and normalizing in one call (the UCS-2
//! code-unit path) must give what the two steps give.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smppguard_text::{
    DecodeOptions, DecodedPart, DefaultAlphabet, MatchText, NormalizeOptions, Normalizer, PartInput, PartKey,
    PushOutcome, Reassembler, ReassemblyLimits, SarInfo, decode_part,
};

const LIMITS: ReassemblyLimits = ReassemblyLimits {
    timeout_ms: 10_000,
    max_sets_per_account: 4,
    max_bytes_per_account: 4096,
    max_sets: 6,
    max_bytes: 8192,
};

fn key(n: u8) -> PartKey {
    PartKey {
        account: format!("acct{}", n % 3),
        source_addr: "447700900001".to_owned(),
        destination_addr: format!("44770090000{}", n % 2),
    }
}

fn check_text(normalizer: &Normalizer, text: &str, scratch: &mut MatchText) {
    normalizer.normalize_into(text, scratch);
    let len = scratch.len();
    for (i, _) in scratch.as_str().char_indices().chain([(len, ' ')]) {
        let r = scratch.original_range(i..len);
        assert!(r.start <= r.end && r.end <= text.len());
        assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
    }
    for e in scratch.urls().iter().chain(scratch.phones()) {
        assert!(e.range.end <= text.len());
    }
    // The fast paths give what the reference (every step over every character) gives.
    let mut reference = MatchText::default();
    normalizer.normalize_reference_into(text, &mut reference);
    assert_eq!(scratch.as_str(), reference.as_str(), "fast path and reference differ on {text:?}");
    assert_eq!(scratch.urls(), reference.urls());
    assert_eq!(scratch.phones(), reference.phones());
    let once = scratch.as_str().to_owned();
    let twice = normalizer.normalize(&once);
    assert_eq!(twice.as_str(), once, "normalization must be idempotent");
}

fuzz_target!(|data: &[u8]| {
    let Some((&header, mut rest)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions {
        default_alphabet: match header & 0x03 {
            0 => DefaultAlphabet::Gsm7,
            1 => DefaultAlphabet::Gsm7Packed,
            2 => DefaultAlphabet::Latin1,
            _ => DefaultAlphabet::Ia5,
        },
    };
    let normalizer = Normalizer::new(NormalizeOptions {
        leet: header & 0x04 != 0,
        ..NormalizeOptions::default()
    });
    let mut reassembler: Reassembler<u32> = Reassembler::new(LIMITS);
    let mut returned = vec![0u8; 0];
    let mut scratch = MatchText::default();
    let mut fused_decoded = DecodedPart::default();
    let mut fused = MatchText::default();
    let mut now = 0u64;
    let mut token = 0u32;

    while let [control, esm_class, data_coding, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (body, after) = tail.split_at(len);
        rest = after;
        let sar = (control & 0x08 != 0).then(|| SarInfo {
            reference: u16::from(control >> 4),
            total: (control & 0x03) + 1,
            seqnum: (esm_class & 0x03) + 1,
        });
        let payload = control & 0x04 != 0;
        let input = PartInput {
            esm_class: *esm_class,
            data_coding: *data_coding,
            short_message: if payload { &[] } else { body },
            message_payload: payload.then_some(body),
            sar,
        };
        let decoded = decode_part(&input, &opts);
        assert!(decoded.user_data.end <= input.body().len());
        check_text(&normalizer, &decoded.text, &mut scratch);
        normalizer.decode_normalize_into(&input, &opts, &mut fused_decoded, &mut fused);
        assert_eq!(fused_decoded, decoded, "one call decodes as decode_part does");
        assert_eq!(fused.as_str(), scratch.as_str(), "one call normalizes as two do");
        assert_eq!(fused.urls(), scratch.urls());
        assert_eq!(fused.phones(), scratch.phones());

        now += u64::from(control >> 5) * 1_000;
        for expired in reassembler.poll_expired(now) {
            check_text(&normalizer, &expired.text, &mut scratch);
            for p in expired.parts {
                returned[p.token as usize] += 1;
            }
        }
        returned.push(0);
        match reassembler.push(&key(*control), &input, &decoded, token, now) {
            PushOutcome::Held => {}
            PushOutcome::Complete(m) => {
                check_text(&normalizer, &m.text, &mut scratch);
                for p in m.parts {
                    assert!(p.text_range.end <= m.text.len());
                    returned[p.token as usize] += 1;
                }
            }
            PushOutcome::Refused { token, .. } | PushOutcome::Rejected { token, .. } => {
                returned[token as usize] += 1;
            }
        }
        token += 1;
        assert!(reassembler.open_sets() <= LIMITS.max_sets);
        assert!(reassembler.held_bytes() <= LIMITS.max_bytes);
    }
    for e in reassembler.drain_all() {
        for p in e.parts {
            returned[p.token as usize] += 1;
        }
    }
    assert!(
        returned.iter().all(|&n| n == 1),
        "every token comes back exactly once"
    );
    assert_eq!(reassembler.held_bytes(), 0);
});
