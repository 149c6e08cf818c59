//! `bpfscope`: the desktop app's entry point; subcommands live in `bpfscope::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use bpfscope::app::BpfScopeApp;
use bpfscope::cli::{RecordArgs, RemoteArgs, SampleArgs, record_command, sample_command};
use bpfscope::model::Interval;
use bpfscope::serve::{ServeArgs, serve_command};
use bpfscope::source::{HelperLaunch, Source};
use clap::{Parser, Subcommand};

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
    /// A recording to replay in the window (`bpfscope record`, or Record in
    /// the window).
    #[arg(value_name = "FILE", conflicts_with = "host")]
    file: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgs,
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
    /// Serve every program's metrics to Prometheus on /metrics (Prometheus
    /// text or OpenMetrics), from the last sample.
    ///
    /// Listens on 127.0.0.1:9436 unless --listen says otherwise. Needs
    /// CAP_SYS_ADMIN, or polkit's permission to run the sampler.
    Serve(ServeArgs),
    /// Record a session to a file (zstd blocks of frames), to convert with
    /// `bpfscope sample --from FILE`.
    ///
    /// Runs until interrupted, --duration or --count. Needs CAP_SYS_ADMIN,
    /// or polkit's permission to run the sampler.
    Record(RecordArgs),
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

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Self::Sample(_) => "sample",
            Self::Serve(_) => "serve",
            Self::Record(_) => "record",
        }
    }
}

/// The window's options given before a subcommand, which would otherwise
/// be ignored (`bpfscope --host db-7 sample` printing this machine's
/// programs): said with the form that works.
fn misplaced_before(cli: &Cli, command: &Command) -> Option<String> {
    let name = command.name();
    let takes_host = !matches!(command, Command::Serve(_));
    let misplaced = if cli.interval.is_some() {
        "--interval"
    } else if cli.remote.host.is_some() {
        "--host"
    } else if cli.remote.remote_command.is_some() {
        "--remote-command"
    } else if !cli.remote.ssh_options.is_empty() {
        "--ssh-option"
    } else if cli.file.is_some() {
        return Some(format!(
            "a recording to replay is for the window (`bpfscope FILE`); `bpfscope {name}` \
             does not take one before it (to print a recording: `bpfscope sample --from FILE`)"
        ));
    } else {
        return None;
    };
    Some(if misplaced == "--interval" || takes_host {
        format!(
            "{misplaced} before `{name}` is the window's option; write it after the \
             subcommand: `bpfscope {name} {misplaced} …`"
        )
    } else {
        format!("{misplaced} is the window's option; `bpfscope {name}` watches this machine only")
    })
}

fn main() -> ExitCode {
    if let Some(code) = bpfscope::sampler::low_overhead::stats_toggler_if_asked() {
        return code;
    }
    let cli = Cli::parse();
    bpfscope::sys::init_logging("bpfscope");
    if let Some(command) = &cli.command
        && let Some(misplaced) = misplaced_before(&cli, command)
    {
        eprintln!("bpfscope: {misplaced}");
        return ExitCode::from(2);
    }
    let mut launch = HelperLaunch::installed();
    if let Some(helper) = cli.helper {
        launch.helper = helper;
    }
    match cli.command {
        Some(Command::Sample(args)) => sample_command(&args, launch),
        Some(Command::Serve(args)) => serve_command(&args, launch),
        Some(Command::Record(args)) => record_command(&args, launch),
        None => {
            match cli.remote.remote() {
                Ok(remote) => launch.remote = remote,
                Err(why) => {
                    eprintln!("bpfscope: --host: {why}");
                    return ExitCode::from(2);
                }
            }
            window(cli.interval, cli.file, launch)
        }
    }
}

/// The window icon, for desktops that do not look it up by app id.
const ICON_PNG: &[u8] =
    include_bytes!("../icons/hicolor/128x128/apps/io.github.bpfscope.BpfScope.png");

fn window(interval: Option<Interval>, file: Option<PathBuf>, launch: HelperLaunch) -> ExitCode {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !set("DISPLAY") && !set("WAYLAND_DISPLAY") {
        eprintln!(
            "bpfscope: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set), so the \
             window cannot open. Without a display: `bpfscope sample` prints every program's \
             metrics, `bpfscope serve` serves them to Prometheus, `bpfscope record -o FILE` \
             records them (see `bpfscope --help`)."
        );
        return ExitCode::FAILURE;
    }
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
        // OpenGL always: the tests' snapshot renderer turns on eframe's wgpu
        // too, which eframe would then prefer.
        renderer: eframe::Renderer::Glow,
        ..eframe::NativeOptions::default()
    };
    let result = eframe::run_native(
        "bpfscope",
        options,
        Box::new(move |cc| {
            close_on_signals(&cc.egui_ctx);
            let mut launch = launch;
            let ssh_options = launch
                .remote
                .as_ref()
                .map(|r| r.ssh_options.clone())
                .unwrap_or_default();
            let remote = launch.remote.take();
            // This machine: after a recording or another host, File →
            // Watch this machine.
            let live = move |interval, waker| Source::start(interval, waker, launch.clone());
            let mut app = match (file, remote) {
                // A recording is said on stderr too when it cannot be
                // replayed; the window says it and offers File → Open….
                (Some(file), _) => BpfScopeApp::new(cc, interval, |_, waker| {
                    let source = Source::replay(&file, waker);
                    if let Some(problem) = source.problem() {
                        eprintln!("bpfscope: {}", bpfscope::export::terminal_safe(problem));
                    }
                    source
                }),
                (None, Some(remote)) => BpfScopeApp::new(cc, interval, |interval, waker| {
                    Source::helper(HelperLaunch::remote(remote), interval, waker, true)
                }),
                (None, None) => BpfScopeApp::new(cc, interval, &live),
            };
            app.set_live_start(Box::new(live));
            app.set_host_windows(std::env::current_exe().ok(), ssh_options);
            Ok(Box::new(app))
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

/// SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGXCPU and SIGXFSZ close the window like its close button does, so the
/// sampler stops and statistics are turned off on the way out.
fn close_on_signals(ctx: &eframe::egui::Context) {
    let signals = signal_hook::iterator::Signals::new(bpfscope::sys::ENDING_SIGNALS);
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
