//! File → Open recording… (a path, the system's file dialog, Open) and
//! File → Connect to host….

use std::path::PathBuf;

use eframe::egui;

use crate::view::{Command, HostDialog, OpenDialog};

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

/// Connect to host…: `[user@]host` (with the hosts connected to before),
/// the command that starts the sampler there, here or in a new window.
pub fn host_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut HostDialog,
    history: &[String],
    commands: &mut Vec<Command>,
) {
    let mut open = true;
    egui::Window::new("Connect to host")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.label(
                "bpfscope runs its sampler on the host over ssh (ssh -T, no password \
                 prompt: a key ssh can use on its own), and shows what it samples.",
            );
            let mut enter = false;
            egui::Grid::new("host_fields")
                .num_columns(2)
                .show(ui, |ui| {
                    let label = ui.label("Host");
                    ui.horizontal(|ui| {
                        let edit = ui
                            .add(
                                egui::TextEdit::singleline(&mut dialog.host)
                                    .hint_text("user@host, or a host from ~/.ssh/config")
                                    .desired_width(300.0),
                            )
                            .labelled_by(label.id);
                        enter |= edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                        if !history.is_empty() {
                            ui.menu_button("Recent", |ui| {
                                for host in history {
                                    if ui.button(host).clicked() {
                                        host.clone_into(&mut dialog.host);
                                        ui.close();
                                    }
                                }
                            });
                        }
                    });
                    ui.end_row();
                    let label = ui.label("Command there");
                    let edit = ui
                        .add(
                            egui::TextEdit::singleline(&mut dialog.command)
                                .hint_text(crate::model::DEFAULT_REMOTE_COMMAND)
                                .desired_width(360.0),
                        )
                        .labelled_by(label.id);
                    enter |= edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    ui.end_row();
                });
            if let Some(note) = &dialog.note {
                ui.colored_label(ui.visuals().warn_fg_color, note);
            }
            ui.horizontal(|ui| {
                let ready = !dialog.host.trim().is_empty();
                let connect = |new_window| Command::ConnectHost {
                    host: dialog.host.trim().to_owned(),
                    command: dialog.command.trim().to_owned(),
                    new_window,
                };
                if (ui
                    .add_enabled(ready, egui::Button::new("Connect"))
                    .clicked()
                    || enter)
                    && ready
                {
                    commands.push(connect(false));
                }
                if ui
                    .add_enabled(ready, egui::Button::new("Open in a new window"))
                    .on_hover_text("Keep this window, and watch the host beside it")
                    .clicked()
                {
                    commands.push(connect(true));
                }
                if ui.button("Cancel").clicked() {
                    commands.push(Command::CloseHostDialog);
                }
            });
        });
    if !open {
        commands.push(Command::CloseHostDialog);
    }
}
