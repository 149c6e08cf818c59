//! Thresholds crossed: which programs went over since the last sample, and
//! desktop notifications about them (freedesktop notifications over the
//! session bus, at most one every [`MIN_GAP`]).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};

use crate::model::ProgramKey;
use crate::store::{Moment, Row};
use crate::view::Thresholds;

/// Notifications come at most this often; crossings in between are
/// collected into the next one.
pub const MIN_GAP: Duration = Duration::from_secs(30);
/// Names kept for the next notification.
const PENDING_MAX: usize = 50;
/// Names listed in one notification; the rest are counted.
const NAMES_SHOWN: usize = 3;

/// One desktop notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub summary: String,
    pub body: String,
}

/// Which programs are over a threshold, and what to say about new ones.
#[derive(Debug, Default)]
pub struct Alerts {
    over: HashSet<ProgramKey>,
    pending: Vec<String>,
    last_sent: Option<Instant>,
}

impl Alerts {
    /// Takes in the rows of a new sample; returns a notification when a
    /// program crossed a threshold and the last one is [`MIN_GAP`] old.
    pub fn update(&mut self, rows: &[Row], thresholds: &Thresholds, now: Instant) -> Option<Note> {
        let over: HashSet<ProgramKey> = rows
            .iter()
            .filter(|r| !r.gone && r.metrics.is_some_and(|m| thresholds.exceeded(&m)))
            .map(|r| r.key)
            .collect();
        for row in rows
            .iter()
            .filter(|r| over.contains(&r.key) && !self.over.contains(&r.key))
        {
            if self.pending.len() < PENDING_MAX {
                self.pending.push(row.label());
            }
        }
        self.over = over;
        if self.pending.is_empty() || self.last_sent.is_some_and(|t| now - t < MIN_GAP) {
            return None;
        }
        self.last_sent = Some(now);
        let names = std::mem::take(&mut self.pending);
        let mut body = names[..names.len().min(NAMES_SHOWN)].join(", ");
        if names.len() > NAMES_SHOWN {
            let _ = write!(body, " and {} more", names.len() - NAMES_SHOWN); // cannot fail
        }
        let summary = if names.len() == 1 {
            "A BPF program crossed your threshold".to_owned()
        } else {
            format!("{} BPF programs crossed your thresholds", names.len())
        };
        Some(Note { summary, body })
    }
}

/// Why desktop notifications fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot start the notification thread: {0}")]
    Thread(String),
    /// No session bus to send them on (a session without a desktop).
    #[error("desktop notifications are unavailable (no session bus: {0})")]
    NoSessionBus(String),
    /// The notification service refused or did not answer.
    #[error("desktop notification failed: {0}")]
    Refused(String),
}

/// Sends notifications from a thread of its own (a D-Bus call can block).
#[derive(Debug)]
pub struct Notifier {
    tx: Sender<Note>,
    failures: Receiver<NotifyError>,
}

impl Notifier {
    /// Starts the sender thread; `None` (with the reason) if it cannot start.
    pub fn start() -> Result<Self, NotifyError> {
        let (tx, rx) = bounded::<Note>(4);
        let (fail_tx, failures) = bounded::<NotifyError>(4);
        std::thread::Builder::new()
            .name("bpfscope-notify".into())
            .spawn(move || {
                for note in rx {
                    if let Err(err) = send(&note) {
                        // Full: the window has not read the last one yet.
                        let _ = fail_tx.try_send(err);
                    }
                }
            })
            .map_err(|e| NotifyError::Thread(e.to_string()))?;
        Ok(Self { tx, failures })
    }

    /// Queues a notification; a full queue drops it (they are rate-limited,
    /// so this means the bus is stuck).
    pub fn notify(&self, note: Note) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(note) {
            tracing::debug!("notification dropped: the sender is busy or gone");
        }
    }

    /// Why notifications failed since the last call, if they did.
    pub fn failure(&self) -> Option<NotifyError> {
        self.failures.try_iter().last()
    }
}

/// Thresholds watched over the live data, and the notifier they use.
#[derive(Debug, Default)]
pub struct ThresholdWatcher {
    alerts: Alerts,
    /// Started when the first notification is due.
    notifier: Option<Notifier>,
    /// The sample the alerts last looked at.
    seen: Option<u64>,
}

impl ThresholdWatcher {
    /// Looks at a new sample of `live`, if there is one, and sends a
    /// notification when one is due; the error says why notifications fail.
    pub fn check(&mut self, live: &Moment, thresholds: &Thresholds) -> Result<(), NotifyError> {
        let failure = self.notifier.as_ref().and_then(Notifier::failure);
        let checked = self.check_sample(live, thresholds);
        match failure {
            Some(failure) => Err(failure),
            None => checked,
        }
    }

    fn check_sample(&mut self, live: &Moment, thresholds: &Thresholds) -> Result<(), NotifyError> {
        let latest = live.latest_boottime_ns();
        if latest == self.seen {
            return Ok(());
        }
        self.seen = latest;
        if !thresholds.any() {
            return Ok(());
        }
        let note = self.alerts.update(live.rows(), thresholds, Instant::now());
        let Some(note) = note.filter(|_| thresholds.notify) else {
            return Ok(());
        };
        if self.notifier.is_none() {
            self.notifier = Some(Notifier::start()?);
        }
        if let Some(notifier) = &self.notifier {
            notifier.notify(note);
        }
        Ok(())
    }
}

/// `org.freedesktop.Notifications.Notify` on the session bus.
fn send(note: &Note) -> Result<(), NotifyError> {
    use gio::glib::Variant;
    use gio::glib::variant::ToVariant;
    let bus = gio::bus_get_sync(gio::BusType::Session, None::<&gio::Cancellable>)
        .map_err(|e| NotifyError::NoSessionBus(e.to_string()))?;
    let hints: std::collections::HashMap<String, Variant> = std::collections::HashMap::new();
    let params = (
        "bpfscope",
        0u32,
        "io.github.bpfscope.BpfScope",
        note.summary.as_str(),
        note.body.as_str(),
        Vec::<String>::new(),
        hints,
        -1i32,
    )
        .to_variant();
    bus.call_sync(
        Some("org.freedesktop.Notifications"),
        "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications",
        "Notify",
        Some(&params),
        None,
        gio::DBusCallFlags::NONE,
        5_000,
        None::<&gio::Cancellable>,
    )
    .map(|_| ())
    .map_err(|e| NotifyError::Refused(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u32, cpu: f64) -> Row {
        Row::example(id, &format!("p{id}"), Some(cpu))
    }

    #[test]
    fn crossing_notifies_once_and_the_gap_collects_the_rest() {
        let t = Thresholds {
            cpu_percent: Some(1.0),
            ..Thresholds::default()
        };
        let mut alerts = Alerts::default();
        let start = Instant::now();
        assert_eq!(alerts.update(&[row(1, 0.5)], &t, start), None);
        let note = alerts.update(&[row(1, 2.0)], &t, start).expect("crossed");
        assert_eq!(note.body, "p1 (#1)");
        // Staying over is not news.
        assert_eq!(alerts.update(&[row(1, 3.0)], &t, start + MIN_GAP), None);
        // Another crossing inside the gap waits for it.
        let rows = [
            row(1, 3.0),
            row(2, 5.0),
            row(3, 5.0),
            row(4, 5.0),
            row(5, 5.0),
        ];
        assert_eq!(
            alerts.update(&rows, &t, start + Duration::from_secs(1)),
            None
        );
        let note = alerts
            .update(&rows, &t, start + MIN_GAP + Duration::from_secs(1))
            .expect("after the gap");
        assert_eq!(note.summary, "4 BPF programs crossed your thresholds");
        assert_eq!(note.body, "p2 (#2), p3 (#3), p4 (#4) and 1 more");
        // Going under and over again counts as a new crossing.
        assert_eq!(alerts.update(&[row(1, 0.1)], &t, start + MIN_GAP * 3), None);
        assert!(
            alerts
                .update(&[row(1, 9.0)], &t, start + MIN_GAP * 3)
                .is_some()
        );
    }
}
