//! Raw decode: any bytes, as a frame and with `command_length` patched to the frame
//! length (so the body parsers, not the length check, see most inputs). Decoding must
//! never panic; the owned and borrowed decoders must agree; an accepted frame must
//! re-encode byte-exact; an error must point inside the frame and answer consistently.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use smppguard_codec::{Pdu, check, peek_header};

fn decode_one(frame: Bytes) {
    let _ = check(&frame, u32::MAX);
    let _ = peek_header(&frame);
    let view = Pdu::decode_view(&frame);
    let owned = Pdu::decode(frame.clone());
    assert_eq!(
        view.as_ref().map(Pdu::to_bytes).map_err(|e| *e),
        owned.as_ref().map(Pdu::to_bytes).map_err(|e| *e),
        "owned and borrowed decoders disagree"
    );
    match owned {
        Ok(pdu) => {
            assert_eq!(pdu.to_bytes(), frame, "accepted frame must re-encode byte-exact");
            let _ = pdu.body.content();
            let _ = format!("{pdu:?}");
        }
        Err(err) => {
            assert!(err.offset() as usize <= frame.len(), "{err}");
            if let (Some(resp), Some(req)) = (err.response_header(), err.header()) {
                assert_eq!(resp.sequence_number, req.sequence_number);
                assert!(err.is_fatal() || !req.command_id.is_response());
            }
            let _ = err.response().map(|p| p.to_bytes());
            let _ = err.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    decode_one(Bytes::copy_from_slice(data));
    if data.len() >= 16 {
        let mut patched = data.to_vec();
        let len = u32::try_from(patched.len()).unwrap_or(u32::MAX);
        patched[..4].copy_from_slice(&len.to_be_bytes());
        decode_one(Bytes::from(patched));
    }
});
