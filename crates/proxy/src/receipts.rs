//! message_id → owning account, so delivery receipts reach the account that sent the
//! message, and query_sm / cancel_sm / replace_sm only touch the sender's own messages.
//!
//! The map is bounded twice: entries expire after the configured TTL (default 72 h,
//! beyond the usual validity period), and beyond `max_entries` the oldest is forgotten.
//! It is split into shards so upstream sessions recording ids in parallel rarely meet
//! on a lock; no lock is held across an await. Ids of up to 24 bytes (all common
//! formats) are stored inline: recording one allocates nothing but the map's own
//! growth. The shards grow as ids arrive rather than being sized for the bound up
//! front: a table sized for 1 000 000 ids is ~115 MiB that random inserts touch all
//! over within seconds, and measured no cheaper per insert than a growing one.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

use compact_str::CompactString;
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

#[derive(Debug)]
struct Entry {
    owner: Owner,
    expires_ms: u64,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<CompactString, Entry, foldhash::fast::RandomState>,
    /// Insertion order with expiry; entries may be stale (re-inserted or evicted ids),
    /// which is checked on removal.
    order: VecDeque<(u64, CompactString)>,
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
        let per_shard = max_entries.div_ceil(SHARDS).max(1);
        Receipts {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            ttl_ms,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn shard(&self, id: &str) -> &Mutex<Shard> {
        let i = usize::try_from(self.hasher.hash_one(id) % SHARDS as u64).unwrap_or(0);
        // ok: `i < SHARDS` and `shards` has exactly SHARDS entries.
        #[allow(clippy::indexing_slicing)]
        &self.shards[i]
    }

    /// Remembers that `id` belongs to `owner` (replacing an older owner of the same id).
    pub(crate) fn insert(&self, id: &str, owner: Owner, now_ms: u64) {
        if id.is_empty() {
            return;
        }
        let expires_ms = now_ms.saturating_add(self.ttl_ms);
        let mut s = self.shard(id).lock();
        s.expire(now_ms);
        while s.map.len() >= self.per_shard && s.evict_oldest() {}
        let id = CompactString::new(id);
        s.map.insert(id.clone(), Entry { owner, expires_ms });
        s.order.push_back((expires_ms, id));
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
        let s = self.shard(id).lock();
        s.map
            .get(id)
            .filter(|e| e.expires_ms > now_ms)
            .map(|e| e.owner.clone())
    }

    /// Drops expired entries (housekeeping).
    pub(crate) fn purge(&self, now_ms: u64) {
        for shard in &self.shards {
            shard.lock().expire(now_ms);
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map.len()).sum()
    }
}

impl Shard {
    fn expire(&mut self, now_ms: u64) {
        while let Some((exp, _)) = self.order.front() {
            if *exp > now_ms {
                break;
            }
            if let Some((exp, id)) = self.order.pop_front() {
                self.remove_if(&id, exp);
            }
        }
    }

    /// Forgets the oldest entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        match self.order.pop_front() {
            Some((exp, id)) => {
                self.remove_if(&id, exp);
                true
            }
            None => false,
        }
    }

    /// Removes `id` if its entry is the one queued with `exp` (not a later insert).
    fn remove_if(&mut self, id: &str, exp: u64) {
        if self.map.get(id).is_some_and(|e| e.expires_ms == exp) {
            self.map.remove(id);
        }
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
