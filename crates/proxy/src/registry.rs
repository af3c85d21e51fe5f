//! Bound ESME sessions by account, and the routing of deliver_sm / data_sm from SMSCs
//! to them: receipts by the message_id's owner, mobile-originated messages by
//! destination prefix, round-robin across the account's receiver binds.
//!
//! The registry is keyed by system_id and is not part of the reloadable configuration,
//! so a reload keeps every bound session and its counters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;
use smppguard_codec::{Body, CommandStatus, Pdu};
use tokio::sync::mpsc;

use smppguard_metrics::DeliverKind;
use smppguard_text::{DecodeOptions, decode_part};

use crate::config::{AccountConfig, BindType};
use crate::inspect::{Decision, Message, inspect};
use crate::receipts::{is_receipt, receipt_message_id};
use crate::relay::UpReply;
use crate::server::Shared;
use crate::stats::inc;

/// A message for a downstream session task.
#[derive(Debug)]
pub(crate) enum DownCmd {
    /// Deliver this frame (deliver_sm or data_sm) and relay the ESME's answer.
    Deliver {
        /// The SMSC's frame, sent with the session's own sequence number.
        frame: Bytes,
        /// Where the answer goes.
        reply: UpReply,
        /// Receipt or MO message, for the account's counters.
        kind: DeliverKind,
    },
    /// Send unbind and close (the account was removed by a reload).
    Unbind,
}

#[derive(Debug)]
struct BoundSession {
    id: u64,
    bind_type: BindType,
    tx: mpsc::Sender<DownCmd>,
    /// The session's outstanding requests (read for metrics).
    window: Arc<AtomicU32>,
}

#[derive(Debug, Default)]
struct AccountSessions {
    sessions: Vec<BoundSession>,
    next: usize,
}

/// Why a bind could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// The account has `max_binds` sessions already.
    TooManyBinds,
}

/// Bound sessions per account.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    accounts: Mutex<HashMap<Arc<str>, AccountSessions>>,
}

impl Registry {
    /// Adds a bound session unless the account is at `max_binds`.
    pub(crate) fn register(
        &self,
        account: &Arc<str>,
        max_binds: u32,
        id: u64,
        bind_type: BindType,
        tx: mpsc::Sender<DownCmd>,
        window: Arc<AtomicU32>,
    ) -> Result<(), RegisterError> {
        let mut map = self.accounts.lock();
        let entry = map.entry(Arc::clone(account)).or_default();
        if entry.sessions.len() >= usize::try_from(max_binds).unwrap_or(usize::MAX) {
            return Err(RegisterError::TooManyBinds);
        }
        entry.sessions.push(BoundSession {
            id,
            bind_type,
            tx,
            window,
        });
        Ok(())
    }

    /// Per bound account: sessions by bind type (transmitter, receiver, transceiver)
    /// and the requests outstanding over all of them.
    pub(crate) fn usage(&self) -> Vec<(Arc<str>, [usize; 3], u64)> {
        self.accounts
            .lock()
            .iter()
            .map(|(account, e)| {
                let mut by_type = [0usize; 3];
                let mut window = 0u64;
                for s in &e.sessions {
                    let i = match s.bind_type {
                        BindType::Transmitter => 0,
                        BindType::Receiver => 1,
                        BindType::Transceiver => 2,
                    };
                    if let Some(n) = by_type.get_mut(i) {
                        *n += 1;
                    }
                    window += u64::from(s.window.load(Ordering::Relaxed));
                }
                (Arc::clone(account), by_type, window)
            })
            .collect()
    }

    /// Removes a session.
    pub(crate) fn unregister(&self, account: &str, id: u64) {
        let mut map = self.accounts.lock();
        if let Some(entry) = map.get_mut(account) {
            entry.sessions.retain(|s| s.id != id);
            if entry.sessions.is_empty() {
                map.remove(account);
            }
        }
    }

    /// Bound sessions of `account`.
    pub(crate) fn bound(&self, account: &str) -> usize {
        self.accounts
            .lock()
            .get(account)
            .map_or(0, |e| e.sessions.len())
    }

    /// Bound sessions in total.
    pub(crate) fn total(&self) -> usize {
        self.accounts
            .lock()
            .values()
            .map(|e| e.sessions.len())
            .sum()
    }

    /// Gives `cmd` to one of the account's receiver or transceiver sessions,
    /// round-robin, skipping sessions whose queue is full. Gives it back when none can
    /// take it.
    pub(crate) fn deliver(&self, account: &str, mut cmd: DownCmd) -> Result<(), DownCmd> {
        let mut map = self.accounts.lock();
        let Some(entry) = map.get_mut(account) else {
            return Err(cmd);
        };
        let n = entry.sessions.len();
        for k in 0..n {
            let i = (entry.next + k) % n;
            let Some(s) = entry.sessions.get(i) else {
                continue;
            };
            if !s.bind_type.can_receive() {
                continue;
            }
            match s.tx.try_send(cmd) {
                Ok(()) => {
                    entry.next = (i + 1) % n;
                    return Ok(());
                }
                Err(mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c)) => {
                    cmd = c
                }
            }
        }
        Err(cmd)
    }

    /// Asks every session of each listed account to unbind.
    pub(crate) fn unbind_accounts(&self, accounts: &[Arc<str>]) {
        let map = self.accounts.lock();
        for a in accounts {
            if let Some(entry) = map.get(a) {
                for s in &entry.sessions {
                    let _ = s.tx.try_send(DownCmd::Unbind);
                }
            }
        }
    }
}

/// Routes one deliver_sm / data_sm from an SMSC to its account, or answers the SMSC:
/// the configured unknown-receipt status when the message_id is not known, the
/// no-session status (default `ESME_RX_T_APPN`, "retry later") when the account has no
/// receiver bound, so the SMSC keeps the message.
pub(crate) fn route_deliver(shared: &Shared, frame: Bytes, reply: UpReply) {
    let cfg = &shared.fixed.receipts;
    let pdu = match Pdu::decode(frame.clone()) {
        Ok(p) => p,
        Err(e) => {
            inc(&shared.stats.requests_malformed);
            reply.status(e.status());
            return;
        }
    };
    let (esm_class, text, tlvs, destination) = match &pdu.body {
        Body::DeliverSm(d) => (
            d.esm_class,
            d.tlvs.message_payload().unwrap_or(d.short_message.as_ref()),
            &d.tlvs,
            d.destination_addr.as_ref(),
        ),
        Body::DataSm(d) => (
            d.esm_class,
            d.tlvs.message_payload().unwrap_or(&[]),
            &d.tlvs,
            d.destination_addr.as_ref(),
        ),
        _ => {
            reply.status(CommandStatus::ESME_RINVCMDID);
            return;
        }
    };
    let receipt = is_receipt(esm_class) || tlvs.receipted_message_id().is_some();
    let account: Arc<str> = if receipt {
        let owner = receipt_message_id(tlvs.receipted_message_id(), text)
            .and_then(|id| shared.receipts.lookup(id, shared.now_ms()));
        match owner {
            Some(o) => o.account,
            None => {
                inc(&shared.stats.receipts_unknown);
                reply.status(cfg.unknown_status);
                return;
            }
        }
    } else {
        let live = shared.live.load();
        let Some(account) = live.mo_account(destination) else {
            inc(&shared.stats.mo_unrouted);
            reply.status(cfg.no_session_status);
            return;
        };
        if live.config.filter.scan_mo
            && let Some(acct) = live.config.accounts.get(&*account)
            && mo_blocked(shared, acct, &pdu.body)
        {
            inc(&shared.stats.mo_blocked);
            reply.status(CommandStatus::ESME_RX_R_APPN);
            return;
        }
        account
    };
    let kind = if receipt {
        DeliverKind::Receipt
    } else {
        DeliverKind::Mo
    };
    match shared
        .registry
        .deliver(&account, DownCmd::Deliver { frame, reply, kind })
    {
        Ok(()) => inc(if receipt {
            &shared.stats.receipts_routed
        } else {
            &shared.stats.mo_routed
        }),
        Err(cmd) => {
            inc(&shared.stats.delivers_no_session);
            if let DownCmd::Deliver { reply, .. } = cmd {
                reply.status(cfg.no_session_status);
            }
        }
    }
}

/// Scans a mobile-originated message (each part on its own: MO parts are not held).
fn mo_blocked(shared: &Shared, account: &AccountConfig, body: &Body) -> bool {
    let Some(content) = body.content() else {
        return false;
    };
    let input = crate::submit::part_input(&content, false);
    let decoded = decode_part(
        &input,
        &DecodeOptions {
            default_alphabet: account.default_alphabet,
        },
    );
    let (source, destination) = match body {
        Body::DeliverSm(d) => (d.source_addr.as_ref(), d.destination_addr.as_ref()),
        Body::DataSm(d) => (d.source_addr.as_ref(), d.destination_addr.as_ref()),
        _ => (&[][..], &[][..]),
    };
    let source = String::from_utf8_lossy(source);
    let destination = String::from_utf8_lossy(destination);
    // MO messages go to the account, they are not its traffic: no per-account counts.
    let verdict = inspect(
        shared,
        None,
        &Message {
            account,
            source_addr: &source,
            destination_addr: &destination,
            service_type: "",
            data_coding: input.data_coding,
            esm_class: input.esm_class,
            text: &decoded.text,
            binary: decoded.binary.then(|| input.body()),
        },
    );
    !matches!(verdict.decision, Decision::Forward)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_bounds_and_round_robin() {
        let r = Registry::default();
        let acme: Arc<str> = Arc::from("acme");
        let (tx1, mut rx1) = mpsc::channel(4);
        let (tx2, mut rx2) = mpsc::channel(4);
        let (tx3, _rx3) = mpsc::channel(4);
        let w = || Arc::new(AtomicU32::new(2));
        r.register(&acme, 3, 1, BindType::Receiver, tx1, w())
            .unwrap();
        r.register(&acme, 3, 2, BindType::Transceiver, tx2, w())
            .unwrap();
        r.register(&acme, 3, 3, BindType::Transmitter, tx3.clone(), w())
            .unwrap();
        assert_eq!(
            r.register(&acme, 3, 4, BindType::Receiver, tx3, w()),
            Err(RegisterError::TooManyBinds)
        );
        assert_eq!(r.bound("acme"), 3);
        let usage = r.usage();
        assert_eq!(usage.len(), 1);
        assert_eq!((usage[0].1, usage[0].2), ([1, 1, 1], 6));
        for _ in 0..4 {
            r.deliver("acme", DownCmd::Unbind).unwrap();
        }
        // The transmitter never receives; the other two alternate.
        let mut a = 0;
        while rx1.try_recv().is_ok() {
            a += 1;
        }
        let mut b = 0;
        while rx2.try_recv().is_ok() {
            b += 1;
        }
        assert_eq!((a, b), (2, 2));
        assert!(r.deliver("nobody", DownCmd::Unbind).is_err());
        r.unregister("acme", 1);
        r.unregister("acme", 2);
        r.unregister("acme", 3);
        assert_eq!(r.total(), 0);
    }
}
