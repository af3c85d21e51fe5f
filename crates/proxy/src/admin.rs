//! What the admin API can see and do on a running proxy: account status, suspension,
//! a scan with the live rules, the quarantine, readiness. The HTTP side lives in
//! `smppguard-admin`; this module is the proxy's half, on [`ProxyHandle`].
//!
//! Suspension is runtime state keyed by system_id, so it survives reloads. A suspended
//! account stays bound (receipts for earlier messages still reach it) and every new
//! request is answered with `relay.block_status`; the check is one relaxed atomic load
//! per request. Adaptive protection (`[limits.adaptive]`) restricts accounts by
//! itself; those restrictions show in the account's `state` and `rate_limits`, and
//! `resume` lifts them as well.

pub(crate) mod config;
pub(crate) mod quarantine;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde::Serialize;
use smppguard_filter::{Envelope, Verdict};
use smppguard_metrics::Outcome;

use crate::audit::now_rfc3339;
use crate::config::AccountConfig;
use crate::server::{Phase, ProxyHandle, Shared};

pub use quarantine::{QuarantineDetail, QuarantineSummary, ReleaseReport};

/// Why an admin action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No configured account has this system_id.
    #[error("no such account")]
    UnknownAccount,
    /// No quarantined message has this id.
    #[error("no such quarantined message")]
    UnknownMessage,
    /// No upstream session could take a released message; it stays quarantined.
    #[error("no upstream session can take the message now; it stays quarantined")]
    NoUpstream,
    /// The proxy is draining.
    #[error("the proxy is draining")]
    Draining,
}

/// Runtime controls of one account, kept across reloads.
#[derive(Debug, Default)]
pub(crate) struct AccountControl {
    suspended: AtomicBool,
    detail: Mutex<Option<Suspension>>,
}

impl AccountControl {
    /// Whether new requests are refused.
    #[inline]
    pub(crate) fn is_suspended(&self) -> bool {
        self.suspended.load(Ordering::Relaxed)
    }
}

/// The controls of every account that has any.
#[derive(Debug, Default)]
pub(crate) struct Controls {
    map: Mutex<HashMap<Arc<str>, Arc<AccountControl>>>,
}

impl Controls {
    /// The controls of `account`, created on first use.
    pub(crate) fn get(&self, account: &str) -> Arc<AccountControl> {
        let mut map = self.map.lock();
        if let Some(c) = map.get(account) {
            return Arc::clone(c);
        }
        let c = Arc::new(AccountControl::default());
        map.insert(Arc::from(account), Arc::clone(&c));
        c
    }
}

/// A suspension in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suspension {
    /// When it began (RFC 3339, UTC).
    pub since: String,
    /// The operator's reason, if given.
    pub reason: Option<String>,
}

/// Bound sessions of an account by bind type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SessionCounts {
    /// bind_transmitter sessions.
    pub transmitter: usize,
    /// bind_receiver sessions.
    pub receiver: usize,
    /// bind_transceiver sessions.
    pub transceiver: usize,
}

/// The configured limits of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountLimits {
    /// Concurrent binds allowed.
    pub max_binds: u32,
    /// Outstanding requests per session.
    pub window: u32,
    /// Bind types allowed.
    pub bind_types: Vec<&'static str>,
    /// Source ranges allowed (empty: any).
    pub allowed_ips: Vec<String>,
}

/// Counts since the proxy started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountCounters {
    /// Submit-type requests received.
    pub received: u64,
    /// Requests sent to an SMSC.
    pub forwarded: u64,
    /// Whole messages inspected.
    pub messages: u64,
    /// Parts of those messages.
    pub message_parts: u64,
    /// Requests by outcome (only outcomes seen so far).
    pub outcomes: BTreeMap<&'static str, u64>,
}

/// One configured account as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountStatus {
    /// The system_id.
    pub system_id: String,
    /// `active`, `suspended` (by hand or by adaptive protection), `throttled` (by
    /// adaptive protection) or `disabled` (no new binds).
    pub state: &'static str,
    /// The suspension, when suspended.
    pub suspension: Option<Suspension>,
    /// Route name.
    pub route: String,
    /// Rule-scope groups.
    pub groups: Vec<String>,
    /// Configured limits.
    pub limits: AccountLimits,
    /// Bound sessions now.
    pub sessions: SessionCounts,
    /// Requests outstanding now over all sessions.
    pub window_in_use: u64,
    /// Counters since start.
    pub counters: AccountCounters,
    /// The limiter's view (`[limits]`): live rate, quotas and their usage, binds,
    /// adaptive window and any restriction; `None` until the account sends.
    pub rate_limits: Option<smppguard_limits::AccountState>,
}

/// The readiness as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadyStatus {
    /// Whether the proxy takes traffic.
    pub ready: bool,
    /// `running`, `draining` or `closing`.
    pub phase: &'static str,
    /// The live ruleset's version (none when no rules are configured).
    pub rules_version: Option<String>,
    /// Upstreams with at least one bound session.
    pub upstreams_bound: usize,
    /// Upstreams configured.
    pub upstreams: usize,
    /// The limits backend.
    pub limits: LimitsReadiness,
}

/// The limits backend's part of readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitsReadiness {
    /// `local`, `redis` (fleet-wide, healthy) or `degraded` (Redis unreachable or slow).
    pub state: &'static str,
    /// Why it is degraded (`connecting`, `connect_failed`, `request_failed`, `timeout`,
    /// `script_error`).
    pub reason: Option<&'static str>,
    /// Whether it lets the node serve: false only when degraded with
    /// `limits.redis.fail_open = false`, since every limited message is then refused.
    pub serving: bool,
}

/// A message to scan with the live rules (`POST /rules/test`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanRequest<'a> {
    /// The sending account; its configured groups apply when it exists.
    pub account: &'a str,
    /// source_addr.
    pub source_addr: &'a str,
    /// destination_addr.
    pub destination_addr: &'a str,
    /// service_type.
    pub service_type: &'a str,
    /// data_coding.
    pub data_coding: u8,
    /// esm_class.
    pub esm_class: u8,
    /// The decoded text.
    pub text: &'a str,
    /// The raw user data of a binary message.
    pub binary: Option<&'a [u8]>,
}

/// What the live rules say about a [`ScanRequest`].
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The verdict, as the proxy would act on it.
    pub verdict: Verdict,
    /// The text as the rules saw it, after the pack's normalization.
    pub normalized: String,
}

// === impl ProxyHandle ===

impl ProxyHandle {
    /// Every configured account, by system_id.
    pub fn accounts(&self) -> Vec<AccountStatus> {
        let shared = self.shared();
        let live = shared.live.load();
        let usage = usage_by_account(shared);
        let mut limited: HashMap<String, smppguard_limits::AccountState> = shared
            .limits
            .accounts_state()
            .into_iter()
            .map(|s| (s.account.clone(), s))
            .collect();
        let mut out: Vec<AccountStatus> = live
            .config
            .accounts
            .values()
            .map(|a| status(shared, a, &usage, limited.remove(&*a.system_id)))
            .collect();
        out.sort_by(|a, b| a.system_id.cmp(&b.system_id));
        out
    }

    /// One configured account.
    pub fn account(&self, system_id: &str) -> Option<AccountStatus> {
        let shared = self.shared();
        let live = shared.live.load();
        let a = live.config.accounts.get(system_id)?;
        let limited = shared
            .limits
            .accounts_state()
            .into_iter()
            .find(|s| s.account == system_id);
        Some(status(shared, a, &usage_by_account(shared), limited))
    }

    /// Suspends a configured account: its sessions stay bound, every new request is
    /// answered with `relay.block_status` until [`ProxyHandle::resume`].
    pub fn suspend(
        &self,
        system_id: &str,
        reason: Option<String>,
    ) -> Result<AccountStatus, AdminError> {
        let shared = self.shared();
        if !shared.live.load().config.accounts.contains_key(system_id) {
            return Err(AdminError::UnknownAccount);
        }
        let c = shared.controls.get(system_id);
        {
            let mut detail = c.detail.lock();
            if detail.is_none() {
                *detail = Some(Suspension {
                    since: now_rfc3339(),
                    reason,
                });
            }
            c.suspended.store(true, Ordering::Relaxed);
        }
        shared.metrics.account(system_id).suspended.set(1);
        tracing::warn!(account = system_id, "account suspended");
        self.account(system_id).ok_or(AdminError::UnknownAccount)
    }

    /// Lifts a suspension, and any restriction adaptive protection put on the account.
    pub fn resume(&self, system_id: &str) -> Result<AccountStatus, AdminError> {
        let shared = self.shared();
        if !shared.live.load().config.accounts.contains_key(system_id) {
            return Err(AdminError::UnknownAccount);
        }
        let c = shared.controls.get(system_id);
        {
            let mut detail = c.detail.lock();
            c.suspended.store(false, Ordering::Relaxed);
            *detail = None;
        }
        shared.metrics.account(system_id).suspended.set(0);
        if let Some(lifted) = shared.limits.limiter().resume(system_id) {
            tracing::info!(
                account = system_id,
                kind = lifted.kind.as_str(),
                reason = lifted.reason.as_str(),
                "limiter restriction lifted"
            );
        }
        tracing::info!(account = system_id, "account resumed");
        self.account(system_id).ok_or(AdminError::UnknownAccount)
    }

    /// Scans a message with the live rules, as the proxy would; `None` without rules.
    pub fn scan(&self, req: &ScanRequest<'_>) -> Option<ScanOutcome> {
        let shared = self.shared();
        let live = shared.live.load();
        let groups: &[String] = live
            .config
            .accounts
            .get(req.account)
            .map_or(&[], |a| a.groups.as_slice());
        let env = Envelope {
            account: req.account,
            groups,
            source_addr: req.source_addr,
            destination_addr: req.destination_addr,
            service_type: req.service_type,
            data_coding: req.data_coding,
            esm_class: req.esm_class,
        };
        shared.filter.scan_detached(&env, req.text, req.binary)
    }

    /// Whether the proxy takes traffic, and why not.
    pub fn ready_status(&self) -> ReadyStatus {
        let shared = self.shared();
        let phase = *shared.phase.borrow();
        let upstreams_bound = shared
            .pools
            .iter()
            .filter(|p| p.bound_sessions() > 0)
            .count();
        let health = shared.limits.health();
        ReadyStatus {
            ready: phase == Phase::Running && upstreams_bound > 0 && health.ready,
            phase: match phase {
                Phase::Running => "running",
                Phase::Draining => "draining",
                Phase::Closing => "closing",
            },
            rules_version: shared.filter.version(),
            upstreams_bound,
            upstreams: shared.pools.len(),
            limits: LimitsReadiness {
                state: health.state.as_str(),
                reason: health.reason,
                serving: health.ready,
            },
        }
    }

    /// The quarantined messages, oldest first.
    pub fn quarantined(&self) -> Vec<QuarantineSummary> {
        self.shared().quarantine.list()
    }

    /// One quarantined message, with its text.
    pub fn quarantined_message(&self, id: u64) -> Option<QuarantineDetail> {
        self.shared().quarantine.detail(id)
    }

    /// Forwards a quarantined message to its account's route, as the account; the
    /// SMSC's answers are recorded (message_ids for receipts) but reach no ESME, which
    /// was answered when the message was quarantined.
    pub fn release(&self, id: u64) -> Result<ReleaseReport, AdminError> {
        quarantine::release(self.shared(), id)
    }

    /// Deletes a quarantined message.
    pub fn delete_quarantined(&self, id: u64) -> Result<(), AdminError> {
        let shared = self.shared();
        if shared.quarantine.remove(id).is_none() {
            return Err(AdminError::UnknownMessage);
        }
        shared.metrics.global.quarantine_deleted.inc();
        Ok(())
    }
}

type Usage = HashMap<Arc<str>, ([usize; 3], u64)>;

fn usage_by_account(shared: &Shared) -> Usage {
    shared
        .registry
        .usage()
        .into_iter()
        .map(|(id, t, w)| (id, (t, w)))
        .collect()
}

fn status(
    shared: &Shared,
    a: &AccountConfig,
    usage: &Usage,
    rate_limits: Option<smppguard_limits::AccountState>,
) -> AccountStatus {
    let id: &str = &a.system_id;
    let m = shared.metrics.account(id);
    let control = shared.controls.get(id);
    let suspension = control.detail.lock().clone();
    let (by_type, window) = usage.get(id).copied().unwrap_or_default();
    let [transmitter, receiver, transceiver] = by_type;
    let restriction = rate_limits
        .as_ref()
        .and_then(|l| l.restriction.as_ref())
        .map(|r| r.kind);
    let state = if suspension.is_some()
        || restriction == Some(smppguard_limits::RestrictionKind::Suspended)
    {
        "suspended"
    } else if restriction == Some(smppguard_limits::RestrictionKind::Throttled) {
        "throttled"
    } else if a.enabled {
        "active"
    } else {
        "disabled"
    };
    let outcomes = Outcome::ALL
        .iter()
        .map(|o| (o.as_str(), m.outcome_count(*o)))
        .filter(|(_, n)| *n > 0)
        .collect();
    AccountStatus {
        system_id: id.to_string(),
        state,
        suspension,
        route: a.route.clone(),
        groups: a.groups.clone(),
        limits: AccountLimits {
            max_binds: a.max_binds,
            window: a.window,
            bind_types: a.bind_types.iter().map(|b| b.as_str()).collect(),
            allowed_ips: a.allowed_ips.iter().map(ToString::to_string).collect(),
        },
        sessions: SessionCounts {
            transmitter,
            receiver,
            transceiver,
        },
        window_in_use: window,
        counters: AccountCounters {
            received: m.received.get(),
            forwarded: m.forwarded.get(),
            messages: m.messages.get(),
            message_parts: m.message_parts.get(),
            outcomes,
        },
        rate_limits,
    }
}
