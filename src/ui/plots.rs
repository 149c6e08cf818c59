//! Three plots for the selected programs: avg runtime, events/s, CPU %.

use std::collections::BTreeSet;

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoint, PlotPoints, Text, VLine};

use super::format;
use crate::model::ProgramKey;
use crate::store::{Marker, Point, Row, Store, program_label};
use crate::view::{CpuMode, PlotMetric, PlotWindow};

/// Load/unload markers drawn at most (the newest in the window).
const MARKERS_DRAWN: usize = 50;

/// A plot's id, title and value formatter.
fn describe(
    metric: PlotMetric,
    cpu_mode: CpuMode,
) -> (&'static str, &'static str, fn(f64) -> String) {
    match metric {
        PlotMetric::AvgRuntime => ("plot_avg_runtime", "Avg runtime", format::duration_ns),
        PlotMetric::EventsPerSec => ("plot_events", "Events/s", format::rate),
        PlotMetric::Cpu => (
            "plot_cpu",
            match cpu_mode {
                CpuMode::OneCpu => "CPU % (of one CPU)",
                CpuMode::AllCpus => "CPU % (of all CPUs)",
            },
            format::percent,
        ),
    }
}

/// What the plots show.
#[derive(Debug)]
pub struct PlotsInput<'a> {
    pub store: &'a Store,
    pub selected: &'a BTreeSet<ProgramKey>,
    pub window: PlotWindow,
    pub cpu_mode: CpuMode,
    pub online_cpus: usize,
}

/// Draws the plots over the plot window, x in seconds before the shown
/// sample.
pub fn plots_ui(ui: &mut egui::Ui, input: &PlotsInput<'_>) {
    let PlotsInput {
        store,
        selected,
        window,
        cpu_mode,
        online_cpus,
    } = *input;
    let Some(now) = store.latest_boottime_ns() else {
        ui.label("Waiting for samples…");
        return;
    };
    let window_secs = window.duration().as_secs_f64();

    let series = series(store, selected, now, window);
    let horizon = window.since(now);
    let markers: Vec<&Marker> = store
        .markers()
        .iter()
        .rev()
        .filter(|m| m.boottime_ns >= horizon && m.boottime_ns <= now)
        .take(MARKERS_DRAWN)
        .collect();

    let height = ((ui.available_height() - 3.0 * 24.0) / 3.0).max(60.0);
    let link = egui::Id::unique("bpfscope_plots");
    for (n, metric) in PlotMetric::ALL.into_iter().enumerate() {
        let (id, title, text) = describe(metric, cpu_mode);
        let title = ui.label(egui::RichText::new(title).strong());
        if n == 0 && !markers.is_empty() {
            title.on_hover_text("Dashed lines: programs loaded (green) and unloaded (red)");
        }
        let divisor = metric.divisor(cpu_mode, online_cpus);
        Plot::new(id)
            .height(height)
            .legend(Legend::default().position(egui_plot::Corner::LeftTop))
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_x(-window_secs)
            .include_x(0.0)
            .include_y(0.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .x_axis_formatter(|mark, _| format!("{:.0} s", mark.value))
            .y_axis_formatter(move |mark, _| text(mark.value))
            .label_formatter(move |hover| match hover {
                egui_plot::HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => Some(format!(
                    "{plot_name}\n{} at {:.1} s",
                    text(position.y),
                    position.x
                )),
                egui_plot::HoverPosition::Elsewhere { .. } => None,
            })
            .show(ui, |plot_ui| {
                for (label, points) in &series {
                    let xy: PlotPoints<'_> = points
                        .iter()
                        .map(|p| {
                            let x = -((now - p.boottime_ns) as f64 / 1e9);
                            [x, metric.value(p) / divisor]
                        })
                        .collect();
                    plot_ui.line(Line::new(label.clone(), xy));
                }
                draw_markers(plot_ui, &markers, now, n == 0);
            });
    }
}

/// Load (green) and unload (red) markers as dashed vertical lines; with
/// `labels`, the program's name at the top.
fn draw_markers(plot_ui: &mut egui_plot::PlotUi<'_>, markers: &[&Marker], now: u64, labels: bool) {
    let top = plot_ui.plot_bounds().max()[1];
    for marker in markers {
        let x = -((now - marker.boottime_ns) as f64 / 1e9);
        let (color, sign) = if marker.loaded {
            (egui::Color32::from_rgb(80, 170, 90), "+")
        } else {
            (egui::Color32::from_rgb(200, 80, 70), "−")
        };
        plot_ui.vline(
            VLine::new("", x)
                .color(color)
                .style(LineStyle::dashed_loose())
                .allow_hover(false),
        );
        if labels {
            let name = if marker.name.is_empty() {
                format!("{sign}#{}", marker.key.id)
            } else {
                format!("{sign}{}", marker.name)
            };
            plot_ui.text(
                Text::new("", PlotPoint::new(x, top), name)
                    .color(color)
                    .anchor(egui::Align2::LEFT_TOP)
                    .allow_hover(false),
            );
        }
    }
}

/// `name (#id)` per selected program, and its points inside the window.
fn series(
    store: &Store,
    selected: &BTreeSet<ProgramKey>,
    now: u64,
    window: PlotWindow,
) -> Vec<(String, Vec<Point>)> {
    selected
        .iter()
        .map(|key| {
            let label = program_label(store.row(*key).map_or("", Row::name), key.id);
            let horizon = window.since(now);
            let points = store
                .history(*key)
                .filter(|p| p.boottime_ns >= horizon && p.boottime_ns <= now)
                .collect();
            (label, points)
        })
        .collect()
}
