//! Asking polkit, before anything is started, whether this process may run
//! the sampler as root: yes, after authentication, or no.

use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, bounded};
use polkit_rs::{Authority, CheckAuthorizationFlags, UnixProcess};

/// How long polkit gets to answer. A check without user interaction is
/// answered in milliseconds; a bus that does not answer must not hang us.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// polkit's answer for the sampling action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authorization {
    /// Allowed without asking (a rule, or a recent authentication kept).
    Authorized,
    /// Allowed once the user authenticates.
    Challenge,
    /// Not allowed for this user.
    NotAuthorized,
    /// polkit could not be asked; the text says why.
    Unavailable(String),
}

/// Asks polkit whether this process may use `action`, without any prompt.
#[must_use]
pub fn check(action: &str) -> Authorization {
    let (tx, rx) = bounded(1);
    let action = action.to_owned();
    let spawned = std::thread::Builder::new()
        .name("bpfscope-polkit".to_owned())
        .spawn(move || {
            // The receiver may have given up waiting; nothing to tell then.
            let _ignored = tx.send(check_now(&action));
        });
    if let Err(err) = spawned {
        return Authorization::Unavailable(format!("cannot start the polkit check: {err}"));
    }
    match rx.recv_timeout(ANSWER_TIMEOUT) {
        Ok(answer) => answer,
        Err(RecvTimeoutError::Timeout) => Authorization::Unavailable(format!(
            "polkit did not answer within {} s",
            ANSWER_TIMEOUT.as_secs()
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Authorization::Unavailable("the polkit check stopped without an answer".to_owned())
        }
    }
}

fn check_now(action: &str) -> Authorization {
    let authority = match Authority::sync(None::<&gio::Cancellable>) {
        Ok(authority) => authority,
        Err(err) => {
            return Authorization::Unavailable(format!(
                "cannot reach polkit on the system bus ({err})"
            ));
        }
    };
    // SAFETY: getpid and getuid have no preconditions.
    let (pid, uid) = unsafe { (libc::getpid(), libc::getuid()) };
    // Start time 0: polkit reads it from /proc, which ties the answer to
    // this process and not to a later one reusing its pid.
    // A uid beyond i32 (none exists) becomes -1: polkit then reads it too.
    let subject = UnixProcess::new_for_owner(pid, 0, i32::try_from(uid).unwrap_or(-1));
    match authority.check_authorization_sync(
        &subject,
        action,
        None,
        CheckAuthorizationFlags::NONE,
        None::<&gio::Cancellable>,
    ) {
        Ok(result) if result.is_authorized() => Authorization::Authorized,
        Ok(result) if result.is_challenge() => Authorization::Challenge,
        Ok(_) => Authorization::NotAuthorized,
        Err(err) => Authorization::Unavailable(format!("polkit cannot check {action} ({err})")),
    }
}
