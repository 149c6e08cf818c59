//! Pause: every view shows the frozen moment until resume.

use crate::fixtures::*;

#[test]
fn pause_freezes_the_table_while_samples_keep_arriving() {
    let (mut harness, tx) = harness(3);
    harness.get_by_label("200.0"); // program 10's events/s at sample 2
    harness.key_press(egui::Key::Space);
    harness.run();
    assert!(harness.state().is_paused());
    harness.get_by_label("PAUSED");
    tx.send(SourceEvent::Sample(sample(3))).unwrap();
    tx.send(SourceEvent::Sample(sample(4))).unwrap();
    harness.run();
    // Still the frozen numbers, though the store has the new samples.
    harness.get_by_label("200.0");
    assert!(harness.query_by_label("400.0").is_none());
    assert_eq!(harness.state().store().sample_count(), 5);
    harness.get_by_label_contains("Resume").click();
    harness.run();
    assert!(!harness.state().is_paused());
    harness.get_by_label("400.0");
}

/// What every view shows of one moment, read through the window.
#[derive(Debug, PartialEq)]
struct Shown {
    over_threshold: bool,
    diffs: Vec<(u32, i64, i64)>,
    breakdown_total: Vec<u64>,
    snapshot: String,
}

fn shown(harness: &mut Harness<'_, BpfScopeApp>, over: &str, path: &std::path::Path) -> Shown {
    let over_threshold = harness.query_by_label(over).is_some();
    let mut diffs: Vec<(u32, i64, i64)> = harness
        .state_mut()
        .diffs()
        .expect("diff mode is on")
        .iter()
        .map(|(k, d)| {
            (
                k.id,
                (d.events_per_sec * 1000.0).round() as i64,
                (d.cpu_percent * 1e9).round() as i64,
            )
        })
        .collect();
    diffs.sort_unstable();
    let breakdown_total = harness
        .state_mut()
        .breakdown()
        .expect("computed")
        .total
        .iter()
        .map(|t| (t * 1e9).round() as u64)
        .collect();
    export_through_the_dialog(harness, path.to_str().unwrap());
    let snapshot = std::fs::read_to_string(path).expect("the export wrote the file");
    Shown {
        over_threshold,
        diffs,
        breakdown_total,
        snapshot,
    }
}

#[test]
fn while_paused_every_view_shows_the_frozen_moment() {
    let (mut harness, tx) = harness_of((0..=4).map(changing_sample));
    let ctx = harness.ctx.clone();
    // tc_nat (1 µs) is over 300 ns; it leaves at n = 6.
    harness.state_mut().run_cmd(
        &ctx,
        Command::SetThresholds(Thresholds {
            avg_runtime_ns: Some(700.0),
            cpu_percent: None,
            notify: false,
        }),
    );
    harness.get_by_label("Capture baseline").click();
    harness.run();
    harness.get_by_label("Where BPF time goes").click();
    harness.run();
    harness.get_by_label("1 over threshold");
    harness.key_press(egui::Key::Space);
    harness.run();
    assert!(harness.state().is_paused());
    let dir = tempfile::tempdir().unwrap();
    let frozen = shown(
        &mut harness,
        "1 over threshold",
        &dir.path().join("frozen.csv"),
    );
    assert!(frozen.over_threshold);

    for n in 5..=9 {
        tx.send(SourceEvent::Sample(changing_sample(n))).unwrap();
    }
    harness.run();
    assert_eq!(harness.state().store().sample_count(), 10);
    let later = shown(
        &mut harness,
        "1 over threshold",
        &dir.path().join("later.csv"),
    );
    assert_eq!(later, frozen, "paused views moved with the live data");

    harness.key_press(egui::Key::Space);
    harness.run();
    assert!(!harness.state().is_paused());
    let live = shown(
        &mut harness,
        "1 over threshold",
        &dir.path().join("live.csv"),
    );
    assert!(!live.over_threshold, "tc_nat left: nothing is over 700 ns");
    assert_ne!(live.diffs, frozen.diffs);
    assert_ne!(live.breakdown_total, frozen.breakdown_total);
    assert_ne!(live.snapshot, frozen.snapshot);
    assert!(
        live.snapshot
            .contains(&rfc3339(changing_sample(9).taken_at)),
        "{}",
        live.snapshot
    );
    assert!(
        frozen
            .snapshot
            .contains(&rfc3339(changing_sample(4).taken_at)),
        "{}",
        frozen.snapshot
    );
}
