//! Machine-wide state tests share: locks across test processes, the
//! statistics sysctl, processes holding descriptors.

use std::ffi::CString;
use std::io;

/// Holds the machine's `kernel.bpf_stats_enabled` for one test: the tests
/// that set it run one at a time across test processes (an exclusive lock
/// on a file), start from `start`, and put the value back when dropped.
#[derive(Debug)]
pub struct SysctlForTest {
    _lock: std::fs::File,
    before: String,
}

/// An exclusive lock named `name` across every test process, held until
/// the file drops: for tests whose load on the machine (a million open
/// files, the sysctl) would change what another test measures.
pub fn machine_lock(name: &str) -> io::Result<std::fs::File> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join(format!("bpfscope-{name}.lock")))?;
    lock.lock()?;
    Ok(lock)
}

/// The sysctl, locked for this test and set to `start`.
pub fn sysctl_for_test(start: &str) -> io::Result<SysctlForTest> {
    let lock = machine_lock("sysctl-tests")?;
    let before = std::fs::read_to_string(SYSCTL)?;
    std::fs::write(SYSCTL, format!("{start}\n"))?;
    Ok(SysctlForTest {
        _lock: lock,
        before,
    })
}

/// `kernel.bpf_stats_enabled`, as the tests read it.
pub const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// The sysctl's value now, trimmed.
#[must_use]
pub fn sysctl_now() -> String {
    std::fs::read_to_string(SYSCTL)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

impl Drop for SysctlForTest {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.before);
    }
}

/// A `sleep` that holds open descriptors (a busy server's files, a process
/// holding a program), killed when dropped and with its parent.
#[derive(Debug)]
pub struct Holder(pub std::process::Child);

impl Holder {
    /// Starts `sleep` with `opens` opened (each once), `inherit` kept as
    /// descriptor 100, and `/dev/null` duplicated `dups` times: none
    /// close-on-exec, so `sleep` holds them all.
    pub fn start(
        opens: Vec<(std::ffi::CString, libc::c_int)>,
        inherit: Option<i32>,
        dups: u32,
    ) -> io::Result<Self> {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new("sleep");
        command
            .arg("infinity")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        let null = CString::new("/dev/null").map_err(io::Error::other)?;
        // SAFETY: the closure runs in the child between fork and exec and
        // calls only async-signal-safe functions (prctl, setrlimit, dup2,
        // open, dup), with no allocation: the paths were made before.
        unsafe {
            command.pre_exec(move || {
                // Die with the parent, however it ends.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                let limit = libc::rlimit {
                    rlim_cur: 20_000,
                    rlim_max: 20_000,
                };
                libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit);
                if let Some(fd) = inherit
                    && libc::dup2(fd, 100) < 0
                {
                    return Err(io::Error::last_os_error());
                }
                for (path, flags) in &opens {
                    if libc::open(path.as_ptr(), *flags) < 0 {
                        return Err(io::Error::last_os_error());
                    }
                }
                if dups > 0 {
                    let fd = libc::open(null.as_ptr(), libc::O_RDONLY);
                    if fd < 0 {
                        return Err(io::Error::last_os_error());
                    }
                    for _ in 1..dups {
                        if libc::dup(fd) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                }
                Ok(())
            });
        }
        command.spawn().map(Self)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
