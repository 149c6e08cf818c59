//! Writers for program records: CSV (also the window's export) and JSON lines.
//!
//! One record is one program at one sample. Metrics that are not defined yet
//! (a program's first sighting) are empty in CSV and `null` in JSON, never a
//! made-up zero.

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use crate::model::metrics::{Metrics, total_avg_runtime_ns};
use crate::model::{LinkFacts, Owner, ProgramFacts, ProgramSample, attach_summary};
use crate::store::Point;

mod window;

pub use crate::model::rfc3339;
pub use bpfscope_wire::terminal::{
    TerminalSafeWriter, is_unsafe_for_terminal, report_on_stderr, terminal_safe,
};
pub use window::{write_history, write_snapshot};

/// What is known of a program beyond its counters, for a record.
#[derive(Clone, Copy, Debug, Default)]
pub struct Described<'a> {
    pub facts: Option<&'a ProgramFacts>,
    /// `None`: the source reads no links, so nothing is known.
    pub links: Option<&'a [LinkFacts]>,
    /// Its runs and run time on each CPU that ran it this period, where the
    /// source gave them (JSON only: the CSV's columns stay as they are).
    pub per_cpu: Option<&'a [crate::model::CpuDelta]>,
    /// Low-overhead mode: how long statistics were on in the period.
    pub stats_on_ns: Option<u64>,
    /// When the owners were last read (`CLOCK_BOOTTIME`), where the source
    /// reads them.
    pub owners_read_ns: Option<u64>,
}

impl Described<'_> {
    /// The `attach` column: attachment summaries, "not attached", or empty if
    /// unknown.
    #[must_use]
    pub fn attach(&self) -> String {
        self.links.map(attach_summary).unwrap_or_default()
    }
}

/// The snapshot columns, in order.
pub const SNAPSHOT_COLUMNS: [&str; 13] = [
    "timestamp",
    "id",
    "type",
    "name",
    "avg_runtime_ns",
    "total_avg_runtime_ns",
    "events_per_sec",
    "cpu_percent",
    "run_cnt",
    "run_time_ns",
    "recursion_misses",
    "owners",
    "attach",
];

/// Text that a spreadsheet would run as a formula gets a `'` before it,
/// which spreadsheets show as text: at the start of the cell, and at the
/// start of every part a spreadsheet may split the cell into — after a `;`
/// (the owners' separator, and the field separator of many locales), a `,`
/// or a tab. Formula characters are `=`, `+`, `-`, `@`, tab and carriage
/// return. A process name is anyone's to choose, so every part counts.
#[must_use]
pub fn spreadsheet_safe(text: &str) -> Cow<'_, str> {
    let starts_formula = |c: char| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
    let splits = |c: char| matches!(c, ';' | ',' | '\t');
    let mut at_start = true;
    let needs = text.chars().any(|c| {
        let hit = at_start && starts_formula(c);
        at_start = splits(c);
        hit
    });
    if !needs {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 4);
    let mut at_start = true;
    for c in text.chars() {
        if at_start && starts_formula(c) {
            out.push('\'');
        }
        out.push(c);
        at_start = splits(c);
    }
    Cow::Owned(out)
}

fn fixed(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// The column a snapshot CSV of low-overhead mode adds: the seconds
/// statistics were on in the period, which its rates are over.
pub const SAMPLED_COLUMN: &str = "stats_on_s";

/// The history columns, in order: one program at one sample.
pub const HISTORY_COLUMNS: [&str; 6] = [
    "timestamp",
    "id",
    "name",
    "avg_runtime_ns",
    "events_per_sec",
    "cpu_percent",
];

/// Writes CSV records: snapshots with the [`SNAPSHOT_COLUMNS`] header, or
/// history points with the [`HISTORY_COLUMNS`] one. Every text cell goes
/// through [`spreadsheet_safe`].
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    inner: csv::Writer<W>,
    /// Low-overhead mode's records: with [`SAMPLED_COLUMN`].
    sampled: bool,
}

impl<W: Write> CsvWriter<W> {
    /// Starts a snapshot CSV document on `out` and writes the header.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_header(out, &SNAPSHOT_COLUMNS)
    }

    /// Starts a snapshot CSV document of low-overhead mode: the header ends
    /// with [`SAMPLED_COLUMN`].
    pub fn sampled(out: W) -> io::Result<Self> {
        let mut header = SNAPSHOT_COLUMNS.to_vec();
        header.push(SAMPLED_COLUMN);
        let mut writer = Self::with_header(out, &header)?;
        writer.sampled = true;
        Ok(writer)
    }

    /// Starts a history CSV document on `out` and writes the header.
    pub fn history(out: W) -> io::Result<Self> {
        Self::with_header(out, &HISTORY_COLUMNS)
    }

    fn with_header(out: W, header: &[&str]) -> io::Result<Self> {
        let mut inner = csv::Writer::from_writer(out);
        inner.write_record(header).map_err(csv_io)?;
        Ok(Self {
            inner,
            sampled: false,
        })
    }

    /// Writes one plotted point of program `id` (a history record).
    pub fn write_point(&mut self, id: u32, name: &str, point: &Point) -> io::Result<()> {
        self.inner
            .write_record([
                rfc3339(point.wall),
                id.to_string(),
                spreadsheet_safe(name).into_owned(),
                format!("{:.1}", point.avg_runtime_ns),
                format!("{:.3}", point.events_per_sec),
                format!("{:.6}", point.cpu_percent),
            ])
            .map_err(csv_io)
    }

    /// Writes one program's record.
    pub fn write(
        &mut self,
        timestamp: &str,
        program: &ProgramSample,
        metrics: Option<&Metrics>,
        described: Described<'_>,
    ) -> io::Result<()> {
        let owners = program.owners_joined();
        let record = [
            timestamp.to_owned(),
            program.id.to_string(),
            program.type_name().into_owned(),
            spreadsheet_safe(&program.name).into_owned(),
            fixed(metrics.map(|m| m.avg_runtime_ns), 1),
            format!("{:.1}", total_avg_runtime_ns(program.counters())),
            fixed(metrics.map(|m| m.events_per_sec), 3),
            fixed(metrics.map(|m| m.cpu_percent), 6),
            program.run_cnt.to_string(),
            program.run_time_ns.to_string(),
            program.recursion_misses.to_string(),
            spreadsheet_safe(&owners).into_owned(),
            spreadsheet_safe(&described.attach()).into_owned(),
        ];
        if self.sampled {
            let on = described
                .stats_on_ns
                .map_or_else(String::new, |ns| format!("{:.3}", ns as f64 / 1e9));
            self.inner
                .write_record(record.iter().map(String::as_str).chain([on.as_str()]))
                .map_err(csv_io)
        } else {
            self.inner.write_record(&record).map_err(csv_io)
        }
    }

    /// Flushes buffered records to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Flushes and returns the output.
    pub fn into_inner(self) -> io::Result<W> {
        self.inner
            .into_inner()
            .map_err(csv::IntoInnerError::into_error)
    }
}

fn csv_io(err: csv::Error) -> io::Error {
    match err.into_kind() {
        csv::ErrorKind::Io(err) => err,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[derive(Serialize)]
struct JsonRecord<'a> {
    timestamp: &'a str,
    id: u32,
    #[serde(rename = "type")]
    prog_type: &'a str,
    name: &'a str,
    avg_runtime_ns: Option<f64>,
    total_avg_runtime_ns: f64,
    events_per_sec: Option<f64>,
    cpu_percent: Option<f64>,
    run_cnt: u64,
    run_time_ns: u64,
    recursion_misses: u64,
    owners: &'a [Owner],
    /// Link summaries as in the CSV; `null` when links are unknown.
    attach: Option<String>,
    /// The name from BTF, where the program has one.
    full_name: Option<&'a str>,
    facts: Option<&'a ProgramFacts>,
    links: Option<&'a [LinkFacts]>,
    /// `{cpu, run_cnt, run_time_ns}` deltas; left out where not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    per_cpu: Option<&'a [crate::model::CpuDelta]>,
    /// Low-overhead mode: statistics were on this long in the period, and
    /// the rates are over it; left out when they were on all along.
    #[serde(skip_serializing_if = "Option::is_none")]
    stats_on_ns: Option<u64>,
    /// The owners were last read before the program loaded, so `owners`
    /// does not say who holds it yet; left out otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    owners_pending: bool,
}

/// Writes one program's record as a line of JSON with the CSV's keys (owners
/// as an array of `{pid, comm}`), plus `full_name`, `facts` (maps included)
/// and `links` (each with its target in words), and `per_cpu` where the
/// source gave the program per CPU.
pub fn write_json_line<W: Write>(
    out: &mut W,
    timestamp: &str,
    program: &ProgramSample,
    metrics: Option<&Metrics>,
    described: Described<'_>,
) -> io::Result<()> {
    let prog_type = program.type_name();
    let record = JsonRecord {
        timestamp,
        id: program.id,
        prog_type: &prog_type,
        name: &program.name,
        avg_runtime_ns: metrics.map(|m| m.avg_runtime_ns),
        total_avg_runtime_ns: total_avg_runtime_ns(program.counters()),
        events_per_sec: metrics.map(|m| m.events_per_sec),
        cpu_percent: metrics.map(|m| m.cpu_percent),
        run_cnt: program.run_cnt,
        run_time_ns: program.run_time_ns,
        recursion_misses: program.recursion_misses,
        owners: &program.owners,
        attach: described.links.map(attach_summary),
        full_name: described.facts.and_then(|f| f.full_name.as_deref()),
        facts: described.facts,
        links: described.links,
        per_cpu: described.per_cpu,
        stats_on_ns: described.stats_on_ns,
        owners_pending: described
            .owners_read_ns
            .is_some_and(|read| read < program.load_time_ns),
    };
    serde_json::to_writer(&mut *out, &record).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Writes a file all at once or not at all: the content goes to a temporary
/// file beside `path`, which is renamed over `path` only when complete. On any
/// error an existing file is untouched and no partial file is left.
pub fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<T>,
) -> io::Result<T> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    }
    let temp = tempfile::Builder::new()
        .prefix(".bpfscope-export-")
        .tempfile_in(dir)?;
    let mut out = BufWriter::new(temp);
    let value = write(&mut out)?;
    let temp = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    // The temporary file is 0600; the result gets the mode a file written
    // over keeps, or the one a new file gets (0666 less the umask).
    let mode = std::fs::metadata(path).map_or_else(
        |_| 0o666 & !umask(),
        |m| {
            use std::os::unix::fs::PermissionsExt;
            m.permissions().mode() & 0o777
        },
    );
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|err| err.error)?;
    // The rename is durable only once the directory is. Some filesystems
    // cannot sync a directory; the file is in place either way.
    if let Err(err) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::debug!("could not sync {}: {err}", dir.display());
    }
    Ok(value)
}

/// This process's umask, from `/proc/self/status` (reading it with
/// `umask(2)` would change it for a moment under every other thread).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let value = line.strip_prefix("Umask:")?.trim();
                u32::from_str_radix(value, 8).ok()
            })
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests;
