//! Log set-up for `smppguard run`: text or JSON lines on stderr, filtered by `[log]
//! level` (or `--log`).
//!
//! What the proxy logs is structured fields and short messages; it never logs message
//! text (that goes to the audit log only) nor MSISDNs (source and destination
//! addresses appear only masked, in the audit log and the quarantine list).

use smppguard_proxy::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter does not parse.
    #[error("log.level: {0}")]
    Filter(String),
    /// A global subscriber is already installed.
    #[error("logging is already set up")]
    AlreadySet,
}

/// Installs the global subscriber; `filter` (from `--log`) overrides `cfg.level`.
pub fn init_logging(cfg: &LogConfig, filter: Option<&str>) -> Result<(), LogError> {
    let directives = filter.unwrap_or(&cfg.level);
    let filter = EnvFilter::try_new(directives).map_err(|e| LogError::Filter(e.to_string()))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    result.map_err(|_| LogError::AlreadySet)
}

/// Checks a filter without installing anything (for `smppguard config check`).
pub fn check_filter(directives: &str) -> Result<(), LogError> {
    EnvFilter::try_new(directives)
        .map(|_| ())
        .map_err(|e| LogError::Filter(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_checked() {
        assert!(check_filter("info,smppguard_proxy=debug").is_ok());
        assert!(matches!(check_filter("info,[=x"), Err(LogError::Filter(_))));
    }
}
