//! The tokio side of the codec: a `Decoder` that splits a byte stream into PDU frames
//! with the codec's header-only [`Framer`], an `Encoder` that copies frames into the
//! write buffer and rewrites only their sequence number there, and the writer task
//! that batches queued frames into one write.

use std::io;

use bytes::{Bytes, BytesMut};
use smppguard_codec::{FrameError, Framer, Header, set_sequence_number};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder};

/// A frame on its way to a peer.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A frame sent as it is.
    Frame(Bytes),
    /// A frame sent with its sequence number replaced (every other byte as received).
    Relay {
        /// The original frame.
        frame: Bytes,
        /// The sequence number of this leg.
        sequence_number: u32,
    },
    /// A header-only PDU (responses the proxy makes itself, enquire_link, unbind).
    Header(Header),
}

/// Reading failed: the socket, or a framing error after which the stream cannot be
/// resynchronised.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The socket failed.
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    /// `command_length` out of range.
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// Bytes a read asks for on a quiet connection.
const READ_MIN: usize = 4 * 1024;
/// Bytes a read asks for at most, on a connection whose reads keep filling the buffer.
const READ_MAX: usize = 32 * 1024;

/// `Decoder`/`Encoder` for SMPP frames. It also keeps the read size of its connection:
/// small while the peer is quiet (thousands of idle sessions hold little), growing
/// while reads come back full, so a busy peer's PDUs arrive in few large reads.
#[derive(Debug, Clone)]
pub struct SmppCodec {
    framer: Framer,
    read_size: usize,
}

impl SmppCodec {
    /// Frames of at most `max_pdu_bytes`.
    pub fn new(max_pdu_bytes: u32) -> Self {
        Self {
            framer: Framer::new(max_pdu_bytes),
            read_size: READ_MIN,
        }
    }

    /// Makes room in `buf` for the next read: at least half the current read size.
    /// A quiet connection whose buffer grew while it was busy gets a small one back.
    pub fn prepare_read(&self, buf: &mut BytesMut) {
        let spare = buf.capacity().saturating_sub(buf.len());
        if buf.is_empty() && self.read_size == READ_MIN && buf.capacity() > 4 * READ_MIN {
            *buf = BytesMut::with_capacity(READ_MIN);
        } else if spare < self.read_size / 2 {
            buf.reserve(self.read_size);
        }
    }

    /// Records a read of `n` bytes into `spare` bytes of room: a full read doubles the
    /// next read size (up to 32 KiB), one under an eighth of the room halves it.
    pub fn note_read(&mut self, n: usize, spare: usize) {
        if n >= spare {
            self.read_size = (self.read_size * 2).min(READ_MAX);
        } else if n < spare / 8 {
            self.read_size = (self.read_size / 2).max(READ_MIN);
        }
    }
}

impl Decoder for SmppCodec {
    type Item = Bytes;
    type Error = ReadError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, ReadError> {
        Ok(self.framer.next_frame(src)?)
    }
}

impl Encoder<Outgoing> for SmppCodec {
    type Error = io::Error;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), io::Error> {
        encode_outgoing(item, dst);
        Ok(())
    }
}

/// Appends `item` to `dst` as it goes on the wire (the [`SmppCodec`] encoding, for
/// buffers filled outside a writer task).
pub(crate) fn encode_outgoing(item: Outgoing, dst: &mut BytesMut) {
    match item {
        Outgoing::Frame(frame) => dst.extend_from_slice(&frame),
        Outgoing::Relay {
            frame,
            sequence_number,
        } => {
            let start = dst.len();
            dst.extend_from_slice(&frame);
            if let Some(written) = dst.get_mut(start..) {
                // A frame shorter than a header never reaches here (the framer
                // rejects it), and would be sent unchanged.
                let _ = set_sequence_number(written, sequence_number);
            }
        }
        Outgoing::Header(h) => h.encode(dst),
    }
}

/// Frames written per batch at most, so one busy peer cannot grow the buffer without
/// bound.
const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Write buffer kept across an idle moment; beyond it, the buffer is released when the
/// queue runs empty.
const IDLE_KEEP: usize = 4 * 1024;

/// Writes everything queued on `rx` to `io`, batching all frames that are already
/// waiting into one write. Returns when the channel closes (after writing what was
/// queued), the socket fails, or one write takes longer than `write_timeout` (a peer
/// that stopped reading); the socket is shut down either way.
pub async fn run_writer<W>(
    mut io: W,
    mut rx: mpsc::Receiver<Outgoing>,
    write_timeout: Option<std::time::Duration>,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut codec = SmppCodec::new(u32::MAX);
    // Grown on first use and kept while the peer is busy: an idle session (most of
    // them, with thousands bound) holds no write buffer.
    let mut buf = BytesMut::new();
    let result = async {
        while let Some(first) = rx.recv().await {
            codec.encode(first, &mut buf)?;
            while buf.len() < MAX_BATCH_BYTES {
                match rx.try_recv() {
                    Ok(next) => codec.encode(next, &mut buf)?,
                    Err(_) => break,
                }
            }
            match write_timeout {
                Some(t) => tokio::time::timeout(t, io.write_all(&buf))
                    .await
                    .map_err(|_| {
                        io::Error::new(io::ErrorKind::TimedOut, "peer stopped reading")
                    })??,
                None => io.write_all(&buf).await?,
            }
            buf.clear();
            if buf.capacity() > 4 * MAX_BATCH_BYTES || (rx.is_empty() && buf.capacity() > IDLE_KEEP)
            {
                // A burst is over (nothing queued) or the buffer outgrew its bound.
                buf = BytesMut::new();
            }
        }
        io.flush().await
    }
    .await;
    let _ = io.shutdown().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use smppguard_codec::{CommandId, CommandStatus};

    const ENQUIRE_LINK: [u8; 16] = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 2];

    #[test]
    fn decoder_splits_frames_and_fails_on_bad_length() {
        let mut codec = SmppCodec::new(64);
        let mut buf = BytesMut::from(&ENQUIRE_LINK[..]);
        buf.extend_from_slice(&ENQUIRE_LINK[..8]);
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], &ENQUIRE_LINK);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        let mut bad = BytesMut::from(&b"HTTP/1.1 200 OK"[..]);
        assert!(matches!(codec.decode(&mut bad), Err(ReadError::Frame(_))));
    }

    #[test]
    fn read_size_grows_while_reads_fill_the_buffer_and_shrinks_when_quiet() {
        let mut codec = SmppCodec::new(64);
        let mut buf = BytesMut::new();
        codec.prepare_read(&mut buf);
        assert!(buf.capacity() >= READ_MIN);
        for _ in 0..10 {
            let spare = buf.capacity() - buf.len();
            codec.note_read(spare, spare);
        }
        assert_eq!(codec.read_size, READ_MAX);
        let mut busy = BytesMut::new();
        codec.prepare_read(&mut busy);
        assert!(busy.capacity() >= READ_MAX);
        // Small reads bring the size back down, and an empty oversized buffer is
        // swapped for a small one.
        for _ in 0..10 {
            codec.note_read(16, busy.capacity());
        }
        assert_eq!(codec.read_size, READ_MIN);
        codec.prepare_read(&mut busy);
        assert!(busy.capacity() < READ_MAX, "{}", busy.capacity());
        // A read that fills part of the room keeps the size.
        codec.note_read(READ_MIN / 2, READ_MIN);
        assert_eq!(codec.read_size, READ_MIN);
    }

    #[test]
    fn encoder_rewrites_only_the_sequence_number() {
        let mut codec = SmppCodec::new(64);
        let mut frame = ENQUIRE_LINK.to_vec();
        frame[3] = 20;
        frame.extend_from_slice(b"body");
        let frame = Bytes::from(frame);
        let mut dst = BytesMut::new();
        codec
            .encode(
                Outgoing::Relay {
                    frame: frame.clone(),
                    sequence_number: 0x0102_0304,
                },
                &mut dst,
            )
            .unwrap();
        assert_eq!(&dst[..12], &frame[..12]);
        assert_eq!(&dst[12..16], &[1, 2, 3, 4]);
        assert_eq!(&dst[16..], b"body");
        // The original frame is untouched.
        assert_eq!(&frame[12..16], &[0, 0, 0, 2]);
        codec
            .encode(
                Outgoing::Header(Header::new(
                    CommandId::ENQUIRE_LINK_RESP,
                    CommandStatus::ESME_ROK,
                    9,
                )),
                &mut dst,
            )
            .unwrap();
        assert_eq!(dst.len(), 20 + 16);
    }

    #[tokio::test]
    async fn writer_batches_and_drains_on_close() {
        let (client, mut server) = tokio::io::duplex(4096);
        let (tx, rx) = mpsc::channel(8);
        for seq in 1..=3u32 {
            tx.send(Outgoing::Header(Header::new(
                CommandId::ENQUIRE_LINK,
                CommandStatus::ESME_ROK,
                seq,
            )))
            .await
            .unwrap();
        }
        drop(tx);
        run_writer(client, rx, None).await.unwrap();
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut server, &mut got)
            .await
            .unwrap();
        assert_eq!(got.len(), 48);
        assert_eq!(got[31], 2);
        assert_eq!(got[47], 3);
    }
}
