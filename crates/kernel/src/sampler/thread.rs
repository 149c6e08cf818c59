//! The named thread that owns a [`Sampler`] and sends one sample per period.

use std::io;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Sampler;
use crate::model::{Interval, SourceEvent, Waker};
use crossbeam_channel::{Receiver, SendTimeoutError, Sender, TryRecvError, bounded};

/// Requests to a running sampler thread.
#[derive(Clone, Copy, Debug)]
enum Control {
    SetInterval(Duration),
}

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
        if let Some(handle) = self.handle.take()
            && handle.join().is_err()
        {
            tracing::error!("the sampler thread panicked");
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

/// What sending a pass came to.
enum Sent {
    /// The receiver is gone or the thread stopped.
    Stop,
    /// A sample taken at this `CLOCK_BOOTTIME`.
    Sample(u64),
    /// The pass failed (its error was sent).
    Failed,
}

/// Sends a pass's sample (or its error) and the warnings it left.
fn send_pass(
    sampler: &mut Sampler,
    pass: Result<crate::model::Sample, super::SamplerError>,
    out: &Outbox<'_>,
    pending: &mut Option<Duration>,
) -> Sent {
    let (event, sent) = match pass {
        Ok(sample) => {
            let at = sample.boottime_ns;
            (SourceEvent::Sample(sample), Sent::Sample(at))
        }
        Err(err) => (SourceEvent::Error(err.to_string()), Sent::Failed),
    };
    if !out.send(event, pending) {
        return Sent::Stop;
    }
    for warning in sampler.take_warnings() {
        if !out.send(SourceEvent::Warning(warning), pending) {
            return Sent::Stop;
        }
    }
    sent
}

fn run(mut sampler: Sampler, period: Duration, out: &Outbox<'_>) {
    let mut pending = None;
    if !out.send(SourceEvent::Hello(sampler.info().clone()), &mut pending) {
        return;
    }
    if let Some(toggler) = sampler.toggler() {
        let every = toggler.schedule().every;
        match toggler.windows() {
            Ok(windows) => return run_windows(sampler, every, &windows, out),
            Err(err) => {
                let message = format!("cannot read the statistics toggler: {err}");
                let _ = out.send(SourceEvent::Error(message), &mut pending);
                return;
            }
        }
    }
    let mut schedule = Schedule::new(period);
    loop {
        let sample = sampler.sample(schedule.period);
        if matches!(
            send_pass(&mut sampler, sample, out, &mut pending),
            Sent::Stop
        ) {
            return;
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

/// Low-overhead mode: a sample after every window the toggler reports
/// (the first before any), on its schedule. Windows that pile up while a
/// pass or the reader lags are summed into the next sample, and time that
/// ended before the last sample counts for nothing: each sample's time on
/// is the time its counters grew. Interval changes wait for a new
/// sampler: the toggler's schedule is fixed when it starts.
fn run_windows(
    mut sampler: Sampler,
    every: Duration,
    windows: &Receiver<io::Result<super::low_overhead::Window>>,
    out: &Outbox<'_>,
) {
    let mut pending = None;
    // The first sample is the baseline: nothing was counted before it.
    let mut on_ns = Some(0);
    let mut last_ns = 0;
    loop {
        if let Some(on) = on_ns.take() {
            let sample = sampler.sample_after(every, Some(on));
            match send_pass(&mut sampler, sample, out, &mut pending) {
                Sent::Stop => return,
                Sent::Sample(at) => last_ns = at,
                Sent::Failed => {}
            }
        }
        let mut failed = None;
        crossbeam_channel::select! {
            recv(windows) -> got => match got {
                Ok(Ok(first)) => {
                    let counted = |w: super::low_overhead::Window| w.off_ns.saturating_sub(w.on_ns.max(last_ns));
                    let mut total = counted(first);
                    loop {
                        match windows.try_recv() {
                            Ok(Ok(w)) => total = total.saturating_add(counted(w)),
                            Ok(Err(err)) => {
                                failed = Some(err);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    on_ns = (total > 0).then_some(total);
                }
                Ok(Err(err)) => failed = Some(err),
                Err(_) => return,
            },
            recv(out.control) -> got => {
                if got.is_err() {
                    return;
                }
            },
        }
        if let Some(err) = failed {
            let message =
                format!("{err}: statistics are off and sampling has stopped (restart bpfscope)");
            let _ = out.send(SourceEvent::Error(message), &mut pending);
            return;
        }
    }
}
