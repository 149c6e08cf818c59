//! What survives a restart, kept in eframe's storage.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Grouping, Sort, SortColumn};
use crate::model::Interval;
use crate::model::metrics::Metrics;
use crate::store::Point;

/// How far back the plots reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlotWindow {
    #[default]
    Seconds10,
    Seconds30,
    Minute1,
    Minutes5,
}

impl PlotWindow {
    pub const ALL: [Self; 4] = [
        Self::Seconds10,
        Self::Seconds30,
        Self::Minute1,
        Self::Minutes5,
    ];

    #[must_use]
    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::Seconds10 => 10,
            Self::Seconds30 => 30,
            Self::Minute1 => 60,
            Self::Minutes5 => 300,
        })
    }

    /// The start of the window that ends at `newest_ns` (`CLOCK_BOOTTIME`).
    #[must_use]
    pub fn since(self, newest_ns: u64) -> u64 {
        newest_ns.saturating_sub(self.duration().as_nanos() as u64)
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Seconds10 => "10 s",
            Self::Seconds30 => "30 s",
            Self::Minute1 => "1 min",
            Self::Minutes5 => "5 min",
        }
    }
}

/// What CPU % means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuMode {
    /// Share of one CPU, as `top` and bpftop count (can exceed 100).
    #[default]
    OneCpu,
    /// Share of all online CPUs together (at most 100).
    AllCpus,
    /// CPU time per second of wall time (`34 µs/s`), the unit runtimes are
    /// compared in.
    TimePerSec,
}

impl CpuMode {
    pub const ALL: [Self; 3] = [Self::OneCpu, Self::AllCpus, Self::TimePerSec];

    /// The top bar's name of the mode.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::OneCpu => "% of one CPU",
            Self::AllCpus => "% of all CPUs",
            Self::TimePerSec => "time/s",
        }
    }

    #[must_use]
    pub fn header(self) -> &'static str {
        match self {
            Self::OneCpu => "CPU % (1 CPU)",
            Self::AllCpus => "CPU % (all CPUs)",
            Self::TimePerSec => "CPU time/s",
        }
    }

    /// What a share of one CPU is divided by to be shown in this mode.
    #[must_use]
    pub fn divisor(self, online_cpus: usize) -> f64 {
        match self {
            Self::OneCpu | Self::TimePerSec => 1.0,
            Self::AllCpus => online_cpus.max(1) as f64,
        }
    }

    /// `of one CPU` / `of all CPUs`, after a percentage.
    #[must_use]
    pub fn scope(self) -> &'static str {
        match self {
            Self::OneCpu => "of one CPU",
            Self::AllCpus => "of all CPUs",
            Self::TimePerSec => "of CPU time",
        }
    }

    #[must_use]
    pub fn explanation(self) -> &'static str {
        match self {
            Self::OneCpu => {
                "Share of one CPU, as top and bpftop count: Δrun_time_ns ÷ Δt_ns × 100. \
                 A program busy on two CPUs at once shows 200 %."
            }
            Self::AllCpus => {
                "Share of the whole machine: Δrun_time_ns ÷ (Δt_ns × online CPUs) × 100. \
                 At most 100 %."
            }
            Self::TimePerSec => {
                "CPU time the program took per second of wall time: Δrun_time_ns ÷ Δt. \
                 1 ms/s is 0.1 % of one CPU; compare it with Avg runtime × Events/s."
            }
        }
    }
}

/// Persisted settings. Unknown or invalid stored values fall back to
/// defaults field by field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub sort: Sort,
    pub plot_window: PlotWindow,
    /// Sampling interval in milliseconds (validated on use).
    interval_ms: u64,
    pub cpu_mode: CpuMode,
    /// Optional table columns the user chose to show.
    pub columns: Vec<SortColumn>,
    /// Whether the details pane is open beside the table.
    pub details: bool,
    pub grouping: Grouping,
    pub view: MainView,
    pub thresholds: Thresholds,
    /// Unloaded programs kept at most (the newest), with their history.
    pub gone_kept: usize,
    /// Whether bpfscope's own programs (its iterators) are listed. On by
    /// default: what watching costs is part of what the machine pays, and
    /// a tool that hid its own cost would look free; the rows are muted
    /// and badged so they do not read as the user's programs.
    pub show_own: bool,
    /// The table's share of the height it splits with the plots.
    pub table_share: f32,
    /// The plots folded to a strip under the table.
    pub plots_collapsed: bool,
    /// Width of the details pane, in points.
    pub details_width: f32,
    /// The last Prometheus connected to: URL, user and CA file (never the
    /// password).
    pub fleet_url: String,
    pub fleet_user: String,
    pub fleet_ca: String,
    /// Hosts connected to over ssh, the newest first (at most
    /// [`HOSTS_KEPT`]).
    pub hosts: Vec<String>,
    /// Low-overhead mode: statistics on this percentage of each interval
    /// (`None`: all the time; validated on use).
    #[serde(rename = "stats_duty")]
    low_overhead_percent: Option<u8>,
}

/// Low-overhead choices offered: statistics on this share of each interval.
pub const LOW_OVERHEAD_CHOICES: [Option<u8>; 4] = [None, Some(50), Some(25), Some(10)];

/// Hosts remembered for Connect to host… at most.
pub const HOSTS_KEPT: usize = 10;

/// The table's share of the central area beside the plots, by default:
/// 20 rows and more at the default window size.
pub const TABLE_SHARE: f32 = 0.71;
/// The table's share at least and at most, so neither part vanishes.
pub const TABLE_SHARE_RANGE: std::ops::RangeInclusive<f32> = 0.15..=0.9;
/// The details pane's width by default, at least and at most.
pub const DETAILS_WIDTH: f32 = 400.0;
pub const DETAILS_WIDTH_RANGE: std::ops::RangeInclusive<f32> = 260.0..=900.0;

/// What the central area shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MainView {
    /// The program table (and plots of the selected programs).
    #[default]
    Programs,
    /// Where BPF time goes: the stacked plot and the split by type.
    Breakdown,
    /// Every host Prometheus knows, from `bpfscope serve`.
    Fleet,
}

/// Limits above which rows are highlighted and a notification is raised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Average runtime per run, in nanoseconds.
    pub avg_runtime_ns: Option<f64>,
    /// CPU % of one CPU.
    pub cpu_percent: Option<f64>,
    /// Raise desktop notifications when a program crosses one.
    pub notify: bool,
}

impl Thresholds {
    /// Whether these metrics are over either threshold.
    #[must_use]
    pub fn exceeded(&self, m: &Metrics) -> bool {
        self.avg_runtime_ns.is_some_and(|t| m.avg_runtime_ns > t)
            || self.cpu_percent.is_some_and(|t| m.cpu_percent > t)
    }

    /// Whether any threshold is set.
    #[must_use]
    pub fn any(&self) -> bool {
        self.avg_runtime_ns.is_some() || self.cpu_percent.is_some()
    }
}

/// What a plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotMetric {
    AvgRuntime,
    EventsPerSec,
    Cpu,
}

impl PlotMetric {
    pub const ALL: [Self; 3] = [Self::AvgRuntime, Self::EventsPerSec, Self::Cpu];

    /// The point's value, before any CPU-mode division.
    #[must_use]
    pub fn value(self, point: &Point) -> f64 {
        f64::from(match self {
            Self::AvgRuntime => point.avg_runtime_ns,
            Self::EventsPerSec => point.events_per_sec,
            Self::Cpu => point.cpu_percent,
        })
    }

    /// What values are divided by in `mode`: only CPU shares change.
    #[must_use]
    pub fn divisor(self, mode: CpuMode, online_cpus: usize) -> f64 {
        match self {
            Self::Cpu => mode.divisor(online_cpus),
            Self::AvgRuntime | Self::EventsPerSec => 1.0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sort: Sort::default(),
            plot_window: PlotWindow::default(),
            interval_ms: Interval::DEFAULT.duration().as_millis() as u64,
            cpu_mode: CpuMode::default(),
            columns: vec![SortColumn::Attach],
            details: true,
            grouping: Grouping::None,
            view: MainView::Programs,
            thresholds: Thresholds::default(),
            gone_kept: crate::store::GONE_KEPT,
            show_own: true,
            table_share: TABLE_SHARE,
            plots_collapsed: false,
            details_width: DETAILS_WIDTH,
            fleet_url: String::new(),
            fleet_user: String::new(),
            fleet_ca: String::new(),
            hosts: Vec::new(),
            low_overhead_percent: None,
        }
    }
}

impl Settings {
    /// Low-overhead mode's share of each interval, 1 to 99 %, if on.
    #[must_use]
    pub fn low_overhead_percent(&self) -> Option<u8> {
        self.low_overhead_percent.filter(|p| (1..=99).contains(p))
    }

    pub fn set_low_overhead_percent(&mut self, percent: Option<u8>) {
        self.low_overhead_percent = percent.filter(|p| (1..=99).contains(p));
    }

    /// Puts `host` first in the hosts remembered.
    pub fn remember_host(&mut self, host: &str) {
        self.hosts.retain(|h| h != host);
        self.hosts.insert(0, host.to_owned());
        self.hosts.truncate(HOSTS_KEPT);
    }

    /// The sampling interval; the default if the stored one is out of range.
    #[must_use]
    pub fn interval(&self) -> Interval {
        Interval::new(Duration::from_millis(self.interval_ms)).unwrap_or_default()
    }

    /// The table's share of the height, within range (a stored value may
    /// be anything).
    #[must_use]
    pub fn table_share(&self) -> f32 {
        if self.table_share.is_finite() {
            self.table_share
                .clamp(*TABLE_SHARE_RANGE.start(), *TABLE_SHARE_RANGE.end())
        } else {
            TABLE_SHARE
        }
    }

    /// The details pane's width, within range.
    #[must_use]
    pub fn details_width(&self) -> f32 {
        if self.details_width.is_finite() {
            self.details_width
                .clamp(*DETAILS_WIDTH_RANGE.start(), *DETAILS_WIDTH_RANGE.end())
        } else {
            DETAILS_WIDTH
        }
    }

    pub fn set_interval(&mut self, interval: Interval) {
        self.interval_ms = interval.duration().as_millis() as u64;
    }

    /// Shows an optional column, or hides it again.
    pub fn toggle_column(&mut self, column: SortColumn) {
        if !SortColumn::OPTIONAL.contains(&column) {
            return;
        }
        if let Some(at) = self.columns.iter().position(|c| *c == column) {
            self.columns.remove(at);
        } else {
            self.columns.push(column);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_out_of_range_fall_back() {
        let s: Settings = serde_json::from_str(r#"{"interval_ms": 5}"#).expect("parses");
        assert_eq!(s.interval(), Interval::DEFAULT);
        let s: Settings = serde_json::from_str(r#"{"plot_window": "Minute1"}"#).expect("parses");
        assert_eq!(s.plot_window, PlotWindow::Minute1);
        assert_eq!(s.interval(), Interval::DEFAULT);
        let s: Settings =
            serde_json::from_str(r#"{"table_share": 7.5, "details_width": -3.0}"#).expect("parses");
        assert!((s.table_share() - TABLE_SHARE_RANGE.end()).abs() < f32::EPSILON);
        assert!((s.details_width() - DETAILS_WIDTH_RANGE.start()).abs() < f32::EPSILON);
        let s: Settings = serde_json::from_str(r#"{"show_own": false}"#).expect("parses");
        assert!(!s.show_own);
        assert!((s.table_share() - TABLE_SHARE).abs() < f32::EPSILON);
    }

    #[test]
    fn low_overhead_percent_keeps_its_stored_key() {
        let s: Settings = serde_json::from_str(r#"{"stats_duty": 25}"#).expect("parses");
        assert_eq!(s.low_overhead_percent(), Some(25));
        let stored = serde_json::to_value(&s).expect("serializes");
        assert_eq!(stored["stats_duty"], 25);
    }
}
