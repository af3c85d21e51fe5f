//! The log of submit-like PDUs the simulator received, for tests to inspect.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};

use bytes::Bytes;
use smppguard_codec::{Body, CommandId, CommandStatus, Pdu};

use crate::MessageId;

/// One submit-like PDU (`submit_sm`, `data_sm`, `submit_multi`, `replace_sm`) that
/// reached the simulator on a bound session and decoded cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The connection it arrived on (numbered from 1 in accept order).
    pub session: u64,
    /// The `system_id` the session is bound as.
    pub system_id: Arc<str>,
    /// The frame exactly as it arrived, header included.
    pub frame: Bytes,
    /// The decoded PDU (its fields share `frame`).
    pub pdu: Pdu,
    /// The id issued for it (for `replace_sm`: the id it replaces, when known).
    pub message_id: Option<MessageId>,
    /// The status it was answered with; `None` when it was left unanswered.
    pub status: Option<CommandStatus>,
}

impl Received {
    /// The PDU's `command_id`.
    pub fn command_id(&self) -> CommandId {
        self.pdu.header.command_id
    }

    /// The `short_message` of a `submit_sm`, `submit_multi` or `replace_sm`, or the
    /// `message_payload` when `short_message` is empty or absent (`data_sm`).
    pub fn user_data(&self) -> Option<&[u8]> {
        let content = self.pdu.body.content()?;
        match content.short_message {
            Some(sm) if !sm.is_empty() => Some(sm.as_bytes()),
            _ => content.tlvs.message_payload(),
        }
    }

    /// The body when the PDU is a `submit_sm`.
    pub fn submit_sm(&self) -> Option<&smppguard_codec::SubmitSm> {
        match &self.pdu.body {
            Body::SubmitSm(sm) => Some(sm),
            _ => None,
        }
    }
}

/// A bounded log: when full, the oldest entry goes.
#[derive(Debug)]
pub(crate) struct Record {
    cap: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Received>,
    dropped: u64,
}

impl Record {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a session's batch.
    pub(crate) fn extend(&self, batch: &mut Vec<Received>) {
        if batch.is_empty() {
            return;
        }
        let mut inner = self.lock();
        for r in batch.drain(..) {
            if inner.entries.len() >= self.cap {
                inner.entries.pop_front();
                inner.dropped += 1;
            }
            inner.entries.push_back(r);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<Received> {
        self.lock().entries.iter().cloned().collect()
    }

    pub(crate) fn take(&self) -> Vec<Received> {
        self.lock().entries.drain(..).collect()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.lock().dropped
    }
}
