//! "Where BPF time goes": total BPF CPU over the plot window as stacked
//! bands (the top programs and "other"), and the latest period by type.

use eframe::egui::{self, RichText};
use egui_plot::{FilledArea, Legend, Line, Plot, PlotPoints};

use super::axis::{self, Unit};
use super::format;
use crate::store::Breakdown;
use crate::view::{CpuMode, PlotWindow};

/// Band colours, one per top program; "other" is grey.
const PALETTE: [egui::Color32; 10] = [
    egui::Color32::from_rgb(66, 133, 244),
    egui::Color32::from_rgb(219, 68, 55),
    egui::Color32::from_rgb(244, 180, 0),
    egui::Color32::from_rgb(15, 157, 88),
    egui::Color32::from_rgb(171, 71, 188),
    egui::Color32::from_rgb(0, 172, 193),
    egui::Color32::from_rgb(255, 112, 67),
    egui::Color32::from_rgb(158, 157, 36),
    egui::Color32::from_rgb(92, 107, 192),
    egui::Color32::from_rgb(240, 98, 146),
];

/// What the breakdown shows.
#[derive(Debug)]
pub struct BreakdownInput<'a> {
    pub breakdown: &'a Breakdown,
    /// `CLOCK_BOOTTIME` of the latest sample.
    pub now: Option<u64>,
    pub window: PlotWindow,
    pub cpu_divisor: f64,
    pub cpu_mode: CpuMode,
    pub with_own: bool,
    pub per_cpu: Option<&'a crate::store::PerCpuLatest>,
}

/// Draws the breakdown; x in seconds before `now`.
pub fn breakdown_ui(ui: &mut egui::Ui, input: &BreakdownInput<'_>) {
    let BreakdownInput {
        breakdown,
        now,
        window,
        cpu_divisor,
        cpu_mode,
        with_own,
        per_cpu,
    } = *input;
    let Some(now) = now else {
        ui.label("Waiting for samples…");
        return;
    };
    let latest_total = breakdown.total.last().copied().unwrap_or(0.0) / cpu_divisor;
    ui.label(
        RichText::new(format!(
            "{} now: {} · stacked by program over the last {}",
            if with_own {
                "All BPF programs"
            } else {
                "BPF programs without bpfscope's own"
            },
            format::cpu_scoped(latest_total, cpu_mode),
            window.label()
        ))
        .strong(),
    );

    let xs: Vec<f64> = breakdown
        .times_ns
        .iter()
        .map(|&t| -((now.saturating_sub(t)) as f64 / 1e9))
        .collect();
    let height = (ui.available_height() * 0.62).max(160.0);
    let text_color = ui.visuals().strong_text_color();
    let unit = Unit::cpu(cpu_mode);
    let max = breakdown
        .total
        .iter()
        .map(|t| t / cpu_divisor)
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);
    let scale = axis::Scale::for_max(max, unit);
    let plot = Plot::new("breakdown_plot")
        .height(height)
        .legend(Legend::default().position(egui_plot::Corner::LeftTop));
    axis::fixed(plot, window.duration().as_secs_f64(), scale, unit).show(ui, |plot_ui| {
        let mut lower = vec![0.0; xs.len()];
        for (i, band) in breakdown.bands.iter().enumerate() {
            let upper: Vec<f64> = lower
                .iter()
                .zip(&band.values)
                .map(|(l, v)| l + v / cpu_divisor)
                .collect();
            let color = if band.key.is_none() {
                egui::Color32::GRAY
            } else {
                PALETTE[i % PALETTE.len()]
            };
            plot_ui.add(
                FilledArea::new(band.label.clone(), &xs, &lower, &upper)
                    .fill_color(color.gamma_multiply(0.75)),
            );
            lower = upper;
        }
        let total: PlotPoints<'_> = xs
            .iter()
            .zip(&breakdown.total)
            .map(|(&x, &t)| [x, t / cpu_divisor])
            .collect();
        plot_ui.line(Line::new("total", total).color(text_color).width(1.5));
    });

    super::per_cpu::by_cpu_ui(ui, per_cpu);
    by_type_ui(ui, breakdown, cpu_divisor, cpu_mode);
}

/// The latest period split by program type, with each type's share.
fn by_type_ui(ui: &mut egui::Ui, breakdown: &Breakdown, cpu_divisor: f64, cpu_mode: CpuMode) {
    ui.add_space(6.0);
    ui.label(
        RichText::new(format!(
            "By program type (latest period, {})",
            cpu_mode.scope()
        ))
        .strong(),
    );
    let total: f64 = breakdown.by_type.iter().map(|(_, cpu)| cpu).sum();
    egui::ScrollArea::vertical()
        .id_salt("breakdown_types")
        .show(ui, |ui| {
            egui::Grid::new("breakdown_by_type")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    for (type_name, cpu) in &breakdown.by_type {
                        ui.label(type_name.as_str());
                        ui.label(format::cpu(cpu / cpu_divisor, cpu_mode));
                        let share = if total > 0.0 {
                            (cpu / total) as f32
                        } else {
                            0.0
                        };
                        ui.add(
                            egui::ProgressBar::new(share)
                                .desired_width(240.0)
                                .text(format!("{:.0} % of BPF", share * 100.0)),
                        );
                        ui.end_row();
                    }
                    ui.label(RichText::new("total").strong());
                    ui.label(RichText::new(format::cpu(total / cpu_divisor, cpu_mode)).strong());
                    ui.end_row();
                });
        });
}
