//! Downstream (ESME) side: one task per connection owns the read half and the session
//! state; a writer task owns the write half and sends everything appended to the
//! connection's shared write buffer ([`DownLink`]) in one go.
//!
//! The read loop never waits on an upstream: a request over the session's window, or
//! one no upstream can take, is answered at once, so the socket is always read and an
//! ESME's enquire_link is always answered. Only the ESME's own reading speed can slow
//! its session down (its write queue is bounded, and a peer that stops reading for
//! longer than the inactivity timeout is disconnected). Answers to admitted requests
//! are encoded into the write buffer by whoever answers (an upstream session's reader,
//! for the SMSC's response), without passing through this task.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use smppguard_codec::{Bind, BindResp, Body, COctetString, CommandId, CommandStatus, Header, Pdu};
use smppguard_metrics::{AccountMetrics, DeliverKind, Outcome};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::codec::Decoder;

use crate::account::Gate;
use crate::admin::AccountControl;
use crate::config::{AccountConfig, BindType, canonical_ip};
use crate::downlink::DownLink;
use crate::framed::{Outgoing, ReadError, SmppCodec};
use crate::registry::DownCmd;
use crate::relay::{InFlight, Reply, UpReply};
use crate::server::{Live, Phase, Shared};
use crate::stats::inc;
use crate::submit::{Requester, handle_request};
use crate::upstream::{SequenceCounter, read_frame};

/// A boxed read half (plain TCP or TLS).
pub(crate) type BoxRead = Box<dyn AsyncRead + Send + Unpin>;
/// A boxed write half.
pub(crate) type BoxWrite = Box<dyn AsyncWrite + Send + Unpin>;

/// Write buffer room (in frames) beyond the request and deliver windows, for answers
/// the read loop makes itself (enquire_link_resp, throttled answers, unbind).
const WRITE_SLACK: usize = 32;
/// How long the proxy waits for unbind_resp after sending unbind.
const UNBIND_WAIT: Duration = Duration::from_secs(5);

/// Serves one ESME connection until it closes.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    read: BoxRead,
    write: BoxWrite,
    peer: SocketAddr,
    conn_id: u64,
) {
    let mut conn = Conn {
        codec: SmppCodec::new(shared.fixed.server.max_pdu_bytes),
        rbuf: BytesMut::with_capacity(4096),
        phase: shared.phase.subscribe(),
        shared,
        read,
        peer,
        conn_id,
        read_at: Instant::now(),
    };
    let Some(session) = conn.unbound(write).await else {
        return;
    };
    let account = Arc::clone(&session.system_id);
    conn.bound(session).await;
    conn.shared.registry.unregister(&account, conn.conn_id);
}

struct Conn {
    shared: Arc<Shared>,
    read: BoxRead,
    rbuf: BytesMut,
    codec: SmppCodec,
    peer: SocketAddr,
    conn_id: u64,
    phase: watch::Receiver<Phase>,
    /// When the last read returned: the arrival time of every frame it brought.
    read_at: Instant,
}

/// A bound session's state.
struct Session {
    system_id: Arc<str>,
    /// The account's metric handles, resolved at bind.
    metrics: Arc<AccountMetrics>,
    /// The account's runtime controls (suspension).
    control: Arc<AccountControl>,
    bind_type: BindType,
    window: Arc<AtomicU32>,
    window_limit: u32,
    /// The connection's write buffer.
    link: Arc<DownLink>,
    writer: tokio::task::JoinHandle<std::io::Result<()>>,
    cmd_rx: mpsc::Receiver<DownCmd>,
    seq: SequenceCounter,
    /// deliver_sm / data_sm sent to the ESME and not yet answered.
    mt_pending: HashMap<u32, (UpReply, Instant)>,
    mt_deadlines: VecDeque<(Instant, u32)>,
    unbinding: Option<Instant>,
    /// The limiter's bind slot, freed when the session ends.
    _bind_permit: Option<smppguard_limits::Permit>,
    /// The account's configuration and route as of the live configuration they were
    /// looked up in, so a request costs a pointer compare instead of two lookups by
    /// name until the next reload.
    resolved: Option<Resolved>,
}

/// An account's configuration and route, resolved by name in one live configuration.
struct Resolved {
    live: Arc<Live>,
    account: Arc<AccountConfig>,
    route: Arc<[usize]>,
}

/// What ends a bound session.
enum Close {
    /// The connection is finished.
    Done,
}

impl Conn {
    /// Writes directly (before the writer task exists).
    async fn write_direct(write: &mut BoxWrite, bytes: &[u8]) -> bool {
        matches!(
            timeout(Duration::from_secs(10), write.write_all(bytes)).await,
            Ok(Ok(()))
        )
    }

    /// Until bind: answers enquire_link, refuses everything else with
    /// `ESME_RINVBNDSTS`, and closes the connection when no bind succeeds in time.
    async fn unbound(&mut self, mut write: BoxWrite) -> Option<Session> {
        let deadline = Instant::now() + self.shared.fixed.server.bind_timeout;
        loop {
            let frame = tokio::select! {
                r = read_frame(&mut self.read, &mut self.rbuf, &mut self.codec) => r,
                _ = sleep_until(deadline) => {
                    inc(&self.shared.stats.bind_timeouts);
                    let _ = write.shutdown().await;
                    return None;
                }
                _ = self.phase.changed() => {
                    if *self.phase.borrow() == Phase::Closing {
                        let _ = write.shutdown().await;
                        return None;
                    }
                    continue;
                }
            };
            let frame = match frame {
                Ok(Some(f)) => f,
                Ok(None) | Err(ReadError::Io(_)) => return None,
                Err(ReadError::Frame(e)) => {
                    let _ = Self::write_direct(&mut write, &e.response_header().to_bytes()).await;
                    let _ = write.shutdown().await;
                    return None;
                }
            };
            let Some(h) = Header::parse(&frame) else {
                continue;
            };
            let answer = match h.command_id {
                CommandId::BIND_TRANSMITTER
                | CommandId::BIND_RECEIVER
                | CommandId::BIND_TRANSCEIVER => match self.bind(frame, h).await {
                    Ok((session_parts, resp)) => {
                        if !Self::write_direct(&mut write, &resp).await {
                            self.shared
                                .registry
                                .unregister(&session_parts.system_id, self.conn_id);
                            return None;
                        }
                        return Some(self.start_session(session_parts, write));
                    }
                    Err(resp) => Some(resp),
                },
                CommandId::ENQUIRE_LINK => Some(
                    Header::new(
                        CommandId::ENQUIRE_LINK_RESP,
                        CommandStatus::ESME_ROK,
                        h.sequence_number,
                    )
                    .to_bytes()
                    .to_vec(),
                ),
                CommandId::UNBIND => {
                    let resp = Header::new(
                        CommandId::UNBIND_RESP,
                        CommandStatus::ESME_ROK,
                        h.sequence_number,
                    );
                    let _ = Self::write_direct(&mut write, &resp.to_bytes()).await;
                    let _ = write.shutdown().await;
                    return None;
                }
                id if id.is_response() => None,
                id if !id.is_known() => Some(
                    Header::new(
                        CommandId::GENERIC_NACK,
                        CommandStatus::ESME_RINVCMDID,
                        h.sequence_number,
                    )
                    .to_bytes()
                    .to_vec(),
                ),
                _ => Header::response_to(&h, CommandStatus::ESME_RINVBNDSTS)
                    .map(|r| r.to_bytes().to_vec()),
            };
            if let Some(bytes) = answer
                && !Self::write_direct(&mut write, &bytes).await
            {
                return None;
            }
        }
    }

    /// Authenticates a bind. `Ok` carries the registered session's parts and the
    /// bind response; `Err` the refusal to send.
    async fn bind(&mut self, frame: Bytes, h: Header) -> Result<(NewSession, Vec<u8>), Vec<u8>> {
        let shared = Arc::clone(&self.shared);
        let refuse = |status: CommandStatus| {
            inc(&shared.stats.bind_failures);
            Header::response_to(&h, status)
                .map(|r| r.to_bytes().to_vec())
                .unwrap_or_default()
        };
        let pdu = match Pdu::decode(frame) {
            Ok(p) => p,
            Err(e) => return Err(refuse(e.status())),
        };
        let (bind, bind_type): (&Bind, BindType) = match &pdu.body {
            Body::BindTransmitter(b) => (b, BindType::Transmitter),
            Body::BindReceiver(b) => (b, BindType::Receiver),
            Body::BindTransceiver(b) => (b, BindType::Transceiver),
            _ => return Err(refuse(CommandStatus::ESME_RINVCMDID)),
        };
        if *self.phase.borrow() != Phase::Running {
            return Err(refuse(CommandStatus::ESME_RBINDFAIL));
        }
        let ip = canonical_ip(self.peer.ip());
        let system_id = bind.system_id.as_ref();
        let auth = &shared.auth;
        match auth.gate(ip, system_id, Instant::now()) {
            Gate::Locked => {
                inc(&shared.stats.bind_lockouts);
                tracing::warn!(peer = %ip, "bind refused: locked out after repeated failures");
                return Err(refuse(CommandStatus::ESME_RBINDFAIL));
            }
            Gate::Proceed(delay) => {
                if !delay.is_zero() {
                    sleep(delay).await;
                }
            }
        }
        let live = shared.live.load_full();
        let account = bind
            .system_id
            .as_str()
            .and_then(|s| live.config.accounts.get(s))
            .cloned();
        let ok = auth
            .verify(
                account.as_ref().map(|a| a.password_hash.as_str()),
                bind.password.as_ref(),
            )
            .await;
        let Some(account) = account else {
            if auth.failed(ip, system_id, Instant::now()) {
                tracing::warn!(peer = %ip, "lockout started after repeated bind failures");
            }
            tracing::info!(peer = %ip, "bind refused: unknown system_id");
            let status = if shared.fixed.auth.hide_unknown_system_id {
                CommandStatus::ESME_RINVPASWD
            } else {
                CommandStatus::ESME_RINVSYSID
            };
            return Err(refuse(status));
        };
        if !ok {
            if auth.failed(ip, system_id, Instant::now()) {
                tracing::warn!(account = %account.system_id, peer = %ip, "lockout started after repeated bind failures");
            }
            tracing::info!(account = %account.system_id, peer = %ip, "bind refused: wrong password");
            return Err(refuse(CommandStatus::ESME_RINVPASWD));
        }
        let permitted =
            account.enabled && account.ip_allowed(ip) && account.bind_types.contains(&bind_type);
        if !permitted {
            tracing::info!(account = %account.system_id, peer = %ip, bind = bind_type.as_str(), "bind refused: disabled, address or bind type not allowed");
            return Err(refuse(CommandStatus::ESME_RBINDFAIL));
        }
        // The limiter's bind count (fleet-wide with Redis); held until the session ends.
        let Ok(bind_permit) = crate::limits::acquire_bind(&shared, &account.system_id) else {
            return Err(refuse(CommandStatus::ESME_RBINDFAIL));
        };
        let deliver_window = usize::try_from(shared.fixed.server.deliver_window).unwrap_or(1);
        let (cmd_tx, cmd_rx) = mpsc::channel(deliver_window);
        let window = Arc::new(AtomicU32::new(0));
        if shared
            .registry
            .register(
                &account.system_id,
                account.max_binds,
                self.conn_id,
                bind_type,
                cmd_tx,
                Arc::clone(&window),
            )
            .is_err()
        {
            tracing::info!(account = %account.system_id, "bind refused: max_binds reached");
            return Err(refuse(CommandStatus::ESME_RBINDFAIL));
        }
        auth.succeeded(system_id);
        inc(&shared.stats.binds_ok);
        tracing::info!(account = %account.system_id, peer = %self.peer, bind = bind_type.as_str(), "bound");
        let version = match bind.interface_version {
            v if v >= 0x50 => Some(0x50),
            v if v >= 0x34 => Some(0x34),
            // SMPP 3.3 has no TLVs: advertise nothing.
            _ => None,
        };
        let name = COctetString::new(shared.fixed.server.system_id.clone().into_bytes())
            .unwrap_or_default();
        let resp = BindResp::new(name, version);
        let body = match bind_type {
            BindType::Transmitter => Body::BindTransmitterResp(Some(resp)),
            BindType::Receiver => Body::BindReceiverResp(Some(resp)),
            BindType::Transceiver => Body::BindTransceiverResp(Some(resp)),
        };
        let bytes = Pdu::new(body, CommandStatus::ESME_ROK, h.sequence_number)
            .to_bytes()
            .to_vec();
        Ok((
            NewSession {
                system_id: Arc::clone(&account.system_id),
                metrics: shared.metrics.account(&account.system_id),
                control: shared.controls.get(&account.system_id),
                account,
                bind_type,
                cmd_rx,
                window,
                bind_permit,
            },
            bytes,
        ))
    }

    fn start_session(&self, s: NewSession, write: BoxWrite) -> Session {
        let server = &self.shared.fixed.server;
        let window = usize::try_from(s.account.window).unwrap_or(1);
        let deliver = usize::try_from(server.deliver_window).unwrap_or(1);
        let link = DownLink::new(window + deliver + WRITE_SLACK);
        let writer =
            tokio::spawn(Arc::clone(&link).run_writer(write, Some(server.inactivity_timeout)));
        Session {
            system_id: s.system_id,
            metrics: s.metrics,
            control: s.control,
            bind_type: s.bind_type,
            window: s.window,
            window_limit: s.account.window,
            link,
            writer,
            cmd_rx: s.cmd_rx,
            seq: SequenceCounter::new(),
            mt_pending: HashMap::new(),
            mt_deadlines: VecDeque::new(),
            unbinding: None,
            resolved: None,
            _bind_permit: s.bind_permit,
        }
    }

    /// The bound session loop.
    async fn bound(&mut self, mut s: Session) {
        let inactivity = self.shared.fixed.server.inactivity_timeout;
        let mut last_rx = Instant::now();
        if *self.phase.borrow() == Phase::Closing {
            let _ = self.start_unbind(&mut s).await;
        }
        // One timer for the session, moved only when it must wake earlier or has fired:
        // a frame pushes the inactivity deadline later without touching the timer (it
        // fires early, finds the session active and is re-armed), so the read path
        // does not register and cancel a timer per PDU.
        let timer = sleep_until(last_rx + inactivity);
        tokio::pin!(timer);
        loop {
            let mut next = last_rx + inactivity;
            if let Some((d, _)) = s.mt_deadlines.front() {
                next = next.min(*d);
            }
            if let Some(d) = s.unbinding {
                next = next.min(d);
            }
            if next < timer.deadline() || timer.is_elapsed() {
                timer.as_mut().reset(next);
            }
            let step = tokio::select! {
                biased;
                changed = self.phase.changed() => {
                    if changed.is_err() || *self.phase.borrow() == Phase::Closing {
                        self.start_unbind(&mut s).await
                    } else {
                        Ok(())
                    }
                }
                cmd = s.cmd_rx.recv() => match cmd {
                    Some(DownCmd::Deliver { frame, reply, kind }) => self.deliver(&mut s, frame, reply, kind).await,
                    Some(DownCmd::Unbind) => self.start_unbind(&mut s).await,
                    None => Err(Close::Done),
                },
                r = read_frame(&mut self.read, &mut self.rbuf, &mut self.codec) => match r {
                    Ok(Some(frame)) => {
                        last_rx = Instant::now();
                        self.read_at = last_rx;
                        self.on_frames(&mut s, frame).await
                    }
                    Ok(None) | Err(ReadError::Io(_)) => Err(Close::Done),
                    Err(ReadError::Frame(e)) => {
                        let _ = s.link.send(Outgoing::Header(e.response_header())).await;
                        Err(Close::Done)
                    }
                },
                () = &mut timer => {
                    let now = Instant::now();
                    self.expire_delivers(&mut s, now);
                    if s.unbinding.is_some_and(|d| d <= now) {
                        Err(Close::Done)
                    } else if now >= last_rx + inactivity {
                        inc(&self.shared.stats.inactivity_timeouts);
                        tracing::info!(account = %s.system_id, "closing inactive session");
                        Err(Close::Done)
                    } else {
                        Ok(())
                    }
                }
            };
            if let Err(Close::Done) = step {
                break;
            }
        }
        // Unanswered deliver_sm go back to the SMSC as "retry later" (UpReply drop).
        s.mt_pending.clear();
        // The writer ends once every queued frame and every outstanding answer (each
        // holds a port of the link) has been written.
        s.link.close();
        let _ = timeout(
            self.shared.fixed.relay.response_timeout + Duration::from_secs(1),
            s.writer,
        )
        .await;
    }

    async fn start_unbind(&mut self, s: &mut Session) -> Result<(), Close> {
        if s.unbinding.is_some() {
            return Ok(());
        }
        let seq = s.seq.next_seq();
        s.unbinding = Some(Instant::now() + UNBIND_WAIT);
        s.link
            .send(Outgoing::Header(Header::new(
                CommandId::UNBIND,
                CommandStatus::ESME_ROK,
                seq,
            )))
            .await
            .map_err(|_| Close::Done)
    }

    async fn send(s: &Session, out: Outgoing) -> Result<(), Close> {
        s.link.send(out).await.map_err(|_| Close::Done)
    }

    async fn answer(s: &Session, h: &Header, status: CommandStatus) -> Result<(), Close> {
        match Header::response_to(h, status) {
            Some(resp) => Self::send(s, Outgoing::Header(resp)).await,
            None => Ok(()),
        }
    }

    /// Handles `first` and then every other whole frame the last read brought, without
    /// going back through the session loop's select (and its clock read) for each.
    async fn on_frames(&mut self, s: &mut Session, first: Bytes) -> Result<(), Close> {
        self.on_frame(s, first).await?;
        loop {
            match self.codec.decode(&mut self.rbuf) {
                Ok(Some(frame)) => self.on_frame(s, frame).await?,
                Ok(None) => return Ok(()),
                Err(ReadError::Frame(e)) => {
                    let _ = s.link.send(Outgoing::Header(e.response_header())).await;
                    return Err(Close::Done);
                }
                Err(ReadError::Io(_)) => return Err(Close::Done),
            }
        }
    }

    async fn on_frame(&mut self, s: &mut Session, frame: Bytes) -> Result<(), Close> {
        let Some(h) = Header::parse(&frame) else {
            return Ok(());
        };
        let shared = &self.shared;
        match h.command_id {
            CommandId::SUBMIT_SM
            | CommandId::DATA_SM
            | CommandId::SUBMIT_MULTI
            | CommandId::REPLACE_SM
            | CommandId::QUERY_SM
            | CommandId::CANCEL_SM
            | CommandId::BROADCAST_SM
            | CommandId::QUERY_BROADCAST_SM
            | CommandId::CANCEL_BROADCAST_SM => {
                inc(&shared.stats.requests_received);
                let m = &s.metrics;
                m.received.inc();
                m.received_bytes.inc_by(frame.len() as u64);
                if !s.bind_type.can_send() {
                    m.outcome(Outcome::Invalid);
                    return Self::answer(s, &h, CommandStatus::ESME_RINVBNDSTS).await;
                }
                if s.unbinding.is_some() || *self.phase.borrow() != Phase::Running {
                    inc(&shared.stats.requests_draining);
                    m.outcome(Outcome::Draining);
                    return Self::answer(s, &h, shared.fixed.relay.draining_status).await;
                }
                if s.control.is_suspended() {
                    m.outcome(Outcome::Suspended);
                    return Self::answer(s, &h, shared.fixed.relay.block_status).await;
                }
                let Some(slot) =
                    InFlight::try_acquire(&s.window, s.window_limit, &shared.outstanding)
                else {
                    inc(&shared.stats.requests_throttled);
                    m.outcome(Outcome::Throttled);
                    return Self::answer(s, &h, shared.fixed.relay.throttled_status).await;
                };
                let reply = Reply::new(
                    s.link.port(),
                    h,
                    Arc::clone(&shared.stats),
                    Arc::clone(&s.metrics),
                    slot,
                    self.read_at,
                );
                let live = shared.live.load();
                let resolved = match s.resolved.take() {
                    Some(r) if Arc::ptr_eq(&r.live, &live) => r,
                    _ => {
                        let Some(account) = live.config.accounts.get(&*s.system_id) else {
                            // Removed by a reload; the session is being unbound.
                            reply.answer(Outcome::Draining, shared.fixed.relay.draining_status);
                            return Ok(());
                        };
                        let Some(route) = live.routes.get(&account.route) else {
                            reply
                                .answer(Outcome::NoUpstream, shared.fixed.relay.no_upstream_status);
                            return Ok(());
                        };
                        Resolved {
                            live: Arc::clone(&live),
                            account: Arc::clone(account),
                            route: Arc::clone(route),
                        }
                    }
                };
                drop(live);
                handle_request(
                    &Requester {
                        shared,
                        account: &resolved.account,
                        route: &resolved.route,
                    },
                    frame,
                    reply,
                );
                s.resolved = Some(resolved);
                Ok(())
            }
            CommandId::ENQUIRE_LINK => Self::answer(s, &h, CommandStatus::ESME_ROK).await,
            CommandId::UNBIND => {
                Self::answer(s, &h, CommandStatus::ESME_ROK).await?;
                Err(Close::Done)
            }
            CommandId::UNBIND_RESP => {
                if s.unbinding.is_some() {
                    Err(Close::Done)
                } else {
                    Ok(())
                }
            }
            CommandId::BIND_TRANSMITTER
            | CommandId::BIND_RECEIVER
            | CommandId::BIND_TRANSCEIVER => Self::answer(s, &h, CommandStatus::ESME_RALYBND).await,
            CommandId::DELIVER_SM_RESP | CommandId::DATA_SM_RESP | CommandId::GENERIC_NACK => {
                self.delivered(s, h, frame);
                Ok(())
            }
            id if id.is_response() => Ok(()),
            id if !id.is_known() => {
                Self::send(
                    s,
                    Outgoing::Header(Header::new(
                        CommandId::GENERIC_NACK,
                        CommandStatus::ESME_RINVCMDID,
                        h.sequence_number,
                    )),
                )
                .await
            }
            // deliver_sm, alert_notification, outbind from an ESME: not in this direction.
            _ => match Header::response_to(&h, CommandStatus::ESME_RINVBNDSTS) {
                Some(resp) => Self::send(s, Outgoing::Header(resp)).await,
                None => Ok(()),
            },
        }
    }

    /// Sends a deliver_sm / data_sm from an SMSC to this ESME.
    async fn deliver(
        &mut self,
        s: &mut Session,
        frame: Bytes,
        reply: UpReply,
        kind: DeliverKind,
    ) -> Result<(), Close> {
        let limit = usize::try_from(self.shared.fixed.server.deliver_window).unwrap_or(1);
        if s.unbinding.is_some() || s.mt_pending.len() >= limit {
            inc(&self.shared.stats.delivers_no_session);
            reply.status(self.shared.fixed.receipts.no_session_status);
            return Ok(());
        }
        let seq = s.seq.next_seq();
        let deadline = Instant::now() + self.shared.fixed.server.deliver_timeout;
        s.mt_pending.insert(seq, (reply, deadline));
        s.mt_deadlines.push_back((deadline, seq));
        s.metrics.delivered(kind);
        Self::send(
            s,
            Outgoing::Relay {
                frame,
                sequence_number: seq,
            },
        )
        .await
    }

    /// The ESME answered a deliver_sm / data_sm: relay its answer to the SMSC.
    fn delivered(&self, s: &mut Session, h: Header, frame: Bytes) {
        let Some((reply, _)) = s.mt_pending.remove(&h.sequence_number) else {
            return;
        };
        if h.command_id == CommandId::GENERIC_NACK {
            let status = if h.command_status.is_ok() {
                CommandStatus::ESME_RX_T_APPN
            } else {
                h.command_status
            };
            reply.status(status);
        } else if Some(h.command_id) == reply.command_id().response_id() {
            reply.relay(frame);
        } else {
            // Wrong response type for this sequence: keep waiting for the right one.
            let deadline = Instant::now() + self.shared.fixed.server.deliver_timeout;
            s.mt_pending.insert(h.sequence_number, (reply, deadline));
            s.mt_deadlines.push_back((deadline, h.sequence_number));
        }
    }

    fn expire_delivers(&self, s: &mut Session, now: Instant) {
        while let Some(&(d, seq)) = s.mt_deadlines.front() {
            if d > now {
                break;
            }
            s.mt_deadlines.pop_front();
            if s.mt_pending.get(&seq).is_some_and(|(_, dl)| *dl == d)
                && let Some((reply, _)) = s.mt_pending.remove(&seq)
            {
                inc(&self.shared.stats.delivers_timed_out);
                reply.status(self.shared.fixed.receipts.no_session_status);
            }
        }
    }
}

/// A freshly registered session, before its writer starts.
struct NewSession {
    system_id: Arc<str>,
    metrics: Arc<AccountMetrics>,
    control: Arc<AccountControl>,
    account: Arc<AccountConfig>,
    bind_type: BindType,
    cmd_rx: mpsc::Receiver<DownCmd>,
    window: Arc<AtomicU32>,
    bind_permit: Option<smppguard_limits::Permit>,
}
