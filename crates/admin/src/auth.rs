//! The bearer token: read once from its file, compared in constant time.

use std::path::Path;

use subtle::ConstantTimeEq;

/// Why the token file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("admin.token_file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file holds no token.
    #[error("admin.token_file {path}: the file is empty")]
    Empty {
        /// The file.
        path: String,
    },
}

/// The token requests must carry, if any.
#[derive(Clone)]
pub(crate) struct Token(Option<Vec<u8>>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Token(<set>)"
        } else {
            "Token(none)"
        })
    }
}

impl Token {
    /// No token: every request is allowed (loopback listeners only).
    pub(crate) fn none() -> Token {
        Token(None)
    }

    /// The token in `path` (surrounding whitespace removed).
    pub(crate) fn from_file(path: &Path) -> Result<Token, TokenError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|e| TokenError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let token = text.trim_ascii();
        if token.is_empty() {
            return Err(TokenError::Empty { path: shown });
        }
        warn_if_readable_by_others(path);
        Ok(Token(Some(token.to_vec())))
    }

    /// Whether a token is required.
    pub(crate) fn required(&self) -> bool {
        self.0.is_some()
    }

    /// Whether an `Authorization` header value grants access.
    pub(crate) fn allows(&self, authorization: Option<&[u8]>) -> bool {
        let Some(expected) = &self.0 else {
            return true;
        };
        let Some(given) = authorization.and_then(|h| strip_bearer(h)) else {
            return false;
        };
        // Constant time in the token's content; a length mismatch answers at once,
        // which reveals only the length.
        given.ct_eq(expected.as_slice()).into()
    }
}

/// The credentials of `Bearer <token>` (scheme case-insensitive, RFC 7235 §2.1).
fn strip_bearer(h: &[u8]) -> Option<&[u8]> {
    let scheme = h.get(..7)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return None;
    }
    Some(h.get(7..)?.trim_ascii())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(path = %path.display(), "the admin token file is readable by every user; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_checked_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  s3cret-token\n").unwrap();
        let t = Token::from_file(&path).unwrap();
        assert!(t.required());
        assert!(t.allows(Some(b"Bearer s3cret-token")));
        assert!(t.allows(Some(b"bearer s3cret-token ")));
        assert!(!t.allows(Some(b"Bearer s3cret-tokeN")));
        assert!(!t.allows(Some(b"Bearer s3cret-token2")));
        assert!(!t.allows(Some(b"Basic s3cret-token")));
        assert!(!t.allows(Some(b"s3cret-token")));
        assert!(!t.allows(None));
        assert!(Token::none().allows(None));
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            Token::from_file(&path),
            Err(TokenError::Empty { .. })
        ));
        assert!(matches!(
            Token::from_file(&dir.path().join("missing")),
            Err(TokenError::Read { .. })
        ));
    }
}
