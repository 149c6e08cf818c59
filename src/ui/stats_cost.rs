//! What watching costs: the time the kernel's accounting adds to every run
//! while statistics are on, in the status bar, the details pane and the CPU
//! column's tooltip.

use eframe::egui;

use super::format;
use super::status::StatusBar;
use crate::model::AccountingCost;

/// How the cost was measured, for tooltips.
fn how_measured(cost: &AccountingCost) -> String {
    match cost {
        AccountingCost::Measured {
            without_ns,
            with_ns,
        } => format!(
            "Measured when sampling started: a trivial program test-run {} × {} times with \
             statistics off and on in turns took {without_ns} ns a run without and {with_ns} ns \
             with them (medians), so the accounting adds {} ns to every run.",
            AccountingCost::ROUNDS,
            format::thousands(u64::from(AccountingCost::RUNS)),
            with_ns.saturating_sub(*without_ns)
        ),
        AccountingCost::AlreadyOn => "Not measured: statistics were already on when sampling \
             started (another tool, or the kernel.bpf_stats_enabled sysctl), so there was no \
             \"off\" to compare with — and that cost is paid with or without bpfscope."
            .to_owned(),
        AccountingCost::NotMeasured(why) => format!("Not measured: {why}."),
    }
}

/// Low-overhead mode's mark: every figure is sampled.
pub(super) fn sampled_ui(ui: &mut egui::Ui, (on, period): (u64, u64), share: f64) {
    let text = format!("⏱ SAMPLED: stats on {:.0} % of each period", share * 100.0);
    ui.label(
        egui::RichText::new(text)
            .color(ui.visuals().warn_fg_color)
            .strong(),
    )
    .on_hover_text(format!(
        "Low-overhead mode: statistics were on for {} of the last {}. Every rate is over the \
         time they were on, not the whole period: right for steady load, blind to what runs \
         only while they are off. Stats on → always turns it off.",
        format::duration_ns(on as f64),
        format::duration_ns(period as f64)
    ));
}

/// The status bar's "stats cost" segment: measured rates are over the time
/// statistics were on, so the cost is paid for that share of the time.
pub(super) fn stats_cost_ui(ui: &mut egui::Ui, cost: &AccountingCost, status: &StatusBar<'_>) {
    let share = status.stats_fraction;
    let what = "While statistics are on, the kernel reads the clock before and after every BPF \
                program run and adds to the program's counters: bpfscope's figures cost that \
                much, paid only while statistics are on.";
    match cost.percent_of_one_cpu(status.runs_per_sec * share) {
        Some(percent) => {
            let shown = format::cpu_scoped(percent / status.cpu_divisor, status.cpu_mode);
            ui.label(format!("stats cost ≈ {shown}"))
                .on_hover_text(format!(
                    "{what}\n\n{}\n\n{} runs/s × {} ns ≈ {shown}.",
                    how_measured(cost),
                    format::rate(status.runs_per_sec),
                    cost.per_run_ns().unwrap_or(0)
                ));
        }
        None => {
            ui.label("stats cost: –")
                .on_hover_text(format!("{what}\n\n{}", how_measured(cost)));
        }
    }
}

/// One program's share of the cost: `≈ 0.12 % of one CPU (82 ns × 1,500
/// runs/s)`; `None` when the cost is not known.
#[must_use]
pub fn program_cost(
    cost: &AccountingCost,
    runs_per_sec: f64,
    divisor: f64,
    mode: crate::view::CpuMode,
) -> Option<String> {
    let percent = cost.percent_of_one_cpu(runs_per_sec)?;
    Some(format!(
        "≈ {} ({} ns × {} runs/s)",
        format::cpu_scoped(percent / divisor, mode),
        cost.per_run_ns().unwrap_or(0),
        format::rate(runs_per_sec)
    ))
}

/// Low-overhead mode: statistics on all the time, or a share of each
/// interval.
pub(super) fn low_overhead_ui(
    ui: &mut egui::Ui,
    settings: &crate::view::Settings,
    commands: &mut Vec<crate::view::Command>,
) {
    let words = |percent: Option<u8>| match percent {
        None => "always".to_owned(),
        Some(p) => format!("{p} %"),
    };
    let current = settings.low_overhead_percent();
    let label = ui.label("Stats on");
    egui::ComboBox::from_id_salt("stats_duty")
        .selected_text(words(current))
        .width(72.0)
        .show_ui(ui, |ui| {
            for choice in crate::view::LOW_OVERHEAD_CHOICES {
                if ui
                    .selectable_label(choice == current, words(choice))
                    .clicked()
                    && choice != current
                {
                    commands.push(crate::view::Command::SetLowOverhead(choice));
                }
            }
        })
        .response
        .labelled_by(label.id)
        .on_hover_text(
            "Low-overhead mode: keep the kernel's statistics on for only this share of each \
             interval, at its end. Rates are over the time they were on, so they stay right \
             for steady load (events/s within a few % of the truth at 25 %) while the cost of \
             watching drops by the same share; short bursts between windows are missed. \
             Changing it starts the sampler again.",
        );
}
