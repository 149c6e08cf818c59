//! The elevated helper: `pkexec bpfscope-sampler`, read on a named thread.
//!
//! The thread asks polkit first, starts the helper, decodes its frames into
//! the window's channel, and when the helper ends says why in words for the
//! user. It is also the helper's parent thread, so it lives exactly as long
//! as the helper: pkexec sets `PR_SET_PDEATHSIG` for itself, which fires
//! when the thread that started it exits, so a helper started from a thread
//! that ends during authentication would die with it.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{SendTimeoutError, Sender};

use super::ending::{Ending, explain, not_authorized};
use super::pipe::{StderrTail, StoppableReader, finish};
use super::polkit::{self, Authorization};
use super::remote::{HELLO_TIMEOUT, Remote};
use super::{Action, SampleOrigin, Status};
use crate::model::{Interval, SourceEvent, Waker};
use crate::protocol::{Frame, FrameReader, ProtocolError};

/// pkexec, at the path every distribution installs it (never searched for).
pub const PKEXEC: &str = "/usr/bin/pkexec";

/// How often a blocked read looks whether it should stop.
pub(super) const STOP_POLL: Duration = Duration::from_millis(100);
/// Lines of the helper's standard error kept for the message when it ends.
pub(super) const STDERR_LINES: usize = 4;

/// How to start the helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperLaunch {
    /// The helper's absolute path.
    pub helper: PathBuf,
    /// Start it through pkexec (the normal way) or directly (a process that
    /// already has the privilege, e.g. tests run as root).
    pub via_pkexec: bool,
    /// Let pkexec ask for the password on the terminal when no desktop agent
    /// is registered (`bpfscope sample` on a terminal; never the window).
    pub terminal_agent: bool,
    /// Another host's helper, over ssh, instead of this machine's.
    pub remote: Option<Remote>,
    /// Low-overhead mode: statistics on this percentage of each interval.
    pub low_overhead_percent: Option<u8>,
}

impl HelperLaunch {
    /// The installed helper, through pkexec, without a terminal agent.
    #[must_use]
    pub fn installed() -> Self {
        Self {
            helper: PathBuf::from(crate::HELPER_INSTALL_PATH),
            via_pkexec: true,
            terminal_agent: false,
            remote: None,
            low_overhead_percent: None,
        }
    }

    /// The same helper on `remote`, over ssh.
    #[must_use]
    pub fn remote(remote: Remote) -> Self {
        Self {
            remote: Some(remote),
            ..Self::installed()
        }
    }

    fn command(&self, interval: Interval) -> Command {
        let on_ms = low_overhead_on_ms(interval, self.low_overhead_percent);
        if let Some(remote) = &self.remote {
            return remote.command(interval, on_ms);
        }
        let interval_ms = interval.duration().as_millis().to_string();
        let mut command = if self.via_pkexec {
            let mut command = Command::new(PKEXEC);
            if !self.terminal_agent {
                command.arg("--disable-internal-agent");
            }
            command.arg(&self.helper);
            command
        } else {
            Command::new(&self.helper)
        };
        command.args(["--interval-ms", &interval_ms]);
        if let Some(on_ms) = on_ms {
            command.args(["--stats-on-ms", &on_ms.to_string()]);
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

/// The helper's `--stats-on-ms` for `percent` % of `interval` (10 ms at
/// least).
#[must_use]
pub fn low_overhead_on_ms(interval: Interval, percent: Option<u8>) -> Option<u64> {
    let percent = u64::from(percent?);
    let interval_ms = u64::try_from(interval.duration().as_millis()).unwrap_or(u64::MAX);
    Some((interval_ms.saturating_mul(percent) / 100).max(10))
}

/// Where the helper thread sends what it learns.
pub(super) struct Outlet {
    pub events: Sender<SourceEvent>,
    pub status: Sender<Status>,
    pub waker: Waker,
    pub stop: Arc<AtomicBool>,
}

impl Outlet {
    fn status(&self, status: Status) {
        // Bounded and drained every frame; if it is full the window is gone
        // or stuck, and the newest status will be sent next time anyway.
        let _ignored = self.status.try_send(status);
        (self.waker)();
    }

    fn stopped(&self, message: String, action: Option<Action>) {
        self.status(Status::Stopped { message, action });
    }

    /// Sends an event, waiting while the window catches up; `false` when
    /// the window is gone or the source stops.
    fn event(&self, event: SourceEvent) -> bool {
        let mut event = event;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            match self.events.send_timeout(event, STOP_POLL) {
                Ok(()) => {
                    (self.waker)();
                    return true;
                }
                Err(SendTimeoutError::Disconnected(_)) => return false,
                Err(SendTimeoutError::Timeout(back)) => event = back,
            }
        }
    }
}

/// Starts the thread that runs the helper for as long as it lives.
/// `interactive`: the user asked for this start, so an authentication
/// dialog is expected rather than a surprise.
pub(super) fn spawn(
    launch: HelperLaunch,
    interval: Interval,
    interactive: bool,
    outlet: Outlet,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("bpfscope-helper".to_owned())
        .spawn(move || run(&launch, interval, interactive, &outlet))
}

fn run(launch: &HelperLaunch, interval: Interval, interactive: bool, out: &Outlet) {
    let authenticating = match &launch.remote {
        Some(remote) => {
            out.status(Status::Waiting(format!("Connecting to {}…", remote.host())));
            false
        }
        None => match local_checks(launch, interactive, out) {
            Some(authenticating) => authenticating,
            None => return,
        },
    };
    let mut child = match launch.command(interval).spawn() {
        Ok(child) => child,
        Err(err) => {
            out.stopped(
                format!("cannot start {}: {err}", launch_name(launch)),
                Some(Action::Retry),
            );
            return;
        }
    };
    if launch.remote.is_none() {
        out.status(Status::Waiting(if authenticating {
            "Waiting for authentication…".to_owned()
        } else {
            "Starting the sampler…".to_owned()
        }));
    }
    let stderr = StderrTail::collect(&mut child);
    let ending = relay(&mut child, launch, out);
    let exit = finish(&mut child, !matches!(ending, Ending::Closed { .. }));
    let stderr = stderr.lines();
    if out.stop.load(Ordering::Relaxed) {
        return;
    }
    let (message, action) = explain(launch, ending, exit, &stderr);
    out.stopped(message, action);
}

/// What must hold on this machine before its helper starts: pkexec and
/// polkit's answer, the helper itself. `None` when it cannot start (said);
/// else whether a password will be asked.
fn local_checks(launch: &HelperLaunch, interactive: bool, out: &Outlet) -> Option<bool> {
    let mut authenticating = false;
    if launch.via_pkexec {
        if !Path::new(PKEXEC).exists() {
            out.stopped(
                format!(
                    "bpfscope needs administrator rights to read BPF statistics, and {PKEXEC} \
                     is not installed (Debian/Ubuntu package `pkexec`). Install it, or start \
                     bpfscope as root."
                ),
                None,
            );
            return None;
        }
        out.status(Status::Waiting("Asking polkit for permission…".to_owned()));
        match polkit::check(crate::POLKIT_ACTION) {
            Authorization::Authorized => {}
            Authorization::Challenge if interactive => authenticating = true,
            Authorization::Challenge => {
                out.stopped(
                    "Reading every BPF program's statistics needs administrator rights. \
                     Only bpfscope's small sampler will run as root; this window stays yours."
                        .to_owned(),
                    Some(Action::Authenticate),
                );
                return None;
            }
            Authorization::NotAuthorized => {
                out.stopped(not_authorized(), Some(Action::Retry));
                return None;
            }
            Authorization::Unavailable(why) => {
                out.stopped(
                    format!(
                        "Cannot ask for administrator rights: {why}. Start the system's \
                         polkit service, or start bpfscope as root."
                    ),
                    Some(Action::Retry),
                );
                return None;
            }
        }
    }
    if !launch.helper.is_file() {
        out.stopped(
            format!(
                "bpfscope's sampler is not installed at {}. Install bpfscope's package, \
                 or start bpfscope as root.",
                launch.helper.display()
            ),
            None,
        );
        return None;
    }
    Some(authenticating)
}

fn relay(child: &mut Child, launch: &HelperLaunch, out: &Outlet) -> Ending {
    let Some(stdout) = child.stdout.take() else {
        return Ending::Closed { hello: false };
    };
    // A remote host that connects and then says nothing is given up on.
    let remote = launch.remote.is_some();
    let mut reader = FrameReader::new(StoppableReader {
        inner: stdout,
        stop: &out.stop,
        answer_by: remote.then(|| Instant::now() + HELLO_TIMEOUT),
    });
    let origin = if remote {
        SampleOrigin::Remote
    } else {
        SampleOrigin::Helper
    };
    let mut hello = false;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                if let Frame::Hello(_) = frame {
                    hello = true;
                    // Answered: from now on a quiet period is no time-out.
                    reader.get_mut().answer_by = None;
                    out.status(Status::Sampling(origin));
                }
                if !out.event(SourceEvent::from(frame)) {
                    return Ending::Stopped;
                }
            }
            Ok(None) => return Ending::Closed { hello },
            Err(ProtocolError::Io(_)) if out.stop.load(Ordering::Relaxed) => {
                return Ending::Stopped;
            }
            Err(ProtocolError::Io(err)) if err.kind() == io::ErrorKind::TimedOut => {
                return Ending::Silent;
            }
            Err(err) => return Ending::Garbage(err),
        }
    }
    // The read end closes here: the helper exits at its next check.
}

fn launch_name(launch: &HelperLaunch) -> String {
    if launch.remote.is_some() {
        super::remote::SSH.to_owned()
    } else if launch.via_pkexec {
        PKEXEC.to_owned()
    } else {
        launch.helper.display().to_string()
    }
}
