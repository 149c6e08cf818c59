//! What the window shows, in the window's own words but without egui:
//! the commands the panels push, the settings that persist, the table's
//! order and groups, the baseline and the thresholds. Pure: no drawing, no
//! files, no `/proc`; the app feeds it and the ui reads it.

mod columns;
mod derived;
mod export;
mod fleet;
mod open;
mod selection;
mod settings;
mod table;

use std::path::PathBuf;

pub use columns::{Sort, SortColumn};
pub use derived::{Baseline, Counts, Derived, DerivedInput, Diffs};
pub use export::{ExportDialog, ExportKind, default_file_name};
pub use fleet::{ConnectDialog, FleetCommand, FleetState, HostColumn};
pub use open::{HostDialog, OpenDialog};
pub use selection::Selection;
pub use settings::{
    CpuMode, DETAILS_WIDTH_RANGE, HOSTS_KEPT, LOW_OVERHEAD_CHOICES, MainView, PlotMetric,
    PlotWindow, Settings, TABLE_SHARE_RANGE, Thresholds,
};
pub use table::{Group, Grouping, TableLayout, TableLine, group, order};

use crate::model::{Action, Interval, ProgramKey, ReplayCommand};

/// An owner with what `/proc` says of it, for the details pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerDetails {
    pub pid: u32,
    pub comm: String,
    /// The command line, or why it cannot be shown.
    pub cmdline: String,
}

/// Programs the breakdown plot shows on their own (the rest are "other").
pub const BREAKDOWN_TOP: usize = 10;

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
    /// Low-overhead mode: statistics on this percentage of each interval
    /// (`None`: all the time).
    SetLowOverhead(Option<u8>),
    SetPlotWindow(PlotWindow),
    SetCpuMode(CpuMode),
    FocusFilter,
    OpenExport,
    CloseExport,
    Browse,
    Export(PathBuf, ExportKind),
    ClearGone,
    /// How many unloaded programs to keep at most.
    SetGoneKept(usize),
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
    /// Lists bpfscope's own programs, or hides them.
    ToggleOwn,
    /// The table's share of the height it splits with the plots.
    SetTableShare(f32),
    /// Folds the plots to a strip, or opens them again.
    TogglePlots,
    /// The details pane's width, in points.
    SetDetailsWidth(f32),
    /// What the source's status offers: authenticate, retry, reconnect.
    Source(Action),
    /// The fleet view's (Prometheus) commands.
    Fleet(FleetCommand),
    /// Starts writing a recording, or ends the one being written.
    ToggleRecording,
    /// Opens the Open a recording dialog.
    OpenRecordingDialog,
    CloseOpenDialog,
    /// The system's file dialog, for the Open dialog.
    BrowseRecording,
    /// Replays this recording instead of what the window shows.
    OpenRecording(PathBuf),
    /// Leaves the replay and watches this machine again.
    WatchThisMachine,
    /// Play, pause, speed, seek, step.
    Replay(ReplayCommand),
    /// Opens Connect to host….
    OpenHostDialog,
    CloseHostDialog,
    /// Watches `host` over ssh, here or in a new window; `command` starts
    /// the sampler there (empty: the default).
    ConnectHost {
        host: String,
        command: String,
        new_window: bool,
    },
}

/// A message of the app's own for the status bar (export results).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}
