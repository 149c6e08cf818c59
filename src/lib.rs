//! bpfscope: what every loaded eBPF program costs the machine, live.
//!
//! The modules follow the data flow, and imports point only down it
//! (`docs/architecture.md`):
//!
//! ```text
//! model ← sampler ← protocol ← source          (kernel → frames → channel)
//! model ← store ← view ← ui ← app              (channel → history → window)
//! model ← fleet ─────────────────→ app           (Prometheus → fleet view)
//!                 export, cli                   (writers and subcommands)
//! ```
//!
//! - [`model`]: the shared vocabulary (samples, facts, source events and
//!   status) and the metric maths.
//! - [`sampler`]: the privileged part: kernel → [`model::Sample`].
//! - [`protocol`]: the frames the elevated helper writes; every byte read is
//!   untrusted.
//! - [`source`]: where samples come from (a thread, the helper) → one
//!   bounded channel.
//! - [`fleet`]: the fleet view's source: Prometheus' HTTP API, asked by a
//!   named thread → one bounded channel.
//! - [`record`]: recordings: the helper's frames in zstd blocks in a file.
//! - [`store`]: channel → history; owns the live state and the frozen one
//!   (pause), so every view reads one moment.
//! - [`view`]: what the window shows, without egui: commands, settings,
//!   sort, grouping, the derived table, baseline and thresholds.
//! - [`ui`]: egui drawing, `*_ui` functions that read the view and push
//!   [`view::Command`]s.
//! - [`app`]: the eframe glue: intake, layout, commands.
//! - [`export`]: CSV and JSON writers; [`cli`]: `bpfscope sample`.
//! - [`sys`]: the few operating-system facts the rest needs.

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
