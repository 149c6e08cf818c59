//! The helper's least privilege: after start-up it becomes an unprivileged
//! user and keeps only the capabilities reading its iterators needs on the
//! kernel in use (often none), with `no_new_privs` set.
//!
//! Capability sets are changed with the `caps` crate; user and group ids
//! with `setresgid`/`setresuid`, which glibc applies to every thread.

use std::collections::HashSet;
use std::io;

use caps::{CapSet, Capability};

/// The system user the package creates for the helper. There is no
/// fallback to `nobody`: other processes run as it, and a process of the
/// same uid may stop the helper (leaving statistics on), kill it or lower
/// its limits; without its own user the helper stays root with only the
/// capabilities it needs.
pub const HELPER_USER: &str = "bpfscope";

/// An account to run as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

impl Account {
    /// The account named `name` in the system's user database.
    #[must_use]
    pub fn lookup(name: &str) -> Option<Self> {
        let user = nix::unistd::User::from_name(name).ok().flatten()?;
        let (uid, gid) = (user.uid.as_raw(), user.gid.as_raw());
        if uid == 0 || gid == 0 {
            return None;
        }
        Some(Self {
            name: name.to_owned(),
            uid,
            gid,
        })
    }

    /// The helper's account, [`HELPER_USER`], where it exists.
    #[must_use]
    pub fn for_helper() -> Option<Self> {
        Self::lookup(HELPER_USER)
    }
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(to_io)`
fn to_io(err: caps::errors::CapsError) -> io::Error {
    io::Error::other(err.to_string())
}

/// Removes every capability but `keep` from the bounding set (needs
/// CAP_SETPCAP effective) and clears the ambient and inheritable sets.
fn only_in_bounding(keep: &HashSet<Capability>) -> io::Result<()> {
    for cap in caps::runtime::thread_all_supported() {
        if !keep.contains(&cap) {
            caps::drop(None, CapSet::Bounding, cap).map_err(to_io)?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(to_io)?;
    caps::clear(None, CapSet::Inheritable).map_err(to_io)
}

fn set_of(caps: &[Capability]) -> HashSet<Capability> {
    caps.iter().copied().collect()
}

/// Becomes `account` (its uid and gid, no supplementary groups), keeping
/// `keep` permitted but none effective; every other capability leaves every
/// set, the bounding set included, so nothing can regain it. Sets
/// `no_new_privs` and makes the process not dumpable (its memory and
/// `/proc` files stay root's, so the account's other processes cannot
/// inspect it). Call it before any thread starts: capability sets are per
/// thread.
pub fn become_user(account: &Account, keep: &[Capability]) -> io::Result<()> {
    // Capabilities are per thread: another thread would keep root's.
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::other(format!(
            "{threads} threads run; the privilege drop needs exactly one"
        )));
    }
    let keep_set = set_of(keep);
    // The bounding set first, while CAP_SETPCAP is still effective.
    only_in_bounding(&keep_set)?;
    // Keep the permitted set across the change of uid.
    caps::securebits::set_keepcaps(true).map_err(to_io)?;
    // SAFETY: setgroups with an empty list (a null pointer and length 0).
    if unsafe { libc::setgroups(0, std::ptr::null()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresgid(account.gid, account.gid, account.gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: plain integer arguments.
    if unsafe { libc::setresuid(account.uid, account.uid, account.uid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    caps::securebits::set_keepcaps(false).map_err(to_io)?;
    caps::clear(None, CapSet::Effective).map_err(to_io)?;
    caps::set(None, CapSet::Permitted, &keep_set).map_err(to_io)?;
    // SAFETY: prctl with plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: prctl with plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Check, rather than trust, that every id changed.
    let (mut r, mut e, mut saved) = (0, 0, 0);
    // SAFETY: three valid out-pointers.
    let ok = unsafe { libc::getresuid(&raw mut r, &raw mut e, &raw mut saved) } == 0;
    if !ok || [r, e, saved] != [account.uid; 3] {
        return Err(io::Error::other("the uid did not change everywhere"));
    }
    // SAFETY: three valid out-pointers.
    let ok = unsafe { libc::getresgid(&raw mut r, &raw mut e, &raw mut saved) } == 0;
    if !ok || [r, e, saved] != [account.gid; 3] {
        return Err(io::Error::other("the gid did not change everywhere"));
    }
    Ok(())
}

/// Keeps only `keep` (bit numbers) in every capability set of a process
/// that stays root, and sets `no_new_privs`: for a helper that still needs
/// CAP_SYS_ADMIN.
pub fn keep_only(keep: &[Capability]) -> io::Result<()> {
    let keep_set = set_of(keep);
    only_in_bounding(&keep_set)?;
    caps::set(None, CapSet::Effective, &keep_set).map_err(to_io)?;
    caps::set(None, CapSet::Permitted, &keep_set).map_err(to_io)?;
    // SAFETY: prctl with plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes exactly `caps` effective (each must be permitted).
pub fn make_effective(caps: &[Capability]) -> io::Result<()> {
    caps::set(None, CapSet::Effective, &set_of(caps)).map_err(to_io)
}

/// Leaves only `caps` permitted and effective, for good.
pub fn settle(caps: &[Capability]) -> io::Result<()> {
    let set = set_of(caps);
    caps::set(None, CapSet::Effective, &set).map_err(to_io)?;
    caps::set(None, CapSet::Permitted, &set).map_err(to_io)
}

/// The capability sets to try, fewest first: what reading iterators may
/// need on some kernel.
pub const CANDIDATES: [&[Capability]; 3] = [
    &[],
    &[Capability::CAP_BPF],
    &[Capability::CAP_BPF, Capability::CAP_PERFMON],
];

/// The mask of `caps`, as `/proc/<pid>/status` prints it.
#[must_use]
pub fn mask_of(caps: &[Capability]) -> u64 {
    caps.iter().fold(0, |m, c| m | c.bitmask())
}

/// `CAP_BPF, CAP_PERFMON`, or `no capabilities`.
#[must_use]
pub fn names(caps: &[Capability]) -> String {
    if caps.is_empty() {
        "no capabilities".to_owned()
    } else {
        caps.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
