//! Heap allocations of `Reassembler::push` in steady state, counted per thread by a
//! counting global allocator: a part that joins an open set allocates only for the content
//! it keeps, whatever the length of its key.

use smppguard_text::{
    DecodeOptions, DecodedPart, PartInput, PartKey, PartKeyRef, PushOutcome, Reassembler,
    ReassemblyLimits, decode_part,
};

/// The short_message of part `seqnum` of 4: 8-bit concatenation UDH, reference 0x2a, then
/// 20 UCS-2 characters.
fn part(seqnum: u8) -> Vec<u8> {
    let mut sm = vec![0x05, 0x00, 0x03, 0x2a, 0x04, seqnum];
    let text: String = std::iter::repeat_n(char::from(b'a' + seqnum), 20).collect();
    sm.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    sm
}

fn input(sm: &[u8]) -> PartInput<'_> {
    PartInput {
        esm_class: 0x40,
        data_coding: 8,
        short_message: sm,
        message_payload: None,
        sar: None,
    }
}

#[test]
fn a_part_joining_an_open_set_allocates_only_its_content() {
    let bodies: Vec<Vec<u8>> = (1..=4).map(part).collect();
    let decoded: Vec<DecodedPart> = bodies
        .iter()
        .map(|b| decode_part(&input(b), &DecodeOptions::default()))
        .collect();
    let owned = PartKey {
        account: "a-rather-long-account-name".to_owned(),
        source_addr: "447700900001".to_owned(),
        destination_addr: "447700900002".to_owned(),
    };
    let mut r: Reassembler<u32> = Reassembler::new(ReassemblyLimits::default());
    let mut first = Vec::new();
    let mut middle = Vec::new();
    for round in 0..200u32 {
        // The key borrowed from the PDU's fields, as the proxy does, or from an owned key.
        let key = if round % 2 == 0 {
            PartKeyRef {
                account: &owned.account,
                source_addr: &owned.source_addr,
                destination_addr: &owned.destination_addr,
            }
        } else {
            owned.as_key_ref()
        };
        let now = u64::from(round);
        let mut push = |i: usize| {
            let (b, d) = (&bodies[i], &decoded[i]);
            let mut outcome = None;
            let n = allocation_counter::measure(|| {
                outcome = Some(r.push(key, &input(b), d, round, now));
            })
            .count_total;
            (n, outcome)
        };
        let (n, o) = push(0);
        assert_eq!(o, Some(PushOutcome::Held));
        first.push(n);
        for i in 1..3 {
            let (n, o) = push(i);
            assert_eq!(o, Some(PushOutcome::Held));
            middle.push(n);
        }
        match push(3).1 {
            Some(PushOutcome::Complete(m)) => {
                assert_eq!(m.key, owned);
                assert_eq!(m.parts.len(), 4);
                assert_eq!(m.text.len(), 80);
            }
            other => panic!("expected a complete message, got {other:?}"),
        }
        assert_eq!(r.open_sets(), 0);
        assert_eq!(r.held_bytes(), 0);
    }
    // One allocation: the part's UCS-2 octets, kept until the message is whole.
    assert!(middle.iter().all(|&n| n == 1), "{middle:?}");
    // The first part of a set also stores the key once (three strings), the set's part
    // slots, the account's usage entry and the deadline index's node.
    let steady = first.get(10..).unwrap_or(&[]);
    assert!(steady.iter().all(|&n| n <= 7), "{steady:?}");
}
