//! `bpfscope`: the desktop app's entry point and the headless `sample` command.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bpfscope::app::BpfScopeApp;
use bpfscope::export::{CsvWriter, Described, rfc3339, write_json_line};
use bpfscope::model::metrics::program_metrics;
use bpfscope::model::{Catalog, ProgramKey, Sample};
use bpfscope::sampler::{
    Enumeration, Interval, Sampler, SamplerConfig, SourceEvent, StatsRequest, Waker,
};
use bpfscope::source::{HelperLaunch, Source};
use clap::{Parser, Subcommand, ValueEnum};

/// Live cost of every loaded eBPF program: runtime per run, events per
/// second, CPU share.
#[derive(Debug, Parser)]
#[command(name = "bpfscope", version, about)]
struct Cli {
    /// Seconds between samples in the window, 0.1 to 3600 (default: the
    /// last one chosen, or 1).
    #[arg(long, value_name = "SECS")]
    interval: Option<Interval>,
    /// For development: the `bpfscope-sampler` to start through pkexec when
    /// bpfscope lacks CAP_SYS_ADMIN (an absolute path; default: the
    /// installed one, /usr/libexec/bpfscope/bpfscope-sampler).
    #[arg(long, value_name = "PATH", global = true, value_parser = absolute_path)]
    helper: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every program's metrics once per interval (CSV or JSON lines).
    ///
    /// The first pass only primes the deltas; each later pass prints one
    /// record per loaded program. Needs CAP_SYS_ADMIN.
    Sample(SampleArgs),
}

#[derive(Debug, clap::Args)]
struct SampleArgs {
    /// Seconds between samples, 0.1 to 3600.
    #[arg(long, value_name = "SECS", default_value = "1")]
    interval: Interval,
    /// Stop after this many printed periods (default: run until interrupted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
    /// How to turn the kernel's statistics on.
    #[arg(long, value_enum, default_value_t = StatsArg::Auto)]
    stats: StatsArg,
    /// How to list programs.
    #[arg(long, value_enum, default_value_t = EnumerateArg::Auto)]
    enumerate: EnumerateArg,
    /// Do not look up which processes hold each program.
    #[arg(long)]
    no_owners: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StatsArg {
    /// BPF_ENABLE_STATS, or the sysctl on kernels older than 5.8.
    Auto,
    /// Only BPF_ENABLE_STATS.
    Syscall,
    /// Only the kernel.bpf_stats_enabled sysctl (restored on exit).
    Sysctl,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum EnumerateArg {
    /// The BPF iterator, or syscalls where it cannot load.
    Auto,
    /// Only the BPF iterator.
    Iterator,
    /// Only per-program syscalls.
    Syscall,
}

fn absolute_path(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!(
            "{value:?} is not an absolute path (the helper is never looked up in $PATH)"
        ))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    bpfscope::sys::init_logging("bpfscope");
    let mut launch = HelperLaunch::installed();
    if let Some(helper) = cli.helper {
        launch.helper = helper;
    }
    match cli.command {
        Some(Command::Sample(args)) => sample_command(&args, launch),
        None => window(cli.interval, launch),
    }
}

/// The window icon, for desktops that do not look it up by app id.
const ICON_PNG: &[u8] =
    include_bytes!("../icons/hicolor/128x128/apps/io.github.bpfscope.BpfScope.png");

fn window(interval: Option<Interval>, launch: HelperLaunch) -> ExitCode {
    let mut viewport = eframe::egui::ViewportBuilder::default()
        .with_title("bpfscope")
        .with_app_id(bpfscope::APP_ID)
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([640.0, 400.0]);
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => tracing::warn!("the built-in window icon is unreadable: {err}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        // Dithering only smooths gradients, which this UI has none of, and
        // costs a shader pass per pixel where OpenGL runs on the CPU.
        dithering: false,
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "bpfscope",
        options,
        Box::new(move |cc| {
            close_on_signals(&cc.egui_ctx);
            Ok(Box::new(BpfScopeApp::new(
                cc,
                interval,
                move |interval, waker| Source::start(interval, waker, launch),
            )))
        }),
    );
    // The app (and with it the sampler and the statistics) is gone by now.
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bpfscope: cannot open the window: {err}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT and SIGTERM close the window like its close button does, so the
/// sampler stops and statistics are turned off on the way out.
fn close_on_signals(ctx: &eframe::egui::Context) {
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ]);
    let mut signals = match signals {
        Ok(signals) => signals,
        Err(err) => {
            eprintln!("bpfscope: cannot handle SIGINT/SIGTERM: {err}");
            return;
        }
    };
    let ctx = ctx.clone();
    let spawned = std::thread::Builder::new()
        .name("bpfscope-signals".to_owned())
        .spawn(move || {
            for _ in signals.forever() {
                ctx.send_viewport_cmd(eframe::egui::ViewportCommand::Close);
                ctx.request_repaint();
            }
        });
    if let Err(err) = spawned {
        eprintln!("bpfscope: cannot start the signal thread: {err}");
    }
}

fn sample_command(args: &SampleArgs, launch: HelperLaunch) -> ExitCode {
    let stop = match bpfscope::sys::stop_on_signals() {
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
                    eprintln!("bpfscope: {notice}");
                }
            }
            SourceEvent::Error(message) => eprintln!("bpfscope: {message}"),
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
fn sample_source(args: &SampleArgs, mut launch: HelperLaunch) -> Result<Source, ExitCode> {
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
    };
    let waker: Waker = Arc::new(|| {});
    let source = if bpfscope::sys::has_cap(bpfscope::sys::CAP_SYS_ADMIN) {
        match Sampler::new(config) {
            Ok(sampler) => Source::from_sampler(sampler, args.interval, waker),
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
                "bpfscope: --stats, --enumerate and --no-owners apply only when bpfscope runs \
                 with CAP_SYS_ADMIN itself; the sampler started through polkit uses its defaults"
            );
        }
        // On a terminal pkexec may ask for the password itself.
        launch.terminal_agent = io::stdin().is_terminal();
        Source::helper(launch, args.interval, waker, true)
    };
    Ok(source)
}

/// Writes one record per program per period.
enum Printer {
    Csv(Box<CsvWriter<BufWriter<io::Stdout>>>),
    Json(BufWriter<io::Stdout>),
}

impl Printer {
    fn new(format: Format) -> io::Result<Self> {
        let out = BufWriter::new(io::stdout());
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
