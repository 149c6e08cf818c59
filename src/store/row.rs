//! What the table shows for one program: its key, shared text columns and
//! latest numbers.

use std::sync::Arc;

use crate::model::metrics::{Metrics, total_avg_runtime_ns};
use crate::model::{Attach, LinkFacts, Owner, ProgramFacts, ProgramKey, ProgramSample, map_names};

/// A program's identity and facts, shared between samples (rebuilt only
/// when its name, owners, facts or links change). The typed values are the
/// truth; the `*_text` fields are their drawn form, made once, for sorting
/// and drawing thousands of rows without formatting each frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowText {
    pub type_name: String,
    /// The full name from BTF where the program has one, else the kernel's.
    pub name: String,
    /// The name as the kernel keeps it (at most 15 bytes).
    pub kernel_name: String,
    /// Processes holding the program, by pid.
    pub owners: Arc<[Owner]>,
    /// `comm (pid)` joined by `, `.
    pub owners_text: String,
    pub attach: Attach,
    /// [`Attach::summary`].
    pub attach_text: String,
    /// Map names joined by `, `.
    pub maps: String,
    pub tag: String,
    /// Facts, once the source has sent them.
    pub facts: Option<Arc<ProgramFacts>>,
    /// Lower-case text the filter matches: id, type, names, owner comms and
    /// pids, attach targets and map names.
    pub haystack: String,
}

impl RowText {
    #[must_use]
    pub fn of(program: &ProgramSample) -> Self {
        Self::with_facts(program, None, None)
    }

    /// The owner with the lowest pid (what grouping goes by).
    #[must_use]
    pub fn first_owner(&self) -> Option<&Owner> {
        self.owners.first()
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
        let owners_text = program
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
        let attach = links.map_or(Attach::Unknown, |l| Attach::Links(l.to_vec()));
        let attach_text = attach.summary();
        let maps = facts
            .as_ref()
            .map(|f| map_names(&f.maps))
            .unwrap_or_default();
        let haystack = format!(
            "{} {type_name} {name} {kernel_name} {owners_text} {attach_text} {maps}",
            program.id
        )
        .to_lowercase();
        Self {
            type_name,
            name,
            kernel_name,
            owners: program.owners.clone(),
            owners_text,
            attach,
            attach_text,
            maps,
            tag: program.tag_hex(),
            facts,
            haystack,
        }
    }
}

/// `name (#id)`, or `#id` for a program without a name.
#[must_use]
pub fn program_label(name: &str, id: u32) -> String {
    if name.is_empty() {
        format!("#{id}")
    } else {
        format!("{name} (#{id})")
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
    /// The busiest CPU's share of its run time this period (0 to 1), where
    /// the source gave it per CPU.
    pub spread: Option<f64>,
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
            spread: None,
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

    /// `name (#id)`: how plots, legends and notifications name a program.
    #[must_use]
    pub fn label(&self) -> String {
        program_label(&self.text.name, self.key.id)
    }
}

#[cfg(test)]
impl Row {
    /// An `xdp` program's row for tests: `cpu` is its CPU % (no metrics if
    /// `None`).
    pub(crate) fn example(id: u32, name: &str, cpu: Option<f64>) -> Self {
        let program = crate::test_support::program(id).name(name).build();
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
            spread: None,
        }
    }
}
