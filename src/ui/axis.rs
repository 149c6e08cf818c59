//! Value axes that say their scale at any magnitude: a top with headroom
//! above the highest point, three to five round ticks from zero, and tick
//! labels in one unit for the whole axis (`0`, `1.5k`, `3k`; `0.002 %`).

use egui_plot::{AxisHints, GridInput, GridMark, Plot};

use eframe::egui;

use super::format;
use crate::view::CpuMode;

/// What an axis counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Nanoseconds, labelled in ns, µs, ms or s.
    Duration,
    /// A plain count per second, labelled with k, M and G.
    Count,
    /// A percentage.
    Percent,
    /// A share of one CPU in percent, labelled as CPU time per second.
    TimePerSec,
}

impl Unit {
    /// The unit of CPU figures in `mode`.
    #[must_use]
    pub fn cpu(mode: CpuMode) -> Self {
        match mode {
            CpuMode::OneCpu | CpuMode::AllCpus => Self::Percent,
            CpuMode::TimePerSec => Self::TimePerSec,
        }
    }

    /// The smallest top an axis gets, so that an idle series still has a
    /// readable scale.
    fn floor(self) -> f64 {
        match self {
            Self::Duration => 1.0,
            Self::Count => 1e-3,
            Self::Percent | Self::TimePerSec => 1e-7,
        }
    }
}

/// An axis from zero to `top` with ticks every `step`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub top: f64,
    pub step: f64,
}

impl Scale {
    /// The scale for values up to `max`: at least 10 % headroom above it,
    /// and 3–5 labelled ticks counting zero.
    #[must_use]
    pub fn for_max(max: f64, unit: Unit) -> Self {
        // Beyond 1e15 (a million seconds a run, a billion runs a second)
        // nothing real plots; the bound keeps the arithmetic finite.
        let max = if max.is_finite() { max.min(1e15) } else { 0.0 };
        let span = max.max(unit.floor()) * 1.1;
        let step = nice_step(span / 4.0);
        let top = (span / step - 1e-9).ceil().max(1.0) * step;
        Self { top, step }
    }

    /// The tick values, zero first.
    #[must_use]
    pub fn ticks(&self) -> Vec<f64> {
        let count = (self.top / self.step).round() as usize;
        (0..=count).map(|i| i as f64 * self.step).collect()
    }
}

/// The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least
/// `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let norm = raw / magnitude;
    let factor = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|f| *f >= norm - 1e-9)
        .unwrap_or(10.0);
    factor * magnitude
}

/// The grid marks of `scale`: a line at every tick.
#[must_use]
pub fn marks(scale: Scale, input: &GridInput) -> Vec<GridMark> {
    scale
        .ticks()
        .into_iter()
        .filter(|v| {
            *v >= input.bounds.0 - scale.step * 1e-6 && *v <= input.bounds.1 + scale.step * 1e-6
        })
        .map(|value| GridMark {
            value,
            step_size: scale.step,
        })
        .collect()
}

/// `plot` over the `window_secs` before now and `scale` of `unit`: fixed
/// bounds set every frame (the scale's top above the highest point, a
/// little room for the top label), no zoom, drag or scroll, and these axes.
#[must_use]
pub fn fixed(plot: Plot<'_>, window_secs: f64, scale: Scale, unit: Unit) -> Plot<'_> {
    plot.include_x(-window_secs)
        .include_x(0.0)
        .include_y(0.0)
        .include_y(scale.top)
        .set_margin_fraction(egui::vec2(0.05, 0.03))
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .custom_x_axes(vec![x_axis()])
        .x_grid_spacer(move |input| time_marks(window_secs, &input))
        .custom_y_axes(vec![y_axis(unit, scale)])
        .y_grid_spacer(move |input| marks(scale, &input))
}

/// The y axis of a plot of `unit` on `scale`; labels need only their own
/// height between them, so that a short plot still shows its ticks.
#[must_use]
pub fn y_axis(unit: Unit, scale: Scale) -> AxisHints<'static> {
    AxisHints::new_y()
        .label_spacing(14.0..=20.0)
        .formatter(move |mark, _| label(mark.value, mark.step_size, scale.top, unit))
}

/// The time axis of a plot reaching `window_secs` back: a labelled tick
/// every few seconds (five to ten of them), at any scale.
#[must_use]
pub fn x_axis() -> AxisHints<'static> {
    AxisHints::new_x()
        .label_spacing(36.0..=44.0)
        .formatter(|mark, _| format!("{:.0} s", mark.value))
}

/// The time axis' grid: a line every [`time_step`] over the window, or
/// sparser where the plot is too narrow to label that many.
#[must_use]
pub fn time_marks(window_secs: f64, input: &GridInput) -> Vec<GridMark> {
    // `base_step_size` is the span of 8 points (egui_plot's least grid
    // spacing): labels want 44 points apart.
    let narrowest = input.base_step_size * 44.0 / 8.0;
    let step = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|step| *step >= time_step(window_secs) && *step >= narrowest)
        .unwrap_or(300.0);
    let first = (input.bounds.0 / step).ceil() as i64;
    let last = (input.bounds.1 / step).floor() as i64;
    if last.saturating_sub(first) > 1_000 {
        return Vec::new();
    }
    (first..=last)
        .map(|i| GridMark {
            value: i as f64 * step,
            step_size: step,
        })
        .collect()
}

/// Seconds between time ticks: 1, 2, 5, 10, 30 or 60.
#[must_use]
pub fn time_step(window_secs: f64) -> f64 {
    [1.0, 2.0, 5.0, 10.0, 30.0, 60.0]
        .into_iter()
        .find(|step| window_secs / step <= 10.0)
        .unwrap_or(60.0)
}

/// A tick's label: the unit is chosen by the axis' top, the decimals by
/// its step, so every label of an axis reads alike.
#[must_use]
pub fn label(value: f64, step: f64, top: f64, unit: Unit) -> String {
    if value.abs() < step * 1e-6 {
        return "0".to_owned();
    }
    let (divisor, suffix) = match unit {
        Unit::Duration => duration_unit(top),
        Unit::TimePerSec => {
            let (divisor, suffix) = duration_unit(top * 1e7);
            // Percent of one CPU to ns per second: × 1e7.
            return format!(
                "{}{suffix}/s",
                number(value * 1e7 / divisor, step * 1e7 / divisor)
            );
        }
        Unit::Count => count_unit(top),
        Unit::Percent => (1.0, " %"),
    };
    format!("{}{suffix}", number(value / divisor, step / divisor))
}

fn duration_unit(top_ns: f64) -> (f64, &'static str) {
    if top_ns < 1e3 {
        (1.0, " ns")
    } else if top_ns < 1e6 {
        (1e3, " µs")
    } else if top_ns < 1e9 {
        (1e6, " ms")
    } else {
        (1e9, " s")
    }
}

fn count_unit(top: f64) -> (f64, &'static str) {
    if top < 1e3 {
        (1.0, "")
    } else if top < 1e6 {
        (1e3, "k")
    } else if top < 1e9 {
        (1e6, "M")
    } else {
        (1e9, "G")
    }
}

/// `value` with as many decimals as `step` needs, trailing zeros dropped.
fn number(value: f64, step: f64) -> String {
    let decimals = (0..=12)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            scaled >= 1.0 - 1e-9 && (scaled - scaled.round()).abs() < 1e-6 * scaled
        })
        .unwrap_or(12) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The exact value under the pointer, as the table would show it.
#[must_use]
pub fn exact(value: f64, unit: Unit) -> String {
    match unit {
        Unit::Duration => format::duration_ns(value),
        Unit::Count => format::rate(value),
        Unit::Percent => format::percent(value),
        Unit::TimePerSec => format::cpu_time(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(max: f64, unit: Unit) -> Vec<String> {
        let scale = Scale::for_max(max, unit);
        scale
            .ticks()
            .into_iter()
            .map(|v| label(v, scale.step, scale.top, unit))
            .collect()
    }

    #[test]
    fn every_magnitude_gets_three_to_five_ticks_and_headroom() {
        for unit in [Unit::Duration, Unit::Count, Unit::Percent, Unit::TimePerSec] {
            for exp in -9..=12 {
                for mantissa in [1.0, 1.3, 2.6, 4.99, 7.5, 9.9] {
                    let max = mantissa * 10f64.powi(exp);
                    let scale = Scale::for_max(max, unit);
                    let ticks = scale.ticks().len();
                    assert!((3..=5).contains(&ticks), "{max} {unit:?}: {ticks} ticks");
                    assert!(scale.top >= max * 1.1 - 1e-12, "{max}: top {}", scale.top);
                    let texts = labels(max, unit);
                    let mut distinct = texts.clone();
                    distinct.dedup();
                    assert_eq!(distinct.len(), texts.len(), "{max} {unit:?}: {texts:?}");
                }
            }
        }
    }

    #[test]
    fn labels_read_as_an_axis() {
        assert_eq!(labels(2_600.0, Unit::Count), ["0", "1k", "2k", "3k"]);
        assert_eq!(labels(1e6, Unit::Count), ["0", "0.5M", "1M", "1.5M"]);
        assert_eq!(labels(1.0, Unit::Count), ["0", "0.5", "1", "1.5"]);
        assert_eq!(
            labels(1.0, Unit::Duration),
            ["0", "0.5 ns", "1 ns", "1.5 ns"]
        );
        assert_eq!(
            labels(1_000.0, Unit::Duration),
            ["0", "0.5 µs", "1 µs", "1.5 µs"]
        );
        assert_eq!(
            labels(1e6, Unit::Duration),
            ["0", "0.5 ms", "1 ms", "1.5 ms"]
        );
        assert_eq!(
            labels(0.0001, Unit::Percent),
            ["0", "0.00005 %", "0.0001 %", "0.00015 %"]
        );
        assert_eq!(
            labels(0.05, Unit::Percent),
            ["0", "0.02 %", "0.04 %", "0.06 %"]
        );
        assert_eq!(
            labels(250.0, Unit::Percent),
            ["0", "100 %", "200 %", "300 %"]
        );
        assert_eq!(
            labels(0.0034, Unit::TimePerSec),
            ["0", "10 µs/s", "20 µs/s", "30 µs/s", "40 µs/s"]
        );
    }

    #[test]
    fn a_narrow_plot_gets_sparser_time_ticks() {
        // 8 points of a 200-point plot over 10 s: 0.4 s; labels want 44
        // points, 2.2 s: every 5 s.
        let narrow = GridInput {
            bounds: (-10.5, 0.5),
            base_step_size: 0.4,
        };
        let values: Vec<f64> = time_marks(10.0, &narrow).iter().map(|m| m.value).collect();
        assert_eq!(values, [-10.0, -5.0, 0.0]);
        let wide = GridInput {
            bounds: (-10.5, 0.5),
            base_step_size: 0.1,
        };
        assert_eq!(time_marks(10.0, &wide).len(), 11);
    }

    #[test]
    fn time_ticks_are_five_to_ten_a_window() {
        for window in [10.0, 30.0, 60.0, 300.0] {
            let ticks = window / time_step(window);
            assert!((5.0..=10.0).contains(&ticks), "{window} s: {ticks} ticks");
        }
    }

    #[test]
    fn idle_and_broken_series_still_get_a_scale() {
        assert_eq!(labels(0.0, Unit::Count), ["0", "0.0005", "0.001", "0.0015"]);
        assert_eq!(
            labels(f64::NAN, Unit::Duration),
            labels(0.0, Unit::Duration)
        );
        let huge = Scale::for_max(f64::MAX, Unit::Count);
        assert!(huge.top.is_finite() && (3..=5).contains(&huge.ticks().len()));
        let wide = GridInput {
            bounds: (-1e18, 1e18),
            base_step_size: 1.0,
        };
        assert!(time_marks(10.0, &wide).is_empty());
    }
}
