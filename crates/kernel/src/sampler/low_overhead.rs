//! Low-overhead mode: statistics on for only part of each period.
//!
//! Turning statistics on needs CAP_SYS_ADMIN, which the sampler gives up
//! after start-up. So a tiny child process holds only that capability and
//! does nothing but its fixed schedule, read from its command line: each
//! period it keeps statistics off, then on for the last `on` of it, and
//! writes when they were on (two `CLOCK_BOOTTIME` nanosecond counts) to its
//! output. It reads no input. The sampler takes a sample after each window,
//! and rates are computed over the windows only.
//!
//! The child is the running binary started again with [`STATS_TOGGLER_ARG`]
//! first; both binaries hand that straight to [`stats_toggler_main`].

use std::io::{self, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};

use crate::sys;

/// The first argument that makes either binary the toggler.
pub const STATS_TOGGLER_ARG: &str = "--bpfscope-stats-toggler";

/// Low-overhead mode's schedule: statistics on for `on` of every `every`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowOverhead {
    pub on: Duration,
    pub every: Duration,
}

/// A low-overhead schedule out of range: the time on must be at least
/// 10 ms and shorter than the period, which is at most an hour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "statistics on {} ms of every {} ms: the time on must be at least 10 ms and shorter than \
     the period (at most an hour)",
    on.as_millis(),
    every.as_millis()
)]
pub struct LowOverheadError {
    pub on: Duration,
    pub every: Duration,
}

impl LowOverhead {
    /// `on` of every `every`, where 10 ms ≤ `on` < `every` ≤ 1 h.
    pub fn new(on: Duration, every: Duration) -> Result<Self, LowOverheadError> {
        if on < Duration::from_millis(10) || on >= every || every > Duration::from_secs(3_600) {
            return Err(LowOverheadError { on, every });
        }
        Ok(Self { on, every })
    }

    /// `percent` % of `every`, rounded to the millisecond.
    pub fn percent_of(percent: u32, every: Duration) -> Result<Self, LowOverheadError> {
        let on_ms = every.as_millis() * u128::from(percent) / 100;
        Self::new(
            Duration::from_millis(u64::try_from(on_ms).unwrap_or(u64::MAX)),
            every,
        )
    }
}

/// One window statistics were on, in `CLOCK_BOOTTIME` nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub on_ns: u64,
    pub off_ns: u64,
}

/// The running toggler and the windows it reports.
#[derive(Debug)]
pub struct StatsToggler {
    child: Child,
    /// Its output, until [`StatsToggler::windows`] hands it to a reader thread
    /// (started late: the helper gives up root before any thread runs).
    output: Option<ChildStdout>,
    windows: Option<Receiver<io::Result<Window>>>,
    schedule: LowOverhead,
}

impl StatsToggler {
    /// Starts the toggler (the caller must still hold CAP_SYS_ADMIN: the
    /// child gives up everything else itself).
    pub fn spawn(schedule: LowOverhead) -> io::Result<Self> {
        // This very binary, even if the file was replaced or removed since
        // (a package upgrade): not a path looked up again.
        let mut child = Command::new("/proc/self/exe")
            .arg(STATS_TOGGLER_ARG)
            .arg(schedule.on.as_millis().to_string())
            .arg(schedule.every.as_millis().to_string())
            // What pkexec and sudo leave: a toggler that sees them refuses
            // to run (see `stats_toggler_if_asked`), so neither can start
            // one directly.
            .env_remove("PKEXEC_UID")
            .env_remove("SUDO_UID")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let output = child.stdout.take();
        Ok(Self {
            child,
            output,
            windows: None,
            schedule,
        })
    }

    /// The windows as they end, read on a thread started at the first call;
    /// a read error or the end of the toggler's output is the last.
    pub fn windows(&mut self) -> io::Result<Receiver<io::Result<Window>>> {
        if let Some(output) = self.output.take() {
            let (tx, rx) = bounded(4);
            std::thread::Builder::new()
                .name("bpfscope-toggler".to_owned())
                .spawn(move || read_windows(output, &tx))?;
            self.windows = Some(rx);
        }
        self.windows
            .clone()
            .ok_or_else(|| io::Error::other("the toggler has no output"))
    }

    /// The schedule it follows.
    #[must_use]
    pub fn schedule(&self) -> LowOverhead {
        self.schedule
    }

    /// The toggler's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for StatsToggler {
    fn drop(&mut self) {
        // Statistics go off with its descriptor when it dies. Where it
        // cannot be killed (never expected), closing its output ends it at
        // its next write; it is not waited for then.
        drop(self.output.take());
        drop(self.windows.take());
        if self.child.kill().is_ok() {
            let _ = self.child.wait();
        }
    }
}

fn read_windows(mut out: ChildStdout, tx: &crossbeam_channel::Sender<io::Result<Window>>) {
    let mut rec = [0u8; 16];
    loop {
        let window = match out.read_exact(&mut rec) {
            Ok(()) => {
                let (on, off) = rec.split_at(8);
                let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
                Ok(Window {
                    on_ns: word(on),
                    off_ns: word(off),
                })
            }
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                let _ = tx.send(Err(io::Error::other("the statistics toggler stopped")));
                return;
            }
            Err(err) => Err(err),
        };
        let failed = window.is_err();
        if tx.send(window).is_err() || failed {
            return;
        }
    }
}

/// Low-overhead mode's statistics toggler, when this process is one (this
/// binary started again by a sampler with [`STATS_TOGGLER_ARG`] first): its exit
/// code, for `main` to return at once.
#[must_use]
pub fn stats_toggler_if_asked() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_none_or(|a| a != STATS_TOGGLER_ARG) {
        return None;
    }
    // Only a sampler starts a toggler, and it clears these: pkexec (the
    // polkit action runs this binary with any arguments) or sudo (the
    // remote sampler's rule) starting one directly would leave a process
    // holding CAP_SYS_ADMIN and statistics on that no sampler watches.
    if std::env::var_os("PKEXEC_UID").is_some() || std::env::var_os("SUDO_UID").is_some() {
        eprintln!(
            "bpfscope statistics toggler: started through pkexec or sudo; only a sampler in \
             low-overhead mode starts it (bpfscope-sampler --stats-on-ms N)"
        );
        return Some(ExitCode::from(2));
    }
    let rest: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    Some(stats_toggler_main(&rest))
}

/// The toggler's whole life: `args` are what followed [`STATS_TOGGLER_ARG`].
/// Gives up every capability but CAP_SYS_ADMIN (and root, where the
/// `bpfscope` user exists), then keeps statistics on for the last `on`
/// milliseconds of every `every`, writing each window, until its output
/// closes or its parent dies.
#[must_use]
pub fn stats_toggler_main(args: &[String]) -> ExitCode {
    let schedule = match args {
        [on, every] => match (on.parse::<u64>(), every.parse::<u64>()) {
            (Ok(on), Ok(every)) => {
                LowOverhead::new(Duration::from_millis(on), Duration::from_millis(every))
                    .map_err(|err| err.to_string())
            }
            _ => Err("the schedule is two whole numbers of milliseconds".to_owned()),
        },
        _ => Err("usage: ON_MS EVERY_MS".to_owned()),
    };
    let schedule = match schedule {
        Ok(schedule) => schedule,
        Err(why) => {
            eprintln!("bpfscope statistics toggler: {why}");
            return ExitCode::from(2);
        }
    };
    // A terminal's Ctrl-C (or `timeout`) signals the whole process group:
    // the sampler stops this process itself (SIGKILL), and it ends within
    // 100 ms of its parent anyway, so it must not die first and make the
    // sampler report a stopped toggler.
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGTSTP] {
        // SAFETY: setting a signal's disposition to SIG_IGN, before any
        // other thread exists; no handler code runs.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    // Named for what it is (started as /proc/self/exe, it would be "exe").
    // SAFETY: prctl with a NUL-terminated name of at most 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, c"bpfscope-toggle".as_ptr(), 0, 0, 0) };
    if let Err(err) = keep_only_sys_admin() {
        eprintln!("bpfscope statistics toggler: cannot give up privileges: {err}");
        return ExitCode::FAILURE;
    }
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let orphaned = || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() != parent }
    };
    let mut out = io::stdout().lock();
    let start = Instant::now();
    let off_for = schedule.every.saturating_sub(schedule.on);
    let mut k = 0u32;
    loop {
        // A cycle missed (the machine stalled) is skipped, not made up for
        // with a burst of short windows.
        let behind = start.elapsed().as_nanos() / schedule.every.as_nanos().max(1);
        k = k.max(u32::try_from(behind).unwrap_or(u32::MAX));
        let times = start
            .checked_add(schedule.every.saturating_mul(k))
            .and_then(|cycle| {
                Some((
                    cycle.checked_add(off_for)?,
                    cycle.checked_add(schedule.every)?,
                ))
            });
        let Some((on_at, off_at)) = times else {
            return ExitCode::SUCCESS;
        };
        if !sleep_until(on_at, &orphaned) {
            return ExitCode::SUCCESS;
        }
        let on = match super::stats::enable_stats_fd() {
            Ok(fd) => fd,
            Err(err) => {
                eprintln!("bpfscope statistics toggler: cannot turn statistics on: {err}");
                return ExitCode::FAILURE;
            }
        };
        let on_ns = sys::boottime_ns();
        let kept = sleep_until(off_at, &orphaned);
        drop(on);
        let off_ns = sys::boottime_ns();
        let mut rec = [0u8; 16];
        rec[..8].copy_from_slice(&on_ns.to_ne_bytes());
        rec[8..].copy_from_slice(&off_ns.to_ne_bytes());
        if !kept || out.write_all(&rec).and_then(|()| out.flush()).is_err() {
            return ExitCode::SUCCESS;
        }
        k = k.saturating_add(1);
    }
}

/// Starts the toggler for `schedule` where low-overhead mode can work, else
/// says why not in `notices`.
pub fn start(
    schedule: Option<LowOverhead>,
    accounting: &crate::model::AccountingCost,
    stats_mode: crate::model::StatsMode,
    notices: &mut Vec<String>,
) -> Option<StatsToggler> {
    let schedule = schedule?;
    let why_not = if *accounting == crate::model::AccountingCost::AlreadyOn {
        "statistics were already on (another tool holds them), so runs are counted all the time \
         anyway"
            .to_owned()
    } else if stats_mode == crate::model::StatsMode::Sysctl {
        "it needs BPF_ENABLE_STATS (Linux 5.8 or later)".to_owned()
    } else {
        match StatsToggler::spawn(schedule) {
            Ok(toggler) => return Some(toggler),
            Err(err) => format!("its statistics toggler did not start ({err})"),
        }
    };
    notices.push(format!("low-overhead mode is off: {why_not}"));
    None
}

/// Sleeps until `deadline`, looking at the parent every 100 ms; `false`
/// when it died.
fn sleep_until(deadline: Instant, orphaned: &dyn Fn() -> bool) -> bool {
    loop {
        if orphaned() {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// Becomes the `bpfscope` user where it exists (else stays root) with only
/// CAP_SYS_ADMIN, permitted and effective, and `no_new_privs`.
fn keep_only_sys_admin() -> io::Result<()> {
    use caps::Capability::CAP_SYS_ADMIN;
    match crate::privilege::Account::for_helper() {
        Some(account) => {
            crate::privilege::become_user(&account, &[CAP_SYS_ADMIN])?;
            crate::privilege::make_effective(&[CAP_SYS_ADMIN])
        }
        None => crate::privilege::keep_only(&[CAP_SYS_ADMIN]),
    }
}
