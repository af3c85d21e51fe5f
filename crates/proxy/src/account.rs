//! Bind authentication: argon2 password hashes verified off the reactor, and the
//! slow-down / lockout of IPs and system_ids that keep failing.
//!
//! Verification is deliberately expensive (argon2id, 19 MiB, 2 passes by default), so
//! it runs on the blocking pool behind a semaphore: a bind flood queues there instead of
//! stalling the sessions that carry traffic. An unknown system_id is verified against a
//! dummy hash, so answer timing does not reveal which accounts exist.
//!
//! Each running verification works in one of at most `max_concurrent_verifications`
//! memory areas that are kept and reused, so the process holds a fixed
//! `permits × m_cost` of argon2 memory however many binds it serves (a fresh 19 MiB
//! area per bind, freed on another blocking thread each time, left that much behind in
//! every malloc arena the blocking pool touched).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::Output;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version, password_hash::rand_core::OsRng};
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
    verify_with_memory(hash, password, &mut Vec::new())
}

/// [`verify_password`] in the caller's argon2 memory, grown to the hash's `m_cost`
/// when smaller (the hash comes from the configuration, not from the peer).
fn verify_with_memory(hash: &str, password: &[u8], blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buf = [0u8; Output::MAX_LENGTH];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let n = params.block_count();
    if blocks.len() < n {
        blocks.resize(n, Block::default());
    }
    let mut out_buf = [0u8; Output::MAX_LENGTH];
    let (Some(out), Some(memory)) = (out_buf.get_mut(..expected.len()), blocks.get_mut(..n)) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    if argon
        .hash_password_into_with_memory(password, salt, out, memory)
        .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
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
    /// argon2 memory areas not in use (at most one per permit).
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Authenticator {
    pub(crate) fn new(cfg: AuthConfig) -> Authenticator {
        let permits = cfg.max_concurrent_verifications;
        Authenticator {
            cfg,
            failures: Mutex::new(HashMap::new()),
            verifications: Arc::new(Semaphore::new(permits)),
            memory: Arc::new(Mutex::new(Vec::new())),
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
        // The permit guarantees at most `permits` areas exist.
        let mut blocks = self.memory.lock().pop().unwrap_or_default();
        let pool = Arc::clone(&self.memory);
        let ok = tokio::task::spawn_blocking(move || {
            let ok = verify_with_memory(&hash, &password, &mut blocks);
            pool.lock().push(blocks);
            ok
        })
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
    fn reused_memory_verifies_like_the_argon2_crate() {
        use argon2::password_hash::PasswordVerifier;
        // A cheap hash with other parameters than the default, and a default one.
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let params = Params::new(64, 1, 1, Some(24)).unwrap();
        let cheap = Argon2::new(Algorithm::Argon2i, Version::V0x10, params)
            .hash_password(b"pw", &salt)
            .unwrap()
            .to_string();
        let default = hash_password("s3cr3t").unwrap();
        let mut memory = Vec::new();
        for (hash, good) in [(&cheap, &b"pw"[..]), (&default, b"s3cr3t"), (&cheap, b"pw")] {
            let parsed = PasswordHash::new(hash).unwrap();
            assert!(Argon2::default().verify_password(good, &parsed).is_ok());
            assert!(verify_with_memory(hash, good, &mut memory));
            assert!(!verify_with_memory(hash, b"wrong", &mut memory));
        }
        // The area grew to the largest m_cost seen and stayed.
        assert_eq!(memory.len(), 19 * 1024);
        let truncated = &default[..default.len() - 4];
        assert!(!verify_with_memory(truncated, b"s3cr3t", &mut memory));
    }

    #[tokio::test]
    async fn verification_memory_is_kept_per_permit() {
        let a = Authenticator::new(cfg());
        let h = hash_password("pw").unwrap();
        let (x, y, z) = tokio::join!(
            a.verify(Some(&h), b"pw"),
            a.verify(Some(&h), b"pw"),
            a.verify(Some(&h), b"no")
        );
        assert!(x && y && !z);
        // cfg() allows 2 verifications at once: never more than 2 areas.
        let kept = a.memory.lock().len();
        assert!((1..=2).contains(&kept), "{kept} areas kept");
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
