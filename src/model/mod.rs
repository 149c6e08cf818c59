//! The shared vocabulary: what a source says (samples, facts, links, its
//! status) and the metric maths. Every other layer imports this one; it
//! imports none of them.

mod event;
mod facts;
pub mod metrics;
mod name;
mod sample;
mod status;
mod types;

pub use event::{Enumeration, Interval, IntervalError, SourceEvent, SourceInfo, StatsMode, Waker};
pub use facts::{
    Absorbed, Attach, Catalog, LinkFacts, MapFacts, ProgramFacts, WITHOUT_LINK,
    WITHOUT_LINK_EXPLAINED, attach_summary, map_names,
};
pub use name::{KernelName, NAME_MAX};
pub use sample::{Owner, ProgramKey, ProgramSample, Sample};
pub use status::{Action, Status, Via};

/// RFC 3339 UTC with microseconds, e.g. `2026-11-25T06:11:18.123456Z`: how
/// every time bpfscope writes reads.
#[must_use]
pub fn rfc3339(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}
pub use types::prog_type_name;
