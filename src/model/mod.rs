//! Plain data passed from the sampler to its consumers, and the metric maths.

mod facts;
pub mod metrics;
mod name;
mod row;
mod sample;
pub mod store;
mod types;

pub use facts::{
    Absorbed, Catalog, LinkFacts, MapFacts, ProgramFacts, WITHOUT_LINK, WITHOUT_LINK_EXPLAINED,
    attach_summary, map_names,
};
pub use name::{KernelName, NAME_MAX};
pub use row::ProgramKey;
pub use sample::{Owner, ProgramSample, Sample};
pub use types::prog_type_name;
