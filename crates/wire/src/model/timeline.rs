//! A recording's timeline, as the window shows it under a replay: when each
//! sample was taken, where programs came and went, where the replay is and
//! how fast it plays. Made by the replay source, read by the UI.

use std::time::SystemTime;

/// Markers kept for the timeline at most (a recording of heavy churn has
/// more; they are counted, not drawn).
pub const TIMELINE_MARKERS_MAX: usize = 10_000;

/// How fast a replay plays: recorded seconds per second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Speed {
    #[default]
    X1,
    X10,
    X60,
}

impl Speed {
    pub const ALL: [Self; 3] = [Self::X1, Self::X10, Self::X60];

    #[must_use]
    pub fn factor(self) -> f64 {
        match self {
            Self::X1 => 1.0,
            Self::X10 => 10.0,
            Self::X60 => 60.0,
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::X1 => "1×",
            Self::X10 => "10×",
            Self::X60 => "60×",
        }
    }
}

/// What the user asks of a replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayCommand {
    /// Plays when paused, pauses when playing (from the start again at the
    /// end).
    PlayPause,
    SetSpeed(Speed),
    /// Shows this sample (and the history before it).
    Seek(usize),
    /// One sample forward or back, paused.
    Step(isize),
}

/// One sample of the recording, on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimePoint {
    /// `CLOCK_BOOTTIME` of the recorded host at the sample.
    pub boottime_ns: u64,
    pub wall: SystemTime,
}

/// A program that came or went before a sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineMarker {
    /// The first sample that shows the change.
    pub sample: usize,
    pub loaded: bool,
    pub id: u32,
    pub name: String,
}

/// The recording a replay reads, and where the replay is in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The host recorded, and its kernel (from the recording's header).
    pub host: String,
    pub kernel_release: String,
    /// The file, as the user named it.
    pub file: String,
    /// Every sample, in order.
    pub samples: Vec<TimePoint>,
    /// Loads and unloads, in order (at most [`TIMELINE_MARKERS_MAX`]).
    pub markers: Vec<TimelineMarker>,
    /// Loads and unloads past the markers kept.
    pub markers_dropped: usize,
    /// The sample shown; `None` before the first arrives.
    pub position: Option<usize>,
    /// Where a seek is going, until its moment arrives.
    pub seeking: Option<usize>,
    pub playing: bool,
    pub speed: Speed,
    /// Why the file stops early (truncated, damaged): shown with the rest.
    pub stopped: Option<String>,
}

impl Timeline {
    /// The time of the sample shown.
    #[must_use]
    pub fn shown_at(&self) -> Option<SystemTime> {
        self.samples.get(self.position?).map(|p| p.wall)
    }

    /// The sample at or just before `boottime_ns` (the first if earlier).
    #[must_use]
    pub fn sample_at(&self, boottime_ns: u64) -> Option<usize> {
        if self.samples.is_empty() {
            return None;
        }
        let after = self
            .samples
            .partition_point(|p| p.boottime_ns <= boottime_ns);
        Some(after.saturating_sub(1))
    }

    /// The next marker after the shown sample (`forward`) or the one
    /// before it: the sample to jump to.
    #[must_use]
    pub fn marker_from(&self, forward: bool) -> Option<usize> {
        let at = self.seeking.or(self.position)?;
        if forward {
            self.markers.iter().map(|m| m.sample).find(|&s| s > at)
        } else {
            self.markers
                .iter()
                .rev()
                .map(|m| m.sample)
                .find(|&s| s < at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timeline(times: &[u64], markers: &[usize]) -> Timeline {
        Timeline {
            samples: times
                .iter()
                .map(|&t| TimePoint {
                    boottime_ns: t,
                    wall: SystemTime::UNIX_EPOCH + Duration::from_nanos(t),
                })
                .collect(),
            markers: markers
                .iter()
                .map(|&sample| TimelineMarker {
                    sample,
                    loaded: true,
                    id: 1,
                    name: "p".to_owned(),
                })
                .collect(),
            position: Some(2),
            ..Timeline::default()
        }
    }

    #[test]
    fn a_time_finds_the_sample_at_or_before_it() {
        let t = timeline(&[10, 20, 30], &[]);
        assert_eq!(t.sample_at(5), Some(0));
        assert_eq!(t.sample_at(20), Some(1));
        assert_eq!(t.sample_at(29), Some(1));
        assert_eq!(t.sample_at(99), Some(2));
        assert_eq!(Timeline::default().sample_at(1), None);
    }

    #[test]
    fn markers_are_found_on_either_side_of_the_position() {
        let t = timeline(&[1, 2, 3, 4, 5], &[1, 2, 4]);
        assert_eq!(t.marker_from(true), Some(4));
        assert_eq!(t.marker_from(false), Some(1));
        let end = Timeline {
            position: Some(4),
            ..t
        };
        assert_eq!(end.marker_from(true), None);
    }
}
