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
//! users are checked against the configured hash of the highest cost (an
//! unknown user never passes), so that the time taken does not say which
//! users exist, and loading or reloading the file computes no hash at all.
//! Costs above [`MAX_COST`] are refused when the file is read: one check
//! would hold bcrypt for seconds to hours.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use subtle::ConstantTimeEq;

use super::error::ConfigError;

/// The highest bcrypt cost accepted: a check takes about 3 s of one core
/// here, and each step up doubles it (cost 31 would take days).
pub const MAX_COST: u32 = 14;
/// bcrypt's costs that `bpfscope serve` takes.
const COSTS: std::ops::RangeInclusive<u32> = 4..=MAX_COST;
/// Wrong passwords remembered at most, and for how long.
const FAILED_MAX: usize = 256;
const FAILED_FOR: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct Users {
    hashes: BTreeMap<String, String>,
    /// Checked when the user is unknown: the configured hash of the
    /// highest cost.
    unknown: String,
}

impl Users {
    /// Checks that every hash is a bcrypt hash of a usable cost.
    pub fn new(hashes: BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut highest: Option<(u32, &String)> = None;
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
            if highest.is_none_or(|(most, _)| cost > most) {
                highest = Some((cost, hash));
            }
        }
        let unknown = highest.map(|(_, hash)| hash.clone()).unwrap_or_default();
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
        // An unknown user is checked against b's hash for the time it
        // takes, and never let in, even with b's password.
        for _ in 0..2 {
            assert_eq!(
                checker.allows(&mixed, Some(&header("nobody", "y")), later()),
                Verdict::Denied
            );
        }
        assert_eq!(
            checker.allows(&mixed, Some(&header("b", "y")), later()),
            Verdict::Allowed
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
        for cost in [3, MAX_COST + 1, 31] {
            let hash = bcrypt::hash("x", 4)
                .unwrap()
                .replacen("$04$", &format!("${cost:02}$"), 1);
            let started = Instant::now();
            let err = Users::new(BTreeMap::from([("prom".to_owned(), hash)])).unwrap_err();
            assert!(
                matches!(&err, ConfigError::BcryptCost { user, cost: c } if user == "prom" && *c == cost),
                "{err:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "refused at once"
            );
        }
    }
}
