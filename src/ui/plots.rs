//! Three plots for the selected programs: avg runtime, events/s, CPU %.

use std::collections::BTreeSet;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::format;
use crate::app::{CpuMode, PlotWindow};
use crate::model::store::{Point, ProgramKey, Store};

struct Metric {
    id: &'static str,
    title: &'static str,
    value: fn(&Point) -> f64,
    text: fn(f64) -> String,
}

/// Draws the plots over `window`, x in seconds before `now_boottime_ns`.
#[allow(clippy::too_many_arguments)]
pub fn plots_ui(
    ui: &mut egui::Ui,
    store: &Store,
    selected: &BTreeSet<ProgramKey>,
    now_boottime_ns: Option<u64>,
    window: PlotWindow,
    cpu_divisor: f64,
    cpu_mode: CpuMode,
) {
    let Some(now) = now_boottime_ns else {
        ui.label("Waiting for samples…");
        return;
    };
    let window_secs = window.duration().as_secs_f64();
    let cpu_title = match cpu_mode {
        CpuMode::OneCpu => "CPU % (of one CPU)",
        CpuMode::AllCpus => "CPU % (of all CPUs)",
    };
    let metrics = [
        Metric {
            id: "plot_avg_runtime",
            title: "Avg runtime",
            value: |p| f64::from(p.avg_runtime_ns),
            text: format::duration_ns,
        },
        Metric {
            id: "plot_events",
            title: "Events/s",
            value: |p| f64::from(p.events_per_sec),
            text: format::rate,
        },
        Metric {
            id: "plot_cpu",
            title: cpu_title,
            value: |p| f64::from(p.cpu_percent),
            text: format::percent,
        },
    ];

    // name (id) per selected program, and its points inside the window.
    let series: Vec<(String, Vec<Point>)> = selected
        .iter()
        .map(|key| {
            let name = store
                .row(*key)
                .map_or_else(String::new, |r| r.name().to_owned());
            let label = if name.is_empty() {
                format!("#{}", key.id)
            } else {
                format!("{name} (#{})", key.id)
            };
            let horizon = now.saturating_sub(window.duration().as_nanos() as u64);
            let points = store
                .history(*key)
                .filter(|p| p.boottime_ns >= horizon && p.boottime_ns <= now)
                .collect();
            (label, points)
        })
        .collect();

    let height = ((ui.available_height() - 3.0 * 24.0) / 3.0).max(60.0);
    let link = egui::Id::unique("bpfscope_plots");
    for metric in &metrics {
        ui.label(egui::RichText::new(metric.title).strong());
        let divisor = if metric.id == "plot_cpu" {
            cpu_divisor
        } else {
            1.0
        };
        let text = metric.text;
        Plot::new(metric.id)
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
                            [x, (metric.value)(p) / divisor]
                        })
                        .collect();
                    plot_ui.line(Line::new(label.clone(), xy));
                }
            });
    }
}
