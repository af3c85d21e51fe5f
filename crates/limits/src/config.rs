//! Limit configuration: the serde structs the proxy's config file embeds under `[limits]`, and
//! their validation into the typed plan the limiter runs.
//!
//! Names carry units (`messages_per_second`, `daily_parts`, `per_seconds`, `lease_ttl_ms`).
//! Unknown keys are errors. [`LimitsConfig::validate`] reports the first problem with the full
//! key path, e.g. `limits.accounts.acme.burst: must be >= 1`.
//!
//! Accounts inherit every unset field from their `group` (or from `default_group`); accounts
//! that are not listed use `default_group` alone, or no account limits if there is none.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::decision::{ESME_RTHROTTLED, LimitKind};
use crate::gcra::GcraParams;
use crate::quota::MAX_QUOTA;

#[cfg(test)]
mod tests;

/// A configuration problem: the key path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ConfigError {
    /// Dotted key path from `limits`, e.g. `limits.accounts.acme.burst`.
    pub path: String,
    /// What is wrong, in lower case.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// The `[limits]` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Where counters live: `local` (this node only, the default) or `redis` (shared by the
    /// fleet; needs `[limits.redis]`). Static: a reload cannot change it.
    #[serde(default)]
    pub backend: Backend,
    /// Redis settings, required when `backend = "redis"`. Static.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
    /// Offset of the quota time zone from UTC in minutes (e.g. 480 for UTC+8); daily and
    /// monthly quotas reset at local midnight. Default 0.
    #[serde(default)]
    pub quota_utc_offset_minutes: i32,
    /// Group applied to accounts without a `group` and to accounts not listed at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_group: Option<String>,
    /// Named sets of limits that accounts inherit.
    #[serde(default)]
    pub groups: BTreeMap<String, LimitSet>,
    /// Per-account limits, by SMPP `system_id`; unset fields come from the group.
    #[serde(default)]
    pub accounts: BTreeMap<String, LimitSet>,
    /// Anti-flood limit per destination number across all accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destinations: Option<KeyedRate>,
    /// Limits per destination prefix (country or operator code) across all accounts. Every
    /// matching prefix applies.
    #[serde(default)]
    pub prefixes: Vec<PrefixRate>,
    /// Adaptive protection policies, by name; groups and accounts refer to them.
    #[serde(default)]
    pub adaptive: BTreeMap<String, AdaptivePolicy>,
    /// Upper bound on tracked per-key states (senders, destinations, pairs); default 4,000,000.
    /// Beyond it new keys are not tracked (they pass, and are counted) until idle keys go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tracked_keys: Option<u64>,
    /// Upper bound on distinct unlisted accounts given their own state; default 10,000.
    /// Beyond it they share one state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unlisted_accounts: Option<u32>,
}

/// Where counters live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// In this process only.
    #[default]
    Local,
    /// Shared by all instances through Redis, with local leases on the hot path.
    Redis,
}

impl Backend {
    /// Stable name: `local` or `redis`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Redis => "redis",
        }
    }
}

/// The limits of one account or group. Every field is optional; an account's unset fields
/// come from its group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSet {
    /// Group to inherit from (accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Sustained messages per second (GCRA); a multi-part message counts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_per_second: Option<f64>,
    /// Messages that may pass at once from idle; default a tenth of a second's worth (>= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Sustained parts (segments) per second; a multi-part message counts once per part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_per_second: Option<f64>,
    /// Parts that may pass at once from idle; default a tenth of a second's worth (>= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_burst: Option<u32>,
    /// Concurrent binds of the account (on this node, or fleet-wide with Redis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_binds: Option<u32>,
    /// Outstanding requests (sent, not yet answered) of the account on this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    /// Messages per local calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_messages: Option<u64>,
    /// Parts per local calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_parts: Option<u64>,
    /// Messages per local calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_messages: Option<u64>,
    /// Parts per local calendar month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_parts: Option<u64>,
    /// Rate per sender ID (`source_addr`) within the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<KeyedRate>,
    /// Rate per destination number from this account (the (account, destination) pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<KeyedRate>,
    /// Status for rate, bind and window limits; default 0x58 `ESME_RTHROTTLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_status: Option<u32>,
    /// Status for daily and monthly quotas; default 0x58 (0x14 `ESME_RMSGQFUL` is common).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_status: Option<u32>,
    /// Status while the account is suspended by hand; default 0x58.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_status: Option<u32>,
    /// Limits that only count (never reject), by name, e.g. `["daily_parts"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitor: Option<Vec<LimitKind>>,
    /// Name of the adaptive protection policy in `limits.adaptive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<String>,
}

/// A rate over a period for keyed limits: at most `burst` at once, `messages` per
/// `per_seconds` sustained. Over any window of `per_seconds` at most `burst + messages` pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyedRate {
    /// Messages per period, sustained.
    pub messages: u32,
    /// Period length in seconds; default 1.
    #[serde(default = "one")]
    pub per_seconds: u32,
    /// Messages at once from idle; default `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Status when exceeded; default the account's `throttle_status` (or 0x58).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Only count, never reject.
    #[serde(default)]
    pub monitor: bool,
}

/// A rate limit for every destination starting with `prefix`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixRate {
    /// Leading digits of the normalised destination (a leading `+` is ignored), e.g. `"234"`
    /// or `"23480"`.
    pub prefix: String,
    /// Messages per period, sustained.
    pub messages: u32,
    /// Period length in seconds; default 1.
    #[serde(default = "one")]
    pub per_seconds: u32,
    /// Messages at once from idle; default `messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Status when exceeded; default 0x58.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
    /// Only count, never reject.
    #[serde(default)]
    pub monitor: bool,
}

/// When and how to restrict an account automatically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdaptivePolicy {
    /// Sliding window for the blocked share, in seconds (a multiple of 10, at most 3600);
    /// default 300.
    #[serde(default = "default_adaptive_window")]
    pub window_seconds: u32,
    /// Restrict when blocked / total messages in the window exceeds this share (0 < x <= 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_blocked_share: Option<f64>,
    /// Messages needed in the window before the share is judged; default 100.
    #[serde(default = "default_min_messages")]
    pub min_messages: u32,
    /// Restrict when the distinct destinations in one clock minute exceed this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_distinct_destinations_per_minute: Option<u32>,
    /// `throttle` (to `throttle_messages_per_second`) or `suspend`.
    #[serde(default)]
    pub action: AdaptiveAction,
    /// Rate while throttled; required for `action = "throttle"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_messages_per_second: Option<f64>,
    /// Burst while throttled; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_burst: Option<u32>,
    /// How long a restriction lasts, in seconds; 0 means until released by hand. Default 900.
    #[serde(default = "default_restriction_secs")]
    pub duration_seconds: u32,
    /// Status while restricted; default 0x58.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u32>,
}

/// What adaptive protection does to an account that trips a policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptiveAction {
    /// Lower its rate.
    #[default]
    Throttle,
    /// Refuse all its messages.
    Suspend,
}

/// Redis backend settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:port[/db]` URLs, tried in order on (re)connect.
    pub addresses: Vec<String>,
    /// Prefix of every key, one per deployment; default `smppguard`.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// A lease holds at least this many milliseconds of a limit's rate (more when recent
    /// demand was larger, up to the burst); default 10. Larger leases mean fewer Redis calls
    /// and a larger accuracy tolerance (see docs/limits.md).
    #[serde(default = "default_lease_window_ms")]
    pub lease_window_ms: u32,
    /// Unused leased units expire after this many milliseconds; default 1000.
    #[serde(default = "default_lease_ttl_ms")]
    pub lease_ttl_ms: u32,
    /// Most units one lease may hold; default 10,000.
    #[serde(default = "default_max_lease_units")]
    pub max_lease_units: u32,
    /// Quota units a node may count between two quota syncs; default 1000.
    #[serde(default = "default_quota_allowance")]
    pub quota_allowance: u32,
    /// With Redis unavailable, keep serving on local limits (true, default) or refuse every
    /// message with 0x58 (false).
    #[serde(default = "yes")]
    pub fail_open: bool,
    /// Share of each limit a node enforces alone while Redis is unavailable, and of what Redis
    /// reports available that it may use before confirming (0 < x <= 1); default 0.5. Set it
    /// to about 1 / number of nodes.
    #[serde(default = "default_local_share")]
    pub local_share: f64,
    /// Connect timeout; default 500 ms.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u32,
    /// A reply slower than this marks Redis degraded; default 250 ms.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u32,
    /// First reconnect delay; doubles up to `reconnect_max_ms`. Default 50 ms.
    #[serde(default = "default_reconnect_min_ms")]
    pub reconnect_min_ms: u32,
    /// Longest reconnect delay; default 5000 ms.
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u32,
    /// Health probe and shared-state (binds, restrictions) sync interval; default 1000 ms.
    #[serde(default = "default_sync_interval_ms")]
    pub sync_interval_ms: u32,
    /// Keys per script call; default 256.
    #[serde(default = "default_max_batch_keys")]
    pub max_batch_keys: u32,
    /// Name of this node in shared bind counts; default a random id per process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

impl RedisConfig {
    /// Settings with defaults for the given addresses.
    pub fn new(addresses: Vec<String>) -> Self {
        RedisConfig {
            addresses,
            key_prefix: default_key_prefix(),
            lease_window_ms: default_lease_window_ms(),
            lease_ttl_ms: default_lease_ttl_ms(),
            max_lease_units: default_max_lease_units(),
            quota_allowance: default_quota_allowance(),
            fail_open: true,
            local_share: default_local_share(),
            connect_timeout_ms: default_connect_timeout_ms(),
            response_timeout_ms: default_response_timeout_ms(),
            reconnect_min_ms: default_reconnect_min_ms(),
            reconnect_max_ms: default_reconnect_max_ms(),
            sync_interval_ms: default_sync_interval_ms(),
            max_batch_keys: default_max_batch_keys(),
            node_id: None,
        }
    }
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}
fn default_adaptive_window() -> u32 {
    300
}
fn default_min_messages() -> u32 {
    100
}
fn default_restriction_secs() -> u32 {
    900
}
fn default_key_prefix() -> String {
    "smppguard".to_owned()
}
fn default_lease_window_ms() -> u32 {
    10
}
fn default_lease_ttl_ms() -> u32 {
    1000
}
fn default_max_lease_units() -> u32 {
    10_000
}
fn default_quota_allowance() -> u32 {
    1000
}
fn default_local_share() -> f64 {
    0.5
}
fn default_connect_timeout_ms() -> u32 {
    500
}
fn default_response_timeout_ms() -> u32 {
    250
}
fn default_reconnect_min_ms() -> u32 {
    50
}
fn default_reconnect_max_ms() -> u32 {
    5000
}
fn default_sync_interval_ms() -> u32 {
    1000
}
fn default_max_batch_keys() -> u32 {
    256
}

const DEFAULT_MAX_TRACKED_KEYS: u64 = 4_000_000;
const DEFAULT_MAX_UNLISTED_ACCOUNTS: u32 = 10_000;
/// Rates above this are refused: the Redis scripts count in microseconds.
const MAX_RATE_PER_SECOND: f64 = 1_000_000.0;
const MAX_PREFIX_DIGITS: usize = 15;

// === impl LimitsConfig ===

impl LimitsConfig {
    /// Checks the whole section; the error names the first offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.plan().map(drop)
    }

    /// Validates and resolves inheritance into the plan the limiter runs.
    pub(crate) fn plan(&self) -> Result<Plan, ConfigError> {
        let offset_minutes = self.quota_utc_offset_minutes;
        if !(-14 * 60..=14 * 60).contains(&offset_minutes) {
            return Err(ConfigError::new(
                "limits.quota_utc_offset_minutes",
                "must be between -840 and 840",
            ));
        }
        let redis = match (self.backend, &self.redis) {
            (Backend::Redis, None) => {
                return Err(ConfigError::new(
                    "limits.redis",
                    "required when backend = \"redis\"",
                ));
            }
            (Backend::Redis, Some(r)) => {
                validate_redis(r)?;
                Some(r.clone())
            }
            (Backend::Local, _) => None,
        };

        let mut adaptive = BTreeMap::new();
        for (name, policy) in &self.adaptive {
            let path = format!("limits.adaptive.{name}");
            adaptive.insert(name.clone(), Arc::new(plan_adaptive(&path, policy)?));
        }

        for (name, group) in &self.groups {
            let path = format!("limits.groups.{name}");
            if group.group.is_some() {
                return Err(ConfigError::new(
                    format!("{path}.group"),
                    "groups cannot inherit from groups",
                ));
            }
            // Resolve now so a group's own errors are reported against the group.
            plan_account(&path, group, None, &adaptive)?;
        }

        let default_group = match &self.default_group {
            Some(name) => Some(self.groups.get(name).ok_or_else(|| {
                ConfigError::new("limits.default_group", format!("no group named {name:?}"))
            })?),
            None => None,
        };

        let mut accounts = BTreeMap::new();
        for (name, set) in &self.accounts {
            let path = format!("limits.accounts.{name}");
            if name.is_empty() || name.len() > 64 {
                return Err(ConfigError::new(path, "account name must be 1 to 64 bytes"));
            }
            let group = match &set.group {
                Some(g) => Some(self.groups.get(g).ok_or_else(|| {
                    ConfigError::new(format!("{path}.group"), format!("no group named {g:?}"))
                })?),
                None => default_group,
            };
            let mut plan = plan_account(&path, set, group, &adaptive)?;
            plan.group = set.group.clone().or_else(|| self.default_group.clone());
            accounts.insert(name.clone(), Arc::new(plan));
        }
        let unlisted = match (default_group, &self.default_group) {
            (Some(group), Some(name)) => {
                let mut plan =
                    plan_account(&format!("limits.groups.{name}"), group, None, &adaptive)?;
                plan.group = Some(name.clone());
                Some(Arc::new(plan))
            }
            _ => None,
        };

        let destinations = match &self.destinations {
            Some(rate) => Some(plan_keyed(
                "limits.destinations",
                rate,
                ESME_RTHROTTLED,
                false,
            )?),
            None => None,
        };

        let mut prefixes = Vec::with_capacity(self.prefixes.len());
        let mut seen = BTreeSet::new();
        for (i, p) in self.prefixes.iter().enumerate() {
            let path = format!("limits.prefixes[{i}]");
            let digits = p.prefix.strip_prefix('+').unwrap_or(&p.prefix);
            if digits.is_empty()
                || digits.len() > MAX_PREFIX_DIGITS
                || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(ConfigError::new(
                    format!("{path}.prefix"),
                    "must be 1 to 15 digits",
                ));
            }
            if !seen.insert(digits.to_owned()) {
                return Err(ConfigError::new(
                    format!("{path}.prefix"),
                    format!("duplicate prefix {digits:?}"),
                ));
            }
            let rate = KeyedRate {
                messages: p.messages,
                per_seconds: p.per_seconds,
                burst: p.burst,
                status: p.status,
                monitor: p.monitor,
            };
            prefixes.push(PrefixPlan {
                prefix: digits.to_owned(),
                rate: plan_keyed(&path, &rate, ESME_RTHROTTLED, false)?,
            });
        }

        let max_tracked_keys = self.max_tracked_keys.unwrap_or(DEFAULT_MAX_TRACKED_KEYS);
        if max_tracked_keys == 0 {
            return Err(ConfigError::new("limits.max_tracked_keys", "must be >= 1"));
        }
        let max_unlisted_accounts = self
            .max_unlisted_accounts
            .unwrap_or(DEFAULT_MAX_UNLISTED_ACCOUNTS);

        Ok(Plan {
            backend: self.backend,
            redis,
            quota_offset_secs: i64::from(offset_minutes) * 60,
            accounts,
            unlisted,
            destinations,
            prefixes,
            max_tracked_keys: usize::try_from(max_tracked_keys).unwrap_or(usize::MAX),
            max_unlisted_accounts: usize::try_from(max_unlisted_accounts).unwrap_or(usize::MAX),
        })
    }
}

fn check_status(path: &str, status: Option<u32>) -> Result<u32, ConfigError> {
    match status {
        Some(0) => Err(ConfigError::new(path, "must not be 0 (ESME_ROK)")),
        Some(s) => Ok(s),
        None => Ok(ESME_RTHROTTLED),
    }
}

fn plan_rate(
    path: &str,
    keys: (&str, &str),
    rate: Option<f64>,
    burst: Option<u32>,
    action: Action,
) -> Result<Option<RatePlan>, ConfigError> {
    let (rate_key, burst_key) = keys;
    let Some(rate) = rate else {
        if burst.is_some() {
            return Err(ConfigError::new(
                format!("{path}.{burst_key}"),
                format!("set without {rate_key}"),
            ));
        }
        return Ok(None);
    };
    if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_PER_SECOND) {
        return Err(ConfigError::new(
            format!("{path}.{rate_key}"),
            "must be > 0 and <= 1000000",
        ));
    }
    let burst = match burst {
        Some(0) => {
            return Err(ConfigError::new(
                format!("{path}.{burst_key}"),
                "must be >= 1",
            ));
        }
        Some(b) => b,
        // ok: rate is within (0, 1e6], so a tenth of it fits u32.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        None => ((rate / 10.0).ceil() as u32).max(1),
    };
    let params = GcraParams::per_second(rate, burst)
        .ok_or_else(|| ConfigError::new(format!("{path}.{rate_key}"), "out of range"))?;
    Ok(Some(RatePlan { params, action }))
}

fn plan_keyed(
    path: &str,
    rate: &KeyedRate,
    default_status: u32,
    monitor_default: bool,
) -> Result<RatePlan, ConfigError> {
    if rate.messages == 0 {
        return Err(ConfigError::new(format!("{path}.messages"), "must be >= 1"));
    }
    if rate.per_seconds == 0 {
        return Err(ConfigError::new(
            format!("{path}.per_seconds"),
            "must be >= 1",
        ));
    }
    if f64::from(rate.messages) / f64::from(rate.per_seconds) > MAX_RATE_PER_SECOND {
        return Err(ConfigError::new(
            format!("{path}.messages"),
            "rate must be <= 1000000 per second",
        ));
    }
    let burst = rate.burst.unwrap_or(rate.messages);
    if burst == 0 {
        return Err(ConfigError::new(format!("{path}.burst"), "must be >= 1"));
    }
    let status = match rate.status {
        Some(_) => check_status(&format!("{path}.status"), rate.status)?,
        None => default_status,
    };
    let params = GcraParams::per_period(rate.messages, rate.per_seconds, burst)
        .ok_or_else(|| ConfigError::new(format!("{path}.messages"), "out of range"))?;
    Ok(RatePlan {
        params,
        action: Action {
            status,
            monitor: rate.monitor || monitor_default,
        },
    })
}

fn plan_quota(
    path: &str,
    key: &str,
    limit: Option<u64>,
    action: Action,
) -> Result<Option<QuotaPlan>, ConfigError> {
    match limit {
        None => Ok(None),
        Some(0) => Err(ConfigError::new(format!("{path}.{key}"), "must be >= 1")),
        Some(l) if l > MAX_QUOTA => Err(ConfigError::new(
            format!("{path}.{key}"),
            format!("must be <= {MAX_QUOTA}"),
        )),
        Some(limit) => Ok(Some(QuotaPlan { limit, action })),
    }
}

fn plan_account(
    path: &str,
    own: &LimitSet,
    group: Option<&LimitSet>,
    adaptive: &BTreeMap<String, Arc<AdaptivePlan>>,
) -> Result<AccountPlan, ConfigError> {
    // Field-wise inheritance: the account's value if set, else the group's.
    let empty = LimitSet::default();
    let g = group.unwrap_or(&empty);
    macro_rules! pick {
        ($f:ident) => {
            own.$f.clone().or_else(|| g.$f.clone())
        };
    }
    let throttle_status = check_status(&format!("{path}.throttle_status"), pick!(throttle_status))?;
    let quota_status = check_status(&format!("{path}.quota_status"), pick!(quota_status))?;
    let suspended_status =
        check_status(&format!("{path}.suspended_status"), pick!(suspended_status))?;
    let monitor: BTreeSet<LimitKind> = pick!(monitor).unwrap_or_default().into_iter().collect();
    for kind in &monitor {
        if matches!(
            kind,
            LimitKind::Suspended
                | LimitKind::AdaptiveThrottle
                | LimitKind::DestinationRate
                | LimitKind::PrefixRate
                | LimitKind::BackendUnavailable
        ) {
            return Err(ConfigError::new(
                format!("{path}.monitor"),
                format!("{} is not an account limit", kind.as_str()),
            ));
        }
    }
    let action = |kind: LimitKind| Action {
        status: if kind.is_quota() {
            quota_status
        } else {
            throttle_status
        },
        monitor: monitor.contains(&kind),
    };

    let rate = plan_rate(
        path,
        ("messages_per_second", "burst"),
        pick!(messages_per_second),
        pick!(burst),
        action(LimitKind::AccountRate),
    )?;
    let parts_rate = plan_rate(
        path,
        ("parts_per_second", "parts_burst"),
        pick!(parts_per_second),
        pick!(parts_burst),
        action(LimitKind::AccountPartsRate),
    )?;
    let count_limit = |key: &str, v: Option<u32>, kind| match v {
        Some(0) => Err(ConfigError::new(format!("{path}.{key}"), "must be >= 1")),
        Some(max) => Ok(Some(CountPlan {
            max,
            action: action(kind),
        })),
        None => Ok(None),
    };
    let binds = count_limit("max_binds", pick!(max_binds), LimitKind::Binds)?;
    let window = count_limit("window", pick!(window), LimitKind::Window)?;
    let quotas = [
        plan_quota(
            path,
            "daily_messages",
            pick!(daily_messages),
            action(LimitKind::DailyMessages),
        )?,
        plan_quota(
            path,
            "daily_parts",
            pick!(daily_parts),
            action(LimitKind::DailyParts),
        )?,
        plan_quota(
            path,
            "monthly_messages",
            pick!(monthly_messages),
            action(LimitKind::MonthlyMessages),
        )?,
        plan_quota(
            path,
            "monthly_parts",
            pick!(monthly_parts),
            action(LimitKind::MonthlyParts),
        )?,
    ];
    let sender = match pick!(sender) {
        Some(r) => Some(plan_keyed(
            &format!("{path}.sender"),
            &r,
            throttle_status,
            monitor.contains(&LimitKind::SenderRate),
        )?),
        None => None,
    };
    let destination = match pick!(destination) {
        Some(r) => Some(plan_keyed(
            &format!("{path}.destination"),
            &r,
            throttle_status,
            monitor.contains(&LimitKind::AccountDestinationRate),
        )?),
        None => None,
    };
    let adaptive = match pick!(adaptive) {
        Some(name) => Some(adaptive.get(&name).cloned().ok_or_else(|| {
            ConfigError::new(
                format!("{path}.adaptive"),
                format!("no adaptive policy named {name:?}"),
            )
        })?),
        None => None,
    };
    Ok(AccountPlan {
        group: None,
        rate,
        parts_rate,
        binds,
        window,
        quotas,
        sender,
        destination,
        adaptive,
        suspended_status,
    })
}

fn plan_adaptive(path: &str, p: &AdaptivePolicy) -> Result<AdaptivePlan, ConfigError> {
    if p.window_seconds == 0 || !p.window_seconds.is_multiple_of(10) || p.window_seconds > 3600 {
        return Err(ConfigError::new(
            format!("{path}.window_seconds"),
            "must be a multiple of 10 between 10 and 3600",
        ));
    }
    if let Some(share) = p.max_blocked_share
        && !(share.is_finite() && share > 0.0 && share <= 1.0)
    {
        return Err(ConfigError::new(
            format!("{path}.max_blocked_share"),
            "must be > 0 and <= 1",
        ));
    }
    if let Some(max) = p.max_distinct_destinations_per_minute
        && !(1..=1_000_000).contains(&max)
    {
        return Err(ConfigError::new(
            format!("{path}.max_distinct_destinations_per_minute"),
            "must be between 1 and 1000000",
        ));
    }
    if p.max_blocked_share.is_none() && p.max_distinct_destinations_per_minute.is_none() {
        return Err(ConfigError::new(
            path,
            "needs max_blocked_share or max_distinct_destinations_per_minute",
        ));
    }
    let throttle = match p.action {
        AdaptiveAction::Throttle => {
            let rate = p.throttle_messages_per_second.ok_or_else(|| {
                ConfigError::new(
                    format!("{path}.throttle_messages_per_second"),
                    "required when action = \"throttle\"",
                )
            })?;
            if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE_PER_SECOND) {
                return Err(ConfigError::new(
                    format!("{path}.throttle_messages_per_second"),
                    "must be > 0 and <= 1000000",
                ));
            }
            let burst = p.throttle_burst.unwrap_or(1);
            if burst == 0 {
                return Err(ConfigError::new(
                    format!("{path}.throttle_burst"),
                    "must be >= 1",
                ));
            }
            GcraParams::per_second(rate, burst)
        }
        AdaptiveAction::Suspend => {
            if p.throttle_messages_per_second.is_some() || p.throttle_burst.is_some() {
                return Err(ConfigError::new(
                    format!("{path}.throttle_messages_per_second"),
                    "only valid with action = \"throttle\"",
                ));
            }
            None
        }
    };
    Ok(AdaptivePlan {
        window_buckets: p.window_seconds / 10,
        max_blocked_share: p.max_blocked_share,
        min_messages: u64::from(p.min_messages),
        max_distinct_per_minute: p.max_distinct_destinations_per_minute,
        throttle,
        duration: Duration::from_secs(u64::from(p.duration_seconds)),
        status: check_status(&format!("{path}.status"), p.status)?,
    })
}

fn validate_redis(r: &RedisConfig) -> Result<(), ConfigError> {
    let path = "limits.redis";
    if r.addresses.is_empty() {
        return Err(ConfigError::new(
            format!("{path}.addresses"),
            "needs at least one address",
        ));
    }
    for (i, a) in r.addresses.iter().enumerate() {
        if !a.starts_with("redis://") {
            return Err(ConfigError::new(
                format!("{path}.addresses[{i}]"),
                "must be a redis:// url",
            ));
        }
    }
    if r.key_prefix.is_empty()
        || r.key_prefix.len() > 64
        || !r
            .key_prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
    {
        return Err(ConfigError::new(
            format!("{path}.key_prefix"),
            "must be 1 to 64 printable characters without spaces or braces",
        ));
    }
    if !(r.local_share.is_finite() && r.local_share > 0.0 && r.local_share <= 1.0) {
        return Err(ConfigError::new(
            format!("{path}.local_share"),
            "must be > 0 and <= 1",
        ));
    }
    for (key, value) in [
        ("lease_window_ms", r.lease_window_ms),
        ("lease_ttl_ms", r.lease_ttl_ms),
        ("max_lease_units", r.max_lease_units),
        ("quota_allowance", r.quota_allowance),
        ("connect_timeout_ms", r.connect_timeout_ms),
        ("response_timeout_ms", r.response_timeout_ms),
        ("reconnect_min_ms", r.reconnect_min_ms),
        ("reconnect_max_ms", r.reconnect_max_ms),
        ("sync_interval_ms", r.sync_interval_ms),
        ("max_batch_keys", r.max_batch_keys),
    ] {
        if value == 0 {
            return Err(ConfigError::new(format!("{path}.{key}"), "must be >= 1"));
        }
    }
    if r.max_batch_keys > 10_000 {
        return Err(ConfigError::new(
            format!("{path}.max_batch_keys"),
            "must be <= 10000",
        ));
    }
    if r.reconnect_max_ms < r.reconnect_min_ms {
        return Err(ConfigError::new(
            format!("{path}.reconnect_max_ms"),
            "must be >= reconnect_min_ms",
        ));
    }
    if r.lease_ttl_ms < r.lease_window_ms {
        return Err(ConfigError::new(
            format!("{path}.lease_ttl_ms"),
            "must be >= lease_window_ms",
        ));
    }
    if let Some(id) = &r.node_id
        && (id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ConfigError::new(
            format!("{path}.node_id"),
            "must be 1 to 64 printable characters",
        ));
    }
    Ok(())
}

// === Plan: the validated, resolved form ===

/// What happens when a limit is exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Action {
    pub(crate) status: u32,
    pub(crate) monitor: bool,
}

/// A GCRA limit and its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RatePlan {
    pub(crate) params: GcraParams,
    pub(crate) action: Action,
}

/// A calendar quota and its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuotaPlan {
    pub(crate) limit: u64,
    pub(crate) action: Action,
}

/// A concurrency limit (binds, window) and its action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CountPlan {
    pub(crate) max: u32,
    pub(crate) action: Action,
}

/// Which quota sits at each index of [`AccountPlan::quotas`].
pub(crate) const QUOTA_KINDS: [LimitKind; 4] = [
    LimitKind::DailyMessages,
    LimitKind::DailyParts,
    LimitKind::MonthlyMessages,
    LimitKind::MonthlyParts,
];

/// The resolved limits of one account.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AccountPlan {
    pub(crate) group: Option<String>,
    pub(crate) rate: Option<RatePlan>,
    pub(crate) parts_rate: Option<RatePlan>,
    pub(crate) binds: Option<CountPlan>,
    pub(crate) window: Option<CountPlan>,
    /// Daily messages, daily parts, monthly messages, monthly parts.
    pub(crate) quotas: [Option<QuotaPlan>; 4],
    pub(crate) sender: Option<RatePlan>,
    pub(crate) destination: Option<RatePlan>,
    pub(crate) adaptive: Option<Arc<AdaptivePlan>>,
    pub(crate) suspended_status: u32,
}

/// A resolved adaptive policy.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AdaptivePlan {
    /// Ten-second buckets in the sliding window.
    pub(crate) window_buckets: u32,
    pub(crate) max_blocked_share: Option<f64>,
    pub(crate) min_messages: u64,
    pub(crate) max_distinct_per_minute: Option<u32>,
    /// Rate while throttled; `None` means suspend.
    pub(crate) throttle: Option<GcraParams>,
    /// Zero means until released by hand.
    pub(crate) duration: Duration,
    pub(crate) status: u32,
}

/// A resolved prefix limit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrefixPlan {
    pub(crate) prefix: String,
    pub(crate) rate: RatePlan,
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    pub(crate) backend: Backend,
    pub(crate) redis: Option<RedisConfig>,
    pub(crate) quota_offset_secs: i64,
    pub(crate) accounts: BTreeMap<String, Arc<AccountPlan>>,
    /// Limits of accounts that are not listed (`default_group`).
    pub(crate) unlisted: Option<Arc<AccountPlan>>,
    pub(crate) destinations: Option<RatePlan>,
    pub(crate) prefixes: Vec<PrefixPlan>,
    pub(crate) max_tracked_keys: usize,
    pub(crate) max_unlisted_accounts: usize,
}
