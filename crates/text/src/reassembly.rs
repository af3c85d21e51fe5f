//! Reassembly of multi-part messages: a sans-IO state machine that holds the parts of
//! each message until all have arrived, then hands back every part's token in seqnum
//! order with the text of the whole message.
//!
//! The caller (the proxy) keeps its held PDU frames in the tokens, so it can forward or
//! reject all parts of a message together once the whole text has been scanned. Every
//! token pushed comes back exactly once: at once (`Refused`, `Rejected`), or later in a
//! [`CompleteMessage`] or an [`Incomplete`] set (timeout, [`Reassembler::take`],
//! [`Reassembler::drain_account`]). Nothing is dropped silently.
//!
//! Time is a caller-supplied millisecond count (`now_ms`); nothing here reads a clock.
//!
//! A part is looked up by a borrowed [`PartKeyRef`], hashed once with a per-process
//! randomly seeded hasher (keys come from the network); the key is copied into owned
//! strings once per set, so a part that joins an open set allocates only for its content.

use std::collections::BTreeSet;
use std::hash::BuildHasher;
use std::ops::Range;

use foldhash::fast::RandomState;
use hashbrown::{HashMap, HashTable};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decode::gsm7::{self, Tables};
use crate::decode::udh::ConcatSource;
use crate::decode::{Coding, DecodeWarning, DecodedPart, PartInput, decode_utf16be};

#[cfg(test)]
mod tests;

/// Bounds on what the reassembler holds. Over a bound, new multi-part sets are refused
/// (the caller answers with a throttling status) rather than held sets evicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReassemblyLimits {
    /// How long a set may wait for its missing parts, from its first part (milliseconds).
    pub timeout_ms: u64,
    /// Open sets per account.
    pub max_sets_per_account: usize,
    /// Bytes held per account (see [`Reassembler::held_bytes`] for what counts).
    pub max_bytes_per_account: usize,
    /// Open sets in total.
    pub max_sets: usize,
    /// Bytes held in total.
    pub max_bytes: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            max_sets_per_account: 256,
            max_bytes_per_account: 1 << 20,
            max_sets: 20_000,
            max_bytes: 64 << 20,
        }
    }
}

/// Who sent a part and to whom: the parts of one message share it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartKey {
    /// The bound account (system_id) that submitted the part.
    pub account: String,
    /// source_addr.
    pub source_addr: String,
    /// destination_addr.
    pub destination_addr: String,
}

impl PartKey {
    /// The key borrowed, as [`Reassembler::push`] takes it.
    pub fn as_key_ref(&self) -> PartKeyRef<'_> {
        PartKeyRef {
            account: &self.account,
            source_addr: &self.source_addr,
            destination_addr: &self.destination_addr,
        }
    }
}

/// A [`PartKey`] borrowed from the PDU being handled, so pushing a part builds no strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartKeyRef<'a> {
    /// The bound account (system_id) that submitted the part.
    pub account: &'a str,
    /// source_addr.
    pub source_addr: &'a str,
    /// destination_addr.
    pub destination_addr: &'a str,
}

impl<'a> From<&'a PartKey> for PartKeyRef<'a> {
    fn from(key: &'a PartKey) -> Self {
        key.as_key_ref()
    }
}

impl PartKeyRef<'_> {
    /// The key in owned strings, kept once per set.
    pub fn to_owned_key(&self) -> PartKey {
        PartKey {
            account: self.account.to_owned(),
            source_addr: self.source_addr.to_owned(),
            destination_addr: self.destination_addr.to_owned(),
        }
    }

    fn matches(&self, key: &PartKey) -> bool {
        self.account == key.account
            && self.source_addr == key.source_addr
            && self.destination_addr == key.destination_addr
    }
}

/// Why a part was refused for lack of room; the caller answers with a throttling status
/// and the sender may retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum RefuseReason {
    /// The account holds `max_sets_per_account` open sets.
    #[error("account has too many open multi-part sets")]
    AccountSets,
    /// The account holds `max_bytes_per_account` bytes.
    #[error("account holds too many multi-part bytes")]
    AccountBytes,
    /// `max_sets` open sets in total.
    #[error("too many open multi-part sets")]
    GlobalSets,
    /// `max_bytes` bytes in total.
    #[error("too many multi-part bytes held")]
    GlobalBytes,
}

/// Why a part was rejected: it cannot belong to a message as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum RejectReason {
    /// The part has no (valid) concatenation information: treat it as a single message.
    #[error("part carries no valid concatenation information")]
    NotConcatenated,
    /// The set with this reference declares another total.
    #[error("total {got} disagrees with the open set's total {expected}")]
    TotalMismatch {
        /// The open set's total.
        expected: u8,
        /// This part's total.
        got: u8,
    },
    /// This seqnum is already held with the same content (a retry).
    #[error("duplicate part {seqnum}")]
    Duplicate {
        /// The seqnum.
        seqnum: u8,
    },
    /// This seqnum is already held with different content.
    #[error("conflicting duplicate of part {seqnum}")]
    ConflictingDuplicate {
        /// The seqnum.
        seqnum: u8,
    },
}

/// Why a set came back before all its parts arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncompleteReason {
    /// The timeout passed since its first part.
    Timeout,
    /// The caller took it ([`Reassembler::take`]), e.g. to reject it early.
    Taken,
    /// The caller drained it ([`Reassembler::drain_account`], [`Reassembler::drain_all`]),
    /// e.g. on unbind or shutdown.
    Drained,
}

/// One part handed back, with its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnedPart<T> {
    /// The part's seqnum.
    pub seqnum: u8,
    /// The caller's token for it.
    pub token: T,
    /// Byte range of this part's text in the joined text.
    pub text_range: Range<usize>,
    /// The alphabet it was sent in.
    pub coding: Coding,
}

/// A whole message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompleteMessage<T> {
    /// Sender and recipient.
    pub key: PartKey,
    /// The concatenation reference.
    pub reference: u16,
    /// All parts, in seqnum order.
    pub parts: Vec<ReturnedPart<T>>,
    /// The text of the whole message, decoded after joining, so a GSM escape or a UTF-16
    /// surrogate pair split across parts decodes right.
    pub text: String,
    /// Parts came in more than one data_coding.
    pub mixed_codings: bool,
    /// Parts came through more than one concatenation mechanism (UDH 8-bit, UDH 16-bit,
    /// SAR).
    pub mixed_sources: bool,
    /// At least one part was binary.
    pub binary: bool,
    /// What decoding the joined text worked around.
    pub warnings: Vec<DecodeWarning>,
}

/// A set handed back before all its parts arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incomplete<T> {
    /// Why it came back.
    pub reason: IncompleteReason,
    /// Sender and recipient.
    pub key: PartKey,
    /// The concatenation reference.
    pub reference: u16,
    /// The declared total.
    pub total: u8,
    /// The parts that arrived, in seqnum order.
    pub parts: Vec<ReturnedPart<T>>,
    /// The seqnums still missing.
    pub missing: Vec<u8>,
    /// The text of the parts that arrived, joined in order.
    pub text: String,
}

/// What happened to a pushed part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome<T> {
    /// Held until the rest of its message arrives; its token comes back later.
    Held,
    /// It completed its message.
    Complete(CompleteMessage<T>),
    /// No room: answer with a throttling status. Held sets are untouched.
    Refused {
        /// The part's token.
        token: T,
        /// Which bound was hit.
        reason: RefuseReason,
    },
    /// The part cannot belong to its message as sent (see [`RejectReason`]).
    Rejected {
        /// The part's token.
        token: T,
        /// Why.
        reason: RejectReason,
    },
}

/// How a held part's content is kept until the message is joined.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PartData {
    /// GSM 7-bit septets (unpacked), decoded after joining.
    Septets { septets: Vec<u8>, tables: Tables },
    /// UCS-2 octets, decoded after joining.
    Utf16(Vec<u8>),
    /// Text decoded per part (single-byte and legacy codings, binary = empty).
    Text(String),
}

impl PartData {
    fn len(&self) -> usize {
        match self {
            PartData::Septets { septets, .. } => septets.len(),
            PartData::Utf16(b) => b.len(),
            PartData::Text(t) => t.len(),
        }
    }
}

#[derive(Clone, Debug)]
struct HeldPart<T> {
    token: T,
    coding: Coding,
    source: ConcatSource,
    binary: bool,
    data: PartData,
}

#[derive(Clone, Debug)]
struct Set<T> {
    /// Hash of (key, reference), kept so the table never rehashes the strings.
    hash: u64,
    /// Unique per set, so a deadline entry names its set without a copy of the key.
    serial: u64,
    key: PartKey,
    reference: u16,
    total: u8,
    received: u8,
    bytes: usize,
    deadline: u64,
    parts: Vec<Option<HeldPart<T>>>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    sets: usize,
    bytes: usize,
}

/// Fixed cost counted per held set, beyond its key strings.
const SET_OVERHEAD: usize = 128;
/// Fixed cost counted per held part, beyond its data and token.
const PART_OVERHEAD: usize = 64;

/// Holds the parts of multi-part messages until each message is whole.
#[derive(Debug)]
pub struct Reassembler<T> {
    limits: ReassemblyLimits,
    hasher: RandomState,
    sets: HashTable<Set<T>>,
    accounts: HashMap<String, Usage, RandomState>,
    total: Usage,
    /// (deadline, set serial, set hash): the hash finds the set, the serial picks it.
    deadlines: BTreeSet<(u64, u64, u64)>,
    next_serial: u64,
}

// === impl Reassembler ===

impl<T> Reassembler<T> {
    /// An empty reassembler with these bounds.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Self {
            limits,
            hasher: RandomState::default(),
            sets: HashTable::new(),
            accounts: HashMap::with_hasher(RandomState::default()),
            total: Usage::default(),
            deadlines: BTreeSet::new(),
            next_serial: 0,
        }
    }

    /// The bounds in force.
    pub fn limits(&self) -> &ReassemblyLimits {
        &self.limits
    }

    /// Open sets.
    pub fn open_sets(&self) -> usize {
        self.total.sets
    }

    /// Bytes counted against the bounds: per set its key strings plus 128, per part its
    /// content (septets, UCS-2 octets or decoded text) plus 64 plus the token's size.
    pub fn held_bytes(&self) -> usize {
        self.total.bytes
    }

    /// Bytes counted for one account.
    pub fn account_bytes(&self, account: &str) -> usize {
        self.accounts.get(account).map_or(0, |u| u.bytes)
    }

    /// The earliest time an open set expires; call [`Reassembler::poll_expired`] then.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|(d, _, _)| *d)
    }

    /// Adds one part. `input` and `decoded` are the part as given to and returned by
    /// [`crate::decode_part`]; `token` is what the caller gets back for it. `key` is a
    /// [`PartKeyRef`] or a `&PartKey`.
    pub fn push<'k>(
        &mut self,
        key: impl Into<PartKeyRef<'k>>,
        input: &PartInput<'_>,
        decoded: &DecodedPart,
        token: T,
        now_ms: u64,
    ) -> PushOutcome<T> {
        let Some(concat) = decoded.concat else {
            return PushOutcome::Rejected {
                token,
                reason: RejectReason::NotConcatenated,
            };
        };
        let Some(coding) = decoded.coding else {
            return PushOutcome::Rejected {
                token,
                reason: RejectReason::NotConcatenated,
            };
        };
        if concat.seqnum == 0 || concat.seqnum > concat.total {
            return PushOutcome::Rejected {
                token,
                reason: RejectReason::NotConcatenated,
            };
        }
        let key = key.into();
        let data = part_data(input, decoded, coding);
        let part_bytes = data.len() + PART_OVERHEAD + size_of::<T>();
        let hash = self.hash(key, concat.reference);
        let slot = usize::from(concat.seqnum) - 1;

        let new_set_bytes = match self.sets.find(hash, |s| s.is(key, concat.reference)) {
            Some(set) => {
                if set.total != concat.total {
                    return PushOutcome::Rejected {
                        token,
                        reason: RejectReason::TotalMismatch {
                            expected: set.total,
                            got: concat.total,
                        },
                    };
                }
                if let Some(Some(held)) = set.parts.get(slot) {
                    let reason = if held.data == data && held.coding == coding {
                        RejectReason::Duplicate {
                            seqnum: concat.seqnum,
                        }
                    } else {
                        RejectReason::ConflictingDuplicate {
                            seqnum: concat.seqnum,
                        }
                    };
                    return PushOutcome::Rejected { token, reason };
                }
                0
            }
            None => SET_OVERHEAD + key_bytes(key),
        };
        let added = part_bytes + new_set_bytes;
        let usage = self.accounts.get(key.account).copied().unwrap_or_default();
        let refuse = if new_set_bytes > 0 && usage.sets >= self.limits.max_sets_per_account {
            Some(RefuseReason::AccountSets)
        } else if new_set_bytes > 0 && self.total.sets >= self.limits.max_sets {
            Some(RefuseReason::GlobalSets)
        } else if usage.bytes + added > self.limits.max_bytes_per_account {
            Some(RefuseReason::AccountBytes)
        } else if self.total.bytes + added > self.limits.max_bytes {
            Some(RefuseReason::GlobalBytes)
        } else {
            None
        };
        if let Some(reason) = refuse {
            return PushOutcome::Refused { token, reason };
        }

        let held = HeldPart {
            token,
            coding,
            source: concat.source,
            binary: decoded.binary,
            data,
        };
        let entry = match self.sets.find_entry(hash, |s| s.is(key, concat.reference)) {
            Ok(entry) => entry,
            Err(absent) => {
                let serial = self.next_serial;
                self.next_serial = self.next_serial.wrapping_add(1);
                let deadline = now_ms.saturating_add(self.limits.timeout_ms);
                self.deadlines.insert((deadline, serial, hash));
                let set = Set {
                    hash,
                    serial,
                    key: key.to_owned_key(),
                    reference: concat.reference,
                    total: concat.total,
                    received: 0,
                    bytes: 0,
                    deadline,
                    parts: (0..concat.total).map(|_| None).collect(),
                };
                absent.into_table().insert_unique(hash, set, |s| s.hash)
            }
        };
        let set = entry.into_mut();
        if let Some(s) = set.parts.get_mut(slot) {
            *s = Some(held);
        }
        set.received += 1;
        set.bytes += added;
        let whole = set.received >= set.total;
        let serial = set.serial;
        let usage = match self.accounts.get_mut(key.account) {
            Some(u) => u,
            None => self.accounts.entry(key.account.to_owned()).or_default(),
        };
        usage.bytes += added;
        self.total.bytes += added;
        if new_set_bytes > 0 {
            usage.sets += 1;
            self.total.sets += 1;
        }
        if !whole {
            return PushOutcome::Held;
        }
        // The set was found by this part's hash a moment ago: its serial picks it
        // without hashing or comparing the key again.
        match self.remove_where(hash, |s| s.serial == serial) {
            Some(set) => PushOutcome::Complete(complete(set)),
            None => PushOutcome::Held,
        }
    }

    fn hash(&self, key: PartKeyRef<'_>, reference: u16) -> u64 {
        self.hasher.hash_one((key, reference))
    }

    /// Hands back every set whose timeout has passed at `now_ms`.
    pub fn poll_expired(&mut self, now_ms: u64) -> Vec<Incomplete<T>> {
        let mut expired = Vec::new();
        while let Some(&(deadline, serial, hash)) = self.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            self.deadlines.pop_first();
            if let Some(set) = self.remove_where(hash, |s| s.serial == serial) {
                expired.push(set);
            }
        }
        hand_back(expired, IncompleteReason::Timeout)
    }

    /// The text of the parts of a set that have arrived so far, joined in order, so the
    /// caller can scan early and [`Reassembler::take`] a set it will reject anyway.
    pub fn text_so_far<'k>(
        &self,
        key: impl Into<PartKeyRef<'k>>,
        reference: u16,
    ) -> Option<String> {
        let key = key.into();
        let hash = self.hash(key, reference);
        let set = self.sets.find(hash, |s| s.is(key, reference))?;
        let (text, _, _) = join(&set.parts);
        Some(text)
    }

    /// Removes one open set and hands it back.
    pub fn take<'k>(
        &mut self,
        key: impl Into<PartKeyRef<'k>>,
        reference: u16,
    ) -> Option<Incomplete<T>> {
        self.remove(key.into(), reference)
            .map(|set| incomplete(set, IncompleteReason::Taken))
    }

    /// Hands back every open set of `account` (unbind).
    pub fn drain_account(&mut self, account: &str) -> Vec<Incomplete<T>> {
        let sets: Vec<Set<T>> = self.sets.extract_if(|s| s.key.account == account).collect();
        for set in &sets {
            self.release(set);
        }
        hand_back(sets, IncompleteReason::Drained)
    }

    /// Hands back every open set (shutdown).
    pub fn drain_all(&mut self) -> Vec<Incomplete<T>> {
        let sets: Vec<Set<T>> = self.sets.drain().collect();
        for set in &sets {
            self.release(set);
        }
        hand_back(sets, IncompleteReason::Drained)
    }

    fn remove(&mut self, key: PartKeyRef<'_>, reference: u16) -> Option<Set<T>> {
        let hash = self.hash(key, reference);
        self.remove_where(hash, |s| s.is(key, reference))
    }

    /// Removes the set with hash `hash` that `is` picks, and releases it.
    fn remove_where(&mut self, hash: u64, is: impl FnMut(&Set<T>) -> bool) -> Option<Set<T>> {
        let (set, _) = self.sets.find_entry(hash, is).ok()?.remove();
        self.release(&set);
        Some(set)
    }

    /// Takes a set that has left the table off the deadlines and the usage counts.
    fn release(&mut self, set: &Set<T>) {
        self.deadlines.remove(&(set.deadline, set.serial, set.hash));
        if let Some(u) = self.accounts.get_mut(set.key.account.as_str()) {
            u.sets = u.sets.saturating_sub(1);
            u.bytes = u.bytes.saturating_sub(set.bytes);
            if u.sets == 0 {
                self.accounts.remove(set.key.account.as_str());
            }
        }
        self.total.sets = self.total.sets.saturating_sub(1);
        self.total.bytes = self.total.bytes.saturating_sub(set.bytes);
    }
}

impl<T> Set<T> {
    fn is(&self, key: PartKeyRef<'_>, reference: u16) -> bool {
        self.reference == reference && key.matches(&self.key)
    }
}

/// Hands sets back in a stable order: expired sets by (deadline, key, reference), others
/// by (key, reference).
fn hand_back<T>(mut sets: Vec<Set<T>>, reason: IncompleteReason) -> Vec<Incomplete<T>> {
    let by_deadline = reason == IncompleteReason::Timeout;
    let order = |s: &Set<T>| if by_deadline { s.deadline } else { 0 };
    sets.sort_by(|a, b| (order(a), &a.key, a.reference).cmp(&(order(b), &b.key, b.reference)));
    sets.into_iter().map(|s| incomplete(s, reason)).collect()
}

fn key_bytes(key: PartKeyRef<'_>) -> usize {
    key.account.len() + key.source_addr.len() + key.destination_addr.len()
}

/// What to keep of a part so its message can be decoded after joining.
fn part_data(input: &PartInput<'_>, decoded: &DecodedPart, coding: Coding) -> PartData {
    let body = input.body();
    let user_data = body.get(decoded.user_data.clone()).unwrap_or(&[]);
    let mut scratch = Vec::new();
    let tables = match &decoded.udh {
        Some(u) => Tables::select(u.locking_shift, u.single_shift, &mut scratch),
        None => Tables::DEFAULT,
    };
    match coding {
        Coding::Gsm7 { packed: false } => PartData::Septets {
            septets: user_data.to_vec(),
            tables,
        },
        Coding::Gsm7 { packed: true } => {
            let mut septets = Vec::new();
            gsm7::unpack(
                body,
                gsm7::start_bits(decoded.user_data.start),
                &mut septets,
            );
            PartData::Septets { septets, tables }
        }
        Coding::Ucs2 => PartData::Utf16(user_data.to_vec()),
        _ => PartData::Text(decoded.text.clone()),
    }
}

/// Joins held parts in order: runs of consecutive GSM 7-bit parts with the same tables are
/// decoded as one septet stream, runs of consecutive UCS-2 parts as one UTF-16 stream.
/// Returns the text, each present part's text range (by slot), and warnings.
fn join<T>(parts: &[Option<HeldPart<T>>]) -> (String, Vec<Range<usize>>, Vec<DecodeWarning>) {
    let mut text = String::new();
    let mut ranges = vec![0..0; parts.len()];
    let mut warnings = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        let Some(Some(first)) = parts.get(i) else {
            i += 1;
            continue;
        };
        // The run of consecutive present parts joinable with `first`.
        let mut j = i + 1;
        while let Some(Some(p)) = parts.get(j) {
            let same = match (&first.data, &p.data) {
                (PartData::Septets { tables: a, .. }, PartData::Septets { tables: b, .. }) => {
                    a == b
                }
                (PartData::Utf16(_), PartData::Utf16(_)) => true,
                _ => false,
            };
            if !same {
                break;
            }
            j += 1;
        }
        let run = parts.get(i..j).unwrap_or(&[]);
        let mut joined = Vec::new();
        let mut boundaries = Vec::with_capacity(run.len());
        for p in run.iter().flatten() {
            boundaries.push(joined.len());
            match &p.data {
                PartData::Septets { septets, .. } => joined.extend_from_slice(septets),
                PartData::Utf16(b) => joined.extend_from_slice(b),
                PartData::Text(_) => {}
            }
        }
        let mut marks = Vec::with_capacity(run.len());
        match &first.data {
            PartData::Septets { tables, .. } => gsm7::decode_septets(
                &joined,
                *tables,
                &mut text,
                &mut warnings,
                &boundaries,
                &mut marks,
            ),
            PartData::Utf16(_) => {
                decode_utf16be(&joined, &mut text, &mut warnings, &boundaries, &mut marks)
            }
            PartData::Text(t) => {
                marks.push(text.len());
                text.push_str(t);
            }
        }
        for (k, slot) in (i..j).enumerate() {
            let start = marks.get(k).copied().unwrap_or(text.len());
            let end = marks.get(k + 1).copied().unwrap_or(text.len());
            if let Some(r) = ranges.get_mut(slot) {
                *r = start..end.max(start);
            }
        }
        i = j;
    }
    (text, ranges, warnings)
}

fn returned<T>(parts: Vec<Option<HeldPart<T>>>, ranges: &[Range<usize>]) -> Vec<ReturnedPart<T>> {
    parts
        .into_iter()
        .zip(1u8..=255)
        .zip(ranges)
        .filter_map(|((p, seqnum), r)| {
            p.map(|p| ReturnedPart {
                seqnum,
                token: p.token,
                text_range: r.clone(),
                coding: p.coding,
            })
        })
        .collect()
}

fn complete<T>(set: Set<T>) -> CompleteMessage<T> {
    let (text, ranges, warnings) = join(&set.parts);
    let present = || set.parts.iter().flatten();
    let first = present().next();
    let mixed_codings = present().any(|p| Some(p.coding) != first.map(|f| f.coding));
    let mixed_sources = present().any(|p| Some(p.source) != first.map(|f| f.source));
    let binary = present().any(|p| p.binary);
    CompleteMessage {
        key: set.key,
        reference: set.reference,
        parts: returned(set.parts, &ranges),
        text,
        mixed_codings,
        mixed_sources,
        binary,
        warnings,
    }
}

fn incomplete<T>(set: Set<T>, reason: IncompleteReason) -> Incomplete<T> {
    let (text, ranges, _) = join(&set.parts);
    let missing = set
        .parts
        .iter()
        .zip(1u8..=255)
        .filter(|(p, _)| p.is_none())
        .map(|(_, s)| s)
        .collect();
    Incomplete {
        reason,
        key: set.key,
        reference: set.reference,
        total: set.total,
        parts: returned(set.parts, &ranges),
        missing,
        text,
    }
}
