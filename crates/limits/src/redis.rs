//! The Redis driver: an async task that moves lease syncs between the limiter and Redis.
//!
//! Checks queue syncs (see `crate::lease`); this task drains the queue, batches keys into one
//! `EVALSHA` per script and applies the replies. All counting happens in Lua inside Redis, so
//! each key's update is atomic across the fleet; Redis' own clock (`TIME`) is the time base,
//! so node clocks need not agree. Keys carry TTLs: a rate key lives until its state has
//! drained, a quota key until a day after its period, shared bind counts a few sync intervals.
//!
//! Connection loss, errors and replies slower than `response_timeout_ms` mark the backend
//! degraded (checks then use local limits, or refuse if failing closed); the task reconnects
//! with exponential backoff over the configured addresses and clears the state once Redis
//! answers again. Queued syncs survive the outage: quota units counted meanwhile are charged
//! when Redis is back.

use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, Script};
use tokio::sync::Notify;

use crate::config::RedisConfig;
use crate::key::AddressKey;
use crate::lease::{CellKind, LeaseState, Pending, RemoteShared, SyncReply, SyncRequest};
use crate::limiter::{Keyed, Limiter, Shared};
use crate::time::{Nanos, UnixTime, day_end, month_end};

const GCRA_SCRIPT: &str = include_str!("redis/gcra.lua");
const QUOTA_SCRIPT: &str = include_str!("redis/quota.lua");
const BINDS_SCRIPT: &str = include_str!("redis/binds.lua");

/// Seconds a quota key outlives its period (late syncs from other nodes still land).
const QUOTA_KEY_GRACE_SECS: i64 = 86_400;

/// The background task of the Redis backend. Spawn [`RedisDriver::run`] on a tokio runtime.
pub struct RedisDriver {
    shared: Arc<Shared>,
    remote: Arc<RemoteShared>,
    config: RedisConfig,
    node_id: String,
    scripts: Scripts,
}

struct Scripts {
    gcra: Script,
    quota: Script,
    binds: Script,
}

/// Why serving stopped.
enum Stop {
    Shutdown,
    Failed(&'static str),
}

/// One key of a batch: where it lives, what to send and how to apply the reply.
struct Item {
    pending: Pending,
    key: String,
    args: [String; 5],
    request: SyncRequest,
    quota: bool,
    /// Life of the units this sync leases.
    ttl: u64,
}

impl Limiter {
    /// The driver that connects this limiter to Redis, or `None` with the local backend.
    /// Run it once per limiter: `tokio::spawn(limiter.redis_driver()?.run(shutdown))`.
    /// Checks must then be given [`Nanos::now`] times, the driver's clock.
    pub fn redis_driver(&self) -> Option<RedisDriver> {
        let remote = self.shared.remote.clone()?;
        let config = self.shared.redis.clone()?;
        let node_id = config.node_id.clone().unwrap_or_else(random_node_id);
        Some(RedisDriver {
            shared: self.shared.clone(),
            remote,
            config,
            node_id,
            scripts: Scripts {
                gcra: Script::new(GCRA_SCRIPT),
                quota: Script::new(QUOTA_SCRIPT),
                binds: Script::new(BINDS_SCRIPT),
            },
        })
    }
}

fn random_node_id() -> String {
    let seed = (
        std::process::id(),
        Nanos::now().as_nanos(),
        UnixTime::now().as_secs(),
    );
    format!(
        "n{:016x}",
        foldhash::quality::RandomState::default().hash_one(seed)
    )
}

fn ms(v: u32) -> Duration {
    Duration::from_millis(u64::from(v))
}

impl RedisDriver {
    /// This node's name in shared bind counts.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Connects, serves lease syncs and reconnects until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let notify = Arc::new(Notify::new());
        let wake = notify.clone();
        self.remote.set_wake(Arc::new(move || wake.notify_one()));
        let mut backoff = ms(self.config.reconnect_min_ms);
        let mut attempt: usize = 0;
        loop {
            let address = self
                .config
                .addresses
                .get(attempt % self.config.addresses.len().max(1))
                .cloned()
                .unwrap_or_default();
            attempt = attempt.wrapping_add(1);
            let connected = tokio::select! {
                () = &mut shutdown => return,
                c = self.connect(&address) => c,
            };
            match connected {
                Ok(mut conn) => {
                    backoff = ms(self.config.reconnect_min_ms);
                    self.remote
                        .counters
                        .connects
                        .fetch_add(1, Ordering::Relaxed);
                    if self.remote.set_health(true, Nanos::now(), "") {
                        tracing::info!(node = %self.node_id, "Redis limits backend connected");
                    }
                    match self.serve(&mut conn, &notify, &mut shutdown).await {
                        Stop::Shutdown => return,
                        Stop::Failed(reason) => {
                            if self.remote.set_health(false, Nanos::now(), reason) {
                                tracing::warn!(
                                    reason,
                                    "Redis limits backend degraded; using local limits"
                                );
                            }
                        }
                    }
                }
                Err(reason) => {
                    self.remote.set_health(false, Nanos::now(), reason);
                    tracing::debug!(
                        reason,
                        backoff_ms = backoff.as_millis(),
                        "Redis connect failed"
                    );
                    tokio::select! {
                        () = &mut shutdown => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ms(self.config.reconnect_max_ms));
                }
            }
        }
    }

    async fn connect(&self, address: &str) -> Result<MultiplexedConnection, &'static str> {
        let client = Client::open(address).map_err(|_| "connect_failed")?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(ms(self.config.connect_timeout_ms)))
            .set_response_timeout(Some(ms(self.config.response_timeout_ms)));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|_| "connect_failed")?;
        // Load the scripts once per connection; later calls are EVALSHA only (the redis crate
        // reloads a script by itself if the server lost it, e.g. after a restart).
        for script in [&self.scripts.gcra, &self.scripts.quota, &self.scripts.binds] {
            script
                .prepare_invoke()
                .load_async(&mut conn)
                .await
                .map_err(|_| "script_error")?;
        }
        Ok(conn)
    }

    async fn serve(
        &self,
        conn: &mut MultiplexedConnection,
        notify: &Notify,
        shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Stop {
        let interval = ms(self.config.sync_interval_ms);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let periodic = tokio::select! {
                () = shutdown.as_mut() => return Stop::Shutdown,
                () = notify.notified() => false,
                _ = tick.tick() => true,
            };
            if let Err(reason) = self.flush(conn).await {
                return Stop::Failed(reason);
            }
            let dirty = self.remote.take_binds_dirty();
            if (periodic || dirty)
                && let Err(reason) = self.sync_binds(conn).await
            {
                return Stop::Failed(reason);
            }
        }
    }

    /// Sends every queued sync, in batches, until the queue is empty.
    async fn flush(&self, conn: &mut MultiplexedConnection) -> Result<(), &'static str> {
        let batch = usize::try_from(self.config.max_batch_keys)
            .unwrap_or(256)
            .max(1);
        loop {
            let queued = self.remote.drain();
            if queued.is_empty() {
                return Ok(());
            }
            let now = Nanos::now();
            let wall = UnixTime::now();
            let mut rates = Vec::new();
            let mut quotas = Vec::new();
            for pending in queued {
                match self.prepare(pending, now, wall) {
                    Some(item) if item.quota => quotas.push(item),
                    Some(item) => rates.push(item),
                    None => {}
                }
            }
            while !rates.is_empty() || !quotas.is_empty() {
                let (script, items) = if rates.is_empty() {
                    let n = quotas.len().min(batch);
                    (&self.scripts.quota, quotas.drain(..n).collect::<Vec<_>>())
                } else {
                    let n = rates.len().min(batch);
                    (&self.scripts.gcra, rates.drain(..n).collect::<Vec<_>>())
                };
                if let Err(reason) = self.send(conn, script, &items).await {
                    // Keep everything not yet confirmed for the next connection.
                    let unsent = items.into_iter().chain(rates).chain(quotas);
                    let back = unsent
                        .map(|item| {
                            self.with_state(&item.pending, LeaseState::fail_sync);
                            item.pending
                        })
                        .collect();
                    self.remote.requeue(back);
                    self.remote
                        .counters
                        .sync_failures
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(reason);
                }
            }
        }
    }

    /// Builds the Redis call for one queued key (None if the key is gone).
    fn prepare(&self, pending: Pending, now: Nanos, wall: UnixTime) -> Option<Item> {
        let prefix = &self.config.key_prefix;
        let tuning = &self.remote.tuning;
        let t = now.as_nanos();
        match &pending {
            Pending::Cell(cell) => match cell.kind {
                CellKind::Rate(params) => {
                    let request = cell.state.lock().begin_sync(
                        tuning.lease_units_rate(&params),
                        tuning.max_lease_rate(&params),
                        t,
                    );
                    Some(Item {
                        key: format!("{prefix}:{}", cell.key),
                        args: gcra_args(params.interval(), params.burst(), request),
                        pending: pending.clone(),
                        request,
                        quota: false,
                        ttl: tuning.lease_ttl_rate(&params),
                    })
                }
                CellKind::Quota { daily } => {
                    let mut state = cell.state.lock();
                    let (period, limit) = (state.period, state.limit);
                    let request =
                        state.begin_sync(tuning.quota_allowance, tuning.quota_allowance, t);
                    drop(state);
                    let offset = self.shared.quota_offset_secs();
                    let end = if daily {
                        day_end(period, offset)
                    } else {
                        month_end(period, offset)
                    };
                    let ttl_secs = end
                        .as_secs()
                        .saturating_sub(wall.as_secs())
                        .saturating_add(QUOTA_KEY_GRACE_SECS)
                        .max(60);
                    Some(Item {
                        key: format!("{prefix}:{}:{period}", cell.key),
                        args: [
                            limit.to_string(),
                            request.debt.to_string(),
                            request.want.to_string(),
                            request.returned.to_string(),
                            ttl_secs.to_string(),
                        ],
                        pending: pending.clone(),
                        request,
                        quota: true,
                        ttl: tuning.lease_ttl_ns,
                    })
                }
            },
            Pending::Keyed(key) => {
                let (scope, params) = self.shared.registry.lock().get(key.limit).cloned()?;
                let Keyed::Remote(table) = &self.shared.keyed else {
                    return None;
                };
                let (units, max) = (
                    tuning.lease_units_rate(&params),
                    tuning.max_lease_rate(&params),
                );
                let request = table.with_existing(*key, |s| s.begin_sync(units, max, t))?;
                let addr = AddressKey::from_raw(key.key);
                Some(Item {
                    key: format!("{prefix}:{scope}:{addr}"),
                    args: gcra_args(params.interval(), params.burst(), request),
                    pending,
                    request,
                    quota: false,
                    ttl: tuning.lease_ttl_rate(&params),
                })
            }
        }
    }

    /// Runs one script over a batch and applies the replies.
    async fn send(
        &self,
        conn: &mut MultiplexedConnection,
        script: &Script,
        items: &[Item],
    ) -> Result<(), &'static str> {
        if items.is_empty() {
            return Ok(());
        }
        let mut call = script.prepare_invoke();
        if items.first().is_some_and(|i| i.quota) {
            // ok: share_ppm <= 1e6, exact in f64.
            #[allow(clippy::cast_precision_loss)]
            let share = self.remote.tuning.share_ppm as f64 / 1e6;
            call.arg(format!("{share}"));
        }
        for item in items {
            call.key(&item.key);
            for arg in &item.args {
                call.arg(arg);
            }
        }
        let timeout = ms(self.config.response_timeout_ms);
        let replies: Vec<(u64, u64, u64)> =
            match tokio::time::timeout(timeout, call.invoke_async(conn)).await {
                Err(_) => return Err("timeout"),
                Ok(Err(e)) if e.is_io_error() || e.is_connection_dropped() => {
                    return Err("request_failed");
                }
                Ok(Err(_)) => return Err("script_error"),
                Ok(Ok(r)) => r,
            };
        if replies.len() != items.len() {
            return Err("script_error");
        }
        let now = Nanos::now().as_nanos();
        let counters = &self.remote.counters;
        counters.syncs.fetch_add(1, Ordering::Relaxed);
        for (item, &(granted, available, retry_us)) in items.iter().zip(&replies) {
            counters.units_leased.fetch_add(granted, Ordering::Relaxed);
            counters
                .units_reported
                .fetch_add(item.request.debt, Ordering::Relaxed);
            let reply = SyncReply {
                granted,
                available,
                retry_after_ns: retry_us.saturating_mul(1000),
            };
            let requeue = self
                .with_state(&item.pending, |s| {
                    s.finish_sync(reply, item.ttl, now, item.quota)
                })
                .unwrap_or(false);
            if requeue {
                self.remote.requeue(vec![item.pending.clone()]);
            }
        }
        Ok(())
    }

    fn with_state<R>(&self, pending: &Pending, f: impl FnOnce(&mut LeaseState) -> R) -> Option<R> {
        match pending {
            Pending::Cell(cell) => Some(f(&mut cell.state.lock())),
            Pending::Keyed(key) => match &self.shared.keyed {
                Keyed::Remote(table) => table.with_existing(*key, f),
                Keyed::Local(_) => None,
            },
        }
    }

    /// Publishes this node's bind counts and reads the other nodes' (also the health probe).
    async fn sync_binds(&self, conn: &mut MultiplexedConnection) -> Result<(), &'static str> {
        let cores = self.shared.bind_limited_cores();
        let timeout = ms(self.config.response_timeout_ms);
        let ttl = u64::from(self.config.sync_interval_ms).saturating_mul(3);
        if cores.is_empty() {
            // Nothing to share: a PING keeps the health state honest.
            let ping = redis::cmd("PING");
            return match tokio::time::timeout(timeout, ping.query_async::<String>(conn)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(_)) => Err("request_failed"),
                Err(_) => Err("timeout"),
            };
        }
        let batch = usize::try_from(self.config.max_batch_keys)
            .unwrap_or(256)
            .max(1);
        for chunk in cores.chunks(batch) {
            let mut call = self.scripts.binds.prepare_invoke();
            call.arg(&self.node_id).arg(ttl);
            for core in chunk {
                call.key(format!("{}:binds:{}", self.config.key_prefix, core.name));
                call.arg(core.binds.load(Ordering::Acquire));
            }
            let others: Vec<u32> =
                match tokio::time::timeout(timeout, call.invoke_async(conn)).await {
                    Ok(Ok(v)) => v,
                    Ok(Err(_)) => return Err("request_failed"),
                    Err(_) => return Err("timeout"),
                };
            for (core, n) in chunk.iter().zip(others) {
                core.fleet_binds.store(n, Ordering::Release);
            }
        }
        Ok(())
    }
}

fn gcra_args(interval_ns: u64, burst: u64, request: SyncRequest) -> [String; 5] {
    // ok: intervals are at most ~1.8e19 ns; sub-microsecond precision is kept as a fraction.
    #[allow(clippy::cast_precision_loss)]
    let interval_us = interval_ns as f64 / 1000.0;
    [
        format!("{interval_us}"),
        burst.to_string(),
        request.debt.to_string(),
        request.want.to_string(),
        request.returned.to_string(),
    ]
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver")
            .field("node_id", &self.node_id)
            .field("addresses", &self.config.addresses)
            .finish_non_exhaustive()
    }
}
