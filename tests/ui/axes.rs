//! The plots' value axes say their scale at any magnitude, with headroom.

use crate::fixtures::*;

/// Sample `n` of one program running `rate` times a second at `avg_ns` a run.
fn steady(n: u64, avg_ns: u64, rate: u64) -> Sample {
    let runs = rate * n;
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: START_NS + n * 1_000_000_000,
        period: Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        owners_read_ns: None,
        pass_ns: 0,
        per_cpu: None,
        stats_on_ns: None,
        programs: vec![program(
            10,
            6,
            "xdp_fw",
            "cilium-agent",
            runs,
            runs * avg_ns,
        )],
    }
}

/// The labels left of `frame` (its value axis), top to bottom.
fn axis_labels(harness: &Harness<'_, BpfScopeApp>, frame: egui::Rect) -> Vec<String> {
    let mut labels: Vec<(String, egui::Rect)> = painted_texts(harness)
        .into_iter()
        .filter(|(_, rect)| {
            rect.right() <= frame.left() + 2.0
                && rect.right() >= frame.left() - 120.0
                && rect.center().y >= frame.top() - 2.0
                && rect.center().y <= frame.bottom() + 2.0
        })
        .collect();
    labels.sort_by(|a, b| a.1.top().partial_cmp(&b.1.top()).unwrap());
    labels.into_iter().map(|(text, _)| text).collect()
}

/// Plots program 10 fed `avg_ns` and `rate`; the labels of plot `index`
/// (0 avg runtime, 1 events/s, 2 CPU) and whether its line stays below the
/// frame's top.
fn plotted(avg_ns: u64, rate: u64, index: usize) -> Vec<String> {
    let (mut harness, _tx) = harness_of((0..8).map(|n| steady(n, avg_ns, rate)));
    harness.get_by_label("xdp_fw").click();
    harness.run();
    let frames = plot_frames(&harness);
    assert_eq!(frames.len(), 3, "{frames:?}");
    let frame = frames[index];
    let lines: Vec<Vec<egui::Pos2>> = painted_paths(&harness)
        .into_iter()
        .filter(|points| points.iter().all(|p| frame.expand(1.0).contains(*p)))
        .collect();
    assert!(!lines.is_empty(), "no line in plot {index}");
    let highest = lines.iter().flatten().map(|p| p.y).fold(f32::MAX, f32::min);
    assert!(
        highest > frame.top() + 0.05 * frame.height(),
        "plot {index}: the line reaches y = {highest}, the frame's top is {}",
        frame.top()
    );
    axis_labels(&harness, frame)
}

fn assert_scale(labels: &[String], unit: &str, wanted: &str) {
    assert!(labels.len() >= 3, "fewer than three ticks: {labels:?}");
    assert_eq!(labels.last().map(String::as_str), Some("0"), "{labels:?}");
    assert!(
        labels[..labels.len() - 1].iter().all(|l| l.ends_with(unit)),
        "ticks without the unit {unit:?}: {labels:?}"
    );
    assert!(
        labels.iter().any(|l| l == wanted),
        "no {wanted:?} tick: {labels:?}"
    );
}

#[test]
fn the_runtime_axis_reads_nanoseconds_to_milliseconds() {
    assert_scale(&plotted(1, 1_000, 0), " ns", "1 ns");
    assert_scale(&plotted(1_000, 1_000, 0), " µs", "1 µs");
    assert_scale(&plotted(1_000_000, 10, 0), " ms", "1 ms");
}

#[test]
fn the_events_axis_reads_one_a_second_to_millions() {
    assert_scale(&plotted(100, 1, 1), "", "1");
    assert_scale(&plotted(100, 2_600, 1), "k", "2k");
    assert_scale(&plotted(10, 1_000_000, 1), "M", "1M");
}

#[test]
fn the_cpu_axis_reads_a_ten_thousandth_to_hundreds_of_percent() {
    // 1 µs once a second: 0.0001 %; 500 ns 1,000 times: 0.05 %; 1 ms
    // 2,500 times: 250 %.
    assert_scale(&plotted(1_000, 1, 2), " %", "0.0001 %");
    assert_scale(&plotted(500, 1_000, 2), " %", "0.04 %");
    assert_scale(&plotted(1_000_000, 2_500, 2), " %", "200 %");
}

#[test]
fn a_bigger_program_plotted_next_rescales_the_axis() {
    // xdp_fw runs at 50 ns, trace_exec at 400 ns: the axis first fits the
    // one, then both.
    let (mut harness, _tx) = harness(8);
    harness.get_by_label("xdp_fw").click();
    harness.run();
    let small = axis_labels(&harness, plot_frames(&harness)[0]);
    assert_eq!(small, ["60 ns", "40 ns", "20 ns", "0"]);
    harness
        .get_by_label("trace_exec")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    let frame = plot_frames(&harness)[0];
    let both = axis_labels(&harness, frame);
    assert!(both.iter().any(|l| l == "400 ns"), "{both:?}");
    let highest = painted_paths(&harness)
        .into_iter()
        .filter(|points| points.iter().all(|p| frame.expand(1.0).contains(*p)))
        .flatten()
        .map(|p| p.y)
        .fold(f32::MAX, f32::min);
    assert!(
        highest > frame.top() + 0.05 * frame.height(),
        "{highest} vs {}",
        frame.top()
    );
}
