//! The named thread that owns a [`Sampler`] and sends one sample per period.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TryRecvError, bounded};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Sampler, SourceInfo};
use crate::model::Sample;

/// What a sample source (this thread, or later the elevated helper) sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceEvent {
    /// First event: what the source uses.
    Hello(SourceInfo),
    /// One pass over every program.
    Sample(Sample),
    /// Trouble the source survived, in words for the user.
    Error(String),
}

/// A sampling interval in the accepted range, 0.1 s to 3600 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Interval(Duration);

/// An interval outside the accepted range, or not a number.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("the sample interval must be a number of seconds from 0.1 to 3600, not {0:?}")]
pub struct IntervalError(String);

impl Interval {
    pub const MIN: Duration = Duration::from_millis(100);
    pub const MAX: Duration = Duration::from_secs(3600);
    pub const DEFAULT: Self = Self(Duration::from_secs(1));

    /// An interval of `duration`, if it is in range.
    pub fn new(duration: Duration) -> Result<Self, IntervalError> {
        if (Self::MIN..=Self::MAX).contains(&duration) {
            Ok(Self(duration))
        } else {
            Err(IntervalError(format!("{}", duration.as_secs_f64())))
        }
    }

    /// The interval as a duration.
    #[must_use]
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl Default for Interval {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let secs: f64 = s.trim().parse().map_err(|_| IntervalError(s.to_owned()))?;
        if !secs.is_finite() {
            return Err(IntervalError(s.to_owned()));
        }
        // Round to the millisecond so 0.1 is exactly 100 ms.
        let millis = (secs * 1000.0).round();
        if !(0.0..=Self::MAX.as_millis() as f64).contains(&millis) {
            return Err(IntervalError(s.to_owned()));
        }
        Self::new(Duration::from_millis(millis as u64)).map_err(|_| IntervalError(s.to_owned()))
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0.as_secs_f64())
    }
}

/// Requests to a running sampler thread.
#[derive(Clone, Copy, Debug)]
enum Control {
    SetInterval(Duration),
}

/// Called after every event the thread sends (e.g. to wake a UI).
pub type Waker = std::sync::Arc<dyn Fn() + Send + Sync>;

/// A running sampler thread. Dropping it stops the thread and waits for it,
/// which turns statistics off.
#[derive(Debug)]
pub struct SamplerThread {
    control: Option<Sender<Control>>,
    handle: Option<JoinHandle<()>>,
}

impl SamplerThread {
    /// Stops sampling and waits until statistics are off again.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Samples every `interval` from now on (the next sample comes one new
    /// interval from now).
    pub fn set_interval(&self, interval: Interval) {
        if let Some(control) = &self.control {
            // Full only if several changes are pending; the newest then waits
            // for the thread to catch up, which it does within one period.
            let _ = control.try_send(Control::SetInterval(interval.duration()));
        }
    }

    fn shutdown(&mut self) {
        drop(self.control.take());
        if let Some(handle) = self.handle.take() {
            if handle.join().is_err() {
                tracing::error!("the sampler thread panicked");
            }
        }
    }
}

impl Drop for SamplerThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts `sampler` on a thread named `bpfscope-sampler`.
///
/// It sends a [`SourceEvent::Hello`], then one [`SourceEvent::Sample`] per
/// `interval` on a drift-free schedule (deadlines are `start + k·interval`; a
/// pass that overruns skips the deadlines it missed instead of bursting).
/// It stops when the receiver of `tx` is dropped or [`SamplerThread::stop`]
/// is called; a failed pass is sent as [`SourceEvent::Error`] and sampling
/// goes on.
pub fn spawn(
    sampler: Sampler,
    interval: Interval,
    tx: Sender<SourceEvent>,
) -> io::Result<SamplerThread> {
    spawn_with_waker(sampler, interval, tx, std::sync::Arc::new(|| {}))
}

/// [`spawn`], calling `waker` after every event sent.
pub fn spawn_with_waker(
    sampler: Sampler,
    interval: Interval,
    tx: Sender<SourceEvent>,
    waker: Waker,
) -> io::Result<SamplerThread> {
    let (control_tx, control_rx) = bounded::<Control>(4);
    let handle = std::thread::Builder::new()
        .name("bpfscope-sampler".to_owned())
        .spawn(move || {
            let out = Outbox {
                tx: &tx,
                control: &control_rx,
                waker: &waker,
            };
            run(sampler, interval.duration(), &out);
        })?;
    Ok(SamplerThread {
        control: Some(control_tx),
        handle: Some(handle),
    })
}

struct Outbox<'a> {
    tx: &'a Sender<SourceEvent>,
    control: &'a Receiver<Control>,
    waker: &'a Waker,
}

impl Outbox<'_> {
    /// Sends `event`, waiting while the channel is full; `false` means stop
    /// (receiver gone or thread stopped). An interval change that arrives
    /// meanwhile is kept in `pending`.
    fn send(&self, event: SourceEvent, pending: &mut Option<Duration>) -> bool {
        let mut event = event;
        loop {
            match self.tx.send_timeout(event, Duration::from_millis(50)) {
                Ok(()) => {
                    (self.waker)();
                    return true;
                }
                Err(SendTimeoutError::Disconnected(_)) => return false,
                Err(SendTimeoutError::Timeout(back)) => {
                    event = back;
                    match self.control.try_recv() {
                        Ok(Control::SetInterval(period)) => *pending = Some(period),
                        Err(TryRecvError::Disconnected) => return false,
                        Err(TryRecvError::Empty) => {}
                    }
                }
            }
        }
    }
}

/// Sampling deadlines on the fixed grid `start + k·period`.
struct Schedule {
    start: Instant,
    period: Duration,
    tick: u32,
}

impl Schedule {
    /// A grid starting now: the first deadline is one period away.
    fn new(period: Duration) -> Self {
        Self {
            start: Instant::now(),
            period,
            tick: 0,
        }
    }

    /// The next deadline, skipping any already missed instead of bursting.
    fn next_deadline(&mut self) -> Instant {
        let elapsed = self.start.elapsed();
        self.tick = self.tick.saturating_add(1);
        if self.period.saturating_mul(self.tick) <= elapsed {
            let missed = (elapsed.as_nanos() / self.period.as_nanos().max(1)) as u32;
            self.tick = missed.saturating_add(1);
        }
        self.start + self.period.saturating_mul(self.tick)
    }
}

fn run(mut sampler: Sampler, period: Duration, out: &Outbox<'_>) {
    let mut pending = None;
    if !out.send(SourceEvent::Hello(sampler.info().clone()), &mut pending) {
        return;
    }
    let mut schedule = Schedule::new(period);
    loop {
        let event = match sampler.sample(schedule.period) {
            Ok(sample) => SourceEvent::Sample(sample),
            Err(err) => SourceEvent::Error(err.to_string()),
        };
        if !out.send(event, &mut pending) {
            return;
        }
        for warning in sampler.take_warnings() {
            if !out.send(SourceEvent::Error(warning), &mut pending) {
                return;
            }
        }
        // An interval change restarts the grid: the next sample comes one
        // new interval after it.
        if let Some(new_period) = pending.take() {
            schedule = Schedule::new(new_period);
        }
        let mut deadline = schedule.next_deadline();
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match out.control.recv_timeout(wait) {
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => break,
                Ok(Control::SetInterval(new_period)) => {
                    schedule = Schedule::new(new_period);
                    deadline = schedule.next_deadline();
                }
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_in_range_parse() {
        assert_eq!(
            "0.1".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_millis(100))
        );
        assert_eq!(
            "3600".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_secs(3600))
        );
        assert_eq!(
            " 2.5 ".parse::<Interval>().map(Interval::duration),
            Ok(Duration::from_millis(2500))
        );
    }

    #[test]
    fn intervals_out_of_range_are_rejected_with_the_range() {
        for bad in ["0.05", "0", "-1", "3600.5", "1e9", "NaN", "inf", "abc", ""] {
            let err = bad.parse::<Interval>().expect_err(bad);
            assert!(err.to_string().contains("0.1 to 3600"), "{err}");
        }
    }
}
