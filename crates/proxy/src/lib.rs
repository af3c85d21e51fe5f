//! smppguard's inline proxy: ESME sessions in, SMSC sessions out, every message
//! decoded, reassembled and filtered, and every request answered exactly once.
//!
//! ESMEs bind to the proxy with accounts from the configuration; the proxy keeps its
//! own pools of sessions bound to one or more SMSCs and relays requests byte for byte,
//! rewriting only sequence numbers. Multi-part messages are held until complete so the
//! whole text is scanned before any part leaves. Receipts and mobile-originated
//! messages go back to the account that owns them. Nothing waits without a deadline and
//! every queue and map has a bound (listed in `docs/operations.md`).
//!
//! The types that matter:
//! - [`Config`] ([`StaticConfig`] + [`DynamicConfig`]): the validated TOML file;
//! - [`Proxy::start`] → [`ProxyHandle`]: `local_addrs()`, `reload()`, `drain()`,
//!   `readiness()`, `stats()`;
//! - [`StatsSnapshot`]: the event counters metrics are read from;
//! - [`ProxyHandle::metrics`]: the Prometheus families (`smppguard-metrics`), with
//!   per-account and per-upstream handles resolved at start and reload;
//! - [`hash_password`]: the PHC hash for an account's `password_hash`.
//!
//! # Layout
//! - `config`: serde structs and validation (errors name the key path).
//! - `framed`: tokio `Decoder`/`Encoder` over the codec's framing; the batching writer.
//! - `account`: argon2 verification off the reactor; failure slow-down and lockout.
//! - `downstream`: one task per ESME connection (bind, window, enquire_link, unbind).
//! - `downlink`: an ESME connection's shared write buffer, its answer ports and writer.
//! - `upstream`: SMSC session tasks and pools; sequence ownership and deadlines.
//! - `relay`: answer-once handles for requests in both directions.
//! - `submit`: the request path (decode, hold, inspect, forward or answer).
//! - `hold`: multi-part hold around the text crate's `Reassembler`.
//! - `inspect`: the content decision for one whole message.
//! - `limits`: rate limits, quotas and adaptive protection (`smppguard-limits`) on the
//!   request path, its background tasks and metrics.
//! - `receipts`: message_id → account map with TTL and bound; receipt id parsing.
//! - `registry`: bound sessions per account; routing of deliver_sm to them.
//! - `audit`: JSON-lines audit log written off the hot path.
//! - `server`: start, reload, drain, listeners, timers.
//! - `stats`: event counters.
//! - `tls`: rustls configurations of TLS listeners and upstreams, reloadable; the
//!   plain-or-TLS stream type.
//! - `admin`: the admin API's half in the proxy: account status and suspension, a
//!   scan with the live rules, the quarantine, `[admin]`/`[log]` configuration.
//! - `metrics`: wiring to `smppguard-metrics` (exported counters, scrape-time gauges,
//!   per-account handles kept in step with reloads).
//!
//! # Cargo features
//! None.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(missing_docs, unreachable_pub)]

mod account;
mod admin;
mod audit;
pub mod config;
mod downlink;
mod downstream;
pub mod framed;
mod hold;
mod inspect;
mod limits;
mod metrics;
mod receipts;
mod registry;
mod relay;
mod server;
mod stats;
mod submit;
mod tls;
mod upstream;

pub use account::{PasswordError, hash_password, verify_password};
pub use admin::{
    AccountCounters, AccountLimits, AccountStatus, AdminError, LimitsReadiness, QuarantineDetail,
    QuarantineSummary, ReadyStatus, ReleaseReport, ScanOutcome, ScanRequest, SessionCounts,
    Suspension,
};
pub use config::{
    CheckReport, Config, ConfigError, DynamicConfig, RulesSummary, StaticConfig, check_file,
};
pub use server::{
    DrainReport, Proxy, ProxyHandle, ReloadError, ReloadReport, StartError, UpstreamStatus,
};
pub use stats::StatsSnapshot;
