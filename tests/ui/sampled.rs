//! Low-overhead mode in the window: the figures marked sampled, rates over
//! the time statistics were on, the setting that turns it on.

use egui_kittest::kittest::NodeT;

use crate::fixtures::*;

/// [`sample`] taken in low-overhead mode: statistics on 250 ms of each
/// second (the counters of `sample` grew in those 250 ms).
fn sampled(n: u64) -> Sample {
    let mut s = sample(n);
    s.stats_on_ns = Some(if n == 0 { 0 } else { 250_000_000 });
    s
}

#[test]
fn sampled_figures_are_marked_and_rates_are_over_the_time_statistics_were_on() {
    let (mut harness, _tx) = harness_of((0..4).map(sampled));
    harness.get_by_label("⏱ SAMPLED: stats on 25 % of each period");
    // xdp_fw ran 300 times in the last period, all within 250 ms.
    harness.get_by_label("1,200");
    assert!(harness.query_by_label("300.0").is_none());
    // The statistics cost a quarter of the time: 1,200 runs/s × 28 ns × 25 %.
    harness.get_by_label("xdp_fw").click();
    harness.run();
    harness.get_by_label("≈ 0.00084 % of one CPU (28 ns × 300.0 runs/s)");
}

#[test]
fn the_stats_on_setting_is_kept_across_a_restart() {
    let (mut harness, _tx) = harness(2);
    assert!(harness.query_by_label_contains("SAMPLED").is_none());
    harness.get_by_label("Stats on").click();
    harness.run();

    harness.get_by_label("25 %").click();
    harness.run();
    assert_eq!(harness.state().settings().low_overhead_percent(), Some(25));
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let (restarted, _tx) = harness_stored((0..2).map(sample), storage);
    assert_eq!(
        restarted.state().settings().low_overhead_percent(),
        Some(25)
    );
    let combo = restarted.get_by_label("Stats on");
    assert_eq!(combo.accesskit_node().value().as_deref(), Some("25 %"));
}
