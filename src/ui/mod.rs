//! Drawing. Every function here reads data and records [`Command`]s; none
//! changes the store.

mod breakdown;
mod details;
mod export;
pub mod format;
mod keys;
mod plots;
mod table;

use std::time::{Duration, SystemTime};

use eframe::egui::{self, RichText};

pub use breakdown::breakdown_ui;
pub use details::{DetailsInput, details_ui};
pub use export::export_dialog_ui;
pub use keys::keyboard_commands;
pub use plots::{PlotsInput, plots_ui};
pub use table::{TableInput, program_table_ui};

use crate::model::{Action, Interval, SourceInfo, Status, Via};
use crate::store::{Message, Severity};
use crate::view::{Command, CpuMode, Grouping, MainView, Notice, PlotWindow, Settings, Thresholds};

/// Sampling intervals offered in the top bar.
const INTERVALS_MS: [u64; 7] = [100, 250, 500, 1_000, 2_000, 5_000, 10_000];

/// Filter, pause, interval, plot window, CPU mode, export.
pub fn top_bar_ui(
    ui: &mut egui::Ui,
    filter: &mut String,
    focus_filter: &mut bool,
    settings: &Settings,
    paused: bool,
    commands: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        let label = ui.label("Filter");
        let edit = ui
            .add(
                egui::TextEdit::singleline(filter)
                    .id(egui::Id::unique("filter"))
                    .hint_text("name, type, id, owner  ( / )")
                    .desired_width(240.0),
            )
            .labelled_by(label.id);
        if std::mem::take(focus_filter) {
            edit.request_focus();
        }
        if edit.has_focus() && ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            edit.surrender_focus();
        }
        if !filter.is_empty()
            && ui
                .small_button("✖")
                .on_hover_text("Clear the filter")
                .clicked()
        {
            filter.clear();
        }
        ui.separator();

        let pause = if paused { "▶ Resume" } else { "⏸ Pause" };
        if ui
            .button(pause)
            .on_hover_text("Freeze the display; sampling and history go on (Space)")
            .clicked()
        {
            commands.push(Command::TogglePause);
        }

        let interval = settings.interval();
        let label = ui.label("Interval");
        egui::ComboBox::from_id_salt("interval")
            .selected_text(interval_label(interval))
            .width(70.0)
            .show_ui(ui, |ui| {
                for ms in INTERVALS_MS {
                    if let Ok(choice) = Interval::new(Duration::from_millis(ms)) {
                        if ui
                            .selectable_label(choice == interval, interval_label(choice))
                            .clicked()
                        {
                            commands.push(Command::SetInterval(choice));
                        }
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Time between samples");

        let label = ui.label("Plot");
        egui::ComboBox::from_id_salt("plot_window")
            .selected_text(settings.plot_window.label())
            .width(70.0)
            .show_ui(ui, |ui| {
                for window in PlotWindow::ALL {
                    if ui
                        .selectable_label(window == settings.plot_window, window.label())
                        .clicked()
                    {
                        commands.push(Command::SetPlotWindow(window));
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("How far back the plots reach");

        for mode in [CpuMode::OneCpu, CpuMode::AllCpus] {
            let text = match mode {
                CpuMode::OneCpu => "% of one CPU",
                CpuMode::AllCpus => "% of all CPUs",
            };
            if ui
                .selectable_label(settings.cpu_mode == mode, text)
                .on_hover_text(mode.explanation())
                .clicked()
            {
                commands.push(Command::SetCpuMode(mode));
            }
        }
        ui.separator();
        if ui
            .button("Clear gone")
            .on_hover_text("Forget programs that are no longer loaded")
            .clicked()
        {
            commands.push(Command::ClearGone);
        }
        if ui
            .button("Export…")
            .on_hover_text("Save a CSV (Ctrl+E)")
            .clicked()
        {
            commands.push(Command::OpenExport);
        }
    });
}

/// What the second bar needs.
#[derive(Debug)]
pub struct ViewBar<'a> {
    pub settings: &'a Settings,
    /// When the baseline was captured, and over which window.
    pub baseline: Option<(SystemTime, PlotWindow)>,
    pub diff: bool,
    pub over_threshold: Option<usize>,
}

/// View switch, grouping, baseline and diff, thresholds.
pub fn view_bar_ui(ui: &mut egui::Ui, bar: &ViewBar<'_>, commands: &mut Vec<Command>) {
    let settings = bar.settings;
    ui.horizontal(|ui| {
        for (view, text, tip) in [
            (
                MainView::Programs,
                "Programs",
                "The program table and plots",
            ),
            (
                MainView::Breakdown,
                "Where BPF time goes",
                "Total BPF CPU over the plot window, split by program and by type",
            ),
        ] {
            if ui
                .selectable_label(settings.view == view, text)
                .on_hover_text(tip)
                .clicked()
            {
                commands.push(Command::SetView(view));
            }
        }
        ui.separator();
        let label = ui.label("Group");
        egui::ComboBox::from_id_salt("grouping")
            .selected_text(settings.grouping.label())
            .width(110.0)
            .show_ui(ui, |ui| {
                for grouping in Grouping::ALL {
                    if ui
                        .selectable_label(settings.grouping == grouping, grouping.label())
                        .clicked()
                    {
                        commands.push(Command::SetGrouping(grouping));
                    }
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Group programs by owning process or by its cgroup, with subtotals");
        ui.separator();
        if ui
            .button("Capture baseline")
            .on_hover_text(
                "Freeze every program's averages over the plot window; diff mode then shows \
                 the change of each against it",
            )
            .clicked()
        {
            commands.push(Command::CaptureBaseline);
        }
        if let Some((at, window)) = bar.baseline {
            if ui
                .selectable_label(bar.diff, "Diff")
                .on_hover_text("Show the change against the baseline (Δ columns)")
                .clicked()
            {
                commands.push(Command::ToggleDiff);
            }
            ui.label(
                RichText::new(format!(
                    "baseline {} ({} avg)",
                    format::local_time(at),
                    window.label()
                ))
                .weak(),
            );
            if ui
                .small_button("✖")
                .on_hover_text("Drop the baseline")
                .clicked()
            {
                commands.push(Command::ClearBaseline);
            }
        }
        ui.separator();
        let title = match bar.over_threshold {
            Some(n) if n > 0 => format!("Thresholds ({n} over)"),
            _ => "Thresholds".to_owned(),
        };
        ui.menu_button(title, |ui| {
            thresholds_menu(ui, settings.thresholds, commands);
        });
    });
}

/// Threshold editors; each change is one [`Command::SetThresholds`].
fn thresholds_menu(ui: &mut egui::Ui, current: Thresholds, commands: &mut Vec<Command>) {
    let mut t = current;
    ui.label("Highlight programs above:");
    let mut runtime_on = t.avg_runtime_ns.is_some();
    let mut runtime_us = t.avg_runtime_ns.unwrap_or(1_000.0) / 1_000.0;
    ui.horizontal(|ui| {
        ui.checkbox(&mut runtime_on, "Avg runtime");
        ui.add_enabled(
            runtime_on,
            egui::DragValue::new(&mut runtime_us)
                .range(0.001..=1_000_000.0)
                .speed(0.1)
                .suffix(" µs"),
        );
    });
    let mut cpu_on = t.cpu_percent.is_some();
    let mut cpu = t.cpu_percent.unwrap_or(5.0);
    ui.horizontal(|ui| {
        ui.checkbox(&mut cpu_on, "CPU % (of one CPU)");
        ui.add_enabled(
            cpu_on,
            egui::DragValue::new(&mut cpu)
                .range(0.001..=10_000.0)
                .speed(0.1)
                .suffix(" %"),
        );
    });
    ui.checkbox(
        &mut t.notify,
        "Desktop notification when a program crosses one",
    )
    .on_hover_text("At most one notification every 30 s");
    t.avg_runtime_ns = runtime_on.then_some(runtime_us * 1_000.0);
    t.cpu_percent = cpu_on.then_some(cpu);
    if t != current {
        commands.push(Command::SetThresholds(t));
    }
}

fn interval_label(interval: Interval) -> String {
    let secs = interval.duration().as_secs_f64();
    if secs < 1.0 {
        format!("{} ms", interval.duration().as_millis())
    } else {
        format!("{secs} s")
    }
}

/// What the status bar shows.
#[derive(Debug)]
pub struct StatusBar<'a> {
    pub shown: usize,
    pub total: usize,
    pub total_cpu_percent: f64,
    pub cpu_mode: CpuMode,
    pub info: Option<&'a SourceInfo>,
    pub latest: Option<SystemTime>,
    pub paused: bool,
    /// The source's newest message, and all of them for the tooltip.
    pub last_message: Option<&'a Message>,
    pub messages: Vec<&'a str>,
    pub notice: Option<&'a Notice>,
    pub problem: Option<&'a str>,
    /// Where samples come from while they flow.
    pub via: Option<Via>,
    /// Programs over a threshold; `None` when no threshold is set.
    pub over_threshold: Option<usize>,
}

/// Programs shown/total, total BPF CPU, stats mode, sample age, last error.
pub fn status_bar_ui(ui: &mut egui::Ui, status: &StatusBar<'_>) {
    ui.horizontal(|ui| {
        ui.label(format!(
            "{} of {} programs",
            format::thousands(status.shown as u64),
            format::thousands(status.total as u64)
        ));
        ui.separator();
        let scope = status.cpu_mode.scope();
        if let Some(over) = status.over_threshold {
            let text = format!("{over} over threshold");
            if over > 0 {
                ui.label(
                    RichText::new(text)
                        .color(ui.visuals().warn_fg_color)
                        .strong(),
                );
            } else {
                ui.label(text);
            }
            ui.separator();
        }
        ui.label(format!(
            "All BPF programs: {} {scope}",
            format::percent(status.total_cpu_percent)
        ))
        .on_hover_text("What every loaded BPF program together cost over the last period");
        ui.separator();
        source_info_ui(ui, status);
        ui.separator();
        match status.latest {
            Some(at) => {
                let age = SystemTime::now().duration_since(at).unwrap_or_default();
                ui.label(format!("sample {:.0} s ago", age.as_secs_f64().floor()));
                if let Some(problem) = status.problem {
                    ui.separator();
                    ui.colored_label(ui.visuals().error_fg_color, "sampler stopped")
                        .on_hover_text(problem);
                }
            }
            None if status.problem.is_some() => {
                ui.label("no samples");
            }
            None => {
                ui.label("waiting for the first sample…");
            }
        }
        if status.paused {
            ui.separator();
            ui.strong("PAUSED")
                .on_hover_text("The display is frozen; sampling and history go on");
        }
        let error = ui.visuals().error_fg_color;
        match status.notice {
            Some(Notice::Error(message)) => {
                ui.separator();
                ui.colored_label(error, message);
            }
            Some(Notice::Info(message)) => {
                ui.separator();
                ui.label(message);
            }
            None => {
                if let Some(last) = status.last_message {
                    ui.separator();
                    let color = match last.severity {
                        Severity::Warning => ui.visuals().warn_fg_color,
                        Severity::Error => ui.visuals().error_fg_color,
                    };
                    ui.colored_label(color, &last.text)
                        .on_hover_text(status.messages.join("\n"));
                }
            }
        }
    });
}

/// The stats mode and enumeration, with the source's facts in the tooltip.
fn source_info_ui(ui: &mut egui::Ui, status: &StatusBar<'_>) {
    match status.info {
        Some(info) => {
            let via = match status.via {
                Some(Via::Helper) => " · helper",
                Some(Via::InProcess | Via::Injected) | None => "",
            };
            ui.label(format!(
                "stats: {} · {}{via}",
                info.stats_mode, info.enumeration
            ))
            .on_hover_text(format!(
                "Kernel {} · {} CPUs online · owners {}{}\n{}",
                info.kernel_release,
                info.online_cpus,
                if info.owners_available {
                    "shown"
                } else {
                    "unavailable"
                },
                match status.via {
                    Some(Via::Helper) => {
                        "\nSampled by bpfscope-sampler, started through polkit"
                    }
                    Some(Via::InProcess) => "\nSampled by this process",
                    Some(Via::Injected) | None => "",
                },
                info.notices.join("\n")
            ));
        }
        None => {
            ui.label("stats: –");
        }
    }
}

/// What the source is doing when it is not simply sampling: a spinner while
/// polkit or the user is asked, or why there are no samples with the one
/// button that can help (Authenticate, Retry, Reconnect).
pub fn source_status_ui(
    ui: &mut egui::Ui,
    status: &Status,
    has_data: bool,
    commands: &mut Vec<Command>,
) {
    match status {
        Status::Sampling(_) => return,
        Status::Waiting(message) => {
            egui::Frame::group(ui.style())
                .fill(ui.visuals().extreme_bg_color)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(message);
                    });
                });
        }
        Status::Stopped { message, action } => {
            egui::Frame::group(ui.style())
                .fill(ui.visuals().extreme_bg_color)
                .show(ui, |ui| {
                    let title = match action {
                        Some(Action::Authenticate) => "⚠ Authentication required",
                        _ if has_data => "⚠ Sampling stopped",
                        _ => "⚠ No statistics",
                    };
                    ui.colored_label(ui.visuals().warn_fg_color, title);
                    ui.label(message);
                    if let Some(action) = action {
                        if ui.button(action.label()).clicked() {
                            commands.push(Command::Source(*action));
                        }
                    }
                });
        }
    }
    ui.add_space(6.0);
}
