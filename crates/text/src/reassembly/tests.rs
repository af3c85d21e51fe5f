use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::decode::{DecodeOptions, SarInfo, decode_part};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn key(account: &str) -> PartKey {
    PartKey {
        account: account.to_owned(),
        source_addr: "447700900001".to_owned(),
        destination_addr: "447700900002".to_owned(),
    }
}

/// One part as the proxy would see it: esm_class, data_coding, short_message,
/// message_payload, SAR.
#[derive(Clone, Debug)]
struct Pdu {
    esm_class: u8,
    data_coding: u8,
    sm: Vec<u8>,
    payload: Option<Vec<u8>>,
    sar: Option<SarInfo>,
}

impl Pdu {
    fn udh(data_coding: u8, sm: &str) -> Self {
        Pdu {
            esm_class: 0x40,
            data_coding,
            sm: h(sm),
            payload: None,
            sar: None,
        }
    }

    fn sar(data_coding: u8, sm: &str, reference: u16, total: u8, seqnum: u8) -> Self {
        Pdu {
            esm_class: 0,
            data_coding,
            sm: h(sm),
            payload: None,
            sar: Some(SarInfo {
                reference,
                total,
                seqnum,
            }),
        }
    }

    fn input(&self) -> PartInput<'_> {
        PartInput {
            esm_class: self.esm_class,
            data_coding: self.data_coding,
            short_message: &self.sm,
            message_payload: self.payload.as_deref(),
            sar: self.sar,
        }
    }
}

fn push<T>(r: &mut Reassembler<T>, k: &PartKey, pdu: &Pdu, token: T, now: u64) -> PushOutcome<T> {
    let input = pdu.input();
    let decoded = decode_part(&input, &DecodeOptions::default());
    r.push(k, &input, &decoded, token, now)
}

fn complete<T: std::fmt::Debug>(o: PushOutcome<T>) -> CompleteMessage<T> {
    match o {
        PushOutcome::Complete(m) => m,
        other => panic!("expected a complete message, got {other:?}"),
    }
}

fn tokens<T: Copy>(parts: &[ReturnedPart<T>]) -> Vec<T> {
    parts.iter().map(|p| p.token).collect()
}

/// The three parts of a UCS-2 Chinese message, 提|額 split across parts 1 and 2 and an
/// emoji at the end of part 3, as user data (UTF-16BE).
const UCS2_PARTS: [&str; 3] = [
    "606d559c60a873725f974fe17528536163d0",
    "984d8cc7683cff0c8acb9ede64ca90237d508fa67406",
    "8cb86b3ed83dde00",
];
const UCS2_TEXT: &str = "恭喜您獲得信用卡提額資格，請點擊連結辦理貸款😀";

fn check_ucs2_message(parts: [Pdu; 3]) {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("esme01");
    // Out of order: 3, 1, 2.
    assert_eq!(push(&mut r, &k, &parts[2], 3, 0), PushOutcome::Held);
    assert_eq!(push(&mut r, &k, &parts[0], 1, 5), PushOutcome::Held);
    assert_eq!(r.open_sets(), 1);
    let m = complete(push(&mut r, &k, &parts[1], 2, 9));
    assert_eq!(m.text, UCS2_TEXT);
    assert_eq!(tokens(&m.parts), [1, 2, 3]);
    assert_eq!(
        &m.text[m.parts[1].text_range.clone()],
        "額資格，請點擊連結辦理"
    );
    assert!(!m.mixed_codings && !m.mixed_sources && !m.binary);
    assert_eq!(r.open_sets(), 0);
    assert_eq!(r.held_bytes(), 0);
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn ucs2_chinese_three_parts_with_8bit_udh() {
    check_ucs2_message([
        Pdu::udh(8, &format!("050003a70301{}", UCS2_PARTS[0])),
        Pdu::udh(8, &format!("050003a70302{}", UCS2_PARTS[1])),
        Pdu::udh(8, &format!("050003a70303{}", UCS2_PARTS[2])),
    ]);
}

#[test]
fn ucs2_chinese_three_parts_with_16bit_udh() {
    check_ucs2_message([
        Pdu::udh(8, &format!("0608041a2b0301{}", UCS2_PARTS[0])),
        Pdu::udh(8, &format!("0608041a2b0302{}", UCS2_PARTS[1])),
        Pdu::udh(8, &format!("0608041a2b0303{}", UCS2_PARTS[2])),
    ]);
}

#[test]
fn ucs2_chinese_three_parts_with_sar() {
    check_ucs2_message([
        Pdu::sar(8, UCS2_PARTS[0], 0x0101, 3, 1),
        Pdu::sar(8, UCS2_PARTS[1], 0x0101, 3, 2),
        Pdu::sar(8, UCS2_PARTS[2], 0x0101, 3, 3),
    ]);
}

#[test]
fn ucs2_chinese_three_parts_in_message_payload() {
    let payload = |i: usize| Pdu {
        esm_class: 0,
        data_coding: 8,
        sm: vec![],
        payload: Some(h(UCS2_PARTS[i])),
        sar: Some(SarInfo {
            reference: 77,
            total: 3,
            seqnum: i as u8 + 1,
        }),
    };
    check_ucs2_message([payload(0), payload(1), payload(2)]);
}

#[test]
fn surrogate_pair_split_across_parts_decodes_after_joining() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    assert_eq!(
        push(&mut r, &k, &Pdu::udh(8, "050003010201 0041 d83d"), 'a', 0),
        PushOutcome::Held
    );
    let m = complete(push(
        &mut r,
        &k,
        &Pdu::udh(8, "050003010202 de00 0042"),
        'b',
        0,
    ));
    assert_eq!(m.text, "A😀B");
    assert!(m.warnings.is_empty());
}

#[test]
fn gsm7_escape_split_across_parts_decodes_after_joining() {
    // 'Price: 5' then ESC | 0x65 (€) across the boundary.
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    let p1 = Pdu::udh(0, "0500032a0201 50726963653a20351b");
    let p2 = Pdu::udh(0, "0500032a0202 65 20 1b3c 6f6b 1b3e");
    // Each part alone shows the problem a per-part decoder has.
    assert_eq!(
        decode_part(&p1.input(), &DecodeOptions::default()).text,
        "Price: 5\u{FFFD}"
    );
    assert_eq!(push(&mut r, &k, &p2, 2, 0), PushOutcome::Held);
    let m = complete(push(&mut r, &k, &p1, 1, 0));
    assert_eq!(m.text, "Price: 5€ [ok]");
    assert!(m.warnings.is_empty());
    // The € belongs to the part where its escape started.
    assert_eq!(&m.text[m.parts[0].text_range.clone()], "Price: 5€");
    assert_eq!(&m.text[m.parts[1].text_range.clone()], " [ok]");
}

#[test]
fn keyword_split_across_parts_is_whole_after_joining() {
    // Vectors seq 8 and 9: 'Win a FR' | 'EE prize'.
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    push(
        &mut r,
        &k,
        &Pdu::udh(0, "0500032a020157696e2061204652"),
        8,
        0,
    );
    let m = complete(push(
        &mut r,
        &k,
        &Pdu::udh(0, "0500032a02024545207072697a65"),
        9,
        0,
    ));
    assert_eq!(m.text, "Win a FREE prize");
}

#[test]
fn mixed_codings_and_mechanisms_are_joined_and_flagged() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    // Part 1 GSM 7-bit by UDH (8-bit ref 0x2A), part 2 UCS-2 by SAR (ref 0x002A).
    push(&mut r, &k, &Pdu::udh(0, "0500032a02014652"), 1, 0);
    let m = complete(push(&mut r, &k, &Pdu::sar(8, "00450045", 0x2A, 2, 2), 2, 0));
    assert_eq!(m.text, "FREE");
    assert!(m.mixed_codings);
    assert!(m.mixed_sources);
}

#[test]
fn duplicates_are_rejected_and_the_set_is_unchanged() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    let p1 = Pdu::udh(0, "05000301020141");
    assert_eq!(push(&mut r, &k, &p1, 1, 0), PushOutcome::Held);
    assert_eq!(
        push(&mut r, &k, &p1, 2, 0),
        PushOutcome::Rejected {
            token: 2,
            reason: RejectReason::Duplicate { seqnum: 1 }
        }
    );
    assert_eq!(
        push(&mut r, &k, &Pdu::udh(0, "05000301020158"), 3, 0),
        PushOutcome::Rejected {
            token: 3,
            reason: RejectReason::ConflictingDuplicate { seqnum: 1 }
        }
    );
    let m = complete(push(&mut r, &k, &Pdu::udh(0, "05000301020242"), 4, 0));
    assert_eq!(m.text, "AB");
    assert_eq!(tokens(&m.parts), [1, 4]);
}

#[test]
fn a_total_that_disagrees_is_rejected() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    push(&mut r, &k, &Pdu::udh(0, "05000301020141"), 1, 0);
    assert_eq!(
        push(&mut r, &k, &Pdu::udh(0, "05000301030242"), 2, 0),
        PushOutcome::Rejected {
            token: 2,
            reason: RejectReason::TotalMismatch {
                expected: 2,
                got: 3
            }
        }
    );
}

#[test]
fn invalid_seqnums_are_not_concatenated() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    for sm in ["05000301020041", "05000301020341", "05000301000141"] {
        assert_eq!(
            push(&mut r, &k, &Pdu::udh(0, sm), 1, 0),
            PushOutcome::Rejected {
                token: 1,
                reason: RejectReason::NotConcatenated
            }
        );
    }
    assert_eq!(r.open_sets(), 0);
}

#[test]
fn a_single_part_total_completes_at_once() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let m = complete(push(
        &mut r,
        &key("a"),
        &Pdu::udh(0, "05000301010141"),
        1,
        0,
    ));
    assert_eq!(m.text, "A");
    assert_eq!(r.held_bytes(), 0);
}

#[test]
fn two_hundred_fifty_five_parts() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let k = key("a");
    for seq in (1..=255u8).rev() {
        let sm = format!("0608040001ff{seq:02x}41");
        let out = push(&mut r, &k, &Pdu::udh(0, &sm), seq, 0);
        if seq > 1 {
            assert_eq!(out, PushOutcome::Held);
        } else {
            let m = complete(out);
            assert_eq!(m.text, "A".repeat(255));
            assert_eq!(tokens(&m.parts), (1..=255).collect::<Vec<u8>>());
        }
    }
}

#[test]
fn sets_are_keyed_by_sender_recipient_and_reference() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let a = key("a");
    let mut b = key("a");
    b.destination_addr = "447700900003".to_owned();
    push(&mut r, &a, &Pdu::udh(0, "05000301020141"), 1, 0);
    push(&mut r, &b, &Pdu::udh(0, "05000301020142"), 2, 0);
    push(&mut r, &a, &Pdu::udh(0, "05000302020143"), 3, 0);
    assert_eq!(r.open_sets(), 3);
    let m = complete(push(&mut r, &b, &Pdu::udh(0, "05000301020244"), 4, 0));
    assert_eq!(m.text, "BD");
    assert_eq!(m.key, b);
}

#[test]
fn timeout_hands_back_what_arrived() {
    let limits = ReassemblyLimits {
        timeout_ms: 10_000,
        ..ReassemblyLimits::default()
    };
    let mut r = Reassembler::new(limits);
    let k = key("a");
    push(&mut r, &k, &Pdu::udh(0, "05000309030141"), 'x', 1_000);
    push(&mut r, &k, &Pdu::udh(0, "05000309030343"), 'z', 4_000);
    assert_eq!(r.next_deadline(), Some(11_000));
    assert!(r.poll_expired(10_999).is_empty());
    assert_eq!(r.text_so_far(&k, 9).as_deref(), Some("AC"));
    let expired = r.poll_expired(11_000);
    assert_eq!(expired.len(), 1);
    let e = &expired[0];
    assert_eq!(e.reason, IncompleteReason::Timeout);
    assert_eq!(e.missing, [2]);
    assert_eq!(tokens(&e.parts), ['x', 'z']);
    assert_eq!(e.text, "AC");
    assert_eq!((e.reference, e.total), (9, 3));
    assert_eq!(r.open_sets(), 0);
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn take_and_drain_hand_sets_back() {
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let (a, b) = (key("a"), key("b"));
    push(&mut r, &a, &Pdu::udh(0, "05000301020141"), 1, 0);
    push(&mut r, &a, &Pdu::udh(0, "05000302020141"), 2, 0);
    push(&mut r, &b, &Pdu::udh(0, "05000301020141"), 3, 0);
    let taken = r.take(&a, 2).unwrap();
    assert_eq!(
        (taken.reason, tokens(&taken.parts)),
        (IncompleteReason::Taken, vec![2])
    );
    assert!(r.take(&a, 2).is_none());
    let drained = r.drain_account("a");
    assert_eq!(drained.len(), 1);
    assert_eq!(tokens(&drained[0].parts), [1]);
    assert_eq!(r.account_bytes("a"), 0);
    let rest = r.drain_all();
    assert_eq!(tokens(&rest[0].parts), [3]);
    assert_eq!((r.open_sets(), r.held_bytes()), (0, 0));
}

#[test]
fn over_the_bounds_new_sets_are_refused_and_held_sets_kept() {
    let limits = ReassemblyLimits {
        max_sets_per_account: 2,
        max_sets: 3,
        ..ReassemblyLimits::default()
    };
    let mut r = Reassembler::new(limits);
    let (a, b) = (key("a"), key("b"));
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, "05000301020141"), 1, 0),
        PushOutcome::Held
    );
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, "05000302020141"), 2, 0),
        PushOutcome::Held
    );
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, "05000303020141"), 3, 0),
        PushOutcome::Refused {
            token: 3,
            reason: RefuseReason::AccountSets
        }
    );
    assert_eq!(
        push(&mut r, &b, &Pdu::udh(0, "05000301020141"), 4, 0),
        PushOutcome::Held
    );
    assert_eq!(
        push(&mut r, &b, &Pdu::udh(0, "05000302020141"), 5, 0),
        PushOutcome::Refused {
            token: 5,
            reason: RefuseReason::GlobalSets
        }
    );
    // Parts of held sets are still accepted.
    let m = complete(push(&mut r, &a, &Pdu::udh(0, "05000301020242"), 6, 0));
    assert_eq!(tokens(&m.parts), [1, 6]);

    let bytes = ReassemblyLimits {
        max_bytes_per_account: 600,
        ..ReassemblyLimits::default()
    };
    let mut r = Reassembler::new(bytes);
    let big = format!("050003010301{}", "41".repeat(150));
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, &big), 1, 0),
        PushOutcome::Held
    );
    let big2 = format!("050003010302{}", "41".repeat(150));
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, &big2), 2, 0),
        PushOutcome::Held
    );
    let big3 = format!("050003010303{}", "41".repeat(150));
    assert_eq!(
        push(&mut r, &a, &Pdu::udh(0, &big3), 3, 0),
        PushOutcome::Refused {
            token: 3,
            reason: RefuseReason::AccountBytes
        }
    );
    assert!(r.account_bytes("a") <= 600);
}

#[test]
fn limits_deserialize_with_defaults() {
    let l: ReassemblyLimits = serde_json::from_str(r#"{"timeout_ms": 5000}"#).unwrap();
    assert_eq!(l.timeout_ms, 5000);
    assert_eq!(l.max_sets, ReassemblyLimits::default().max_sets);
    assert!(serde_json::from_str::<ReassemblyLimits>(r#"{"ttl": 1}"#).is_err());
}

/// One step of the property test: push a part, or let time pass.
#[derive(Clone, Debug)]
enum Op {
    Push {
        account: u8,
        reference: u8,
        total: u8,
        seqnum: u8,
        len: u8,
        ucs2: bool,
    },
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..4, 0u8..5, 0u8..6, 0u8..160, any::<bool>()).prop_map(
            |(account, reference, total, seqnum, len, ucs2)| Op::Push {
                account,
                reference,
                total,
                seqnum,
                len,
                ucs2
            }
        ),
        1 => (0u16..6000).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bounded_and_every_token_comes_back_once(
        ops in prop::collection::vec(op(), 1..120),
        max_sets in 1usize..6,
        max_sets_per_account in 1usize..4,
        max_bytes in 200usize..3000,
        max_bytes_per_account in 200usize..2000,
    ) {
        let limits = ReassemblyLimits {
            timeout_ms: 10_000,
            max_sets,
            max_sets_per_account,
            max_bytes,
            max_bytes_per_account,
        };
        let mut r: Reassembler<u32> = Reassembler::new(limits);
        let mut returned: BTreeMap<u32, usize> = BTreeMap::new();
        let mut back = |t: u32| *returned.entry(t).or_default() += 1;
        let mut now = 0u64;
        let mut next_token = 0u32;
        for op in ops {
            match op {
                Op::Wait(ms) => {
                    now += u64::from(ms);
                    for e in r.poll_expired(now) {
                        prop_assert!(!e.missing.is_empty());
                        e.parts.iter().for_each(|p| back(p.token));
                    }
                }
                Op::Push { account, reference, total, seqnum, len, ucs2 } => {
                    let body = if ucs2 { "00e5".repeat(usize::from(len) / 2) } else { "41".repeat(usize::from(len)) };
                    let pdu = Pdu::udh(if ucs2 { 8 } else { 0 }, &format!("050003{reference:02x}{total:02x}{seqnum:02x}{body}"));
                    let k = key(&format!("acct{account}"));
                    next_token += 1;
                    match push(&mut r, &k, &pdu, next_token, now) {
                        PushOutcome::Held => {}
                        PushOutcome::Complete(m) => {
                            prop_assert_eq!(m.parts.len(), usize::from(total));
                            m.parts.iter().for_each(|p| back(p.token));
                        }
                        PushOutcome::Refused { token, .. } | PushOutcome::Rejected { token, .. } => back(token),
                    }
                }
            }
            prop_assert!(r.open_sets() <= max_sets);
            prop_assert!(r.held_bytes() <= max_bytes);
            for a in 0..3 {
                let used = r.account_bytes(&format!("acct{a}"));
                prop_assert!(used <= max_bytes_per_account);
            }
        }
        for e in r.drain_all() {
            e.parts.iter().for_each(|p| back(p.token));
        }
        prop_assert_eq!(r.held_bytes(), 0);
        prop_assert_eq!(returned.len() as u32, next_token);
        prop_assert!(returned.values().all(|&n| n == 1));
    }
}
