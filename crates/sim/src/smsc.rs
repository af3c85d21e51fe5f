//! The SMSC simulator: [`Smsc::start`] listens, binds ESMEs, answers their
//! operations and delivers receipts and MO messages; [`SmscHandle`] inspects and
//! steers it while it runs.

use std::{
    collections::HashMap,
    net::SocketAddr,
    ops::Range,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU8, AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use bytes::Bytes;
use smppguard_codec::{Body, COctetString, CommandStatus, DeliverSm, Pdu};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{Notify, mpsc},
    task::JoinHandle,
    time::Instant,
};

use crate::{BindType, BuildError, MessageId, SimError, message::Sms};

mod config;
mod dispatch;
mod record;
mod session;
mod stats;

pub use config::{Answer, MoConfig, SimConfig};
pub use record::Received;
pub use stats::Stats;

use dispatch::{Delivery, DeliveryKind, DispatchCmd, Dispatcher, Registry};
use record::Record;
use session::{Session, SessionIo};
use stats::Counters;

/// Capacity of the channel into the dispatcher; beyond it deliveries are dropped
/// (and counted) rather than queued without bound.
const DISPATCH_QUEUE: usize = 64 * 1024;
/// Capacity of each session's delivery channel.
const SESSION_QUEUE: usize = 1024;
/// How long [`SmscHandle::shutdown`] waits for ESMEs to answer `unbind`.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Where the simulator listens: an address to bind, or a listener the caller bound.
#[derive(Debug)]
pub enum Listen {
    /// Bind this address (port 0 picks a free port; see [`SmscHandle::local_addr`]).
    Addr(SocketAddr),
    /// Use this listener.
    Listener(TcpListener),
}

impl From<SocketAddr> for Listen {
    fn from(addr: SocketAddr) -> Self {
        Listen::Addr(addr)
    }
}

impl From<TcpListener> for Listen {
    fn from(listener: TcpListener) -> Self {
        Listen::Listener(listener)
    }
}

/// A bound ESME session, as listed by [`SmscHandle::bound_sessions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSession {
    /// The connection number.
    pub session: u64,
    /// The ESME's address.
    pub peer: SocketAddr,
    /// The `system_id` it bound as.
    pub system_id: String,
    /// How it bound.
    pub bind_type: BindType,
}

/// The SMSC simulator. See the crate documentation for its behaviour.
#[derive(Debug, Clone, Copy)]
pub struct Smsc;

impl Smsc {
    /// Starts listening and serving; the simulator runs on the current tokio runtime
    /// until [`SmscHandle::shutdown`] or until the last handle is dropped.
    pub async fn start(
        listen: impl Into<Listen>,
        config: SimConfig,
    ) -> Result<SmscHandle, SimError> {
        let listener = match listen.into() {
            Listen::Addr(addr) => TcpListener::bind(addr)
                .await
                .map_err(|source| SimError::Listen { addr, source })?,
            Listen::Listener(listener) => listener,
        };
        let addr = listener.local_addr()?;
        let bind_system_id = COctetString::new(Bytes::from(config.system_id.clone().into_bytes()))
            .map_err(BuildError::field("system_id"))?;
        let (dispatch_tx, dispatch_rx) = mpsc::channel(DISPATCH_QUEUE);
        let mo = config.mo.clone();
        let shared = Arc::new(Shared {
            bind_system_id,
            accounts: config
                .accounts
                .iter()
                .map(|(s, p)| (s.clone().into_bytes(), p.clone().into_bytes()))
                .collect(),
            latency_us: AtomicU64::new(duration_us(config.latency)),
            error_rate: AtomicU64::new(config.error_rate.clamp(0.0, 1.0).to_bits()),
            answer: AtomicU8::new(config.answer.to_u8()),
            counters: Counters::default(),
            record: config.record.filter(|cap| *cap > 0).map(Record::new),
            registry: Registry::default(),
            dispatch_tx,
            id_base: id_base(config.seed),
            next_id: AtomicU64::new(id_base(config.seed)),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            config,
        });
        let mut background = vec![tokio::spawn(
            Dispatcher::new(Arc::clone(&shared)).run(dispatch_rx),
        )];
        if let Some(mo) = mo {
            background.push(tokio::spawn(mo_loop(Arc::clone(&shared), mo)));
        }
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::info!(%addr, "smsc simulator listening");
        Ok(SmscHandle {
            inner: Arc::new(Inner {
                shared,
                addr,
                accept: Mutex::new(Some(accept)),
                background,
            }),
        })
    }
}

/// Controls a running simulator. Clones share it; dropping the last one stops it.
#[derive(Debug, Clone)]
pub struct SmscHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Mutex<Option<JoinHandle<()>>>,
    background: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(accept) = lock(&self.accept).take() {
            accept.abort();
        }
        for task in &self.background {
            task.abort();
        }
        for (_, entry) in self.shared.take_sessions() {
            entry.task.abort();
        }
    }
}

// === impl SmscHandle ===

impl SmscHandle {
    /// The address it listens on (the same across [`restart`](Self::restart)).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.inner.shared.counters.snapshot()
    }

    /// Every recorded submit-like PDU, oldest first (see [`SimConfig::record`]).
    pub fn received(&self) -> Vec<Received> {
        self.inner
            .shared
            .record
            .as_ref()
            .map_or_else(Vec::new, Record::snapshot)
    }

    /// Like [`received`](Self::received), and empties the record.
    pub fn take_received(&self) -> Vec<Received> {
        self.inner
            .shared
            .record
            .as_ref()
            .map_or_else(Vec::new, Record::take)
    }

    /// Entries the record discarded because it was full.
    pub fn received_dropped(&self) -> u64 {
        self.inner.shared.record.as_ref().map_or(0, Record::dropped)
    }

    /// Waits until `pred` holds for the counters, checking every few milliseconds.
    /// `Err` carries the last counters when `timeout` passes first.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Stats) -> bool,
    ) -> Result<Stats, Stats> {
        let deadline = Instant::now() + timeout;
        loop {
            let stats = self.stats();
            if pred(&stats) {
                return Ok(stats);
            }
            if Instant::now() >= deadline {
                return Err(stats);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The bound sessions.
    pub fn bound_sessions(&self) -> Vec<BoundSession> {
        let mut out: Vec<BoundSession> = self
            .inner
            .shared
            .lock_sessions()
            .iter()
            .filter_map(|(id, e)| {
                e.bound.as_ref().map(|(system_id, bind_type)| BoundSession {
                    session: *id,
                    peer: e.peer,
                    system_id: system_id.to_string(),
                    bind_type: *bind_type,
                })
            })
            .collect();
        out.sort_by_key(|b| b.session);
        out
    }

    /// Open connections, bound or not.
    pub fn connections(&self) -> usize {
        self.inner.shared.lock_sessions().len()
    }

    /// Sends `message` as an MO `deliver_sm` to a receiver (RX or TRX) of
    /// `system_id`, round-robin among its binds; held until one binds when none is.
    pub async fn send_mo(&self, system_id: &str, message: DeliverSm) -> Result<(), SimError> {
        let frame = Pdu::new(Body::DeliverSm(message), CommandStatus::ESME_ROK, 0).to_bytes();
        let delivery = Delivery {
            system_id: system_id.into(),
            kind: DeliveryKind::Mo,
            frame,
            failures: 0,
        };
        self.inner
            .shared
            .dispatch_tx
            .send(DispatchCmd::Deliver(delivery, Instant::now()))
            .await
            .map_err(|_| SimError::Stopped)
    }

    /// Changes what the simulator answers, effective from the next read.
    pub fn set_answer(&self, answer: Answer) {
        self.inner.shared.answer.store(answer.to_u8(), Relaxed);
    }

    /// Changes the response latency, effective from the next read.
    pub fn set_latency(&self, latency: Duration) {
        self.inner
            .shared
            .latency_us
            .store(duration_us(latency), Relaxed);
    }

    /// Changes the error injection rate (clamped to 0..=1), effective from the next
    /// read.
    pub fn set_error_rate(&self, rate: f64) {
        self.inner
            .shared
            .error_rate
            .store(rate.clamp(0.0, 1.0).to_bits(), Relaxed);
    }

    /// Whether the simulator is accepting connections (false after
    /// [`kill`](Self::kill) until [`restart`](Self::restart)).
    pub fn is_listening(&self) -> bool {
        lock(&self.inner.accept).is_some()
    }

    /// The SMSC dies: it stops listening and drops every connection at once, without
    /// `unbind` or pending responses. Receipts and MO messages not yet sent stay
    /// queued for after a restart; those awaiting `deliver_sm_resp` are lost.
    pub async fn kill(&self) {
        let accept = lock(&self.inner.accept).take();
        if let Some(accept) = accept {
            accept.abort();
            let _ = accept.await;
        }
        let sessions = self.inner.shared.take_sessions();
        for (_, entry) in &sessions {
            entry.task.abort();
        }
        for (_, entry) in sessions {
            let _ = entry.task.await;
        }
        tracing::info!(addr = %self.inner.addr, "smsc simulator killed");
    }

    /// Listens again on the same address after [`kill`](Self::kill); counters,
    /// message ids and queued deliveries carry on.
    pub async fn restart(&self) -> Result<(), SimError> {
        if self.is_listening() {
            return Err(SimError::AlreadyRunning);
        }
        let addr = self.inner.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Listen { addr, source })?;
        let mut slot = lock(&self.inner.accept);
        if slot.is_some() {
            return Err(SimError::AlreadyRunning);
        }
        *slot = Some(tokio::spawn(accept_loop(
            listener,
            Arc::clone(&self.inner.shared),
        )));
        tracing::info!(%addr, "smsc simulator restarted");
        Ok(())
    }

    /// Sends `unbind` on every bound session (and closes unbound ones), then waits up
    /// to `grace` for the sessions to end. Returns how many are still open.
    pub async fn unbind_all(&self, grace: Duration) -> usize {
        for entry in self.inner.shared.lock_sessions().values() {
            entry.unbind.notify_one();
        }
        let deadline = Instant::now() + grace;
        loop {
            let open = self.connections();
            if open == 0 || Instant::now() >= deadline {
                return open;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops gracefully: `unbind` to every session, up to one second for the answers,
    /// then stops listening and drops what is left.
    pub async fn shutdown(self) {
        self.unbind_all(SHUTDOWN_GRACE).await;
        self.kill().await;
        for task in &self.inner.background {
            task.abort();
        }
    }
}

/// State shared by the handle, the accept loop, the sessions and the dispatcher.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) bind_system_id: COctetString<16>,
    accounts: HashMap<Vec<u8>, Vec<u8>>,
    latency_us: AtomicU64,
    error_rate: AtomicU64,
    answer: AtomicU8,
    pub(crate) counters: Counters,
    pub(crate) record: Option<Record>,
    pub(crate) registry: Registry,
    dispatch_tx: mpsc::Sender<DispatchCmd>,
    id_base: u64,
    next_id: AtomicU64,
    sessions: Mutex<HashMap<u64, SessionEntry>>,
    next_session: AtomicU64,
}

#[derive(Debug)]
struct SessionEntry {
    task: JoinHandle<()>,
    unbind: Arc<Notify>,
    peer: SocketAddr,
    bound: Option<(Arc<str>, BindType)>,
}

// === impl Shared ===

impl Shared {
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Relaxed))
    }

    pub(crate) fn error_rate(&self) -> f64 {
        f64::from_bits(self.error_rate.load(Relaxed))
    }

    pub(crate) fn answer(&self) -> Answer {
        Answer::from_u8(self.answer.load(Relaxed))
    }

    /// `ESME_ROK`, `ESME_RINVSYSID` (unknown system_id) or `ESME_RINVPASWD`.
    pub(crate) fn check_credentials(&self, system_id: &[u8], password: &[u8]) -> CommandStatus {
        if self.accounts.is_empty() {
            return CommandStatus::ESME_ROK;
        }
        match self.accounts.get(system_id) {
            None => CommandStatus::ESME_RINVSYSID,
            Some(expected) if expected.as_slice() != password => CommandStatus::ESME_RINVPASWD,
            Some(_) => CommandStatus::ESME_ROK,
        }
    }

    /// Hands a command to the dispatcher, counting a drop when its queue is full.
    pub(crate) fn dispatch(&self, cmd: DispatchCmd, local: &mut Stats) {
        if self.dispatch_tx.try_send(cmd).is_err() {
            local.deliveries_dropped += 1;
        }
    }

    /// Reserves `n` consecutive message ids.
    pub(crate) fn take_ids(&self, n: u64) -> Range<u64> {
        let start = self.next_id.fetch_add(n, Relaxed);
        start..start.saturating_add(n)
    }

    /// Whether `id` is one this simulator issued (or reserved for a session).
    pub(crate) fn issued(&self, id: MessageId) -> bool {
        (self.id_base..self.next_id.load(Relaxed)).contains(&id.0)
    }

    fn lock_sessions(&self) -> MutexGuard<'_, HashMap<u64, SessionEntry>> {
        lock(&self.sessions)
    }

    fn take_sessions(&self) -> Vec<(u64, SessionEntry)> {
        self.lock_sessions().drain().collect()
    }

    pub(crate) fn set_bound(&self, session: u64, bound: Option<(Arc<str>, BindType)>) {
        if let Some(entry) = self.lock_sessions().get_mut(&session) {
            entry.bound = bound;
        }
    }

    pub(crate) fn session_ended(&self, session: u64) {
        self.lock_sessions().remove(&session);
    }

    fn spawn_session(self: &Arc<Self>, stream: TcpStream, peer: SocketAddr) {
        let id = self.next_session.fetch_add(1, Relaxed);
        let (deliver_tx, deliver_rx) = mpsc::channel(SESSION_QUEUE);
        let unbind = Arc::new(Notify::new());
        let io = SessionIo {
            stream,
            peer,
            deliver_tx,
            deliver_rx,
            unbind: Arc::clone(&unbind),
        };
        let session = Session::new(id, Arc::clone(self), io);
        // The lock is held across the spawn so the session cannot end (and remove its
        // entry) before the entry exists.
        let mut sessions = self.lock_sessions();
        let task = tokio::spawn(session.run());
        sessions.insert(
            id,
            SessionEntry {
                task,
                unbind,
                peer,
                bound: None,
            },
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The first message id of a simulator seeded with `seed`: a seed-dependent multiple
/// of 2^32, so simulators with different seeds issue disjoint id ranges.
fn id_base(seed: u64) -> u64 {
    // splitmix64 finaliser: spreads nearby seeds apart.
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z & 0x0FFF_FFFF) << 32
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Responses are batched per read already; Nagle would only add delay.
                let _ = stream.set_nodelay(true);
                shared.counters.drain(&mut Stats {
                    connections: 1,
                    ..Stats::default()
                });
                tracing::debug!(%peer, "connection accepted");
                shared.spawn_session(stream, peer);
            }
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Sends one MO message per round to each target account.
async fn mo_loop(shared: Arc<Shared>, mo: MoConfig) {
    let mut tick = tokio::time::interval(mo.interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tick.tick().await;
    let mut local = Stats::default();
    for round in 1u64.. {
        tick.tick().await;
        let text = format!("{} {round}", mo.text);
        let frame = match mo_frame(&mo, &text) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(error = %e, "mo messages disabled: cannot build one");
                return;
            }
        };
        let targets = match &mo.system_id {
            Some(s) => vec![Arc::from(s.as_str())],
            None => shared.registry.system_ids(),
        };
        for system_id in targets {
            let delivery = Delivery {
                system_id,
                kind: DeliveryKind::Mo,
                frame: frame.clone(),
                failures: 0,
            };
            shared.dispatch(DispatchCmd::Deliver(delivery, Instant::now()), &mut local);
        }
        shared.counters.drain(&mut local);
    }
}

fn mo_frame(mo: &MoConfig, text: &str) -> Result<Bytes, BuildError> {
    let sms = Sms::gsm7(text).unwrap_or_else(|_| Sms::ucs2(text));
    let sm = sms
        .from(&mo.source_addr)
        .to(&mo.destination_addr)
        .deliver_sm()?;
    Ok(Pdu::new(Body::DeliverSm(sm), CommandStatus::ESME_ROK, 0).to_bytes())
}
