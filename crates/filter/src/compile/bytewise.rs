//! Which expressions can be compiled without Hyperscan's UTF-8 mode and UCP, with the
//! same matches on valid UTF-8 text.
//!
//! UTF-8 is self-synchronising: the bytes of a valid UTF-8 string occur in valid UTF-8
//! text only at character boundaries, so a literal, or an expression built from literals,
//! ASCII classes, anchors and groups, matches the same spans byte by byte as character by
//! character. What changes meaning is whatever consumes "one character": `.`, a negated
//! class, a class with a non-ASCII member, a quantifier on a lone non-ASCII character
//! (it would repeat its last byte), `\x{…}` and Unicode properties; and, under UCP, the
//! Unicode forms of `\b`, `\w`, `\s`, `\d` and of caseless matching. Expressions without
//! any of those are compiled as plain bytes: Hyperscan's byte engines are faster than
//! its UTF-8 automata (measured in `docs/performance.md`).
//!
//! The check is a conservative scan of the expression: anything it does not recognise
//! keeps UTF-8 mode.

use crate::pack::HsExpr;

/// Whether `e` (compiled with UTF-8 mode, maybe UCP) has exactly the same matches on
/// valid UTF-8 text when compiled without both.
///
/// `nfkc_text`: the field's values are NFKC-normalized. Caseless matching in UTF-8 mode
/// folds `k` with U+212A KELVIN SIGN and `s` with U+017F LONG S, the only non-ASCII
/// characters whose case folding is ASCII; NFKC text holds neither, so there a caseless
/// ASCII expression matches the same as bytes.
pub(crate) fn is_bytewise(e: &HsExpr, nfkc_text: bool) -> bool {
    if !e.flags.utf8 {
        return false;
    }
    let s = e.expression.as_str();
    if e.flags.caseless && !(nfkc_text && s.is_ascii()) {
        return false;
    }
    let mut chars = s.chars().peekable();
    // Whether the last atom was a lone non-ASCII character (a quantifier would then apply
    // to its last byte only).
    let mut last_non_ascii = false;
    while let Some(c) = chars.next() {
        let non_ascii = match c {
            '\\' => {
                if !escape_ok(&mut chars, e.flags.ucp) {
                    return false;
                }
                false
            }
            '.' => return false,
            '[' => {
                if !class_ok(&mut chars, e.flags.ucp) {
                    return false;
                }
                false
            }
            '(' => {
                // Only plain and non-capturing groups: no inline flags, no assertions.
                if chars.peek() == Some(&'?') {
                    chars.next();
                    if chars.next() != Some(':') {
                        return false;
                    }
                }
                false
            }
            '?' | '*' | '+' | '{' => {
                if last_non_ascii {
                    return false;
                }
                false
            }
            c => !c.is_ascii(),
        };
        last_non_ascii = non_ascii;
    }
    true
}

/// An escape outside a class (after the `\`): allowed when it means the same in both modes.
fn escape_ok(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, ucp: bool) -> bool {
    match chars.next() {
        // Word boundaries and ASCII classes: the same unless UCP widens them.
        Some('b' | 'B' | 'w' | 'W' | 'd' | 's') => !ucp,
        // Anchors, and control characters.
        Some('A' | 'z' | 'Z' | 't' | 'n' | 'r' | 'f' | 'e') => true,
        Some('x') => hex_ascii(chars),
        // An escaped ASCII punctuation character is that character.
        Some(c) => c.is_ascii_punctuation(),
        None => false,
    }
}

/// `\xHH` with both digits present and a value below 0x80 (`\x{…}` is refused).
fn hex_ascii(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    let (Some(a), Some(b)) = (chars.next(), chars.next()) else {
        return false;
    };
    matches!((a.to_digit(16), b.to_digit(16)), (Some(hi), Some(_)) if hi < 8)
}

/// A class after its `[`: only positive classes of ASCII members.
fn class_ok(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, ucp: bool) -> bool {
    if chars.peek() == Some(&'^') {
        return false;
    }
    // A `]` right after `[` is a member.
    if chars.peek() == Some(&']') {
        chars.next();
    }
    while let Some(c) = chars.next() {
        match c {
            ']' => return true,
            '\\' => match chars.next() {
                Some('w' | 'd' | 's') if !ucp => {}
                Some('t' | 'n' | 'r' | 'f' | 'e') => {}
                Some('x') => {
                    if !hex_ascii(chars) {
                        return false;
                    }
                }
                Some(c) if c.is_ascii_punctuation() => {}
                _ => return false,
            },
            // POSIX classes (`[:alpha:]`) and nested classes: not worth the risk.
            '[' => return false,
            c if !c.is_ascii() => return false,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::pack::ExprFlags;

    fn expr(s: &str, caseless: bool, ucp: bool) -> HsExpr {
        HsExpr {
            expression: s.into(),
            flags: ExprFlags {
                caseless,
                dotall: false,
                utf8: true,
                ucp,
            },
            literal: None,
        }
    }

    #[test]
    fn literals_and_alternations_are_bytewise() {
        for s in [
            "信用卡",
            "信用卡|信用额度|卡片额度",
            "(额度|信用额)(可|最高|最多)?(提|升|调|增)(至|到)",
            "身份证(号|照片|正反面)",
            "[0-9]{7}",
            r"https?://[a-z0-9.-]+\.(?:com|net)",
            r"回t|回td|\x41b",
            r"[$£]",
        ] {
            let want = !s.contains('£');
            assert_eq!(is_bytewise(&expr(s, false, true), false), want, "{s}");
        }
        assert!(is_bytewise(&expr(r"\bcall\b", false, false), false));
        assert!(is_bytewise(&expr(r"\bcall\b", true, false), true));
    }

    #[test]
    fn character_level_constructs_keep_utf8() {
        for s in [
            "验证码.{0,12}告诉",
            "[^0-9]",
            "[一二三]折",
            "额?度",
            "额度+",
            "额{2}",
            r"\x{8cb8}",
            r"\xe9",
            r"\p{Han}",
            r"\S+",
            r"\D",
            "(?i)abc",
            "(?=a)b",
            "[[:alpha:]]",
            "abc[",
        ] {
            assert!(!is_bytewise(&expr(s, false, false), true), "{s}");
        }
        // Under UCP, `\b`, `\w`, `\s` and `\d` are Unicode-aware.
        for s in [r"\bcall\b", r"a\sb", r"[\w]", r"\d"] {
            assert!(!is_bytewise(&expr(s, false, true), true), "{s}");
            assert!(is_bytewise(&expr(s, false, false), true), "{s}");
        }
        // Caseless: non-ASCII case folding, and `k` and `s` folded with U+212A and U+017F
        // unless the text is NFKC.
        assert!(!is_bytewise(&expr("straße", true, false), true));
        assert!(!is_bytewise(&expr("kyc", true, true), false));
        assert!(is_bytewise(&expr("kyc", true, true), true));
    }
}
