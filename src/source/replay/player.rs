//! The replay's thread: indexes the recording, then rebuilds the moment of
//! every seek from the blocks before it and plays on from there, sample by
//! sample at the recorded pace times the speed.

use std::io::BufReader;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use super::index::{self, Index};
use super::{Control, Delivery};
use crate::model::{LinkFacts, SourceEvent, Timeline, Waker};
use crate::record::{Next, RecordingReader};
use crate::store::{HISTORY_AGE, HISTORY_POINTS, Moment};

/// The longest real wait between two samples while playing: a recording
/// with a gap (the recorder paused, the host suspended) plays on.
const LONGEST_WAIT: Duration = Duration::from_secs(5);
/// Facts kept ahead of a sample while a moment is rebuilt, at most, and
/// their bytes (the store's own bound is for the helper of this machine).
const FACTS_AHEAD_REPLAY: usize = 100_000;
use super::index::FACTS_BYTES_MAX;

type Reader = RecordingReader<BufReader<std::fs::File>>;

pub(super) struct Player {
    pub(super) reader: Reader,
    pub(super) out: Sender<Delivery>,
    pub(super) control: Arc<Mutex<Control>>,
    pub(super) poke: Receiver<()>,
    pub(super) trash: Receiver<Moment>,
    pub(super) waker: Waker,
    pub(super) timeline: Timeline,
}

/// Why a seek's moment was not built.
enum Unbuilt {
    /// A newer seek came, or the window closed.
    Superseded,
    /// The file cannot be read there again (it changed under the replay).
    Unreadable(String),
}

/// Where the reader is and what playing has delivered.
struct Cursor {
    index: Index,
    /// The number of the next sample the reader gives.
    next: usize,
    /// The epoch of the last moment sent: later events carry it.
    epoch: u64,
    /// When the last sample was delivered, and which.
    delivered: Option<(Instant, usize)>,
}

impl Player {
    pub(super) fn run(mut self, total_bytes: u64) {
        // Rebuilding minutes of history at thousands of programs takes a
        // core for a second: the window's thread comes first.
        // SAFETY: setpriority takes plain integers; 0 as `who` with
        // PRIO_PROCESS names the calling thread on Linux.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        let waker = Arc::clone(&self.waker);
        let control = Arc::clone(&self.control);
        let out = self.out.clone();
        let mut last_percent = None;
        let built = index::build(&mut self.reader, |offset| {
            if let Some(offset) = offset {
                let percent = offset.saturating_mul(100) / total_bytes.max(1);
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    let _ = out.try_send(Delivery::Progress(percent.min(100) as u8));
                    waker();
                }
            }
            !lock(&control).quit
        });
        let Some(index) = built else {
            return;
        };
        if index.points.is_empty() {
            let why = index.stopped.as_deref().map_or_else(
                || "the recording holds no samples".to_owned(),
                |why| format!("the recording holds no samples: {why}"),
            );
            self.send(Delivery::Failed(why));
            return;
        }
        self.timeline.samples.clone_from(&index.points);
        self.timeline.markers.clone_from(&index.markers);
        self.timeline.markers_dropped = index.markers_dropped;
        self.timeline.stopped.clone_from(&index.stopped);
        // The first sample has no rates: open at the second.
        let first = 1.min(index.points.len() - 1);
        {
            let mut control = lock(&self.control);
            if control.seek.is_none() {
                control.epoch += 1;
                control.seek = Some((control.epoch, first));
            }
        }
        self.send(Delivery::Ready(Box::new(self.timeline.clone())));
        let mut cursor = Cursor {
            index,
            next: 0,
            epoch: 0,
            delivered: None,
        };
        self.play(&mut cursor);
    }

    fn send(&self, delivery: Delivery) -> bool {
        let sent = self.out.send(delivery).is_ok();
        (self.waker)();
        sent
    }

    fn play(&mut self, cursor: &mut Cursor) {
        loop {
            // What the window replaced goes here.
            while self.trash.try_recv().is_ok() {}
            let control = lock(&self.control).clone();
            if control.quit {
                return;
            }
            if let Some((epoch, target)) = control.seek
                && epoch != cursor.epoch
            {
                let built = self.build(cursor, epoch, target);
                if let Err(Unbuilt::Unreadable(why)) = &built {
                    // Not again for this seek: say so and wait for another;
                    // nothing plays on from where the reading stopped.
                    cursor.epoch = epoch;
                    cursor.next = cursor.index.points.len();
                    if !self.send(Delivery::Failed(format!(
                        "cannot read the recording again: {why}"
                    ))) {
                        return;
                    }
                }
                if let Ok(moment) = built {
                    cursor.epoch = epoch;
                    cursor.delivered = Some((Instant::now(), target));
                    let info = cursor.index.hello_for(target).map(|(_, i)| i.clone());
                    if !self.send(Delivery::Moment {
                        epoch,
                        at: target,
                        moment,
                        info,
                    }) {
                        return;
                    }
                }
                continue;
            }
            let last = cursor.index.points.len() - 1;
            let step = control.steps > 0 && !control.playing;
            if (control.playing || step) && cursor.next <= last {
                if control.playing {
                    let wait = Self::due(cursor, control.speed.factor());
                    if !wait.is_zero() {
                        // A command wakes the thread early.
                        if !self.wait(Some(wait)) {
                            return;
                        }
                        continue;
                    }
                }
                if !self.deliver_next(cursor) {
                    return;
                }
                if step {
                    let mut shared = lock(&self.control);
                    shared.steps = shared.steps.saturating_sub(1);
                }
                continue;
            }
            if control.playing && cursor.next > last {
                lock(&self.control).playing = false;
                if !self.send(Delivery::Ended) {
                    return;
                }
                continue;
            }
            if cursor.next > last {
                lock(&self.control).steps = 0;
            }
            // Paused, or at the end: wait for a command (the handle's drop
            // disconnects the poke).
            if !self.wait(None) {
                return;
            }
        }
    }

    /// Waits for a command (`timeout` at most), freeing the moments the
    /// window sends back meanwhile; `false` once the window is gone.
    fn wait(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let trashed = if let Some(deadline) = deadline {
                select! {
                    recv(self.poke) -> poked => return poked.is_ok(),
                    recv(self.trash) -> moment => moment.is_ok(),
                    default(deadline.saturating_duration_since(Instant::now())) => return true,
                }
            } else {
                select! {
                    recv(self.poke) -> poked => return poked.is_ok(),
                    recv(self.trash) -> moment => moment.is_ok(),
                }
            };
            if !trashed {
                return false;
            }
        }
    }

    /// How long until the next sample is due at `speed`.
    fn due(cursor: &Cursor, speed: f64) -> Duration {
        let Some((at, shown)) = cursor.delivered else {
            return Duration::ZERO;
        };
        let points = &cursor.index.points;
        let (Some(now), Some(next)) = (points.get(shown), points.get(cursor.next)) else {
            return Duration::ZERO;
        };
        let gap = Duration::from_nanos(next.boottime_ns.saturating_sub(now.boottime_ns));
        let wait = gap.div_f64(speed).min(LONGEST_WAIT);
        wait.saturating_sub(at.elapsed())
    }

    /// Whether the window closed or asked for a newer seek than `epoch`.
    fn superseded(&self, epoch: u64) -> bool {
        let control = lock(&self.control);
        control.quit || control.seek.is_some_and(|(e, _)| e != epoch)
    }

    /// Sends the events up to and including the next sample.
    fn deliver_next(&mut self, cursor: &mut Cursor) -> bool {
        loop {
            match self.reader.next_event() {
                Next::Event(event) => {
                    let at = matches!(event, SourceEvent::Sample(_)).then_some(cursor.next);
                    let delivery = Delivery::Event {
                        epoch: cursor.epoch,
                        at,
                        event,
                    };
                    if !self.send(delivery) {
                        return false;
                    }
                    if let Some(at) = at {
                        cursor.next += 1;
                        cursor.delivered = Some((Instant::now(), at));
                        return true;
                    }
                }
                // The index saw this far: only a file changed under the
                // replay stops here.
                Next::End | Next::Stopped(_) => {
                    cursor.next = cursor.index.points.len();
                    return true;
                }
            }
        }
    }

    /// The moment at sample `target`: the history before it (as far as the
    /// store keeps) pushed into a new moment.
    fn build(
        &mut self,
        cursor: &mut Cursor,
        epoch: u64,
        target: usize,
    ) -> Result<Box<Moment>, Unbuilt> {
        let index = &cursor.index;
        let target = target.min(index.points.len() - 1);
        let at_ns = index.points[target].boottime_ns;
        let history = lock(&self.control)
            .history
            .unwrap_or(HISTORY_AGE)
            .min(HISTORY_AGE);
        let age = u64::try_from(history.as_nanos()).unwrap_or(u64::MAX);
        // One sample before the window, so its first point has a rate.
        let mut start = index
            .points
            .partition_point(|p| p.boottime_ns.saturating_add(age) < at_ns)
            .saturating_sub(1);
        start = start.max((target + 1).saturating_sub(HISTORY_POINTS));
        if let Some((first, _)) = index.hello_for(target) {
            start = start.max(first);
        }
        let start = start.min(target);
        let links = match index.links_from[start] {
            Some(from) if from as usize != start => self.links_of(cursor, from as usize),
            _ => None,
        };
        let index = &cursor.index;
        let block = index
            .blocks
            .get(index.block_of[start] as usize)
            .ok_or_else(|| Unbuilt::Unreadable("a block the index lost".to_owned()))?;
        self.reader
            .seek_block(block.pos)
            .map_err(|err| Unbuilt::Unreadable(err.to_string()))?;
        cursor.next = block.first_sample;
        let mut moment = Moment::default();
        let mut ahead = Vec::new();
        let mut ahead_bytes = 0usize;
        let mut links = links;
        loop {
            match self.reader.next_event() {
                Next::Event(SourceEvent::Sample(mut sample)) => {
                    let number = cursor.next;
                    cursor.next += 1;
                    if self.superseded(epoch) {
                        return Err(Unbuilt::Superseded);
                    }
                    if number < start {
                        ahead.clear();
                        ahead_bytes = 0;
                        continue;
                    }
                    let mut facts = std::mem::take(&mut ahead);
                    facts.append(&mut sample.facts);
                    sample.facts = facts;
                    if number == start {
                        index::with_known_facts(&mut sample, &cursor.index);
                        if sample.links.is_none() {
                            sample.links = links.take();
                        }
                    }
                    moment.push_sample(sample);
                    if number >= target {
                        return Ok(Box::new(moment));
                    }
                }
                Next::Event(SourceEvent::Facts(facts)) => {
                    // Bounded by bytes, not only count: a hostile file's
                    // facts can be large, and compress to nothing.
                    for facts in facts {
                        let size = facts.approx_bytes();
                        if ahead.len() < FACTS_AHEAD_REPLAY && ahead_bytes + size <= FACTS_BYTES_MAX
                        {
                            ahead_bytes += size;
                            ahead.push(facts);
                        }
                    }
                }
                Next::Event(_) => {}
                Next::End => {
                    return if moment.sample_count() > 0 {
                        Ok(Box::new(moment))
                    } else {
                        Err(Unbuilt::Unreadable("the file ends before it".to_owned()))
                    };
                }
                Next::Stopped(why) => return Err(Unbuilt::Unreadable(why.to_string())),
            }
        }
    }

    /// The links sample `number` carried (read again from its block).
    fn links_of(&mut self, cursor: &mut Cursor, number: usize) -> Option<Vec<LinkFacts>> {
        let block = cursor
            .index
            .blocks
            .get(cursor.index.block_of[number] as usize)?;
        self.reader.seek_block(block.pos).ok()?;
        cursor.next = block.first_sample;
        loop {
            if lock(&self.control).quit {
                return None;
            }
            match self.reader.next_event() {
                Next::Event(SourceEvent::Sample(sample)) => {
                    cursor.next += 1;
                    if cursor.next > number {
                        return sample.links;
                    }
                }
                Next::Event(_) => {}
                Next::End | Next::Stopped(_) => return None,
            }
        }
    }
}

pub(super) fn lock(control: &Mutex<Control>) -> std::sync::MutexGuard<'_, Control> {
    // The control is plain data: a panic elsewhere leaves it usable.
    control.lock().unwrap_or_else(PoisonError::into_inner)
}
