//! The Connect to Prometheus window: URL, optional basic authentication
//! and CA file. The password is kept only while connected, never saved.

use eframe::egui;

use crate::view::{Command, ConnectDialog, FleetCommand};

/// Draws the connect window.
pub fn connect_dialog_ui(
    ctx: &egui::Context,
    dialog: &mut ConnectDialog,
    commands: &mut Vec<Command>,
) {
    let mut open = true;
    egui::Window::new("Connect to Prometheus")
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            ui.label("The fleet view asks Prometheus for every host that runs `bpfscope serve`.");
            // Enter in one of the fields connects, not Enter anywhere.
            let entered = egui::Grid::new("connect_fields")
                .num_columns(2)
                .show(ui, |ui| {
                    let target = &mut dialog.target;
                    let fields = [
                        field(ui, "URL", &mut target.url, "http://prometheus:9090", false),
                        field(ui, "User", &mut target.user, "optional", false),
                        field(ui, "Password", &mut target.password, "", true),
                        field(
                            ui,
                            "CA file",
                            &mut target.ca_file,
                            "optional PEM, besides the system's",
                            false,
                        ),
                    ];
                    fields.iter().any(egui::Response::lost_focus)
                        && ui.input(|i| i.key_pressed(egui::Key::Enter))
                })
                .inner;
            if let Some(error) = &dialog.error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            ui.horizontal(|ui| {
                if ui.button("Connect").clicked() || entered {
                    commands.push(Command::Fleet(FleetCommand::Connect(dialog.target.clone())));
                }
                if ui.button("Cancel").clicked() {
                    commands.push(Command::Fleet(FleetCommand::CloseConnect));
                }
            });
        });
    if !open {
        commands.push(Command::Fleet(FleetCommand::CloseConnect));
    }
}

fn field(
    ui: &mut egui::Ui,
    name: &str,
    text: &mut String,
    hint: &str,
    password: bool,
) -> egui::Response {
    let label = ui.label(name);
    let response = ui
        .add(
            egui::TextEdit::singleline(text)
                .id(egui::Id::unique(("connect", name)))
                .hint_text(hint)
                .password(password)
                .desired_width(340.0),
        )
        .labelled_by(label.id);
    ui.end_row();
    response
}
