//! What the table shows for one program: its key, shared text columns and
//! latest numbers.

use std::sync::Arc;

use super::ProgramSample;
use super::facts::{LinkFacts, ProgramFacts, attach_summary, map_names};
use super::metrics::{Metrics, total_avg_runtime_ns};

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

/// A program's text columns and facts, shared between samples (rebuilt only
/// when its name, owners, facts or links change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowText {
    pub type_name: String,
    /// The full name from BTF where the program has one, else the kernel's.
    pub name: String,
    /// The name as the kernel keeps it (at most 15 bytes).
    pub kernel_name: String,
    /// Owners as `comm (pid)` joined by `, `.
    pub owners: String,
    /// The owner with the lowest pid (what grouping goes by).
    pub first_owner: Option<(u32, String)>,
    /// Links as `attach-type target` joined by `; `, or "no link"; empty
    /// while unknown (no facts from this source).
    pub attach: String,
    /// Map names joined by `, `.
    pub maps: String,
    pub tag: String,
    /// Facts, once the source has sent them.
    pub facts: Option<Arc<ProgramFacts>>,
    /// The program's links (empty: none, or not known).
    pub links: Vec<LinkFacts>,
    /// Lower-case text the filter matches: id, type, names, owner comms and
    /// pids, attach targets and map names.
    pub haystack: String,
}

impl RowText {
    /// The program's links; `None` when the source reads no links.
    #[must_use]
    pub fn known_links(&self) -> Option<&[LinkFacts]> {
        (!self.attach.is_empty()).then_some(self.links.as_slice())
    }

    #[must_use]
    pub fn of(program: &ProgramSample) -> Self {
        Self::with_facts(program, None, None)
    }

    /// With the program's facts and links, where known (`links: None`: this
    /// source does not read links).
    #[must_use]
    pub fn with_facts(
        program: &ProgramSample,
        facts: Option<Arc<ProgramFacts>>,
        links: Option<&[LinkFacts]>,
    ) -> Self {
        let type_name = program.type_name().into_owned();
        let owners = program
            .owners
            .iter()
            .map(|o| format!("{} ({})", o.comm, o.pid))
            .collect::<Vec<_>>()
            .join(", ");
        let kernel_name = program.name.to_string();
        let name = facts
            .as_ref()
            .and_then(|f| f.full_name.clone())
            .unwrap_or_else(|| kernel_name.clone());
        let attach = links.map(attach_summary).unwrap_or_default();
        let maps = facts
            .as_ref()
            .map(|f| map_names(&f.maps))
            .unwrap_or_default();
        let haystack = format!(
            "{} {type_name} {name} {kernel_name} {owners} {attach} {maps}",
            program.id
        )
        .to_lowercase();
        Self {
            type_name,
            name,
            kernel_name,
            owners,
            first_owner: program.owners.first().map(|o| (o.pid, o.comm.to_string())),
            attach,
            maps,
            tag: program.tag_hex(),
            facts,
            links: links.map(<[LinkFacts]>::to_vec).unwrap_or_default(),
            haystack,
        }
    }
}

/// What the table shows for one program.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub key: ProgramKey,
    pub text: Arc<RowText>,
    /// This period's metrics; `None` until the program has two readings.
    pub metrics: Option<Metrics>,
    pub total_avg_runtime_ns: f64,
    pub run_cnt: u64,
    pub run_time_ns: u64,
    pub recursion_misses: u64,
    /// Not loaded any more (kept until the user clears gone programs).
    pub gone: bool,
    /// One of bpfscope's own programs.
    pub own: bool,
}

impl Row {
    pub(super) fn new(
        program: &ProgramSample,
        text: Arc<RowText>,
        metrics: Option<Metrics>,
    ) -> Self {
        Self {
            key: ProgramKey::of(program),
            text,
            metrics,
            total_avg_runtime_ns: total_avg_runtime_ns(program.counters()),
            run_cnt: program.run_cnt,
            run_time_ns: program.run_time_ns,
            recursion_misses: program.recursion_misses,
            gone: false,
            own: program.own,
        }
    }

    /// The row of a program that is no longer loaded.
    pub(super) fn gone(program: &ProgramSample, text: Arc<RowText>) -> Self {
        let mut row = Self::new(program, text, None);
        row.gone = true;
        row
    }

    /// Whether the row matches a lower-case filter (empty matches all).
    #[must_use]
    pub fn matches(&self, filter_lower: &str) -> bool {
        filter_lower.is_empty() || self.text.haystack.contains(filter_lower)
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.text.name
    }
}

#[cfg(test)]
impl Row {
    /// An `xdp` program's row for tests: `cpu` is its CPU % (no metrics if
    /// `None`).
    pub(crate) fn example(id: u32, name: &str, cpu: Option<f64>) -> Self {
        let program = ProgramSample {
            id,
            prog_type: 6,
            name: super::KernelName::new(name),
            tag: [0; 8],
            load_time_ns: 0,
            run_time_ns: 0,
            run_cnt: 0,
            recursion_misses: 0,
            owners: Vec::new(),
            own: false,
        };
        Self {
            key: ProgramKey::of(&program),
            text: Arc::new(RowText::of(&program)),
            metrics: cpu.map(|cpu_percent| Metrics {
                cpu_percent,
                ..Metrics::default()
            }),
            total_avg_runtime_ns: 0.0,
            run_cnt: 0,
            run_time_ns: 0,
            recursion_misses: 0,
            gone: false,
            own: false,
        }
    }
}
