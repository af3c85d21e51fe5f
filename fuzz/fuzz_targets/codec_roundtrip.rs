//! Structured round trip: every PDU the `arbitrary` feature generates must encode,
//! decode back to itself and re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smppguard_codec::Pdu;

fuzz_target!(|pdu: Pdu| {
    let bytes = pdu.to_bytes();
    assert_eq!(bytes.len(), pdu.encoded_len());
    match Pdu::decode(bytes.clone()) {
        Ok(decoded) => {
            assert_eq!(decoded, pdu);
            assert_eq!(decoded.to_bytes(), bytes);
            let view = Pdu::decode_view(&bytes).expect("view decodes what the owned decoder does");
            assert_eq!(view.to_bytes(), bytes);
        }
        Err(err) => panic!("generated {} does not decode: {err}", pdu.body.name()),
    }
});
