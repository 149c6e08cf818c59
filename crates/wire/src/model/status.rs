//! What a source is doing, in words for the user, and what the user can do
//! about it: shown by the window, produced by the sources.

/// Where the samples come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleOrigin {
    /// A thread of this process (it has the privilege).
    InProcess,
    /// The elevated helper, `bpfscope-sampler`.
    Helper,
    /// Whoever holds the channel's sender (tests).
    Injected,
    /// A recording being replayed.
    Recording,
    /// Another host's helper, over ssh.
    Remote,
}

/// What the user can do about a stopped source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start the helper, letting polkit ask for the password.
    Authenticate,
    /// Try again after a refusal, a dismissed dialog or a missing service.
    Retry,
    /// Start the helper again after it stopped mid-run.
    Reconnect,
}

impl Action {
    /// The button's text.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Authenticate => "Authenticate…",
            Self::Retry => "Retry",
            Self::Reconnect => "Reconnect",
        }
    }
}

/// The state of the source, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Samples are flowing (or the first is on its way).
    Sampling(SampleOrigin),
    /// Something is under way: asking polkit, waiting for authentication.
    Waiting(String),
    /// No samples now. `message` says why; `action` what can be done.
    Stopped {
        message: String,
        action: Option<Action>,
    },
}
