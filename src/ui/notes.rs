//! What the table says in words when a grid would say nothing: measuring
//! before the second sample, nothing loaded but bpfscope's own, nothing
//! matching the filter.

use std::time::Duration;

use eframe::egui::{self, RichText};

use crate::view::Counts;

/// What the notes depend on.
#[derive(Debug)]
pub struct TableNotes<'a> {
    pub counts: Counts,
    /// Samples in the shown history.
    pub samples: usize,
    /// Whether the source is delivering samples.
    pub sampling: bool,
    pub filter: &'a str,
    /// Lines the table would draw.
    pub lines: usize,
    pub interval: Duration,
}

/// Draws the note that applies, if any; whether the table should be drawn.
pub fn table_notes_ui(ui: &mut egui::Ui, notes: &TableNotes<'_>) -> bool {
    let counts = notes.counts;
    let others = counts.others();
    if notes.sampling && notes.samples < 2 {
        let when = if notes.samples == 0 {
            "Taking the first sample…".to_owned()
        } else {
            format!(
                "Measuring: runtimes, rates and CPU shares appear with the second sample, {} \
                 after the first.",
                humantime::format_duration(notes.interval)
            )
        };
        note(ui, &when, None);
    }
    if notes.samples == 0 {
        return notes.lines > 0;
    }
    if others == 0 && counts.gone == 0 {
        let more = if counts.own == 0 {
            None
        } else if counts.own_hidden {
            Some(format!(
                "bpfscope's own {} iterators are hidden; \"bpfscope's own\" in the top bar lists \
                 them.",
                counts.own
            ))
        } else if notes.lines == 0 {
            Some(format!(
                "bpfscope's own {} iterators do not match the filter.",
                counts.own
            ))
        } else {
            Some(format!(
                "Listed below, muted: bpfscope's own {} iterators, which read what this window \
                 shows.",
                counts.own
            ))
        };
        note(
            ui,
            if counts.own == 0 {
                "No BPF programs are loaded."
            } else {
                "No BPF programs are loaded besides bpfscope's own."
            },
            more.as_deref(),
        );
        return notes.lines > 0;
    }
    if notes.lines == 0 && !notes.filter.trim().is_empty() {
        note(
            ui,
            &format!("No program matches the filter \"{}\".", notes.filter.trim()),
            Some("The filter looks in names, types, ids, owners, attach points and maps."),
        );
        return false;
    }
    true
}

fn note(ui: &mut egui::Ui, text: &str, more: Option<&str>) {
    egui::Frame::group(ui.style())
        .fill(ui.visuals().extreme_bg_color)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(text).strong());
            if let Some(more) = more {
                ui.label(more);
            }
        });
    ui.add_space(4.0);
}
