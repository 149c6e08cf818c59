//! Everything the window shows, fed one [`SourceEvent`] at a time.
//!
//! Per program the store keeps the latest row for the table and a ring of
//! recent points for the plots. History is stored as columns against one
//! shared time column (every program is sampled at the same instants), pruned
//! by age and by count, so 5,000 programs with five minutes of history stay
//! small. Programs that disappear stay, marked gone, until cleared.

mod aggregate;

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::metrics::{baseline, delta_metrics, total_cpu_percent};
pub use super::row::{ProgramKey, Row, RowText};
use super::{Catalog, ProgramSample, Sample};
use crate::sampler::{SourceEvent, SourceInfo};
pub use aggregate::{Averages, Band, Breakdown, Diff};

/// How far back history is kept: the longest plot window.
pub const HISTORY_AGE: Duration = Duration::from_secs(5 * 60);
/// At most this many points per program (3,000 = 5 min at 0.1 s).
pub const HISTORY_POINTS: usize = 3_000;
/// Messages from the source kept for the status bar (the newest).
pub const ERRORS_KEPT: usize = 100;
/// Load and unload markers kept (the newest, within [`HISTORY_AGE`]).
pub const MARKERS_KEPT: usize = 1_000;

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

#[derive(Clone, Copy, Debug)]
struct Instant {
    boottime_ns: u64,
    wall: SystemTime,
}

#[derive(Debug)]
struct Entry {
    latest: ProgramSample,
    text: Arc<RowText>,
    /// Global index of the last sample that listed this program.
    seen: u64,
    /// Global sample index of `values[0]`.
    first: u64,
    values: VecDeque<[f32; 3]>,
}

impl Entry {
    fn key(&self) -> ProgramKey {
        ProgramKey::of(&self.latest)
    }

    /// Appends sample `index`'s point (reserving `points` for a new series),
    /// or ends the series when the sample has no metrics for it.
    fn record(&mut self, metrics: Option<&super::metrics::Metrics>, index: u64, points: usize) {
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

/// The window's data.
#[derive(Debug, Default)]
pub struct Store {
    info: Option<SourceInfo>,
    /// Sample times; `times[0]` has global index `base`.
    times: VecDeque<Instant>,
    base: u64,
    /// Sorted by key.
    entries: Vec<Entry>,
    rows: Vec<Row>,
    latest_taken_at: Option<SystemTime>,
    generation: u64,
    total_cpu_percent: f64,
    errors: Vec<String>,
    /// Facts and links, kept while the program's row is.
    catalog: Catalog,
    markers: VecDeque<Marker>,
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
                // tooltip); they are facts, not errors.
                self.info = Some(info);
                self.generation += 1;
            }
            SourceEvent::Sample(sample) => self.push_sample(sample),
            SourceEvent::Error(message) => {
                self.push_error(message);
                self.generation += 1;
            }
        }
    }

    /// Keeps the newest [`ERRORS_KEPT`] messages: a source failing on every
    /// pass must not grow memory without bound.
    fn push_error(&mut self, message: String) {
        if self.errors.len() >= ERRORS_KEPT {
            self.errors.remove(0);
        }
        self.errors.push(message);
    }

    /// Takes in one sample: rows, history and totals.
    ///
    /// One merge of two id-sorted lists (the old entries and the sample's
    /// programs, which move into the entries): no lookups, no copies of the
    /// sample, no per-program allocation unless a name or owner changed.
    pub fn push_sample(&mut self, mut sample: Sample) {
        let index = self.base + self.times.len() as u64;
        let prev_boottime = self.times.back().map(|t| t.boottime_ns);
        self.times.push_back(Instant {
            boottime_ns: sample.boottime_ns,
            wall: sample.taken_at,
        });

        // Points a series holds at this interval: reserved exactly, as a
        // growing VecDeque would round 300 up to 512.
        let points =
            (HISTORY_AGE.as_secs_f64() / sample.period.as_secs_f64().max(0.001)).ceil() as usize;
        let points = points.saturating_add(2).min(HISTORY_POINTS + 1);
        let absorbed = self.catalog.absorb(&mut sample);
        let fresh: HashSet<ProgramKey> = absorbed.facts.into_iter().collect();
        let links_changed = absorbed.links;
        let mut programs = sample.programs;
        programs.sort_unstable_by_key(ProgramKey::of);
        let old = std::mem::take(&mut self.entries);
        let mut entries = Vec::with_capacity(old.len().max(programs.len()));
        let mut rows = Vec::with_capacity(entries.capacity());
        let mut old = old.into_iter().peekable();
        let mut new_markers = Vec::new();

        for program in programs {
            let key = ProgramKey::of(&program);
            // Entries before this program are gone (or were gone already).
            while let Some(gone) = old.next_if(|e| e.key() < key) {
                unloaded(&gone, index, sample.boottime_ns, &mut new_markers);
                rows.push(Row::gone(&gone.latest, Arc::clone(&gone.text)));
                entries.push(gone);
            }
            let found = old.next_if(|e| e.key() == key);
            let metrics = prev_boottime.and_then(|prev_boottime| {
                let prev = found
                    .as_ref()
                    .filter(|e| e.seen + 1 == index)
                    .map(|e| e.latest.counters());
                let start = baseline(prev, prev_boottime, program.load_time_ns)?;
                let elapsed = sample.boottime_ns.checked_sub(prev_boottime)?;
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
                    new_markers.push(Marker {
                        boottime_ns: program.load_time_ns.clamp(prev, sample.boottime_ns),
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
        }
        new_markers.sort_by_key(|m| m.boottime_ns);
        self.markers.extend(new_markers);
        let excess = self.markers.len().saturating_sub(MARKERS_KEPT);
        self.markers.drain(..excess);

        self.total_cpu_percent =
            total_cpu_percent(rows.iter().filter_map(|row| row.metrics.as_ref()));
        self.entries = entries;
        self.rows = rows;
        self.latest_taken_at = Some(sample.taken_at);
        self.prune();
        self.generation += 1;
    }

    fn row_text(&self, program: &ProgramSample) -> RowText {
        RowText::with_facts(
            program,
            self.catalog.facts(ProgramKey::of(program)).cloned(),
            self.catalog.links(program.id),
        )
    }

    fn prune(&mut self) {
        let Some(newest) = self.times.back().map(|t| t.boottime_ns) else {
            return;
        };
        let horizon = newest.saturating_sub(HISTORY_AGE.as_nanos() as u64);
        let old_markers = self.markers.partition_point(|m| m.boottime_ns < horizon);
        self.markers.drain(..old_markers);
        let by_age = self.times.partition_point(|t| t.boottime_ns < horizon);
        let by_count = self.times.len().saturating_sub(HISTORY_POINTS);
        let drop = by_age.max(by_count);
        if drop == 0 {
            return;
        }
        self.times.drain(..drop);
        self.base += drop as u64;
        for entry in &mut self.entries {
            if entry.first < self.base {
                let stale = usize::try_from(self.base - entry.first)
                    .unwrap_or(usize::MAX)
                    .min(entry.values.len());
                entry.values.drain(..stale);
                entry.first = self.base;
            }
        }
    }

    /// Forgets programs that are no longer loaded, with their history.
    pub fn clear_gone(&mut self) {
        let before = self.rows.len();
        self.rows.retain(|row| !row.gone);
        if self.rows.len() != before {
            let newest = self.base + self.times.len() as u64;
            self.entries.retain(|e| e.seen + 1 == newest);
            let kept: HashSet<ProgramKey> = self.entries.iter().map(Entry::key).collect();
            self.catalog.retain(|k| kept.contains(k));
            self.generation += 1;
        }
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

    /// Bumps whenever what the table or status bar shows changes.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
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

    fn entry(&self, key: ProgramKey) -> Option<&Entry> {
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

    /// What the source said about itself.
    #[must_use]
    pub fn info(&self) -> Option<&SourceInfo> {
        self.info.as_ref()
    }

    /// Messages from the source, oldest first.
    #[must_use]
    pub fn errors(&self) -> &[String] {
        &self.errors
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Owner;

    fn program(id: u32, run_time_ns: u64, run_cnt: u64) -> ProgramSample {
        ProgramSample {
            id,
            prog_type: 6,
            name: crate::model::KernelName::new(&format!("prog{id}")),
            tag: [0; 8],
            load_time_ns: 1,
            run_time_ns,
            run_cnt,
            recursion_misses: 0,
            owners: vec![Owner {
                pid: 100 + id,
                comm: "Agent".into(),
            }],
            own: false,
        }
    }

    pub(super) fn sample(secs: u64, programs: Vec<ProgramSample>) -> Sample {
        Sample {
            taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            boottime_ns: secs * 1_000_000_000,
            period: Duration::from_secs(1),
            facts: Vec::new(),
            links: None,
            programs,
        }
    }

    #[test]
    fn rows_get_metrics_from_the_second_sample_on() {
        let mut store = Store::new();
        store.push_sample(sample(10, vec![program(1, 0, 0)]));
        assert!(store.rows()[0].metrics.is_none());
        store.push_sample(sample(11, vec![program(1, 5_000, 10)]));
        let m = store.rows()[0].metrics.expect("metrics");
        assert!((m.events_per_sec - 10.0).abs() < 1e-9);
        assert!((m.avg_runtime_ns - 500.0).abs() < 1e-9);
        assert_eq!(store.history(store.rows()[0].key).count(), 1);
    }

    #[test]
    fn vanished_programs_stay_gone_until_cleared() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0, 0), program(2, 0, 0)]));
        store.push_sample(sample(2, vec![program(1, 10, 1), program(2, 10, 1)]));
        store.push_sample(sample(3, vec![program(1, 20, 2)]));
        let gone: Vec<u32> = store
            .rows()
            .iter()
            .filter(|r| r.gone)
            .map(|r| r.key.id)
            .collect();
        assert_eq!(gone, vec![2]);
        let key = store.rows()[1].key;
        assert_eq!(
            store.history(key).count(),
            1,
            "history of a gone program is kept"
        );
        store.clear_gone();
        assert_eq!(store.rows().len(), 1);
        assert_eq!(store.history(key).count(), 0);
    }

    #[test]
    fn history_is_pruned_by_age() {
        let mut store = Store::new();
        let total = HISTORY_AGE.as_secs() + 50;
        for s in 0..total {
            store.push_sample(sample(s, vec![program(1, s * 100, s)]));
        }
        let key = store.rows()[0].key;
        let points: Vec<Point> = store.history(key).collect();
        let newest = points.last().expect("points").boottime_ns;
        let oldest = points.first().expect("points").boottime_ns;
        assert!(newest - oldest <= HISTORY_AGE.as_nanos() as u64);
        assert!(points.len() as u64 >= HISTORY_AGE.as_secs());
        // Points stay aligned with their times after pruning.
        for p in &points {
            assert!((p.events_per_sec - 1.0).abs() < 1e-6);
        }
    }

    #[test]
    fn filter_matches_id_type_name_and_owner_case_insensitively() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(42, 0, 0)]));
        let row = &store.rows()[0];
        for needle in ["42", "xdp", "prog42", "agent", "142", ""] {
            assert!(row.matches(needle), "{needle}");
        }
        assert!(!row.matches("kprobe"));
    }

    #[test]
    fn only_the_newest_messages_are_kept() {
        let mut store = Store::new();
        for i in 0..(ERRORS_KEPT + 50) {
            store.push(SourceEvent::Error(format!("error {i}")));
        }
        assert_eq!(store.errors().len(), ERRORS_KEPT);
        assert_eq!(store.errors().last().map(String::as_str), Some("error 149"));
        assert_eq!(store.errors().first().map(String::as_str), Some("error 50"));
    }

    #[test]
    fn total_cpu_is_the_sum_over_programs() {
        let mut store = Store::new();
        store.push_sample(sample(1, vec![program(1, 0, 0), program(2, 0, 0)]));
        store.push_sample(sample(
            2,
            vec![program(1, 10_000_000, 1), program(2, 30_000_000, 1)],
        ));
        assert!((store.total_cpu_percent() - 4.0).abs() < 1e-9);
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the expected values are exact in binary
mod aggregate_tests {
    use super::tests::sample;
    use super::*;

    fn program(id: u32, load_s: u64, run_time_ns: u64, run_cnt: u64) -> ProgramSample {
        ProgramSample {
            id,
            prog_type: if id % 2 == 0 { 6 } else { 2 },
            name: crate::model::KernelName::new(&format!("p{id}")),
            tag: [0; 8],
            load_time_ns: load_s * 1_000_000_000,
            run_time_ns,
            run_cnt,
            recursion_misses: 0,
            owners: Vec::new(),
            own: false,
        }
    }

    #[test]
    fn loads_and_unloads_between_samples_become_markers() {
        let mut store = Store::new();
        store.push_sample(sample(10, vec![program(1, 1, 0, 0)]));
        assert!(store.markers().is_empty(), "the first sample marks nothing");
        store.push_sample(sample(11, vec![program(1, 1, 0, 0), program(2, 10, 0, 0)]));
        store.push_sample(sample(12, vec![program(2, 10, 0, 0)]));
        let m: Vec<(u64, bool, u32)> = store
            .markers()
            .iter()
            .map(|m| (m.boottime_ns / 1_000_000_000, m.loaded, m.key.id))
            .collect();
        // Program 2's load time (10 s) is before the previous sample: the
        // marker goes to the earliest instant it can have happened at.
        assert_eq!(m, vec![(10, true, 2), (12, false, 1)]);
        assert_eq!(store.markers()[1].name, "p1");
        // The program that went away keeps its history.
        assert_eq!(
            store
                .history(ProgramKey {
                    id: 1,
                    load_time_ns: 1_000_000_000
                })
                .count(),
            1
        );
    }

    #[test]
    fn window_averages_weight_runtime_by_runs() {
        let mut store = Store::new();
        // Period 1: 10 runs of 100 ns; period 2: 30 runs of 500 ns.
        store.push_sample(sample(1, vec![program(1, 0, 0, 0)]));
        store.push_sample(sample(2, vec![program(1, 0, 1_000, 10)]));
        store.push_sample(sample(3, vec![program(1, 0, 16_000, 40)]));
        let a = store.window_averages(0)[&ProgramKey {
            id: 1,
            load_time_ns: 0,
        }];
        assert_eq!(a.points, 2);
        assert!((a.avg_runtime_ns - 400.0).abs() < 1e-3, "{a:?}");
        assert!((a.events_per_sec - 20.0).abs() < 1e-6);
        let only_last = store.window_averages(2_000_000_000)[&ProgramKey {
            id: 1,
            load_time_ns: 0,
        }];
        assert_eq!(only_last.points, 1);
        assert!((only_last.avg_runtime_ns - 500.0).abs() < 1e-3);
    }

    #[test]
    fn breakdown_bands_and_types_sum_to_the_total() {
        let mut store = Store::new();
        let rates = [5u64, 40, 1, 20, 3];
        for s in 0..4u64 {
            store.push_sample(sample(
                s,
                rates
                    .iter()
                    .enumerate()
                    .map(|(i, r)| program(i as u32 + 1, 0, s * r * 1_000_000, s * 10))
                    .collect(),
            ));
        }
        // After 0 s: the samples at 1, 2 and 3 s.
        let b = store.breakdown(0, 2);
        assert_eq!(b.times_ns.len(), 3);
        let labels: Vec<&str> = b.bands.iter().map(|band| band.label.as_str()).collect();
        assert_eq!(labels, ["p2 (#2)", "p4 (#4)", "other"]);
        for (t, total) in b.total.iter().enumerate() {
            let stacked: f64 = b.bands.iter().map(|band| band.values[t]).sum();
            assert!(
                (stacked - total).abs() < 1e-6,
                "at {t}: {stacked} vs {total}"
            );
        }
        let by_type: f64 = b.by_type.iter().map(|(_, cpu)| cpu).sum();
        assert!((by_type - store.total_cpu_percent()).abs() < 1e-9);
        assert_eq!(b.by_type[0].0, "xdp", "{:?}", b.by_type);
    }
}
