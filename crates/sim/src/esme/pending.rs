//! Outstanding requests by sequence number.

/// A ring of slots indexed by the low bits of the sequence number. The connection
/// hands out sequence numbers in order and skips any whose slot is taken; with at
/// least twice the window in slots a free one comes at once, and a lookup is one index
/// and one compare instead of a hash.
#[derive(Debug)]
pub(crate) struct PendingTable<T> {
    slots: Vec<Option<(u32, T)>>,
    mask: usize,
    len: usize,
}

impl<T> PendingTable<T> {
    /// A table for up to `window` outstanding requests.
    pub(crate) fn new(window: usize) -> Self {
        let cap = window.max(1).saturating_mul(2).next_power_of_two();
        Self {
            slots: (0..cap).map(|_| None).collect(),
            mask: cap - 1,
            len: 0,
        }
    }

    fn slot(&self, seq: u32) -> usize {
        // u32 -> usize never truncates on the 32/64-bit targets tokio supports.
        usize::try_from(seq).unwrap_or(0) & self.mask
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `seq` can be inserted (its slot is empty).
    pub(crate) fn is_free(&self, seq: u32) -> bool {
        matches!(self.slots.get(self.slot(seq)), Some(None))
    }

    /// Stores `value` under `seq`; the caller checked [`is_free`](Self::is_free).
    /// Returns the value back if the slot was taken after all.
    pub(crate) fn insert(&mut self, seq: u32, value: T) -> Result<(), T> {
        let i = self.slot(seq);
        match self.slots.get_mut(i) {
            Some(slot @ None) => {
                *slot = Some((seq, value));
                self.len += 1;
                Ok(())
            }
            _ => Err(value),
        }
    }

    pub(crate) fn get(&self, seq: u32) -> Option<&T> {
        match self.slots.get(self.slot(seq)) {
            Some(Some((s, v))) if *s == seq => Some(v),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, seq: u32) -> Option<T> {
        let i = self.slot(seq);
        let slot = self.slots.get_mut(i)?;
        if slot.as_ref().is_some_and(|(s, _)| *s == seq) {
            self.len -= 1;
            slot.take().map(|(_, v)| v)
        } else {
            None
        }
    }

    /// Removes and returns every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.len = 0;
        self.slots
            .iter_mut()
            .filter_map(|s| s.take().map(|(_, v)| v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_hold_one_sequence_number_each() {
        let mut t = PendingTable::new(3);
        assert!(t.is_free(1));
        t.insert(1, "a").unwrap();
        t.insert(2, "b").unwrap();
        // 9 shares slot 1 with 1 (8 slots).
        assert!(!t.is_free(9));
        assert_eq!(t.insert(9, "c"), Err("c"));
        assert_eq!(t.get(9), None);
        assert_eq!(t.remove(9), None);
        assert_eq!(t.get(1), Some(&"a"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(1), Some("a"));
        assert!(t.is_free(9));
        let mut rest: Vec<_> = t.drain().collect();
        rest.sort();
        assert_eq!(rest, ["b"]);
        assert!(t.is_empty());
        assert_eq!(t.remove(u32::MAX), None);
    }
}
