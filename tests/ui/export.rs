//! CSV export through the dialog: snapshot, history, failures.

use crate::fixtures::*;

fn expected_snapshot(samples: u64) -> String {
    let prev = sample(samples - 2);
    let cur = sample(samples - 1);
    let mut catalog = Catalog::default();
    catalog.absorb(&mut sample(0));
    let mut w = CsvWriter::new(Vec::new()).unwrap();
    for p in &cur.programs {
        let described = Described {
            facts: catalog.facts(ProgramKey::of(p)).map(AsRef::as_ref),
            links: catalog.links(p.id),
            per_cpu: None,
            stats_on_ns: None,
            owners_read_ns: None,
        };
        w.write(
            &rfc3339(cur.taken_at),
            p,
            program_metrics(&prev, &cur, p).as_ref(),
            described,
        )
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[test]
fn export_writes_the_snapshot_as_csv() {
    let (mut harness, _tx) = harness(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snapshot.csv");
    export_through_the_dialog(&mut harness, path.to_str().unwrap());
    let written = std::fs::read_to_string(&path).expect("the export wrote the file");
    assert_eq!(written, expected_snapshot(4));
    // The formula-like owner is neutralised.
    assert!(
        written.contains(",'=evil:1030,tcx_egress veth0 (netns blue)\n"),
        "{written}"
    );
    assert!(
        written.contains(",cilium-agent:1010,xdp eth0\n"),
        "{written}"
    );
    assert!(
        written.contains(",tetragon:1020,not attached\n"),
        "{written}"
    );
    harness.get_by_label_contains("exported 3 records");
    assert!(harness.query_by_label("Save").is_none(), "dialog closed");
}

#[test]
fn export_to_an_unwritable_path_says_why_and_leaves_no_file() {
    let (mut harness, _tx) = harness(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/out.csv");
    export_through_the_dialog(&mut harness, path.to_str().unwrap());
    assert!(!path.exists());
    let messages = harness.get_all_by_label_contains("export failed").count();
    assert!(messages >= 1, "the error is shown");
    harness.get_by_label("Save"); // the dialog stays open to fix the path
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // An existing file is left untouched by a failed export.
    let existing = dir.path().join("keep.csv");
    std::fs::write(&existing, "precious").unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o500),
    )
    .unwrap();
    if !bpfscope::sys::has_cap(bpfscope::sys::CAP_SYS_ADMIN) {
        // (root ignores directory permissions, so this part needs a user.)
        harness.get_by_label("Cancel").click();
        harness.run();
        export_through_the_dialog(&mut harness, existing.to_str().unwrap());
        assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious");
    }
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
}

#[test]
fn history_export_has_one_row_per_program_per_sample() {
    let (mut harness, _tx) = harness(6);
    harness.get_by_label("xdp_fw").click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    harness.run();
    harness.get_by_label("History").click();
    harness.run();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.csv");
    harness.get_by_label("Path").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("Path")
        .type_text(path.to_str().unwrap());
    harness.get_by_label("Save").click();
    harness.run();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "timestamp,id,name,avg_runtime_ns,events_per_sec,cpu_percent"
    );
    assert_eq!(lines.len(), 1 + 5, "{text}");
    assert!(
        lines.iter().skip(1).all(|l| l.contains(",10,xdp_fw,50.0,")),
        "{text}"
    );
    assert!(lines[5].contains(",500.000,"), "{text}");
}
