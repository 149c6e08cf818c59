//! The window's panels: each reads the store and the derived view, and
//! queues commands. Nothing here computes or reads files.

use eframe::egui;

use super::BpfScopeApp;
use crate::model::Status;
use crate::ui;
use crate::view::{MainView, SortColumn};

impl BpfScopeApp {
    /// Every panel, in the order egui lays them out.
    pub(super) fn layout_ui(&mut self, ui: &mut egui::Ui) {
        self.bars_ui(ui);
        self.status_bar_ui(ui);
        if let Some(timeline) = self.source.timeline() {
            egui::Panel::bottom("timeline").show(ui, |ui| {
                ui::timeline_ui(ui, timeline, &mut self.commands);
            });
        }
        let pane = self.details_ui(ui);
        if self.settings.view == MainView::Fleet {
            self.fleet_ui(ui);
        } else {
            self.central_ui(ui, pane);
        }
        if let Some(dialog) = &mut self.export {
            ui::export_dialog_ui(ui.ctx(), dialog, &mut self.commands);
        }
        if let Some(dialog) = &mut self.fleet.dialog {
            ui::connect_dialog_ui(ui.ctx(), dialog, &mut self.commands);
        }
        if let Some(dialog) = &mut self.replay.dialog {
            ui::open_dialog_ui(ui.ctx(), dialog, &mut self.commands);
        }
        if let Some(dialog) = &mut self.hosts.dialog {
            ui::host_dialog_ui(ui.ctx(), dialog, &self.settings.hosts, &mut self.commands);
        }
    }

    /// The top bar and the view bar.
    fn bars_ui(&mut self, ui: &mut egui::Ui) {
        let paused = self.store.is_paused();
        let shows_other_host = self.source.other_host().is_some();
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui::top_bar_ui(
                ui,
                &mut self.filter,
                &mut self.focus_filter,
                &self.settings,
                (
                    paused,
                    self.recording.as_ref().map(|r| r.progress("recording")),
                    self.source.timeline().is_some(),
                    shows_other_host,
                ),
                &mut self.commands,
            );
        });
        egui::Panel::top("view_bar").show(ui, |ui| {
            ui::view_bar_ui(
                ui,
                &ui::ViewBar {
                    settings: &self.settings,
                    baseline: self.baseline.as_ref().map(|b| (b.captured_at, b.window)),
                    diff: self.diff,
                    over_threshold: self.derived.over_threshold(),
                    replay: self.is_replay(),
                },
                &mut self.commands,
            );
        });
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        let divisor = self.settings.cpu_mode.divisor(self.cpus());
        let store = &self.store;
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui::status_bar_ui(
                ui,
                &ui::StatusBar {
                    counts: self.derived.counts(),
                    gone_kept: self.settings.gone_kept,
                    total_cpu_percent: store.total_cpu_percent() / divisor,
                    own_cpu_percent: self.derived.own_cpu_percent() / divisor,
                    cpu_mode: self.settings.cpu_mode,
                    info: store.info(),
                    latest: store.live().latest_taken_at(),
                    paused: store.is_paused(),
                    last_message: store.last_message(),
                    messages: store.messages().map(|m| m.text.as_str()).collect(),
                    notice: self.notice.as_ref(),
                    problem: self.source.problem(),
                    origin: match self.source.status() {
                        Status::Sampling(origin) => Some(*origin),
                        Status::Waiting(_) | Status::Stopped { .. } => None,
                    },
                    over_threshold: self.derived.over_threshold(),
                    replay: self.source.timeline(),
                    remote: self.source.remote_host(),
                    runs_per_sec: store.shown().total_events_per_sec(),
                    cpu_divisor: divisor,
                    sampled: store.shown().sampled(),
                    stats_fraction: store.shown().stats_fraction(),
                },
            );
        });
    }

    /// The details pane: the cursor's program (the one last clicked);
    /// whether it is shown.
    fn details_ui(&mut self, ui: &mut egui::Ui) -> bool {
        if self.settings.view == MainView::Fleet {
            return false;
        }
        let Some(row) = self
            .selection
            .cursor
            .filter(|_| self.settings.details)
            .and_then(|key| self.store.row(key))
        else {
            return false;
        };
        let details = self.owner_info.details();
        let input = ui::DetailsInput {
            row,
            owners: details.map_or(&[][..], |d| d.list.as_slice()),
            user: details.and_then(|d| d.user.as_deref()),
            clock: self.store.clock(),
            online_cpus: self.cpus(),
            cpu_mode: self.settings.cpu_mode,
            owners_age: self.store.shown().owners_age(),
            per_cpu: per_cpu_input(&self.store, self.settings.plot_window, row.key),
            accounting: self.store.info().map(|info| &info.accounting),
            stats_fraction: self.store.shown().stats_fraction(),
        };
        let width = self.settings.details_width();
        let shown = egui::Panel::right("details")
            .resizable(true)
            .default_size(width)
            .size_range(crate::view::DETAILS_WIDTH_RANGE)
            .show(ui, |ui| ui::details_ui(ui, &input, &mut self.commands));
        // Remembered in the settings, so a restart opens it as wide.
        // Only a width the user dragged to: not while the pointer is down,
        // and not one a narrow window squeezed the pane to.
        let now = shown.response.rect.width();
        let released = !ui.input(|i| i.pointer.any_down());
        if released && (now - width).abs() > 1.0 && crate::view::DETAILS_WIDTH_RANGE.contains(&now)
        {
            self.commands
                .push(crate::view::Command::SetDetailsWidth(now));
        }
        true
    }

    /// The table and plots, or the breakdown; `pane` whether the details
    /// pane is beside them.
    fn central_ui(&mut self, ui: &mut egui::Ui, pane: bool) {
        let cpus = self.cpus();
        let settings = &self.settings;
        let store = &self.store;
        let diffs = self.derived.diffs();
        let columns = SortColumn::visible(&settings.columns, diffs.is_some());
        let table = self.derived.table();
        let plotting = !self.selection.selected.is_empty();
        // The framebuffer is cleared to the panel colour (see `clear_color`),
        // so the central panel paints no background of its own: one
        // full-window pass less per frame where OpenGL runs on the CPU.
        let central = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            ui::source_status_ui(
                ui,
                self.source.status(),
                !store.live().rows().is_empty(),
                &mut self.commands,
            );
            if settings.view == MainView::Breakdown {
                if let Some(breakdown) = self.derived.breakdown() {
                    breakdown_view(ui, breakdown, store, settings, cpus);
                }
                return;
            }
            let notes = ui::TableNotes {
                counts: self.derived.counts(),
                samples: store.shown().sample_count(),
                sampling: matches!(self.source.status(), Status::Sampling(_)),
                filter: &self.filter,
                lines: table.lines.len(),
                interval: settings.interval().duration(),
            };
            if !ui::table_notes_ui(ui, &notes) {
                return;
            }
            // With plots, the table takes its share of the height and the
            // plots the rest, split by a handle the user drags; folded, the
            // plots are a strip under the table.
            let area = ui.available_rect_before_wrap();
            // The columns' first widths fit the room the table has once a
            // click opens the details pane.
            let fit_width = if pane || !settings.details {
                area.width()
            } else {
                // The pane's margins and separator besides its width.
                area.width() - settings.details_width() - 56.0
            };
            let table_height = if !plotting {
                f32::INFINITY
            } else if settings.plots_collapsed {
                (area.height() - ui::PLOTS_STRIP).max(120.0)
            } else {
                (area.height() * settings.table_share()).max(80.0)
            };
            ui::program_table_ui(
                ui,
                &ui::TableInput {
                    rows: store.rows(),
                    lines: &table.lines,
                    groups: &table.groups,
                    selected: &self.selection.selected,
                    cursor: self.selection.cursor,
                    scroll_to_cursor: std::mem::take(&mut self.selection.scroll_to_cursor),
                    sort: settings.sort,
                    online_cpus: cpus,
                    cpu_mode: settings.cpu_mode,
                    max_height: table_height,
                    columns: &columns,
                    clock: store.clock(),
                    diffs,
                    thresholds: settings.thresholds,
                    fit_width,
                    accounting: store.info().map(|info| &info.accounting),
                    stats_fraction: store.shown().stats_fraction(),
                },
                &mut self.commands,
            );
            if plotting {
                let open = ui::plots_handle_ui(
                    ui,
                    &ui::PlotsHandle {
                        area,
                        collapsed: settings.plots_collapsed,
                        selected: self.selection.selected.len(),
                    },
                    &mut self.commands,
                );
                if open {
                    ui::plots_ui(
                        ui,
                        &ui::PlotsInput {
                            store,
                            selected: &self.selection.selected,
                            window: settings.plot_window,
                            cpu_mode: settings.cpu_mode,
                            online_cpus: cpus,
                        },
                    );
                }
            }
        });
    }
}

/// The shown moment's per-CPU figures for one program, over the plot
/// window.
fn per_cpu_input(
    store: &crate::store::Store,
    window: crate::view::PlotWindow,
    key: crate::model::ProgramKey,
) -> ui::PerCpuInput<'_> {
    let shown = store.shown();
    let since = shown.latest_boottime_ns().map_or(0, |now| {
        now.saturating_sub(window.duration().as_nanos() as u64)
    });
    ui::PerCpuInput {
        latest: shown.per_cpu(),
        heat: shown
            .cpu_history(key)
            .filter(|(t, _)| *t >= since)
            .collect(),
        window: window.label(),
    }
}

/// "Where BPF time goes".
fn breakdown_view(
    ui: &mut egui::Ui,
    breakdown: &crate::store::Breakdown,
    store: &crate::store::Store,
    settings: &crate::view::Settings,
    cpus: usize,
) {
    let input = ui::BreakdownInput {
        breakdown,
        now: store.latest_boottime_ns(),
        window: settings.plot_window,
        cpu_divisor: settings.cpu_mode.divisor(cpus),
        cpu_mode: settings.cpu_mode,
        with_own: settings.show_own,
        per_cpu: store.shown().per_cpu(),
    };
    ui::breakdown_ui(ui, &input);
}
