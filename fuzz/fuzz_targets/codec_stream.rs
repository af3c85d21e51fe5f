//! Chunked stream framing. Input: two bytes seeding the chunk sizes and the maximum
//! PDU length, then the stream. The framer must yield the same frames and the same
//! error whatever the chunking, never return a frame outside [16, max], never spin,
//! and every frame must decode without panicking.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use smppguard_codec::{FrameErrorKind, Framer, Pdu};

/// Frames and the first error's kind.
type Outcome = (Vec<Bytes>, Option<FrameErrorKind>);

fn run(stream: &[u8], max_len: u32, mut next_chunk: impl FnMut() -> usize) -> Outcome {
    let mut framer = Framer::new(max_len);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    loop {
        // Bounded: each pass either consumes a frame or needs more input.
        loop {
            match framer.next_frame(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.len() >= 16 && frame.len() as u64 <= u64::from(max_len));
                    frames.push(frame);
                }
                Ok(None) => break,
                Err(err) => return (frames, Some(err.kind())),
            }
        }
        if rest.is_empty() {
            return (frames, None);
        }
        let n = next_chunk().clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

fuzz_target!(|data: &[u8]| {
    let [seed, max_sel, stream @ ..] = data else {
        return;
    };
    let max_len = 16 + u32::from(*max_sel) * 16;
    let whole = run(stream, max_len, || usize::MAX);
    let mut state = u32::from(*seed) | 1;
    let chunked = run(stream, max_len, || {
        // xorshift: deterministic chunk sizes from the seed byte
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as usize
    });
    let one_by_one = run(stream, max_len, || 1);
    assert_eq!(whole, chunked);
    assert_eq!(whole, one_by_one);
    let consumed: usize = whole.0.iter().map(Bytes::len).sum();
    assert_eq!(whole.0.concat(), stream[..consumed]);
    for frame in whole.0 {
        assert_eq!(Pdu::decode_view(&frame).err(), Pdu::decode(frame).err());
    }
});
