//! An ESME connection's write side: one buffer shared by everything that answers on
//! the connection, and the writer task that sends it.
//!
//! Whoever answers (the session's read loop, an upstream session's reader relaying the
//! SMSC's response, the hold's timer) encodes its frame straight into the buffer under
//! one short lock and wakes the writer only when the buffer was empty; the writer
//! takes everything appended since its last write and sends it in one go. A response
//! crosses no channel and is copied once, and the upstream's read buffer is free for
//! reuse as soon as its frames are copied.
//!
//! Bounds: the buffer holds at most `limit` frames of the session's own making
//! (enquire_link_resp, refusals, deliver_sm); when it is full the session waits for
//! room before it reads the next request from the ESME, which is how a slow reader is
//! pushed back. Answers to admitted requests ([`Port`]) never wait and never fail for
//! lack of room: there is one port per admitted request, and the session's window
//! bounds how many exist (the same guarantee a reserved queue slot gave). A write that
//! does not finish within the session's inactivity timeout ends the writer: the
//! connection is closed and what is still appended is discarded.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::{Mutex, MutexGuard};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use crate::framed::{Outgoing, encode_outgoing};

/// Write buffer capacity kept while the connection is idle; a larger one is released
/// when the writer finds nothing more to send.
const IDLE_KEEP: usize = 4 * 1024;

/// The write side of one ESME connection.
#[derive(Debug)]
pub(crate) struct DownLink {
    state: Mutex<State>,
    /// Ports handed out and not yet used.
    ports: AtomicUsize,
    /// Wakes the writer: data appended to an empty buffer, the link closing, the last
    /// port of a closed link used.
    wake: Notify,
    /// Wakes the session waiting for room.
    room: Notify,
    /// Frames the buffer holds before the session's own frames wait for room.
    limit: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Frames waiting for the writer, encoded.
    buf: BytesMut,
    /// Frames in `buf`.
    frames: usize,
    /// The session ended: the writer stops once every port is used and the buffer is
    /// written.
    closed: bool,
    /// The writer is gone (the write failed or timed out): frames are discarded.
    dead: bool,
    /// The session waits for room.
    want_room: bool,
}

/// The writer is gone: nothing more can be sent on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gone;

impl DownLink {
    /// A link whose session-made frames wait beyond `limit` queued frames.
    pub(crate) fn new(limit: usize) -> Arc<DownLink> {
        Arc::new(DownLink {
            state: Mutex::new(State::default()),
            ports: AtomicUsize::new(0),
            wake: Notify::new(),
            room: Notify::new(),
            limit: limit.max(1),
        })
    }

    /// Appends `out` whatever the buffer holds (bounded by the caller); false when
    /// the writer is gone and the frame was discarded.
    fn push(&self, out: Outgoing) -> bool {
        let st = self.state.lock();
        if st.dead {
            return false;
        }
        self.append(st, out);
        true
    }

    /// Encodes `out` into the buffer, then wakes the writer if it was empty (once per
    /// batch: the writer takes everything appended until it comes back).
    fn append(&self, mut st: MutexGuard<'_, State>, out: Outgoing) {
        let was_empty = st.frames == 0;
        encode_outgoing(out, &mut st.buf);
        st.frames += 1;
        drop(st);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Appends a frame of the session's own making, first waiting for room while the
    /// buffer holds `limit` frames (the ESME is not reading).
    pub(crate) async fn send(&self, out: Outgoing) -> Result<(), Gone> {
        loop {
            let room = self.room.notified();
            {
                let mut st = self.state.lock();
                if st.dead {
                    return Err(Gone);
                }
                if st.frames < self.limit {
                    self.append(st, out);
                    return Ok(());
                }
                st.want_room = true;
            }
            // The writer wakes us (notify_one stores a permit) after it takes the
            // buffer or when it dies.
            room.await;
        }
    }

    /// An answer handle for one admitted request: it can send exactly one frame, and
    /// the writer outlives it.
    pub(crate) fn port(self: &Arc<Self>) -> Port {
        self.ports.fetch_add(1, Ordering::AcqRel);
        Port {
            link: Some(Arc::clone(self)),
        }
    }

    /// The session ended: the writer sends what is buffered and what the outstanding
    /// ports still answer, then shuts the connection down.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.wake.notify_one();
    }

    /// A port was used or dropped.
    fn port_done(&self) {
        if self.ports.fetch_sub(1, Ordering::AcqRel) == 1 && self.state.lock().closed {
            self.wake.notify_one();
        }
    }

    /// Writes what is appended, everything since the last write in one go, until the
    /// link is closed with no port outstanding (after a last flush), a write fails, or
    /// one write takes longer than `write_timeout` (a peer that stopped reading). The
    /// socket is shut down either way.
    pub(crate) async fn run_writer<W>(
        self: Arc<Self>,
        mut io: W,
        write_timeout: Option<Duration>,
    ) -> io::Result<()>
    where
        W: AsyncWrite + Unpin,
    {
        let mut buf = BytesMut::new();
        let result = loop {
            let (finished, want_room) = {
                let mut st = self.state.lock();
                std::mem::swap(&mut st.buf, &mut buf);
                st.frames = 0;
                if buf.is_empty() && st.buf.capacity() > IDLE_KEEP {
                    st.buf = BytesMut::new();
                }
                let finished =
                    buf.is_empty() && st.closed && self.ports.load(Ordering::Acquire) == 0;
                (finished, std::mem::take(&mut st.want_room))
            };
            if want_room {
                self.room.notify_one();
            }
            if buf.is_empty() {
                if finished {
                    break io.flush().await;
                }
                if buf.capacity() > IDLE_KEEP {
                    buf = BytesMut::new();
                }
                self.wake.notified().await;
                // Let every task already runnable (the other upstream sessions' readers
                // relaying answers to this connection) append before the write: one
                // write per round of the scheduler, not one per waker.
                tokio::task::yield_now().await;
                continue;
            }
            let written = match write_timeout {
                Some(t) => tokio::time::timeout(t, io.write_all(&buf))
                    .await
                    .unwrap_or_else(|_| {
                        Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "peer stopped reading",
                        ))
                    }),
                None => io.write_all(&buf).await,
            };
            if let Err(e) = written {
                break Err(e);
            }
            buf.clear();
        };
        {
            let mut st = self.state.lock();
            st.dead = true;
            st.buf = BytesMut::new();
            st.frames = 0;
        }
        self.room.notify_one();
        let _ = io.shutdown().await;
        result
    }
}

/// The right to send the one answer of an admitted request on its ESME connection.
/// Sending never waits and never fails for lack of room; on a connection whose writer
/// is gone the answer is discarded.
#[derive(Debug)]
pub(crate) struct Port {
    link: Option<Arc<DownLink>>,
}

impl Port {
    /// Sends the answer.
    pub(crate) fn send(mut self, out: Outgoing) {
        if let Some(link) = self.link.take() {
            link.push(out);
            link.port_done();
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        if let Some(link) = self.link.take() {
            link.port_done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smppguard_codec::{CommandId, CommandStatus, Header};
    use tokio::io::AsyncReadExt;

    fn el(seq: u32) -> Outgoing {
        Outgoing::Header(Header::new(
            CommandId::ENQUIRE_LINK,
            CommandStatus::ESME_ROK,
            seq,
        ))
    }

    fn seqs(bytes: &[u8]) -> Vec<u32> {
        bytes
            .chunks(16)
            .map(|c| u32::from_be_bytes([c[12], c[13], c[14], c[15]]))
            .collect()
    }

    #[tokio::test]
    async fn writer_sends_in_order_and_waits_for_outstanding_ports_before_closing() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let link = DownLink::new(8);
        let port = link.port();
        link.send(el(1)).await.unwrap();
        link.send(el(2)).await.unwrap();
        let writer = tokio::spawn(Arc::clone(&link).run_writer(client, None));
        link.close();
        // The writer is still there for the port's answer.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!writer.is_finished());
        port.send(el(3));
        writer.await.unwrap().unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(seqs(&got), vec![1, 2, 3]);
    }

    #[tokio::test]
    async fn an_unused_port_releases_the_writer_too() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let link = DownLink::new(8);
        let port = link.port();
        let writer = tokio::spawn(Arc::clone(&link).run_writer(client, None));
        link.close();
        drop(port);
        writer.await.unwrap().unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn session_frames_wait_for_room_and_ports_do_not() {
        // The peer reads nothing yet: the duplex holds 32 bytes (two frames) and the
        // link's limit is two frames.
        let (client, mut server) = tokio::io::duplex(32);
        let link = DownLink::new(2);
        let writer = tokio::spawn(Arc::clone(&link).run_writer(client, None));
        // 1 and 2 fill the pipe, 3 is in the writer's pending write, 4 and 5 fill the
        // buffer.
        for seq in 1..=5 {
            link.send(el(seq)).await.unwrap();
            tokio::task::yield_now().await;
        }
        assert_eq!(link.state.lock().frames, 2);
        let blocked = tokio::time::timeout(Duration::from_millis(50), link.send(el(6))).await;
        assert!(blocked.is_err(), "a full buffer must make the session wait");
        // An answer to an admitted request goes in regardless.
        link.port().send(el(7));
        assert_eq!(link.state.lock().frames, 3);
        // The peer reads: everything arrives in order, and the session sends again.
        let mut got = vec![0u8; 16 * 6];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(seqs(&got), vec![1, 2, 3, 4, 5, 7]);
        link.send(el(8)).await.unwrap();
        link.close();
        writer.await.unwrap().unwrap();
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert_eq!(seqs(&rest), vec![8]);
    }

    #[tokio::test]
    async fn a_peer_that_stops_reading_ends_the_writer_and_the_session_sees_it() {
        let (client, _server) = tokio::io::duplex(16);
        let link = DownLink::new(1);
        let writer =
            tokio::spawn(Arc::clone(&link).run_writer(client, Some(Duration::from_millis(30))));
        link.send(el(1)).await.unwrap();
        tokio::task::yield_now().await;
        link.send(el(2)).await.unwrap();
        tokio::task::yield_now().await;
        link.send(el(3)).await.unwrap();
        // The fourth waits for room until the writer times out, then fails.
        let r = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                if link.send(el(4)).await.is_err() {
                    break;
                }
            }
        })
        .await;
        assert!(r.is_ok(), "the session must learn that the writer is gone");
        let e = writer.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // Answers after that are discarded, not queued.
        link.port().send(el(5));
        assert_eq!(link.state.lock().frames, 0);
    }
}
