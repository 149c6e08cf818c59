//! `bpfscope record -o FILE`: a session to a file, headless, for a server
//! or a CI job.

use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::export::terminal_safe;
use crate::model::Interval;
use crate::record::{Recorder, host_name};
use crate::sampler::SamplerConfig;
use crate::source::HelperLaunch;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The recording to write (`.bpfscope` by custom); an existing file is
    /// kept unless --force.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seconds between samples, 0.1 to 3600.
    #[arg(long, value_name = "SECS", default_value = "1")]
    pub interval: Interval,
    /// Stop after this long (`90s`, `10m`, `24h`).
    #[arg(long, value_name = "D", value_parser = humantime::parse_duration, conflicts_with = "count")]
    pub duration: Option<Duration>,
    /// Stop after this many samples.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    #[command(flatten)]
    pub remote: super::RemoteArgs,
}

/// Records until SIGINT/SIGTERM, `--duration` or `--count`; the file is
/// whole at every exit. Exit code 2 when the privilege is missing or the
/// file cannot be written.
#[must_use]
pub fn record_command(args: &RecordArgs, mut launch: HelperLaunch) -> ExitCode {
    let shown = terminal_safe(&args.output.display().to_string()).into_owned();
    launch.remote = match super::remote_or_exit(&args.remote) {
        Ok(remote) => remote,
        Err(code) => return code,
    };
    let host = launch
        .remote
        .as_ref()
        .map_or_else(host_name, |remote| remote.host().to_owned());
    let stop = match crate::sys::stop_on_signals() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("bpfscope: cannot handle SIGINT/SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };
    let (file, mut pending) = match pending_file(args, &shown) {
        Ok((file, path)) => (file, Some(path)),
        Err(code) => return code,
    };
    let config = SamplerConfig {
        owners: true,
        facts: true,
        ..SamplerConfig::default()
    };
    let mut source = match crate::cli::start_source(config, args.interval, launch) {
        Ok(source) => source,
        Err(code) => return code,
    };
    let mut recorder = Recorder::new(BufWriter::new(file), host);
    let deadline = args.duration.map(|d| Instant::now() + d);
    let code = loop {
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
            break ExitCode::SUCCESS;
        }
        let Some(event) = source.recv_timeout(Duration::from_millis(100)) else {
            if let Some(problem) = source.problem() {
                eprintln!("bpfscope: {}", terminal_safe(problem));
                break if recorder.samples == 0 {
                    ExitCode::from(2)
                } else {
                    ExitCode::FAILURE
                };
            }
            if let Err(err) = recorder.tick() {
                break written_wrong(&shown, &err);
            }
            continue;
        };
        crate::export::report_on_stderr(&event);
        if let Err(err) = recorder.record(event) {
            break written_wrong(&shown, &err);
        }
        if recorder.written > 0
            && let Some(path) = pending.take()
            && let Err(code) = name_it(path, args, &shown)
        {
            // Nothing of it is kept: say no more than why.
            drop(source);
            return code;
        }
        if args.count.is_some_and(|count| recorder.samples >= count) {
            break ExitCode::SUCCESS;
        }
    };
    // Statistics off first, then the last block.
    drop(source);
    if let Some(path) = pending {
        // Not even the source's Hello came: FILE is left as it was.
        drop(path);
        eprintln!("bpfscope: nothing was recorded, so {shown} was not written");
        return if code == ExitCode::SUCCESS {
            ExitCode::from(2)
        } else {
            code
        };
    }
    match recorder.finish() {
        Ok(()) => {
            eprintln!(
                "bpfscope: recorded {} samples in {shown} ({} KiB)",
                recorder.samples,
                recorder.written.div_ceil(1024)
            );
            code
        }
        Err(err) => written_wrong(&shown, &err),
    }
}

/// The file the recording is written to, under a temporary name beside
/// FILE that becomes FILE when the first frame is in it ([`name_it`]): a
/// recording that gets nothing (a host that cannot be reached) leaves FILE
/// as it was, and never an empty file.
fn pending_file(
    args: &RecordArgs,
    shown: &str,
) -> Result<(std::fs::File, tempfile::TempPath), ExitCode> {
    match std::fs::symlink_metadata(&args.output) {
        Ok(_) if !args.force => {
            eprintln!("bpfscope: {shown} exists; give --force to replace it, or another -o FILE");
            return Err(ExitCode::from(2));
        }
        // A device, a pipe, a link, a directory: never replaced by a file.
        Ok(meta) if !meta.is_file() => {
            eprintln!("bpfscope: {shown} is not a regular file, so it is not replaced");
            return Err(ExitCode::from(2));
        }
        _ => {}
    }
    let dir = match args.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    // Readable as any file this user creates (the umask applies), not
    // only by its owner: `sudo bpfscope record` is replayed by the user.
    tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .prefix(".bpfscope-recording-")
        .tempfile_in(dir)
        .map(tempfile::NamedTempFile::into_parts)
        .map_err(|err| {
            eprintln!("bpfscope: cannot write {shown}: {err}");
            ExitCode::from(2)
        })
}

/// Gives the recording its name: FILE (replaced only with --force).
fn name_it(path: tempfile::TempPath, args: &RecordArgs, shown: &str) -> Result<(), ExitCode> {
    let named = if args.force {
        path.persist(&args.output)
    } else {
        path.persist_noclobber(&args.output)
    };
    named.map_err(|err| {
        eprintln!("bpfscope: cannot write {shown}: {}", err.error);
        ExitCode::from(2)
    })
}

fn written_wrong(shown: &str, err: &io::Error) -> ExitCode {
    eprintln!(
        "bpfscope: cannot write {shown}: {err}; what was written before loads up to its last \
         whole block"
    );
    ExitCode::from(2)
}
