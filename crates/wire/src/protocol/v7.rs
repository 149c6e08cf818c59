//! Frame protocol 7, frozen: the layout bpfscope wrote from the per-CPU
//! release (2026-12) until protocol 8, in the helper's pipe and in every
//! recording of that time. Never edit a type here: a later protocol defines
//! what changed in its own module and reuses the rest from here (see
//! `docs/formats.md`). The fixtures under `tests/fixtures/` hold frames of
//! this layout, and a test replays them.
//!
//! postcard encodes fields in declaration order with no names, so the
//! order and the types below are the format.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::model::{self, KernelName};

/// What a protocol 7 helper says first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u32,
    pub source: SourceInfo,
}

/// One protocol 7 message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    Hello(Hello),
    Sample(Sample),
    Error(String),
    Warning(String),
    Facts(Vec<ProgramFacts>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub stats_mode: StatsMode,
    pub enumeration: Enumeration,
    pub owners_available: bool,
    pub kernel_release: String,
    pub online_cpus: u32,
    pub notices: Vec<String>,
    pub accounting: AccountingCost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatsMode {
    Syscall,
    Sysctl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enumeration {
    Iterator,
    Syscall,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountingCost {
    Measured { without_ns: u32, with_ns: u32 },
    AlreadyOn,
    NotMeasured(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    pub taken_at: SystemTime,
    pub boottime_ns: u64,
    pub period: Duration,
    pub programs: Vec<ProgramSample>,
    pub facts: Vec<ProgramFacts>,
    pub links: Option<Vec<LinkFacts>>,
    pub owners_read_ns: Option<u64>,
    pub pass_ns: u64,
    pub per_cpu: Option<PerCpuSample>,
    pub stats_on_ns: Option<u64>,
}

/// A name of at most 15 bytes, as a postcard string (its length, then
/// UTF-8); longer text is cut when read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name(pub KernelName);

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self(KernelName::new(&text)))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub comm: Name,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramSample {
    pub id: u32,
    pub prog_type: u32,
    pub name: Name,
    pub tag: [u8; 8],
    pub load_time_ns: u64,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub recursion_misses: u64,
    pub owners: Vec<Owner>,
    pub own: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramFacts {
    pub id: u32,
    pub load_time_ns: u64,
    pub full_name: Option<String>,
    pub uid: u32,
    pub gpl_compatible: bool,
    pub jited: bool,
    pub xlated_bytes: u32,
    pub jited_bytes: u32,
    pub verified_insns: u32,
    pub memlock_bytes: Option<u64>,
    pub btf_id: u32,
    pub maps: Vec<MapFacts>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapFacts {
    pub id: u32,
    pub name: String,
    pub map_type: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachVia {
    Link,
    PerfEvent { pid: u32, fd: u32 },
    Xdp,
    Tc,
    Cgroup,
    TailCall,
    Freplace,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFacts {
    pub prog_id: u32,
    pub id: u32,
    pub link_type: String,
    pub attach_type: Option<String>,
    pub target: String,
    pub via: AttachVia,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuDelta {
    pub cpu: u32,
    pub run_cnt: u64,
    pub run_time_ns: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCpus {
    pub id: u32,
    pub cpus: Vec<CpuDelta>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerCpuSample {
    pub nr_cpus: u32,
    pub cpus: Vec<CpuDelta>,
    pub programs: Vec<ProgramCpus>,
    pub floor_ppm: u32,
    pub programs_max: u32,
    pub left_out: u32,
}

mod convert;
