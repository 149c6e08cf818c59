//! Three plots for the selected programs: avg runtime, events/s, CPU %.

use std::collections::BTreeSet;

use eframe::egui;
use egui_plot::{Legend, Line, LineStyle, Plot, PlotPoint, PlotPoints, Text, VLine};

use super::axis::{self, Unit};
use crate::model::ProgramKey;
use crate::store::{Marker, Point, Row, Store, program_label};
use crate::view::{CpuMode, PlotMetric, PlotWindow};

/// Load/unload markers drawn at most (the newest in the window).
const MARKERS_DRAWN: usize = 50;

/// A plot's id, title and axis unit.
fn describe(metric: PlotMetric, cpu_mode: CpuMode) -> (&'static str, &'static str, Unit) {
    match metric {
        PlotMetric::AvgRuntime => ("plot_avg_runtime", "Avg runtime", Unit::Duration),
        PlotMetric::EventsPerSec => ("plot_events", "Events/s", Unit::Count),
        PlotMetric::Cpu => (
            "plot_cpu",
            match cpu_mode {
                CpuMode::OneCpu => "CPU % (of one CPU)",
                CpuMode::AllCpus => "CPU % (of all CPUs)",
                CpuMode::TimePerSec => "CPU time per second",
            },
            Unit::cpu(cpu_mode),
        ),
    }
}

/// Below this height a plot is too short to read stacked; the three then
/// stand side by side.
const STACKED_MIN: f32 = 110.0;
/// A plot's title line.
const TITLE_HEIGHT: f32 = 24.0;

/// What the plots show.
#[derive(Debug)]
pub struct PlotsInput<'a> {
    pub store: &'a Store,
    pub selected: &'a BTreeSet<ProgramKey>,
    pub window: PlotWindow,
    pub cpu_mode: CpuMode,
    pub online_cpus: usize,
}

/// What one plot draws.
struct Drawn<'a> {
    series: &'a [(String, Vec<Point>)],
    markers: &'a [&'a Marker],
    now: u64,
    window_secs: f64,
    cpu_mode: CpuMode,
    online_cpus: usize,
}

/// Draws the plots over the plot window, x in seconds before the shown
/// sample: stacked where each gets room enough, else side by side.
pub fn plots_ui(ui: &mut egui::Ui, input: &PlotsInput<'_>) {
    let Some(now) = input.store.latest_boottime_ns() else {
        ui.label("Waiting for samples…");
        return;
    };
    let series = series(input.store, input.selected, now, input.window);
    let horizon = input.window.since(now);
    let markers: Vec<&Marker> = input
        .store
        .markers()
        .iter()
        .rev()
        .filter(|m| m.boottime_ns >= horizon && m.boottime_ns <= now)
        .take(MARKERS_DRAWN)
        .collect();
    let drawn = Drawn {
        series: &series,
        markers: &markers,
        now,
        window_secs: input.window.duration().as_secs_f64(),
        cpu_mode: input.cpu_mode,
        online_cpus: input.online_cpus,
    };
    let stacked = (ui.available_height() - 3.0 * TITLE_HEIGHT) / 3.0;
    if stacked >= STACKED_MIN {
        for metric in PlotMetric::ALL {
            plot_ui(ui, &drawn, metric, stacked, true);
        }
    } else {
        let height = (ui.available_height() - TITLE_HEIGHT).max(60.0);
        ui.columns(3, |columns| {
            for (column, metric) in columns.iter_mut().zip(PlotMetric::ALL) {
                // One legend, on the first: the lines' colours are the same
                // in all three.
                plot_ui(
                    column,
                    &drawn,
                    metric,
                    height,
                    metric == PlotMetric::AvgRuntime,
                );
            }
        });
    }
}

/// One plot with its title; `legend` whether it carries the legend.
fn plot_ui(ui: &mut egui::Ui, drawn: &Drawn<'_>, metric: PlotMetric, height: f32, legend: bool) {
    let (id, title, unit) = describe(metric, drawn.cpu_mode);
    let first = metric == PlotMetric::AvgRuntime;
    let title = ui.label(egui::RichText::new(title).strong());
    if first && !drawn.markers.is_empty() {
        title.on_hover_text("Dashed lines: programs loaded (green) and unloaded (red)");
    }
    let divisor = metric.divisor(drawn.cpu_mode, drawn.online_cpus);
    let now = drawn.now;
    let lines: Vec<(&str, Vec<[f64; 2]>)> = drawn
        .series
        .iter()
        .map(|(label, points)| {
            let xy = points
                .iter()
                .map(|p| {
                    let x = -((now - p.boottime_ns) as f64 / 1e9);
                    [x, metric.value(p) / divisor]
                })
                .collect();
            (label.as_str(), xy)
        })
        .collect();
    let max = lines
        .iter()
        .flat_map(|(_, xy)| xy.iter().map(|p| p[1]))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let scale = axis::Scale::for_max(max, unit);
    let link = egui::Id::unique("bpfscope_plots");
    let mut plot = Plot::new(id).height(height);
    if legend {
        plot = plot.legend(Legend::default().position(egui_plot::Corner::LeftTop));
    }
    axis::fixed(plot, drawn.window_secs, scale, unit)
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .label_formatter(move |hover| match hover {
            egui_plot::HoverPosition::NearDataPoint {
                plot_name,
                position,
                ..
            } => Some(format!(
                "{plot_name}\n{} at {:.1} s",
                axis::exact(position.y, unit),
                position.x
            )),
            egui_plot::HoverPosition::Elsewhere { .. } => None,
        })
        .show(ui, |plot_ui| {
            for (label, xy) in lines {
                plot_ui.line(Line::new(label.to_owned(), PlotPoints::from(xy)));
            }
            draw_markers(plot_ui, drawn.markers, now, first);
        });
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
                format!("{sign}{}", legend_name(&marker.name))
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

/// Characters of a name a legend shows: a plot a third of the window wide
/// still has room for the line.
const LEGEND_NAME: usize = 24;

/// `name`, cut to [`LEGEND_NAME`] characters with an ellipsis.
fn legend_name(name: &str) -> String {
    if name.chars().count() <= LEGEND_NAME {
        name.to_owned()
    } else {
        let mut cut: String = name.chars().take(LEGEND_NAME - 1).collect();
        cut.push('…');
        cut
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
            let label = program_label(&legend_name(store.row(*key).map_or("", Row::name)), key.id);
            let horizon = window.since(now);
            let points = store
                .history(*key)
                .filter(|p| p.boottime_ns >= horizon && p.boottime_ns <= now)
                .collect();
            (label, points)
        })
        .collect()
}
