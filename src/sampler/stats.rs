//! Turning the kernel's per-program run-time accounting on, and off again.

use std::fs;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::{Mutex, Once, PoisonError};

use super::SamplerError;
use crate::model::StatsMode;

const SYSCTL_PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// The sysctl value to put back, while the fallback is active. A process-wide
/// record so that the panic hook and signal paths can restore it even when
/// the guard's owner cannot run its destructor.
static SYSCTL_PREVIOUS: Mutex<Option<String>> = Mutex::new(None);
static PANIC_HOOK: Once = Once::new();

/// Which way to turn statistics on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StatsRequest {
    /// `BPF_ENABLE_STATS`, or the sysctl where the kernel lacks it.
    #[default]
    Auto,
    /// Only `BPF_ENABLE_STATS`.
    Syscall,
    /// Only the sysctl (for kernels where the syscall misbehaves, and to test
    /// the fallback on any kernel).
    Sysctl,
}

/// Keeps run-time statistics on for as long as it lives.
#[derive(Debug)]
pub struct StatsGuard {
    fd: Option<OwnedFd>,
}

impl StatsGuard {
    /// Turns statistics on.
    pub fn enable(request: StatsRequest) -> Result<Self, SamplerError> {
        if request != StatsRequest::Sysctl {
            match enable_stats_fd() {
                Ok(fd) => return Ok(Self { fd: Some(fd) }),
                Err(err) if super::is_permission(&err) => return Err(SamplerError::NoPrivilege),
                Err(err)
                    if request == StatsRequest::Auto
                        && err.raw_os_error() == Some(libc::EINVAL) =>
                {
                    tracing::info!("BPF_ENABLE_STATS unsupported ({err}); using the sysctl");
                }
                Err(err) => return Err(SamplerError::Stats(err)),
            }
        }
        enable_sysctl().map_err(|err| {
            if super::is_permission(&err) {
                SamplerError::NoPrivilege
            } else {
                SamplerError::Stats(err)
            }
        })?;
        Ok(Self { fd: None })
    }

    /// How statistics are on.
    #[must_use]
    pub fn mode(&self) -> StatsMode {
        if self.fd.is_some() {
            StatsMode::Syscall
        } else {
            StatsMode::Sysctl
        }
    }
}

impl Drop for StatsGuard {
    fn drop(&mut self) {
        // The fd (if any) closes by itself; the sysctl must be put back.
        if self.fd.is_none() {
            restore_sysctl_now();
        }
    }
}

fn enable_stats_fd() -> io::Result<OwnedFd> {
    // SAFETY: bpf_enable_stats takes a plain enum and returns a new fd or a
    // negative errno; it touches no memory of ours.
    let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(-fd));
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn enable_sysctl() -> io::Result<()> {
    let mut previous = SYSCTL_PREVIOUS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let current = fs::read_to_string(SYSCTL_PATH)?;
    fs::write(SYSCTL_PATH, "1\n")?;
    // Keep the oldest value if a second guard is made while one is active.
    previous.get_or_insert_with(|| current.trim().to_owned());
    drop(previous);
    PANIC_HOOK.call_once(|| {
        let next = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_sysctl_now();
            next(info);
        }));
    });
    Ok(())
}

/// Puts `kernel.bpf_stats_enabled` back to the value it had before bpfscope
/// turned it on. Idempotent; does nothing unless the sysctl fallback is
/// active. Called by the guard's destructor, the panic hook and the signal
/// paths of the binaries.
pub fn restore_sysctl_now() {
    let mut previous = SYSCTL_PREVIOUS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(value) = previous.take() {
        if let Err(err) = fs::write(SYSCTL_PATH, format!("{value}\n")) {
            eprintln!("bpfscope: could not restore {SYSCTL_PATH} to {value}: {err}");
        }
    }
}
