//! Per-CPU deltas from the iterator's cumulative per-CPU counters.
//!
//! The iterator writes a program's per-CPU counters only when its sums
//! changed, so the counters last read stay right for a program it skips.
//! The tracker keeps them per program (only the CPUs that ever ran it),
//! subtracts, sums every CPU over all programs, and keeps the costliest
//! programs at or above the floor.

use super::prog_records::{CpuReading, Parsed};
use crate::model::{CPUS_MAX, CpuDelta, PerCpuSample, ProgramCpus, ProgramKey};

/// The counters last read per CPU, per program.
#[derive(Debug)]
pub struct PerCpuTracker {
    /// Sorted by key; cumulative counters of the CPUs that ran it.
    last: Vec<(ProgramKey, Vec<CpuDelta>)>,
    prev_boottime_ns: Option<u64>,
    floor_ppm: u32,
    programs_max: u32,
}

impl PerCpuTracker {
    pub fn new(floor_ppm: u32, programs_max: u32) -> Self {
        Self {
            last: Vec::new(),
            prev_boottime_ns: None,
            floor_ppm,
            programs_max,
        }
    }

    /// Forgets every program's counters (after a failed read: what the
    /// iterator wrote may not have been seen). Programs give per-CPU
    /// deltas again from their second change on.
    pub fn reset(&mut self) {
        self.last.clear();
        self.prev_boottime_ns = None;
    }

    /// This pass's per-CPU figures, from what the iterator read at
    /// `boottime_ns`; `stats_on_ns`: how long statistics were on since the
    /// pass before, where not all along (the floor is a share of it).
    pub fn update(
        &mut self,
        parsed: &Parsed,
        boottime_ns: u64,
        stats_on_ns: Option<u64>,
    ) -> PerCpuSample {
        let nr_cpus = parsed.nr_cpus.min(CPUS_MAX);
        let prev_boottime = self.prev_boottime_ns.replace(boottime_ns);
        let mut readings: Vec<_> = parsed.cpu_readings.iter().collect();
        readings.sort_unstable_by_key(|(id, load, _)| (*id, *load));
        let old = std::mem::take(&mut self.last);
        let mut old = old.into_iter().peekable();
        let mut totals = vec![CpuDelta::default(); nr_cpus as usize];
        let mut programs = Vec::new();
        for &&(id, load_time_ns, reading) in &readings {
            let key = ProgramKey { id, load_time_ns };
            while old.next_if(|(k, _)| *k < key).is_some() {}
            let before = old.next_if(|(k, _)| *k == key).map(|(_, cpus)| cpus);
            let now = match reading {
                CpuReading::Unchanged => match before {
                    Some(cpus) => cpus,
                    None => continue,
                },
                CpuReading::TooMany => continue,
                // Zero everywhere: an exact baseline for its first runs.
                CpuReading::NeverRan => Vec::new(),
                CpuReading::Read { start, len } => {
                    let Some(now) = parsed.cpu_values.get(start..start + len) else {
                        continue;
                    };
                    // A program loaded during the period started at zero.
                    let loaded_since = prev_boottime.is_some_and(|prev| load_time_ns >= prev);
                    let zero = Vec::new();
                    let base = before.as_ref().or(loaded_since.then_some(&zero));
                    if prev_boottime.is_some()
                        && let Some(cpus) = base.and_then(|base| subtract(now, base))
                    {
                        add_to(&mut totals, &cpus);
                        if !cpus.is_empty() {
                            programs.push(ProgramCpus { id, cpus });
                        }
                    }
                    now.to_vec()
                }
            };
            self.last.push((key, now));
        }
        let Some(prev) = prev_boottime else {
            return PerCpuSample {
                nr_cpus,
                floor_ppm: self.floor_ppm,
                programs_max: self.programs_max,
                ..PerCpuSample::default()
            };
        };
        let period = boottime_ns.saturating_sub(prev);
        let elapsed = u128::from(stats_on_ns.map_or(period, |on| on.min(period)));
        let floor = elapsed * u128::from(self.floor_ppm) / 1_000_000;
        let cost =
            |p: &ProgramCpus| -> u128 { p.cpus.iter().map(|c| u128::from(c.run_time_ns)).sum() };
        programs.retain(|p| cost(p) >= floor);
        programs.sort_unstable_by_key(|p| std::cmp::Reverse(cost(p)));
        let max = self.programs_max as usize;
        let left_out = u32::try_from(programs.len().saturating_sub(max)).unwrap_or(u32::MAX);
        programs.truncate(max);
        programs.sort_unstable_by_key(|p| p.id);
        for (cpu, t) in (0..).zip(&mut totals) {
            t.cpu = cpu;
        }
        totals.retain(|t| t.run_cnt > 0 || t.run_time_ns > 0);
        PerCpuSample {
            nr_cpus,
            cpus: totals,
            programs,
            floor_ppm: self.floor_ppm,
            programs_max: self.programs_max,
            left_out,
        }
    }
}

/// Adds a program's period to every CPU's total.
fn add_to(totals: &mut [CpuDelta], cpus: &[CpuDelta]) {
    for c in cpus {
        if let Some(t) = totals.get_mut(c.cpu as usize) {
            t.run_cnt = t.run_cnt.saturating_add(c.run_cnt);
            t.run_time_ns = t.run_time_ns.saturating_add(c.run_time_ns);
        }
    }
}

/// `now − before`, per CPU (both sorted by CPU), without the CPUs that did
/// not change; `None` when a counter went backwards.
fn subtract(now: &[CpuDelta], before: &[CpuDelta]) -> Option<Vec<CpuDelta>> {
    let mut out = Vec::new();
    let mut before = before.iter().peekable();
    for c in now {
        if before.peek().is_some_and(|b| b.cpu < c.cpu) {
            // A CPU that ran it before and has no counters now: the
            // counters went backwards (a reused id read as the same).
            return None;
        }
        let b = before
            .next_if(|b| b.cpu == c.cpu)
            .copied()
            .unwrap_or_default();
        let run_cnt = c.run_cnt.checked_sub(b.run_cnt)?;
        let run_time_ns = c.run_time_ns.checked_sub(b.run_time_ns)?;
        if run_cnt > 0 || run_time_ns > 0 {
            out.push(CpuDelta {
                cpu: c.cpu,
                run_cnt,
                run_time_ns,
            });
        }
    }
    if before.next().is_some() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(cpu: u32, run_cnt: u64, run_time_ns: u64) -> CpuDelta {
        CpuDelta {
            cpu,
            run_cnt,
            run_time_ns,
        }
    }

    fn parsed(programs: &[(u32, u64, Option<&[CpuDelta]>)]) -> Parsed {
        let mut parsed = Parsed {
            nr_cpus: 4,
            ..Parsed::default()
        };
        for &(id, load, cpus) in programs {
            let reading = match cpus {
                None => CpuReading::Unchanged,
                Some(cpus) => {
                    let start = parsed.cpu_values.len();
                    parsed.cpu_values.extend_from_slice(cpus);
                    CpuReading::Read {
                        start,
                        len: cpus.len(),
                    }
                }
            };
            parsed.cpu_readings.push((id, load, reading));
        }
        parsed
    }

    #[test]
    fn deltas_per_cpu_sum_to_every_cpus_total() {
        let mut t = PerCpuTracker::new(0, 64);
        let first = t.update(
            &parsed(&[
                (1, 10, Some(&[cpu(0, 5, 500), cpu(2, 1, 100)])),
                (2, 10, Some(&[cpu(1, 3, 30)])),
            ]),
            1_000,
            None,
        );
        assert!(first.cpus.is_empty() && first.programs.is_empty());
        let second = t.update(
            &parsed(&[
                (
                    1,
                    10,
                    Some(&[cpu(0, 7, 700), cpu(2, 1, 100), cpu(3, 4, 40)]),
                ),
                (2, 10, None),
                (3, 1_500, Some(&[cpu(1, 2, 20)])),
            ]),
            2_000,
            None,
        );
        assert_eq!(
            second.programs,
            [
                ProgramCpus {
                    id: 1,
                    cpus: vec![cpu(0, 2, 200), cpu(3, 4, 40)]
                },
                ProgramCpus {
                    id: 3,
                    cpus: vec![cpu(1, 2, 20)]
                },
            ]
        );
        assert_eq!(second.cpus, [cpu(0, 2, 200), cpu(1, 2, 20), cpu(3, 4, 40)]);
        // Program 2 was unchanged: its counters are kept for its next change.
        let third = t.update(&parsed(&[(2, 10, Some(&[cpu(1, 4, 44)]))]), 3_000, None);
        assert_eq!(third.cpus, [cpu(1, 1, 14)]);
    }

    #[test]
    fn the_floor_and_the_cap_keep_the_costliest() {
        let mut t = PerCpuTracker::new(100_000, 1); // 10 % of a CPU, one program
        t.update(
            &parsed(&[(1, 0, Some(&[])), (2, 0, Some(&[])), (3, 0, Some(&[]))]),
            0,
            None,
        );
        let s = t.update(
            &parsed(&[
                (1, 0, Some(&[cpu(0, 1, 50)])),  // 5 %: below the floor
                (2, 0, Some(&[cpu(1, 1, 300)])), // 30 %
                (3, 0, Some(&[cpu(1, 1, 200)])), // 20 %: above it, over the cap
            ]),
            1_000,
            None,
        );
        assert_eq!(s.programs.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
        assert_eq!(s.left_out, 1);
        assert_eq!(s.cpus, [cpu(0, 1, 50), cpu(1, 2, 500)]);
    }

    #[test]
    fn a_program_that_never_ran_counts_its_first_runs_whole() {
        let mut t = PerCpuTracker::new(0, 64);
        let mut never = parsed(&[]);
        never.cpu_readings.push((5, 1, CpuReading::NeverRan));
        t.update(&never, 1_000, None);
        let first = t.update(&parsed(&[(5, 1, Some(&[cpu(1, 3, 30)]))]), 2_000, None);
        assert_eq!(first.programs[0].cpus, [cpu(1, 3, 30)]);
    }

    #[test]
    fn counters_that_go_backwards_give_no_delta() {
        assert_eq!(subtract(&[cpu(0, 1, 1)], &[cpu(0, 2, 2)]), None);
        assert_eq!(subtract(&[cpu(1, 1, 1)], &[cpu(0, 1, 1)]), None);
        assert_eq!(subtract(&[cpu(0, 1, 1)], &[cpu(0, 1, 1)]), Some(vec![]));
    }
}
