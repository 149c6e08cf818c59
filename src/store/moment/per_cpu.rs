//! Per-CPU figures kept for the plot window: the latest sample's whole, and
//! each kept sample's per-program CPU shares for the heat map.
//!
//! Only the programs a sample gives per CPU (those above the source's
//! floor) have history here, and the cells kept are bounded
//! ([`PER_CPU_CELLS_MAX`]): at 128 CPUs and 64 such programs a sample is
//! 8,192 cells, so the oldest go first and the heat map says how far back
//! it reaches.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Moment;
use crate::model::{PerCpuSample, ProgramKey};

/// Program-CPU cells kept over all samples at most (8 bytes each).
pub const PER_CPU_CELLS_MAX: usize = 2_000_000;

/// One CPU's share of one program's period: (CPU, % of that CPU).
pub type Cell = (u16, f32);

/// The per-CPU figures of the latest sample.
#[derive(Clone, Debug, PartialEq)]
pub struct PerCpuLatest {
    pub sample: Arc<PerCpuSample>,
    /// The period they cover, in nanoseconds (0: the source's first).
    pub elapsed_ns: u64,
}

impl PerCpuLatest {
    /// `run_time_ns` over the period as a percentage of one CPU.
    #[must_use]
    pub fn percent(&self, run_time_ns: u64) -> f64 {
        if self.elapsed_ns == 0 {
            0.0
        } else {
            run_time_ns as f64 * 100.0 / self.elapsed_ns as f64
        }
    }
}

/// One sample's cells: per program given (by id), its range of `cells`.
#[derive(Debug, Default)]
pub struct Period {
    programs: Vec<(u32, u32, u32)>,
    cells: Vec<Cell>,
}

impl Period {
    fn of(sample: &PerCpuSample, elapsed_ns: u64) -> Self {
        let mut period = Self::default();
        if elapsed_ns == 0 {
            return period;
        }
        for program in &sample.programs {
            let start = u32::try_from(period.cells.len()).unwrap_or(u32::MAX);
            period.cells.extend(program.cpus.iter().map(|c| {
                let cpu = u16::try_from(c.cpu).unwrap_or(u16::MAX);
                (
                    cpu,
                    (c.run_time_ns as f64 * 100.0 / elapsed_ns as f64) as f32,
                )
            }));
            let len = u32::try_from(program.cpus.len()).unwrap_or(u32::MAX);
            period.programs.push((program.id, start, len));
        }
        period
    }

    /// The cells of program `id`; `None` when this sample did not give it.
    #[must_use]
    pub fn program(&self, id: u32) -> Option<&[Cell]> {
        let i = self.programs.binary_search_by_key(&id, |p| p.0).ok()?;
        let (_, start, len) = *self.programs.get(i)?;
        self.cells.get(start as usize..(start + len) as usize)
    }
}

/// Per-CPU history aligned with the moment's sample times.
#[derive(Clone, Debug, Default)]
pub struct PerCpuHistory {
    /// One per kept sample, oldest first; `None`: none given (or dropped
    /// for the cell bound).
    periods: VecDeque<Option<Arc<Period>>>,
    cells: usize,
    latest: Option<PerCpuLatest>,
}

impl PerCpuHistory {
    /// Takes in the newest sample's figures.
    pub fn push(&mut self, per_cpu: Option<PerCpuSample>, elapsed_ns: u64) {
        let Some(sample) = per_cpu else {
            self.periods.push_back(None);
            self.latest = None;
            return;
        };
        let period = Period::of(&sample, elapsed_ns);
        self.cells += period.cells.len();
        self.periods.push_back(Some(Arc::new(period)));
        self.latest = Some(PerCpuLatest {
            sample: Arc::new(sample),
            elapsed_ns,
        });
        // The oldest periods go first when the cells outgrow the bound.
        for slot in &mut self.periods {
            if self.cells <= PER_CPU_CELLS_MAX {
                break;
            }
            if let Some(old) = slot.take() {
                self.cells -= old.cells.len();
            }
        }
    }

    /// Gives loaded rows their spread from the latest figures.
    pub fn set_spreads(&self, rows: &mut [super::Row]) {
        if let Some(latest) = &self.latest {
            for row in rows.iter_mut().filter(|r| !r.gone) {
                row.spread = latest
                    .sample
                    .program(row.key.id)
                    .and_then(crate::model::ProgramCpus::spread);
            }
        }
    }

    /// Takes the per-CPU figures out of `sample`, the sample after one at
    /// `prev_boottime`.
    pub fn push_from(&mut self, sample: &mut crate::model::Sample, prev_boottime: Option<u64>) {
        let elapsed = prev_boottime
            .and_then(|p| {
                crate::model::metrics::measured_ns(sample.stats_on_ns, sample.boottime_ns, p)
            })
            .unwrap_or(0);
        self.push(sample.per_cpu.take(), elapsed);
    }

    /// Forgets the oldest `drop` periods (as the times are).
    pub fn drop_oldest(&mut self, drop: usize) {
        for old in self.periods.drain(..drop.min(self.periods.len())).flatten() {
            self.cells -= old.cells.len();
        }
    }

    /// The latest sample's figures; `None` when its source gives none.
    #[must_use]
    pub fn latest(&self) -> Option<&PerCpuLatest> {
        self.latest.as_ref()
    }

    /// The period of the kept sample at `at` (0: the oldest kept).
    #[must_use]
    pub fn period(&self, at: usize) -> Option<&Period> {
        self.periods.get(at)?.as_deref()
    }

    /// Cells kept over all samples.
    #[cfg(test)]
    #[must_use]
    pub fn cells(&self) -> usize {
        self.cells
    }
}

impl Moment {
    /// Every program's runs a second over the latest period.
    #[must_use]
    pub fn total_events_per_sec(&self) -> f64 {
        self.total_events_per_sec
    }

    /// Low-overhead mode: how long statistics were on in the latest period
    /// and the period, in nanoseconds; `None` when they were on throughout.
    #[must_use]
    pub fn sampled(&self) -> Option<(u64, u64)> {
        self.sampled
    }

    /// The share of the latest period statistics were on (1 when on
    /// throughout).
    #[must_use]
    pub fn stats_fraction(&self) -> f64 {
        match self.sampled {
            Some((on, period)) if period > 0 => (on as f64 / period as f64).min(1.0),
            _ => 1.0,
        }
    }

    /// The latest sample's per-CPU figures; `None` when its source gives
    /// none (the syscall fallback, an older recording).
    #[must_use]
    pub fn per_cpu(&self) -> Option<&PerCpuLatest> {
        self.per_cpu.latest()
    }

    /// A program's per-CPU cells per kept sample of its series, oldest
    /// first: `None` where that sample did not give it per CPU.
    pub fn cpu_history(&self, key: ProgramKey) -> impl Iterator<Item = (u64, Option<&[Cell]>)> {
        let entry = self.entry(key);
        let (first, len) = entry.map_or((0, 0), |e| (e.first, e.values.len()));
        (0..len).filter_map(move |i| {
            let at = usize::try_from(first + i as u64 - self.base).ok()?;
            let t = self.times.get(at)?;
            let cells = self.per_cpu.period(at).and_then(|p| p.program(key.id));
            Some((t.boottime_ns, cells))
        })
    }
}

/// Every row's runs a second.
pub(super) fn total_events_per_sec(rows: &[super::Row]) -> f64 {
    rows.iter()
        .filter_map(|row| row.metrics.as_ref())
        .map(|m| m.events_per_sec)
        .filter(|r| r.is_finite())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CpuDelta, ProgramCpus};

    fn sample(cpus: u32) -> PerCpuSample {
        PerCpuSample {
            nr_cpus: cpus,
            programs: vec![ProgramCpus {
                id: 5,
                cpus: (0..cpus)
                    .map(|cpu| CpuDelta {
                        cpu,
                        run_cnt: 1,
                        run_time_ns: 250_000_000,
                    })
                    .collect(),
            }],
            ..PerCpuSample::default()
        }
    }

    #[test]
    fn cells_are_shares_of_each_cpu_and_bounded() {
        let mut h = PerCpuHistory::default();
        h.push(Some(sample(4)), 1_000_000_000);
        let cells = h.period(0).and_then(|p| p.program(5)).expect("given");
        assert_eq!(cells, [(0, 25.0), (1, 25.0), (2, 25.0), (3, 25.0)]);
        assert!(h.period(0).and_then(|p| p.program(6)).is_none());
        // 4,096 CPUs a sample: the bound keeps the newest cells only.
        for _ in 0..PER_CPU_CELLS_MAX / 4_096 + 10 {
            h.push(Some(sample(4_096)), 1_000_000_000);
        }
        assert!(h.cells() <= PER_CPU_CELLS_MAX);
        assert!(h.period(0).is_none(), "the oldest went first");
        let newest = h.periods.len() - 1;
        assert!(h.period(newest).is_some());
        h.drop_oldest(usize::MAX);
        assert_eq!(h.cells(), 0);
    }

    #[test]
    fn a_moment_gives_rows_their_spread_and_programs_their_cpu_history() {
        use crate::test_support::{program, sample_at};
        let mut moment = Moment::default();
        let p = |runs| program(5).ran(runs, runs * 10).build();
        moment.push_sample(sample_at(1, vec![p(10)]));
        let mut second = sample_at(2, vec![p(20)]);
        let mut per_cpu = sample(2);
        per_cpu.programs[0].cpus[1].run_time_ns = 750_000_000;
        second.per_cpu = Some(per_cpu);
        moment.push_sample(second);
        let key = ProgramKey::of(&p(0));
        assert_eq!(moment.row(key).and_then(|r| r.spread), Some(0.75));
        let history: Vec<_> = moment.cpu_history(key).collect();
        assert_eq!(
            history,
            [(2_000_000_000, Some(&[(0, 25.0), (1, 75.0)][..]))]
        );
        let latest = moment.per_cpu().expect("given");
        assert_eq!(latest.elapsed_ns, 1_000_000_000);
        // A source without per-CPU figures: none, and no spread.
        moment.push_sample(sample_at(3, vec![p(30)]));
        assert!(moment.per_cpu().is_none());
        assert_eq!(moment.row(key).and_then(|r| r.spread), None);
        assert_eq!(moment.cpu_history(key).last(), Some((3_000_000_000, None)));
    }
}
