//! Why the fleet view has no answer from Prometheus, by kind: what to
//! change in the connect window, or what is wrong on the other side. The
//! words are the ones the window shows.

use std::io;

use thiserror::Error;

use super::prometheus::TIMEOUT;

/// What went wrong connecting to or asking Prometheus.
#[derive(Debug, Error)]
pub enum FleetError {
    // The connect window's fields.
    /// The URL is not `http://` or `https://` and a host.
    #[error(
        "{url:?} is not a Prometheus URL: it starts with http:// or https://, \
         for example http://prometheus:9090"
    )]
    NotAUrl { url: String },
    /// The URL holds a user (and maybe password): they go in their fields.
    #[error(
        "put the user and password in their fields, not in the URL (the URL is \
         remembered, a password never)"
    )]
    CredentialsInUrl,
    #[error("cannot read the CA file {path}: {error}")]
    UnreadableCa {
        path: String,
        #[source]
        error: io::Error,
    },
    /// A FIFO, a device or a file over 1 MiB.
    #[error("cannot read the CA file {path}: not a PEM file of at most 1 MiB")]
    CaNotAFile { path: String },
    #[error("the CA file {path} holds no PEM certificate")]
    NoCaCertificate { path: String },
    /// The worker thread could not be started (out of threads or memory).
    #[error("cannot start asking Prometheus: {0}")]
    NoThread(#[source] io::Error),

    // Reaching Prometheus: the next round tries again.
    #[error("Prometheus at {base} did not answer within {} s", TIMEOUT.as_secs())]
    Timeout { base: String },
    #[error("cannot reach {base}: no such host")]
    NoSuchHost { base: String },
    /// Refused, reset, a TLS failure (an unknown CA, say) and the like.
    #[error("cannot reach {base}: {error}")]
    Unreachable {
        base: String,
        #[source]
        error: ureq::Error,
    },
    /// The user name or password is wrong (HTTP 401 or 403).
    #[error("Prometheus at {base} refused the user name or password (HTTP {status})")]
    Refused { base: String, status: u16 },
    /// The answer broke off, or was larger than bpfscope reads.
    #[error("reading Prometheus' answer from {base}: {error}")]
    Read {
        base: String,
        #[source]
        error: ureq::Error,
    },

    // Answers that are not what Prometheus' API gives.
    /// Not JSON: most likely the URL is not Prometheus'.
    #[error(
        "{base} answered HTTP {status}, but not as Prometheus' API does: is this the \
         Prometheus URL (for example http://prometheus:9090)?"
    )]
    NotPrometheus { base: String, status: u16 },
    /// Prometheus refused the query (`errorType` and `error`, as it said
    /// them; shown cleaned for the window).
    #[error("{}", crate::model::clean_label(&format!("Prometheus: {kind}: {said}")))]
    Query { kind: String, said: String },
    #[error("{base} answered without data")]
    NoData { base: String },
    #[error("Prometheus answered {query} without a result list")]
    NoResult { query: String },

    /// The window disconnected during a round.
    #[error("disconnected")]
    Disconnected,
}
