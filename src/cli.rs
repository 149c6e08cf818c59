//! `bpfscope sample`: the headless command that prints every program's
//! metrics once per interval, as CSV or JSON lines.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::ValueEnum;

use crate::export::{
    CsvWriter, Described, TerminalSafeWriter, rfc3339, terminal_safe, write_json_line,
};
use crate::model::metrics::program_metrics;
use crate::model::{Catalog, Enumeration, Interval, ProgramKey, Sample, SourceEvent, Waker};
use crate::sampler::{Sampler, SamplerConfig, StatsRequest};
use crate::source::{HelperLaunch, Source};

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// Seconds between samples, 0.1 to 3600.
    #[arg(long, value_name = "SECS", default_value = "1")]
    pub interval: Interval,
    /// Stop after this many printed periods (default: run until interrupted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// How to turn the kernel's statistics on.
    #[arg(long, value_enum, default_value_t = StatsArg::Auto)]
    pub stats: StatsArg,
    /// How to list programs.
    #[arg(long, value_enum, default_value_t = EnumerateArg::Auto)]
    pub enumerate: EnumerateArg,
    /// Do not look up which processes hold each program.
    #[arg(long)]
    pub no_owners: bool,
    /// Read owners again at least this often, in seconds (default 10); they
    /// are also read whenever a program or link comes or goes.
    #[arg(long, value_name = "SECS")]
    pub owners_every: Option<Interval>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StatsArg {
    /// BPF_ENABLE_STATS, or the sysctl on kernels older than 5.8.
    Auto,
    /// Only BPF_ENABLE_STATS.
    Syscall,
    /// Only the kernel.bpf_stats_enabled sysctl (restored on exit).
    Sysctl,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum EnumerateArg {
    /// The BPF iterator, or syscalls where it cannot load.
    Auto,
    /// Only the BPF iterator.
    Iterator,
    /// Only per-program syscalls.
    Syscall,
}

/// `bpfscope sample`: prints every program's metrics once per interval
/// until interrupted or `--count` periods are printed. Exit code 2 when the
/// privilege is missing.
#[must_use]
pub fn sample_command(args: &SampleArgs, launch: HelperLaunch) -> ExitCode {
    let stop = match crate::sys::stop_on_signals() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("bpfscope: cannot handle SIGINT/SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut source = match sample_source(args, launch) {
        Ok(source) => source,
        Err(code) => return code,
    };

    // Made with the first period, so a failed start prints no header.
    let mut printer: Option<Printer> = None;
    let mut previous: Option<Sample> = None;
    let mut catalog = Catalog::default();
    let mut periods = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return ExitCode::SUCCESS;
        }
        let Some(event) = source.recv_timeout(Duration::from_millis(100)) else {
            if let Some(problem) = source.problem() {
                return if previous.is_none() {
                    eprintln!(
                        "bpfscope: reading BPF statistics needs CAP_SYS_ADMIN (start bpfscope \
                         as root) or polkit's permission to run its sampler. {problem}"
                    );
                    ExitCode::from(2)
                } else {
                    eprintln!("bpfscope: {problem}");
                    ExitCode::FAILURE
                };
            }
            continue;
        };
        match event {
            SourceEvent::Hello(info) => {
                for notice in &info.notices {
                    eprintln!("bpfscope: {}", terminal_safe(notice));
                }
            }
            SourceEvent::Warning(message) => {
                eprintln!("bpfscope: warning: {}", terminal_safe(&message));
            }
            SourceEvent::Error(message) => eprintln!("bpfscope: {}", terminal_safe(&message)),
            SourceEvent::Facts(facts) => catalog.add_facts(facts),
            SourceEvent::Sample(mut sample) => {
                catalog.absorb(&mut sample);
                if let Some(prev) = &previous {
                    let written = match &mut printer {
                        Some(printer) => printer.period(prev, &sample, &catalog),
                        None => Printer::new(args.format)
                            .and_then(|new| printer.insert(new).period(prev, &sample, &catalog)),
                    };
                    match written {
                        Ok(()) => {}
                        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                            return ExitCode::SUCCESS;
                        }
                        Err(err) => {
                            eprintln!("bpfscope: cannot write to standard output: {err}");
                            return ExitCode::FAILURE;
                        }
                    }
                    periods += 1;
                    if args.count.is_some_and(|count| periods >= count) {
                        return ExitCode::SUCCESS;
                    }
                }
                let loaded: std::collections::HashSet<ProgramKey> =
                    sample.programs.iter().map(ProgramKey::of).collect();
                catalog.retain(|k| loaded.contains(k));
                previous = Some(sample);
            }
        }
    }
    // Dropping the source stops sampling and turns statistics off.
}

/// In this process with CAP_SYS_ADMIN, else through the helper.
fn sample_source(args: &SampleArgs, launch: HelperLaunch) -> Result<Source, ExitCode> {
    let config = SamplerConfig {
        stats: match args.stats {
            StatsArg::Auto => StatsRequest::Auto,
            StatsArg::Syscall => StatsRequest::Syscall,
            StatsArg::Sysctl => StatsRequest::Sysctl,
        },
        enumeration: match args.enumerate {
            EnumerateArg::Auto => None,
            EnumerateArg::Iterator => Some(Enumeration::Iterator),
            EnumerateArg::Syscall => Some(Enumeration::Syscall),
        },
        owners: !args.no_owners,
        facts: true,
        owners_every: args.owners_every.map(Interval::duration),
        facts_by_syscall: false,
    };
    start_source(config, args.interval, launch)
}

/// A source sampling every `interval`: in this process with `config` when
/// it holds CAP_SYS_ADMIN, else through the helper (with its defaults).
pub(crate) fn start_source(
    config: SamplerConfig,
    interval: Interval,
    mut launch: HelperLaunch,
) -> Result<Source, ExitCode> {
    let waker: Waker = Arc::new(|| {});
    let source = if crate::sys::has_cap(crate::sys::CAP_SYS_ADMIN) {
        match Sampler::new(config) {
            Ok(sampler) => Source::from_sampler(sampler, interval, waker),
            Err(err) => {
                eprintln!("bpfscope: {err}");
                return Err(if err.is_privilege() {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                });
            }
        }
    } else {
        let helper_config = SamplerConfig {
            owners: true,
            facts: true,
            ..SamplerConfig::default()
        };
        if config != helper_config {
            eprintln!(
                "bpfscope: --stats, --enumerate, --no-owners and --owners-every apply only when bpfscope runs \
                 with CAP_SYS_ADMIN itself; the sampler started through polkit uses its defaults"
            );
        }
        // On a terminal pkexec may ask for the password itself.
        launch.terminal_agent = io::stdin().is_terminal();
        Source::helper(launch, interval, waker, true)
    };
    Ok(source)
}

/// Writes one record per program per period.
enum Printer {
    Csv(Box<CsvWriter<BufWriter<Box<dyn Write>>>>),
    Json(BufWriter<Box<dyn Write>>),
}

impl Printer {
    /// On a terminal every control character is escaped: names in the
    /// output are anyone's to choose.
    fn new(format: Format) -> io::Result<Self> {
        let stdout = io::stdout();
        let out: Box<dyn Write> = if stdout.is_terminal() {
            Box::new(TerminalSafeWriter::new(stdout))
        } else {
            Box::new(stdout)
        };
        let out = BufWriter::new(out);
        Ok(match format {
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
