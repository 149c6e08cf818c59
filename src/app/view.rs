//! Which rows the table shows, in which order: filter and sort, cached so a
//! frame with 10,000 programs does no work unless something changed.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::model::store::Row;

/// A sortable table column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortColumn {
    Id,
    Type,
    Name,
    AvgRuntime,
    TotalAvgRuntime,
    EventsPerSec,
    #[default]
    Cpu,
    Owners,
}

impl SortColumn {
    /// Numbers read best largest first; text and ids A→Z.
    #[must_use]
    pub fn descending_by_default(self) -> bool {
        matches!(
            self,
            Self::AvgRuntime | Self::TotalAvgRuntime | Self::EventsPerSec | Self::Cpu
        )
    }
}

/// Sort column and direction. Default: CPU % descending, as bpftop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sort {
    pub column: SortColumn,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            column: SortColumn::Cpu,
            descending: true,
        }
    }
}

impl Sort {
    /// The sort after clicking `column`'s header: the same column flips, a new
    /// one starts in its natural direction.
    #[must_use]
    pub fn clicked(self, column: SortColumn) -> Self {
        if self.column == column {
            Self {
                column,
                descending: !self.descending,
            }
        } else {
            Self {
                column,
                descending: column.descending_by_default(),
            }
        }
    }
}

fn metric(row: &Row, get: impl Fn(&crate::model::metrics::Metrics) -> f64) -> f64 {
    // Rows without metrics yet sort below every measured row.
    row.metrics.as_ref().map_or(f64::NEG_INFINITY, get)
}

fn compare(a: &Row, b: &Row, column: SortColumn) -> Ordering {
    match column {
        SortColumn::Id => a.key.cmp(&b.key),
        SortColumn::Type => a.type_name.cmp(&b.type_name),
        SortColumn::Name => a.name.cmp(&b.name),
        SortColumn::AvgRuntime => {
            metric(a, |m| m.avg_runtime_ns).total_cmp(&metric(b, |m| m.avg_runtime_ns))
        }
        SortColumn::TotalAvgRuntime => a.total_avg_runtime_ns.total_cmp(&b.total_avg_runtime_ns),
        SortColumn::EventsPerSec => {
            metric(a, |m| m.events_per_sec).total_cmp(&metric(b, |m| m.events_per_sec))
        }
        SortColumn::Cpu => metric(a, |m| m.cpu_percent).total_cmp(&metric(b, |m| m.cpu_percent)),
        SortColumn::Owners => a.owners.cmp(&b.owners),
    }
}

/// Indexes of the rows that match `filter` (any case), sorted by `sort`; ties
/// are broken by id, ascending, whatever the direction.
#[must_use]
pub fn order(rows: &[Row], filter: &str, sort: Sort) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let mut picked: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].matches(&needle))
        .collect();
    picked.sort_by(|&i, &j| {
        let (a, b) = (&rows[i], &rows[j]);
        let primary = compare(a, b, sort.column);
        let primary = if sort.descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then_with(|| a.key.cmp(&b.key))
    });
    picked
}

/// [`order`], recomputed only when its inputs change.
#[derive(Debug, Default)]
pub struct ViewCache {
    key: Option<(u64, String, Sort)>,
    order: Vec<usize>,
}

impl ViewCache {
    /// The order for rows of `generation`. `generation` must change whenever
    /// `rows` does.
    pub fn get(&mut self, generation: u64, rows: &[Row], filter: &str, sort: Sort) -> &[usize] {
        let fresh = self
            .key
            .as_ref()
            .is_some_and(|(g, f, s)| *g == generation && f == filter && *s == sort);
        if !fresh {
            self.order = order(rows, filter, sort);
            self.key = Some((generation, filter.to_owned(), sort));
        }
        &self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::metrics::Metrics;
    use crate::model::store::ProgramKey;

    fn row(id: u32, name: &str, cpu: Option<f64>) -> Row {
        Row {
            key: ProgramKey {
                id,
                load_time_ns: 0,
            },
            type_name: "xdp".into(),
            name: name.into(),
            owners: String::new(),
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
            haystack: format!("{id} xdp {name}").to_lowercase(),
        }
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
        let ids: Vec<u32> = order(&rows, "", Sort::default())
            .into_iter()
            .map(|i| rows[i].key.id)
            .collect();
        // NaN sorts above every number with total_cmp; it must not panic.
        assert_eq!(ids, vec![5, 2, 3, 4, 1]);
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
    fn filter_and_cache() {
        let rows = vec![row(1, "Alpha", None), row(2, "beta", None)];
        let mut cache = ViewCache::default();
        assert_eq!(cache.get(1, &rows, "ALP", Sort::default()), &[0]);
        assert_eq!(cache.get(1, &rows, "", Sort::default()).len(), 2);
        assert_eq!(cache.get(1, &rows, " 2 ", Sort::default()), &[1]);
    }
}
