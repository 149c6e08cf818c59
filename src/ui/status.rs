//! The status bar, and what the source is doing when it is not sampling.

use std::time::SystemTime;

use eframe::egui::{self, RichText};

use super::format;
use crate::model::{Action, SampleOrigin, SourceInfo, Status, Timeline};
use crate::store::{Message, Severity};
use crate::view::{Command, Counts, CpuMode, Notice};

/// What the status bar shows.
#[derive(Debug)]
pub struct StatusBar<'a> {
    pub counts: Counts,
    /// Unloaded programs kept at most.
    pub gone_kept: usize,
    pub total_cpu_percent: f64,
    /// What bpfscope's own programs cost, divided like the total.
    pub own_cpu_percent: f64,
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
    pub origin: Option<SampleOrigin>,
    /// Programs over a threshold; `None` when no threshold is set.
    pub over_threshold: Option<usize>,
    /// The recording replayed, if the window shows one.
    pub replay: Option<&'a Timeline>,
    /// The host watched over ssh, if not this machine.
    pub remote: Option<&'a str>,
    /// Every program's runs a second over the latest period.
    pub runs_per_sec: f64,
    /// What `status.cpu_mode` divides a share of one CPU by.
    pub cpu_divisor: f64,
    /// Low-overhead mode: statistics on this long of the latest period, and
    /// the period (ns).
    pub sampled: Option<(u64, u64)>,
    /// The share of the latest period statistics were on (1 but in
    /// low-overhead mode).
    pub stats_fraction: f64,
}

/// Programs shown/total, total BPF CPU, stats mode, sample age, last error.
pub fn status_bar_ui(ui: &mut egui::Ui, status: &StatusBar<'_>) {
    ui.horizontal(|ui| {
        if let Some(host) = status.remote {
            ui.strong(format!("🖧 {host}"))
                .on_hover_text("The host watched, through its sampler over ssh");
            ui.separator();
        }
        let counts = status.counts;
        ui.label(format!(
            "{} of {} programs",
            format::thousands(counts.shown as u64),
            format::thousands(counts.loaded as u64)
        ));
        if counts.gone > 0 {
            ui.label(format!("· {} gone", format::thousands(counts.gone as u64)))
                .on_hover_text(format!(
                    "Unloaded programs stay, greyed, with their history for as long as the \
                     plots can show it (5 minutes), at most the newest {}. Clear gone forgets \
                     them now.",
                    format::thousands(status.gone_kept as u64)
                ));
        }
        ui.separator();
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
        if let Some(sampled) = status.sampled {
            super::stats_cost::sampled_ui(ui, sampled, status.stats_fraction);
            ui.separator();
        }
        total_ui(ui, status);
        if let Some(info) = status.info {
            ui.separator();
            super::stats_cost::stats_cost_ui(ui, &info.accounting, status);
        }
        ui.separator();
        source_info_ui(ui, status);
        ui.separator();
        match (status.replay, status.latest) {
            (Some(replay), _) => replay_label_ui(ui, replay),
            (None, Some(at)) => {
                let age = SystemTime::now().duration_since(at).unwrap_or_default();
                ui.label(format!("sample {:.0} s ago", age.as_secs_f64().floor()));
                if let Some(problem) = status.problem {
                    ui.separator();
                    ui.colored_label(ui.visuals().error_fg_color, "sampler stopped")
                        .on_hover_text(problem);
                }
            }
            (None, None) if status.problem.is_some() => {
                ui.label("no samples");
            }
            (None, None) => {
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

/// A replay instead of the sample's age: whose recording, and the
/// recorded time shown.
fn replay_label_ui(ui: &mut egui::Ui, replay: &Timeline) {
    let shown = replay
        .shown_at()
        .map_or_else(|| "…".to_owned(), format::local_time);
    let text = RichText::new(format!("⏵ Recording of {} · {shown}", replay.host))
        .color(ui.visuals().warn_fg_color);
    ui.label(text).on_hover_text(format!(
        "Replaying {} (kernel {}): not live. The time is the recorded host's, in this \
         machine's time zone.",
        replay.file, replay.kernel_release
    ));
}

/// The total BPF cost, and whether it counts bpfscope's own programs.
fn total_ui(ui: &mut egui::Ui, status: &StatusBar<'_>) {
    let mode = status.cpu_mode;
    let own = format::cpu_scoped(status.own_cpu_percent, mode);
    let (text, tip) = if status.counts.own == 0 {
        (
            format!(
                "All BPF programs: {}",
                format::cpu_scoped(status.total_cpu_percent, mode)
            ),
            "What every loaded BPF program together cost over the last period".to_owned(),
        )
    } else if status.counts.own_hidden {
        (
            format!(
                "BPF programs without bpfscope's own: {}",
                format::cpu_scoped(
                    (status.total_cpu_percent - status.own_cpu_percent).max(0.0),
                    mode
                )
            ),
            format!(
                "What every loaded BPF program but bpfscope's own iterators cost over the last \
                 period. Its {} iterators, hidden from the table, cost {own} more.",
                status.counts.own
            ),
        )
    } else {
        (
            format!(
                "All BPF programs: {} (bpfscope's own: {})",
                format::cpu_scoped(status.total_cpu_percent, mode),
                format::cpu(status.own_cpu_percent, mode)
            ),
            format!(
                "What every loaded BPF program together cost over the last period, bpfscope's \
                 own {} iterators included ({own})",
                status.counts.own
            ),
        )
    };
    ui.label(text).on_hover_text(tip);
}

/// The stats mode and enumeration, with the source's facts in the tooltip.
fn source_info_ui(ui: &mut egui::Ui, status: &StatusBar<'_>) {
    match status.info {
        Some(info) => {
            let origin = match status.origin {
                Some(SampleOrigin::Helper) => " · helper",
                Some(SampleOrigin::Recording) => " · recording",
                Some(SampleOrigin::Remote) => " · ssh",
                Some(SampleOrigin::InProcess | SampleOrigin::Injected) | None => "",
            };
            ui.label(format!(
                "stats: {} · {}{origin}",
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
                match status.origin {
                    Some(SampleOrigin::Helper) => {
                        "\nSampled by bpfscope-sampler, started through polkit"
                    }
                    Some(SampleOrigin::InProcess) => "\nSampled by this process",
                    Some(SampleOrigin::Recording) => "\nRead from a recording",
                    Some(SampleOrigin::Remote) =>
                        "\nSampled by bpfscope-sampler on the remote host, over ssh",
                    Some(SampleOrigin::Injected) | None => "",
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
                    if let Some(action) = action
                        && ui.button(action.label()).clicked()
                    {
                        commands.push(Command::Source(*action));
                    }
                });
        }
    }
    ui.add_space(6.0);
}
