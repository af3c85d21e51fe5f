//! FNV-1a, 64 bit: a stable content digest that identifies a ruleset version.
//!
//! Not a security hash; it only has to tell two rule packs apart and stay the same across
//! processes, machines and Rust releases (which `std`'s hasher does not promise).

/// Incremental FNV-1a 64.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub(crate) fn new() -> Self {
        Self(Self::OFFSET)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    /// Writes a length-prefixed chunk, so `("ab", "c")` and `("a", "bc")` differ.
    pub(crate) fn write_chunk(&mut self, bytes: &[u8]) {
        self.write(&(bytes.len() as u64).to_le_bytes());
        self.write(bytes);
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Published FNV-1a 64 test vectors.
        let mut h = Fnv64::new();
        assert_eq!(h.finish(), 0xcbf29ce484222325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63dc4c8601ec8c);
        let mut h = Fnv64::new();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x85944171f73967e8);
    }

    #[test]
    fn chunks_are_unambiguous() {
        let mut a = Fnv64::new();
        a.write_chunk(b"ab");
        a.write_chunk(b"c");
        let mut b = Fnv64::new();
        b.write_chunk(b"a");
        b.write_chunk(b"bc");
        assert_ne!(a.finish(), b.finish());
    }
}
