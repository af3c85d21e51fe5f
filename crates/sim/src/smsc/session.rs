//! One ESME connection: a single task that owns the socket, reads in large chunks,
//! answers every frame of a chunk into one buffer and writes it with one syscall.
//!
//! Delayed responses (latency injection) are encoded at once into a per-chunk batch
//! that waits in a FIFO until due; since every response waits the same time, the
//! FIFO stays ordered by due time and the session keeps reading meanwhile.

use std::{
    collections::{HashMap, VecDeque},
    io,
    net::SocketAddr,
    ops::Range,
    sync::Arc,
    time::{Duration, SystemTime},
};

use bytes::{Buf, Bytes, BytesMut};
use smppguard_codec::{
    BindResp, Body, COctetString, CommandId, CommandStatus, DecodeError, DeliverSm, Framer, Header,
    MessageIdResp, MessageState, Pdu, QuerySmResp, ShortMessage, SubmitMultiResp, Timestamp,
    TlvTag, Tlvs, peek_header, set_sequence_number,
};
use tokio::{
    net::TcpStream,
    sync::{Notify, mpsc},
    time::Instant,
};

use super::{
    Answer, Shared,
    dispatch::{Delivery, DeliveryKind, DispatchCmd, SessionCmd},
    record::Received,
    stats::Stats,
};
use crate::{
    BindType, MessageId,
    receipt::{Receipt, quote_text, receipt_date, smpp_time, stat_for_state},
};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;
/// Output above which the session stops reading until the peer catches up.
const OUT_HIGH_WATER: usize = 4 * 1024 * 1024;
/// Message ids taken from the shared counter at a time.
const ID_BLOCK: u64 = 256;
/// `esm_class` of an MC delivery receipt.
const ESM_CLASS_RECEIPT: u8 = 0x04;
/// `interface_version` of SMPP 3.4 and 5.0.
const SMPP_34: u8 = 0x34;
const SMPP_50: u8 = 0x50;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Connected, not bound.
    Open,
    /// Bound.
    Bound {
        system_id: Arc<str>,
        bind_type: BindType,
    },
    /// The simulator sent `unbind` and waits for `unbind_resp`.
    Unbinding,
}

/// How much of a message operation to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decode {
    /// Header only (`validate: false`).
    Skip,
    /// Decode to refuse malformed PDUs, then drop the result.
    Check,
    /// Decode and keep the PDU (receipts, message operations, the record).
    Keep,
}

/// A message operation the session may serve.
struct Admitted {
    system_id: Arc<str>,
    /// The frame (a copy when recording).
    frame: Bytes,
    /// The decoded PDU, when kept.
    pdu: Option<Pdu>,
}

/// Channels and handles a session is created with.
pub(crate) struct SessionIo {
    pub(crate) stream: TcpStream,
    pub(crate) peer: SocketAddr,
    pub(crate) deliver_tx: mpsc::Sender<SessionCmd>,
    pub(crate) deliver_rx: mpsc::Receiver<SessionCmd>,
    pub(crate) unbind: Arc<Notify>,
}

pub(crate) struct Session {
    id: u64,
    shared: Arc<Shared>,
    io: SessionIo,
    framer: Framer,
    rbuf: BytesMut,
    out: BytesMut,
    /// Responses of the current chunk that wait for the injected latency.
    delay_buf: BytesMut,
    delayed: VecDeque<(Instant, Bytes)>,
    state: State,
    /// Stop reading; end once the output is flushed.
    closing: bool,
    rng: fastrand::Rng,
    ids: Range<u64>,
    next_seq: u32,
    /// Deliveries sent and not yet answered, by sequence number.
    outstanding: HashMap<u32, Delivery, foldhash::fast::RandomState>,
    local: Stats,
    records: Vec<Received>,
    // Settings read once per chunk.
    latency: Duration,
    answer: Answer,
    error_rate: f64,
}

impl Session {
    pub(crate) fn new(id: u64, shared: Arc<Shared>, io: SessionIo) -> Self {
        let rng =
            fastrand::Rng::with_seed(shared.config.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let framer = Framer::new(shared.config.max_pdu_len);
        Self {
            id,
            shared,
            io,
            framer,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            out: BytesMut::with_capacity(READ_CHUNK),
            delay_buf: BytesMut::new(),
            delayed: VecDeque::new(),
            state: State::Open,
            closing: false,
            rng,
            ids: 0..0,
            next_seq: 1,
            outstanding: HashMap::default(),
            local: Stats::default(),
            records: Vec::new(),
            latency: Duration::ZERO,
            answer: Answer::All,
            error_rate: 0.0,
        }
    }

    /// Serves the connection until it ends, then hands back what it held.
    pub(crate) async fn run(mut self) {
        match self.drive().await {
            Ok(()) => tracing::debug!(session = self.id, peer = %self.io.peer, "session closed"),
            Err(e) => {
                tracing::debug!(session = self.id, peer = %self.io.peer, error = %e, "session ended")
            }
        }
        self.finish();
    }

    async fn drive(&mut self) -> io::Result<()> {
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        loop {
            let front = self.delayed.front().map(|(due, _)| *due);
            if let Some(due) = front
                && armed != Some(due)
            {
                sleep.as_mut().reset(due);
                armed = Some(due);
            }
            let want_read = !self.closing && self.out.len() < OUT_HIGH_WATER;
            let want_write = !self.out.is_empty();
            let want_deliver = matches!(&self.state, State::Bound { bind_type, .. } if bind_type.can_receive())
                && !self.closing
                && self.outstanding.len() < self.shared.config.window;
            tokio::select! {
                r = self.io.stream.readable(), if want_read => {
                    r?;
                    if self.read()? {
                        return Ok(());
                    }
                }
                r = self.io.stream.writable(), if want_write => r?,
                cmd = self.io.deliver_rx.recv(), if want_deliver => {
                    if let Some(SessionCmd::Deliver(d)) = cmd {
                        self.send_delivery(d);
                    }
                }
                () = self.io.unbind.notified() => self.start_unbind(),
                () = &mut sleep, if front.is_some() => {
                    armed = None;
                    self.release_due();
                }
            }
            self.write()?;
            if self.closing && self.out.is_empty() {
                return Ok(());
            }
        }
    }

    /// One read; `Ok(true)` at end of stream.
    fn read(&mut self) -> io::Result<bool> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
        match self.io.stream.try_read_buf(&mut self.rbuf) {
            Ok(0) => Ok(true),
            Ok(_) => {
                self.process();
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn write(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.io.stream.try_write(&self.out) {
                Ok(n) => self.out.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.out.is_empty() {
            // Reclaim the buffer from the start instead of growing it.
            self.out.clear();
        }
        Ok(())
    }

    /// Answers every whole frame in the read buffer.
    fn process(&mut self) {
        let shared = Arc::clone(&self.shared);
        self.latency = shared.latency();
        self.answer = shared.answer();
        self.error_rate = shared.error_rate();
        loop {
            match self.framer.next_frame(&mut self.rbuf) {
                Ok(Some(frame)) => self.on_frame(frame),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(session = self.id, error = %e, "closing unframeable stream");
                    self.local.framing_errors += 1;
                    self.local.generic_nacks += 1;
                    self.emit(&e.response(), false);
                    self.closing = true;
                }
            }
            if self.closing {
                break;
            }
        }
        if !self.delay_buf.is_empty() {
            let due = Instant::now() + self.latency;
            self.delayed
                .push_back((due, self.delay_buf.split().freeze()));
        }
        self.flush_stats();
    }

    fn flush_stats(&mut self) {
        self.shared.counters.drain(&mut self.local);
        if let Some(record) = &self.shared.record {
            record.extend(&mut self.records);
        }
    }

    fn release_due(&mut self) {
        let now = Instant::now();
        while let Some((due, _)) = self.delayed.front() {
            if *due > now {
                break;
            }
            if let Some((_, batch)) = self.delayed.pop_front() {
                self.out.extend_from_slice(&batch);
            }
        }
    }

    /// Moves every delayed response to the output now (before `unbind`/`unbind_resp`,
    /// which must not overtake them).
    fn release_all(&mut self) {
        if !self.delay_buf.is_empty() {
            let batch = self.delay_buf.split();
            self.out.extend_from_slice(&batch);
        }
        while let Some((_, batch)) = self.delayed.pop_front() {
            self.out.extend_from_slice(&batch);
        }
    }

    /// Encodes a response, into the delayed batch when `delayed` and latency is on.
    fn emit(&mut self, pdu: &Pdu, delayed: bool) {
        self.local.responses += 1;
        if delayed && !self.latency.is_zero() {
            pdu.encode(&mut self.delay_buf);
        } else {
            pdu.encode(&mut self.out);
        }
    }

    /// Answers `req` header-only with `status` (counted as a rejection unless OK).
    fn reply_status(&mut self, req: &Header, status: CommandStatus, delayed: bool) {
        if let Some(pdu) = Pdu::response_to(req, status) {
            if status != CommandStatus::ESME_ROK {
                self.local.rejected += 1;
            }
            self.emit(&pdu, delayed);
        }
    }

    /// Answers a malformed PDU the way the codec says; closes on framing errors.
    fn reply_decode_error(&mut self, e: &DecodeError) {
        tracing::debug!(session = self.id, error = %e, "malformed pdu");
        if let Some(resp) = e.response() {
            self.local.rejected += 1;
            if resp.command_id() == CommandId::GENERIC_NACK {
                self.local.generic_nacks += 1;
            }
            self.emit(&resp, false);
        }
        if e.is_fatal() {
            self.closing = true;
        }
    }

    fn bound_transmitter(&self) -> Option<Arc<str>> {
        match &self.state {
            State::Bound {
                system_id,
                bind_type,
            } if bind_type.can_transmit() => Some(Arc::clone(system_id)),
            _ => None,
        }
    }

    fn on_frame(&mut self, frame: Bytes) {
        let Some(header) = peek_header(&frame) else {
            return;
        };
        if self.answer == Answer::Nothing {
            self.local.ignored += 1;
            return;
        }
        let id = header.command_id;
        if id.is_response() {
            self.on_response(&header);
            return;
        }
        match id {
            CommandId::BIND_TRANSMITTER
            | CommandId::BIND_RECEIVER
            | CommandId::BIND_TRANSCEIVER => self.on_bind(&header, frame),
            CommandId::ENQUIRE_LINK => {
                self.local.enquire_links += 1;
                self.reply_status(&header, CommandStatus::ESME_ROK, false);
            }
            CommandId::UNBIND => self.on_unbind(&header),
            CommandId::SUBMIT_SM | CommandId::DATA_SM | CommandId::SUBMIT_MULTI => {
                self.on_submit(&header, frame)
            }
            CommandId::QUERY_SM | CommandId::CANCEL_SM | CommandId::REPLACE_SM => {
                self.on_message_op(&header, frame)
            }
            // No response exists for these; an ESME has no business sending them.
            CommandId::OUTBIND | CommandId::ALERT_NOTIFICATION => {}
            _ => self.on_other_request(&header, frame),
        }
    }

    /// Requests the simulator does not serve: `deliver_sm` from an ESME (no bind type
    /// allows it), the SMPP 5.0 broadcast operations, and unknown command ids.
    fn on_other_request(&mut self, header: &Header, frame: Bytes) {
        if let Err(e) = Pdu::decode(frame) {
            self.reply_decode_error(&e);
            return;
        }
        let status = match header.command_id {
            CommandId::DELIVER_SM => CommandStatus::ESME_RINVBNDSTS,
            _ if self.bound_transmitter().is_none() => CommandStatus::ESME_RINVBNDSTS,
            _ => CommandStatus::ESME_RPROHIBITED,
        };
        self.reply_status(header, status, false);
    }

    fn on_bind(&mut self, header: &Header, frame: Bytes) {
        if self.state != State::Open {
            self.local.bind_failures += 1;
            self.reply_status(header, CommandStatus::ESME_RALYBND, false);
            return;
        }
        let pdu = match Pdu::decode(frame) {
            Ok(pdu) => pdu,
            Err(e) => {
                self.local.bind_failures += 1;
                self.reply_decode_error(&e);
                return;
            }
        };
        let (Body::BindTransmitter(bind) | Body::BindReceiver(bind) | Body::BindTransceiver(bind)) =
            &pdu.body
        else {
            return;
        };
        let Some(bind_type) = BindType::from_command_id(header.command_id) else {
            return;
        };
        let status = self
            .shared
            .check_credentials(bind.system_id.as_bytes(), bind.password.as_bytes());
        if status != CommandStatus::ESME_ROK {
            tracing::debug!(session = self.id, system_id = %bind.system_id, %status, "bind refused");
            self.local.bind_failures += 1;
            self.reply_status(header, status, false);
            return;
        }
        let system_id: Arc<str> = String::from_utf8_lossy(bind.system_id.as_bytes()).into();
        // Advertise TLV support only to 3.4+ clients, at the version they speak.
        let version = match bind.interface_version {
            v if v >= SMPP_50 => Some(SMPP_50),
            v if v >= SMPP_34 => Some(SMPP_34),
            _ => None,
        };
        let body = Some(BindResp::new(self.shared.bind_system_id.clone(), version));
        let body = match bind_type {
            BindType::Transmitter => Body::BindTransmitterResp(body),
            BindType::Receiver => Body::BindReceiverResp(body),
            BindType::Transceiver => Body::BindTransceiverResp(body),
        };
        self.emit(
            &Pdu::new(body, CommandStatus::ESME_ROK, header.sequence_number),
            false,
        );
        self.local.binds += 1;
        tracing::debug!(session = self.id, %system_id, %bind_type, "bound");
        self.state = State::Bound {
            system_id: Arc::clone(&system_id),
            bind_type,
        };
        self.shared
            .set_bound(self.id, Some((Arc::clone(&system_id), bind_type)));
        if bind_type.can_receive() {
            self.shared
                .registry
                .add(Arc::clone(&system_id), self.id, self.io.deliver_tx.clone());
            self.shared
                .dispatch(DispatchCmd::Bound(system_id), &mut self.local);
        }
    }

    fn on_unbind(&mut self, header: &Header) {
        if !matches!(self.state, State::Bound { .. }) {
            self.reply_status(header, CommandStatus::ESME_RINVBNDSTS, false);
            return;
        }
        self.local.unbinds += 1;
        self.release_all();
        self.deregister();
        self.reply_status(header, CommandStatus::ESME_ROK, false);
        self.closing = true;
    }

    /// Sends `unbind` (simulator-initiated), or closes an unbound session.
    fn start_unbind(&mut self) {
        if !matches!(self.state, State::Bound { .. }) {
            self.closing = true;
            return;
        }
        self.release_all();
        self.deregister();
        let seq = self.alloc_seq();
        Pdu::new(Body::Unbind, CommandStatus::ESME_ROK, seq).encode(&mut self.out);
        self.state = State::Unbinding;
    }

    fn deregister(&mut self) {
        if let State::Bound {
            system_id,
            bind_type,
        } = &self.state
            && bind_type.can_receive()
        {
            self.shared.registry.remove(system_id, self.id);
        }
        self.shared.set_bound(self.id, None);
    }

    /// The common entry of message operations: checks that the session may
    /// transmit, copies the frame out when recording (so the record does not pin the
    /// read buffer), and decodes it as `decode` says (always keeping the PDU when
    /// recording). Answers and returns `None` when the PDU is refused.
    fn admit(&mut self, header: &Header, frame: Bytes, decode: Decode) -> Option<Admitted> {
        let Some(system_id) = self.bound_transmitter() else {
            self.reply_status(header, CommandStatus::ESME_RINVBNDSTS, false);
            return None;
        };
        let recording = self.shared.record.is_some();
        let (frame, decode) = if recording {
            (Bytes::copy_from_slice(&frame), Decode::Keep)
        } else {
            (frame, decode)
        };
        let decoded = match decode {
            Decode::Skip => Ok(None),
            // Only the verdict matters: drop the PDU where it was decoded.
            Decode::Check => Pdu::decode(frame.clone()).map(|_| None),
            Decode::Keep => Pdu::decode(frame.clone()).map(Some),
        };
        match decoded {
            Ok(pdu) => Some(Admitted {
                system_id,
                frame,
                pdu,
            }),
            Err(e) => {
                self.reply_decode_error(&e);
                None
            }
        }
    }

    fn on_submit(&mut self, header: &Header, frame: Bytes) {
        let decode = if self.shared.config.dlr {
            Decode::Keep
        } else if self.shared.config.validate {
            Decode::Check
        } else {
            Decode::Skip
        };
        let Some(Admitted {
            system_id,
            frame,
            pdu,
        }) = self.admit(header, frame, decode)
        else {
            return;
        };
        self.local.submits += 1;
        let mut message_id = None;
        let status = if self.answer == Answer::NoSubmits {
            self.local.unanswered += 1;
            None
        } else if self.error_rate > 0.0 && self.rng.f64() < self.error_rate {
            self.local.errors_injected += 1;
            let status = self.shared.config.error_status;
            if let Some(pdu) = Pdu::response_to(header, status) {
                self.emit(&pdu, true);
            }
            Some(status)
        } else {
            let id = self.next_message_id();
            self.reply_message_id(header, id);
            self.local.submits_ok += 1;
            message_id = Some(id);
            if self.shared.config.dlr
                && let Some(pdu) = &pdu
            {
                self.receipt(&system_id, pdu, id);
            }
            Some(CommandStatus::ESME_ROK)
        };
        if self.shared.record.is_some()
            && let Some(pdu) = pdu
        {
            self.records.push(Received {
                session: self.id,
                system_id,
                frame,
                pdu,
                message_id,
                status,
            });
        }
    }

    /// `submit_sm_resp` / `data_sm_resp` / `submit_multi_resp` carrying `id`.
    fn reply_message_id(&mut self, req: &Header, id: MessageId) {
        let message_id =
            COctetString::new(Bytes::copy_from_slice(&id.to_hex())).unwrap_or_default();
        let body = match req.command_id {
            CommandId::DATA_SM => Body::DataSmResp(Some(MessageIdResp::new(message_id))),
            CommandId::SUBMIT_MULTI => Body::SubmitMultiResp(Some(SubmitMultiResp {
                message_id,
                ..SubmitMultiResp::default()
            })),
            _ => Body::SubmitSmResp(Some(MessageIdResp::new(message_id))),
        };
        self.emit(
            &Pdu::new(body, CommandStatus::ESME_ROK, req.sequence_number),
            true,
        );
    }

    fn next_message_id(&mut self) -> MessageId {
        if self.ids.is_empty() {
            self.ids = self.shared.take_ids(ID_BLOCK);
        }
        let id = self.ids.start;
        self.ids.start += 1;
        MessageId(id)
    }

    /// `query_sm`, `cancel_sm`, `replace_sm`: answered for ids this simulator issued,
    /// `ESME_RINVMSGID` otherwise.
    fn on_message_op(&mut self, header: &Header, frame: Bytes) {
        let Some(Admitted {
            system_id,
            frame,
            pdu: Some(pdu),
        }) = self.admit(header, frame, Decode::Keep)
        else {
            return;
        };
        let recording = self.shared.record.is_some();
        if self.answer == Answer::NoSubmits {
            self.local.unanswered += 1;
            return;
        }
        self.local.message_ops += 1;
        let seq = header.sequence_number;
        let known = |id: &COctetString<65>| {
            MessageId::parse(id.as_bytes()).filter(|m| self.shared.issued(*m))
        };
        let (reply, id) = match &pdu.body {
            Body::QuerySm(q) => match known(&q.message_id) {
                Some(id) => {
                    let final_date =
                        Timestamp::new(smpp_time(SystemTime::now())).unwrap_or_default();
                    let body = Body::QuerySmResp(Some(QuerySmResp {
                        message_id: q.message_id.clone(),
                        final_date,
                        message_state: MessageState::DELIVERED,
                        error_code: 0,
                    }));
                    (Pdu::new(body, CommandStatus::ESME_ROK, seq), Some(id))
                }
                None => (unknown_id(header), None),
            },
            Body::CancelSm(c) if c.message_id.is_empty() => (
                Pdu::new(Body::CancelSmResp, CommandStatus::ESME_ROK, seq),
                None,
            ),
            Body::CancelSm(c) => match known(&c.message_id) {
                Some(id) => (
                    Pdu::new(Body::CancelSmResp, CommandStatus::ESME_ROK, seq),
                    Some(id),
                ),
                None => (unknown_id(header), None),
            },
            Body::ReplaceSm(r) => match known(&r.message_id) {
                Some(id) => (
                    Pdu::new(Body::ReplaceSmResp, CommandStatus::ESME_ROK, seq),
                    Some(id),
                ),
                None => (unknown_id(header), None),
            },
            _ => return,
        };
        let status = reply.command_status();
        if status != CommandStatus::ESME_ROK {
            self.local.rejected += 1;
        }
        self.emit(&reply, true);
        if recording && header.command_id == CommandId::REPLACE_SM {
            self.records.push(Received {
                session: self.id,
                system_id,
                frame,
                pdu,
                message_id: id,
                status: Some(status),
            });
        }
    }

    fn on_response(&mut self, header: &Header) {
        match header.command_id {
            CommandId::DELIVER_SM_RESP | CommandId::DATA_SM_RESP | CommandId::GENERIC_NACK => {
                let Some(d) = self.outstanding.remove(&header.sequence_number) else {
                    self.local.unexpected_responses += 1;
                    return;
                };
                let ok = header.command_id != CommandId::GENERIC_NACK
                    && header.command_status == CommandStatus::ESME_ROK;
                match (d.kind, ok) {
                    (DeliveryKind::Receipt, true) => self.local.dlrs_acked += 1,
                    (DeliveryKind::Receipt, false) => self.local.dlrs_failed += 1,
                    (DeliveryKind::Mo, true) => self.local.mo_acked += 1,
                    (DeliveryKind::Mo, false) => self.local.mo_failed += 1,
                }
                if !ok {
                    self.shared
                        .dispatch(DispatchCmd::Refused(d), &mut self.local);
                }
            }
            CommandId::UNBIND_RESP if self.state == State::Unbinding => self.closing = true,
            CommandId::ENQUIRE_LINK_RESP => {}
            _ => self.local.unexpected_responses += 1,
        }
    }

    /// Writes `d` with the next sequence number and waits for its response.
    fn send_delivery(&mut self, d: Delivery) {
        let seq = self.alloc_seq();
        let start = self.out.len();
        self.out.extend_from_slice(&d.frame);
        if let Some(frame) = self.out.get_mut(start..) {
            // The frame was encoded by the codec, so it always has a header.
            let _ = set_sequence_number(frame, seq);
        }
        match d.kind {
            DeliveryKind::Receipt => self.local.dlrs_sent += 1,
            DeliveryKind::Mo => self.local.mo_sent += 1,
        }
        self.outstanding.insert(seq, d);
        self.flush_stats();
    }

    /// Sequence numbers run 1..=0x7FFF_FFFF and wrap to 1 (SMPP 3.4 §3.2), skipping
    /// ones still outstanding.
    fn alloc_seq(&mut self) -> u32 {
        loop {
            let seq = self.next_seq;
            self.next_seq = if seq >= 0x7FFF_FFFF { 1 } else { seq + 1 };
            if !self.outstanding.contains_key(&seq) {
                return seq;
            }
        }
    }

    /// Queues the receipt for an accepted submit when it asked for one.
    fn receipt(&mut self, system_id: &Arc<str>, pdu: &Pdu, id: MessageId) {
        let Some(sm) = receipt_for(pdu, id, self.shared.config.dlr_delay) else {
            return;
        };
        let frame = Pdu::new(Body::DeliverSm(sm), CommandStatus::ESME_ROK, 0).to_bytes();
        let delivery = Delivery {
            system_id: Arc::clone(system_id),
            kind: DeliveryKind::Receipt,
            frame,
            failures: 0,
        };
        let due = Instant::now() + self.shared.config.dlr_delay;
        self.shared
            .dispatch(DispatchCmd::Deliver(delivery, due), &mut self.local);
    }

    /// Flushes counters and hands unanswered deliveries back for another receiver.
    fn finish(mut self) {
        self.deregister();
        for (_, d) in self.outstanding.drain() {
            self.shared
                .dispatch(DispatchCmd::Returned(d), &mut self.local);
        }
        self.flush_stats();
        self.shared.session_ended(self.id);
    }
}

fn unknown_id(req: &Header) -> Pdu {
    Pdu::response_to(req, CommandStatus::ESME_RINVMSGID)
        .unwrap_or_else(|| Pdu::generic_nack(CommandStatus::ESME_RINVMSGID, req.sequence_number))
}

/// The receipt `deliver_sm` for an accepted `submit_sm` / `data_sm` whose
/// `registered_delivery` asks for one (bits 1-0 = 01); `None` otherwise.
///
/// The receipt travels back: its source is the message's destination and its
/// destination the message's source.
fn receipt_for(pdu: &Pdu, id: MessageId, delay: Duration) -> Option<DeliverSm> {
    // (ton, npi, address) of both ends; the field names agree, their types do not.
    macro_rules! ends {
        ($sm:expr) => {
            (
                (
                    $sm.source_addr_ton,
                    $sm.source_addr_npi,
                    $sm.source_addr.as_bytes(),
                ),
                (
                    $sm.dest_addr_ton,
                    $sm.dest_addr_npi,
                    $sm.destination_addr.as_bytes(),
                ),
            )
        };
    }
    let ((source, destination), registered_delivery, text) = match &pdu.body {
        Body::SubmitSm(sm) => (
            ends!(sm),
            sm.registered_delivery,
            user_data(
                sm.short_message.as_bytes(),
                sm.tlvs.message_payload(),
                sm.esm_class,
            ),
        ),
        Body::DataSm(sm) => (
            ends!(sm),
            sm.registered_delivery,
            user_data(&[], sm.tlvs.message_payload(), sm.esm_class),
        ),
        _ => return None,
    };
    if registered_delivery & 0x03 != 0x01 {
        return None;
    }
    let now = SystemTime::now();
    let receipt = Receipt {
        id: id.to_string(),
        sub: 1,
        dlvrd: 1,
        submit_date: receipt_date(now),
        done_date: receipt_date(now + delay),
        stat: stat_for_state(MessageState::DELIVERED).to_owned(),
        err: "000".to_owned(),
        text: quote_text(text),
    };
    // receipted_message_id is a C-octet string: the NUL travels in the TLV.
    let mut receipted = id.to_hex().to_vec();
    receipted.push(0);
    let tlvs = Tlvs::new()
        .with(TlvTag::RECEIPTED_MESSAGE_ID, &receipted)
        .and_then(|t| t.with(TlvTag::MESSAGE_STATE, &[MessageState::DELIVERED.0]))
        .ok()?;
    // data_sm addresses may be longer than deliver_sm allows: such a receipt has none.
    Some(DeliverSm {
        source_addr_ton: destination.0,
        source_addr_npi: destination.1,
        source_addr: COctetString::new(Bytes::copy_from_slice(destination.2)).unwrap_or_default(),
        dest_addr_ton: source.0,
        dest_addr_npi: source.1,
        destination_addr: COctetString::new(Bytes::copy_from_slice(source.2)).unwrap_or_default(),
        esm_class: ESM_CLASS_RECEIPT,
        short_message: ShortMessage::new(receipt.to_text()).ok()?,
        tlvs,
        ..DeliverSm::default()
    })
}

/// The message text for the receipt's `text:` field: the payload when present, and
/// without the user data header.
fn user_data<'a>(short_message: &'a [u8], payload: Option<&'a [u8]>, esm_class: u8) -> &'a [u8] {
    let body = payload.unwrap_or(short_message);
    if esm_class & crate::message::ESM_CLASS_UDHI != 0 {
        let udhl = body.first().map_or(0, |l| usize::from(*l) + 1);
        body.get(udhl..).unwrap_or_default()
    } else {
        body
    }
}
