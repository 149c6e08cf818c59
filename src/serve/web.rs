//! The web configuration file of Prometheus' own exporters
//! (exporter-toolkit's `--web.config.file`): TLS, client certificates,
//! basic authentication with bcrypt hashes, a rate limit and extra
//! response headers for `bpfscope serve`, in the same YAML, so one file
//! serves every exporter on a host.
//!
//! The file and the files it names are read again when one of them
//! changes (checked on each connection), so certificates can be rotated
//! and users changed without a restart. Files that did not change are not
//! read again but taken from memory: a key only root can read (read at
//! start, before bpfscope gives up root) stays usable when users change.
//! A change is taken once it has settled for a second (an editor or `cp`
//! writing the file is not read half-way); a change that does not load,
//! an empty file included, is said once on stderr and the last good
//! configuration stays.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::auth::Users;
use super::error::{ConfigError, WebConfigError};
use super::tls::{TlsText, tls_config};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    tls_server_config: Option<TlsText>,
    http_server_config: Option<HttpText>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
    rate_limit: Option<RateText>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpText {
    /// HTTP/2 is not spoken; accepted so that a shared file loads.
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateText {
    interval: Option<String>,
    burst: Option<u32>,
}

/// Requests allowed: `burst` at once, then one every `interval` (429 past
/// it), over all clients, as exporter-toolkit's `rate_limit`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// Headers exporter-toolkit lets the file set, and the values it allows.
const HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// The headers the file may set, as a refusal lists them.
pub(super) fn settable_headers() -> String {
    let names: Vec<&str> = HEADERS.iter().map(|(h, _)| *h).collect();
    names.join(", ")
}

/// One loaded configuration.
#[derive(Debug, Default)]
pub struct Web {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub users: Users,
    /// `Name: value\r\n` lines added to every answer.
    pub headers: String,
    pub rate_limit: Option<RateLimit>,
}

/// What identifies one version of a file: a rename, a rewrite or a
/// `chmod` each change it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Self {
        Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// Whether it changed in the last second (still being written).
    fn settling(&self) -> bool {
        let changed = |(s, ns): (i64, i64)| {
            SystemTime::UNIX_EPOCH
                + Duration::new(
                    u64::try_from(s).unwrap_or(0),
                    u32::try_from(ns).unwrap_or(0),
                )
        };
        let newest = changed(self.mtime).max(changed(self.ctime));
        SystemTime::now()
            .duration_since(newest)
            .is_ok_and(|age| age < Duration::from_secs(1))
    }
}

/// The files a configuration read, as read, by path.
#[derive(Debug, Default)]
pub struct Files {
    read: BTreeMap<PathBuf, (Option<Stamp>, Vec<u8>)>,
}

impl Files {
    /// `path`'s bytes: from memory if it did not change since read.
    pub fn read(&mut self, path: &Path) -> std::io::Result<Vec<u8>> {
        let now = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
        if let Some((seen, bytes)) = self.read.get(path)
            && now.is_some()
            && *seen == now
        {
            return Ok(bytes.clone());
        }
        let mut file = std::fs::File::open(path)?;
        let stamp = file.metadata().ok().map(|m| Stamp::of(&m));
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        self.read.insert(path.to_owned(), (stamp, bytes.clone()));
        Ok(bytes)
    }

    /// The stamps of every file read, now.
    fn stamps(&self) -> Vec<Option<Stamp>> {
        self.read
            .keys()
            .map(|p| std::fs::metadata(p).ok().map(|m| Stamp::of(&m)))
            .collect()
    }

    fn seen(&self) -> Vec<Option<Stamp>> {
        self.read.values().map(|(s, _)| s.clone()).collect()
    }
}

/// A configuration file, read again when it or a file it names changes.
#[derive(Debug)]
pub struct WebConfig {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    web: Arc<Web>,
    files: Files,
    /// The stamps of a change that did not load, said once.
    failed: Option<Vec<Option<Stamp>>>,
}

impl WebConfig {
    /// Reads `path`; the error says what is wrong, in words when shown.
    pub fn open(path: &Path) -> Result<Self, WebConfigError> {
        let mut files = Files::default();
        let web = load(path, &mut files, false)?;
        Ok(Self {
            path: path.to_owned(),
            state: Mutex::new(State {
                web: Arc::new(web),
                files,
                failed: None,
            }),
        })
    }

    /// The configuration now: read again if a file changed, the change
    /// settled and it loads (with the same choice of HTTP or HTTPS).
    pub fn current(&self) -> Arc<Web> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = state.files.stamps();
        if now == state.files.seen()
            || state.failed.as_ref() == Some(&now)
            || now.iter().flatten().any(Stamp::settling)
        {
            return Arc::clone(&state.web);
        }
        let mut files = std::mem::take(&mut state.files);
        let loaded = load(&self.path, &mut files, true);
        state.files = files;
        let kept = "keeping the configuration loaded before";
        match loaded {
            Ok(new) if new.tls.is_some() != state.web.tls.is_some() => {
                eprintln!(
                    "bpfscope: {}: switching between HTTP and HTTPS needs a restart; {kept}",
                    self.path.display()
                );
                state.failed = Some(state.files.stamps());
            }
            Ok(new) => {
                if state.web.users.required() && !new.users.required() {
                    eprintln!(
                        "bpfscope: {}: basic authentication is now off",
                        self.path.display()
                    );
                }
                state.web = Arc::new(new);
                state.failed = None;
            }
            Err(err) => {
                eprintln!("bpfscope: {err}; {kept}");
                state.failed = Some(state.files.stamps());
            }
        }
        Arc::clone(&state.web)
    }
}

/// Reads and checks the whole configuration; `again` when it is a reload,
/// where an empty file is a file being written, not one meant empty.
fn load(path: &Path, files: &mut Files, again: bool) -> Result<Web, WebConfigError> {
    read(path, files, again).map_err(|error| WebConfigError {
        file: path.to_owned(),
        error,
    })
}

/// [`load`], the error without the file's name.
fn read(path: &Path, files: &mut Files, again: bool) -> Result<Web, ConfigError> {
    let bytes = files.read(path).map_err(ConfigError::Unreadable)?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8)?;
    let file: FileText = if text.trim().is_empty() {
        if again {
            return Err(ConfigError::Empty);
        }
        FileText::default()
    } else {
        serde_yaml_ng::from_str(&text)?
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let tls = match file.tls_server_config {
        Some(tls) => tls_config(&tls, dir, files)?,
        None => None,
    };
    let users = Users::new(file.basic_auth_users)?;
    let mut headers = String::new();
    for (name, value) in file.http_server_config.unwrap_or_default().headers {
        let Some((known, allowed)) = HEADERS.iter().find(|(h, _)| *h == name) else {
            return Err(ConfigError::HeaderNotSettable { name });
        };
        if value.chars().any(char::is_control) {
            return Err(ConfigError::HeaderControl { name: known });
        }
        if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
            return Err(ConfigError::HeaderValue {
                name: known,
                value,
                allowed,
            });
        }
        let _ = write!(headers, "{known}: {value}\r\n");
    }
    let rate_limit = match file.rate_limit {
        None => None,
        Some(rate) => rate_limit(&rate)?,
    };
    Ok(Web {
        tls,
        users,
        headers,
        rate_limit,
    })
}

fn rate_limit(rate: &RateText) -> Result<Option<RateLimit>, ConfigError> {
    let interval = match rate.interval.as_deref().map(str::trim) {
        None | Some("" | "0" | "0s") => return Ok(None),
        Some(text) => {
            humantime::parse_duration(text).map_err(|error| ConfigError::RateInterval {
                text: text.to_owned(),
                error,
            })?
        }
    };
    let burst = rate.burst.unwrap_or(0);
    if burst == 0 {
        return Err(ConfigError::RateBurst);
    }
    Ok(Some(RateLimit { interval, burst }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_configuration_that_does_not_load_says_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        let load_text = |text: &str, again: bool| {
            std::fs::write(&path, text).unwrap();
            load(&path, &mut Files::default(), again).unwrap_err()
        };
        let err = load_text("rate_limit:\n  interval: 10s\n", false);
        assert_eq!(err.file, path);
        assert!(matches!(err.error, ConfigError::RateBurst), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "web configuration {}: rate_limit burst must be at least 1",
                path.display()
            )
        );
        let err = load_text("", true);
        assert!(matches!(err.error, ConfigError::Empty), "{err:?}");
        let err = load_text(
            "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
            false,
        );
        assert!(
            matches!(&err.error, ConfigError::HeaderValue { name: "X-Frame-Options", value, .. } if value == "allow"),
            "{err:?}"
        );
        let err = load_text(
            "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n",
            false,
        );
        assert!(
            matches!(&err.error, ConfigError::UnreadableFile { what: "the certificate", path, .. } if path.ends_with("none.crt")),
            "{err:?}"
        );
        let err = load_text("tls_server_config:\n  client_allowed_sans: [a]\n", false);
        assert!(
            matches!(err.error, ConfigError::ClientAllowedSans),
            "{err:?}"
        );
        let err = load_text("basic_auth_user:\n  prom: x\n", false);
        assert!(matches!(err.error, ConfigError::Yaml(_)), "{err:?}");
        std::fs::remove_file(&path).unwrap();
        let err = load(&path, &mut Files::default(), false).unwrap_err();
        assert!(matches!(err.error, ConfigError::Unreadable(_)), "{err:?}");
    }
}
