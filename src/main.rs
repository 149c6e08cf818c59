//! `bpfscope`: the desktop app's entry point and the headless `sample` command.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bpfscope::app::BpfScopeApp;
use bpfscope::export::{CsvWriter, rfc3339, write_json_line};
use bpfscope::model::Sample;
use bpfscope::model::metrics::program_metrics;
use bpfscope::sampler::{
    self, Enumeration, Interval, Sampler, SamplerConfig, SourceEvent, StatsRequest,
};
use bpfscope::source::Source;
use clap::{Parser, Subcommand, ValueEnum};
use crossbeam_channel::RecvTimeoutError;

/// Live cost of every loaded eBPF program: runtime per run, events per
/// second, CPU share.
#[derive(Debug, Parser)]
#[command(name = "bpfscope", version, about)]
struct Cli {
    /// Seconds between samples in the window, 0.1 to 3600 (default: the
    /// last one chosen, or 1).
    #[arg(long, value_name = "SECS")]
    interval: Option<Interval>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    bpfscope::sys::init_logging("bpfscope");
    match cli.command {
        Some(Command::Sample(args)) => sample_command(&args),
        None => window(cli.interval),
    }
}

/// The window icon, for desktops that do not look it up by app id.
const ICON_PNG: &[u8] =
    include_bytes!("../icons/hicolor/128x128/apps/io.github.bpfscope.BpfScope.png");

fn window(interval: Option<Interval>) -> ExitCode {
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
            Ok(Box::new(BpfScopeApp::new(cc, interval, Source::start)))
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

fn sample_command(args: &SampleArgs) -> ExitCode {
    let stop = match bpfscope::sys::stop_on_signals() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("bpfscope: cannot handle SIGINT/SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };
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
    };
    let sampler = match Sampler::new(config) {
        Ok(sampler) => sampler,
        Err(err) => {
            eprintln!("bpfscope: {err}");
            return if err.is_privilege() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            };
        }
    };
    let (tx, rx) = crossbeam_channel::bounded(16);
    let thread = match sampler::spawn(sampler, args.interval, tx) {
        Ok(thread) => thread,
        Err(err) => {
            eprintln!("bpfscope: cannot start the sampling thread: {err}");
            return ExitCode::FAILURE;
        }
    };

    let mut printer = match Printer::new(args.format) {
        Ok(printer) => printer,
        Err(err) => {
            eprintln!("bpfscope: cannot write to standard output: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut previous: Option<Sample> = None;
    let mut periods = 0u64;
    let code = loop {
        if stop.load(Ordering::Relaxed) {
            break ExitCode::SUCCESS;
        }
        let event = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                eprintln!("bpfscope: the sampler stopped unexpectedly");
                break ExitCode::FAILURE;
            }
        };
        match event {
            SourceEvent::Hello(info) => {
                for notice in &info.notices {
                    eprintln!("bpfscope: {notice}");
                }
            }
            SourceEvent::Error(message) => eprintln!("bpfscope: {message}"),
            SourceEvent::Sample(sample) => {
                if let Some(prev) = &previous {
                    match printer.period(prev, &sample) {
                        Ok(()) => {}
                        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => {
                            break ExitCode::SUCCESS;
                        }
                        Err(err) => {
                            eprintln!("bpfscope: cannot write to standard output: {err}");
                            break ExitCode::FAILURE;
                        }
                    }
                    periods += 1;
                    if args.count.is_some_and(|count| periods >= count) {
                        break ExitCode::SUCCESS;
                    }
                }
                previous = Some(sample);
            }
        }
    };
    // Stop sampling (and turn statistics off) before exiting.
    thread.stop();
    code
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

    fn period(&mut self, prev: &Sample, cur: &Sample) -> io::Result<()> {
        let timestamp = rfc3339(cur.taken_at);
        for program in &cur.programs {
            let metrics = program_metrics(prev, cur, program);
            match self {
                Self::Csv(w) => w.write(&timestamp, program, metrics.as_ref())?,
                Self::Json(w) => write_json_line(w, &timestamp, program, metrics.as_ref())?,
            }
        }
        match self {
            Self::Csv(w) => w.flush(),
            Self::Json(w) => w.flush(),
        }
    }
}
