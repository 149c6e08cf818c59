//! The system's save dialog (an XDG portal through rfd), on a thread of its
//! own so the window keeps drawing while it is open.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use eframe::egui;

use crate::view::ExportDialog;

/// A file dialog that is open, and when it was opened.
#[derive(Debug)]
pub struct Browse {
    answer: Receiver<Option<PathBuf>>,
    started: Instant,
}

impl Browse {
    /// Opens the dialog at the dialog's current path.
    pub fn open(ctx: &egui::Context, dialog: &mut ExportDialog) -> Option<Self> {
        let (tx, rx) = bounded(1);
        let start = PathBuf::from(&dialog.path);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("bpfscope-file-dialog".to_owned())
            .spawn(move || {
                let mut file = rfd::FileDialog::new().add_filter("CSV", &["csv"]);
                if let Some(dir) = start.parent() {
                    file = file.set_directory(dir);
                }
                if let Some(name) = start.file_name() {
                    file = file.set_file_name(name.to_string_lossy());
                }
                let _ = tx.send(file.save_file()); // the window may be gone
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => {
                dialog.browsing = true;
                Some(Self {
                    answer: rx,
                    started: Instant::now(),
                })
            }
            Err(err) => {
                dialog.note = Some(format!("cannot open a file dialog: {err}"));
                None
            }
        }
    }

    /// Takes the dialog's answer into `dialog`; whether it has come.
    pub fn poll(&self, dialog: &mut ExportDialog) -> bool {
        let Ok(answer) = self.answer.try_recv() else {
            return false;
        };
        match answer {
            Some(path) => {
                dialog.path = path.display().to_string();
                dialog.note = None;
            }
            // A dialog that "closes" at once never opened: no portal.
            None if self.started.elapsed() < Duration::from_millis(500) => {
                dialog.note = Some(
                    "No system file dialog is available here; type the path instead.".to_owned(),
                );
            }
            None => {}
        }
        dialog.browsing = false;
        true
    }
}
