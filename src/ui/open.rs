//! File → Open recording…: a path, the system's file dialog, Open.

use std::path::PathBuf;

use eframe::egui;

use crate::view::{Command, OpenDialog};

/// The dialog; its commands open, browse or close.
pub fn open_dialog_ui(ctx: &egui::Context, dialog: &mut OpenDialog, commands: &mut Vec<Command>) {
    let mut open = true;
    egui::Window::new("Open a recording")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.label("A file written by Record or bpfscope record (.bpfscope). You can also drop one on the window.");
            let mut enter = false;
            ui.horizontal(|ui| {
                let label = ui.label("Recording");
                let edit = ui
                    .add(
                        egui::TextEdit::singleline(&mut dialog.path)
                            .hint_text("~/bpfscope-host-….bpfscope")
                            .desired_width(360.0),
                    )
                    .labelled_by(label.id);
                enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                let browse = ui.add_enabled(!dialog.browsing, egui::Button::new("Browse…"));
                if browse.clicked() {
                    commands.push(Command::BrowseRecording);
                }
            });
            if let Some(note) = &dialog.note {
                ui.colored_label(ui.visuals().warn_fg_color, note);
            }
            ui.horizontal(|ui| {
                let path = dialog.path.trim();
                let ready = !path.is_empty();
                if (ui.add_enabled(ready, egui::Button::new("Open")).clicked() || enter) && ready {
                    commands.push(Command::OpenRecording(expand_home(path)));
                }
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CloseOpenDialog);
                }
            });
        });
    if !open {
        commands.push(Command::CloseOpenDialog);
    }
}

/// `~/x` as `$HOME/x`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
