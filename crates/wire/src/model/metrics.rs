//! The metric maths of `shared/design.md`, pure and total.
//!
//! Every delta is a `checked_sub`: counters that go backwards (which can only
//! happen when a program id is reused) yield no metrics, and the program
//! starts a new series.

use serde::{Deserialize, Serialize};

use super::{ProgramSample, Sample};

const NANOS_PER_SEC: f64 = 1e9;

/// The counters the kernel accounts per program while statistics are on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
}

/// A program's cost over one sample period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Δrun_time_ns / Δrun_cnt; 0 when the program did not run.
    pub avg_runtime_ns: f64,
    /// run_time_ns / run_cnt since accounting began; 0 when it never ran.
    pub total_avg_runtime_ns: f64,
    /// Δrun_cnt / Δt.
    pub events_per_sec: f64,
    /// Δrun_time_ns / Δt_ns × 100: share of one CPU (can exceed 100).
    pub cpu_percent: f64,
    /// Δrecursion_misses / Δt.
    pub recursion_misses_per_sec: f64,
}

/// run_time_ns / run_cnt over the whole accounting time; 0 when it never ran.
#[must_use]
pub fn total_avg_runtime_ns(counters: Counters) -> f64 {
    if counters.run_cnt == 0 {
        0.0
    } else {
        counters.run_time_ns as f64 / counters.run_cnt as f64
    }
}

/// Metrics from two readings of the same program `elapsed_ns` apart.
///
/// `None` when any counter went backwards (a new series must start) or when
/// no time elapsed (no rate can be defined).
#[must_use]
pub fn delta_metrics(prev: Counters, cur: Counters, elapsed_ns: u64) -> Option<Metrics> {
    if elapsed_ns == 0 {
        return None;
    }
    let runs = cur.run_cnt.checked_sub(prev.run_cnt)?;
    let run_time_ns = cur.run_time_ns.checked_sub(prev.run_time_ns)?;
    let misses = cur.recursion_misses.checked_sub(prev.recursion_misses)?;
    let elapsed_secs = elapsed_ns as f64 / NANOS_PER_SEC;
    Some(Metrics {
        avg_runtime_ns: if runs == 0 {
            0.0
        } else {
            run_time_ns as f64 / runs as f64
        },
        total_avg_runtime_ns: total_avg_runtime_ns(cur),
        events_per_sec: runs as f64 / elapsed_secs,
        cpu_percent: run_time_ns as f64 / elapsed_ns as f64 * 100.0,
        recursion_misses_per_sec: misses as f64 / elapsed_secs,
    })
}

/// Metrics of `cur`, a program of sample `cur_sample`, over the period since
/// `prev_sample`.
///
/// The baseline is the same program in `prev_sample` (same id *and* load
/// time). A program loaded during the period has no earlier reading but its
/// counters started at zero at load, so zero is its exact baseline. A program
/// with no baseline (first ever sample, or an id reused with a different load
/// time before the period) gets `None`.
#[must_use]
pub fn program_metrics(
    prev_sample: &Sample,
    cur_sample: &Sample,
    cur: &ProgramSample,
) -> Option<Metrics> {
    let elapsed_ns = measured_ns(
        cur_sample.stats_on_ns,
        cur_sample.boottime_ns,
        prev_sample.boottime_ns,
    )?;
    let prev = prev_sample
        .program(cur.id)
        .filter(|p| p.load_time_ns == cur.load_time_ns)
        .map(ProgramSample::counters);
    let start = baseline(prev, prev_sample.boottime_ns, cur.load_time_ns)?;
    delta_metrics(start, cur.counters(), elapsed_ns)
}

/// The time a period's counters grew over: the time statistics were on in
/// low-overhead mode (`stats_on_ns`, at most the period), else the whole
/// period; `None` when the clock went backwards.
#[must_use]
pub fn measured_ns(
    stats_on_ns: Option<u64>,
    boottime_ns: u64,
    prev_boottime_ns: u64,
) -> Option<u64> {
    let period = boottime_ns.checked_sub(prev_boottime_ns)?;
    Some(stats_on_ns.map_or(period, |on| on.min(period)))
}

/// The counters a period starts from: the same program's previous reading
/// (`prev`, same id and load time), else zero if it was loaded during the
/// period (its counters started at zero at load), else none.
#[must_use]
pub fn baseline(
    prev: Option<Counters>,
    prev_boottime_ns: u64,
    load_time_ns: u64,
) -> Option<Counters> {
    match prev {
        Some(counters) => Some(counters),
        None if load_time_ns >= prev_boottime_ns => Some(Counters::default()),
        None => None,
    }
}

/// Sum of CPU % over all programs of a period: what BPF as a whole cost.
#[must_use]
pub fn total_cpu_percent<'a>(metrics: impl IntoIterator<Item = &'a Metrics>) -> f64 {
    metrics.into_iter().map(|m| m.cpu_percent).sum()
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the expected values are exact in binary
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn counters(run_time_ns: u64, run_cnt: u64, recursion_misses: u64) -> Counters {
        Counters {
            run_time_ns,
            run_cnt,
            recursion_misses,
        }
    }

    #[test]
    fn zero_delta_gives_zero_metrics_not_nan() {
        let c = counters(5_000, 10, 0);
        let m = delta_metrics(c, c, 1_000_000_000).expect("defined");
        assert_eq!(m.avg_runtime_ns, 0.0);
        assert_eq!(m.events_per_sec, 0.0);
        assert_eq!(m.cpu_percent, 0.0);
        assert_eq!(m.recursion_misses_per_sec, 0.0);
        assert_eq!(m.total_avg_runtime_ns, 500.0);
    }

    #[test]
    fn never_run_program_has_zero_total_average() {
        let m = delta_metrics(Counters::default(), Counters::default(), 1).expect("defined");
        assert_eq!(m.total_avg_runtime_ns, 0.0);
        assert!(!m.avg_runtime_ns.is_nan());
    }

    #[test]
    fn metrics_follow_the_definitions() {
        // 1000 runs of 250 ns each over half a second.
        let m = delta_metrics(counters(0, 0, 0), counters(250_000, 1_000, 4), 500_000_000)
            .expect("defined");
        assert_eq!(m.avg_runtime_ns, 250.0);
        assert_eq!(m.events_per_sec, 2_000.0);
        assert!((m.cpu_percent - 0.05).abs() < 1e-12, "{}", m.cpu_percent);
        assert_eq!(m.recursion_misses_per_sec, 8.0);
    }

    #[test]
    fn counters_going_backwards_start_a_new_series() {
        let prev = counters(1_000, 10, 1);
        assert_eq!(delta_metrics(prev, counters(999, 11, 1), 1), None);
        assert_eq!(delta_metrics(prev, counters(1_001, 9, 1), 1), None);
        assert_eq!(delta_metrics(prev, counters(1_001, 11, 0), 1), None);
    }

    #[test]
    fn zero_elapsed_time_has_no_rate() {
        let c = counters(1, 1, 0);
        assert_eq!(delta_metrics(Counters::default(), c, 0), None);
    }

    #[test]
    fn u64_extremes_neither_overflow_nor_panic() {
        let top = counters(u64::MAX, u64::MAX, u64::MAX);
        let m = delta_metrics(Counters::default(), top, 1).expect("defined");
        assert!(m.avg_runtime_ns.is_finite());
        assert_eq!(m.avg_runtime_ns, 1.0);
        assert!(m.cpu_percent.is_finite() && m.cpu_percent > 1e20);
        assert_eq!(m.total_avg_runtime_ns, 1.0);
        let m = delta_metrics(top, top, u64::MAX).expect("defined");
        assert_eq!(m.events_per_sec, 0.0);
        // A wrap from the top to a small value is a counter going backwards.
        assert_eq!(delta_metrics(top, counters(1, 1, 1), 1), None);
    }

    #[test]
    fn jittered_periods_use_the_measured_time() {
        // The same 1,000 runs per nominal second, measured 0.9 s and 1.1 s
        // apart: the rate follows the measured Δt, not the nominal period.
        let a = counters(0, 0, 0);
        let b = counters(900_000, 900, 0);
        let c = counters(2_000_000, 2_000, 0);
        let m1 = delta_metrics(a, b, 900_000_000).expect("defined");
        let m2 = delta_metrics(b, c, 1_100_000_000).expect("defined");
        assert!((m1.events_per_sec - 1_000.0).abs() < 1e-9);
        assert!((m2.events_per_sec - 1_000.0).abs() < 1e-9);
        assert!((m1.cpu_percent - 0.1).abs() < 1e-12);
        assert!((m2.cpu_percent - 0.1).abs() < 1e-12);
    }

    fn program(id: u32, load_time_ns: u64, run_time_ns: u64, run_cnt: u64) -> ProgramSample {
        crate::test_support::program(id)
            .kind(1)
            .loaded_at(load_time_ns)
            .ran(run_cnt, run_time_ns)
            .build()
    }

    fn sample(boottime_ns: u64, programs: Vec<ProgramSample>) -> Sample {
        Sample {
            taken_at: SystemTime::UNIX_EPOCH,
            boottime_ns,
            period: Duration::from_secs(1),
            facts: Vec::new(),
            links: None,
            owners_read_ns: None,
            pass_ns: 0,
            per_cpu: None,
            stats_on_ns: None,
            programs,
        }
    }

    #[test]
    fn program_metrics_pair_programs_by_id_and_load_time() {
        let prev = sample(
            10_000_000_000,
            vec![program(1, 5, 100, 1), program(2, 6, 0, 0)],
        );
        let cur = sample(
            11_000_000_000,
            vec![
                program(1, 5, 1_100, 11),
                // id 2 was unloaded and the id reused by a program loaded
                // during the period: its own counters count from zero.
                program(2, 10_500_000_000, 300, 3),
                // a new program loaded during the period
                program(3, 10_200_000_000, 50, 5),
            ],
        );
        let m1 = program_metrics(&prev, &cur, &cur.programs[0]).expect("paired");
        assert_eq!(m1.events_per_sec, 10.0);
        assert_eq!(m1.avg_runtime_ns, 100.0);
        let m2 = program_metrics(&prev, &cur, &cur.programs[1]).expect("fresh series");
        assert_eq!(m2.events_per_sec, 3.0);
        let m3 = program_metrics(&prev, &cur, &cur.programs[2]).expect("new program");
        assert_eq!(m3.avg_runtime_ns, 10.0);
    }

    #[test]
    fn program_without_baseline_has_no_metrics() {
        let prev = sample(10, vec![]);
        let cur = sample(20, vec![program(7, 5, 100, 1)]);
        assert_eq!(program_metrics(&prev, &cur, &cur.programs[0]), None);
    }

    #[test]
    fn totals_add_up() {
        let ms = [
            Metrics {
                cpu_percent: 1.5,
                ..Metrics::default()
            },
            Metrics {
                cpu_percent: 2.25,
                ..Metrics::default()
            },
        ];
        assert_eq!(total_cpu_percent(&ms), 3.75);
    }
}
