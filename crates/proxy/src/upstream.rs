//! Upstream (SMSC) side: a pool of bound sessions per configured SMSC, one task per
//! session.
//!
//! Each session's connection state (sequence counter, pending table
//! `sequence → (answer handle, deadline, owner)`, write buffer) sits behind one short
//! lock in its [`SessionHandle`]. The task that admits a request (an ESME's session)
//! takes a sequence number, records the request as pending and appends the rewritten
//! frame to the write buffer itself, then wakes the connection's writer: a submit
//! crosses one task boundary on its way to the SMSC, and the writer sends everything
//! appended since its last write in one go. A session whose window is full refuses at
//! once, and the caller tries the next session or answers the ESME. The session task
//! reads the SMSC's responses and answers straight into the ESME's write queue. Every
//! request admitted is answered exactly once: by the SMSC's response, by the proxy on
//! its deadline, or by the proxy when the session is lost.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use smppguard_codec::{
    Bind, Body, COctetString, CommandId, CommandStatus, HEADER_LEN, Header, Pdu,
};
use smppguard_metrics::{MessageKind, Outcome, UpstreamMetrics};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::codec::Decoder;

use crate::config::{BindType, UpstreamConfig};
use crate::framed::{Outgoing, ReadError, SmppCodec, encode_outgoing};
use crate::receipts::Owner;
use crate::relay::{Reply, UpReply, UpstreamCtl};
use crate::server::Shared;
use crate::stats::inc;

/// One request on its way to an SMSC: the ESME's frame and its answer handle.
#[derive(Debug)]
pub(crate) struct Part {
    pub(crate) frame: Bytes,
    pub(crate) reply: Reply,
}

/// The parts of one message: one, inline, for all but multi-part messages.
pub(crate) type Parts = smallvec::SmallVec<[Part; 1]>;

/// Work for one upstream session: a single request, or every part of one multi-part
/// message (so they all travel on the same session).
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) parts: Parts,
    /// The submitting account, recorded as the owner of the message_ids returned.
    pub(crate) account: Arc<str>,
    /// Pool indexes in failover order.
    pub(crate) route: Arc<[usize]>,
}

impl Job {
    /// Answers every part with `status`, counted as `outcome`.
    pub(crate) fn fail(self, outcome: Outcome, status: CommandStatus) {
        for p in self.parts {
            p.reply.answer(outcome, status);
        }
    }
}

/// The handle the rest of the proxy holds on one session.
#[derive(Debug)]
pub(crate) struct SessionHandle {
    pub(crate) bound: AtomicBool,
    pub(crate) ctl_tx: mpsc::Sender<UpstreamCtl>,
    /// Requests sent and not yet answered (for status and drain).
    pub(crate) pending: AtomicUsize,
    /// The connection's state, shared by the tasks that send on it.
    link: Mutex<Link>,
    /// Wakes the writer: data appended to an empty buffer, or the link closing.
    wake: Notify,
    /// Requests outstanding at most (the SMSC's window).
    window: usize,
    /// Frames the write buffer holds at most; beyond, the SMSC stopped reading.
    max_queued: usize,
}

/// One connection's state, behind the handle's lock.
#[derive(Debug)]
struct Link {
    /// The connection this state belongs to.
    generation: u64,
    /// Whether requests may be sent (bound, not unbinding, not lost).
    open: bool,
    /// Set when the connection ends: the writer flushes what is buffered and stops.
    closing: bool,
    seq: SequenceCounter,
    pending: Slots<Pending>,
    /// Deadlines in the order they were set (the timeout is constant, so this is
    /// also deadline order); entries whose request was answered are skipped, and
    /// trimmed from the front as answers arrive.
    deadlines: VecDeque<(Instant, u32)>,
    /// Frames waiting for the writer.
    out: BytesMut,
    /// Frames in `out`.
    queued: usize,
}

impl Link {
    fn new() -> Link {
        Link {
            generation: 0,
            open: false,
            closing: false,
            seq: SequenceCounter::new(),
            pending: Slots::new(),
            deadlines: VecDeque::new(),
            out: BytesMut::new(),
            queued: 0,
        }
    }

    /// Drops deadline entries at the front whose request is no longer pending.
    fn trim_deadlines(&mut self) {
        while let Some(&(d, seq)) = self.deadlines.front() {
            if self.pending.get(seq).is_some_and(|p| p.deadline == d) {
                break;
            }
            self.deadlines.pop_front();
        }
    }
}

/// Outstanding requests by sequence number, without hashing: a power-of-two table
/// indexed by the sequence number's low bits. New sequence numbers skip occupied slots,
/// so a lookup is one index and one compare, and the table never rehashes while its
/// load stays under one half (it doubles beyond, which a steady window never needs).
#[derive(Debug)]
pub(crate) struct Slots<T> {
    slots: Vec<Option<(u32, T)>>,
    len: usize,
}

impl<T> Slots<T> {
    /// An empty table (allocated on first insert).
    pub(crate) fn new() -> Slots<T> {
        Slots {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn index(&self, seq: u32) -> usize {
        usize::try_from(seq).unwrap_or(0) & self.mask()
    }

    /// Room for one more entry at a load of at most one half.
    fn reserve_one(&mut self) {
        let need = self.len.saturating_add(1).saturating_mul(2);
        if self.slots.len() >= need {
            return;
        }
        let cap = need.next_power_of_two().max(16);
        let old = std::mem::replace(&mut self.slots, (0..cap).map(|_| None).collect());
        // Distinct low bits stay distinct under a wider mask: no collisions here.
        for (seq, v) in old.into_iter().flatten() {
            let i = self.index(seq);
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = Some((seq, v));
            }
        }
    }

    /// Takes the next sequence number from `counter` whose slot is free, stores `value`
    /// under it and returns it.
    pub(crate) fn insert_next(&mut self, counter: &mut SequenceCounter, value: T) -> u32 {
        self.reserve_one();
        loop {
            let seq = counter.next_seq();
            let i = self.index(seq);
            // Terminates: fewer than half the slots are taken.
            if let Some(slot @ None) = self.slots.get_mut(i) {
                *slot = Some((seq, value));
                self.len += 1;
                return seq;
            }
        }
    }

    /// The entry under `seq`.
    pub(crate) fn get(&self, seq: u32) -> Option<&T> {
        match self.slots.get(self.index(seq)) {
            Some(Some((s, v))) if *s == seq => Some(v),
            _ => None,
        }
    }

    /// Removes and returns the entry under `seq`.
    pub(crate) fn remove(&mut self, seq: u32) -> Option<T> {
        let i = self.index(seq);
        let slot = self.slots.get_mut(i)?;
        if slot.as_ref().is_some_and(|(s, _)| *s == seq) {
            self.len -= 1;
            slot.take().map(|(_, v)| v)
        } else {
            None
        }
    }

    /// Removes every entry.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.len = 0;
        self.slots
            .iter_mut()
            .filter_map(|s| s.take().map(|(_, v)| v))
            .collect()
    }
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots::new()
    }
}

impl SessionHandle {
    fn new(window: usize, ctl_tx: mpsc::Sender<UpstreamCtl>) -> SessionHandle {
        SessionHandle {
            bound: AtomicBool::new(false),
            ctl_tx,
            pending: AtomicUsize::new(0),
            link: Mutex::new(Link::new()),
            wake: Notify::new(),
            window,
            max_queued: window.saturating_mul(2).saturating_add(CTL_SLACK * 2),
        }
    }

    /// Sends every part of `job` on this connection, or gives it back when the session
    /// is not open or its window is full. Runs on the admitting task: the frames go
    /// straight into the write buffer under new sequence numbers.
    // ok: the job is handed back on the caller's stack; boxing it would allocate per
    // submit, which is what `Parts` avoids.
    #[allow(clippy::result_large_err)]
    fn try_send(
        &self,
        job: Job,
        metrics: Option<&UpstreamMetrics>,
        shared: &Shared,
    ) -> Result<(), Job> {
        let n = job.parts.len();
        let now = Instant::now();
        let deadline = now + shared.fixed.relay.response_timeout;
        let kind = if n > 1 {
            MessageKind::Multipart
        } else {
            MessageKind::Single
        };
        let mut link = self.link.lock();
        if !link.open
            || link.pending.len() >= self.window
            || link.queued.saturating_add(n) > self.max_queued
        {
            return Err(job);
        }
        let was_empty = link.out.is_empty();
        for part in job.parts {
            if let Some(m) = metrics {
                m.added_latency(kind, now.saturating_duration_since(part.reply.arrived()));
            }
            part.reply.account().forwarded.inc();
            let Link {
                seq, pending, out, ..
            } = &mut *link;
            let seq = pending.insert_next(
                seq,
                Pending {
                    reply: part.reply,
                    deadline,
                    sent: now,
                    account: Arc::clone(&job.account),
                },
            );
            encode_outgoing(
                Outgoing::Relay {
                    frame: part.frame,
                    sequence_number: seq,
                },
                out,
            );
            link.deadlines.push_back((deadline, seq));
        }
        link.queued += n;
        self.pending.store(link.pending.len(), Ordering::Relaxed);
        drop(link);
        crate::stats::add(&shared.stats.requests_forwarded, n as u64);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// The sessions bound to one SMSC.
#[derive(Debug)]
pub(crate) struct Pool {
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    pub(crate) sessions: Vec<Arc<SessionHandle>>,
    /// The upstream's metric handles.
    pub(crate) metrics: Arc<UpstreamMetrics>,
    next: AtomicUsize,
}

/// The receiving end a session task consumes.
pub(crate) struct SessionInputs {
    ctl_rx: mpsc::Receiver<UpstreamCtl>,
}

impl Pool {
    /// A pool of `cfg.sessions` handles and the inputs for their tasks.
    pub(crate) fn new(
        index: usize,
        cfg: &UpstreamConfig,
        metrics: Arc<UpstreamMetrics>,
    ) -> (Pool, Vec<SessionInputs>) {
        let mut sessions = Vec::new();
        let mut inputs = Vec::new();
        for _ in 0..cfg.sessions {
            let window = usize::try_from(cfg.window).unwrap_or(1).max(1);
            let (ctl_tx, ctl_rx) = mpsc::channel(window + CTL_SLACK);
            sessions.push(Arc::new(SessionHandle::new(window, ctl_tx)));
            inputs.push(SessionInputs { ctl_rx });
        }
        let pool = Pool {
            index,
            name: Arc::from(cfg.name.as_str()),
            sessions,
            metrics,
            next: AtomicUsize::new(0),
        };
        (pool, inputs)
    }

    /// Sends `job` on a bound session with room, round-robin; gives it back when none
    /// can take it.
    // ok: the job is handed back on the caller's stack; boxing it would allocate per
    // submit, which is what `Parts` avoids.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_dispatch(&self, shared: &Shared, mut job: Job) -> Result<(), Job> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            let Some(s) = self.sessions.get((start + k) % n.max(1)) else {
                continue;
            };
            if !s.bound.load(Ordering::Acquire) {
                continue;
            }
            match s.try_send(job, Some(&self.metrics), shared) {
                Ok(()) => return Ok(()),
                Err(j) => job = j,
            }
        }
        Err(job)
    }

    /// Sessions currently bound.
    pub(crate) fn bound_sessions(&self) -> usize {
        self.sessions
            .iter()
            .filter(|s| s.bound.load(Ordering::Acquire))
            .count()
    }
}

/// Sends `job` along its route: the first pool with a bound session and room takes it.
// ok: the job is handed back on the caller's stack; boxing it would allocate per
// submit, which is what `Parts` avoids.
#[allow(clippy::result_large_err)]
pub(crate) fn dispatch(shared: &Shared, mut job: Job) -> Result<(), Job> {
    let route = Arc::clone(&job.route);
    for &i in route.iter() {
        let Some(pool) = shared.pools.get(i) else {
            continue;
        };
        match pool.try_dispatch(shared, job) {
            Ok(()) => return Ok(()),
            Err(j) => job = j,
        }
    }
    Err(job)
}

/// Room in a session's control queue beyond its window (enquire_link answers,
/// shutdown, drain commands).
const CTL_SLACK: usize = 64;
/// How long an unbind waits for its response.
const UNBIND_WAIT: Duration = Duration::from_secs(2);

/// Why a bound session ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Lost: reconnect.
    Lost(&'static str),
    /// Unbound on request: stop.
    Shutdown,
}

/// An outstanding request on a session.
#[derive(Debug)]
struct Pending {
    reply: Reply,
    deadline: Instant,
    /// When the request was written to the SMSC's queue.
    sent: Instant,
    account: Arc<str>,
}

/// The session task: connect, bind, relay, reconnect with backoff, until shut down.
pub(crate) async fn run_session(
    shared: Arc<Shared>,
    cfg: Arc<UpstreamConfig>,
    pool: usize,
    handle: Arc<SessionHandle>,
    mut inputs: SessionInputs,
) {
    static GENERATION: AtomicU64 = AtomicU64::new(1);
    let mut backoff = cfg.backoff_min;
    loop {
        let attempt = connect_and_bind(&shared, &cfg, pool).await;
        match attempt {
            Ok(stream) => {
                backoff = cfg.backoff_min;
                let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
                let mut s = Session::new(&shared, &cfg, pool, &handle, generation);
                handle.bound.store(true, Ordering::Release);
                shared
                    .stats
                    .upstream_sessions_bound
                    .fetch_add(1, Ordering::Relaxed);
                inc(&shared.stats.upstream_binds);
                if let Some(p) = shared.pools.get(pool) {
                    p.metrics.binds_ok.inc();
                }
                tracing::info!(upstream = %cfg.name, "bound to smsc");
                let end = s.run(stream, &mut inputs).await;
                handle.bound.store(false, Ordering::Release);
                shared
                    .stats
                    .upstream_sessions_bound
                    .fetch_sub(1, Ordering::Relaxed);
                s.fail_all(shared.fixed.relay.upstream_lost_status);
                match end {
                    End::Shutdown => return,
                    End::Lost(why) => {
                        inc(&shared.stats.upstream_disconnects);
                        if let Some(p) = shared.pools.get(pool) {
                            p.metrics.disconnects.inc();
                        }
                        tracing::warn!(upstream = %cfg.name, reason = why, "smsc session lost");
                    }
                }
            }
            Err(e) => {
                inc(&shared.stats.upstream_bind_failures);
                if let Some(p) = shared.pools.get(pool) {
                    p.metrics.binds_failed.inc();
                }
                tracing::warn!(upstream = %cfg.name, error = %e, "cannot bind to smsc");
            }
        }
        // Back off, still answering control messages: a drain must not wait for us.
        let wake = Instant::now() + backoff;
        backoff = (backoff * 2).min(cfg.backoff_max);
        loop {
            tokio::select! {
                _ = sleep_until(wake) => break,
                ctl = inputs.ctl_rx.recv() => match ctl {
                    Some(UpstreamCtl::Shutdown) | None => return,
                    // Nothing is pending while unbound; stale frames are dropped.
                    Some(_) => {}
                },
            }
        }
    }
}

type BoxRead = Box<dyn AsyncRead + Send + Unpin>;

/// A connected, bound stream, split.
struct Bound {
    read: BoxRead,
    write: Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
    rbuf: BytesMut,
}

/// Errors while connecting or binding.
#[derive(Debug, thiserror::Error)]
enum BindError {
    #[error("connect: {0}")]
    Connect(io::Error),
    #[error("tls: {0}")]
    Tls(io::Error),
    #[error("timed out")]
    Timeout,
    #[error("connection closed before the bind response")]
    Closed,
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("bind refused with {0}")]
    Refused(CommandStatus),
    #[error("unexpected answer to bind: {0}")]
    Unexpected(CommandId),
    #[error("invalid bind credentials in the configuration")]
    Credentials,
}

async fn connect_and_bind(
    shared: &Shared,
    cfg: &UpstreamConfig,
    pool: usize,
) -> Result<Bound, BindError> {
    let work = async {
        let tcp = TcpStream::connect(&cfg.address)
            .await
            .map_err(BindError::Connect)?;
        let _ = tcp.set_nodelay(true);
        let stream = shared
            .tls
            .connect(pool, tcp, cfg.connect_timeout, &shared.metrics)
            .await
            .map_err(BindError::Tls)?;
        let (mut read, mut write) = stream.into_split();
        let bind = bind_pdu(cfg, 1).ok_or(BindError::Credentials)?;
        write
            .write_all(&bind.to_bytes())
            .await
            .map_err(BindError::Connect)?;
        let mut rbuf = BytesMut::with_capacity(4096);
        let mut codec = SmppCodec::new(shared.fixed.server.max_pdu_bytes);
        loop {
            let Some(frame) = read_frame(&mut read, &mut rbuf, &mut codec).await? else {
                return Err(BindError::Closed);
            };
            let Some(h) = Header::parse(&frame) else {
                continue;
            };
            if h.command_id == bind.command_id().response_id().unwrap_or(CommandId(0)) {
                if !h.command_status.is_ok() {
                    return Err(BindError::Refused(h.command_status));
                }
                return Ok(Bound { read, write, rbuf });
            }
            if h.command_id == CommandId::GENERIC_NACK {
                return Err(BindError::Refused(h.command_status));
            }
            if h.command_id == CommandId::ENQUIRE_LINK {
                let resp = Header::new(
                    CommandId::ENQUIRE_LINK_RESP,
                    CommandStatus::ESME_ROK,
                    h.sequence_number,
                );
                write
                    .write_all(&resp.to_bytes())
                    .await
                    .map_err(BindError::Connect)?;
                continue;
            }
            return Err(BindError::Unexpected(h.command_id));
        }
    };
    timeout(cfg.connect_timeout, work)
        .await
        .map_err(|_| BindError::Timeout)?
}

/// The bind request for an upstream.
fn bind_pdu(cfg: &UpstreamConfig, seq: u32) -> Option<Pdu> {
    let bind = Bind {
        system_id: COctetString::new(cfg.system_id.clone().into_bytes()).ok()?,
        password: COctetString::new(cfg.password.clone().into_bytes()).ok()?,
        system_type: COctetString::new(cfg.system_type.clone().into_bytes()).ok()?,
        interface_version: cfg.interface_version,
        addr_ton: 0,
        addr_npi: 0,
        address_range: COctetString::empty(),
    };
    let body = match cfg.bind_type {
        BindType::Transmitter => Body::BindTransmitter(bind),
        BindType::Receiver => Body::BindReceiver(bind),
        BindType::Transceiver => Body::BindTransceiver(bind),
    };
    Some(Pdu::new(body, CommandStatus::ESME_ROK, seq))
}

/// Reads until one whole frame is buffered; `None` at end of stream. Cancel-safe:
/// bytes read stay in `rbuf`.
pub(crate) async fn read_frame<R: AsyncRead + Unpin + ?Sized>(
    read: &mut R,
    rbuf: &mut BytesMut,
    codec: &mut SmppCodec,
) -> Result<Option<Bytes>, ReadError> {
    loop {
        if let Some(frame) = codec.decode(rbuf)? {
            return Ok(Some(frame));
        }
        codec.prepare_read(rbuf);
        let spare = rbuf.capacity().saturating_sub(rbuf.len());
        let n = read.read_buf(rbuf).await?;
        if n == 0 {
            return Ok(None);
        }
        codec.note_read(n, spare);
    }
}

/// Sequence numbers 1..=0x7FFFFFFF, wrapping back to 1 (SMPP 3.4 §3.2).
#[derive(Debug, Clone)]
pub(crate) struct SequenceCounter(u32);

impl SequenceCounter {
    pub(crate) fn new() -> Self {
        Self(0)
    }

    pub(crate) fn starting_after(last: u32) -> Self {
        Self(last)
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.0 = if self.0 >= 0x7FFF_FFFF { 1 } else { self.0 + 1 };
        self.0
    }
}

/// The task side of one bound connection.
struct Session<'a> {
    shared: &'a Arc<Shared>,
    cfg: &'a UpstreamConfig,
    pool: usize,
    handle: &'a Arc<SessionHandle>,
    generation: u64,
}

impl<'a> Session<'a> {
    fn new(
        shared: &'a Arc<Shared>,
        cfg: &'a UpstreamConfig,
        pool: usize,
        handle: &'a Arc<SessionHandle>,
        generation: u64,
    ) -> Self {
        Session {
            shared,
            cfg,
            pool,
            handle,
            generation,
        }
    }

    /// Queues a frame the proxy makes itself (enquire_link and its answer, unbind,
    /// answers to the SMSC's requests). The buffer holds at most the window plus the
    /// control slack twice over, so it overflows only when the SMSC stopped reading:
    /// the session is then treated as lost.
    fn write(&self, out: Outgoing) -> Result<(), End> {
        let mut link = self.handle.link.lock();
        if link.closing {
            return Err(End::Lost("writer gone"));
        }
        if link.queued >= self.handle.max_queued {
            return Err(End::Lost("smsc stopped reading"));
        }
        let was_empty = link.out.is_empty();
        encode_outgoing(out, &mut link.out);
        link.queued += 1;
        drop(link);
        if was_empty {
            self.handle.wake.notify_one();
        }
        Ok(())
    }

    /// A new sequence number on this connection (for the proxy's own requests).
    fn next_seq(&self) -> u32 {
        self.handle.link.lock().seq.next_seq()
    }

    /// Stops new requests on this connection (unbinding).
    fn close_to_requests(&self) {
        self.handle.link.lock().open = false;
    }

    async fn run(&mut self, bound: Bound, inputs: &mut SessionInputs) -> End {
        let Bound {
            mut read,
            write,
            mut rbuf,
        } = bound;
        let generation = self.generation;
        {
            let mut link = self.handle.link.lock();
            link.generation = generation;
            link.open = true;
            link.closing = false;
            // The bind used sequence 1.
            link.seq = SequenceCounter::starting_after(1);
            link.out.clear();
            link.queued = 0;
        }
        let mut writer = tokio::spawn(run_link_writer(Arc::clone(self.handle), generation, write));
        let mut codec = SmppCodec::new(self.shared.fixed.server.max_pdu_bytes);
        let interval = self.cfg.enquire_link_interval;
        let mut last_rx = Instant::now();
        let mut enquire_sent: Option<Instant> = None;
        let mut unbind_deadline: Option<Instant> = None;
        // One timer, moved only when it must wake earlier or has fired (see the
        // downstream session loop): no timer registered and cancelled per PDU.
        let timer = sleep_until(last_rx + interval);
        tokio::pin!(timer);
        let mut writer_done = false;
        let response_timeout = self.shared.fixed.relay.response_timeout;
        let mut checked = last_rx;

        let end = loop {
            let mut next = match enquire_sent {
                Some(t) => t + interval,
                None => last_rx + interval,
            };
            // Requests are added by other tasks without waking this one: with none
            // outstanding, the timer still fires one response timeout after it last
            // did, which is before the deadline of anything added since.
            let front = self.handle.link.lock().deadlines.front().map(|(d, _)| *d);
            next = next.min(front.unwrap_or(checked + response_timeout));
            if let Some(d) = unbind_deadline {
                next = next.min(d);
            }
            if next < timer.deadline() || timer.is_elapsed() {
                timer.as_mut().reset(next);
            }
            tokio::select! {
                biased;
                ctl = inputs.ctl_rx.recv() => match ctl {
                    Some(UpstreamCtl::Send { generation, out }) => {
                        if generation == self.generation
                            && let Err(e) = self.write(out)
                        {
                            break e;
                        }
                    }
                    Some(UpstreamCtl::FailPending(status)) => self.fail_all(status),
                    Some(UpstreamCtl::Shutdown) | None => {
                        if unbind_deadline.is_none() {
                            self.close_to_requests();
                            let seq = self.next_seq();
                            let unbind = Header::new(CommandId::UNBIND, CommandStatus::ESME_ROK, seq);
                            if self.write(Outgoing::Header(unbind)).is_err() {
                                break End::Shutdown;
                            }
                            unbind_deadline = Some(Instant::now() + UNBIND_WAIT);
                        }
                    }
                },
                _ = &mut writer, if !writer_done => {
                    writer_done = true;
                    break if unbind_deadline.is_some() { End::Shutdown } else { End::Lost("write failed") };
                }
                r = read_frame(&mut read, &mut rbuf, &mut codec) => match r {
                    Ok(Some(frame)) => {
                        last_rx = Instant::now();
                        enquire_sent = None;
                        // This frame, then every other whole one the read brought.
                        let unbinding = unbind_deadline.is_some();
                        let mut next = Some(frame);
                        let step = loop {
                            let Some(frame) = next else { break Ok(()) };
                            if let Err(e) = self.on_frame(frame, unbinding, last_rx) {
                                break Err(e);
                            }
                            next = match codec.decode(&mut rbuf) {
                                Ok(f) => f,
                                Err(e) => break Err(self.read_failed(e, unbinding)),
                            };
                        };
                        if let Err(e) = step {
                            break e;
                        }
                    }
                    Ok(None) => break if unbind_deadline.is_some() { End::Shutdown } else { End::Lost("closed by smsc") },
                    Err(e) => break self.read_failed(e, unbind_deadline.is_some()),
                },
                () = &mut timer => {
                    let now = Instant::now();
                    checked = now;
                    if unbind_deadline.is_some_and(|d| d <= now) {
                        break End::Shutdown;
                    }
                    self.expire(now);
                    match enquire_sent {
                        Some(t) if now >= t + interval => break End::Lost("enquire_link unanswered"),
                        None if now >= last_rx + interval => {
                            let seq = self.next_seq();
                            let el = Header::new(CommandId::ENQUIRE_LINK, CommandStatus::ESME_ROK, seq);
                            if let Err(e) = self.write(Outgoing::Header(el)) {
                                break e;
                            }
                            enquire_sent = Some(now);
                        }
                        _ => {}
                    }
                }
            }
        };
        // No new requests; the writer flushes what is buffered and shuts the socket.
        {
            let mut link = self.handle.link.lock();
            link.open = false;
            link.closing = true;
        }
        self.handle.wake.notify_one();
        if !writer_done && timeout(UNBIND_WAIT, &mut writer).await.is_err() {
            // The SMSC stopped reading: the writer cannot finish, and must not touch
            // the next connection's buffer (it checks the generation too).
            writer.abort();
        }
        end
    }

    /// Answers requests whose deadline passed.
    fn expire(&mut self, now: Instant) {
        let mut expired = Vec::new();
        {
            let mut link = self.handle.link.lock();
            while let Some(&(d, seq)) = link.deadlines.front() {
                if d > now {
                    break;
                }
                link.deadlines.pop_front();
                if link.pending.get(seq).is_some_and(|p| p.deadline == d)
                    && let Some(p) = link.pending.remove(seq)
                {
                    expired.push(p);
                }
            }
            self.handle
                .pending
                .store(link.pending.len(), Ordering::Relaxed);
        }
        for p in expired {
            inc(&self.shared.stats.responses_timed_out);
            p.reply
                .answer(Outcome::Timeout, self.shared.fixed.relay.timeout_status);
        }
    }

    /// Answers every outstanding request with `status`.
    fn fail_all(&mut self, status: CommandStatus) {
        let pending = {
            let mut link = self.handle.link.lock();
            link.deadlines.clear();
            self.handle.pending.store(0, Ordering::Relaxed);
            link.pending.drain()
        };
        let n = pending.len() as u64;
        let outcome = if status == self.shared.fixed.relay.upstream_lost_status {
            Outcome::UpstreamLost
        } else {
            Outcome::Timeout
        };
        if n > 0 {
            if outcome == Outcome::UpstreamLost {
                crate::stats::add(&self.shared.stats.responses_upstream_lost, n);
            } else {
                crate::stats::add(&self.shared.stats.responses_timed_out, n);
            }
        }
        for p in pending {
            p.reply.answer(outcome, status);
        }
    }

    /// How the session ends when reading from the SMSC failed: data that cannot be
    /// framed is answered with a generic_nack first; a socket error while unbinding is
    /// the end of the unbind.
    fn read_failed(&mut self, e: ReadError, unbinding: bool) -> End {
        match e {
            ReadError::Frame(e) => {
                let _ = self.write(Outgoing::Header(e.response_header()));
                End::Lost("unframeable data from smsc")
            }
            ReadError::Io(_) if unbinding => End::Shutdown,
            ReadError::Io(_) => End::Lost("read error"),
        }
    }

    /// Handles one frame from the SMSC, read at `read_at`.
    fn on_frame(&mut self, frame: Bytes, unbinding: bool, read_at: Instant) -> Result<(), End> {
        let Some(h) = Header::parse(&frame) else {
            return Ok(());
        };
        let id = h.command_id;
        if id.is_response() {
            return self.on_response(h, frame, unbinding, read_at);
        }
        match id {
            CommandId::ENQUIRE_LINK => self.write(Outgoing::Header(Header::new(
                CommandId::ENQUIRE_LINK_RESP,
                CommandStatus::ESME_ROK,
                h.sequence_number,
            ))),
            CommandId::UNBIND => {
                let _ = self.write(Outgoing::Header(Header::new(
                    CommandId::UNBIND_RESP,
                    CommandStatus::ESME_ROK,
                    h.sequence_number,
                )));
                Err(End::Lost("unbound by smsc"))
            }
            CommandId::DELIVER_SM | CommandId::DATA_SM => {
                self.on_deliver(h, frame);
                Ok(())
            }
            // No response exists for these; nothing to relay them to.
            CommandId::ALERT_NOTIFICATION | CommandId::OUTBIND => Ok(()),
            other if !other.is_known() => self.write(Outgoing::Header(Header::new(
                CommandId::GENERIC_NACK,
                CommandStatus::ESME_RINVCMDID,
                h.sequence_number,
            ))),
            _ => match Header::response_to(&h, CommandStatus::ESME_RINVBNDSTS) {
                Some(resp) => self.write(Outgoing::Header(resp)),
                None => Ok(()),
            },
        }
    }

    fn on_response(
        &mut self,
        h: Header,
        frame: Bytes,
        unbinding: bool,
        read_at: Instant,
    ) -> Result<(), End> {
        match h.command_id {
            CommandId::ENQUIRE_LINK_RESP => return Ok(()),
            CommandId::UNBIND_RESP if unbinding => return Err(End::Shutdown),
            _ => {}
        }
        let p = {
            let mut link = self.handle.link.lock();
            let wrong_type = link.pending.get(h.sequence_number).is_some_and(|p| {
                h.command_id != CommandId::GENERIC_NACK
                    && Some(h.command_id) != p.reply.command_id().response_id()
            });
            if wrong_type {
                // A response of the wrong type for this sequence: not ours to relay.
                // The request stays pending, to be answered by its deadline.
                None
            } else {
                let p = link.pending.remove(h.sequence_number);
                if p.is_some() {
                    link.trim_deadlines();
                    self.handle
                        .pending
                        .store(link.pending.len(), Ordering::Relaxed);
                }
                p
            }
        };
        let Some(p) = p else {
            inc(&self.shared.stats.responses_unmatched);
            if let Some(m) = self.pool_metrics() {
                m.responses_unmatched.inc();
            }
            return Ok(());
        };
        if h.command_id == CommandId::GENERIC_NACK {
            // The SMSC could not parse our frame: give the ESME the response it expects,
            // with the nack's status (never ROK: a nack is a failure).
            let status = if h.command_status.is_ok() {
                CommandStatus::ESME_RSYSERR
            } else {
                h.command_status
            };
            inc(&self.shared.stats.responses_relayed);
            self.observe_response(&p, read_at);
            p.reply.answer(Outcome::SmscError, status);
            return Ok(());
        }
        if h.command_status.is_ok()
            && matches!(
                h.command_id,
                CommandId::SUBMIT_SM_RESP | CommandId::DATA_SM_RESP | CommandId::SUBMIT_MULTI_RESP
            )
            && let Some(id) = message_id_of(&frame)
        {
            let now = self.shared.ms_at(read_at);
            self.shared.receipts.insert(
                id,
                Owner {
                    account: Arc::clone(&p.account),
                    pool: self.pool,
                },
                now,
            );
        }
        inc(&self.shared.stats.responses_relayed);
        self.observe_response(&p, read_at);
        p.reply.relay(frame);
        Ok(())
    }

    /// This session's upstream metric handles.
    fn pool_metrics(&self) -> Option<&'a UpstreamMetrics> {
        let shared: &'a Arc<Shared> = self.shared;
        shared.pools.get(self.pool).map(|p| &*p.metrics)
    }

    /// Records the SMSC's response time and the end-to-end time of a request whose
    /// response was read at `now`.
    fn observe_response(&self, p: &Pending, now: Instant) {
        if let Some(m) = self.pool_metrics() {
            m.response_time
                .observe_duration(now.saturating_duration_since(p.sent));
            m.end_to_end
                .observe_duration(now.saturating_duration_since(p.reply.arrived()));
        }
    }

    /// A deliver_sm or data_sm from the SMSC: route it to an ESME session, or answer it
    /// here so the SMSC keeps it.
    fn on_deliver(&mut self, h: Header, frame: Bytes) {
        let status_now = |s: &Self, status: CommandStatus| {
            if let Some(resp) = Header::response_to(&h, status) {
                let _ = s.write(Outgoing::Header(resp));
            }
        };
        let no_session = self.shared.fixed.receipts.no_session_status;
        let Ok(permit) = self.handle.ctl_tx.clone().try_reserve_owned() else {
            inc(&self.shared.stats.delivers_no_session);
            status_now(self, no_session);
            return;
        };
        let reply = UpReply::new(permit, self.generation, h, no_session);
        crate::registry::route_deliver(self.shared, frame, reply);
    }
}

/// Writes what is appended to a connection's buffer, everything appended since the
/// last write in one go, until the link closes (after a last flush) or a write fails.
/// The socket is shut down either way.
async fn run_link_writer(
    handle: Arc<SessionHandle>,
    generation: u64,
    mut io: Box<dyn AsyncWrite + Send + Unpin>,
) {
    let mut buf = BytesMut::new();
    let ok = loop {
        let closing = {
            let mut link = handle.link.lock();
            if link.generation != generation {
                // A newer connection owns the buffer.
                return;
            }
            std::mem::swap(&mut link.out, &mut buf);
            link.queued = 0;
            link.closing
        };
        if buf.is_empty() {
            if closing {
                break true;
            }
            handle.wake.notified().await;
            // Let every task already runnable (the other ESME sessions with submits for
            // this connection) append before the write: one write per round of the
            // scheduler, not one per session that woke the writer.
            tokio::task::yield_now().await;
            continue;
        }
        if io.write_all(&buf).await.is_err() {
            break false;
        }
        buf.clear();
    };
    if ok {
        let _ = io.flush().await;
    }
    // No more requests on a connection that cannot be written.
    {
        let mut link = handle.link.lock();
        if link.generation == generation {
            link.open = false;
        }
    }
    let _ = io.shutdown().await;
}

/// The message_id of a successful submit_sm_resp / data_sm_resp / submit_multi_resp,
/// read without decoding the rest: it is the C-string right after the header.
fn message_id_of(frame: &[u8]) -> Option<&str> {
    let body = frame.get(HEADER_LEN..)?;
    let end = body.iter().take(65).position(|&b| b == 0)?;
    let id = body.get(..end)?;
    if id.is_empty() {
        return None;
    }
    std::str::from_utf8(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_to_one() {
        let mut s = SequenceCounter::new();
        assert_eq!(s.next_seq(), 1);
        let mut s = SequenceCounter::starting_after(0x7FFF_FFFE);
        assert_eq!(s.next_seq(), 0x7FFF_FFFF);
        assert_eq!(s.next_seq(), 1);
    }

    #[test]
    fn slots_hand_out_free_sequence_numbers_and_find_them() {
        let mut seq = SequenceCounter::new();
        let mut t: Slots<u32> = Slots::new();
        let a = t.insert_next(&mut seq, 10);
        let b = t.insert_next(&mut seq, 20);
        assert_eq!((a, b), (1, 2));
        assert_eq!(t.get(a), Some(&10));
        assert_eq!(t.get(b + 16), None, "same slot, other sequence");
        assert_eq!(t.remove(b + 16), None);
        assert_eq!(t.remove(a), Some(10));
        assert_eq!(t.remove(a), None);
        assert_eq!(t.len(), 1);
        let c = t.insert_next(&mut seq, 30);
        assert_eq!(c, 3);
        let mut all = t.drain();
        all.sort_unstable();
        assert_eq!(all, vec![20, 30]);
        assert_eq!(t.len(), 0);
        assert_eq!(t.get(b), None);
    }

    #[test]
    fn slots_skip_occupied_slots_grow_and_survive_the_wrap() {
        // One old request outstanding while thousands pass: its slot is skipped, never
        // reused under another sequence number.
        let mut seq = SequenceCounter::starting_after(0x7FFF_FFF0);
        let mut t: Slots<u32> = Slots::new();
        let old = t.insert_next(&mut seq, 0);
        let mut seen = std::collections::HashSet::new();
        for i in 0..5000u32 {
            let s = t.insert_next(&mut seq, i);
            assert_ne!(s, old);
            assert!((1..=0x7FFF_FFFF).contains(&s));
            assert_eq!(t.remove(s), Some(i));
            seen.insert(s);
        }
        assert_eq!(seen.len(), 5000);
        assert_eq!(t.get(old), Some(&0));
        // Growth keeps every entry reachable.
        let many: Vec<u32> = (0..300)
            .map(|i| t.insert_next(&mut seq, 1000 + i))
            .collect();
        assert_eq!(t.len(), 301);
        for (i, s) in many.iter().enumerate() {
            assert_eq!(t.get(*s), Some(&(1000 + i as u32)));
        }
        assert_eq!(t.get(old), Some(&0));
    }

    #[test]
    fn message_id_of_resp() {
        let ok = hex::decode("00000019800000040000000000000005304131423243334400").unwrap();
        assert_eq!(message_id_of(&ok), Some("0A1B2C3D"));
        let header_only = hex::decode("00000010800000040000004500000005").unwrap();
        assert_eq!(message_id_of(&header_only), None);
    }

    #[test]
    fn bind_pdu_uses_the_configured_type() {
        let cfg = UpstreamConfig {
            name: "a".into(),
            address: "127.0.0.1:1".into(),
            system_id: "proxy".into(),
            password: "pw".into(),
            system_type: String::new(),
            bind_type: BindType::Transmitter,
            interface_version: 0x34,
            sessions: 1,
            window: 1,
            enquire_link_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
            tls: None,
        };
        let pdu = bind_pdu(&cfg, 1).unwrap();
        assert_eq!(pdu.command_id(), CommandId::BIND_TRANSMITTER);
        let bytes = pdu.to_bytes();
        assert_eq!(&bytes[16..22], b"proxy\0");
    }
}
