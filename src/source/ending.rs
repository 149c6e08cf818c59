//! How a helper's run ended, and what the user is told: pkexec's refusals,
//! a helper that stopped or sent what bpfscope cannot read. A remote
//! host's endings are put in words by [`super::remote`].

use std::process::ExitStatus;

use super::Action;
use super::helper::HelperLaunch;
use super::pipe::describe_exit;
use crate::protocol::ProtocolError;

/// pkexec's exit status when the user dismissed the authentication dialog.
const PKEXEC_DISMISSED: i32 = 126;
/// pkexec's exit status when authorization was refused or failed.
const PKEXEC_NOT_AUTHORIZED: i32 = 127;

/// How the helper's output ended.
#[derive(Debug)]
pub(super) enum Ending {
    /// It closed its output (it exited).
    Closed { hello: bool },
    /// It wrote something that is not a frame of ours.
    Garbage(ProtocolError),
    /// The window stopped reading.
    Stopped,
    /// A remote host said nothing within [`super::remote::HELLO_TIMEOUT`].
    Silent,
}

pub(super) fn explain(
    launch: &HelperLaunch,
    ending: Ending,
    exit: Option<ExitStatus>,
    stderr: &[String],
) -> (String, Option<Action>) {
    let said = if stderr.is_empty() {
        String::new()
    } else {
        format!(": {}", stderr.join(" / "))
    };
    let code = exit.and_then(|status| status.code());
    if let Some(remote) = &launch.remote {
        return remote.explain_ending(ending, code, stderr, &said);
    }
    match ending {
        Ending::Garbage(err) => (
            format!(
                "The sampler sent data bpfscope cannot read ({err}); it was stopped. \
                 The history so far is kept."
            ),
            Some(Action::Reconnect),
        ),
        Ending::Closed { hello: false } if launch.via_pkexec && code == Some(PKEXEC_DISMISSED) => (
            "Authentication was dismissed, so no statistics are collected.".to_owned(),
            Some(Action::Retry),
        ),
        Ending::Closed { hello: false }
            if launch.via_pkexec && code == Some(PKEXEC_NOT_AUTHORIZED) =>
        {
            let no_agent = stderr
                .iter()
                .any(|line| line.contains("No authentication agent"));
            if no_agent {
                (
                    "No polkit authentication agent is running in this session, so nobody \
                     can be asked for the password. Log in to a desktop with a polkit agent, \
                     or start bpfscope as root."
                        .to_owned(),
                    Some(Action::Retry),
                )
            } else {
                (
                    format!("Authentication failed or was refused{said}."),
                    Some(Action::Retry),
                )
            }
        }
        Ending::Closed { hello } => {
            let how = match exit {
                Some(status) => describe_exit(status),
                None => "stopped answering".to_owned(),
            };
            let when = if hello {
                "The sampler stopped"
            } else {
                "The sampler could not start"
            };
            (
                format!("{when} ({how}){said}. The history so far is kept."),
                Some(Action::Reconnect),
            )
        }
        Ending::Stopped | Ending::Silent => (String::new(), None),
    }
}

pub(super) fn not_authorized() -> String {
    format!(
        "Not authorized — ask your administrator. polkit does not allow you to run \
         bpfscope's sampler (action {}).",
        crate::POLKIT_ACTION
    )
}
