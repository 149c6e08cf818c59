//! Which CPU pays: programs' runs and run time per CPU over one period.
//!
//! The kernel sums a program's per-CPU counters for `bpf_prog_info`; the
//! program iterator reads them before summing (src/bpf/progs.bpf.c). A
//! sample carries every CPU's total over all programs, and the per-CPU
//! deltas of the programs whose cost was at least [`PerCpuSample::floor_ppm`]
//! of one CPU, the costliest [`PerCpuSample::programs_max`] of them: a busy
//! host's thousands of idle programs on 128 CPUs must not cost a pass, a
//! frame or the history.

use serde::{Deserialize, Serialize};

/// Programs' per-CPU cost at least this share of one CPU (in millionths)
/// by default: 0.01 %.
pub const PER_CPU_FLOOR_PPM: u32 = 100;
/// Programs given per CPU at most by default (the costliest).
pub const PER_CPU_PROGRAMS: u32 = 64;
/// Most CPUs a sample may name (the iterator reads at most 4,096).
pub const CPUS_MAX: u32 = 4_096;

/// One CPU's share of a period: runs and run time accounted on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuDelta {
    pub cpu: u32,
    pub run_cnt: u64,
    pub run_time_ns: u64,
}

/// One program's period on each CPU that ran it, by CPU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCpus {
    pub id: u32,
    /// The CPUs that ran it this period, sorted by CPU; none listed did not.
    pub cpus: Vec<CpuDelta>,
}

impl ProgramCpus {
    /// The busiest CPU's share of the program's run time this period (0 to
    /// 1); `None` when it did not run.
    #[must_use]
    pub fn spread(&self) -> Option<f64> {
        spread(&self.cpus)
    }
}

/// The busiest CPU's share of the run time in `cpus`; `None` when there was
/// none.
#[must_use]
pub fn spread(cpus: &[CpuDelta]) -> Option<f64> {
    let total: u128 = cpus.iter().map(|c| u128::from(c.run_time_ns)).sum();
    let busiest = cpus.iter().map(|c| c.run_time_ns).max()?;
    (total > 0).then(|| busiest as f64 / total as f64)
}

/// Per-CPU figures of one sample, as deltas since the sample before.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerCpuSample {
    /// CPUs read (the machine's possible CPUs).
    pub nr_cpus: u32,
    /// Every CPU's runs and run time this period over every program, by
    /// CPU (CPUs with none are left out). Empty in a source's first sample.
    pub cpus: Vec<CpuDelta>,
    /// The programs at or above the floor, sorted by id.
    pub programs: Vec<ProgramCpus>,
    /// The floor, in millionths of one CPU.
    pub floor_ppm: u32,
    /// Programs given at most.
    pub programs_max: u32,
    /// Programs above the floor left out for the cap.
    pub left_out: u32,
}

impl PerCpuSample {
    /// One program's CPUs this sample, if it was above the floor.
    #[must_use]
    pub fn program(&self, id: u32) -> Option<&ProgramCpus> {
        self.programs
            .binary_search_by_key(&id, |p| p.id)
            .ok()
            .and_then(|i| self.programs.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(cpu: u32, run_time_ns: u64) -> CpuDelta {
        CpuDelta {
            cpu,
            run_cnt: 1,
            run_time_ns,
        }
    }

    #[test]
    fn spread_is_the_busiest_cpus_share() {
        assert_eq!(spread(&[cpu(0, 300), cpu(3, 100)]), Some(0.75));
        assert_eq!(spread(&[cpu(1, 50)]), Some(1.0));
        assert_eq!(spread(&[]), None);
        assert_eq!(spread(&[cpu(1, 0)]), None);
        assert_eq!(spread(&[cpu(0, u64::MAX), cpu(1, u64::MAX)]), Some(0.5));
    }
}
