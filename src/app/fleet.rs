//! The fleet view's glue: the connection to Prometheus, its answers, the
//! connect window and the commands of the view.

use std::sync::Arc;
use std::time::Duration;

use eframe::egui;

use super::BpfScopeApp;
use crate::fleet::Fleet;
use crate::model::{FleetEvent, FleetTarget};
use crate::view::{ConnectDialog, FleetCommand, FleetState, MainView};

/// What the window keeps of the fleet.
#[derive(Debug, Default)]
pub(super) struct FleetPart {
    connection: Option<Fleet>,
    pub(super) state: FleetState,
    pub(super) filter: String,
    pub(super) dialog: Option<ConnectDialog>,
}

impl BpfScopeApp {
    /// Takes Prometheus' answers that arrived.
    pub(super) fn fleet_intake(&mut self) {
        let Some(connection) = &self.fleet.connection else {
            return;
        };
        while let Some(event) = connection.try_recv() {
            match event {
                FleetEvent::Data(data) => self.fleet.state.absorb(data),
                FleetEvent::Problem(problem) => self.fleet.state.problem = Some(problem),
            }
        }
    }

    /// The plot window changed: the fleet is asked about the new one.
    pub(super) fn fleet_window_changed(&self) {
        if let Some(connection) = &self.fleet.connection {
            connection.set_window(self.settings.plot_window.duration().as_secs());
        }
    }

    pub(super) fn run_fleet(&mut self, ctx: &egui::Context, command: FleetCommand) {
        let part = &mut self.fleet;
        match command {
            FleetCommand::OpenConnect => {
                let settings = &self.settings;
                part.dialog.get_or_insert_with(|| ConnectDialog {
                    target: FleetTarget {
                        url: if settings.fleet_url.is_empty() {
                            "http://localhost:9090".to_owned()
                        } else {
                            settings.fleet_url.clone()
                        },
                        user: settings.fleet_user.clone(),
                        password: String::new(),
                        ca_file: settings.fleet_ca.clone(),
                    },
                    error: None,
                });
            }
            FleetCommand::CloseConnect => part.dialog = None,
            FleetCommand::Connect(target) => {
                let ctx = ctx.clone();
                let wake: crate::model::Waker =
                    Arc::new(move || ctx.request_repaint_after(Duration::from_millis(1)));
                let window = self.settings.plot_window.duration().as_secs();
                match Fleet::connect(&target, window, wake) {
                    Ok(connection) => {
                        self.settings.fleet_url.clone_from(&connection.url);
                        self.settings.fleet_user.clone_from(&target.user);
                        self.settings.fleet_ca.clone_from(&target.ca_file);
                        self.settings.view = MainView::Fleet;
                        part.state = FleetState {
                            url: Some(connection.url.clone()),
                            ..FleetState::default()
                        };
                        part.connection = Some(connection);
                        part.dialog = None;
                    }
                    Err(error) => {
                        let dialog = part.dialog.get_or_insert(ConnectDialog {
                            target,
                            error: None,
                        });
                        dialog.error = Some(error.to_string());
                    }
                }
            }
            FleetCommand::Disconnect => {
                // Dropped without waiting: a request in flight ends alone.
                part.connection = None;
                part.state = FleetState::default();
            }
            FleetCommand::Refresh => {
                if let Some(connection) = &part.connection {
                    connection.refresh();
                }
            }
            FleetCommand::Sort(column) => part.state.sort_by(column),
            FleetCommand::Select(instance, mode) => part.state.select(instance, mode),
        }
    }

    /// The fleet view, in the central area.
    pub(super) fn fleet_ui(&mut self, ui: &mut egui::Ui) {
        let input = crate::ui::FleetInput {
            state: &self.fleet.state,
            window_secs: self.settings.plot_window.duration().as_secs_f64(),
            now: std::time::SystemTime::now(),
        };
        let central = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            crate::ui::fleet_ui(ui, &input, &mut self.fleet.filter, &mut self.commands);
        });
    }

    /// The fleet view's state (tests read it).
    #[must_use]
    pub fn fleet(&self) -> &FleetState {
        &self.fleet.state
    }
}
