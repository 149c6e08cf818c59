//! One moment of what the window shows: every program's latest row, the
//! history behind it, markers, facts and links, as of one sample.
//!
//! Per program it keeps the latest row for the table and a ring of recent
//! points for the plots. History is stored as columns against one shared
//! time column (every program is sampled at the same instants), pruned by
//! age and by count, so 5,000 programs with five minutes of history stay
//! small. Programs that disappear stay, marked gone, until cleared.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

mod per_cpu;
mod retire;

pub use per_cpu::{Cell, PER_CPU_CELLS_MAX, PerCpuLatest, Period};

use super::row::{Row, RowText};
use super::{HISTORY_AGE, HISTORY_POINTS, MARKERS_KEPT};
use crate::model::metrics::{Metrics, baseline, delta_metrics, measured_ns, total_cpu_percent};
use crate::model::{Catalog, ProgramKey, ProgramSample, Sample};
use per_cpu::PerCpuHistory;

/// A program load or unload seen between two samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When: the load time for loads; the sample that missed the program
    /// first for unloads (it went away during the period before).
    pub boottime_ns: u64,
    pub loaded: bool,
    pub key: ProgramKey,
    pub name: String,
}

/// One plotted point of one program.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// `CLOCK_BOOTTIME` of the sample, in nanoseconds.
    pub boottime_ns: u64,
    /// Wall-clock time of the sample.
    pub wall: SystemTime,
    pub avg_runtime_ns: f32,
    pub events_per_sec: f32,
    /// Share of one CPU, in percent.
    pub cpu_percent: f32,
}

/// When a sample was taken: the kernel's boot-time clock and the wall clock.
#[derive(Clone, Copy, Debug)]
pub(super) struct SampleTime {
    pub(super) boottime_ns: u64,
    pub(super) wall: SystemTime,
}

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) latest: ProgramSample,
    pub(super) text: Arc<RowText>,
    /// Global index of the last sample that listed this program.
    pub(super) seen: u64,
    /// Global sample index of `values[0]`.
    pub(super) first: u64,
    pub(super) values: VecDeque<[f32; 3]>,
}

impl Entry {
    pub(super) fn key(&self) -> ProgramKey {
        ProgramKey::of(&self.latest)
    }

    /// Appends sample `index`'s point (reserving `points` for a new series),
    /// or ends the series when the sample has no metrics for it.
    fn record(&mut self, metrics: Option<&Metrics>, index: u64, points: usize) {
        if let Some(m) = metrics {
            if self.values.is_empty() || self.first + self.values.len() as u64 != index {
                // First point, or a gap (a missed sample): (re)start the series.
                self.values.clear();
                self.first = index;
                if self.values.capacity() < points {
                    self.values.reserve_exact(points);
                }
            }
            self.values.push_back([
                m.avg_runtime_ns as f32,
                m.events_per_sec as f32,
                m.cpu_percent as f32,
            ]);
        } else {
            // No baseline (a new series): the next point starts it.
            self.values.clear();
            self.first = index + 1;
        }
    }
}

/// The data of one moment. Cloned when the display is paused: the clone is
/// bounded like the live data (by the programs and the history kept).
#[derive(Clone, Debug, Default)]
pub struct Moment {
    /// Sample times; `times[0]` has global index `base`.
    pub(super) times: VecDeque<SampleTime>,
    pub(super) base: u64,
    /// Sorted by key.
    pub(super) entries: Vec<Entry>,
    rows: Vec<Row>,
    latest_taken_at: Option<SystemTime>,
    total_cpu_percent: f64,
    /// Every program's runs a second over the latest period.
    total_events_per_sec: f64,
    /// Low-overhead mode: how long statistics were on in the latest period,
    /// and the period, in nanoseconds.
    sampled: Option<(u64, u64)>,
    /// Facts and links, kept while the program's row is.
    catalog: Catalog,
    markers: VecDeque<Marker>,
    /// Unloaded programs kept at most (the newest); `None`: [`GONE_KEPT`].
    gone_limit: Option<usize>,
    /// When the latest sample's owners were read.
    owners_read_ns: Option<u64>,
    /// Rows of unloaded programs.
    gone: usize,
    per_cpu: PerCpuHistory,
}

impl Moment {
    /// The facts and links this moment knows.
    #[must_use]
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Keeps at most `limit` unloaded programs (the newest ones).
    pub fn set_gone_limit(&mut self, limit: usize) {
        self.gone_limit = Some(limit);
        self.retire_gone();
    }

    /// How old the owners of the latest sample were when it was taken;
    /// `None` when the source reads no owners.
    #[must_use]
    pub fn owners_age(&self) -> Option<std::time::Duration> {
        let read = self.owners_read_ns?;
        let at = self.latest_boottime_ns()?;
        Some(std::time::Duration::from_nanos(at.saturating_sub(read)))
    }

    /// Unloaded programs shown now.
    #[must_use]
    pub fn gone_count(&self) -> usize {
        self.gone
    }

    /// Takes in one sample: rows, history and totals.
    ///
    /// One merge of two id-sorted lists (the old entries and the sample's
    /// programs, which move into the entries): no lookups, no copies of the
    /// sample, no per-program allocation unless a name or owner changed.
    pub fn push_sample(&mut self, mut sample: Sample) {
        let index = self.base + self.times.len() as u64;
        let prev_boottime = self.times.back().map(|t| t.boottime_ns);
        self.times.push_back(SampleTime {
            boottime_ns: sample.boottime_ns,
            wall: sample.taken_at,
        });

        // Points a series holds at this interval: reserved exactly, as a
        // growing VecDeque would round 300 up to 512.
        let points =
            (HISTORY_AGE.as_secs_f64() / sample.period.as_secs_f64().max(0.001)).ceil() as usize;
        let points = points.saturating_add(2).min(HISTORY_POINTS + 1);
        self.per_cpu.push_from(&mut sample, prev_boottime);
        self.sampled =
            (sample.stats_on_ns).zip(prev_boottime.map(|p| sample.boottime_ns.saturating_sub(p)));
        let absorbed = self.catalog.absorb(&mut sample);
        let fresh: HashSet<ProgramKey> = absorbed.facts.into_iter().collect();
        let links_changed = absorbed.links;
        let mut programs = sample.programs;
        programs.sort_unstable_by_key(ProgramKey::of);
        // Facts of programs this sample does not list are kept by no row:
        // a source that sends them (by mistake, or hostile) must not grow
        // the catalog without bound.
        for key in &fresh {
            if programs.binary_search_by_key(key, ProgramKey::of).is_err() {
                self.catalog.remove(*key);
            }
        }
        let old = std::mem::take(&mut self.entries);
        let mut entries = Vec::with_capacity(old.len().max(programs.len()));
        let mut rows = Vec::with_capacity(entries.capacity());
        let mut old = old.into_iter().peekable();
        let mut new_markers = Vec::new();
        let mut gone_rows = 0;

        for program in programs {
            let key = ProgramKey::of(&program);
            // Entries before this program are gone (or were gone already).
            while let Some(gone) = old.next_if(|e| e.key() < key) {
                unloaded(&gone, index, sample.boottime_ns, &mut new_markers);
                rows.push(Row::gone(&gone.latest, Arc::clone(&gone.text)));
                entries.push(gone);
                gone_rows += 1;
            }
            let found = old.next_if(|e| e.key() == key);
            let metrics = prev_boottime.and_then(|prev_boottime| {
                let prev = found
                    .as_ref()
                    .filter(|e| e.seen + 1 == index)
                    .map(|e| e.latest.counters());
                let start = baseline(prev, prev_boottime, program.load_time_ns)?;
                let elapsed = measured_ns(sample.stats_on_ns, sample.boottime_ns, prev_boottime)?;
                delta_metrics(start, program.counters(), elapsed)
            });
            let mut entry = if let Some(mut entry) = found {
                if entry.latest.name != program.name
                    || entry.latest.owners != program.owners
                    || links_changed
                    || fresh.contains(&key)
                {
                    entry.text = Arc::new(self.row_text(&program));
                }
                entry.latest = program;
                entry
            } else {
                // Loaded since the previous sample (the first sample's
                // programs were there before bpfscope looked).
                let text = Arc::new(self.row_text(&program));
                if let Some(prev) = prev_boottime {
                    // Not `clamp`: a source whose clock went backwards
                    // must not panic the window.
                    new_markers.push(Marker {
                        boottime_ns: program.load_time_ns.max(prev).min(sample.boottime_ns),
                        loaded: true,
                        key,
                        name: text.name.clone(),
                    });
                }
                Entry {
                    text,
                    latest: program,
                    seen: index,
                    first: index,
                    values: VecDeque::new(),
                }
            };
            entry.seen = index;
            entry.record(metrics.as_ref(), index, points);
            rows.push(Row::new(&entry.latest, Arc::clone(&entry.text), metrics));
            entries.push(entry);
        }
        for gone in old {
            unloaded(&gone, index, sample.boottime_ns, &mut new_markers);
            rows.push(Row::gone(&gone.latest, Arc::clone(&gone.text)));
            entries.push(gone);
            gone_rows += 1;
        }
        self.gone = gone_rows;
        new_markers.sort_by_key(|m| m.boottime_ns);
        self.markers.extend(new_markers);
        let excess = self.markers.len().saturating_sub(MARKERS_KEPT);
        self.markers.drain(..excess);

        self.per_cpu.set_spreads(&mut rows);
        self.total_cpu_percent =
            total_cpu_percent(rows.iter().filter_map(|row| row.metrics.as_ref()));
        self.total_events_per_sec = per_cpu::total_events_per_sec(&rows);
        self.entries = entries;
        self.rows = rows;
        self.latest_taken_at = Some(sample.taken_at);
        self.owners_read_ns = sample.owners_read_ns;
        self.prune();
        self.retire_gone();
    }

    fn row_text(&self, program: &ProgramSample) -> RowText {
        RowText::with_facts(
            program,
            self.catalog.facts(ProgramKey::of(program)).cloned(),
            self.catalog.links(program.id),
        )
    }

    /// Forgets programs that are no longer loaded, with their history;
    /// whether there were any.
    pub fn clear_gone(&mut self) -> bool {
        let before = self.rows.len();
        self.rows.retain(|row| !row.gone);
        if self.rows.len() == before {
            return false;
        }
        self.gone = 0;
        let newest = self.base + self.times.len() as u64;
        self.entries.retain(|e| e.seen + 1 == newest);
        let kept: HashSet<ProgramKey> = self.entries.iter().map(Entry::key).collect();
        self.catalog.retain(|k| kept.contains(k));
        true
    }

    /// Loads and unloads seen, oldest first.
    #[must_use]
    pub fn markers(&self) -> &VecDeque<Marker> {
        &self.markers
    }

    /// One program's row.
    #[must_use]
    pub fn row(&self, key: ProgramKey) -> Option<&Row> {
        self.rows
            .binary_search_by_key(&key, |r| r.key)
            .ok()
            .and_then(|i| self.rows.get(i))
    }

    /// Every row, in key order.
    #[must_use]
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Wall-clock time of the latest sample.
    #[must_use]
    pub fn latest_taken_at(&self) -> Option<SystemTime> {
        self.latest_taken_at
    }

    /// `CLOCK_BOOTTIME` of the latest sample.
    #[must_use]
    pub fn latest_boottime_ns(&self) -> Option<u64> {
        self.times.back().map(|t| t.boottime_ns)
    }

    /// The latest raw reading of a program.
    #[must_use]
    pub fn program(&self, key: ProgramKey) -> Option<&ProgramSample> {
        self.entry(key).map(|e| &e.latest)
    }

    pub(super) fn entry(&self, key: ProgramKey) -> Option<&Entry> {
        self.entries
            .binary_search_by_key(&key, Entry::key)
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// A program's points, oldest first.
    pub fn history(&self, key: ProgramKey) -> impl Iterator<Item = Point> + '_ {
        let entry = self.entry(key);
        let first = entry.map_or(0, |e| e.first);
        entry
            .into_iter()
            .flat_map(|e| e.values.iter())
            .enumerate()
            .filter_map(move |(i, v)| {
                let at = usize::try_from(first + i as u64 - self.base).ok()?;
                let t = self.times.get(at)?;
                Some(Point {
                    boottime_ns: t.boottime_ns,
                    wall: t.wall,
                    avg_runtime_ns: v[0],
                    events_per_sec: v[1],
                    cpu_percent: v[2],
                })
            })
    }

    /// Sum of every program's CPU % (of one CPU) over the latest period.
    #[must_use]
    pub fn total_cpu_percent(&self) -> f64 {
        self.total_cpu_percent
    }

    /// Number of samples kept.
    #[must_use]
    pub fn sample_count(&self) -> usize {
        self.times.len()
    }
}

/// An unload marker for an entry missing from sample `index`, if it was in
/// the sample before (else it went away earlier and was marked then).
fn unloaded(gone: &Entry, index: u64, boottime_ns: u64, markers: &mut Vec<Marker>) {
    if gone.seen + 1 == index {
        markers.push(Marker {
            boottime_ns,
            loaded: false,
            key: gone.key(),
            name: gone.text.name.clone(),
        });
    }
}
