//! Drawing. Every function here reads data and records [`Command`]s; none
//! changes the store.

pub mod axis;
mod bars;
mod breakdown;
mod cells;
mod connect;
mod details;
mod export;
mod fleet;
pub mod format;
mod keys;
mod notes;
mod open;
mod per_cpu;
mod plots;
mod split;
mod stats_cost;
mod status;
mod table;
mod timeline;

pub use bars::{ViewBar, top_bar_ui, view_bar_ui};
pub use breakdown::{BreakdownInput, breakdown_ui};
pub use connect::connect_dialog_ui;
pub use details::{DetailsInput, details_ui};
pub use export::export_dialog_ui;
pub use fleet::{FleetInput, fleet_ui};
pub use keys::keyboard_commands;
pub use notes::{TableNotes, table_notes_ui};
pub use open::{host_dialog_ui, open_dialog_ui};
pub use per_cpu::{PER_CPU_UNAVAILABLE, PerCpuInput};
pub use plots::{PlotsInput, plots_ui};
pub use split::{PLOTS_STRIP, PlotsHandle, plots_handle_ui};
pub use status::{StatusBar, source_status_ui, status_bar_ui};
pub use table::{TableInput, program_table_ui};
pub use timeline::timeline_ui;
