//! The states of the dialogs that choose what the window watches: Open a
//! recording, Connect to host.

/// What the dialog holds while open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenDialog {
    /// The path typed or picked.
    pub path: String,
    /// Why the last try failed, or that no file dialog is available.
    pub note: Option<String>,
    /// The system's file dialog is open.
    pub browsing: bool,
}

/// Connect to host… while open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostDialog {
    /// `[user@]host`.
    pub host: String,
    /// The command that starts the sampler there; empty for the default.
    pub command: String,
    /// Why the last try failed.
    pub note: Option<String>,
}
