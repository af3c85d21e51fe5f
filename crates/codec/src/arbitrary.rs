//! `arbitrary::Arbitrary` for PDUs that encode validly, for structure-aware fuzzing:
//! every generated [`Pdu`] satisfies `Pdu::decode(pdu.to_bytes()) == Ok(pdu)`.

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;

use crate::{
    Body, COctetString, CommandStatus, DestAddress, DestAddresses, Pdu, ShortMessage, Timestamp,
    TlvTag, Tlvs, UnsuccessSme, UnsuccessSmes,
    parse::{ESM_CLASS_UDHI, user_data},
    tlv::LenRule,
    types::MAX_SHORT_MESSAGE_LEN,
};

impl<'a, const MAX: usize, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for COctetString<MAX, B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = u.int_in_range(0..=MAX.saturating_sub(1))?;
        let mut value = u.bytes(len.min(u.len()))?.to_vec();
        for b in &mut value {
            if *b == 0 {
                *b = b'0';
            }
        }
        Ok(COctetString::from_wire(B::from(Bytes::from(value))))
    }
}

impl<'a, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for Timestamp<B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let two = |n: u8| [b'0' + n / 10, b'0' + n % 10];
        let text = match u.int_in_range(0u8..=2)? {
            0 => return Ok(Timestamp::from_wire(B::from(Bytes::new()))),
            1 => {
                let mut t = Vec::with_capacity(16);
                t.extend(two(u.int_in_range(0..=99)?));
                t.extend(two(u.int_in_range(1..=12)?));
                t.extend(two(u.int_in_range(1..=31)?));
                t.extend(two(u.int_in_range(0..=23)?));
                t.extend(two(u.int_in_range(0..=59)?));
                t.extend(two(u.int_in_range(0..=59)?));
                t.push(b'0' + u.int_in_range(0..=9)?);
                t.extend(two(u.int_in_range(0..=48)?));
                t.push(if u.arbitrary()? { b'+' } else { b'-' });
                t
            }
            _ => {
                let mut t = Vec::with_capacity(16);
                for _ in 0..15 {
                    t.push(b'0' + u.int_in_range(0..=9)?);
                }
                t.push(b'R');
                t
            }
        };
        Ok(Timestamp::from_wire(B::from(Bytes::from(text))))
    }
}

impl<'a, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for ShortMessage<B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = u.int_in_range(0..=MAX_SHORT_MESSAGE_LEN)?;
        let value = u.bytes(len.min(u.len()))?;
        Ok(ShortMessage::from_wire(B::from(Bytes::copy_from_slice(
            value,
        ))))
    }
}

/// Tags worth generating often: the typed ones and a vendor tag.
const INTERESTING_TAGS: &[u16] = &[
    0x0424, 0x020C, 0x020E, 0x020F, 0x001E, 0x0427, 0x0423, 0x0210, 0x0428, 0x0204, 0x020A, 0x020B,
    0x0381, 0x001D, 0x0010, 0x1204, 0x130C, 0x1400,
];

impl<'a, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for Tlvs<B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut tlvs = Tlvs::new();
        for _ in 0..u.int_in_range(0u8..=6)? {
            let tag = if u.ratio(3, 4)? {
                TlvTag(*u.choose(INTERESTING_TAGS)?)
            } else {
                TlvTag(u.arbitrary()?)
            };
            let len = match tag.len_rule() {
                LenRule::Fixed(n) => usize::from(n),
                LenRule::Range(lo, hi) => usize::from(u.int_in_range(lo..=hi)?),
                LenRule::Any => u.int_in_range(0..=300)?,
            };
            let value = u.bytes(len.min(u.len()))?;
            // A value cut short by exhausted input, or a repeated single-use tag, is
            // refused by `push`; skipping it keeps the list valid.
            let _ = tlvs.push(tag, value);
        }
        Ok(Tlvs::from_wire(B::from(tlvs.bytes().clone())))
    }
}

impl<'a, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for DestAddresses<B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let n = u.int_in_range(1u8..=8)?;
        let mut dests = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            dests.push(DestAddress::arbitrary(u)?);
        }
        Ok(DestAddresses::from_entries(dests))
    }
}

impl<'a, B: From<Bytes> + AsRef<[u8]>> Arbitrary<'a> for UnsuccessSmes<B> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let n = u.int_in_range(0u8..=8)?;
        let mut entries = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            entries.push(UnsuccessSme::arbitrary(u)?);
        }
        Ok(UnsuccessSmes::from_entries(entries))
    }
}

impl<'a> Arbitrary<'a> for Pdu {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut body = Body::arbitrary(u)?;
        match &mut body {
            Body::SubmitSm(b) | Body::DeliverSm(b) => {
                fix_user_data(Some(&mut b.esm_class), Some(&mut b.short_message), &b.tlvs);
            }
            Body::SubmitMulti(b) => {
                fix_user_data(Some(&mut b.esm_class), Some(&mut b.short_message), &b.tlvs);
            }
            Body::DataSm(b) => fix_user_data(Some(&mut b.esm_class), None, &b.tlvs),
            Body::ReplaceSm(b) => fix_user_data(None, Some(&mut b.short_message), &b.tlvs),
            _ => {}
        }
        let status = if u.arbitrary()? {
            CommandStatus(u.arbitrary()?)
        } else {
            *u.choose(CommandStatus::ALL)?
        };
        Ok(Pdu::new(body, status, u.arbitrary()?))
    }
}

/// Applies the cross-field rules the decoder enforces on user data: `short_message`
/// and `message_payload` exclude each other, and UDHI needs a header that fits.
fn fix_user_data(esm_class: Option<&mut u8>, mut sm: Option<&mut ShortMessage>, tlvs: &Tlvs) {
    if tlvs.message_payload().is_some()
        && let Some(sm) = sm.as_deref_mut()
    {
        *sm = ShortMessage::empty();
    }
    if let Some(esm_class) = esm_class
        && user_data(&[], Some(*esm_class), sm.as_deref(), tlvs).is_err()
    {
        *esm_class &= !ESM_CLASS_UDHI;
    }
}
