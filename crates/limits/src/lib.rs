//! Rate limits, quotas, concurrency limits and adaptive account protection for smppguard,
//! on one node or shared by a fleet through Redis.
//!
//! Scam floods arrive from one aggregator account, to many numbers or to one. The
//! [`Limiter`] answers, per message and without blocking, whether the account, its sender
//! ID, the destination number, the destination prefix and the account's daily and monthly
//! quotas all allow it. A concatenated message is checked once with all its parts, so its
//! parts pass or fail together. The proxy calls it like this:
//!
//! ```
//! use smppguard_limits::{CheckRequest, Decision, Limiter, LimitsConfig, Nanos, UnixTime};
//!
//! let config: LimitsConfig = serde_json::from_str(
//!     r#"{ "accounts": { "acme": { "messages_per_second": 100.0, "burst": 10 } } }"#,
//! ).unwrap();
//! let limiter = Limiter::new(&config).unwrap();
//! let req = CheckRequest {
//!     account: "acme",
//!     source_addr: "ACME",
//!     destination_addr: "+886912345678",
//!     parts: 2,
//!     now: Nanos::now(),
//!     wall_clock: UnixTime::now(),
//! };
//! match limiter.check(&req) {
//!     Decision::Allow => { /* forward */ }
//!     Decision::Monitor { limit } => { /* forward, count `limit.as_str()` */ }
//!     Decision::Deny { limit, status } => { /* answer submit_sm_resp with `status` */ }
//! }
//! ```
//!
//! The core is sans-IO: time comes in as arguments ([`Nanos`] for rates, [`UnixTime`] for
//! quota days and months), so bursts, day boundaries and adaptive protection are tested
//! without sleeping. With `backend = "redis"`, limits are shared by every instance through
//! Lua scripts in Redis; a check still never waits for Redis: it consumes units leased ahead
//! of time, and the driver future ([`Limiter::redis_driver`]) refills leases in the background.
//!
//! # Layout
//! - [`config`]: the `[limits]` configuration (serde) and its validation.
//! - `limiter`: [`Limiter`], [`CheckRequest`], [`Permit`], snapshots, reload.
//! - [`decision`]: [`Decision`], [`LimitKind`] (bounded metric labels), statuses.
//! - `gcra`, `quota`: the two counting algorithms (GCRA rate, calendar quota).
//! - `adaptive`: per-account blocked-share and distinct-destination watch.
//! - `table`: the sharded, bounded, evicting table of per-key state.
//! - `lease`: the node side of fleet-wide limits (leases, allowance, degraded mode).
//! - `redis` (feature `redis`): the async driver, Lua scripts, reconnects.
//! - [`key`]: address normalisation ([`AddressKey`]).
//! - [`time`]: [`Nanos`], [`UnixTime`].
//!
//! # Features
//! - `redis` (default): the Redis backend (tokio, `redis` crate).
//! - `testing`: `testing::RedisServer`, a private `redis-server` child process for tests.
#![forbid(unsafe_code)]

mod adaptive;
pub mod config;
pub mod decision;
mod gcra;
pub mod key;
mod lease;
mod limiter;
mod quota;
#[cfg(feature = "redis")]
mod redis;
mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use adaptive::{Restriction, RestrictionKind, RestrictionReason};
pub use config::{ConfigError, LimitsConfig};
pub use decision::{Decision, Denied, ESME_RMSGQFUL, ESME_RTHROTTLED, LimitKind};
pub use key::AddressKey;
pub use limiter::{
    AccountState, CheckRequest, Health, HealthState, Limiter, LimiterStats, Permit, QuotaUsage,
};
pub use time::{Nanos, UnixTime};

#[cfg(feature = "redis")]
pub use redis::RedisDriver;
