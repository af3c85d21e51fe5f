//! The multi-part hold: parts of a concatenated message wait here, not forwarded, until
//! the message is complete or its timer fires. It wraps the text crate's
//! [`Reassembler`], whose tokens are the held frames and their answer handles, so a
//! whole message is scanned once and then forwarded or answered as one.
//!
//! Held parts count against their session's window, and the reassembler bounds messages
//! and bytes per account and in total; a part over a bound is answered with the
//! throttled status at once.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use smppguard_text::{
    DecodedPart, Incomplete, PartInput, PartKeyRef, PushOutcome, Reassembler, ReassemblyLimits,
};
use tokio::sync::Notify;

use crate::config::AccountConfig;
use crate::relay::Reply;

/// What the proxy keeps of a held part.
#[derive(Debug)]
pub(crate) struct HeldPart {
    /// The frame as received, forwarded unchanged but for its sequence number.
    pub(crate) frame: Bytes,
    /// The answer handle.
    pub(crate) reply: Reply,
    /// The account as configured when the part arrived.
    pub(crate) account: Arc<AccountConfig>,
    /// Pool indexes in failover order.
    pub(crate) route: Arc<[usize]>,
    /// data_coding of the part.
    pub(crate) data_coding: u8,
    /// esm_class of the part.
    pub(crate) esm_class: u8,
    /// service_type of the part.
    pub(crate) service_type: Box<str>,
}

/// Whether deadline `a` is set and comes before `b` (or `b` is unset).
fn earlier(a: Option<u64>, b: Option<u64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// The held parts of every account.
#[derive(Debug)]
pub(crate) struct Hold {
    inner: Mutex<Reassembler<HeldPart>>,
    /// Wakes the timer task when the earliest deadline may have changed.
    pub(crate) wake: Notify,
}

impl Hold {
    pub(crate) fn new(limits: ReassemblyLimits) -> Hold {
        Hold {
            inner: Mutex::new(Reassembler::new(limits)),
            wake: Notify::new(),
        }
    }

    /// Adds a part (see [`Reassembler::push`]).
    pub(crate) fn push(
        &self,
        key: PartKeyRef<'_>,
        input: &PartInput<'_>,
        decoded: &DecodedPart,
        token: HeldPart,
        now_ms: u64,
    ) -> PushOutcome<HeldPart> {
        let mut inner = self.inner.lock();
        let before = inner.next_deadline();
        let outcome = inner.push(key, input, decoded, token, now_ms);
        let after = inner.next_deadline();
        drop(inner);
        // The timer sleeps until the earliest deadline: wake it only when that moved
        // earlier (the first message held), not for every part held behind it.
        if matches!(outcome, PushOutcome::Held) && earlier(after, before) {
            self.wake.notify_one();
        }
        outcome
    }

    /// Messages whose timer fired.
    pub(crate) fn poll_expired(&self, now_ms: u64) -> Vec<Incomplete<HeldPart>> {
        self.inner.lock().poll_expired(now_ms)
    }

    /// The earliest timer, in the proxy's milliseconds.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.inner.lock().next_deadline()
    }

    /// Every held message (drain).
    pub(crate) fn drain_all(&self) -> Vec<Incomplete<HeldPart>> {
        self.inner.lock().drain_all()
    }

    /// Messages held.
    pub(crate) fn open(&self) -> usize {
        self.inner.lock().open_sets()
    }

    /// Bytes held, as the bounds count them.
    pub(crate) fn held_bytes(&self) -> usize {
        self.inner.lock().held_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::earlier;

    #[test]
    fn the_timer_is_woken_only_for_an_earlier_deadline() {
        assert!(earlier(Some(5), None));
        assert!(earlier(Some(5), Some(6)));
        assert!(!earlier(Some(6), Some(6)));
        assert!(!earlier(Some(7), Some(6)));
        assert!(!earlier(None, Some(6)));
        assert!(!earlier(None, None));
    }
}
