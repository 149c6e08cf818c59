//! The export window: a path (typed, or chosen in the system's file dialog
//! where one exists), snapshot or history, and the CSV writers.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, bounded};
use eframe::egui;

use super::Command;
use crate::export::{CsvWriter, Described, rfc3339, spreadsheet_safe, write_atomically};
use crate::model::store::{ProgramKey, Row, Store};

/// What to export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExportKind {
    /// Every program at the latest sample, with `bpfscope sample`'s columns.
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

fn default_dir() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

#[derive(Debug)]
pub struct ExportDialog {
    pub path: String,
    pub kind: ExportKind,
    pub error: Option<String>,
    browsing: Option<(Receiver<Option<PathBuf>>, Instant)>,
    note: Option<String>,
}

impl ExportDialog {
    pub fn new() -> Self {
        let path = default_dir().join(default_file_name(SystemTime::now()));
        Self {
            path: path.display().to_string(),
            kind: ExportKind::Snapshot,
            error: None,
            browsing: None,
            note: None,
        }
    }

    /// Opens the system's save dialog on a thread of its own.
    pub fn browse(&mut self, ctx: &egui::Context) {
        if self.browsing.is_some() {
            return;
        }
        let (tx, rx) = bounded(1);
        let start = PathBuf::from(&self.path);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("bpfscope-file-dialog".to_owned())
            .spawn(move || {
                let mut dialog = rfd::FileDialog::new().add_filter("CSV", &["csv"]);
                if let Some(dir) = start.parent() {
                    dialog = dialog.set_directory(dir);
                }
                if let Some(name) = start.file_name() {
                    dialog = dialog.set_file_name(name.to_string_lossy());
                }
                let _ = tx.send(dialog.save_file()); // the window may be gone
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.browsing = Some((rx, Instant::now())),
            Err(err) => self.note = Some(format!("cannot open a file dialog: {err}")),
        }
    }

    /// Takes the file dialog's answer when it comes.
    pub fn poll_browse(&mut self) {
        let Some((rx, started)) = &self.browsing else {
            return;
        };
        if let Ok(answer) = rx.try_recv() {
            match answer {
                Some(path) => {
                    self.path = path.display().to_string();
                    self.note = None;
                }
                // A dialog that "closes" at once never opened: no portal.
                None if started.elapsed() < Duration::from_millis(500) => {
                    self.note = Some(
                        "No system file dialog is available here; type the path instead."
                            .to_owned(),
                    );
                }
                None => {}
            }
            self.browsing = None;
        }
    }

    pub fn ui(&mut self, ctx: &egui::Context, commands: &mut Vec<Command>) {
        let mut open = true;
        egui::Window::new("Export CSV")
            .collapsible(false)
            .resizable(false)
            .open(&mut open)
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.radio_value(&mut self.kind, ExportKind::Snapshot, "Snapshot")
                        .on_hover_text("Every program at the latest sample");
                    ui.radio_value(&mut self.kind, ExportKind::History, "History")
                        .on_hover_text(
                            "One row per program per sample over the plot window: the \
                             plotted programs, or all when none is plotted",
                        );
                });
                ui.horizontal(|ui| {
                    let label = ui.label("Path");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.path)
                            .desired_width(420.0)
                            .id(egui::Id::unique("export_path")),
                    )
                    .labelled_by(label.id);
                    let browsing = self.browsing.is_some();
                    if ui
                        .add_enabled(!browsing, egui::Button::new("Browse…"))
                        .clicked()
                    {
                        commands.push(Command::Browse);
                    }
                });
                if let Some(note) = &self.note {
                    ui.label(note);
                }
                if let Some(error) = &self.error {
                    ui.colored_label(ui.visuals().error_fg_color, error);
                }
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        commands.push(Command::Export(PathBuf::from(self.path.trim()), self.kind));
                    }
                    if ui.button("Cancel").clicked() {
                        commands.push(Command::CloseExport);
                    }
                });
            });
        if !open {
            commands.push(Command::CloseExport);
        }
    }
}

/// Every program (not the gone ones) with the `bpfscope sample` columns.
pub fn write_snapshot(
    path: &Path,
    store: &Store,
    rows: &[Row],
    taken_at: Option<SystemTime>,
) -> io::Result<usize> {
    let timestamp = taken_at.map(rfc3339).unwrap_or_default();
    write_atomically(path, |out| {
        let mut csv = CsvWriter::new(out)?;
        let mut records = 0;
        for row in rows.iter().filter(|r| !r.gone) {
            if let Some(program) = store.program(row.key) {
                let described = Described {
                    facts: row.text.facts.as_deref(),
                    links: row.text.known_links(),
                };
                csv.write(&timestamp, program, row.metrics.as_ref(), described)?;
                records += 1;
            }
        }
        csv.flush()?;
        Ok(records)
    })
}

/// One record per program per sample inside the plot window.
pub fn write_history(
    path: &Path,
    store: &Store,
    keys: &[ProgramKey],
    window: Duration,
) -> io::Result<usize> {
    let newest = store.latest_boottime_ns().unwrap_or(0);
    let since = newest.saturating_sub(window.as_nanos() as u64);
    write_atomically(path, |out| {
        let mut csv = csv::Writer::from_writer(out);
        let header = [
            "timestamp",
            "id",
            "name",
            "avg_runtime_ns",
            "events_per_sec",
            "cpu_percent",
        ];
        csv.write_record(header).map_err(io::Error::other)?;
        let mut records = 0;
        for key in keys {
            let name = store.program(*key).map_or("", |p| p.name.as_str());
            for point in store.history(*key).filter(|p| p.boottime_ns >= since) {
                csv.write_record([
                    rfc3339(point.wall),
                    key.id.to_string(),
                    spreadsheet_safe(name).into_owned(),
                    format!("{:.1}", point.avg_runtime_ns),
                    format!("{:.3}", point.events_per_sec),
                    format!("{:.6}", point.cpu_percent),
                ])
                .map_err(io::Error::other)?;
                records += 1;
            }
        }
        csv.flush()?;
        Ok(records)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_carry_date_and_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_051_078);
        assert_eq!(default_file_name(t), "bpfscope-20251125-061118.csv");
    }
}
