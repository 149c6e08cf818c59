//! The privileged part: turn statistics on, read every program each period.
//!
//! [`Sampler`] owns the [`StatsGuard`] and the iterators; [`spawn`] runs it on
//! a named thread that sends one [`SourceEvent::Sample`] per period down a
//! bounded channel. The sampler knows nothing about filters or the UI: every
//! program is read every time.

mod facts;
mod facts_iter;
mod iter;
mod link_words;
mod links;
mod owners;
mod stats;
mod syscall;
mod sysctl;
mod warn_once;

use warn_once::WarnOnce;
mod thread;

use std::collections::HashMap;
use std::io;
use std::time::{Duration, SystemTime};

use thiserror::Error;

use crate::model::{
    Enumeration, LinkFacts, ProgramFacts, ProgramKey, ProgramSample, Sample, SourceInfo, StatsMode,
};
use crate::sys;

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
}

/// Where program facts come from.
#[derive(Debug)]
enum FactsSource {
    /// `src/bpf/facts.bpf.c`: nothing opened, no CAP_SYS_ADMIN.
    Iter(facts_iter::FactsIter),
    /// Each program and map opened by id.
    Syscall(facts::FactsReader),
}

impl FactsSource {
    fn load(by_syscall: bool, notices: &mut Vec<String>) -> Self {
        if by_syscall {
            return Self::Syscall(facts::FactsReader::new());
        }
        match facts_iter::FactsIter::load() {
            Ok(it) => Self::Iter(it),
            Err(err) => {
                notices.push(format!(
                    "the facts iterators could not load ({err}): program facts are read by \
                     syscall, which keeps CAP_SYS_ADMIN"
                ));
                Self::Syscall(facts::FactsReader::new())
            }
        }
    }

    /// Facts of `wanted` (sorted ids) that are still loaded; the first
    /// error met, if any, with what was read before it.
    fn read(&mut self, wanted: &[u32]) -> (HashMap<u32, ProgramFacts>, Option<io::Error>) {
        match self {
            Self::Iter(it) => match it.read(wanted) {
                Ok(found) => (found, None),
                Err(err) => (HashMap::new(), Some(err)),
            },
            Self::Syscall(reader) => {
                let mut found = HashMap::new();
                let mut failed = None;
                for &id in wanted {
                    match reader.read(id) {
                        Ok(Some(facts)) => {
                            found.insert(id, facts);
                        }
                        Ok(None) => {}
                        Err(err) => failed = Some(err),
                    }
                }
                (found, failed)
            }
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
    stats: StatsGuard,
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
    facts_failing: WarnOnce,
    links_failing: WarnOnce,
}

impl Sampler {
    /// Turns statistics on and loads the iterators.
    pub fn new(config: SamplerConfig) -> Result<Self, SamplerError> {
        let stats = StatsGuard::enable(config.stats)?;
        let mut notices = Vec::new();
        if stats.mode() == StatsMode::Sysctl && config.stats == StatsRequest::Auto {
            notices.push(
                "this kernel has no BPF_ENABLE_STATS (Linux < 5.8): statistics are on through \
                 the kernel.bpf_stats_enabled sysctl until bpfscope exits"
                    .to_owned(),
            );
        }

        let progs = match config.enumeration {
            Some(Enumeration::Syscall) => None,
            want => match iter::ProgIter::load() {
                Ok(it) => Some(it),
                Err(err) if want == Some(Enumeration::Iterator) => {
                    return Err(SamplerError::Enumerate(err));
                }
                Err(err) => {
                    notices.push(format!(
                        "the BPF program iterator could not load ({err}); reading programs \
                         with one syscall each instead, which costs more CPU"
                    ));
                    None
                }
            },
        };
        let owners = if config.owners {
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
        };

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
        own_ids.extend(links.iter().filter_map(links::LinkReader::prog_id));
        if let Some(FactsSource::Iter(it)) = &facts {
            own_ids.extend(it.prog_ids());
        }

        let info = SourceInfo {
            stats_mode: stats.mode(),
            enumeration: if progs.is_some() {
                Enumeration::Iterator
            } else {
                Enumeration::Syscall
            },
            owners_available: owners.is_some(),
            kernel_release: sys::kernel_release(),
            online_cpus: u32::try_from(sys::online_cpus()).unwrap_or(u32::MAX),
            notices,
        };
        Ok(Self {
            progs,
            owners,
            stats,
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
            facts_failing: WarnOnce::default(),
            links_failing: WarnOnce::default(),
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
        self.stats.mode()
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
        if self.stats.mode() == StatsMode::Sysctl {
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
        }
        if let Some(owners) = &mut self.owners {
            owners.read(&mut self.buf)?;
        }
        if let Some(FactsSource::Iter(it)) = &mut self.facts {
            it.read(&[u32::MAX])?;
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
            Some(owners) => owners.read(&mut self.buf),
            None => Err(io::Error::other("the owners iterator is not loaded")),
        }
    }

    /// Trouble met while sampling that did not stop it, each said once.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Reads every program once.
    pub fn sample(&mut self, period: Duration) -> Result<Sample, SamplerError> {
        let taken_at = SystemTime::now();
        let boottime_ns = sys::boottime_ns();
        let mut programs = Vec::with_capacity(self.buf.len() / iter::RECORD_SIZE + 16);
        match &mut self.progs {
            Some(it) => it.read(&mut self.buf, &mut programs),
            None => syscall::enumerate(&mut programs),
        }
        .map_err(|err| {
            if is_permission(&err) {
                SamplerError::NoPrivilege
            } else {
                SamplerError::Enumerate(err)
            }
        })?;
        programs.sort_unstable_by_key(|p| p.id);
        programs.dedup_by_key(|p| p.id);

        // Links first: a link that came or went makes the owners due. New
        // programs make every link be described again: a link updated to a
        // new program keeps its id.
        let prog_ids: Vec<u32> = programs.iter().map(|p| p.id).collect();
        let links = self.changed_links(prog_ids != self.facts_ids);
        self.refresh_owners(&prog_ids, boottime_ns);
        self.owner_cache.attach(&mut programs);
        for program in &mut programs {
            program.own = self.own_ids.contains(&program.id);
        }
        let facts = self.new_facts(&programs, prog_ids);
        Ok(Sample {
            taken_at,
            boottime_ns,
            period,
            programs,
            facts,
            links,
            owners_read_ns: self
                .owners
                .as_ref()
                .and(self.owner_cache.read_boottime_ns()),
        })
    }

    /// Reads the owners when they are due (see [`owners::OwnerCache`]); a
    /// failed read keeps the last ones, which then grow older.
    fn refresh_owners(&mut self, prog_ids: &[u32], boottime_ns: u64) {
        let Some(owners) = &mut self.owners else {
            return;
        };
        let link_ids = self.links.as_ref().map_or(&[][..], links::LinkReader::ids);
        if !self.owner_cache.due(prog_ids, link_ids, self.owners_every) {
            return;
        }
        let started = std::time::Instant::now();
        let failure = match owners.read(&mut self.buf) {
            Ok(pairs) => {
                let cost = started.elapsed();
                self.owner_cache
                    .keep(&pairs, prog_ids.to_vec(), link_ids, boottime_ns, cost);
                None
            }
            Err(err) => {
                // Held back like a read that worked: a read that fails after
                // a long walk must not be tried again every pass.
                self.owner_cache.failed(started.elapsed());
                Some(format!("could not read owning processes: {err}"))
            }
        };
        self.warnings.extend(self.owners_failing.update(failure));
    }

    /// Facts of the programs not seen before; forgets programs that left.
    fn new_facts(&mut self, programs: &[ProgramSample], prog_ids: Vec<u32>) -> Vec<ProgramFacts> {
        let Some(reader) = &mut self.facts else {
            return Vec::new();
        };
        // The same programs as last pass, every one's facts sent: nothing
        // to look at (the common pass on a steady host).
        if prog_ids == self.facts_ids && self.facts_sent.len() == programs.len() {
            return Vec::new();
        }
        self.facts_ids = prog_ids;
        // One merge of two key-sorted lists (programs are sorted by id and
        // unique): no hashing of every program every pass.
        let mut kept = Vec::with_capacity(programs.len());
        let mut wanted = Vec::new();
        let mut sent = self.facts_sent.iter().peekable();
        for program in programs {
            let key = ProgramKey::of(program);
            while sent.next_if(|k| **k < key).is_some() {}
            if sent.next_if(|k| **k == key).is_some() {
                kept.push(key);
            } else {
                wanted.push(program);
            }
        }
        let ids: Vec<u32> = wanted.iter().map(|p| p.id).collect();
        let (mut found, failed) = reader.read(&ids);
        let mut out = Vec::new();
        for program in wanted {
            match found.remove(&program.id) {
                // A different program under a reused id is read next pass.
                Some(facts) if facts.load_time_ns == program.load_time_ns => {
                    kept.push(ProgramKey::of(program));
                    out.push(facts);
                }
                _ => {}
            }
        }
        kept.sort_unstable();
        self.facts_sent = kept;
        let failure = failed.map(|err| format!("could not read program facts: {err}"));
        self.warnings.extend(self.facts_failing.update(failure));
        out
    }

    /// Every link, when they differ from those last sent.
    fn changed_links(&mut self, describe_all: bool) -> Option<Vec<LinkFacts>> {
        let reader = self.links.as_mut()?;
        match reader.read(describe_all) {
            Ok(links) => {
                self.links_failing.update(None);
                if self.links_sent.as_ref() == Some(&links) {
                    return None;
                }
                self.links_sent = Some(links.clone());
                Some(links)
            }
            Err(err) => {
                let failure = Some(format!("could not read BPF links: {err}"));
                self.warnings.extend(self.links_failing.update(failure));
                None
            }
        }
    }
}

/// The kernel id of the program behind `fd`.
pub fn prog_id_of(fd: &std::os::fd::OwnedFd) -> io::Result<u32> {
    syscall::prog_info(fd).map(|info| info.id)
}
