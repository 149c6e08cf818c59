//! bpfscope: what every loaded eBPF program costs the machine, live.
//!
//! The crate is split along the data flow of `shared/design.md`:
//!
//! - [`sampler`]: the privileged part. Turns on the kernel's run-time
//!   statistics, reads every program's counters once per period and sends
//!   whole [`model::Sample`]s down a bounded channel from a named thread.
//! - [`model`]: plain data and the pure metric maths (avg runtime, events/s,
//!   CPU %) computed from two consecutive samples.
//! - [`protocol`]: the frames the elevated helper writes and the window
//!   reads; the decoder treats every byte as untrusted.
//! - [`export`]: the CSV and JSON writers shared by `bpfscope sample` and the
//!   window's export.
//! - [`sys`]: the few operating-system facts the rest needs (clocks, CPUs,
//!   capabilities, kernel release).

/// The desktop application's id: the desktop file's and metainfo's name, the
/// window's app id (Wayland) and WM_CLASS (X11), and the icon's name.
pub const APP_ID: &str = "io.github.bpfscope.BpfScope";

/// The polkit action that lets a user run the sampler helper as root.
pub const POLKIT_ACTION: &str = "io.github.bpfscope.BpfScope.sample";

/// Where packages install the helper; the polkit policy names this path.
pub const HELPER_INSTALL_PATH: &str = "/usr/libexec/bpfscope/bpfscope-sampler";

pub mod app;
pub mod export;
pub mod model;
pub mod protocol;
pub mod sampler;
pub mod source;
pub mod sys;
pub mod ui;

#[doc(hidden)]
pub mod test_support;
