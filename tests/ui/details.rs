//! The details pane and what the source's status says in the window.

use crate::fixtures::*;

#[test]
fn the_details_pane_shows_the_facts_of_the_clicked_program() {
    let (mut harness, _tx) = harness(3);
    // The BTF name replaces the kernel's 15 characters in the table.
    harness.get_by_label("tc_nat_egress_handler").click();
    harness.run();
    for text in [
        "tc_nat", // the kernel's name, under "Kernel name"
        "0102030405060708",
        "on, 2.29 KiB",
        "9,876",
        "8.00 KiB",
        "77",
        "nat_sessions",
        "lru_hash",
        "16 / 32 B",
        "65,536",
        "percpu_array",
        "tcx · tcx_egress",
    ] {
        harness.get_by_label(text);
    }
    // The owners were read at the first sample, two seconds before.
    harness.get_by_label("read 2 s ago");
    // The owner, in the table and in the pane.
    assert_eq!(harness.get_all_by_label("=evil (1030)").count(), 2);
    // The table's attach column says the same in one line.
    harness.get_by_label("tcx_egress veth0 (netns blue)");
    assert!(harness.get_all_by_label("veth0 (netns blue)").count() >= 1);
    // Programs without links say so, without guessing.
    harness.get_by_label("trace_exec").click();
    harness.run();
    assert!(harness.get_all_by_label("not attached").count() >= 2);
    // Esc clears the selection; "I" closes the pane.
    harness.key_press(egui::Key::I);
    harness.run();
    assert!(harness.query_by_label("Copy tag").is_none());
}

#[test]
fn a_source_without_privilege_is_explained_in_the_window() {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 600.0))
        .build_eframe(|cc| {
            BpfScopeApp::new(cc, None, |_, _| {
                Source::unavailable("bpfscope needs CAP_SYS_ADMIN to turn on BPF statistics".into())
            })
        });
    harness.run();
    harness.get_by_label("⚠ No statistics");
    harness.get_by_label_contains("needs CAP_SYS_ADMIN");
    harness.get_by_label("no samples");
}

#[test]
fn source_errors_are_shown_and_the_data_stays() {
    let (mut harness, tx) = harness(3);
    tx.send(SourceEvent::Error(
        "could not read owning processes: boom".into(),
    ))
    .unwrap();
    harness.run();
    harness.get_by_label("could not read owning processes: boom");
    assert_eq!(ids(&mut harness).len(), 3);
}
