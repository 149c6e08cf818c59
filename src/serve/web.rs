//! The web configuration file of Prometheus' own exporters
//! (exporter-toolkit's `--web.config.file`): TLS, client certificates,
//! basic authentication with bcrypt hashes and extra response headers for
//! `bpfscope serve`, in the same YAML, so one file serves every exporter on
//! a host.
//!
//! The file and the files it names are read again when one of them
//! changes (checked on each connection), so certificates can be rotated
//! and users changed without a restart; a change that does not load is
//! said once on stderr and the last good configuration stays.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::auth::Users;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    tls_server_config: Option<TlsText>,
    http_server_config: Option<HttpText>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsText {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
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

/// Headers exporter-toolkit lets the file set.
const HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// One loaded configuration.
#[derive(Debug, Default)]
pub struct Web {
    pub tls: Option<Arc<ServerConfig>>,
    pub users: Users,
    /// `Name: value\r\n` lines added to every answer.
    pub headers: String,
    /// Every file read, to notice a change.
    files: Vec<PathBuf>,
}

/// A configuration file, read again when it or a file it names changes.
#[derive(Debug)]
pub struct WebConfig {
    path: PathBuf,
    current: Mutex<(Stamp, Arc<Web>)>,
}

type Stamp = Vec<Option<(SystemTime, u64)>>;

fn stamp(files: &[PathBuf]) -> Stamp {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

impl WebConfig {
    /// Reads `path`; the error says what is wrong in words.
    pub fn open(path: &Path) -> Result<Self, String> {
        let web = load(path)?;
        Ok(Self {
            path: path.to_owned(),
            current: Mutex::new((stamp(&web.files), Arc::new(web))),
        })
    }

    /// The configuration now: read again if a file changed and the change
    /// loads (with the same choice of HTTP or HTTPS as at start).
    pub fn current(&self) -> Arc<Web> {
        let mut guard = match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let (seen, web) = &mut *guard;
        let now = stamp(&web.files);
        if now != *seen {
            *seen = now;
            match load(&self.path) {
                Ok(new) if new.tls.is_some() != web.tls.is_some() => eprintln!(
                    "bpfscope: {}: switching between HTTP and HTTPS needs a restart; \
                     keeping the configuration loaded before",
                    self.path.display()
                ),
                Ok(new) => {
                    *seen = stamp(&new.files);
                    *web = Arc::new(new);
                }
                Err(err) => eprintln!("bpfscope: {err}; keeping the configuration loaded before"),
            }
        }
        Arc::clone(web)
    }
}

/// Reads and checks the whole configuration.
fn load(path: &Path) -> Result<Web, String> {
    let at = |what: String| format!("web configuration {}: {what}", path.display());
    let text = std::fs::read_to_string(path).map_err(|err| at(format!("cannot read: {err}")))?;
    let file: FileText = if text.trim().is_empty() {
        FileText::default()
    } else {
        serde_yaml_ng::from_str(&text).map_err(|err| at(err.to_string()))?
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut files = vec![path.to_owned()];
    let tls = match file.tls_server_config {
        Some(tls) => tls_config(&tls, dir, &mut files).map_err(at)?,
        None => None,
    };
    let users = Users::new(file.basic_auth_users).map_err(at)?;
    let mut headers = String::new();
    for (name, value) in file.http_server_config.unwrap_or_default().headers {
        let Some(known) = HEADERS.iter().find(|h| h.eq_ignore_ascii_case(&name)) else {
            return Err(at(format!(
                "header {name:?} cannot be set (only {})",
                HEADERS.join(", ")
            )));
        };
        if value.chars().any(char::is_control) {
            return Err(at(format!(
                "header {known}: the value has control characters"
            )));
        }
        let _ = write!(headers, "{known}: {value}\r\n");
    }
    Ok(Web {
        tls,
        users,
        headers,
        files,
    })
}

/// PEM text given inline or in a file (relative to the configuration's
/// folder, as exporter-toolkit reads it).
fn pem(
    inline: Option<&String>,
    file: Option<&PathBuf>,
    what: &str,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Vec<u8>>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!("give {what} inline or as a file, not both")),
        (Some(text), None) => Ok(Some(text.clone().into_bytes())),
        (None, Some(file)) => {
            let path = dir.join(file);
            let bytes = std::fs::read(&path)
                .map_err(|err| format!("cannot read {what} {}: {err}", path.display()))?;
            files.push(path);
            Ok(Some(bytes))
        }
        (None, None) => Ok(None),
    }
}

fn tls_config(
    tls: &TlsText,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Option<Arc<ServerConfig>>, String> {
    if tls.client_allowed_sans.is_some() {
        return Err("client_allowed_sans is not supported by bpfscope serve".into());
    }
    // Settings first, files after: a wrong word is said before a missing file.
    let kind = tls.client_auth_type.as_deref().unwrap_or("NoClientCert");
    match kind {
        "NoClientCert" | "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {}
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err(format!(
                "client_auth_type {kind} accepts certificates nobody verified; bpfscope serve \
                 supports NoClientCert, VerifyClientCertIfGiven and RequireAndVerifyClientCert"
            ));
        }
        other => return Err(format!("unknown client_auth_type {other:?}")),
    }
    let versions = versions(tls)?;
    let provider = Arc::new(provider(tls)?);
    let cert = pem(
        tls.cert.as_ref(),
        tls.cert_file.as_ref(),
        "the certificate",
        dir,
        files,
    )?;
    let key = pem(
        tls.key.as_ref(),
        tls.key_file.as_ref(),
        "the key",
        dir,
        files,
    )?;
    let (cert, key) = match (cert, key) {
        // No certificate and no key: plain HTTP, as exporter-toolkit does.
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => return Err("a certificate needs a key (key_file)".into()),
        (None, Some(_)) => return Err("a key needs a certificate (cert_file)".into()),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<_, _>>()
        .map_err(|err| format!("the certificate is not PEM: {err}"))?;
    if chain.is_empty() {
        return Err("the certificate file holds no certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&key)
        .map_err(|err| format!("the key is not a PEM private key: {err}"))?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|err| format!("TLS versions: {err}"))?;
    let ca = pem(
        tls.client_ca.as_ref(),
        tls.client_ca_file.as_ref(),
        "the client CA",
        dir,
        files,
    )?;
    let builder = match (kind, ca) {
        ("NoClientCert", None) => builder.with_no_client_auth(),
        ("NoClientCert", Some(_)) => {
            return Err("client_ca_file is set but client_auth_type is NoClientCert".into());
        }
        (_, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca) {
                let cert = cert.map_err(|err| format!("the client CA is not PEM: {err}"))?;
                roots
                    .add(cert)
                    .map_err(|err| format!("the client CA: {err}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                Arc::clone(&provider),
            );
            let verifier = if kind == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|err| format!("the client CA: {err}"))?,
            )
        }
        (_, None) => return Err(format!("client_auth_type {kind} needs client_ca_file")),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|err| format!("the certificate and key: {err}"))?;
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(false);
    Ok(Some(Arc::new(config)))
}

/// ring's suites and groups, narrowed to the file's lists (Go's names).
fn provider(tls: &TlsText) -> Result<CryptoProvider, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(wanted) = &tls.cipher_suites {
        let mut kept = Vec::new();
        for name in wanted {
            let full = if name.ends_with("CHACHA20_POLY1305") {
                format!("{name}_SHA256")
            } else {
                name.clone()
            };
            let suite = rustls::crypto::ring::ALL_CIPHER_SUITES
                .iter()
                .find(|s| s.suite().as_str() == Some(full.as_str()))
                .ok_or_else(|| format!("cipher suite {name:?} is not offered by bpfscope serve"))?;
            kept.push(*suite);
        }
        // Go does not let TLS 1.3's suites be chosen; neither does this.
        kept.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|s| s.version() == &rustls::version::TLS13),
        );
        provider.cipher_suites = kept;
    }
    if let Some(wanted) = &tls.curve_preferences {
        let mut kept = Vec::new();
        for name in wanted {
            let group = match name.as_str() {
                "X25519" => rustls::crypto::ring::kx_group::X25519,
                "CurveP256" => rustls::crypto::ring::kx_group::SECP256R1,
                "CurveP384" => rustls::crypto::ring::kx_group::SECP384R1,
                other => return Err(format!("curve {other:?} is not offered by bpfscope serve")),
            };
            kept.push(group);
        }
        provider.kx_groups = kept;
    }
    Ok(provider)
}

/// TLS 1.2 and 1.3 within min_version and max_version (TLS10 and TLS11
/// are not spoken at all; a minimum of either means 1.2).
fn versions(tls: &TlsText) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let rank = |name: &str| match name {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err(format!("unknown TLS version {other:?} (TLS10 … TLS13)")),
    };
    let min = tls.min_version.as_deref().map_or(Ok(12), rank)?;
    let max = tls.max_version.as_deref().map_or(Ok(13), rank)?;
    let versions: Vec<_> = [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(v, _)| (min..=max).contains(v))
        .map(|(_, v)| v)
        .collect();
    if versions.is_empty() {
        return Err(format!(
            "no TLS version between {} and {} is spoken (TLS12 and TLS13 are)",
            tls.min_version.as_deref().unwrap_or("TLS12"),
            tls.max_version.as_deref().unwrap_or("TLS13")
        ));
    }
    Ok(versions)
}
