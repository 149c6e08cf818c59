//! What the user asked for, applied after the frame is drawn.

use std::path::Path;

use eframe::egui;

use super::BpfScopeApp;
use super::browse::Browse;
use crate::model::ProgramKey;
use crate::view::{
    Baseline, Command, DETAILS_WIDTH_RANGE, ExportDialog, ExportKind, Notice, TABLE_SHARE_RANGE,
};

impl BpfScopeApp {
    /// How this machine is sampled: the interval, low-overhead mode.
    fn sampling_cmd(&mut self, command: &Command) {
        match *command {
            Command::SetInterval(interval) => {
                self.settings.set_interval(interval);
                self.source.set_interval(interval);
            }
            Command::SetLowOverhead(percent) => {
                self.settings.set_low_overhead_percent(percent);
                self.source
                    .set_low_overhead_percent(self.settings.low_overhead_percent(), true);
            }
            _ => {}
        }
    }

    /// Applies one command now (the UI queues them; tests may call this).
    pub fn run_cmd(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Select(key, mode) => {
                self.refresh();
                let order = self.derived.order(&self.store);
                self.selection.select(key, mode, &order);
            }
            Command::MoveCursor(delta) => {
                self.refresh();
                let order = self.derived.order(&self.store);
                self.selection.move_cursor(delta, &order);
            }
            Command::PlotCursor => self.selection.plot_cursor(),
            Command::ClearSelection => self.selection.selected.clear(),
            Command::TogglePause if self.is_replay() => {
                self.replay_cmd(ctx, Command::Replay(crate::model::ReplayCommand::PlayPause));
            }
            Command::TogglePause => {
                if self.store.is_paused() {
                    self.store.resume();
                } else {
                    self.store.pause();
                }
            }
            Command::Sort(column) => self.settings.sort = self.settings.sort.clicked(column),
            Command::SetInterval(_) | Command::SetLowOverhead(_) => self.sampling_cmd(&command),
            Command::Source(action) => self.source.act(action),
            Command::SetPlotWindow(window) => {
                self.settings.plot_window = window;
                self.fleet_window_changed();
                self.source.set_replay_history(window.duration());
            }
            Command::Fleet(command) => self.run_fleet(ctx, command),
            Command::ToggleRecording if self.is_replay() => {}
            Command::ToggleRecording => self.toggle_recording(),
            Command::OpenRecordingDialog
            | Command::BrowseRecording
            | Command::CloseOpenDialog
            | Command::OpenRecording(_)
            | Command::WatchThisMachine
            | Command::Replay(_) => self.replay_cmd(ctx, command),
            Command::OpenHostDialog | Command::CloseHostDialog | Command::ConnectHost { .. } => {
                self.host_cmd(ctx, command);
            }
            Command::SetCpuMode(mode) => self.settings.cpu_mode = mode,
            Command::FocusFilter => self.focus_filter = true,
            Command::OpenExport => {
                if self.export.is_none() {
                    let home = std::env::var_os("HOME")
                        .map_or_else(|| std::path::PathBuf::from("."), std::path::PathBuf::from);
                    self.export = Some(ExportDialog::new(&home, std::time::SystemTime::now()));
                }
            }
            Command::CloseExport => {
                self.export = None;
                self.browse = None;
            }
            Command::Browse => {
                if let Some(dialog) = self.export.as_mut().filter(|d| !d.browsing) {
                    self.browse = Browse::save(ctx, dialog);
                }
            }
            Command::Export(path, kind) => self.export_to(&path, kind),
            Command::ToggleColumn(column) => self.settings.toggle_column(column),
            Command::ToggleDetails => self.settings.details = !self.settings.details,
            Command::Copy(text) => ctx.copy_text(text),
            Command::CaptureBaseline => self.capture_baseline(),
            Command::ClearBaseline => {
                self.baseline = None;
                self.diff = false;
            }
            Command::ToggleDiff => self.diff = !self.diff && self.baseline.is_some(),
            Command::SetGrouping(grouping) => self.settings.grouping = grouping,
            Command::SetView(view) => self.settings.view = view,
            Command::SetThresholds(thresholds) => self.settings.thresholds = thresholds,
            Command::ToggleOwn => self.toggle_own(),
            Command::SetTableShare(share) if share.is_finite() => {
                self.settings.table_share =
                    share.clamp(*TABLE_SHARE_RANGE.start(), *TABLE_SHARE_RANGE.end());
            }
            Command::TogglePlots => self.settings.plots_collapsed = !self.settings.plots_collapsed,
            Command::SetDetailsWidth(width) if width.is_finite() => {
                self.settings.details_width =
                    width.clamp(*DETAILS_WIDTH_RANGE.start(), *DETAILS_WIDTH_RANGE.end());
            }
            Command::SetTableShare(_) | Command::SetDetailsWidth(_) => {}
            Command::SetGoneKept(limit) => {
                self.settings.gone_kept = limit;
                self.store.set_gone_limit(limit);
            }
            Command::ClearGone => {
                self.store.clear_gone();
                let store = &self.store;
                // Paused, the selection must also survive in the live rows
                // that resuming shows.
                self.selection
                    .retain(|k| store.row(*k).is_some() && store.live().row(*k).is_some());
            }
        }
    }

    /// Lists bpfscope's own programs, or hides them (and then neither
    /// plots nor details them).
    fn toggle_own(&mut self) {
        self.settings.show_own = !self.settings.show_own;
        if !self.settings.show_own {
            let store = &self.store;
            let own = |key: &ProgramKey| store.row(*key).is_some_and(|row| row.own);
            self.selection.retain(|key| !own(key));
            if self.selection.cursor.as_ref().is_some_and(own) {
                self.selection.cursor = None;
            }
        }
    }

    /// Freezes every shown program's averages over the plot window as the
    /// baseline, and turns diff mode on.
    fn capture_baseline(&mut self) {
        let window = self.settings.plot_window;
        let serial = self.baseline.as_ref().map_or(1, |b| b.serial + 1);
        let baseline = Baseline::capture(&self.store, window, serial);
        self.notice = Some(Notice::Info(format!(
            "baseline captured: {} programs, averaged over {}",
            baseline.values.len(),
            window.label()
        )));
        self.baseline = Some(baseline);
        self.diff = true;
    }

    /// Writes the shown snapshot, or the history over the plot window.
    fn export_to(&mut self, path: &Path, kind: ExportKind) {
        let result = match kind {
            ExportKind::Snapshot => crate::export::write_snapshot(path, &self.store),
            ExportKind::History => {
                let keys: Vec<ProgramKey> = if self.selection.selected.is_empty() {
                    self.store.rows().iter().map(|r| r.key).collect()
                } else {
                    self.selection.selected.iter().copied().collect()
                };
                let since = self
                    .settings
                    .plot_window
                    .since(self.store.latest_boottime_ns().unwrap_or(0));
                crate::export::write_history(path, &self.store, &keys, since)
            }
        };
        match result {
            Ok(records) => {
                self.notice = Some(Notice::Info(format!(
                    "exported {records} records to {}",
                    path.display()
                )));
                self.export = None;
                self.browse = None;
            }
            Err(err) => {
                let message = format!("export failed: cannot write {}: {err}", path.display());
                if let Some(dialog) = &mut self.export {
                    dialog.error = Some(message.clone());
                }
                self.notice = Some(Notice::Error(message));
            }
        }
    }
}
