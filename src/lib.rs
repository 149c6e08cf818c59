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
