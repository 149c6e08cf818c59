//! Baseline and diff, grouping, the breakdown, thresholds.

use crate::fixtures::*;

#[test]
fn a_baseline_yields_the_changes_since() {
    let (mut harness, tx) = harness_of((0..=4).map(changing_sample));
    harness.get_by_label("Capture baseline").click();
    harness.run();
    harness.get_by_label_contains("baseline captured: 3 programs");
    // Twelve seconds later: every point in the 10 s window is after the
    // change, and program 30's last one has left it.
    for n in 5..=16 {
        tx.send(SourceEvent::Sample(changing_sample(n))).unwrap();
    }
    harness.run();
    harness.get_by_label_contains("Δ Events/s");
    let diffs = harness
        .state_mut()
        .diffs()
        .expect("diff mode is on")
        .clone();
    let key = |id| ProgramKey {
        id,
        load_time_ns: 5,
    };
    // Program 10: 100 → 200 runs/s, 50 ns each: +100 events/s, same runtime,
    // CPU 0.0005 % → 0.001 %.
    let d10 = diffs[&key(10)];
    assert!((d10.events_per_sec - 100.0).abs() < 1e-3, "{d10:?}");
    assert!(d10.avg_runtime_ns.abs() < 1e-3, "{d10:?}");
    assert!((d10.cpu_percent - 0.0005).abs() < 1e-6, "{d10:?}");
    // Program 20 did not change.
    let d20 = diffs[&key(20)];
    assert!(
        d20.events_per_sec.abs() < 1e-3 && d20.cpu_percent.abs() < 1e-9,
        "{d20:?}"
    );
    // Program 30 left: its whole baseline is the change.
    let d30 = diffs[&key(30)];
    assert!((d30.events_per_sec + 1.0).abs() < 1e-3, "{d30:?}");
    harness.get_by_label("+100.0");
    // Sorting by a Δ column puts the biggest increase first.
    harness.get_by_label_contains("Δ Events/s").click();
    harness.run();
    assert_eq!(ids(&mut harness)[0], 10);
}

#[test]
fn grouping_by_owner_sums_to_the_ungrouped_totals() {
    let (mut harness, _tx) = harness(4);
    let total = harness.state().store().total_cpu_percent();
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .run_cmd(&ctx, Command::SetGrouping(Grouping::Process));
    harness.run();
    let groups = harness.state_mut().groups();
    assert_eq!(groups.len(), 3);
    let summed: f64 = groups.iter().map(|g| g.cpu_percent).sum();
    assert!((summed - total).abs() < 1e-12, "{summed} vs {total}");
    assert_eq!(groups.iter().map(|g| g.programs).sum::<usize>(), 3);
    harness.get_by_label_contains("cilium-agent (1010) — 1 program");
    // Every program is still listed, under its group.
    assert_eq!(ids(&mut harness).len(), 3);
}

#[test]
fn the_breakdown_view_sums_to_the_total() {
    let (mut harness, _tx) = harness(6);
    harness.get_by_label("Where BPF time goes").click();
    harness.run();
    let total = harness.state().store().total_cpu_percent();
    let breakdown = harness.state_mut().breakdown().expect("computed").clone();
    let last = breakdown.total.len() - 1;
    let stacked: f64 = breakdown.bands.iter().map(|b| b.values[last]).sum();
    assert!((stacked - total).abs() < 1e-9, "{stacked} vs {total}");
    assert!((breakdown.total[last] - total).abs() < 1e-9);
    let by_type: f64 = breakdown.by_type.iter().map(|(_, cpu)| cpu).sum();
    assert!((by_type - total).abs() < 1e-12);
    // The biggest program is the first band, and its type the first line.
    assert_eq!(breakdown.bands[0].key.map(|k| k.id), Some(10));
    harness.get_by_label("By program type (latest period, of one CPU)");
    harness.get_by_label("xdp");
}

#[test]
fn thresholds_highlight_rows_and_the_status_bar_counts_them() {
    let (mut harness, _tx) = harness(4);
    let ctx = harness.ctx.clone();
    harness.state_mut().run_cmd(
        &ctx,
        Command::SetThresholds(Thresholds {
            avg_runtime_ns: Some(300.0),
            cpu_percent: None,
            notify: false,
        }),
    );
    harness.run();
    // trace_exec (400 ns) and tc_nat (1 µs) are over 300 ns; xdp_fw is not.
    harness.get_by_label("2 over threshold");
    harness.get_by_label("Thresholds (2 over)");
}
