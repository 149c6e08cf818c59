//! bpfscope's shared vocabulary and the formats that cross a process or
//! outlive one.
//!
//! - [`model`]: what every other crate speaks: samples, facts, source
//!   events and status, and the metric maths. In memory only: it may change
//!   freely from one build to the next.
//! - [`protocol`]: the frames the sampler helper writes on its pipe (and a
//!   remote host's through ssh). Every byte read is untrusted.
//! - [`record`] (feature `recording`): recordings, the same frames in zstd
//!   blocks in a file that users keep.
//! - [`terminal`]: escaping text that another user controls before it
//!   reaches a terminal.
//!
//! No kernel, GUI, network or password crates: both the root-side helper
//! and the window link this.

pub mod model;
pub mod protocol;
#[cfg(feature = "recording")]
pub mod record;
pub mod terminal;

#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
