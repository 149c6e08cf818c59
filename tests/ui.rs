//! The real window (`BpfScopeApp`) driven through its accessibility tree with
//! egui_kittest, fed injected samples: no display, no kernel.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bpfscope::app::BpfScopeApp;
use bpfscope::export::{CsvWriter, Described, rfc3339};
use bpfscope::model::metrics::program_metrics;
use bpfscope::model::{
    Catalog, LinkFacts, MapFacts, Owner, ProgramFacts, ProgramKey, ProgramSample, Sample,
};
use bpfscope::model::{Enumeration, SourceEvent, SourceInfo, StatsMode};
use bpfscope::source::Source;
use bpfscope::view::{Command, PlotWindow, Thresholds};
use bpfscope::view::{Grouping, SortColumn};
use crossbeam_channel::{Sender, bounded};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const START_NS: u64 = 1_000_000_000_000;

fn program(id: u32, prog_type: u32, name: &str, owner: &str, runs: u64, ns: u64) -> ProgramSample {
    ProgramSample {
        id,
        prog_type,
        name: name.into(),
        tag: [1, 2, 3, 4, 5, 6, 7, 8],
        load_time_ns: 5,
        run_time_ns: ns,
        run_cnt: runs,
        recursion_misses: 0,
        owners: vec![Owner {
            pid: 1000 + id,
            comm: owner.into(),
        }],
        own: false,
    }
}

/// Sample `n` (seconds after the start): program 10 runs 100·k times a
/// second, program 20 10·k, program 30 once, where k grows with n.
fn sample(n: u64) -> Sample {
    let runs = |rate: u64| rate * n * (n + 1) / 2;
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: START_NS + n * 1_000_000_000,
        period: Duration::from_secs(1),
        // The first sample carries facts and links, as a real source's does.
        facts: if n == 0 { facts() } else { Vec::new() },
        links: (n == 0).then(links),
        programs: vec![
            program(10, 6, "xdp_fw", "cilium-agent", runs(100), runs(100) * 50),
            program(20, 2, "trace_exec", "tetragon", runs(10), runs(10) * 400),
            program(30, 3, "tc_nat", "=evil", n, n * 1_000),
        ],
    }
}

/// Program 30's facts: a full BTF name longer than the kernel's, two maps.
fn facts() -> Vec<ProgramFacts> {
    vec![ProgramFacts {
        id: 30,
        load_time_ns: 5,
        full_name: Some("tc_nat_egress_handler".into()),
        uid: 0,
        gpl_compatible: true,
        jited: true,
        xlated_bytes: 4_096,
        jited_bytes: 2_345,
        verified_insns: 9_876,
        memlock_bytes: Some(8_192),
        btf_id: 77,
        maps: vec![
            MapFacts {
                id: 501,
                name: "nat_sessions".into(),
                map_type: "lru_hash".into(),
                key_size: 16,
                value_size: 32,
                max_entries: 65_536,
            },
            MapFacts {
                id: 502,
                name: "nat_stats".into(),
                map_type: "percpu_array".into(),
                key_size: 4,
                value_size: 8,
                max_entries: 4,
            },
        ],
    }]
}

fn links() -> Vec<LinkFacts> {
    vec![
        LinkFacts {
            prog_id: 10,
            id: 3,
            link_type: "xdp".into(),
            attach_type: None,
            target: "eth0".into(),
        },
        LinkFacts {
            prog_id: 30,
            id: 4,
            link_type: "tcx".into(),
            attach_type: Some("tcx_egress".into()),
            target: "veth0 (netns blue)".into(),
        },
    ]
}

fn hello() -> SourceEvent {
    SourceEvent::Hello(SourceInfo {
        stats_mode: StatsMode::Syscall,
        enumeration: Enumeration::Iterator,
        owners_available: true,
        kernel_release: "6.18.0-test".into(),
        online_cpus: 4,
        notices: Vec::new(),
    })
}

fn harness(samples: u64) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    harness_of((0..samples).map(sample))
}

/// The window fed `samples` after the source's hello.
fn harness_of(
    samples: impl IntoIterator<Item = Sample>,
) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    let (tx, rx) = bounded(64);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| BpfScopeApp::new(cc, None, move |_, _| Source::from_channel(rx)));
    tx.send(hello()).unwrap();
    for sample in samples {
        tx.send(SourceEvent::Sample(sample)).unwrap();
    }
    harness.run();
    (harness, tx)
}

fn ids(harness: &mut Harness<'_, BpfScopeApp>) -> Vec<u32> {
    harness.state_mut().visible_ids()
}

#[test]
fn table_shows_every_program_sorted_by_cpu_descending() {
    let (mut harness, _tx) = harness(3);
    assert_eq!(ids(&mut harness), vec![10, 20, 30]);
    harness.get_by_label("xdp_fw");
    harness.get_by_label("cilium-agent (1010)");
    harness.get_by_label("xdp");
    harness.get_by_label("kprobe");
    // 200 runs of 50 ns in the last second (avg and total avg are both 50 ns).
    assert_eq!(harness.get_all_by_label("50 ns").count(), 2);
    harness.get_by_label("200.0");
    harness.get_by_label("3 of 3 programs");
}

#[test]
fn typing_in_the_filter_narrows_the_rows() {
    let (mut harness, _tx) = harness(3);
    harness.get_by_label("Filter").focus();
    harness.get_by_label("Filter").type_text("TETRA");
    harness.run();
    assert_eq!(ids(&mut harness), vec![20]);
    assert!(harness.query_by_label("xdp_fw").is_none());
    harness.get_by_label("1 of 3 programs");
    // Ids and types match too.
    harness.get_by_label("Filter").focus();
    harness.key_press(egui::Key::Backspace);
    harness.run();
    for _ in 0..10 {
        harness.key_press(egui::Key::Backspace);
    }
    harness.get_by_label("Filter").type_text("30");
    harness.run();
    assert_eq!(ids(&mut harness), vec![30]);
}

#[test]
fn clicking_a_header_sorts_and_clicking_again_reverses() {
    let (mut harness, _tx) = harness(3);
    harness.get_by_label_contains("Name").click();
    harness.run();
    assert_eq!(ids(&mut harness), vec![30, 20, 10]); // tc_nat, trace_exec, xdp_fw
    harness.get_by_label_contains("Name ⏶").click();
    harness.run();
    assert_eq!(ids(&mut harness), vec![10, 20, 30]);
    harness.get_by_label_contains("ID").click();
    harness.run();
    assert_eq!(ids(&mut harness), vec![10, 20, 30]);
    harness.get_by_label_contains("Events/s").click();
    harness.run();
    assert_eq!(ids(&mut harness), vec![10, 20, 30]);
}

#[test]
fn clicking_rows_plots_them_and_ctrl_click_adds_more() {
    let (mut harness, _tx) = harness(5);
    assert!(
        harness.query_by_label("xdp_fw (#10)").is_none(),
        "no plots before a click"
    );
    harness.get_by_label("trace_exec").click();
    harness.run();
    let selected: Vec<u32> = harness.state().selected().iter().map(|k| k.id).collect();
    assert_eq!(selected, vec![20]);
    // One legend entry per plot: avg runtime, events/s, CPU %.
    assert_eq!(harness.get_all_by_label("trace_exec (#20)").count(), 3);

    harness
        .get_by_label("xdp_fw")
        .click_modifiers(egui::Modifiers::COMMAND);
    harness.run();
    let selected: Vec<u32> = harness.state().selected().iter().map(|k| k.id).collect();
    assert_eq!(selected, vec![10, 20]);
    assert_eq!(harness.get_all_by_label("xdp_fw (#10)").count(), 3);

    // History was kept before the click: every sample after the first.
    let key = *harness.state().selected().iter().next().unwrap();
    assert_eq!(harness.state().store().history(key).count(), 4);

    // Selection survives sorting and filtering.
    harness.get_by_label_contains("Name").click();
    harness.get_by_label("Filter").focus();
    harness.get_by_label("Filter").type_text("xdp");
    harness.run();
    assert_eq!(harness.state().selected().len(), 2);
}

#[test]
fn keyboard_moves_plots_and_clears() {
    let (mut harness, _tx) = harness(3);
    harness.key_press(egui::Key::J);
    harness.key_press(egui::Key::ArrowDown);
    harness.key_press(egui::Key::Enter);
    harness.run();
    let selected: Vec<u32> = harness.state().selected().iter().map(|k| k.id).collect();
    assert_eq!(selected, vec![20]);
    harness.key_press(egui::Key::K);
    harness.key_press(egui::Key::Enter);
    harness.run();
    let selected: Vec<u32> = harness.state().selected().iter().map(|k| k.id).collect();
    assert_eq!(selected, vec![10]);
    harness.key_press(egui::Key::Escape);
    harness.run();
    assert!(harness.state().selected().is_empty());
    // `/` focuses the filter: the next keys are typed into it.
    harness.key_press(egui::Key::Slash);
    harness.run();
    harness.get_by_label("Filter").type_text("nat");
    harness.run();
    assert_eq!(ids(&mut harness), vec![30]);
}

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

fn export_through_the_dialog(harness: &mut Harness<'_, BpfScopeApp>, path: &str) {
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::E);
    harness.run();
    harness.get_by_label("Path").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run();
    harness.get_by_label("Path").type_text(path);
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
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
    assert!(written.contains(",tetragon:1020,no link\n"), "{written}");
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

#[test]
fn gone_programs_stay_greyed_until_cleared() {
    let (mut harness, tx) = harness(3);
    let mut last = sample(3);
    last.programs.retain(|p| p.id != 20);
    tx.send(SourceEvent::Sample(last)).unwrap();
    harness.run();
    harness.get_by_label("trace_exec — gone");
    harness.get_by_label("Clear gone").click();
    harness.run();
    assert!(harness.query_by_label_contains("trace_exec").is_none());
    assert_eq!(ids(&mut harness), vec![10, 30]);
}

#[test]
fn cpu_mode_switches_between_one_cpu_and_all_cpus() {
    let (mut harness, _tx) = harness(3);
    harness.get_by_label_contains("CPU % (1 CPU)");
    harness.get_by_label("% of all CPUs").click();
    harness.run();
    harness.get_by_label_contains("CPU % (all CPUs)");
    // The status bar's total follows the mode.
    assert!(
        harness
            .get_all_by_label_contains("All BPF programs")
            .all(|n| format!("{n:?}").contains("of all CPUs"))
    );
    assert_eq!(
        harness.state().settings().cpu_mode,
        bpfscope::view::CpuMode::AllCpus
    );
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

#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn settings_survive_a_restart() {
    let (mut harness, _tx) = harness(2);
    let ctx = harness.ctx.clone();
    harness
        .state_mut()
        .run_cmd(&ctx, Command::Sort(SortColumn::Name));
    harness
        .state_mut()
        .run_cmd(&ctx, Command::SetPlotWindow(PlotWindow::Minute1));
    harness.get_by_label("% of all CPUs").click();
    harness.run();
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let saved = harness.state().settings().clone();

    let restarted = Harness::builder().build_eframe(move |cc| {
        BpfScopeApp::with_storage(cc, Some(&storage), None, |_, _| {
            Source::unavailable("test".into())
        })
    });
    assert_eq!(restarted.state().settings(), &saved);
    assert_eq!(
        restarted.state().settings().plot_window,
        PlotWindow::Minute1
    );
}

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
    // The owner, in the table and in the pane.
    assert_eq!(harness.get_all_by_label("=evil (1030)").count(), 2);
    // The table's attach column says the same in one line.
    harness.get_by_label("tcx_egress veth0 (netns blue)");
    assert!(harness.get_all_by_label("veth0 (netns blue)").count() >= 1);
    // Programs without links say so, without guessing.
    harness.get_by_label("trace_exec").click();
    harness.run();
    assert!(harness.get_all_by_label("no link").count() >= 2);
    // Esc clears the selection; "I" closes the pane.
    harness.key_press(egui::Key::I);
    harness.run();
    assert!(harness.query_by_label("Copy tag").is_none());
}

#[test]
fn a_table_wider_than_the_window_scrolls_and_the_plots_stay_in_view() {
    let (mut harness, _tx) = harness(5);
    let ctx = harness.ctx.clone();
    for column in [SortColumn::Maps, SortColumn::Tag, SortColumn::LoadedAt] {
        harness
            .state_mut()
            .run_cmd(&ctx, Command::ToggleColumn(column));
    }
    harness.get_by_label("xdp_fw").click();
    harness.run();
    let pane_left = harness.get_by_label("Copy ID").rect().left();
    // The plots are the wide nodes without a role; their right edge is "now".
    let plots: Vec<egui::Rect> = rects_of(&harness, egui::accesskit::Role::Unknown)
        .into_iter()
        .filter(|rect| rect.width() > 300.0)
        .collect();
    assert_eq!(plots.len(), 3, "{plots:?}");
    for plot in plots {
        assert!(
            plot.right() <= pane_left,
            "a plot ends at x = {}, under the details pane (from x = {pane_left})",
            plot.right()
        );
    }
    // The columns past the edge are reached by scrolling sideways.
    assert!(
        rects_of(&harness, egui::accesskit::Role::ScrollBar)
            .iter()
            .any(|bar| bar.width() > bar.height()),
        "no horizontal scroll bar"
    );
}

/// Where the window's accessibility nodes of `role` are.
fn rects_of(harness: &Harness<'_, BpfScopeApp>, role: egui::accesskit::Role) -> Vec<egui::Rect> {
    use egui_kittest::kittest::NodeT;
    harness
        .root()
        .query_all(egui_kittest::kittest::by())
        .filter(|node| node.accesskit_node().role() == role)
        .filter_map(|node| node.accesskit_node().bounding_box())
        .map(|rect| {
            egui::Rect::from_min_max(
                egui::pos2(rect.x0 as f32, rect.y0 as f32),
                egui::pos2(rect.x1 as f32, rect.y1 as f32),
            )
        })
        .collect()
}

#[test]
fn the_filter_matches_attach_targets_and_map_names() {
    let (mut harness, _tx) = harness(3);
    harness.get_by_label("Filter").focus();
    harness.get_by_label("Filter").type_text("xdp eth0");
    harness.run();
    assert_eq!(ids(&mut harness), vec![10]);
    harness.get_by_label("Filter").focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("Filter").type_text("nat_sess");
    harness.run();
    assert_eq!(ids(&mut harness), vec![30]);
}

#[test]
fn a_hidden_column_appears_when_toggled_and_stays_after_a_restart() {
    let (mut harness, _tx) = harness(3);
    assert!(harness.query_by_label_contains("Verified insns").is_none());
    // Right-click a header: the column menu.
    harness.get_by_label_contains("Events/s").click_secondary();
    harness.run();
    harness.get_by_label("Verified insns").click();
    harness.run();
    harness.key_press(egui::Key::Escape);
    harness.run();
    harness.get_by_label_contains("Verified insns");
    harness.get_by_label("9,876");
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);

    let (tx, rx) = bounded(64);
    let mut restarted = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            BpfScopeApp::with_storage(cc, Some(&storage), None, move |_, _| {
                Source::from_channel(rx)
            })
        });
    tx.send(hello()).unwrap();
    for n in 0..3 {
        tx.send(SourceEvent::Sample(sample(n))).unwrap();
    }
    restarted.run();
    restarted.get_by_label_contains("Verified insns");
    restarted.get_by_label("9,876");
}

/// Samples with program 10 doubling its rate after `n = 4`, program 20
/// steady and program 30 leaving at `n = 6`; runs and run time are exact.
fn changing_sample(n: u64) -> Sample {
    let runs10 = if n <= 4 { 100 * n } else { 400 + 200 * (n - 4) };
    let mut programs = vec![
        program(10, 6, "xdp_fw", "cilium-agent", runs10, runs10 * 50),
        program(20, 2, "trace_exec", "tetragon", 10 * n, 10 * n * 400),
    ];
    if n < 6 {
        programs.push(program(30, 3, "tc_nat", "cilium-agent", n, n * 1_000));
    }
    Sample {
        taken_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000 + n),
        boottime_ns: START_NS + n * 1_000_000_000,
        period: Duration::from_secs(1),
        facts: Vec::new(),
        links: None,
        programs,
    }
}

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

/// Clip rectangles (each one a draw call) of the last frame's output.
fn draw_calls(harness: &Harness<'_, BpfScopeApp>) -> usize {
    let output = harness.output();
    harness
        .ctx
        .tessellate(output.shapes.clone(), output.pixels_per_point)
        .len()
}

#[test]
fn the_table_body_is_drawn_in_a_fixed_number_of_draw_calls() {
    // Every draw call is costly where OpenGL runs on the CPU (llvmpipe under
    // Xvfb, or a machine without a GPU driver): a clip rectangle per cell
    // made 430 of them a frame and doubled the window's CPU share.
    let many = |n: u64| Sample {
        programs: (0..40)
            .map(|id| program(100 + id, 6, "many_rows", "agent", n * 1000, n * 50_000))
            .collect(),
        ..sample(n)
    };
    let (mut few, _tx) = harness(3);
    let (mut full, _tx) = harness_of((0..3).map(many));
    assert_eq!(ids(&mut full).len(), 40);
    few.run();
    let (few_calls, full_calls) = (draw_calls(&few), draw_calls(&full));
    assert!(
        full_calls <= few_calls + 2 && full_calls < 30,
        "3 rows take {few_calls} draw calls, 40 rows {full_calls}"
    );
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
