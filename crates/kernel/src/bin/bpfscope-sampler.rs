//! `bpfscope-sampler`: the small privileged helper.
//!
//! It is what polkit runs as root for the window, so it accepts nothing but
//! its range-checked command line, and writes protocol frames (see
//! `bpfscope_wire::protocol`) to standard output: a `Hello`, then one `Sample` per
//! period, `Error` frames for trouble it survives. `--format text` prints the
//! same for a person instead. Once started it runs as the unprivileged
//! `bpfscope` user (see `bpfscope_kernel::privilege`). It exits, turning statistics
//! off, when its output closes, when its parent dies, or on a signal that
//! ends a process.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bpfscope_kernel::sampler::{self, Sampler, SamplerConfig};
use bpfscope_kernel::sys;
use bpfscope_wire::model::rfc3339;
use bpfscope_wire::model::{Interval, SourceEvent};
use bpfscope_wire::protocol::{Frame, MAX_FRAME_BYTES, ProtocolError, encode_sample, write_frame};
use bpfscope_wire::terminal::terminal_safe;
use clap::{Parser, ValueEnum};
use crossbeam_channel::RecvTimeoutError;

/// Samples every loaded BPF program's statistics and writes them to standard
/// output for bpfscope's window. Needs root (CAP_SYS_ADMIN) to start;
/// runs unprivileged after start-up.
#[derive(Debug, Parser)]
#[command(name = "bpfscope-sampler", version, about)]
struct Args {
    /// Milliseconds between samples, 100 to 3,600,000.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    interval_ms: u64,
    /// Low-overhead mode: statistics on for only this many milliseconds at
    /// the end of each interval (10 to the interval, exclusive); rates are
    /// over the time they were on.
    #[arg(long = "stats-on-ms", value_name = "N")]
    low_overhead_on_ms: Option<u64>,
    /// Take one sample, write it and exit.
    #[arg(long)]
    once: bool,
    /// `frames` for bpfscope, `text` for reading by hand.
    #[arg(long, value_enum, default_value_t = Format::Frames)]
    format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Frames,
    Text,
}

fn main() -> ExitCode {
    if let Some(code) = bpfscope_kernel::sampler::low_overhead::stats_toggler_if_asked() {
        return code;
    }
    let args = Args::parse();
    sys::init_logging("bpfscope-sampler");
    // Die with the parent *process*. PR_SET_PDEATHSIG is not used: it
    // fires when the parent *thread* exits (a window that starts the helper
    // from a short-lived thread would lose it at once), the kernel allows
    // or refuses it by the credentials of whoever exits, and changing uid
    // clears it. What works in every case is the loop below: it compares
    // getppid() (the parent process) with the one seen now, every 100 ms, so
    // a parent that dies is noticed whoever adopts the helper (init or a
    // subreaper such as `systemd --user`), and a closed output pipe ends it
    // as well.
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    if parent == 1 {
        // The parent died before this process looked.
        return ExitCode::SUCCESS;
    }
    let stop = match bpfscope_kernel::sys::stop_on_signals() {
        Ok(stop) => stop,
        Err(err) => {
            eprintln!("bpfscope-sampler: cannot handle SIGINT/SIGTERM: {err}");
            return ExitCode::FAILURE;
        }
    };

    let interval = match Interval::new(Duration::from_millis(args.interval_ms)) {
        Ok(interval) => interval,
        Err(err) => {
            eprintln!("bpfscope-sampler: {err}");
            return ExitCode::from(2);
        }
    };
    let low_overhead = match args.low_overhead_on_ms.map(|on| {
        sampler::low_overhead::LowOverhead::new(Duration::from_millis(on), interval.duration())
    }) {
        None => None,
        Some(Ok(schedule)) => Some(schedule),
        Some(Err(why)) => {
            eprintln!("bpfscope-sampler: --stats-on-ms: {why}");
            return ExitCode::from(2);
        }
    };
    let config = SamplerConfig {
        owners: true,
        facts: true,
        low_overhead,
        ..SamplerConfig::default()
    };
    let mut sampler = match Sampler::new(config) {
        Ok(sampler) => sampler,
        Err(err) => {
            eprintln!("bpfscope-sampler: {err}");
            return ExitCode::from(if err.is_privilege() { 2 } else { 1 });
        }
    };
    // Least privilege: statistics are on and the iterators are loaded, so
    // become an unprivileged user with only what reading them needs. Before
    // the sampling thread starts: capabilities are per thread and it
    // inherits these.
    match sampler::drop_to_least_privilege(&mut sampler, "the sampler") {
        Ok(kept) => sampler.add_notice(kept),
        Err(err) => {
            eprintln!("bpfscope-sampler: cannot give up privileges: {err}");
            return ExitCode::FAILURE;
        }
    }
    let (tx, rx) = crossbeam_channel::bounded(4);
    let thread = match sampler::spawn(sampler, interval, tx) {
        Ok(thread) => thread,
        Err(err) => {
            eprintln!("bpfscope-sampler: cannot start sampling: {err}");
            return ExitCode::FAILURE;
        }
    };

    let mut out = BufWriter::new(io::stdout().lock());
    let code = loop {
        // SAFETY: getppid has no preconditions.
        let orphaned = unsafe { libc::getppid() } != parent;
        if stop.load(Ordering::Relaxed) || orphaned || output_closed() {
            break ExitCode::SUCCESS;
        }
        let event = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                eprintln!("bpfscope-sampler: the sampling thread stopped");
                break ExitCode::FAILURE;
            }
        };
        let last = args.once && matches!(event, SourceEvent::Sample(_));
        let written = match args.format {
            Format::Frames => write_frames(&mut out, event),
            Format::Text => write_text(&mut out, &event).map_err(ProtocolError::Io),
        };
        match written {
            Ok(()) => {}
            // The reader is gone: that is how the window says "stop".
            Err(ProtocolError::Io(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
                break ExitCode::SUCCESS;
            }
            Err(err) => {
                eprintln!("bpfscope-sampler: {err}");
                break ExitCode::FAILURE;
            }
        }
        if last {
            break ExitCode::SUCCESS;
        }
    };
    // Statistics are turned off when the sampler (and its guard) drops.
    thread.stop();
    code
}

/// Writes `event` as frames: a sample too large for one frame (the first
/// on a host with very many programs, with every program's facts) goes as
/// its facts first, then the sample.
fn write_frames(out: &mut impl Write, event: SourceEvent) -> Result<(), ProtocolError> {
    let SourceEvent::Sample(sample) = event else {
        return write_frame(out, &Frame::from(event));
    };
    for bytes in encode_sample(sample, MAX_FRAME_BYTES)? {
        out.write_all(&bytes)?;
        out.flush()?;
    }
    Ok(())
}

/// Whether nobody reads standard output any more. A pipe's write end polls
/// as POLLERR once its read end is closed, so the helper stops within one
/// check instead of at its next sample (which may be an hour away).
fn output_closed() -> bool {
    let mut pfd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout does not block.
    let ready = unsafe { libc::poll(&raw mut pfd, 1, 0) };
    ready > 0 && pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

fn write_text(out: &mut impl Write, event: &SourceEvent) -> io::Result<()> {
    match event {
        SourceEvent::Hello(info) => {
            writeln!(
                out,
                "bpfscope-sampler: kernel {}, {} CPUs, statistics via {}, programs via {}, owners {}",
                info.kernel_release,
                info.online_cpus,
                info.stats_mode,
                info.enumeration,
                if info.owners_available { "on" } else { "off" }
            )?;
            for notice in &info.notices {
                writeln!(out, "note: {notice}")?;
            }
        }
        SourceEvent::Sample(sample) => {
            writeln!(
                out,
                "{}  {} programs",
                rfc3339(sample.taken_at),
                sample.programs.len()
            )?;
            for p in &sample.programs {
                writeln!(
                    out,
                    "  {:>6} {:<16} {:<16} run_cnt {:>14} run_time_ns {:>16} owners {}",
                    p.id,
                    p.type_name(),
                    terminal_safe(p.name.as_str()),
                    p.run_cnt,
                    p.run_time_ns,
                    terminal_safe(&p.owners_joined())
                )?;
            }
        }
        SourceEvent::Facts(facts) => writeln!(out, "  facts of {} programs", facts.len())?,
        SourceEvent::Warning(message) => writeln!(out, "warning: {}", terminal_safe(message))?,
        SourceEvent::Error(message) => writeln!(out, "error: {}", terminal_safe(message))?,
    }
    out.flush()
}
