//! Which CPU pays: the details pane's per-CPU strip (a bar per CPU for the
//! latest period) and heat map (CPU × time over the plot window), and the
//! breakdown's BPF time per CPU.

use eframe::egui::{self, Color32, Rect, RichText, Sense, Vec2};

use super::format;
use crate::model::CpuDelta;
use crate::store::{Cell, PerCpuLatest};

/// Heat map rows are at most this tall.
const ROW_MAX: f32 = 20.0;
/// Heat map rows at most (CPUs beyond share rows).
const HEAT_ROWS_MAX: usize = 128;
/// CPUs each named under the strip at most.
const LABELLED_MAX: usize = 16;
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

/// A bar per CPU: its share of that CPU over the period, scaled to the
/// busiest. Every bar that ran is a hover target named `"{what} N: …"`.
pub fn cpu_bars(
    ui: &mut egui::Ui,
    what: &str,
    cpus: &[CpuDelta],
    nr_cpus: usize,
    latest: &PerCpuLatest,
) {
    let width = ui.available_width().max(60.0);
    // Narrower than a pixel past one CPU a pixel: each is drawn a pixel
    // wide where it falls, and the strip fits the pane.
    let bar = width / nr_cpus as f32;
    let gap = if bar > 6.0 { 2.0 } else { 0.0 };
    let height = 48.0;
    let (rect, _) = ui.allocate_exact_size(Vec2::new(bar * nr_cpus as f32, height), Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let percent = |c: &CpuDelta| latest.percent(c.run_time_ns);
    let top = cpus.iter().map(percent).fold(0.0, f64::max);
    let fill = ui.visuals().selection.bg_fill;
    let text = ui.visuals().strong_text_color();
    let secs = latest.elapsed_ns as f64 / 1e9;
    let labelled = nr_cpus <= LABELLED_MAX;
    for c in cpus {
        let x = rect.left() + bar * c.cpu as f32;
        let share = if top > 0.0 {
            (percent(c) / top) as f32
        } else {
            0.0
        };
        let h = (share * (height - 14.0)).max(1.0);
        let bar_rect = Rect::from_min_max(
            egui::pos2(x + gap / 2.0, rect.bottom() - h),
            egui::pos2(x + (bar - gap / 2.0).max(1.0), rect.bottom()),
        );
        painter.rect_filled(bar_rect, 0.0, fill);
        if labelled {
            painter.text(
                egui::pos2(x + bar / 2.0, bar_rect.top() - 1.0),
                egui::Align2::CENTER_BOTTOM,
                format::percent(percent(c)),
                egui::FontId::proportional(10.0),
                text,
            );
        }
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
            let id = egui::Id::unique(("per_cpu_bar", what, c.cpu));
            let response = ui.interact(target, id, Sense::hover());
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
            response.on_hover_text(&label);
        }
    }
    cpu_axis(ui, rect.left(), bar, nr_cpus);
}

/// CPU numbers under a row of `nr_cpus` columns `bar` wide from `left`:
/// each one where they fit, else the first and the last.
fn cpu_axis(ui: &mut egui::Ui, left: f32, bar: f32, nr_cpus: usize) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(bar * nr_cpus as f32, 12.0), Sense::hover());
    let painter = ui.painter_at(rect);
    let color = ui.visuals().weak_text_color();
    let font = egui::FontId::proportional(10.0);
    if nr_cpus <= LABELLED_MAX {
        for cpu in 0..nr_cpus {
            let x = left + bar * (cpu as f32 + 0.5);
            let pos = egui::pos2(x, rect.top());
            painter.text(
                pos,
                egui::Align2::CENTER_TOP,
                format!("CPU {cpu}"),
                font.clone(),
                color,
            );
        }
    } else {
        painter.text(
            rect.left_top(),
            egui::Align2::LEFT_TOP,
            "CPU 0",
            font.clone(),
            color,
        );
        let last = format!("CPU {}", nr_cpus - 1);
        painter.text(rect.right_top(), egui::Align2::RIGHT_TOP, last, font, color);
    }
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
            "Over the last {}: a row per CPU (CPU 0 at the top), a column per sample (now at \
             the right), brighter where it took more of that CPU",
            input.window
        ))
        .weak()
        .small(),
    );
    let width = ui.available_width().max(60.0);
    let samples = input.heat.len().max(1);
    // Bins of CPUs and of samples, so that a cell is at least a pixel and
    // a frame draws at most 128 rows × the pane's width in pixels.
    let cpus_per_row = nr_cpus.div_ceil(HEAT_ROWS_MAX).max(1);
    let rows = nr_cpus.div_ceil(cpus_per_row).max(1);
    let cols = samples.min(width as usize).max(1);
    let samples_per_col = samples.div_ceil(cols);
    let (row, col) = (
        (128.0 / rows as f32).clamp(1.0, ROW_MAX),
        width / cols as f32,
    );
    let (rect, response) =
        ui.allocate_exact_size(Vec2::new(width, row * rows as f32), Sense::hover());
    let mut grid = vec![0.0_f32; rows * cols];
    for (i, (_, cells)) in input.heat.iter().enumerate() {
        for &(cpu, pct) in cells.iter().copied().flatten() {
            let at = (usize::from(cpu) / cpus_per_row).min(rows - 1) * cols
                + (i / samples_per_col).min(cols - 1);
            if let Some(cell) = grid.get_mut(at)
                && pct > *cell
            {
                *cell = pct; // NaN is never greater
            }
        }
    }
    let top = grid.iter().copied().fold(f32::MIN_POSITIVE, f32::max);
    let painter = ui.painter_at(rect);
    let background = ui.visuals().extreme_bg_color;
    painter.rect_filled(rect, 2.0, background);
    let hot = Color32::from_rgb(255, 140, 30);
    for (at, &pct) in grid.iter().enumerate().filter(|(_, p)| **p > 0.0) {
        let x = rect.left() + col * (at % cols) as f32;
        let y = rect.top() + row * (at / cols) as f32;
        let cell = Rect::from_min_size(egui::pos2(x, y), Vec2::new(col.max(1.0), row));
        // The square root spreads small shares apart; a cell that ran at
        // all stays visible.
        let t = (pct / top).clamp(0.0, 1.0).sqrt().max(0.2);
        painter.rect_filled(cell, 0.0, background.lerp_to_gamma(hot, t));
    }
    let summary = format!("Per-CPU heat map: {nr_cpus} CPUs × {samples} samples");
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &summary));
    if let Some(at) = response.hover_pos() {
        let c = (((at.x - rect.left()) / col).max(0.0) as usize).min(cols - 1);
        let r = (((at.y - rect.top()) / row).max(0.0) as usize).min(rows - 1);
        let first = r * cpus_per_row;
        let last = (first + cpus_per_row).min(nr_cpus) - 1;
        let cpus = if first == last {
            format!("CPU {first}")
        } else {
            format!("CPUs {first}–{last}")
        };
        let now = input.heat.last().map_or(0, |l| l.0);
        if let Some((t, _)) = input.heat.get(c * samples_per_col) {
            let ago = now.saturating_sub(*t) as f64 / 1e9;
            let pct = grid.get(r * cols + c).copied().unwrap_or(0.0);
            response.on_hover_text(format!(
                "{cpus}, {ago:.0} s ago: {} of that CPU",
                format::percent(f64::from(pct))
            ));
        }
    }
}
