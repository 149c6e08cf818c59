//! bpfscope's own programs are set apart, can be hidden, and the table says
//! in words when nothing else is loaded or nothing is measured yet.

use crate::fixtures::*;

/// Sample `n`: `xdp_fw` (10) 1,000 runs/s at 500 ns (0.05 %), and, with
/// `own`, bpfscope's `dump_prog` (90) and `dump_owner` (91) once a second
/// at 10 µs each (0.001 % each); without `user`, only bpfscope's own.
fn with_own(n: u64, user: bool) -> Sample {
    let mut programs = Vec::new();
    if user {
        programs.push(program(
            10,
            6,
            "xdp_fw",
            "cilium-agent",
            1_000 * n,
            500_000 * n,
        ));
    }
    for (id, name) in [(90, "dump_prog"), (91, "dump_owner")] {
        programs.push(
            bpfscope::test_support::program(id)
                .kind(29)
                .name(name)
                .loaded_at(5)
                .ran(n, 10_000 * n)
                .own(true)
                .owner(4242, "bpfscope-sampl")
                .build(),
        );
    }
    Sample {
        programs,
        ..sample(n)
    }
}

#[test]
fn own_programs_are_badged_and_hiding_them_removes_exactly_them() {
    let (mut harness, _tx) = harness_of((0..3).map(|n| with_own(n, true)));
    assert_eq!(ids(&mut harness), [10, 90, 91]);
    assert_eq!(
        harness.get_all_by_label(" bpfscope ").count(),
        2,
        "a badge per own row"
    );
    harness.get_by_label("All BPF programs: 0.052 % of one CPU (bpfscope's own: 0.0020 %)");
    let tip = harness.get_by_label("dump_owner");
    tip.hover();
    harness.run();
    harness.get_by_label_contains("the iterator that reads which processes hold each program");

    // Plotted and detailed, then hidden: it leaves the plots and the pane.
    harness.get_by_label("dump_prog").click();
    harness.run();
    harness.get_by_label("3 of 3 programs");
    harness.get_by_label("bpfscope's own").click();
    harness.run();
    assert_eq!(ids(&mut harness), [10]);
    assert!(
        harness.state().selected().is_empty(),
        "a hidden row stays plotted"
    );
    assert!(
        harness.query_by_label("Copy ID").is_none(),
        "a hidden row stays detailed"
    );
    harness.get_by_label("1 of 1 programs");
    assert!(harness.query_by_label(" bpfscope ").is_none());
    harness.get_by_label("BPF programs without bpfscope's own: 0.050 % of one CPU");
    assert!(!harness.state().settings().show_own);

    harness.get_by_label("bpfscope's own").click();
    harness.run();
    assert_eq!(ids(&mut harness), [10, 90, 91]);
}

#[test]
fn with_only_its_own_programs_the_table_says_so() {
    let (mut harness, _tx) = harness_of((0..3).map(|n| with_own(n, false)));
    harness.get_by_label("No BPF programs are loaded besides bpfscope's own.");
    harness.get_by_label_contains("Listed below, muted");
    assert_eq!(ids(&mut harness), [90, 91]);
    harness.get_by_label("bpfscope's own").click();
    harness.run();
    harness.get_by_label("No BPF programs are loaded besides bpfscope's own.");
    harness.get_by_label_contains("iterators are hidden");
    assert!(harness.query_by_label("dump_prog").is_none());
    // No header row over an empty grid.
    assert!(harness.query_by_label_contains("Avg runtime").is_none());
}

#[test]
fn before_the_second_sample_the_table_says_it_is_measuring() {
    let (harness, tx) = harness_of((0..1).map(|n| with_own(n, true)));
    harness.get_by_label_contains(
        "Measuring: runtimes, rates and CPU shares appear with the second sample",
    );
    // The programs are listed already, with dashes for the figures.
    harness.get_by_label("xdp_fw");
    let mut harness = harness;
    tx.send(SourceEvent::Sample(with_own(1, true))).unwrap();
    harness.run();
    assert!(harness.query_by_label_contains("Measuring").is_none());
}

#[test]
fn a_filter_that_matches_nothing_says_so() {
    let (mut harness, _tx) = harness_of((0..3).map(|n| with_own(n, true)));
    harness.get_by_label("Filter").focus();
    harness.get_by_label("Filter").type_text("no-such-program");
    harness.run();
    harness.get_by_label("No program matches the filter \"no-such-program\".");
}

#[test]
fn hidden_own_programs_leave_the_breakdown_too() {
    let (mut harness, _tx) = harness_of((0..4).map(|n| with_own(n, true)));
    harness.get_by_label("Where BPF time goes").click();
    harness.run();
    let with_own = harness.state_mut().breakdown().expect("computed").clone();
    assert_eq!(with_own.bands.len(), 3, "xdp_fw and both iterators");
    harness.get_by_label("bpfscope's own").click();
    harness.run();
    let without = harness.state_mut().breakdown().expect("computed").clone();
    let ids: Vec<u32> = without
        .bands
        .iter()
        .filter_map(|b| b.key.map(|k| k.id))
        .collect();
    assert_eq!(ids, [10]);
    let last = without.total.len() - 1;
    // 0.05 % for xdp_fw alone; with both iterators 0.052 %.
    assert!(
        (without.total[last] - 0.05).abs() < 1e-9,
        "{}",
        without.total[last]
    );
    assert!(
        (with_own.total[last] - 0.052).abs() < 1e-9,
        "{}",
        with_own.total[last]
    );
    assert_eq!(without.by_type.len(), 1, "{:?}", without.by_type);
    harness.get_by_label_contains("BPF programs without bpfscope's own now: 0.050 %");
}
