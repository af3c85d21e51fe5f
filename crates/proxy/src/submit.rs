//! The request path, ESME → SMSC: decode → (multi-part: hold) → inspect → forward or
//! answer. Every admitted request arrives here with its [`Reply`] and leaves either in
//! a [`Job`] for an upstream session or answered.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use smallvec::smallvec;
use smppguard_codec::{Body, COctetString, CommandStatus, Content, Pdu, SubmitSmResp};
use smppguard_limits::Nanos;
use smppguard_metrics::Outcome;
use smppguard_text::{
    CompleteMessage, DecodeOptions, ESM_CLASS_UDHI, Incomplete, PartInput, PartKey, PartKeyRef,
    PushOutcome, RejectReason, SarInfo, decode_part,
};

use crate::audit::{AuditRecord, now_rfc3339};
use crate::config::{AccountConfig, IncompleteAction};
use crate::hold::HeldPart;
use crate::inspect::{Decision, Inspection, Message, inspect, inspect_part};
use crate::relay::Reply;
use crate::server::Shared;
use crate::stats::{add, inc};
use crate::upstream::{Job, Part, Parts, dispatch};

/// Who is asking: the bound account and its route.
pub(crate) struct Requester<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) account: &'a Arc<AccountConfig>,
    pub(crate) route: &'a Arc<[usize]>,
}

/// Handles one admitted request of a relayed type (submit_sm, data_sm, submit_multi,
/// replace_sm, query_sm, cancel_sm, broadcast_sm and its query/cancel).
pub(crate) fn handle_request(req: &Requester<'_>, frame: Bytes, reply: Reply) {
    let shared = req.shared;
    let pdu = match Pdu::decode(frame.clone()) {
        Ok(p) => p,
        Err(e) => {
            inc(&shared.stats.requests_malformed);
            reply.answer(Outcome::Invalid, e.status());
            return;
        }
    };
    match &pdu.body {
        Body::QuerySm(q) => forward_owned(req, q.message_id.as_ref(), frame, reply),
        Body::CancelSm(c) => forward_owned(req, c.message_id.as_ref(), frame, reply),
        Body::QueryBroadcastSm(q) => forward_owned(req, q.message_id.as_ref(), frame, reply),
        Body::CancelBroadcastSm(c) => forward_owned(req, c.message_id.as_ref(), frame, reply),
        Body::ReplaceSm(r) => {
            // replace_sm swaps the text of a pending message: scan the new text too.
            let route = match owner_route(req, r.message_id.as_ref()) {
                Ok(route) => route,
                Err(status) => return reply.answer(Outcome::Invalid, status),
            };
            let req = Requester {
                shared,
                account: req.account,
                route: &route,
            };
            content(&req, &pdu, frame, reply, false);
        }
        _ => content(req, &pdu, frame, reply, true),
    }
}

/// The route for a request naming `message_id`: the pool that issued it first, when
/// the id is known; `ESME_RINVMSGID` when it belongs to another account.
fn owner_route(req: &Requester<'_>, message_id: &[u8]) -> Result<Arc<[usize]>, CommandStatus> {
    let shared = req.shared;
    let Ok(id) = std::str::from_utf8(message_id) else {
        return Err(CommandStatus::ESME_RINVMSGID);
    };
    match shared.receipts.lookup(id, shared.now_ms()) {
        Some(owner) if owner.account != req.account.system_id => Err(CommandStatus::ESME_RINVMSGID),
        Some(owner) => Ok(std::iter::once(owner.pool)
            .chain(req.route.iter().copied().filter(|&p| p != owner.pool))
            .collect()),
        // Unknown (expired, or from before this process): the account's own route.
        None => Ok(Arc::clone(req.route)),
    }
}

fn forward_owned(req: &Requester<'_>, message_id: &[u8], frame: Bytes, reply: Reply) {
    match owner_route(req, message_id) {
        Ok(route) => {
            forward(
                req.shared,
                smallvec![Part { frame, reply }],
                req.account,
                route,
            );
        }
        Err(status) => reply.answer(Outcome::Invalid, status),
    }
}

/// Hands parts to the route's upstreams, or answers them when none can take them;
/// returns whether an upstream took them.
fn forward(shared: &Shared, parts: Parts, account: &AccountConfig, route: Arc<[usize]>) -> bool {
    let job = Job {
        parts,
        account: Arc::clone(&account.system_id),
        route,
    };
    if let Err(job) = dispatch(shared, job) {
        add(&shared.stats.requests_no_upstream, job.parts.len() as u64);
        job.fail(Outcome::NoUpstream, shared.fixed.relay.no_upstream_status);
        return false;
    }
    true
}

/// The text-carrying PDUs: decode, hold multi-part messages, inspect, act.
fn content(req: &Requester<'_>, pdu: &Pdu, frame: Bytes, reply: Reply, may_hold: bool) {
    let shared = req.shared;
    let Some(content) = pdu.body.content() else {
        // query/cancel types are handled by the caller; anything else is forwarded.
        forward(
            shared,
            smallvec![Part { frame, reply }],
            req.account,
            Arc::clone(req.route),
        );
        return;
    };
    let input = part_input(&content, true);
    let opts = DecodeOptions {
        default_alphabet: req.account.default_alphabet,
    };
    let (source, destination, service_type) = envelope(&pdu.body);
    let env = Envelope {
        source: &source,
        destination: &destination,
        service_type: &service_type,
        data_coding: input.data_coding,
        esm_class: input.esm_class,
    };
    // No user data header and no SAR TLVs: a whole message, decoded, normalized and
    // scanned in one call with buffers kept per worker thread.
    if !may_hold || (input.esm_class & ESM_CLASS_UDHI == 0 && input.sar.is_none()) {
        let text = Text::Part {
            input: &input,
            opts: &opts,
        };
        single(shared, frame, reply, req.account, req.route, &env, text);
        return;
    }
    let decoded = decode_part(&input, &opts);
    let binary = decoded.binary.then(|| input.body());

    if may_hold && decoded.concat.is_some_and(|c| c.total > 1) {
        // Borrowed: the reassembler copies the key once per message, not per part.
        let key = PartKeyRef {
            account: &req.account.system_id,
            source_addr: &source,
            destination_addr: &destination,
        };
        // The read that brought the part is its time: no clock read per part.
        let now_ms = shared.ms_at(reply.arrived());
        let token = HeldPart {
            frame,
            reply,
            account: Arc::clone(req.account),
            route: Arc::clone(req.route),
            data_coding: input.data_coding,
            esm_class: input.esm_class,
            service_type: Box::from(&*service_type),
        };
        match shared.hold.push(key, &input, &decoded, token, now_ms) {
            PushOutcome::Held => inc(&shared.stats.parts_held),
            PushOutcome::Complete(msg) => {
                inc(&shared.stats.parts_held);
                release_complete(shared, msg);
            }
            PushOutcome::Refused { token, .. } => {
                inc(&shared.stats.parts_refused);
                token
                    .reply
                    .answer(Outcome::Throttled, shared.fixed.relay.throttled_status);
            }
            PushOutcome::Rejected { token, reason } => match reason {
                RejectReason::NotConcatenated => single(
                    shared,
                    token.frame,
                    token.reply,
                    req.account,
                    req.route,
                    &env,
                    Text::Decoded {
                        text: &decoded.text,
                        binary,
                    },
                ),
                // The same part again while the first copy is held: the first copy is
                // answered when its message is; this one may be retried.
                RejectReason::Duplicate { .. } | RejectReason::TotalMismatch { .. } => {
                    inc(&shared.stats.parts_refused);
                    token
                        .reply
                        .answer(Outcome::Throttled, shared.fixed.relay.throttled_status);
                }
                // Different content for a part already held is how a split message would
                // be swapped after inspection: refuse it outright.
                RejectReason::ConflictingDuplicate { .. } => {
                    inc(&shared.stats.requests_blocked);
                    token
                        .reply
                        .answer(Outcome::Rejected, shared.fixed.relay.block_status);
                }
            },
        }
        return;
    }
    let text = Text::Decoded {
        text: &decoded.text,
        binary,
    };
    single(shared, frame, reply, req.account, req.route, &env, text);
}

/// The text layer's view of a PDU's content; SAR TLVs only when `with_sar`.
pub(crate) fn part_input<'a>(content: &Content<'a>, with_sar: bool) -> PartInput<'a> {
    let tlvs = content.tlvs;
    let sar = match (
        tlvs.sar_msg_ref_num(),
        tlvs.sar_total_segments(),
        tlvs.sar_segment_seqnum(),
    ) {
        (Some(reference), Some(total), Some(seqnum)) if with_sar => Some(SarInfo {
            reference,
            total,
            seqnum,
        }),
        _ => None,
    };
    PartInput {
        esm_class: content.esm_class.unwrap_or(0),
        data_coding: content.data_coding.unwrap_or(0),
        short_message: content.short_message.map_or(&[][..], |s| s.as_ref()),
        message_payload: tlvs.message_payload(),
        sar,
    }
}

/// The addressing fields of a message.
struct Envelope<'a> {
    source: &'a str,
    destination: &'a str,
    service_type: &'a str,
    data_coding: u8,
    esm_class: u8,
}

/// source_addr, destination_addr (the first destination of a submit_multi) and
/// service_type, as text: borrowed from the PDU when they are UTF-8 (always, for the
/// ASCII addresses of real traffic), so the common case allocates nothing.
fn envelope<'a>(body: &'a Body) -> (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>) {
    fn s(b: &[u8]) -> Cow<'_, str> {
        // The validating check alone first: `from_utf8_lossy` walks chunk by chunk
        // even when, as almost always, the field is plain ASCII.
        std::str::from_utf8(b).map_or_else(|_| String::from_utf8_lossy(b), Cow::Borrowed)
    }
    let none = || Cow::Borrowed("");
    match body {
        Body::SubmitSm(m) | Body::DeliverSm(m) => (
            s(m.source_addr.as_ref()),
            s(m.destination_addr.as_ref()),
            s(m.service_type.as_ref()),
        ),
        Body::DataSm(m) => (
            s(m.source_addr.as_ref()),
            s(m.destination_addr.as_ref()),
            s(m.service_type.as_ref()),
        ),
        Body::SubmitMulti(m) => {
            let dest = m
                .dest_addresses
                .as_slice()
                .first()
                .map(|d| match d {
                    smppguard_codec::DestAddress::Sme {
                        destination_addr, ..
                    } => s(destination_addr.as_ref()),
                    smppguard_codec::DestAddress::DistributionList { dl_name } => {
                        s(dl_name.as_ref())
                    }
                })
                .unwrap_or_else(none);
            (s(m.source_addr.as_ref()), dest, s(m.service_type.as_ref()))
        }
        Body::ReplaceSm(m) => (s(m.source_addr.as_ref()), none(), none()),
        Body::BroadcastSm(m) => (
            s(m.source_addr.as_ref()),
            none(),
            s(m.service_type.as_ref()),
        ),
        _ => (none(), none(), none()),
    }
}

/// The content of a single-part message.
enum Text<'a> {
    /// Already decoded (a part with a user data header that turned out whole).
    Decoded {
        text: &'a str,
        binary: Option<&'a [u8]>,
    },
    /// Still the PDU's bytes: the filter decodes, normalizes and scans them in one call.
    Part {
        input: &'a PartInput<'a>,
        opts: &'a DecodeOptions,
    },
}

/// A single-part message: inspect and act.
fn single(
    shared: &Shared,
    frame: Bytes,
    reply: Reply,
    account: &Arc<AccountConfig>,
    route: &Arc<[usize]>,
    env: &Envelope<'_>,
    content: Text<'_>,
) {
    let m = reply.account();
    m.messages.inc();
    m.message_parts.inc();
    let msg = |text, binary| Message {
        account,
        source_addr: env.source,
        destination_addr: env.destination,
        service_type: env.service_type,
        data_coding: env.data_coding,
        esm_class: env.esm_class,
        text,
        binary,
    };
    // The text is kept only for a blocked message's audit record.
    let (verdict, text) = match content {
        Text::Decoded { text, binary } => (
            inspect(shared, Some(m), &msg(text, binary)),
            Cow::Borrowed(text),
        ),
        Text::Part { input, opts } => {
            let (verdict, text) = inspect_part(shared, Some(m), &msg("", None), input, opts);
            (verdict, Cow::Owned(text))
        }
    };
    act(
        shared,
        smallvec![Part { frame, reply }],
        account,
        Arc::clone(route),
        &verdict,
        env.source,
        env.destination,
        &text,
    );
}

/// Carries out a decision for all parts of one message.
#[allow(clippy::too_many_arguments)]
fn act(
    shared: &Shared,
    parts: Parts,
    account: &AccountConfig,
    route: Arc<[usize]>,
    verdict: &Inspection,
    source: &str,
    destination: &str,
    text: &str,
) {
    let (status, outcome) = match verdict.decision {
        Decision::Forward => {
            return forward_within_limits(shared, parts, account, route, source, destination);
        }
        Decision::Block {
            status,
            quarantine: false,
        } => (Some(status), Outcome::Rejected),
        Decision::Block {
            status,
            quarantine: true,
        } => (Some(status), Outcome::Quarantined),
        Decision::Drop => (None, Outcome::Dropped),
    };
    add(&shared.stats.requests_blocked, parts.len() as u64);
    if crate::limits::applies(shared, &parts) {
        crate::limits::observe(shared, &account.system_id, true, destination, Nanos::now());
    }
    audit(
        shared,
        account,
        source,
        destination,
        text,
        parts.len(),
        verdict.action(),
        status,
        verdict,
    );
    if outcome == Outcome::Quarantined {
        crate::admin::quarantine::keep(
            shared,
            crate::admin::quarantine::Entry {
                id: 0,
                time: now_rfc3339(),
                account: Arc::clone(&account.system_id),
                route,
                frames: parts.iter().map(|p| p.frame.clone()).collect(),
                source_addr: source.to_string(),
                destination_addr: destination.to_string(),
                text: text.to_string(),
                rules: verdict.rules.clone(),
                ruleset_version: verdict.ruleset_version.clone(),
            },
        );
    }
    for part in parts {
        match status {
            Some(status) => part.reply.answer(outcome, status),
            None => answer_dropped(shared, part.reply),
        }
    }
}

/// A message the filter lets through: checked against the limits (all parts at once),
/// then forwarded, or every part answered with the limit's status.
fn forward_within_limits(
    shared: &Shared,
    parts: Parts,
    account: &AccountConfig,
    route: Arc<[usize]>,
    source: &str,
    destination: &str,
) {
    if !crate::limits::applies(shared, &parts) {
        // No limits configured (or not a message they count): no clock read.
        forward(shared, parts, account, route);
        return;
    }
    let id: &str = &account.system_id;
    let n = parts.len();
    let now = Nanos::now();
    match crate::limits::check(shared, &parts, id, source, destination, now) {
        crate::limits::Check::Skipped => {
            forward(shared, parts, account, route);
        }
        crate::limits::Check::Passed => {
            if !forward(shared, parts, account, route) {
                crate::limits::refund(shared, n, id, source, destination);
            }
            crate::limits::observe(shared, id, false, destination, now);
        }
        crate::limits::Check::Refused { outcome, status } => {
            for part in parts {
                part.reply.answer(outcome, status);
            }
            crate::limits::observe(shared, id, false, destination, now);
        }
    }
}

/// A dropped message is answered as accepted, with a message_id the proxy makes up.
fn answer_dropped(shared: &Shared, reply: Reply) {
    let n = shared
        .next_drop_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = COctetString::new(format!("sgd{n:013x}").into_bytes()).unwrap_or_default();
    let Some(resp_id) = reply.command_id().response_id() else {
        return reply.answer(Outcome::Dropped, CommandStatus::ESME_RSYSERR);
    };
    let body = match Body::header_only(resp_id) {
        Some(Body::SubmitSmResp(_)) => Body::SubmitSmResp(Some(SubmitSmResp::new(id))),
        Some(Body::DataSmResp(_)) => Body::DataSmResp(Some(SubmitSmResp::new(id))),
        _ => return reply.answer(Outcome::Dropped, CommandStatus::ESME_ROK),
    };
    let seq = reply.sequence_number();
    reply.frame(
        Outcome::Dropped,
        Pdu::new(body, CommandStatus::ESME_ROK, seq).to_bytes(),
    );
}

#[allow(clippy::too_many_arguments)]
fn audit(
    shared: &Shared,
    account: &AccountConfig,
    source: &str,
    destination: &str,
    text: &str,
    parts: usize,
    action: &'static str,
    status: Option<CommandStatus>,
    verdict: &Inspection,
) {
    if !shared.audit.enabled() {
        return;
    }
    shared.audit.record(AuditRecord {
        time: now_rfc3339(),
        account: account.system_id.to_string(),
        source_addr: shared.audit.mask(source),
        destination_addr: shared.audit.mask(destination),
        text: text.to_string(),
        parts,
        action,
        status: status.map(|s| s.0),
        rules: verdict.rules.clone(),
        ruleset_version: verdict.ruleset_version.clone(),
    });
}

fn parts_of(parts: Vec<smppguard_text::ReturnedPart<HeldPart>>) -> Parts {
    parts
        .into_iter()
        .map(|p| Part {
            frame: p.token.frame,
            reply: p.token.reply,
        })
        .collect()
}

/// A multi-part message is complete: inspect the joined text once, then forward every
/// part on one upstream session or answer every part.
pub(crate) fn release_complete(shared: &Shared, msg: CompleteMessage<HeldPart>) {
    inc(&shared.stats.multipart_completed);
    inspect_held(shared, &msg.key, &msg.text, msg.parts);
}

/// Inspects the joined text of held parts and acts on all of them.
fn inspect_held(
    shared: &Shared,
    key: &PartKey,
    text: &str,
    parts: Vec<smppguard_text::ReturnedPart<HeldPart>>,
) {
    let Some(first) = parts.first() else {
        return;
    };
    let account = Arc::clone(&first.token.account);
    let route = Arc::clone(&first.token.route);
    let m = first.token.reply.account();
    m.messages.inc();
    m.message_parts.inc_by(parts.len() as u64);
    let verdict = inspect(
        shared,
        Some(m),
        &Message {
            account: &account,
            source_addr: &key.source_addr,
            destination_addr: &key.destination_addr,
            service_type: &first.token.service_type,
            data_coding: first.token.data_coding,
            esm_class: first.token.esm_class,
            text,
            binary: None,
        },
    );
    act(
        shared,
        parts_of(parts),
        &account,
        route,
        &verdict,
        &key.source_addr,
        &key.destination_addr,
        text,
    );
}

/// A multi-part message that will not complete (timer, drain): reject every part, or
/// inspect what arrived and forward it unless blocked, as configured.
pub(crate) fn release_incomplete(shared: &Shared, inc_msg: Incomplete<HeldPart>) {
    release_incomplete_as(shared, inc_msg, shared.fixed.hold.incomplete_action);
}

/// [`release_incomplete`] with an explicit action (a drain rejects what is still held).
pub(crate) fn release_incomplete_as(
    shared: &Shared,
    inc_msg: Incomplete<HeldPart>,
    action: IncompleteAction,
) {
    inc(&shared.stats.multipart_incomplete);
    let Some(first) = inc_msg.parts.first() else {
        return;
    };
    let account = Arc::clone(&first.token.account);
    let hold = &shared.fixed.hold;
    match action {
        IncompleteAction::Reject => {
            let verdict = Inspection {
                decision: Decision::Block {
                    status: hold.incomplete_status,
                    quarantine: false,
                },
                rules: Vec::new(),
                ruleset_version: None,
            };
            let n = inc_msg.parts.len();
            add(&shared.stats.requests_blocked, n as u64);
            audit(
                shared,
                &account,
                &inc_msg.key.source_addr,
                &inc_msg.key.destination_addr,
                &inc_msg.text,
                n,
                "incomplete",
                Some(hold.incomplete_status),
                &verdict,
            );
            for p in inc_msg.parts {
                p.token
                    .reply
                    .answer(Outcome::Incomplete, hold.incomplete_status);
            }
        }
        IncompleteAction::Forward => {
            inspect_held(shared, &inc_msg.key, &inc_msg.text, inc_msg.parts);
        }
    }
}
