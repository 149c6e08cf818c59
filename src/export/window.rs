//! The window's exports: the shown snapshot, or the history over the plot
//! window, written atomically through [`CsvWriter`].

use std::io;
use std::path::Path;

use super::{CsvWriter, Described, rfc3339, write_atomically};
use crate::model::ProgramKey;
use crate::store::Store;

/// Every program shown (not the gone ones) with the `bpfscope sample`
/// columns, as of the shown sample (the frozen one while paused).
pub fn write_snapshot(path: &Path, store: &Store) -> io::Result<usize> {
    let timestamp = store.latest_taken_at().map(rfc3339).unwrap_or_default();
    write_atomically(path, |out| {
        let mut csv = CsvWriter::new(out)?;
        let mut records = 0;
        for row in store.rows().iter().filter(|r| !r.gone) {
            if let Some(program) = store.program(row.key) {
                let described = Described {
                    facts: row.text.facts.as_deref(),
                    links: row.text.attach.links(),
                    per_cpu: None,
                    stats_on_ns: None,
                    owners_read_ns: None,
                };
                csv.write(&timestamp, program, row.metrics.as_ref(), described)?;
                records += 1;
            }
        }
        csv.flush()?;
        Ok(records)
    })
}

/// One record per program of `keys` per sample after `since_ns`.
pub fn write_history(
    path: &Path,
    store: &Store,
    keys: &[ProgramKey],
    since_ns: u64,
) -> io::Result<usize> {
    write_atomically(path, |out| {
        let mut csv = CsvWriter::history(out)?;
        let mut records = 0;
        for key in keys {
            let name = store.program(*key).map_or("", |p| p.name.as_str());
            for point in store.history(*key).filter(|p| p.boottime_ns >= since_ns) {
                csv.write_point(key.id, name, &point)?;
                records += 1;
            }
        }
        csv.flush()?;
        Ok(records)
    })
}
