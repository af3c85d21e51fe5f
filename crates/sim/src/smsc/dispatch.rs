//! Receipts and MO messages on their way to receivers: the registry of bound
//! receiver sessions per `system_id` and the dispatcher task that routes, delays,
//! parks and retries deliveries.
//!
//! A delivery goes to one RX/TRX session of its account, round-robin. With none bound
//! it is parked until one binds; a session whose window is full is skipped; a refusal
//! (`deliver_sm_resp` with an error status) brings it back after
//! `delivery_retry_delay`, up to `delivery_attempts` times. Everything the dispatcher
//! holds is bounded by `max_queued_deliveries`.

use std::{
    cmp::Ordering,
    collections::{BinaryHeap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    sync::mpsc::{self, error::TrySendError},
    time::Instant,
};

use super::{Shared, stats::Stats};

/// What a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryKind {
    /// A delivery receipt.
    Receipt,
    /// A mobile-originated message.
    Mo,
}

/// A `deliver_sm` waiting for, or travelling to, a receiver session.
#[derive(Debug)]
pub(crate) struct Delivery {
    pub(crate) system_id: Arc<str>,
    pub(crate) kind: DeliveryKind,
    /// The whole PDU; the session writes its own sequence number into its copy.
    pub(crate) frame: Bytes,
    /// Refusals so far.
    pub(crate) failures: u32,
}

/// Commands to a session task.
#[derive(Debug)]
pub(crate) enum SessionCmd {
    Deliver(Delivery),
}

/// Commands to the dispatcher task.
#[derive(Debug)]
pub(crate) enum DispatchCmd {
    /// A new delivery, to route at `due`.
    Deliver(Delivery, Instant),
    /// The receiver refused it: retry later while attempts remain.
    Refused(Delivery),
    /// Its session closed before answering: route again now.
    Returned(Delivery),
    /// A receiver of this account bound: route what is parked for it.
    Bound(Arc<str>),
}

/// Bound receiver sessions by `system_id`.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    map: Mutex<HashMap<Arc<str>, Receivers>>,
}

#[derive(Debug, Default)]
struct Receivers {
    sessions: Vec<(u64, mpsc::Sender<SessionCmd>)>,
    next: usize,
}

/// Why a delivery could not be handed to a session.
enum RouteError {
    /// The account has no receiver bound.
    NoReceiver(Delivery),
    /// Every receiver's queue is full.
    Busy(Delivery),
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Receivers>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn add(&self, system_id: Arc<str>, session: u64, tx: mpsc::Sender<SessionCmd>) {
        self.lock()
            .entry(system_id)
            .or_default()
            .sessions
            .push((session, tx));
    }

    pub(crate) fn remove(&self, system_id: &str, session: u64) {
        let mut map = self.lock();
        if let Some(r) = map.get_mut(system_id) {
            r.sessions.retain(|(id, _)| *id != session);
            if r.sessions.is_empty() {
                map.remove(system_id);
            }
        }
    }

    /// Accounts with at least one receiver bound.
    pub(crate) fn system_ids(&self) -> Vec<Arc<str>> {
        self.lock().keys().cloned().collect()
    }

    /// Hands `d` to the next receiver of its account that has room, round-robin.
    fn route(&self, d: Delivery) -> Result<(), RouteError> {
        let mut map = self.lock();
        let Some(r) = map.get_mut(&d.system_id) else {
            return Err(RouteError::NoReceiver(d));
        };
        let n = r.sessions.len();
        let mut cmd = SessionCmd::Deliver(d);
        let mut closed = Vec::new();
        for k in 0..n {
            let idx = (r.next + k) % n;
            let Some((session, tx)) = r.sessions.get(idx) else {
                break;
            };
            match tx.try_send(cmd) {
                Ok(()) => {
                    r.next = idx + 1;
                    remove_closed(&mut map, &closed);
                    return Ok(());
                }
                Err(TrySendError::Full(c)) => cmd = c,
                Err(TrySendError::Closed(c)) => {
                    closed.push(*session);
                    cmd = c;
                }
            }
        }
        let SessionCmd::Deliver(d) = cmd;
        let busy = closed.len() < n;
        remove_closed(&mut map, &closed);
        if busy {
            Err(RouteError::Busy(d))
        } else {
            Err(RouteError::NoReceiver(d))
        }
    }
}

/// Drops sessions whose task has gone (a killed simulator does not deregister).
fn remove_closed(map: &mut HashMap<Arc<str>, Receivers>, closed: &[u64]) {
    if closed.is_empty() {
        return;
    }
    map.retain(|_, r| {
        r.sessions.retain(|(id, _)| !closed.contains(id));
        !r.sessions.is_empty()
    });
}

/// A delivery in the timer heap, ordered by due time then arrival.
struct Scheduled {
    due: Instant,
    order: u64,
    delivery: Delivery,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest must come out first.
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// How long a delivery waits when every receiver of its account is full.
const BUSY_RETRY: Duration = Duration::from_millis(5);

/// The dispatcher task's state.
pub(crate) struct Dispatcher {
    shared: Arc<Shared>,
    heap: BinaryHeap<Scheduled>,
    order: u64,
    parked: HashMap<Arc<str>, VecDeque<Delivery>>,
    parked_len: usize,
    local: Stats,
}

impl Dispatcher {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            heap: BinaryHeap::new(),
            order: 0,
            parked: HashMap::new(),
            parked_len: 0,
            local: Stats::default(),
        }
    }

    /// Runs until every sender of `rx` is gone.
    pub(crate) async fn run(mut self, mut rx: mpsc::Receiver<DispatchCmd>) {
        let mut batch = Vec::with_capacity(256);
        loop {
            let next = self.heap.peek().map(|s| s.due);
            tokio::select! {
                n = rx.recv_many(&mut batch, 256) => {
                    if n == 0 {
                        break;
                    }
                    for cmd in batch.drain(..) {
                        self.on_cmd(cmd);
                    }
                }
                () = sleep_until_opt(next), if next.is_some() => self.release_due(),
            }
            self.shared.counters.drain(&mut self.local);
        }
    }

    fn on_cmd(&mut self, cmd: DispatchCmd) {
        match cmd {
            DispatchCmd::Deliver(d, due) => {
                if due <= Instant::now() {
                    self.route(d);
                } else {
                    self.schedule(d, due);
                }
            }
            DispatchCmd::Refused(mut d) => {
                d.failures += 1;
                if d.failures >= self.shared.config.delivery_attempts {
                    self.local.deliveries_dropped += 1;
                    tracing::debug!(system_id = %d.system_id, "delivery dropped after refusals");
                } else {
                    let due = Instant::now() + self.shared.config.delivery_retry_delay;
                    self.schedule(d, due);
                }
            }
            DispatchCmd::Returned(d) => self.route(d),
            DispatchCmd::Bound(system_id) => {
                if let Some(queue) = self.parked.remove(&system_id) {
                    self.parked_len = self.parked_len.saturating_sub(queue.len());
                    for d in queue {
                        self.route(d);
                    }
                }
            }
        }
    }

    fn held(&self) -> usize {
        self.heap.len() + self.parked_len
    }

    fn schedule(&mut self, delivery: Delivery, due: Instant) {
        if self.held() >= self.shared.config.max_queued_deliveries {
            self.local.deliveries_dropped += 1;
            return;
        }
        self.order += 1;
        self.heap.push(Scheduled {
            due,
            order: self.order,
            delivery,
        });
    }

    fn route(&mut self, d: Delivery) {
        match self.shared.registry.route(d) {
            Ok(()) => {}
            Err(RouteError::Busy(d)) => self.schedule(d, Instant::now() + BUSY_RETRY),
            Err(RouteError::NoReceiver(d)) => {
                if self.held() >= self.shared.config.max_queued_deliveries {
                    self.local.deliveries_dropped += 1;
                    return;
                }
                self.parked_len += 1;
                self.parked
                    .entry(d.system_id.clone())
                    .or_default()
                    .push_back(d);
            }
        }
    }

    fn release_due(&mut self) {
        let now = Instant::now();
        while self.heap.peek().is_some_and(|s| s.due <= now) {
            if let Some(s) = self.heap.pop() {
                self.route(s.delivery);
            }
        }
    }
}

async fn sleep_until_opt(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}
