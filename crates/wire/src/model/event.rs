//! What a source of samples says, whatever it is (a thread of this process,
//! the elevated helper, later a recording or a remote host): the vocabulary
//! shared by the sampler, the protocol, the sources and the store.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Sample;

/// What a sample source (this thread, or later the elevated helper) sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceEvent {
    /// First event: what the source uses.
    Hello(SourceInfo),
    /// One pass over every program.
    Sample(Sample),
    /// Facts of programs in the next sample, sent ahead of it because the
    /// sample would not fit one frame with them (a host with very many
    /// programs, the first time it is read).
    Facts(Vec<super::ProgramFacts>),
    /// Something the user should know that did not stop sampling, said
    /// once: owners or links could not be read this pass, so the data is
    /// incomplete.
    Warning(String),
    /// A pass failed: this period has no sample. Sampling goes on.
    Error(String),
}

/// A sampling interval in the accepted range, 0.1 s to 3600 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval(Duration);

/// An interval outside the accepted range, or not a number.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the sample interval must be a number of seconds from 0.1 to 3600, not {0:?}")]
pub struct IntervalError(String);

impl Interval {
    pub const MIN: Duration = Duration::from_millis(100);
    pub const MAX: Duration = Duration::from_secs(3600);
    pub const DEFAULT: Self = Self(Duration::from_secs(1));

    /// An interval of `duration`, if it is in range.
    pub fn new(duration: Duration) -> Result<Self, IntervalError> {
        if (Self::MIN..=Self::MAX).contains(&duration) {
            Ok(Self(duration))
        } else {
            Err(IntervalError(format!("{}", duration.as_secs_f64())))
        }
    }

    /// The interval as a duration.
    #[must_use]
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl Default for Interval {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs: f64 = s.trim().parse().map_err(|_| IntervalError(s.to_owned()))?;
        if !secs.is_finite() {
            return Err(IntervalError(s.to_owned()));
        }
        // Round to the millisecond so 0.1 is exactly 100 ms.
        let millis = (secs * 1000.0).round();
        if !(0.0..=Self::MAX.as_millis() as f64).contains(&millis) {
            return Err(IntervalError(s.to_owned()));
        }
        Self::new(Duration::from_millis(millis as u64)).map_err(|_| IntervalError(s.to_owned()))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0.as_secs_f64())
    }
}

/// Called after every event the thread sends (e.g. to wake a UI).
pub type Waker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// How programs are enumerated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enumeration {
    /// One read of an `iter/bpf_prog` BPF iterator per pass (fast path).
    Iterator,
    /// `BPF_PROG_GET_NEXT_ID` → `GET_FD_BY_ID` → `OBJ_GET_INFO_BY_FD` per
    /// program (fallback where the iterator cannot load).
    Syscall,
}

impl fmt::Display for Enumeration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Iterator => "BPF iterator",
            Self::Syscall => "syscalls",
        })
    }
}

/// How statistics are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatsMode {
    /// A `BPF_ENABLE_STATS` file descriptor is held: the kernel turns
    /// accounting off by itself when it closes, however bpfscope exits.
    Syscall,
    /// `kernel.bpf_stats_enabled` was set to 1 and is restored on exit.
    Sysctl,
}

impl std::fmt::Display for StatsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Syscall => "syscall",
            Self::Sysctl => "sysctl",
        })
    }
}

/// What a running sampler uses, for the status bar and the helper's `Hello`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub stats_mode: StatsMode,
    pub enumeration: Enumeration,
    pub owners_available: bool,
    pub kernel_release: String,
    pub online_cpus: u32,
    /// Things the user should know once (a fallback taken and why).
    pub notices: Vec<String>,
    /// What the kernel's accounting costs a program run on this machine.
    pub accounting: AccountingCost,
}

/// What statistics cost each program run, measured at start-up: a trivial
/// program test-run many times with statistics off and on, in turns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountingCost {
    /// The median time a run took, in nanoseconds, without and with
    /// statistics.
    Measured { without_ns: u32, with_ns: u32 },
    /// Statistics were on before bpfscope turned them on (another tool, or
    /// the sysctl): there was no "off" to measure against, and the cost is
    /// paid with or without bpfscope.
    AlreadyOn,
    /// Not measured, and why.
    NotMeasured(String),
}

impl AccountingCost {
    /// Batches of each kind measured, in turns, and runs a batch.
    pub const ROUNDS: usize = 7;
    pub const RUNS: u32 = 100_000;

    /// The time statistics add to each run, in nanoseconds.
    #[must_use]
    pub fn per_run_ns(&self) -> Option<u32> {
        match self {
            Self::Measured {
                without_ns,
                with_ns,
            } => Some(with_ns.saturating_sub(*without_ns)),
            Self::AlreadyOn | Self::NotMeasured(_) => None,
        }
    }

    /// The share of one CPU, in percent, that statistics add to `runs_per_sec`
    /// runs a second.
    #[must_use]
    pub fn percent_of_one_cpu(&self, runs_per_sec: f64) -> Option<f64> {
        self.per_run_ns()
            .map(|ns| runs_per_sec * f64::from(ns) / 1e7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_in_range_parse() {
        assert_eq!(
            "0.1".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_millis(100))
        );
        assert_eq!(
            "3600".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_secs(3600))
        );
        assert_eq!(
            " 2.5 ".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_millis(2500))
        );
    }

    #[test]
    fn intervals_out_of_range_are_rejected_with_the_range() {
        for bad in ["0.05", "0", "-1", "3600.5", "1e9", "NaN", "inf", "abc", ""] {
            let err = bad.parse::<Interval>().expect_err(bad);
            assert!(err.to_string().contains("0.1 to 3600"), "{err}");
        }
    }
}
