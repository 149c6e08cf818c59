//! The fleet view's source: a named thread that asks Prometheus (the
//! fleet's engine; bpfscope stores no fleet data itself) for every host
//! running `bpfscope serve`, every few seconds, and hands each answer or
//! problem to the window over a bounded channel.
//!
//! Nothing here can hold up the window: each request is bounded by
//! [`TIMEOUT`], and disconnecting drops the channels without waiting, so a
//! Prometheus that does not answer only delays the next round.

mod error;
mod gather;
mod prometheus;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

pub use error::FleetError;
pub use gather::{gather, queries};
pub use prometheus::{Client, TIMEOUT};

use crate::model::{FleetEvent, FleetTarget, Waker};

/// Time between rounds: Prometheus scrapes every 15 s or so; a round
/// every 5 s shows a new scrape soon enough.
pub const REFRESH: Duration = Duration::from_secs(5);

enum Control {
    Window(u64),
    Refresh,
}

/// A connection to Prometheus; dropping it ends the worker (after the
/// request it may be in, without waiting for it).
pub struct Fleet {
    /// The URL, as the window shows it.
    pub url: String,
    events: Receiver<FleetEvent>,
    control: Sender<Control>,
    /// Set when the window disconnects: the worker stops between queries.
    cancel: Arc<AtomicBool>,
    _worker: JoinHandle<()>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// Starts asking `target` about the last `window_secs`; `wake` is
    /// called when an answer arrives. An unusable URL or CA file is said
    /// at once.
    pub fn connect(
        target: &FleetTarget,
        window_secs: u64,
        wake: Waker,
    ) -> Result<Self, FleetError> {
        let client = Client::new(target)?;
        let url = client.base.clone();
        let (event_tx, events) = bounded(2);
        let (control, control_rx) = bounded(8);
        let cancel = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&cancel);
        let worker = std::thread::Builder::new()
            .name("bpfscope-fleet".into())
            .spawn(move || {
                let go_on = || !stopped.load(Ordering::Relaxed);
                run(&client, window_secs, &event_tx, &control_rx, &wake, &go_on);
            })
            .map_err(FleetError::NoThread)?;
        Ok(Self {
            url,
            events,
            control,
            cancel,
            _worker: worker,
        })
    }

    /// The next answer, if one arrived.
    #[must_use]
    pub fn try_recv(&self) -> Option<FleetEvent> {
        self.events.try_recv().ok()
    }

    /// Asks about the last `secs` from the next round on, which starts now.
    pub fn set_window(&self, secs: u64) {
        let _ = self.control.try_send(Control::Window(secs));
    }

    /// Starts a round now.
    pub fn refresh(&self) {
        let _ = self.control.try_send(Control::Refresh);
    }
}

fn run(
    client: &Client,
    mut window: u64,
    events: &Sender<FleetEvent>,
    control: &Receiver<Control>,
    wake: &Waker,
    go_on: &dyn Fn() -> bool,
) {
    loop {
        if !go_on() {
            return;
        }
        let event = match gather(client, window, SystemTime::now(), go_on) {
            Ok(data) => FleetEvent::Data(data),
            // In words: the window shows it.
            Err(problem) => FleetEvent::Problem(problem.to_string()),
        };
        match events.try_send(event) {
            // The window has not taken the last answer yet: it gets the next.
            Ok(()) | Err(TrySendError::Full(_)) => wake(),
            Err(TrySendError::Disconnected(_)) => return,
        }
        match control.recv_timeout(REFRESH) {
            Ok(Control::Window(secs)) => window = secs,
            Ok(Control::Refresh) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}
