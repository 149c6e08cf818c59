//! The Open a recording dialog's state.

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
