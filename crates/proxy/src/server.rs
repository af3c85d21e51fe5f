//! Starting, reloading and draining a proxy: [`Proxy::start`] binds the listeners and
//! starts the upstream pools, and returns the [`ProxyHandle`] that tests, the binary
//! and the admin side use.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use smppguard_metrics::Metrics;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::account::Authenticator;
use crate::audit::AuditSink;
use crate::config::{
    Config, ConfigError, DynamicConfig, IncompleteAction, ListenerConfig, StaticConfig,
};
use crate::downstream::serve;
use crate::hold::Hold;
use crate::inspect::Filter;
use crate::receipts::Receipts;
use crate::registry::Registry;
use crate::relay::UpstreamCtl;
use crate::stats::{Stats, StatsSnapshot, inc};
use crate::tls::Stream;
use crate::upstream::{Pool, run_session};

/// Where the proxy is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Serving.
    Running,
    /// Draining: no new connections or binds, new requests refused, in-flight
    /// requests finishing.
    Draining,
    /// Unbinding every session.
    Closing,
}

/// The reloadable state, swapped whole.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) config: DynamicConfig,
    /// Route name → pool indexes in failover order.
    pub(crate) routes: HashMap<String, Arc<[usize]>>,
    /// MO destination prefixes, longest first.
    mo: Vec<(Box<[u8]>, Arc<str>)>,
}

impl Live {
    fn build(config: DynamicConfig, pools: &HashMap<String, usize>) -> Result<Live, ConfigError> {
        let mut routes = HashMap::new();
        for (name, upstreams) in &config.routes {
            let mut idx = Vec::with_capacity(upstreams.len());
            for u in upstreams.iter() {
                let Some(&i) = pools.get(u) else {
                    return Err(ConfigError::Invalid {
                        key: format!("routes.{name}"),
                        reason: format!(
                            "upstream {u:?} is not running (adding upstreams needs a restart)"
                        ),
                    });
                };
                idx.push(i);
            }
            routes.insert(name.clone(), Arc::<[usize]>::from(idx));
        }
        let mut mo: Vec<(Box<[u8]>, Arc<str>)> = config
            .accounts
            .values()
            .flat_map(|a| {
                a.mo_addresses
                    .iter()
                    .map(|p| (p.as_bytes().into(), Arc::clone(&a.system_id)))
            })
            .collect();
        mo.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Ok(Live { config, routes, mo })
    }

    /// The account mobile-originated messages to `destination` belong to (longest
    /// prefix wins).
    pub(crate) fn mo_account(&self, destination: &[u8]) -> Option<Arc<str>> {
        self.mo
            .iter()
            .find(|(p, _)| destination.starts_with(p))
            .map(|(_, a)| Arc::clone(a))
    }
}

/// Everything the tasks of one proxy share.
pub(crate) struct Shared {
    pub(crate) fixed: StaticConfig,
    pub(crate) live: ArcSwap<Live>,
    pub(crate) pools: Vec<Arc<Pool>>,
    pub(crate) registry: Registry,
    pub(crate) receipts: Receipts,
    pub(crate) hold: Hold,
    pub(crate) auth: Authenticator,
    pub(crate) stats: Arc<Stats>,
    /// The Prometheus families and handles.
    pub(crate) metrics: Arc<Metrics>,
    /// Per-account runtime controls (suspension), kept across reloads.
    pub(crate) controls: crate::admin::Controls,
    /// Quarantined messages kept for review.
    pub(crate) quarantine: crate::admin::quarantine::Quarantine,
    pub(crate) audit: AuditSink,
    pub(crate) filter: Filter,
    /// TLS configurations of listeners and upstreams.
    pub(crate) tls: crate::tls::TlsState,
    /// Rate limits, quotas and adaptive protection.
    pub(crate) limits: crate::limits::Limits,
    /// ESME requests admitted and not yet answered, proxy-wide.
    pub(crate) outstanding: Arc<AtomicI64>,
    pub(crate) phase: watch::Sender<Phase>,
    pub(crate) next_drop_id: AtomicU64,
    epoch: Instant,
}

impl Shared {
    /// Milliseconds since the proxy started (the clock of the hold and receipt maps).
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// [`Shared::now_ms`] at `t` (a time already read, to spare a clock read).
    pub(crate) fn ms_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn instant_of(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }
}

/// Why a proxy could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A listener address could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The I/O error.
        reason: String,
    },
    /// The configuration is inconsistent.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The rule pack does not load or compile.
    #[error("rules: {0}")]
    Rules(String),
    /// The metric families could not be registered.
    #[error(transparent)]
    Metrics(#[from] smppguard_metrics::MetricsError),
}

/// Why a reload was refused; the running configuration stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The new file is invalid.
    #[error("configuration refused: {0}")]
    Config(#[from] ConfigError),
    /// The rule pack does not load or compile.
    #[error("rules refused: {0}")]
    Rules(String),
    /// The proxy is shutting down.
    #[error("proxy is draining")]
    Draining,
}

/// What a reload changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadReport {
    /// Accounts now configured.
    pub accounts: usize,
    /// Routes now configured.
    pub routes: usize,
    /// Accounts removed; their sessions were asked to unbind.
    pub removed_accounts: Vec<String>,
    /// Version of the rule pack now live, if any.
    pub rules_version: Option<String>,
    /// Static sections that differ from the running ones; they take effect only after
    /// a restart.
    pub restart_needed_for: Vec<&'static str>,
}

/// The outcome of a drain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Every in-flight request was answered by its SMSC (or the hold) before the
    /// deadline.
    pub clean: bool,
    /// Requests the proxy answered itself at the deadline.
    pub answered_at_deadline: u64,
    /// Requests still unanswered at the end (0 unless a task misbehaved).
    pub unanswered: i64,
}

/// Status of one upstream pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamStatus {
    /// The upstream's name.
    pub name: String,
    /// Sessions configured.
    pub sessions: usize,
    /// Sessions bound now.
    pub bound: usize,
    /// Requests outstanding on its sessions.
    pub pending: usize,
}

/// The proxy entry point.
#[derive(Debug)]
pub struct Proxy;

/// A running proxy.
pub struct ProxyHandle {
    shared: Arc<Shared>,
    addrs: Vec<SocketAddr>,
    sessions: Mutex<Vec<JoinHandle<()>>>,
    background: Vec<JoinHandle<()>>,
    config_path: Option<PathBuf>,
}

impl std::fmt::Debug for ProxyHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyHandle")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// Binds the listeners, starts the upstream pools and begins serving. Must be
    /// called inside a tokio runtime.
    pub async fn start(config: Config) -> Result<ProxyHandle, StartError> {
        Self::start_with_path(config, None).await
    }

    /// [`Proxy::start`] remembering the configuration file, for
    /// [`ProxyHandle::reload_from_file`] without an argument.
    pub async fn start_with_path(
        config: Config,
        path: Option<PathBuf>,
    ) -> Result<ProxyHandle, StartError> {
        let Config { fixed, dynamic } = config;
        let stats = Arc::new(Stats::default());
        let metrics = crate::metrics::new_metrics()?;
        let mut pools = Vec::new();
        let mut pool_index = HashMap::new();
        let mut session_inputs = Vec::new();
        for (i, u) in fixed.upstreams.iter().enumerate() {
            let (pool, inputs) = Pool::new(i, u, metrics.upstream(&u.name));
            pool_index.insert(u.name.clone(), i);
            pools.push(Arc::new(pool));
            session_inputs.push(inputs);
        }
        let rules = dynamic.filter.rules.clone();
        let filter = tokio::task::spawn_blocking(move || Filter::load(rules.as_deref()))
            .await
            .map_err(|e| StartError::Rules(e.to_string()))?
            .map_err(|e| StartError::Rules(rules_error(&e)))?;
        let live = Live::build(dynamic, &pool_index)?;
        let tls = crate::tls::TlsState::load(&fixed)?;
        let limits = crate::limits::Limits::new(&live.config.limits, Arc::clone(&metrics))?;
        let mut listeners = Vec::new();
        for l in &fixed.listeners {
            let listener = TcpListener::bind(l.address)
                .await
                .map_err(|e| StartError::Listen {
                    address: l.address,
                    reason: e.to_string(),
                })?;
            listeners.push((listener, l.clone()));
        }
        let (phase, _) = watch::channel(Phase::Running);
        let audit = AuditSink::start(
            &fixed.audit,
            Arc::clone(&stats),
            crate::audit::AuditMetrics {
                lag: metrics.global.audit_write_lag_seconds.clone(),
                rotations: metrics.global.audit_rotations.clone(),
            },
        );
        let shared = Arc::new(Shared {
            live: ArcSwap::from_pointee(live),
            pools,
            registry: Registry::default(),
            receipts: Receipts::new(
                fixed.receipts.max_entries,
                u64::try_from(fixed.receipts.ttl.as_millis()).unwrap_or(u64::MAX),
            ),
            hold: Hold::new(fixed.hold.limits),
            auth: Authenticator::new(fixed.auth.clone()),
            stats,
            metrics,
            controls: crate::admin::Controls::default(),
            quarantine: crate::admin::quarantine::Quarantine::new(
                fixed.admin.quarantine_max_messages,
                fixed.admin.quarantine_max_bytes,
                fixed.audit.address_keep_last_digits,
            ),
            audit,
            filter,
            tls,
            limits,
            outstanding: Arc::new(AtomicI64::new(0)),
            phase,
            next_drop_id: AtomicU64::new(1),
            epoch: Instant::now(),
            fixed,
        });

        crate::metrics::install(&shared);
        shared
            .metrics
            .filter
            .set_ruleset_version(shared.filter.version().as_deref());
        shared
            .metrics
            .global
            .config_last_reload_success_timestamp_seconds
            .set(unix_now());
        let mut sessions = Vec::new();
        for (i, inputs) in session_inputs.into_iter().enumerate() {
            let (Some(pool), Some(cfg)) = (shared.pools.get(i), shared.fixed.upstreams.get(i))
            else {
                continue;
            };
            let cfg = Arc::new(cfg.clone());
            for (handle, input) in pool.sessions.iter().zip(inputs) {
                sessions.push(tokio::spawn(run_session(
                    Arc::clone(&shared),
                    Arc::clone(&cfg),
                    i,
                    Arc::clone(handle),
                    input,
                )));
            }
        }

        let mut addrs = Vec::new();
        let mut background = Vec::new();
        for (i, (listener, cfg)) in listeners.into_iter().enumerate() {
            addrs.push(listener.local_addr().unwrap_or(cfg.address));
            background.push(tokio::spawn(accept_loop(
                Arc::clone(&shared),
                listener,
                cfg,
                shared.tls.listener(i),
            )));
        }
        background.push(tokio::spawn(hold_timer(Arc::clone(&shared))));
        background.push(tokio::spawn(housekeeping(Arc::clone(&shared))));
        background.push(tokio::spawn(crate::limits::run(Arc::clone(&shared))));
        tracing::info!(listeners = ?addrs, upstreams = shared.pools.len(), "proxy started");
        Ok(ProxyHandle {
            shared,
            addrs,
            sessions: Mutex::new(sessions),
            background,
            config_path: path,
        })
    }
}

impl ProxyHandle {
    /// The addresses the listeners are bound to (with the real port when 0 was given).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Whether the proxy should receive traffic: not draining, at least one upstream
    /// session bound, and the limits backend able to serve (degraded Redis with
    /// `fail_open` still serves; failing closed does not).
    pub fn readiness(&self) -> bool {
        *self.shared.phase.borrow() == Phase::Running
            && self.shared.pools.iter().any(|p| p.bound_sessions() > 0)
            && self.shared.limits.health().ready
    }

    /// The event counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.shared.stats.snapshot()
    }

    /// The proxy's metrics: every family, for `/metrics` and for tests.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The configuration the proxy started with (static part).
    pub fn static_config(&self) -> &StaticConfig {
        &self.shared.fixed
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Serves one ESME connection over `stream` as if a listener had accepted it from
    /// `peer`, until it closes: for transports the proxy does not accept itself, and
    /// for driving sessions in memory. Listener connection limits do not apply.
    pub async fn serve_stream<S>(&self, stream: S, peer: SocketAddr)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let id = CONN_ID.fetch_add(1, Ordering::Relaxed);
        serve(
            Arc::clone(&self.shared),
            Box::new(read),
            Box::new(write),
            peer,
            id,
        )
        .await;
    }

    /// Per-upstream session status.
    pub fn upstreams(&self) -> Vec<UpstreamStatus> {
        self.shared
            .pools
            .iter()
            .map(|p| UpstreamStatus {
                name: p.name.to_string(),
                sessions: p.sessions.len(),
                bound: p.bound_sessions(),
                pending: p
                    .sessions
                    .iter()
                    .map(|s| s.pending.load(Ordering::Relaxed))
                    .sum(),
            })
            .collect()
    }

    /// ESME sessions bound now.
    pub fn bound_sessions(&self) -> usize {
        self.shared.registry.total()
    }

    /// ESME sessions bound now as `account`.
    pub fn bound_sessions_of(&self, account: &str) -> usize {
        self.shared.registry.bound(account)
    }

    /// ESME requests admitted and not yet answered.
    pub fn outstanding(&self) -> i64 {
        self.shared.outstanding.load(Ordering::Acquire)
    }

    /// Multi-part messages held and the bytes they count for.
    pub fn held(&self) -> (usize, usize) {
        (self.shared.hold.open(), self.shared.hold.held_bytes())
    }

    /// message_ids remembered for receipt routing.
    pub fn receipt_entries(&self) -> usize {
        self.shared.receipts.len()
    }

    /// Swaps in the dynamic part of `config` (accounts, routes, rules) without
    /// touching any session. Sessions of removed accounts are unbound. Changes to
    /// static sections are reported, not applied.
    pub async fn reload(&self, config: Config) -> Result<ReloadReport, ReloadError> {
        let result = self.try_reload(config).await;
        let g = &self.shared.metrics.global;
        g.config_last_reload_successful
            .set(i64::from(result.is_ok()));
        match &result {
            Ok(report) => {
                inc(&self.shared.stats.reloads_ok);
                g.config_last_reload_success_timestamp_seconds
                    .set(unix_now());
                tracing::info!(
                    accounts = report.accounts,
                    routes = report.routes,
                    removed = ?report.removed_accounts,
                    restart_needed_for = ?report.restart_needed_for,
                    "configuration reloaded"
                );
            }
            Err(e) => {
                inc(&self.shared.stats.reloads_failed);
                tracing::error!(error = %e, "reload refused; the running configuration stays");
            }
        }
        result
    }

    async fn try_reload(&self, config: Config) -> Result<ReloadReport, ReloadError> {
        if *self.shared.phase.borrow() != Phase::Running {
            return Err(ReloadError::Draining);
        }
        let rules_path = config.dynamic.filter.rules.clone();
        let prepared = self
            .shared
            .filter
            .prepare_in_background(rules_path)
            .await
            .map_err(|e| ReloadError::Rules(e.to_string()))?
            .map_err(|e| ReloadError::Rules(rules_error(&e)))?;
        let restart_needed_for = static_differences(&self.shared.fixed, &config.fixed);
        let pool_index: HashMap<String, usize> = self
            .shared
            .pools
            .iter()
            .map(|p| (p.name.to_string(), p.index))
            .collect();
        let live = Live::build(config.dynamic, &pool_index)?;
        // Certificates are re-read from the running configuration's files (rotation in
        // place); all of them load or none is replaced.
        let shared = Arc::clone(&self.shared);
        let tls = tokio::task::spawn_blocking(move || shared.tls.prepare())
            .await
            .map_err(|e| ReloadError::Rules(e.to_string()))??;
        let mut restart_needed_for = restart_needed_for;
        restart_needed_for.extend(self.shared.limits.reload(&live.config.limits)?);
        let report_accounts = live.config.accounts.len();
        let report_routes = live.config.routes.len();
        self.shared.tls.install(tls);
        self.shared.filter.install(prepared);
        let old = self.shared.live.swap(Arc::new(live));
        let new = self.shared.live.load();
        crate::metrics::configure_accounts(&self.shared, &new.config);
        self.shared
            .metrics
            .filter
            .set_ruleset_version(self.shared.filter.version().as_deref());
        let removed: Vec<Arc<str>> = old
            .config
            .accounts
            .values()
            .filter(|a| !new.config.accounts.contains_key(&*a.system_id))
            .map(|a| Arc::clone(&a.system_id))
            .collect();
        self.shared.registry.unbind_accounts(&removed);
        let mut removed_accounts: Vec<String> = removed.iter().map(|a| a.to_string()).collect();
        removed_accounts.sort();
        Ok(ReloadReport {
            accounts: report_accounts,
            routes: report_routes,
            removed_accounts,
            rules_version: self.shared.filter.version(),
            restart_needed_for,
        })
    }

    /// Reads `path` (or the file the proxy was started from) and reloads it.
    pub async fn reload_from_file(&self, path: Option<&Path>) -> Result<ReloadReport, ReloadError> {
        let Some(path) = path
            .map(Path::to_path_buf)
            .or_else(|| self.config_path.clone())
        else {
            return Err(ReloadError::Config(ConfigError::Read {
                path: PathBuf::new(),
                reason: "no configuration file known".into(),
            }));
        };
        let parsed = tokio::task::spawn_blocking(move || Config::from_file(path))
            .await
            .map_err(|e| {
                ReloadError::Config(ConfigError::Read {
                    path: PathBuf::new(),
                    reason: e.to_string(),
                })
            })?;
        match parsed {
            Ok(config) => self.reload(config).await,
            Err(e) => {
                inc(&self.shared.stats.reloads_failed);
                self.shared
                    .metrics
                    .global
                    .config_last_reload_successful
                    .set(0);
                tracing::error!(error = %e, "reload refused; the running configuration stays");
                Err(ReloadError::Config(e))
            }
        }
    }

    /// Drains and stops: readiness goes false, listeners close, new binds are refused
    /// and new requests answered with the draining status; in-flight requests get up
    /// to `deadline` to be answered by their SMSC, after which the proxy answers them
    /// itself; then every ESME is sent unbind and every upstream is unbound.
    pub async fn drain(&self, deadline: Duration) -> DrainReport {
        let shared = &self.shared;
        let end = Instant::now() + deadline;
        shared.phase.send_replace(Phase::Draining);
        tracing::info!(?deadline, "draining");
        let outstanding = || shared.outstanding.load(Ordering::Acquire);
        let clean = wait_for(|| outstanding() <= 0, end).await;
        let mut answered_at_deadline = 0;
        if !clean {
            let before = outstanding();
            for inc_msg in shared.hold.drain_all() {
                crate::submit::release_incomplete_as(shared, inc_msg, IncompleteAction::Reject);
            }
            // Repeat: jobs queued before the drain may still be sent after a first
            // round of answers.
            let grace = Instant::now() + Duration::from_secs(2);
            loop {
                for pool in &shared.pools {
                    for s in &pool.sessions {
                        let _ = s
                            .ctl_tx
                            .try_send(UpstreamCtl::FailPending(shared.fixed.relay.timeout_status));
                    }
                }
                if wait_for(
                    || outstanding() <= 0,
                    Instant::now() + Duration::from_millis(100),
                )
                .await
                    || Instant::now() >= grace
                {
                    break;
                }
            }
            answered_at_deadline = u64::try_from(before - outstanding().max(0)).unwrap_or(0);
        }
        shared.phase.send_replace(Phase::Closing);
        let _ = wait_for(
            || {
                shared.registry.total() == 0
                    && shared.stats.connections_open.load(Ordering::Relaxed) == 0
            },
            Instant::now() + Duration::from_secs(6),
        )
        .await;
        for pool in &shared.pools {
            for s in &pool.sessions {
                let _ = timeout(Duration::from_secs(1), s.ctl_tx.send(UpstreamCtl::Shutdown)).await;
            }
        }
        let sessions: Vec<JoinHandle<()>> = std::mem::take(&mut *self.sessions.lock());
        for s in sessions {
            let _ = timeout(Duration::from_secs(4), s).await;
        }
        // Every audit record of the answered requests reaches the disk before exit.
        if !shared.audit.flush(Duration::from_secs(5)).await {
            tracing::warn!("audit log not flushed within 5 s");
        }
        let unanswered = outstanding();
        tracing::info!(clean, answered_at_deadline, unanswered, "drained");
        DrainReport {
            clean,
            answered_at_deadline,
            unanswered,
        }
    }
}

impl Drop for ProxyHandle {
    fn drop(&mut self) {
        for t in &self.background {
            t.abort();
        }
        for t in self.sessions.lock().iter() {
            t.abort();
        }
        self.shared.phase.send_replace(Phase::Closing);
    }
}

/// Names of the static sections that differ.
fn static_differences(old: &StaticConfig, new: &StaticConfig) -> Vec<&'static str> {
    let mut out = Vec::new();
    if old.server != new.server {
        out.push("server");
    }
    if old.listeners != new.listeners {
        out.push("listeners");
    }
    if old.upstreams != new.upstreams {
        out.push("upstreams");
    }
    if old.relay != new.relay {
        out.push("relay");
    }
    if old.hold != new.hold {
        out.push("hold");
    }
    if old.receipts != new.receipts {
        out.push("receipts");
    }
    if old.auth != new.auth {
        out.push("auth");
    }
    if old.audit != new.audit {
        out.push("audit");
    }
    if old.admin != new.admin {
        out.push("admin");
    }
    if old.log != new.log {
        out.push("log");
    }
    out
}

/// Seconds since the Unix epoch, for timestamp gauges.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Polls `cond` until it holds or `end` passes; returns whether it held.
async fn wait_for(cond: impl Fn() -> bool, end: Instant) -> bool {
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// Identifiers of ESME connections, unique in the process.
static CONN_ID: AtomicU64 = AtomicU64::new(1);

/// Releases a connection's slots when it ends.
struct ConnGuard {
    shared: Arc<Shared>,
    open: Arc<AtomicUsize>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        let mut map = self.per_ip.lock();
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
        self.shared
            .stats
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    cfg: ListenerConfig,
    tls: Option<Arc<crate::tls::ListenerTls>>,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut phase = shared.phase.subscribe();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = phase.changed() => {
                if *phase.borrow() != Phase::Running {
                    // Dropping the listener closes the port: new connections are refused.
                    return;
                }
                continue;
            }
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        inc(&shared.stats.connections_accepted);
        let ip = crate::config::canonical_ip(peer.ip());
        let admitted = {
            let mut map = per_ip.lock();
            let n = map.entry(ip).or_insert(0);
            if *n >= cfg.max_connections_per_ip
                || open.load(Ordering::Acquire) >= cfg.max_connections
            {
                if *n == 0 {
                    map.remove(&ip);
                }
                false
            } else {
                *n += 1;
                open.fetch_add(1, Ordering::AcqRel);
                true
            }
        };
        if !admitted {
            inc(&shared.stats.connections_refused);
            tracing::debug!(peer = %peer, "connection refused: listener or per-ip limit");
            drop(tcp);
            continue;
        }
        shared
            .stats
            .connections_open
            .fetch_add(1, Ordering::Relaxed);
        let guard = ConnGuard {
            shared: Arc::clone(&shared),
            open: Arc::clone(&open),
            per_ip: Arc::clone(&per_ip),
            ip,
        };
        let shared = Arc::clone(&shared);
        let id = CONN_ID.fetch_add(1, Ordering::Relaxed);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let _ = tcp.set_nodelay(true);
            let stream = match tls {
                None => Stream::Plain(tcp),
                Some(tls) => match crate::tls::accept(&tls, tcp, peer, &shared.metrics).await {
                    Some(s) => s,
                    None => return,
                },
            };
            let (read, write) = stream.into_split();
            serve(shared, read, write, peer, id).await;
        });
    }
}

/// Releases multi-part messages whose timer fired.
async fn hold_timer(shared: Arc<Shared>) {
    loop {
        let next = shared.hold.next_deadline();
        match next {
            Some(ms) => {
                tokio::select! {
                    _ = shared.hold.wake.notified() => {}
                    _ = sleep_until(shared.instant_of(ms)) => {}
                }
            }
            None => shared.hold.wake.notified().await,
        }
        for inc_msg in shared.hold.poll_expired(shared.now_ms()) {
            crate::submit::release_incomplete(&shared, inc_msg);
        }
    }
}

/// Periodic upkeep: forgets expired message_ids.
async fn housekeeping(shared: Arc<Shared>) {
    loop {
        sleep(Duration::from_secs(10)).await;
        shared.receipts.purge(shared.now_ms());
    }
}

/// A rule pack error with its diagnostics, one per line.
pub(crate) fn rules_error(e: &smppguard_filter::Error) -> String {
    let mut s = e.to_string();
    for d in e.diagnostics() {
        s.push_str("\n  ");
        s.push_str(&d.to_string());
    }
    s
}
