//! Turning the kernel's per-program run-time accounting on, and off again.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Once;

use super::SamplerError;
use crate::model::StatsMode;

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
        // The fd (if any) closes by itself; the sysctl is given back (and
        // restored when no other guard or instance holds it on).
        if self.fd.is_none() {
            super::sysctl::release();
        }
    }
}

pub(super) fn enable_stats_fd() -> io::Result<OwnedFd> {
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
    super::sysctl::enable()?;
    PANIC_HOOK.call_once(|| {
        let next = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // A panic on the thread that owns a guard unwinds it, and its
            // drop gives the sysctl back. Only a panic of the main thread
            // ends the process without running other threads' drops.
            if std::thread::current().name() == Some("main") {
                restore_sysctl_now();
            }
            next(info);
        }));
    });
    Ok(())
}

/// Gives the sysctl fallback back for this whole process now: the value is
/// restored unless another bpfscope still holds it on. Idempotent; does
/// nothing unless the fallback is active. Called by the signal paths of the
/// binaries and the panic hook.
pub fn restore_sysctl_now() {
    super::sysctl::release_all();
}
