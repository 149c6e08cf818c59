//! The privileged part: turn statistics on, read every program each period.
//!
//! [`Sampler`] owns the [`StatsGuard`] and the iterators; [`spawn`] runs it on
//! a named thread that sends one [`SourceEvent::Sample`] per period down a
//! bounded channel. The sampler knows nothing about filters or the UI: every
//! program is read every time.

mod drop_privilege;
mod facts;
mod facts_iter;
mod facts_source;
mod iter;
mod link_targets;
mod links;
pub mod low_overhead;
mod owners;
mod pass;
mod per_cpu;
mod prog_records;
mod stats;
pub mod stats_cost;
mod syscall;
mod sysctl;
mod warn_once;

use facts_source::FactsSource;
use warn_once::WarnOnce;
mod thread;

use std::io;
use std::time::Duration;

use thiserror::Error;

use crate::model::{AccountingCost, Enumeration, LinkFacts, ProgramKey, SourceInfo, StatsMode};
use crate::sys;

pub use drop_privilege::drop_to_least_privilege;
pub use stats::{StatsGuard, StatsRequest, restore_sysctl_now};
pub use syscall::{enumerate as enumerate_with_syscalls, read_program};
pub use thread::{SamplerThread, spawn, spawn_with_waker};

/// What the sampler was asked to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SamplerConfig {
    pub stats: StatsRequest,
    /// `None`: the iterator, falling back to syscalls. `Some`: only that one.
    pub enumeration: Option<Enumeration>,
    /// Read owning processes with the `iter/task_file` iterator.
    pub owners: bool,
    /// Read each new program's facts and every pass's links.
    pub facts: bool,
    /// Read owners again at least this often (`None`: [`OWNERS_EVERY`]),
    /// and whenever a program or link comes or goes.
    pub owners_every: Option<Duration>,
    /// Read facts and links by syscall (opening each object by id, which
    /// needs CAP_SYS_ADMIN) even where their iterators load: the path used
    /// on old kernels, kept to check the iterators against.
    #[doc(hidden)]
    pub facts_by_syscall: bool,
    /// Which programs' per-CPU figures each sample carries.
    pub per_cpu: PerCpuLimits,
    /// Low-overhead mode: statistics on only part of each period.
    pub low_overhead: Option<low_overhead::LowOverhead>,
}

/// Which programs' per-CPU figures a sample carries: those whose cost was
/// at least `floor_ppm` millionths of one CPU, the `programs_max`
/// costliest of them. Every CPU's total over all programs is always sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerCpuLimits {
    pub floor_ppm: u32,
    pub programs_max: u32,
}

impl Default for PerCpuLimits {
    fn default() -> Self {
        Self {
            floor_ppm: crate::model::PER_CPU_FLOOR_PPM,
            programs_max: crate::model::PER_CPU_PROGRAMS,
        }
    }
}

/// How often owners are read when no program or link came or went.
pub const OWNERS_EVERY: Duration = Duration::from_secs(10);

/// Why the sampler could not start or read.
#[derive(Debug, Error)]
pub enum SamplerError {
    #[error(
        "bpfscope needs CAP_SYS_ADMIN to turn on BPF run-time statistics and read every \
         program; run it as root (e.g. `sudo bpfscope sample`) or give it that capability"
    )]
    NoPrivilege,
    #[error("could not turn on BPF run-time statistics: {0}")]
    Stats(#[source] io::Error),
    #[error("could not list BPF programs: {0}")]
    Enumerate(#[source] io::Error),
}

impl SamplerError {
    /// Whether this is the missing-privilege case (exit code 2 in the CLI).
    #[must_use]
    pub fn is_privilege(&self) -> bool {
        matches!(self, Self::NoPrivilege)
    }
}

fn is_permission(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EPERM | libc::EACCES))
}

/// Reads every loaded program's counters, owners and identity.
#[derive(Debug)]
pub struct Sampler {
    // Field order is drop order: iterators go before statistics are turned off.
    progs: Option<iter::ProgIter>,
    owners: Option<owners::OwnerIter>,
    /// Statistics held on (`None` in low-overhead mode: the toggler turns
    /// them on and off).
    _stats: Option<StatsGuard>,
    stats_mode: StatsMode,
    toggler: Option<low_overhead::StatsToggler>,
    /// bpfscope's own iterators (three at most: a list beats hashing every
    /// program every pass).
    own_ids: Vec<u32>,
    info: SourceInfo,
    buf: Vec<u8>,
    warnings: Vec<String>,
    owners_failing: WarnOnce,
    owner_cache: owners::OwnerCache,
    owners_every: Duration,
    facts: Option<FactsSource>,
    links: Option<links::LinkReader>,
    /// Programs whose facts were sent, sorted by key.
    facts_sent: Vec<ProgramKey>,
    /// Program ids of the last pass that looked for new facts.
    facts_ids: Vec<u32>,
    /// The links last sent (`None`: none yet).
    links_sent: Option<Vec<LinkFacts>>,
    /// Perf events running programs, from the last owners read.
    perf_attachments: Vec<LinkFacts>,
    facts_failing: WarnOnce,
    links_failing: WarnOnce,
    netns_unseen: WarnOnce,
    attached_failing: WarnOnce,
    per_cpu: per_cpu::PerCpuTracker,
}

impl Sampler {
    /// Turns statistics on and loads the iterators.
    pub fn new(config: SamplerConfig) -> Result<Self, SamplerError> {
        // Before statistics are on: the cost is measured against "off".
        let accounting = if config.stats == StatsRequest::Sysctl {
            AccountingCost::NotMeasured("statistics are on through the sysctl".to_owned())
        } else {
            stats_cost::measure(stats::enable_stats_fd)
        };
        let stats = StatsGuard::enable(config.stats)?;
        let stats_mode = stats.mode();
        let mut notices = Vec::new();
        if stats_mode == StatsMode::Sysctl && config.stats == StatsRequest::Auto {
            notices.push(
                "this kernel has no BPF_ENABLE_STATS (Linux < 5.8): statistics are on through \
                 the kernel.bpf_stats_enabled sysctl until bpfscope exits"
                    .to_owned(),
            );
        }

        let progs = load_progs(config.enumeration, &mut notices)?;
        let owners = load_owners(config.owners, &mut notices);

        let (facts, links) = if config.facts {
            let (links, notice) = links::LinkReader::new(config.facts_by_syscall);
            notices.extend(notice);
            let facts = FactsSource::load(config.facts_by_syscall, &mut notices);
            (Some(facts), Some(links))
        } else {
            (None, None)
        };

        let mut own_ids = Vec::new();
        own_ids.extend(progs.iter().filter_map(iter::ProgIter::prog_id));
        own_ids.extend(owners.iter().filter_map(owners::OwnerIter::prog_id));
        own_ids.extend(links.iter().flat_map(links::LinkReader::prog_ids));
        if let Some(FactsSource::Iter(it)) = &facts {
            own_ids.extend(it.prog_ids());
        }

        // Last, so that its first window is as near as can be to the first
        // sample; from now on it turns statistics on and off.
        let toggler =
            low_overhead::start(config.low_overhead, &accounting, stats_mode, &mut notices);
        let stats = if toggler.is_some() {
            drop(stats);
            None
        } else {
            Some(stats)
        };
        let info = SourceInfo {
            stats_mode,
            enumeration: if progs.is_some() {
                Enumeration::Iterator
            } else {
                Enumeration::Syscall
            },
            owners_available: owners.is_some(),
            kernel_release: sys::kernel_release(),
            online_cpus: u32::try_from(sys::online_cpus()).unwrap_or(u32::MAX),
            notices,
            accounting,
        };
        Ok(Self {
            progs,
            owners,
            _stats: stats,
            stats_mode,
            toggler,
            own_ids,
            info,
            buf: Vec::new(),
            warnings: Vec::new(),
            owners_failing: WarnOnce::default(),
            owner_cache: owners::OwnerCache::default(),
            owners_every: config.owners_every.unwrap_or(OWNERS_EVERY),
            facts,
            links,
            facts_sent: Vec::new(),
            facts_ids: Vec::new(),
            links_sent: None,
            perf_attachments: Vec::new(),
            facts_failing: WarnOnce::default(),
            links_failing: WarnOnce::default(),
            netns_unseen: WarnOnce::default(),
            attached_failing: WarnOnce::default(),
            per_cpu: per_cpu::PerCpuTracker::new(
                config.per_cpu.floor_ppm,
                config.per_cpu.programs_max,
            ),
        })
    }

    /// What this sampler uses.
    #[must_use]
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// How statistics are turned on.
    #[must_use]
    pub fn stats_mode(&self) -> StatsMode {
        self.stats_mode
    }

    /// Low-overhead mode's toggler, when it runs.
    pub fn toggler(&mut self) -> Option<&mut low_overhead::StatsToggler> {
        self.toggler.as_mut()
    }

    /// Adds a notice to what [`Sampler::info`] reports (sent in the `Hello`).
    pub fn add_notice(&mut self, notice: String) {
        self.info.notices.push(notice);
    }

    /// Why sampling still needs CAP_SYS_ADMIN (and root) after start-up, if
    /// it does: each reason is a path an iterator could not replace here.
    #[must_use]
    pub fn needs_sys_admin(&self) -> Vec<&'static str> {
        let mut why = Vec::new();
        if self.info.enumeration == Enumeration::Syscall {
            why.push("programs are listed by syscall (GET_NEXT_ID)");
        }
        if self.stats_mode == StatsMode::Sysctl {
            why.push("statistics are on through the sysctl, which only it can turn off");
        }
        if matches!(self.facts, Some(FactsSource::Syscall(_))) {
            why.push("program facts are read by opening programs and maps by id");
        }
        if self
            .links
            .as_ref()
            .is_some_and(links::LinkReader::needs_syscalls)
        {
            why.push("links are read by opening each link by id");
        }
        why
    }

    /// Runs every loaded iterator once (what each pass reads), for the
    /// helper to learn which capabilities reading truly needs on this
    /// kernel. Nothing read is kept.
    pub fn check_reads(&mut self) -> io::Result<()> {
        if let Some(progs) = &mut self.progs {
            let mut scratch = Vec::new();
            progs.read(&mut self.buf, &mut scratch)?;
            // The iterator writes per-CPU counters only when they change:
            // what it wrote here is the first pass's baseline.
            self.per_cpu
                .update(progs.parsed(), sys::boottime_ns(), None);
        }
        if let Some(owners) = &mut self.owners {
            owners.read(&mut self.buf)?;
        }
        if let Some(FactsSource::Iter(it)) = &mut self.facts {
            it.check_reads()?;
        }
        if let Some(links) = &mut self.links {
            links.check_read(&mut self.buf)?;
        }
        Ok(())
    }

    /// Every `(program id, owner)` pair the owners iterator reports now, as
    /// it reports them (for tests of what it accepts as a BPF object).
    #[doc(hidden)]
    pub fn raw_owners(&mut self) -> io::Result<Vec<(u32, crate::model::Owner)>> {
        match &mut self.owners {
            Some(owners) => owners.read(&mut self.buf).map(|read| read.pairs),
            None => Err(io::Error::other("the owners iterator is not loaded")),
        }
    }

    /// Trouble met while sampling that did not stop it, each said once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

/// The program iterator, unless syscalls were asked for; where it cannot
/// load, the syscall fallback (said in `notices`) unless only it would do.
fn load_progs(
    enumeration: Option<Enumeration>,
    notices: &mut Vec<String>,
) -> Result<Option<iter::ProgIter>, SamplerError> {
    match enumeration {
        Some(Enumeration::Syscall) => Ok(None),
        want => match iter::ProgIter::load() {
            Ok(it) => Ok(Some(it)),
            Err(err) if want == Some(Enumeration::Iterator) => Err(SamplerError::Enumerate(err)),
            Err(err) => {
                notices.push(format!(
                    "the BPF program iterator could not load ({err}); reading programs \
                     with one syscall each instead, which costs more CPU"
                ));
                Ok(None)
            }
        },
    }
}

/// The owners iterator, if asked for and it loads (else said in `notices`).
fn load_owners(owners: bool, notices: &mut Vec<String>) -> Option<owners::OwnerIter> {
    if owners {
        match owners::OwnerIter::load() {
            Ok(it) => Some(it),
            Err(err) => {
                notices.push(format!(
                    "owning processes are not shown: the task_file iterator could not \
                     load ({err})"
                ));
                None
            }
        }
    } else {
        None
    }
}

/// The kernel id of the program behind `fd`.
pub fn prog_id_of(fd: &std::os::fd::OwnedFd) -> io::Result<u32> {
    syscall::prog_info(fd).map(|info| info.id)
}
