//! What `bpfscope sample` prints: one CSV or JSON record per program per
//! period, from a live source or a recording.

use std::io::{self, BufWriter, IsTerminal, Write};

use super::Format;
use crate::export::{CsvWriter, Described, TerminalSafeWriter, rfc3339, write_json_line};
use crate::model::metrics::program_metrics;
use crate::model::{Catalog, ProgramKey, Sample, SourceEvent};

/// What the printing loop does after an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Go,
    /// `--count` periods printed, or the reader went away.
    Done,
}

/// The printer and what it keeps between samples.
pub struct Printing {
    format: Format,
    count: Option<u64>,
    /// Made with the first period, so a failed start prints no header.
    printer: Option<Printer>,
    previous: Option<Sample>,
    catalog: Catalog,
    periods: u64,
    /// Facts taken since the last sample: a file of facts and no samples
    /// cannot grow the catalog past [`FACTS_AHEAD`].
    ahead: usize,
}

/// Facts kept between two samples at most (each bounded by the protocol's
/// checks: 64 maps, names cut).
const FACTS_AHEAD: usize = 100_000;

impl Printing {
    pub fn new(format: Format, count: Option<u64>) -> Self {
        Self {
            format,
            count,
            printer: None,
            previous: None,
            catalog: Catalog::default(),
            periods: 0,
            ahead: 0,
        }
    }

    /// Whether a sample arrived yet.
    pub fn started(&self) -> bool {
        self.previous.is_some()
    }

    /// Takes one event: notices and problems to stderr, a period printed.
    pub fn take(&mut self, event: SourceEvent) -> io::Result<Flow> {
        crate::export::report_on_stderr(&event);
        match event {
            SourceEvent::Hello(_) | SourceEvent::Warning(_) | SourceEvent::Error(_) => {}
            SourceEvent::Facts(mut facts) => {
                facts.truncate(FACTS_AHEAD.saturating_sub(self.ahead));
                self.ahead += facts.len();
                self.catalog.add_facts(facts);
            }
            SourceEvent::Sample(mut sample) => {
                self.ahead = 0;
                self.catalog.absorb(&mut sample);
                if let Some(prev) = &self.previous {
                    let written = match &mut self.printer {
                        Some(printer) => printer.period(prev, &sample, &self.catalog),
                        None => Printer::new(self.format, sample.stats_on_ns.is_some()).and_then(
                            |new| {
                                self.printer
                                    .insert(new)
                                    .period(prev, &sample, &self.catalog)
                            },
                        ),
                    };
                    match written {
                        Ok(()) => {}
                        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                            return Ok(Flow::Done);
                        }
                        Err(err) => return Err(err),
                    }
                    self.periods += 1;
                    if self.count.is_some_and(|count| self.periods >= count) {
                        return Ok(Flow::Done);
                    }
                }
                let loaded: std::collections::HashSet<ProgramKey> =
                    sample.programs.iter().map(ProgramKey::of).collect();
                self.catalog.retain(|k| loaded.contains(k));
                self.previous = Some(sample);
            }
        }
        Ok(Flow::Go)
    }
}

/// Writes one record per program per period.
enum Printer {
    Csv(Box<CsvWriter<BufWriter<Box<dyn Write>>>>),
    Json(BufWriter<Box<dyn Write>>),
}

impl Printer {
    /// On a terminal every control character is escaped: names in the
    /// output are anyone's to choose. `sampled`: low-overhead mode's CSV,
    /// with the seconds statistics were on.
    fn new(format: Format, sampled: bool) -> io::Result<Self> {
        let stdout = io::stdout();
        let out: Box<dyn Write> = if stdout.is_terminal() {
            Box::new(TerminalSafeWriter::new(stdout))
        } else {
            Box::new(stdout)
        };
        let out = BufWriter::new(out);
        Ok(match format {
            Format::Csv if sampled => Self::Csv(Box::new(CsvWriter::sampled(out)?)),
            Format::Csv => Self::Csv(Box::new(CsvWriter::new(out)?)),
            Format::Json => Self::Json(out),
        })
    }

    fn period(&mut self, prev: &Sample, cur: &Sample, catalog: &Catalog) -> io::Result<()> {
        let timestamp = rfc3339(cur.taken_at);
        for program in &cur.programs {
            let metrics = program_metrics(prev, cur, program);
            let described = Described {
                facts: catalog.facts(ProgramKey::of(program)).map(AsRef::as_ref),
                links: catalog.links(program.id),
                per_cpu: cur
                    .per_cpu
                    .as_ref()
                    .and_then(|p| p.program(program.id))
                    .map(|p| &p.cpus[..]),
                stats_on_ns: cur.stats_on_ns,
                owners_read_ns: cur.owners_read_ns,
            };
            match self {
                Self::Csv(w) => w.write(&timestamp, program, metrics.as_ref(), described)?,
                Self::Json(w) => {
                    write_json_line(w, &timestamp, program, metrics.as_ref(), described)?;
                }
            }
        }
        match self {
            Self::Csv(w) => w.flush(),
            Self::Json(w) => w.flush(),
        }
    }
}
