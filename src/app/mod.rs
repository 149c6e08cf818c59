//! The bpfscope window: the eframe glue over a [`Store`] and the [`view`].
//!
//! `logic()` drains the source into the store and refreshes what the window
//! derives from it (`logic.rs`); `ui()` draws the panels (`layout.rs`),
//! which record what the user asked for as [`Command`]s, applied after
//! drawing (`commands.rs`). No panel changes shared state mid-frame, and
//! nothing reads `/proc` while drawing.
//!
//! [`view`]: crate::view

mod alerts;
mod browse;
mod commands;
mod fleet;
mod hosts;
mod layout;
mod logic;
mod recording;
mod replay;

pub use replay::LiveStart;

use std::collections::BTreeSet;

use eframe::egui;

use crate::model::{Interval, ProgramKey, Waker};
use crate::source::Source;
use crate::store::{Breakdown, Store};
use crate::view::{
    Baseline, Command, Derived, Diffs, ExportDialog, Group, Notice, Selection, Settings,
};

/// Key under which [`Settings`] live in eframe's storage.
pub const SETTINGS_KEY: &str = "bpfscope-settings";

/// The window.
#[derive(Debug)]
pub struct BpfScopeApp {
    source: Source,
    store: Store,
    settings: Settings,
    filter: String,
    selection: Selection,
    /// The table's order and groups, diffs, breakdown, threshold count.
    derived: Derived,
    baseline: Option<Baseline>,
    /// Diff mode: the table shows changes against the baseline.
    diff: bool,
    /// What `/proc` says of the owners the window shows.
    owner_info: logic::OwnerInfo,
    export: Option<ExportDialog>,
    browse: Option<browse::Browse>,
    notice: Option<Notice>,
    commands: Vec<Command>,
    focus_filter: bool,
    online_cpus: usize,
    alerts: alerts::ThresholdWatcher,
    /// The fleet view: Prometheus, its answers, the connect window.
    fleet: fleet::FleetPart,
    /// The recording being written, if Record is on.
    recording: Option<recording::Recording>,
    /// Opening recordings, and how to come back from one.
    replay: replay::ReplayPart,
    /// Connect to host…, and the windows opened for other hosts.
    hosts: hosts::HostPart,
    /// Frames drawn, and when the app started (for `BPFSCOPE_FRAME_STATS`).
    frames: u64,
    started: std::time::Instant,
}

impl BpfScopeApp {
    /// Builds the window; `start` makes the source with the interval to use
    /// and a waker that repaints the window when an event arrives.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        interval: Option<Interval>,
        start: impl FnOnce(Interval, Waker) -> Source,
    ) -> Self {
        Self::with_storage(cc, cc.storage, interval, start)
    }

    /// [`BpfScopeApp::new`] with settings read from `storage`.
    pub fn with_storage(
        cc: &eframe::CreationContext<'_>,
        storage: Option<&dyn eframe::Storage>,
        interval: Option<Interval>,
        start: impl FnOnce(Interval, Waker) -> Source,
    ) -> Self {
        let mut settings: Settings = storage
            .and_then(|storage| eframe::get_value(storage, SETTINGS_KEY))
            .unwrap_or_default();
        if let Some(interval) = interval {
            settings.set_interval(interval);
        }
        let mut source = start(settings.interval(), replay::waker(&cc.egui_ctx));
        // Low-overhead mode as the user left it (this machine's sampler
        // starts again if it started without).
        source.set_low_overhead_percent(settings.low_overhead_percent(), false);
        // A replay's seeks rebuild what the plots show.
        source.set_replay_history(settings.plot_window.duration());
        let mut store = Store::new();
        store.set_gone_limit(settings.gone_kept);
        Self {
            source,
            store,
            settings,
            filter: String::new(),
            selection: Selection::default(),
            derived: Derived::default(),
            baseline: None,
            diff: false,
            owner_info: logic::OwnerInfo::default(),
            export: None,
            browse: None,
            notice: None,
            commands: Vec::new(),
            focus_filter: false,
            online_cpus: crate::sys::online_cpus(),
            alerts: alerts::ThresholdWatcher::default(),
            fleet: fleet::FleetPart::default(),
            recording: None,
            replay: replay::ReplayPart::default(),
            hosts: hosts::HostPart::default(),
            frames: 0,
            started: std::time::Instant::now(),
        }
    }

    /// The data behind the window.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings that persist.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Programs plotted.
    #[must_use]
    pub fn selected(&self) -> &BTreeSet<ProgramKey> {
        &self.selection.selected
    }

    /// Where the recording being written goes, if Record is on.
    #[must_use]
    pub fn recording_to(&self) -> Option<&std::path::Path> {
        self.recording.as_ref().map(|r| r.path.as_path())
    }

    /// What the source is doing.
    #[must_use]
    pub fn source_status(&self) -> &crate::model::Status {
        self.source.status()
    }

    /// Whether the display is paused.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.store.is_paused()
    }

    /// The status bar's message of the app's own, if any.
    #[must_use]
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The changes against the baseline, while diff mode is on.
    pub fn diffs(&mut self) -> Option<&Diffs> {
        self.refresh();
        self.derived.diffs()
    }

    /// The table's groups (empty without grouping), with their subtotals.
    pub fn groups(&mut self) -> Vec<Group> {
        self.refresh();
        self.derived.table().groups.clone()
    }

    /// The breakdown the view shows (computed while the view is open).
    pub fn breakdown(&mut self) -> Option<&Breakdown> {
        self.refresh();
        self.derived.breakdown()
    }

    /// Ids in the order the table shows them now.
    pub fn visible_ids(&mut self) -> Vec<u32> {
        self.refresh();
        self.derived
            .order(&self.store)
            .iter()
            .map(|key| key.id)
            .collect()
    }
}

impl eframe::App for BpfScopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.intake(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.frames += 1;
        crate::ui::keyboard_commands(&ctx, self.export.is_some(), &mut self.commands);
        self.layout_ui(ui);
        for command in std::mem::take(&mut self.commands) {
            self.run_cmd(&ctx, command);
        }
        // What the commands (or the filter typed this frame) changed is
        // drawn in the next frame, at once.
        if self.refresh() {
            ctx.request_repaint();
        }
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, SETTINGS_KEY, &self.settings);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if std::env::var_os("BPFSCOPE_FRAME_STATS").is_some() {
            let secs = self.started.elapsed().as_secs_f64();
            eprintln!(
                "bpfscope: {} frames in {secs:.1} s ({:.2} per second)",
                self.frames,
                self.frames as f64 / secs.max(1e-9)
            );
        }
    }
}
