//! The program table: virtualised rows, sortable headers, click to plot.

use std::collections::BTreeSet;

use eframe::egui::{self, Align, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};

use super::cells::cell_text;
use super::format;
use crate::model::ProgramKey;
use crate::store::Row;
use crate::view::{
    Command, CpuMode, Diffs, Group, SelectMode, Sort, SortColumn, TableLine, Thresholds,
};

/// What the table needs to draw.
#[derive(Debug)]
pub struct TableInput<'a> {
    pub rows: &'a [Row],
    /// Group headers and rows, in drawing order.
    pub lines: &'a [TableLine],
    pub groups: &'a [Group],
    pub selected: &'a BTreeSet<ProgramKey>,
    pub cursor: Option<ProgramKey>,
    pub scroll_to_cursor: bool,
    pub sort: Sort,
    pub online_cpus: usize,
    pub cpu_mode: CpuMode,
    /// Height the table may take at most (header included).
    pub max_height: f32,
    /// The columns to draw, in order (see [`SortColumn::visible`]).
    pub columns: &'a [SortColumn],
    /// Wall clock and `CLOCK_BOOTTIME` of one instant, to show load times.
    pub clock: Option<(std::time::SystemTime, u64)>,
    /// Changes against the baseline (diff mode).
    pub diffs: Option<&'a Diffs>,
    pub thresholds: Thresholds,
    /// The width the columns' first widths fit in.
    pub fit_width: f32,
    /// What statistics cost a run, where the source measured it.
    pub accounting: Option<&'a crate::model::AccountingCost>,
    /// The share of the period statistics were on (1 but in low-overhead
    /// mode).
    pub stats_fraction: f64,
}

/// A column's header and its tooltip.
fn title(column: SortColumn) -> (&'static str, &'static str) {
    match column {
        SortColumn::Id => ("ID", "Kernel program id"),
        SortColumn::Type => ("Type", "Program type, as bpftool names it"),
        SortColumn::Name => (
            "Name",
            "The function name from the program's BTF where it has one; else the \
             kernel's name, which it cuts at 15 characters",
        ),
        SortColumn::AvgRuntime => (
            "Avg runtime",
            "Average time of one run over the last period: Δrun_time_ns ÷ Δrun_cnt",
        ),
        SortColumn::TotalAvgRuntime => (
            "Total avg",
            "Average time of one run since statistics were turned on: run_time_ns ÷ run_cnt",
        ),
        SortColumn::EventsPerSec => (
            "Events/s",
            "Runs per second over the last period: Δrun_cnt ÷ Δt",
        ),
        SortColumn::Cpu => ("CPU %", ""),
        SortColumn::Owners => ("Owners", "Processes holding the program (comm and pid)"),
        SortColumn::Tag => (
            "Tag",
            "Hash of the program's instructions, as bpftool shows it",
        ),
        SortColumn::Attach => (
            "Attach",
            "Where the program's BPF links attach it: attach type and target",
        ),
        SortColumn::Maps => ("Maps", "Names of the maps the program uses"),
        SortColumn::JitSize => (
            "JIT size",
            "Size of the program's native (JIT-compiled) code",
        ),
        SortColumn::VerifiedInsns => (
            "Verified insns",
            "Instructions the verifier processed when the program was loaded",
        ),
        SortColumn::Memlock => ("Memlock", "Memory the kernel charges to the program"),
        SortColumn::MissesPerSec => (
            "Misses/s",
            "Runs skipped per second because the program was already running on that CPU \
             (recursion misses)",
        ),
        SortColumn::LoadedAt => ("Loaded at", "When the program was loaded (local time)"),
        SortColumn::Uid => ("UID", "User id that loaded the program"),
        SortColumn::Spread => (
            "Spread",
            "The busiest CPU's share of the program's run time over the last period: 100 % \
             when one CPU pays it all, 1/N when N CPUs share it evenly. Shown for programs \
             above 0.01 % of one CPU (the 64 costliest)",
        ),
        SortColumn::DeltaAvgRuntime => (
            "Δ Avg runtime",
            "Average runtime over the baseline's window now, minus the baseline's",
        ),
        SortColumn::DeltaEventsPerSec => (
            "Δ Events/s",
            "Events per second over the baseline's window now, minus the baseline's",
        ),
        SortColumn::DeltaCpu => (
            "Δ CPU %",
            "CPU % (of one CPU) over the baseline's window now, minus the baseline's",
        ),
    }
}

fn initial_width(column: SortColumn) -> f32 {
    match column {
        SortColumn::Id | SortColumn::Uid => 56.0,
        SortColumn::Name => 180.0,
        SortColumn::Attach => 200.0,
        SortColumn::Maps => 160.0,
        SortColumn::Tag | SortColumn::LoadedAt => 120.0,
        SortColumn::Type | SortColumn::Cpu => 104.0,
        _ => 92.0,
    }
}

/// Draws the table; clicks become [`Command`]s.
pub fn program_table_ui(ui: &mut egui::Ui, input: &TableInput<'_>, commands: &mut Vec<Command>) {
    // Columns wider than the window scroll sideways instead of widening the
    // panel, which would push the plots' latest seconds under the details
    // pane.
    // The columns' first widths shrink to fit the room there is (down to
    // their least), so that a new set of columns starts without scrolling.
    let wanted: f32 = input
        .columns
        .iter()
        .map(|&c| {
            if c == SortColumn::Owners {
                // Room for a name and pid, not only the least.
                OWNERS_LEAST * 2.0
            } else {
                initial_width(c)
            }
        })
        .sum::<f32>()
        + input.columns.len() as f32 * (ui.spacing().item_spacing.x + 1.0);
    let fit = (input.fit_width.min(ui.available_width()) / wanted).clamp(0.0, 1.0);
    egui::ScrollArea::horizontal()
        .id_salt("programs_sideways")
        .auto_shrink([false, true])
        .show(ui, |ui| table_ui(ui, input, fit, commands));
}

/// The Owners column's least width; it takes what the others leave.
const OWNERS_LEAST: f32 = 80.0;

fn table_ui(ui: &mut egui::Ui, input: &TableInput<'_>, fit: f32, commands: &mut Vec<Command>) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut table = TableBuilder::new(ui)
        // Widths are kept per set of columns.
        .id_salt(("programs", input.columns))
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .cell_layout(Layout::left_to_right(Align::Center));
    // Cells are not clipped: every label in them truncates to the cell's
    // width instead. A clipped cell is a clip rectangle of its own, and so a
    // draw call of its own (hundreds a frame, each costly where OpenGL runs
    // on the CPU); unclipped, the whole body is one.
    for &column in input.columns {
        table = table.column(if column == SortColumn::Owners {
            Column::remainder().at_least(OWNERS_LEAST)
        } else {
            Column::initial((initial_width(column) * fit).max(48.0)).at_least(40.0)
        });
    }
    let mut table = table
        .min_scrolled_height(0.0)
        .max_scroll_height((input.max_height - row_height - 4.0).max(row_height))
        .auto_shrink([false, input.max_height.is_finite()]);
    if input.scroll_to_cursor
        && let Some(at) = input.cursor.and_then(|c| {
            input
                .lines
                .iter()
                .position(|l| matches!(l, TableLine::Row(i) if input.rows[*i].key == c))
        })
    {
        table = table.scroll_to_row(at, None);
    }
    table
        .header(row_height + 2.0, |mut header| {
            for &column in input.columns {
                let (title, tip) = title(column);
                header.col(|ui| {
                    let title = if column == SortColumn::Cpu {
                        input.cpu_mode.header()
                    } else {
                        title
                    };
                    let arrow = match (input.sort.column == column, input.sort.descending) {
                        (true, true) => " ⏷",
                        (true, false) => " ⏶",
                        (false, _) => "",
                    };
                    let tip = if column == SortColumn::Cpu {
                        input.cpu_mode.explanation()
                    } else {
                        tip
                    };
                    let response = ui
                        .add(
                            egui::Button::new(RichText::new(format!("{title}{arrow}")).strong())
                                .frame(false),
                        )
                        .on_hover_text(format!(
                            "{tip}\n\nClick to sort; right-click to choose columns."
                        ));
                    if response.clicked() {
                        commands.push(Command::Sort(column));
                    }
                    response.context_menu(|ui| columns_menu(ui, input.columns, commands));
                });
            }
        })
        .body(|body| {
            body.rows(row_height, input.lines.len(), |mut table_row| {
                let row = match input.lines[table_row.index()] {
                    TableLine::Row(i) => &input.rows[i],
                    TableLine::Group(g) => {
                        group_cells(&mut table_row, &input.groups[g], input);
                        return;
                    }
                };
                table_row.set_selected(input.selected.contains(&row.key));
                if input.cursor == Some(row.key) {
                    table_row.set_hovered(true);
                }
                row_cells(&mut table_row, row, input);
                let response = table_row.response();
                if response.clicked() {
                    let modifiers = response.ctx.input(|i| i.modifiers);
                    let mode = if modifiers.command {
                        SelectMode::Toggle
                    } else if modifiers.shift {
                        SelectMode::Range
                    } else {
                        SelectMode::Only
                    };
                    commands.push(Command::Select(row.key, mode));
                }
            });
        });
}

/// A group's header line: its name and program count, and subtotals under
/// Events/s and CPU %.
fn group_cells(
    table_row: &mut egui_extras::TableRow<'_, '_>,
    group: &Group,
    input: &TableInput<'_>,
) {
    let divisor = input.cpu_mode.divisor(input.online_cpus);
    for &column in input.columns {
        table_row.col(|ui| {
            let text = match column {
                SortColumn::Id => "⏷".to_owned(),
                SortColumn::Name => format!(
                    "{} — {} program{}",
                    group.label,
                    group.programs,
                    if group.programs == 1 { "" } else { "s" }
                ),
                SortColumn::EventsPerSec => format::rate(group.events_per_sec),
                SortColumn::Cpu => format::cpu(group.cpu_percent / divisor, input.cpu_mode),
                _ => String::new(),
            };
            if !text.is_empty() {
                ui.add(
                    egui::Label::new(RichText::new(text).strong())
                        .selectable(false)
                        .truncate()
                        .show_tooltip_when_elided(false),
                )
                .on_hover_text(&group.label);
            }
        });
    }
}

fn cell(ui: &mut egui::Ui, row: &Row, text: String, tip: Option<String>, alert: bool) {
    let mut rich = RichText::new(text);
    if row.gone {
        rich = rich.weak().italics();
    } else if row.own {
        rich = rich.weak();
    } else if alert {
        rich = rich.color(ui.visuals().warn_fg_color).strong();
    }
    // A tooltip of our own holds the full text, so egui's for elided text
    // would only stack a second one on it.
    let label = egui::Label::new(rich)
        .selectable(false)
        .truncate()
        .show_tooltip_when_elided(tip.is_none());
    let response = ui.add(label);
    if let Some(tip) = tip {
        response.on_hover_text(tip);
    }
}

/// The badge before the name of one of bpfscope's own programs.
fn own_badge(ui: &mut egui::Ui, tip: Option<&str>) {
    let widgets = &ui.visuals().widgets.inactive;
    let badge = RichText::new(" bpfscope ")
        .small()
        .color(widgets.fg_stroke.color)
        .background_color(widgets.bg_fill);
    let response = ui.add(egui::Label::new(badge).selectable(false));
    if let Some(tip) = tip {
        response.on_hover_text(tip);
    }
}

/// The header's context menu: a checkbox per optional column.
fn columns_menu(ui: &mut egui::Ui, visible: &[SortColumn], commands: &mut Vec<Command>) {
    ui.label(RichText::new("Show columns").strong());
    for column in SortColumn::OPTIONAL {
        let mut shown = visible.contains(&column);
        if ui.checkbox(&mut shown, title(column).0).changed() {
            commands.push(Command::ToggleColumn(column));
        }
    }
}

fn row_cells(table_row: &mut egui_extras::TableRow<'_, '_>, row: &Row, input: &TableInput<'_>) {
    let over = input.thresholds.any() && row.metrics.is_some_and(|m| input.thresholds.exceeded(&m));
    for &column in input.columns {
        table_row.col(|ui| {
            let (text, tip) = cell_text(column, row, input);
            if column == SortColumn::Name && row.own {
                own_badge(ui, tip.as_deref());
            }
            let tip = if over && matches!(column, SortColumn::AvgRuntime | SortColumn::Cpu) {
                Some(format!("{}\nOver your threshold", tip.unwrap_or_default()))
            } else {
                tip
            };
            cell(ui, row, text, tip, over);
        });
    }
}
