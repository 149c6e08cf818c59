//! The program table: virtualised rows, sortable headers, click to plot.

use std::collections::BTreeSet;

use eframe::egui::{self, Align, Layout, RichText, Sense};
use egui_extras::{Column, TableBuilder};

use super::format;
use crate::app::view::{Sort, SortColumn};
use crate::app::{Command, CpuMode, SelectMode};
use crate::model::store::{ProgramKey, Row};

/// What the table needs to draw.
#[derive(Debug)]
pub struct TableInput<'a> {
    pub rows: &'a [Row],
    pub order: &'a [usize],
    pub selected: &'a BTreeSet<ProgramKey>,
    pub cursor: Option<ProgramKey>,
    pub scroll_to_cursor: bool,
    pub sort: Sort,
    pub online_cpus: f64,
    pub cpu_mode: CpuMode,
    /// Height the table may take at most (header included).
    pub max_height: f32,
}

const COLUMNS: [(SortColumn, &str, &str); 8] = [
    (SortColumn::Id, "ID", "Kernel program id"),
    (
        SortColumn::Type,
        "Type",
        "Program type, as bpftool names it",
    ),
    (
        SortColumn::Name,
        "Name",
        "Program name (the kernel keeps 15 characters)",
    ),
    (
        SortColumn::AvgRuntime,
        "Avg runtime",
        "Average time of one run over the last period: Δrun_time_ns ÷ Δrun_cnt",
    ),
    (
        SortColumn::TotalAvgRuntime,
        "Total avg",
        "Average time of one run since statistics were turned on: run_time_ns ÷ run_cnt",
    ),
    (
        SortColumn::EventsPerSec,
        "Events/s",
        "Runs per second over the last period: Δrun_cnt ÷ Δt",
    ),
    (SortColumn::Cpu, "CPU %", ""),
    (
        SortColumn::Owners,
        "Owners",
        "Processes holding the program (comm and pid)",
    ),
];

/// Draws the table; clicks become [`Command`]s.
pub fn program_table_ui(ui: &mut egui::Ui, input: &TableInput<'_>, commands: &mut Vec<Command>) {
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    let mut table = TableBuilder::new(ui)
        .id_salt("programs")
        .striped(true)
        .resizable(true)
        .sense(Sense::click())
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::initial(64.0).at_least(40.0))
        .column(Column::initial(110.0).at_least(40.0))
        .column(Column::initial(170.0).at_least(60.0).clip(true))
        .column(Column::initial(96.0).at_least(60.0))
        .column(Column::initial(90.0).at_least(60.0))
        .column(Column::initial(90.0).at_least(60.0))
        .column(Column::initial(110.0).at_least(60.0))
        .column(Column::remainder().at_least(80.0).clip(true))
        .min_scrolled_height(0.0)
        .max_scroll_height((input.max_height - row_height - 4.0).max(row_height))
        .auto_shrink([false, input.max_height.is_finite()]);
    if input.scroll_to_cursor {
        if let Some(at) = input
            .cursor
            .and_then(|c| input.order.iter().position(|&i| input.rows[i].key == c))
        {
            table = table.scroll_to_row(at, None);
        }
    }
    table
        .header(row_height + 2.0, |mut header| {
            for (column, title, tip) in COLUMNS {
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
                    let clicked = ui
                        .add(
                            egui::Button::new(RichText::new(format!("{title}{arrow}")).strong())
                                .frame(false),
                        )
                        .on_hover_text(format!("{tip}\n\nClick to sort."))
                        .clicked();
                    if clicked {
                        commands.push(Command::Sort(column));
                    }
                });
            }
        })
        .body(|body| {
            body.rows(row_height, input.order.len(), |mut table_row| {
                let row = &input.rows[input.order[table_row.index()]];
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

fn cell(ui: &mut egui::Ui, row: &Row, text: String, tip: Option<String>) {
    let mut rich = RichText::new(text);
    if row.gone {
        rich = rich.weak().italics();
    }
    let response = ui.add(egui::Label::new(rich).selectable(false).truncate());
    if let Some(tip) = tip {
        response.on_hover_text(tip);
    }
}

fn row_cells(table_row: &mut egui_extras::TableRow<'_, '_>, row: &Row, input: &TableInput<'_>) {
    let metrics = row.metrics;
    table_row.col(|ui| cell(ui, row, row.key.id.to_string(), None));
    table_row.col(|ui| cell(ui, row, row.text.type_name.clone(), None));
    table_row.col(|ui| {
        let mut name = if row.name().is_empty() {
            "(no name)".to_owned()
        } else {
            row.name().to_owned()
        };
        if row.gone {
            name.push_str(" — gone");
        }
        let tip = if row.own {
            "One of bpfscope's own programs: its overhead is shown like any other".to_owned()
        } else if row.gone {
            "No longer loaded; kept until you click \"Clear gone\"".to_owned()
        } else {
            row.name().to_owned()
        };
        cell(ui, row, name, Some(tip));
    });
    let dash = || "–".to_owned();
    table_row.col(|ui| {
        let text = metrics.map_or_else(dash, |m| format::duration_ns(m.avg_runtime_ns));
        let tip = metrics.map(|m| format!("{:.3} ns per run", m.avg_runtime_ns));
        cell(ui, row, text, tip);
    });
    table_row.col(|ui| {
        cell(
            ui,
            row,
            format::duration_ns(row.total_avg_runtime_ns),
            Some(format!(
                "{:.3} ns per run over {} runs ({} ns in all)",
                row.total_avg_runtime_ns,
                format::thousands(row.run_cnt),
                format::thousands(row.run_time_ns)
            )),
        );
    });
    table_row.col(|ui| {
        let text = metrics.map_or_else(dash, |m| format::rate(m.events_per_sec));
        let tip = metrics.map(|m| format!("{:.3} runs per second", m.events_per_sec));
        cell(ui, row, text, tip);
    });
    table_row.col(|ui| {
        let divisor = match input.cpu_mode {
            CpuMode::OneCpu => 1.0,
            CpuMode::AllCpus => input.online_cpus.max(1.0),
        };
        let text = metrics.map_or_else(dash, |m| format::percent(m.cpu_percent / divisor));
        let tip = metrics.map(|m| {
            format!(
                "{:.6} % of one CPU\n{:.6} % of all CPUs",
                m.cpu_percent,
                m.cpu_percent / input.online_cpus.max(1.0)
            )
        });
        cell(ui, row, text, tip);
    });
    table_row.col(|ui| {
        let owners = &row.text.owners;
        let tip = (!owners.is_empty()).then(|| owners.replace(", ", "\n"));
        cell(ui, row, owners.clone(), tip);
    });
}
