//! Basic authentication for `bpfscope serve`: users and bcrypt hashes from
//! the web configuration file, as Prometheus' exporters take them.
//!
//! bcrypt is slow on purpose (tens of milliseconds a check at cost 10), so
//! a scraper that sends the right password every 15 s is checked once and
//! then matched against a SHA-256 of what it sent, kept in memory, one per
//! user; a wrong password is remembered as wrong for a while, so repeating
//! it costs nothing. bcrypt runs one check at a time, and a request waits
//! for its turn only until its deadline (then 503), so a flood of guesses
//! costs at most one core and cannot hold connections for long. Unknown
//! users are checked against a hash of the configuration's highest cost,
//! so that the time taken does not say which users exist.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use subtle::ConstantTimeEq;

use super::error::ConfigError;

/// bcrypt's costs (exporter-toolkit refuses others too).
const COSTS: std::ops::RangeInclusive<u32> = 4..=31;
/// Wrong passwords remembered at most, and for how long.
const FAILED_MAX: usize = 256;
const FAILED_FOR: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Users {
    hashes: BTreeMap<String, String>,
    /// Checked when the user is unknown, at the highest cost configured.
    unknown: String,
}

impl Users {
    /// Checks that every hash is a bcrypt hash of a usable cost.
    pub fn new(hashes: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut highest = 0;
        for (user, hash) in &hashes {
            if user.contains(':') {
                return Err(ConfigError::UserName { user: user.clone() });
            }
            let parts = hash
                .parse::<bcrypt::HashParts>()
                .map_err(|_| ConfigError::NotBcrypt { user: user.clone() })?;
            let cost = parts.get_cost();
            if !COSTS.contains(&cost) {
                return Err(ConfigError::BcryptCost {
                    user: user.clone(),
                    cost,
                });
            }
            highest = highest.max(cost);
        }
        let unknown = if hashes.is_empty() {
            String::new()
        } else {
            bcrypt::hash("bpfscope has no such user", highest).map_err(ConfigError::Bcrypt)?
        };
        Ok(Self { hashes, unknown })
    }

    /// Whether any user is configured (then every request needs one).
    pub fn required(&self) -> bool {
        !self.hashes.is_empty()
    }
}

/// What a request's credentials earn it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Other checks held bcrypt until the request's deadline.
    Busy,
}

/// A user, the hash checked against and the digest of the password sent.
type Attempt = (String, String, [u8; 32]);

/// Remembers passwords that passed bcrypt and, for a while, ones that did
/// not, as SHA-256 digests.
#[derive(Debug, Default)]
pub struct Checker {
    /// user → (the hash it passed, the digest of the password sent)
    passed: Mutex<BTreeMap<String, (String, [u8; 32])>>,
    /// (user, hash, digest) → when it failed
    failed: Mutex<BTreeMap<Attempt, Instant>>,
    /// One bcrypt at a time.
    slow: Mutex<()>,
}

fn digest(password: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, password);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Checker {
    /// Whether `authorization` (the header's value) names a user of
    /// `users` with their password, decided by `deadline`.
    pub fn allows(&self, users: &Users, authorization: Option<&str>, deadline: Instant) -> Verdict {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return Verdict::Denied;
        };
        let hash = users.hashes.get(&user);
        let sent = digest(password.as_bytes());
        if let Some(hash) = hash
            && let Some((h, d)) = lock(&self.passed).get(&user)
            && h == hash
            && bool::from(d.ct_eq(&sent))
        {
            return Verdict::Allowed;
        }
        let against = hash.unwrap_or(&users.unknown);
        let key = (user, against.clone(), sent);
        if lock(&self.failed)
            .get(&key)
            .is_some_and(|at| at.elapsed() < FAILED_FOR)
        {
            return Verdict::Denied;
        }
        let Some(ok) = self.bcrypt(&password, against, deadline) else {
            return Verdict::Busy;
        };
        let (user, against, sent) = key;
        if ok && hash.is_some() {
            let mut passed = lock(&self.passed);
            // Only configured users are kept: bounded by the file.
            passed.retain(|u, _| users.hashes.contains_key(u));
            passed.insert(user, (against, sent));
            Verdict::Allowed
        } else {
            let mut failed = lock(&self.failed);
            failed.retain(|_, at| at.elapsed() < FAILED_FOR);
            if failed.len() < FAILED_MAX {
                failed.insert((user, against, sent), Instant::now());
            }
            Verdict::Denied
        }
    }

    /// bcrypt's answer, or `None` if the turn did not come by `deadline`.
    fn bcrypt(&self, password: &str, hash: &str, deadline: Instant) -> Option<bool> {
        loop {
            match self.slow.try_lock() {
                Ok(_one) => return Some(bcrypt::verify(password, hash).unwrap_or(false)),
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    let _one = p.into_inner();
                    return Some(bcrypt::verify(password, hash).unwrap_or(false));
                }
                Err(std::sync::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        }
    }
}

/// `Basic base64(user:password)` → (user, password).
fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn header(user: &str, password: &str) -> String {
        let raw = format!("{user}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn users(pairs: &[(&str, &str)]) -> Users {
        Users::new(
            pairs
                .iter()
                .map(|(u, p)| ((*u).to_owned(), bcrypt::hash(p, 4).unwrap()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn only_the_right_password_of_a_configured_user_passes_also_when_remembered() {
        let users = users(&[("prom", "s3cret")]);
        let checker = Checker::default();
        let check = |h: Option<&str>| checker.allows(&users, h, later());
        assert_eq!(check(None), Verdict::Denied);
        assert_eq!(check(Some(&header("prom", "wrong"))), Verdict::Denied);
        // Remembered as wrong: still wrong.
        assert_eq!(check(Some(&header("prom", "wrong"))), Verdict::Denied);
        assert_eq!(check(Some(&header("prom", "s3cret"))), Verdict::Allowed);
        // Remembered now; a wrong one still fails, another user too.
        assert_eq!(check(Some(&header("prom", "s3cret"))), Verdict::Allowed);
        assert_eq!(check(Some(&header("prom", "s3cre"))), Verdict::Denied);
        assert_eq!(check(Some(&header("other", "s3cret"))), Verdict::Denied);
        assert_eq!(check(Some("Bearer abc")), Verdict::Denied);
        assert_eq!(check(Some("Basic !!!")), Verdict::Denied);
    }

    #[test]
    fn a_changed_hash_forgets_the_password_and_unknown_users_pay_the_highest_cost() {
        let checker = Checker::default();
        let old = users(&[("prom", "old")]);
        assert_eq!(
            checker.allows(&old, Some(&header("prom", "old")), later()),
            Verdict::Allowed
        );
        let new = users(&[("prom", "new")]);
        assert_eq!(
            checker.allows(&new, Some(&header("prom", "old")), later()),
            Verdict::Denied
        );
        assert_eq!(
            checker.allows(&new, Some(&header("prom", "new")), later()),
            Verdict::Allowed
        );
        let mixed = Users::new(BTreeMap::from([
            ("a".to_owned(), bcrypt::hash("x", 4).unwrap()),
            ("b".to_owned(), bcrypt::hash("y", 6).unwrap()),
        ]))
        .unwrap();
        assert_eq!(
            mixed
                .unknown
                .parse::<bcrypt::HashParts>()
                .unwrap()
                .get_cost(),
            6
        );
    }

    #[test]
    fn a_check_that_cannot_get_its_turn_by_the_deadline_is_busy() {
        let users = users(&[("prom", "s3cret")]);
        let checker = Checker::default();
        let _held = checker.slow.lock().unwrap();
        let verdict = checker.allows(&users, Some(&header("prom", "s3cret")), Instant::now());
        assert_eq!(verdict, Verdict::Busy);
    }

    #[test]
    fn hashes_that_are_not_bcrypt_or_of_an_unusable_cost_are_refused_with_the_user_named() {
        let err =
            Users::new(BTreeMap::from([("prom".to_owned(), "plain".to_owned())])).unwrap_err();
        assert!(
            matches!(&err, ConfigError::NotBcrypt { user } if user == "prom"),
            "{err:?}"
        );
        let cost_3 = bcrypt::hash("x", 4).unwrap().replacen("$04$", "$03$", 1);
        let err = Users::new(BTreeMap::from([("prom".to_owned(), cost_3)])).unwrap_err();
        assert!(
            matches!(&err, ConfigError::BcryptCost { user, cost: 3 } if user == "prom"),
            "{err:?}"
        );
    }
}
