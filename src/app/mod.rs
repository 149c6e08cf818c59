//! The bpfscope window: an [`eframe::App`] over a [`Store`].
//!
//! `logic()` drains the source into the store; `ui()` reads the store and
//! records what the user asked for as [`Command`]s, applied after drawing by
//! [`BpfScopeApp::run_cmd`]. No panel changes shared state mid-frame.

mod alerts;
mod export_dialog;
mod keys;
mod settings;
pub mod view;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use eframe::egui;

pub use export_dialog::ExportKind;
pub use settings::{CpuMode, MainView, PlotWindow, Settings, Thresholds};

use crate::model::store::{Averages, Breakdown, Diff, ProgramKey, Row, Store};
use crate::sampler::{Interval, Waker};
use crate::source::{Source, Status};
use crate::sys;
use crate::ui;
use view::{Grouping, SortColumn, ViewCache};

/// Programs the breakdown plot shows on their own (the rest are "other").
pub const BREAKDOWN_TOP: usize = 10;

/// Key under which [`Settings`] live in eframe's storage.
pub const SETTINGS_KEY: &str = "bpfscope-settings";

/// How a click changes the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectMode {
    /// Plain click: this program only.
    Only,
    /// Ctrl-click: add or remove this program.
    Toggle,
    /// Shift-click: add every row from the cursor to this one.
    Range,
}

/// Something the user asked for, applied after the frame is drawn.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Select(ProgramKey, SelectMode),
    MoveCursor(isize),
    PlotCursor,
    ClearSelection,
    TogglePause,
    Sort(SortColumn),
    SetInterval(Interval),
    SetPlotWindow(PlotWindow),
    SetCpuMode(CpuMode),
    FocusFilter,
    OpenExport,
    CloseExport,
    Browse,
    Export(PathBuf, ExportKind),
    ClearGone,
    /// Shows or hides an optional table column.
    ToggleColumn(SortColumn),
    /// Opens or closes the details pane.
    ToggleDetails,
    /// Puts text on the clipboard.
    Copy(String),
    CaptureBaseline,
    ClearBaseline,
    /// Shows or hides the changes against the baseline.
    ToggleDiff,
    SetGrouping(Grouping),
    SetView(MainView),
    SetThresholds(Thresholds),
    /// What the source's status offers: authenticate, retry, reconnect.
    Source(crate::source::Action),
}

/// The table's rows as they were when the display was paused.
#[derive(Debug)]
struct Frozen {
    /// The store's generation at the freeze, with the top bit set: a view
    /// generation the live store never reaches.
    generation: u64,
    rows: Vec<Row>,
    boottime_ns: Option<u64>,
    taken_at: Option<SystemTime>,
    total_cpu_percent: f64,
}

/// What the details pane shows of its program's owners, read from `/proc`
/// when the program or its owners change (not every frame).
#[derive(Debug)]
struct DetailsCache {
    key: ProgramKey,
    owners: String,
    list: Vec<ui::OwnerDetails>,
    user: Option<String>,
    had_facts: bool,
}

/// Averages frozen by "Capture baseline".
#[derive(Debug)]
struct Baseline {
    /// Bumps with each capture.
    serial: u64,
    captured_at: SystemTime,
    window: PlotWindow,
    values: std::collections::HashMap<ProgramKey, Averages>,
}

/// The diffs against the baseline, for one store generation.
#[derive(Debug)]
struct DiffCache {
    generation: u64,
    baseline: u64,
    values: view::Diffs,
}

/// A message of the app's own for the status bar (export results).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}

/// The window.
#[derive(Debug)]
pub struct BpfScopeApp {
    source: Source,
    store: Store,
    settings: Settings,
    filter: String,
    selected: BTreeSet<ProgramKey>,
    cursor: Option<ProgramKey>,
    frozen: Option<Frozen>,
    view: ViewCache,
    export: Option<export_dialog::ExportDialog>,
    notice: Option<Notice>,
    commands: Vec<Command>,
    focus_filter: bool,
    scroll_to_cursor: bool,
    online_cpus: usize,
    details: Option<DetailsCache>,
    baseline: Option<Baseline>,
    /// Diff mode: the table shows changes against the baseline.
    diff: bool,
    diffs: Option<DiffCache>,
    breakdown: Option<(u64, PlotWindow, Breakdown)>,
    alerts: alerts::Alerts,
    /// Started when the first notification is due.
    notifier: Option<alerts::Notifier>,
    /// The store generation the alerts last looked at.
    alerts_generation: u64,
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
        let ctx = cc.egui_ctx.clone();
        // A non-zero delay: egui answers a zero-delay request with two frames
        // ("to let things settle"); a new sample needs one.
        let source = start(
            settings.interval(),
            std::sync::Arc::new(move || ctx.request_repaint_after(Duration::from_millis(1))),
        );
        Self {
            source,
            store: Store::new(),
            settings,
            filter: String::new(),
            selected: BTreeSet::new(),
            cursor: None,
            frozen: None,
            view: ViewCache::default(),
            export: None,
            notice: None,
            commands: Vec::new(),
            focus_filter: false,
            scroll_to_cursor: false,
            online_cpus: sys::online_cpus(),
            details: None,
            baseline: None,
            diff: false,
            diffs: None,
            breakdown: None,
            alerts: alerts::Alerts::default(),
            notifier: None,
            alerts_generation: 0,
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
        &self.selected
    }

    /// Whether the display is paused.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.frozen.is_some()
    }

    /// The status bar's message of the app's own, if any.
    #[must_use]
    pub fn notice(&self) -> Option<&Notice> {
        self.notice.as_ref()
    }

    /// The changes against the baseline, while diff mode is on.
    pub fn diffs(&mut self) -> Option<&view::Diffs> {
        self.refresh_diffs();
        self.diffs.as_ref().map(|d| &d.values)
    }

    /// The table's groups (empty without grouping), with their subtotals.
    pub fn groups(&mut self) -> Vec<view::Group> {
        self.table_view().1.groups.clone()
    }

    /// The table's rows (frozen while paused) and its view of them.
    fn table_view(&mut self) -> (&[Row], &view::View) {
        self.refresh_diffs();
        let (generation, rows) = table_rows(self.frozen.as_ref(), &self.store);
        let view = compute_view(
            &mut self.view,
            generation,
            rows,
            &self.filter,
            &self.settings,
            self.diffs.as_ref(),
        );
        (rows, view)
    }

    /// Ids in the order the table shows them now.
    pub fn visible_ids(&mut self) -> Vec<u32> {
        self.current_order().iter().map(|key| key.id).collect()
    }

    /// Applies one command now (the UI queues them; tests may call this).
    pub fn run_cmd(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::Select(key, mode) => self.select(key, mode),
            Command::MoveCursor(delta) => self.move_cursor(delta),
            Command::PlotCursor => {
                if let Some(key) = self.cursor {
                    self.selected = BTreeSet::from([key]);
                }
            }
            Command::ClearSelection => self.selected.clear(),
            Command::TogglePause => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => Some(Frozen {
                        generation: self.store.generation() | (1 << 63),
                        rows: self.store.rows().to_vec(),
                        boottime_ns: self.store.latest_boottime_ns(),
                        taken_at: self.store.latest_taken_at(),
                        total_cpu_percent: self.store.total_cpu_percent(),
                    }),
                };
            }
            Command::Sort(column) => self.settings.sort = self.settings.sort.clicked(column),
            Command::SetInterval(interval) => {
                self.settings.set_interval(interval);
                self.source.set_interval(interval);
            }
            Command::Source(action) => self.source.act(action),
            Command::SetPlotWindow(window) => self.settings.plot_window = window,
            Command::SetCpuMode(mode) => self.settings.cpu_mode = mode,
            Command::FocusFilter => self.focus_filter = true,
            Command::OpenExport => {
                if self.export.is_none() {
                    self.export = Some(export_dialog::ExportDialog::new());
                }
            }
            Command::CloseExport => self.export = None,
            Command::Browse => {
                if let Some(dialog) = &mut self.export {
                    dialog.browse(ctx);
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
            Command::ClearGone => {
                self.store.clear_gone();
                let live: BTreeSet<ProgramKey> = self.store.rows().iter().map(|r| r.key).collect();
                self.selected.retain(|k| live.contains(k));
            }
        }
    }

    fn current_order(&mut self) -> Vec<ProgramKey> {
        let (rows, view) = self.table_view();
        view.order.iter().map(|&i| rows[i].key).collect()
    }

    /// Recomputes the diffs against the baseline when diff mode is on and
    /// the data or the baseline changed.
    fn refresh_diffs(&mut self) {
        let Some(baseline) = self.baseline.as_ref().filter(|_| self.diff) else {
            self.diffs = None;
            return;
        };
        let generation = self.store.generation();
        if self
            .diffs
            .as_ref()
            .is_some_and(|d| d.generation == generation && d.baseline == baseline.serial)
        {
            return;
        }
        let since = self
            .store
            .latest_boottime_ns()
            .unwrap_or(0)
            .saturating_sub(baseline.window.duration().as_nanos() as u64);
        let now = self.store.window_averages(since);
        let mut values: view::Diffs = now
            .iter()
            .map(|(key, averages)| (*key, Diff::between(averages, baseline.values.get(key))))
            .collect();
        for (key, before) in &baseline.values {
            values
                .entry(*key)
                .or_insert_with(|| Diff::between(&Averages::default(), Some(before)));
        }
        self.diffs = Some(DiffCache {
            generation,
            baseline: baseline.serial,
            values,
        });
    }

    /// Programs over a threshold in the latest period; `None` without
    /// thresholds.
    fn over_threshold(&self) -> Option<usize> {
        let t = self.settings.thresholds;
        t.any().then(|| {
            self.store
                .rows()
                .iter()
                .filter(|r| r.metrics.is_some_and(|m| t.exceeded(&m)))
                .count()
        })
    }

    /// After each new sample: notifies about programs that crossed a
    /// threshold (when the user asked for notifications).
    fn check_thresholds(&mut self) {
        if let Some(failure) = self.notifier.as_ref().and_then(alerts::Notifier::failure) {
            self.notice = Some(Notice::Error(failure));
        }
        let generation = self.store.generation();
        if generation == self.alerts_generation {
            return;
        }
        self.alerts_generation = generation;
        let thresholds = self.settings.thresholds;
        if !thresholds.any() {
            return;
        }
        let note = self
            .alerts
            .update(self.store.rows(), &thresholds, std::time::Instant::now());
        let Some(note) = note.filter(|_| thresholds.notify) else {
            return;
        };
        if self.notifier.is_none() {
            match alerts::Notifier::start() {
                Ok(notifier) => self.notifier = Some(notifier),
                Err(err) => self.notice = Some(Notice::Error(err)),
            }
        }
        if let Some(notifier) = &self.notifier {
            notifier.notify(note);
        }
    }

    /// Recomputes the breakdown when the data or the window changed.
    fn refresh_breakdown(&mut self) {
        let generation = self.store.generation();
        let window = self.settings.plot_window;
        if self
            .breakdown
            .as_ref()
            .is_some_and(|(g, w, _)| *g == generation && *w == window)
        {
            return;
        }
        let since = self
            .store
            .latest_boottime_ns()
            .unwrap_or(0)
            .saturating_sub(window.duration().as_nanos() as u64);
        self.breakdown = Some((
            generation,
            window,
            self.store.breakdown(since, BREAKDOWN_TOP),
        ));
    }

    /// The breakdown the view shows (computed when the view is open).
    pub fn breakdown(&mut self) -> Option<&Breakdown> {
        self.refresh_breakdown();
        self.breakdown.as_ref().map(|(.., b)| b)
    }

    /// Freezes every program's averages over the plot window as the baseline.
    fn capture_baseline(&mut self) {
        let window = self.settings.plot_window;
        let since = self
            .store
            .latest_boottime_ns()
            .unwrap_or(0)
            .saturating_sub(window.duration().as_nanos() as u64);
        let serial = self.baseline.as_ref().map_or(1, |b| b.serial + 1);
        self.baseline = Some(Baseline {
            serial,
            captured_at: self.store.latest_taken_at().unwrap_or_else(SystemTime::now),
            window,
            values: self.store.window_averages(since),
        });
        self.diff = true;
        self.notice = Some(Notice::Info(format!(
            "baseline captured: {} programs, averaged over {}",
            self.baseline.as_ref().map_or(0, |b| b.values.len()),
            window.label()
        )));
    }

    fn select(&mut self, key: ProgramKey, mode: SelectMode) {
        match mode {
            SelectMode::Only => self.selected = BTreeSet::from([key]),
            SelectMode::Toggle => {
                if !self.selected.remove(&key) {
                    self.selected.insert(key);
                }
            }
            SelectMode::Range => {
                let order = self.current_order();
                let to = order.iter().position(|k| *k == key);
                let from = self
                    .cursor
                    .and_then(|c| order.iter().position(|k| *k == c))
                    .or(to);
                if let (Some(a), Some(b)) = (from, to) {
                    let (lo, hi) = (a.min(b), a.max(b));
                    self.selected.extend(order[lo..=hi].iter().copied());
                }
            }
        }
        self.cursor = Some(key);
    }

    fn move_cursor(&mut self, delta: isize) {
        let order = self.current_order();
        if order.is_empty() {
            return;
        }
        let at = self.cursor.and_then(|c| order.iter().position(|k| *k == c));
        let next = match at {
            Some(i) => i.saturating_add_signed(delta).min(order.len() - 1),
            None if delta < 0 => order.len() - 1,
            None => 0,
        };
        self.cursor = Some(order[next]);
        self.scroll_to_cursor = true;
    }

    fn export_to(&mut self, path: &std::path::Path, kind: ExportKind) {
        let rows = match &self.frozen {
            Some(frozen) => frozen.rows.as_slice(),
            None => self.store.rows(),
        };
        let taken_at = match &self.frozen {
            Some(frozen) => frozen.taken_at,
            None => self.store.latest_taken_at(),
        };
        let window = self.settings.plot_window.duration();
        let result = match kind {
            ExportKind::Snapshot => {
                export_dialog::write_snapshot(path, &self.store, rows, taken_at)
            }
            ExportKind::History => {
                let keys: Vec<ProgramKey> = if self.selected.is_empty() {
                    rows.iter().map(|r| r.key).collect()
                } else {
                    self.selected.iter().copied().collect()
                };
                export_dialog::write_history(path, &self.store, &keys, window)
            }
        };
        match result {
            Ok(records) => {
                self.notice = Some(Notice::Info(format!(
                    "exported {records} records to {}",
                    path.display()
                )));
                self.export = None;
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

/// The details pane's owners (with command lines) and user name, read from
/// `/proc` and the password database when the program, its owners or its
/// facts change.
fn owner_details<'a>(
    cache: &'a mut Option<DetailsCache>,
    store: &Store,
    row: &Row,
) -> (&'a [ui::OwnerDetails], Option<&'a str>) {
    let stale = cache.as_ref().is_none_or(|d| {
        d.key != row.key || d.owners != row.text.owners || d.had_facts != row.text.facts.is_some()
    });
    if stale {
        let list = store
            .program(row.key)
            .map(|p| {
                p.owners
                    .iter()
                    .map(|o| ui::OwnerDetails {
                        pid: o.pid,
                        comm: o.comm.to_string(),
                        cmdline: ui::read_cmdline(o.pid),
                    })
                    .collect()
            })
            .unwrap_or_default();
        *cache = Some(DetailsCache {
            key: row.key,
            owners: row.text.owners.clone(),
            list,
            user: row.text.facts.as_ref().and_then(|f| ui::user_name(f.uid)),
            had_facts: row.text.facts.is_some(),
        });
    }
    let cache = cache.as_ref();
    (
        cache.map_or(&[][..], |c| c.list.as_slice()),
        cache.and_then(|c| c.user.as_deref()),
    )
}

/// The table's view of `rows`: filtered, sorted, grouped.
fn compute_view<'a>(
    cache: &'a mut ViewCache,
    generation: u64,
    rows: &[Row],
    filter: &str,
    settings: &Settings,
    diffs: Option<&DiffCache>,
) -> &'a view::View {
    let grouping = settings.grouping;
    let cgroups: std::cell::RefCell<std::collections::HashMap<u32, String>> =
        std::cell::RefCell::default();
    let group_of = |row: &Row| match (&row.text.first_owner, grouping) {
        (None, _) => "(no owning process)".to_owned(),
        (Some((pid, comm)), Grouping::Process | Grouping::None) => format!("{comm} ({pid})"),
        (Some((pid, _)), Grouping::Cgroup) => cgroups
            .borrow_mut()
            .entry(*pid)
            .or_insert_with(|| sys::cgroup_of(*pid))
            .clone(),
    };
    cache.get(&view::ViewInput {
        generation,
        rows,
        filter,
        sort: settings.sort,
        diffs: diffs.map(|d| (d.generation ^ (d.baseline << 48), &d.values)),
        grouping,
        group_of: &group_of,
    })
}

/// The rows the table shows (frozen while paused) and their generation.
fn table_rows<'a>(frozen: Option<&'a Frozen>, store: &'a Store) -> (u64, &'a [Row]) {
    match frozen {
        Some(frozen) => (frozen.generation, &frozen.rows),
        None => (store.generation(), store.rows()),
    }
}

/// The window's parts, each reading the state and queueing commands.
impl BpfScopeApp {
    /// The top bar and the view bar; returns the programs over a threshold.
    fn bars_ui(&mut self, ui: &mut egui::Ui) -> Option<usize> {
        let paused = self.frozen.is_some();
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
        let over_threshold = self.over_threshold();
        egui::Panel::top("view_bar").show(ui, |ui| {
            ui::view_bar_ui(
                ui,
                &ui::ViewBar {
                    settings: &self.settings,
                    baseline: self.baseline.as_ref().map(|b| (b.captured_at, b.window)),
                    diff: self.diff,
                    over_threshold,
                },
                &mut self.commands,
            );
        });
        over_threshold
    }

    fn cpu_divisor(&self) -> f64 {
        match self.settings.cpu_mode {
            CpuMode::OneCpu => 1.0,
            CpuMode::AllCpus => self.online_cpus.max(1) as f64,
        }
    }

    fn status_bar_ui(&mut self, ui: &mut egui::Ui, over_threshold: Option<usize>) {
        let cpu_divisor = self.cpu_divisor();
        let (rows, view) = self.table_view();
        let (shown, total) = (view.order.len(), rows.len());
        let total_cpu = match &self.frozen {
            Some(frozen) => frozen.total_cpu_percent,
            None => self.store.total_cpu_percent(),
        };
        egui::Panel::bottom("status_bar").show(ui, |ui| {
            ui::status_bar_ui(
                ui,
                &ui::StatusBar {
                    shown,
                    total,
                    total_cpu_percent: total_cpu / cpu_divisor,
                    cpu_mode: self.settings.cpu_mode,
                    info: self.store.info(),
                    latest: self.store.latest_taken_at(),
                    paused: self.frozen.is_some(),
                    errors: self.store.errors(),
                    notice: self.notice.as_ref(),
                    problem: self.source.problem(),
                    via: match self.source.status() {
                        Status::Sampling(via) => Some(*via),
                        Status::Waiting(_) | Status::Stopped { .. } => None,
                    },
                    over_threshold,
                },
            );
        });
    }

    fn clock(&self) -> Option<(SystemTime, u64)> {
        self.store
            .latest_taken_at()
            .zip(self.store.latest_boottime_ns())
    }

    /// The details pane: the cursor's program (the one last clicked).
    fn details_ui(&mut self, ui: &mut egui::Ui) {
        let clock = self.clock();
        let (_, rows) = table_rows(self.frozen.as_ref(), &self.store);
        let Some(row) = self
            .cursor
            .filter(|_| self.settings.details)
            .and_then(|key| rows.binary_search_by_key(&key, |r| r.key).ok())
            .and_then(|i| rows.get(i))
        else {
            return;
        };
        let (owners, user) = owner_details(&mut self.details, &self.store, row);
        let input = ui::DetailsInput {
            row,
            owners,
            user,
            clock,
            online_cpus: self.online_cpus as f64,
            cpu_mode: self.settings.cpu_mode,
        };
        egui::Panel::right("details")
            .resizable(true)
            .default_size(380.0)
            .show(ui, |ui| ui::details_ui(ui, &input, &mut self.commands));
    }

    /// The table and plots, or the breakdown.
    fn central_ui(&mut self, ui: &mut egui::Ui) {
        let cpu_divisor = self.cpu_divisor();
        let clock = self.clock();
        let columns = SortColumn::visible(&self.settings.columns, self.diffs.is_some());
        let (generation, rows) = table_rows(self.frozen.as_ref(), &self.store);
        let view = compute_view(
            &mut self.view,
            generation,
            rows,
            &self.filter,
            &self.settings,
            self.diffs.as_ref(),
        );
        let plotting = !self.selected.is_empty();
        let now = match &self.frozen {
            Some(frozen) => frozen.boottime_ns,
            None => self.store.latest_boottime_ns(),
        };
        // The framebuffer is cleared to the panel colour (see `clear_color`),
        // so the central panel paints no background of its own: one
        // full-window pass less per frame where OpenGL runs on the CPU.
        let central = egui::Frame::central_panel(ui.style()).fill(egui::Color32::TRANSPARENT);
        egui::CentralPanel::default().frame(central).show(ui, |ui| {
            ui::source_status_ui(
                ui,
                self.source.status(),
                !self.store.rows().is_empty(),
                &mut self.commands,
            );
            if self.settings.view == MainView::Breakdown {
                if let Some((.., breakdown)) = &self.breakdown {
                    ui::breakdown_ui(
                        ui,
                        breakdown,
                        now,
                        self.settings.plot_window,
                        cpu_divisor,
                        self.settings.cpu_mode,
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
                    rows,
                    lines: &view.lines,
                    groups: &view.groups,
                    selected: &self.selected,
                    cursor: self.cursor,
                    scroll_to_cursor: std::mem::take(&mut self.scroll_to_cursor),
                    sort: self.settings.sort,
                    online_cpus: self.online_cpus as f64,
                    cpu_mode: self.settings.cpu_mode,
                    max_height: table_height,
                    columns: &columns,
                    clock,
                    diffs: self.diffs.as_ref().map(|d| &d.values),
                    thresholds: self.settings.thresholds,
                },
                &mut self.commands,
            );
            if plotting {
                ui.separator();
                ui::plots_ui(
                    ui,
                    &self.store,
                    &self.selected,
                    now,
                    self.settings.plot_window,
                    cpu_divisor,
                    self.settings.cpu_mode,
                );
            }
        });
    }
}

impl eframe::App for BpfScopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        for event in self.source.drain() {
            self.store.push(event);
        }
        if let Some(dialog) = &mut self.export {
            dialog.poll_browse();
        }
        self.check_thresholds();
        if matches!(self.source.status(), Status::Sampling(_)) {
            // Keeps "sample N s ago" honest if the sampler stalls. Samples
            // wake the window themselves; this fires only when one is late,
            // so a steady 1 Hz sampler costs one frame a second, not two.
            let stall = self.settings.interval().duration().mul_f32(1.5);
            ctx.request_repaint_after(stall.max(Duration::from_secs(1)));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        self.frames += 1;
        keys::keyboard_commands(&ctx, self.export.is_some(), &mut self.commands);

        let over_threshold = self.bars_ui(ui);
        if self.settings.view == MainView::Breakdown {
            self.refresh_breakdown();
        }
        self.refresh_diffs();
        self.status_bar_ui(ui, over_threshold);
        self.details_ui(ui);
        self.central_ui(ui);

        if let Some(dialog) = &mut self.export {
            dialog.ui(&ctx, &mut self.commands);
        }

        for command in std::mem::take(&mut self.commands) {
            self.run_cmd(&ctx, command);
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
