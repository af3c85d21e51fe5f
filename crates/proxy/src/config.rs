//! Configuration: the TOML file as written (`Raw*`, serde with `deny_unknown_fields`),
//! validated into typed values ([`Config`]) with errors that name the key path.
//!
//! The file has a static part (server, listeners, upstreams, timeouts, bounds), applied
//! at start, and a dynamic part ([`DynamicConfig`]: accounts, routes, filter rules),
//! which a reload swaps without dropping any session. Every key is documented in
//! `docs/configuration.md`; units are in the key names.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use smppguard_codec::CommandStatus;
use smppguard_text::DefaultAlphabet;

pub use crate::admin::config::{AdminConfig, LogConfig, LogFormat, RawAdmin, RawLog};

/// Why a configuration file was refused. Messages name the key path
/// (`accounts[2].window`) and, for syntax errors, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message (it names the key).
        message: String,
    },
    /// A value of the right type that is out of range or inconsistent.
    #[error("{key}: {reason}")]
    Invalid {
        /// Key path, e.g. `accounts[2].window`.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The rule pack named by `filter.rules` does not load or compile.
    #[error("filter.rules: {0}")]
    Rules(String),
}

/// What [`check_file`] found in a valid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Listeners.
    pub listeners: usize,
    /// Upstreams.
    pub upstreams: usize,
    /// Upstream sessions in total.
    pub upstream_sessions: u32,
    /// Routes.
    pub routes: usize,
    /// Accounts.
    pub accounts: usize,
    /// The rule pack, when configured: name, pack version, ruleset version, rules.
    pub rules: Option<RulesSummary>,
}

/// A compiled rule pack, as `config check` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSummary {
    /// The pack's name.
    pub name: String,
    /// The pack's own version string.
    pub pack_version: String,
    /// The compiled ruleset's content version.
    pub version: String,
    /// Rules in the pack.
    pub rules: usize,
}

/// Validates the file at `path` the way `smppguard run` would start it, reading the TLS
/// files and compiling the rule pack too (blocking; Hyperscan compilation can take a while for big packs).
pub fn check_file(path: impl AsRef<Path>) -> Result<(Config, CheckReport), ConfigError> {
    let config = Config::from_file(path)?;
    // Certificates, keys and CA files load as they would at start.
    crate::tls::TlsState::load(&config.fixed)?;
    let rules = match &config.dynamic.filter.rules {
        None => None,
        Some(p) => {
            let r = smppguard_filter::Ruleset::load(p)
                .map_err(|e| ConfigError::Rules(crate::server::rules_error(&e)))?;
            Some(RulesSummary {
                name: r.name().to_string(),
                pack_version: r.pack_version().to_string(),
                version: r.version().to_string(),
                rules: r.stats().rules,
            })
        }
    };
    let report = CheckReport {
        listeners: config.fixed.listeners.len(),
        upstreams: config.fixed.upstreams.len(),
        upstream_sessions: config.fixed.upstreams.iter().map(|u| u.sessions).sum(),
        routes: config.dynamic.routes.len(),
        accounts: config.dynamic.accounts.len(),
        rules,
    };
    Ok((config, report))
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

// === raw (serde) types ===

/// The configuration file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`.
    #[serde(default)]
    pub server: RawServer,
    /// `[[listeners]]`.
    #[serde(default)]
    pub listeners: Vec<RawListener>,
    /// `[[upstreams]]`.
    #[serde(default)]
    pub upstreams: Vec<RawUpstream>,
    /// `[[routes]]`.
    #[serde(default)]
    pub routes: Vec<RawRoute>,
    /// `[[accounts]]`.
    #[serde(default)]
    pub accounts: Vec<RawAccount>,
    /// `[relay]`.
    #[serde(default)]
    pub relay: RawRelay,
    /// `[hold]`.
    #[serde(default)]
    pub hold: RawHold,
    /// `[receipts]`.
    #[serde(default)]
    pub receipts: RawReceipts,
    /// `[auth]`.
    #[serde(default)]
    pub auth: RawAuth,
    /// `[audit]`.
    #[serde(default)]
    pub audit: RawAudit,
    /// `[filter]`.
    #[serde(default)]
    pub filter: RawFilter,
    /// `[admin]`.
    #[serde(default)]
    pub admin: RawAdmin,
    /// `[log]`.
    #[serde(default)]
    pub log: RawLog,
    /// `[limits]`: rate limits, quotas and adaptive protection (`docs/limits.md`).
    #[serde(default)]
    pub limits: smppguard_limits::LimitsConfig,
}

/// `[server]`: the proxy's identity, framing and session timers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// system_id the proxy names itself with in bind responses.
    pub system_id: String,
    /// Largest PDU accepted on any leg.
    pub max_pdu_bytes: u32,
    /// A connection that has not bound within this time is closed.
    pub bind_timeout_seconds: u64,
    /// A bound session with no PDU from the ESME for this long is closed.
    pub inactivity_timeout_seconds: u64,
    /// How long a drain waits for in-flight requests before answering them itself.
    pub drain_timeout_seconds: u64,
    /// deliver_sm / data_sm sent to one ESME session and not yet answered.
    pub deliver_window: u32,
    /// How long an ESME has to answer a deliver_sm before the SMSC is told to retry.
    pub deliver_timeout_seconds: u64,
    /// Runtime worker threads; 0 picks them from the CPUs available.
    pub workers: u32,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            system_id: "smppguard".into(),
            max_pdu_bytes: smppguard_codec::DEFAULT_MAX_COMMAND_LENGTH,
            bind_timeout_seconds: 10,
            inactivity_timeout_seconds: 300,
            drain_timeout_seconds: 30,
            deliver_window: 32,
            deliver_timeout_seconds: 30,
            workers: 0,
        }
    }
}

/// `[[listeners]]`: one address ESMEs connect to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    /// `ip:port` to listen on (port 0 picks a free port).
    pub address: String,
    /// Open connections on this listener.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one source IP on this listener.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// TLS for this listener; plain TCP when absent.
    #[serde(default)]
    pub tls: Option<RawTls>,
}

fn default_max_connections() -> usize {
    10_000
}

fn default_max_connections_per_ip() -> usize {
    64
}

/// `tls = { cert, key, client_ca, handshake_timeout_seconds }` of a listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificates; when set, clients must present a certificate they issued.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Time a client has to complete the TLS handshake.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout_seconds: u64,
}

fn default_handshake_timeout() -> u64 {
    10
}

/// `tls = { ca, server_name, cert, key }` of an upstream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamTls {
    /// PEM CA certificates the SMSC's certificate must chain to; the system trust
    /// store when absent.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Name the SMSC's certificate must be valid for; the host of `address` when absent.
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM client certificate chain, for SMSCs that require one (with `key`).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
}

/// `[[upstreams]]`: one SMSC and the pool of sessions bound to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// Name routes refer to.
    pub name: String,
    /// `host:port` of the SMSC.
    pub address: String,
    /// system_id to bind with.
    pub system_id: String,
    /// Password to bind with (at most 8 bytes).
    #[serde(default)]
    pub password: String,
    /// system_type to bind with.
    #[serde(default)]
    pub system_type: String,
    /// `transmitter`, `receiver` or `transceiver`.
    #[serde(default = "default_upstream_bind_type")]
    pub bind_type: BindType,
    /// interface_version to bind with (0x34 or 0x50).
    #[serde(default = "default_interface_version")]
    pub interface_version: u8,
    /// Sessions kept bound to this SMSC.
    #[serde(default = "default_sessions")]
    pub sessions: u32,
    /// Requests outstanding per session.
    #[serde(default = "default_upstream_window")]
    pub window: u32,
    /// Idle time before an enquire_link is sent; the session is dropped when it goes
    /// unanswered for as long again.
    #[serde(default = "default_enquire_link_interval")]
    pub enquire_link_interval_seconds: u64,
    /// Time allowed for TCP connect and for the bind response.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// First delay before reconnecting after a failure; doubles up to the maximum.
    #[serde(default = "default_backoff_min")]
    pub reconnect_backoff_min_ms: u64,
    /// Largest delay between reconnect attempts.
    #[serde(default = "default_backoff_max")]
    pub reconnect_backoff_max_ms: u64,
    /// TLS to this SMSC; plain TCP when absent.
    #[serde(default)]
    pub tls: Option<RawUpstreamTls>,
}

fn default_upstream_bind_type() -> BindType {
    BindType::Transceiver
}
fn default_interface_version() -> u8 {
    0x34
}
fn default_sessions() -> u32 {
    1
}
fn default_upstream_window() -> u32 {
    64
}
fn default_enquire_link_interval() -> u64 {
    30
}
fn default_connect_timeout() -> u64 {
    5
}
fn default_backoff_min() -> u64 {
    200
}
fn default_backoff_max() -> u64 {
    10_000
}

/// `[[routes]]`: the upstreams an account's traffic goes to, in failover order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    /// Name accounts refer to.
    pub name: String,
    /// Upstream names, tried in order.
    pub upstreams: Vec<String>,
}

/// `[[accounts]]`: one ESME account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    /// system_id the ESME binds with (at most 15 bytes).
    pub system_id: String,
    /// PHC string of the password's hash (`smppguard passwd` prints one).
    pub password_hash: String,
    /// Source IP ranges allowed to bind; any address when absent.
    #[serde(default)]
    pub allowed_ips: Option<Vec<String>>,
    /// Concurrent binds.
    #[serde(default = "default_max_binds")]
    pub max_binds: u32,
    /// Requests outstanding per session.
    #[serde(default = "default_account_window")]
    pub window: u32,
    /// Bind types the account may use.
    #[serde(default = "default_bind_types")]
    pub bind_types: Vec<BindType>,
    /// Route name for this account's messages.
    pub route: String,
    /// destination_addr prefixes of mobile-originated messages routed to this account.
    #[serde(default)]
    pub mo_addresses: Vec<String>,
    /// Groups rule scopes can name.
    #[serde(default)]
    pub groups: Vec<String>,
    /// What data_coding 0 means in this account's messages.
    #[serde(default)]
    pub default_alphabet: DefaultAlphabet,
    /// A disabled account cannot bind; bound sessions are unaffected until they unbind.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_max_binds() -> u32 {
    4
}
fn default_account_window() -> u32 {
    64
}
fn default_bind_types() -> Vec<BindType> {
    vec![
        BindType::Transmitter,
        BindType::Receiver,
        BindType::Transceiver,
    ]
}
fn default_true() -> bool {
    true
}

/// `[relay]`: how long requests may wait and what the proxy answers itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRelay {
    /// A request unanswered by the SMSC for this long is answered by the proxy.
    pub response_timeout_seconds: u64,
    /// Status of that answer.
    pub timeout_status: u32,
    /// Status when no upstream session can take the request.
    pub no_upstream_status: u32,
    /// Status when the ESME exceeds its window.
    pub throttled_status: u32,
    /// Status for new requests while draining.
    pub draining_status: u32,
    /// Status when a session to the SMSC is lost with the request sent but unanswered.
    pub upstream_lost_status: u32,
    /// Status for blocked messages whose rule names none (quarantine).
    pub block_status: u32,
}

impl Default for RawRelay {
    fn default() -> Self {
        Self {
            response_timeout_seconds: 60,
            timeout_status: CommandStatus::ESME_RSYSERR.0,
            no_upstream_status: CommandStatus::ESME_RTHROTTLED.0,
            throttled_status: CommandStatus::ESME_RTHROTTLED.0,
            draining_status: CommandStatus::ESME_RTHROTTLED.0,
            upstream_lost_status: CommandStatus::ESME_RSYSERR.0,
            block_status: CommandStatus::ESME_RSUBMITFAIL.0,
        }
    }
}

/// `[hold]`: multi-part messages held until complete.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHold {
    /// How long a message may wait for its missing parts, from its first part.
    pub timeout_ms: u64,
    /// Messages held per account.
    pub max_messages_per_account: usize,
    /// Bytes held per account.
    pub max_bytes_per_account: usize,
    /// Messages held in total.
    pub max_messages: usize,
    /// Bytes held in total.
    pub max_bytes: usize,
    /// `reject` or `forward` the parts of a message still incomplete at the timeout.
    pub incomplete_action: IncompleteAction,
    /// Status of a rejected incomplete message.
    pub incomplete_status: u32,
}

impl Default for RawHold {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            max_messages_per_account: 256,
            max_bytes_per_account: 1 << 20,
            max_messages: 20_000,
            max_bytes: 64 << 20,
            incomplete_action: IncompleteAction::Reject,
            incomplete_status: CommandStatus::ESME_RSUBMITFAIL.0,
        }
    }
}

/// What happens to a multi-part message whose parts did not all arrive in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncompleteAction {
    /// Answer every held part with `incomplete_status`; nothing reaches the SMSC.
    Reject,
    /// Scan the parts that arrived and forward them unless blocked.
    Forward,
}

/// `[receipts]`: the message_id → account map that routes delivery receipts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawReceipts {
    /// How long a message_id is remembered.
    pub ttl_seconds: u64,
    /// Entries remembered; the oldest is forgotten first.
    pub max_entries: usize,
    /// Status answered to the SMSC for a receipt with an unknown message_id.
    pub unknown_status: u32,
    /// Status answered to the SMSC when the owning account has no receiver bound.
    pub no_session_status: u32,
}

impl Default for RawReceipts {
    fn default() -> Self {
        Self {
            ttl_seconds: 72 * 3600,
            max_entries: 1_000_000,
            unknown_status: CommandStatus::ESME_RX_T_APPN.0,
            no_session_status: CommandStatus::ESME_RX_T_APPN.0,
        }
    }
}

/// `[auth]`: bind failure slow-down and lockout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    /// Failures (per IP or per system_id) after which answers are delayed.
    pub slowdown_after_failures: u32,
    /// Delay added per failure beyond that threshold.
    pub slowdown_ms_per_failure: u64,
    /// Largest delay.
    pub max_slowdown_ms: u64,
    /// Failures after which the IP or system_id is locked out.
    pub lockout_after_failures: u32,
    /// How long a lockout lasts.
    pub lockout_seconds: u64,
    /// Failures older than this are forgotten.
    pub failure_window_seconds: u64,
    /// IPs and system_ids tracked at once; the stalest entry is forgotten first.
    pub max_tracked: usize,
    /// Password verifications running at once (each is deliberately expensive).
    pub max_concurrent_verifications: usize,
    /// Answer unknown system_ids with ESME_RINVPASWD instead of ESME_RINVSYSID, so
    /// bind answers do not reveal which accounts exist.
    pub hide_unknown_system_id: bool,
}

impl Default for RawAuth {
    fn default() -> Self {
        Self {
            slowdown_after_failures: 3,
            slowdown_ms_per_failure: 500,
            max_slowdown_ms: 5_000,
            lockout_after_failures: 10,
            lockout_seconds: 300,
            failure_window_seconds: 600,
            max_tracked: 100_000,
            max_concurrent_verifications: 4,
            hide_unknown_system_id: false,
        }
    }
}

/// `[audit]`: JSON-lines log of blocked and quarantined messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// File to append to; no audit log when absent.
    pub path: Option<PathBuf>,
    /// Digits of each address kept in clear at its end; the rest become `*`.
    /// 0 masks the whole address; 32 or more keeps it.
    pub address_keep_last_digits: u8,
    /// Records queued for the writer; beyond it records are counted and dropped, so a
    /// slow disk never slows the traffic.
    pub queue_records: usize,
    /// The file is rotated (renamed with a timestamp) when it reaches this size; 0
    /// turns size rotation off.
    pub max_file_bytes: u64,
    /// The file is rotated when it is this old; 0 turns time rotation off.
    pub rotate_interval_seconds: u64,
    /// Rotated files kept; older ones are deleted (retention).
    pub max_files: usize,
}

impl Default for RawAudit {
    fn default() -> Self {
        Self {
            path: None,
            address_keep_last_digits: 4,
            queue_records: 10_000,
            max_file_bytes: 100 << 20,
            rotate_interval_seconds: 86_400,
            max_files: 14,
        }
    }
}

/// `[filter]`: content rules.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFilter {
    /// Rule pack file or directory; no content filtering when absent.
    pub rules: Option<PathBuf>,
    /// Scan mobile-originated messages (deliver_sm from the SMSC) too.
    pub scan_mo: bool,
}

/// An SMPP bind type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindType {
    /// Sends messages only.
    Transmitter,
    /// Receives messages only.
    Receiver,
    /// Both.
    Transceiver,
}

impl BindType {
    /// Whether the session may submit.
    pub fn can_send(self) -> bool {
        !matches!(self, BindType::Receiver)
    }

    /// Whether the session may receive deliver_sm.
    pub fn can_receive(self) -> bool {
        !matches!(self, BindType::Transmitter)
    }

    /// The lower-case name, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            BindType::Transmitter => "transmitter",
            BindType::Receiver => "receiver",
            BindType::Transceiver => "transceiver",
        }
    }
}

// === validated types ===

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The part applied at start; a reload that changes it is refused.
    pub fixed: StaticConfig,
    /// The part a reload swaps.
    pub dynamic: DynamicConfig,
}

/// Settings that need a restart to change.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticConfig {
    /// `[server]`.
    pub server: ServerConfig,
    /// `[[listeners]]`.
    pub listeners: Vec<ListenerConfig>,
    /// `[[upstreams]]`.
    pub upstreams: Vec<UpstreamConfig>,
    /// `[relay]`.
    pub relay: RelayConfig,
    /// `[hold]`.
    pub hold: HoldConfig,
    /// `[receipts]`.
    pub receipts: ReceiptsConfig,
    /// `[auth]`.
    pub auth: AuthConfig,
    /// `[audit]`.
    pub audit: AuditConfig,
    /// `[admin]`.
    pub admin: AdminConfig,
    /// `[log]`.
    pub log: LogConfig,
}

/// Validated `[server]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Name in bind responses.
    pub system_id: String,
    /// Largest PDU accepted.
    pub max_pdu_bytes: u32,
    /// Time to bind after connecting.
    pub bind_timeout: Duration,
    /// Idle time after which a bound session is closed.
    pub inactivity_timeout: Duration,
    /// Drain deadline.
    pub drain_timeout: Duration,
    /// deliver_sm outstanding per ESME session.
    pub deliver_window: u32,
    /// Time an ESME has to answer a deliver_sm.
    pub deliver_timeout: Duration,
    /// Runtime worker threads; 0: chosen from the CPUs available
    /// ([`ServerConfig::worker_threads`]).
    pub workers: usize,
}

impl ServerConfig {
    /// The runtime's worker threads: `workers` when set, else one per CPU available
    /// (`available_cpus`) less one, at least one.
    pub fn worker_threads(&self, available_cpus: usize) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            available_cpus.saturating_sub(1).max(1)
        }
    }
}

/// Validated `[[listeners]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    /// Address to listen on.
    pub address: SocketAddr,
    /// Open connections.
    pub max_connections: usize,
    /// Open connections per source IP.
    pub max_connections_per_ip: usize,
    /// TLS certificate and key, when the listener speaks TLS.
    pub tls: Option<TlsFiles>,
}

/// Files and handshake limit of a TLS listener (paths resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// PEM CA certificates client certificates must chain to (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
    /// Time allowed for the handshake.
    pub handshake_timeout: Duration,
}

/// TLS settings of an upstream (paths resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// PEM CA certificates; the system trust store when `None`.
    pub ca_file: Option<PathBuf>,
    /// Name the SMSC's certificate is checked against (DNS name or IP address).
    pub server_name: String,
    /// Client certificate chain and key, when the SMSC asks for one.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// Validated `[[upstreams]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// Name.
    pub name: String,
    /// `host:port`.
    pub address: String,
    /// Bind credentials and identity.
    pub system_id: String,
    /// Bind password.
    pub password: String,
    /// Bind system_type.
    pub system_type: String,
    /// Bind type.
    pub bind_type: BindType,
    /// interface_version sent in the bind.
    pub interface_version: u8,
    /// Sessions in the pool.
    pub sessions: u32,
    /// Requests outstanding per session.
    pub window: u32,
    /// enquire_link interval.
    pub enquire_link_interval: Duration,
    /// Connect and bind timeout.
    pub connect_timeout: Duration,
    /// First reconnect delay.
    pub backoff_min: Duration,
    /// Largest reconnect delay.
    pub backoff_max: Duration,
    /// TLS to the SMSC, when configured.
    pub tls: Option<UpstreamTls>,
}

/// Validated `[relay]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    /// Deadline for an upstream response.
    pub response_timeout: Duration,
    /// Status on that deadline.
    pub timeout_status: CommandStatus,
    /// Status when no upstream session can take a request.
    pub no_upstream_status: CommandStatus,
    /// Status when the ESME window is full.
    pub throttled_status: CommandStatus,
    /// Status for new requests while draining.
    pub draining_status: CommandStatus,
    /// Status when the upstream session is lost with the request outstanding.
    pub upstream_lost_status: CommandStatus,
    /// Status for blocks whose rule names none.
    pub block_status: CommandStatus,
}

/// Validated `[hold]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldConfig {
    /// Bounds and timeout for the reassembler.
    pub limits: smppguard_text::ReassemblyLimits,
    /// What to do with incomplete messages.
    pub incomplete_action: IncompleteAction,
    /// Status for rejected incomplete messages.
    pub incomplete_status: CommandStatus,
}

/// Validated `[receipts]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiptsConfig {
    /// Time a message_id is remembered.
    pub ttl: Duration,
    /// Entries remembered.
    pub max_entries: usize,
    /// deliver_sm_resp status for a receipt with an unknown id.
    pub unknown_status: CommandStatus,
    /// deliver_sm_resp status when no receiver of the owner is bound.
    pub no_session_status: CommandStatus,
}

/// Validated `[auth]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthConfig {
    /// Failures before slowing down.
    pub slowdown_after_failures: u32,
    /// Delay per failure beyond that.
    pub slowdown_per_failure: Duration,
    /// Largest delay.
    pub max_slowdown: Duration,
    /// Failures before a lockout.
    pub lockout_after_failures: u32,
    /// Lockout length.
    pub lockout: Duration,
    /// Failures are forgotten after this.
    pub failure_window: Duration,
    /// Tracked IPs and system_ids.
    pub max_tracked: usize,
    /// Concurrent password verifications.
    pub max_concurrent_verifications: usize,
    /// Answer unknown system_ids like wrong passwords.
    pub hide_unknown_system_id: bool,
}

/// Validated `[audit]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// Output file, if auditing is on.
    pub path: Option<PathBuf>,
    /// Address digits kept in clear.
    pub address_keep_last_digits: u8,
    /// Writer queue bound.
    pub queue_records: usize,
    /// Size rotation threshold (0: off).
    pub max_file_bytes: u64,
    /// Time rotation interval (zero: off).
    pub rotate_interval: Duration,
    /// Rotated files kept.
    pub max_files: usize,
}

/// The reloadable settings: accounts, routes and filter rules.
#[derive(Debug, Clone, Default)]
pub struct DynamicConfig {
    /// Accounts by system_id.
    pub accounts: HashMap<String, Arc<AccountConfig>>,
    /// Routes by name; each lists upstream names in failover order.
    pub routes: HashMap<String, Arc<[String]>>,
    /// Content filtering.
    pub filter: FilterConfig,
    /// `[limits]`, validated against the accounts.
    pub limits: Arc<smppguard_limits::LimitsConfig>,
}

/// Validated `[filter]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterConfig {
    /// Rule pack path, resolved against the configuration file's directory.
    pub rules: Option<PathBuf>,
    /// Whether mobile-originated messages are scanned too.
    pub scan_mo: bool,
}

/// One validated account.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    /// system_id.
    pub system_id: Arc<str>,
    /// PHC password hash.
    pub password_hash: String,
    /// Allowed source ranges; empty means any.
    pub allowed_ips: Vec<IpNet>,
    /// Concurrent binds.
    pub max_binds: u32,
    /// Outstanding requests per session.
    pub window: u32,
    /// Allowed bind types.
    pub bind_types: Vec<BindType>,
    /// Route name.
    pub route: String,
    /// MO destination prefixes.
    pub mo_addresses: Vec<String>,
    /// Rule-scope groups.
    pub groups: Vec<String>,
    /// Meaning of data_coding 0.
    pub default_alphabet: DefaultAlphabet,
    /// Whether new binds are accepted.
    pub enabled: bool,
}

impl AccountConfig {
    /// Whether `ip` may bind as this account.
    pub fn ip_allowed(&self, ip: std::net::IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.allowed_ips.is_empty() || self.allowed_ips.iter().any(|net| net.contains(&ip))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack listener reports)
/// as plain IPv4, so IPv4 ranges match them.
pub fn canonical_ip(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    }
}

// === impl Config ===

impl Config {
    /// Reads and validates the file at `path`; relative paths inside it are resolved
    /// against its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        Config::from_toml(&text, base)
    }

    /// Parses and validates TOML text; relative paths are resolved against `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        raw.validate(base_dir)
    }
}

fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start);
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    ConfigError::Syntax {
        line,
        column,
        message: e.message().trim_end_matches('\n').to_string(),
    }
}

fn range_u64(key: &str, v: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(key, format!("must be between {min} and {max}")))
    }
}

fn range_usize(key: &str, v: usize, min: usize, max: usize) -> Result<usize, ConfigError> {
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(key, format!("must be between {min} and {max}")))
    }
}

fn seconds(key: &str, v: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
    range_u64(key, v, min, max).map(Duration::from_secs)
}

fn millis(key: &str, v: u64, min: u64, max: u64) -> Result<Duration, ConfigError> {
    range_u64(key, v, min, max).map(Duration::from_millis)
}

/// A command_status the proxy may answer with: not 0 (that would claim success).
fn status(key: &str, v: u32) -> Result<CommandStatus, ConfigError> {
    if v == 0 {
        Err(invalid(key, "must be a non-zero command_status"))
    } else {
        Ok(CommandStatus(v))
    }
}

/// A C-octet string value that fits a field of `max` bytes (NUL included).
fn c_string(key: &str, v: &str, max: usize, allow_empty: bool) -> Result<String, ConfigError> {
    if !allow_empty && v.is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if v.len() >= max {
        return Err(invalid(key, format!("must be at most {} bytes", max - 1)));
    }
    if !v.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Err(invalid(key, "must be printable ascii"));
    }
    Ok(v.to_string())
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Validates an upstream's `tls` table.
fn upstream_tls(
    base: &Path,
    address: &str,
    t: &RawUpstreamTls,
    key: &dyn Fn(&str) -> String,
) -> Result<UpstreamTls, ConfigError> {
    let server_name = match &t.server_name {
        Some(n) => n.clone(),
        None => host_of(address).to_string(),
    };
    if rustls::pki_types::ServerName::try_from(server_name.as_str()).is_err() {
        return Err(invalid(
            key("tls.server_name"),
            "must be a DNS name or an IP address",
        ));
    }
    let client_cert = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => Some((resolve(base, c), resolve(base, k))),
        (None, None) => None,
        (Some(_), None) => return Err(invalid(key("tls.key"), "required with tls.cert")),
        (None, Some(_)) => return Err(invalid(key("tls.cert"), "required with tls.key")),
    };
    Ok(UpstreamTls {
        ca_file: t.ca.as_ref().map(|p| resolve(base, p)),
        server_name,
        client_cert,
    })
}

/// The host part of `host:port` (brackets of an IPv6 literal removed).
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

// === impl RawConfig ===

impl RawConfig {
    /// Checks every value and builds the typed configuration.
    pub fn validate(self, base: &Path) -> Result<Config, ConfigError> {
        let s = &self.server;
        let server = ServerConfig {
            system_id: c_string("server.system_id", &s.system_id, 16, false)?,
            max_pdu_bytes: u32::try_from(range_u64(
                "server.max_pdu_bytes",
                u64::from(s.max_pdu_bytes),
                256,
                1 << 20,
            )?)
            .unwrap_or(s.max_pdu_bytes),
            bind_timeout: seconds(
                "server.bind_timeout_seconds",
                s.bind_timeout_seconds,
                1,
                3600,
            )?,
            inactivity_timeout: seconds(
                "server.inactivity_timeout_seconds",
                s.inactivity_timeout_seconds,
                1,
                86_400,
            )?,
            drain_timeout: seconds(
                "server.drain_timeout_seconds",
                s.drain_timeout_seconds,
                0,
                3600,
            )?,
            deliver_window: u32::try_from(range_u64(
                "server.deliver_window",
                u64::from(s.deliver_window),
                1,
                4096,
            )?)
            .unwrap_or(1),
            deliver_timeout: seconds(
                "server.deliver_timeout_seconds",
                s.deliver_timeout_seconds,
                1,
                3600,
            )?,
            workers: usize::try_from(range_u64("server.workers", u64::from(s.workers), 0, 1024)?)
                .unwrap_or(1),
        };

        if self.listeners.is_empty() {
            return Err(invalid("listeners", "at least one listener is required"));
        }
        let mut listeners = Vec::with_capacity(self.listeners.len());
        let mut seen_addr = HashSet::new();
        for (i, l) in self.listeners.iter().enumerate() {
            let key = |k: &str| format!("listeners[{i}].{k}");
            let address: SocketAddr = l
                .address
                .parse()
                .map_err(|_| invalid(key("address"), "must be ip:port"))?;
            if address.port() != 0 && !seen_addr.insert(address) {
                return Err(invalid(key("address"), "listed twice"));
            }
            listeners.push(ListenerConfig {
                address,
                max_connections: range_usize(
                    &key("max_connections"),
                    l.max_connections,
                    1,
                    1_000_000,
                )?,
                max_connections_per_ip: range_usize(
                    &key("max_connections_per_ip"),
                    l.max_connections_per_ip,
                    1,
                    1_000_000,
                )?,
                tls: match &l.tls {
                    Some(t) => Some(TlsFiles {
                        cert_file: resolve(base, &t.cert),
                        key_file: resolve(base, &t.key),
                        client_ca_file: t.client_ca.as_ref().map(|p| resolve(base, p)),
                        handshake_timeout: seconds(
                            &key("tls.handshake_timeout_seconds"),
                            t.handshake_timeout_seconds,
                            1,
                            300,
                        )?,
                    }),
                    None => None,
                },
            });
        }

        if self.upstreams.is_empty() {
            return Err(invalid("upstreams", "at least one upstream is required"));
        }
        let mut upstreams = Vec::with_capacity(self.upstreams.len());
        let mut upstream_names = HashSet::new();
        for (i, u) in self.upstreams.iter().enumerate() {
            let key = |k: &str| format!("upstreams[{i}].{k}");
            if u.name.is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if !upstream_names.insert(u.name.clone()) {
                return Err(invalid(key("name"), "another upstream has this name"));
            }
            if !u.address.contains(':') {
                return Err(invalid(key("address"), "must be host:port"));
            }
            if !matches!(u.interface_version, 0x33 | 0x34 | 0x50) {
                return Err(invalid(
                    key("interface_version"),
                    "must be 0x33, 0x34 or 0x50",
                ));
            }
            let backoff_min = millis(
                &key("reconnect_backoff_min_ms"),
                u.reconnect_backoff_min_ms,
                10,
                600_000,
            )?;
            let backoff_max = millis(
                &key("reconnect_backoff_max_ms"),
                u.reconnect_backoff_max_ms,
                10,
                3_600_000,
            )?;
            if backoff_max < backoff_min {
                return Err(invalid(
                    key("reconnect_backoff_max_ms"),
                    "must not be below reconnect_backoff_min_ms",
                ));
            }
            let tls = match &u.tls {
                Some(t) => Some(upstream_tls(base, &u.address, t, &key)?),
                None => None,
            };
            upstreams.push(UpstreamConfig {
                name: u.name.clone(),
                address: u.address.clone(),
                system_id: c_string(&key("system_id"), &u.system_id, 16, false)?,
                password: c_string(&key("password"), &u.password, 9, true)?,
                system_type: c_string(&key("system_type"), &u.system_type, 13, true)?,
                bind_type: u.bind_type,
                interface_version: u.interface_version,
                sessions: u32::try_from(range_u64(&key("sessions"), u.sessions.into(), 1, 64)?)
                    .unwrap_or(1),
                window: u32::try_from(range_u64(&key("window"), u.window.into(), 1, 65_535)?)
                    .unwrap_or(1),
                enquire_link_interval: seconds(
                    &key("enquire_link_interval_seconds"),
                    u.enquire_link_interval_seconds,
                    1,
                    3600,
                )?,
                connect_timeout: seconds(
                    &key("connect_timeout_seconds"),
                    u.connect_timeout_seconds,
                    1,
                    300,
                )?,
                backoff_min,
                backoff_max,
                tls,
            });
        }

        let r = &self.relay;
        let relay = RelayConfig {
            response_timeout: seconds(
                "relay.response_timeout_seconds",
                r.response_timeout_seconds,
                1,
                3600,
            )?,
            timeout_status: status("relay.timeout_status", r.timeout_status)?,
            no_upstream_status: status("relay.no_upstream_status", r.no_upstream_status)?,
            throttled_status: status("relay.throttled_status", r.throttled_status)?,
            draining_status: status("relay.draining_status", r.draining_status)?,
            upstream_lost_status: status("relay.upstream_lost_status", r.upstream_lost_status)?,
            block_status: status("relay.block_status", r.block_status)?,
        };

        let h = &self.hold;
        let hold = HoldConfig {
            limits: smppguard_text::ReassemblyLimits {
                timeout_ms: range_u64("hold.timeout_ms", h.timeout_ms, 10, 600_000)?,
                max_sets_per_account: range_usize(
                    "hold.max_messages_per_account",
                    h.max_messages_per_account,
                    1,
                    1_000_000,
                )?,
                max_bytes_per_account: range_usize(
                    "hold.max_bytes_per_account",
                    h.max_bytes_per_account,
                    1024,
                    1 << 34,
                )?,
                max_sets: range_usize("hold.max_messages", h.max_messages, 1, 10_000_000)?,
                max_bytes: range_usize("hold.max_bytes", h.max_bytes, 1024, 1 << 36)?,
            },
            incomplete_action: h.incomplete_action,
            incomplete_status: status("hold.incomplete_status", h.incomplete_status)?,
        };

        let rc = &self.receipts;
        let receipts = ReceiptsConfig {
            ttl: seconds("receipts.ttl_seconds", rc.ttl_seconds, 1, 90 * 86_400)?,
            max_entries: range_usize("receipts.max_entries", rc.max_entries, 1, 100_000_000)?,
            unknown_status: status("receipts.unknown_status", rc.unknown_status)?,
            no_session_status: status("receipts.no_session_status", rc.no_session_status)?,
        };

        let a = &self.auth;
        let auth = AuthConfig {
            slowdown_after_failures: a.slowdown_after_failures,
            slowdown_per_failure: millis(
                "auth.slowdown_ms_per_failure",
                a.slowdown_ms_per_failure,
                0,
                60_000,
            )?,
            max_slowdown: millis("auth.max_slowdown_ms", a.max_slowdown_ms, 0, 60_000)?,
            lockout_after_failures: u32::try_from(range_u64(
                "auth.lockout_after_failures",
                a.lockout_after_failures.into(),
                1,
                1_000_000,
            )?)
            .unwrap_or(1),
            lockout: seconds("auth.lockout_seconds", a.lockout_seconds, 1, 86_400)?,
            failure_window: seconds(
                "auth.failure_window_seconds",
                a.failure_window_seconds,
                1,
                86_400,
            )?,
            max_tracked: range_usize("auth.max_tracked", a.max_tracked, 16, 10_000_000)?,
            max_concurrent_verifications: range_usize(
                "auth.max_concurrent_verifications",
                a.max_concurrent_verifications,
                1,
                1024,
            )?,
            hide_unknown_system_id: a.hide_unknown_system_id,
        };

        let audit = AuditConfig {
            path: self.audit.path.as_ref().map(|p| resolve(base, p)),
            address_keep_last_digits: self.audit.address_keep_last_digits,
            queue_records: range_usize(
                "audit.queue_records",
                self.audit.queue_records,
                1,
                10_000_000,
            )?,
            max_file_bytes: match self.audit.max_file_bytes {
                0 => 0,
                v => range_u64("audit.max_file_bytes", v, 4096, 1 << 40)?,
            },
            rotate_interval: seconds(
                "audit.rotate_interval_seconds",
                self.audit.rotate_interval_seconds,
                0,
                366 * 86_400,
            )?,
            max_files: range_usize("audit.max_files", self.audit.max_files, 1, 100_000)?,
        };
        let admin = self.admin.validate(base)?;
        let log = self.log.validate()?;

        let mut dynamic = validate_dynamic(
            &self.routes,
            &self.accounts,
            &self.filter,
            &upstream_names,
            base,
        )?;
        crate::limits::validate(self.limits, &mut dynamic)?;

        Ok(Config {
            fixed: StaticConfig {
                server,
                listeners,
                upstreams,
                relay,
                hold,
                receipts,
                auth,
                audit,
                admin,
                log,
            },
            dynamic,
        })
    }
}

fn validate_dynamic(
    routes_raw: &[RawRoute],
    accounts_raw: &[RawAccount],
    filter: &RawFilter,
    upstream_names: &HashSet<String>,
    base: &Path,
) -> Result<DynamicConfig, ConfigError> {
    let mut routes = HashMap::with_capacity(routes_raw.len());
    for (i, r) in routes_raw.iter().enumerate() {
        let key = |k: &str| format!("routes[{i}].{k}");
        if r.name.is_empty() {
            return Err(invalid(key("name"), "must not be empty"));
        }
        if r.upstreams.is_empty() {
            return Err(invalid(key("upstreams"), "must list at least one upstream"));
        }
        for (j, u) in r.upstreams.iter().enumerate() {
            if !upstream_names.contains(u) {
                return Err(invalid(
                    format!("routes[{i}].upstreams[{j}]"),
                    "names no configured upstream",
                ));
            }
        }
        let list: Arc<[String]> = r.upstreams.clone().into();
        if routes.insert(r.name.clone(), list).is_some() {
            return Err(invalid(key("name"), "another route has this name"));
        }
    }

    let mut accounts = HashMap::with_capacity(accounts_raw.len());
    for (i, a) in accounts_raw.iter().enumerate() {
        let key = |k: &str| format!("accounts[{i}].{k}");
        let system_id = c_string(&key("system_id"), &a.system_id, 16, false)?;
        if argon2::PasswordHash::new(&a.password_hash).is_err() {
            return Err(invalid(
                key("password_hash"),
                "must be a PHC hash string (smppguard passwd prints one)",
            ));
        }
        let mut allowed_ips = Vec::new();
        if let Some(list) = &a.allowed_ips {
            if list.is_empty() {
                return Err(invalid(
                    key("allowed_ips"),
                    "must list at least one range (omit the key to allow any address)",
                ));
            }
            for (j, s) in list.iter().enumerate() {
                let net = s
                    .parse::<IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        invalid(
                            format!("accounts[{i}].allowed_ips[{j}]"),
                            "must be an IP address or CIDR range",
                        )
                    })?;
                allowed_ips.push(net.trunc());
            }
        }
        if a.bind_types.is_empty() {
            return Err(invalid(
                key("bind_types"),
                "must list at least one bind type",
            ));
        }
        if !routes.contains_key(&a.route) {
            return Err(invalid(key("route"), "names no configured route"));
        }
        for (j, p) in a.mo_addresses.iter().enumerate() {
            if p.is_empty() || p.len() > 64 {
                return Err(invalid(
                    format!("accounts[{i}].mo_addresses[{j}]"),
                    "must be 1 to 64 characters",
                ));
            }
        }
        let account = AccountConfig {
            system_id: Arc::from(system_id.as_str()),
            password_hash: a.password_hash.clone(),
            allowed_ips,
            max_binds: u32::try_from(range_u64(&key("max_binds"), a.max_binds.into(), 1, 1024)?)
                .unwrap_or(1),
            window: u32::try_from(range_u64(&key("window"), a.window.into(), 1, 65_535)?)
                .unwrap_or(1),
            bind_types: a.bind_types.clone(),
            route: a.route.clone(),
            mo_addresses: a.mo_addresses.clone(),
            groups: a.groups.clone(),
            default_alphabet: a.default_alphabet,
            enabled: a.enabled,
        };
        if accounts.insert(system_id, Arc::new(account)).is_some() {
            return Err(invalid(
                key("system_id"),
                "another account has this system_id",
            ));
        }
    }

    Ok(DynamicConfig {
        accounts,
        routes,
        filter: FilterConfig {
            rules: filter.rules.as_ref().map(|p| resolve(base, p)),
            scan_mo: filter.scan_mo,
        },
        limits: Arc::default(),
    })
}

#[cfg(test)]
mod tests;
