//! Where the window's samples come from.
//!
//! With the privilege (root, or CAP_SYS_ADMIN) the sampler runs on a named
//! thread of this process. Without it the window still opens and says what is
//! missing. Tests inject events through a channel of their own.

use crossbeam_channel::{Receiver, bounded};

use crate::sampler::{
    Interval, Sampler, SamplerConfig, SamplerThread, SourceEvent, Waker, spawn_with_waker,
};

/// Events buffered between the sampler and the window.
const CHANNEL_CAPACITY: usize = 64;

/// A stream of [`SourceEvent`]s for the window.
#[derive(Debug)]
pub struct Source {
    rx: Receiver<SourceEvent>,
    thread: Option<SamplerThread>,
    problem: Option<String>,
}

impl Source {
    /// Samples in this process if it has the privilege; otherwise a source
    /// that explains what is missing. `waker` is called after every event.
    #[must_use]
    pub fn start(interval: Interval, waker: Waker) -> Self {
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        let config = SamplerConfig {
            owners: true,
            ..SamplerConfig::default()
        };
        let started = Sampler::new(config)
            .map_err(|err| {
                if err.is_privilege() {
                    "bpfscope needs CAP_SYS_ADMIN to turn on BPF statistics and read every \
                     program. Start it as root (for example `sudo -E bpfscope`)."
                        .to_owned()
                } else {
                    err.to_string()
                }
            })
            .and_then(|sampler| {
                spawn_with_waker(sampler, interval, tx, waker)
                    .map_err(|err| format!("cannot start the sampling thread: {err}"))
            });
        match started {
            Ok(thread) => Self {
                rx,
                thread: Some(thread),
                problem: None,
            },
            Err(problem) => Self {
                rx,
                thread: None,
                problem: Some(problem),
            },
        }
    }

    /// A source that cannot produce samples, and says why.
    #[must_use]
    pub fn unavailable(problem: String) -> Self {
        let (_tx, rx) = bounded(1);
        Self {
            rx,
            thread: None,
            problem: Some(problem),
        }
    }

    /// A source fed by the caller (tests, replays).
    #[must_use]
    pub fn from_channel(rx: Receiver<SourceEvent>) -> Self {
        Self {
            rx,
            thread: None,
            problem: None,
        }
    }

    /// Events that have arrived, without waiting.
    pub fn drain(&self) -> impl Iterator<Item = SourceEvent> + '_ {
        self.rx.try_iter()
    }

    /// Why there are no samples, if there cannot be any.
    #[must_use]
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Changes the sampling interval of a running sampler.
    pub fn set_interval(&self, interval: Interval) {
        if let Some(thread) = &self.thread {
            thread.set_interval(interval);
        }
    }
}
