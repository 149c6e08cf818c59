//! The fleet as Prometheus knows it: every host running `bpfscope serve`,
//! its total BPF CPU over the plot window and its top programs. Every text
//! here is a label some exporter wrote, so it is cleaned and bounded.

use std::time::SystemTime;

/// Programs kept per host: the top ones by CPU.
pub const TOP_PROGRAMS: usize = 10;
/// Hosts kept at most.
pub const HOSTS_MAX: usize = 10_000;
/// Points per host's series at most.
pub const POINTS_MAX: usize = 240;
/// Bytes of a label kept at most.
pub const LABEL_MAX: usize = 256;

/// Where to find Prometheus, and as whom.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetTarget {
    /// `http://host:9090` or `https://…`, maybe with a path prefix.
    pub url: String,
    /// Basic authentication, when a user is given.
    pub user: String,
    pub password: String,
    /// A PEM file of the CA that signed Prometheus' certificate, besides
    /// the system's.
    pub ca_file: String,
}

/// One program of a host, as its exporter reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetProgram {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub owner: String,
    pub attach: String,
    /// CPU seconds per second (×100: % of one CPU).
    pub cpu: f64,
    pub events_per_sec: Option<f64>,
}

impl FleetProgram {
    /// Average runtime per run in nanoseconds, where it ran.
    #[must_use]
    pub fn avg_runtime_ns(&self) -> Option<f64> {
        self.events_per_sec
            .filter(|e| *e > 0.0)
            .map(|e| self.cpu / e * 1e9)
    }
}

/// One host: an `instance` that has reported bpfscope metrics lately.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetHost {
    pub instance: String,
    /// Whether Prometheus' last scrape of it worked.
    pub up: bool,
    /// BPF CPU seconds per second now (the last point), if it reports.
    pub cpu: Option<f64>,
    /// Programs loaded now.
    pub programs: Option<u64>,
    /// (seconds relative to the fetch, CPU seconds per second).
    pub series: Vec<[f64; 2]>,
    pub top: Vec<FleetProgram>,
}

/// What one round of queries found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetData {
    pub fetched: Option<SystemTime>,
    pub window_secs: u64,
    pub hosts: Vec<FleetHost>,
    /// Whether hosts were left out past [`HOSTS_MAX`].
    pub cut: bool,
}

/// What the fleet worker says.
#[derive(Clone, Debug, PartialEq)]
pub enum FleetEvent {
    Data(FleetData),
    /// Why the last round found nothing: in words for the window.
    Problem(String),
}

/// `text` as the window may show it: control and invisible reordering
/// characters replaced, at most [`LABEL_MAX`] bytes.
#[must_use]
pub fn clean_label(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if is_hidden_or_control(c) {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect();
    if super::truncate_at_char(&mut out, LABEL_MAX) {
        out.push('…');
    }
    out
}

/// C0 and C1 controls and DEL (Unicode's `Cc`), and the invisible format
/// characters that reorder or hide text (bidirectional overrides and
/// isolates, zero-width marks).
#[must_use]
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
        || c == '\u{FEFF}'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lose_controls_and_reordering_and_are_bounded() {
        assert_eq!(clean_label("node-1:9436"), "node-1:9436");
        assert_eq!(clean_label("a\u{202E}b\x1b[2J"), "a\u{FFFD}b\u{FFFD}[2J");
        let long = clean_label(&"é".repeat(400));
        assert!(long.len() <= LABEL_MAX + '…'.len_utf8() && long.ends_with('…'));
    }

    #[test]
    fn the_average_runtime_is_cpu_over_runs() {
        let p = FleetProgram {
            cpu: 0.001,
            events_per_sec: Some(10_000.0),
            ..FleetProgram::default()
        };
        assert_eq!(p.avg_runtime_ns(), Some(100.0));
        let idle = FleetProgram {
            events_per_sec: Some(0.0),
            ..p
        };
        assert_eq!(idle.avg_runtime_ns(), None);
    }
}
