//! `bpfscope sample`: the headless command that prints every program's
//! metrics once per interval, as CSV or JSON lines, live or from a
//! recording (`--from`).

mod print;
mod record;

pub use record::{RecordArgs, record_command};

use print::{Flow, Printing};

use std::io::{self, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use clap::ValueEnum;

use crate::export::terminal_safe;
use crate::model::{Enumeration, Interval, Waker};
use crate::sampler::{PerCpuLimits, Sampler, SamplerConfig, StatsRequest};
use crate::source::{HelperLaunch, Remote, Source};

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
    /// Print a recording's periods (`bpfscope record`) instead of sampling.
    #[arg(long, value_name = "FILE", conflicts_with = "host")]
    pub from: Option<std::path::PathBuf>,
    /// Low-overhead mode: keep statistics on for only PERCENT % of each
    /// interval (1 to 99, at least 10 ms); rates are over the time they were
    /// on, and every record says so.
    #[arg(long = "stats-duty", value_name = "PERCENT",
          value_parser = clap::value_parser!(u8).range(1..=99))]
    pub low_overhead_percent: Option<u8>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Watching another host over ssh (`--host`), for the window, `sample` and
/// `record`.
#[derive(Debug, Default, clap::Args)]
pub struct RemoteArgs {
    /// Watch another host: its bpfscope-sampler over `ssh -T [USER@]HOST`
    /// (a host from ~/.ssh/config works; ssh must log in without a prompt).
    #[arg(long, value_name = "[USER@]HOST")]
    pub host: Option<String>,
    /// The command that starts the sampler on the host, `--interval-ms N`
    /// added (default: sudo -n /usr/libexec/bpfscope/bpfscope-sampler).
    #[arg(long, value_name = "COMMAND", requires = "host")]
    pub remote_command: Option<String>,
    /// An ssh option for the connection, as for `ssh -o` (`Port=2222`,
    /// `IdentityFile=~/.ssh/ops`); repeatable.
    #[arg(long = "ssh-option", value_name = "OPTION", requires = "host")]
    pub ssh_options: Vec<String>,
}

impl RemoteArgs {
    /// The host to watch, if one was given; the error says why it cannot be.
    pub fn remote(&self) -> Result<Option<Remote>, crate::source::HostError> {
        let Some(host) = &self.host else {
            return Ok(None);
        };
        let mut remote = Remote::new(host)?;
        if let Some(command) = &self.remote_command {
            if command.trim().is_empty() {
                return Err(crate::source::HostError::EmptyCommand);
            }
            command.clone_into(&mut remote.command);
        }
        remote.ssh_options.clone_from(&self.ssh_options);
        Ok(Some(remote))
    }
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
    if let Some(path) = &args.from {
        return from_recording(path, args);
    }
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
    let remote = args.remote.host.is_some();

    let mut printing = Printing::new(args.format, args.count);
    loop {
        if stop.load(Ordering::Relaxed) {
            return ExitCode::SUCCESS;
        }
        let Some(event) = source.recv_timeout(Duration::from_millis(100)) else {
            if let Some(problem) = source.problem() {
                // Another host's words (its sudo, its login scripts) are
                // not this terminal's commands.
                let problem = terminal_safe(problem);
                return if printing.started() {
                    eprintln!("bpfscope: {problem}");
                    ExitCode::FAILURE
                } else if remote {
                    eprintln!("bpfscope: {problem}");
                    ExitCode::from(2)
                } else {
                    eprintln!(
                        "bpfscope: reading BPF statistics needs CAP_SYS_ADMIN (start bpfscope \
                         as root) or polkit's permission to run its sampler. {problem}"
                    );
                    ExitCode::from(2)
                };
            }
            continue;
        };
        match printing.take(event) {
            Ok(Flow::Go) => {}
            Ok(Flow::Done) => return ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("bpfscope: cannot write to standard output: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    // Dropping the source stops sampling and turns statistics off.
}

/// `bpfscope sample --from FILE`: the recording's periods, with their
/// recorded times. Exit code 2 when the file is not a recording this
/// bpfscope reads, or stops early (after printing what it holds).
fn from_recording(path: &std::path::Path, args: &SampleArgs) -> ExitCode {
    let shown = terminal_safe(&path.display().to_string()).into_owned();
    let mut reader = match std::fs::File::open(path)
        .map_err(crate::record::RecordError::Io)
        .and_then(|file| crate::record::RecordingReader::new(io::BufReader::new(file)))
    {
        Ok(reader) => reader,
        Err(err) => {
            eprintln!("bpfscope: {shown}: {}", terminal_safe(&err.to_string()));
            return ExitCode::from(2);
        }
    };
    let mut printing = Printing::new(args.format, args.count);
    loop {
        let event = match reader.next_event() {
            crate::record::Next::Event(event) => event,
            crate::record::Next::End => return ExitCode::SUCCESS,
            crate::record::Next::Stopped(why) => {
                eprintln!("bpfscope: {shown}: {}", terminal_safe(&why.to_string()));
                return ExitCode::from(2);
            }
        };
        match printing.take(event) {
            Ok(Flow::Go) => {}
            Ok(Flow::Done) => return ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("bpfscope: cannot write to standard output: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
}

/// In this process with CAP_SYS_ADMIN, else through the helper; on
/// another host over ssh with `--host`.
fn sample_source(args: &SampleArgs, mut launch: HelperLaunch) -> Result<Source, ExitCode> {
    launch.remote = remote_or_exit(&args.remote)?;
    launch.low_overhead_percent = args.low_overhead_percent;
    let low_overhead = match args.low_overhead_percent {
        None => None,
        Some(percent) => match crate::sampler::low_overhead::LowOverhead::percent_of(
            u32::from(percent),
            args.interval.duration(),
        ) {
            Ok(schedule) => Some(schedule),
            Err(why) => {
                eprintln!("bpfscope: --stats-duty: {why}");
                return Err(ExitCode::from(2));
            }
        },
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
        facts: true,
        owners_every: args.owners_every.map(Interval::duration),
        facts_by_syscall: false,
        per_cpu: PerCpuLimits::default(),
        low_overhead,
    };
    start_source(config, args.interval, launch)
}

/// The `--host` asked for; exit code 2 with the reason when it is not a
/// host name.
pub(crate) fn remote_or_exit(args: &RemoteArgs) -> Result<Option<Remote>, ExitCode> {
    args.remote().map_err(|why| {
        eprintln!("bpfscope: --host: {}", terminal_safe(&why.to_string()));
        ExitCode::from(2)
    })
}

/// A source sampling every `interval`: in this process with `config` when
/// it holds CAP_SYS_ADMIN, else through the helper (with its defaults).
pub(crate) fn start_source(
    config: SamplerConfig,
    interval: Interval,
    mut launch: HelperLaunch,
) -> Result<Source, ExitCode> {
    let waker: Waker = Arc::new(|| {});
    let source = if launch.remote.is_some() {
        Source::helper(launch, interval, waker, true)
    } else if crate::sys::has_cap(crate::sys::CAP_SYS_ADMIN) {
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
        if (SamplerConfig {
            low_overhead: None,
            ..config
        }) != helper_config
        {
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
