//! Bind authentication: argon2 password hashes verified off the reactor, and the
//! slow-down / lockout of IPs and system_ids that keep failing.
//!
//! Verification is deliberately expensive (argon2id, 19 MiB, 2 passes by default), so
//! it runs on the blocking pool behind a semaphore: a bind flood queues there instead of
//! stalling the sessions that carry traffic. An unknown system_id is verified against a
//! dummy hash, so answer timing does not reveal which accounts exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use parking_lot::Mutex;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::AuthConfig;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// SMPP passwords are C-octet strings of at most 8 bytes, without NUL.
    #[error("an smpp password must be 1 to 8 bytes without nul")]
    InvalidPassword,
    /// The hash function failed.
    #[error("hashing failed: {0}")]
    Hash(String),
}

/// Hashes `password` with argon2id and a random salt, as a PHC string for the
/// `password_hash` key of an account.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() || password.len() > 8 || password.contains('\0') {
        return Err(PasswordError::InvalidPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks `password` against a PHC hash string in constant time (the comparison inside
/// the argon2 crate is constant-time; the hashing dominates and is fixed-cost).
pub fn verify_password(hash: &str, password: &[u8]) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password, &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A hash no password matches in practice, verified for unknown system_ids.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password("unknown!").unwrap_or_else(|_| {
            // A fixed, valid PHC string; only reached if the OS has no randomness.
            "$argon2id$v=19$m=19456,t=2,p=1$c21wcGd1YXJkZHVtbXk$\
             5y0Jg6ZsO0B+0Km6W9GJ0cb8hPxU4fzvlPj4Q8X8mW8"
                .to_string()
        })
    })
}

/// What the failure tracker says about a bind attempt before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Go ahead, after waiting this long (zero when there were few failures).
    Proceed(Duration),
    /// Refuse without checking: the IP or the system_id is locked out.
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    SystemId(Box<[u8]>),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Authentication: password verification and per-IP / per-system_id failure tracking.
#[derive(Debug)]
pub(crate) struct Authenticator {
    cfg: AuthConfig,
    failures: Mutex<HashMap<Key, Failures>>,
    verifications: Arc<Semaphore>,
}

impl Authenticator {
    pub(crate) fn new(cfg: AuthConfig) -> Authenticator {
        let permits = cfg.max_concurrent_verifications;
        Authenticator {
            cfg,
            failures: Mutex::new(HashMap::new()),
            verifications: Arc::new(Semaphore::new(permits)),
        }
    }

    /// Whether to go ahead with a bind from `ip` for `system_id`, and how slowly.
    pub(crate) fn gate(&self, ip: IpAddr, system_id: &[u8], now: Instant) -> Gate {
        let mut map = self.failures.lock();
        let mut worst = 0u32;
        for key in [Key::Ip(ip), Key::SystemId(system_id.into())] {
            if let Some(f) = map.get(&key).copied() {
                if f.locked_until.is_some_and(|t| t > now) {
                    return Gate::Locked;
                }
                if now.saturating_duration_since(f.last) > self.cfg.failure_window {
                    map.remove(&key);
                    continue;
                }
                worst = worst.max(f.count);
            }
        }
        let over = worst.saturating_sub(self.cfg.slowdown_after_failures);
        let delay = self
            .cfg
            .slowdown_per_failure
            .saturating_mul(over)
            .min(self.cfg.max_slowdown);
        Gate::Proceed(delay)
    }

    /// Records a failed bind; returns true when it started a lockout.
    pub(crate) fn failed(&self, ip: IpAddr, system_id: &[u8], now: Instant) -> bool {
        let mut map = self.failures.lock();
        let mut locked = false;
        for key in [Key::Ip(ip), Key::SystemId(system_id.into())] {
            if !map.contains_key(&key) && map.len() >= self.cfg.max_tracked {
                self.make_room(&mut map, now);
            }
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                first: now,
                last: now,
                locked_until: None,
            });
            if now.saturating_duration_since(f.last) > self.cfg.failure_window {
                f.count = 0;
                f.first = now;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
            if f.count >= self.cfg.lockout_after_failures && f.locked_until.is_none_or(|t| t <= now)
            {
                f.locked_until = Some(now + self.cfg.lockout);
                f.count = 0;
                locked = true;
            }
        }
        locked
    }

    /// Clears the failures of a system_id after a successful bind (the IP's stay: one
    /// good account does not excuse guessing at others from the same address).
    pub(crate) fn succeeded(&self, system_id: &[u8]) {
        self.failures
            .lock()
            .remove(&Key::SystemId(system_id.into()));
    }

    /// Makes room for one entry: drops stale entries, else the least recently failed.
    fn make_room(&self, map: &mut HashMap<Key, Failures>, now: Instant) {
        let window = self.cfg.failure_window;
        map.retain(|_, f| {
            f.locked_until.is_some_and(|t| t > now)
                || now.saturating_duration_since(f.last) <= window
        });
        if map.len() >= self.cfg.max_tracked
            && let Some(oldest) = map
                .iter()
                .filter(|(_, f)| f.locked_until.is_none_or(|t| t <= now))
                .min_by_key(|(_, f)| f.last)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
    }

    /// Entries tracked.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.failures.lock().len()
    }

    /// Verifies `password` against `hash` (or the dummy hash when `hash` is `None`) on
    /// the blocking pool, at most `max_concurrent_verifications` at a time.
    pub(crate) async fn verify(&self, hash: Option<&str>, password: &[u8]) -> bool {
        let Ok(_permit) = self.verifications.acquire().await else {
            return false;
        };
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash()).to_string();
        let password = password.to_vec();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .unwrap_or(false);
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AuthConfig {
        AuthConfig {
            slowdown_after_failures: 2,
            slowdown_per_failure: Duration::from_millis(100),
            max_slowdown: Duration::from_millis(250),
            lockout_after_failures: 5,
            lockout: Duration::from_secs(60),
            failure_window: Duration::from_secs(600),
            max_tracked: 16,
            max_concurrent_verifications: 2,
            hide_unknown_system_id: false,
        }
    }

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cr3t").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, b"s3cr3t"));
        assert!(!verify_password(&h, b"s3cr3T"));
        assert!(!verify_password("not a hash", b"s3cr3t"));
        assert!(matches!(
            hash_password("toolongpw"),
            Err(PasswordError::InvalidPassword)
        ));
        assert!(matches!(
            hash_password(""),
            Err(PasswordError::InvalidPassword)
        ));
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let a = Authenticator::new(cfg());
        let h = hash_password("pw").unwrap();
        assert!(a.verify(Some(&h), b"pw").await);
        assert!(!a.verify(None, b"unknown!").await);
    }

    #[test]
    fn slowdown_then_lockout_then_expiry() {
        let a = Authenticator::new(cfg());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        assert_eq!(a.gate(ip, b"acme", t0), Gate::Proceed(Duration::ZERO));
        for _ in 0..3 {
            assert!(!a.failed(ip, b"acme", t0));
        }
        assert_eq!(
            a.gate(ip, b"acme", t0),
            Gate::Proceed(Duration::from_millis(100))
        );
        assert!(!a.failed(ip, b"acme", t0));
        assert_eq!(
            a.gate(ip, b"acme", t0),
            Gate::Proceed(Duration::from_millis(200))
        );
        // The fifth failure locks both the IP and the system_id.
        assert!(a.failed(ip, b"acme", t0));
        assert_eq!(a.gate(ip, b"other", t0), Gate::Locked);
        let other_ip: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(a.gate(other_ip, b"acme", t0), Gate::Locked);
        assert_eq!(
            a.gate(other_ip, b"other", t0),
            Gate::Proceed(Duration::ZERO)
        );
        let later = t0 + Duration::from_secs(61);
        assert_eq!(a.gate(ip, b"acme", later), Gate::Proceed(Duration::ZERO));
    }

    #[test]
    fn success_clears_the_system_id_only() {
        let a = Authenticator::new(cfg());
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..4 {
            a.failed(ip, b"acme", t0);
        }
        a.succeeded(b"acme");
        let other_ip: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(a.gate(other_ip, b"acme", t0), Gate::Proceed(Duration::ZERO));
        assert_ne!(a.gate(ip, b"x", t0), Gate::Proceed(Duration::ZERO));
    }

    #[test]
    fn tracking_is_bounded() {
        let a = Authenticator::new(cfg());
        let t0 = Instant::now();
        for i in 0..200u32 {
            let ip = IpAddr::from(i.to_be_bytes());
            a.failed(
                ip,
                format!("id{i}").as_bytes(),
                t0 + Duration::from_millis(i.into()),
            );
        }
        assert!(a.tracked() <= 16);
    }
}
