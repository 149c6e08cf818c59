//! The export window: a path (typed, or chosen in the system's file
//! dialog), snapshot or history.

use std::path::PathBuf;

use eframe::egui;

use crate::view::{Command, ExportDialog, ExportKind};

/// Draws the export window.
pub fn export_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut ExportDialog,
    commands: &mut Vec<Command>,
) {
    let mut open = true;
    egui::Window::new("Export CSV")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.radio_value(&mut dialog.kind, ExportKind::Snapshot, "Snapshot")
                    .on_hover_text("Every program at the latest sample");
                ui.radio_value(&mut dialog.kind, ExportKind::History, "History")
                    .on_hover_text(
                        "One row per program per sample over the plot window: the \
                         plotted programs, or all when none is plotted",
                    );
            });
            ui.horizontal(|ui| {
                let label = ui.label("Path");
                ui.add(
                    egui::TextEdit::singleline(&mut dialog.path)
                        .desired_width(420.0)
                        .id(egui::Id::unique("export_path")),
                )
                .labelled_by(label.id);
                let browsing = dialog.browsing;
                if ui
                    .add_enabled(!browsing, egui::Button::new("Browse…"))
                    .clicked()
                {
                    commands.push(Command::Browse);
                }
            });
            if let Some(note) = &dialog.note {
                ui.label(note);
            }
            if let Some(error) = &dialog.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    commands.push(Command::Export(
                        PathBuf::from(dialog.path.trim()),
                        dialog.kind,
                    ));
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
