//! Compact, format-insensitive keys for addresses (sender IDs and destination numbers).
//!
//! Flooders vary the spelling of one number (`+886 912-345-678`, `00886912345678`,
//! `886912345678`) to dodge per-destination limits, so keys are built from the digits alone:
//! separators (space, `-`, `.`, `(`, `)`) are dropped, then one leading `+` or the `00`
//! international prefix. A numeric address of at most 18 digits maps exactly to a `u64` (a
//! sentinel `1` before the digits keeps leading zeros). Anything else (alphanumeric sender IDs,
//! longer strings) is folded to ASCII lower case and hashed with 64-bit FNV-1a, with the top bit
//! set so it can never equal a numeric key. FNV is deterministic, so every node of a fleet
//! derives the same key (and Redis key) for the same address.
//!
//! National-format numbers (`0912…`) are not rewritten to international ones: that needs the
//! home country code and the TON, which the caller knows.

use std::fmt;

const MAX_EXACT_DIGITS: u32 = 18;
const HASHED_BIT: u64 = 1 << 63;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A normalised address, as used to key per-sender, per-destination and per-prefix state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey(u64);

impl AddressKey {
    /// The key of `addr` (see the module docs for the normalisation).
    pub fn new(addr: &str) -> Self {
        match numeric(addr) {
            Some((value, digits)) => AddressKey(10u64.pow(digits) + value),
            None => AddressKey(fnv1a_folded(addr.trim().as_bytes()) | HASHED_BIT),
        }
    }

    /// A key from its raw value (as stored in tables).
    pub(crate) fn from_raw(raw: u64) -> Self {
        AddressKey(raw)
    }

    /// The raw 64-bit value.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// Whether the address was numeric and is represented exactly.
    pub fn is_exact(self) -> bool {
        self.0 & HASHED_BIT == 0
    }
}

/// Writes the normalised digits of a numeric key, or `h` and 16 hex digits of a hashed one.
impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_exact() {
            // The sentinel is the leading "1"; the rest are the digits, zeros included.
            let s = self.0.to_string();
            f.write_str(s.get(1..).unwrap_or(""))
        } else {
            write!(f, "h{:016x}", self.0)
        }
    }
}

impl fmt::Debug for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressKey({self})")
    }
}

/// The digits of a numeric address as `(value, digit count)`, if it is one.
fn numeric(addr: &str) -> Option<(u64, u32)> {
    let addr = addr.trim();
    let plus = addr.starts_with('+');
    let body = addr.strip_prefix('+').unwrap_or(addr);
    let mut value: u64 = 0;
    let mut digits: u32 = 0;
    let mut leading_zeros: u32 = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => {
                if digits == leading_zeros && b == b'0' && leading_zeros < 2 {
                    leading_zeros += 1;
                }
                value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
                digits += 1;
                if digits > MAX_EXACT_DIGITS + 2 {
                    return None;
                }
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return None,
        }
    }
    // `00` international prefix: drop it (but not a lone national trunk `0`).
    if leading_zeros == 2 && digits > 2 && !plus {
        digits -= 2;
    }
    (1..=MAX_EXACT_DIGITS)
        .contains(&digits)
        .then_some((value, digits))
}

fn fnv1a_folded(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(FNV_PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings_of_one_number_share_a_key() {
        let k = AddressKey::new("886912345678");
        for s in [
            "+886912345678",
            "+886 912-345-678",
            "00886912345678",
            " 886.912.345.678 ",
            "+(886) 912 345 678",
        ] {
            assert_eq!(AddressKey::new(s), k, "{s}");
        }
        assert!(k.is_exact());
        assert_eq!(k.to_string(), "886912345678");
    }

    #[test]
    fn leading_zero_is_kept() {
        assert_ne!(AddressKey::new("0912345678"), AddressKey::new("912345678"));
        assert_eq!(AddressKey::new("0912345678").to_string(), "0912345678");
        assert_eq!(AddressKey::new("0").to_string(), "0");
        assert_eq!(AddressKey::new("00").to_string(), "00");
    }

    #[test]
    fn alphanumeric_is_hashed_case_insensitively() {
        let a = AddressKey::new("MyBank");
        assert_eq!(a, AddressKey::new("MYBANK"));
        assert!(!a.is_exact());
        assert_ne!(a, AddressKey::new("MyBank2"));
        assert!(a.to_string().starts_with('h'));
        // Too many digits for an exact key: hashed, never equal to a numeric key.
        let long = AddressKey::new("1234567890123456789012");
        assert!(!long.is_exact());
        assert!(!AddressKey::new("").is_exact());
    }

    proptest! {
        #[test]
        fn exact_keys_roundtrip_digits(digits in "[1-9][0-9]{0,16}") {
            let k = AddressKey::new(&digits);
            prop_assert!(k.is_exact());
            prop_assert_eq!(k.to_string(), digits.clone());
            prop_assert_eq!(AddressKey::new(&format!("+{digits}")), k);
            prop_assert_eq!(AddressKey::new(&format!("00{digits}")), k);
        }

        #[test]
        fn distinct_numbers_distinct_keys(a in "[0-9]{1,18}", b in "[0-9]{1,18}") {
            // Compare after the documented normalisation (a leading 00 is the international prefix).
            let norm = |s: &str| if s.len() > 2 && s.starts_with("00") { s[2..].to_string() } else { s.to_string() };
            prop_assume!(norm(&a) != norm(&b));
            prop_assert_ne!(AddressKey::new(&a), AddressKey::new(&b));
        }

        #[test]
        fn any_input_is_accepted(s in any::<String>()) {
            let k = AddressKey::new(&s);
            let _ = k.to_string();
        }
    }
}
