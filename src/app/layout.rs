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
        self.details_ui(ui);
        self.central_ui(ui);
        if let Some(dialog) = &mut self.export {
            ui::export_dialog_ui(ui.ctx(), dialog, &mut self.commands);
        }
    }

    /// The top bar and the view bar.
    fn bars_ui(&mut self, ui: &mut egui::Ui) {
        let paused = self.store.is_paused();
        egui::Panel::top("top_bar").show(ui, |ui| {
            ui::top_bar_ui(
                ui,
                &mut self.filter,
                &mut self.focus_filter,
                &self.settings,
                paused,
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
                },
                &mut self.commands,
            );
        });
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui) {
        let divisor = self.settings.cpu_mode.divisor(self.online_cpus);
        let store = &self.store;
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui::status_bar_ui(
                ui,
                &ui::StatusBar {
                    counts: self.derived.counts(),
                    gone_kept: self.settings.gone_kept,
                    total_cpu_percent: store.total_cpu_percent() / divisor,
                    cpu_mode: self.settings.cpu_mode,
                    info: store.info(),
                    latest: store.live().latest_taken_at(),
                    paused: store.is_paused(),
                    last_message: store.last_message(),
                    messages: store.messages().map(|m| m.text.as_str()).collect(),
                    notice: self.notice.as_ref(),
                    problem: self.source.problem(),
                    via: match self.source.status() {
                        Status::Sampling(via) => Some(*via),
                        Status::Waiting(_) | Status::Stopped { .. } => None,
                    },
                    over_threshold: self.derived.over_threshold(),
                },
            );
        });
    }

    /// The details pane: the cursor's program (the one last clicked).
    fn details_ui(&mut self, ui: &mut egui::Ui) {
        let Some(row) = self
            .selection
            .cursor
            .filter(|_| self.settings.details)
            .and_then(|key| self.store.row(key))
        else {
            return;
        };
        let details = self.procs.details();
        let input = ui::DetailsInput {
            row,
            owners: details.map_or(&[][..], |d| d.list.as_slice()),
            user: details.and_then(|d| d.user.as_deref()),
            clock: self.store.clock(),
            online_cpus: self.online_cpus,
            cpu_mode: self.settings.cpu_mode,
            owners_age: self.store.shown().owners_age(),
        };
        egui::Panel::right("details")
            .resizable(true)
            .default_size(380.0)
            .show(ui, |ui| ui::details_ui(ui, &input, &mut self.commands));
    }

    /// The table and plots, or the breakdown.
    fn central_ui(&mut self, ui: &mut egui::Ui) {
        let settings = &self.settings;
        let store = &self.store;
        let diffs = self.derived.diffs();
        let columns = SortColumn::visible(&settings.columns, diffs.is_some());
        let view = self.derived.view();
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
                    ui::breakdown_ui(
                        ui,
                        breakdown,
                        store.latest_boottime_ns(),
                        settings.plot_window,
                        settings.cpu_mode.divisor(self.online_cpus),
                        settings.cpu_mode,
                    );
                }
                return;
            }
            // With plots, the table takes the upper half and the plots the rest.
            let table_height = if plotting {
                (ui.available_height() * 0.45).max(120.0)
            } else {
                f32::INFINITY
            };
            ui::program_table_ui(
                ui,
                &ui::TableInput {
                    rows: store.rows(),
                    lines: &view.lines,
                    groups: &view.groups,
                    selected: &self.selection.selected,
                    cursor: self.selection.cursor,
                    scroll_to_cursor: std::mem::take(&mut self.selection.scroll_to_cursor),
                    sort: settings.sort,
                    online_cpus: self.online_cpus,
                    cpu_mode: settings.cpu_mode,
                    max_height: table_height,
                    columns: &columns,
                    clock: store.clock(),
                    diffs,
                    thresholds: settings.thresholds,
                },
                &mut self.commands,
            );
            if plotting {
                ui.separator();
                ui::plots_ui(
                    ui,
                    &ui::PlotsInput {
                        store,
                        selected: &self.selection.selected,
                        window: settings.plot_window,
                        cpu_mode: settings.cpu_mode,
                        online_cpus: self.online_cpus,
                    },
                );
            }
        });
    }
}
