//! Basic authentication for `bpfscope serve`: users and bcrypt hashes from
//! the web configuration file, as Prometheus' exporters take them.
//!
//! bcrypt is slow on purpose (tens of milliseconds a check at cost 10), so
//! a scraper that sends the right password every 15 s is checked once and
//! then matched against a SHA-256 of what it sent, kept in memory, one per
//! user; wrong passwords and unknown users always pay the full bcrypt, one
//! check at a time, so a flood of guesses costs at most one core.

use std::collections::BTreeMap;
use std::sync::Mutex;

use base64::Engine;
use subtle::ConstantTimeEq;

/// Checked against when the user is unknown, so that the answer takes as
/// long as for a known user with a wrong password.
const UNKNOWN: &str = "$2y$10$B8ypiDsfUXghdUZTrG17BODAfs.O3/dF850Uo.okq2MGmfJd.ACVq";

#[derive(Debug, Default)]
pub struct Users {
    hashes: BTreeMap<String, String>,
}

impl Users {
    /// Checks that every hash is a bcrypt hash.
    pub fn new(hashes: BTreeMap<String, String>) -> Result<Self, String> {
        for (user, hash) in &hashes {
            if user.contains(':') {
                return Err(format!("user {user:?}: a user name cannot hold ':'"));
            }
            hash.parse::<bcrypt::HashParts>()
                .map_err(|_| format!("user {user:?}: the password is not a bcrypt hash"))?;
        }
        Ok(Self { hashes })
    }

    /// Whether any user is configured (then every request needs one).
    pub fn required(&self) -> bool {
        !self.hashes.is_empty()
    }
}

/// Remembers passwords that passed bcrypt, as SHA-256 digests.
#[derive(Debug, Default)]
pub struct Checker {
    /// user → (the hash it passed, the digest of the password sent)
    passed: Mutex<BTreeMap<String, (String, [u8; 32])>>,
    /// One bcrypt at a time.
    slow: Mutex<()>,
}

fn digest(password: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, password);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl Checker {
    /// Whether `authorization` (the header's value) names a user of
    /// `users` with their password.
    pub fn allows(&self, users: &Users, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(credentials) else {
            return false;
        };
        let hash = users.hashes.get(&user);
        let sent = digest(password.as_bytes());
        if let Some(hash) = hash {
            let passed = self
                .passed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((h, d)) = passed.get(&user)
                && h == hash
                && bool::from(d.ct_eq(&sent))
            {
                return true;
            }
        }
        let ok = {
            let _one = self
                .slow
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let ok =
                bcrypt::verify(&password, hash.map_or(UNKNOWN, String::as_str)).unwrap_or(false);
            ok && hash.is_some()
        };
        if let (true, Some(hash)) = (ok, hash) {
            let mut passed = self
                .passed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Only configured users are kept: bounded by the file.
            passed.retain(|u, _| users.hashes.contains_key(u));
            passed.insert(user, (hash.clone(), sent));
        }
        ok
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

    #[test]
    fn only_the_right_password_of_a_configured_user_passes_also_when_remembered() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let users = Users::new(BTreeMap::from([("prom".to_owned(), hash)])).unwrap();
        let checker = Checker::default();
        assert!(!checker.allows(&users, None));
        assert!(!checker.allows(&users, Some(&header("prom", "wrong"))));
        assert!(checker.allows(&users, Some(&header("prom", "s3cret"))));
        // Remembered now; a wrong one still fails, another user too.
        assert!(checker.allows(&users, Some(&header("prom", "s3cret"))));
        assert!(!checker.allows(&users, Some(&header("prom", "s3cre"))));
        assert!(!checker.allows(&users, Some(&header("other", "s3cret"))));
        assert!(!checker.allows(&users, Some("Bearer abc")));
        assert!(!checker.allows(&users, Some("Basic !!!")));
    }

    #[test]
    fn the_unknown_user_hash_is_a_bcrypt_hash_and_a_changed_hash_forgets_the_password() {
        assert!(UNKNOWN.parse::<bcrypt::HashParts>().is_ok());
        let checker = Checker::default();
        let old = Users::new(BTreeMap::from([(
            "prom".to_owned(),
            bcrypt::hash("old", 4).unwrap(),
        )]))
        .unwrap();
        assert!(checker.allows(&old, Some(&header("prom", "old"))));
        let new = Users::new(BTreeMap::from([(
            "prom".to_owned(),
            bcrypt::hash("new", 4).unwrap(),
        )]))
        .unwrap();
        assert!(!checker.allows(&new, Some(&header("prom", "old"))));
        assert!(checker.allows(&new, Some(&header("prom", "new"))));
    }

    #[test]
    fn a_hash_that_is_not_bcrypt_is_refused_with_the_user_named() {
        let err =
            Users::new(BTreeMap::from([("prom".to_owned(), "plain".to_owned())])).unwrap_err();
        assert!(err.contains("\"prom\"") && err.contains("bcrypt"), "{err}");
    }
}
