//! A replay's timeline at the bottom of the window: play and pause, the
//! speed, steps and jumps to the markers, and the strip itself — loads
//! and unloads as ticks, the shown time as a line — to click or drag to
//! any moment of the recording.

use std::time::{Duration, SystemTime};

use eframe::egui::{self, Color32, RichText, Sense, Stroke, pos2, vec2};

use super::format;
use crate::model::{ReplayCommand, Speed, Timeline, TimelineMarker};
use crate::view::Command;

/// Height of the strip, in points.
const STRIP_HEIGHT: f32 = 26.0;
/// Markers named in the strip's tooltip at most.
const TIP_MARKERS: usize = 8;

/// The controls and the strip.
pub fn timeline_ui(ui: &mut egui::Ui, timeline: &Timeline, commands: &mut Vec<Command>) {
    let mut push = |command| commands.push(Command::Replay(command));
    ui.horizontal(|ui| {
        let ready = timeline.position.is_some();
        ui.add_enabled_ui(ready, |ui| {
            if ui
                .button("⏮")
                .on_hover_text("The previous load or unload")
                .clicked()
                && let Some(at) = timeline.marker_from(false)
            {
                push(ReplayCommand::Seek(at));
            }
            if ui
                .button("◀")
                .on_hover_text("One sample back (←)")
                .clicked()
            {
                push(ReplayCommand::Step(-1));
            }
            let play = if timeline.playing {
                "⏸ Pause"
            } else {
                "⏵ Play"
            };
            if ui.button(play).on_hover_text("Space").clicked() {
                push(ReplayCommand::PlayPause);
            }
            if ui.button("▶").on_hover_text("One sample on (→)").clicked() {
                push(ReplayCommand::Step(1));
            }
            if ui
                .button("⏭")
                .on_hover_text("The next load or unload")
                .clicked()
                && let Some(at) = timeline.marker_from(true)
            {
                push(ReplayCommand::Seek(at));
            }
            ui.separator();
            for speed in Speed::ALL {
                if ui
                    .selectable_label(timeline.speed == speed, speed.label())
                    .on_hover_text("Recorded seconds per second")
                    .clicked()
                {
                    push(ReplayCommand::SetSpeed(speed));
                }
            }
        });
        ui.separator();
        let times = span(timeline);
        let label = times.map_or_else(String::new, |(start, end)| {
            let shown = timeline
                .seeking
                .or(timeline.position)
                .and_then(|i| timeline.samples.get(i))
                .map_or_else(|| "…".to_owned(), |p| clock(p.wall));
            format!(
                "{shown} of {} – {} ({})",
                clock(start),
                clock(end),
                length(end.duration_since(start).unwrap_or_default())
            )
        });
        // The times at the right end, the strip in the room between.
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new(label).monospace());
            let width = (ui.available_width() - 8.0).max(60.0);
            if let Some(at) = strip_ui(ui, timeline, width) {
                push(ReplayCommand::Seek(at));
            }
        });
    });
}

/// The strip; the sample a click or drag asks for.
fn strip_ui(ui: &mut egui::Ui, timeline: &Timeline, width: f32) -> Option<usize> {
    let (rect, response) =
        ui.allocate_exact_size(vec2(width, STRIP_HEIGHT), Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Slider, true, "Timeline"));
    let (Some(first), Some(last)) = (timeline.samples.first(), timeline.samples.last()) else {
        return None;
    };
    // Times from a hostile file may be anything: no overflow, no panic.
    let (t0, t1) = (
        first.boottime_ns,
        last.boottime_ns.max(first.boottime_ns.saturating_add(1)),
    );
    let span = (t1 - t0).max(1) as f64;
    let x_of = |ns: u64| {
        let f = (ns.saturating_sub(t0)) as f64 / span;
        rect.left() + (f.clamp(0.0, 1.0) as f32) * rect.width()
    };
    let ns_of = |x: f32| {
        let f = f64::from(((x - rect.left()) / rect.width()).clamp(0.0, 1.0));
        t0.saturating_add((f * span) as u64).min(t1)
    };
    let visuals = ui.visuals();
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, visuals.extreme_bg_color);
    let load = Color32::from_rgb(0x3c, 0xb0, 0x4a);
    let unload = visuals.error_fg_color;
    for marker in &timeline.markers {
        let Some(point) = timeline.samples.get(marker.sample) else {
            continue;
        };
        let x = x_of(point.boottime_ns);
        let (top, color) = if marker.loaded {
            (rect.top(), load)
        } else {
            (rect.center().y, unload)
        };
        let bottom = if marker.loaded {
            rect.center().y
        } else {
            rect.bottom()
        };
        painter.line_segment([pos2(x, top), pos2(x, bottom)], Stroke::new(1.0, color));
    }
    let shown = timeline.seeking.or(timeline.position);
    if let Some(point) = shown.and_then(|i| timeline.samples.get(i)) {
        let x = x_of(point.boottime_ns);
        let color = visuals.selection.stroke.color;
        painter.line_segment(
            [pos2(x, rect.top()), pos2(x, rect.bottom())],
            Stroke::new(2.5, color),
        );
        painter.circle_filled(pos2(x, rect.top() + 3.0), 4.0, color);
    }
    painter.rect_stroke(
        rect,
        3.0,
        visuals.widgets.noninteractive.bg_stroke,
        egui::StrokeKind::Inside,
    );
    if let Some(pointer) = response.hover_pos() {
        let at = timeline.sample_at(ns_of(pointer.x));
        if let Some(point) = at.and_then(|i| timeline.samples.get(i)) {
            let near = markers_near(timeline, pointer.x, &x_of);
            response.clone().on_hover_ui_at_pointer(|ui| {
                ui.label(format::local_time(point.wall));
                for marker in near.iter().take(TIP_MARKERS) {
                    ui.label(marker_text(marker));
                }
                if near.len() > TIP_MARKERS {
                    ui.label(format!("… and {} more", near.len() - TIP_MARKERS));
                }
            });
        }
    }
    let pressed = response.clicked() || response.dragged();
    let press = response.interact_pointer_pos().filter(|_| pressed)?;
    let at = timeline.sample_at(ns_of(press.x))?;
    (shown != Some(at)).then_some(at)
}

/// The markers within a few points of `x`.
fn markers_near<'a>(
    timeline: &'a Timeline,
    x: f32,
    x_of: &impl Fn(u64) -> f32,
) -> Vec<&'a TimelineMarker> {
    timeline
        .markers
        .iter()
        .filter(|m| {
            timeline
                .samples
                .get(m.sample)
                .is_some_and(|p| (x_of(p.boottime_ns) - x).abs() <= 3.0)
        })
        .collect()
}

fn marker_text(marker: &TimelineMarker) -> String {
    let name = if marker.name.is_empty() {
        "(no name)"
    } else {
        marker.name.as_str()
    };
    format!(
        "{} {name} (id {})",
        if marker.loaded {
            "▲ loaded"
        } else {
            "▼ unloaded"
        },
        marker.id
    )
}

/// The first and last sample's wall-clock times.
fn span(timeline: &Timeline) -> Option<(SystemTime, SystemTime)> {
    Some((
        timeline.samples.first()?.wall,
        timeline.samples.last()?.wall,
    ))
}

/// `HH:MM:SS` of a local time.
fn clock(at: SystemTime) -> String {
    let full = format::local_time(at);
    full.get(11..).unwrap_or(&full).to_owned()
}

/// `1 h 02 min`, `3 min 20 s`, `45 s`.
fn length(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 {
        format!("{} h {:02} min", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        format!("{secs} s")
    }
}
