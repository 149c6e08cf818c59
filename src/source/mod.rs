//! Where samples come from, for the window and for `bpfscope sample`.
//!
//! With CAP_SYS_ADMIN the sampler runs on a named thread of this process.
//! Without it, polkit is asked whether this user may run the helper
//! `bpfscope-sampler` as root; if so it is started through `pkexec`, and a
//! named thread decodes its frames into the same channel. Either way the
//! caller sees one stream of [`SourceEvent`]s and a [`Status`] that says, in
//! words for the user, what is going on and what can be done about it.

mod ending;
mod helper;
mod in_process;
mod pipe;
pub mod polkit;
mod remote;
mod replay;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select};

pub use helper::{HelperLaunch, PKEXEC};
pub use remote::{DEFAULT_REMOTE_COMMAND, HostError, Remote};
pub use replay::{OpenError, Replay};

pub use crate::model::{Action, SampleOrigin, Status};
use crate::model::{Interval, ReplayCommand, SourceEvent, Timeline, Waker};
use crate::sys;

/// Events buffered between the sampler and the window.
const CHANNEL_CAPACITY: usize = 64;
/// Status changes buffered (they are rare).
const STATUS_CAPACITY: usize = 16;
/// How long closing the window waits for the helper thread to finish.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// A stream of [`SourceEvent`]s and the [`Status`] of what produces them.
pub struct Source {
    rx: Receiver<SourceEvent>,
    status: Status,
    kind: Kind,
}

enum Kind {
    InProcess(in_process::InProcess),
    Helper(HelperSource),
    Replay(Box<Replay>),
    Fixed,
}

struct HelperSource {
    launch: HelperLaunch,
    interval: Interval,
    tx: Sender<SourceEvent>,
    status_rx: Receiver<Status>,
    status_tx: Sender<Status>,
    waker: Waker,
    running: Option<Running>,
}

struct Running {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Samples in this process if it has CAP_SYS_ADMIN; otherwise through the
    /// helper described by `launch`, once polkit allows it without a prompt
    /// (a prompt waits for [`Action::Authenticate`]). `waker` is called after
    /// every event and status change.
    #[must_use]
    pub fn start(interval: Interval, waker: Waker, launch: HelperLaunch) -> Self {
        if sys::has_cap(sys::CAP_SYS_ADMIN) {
            Self::in_process(interval, waker, launch.low_overhead_percent)
        } else {
            Self::helper(launch, interval, waker, false)
        }
    }

    /// Samples through the helper. `interactive`: the user asked for this,
    /// so polkit may ask for a password now.
    #[must_use]
    pub fn helper(
        launch: HelperLaunch,
        interval: Interval,
        waker: Waker,
        interactive: bool,
    ) -> Self {
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        let (status_tx, status_rx) = bounded(STATUS_CAPACITY);
        let mut helper = HelperSource {
            launch,
            interval,
            tx,
            status_rx,
            status_tx,
            waker,
            running: None,
        };
        let status = helper.start(interactive);
        Self {
            rx,
            status,
            kind: Kind::Helper(helper),
        }
    }

    /// A source that cannot produce samples, and says why.
    #[must_use]
    pub fn unavailable(message: String) -> Self {
        let (_tx, rx) = bounded(1);
        Self {
            rx,
            status: Status::Stopped {
                message,
                action: None,
            },
            kind: Kind::Fixed,
        }
    }

    /// A source fed by the caller (tests, replays).
    #[must_use]
    pub fn from_channel(rx: Receiver<SourceEvent>) -> Self {
        Self {
            rx,
            status: Status::Sampling(SampleOrigin::Injected),
            kind: Kind::Fixed,
        }
    }

    /// A recording, replayed from its start; a file that is not one gives
    /// a stopped source saying why.
    #[must_use]
    pub fn replay(path: &std::path::Path, waker: Waker) -> Self {
        match Replay::open(path, waker) {
            Ok(replay) => Self::from_replay(replay),
            Err(why) => Self::unavailable(why.to_string()),
        }
    }

    /// A recording opened already.
    #[must_use]
    pub fn from_replay(replay: Replay) -> Self {
        let (_tx, rx) = bounded(1);
        Self {
            rx,
            status: replay.status().clone(),
            kind: Kind::Replay(Box::new(replay)),
        }
    }

    /// Events that have arrived, without waiting; the status is brought up
    /// to date first. A replay's events stop before a rebuilt moment
    /// ([`Source::take_moment`]).
    pub fn drain(&mut self) -> std::vec::IntoIter<SourceEvent> {
        let events: Vec<SourceEvent> = if let Kind::Replay(replay) = &mut self.kind {
            replay.drain()
        } else {
            self.rx.try_iter().collect()
        };
        self.update_status();
        events.into_iter()
    }

    /// A replay's moment rebuilt for a seek: it replaces the store's.
    pub fn take_moment(&mut self) -> Option<Box<crate::store::Moment>> {
        match &mut self.kind {
            Kind::Replay(replay) => replay.take_moment(),
            _ => None,
        }
    }

    /// The host the data comes from when it is not this machine: a
    /// recording's, or the one watched over ssh.
    #[must_use]
    pub fn other_host(&self) -> Option<&str> {
        self.timeline()
            .map(|t| t.host.as_str())
            .or_else(|| self.remote_host())
    }

    /// The host watched over ssh; `None` for this machine or a recording.
    #[must_use]
    pub fn remote_host(&self) -> Option<&str> {
        match &self.kind {
            Kind::Helper(helper) => helper.launch.remote.as_ref().map(Remote::host),
            _ => None,
        }
    }

    /// Gives a replay back the moment the store replaced, to free on its
    /// thread (dropped here for other sources).
    pub fn recycle(&self, moment: crate::store::Moment) {
        if let Kind::Replay(replay) = &self.kind {
            replay.recycle(moment);
        }
    }

    /// How much history a replay's seek rebuilds (the plots' window).
    pub fn set_replay_history(&mut self, history: Duration) {
        if let Kind::Replay(replay) = &mut self.kind {
            replay.set_history(history);
        }
    }

    /// A replay's timeline; `None` for a live source.
    #[must_use]
    pub fn timeline(&self) -> Option<&Timeline> {
        match &self.kind {
            Kind::Replay(replay) => Some(replay.timeline()),
            _ => None,
        }
    }

    /// Play, pause, seek or step a replay (nothing for a live source).
    pub fn replay_command(&mut self, command: ReplayCommand) {
        if let Kind::Replay(replay) = &mut self.kind {
            replay.command(command);
        }
    }

    /// The next event, waiting at most `timeout`; the status is kept up to
    /// date meanwhile (for callers without a window).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<SourceEvent> {
        if let Kind::Replay(replay) = &mut self.kind {
            let event = replay.recv_timeout(timeout);
            self.update_status();
            return event;
        }
        let deadline = Instant::now() + timeout;
        loop {
            self.update_status();
            let status_rx = match &self.kind {
                Kind::Helper(helper) => helper.status_rx.clone(),
                Kind::InProcess(_) | Kind::Replay(_) | Kind::Fixed => crossbeam_channel::never(),
            };
            select! {
                recv(self.rx) -> event => {
                    if let Ok(event) = event {
                        return Some(event);
                    }
                    if matches!(self.status, Status::Sampling(_)) {
                        self.status = Status::Stopped {
                            message: "the sampler stopped unexpectedly".to_owned(),
                            action: None,
                        };
                    }
                    return None;
                },
                recv(status_rx) -> status => match status {
                    Ok(status) => self.status = status,
                    Err(_) => return None,
                },
                default(deadline.saturating_duration_since(Instant::now())) => return None,
            }
            if Instant::now() >= deadline {
                return None;
            }
        }
    }

    /// What is going on.
    #[must_use]
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Why there are no samples, if there are none now.
    #[must_use]
    pub fn problem(&self) -> Option<&str> {
        match &self.status {
            Status::Stopped { message, .. } => Some(message),
            Status::Sampling(_) | Status::Waiting(_) => None,
        }
    }

    /// Does what the user chose from the status's [`Action`]: only the one
    /// the status offers now, so a click on a button that has just gone (the
    /// helper came back meanwhile) cannot restart a running helper.
    pub fn act(&mut self, action: Action) {
        self.update_status();
        let offered =
            matches!(&self.status, Status::Stopped { action: Some(a), .. } if *a == action);
        if !offered {
            return;
        }
        if let Kind::Helper(helper) = &mut self.kind {
            helper.stop();
            self.status = helper.start(true);
        }
    }

    fn update_status(&mut self) {
        match &self.kind {
            Kind::Helper(helper) => {
                if let Some(status) = helper.status_rx.try_iter().last() {
                    self.status = status;
                }
            }
            Kind::Replay(replay) => self.status = replay.status().clone(),
            Kind::InProcess(_) | Kind::Fixed => {}
        }
    }
}

impl HelperSource {
    /// Starts the helper thread; the status to show until it reports.
    fn start(&mut self, interactive: bool) -> Status {
        // Statuses of an earlier run must not overwrite this one's.
        while self.status_rx.try_recv().is_ok() {}
        let stop = Arc::new(AtomicBool::new(false));
        let outlet = helper::Outlet {
            events: self.tx.clone(),
            status: self.status_tx.clone(),
            waker: Arc::clone(&self.waker),
            stop: Arc::clone(&stop),
        };
        match helper::spawn(self.launch.clone(), self.interval, interactive, outlet) {
            Ok(handle) => {
                self.running = Some(Running { stop, handle });
                Status::Waiting("Starting…".to_owned())
            }
            Err(err) => Status::Stopped {
                message: format!("cannot start the helper thread: {err}"),
                action: Some(Action::Retry),
            },
        }
    }

    /// Stops the helper (closing its output ends it) and waits a little for
    /// its thread.
    fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.stop.store(true, Ordering::Relaxed);
        match pipe::join_within(running.handle, STOP_WAIT) {
            Some(Ok(())) => {}
            Some(Err(_)) => tracing::error!("the helper thread panicked"),
            None => tracing::warn!("the helper did not stop within {STOP_WAIT:?}; leaving it"),
        }
        while self.status_rx.try_recv().is_ok() {}
    }
}

impl Drop for HelperSource {
    fn drop(&mut self) {
        self.stop();
    }
}
