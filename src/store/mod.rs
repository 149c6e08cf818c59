//! Everything the window shows, fed one [`SourceEvent`] at a time.
//!
//! The store owns two moments: the live one, which every sample updates,
//! and, while the display is paused, a frozen copy taken at the pause. Every
//! reader (table, status bar, plots, diffs, breakdown, details, export) goes
//! through the same accessors, which read the frozen moment while paused:
//! no view can show one moment while another shows the next. Sampling and
//! history go on underneath; resuming shows the live moment at once.

mod aggregate;
mod moment;
mod row;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use crate::model::{ProgramKey, ProgramSample, Sample, SourceEvent, SourceInfo};
pub use aggregate::{Averages, Band, Breakdown, Diff};
pub use moment::{Cell, Marker, Moment, PER_CPU_CELLS_MAX, PerCpuLatest, Period, Point};
pub use row::{Row, RowText, program_label};

/// How far back history is kept: the longest plot window.
pub const HISTORY_AGE: Duration = Duration::from_secs(5 * 60);
/// At most this many points per program (3,000 = 5 min at 0.1 s).
pub const HISTORY_POINTS: usize = 3_000;
/// Messages from the source kept for the status bar (the newest).
pub const ERRORS_KEPT: usize = 100;
/// Load and unload markers kept (the newest, within [`HISTORY_AGE`]).
pub const MARKERS_KEPT: usize = 1_000;
/// Facts kept ahead of the next sample at most, and their bytes (another
/// host's sampler, or a hostile one, can send large facts).
pub const FACTS_AHEAD_MAX: usize = 1_000_000;
pub const FACTS_AHEAD_BYTES_MAX: usize = 256 << 20;
/// Longest source message kept, in bytes.
pub const MESSAGE_MAX: usize = 4_096;
/// Unloaded programs kept by default (the newest, within [`HISTORY_AGE`]).
pub const GONE_KEPT: usize = 1_000;

/// How much a source message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The data is incomplete (owners or links could not be read).
    Warning,
    /// A pass failed.
    Error,
}

/// A message from the source, for the status bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub severity: Severity,
    pub text: String,
}

/// The window's data: the live moment, and the frozen one while paused.
#[derive(Debug, Default)]
pub struct Store {
    live: Moment,
    frozen: Option<Box<Moment>>,
    info: Option<SourceInfo>,
    messages: VecDeque<Message>,
    /// Facts sent ahead of the next sample.
    facts_ahead: Vec<crate::model::ProgramFacts>,
    facts_ahead_bytes: usize,
    generation: u64,
    /// Unloaded programs kept at most, once set.
    gone_limit: Option<usize>,
}

impl Store {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one event from the source.
    pub fn push(&mut self, event: SourceEvent) {
        match event {
            SourceEvent::Hello(info) => {
                // Notices stay with the source's info (the status bar's
                // tooltip); they are facts, not errors. A new source's
                // samples owe nothing to facts an old one sent ahead.
                self.facts_ahead.clear();
                self.facts_ahead_bytes = 0;
                self.info = Some(info);
                self.generation += 1;
            }
            SourceEvent::Sample(mut sample) => {
                // Facts sent ahead belong to this sample.
                let mut ahead = std::mem::take(&mut self.facts_ahead);
                self.facts_ahead_bytes = 0;
                ahead.append(&mut sample.facts);
                sample.facts = ahead;
                self.push_sample(sample);
            }
            SourceEvent::Facts(facts) => {
                // Bounded: a source that sends facts and never a sample
                // cannot grow this past one sample's worth.
                for facts in facts {
                    let size = facts.approx_bytes();
                    if self.facts_ahead.len() < FACTS_AHEAD_MAX
                        && self.facts_ahead_bytes + size <= FACTS_AHEAD_BYTES_MAX
                    {
                        self.facts_ahead_bytes += size;
                        self.facts_ahead.push(facts);
                    }
                }
            }
            SourceEvent::Warning(text) => self.push_message(Severity::Warning, text),
            SourceEvent::Error(text) => self.push_message(Severity::Error, text),
        }
    }

    /// Keeps the newest [`ERRORS_KEPT`] messages: a source failing on every
    /// pass must not grow memory without bound.
    fn push_message(&mut self, severity: Severity, mut text: String) {
        // Whatever its source, a message is a line for the status bar.
        crate::model::truncate_at_char(&mut text, MESSAGE_MAX);
        if self.messages.len() >= ERRORS_KEPT {
            self.messages.pop_front();
        }
        self.messages.push_back(Message { severity, text });
        self.generation += 1;
    }

    /// Takes in one sample. While paused it goes into the live moment only;
    /// what the window shows stays as it was.
    pub fn push_sample(&mut self, sample: Sample) {
        self.live.push_sample(sample);
        if self.frozen.is_none() {
            self.generation += 1;
        }
    }

    /// Freezes what every view shows at the latest sample.
    pub fn pause(&mut self) {
        if self.frozen.is_none() {
            self.frozen = Some(Box::new(self.live.clone()));
            self.generation += 1;
        }
    }

    /// Shows the live moment again.
    pub fn resume(&mut self) {
        if self.frozen.take().is_some() {
            self.generation += 1;
        }
    }

    /// Whether the display is frozen.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.frozen.is_some()
    }

    /// What the window shows: the frozen moment while paused, else the live.
    #[must_use]
    pub fn shown(&self) -> &Moment {
        self.frozen.as_deref().unwrap_or(&self.live)
    }

    /// The latest sample's moment, paused or not (desktop notifications
    /// follow the machine, not the display).
    #[must_use]
    pub fn live(&self) -> &Moment {
        &self.live
    }

    /// Forgets programs that are no longer loaded, in the live and the
    /// shown moment.
    pub fn clear_gone(&mut self) {
        let mut changed = self.live.clear_gone();
        if let Some(frozen) = &mut self.frozen {
            changed |= frozen.clear_gone();
        }
        if changed {
            self.generation += 1;
        }
    }

    /// Shows `moment` instead of the live one (a replay's seek): paused or
    /// not, every view reads it from now on. Gives back the one replaced
    /// (freeing it can take longer than a frame should).
    pub fn replace_live(&mut self, mut moment: Moment) -> Moment {
        if let Some(limit) = self.gone_limit {
            moment.set_gone_limit(limit);
        }
        self.frozen = None;
        self.facts_ahead.clear();
        self.facts_ahead_bytes = 0;
        self.generation += 1;
        std::mem::replace(&mut self.live, moment)
    }

    /// Keeps at most `limit` unloaded programs, the newest, in both moments.
    pub fn set_gone_limit(&mut self, limit: usize) {
        self.gone_limit = Some(limit);
        self.live.set_gone_limit(limit);
        if let Some(frozen) = &mut self.frozen {
            frozen.set_gone_limit(limit);
        }
        self.generation += 1;
    }

    /// Bumps whenever what any view shows changes: keys every cache of
    /// derived data.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// What the source said about itself.
    #[must_use]
    pub fn info(&self) -> Option<&SourceInfo> {
        self.info.as_ref()
    }

    /// Messages from the source, oldest first (the newest [`ERRORS_KEPT`]).
    #[must_use]
    pub fn messages(&self) -> impl DoubleEndedIterator<Item = &Message> + ExactSizeIterator {
        self.messages.iter()
    }

    /// The newest message from the source.
    #[must_use]
    pub fn last_message(&self) -> Option<&Message> {
        self.messages.back()
    }

    /// Samples received and kept (live, paused or not).
    #[must_use]
    pub fn sample_count(&self) -> usize {
        self.live.sample_count()
    }

    // What the window shows, from the shown moment.

    /// Every row, in key order.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        self.shown().rows()
    }

    /// One program's row.
    #[must_use]
    pub fn row(&self, key: ProgramKey) -> Option<&Row> {
        self.shown().row(key)
    }

    /// The latest raw reading of a program.
    #[must_use]
    pub fn program(&self, key: ProgramKey) -> Option<&ProgramSample> {
        self.shown().program(key)
    }

    /// A program's points, oldest first.
    pub fn history(&self, key: ProgramKey) -> impl Iterator<Item = Point> + '_ {
        self.shown().history(key)
    }

    /// Loads and unloads seen, oldest first.
    #[must_use]
    pub fn markers(&self) -> &VecDeque<Marker> {
        self.shown().markers()
    }

    /// Wall-clock time of the shown sample.
    #[must_use]
    pub fn latest_taken_at(&self) -> Option<SystemTime> {
        self.shown().latest_taken_at()
    }

    /// `CLOCK_BOOTTIME` of the shown sample.
    #[must_use]
    pub fn latest_boottime_ns(&self) -> Option<u64> {
        self.shown().latest_boottime_ns()
    }

    /// Wall clock and `CLOCK_BOOTTIME` of the shown sample, to turn load
    /// times into local times.
    #[must_use]
    pub fn clock(&self) -> Option<(SystemTime, u64)> {
        self.latest_taken_at().zip(self.latest_boottime_ns())
    }

    /// Sum of every program's CPU % (of one CPU) over the shown period.
    #[must_use]
    pub fn total_cpu_percent(&self) -> f64 {
        self.shown().total_cpu_percent()
    }

    /// Every program's averages over the samples after `since_ns`.
    #[must_use]
    pub fn window_averages(
        &self,
        since_ns: u64,
    ) -> std::collections::HashMap<ProgramKey, Averages> {
        self.shown().window_averages(since_ns)
    }

    /// Where BPF time went after `since_ns`: the `top` programs and "other".
    #[must_use]
    pub fn breakdown(&self, since_ns: u64, top: usize, with_own: bool) -> Breakdown {
        self.shown().breakdown(since_ns, top, with_own)
    }
}
