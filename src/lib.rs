//! bpfscope: what every loaded eBPF program costs the machine, live.
//!
//! This crate is everything a user runs: the window, `sample`, `record`,
//! `serve` and the fleet view. It sits on two crates whose direction the
//! compiler holds (`docs/architecture.md`):
//!
//! ```text
//! bpfscope-wire   model, protocol, record, terminal   (vocabulary and formats)
//!       ▲
//! bpfscope-kernel sampler, privilege, sys              (the root side, the helper)
//!       ▲
//! bpfscope        source ← store ← view ← ui ← app     (channel → history → window)
//!                 cli, export, serve, fleet            (subcommands, writers, exporter)
//! ```
//!
//! - [`model`], [`protocol`], [`record`]: re-exported from `bpfscope-wire`:
//!   the vocabulary and the versioned frame and recording formats.
//! - [`sampler`], [`privilege`], [`sys`]: re-exported from
//!   `bpfscope-kernel`: kernel → [`model::Sample`], and the helper's
//!   privilege.
//! - [`source`]: where samples come from (a thread, the helper, a remote
//!   host, a recording) → one bounded channel.
//! - [`store`]: channel → history; owns the live state and the frozen one
//!   (pause), so every view reads one moment.
//! - [`view`]: what the window shows, without egui: commands, settings,
//!   sort, grouping, the derived table, baseline and thresholds.
//! - [`ui`]: egui drawing, `*_ui` functions that read the view and push
//!   [`view::Command`]s.
//! - [`app`]: the eframe glue: intake, layout, commands.
//! - [`export`]: CSV and JSON writers; [`cli`]: `bpfscope sample` and
//!   `record`.
//! - [`serve`]: `bpfscope serve`, the Prometheus exporter (network-facing).
//! - [`fleet`]: the fleet view's source: Prometheus' HTTP API, asked by a
//!   named thread → one bounded channel.

/// The desktop application's id: the desktop file's and metainfo's name, the
/// window's app id (Wayland) and WM_CLASS (X11), and the icon's name.
pub const APP_ID: &str = "io.github.bpfscope.BpfScope";

/// The polkit action that lets a user run the sampler helper as root.
pub const POLKIT_ACTION: &str = "io.github.bpfscope.BpfScope.sample";

/// Where packages install the helper; the polkit policy names this path.
pub const HELPER_INSTALL_PATH: &str = "/usr/libexec/bpfscope/bpfscope-sampler";

// The layers below, each its own crate so that the compiler holds the
// direction: `bpfscope-wire` (vocabulary and formats) ← `bpfscope-kernel`
// (the sampler and the root-side helper) ← this crate.
pub use bpfscope_kernel::{privilege, sampler, sys};
pub use bpfscope_wire::{model, protocol, record};

pub mod app;
pub mod cli;
pub mod export;
pub mod fleet;
pub mod serve;
pub mod source;
pub mod store;
pub mod ui;
pub mod view;

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
