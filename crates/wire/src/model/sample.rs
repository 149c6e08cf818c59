use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::facts::{LinkFacts, ProgramFacts};
use super::metrics::Counters;
use super::name::KernelName;
use super::types::prog_type_name;

/// A process that holds a program (through a program or link file
/// descriptor).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Process id (thread-group id).
    pub pid: u32,
    /// The process's command name, at most 15 bytes as the kernel keeps it.
    pub comm: KernelName,
}

/// One program's raw counters and identity at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSample {
    /// Kernel program id.
    pub id: u32,
    /// `enum bpf_prog_type` number; see [`ProgramSample::type_name`].
    pub prog_type: u32,
    /// Program name as the kernel keeps it (at most 15 bytes; may be empty).
    pub name: KernelName,
    /// The program's tag (hash of its instructions).
    pub tag: [u8; 8],
    /// When the program was loaded, in `CLOCK_BOOTTIME` nanoseconds. Together
    /// with `id` it names one program even if an id is ever reused.
    pub load_time_ns: u64,
    /// Total run time accounted while statistics were on.
    pub run_time_ns: u64,
    /// Number of runs accounted while statistics were on.
    pub run_cnt: u64,
    /// Runs skipped because the program was already running on that CPU.
    pub recursion_misses: u64,
    /// Processes holding the program, sorted by pid. Empty when owners are
    /// unavailable or nobody holds a descriptor (e.g. pinned programs).
    /// Shared: samples taken while the owners are unchanged point at one
    /// list, so a pass allocates nothing per program for them.
    pub owners: Arc<[Owner]>,
    /// One of bpfscope's own programs (its iterators): listed so that its
    /// own overhead is visible.
    pub own: bool,
}

impl ProgramSample {
    /// The program type as `bpftool` names it.
    #[must_use]
    pub fn type_name(&self) -> Cow<'static, str> {
        prog_type_name(self.prog_type)
    }

    /// The tag as sixteen lower-case hex digits.
    #[must_use]
    pub fn tag_hex(&self) -> String {
        self.tag.iter().fold(String::with_capacity(16), |mut s, b| {
            let _ = write!(s, "{b:02x}"); // writing to a String cannot fail
            s
        })
    }

    /// The three accounted counters.
    #[must_use]
    pub fn counters(&self) -> Counters {
        Counters {
            run_time_ns: self.run_time_ns,
            run_cnt: self.run_cnt,
            recursion_misses: self.recursion_misses,
        }
    }

    /// Owners as `comm:pid` joined by `;`, the form CSV output uses.
    #[must_use]
    pub fn owners_joined(&self) -> String {
        let mut out = String::new();
        for (i, owner) in self.owners.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            let _ = write!(out, "{}:{}", owner.comm, owner.pid); // cannot fail on a String
        }
        out
    }
}

/// One program, even across id reuse: the id and its load time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramKey {
    pub id: u32,
    pub load_time_ns: u64,
}

impl ProgramKey {
    #[must_use]
    pub fn of(program: &ProgramSample) -> Self {
        Self {
            id: program.id,
            load_time_ns: program.load_time_ns,
        }
    }
}

/// Everything the sampler read in one pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Wall-clock time of the pass (for display and export only).
    pub taken_at: SystemTime,
    /// `CLOCK_BOOTTIME` at the pass, in nanoseconds: a monotonic clock that
    /// also counts suspend, and the clock of `load_time_ns`. Δt between two
    /// samples is measured with it, never assumed from the period.
    pub boottime_ns: u64,
    /// The sampling period that was asked for.
    pub period: Duration,
    /// Every program seen, sorted by id.
    pub programs: Vec<ProgramSample>,
    /// Facts of the programs this source had not reported before.
    pub facts: Vec<ProgramFacts>,
    /// Every link, when they changed since the last sample (always in the
    /// first); `None`: unchanged, or this source does not read links.
    pub links: Option<Vec<LinkFacts>>,
    /// `CLOCK_BOOTTIME` when the owners in `programs` were read (they are
    /// read when a program or link comes or goes, else every few seconds);
    /// `None` when this source reads no owners.
    pub owners_read_ns: Option<u64>,
    /// How long the pass took, in nanoseconds (0: not measured).
    pub pass_ns: u64,
    /// Runs and run time per CPU this period; `None` when this source
    /// cannot tell (the syscall fallback reads the kernel's sums only).
    pub per_cpu: Option<super::PerCpuSample>,
    /// Low-overhead mode: how long statistics were on since the sample
    /// before (rates are over that time, not the whole period); `None`:
    /// on all the time.
    pub stats_on_ns: Option<u64>,
}

impl Sample {
    /// The program with this id, if it was loaded at this sample.
    #[must_use]
    pub fn program(&self, id: u32) -> Option<&ProgramSample> {
        self.programs
            .binary_search_by_key(&id, |p| p.id)
            .ok()
            .and_then(|i| self.programs.get(i))
    }
}
