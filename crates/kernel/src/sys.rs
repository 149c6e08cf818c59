//! The few operating-system facts bpfscope needs, behind safe functions.

use std::ffi::CStr;

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

/// What turning statistics on and reading every program needs.
pub const CAP_SYS_ADMIN: caps::Capability = caps::Capability::CAP_SYS_ADMIN;
/// `CAP_PERFMON`'s bit.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`'s bit.
pub const CAP_BPF: u32 = 39;

/// The CPU time the calling thread has used (user and system: a BPF
/// iterator's walk runs in the reading thread's system time), or `None`
/// where the clock is missing.
#[must_use]
pub fn thread_cpu_time() -> Option<Duration> {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .ok()
        .map(Duration::from)
}

/// `CLOCK_BOOTTIME` in nanoseconds: monotonic, counts suspend, and is the
/// clock the kernel stamps program load times with.
#[must_use]
pub fn boottime_ns() -> u64 {
    let mut ts = MaybeUninit::<libc::timespec>::zeroed();
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_BOOTTIME exists on
    // every kernel bpfscope supports (2.6.39+), so the call cannot fail.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, ts.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    // SAFETY: clock_gettime returned 0, so it filled `ts`.
    let ts = unsafe { ts.assume_init() };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Number of CPUs currently online (at least 1).
#[must_use]
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
}

/// The running kernel's release string (`uname -r`).
#[must_use]
pub fn kernel_release() -> String {
    let mut uts = MaybeUninit::<libc::utsname>::zeroed();
    // SAFETY: `uts` is a valid, writable utsname.
    if unsafe { libc::uname(uts.as_mut_ptr()) } != 0 {
        return String::from("unknown");
    }
    // SAFETY: uname returned 0 and filled `uts`; `release` is NUL-terminated.
    let uts = unsafe { uts.assume_init() };
    // SAFETY: the kernel NUL-terminates every utsname field.
    let release = unsafe { CStr::from_ptr(uts.release.as_ptr()) };
    release.to_string_lossy().into_owned()
}

/// Whether this process (its calling thread) has `cap` in its effective
/// set.
#[must_use]
pub fn has_cap(cap: caps::Capability) -> bool {
    caps::has_cap(None, caps::CapSet::Effective, cap).unwrap_or(false)
}

/// The signals whose default action ends the process and that bpfscope
/// turns into a clean exit (statistics off, the sysctl fallback restored):
/// a closed terminal (HUP), Ctrl-C, Ctrl-\\, `kill`, and the CPU and file
/// size limits. SIGPIPE is ignored by Rust programs: a closed pipe is a
/// write error, which ends them cleanly too.
pub const ENDING_SIGNALS: [i32; 6] = [
    signal_hook::consts::SIGHUP,
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGQUIT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGXCPU,
    signal_hook::consts::SIGXFSZ,
];

/// A flag that the [`ENDING_SIGNALS`] set, for loops that stop cleanly
/// (turning statistics off) instead of dying mid-way.
pub fn stop_on_signals() -> io::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for signal in ENDING_SIGNALS {
        signal_hook::flag::register(signal, std::sync::Arc::clone(&stop))?;
    }
    Ok(stop)
}

/// Sends `tracing` events to the systemd journal when this process runs
/// under systemd's journal (its stderr is the journal, or it has no
/// terminal and the journal socket exists), otherwise to stderr. Warnings
/// and errors only: bpfscope talks to users through its window and exit
/// messages, not logs.
pub fn init_logging(program: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = tracing_subscriber::filter::LevelFilter::WARN;
    let to_journal = std::env::var_os("JOURNAL_STREAM").is_some()
        || (!std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::path::Path::new("/run/systemd/journal/socket").exists());
    if to_journal && let Ok(journal) = tracing_journald::layer() {
        let journal = journal.with_syslog_identifier(program.to_owned());
        let _ = tracing_subscriber::registry()
            .with(journal)
            .with(filter)
            .try_init();
        return;
    }
    // Colours only on a terminal, and never with NO_COLOR set.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(ansi)
        .with_max_level(tracing::Level::WARN)
        .with_target(false)
        .try_init();
}

/// The cgroup (v2) path of process `pid`, e.g. `/system.slice/foo.service`;
/// or why it is unknown.
#[must_use]
pub fn cgroup_of(pid: u32) -> String {
    match std::fs::read_to_string(format!("/proc/{pid}/cgroup")) {
        Ok(text) => text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map_or_else(|| "(no cgroup v2)".to_owned(), str::to_owned),
        Err(_) => "(process gone)".to_owned(),
    }
}

/// Where cgroup v2 is mounted: `/sys/fs/cgroup` on unified systems,
/// `/sys/fs/cgroup/unified` on hybrid ones; `None` without cgroup v2.
#[must_use]
pub fn cgroup2_root() -> Option<std::path::PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_source, target, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        // Mount points with spaces are octal-escaped (`\040`); cgroup
        // roots have none.
        (fstype == "cgroup2").then(|| std::path::PathBuf::from(target))
    })
}

/// An owner's command line from `/proc`, NUL-separated arguments joined by
/// spaces; or why it cannot be read.
#[must_use]
pub fn read_cmdline(pid: u32) -> String {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(bytes) if bytes.is_empty() => "(no command line: a kernel thread or a zombie)".into(),
        Ok(bytes) => {
            let args: Vec<String> = bytes
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.join(" ")
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => "(process has exited)".into(),
        Err(err) => format!("(cannot read its command line: {err})"),
    }
}

/// The user name of `uid`, from the system's user database (NSS: local
/// files, LDAP, systemd-homed …).
#[must_use]
pub fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boottime_moves_forward() {
        let a = boottime_ns();
        let b = boottime_ns();
        assert!(a > 0 && b >= a);
    }

    #[test]
    fn facts_are_plausible() {
        assert!(online_cpus() >= 1);
        assert!(!kernel_release().is_empty());
        assert_eq!(user_name(0).as_deref(), Some("root"));
        // SAFETY: geteuid cannot fail and touches no memory.
        let root = unsafe { libc::geteuid() } == 0;
        assert_eq!(has_cap(CAP_SYS_ADMIN), root, "root has CAP_SYS_ADMIN here");
    }
}
