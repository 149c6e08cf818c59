//! The top bar (filter, pause, interval, plot window, CPU mode, export) and
//! the view bar (view, grouping, baseline, thresholds).

use std::time::{Duration, SystemTime};

use eframe::egui::{self, RichText};

use super::format;
use crate::model::Interval;
use crate::view::{Command, CpuMode, Grouping, MainView, PlotWindow, Settings, Thresholds};

/// How many unloaded programs the user can choose to keep.
const GONE_CHOICES: [usize; 4] = [0, 100, 1_000, 10_000];

/// "Clear gone", with how many unloaded programs are kept in its context
/// menu.
fn clear_gone_ui(ui: &mut egui::Ui, gone_kept: usize, commands: &mut Vec<Command>) {
    let clear = ui.button("Clear gone").on_hover_text(
        "Forget programs that are no longer loaded (right-click: how many are kept)",
    );
    if clear.clicked() {
        commands.push(Command::ClearGone);
    }
    clear.context_menu(|ui| {
        ui.label("Keep unloaded programs, at most:");
        for limit in GONE_CHOICES {
            if ui
                .radio(gone_kept == limit, format::thousands(limit as u64))
                .clicked()
            {
                commands.push(Command::SetGoneKept(limit));
                ui.close();
            }
        }
    });
}

/// ⏸ Pause or ▶ Resume; ⏺ Record, or ⏹ Stop with what is being written.
fn pause_and_record_ui(
    ui: &mut egui::Ui,
    paused: bool,
    recording: Option<String>,
    commands: &mut Vec<Command>,
) {
    let pause = if paused { "▶ Resume" } else { "⏸ Pause" };
    if ui
        .button(pause)
        .on_hover_text("Freeze the display; sampling and history go on (Space)")
        .clicked()
    {
        commands.push(Command::TogglePause);
    }
    let clicked = match recording {
        None => ui
            .button("⏺ Record")
            .on_hover_text(
                "Write what arrives from now on to a recording in your home folder \
                 (bpfscope sample --from FILE prints it)",
            )
            .clicked(),
        Some(progress) => ui
            .button(RichText::new("⏹ Stop recording").color(ui.visuals().error_fg_color))
            .on_hover_text(progress)
            .clicked(),
    };
    if clicked {
        commands.push(Command::ToggleRecording);
    }
}

/// File: open a recording (or leave one), connect to Prometheus, export.
fn file_menu_ui(ui: &mut egui::Ui, shows_other_host: bool, commands: &mut Vec<Command>) {
    ui.menu_button("File", |ui| {
        if ui
            .button("Open recording…")
            .on_hover_text("Replay a file written by Record or bpfscope record (Ctrl+O)")
            .clicked()
        {
            commands.push(Command::OpenRecordingDialog);
        }
        if ui
            .button("Connect to host…")
            .on_hover_text("Watch another host's BPF programs over ssh")
            .clicked()
        {
            commands.push(Command::OpenHostDialog);
        }
        if shows_other_host
            && ui
                .button("Watch this machine")
                .on_hover_text("Stop watching the recording or host, and sample this machine")
                .clicked()
        {
            commands.push(Command::WatchThisMachine);
        }
        ui.separator();
        if ui.button("Connect to Prometheus…").clicked() {
            commands.push(Command::Fleet(crate::view::FleetCommand::OpenConnect));
        }
        if ui
            .button("Export CSV…")
            .on_hover_text("Save a snapshot or the plotted history (Ctrl+E)")
            .clicked()
        {
            commands.push(Command::OpenExport);
        }
    });
}

/// Sampling intervals offered in the top bar.
const INTERVALS_MS: [u64; 7] = [100, 250, 500, 1_000, 2_000, 5_000, 10_000];

/// Filter, pause, interval, plot window, CPU mode, export.
pub fn top_bar_ui(
    ui: &mut egui::Ui,
    filter: &mut String,
    focus_filter: &mut bool,
    settings: &Settings,
    (paused, recording, replay, shows_other_host): (bool, Option<String>, bool, bool),
    commands: &mut Vec<Command>,
) {
    ui.horizontal_wrapped(|ui| {
        file_menu_ui(ui, shows_other_host, commands);
        ui.separator();
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

        // A replay plays and pauses on its timeline, at its recorded
        // interval.
        if !replay {
            pause_and_record_ui(ui, paused, recording, commands);
            interval_ui(ui, settings, commands);
        }
        plot_window_ui(ui, settings, commands);
        cpu_and_own_ui(ui, settings, commands);
    });
}

fn interval_ui(ui: &mut egui::Ui, settings: &Settings, commands: &mut Vec<Command>) {
    let interval = settings.interval();
    let label = ui.label("Interval");
    egui::ComboBox::from_id_salt("interval")
        .selected_text(interval_label(interval))
        .width(70.0)
        .show_ui(ui, |ui| {
            for ms in INTERVALS_MS {
                if let Ok(choice) = Interval::new(Duration::from_millis(ms))
                    && ui
                        .selectable_label(choice == interval, interval_label(choice))
                        .clicked()
                {
                    commands.push(Command::SetInterval(choice));
                }
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text("Time between samples");
}

fn plot_window_ui(ui: &mut egui::Ui, settings: &Settings, commands: &mut Vec<Command>) {
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
}

fn cpu_and_own_ui(ui: &mut egui::Ui, settings: &Settings, commands: &mut Vec<Command>) {
    for mode in CpuMode::ALL {
        if ui
            .selectable_label(settings.cpu_mode == mode, mode.label())
            .on_hover_text(mode.explanation())
            .clicked()
        {
            commands.push(Command::SetCpuMode(mode));
        }
    }
    ui.separator();
    if ui
        .selectable_label(settings.show_own, "bpfscope's own")
        .on_hover_text(
            "List bpfscope's own iterators (muted, with a bpfscope badge). Off hides them \
                 and the status bar's total leaves them out.",
        )
        .clicked()
    {
        commands.push(Command::ToggleOwn);
    }
    clear_gone_ui(ui, settings.gone_kept, commands);
}

/// What the second bar needs.
#[derive(Debug)]
pub struct ViewBar<'a> {
    pub settings: &'a Settings,
    /// When the baseline was captured, and over which window.
    pub baseline: Option<(SystemTime, PlotWindow)>,
    pub diff: bool,
    pub over_threshold: Option<usize>,
    /// A recording replays: it was sampled as it was recorded.
    pub replay: bool,
}

/// View switch, grouping, baseline and diff, thresholds.
pub fn view_bar_ui(ui: &mut egui::Ui, bar: &ViewBar<'_>, commands: &mut Vec<Command>) {
    let settings = bar.settings;
    ui.horizontal_wrapped(|ui| {
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
            (
                MainView::Fleet,
                "Fleet",
                "Every host that runs `bpfscope serve`, from Prometheus (File → Connect to Prometheus…)",
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
        if !bar.replay {
            ui.separator();
            super::stats_cost::low_overhead_ui(ui, settings, commands);
        }
    });
}

/// Threshold editors; each change is one [`Command::SetThresholds`].
fn thresholds_menu(ui: &mut egui::Ui, current: Thresholds, commands: &mut Vec<Command>) {
    let mut t = current;
    ui.label("Highlight programs above:");
    let mut runtime_on = t.avg_runtime_ns.is_some();
    let mut runtime_us = t.avg_runtime_ns.unwrap_or(1_000.0) / 1_000.0;
    ui.horizontal_wrapped(|ui| {
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
    ui.horizontal_wrapped(|ui| {
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
