//! The text and tooltip of each table cell, formatted from typed values.

use super::format;
use super::table::TableInput;
use crate::model::LinkFacts;
use crate::store::{Diff, Row};
use crate::view::{CpuMode, SortColumn};

/// A cell's text and tooltip.
pub(super) fn cell_text(
    column: SortColumn,
    row: &Row,
    input: &TableInput<'_>,
) -> (String, Option<String>) {
    let metrics = row.metrics;
    let dash = || "–".to_owned();
    match column {
        SortColumn::Id => (row.key.id.to_string(), None),
        SortColumn::Type => (row.text.type_name.clone(), None),
        SortColumn::Name => {
            let mut name = if row.name().is_empty() {
                "(no name)".to_owned()
            } else {
                row.name().to_owned()
            };
            if row.gone {
                name.push_str(" — gone");
            }
            let tip = if row.gone {
                "No longer loaded; kept until you click \"Clear gone\"".to_owned()
            } else if row.own {
                own_tip(row, input)
            } else if row.text.kernel_name != row.name() {
                format!(
                    "{}\n(the kernel's name: {})",
                    row.name(),
                    row.text.kernel_name
                )
            } else {
                row.name().to_owned()
            };
            (name, Some(tip))
        }
        SortColumn::AvgRuntime => (
            metrics.map_or_else(dash, |m| format::duration_ns(m.avg_runtime_ns)),
            metrics.map(|m| format!("{:.3} ns per run", m.avg_runtime_ns)),
        ),
        SortColumn::TotalAvgRuntime => (
            format::duration_ns(row.total_avg_runtime_ns),
            Some(format!(
                "{:.3} ns per run over {} runs ({} ns in all)",
                row.total_avg_runtime_ns,
                format::thousands(row.run_cnt),
                format::thousands(row.run_time_ns)
            )),
        ),
        SortColumn::EventsPerSec => (
            metrics.map_or_else(dash, |m| format::rate(m.events_per_sec)),
            metrics.map(|m| format!("{:.3} runs per second", m.events_per_sec)),
        ),
        SortColumn::Cpu => {
            let divisor = input.cpu_mode.divisor(input.online_cpus);
            (
                metrics.map_or_else(dash, |m| {
                    format::cpu(m.cpu_percent / divisor, input.cpu_mode)
                }),
                metrics.map(|m| {
                    let mut tip = format!(
                        "{:.6} % of one CPU\n{:.6} % of all CPUs\n{:.0} ns of CPU time per second",
                        m.cpu_percent,
                        m.cpu_percent / CpuMode::AllCpus.divisor(input.online_cpus),
                        m.cpu_percent * 1e7
                    );
                    if let Some(cost) = input.accounting.and_then(|cost| {
                        super::stats_cost::program_cost(
                            cost,
                            m.events_per_sec * input.stats_fraction,
                            divisor,
                            input.cpu_mode,
                        )
                    }) {
                        tip.push_str("\nStatistics add ");
                        tip.push_str(&cost);
                    }
                    tip
                }),
            )
        }
        SortColumn::Owners => {
            let owners = &row.text.owners;
            let tip = (!owners.is_empty()).then(|| {
                owners
                    .iter()
                    .map(|o| format!("{} ({})", o.comm, o.pid))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            (row.text.owners_text.clone(), tip)
        }
        SortColumn::Tag
        | SortColumn::Attach
        | SortColumn::Maps
        | SortColumn::JitSize
        | SortColumn::VerifiedInsns
        | SortColumn::Memlock
        | SortColumn::MissesPerSec
        | SortColumn::LoadedAt
        | SortColumn::Uid
        | SortColumn::Spread => optional_cell_text(column, row, input),
        SortColumn::DeltaAvgRuntime | SortColumn::DeltaEventsPerSec | SortColumn::DeltaCpu => {
            delta_text(column, input.diffs.and_then(|d| d.get(&row.key)))
        }
    }
}

/// What one of bpfscope's own iterators reads, by its kernel name.
fn own_purpose(kernel_name: &str) -> &'static str {
    match kernel_name {
        "dump_prog" => "every program's run count and run time",
        "dump_owner" => "which processes hold each program",
        "dump_link" => "every BPF link and its target",
        "dump_facts" => "new programs' maps, sizes and BTF names",
        "dump_map" => "the maps new programs use",
        "dump_cgroup" => "the programs attached to each cgroup",
        _ => "what the window shows",
    }
}

/// The tooltip of one of bpfscope's own programs: what it is and costs.
fn own_tip(row: &Row, input: &TableInput<'_>) -> String {
    let cost = row.metrics.map_or_else(
        || "Its cost shows after the next sample.".to_owned(),
        |m| {
            format!(
                "It cost {} a run, {} over the last period.",
                format::duration_ns(m.avg_runtime_ns),
                format::cpu_scoped(
                    m.cpu_percent / input.cpu_mode.divisor(input.online_cpus),
                    input.cpu_mode
                )
            )
        },
    );
    format!(
        "bpfscope's own program: the iterator that reads {} for this window, run once \
         per sample and only while bpfscope runs. {cost}\n\"bpfscope's own\" in the top \
         bar hides these rows.",
        own_purpose(&row.text.kernel_name)
    )
}

/// The text of an optional column's cell.
pub(super) fn optional_cell_text(
    column: SortColumn,
    row: &Row,
    input: &TableInput<'_>,
) -> (String, Option<String>) {
    let metrics = row.metrics;
    let facts = row.text.facts.as_deref();
    let dash = || "–".to_owned();
    match column {
        SortColumn::Tag => (row.text.tag.clone(), None),
        SortColumn::Attach => {
            let tip = match row.text.attach.links() {
                None => None,
                Some([]) => Some(crate::model::WITHOUT_LINK_EXPLAINED.to_owned()),
                Some(links) => Some(
                    links
                        .iter()
                        .map(LinkFacts::summary)
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
            };
            (row.text.attach_text.clone(), tip)
        }
        SortColumn::Maps => {
            let tip = facts.map(|f| {
                f.maps
                    .iter()
                    .map(|m| format!("{} ({}, id {})", m.name, m.map_type, m.id))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            (row.text.maps.clone(), tip.filter(|t| !t.is_empty()))
        }
        SortColumn::JitSize => match facts {
            Some(f) if f.jited => (
                format::bytes(u64::from(f.jited_bytes)),
                Some(format!(
                    "{} bytes",
                    format::thousands(u64::from(f.jited_bytes))
                )),
            ),
            Some(_) => ("interpreted".to_owned(), None),
            None => (dash(), None),
        },
        SortColumn::VerifiedInsns => (
            facts.map_or_else(dash, |f| format::thousands(u64::from(f.verified_insns))),
            None,
        ),
        SortColumn::Memlock => (
            facts
                .and_then(|f| f.memlock_bytes)
                .map_or_else(dash, format::bytes),
            None,
        ),
        SortColumn::MissesPerSec => (
            metrics.map_or_else(dash, |m| format::rate(m.recursion_misses_per_sec)),
            Some(format!(
                "{} recursion misses since statistics were on",
                format::thousands(row.recursion_misses)
            )),
        ),
        SortColumn::LoadedAt => match input.clock {
            Some(clock) => {
                let at = format::loaded_at(clock, row.key.load_time_ns);
                (at.clone(), Some(at))
            }
            None => (dash(), None),
        },
        SortColumn::Uid => (facts.map_or_else(dash, |f| f.uid.to_string()), None),
        SortColumn::Spread => match row.spread {
            Some(share) => (
                format!("{:.0} %", share * 100.0),
                Some(format!(
                    "The busiest CPU ran {:.1} % of its run time this period",
                    share * 100.0
                )),
            ),
            None => (dash(), None),
        },
        _ => (dash(), None),
    }
}

/// A diff cell: `+1.20 µs`, `−35.0`, `+0.42 %`, or "new".
pub(super) fn delta_text(column: SortColumn, diff: Option<&Diff>) -> (String, Option<String>) {
    let Some(d) = diff else {
        return ("–".to_owned(), None);
    };
    let (value, text) = match column {
        SortColumn::DeltaAvgRuntime => (
            d.avg_runtime_ns,
            format::duration_ns(d.avg_runtime_ns.abs()),
        ),
        SortColumn::DeltaEventsPerSec => (d.events_per_sec, format::rate(d.events_per_sec.abs())),
        _ => (d.cpu_percent, format::percent(d.cpu_percent.abs())),
    };
    let sign = if value > 0.0 {
        "+"
    } else if value < 0.0 {
        "−"
    } else {
        "±"
    };
    let tip = if d.new {
        "Not in the baseline: loaded since, or idle then".to_owned()
    } else {
        format!("{value:+.6}")
    };
    let text = if d.new {
        format!("new, {sign}{text}")
    } else {
        format!("{sign}{text}")
    };
    (text, Some(tip))
}
