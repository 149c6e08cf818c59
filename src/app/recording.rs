//! The window's Record toggle: what the source sends from now on, into a
//! recording, written by a thread of its own so that compressing a block
//! never holds up a frame.
//!
//! A recording begun mid-session starts as a source would start it: the
//! source's Hello, the facts of every program the window knows, and the
//! current links with the first sample. If the disk cannot keep up (the
//! bounded channel fills), the recording stops there and says so; what was
//! written loads.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

use crate::model::{LinkFacts, SourceEvent};
use crate::record::{Recorder, host_name};

/// Events waiting for the recorder thread at most: four times what the
/// source buffers, so one drain while a block is compressed fits.
const QUEUE: usize = 256;
/// How long closing the window waits for a recording to finish.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// Why the window's recording could not start or stopped early.
#[derive(Debug, thiserror::Error)]
pub(super) enum RecordingError {
    #[error("cannot write {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start recording: {0}")]
    Start(String),
    /// The writer fell behind the samples arriving.
    #[error("the recording stopped: the disk could not keep up")]
    FellBehind,
    /// The writer ended (after an error it reported).
    #[error("the recording stopped")]
    Stopped,
    #[error("cannot write the recording: {0}")]
    Write(std::io::Error),
    #[error("the recorder failed")]
    Panicked,
}

/// A recording being written.
#[derive(Debug)]
pub(super) struct Recording {
    pub(super) path: PathBuf,
    tx: Option<Sender<SourceEvent>>,
    worker: Option<JoinHandle<Result<(), RecordingError>>>,
    /// Samples and bytes written so far.
    samples: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    /// Links for the first recorded sample, if it brings none (taken by
    /// it).
    links: Option<Vec<LinkFacts>>,
    /// Why it stopped before Stop was clicked.
    cut: Option<String>,
}

impl Recording {
    /// Starts writing `path` with `opening` (the Hello, the facts known)
    /// and `links` for the first sample.
    pub(super) fn start(
        path: PathBuf,
        host: String,
        opening: Vec<SourceEvent>,
        links: Option<Vec<LinkFacts>>,
    ) -> Result<Self, RecordingError> {
        let file = std::fs::File::create(&path).map_err(|source| RecordingError::Create {
            path: path.display().to_string(),
            source,
        })?;
        let (tx, rx) = bounded(QUEUE + opening.len());
        for event in opening {
            tx.try_send(event)
                .map_err(|_| RecordingError::Start("its queue is closed".to_owned()))?;
        }
        let samples = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let worker = {
            let (samples, bytes) = (Arc::clone(&samples), Arc::clone(&bytes));
            let recorder = Recorder::new(std::io::BufWriter::new(file), host);
            std::thread::Builder::new()
                .name("bpfscope-record".into())
                .spawn(move || write(recorder, &rx, &samples, &bytes))
                .map_err(|err| RecordingError::Start(err.to_string()))?
        };
        Ok(Self {
            path,
            tx: Some(tx),
            worker: Some(worker),
            samples,
            bytes,
            links,
            cut: None,
        })
    }

    /// Hands `event` to the recorder; an error (the recorder stopped, the
    /// disk fell behind) ends the recording.
    pub(super) fn offer(&mut self, event: &SourceEvent) -> Result<(), RecordingError> {
        let Some(tx) = &self.tx else {
            return Ok(());
        };
        let mut event = event.clone();
        if let SourceEvent::Sample(sample) = &mut event {
            let links = self.links.take();
            if sample.links.is_none() {
                sample.links = links;
            }
        }
        match tx.try_send(event) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.cut = Some("the disk could not keep up, so the recording stopped here".into());
                self.finish();
                Err(RecordingError::FellBehind)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.finish();
                Err(RecordingError::Stopped)
            }
        }
    }

    /// Asks the writer to finish (the last block and the end mark): it
    /// does so on its own thread; [`Recording::finished`] says when.
    pub(super) fn finish(&mut self) {
        self.tx = None;
    }

    /// Whether Stop was asked for (the file may still be being finished).
    pub(super) fn finishing(&self) -> bool {
        self.tx.is_none()
    }

    /// Once the writer is done: what to say of the recording. Never waits.
    pub(super) fn finished(&mut self) -> Option<Result<String, RecordingError>> {
        if !self.worker.as_ref().is_some_and(JoinHandle::is_finished) {
            return None;
        }
        let outcome = self.worker.take().map_or(Ok(()), |w| {
            w.join().unwrap_or(Err(RecordingError::Panicked))
        });
        Some(outcome.map(|()| {
            let done = self.progress("recorded");
            match &self.cut {
                Some(why) => format!("{why}; {done}"),
                None => done,
            }
        }))
    }

    /// "recorded N samples to PATH (X KiB)", or "recording …" while on.
    pub(super) fn progress(&self, verb: &str) -> String {
        format!(
            "{verb} {} samples to {} ({} KiB)",
            self.samples.load(Ordering::Relaxed),
            self.path.display(),
            self.bytes.load(Ordering::Relaxed).div_ceil(1024)
        )
    }
}

impl Drop for Recording {
    /// The window closing: the writer gets a few seconds to finish the
    /// file; past them it is left to end with the process (the file then
    /// loads up to its last whole block).
    fn drop(&mut self) {
        self.finish();
        let start = std::time::Instant::now();
        while start.elapsed() < CLOSE_WAIT
            && !self.worker.as_ref().is_none_or(JoinHandle::is_finished)
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn write(
    mut recorder: Recorder<std::io::BufWriter<std::fs::File>>,
    rx: &Receiver<SourceEvent>,
    samples: &AtomicU64,
    bytes: &AtomicU64,
) -> Result<(), RecordingError> {
    let failed = RecordingError::Write;
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(event) => recorder.record(event).map_err(failed)?,
            Err(RecvTimeoutError::Timeout) => recorder.tick().map_err(failed)?,
            Err(RecvTimeoutError::Disconnected) => {
                recorder.finish().map_err(failed)?;
                samples.store(recorder.samples, Ordering::Relaxed);
                bytes.store(recorder.written, Ordering::Relaxed);
                return Ok(());
            }
        }
        samples.store(recorder.samples, Ordering::Relaxed);
        bytes.store(recorder.written, Ordering::Relaxed);
    }
}

impl super::BpfScopeApp {
    /// Record on: a new file in the home folder, opened as a source would
    /// open it; Record off: the file finished. Either way said in the
    /// status bar.
    pub(super) fn toggle_recording(&mut self) {
        use crate::view::Notice;
        if let Some(recording) = &mut self.recording {
            // Finished on the writer's thread; intake says when.
            recording.finish();
            self.notice = Some(Notice::Info(recording.progress("finishing: recorded")));
            return;
        }
        let Some(info) = self.store.info().cloned() else {
            self.notice = Some(Notice::Error(
                "nothing to record yet: no sampler has started".to_owned(),
            ));
            return;
        };
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        let stamp = crate::view::default_file_name(std::time::SystemTime::now());
        // The host recorded: this machine, or the one watched over ssh.
        let host = self
            .source
            .remote_host()
            .map_or_else(host_name, str::to_owned);
        let name = stamp.trim_end_matches(".csv").replacen(
            "bpfscope-",
            &format!("bpfscope-{}-", file_safe(&host)),
            1,
        );
        let path = (0..100)
            .map(|n| match n {
                0 => home.join(format!("{name}.bpfscope")),
                n => home.join(format!("{name}-{n}.bpfscope")),
            })
            .find(|p| !p.exists())
            .unwrap_or_else(|| home.join(format!("{name}-last.bpfscope")));
        let (facts, links) = self.store.live().catalog().snapshot();
        let mut opening = vec![SourceEvent::Hello(info)];
        // In frames of a bounded size, as a source sends them.
        for chunk in facts.chunks(1_000) {
            opening.push(SourceEvent::Facts(chunk.to_vec()));
        }
        match Recording::start(path, host, opening, links) {
            Ok(recording) => {
                self.notice = Some(Notice::Info(recording.progress("recording")));
                self.recording = Some(recording);
            }
            Err(err) => self.notice = Some(Notice::Error(err.to_string())),
        }
    }
}

impl super::BpfScopeApp {
    /// Says when a finishing recording is done; until then the window
    /// looks again every 100 ms.
    pub(super) fn recording_intake(&mut self, ctx: &eframe::egui::Context) {
        let Some(recording) = &mut self.recording else {
            return;
        };
        if !recording.finishing() {
            return;
        }
        match recording.finished() {
            None => ctx.request_repaint_after(Duration::from_millis(100)),
            Some(outcome) => {
                self.notice = Some(match outcome {
                    Ok(done) => crate::view::Notice::Info(done),
                    Err(err) => crate::view::Notice::Error(err.to_string()),
                });
                self.recording = None;
            }
        }
    }
}

/// A host name as part of a file name: letters, digits, `-`, `.`, `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}
