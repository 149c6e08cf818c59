//! The details pane: everything known about one program — facts, attach
//! points, maps, owners with their command lines — and its current numbers.

use std::time::SystemTime;

use eframe::egui::{self, RichText};

use super::format;
use crate::model::{WITHOUT_LINK, WITHOUT_LINK_EXPLAINED};
use crate::store::Row;
use crate::view::{Command, CpuMode, OwnerDetails};

/// What the pane needs.
#[derive(Debug)]
pub struct DetailsInput<'a> {
    pub row: &'a Row,
    pub owners: &'a [OwnerDetails],
    /// The loading user's name, where the password database has it.
    pub user: Option<&'a str>,
    pub clock: Option<(SystemTime, u64)>,
    pub online_cpus: usize,
    pub cpu_mode: CpuMode,
    /// How old the owners are, at the shown sample.
    pub owners_age: Option<std::time::Duration>,
    pub per_cpu: super::per_cpu::PerCpuInput<'a>,
    /// What statistics cost a run, where the source measured it.
    pub accounting: Option<&'a crate::model::AccountingCost>,
    /// The share of the period statistics were on (1 but in low-overhead
    /// mode).
    pub stats_fraction: f64,
}

fn grid_row(ui: &mut egui::Ui, label: &str, value: impl Into<egui::WidgetText>) {
    ui.label(RichText::new(label).weak());
    ui.add(egui::Label::new(value).wrap());
    ui.end_row();
}

/// Draws the pane for one program.
pub fn details_ui(ui: &mut egui::Ui, input: &DetailsInput<'_>, commands: &mut Vec<Command>) {
    let row = input.row;
    let text = &row.text;
    let facts = text.facts.as_deref();
    // The close button first, from the right; the name takes what is left
    // and elides (its tooltip holds it whole).
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("✖")
                .on_hover_text("Close the details (I)")
                .clicked()
            {
                commands.push(Command::ToggleDetails);
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                let name = if text.name.is_empty() {
                    "(no name)"
                } else {
                    &text.name
                };
                ui.add(egui::Label::new(RichText::new(name).heading()).truncate());
            });
        });
    });
    if row.gone {
        ui.label(RichText::new("No longer loaded").italics());
    }
    ui.horizontal(|ui| {
        for (label, value) in [
            ("Copy ID", row.key.id.to_string()),
            ("Copy tag", text.tag.clone()),
            ("Copy name", text.name.clone()),
        ] {
            if ui
                .button(label)
                .on_hover_text(format!("Copy {value}"))
                .clicked()
            {
                commands.push(Command::Copy(value));
            }
        }
    });
    ui.separator();

    egui::ScrollArea::vertical()
        .id_salt("details_scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            facts_grid(ui, input);
            super::per_cpu::per_cpu_section(ui, input.row.key.id, &input.per_cpu);
            links_section(ui, &input.row.text);
            maps_section(ui, facts);
            owners_section(ui, input.owners, input.owners_age);
        });
}

fn facts_grid(ui: &mut egui::Ui, input: &DetailsInput<'_>) {
    let row = input.row;
    let text = &row.text;
    let facts = text.facts.as_deref();
    egui::Grid::new("details_facts")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            grid_row(ui, "ID", row.key.id.to_string());
            grid_row(ui, "Type", text.type_name.as_str());
            if text.kernel_name != text.name {
                grid_row(ui, "Kernel name", text.kernel_name.as_str());
            }
            grid_row(ui, "Tag", text.tag.as_str());
            if let Some(clock) = input.clock {
                grid_row(
                    ui,
                    "Loaded at",
                    format::loaded_at(clock, row.key.load_time_ns),
                );
            }
            metrics_rows(ui, input);
            match facts {
                Some(f) => {
                    let uid = match input.user {
                        Some(user) => format!("{} ({user})", f.uid),
                        None => f.uid.to_string(),
                    };
                    grid_row(ui, "Loaded by UID", uid);
                    grid_row(ui, "GPL-compatible", yes_no(f.gpl_compatible));
                    grid_row(
                        ui,
                        "JIT",
                        if f.jited {
                            format!("on, {}", format::bytes(u64::from(f.jited_bytes)))
                        } else {
                            "off (interpreted)".to_owned()
                        },
                    );
                    grid_row(
                        ui,
                        "Translated size",
                        format::bytes(u64::from(f.xlated_bytes)),
                    );
                    grid_row(
                        ui,
                        "Verified insns",
                        format::thousands(u64::from(f.verified_insns)),
                    );
                    grid_row(
                        ui,
                        "Memlock",
                        f.memlock_bytes
                            .map_or_else(|| "–".to_owned(), format::bytes),
                    );
                    grid_row(
                        ui,
                        "BTF id",
                        if f.btf_id == 0 {
                            "none".to_owned()
                        } else {
                            f.btf_id.to_string()
                        },
                    );
                }
                None => grid_row(ui, "Facts", "not read (yet)"),
            }
        });
}

fn links_section(ui: &mut egui::Ui, text: &crate::store::RowText) {
    ui.add_space(8.0);
    ui.label(RichText::new("Attach points").strong());
    match text.attach.links() {
        None => {
            ui.label("Not known: this source does not read BPF links.");
        }
        Some([]) => {
            ui.label(WITHOUT_LINK).on_hover_text(WITHOUT_LINK_EXPLAINED);
            ui.label(RichText::new(WITHOUT_LINK_EXPLAINED).weak().small());
        }
        Some(links) => {
            egui::Grid::new("details_links")
                .num_columns(3)
                .striped(true)
                .show(ui, |ui| {
                    ui.label(RichText::new("Via").weak());
                    ui.label(RichText::new("Type").weak());
                    ui.label(RichText::new("Target").weak());
                    ui.end_row();
                    for link in links {
                        ui.label(via_words(link));
                        ui.label(match &link.attach_type {
                            Some(a) => format!("{} · {a}", link.link_type),
                            None => link.link_type.clone(),
                        });
                        ui.add(egui::Label::new(link.target.as_str()).wrap());
                        ui.end_row();
                    }
                });
        }
    }
}

/// How an attachment was found: `link 12`, `perf event fd 8 of pid 5733`,
/// `netlink`, `cgroup`, …
fn via_words(link: &crate::model::LinkFacts) -> String {
    use crate::model::AttachVia;
    match link.via {
        AttachVia::Link => format!("link {}", link.id),
        AttachVia::PerfEvent { pid, fd } => format!("perf event fd {fd} of pid {pid}"),
        AttachVia::Xdp | AttachVia::Tc => "netlink".to_owned(),
        AttachVia::Cgroup => "cgroup (no link)".to_owned(),
        AttachVia::TailCall => "program array".to_owned(),
        AttachVia::Freplace => "extension".to_owned(),
    }
}

fn maps_section(ui: &mut egui::Ui, facts: Option<&crate::model::ProgramFacts>) {
    ui.add_space(8.0);
    ui.label(RichText::new("Maps").strong());
    match facts.map(|f| f.maps.as_slice()) {
        None => {
            ui.label("–");
        }
        Some([]) => {
            ui.label("none");
        }
        Some(maps) => {
            egui::Grid::new("details_maps")
                .num_columns(5)
                .striped(true)
                .show(ui, |ui| {
                    for head in ["ID", "Name", "Type", "Key/value", "Max entries"] {
                        ui.label(RichText::new(head).weak());
                    }
                    ui.end_row();
                    for map in maps {
                        ui.label(map.id.to_string());
                        ui.label(map.name.as_str());
                        ui.label(map.map_type.as_str());
                        ui.label(format!("{} / {} B", map.key_size, map.value_size));
                        ui.label(format::thousands(u64::from(map.max_entries)));
                        ui.end_row();
                    }
                });
        }
    }
}

fn owners_section(ui: &mut egui::Ui, owners: &[OwnerDetails], age: Option<std::time::Duration>) {
    ui.add_space(8.0);
    ui.horizontal(|ui| {
        ui.label(RichText::new("Owners").strong());
        if let Some(age) = age {
            ui.label(RichText::new(format!("read {} s ago", age.as_secs())).weak())
                .on_hover_text(
                    "Owners are read when a program or link comes or goes, and otherwise \
                     every 10 s: a process that opens a loaded program by id or pin shows up \
                     at the next read.",
                );
        }
    });
    if owners.is_empty() {
        ui.label("No process holds it (pinned, or held by the kernel only).");
    }
    for owner in owners {
        ui.label(format!("{} ({})", owner.comm, owner.pid));
        ui.add(egui::Label::new(RichText::new(&owner.cmdline).monospace().small()).wrap());
    }
}

fn metrics_rows(ui: &mut egui::Ui, input: &DetailsInput<'_>) {
    let row = input.row;
    let divisor = input.cpu_mode.divisor(input.online_cpus);
    match row.metrics {
        Some(m) => {
            grid_row(ui, "Avg runtime", format::duration_ns(m.avg_runtime_ns));
            grid_row(ui, "Events/s", format::rate(m.events_per_sec));
            grid_row(
                ui,
                input.cpu_mode.header(),
                format::cpu(m.cpu_percent / divisor, input.cpu_mode),
            );
            grid_row(ui, "Misses/s", format::rate(m.recursion_misses_per_sec));
            if let Some(cost) = input.accounting.and_then(|cost| {
                super::stats_cost::program_cost(
                    cost,
                    m.events_per_sec * input.stats_fraction,
                    divisor,
                    input.cpu_mode,
                )
            }) {
                ui.label(RichText::new("Statistics add").weak())
                    .on_hover_text(
                        "What the kernel's accounting of this program's runs costs while \
                     statistics are on: its runs a second × the time measured for each run's \
                     accounting when sampling started",
                    );
                ui.add(egui::Label::new(cost).wrap());
                ui.end_row();
            }
        }
        None => grid_row(ui, "Metrics", "after the next sample"),
    }
    grid_row(
        ui,
        "Total avg",
        format::duration_ns(row.total_avg_runtime_ns),
    );
    grid_row(ui, "Runs", format::thousands(row.run_cnt));
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
