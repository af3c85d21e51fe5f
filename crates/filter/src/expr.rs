//! The `when` condition language: `and`, `or`, `not` and parentheses over pattern names
//! and `@rule` references.
//!
//! ```text
//! expr    := or
//! or      := and  (("or"  | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | primary
//! primary := "(" expr ")" | NAME | "@" RULE_ID
//! ```
//!
//! Keywords are accepted in lower or upper case. Nesting and length are bounded so a
//! hostile or mistaken pack cannot overflow the stack of the loader or the evaluator.

use std::fmt;

/// Deepest parenthesis / `not` nesting accepted.
pub(crate) const MAX_DEPTH: usize = 32;
/// Longest condition accepted, in bytes.
pub(crate) const MAX_LEN: usize = 4096;

/// A parsed condition with names not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// A pattern name (rule-local or shared).
    Name(String),
    /// `@id`: true when that rule's condition is true (its scope and mode are ignored).
    Rule(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// Why a condition does not parse; `position` is a byte offset into the condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {position}")]
pub struct ExprError {
    /// Byte offset in the condition string.
    pub position: usize,
    /// What is wrong there.
    pub kind: ExprErrorKind,
}

/// The kind of an [`ExprError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExprErrorKind {
    /// A character that starts no token.
    UnexpectedChar,
    /// A token where another was expected (e.g. two names in a row).
    UnexpectedToken,
    /// The condition ended early.
    UnexpectedEnd,
    /// `(` without `)`.
    UnclosedParen,
    /// `@` not followed by a rule id.
    MissingRuleId,
    /// Nesting deeper than the limit.
    TooDeep,
    /// Longer than the limit.
    TooLong,
    /// An empty condition.
    Empty,
}

impl fmt::Display for ExprErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnexpectedChar => "unexpected character",
            Self::UnexpectedToken => "unexpected token",
            Self::UnexpectedEnd => "unexpected end of condition",
            Self::UnclosedParen => "unclosed parenthesis",
            Self::MissingRuleId => "`@` must be followed by a rule id",
            Self::TooDeep => "nesting too deep",
            Self::TooLong => "condition too long",
            Self::Empty => "empty condition",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Name(String),
    Rule(String),
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Characters of a rule id after the first (see `pack::valid_rule_id`).
pub(crate) fn is_rule_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

fn tokenize(src: &str) -> Result<Vec<(usize, Tok)>, ExprError> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some((pos, c)) = it.next() {
        let err = |kind| ExprError {
            position: pos,
            kind,
        };
        let tok = match c {
            c if c.is_whitespace() => continue,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '!' => Tok::Not,
            '&' | '|' => {
                if it.next_if(|&(_, n)| n == c).is_none() {
                    return Err(err(ExprErrorKind::UnexpectedChar));
                }
                if c == '&' { Tok::And } else { Tok::Or }
            }
            '@' => {
                let mut id = String::new();
                while let Some((_, n)) = it.next_if(|&(_, n)| is_rule_id_char(n)) {
                    id.push(n);
                }
                if id.is_empty() {
                    return Err(err(ExprErrorKind::MissingRuleId));
                }
                Tok::Rule(id)
            }
            c if is_name_start(c) => {
                let mut name = String::from(c);
                while let Some((_, n)) = it.next_if(|&(_, n)| is_name_char(n)) {
                    name.push(n);
                }
                match name.as_str() {
                    "and" | "AND" => Tok::And,
                    "or" | "OR" => Tok::Or,
                    "not" | "NOT" => Tok::Not,
                    _ => Tok::Name(name),
                }
            }
            _ => return Err(err(ExprErrorKind::UnexpectedChar)),
        };
        out.push((pos, tok));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    next: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.next).map(|(_, t)| t)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.next).map_or(self.end, |(p, _)| *p)
    }

    fn error(&self, kind: ExprErrorKind) -> ExprError {
        ExprError {
            position: self.pos(),
            kind,
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.and(depth)?];
        while self.peek() == Some(&Tok::Or) {
            self.next += 1;
            items.push(self.and(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::Or(Vec::new()))
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ExprError> {
        let mut items = vec![self.unary(depth)?];
        while self.peek() == Some(&Tok::And) {
            self.next += 1;
            items.push(self.unary(depth)?);
        }
        Ok(if items.len() == 1 {
            items.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ExprError> {
        if depth >= MAX_DEPTH {
            return Err(self.error(ExprErrorKind::TooDeep));
        }
        let Some((_, tok)) = self.toks.get(self.next).cloned() else {
            return Err(self.error(ExprErrorKind::UnexpectedEnd));
        };
        match tok {
            Tok::Not => {
                self.next += 1;
                Ok(Expr::Not(Box::new(self.unary(depth + 1)?)))
            }
            Tok::LParen => {
                let open = self.pos();
                self.next += 1;
                let inner = self.or(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    if self.peek().is_none() {
                        return Err(ExprError {
                            position: open,
                            kind: ExprErrorKind::UnclosedParen,
                        });
                    }
                    return Err(self.error(ExprErrorKind::UnexpectedToken));
                }
                self.next += 1;
                Ok(inner)
            }
            Tok::Name(n) => {
                self.next += 1;
                Ok(Expr::Name(n))
            }
            Tok::Rule(r) => {
                self.next += 1;
                Ok(Expr::Rule(r))
            }
            Tok::RParen | Tok::And | Tok::Or => Err(self.error(ExprErrorKind::UnexpectedToken)),
        }
    }
}

/// Parses a condition.
pub(crate) fn parse(src: &str) -> Result<Expr, ExprError> {
    if src.len() > MAX_LEN {
        return Err(ExprError {
            position: MAX_LEN,
            kind: ExprErrorKind::TooLong,
        });
    }
    let toks = tokenize(src)?;
    if toks.is_empty() {
        return Err(ExprError {
            position: 0,
            kind: ExprErrorKind::Empty,
        });
    }
    let mut p = Parser {
        toks,
        next: 0,
        end: src.len(),
    };
    let e = p.or(0)?;
    if p.peek().is_some() {
        return Err(p.error(ExprErrorKind::UnexpectedToken));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Expr {
        Expr::Name(s.into())
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let e = parse("a or b and not c").unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                n("a"),
                Expr::And(vec![n("b"), Expr::Not(Box::new(n("c")))])
            ])
        );
    }

    #[test]
    fn parentheses_symbols_and_rule_refs() {
        let e = parse("cc && limit && (phone || @url-rule.v2)").unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                n("cc"),
                n("limit"),
                Expr::Or(vec![n("phone"), Expr::Rule("url-rule.v2".into())])
            ])
        );
        assert_eq!(parse("NOT (a OR b)").unwrap(), parse("!(a || b)").unwrap());
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("a and").unwrap_err();
        assert_eq!((e.position, e.kind), (5, ExprErrorKind::UnexpectedEnd));
        let e = parse("a b").unwrap_err();
        assert_eq!((e.position, e.kind), (2, ExprErrorKind::UnexpectedToken));
        let e = parse("(a or b").unwrap_err();
        assert_eq!((e.position, e.kind), (0, ExprErrorKind::UnclosedParen));
        let e = parse("a & b").unwrap_err();
        assert_eq!((e.position, e.kind), (2, ExprErrorKind::UnexpectedChar));
        let e = parse("a and @").unwrap_err();
        assert_eq!((e.position, e.kind), (6, ExprErrorKind::MissingRuleId));
        let e = parse("   ").unwrap_err();
        assert_eq!(e.kind, ExprErrorKind::Empty);
        let e = parse("a ) b").unwrap_err();
        assert_eq!((e.position, e.kind), (2, ExprErrorKind::UnexpectedToken));
        assert_eq!(
            parse("信用").unwrap_err().kind,
            ExprErrorKind::UnexpectedChar
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(parse(&deep).unwrap_err().kind, ExprErrorKind::TooDeep);
        let nots = format!("{}a", "not ".repeat(100));
        assert_eq!(parse(&nots).unwrap_err().kind, ExprErrorKind::TooDeep);
        let ok = format!("{}a{}", "(".repeat(20), ")".repeat(20));
        assert_eq!(parse(&ok).unwrap(), n("a"));
        let long = "a or ".repeat(1000) + "a";
        assert_eq!(parse(&long).unwrap_err().kind, ExprErrorKind::TooLong);
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,64}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_token_soup(parts in proptest::collection::vec(
            prop_oneof![
                Just("("), Just(")"), Just(" and "), Just(" or "), Just("not "),
                Just("a"), Just("b"), Just("@r1"), Just("&&"), Just("||"), Just("!"),
            ], 0..40)) {
            let s: String = parts.concat();
            let _ = parse(&s);
        }
    }
}
