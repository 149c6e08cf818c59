//! Old points and unloaded programs leave: points past the history's age
//! or count; unloaded programs once their history has, and beyond the
//! newest [`GONE_KEPT`] (or the set limit).

use std::collections::HashSet;

use super::{Entry, Moment};
use crate::model::ProgramKey;
use crate::store::{GONE_KEPT, HISTORY_AGE, HISTORY_POINTS};

impl Moment {
    /// Drops unloaded programs whose last sample has left the history (they
    /// have nothing left to plot) and all but the newest [`GONE_KEPT`] (or
    /// the set limit), with their history and facts: memory follows the
    /// live programs, not how long bpfscope has run.
    pub(super) fn retire_gone(&mut self) {
        let limit = self.gone_limit.unwrap_or(GONE_KEPT);
        let newest = self.base + self.times.len() as u64;
        let live = |e: &Entry| e.seen + 1 == newest;
        if self.gone == 0 {
            return; // the steady state: nothing to retire, nothing swept
        }
        // Newest first by the last sample that listed them, then by key.
        let rank = |e: &Entry| (e.seen, e.key());
        let mut gone: Vec<(u64, ProgramKey)> = self
            .entries
            .iter()
            .filter(|e| !live(e) && e.seen >= self.base)
            .map(rank)
            .collect();
        // The lowest rank that still makes the cut.
        let cutoff = match gone.len().checked_sub(limit) {
            Some(0) | None => None,
            Some(_) if limit == 0 => Some((
                u64::MAX,
                ProgramKey {
                    id: u32::MAX,
                    load_time_ns: u64::MAX,
                },
            )),
            Some(excess) => {
                let (_, nth, _) = gone.select_nth_unstable(excess);
                Some(*nth)
            }
        };
        let base = self.base;
        let keep: Vec<bool> = self
            .entries
            .iter()
            .map(|e| live(e) || (e.seen >= base && cutoff.is_none_or(|c| rank(e) >= c)))
            .collect();
        if keep.iter().all(|&k| k) {
            return;
        }
        let mut flags = keep.iter();
        self.entries
            .retain(|_| flags.next().copied().unwrap_or(true));
        let mut flags = keep.iter();
        self.rows.retain(|_| flags.next().copied().unwrap_or(true));
        self.gone = self.rows.iter().filter(|r| r.gone).count();
        let kept: HashSet<ProgramKey> = self.entries.iter().map(Entry::key).collect();
        self.catalog.retain(|k| kept.contains(k));
    }

    /// Drops points older than [`HISTORY_AGE`] or past [`HISTORY_POINTS`],
    /// and markers older than the oldest point kept.
    pub(super) fn prune(&mut self) {
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
        self.per_cpu.drop_oldest(drop);
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
}
