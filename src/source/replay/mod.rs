//! A recording as a source: a named thread indexes the file, then plays it
//! into the window's store sample by sample, at the recorded pace times
//! the speed chosen. A seek cannot be played there in time (minutes of
//! history at thousands of programs), so the thread rebuilds the moment of
//! the seek from the blocks just before it and hands it over whole; the
//! window keeps drawing the previous one meanwhile.

mod index;
mod player;

use std::collections::VecDeque;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::model::{
    ReplayCommand, SampleOrigin, SourceEvent, SourceInfo, Speed, Status, Timeline, Waker,
};
use crate::record::RecordingReader;
use crate::store::Moment;
use player::{Player, lock};

/// Why a recording cannot be opened for replay.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file cannot be opened or read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// A directory, a pipe, a device: never read.
    #[error("{file}: not a regular file, so not a recording")]
    NotAFile { file: String },
    /// Not a recording this build reads (its kind says why).
    #[error("{file}: {source}")]
    Recording {
        file: String,
        source: crate::record::RecordError,
    },
    #[error("cannot start the replay thread: {0}")]
    Thread(std::io::Error),
}

/// Deliveries buffered between the replay thread and the window.
const DELIVERIES: usize = 64;
/// Moments the window is done with, waiting to be dropped off its thread.
const TRASH: usize = 2;

/// What the window asks of the thread; read whole by the thread, so a burst
/// of seeks while dragging costs one rebuild, of the last.
#[derive(Clone, Debug, Default)]
pub(super) struct Control {
    playing: bool,
    speed: Speed,
    /// The newest seek and its epoch.
    seek: Option<(u64, usize)>,
    epoch: u64,
    /// Samples to step forward while paused.
    steps: u32,
    /// How much history a rebuilt moment holds (the plots' window);
    /// `None`: as much as the store keeps.
    history: Option<Duration>,
    quit: bool,
}

pub(super) enum Delivery {
    /// Indexing: how far, in percent.
    Progress(u8),
    /// The index is done: every sample's time and the markers.
    Ready(Box<Timeline>),
    /// The moment at sample `at`, for the seek of `epoch`.
    Moment {
        epoch: u64,
        at: usize,
        moment: Box<Moment>,
        info: Option<SourceInfo>,
    },
    /// A recorded event played after the moment of `epoch`; `at` for a
    /// sample.
    Event {
        epoch: u64,
        at: Option<usize>,
        event: SourceEvent,
    },
    /// Playing reached the last sample.
    Ended,
    /// The recording cannot be replayed.
    Failed(String),
}

/// The window's end of a replay.
pub struct Replay {
    deliveries: Receiver<Delivery>,
    /// Moments replaced, freed on the replay thread: dropping ten
    /// thousand programs' history costs milliseconds a frame should not.
    trash: Sender<Moment>,
    control: Arc<Mutex<Control>>,
    poke: Option<Sender<()>>,
    timeline: Timeline,
    status: Status,
    /// The epoch of the newest seek: what comes from older ones is dropped.
    epoch: u64,
    moment: Option<Box<Moment>>,
    pending: VecDeque<SourceEvent>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replay")
            .field("file", &self.timeline.file)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Replay {
    /// Opens `path`; the error says why it is not a recording this
    /// bpfscope replays. The thread indexes it meanwhile; `waker` is
    /// called after every delivery.
    pub fn open(path: &Path, waker: Waker) -> Result<Self, OpenError> {
        let shown = crate::model::clean_label(&path.display().to_string());
        // Non-blocking, so a named pipe or a terminal (another user's trap)
        // cannot hold the window at open; only a regular file is read (on
        // which O_NONBLOCK changes nothing).
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|source| OpenError::Io {
                file: shown.clone(),
                source,
            })?;
        let meta = file.metadata().map_err(|source| OpenError::Io {
            file: shown.clone(),
            source,
        })?;
        if !meta.is_file() {
            return Err(OpenError::NotAFile { file: shown });
        }
        let total = meta.len();
        let reader = RecordingReader::new(std::io::BufReader::new(file)).map_err(|source| {
            OpenError::Recording {
                file: shown.clone(),
                source,
            }
        })?;
        let timeline = Timeline {
            host: reader.header.host.clone(),
            kernel_release: reader.header.kernel_release.clone(),
            file: shown,
            ..Timeline::default()
        };
        let (out, deliveries) = bounded(DELIVERIES);
        let (poke, poked) = bounded(1);
        let (trash, trashed) = bounded(TRASH);
        let control = Arc::new(Mutex::new(Control::default()));
        let player = Player {
            reader,
            out,
            control: Arc::clone(&control),
            poke: poked,
            trash: trashed,
            waker,
            timeline: timeline.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("bpfscope-replay".to_owned())
            .spawn(move || player.run(total))
            .map_err(OpenError::Thread)?;
        Ok(Self {
            deliveries,
            trash,
            control,
            poke: Some(poke),
            timeline,
            status: Status::Waiting("Opening the recording…".to_owned()),
            epoch: 0,
            moment: None,
            pending: VecDeque::new(),
            handle: Some(handle),
        })
    }

    /// Takes what the thread delivered, up to a rebuilt moment (taken with
    /// [`Replay::take_moment`] before the events after it).
    fn pump(&mut self) {
        while self.moment.is_none() {
            let Ok(delivery) = self.deliveries.try_recv() else {
                return;
            };
            self.take(delivery);
        }
    }

    fn take(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Progress(percent) => {
                self.status = Status::Waiting(format!("Opening the recording… {percent} %"));
            }
            Delivery::Ready(timeline) => {
                if let Some(why) = &timeline.stopped {
                    let text = format!("{}: {why}", self.timeline.file);
                    tracing::warn!("{text}");
                    self.pending.push_back(SourceEvent::Warning(text));
                }
                self.timeline = *timeline;
                self.epoch = lock(&self.control).epoch;
                self.timeline.seeking = lock(&self.control).seek.map(|(_, at)| at);
            }
            Delivery::Moment {
                epoch,
                at,
                moment,
                info,
            } if epoch == self.epoch => {
                if let Some(info) = info {
                    self.pending.push_back(SourceEvent::Hello(info));
                }
                self.moment = Some(moment);
                self.timeline.position = Some(at);
                self.timeline.seeking = None;
                self.status = Status::Sampling(SampleOrigin::Recording);
            }
            Delivery::Event { epoch, at, event } if epoch == self.epoch => {
                if at.is_some() {
                    self.timeline.position = at;
                }
                self.pending.push_back(event);
            }
            Delivery::Moment { .. } | Delivery::Event { .. } => {}
            Delivery::Ended => self.timeline.playing = false,
            Delivery::Failed(why) => {
                self.timeline.seeking = None;
                self.timeline.playing = false;
                tracing::warn!("{}: {why}", self.timeline.file);
                self.status = Status::Stopped {
                    message: format!("{}: {why}", self.timeline.file),
                    action: None,
                };
            }
        }
    }

    /// Events delivered since the last call (Hello, samples, messages).
    pub(super) fn drain(&mut self) -> Vec<SourceEvent> {
        self.pump();
        self.pending.drain(..).collect()
    }

    /// The next event, waiting at most `timeout`.
    pub(super) fn recv_timeout(&mut self, timeout: Duration) -> Option<SourceEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let delivery = self
                .deliveries
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .ok()?;
            self.take(delivery);
        }
    }

    /// A moment rebuilt for a seek, to show instead of the one shown.
    pub fn take_moment(&mut self) -> Option<Box<Moment>> {
        self.moment.take()
    }

    /// Frees a moment the window replaced on the replay thread (here if
    /// that one is busy with two already).
    pub fn recycle(&self, moment: Moment) {
        let _ = self.trash.try_send(moment);
    }

    /// How much history a seek's moment holds: the plots' window. A longer
    /// one than before rebuilds the moment shown.
    pub fn set_history(&mut self, history: Duration) {
        let mut control = lock(&self.control);
        let longer = control.history.is_some_and(|h| history > h);
        control.history = Some(history);
        drop(control);
        if longer && let Some(at) = self.timeline.seeking.or(self.timeline.position) {
            self.seek(at);
            self.poke();
        }
    }

    #[must_use]
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    #[must_use]
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Does what the user asked of the timeline.
    pub fn command(&mut self, command: ReplayCommand) {
        let last = self.timeline.samples.len().saturating_sub(1);
        let at = self.timeline.seeking.or(self.timeline.position);
        let Some(at) = at else {
            return; // nothing shown yet
        };
        match command {
            ReplayCommand::PlayPause => {
                let play = !self.timeline.playing;
                if play && at >= last {
                    self.seek(1.min(last));
                }
                self.timeline.playing = play;
                lock(&self.control).playing = play;
            }
            ReplayCommand::SetSpeed(speed) => {
                self.timeline.speed = speed;
                lock(&self.control).speed = speed;
            }
            ReplayCommand::Seek(target) => self.seek(target.min(last)),
            ReplayCommand::Step(delta) => {
                self.timeline.playing = false;
                lock(&self.control).playing = false;
                if delta > 0 && self.timeline.seeking.is_none() {
                    let mut control = lock(&self.control);
                    control.steps = control.steps.saturating_add(delta.unsigned_abs() as u32);
                } else {
                    self.seek(at.saturating_add_signed(delta).min(last));
                }
            }
        }
        self.poke();
    }

    fn seek(&mut self, target: usize) {
        let mut control = lock(&self.control);
        control.epoch += 1;
        control.seek = Some((control.epoch, target));
        control.steps = 0;
        self.epoch = control.epoch;
        drop(control);
        self.timeline.seeking = Some(target);
        // What the thread sent for an older seek is not shown.
        self.moment = None;
    }

    fn poke(&self) {
        if let Some(poke) = &self.poke {
            let _ = poke.try_send(()); // a poke already waiting is enough
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        lock(&self.control).quit = true;
        // Disconnecting the poke and the deliveries ends the thread's waits.
        self.poke = None;
        let (_, closed) = bounded(1);
        drop(std::mem::replace(&mut self.deliveries, closed));
        // It owns nothing that must be finished: a short wait, then it
        // ends alone at its next look at `quit`.
        if let Some(handle) = self.handle.take() {
            let _ = super::pipe::join_within(handle, Duration::from_millis(200));
        }
    }
}
