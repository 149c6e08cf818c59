//! TLS for `bpfscope serve` from the web configuration's
//! `tls_server_config`, with rustls (ring): exporter-toolkit's settings,
//! their names and defaults, and a clear refusal of what rustls cannot do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;

use super::error::ConfigError;
use super::web::Files;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsText {
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

/// An empty string is no setting, as exporter-toolkit reads it.
fn given<T: AsRef<std::ffi::OsStr>>(value: Option<&T>) -> Option<&T> {
    value.filter(|v| !v.as_ref().is_empty())
}

/// PEM text given inline or in a file (relative to the configuration's
/// folder, as exporter-toolkit reads it).
fn pem(
    inline: Option<&String>,
    file: Option<&PathBuf>,
    what: &'static str,
    dir: &Path,
    files: &mut Files,
) -> Result<Option<Vec<u8>>, ConfigError> {
    match (given(inline), given(file)) {
        (Some(_), Some(_)) => Err(ConfigError::InlineAndFile { what }),
        (Some(text), None) => Ok(Some(text.clone().into_bytes())),
        (None, Some(file)) => {
            let path = dir.join(file);
            match files.read(&path) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) => Err(ConfigError::UnreadableFile { what, path, error }),
            }
        }
        (None, None) => Ok(None),
    }
}

/// The TLS configuration, or `None` for plain HTTP: when no certificate,
/// key or client setting is given at all, as exporter-toolkit decides.
pub fn tls_config(
    tls: &TlsText,
    dir: &Path,
    files: &mut Files,
) -> Result<Option<Arc<ServerConfig>>, ConfigError> {
    if tls.client_allowed_sans.is_some() {
        return Err(ConfigError::ClientAllowedSans);
    }
    let enabled = given(tls.cert.as_ref()).is_some()
        || given(tls.cert_file.as_ref()).is_some()
        || given(tls.key.as_ref()).is_some()
        || given(tls.key_file.as_ref()).is_some()
        || given(tls.client_auth_type.as_ref()).is_some()
        || given(tls.client_ca.as_ref()).is_some()
        || given(tls.client_ca_file.as_ref()).is_some();
    if !enabled {
        return Ok(None);
    }
    // Settings first, files after: a wrong word is said before a missing file.
    let kind = given(tls.client_auth_type.as_ref()).map_or("NoClientCert", String::as_str);
    match kind {
        "NoClientCert" | "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {}
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err(ConfigError::UnverifiedClientAuth {
                kind: kind.to_owned(),
            });
        }
        other => {
            return Err(ConfigError::UnknownClientAuth {
                kind: other.to_owned(),
            });
        }
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
        (Some(cert), Some(key)) => (cert, key),
        (_, None) => return Err(ConfigError::MissingKey),
        (None, Some(_)) => return Err(ConfigError::MissingCert),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<_, _>>()
        .map_err(ConfigError::CertificateNotPem)?;
    if chain.is_empty() {
        return Err(ConfigError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(ConfigError::KeyNotPem)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(ConfigError::TlsVersions)?;
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
            return Err(ConfigError::ClientCaWithoutClientAuth);
        }
        (_, Some(ca)) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca) {
                let cert = cert.map_err(ConfigError::ClientCaNotPem)?;
                roots.add(cert).map_err(ConfigError::ClientCa)?;
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
            builder
                .with_client_cert_verifier(verifier.build().map_err(ConfigError::ClientCaVerifier)?)
        }
        (_, None) => {
            return Err(ConfigError::ClientAuthWithoutCa {
                kind: kind.to_owned(),
            });
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(ConfigError::CertificateAndKey)?;
    // exporter-toolkit's default: the server's order.
    config.ignore_client_order = tls.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Some(Arc::new(config)))
}

/// ring's suites and groups, narrowed to the file's lists (Go's names).
fn provider(tls: &TlsText) -> Result<CryptoProvider, ConfigError> {
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
                .ok_or_else(|| ConfigError::CipherSuite { name: name.clone() })?;
            // TLS 1.3's are always offered (below), named or not.
            if suite.version() != &rustls::version::TLS13 {
                kept.push(*suite);
            }
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
                other => {
                    return Err(ConfigError::Curve {
                        name: other.to_owned(),
                    });
                }
            };
            kept.push(group);
        }
        provider.kx_groups = kept;
    }
    Ok(provider)
}

/// TLS 1.2 and 1.3 within min_version and max_version (TLS10 and TLS11
/// are not spoken at all; a minimum of either means 1.2).
fn versions(tls: &TlsText) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, ConfigError> {
    let rank = |name: &str| match name {
        "TLS10" => Ok(10),
        "TLS11" => Ok(11),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        other => Err(ConfigError::UnknownTlsVersion {
            name: other.to_owned(),
        }),
    };
    let min = tls.min_version.as_deref().map_or(Ok(12), rank)?;
    let max = tls.max_version.as_deref().map_or(Ok(13), rank)?;
    let versions: Vec<_> = [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(v, _)| (min..=max).contains(v))
        .map(|(_, v)| v)
        .collect();
    if versions.is_empty() {
        return Err(ConfigError::NoTlsVersion {
            min: tls.min_version.as_deref().unwrap_or("TLS12").to_owned(),
            max: tls.max_version.as_deref().unwrap_or("TLS13").to_owned(),
        });
    }
    Ok(versions)
}
