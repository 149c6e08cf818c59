//! The table's columns and its sort.

use serde::{Deserialize, Serialize};

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
    Tag,
    Attach,
    Maps,
    JitSize,
    VerifiedInsns,
    Memlock,
    MissesPerSec,
    LoadedAt,
    Uid,
    /// Changes against the baseline (diff mode).
    DeltaAvgRuntime,
    DeltaEventsPerSec,
    DeltaCpu,
    /// The busiest CPU's share of the program's run time this period.
    Spread,
}

impl SortColumn {
    /// The diff mode's columns, after CPU %.
    pub const DELTAS: [Self; 3] = [
        Self::DeltaAvgRuntime,
        Self::DeltaEventsPerSec,
        Self::DeltaCpu,
    ];

    /// Columns shown unless hidden, in table order (Owners last).
    pub const BASE: [Self; 8] = [
        Self::Id,
        Self::Type,
        Self::Name,
        Self::AvgRuntime,
        Self::TotalAvgRuntime,
        Self::EventsPerSec,
        Self::Cpu,
        Self::Owners,
    ];

    /// Columns the user can show from the header's context menu, in the
    /// order they appear (before Owners).
    pub const OPTIONAL: [Self; 10] = [
        Self::Spread,
        Self::Tag,
        Self::Attach,
        Self::Maps,
        Self::JitSize,
        Self::VerifiedInsns,
        Self::Memlock,
        Self::MissesPerSec,
        Self::LoadedAt,
        Self::Uid,
    ];

    /// Numbers read best largest first; text and ids A→Z.
    #[must_use]
    pub fn descending_by_default(self) -> bool {
        matches!(
            self,
            Self::AvgRuntime
                | Self::TotalAvgRuntime
                | Self::EventsPerSec
                | Self::Cpu
                | Self::JitSize
                | Self::VerifiedInsns
                | Self::Memlock
                | Self::MissesPerSec
                | Self::LoadedAt
                | Self::DeltaAvgRuntime
                | Self::DeltaEventsPerSec
                | Self::DeltaCpu
                | Self::Spread
        )
    }

    /// Sorted as text (the rest as numbers).
    #[must_use]
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Self::Type | Self::Name | Self::Owners | Self::Tag | Self::Attach | Self::Maps
        )
    }

    /// The visible columns in table order, given the optional ones shown.
    #[must_use]
    pub fn visible(shown: &[Self], diff: bool) -> Vec<Self> {
        let mut columns: Vec<Self> = Self::BASE[..7].to_vec();
        if diff {
            columns.extend(Self::DELTAS);
        }
        columns.extend(Self::OPTIONAL.iter().filter(|c| shown.contains(c)));
        columns.push(Self::Owners);
        columns
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
