//! The system's file dialogs (an XDG portal through rfd), on a thread of
//! their own so the window keeps drawing while one is open: where to save
//! an export, which recording to open.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use eframe::egui;

use crate::view::{ExportDialog, OpenDialog};

/// What a dialog that never opened says.
const NO_PORTAL: &str = "No system file dialog is available here; type the path instead.";

/// A file dialog that is open, and when it was opened.
#[derive(Debug)]
pub struct Browse {
    answer: Receiver<Option<PathBuf>>,
    started: Instant,
}

/// What the user chose in a dialog.
enum Answer {
    Chosen(PathBuf),
    Cancelled,
    /// It closed at once: no portal.
    Unavailable,
}

impl Browse {
    /// The save dialog, at the export dialog's current path.
    pub fn save(ctx: &egui::Context, dialog: &mut ExportDialog) -> Option<Self> {
        let start = PathBuf::from(&dialog.path);
        let mut file = rfd::FileDialog::new().add_filter("CSV", &["csv"]);
        if let Some(dir) = start.parent() {
            file = file.set_directory(dir);
        }
        if let Some(name) = start.file_name() {
            file = file.set_file_name(name.to_string_lossy());
        }
        Self::started(
            Self::spawn(ctx, move || file.save_file()),
            &mut dialog.browsing,
            &mut dialog.note,
        )
    }

    /// The open dialog, for a recording, in `dir`.
    pub fn pick_recording(
        ctx: &egui::Context,
        dialog: &mut OpenDialog,
        dir: &Path,
    ) -> Option<Self> {
        let file = rfd::FileDialog::new()
            .add_filter("bpfscope recording", &["bpfscope"])
            .set_directory(dir);
        Self::started(
            Self::spawn(ctx, move || file.pick_file()),
            &mut dialog.browsing,
            &mut dialog.note,
        )
    }

    /// The dialog's state once its thread started, or why it could not.
    fn started(
        spawned: std::io::Result<Self>,
        browsing: &mut bool,
        note: &mut Option<String>,
    ) -> Option<Self> {
        match spawned {
            Ok(browse) => {
                *browsing = true;
                Some(browse)
            }
            Err(err) => {
                *note = Some(format!("cannot open a file dialog: {err}"));
                None
            }
        }
    }

    fn spawn(
        ctx: &egui::Context,
        show: impl FnOnce() -> Option<PathBuf> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = bounded(1);
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .name("bpfscope-file-dialog".to_owned())
            .spawn(move || {
                let _ = tx.send(show()); // the window may be gone
                ctx.request_repaint();
            })?;
        Ok(Self {
            answer: rx,
            started: Instant::now(),
        })
    }

    fn answer(&self) -> Option<Answer> {
        let answer = self.answer.try_recv().ok()?;
        Some(match answer {
            Some(path) => Answer::Chosen(path),
            None if self.started.elapsed() < Duration::from_millis(500) => Answer::Unavailable,
            None => Answer::Cancelled,
        })
    }

    /// Takes the save dialog's answer into `dialog`; whether it has come.
    pub fn poll(&self, dialog: &mut ExportDialog) -> bool {
        let Some(answer) = self.answer() else {
            return false;
        };
        match answer {
            Answer::Chosen(path) => {
                dialog.path = path.display().to_string();
                dialog.note = None;
            }
            Answer::Unavailable => dialog.note = Some(NO_PORTAL.to_owned()),
            Answer::Cancelled => {}
        }
        dialog.browsing = false;
        true
    }

    /// Takes the open dialog's answer into `dialog`; whether it has come
    /// (a chosen file is then in `dialog.path`, and `true` is returned in
    /// the second place).
    pub fn poll_open(&self, dialog: &mut OpenDialog) -> (bool, bool) {
        let Some(answer) = self.answer() else {
            return (false, false);
        };
        dialog.browsing = false;
        match answer {
            Answer::Chosen(path) => {
                dialog.path = path.display().to_string();
                dialog.note = None;
                (true, true)
            }
            Answer::Unavailable => {
                dialog.note = Some(NO_PORTAL.to_owned());
                (true, false)
            }
            Answer::Cancelled => (true, false),
        }
    }
}
