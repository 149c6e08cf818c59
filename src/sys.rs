//! The few operating-system facts bpfscope needs, behind safe functions.

use std::ffi::CStr;
use std::fs;
use std::io;
use std::mem::MaybeUninit;

/// `CAP_SYS_ADMIN`'s bit in the capability sets.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_PERFMON`'s bit.
pub const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`'s bit.
pub const CAP_BPF: u32 = 39;

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
    std::thread::available_parallelism()
        .ok()
        .and_then(|_| {
            // SAFETY: sysconf has no memory-safety preconditions.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            usize::try_from(n).ok()
        })
        .filter(|&n| n > 0)
        .unwrap_or(1)
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

/// The effective capability set of this process, from `/proc/self/status`.
pub fn effective_caps() -> io::Result<u64> {
    caps_of("/proc/self/status", "CapEff:")
}

/// A capability set of any process, from its `status` file.
pub fn caps_of(status_path: &str, field: &str) -> io::Result<u64> {
    let status = fs::read_to_string(status_path)?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("no {field} line")))
}

/// Whether this process has `cap` in its effective set.
#[must_use]
pub fn has_cap(cap: u32) -> bool {
    effective_caps().is_ok_and(|caps| caps & (1 << cap) != 0)
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
        assert!(effective_caps().is_ok());
    }
}
