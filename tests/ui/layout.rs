//! The table and plots share the height as the user drags it, the plots
//! fold to a strip, the details pane keeps its width; all survive a restart.

use crate::fixtures::*;

/// Sample `n` of 60 programs, `prog_00` … `prog_59`.
fn crowded(n: u64) -> Sample {
    Sample {
        programs: (0..60)
            .map(|i| {
                let name = format!("prog_{i:02}");
                program(
                    100 + i,
                    6,
                    &name,
                    "agent",
                    n * (u64::from(i) + 1) * 10,
                    n * 5_000,
                )
            })
            .collect(),
        ..sample(n)
    }
}

/// Rows of the table fully above `bottom`: the ones a user sees (not the
/// details pane's heading, right of the table).
fn visible_rows(harness: &Harness<'_, BpfScopeApp>, bottom: f32) -> usize {
    let pane = harness
        .query_by_label("Copy ID")
        .map_or(f32::INFINITY, |node| node.rect().left());
    harness
        .get_all_by_label_contains("prog_")
        .filter(|node| {
            let rect = node.rect();
            rect.bottom() <= bottom + 0.5 && rect.top() > 0.0 && rect.right() < pane
        })
        .count()
}

fn divider(harness: &Harness<'_, BpfScopeApp>) -> egui::Rect {
    harness.get_by_label("Table and plots divider").rect()
}

fn restarted_with(storage: MemoryStorage) -> (Harness<'static, BpfScopeApp>, Sender<SourceEvent>) {
    harness_stored((0..3).map(crowded), storage)
}

#[test]
fn at_the_default_size_the_table_shows_twenty_rows_beside_the_plots() {
    let (mut harness, _tx) = harness_of((0..3).map(crowded));
    harness.get_by_label("prog_00").click();
    harness.run();
    assert_eq!(plot_frames(&harness).len(), 3, "a program is plotted");
    let rows = visible_rows(&harness, divider(&harness).top());
    assert!(rows >= 20, "{rows} rows visible above the plots");
}

#[test]
fn dragging_the_divider_changes_the_rows_shown_and_survives_a_restart() {
    let (mut harness, _tx) = harness_of((0..3).map(crowded));
    harness.get_by_label("prog_00").click();
    harness.run();
    let before = visible_rows(&harness, divider(&harness).top());
    let grip = divider(&harness).center();
    harness.drag_at(grip);
    harness.run();
    harness.hover_at(grip - egui::vec2(0.0, 200.0));
    harness.run();
    harness.drop_at(grip - egui::vec2(0.0, 200.0));
    harness.run();
    let moved = divider(&harness);
    assert!(
        (moved.center().y - (grip.y - 200.0)).abs() < 30.0,
        "the divider is at y = {}, dragged to {}",
        moved.center().y,
        grip.y - 200.0
    );
    let after = visible_rows(&harness, moved.top());
    assert!(
        after + 7 <= before,
        "{before} rows before the drag, {after} after"
    );

    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let (mut restarted, _tx) = restarted_with(storage);
    restarted.get_by_label("prog_00").click();
    restarted.run();
    assert_eq!(visible_rows(&restarted, divider(&restarted).top()), after);
}

#[test]
fn folded_plots_give_the_table_the_room_and_stay_folded() {
    let (mut harness, _tx) = harness_of((0..3).map(crowded));
    harness.get_by_label("prog_00").click();
    harness.run();
    let open = visible_rows(&harness, divider(&harness).top());
    harness.get_by_label("⏷ Plots").click();
    harness.run();
    assert!(plot_frames(&harness).is_empty(), "the plots are folded");
    let strip = harness.get_by_label("⏵ Plots").rect();
    let folded = visible_rows(&harness, strip.top());
    assert!(
        folded >= open + 8,
        "{open} rows with plots, {folded} folded"
    );

    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let (mut restarted, _tx) = restarted_with(storage);
    restarted.get_by_label("prog_00").click();
    restarted.run();
    assert!(plot_frames(&restarted).is_empty(), "still folded");
    restarted.get_by_label("⏵ Plots").click();
    restarted.run();
    assert_eq!(plot_frames(&restarted).len(), 3);
}

#[test]
fn the_details_pane_keeps_the_width_it_was_dragged_to() {
    let (mut harness, _tx) = harness_of((0..3).map(crowded));
    harness.get_by_label("prog_00").click();
    harness.run();
    let pane = harness.get_by_label("Copy ID").rect().left();
    // The pane's resize edge lies a few points left of its content.
    let edge = egui::pos2(pane - 9.0, 400.0);
    harness.drag_at(edge);
    harness.run();
    harness.hover_at(edge - egui::vec2(150.0, 0.0));
    harness.run();
    harness.drop_at(edge - egui::vec2(150.0, 0.0));
    harness.run();
    let wider = harness.get_by_label("Copy ID").rect().left();
    assert!(
        (pane - wider - 150.0).abs() < 20.0,
        "the pane's content moved from x = {pane} to {wider}"
    );
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let (mut restarted, _tx) = restarted_with(storage);
    restarted.get_by_label("prog_00").click();
    restarted.run();
    let again = restarted.get_by_label("Copy ID").rect().left();
    assert!(
        (again - wider).abs() < 2.0,
        "{again} after a restart, {wider} before"
    );
}

#[test]
fn beside_the_details_pane_every_default_column_is_in_view() {
    let (mut harness, _tx) = harness(5);
    harness.get_by_label("xdp_fw").click();
    harness.run();
    let pane = harness.get_by_label("Copy ID").rect().left();
    for header in ["Attach", "Owners"] {
        // The details pane has an "Owners" heading too: the table's is left.
        let rect = harness
            .get_all_by_label(header)
            .map(|node| node.rect())
            .min_by(|a, b| a.left().total_cmp(&b.left()))
            .unwrap();
        assert!(
            rect.right() <= pane,
            "the {header} header ends at x = {}, under the details pane (from x = {pane})",
            rect.right()
        );
    }
}

#[test]
fn stored_settings_out_of_range_fall_back() {
    // eframe keeps settings as RON, where NaN and inf are values.
    let mut storage = MemoryStorage::default();
    storage.0.insert(
        bpfscope::app::SETTINGS_KEY.to_owned(),
        "(table_share: NaN, details_width: inf, show_own: false)".to_owned(),
    );
    let (mut harness, _tx) = restarted_with(storage);
    assert!(
        !harness.state().settings().show_own,
        "the valid field is kept"
    );
    harness.get_by_label("prog_00").click();
    harness.run();
    let rows = visible_rows(&harness, divider(&harness).top());
    assert!(rows >= 20, "{rows} rows with a NaN share");
    let pane = harness.get_by_label("Copy ID").rect().left();
    assert!(
        pane > 640.0 && pane < 1100.0,
        "the pane starts at x = {pane}"
    );
}

#[test]
fn short_plots_stand_side_by_side_with_one_legend_and_labelled_axes() {
    let (mut harness, _tx) = harness_of((0..3).map(crowded));
    harness.get_by_label("prog_00").click();
    harness.run();
    let frames = plot_frames(&harness);
    assert_eq!(frames.len(), 3);
    assert!(
        (frames[0].top() - frames[2].top()).abs() < 1.0 && frames[0].right() < frames[1].left(),
        "not side by side: {frames:?}"
    );
    assert_eq!(
        harness.get_all_by_label("prog_00 (#100)").count(),
        1,
        "one legend"
    );
    let texts = painted_texts(&harness);
    for frame in frames {
        let times = texts
            .iter()
            .filter(|(text, rect)| {
                text.ends_with(" s")
                    && rect.top() >= frame.bottom() - 1.0
                    && rect.top() <= frame.bottom() + 20.0
                    && rect.center().x >= frame.left()
                    && rect.center().x <= frame.right()
            })
            .count();
        assert!(
            times >= 3,
            "{times} time labels under the plot at {frame:?}"
        );
    }
}
