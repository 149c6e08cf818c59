//! Sums and averages over the history: per-program averages over a window
//! (baselines, diffs) and where BPF time goes (the breakdown view).

use std::collections::HashMap;

use super::Moment;
use crate::model::ProgramKey;

/// One program's averages over a time window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Averages {
    /// Run time per run, weighted by runs: Σ(avg × events) ÷ Σ events.
    pub avg_runtime_ns: f64,
    /// Mean of the periods' rates.
    pub events_per_sec: f64,
    /// Mean share of one CPU.
    pub cpu_percent: f64,
    /// Periods averaged.
    pub points: usize,
}

/// The change of a program's averages against a baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Diff {
    pub avg_runtime_ns: f64,
    pub events_per_sec: f64,
    pub cpu_percent: f64,
    /// Not in the baseline: the change is from nothing.
    pub new: bool,
}

impl Diff {
    /// `now − before`; a program missing from `before` is new.
    #[must_use]
    pub fn between(now: &Averages, before: Option<&Averages>) -> Self {
        let before = before.copied();
        let base = before.unwrap_or_default();
        Self {
            avg_runtime_ns: now.avg_runtime_ns - base.avg_runtime_ns,
            events_per_sec: now.events_per_sec - base.events_per_sec,
            cpu_percent: now.cpu_percent - base.cpu_percent,
            new: before.is_none(),
        }
    }
}

/// One band of the breakdown plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// `None`: every program outside the top ones ("other").
    pub key: Option<ProgramKey>,
    pub label: String,
    /// Share of one CPU at each of [`Breakdown::times_ns`].
    pub values: Vec<f64>,
}

/// Where BPF time went over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Breakdown {
    /// `CLOCK_BOOTTIME` of each sample in the window.
    pub times_ns: Vec<u64>,
    /// Total CPU % of all programs at each sample.
    pub total: Vec<f64>,
    /// The top programs by mean CPU % over the window, largest first, then
    /// "other" (present when any other program used CPU).
    pub bands: Vec<Band>,
    /// CPU % of the latest period by program type, largest first; sums to
    /// [`Moment::total_cpu_percent`].
    pub by_type: Vec<(String, f64)>,
}

impl Moment {
    /// Index of the first sample after `since_ns`: a window of 10 s at
    /// 1 Hz holds the 10 periods that end inside it.
    fn first_index_since(&self, since_ns: u64) -> usize {
        self.times.partition_point(|t| t.boottime_ns <= since_ns)
    }

    /// Every program's points after `since_ns`: (entry, position in
    /// `times`, values).
    fn points_since(
        &self,
        since_ns: u64,
    ) -> impl Iterator<Item = (&super::moment::Entry, usize, &[f32; 3])> + '_ {
        let from = self.first_index_since(since_ns);
        self.entries.iter().flat_map(move |entry| {
            let offset = usize::try_from(entry.first.saturating_sub(self.base)).unwrap_or(0);
            entry
                .values
                .iter()
                .enumerate()
                .map(move |(i, v)| (entry, offset + i, v))
                .filter(move |&(_, at, _)| at >= from && at < self.times.len())
        })
    }

    /// Every program's averages over the samples after `since_ns`.
    #[must_use]
    pub fn window_averages(&self, since_ns: u64) -> HashMap<ProgramKey, Averages> {
        #[derive(Default)]
        struct Sums {
            weighted_runtime: f64,
            events: f64,
            cpu: f64,
            points: usize,
        }
        let mut sums: HashMap<ProgramKey, Sums> = HashMap::new();
        for (entry, _, v) in self.points_since(since_ns) {
            let s = sums.entry(entry.key()).or_default();
            s.weighted_runtime += f64::from(v[0]) * f64::from(v[1]);
            s.events += f64::from(v[1]);
            s.cpu += f64::from(v[2]);
            s.points += 1;
        }
        sums.into_iter()
            .map(|(key, s)| {
                let n = s.points.max(1) as f64;
                let averages = Averages {
                    avg_runtime_ns: if s.events > 0.0 {
                        s.weighted_runtime / s.events
                    } else {
                        0.0
                    },
                    events_per_sec: s.events / n,
                    cpu_percent: s.cpu / n,
                    points: s.points,
                };
                (key, averages)
            })
            .collect()
    }

    /// Total BPF CPU % over the samples after `since_ns`, split into the
    /// `top` programs with the highest mean and "other", and the latest
    /// period split by program type; bpfscope's own programs count only
    /// `with_own`.
    #[must_use]
    pub fn breakdown(&self, since_ns: u64, top: usize, with_own: bool) -> Breakdown {
        let from = self.first_index_since(since_ns);
        // bpfscope's own programs, left out unless `with_own` (a handful).
        let own: std::collections::HashSet<ProgramKey> = self
            .rows()
            .iter()
            .filter(|r| r.own && !with_own)
            .map(|r| r.key)
            .collect();
        let times_ns: Vec<u64> = self
            .times
            .iter()
            .skip(from)
            .map(|t| t.boottime_ns)
            .collect();
        let mut total = vec![0.0; times_ns.len()];
        let mut per_program: HashMap<ProgramKey, (f64, &super::moment::Entry)> = HashMap::new();
        for (entry, at, v) in self.points_since(since_ns) {
            if own.contains(&entry.key()) {
                continue;
            }
            let cpu = f64::from(v[2]);
            total[at - from] += cpu;
            per_program.entry(entry.key()).or_insert((0.0, entry)).0 += cpu;
        }
        let mut ranked: Vec<(ProgramKey, f64, &super::moment::Entry)> = per_program
            .into_iter()
            .filter(|(_, (sum, _))| *sum > 0.0)
            .map(|(key, (sum, entry))| (key, sum, entry))
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let has_other = ranked.len() > top;
        ranked.truncate(top);

        let mut bands: Vec<Band> = Vec::with_capacity(top + 1);
        let mut other = total.clone();
        for (key, _, entry) in &ranked {
            let mut values = vec![0.0; times_ns.len()];
            let offset = usize::try_from(entry.first.saturating_sub(self.base)).unwrap_or(0);
            for (i, v) in entry.values.iter().enumerate() {
                let at = offset + i;
                if at >= from && at < self.times.len() {
                    values[at - from] = f64::from(v[2]);
                    other[at - from] -= f64::from(v[2]);
                }
            }
            bands.push(Band {
                key: Some(*key),
                label: super::program_label(&entry.text.name, key.id),
                values,
            });
        }
        if has_other {
            // Rounding can leave −0.000…; the band never goes below zero.
            bands.push(Band {
                key: None,
                label: "other".to_owned(),
                values: other.into_iter().map(|v| v.max(0.0)).collect(),
            });
        }

        let mut by_type: HashMap<&str, f64> = HashMap::new();
        for row in self.rows().iter().filter(|r| !own.contains(&r.key)) {
            if let Some(m) = &row.metrics {
                *by_type.entry(row.text.type_name.as_str()).or_default() += m.cpu_percent;
            }
        }
        let mut by_type: Vec<(String, f64)> = by_type
            .into_iter()
            .map(|(t, cpu)| (t.to_owned(), cpu))
            .collect();
        by_type.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Breakdown {
            times_ns,
            total,
            bands,
            by_type,
        }
    }
}
