//! The program table: rows, filter, sort, keyboard, columns, settings.

use crate::fixtures::*;

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

    let (restarted, _tx) = harness_stored((0..3).map(sample), storage);
    restarted.get_by_label_contains("Verified insns");
    restarted.get_by_label("9,876");
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
fn the_status_bar_counts_loaded_and_gone_programs_apart() {
    let leaving = |n: u64| Sample {
        programs: sample(n)
            .programs
            .into_iter()
            .filter(|p| n < 2 || p.id != 20)
            .collect(),
        ..sample(n)
    };
    let (harness, _tx) = harness_of((0..4).map(leaving));
    harness.get_by_label("2 of 2 programs");
    harness.get_by_label("· 1 gone");
    harness.get_by_label("trace_exec — gone");
}
