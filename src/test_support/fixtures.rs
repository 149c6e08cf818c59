//! Samples and programs built field by field, and the consumer that feeds
//! them through everything the window does.

use std::io;

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

/// Everything the window does with what a source sends: the store, the
/// derived table (sorted, grouped, with a baseline), and both CSV writers.
/// The hostile-input property test and the fuzz target drive it with
/// arbitrary decoded frames: none may panic.
#[derive(Debug)]
pub struct Consumer {
    store: crate::store::Store,
    derived: crate::view::Derived,
    settings: crate::view::Settings,
    baseline: Option<crate::view::Baseline>,
    taken: u64,
}

impl Default for Consumer {
    /// Keeps few unloaded programs, so that a million frames of mostly new
    /// programs stay quick to check.
    fn default() -> Self {
        let mut store = crate::store::Store::new();
        store.set_gone_limit(16);
        Self {
            store,
            derived: crate::view::Derived::default(),
            settings: crate::view::Settings::default(),
            baseline: None,
            taken: 0,
        }
    }
}

impl Consumer {
    /// Takes one decoded frame as the window would.
    pub fn take(&mut self, frame: crate::protocol::Frame) {
        use crate::view::{Grouping, Sort, SortColumn};
        self.store.push(crate::model::SourceEvent::from(frame));
        self.taken += 1;
        // Vary what the view is asked for as a user would.
        let columns = [
            SortColumn::Cpu,
            SortColumn::Name,
            SortColumn::Attach,
            SortColumn::DeltaCpu,
        ];
        self.settings.sort = Sort {
            column: columns[(self.taken % 4) as usize],
            descending: self.taken.is_multiple_of(3),
        };
        self.settings.grouping = [Grouping::None, Grouping::Process][(self.taken % 2) as usize];
        if self.taken.is_multiple_of(5) {
            self.baseline = Some(crate::view::Baseline::capture(
                &self.store,
                self.settings.plot_window,
                self.taken,
            ));
        }
        if self.taken.is_multiple_of(7) {
            self.store.pause();
        } else if self.taken % 7 == 3 {
            self.store.resume();
        }
        let group_of = |row: &crate::store::Row| row.text.owners_text.clone();
        self.derived.refresh(&crate::view::DerivedInput {
            store: &self.store,
            settings: &self.settings,
            filter: "a",
            diff_against: self.baseline.as_ref(),
            group_of: &group_of,
        });
        self.write_csv();
    }

    fn write_csv(&self) {
        let store = &self.store;
        let timestamp = store
            .latest_taken_at()
            .map(crate::model::rfc3339)
            .unwrap_or_default();
        if let Ok(mut csv) = crate::export::CsvWriter::new(io::sink()) {
            for row in store.rows() {
                if let Some(program) = store.program(row.key) {
                    let described = crate::export::Described {
                        facts: row.text.facts.as_deref(),
                        links: row.text.attach.links(),
                        per_cpu: None,
                        stats_on_ns: None,
                    };
                    let _ = csv.write(&timestamp, program, row.metrics.as_ref(), described);
                }
            }
        }
        // The history writer formats every point kept: now and then.
        if !self.taken.is_multiple_of(64) {
            return;
        }
        if let Ok(mut csv) = crate::export::CsvWriter::history(io::sink()) {
            for row in store.rows().iter().take(4) {
                for point in store.history(row.key) {
                    let _ = csv.write_point(row.key.id, row.name(), &point);
                }
            }
        }
    }
}
