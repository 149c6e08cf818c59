//! The export window's state: what to write and where. The app writes the
//! file and runs the system's file dialog; the ui draws this.

use std::path::Path;
use std::time::SystemTime;

use crate::model::rfc3339;

/// What to export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExportKind {
    /// Every program at the shown sample, with `bpfscope sample`'s columns.
    #[default]
    Snapshot,
    /// One row per program per sample over the plot window (the plotted
    /// programs, or every program when none is plotted).
    History,
}

/// The default file name, `bpfscope-YYYYMMDD-HHMMSS.csv` (UTC).
#[must_use]
pub fn default_file_name(now: SystemTime) -> String {
    let stamp = rfc3339(now); // 2026-11-25T06:11:18.123456Z
    let digits: String = stamp
        .chars()
        .take(19)
        .filter(char::is_ascii_digit)
        .collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("bpfscope-{date}-{time}.csv")
}

/// The export window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDialog {
    /// As typed (or chosen in the file dialog).
    pub path: String,
    pub kind: ExportKind,
    /// Why the last save failed.
    pub error: Option<String>,
    /// Why the file dialog cannot help.
    pub note: Option<String>,
    /// The system's file dialog is open.
    pub browsing: bool,
}

impl ExportDialog {
    /// A dialog proposing `dir/bpfscope-<now>.csv`.
    #[must_use]
    pub fn new(dir: &Path, now: SystemTime) -> Self {
        Self {
            path: dir.join(default_file_name(now)).display().to_string(),
            kind: ExportKind::Snapshot,
            error: None,
            note: None,
            browsing: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn default_names_carry_date_and_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_051_078);
        assert_eq!(default_file_name(t), "bpfscope-20251125-061118.csv");
    }
}
