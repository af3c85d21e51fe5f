//! The client's connection task: one task owns the socket, the sequence space, the
//! window and the table of outstanding requests.

use std::{
    collections::{HashMap, VecDeque},
    io,
    sync::{Arc, atomic::Ordering::Relaxed},
    time::Duration,
};

use bytes::{Buf, Bytes, BytesMut};
use smppguard_codec::{
    Body, CommandId, CommandStatus, Framer, Header, MessageIdResp, Pdu, peek_header,
    set_sequence_number,
};
use tokio::{
    net::TcpStream,
    sync::{mpsc, oneshot},
    time::Instant,
};

use super::{
    Delivery, EsmeConfig, EsmeShared, Request, Response, SubmitResponse, pending::PendingTable,
};
use crate::EsmeError;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

type OneReply = oneshot::Sender<Result<Response, EsmeError>>;
type BatchReply = oneshot::Sender<Vec<Result<SubmitResponse, EsmeError>>>;

/// Commands from the handle.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Send one request and answer `reply`.
    Request { request: Request, reply: OneReply },
    /// Send every request; answer `reply` once all are answered or failed.
    Batch {
        requests: Vec<Request>,
        reply: BatchReply,
    },
    /// Write these bytes as they are.
    Raw(Bytes),
    /// Close once the output is flushed.
    Close,
}

/// Who waits for a response.
#[derive(Debug)]
enum Target {
    One(OneReply),
    Batch { id: u64, index: usize },
}

#[derive(Debug)]
struct Pending {
    target: Target,
    sent: Instant,
}

#[derive(Debug)]
struct Batch {
    /// Answers are reduced to `SubmitResponse` as they arrive, so the frames they came
    /// in are released at once and the read buffer can be reused.
    results: Vec<Option<Result<SubmitResponse, EsmeError>>>,
    remaining: usize,
    reply: BatchReply,
}

pub(crate) struct Conn {
    stream: TcpStream,
    framer: Framer,
    rbuf: BytesMut,
    out: BytesMut,
    cmd_rx: mpsc::Receiver<Cmd>,
    cmd_open: bool,
    delivery_tx: mpsc::Sender<Delivery>,
    raw_tx: mpsc::Sender<Bytes>,
    shared: Arc<EsmeShared>,
    window: usize,
    timeout: Option<Duration>,
    next_seq: u32,
    pending: PendingTable<Pending>,
    backlog: VecDeque<(Request, Target)>,
    /// Response deadlines in send order (one timeout for all, so already sorted).
    deadlines: VecDeque<(Instant, u32, Instant)>,
    batches: HashMap<u64, Batch, foldhash::fast::RandomState>,
    next_batch: u64,
    closing: bool,
}

impl Conn {
    pub(crate) fn new(
        stream: TcpStream,
        config: &EsmeConfig,
        cmd_rx: mpsc::Receiver<Cmd>,
        delivery_tx: mpsc::Sender<Delivery>,
        raw_tx: mpsc::Sender<Bytes>,
        shared: Arc<EsmeShared>,
    ) -> Self {
        Self {
            stream,
            framer: Framer::new(config.max_pdu_len),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            out: BytesMut::with_capacity(READ_CHUNK),
            cmd_rx,
            cmd_open: true,
            delivery_tx,
            raw_tx,
            shared,
            window: config.window.max(1),
            timeout: config.response_timeout,
            next_seq: 1,
            pending: PendingTable::new(config.window.max(1)),
            backlog: VecDeque::new(),
            deadlines: VecDeque::new(),
            batches: HashMap::default(),
            next_batch: 0,
            closing: false,
        }
    }

    /// Serves the connection; every request still waiting fails with `Closed` at the
    /// end.
    pub(crate) async fn run(mut self) {
        if let Err(e) = self.drive().await {
            tracing::debug!(error = %e, "esme connection ended");
        }
        let pending: Vec<Pending> = self.pending.drain().collect();
        for p in pending {
            self.fail(p.target, EsmeError::Closed);
        }
        for (_, target) in std::mem::take(&mut self.backlog) {
            self.fail(target, EsmeError::Closed);
        }
        // Commands that were queued but never read fail the same way.
        self.cmd_rx.close();
        while let Ok(cmd) = self.cmd_rx.try_recv() {
            match cmd {
                Cmd::Request { reply, .. } => {
                    let _ = reply.send(Err(EsmeError::Closed));
                }
                Cmd::Batch { requests, reply } => {
                    let _ = reply.send(requests.iter().map(|_| Err(EsmeError::Closed)).collect());
                }
                Cmd::Raw(_) | Cmd::Close => {}
            }
        }
    }

    async fn drive(&mut self) -> Result<(), EsmeError> {
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            self.fill_window();
            self.write()?;
            if self.closing && self.out.is_empty() {
                return Ok(());
            }
            if !self.cmd_open
                && self.pending.is_empty()
                && self.backlog.is_empty()
                && self.out.is_empty()
            {
                return Ok(());
            }
            let next = self.deadlines.front().map(|(at, _, _)| *at);
            if let Some(at) = next
                && armed != Some(at)
            {
                sleep.as_mut().reset(at);
                armed = Some(at);
            }
            let want_cmd = self.cmd_open
                && !self.closing
                && self.backlog.is_empty()
                && self.pending.len() < self.window;
            tokio::select! {
                r = self.stream.readable(), if !self.closing => {
                    r?;
                    if self.read()? {
                        return Err(EsmeError::Closed);
                    }
                }
                r = self.stream.writable(), if !self.out.is_empty() => r?,
                cmd = self.cmd_rx.recv(), if want_cmd => match cmd {
                    Some(cmd) => self.on_cmd(cmd),
                    None => self.cmd_open = false,
                },
                () = &mut sleep, if next.is_some() => {
                    armed = None;
                    self.expire();
                }
            }
        }
    }

    /// One read; `Ok(true)` at end of stream.
    fn read(&mut self) -> Result<bool, EsmeError> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
        match self.stream.try_read_buf(&mut self.rbuf) {
            Ok(0) => Ok(true),
            Ok(_) => {
                let now = Instant::now();
                while let Some(frame) = self.framer.next_frame(&mut self.rbuf)? {
                    self.on_frame(frame, now);
                }
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn write(&mut self) -> Result<(), EsmeError> {
        while !self.out.is_empty() {
            match self.stream.try_write(&self.out) {
                Ok(n) => self.out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if self.out.is_empty() {
            self.out.clear();
        }
        Ok(())
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Request { request, reply } => {
                self.backlog.push_back((request, Target::One(reply)))
            }
            Cmd::Batch { requests, reply } => {
                if requests.is_empty() {
                    let _ = reply.send(Vec::new());
                    return;
                }
                let id = self.next_batch;
                self.next_batch += 1;
                let n = requests.len();
                self.batches.insert(
                    id,
                    Batch {
                        results: (0..n).map(|_| None).collect(),
                        remaining: n,
                        reply,
                    },
                );
                for (index, request) in requests.into_iter().enumerate() {
                    self.backlog
                        .push_back((request, Target::Batch { id, index }));
                }
            }
            Cmd::Raw(bytes) => self.out.extend_from_slice(&bytes),
            Cmd::Close => self.closing = true,
        }
    }

    /// Writes queued requests while the window has room.
    fn fill_window(&mut self) {
        if self.backlog.is_empty() || self.pending.len() >= self.window {
            return;
        }
        let now = Instant::now();
        let mut sent = 0;
        while self.pending.len() < self.window {
            let Some((request, target)) = self.backlog.pop_front() else {
                break;
            };
            let seq = self.alloc_seq();
            let start = self.out.len();
            self.out.extend_from_slice(request.frame());
            if let Some(frame) = self.out.get_mut(start..) {
                // `Request` guarantees a whole PDU, so the header is there.
                let _ = set_sequence_number(frame, seq);
            }
            if let Err(p) = self.pending.insert(seq, Pending { target, sent: now }) {
                // alloc_seq only hands out free slots.
                self.fail(p.target, EsmeError::Closed);
                continue;
            }
            if let Some(timeout) = self.timeout {
                self.deadlines.push_back((now + timeout, seq, now));
            }
            sent += 1;
        }
        self.shared.counters.requests.fetch_add(sent, Relaxed);
    }

    /// Sequence numbers run 1..=0x7FFF_FFFF and wrap, skipping outstanding ones.
    fn alloc_seq(&mut self) -> u32 {
        loop {
            let seq = self.next_seq;
            self.next_seq = if seq >= 0x7FFF_FFFF { 1 } else { seq + 1 };
            if self.pending.is_free(seq) {
                return seq;
            }
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        while let Some(&(at, seq, sent)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            if self.pending.get(seq).is_some_and(|p| p.sent == sent)
                && let Some(p) = self.pending.remove(seq)
            {
                self.shared.counters.timeouts.fetch_add(1, Relaxed);
                let timeout = self.timeout.unwrap_or_default();
                self.fail(p.target, EsmeError::Timeout(timeout));
            }
        }
    }

    /// Answers whoever waits for `target` with the response `frame`.
    fn answer(&mut self, target: Target, frame: Bytes, latency: Duration) {
        let pdu = Pdu::decode(frame).map_err(EsmeError::from);
        match target {
            Target::One(tx) => {
                let _ = tx.send(pdu.map(|pdu| Response { pdu, latency }));
            }
            Target::Batch { id, index } => {
                let result = pdu.map(|pdu| SubmitResponse::new(&pdu, latency));
                self.complete_batch(id, index, result);
            }
        }
    }

    fn fail(&mut self, target: Target, error: EsmeError) {
        match target {
            Target::One(tx) => {
                let _ = tx.send(Err(error));
            }
            Target::Batch { id, index } => self.complete_batch(id, index, Err(error)),
        }
    }

    fn complete_batch(&mut self, id: u64, index: usize, result: Result<SubmitResponse, EsmeError>) {
        let Some(batch) = self.batches.get_mut(&id) else {
            return;
        };
        if let Some(slot) = batch.results.get_mut(index) {
            *slot = Some(result);
        }
        batch.remaining = batch.remaining.saturating_sub(1);
        if batch.remaining == 0
            && let Some(batch) = self.batches.remove(&id)
        {
            let results = batch
                .results
                .into_iter()
                .map(|r| r.unwrap_or(Err(EsmeError::Closed)))
                .collect();
            let _ = batch.reply.send(results);
        }
    }

    /// Handles one frame read at `now`.
    fn on_frame(&mut self, frame: Bytes, now: Instant) {
        let Some(header) = peek_header(&frame) else {
            return;
        };
        let id = header.command_id;
        if id.is_response() {
            match self.pending.remove(header.sequence_number) {
                Some(p) => {
                    // Counted before the waiter is resolved, so a caller that has its
                    // answer always sees it in the counters too.
                    self.shared.counters.responses.fetch_add(1, Relaxed);
                    self.answer(p.target, frame, now.saturating_duration_since(p.sent));
                }
                None => self.unmatched(frame),
            }
            return;
        }
        match id {
            CommandId::ENQUIRE_LINK => {
                self.shared.counters.enquire_links.fetch_add(1, Relaxed);
                self.reply(&header, CommandStatus::ESME_ROK);
            }
            CommandId::UNBIND => {
                self.shared.counters.unbinds.fetch_add(1, Relaxed);
                self.reply(&header, CommandStatus::ESME_ROK);
                self.closing = true;
            }
            CommandId::DELIVER_SM | CommandId::DATA_SM => self.on_delivery(&header, frame),
            CommandId::ALERT_NOTIFICATION | CommandId::OUTBIND => self.unmatched(frame),
            _ => {
                // A request an ESME does not serve (or an unknown command_id).
                let nack = Pdu::generic_nack(CommandStatus::ESME_RINVCMDID, header.sequence_number);
                nack.encode(&mut self.out);
                self.unmatched(frame);
            }
        }
    }

    fn unmatched(&mut self, frame: Bytes) {
        self.shared.counters.unmatched.fetch_add(1, Relaxed);
        if self.raw_tx.try_send(frame).is_err() {
            self.shared.counters.unmatched_dropped.fetch_add(1, Relaxed);
        }
    }

    fn reply(&mut self, req: &Header, status: CommandStatus) {
        if let Some(pdu) = Pdu::response_to(req, status) {
            pdu.encode(&mut self.out);
        }
    }

    /// Answers a `deliver_sm` / `data_sm` and hands it to the caller.
    fn on_delivery(&mut self, header: &Header, frame: Bytes) {
        let pdu = match Pdu::decode(frame) {
            Ok(pdu) => pdu,
            Err(e) => {
                tracing::debug!(error = %e, "malformed delivery");
                if let Some(resp) = e.response() {
                    resp.encode(&mut self.out);
                }
                return;
            }
        };
        self.shared.counters.deliveries.fetch_add(1, Relaxed);
        let mut status = self.shared.deliver_status();
        if let Err(e) = self.delivery_tx.try_send(Delivery {
            pdu,
            answered: status,
        }) {
            tracing::debug!(error = %e, "delivery queue full, asking the peer to retry");
            self.shared
                .counters
                .deliveries_refused
                .fetch_add(1, Relaxed);
            status = CommandStatus::ESME_RX_T_APPN;
        }
        let seq = header.sequence_number;
        if status == CommandStatus::ESME_ROK {
            // The body-carrying form with an empty message_id, as most MCs expect.
            let body = match header.command_id {
                CommandId::DATA_SM => Body::DataSmResp(Some(MessageIdResp::default())),
                _ => Body::DeliverSmResp(Some(MessageIdResp::default())),
            };
            Pdu::new(body, status, seq).encode(&mut self.out);
        } else {
            self.reply(header, status);
        }
    }
}
