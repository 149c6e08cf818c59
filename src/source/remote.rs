//! A remote host: its bpfscope-sampler started over `ssh -T` (through
//! `sudo -n` by default), its frames read from ssh's standard output like
//! the local helper's from pkexec's. What ssh and sudo say when it does
//! not work is turned into what to do about it.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::ending::Ending;
use crate::model::{Action, Interval};

/// ssh, at the path every distribution installs it (never searched for).
pub const SSH: &str = "/usr/bin/ssh";
pub use crate::model::DEFAULT_REMOTE_COMMAND;
/// How long ssh may take to connect, and the remote helper to say Hello
/// (with the time to stop ssh, a silent host is said within 15 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(12);

/// Why a host given to watch cannot be one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("no host given")]
    Empty,
    /// It would read as an option to ssh, or has more than one `@`.
    #[error("{given:?} is not a host name")]
    NotAHostName { given: String },
    #[error("{given:?} is not a host name ([user@]host: letters, digits and . _ - : [ ] only)")]
    BadCharacters { given: String },
    #[error("--remote-command is empty")]
    EmptyCommand,
}

/// Where to connect, and what to run there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    /// `[user@]host`, as ssh takes it (a host from ~/.ssh/config works).
    pub destination: String,
    /// The command that starts the sampler there; `--interval-ms N` is
    /// added to it.
    pub command: String,
    /// More `-o` options for ssh (`Port=2222`, `IdentityFile=…`).
    pub ssh_options: Vec<String>,
}

impl Remote {
    /// `[user@]host` checked, with the default command. Refused: an empty
    /// name, one ssh would take for an option, spaces and control
    /// characters.
    pub fn new(destination: &str) -> Result<Self, HostError> {
        let destination = destination.trim();
        if destination.is_empty() {
            return Err(HostError::Empty);
        }
        // Neither part may read as an option (to ssh, or to a ProxyCommand
        // of the user's config that gets %r or %h).
        let starts_dash = destination.split('@').any(|part| part.starts_with('-'));
        if starts_dash || destination.matches('@').count() > 1 {
            return Err(HostError::NotAHostName {
                given: crate::model::clean_label(destination),
            });
        }
        let allowed = |c: char| c.is_alphanumeric() || "@._-:[]%".contains(c);
        if destination.len() > 300 || !destination.chars().all(allowed) {
            return Err(HostError::BadCharacters {
                given: crate::model::clean_label(destination),
            });
        }
        Ok(Self {
            destination: destination.to_owned(),
            command: DEFAULT_REMOTE_COMMAND.to_owned(),
            ssh_options: Vec::new(),
        })
    }

    /// The host part of the destination.
    #[must_use]
    pub fn host(&self) -> &str {
        self.destination
            .rsplit_once('@')
            .map_or(self.destination.as_str(), |(_, host)| host)
    }

    /// `ssh -T … -- destination 'command --interval-ms N'`: no terminal, no
    /// password prompt (BatchMode), bounded connection time, and a
    /// connection that stops answering ends within 15 s.
    pub(super) fn command(&self, interval: Interval, low_overhead_on_ms: Option<u64>) -> Command {
        let interval_ms = interval.duration().as_millis();
        let low_overhead_arg =
            low_overhead_on_ms.map_or_else(String::new, |on| format!(" --stats-on-ms {on}"));
        let mut command = Command::new(SSH);
        command.args([
            "-T",
            "-o",
            "BatchMode=yes",
            "-o",
            &format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()),
            "-o",
            "ServerAliveInterval=5",
            "-o",
            "ServerAliveCountMax=2",
            // The command is bpfscope's: not one from the user's config,
            // and no forwardings that a second window to the host would
            // fail on.
            "-o",
            "RemoteCommand=none",
            "-o",
            "ClearAllForwardings=yes",
        ]);
        for option in &self.ssh_options {
            command.arg("-o").arg(option);
        }
        command
            .arg("--")
            .arg(&self.destination)
            .arg(format!(
                "{} --interval-ms {interval_ms}{low_overhead_arg}",
                self.command
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// What went wrong, from ssh's exit code and the last lines it (or
    /// sudo there) wrote; `hello`: whether the sampler had started.
    #[must_use]
    pub fn explain(&self, code: Option<i32>, stderr: &[String], hello: bool) -> String {
        let host = self.host();
        let said = stderr.join(" / ");
        let has = |text: &str| stderr.iter().any(|line| line.contains(text));
        let user = self
            .destination
            .rsplit_once('@')
            .map_or("USER", |(user, _)| user);
        if hello {
            return format!(
                "The connection to {host} was lost ({}). The history so far is kept.",
                if said.is_empty() { "ssh ended" } else { &said }
            );
        }
        if has("Permission denied") {
            format!(
                "{host} refused the login ({said}). bpfscope runs ssh without asking for \
                 passwords, so it needs a key ssh can use on its own (ssh-agent, or an \
                 IdentityFile in ~/.ssh/config)."
            )
        } else if has("Host key verification failed") || has("REMOTE HOST IDENTIFICATION") {
            format!(
                "The host key of {host} is not known, or has changed. Connect once with \
                 `ssh {}` in a terminal to check and accept it.",
                self.destination
            )
        } else if has("Could not resolve hostname") {
            format!("{host} is unknown: ssh cannot resolve its name ({said}).")
        } else if has("timed out") || has("Connection refused") || has("No route to host") {
            format!("{host} does not answer on ssh ({said}).")
        } else if has("a password is required") || has("a terminal is required") {
            format!(
                "sudo on {host} wants a password to start bpfscope's sampler, and there is \
                 nobody to type it. Allow this one command without a password there: \
                 `{user} ALL=(root) NOPASSWD: /usr/libexec/bpfscope/bpfscope-sampler` in \
                 /etc/sudoers.d/bpfscope (see docs/remote.md)."
            )
        } else if has("not in the sudoers") || has("not allowed to execute") {
            format!(
                "sudo on {host} does not allow {user} to start bpfscope's sampler ({said}). \
                 Ask its administrator for the sudoers line in docs/remote.md."
            )
        } else if has("command not found") || has("No such file or directory") {
            format!(
                "bpfscope's sampler is not installed on {host} ({said}). Install the \
                 bpfscope package there."
            )
        } else if code == Some(255) {
            format!("ssh could not connect to {host} ({said}).")
        } else {
            let how = code.map_or_else(
                || "it was stopped".to_owned(),
                |c| format!("exit status {c}"),
            );
            format!(
                "The sampler on {host} could not start ({how}{}).",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            )
        }
    }
}

impl Remote {
    /// What to tell the user when the connection ended as `ending`.
    pub(super) fn explain_ending(
        &self,
        ending: Ending,
        code: Option<i32>,
        stderr: &[String],
        said: &str,
    ) -> (String, Option<Action>) {
        match ending {
            Ending::Closed { hello } => (
                self.explain(code, stderr, hello),
                Some(if hello {
                    Action::Reconnect
                } else {
                    Action::Retry
                }),
            ),
            Ending::Silent => (
                format!(
                    "{} did not answer within {} s{said}.",
                    self.host(),
                    HELLO_TIMEOUT.as_secs()
                ),
                Some(Action::Retry),
            ),
            Ending::Garbage(crate::protocol::ProtocolError::Version { got }) => (
                format!(
                    "{} runs a bpfscope sampler of frame protocol {got}; this bpfscope ({}) \
                     reads protocols {} to {}: {}",
                    self.host(),
                    env!("CARGO_PKG_VERSION"),
                    crate::protocol::OLDEST_PROTOCOL,
                    crate::protocol::PROTOCOL_VERSION,
                    if got > crate::protocol::PROTOCOL_VERSION {
                        "upgrade bpfscope here."
                    } else {
                        "upgrade bpfscope on that host."
                    }
                ),
                Some(Action::Retry),
            ),
            Ending::Garbage(err) => (
                format!(
                    "{} sent data bpfscope cannot read ({err}): is bpfscope there of the same \
                     version? The history so far is kept.",
                    self.host()
                ),
                Some(Action::Reconnect),
            ),
            Ending::Stopped => (String::new(), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_that_ssh_would_take_otherwise_are_refused() {
        assert!(Remote::new("db-7").is_ok());
        assert_eq!(
            Remote::new("ops@db-7.example").unwrap().host(),
            "db-7.example"
        );
        assert!(Remote::new("[::1]").is_ok());
        for bad in [
            "",
            "-oProxyCommand=x",
            "x@-oFoo",
            "-x@h",
            "a@b@c",
            "a b",
            "a;b",
            "a\u{1b}b",
            "h$(x)",
        ] {
            assert!(Remote::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_command_ends_options_before_the_destination() {
        let remote = Remote::new("ops@db-7").unwrap();
        let command = remote.command(Interval::new(Duration::from_secs(2)).unwrap(), None);
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let end = args.iter().position(|a| a == "--").unwrap();
        assert_eq!(args[end + 1], "ops@db-7");
        assert_eq!(
            args[end + 2],
            "sudo -n /usr/libexec/bpfscope/bpfscope-sampler --interval-ms 2000"
        );
        assert!(args.contains(&"BatchMode=yes".to_owned()));
    }

    #[test]
    fn what_ssh_and_sudo_say_becomes_what_to_do() {
        let remote = Remote::new("ops@db-7").unwrap();
        let says = |line: &str, code| remote.explain(Some(code), &[line.to_owned()], false);
        assert!(
            says("ops@db-7: Permission denied (publickey).", 255).contains("refused the login")
        );
        assert!(says("Host key verification failed.", 255).contains("host key of db-7"));
        assert!(says("sudo: a password is required", 1).contains("ops ALL=(root) NOPASSWD"));
        assert!(
            says(
                "sudo: /usr/libexec/bpfscope/bpfscope-sampler: command not found",
                1
            )
            .contains("not installed on db-7")
        );
        assert!(
            says(
                "ssh: connect to host db-7 port 22: Connection timed out",
                255
            )
            .contains("does not answer")
        );
        assert!(
            remote
                .explain(Some(255), &[], true)
                .contains("history so far is kept")
        );
    }
}
