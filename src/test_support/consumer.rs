//! The consumer that feeds decoded frames through everything the window does.

use std::io;

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
                        owners_read_ns: None,
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
