//! Test helpers of every layer in one place, for bpfscope's tests,
//! benchmarks, examples and fuzz target (feature `test-support`; never in a
//! release build): real BPF programs and machine locks from the kernel
//! crate, sample builders from the wire crate, and the consumer that feeds
//! frames through everything the window does.

mod consumer;

pub use bpfscope_kernel::test_support::*;
pub use consumer::Consumer;
