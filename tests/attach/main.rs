//! Attachments without BPF links, made by real clients no one here wrote
//! and checked against what `bpftool` finds for the same program: a
//! bpftrace tracepoint one-liner, a uprobe through `perf_event_open` and
//! `PERF_EVENT_IOC_SET_BPF`, XDP through `ip link`, a classic tc filter, a
//! cgroup program attached with `bpftool cgroup attach`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly by design

mod cgroup;
#[path = "../common/mod.rs"]
mod common;
mod net;
mod perf;
mod tail_call;

use std::process::Command;
use std::time::{Duration, Instant};

use bpfscope::model::{LinkFacts, Sample};
use bpfscope::sampler::{Sampler, SamplerConfig};
use bpfscope::test_support::skip;

pub(crate) fn sampler() -> Sampler {
    Sampler::new(SamplerConfig {
        owners: true,
        facts: true,
        ..SamplerConfig::default()
    })
    .expect("sampler starts as root")
}

pub(crate) fn take(sampler: &mut Sampler) -> Sample {
    sampler.sample(Duration::from_secs(1)).expect("sample")
}

pub(crate) fn attachments(sample: &Sample, prog_id: u32) -> Vec<LinkFacts> {
    sample
        .links
        .iter()
        .flatten()
        .filter(|l| l.prog_id == prog_id)
        .cloned()
        .collect()
}

pub(crate) fn have_tools(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| !common::have(t)).collect();
    missing.is_empty()
        || skip(
            test,
            &format!("missing {missing:?} (scripts/setup installs them)"),
        )
}

/// `bpftool <args> -j` as JSON.
pub(crate) fn bpftool(args: &[&str]) -> serde_json::Value {
    let out = Command::new("bpftool")
        .args(args)
        .arg("-j")
        .output()
        .unwrap();
    assert!(out.status.success(), "bpftool {args:?}: {out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `bpftool perf list` entries of process `pid`, once it has some.
pub(crate) fn perf_entries_of(pid: u32) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let all = bpftool(&["perf", "list"]);
        let ours: Vec<serde_json::Value> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["pid"] == pid)
            .cloned()
            .collect();
        if !ours.is_empty() {
            return ours;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no perf entry of {pid}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn as_u32(value: &serde_json::Value) -> u32 {
    u32::try_from(value.as_u64().unwrap()).unwrap()
}
