//! Why a web configuration does not load, by kind: what to fix in the
//! file, in a file it names, or what bpfscope serve does not do. The
//! words are the ones `bpfscope serve` prints.

use std::io;
use std::path::PathBuf;

use rustls::pki_types::pem;
use thiserror::Error;

/// A web configuration file that does not load: which file, and why.
#[derive(Debug, Error)]
#[error("web configuration {}: {error}", file.display())]
pub struct WebConfigError {
    /// The configuration file (`--web.config.file`).
    pub file: PathBuf,
    /// What is wrong with it.
    pub error: ConfigError,
}

/// What is wrong with a web configuration.
#[derive(Debug, Error)]
pub enum ConfigError {
    // The file itself.
    /// The configuration file cannot be read: its path or permissions.
    #[error("cannot read: {0}")]
    Unreadable(#[source] io::Error),
    #[error("the file is not UTF-8")]
    NotUtf8,
    /// Read again while empty: most likely still being written; the next
    /// change is read again.
    #[error("the file is empty")]
    Empty,
    /// Not YAML, or not exporter-toolkit's keys.
    #[error(transparent)]
    Yaml(#[from] serde_yaml_ng::Error),

    // http_server_config.headers
    /// A header exporter-toolkit does not let the file set.
    #[error(
        "header {name:?} cannot be set (only {})",
        super::web::settable_headers()
    )]
    HeaderNotSettable { name: String },
    #[error("header {name}: the value has control characters")]
    HeaderControl { name: &'static str },
    /// A header that takes only some values, given another.
    #[error("header {name}: {value:?} is not one of {}", allowed.join(", "))]
    HeaderValue {
        name: &'static str,
        value: String,
        allowed: &'static [&'static str],
    },

    // rate_limit
    #[error("rate_limit interval {text:?}: {error}")]
    RateInterval {
        text: String,
        #[source]
        error: humantime::DurationError,
    },
    #[error("rate_limit burst must be at least 1")]
    RateBurst,

    // basic_auth_users
    #[error("user {user:?}: a user name cannot hold ':'")]
    UserName { user: String },
    /// The user's password is not a bcrypt hash (a password in clear, say).
    #[error("user {user:?}: the password is not a bcrypt hash")]
    NotBcrypt { user: String },
    /// A cost bcrypt does not have, or one so high that a check would hold
    /// the exporter for seconds to days.
    #[error(
        "user {user:?}: bcrypt cost {cost} is outside 4 to {} (each step doubles a check's \
         time; cost {} takes about 3 s)",
        super::auth::MAX_COST,
        super::auth::MAX_COST
    )]
    BcryptCost { user: String, cost: u32 },

    // tls_server_config: settings that contradict or miss each other.
    #[error("give {what} inline or as a file, not both")]
    InlineAndFile { what: &'static str },
    #[error("missing one of key or key_file")]
    MissingKey,
    #[error("missing one of cert or cert_file")]
    MissingCert,
    #[error("unknown client_auth_type {kind:?}")]
    UnknownClientAuth { kind: String },
    #[error("unknown TLS version {name:?} (TLS10 … TLS13)")]
    UnknownTlsVersion { name: String },
    #[error("client_ca_file is set but client_auth_type is NoClientCert")]
    ClientCaWithoutClientAuth,
    #[error("client_auth_type {kind} needs client_ca_file")]
    ClientAuthWithoutCa { kind: String },

    // tls_server_config: what exporter-toolkit takes but bpfscope serve
    // does not do.
    #[error("client_allowed_sans is not supported by bpfscope serve")]
    ClientAllowedSans,
    /// RequestClientCert and RequireAnyClientCert.
    #[error(
        "client_auth_type {kind} accepts certificates nobody verified; bpfscope serve \
         supports NoClientCert, VerifyClientCertIfGiven and RequireAndVerifyClientCert"
    )]
    UnverifiedClientAuth { kind: String },
    #[error("cipher suite {name:?} is not offered by bpfscope serve")]
    CipherSuite { name: String },
    #[error("curve {name:?} is not offered by bpfscope serve")]
    Curve { name: String },
    /// min_version and max_version leave neither TLS 1.2 nor 1.3.
    #[error("no TLS version between {min} and {max} is spoken (TLS12 and TLS13 are)")]
    NoTlsVersion { min: String, max: String },

    // tls_server_config: the certificates and key.
    /// A certificate, key or client CA file cannot be read.
    #[error("cannot read {what} {}: {error}", path.display())]
    UnreadableFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        error: io::Error,
    },
    #[error("the certificate is not PEM: {0}")]
    CertificateNotPem(#[source] pem::Error),
    #[error("the certificate file holds no certificate")]
    NoCertificate,
    #[error("the key is not a PEM private key: {0}")]
    KeyNotPem(#[source] pem::Error),
    #[error("the client CA is not PEM: {0}")]
    ClientCaNotPem(#[source] pem::Error),
    /// rustls refused a client CA certificate.
    #[error("the client CA: {0}")]
    ClientCa(#[source] rustls::Error),
    /// rustls could not verify clients with the client CA.
    #[error("the client CA: {0}")]
    ClientCaVerifier(#[source] rustls::server::VerifierBuilderError),
    /// The key does not go with the certificate, or rustls refused either.
    #[error("the certificate and key: {0}")]
    CertificateAndKey(#[source] rustls::Error),
    #[error("TLS versions: {0}")]
    TlsVersions(#[source] rustls::Error),
}
