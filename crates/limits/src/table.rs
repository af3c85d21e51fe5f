//! A sharded, bounded map from (limit, address) to per-key limit state.
//!
//! Per-sender, per-destination and per-(account, destination) limits can track millions of
//! keys, so the table is split into 64 independently locked shards, each with its own
//! capacity: a full shard first drops its idle entries, and if still full refuses to track
//! the new key (the caller then lets the message pass and counts it as untracked). Idle
//! entries are also swept by [`ShardedTable::evict`], driven by the caller's clock.
//!
//! Written here rather than taken from `dashmap` because the limiter needs per-shard capacity
//! and per-shard eviction, which dashmap only offers through its unstable raw API.

use std::collections::HashMap;
use std::hash::BuildHasher;

use parking_lot::Mutex;

const SHARDS: usize = 64;

/// Key of one tracked state: which limit, and which address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TableKey {
    pub(crate) limit: u32,
    pub(crate) key: u64,
}

/// One shard, alone on its cache line so neighbours do not contend.
#[repr(align(64))]
struct Shard<V> {
    map: Mutex<HashMap<TableKey, V, foldhash::fast::RandomState>>,
}

/// The table. `V` is the per-key state (a GCRA TAT locally, a lease state with Redis).
pub(crate) struct ShardedTable<V> {
    shards: Box<[Shard<V>]>,
    shard_capacity: usize,
    hasher: foldhash::fast::RandomState,
}

/// What happened to a keyed access.
pub(crate) enum Access<R> {
    /// The closure ran on the (existing or new) entry.
    Done(R),
    /// The shard is full of live entries; the key is not tracked.
    Full,
}

impl<V> ShardedTable<V> {
    /// A table that holds at most about `capacity` entries.
    pub(crate) fn new(capacity: usize) -> Self {
        let shard_capacity = capacity.div_ceil(SHARDS).max(1);
        let shards = (0..SHARDS)
            .map(|_| Shard {
                map: Mutex::new(HashMap::with_hasher(foldhash::fast::RandomState::default())),
            })
            .collect();
        ShardedTable {
            shards,
            shard_capacity,
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    fn shard(&self, key: &TableKey) -> &Shard<V> {
        let h = self.hasher.hash_one(key);
        let i = usize::try_from(h >> 58).unwrap_or(0) % SHARDS;
        // ok: `i < SHARDS` and the slice always has SHARDS entries.
        #[allow(clippy::indexing_slicing)]
        &self.shards[i]
    }

    /// Runs `f` on the entry for `key`, creating it with `make` when absent. A full shard is
    /// swept with `idle` first.
    pub(crate) fn with_entry<R>(
        &self,
        key: TableKey,
        make: impl FnOnce() -> V,
        idle: impl Fn(&V) -> bool,
        f: impl FnOnce(&mut V) -> R,
    ) -> Access<R> {
        let mut map = self.shard(&key).map.lock();
        if let Some(v) = map.get_mut(&key) {
            return Access::Done(f(v));
        }
        if map.len() >= self.shard_capacity {
            map.retain(|_, v| !idle(v));
            if map.len() >= self.shard_capacity {
                return Access::Full;
            }
        }
        let v = map.entry(key).or_insert_with(make);
        Access::Done(f(v))
    }

    /// Runs `f` on the entry for `key` if it exists.
    pub(crate) fn with_existing<R>(&self, key: TableKey, f: impl FnOnce(&mut V) -> R) -> Option<R> {
        let mut map = self.shard(&key).map.lock();
        map.get_mut(&key).map(f)
    }

    /// Removes entries for which `idle` holds; returns how many. Shrinks shards that became
    /// mostly empty so memory follows the live key count.
    pub(crate) fn evict(&self, mut idle: impl FnMut(&TableKey, &mut V) -> bool) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut map = shard.map.lock();
            let before = map.len();
            map.retain(|k, v| !idle(k, v));
            removed += before - map.len();
            if map.capacity() > 64 && map.len() < map.capacity() / 4 {
                map.shrink_to_fit();
            }
        }
        removed
    }

    /// Entries currently tracked.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.map.lock().len()).sum()
    }

    /// Heap bytes held by the shards' tables: bucket storage plus one control byte per bucket,
    /// as laid out by hashbrown. An estimate that excludes allocator overhead.
    pub(crate) fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(TableKey, V)>() + 1;
        self.shards
            .iter()
            .map(|s| {
                let cap = s.map.lock().capacity();
                // hashbrown keeps at most 7/8 of its buckets full.
                let buckets = if cap == 0 {
                    0
                } else {
                    (cap * 8 / 7).next_power_of_two()
                };
                buckets * entry
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(limit: u32, key: u64) -> TableKey {
        TableKey { limit, key }
    }

    #[test]
    fn creates_updates_and_evicts() {
        let t: ShardedTable<u64> = ShardedTable::new(1000);
        for i in 0..100 {
            let r = t.with_entry(
                k(1, i),
                || 0,
                |_| false,
                |v| {
                    *v += i;
                    *v
                },
            );
            assert!(matches!(r, Access::Done(x) if x == i));
        }
        assert_eq!(t.len(), 100);
        assert_eq!(t.with_existing(k(1, 7), |v| *v), Some(7));
        assert_eq!(t.with_existing(k(2, 7), |v| *v), None);
        assert_eq!(t.evict(|_, v| *v < 50), 50);
        assert_eq!(t.len(), 50);
        assert!(t.heap_bytes() > 0);
    }

    #[test]
    fn full_shard_drops_idle_then_refuses() {
        // 64 entries in total: one per shard, so shards fill quickly.
        let t: ShardedTable<u64> = ShardedTable::new(64);
        let mut refused = 0;
        for i in 0..10_000u64 {
            match t.with_entry(k(0, i), || 1, |v| *v == 0, |_| ()) {
                Access::Done(()) => {}
                Access::Full => refused += 1,
            }
        }
        assert!(refused > 0, "live entries are never dropped to make room");
        assert!(t.len() <= 64);
        // Entries that are idle make room for new keys.
        let t: ShardedTable<u64> = ShardedTable::new(64);
        for i in 0..10_000u64 {
            let r = t.with_entry(k(0, i), || 0, |v| *v == 0, |_| ());
            assert!(matches!(r, Access::Done(())), "idle entries are replaced");
        }
        assert!(t.len() <= 64);
    }
}
