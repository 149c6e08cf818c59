//! The fleet view: every host Prometheus knows from `bpfscope serve`, its
//! total BPF CPU and top program, sortable and filterable; the selected
//! hosts' BPF CPU over the plot window; the top programs of the host last
//! clicked. CPU here is in % of one CPU: Prometheus does not say how many
//! CPUs each host has.

use std::fmt::Write as _;
use std::time::SystemTime;

use eframe::egui::{self, Align, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::axis::{self, Unit};
use super::format;
use crate::model::{FleetHost, FleetProgram};
use crate::view::{Command, FleetCommand, FleetState, HostColumn, SelectMode};

/// Hosts plotted when none is selected: the busiest.
const PLOTTED_BY_DEFAULT: usize = 5;

/// What the fleet view needs.
#[derive(Debug)]
pub struct FleetInput<'a> {
    pub state: &'a FleetState,
    pub window_secs: f64,
    pub now: SystemTime,
}

fn send(commands: &mut Vec<Command>, command: FleetCommand) {
    commands.push(Command::Fleet(command));
}

/// Draws the fleet view; `filter` is its filter text, edited in place.
pub fn fleet_ui(
    ui: &mut egui::Ui,
    input: &FleetInput<'_>,
    filter: &mut String,
    commands: &mut Vec<Command>,
) {
    let state = input.state;
    let Some(url) = &state.url else {
        ui.add_space(24.0);
        ui.vertical_centered(|ui| {
            ui.label("Not connected to Prometheus.");
            ui.label("The fleet view shows every host that runs `bpfscope serve`, from the Prometheus that scrapes them.");
            if ui.button("Connect to Prometheus…").clicked() {
                send(commands, FleetCommand::OpenConnect);
            }
        });
        return;
    };
    header_ui(ui, input, url, filter, commands);
    if let Some(problem) = &state.problem {
        ui.colored_label(ui.visuals().error_fg_color, format!("⚠ {problem}"));
    }
    let Some(data) = &state.data else {
        if state.problem.is_none() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Asking Prometheus at {url}…"));
            });
        }
        return;
    };
    if data.hosts.is_empty() {
        ui.label(format!(
            "Prometheus at {url} has no bpfscope metrics: no host runs `bpfscope serve`, \
             or Prometheus does not scrape one (see docs/exporter.md)."
        ));
        return;
    }
    let hosts = state.order(filter);
    if hosts.is_empty() {
        ui.label(format!("No host matches the filter \"{filter}\"."));
        return;
    }
    let area = ui.available_height();
    hosts_table_ui(ui, state, &hosts, area * 0.4, commands);
    ui.separator();
    plot_ui(ui, state, &hosts, input.window_secs, area * 0.3);
    ui.separator();
    match state.cursor_host() {
        Some(host) => programs_ui(ui, host),
        None => {
            ui.label("Click a host to list its top programs; Ctrl-click to plot several.");
        }
    }
}

fn header_ui(
    ui: &mut egui::Ui,
    input: &FleetInput<'_>,
    url: &str,
    filter: &mut String,
    commands: &mut Vec<Command>,
) {
    let state = input.state;
    ui.horizontal_wrapped(|ui| {
        let mut said = format!("Prometheus {url}");
        if let Some(data) = &state.data {
            let down = data.hosts.iter().filter(|h| !h.up).count();
            let _ = write!(said, " · {} hosts", data.hosts.len());
            if down > 0 {
                let _ = write!(said, " ({down} down)");
            }
            if data.cut {
                said.push_str(" (more not shown)");
            }
            if let Some(age) = data.fetched.and_then(|f| input.now.duration_since(f).ok()) {
                let _ = write!(said, " · asked {} s ago", age.as_secs());
            }
        }
        ui.label(RichText::new(said).strong());
        ui.separator();
        let label = ui.label("Filter hosts");
        ui.add(
            egui::TextEdit::singleline(filter)
                .id(egui::Id::unique("fleet_filter"))
                .hint_text("host, program, owner, type")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        if ui
            .button("⟳ Refresh")
            .on_hover_text("Ask Prometheus now")
            .clicked()
        {
            send(commands, FleetCommand::Refresh);
        }
        if ui.button("Disconnect").clicked() {
            send(commands, FleetCommand::Disconnect);
        }
    });
}

fn cpu_text(cpu: Option<f64>) -> String {
    cpu.map_or_else(|| "–".to_owned(), |c| format::percent(c * 100.0))
}

/// The host table, in a box as tall as its rows (at most `height`), so
/// that its column lines end with it.
fn hosts_table_ui(
    ui: &mut egui::Ui,
    state: &FleetState,
    hosts: &[&FleetHost],
    height: f32,
    commands: &mut Vec<Command>,
) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let rows = row_height * (hosts.len() as f32 + 1.0) + 8.0;
    let size = egui::vec2(ui.available_width(), rows.min(height.max(row_height * 4.0)));
    ui.allocate_ui_with_layout(size, Layout::top_down(Align::Min), |ui| {
        host_rows_ui(ui, state, hosts, row_height, height, commands);
    });
}

fn host_rows_ui(
    ui: &mut egui::Ui,
    state: &FleetState,
    hosts: &[&FleetHost],
    row_height: f32,
    height: f32,
    commands: &mut Vec<Command>,
) {
    let table = TableBuilder::new(ui)
        .id_salt("fleet_hosts")
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::initial(220.0).at_least(80.0))
        .column(Column::initial(110.0).at_least(60.0))
        .column(Column::initial(80.0).at_least(50.0))
        .column(Column::remainder().at_least(120.0))
        .min_scrolled_height(0.0)
        .max_scroll_height(height.max(row_height * 3.0))
        .auto_shrink([false, true]);
    table
        .header(row_height, |mut header| {
            for column in HostColumn::ALL {
                header.col(|ui| {
                    let arrow = match (state.sort == column, state.descending) {
                        (true, true) => " ⏷",
                        (true, false) => " ⏶",
                        (false, _) => "",
                    };
                    let title = format!("{}{arrow}", column.title());
                    if ui.button(RichText::new(title).strong()).clicked() {
                        send(commands, FleetCommand::Sort(column));
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_height, hosts.len(), |mut row| {
                let host = hosts[row.index()];
                row.set_selected(state.selected.contains(&host.instance));
                row.col(|ui| {
                    let text = if host.up {
                        RichText::new(&host.instance)
                    } else {
                        RichText::new(format!("{} (down)", host.instance))
                            .color(ui.visuals().error_fg_color)
                    };
                    ui.add(egui::Label::new(text).truncate().selectable(false));
                });
                row.col(|ui| {
                    ui.label(cpu_text(host.cpu));
                });
                row.col(|ui| {
                    ui.label(host.programs.map_or_else(|| "–".into(), format::thousands));
                });
                row.col(|ui| {
                    let top = host.top.first().map_or_else(String::new, |p| {
                        format!("{} ({})", p.name, format::percent(p.cpu * 100.0))
                    });
                    ui.add(egui::Label::new(top).truncate().selectable(false));
                });
                let response = row.response();
                if response.clicked() {
                    let mode = if ui_modifiers(&response).command {
                        SelectMode::Toggle
                    } else {
                        SelectMode::Only
                    };
                    send(commands, FleetCommand::Select(host.instance.clone(), mode));
                }
            });
        });
}

fn ui_modifiers(response: &egui::Response) -> egui::Modifiers {
    response.ctx.input(|i| i.modifiers)
}

/// The selected hosts' BPF CPU over the window (the busiest if none is).
fn plot_ui(ui: &mut egui::Ui, state: &FleetState, hosts: &[&FleetHost], window: f64, height: f32) {
    let plotted: Vec<&FleetHost> = if state.selected.is_empty() {
        hosts.iter().copied().take(PLOTTED_BY_DEFAULT).collect()
    } else {
        hosts
            .iter()
            .copied()
            .filter(|h| state.selected.contains(&h.instance))
            .collect()
    };
    ui.label(
        RichText::new(if state.selected.is_empty() {
            "BPF CPU (% of one CPU) of the busiest hosts"
        } else {
            "BPF CPU (% of one CPU) of the selected hosts"
        })
        .strong(),
    );
    let max = plotted
        .iter()
        .flat_map(|h| h.series.iter().map(|p| p[1] * 100.0))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let scale = axis::Scale::for_max(max, Unit::Percent);
    let plot = Plot::new("fleet_plot")
        .height(height.max(120.0))
        .legend(Legend::default().position(egui_plot::Corner::LeftTop));
    axis::fixed(plot, window, scale, Unit::Percent).show(ui, |plot_ui| {
        for host in plotted {
            let points: PlotPoints<'_> = host.series.iter().map(|p| [p[0], p[1] * 100.0]).collect();
            plot_ui.line(Line::new(host.instance.clone(), points));
        }
    });
}

/// The top programs of one host.
fn programs_ui(ui: &mut egui::Ui, host: &FleetHost) {
    ui.label(RichText::new(format!("Top programs of {}", host.instance)).strong());
    if host.top.is_empty() {
        ui.label("No program ran there in the last minute.");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("fleet_programs")
        .show(ui, |ui| {
            egui::Grid::new("fleet_programs_grid")
                .num_columns(8)
                .striped(true)
                .show(ui, |ui| {
                    for title in [
                        "ID",
                        "Program",
                        "Type",
                        "Owner",
                        "Attach",
                        "CPU %",
                        "Events/s",
                        "Avg runtime",
                    ] {
                        ui.label(RichText::new(title).strong());
                    }
                    ui.end_row();
                    for p in &host.top {
                        program_row_ui(ui, p);
                    }
                });
        });
}

fn program_row_ui(ui: &mut egui::Ui, p: &FleetProgram) {
    ui.label(&p.id);
    ui.label(&p.name);
    ui.label(&p.kind);
    ui.label(&p.owner);
    ui.label(&p.attach);
    ui.label(format::percent(p.cpu * 100.0));
    ui.label(p.events_per_sec.map_or_else(|| "–".into(), format::rate));
    ui.label(
        p.avg_runtime_ns()
            .map_or_else(|| "–".into(), format::duration_ns),
    );
    ui.end_row();
}
