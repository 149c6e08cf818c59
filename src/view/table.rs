//! Which rows the table shows, in which order: filtered, sorted, grouped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Diffs, Sort, SortColumn};
use crate::store::{Diff, Row};

/// The number a numeric column sorts by; `None` for text columns. Rows
/// without metrics yet sort below every measured row.
fn number(row: &Row, column: SortColumn, diffs: Option<&Diffs>) -> Option<f64> {
    let delta = |get: fn(&Diff) -> f64| {
        diffs
            .and_then(|d| d.get(&row.key))
            .map_or(f64::NEG_INFINITY, get)
    };
    let metric = |get: fn(&crate::model::metrics::Metrics) -> f64| {
        row.metrics.as_ref().map_or(f64::NEG_INFINITY, get)
    };
    let fact = |get: fn(&crate::model::ProgramFacts) -> f64| {
        row.text.facts.as_deref().map_or(f64::NEG_INFINITY, get)
    };
    match column {
        SortColumn::Id => Some(f64::from(row.key.id)),
        SortColumn::AvgRuntime => Some(metric(|m| m.avg_runtime_ns)),
        SortColumn::TotalAvgRuntime => Some(row.total_avg_runtime_ns),
        SortColumn::EventsPerSec => Some(metric(|m| m.events_per_sec)),
        SortColumn::Cpu => Some(metric(|m| m.cpu_percent)),
        SortColumn::MissesPerSec => Some(metric(|m| m.recursion_misses_per_sec)),
        SortColumn::JitSize => Some(fact(|f| f64::from(f.jited_bytes))),
        SortColumn::VerifiedInsns => Some(fact(|f| f64::from(f.verified_insns))),
        SortColumn::Memlock => Some(fact(|f| f.memlock_bytes.map_or(-1.0, |m| m as f64))),
        SortColumn::Uid => Some(fact(|f| f64::from(f.uid))),
        SortColumn::LoadedAt => Some(row.key.load_time_ns as f64),
        SortColumn::DeltaAvgRuntime => Some(delta(|d| d.avg_runtime_ns)),
        SortColumn::DeltaEventsPerSec => Some(delta(|d| d.events_per_sec)),
        SortColumn::DeltaCpu => Some(delta(|d| d.cpu_percent)),
        SortColumn::Spread => Some(row.spread.unwrap_or(f64::NEG_INFINITY)),
        SortColumn::Type
        | SortColumn::Name
        | SortColumn::Owners
        | SortColumn::Tag
        | SortColumn::Attach
        | SortColumn::Maps => None,
    }
}

/// An integer that orders like `f64::total_cmp` (NaN never panics).
fn total_order_bits(value: f64) -> i64 {
    let bits = i64::from_ne_bytes(value.to_bits().to_ne_bytes());
    // Negative numbers: flip every bit but the sign, so they order upwards.
    bits ^ ((bits >> 63) & i64::MAX)
}

fn text(row: &Row, column: SortColumn) -> &str {
    match column {
        SortColumn::Type => &row.text.type_name,
        SortColumn::Owners => &row.text.owners_text,
        SortColumn::Tag => &row.text.tag,
        SortColumn::Attach => &row.text.attach_text,
        SortColumn::Maps => &row.text.maps,
        _ => &row.text.name,
    }
}

/// Indexes of the rows that match `filter` (any case), sorted by `sort`; ties
/// are broken by id, ascending, whatever the direction.
#[must_use]
pub fn order(rows: &[Row], filter: &str, sort: Sort, diffs: Option<&Diffs>) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let picked = (0..rows.len()).filter(|&i| rows[i].matches(&needle));
    if sort.column.is_text() {
        let mut picked: Vec<usize> = picked.collect();
        picked.sort_unstable_by(|&i, &j| {
            let (a, b) = (&rows[i], &rows[j]);
            let primary = text(a, sort.column).cmp(text(b, sort.column));
            let primary = if sort.descending {
                primary.reverse()
            } else {
                primary
            };
            primary.then_with(|| a.key.cmp(&b.key))
        });
        picked
    } else {
        // Precomputed integer keys: one extraction per row, cheap compares.
        let mut keyed: Vec<(i64, u32, u64, usize)> = picked
            .map(|i| {
                let row = &rows[i];
                let bits = total_order_bits(number(row, sort.column, diffs).unwrap_or(0.0));
                let bits = if sort.descending { !bits } else { bits };
                (bits, row.key.id, row.key.load_time_ns, i)
            })
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(.., i)| i).collect()
    }
}

/// How the table groups programs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Grouping {
    #[default]
    None,
    /// By the owning process (the lowest pid holding the program).
    Process,
    /// By that process's cgroup (a service, a container).
    Cgroup,
}

impl Grouping {
    pub const ALL: [Self; 3] = [Self::None, Self::Process, Self::Cgroup];

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "No grouping",
            Self::Process => "By process",
            Self::Cgroup => "By cgroup",
        }
    }
}

/// A group of programs with subtotals over the rows it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub label: String,
    pub programs: usize,
    /// Sum of CPU % (of one CPU) of the latest period.
    pub cpu_percent: f64,
    pub events_per_sec: f64,
}

/// A table line: a group's header or a program's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableLine {
    Group(usize),
    Row(usize),
}

/// What the table shows: rows in display order, and lines to draw.
#[derive(Debug, Default)]
pub struct TableLayout {
    /// Indexes into the rows, in the order they are drawn.
    pub order: Vec<usize>,
    pub lines: Vec<TableLine>,
    pub groups: Vec<Group>,
}

/// Splits `order` into groups by `group_of`; groups go by CPU %, largest
/// first, and keep the rows' order inside. Every row is in one group, so
/// the groups' subtotals add up to the total of the rows.
pub fn group(rows: &[Row], order: &[usize], group_of: &dyn Fn(&Row) -> String) -> TableLayout {
    let mut by_label: HashMap<String, (Group, Vec<usize>)> = HashMap::new();
    for &i in order {
        let row = &rows[i];
        let label = group_of(row);
        let (group, members) = by_label.entry(label.clone()).or_insert_with(|| {
            (
                Group {
                    label,
                    programs: 0,
                    cpu_percent: 0.0,
                    events_per_sec: 0.0,
                },
                Vec::new(),
            )
        });
        group.programs += 1;
        if let Some(m) = &row.metrics {
            group.cpu_percent += m.cpu_percent;
            group.events_per_sec += m.events_per_sec;
        }
        members.push(i);
    }
    let mut sorted: Vec<(Group, Vec<usize>)> = by_label.into_values().collect();
    sorted.sort_by(|a, b| {
        b.0.cpu_percent
            .total_cmp(&a.0.cpu_percent)
            .then_with(|| a.0.label.cmp(&b.0.label))
    });
    let mut layout = TableLayout::default();
    for (g, (group, members)) in sorted.into_iter().enumerate() {
        layout.lines.push(TableLine::Group(g));
        layout
            .lines
            .extend(members.iter().map(|&i| TableLine::Row(i)));
        layout.order.extend(members);
        layout.groups.push(group);
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u32, name: &str, cpu: Option<f64>) -> Row {
        Row::example(id, name, cpu)
    }

    #[test]
    fn default_sort_is_cpu_descending_with_unmeasured_last_and_ties_by_id() {
        let rows = vec![
            row(3, "c", Some(1.0)),
            row(1, "a", None),
            row(2, "b", Some(5.0)),
            row(4, "d", Some(1.0)),
            row(5, "e", Some(f64::NAN)),
        ];
        let ids: Vec<u32> = order(&rows, "", Sort::default(), None)
            .into_iter()
            .map(|i| rows[i].key.id)
            .collect();
        // NaN sorts above every number with total_cmp; it must not panic.
        assert_eq!(ids, vec![5, 2, 3, 4, 1]);
    }

    #[test]
    fn integer_keys_order_like_total_cmp() {
        let values = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
            f64::NAN,
        ];
        for pair in values.windows(2) {
            assert!(
                total_order_bits(pair[0]) < total_order_bits(pair[1]),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn text_columns_sort_with_ties_by_id() {
        let rows = vec![row(2, "b", None), row(1, "b", None), row(3, "a", None)];
        let sort = Sort {
            column: SortColumn::Name,
            descending: true,
        };
        let ids: Vec<u32> = order(&rows, "", sort, None)
            .into_iter()
            .map(|i| rows[i].key.id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn clicking_a_header_flips_or_starts_naturally() {
        let s = Sort::default().clicked(SortColumn::Name);
        assert_eq!((s.column, s.descending), (SortColumn::Name, false));
        let s = s.clicked(SortColumn::Name);
        assert!(s.descending);
        let s = s.clicked(SortColumn::EventsPerSec);
        assert!(s.descending);
    }

    #[test]
    fn filter_matches_any_case_and_ignores_surrounding_space() {
        let rows = vec![row(1, "Alpha", None), row(2, "beta", None)];
        let order = |filter: &str| order(&rows, filter, Sort::default(), None);
        assert_eq!(order("ALP"), [0]);
        assert_eq!(order("").len(), 2);
        assert_eq!(order(" 2 "), [1]);
    }

    #[test]
    fn groups_hold_every_row_once_and_sum_to_the_total() {
        let rows = vec![
            row(1, "a", Some(1.0)),
            row(2, "b", Some(4.0)),
            row(3, "c", Some(2.0)),
            row(4, "d", None),
        ];
        let order = order(&rows, "", Sort::default(), None);
        let by_parity = |r: &Row| format!("g{}", r.key.id % 2);
        let layout = group(&rows, &order, &by_parity);
        // g0 (ids 2, 4: 4 %) before g1 (ids 1, 3: 3 %); rows keep their order.
        assert_eq!(
            layout.lines,
            [
                TableLine::Group(0),
                TableLine::Row(1),
                TableLine::Row(3),
                TableLine::Group(1),
                TableLine::Row(2),
                TableLine::Row(0)
            ]
        );
        assert_eq!(layout.groups[0].programs, 2);
        let total: f64 = layout.groups.iter().map(|g| g.cpu_percent).sum();
        assert!((total - 7.0).abs() < 1e-12);
        assert_eq!(layout.order.len(), rows.len());
    }
}
