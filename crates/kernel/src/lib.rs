//! bpfscope's kernel side: everything that runs with privilege.
//!
//! - [`sampler`]: kernel → [`bpfscope_wire::model::Sample`]: statistics,
//!   iterators, owners, attach points, per-CPU counters, low-overhead mode.
//! - [`privilege`]: the helper's account and capabilities, dropped after
//!   start-up.
//! - [`sys`]: the few operating-system facts the rest needs.
//!
//! The `bpfscope-sampler` binary (the helper polkit starts as root) is built
//! from this crate alone, so `cargo tree -p bpfscope-kernel -e normal` lists
//! everything that runs as root. It imports only `bpfscope-wire`.

pub mod privilege;
pub mod sampler;
pub mod sys;

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;

// The vocabulary, under the names the sampler's modules use.
pub(crate) use bpfscope_wire::model;
