//! message_id → owning account, so delivery receipts reach the account that sent the
//! message, and query_sm / cancel_sm / replace_sm only touch the sender's own messages.
//!
//! The map is bounded twice: entries expire after the configured TTL (default 72 h,
//! beyond the usual validity period), and beyond `max_entries` the oldest is forgotten.
//! It is split into shards so upstream sessions recording ids in parallel rarely meet
//! on a lock; no lock is held across an await.
//!
//! Each shard keeps its records once, in insertion order, in a ring (`VecDeque`):
//! expiry and the bound both forget from the front. The ring is indexed by a
//! SwissTable of 8-byte entries, the id's 32-bit hash tag and the record's slot
//! number, so recording an id writes one record at the ring's end and one small index
//! entry, and the index (about 9 bytes per id) is what random inserts touch, not the
//! records. Ids of up to 24 bytes (all common formats) are stored inline: recording
//! one allocates nothing but the ring's and the index's own growth. Both grow as ids
//! arrive rather than being sized for the bound up front, and the ring never beyond it.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;

use compact_str::CompactString;
use hashbrown::HashTable;
use parking_lot::Mutex;

const SHARDS: usize = 16;

/// Who owns a message_id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    /// The account (system_id) that submitted it.
    pub(crate) account: Arc<str>,
    /// Index of the upstream pool it went to.
    pub(crate) pool: usize,
}

/// One recorded id, in the ring.
#[derive(Debug)]
struct Record {
    id: CompactString,
    account: Arc<str>,
    expires_ms: u64,
    pool: u32,
    /// The id's hash tag, so forgetting the record finds its index entry without
    /// hashing the id again.
    tag: u32,
}

/// An index entry: the id's hash tag in the high half, the record's slot number in
/// the low half.
fn entry(tag: u32, slot: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(slot)
}

fn tag_of(e: u64) -> u32 {
    // ok: the high half of a u64 fits a u32.
    #[allow(clippy::cast_possible_truncation)]
    let t = (e >> 32) as u32;
    t
}

fn slot_of(e: u64) -> u32 {
    // ok: the low half, truncation intended.
    #[allow(clippy::cast_possible_truncation)]
    let s = e as u32;
    s
}

/// The index's hash of an entry, from its tag alone (so growing the index never reads
/// a record): the tag spread over 64 bits, as the table takes its bucket from the low
/// bits and its control byte from the top ones.
fn spread(tag: u32) -> u64 {
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[derive(Debug, Default)]
struct Shard {
    /// Records in insertion order, oldest first. A record whose id was recorded again
    /// later is stale: the index points at the newer one.
    ring: VecDeque<Record>,
    /// Slot number of the ring's front record (slot numbers count inserts, wrapping).
    head: u32,
    index: HashTable<u64>,
}

/// The message_id map.
#[derive(Debug)]
pub(crate) struct Receipts {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    ttl_ms: u64,
    hasher: foldhash::fast::RandomState,
}

impl Receipts {
    pub(crate) fn new(max_entries: usize, ttl_ms: u64) -> Receipts {
        // Slot numbers are u32 and wrap: a shard's ring stays far below 2^31 records.
        let per_shard = max_entries.div_ceil(SHARDS).clamp(1, 1 << 30);
        Receipts {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            ttl_ms,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// The shard and hash tag of `id`, from independent bits of one hash.
    fn locate(&self, id: &str) -> (&Mutex<Shard>, u32) {
        let h = self.hasher.hash_one(id);
        let i = usize::try_from(h >> 60).unwrap_or(0) % SHARDS;
        // ok: `i < SHARDS` and `shards` has exactly SHARDS entries.
        #[allow(clippy::indexing_slicing)]
        let shard = &self.shards[i];
        // ok: the low half of the hash is the tag, truncation intended.
        #[allow(clippy::cast_possible_truncation)]
        (shard, h as u32)
    }

    /// Remembers that `id` belongs to `owner` (replacing an older owner of the same id).
    pub(crate) fn insert(&self, id: &str, owner: Owner, now_ms: u64) {
        if id.is_empty() {
            return;
        }
        let expires_ms = now_ms.saturating_add(self.ttl_ms);
        let (shard, tag) = self.locate(id);
        let mut s = shard.lock();
        s.expire(now_ms);
        while s.ring.len() >= self.per_shard && s.forget_oldest() {}
        if s.ring.len() == s.ring.capacity() {
            // Grow by doubling as usual, but never past the bound.
            let more = s.ring.len().max(16).min(self.per_shard - s.ring.len());
            s.ring.reserve_exact(more);
        }
        // ok: the ring holds fewer than 2^30 records.
        #[allow(clippy::cast_possible_truncation)]
        let slot = s.head.wrapping_add(s.ring.len() as u32);
        let Shard { ring, head, index } = &mut *s;
        let head = *head;
        let same_id = |e: &u64| {
            tag_of(*e) == tag && record(ring, head, slot_of(*e)).is_some_and(|r| r.id == id)
        };
        match index.find_mut(spread(tag), same_id) {
            // Recorded before: point at the new record, the old one goes stale.
            Some(e) => *e = entry(tag, slot),
            None => {
                index.insert_unique(spread(tag), entry(tag, slot), |e| spread(tag_of(*e)));
            }
        }
        ring.push_back(Record {
            id: CompactString::new(id),
            account: owner.account,
            expires_ms,
            pool: u32::try_from(owner.pool).unwrap_or(u32::MAX),
            tag,
        });
    }

    /// The owner of `id`, trying the id as given and then the spellings SMSCs are known
    /// to change between submit_sm_resp and the receipt: letter case, and hexadecimal
    /// versus decimal.
    pub(crate) fn lookup(&self, id: &str, now_ms: u64) -> Option<Owner> {
        if let Some(o) = self.get(id, now_ms) {
            return Some(o);
        }
        alternative_spellings(id)
            .into_iter()
            .find_map(|alt| self.get(&alt, now_ms))
    }

    fn get(&self, id: &str, now_ms: u64) -> Option<Owner> {
        let (shard, tag) = self.locate(id);
        let s = shard.lock();
        let r = s
            .index
            .find(spread(tag), |e| {
                tag_of(*e) == tag
                    && record(&s.ring, s.head, slot_of(*e)).is_some_and(|r| r.id == id)
            })
            .and_then(|e| record(&s.ring, s.head, slot_of(*e)))?;
        (r.expires_ms > now_ms).then(|| Owner {
            account: Arc::clone(&r.account),
            pool: usize::try_from(r.pool).unwrap_or(usize::MAX),
        })
    }

    /// Drops expired entries (housekeeping).
    pub(crate) fn purge(&self, now_ms: u64) {
        for shard in &self.shards {
            shard.lock().expire(now_ms);
        }
    }

    /// Entries held (ids recorded again count once).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().index.len()).sum()
    }
}

/// The record in slot number `slot` of a ring whose front is slot number `head`.
fn record(ring: &VecDeque<Record>, head: u32, slot: u32) -> Option<&Record> {
    ring.get(usize::try_from(slot.wrapping_sub(head)).ok()?)
}

impl Shard {
    fn expire(&mut self, now_ms: u64) {
        while self.ring.front().is_some_and(|r| r.expires_ms <= now_ms) {
            self.forget_oldest();
        }
    }

    /// Forgets the oldest record, and its index entry unless the id was recorded again
    /// since; false when there is none.
    fn forget_oldest(&mut self) -> bool {
        let Some(r) = self.ring.pop_front() else {
            return false;
        };
        let e = entry(r.tag, self.head);
        self.head = self.head.wrapping_add(1);
        if let Ok(found) = self.index.find_entry(spread(r.tag), |x| *x == e) {
            found.remove();
        }
        true
    }
}

/// Other spellings of a message_id: upper/lower case, and the hexadecimal id as decimal
/// or the decimal id as hexadecimal (Kannel's `msg-id-type` cases).
fn alternative_spellings(id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = id.to_ascii_lowercase();
    let upper = id.to_ascii_uppercase();
    if lower != id {
        out.push(lower);
    }
    if upper != id {
        out.push(upper);
    }
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = id.parse::<u64>() {
            out.push(format!("{n:X}"));
            out.push(format!("{n:x}"));
            // Zero-padded to 8 and 10 characters, as some SMSCs print them.
            out.push(format!("{n:08X}"));
            out.push(format!("{n:08x}"));
        }
    } else if !id.is_empty()
        && id.len() <= 16
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(n) = u64::from_str_radix(id, 16)
    {
        out.push(n.to_string());
        out.push(format!("{n:010}"));
    }
    out
}

/// The message_id a delivery receipt refers to: the `receipted_message_id` TLV, else the
/// `id:` field of the receipt text (`id:IIII sub:SSS dlvrd:DDD ...`, SMPP 3.4 App. B).
pub(crate) fn receipt_message_id<'a>(
    receipted_message_id: Option<&'a [u8]>,
    text: &'a [u8],
) -> Option<&'a str> {
    if let Some(id) = receipted_message_id {
        // The TLV is a C-octet string: drop the terminating NUL if present.
        let id = id.split(|&b| b == 0).next().unwrap_or(id);
        if !id.is_empty() {
            return std::str::from_utf8(id).ok();
        }
    }
    let start = find(text, b"id:")?;
    let rest = text.get(start + 3..)?;
    let end = rest
        .iter()
        .position(|&b| b == b' ' || b == 0)
        .unwrap_or(rest.len());
    let id = rest.get(..end)?;
    if id.is_empty() || id.len() > 64 {
        return None;
    }
    std::str::from_utf8(id).ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether an esm_class marks a delivery receipt or another MC/SME acknowledgement
/// rather than a mobile-originated message (SMPP 3.4 §5.2.12: bits 5-2 non-zero).
pub(crate) fn is_receipt(esm_class: u8) -> bool {
    esm_class & 0x3C != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(a: &str) -> Owner {
        Owner {
            account: Arc::from(a),
            pool: 0,
        }
    }

    #[test]
    fn insert_lookup_expire() {
        let r = Receipts::new(100, 1000);
        r.insert("0A1B2C3D", owner("acme"), 0);
        assert_eq!(r.lookup("0A1B2C3D", 10), Some(owner("acme")));
        assert_eq!(r.lookup("0a1b2c3d", 10), Some(owner("acme")));
        // Decimal spelling of the same id (0x0A1B2C3D = 169552957).
        assert_eq!(r.lookup("169552957", 10), Some(owner("acme")));
        assert_eq!(r.lookup("0A1B2C3D", 1000), None);
        r.purge(1000);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn ids_longer_than_the_inline_size_are_kept_whole() {
        let r = Receipts::new(100, 1000);
        let long = "f".repeat(64);
        let prefix = "f".repeat(24);
        r.insert(&long, owner("acme"), 0);
        r.insert("6f1c2c8e-1f0b-4e5a-9a0e-3b1f7c9d2e41", owner("other"), 0);
        assert_eq!(r.lookup(&long, 1), Some(owner("acme")));
        assert_eq!(r.lookup(&long.to_uppercase(), 1), Some(owner("acme")));
        assert_eq!(r.lookup(&prefix, 1), None);
        assert_eq!(
            r.lookup("6F1C2C8E-1F0B-4E5A-9A0E-3B1F7C9D2E41", 1),
            Some(owner("other"))
        );
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn decimal_ids_match_hex_receipts_and_back() {
        let r = Receipts::new(100, 1000);
        r.insert("221067780", owner("a"), 0);
        assert_eq!(r.lookup("0D2D3A04", 1), Some(owner("a")));
        r.insert("0D2C5A84", owner("b"), 0);
        assert_eq!(r.lookup("0221010564", 1), Some(owner("b")));
    }

    #[test]
    fn bounded_oldest_forgotten_first() {
        let r = Receipts::new(16, 1_000_000);
        for i in 0..1000 {
            r.insert(&format!("m{i}"), owner("a"), i);
        }
        assert!(r.len() <= 16 + SHARDS);
        assert_eq!(r.lookup("m999", 1000), Some(owner("a")));
        assert_eq!(r.lookup("m0", 1000), None);
    }

    #[test]
    fn reinsert_keeps_the_newest_owner() {
        let r = Receipts::new(100, 100);
        r.insert("x", owner("a"), 0);
        r.insert("x", owner("b"), 50);
        // The first insert's queue entry expires at 100 but must not remove the second.
        r.purge(120);
        assert_eq!(r.lookup("x", 120), Some(owner("b")));
    }

    #[test]
    fn an_id_recorded_again_and_again_is_one_entry_and_stays_bounded() {
        let r = Receipts::new(SHARDS * 4, 1_000_000);
        for i in 0..100 {
            r.insert("same", owner(if i % 2 == 0 { "a" } else { "b" }), i);
        }
        assert_eq!(r.len(), 1);
        assert_eq!(r.lookup("same", 100), Some(owner("b")));
        for s in &r.shards {
            assert!(s.lock().ring.len() <= 4);
        }
        // The stale records of "same" are forgotten without taking the live one along.
        r.insert("other", owner("c"), 200);
        assert_eq!(r.lookup("same", 201), Some(owner("b")));
    }

    #[test]
    fn slot_numbers_wrap() {
        let r = Receipts::new(SHARDS * 8, 100);
        for s in &r.shards {
            s.lock().head = u32::MAX - 5;
        }
        for i in 0..200u64 {
            r.insert(&format!("w{i}"), owner("a"), i);
            assert_eq!(r.lookup(&format!("w{i}"), i), Some(owner("a")));
        }
        assert!(r.len() <= SHARDS * 8);
        assert_eq!(r.lookup("w199", 250), Some(owner("a")));
        assert_eq!(r.lookup("w100", 250), None, "expired at 200");
        r.purge(400);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn records_hold_the_pool_and_the_account() {
        let r = Receipts::new(100, 1000);
        let o = Owner {
            account: Arc::from("acme"),
            pool: 3,
        };
        r.insert("p1", o.clone(), 0);
        assert_eq!(r.lookup("p1", 1), Some(o));
    }

    proptest::proptest! {
        /// Without reaching the bound, the map answers as a plain map of the latest
        /// owner of each id with its expiry would.
        #[test]
        fn matches_a_plain_map(ops in proptest::collection::vec((0u8..3, 0u8..40, 0u64..5), 1..300)) {
            let ttl = 50;
            let r = Receipts::new(100_000, ttl);
            let mut model: std::collections::HashMap<String, (String, u64)> = Default::default();
            let mut now = 0u64;
            for (op, id, dt) in ops {
                now += dt;
                let id = format!("id{id}");
                match op {
                    0 | 1 => {
                        let acct = format!("acct{}", now % 3);
                        r.insert(&id, owner(&acct), now);
                        model.insert(id, (acct, now + ttl));
                    }
                    _ => {
                        let want = model
                            .get(&id)
                            .filter(|(_, exp)| *exp > now)
                            .map(|(a, _)| owner(a));
                        proptest::prop_assert_eq!(r.get(&id, now), want);
                    }
                }
            }
            r.purge(now);
            let live = model.values().filter(|(_, exp)| *exp > now).count();
            proptest::prop_assert_eq!(r.len(), live);
        }
    }

    #[test]
    fn receipt_ids_from_tlv_or_text() {
        assert_eq!(
            receipt_message_id(Some(b"0A1B2C3D\0"), b"id:zzz"),
            Some("0A1B2C3D")
        );
        let text = b"id:0A1B2C3D sub:001 dlvrd:001 submit date:2401011200 stat:DELIVRD";
        assert_eq!(receipt_message_id(None, text), Some("0A1B2C3D"));
        assert_eq!(receipt_message_id(Some(b"\0"), b"ID:77 stat"), Some("77"));
        assert_eq!(receipt_message_id(None, b"no id here"), None);
        assert_eq!(receipt_message_id(None, b"id:"), None);
        assert!(is_receipt(0x04));
        assert!(is_receipt(0x08));
        assert!(is_receipt(0x20));
        assert!(!is_receipt(0x40));
        assert!(!is_receipt(0x00));
    }
}
