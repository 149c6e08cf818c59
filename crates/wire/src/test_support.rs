//! Samples and programs built field by field, for tests and benchmarks of
//! every crate (behind the `test-support` feature: not in a release build).

/// Builds the [`ProgramSample`]s and [`Sample`]s of tests and benchmarks:
/// an `xdp` program named `p<id>`, loaded at 0, never run, held by nobody,
/// changed field by field.
///
/// [`ProgramSample`]: crate::model::ProgramSample
/// [`Sample`]: crate::model::Sample
#[derive(Clone, Debug)]
pub struct ProgramBuilder(crate::model::ProgramSample);

/// A [`ProgramBuilder`] for program `id`.
#[must_use]
pub fn program(id: u32) -> ProgramBuilder {
    ProgramBuilder(crate::model::ProgramSample {
        id,
        prog_type: 6,
        name: crate::model::KernelName::new(&format!("p{id}")),
        tag: [0; 8],
        load_time_ns: 0,
        run_time_ns: 0,
        run_cnt: 0,
        recursion_misses: 0,
        owners: std::sync::Arc::default(),
        own: false,
    })
}

impl ProgramBuilder {
    /// `enum bpf_prog_type` number.
    #[must_use]
    pub fn kind(mut self, prog_type: u32) -> Self {
        self.0.prog_type = prog_type;
        self
    }

    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = crate::model::KernelName::new(name);
        self
    }

    #[must_use]
    pub fn tag(mut self, tag: [u8; 8]) -> Self {
        self.0.tag = tag;
        self
    }

    #[must_use]
    pub fn loaded_at(mut self, load_time_ns: u64) -> Self {
        self.0.load_time_ns = load_time_ns;
        self
    }

    /// `runs` runs taking `run_time_ns` together, since statistics went on.
    #[must_use]
    pub fn ran(mut self, runs: u64, run_time_ns: u64) -> Self {
        self.0.run_cnt = runs;
        self.0.run_time_ns = run_time_ns;
        self
    }

    /// Runs skipped because the program was already running.
    #[must_use]
    pub fn misses(mut self, recursion_misses: u64) -> Self {
        self.0.recursion_misses = recursion_misses;
        self
    }

    /// One of bpfscope's own programs.
    #[must_use]
    pub fn own(mut self, own: bool) -> Self {
        self.0.own = own;
        self
    }

    /// Held by process `pid` named `comm`, too.
    #[must_use]
    pub fn owner(mut self, pid: u32, comm: &str) -> Self {
        let mut owners = self.0.owners.to_vec();
        owners.push(crate::model::Owner {
            pid,
            comm: comm.into(),
        });
        self.0.owners = owners.into();
        self
    }

    #[must_use]
    pub fn build(self) -> crate::model::ProgramSample {
        self.0
    }
}

/// A sample of `programs` taken `secs` seconds after boot (and after the
/// epoch), at a 1 s interval, without facts or links.
#[must_use]
pub fn sample_at(secs: u64, programs: Vec<crate::model::ProgramSample>) -> crate::model::Sample {
    crate::model::Sample {
        taken_at: std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs),
        boottime_ns: secs * 1_000_000_000,
        period: std::time::Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        programs,
    }
}
