//! Plain data passed from the sampler to its consumers, and the metric maths.

pub mod metrics;
mod name;
mod row;
mod sample;
pub mod store;
mod types;

pub use name::{KernelName, NAME_MAX};
pub use sample::{Owner, ProgramSample, Sample};
pub use types::prog_type_name;
