//! The shared vocabulary: what a source says (samples, facts, links, its
//! status) and the metric maths. Every other layer imports this one; it
//! imports none of them.

mod event;
mod facts;
mod fleet;
pub mod metrics;
mod name;
mod per_cpu;
mod sample;
mod status;
mod timeline;
mod types;

pub use event::{
    AccountingCost, Enumeration, Interval, IntervalError, SourceEvent, SourceInfo, StatsMode, Waker,
};
pub use facts::{
    Absorbed, Attach, AttachVia, Catalog, LinkFacts, MapFacts, ProgramFacts, WITHOUT_LINK,
    WITHOUT_LINK_EXPLAINED, attach_summary, map_names,
};
pub use fleet::{
    FleetData, FleetEvent, FleetHost, FleetProgram, FleetTarget, HOSTS_MAX, POINTS_MAX,
    TOP_PROGRAMS, clean_label, is_hidden_or_control,
};
pub use name::{KernelName, NAME_MAX};
pub use per_cpu::{
    CPUS_MAX, CpuDelta, PER_CPU_FLOOR_PPM, PER_CPU_PROGRAMS, PerCpuSample, ProgramCpus, spread,
};
pub use sample::{Owner, ProgramKey, ProgramSample, Sample};
pub use status::{Action, SampleOrigin, Status};
pub use timeline::{
    ReplayCommand, Speed, TIMELINE_MARKERS_MAX, TimePoint, Timeline, TimelineMarker,
};

/// Cuts `text` to at most `max` bytes, at a character boundary; whether it
/// was longer.
pub fn truncate_at_char(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// RFC 3339 UTC with microseconds, e.g. `2026-11-25T06:11:18.123456Z`: how
/// every time bpfscope writes reads.
#[must_use]
pub fn rfc3339(time: std::time::SystemTime) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    // A time past year 9999 (a hostile source's) cannot be formatted: say
    // so instead of panicking as `to_string` would.
    match write!(out, "{}", humantime::format_rfc3339_micros(time)) {
        Ok(()) => out,
        Err(_) => "(time out of range)".to_owned(),
    }
}
pub use types::prog_type_name;

/// What starts the sampler on a remote host unless another command is
/// named (`--remote-command`, Connect to host…).
pub const DEFAULT_REMOTE_COMMAND: &str = "sudo -n /usr/libexec/bpfscope/bpfscope-sampler";
