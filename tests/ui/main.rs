//! The real window (`BpfScopeApp`) driven through its accessibility tree with
//! egui_kittest, fed injected samples: no display, no kernel.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod analysis;
mod axes;
mod details;
mod export;
mod fixtures;
mod layout;
mod own;
mod pause;
mod per_cpu;
mod plots;
mod record;
mod replay;
mod sampled;
mod snapshots;
mod table;
