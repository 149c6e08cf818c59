//! Giving up root once the sampler is made: shared by the helper and
//! `bpfscope serve`, which both start as root only to turn statistics on
//! and load their iterators.

use super::Sampler;
use crate::privilege;

/// Gives up root and every capability reading does not need, and says what
/// is kept (sent in the `Hello`, shown in the window's status bar).
///
/// Where every per-pass read goes through an iterator, `who` becomes
/// the `bpfscope` user and tries the capability sets of
/// [`privilege::CANDIDATES`], fewest first, by reading every iterator once
/// with each made effective: it keeps the first that works. Where a read
/// still opens objects by id or the sysctl fallback is on, it stays root
/// with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN and says why.
pub fn drop_to_least_privilege(sampler: &mut Sampler, who: &str) -> std::io::Result<String> {
    use caps::Capability::{CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN};

    let why_root = sampler.needs_sys_admin();
    let account = privilege::Account::for_helper();
    let account = match account {
        Some(account) if why_root.is_empty() => account,
        _ => {
            let keep = [CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF];
            privilege::keep_only(&keep)?;
            let why = if why_root.is_empty() {
                format!(
                    "no {} user to run as; the package creates it",
                    privilege::HELPER_USER
                )
            } else {
                why_root.join("; ")
            };
            return Ok(format!(
                "{who} runs as root with only {} ({why})",
                privilege::names(&keep)
            ));
        }
    };
    privilege::become_user(&account, &[CAP_BPF, CAP_PERFMON])?;
    let mut last = None;
    for caps in privilege::CANDIDATES {
        privilege::make_effective(caps)?;
        match sampler.check_reads() {
            Ok(()) => {
                privilege::settle(caps)?;
                return Ok(format!(
                    "{who} runs as user {} (uid {}) with {}",
                    account.name,
                    account.uid,
                    privilege::names(caps)
                ));
            }
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no capability set to try")))
}
