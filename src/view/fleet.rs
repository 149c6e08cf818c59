//! The fleet view's vocabulary: the connect dialog, the last answer, the
//! host table's sort, filter and selection, and what the user can ask.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::SelectMode;
use crate::model::{FleetData, FleetHost, FleetTarget};

/// A column of the host table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostColumn {
    Host,
    #[default]
    Cpu,
    Programs,
    /// The top program's CPU.
    Top,
}

impl HostColumn {
    pub const ALL: [Self; 4] = [Self::Host, Self::Cpu, Self::Programs, Self::Top];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Host => "Host",
            Self::Cpu => "BPF CPU %",
            Self::Programs => "Programs",
            Self::Top => "Top program",
        }
    }
}

/// What the fleet view asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FleetCommand {
    OpenConnect,
    CloseConnect,
    Connect(FleetTarget),
    Disconnect,
    Refresh,
    Sort(HostColumn),
    Select(String, SelectMode),
}

/// The Connect to Prometheus window, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnectDialog {
    pub target: FleetTarget,
    /// Why the last attempt could not start.
    pub error: Option<String>,
}

/// What the fleet view shows and how.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetState {
    /// The Prometheus asked, while connected.
    pub url: Option<String>,
    pub data: Option<FleetData>,
    /// Why the last round failed; the last data stays shown.
    pub problem: Option<String>,
    pub sort: HostColumn,
    pub descending: bool,
    pub selected: BTreeSet<String>,
    /// The host whose programs are listed.
    pub cursor: Option<String>,
}

impl Default for FleetState {
    fn default() -> Self {
        Self {
            url: None,
            data: None,
            problem: None,
            sort: HostColumn::Cpu,
            descending: true,
            selected: BTreeSet::new(),
            cursor: None,
        }
    }
}

impl FleetState {
    /// Sorts by `column`, or turns the order round if it is the sort
    /// already; numbers start high first, host names from A.
    pub fn sort_by(&mut self, column: HostColumn) {
        if self.sort == column {
            self.descending = !self.descending;
        } else {
            self.sort = column;
            self.descending = column != HostColumn::Host;
        }
    }

    /// The hosts the table shows for `filter`, in its order.
    #[must_use]
    pub fn order(&self, filter: &str) -> Vec<&FleetHost> {
        let Some(data) = &self.data else {
            return Vec::new();
        };
        let needle = filter.trim().to_lowercase();
        let mut hosts: Vec<&FleetHost> = data
            .hosts
            .iter()
            .filter(|h| needle.is_empty() || matches(h, &needle))
            .collect();
        let top = |h: &FleetHost| h.top.first().map_or(-1.0, |p| p.cpu);
        hosts.sort_by(|a, b| {
            let order = match self.sort {
                HostColumn::Host => a.instance.cmp(&b.instance),
                HostColumn::Cpu => a.cpu.unwrap_or(-1.0).total_cmp(&b.cpu.unwrap_or(-1.0)),
                HostColumn::Programs => a.programs.cmp(&b.programs),
                HostColumn::Top => top(a).total_cmp(&top(b)),
            }
            .then_with(|| a.instance.cmp(&b.instance));
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
        hosts
    }

    /// Applies a click on `instance`'s row.
    pub fn select(&mut self, instance: String, mode: SelectMode) {
        match mode {
            SelectMode::Only | SelectMode::Range => {
                self.selected = BTreeSet::from([instance.clone()]);
            }
            SelectMode::Toggle => {
                if !self.selected.remove(&instance) {
                    self.selected.insert(instance.clone());
                }
            }
        }
        self.cursor = Some(instance);
    }

    /// Takes a new answer; forgets selected hosts it no longer has.
    pub fn absorb(&mut self, data: FleetData) {
        let known: BTreeSet<&str> = data.hosts.iter().map(|h| h.instance.as_str()).collect();
        self.selected.retain(|h| known.contains(h.as_str()));
        if self.cursor.as_deref().is_some_and(|c| !known.contains(c)) {
            self.cursor = None;
        }
        self.data = Some(data);
        self.problem = None;
    }

    /// The host whose programs are listed.
    #[must_use]
    pub fn cursor_host(&self) -> Option<&FleetHost> {
        let cursor = self.cursor.as_deref()?;
        self.data
            .as_ref()?
            .hosts
            .iter()
            .find(|h| h.instance == cursor)
    }
}

/// Whether a host or one of its top programs matches `needle` (lower case).
fn matches(host: &FleetHost, needle: &str) -> bool {
    host.instance.to_lowercase().contains(needle)
        || host.top.iter().any(|p| {
            p.name.to_lowercase().contains(needle)
                || p.owner.to_lowercase().contains(needle)
                || p.kind.to_lowercase().contains(needle)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FleetProgram;

    fn host(instance: &str, cpu: f64, programs: u64, top: &str) -> FleetHost {
        FleetHost {
            instance: instance.into(),
            up: true,
            cpu: Some(cpu),
            programs: Some(programs),
            series: Vec::new(),
            top: vec![FleetProgram {
                name: top.into(),
                cpu,
                ..FleetProgram::default()
            }],
        }
    }

    fn state() -> FleetState {
        let mut state = FleetState::default();
        state.absorb(FleetData {
            hosts: vec![
                host("b:9436", 0.5, 3, "xdp_fw"),
                host("a:9436", 0.1, 9, "trace_exec"),
                host("c:9436", 0.9, 1, "tc_nat"),
            ],
            ..FleetData::default()
        });
        state
    }

    fn names<'a>(state: &'a FleetState, filter: &str) -> Vec<&'a str> {
        state
            .order(filter)
            .iter()
            .map(|h| h.instance.as_str())
            .collect()
    }

    #[test]
    fn hosts_sort_by_cpu_first_and_by_any_column_both_ways() {
        let mut state = state();
        assert_eq!(names(&state, ""), ["c:9436", "b:9436", "a:9436"]);
        state.sort_by(HostColumn::Host);
        assert_eq!(names(&state, ""), ["a:9436", "b:9436", "c:9436"]);
        state.sort_by(HostColumn::Host);
        assert_eq!(names(&state, ""), ["c:9436", "b:9436", "a:9436"]);
        state.sort_by(HostColumn::Programs);
        assert_eq!(names(&state, ""), ["a:9436", "b:9436", "c:9436"]);
    }

    #[test]
    fn the_filter_matches_hosts_and_their_programs() {
        let state = state();
        assert_eq!(names(&state, "XDP"), ["b:9436"]);
        assert_eq!(names(&state, " a:94"), ["a:9436"]);
    }

    #[test]
    fn a_host_that_left_is_no_longer_selected() {
        let mut state = state();
        state.select("a:9436".into(), SelectMode::Only);
        state.select("b:9436".into(), SelectMode::Toggle);
        assert_eq!(state.selected.len(), 2);
        assert_eq!(
            state.cursor_host().map(|h| h.instance.as_str()),
            Some("b:9436")
        );
        state.absorb(FleetData {
            hosts: vec![host("a:9436", 0.1, 9, "x")],
            ..FleetData::default()
        });
        assert_eq!(state.selected, BTreeSet::from(["a:9436".to_owned()]));
        assert_eq!(state.cursor, None);
    }
}
