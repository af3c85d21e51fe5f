//! `[admin]` and `[log]`: the admin HTTP listener, the quarantine bounds and the log
//! format. Both are static (a change needs a restart).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigError;

/// `[admin]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    /// `ip:port` of the admin HTTP listener (metrics, health, reload, accounts, rules,
    /// quarantine). Loopback by default; any other address needs `token_file`.
    pub address: String,
    /// File holding the bearer token the admin API requires (one line; surrounding
    /// whitespace ignored). Without it, only a loopback address is accepted and no
    /// token is asked for.
    pub token_file: Option<PathBuf>,
    /// Quarantined messages kept for review; the oldest is evicted beyond it.
    pub quarantine_max_messages: usize,
    /// Bytes of quarantined messages kept (frames and text).
    pub quarantine_max_bytes: usize,
}

impl Default for RawAdmin {
    fn default() -> Self {
        RawAdmin {
            address: "127.0.0.1:9090".into(),
            token_file: None,
            quarantine_max_messages: 10_000,
            quarantine_max_bytes: 64 << 20,
        }
    }
}

/// Validated `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// Listener address.
    pub address: SocketAddr,
    /// Bearer token file, resolved against the configuration file's directory.
    pub token_file: Option<PathBuf>,
    /// Quarantine bound in messages.
    pub quarantine_max_messages: usize,
    /// Quarantine bound in bytes.
    pub quarantine_max_bytes: usize,
}

impl RawAdmin {
    /// Checks the values; a non-loopback address without a token file is refused.
    pub fn validate(&self, base: &Path) -> Result<AdminConfig, ConfigError> {
        let address: SocketAddr = self.address.parse().map_err(|_| ConfigError::Invalid {
            key: "admin.address".into(),
            reason: "must be ip:port".into(),
        })?;
        let token_file = self.token_file.as_ref().map(|p| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        });
        if token_file.is_none() && !address.ip().is_loopback() {
            return Err(ConfigError::Invalid {
                key: "admin.token_file".into(),
                reason: "required when admin.address is not a loopback address".into(),
            });
        }
        let bound = |key: &str, v: usize, min: usize, max: usize| {
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(ConfigError::Invalid {
                    key: format!("admin.{key}"),
                    reason: format!("must be between {min} and {max}"),
                })
            }
        };
        Ok(AdminConfig {
            address,
            token_file,
            quarantine_max_messages: bound(
                "quarantine_max_messages",
                self.quarantine_max_messages,
                1,
                10_000_000,
            )?,
            quarantine_max_bytes: bound(
                "quarantine_max_bytes",
                self.quarantine_max_bytes,
                1024,
                1 << 36,
            )?,
        })
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// `[log]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    /// `text` or `json`.
    pub format: LogFormat,
    /// Filter in `RUST_LOG` syntax, e.g. `info,smppguard_proxy=debug`; `smppguard run
    /// --log` overrides it.
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// Validated `[log]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Line format.
    pub format: LogFormat,
    /// Filter directives.
    pub level: String,
}

impl RawLog {
    /// Checks the values (the filter's syntax is checked when logging starts).
    pub fn validate(&self) -> Result<LogConfig, ConfigError> {
        if self.level.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "log.level".into(),
                reason: "must not be empty".into(),
            });
        }
        Ok(LogConfig {
            format: self.format,
            level: self.level.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_and_a_token_elsewhere() {
        let base = Path::new("/etc/smppguard");
        let a = RawAdmin::default().validate(base).unwrap();
        assert!(a.address.ip().is_loopback());
        assert_eq!(a.token_file, None);
        let open = RawAdmin {
            address: "0.0.0.0:9090".into(),
            ..RawAdmin::default()
        };
        let err = open.validate(base).unwrap_err();
        assert_eq!(
            err.to_string(),
            "admin.token_file: required when admin.address is not a loopback address"
        );
        let with_token = RawAdmin {
            token_file: Some("admin.token".into()),
            ..open
        };
        assert_eq!(
            with_token.validate(base).unwrap().token_file,
            Some(PathBuf::from("/etc/smppguard/admin.token"))
        );
        let v6 = RawAdmin {
            address: "[::1]:9090".into(),
            ..RawAdmin::default()
        };
        assert!(v6.validate(base).is_ok());
        let bad = RawAdmin {
            address: "localhost".into(),
            ..RawAdmin::default()
        };
        assert!(
            bad.validate(base)
                .unwrap_err()
                .to_string()
                .starts_with("admin.address")
        );
    }

    #[test]
    fn log_level_must_not_be_empty() {
        assert!(RawLog::default().validate().is_ok());
        let raw = RawLog {
            level: " ".into(),
            ..RawLog::default()
        };
        assert!(raw.validate().is_err());
    }
}
