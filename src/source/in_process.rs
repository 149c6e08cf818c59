//! Sampling on a thread of this process (bpfscope run as root), and
//! changing how: the interval, low-overhead mode.

use std::sync::Arc;

use crossbeam_channel::bounded;

use super::{CHANNEL_CAPACITY, Kind, Source};
use crate::model::{Interval, SampleOrigin, Status, Waker};
use crate::sampler::{Sampler, SamplerConfig, SamplerThread, spawn_with_waker};

/// Sampling on a thread of this process, with what starting it again takes.
pub(super) struct InProcess {
    pub(super) thread: SamplerThread,
    pub(super) interval: Interval,
    pub(super) waker: Waker,
    pub(super) low_overhead_percent: Option<u8>,
}

impl Source {
    /// Samples on a thread of this process; `low_overhead_percent`:
    /// low-overhead mode's percentage of each interval.
    #[must_use]
    pub fn in_process(interval: Interval, waker: Waker, low_overhead_percent: Option<u8>) -> Self {
        let config = SamplerConfig {
            owners: true,
            facts: true,
            low_overhead: low_overhead_percent.and_then(|p| {
                crate::sampler::low_overhead::LowOverhead::percent_of(
                    u32::from(p),
                    interval.duration(),
                )
                .ok()
            }),
            ..SamplerConfig::default()
        };
        match Sampler::new(config) {
            Ok(mut sampler) => {
                // Low-overhead mode as it runs: the sampler may have said
                // why it could not (statistics already on, an old kernel).
                let running_percent = low_overhead_percent.filter(|_| sampler.toggler().is_some());
                let mut source = Self::from_sampler(sampler, interval, waker);
                if let Kind::InProcess(running) = &mut source.kind {
                    running.low_overhead_percent = running_percent;
                }
                source
            }
            Err(err) => Self::unavailable(err.to_string()),
        }
    }

    /// Samples with `sampler` on a thread of this process.
    #[must_use]
    pub fn from_sampler(sampler: Sampler, interval: Interval, waker: Waker) -> Self {
        let (tx, rx) = bounded(CHANNEL_CAPACITY);
        match spawn_with_waker(sampler, interval, tx, Arc::clone(&waker)) {
            Ok(thread) => Self {
                rx,
                status: Status::Sampling(SampleOrigin::InProcess),
                kind: Kind::InProcess(InProcess {
                    thread,
                    interval,
                    waker,
                    low_overhead_percent: None,
                }),
            },
            Err(err) => Self::unavailable(format!("cannot start the sampling thread: {err}")),
        }
    }

    /// Changes the sampling interval. The helper takes no commands, so it is
    /// started again with the new interval (polkit keeps the authorization
    /// for a while, so that does not ask again).
    pub fn set_interval(&mut self, interval: Interval) {
        match &mut self.kind {
            // Low-overhead mode's toggler keeps the schedule it started with.
            Kind::InProcess(running) if running.low_overhead_percent.is_some() => {
                let (waker, low_overhead_percent) =
                    (Arc::clone(&running.waker), running.low_overhead_percent);
                // The old sampler (and its toggler) goes before the new one
                // measures and turns statistics on.
                self.kind = Kind::Fixed;
                *self = Self::in_process(interval, waker, low_overhead_percent);
            }
            Kind::InProcess(running) => {
                running.interval = interval;
                running.thread.set_interval(interval);
            }
            Kind::Helper(helper) => {
                helper.interval = interval;
                self.update_status();
                if matches!(
                    self.status,
                    Status::Sampling(SampleOrigin::Helper | SampleOrigin::Remote)
                ) && let Kind::Helper(helper) = &mut self.kind
                {
                    helper.stop();
                    self.status = helper.start(true);
                }
            }
            Kind::Replay(_) | Kind::Fixed => {}
        }
    }

    /// Turns low-overhead mode on (statistics on `percent` % of each
    /// interval) or off (`None`), starting the sampler again when it
    /// changes: the toggler's schedule is fixed when it starts.
    /// `interactive`: polkit may ask for a password.
    pub fn set_low_overhead_percent(&mut self, percent: Option<u8>, interactive: bool) {
        match &mut self.kind {
            Kind::InProcess(running) if running.low_overhead_percent != percent => {
                let (waker, interval) = (Arc::clone(&running.waker), running.interval);
                // The old sampler (and its toggler) goes before the new one
                // turns statistics on.
                self.kind = Kind::Fixed;
                *self = Self::in_process(interval, waker, percent);
            }
            Kind::Helper(helper) if helper.launch.low_overhead_percent != percent => {
                helper.launch.low_overhead_percent = percent;
                helper.stop();
                self.status = helper.start(interactive);
            }
            Kind::InProcess(_) | Kind::Helper(_) | Kind::Replay(_) | Kind::Fixed => {}
        }
    }

    /// Low-overhead mode's percentage of each interval, where it is on.
    #[must_use]
    pub fn low_overhead_percent(&self) -> Option<u8> {
        match &self.kind {
            Kind::InProcess(running) => running.low_overhead_percent,
            Kind::Helper(helper) => helper.launch.low_overhead_percent,
            Kind::Replay(_) | Kind::Fixed => None,
        }
    }
}
