//! Plots of the selected programs, and the room they keep.

use crate::fixtures::*;

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
