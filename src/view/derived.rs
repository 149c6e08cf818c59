//! Everything the window derives from the shown moment — the table's order
//! and groups, the diffs against a baseline, the breakdown, the count over a
//! threshold — computed in one place, once per change of what it depends on
//! (the store's generation, the settings, the filter, the baseline), never
//! per frame.

use std::collections::HashMap;
use std::time::SystemTime;

use super::table::{Grouping, TableLayout, TableLine, group, order};
use super::{BREAKDOWN_TOP, MainView, PlotWindow, Settings, Sort, Thresholds};
use crate::model::ProgramKey;
use crate::store::{Averages, Breakdown, Diff, Row, Store};

/// Each program's change against the baseline.
pub type Diffs = HashMap<ProgramKey, Diff>;

/// Averages frozen by "Capture baseline".
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// Bumps with each capture.
    pub serial: u64,
    pub captured_at: SystemTime,
    pub window: PlotWindow,
    pub values: HashMap<ProgramKey, Averages>,
}

impl Baseline {
    /// Every shown program's averages over `window`, as baseline `serial`.
    #[must_use]
    pub fn capture(store: &Store, window: PlotWindow, serial: u64) -> Self {
        let since = window.since(store.latest_boottime_ns().unwrap_or(0));
        Self {
            serial,
            captured_at: store.latest_taken_at().unwrap_or_else(SystemTime::now),
            window,
            values: store.window_averages(since),
        }
    }

    /// Each program's averages over the same length of window now, minus
    /// the baseline's; programs that left show their whole baseline as the
    /// change.
    #[must_use]
    pub fn diffs(&self, store: &Store) -> Diffs {
        let since = self.window.since(store.latest_boottime_ns().unwrap_or(0));
        let now = store.window_averages(since);
        let mut values: Diffs = now
            .iter()
            .map(|(key, averages)| (*key, Diff::between(averages, self.values.get(key))))
            .collect();
        for (key, before) in &self.values {
            values
                .entry(*key)
                .or_insert_with(|| Diff::between(&Averages::default(), Some(before)));
        }
        values
    }
}

/// What the derived data is made from.
pub struct DerivedInput<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub filter: &'a str,
    /// The baseline, while diff mode is on.
    pub diff_against: Option<&'a Baseline>,
    /// The group label of a row (only called when grouping).
    pub group_of: &'a dyn Fn(&Row) -> String,
}

impl std::fmt::Debug for DerivedInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedInput")
            .field("generation", &self.store.generation())
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

/// Everything the derived data depends on, but the store's contents (its
/// generation stands for them).
#[derive(Debug, PartialEq)]
struct Key {
    generation: u64,
    filter: String,
    sort: Sort,
    grouping: Grouping,
    baseline: Option<u64>,
    window: PlotWindow,
    breakdown: bool,
    thresholds: Thresholds,
    show_own: bool,
}

/// The derived data of the shown moment.
#[derive(Debug, Default)]
pub struct Derived {
    key: Option<Key>,
    table: TableLayout,
    diffs: Option<Diffs>,
    breakdown: Option<Breakdown>,
    over_threshold: Option<usize>,
    /// Loaded programs the filter lets through, and unloaded ones shown.
    counts: Counts,
    /// What bpfscope's own programs cost over the last period, in % of one
    /// CPU.
    own_cpu_percent: f64,
}

/// What the status bar counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Loaded programs the filter shows.
    pub shown: usize,
    /// Loaded programs.
    pub loaded: usize,
    /// Unloaded programs still shown (kept for a while, with their history).
    pub gone: usize,
    /// Loaded programs that are bpfscope's own (counted in `loaded` only
    /// while they are listed).
    pub own: usize,
    /// Whether bpfscope's own programs are left out of the table and the
    /// other counts.
    pub own_hidden: bool,
}

impl Counts {
    /// Loaded programs that are not bpfscope's own.
    #[must_use]
    pub fn others(&self) -> usize {
        if self.own_hidden {
            self.loaded
        } else {
            self.loaded.saturating_sub(self.own)
        }
    }
}

impl Derived {
    /// Recomputes what changed inputs make stale; whether anything was.
    pub fn refresh(&mut self, input: &DerivedInput<'_>) -> bool {
        let settings = input.settings;
        let key = Key {
            generation: input.store.generation(),
            filter: input.filter.to_owned(),
            sort: settings.sort,
            grouping: settings.grouping,
            baseline: input.diff_against.map(|b| b.serial),
            window: settings.plot_window,
            breakdown: settings.view == MainView::Breakdown,
            thresholds: settings.thresholds,
            show_own: settings.show_own,
        };
        if self.key.as_ref() == Some(&key) {
            return false;
        }
        let store = input.store;
        let rows = store.rows();
        self.diffs = input.diff_against.map(|b| b.diffs(store));
        let mut order = order(rows, input.filter, settings.sort, self.diffs.as_ref());
        if !settings.show_own {
            order.retain(|&i| !rows[i].own);
        }
        self.table = match settings.grouping {
            Grouping::None => TableLayout {
                lines: order.iter().map(|&i| TableLine::Row(i)).collect(),
                order,
                groups: Vec::new(),
            },
            Grouping::Process | Grouping::Cgroup => group(rows, &order, input.group_of),
        };
        self.breakdown = key.breakdown.then(|| {
            let since = key.window.since(store.latest_boottime_ns().unwrap_or(0));
            store.breakdown(since, BREAKDOWN_TOP, settings.show_own)
        });
        let thresholds = settings.thresholds;
        // Hidden own programs are out of every count, gone or loaded.
        let counted = |r: &&Row| settings.show_own || !r.own;
        self.over_threshold = thresholds.any().then(|| {
            rows.iter()
                .filter(counted)
                .filter(|r| r.metrics.is_some_and(|m| thresholds.exceeded(&m)))
                .count()
        });
        let gone = rows.iter().filter(counted).filter(|r| r.gone).count();
        let own = rows.iter().filter(|r| r.own && !r.gone);
        self.own_cpu_percent = own
            .clone()
            .filter_map(|r| r.metrics)
            .map(|m| m.cpu_percent)
            .sum();
        self.counts = Counts {
            shown: self
                .table
                .order
                .iter()
                .filter(|&&i| rows.get(i).is_some_and(|r| !r.gone))
                .count(),
            loaded: rows.iter().filter(counted).count() - gone,
            gone,
            own: own.count(),
            own_hidden: !settings.show_own,
        };
        self.key = Some(key);
        true
    }

    /// Loaded programs shown and in all, and unloaded ones.
    #[must_use]
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// What bpfscope's own programs cost over the last period, in % of one
    /// CPU.
    #[must_use]
    pub fn own_cpu_percent(&self) -> f64 {
        self.own_cpu_percent
    }

    /// The table's order, lines and groups.
    #[must_use]
    pub fn table(&self) -> &TableLayout {
        &self.table
    }

    /// The shown programs' keys in table order.
    #[must_use]
    pub fn order(&self, store: &Store) -> Vec<ProgramKey> {
        let rows = store.rows();
        self.table
            .order
            .iter()
            .filter_map(|&i| rows.get(i).map(|r| r.key))
            .collect()
    }

    /// The changes against the baseline, in diff mode.
    #[must_use]
    pub fn diffs(&self) -> Option<&Diffs> {
        self.diffs.as_ref()
    }

    /// Where BPF time goes, while that view is open.
    #[must_use]
    pub fn breakdown(&self) -> Option<&Breakdown> {
        self.breakdown.as_ref()
    }

    /// Shown programs over a threshold; `None` without thresholds.
    #[must_use]
    pub fn over_threshold(&self) -> Option<usize> {
        self.over_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{program, sample_at};

    fn input<'a>(
        store: &'a Store,
        settings: &'a Settings,
        filter: &'a str,
        group_of: &'a dyn Fn(&Row) -> String,
    ) -> DerivedInput<'a> {
        DerivedInput {
            store,
            settings,
            filter,
            diff_against: None,
            group_of,
        }
    }

    #[test]
    fn recomputed_once_per_change_of_what_it_depends_on() {
        let mut store = Store::new();
        store.push_sample(sample_at(1, vec![program(1).build(), program(2).build()]));
        let settings = Settings::default();
        let no_group = |_: &Row| String::new();
        let mut derived = Derived::default();
        assert!(derived.refresh(&input(&store, &settings, "", &no_group)));
        assert!(!derived.refresh(&input(&store, &settings, "", &no_group)));
        assert_eq!(derived.table().order.len(), 2);
        assert!(derived.refresh(&input(&store, &settings, "p2", &no_group)));
        assert_eq!(derived.order(&store), [store.rows()[1].key]);
        store.push_sample(sample_at(2, vec![program(2).build()]));
        assert!(derived.refresh(&input(&store, &settings, "p2", &no_group)));
        // Paused, new samples change nothing shown: nothing is recomputed.
        store.pause();
        assert!(derived.refresh(&input(&store, &settings, "p2", &no_group)));
        store.push_sample(sample_at(3, vec![program(2).build()]));
        assert!(!derived.refresh(&input(&store, &settings, "p2", &no_group)));
    }
}
