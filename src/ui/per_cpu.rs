//! Which CPU pays: the details pane's per-CPU strip (a bar per CPU for the
//! latest period) and heat map (CPU × time over the plot window), and the
//! breakdown's BPF time per CPU.

use eframe::egui::{self, Color32, Rect, RichText, Sense, Vec2};

use super::format;
use crate::model::CpuDelta;
use crate::store::{Cell, PerCpuLatest};

/// Heat map rows are at most this tall, and the strip's bars this wide.
const ROW_MAX: f32 = 8.0;
const BAR_MAX: f32 = 24.0;
/// CPUs given a hover target each at most (past it, only those that ran).
const TARGETS_MAX: usize = 512;

/// What the per-CPU section of the details pane shows.
#[derive(Debug)]
pub struct PerCpuInput<'a> {
    /// The latest sample's figures; `None`: the source gives none.
    pub latest: Option<&'a PerCpuLatest>,
    /// The program's cells per sample over the plot window, oldest first:
    /// (`CLOCK_BOOTTIME`, cells where given).
    pub heat: Vec<(u64, Option<&'a [Cell]>)>,
    /// The plot window, in words (`1 min`).
    pub window: &'static str,
}

/// Why a source gives no per-CPU figures.
pub const PER_CPU_UNAVAILABLE: &str = "Not available from this source: it reads programs by \
     syscall (where the program iterator cannot load), and the kernel sums those counters over \
     every CPU.";

/// The per-CPU section for program `id`.
pub fn per_cpu_section(ui: &mut egui::Ui, id: u32, input: &PerCpuInput<'_>) {
    ui.add_space(8.0);
    ui.label(RichText::new("Per CPU").strong());
    let Some(latest) = input.latest else {
        ui.label(PER_CPU_UNAVAILABLE);
        return;
    };
    let sample = &latest.sample;
    let nr_cpus = sample.nr_cpus.max(1) as usize;
    match sample.program(id) {
        Some(program) if latest.elapsed_ns > 0 => {
            // The lowest-numbered of the busiest.
            let busiest = program
                .cpus
                .iter()
                .max_by(|a, b| a.run_time_ns.cmp(&b.run_time_ns).then(b.cpu.cmp(&a.cpu)));
            if let (Some(b), Some(spread)) = (busiest, program.spread()) {
                ui.label(format!(
                    "Latest period: {} of {nr_cpus} CPUs ran it; CPU {} ran {:.0} % of its time",
                    program.cpus.len(),
                    b.cpu,
                    spread * 100.0
                ));
            }
            cpu_bars(ui, "Program on CPU", &program.cpus, nr_cpus, latest);
        }
        _ => {
            ui.label(
                RichText::new(format!(
                    "Not given this period: per-CPU figures are kept for programs above {} \
                     of one CPU, the {} costliest.",
                    floor_words(sample.floor_ppm),
                    sample.programs_max
                ))
                .weak(),
            );
        }
    }
    heat_map(ui, nr_cpus, input);
}

/// The floor as a share of one CPU: `0.1 %`.
#[must_use]
pub fn floor_words(floor_ppm: u32) -> String {
    format!("{} %", f64::from(floor_ppm) / 10_000.0)
}

/// A bar per CPU: its share of that CPU over the period. Every bar that ran
/// is a hover target named `"{what} N: …"`.
pub fn cpu_bars(
    ui: &mut egui::Ui,
    what: &str,
    cpus: &[CpuDelta],
    nr_cpus: usize,
    latest: &PerCpuLatest,
) {
    let width = ui.available_width().max(60.0);
    let bar = (width / nr_cpus as f32).clamp(1.0, BAR_MAX);
    let height = 48.0;
    let (rect, _) = ui.allocate_exact_size(Vec2::new(bar * nr_cpus as f32, height), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let percent = |c: &CpuDelta| latest.percent(c.run_time_ns);
    let top = cpus.iter().map(percent).fold(1.0, f64::max);
    let fill = ui.visuals().selection.bg_fill;
    let secs = latest.elapsed_ns as f64 / 1e9;
    for c in cpus {
        let x = rect.left() + bar * c.cpu as f32;
        let h = (percent(c) / top) as f32 * height;
        let bar_rect = Rect::from_min_max(
            egui::pos2(x, rect.bottom() - h.max(1.0)),
            egui::pos2(x + (bar - 1.0).max(1.0), rect.bottom()),
        );
        painter.rect_filled(bar_rect, 0.0, fill);
        if cpus.len() <= TARGETS_MAX {
            let target = Rect::from_min_max(
                egui::pos2(x, rect.top()),
                egui::pos2(x + bar, rect.bottom()),
            );
            let label = format!(
                "{what} {}: {} of that CPU, {} runs/s",
                c.cpu,
                format::percent(percent(c)),
                format::rate(c.run_cnt as f64 / secs.max(1e-9))
            );
            let response = ui.interact(
                target,
                egui::Id::unique(("per_cpu_bar", what, c.cpu)),
                Sense::hover(),
            );
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
            response.on_hover_text(&label);
        }
    }
    ui.horizontal(|ui| {
        ui.label(RichText::new("CPU 0").weak().small());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new(format!("CPU {}", nr_cpus - 1)).weak().small());
        });
    });
}

/// The breakdown's BPF time per CPU over the latest period, every program
/// counted (those below the floor too).
pub fn by_cpu_ui(ui: &mut egui::Ui, per_cpu: Option<&PerCpuLatest>) {
    ui.add_space(6.0);
    ui.label(RichText::new("By CPU (latest period, % of each CPU)").strong());
    let Some(latest) = per_cpu else {
        ui.label(PER_CPU_UNAVAILABLE);
        return;
    };
    let cpus = &latest.sample.cpus;
    let nr_cpus = latest.sample.nr_cpus.max(1) as usize;
    // The lowest-numbered of the busiest.
    let busiest = cpus
        .iter()
        .max_by(|a, b| a.run_time_ns.cmp(&b.run_time_ns).then(b.cpu.cmp(&a.cpu)));
    match busiest {
        Some(b) if latest.elapsed_ns > 0 => {
            ui.label(format!(
                "BPF ran on {} of {nr_cpus} CPUs; the busiest, CPU {}, spent {} of its time in BPF",
                cpus.len(),
                b.cpu,
                format::percent(latest.percent(b.run_time_ns))
            ));
            cpu_bars(ui, "BPF on CPU", cpus, nr_cpus, latest);
        }
        _ => {
            ui.label(RichText::new("No BPF program ran in the latest period.").weak());
        }
    }
}

/// CPU × time over the plot window: a row per CPU, a column per sample,
/// darker where the program took more of that CPU.
fn heat_map(ui: &mut egui::Ui, nr_cpus: usize, input: &PerCpuInput<'_>) {
    let given = input.heat.iter().filter(|(_, c)| c.is_some()).count();
    if given == 0 {
        return;
    }
    ui.add_space(4.0);
    ui.label(
        RichText::new(format!(
            "Over the last {}: each row a CPU, each column a sample",
            input.window
        ))
        .weak()
        .small(),
    );
    let width = ui.available_width().max(60.0);
    let columns = input.heat.len().max(1);
    let col = width / columns as f32;
    let row = (160.0 / nr_cpus as f32).clamp(1.0, ROW_MAX);
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(width, row * nr_cpus as f32), Sense::hover());
    let top = input
        .heat
        .iter()
        .filter_map(|(_, c)| *c)
        .flatten()
        .map(|c| c.1)
        .fold(1.0_f32, f32::max);
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let hot = Color32::from_rgb(230, 110, 30);
    for (i, (_, cells)) in input.heat.iter().enumerate() {
        for &(cpu, pct) in cells.iter().copied().flatten() {
            let x = rect.left() + col * i as f32;
            let y = rect.top() + row * f32::from(cpu);
            let cell = Rect::from_min_size(egui::pos2(x, y), Vec2::new(col.max(1.0), row));
            painter.rect_filled(cell, 0.0, hot.gamma_multiply((pct / top).clamp(0.08, 1.0)));
        }
    }
    let summary = format!("Per-CPU heat map: {nr_cpus} CPUs × {columns} samples");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &summary));
    if let Some(at) = response.hover_pos() {
        let i = (((at.x - rect.left()) / col) as usize).min(columns - 1);
        let cpu = (((at.y - rect.top()) / row) as usize).min(nr_cpus - 1);
        if let Some((t, cells)) = input.heat.get(i) {
            let now = input.heat.last().map_or(*t, |l| l.0);
            let ago = now.saturating_sub(*t) as f64 / 1e9;
            let pct = cells
                .and_then(|c| c.iter().find(|c| usize::from(c.0) == cpu))
                .map_or(0.0, |c| f64::from(c.1));
            response.on_hover_text(format!(
                "CPU {cpu}, {ago:.0} s ago: {} of that CPU",
                format::percent(pct)
            ));
        }
    }
}
