//! Answer-once handles: every request the proxy accepts is answered exactly once.
//!
//! A [`Reply`] is created when an ESME request is admitted. It holds a [`Port`] of
//! that ESME connection's write buffer, so answering never blocks and never fails for
//! lack of room (the answer is encoded straight into the buffer by whoever answers),
//! and it counts against the session's window until it is used. Whoever
//! ends up owning it (the hold, an upstream session's pending map, the request path)
//! answers through it; if it is dropped unanswered (a task ended early), its `Drop`
//! answers with `ESME_RSYSERR` and counts the event, so a request can never hang.
//! Each answer also counts the request's [`Outcome`] for its account, so per account the
//! outcomes add up to the requests received.
//!
//! [`UpReply`] is the same for requests an SMSC sends (deliver_sm, data_sm): it answers
//! on the upstream session, and its fallback is `ESME_RX_T_APPN` ("retry later"), so a
//! receipt is never acknowledged without reaching its ESME.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use bytes::Bytes;
use smppguard_codec::{CommandId, CommandStatus, Header};
use smppguard_metrics::{AccountMetrics, Outcome};
use tokio::sync::mpsc::OwnedPermit;
use tokio::time::Instant;

use crate::downlink::Port;
use crate::framed::Outgoing;
use crate::stats::{Stats, inc};

/// Counts one outstanding request: the session's window slot and the proxy-wide total
/// that a drain waits on. Released exactly once, on drop.
#[derive(Debug)]
pub(crate) struct InFlight {
    window: Arc<AtomicU32>,
    total: Arc<AtomicI64>,
}

impl InFlight {
    /// Takes a slot when fewer than `limit` are in use.
    pub(crate) fn try_acquire(
        window: &Arc<AtomicU32>,
        limit: u32,
        total: &Arc<AtomicI64>,
    ) -> Option<InFlight> {
        window
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()?;
        total.fetch_add(1, Ordering::AcqRel);
        Some(InFlight {
            window: Arc::clone(window),
            total: Arc::clone(total),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.window.fetch_sub(1, Ordering::AcqRel);
        self.total.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The answer to one ESME request.
#[derive(Debug)]
pub(crate) struct Reply {
    port: Option<Port>,
    /// The request's header (command_id, the ESME's sequence number).
    request: Header,
    stats: Arc<Stats>,
    /// The requesting account's metric handles.
    account: Arc<AccountMetrics>,
    /// When the request was admitted (latency is measured from here).
    arrived: Instant,
    /// Whether answering counts an outcome (not for released quarantine messages,
    /// whose outcome was counted when they were quarantined).
    counted: bool,
    _slot: InFlight,
}

impl Reply {
    /// The answer to `request`, read from the ESME's socket at `arrived` (the time of
    /// the read that brought it: one clock read per read, not per request).
    pub(crate) fn new(
        port: Port,
        request: Header,
        stats: Arc<Stats>,
        account: Arc<AccountMetrics>,
        slot: InFlight,
        arrived: Instant,
    ) -> Reply {
        Reply {
            port: Some(port),
            request,
            stats,
            account,
            arrived,
            counted: true,
            _slot: slot,
        }
    }

    /// A reply with no ESME to answer: for messages the proxy sends on its own behalf
    /// (a released quarantined message). Answers are discarded and count nothing.
    pub(crate) fn detached(
        request: Header,
        stats: Arc<Stats>,
        account: Arc<AccountMetrics>,
        slot: InFlight,
    ) -> Reply {
        Reply {
            port: None,
            request,
            stats,
            account,
            arrived: Instant::now(),
            counted: false,
            _slot: slot,
        }
    }

    fn count(&self, outcome: Outcome) {
        if self.counted {
            self.account.outcome(outcome);
        }
    }

    /// The requesting account's metric handles.
    pub(crate) fn account(&self) -> &AccountMetrics {
        &self.account
    }

    /// When the request was admitted.
    pub(crate) fn arrived(&self) -> Instant {
        self.arrived
    }

    /// The request's command_id.
    pub(crate) fn command_id(&self) -> CommandId {
        self.request.command_id
    }

    /// The ESME's sequence number.
    pub(crate) fn sequence_number(&self) -> u32 {
        self.request.sequence_number
    }

    /// Relays a response frame from upstream under the ESME's sequence number; the
    /// outcome is the SMSC's: accepted, or an error status.
    pub(crate) fn relay(mut self, frame: Bytes) {
        let ok = Header::parse(&frame).is_some_and(|h| h.command_status.is_ok());
        self.count(if ok {
            Outcome::Accepted
        } else {
            Outcome::SmscError
        });
        if let Some(p) = self.port.take() {
            let sequence_number = self.request.sequence_number;
            p.send(Outgoing::Relay {
                frame,
                sequence_number,
            });
        }
    }

    /// Answers with a header-only response carrying `status`, counted as `outcome`.
    pub(crate) fn answer(mut self, outcome: Outcome, status: CommandStatus) {
        self.count(outcome);
        self.send_status(status);
    }

    /// Answers with a frame the proxy built (already carrying the ESME's sequence),
    /// counted as `outcome`.
    pub(crate) fn frame(mut self, outcome: Outcome, frame: Bytes) {
        self.count(outcome);
        if let Some(p) = self.port.take() {
            p.send(Outgoing::Frame(frame));
        }
    }

    fn send_status(&mut self, status: CommandStatus) {
        if let Some(p) = self.port.take() {
            let header = Header::response_to(&self.request, status).unwrap_or(Header::new(
                CommandId::GENERIC_NACK,
                status,
                self.request.sequence_number,
            ));
            p.send(Outgoing::Header(header));
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if self.port.is_some() {
            inc(&self.stats.responses_fallback);
            self.account.outcome(Outcome::Unanswered);
            tracing::error!(
                command = %self.request.command_id,
                "request dropped without an answer; answering ESME_RSYSERR"
            );
            self.send_status(CommandStatus::ESME_RSYSERR);
        }
    }
}

/// A message for an upstream session task from elsewhere in the proxy.
#[derive(Debug)]
pub(crate) enum UpstreamCtl {
    /// Write this frame on the connection `generation` (ignored if that connection is
    /// gone: its sequence numbers mean nothing on a new one).
    Send {
        /// Connection generation the frame belongs to.
        generation: u64,
        /// The frame.
        out: Outgoing,
    },
    /// Answer every outstanding request now with `status` (drain deadline).
    FailPending(CommandStatus),
    /// Unbind and stop.
    Shutdown,
}

/// The answer to one request from an SMSC (deliver_sm, data_sm).
#[derive(Debug)]
pub(crate) struct UpReply {
    permit: Option<OwnedPermit<UpstreamCtl>>,
    generation: u64,
    request: Header,
    fallback: CommandStatus,
}

impl UpReply {
    pub(crate) fn new(
        permit: OwnedPermit<UpstreamCtl>,
        generation: u64,
        request: Header,
        fallback: CommandStatus,
    ) -> UpReply {
        UpReply {
            permit: Some(permit),
            generation,
            request,
            fallback,
        }
    }

    /// The request's command_id.
    pub(crate) fn command_id(&self) -> CommandId {
        self.request.command_id
    }

    /// Relays the ESME's response frame under the SMSC's sequence number.
    pub(crate) fn relay(mut self, frame: Bytes) {
        if let Some(p) = self.permit.take() {
            p.send(UpstreamCtl::Send {
                generation: self.generation,
                out: Outgoing::Relay {
                    frame,
                    sequence_number: self.request.sequence_number,
                },
            });
        }
    }

    /// Answers with a header-only response carrying `status`.
    pub(crate) fn status(mut self, status: CommandStatus) {
        self.send_status(status);
    }

    fn send_status(&mut self, status: CommandStatus) {
        if let Some(p) = self.permit.take()
            && let Some(header) = Header::response_to(&self.request, status)
        {
            p.send(UpstreamCtl::Send {
                generation: self.generation,
                out: Outgoing::Header(header),
            });
        }
    }
}

impl Drop for UpReply {
    fn drop(&mut self) {
        let fallback = self.fallback;
        self.send_status(fallback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn slot(window: &Arc<AtomicU32>, total: &Arc<AtomicI64>) -> InFlight {
        InFlight::try_acquire(window, 2, total).unwrap()
    }

    #[tokio::test]
    async fn reply_answers_once_and_releases_its_slot() {
        let (client, mut server) = tokio::io::duplex(4096);
        let link = crate::downlink::DownLink::new(4);
        let writer = tokio::spawn(Arc::clone(&link).run_writer(client, None));
        let window = Arc::new(AtomicU32::new(0));
        let total = Arc::new(AtomicI64::new(0));
        let stats = Arc::new(Stats::default());
        let metrics = smppguard_metrics::Metrics::new(Default::default()).unwrap();
        let acme = metrics.account("acme");
        let req = Header::new(CommandId::SUBMIT_SM, CommandStatus::ESME_ROK, 5);
        let a = Reply::new(
            link.port(),
            req,
            stats.clone(),
            Arc::clone(&acme),
            slot(&window, &total),
            Instant::now(),
        );
        let b = Reply::new(
            link.port(),
            req,
            stats.clone(),
            Arc::clone(&acme),
            slot(&window, &total),
            Instant::now(),
        );
        assert!(InFlight::try_acquire(&window, 2, &total).is_none());
        assert_eq!(total.load(Ordering::Relaxed), 2);
        a.answer(Outcome::Rejected, CommandStatus::ESME_RSUBMITFAIL);
        drop(b);
        assert_eq!(window.load(Ordering::Relaxed), 0);
        assert_eq!(total.load(Ordering::Relaxed), 0);
        link.close();
        writer.await.unwrap().unwrap();
        let mut got = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut server, &mut got)
            .await
            .unwrap();
        assert_eq!(got.len(), 32, "exactly two answers");
        let h = Header::parse(&got[..16]).unwrap();
        assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
        assert_eq!(h.command_status, CommandStatus::ESME_RSUBMITFAIL);
        assert_eq!(h.sequence_number, 5);
        let h = Header::parse(&got[16..]).unwrap();
        assert_eq!(h.command_id, CommandId::SUBMIT_SM_RESP);
        assert_eq!(h.command_status, CommandStatus::ESME_RSYSERR);
        assert_eq!(stats.snapshot().responses_fallback, 1);
        assert_eq!(acme.outcome_count(Outcome::Rejected), 1);
        assert_eq!(acme.outcome_count(Outcome::Unanswered), 1);
        assert_eq!(
            metrics
                .global
                .unintentional_drops(smppguard_metrics::DropReason::UnansweredRequest),
            1
        );
    }

    #[tokio::test]
    async fn up_reply_falls_back_to_retry_later() {
        let (tx, mut rx) = mpsc::channel(2);
        let req = Header::new(CommandId::DELIVER_SM, CommandStatus::ESME_ROK, 77);
        let r = UpReply::new(
            tx.reserve_owned().await.unwrap(),
            3,
            req,
            CommandStatus::ESME_RX_T_APPN,
        );
        assert_eq!(r.command_id(), CommandId::DELIVER_SM);
        drop(r);
        let UpstreamCtl::Send {
            generation,
            out: Outgoing::Header(h),
        } = rx.recv().await.unwrap()
        else {
            panic!("send expected")
        };
        assert_eq!(generation, 3);
        assert_eq!(h.command_id, CommandId::DELIVER_SM_RESP);
        assert_eq!(h.command_status, CommandStatus::ESME_RX_T_APPN);
        assert_eq!(h.sequence_number, 77);
    }
}
